"""WatchService and PolicyService without Qt: real folders, real watchdog, real jobs."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from modelward.core.demo.policy_loop import LOOP_MODEL, loop_table, train_loop_champion
from modelward.core.intake import accept_model_file
from modelward.core.policies import Policy, Triggers, engine, set_policy
from modelward.core.policies.service import (
    ALERT,
    JOB_FINISHED,
    JOB_STARTED,
    RUN,
    PolicyEvent,
    PolicyService,
)
from modelward.core.registry import Registry
from modelward.core.watch import DATA, MODELS, WatchEvent, WatchService, add_folder
from support.models import write_joblib


class Heard:
    """Collects events from a service's subscriber callback; waits on conditions."""

    def __init__(self) -> None:
        self.events: list = []
        self._cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[list], bool], timeout: float = 60) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.events), timeout)

    def kinds(self) -> list[str]:
        with self._cond:
            return [e.kind for e in self.events]


def _ingested(name: str) -> Callable[[list], bool]:
    return lambda evs: any(e.kind == "ingested" and Path(e.path).name == name for e in evs)


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "reg", idle_release=0.2)
    yield r
    r.close()


# --------------------------------------------------------------------------- watch
def test_watch_service_watches_the_registrys_folders_and_follows_changes(reg, tmp_path):
    inbox = tmp_path / "models"
    add_folder(reg, inbox, MODELS, model_name="credit")
    svc = WatchService(reg, settle=0.2, rescan_interval=60)
    heard = Heard()
    svc.subscribe(heard)
    try:
        assert [f.path for f in svc.start()] == [str(inbox)]
        assert heard.wait(lambda evs: any(e.kind == "started" for e in evs))
        shutil.copy(write_joblib(tmp_path / "a.joblib", seed=1), inbox / "a.joblib")
        assert heard.wait(_ingested("a.joblib"))
        assert reg.resolve("credit:1").lineage["inbox"] == str(inbox)

        # A folder added through the service is watched at once.
        more = svc.add(tmp_path / "more", MODELS, model_name="other")
        assert svc.status(more.id) is not None
        shutil.copy(write_joblib(tmp_path / "b.joblib", seed=2), Path(more.path) / "b.joblib")
        assert heard.wait(_ingested("b.joblib"))

        # Paused: not watched; resumed: what arrived meanwhile is taken.
        svc.pause(more.id)
        assert svc.status(more.id) is None
        shutil.copy(write_joblib(tmp_path / "c.joblib", seed=3), Path(more.path) / "c.joblib")
        svc.resume(more.id)
        assert heard.wait(_ingested("c.joblib"))
        assert [v.version for v in reg.list_versions("other")] == [1, 2]
        with pytest.raises(RuntimeError):
            svc.run_once()
    finally:
        svc.stop()
    assert not svc.running
    assert "stopped" in heard.kinds()


def test_watch_service_run_once_takes_what_waits_and_returns(reg, tmp_path):
    models, data = tmp_path / "models", tmp_path / "data"
    add_folder(reg, models, MODELS)
    add_folder(reg, data, DATA, model_name="credit")
    write_joblib(models / "credit.joblib")
    (data / "2026-01.csv").write_text("a,b\n1,2\n")
    (data / ".partial.csv.part").write_text("a,b\n")
    svc = WatchService(reg)
    heard = Heard()
    svc.subscribe(heard)
    results = svc.run_once()
    assert sorted((Path(r.path).name, r.status) for r in results) == [
        ("2026-01.csv", "registered"),
        ("credit.joblib", "registered"),
    ]
    assert heard.kinds() == ["ingested", "ingested"]
    assert svc.run_once() == []
    assert not svc.running


# --------------------------------------------------------------------------- policies
def test_policy_service_runs_due_work_and_reports_runs_and_alerts(reg, tmp_path):
    v = accept_model_file(reg, write_joblib(tmp_path / "m.joblib"), name="m").version
    assert v is not None
    reg.set_alias(v.ref, "champion", "first")
    set_policy(reg, Policy("m", Triggers(drift_share_above=None, every_days=1)))
    svc = PolicyService(reg, interval=3600)
    heard = Heard()
    svc.subscribe(heard)
    svc.check_alerts()  # the first look notes where the alerts stand
    try:
        assert svc.run_due_once(now=dt.datetime.now(dt.UTC)) == []
        (run,) = svc.run_due_once(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        assert run.status == "alerted"
        kinds = heard.kinds()
        assert kinds == [RUN, ALERT]
        assert heard.events[0].run.id == run.id and heard.events[1].alert.kind == "trigger"
        # The timer: a round at once when started, and on demand.
        svc.start()
        assert svc.running
        svc.poke()
    finally:
        svc.stop()
    assert not svc.running


def test_policy_loops_from_a_data_inbox_run_on_the_services_runner(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    train_loop_champion(reg, tmp_path / "train", rows=600)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name=LOOP_MODEL, options={"label_column": "default"})
    set_policy(
        reg,
        Policy(
            LOOP_MODEL,
            Triggers(drift_share_above=0.3),
            retrain=True,
            window_batches=1,
            include_training_data=False,
            n_boot=100,
            owner="Alice",
        ),
    )
    assert not hasattr(engine, "use_runner")  # no process-global runner is involved
    policies = PolicyService(reg, interval=3600)
    watch = WatchService(reg, runner=policies.runner, settle=0.2, rescan_interval=60)
    jobs, files = Heard(), Heard()
    policies.subscribe(jobs)
    watch.subscribe(files)
    policies.start()
    watch.start()
    try:
        tmp = inbox / ".2025-02.part"
        loop_table(500, 12, drift=1.2).to_csv(tmp, index=False)
        tmp.rename(inbox / "2025-02.csv")
        assert files.wait(_ingested("2025-02.csv"), 120)
        assert jobs.wait(lambda evs: any(e.kind == JOB_FINISHED for e in evs), 300)
    finally:
        watch.stop()
        policies.stop()
    assert JOB_STARTED in jobs.kinds()
    finished = [e for e in jobs.events if e.kind == JOB_FINISHED]
    assert finished[0].detail == "awaiting-approval"
    (job,) = policies.runner.jobs()
    assert job.id == finished[0].job_id and job.state.done
    assert isinstance(finished[0], PolicyEvent) and not isinstance(finished[0], WatchEvent)
    reg.close()
