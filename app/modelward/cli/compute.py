"""Compute commands: train, validate, compare (with gates and promotion)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.cli.common import (
    command,
    open_registry,
    run_cancellable,
    status_printer,
)
from modelward.cli.output import Result, fmt_metrics, lines, table
from modelward.core.errors import ApprovalRequired, InvalidInput
from modelward.core.tables import open_table

if TYPE_CHECKING:
    from modelward.core.compute.recipe import Recipe


def _recipe(args: argparse.Namespace) -> Recipe:
    from modelward.core.compute.recipe import Recipe, recipe_from_fields  # deferred: start-up cost

    if args.recipe:
        try:
            with open(args.recipe, encoding="utf-8") as f:
                return Recipe.from_json(f.read())
        except OSError as e:
            raise InvalidInput(f"cannot read the recipe {args.recipe}: {e.strerror}") from None
    missing = [o for o in ("data", "target", "estimator") if not getattr(args, o)]
    if missing:
        raise InvalidInput(
            f"train needs --{' --'.join(missing)} (or --recipe FILE or --from-lineage REF)"
        )
    return recipe_from_fields(
        args.data,
        args.target,
        args.estimator,
        params=args.param or [],
        features=args.features or "",
        split=args.split,
        test_size=args.test_size,
        folds=args.folds,
        time_column=args.time_column,
        search=args.search,
        search_space=args.search_param or [],
        n_iter=args.n_iter,
        seed=args.seed,
        classes=args.classes or (),
        keep_id_columns=args.keep_id_columns,
    )


def cmd_train(args: argparse.Namespace) -> Result:
    if not args.from_lineage:
        # The data is checked before the heavy imports: a bad file is refused at once.
        recipe = _recipe(args)
        if not args.name:
            raise InvalidInput("train needs --name NAME (the model to add the version to)")
        from modelward.core.registry.refusals import refusals_audited

        # a refused file leaves one input.refused event (the registry is opened only then)
        with refusals_audited(lambda: open_registry(args), "train", recipe.data, ref=args.name):
            _check_data(recipe)
    # deferred: start-up cost
    from modelward.core.compute.parallel import Compute
    from modelward.core.compute.training import retrain_from_lineage, train

    reg = open_registry(args)
    compute = Compute(n_jobs=args.n_jobs)
    progress = status_printer(args)

    def on_score(s: Any) -> None:
        if not args.json and s.stage == "evaluate":
            shown = {
                k: v for k, v in s.metrics.items() if k in ("roc_auc", "accuracy", "rmse", "r2")
            }
            print(f"  fold {s.fold + 1}: {fmt_metrics(shown)}", file=sys.stderr)

    if args.from_lineage:
        res = run_cancellable(
            lambda tok: retrain_from_lineage(
                reg,
                args.from_lineage,
                name=args.name,
                compute=compute,
                progress=progress,
                cancel=tok,
                on_score=on_score,
            )
        )
    else:
        res = run_cancellable(
            lambda tok: train(
                reg,
                recipe,
                args.name,
                compute=compute,
                progress=progress,
                cancel=tok,
                on_score=on_score,
            )
        )
    text = [
        f"registered {res.ref}" + ("" if res.created else " (identical to an existing version)"),
        f"  {fmt_metrics(res.metrics)}",
    ]
    if res.reproduced is not None:
        text.append(f"  metrics reproduced exactly: {'yes' if res.reproduced else 'NO'}")
    doc = res.to_json()
    text.extend(f"warning: {w}" for w in res.warnings)
    return Result(doc, lines(*text))


def _check_data(recipe: Recipe) -> None:
    """Open the data with the strict reader: a bad file is refused before anything loads."""
    if str(recipe.data).startswith("dataset:") or not Path(recipe.data).is_file():
        return  # train says what is missing, after the registry is opened
    open_table(recipe.data)


def cmd_validate(args: argparse.Namespace) -> Result:
    from modelward.core.compute.validation import validate  # deferred: start-up cost

    reg = open_registry(args)
    res = run_cancellable(
        lambda tok: validate(
            reg,
            args.ref,
            args.data,
            target=args.target,
            allow_extra=args.allow_extra,
            store=not args.no_store,
            n_boot=args.n_boot,
            seed=args.seed,
            band_edges=args.bands,
            progress=status_printer(args),
            cancel=tok,
        )
    )
    return Result(res.to_json(), lines(*validation_text(res)))


def _fmt(v: float) -> str:
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.6g}"


def validation_text(res: Any) -> list[str]:
    """The human text of a validation: metrics with their intervals, bands, calibration."""
    crv = res.curves
    text = [f"{res.ref} on {res.rows:,} rows ({res.task}, target {res.target})"]
    iv = crv.get("intervals") or {}
    rows = []
    for k, v in sorted(res.metrics.items()):
        lo_hi = iv.get(k)
        rows.append([k, _fmt(v), f"{_fmt(lo_hi[0])} – {_fmt(lo_hi[1])}" if lo_hi else "–"])
    text += ["  " + r for r in table(["metric", "value", "95% interval"], rows).splitlines()]
    if crv.get("interval_method"):
        text.append(f"  intervals: {crv['interval_method']}")
    if "confusion_matrix" in crv:
        text.append(f"  confusion matrix (rows: true {crv['classes']}, columns: predicted)")
        for row in crv["confusion_matrix"]:
            text.append("    " + "  ".join(f"{c:>7}" for c in row))
    for c in crv.get("per_class") or []:
        text.append(
            f"  class {c['class']} against the rest: gini {_fmt(c['gini'])}, ks {_fmt(c['ks'])}"
        )
    cal = crv.get("calibration_test")
    if cal:
        text.append(
            f"  calibration: Hosmer–Lemeshow {cal['hosmer_lemeshow']:.3f} (df {cal['df']}, "
            f"p {cal['p_value']:.3g}) · expected calibration error {cal['ece']:.4f}"
        )
    lift = crv.get("lift")
    if lift:
        at = {round(f, 2): v for f, v in zip(lift["fraction"], lift["lift"], strict=True)}
        shown = [f"top {int(f * 100)}% {at[f]:.2f}" for f in (0.1, 0.2, 0.3, 0.5) if f in at]
        text.append("  lift: " + ", ".join(shown))
    bands = crv.get("bands")
    if bands:
        text.append("  score bands (highest scores first)")
        body = [
            [
                b["band"],
                f"{b['population']:,}",
                f"{b['events']:,}",
                f"{b['event_rate']:.2%}",
                f"{b['cum_capture']:.2%}",
            ]
            for b in bands
        ]
        hdr = ["band", "population", "events", "event rate", "cumulative capture"]
        text += ["    " + r for r in table(hdr, body).splitlines()]
    return text


def cmd_compare(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.compute.compare import compare, promote
    from modelward.core.policies import alias_needs_approval
    from modelward.core.refs import parse_ref

    if args.promote and not args.reason:
        raise InvalidInput("--promote needs --reason TEXT")
    reg = open_registry(args)
    if args.promote:  # refuse before the (long) comparison, not after it
        name = parse_ref(args.challenger)[0]
        if alias_needs_approval(reg, name, args.alias):
            raise ApprovalRequired(
                f"{name}@{args.alias} is protected by four-eyes: compare without --promote, "
                f"then 'modelward approvals request {args.challenger} --alias {args.alias} …'"
            )
    res = run_cancellable(
        lambda tok: compare(
            reg,
            args.champion,
            args.challenger,
            args.data,
            gates=args.gate or [],
            alpha=args.alpha,
            n_boot=args.n_boot,
            target=args.target,
            allow_extra=args.allow_extra,
            progress=status_printer(args),
            cancel=tok,
        )
    )
    promoted = None
    if args.promote and res.promotion_allowed:
        promoted = promote(reg, res.comparison_id, reason=args.reason, alias=args.alias).ref
    out = res.to_json()
    out["promoted"] = promoted
    text = [
        f"champion {res.champion.ref}  vs  challenger {res.challenger.ref}  "
        f"({res.champion.rows} rows)",
        table(
            [
                "METRIC",
                "CHAMPION",
                "CHALLENGER",
                "DIFF",
                f"{1 - res.alpha:.0%} CI",
                "P",
                "TEST",
                "VERDICT",
            ],
            [
                (
                    d.metric,
                    f"{d.champion:.4g}",
                    f"{d.challenger:.4g}",
                    f"{d.difference:+.4g}",
                    f"[{d.ci_low:+.3g}, {d.ci_high:+.3g}]",
                    f"{d.p_value:.3g}",
                    d.test,
                    d.verdict,
                )
                for d in res.differences
            ],
        ),
    ]
    text += [f"gate {g.gate}: {'pass' if g.passed else 'FAIL'} ({g.detail})" for g in res.gates]
    text.append("promotion " + ("allowed" if res.promotion_allowed else "NOT allowed"))
    if promoted:
        text.append(f"{args.alias} -> {promoted}")
    from modelward.cli.scoring import shadow_evidence  # deferred: start-up cost

    out["shadow"], shadow_text = shadow_evidence(reg, res.challenger.ref)
    text += shadow_text
    # Asked to promote and refused by the gates: a failure, in text and in JSON alike.
    return Result(out, lines(*text), ok=res.promotion_allowed or not args.promote)


def add_parsers(sub: Any) -> None:
    """train, validate, compare."""
    sp = command(
        sub, "train", cmd_train, "train a scikit-learn model from a recipe and register it"
    )
    sp.add_argument("--data", help="CSV or Parquet file, or dataset:ID")
    sp.add_argument("--target", help="column to predict")
    sp.add_argument(
        "--estimator",
        help="scikit-learn classifier or regressor, e.g. LogisticRegression "
        "(XGBClassifier, LGBMRegressor... where installed)",
    )
    sp.add_argument("--param", action="append", metavar="K=V", help="hyper-parameter (repeatable)")
    sp.add_argument("--name", help="model name to add the version to")
    sp.add_argument("--features", metavar="A,B,…", help="feature columns (default: all others)")
    sp.add_argument(
        "--split", default="holdout", choices=["holdout", "kfold", "stratified", "time"]
    )
    sp.add_argument("--test-size", type=float, default=0.25)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--time-column", help="timestamp column of a time-based split")
    sp.add_argument("--search", choices=["grid", "random"], help="hyper-parameter search")
    sp.add_argument("--search-param", action="append", metavar="K=[V,…]", help="values to search")
    sp.add_argument("--n-iter", type=int, default=10, help="candidates of a random search")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--classes",
        metavar="A,B,…",
        help="the classes the target may hold; any other value refuses the training",
    )
    sp.add_argument(
        "--keep-id-columns",
        action="store_true",
        help="keep columns that look like row ids (loan_id, 1,2,3…) as features "
        "(default: left out, with a warning)",
    )
    sp.add_argument("--n-jobs", type=int, default=1, help="folds fitted at once")
    sp.add_argument("--recipe", metavar="FILE", help="a recipe as JSON instead of the options")
    sp.add_argument(
        "--from-lineage", metavar="REF", help="retrain REF from its recipe and data snapshot"
    )

    sp = command(
        sub, "validate", cmd_validate, "score a version on labelled data (metrics, curves)"
    )
    sp.add_argument("ref")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument("--target", help="target column (default: the one it was trained on)")
    sp.add_argument(
        "--allow-extra", action="store_true", help="ignore columns the model does not use"
    )
    sp.add_argument("--no-store", action="store_true", help="do not record the validation")
    sp.add_argument(
        "--n-boot", type=int, default=500, help="bootstrap resamples of the intervals (default 500)"
    )
    sp.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    sp.add_argument(
        "--bands", metavar="E1,E2,…", help="score-band edges (default: the deciles of the score)"
    )

    sp = command(sub, "compare", cmd_compare, "champion vs challenger on the same data, with gates")
    sp.add_argument("champion", help="REF of the champion, e.g. credit@champion")
    sp.add_argument("challenger", help="REF of the challenger")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument(
        "--gate",
        action="append",
        metavar="RULE",
        help="e.g. roc_auc>=0.75 or roc_auc>=champion-0.01 (repeatable)",
    )
    sp.add_argument("--alpha", type=float, default=0.05, help="significance level")
    sp.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    sp.add_argument("--target")
    sp.add_argument("--allow-extra", action="store_true")
    sp.add_argument("--promote", action="store_true", help="move the alias if the gates allow it")
    sp.add_argument("--alias", default="champion")
    sp.add_argument("--reason", help="why (needed with --promote)")
