"""Settings: defaults, round trip, migrations, env overrides, corrupt files."""

from __future__ import annotations

import json

import pytest

from modelward.core.errors import InvalidInput
from modelward.core.settings import (
    SCHEMA_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)


def test_defaults_live_in_the_dataclass_and_the_file_is_in_the_isolated_config(tmp_path):
    s = load_settings()
    assert s == Settings()
    assert s.theme == "system"
    # The autouse fixture points XDG_CONFIG_HOME into a temp folder.
    assert "config" in str(settings_path())
    assert not settings_path().exists()


def test_round_trip(tmp_path):
    p = tmp_path / "s.json"
    s = Settings(theme="dark", watched_folders=["/a", "/b"], drift_threshold=0.3)
    save_settings(s, p)
    assert load_settings(p) == s
    assert json.loads(p.read_text())["schema_version"] == SCHEMA_VERSION


def test_old_schemas_are_migrated(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"home": "/reg", "watch_folder": "/inbox", "theme": "light"}))
    s = load_settings(p)
    assert s.registry == "/reg"
    assert s.watched_folders == ["/inbox"]
    assert s.theme == "light"
    assert s.schema_version == SCHEMA_VERSION


def test_unknown_keys_are_ignored(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "from_the_future": 1}))
    assert load_settings(p) == Settings()


def test_env_overrides_win_and_are_not_saved(tmp_path, monkeypatch):
    p = tmp_path / "s.json"
    save_settings(Settings(theme="light"), p)
    monkeypatch.setenv("MODELWARD_THEME", "dark")
    monkeypatch.setenv("MODELWARD_MAX_JOBS", "4")
    s = load_settings(p)
    assert (s.theme, s.max_jobs) == ("dark", 4)
    assert load_settings(p, env=False).theme == "light"
    monkeypatch.setenv("MODELWARD_MAX_JOBS", "lots")
    with pytest.raises(InvalidInput, match="max_jobs"):
        load_settings(p)


def test_settings_file_env_var(tmp_path, monkeypatch):
    p = tmp_path / "custom.json"
    monkeypatch.setenv("MODELWARD_SETTINGS", str(p))
    save_settings(Settings(theme="dark"))
    assert p.is_file()
    assert load_settings().theme == "dark"


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"theme": "purple"}'])
def test_corrupt_file_gives_defaults_and_is_kept_aside(tmp_path, content):
    p = tmp_path / "s.json"
    p.write_text(content)
    assert load_settings(p, env=False) == Settings()
    assert (tmp_path / "s.json.bad").read_text() == content


def test_validation_names_the_field():
    with pytest.raises(InvalidInput, match="theme"):
        Settings(theme="neon").validate()
    with pytest.raises(InvalidInput, match="drift_threshold"):
        Settings().replace(drift_threshold=-1)
