"""Model cards and validation reports, generated offline from registry facts."""

from __future__ import annotations

from modelward.core.evidence.reports.facts import gather_facts
from modelward.core.evidence.reports.render import charts, load_template, render_html, write_html

__all__ = ["charts", "gather_facts", "load_template", "render_html", "write_html"]
