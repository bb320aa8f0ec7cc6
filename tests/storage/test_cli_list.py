"""`modelward list --filter/--sort/--limit` in real subprocesses, with the window's search syntax."""

from __future__ import annotations

import json

import pytest

from modelward.core.registry import Registry
from modelward.core.registry.bulk import bulk_add_versions


@pytest.fixture
def home(tmp_path):
    """A registry of 30 versions: credit-00..09 and churn-00..04, 2 versions each."""
    home = tmp_path / "reg"
    reg = Registry(home)
    shas = []
    for i in range(2):
        p = tmp_path / f"a{i}.bin"
        p.write_bytes(b"artifact %d" % i)
        shas.append(reg.artifacts.put_file(p)[0])
    recs = []
    for m in range(15):
        name = f"credit-{m:02d}" if m < 10 else f"churn-{m - 10:02d}"
        for v in range(2):
            recs.append(
                {
                    "name": name,
                    "sha256": shas[v],
                    "size": 10,
                    "format": "skops",
                    "metrics": {"roc_auc": round(0.5 + m / 100 + v / 1000, 4)},
                }
            )
    bulk_add_versions(reg, recs)
    reg.set_alias("credit-03:2", "champion", reason="test")
    reg.close()
    return str(home)


def _json(run_cli, *args):
    proc = run_cli("list", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_filter_uses_the_window_search_syntax(run_cli, home):
    out = _json(run_cli, "--registry", home, "--filter", "name:credit roc_auc>0.585")
    assert sorted({v["name"] for v in out["versions"]}) == ["credit-09"]
    assert out["total"] == 2 and out["truncated"] is False
    champ = _json(run_cli, "--registry", home, "--filter", "alias:champion")
    assert [(v["name"], v["version"]) for v in champ["versions"]] == [("credit-03", 2)]
    negated = _json(run_cli, "--registry", home, "--filter=-name:credit")
    assert {v["name"][:5] for v in negated["versions"]} == {"churn"}


def test_sort_by_a_metric_descending_and_limit(run_cli, home):
    out = _json(run_cli, "--registry", home, "--sort=-roc_auc", "--limit", "3")
    assert [(v["name"], v["version"]) for v in out["versions"]] == [
        ("churn-04", 2),
        ("churn-04", 1),
        ("churn-03", 2),
    ]
    assert out["total"] == 30 and out["truncated"] is True
    text = run_cli("list", "--registry", home, "--sort=-roc_auc", "--limit", "3")
    assert text.returncode == 0, text.stderr
    assert "ROC_AUC" in text.stdout
    assert "3 of 30 versions shown" in text.stdout


def test_name_is_exact_and_combines_with_the_filter(run_cli, home):
    out = _json(run_cli, "credit-01", "--registry", home, "--filter", "version:2")
    assert [(v["name"], v["version"]) for v in out["versions"]] == [("credit-01", 2)]


def test_default_limit_and_limit_zero(run_cli, home):
    everything = _json(run_cli, "--registry", home, "--limit", "0")
    assert len(everything["versions"]) == 30 and everything["truncated"] is False


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--filter", "roc_auc>high"], "is not a number"),
        (["--sort", "bogus"], "cannot sort by 'bogus'"),
        (["--limit=-1"], "--limit must be 0"),
    ],
)
def test_bad_filter_sort_or_limit_is_one_clear_sentence(run_cli, home, args, says):
    proc = run_cli("list", "--registry", home, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("modelward: error: ") and says in lines[0]


def test_no_match_says_so(run_cli, home):
    proc = run_cli("list", "--registry", home, "--filter", "name:nothing-like-this")
    assert proc.returncode == 0
    assert "no version matches" in proc.stdout
