"""Hostile data files met by the shared reader, through the commands a user runs.

Each file once ended in an unexpected error (exit 70), a raw Python exception
(exit 1, recorded only as a failed run), a wrong reason, or a model silently
trained on numbers read as text. Each case runs as a real subprocess: the
command refuses in one sentence that names the file and says what is wrong
(exit 2), writes nothing, and leaves one ``input.refused`` event, or, for a
file it can read without guessing, does its work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry

F = ["age", "income", "debt"]
ROWS = 300  # beyond the first 200 lines, which the reader splits itself


def _frame(n: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": np.round(rng.normal(50_000, 12_000, n), 2),
            "debt": np.round(rng.uniform(0, 1, n), 4),
        }
    )
    df["y"] = (df["debt"] + rng.normal(0, 0.2, n) > 0.5).astype(int)
    return df


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """``bin:1`` and ``bin2:1`` (logistic regressions logged from a notebook, so they record
    dtypes, not kinds) and ``pipe:1`` (one-hot on the text column ``city``)."""
    home = tmp_path_factory.mktemp("hostile") / "reg"
    df = _frame(600, 1)
    reg = Registry(home)
    try:
        log_estimator(reg, LogisticRegression(max_iter=1000).fit(df[F], df["y"]), "bin", X=df[F])
        log_estimator(
            reg, LogisticRegression(C=0.1, max_iter=1000).fit(df[F], df["y"]), "bin2", X=df[F]
        )
        city = df.assign(city=np.random.default_rng(2).choice(["Paris", "Oslo", "Rome"], len(df)))
        pipe = Pipeline(
            [
                (
                    "ct",
                    ColumnTransformer(
                        [
                            ("oh", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                            ("num", StandardScaler(), F),
                        ]
                    ),
                ),
                ("lr", LogisticRegression()),
            ]
        )
        cols = [*F, "city"]
        log_estimator(reg, pipe.fit(city[cols], city["y"]), "pipe", X=city[cols])
    finally:
        reg.close()
    return home


def _good_text() -> str:
    return _frame().to_csv(index=False, lineterminator="\n")


def _state(home: Path) -> tuple[int, int, int]:
    """The audit head, and the versions and runs stored."""
    reg = Registry(home)
    try:
        with reg.read() as cur:
            versions = int(cur.execute("SELECT count(*) FROM versions").fetchall()[0][0])
            runs = int(cur.execute("SELECT count(*) FROM runs").fetchall()[0][0])
        return reg.audit_head(), versions, runs
    finally:
        reg.close()


def _refused(run_cli, home: Path, args: list[str], path: Path, door: str, **kw) -> str:
    """Run a command that must refuse ``path``: exit 2, one sentence, one ``input.refused``
    event and nothing else written. Returns the sentence."""
    head, versions, runs = _state(home)
    proc = run_cli(*args, "--registry", str(home), timeout=600, **kw)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("modelward: error: "), proc.stderr
    sentence = last.removeprefix("modelward: error: ")
    after, versions_after, runs_after = _state(home)
    assert (versions_after, runs_after) == (versions, runs)  # not even a failed run
    assert after == head + 1  # the refusal's own event, and nothing else
    reg = Registry(home)
    try:
        (event,) = reg.audit_events(action="input.refused", limit=1)
    finally:
        reg.close()
    assert event.entity_id == os.path.abspath(path)
    assert event.after["door"] == door
    assert event.reason == sentence
    return sentence


def _train(path: Path) -> list[str]:
    return ["train", "--data", str(path), "--target", "y", "--estimator", "LogisticRegression",
            "--name", "t"]  # fmt: skip


# --- 1. a symbolic link loop ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["score", "validate", "explain", "labels", "train", "compare"])
def test_a_symlink_loop_is_refused_by_every_command(run_cli, home, tmp_path, command):
    """It used to end in 'unexpected error: OSError: [Errno 40]' (exit 70), or 'training
    failed: OSError' (exit 1); monitor and drift already said it in one sentence."""
    loop = tmp_path / "loop.csv"
    os.symlink("loop2.csv", loop)
    os.symlink("loop.csv", tmp_path / "loop2.csv")
    data = ["--data", str(loop)]
    args, door = {
        "score": (["score", "bin:1", *data, "-o", str(tmp_path / "out.csv")], "score"),
        "validate": (["validate", "bin:1", *data, "--target", "y"], "validate"),
        "explain": (["explain", "bin:1", *data, "--target", "y"], "explain"),
        "labels": (["labels", "bin:1", *data, "--id", "id"], "labels"),
        "train": (_train(loop), "train"),
        "compare": (["compare", "bin:1", "bin2:1", *data, "--target", "y"], "compare"),
    }[command]
    sentence = _refused(run_cli, home, args, loop, door)
    assert sentence == (
        f"cannot read {loop}: Too many levels of symbolic links (a symbolic link that leads "
        "back to itself); point the link at the data file"
    )


# --- 2. malformed CSV beyond the first lines ------------------------------------------------


def _cut_short(text: str) -> str:
    return text.rstrip("\n")[:-3]  # the last line loses its last field and a digit


def _missing_field(text: str) -> str:
    return text.rstrip("\n").rsplit(",", 1)[0] + "\n"


def _mixed_line_ends(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    return "".join(line + ("\r\n" if i >= 250 else "\n") for i, line in enumerate(lines))


def _unclosed_quote(text: str) -> str:
    return text + '30,"1,0.5,1\n'


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            _cut_short,
            "row 300 has 3 field(s) but the header has 4, and it is the last line, without a "
            "line end: the file looks cut short; copy it again",
        ),
        (
            _missing_field,
            "row 300 has 3 field(s) but the header has 4; every row needs one field per column",
        ),
        (
            _mixed_line_ends,
            "mixes line ends: line 1 ends with LF (\\n) but line 251 with CRLF (\\r\\n); "
            "save it with one kind of line end",
        ),
        (
            _unclosed_quote,
            "a quote opened in row 301 is never closed (a '\"' that starts a field needs one "
            "that ends it); close it or remove it",
        ),
    ],
    ids=["cut short", "missing field", "mixed line ends", "unclosed quote"],
)
def test_malformed_csv_says_what_is_wrong(run_cli, home, tmp_path, make, expected):
    """DuckDB's sniffer gave up on each, and its list of possible fixes (the maximum line
    size among them) read as 'a line is longer than the limit of 1 MiB' for a 13 KB file."""
    path = tmp_path / "bad.csv"
    path.write_bytes(make(_good_text()).encode())
    sentence = _refused(run_cli, home, _train(path), path, "train")
    sep = " " if expected.startswith("mixes") else ": "
    assert sentence == f"bad.csv{sep}{expected}"
    assert "data_max_field_bytes" not in sentence


def test_a_really_long_line_still_names_the_line_limit(run_cli, home, tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes((_good_text() + f'30,"{"9" * 70_000}",0.5,1\n').encode())
    sentence = _refused(
        run_cli,
        home,
        _train(path),
        path,
        "train",
        env={"MODELWARD_DATA_MAX_FIELD_BYTES": "65536"},
    )
    assert sentence == (
        "long.csv: a line is longer than the limit of 65536 bytes (data_max_field_bytes)"
    )


# --- 3. column names that differ only by case -----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_column_names_that_differ_only_by_case(run_cli, home, tmp_path, fmt):
    """CSV: 'Binder Error: read_csv "names" must have unique values'; Parquet: 'its column
    names could not be read exactly' (DuckDB renamed the second to 'AGE_1')."""
    df = _frame().assign(AGE=1.0)
    path = tmp_path / f"case.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    sentence = _refused(run_cli, home, _train(path), path, "train")
    assert sentence == f"case.{fmt}: columns 'age' and 'AGE' differ only by case; rename one"


# --- 4. and 5. numbers written with commas, inf as text -------------------------------------


def _decimal_commas(path: Path) -> str:
    df = _frame().astype({"debt": object})
    df["debt"] = [f"{v:.4f}".replace(".", ",") for v in _frame()["debt"]]
    df.to_csv(path, index=False)  # quoted: "0,4565"
    return f"'debt' holds {ROWS} number(s) written with a comma (row 1: {df['debt'][0]!r}"


def _thousands(path: Path) -> str:
    df = _frame().astype({"income": object})
    df["income"] = [f"{v:,.2f}" for v in _frame()["income"]]
    df.to_csv(path, index=False)  # quoted: "56,748.77"
    return f"'income' holds {ROWS} number(s) written with a comma (row 1: {df['income'][0]!r}"


def _inf_text(path: Path) -> str:
    df = _frame().astype({"income": object})
    df.loc[::10, "income"] = "inf"  # DuckDB's sniffer types the column as text
    df.to_csv(path, index=False)
    return f"'income' holds {ROWS // 10} infinite value(s) (rows 1, 11, 21, 31, 41)"


_COMMA_ADVICE = (
    "which could be decimal commas or thousands separators; write them with a '.' decimal "
    "point and no thousands separator"
)


@pytest.mark.parametrize("write", [_decimal_commas, _thousands], ids=["decimal", "thousands"])
def test_train_refuses_numbers_written_with_commas(run_cli, home, tmp_path, write):
    """A ',' file with "0,4565" or "56,748.77" in quotes registered a model on that column
    as 300 categories, without a word (exit 0); drift and monitor refused the file."""
    path = tmp_path / "commas.csv"
    start = write(path)
    sentence = _refused(run_cli, home, _train(path), path, "train")
    assert sentence.startswith(f"commas.csv: column {start}")
    assert sentence.endswith(_COMMA_ADVICE)


@pytest.mark.parametrize("command", ["validate", "explain", "compare"])
@pytest.mark.parametrize("write", [_decimal_commas, _thousands, _inf_text])
def test_validate_explain_compare_refuse_at_the_door(run_cli, home, tmp_path, command, write):
    """They passed scikit-learn's exceptions through, recorded only as a failed run (exit 1):
    'could not convert string to float', 'Input X contains infinity'."""
    path = tmp_path / "data.csv"
    start = write(path)
    refs = ["bin:1", "bin2:1"] if command == "compare" else ["bin:1"]
    args = [command, *refs, "--data", str(path), "--target", "y"]
    sentence = _refused(run_cli, home, args, path, command)
    assert sentence.startswith(f"data.csv: column {start}")
    if write is _inf_text:
        assert sentence.endswith("; a model can use only finite numbers")
    else:
        assert sentence.endswith(_COMMA_ADVICE)


def test_train_names_the_users_file_for_inf_as_text(run_cli, home, tmp_path):
    """The refusal named the training snapshot ('snapshot.parquet'), or, before that,
    was scikit-learn's 'could not be fitted … Input X contains infinity' (exit 1)."""
    path = tmp_path / "infs.csv"
    start = _inf_text(path)
    proc = run_cli(*_train(path), "--registry", str(home), timeout=600)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"modelward: error: infs.csv: column {start}; a model can use only finite numbers"
    )


def test_a_text_feature_the_file_holds_as_integers_is_read_as_text(run_cli, home, tmp_path):
    """A pipeline one-hot encodes 'city' (text at training); a file whose city column holds
    0/1/2 failed with "TypeError: ufunc 'isnan' not supported" (exit 1). The model is given
    the column as text, in the type it was fitted on, as scoring gives it: '0' is a city the
    encoder never saw, which it ignores (handle_unknown='ignore')."""
    df = _frame().assign(city=np.arange(ROWS) % 3)
    path = tmp_path / "cities.csv"
    df.to_csv(path, index=False)
    proc = run_cli(
        *("validate", "pipe:1", "--data", str(path), "--target", "y", "--no-store"),
        *("--registry", str(home), "--json"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"] == ROWS and 0.5 < out["metrics"]["roc_auc"] <= 1
