"""Scoring a batch with a registered model, in the form its kind is monitored in.

A :class:`ModelScorer` is the ``score_fn`` of a profile or a batch check: it
returns one number per row (what drift of the prediction is measured on and
what is stored per row) and keeps the class probabilities of a multiclass
model aside for its performance metrics.

* binary: the probability of ``classes_[1]`` (the predicted class index when
  the model has no probabilities);
* multiclass: the index of the predicted class in ``classes_`` (the class of
  highest probability);
* regression: the prediction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from modelward.core.errors import InvalidInput
from modelward.core.monitoring.performance import BINARY, MULTICLASS, ModelKind, encode_labels
from modelward.core.tables import bool_word

__all__ = ["InfiniteValues", "LogMismatch", "LoggedScorer", "ModelScorer", "PendingScorer"]


class InfiniteValues(InvalidInput, ValueError):
    """Rows the model cannot score: an infinite value, named in one sentence.

    A refusal to the user (an audited ``InvalidInput``); still the model's
    ``ValueError`` to a caller that takes such a batch unchecked (a data inbox).
    """


class ModelScorer:
    """``scorer(batch) -> scores`` for one model, keeping multiclass probabilities.

    Parameters
    ----------
    model
        The loaded estimator.
    kind
        Its :class:`~modelward.core.monitoring.performance.ModelKind`.
    columns
        The input columns, in the model's order.
    by_name
        Pass a DataFrame with these column names (the model was fitted on one).
    numbers
        Columns the model takes as numbers that the source reads as text (a
        category to drift): truth words (true/false, yes/no), the model gets 1
        and 0 (the column was a bool, a number to scikit-learn), and numbers kept
        as text (codes with leading zeros), the model gets the numbers, as
        training read them.
    label
        What the rows are (a file's name), for the sentence that refuses an
        infinite value.
    """

    def __init__(
        self,
        model: Any,
        kind: ModelKind,
        columns: Sequence[str],
        *,
        by_name: bool,
        numbers: Sequence[str] = (),
        label: str = "the data",
    ) -> None:
        self.model = model
        self.label = label
        self.kind = kind
        self.columns = list(columns)
        self.by_name = by_name
        self.numbers = frozenset(numbers)
        self.has_proba = kind.is_classifier and hasattr(model, "predict_proba")
        self._proba: list[np.ndarray] = []
        self.unscored = 0
        """Rows left unscored (score NaN): a feature missing that the model cannot take."""

    def __call__(self, batch: Mapping[str, Any]) -> np.ndarray:
        X = self._frame(batch)
        try:
            scores, proba = self._score(X)
        except ValueError:
            infinite = _columns_infinite(X, self.columns)
            if infinite:  # the sentence the intake's scan refuses a batch with
                shown = ", ".join(f"{c!r} ({n})" for c, n in infinite.items())
                raise InfiniteValues(
                    f"{self.label} holds infinite values in column(s) {shown}; "
                    "a model cannot score them"
                ) from None
            # A model that cannot take a missing value (a logistic regression, say): the
            # complete rows are scored, the others get no score (NaN), as ``score``
            # rejects them; drift still counts every row.
            missing = _rows_missing(X)
            if not missing.any():
                raise
            keep = ~missing
            self.unscored += int(missing.sum())
            scores = np.full(len(missing), np.nan)
            proba = None
            if keep.any():
                part, part_proba = self._score(X[keep])  # rows of an array or of a frame
                scores[keep] = part
                if part_proba is not None:
                    proba = np.full((len(missing), part_proba.shape[1]), np.nan)
                    proba[keep] = part_proba
            elif self.kind.kind == MULTICLASS and self.has_proba:
                proba = np.full((len(missing), len(self.kind.classes)), np.nan)
        if proba is not None:
            self._proba.append(proba)
        return scores

    def _score(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Each row's score, and the class probabilities of a multiclass model."""
        if self.kind.kind == BINARY and self.has_proba:
            return np.asarray(self.model.predict_proba(X)[:, 1], dtype=np.float64), None
        if self.kind.kind == MULTICLASS and self.has_proba:
            proba = np.asarray(self.model.predict_proba(X), dtype=np.float64)
            return np.asarray(proba.argmax(axis=1), dtype=np.float64), proba
        pred = np.asarray(self.model.predict(X))
        if self.kind.is_classifier:
            return self._class_index(pred), None
        return pred.astype(np.float64), None

    def take_proba(self) -> np.ndarray | None:
        """The multiclass probabilities of every row scored since the last call, in order."""
        if not self._proba:
            return None
        out = np.concatenate(self._proba)
        self._proba = []
        return out

    def _class_index(self, pred: np.ndarray) -> np.ndarray:
        # a binary model's predicted class index is its 0/1 score
        return encode_labels(pred, ModelKind(MULTICLASS, self.kind.classes))

    def _frame(self, batch: Mapping[str, Any]) -> Any:
        def arr(c: str) -> np.ndarray:
            v = batch[c]
            a = v if isinstance(v, np.ndarray) else v.to_numpy(zero_copy_only=False)
            if c in self.numbers and a.dtype.kind not in "biuf":
                return np.array([_number(x) for x in a.tolist()], dtype=np.float64)
            return a

        if self.by_name:
            import pandas as pd  # pandas only when the model was fitted on a DataFrame

            return pd.DataFrame({c: arr(c) for c in self.columns})
        return np.column_stack([np.asarray(arr(c), dtype=np.float64) for c in self.columns])


def _columns_infinite(X: Any, columns: Sequence[str]) -> dict[str, int]:
    """Column -> how many of its values are ±inf (only columns that hold one)."""
    out: dict[str, int] = {}
    for j, c in enumerate(columns):
        col = X[:, j] if isinstance(X, np.ndarray) else X[c].to_numpy()
        if col.dtype.kind == "f":
            n = int(np.isinf(col).sum())
            if n:
                out[c] = n
    return out


def _rows_missing(X: Any) -> np.ndarray:
    """One flag per row: a value of the model's input is missing (NaN or None)."""
    if isinstance(X, np.ndarray):
        if X.dtype.kind != "f":
            return np.zeros(len(X), dtype=bool)
        return np.asarray(np.isnan(X).any(axis=1), dtype=bool)
    return np.asarray(X.isna().any(axis=1), dtype=bool)


def _number(text: str | None) -> float:
    if text is None or not text.strip():
        return np.nan
    try:
        return float(text)
    except ValueError:  # a truth word (true, yes, F) as DuckDB reads one, else not a number
        truth = bool_word(text)
        return np.nan if truth is None else float(truth)


class LogMismatch(Exception):
    """The logged predictions do not line up with the batch's rows (the model scores it)."""


class LoggedScorer:
    """Scores read back from the prediction log, handed out in file order.

    A batch that ``score`` already scored with row-level logging is not
    scored a second time: the check takes the logged score of each row (the
    probability of ``classes_[1]`` for a binary classifier, the prediction of
    a regressor, exactly what :class:`ModelScorer` returns), and the model
    is never loaded. Multiclass models are scored again (the log keeps the
    top probability, not every class's).

    Parameters
    ----------
    scores
        One logged score per row, in the order the batch is read.
    kind
        The model's kind (from the profile).
    batch_id
        The log's key of the batch (shown, audited).
    kept_pass
        The logged batch's entry naming the pass ``score`` kept of it, if any
        (see :class:`~modelward.core.monitoring.service.KeptPass`).
    """

    def __init__(
        self,
        scores: np.ndarray,
        kind: ModelKind,
        batch_id: str,
        kept_pass: Mapping[str, Any] | None = None,
    ) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)
        self.kind = kind
        self.batch_id = batch_id
        self.kept_pass = kept_pass
        self.columns: list[str] = []
        self._at = 0

    def __call__(self, batch: Mapping[str, Any]) -> np.ndarray:
        n = len(next(iter(batch.values()))) if batch else 0
        if self._at + n > len(self.scores):
            raise LogMismatch(f"the batch has more rows than the {len(self.scores)} logged")
        out = self.scores[self._at : self._at + n]
        self._at += n
        return out

    def check_used_up(self) -> None:
        """Raise :class:`LogMismatch` unless every logged score was handed out."""
        if self._at != len(self.scores):
            raise LogMismatch(f"the batch has {self._at} rows, the log {len(self.scores)}")

    def subset(self, mask: np.ndarray) -> LoggedScorer:
        """The scores of the rows ``mask`` selects (a segment), from its first row."""
        return LoggedScorer(self.scores[np.asarray(mask, dtype=bool)], self.kind, self.batch_id)

    def take_proba(self) -> np.ndarray | None:
        return None


class PendingScorer:
    """A :class:`ModelScorer` being made on another thread while the batch is read.

    Loading a model is mostly imports (scikit-learn, skops: seconds of CPU)
    that need nothing from the batch, and reading and binning the batch
    needs nothing from the model. So the model loads on a thread of its own
    and the pass goes on; the batches read before it is ready are held (up
    to ``hold_bytes``, then the pass waits) and scored in file order once it
    is (see :func:`~modelward.core.monitoring.drift.summarize`).

    Parameters
    ----------
    make
        Loads the model and returns its scorer (runs on the thread; must not
        touch the registry, which belongs to the caller's thread).
    columns
        The columns the pass reads for it: a superset of the scorer's
        columns as far as they can be known before the model is (a scorer
        that needs another column makes the pass run again).
    hold_bytes
        The most batch data held while the model loads.
    """

    def __init__(
        self,
        make: Callable[[], ModelScorer],
        columns: Sequence[str],
        *,
        hold_bytes: int = 256 << 20,
    ) -> None:
        self.columns = list(columns)
        self.hold_bytes = hold_bytes
        self._value: ModelScorer | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        # Not a daemon: a thread killed inside a C++ extension's import at
        # interpreter exit aborts the process; it is joined instead.
        self._thread = threading.Thread(
            target=self._run, args=(make,), name="model-load", daemon=False
        )
        self._thread.start()

    def _run(self, make: Callable[[], ModelScorer]) -> None:
        try:
            self._value = make()
        except BaseException as e:  # handed to the caller's thread by result()
            self._error = e
        finally:
            self._done.set()

    def ready(self) -> bool:
        """Whether the model has loaded (or failed to)."""
        return self._done.is_set()

    def result(self) -> ModelScorer:
        """The scorer, once the model has loaded; re-raises what the load raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    def close(self) -> None:
        """Wait for the thread (a check that failed leaves no load running behind it)."""
        self._thread.join()
