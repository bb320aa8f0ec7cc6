"""Triage of model files by their bytes, never by their name.

Nothing here unpickles anything: it reads magic numbers and walks pickle
opcodes with :mod:`pickletools` (which only parses, it never executes).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import pickletools
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from modelward.core.errors import RejectedFile

SKOPS = "skops"
PICKLE = "pickle"
JOBLIB = "joblib"
XGBOOST_JSON = "xgboost-json"
XGBOOST_UBJ = "xgboost-ubj"
LIGHTGBM_TEXT = "lightgbm-text"
CATBOOST_CBM = "catboost-cbm"
CATBOOST_JSON = "catboost-json"
ONNX = "onnx"
NATIVE_FORMATS = (XGBOOST_JSON, XGBOOST_UBJ, LIGHTGBM_TEXT, CATBOOST_CBM, CATBOOST_JSON, ONNX)
"""Models saved by their own library in a format that is data, not code (never pickle)."""
FORMATS = (SKOPS, PICKLE, JOBLIB, *NATIVE_FORMATS)

# How many decompressed bytes we look at to classify a compressed stream.
_SNIFF = 1 << 20


@dataclass(frozen=True)
class FormatInfo:
    """What a model file is, as far as its bytes tell without running it."""

    format: str  # skops | pickle | joblib | one of NATIVE_FORMATS
    compression: str | None = None  # zlib gzip bz2 xz lzma lz4, for joblib
    protocol: int | None = None  # pickle protocol, where known

    @property
    def native(self) -> bool:
        """Saved by its own library (XGBoost, LightGBM, CatBoost, ONNX), not pickled."""
        return self.format in NATIVE_FORMATS

    @property
    def label(self) -> str:
        parts = [self.format]
        if self.compression:
            parts.append(f"{self.compression}-compressed")
        if self.protocol is not None:
            parts.append(f"pickle protocol {self.protocol}")
        return ", ".join(parts)


# Files people drop by mistake, named by their magic numbers.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy .npy array file"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x7fELF", "an executable program (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"#!", "a script"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


_XGB_JSON = re.compile(rb'^\s*\{\s*"learner"\s*:')
_XGB_UBJ = re.compile(rb"^\{(?:[iU].|I..|l....|L........)learner", re.DOTALL)
_LGB_TEXT = re.compile(rb"^tree\r?\nversion=v\d")
# CatBoost writes its keys sorted: a model with categorical features starts with its CTR tables.
_CATBOOST_JSON = re.compile(
    rb'^\s*\{\s*"(?:ctr_data|features_info|model_info|oblivious_trees)"\s*:'
)
# Fields of onnx.ModelProto (onnx.proto): numbers and wire types.
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("varint runs off the end")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _looks_like_onnx(head: bytes, size: int) -> bool:
    """An ONNX ``ModelProto`` by its first protobuf fields: ``ir_version``, then known fields.

    Walks the top-level fields of the sniffed prefix (a parse of tags and
    lengths only); a field running past the prefix is fine when the file is
    longer. The library's own parser decides the rest, in the sandbox.
    """
    if not head.startswith(b"\x08"):
        return False
    pos = 0
    seen: set[int] = set()
    try:
        while pos < len(head):
            key, pos = _varint(head, pos)
            field, wire = key >> 3, key & 7
            if _ONNX_FIELDS.get(field) != wire:
                return False
            seen.add(field)
            if wire == 0:
                value, pos = _varint(head, pos)
                if field == 1 and not 1 <= value <= 100:
                    return False
            else:
                length, pos = _varint(head, pos)
                pos += length
                if pos > len(head) and pos > size:
                    return False
    except ValueError:
        return len(head) < size and 1 in seen and len(seen) >= 2
    return 1 in seen and (7 in seen or len(head) < size)


def sniff_native(head: bytes, path: Path | None = None) -> str | None:
    """The native kind of a file from its first bytes (``head``), or ``None``.

    ``path`` gives the file's size for a prefix that ends inside a field.
    """
    if not head:
        return None
    if head.startswith(b"CBM1"):
        return CATBOOST_CBM
    if _LGB_TEXT.match(head):
        return LIGHTGBM_TEXT
    if _XGB_UBJ.match(head):
        return XGBOOST_UBJ
    if head.lstrip()[:1] == b"{":
        if _XGB_JSON.match(head):
            return XGBOOST_JSON
        if _CATBOOST_JSON.match(head):
            return CATBOOST_JSON
        return None
    size = len(head)
    if path is not None:
        with contextlib.suppress(OSError):
            size = path.stat().st_size
    if _looks_like_onnx(head, size):
        return ONNX
    return None


def native_hint(module: str) -> str | None:
    """How to save a pickled model of ``module``'s library in its own format, or ``None``."""
    top = module.split(".")[0]
    if top == "xgboost":
        return 'save XGBoost models with model.save_model("model.json") and register that file'
    if top == "lightgbm":
        return (
            'save LightGBM models with model.booster_.save_model("model.txt") '
            "and register that file"
        )
    if top in ("catboost", "_catboost"):
        return 'save CatBoost models with model.save_model("model.cbm") and register that file'
    return None


def _looks_like(head: bytes) -> str:
    """A short description of bytes that are not a model, for the rejection reason."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    sample = head[:4096]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if text and printable / len(text) > 0.95:
        stripped = text.lstrip()
        if stripped[:1] in "{[":
            return "a text file (JSON?)"
        if "," in text or ";" in text or "\t" in text:
            return "a text file (CSV?)"
        return "a text file"
    return "binary data of an unknown kind"


def _compression_of(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"ZF"):  # joblib's legacy zlib container
        return "zlib"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head.startswith(b"\x5d\x00\x00"):  # raw .lzma (LZMA_ALONE) header
        return "lzma"
    return None


def _decompressed_head(path: Path, compression: str) -> bytes:
    """The first bytes of a compressed stream, without reading the whole file."""
    try:
        if compression == "gzip":
            with gzip.open(path, "rb") as g:
                return g.read(_SNIFF)
        if compression == "bz2":
            with bz2.open(path, "rb") as b:
                return b.read(_SNIFF)
        if compression in ("xz", "lzma"):
            with lzma.open(path, "rb") as x:
                return x.read(_SNIFF)
        if compression == "zlib":
            raw = path.read_bytes()[: 4 * _SNIFF]
            if raw.startswith(b"ZF"):  # joblib < 0.10: 'ZF' + 16-byte length + zlib
                raw = raw[18:]
            d = zlib.decompressobj()
            return d.decompress(raw, _SNIFF)
        if compression == "lz4":
            try:
                import lz4.frame  # type: ignore[import-not-found]
            except ImportError:
                raise RejectedFile(
                    "lz4-compressed joblib file, but the lz4 package is not installed"
                ) from None
            with lz4.frame.open(path, "rb") as z:
                return bytes(z.read(_SNIFF))
    except EOFError:
        size = path.stat().st_size
        raise RejectedFile(
            f"truncated {compression}-compressed joblib stream at byte {size}"
        ) from None
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as e:
        raise RejectedFile(f"corrupt {compression} stream: {e}") from None
    raise RejectedFile(f"unsupported compression {compression}")


def _pickle_facts(head: bytes, complete: bool) -> tuple[int | None, bool]:
    """Walk pickle opcodes of ``head``; return (protocol, uses joblib array wrappers).

    Stops at the first joblib array wrapper (raw array bytes follow it in a
    joblib stream, which ``pickletools`` cannot parse) or at the end of ``head``.
    ``complete`` says ``head`` is the whole stream, so running out is truncation.
    Raises ``RejectedFile`` if the bytes are not a pickle at all.
    """
    protocol: int | None = None
    strings: list[str] = []
    n_ops = 0
    seen_proto = 0
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(head)):
            n_ops += 1
            seen_proto = max(seen_proto, op.proto)  # protocols 0 and 1 have no PROTO opcode
            if op.name == "PROTO":
                protocol = int(arg)  # type: ignore[arg-type]
            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                mod, _, name = str(arg).partition(" ")
                if mod.startswith("joblib") and name.startswith("NumpyArrayWrapper"):
                    return (protocol if protocol is not None else seen_proto), True
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                mod, name = strings[-2], strings[-1]
                if mod.startswith("joblib") and name.startswith("NumpyArrayWrapper"):
                    return (protocol if protocol is not None else seen_proto), True
            if op.name == "STOP":
                break
    except ValueError as e:
        # Running off the end of a sniffed prefix is fine once a real pickle
        # start was parsed; a stream truncated for good is caught at load time.
        if n_ops < 2 or "opcode" in str(e) and n_ops < 8:
            raise RejectedFile(f"not a model file: it looks like {_looks_like(head)}") from None
        if complete and "opcode" not in str(e):
            raise RejectedFile(f"truncated pickle stream at byte {len(head)}") from None
    if n_ops == 0:
        raise RejectedFile(f"not a model file: it looks like {_looks_like(head)}")
    return (protocol if protocol is not None else seen_proto), False


def detect_format(path: str | os.PathLike[str]) -> FormatInfo:
    """Classify a model file by its content.

    Raises
    ------
    RejectedFile
        For empty, unreadable, unknown or corrupt files, with a specific reason.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(_SNIFF)
    except IsADirectoryError:
        raise RejectedFile("is a folder, not a model file") from None
    except OSError as e:
        raise RejectedFile(f"cannot read the file: {e.strerror or e}") from None
    if size == 0:
        raise RejectedFile("empty file (0 bytes)")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(p) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError) as e:
            raise RejectedFile(f"corrupt zip archive: {e}") from None
        if "schema.json" in names:
            return FormatInfo(SKOPS)
        raise RejectedFile("a zip archive that is not a skops model (no schema.json)")
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            raise RejectedFile(f"not a model file: it looks like {what}")
    native = sniff_native(head, p)
    if native is not None:
        return FormatInfo(native)
    compression = _compression_of(head)
    if compression is not None:
        inner = _decompressed_head(p, compression)
        if not inner:
            raise RejectedFile(f"empty {compression} stream")
        protocol, _ = _pickle_facts(inner, complete=False)
        return FormatInfo(JOBLIB, compression=compression, protocol=protocol)
    if head[:1] == b"\x80" and len(head) > 1 and head[1] > 5:
        raise RejectedFile(f"pickle protocol {head[1]} is not supported (0 to 5 are)")
    protocol, joblib_arrays = _pickle_facts(head, complete=size <= len(head))
    return FormatInfo(JOBLIB if joblib_arrays else PICKLE, protocol=protocol)
