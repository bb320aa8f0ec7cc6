"""Policies, alerts and approvals: policy set/show/remove/runs, alerts, approvals, approve, reject.

Also the personal-key commands of ``modelward keys`` (init, mine, trusted, bootstrap,
trust-request, trust-approve, revoke), hooked into the ``keys`` group by
:func:`add_key_parsers`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.cli.common import UNSET, command, csv, group, open_registry
from modelward.cli.output import Result, fmt_time, lines, table
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.identity import ENV_PASSPHRASE

if TYPE_CHECKING:
    from modelward.core.identity import SigningIdentity


def _off_float(text: str) -> float | None:
    if text.strip().lower() in ("off", "none", "no"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'off', not {text!r}") from None


_SHADOW_METRICS = ("roc_auc", "accuracy", "mae")  # what the prediction log's realized() gives


def _shadow_metric(text: str) -> str | None:
    value = text.strip().lower()
    if value in ("off", "none", "no"):
        return None
    if value not in _SHADOW_METRICS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(_SHADOW_METRICS)} or 'off', not {text!r}"
        )
    return value


def _off_int(text: str) -> int | None:
    value = _off_float(text)
    return None if value is None else int(value)


_TRIGGER_ARGS = {
    "drift_share": "drift_share_above",
    "psi": "psi_above",
    "metric": "metric",
    "below": "performance_below",
    "drop": "performance_drop",
    "every_days": "every_days",
    "new_labels": "new_labelled_rows",
}
_ACTION_ARGS = {
    "retrain": "retrain",
    "promote": "promote",
    "alert": "alert",
    "alias": "alias",
    "four_eyes": "four_eyes",
    "window": "window_batches",
    "holdout_share": "holdout_share",
    "training_data": "include_training_data",
    "n_boot": "n_boot",
    "approval_hours": "approval_ttl_hours",
    "alert_timeout": "alert_timeout",
    "owner": "owner",
    "enabled": "enabled",
    "group_gap_alerts": "alert_group_gaps",
    "shadow_margin": "shadow_margin",
    "shadow_min_rows": "shadow_min_rows",
}


def policy_text(p: Any) -> str:
    """A policy as ``key value`` lines."""
    t = p.triggers
    trig = {
        "drift share above": t.drift_share_above,
        "PSI above": t.psi_above,
        f"{t.metric} below": t.performance_below,
        f"{t.metric} drop above": t.performance_drop,
        "every (days)": t.every_days,
        "new labelled rows": t.new_labelled_rows,
    }
    on = [f"{k} {v:g}" for k, v in trig.items() if v is not None]
    if t.psi_features and t.psi_above is not None:
        on.append(f"PSI columns: {', '.join(t.psi_features)}")
    actions = ["alert"] if p.alert else []
    if p.retrain:
        actions.append(f"retrain (window {p.window_batches} batches, holdout {p.holdout_share:.0%}")
        actions[-1] += ", with training data)" if p.include_training_data else ")"
        if p.promote:
            actions.append(
                f"promote to {p.alias}"
                + (" after four-eyes approval" if p.needs_approval else " when the gates pass")
            )
    rows = [
        ("model", p.model),
        ("state", "enabled" if p.enabled else "disabled"),
        ("triggers", "; ".join(on) or "none"),
        ("actions", ", ".join(actions) or "none"),
        ("gates", ", ".join(p.gates) or "default (primary metric not worse by 0.02)"),
        ("protected", ", ".join(p.protected_aliases) or "-"),
        ("owner", p.owner),
        ("alert command", " ".join(p.alert_command) or "-"),
        (
            "shadow rule",
            f"{p.shadow_metric} better by {p.shadow_margin:g} over {p.shadow_min_rows:,} rows"
            if p.shadow_metric
            else "off",
        ),
        ("group gaps", "alert" if p.alert_group_gaps else "no alert"),
    ]
    return lines(*(f"  {k:<14} {v}" for k, v in rows))


def cmd_policy_set(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import Policy, get_policy, set_policy

    reg = open_registry(args)
    if args.from_json:
        try:
            saved = Path(args.from_json).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidInput(f"cannot read the policy {args.from_json}: {e.strerror}") from None
        policy = Policy.from_json(saved)
        if policy.model != args.name:
            raise InvalidInput(f"{args.from_json} is the policy of {policy.model}, not {args.name}")
    else:
        policy = get_policy(reg, args.name) or Policy(args.name)
    trig: dict[str, Any] = {
        field: getattr(args, arg)
        for arg, field in _TRIGGER_ARGS.items()
        if getattr(args, arg) is not UNSET
    }
    if args.psi_features is not None:
        trig["psi_features"] = tuple(csv(args.psi_features))
    changes: dict[str, Any] = {
        field: getattr(args, arg)
        for arg, field in _ACTION_ARGS.items()
        if getattr(args, arg) is not None
    }
    if args.protect is not None:
        changes["protected_aliases"] = tuple(csv(args.protect))
    if args.gate is not None:
        changes["gates"] = tuple(g for g in args.gate if g)
    if args.alert_command is not None:
        changes["alert_command"] = tuple(shlex.split(args.alert_command))
    if args.shadow_metric is not UNSET:
        changes["shadow_metric"] = args.shadow_metric
    if trig:
        changes["triggers"] = replace(policy.triggers, **trig)
    policy = set_policy(reg, policy.replace(**changes), reason=args.reason)
    return Result(policy.to_json(), lines(f"policy of {policy.model} saved", policy_text(policy)))


def cmd_policy_show(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import get_policy, list_policies

    reg = open_registry(args)
    if args.name:
        p = get_policy(reg, args.name)
        if p is None:
            raise NotFound(f"model {args.name!r} has no policy")
        policies = [p]
    else:
        policies = list_policies(reg)
    text = [policy_text(p) for p in policies]
    if not policies:
        text = ["no policies (set one with: modelward policy set NAME --drift-share 0.3 --retrain)"]
    return Result({"policies": [p.to_json() for p in policies]}, lines(*text))


def cmd_policy_remove(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import remove_policy

    p = remove_policy(open_registry(args), args.name, reason=args.reason)
    return Result({"removed": p.to_json()}, f"policy of {p.model} removed")


def cmd_policy_runs(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import list_policy_runs

    runs = list_policy_runs(open_registry(args), model=args.name, limit=args.limit)
    text = [f"{fmt_time(r.started_at)}  " + r.explain() for r in runs]
    return Result({"runs": [r.to_json() for r in runs]}, lines(*text) or "no policy has fired yet")


def cmd_alerts_list(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import list_alerts, unread_count

    reg = open_registry(args)
    alerts = list_alerts(reg, unread_only=args.unread, model=args.model, limit=args.limit)
    data = {"unread": unread_count(reg), "alerts": [a.to_json() for a in alerts]}
    if not alerts:
        return Result(data, "no alerts")
    text = table(
        ["ID", "TIME", "SEVERITY", "MODEL", "KIND", "", "MESSAGE"],
        [
            (
                a.id,
                fmt_time(a.created_at),
                a.severity,
                a.model or "-",
                a.kind,
                "new" if a.unread else "",
                a.message,
            )
            for a in alerts
        ],
    )
    return Result(data, text)


def cmd_alerts_ack(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import acknowledge_alert, acknowledge_all

    if not (args.all or args.ids):
        raise InvalidInput("name the alert ids to acknowledge, or give --all")
    reg = open_registry(args)
    if args.all:
        n = acknowledge_all(reg, model=args.model)
    else:
        for aid in args.ids:
            acknowledge_alert(reg, aid)
        n = len(args.ids)
    return Result({"acknowledged": n}, f"{n} alert(s) acknowledged")


def _approval_rows(reqs: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.id,
            r.status,
            f"{r.model}@{r.alias}",
            r.version_ref,
            r.requested_by,
            fmt_time(r.requested_at, 16),
            (r.decided_by or "-") if not r.pending else fmt_time(r.expires_at, 16),
            r.reason if r.pending else (r.decision_reason or "-"),
        )
        for r in reqs
    ]


def cmd_approvals_list(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import list_approvals, pending_approvals

    reg = open_registry(args)
    reqs = (
        list_approvals(reg, model=args.model, limit=args.limit)
        if args.all
        else pending_approvals(reg, model=args.model)
    )
    data = {"approvals": [r.to_json() for r in reqs]}
    if not reqs:
        return Result(data, "no approval requests" + ("" if args.all else " pending"))
    text = table(
        ["ID", "STATUS", "ALIAS", "VERSION", "REQUESTED BY", "AT", "EXPIRES/DECIDED BY", "REASON"],
        _approval_rows(reqs),
    )
    return Result(data, text)


def cmd_approvals_request(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import request_approval

    req = request_approval(
        open_registry(args),
        args.ref,
        signer=_unlock(args.key),
        reason=args.reason,
        alias=args.alias,
        comparison_id=args.comparison,
        ttl_hours=args.hours,
    )
    return Result(
        req.to_json(),
        f"approval request {req.id}: {req.version_ref} to {req.alias}, requested by "
        f"{req.requested_by} (signed, key {req.requested_key}); someone else approves it "
        f"with their own key: modelward approve {req.id} --meaning TEXT --reason TEXT",
    )


def cmd_approve(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import approve

    reg = open_registry(args)
    req = approve(reg, args.id, _unlock(args.key), args.meaning, args.reason)
    return Result(
        req.to_json(),
        f"approved request {req.id}, signed by {req.decided_by} (key {req.decided_key}, "
        f"OS user {req.decided_os_user}) "
        f"at {req.decided_at}: {req.model}@{req.alias} -> {req.version_ref}",
    )


def cmd_reject(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies import reject

    reg = open_registry(args)
    req = reject(reg, args.id, _unlock(args.key), args.reason, meaning=args.meaning)
    return Result(
        req.to_json(),
        f"rejected request {req.id}, signed by {req.decided_by}; {req.model}@{req.alias} stays",
    )


def _policy_set_parser(psub: Any) -> None:
    sp = command(psub, "set", cmd_policy_set, "create or change the policy of model NAME")
    sp.add_argument("name", help="model name")
    on = sp.add_argument_group("triggers ('off' switches one off)")
    on.add_argument(
        "--drift-share",
        type=_off_float,
        default=UNSET,
        metavar="X",
        help="share of drifted columns above which it fires (0..1)",
    )
    on.add_argument(
        "--psi",
        type=_off_float,
        default=UNSET,
        metavar="Y",
        help="a column's PSI above which it fires",
    )
    on.add_argument("--psi-features", metavar="A,B", help="columns the PSI trigger reads")
    on.add_argument("--metric", default=UNSET, help="performance metric (default roc_auc)")
    on.add_argument(
        "--below",
        type=_off_float,
        default=UNSET,
        metavar="Z",
        help="fires when the realized/estimated metric falls below Z",
    )
    on.add_argument(
        "--drop",
        type=_off_float,
        default=UNSET,
        metavar="D",
        help="fires when the metric dropped by more than D from the champion's",
    )
    on.add_argument(
        "--every-days",
        type=_off_float,
        default=UNSET,
        metavar="N",
        help="fires when the policy has not acted for N days",
    )
    on.add_argument(
        "--new-labels",
        type=_off_int,
        default=UNSET,
        metavar="ROWS",
        help="fires when this many new labelled rows arrived",
    )
    act = sp.add_argument_group("actions")
    bool_opt = argparse.BooleanOptionalAction
    act.add_argument("--alert", action=bool_opt, default=None, help="raise an alert")
    act.add_argument(
        "--retrain",
        action=bool_opt,
        default=None,
        help="retrain the champion's recipe on the labelled window",
    )
    act.add_argument(
        "--promote",
        action=bool_opt,
        default=None,
        help="promote (or request approval) when the gates pass",
    )
    act.add_argument("--alias", help="the alias the policy maintains (default champion)")
    act.add_argument(
        "--four-eyes",
        action=bool_opt,
        default=None,
        help="promotion to a protected alias needs a second person",
    )
    act.add_argument("--protect", metavar="A,B", help="protected aliases (default champion)")
    act.add_argument("--window", type=int, metavar="N", help="labelled batches to retrain on")
    act.add_argument(
        "--holdout-share",
        type=float,
        metavar="F",
        help="share of the window held out for validation (default 0.3)",
    )
    act.add_argument(
        "--training-data",
        action=bool_opt,
        default=None,
        help="also train on the champion's training data",
    )
    act.add_argument(
        "--gate",
        action="append",
        metavar="RULE",
        help="e.g. roc_auc>=champion-0.01 (repeatable; replaces the gates)",
    )
    act.add_argument("--n-boot", type=int, help="bootstrap resamples of the comparison")
    act.add_argument("--approval-hours", type=float, help="hours until a request expires")
    act.add_argument(
        "--alert-command",
        metavar="'PROGRAM ARGS'",
        help="run for each alert with the alert as JSON on stdin (no shell)",
    )
    act.add_argument("--alert-timeout", type=float, metavar="S")
    act.add_argument("--owner", help="who requests the promotions (default: you)")
    act.add_argument("--enable", dest="enabled", action="store_true", default=None)
    act.add_argument("--disable", dest="enabled", action="store_false")
    act.add_argument(
        "--group-gap-alerts",
        action=bool_opt,
        default=None,
        help="alert when a batch's gaps between protected groups cross their thresholds",
    )
    shadow = sp.add_argument_group(
        "shadow rule (promote a shadow challenger that beats the champion)"
    )
    shadow.add_argument(
        "--shadow-metric",
        type=_shadow_metric,
        default=UNSET,
        metavar="METRIC",
        help="realized metric compared (roc_auc, accuracy, mae; 'off' switches the rule off)",
    )
    shadow.add_argument(
        "--shadow-margin",
        type=float,
        metavar="M",
        help="how much better the challenger must be (default 0.01)",
    )
    shadow.add_argument(
        "--shadow-min-rows",
        type=int,
        metavar="ROWS",
        help="labelled rows both must have scored (default 500)",
    )
    sp.add_argument("--from-json", metavar="FILE", help="start from a policy saved as JSON")
    sp.add_argument("--reason", help="why (kept in the audit trail)")


def add_parsers(sub: Any) -> None:
    """policy, alerts, approvals, approve, reject."""
    psub = group(sub, "policy", "per-model policies: triggers, retraining, promotion")
    _policy_set_parser(psub)
    sp = command(psub, "show", cmd_policy_show, "show the policy of NAME (or all)")
    sp.add_argument("name", nargs="?")
    sp = command(psub, "remove", cmd_policy_remove, "remove the policy of NAME")
    sp.add_argument("name")
    sp.add_argument("--reason", required=True)
    sp = command(psub, "runs", cmd_policy_runs, "what each firing did and why, newest first")
    sp.add_argument("name", nargs="?")
    sp.add_argument("--limit", type=int, default=20)

    alsub = group(sub, "alerts", "alerts raised by policies")
    sp = command(alsub, "list", cmd_alerts_list, "list alerts, newest first")
    sp.add_argument("--unread", action="store_true", help="only those not acknowledged")
    sp.add_argument("--model")
    sp.add_argument("--limit", type=int, default=50)
    sp = command(alsub, "ack", cmd_alerts_ack, "acknowledge alerts")
    sp.add_argument("ids", nargs="*", type=int, metavar="ID")
    sp.add_argument("--all", action="store_true", help="every unread alert")
    sp.add_argument("--model", help="with --all: only this model's")

    apsub = group(sub, "approvals", "promotion requests (maker-checker)")
    sp = command(apsub, "list", cmd_approvals_list, "pending requests (--all: every request)")
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--model")
    sp.add_argument("--limit", type=int, default=50)
    sp = command(apsub, "request", cmd_approvals_request, "ask for REF to be promoted")
    sp.add_argument("ref", help="the version to promote, e.g. credit:4")
    sp.add_argument("--alias", default="champion")
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
    sp.add_argument("--comparison", type=int, help="the comparison whose gates allow it")
    sp.add_argument("--hours", type=float, default=72.0, help="hours until it expires")

    sp = command(
        sub, "approve", cmd_approve, "approve a promotion request (a different person signs)"
    )
    sp.add_argument("id", type=int)
    _key_arg(sp)
    sp.add_argument("--meaning", required=True, help="e.g. 'approved for production use'")
    sp.add_argument("--reason", required=True)
    sp = command(sub, "reject", cmd_reject, "reject a promotion request (signed)")
    sp.add_argument("id", type=int)
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
    sp.add_argument("--meaning", default="rejected")
    sp = command(
        apsub,
        "same-account",
        cmd_same_account,
        "allow or refuse one OS account both requesting and approving (single-user demo only)",
    )
    sp.add_argument("setting", choices=["allow", "refuse", "show"])
    sp.add_argument("--reason", help="why (needed to change it; kept in the audit trail)")


# ----------------------------------------------------------------------------- personal keys
def _key_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--key",
        metavar="KEY",
        help="your personal key: its id or your name (default: your only key); the "
        f"passphrase is asked for, or read from {ENV_PASSPHRASE}",
    )


def _read_passphrase(prompt: str, *, confirm: bool = False) -> str | None:
    """The passphrase from the environment (automation), else a prompt on a terminal."""
    env = os.environ.get(ENV_PASSPHRASE)
    if env:
        return env
    if not sys.stdin.isatty():
        return None  # the core names the missing passphrase in one sentence
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != first:
        raise InvalidInput("the two passphrases differ; nothing was created")
    return first


def _unlock(who: str | None) -> SigningIdentity:
    # deferred: start-up cost
    from modelward.core.identity import find_personal_key, unlock

    key = find_personal_key(who)
    return unlock(key, _read_passphrase(f"passphrase for {key.label}: "))


def _trusted_rows(keys: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        (k.key_id, k.name, k.os_user, k.status, (k.approved_by_key or "-"), k.reason) for k in keys
    ]


def cmd_keys_init(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.identity import create_personal_key

    secret = _read_passphrase(f"new passphrase for {args.name}'s key: ", confirm=True)
    k = create_personal_key(args.name, secret)
    return Result(
        k.to_json(),
        lines(
            f"created the personal key of {k.name}: {k.key_id} (kept in {k.path}, "
            "encrypted with your passphrase)",
            "ask a registry to trust it: modelward keys trust-request --reason TEXT "
            "(or, for a registry that trusts no key yet: modelward keys bootstrap --reason TEXT)",
        ),
    )


def cmd_keys_mine(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.identity import keys_home, list_personal_keys

    keys = list_personal_keys()
    data = {"keys": [k.to_json() for k in keys], "folder": str(keys_home())}
    if not keys:
        return Result(data, "you have no personal key yet: modelward keys init --name NAME")
    return Result(
        data,
        table(
            ["KEY ID", "NAME", "OS USER", "CREATED", "FILE"],
            [(k.key_id, k.name, k.os_user, fmt_time(k.created_at, 16), k.path) for k in keys],
        ),
    )


def cmd_keys_trusted(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import same_account_allowed, trusted_keys

    reg = open_registry(args)
    keys = trusted_keys(reg)
    same = same_account_allowed(reg)
    data = {"keys": [k.to_json() for k in keys], "same_account_allowed": same}
    if not keys:
        return Result(data, "this registry trusts no personal key yet: modelward keys bootstrap")
    return Result(
        data,
        lines(
            table(
                ["KEY ID", "NAME", "OS USER", "STATUS", "APPROVED BY", "REASON"],
                _trusted_rows(keys),
            ),
            "one OS account may request and approve: "
            + ("ALLOWED (single-user workspace)" if same else "no"),
        ),
    )


def cmd_keys_bootstrap(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import bootstrap_key

    k = bootstrap_key(open_registry(args), _unlock(args.key), reason=args.reason)
    return Result(
        k.to_json(),
        f"{k.name}'s key {k.key_id} is the first key this registry trusts (audited as "
        "key.bootstrap); every further key needs another holder's approval",
    )


def cmd_keys_trust_request(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import request_key_trust

    k = request_key_trust(open_registry(args), _unlock(args.key), reason=args.reason)
    return Result(
        k.to_json(),
        f"asked this registry to trust {k.name}'s key {k.key_id}; another key holder "
        f"approves it with: modelward keys trust-approve {k.key_id} --reason TEXT",
    )


def cmd_keys_trust_approve(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import approve_key_trust

    k = approve_key_trust(open_registry(args), args.key_id, _unlock(args.key), reason=args.reason)
    return Result(k.to_json(), f"this registry now trusts {k.name}'s key {k.key_id}")


def cmd_keys_revoke(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import revoke_key

    k = revoke_key(open_registry(args), args.key_id, _unlock(args.key), reason=args.reason)
    return Result(k.to_json(), f"{k.name}'s key {k.key_id} is revoked: it signs nothing more")


def cmd_same_account(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.policies.keys import allow_same_account, same_account_allowed

    reg = open_registry(args)
    if args.setting != "show":
        if not args.reason:
            raise InvalidInput("changing the same-account setting needs --reason")
        allow_same_account(reg, args.setting == "allow", reason=args.reason)
    same = same_account_allowed(reg)
    return Result(
        {"same_account_allowed": same},
        "one OS account may both request and approve a promotion (the keys must still differ)"
        if same
        else "the approver's OS account must differ from the requester's",
    )


def add_key_parsers(ksub: Any) -> None:
    """The personal-key commands, added to the ``keys`` group."""
    sp = command(ksub, "init", cmd_keys_init, "create your personal key (once, passphrase)")
    sp.add_argument("--name", required=True, help="your full name, as you sign approvals")
    command(ksub, "mine", cmd_keys_mine, "list the personal keys of this OS account")
    command(ksub, "trusted", cmd_keys_trusted, "list the personal keys this registry trusts")
    sp = command(
        ksub, "bootstrap", cmd_keys_bootstrap, "trust your key as a new registry's first key"
    )
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
    sp = command(
        ksub, "trust-request", cmd_keys_trust_request, "ask this registry to trust your key"
    )
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
    sp = command(
        ksub,
        "trust-approve",
        cmd_keys_trust_approve,
        "trust another person's requested key (signed with yours)",
    )
    sp.add_argument("key_id", metavar="KEY_ID")
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
    sp = command(ksub, "revoke", cmd_keys_revoke, "stop trusting a personal key")
    sp.add_argument("key_id", metavar="KEY_ID")
    _key_arg(sp)
    sp.add_argument("--reason", required=True)
