"""Names shown safely, JSON that never renders control text, CSV cells that stay data."""

from __future__ import annotations

import csv
import io
import json

import pytest

from modelward.cli.output import Result, emit, table
from modelward.core.errors import InvalidInput
from modelward.core.refs import validate_name
from modelward.core.text import csv_cell, dumps_json, safe_display, safe_lines, unsafe_chars

EVIL = "evil\nname\ttab\u202egpj"


def test_safe_display_escapes_control_and_bidi_characters():
    shown = safe_display(EVIL)
    assert shown == "evil\\nname\\ttab\\u202egpj"
    assert shown.isprintable()
    for ch in ["\u200b", "\u2066", "\x85", "\x00", "\x1b", "\u2028", "\U000e0041", "\r"]:
        out = safe_display(f"a{ch}b")
        assert ch not in out and out.isprintable(), repr(ch)
    # letters of every script, spaces and backslashes are kept as they are
    for kept in ["crédit âge", "信用模型", "C:\\models\\a b.joblib", "naïve-Bayes v2"]:
        assert safe_display(kept) == kept
    assert safe_display(None) == ""
    assert safe_display(3) == "3"


def test_safe_lines_keeps_line_breaks_only():
    assert safe_lines("one\u202e\ntwo\tx") == "one\\u202e\ntwo\\tx"


def test_json_escapes_bidi_and_controls_and_reads_back_exactly():
    doc = {"name": EVIL, "tag": "\U000e0001x", "plain": "crédit", "n": [1, None]}
    text = dumps_json(doc)
    assert json.loads(text) == doc
    assert "\u202e" not in text and "\t" not in text and "\U000e0001" not in text
    assert "\\u202e" in text and "crédit" in text  # readable letters stay readable
    one_line = dumps_json(doc, indent=None)
    assert "\n" not in one_line and json.loads(one_line) == doc


@pytest.mark.parametrize(
    "bad", [EVIL, "tab\there", "rtl\u202eoverride", "zero\u200bwidth", "bell\x07", "nel\x85"]
)
def test_names_with_control_or_invisible_characters_are_refused(bad):
    with pytest.raises(InvalidInput) as e:
        validate_name(bad)
    msg = str(e.value)
    assert "control or invisible" in msg
    for esc in unsafe_chars(bad):
        assert esc in msg
    assert msg.isprintable()  # the refusal itself renders nothing


def test_ordinary_names_are_still_accepted():
    for ok in ["credit-risk", "crédit âge v2", "信用", "model (copy)", "=1+2"]:
        validate_name(ok)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    cases = {
        "=1+2": "'=1+2",
        "+cmd": "'+cmd",
        "-1+2": "'-1+2",
        "@SUM(A1)": "'@SUM(A1)",
        "\tx": "'\tx",
        "\rx": "'\rx",
        "'quoted": "''quoted",
        "-0.5": "-0.5",
        "+3e-2": "+3e-2",
        "plain": "plain",
        "": "",
    }
    for value, expected in cases.items():
        assert csv_cell(value) == expected, value
        # the auditor's undo: one leading ' removed gives the value back
        cell = csv_cell(value)
        assert (cell[1:] if cell.startswith("'") else cell) == value
    for value in (5, -3, -0.25, None, True):
        assert csv_cell(value) == value


def test_cli_table_and_text_never_render_a_name(capsys):
    text = table(["NAME", "V"], [[EVIL, 1], ["ok", 2]])
    assert len(text.splitlines()) == 4  # header, rule, two rows: the newline did not split a row
    assert "\u202e" not in text and "\t" not in text
    emit(Result({"name": EVIL}, f"registered {EVIL}:1"), as_json=False)
    out = capsys.readouterr().out
    # a newline inside free text cannot be told from a line break: tables and
    # the handlers' cells escape it; the rest of the line is escaped here
    assert "\u202e" not in out and "\t" not in out and "name\\ttab\\u202egpj" in out
    emit(Result({"name": EVIL}, "x"), as_json=True)
    out = capsys.readouterr().out
    assert "\u202e" not in out and json.loads(out) == {"name": EVIL}


def test_csv_round_trip_through_the_csv_module():
    buf = io.StringIO()
    csv.writer(buf).writerow([csv_cell(v) for v in ["=HYPERLINK(x)", "-0.5", 7]])
    assert next(csv.reader(io.StringIO(buf.getvalue()))) == ["'=HYPERLINK(x)", "-0.5", "7"]


def test_streamed_lines_from_several_threads_stay_whole(monkeypatch):
    """``watch`` prints from the watcher's, the policies' and its own thread: no line runs into another."""
    import io
    import threading
    import time

    from modelward.cli.output import stream_line

    class Yielding(io.StringIO):
        def write(self, s: str) -> int:
            n = super().write(s)
            time.sleep(0)  # let another thread in between two writes
            return n

    out = Yielding()
    monkeypatch.setattr("sys.stdout", out)
    start = threading.Barrier(4)

    def speak(who: int) -> None:
        start.wait()
        for i in range(300):
            stream_line(f"thread {who} line {i}")

    threads = [threading.Thread(target=speak, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = out.getvalue().splitlines()
    assert sorted(got) == sorted(f"thread {w} line {i}" for w in range(4) for i in range(300))
