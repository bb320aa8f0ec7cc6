"""Hostile model files: each would create a marker file if it ever ran.

Every file goes through the real door (the intake door, which loads
it in the sandbox worker) and through the in-process restricted loader
(``load_bytes``, what ``load_artifact`` uses). The marker must never appear,
each file is rejected with a reason, quarantined and audited, and nothing is
registered.
"""

from __future__ import annotations

import builtins
import functools
import io
import operator
import os
import pathlib
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from tests.support.models import register_file

from modelward.core.artifacts.safeload import load_bytes
from modelward.core.errors import RejectedFile
from modelward.core.registry import Registry
from support.models import fitted_logreg, small_data


class Call:
    """Pickles as ``func(*args)``: what an attacker's ``__reduce__`` does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict[str, Call]:
    m = str(marker)
    X, y = small_data()
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=2).fit(X, y)
    other = marker.parent / "nested.pkl"
    other.write_bytes(pickle.dumps(Call(os.system, f"touch {m}")))
    return {
        "os.system": Call(os.system, f"touch {m}"),
        "subprocess.call": Call(subprocess.call, ["touch", m]),
        "builtins.exec": Call(builtins.exec, f"open({m!r}, 'w').close()"),
        "builtins.eval": Call(builtins.eval, f"open({m!r}, 'w')"),
        "io.open": Call(io.open, m, "w"),
        "pathlib.write_text": Call(pathlib.Path.write_text, pathlib.Path(m), "x"),
        "shutil.copyfile": Call(shutil.copyfile, __file__, m),
        "numpy.save": Call(np.save, m, np.arange(3)),
        "numpy.savetxt": Call(np.savetxt, m, np.arange(3)),
        "numpy.memmap": Call(np.memmap, m, np.uint8, "w+", 0, (8,)),
        "numpy.open_memmap": Call(np.lib.format.open_memmap, m, "w+", np.uint8, (8,)),
        "numpy.load": Call(np.load, str(other), None, True),
        "joblib.dump": Call(joblib.dump, [1, 2], m),
        "joblib.load": Call(joblib.load, str(other)),
        "pickle.loads": Call(pickle.loads, other.read_bytes()),
        "export_graphviz": Call(
            __import__("sklearn.tree", fromlist=["export_graphviz"]).export_graphviz, tree, m
        ),
        "dump_svmlight": Call(
            __import__("sklearn.datasets", fromlist=["dump_svmlight_file"]).dump_svmlight_file,
            X,
            y,
            m,
        ),
        "functools.partial": Call(functools.partial(os.system, f"touch {m}")),
        "operator.methodcaller": Call(
            operator.methodcaller("system", f"touch {m}"), Call(__import__, "os")
        ),
    }


def _raw_chains(marker: Path) -> dict[str, bytes]:
    """Hand-written opcode streams (what a pickler would never emit)."""
    m = str(marker).encode()
    return {
        # getattr(__import__('os'), 'system')('touch M'), Python 2 names, protocol 0
        "getattr-chain-p0": b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n(S'os'\ntRS'system'\ntR(S'touch "
        + m
        + b"'\ntR.",
        # getattr of an allowed class: ndarray.tofile(arr, M)
        "getattr-allowed-class": b"\x80\x02cbuiltins\ngetattr\ncnumpy\nndarray\nX\x06\x00\x00\x00tofile\x86R.",
        # methodcaller applied to a module from importlib
        "methodcaller-importlib": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00"
        b"\x8c\x08operator\x8c\x0cmethodcaller\x93\x8c\x06system\x8c"
        + bytes([len(b"touch " + m)])
        + b"touch "
        + m
        + b"\x86R\x8c\timportlib\x8c\rimport_module\x93\x8c\x02os\x85R\x85R.",
        # STACK_GLOBAL whose names come from the memo
        "stack-global-memo": b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93\x8c"
        + bytes([len(b"touch " + m)])
        + b"touch "
        + m
        + b"\x85R.",
        # a module name the static scan cannot read (built at load time)
        "computed-name": b"\x80\x04\x8c\x07copyreg\x8c\x0e_reconstructor\x93"
        b"\x8c\x08builtins\x8c\x03str\x93\x8c\x08builtins\x8c\x03str\x93\x8c\x05posix\x87R"
        b"\x8c\x06system\x93\x8c\x04true\x85R.",
        # BUILD on a class: monkeypatch LogisticRegression.predict
        "build-on-class": b"\x80\x02csklearn.linear_model._logistic\nLogisticRegression\n"
        b"N}X\x07\x00\x00\x00predictcbuiltins\nobject\ns\x86b.",
        "extension-code": b"\x80\x02\x82\x01.",
        "persistent-id": b"Pfoo\n.",
        "codecs-not-latin1": b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x04\x00\x00\x00zlib\x86R.",
    }


def _fitted_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = small_data()
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


def hostile_corpus(tmp: Path, marker: Path) -> dict[str, bytes]:
    """name -> file bytes; every file would create ``marker`` if it ran."""
    files: dict[str, bytes] = {}
    payloads = _payloads(marker)
    for name, payload in payloads.items():
        for proto in range(6):
            try:
                files[f"{name}-p{proto}.pkl"] = pickle.dumps(payload, protocol=proto)
            except (pickle.PicklingError, TypeError, AttributeError):
                continue  # some callables cannot be named at low protocols
    evil = payloads["os.system"]
    # inside a real fitted Pipeline, every protocol
    pipe = _fitted_pipeline()
    pipe.named_steps["standardscaler"].payload = evil
    for proto in range(6):
        files[f"pipeline-p{proto}.pkl"] = pickle.dumps(pipe, protocol=proto)
    # joblib: numpy arrays come first, the payload after them
    lr = fitted_logreg()
    lr.big_ = np.arange(50_000, dtype=np.float64)
    lr.zz_payload = payloads["io.open"]
    for comp in (0, "zlib", "gzip", "bz2", "xz", "lzma"):
        buf = io.BytesIO()
        joblib.dump(lr, buf, compress=comp)
        files[f"arrays-then-payload-{comp or 'raw'}.joblib"] = buf.getvalue()
    # joblib: the payload hidden in an object-dtype array (a nested pickle stream)
    lr2 = fitted_logreg()
    lr2.objects_ = np.array([1, "a", payloads["numpy.save"]], dtype=object)
    for comp in (0, "gzip"):
        buf = io.BytesIO()
        joblib.dump(lr2, buf, compress=comp)
        files[f"object-array-{comp or 'raw'}.joblib"] = buf.getvalue()
    # joblib with the pipeline payload
    buf = io.BytesIO()
    joblib.dump(pipe, buf, compress=3)
    files["pipeline-zlib.joblib"] = buf.getvalue()
    for name, raw in _raw_chains(marker).items():
        files[f"{name}.pkl"] = raw
    files.update(_hostile_skops(tmp, marker))
    return files


def _hostile_skops(tmp: Path, marker: Path) -> dict[str, bytes]:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    out = {}
    for label, func in (("os.system", os.system), ("numpy.save", np.save)):
        ft = FunctionTransformer(func=func, kw_args={"file": str(marker)})
        out[f"skops-{label}.skops"] = sio.dumps(ft)
    # a skops archive whose schema names a forbidden type directly
    good = sio.dumps(fitted_logreg())
    src = zipfile.ZipFile(io.BytesIO(good))
    schema = (
        src.read("schema.json")
        .decode()
        .replace('"__module__": "sklearn.linear_model._logistic"', '"__module__": "posix"')
    )
    schema = schema.replace('"__class__": "LogisticRegression"', '"__class__": "system"')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, schema if item == "schema.json" else src.read(item))
    out["skops-edited-schema.skops"] = buf.getvalue()
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hostile")
    marker = tmp / "MARKER"
    files = hostile_corpus(tmp, marker)
    assert not marker.exists()
    return tmp, marker, files


def test_corpus_is_broad(corpus):
    _tmp, _marker, files = corpus
    assert len(files) >= 100


def test_no_hostile_file_runs_through_the_door(corpus, tmp_path: Path):
    tmp, marker, files = corpus
    reg = Registry(tmp_path / "reg")
    reasons = {}
    for name, data in files.items():
        path = tmp / name
        path.write_bytes(data)
        with pytest.raises(RejectedFile) as info:
            register_file(reg, path, "hostile")
        assert info.value.reason, name
        reasons[name] = info.value.reason
        assert not marker.exists(), f"{name} ran its payload"
    assert reg.count_versions() == 0
    rejected = reg.audit_events(limit=None, action="ingest.rejected")
    assert len(rejected) == len(files)
    assert all(e.reason for e in rejected)
    quarantined = list((tmp_path / "reg" / "quarantine").glob("*.reason.txt"))
    assert len(quarantined) == len(files)
    assert reasons["os.system-p5.pkl"] == "global posix.system is not allowed"
    assert reasons["io.open-p2.pkl"] == "global io.open is not allowed"
    assert reasons["getattr-chain-p0.pkl"] == "global builtins.getattr is not allowed"
    assert "not allowed" in reasons["arrays-then-payload-gzip.joblib"]
    assert "not allowed" in reasons["object-array-raw.joblib"]
    assert "changes" in reasons["build-on-class.pkl"] or "change" in reasons["build-on-class.pkl"]


def test_no_hostile_file_runs_in_process(corpus):
    from sklearn.linear_model import LogisticRegression

    from modelward.core.artifacts.formats import detect_format

    tmp, marker, files = corpus
    predict = LogisticRegression.predict
    for name, data in files.items():
        path = tmp / ("inproc-" + name)
        path.write_bytes(data)
        with pytest.raises(RejectedFile):
            load_bytes(data, detect_format(path).format)
        assert not marker.exists(), f"{name} ran its payload"
    assert LogisticRegression.predict is predict


def test_rejection_names_the_global_even_for_python2_names(tmp_path: Path):
    data = b"c__builtin__\neval\n(S'1'\ntR."
    with pytest.raises(RejectedFile, match=r"global builtins\.eval is not allowed"):
        load_bytes(data, "pickle")
