"""What a policy says: when to act (triggers) and what to do (actions), as plain data.

A :class:`Policy` is frozen and round-trips through JSON; one is stored per
model in the registry (:mod:`modelward.core.policies.store`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from modelward.core.compute.compare import parse_gate
from modelward.core.errors import InvalidInput
from modelward.core.refs import validate_name

__all__ = ["DEFAULT_PROTECTED", "Policy", "Triggers"]

DEFAULT_PROTECTED = ("champion",)
POLICY_VERSION = 1


@dataclass(frozen=True)
class Triggers:
    """When a policy fires. ``None`` switches a trigger off.

    Parameters
    ----------
    drift_share_above
        Share of drifted columns of a batch (0..1) above which it fires.
    psi_above
        PSI of any monitored column (or of ``psi_features``) above which it fires.
    psi_features
        Columns the PSI trigger looks at (empty: all).
    metric
        The performance metric the next two triggers read (``roc_auc``, ``accuracy``, …).
    performance_below
        Fires when the batch's realized (else estimated) ``metric`` is below this.
    performance_drop
        Fires when ``metric`` dropped by more than this from the champion's own value.
    every_days
        Fires when the last retraining (or the policy itself) is older than this.
    new_labelled_rows
        Fires when at least this many labelled rows arrived since the last retraining.
    """

    drift_share_above: float | None = 0.5
    psi_above: float | None = None
    psi_features: tuple[str, ...] = ()
    metric: str = "roc_auc"
    performance_below: float | None = None
    performance_drop: float | None = None
    every_days: float | None = None
    new_labelled_rows: int | None = None

    def check(self) -> None:
        for name in ("drift_share_above", "psi_above", "performance_drop", "every_days"):
            v = getattr(self, name)
            if v is not None and float(v) < 0:
                raise InvalidInput(f"{name.replace('_', ' ')} cannot be negative ({v})")
        if self.drift_share_above is not None and self.drift_share_above > 1:
            raise InvalidInput(
                f"the drift share is a fraction of columns (0..1), not {self.drift_share_above}"
            )
        if self.new_labelled_rows is not None and int(self.new_labelled_rows) < 1:
            raise InvalidInput("new labelled rows must be at least 1")
        if not self.metric:
            raise InvalidInput("a performance trigger needs a metric name")

    @property
    def active(self) -> list[str]:
        """Names of the triggers that are switched on."""
        return [
            f.name
            for f in fields(self)
            if f.name not in ("psi_features", "metric") and getattr(self, f.name) is not None
        ]


@dataclass(frozen=True)
class Policy:
    """Triggers and actions for one model.

    Parameters
    ----------
    model
        The model the policy watches.
    triggers
        When it fires (:class:`Triggers`).
    alert
        Raise an alert when a trigger fires.
    retrain
        Retrain the champion's recipe on the window of labelled data, then
        validate the challenger against the champion on the same holdout.
    promote
        After a successful validation, promote the challenger (directly, or
        by requesting approval when the alias is protected and four-eyes is on).
    alias
        The alias the policy maintains (its champion).
    four_eyes
        Promotion to a protected alias needs approval by a different person.
    protected_aliases
        Aliases that four-eyes protects.
    window_batches
        How many of the newest labelled batches to retrain on.
    holdout_share
        Share of the window's rows (drawn at random, with the run's seed) held
        out to validate champion and challenger on; neither model sees them
        in training.
    include_training_data
        Also train on the champion's own training data (its snapshot).
    gates
        Gates the challenger must pass (``roc_auc>=champion-0.02``, …);
        empty means "not worse than the champion by more than 0.02" on the
        task's primary metric.
    n_boot
        Bootstrap resamples of the comparison.
    approval_ttl_hours
        An approval request expires after this many hours.
    alert_command
        A program and its arguments run for each alert, with the alert as
        JSON on stdin (never through a shell).
    alert_timeout
        Seconds the alert command may take.
    owner
        Who set the policy: the *maker* of the promotions it requests.
    shadow_metric
        Promote a shadow challenger whose realized ``shadow_metric``
        (``roc_auc``, ``accuracy``, ``mae``), on the labelled rows both it and
        the champion scored, beats the champion's by at least
        ``shadow_margin`` over at least ``shadow_min_rows`` rows: checked by
        every periodic run (``run --once``, the timer), it raises an alert and
        requests approval (or, without four-eyes, is reported for a person to
        promote). ``None``: off.
    shadow_margin, shadow_min_rows
        The margin and the labelled rows that rule needs.
    alert_group_gaps
        Alert when a checked batch's gaps between the groups of its protected
        attribute cross their thresholds (never a reason to retrain).
    enabled
        A disabled policy is kept but never fires.
    """

    model: str
    triggers: Triggers = field(default_factory=Triggers)
    alert: bool = True
    retrain: bool = False
    promote: bool = True
    alias: str = "champion"
    four_eyes: bool = True
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED
    window_batches: int = 3
    holdout_share: float = 0.3
    include_training_data: bool = True
    gates: tuple[str, ...] = ()
    n_boot: int = 300
    approval_ttl_hours: float = 72.0
    alert_command: tuple[str, ...] = ()
    alert_timeout: float = 10.0
    owner: str = ""
    enabled: bool = True
    alert_group_gaps: bool = True
    shadow_metric: str | None = None
    shadow_margin: float = 0.01
    shadow_min_rows: int = 500

    def check(self) -> None:
        """Raise :class:`InvalidInput` for a policy that cannot work."""

        validate_name(self.model)
        self.triggers.check()
        if int(self.window_batches) < 1:
            raise InvalidInput("the retraining window needs at least 1 batch")
        if not 0.05 <= float(self.holdout_share) <= 0.9:
            raise InvalidInput(
                f"the holdout share must be between 0.05 and 0.9, not {self.holdout_share}"
            )
        if int(self.n_boot) < 50:
            raise InvalidInput("the comparison needs at least 50 bootstrap resamples")
        if float(self.approval_ttl_hours) <= 0:
            raise InvalidInput("approval requests must live for a positive number of hours")
        if float(self.alert_timeout) <= 0:
            raise InvalidInput("the alert command timeout must be positive")
        for g in self.gates:
            parse_gate(g)
        if float(self.shadow_margin) < 0:
            raise InvalidInput("the shadow margin cannot be negative")
        if int(self.shadow_min_rows) < 1:
            raise InvalidInput("the shadow rule needs at least 1 labelled row")
        if self.retrain and not self.promote and not self.alert:
            raise InvalidInput("a policy that retrains should alert or promote")

    @property
    def needs_approval(self) -> bool:
        """Whether promoting to :attr:`alias` needs a second person."""
        return self.four_eyes and self.alias in self.protected_aliases

    def replace(self, **changes: Any) -> Policy:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["policy_version"] = POLICY_VERSION
        return json.loads(json.dumps(d))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, d: dict[str, Any] | str) -> Policy:
        """Read :meth:`to_json` output (a dict or its JSON text)."""
        if isinstance(d, str):
            try:
                d = json.loads(d)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"the policy is not valid JSON: {e.msg}") from None
        if not isinstance(d, dict):
            raise InvalidInput("a policy must be a JSON object")
        d = dict(d)
        version = int(d.pop("policy_version", POLICY_VERSION))
        if version > POLICY_VERSION:
            raise InvalidInput(f"the policy was written by a newer ModelWard (version {version})")
        known = {f.name for f in fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise InvalidInput(f"unknown policy field {extra[0]!r}")
        trig = dict(d.pop("triggers", None) or {})
        tknown = {f.name for f in fields(Triggers)}
        textra = sorted(set(trig) - tknown)
        if textra:
            raise InvalidInput(f"unknown trigger {textra[0]!r}")
        trig["psi_features"] = tuple(trig.get("psi_features", ()) or ())
        for k in ("protected_aliases", "gates", "alert_command"):
            if k in d:
                d[k] = tuple(d[k] or ())
        try:
            return cls(triggers=Triggers(**trig), **d)
        except TypeError as e:
            raise InvalidInput(f"malformed policy: {e}") from None
