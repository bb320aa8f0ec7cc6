"""Moved to :mod:`modelward.core.demo.monitoring`.

Temporary: kept only so the faces import until the lead applies FACES.sed after
merging issue 13; delete this file then. Core, tests and bench import the new home.
"""

from modelward.core.demo.monitoring import add_monitoring_demo

__all__ = ["add_monitoring_demo"]
