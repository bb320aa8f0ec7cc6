"""Signed bundles on real files: round trip, tampering, hostile archives, the CLI."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from modelward.core.evidence.bundles import (
    ArchiveRefused,
    create_key,
    export_bundle,
    import_bundle,
    trust_signer,
    verify_bundle,
)
from modelward.core.evidence.bundles.container import SEAL_SIZE, seal
from modelward.core.evidence.bundles.keys import load_signing_key
from modelward.core.registry import Registry
from support.evidence import build


@pytest.fixture(scope="module")
def keys_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user config keys folder the module's registries keep their keys in."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(autouse=True)
def _keys_home(keys_home, monkeypatch):
    monkeypatch.setenv("MODELWARD_KEYS_DIR", str(keys_home))


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory, keys_home):
    base = tmp_path_factory.mktemp("bundles")
    with pytest.MonkeyPatch.context() as mp:  # module scope: set before the per-test env
        mp.setenv("MODELWARD_KEYS_DIR", str(keys_home))
        reg, ref = build(base / "dev", batches=2)
        key = create_key(reg, "dev")
        path = base / "credit.mwbundle"
        export_bundle(reg, ref, path)
    return reg, ref, key, path


def _trusted(key):
    pub = Path(key.public_path).read_text().split()[1]
    return {key.key_id: ("dev", pub)}


def _prod(tmp_path: Path, key) -> Registry:
    prod = Registry(tmp_path / "prod")
    trust_signer(prod, key.public_path, reason="dev workstation")
    return prod


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _refused_only(reg: Registry, root: Path, before: set[str]) -> None:
    """A refused bundle writes nothing but its quarantined copy and one ``ingest.rejected``."""
    q = str(reg.quarantine_dir.relative_to(root))
    added = _tree(root) - before
    assert added <= {q} | {a for a in added if a.startswith(q + os.sep)}, added
    assert len([a for a in added if a.endswith(".reason.txt")]) == 1
    assert [e.action for e in reg.audit_events(limit=1)] == ["ingest.rejected"]


def test_private_key_is_owner_only(src):
    _, _, key, _ = src
    assert (os.stat(key.private_path).st_mode & 0o777) == 0o600


def test_round_trip_gives_the_same_hashes_metrics_and_lineage(src, tmp_path):
    dev, ref, key, path = src
    prod = _prod(tmp_path, key)
    res = import_bundle(prod, path)
    a, b = dev.resolve(ref), prod.resolve(res.ref)
    assert res.created and res.signed_by == key.key_id
    assert (b.sha256, b.size, b.format) == (a.sha256, a.size, a.format)
    assert b.metrics == a.metrics
    assert {k: v for k, v in b.lineage.items() if k != "provenance"} == a.lineage
    prov = b.lineage["provenance"]
    assert prov["signed_by"] == key.key_id and prov["source_ref"] == ref
    assert prov["bundle_sha256"] == res.bundle_sha256
    # the evidence came along: artifacts byte for byte, validations, profile
    for sha in {a.sha256, a.lineage["snapshot_sha256"]}:
        assert prod.artifacts.verify(sha).read_bytes() == dev.artifacts.verify(sha).read_bytes()
    q = "SELECT data_fingerprint, metrics, curves, predictions_sha256 FROM validations WHERE version_id = ?"
    with dev.read() as c1, prod.read() as c2:
        got, want = c2.execute(q, [b.id]).fetchall(), c1.execute(q, [a.id]).fetchall()
    assert len(got) == len(want) == 1
    for g, w in zip(got, want, strict=True):
        assert (g[0], json.loads(g[1]), json.loads(g[2]), g[3]) == (
            w[0],
            json.loads(w[1]),
            json.loads(w[2]),
            w[3],
        )
    with dev.read() as c1, prod.read() as c2:
        p1 = c1.execute("SELECT profile FROM mon_profiles WHERE version_id = ?", [a.id]).fetchall()
        p2 = c2.execute("SELECT profile FROM mon_profiles WHERE version_id = ?", [b.id]).fetchall()
    assert json.loads(p1[0][0]) == json.loads(p2[0][0])
    assert prod.verify_audit().ok
    ev = prod.audit_events(action="bundle.imported")[0]
    assert ev.entity_id == res.ref and ev.after["signed_by"] == key.key_id
    # the source's audit events travel as an artifact named in the provenance
    events = json.loads(prod.artifacts.read_bytes(prov["audit_sha256"]))
    assert any(e["action"] == "version.registered" for e in events)
    # importing again finds the same version
    again = import_bundle(prod, path)
    assert not again.created and again.ref == res.ref and again.validations == 0


def _positions(size: int) -> list[int]:
    spread = list(range(0, size, max(1, size // 150)))
    tail = list(range(max(0, size - SEAL_SIZE - 200), size, 3))
    return sorted(set(spread + tail + [size - 1]))


def test_one_flipped_byte_anywhere_is_refused(src, tmp_path):
    _, _, key, path = src
    data = path.read_bytes()
    trusted = _trusted(key)
    verify_bundle(path, trusted)  # the intact bundle passes
    bad = tmp_path / "bad.mwbundle"
    for pos in _positions(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        bad.write_bytes(flipped)
        with pytest.raises(ArchiveRefused) as e:
            verify_bundle(bad, trusted)
        assert str(e.value), pos


def test_a_tampered_bundle_writes_nothing(src, tmp_path):
    _, _, key, path = src
    prod = _prod(tmp_path, key)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    bad = tmp_path / "bad.mwbundle"
    bad.write_bytes(data)
    before = _tree(prod.home)
    with pytest.raises(ArchiveRefused, match="altered"):
        import_bundle(prod, bad)
    _refused_only(prod, prod.home, before)  # the refusal is audited and quarantined (issue 14)
    assert prod.count_versions() == 0


def test_unsigned_or_untrusted_is_refused_unless_accepted_with_a_reason(src, tmp_path):
    dev, ref, key, _ = src
    unsigned = tmp_path / "unsigned.mwbundle"
    export_bundle(dev, ref, unsigned, unsigned=True)
    prod = _prod(tmp_path, key)
    with pytest.raises(ArchiveRefused, match="not signed"):
        import_bundle(prod, unsigned)
    stranger = Registry(tmp_path / "stranger")
    with pytest.raises(ArchiveRefused, match="does not trust"):
        import_bundle(stranger, src[3])
    res = import_bundle(prod, unsigned, accept_unverified=True, reason="courier verified hash")
    assert res.accepted_unverified and res.signed_by is None
    ev = prod.audit_events(action="bundle.accepted_unverified")[0]
    assert ev.reason == "courier verified hash"


def _craft(path: Path, entries: list[tuple[zipfile.ZipInfo, bytes]], sign) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
        zf.comment = b" " * SEAL_SIZE
    seal(path, sign)


def _info(name: str, mode: int = 0o100644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize(
    ("name", "mode", "data", "words"),
    [
        ("../../outside.txt", 0o100644, b"x", "climbs out"),
        ("artifacts/../../../outside.txt", 0o100644, b"x", "climbs out"),
        ("/tmp/absolute.txt", 0o100644, b"x", "absolute"),
        ("C:/windows.txt", 0o100644, b"x", "absolute"),
        ("artifacts/" + "1" * 64, 0o120777, b"/etc/passwd", "symbolic link"),
        ("artifacts/" + "0" * 64, 0o100644, b"\0" * (48 * 1024 * 1024), "decompression bomb"),
        ("notes.txt", 0o100644, b"x", "not a name"),
    ],
)
def test_hostile_archives_are_refused_and_nothing_lands_outside(
    src, tmp_path, name, mode, data, words
):
    dev, _, key, path = src
    kid, private = load_signing_key(dev, "dev")
    evil = tmp_path / "evil" / "evil.mwbundle"
    evil.parent.mkdir()
    with zipfile.ZipFile(path) as zf:  # a real bundle plus the hostile entry
        entries = [(zf.getinfo(n), zf.read(n)) for n in zf.namelist()]
    entries.append((_info(name, mode), data))
    _craft(evil, entries, lambda m: (kid, private.sign(m)))
    prod = _prod(tmp_path, key)
    before_all = _tree(tmp_path)
    with pytest.raises(ArchiveRefused, match=words):
        import_bundle(prod, evil)
    _refused_only(prod, tmp_path, before_all)
    assert not Path("/tmp/absolute.txt").exists()
    assert prod.count_versions() == 0


def test_cli_export_trust_import(run_cli, tmp_path, src):
    dev, ref, key, _ = src
    prod = tmp_path / "prod"
    bundle = tmp_path / "cli.mwbundle"
    r = run_cli("--registry", str(dev.home), "export", ref, "-o", str(bundle), "--json")
    assert r.returncode == 0, r.stderr
    r = run_cli("--registry", str(prod), "import", str(bundle))
    assert r.returncode == 4 and "does not trust" in r.stderr and "Traceback" not in r.stderr
    pub = Path(key.public_path)
    r = run_cli("--registry", str(prod), "keys", "trust", str(pub), "--reason", "ours")
    assert r.returncode == 0, r.stderr
    r = run_cli("--registry", str(prod), "import", str(bundle), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sha256"] == dev.resolve(ref).sha256
