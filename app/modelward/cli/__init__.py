"""``modelward``: the command line face of the same core the window uses.

Every command takes ``--registry PATH`` and ``--json``. Each command group is a
module here (:mod:`~modelward.cli.registry`, :mod:`~modelward.cli.audit`,
:mod:`~modelward.cli.watch`, :mod:`~modelward.cli.compute`,
:mod:`~modelward.cli.monitoring`, :mod:`~modelward.cli.policies`,
:mod:`~modelward.cli.evidence`, :mod:`~modelward.cli.app`) that declares its
subcommands and returns a :class:`~modelward.cli.output.Result` from each
handler; :mod:`~modelward.cli.output` prints it as text or JSON, so both agree
on content and exit code. A handler imports the core it needs inside itself
(``# deferred: start-up cost``): ``modelward list`` should not pay for training,
bundles or policies, nor the window's start for any command. Errors print one line on stderr (and a JSON document
with ``--json``) and exit non-zero; a traceback never reaches the user (it goes
to ``logs/modelward.log`` under the registry home when something unexpected
happens).
"""

from __future__ import annotations

from modelward.cli.entry import build_parser, main

__all__ = ["build_parser", "main"]
