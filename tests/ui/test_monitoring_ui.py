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
    assert method in ("ks", "psi", "wasserstein", "jensenshannon")
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
    assert "--reference" in page.empty.text()
