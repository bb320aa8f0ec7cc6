"""Periodic anchors: `run --once` (driven by the OS scheduler) and `watch` sign the audit head."""

from __future__ import annotations

import json
import subprocess
import sys

from modelward.core.registry import Registry


def _checkpoints(home) -> list[dict]:
    journal = home / "registry.duckdb.journal"
    recs = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return [r for r in recs if r.get("k") == "checkpoint"]


def test_every_run_once_signs_a_checkpoint_that_verify_checks(run_cli, tmp_path):
    home = tmp_path / "reg"
    Registry(home).close()
    made = run_cli("keys", "create", "registry", "--registry", str(home))
    assert made.returncode == 0, made.stderr
    heads = []
    for _ in range(2):
        proc = run_cli("run", "--once", "--json", "--registry", str(home))
        assert proc.returncode == 0, proc.stderr
        heads.append(json.loads(proc.stdout)["head"])
        assert heads[-1]["signature"] and heads[-1]["key_id"]
    # nothing changed between the two runs: one checkpoint, not two
    assert heads[0] == heads[1]
    cps = _checkpoints(home)
    assert len(cps) == 1 and cps[0]["signature"] == heads[0]["signature"]
    reg = Registry(home)
    reg.record_event("test.changed", "test", 1)  # the head moves
    reg.close()
    proc = run_cli("run", "--once", "--json", "--registry", str(home))
    assert json.loads(proc.stdout)["head"]["seq"] > heads[0]["seq"]
    assert len(_checkpoints(home)) == 2
    text = run_cli("run", "--once", "--registry", str(home)).stdout
    assert "audit head " in text and "signed by key" in text
    ok = run_cli("verify", "--registry", str(home))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # a forged checkpoint line (someone without the key) is named by verify
    journal = home / "registry.duckdb.journal"
    lines = journal.read_text().splitlines()
    forged = json.loads(lines[-1])
    assert forged["k"] == "checkpoint"
    forged["hash"] = "0" * 64
    journal.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    bad = run_cli("verify", "--registry", str(home))
    assert bad.returncode != 0 and "checkpoint" in (bad.stdout + bad.stderr)


def test_watch_signs_the_head_when_it_starts(tmp_path):
    home = tmp_path / "reg"
    Registry(home).close()
    env_cmd = [sys.executable, "-m", "modelward"]
    subprocess.run([*env_cmd, "keys", "create", "registry", "--registry", str(home)], check=True)
    inbox = tmp_path / "in"
    inbox.mkdir()
    proc = subprocess.Popen(
        [*env_cmd, "watch", "--models", str(inbox), "--registry", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # waits on the line, no sleep
            if line.startswith("checkpoint"):
                assert "signed by key" in line
                break
        else:
            raise AssertionError(proc.stderr.read() if proc.stderr else "no checkpoint line")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert len(_checkpoints(home)) >= 1
