"""The kernel's time and reference helpers."""

from __future__ import annotations

import pytest

from modelward.core.clock import display_ts, utcnow
from modelward.core.errors import InvalidInput
from modelward.core.refs import parse_ref, validate_alias, validate_name


def test_stored_time_sorts_as_text_and_displays_without_t_and_fraction():
    a, b = utcnow(), utcnow()
    assert a <= b and a.endswith("Z") and len(a) == len("2026-03-01T09:30:00.123456Z")
    assert display_ts("2026-03-01T09:30:00.123456Z") == "2026-03-01 09:30:00"
    assert display_ts("2026-03-01T09:30:00.123456Z", minutes=True) == "2026-03-01 09:30"
    assert display_ts(None) == "" and display_ts("") == ""


def test_references_and_names():
    assert parse_ref(" credit ") == ("credit", None, None)
    assert parse_ref("credit:3") == ("credit", 3, None)
    assert parse_ref("credit@champion") == ("credit", None, "champion")
    for bad in ("", "credit:x", "@champion", "credit@"):
        with pytest.raises(InvalidInput):
            parse_ref(bad)
    validate_name("credit risk")
    for bad in (" credit", "a:b", "a@b", "a/b", "x" * 201):
        with pytest.raises(InvalidInput):
            validate_name(bad)
    validate_alias("champion")
    with pytest.raises(InvalidInput, match="bad alias"):
        validate_alias("1st")
