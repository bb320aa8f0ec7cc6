"""The HTML model card: facts from the registry, self-contained, self-hashed, templated."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

import pytest

from modelward.core.evidence.reports import gather_facts, write_html
from modelward.core.evidence.reports.facts import metric_intervals
from support.evidence import build


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("reports")
    return build(base / "reg", batches=3)


class _Refs(HTMLParser):
    """Every attribute that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "srcset", "data", "poster", "action") or (k == "xlink:href"):
                self.fetches.append(f"{tag} {k}={v}")


def test_html_report_is_self_contained_and_states_its_own_hash(src, tmp_path):
    reg, ref = src
    out = tmp_path / "card.html"
    res = write_html(reg, ref, out, n_boot=30)
    html = out.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(html)
    assert parser.fetches == []
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "@import" not in html and "url(" not in html
    # the only http text is the SVG namespace, which is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    # ROC, PR, calibration, lift, cumulative gains, drift, performance
    assert parser.tags.count("svg") == 7
    for words in (
        "Purpose and owner",
        "Input schema",
        "Environment",
        "95% interval",
        "Limitations",
        "Approvals",
        "alias.set",
        "passed review",
    ):
        assert words in html
    v = reg.resolve(ref)
    assert v.sha256 in html and v.lineage["data_fingerprint"] in html
    stated = re.search(r"Report SHA-256: <span class=\"mono\">([0-9a-f]{64})", html).group(1)
    zeroed = html.replace(stated, "0" * 64)
    assert hashlib.sha256(zeroed.encode("utf-8")).hexdigest() == stated
    ev = reg.audit_events(action="report.generated")[0]
    assert ev.after["sha256"] == res["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_facts_come_from_the_registry(src):
    reg, ref = src
    f = gather_facts(reg, ref, n_boot=50)
    val = f["validations"][-1]
    for k, (lo, hi) in val["intervals"].items():
        assert lo <= val["metrics"][k] <= hi, k
    assert {"accuracy", "roc_auc", "f1"} <= set(val["intervals"])
    assert [b["name"] for b in f["monitoring"]["batches"]] == ["2025-01", "2025-02", "2025-03"]
    assert f["data"]["rows"] == 300 and f["training"]["environment"]["sklearn"]
    assert any(e["action"] == "alias.set" for e in f["approvals"])
    assert f["hashes"]["model_sha256"] == reg.resolve(ref).sha256


def test_bootstrap_intervals_match_a_direct_computation():
    import numpy as np

    from modelward.core.compute.metrics import Predictions

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    pred = np.where(rng.random(300) < 0.8, y, 1 - y)
    p = Predictions(y_true=y, y_pred=pred, task="classification", classes=np.array([0, 1]))
    ci = metric_intervals(p, {"accuracy": 0.8}, n_boot=100, seed=3)
    r = np.random.default_rng(3)
    acc = [np.mean(y[i] == pred[i]) for i in (r.integers(0, 300, 300) for _ in range(100))]
    assert ci["accuracy"] == pytest.approx(tuple(np.quantile(acc, [0.025, 0.975])))


def test_the_users_template_wins(src, tmp_path):
    reg, ref = src
    tdir = reg.home / "templates"
    tdir.mkdir(exist_ok=True)
    (tdir / "report.html").write_text(
        "<html><body><h1>ACME $title</h1>$metrics<p>$$5 fee</p>$chart_roc</body></html>",
        encoding="utf-8",
    )
    try:
        out = tmp_path / "acme.html"
        write_html(reg, ref, out, n_boot=0)
        html = out.read_text(encoding="utf-8")
        assert html.startswith("<html><body><h1>ACME credit:1") and "$5 fee" in html
        assert "<svg" in html and "Purpose" not in html
    finally:
        (tdir / "report.html").unlink()


def test_cli_report_rejects_an_unknown_extension(run_cli, src, tmp_path):
    reg, ref = src
    r = run_cli("--registry", str(reg.home), "report", ref, "-o", str(tmp_path / "x.docx"))
    assert r.returncode == 2 and ".html or .pdf" in r.stderr


# ----------------------------------------------------------------- what a validator files


def _body(html: str) -> str:
    """The document without its style sheet and comments (CSS has braces of its own)."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<!--.*?-->", "", html, flags=re.S)


def _no_raw_json(html: str) -> None:
    body = _body(html)
    assert not re.search(r"[{\[]\s*[\"']", body), re.search(r".{40}[{\[]\s*[\"'].{40}", body)
    assert not re.search(r"[\"']\s*:\s*[\"'{\[0-9]", re.sub(r"<[^>]+>", "", body))


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory):
    """A version whose validation carries explanations, credit curves, intervals and gates."""
    from modelward.core.policies.model import Policy
    from modelward.core.policies.store import set_policy
    from support.report_shapes import enrich

    reg, ref = build(tmp_path_factory.mktemp("rich") / "reg", batches=1)
    enrich(reg, ref)
    set_policy(
        reg,
        Policy(model="credit", gates=("roc_auc>=0.6", "accuracy>=0.99", "roc_auc>=champion-0.02")),
    )
    return reg, ref


def test_a_filed_report_shows_explanations_credit_metrics_intervals_and_gates(rich, tmp_path):
    reg, ref = rich
    out = tmp_path / "card.html"
    write_html(reg, ref, out, n_boot=20)
    html = out.read_text(encoding="utf-8")
    _no_raw_json(html)
    text = re.sub(r"<[^>]+>", " ", _body(html))
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", _body(html)))
    # Gini and KS with the intervals stored with the validation, and how they were made
    assert re.search(r"gini\s+0\.4950\s+0\.4100 – 0\.5800\s+stratified bootstrap", text)
    assert re.search(r"ks\s+0\.3720\s+0\.3000 – 0\.4500", text)
    # every other headline metric carries a bootstrap interval computed here
    assert re.search(r"roc_auc\s+0\.\d{4}\s+0\.\d{4} – 0\.\d{4}\s+percentile bootstrap, 20", text)
    for words in (
        "Permutation importance",
        "Partial dependence: debt",
        "Partial dependence: region",
        "Lift by population fraction",
        "Cumulative gains",
        "Score bands",
        "Hosmer-Lemeshow statistic 7.93 on 8 degrees of freedom (p = 0.440)",
        "expected calibration error (ECE) 0.031",
        "At the decision threshold 0.35",
        "Expected cost on this data",
    ):
        assert words in flat, words
    assert (
        html.count("<svg") == 3 + 2 + 1 + 2 + 2
    )  # ROC/PR/calibration, lift/gains, importance, 2 PD, monitoring
    # the summary page: gates evaluated with the comparison module's own rules
    assert re.search(r"roc_auc&gt;=0\.6</span></td>\s*<td[^>]*><b class=\"pass\">PASS", html)
    assert re.search(r"accuracy&gt;=0\.99</span></td>\s*<td[^>]*><b class=\"fail\">FAIL", html)
    assert "needs a comparison with the champion; none is stored" in html
    assert "1 gate(s) fail" in html
    # the signed audit head, as a table
    assert "Registry audit head" in html and "Newest audit event" in html
    # what is recorded is not listed as missing
    nr = html[html.index("<h3>Not recorded</h3>") : html.index("Registry audit head")]
    for recorded in ("Explanations", "Gini and KS", "Score-band", "Decision threshold"):
        assert recorded not in nr
    assert "run modelward" not in html.lower()


def test_what_is_missing_is_stated_once(src, tmp_path):
    reg, ref = src
    out = tmp_path / "plain.html"
    write_html(reg, ref, out, n_boot=0)
    html = out.read_text(encoding="utf-8")
    _no_raw_json(html)
    assert len(re.findall(r"not recorded", html, re.I)) == 1  # the list's heading, nothing else
    nr = html[html.index("<h3>Not recorded</h3>") :]
    nr = nr[: nr.index("</ul>")]
    # validation stores the credit-style numbers itself; explanations, a threshold
    # and gates are separate steps this version never took
    for missing in ("Explanations", "Decision threshold", "Promotion gates"):
        assert missing in nr, missing
    for present in (
        "Gini and KS statistics",
        "Lift and cumulative gains",
        "Score-band table",
        "Calibration test",
        "Confidence intervals",
    ):
        assert present not in nr, present
    assert "validate first" not in html and "run modelward" not in html.lower()
    # tags are a table, not JSON
    assert "<th>Tag</th>" in html or "The version has no tags." in html


def test_gini_ks_and_error_intervals_match_independent_computations():
    import numpy as np
    from scipy.stats import ks_2samp
    from sklearn.metrics import (
        average_precision_score,
        balanced_accuracy_score,
        brier_score_loss,
        f1_score,
        log_loss,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
    )

    from modelward.core.compute.metrics import Predictions

    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0.01, 0.99), 2)  # with ties
    p = Predictions(
        y_true=y,
        y_pred=(s >= 0.5).astype(int),
        task="classification",
        classes=np.array([0, 1]),
        proba=np.c_[1 - s, s],
    )
    keys = dict.fromkeys(
        (
            "gini",
            "ks",
            "log_loss",
            "brier_score_loss",
            "roc_auc",
            "average_precision",
            "f1",
            "balanced_accuracy",
        ),
        0.0,
    )
    ci = metric_intervals(p, keys, n_boot=40, seed=3)
    r = np.random.default_rng(3)
    draws = [r.integers(0, n, n) for _ in range(40)]
    want = {
        "gini": [2 * roc_auc_score(y[i], s[i]) - 1 for i in draws],
        "ks": [ks_2samp(s[i][y[i] == 1], s[i][y[i] == 0]).statistic for i in draws],
        "log_loss": [log_loss(y[i], s[i]) for i in draws],
        "brier_score_loss": [brier_score_loss(y[i], s[i]) for i in draws],
        "roc_auc": [roc_auc_score(y[i], s[i]) for i in draws],
        "average_precision": [average_precision_score(y[i], s[i]) for i in draws],
        "f1": [f1_score(y[i], p.y_pred[i]) for i in draws],
        "balanced_accuracy": [balanced_accuracy_score(y[i], p.y_pred[i]) for i in draws],
    }
    for k, vals in want.items():
        assert ci[k] == pytest.approx(tuple(np.quantile(vals, [0.025, 0.975]))), k

    t = rng.normal(size=n)
    pr = t + rng.normal(scale=0.5, size=n)
    reg = Predictions(y_true=t, y_pred=pr, task="regression")
    ci = metric_intervals(reg, {"rmse": 0.5, "mae": 0.4, "r2": 0.7}, n_boot=40, seed=3)
    r = np.random.default_rng(3)
    draws = [r.integers(0, n, n) for _ in range(40)]
    rmse = [np.sqrt(np.mean((t[i] - pr[i]) ** 2)) for i in draws]
    mae = [mean_absolute_error(t[i], pr[i]) for i in draws]
    assert ci["rmse"] == pytest.approx(tuple(np.quantile(rmse, [0.025, 0.975])))
    assert ci["mae"] == pytest.approx(tuple(np.quantile(mae, [0.025, 0.975])))
    r2 = [r2_score(t[i], pr[i]) for i in draws]
    assert ci["r2"] == pytest.approx(tuple(np.quantile(r2, [0.025, 0.975])))


def test_group_gaps_and_segments_of_the_latest_batch_are_tables(src):
    from modelward.core.evidence.reports import render_html

    reg, ref = src
    facts = gather_facts(reg, ref, n_boot=0)
    facts["monitoring"]["groups_batch"] = "2025-03"
    facts["monitoring"]["groups"] = {
        "column": "region",
        "by_group": {
            "north": {
                "n": 120,
                "selection_rate": 0.31,
                "true_positive_rate": 0.7,
                "calibration": 0.02,
            },
            "south": {
                "n": 90,
                "selection_rate": 0.52,
                "true_positive_rate": 0.8,
                "calibration": 0.05,
            },
        },
        "gaps": {"selection_rate_ratio": {"value": 0.596, "threshold": 0.8, "crossed": True}},
        "crossed": ["selection_rate_ratio"],
    }
    facts["monitoring"]["segments"] = {
        "column": "region",
        "segments": [{"segment": "east", "rows": 80, "drift_share": 0.25, "drifted": False}],
    }
    html = render_html(facts)
    _no_raw_json(html)
    flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _body(html)))
    assert "Group gaps by region (batch 2025-03)" in flat
    assert re.search(r"south 90 0\.520 0\.800 0\.050", flat)
    assert re.search(r"selection_rate_ratio 0\.596 0\.800 yes", flat)
    assert re.search(r"Segments by region .*east 80 0\.25 no", flat)
    assert len(re.findall(r"not recorded", html, re.I)) == 1
