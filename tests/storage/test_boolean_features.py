"""True/false, yes/no and numbers-as-text feature columns, through the user's commands, per kind.

``modelward train`` on a CSV with a ``True``/``False`` column fits the model on
pandas' bool, a number to scikit-learn. Scoring that very CSV refused every
row ("column 'flag' should hold a number, not 'True'"), and ``monitor``
refused the CSV and the Parquet copy alike ("numeric column 'flag' (BOOLEAN)
does not hold numbers"); once let through, the monitor handed the model the
text ``true``. Codes with leading zeros (``001``) are numbers to training
(pandas reads them so), and to scoring, but ``monitor`` refused them ("numeric
column 'zip' (VARCHAR) does not hold numbers"). Here the same rows as CSV and
as Parquet are scored and monitored, and every prediction and realized metric
equals the model's own on the frame pandas reads.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelward import api

KINDS = {
    "binary": "RandomForestClassifier",
    "multiclass": "RandomForestClassifier",
    "regression": "RandomForestRegressor",
}


def _frame(kind: str, n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "flag": rng.random(n) < 0.4,
            "region": rng.choice(["north", "south", "east"], n),
            "zip": rng.choice(["001", "002", "017"], n),
            "owner": rng.choice(["yes", "no"], n),  # a bool to DuckDB's CSV reader
        }
    )
    z = df.flag * 2.0 + (df.age - 50) / 15 + (df.region == "east") + rng.normal(0, 0.3, n)
    z += (df.zip == "017") * 1.0 + (df.owner == "yes") * 0.7
    if kind == "regression":
        df["y"] = 100 + 10 * z
    elif kind == "multiclass":
        df["y"] = np.where(z < 0, "low", np.where(z < 1.5, "mid", "high"))
    else:
        df["y"] = (z > 0.8).astype(int)
    return df


@pytest.mark.parametrize("kind", list(KINDS))
def test_bool_and_text_number_columns_are_scored_and_monitored_from_csv_and_parquet(
    kind, tmp_path, run_cli
):
    df = _frame(kind)
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False)
    home = str(tmp_path / "reg")
    reg_args = ("--registry", home)
    est = KINDS[kind]
    trained = run_cli(
        "train", *reg_args, "--data", str(csv), "--target", "y", "--name", "m",
        "--estimator", est, "--param", "n_estimators=15", "--param", "random_state=0",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    reg = api.open_registry(home)
    try:
        model = api.load_model("m:1", registry=reg)
    finally:
        reg.close()
    X = pd.read_csv(csv)[["age", "flag", "region", "zip", "owner"]]
    X["owner"] = X["owner"] == "yes"  # what the model was fitted on: DuckDB read a bool
    assert X["flag"].dtype == bool and X["zip"].dtype == np.int64
    want = model.predict(X)

    for data in (csv, parquet):
        out = tmp_path / f"scored-{data.suffix[1:]}.csv"
        r = run_cli("score", "m:1", *reg_args, "--data", str(data), "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert "could not be scored" not in r.stderr
        got = pd.read_csv(out)
        assert len(got) == len(df)
        if kind == "regression":
            np.testing.assert_allclose(got["prediction"], want, rtol=0, atol=1e-9)
        else:
            assert got["prediction"].astype(str).tolist() == [str(v) for v in want]
            proba = model.predict_proba(X)
            cols = [f"proba_{c}" for c in model.classes_]
            np.testing.assert_allclose(got[cols].to_numpy(), proba, rtol=0, atol=1e-9)

    # a truth word among numbers is no number: its row is refused, not read as 0
    stray = pd.read_csv(csv, dtype=str)
    stray.loc[3, "age"] = "n"
    stray.to_csv(tmp_path / "stray.csv", index=False)
    out = tmp_path / "stray-out.csv"
    r = run_cli("score", "m:1", *reg_args, "--data", str(tmp_path / "stray.csv"), "--out", str(out))
    assert r.returncode == 0 and "1 row(s) could not be scored" in r.stderr, r.stderr
    assert (
        "'age' should hold a number, not 'n'"
        in (tmp_path / "stray-out.csv.rejected.csv").read_text()
    )

    r = run_cli("monitor", "m:1", *reg_args, "--reference", str(csv), "--target", "y")
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "monitor", "m:1", *reg_args, "--batch", str(parquet), "--label-column", "y", "--json"
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    realized = doc["performance"]["realized"]
    y = df["y"].to_numpy()
    if kind == "regression":
        assert realized["rmse"] == pytest.approx(skm.root_mean_squared_error(y, want), abs=1e-9)
    else:
        assert realized["accuracy"] == pytest.approx(skm.accuracy_score(y, want), abs=1e-12)
    # the columns drift as the categories they are: true/false, 001/017 shares
    kinds = {f["name"]: f["kind"] for f in doc["features"]}
    assert kinds["flag"] == kinds["zip"] == "categorical"
    # yes/no is true/false in the CSV reference (DuckDB types it BOOLEAN) and yes/no in
    # the Parquet batch: the same rows, so nothing is new and nothing drifted
    owner = next(f for f in doc["features"] if f["name"] == "owner")
    assert (owner["unseen"], owner["drifted"]) == (0, False), owner


def test_a_registered_file_that_records_no_kinds_gets_true_false_as_numbers(tmp_path, run_cli):
    # A skops file from elsewhere records its column names but not their types:
    # a CSV column of True/False is read as 1/0, as pandas fitted the model.
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    df = _frame("binary")
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False)
    X = df[["age", "flag"]]
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, df["y"])
    sio.dump(model, tmp_path / "m.skops")
    home = ("--registry", str(tmp_path / "reg"))
    r = run_cli("register", str(tmp_path / "m.skops"), "--name", "ext", *home)
    assert r.returncode == 0, r.stderr
    want = model.predict_proba(X)[:, 1]
    for data in (csv, parquet):
        out = tmp_path / f"o-{data.suffix[1:]}.csv"
        r = run_cli("score", "ext:1", *home, "--data", str(data), "--out", str(out))
        assert r.returncode == 0 and "could not be scored" not in r.stderr, r.stderr
        np.testing.assert_allclose(pd.read_csv(out)["proba_1"], want, rtol=0, atol=1e-12)
    r = run_cli("monitor", "ext:1", *home, "--reference", str(csv), "--target", "y")
    assert r.returncode == 0, r.stderr
    r = run_cli("monitor", "ext:1", *home, "--batch", str(parquet), "--label-column", "y", "--json")
    assert r.returncode == 0, r.stderr
    realized = json.loads(r.stdout)["performance"]["realized"]
    assert realized["roc_auc"] == pytest.approx(skm.roc_auc_score(df["y"], want), abs=1e-12)


def test_a_yes_no_target_is_monitored_and_labelled_as_the_model_predicts(tmp_path, run_cli):
    # DuckDB reads a CSV column of yes/no as BOOLEAN. Training keeps the file's
    # words (the classes are no/yes, not False/True); the labels come back as
    # yes/no (the Parquet copy) or true/false (the CSV). When the classes were
    # False/True every label matched no class: monitor's realized accuracy was
    # the share of "no" (0.57), f1 0, and the prediction log's accuracy 0
    # (tests/storage/test_yes_no_target.py has both kinds of model).
    df = _frame("binary")
    df["y"] = np.where(df["y"] == 1, "yes", "no")
    df["id"] = np.arange(len(df))
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False)
    home = ("--registry", str(tmp_path / "reg"))
    r = run_cli(
        "train", *home, "--data", str(csv), "--target", "y", "--name", "yn",
        "--features", "age,flag,region", "--estimator", "LogisticRegression",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    reg = api.open_registry(home[1])
    try:
        model = api.load_model("yn:1", registry=reg)
    finally:
        reg.close()
    assert list(model.classes_) == ["no", "yes"]
    X = pd.read_csv(csv)[["age", "flag", "region"]]
    truth = df["y"].to_numpy()
    accuracy = skm.accuracy_score(truth, model.predict(X))
    assert accuracy > 0.8

    r = run_cli("monitor", "yn:1", *home, "--reference", str(csv), "--target", "y")
    assert r.returncode == 0, r.stderr
    for batch in (csv, parquet):
        r = run_cli(
            "monitor", "yn:1", *home, "--batch", str(batch), "--label-column", "y", "--json"
        )
        assert r.returncode == 0, r.stderr
        realized = json.loads(r.stdout)["performance"]["realized"]
        assert realized["accuracy"] == pytest.approx(accuracy, abs=1e-12), batch.suffix

    scored = tmp_path / "s.csv"
    r = run_cli(
        "score", "yn:1", *home, "--data", str(parquet), "--out", str(scored),
        "--id-column", "id", "--log-rows",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli("labels", "yn", *home, "--data", str(parquet), "--id", "id", "--label", "y")
    assert r.returncode == 0, r.stderr
    report = api.prediction_report("yn", registry=home[1])
    assert report["versions"][0]["realized"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
