"""Triage by bytes: skops, pickle (protocols 0-5) and joblib (plain and compressed)."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import joblib
import pytest

from modelward.core.artifacts.formats import detect_format
from modelward.core.errors import RejectedFile
from support.models import fitted_logreg


@pytest.mark.parametrize("protocol", range(6))
def test_pickle_protocols(tmp_path: Path, protocol: int):
    path = tmp_path / "model.bin"
    path.write_bytes(pickle.dumps(fitted_logreg(), protocol=protocol))
    info = detect_format(path)
    assert (info.format, info.protocol) == ("pickle", protocol)


@pytest.mark.parametrize("compress", [0, "zlib", "gzip", "bz2", "xz", "lzma"])
def test_joblib_by_content(tmp_path: Path, compress):
    path = tmp_path / "model.pkl"  # the name says pickle; the bytes say joblib
    joblib.dump(fitted_logreg(), path, compress=compress)
    info = detect_format(path)
    assert info.format == "joblib"
    assert info.compression == (None if compress == 0 else compress)


def test_skops_by_content(tmp_path: Path):
    import skops.io as sio

    path = tmp_path / "model.joblib"
    sio.dump(fitted_logreg(), path)
    assert detect_format(path).format == "skops"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"name,age\nann,31\n", "looks like a text file"),
        (b'{"coef": [1, 2]}', r"text file \(JSON\?\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"\x80\x07K\x01.", "protocol 7 is not supported"),
        (b"\x1f\x8b\x08\x00\x00\x00", "truncated gzip-compressed joblib stream"),
    ],
)
def test_non_models_are_named(tmp_path: Path, data: bytes, reason: str):
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    with pytest.raises(RejectedFile, match=reason):
        detect_format(path)


def test_truncated_pickle_names_the_byte(tmp_path: Path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted_logreg(), protocol=4)[:200])
    with pytest.raises(RejectedFile, match="truncated pickle stream at byte 200"):
        detect_format(path)


def test_zip_that_is_not_skops(tmp_path: Path):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hi")
    path = tmp_path / "model.skops"
    path.write_bytes(buf.getvalue())
    with pytest.raises(RejectedFile, match="not a skops model"):
        detect_format(path)
