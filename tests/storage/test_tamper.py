"""The tamper suite: edits made with a plain DuckDB client or on the files, and `verify`.

Every edit an auditor might try, on a copy of one registry that holds every kind
of record (models, versions and metrics, aliases, datasets, a policy, a trusted
key, a run with a metric series, a data snapshot in the artifact store). Each
edit is made behind ModelWard's back; then ``modelward verify`` runs as a real
subprocess and must fail, naming what it found. ``detected == attempted`` is
the figure in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import modelward.core.registry.audit as _audit
from modelward.core.datasets import register_dataset
from modelward.core.evidence.bundles.keys import create_key, trust_signer
from modelward.core.policies.model import Policy
from modelward.core.policies.store import set_policy
from modelward.core.registry import Registry

DB = "registry.duckdb"


def _artifact(home: Path, sha: str) -> Path:
    return Registry(home).artifacts.path_for(sha)


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> dict[str, object]:
    """One registry with a record of every kind, closed and checkpointed."""
    home = tmp_path_factory.mktemp("tamper") / "reg"
    reg = Registry(home, actor="alice")
    snap, snap_n = reg.artifacts.put_bytes(b"a,b\n1,2\n3,4\n")  # a training-data snapshot
    shas = []
    for i in range(3):
        sha, n = reg.artifacts.put_bytes(b"model bytes %d" % i)
        shas.append(sha)
        reg.add_version(
            "credit",
            sha256=sha,
            size=n,
            format="skops",
            metrics={"roc_auc": 0.70 + i / 100, "f1": 0.5},
            lineage={"snapshot": snap} if i == 0 else {},
        )
    reg.set_alias("credit:1", "champion", "first release")
    reg.set_alias("credit:1", "staging", "try")
    register_dataset(
        reg,
        fingerprint="f" * 64,
        name="train.csv",
        role="train",
        rows=2,
        schema={"a": "int", "b": "int"},
        source="train.csv",
    )
    set_policy(reg, Policy(model="credit"), reason="watch it")
    key = create_key(reg, "registry")
    other = tmp_path_factory.mktemp("other") / "reg"
    okey = create_key(Registry(other), "partner")
    trust_signer(reg, okey.public, reason="partner bank")
    rid = reg.create_run("train")
    reg.append_metrics(rid, "loss", [0.9, 0.5, 0.3])
    reg.finish_run(rid, "finished")
    reg.close()
    return {"home": home, "snapshot": snap, "shas": shas, "key": key, "run": rid}


@pytest.fixture
def reg_copy(golden, tmp_path) -> Path:
    home = tmp_path / "reg"
    shutil.copytree(golden["home"], home)
    return home


def _sql(home: Path, *statements: str) -> None:
    con = duckdb.connect(str(home / DB))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def _rechain(home: Path, edit: str | None = None) -> None:
    """The forger's script: edit, then recompute every hash from the first event."""
    con = duckdb.connect(str(home / DB))
    try:
        if edit:
            con.execute(edit)
        rows = con.execute(
            "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, delta "
            "FROM audit ORDER BY seq"
        ).fetchall()
        prev = _audit.GENESIS
        for r in rows:
            h = _audit.event_hash(*r[:9], prev, r[9])
            con.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, h, r[0]])
            prev = h
    finally:
        con.close()


def _journal(home: Path) -> Path:
    return home / (DB + ".journal")


def _swap_bytes(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def _older_copy(home: Path, golden: dict[str, object]) -> None:
    """Keep a copy, make one more change, then put the old database back (not the journal)."""
    old = home.parent / "old.duckdb"
    shutil.copy2(home / DB, old)
    reg = Registry(home)
    reg.set_alias("credit:2", "staging", "later change")
    reg.close()
    shutil.copy2(old, home / DB)


def _older_copy_replay_impossible(home: Path, golden: dict[str, object]) -> None:
    """Roll the database back over a columnar batch (journaled by digest only)."""
    old = home.parent / "old.duckdb"
    shutil.copy2(home / DB, old)
    reg = Registry(home)
    reg.append_metrics(int(golden["run"]), "acc", [0.1, 0.2])  # type: ignore[call-overload]
    reg.close()
    shutil.copy2(old, home / DB)


EDITS: dict[str, tuple[Callable[[Path, dict[str, object]], None], str]] = {
    # --- the state, table by table (each names the table)
    "version metric raised": (
        lambda h, g: _sql(h, "UPDATE version_metrics SET value = 0.99 WHERE key = 'roc_auc'"),
        "version_metrics",
    ),
    "version status changed": (
        lambda h, g: _sql(h, "UPDATE versions SET status = 'archived' WHERE version = 1"),
        "versions",
    ),
    "version points at other bytes": (
        lambda h, g: _sql(
            h,
            f"UPDATE versions SET sha256 = '{g['shas'][2]}' WHERE version = 1",  # type: ignore[index]
        ),
        "versions",
    ),
    "forged version + champion moved to it": (
        lambda h, g: _sql(
            h,
            "INSERT INTO versions SELECT 99, model_id, 4, sha256, size, format, estimator_class, "
            "params, signature, lineage, tags, status, created_at, 'mallory' FROM versions "
            "WHERE id = 1",
            "UPDATE aliases SET version_id = 99 WHERE alias = 'champion'",
        ),
        "aliases",
    ),
    "alias moved": (
        lambda h, g: _sql(h, "UPDATE aliases SET version_id = 3 WHERE alias = 'champion'"),
        "aliases",
    ),
    "alias deleted": (
        lambda h, g: _sql(h, "DELETE FROM aliases WHERE alias = 'staging'"),
        "aliases",
    ),
    "version deleted": (
        lambda h, g: _sql(h, "DELETE FROM versions WHERE version = 3"),
        "versions",
    ),
    "model renamed": (
        lambda h, g: _sql(h, "UPDATE models SET name = 'credit2'"),
        "models",
    ),
    "dataset rows changed": (
        lambda h, g: _sql(h, "UPDATE datasets SET rows = 1000"),
        "datasets",
    ),
    "forged dataset inserted": (
        lambda h, g: _sql(
            h,
            "INSERT INTO datasets VALUES (50, 'e' || repeat('0', 63), 'x', 'train', 1, '{}', "
            "'x', '2026-01-01', 'mallory')",
        ),
        "datasets",
    ),
    "policy rewritten": (
        lambda h, g: _sql(h, "UPDATE pol_policies SET enabled = false"),
        "pol_policies",
    ),
    "policy deleted": (
        lambda h, g: _sql(h, "DELETE FROM pol_policies"),
        "pol_policies",
    ),
    "forged trusted key": (
        lambda h, g: _sql(
            h,
            "INSERT INTO trusted_signers VALUES ('0123456789abcdef', 'mallory', 'AAAA', "
            "'2026-01-01', 'mallory', 'trust me')",
        ),
        "trusted_signers",
    ),
    "forged approval": (
        lambda h, g: _sql(
            h,
            "INSERT INTO pol_approvals (id, model_name, version_id, version_ref, alias, status, "
            "reason, requested_at, requested_by, requested_os_user, expires_at) VALUES "
            "(7, 'credit', 3, 'credit:3', 'champion', 'approved', 'x', '2026', 'bob', 'bob', "
            "'2099')",
        ),
        "pol_approvals",
    ),
    "run result changed": (
        lambda h, g: _sql(h, "UPDATE runs SET status = 'failed'"),
        "runs",
    ),
    "metric point changed (columnar series)": (
        lambda h, g: _sql(h, "UPDATE metric_points SET value = 0.01 WHERE step = 2"),
        "metric_points",
    ),
    "metric point deleted (columnar series)": (
        lambda h, g: _sql(h, "DELETE FROM metric_points WHERE step = 0"),
        "metric_points",
    ),
    "meta rewritten": (
        lambda h, g: _sql(h, "UPDATE meta SET value = '1999' WHERE key = 'created_at'"),
        "meta",
    ),
    # --- the chain itself
    "audit reason rewritten": (
        lambda h, g: _sql(h, "UPDATE audit SET reason = 'nothing to see' WHERE seq = 5"),
        "altered",
    ),
    "audit row deleted in the middle": (
        lambda h, g: _sql(h, "DELETE FROM audit WHERE seq = 4"),
        "missing",
    ),
    "last audit row deleted (the tail)": (
        lambda h, g: _sql(h, "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"),
        "journal",
    ),
    "actor rewritten and the whole chain re-computed": (
        lambda h, g: _rechain(h, "UPDATE audit SET actor = 'mallory'"),
        "rewritten",
    ),
    "metric and its event rewritten consistently, chain re-computed": (
        lambda h, g: _rechain(
            h,
            "UPDATE version_metrics SET value = 0.99 WHERE key = 'roc_auc' AND version_id = 1; "
            "UPDATE audit SET delta = replace(delta, '\"roc_auc\",0.7]', '\"roc_auc\",0.99]')",
        ),
        "rewritten",
    ),
    # --- the anchor
    "journal tail cut": (
        lambda h, g: _journal(h).write_text(
            "".join(_journal(h).read_text().splitlines(keepends=True)[:-1])
        ),
        "journal",
    ),
    "journal deleted": (lambda h, g: _journal(h).unlink(), "journal"),
    "journal line edited": (
        lambda h, g: _journal(h).write_text(_journal(h).read_text().replace('"seq":5', '"seq":55')),
        "journal",
    ),
    "database rolled back to an older copy": (_older_copy, "replayed"),
    "database rolled back over a columnar batch": (_older_copy_replay_impossible, "LOST"),
    # --- artifacts
    "model artifact bytes replaced": (
        lambda h, g: _swap_bytes(_artifact(h, g["shas"][0]), b"evil model"),  # type: ignore[index]
        "",
    ),
    "training-data snapshot replaced": (
        lambda h, g: _swap_bytes(_artifact(h, str(g["snapshot"])), b"a,b\n9,9\n"),
        "",
    ),
    "model artifact deleted": (
        lambda h, g: _artifact(h, g["shas"][1]).unlink(),  # type: ignore[index]
        "missing",
    ),
}


def test_the_golden_registry_verifies(golden, run_cli, tmp_path):
    home = tmp_path / "reg"
    shutil.copytree(golden["home"], home)  # type: ignore[arg-type]
    r = run_cli("--registry", str(home), "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "registry intact" in r.stdout and "audit head" in r.stdout


@pytest.mark.parametrize("name", list(EDITS))
def test_every_edit_is_detected_and_named(name, golden, reg_copy, run_cli):
    edit, word = EDITS[name]
    edit(reg_copy, golden)
    r = run_cli("--registry", str(reg_copy), "verify")
    said = r.stdout + r.stderr
    detected = r.returncode != 0 or "LOST" in r.stderr or "replayed" in r.stderr
    assert detected, f"{name}: not detected\n{said}"
    assert word.lower() in said.lower(), f"{name}: not named ({word!r})\n{said}"
    # and it stays detected (or named) on the next run: nothing healed it in silence
    again = run_cli("--registry", str(reg_copy), "verify")
    assert again.returncode != 0 or "recovery at event" in again.stdout, (
        f"{name}: forgotten\n{again.stdout}{again.stderr}"
    )


def test_a_whole_folder_rolled_back_is_caught_by_the_head_kept_outside(golden, tmp_path, run_cli):
    home = tmp_path / "reg"
    shutil.copytree(golden["home"], home)  # type: ignore[arg-type]
    old = tmp_path / "old"
    shutil.copytree(home, old)
    reg = Registry(home)
    reg.set_alias("credit:3", "staging", "newer")
    reg.close()
    r = run_cli("--registry", str(home), "--json", "verify")
    assert r.returncode == 0, r.stderr
    head = json.loads(r.stdout)["head"]
    shutil.rmtree(home)
    shutil.copytree(old, home)  # database, journal and all
    r = run_cli("--registry", str(home), "verify", "--expect-head", f"{head['seq']}:{head['hash']}")
    assert r.returncode != 0 and "rolled back" in r.stdout + r.stderr


def _reads_whole(db: Path) -> bool:
    """Whether a plain DuckDB client reads every row of every table of ``db``."""
    try:
        con = duckdb.connect(str(db), config={"autoinstall_known_extensions": False})
    except duckdb.Error:
        return False
    try:
        for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall():
            con.execute(f'SELECT * FROM "{t}"').fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def test_a_damaged_block_is_reported_by_verify_not_first_by_list(golden, tmp_path, run_cli):
    home = tmp_path / "reg"
    shutil.copytree(golden["home"], home)  # type: ignore[arg-type]
    db = home / DB
    clean = db.read_bytes()
    # A block that holds table data (a plain client then fails to read a table),
    # found from the end of the file (headers, which DuckDB reads on open, are first).
    probe = tmp_path / "probe.duckdb"
    damaged = None
    for block in range(len(clean) // 4096 - 1, 2, -1):
        data = bytearray(clean)
        data[block * 4096 + 100] ^= 0xFF
        probe.write_bytes(data)
        probe.with_name(probe.name + ".wal").unlink(missing_ok=True)
        if not _reads_whole(probe):
            damaged = data
            break
    assert damaged is not None, "no block of table data found"
    db.write_bytes(damaged)
    r = run_cli("--registry", str(home), "verify")
    assert r.returncode != 0
    assert "damaged" in (r.stdout + r.stderr).lower() or "could not be read" in r.stdout + r.stderr
