"""Moved to :mod:`modelward.core.evidence.reports.facts`.

Temporary: kept only so the faces import until the lead applies FACES.sed after
merging issue 13; delete this file then. Core, tests and bench import the new home.
"""

from modelward.core.evidence.reports.facts import gather_facts

__all__ = ["gather_facts"]
