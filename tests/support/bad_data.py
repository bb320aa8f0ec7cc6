"""A corpus of bad data files, written on demand (no binary files are kept in git).

:func:`write_corpus` writes every file into a folder and returns what each is
and what every data path must do with it. The model they are presented to is
trained on :func:`write_good` (``age, income, debt_ratio`` and a 0/1
``target``).

Expectations, per path: ``refuse`` (one sentence, nothing recorded), ``flag``
(accepted, with row-level flags in the result), ``accept`` (a sound file read
correctly), ``either`` (accepted or refused, but never with a traceback or a
raw warning).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = ("age", "income", "debt_ratio")
TARGET = "target"
PATHS = ("inbox", "train", "drift", "monitor", "score")
AUDITED = ("train", "monitor", "score")
"""The processes that work on a registry: each refusal leaves one ``input.refused`` event."""


@dataclass(frozen=True)
class BadFile:
    """One file of the corpus: its name, what is wrong, and what each path must do."""

    name: str
    kind: str
    expect: dict[str, str] = field(default_factory=dict)

    def expected(self, path: str) -> str:
        if path == "score" and path not in self.expect:
            path = "monitor"  # the same reader and columns; a flag there is a row rejected here
        return self.expect.get(path, self.expect.get("*", "refuse"))


def _rows(n: int, seed: int = 0) -> list[tuple[int, float, float, int]]:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = np.round(rng.normal(50_000, 12_000, n), 2)
    debt = np.round(rng.uniform(0, 1, n), 4)
    target = (debt + rng.normal(0, 0.2, n) > 0.5).astype(int)
    return [
        (int(a), float(i), float(d), int(t))
        for a, i, d, t in zip(age, income, debt, target, strict=True)
    ]


def _csv(
    rows: list[tuple[object, ...]], header: tuple[str, ...] = (*FEATURES, TARGET), sep: str = ","
) -> str:
    lines = [sep.join(header)]
    lines += [sep.join(str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def write_good(path: Path, n: int = 2000, seed: int = 0) -> Path:
    """A sound training/reference file."""
    path.write_text(_csv(_rows(n, seed)), encoding="utf-8")
    return path


def _parquet(path: Path, columns: dict[str, object]) -> None:
    pq.write_table(pa.table(columns), path)


def write_corpus(folder: Path, *, rows: int = 300) -> list[BadFile]:
    """Write the corpus into ``folder``; return its files, in writing order."""
    folder.mkdir(parents=True, exist_ok=True)
    base = _rows(rows, seed=7)
    out: list[BadFile] = []

    def add(name: str, kind: str, write: Callable[[Path], None], **expect: str) -> None:
        write(folder / name)
        out.append(BadFile(name, kind, expect))

    def text(s: str, enc: str = "utf-8") -> Callable[[Path], None]:
        return lambda p: p.write_bytes(s.encode(enc))

    def raw(b: bytes) -> Callable[[Path], None]:
        return lambda p: p.write_bytes(b)

    def with_cell(col: int, row: int, value: str, every: int = 0) -> str:
        rs = [list(map(str, r)) for r in base]
        rs[row][col] = value
        if every:
            for i in range(row, len(rs), every):
                rs[i][col] = value
        return _csv([tuple(r) for r in rs])

    good = _csv(base)
    add("empty.csv", "empty file", raw(b""))
    add("header_only.csv", "header only", text("age,income,debt_ratio,target\n"))
    add("blank_lines.csv", "only empty lines", text("\n\n\n"))
    add(
        "semicolon_decimal_comma.csv",
        "';' with decimal commas (read as numbers, not one column)",
        text(
            _csv(
                [(a, str(i).replace(".", ","), str(d).replace(".", ","), t) for a, i, d, t in base],
                sep=";",
            )
        ),
        **{"*": "accept"},
    )
    add(
        "semicolon_mixed_decimal.csv",
        "';' with decimal commas and points mixed",
        text(
            _csv(
                [
                    (a, str(i).replace(".", ",") if k % 2 else str(i), str(d), t)
                    for k, (a, i, d, t) in enumerate(base)
                ],
                sep=";",
            )
        ),
    )
    add(
        "semicolon_thousands.csv",
        "';' with '1,234' (decimal comma or thousands?)",
        text(_csv([(a, f"{int(i):,}", 1, t) for a, i, d, t in base], sep=";")),
    )
    add(
        "ambiguous_delimiter.csv",
        "',' and ';' split every line alike",
        text("age;x,income\n" + "".join(f"{a};1,{i}\n" for a, i, _, _ in base)),
    )
    # Text in a column of numbers: the file is refused where statistics are drawn from
    # it; scoring takes it and rejects those rows, each with its reason.
    add(
        "na_text.csv",
        "'N/A' in a numeric column",
        text(with_cell(1, 3, "N/A", every=17)),
        score="flag",
    )
    add(
        "abc_text.csv",
        "'abc' in a numeric column",
        text(with_cell(0, 5, "abc", every=23)),
        score="flag",
    )
    add(
        "thousands_text.csv",
        "'1,234' in a numeric column",
        text(with_cell(1, 2, '"1,234"', every=13)),
        score="flag",
    )
    late = [list(map(str, r)) for r in _rows(30_000, seed=3)]
    late[25_000][0] = "abc"
    add(
        "late_text.csv",
        "text in a numeric column after 25,000 rows",
        text(_csv([tuple(r) for r in late])),
        score="flag",
    )
    add(
        "nan_inf.csv",
        "NaN, inf and -inf in numeric columns",
        text(good + "30,nan,0.5,1\n30,inf,0.5,1\n40,-inf,0.2,0\n"),
        inbox="flag",
        **{"*": "either"},
    )
    add(
        "overflow_1e309.csv",
        "1e309 (overflows to inf)",
        text(good + "30,1e309,0.5,1\n"),
        inbox="flag",
        **{"*": "either"},
    )
    add(
        "out_of_range.csv",
        "age -5 and 250, debt_ratio 1e308, target 2",
        text(good + "-5,50000,0.5,0\n250,50000,1e308,2\n"),
        **{"*": "either"},
    )
    add(
        "extra_column.csv",
        "an extra column",
        text(_csv([(*r, "x") for r in base], header=(*FEATURES, TARGET, "note"))),
        train="either",
        inbox="flag",
        monitor="flag",
    )
    add(
        "missing_column.csv",
        "the income column is missing",
        text(_csv([(a, d, t) for a, _, d, t in base], header=("age", "debt_ratio", TARGET))),
        train="either",
    )
    add(
        "duplicate_column.csv",
        "a duplicated column name",
        text(_csv([(*r, 1) for r in base], header=(*FEATURES, TARGET, "age"))),
    )
    add(
        "wide_100k.csv",
        "100,000 columns",
        text(
            ",".join(f"c{i}" for i in range(100_000))
            + "\n"
            + ",".join("1" for _ in range(100_000))
            + "\n"
        ),
    )
    ragged = good.splitlines()
    ragged[10] = ragged[10].rsplit(",", 1)[0]
    add("ragged.csv", "a row with a missing field", text("\n".join(ragged) + "\n"))
    late_ragged = _csv(_rows(30_000, seed=4)).splitlines()
    late_ragged[28_000] += ",7"
    add(
        "ragged_late.csv",
        "a row with an extra field after 28,000 rows",
        text("\n".join(late_ragged) + "\n"),
    )
    add(
        "nul_bytes.csv",
        "NUL bytes",
        raw(good.encode().replace(b"\n3", b"\n\x003", 1) + b"1,\x00,2,0\n"),
    )
    add(
        "lookalike_age.csv",
        "'âge' for 'age'",
        text(good.replace("age,", "âge,", 1)),
        train="either",
        drift="either",
    )
    add(
        "lookalike_space.csv",
        "' income ' for 'income'",
        text(good.replace(",income,", ", income ,", 1)),
    )
    add(
        "lookalike_zwsp.csv",
        "a zero-width space in 'debt_ratio'",
        text(good.replace("debt_ratio", "debt\u200b_ratio", 1)),
    )
    add("empty_name.csv", "a column without a name", text(good.replace("income", "", 1)))
    cols = {c: [r[k] for r in base] for k, c in enumerate((*FEATURES, TARGET))}
    add(
        "parquet_strings.parquet",
        "text in a numeric Parquet column",
        lambda p: _parquet(
            p,
            {
                **cols,
                "income": [
                    ("abc" if k % 11 == 0 else str(v)) for k, v in enumerate(cols["income"])
                ],
            },
        ),
        score="flag",
    )
    add(
        "parquet_numbers_as_text.parquet",
        "numbers stored as text in Parquet",
        lambda p: _parquet(p, {**cols, "income": [str(v) for v in cols["income"]]}),
        train="either",
        drift="either",
        score="flag",
    )
    add(
        "parquet_missing_column.parquet",
        "a Parquet file without the income column",
        lambda p: _parquet(p, {k: v for k, v in cols.items() if k != "income"}),
        train="either",
    )
    add("csv_named_parquet.parquet", "CSV text named .parquet", text(good))
    add(
        "parquet_zero_rows.parquet",
        "a Parquet file with 0 rows",
        lambda p: _parquet(p, {c: pa.array([], pa.float64()) for c in (*FEATURES, TARGET)}),
    )
    add(
        "parquet_list.parquet",
        "a list column",
        lambda p: _parquet(p, {**cols, "tags": [[1, 2]] * len(base)}),
    )
    add(
        "parquet_struct.parquet",
        "a struct column",
        lambda p: _parquet(p, {**cols, "addr": [{"zip": 1, "city": "x"}] * len(base)}),
    )

    def truncated(p: Path) -> None:
        buf = io.BytesIO()
        pq.write_table(pa.table(cols), buf)
        p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])

    add("truncated.parquet", "a truncated Parquet file", truncated)
    add(
        "latin1.csv",
        "Latin-1 text (not UTF-8)",
        text(good.replace("age,", "âge_é,", 1) + "30,1,0.5,0\n", "latin-1"),
    )
    add("utf16.csv", "UTF-16 text", text(good, "utf-16"))
    add(
        "bom_utf8.csv",
        "UTF-8 with a byte-order mark",
        raw(b"\xef\xbb\xbf" + good.encode()),
        **{"*": "accept"},
    )
    add("field_32mib.csv", "a 32 MiB field", text(good + f'30,1,0.5,"{"x" * (32 << 20)}"\n'))
    add("gzip_named_csv.csv", "gzip bytes named .csv", raw(gzip.compress(good.encode())))
    add("zip_named_csv.csv", "ZIP bytes named .csv", raw(b"PK\x03\x04" + b"\x00" * 60))

    def parquet_named_csv(p: Path) -> None:
        buf = io.BytesIO()
        pq.write_table(pa.table(cols), buf)
        p.write_bytes(buf.getvalue())

    add("parquet_named_csv.csv", "Parquet bytes named .csv", parquet_named_csv)
    add(
        "id_column.csv",
        "a loan_id column (unique, increasing): train warns",
        text(
            _csv(
                [(k + 1000, *r) for k, r in enumerate(base)], header=("loan_id", *FEATURES, TARGET)
            )
        ),
        train="accept",
        drift="either",
        inbox="flag",
        monitor="flag",
    )
    add(
        "parquet_field_2mib.parquet",
        "a 2 MiB text value in a Parquet column",
        lambda p: _parquet(
            p, {**cols, "note": ["x" * (2 << 20) if k == 5 else "ok" for k in range(len(base))]}
        ),
    )

    def parquet_no_stats(p: Path) -> None:
        note = ["y" * (2 << 20) if k == 9 else "ok" for k in range(len(base))]
        pq.write_table(pa.table({**cols, "note": note}), p, write_statistics=False)

    add(
        "parquet_field_no_stats.parquet",
        "a 2 MiB text value in a Parquet column without statistics",
        parquet_no_stats,
    )
    add(
        "parquet_2500_columns.parquet",
        "a Parquet file with 2,500 columns",
        lambda p: _parquet(p, {**cols, **{f"c{k}": [0.0] * len(base) for k in range(2500)}}),
    )
    add(
        "label_outside_classes.csv",
        "labels 2 and 9 where the model knows 0 and 1",
        text(
            _csv(
                [(*r[:3], 2 if k % 50 == 0 else 9 if k == 7 else r[3]) for k, r in enumerate(base)]
            )
        ),
        train="either",
        drift="either",
        inbox="flag",
        monitor="either",
    )
    add(
        "continuous_target.csv",
        "a continuous (integer) column as the target",
        text(_csv([(*r[:3], int(r[1])) for r in base])),
        drift="either",
        inbox="flag",
        monitor="either",
    )
    return out


# --- Presenting the corpus to every data path ---------------------------------------------


@dataclass
class Outcome:
    """What one path did with one file."""

    file: str
    path: str
    expected: str
    accepted: bool
    message: str = ""
    traceback: bool = False
    warning: bool = False
    one_sentence: bool = True
    committed: int = 0
    audited: int = 0  # input.refused events naming this file at this path's door

    @property
    def silent(self) -> bool:
        """Accepted although it should have been refused."""
        return self.accepted and self.expected == "refuse"


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    import os
    import subprocess
    import sys

    e = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=timeout,
    )


_INFO = re.compile(r"^modelward: (?!error:|unexpected|warning:)")


def _judge(file: BadFile, path: str, proc: Any) -> Outcome:
    err = proc.stderr
    # Progress lines are indented; "modelward: waiting for …" says another process
    # holds the registry. What is left is what the command said.
    said = [
        ln
        for ln in err.splitlines()
        if ln.strip() and not ln.startswith("  ") and not _INFO.match(ln)
    ]
    refused = proc.returncode != 0
    return Outcome(
        file.name,
        path,
        file.expected(path),
        accepted=not refused,
        message=said[-1] if said else "",
        traceback="Traceback (most recent call last)" in err + proc.stdout,
        warning="Warning" in err,
        one_sentence=(not refused)
        or (
            len(said) == 1
            and said[0].startswith("modelward: error:")
            and "unexpected" not in said[0]
        ),
    )


def setup_registry(home: Path, good: Path) -> None:
    """A registry with ``credit`` trained on ``good`` (champion) and profiled on it."""
    for args in (
        (
            "train",
            "--data",
            str(good),
            "--target",
            TARGET,
            "--estimator",
            "LogisticRegression",
            "--name",
            "credit",
        ),
        ("alias", "set", "credit:1", "champion", "--reason", "corpus"),
        ("monitor", "credit@champion", "--reference", str(good), "--target", TARGET),
    ):
        proc = _cli(*args, "--registry", str(home))
        if proc.returncode != 0:
            raise RuntimeError(f"setup failed: {args[0]}: {proc.stderr}")


def run_subprocess_paths(
    home: Path, good: Path, folder: Path, files: list[BadFile], *, workers: int = 3
) -> list[Outcome]:
    """``train``, ``drift`` and ``monitor`` as real processes, once per file and path."""
    from concurrent.futures import ThreadPoolExecutor

    scored = folder.parent / "scored"
    scored.mkdir(exist_ok=True)

    def one(job: tuple[int, BadFile, str]) -> Outcome:
        i, f, path = job
        p = str(folder / f.name)
        if path == "train":
            args: tuple[str, ...] = (
                "train",
                "--data",
                p,
                "--target",
                TARGET,
                "--estimator",
                "LogisticRegression",
                "--name",
                f"bad{i}",
                "--registry",
                str(home),
            )
        elif path == "drift":
            args = ("drift", "--reference", str(good), "--current", p)
        elif path == "score":
            out = str(scored / f"{i}.csv")
            args = ("score", "credit@champion", "--data", p, "-o", out, "--registry", str(home))
        else:
            args = (
                "monitor",
                "credit@champion",
                "--batch",
                p,
                "--name",
                f"bad{i}",
                "--registry",
                str(home),
            )
        return _judge(f, path, _cli(*args))

    jobs = [(i, f, path) for i, f in enumerate(files) for path in PATHS if path != "inbox"]
    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(one, jobs))
    # What the refused runs left behind: a model version, a monitored batch.
    from modelward.core.registry import Registry

    reg = Registry(home)
    try:
        with reg.read() as cur:
            models = {r[0] for r in cur.execute("SELECT name FROM models").fetchall()}
            batches = {r[0] for r in cur.execute("SELECT name FROM mon_batches").fetchall()}
            # a training that started, then failed on the data (a model that cannot be
            # fitted to it), is audited as its run's failure (run.failed)
            failed_runs = {
                json.loads(r[0])["name"]
                for r in cur.execute(
                    "SELECT params FROM runs WHERE kind = 'train' AND status = 'failed'"
                ).fetchall()
            }
        refusals = [
            (e.entity_id, (e.after or {}).get("door"))
            for e in reg.audit_events(action="input.refused", limit=None)
        ]
    finally:
        reg.close()
    for o, (i, f, path) in zip(outcomes, jobs, strict=True):
        o.audited = refusals.count((str((folder / f.name).absolute()), path))
        if path == "train" and f"bad{i}" in failed_runs:
            o.audited += 1
        if not o.accepted:
            if path == "train" and f"bad{i}" in models:
                o.committed = 1
            if path == "monitor" and f"bad{i}" in batches:
                o.committed = 1
    return outcomes


def run_inbox(
    home: Path, folder: Path, files: list[BadFile], *, timeout: float = 300
) -> tuple[list[Outcome], int]:
    """Copy every file into a real watched data inbox of ``credit``; wait for every verdict.

    Returns the outcomes and the number of ``ingest.rejected`` audit events written.
    """
    import hashlib
    import shutil

    from modelward.core.registry import Registry
    from modelward.core.watch import DATA, FolderWatcher, add_folder

    reg = Registry(home, idle_release=0.2)
    inbox = home.parent / "corpus-inbox"
    add_folder(reg, inbox, DATA, model_name="credit", options={"label_column": TARGET})
    before = len(reg.audit_events(action="ingest.rejected"))
    w = FolderWatcher(reg, settle=0.3, rescan_interval=60)
    w.start()
    try:
        for f in files:
            shutil.copyfile(folder / f.name, inbox / f.name)
        done = w.wait_for(lambda r: len({Path(x.path).name for x in r}) >= len(files), timeout)
        results = {Path(x.path).name: x for x in w.results}
    finally:
        w.stop()
    events = len(reg.audit_events(action="ingest.rejected")) - before
    with reg.read() as cur:
        stored = {r[0] for r in cur.execute("SELECT fingerprint FROM datasets").fetchall()}
    reg.close()
    out = []
    for f in files:
        r = results.get(f.name)
        accepted = r is not None and r.status == "registered"
        sha = hashlib.sha256((folder / f.name).read_bytes()).hexdigest()
        detail = "" if r is None else str(getattr(r, "detail", ""))
        out.append(
            Outcome(
                f.name,
                "inbox",
                f.expected("inbox"),
                accepted=accepted,
                message=detail
                if r is not None
                else "no verdict" + ("" if done else " (timed out)"),
                traceback="Traceback" in detail,
                warning="Warning" in detail,
                one_sentence=accepted or (bool(detail) and "\n" not in detail),
                committed=int(not accepted and sha in stored),
            )
        )
    return out, events
