"""Qt-free core of ModelWard, on three floors; an import only points down.

- kernel: ``errors``, ``clock``, ``refs``, ``paths``, ``domain``, ``duck``,
  ``progress``, ``platform``, ``text``, ``settings``, ``query``, ``jobs``, ``workers``,
  ``identity`` (personal signing keys);
- storage: ``registry`` (the DuckDB file, its audit trail) above ``artifacts``
  (the content-addressed store, formats, the trust boundary);
- services: ``tables`` (the strict reader of data files), then
  ``compute`` | ``monitoring`` | ``retention`` | ``datasets``, then
  ``intake`` (the one door for every file), then ``policies`` | ``evidence``,
  then ``watch``, then the ``demo`` and the worker process's entry
  (``worker_side``).

Nothing in this package imports Qt. The floors are import-linter contracts
(``pyproject.toml``); a test checks that no import cycle exists.
"""

from __future__ import annotations

from modelward.core.errors import ModelWardError

__all__ = ["ModelWardError"]
