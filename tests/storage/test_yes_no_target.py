"""A yes/no target is one target, whether a CSV or a Parquet file holds it.

DuckDB's CSV reader types a column of yes/no as BOOLEAN. Before, a model
trained on such a CSV predicted ``true``/``false`` (columns ``proba_False``,
``proba_True``) where the file and the system consuming the decisions said
``yes``/``no``; and ``validate`` refused the Parquet file of the same rows
("the label 'yes' ... the model never saw"), as it refused the CSV for a
model trained on the Parquet file. Now training keeps the file's words, and
labels are matched to a yes/no model by truth value, whichever source holds
them; a model registered with the classes False/True (as trained before) is
matched the same way.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.errors import InvalidInput


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.normal(50, 15, n)})
    df["default"] = np.where(df["age"] + rng.normal(0, 5, n) > 42, "yes", "no")
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("yes-no")
    train, batch = _frame(1500, 1), _frame(400, 2)
    out = {"root": root}
    for name, df in (("train", train), ("batch", batch)):
        df.to_csv(root / f"{name}.csv", index=False)
        df.to_parquet(root / f"{name}.parquet", index=False)
        out[name] = df
    return out


def test_a_model_trained_on_a_csv_decides_in_the_files_words(run_cli, files, tmp_path):
    root, home = files["root"], str(tmp_path / "reg")
    proc = run_cli(
        "train",
        *("--data", str(root / "train.csv"), "--target", "default"),
        *("--estimator", "LogisticRegression", "--name", "credit", "--registry", home),
    )
    assert proc.returncode == 0, proc.stderr
    assert api.open_registry(home).resolve("credit:1").signature["classes"] == ["no", "yes"]
    out = tmp_path / "decisions.csv"
    proc = run_cli(
        "score", "credit:1", "--data", str(root / "batch.csv"), "-o", str(out), "--registry", home
    )
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"row", "prediction", "proba_no", "proba_yes"}
    assert {r["prediction"] for r in rows} == {"no", "yes"}


@pytest.mark.parametrize("trained_on", ["csv", "parquet", "bools"])
def test_labels_from_either_file_give_the_same_metrics(files, tmp_path, trained_on):
    root, home = files["root"], str(tmp_path / "reg")
    if trained_on == "bools":
        # a version from before the words were kept: classes False/True
        df = files["train"]
        clf = LogisticRegression().fit(df[["age", "income"]], df["default"] == "yes")
        api.log_model(clf, "credit", df[["age", "income"]], registry=home)
    else:
        from modelward.core.compute.recipe import Recipe
        from modelward.core.compute.training import train

        recipe = Recipe(
            data=str(root / f"train.{trained_on}"), target="default", estimator="LogisticRegression"
        )
        train(api.open_registry(home), recipe, name="credit")
    results = {
        src: api.validate("credit:1", root / f"batch.{src}", home, target="default", n_boot=0)
        for src in ("csv", "parquet")
    }
    assert results["csv"].metrics == results["parquet"].metrics
    assert results["csv"].metrics["accuracy"] > 0.8
    # monitoring: the same realized figures from the CSV's and the Parquet file's labels
    api.profile("credit:1", root / "train.csv", home, target="default")
    realized = [
        api.monitor(
            "credit:1", root / f"batch.{src}", home, name=src, label_column="default"
        ).performance["realized"]
        for src in ("csv", "parquet")
    ]
    assert realized[0] == realized[1]
    assert realized[0]["accuracy"] == pytest.approx(results["csv"].metrics["accuracy"])


def test_a_word_that_is_neither_yes_nor_no_is_refused(files, tmp_path):
    home = str(tmp_path / "reg")
    df = files["train"]
    clf = LogisticRegression().fit(df[["age", "income"]], df["default"] == "yes")
    api.log_model(clf, "credit", df[["age", "income"]], registry=home)
    odd = files["batch"].copy()
    odd.loc[3, "default"] = "maybe"
    odd.to_parquet(tmp_path / "odd.parquet", index=False)
    with pytest.raises(InvalidInput, match="maybe"):
        api.validate("credit:1", tmp_path / "odd.parquet", home, target="default", n_boot=0)


def test_a_challenger_with_the_words_agrees_with_a_champion_of_true_false(run_cli, files, tmp_path):
    # The champion registered before the words were kept predicts True/False; the
    # challenger retrained since predicts no/yes. In the shadow they agreed on no
    # row ("True" is not "yes"); they are compared by truth value now.
    root, home = files["root"], str(tmp_path / "reg")
    df = files["train"]
    clf = LogisticRegression().fit(df[["age", "income"]], df["default"] == "yes")
    api.log_model(clf, "credit", df[["age", "income"]], registry=home)
    reg = ("--registry", home)
    for args in (
        ("train", "--data", str(root / "train.csv"), "--target", "default", "--name", "credit",
         "--estimator", "LogisticRegression"),
        ("alias", "set", "credit:1", "champion", "--reason", "in production"),
        ("shadow", "add", "credit", "2", "--reason", "retrained"),
        ("folders", "add", str(tmp_path / "inbox"), "--kind", "scoring", "--model", "credit",
         "--outbox", str(tmp_path / "outbox"), "--log-rows"),
    ):  # fmt: skip
        proc = run_cli(*args, *reg)
        assert proc.returncode == 0, proc.stderr
    (tmp_path / "inbox" / "batch.csv").write_bytes((root / "batch.csv").read_bytes())
    proc = run_cli("run", "--once", *reg)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("shadow", "show", "credit", "--json", *reg)
    assert proc.returncode == 0, proc.stderr
    shadow = {v["ref"]: v for v in json.loads(proc.stdout)["versions"]}["credit:2"]
    assert shadow["rows"] == 400
    assert shadow["agreement"] > 0.95  # the same features, the same estimator
