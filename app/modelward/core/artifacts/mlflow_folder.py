"""MLflow model folders: reading ``MLmodel`` without trusting it, and writing one.

An MLflow model folder is a directory with an ``MLmodel`` file (YAML) that
names its flavors (``sklearn``, ``onnx``, ``xgboost``, ``lightgbm``,
``catboost``, ``python_function``), the model file of each, a signature
(columns and their types), an input example and the library versions it was
saved with.

``MLmodel`` is read with PyYAML's safe loader after a walk over its parse
events that refuses what an MLmodel file never holds: anchors and aliases
(the way "billion laughs" bombs multiply), explicit tags (``!!python/...``),
deep nesting and huge files. Nothing here loads a model: the model file goes
through the intake door like any other file (the sandbox, the trust path).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelward.core.errors import RejectedFile

MLMODEL = "MLmodel"
MAX_MLMODEL_BYTES = 1 << 20
"""An MLmodel file is a few kilobytes; one past this size is refused unread."""
MAX_EXAMPLE_BYTES = 16 << 20
MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_FILES = 10_000
"""Entries of a folder looked at for its state (a model folder holds a handful)."""

# The flavors whose model file is taken, best first, and the MLmodel key naming the file.
FLAVOR_FILES: tuple[tuple[str, str], ...] = (
    ("onnx", "data"),
    ("xgboost", "data"),
    ("lightgbm", "data"),
    ("catboost", "data"),
    ("sklearn", "pickled_model"),
)
# MLmodel version keys of each flavor -> the distribution they name.
_LIBRARY_KEYS = {
    "sklearn_version": "scikit-learn",
    "onnx_version": "onnx",
    "xgb_version": "xgboost",
    "lgb_version": "lightgbm",
    "catboost_version": "catboost",
}
_NUMERIC_TYPES = frozenset({"double", "float", "long", "integer", "boolean"})
_SIGNATURE_TYPES = _NUMERIC_TYPES | {"string", "datetime", "binary"}


@dataclass(frozen=True)
class MLflowModel:
    """What an ``MLmodel`` file says, checked: the flavor taken and its model file."""

    folder: Path
    flavor: str
    model_file: Path
    flavors: list[str]
    features: list[dict[str, Any]] | None
    """``[{name, kind, dtype}]`` from a column signature (``None`` without one)."""
    signature: dict[str, Any]
    """The raw ``signature`` entry (``inputs``/``outputs`` as MLflow writes them)."""
    input_example: Path | None
    libraries: dict[str, str]
    """Distribution -> version the model was saved with (and ``python``, ``mlflow``)."""
    run_id: str | None = None
    model_uuid: str | None = None
    warnings: list[str] = field(default_factory=list)

    def lineage(self) -> dict[str, Any]:
        """What a registered version keeps of the folder (JSON)."""
        return {
            "flavor": self.flavor,
            "flavors": self.flavors,
            "model_file": self.model_file.name,
            "run_id": self.run_id,
            "model_uuid": self.model_uuid,
            "libraries": dict(self.libraries),
            "signature": dict(self.signature),
            "input_example": self.input_example.name if self.input_example else None,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------- YAML
def safe_yaml(text: str, what: str = "the MLmodel file") -> Any:
    """Parse YAML holding only plain mappings, lists and scalars.

    Raises
    ------
    RejectedFile
        Anchors or aliases, explicit tags, nesting deeper than
        :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes, or no valid
        YAML at all (one sentence each).
    """
    import yaml  # deferred: only MLflow folders need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = nodes = 0
    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                raise RejectedFile(
                    f"{what} uses YAML anchors or aliases, which an MLmodel file never needs"
                )
            tag = getattr(ev, "tag", None)
            if tag is not None:  # only explicit tags are reported: MLmodel files have none
                raise RejectedFile(f"{what} carries the YAML tag {tag!r}, which is not allowed")
            if isinstance(ev, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise RejectedFile(f"{what} is nested more than {MAX_DEPTH} levels deep")
            elif isinstance(ev, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(ev, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise RejectedFile(f"{what} holds more than {MAX_NODES:,} values")
        return yaml.load(text, Loader=loader)
    except RejectedFile:
        raise
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RejectedFile(f"{what} is not valid YAML ({first})") from None


def dump_yaml(doc: Any) -> str:
    """YAML text of plain data, as MLflow writes ``MLmodel`` (block style, keys in order)."""
    import yaml  # deferred: only MLflow folders need it

    return str(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


# ----------------------------------------------------------------------------- reading
def is_mlflow_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder with an ``MLmodel`` file (links are not followed)."""
    p = Path(path)
    return p.is_dir() and not p.is_symlink() and (p / MLMODEL).is_file()


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    try:
        st = path.lstat()
        if os.path.islink(path):
            raise RejectedFile(f"{what} is a link; links in a model folder are not followed")
        if st.st_size > cap:
            raise RejectedFile(
                f"{what} is {st.st_size:,} bytes, more than the {cap:,} bytes it may have"
            )
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as e:
        raise RejectedFile(f"cannot read {what}: {e.strerror or e}") from None
    if len(data) > cap:
        raise RejectedFile(f"{what} is more than the {cap:,} bytes it may have")
    return data


def _inside(folder: Path, rel: Any, what: str) -> Path:
    """``folder / rel`` when it is a plain file inside ``folder``; refused otherwise."""
    if not isinstance(rel, str) or not rel.strip():
        raise RejectedFile(f"the MLmodel file names no {what}")
    p = folder / rel
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        raise RejectedFile(f"the MLmodel file names the {what} {rel!r}, outside its folder")
    if p.is_symlink():
        raise RejectedFile(f"the {what} {rel} is a link; links in a model folder are not followed")
    if not p.is_file():
        raise RejectedFile(f"the MLmodel file names the {what} {rel}, which is not in the folder")
    return p


def read_mlmodel(folder: str | os.PathLike[str]) -> MLflowModel:
    """Read and check the ``MLmodel`` of an MLflow model folder.

    The flavor taken is the first of :data:`FLAVOR_FILES` the file names
    (ONNX, XGBoost, LightGBM, CatBoost, then scikit-learn); its model file
    must be a plain file inside the folder.

    Raises
    ------
    RejectedFile
        One sentence: no or a hostile ``MLmodel``, no flavor ModelWard reads,
        a model file missing or outside the folder, a signature or input
        example that does not hold together.
    """
    root = Path(folder)
    text_bytes = _read_capped(root / MLMODEL, MAX_MLMODEL_BYTES, "the MLmodel file")
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise RejectedFile("the MLmodel file is not UTF-8 text") from None
    doc = safe_yaml(text)
    if not isinstance(doc, dict):
        raise RejectedFile("the MLmodel file is not a mapping of keys to values")
    flavors = doc.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise RejectedFile("the MLmodel file names no flavors")
    names = [str(k) for k in flavors]
    chosen = next((f for f, _ in FLAVOR_FILES if isinstance(flavors.get(f), dict)), None)
    if chosen is None:
        raise RejectedFile(
            f"the MLmodel file's flavors ({', '.join(names)}) hold no model ModelWard reads "
            "(onnx, xgboost, lightgbm, catboost or sklearn)"
        )
    conf: dict[str, Any] = flavors[chosen]
    key = dict(FLAVOR_FILES)[chosen]
    model_file = _inside(root, conf.get(key), f"{chosen} model file")
    features, sig = _signature(doc.get("signature"))
    example = _example_path(root, doc.get("saved_input_example_info"))
    if example is not None and features:
        check_example(example, features)
    libraries = _libraries(doc, flavors, root)
    return MLflowModel(
        folder=root,
        flavor=chosen,
        model_file=model_file,
        flavors=names,
        features=features,
        signature=sig,
        input_example=example,
        libraries=libraries,
        run_id=_text(doc.get("run_id")),
        model_uuid=_text(doc.get("model_uuid")),
        warnings=version_warnings(libraries),
    )


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def _signature(raw: Any) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
    """Column features of a signature (``None`` for a tensor or no signature), and the raw entry."""
    if raw is None:
        return None, {}
    if not isinstance(raw, dict):
        raise RejectedFile("the MLmodel file's signature is not a mapping")
    kept = {k: raw.get(k) for k in ("inputs", "outputs", "params") if raw.get(k) is not None}
    inputs = raw.get("inputs")
    if inputs is None:
        return None, kept
    try:
        cols = json.loads(inputs) if isinstance(inputs, str) else inputs
    except ValueError:
        raise RejectedFile("the MLmodel file's signature inputs are not valid JSON") from None
    if not isinstance(cols, list):
        raise RejectedFile("the MLmodel file's signature inputs are not a list of columns")
    features: list[dict[str, Any]] = []
    for c in cols:
        if not isinstance(c, dict):
            raise RejectedFile("the MLmodel file's signature inputs are not a list of columns")
        if c.get("type") == "tensor" or "name" not in c:
            return None, kept  # a tensor signature names no columns
        t = str(c.get("type"))
        if t not in _SIGNATURE_TYPES:
            raise RejectedFile(
                f"the signature gives the column {c['name']!r} the type {t!r}, "
                "which ModelWard does not score"
            )
        kind = "numeric" if t in _NUMERIC_TYPES else "categorical"
        features.append({"name": str(c["name"]), "kind": kind, "dtype": t})
    names = [f["name"] for f in features]
    if len(set(names)) != len(names):
        raise RejectedFile("the MLmodel file's signature names a column twice")
    return features or None, kept


def _example_path(root: Path, info: Any) -> Path | None:
    if not isinstance(info, dict):
        return None
    rel = info.get("artifact_path")
    if rel is None:
        return None
    return _inside(root, rel, "input example")


def example_frame_columns(doc: Any) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of an MLflow input example (split, ``dataframe_split`` or records)."""
    if isinstance(doc, dict) and isinstance(doc.get("dataframe_split"), dict):
        doc = doc["dataframe_split"]
    if isinstance(doc, dict) and "columns" in doc and "data" in doc:
        cols = [str(c) for c in doc["columns"]]
        rows = [list(r) if isinstance(r, list) else [r] for r in doc["data"]]
        return cols, rows
    if isinstance(doc, dict) and isinstance(doc.get("dataframe_records"), list):
        doc = doc["dataframe_records"]
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        cols = list(dict.fromkeys(str(k) for r in doc for k in r))
        return cols, [[r.get(c) for c in cols] for r in doc]
    if isinstance(doc, dict) and all(isinstance(v, list) for v in doc.values()):
        cols = [str(k) for k in doc]
        n = max((len(v) for v in doc.values()), default=0)
        return cols, [[doc[c][i] if i < len(doc[c]) else None for c in doc] for i in range(n)]
    raise RejectedFile("the input example is not a table (columns and rows)")


def check_example(path: Path, features: list[dict[str, Any]]) -> None:
    """The input example holds every signature column, numbers where the signature says so.

    Raises
    ------
    RejectedFile
        Naming the first column missing or the first value of the wrong type.
    """
    raw = _read_capped(path, MAX_EXAMPLE_BYTES, f"the input example {path.name}")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise RejectedFile(f"the input example {path.name} is not valid JSON") from None
    cols, rows = example_frame_columns(doc)
    missing = [f["name"] for f in features if f["name"] not in cols]
    if missing:
        raise RejectedFile(
            f"the input example lacks the signature's column {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    at = {c: i for i, c in enumerate(cols)}
    for f in features:
        if f["kind"] != "numeric":
            continue
        i = at[f["name"]]
        for n, row in enumerate(rows, start=1):
            v = row[i] if i < len(row) else None
            if v is not None and not isinstance(v, int | float):
                raise RejectedFile(
                    f"the input example's column {f['name']!r} holds {str(v)[:40]!r} in row {n}, "
                    f"where the signature says {f['dtype']}"
                )


def _libraries(doc: dict[str, Any], flavors: dict[str, Any], root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for conf in flavors.values():
        if not isinstance(conf, dict):
            continue
        for key, dist in _LIBRARY_KEYS.items():
            if conf.get(key) is not None:
                out[dist] = str(conf[key])
        if conf.get("python_version") is not None:
            out["python"] = str(conf["python_version"])
    if doc.get("mlflow_version") is not None:
        out["mlflow"] = str(doc["mlflow_version"])
    req = root / "requirements.txt"
    if req.is_file() and not req.is_symlink():
        try:
            text = _read_capped(req, 1 << 16, "requirements.txt").decode("utf-8", "replace")
        except RejectedFile:
            text = ""
        for line in text.splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and name and not name.startswith(("#", "-")):
                out.setdefault(name.strip().lower(), version.strip())
    return out


def version_warnings(libraries: dict[str, str]) -> list[str]:
    """One sentence per library saved at another version than the one installed here."""
    from importlib.metadata import PackageNotFoundError, version

    out: list[str] = []
    for dist in ("scikit-learn", "onnx", "onnxruntime", "xgboost", "lightgbm", "catboost"):
        saved = libraries.get(dist)
        if not saved:
            continue
        try:
            here = version(dist)
        except PackageNotFoundError:
            out.append(f"the model was saved with {dist} {saved}, which is not installed here")
            continue
        if here != saved:
            out.append(f"the model was saved with {dist} {saved}; {here} is installed here")
    return out


def folder_state(folder: str | os.PathLike[str]) -> tuple[int, float] | None:
    """``(files + bytes, newest mtime)`` of a complete MLflow folder; ``None`` if it is not one.

    A folder is not (yet) one while it has no ``MLmodel`` file, or while its
    readable ``MLmodel`` names a model file that is not there: a folder copied
    file by file is taken once both are in place and nothing in it changed
    for the watcher's settle time. An ``MLmodel`` that cannot be read counts
    as complete, so that it is refused (with its reason) rather than waited for.
    """
    root = Path(folder)
    mlmodel = root / MLMODEL
    try:
        if root.is_symlink() or not mlmodel.is_file():
            return None
    except OSError:
        return None
    size = count = 0
    newest = 0.0
    stack = [root]
    while stack and count < MAX_FILES:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            count += 1
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            newest = max(newest, st.st_mtime)
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            else:
                size += st.st_size
    try:
        read_mlmodel(root)
    except RejectedFile as rej:
        if "which is not in the folder" in rej.reason:
            return None  # still being copied
    return size + count, newest
