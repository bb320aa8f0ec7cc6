"""The demo's closed loop: drift → alert → retrain → challenger → approval → promotion.

A small credit model (``credit-loop``) is trained from a recipe, profiled and
made champion; its policy retrains on drift and asks for four-eyes approval.
Monthly batches arrive in its data inbox (the same ingestion path the folder
watcher takes): the first ones look like the training data, then applicants
shift and the relation of utilisation to default turns around. The policy
fires, trains a challenger on the new labelled data, validates both on the
same held-out rows, requests approval in the model owner's name, and a
second reviewer approves with a signed record: the champion alias moves, and
the audit trail holds every step with its numbers.

Both people are played by the one OS account running the demo. The demo
creates two throw-away personal keys in a temporary folder (never the user's
own keys folder), trusts them in the demo registry (the first as its
bootstrap key, the second approved by the first), and switches on the
explicit, audited same-account setting of a single-user workspace. The keys
are deleted when the loop ends: their public halves stay in the registry, so
``verify`` still checks what they signed, and nobody can sign with them again.
A registry that already trusts keys of real people is not given demo keys:
the request is left for a person to approve.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.identity import SigningIdentity, create_personal_key, unlock
from modelward.core.monitoring.service import profile_version
from modelward.core.policies.approvals import approve, pending_approvals
from modelward.core.policies.engine import list_policy_runs
from modelward.core.policies.keys import (
    allow_same_account,
    approve_key_trust,
    bootstrap_key,
    request_key_trust,
    trusted_keys,
)
from modelward.core.policies.model import Policy, Triggers
from modelward.core.policies.store import set_policy
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress
from modelward.core.watch.folders import DATA, add_folder
from modelward.core.watch.ingest import ingest_file

if TYPE_CHECKING:
    from modelward.core.policies.approvals import ApprovalRequest
    from modelward.core.policies.engine import PolicyRun
    from modelward.core.registry import Registry

__all__ = [
    "LOOP_FEATURES",
    "LOOP_MODEL",
    "LoopResult",
    "loop_table",
    "run_demo_loop",
    "train_loop_champion",
]

LOOP_MODEL = "credit-loop"
LOOP_FEATURES = ("income", "debt_ratio", "utilisation", "tenure")
TARGET = "default"


def loop_table(n: int, seed: int, *, drift: float = 0.0) -> Any:
    """A synthetic credit table (pandas): four features, ``default`` and ``application_id``.

    ``drift`` > 0 moves applicants (lower income, higher debt ratio, by
    ``drift`` standard deviations) and turns the effect of utilisation on
    default around (a new regime the champion never saw).
    """
    import numpy as np  # deferred: start-up cost
    import pandas as pd  # deferred: start-up cost

    rng = np.random.default_rng(seed)
    income = rng.normal(-drift, 1.0, n)
    debt = rng.normal(drift, 1.0, n)
    util = rng.normal(0.0, 1.0, n)
    tenure = rng.normal(0.0, 1.0, n)
    c_util = 1.5 if drift <= 0 else -1.5
    z = -0.8 * income + 1.0 * debt + c_util * util + 0.3 * tenure
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame(
        {
            "application_id": [f"{seed}-{i:05d}" for i in range(n)],
            "income": income,
            "debt_ratio": debt,
            "utilisation": util,
            "tenure": tenure,
            TARGET: y,
        }
    )


def train_loop_champion(
    registry: Registry, folder: Any, *, name: str = LOOP_MODEL, rows: int = 800, seed: int = 1
) -> str:
    """Train the loop's first version from a recipe, profile it, make it champion; its ref."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "training.csv"
    loop_table(rows, seed).to_csv(data, index=False)
    recipe = Recipe(
        data=str(data),
        target=TARGET,
        estimator="LogisticRegression",
        features=LOOP_FEATURES,
        seed=0,
    )
    res = train(registry, recipe, name, description="credit default (closed-loop demo)")
    profile_version(registry, res.ref, data, target=TARGET, exclude=("application_id",))
    registry.set_alias(res.ref, "champion", "first model of the closed-loop demo")
    return res.ref


def demo_signers(
    registry: Registry, home: Path, owner: str, approver: str
) -> tuple[SigningIdentity, SigningIdentity] | None:
    """Two demo keys in ``home``, trusted by ``registry`` (same account allowed, audited).

    ``None`` when the registry already trusts keys: demo keys are never added
    beside real people's.
    """
    if trusted_keys(registry):
        return None
    secret = secrets.token_urlsafe(18)  # lives as long as the temporary folder
    maker = unlock(create_personal_key(owner, secret, home=home), secret)
    checker = unlock(create_personal_key(approver, secret, home=home), secret)
    bootstrap_key(registry, maker, reason="demo workspace: the model owner's demo key")
    allow_same_account(
        registry,
        True,
        reason="demo workspace: one OS account plays both the model owner and the second "
        "reviewer (single-user demo only)",
    )
    request_key_trust(registry, checker, reason="demo workspace: the second reviewer's demo key")
    approve_key_trust(registry, checker.key.key_id, maker, reason="demo workspace")
    return maker, checker


@dataclass(frozen=True)
class LoopResult:
    """What the demo loop did."""

    champion_before: str
    champion_after: str
    run: PolicyRun | None
    approval: ApprovalRequest | None


def run_demo_loop(
    registry: Registry,
    *,
    owner: str = "Model Owner",
    approver: str = "Second Reviewer",
    rows: int = 600,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> LoopResult:
    """Run one full loop in ``registry`` (a few seconds); see the module docstring.

    Parameters
    ----------
    registry
        Where to run it (usually the demo workspace).
    owner, approver
        The maker (the policy's owner, in whose name the policy requests) and
        the checker (who approves, signed with a throw-away demo key).
    rows
        Rows per monthly batch.
    """

    base = registry.home / "demo" / "closed-loop"
    progress(0.02, "training the loop's champion")
    before = train_loop_champion(registry, base)
    check(cancel)
    set_policy(
        registry,
        Policy(
            LOOP_MODEL,
            Triggers(drift_share_above=0.3, psi_above=0.25),
            retrain=True,
            four_eyes=True,
            window_batches=1,
            include_training_data=False,
            n_boot=200,
            owner=owner,
        ),
        reason="closed-loop demo: retrain on drift, four-eyes promotion",
    )
    inbox = base / "inbox"
    folder = add_folder(
        registry, inbox, DATA, model_name=LOOP_MODEL, options={"label_column": TARGET}
    )
    months = [("2025-01", 0.0), ("2025-02", 0.0), ("2025-03", 1.2)]
    for i, (month, drift) in enumerate(months):
        check(cancel)
        progress(0.1 + 0.7 * i / len(months), f"batch {month} arrives")
        path = inbox / f"applications-{month}.csv"
        loop_table(rows, 100 + i, drift=drift).to_csv(path, index=False)
        ingest_file(registry, folder, path)
    progress(0.85, "second reviewer signs the approval")
    req = None
    with tempfile.TemporaryDirectory(prefix="modelward-demo-keys-") as tmp:
        signers = demo_signers(registry, Path(tmp), owner, approver)
        if signers is not None:
            for request in pending_approvals(registry, model=LOOP_MODEL):
                req = approve(
                    registry,
                    request.id,
                    signers[1],
                    "approved for production use",
                    "challenger beats the champion on the drifted applications",
                )
    runs = list_policy_runs(registry, model=LOOP_MODEL, limit=1)
    after = registry.resolve(f"{LOOP_MODEL}@champion").ref
    progress(1.0, "closed loop done")
    return LoopResult(before, after, runs[0] if runs else None, req)
