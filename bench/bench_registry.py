"""Registry benchmarks of the foundation: registrations, listings, metric points.

Measures in one run, against baselines measured in the same run:

(a) registrations through ``modelward.api.log_model`` (a small fitted model,
    5 estimator params, 5 metrics), holding a session and opening the registry
    per call; MLflow (SQLite store, run + 5 params + 5 metrics + log_model +
    register_model) when ``--mlflow-python`` points at an MLflow virtualenv;
(b) a filtered listing of 100,000 versions (made with ``bulk_add_versions``):
    the window's search syntax, first page of 100 and the count, vs the same SQL
    run bare on DuckDB and MLflow's ``search_runs``/``search_model_versions``;
(c) 1,000,000 metric points through ``append_metrics`` vs the same numpy arrays
    inserted into a bare DuckDB table, and MLflow ``log_batch``;
(d) reading a 100,000-point history through ``metric_history`` vs the bare
    DuckDB read and MLflow ``get_metric_history``.

Usage::

    python bench/bench_registry.py --quick
    python -m venv /tmp/mlflow-venv && /tmp/mlflow-venv/bin/pip install mlflow scikit-learn
    python bench/bench_registry.py --mlflow-python /tmp/mlflow-venv/bin/python --write-docs

Results go to ``bench/results/registry-<time>.json``; ``--write-docs`` replaces
the "## Registry (foundation)" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from modelward import __version__ as mw_version
from modelward import api
from modelward.core.registry import Registry
from modelward.core.registry.bulk import VersionRecord, bulk_add_versions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "## Registry (foundation)"

FULL = {
    "registrations": 1000,
    "registrations_per_call_open": 100,
    "versions": 100_000,
    "models": 1000,
    "points": 1_000_000,
    "history": 100_000,
    "mlflow_registrations": 200,
    "mlflow_points": 100_000,
    "repeat": 7,
}
QUICK = {
    "registrations": 50,
    "registrations_per_call_open": 10,
    "versions": 5000,
    "models": 100,
    "points": 100_000,
    "history": 10_000,
    "mlflow_registrations": 10,
    "mlflow_points": 5000,
    "repeat": 3,
}
# What the window's search box sends: a broad and a narrow query.
SEARCHES = {
    "broad": "name:credit roc_auc>0.9",
    "narrow": "name:credit roc_auc>0.5 alias:champion",
}


def median_time(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- (a) registrations
def fitted_models(n: int) -> list[Any]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return [LogisticRegression(C=0.1 + i / 100, max_iter=100 + i % 7).fit(X, y) for i in range(n)]


def bench_registrations(work: Path, cfg: dict[str, int]) -> dict[str, Any]:
    models = fitted_models(cfg["registrations"])

    def one(reg: Registry, i: int, clf: Any) -> None:
        metrics = {f"m{j}": ((i * 7 + j) % 1000) / 1000 for j in range(5)}
        api.log_model(clf, f"bench-{i % 10}", metrics=metrics, registry=reg)

    reg = Registry(work / "reg-a")
    per = []
    t_all = time.perf_counter()
    with reg.session():
        for i, clf in enumerate(models):
            t = time.perf_counter()
            one(reg, i, clf)
            per.append(time.perf_counter() - t)
    total = time.perf_counter() - t_all
    # The CLI and a notebook without a session open and close the database per call.
    n_open = cfg["registrations_per_call_open"]
    per_open = []
    for i, clf in enumerate(models[:n_open]):
        t = time.perf_counter()
        one(reg, 10_000 + i, clf)
        per_open.append(time.perf_counter() - t)
    # A notebook that passes a path builds a Registry per call as well.
    per_path = []
    for clf in models[:n_open]:
        metrics = {f"m{j}": 0.5 for j in range(5)}
        t = time.perf_counter()
        api.log_model(clf, "bench-path", metrics=metrics, registry=work / "reg-a")
        per_path.append(time.perf_counter() - t)
    assert reg.verify_audit().ok
    return {
        "n": len(models),
        "session_total_s": total,
        "session_median_s": statistics.median(per),
        "per_call_open_median_s": statistics.median(per_open),
        "per_call_path_median_s": statistics.median(per_path),
        "n_per_call_open": n_open,
        "batched_total_s": batched_registrations(work, models),
        "floor_median_s": registration_floor(work, models[: min(200, len(models))]),
    }


def batched_registrations(work: Path, models: list[Any]) -> float:
    """The same registrations as one batch: each model serialised and stored, then
    one ``bulk_add_versions`` (the import path)."""
    import skops.io as sio

    from modelward.core.artifacts.metadata import describe_estimator

    reg = Registry(work / "reg-a-batched")
    t = time.perf_counter()
    recs = []
    for i, clf in enumerate(models):
        sha, size = reg.artifacts.put_bytes(sio.dumps(clf))
        meta = describe_estimator(clf)
        recs.append(
            VersionRecord(
                name=f"bench-{i % 10}",
                sha256=sha,
                size=size,
                format="skops",
                estimator_class=meta["estimator_class"],
                params={"params": meta["params"], "steps": meta["steps"]},
                signature=dict(meta["signature"]),
                metrics={f"m{j}": ((i * 7 + j) % 1000) / 1000 for j in range(5)},
            )
        )
    bulk_add_versions(reg, recs)
    total = time.perf_counter() - t
    assert reg.verify_audit().ok
    return total


def registration_floor(work: Path, models: list[Any]) -> float:
    """What one durable registration costs at least: the skops bytes written and
    fsynced into place, and one DuckDB transaction of 1 version, 5 metric and 1 audit
    rows into bare tables (no indexes, no lookups, no hashing)."""
    import skops.io as sio

    folder = work / "floor-artifacts"
    folder.mkdir()
    con = duckdb.connect(str(work / "floor-reg.duckdb"))
    con.execute("CREATE TABLE v (id BIGINT, name VARCHAR, sha VARCHAR, meta VARCHAR)")
    con.execute("CREATE TABLE vm (id BIGINT, key VARCHAR, value DOUBLE)")
    con.execute("CREATE TABLE a (seq BIGINT, what VARCHAR, hash VARCHAR)")
    per = []
    for i, clf in enumerate(models):
        t = time.perf_counter()
        data = sio.dumps(clf)
        tmp = folder / f".tmp{i}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / f"m{i}")
        dfd = os.open(folder, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO v VALUES (?, 'bench', 'sha', '{}')", [i])
        con.execute(
            "INSERT INTO vm VALUES " + ",".join(["(?, ?, ?)"] * 5),
            [x for j in range(5) for x in (i, f"m{j}", 0.5)],
        )
        con.execute("INSERT INTO a VALUES (?, 'version.registered', 'h')", [i])
        con.execute("COMMIT")
        per.append(time.perf_counter() - t)
    con.close()
    return statistics.median(per)


# ---------------------------------------------------------------- (b) listings
def make_versions(reg: Registry, n: int, n_models: int) -> dict[str, Any]:
    per_model = n // n_models
    shas = [reg.artifacts.put_bytes(f"bench artifact {i}".encode())[0] for i in range(per_model)]
    rng = np.random.default_rng(1)
    aucs = rng.uniform(0.5, 1.0, size=n)
    recs = []
    for i in range(n):
        m = i % n_models
        kind = ("credit", "churn", "fraud", "pricing")[m % 4]
        recs.append(
            VersionRecord(
                name=f"{kind}-{m:04d}",
                sha256=shas[i // n_models],
                size=64,
                format="skops",
                estimator_class="sklearn.linear_model.LogisticRegression",
                params={"params": {"C": round(float(aucs[i]), 3), "max_iter": 100}},
                signature={"n_features_in": 5},
                lineage={"source": "bench"},
                metrics={
                    "roc_auc": float(aucs[i]),
                    "accuracy": float(aucs[i]) - 0.05,
                    "f1": 0.7,
                    "precision": 0.7,
                    "recall": 0.7,
                },
                tags={"team": kind},
            )
        )
    t = time.perf_counter()
    bulk_add_versions(reg, recs)
    bulk_s = time.perf_counter() - t
    # A champion on every other credit model: its latest version.
    t = time.perf_counter()
    with reg.session():
        for m in range(0, n_models, 8):
            reg.set_alias(f"credit-{m:04d}", "champion", reason="bench")
    alias_s = time.perf_counter() - t
    return {"bulk_insert_s": bulk_s, "bulk_n": n, "aliases_s": alias_s}


def search_filter(text: str) -> tuple[str, list[Any]]:
    from modelward.core.query import parse_search

    f = parse_search(text)
    return f.where or "TRUE", list(f.params)


def bench_listing(reg: Registry, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, text in SEARCHES.items():
        where, params = search_filter(text)
        page = lambda w=where, p=params: reg.list_versions(where=w, params=p, limit=100)  # noqa: E731
        count = lambda w=where, p=params: reg.count_versions(w, p)  # noqa: E731
        res: dict[str, Any] = {"query": text, "matches": count(), "page": len(page())}
        res["page_per_call_open_s"] = median_time(page, repeat)
        res["count_per_call_open_s"] = median_time(count, repeat)
        with reg.session():
            res["page_session_s"] = median_time(page, repeat)
            res["count_session_s"] = median_time(count, repeat)
            # The floor: the same page query on a bare cursor, rows not turned into objects.
            sql = (
                "SELECT v.* FROM versions v JOIN models m ON m.id = v.model_id "
                f"WHERE {where} ORDER BY m.name, v.version LIMIT 100"
            )
            with reg._read() as cur:
                res["page_duckdb_floor_s"] = median_time(
                    lambda c=cur, s=sql, p=params: c.execute(s, p).fetchall(), repeat
                )
        out[label] = res
        log(f"listing {label}: {res}")
    return out


# ---------------------------------------------------------------- (c) + (d) metric points
def bench_points(reg: Registry, work: Path, cfg: dict[str, int]) -> dict[str, Any]:
    n, n_hist, repeat = cfg["points"], cfg["history"], cfg["repeat"]
    rng = np.random.default_rng(2)
    values = rng.normal(size=n)
    out: dict[str, Any] = {"points": n, "history": n_hist}

    def append_one_call() -> None:
        run = reg.create_run("bench")
        reg.append_metrics(run, "loss", values)

    def append_batches() -> None:
        run = reg.create_run("bench")
        for chunk in np.array_split(values, 100):
            reg.append_metrics(run, "loss", chunk)

    with reg.session():
        out["append_one_call_s"] = median_time(append_one_call, repeat)
        out["append_100_calls_s"] = median_time(append_batches, max(1, repeat // 2), warmup=0)
    out["append_one_call_per_call_open_s"] = median_time(append_one_call, max(1, repeat // 2))

    # The floor: the same arrays into a bare table of the same shape, same process.
    floor = duckdb.connect(str(work / "floor.duckdb"))
    floor.execute(
        "CREATE TABLE metric_points (run_id BIGINT, key VARCHAR, step BIGINT, "
        "ts TIMESTAMP, value DOUBLE)"
    )
    steps = np.arange(n, dtype=np.int64)
    stamps = np.full(n, np.datetime64("2026-01-01T00:00:00", "us"))
    run_no = [0]

    def floor_append() -> None:
        run_no[0] += 1
        cur = floor.cursor()
        cur.register("_p", {"step": steps, "ts": stamps, "value": values})
        cur.execute("BEGIN TRANSACTION")
        cur.execute(
            "INSERT INTO metric_points SELECT ?, 'loss', step, ts, value FROM _p", [run_no[0]]
        )
        cur.execute("COMMIT")
        cur.close()

    out["append_duckdb_floor_s"] = median_time(floor_append, repeat)

    # (d) a history of n_hist points among everything appended above.
    hist_run = reg.create_run("bench-history")
    reg.append_metrics(hist_run, "val_loss", values[:n_hist])
    read = lambda: reg.metric_history(hist_run, "val_loss")  # noqa: E731
    got = read()
    assert len(got["value"]) == n_hist and np.array_equal(got["value"], values[:n_hist])
    out["history_per_call_open_s"] = median_time(read, repeat)
    with reg.session():
        out["history_session_s"] = median_time(read, repeat)
    floor_run = run_no[0] + 1
    floor.execute(
        "INSERT INTO metric_points SELECT ?, 'val_loss', step, ts, value FROM "
        "(SELECT * FROM metric_points WHERE run_id = 1 LIMIT ?)",
        [floor_run, n_hist],
    )
    out["history_duckdb_floor_s"] = median_time(
        lambda: floor.execute(
            "SELECT step, ts, value FROM metric_points WHERE run_id = ? AND key = 'val_loss' "
            "ORDER BY step",
            [floor_run],
        ).fetchnumpy(),
        repeat,
    )
    floor.close()
    log(f"points: {out}")
    return out


# ---------------------------------------------------------------- MLflow
def bench_mlflow(python: str, work: Path, cfg: dict[str, int]) -> dict[str, Any] | None:
    cmd = [
        python,
        str(HERE / "_mlflow_driver.py"),
        str(work / "mlflow"),
        str(cfg["mlflow_registrations"]),
        str(cfg["mlflow_points"]),
        str(cfg["repeat"]),
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if proc.returncode != 0:
        log("MLflow run failed:\n" + proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report
def ms(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:,.1f}×"


def verdict(label: str, limit: float, *values: float) -> str:
    return label + ": " + " / ".join("met" if v < limit else "**missed**" for v in values)


def summary(res: dict[str, Any]) -> str:
    a, lst, p, mf = res["registrations"], res["listing"], res["points"], res.get("mlflow")
    mf = mf or {}
    n_reg = a["n"]
    full = res["config"]["versions"] == 100_000
    rows = []
    rows.append(
        (
            f"{n_reg:,} registrations via `log_model`, session held",
            ms(a["session_total_s"]),
            verdict("< 8 s", 8, a["session_total_s"]) if n_reg == 1000 else "",
            f"MLflow {ms(mf.get('register_median', 0) * n_reg) if mf else '–'} "
            f"(median × {n_reg:,}): {ratio(mf.get('register_median'), a['session_median_s'])} faster",
        )
    )
    rows.append(
        (
            f"{n_reg:,} registrations as one batch (serialise + store each, one "
            "`bulk_add_versions`)",
            ms(a["batched_total_s"]),
            verdict("< 8 s", 8, a["batched_total_s"]) if n_reg == 1000 else "",
            f"{ratio(a['session_total_s'], a['batched_total_s'])} faster than one by one",
        )
    )
    rows.append(
        (
            "one registration, session held / per-call open / path per call (median)",
            f"{ms(a['session_median_s'])} / {ms(a['per_call_open_median_s'])} / "
            f"{ms(a['per_call_path_median_s'])}",
            "",
            f"durable-write floor {ms(a['floor_median_s'])} "
            f"({ratio(a['session_median_s'], a['floor_median_s'])} of floor); "
            f"MLflow {ms(mf.get('register_median'))}",
        )
    )
    for r in lst.values():
        rows.append(
            (
                f"listing `{r['query']}` over {res['config']['versions']:,} versions "
                f"({r['matches']:,} match): first 100, session / per-call open",
                f"{ms(r['page_session_s'])} / {ms(r['page_per_call_open_s'])}",
                verdict("< 100 ms", 0.1, r["page_session_s"], r["page_per_call_open_s"])
                if full
                else "",
                f"bare DuckDB {ms(r['page_duckdb_floor_s'])} "
                f"({ratio(r['page_session_s'], r['page_duckdb_floor_s'])} of floor); "
                f"MLflow search_runs on {mf.get('register_n', 0):,} runs "
                f"{ms(mf.get('search_runs_filtered'))}",
            )
        )
        rows.append(
            (
                f"count for `{r['query']}`, session / per-call open",
                f"{ms(r['count_session_s'])} / {ms(r['count_per_call_open_s'])}",
                verdict("< 100 ms", 0.1, r["count_session_s"], r["count_per_call_open_s"])
                if full
                else "",
                "",
            )
        )
    rows.append(
        (
            f"{p['points']:,} metric points, one `append_metrics` call (session)",
            ms(p["append_one_call_s"]),
            verdict("< 1 s", 1, p["append_one_call_s"]) if p["points"] == 1_000_000 else "",
            f"bare DuckDB {ms(p['append_duckdb_floor_s'])} "
            f"({ratio(p['append_one_call_s'], p['append_duckdb_floor_s'])} of floor); "
            f"MLflow log_batch {mf.get('log_batch_points', 0):,} points "
            f"{ms(mf.get('log_batch_total'))}"
            + (
                f" → {ratio(mf['log_batch_total'] / mf['log_batch_points'], p['append_one_call_s'] / p['points'])} faster per point"
                if mf
                else ""
            ),
        )
    )
    rows.append(
        (
            f"{p['points']:,} points in 100 `append_metrics` calls (session) / one call per-call open",
            f"{ms(p['append_100_calls_s'])} / {ms(p['append_one_call_per_call_open_s'])}",
            "",
            "",
        )
    )
    rows.append(
        (
            f"read a {p['history']:,}-point history, session / per-call open",
            f"{ms(p['history_session_s'])} / {ms(p['history_per_call_open_s'])}",
            verdict("< 50 ms", 0.05, p["history_session_s"], p["history_per_call_open_s"])
            if p["history"] == 100_000
            else "",
            f"bare DuckDB {ms(p['history_duckdb_floor_s'])}; MLflow get_metric_history "
            f"{ms(mf.get('history_read'))}"
            + (
                f" → {ratio(mf.get('history_read'), p['history_session_s'])} faster"
                if mf and mf.get("log_batch_points") == p["history"]
                else ""
            ),
        )
    )
    m = res["machine"]
    head = (
        f"Measured {m['date']} on {m['cpus']} cores (shared, noisy"
        + (f"; load average {m['load']}" if m.get("load") else "")
        + f"), {m['platform']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, scikit-learn {m['sklearn']}, "
        f"ModelWard {m['modelward']}"
        + (f", MLflow {mf['mlflow']} (SQLite store, separate virtualenv)" if mf else "")
        + f". Medians over {res['config']['repeat']} repeats. "
        f"Bulk insert of {res['setup']['bulk_n']:,} versions (5 metrics each, "
        f"audit chained): {ms(res['setup']['bulk_insert_s'])}.\n\n"
    )
    table = "| what | ModelWard | target | baseline in the same run |\n|---|---|---|---|\n"
    table += "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return head + table + "\n" + NOTES


NOTES = """
How to read it:

- *Session held* is a `Registry` used inside `with reg.session():` (the window and
  each CLI command hold one connection); *per-call open* opens and closes the
  DuckDB file around every call, as a notebook without a session does, so that
  other processes can get in. Opening costs a connect (reading the catalog) and a
  schema check; closing after a write checkpoints, which rewrites the table's last
  row group (up to 122,880 rows): with 100,000 versions one `add_version` per-call
  open cost about 0.4 s in a separate measurement, nearly all of it the checkpoint
  at close (compare the one-call append of 1,000,000 points below, session vs
  per-call open).
- A registration is durable when it returns: the artifact is fsynced and renamed
  into place (two fsyncs), and the DuckDB commit fsyncs its log. The *durable-write
  floor* does exactly that on bare tables with no lookups, indexes or hashing. Where
  `log_model` misses the 8 ms target, the floor itself (times 1,000) is usually
  above 8 s on this shared disk; the rest is about six small statements (model
  lookup, same-bytes lookup and next number in one scan, version row, metric rows in
  one statement, audit tail and audit row), each a few hundred microseconds on an
  idle machine and several milliseconds when the two cores are contended.
- The batch path stores each artifact durably (two fsyncs each) and then writes
  every row and audit event in one transaction; its cost is mostly those fsyncs.
- Absolute times swing several-fold with the load of the shared machine (MLflow's
  own registrations here are several times slower than on a quiet machine);
  compare the ratios to the baselines measured in the same run.
- `append_metrics` costs one transaction (next step, insert, audit event), so
  100 small calls cost about 100 transactions; pass whole arrays when you can.
"""


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    intro = (
        "# Benchmarks\n\n"
        "Scripts live in `bench/`; each section below is written by one of them. The "
        "machine is shared and noisy, so figures are medians and, where possible, "
        "ratios to a baseline measured in the same run.\n\n"
    )
    doc = path.read_text(encoding="utf-8") if path.exists() else intro
    body = (
        f"{SECTION}\n\nWritten by `python bench/bench_registry.py --write-docs` "
        "(see `bench/README.md`).\n\n" + text
    )
    if SECTION in doc:
        start = doc.index(SECTION)
        nxt = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + body + ("\n" + doc[nxt + 1 :] if nxt != -1 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")


# ---------------------------------------------------------------- getting things in
def bench_getting_in(work: Path, n: int, loop_n: int, rounds: int) -> dict[str, Any]:
    """``log_model`` one by one against groups of 100 in one commit, and the
    durable-write floor, in interleaved rounds; then ``register PATH...``: ``n``
    files by one call against a shell loop of single ``register`` calls (``loop_n``
    files, per file)."""
    import joblib

    models = fitted_models(n)
    singles: list[float] = []
    grouped: list[float] = []
    floors: list[float] = []
    for r in range(rounds):
        reg = Registry(work / f"gi-single-{r}")
        t = time.perf_counter()
        with reg.session():
            for i, clf in enumerate(models):
                api.log_model(clf, f"bench-{i % 10}", metrics={"auc": i / n}, registry=reg)
        singles.append(time.perf_counter() - t)
        reg = Registry(work / f"gi-group-{r}")
        t = time.perf_counter()
        for start in range(0, n, 100):
            with reg.group():
                for i, clf in enumerate(models[start : start + 100], start):
                    api.log_model(clf, f"bench-{i % 10}", metrics={"auc": i / n}, registry=reg)
        grouped.append(time.perf_counter() - t)
        assert reg.verify_audit().ok
        fl = work / f"gi-floor-{r}"
        fl.mkdir()
        floors.append(registration_floor(fl, models) * n)
    folder = work / "gi-files"
    folder.mkdir()
    for i, clf in enumerate(models):
        joblib.dump(clf, folder / f"file-model-{i:05d}.joblib")
    env = dict(os.environ)
    t = time.perf_counter()
    one = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelward",
            "register",
            str(folder),
            "--registry",
            str(work / "gi-files-reg"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    one_call = time.perf_counter() - t
    done = json.loads(one.stdout)["registered"] if one.stdout else 0
    loop: list[float] = []
    for p in sorted(folder.iterdir())[:loop_n]:
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "modelward",
                "register",
                str(p),
                "--registry",
                str(work / "gi-loop-reg"),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        loop.append(time.perf_counter() - t)
    return {
        "n": n,
        "rounds": rounds,
        "log_model_one_by_one_s": [round(x, 2) for x in singles],
        "log_model_groups_of_100_s": [round(x, 2) for x in grouped],
        "floor_same_rounds_s": [round(x, 2) for x in floors],
        "register_one_call_s": round(one_call, 2),
        "register_one_call_registered": done,
        "register_loop_files": loop_n,
        "register_loop_per_file_median_s": round(statistics.median(loop), 3),
        "register_loop_per_file_max_s": round(max(loop), 3),
        "register_loop_extrapolated_n_s": round(statistics.median(loop) * n, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--mlflow-python", help="python of a virtualenv with mlflow + scikit-learn")
    ap.add_argument("--mlflow-registrations", type=int, help="MLflow registrations (slow)")
    ap.add_argument("--repeat", type=int, help="repeats per timing (median reported)")
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON results")
    ap.add_argument("--from-json", help="re-render the summary of a saved result")
    ap.add_argument(
        "--getting-in",
        type=int,
        metavar="N",
        help="only: N log_model one by one / in groups / floor, and N files by register PATH...",
    )
    ap.add_argument("--loop-files", type=int, default=50, help="files of the single-call loop")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (--getting-in)")
    args = ap.parse_args(argv)
    if args.getting_in:
        with tempfile.TemporaryDirectory(prefix="mw-bench-in-") as tmp:
            load0 = os.getloadavg()[0]
            got = bench_getting_in(Path(tmp), args.getting_in, args.loop_files, args.rounds)
            got["load"] = f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at the end"
        print(json.dumps(got, indent=2))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "getting-in.json").write_text(json.dumps(got, indent=2), encoding="utf-8")
        return 0
    if args.from_json:
        text = summary(json.loads(Path(args.from_json).read_text(encoding="utf-8")))
        print(text)
        if args.write_docs:
            write_docs(text)
        return 0
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeat:
        cfg["repeat"] = args.repeat
    if args.mlflow_registrations:
        cfg["mlflow_registrations"] = args.mlflow_registrations
    import sklearn

    res: dict[str, Any] = {
        "config": cfg,
        "machine": {
            "date": dt.date.today().isoformat(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "sklearn": sklearn.__version__,
            "modelward": mw_version,
            "load": f"{os.getloadavg()[0]:.1f} at start",
        },
    }
    with tempfile.TemporaryDirectory(prefix="mw-bench-") as tmp:
        work = Path(tmp)
        log(f"(a) {cfg['registrations']} registrations")
        res["registrations"] = bench_registrations(work, cfg)
        log(f"(a) {res['registrations']}")
        reg = Registry(work / "reg-b")
        log(f"(b) bulk insert of {cfg['versions']} versions")
        res["setup"] = make_versions(reg, cfg["versions"], cfg["models"])
        log(f"(b) {res['setup']}")
        res["listing"] = bench_listing(reg, cfg["repeat"])
        log("(c, d) metric points")
        res["points"] = bench_points(reg, work, cfg)
        reg.close()
        if args.mlflow_python:
            log(
                f"MLflow: {cfg['mlflow_registrations']} registrations, {cfg['mlflow_points']} points"
            )
            res["mlflow"] = bench_mlflow(args.mlflow_python, work, cfg)
            log(f"MLflow: {res['mlflow']}")
    res["machine"]["load"] += f", {os.getloadavg()[0]:.1f} at the end"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"registry-{stamp}{'-quick' if args.quick else ''}.json").write_text(
        json.dumps(res, indent=2), encoding="utf-8"
    )
    text = summary(res)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
