"""``modelward watch`` runs the policies headless: the loop is a job, its steps are printed."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import threading

from modelward.core.demo.policy_loop import LOOP_MODEL, loop_table, train_loop_champion
from modelward.core.policies import Policy, Triggers, pending_approvals, set_policy
from modelward.core.registry import Registry
from modelward.core.watch import DATA, add_folder
from support.watch_cli import start_watch


def test_watch_runs_the_policy_as_a_job(tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    train_loop_champion(reg, tmp_path / "train", rows=600)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name=LOOP_MODEL, options={"label_column": "default"})
    policy = Policy(
        LOOP_MODEL,
        Triggers(drift_share_above=0.3),
        retrain=True,
        window_batches=1,
        include_training_data=False,
        n_boot=100,
        owner="Alice",
    )
    set_policy(reg, policy)
    reg.close()

    proc = start_watch("--registry", str(home), "--json", "--settle", "0.2")
    lines: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        with contextlib.suppress(ValueError):  # communicate() below closes stdout
            for line in proc.stdout:
                lines.put(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def until(kind: str) -> list[dict]:
        seen = []
        while True:
            event = lines.get(timeout=180)
            seen.append(event)
            if event["kind"] == kind:
                return seen

    try:
        until("started")
        tmp = inbox / ".2025-02.part"
        loop_table(500, 12, drift=1.2).to_csv(tmp, index=False)
        os.replace(tmp, inbox / "2025-02.csv")
        seen = until("job-finished")
        kinds = [e["kind"] for e in seen]
        assert "job-started" in kinds and "job-log" in kinds
        assert seen[-1]["detail"] == "awaiting-approval"
        logs = " ".join(e["detail"] for e in seen if e["kind"] == "job-log")
        assert "held-out" in logs or "holding out" in logs
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reg = Registry(home)
    (req,) = pending_approvals(reg, model=LOOP_MODEL)
    assert req.requested_by == "Alice"
    reg.close()
