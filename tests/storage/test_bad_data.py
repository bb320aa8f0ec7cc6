"""Every bad data file is refused with one sentence (or taken with flags) on every data path.

The corpus (``support.bad_data``) is written fresh into a temporary folder and
presented to a real watched data inbox and to ``modelward train``, ``drift``,
``monitor`` and ``score`` as real processes. Every refusal by a process that
works on the registry (all but ``drift``) leaves one ``input.refused`` event.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelward.core.intake import accept_batch
from modelward.core.registry import Registry
from modelward.core.tables import BadTable, open_table
from support.bad_data import (
    AUDITED,
    PATHS,
    _cli,
    run_inbox,
    run_subprocess_paths,
    setup_registry,
    write_corpus,
    write_good,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-data")
    good = write_good(root / "good.csv")
    files = write_corpus(root / "corpus")
    home = root / "home"
    setup_registry(home, good)
    return root, good, files, home


def _check(o) -> None:
    assert not o.traceback, (o.file, o.path, o.message)
    assert not o.warning, (o.file, o.path, o.message)
    assert o.one_sentence, (o.file, o.path, o.message)
    assert o.committed == 0, (o.file, o.path)
    if o.path in AUDITED:  # the refusal is in the trail, once; an accepted file leaves none
        assert o.audited == (0 if o.accepted else 1), (o.file, o.path, o.audited)
    if o.expected == "refuse":
        assert not o.accepted, f"{o.path} took {o.file}"
    elif o.expected in ("accept", "flag"):
        assert o.accepted, f"{o.path} refused {o.file}: {o.message}"


def test_the_corpus_covers_the_kinds(corpus):
    _root, _good, files, _home = corpus
    assert len(files) >= 30
    assert len({f.name for f in files}) == len(files)


def test_every_file_through_a_watched_data_inbox(corpus):
    root, _good, files, home = corpus
    outcomes, rejected_events = run_inbox(home, root / "corpus", files)
    for o in outcomes:
        _check(o)
    refused = sum(not o.accepted for o in outcomes)
    assert rejected_events == refused
    reg = Registry(home)
    try:
        registered = [
            e for e in reg.audit_events(action="dataset.registered") if "corpus" not in str(e)
        ]
        assert reg.verify_audit().ok
    finally:
        reg.close()
    # one event per presented file: refused ones an ingest.rejected, taken ones a dataset
    assert refused + sum(o.accepted for o in outcomes) == len(files)
    assert len(registered) >= sum(o.accepted for o in outcomes)


def test_every_file_through_train_drift_monitor_and_score_processes(corpus):
    root, good, files, home = corpus
    outcomes = run_subprocess_paths(home, good, root / "corpus", files)
    assert len(outcomes) == (len(PATHS) - 1) * len(files)
    for o in outcomes:
        _check(o)


def test_flags_are_in_the_batch_result(corpus, tmp_path):
    root, _good, _files, _home = corpus
    reg = Registry(tmp_path / "reg")
    try:
        res = accept_batch(reg, root / "corpus" / "nan_inf.csv", model_name=None)
        assert res.accepted
        assert res.flags["income"]["infinite"] == 2 and res.flags["income"]["nan"] == 1
    finally:
        reg.close()


def test_a_100k_column_file_is_refused_at_once(corpus):
    root, _good, _files, _home = corpus
    t0 = time.perf_counter()
    with pytest.raises(BadTable, match="data_max_columns"):
        open_table(root / "corpus" / "wide_100k.csv")
    assert time.perf_counter() - t0 < 1.0


def test_lookalike_names_the_expected_column(corpus):
    root = corpus[0]
    with pytest.raises(BadTable, match=r"' income '.*expects 'income'"):
        open_table(root / "corpus" / "lookalike_space.csv", expected=["age", "income"])


def test_semicolon_with_decimal_commas_is_read_as_numbers(corpus):
    t = open_table(corpus[0] / "corpus" / "semicolon_decimal_comma.csv")
    assert t.delimiter == ";" and t.decimal == ","
    assert all(t.numeric(c) for c in ("age", "income", "debt_ratio"))


def test_limits_come_from_the_settings(corpus, monkeypatch):
    monkeypatch.setenv("MODELWARD_DATA_MAX_COLUMNS", "3")
    with pytest.raises(BadTable, match="limit of 3"):
        open_table(corpus[1])


def test_good_files_are_still_taken(corpus):
    _root, good, _files, _home = corpus
    t = open_table(good)
    assert t.columns == ["age", "income", "debt_ratio", "target"]
    assert Path(good).exists()


def test_train_warns_on_an_id_like_column(corpus):
    import os
    import subprocess
    import sys

    root, _good, _files, home = corpus
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelward",
            "train",
            "--data",
            str(root / "corpus" / "id_column.csv"),
            "--target",
            "target",
            "--estimator",
            "LogisticRegression",
            "--name",
            "with_id",
            "--registry",
            str(home),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads(proc.stdout)
    assert doc["warnings"] == [
        "column 'loan_id' looks like an identifier (named like an identifier): left out of the "
        "features; keep it with --keep-id-columns"
    ]
    assert "Warning" not in proc.stderr
    reg = Registry(home)
    try:
        features = [f["name"] for f in reg.resolve(doc["ref"]).signature["features"]]
    finally:
        reg.close()
    assert features == ["age", "income", "debt_ratio"]

    kept = _cli(
        "train",
        "--data",
        str(root / "corpus" / "id_column.csv"),
        "--target",
        "target",
        "--estimator",
        "LogisticRegression",
        "--name",
        "with_id",
        "--keep-id-columns",
        "--registry",
        str(home),
    )
    assert kept.returncode == 0, kept.stderr
    assert "warning: column 'loan_id' looks like an identifier" in kept.stdout
    assert "kept as feature (--keep-id-columns)" in kept.stdout


def test_train_refuses_a_target_outside_the_declared_classes(corpus):
    root, good, _files, home = corpus
    proc = _cli(
        "train",
        "--data",
        str(root / "corpus" / "label_outside_classes.csv"),
        "--target",
        "target",
        "--classes",
        "0,1",
        "--estimator",
        "LogisticRegression",
        "--name",
        "strict",
        "--registry",
        str(home),
    )
    assert proc.returncode == 2, proc.stderr
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("modelward: error:")]
    assert len(said) == 1, proc.stderr
    assert "outside the declared classes ('0', '1'): '2', '9', first in row 1" in said[0]
    reg = Registry(home)
    try:
        assert "strict" not in [m.name for m in reg.list_models()]
        failed = [e for e in reg.audit_events(limit=None) if e.action == "run.failed"]
        assert any("outside the declared classes" in str(e.after) for e in failed)
    finally:
        reg.close()


def test_train_refuses_a_continuous_column_as_classes(corpus):
    root, _good, _files, home = corpus
    proc = _cli(
        "train",
        "--data",
        str(root / "corpus" / "continuous_target.csv"),
        "--target",
        "target",
        "--estimator",
        "LogisticRegression",
        "--name",
        "cont",
        "--registry",
        str(home),
        env={"MODELWARD_TRAIN_MAX_CLASSES": "40"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "more than the limit of 40 classes (train_max_classes)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_values_outside_the_reference_are_flagged_in_the_batch_result(corpus, tmp_path):
    root, _good, _files, home = corpus
    batch = tmp_path / "out_of_range_again.csv"
    batch.write_text(
        (root / "good.csv").read_text() + "-5,50000,0.5,0\n250,50000,0.5,1\n-7,50000,0.5,0\n"
    )
    reg = Registry(home)
    try:
        res = accept_batch(reg, batch, model_name="credit")
    finally:
        reg.close()
    assert res.accepted, res.reason
    assert res.monitoring is not None
    assert res.monitoring["flags"]["age"]["out_of_range"] >= 3
    assert "flagged" in res.monitoring["verdict"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_device_is_refused_at_once_on_every_path(corpus, tmp_path):
    # A named pipe with no writer blocked every process that opened it (the strict
    # reader's first read, and since the input's digest starts early, score's
    # digest too); a device such as /dev/zero never ends. Each path now refuses
    # it in one sentence before reading a byte, and the refusal is audited.
    import os

    root, good, _files, home = corpus
    pipe = tmp_path / "batch.csv"
    os.mkfifo(pipe)
    reg = ("--registry", str(home))
    before = _refusals(home)
    for source in (str(pipe), "/dev/zero"):
        runs = {
            "train": ("train", "--data", source, "--target", "target", "--name", "x",
                      "--estimator", "LogisticRegression", *reg),
            "drift": ("drift", "--reference", str(good), "--current", source),
            "monitor": ("monitor", "credit@champion", "--batch", source, *reg),
            "score": ("score", "credit@champion", "--data", source, "-o", str(tmp_path / "o.csv"), *reg),
        }  # fmt: skip
        for path, args in runs.items():
            proc = _cli(*args, timeout=60)  # a hang is a TimeoutExpired here
            assert proc.returncode not in (0, 70), (path, source, proc.stderr)
            errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("modelward: error:")]
            assert len(errors) == 1 and "a device, a pipe or a socket" in errors[0], (
                path,
                proc.stderr,
            )
    assert not (tmp_path / "o.csv").exists()
    assert _refusals(home) - before == 6  # train, monitor and score, for each source


def _refusals(home: Path) -> int:
    reg = Registry(home)
    try:
        refused = reg.audit_events(action="input.refused", limit=None)
        return len(refused) + len(reg.audit_events(action="run.failed", limit=None))
    finally:
        reg.close()
