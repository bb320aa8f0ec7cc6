"""The headless demo's screenshots: every view is grabbed once its data is shown."""

from __future__ import annotations

import numpy as np

from modelward.ui.capture import LOADING, capture_views

REF = "credit-risk:1"


def _table(n: int, seed: int, shift: float = 0.0) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:, 0] += shift
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}, y


def _monitored_registry(home):
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.monitoring import service
    from modelward.core.registry import Registry

    reg = Registry(home)
    ref, y = _table(600, 1)
    X = np.column_stack([ref["a"], ref["b"], ref["c"]])
    v = api.log_model(
        LogisticRegression().fit(X, y), "credit-risk", registry=reg, tags={"features": "a,b,c"}
    )
    assert v.ref == REF
    reg.set_alias(REF, "champion", "first model")
    ref["y"] = y
    service.profile_version(reg, REF, ref, target="y")
    for month, shift in ((1, 0.0), (2, 1.0)):
        batch, yb = _table(300, 10 + month, shift)
        batch["y"] = yb
        service.check_batch(
            reg, REF, batch, name=f"2026-{month:02d}", batch_time=f"2026-{month:02d}-28",
            label_column="y",
        )  # fmt: skip
    reg.close()


def test_the_monitoring_screenshot_shows_the_data_not_loading(qtbot, tmp_path):
    home = tmp_path / "registry"
    _monitored_registry(home)
    seen: dict[str, tuple[str, int | None, bool]] = {}

    def on_grab(name, win):
        page = win.monitoring_page
        snap = page.snapshot
        seen[name] = (
            page.subtitle.text(),
            None if snap is None else snap.n_batches,
            page._hist_request is not None,
        )

    written = capture_views(home, tmp_path / "shots", on_grab=on_grab)
    assert [p.name for p in written] == [
        "registry.png",
        "model-page.png",
        "monitoring.png",
        "audit.png",
    ]
    subtitle, batches, histogram = seen["monitoring"]
    assert subtitle != LOADING
    assert batches == 2
    assert histogram  # the heatmap cell's distributions were read before the grab
    assert all(p.stat().st_size > 5_000 for p in written)
