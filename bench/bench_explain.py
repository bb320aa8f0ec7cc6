"""Explanations (issue 19): the explanation job vs bare scikit-learn; reason codes per row.

Synthetic data as in ``bench_training.py``: 25 features (20 numeric, 5
categorical), binary target; a HistGradientBoostingClassifier pipeline
(imputation, one-hot, 100 boosting iterations) trained by ModelWard on 100,000
rows and validated on the N-row validation file (default 1,000,000). Then, in
the same run, rounds interleaved, BLAS/OpenMP limited to one thread:

* bare: read the validation Parquet with pandas, draw the same 100,000-row
  sample, ``permutation_importance`` (5 repeats, ROC AUC) and
  ``partial_dependence`` (kind="both", 20 grid points, 2,000 rows) for the
  top five features, with scikit-learn alone on the fitted model in memory;
* job: ``explain_validation`` — read the file again and check its
  fingerprint, load the model through the safe loader, check the schema, the
  same computation with progress and cancel checks, and store the result
  with the validation (audit event included).

Reason codes: ``ReasonExplainer.explain`` on R scored rows (default 100,000),
time per row, and ``shap.TreeExplainer.shap_values`` on the same rows when
shap is importable (it is not a dependency), with the largest difference.

Both sides permute the same seeded 100,000-row sample of the validation
rows (the job's cap, :data:`~modelward.core.compute.explain.MAX_ROWS`) and
average partial dependence over the same seeded 2,000 of them, so the full
size costs about as much per side as 100,000 rows (about 225 s a side on a
quiet machine). The validation that sets the bench up is stored without its
bootstrap intervals (``n_boot=0``): they are not part of what is timed.

Usage::

    python bench/bench_explain.py          # the issue's figure: 1,000,000 rows, 3 rounds,
                                           # 100,000 reason rows (about 30 min, quiet machine)
    python bench/bench_explain.py --quick  # a check that it runs: 5,000 rows, 2 rounds
    python bench/bench_explain.py --rows 300000 --rounds 2 --reason-rows 50000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import make_data  # noqa: E402


def bare(path: Path, model: object, top: int, max_rows: int, pd_rows: int) -> float:
    """The same work with scikit-learn alone."""
    import numpy as np
    import pandas as pd
    from sklearn.inspection import partial_dependence, permutation_importance

    from modelward.core.compute.parallel import limited_threads

    t0 = time.perf_counter()
    with limited_threads(1):
        df = pd.read_parquet(path)
        X, y = df.drop(columns=["y"]), df["y"].to_numpy()
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(X), size=min(max_rows, len(X)), replace=False))
        Xs, ys = X.iloc[rows].reset_index(drop=True), y[rows]
        imp = permutation_importance(model, Xs, ys, scoring="roc_auc", n_repeats=5, random_state=0)
        order = np.argsort(-imp.importances_mean, kind="stable")  # as the job ranks them
        pd_rows_idx = np.sort(
            np.random.default_rng(1).choice(len(Xs), size=min(pd_rows, len(Xs)), replace=False)
        )
        Xp = Xs.iloc[pd_rows_idx].reset_index(drop=True)
        for j in order[:top]:
            feat = Xs.columns[j]
            cat = not np.issubdtype(np.asarray(Xp[feat]).dtype, np.number)
            partial_dependence(
                model,
                Xp,
                [feat],
                categorical_features=[feat] if cat else None,
                grid_resolution=20,
                kind="both",
            )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="validation rows")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reason-rows", type=int, default=100_000)
    ap.add_argument("--train-rows", type=int, default=100_000)
    ap.add_argument(
        "--only", choices=["explain", "reasons"], help="run one of the two measurements"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a check that it runs: 5,000 rows (train and validation), 2 rounds, 2,000 reason rows",
    )
    ap.add_argument("--json", help="write the raw numbers here")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.train_rows, args.rounds, args.reason_rows = 5_000, 5_000, 2, 2_000

    import numpy as np
    from threadpoolctl import threadpool_limits

    from modelward.core.artifacts.safeload import load_artifact
    from modelward.core.compute.explain import MAX_ROWS, PD_ROWS, explain_validation
    from modelward.core.compute.reasons import ReasonExplainer
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.compute.validation import prepare_frame, validate
    from modelward.core.registry import Registry

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out: dict[str, object] = {
        "rows": args.rows,
        "rounds": args.rounds,
        "train_rows": args.train_rows,
        "reason_rows": args.reason_rows,
    }
    with tempfile.TemporaryDirectory(prefix="mw-bench-explain-") as tmp:
        t = Path(tmp)
        train_path, val_path = t / "train.parquet", t / "val.parquet"
        make_data(train_path, args.train_rows)
        make_data(val_path, args.rows)
        reg = Registry(t / "reg")
        recipe = Recipe(
            data=str(train_path), target="y", estimator="HistGradientBoostingClassifier"
        )
        t0 = time.perf_counter()
        with threadpool_limits(1):
            train(reg, recipe, "bench")
        print(f"trained in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        vid = validate(reg, "bench:1", str(val_path), n_boot=0).validation_id
        print(f"validated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        v = reg.resolve("bench:1")
        model = load_artifact(reg.artifacts, v.sha256, v.format)

        job_t: list[float] = []
        bare_t: list[float] = []
        statuses: list[float] = []
        for r in range(0 if args.only == "reasons" else args.rounds):
            for who in ("bare", "job") if r % 2 == 0 else ("job", "bare"):
                if who == "bare":
                    bare_t.append(bare(val_path, model, 5, MAX_ROWS, PD_ROWS))
                else:
                    t0 = time.perf_counter()
                    explain_validation(
                        reg, vid, progress=lambda f, s: statuses.append(f), threads=1
                    )
                    job_t.append(time.perf_counter() - t0)
                print(
                    f"round {r + 1} {who}: {(bare_t if who == 'bare' else job_t)[-1]:.1f} s",
                    file=sys.stderr,
                )
        ratios = [j / b for j, b in zip(job_t, bare_t, strict=True)] or [float("nan")]
        out["explain"] = {
            "job_s": job_t,
            "bare_s": bare_t,
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "progress_messages_per_run": len(statuses) / max(args.rounds, 1),
        }

        # reason codes on scored rows
        import pandas as pd

        if args.only != "explain" and args.reason_rows:
            df = pd.read_parquet(val_path).iloc[: args.reason_rows]
            X, _, _, _ = prepare_frame(v, model, df)
            ex = ReasonExplainer(model, list(X.columns))
            times = []
            for _ in range(max(1, args.rounds)):
                t0 = time.perf_counter()
                with threadpool_limits(1):
                    res = ex.explain(X)
                times.append(time.perf_counter() - t0)
            raw = model.decision_function(X)
            out["reasons"] = {
                "rows": len(X),
                "method": res.method,
                "seconds": times,
                "us_per_row_median": statistics.median(times) / len(X) * 1e6,
                "max_additivity_error": float(np.abs(res.output - raw).max()),
            }
            try:
                import shap  # not a dependency: a cross-check when installed
            except ImportError:
                shap = None
            if shap is not None:
                Xt = model[:-1].transform(X)
                t0 = time.perf_counter()
                with threadpool_limits(1):
                    sv = shap.TreeExplainer(model[-1]).shap_values(Xt)
                shap_s = time.perf_counter() - t0
                # shap explains the one-hot columns; summed per original column like ours
                mapped = np.asarray(sv) @ ex._member
                out["reasons"]["shap_seconds"] = shap_s
                out["reasons"]["shap_us_per_row"] = shap_s / len(X) * 1e6
                out["reasons"]["max_difference_to_shap"] = float(
                    np.abs(mapped - res.contributions).max()
                )
        reg.close()
    out["load_average"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
