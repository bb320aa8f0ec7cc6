"""The search syntax and the paged versions query, against a real registry."""

from __future__ import annotations

import pytest

from modelward.core.errors import InvalidInput
from modelward.core.query import (
    TableSpec,
    count_rows,
    fetch_page,
    first_page,
    key_metrics,
    parse_search,
)
from modelward.core.registry import Registry


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    home = tmp_path_factory.mktemp("q")
    reg = Registry(home / "r", actor="alice")
    rows = [
        ("credit-risk", {"roc_auc": 0.91, "accuracy": 0.85}),
        ("credit-risk", {"roc_auc": 0.78, "accuracy": 0.80}),
        ("credit-risk", {"roc_auc": 0.84}),
        ("churn", {"rmse": 12.5}),
        ("fraud_model", {"roc_auc": 0.95}),
    ]
    for i, (name, metrics) in enumerate(rows):
        p = home / f"f{i}.bin"
        p.write_bytes(b"model-bytes-%d" % i)
        sha, size = reg.artifacts.put_file(p)
        reg.add_version(
            name,
            sha256=sha,
            size=size,
            format="skops",
            estimator_class="sklearn.linear_model.LogisticRegression"
            if name != "churn"
            else "sklearn.ensemble.RandomForestRegressor",
            metrics=metrics,
            status="quarantined" if name == "churn" else "ok",
        )
    reg.set_alias("credit-risk:1", "champion", "best so far")
    reg.set_alias("credit-risk:3", "challenger", "try it")
    yield reg
    reg.close()


def refs(reg, text):
    f = parse_search(text)
    return sorted(v.ref for v in reg.list_versions(where=f.where, params=f.params))


def test_empty_search_matches_everything(reg):
    assert not parse_search("   ")
    assert len(refs(reg, "")) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name:credit", ["credit-risk:1", "credit-risk:2", "credit-risk:3"]),
        ("name:CREDIT alias:champion", ["credit-risk:1"]),
        ("alias:champ", ["credit-risk:1"]),
        ("alias=champ", []),
        ("alias!=champion name:credit", ["credit-risk:2", "credit-risk:3"]),
        ("roc_auc>0.8", ["credit-risk:1", "credit-risk:3", "fraud_model:1"]),
        ("roc_auc>=0.84 roc_auc<0.95", ["credit-risk:1", "credit-risk:3"]),
        ("rmse<=20", ["churn:1"]),
        ("accuracy:0.8", ["credit-risk:2"]),
        ("status:quarantined", ["churn:1"]),
        ("-status:quarantined -name:credit", ["fraud_model:1"]),
        ("version>=2", ["credit-risk:2", "credit-risk:3"]),
        ("version:1 estimator:forest", ["churn:1"]),
        ("by:ali", ["churn:1", "credit-risk:1", "credit-risk:2", "credit-risk:3", "fraud_model:1"]),
        ("by:bob", []),
        ("forest", ["churn:1"]),
        # '_' and '%' are literal, not LIKE wildcards.
        ("name:t_r", []),
        ("name:d_model", ["fraud_model:1"]),
        ('"fraud_model"', ["fraud_model:1"]),
        ("created>2000-01-01 created<2999-01-01", 5),
        ("created<2000-01-01", []),
        ("format:skops sha:0", None),
    ],
)
def test_search_terms(reg, text, expected):
    got = refs(reg, text)
    if isinstance(expected, int):
        assert len(got) == expected
    elif expected is not None:
        assert got == expected


def test_created_on_a_day_includes_the_whole_day(reg):
    day = reg.list_versions()[0].created_at[:10]
    assert len(refs(reg, f"created:{day}")) == 5
    assert len(refs(reg, f"created<={day}")) == 5
    assert refs(reg, f"created>{day}") == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("roc_auc>high", "not a number"),
        ("created>yesterday", "not a date"),
        ("name>abc", "takes ':'"),
        ("version:1.5", "whole number"),
        ("name:", "missing"),
        ('name:"open', "quote"),
    ],
)
def test_bad_terms_say_which_term(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_search(text)


def test_values_are_parameters_not_sql(reg):
    text = 'name:"x\'); DROP TABLE versions; --"'
    assert "DROP" not in (parse_search(text).where or "")
    assert refs(reg, text) == []
    assert len(refs(reg, "")) == 5


def test_pages_sort_and_pivot_metrics_in_sql(reg):
    keys = key_metrics(reg)
    assert keys == ("roc_auc", "accuracy", "rmse")
    spec = TableSpec(metric_keys=keys, sort="metric:roc_auc", descending=True)
    rows = fetch_page(reg, spec, 0, 10)
    assert [(r[1], r[2]) for r in rows][:2] == [("fraud_model", 1), ("credit-risk", 1)]
    assert rows[0][8] == pytest.approx(0.95)
    assert rows[-1][1] == "churn"  # no roc_auc: NULLS LAST
    assert rows[1][3] == "champion"
    # Paging: two pages of 2 and one of 1 cover every row exactly once.
    spec = TableSpec(metric_keys=keys, sort="name")
    paged = [r[0] for off in (0, 2, 4) for r in fetch_page(reg, spec, off, 2)]
    assert sorted(paged) == sorted(r[0] for r in fetch_page(reg, spec, 0, 100))
    assert len(set(paged)) == 5


def test_count_and_filter_in_pages(reg):
    spec = TableSpec(filter=parse_search("name:credit roc_auc>0.8"), metric_keys=("roc_auc",))
    assert count_rows(reg, spec) == 2
    rows = fetch_page(reg, spec, 0, 500)
    assert {r[2] for r in rows} == {1, 3}


@pytest.mark.parametrize(
    ("search", "sort", "descending"),
    [
        ("", "name", False),
        ("", "metric:roc_auc", True),
        ("", "metric:accuracy", False),
        ("name:credit roc_auc>0.8", "metric:roc_auc", True),
        ("alias:champion", "aliases", False),
        ("name:nothing-like-this", "metric:roc_auc", True),
        ("", "created_at", True),
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 100])
def test_first_page_is_the_count_and_the_page_in_one(reg, search, sort, descending, limit):
    """What the table and ``list`` show first: one statement, the same rows and count."""
    spec = TableSpec(
        filter=parse_search(search),
        metric_keys=("roc_auc", "accuracy", "rmse"),
        sort=sort,
        descending=descending,
    )
    assert first_page(reg, spec, limit) == (count_rows(reg, spec), fetch_page(reg, spec, 0, limit))


def test_sort_by_unknown_column_is_refused(reg):
    with pytest.raises(InvalidInput):
        fetch_page(reg, TableSpec(sort="v.id; DROP TABLE x"), 0, 1)
    with pytest.raises(InvalidInput):
        fetch_page(reg, TableSpec(sort="metric:nope"), 0, 1)


def test_audit_filter_and_pages(reg):
    from modelward.core.query import audit_filter, count_audit, fetch_audit_page

    total = count_audit(reg, audit_filter())
    assert total == len(reg.audit_events(limit=None))
    f = audit_filter(entity="credit-risk@", action="alias", actor="ali")
    rows = fetch_audit_page(reg, f, 0, 10)
    assert [r[3] for r in rows] == ["alias.set", "alias.set"]
    assert rows[0][0] > rows[1][0]  # newest first
    assert rows[0][6] == "try it"
    assert count_audit(reg, audit_filter(actor="nobody")) == 0
    assert count_audit(reg, audit_filter(since="2999-01-01")) == 0
    assert count_audit(reg, audit_filter(until="2999-01-01")) == total
    with pytest.raises(InvalidInput, match="not a date"):
        audit_filter(since="last week")
