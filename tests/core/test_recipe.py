"""Recipes: JSON round-trip, clear errors before any data is read."""

from __future__ import annotations

import pytest

from modelward.core.compute.recipe import Recipe, Search, Split, parse_param, resolve_estimator
from modelward.core.errors import InvalidInput


def test_round_trip_through_json_text():
    r = Recipe(
        data="train.parquet",
        target="default",
        estimator="HistGradientBoostingClassifier",
        params={"max_iter": 50, "learning_rate": 0.1},
        features=("age", "income"),
        split=Split(kind="time", test_size=0.2, time_column="ts"),
        search=Search(kind="random", space={"max_depth": [2, 3, None]}, n_iter=2),
        seed=7,
    )
    import json

    text = json.dumps(r.to_json())
    back = Recipe.from_json(text)
    assert back == r
    back.check()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"estimator": "LogisticRegresion"}, ["not a scikit-learn", "LogisticRegression"]),
        ({"estimator": "StandardScaler"}, ["not a scikit-learn classifier or regressor"]),
        ({"params": {"CC": 1}}, ["no parameter 'CC'"]),
        ({"split": Split(kind="kfold", folds=1)}, ["at least 2 folds"]),
        ({"split": Split(kind="time")}, ["timestamp column"]),
        ({"split": Split(kind="shuffle")}, ["unknown split"]),
        ({"split": Split(test_size=1.5)}, ["between 0 and 1"]),
        ({"features": ("y", "a")}, ["cannot also be a feature"]),
        ({"task": "regression"}, ["is a classifier"]),
        ({"search": Search(space={})}, ["at least one parameter"]),
        ({"search": Search(space={"nope": [1]})}, ["no parameter 'nope'"]),
    ],
)
def test_bad_recipes_are_named(changes, words):
    r = Recipe(data="d.csv", target="y", estimator="LogisticRegression").replace(**changes)
    with pytest.raises(InvalidInput) as e:
        r.check()
    for w in words:
        assert w in str(e.value)


def test_stratified_split_needs_a_classifier():
    r = Recipe(data="d.csv", target="y", estimator="Ridge", split=Split(kind="stratified"))
    with pytest.raises(InvalidInput, match="classification"):
        r.check()


def test_from_json_rejects_unknown_fields_and_newer_versions():
    with pytest.raises(InvalidInput, match="unknown recipe field 'colour'"):
        Recipe.from_json({"data": "d", "target": "y", "estimator": "Ridge", "colour": 1})
    with pytest.raises(InvalidInput, match="newer"):
        Recipe.from_json({"data": "d", "target": "y", "estimator": "Ridge", "recipe_version": 99})
    with pytest.raises(InvalidInput, match="not valid JSON"):
        Recipe.from_json("{nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C=0.5", ("C", 0.5)),
        ("max_depth=None", ("max_depth", None)),
        ("fit_intercept=False", ("fit_intercept", False)),
        ("penalty=l2", ("penalty", "l2")),
        ("max_depth=[2, 3]", ("max_depth", [2, 3])),
        ("class_weight=balanced", ("class_weight", "balanced")),
    ],
)
def test_parse_param(text, expected):
    assert parse_param(text) == expected


def test_parse_param_needs_key_and_value():
    with pytest.raises(InvalidInput, match="key=value"):
        parse_param("C")


def test_resolve_estimator_by_short_or_dotted_name():
    from sklearn.linear_model import LogisticRegression

    assert resolve_estimator("LogisticRegression") is LogisticRegression
    assert resolve_estimator("sklearn.linear_model.LogisticRegression") is LogisticRegression
    with pytest.raises(InvalidInput):
        resolve_estimator("evil.module.LogisticRegression")
