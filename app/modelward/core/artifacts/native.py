"""Gradient-boosting and ONNX models in their own safe formats, with a scikit-learn face.

XGBoost (``save_model`` JSON or UBJSON), LightGBM (the text model),
CatBoost (``.cbm`` or JSON) and ONNX files are data, not programs: each is
read by its own library's parser, never by pickle. Their bytes are
recognised by :func:`detect_native` (the sniffing itself lives in
:mod:`~modelward.core.artifacts.formats`, so that every model file is triaged
in one place), loaded by :func:`load_native` in the sandbox first and then
wherever a version is used, and written from live estimators by
:func:`save_native`.

:func:`load_native` returns a thin adapter, :class:`NativeClassifier` or
:class:`NativeRegressor`, that gives the rest of the app what a fitted
scikit-learn estimator gives: ``predict``, ``predict_proba`` (classifiers
only), ``classes_``, ``feature_names_in_`` (when the file names its
features), ``n_features_in_``, and ``library`` / ``extra`` / ``kind``. It
takes a DataFrame (columns are picked by name when the file names them) or
an array.

An ONNX classifier's probabilities are read from a ``[N, k]`` output, a
ZipMap, or one ``[N]`` output per class named in the file's metadata: the form
ModelWard's own conversions write, because MLflow's ONNX flavor can put only
1-D outputs in a DataFrame (:func:`onnx_per_class_outputs` rewrites a file
into it).

Each library is an optional extra of the package (:func:`required_extra`);
a load without it raises :class:`MissingExtra` with one sentence saying
what to install.

The adapters are scikit-learn estimators (``BaseEstimator`` and its
classifier or regressor mixin) in every process where scikit-learn is
loaded. An ONNX model loaded before anything imported scikit-learn (``score``
of an ONNX version) comes as the same class without those bases, so that its
scoring does not import scikit-learn (1.2 s here); the first use that needs
them (its tags, ``score``) gives it the bases then. XGBoost and LightGBM
import scikit-learn themselves when it is installed.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelward.core.artifacts.formats import (
    CATBOOST_CBM,
    CATBOOST_JSON,
    LIGHTGBM_TEXT,
    NATIVE_FORMATS,
    ONNX,
    XGBOOST_JSON,
    XGBOOST_UBJ,
    native_hint,
    sniff_native,
)
from modelward.core.errors import InvalidInput, RejectedFile

__all__ = [
    "NATIVE_FORMATS",
    "MissingExtra",
    "NativeClassifier",
    "NativeModel",
    "NativeRegressor",
    "PROBABILITY_OUTPUTS",
    "describe_native",
    "detect_native",
    "is_native",
    "library_name",
    "load_native",
    "native_hint",
    "native_kind_of",
    "onnx_per_class_outputs",
    "required_extra",
    "save_native",
    "suffix_for",
]

# kind -> (extra, the library's import name, how a user calls it)
_KINDS: dict[str, tuple[str, str, str]] = {
    XGBOOST_JSON: ("xgboost", "xgboost", "XGBoost"),
    XGBOOST_UBJ: ("xgboost", "xgboost", "XGBoost"),
    LIGHTGBM_TEXT: ("lightgbm", "lightgbm", "LightGBM"),
    CATBOOST_CBM: ("catboost", "catboost", "CatBoost"),
    CATBOOST_JSON: ("catboost", "catboost", "CatBoost"),
    ONNX: ("onnx", "onnxruntime", "ONNX"),
}
_SUFFIX = {
    XGBOOST_JSON: ".json",
    XGBOOST_UBJ: ".ubj",
    LIGHTGBM_TEXT: ".txt",
    CATBOOST_CBM: ".cbm",
    CATBOOST_JSON: ".json",
    ONNX: ".onnx",
}


class MissingExtra(RejectedFile):
    """The library that reads this kind of model is not installed (one sentence says which extra)."""

    exit_code = 3

    def __init__(self, reason: str, **kw: Any):
        super().__init__(reason, **kw)
        self.args = (reason,)  # not "rejected: ...": nothing is wrong with the file


# ----------------------------------------------------------------------------- kinds
def is_native(fmt: str | None) -> bool:
    """Whether a registered format is one of the native kinds (not skops, pickle or joblib)."""
    return fmt in _KINDS


def detect_native(path: str | os.PathLike[str]) -> str | None:
    """The native kind of a file from its bytes, or ``None``.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str or None
        ``"xgboost-json"``, ``"xgboost-ubj"``, ``"lightgbm-text"``,
        ``"catboost-cbm"``, ``"catboost-json"``, ``"onnx"``, or ``None`` for
        anything else (including skops, pickle and joblib files).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    return sniff_native(head, Path(path))


def required_extra(kind: str) -> str:
    """The package extra that reads ``kind``: ``"xgboost"``, ``"lightgbm"``, ``"catboost"`` or ``"onnx"``.

    Raises
    ------
    InvalidInput
        ``kind`` is not a native kind.
    """
    try:
        return _KINDS[kind][0]
    except KeyError:
        raise InvalidInput(f"{kind!r} is not a native model format") from None


def library_name(kind: str) -> str:
    """How users call the library of ``kind`` (``"XGBoost"``, ``"ONNX"``...)."""
    return _KINDS[kind][2] if kind in _KINDS else kind


def suffix_for(kind: str) -> str:
    """The usual file suffix of ``kind`` (``".json"``, ``".ubj"``, ``".txt"``, ``".cbm"``, ``".onnx"``)."""
    return _SUFFIX.get(kind, ".bin")


def missing_extra_message(kind: str, what: str = "this version") -> str:
    """The one sentence said when ``kind``'s library is not installed."""
    extra, _, shown = _KINDS[kind]
    article = "an" if shown[0] in "AEIOUX" else "a"
    return f"{what} is {article} {shown} model; install modelward[{extra}] to load it"


def _library(kind: str, what: str = "this version") -> Any:
    """Import the library for ``kind`` or raise :class:`MissingExtra`."""
    module = _KINDS[kind][1]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(missing_extra_message(kind, what)) from None


def _version_of(module: Any) -> str:
    return str(getattr(module, "__version__", "unknown"))


# ----------------------------------------------------------------------------- adapters
def _softmax(z: Any) -> Any:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _Backend:
    """One loaded model of one library: raw scores for a table."""

    kind: str
    library: str
    library_version: str
    task: str  # classification | regression
    n_classes: int = 0
    classes: Sequence[Any] | None = None
    feature_names: list[str] | None = None
    n_features: int = 0
    objective: str = ""
    threads: int | None = None
    # A missing value is a value to the boosting libraries (each split sends it down
    # a learned branch). An ONNX graph may impute it, or turn it into a NaN score
    # without an error (a linear model): scoring sets aside a row whose score is NaN.
    takes_missing = True

    def scores(self, X: Any) -> Any:
        """Probabilities ``(n, k)`` for classifiers, values ``(n,)`` for regressors."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {"objective": self.objective}


def _columns(X: Any, names: list[str] | None, n: int) -> Any:
    """``X`` with exactly the model's columns in its order (by name when it has names)."""
    cols = getattr(X, "columns", None)
    if cols is not None:
        if names:
            have = {str(c) for c in cols}
            missing = [c for c in names if c not in have]
            if missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                raise ValueError(f"the data lacks the model's columns: {shown}")
            if [str(c) for c in cols] != names:
                X = X[names]
            return X
        if len(cols) != n:
            raise ValueError(f"the model takes {n} columns, the data has {len(cols)}")
        return X
    arr = np.asarray(X)
    if arr.ndim != 2 or (n and arr.shape[1] != n):
        raise ValueError(f"the model takes {n} columns, the data has shape {arr.shape}")
    return arr


def _categorical(X: Any) -> Any:
    """Text columns as pandas categories (the boosting libraries do not take object columns)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None:
        return X
    text = [c for c, t in dtypes.items() if str(t) in ("object", "string", "str")]
    if not text:
        return X
    # Only the text columns are converted; the others stay the caller's arrays (no copy).
    return X.astype(dict.fromkeys(text, "category"))


def _two_columns(p: Any) -> Any:
    """``[1 - p, p]`` as one ``(n, 2)`` array, written once."""
    out = np.empty((len(p), 2), dtype=p.dtype)
    out[:, 1] = p
    np.subtract(1.0, p, out=out[:, 0])
    return out


class _XGBoost(_Backend):
    def __init__(self, data: bytes, kind: str):
        xgb = _library(kind)
        self.kind, self.library, self.library_version = kind, "xgboost", _version_of(xgb)
        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        cfg = json.loads(booster.save_config())
        learner = cfg["learner"]
        self.objective = str(learner["objective"]["name"])
        model_param = learner.get("learner_model_param", {})
        self.n_features = int(booster.num_features())
        self.feature_names = list(booster.feature_names) if booster.feature_names else None
        sk = {}
        with contextlib.suppress(ValueError, TypeError):
            sk = json.loads(booster.attr("scikit_learn") or "{}")
        k = int(float(model_param.get("num_class", 0) or 0))
        if self.objective.startswith(("binary:", "multi:")) or sk.get("_estimator_type") == (
            "classifier"
        ):
            self.task = "classification"
            self.n_classes = max(k, 2)
            self.classes = list(range(self.n_classes))
        else:
            self.task = "regression"
        self.booster = booster
        self._applied_threads: int | None = None  # the booster's nthread, set once

    def scores(self, X: Any) -> Any:
        # The frame goes to inplace_predict as it is: XGBoost reads pandas columns in place
        # (no copy here); columns are picked only when the frame has others or another order.
        X = _categorical(_columns(X, self.feature_names, self.n_features))
        if self.threads and self.threads != self._applied_threads:
            self.booster.set_param({"nthread": int(self.threads)})
            self._applied_threads = self.threads
        if self.task == "regression":
            out = np.asarray(self.booster.inplace_predict(X))
            return out.reshape(len(out), -1)[:, 0] if out.ndim > 1 else out
        probabilistic = self.objective in ("binary:logistic", "multi:softprob")
        raw = np.asarray(
            self.booster.inplace_predict(X, predict_type="value" if probabilistic else "margin")
        )
        if self.n_classes == 2:
            p = raw.reshape(-1) if probabilistic else 1.0 / (1.0 + np.exp(-raw.reshape(-1)))
            return _two_columns(p)
        raw = raw.reshape(len(raw), self.n_classes)
        return raw if probabilistic else _softmax(raw)

    def params(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "num_boosted_rounds": int(self.booster.num_boosted_rounds()),
        }


_LGB_CLASSIFY = ("binary", "multiclass", "multiclassova")


class _LightGBM(_Backend):
    def __init__(self, data: bytes, kind: str):
        lgb = _library(kind)
        self.kind, self.library, self.library_version = kind, "lightgbm", _version_of(lgb)
        text = data.decode("utf-8")
        header: dict[str, str] = {}
        for line in text.split("\n", 200)[:200]:
            line = line.strip()
            if line.startswith("Tree="):
                break
            key, sep, value = line.partition("=")
            if sep:
                header[key] = value
        self.booster = lgb.Booster(model_str=text)
        self.objective = header.get("objective", "").split(" ")[0]
        self.n_features = int(self.booster.num_feature())
        names = list(self.booster.feature_name())
        # LightGBM names columns Column_0... when it was trained on an array.
        default = [f"Column_{i}" for i in range(len(names))]
        self.feature_names = names if names and names != default else None
        if self.objective in _LGB_CLASSIFY:
            self.task = "classification"
            self.n_classes = max(int(header.get("num_class", "1") or 1), 2)
            self.classes = list(range(self.n_classes))
        else:
            self.task = "regression"

    def scores(self, X: Any) -> Any:
        X = _categorical(_columns(X, self.feature_names, self.n_features))
        kw = {"num_threads": int(self.threads)} if self.threads else {}
        out = np.asarray(self.booster.predict(X, **kw))
        if self.task == "regression":
            return out.reshape(-1)
        if self.n_classes == 2:
            return _two_columns(out.reshape(-1))
        return out.reshape(len(out), self.n_classes)

    def params(self) -> dict[str, Any]:
        return {"objective": self.objective, "num_trees": int(self.booster.num_trees())}


_CATBOOST_CLASSIFY = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll")


def load_catboost(data: bytes, kind: str, what: str = "this version") -> Any:
    """A ``catboost.CatBoost`` read from a model's bytes by CatBoost itself.

    Raises
    ------
    MissingExtra
        catboost is not installed.
    """
    cb = _library(kind, what)
    model = cb.CatBoost()
    if kind == CATBOOST_CBM:
        model.load_model(blob=data)
    else:  # CatBoost reads JSON models from a file only
        with tempfile.TemporaryDirectory(prefix="modelward-catboost-") as tmp:
            p = Path(tmp) / "model.json"
            p.write_bytes(data)
            model.load_model(str(p), format="json")
    return model


class _CatBoost(_Backend):
    def __init__(self, data: bytes, kind: str):
        model = load_catboost(data, kind)
        self.kind, self.library = kind, "catboost"
        self.library_version = _version_of(_library(kind))
        self.model = model
        self.objective = str(model._object._get_loss_function_name() or "")
        names = [str(n) for n in (model.feature_names_ or [])]
        self.n_features = len(names)
        default = [str(i) for i in range(len(names))]
        self.feature_names = names if names and names != default else None
        classes = getattr(model, "classes_", None)
        if self.objective in _CATBOOST_CLASSIFY and classes is not None and len(classes):
            self.task = "classification"
            self.classes = [c.item() if hasattr(c, "item") else c for c in list(classes)]
            self.n_classes = len(self.classes)
        else:
            self.task = "regression"

    def scores(self, X: Any) -> Any:
        X = _columns(X, self.feature_names, self.n_features)
        kw = {"thread_count": int(self.threads)} if self.threads else {}
        if self.task == "regression":
            return np.asarray(self.model.predict(X, **kw)).reshape(-1)
        p = np.asarray(self.model.predict(X, prediction_type="Probability", **kw))
        return p.reshape(len(p), -1)

    def params(self) -> dict[str, Any]:
        return {"objective": self.objective, "tree_count": int(self.model.tree_count_ or 0)}


_ONNX_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
    "tensor(bool)": np.bool_,
}
_ONNX_CLASS_ATTRS = ("classlabels_int64s", "classlabels_strings", "classlabels_ints")


def _onnx_classes(custom: dict[str, str], data: bytes) -> list[Any] | None:
    """The classes a conversion wrote in the metadata, else the graph's classifier node's."""
    with contextlib.suppress(ValueError, TypeError):
        classes = json.loads(custom.get(CLASS_LABELS, "null"))
        if isinstance(classes, list) and classes:
            return classes
    return _onnx_class_labels(data)


def _onnx_class_labels(data: bytes) -> list[Any] | None:
    """Class labels from the graph's classifier or ZipMap node, when the ``onnx`` package is there."""
    try:
        import onnx  # part of the onnx extra; only for reading node attributes
    except ImportError:
        return None
    return _class_labels_of(onnx.load_model_from_string(data))


def _class_labels_of(model: Any) -> list[Any] | None:
    """Class labels from the classifier or ZipMap node of a ``ModelProto``."""
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name in _ONNX_CLASS_ATTRS:
                if attr.ints:
                    return [int(v) for v in attr.ints]
                if attr.strings:
                    return [s.decode("utf-8") for s in attr.strings]
    return None


PROBABILITY_OUTPUTS = "modelward.probability_outputs"
"""ONNX metadata key: the per-class probability outputs of a classifier, in class order (JSON)."""
CLASS_LABELS = "modelward.classes"
"""ONNX metadata key: a classifier's classes, in the order of its probability columns (JSON),
written by ModelWard's conversions: a load reads them from onnxruntime's metadata without
importing the ``onnx`` package (0.65 s here) to find the classifier node."""


def _probability_tensor(graph: Any) -> tuple[str, int, Any, list[Any]] | None:
    """The classifier's ``[N, k]`` probability tensor: ``(name, elem_type, k, outputs to drop)``.

    A ZipMap's input (the ZipMap output and node are dropped), or a 2-D float
    output after the label. ``None`` for a regressor or an unknown layout.
    """
    from onnx import TensorProto  # deferred: part of the onnx extra

    outputs = list(graph.output)
    for o in outputs:
        if o.type.HasField("sequence_type"):
            node = next((n for n in graph.node if o.name in n.output), None)
            if node is None or node.op_type != "ZipMap":
                return None
            return str(node.input[0]), TensorProto.FLOAT, None, [o]
    if len(outputs) < 2:
        return None
    for o in outputs[1:]:
        t = o.type.tensor_type
        if t.elem_type in (TensorProto.FLOAT, TensorProto.DOUBLE) and len(t.shape.dim) == 2:
            width = t.shape.dim[1]
            k = int(width.dim_value) if width.HasField("dim_value") else None
            return str(o.name), int(t.elem_type), k, [o]
    return None


def onnx_per_class_outputs(data: bytes, classes: Sequence[Any] | None = None) -> bytes:
    """An ONNX classifier with one 1-D probability output per class, for MLflow and DataFrames.

    The ``[N, k]`` probability output (or a ZipMap's list of maps) is
    replaced by ``k`` outputs ``probability_<class>`` of shape ``[N]`` (a
    ``Gather`` of each column inside the graph); the label output stays.
    MLflow's ONNX flavor puts every output in one DataFrame column, which a
    2-D output cannot fill. The outputs are named in the metadata
    (:data:`PROBABILITY_OUTPUTS`), which is how :func:`load_native` reads
    the same probabilities back. A regressor, a file already in this form or
    a layout not recognised is returned unchanged.

    Parameters
    ----------
    data
        The ONNX model's bytes.
    classes
        The class labels in column order (default: the graph's classifier
        node, else ``0..k-1``).

    Returns
    -------
    bytes
        The new model's bytes (or ``data`` itself when nothing changed).
    """
    import onnx  # deferred: part of the onnx extra

    model = onnx.load_model_from_string(data)
    if not _split_probabilities(model, classes):
        return data
    return bytes(model.SerializeToString())


def _split_probabilities(model: Any, classes: Sequence[Any] | None = None) -> bool:
    """:func:`onnx_per_class_outputs` on a ``ModelProto`` in place; whether it changed."""
    from onnx import TensorProto, helper  # deferred: part of the onnx extra

    if any(p.key == PROBABILITY_OUTPUTS for p in model.metadata_props):
        return False
    graph = model.graph
    found = _probability_tensor(graph)
    if found is None:
        return False
    source, elem, k, drop = found
    if classes is None:
        classes = _class_labels_of(model)
    if classes is None and k:
        classes = list(range(k))
    if not classes or len(classes) < 2 or (k and len(classes) != k):
        return False
    taken = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    taken |= {o for n in graph.node for o in n.output}
    batch = None
    if not drop[0].type.HasField("sequence_type"):
        batch = drop[0].type.tensor_type.shape.dim[0]
    dim0: Any = None
    if batch is not None and batch.HasField("dim_param"):
        dim0 = batch.dim_param
    elif batch is not None and batch.HasField("dim_value") and batch.dim_value:
        dim0 = int(batch.dim_value)
    names: list[str] = []
    for j, c in enumerate(classes):
        name = f"probability_{c}"
        while name in taken:
            name += "_"
        taken.add(name)
        index = f"modelward_class_index_{j}"
        graph.initializer.append(helper.make_tensor(index, TensorProto.INT64, [], [j]))
        graph.node.append(
            helper.make_node("Gather", [source, index], [name], axis=1, name=f"{name}_gather")
        )
        graph.output.append(helper.make_tensor_value_info(name, elem, [dim0]))
        names.append(name)
    dropped = {o.name for o in drop}
    kept = [o for o in graph.output if o.name not in dropped]
    del graph.output[:]
    graph.output.extend(kept)
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap" and set(n.output) & dropped]
    for n in zipmaps:
        graph.node.remove(n)
    if not any(op.domain in ("", "ai.onnx") for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("", 13))
    prop = model.metadata_props.add()
    prop.key, prop.value = PROBABILITY_OUTPUTS, json.dumps(names)
    return True


class _Onnx(_Backend):
    FEATURES_KEY = "feature_names"
    """``metadata_props`` entry (a JSON list) naming the columns of a single tensor input."""

    def __init__(self, data: bytes, kind: str, threads: int | None = None):
        ort = _library(kind)
        self.kind, self.library, self.library_version = kind, "onnxruntime", _version_of(ort)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.threads = threads
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        self.data = data  # a new thread count needs a new session
        self.session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        self.inputs = list(self.session.get_inputs())
        outputs = list(self.session.get_outputs())
        meta = self.session.get_modelmeta()
        self.producer = str(meta.producer_name or "")
        custom = dict(meta.custom_metadata_map or {})
        if len(self.inputs) == 1:
            shape = self.inputs[0].shape
            width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else 0
            self.n_features = int(width)
            names = None
            with contextlib.suppress(ValueError, TypeError):
                names = json.loads(custom.get(self.FEATURES_KEY, "null"))
            if isinstance(names, list) and (not width or len(names) == width):
                self.feature_names = [str(n) for n in names]
                self.n_features = len(names)
            self.per_column = False
        else:
            self.feature_names = [i.name for i in self.inputs]
            self.n_features = len(self.inputs)
            self.per_column = True
        self.label_out: str | None = None
        self.proba_out: str | None = None
        self.proba_outs: list[str] | None = None
        per_class = None
        with contextlib.suppress(ValueError, TypeError):
            per_class = json.loads(custom.get(PROBABILITY_OUTPUTS, "null"))
        have = {o.name for o in outputs}
        if isinstance(per_class, list) and len(per_class) >= 2 and set(per_class) <= have:
            # One 1-D output per class (what MLflow's ONNX flavor can put in a DataFrame).
            self.proba_outs = [str(n) for n in per_class]
            outputs = [o for o in outputs if o.name not in set(self.proba_outs)]
        for o in outputs:
            if o.type.startswith("seq(map") or (
                o.type == "tensor(float)" and len(o.shape) == 2 and self.label_out is not None
            ):
                self.proba_out = o.name
            elif self.label_out is None and len(outputs) > 1:
                self.label_out = o.name
        self.zipmap = any(o.type.startswith("seq(map") for o in outputs)
        if self.proba_outs is not None:
            self.task = "classification"
            classes = _onnx_classes(custom, data)
            if classes is None or len(classes) != len(self.proba_outs):
                classes = list(range(len(self.proba_outs)))
            self.classes = classes
            self.n_classes = len(classes)
        elif self.proba_out is not None:
            self.task = "classification"
            classes = _onnx_classes(custom, data)
            if classes is None:
                width = next(o.shape for o in outputs if o.name == self.proba_out)
                k = width[1] if len(width) == 2 and isinstance(width[1], int) else 2
                classes = list(range(k))
            self.classes = classes
            self.n_classes = len(classes)
        else:
            self.task = "regression"
            self.value_out = outputs[0].name
        self.objective = "classifier" if self.task == "classification" else "regressor"

    def feeds(self, X: Any) -> dict[str, Any]:
        X = _columns(X, self.feature_names, self.n_features)
        if not self.per_column:
            dtype = _ONNX_NUMPY.get(self.inputs[0].type, np.float32)
            # One pass: a frame's float64 columns (a column-major view) cast to the row-major
            # float32 matrix onnxruntime reads; handed a column-major one, it would copy again.
            values = X
            if hasattr(X, "dtypes"):
                same = all(t == np.float64 for t in X.dtypes)
                values = X.to_numpy() if same else X.to_numpy(dtype=dtype)
            return {self.inputs[0].name: np.asarray(values, dtype=dtype, order="C")}
        out = {}
        for i, inp in enumerate(self.inputs):
            col = X[inp.name] if hasattr(X, "columns") else X[:, i]
            dtype = _ONNX_NUMPY.get(inp.type, np.float32)
            if dtype is object:
                arr = np.asarray(col).astype(str).astype(object)
            else:
                arr = np.asarray(col, dtype=dtype)  # no copy when the column has that type
            out[inp.name] = arr if len(inp.shape) == 1 else arr.reshape(-1, 1)
        return out

    def scores(self, X: Any) -> Any:
        feeds = self.feeds(X)
        if self.task == "regression":
            (out,) = self.session.run([self.value_out], feeds)
            return np.asarray(out, dtype=np.float64).reshape(-1)
        if self.proba_outs is not None:
            cols = self.session.run(self.proba_outs, feeds)
            out = np.empty((len(cols[0]), len(cols)), dtype=np.float64)
            for j, col in enumerate(cols):
                out[:, j] = col
            return out
        (proba,) = self.session.run([self.proba_out], feeds)
        if self.zipmap:
            keys = list(self.classes or [])
            return np.array([[row[k] for k in keys] for row in proba], dtype=np.float64)
        return np.asarray(proba, dtype=np.float64)

    def params(self) -> dict[str, Any]:
        return {
            "producer": self.producer,
            "inputs": [f"{i.name}: {i.type}" for i in self.inputs[:50]],
        }


_BACKENDS: dict[str, type[_Backend]] = {
    XGBOOST_JSON: _XGBoost,
    XGBOOST_UBJ: _XGBoost,
    LIGHTGBM_TEXT: _LightGBM,
    CATBOOST_CBM: _CatBoost,
    CATBOOST_JSON: _CatBoost,
    ONNX: _Onnx,
}


class NativeModel:
    """A model of another library, loaded from its own format, with a scikit-learn face.

    Loaded, it is an instance of a subclass with scikit-learn's estimator bases
    (:func:`_sklearn_face`), or, for an ONNX model loaded where scikit-learn is
    not (yet) imported, of this class itself until something asks for them.

    Attributes
    ----------
    kind : str
        The format (``"xgboost-json"``...).
    library, library_version : str
        The library that reads it and its version here.
    extra : str
        The package extra that brings the library (``modelward[extra]``).
    n_features_in_ : int
        Columns it takes.
    feature_names_in_ : ndarray of str
        Present only when the file names its columns.
    n_jobs : int or None
        Threads for prediction (``None``: the library's default).
    """

    def __init__(self, backend: _Backend, source: bytes = b""):
        self._backend = backend
        self._source = source
        self.kind = backend.kind
        self.library = backend.library
        self.library_version = backend.library_version
        self.extra = required_extra(backend.kind)
        self.n_features_in_ = int(backend.n_features)
        if backend.feature_names:
            self.feature_names_in_ = np.asarray(backend.feature_names, dtype=object)

    @property
    def n_jobs(self) -> int | None:
        return self._backend.threads

    @n_jobs.setter
    def n_jobs(self, value: int | None) -> None:
        self._backend.threads = value
        if isinstance(self._backend, _Onnx) and value:  # fixed when a session is built
            self._backend = _Onnx(self._backend.data, self.kind, value)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The model's own facts (objective, size), not constructor arguments."""
        return {"library": self.library, "format": self.kind, **self._backend.params()}

    def set_params(self, **params: Any) -> NativeModel:
        raise InvalidInput("a loaded native model cannot be re-parameterised; retrain it instead")

    def fit(self, X: Any, y: Any = None) -> NativeModel:
        raise InvalidInput(
            f"a loaded {self.library} model cannot be refitted here; train a new version"
        )

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def takes_missing(self) -> bool:
        """Whether a row with a missing value is scored (what the scikit-learn tag says)."""
        return bool(self._backend.takes_missing)

    def __sklearn_tags__(self) -> Any:
        if type(self) not in _FACES.values():  # first asked: take scikit-learn's bases now
            face = _sklearn_face(type(self))
            if face is type(self):
                raise AttributeError("scikit-learn is not installed")
            self.__class__ = face
            return self.__sklearn_tags__()
        # scikit-learn's default says "no missing values": scoring would set aside
        # every row with one, which XGBoost, LightGBM and CatBoost predict
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = self._backend.takes_missing
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """scikit-learn's ``score`` (accuracy or R²), with its bases taken first."""
        face = _sklearn_face(type(self))
        if face is type(self):
            raise AttributeError("scikit-learn is not installed")
        self.__class__ = face
        return float(self.score(X, y, sample_weight=sample_weight))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.library} {self._backend.objective}, {self.kind})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Between our own processes (joblib workers): the file's bytes, parsed again there
        # by the library, never the library's objects.
        return (_rebuild, (self._source, self.kind, self._backend.threads))


class NativeClassifier(NativeModel):
    """A native classifier: ``predict_proba`` columns follow ``classes_``."""

    _estimator_type = "classifier"

    def __init__(self, backend: _Backend, source: bytes = b""):
        super().__init__(backend, source)
        self.classes_ = np.asarray(list(backend.classes or []))

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, ``(n_rows, n_classes)``."""
        return self._backend.scores(X)

    def predict(self, X: Any) -> Any:
        """The most probable class of each row."""
        return self.classes_[np.argmax(self._backend.scores(X), axis=1)]


class NativeRegressor(NativeModel):
    """A native regressor."""

    _estimator_type = "regressor"

    def predict(self, X: Any) -> Any:
        """The predicted value of each row."""
        return self._backend.scores(X)


_FACES: dict[type, type] = {}


def _sklearn_face(cls: type) -> type:
    """``cls`` with scikit-learn's estimator bases (imported here), or ``cls`` without
    scikit-learn. The subclass keeps the name, so ``isinstance`` and reprs are unchanged."""
    face = _FACES.get(cls)
    if face is None:
        try:
            from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
        except ImportError:  # an ONNX version scores without scikit-learn
            return cls
        mixin = ClassifierMixin if issubclass(cls, NativeClassifier) else RegressorMixin
        face = type(
            cls.__name__,
            (mixin, cls, BaseEstimator),
            {
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__,
            },
        )
        _FACES[cls] = face
    return face


def _describe_error(kind: str, e: BaseException) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # Library errors start with a source location ("src/learner.cc:123: ..."): drop it.
    first = re.sub(r"^\[[^\]]*\]\s*", "", first)
    first = re.sub(r"^[\w./\\-]+\.(?:cc|cpp|h|py):\d+:\s*", "", first)
    if len(first) > 160:
        first = first[:157] + "…"
    return f"not a readable {library_name(kind)} model ({first})"


def load_native(
    path_or_bytes: str | os.PathLike[str] | bytes,
    kind: str,
    *,
    threads: int | None = None,
) -> NativeModel:
    """Load a native model file with its own library and wrap it.

    Parameters
    ----------
    path_or_bytes
        The file, or its bytes.
    kind
        Its kind from :func:`detect_native` (or the registered format).
    threads
        Threads its predictions may use (``None``: the library's default).

    Returns
    -------
    NativeModel
        :class:`NativeClassifier` or :class:`NativeRegressor`.

    Raises
    ------
    MissingExtra
        The library is not installed; the message names the extra.
    RejectedFile
        The bytes are not a readable model of that kind (one sentence).
    """
    if kind not in _BACKENDS:
        raise RejectedFile(f"unknown native model format {kind!r}")
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
    else:
        data = Path(path_or_bytes).read_bytes()
    _library(kind)  # a missing library is said before anything else
    try:
        backend = (
            _Onnx(data, kind, threads) if kind == ONNX else _BACKENDS[kind](data, kind)  # type: ignore[call-arg]
        )
    except (RejectedFile, MemoryError):
        raise
    except Exception as e:  # the library's parser refused the bytes
        raise RejectedFile(_describe_error(kind, e)) from None
    backend.threads = threads
    cls: type[NativeModel] = NativeRegressor
    if backend.task == "classification":
        if not backend.classes or len(backend.classes) < 2:
            raise RejectedFile(f"a {library_name(kind)} classifier without classes")
        cls = NativeClassifier
    if kind != ONNX or "sklearn" in sys.modules:
        cls = _sklearn_face(cls)
    return cls(backend, data)


def _rebuild(data: bytes, kind: str, threads: int | None) -> NativeModel:
    return load_native(data, kind, threads=threads)


def describe_native(model: NativeModel) -> dict[str, Any]:
    """Plain metadata of a loaded native model (as :func:`describe_estimator` gives for scikit-learn).

    Keys: ``estimator_class``, ``steps``, ``params``, ``signature`` and
    ``native`` (``kind``, ``library``, ``library_version``, ``extra``,
    ``task``, ``objective``).
    """
    b = model._backend
    sig: dict[str, Any] = {"n_features_in": int(model.n_features_in_)}
    if b.feature_names:
        sig["feature_names"] = list(b.feature_names)
    if isinstance(model, NativeClassifier):
        sig["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    sig["task"] = b.task
    native = {
        "kind": b.kind,
        "library": b.library,
        "library_version": b.library_version,
        "extra": model.extra,
        "task": b.task,
        "objective": b.objective,
    }
    return {
        "estimator_class": f"{b.library}:{b.objective}" if b.objective else b.library,
        "steps": [],
        "params": {k: v for k, v in model.get_params().items()},
        "signature": sig,
        "native": native,
    }


# ----------------------------------------------------------------------------- saving
def native_kind_of(model: Any) -> str | None:
    """The native kind :func:`save_native` writes for ``model``, or ``None`` if it has none.

    XGBoost's and LightGBM's scikit-learn wrappers and boosters, and
    CatBoost models, by their class's module (no import of the libraries).
    """
    module = type(model).__module__.split(".")[0]
    if module == "xgboost":
        return XGBOOST_UBJ
    if module == "lightgbm":
        return LIGHTGBM_TEXT
    if module in ("catboost", "_catboost"):
        return CATBOOST_CBM
    return None


def _check_labels(model: Any) -> None:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return
    labels = list(classes)
    if labels != list(range(len(labels))):
        shown = ", ".join(repr(c) for c in labels[:4])
        raise InvalidInput(
            f"{type(model).__name__} was trained on the labels {shown}…; its native file keeps "
            "only class numbers: encode the target as 0..k-1 before training"
        )


def save_native(model: Any, path: str | os.PathLike[str]) -> str:
    """Write a live XGBoost, LightGBM or CatBoost model in its own safe format.

    Parameters
    ----------
    model
        A fitted ``XGBClassifier``/``XGBRegressor``/``Booster``,
        ``LGBMClassifier``/``LGBMRegressor``/``Booster``, or CatBoost model.
    path
        Where to write it (the suffix is not changed: see :func:`suffix_for`).

    Returns
    -------
    str
        The kind written (``"xgboost-ubj"``, ``"lightgbm-text"``, ``"catboost-cbm"``).

    Raises
    ------
    InvalidInput
        Not such a model, not fitted, or a LightGBM classifier trained on
        labels other than ``0..k-1`` (its text file cannot keep them).
    """
    kind = native_kind_of(model)
    out = os.fspath(path)
    if kind == XGBOOST_UBJ:
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        if hasattr(model, "get_booster"):
            # The wrapper's own save keeps its estimator type; UBJ is compact and exact.
            model.save_model(out + ".ubj")
            os.replace(out + ".ubj", out)
        else:
            booster.save_model(out + ".ubj")
            os.replace(out + ".ubj", out)
        return kind
    if kind == LIGHTGBM_TEXT:
        booster = getattr(model, "booster_", model) if hasattr(model, "fit") else model
        if not hasattr(booster, "save_model"):
            raise InvalidInput(f"{type(model).__name__} is not fitted")
        _check_labels(model)
        booster.save_model(out)
        return kind
    if kind == CATBOOST_CBM:
        if not getattr(model, "is_fitted", lambda: True)():
            raise InvalidInput(f"{type(model).__name__} is not fitted")
        model.save_model(out, format="cbm")
        return kind
    raise InvalidInput(
        f"{type(model).__module__}.{type(model).__name__} has no native format; "
        "XGBoost, LightGBM and CatBoost models do"
    )
