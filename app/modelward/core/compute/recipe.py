"""Training recipes: everything needed to train (and retrain) a model, as plain data.

A :class:`Recipe` is frozen and round-trips through JSON, so it can be stored
in a version's lineage and read back to reproduce the version exactly.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from modelward.core.errors import InvalidInput

__all__ = [
    "SPLIT_KINDS",
    "TASKS",
    "Recipe",
    "Search",
    "Split",
    "estimator_names",
    "parse_param",
    "resolve_estimator",
]

SPLIT_KINDS = ("holdout", "kfold", "stratified", "time")
TASKS = ("auto", "classification", "regression")
RECIPE_VERSION = 2
# Version 1 recipes kept every column as a feature, ids included: read back so, they
# retrain to the same model.


@dataclass(frozen=True)
class Split:
    """How rows are split for validation.

    ``holdout`` keeps ``test_size`` of the rows aside (stratified for
    classification); ``kfold`` and ``stratified`` run ``folds`` folds;
    ``time`` orders rows by ``time_column`` and keeps the latest ``test_size``
    aside (or, with ``folds >= 2``, walks forward in ``folds`` steps).
    """

    kind: str = "holdout"
    test_size: float = 0.25
    folds: int = 5
    time_column: str | None = None

    def check(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise InvalidInput(f"unknown split {self.kind!r}: use one of {', '.join(SPLIT_KINDS)}")
        if not 0.0 < float(self.test_size) < 1.0:
            raise InvalidInput(f"test size must be between 0 and 1, not {self.test_size}")
        if self.kind in ("kfold", "stratified") and int(self.folds) < 2:
            raise InvalidInput(f"a {self.kind} split needs at least 2 folds, not {self.folds}")
        if self.kind == "time" and not self.time_column:
            raise InvalidInput("a time-based split needs a timestamp column (time_column)")

    @property
    def n_evaluations(self) -> int:
        """How many fits the split needs (1 for a holdout)."""
        if self.kind in ("kfold", "stratified") or (self.kind == "time" and self.folds >= 2):
            return int(self.folds)
        return 1


@dataclass(frozen=True)
class Search:
    """An optional hyper-parameter search, scored by cross-validation on the training rows.

    ``space`` maps a parameter name to the list of values to try. ``grid``
    tries every combination; ``random`` samples ``n_iter`` of them with the
    recipe's seed.
    """

    kind: str = "grid"
    space: dict[str, list[Any]] = field(default_factory=dict)
    n_iter: int = 10
    folds: int = 3

    def check(self) -> None:
        if self.kind not in ("grid", "random"):
            raise InvalidInput(f"unknown search {self.kind!r}: use grid or random")
        if not self.space:
            raise InvalidInput("a parameter search needs at least one parameter with values")
        for k, v in self.space.items():
            if not isinstance(v, list) or not v:
                raise InvalidInput(f"search values of {k!r} must be a non-empty list")
        if int(self.folds) < 2:
            raise InvalidInput("a parameter search needs at least 2 folds")
        if int(self.n_iter) < 1:
            raise InvalidInput("a randomized search needs n_iter >= 1")


@dataclass(frozen=True)
class Recipe:
    """Data + target + features + estimator + parameters + split + seed.

    Parameters
    ----------
    data
        A CSV or Parquet path, or ``dataset:ID`` for a registered dataset.
    target
        The column to predict.
    estimator
        A scikit-learn classifier or regressor, by class name
        (``LogisticRegression``, ``HistGradientBoostingClassifier``, ...).
    params
        Hyper-parameters of the estimator.
    features
        Feature columns; empty means every column except the target and the
        time column.
    task
        ``auto`` (from the estimator), ``classification`` or ``regression``.
    split, search, seed
        Validation split, optional parameter search, and the random seed used
        for the split, the search and the estimator's ``random_state``.
    classes
        The classes the target may hold (classification): a row with any
        other value refuses the training. Empty: any (up to the
        ``train_max_classes`` setting).
    keep_id_columns
        Keep columns that look like row identifiers (``loan_id``, unique
        increasing integers) among the features when ``features`` is empty;
        by default they are left out, with a warning naming them.

    Examples
    --------
    >>> r = Recipe(data="train.csv", target="default", estimator="LogisticRegression",
    ...            params={"C": 0.5})
    >>> Recipe.from_json(r.to_json()) == r
    True
    """

    data: str
    target: str
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    task: str = "auto"
    split: Split = field(default_factory=Split)
    search: Search | None = None
    seed: int = 0
    classes: tuple[Any, ...] = ()
    keep_id_columns: bool = False

    def check(self) -> None:
        """Raise :class:`InvalidInput` for a recipe that cannot run (before touching data)."""
        if not self.data:
            raise InvalidInput("the recipe has no data")
        if not self.target:
            raise InvalidInput("the recipe has no target column")
        if self.task not in TASKS:
            raise InvalidInput(f"unknown task {self.task!r}: use one of {', '.join(TASKS)}")
        if self.target in self.features:
            raise InvalidInput(f"the target column {self.target!r} cannot also be a feature")
        if len(set(map(str, self.classes))) != len(self.classes):
            raise InvalidInput("the declared classes name a class twice")
        self.split.check()
        if self.search is not None:
            self.search.check()
        cls = resolve_estimator(self.estimator)
        valid = set(cls().get_params(deep=False))
        names = set(self.params) | (set(self.search.space) if self.search else set())
        unknown = sorted(names - valid)
        if unknown:
            raise InvalidInput(
                f"{cls.__name__} has no parameter {unknown[0]!r}; "
                f"its parameters are {', '.join(sorted(valid))}"
            )
        task = self.resolved_task()
        if self.split.kind == "stratified" and task != "classification":
            raise InvalidInput("a stratified split needs a classification target")
        if self.classes and task != "classification":
            raise InvalidInput(f"{self.estimator} is a regressor: classes apply to classifiers")

    def resolved_task(self) -> str:
        """``classification`` or ``regression``, from the estimator when ``task`` is auto."""
        from sklearn.base import is_classifier  # deferred: start-up cost

        is_clf = is_classifier(resolve_estimator(self.estimator)())
        task = "classification" if is_clf else "regression"
        if self.task != "auto" and self.task != task:
            raise InvalidInput(
                f"{self.estimator} is a {'classifier' if is_clf else 'regressor'}, "
                f"but the recipe asks for {self.task}"
            )
        return task

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``Recipe.from_json`` reads it back)."""
        d = asdict(self)
        d["features"] = list(self.features)
        d["classes"] = list(self.classes)
        d["recipe_version"] = RECIPE_VERSION
        return json.loads(json.dumps(d, default=_json_default))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, d: dict[str, Any] | str) -> Recipe:
        """Build a recipe from :meth:`to_json` output (a dict or its JSON text)."""
        if isinstance(d, str):
            try:
                d = json.loads(d)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"the recipe is not valid JSON: {e.msg}") from None
        if not isinstance(d, dict):
            raise InvalidInput("a recipe must be a JSON object")
        d = dict(d)
        version = int(d.pop("recipe_version", RECIPE_VERSION))
        if version > RECIPE_VERSION:
            raise InvalidInput(
                f"the recipe was written by a newer ModelWard (recipe version {version})"
            )
        if version < 2:
            d.setdefault("keep_id_columns", True)
        known = {f for f in cls.__dataclass_fields__}
        extra = sorted(set(d) - known)
        if extra:
            raise InvalidInput(f"unknown recipe field {extra[0]!r}")
        try:
            split = Split(**(d.pop("split", None) or {}))
            search_d = d.pop("search", None)
            search = Search(**search_d) if search_d else None
            return cls(
                split=split,
                search=search,
                features=tuple(d.pop("features", ()) or ()),
                classes=tuple(d.pop("classes", ()) or ()),
                params=dict(d.pop("params", None) or {}),
                **d,
            )
        except TypeError as e:
            raise InvalidInput(f"malformed recipe: {e}") from None


def _json_default(o: Any) -> Any:
    import numpy as np  # deferred: start-up cost

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, tuple | set):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


# Where most estimators live: looked up first, because walking every scikit-learn
# module (``all_estimators``) costs about a second.
_COMMON_MODULES = (
    "sklearn.linear_model",
    "sklearn.ensemble",
    "sklearn.tree",
    "sklearn.svm",
    "sklearn.neighbors",
    "sklearn.naive_bayes",
    "sklearn.neural_network",
    "sklearn.discriminant_analysis",
    "sklearn.dummy",
    "sklearn.kernel_ridge",
    "sklearn.gaussian_process",
)


@functools.cache
def _all_estimators() -> dict[str, type]:
    from sklearn.utils import all_estimators  # deferred: start-up cost

    return dict(all_estimators(type_filter=["classifier", "regressor"]))


BOOSTING_ESTIMATORS: dict[str, tuple[str, str]] = {
    "XGBClassifier": ("xgboost", "XGBoost"),
    "XGBRegressor": ("xgboost", "XGBoost"),
    "LGBMClassifier": ("lightgbm", "LightGBM"),
    "LGBMRegressor": ("lightgbm", "LightGBM"),
}
"""Gradient-boosting libraries' scikit-learn wrappers a recipe may name: their extra, their name."""


def boosting_defaults(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters a training job sets on a boosting estimator unless the recipe sets them.

    One thread per fit (``n_jobs=1``), as scikit-learn's estimators get
    through the job's thread limit: these libraries start their own OpenMP
    pools and would otherwise take every core of a shared machine. LightGBM
    is kept quiet (it prints per-iteration warnings to stdout).
    """
    if cls.__name__ not in BOOSTING_ESTIMATORS:
        return {}
    out: dict[str, Any] = {}
    if "n_jobs" not in params:
        out["n_jobs"] = 1
    if cls.__name__.startswith("LGBM") and "verbose" not in params:
        out["verbose"] = -1
    return out


def boosting_available(short: str) -> bool:
    """Whether the library of a boosting estimator is installed (without importing it)."""
    lib = BOOSTING_ESTIMATORS.get(short)
    return lib is not None and importlib.util.find_spec(lib[0]) is not None


def _boosting_estimator(short: str) -> type:
    module, shown = BOOSTING_ESTIMATORS[short]
    try:
        return getattr(importlib.import_module(module), short)  # type: ignore[no-any-return]
    except ImportError:
        raise InvalidInput(
            f"{short} is a {shown} estimator; install modelward[{module}] to train it"
        ) from None


@functools.cache
def _find_estimator(short: str) -> type | None:
    from sklearn.base import ClassifierMixin, RegressorMixin  # deferred: start-up cost

    for mod in _COMMON_MODULES:
        cls = getattr(importlib.import_module(mod), short, None)
        if isinstance(cls, type) and issubclass(cls, ClassifierMixin | RegressorMixin):
            return cls
    return _all_estimators().get(short)


def estimator_names(task: str | None = None) -> list[str]:
    """Names of scikit-learn's classifiers and/or regressors, sorted."""
    from sklearn.utils import all_estimators  # deferred: start-up cost

    filt = {"classification": ["classifier"], "regression": ["regressor"]}.get(
        task or "", ["classifier", "regressor"]
    )
    names = [name for name, _ in all_estimators(type_filter=filt)]
    # XGBoost and LightGBM where their extra is installed.
    for short in BOOSTING_ESTIMATORS:
        kind = "classification" if short.endswith("Classifier") else "regression"
        if task in (None, "", kind) and boosting_available(short):
            names.append(short)
    return sorted(names)


def resolve_estimator(name: str) -> type:
    """The scikit-learn estimator class called ``name`` (a short or dotted name).

    Also XGBoost's and LightGBM's scikit-learn wrappers (``XGBClassifier``,
    ``LGBMRegressor``...; see :data:`BOOSTING_ESTIMATORS`) where installed.

    Raises
    ------
    InvalidInput
        When no scikit-learn classifier or regressor has that name.
    """
    short = name.rsplit(".", 1)[-1]
    if short in BOOSTING_ESTIMATORS and (
        "." not in name or name.split(".")[0] == BOOSTING_ESTIMATORS[short][0]
    ):
        return _boosting_estimator(short)
    found = None if short.startswith("_") else _find_estimator(short)
    if found is None or (("." in name) and not name.startswith("sklearn.")):
        close = difflib.get_close_matches(short, list(_all_estimators()), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise InvalidInput(f"{name!r} is not a scikit-learn classifier or regressor{hint}")
    return found


def parse_param(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` from the command line: numbers, booleans, None, JSON, else text."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidInput(f"bad parameter {text!r}: use key=value, e.g. C=0.5")
    raw = raw.strip()
    special = {"None": None, "none": None, "True": True, "False": False}
    if raw in special:
        return key, special[raw]
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _param_lines(
    entries: list[str] | tuple[str, ...] | dict[str, Any], *, lists: bool
) -> dict[str, Any]:
    if isinstance(entries, dict):
        pairs = list(entries.items())
    else:
        pairs = [
            parse_param(line)
            for line in (e.strip() for e in entries)
            if line and not line.startswith("#")
        ]
    return {k: v if not lists or isinstance(v, list) else [v] for k, v in pairs}


def recipe_from_fields(
    data: str,
    target: str,
    estimator: str,
    *,
    params: list[str] | tuple[str, ...] | dict[str, Any] = (),
    features: str | list[str] | tuple[str, ...] = (),
    split: str = "holdout",
    test_size: float = 0.25,
    folds: int = 5,
    time_column: str | None = None,
    search: str | None = None,
    search_space: list[str] | tuple[str, ...] | dict[str, Any] = (),
    n_iter: int = 10,
    search_folds: int = 3,
    seed: int = 0,
    classes: str | list[Any] | tuple[Any, ...] = (),
    keep_id_columns: bool = False,
) -> Recipe:
    """Build a :class:`Recipe` from plain fields, as a form or the command line gives them.

    Parameters
    ----------
    data, target, estimator
        The data (path or ``dataset:ID``), the column to predict and the
        estimator's class name; surrounding blanks are ignored, none may be empty.
    params
        ``key=value`` lines (blank lines and ``#`` comments skipped; values
        parsed by :func:`parse_param`), or a ready dict.
    features
        Feature columns, as a sequence or as one comma-separated string; empty
        means every column except the target and the time column.
    split, test_size, folds, time_column
        The validation :class:`Split`.
    search
        ``None`` (no search), ``"grid"`` or ``"random"``.
    search_space
        ``key=[v1, v2]`` lines (a single value becomes a one-item list), or a dict.
    n_iter, search_folds
        Candidates of a random search, and the cross-validation folds of a search.
    seed
        The recipe's random seed.
    classes
        The classes the target may hold, as a sequence or one comma-separated
        string (numbers in it are read as numbers).
    keep_id_columns
        Keep id-like columns among the features (see :class:`Recipe`).

    Returns
    -------
    Recipe
        Not yet checked: call :meth:`Recipe.check` (the training does).

    Raises
    ------
    InvalidInput
        When data, target or estimator is empty, or a ``key=value`` line is malformed.

    Examples
    --------
    >>> r = recipe_from_fields("t.csv", "y", "LogisticRegression", params=["C=0.5"],
    ...                        features="a, b", split="kfold", folds=3)
    >>> (r.params, r.features, r.split.kind, r.split.folds)
    ({'C': 0.5}, ('a', 'b'), 'kfold', 3)
    """
    named = {"data": data.strip(), "target": target.strip(), "estimator": estimator.strip()}
    missing = [k for k, v in named.items() if not v]
    if missing:
        raise InvalidInput(f"a training recipe needs {', '.join(missing)}")
    cols = features.split(",") if isinstance(features, str) else list(features)
    if isinstance(classes, str):
        classes = [parse_param(f"c={c.strip()}")[1] for c in classes.split(",") if c.strip()]
    return Recipe(
        data=named["data"],
        target=named["target"],
        estimator=named["estimator"],
        params=_param_lines(params, lists=False),
        features=tuple(c.strip() for c in cols if c.strip()),
        split=Split(kind=split, test_size=test_size, folds=folds, time_column=time_column),
        search=(
            Search(
                kind=search,
                space=_param_lines(search_space, lists=True),
                n_iter=n_iter,
                folds=search_folds,
            )
            if search
            else None
        ),
        seed=seed,
        classes=tuple(classes),
        keep_id_columns=keep_id_columns,
    )
