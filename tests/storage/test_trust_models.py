"""Ordinary scikit-learn model files register with their metadata and load back."""

from __future__ import annotations

import io
import os
import pickle
import stat
from pathlib import Path

import joblib
import numpy as np
import pytest
from tests.support.models import register_file

from modelward import api
from modelward.core.artifacts.overrides import overrides_for, record_override
from modelward.core.errors import IntegrityError, InvalidInput, RejectedFile
from modelward.core.intake.convert import convert_version
from modelward.core.registry import Registry
from support.models import small_data


def _mixed_data(n: int = 150):
    rng = np.random.default_rng(0)
    X = np.empty((n, 3), dtype=object)
    X[:, 0] = rng.choice(["red", "green", "blue"], n)
    X[:, 1] = rng.normal(size=n)
    X[:, 2] = rng.normal(size=n)
    y = ((X[:, 1].astype(float) > 0) ^ (X[:, 0] == "red")).astype(int)
    return X, y


def _column_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _mixed_data()
    ct = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), [0]), ("num", StandardScaler(), [1, 2])]
    )
    return Pipeline([("prep", ct), ("clf", LogisticRegression())]).fit(X, y), X


def _ordinary(tmp: Path) -> list[tuple[Path, object, object, str]]:
    """(file, fitted model, X to predict on, expected format)."""
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = small_data()
    out = []
    lr = LogisticRegression().fit(X, y)
    joblib.dump(lr, tmp / "lr.joblib")
    out.append((tmp / "lr.joblib", lr, X, "joblib"))
    pipe, Xm = _column_pipeline()
    (tmp / "pipe.pkl").write_bytes(pickle.dumps(pipe, protocol=5))
    out.append((tmp / "pipe.pkl", pipe, Xm, "pickle"))
    rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    joblib.dump(rf, tmp / "rf.joblib", compress=3)
    out.append((tmp / "rf.joblib", rf, X, "joblib"))
    hgb = HistGradientBoostingClassifier(max_iter=20).fit(X, y)
    (tmp / "hgb.pkl").write_bytes(pickle.dumps(hgb, protocol=2))
    out.append((tmp / "hgb.pkl", hgb, X, "pickle"))
    sio.dump(pipe, tmp / "pipe.skops")
    out.append((tmp / "pipe.skops", pipe, Xm, "skops"))
    # content decides, not the name
    (tmp / "model.csv").write_bytes(pickle.dumps(rf, protocol=0))
    out.append((tmp / "model.csv", rf, X, "pickle"))
    return out


def test_ordinary_models_register_and_load(tmp_path: Path):
    reg = Registry(tmp_path / "reg")
    for path, model, X, fmt in _ordinary(tmp_path):
        v = register_file(reg, path, path.stem).version
        assert v.format == fmt
        cls = type(model)
        assert v.estimator_class == f"{cls.__module__}.{cls.__qualname__}"
        assert v.status == "ok"
        assert v.params["sklearn_version"]
        assert v.signature["n_features_in"] == X.shape[1]
        assert v.signature["classes"] == [0, 1]
        loaded = api.load_model(v.ref, registry=reg)
        assert np.array_equal(loaded.predict(X), model.predict(X))
    pipe = reg.resolve("pipe")
    assert pipe.params["steps"] == ["prep: ColumnTransformer", "clf: LogisticRegression"]
    assert pipe.params["params"]["steps"]


def test_every_joblib_compression_registers(tmp_path: Path):
    from sklearn.linear_model import LogisticRegression

    X, y = small_data()
    lr = LogisticRegression().fit(X, y)
    reg = Registry(tmp_path / "reg")
    for comp in ("zlib", "gzip", "bz2", "xz", "lzma"):
        path = tmp_path / f"lr-{comp}.joblib"
        joblib.dump(lr, path, compress=comp)
        v = register_file(reg, path, f"lr-{comp}").version
        assert v.format == "joblib"
        assert np.array_equal(api.load_model(v.ref, registry=reg).predict(X), lr.predict(X))


def test_other_sklearn_version_needs_revalidation(tmp_path: Path):
    import sklearn

    from support.models import fitted_logreg

    data = pickle.dumps(fitted_logreg(), protocol=4)
    mine = sklearn.__version__.encode()
    other = b"0.0.1" + b"0" * (len(mine) - 5) if len(mine) >= 5 else b"0.0.1"
    assert data.count(mine) == 1
    path = tmp_path / "old.pkl"
    path.write_bytes(data.replace(mine, other[: len(mine)]))
    reg = Registry(tmp_path / "reg")
    v = register_file(reg, path, "old").version
    assert v.status == "needs_revalidation"
    assert v.params["sklearn_version"] == other[: len(mine)].decode()


def test_rejections_have_specific_reasons(tmp_path: Path):
    from support.models import fitted_logreg

    buf = io.BytesIO()
    joblib.dump(fitted_logreg(), buf)
    cases = {
        "empty.pkl": (b"", "empty file"),
        "random.joblib": (
            bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8)),
            "not a model file",
        ),
        "data.pkl": (b"age,income\n31,52000\n", "text file"),
        "picture.joblib": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
        "cut.joblib": (buf.getvalue()[:700], "truncated joblib stream at byte"),
        "cut.pkl": (
            pickle.dumps(fitted_logreg(), protocol=5)[:300],
            "truncated pickle stream at byte 300",
        ),
        "array.pkl": (pickle.dumps(np.arange(3)), "not a scikit-learn estimator"),
    }
    reg = Registry(tmp_path / "reg")
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(RejectedFile, match=expected):
            register_file(reg, path, "m")
    assert reg.count_versions() == 0
    assert path.exists()  # the original stays where it was; quarantine holds a copy


def test_changed_file_becomes_a_new_version(tmp_path: Path):
    from support.models import write_joblib

    reg = Registry(tmp_path / "reg")
    path = write_joblib(tmp_path / "m.joblib", seed=1)
    v1 = register_file(reg, path, "m").version
    write_joblib(path, seed=2)
    v2 = register_file(reg, path, "m").version
    assert (v1.version, v2.version) == (1, 2)
    assert v1.sha256 != v2.sha256
    assert reg.resolve("m:1").sha256 == v1.sha256


def test_tampered_artifact_is_never_loaded(tmp_path: Path):
    from support.models import write_joblib

    reg = Registry(tmp_path / "reg")
    v = register_file(reg, write_joblib(tmp_path / "m.joblib"), "m").version
    stored = reg.artifacts.path_for(v.sha256)
    os.chmod(stored, stat.S_IRUSR | stat.S_IWUSR)
    stored.write_bytes(stored.read_bytes()[:-1] + b"!")
    with pytest.raises(IntegrityError):
        api.load_model(v.ref, registry=reg)


def _clip_pipeline_file(tmp: Path) -> Path:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = small_data()
    pipe = make_pipeline(
        FunctionTransformer(np.clip, kw_args={"a_min": -2, "a_max": 2}), LogisticRegression()
    ).fit(X, y)
    path = tmp / "clip.joblib"
    joblib.dump(pipe, path)
    return path


def test_trust_override_is_explicit_audited_and_narrow(tmp_path: Path):
    reg = Registry(tmp_path / "reg")
    path = _clip_pipeline_file(tmp_path)
    with pytest.raises(RejectedFile, match=r"global numpy\.clip is not allowed"):
        register_file(reg, path, "clip")
    from modelward.core.artifacts.store import sha256_file

    sha, _ = sha256_file(path)
    with pytest.raises(InvalidInput, match="can never be allowed"):
        record_override(reg, sha, globals=["os:system"], reviewer="R. Viewer", reason="no")
    with pytest.raises(InvalidInput, match="reason"):
        record_override(reg, sha, globals=["numpy:clip"], reviewer="R", reason="")
    record_override(
        reg,
        sha,
        globals=["numpy:clip"],
        reviewer="R. Viewer",
        reason="clip is pure arithmetic; checked the notebook that made it",
        source=str(path),
    )
    v = register_file(reg, path, "clip").version
    assert v.params["trusted_globals"] == ["numpy.clip"]
    X, _ = small_data()
    assert api.load_model(v.ref, registry=reg).predict(X).shape == (X.shape[0],)
    (ov,) = overrides_for(reg, sha)
    assert ov["reviewer"] == "R. Viewer" and ov["actor"] == reg.actor and ov["reason"]
    # the override belongs to those bytes only
    (tmp_path / "other").mkdir()
    other = _clip_pipeline_file(tmp_path / "other")
    with open(other, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(RejectedFile):
        register_file(reg, other, "clip-other")


def test_convert_pickle_to_skops(tmp_path: Path):
    from support.models import write_pickle

    reg = Registry(tmp_path / "reg")
    v1 = register_file(reg, write_pickle(tmp_path / "m.pkl"), "m").version
    res = convert_version(reg, v1.ref)
    v2 = res.version
    assert res.created and v2.format == "skops" and v2.version == 2
    assert v2.lineage["converted_from"] == v1.ref
    assert v2.lineage["converted_from_sha256"] == v1.sha256
    X, _ = small_data()
    a, b = api.load_model(v1.ref, registry=reg), api.load_model(v2.ref, registry=reg)
    assert np.array_equal(a.predict(X), b.predict(X))
    with pytest.raises(InvalidInput, match="already"):
        convert_version(reg, v2.ref)


def test_cli_trust_and_convert(run_cli, tmp_path: Path):
    home = str(tmp_path / "reg")
    path = _clip_pipeline_file(tmp_path)
    r = run_cli("register", str(path), "--name", "clip", "--registry", home)
    assert r.returncode == 3
    assert "numpy.clip is not allowed" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli(
        "trust", str(path), "--name", "clip", "--allow", "numpy:clip",
        "--reviewer", "R. Viewer", "--reason", "pure arithmetic", "--registry", home,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    from support.models import write_pickle

    r = run_cli(
        "register", str(write_pickle(tmp_path / "lr.pkl")), "--name", "lr", "--registry", home
    )
    assert r.returncode == 0, r.stderr
    r = run_cli("convert", "lr:1", "--to", "skops", "--registry", home, "--json")
    assert r.returncode == 0, r.stderr
    assert '"format": "skops"' in r.stdout
