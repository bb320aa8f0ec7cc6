"""bulk_add_versions on real registry files: same result as one by one, all or nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from modelward.core.errors import Cancelled, InvalidInput, NotFound
from modelward.core.registry import Registry
from modelward.core.registry.bulk import VersionRecord, bulk_add_versions

N_MODELS = 100
N_ARTIFACTS = 100  # 100 models x 100 artifacts = 10,000 versions


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "reg", actor="tester")


def _artifacts(reg: Registry, n: int) -> list[str]:
    return [reg.artifacts.put_bytes(f"model bytes {i}".encode())[0] for i in range(n)]


def _records(shas: list[str]) -> list[VersionRecord]:
    out = []
    for a, sha in enumerate(shas):
        for m in range(N_MODELS):
            i = a * N_MODELS + m
            out.append(
                VersionRecord(
                    name=f"{'churn' if m % 2 else 'credit'}-{m:03d}",
                    sha256=sha,
                    size=14,
                    format="skops",
                    estimator_class="sklearn.linear_model.LogisticRegression",
                    params={"params": {"C": i / 10}},
                    signature={"n_features_in": 4},
                    lineage={"source": "bulk-test", "i": i},
                    metrics={"roc_auc": (i % 1000) / 1000, "f1": 0.5},
                    tags={"team": "risk"} if m % 3 == 0 else None,
                )
            )
    return out


def _snapshot(reg: Registry) -> dict[str, int]:
    with reg.session():
        return {
            "versions": reg.count_versions(),
            "models": len(reg.list_models()),
            "audit": reg.audit_head(),
        }


def test_ten_thousand_versions_list_filter_and_verify(reg: Registry):
    shas = _artifacts(reg, N_ARTIFACTS)
    records = _records(shas)
    fractions: list[float] = []
    result = bulk_add_versions(reg, records, progress=lambda f, _s: fractions.append(f))

    assert result.created == 10_000
    assert result.existing == 0
    assert result.models_created == N_MODELS
    assert len(set(result.version_ids)) == 10_000
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0

    with reg.session():
        assert reg.count_versions() == 10_000
        # Each model numbers its versions 1..100 in record order.
        v = reg.list_versions("churn-003")
        assert [x.version for x in v] == list(range(1, N_ARTIFACTS + 1))
        assert [x.sha256 for x in v] == shas
        i = 7 * N_MODELS + 3
        assert v[7].params == {"params": {"C": i / 10}}
        assert v[7].lineage == {"source": "bulk-test", "i": i}
        assert v[7].tags == {"team": "risk"}
        assert v[7].metrics == {"roc_auc": (i % 1000) / 1000, "f1": 0.5}
        assert v[7].created_by == "tester"

        # The kind of filter the window's search builds: prefix + metric threshold.
        where = (
            "starts_with(m.name, ?) AND EXISTS (SELECT 1 FROM version_metrics vm "
            "WHERE vm.version_id = v.id AND vm.key = ? AND vm.value >= ?)"
        )
        params = ["churn-", "roc_auc", 0.9]
        expected = [
            r
            for r in records
            if r.name.startswith("churn-") and r.metrics and r.metrics["roc_auc"] >= 0.9
        ]
        assert reg.count_versions(where, params) == len(expected) > 0
        page = reg.list_versions(where=where, params=params, limit=100)
        assert len(page) == min(100, len(expected))
        assert all(p.name.startswith("churn-") and p.metrics["roc_auc"] >= 0.9 for p in page)

        report = reg.verify_audit()
        assert report.ok, report.problem
        events = reg.audit_events(limit=None, newest_first=False)
    actions = [e.action for e in events]
    assert actions.count("model.created") == N_MODELS
    assert actions.count("version.registered") == 10_000
    # A model's creation comes before its first version.
    first_version = actions.index("version.registered")
    assert events[first_version - 1].action == "model.created"

    # One-by-one writes continue the numbering and the chain.
    extra = reg.artifacts.put_bytes(b"one more")[0]
    added = reg.add_version("credit-004", sha256=extra, size=8, format="skops")
    assert added.version.version == N_ARTIFACTS + 1
    assert reg.verify_audit().ok


def test_same_rows_and_events_as_add_version(tmp_path: Path):
    one = Registry(tmp_path / "one", actor="tester")
    bulk = Registry(tmp_path / "bulk", actor="tester")
    shas = _artifacts(one, 5)
    assert _artifacts(bulk, 5) == shas
    records = [
        VersionRecord(
            name=f"m{i % 3}",
            sha256=shas[i % 5],
            size=14,
            format="skops",
            estimator_class="X",
            params={"a": i},
            metrics={"auc": 0.5 + i / 100, "loss": math.nan},
            tags={"k": str(i)},
            status="ok",
        )
        for i in range(12)
    ]
    records.append(records[0])  # identical bytes again: maps to the existing version
    ids = [
        one.add_version(
            r.name,
            sha256=r.sha256,
            size=r.size,
            format=r.format,
            estimator_class=r.estimator_class,
            params=r.params,
            metrics=r.metrics,
            tags=r.tags,
        ).version.id
        for r in records
    ]
    result = bulk_add_versions(bulk, [vars(r) for r in records])  # plain dicts work too
    assert result.version_ids == ids
    assert result.created == 12
    assert result.existing == 1

    def rows(reg: Registry) -> list[tuple]:
        return [
            (v.id, v.name, v.version, v.sha256, v.params, v.tags, v.estimator_class)
            for v in reg.list_versions(order_by="v.id")
        ]

    def events(reg: Registry) -> list[tuple]:
        return [
            (e.seq, e.action, e.entity_type, e.entity_id, e.before, e.after, e.actor)
            for e in reg.audit_events(limit=None, newest_first=False)
        ]

    assert rows(bulk) == rows(one)
    assert events(bulk) == events(one)
    got = bulk.list_versions("m0")[0].metrics
    assert got["auc"] == 0.5
    assert math.isnan(got["loss"])  # a NaN metric stays NaN, not NULL
    assert bulk.verify_audit().ok


def test_missing_artifact_writes_nothing(reg: Registry):
    shas = _artifacts(reg, 3)
    bulk_add_versions(reg, [VersionRecord("keep", shas[0], 14, "skops")])
    before = _snapshot(reg)
    records = [VersionRecord(f"m{i}", shas[i % 3], 14, "skops") for i in range(5000)]
    records[2500] = VersionRecord("m-missing", "ab" * 32, 14, "skops")
    with pytest.raises(NotFound, match="not in the store"):
        bulk_add_versions(reg, records)
    assert _snapshot(reg) == before
    assert reg.verify_audit().ok


def test_failure_inside_the_transaction_rolls_back(reg: Registry):
    shas = _artifacts(reg, 3)
    bulk_add_versions(reg, [VersionRecord("keep", shas[0], 14, "skops")])
    before = _snapshot(reg)
    records = [VersionRecord(f"m{i}", shas[i % 3], 14, "skops") for i in range(20_000)]
    # A bad metric is only found while rows are being prepared inside the transaction.
    records[15_000] = VersionRecord("bad", shas[1], 14, "skops", metrics={"auc": "high"})
    with pytest.raises(InvalidInput, match="bad metric"):
        bulk_add_versions(reg, records)
    assert _snapshot(reg) == before

    # Cancelled after every row was inserted, just before the commit.
    stage: list[str] = []
    good = [VersionRecord(f"m{i}", shas[i % 3], 14, "skops") for i in range(20_000)]
    with pytest.raises(Cancelled):
        bulk_add_versions(
            reg,
            good,
            progress=lambda _f, s: stage.append(s),
            cancel=lambda: bool(stage) and stage[-1] == "committing",
        )
    assert stage[-1] == "committing"
    assert _snapshot(reg) == before
    assert reg.verify_audit().ok


def test_bad_records_are_refused(reg: Registry):
    sha = _artifacts(reg, 1)[0]
    with pytest.raises(InvalidInput, match="bad model name"):
        bulk_add_versions(reg, [VersionRecord("a/b", sha, 1, "skops")])
    with pytest.raises(InvalidInput, match="unknown version record fields"):
        bulk_add_versions(reg, [{"name": "a", "sha256": sha, "size": 1, "format": "x", "zz": 1}])
    with pytest.raises(InvalidInput, match="incomplete"):
        bulk_add_versions(reg, [{"name": "a"}])
    assert bulk_add_versions(reg, []).created == 0
    assert reg.count_versions() == 0


def test_append_metrics_keeps_nan(reg: Registry):
    # The columnar path turns numpy NaN into NULL unless told otherwise; a diverged
    # loss must read back as NaN in a plain array, not as a masked value.
    run = reg.create_run("train")
    reg.append_metrics(run, "loss", [1.0, math.nan, 3.0])
    got = reg.metric_history(run, "loss")["value"]
    assert not hasattr(got, "mask")
    assert got[0] == 1.0 and math.isnan(got[1]) and got[2] == 3.0
