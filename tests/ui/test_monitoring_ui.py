"""The monitoring page: series from the registry, live updates, heatmap cell -> histograms,
exports (offscreen)."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

REF = "tiny:1"


def _table(n: int, seed: int, shift: float = 0.0) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:, 0] += shift
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}, y


def check(reg, month: int, shift: float, labels: bool = True) -> int:
    from modelward.core.monitoring import service

    batch, y = _table(300, 10 + month, shift)
    batch["y"] = y
    res = service.check_batch(
        reg,
        REF,
        batch,
        name=f"2026-{month:02d}",
        batch_time=f"2026-{month:02d}-28",
        label_column="y" if labels else None,
    )
    return res.batch_id


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """A registry with a tiny logistic model, its reference profile and three checked batches
    (the last drifted and without labels). Built once; each test gets a copy."""
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.monitoring import service
    from modelward.core.registry import Registry

    home = tmp_path_factory.mktemp("mon-ui") / "registry"
    reg = Registry(home)
    ref, y = _table(600, 1)
    X = np.column_stack([ref["a"], ref["b"], ref["c"]])
    v = api.log_model(
        LogisticRegression().fit(X, y), "tiny", registry=reg, tags={"features": "a,b,c"}
    )
    assert v.ref == REF
    ref["y"] = y
    service.profile_version(reg, REF, ref, target="y")
    check(reg, 1, 0.0)
    check(reg, 2, 0.0)
    check(reg, 3, 1.0, labels=False)
    reg.close()
    return home


@pytest.fixture
def window(make_main_window, monitored, tmp_path):
    """The main window on a copy of the monitored registry, monitoring page open and loaded."""
    from modelward.core.registry import Registry

    home = tmp_path / "copy"
    shutil.copytree(monitored, home)
    win = make_main_window(registry=Registry(home, idle_release=0.2))
    win.resize(1280, 800)
    return win


def open_page(qtbot, win, ref=REF):
    page = win.monitoring_page
    with qtbot.waitSignal(page.sig_histograms_shown, timeout=20_000):
        win.open_monitoring(ref)
    return page


def test_page_renders_series(qtbot, window):
    page = open_page(qtbot, window)
    assert page.isVisible() and window.pages.currentWidget() is page
    snap = page.snapshot
    assert snap.ref == REF and snap.n_batches == 3
    # realized solid for the labelled batches, estimated for the last one
    _, real = page.performance.realized.getData()
    _, est = page.performance.estimated.getData()
    assert np.isfinite(real).tolist() == [True, True, False]
    assert np.isfinite(est[-1])
    assert page.performance.band.isVisible()
    lo, hi = page.performance.band.getRegion()
    assert lo < snap.performance["reference"] < hi
    # drift share bars and the verdict threshold
    assert len(page.drift_share.bars.opts["height"]) == 3
    assert page.drift_share.threshold.value() == pytest.approx(0.5)
    # heatmap: feature x batch, the shifted feature red in the last batch
    assert page.heatmap.shape == (3, 3)
    assert snap.matrix["severity"][0, 2] == "red"
    assert snap.matrix["severity"][1, 0] == "ok"
    tip = page.heatmap.tooltip(0, 2)
    method = snap.matrix["method"][0, 2]
    reason = snap.details["reason"][0, 2]
    assert reason and reason in tip.replace("&gt;", ">").replace("&lt;", "<")
    assert "Threshold" in tip and "p-value" in tip and "drifted" in tip
    assert method in ("combined", "ks", "psi", "wasserstein", "jensenshannon")
    # the overlay opened on the strongest drift of the latest batch
    assert page.histogram.hist is not None and "a · 2026-03" in page.histogram.caption
    assert "batches" in page.subtitle.text() and "3" in page.subtitle.text()


def test_new_batch_appears_live(qtbot, window):
    page = open_page(qtbot, window)
    assert page.timer.isActive()
    bid = check(window.registry, 4, 2.0, labels=False)
    qtbot.waitUntil(lambda: page.snapshot.n_batches == 4, timeout=20_000)
    x, est = page.performance.estimated.getData()
    assert len(x) == 4 and np.isfinite(est[-1])
    assert page.heatmap.shape == (3, 4)
    assert int(page.snapshot.matrix["batch_id"][-1]) == bid
    assert len(page.drift_share.bars.opts["height"]) == 4
    assert "2026-04" in page.subtitle.text()


def test_clicking_a_heatmap_cell_shows_histograms(qtbot, window):
    from PySide6.QtCore import Qt

    page = open_page(qtbot, window)
    qtbot.waitUntil(lambda: page.heatmap.plot.isVisible())
    hm = page.heatmap
    i, j = 1, 0  # feature "b", first batch
    view_pos = hm.plot.mapFromScene(hm.cell_center(i, j))
    assert hm.cell_at(hm.cell_center(i, j)) == (i, j)
    bid = int(page.snapshot.matrix["batch_id"][j])
    with qtbot.waitSignal(page.sig_histograms_shown, timeout=10_000) as blocker:
        qtbot.mouseClick(hm.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert blocker.args == ["b", bid]
    h = page.histogram.hist
    assert h["kind"] == "numeric"
    assert h["reference"].sum() == pytest.approx(1.0) and h["current"].sum() == pytest.approx(1.0)
    assert page.histogram.caption.startswith("b · 2026-01")
    assert len(page.histogram._items) == 2  # reference and current, overlaid
    assert hm.selected.isVisible()


def test_exports_write_png_svg_and_csv(qtbot, window, tmp_path):
    page = open_page(qtbot, window)
    out = tmp_path / "out"
    out.mkdir()
    wanted = {
        "performance": out / "perf.png",
        "heatmap": out / "heatmap.svg",
        "drift_share": out / "share.csv",
        "histogram": out / "hist.csv",
    }
    saved = []
    page.sig_export_saved.connect(saved.append)
    for chart, path in wanted.items():
        page.export_chart(chart, str(path))
    qtbot.waitUntil(lambda: len(saved) == len(wanted), timeout=20_000)
    assert wanted["performance"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in wanted["heatmap"].read_bytes()[:2000]
    rows = list(csv.reader(wanted["drift_share"].open(encoding="utf-8")))
    assert rows[0][:4] == ["batch_id", "batch", "batch_time", "n_rows"]
    assert [r[1] for r in rows[1:]] == ["2026-01", "2026-02", "2026-03"]
    hist = list(csv.reader(wanted["histogram"].open(encoding="utf-8")))
    assert hist[0] == ["bin", "lower", "upper", "reference", "current"]
    assert sum(float(r[3]) for r in hist[1:]) == pytest.approx(1.0)


def test_reachable_from_the_model_page_and_the_navigation(qtbot, window):
    from modelward.ui.main_window import Page

    window.open_model("tiny", 1)
    qtbot.waitSignal(window.sig_model_page_loaded, timeout=10_000)
    qtbot.waitUntil(lambda: window.model_page.data is not None, timeout=10_000)
    page = window.monitoring_page
    with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
        window.model_page.monitor_button.click()
    assert window.pages.currentIndex() == Page.MONITORING and page.snapshot.ref == REF
    window.show_page(Page.REGISTRY)
    page.ref = ""
    page.snapshot = None
    with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
        window.show_page(Page.MONITORING)  # no version chosen: the first monitored one
    assert page.version_combo.currentText() == REF


def test_empty_registry_says_how_to_start(qtbot, make_main_window):
    from modelward.ui.main_window import Page

    win = make_main_window()
    page = win.monitoring_page
    win.show_page(Page.MONITORING)
    qtbot.waitUntil(lambda: page.body.currentIndex() == 1, timeout=10_000)
    assert "No version is monitored yet" in page.empty.text()
    # How to start, said as the window's steps (issue 18: no command to run).
    assert "Watched folders → Add folder…" in page.empty.text()
    assert "modelward " not in page.empty.text() and "--" not in page.empty.text()


def _kind_registry(home, kind: str) -> None:
    """A registry with one regressor or 3-class model named ``k``, profiled, with two
    labelled batches and a drifted unlabelled one."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from modelward import api
    from modelward.core.monitoring import service
    from modelward.core.registry import Registry

    def table(n: int, seed: int, shift: float = 0.0):
        t, _ = _table(n, seed, shift)
        z = t["a"] + t["b"] + np.random.default_rng(seed + 1).normal(scale=0.3, size=n)
        if kind == "regression":
            y = 5.0 + 2.0 * z
        else:
            y = np.where(z < -0.6, "low", np.where(z < 0.6, "mid", "high"))
        return t, y

    reg = Registry(home)
    ref, y = table(900, 1)
    X = np.column_stack([ref["a"], ref["b"], ref["c"]])
    est = LinearRegression() if kind == "regression" else LogisticRegression(max_iter=500)
    api.log_model(est.fit(X, y), "k", registry=reg, tags={"features": "a,b,c"})
    ref["y"] = y
    service.profile_version(reg, "k:1", ref, target="y")
    for month, shift, labelled in ((1, 0.0, True), (2, 0.0, True), (3, 1.0, False)):
        batch, yb = table(300, 10 + month, shift)
        if labelled:
            batch["y"] = yb
        service.check_batch(
            reg,
            "k:1",
            batch,
            name=f"2026-{month:02d}",
            batch_time=f"2026-{month:02d}-28",
            label_column="y" if labelled else None,
        )
    reg.close()


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_page_shows_the_metrics_of_the_model_kind(qtbot, make_main_window, tmp_path, kind):
    from modelward.core.registry import Registry
    from modelward.ui.charts.monitoring import metric_label

    home = tmp_path / f"reg-{kind}"
    _kind_registry(home, kind)
    win = make_main_window(registry=Registry(home, idle_release=0.2))
    page = open_page(qtbot, win, "k:1")
    snap = page.snapshot
    assert snap.kind == kind and snap.n_batches == 3
    combo = [page.metric_combo.itemData(i) for i in range(page.metric_combo.count())]
    classification = {"roc_auc", "precision", "recall", "f1"}
    if kind == "regression":
        assert snap.metric == "rmse" and combo[:3] == ["rmse", "mae", "r2"]
        assert not classification & set(combo) and "accuracy" not in combo
        title = page.performance.item.titleLabel.text
        assert "RMSE (lower is better)" in title
        assert page.performance.item.getAxis("left").labelText == "RMSE"
        # estimated by direct loss estimation for the unlabelled batch
        _, est = page.performance.estimated.getData()
        assert np.isfinite(est[-1])
        page.metric_combo.setCurrentIndex(combo.index("r2"))
        with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
            page.metric_combo.activated.emit(combo.index("r2"))
        assert page.snapshot.metric == "r2" and "R²" in page.performance.item.titleLabel.text
        _, real = page.performance.realized.getData()
        assert np.isfinite(real).tolist() == [True, True, False]
        assert "no estimate of R² without labels" in page.subtitle.text()
    else:
        assert snap.metric == "accuracy"
        assert {"accuracy", "f1_macro", "f1_weighted", "log_loss"} <= set(combo)
        assert {"recall[high]", "recall[low]", "recall[mid]"} <= set(combo)
        assert not {"roc_auc", "precision", "f1"} & set(combo)
        assert metric_label("recall[low]") == "Recall (low)"
        assert [page.metric_combo.itemText(i) for i in range(3)] == [
            "Accuracy",
            "Balanced accuracy",
            "F1 (macro)",
        ]
        _, real = page.performance.realized.getData()
        _, est = page.performance.estimated.getData()
        # the window shows the same accuracy the service computed and stored
        assert real[0] > 0.8 and np.isfinite(est[-1])
        assert "confidence-based estimate" in page.subtitle.text()
        page.metric_combo.setCurrentIndex(combo.index("log_loss"))
        with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
            page.metric_combo.activated.emit(combo.index("log_loss"))
        assert "Log loss (lower is better)" in page.performance.item.titleLabel.text
    assert f"· {kind}" in page.title.text()


def test_opens_on_the_champion_marked_in_the_version_list(qtbot, make_main_window, tmp_path):
    """tiny:1 has the recent batches, tiny:2 is the champion: the page opens on tiny:2."""
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.monitoring import service
    from modelward.core.registry import Registry

    reg = Registry(tmp_path / "r", idle_release=0.2)
    ref, y = _table(400, 1)
    X = np.column_stack([ref["a"], ref["b"], ref["c"]])
    for _ in range(2):
        api.log_model(
            LogisticRegression().fit(X, y), "tiny", registry=reg, tags={"features": "a,b,c"}
        )
    ref["y"] = y
    for r in ("tiny:1", "tiny:2"):
        service.profile_version(reg, r, ref, target="y")
    check(reg, 1, 0.0)
    reg.set_alias("tiny:2", "champion", "better on the holdout")
    win = make_main_window(registry=reg)
    page = win.monitoring_page
    with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
        win.show_monitoring()  # no version chosen
    assert page.snapshot.ref == "tiny:2"
    assert page.version_combo.currentData() == "tiny:2"
    assert "★ champion" in page.version_combo.currentText()
    assert page.version_combo.itemData(1) == "tiny:1"
    assert "★" not in page.version_combo.itemText(1)


def test_zero_drift_share_is_drawn_and_empty_series_say_so(qtbot, window):
    from datetime import UTC, datetime

    from modelward.core.monitoring import service

    page = open_page(qtbot, window)
    # three monthly batches land on three months
    months = {datetime.fromtimestamp(float(t), UTC).month for t in page.snapshot.times}
    assert months == {1, 2, 3}
    same, y = _table(600, 1)  # the reference itself: nothing drifted
    same["y"] = y
    with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
        service.check_batch(window.registry, REF, same, batch_time="2026-04-28", label_column="y")
    snap = page.snapshot
    assert snap.n_batches == 4 and snap.batches["drift_share"][-1] == 0.0
    heights = np.asarray(page.drift_share.bars.opts["height"])
    assert len(heights) == 4 and (heights > 0).all()  # 0 % is drawn, not left blank
    assert page.drift_share.empty_note.isHidden()
    # no protected attribute and no segments yet: the chart says so, with the way to get them
    note = page.groups.empty_note
    assert not note.isHidden() and "--protected" in note.text()


def test_group_gaps_and_segments_are_drawn(qtbot, window):
    from modelward.core.monitoring import service
    from modelward.core.registry import Registry

    page = open_page(qtbot, window)
    reg = window.registry
    batch, y = _table(600, 40)
    rng = np.random.default_rng(40)
    batch["y"] = y
    batch["region"] = np.array(rng.choice(["north", "south"], 600), dtype=object)
    batch["sex"] = np.where(batch["a"] > 0.3, "f", "m").astype(object)
    with qtbot.waitSignal(page.sig_snapshot_shown, timeout=20_000):
        res = service.check_batch(
            reg,
            REF,
            batch,
            name="2026-04",
            batch_time="2026-04-28",
            label_column="y",
            segment_by="region",
            protected="sex",
        )
    assert isinstance(reg, Registry) and "selection_rate_ratio" in res.groups["crossed"]
    snap = page.snapshot
    assert snap.groups_batch == "2026-04" and set(snap.groups["by_group"]) == {"f", "m"}
    # groups in order, then segments by size
    assert page.groups.labels[:2] == ["f", "m"] and set(page.groups.labels[2:]) == {
        "north",
        "south",
    }
    assert page.groups.empty_note.isHidden()
    assert "⚠" in page.lower_tabs.tabText(1)
    heights = np.asarray(page.groups.selection.opts["height"])
    assert heights.tolist() == pytest.approx(
        [snap.groups["by_group"][k]["selection_rate"] for k in ("f", "m")]
    )
    header, rows = page.groups.table()
    assert header[:3] == ["batch", "attribute", "group"] and len(rows) == 4
