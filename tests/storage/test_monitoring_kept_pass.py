"""A batch ``score`` logged row by row is checked later without being read again;
and missing values that a model cannot take do not stop a check.

``score --log-rows`` counts the check's own pass over the file on a thread while
it scores (the kept pass); ``monitor --batch`` then hashes the file, finds the
logged batch and its pass, and reads neither the model nor the rows. Each test
compares that check with a check that reads the file (``--rescore``): the same
report, or the file is read because the pass cannot stand for it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.monitoring import service
from modelward.core.monitoring.binning import Accumulator, BatchCounts
from modelward.core.registry import Registry
from modelward.core.registry.predictions import KEPT_PASS

FEATURES = ["age", "income", "debt"]
# what differs between two checks of the same bytes: which batch, when, and how it was read
PER_CHECK = {"batch_id", "data_time", "counted_when_scored", "scores_from_log"}


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)) + [shift, 0, 0], columns=FEATURES)
    df.insert(0, "loan_id", [f"L{seed}-{i:05d}" for i in range(n)])
    regions = np.array(["north", "south", "east", "west"], dtype=object)
    df["region"] = regions[rng.integers(0, 4 if seed == 0 else 3, n)]  # "west": reference only
    df.loc[rng.random(n) < 0.05, "region"] = None  # missing values
    if seed:
        df.loc[:4, "region"] = "islands"  # a category the reference never saw
    df["applied"] = pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(3, 28, n), "D")
    return df


def _registry(path: Path, kind: str) -> Path:
    """``m:1`` (a classifier or a regressor of the three numbers), profiled on 2,000 rows
    with the text column ``region`` monitored too."""
    reg = Registry(path)
    try:
        ref = _frame(2000, 0)
        if kind == "binary":
            y = (ref["age"] + 0.5 * ref["income"] > 0).astype(int)
            model = LogisticRegression().fit(ref[FEATURES], y)
        else:
            y = 2.0 * ref["age"] - ref["debt"]
            model = LinearRegression().fit(ref[FEATURES], y)
        log_estimator(reg, model, "m", X=ref[FEATURES])
        ref["target"] = y
        reference = path.parent / "reference.csv"
        ref.drop(columns=["loan_id", "applied"]).to_csv(reference, index=False)
        service.profile_version(reg, "m:1", reference, target="target")
    finally:
        reg.close()
    return path


def _score(run_cli, home: Path, batch: Path, out: Path, *more: str) -> dict:
    proc = run_cli(
        *("score", "m:1", "--data", str(batch), "-o", str(out), "--id-column", "loan_id"),
        *("--log-rows", "--registry", str(home), "--json", *more),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _check(run_cli, home: Path, batch: Path, *more: str) -> dict:
    proc = run_cli(
        *("monitor", "m:1", "--batch", str(batch), "--registry", str(home), "--json", *more),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _differences(a: object, b: object, at: str = "") -> list[str]:
    """Where two JSON documents differ, leaf by leaf."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b))
            for d in (_differences(a[k], b[k], f"{at}/{k}") if k in a and k in b else [f"{at}/{k}"])
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{at}[{i}]")
        ]
    return [] if a == b else [f"{at}: {a!r} != {b!r}"]


def _same_report(a: dict, b: dict, *, scored_again: bool = False) -> None:
    """The same report, exactly; against a check that scored the rows again, the score's
    statistics to 1e-9 (the model's arithmetic there is not the scoring run's, bit for bit)."""
    drop = PER_CHECK | ({"prediction"} if scored_again else set())
    assert (
        _differences(
            {k: v for k, v in a.items() if k not in drop},
            {k: v for k, v in b.items() if k not in drop},
        )
        == []
    )
    if scored_again:
        assert a["prediction"]["statistic"] == pytest.approx(b["prediction"]["statistic"], 1e-9)
        assert a["prediction"]["drifted"] == b["prediction"]["drifted"]


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_a_batch_scored_with_its_rows_logged_is_checked_from_its_kept_pass(run_cli, tmp_path, kind):
    home = _registry(tmp_path / "reg", kind)
    batch = tmp_path / "applications.csv"
    _frame(3000, 1, shift=0.5).to_csv(batch, index=False)
    scored = _score(run_cli, home, batch, tmp_path / "out.csv")

    kept = _check(run_cli, home, batch)
    assert kept["counted_when_scored"] is True
    assert kept["scores_from_log"] == scored["batch_id"]
    # a check that reads the file (a date column named) with the logged scores: the same,
    # exactly (but for the column named, no longer an extra one)
    read = _check(run_cli, home, batch, "--date-column", "applied")
    assert read["counted_when_scored"] is False and read["scores_from_log"]
    assert read["extra_columns"] == ["loan_id"]
    _same_report(kept, {**read, "extra_columns": kept["extra_columns"]})
    # and one that scores the rows with the model again
    rescored = _check(run_cli, home, batch, "--rescore")
    assert rescored["counted_when_scored"] is False and not rescored["scores_from_log"]
    _same_report(kept, rescored, scored_again=True)
    # what the pass had to count: a drifted column, an unseen category, missing text,
    # a column the model does not take, the date of the first date column
    assert kept["drifted"] and "age" in {f["name"] for f in kept["features"] if f["drifted"]}
    assert kept["extra_columns"] == ["loan_id", "applied"]  # region is the profile's
    assert kept["data_time_source"] == "column applied"
    region = next(f for f in kept["features"] if f["name"] == "region")
    assert region["drifted"] and region["unseen_examples"] == ["islands"]

    # the check said so in the trail
    reg = Registry(home)
    try:
        events = {
            e.after["batch_id"]: e.after
            for e in reg.audit_events()
            if e.action == "monitor.checked"
        }
        assert events[kept["batch_id"]].get("counted_when_scored") is True
        assert "counted_when_scored" not in events[read["batch_id"]]
    finally:
        reg.close()

    # the same bytes under a dated name: still the kept pass; the date from the new name
    renamed = tmp_path / "applications-2026-04.csv"
    shutil.copyfile(batch, renamed)
    again = _check(run_cli, home, renamed)
    assert again["counted_when_scored"] is True
    assert (again["data_time"], again["data_time_source"]) == ("2026-04-01", "file name")


def test_a_batch_a_scoring_folder_logged_row_by_row_is_checked_from_its_kept_pass(
    run_cli, tmp_path
):
    """The champion's inbox with --log-rows (``run --once``), then the batch's check."""
    home = _registry(tmp_path / "reg", "binary")
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    proc = run_cli(
        *("folders", "add", str(inbox), "--kind", "scoring", "--model", "m"),
        *("--outbox", str(outbox), "--id-column", "loan_id", "--log-rows"),
        *("--registry", str(home)),
    )
    assert proc.returncode == 0, proc.stderr
    reg = Registry(home)
    try:
        reg.set_alias("m:1", "champion", "the model the inbox scores with")
    finally:
        reg.close()
    batch = tmp_path / "applications.csv"
    _frame(1200, 11, shift=0.2).to_csv(batch, index=False)
    shutil.copyfile(batch, inbox / batch.name)
    proc = run_cli("run", "--once", "--registry", str(home), timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert (outbox / "applications.scored.csv").exists()

    kept = _check(run_cli, home, batch)  # the same bytes, wherever the file is now
    assert kept["counted_when_scored"] is True and kept["scores_from_log"]
    read = _check(run_cli, home, batch, "--date-column", "applied")
    _same_report(kept, {**read, "extra_columns": kept["extra_columns"]})


def test_a_check_the_kept_pass_cannot_stand_for_reads_the_file(run_cli, tmp_path):
    home = _registry(tmp_path / "reg", "binary")
    batch = tmp_path / "applications.csv"
    _frame(1500, 2, shift=0.3).to_csv(batch, index=False)
    _score(run_cli, home, batch, tmp_path / "out.csv")

    # segments need the rows: the file is read (the scores still come from the log)
    seg = _check(run_cli, home, batch, "--segment-by", "region")
    assert seg["counted_when_scored"] is False and seg["scores_from_log"]
    assert seg["segments"]

    # a profile stored after the batch was scored: the pass was counted against another
    reg = Registry(home)
    try:
        ref = _frame(2000, 7)
        ref["target"] = (ref["age"] > 0).astype(int)
        service.profile_version(
            reg, "m:1", {c: ref[c].to_numpy() for c in [*FEATURES, "target"]}, target="target"
        )
    finally:
        reg.close()
    after = _check(run_cli, home, batch)
    assert after["counted_when_scored"] is False
    read = _check(run_cli, home, batch, "--date-column", "applied")
    _same_report(after, {**read, "extra_columns": after["extra_columns"]})


def test_a_batch_with_a_rejected_row_keeps_no_pass(run_cli, tmp_path):
    """A row ``score`` rejected is not in the log: the check scores the batch itself.

    (A missing income: the logistic regression cannot take it, the check's pass counts it.)
    """
    home = _registry(tmp_path / "reg", "binary")
    frame = _frame(800, 3)
    frame.loc[10, "income"] = np.nan
    batch = tmp_path / "applications.csv"
    frame.to_csv(batch, index=False)
    scored = _score(run_cli, home, batch, tmp_path / "out.csv")
    assert scored["rows"]["rejected"] == 1
    reg = Registry(home)
    try:
        (logged,) = service.read_predictions(reg, "m", batch_id=scored["batch_id"])
        assert KEPT_PASS not in logged.summary
    finally:
        reg.close()
    # the check scores the rows the model can take, and says what it left out
    checked = _check(run_cli, home, batch)
    assert checked["counted_when_scored"] is False and not checked["scores_from_log"]
    assert checked["performance_notes"][0].startswith("1 row(s) not scored")
    assert checked["predictions"]["n"] == 799
    assert checked["performance"]["estimated"]
    income = next(q for q in checked["quality"]["columns"] if q["name"] == "income")
    assert income["missing_rate"] == pytest.approx(1 / 800)


def test_a_reference_with_a_missing_value_is_profiled_for_a_model_that_cannot_take_one(
    run_cli, tmp_path
):
    """The reference's complete rows calibrate the scores; the profile counts every row."""
    home = _registry(tmp_path / "reg", "binary")
    ref = _frame(2000, 8)
    ref["target"] = (ref["age"] + 0.5 * ref["income"] > 0).astype(int)
    ref.loc[[3, 30, 300], "income"] = np.nan
    path = tmp_path / "reference.csv"
    ref.drop(columns=["loan_id", "applied"]).to_csv(path, index=False)
    proc = run_cli(
        *("monitor", "m:1", "--reference", str(path), "--target", "target"),
        *("--registry", str(home), "--json"),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    reg = Registry(home)
    try:
        prof = service.get_profile(reg, reg.resolve("m:1").id)
    finally:
        reg.close()
    assert prof is not None and prof.n_rows == 2000
    assert prof.model["reference"]["accuracy"] > 0.9  # from the 1,997 rows it could score


def test_batch_counts_survive_json_exactly():
    """The kept pass is JSON: every count, sum and moment comes back bit for bit."""
    rng = np.random.default_rng(4)
    edges = {"x": np.sort(rng.normal(size=9)), "empty": np.array([0.0, 1.0])}
    acc = Accumulator(edges, {"c": ["a", "b"], "t": None}, score_edges=None)
    for _ in range(3):
        n = 1000
        acc.add(
            {
                "x": rng.normal(size=n) / 3,
                "empty": np.full(n, np.nan),  # never a value: min +inf, max -inf
                "c": np.array(rng.choice(["a", "b", "z", None], n), dtype=object),
                "t": np.array(rng.choice([True, False, None], n), dtype=object),
            }
        )
    counts = acc.result()
    back = BatchCounts.from_json(json.loads(json.dumps(counts.to_json())))
    assert back.n_rows == counts.n_rows == 3000 and back.batch_rows == [1000] * 3
    for name, c in counts.numeric.items():
        b = back.numeric[name]
        assert np.array_equal(b.counts, c.counts) and np.array_equal(b.sums, c.sums)
        assert (b.missing, b.vmin, b.vmax, b.total, b.total_sq) == (
            c.missing,
            c.vmin,
            c.vmax,
            c.total,
            c.total_sq,
        )
    for name, c in counts.categorical.items():
        b = back.categorical[name]
        assert (b.missing, b.unseen, b.learned) == (c.missing, c.unseen, c.learned)
        assert list(b.unseen) == list(c.unseen)  # in the order they were seen
        assert (b.counts is None) == (c.counts is None)
        if c.counts is not None:
            assert np.array_equal(b.counts, c.counts)


def test_a_column_left_blank_in_every_row_is_a_column_gone_missing(run_cli, tmp_path):
    """A CSV column with no value has no type to read; where the reference has numbers the
    check counts every value missing (and drifts), instead of refusing a 'retyped' column."""
    home = _registry(tmp_path / "reg", "binary")
    frame = _frame(600, 9)
    frame["income"] = np.nan
    batch = tmp_path / "applications.csv"
    frame.to_csv(batch, index=False)
    assert ",," in batch.read_text().splitlines()[1]  # blank in the file, not "nan"
    out = _check(run_cli, home, batch)
    income = next(f for f in out["features"] if f["name"] == "income")
    assert income["drifted"] and income["lens"] == "missing"
    quality = next(q for q in out["quality"]["columns"] if q["name"] == "income")
    assert quality["missing_rate"] == 1.0
    assert out["performance_notes"][0].startswith("600 row(s) not scored")


def test_scoring_a_logged_batch_again_without_its_rows_keeps_them(run_cli, tmp_path):
    """The same file scored again by the same version with only a summary logged replaced
    the batch's row-level log: the labels that had joined it by id no longer did, and the
    next check read the file again. The rows (and the kept pass) stay; the scoring is
    still logged."""
    home = _registry(tmp_path / "reg", "binary")
    frame = _frame(1500, 3, shift=0.3)
    batch = tmp_path / "applications.csv"
    frame.to_csv(batch, index=False)
    first = _score(run_cli, home, batch, tmp_path / "out.csv")
    labels = tmp_path / "labels.csv"
    truth = (frame["age"] + 0.5 * frame["income"] > 0).astype(int)
    pd.DataFrame({"loan_id": frame["loan_id"], "y": truth}).to_csv(labels, index=False)
    proc = run_cli(
        *("labels", "m", "--data", str(labels), "--id", "loan_id", "--label", "y"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr

    def realized() -> dict:
        proc = run_cli("shadow", "show", "m", "--registry", str(home), "--json", timeout=600)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["versions"][0]["realized"] or {}

    assert realized().get("labelled_rows") == 1500
    proc = run_cli(
        *("score", "m:1", "--data", str(batch), "-o", str(tmp_path / "again.csv")),
        *("--id-column", "loan_id", "--registry", str(home), "--json"),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["batch_id"] == first["batch_id"]
    assert realized().get("labelled_rows") == 1500
    kept = _check(run_cli, home, batch)
    assert kept["counted_when_scored"] is True and kept["scores_from_log"] == first["batch_id"]
