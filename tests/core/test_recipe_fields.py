"""One recipe from plain fields, as the command line and the training dialog give them."""

from __future__ import annotations

import pytest

from modelward.core.compute.recipe import Recipe, Search, Split, recipe_from_fields
from modelward.core.errors import InvalidInput


def test_fields_become_the_same_recipe_as_built_by_hand():
    r = recipe_from_fields(
        " train.csv ",
        "default",
        "HistGradientBoostingClassifier",
        params=["max_iter=50", "", "# a comment", "learning_rate = 0.1"],
        features="age, income,",
        split="time",
        test_size=0.2,
        folds=3,
        time_column="ts",
        search="random",
        search_space=["max_depth=[2, 3, null]", "l2_regularization=0.5"],
        n_iter=2,
        search_folds=4,
        seed=7,
    )
    assert r == Recipe(
        data="train.csv",
        target="default",
        estimator="HistGradientBoostingClassifier",
        params={"max_iter": 50, "learning_rate": 0.1},
        features=("age", "income"),
        split=Split(kind="time", test_size=0.2, folds=3, time_column="ts"),
        search=Search(
            kind="random",
            space={"max_depth": [2, 3, None], "l2_regularization": [0.5]},
            n_iter=2,
            folds=4,
        ),
        seed=7,
    )
    assert Recipe.from_json(r.to_json()) == r


def test_defaults_and_ready_dicts():
    r = recipe_from_fields(
        "d.csv", "y", "Ridge", params={"alpha": 2}, features=["a", "b"], search_space={}
    )
    assert r.params == {"alpha": 2} and r.features == ("a", "b")
    assert r.split == Split() and r.search is None and r.seed == 0


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (("", "y", "Ridge"), "needs data"),
        (("d.csv", " ", ""), "needs target, estimator"),
    ],
)
def test_empty_fields_are_named(fields, words):
    with pytest.raises(InvalidInput, match=words):
        recipe_from_fields(*fields)


def test_a_malformed_parameter_line_is_refused():
    with pytest.raises(InvalidInput, match="key=value"):
        recipe_from_fields("d.csv", "y", "Ridge", params=["alpha"])
