"""Moved to :mod:`modelward.core.demo.policy_loop`.

Temporary: kept only so the faces import until the lead applies FACES.sed after
merging issue 13; delete this file then. Core, tests and bench import the new home.
"""

from modelward.core.demo.policy_loop import LOOP_MODEL, run_demo_loop

__all__ = ["LOOP_MODEL", "run_demo_loop"]
