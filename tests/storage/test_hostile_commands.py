"""Hostile data files fed to the commands, each through the CLI as a real subprocess.

A file the command cannot honestly work on is refused in one sentence (exit
2): nothing is written or committed, no raw warning reaches the terminal, and
the refusal is one ``input.refused`` event naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from modelward.core.errors import InvalidInput
from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry

F = ["a", "b", "c"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)).round(4), columns=F)
    df["label"] = (df["a"] + df["b"] > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """``bin`` (its target not recorded: trained on an unnamed array), ``hgb`` (takes
    missing values), both binary, and ``regr`` (a ridge regression of ``y``)."""
    home = tmp_path_factory.mktemp("hostile") / "reg"
    ref = _frame(600, 0)
    X, y = ref[F], ref["label"].to_numpy()
    reg = Registry(home)
    try:
        log_estimator(reg, LogisticRegression().fit(X, y), "bin", X=X)
        hgb = HistGradientBoostingClassifier(max_iter=10).fit(X, y)
        log_estimator(reg, hgb, "hgb", X=X, y=pd.Series(y, name="label"))
        yr = pd.Series(2 * X["a"] - X["c"], name="y")
        log_estimator(reg, Ridge().fit(X, yr), "regr", X=X, y=yr)
        reg.set_alias("bin:1", "champion", "first")
    finally:
        reg.close()
    return home


def _head(home: Path) -> int:
    reg = Registry(home)
    try:
        return reg.audit_head()
    finally:
        reg.close()


def _since(home: Path, seq: int) -> list[dict]:
    """The audit events after ``seq``, oldest first."""
    reg = Registry(home)
    try:
        events = reg.audit_events(limit=None, newest_first=False)
    finally:
        reg.close()
    return [
        {"action": e.action, "entity": e.entity_id, "after": e.after, "reason": e.reason}
        for e in events
        if e.seq > seq
    ]


def _refused(events: list[dict], path: Path, door: str) -> list[dict]:
    return [
        e
        for e in events
        if e["action"] == "input.refused"
        and e["entity"] == str(path)
        and (e["after"] or {}).get("door") == door
    ]


def _one_sentence(proc, *words: str) -> str:
    """The refusal's one line on stderr (after the progress lines), with ``words`` in it."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("modelward: error:")]
    assert len(errors) == 1, proc.stderr
    assert proc.stderr.rstrip().endswith(errors[0])
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------- 1: score
@pytest.mark.parametrize("case", ["decimal_commas", "column_left_empty"])
def test_a_score_that_rejects_every_row_is_refused_and_writes_nothing(
    run_cli, home, tmp_path, case
):
    """'scored 0 of 40 rows', exit 0 and an output of a header alone: now a refusal."""
    df = _frame(40, 1).drop(columns=["label"]).astype(object)
    if case == "decimal_commas":
        df["b"] = [str(v).replace(".", ",") for v in df["b"]]
        reason = "column 'b' should hold a number, not"
    else:
        df["b"] = np.nan
        reason = "column 'b' is missing"
    data, out = tmp_path / "batch.csv", tmp_path / "scored.csv"
    df.to_csv(data, index=False)
    seq = _head(home)
    proc = run_cli("score", "bin:1", "--data", str(data), "-o", str(out), "--registry", str(home))
    line = _one_sentence(proc, "none of the 40 rows of batch.csv could be scored", "row 1:", reason)
    assert "warning" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv"], line
    events = _since(home, seq)
    assert len(_refused(events, data, "score")) == 1
    assert not [e for e in events if e["action"] == "score.completed"]


def test_a_scoring_folder_quarantines_a_batch_whose_every_row_is_rejected(run_cli, home, tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    proc = run_cli(
        *("folders", "add", str(inbox), "--kind", "scoring", "--model", "bin"),
        *("--outbox", str(outbox), "--registry", str(home)),
    )
    assert proc.returncode == 0, proc.stderr
    df = _frame(30, 2).drop(columns=["label"]).astype(object)
    df["c"] = [str(v).replace(".", ",") for v in df["c"]]
    df.to_csv(inbox / "commas.csv", index=False)
    proc = run_cli("run", "--once", "--registry", str(home), "--json")
    doc = json.loads(proc.stdout)
    assert [f["status"] for f in doc["files"]] == ["rejected"], doc
    assert "none of the 30 rows" in doc["files"][0]["detail"]
    assert list(outbox.iterdir()) == []


# --------------------------------------------------------------------------- 2: missing files
@pytest.mark.parametrize(
    ("door", "argv"),
    [
        ("score", ["score", "bin:1", "-o", "{out}"]),
        ("validate", ["validate", "bin:1", "--target", "label"]),
        ("explain", ["explain", "bin:1", "--target", "label"]),
        ("reasons", ["explain", "bin:1", "--row", "1"]),
        ("labels", ["labels", "bin", "--id", "id"]),
        ("compare", ["compare", "bin:1", "hgb:1", "--target", "label"]),
    ],
)
def test_a_missing_data_file_is_an_audited_refusal(run_cli, home, tmp_path, door, argv):
    missing = tmp_path / "nowhere.csv"
    argv = [a.format(out=tmp_path / "o.csv") for a in argv]
    seq = _head(home)
    proc = run_cli(*argv, "--data", str(missing), "--registry", str(home))
    _one_sentence(proc, f"no such data file: {missing}")
    assert len(_refused(_since(home, seq), missing, door)) == 1


def test_an_unknown_model_is_not_recorded_as_a_refused_file(run_cli, home, tmp_path):
    missing = tmp_path / "nowhere.csv"
    seq = _head(home)
    proc = run_cli(
        *("score", "nosuch:1", "--data", str(missing), "-o", str(tmp_path / "o.csv")),
        *("--registry", str(home)),
    )
    _one_sentence(proc, "nosuch")
    assert _since(home, seq) == []


# --------------------------------------------------------------------------- 3: compare
@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (1, ["a comparison needs at least 6 rows and the data has 1"]),
        (5, ["a comparison needs at least 6 rows and the data has 5"]),
        ("one class", ["the target holds one class (1) in every row"]),
    ],
)
def test_compare_refuses_too_little_data_before_validating(run_cli, home, tmp_path, rows, words):
    """One row gave verdicts, p-values and 'promotion allowed', and a RuntimeWarning
    with its source line on stderr; a target of one class too."""
    df = _frame(60, 3) if rows == "one class" else _frame(int(rows), 3)
    if rows == "one class":
        df["label"] = 1
    data = tmp_path / "few.csv"
    df.to_csv(data, index=False)
    seq = _head(home)
    proc = run_cli(
        *("compare", "bin:1", "hgb:1", "--data", str(data), "--target", "label"),
        *("--registry", str(home)),
    )
    _one_sentence(proc, *words)
    assert "promotion" not in proc.stdout
    events = _since(home, seq)
    assert [e["action"] for e in events] == ["input.refused"], events
    assert len(_refused(events, data, "compare")) == 1


def test_compare_on_enough_rows_still_compares(run_cli, home, tmp_path):
    data = tmp_path / "six.csv"
    df = _frame(40, 4).head(6)
    df["label"] = [0, 1, 0, 1, 1, 0]
    df.to_csv(data, index=False)
    proc = run_cli(
        *("compare", "bin:1", "hgb:1", "--data", str(data), "--target", "label"),
        *("--registry", str(home), "--json"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    assert json.loads(proc.stdout)["rows"] == 6


# --------------------------------------------------------------------------- 4, 5: explain
def test_explain_a_row_honours_the_target_named(run_cli, home, tmp_path):
    """bin:1 does not record its target: --row took 'label' for an extra column."""
    data = tmp_path / "val.csv"
    _frame(50, 5).to_csv(data, index=False)
    proc = run_cli(
        *("explain", "bin:1", "--data", str(data), "--target", "label", "--row", "2"),
        *("--registry", str(home), "--json"),
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["row"] for r in doc["rows"]] == [2]
    assert {c["feature"] for c in doc["rows"][0]["reasons"]} <= set(F)
    # a target named that the data lacks is still a refusal
    proc = run_cli(
        *("explain", "bin:1", "--data", str(data), "--target", "nosuch", "--row", "2"),
        *("--registry", str(home)),
    )
    _one_sentence(proc, "no target column 'nosuch'")
    # the notebook's door takes it too
    from modelward import api

    doc = api.reasons("bin:1", data, registry=str(home), rows=[2], target="label")
    assert [r["row"] for r in doc["rows"]] == [2]
    with pytest.raises(InvalidInput, match="not trained on: 'label'"):
        api.reasons("bin:1", data, registry=str(home), rows=[2])


def test_explain_refuses_one_row_before_it_validates_and_commits_nothing(run_cli, home, tmp_path):
    data = tmp_path / "one.csv"
    _frame(1, 6).to_csv(data, index=False)
    seq = _head(home)
    proc = run_cli(
        *("explain", "bin:1", "--data", str(data), "--target", "label"),
        *("--registry", str(home)),
    )
    _one_sentence(proc, "explanations need at least two rows")
    events = _since(home, seq)
    assert [e["action"] for e in events] == ["input.refused"], events
    assert len(_refused(events, data, "explain")) == 1


# --------------------------------------------------------------------------- 6: a regressor's target
@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("yes/no", ["the target column 'y' holds yes/no (true/false) words, not numbers"]),
        ("1e308", ["the target column 'y' holds 1e+308 (row 4)", "overflow"]),
    ],
)
def test_validating_a_regressor_refuses_a_target_it_cannot_measure(
    run_cli, home, tmp_path, case, words
):
    """Words were taken as 1 and 0 ('mae 98.96, r2 -41052'); 1e308 gave 'r2 nan, rmse inf'."""
    df = _frame(60, 7).drop(columns=["label"])
    y = (2 * df["a"] - df["c"]).astype(object)
    if case == "yes/no":
        y = np.where(df["a"] > 0, "yes", "no")
    else:
        y[3] = 1e308
    data = tmp_path / "target.csv"
    df.assign(y=y).to_csv(data, index=False)
    seq = _head(home)
    proc = run_cli(
        *("validate", "regr:1", "--data", str(data), "--target", "y"),
        *("--registry", str(home)),
    )
    _one_sentence(proc, *words)
    events = _since(home, seq)
    assert [e["action"] for e in events] == ["input.refused"], events
    assert len(_refused(events, data, "validate")) == 1


def test_train_names_the_value_that_overflowed_the_fit(run_cli, tmp_path):
    """A value of 1e308 makes a linear model's arithmetic overflow: scikit-learn then said
    'Input X contains NaN' of a file holding no missing value."""
    df = _frame(300, 7)
    df.loc[10, "b"] = 1e308
    data = tmp_path / "huge.csv"
    df.to_csv(data, index=False)
    proc = run_cli(
        *("train", "--data", str(data), "--target", "label", "--estimator", "LogisticRegression"),
        *("--name", "t", "--registry", str(tmp_path / "reg")),
        timeout=600,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "column 'b' holds 1e+308" in last and "overflows" in last, proc.stderr


def test_labels_whose_ids_match_no_logged_row_are_said_so(run_cli, home, tmp_path):
    """Ids join exactly, as text: a labels file that wrote the ids 0, 1, … as 0.0, 1.0, …
    stored its labels with '0 match' and no other word."""
    batch = _frame(40, 8).drop(columns="label")
    batch.insert(0, "id", range(40))
    data = tmp_path / "batch.csv"
    batch.to_csv(data, index=False)
    proc = run_cli(
        *("score", "bin:1", "--data", str(data), "-o", str(tmp_path / "out.csv")),
        *("--id-column", "id", "--log-rows", "--registry", str(home)),
    )
    assert proc.returncode == 0, proc.stderr
    floats = tmp_path / "outcomes.csv"
    pd.DataFrame({"id": [f"{i}.0" for i in range(40)], "y": [i % 2 for i in range(40)]}).to_csv(
        floats, index=False
    )
    proc = run_cli(
        *("labels", "bin", "--data", str(floats), "--id", "id", "--label", "y"),
        *("--registry", str(home)),
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 match logged predictions" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "modelward: warning: no id of outcomes.csv is in bin's prediction log (this file has "
        "'0.0', the log '0'); ids join exactly, as text"
    )
    exact = tmp_path / "exact.csv"
    pd.DataFrame({"id": range(40), "y": [i % 2 for i in range(40)]}).to_csv(exact, index=False)
    proc = run_cli(
        *("labels", "bin", "--data", str(exact), "--id", "id", "--label", "y"),
        *("--registry", str(home)),
    )
    assert proc.returncode == 0, proc.stderr
    assert "40 match logged predictions" in proc.stdout and "warning" not in proc.stderr
