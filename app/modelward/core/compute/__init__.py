"""Training, validation and comparison of scikit-learn models: pure functions.

Each long function takes ``progress`` and ``cancel`` (see
:mod:`modelward.core.progress`); none knows about threads or Qt. Heavy imports
(pandas, scikit-learn) happen inside the functions.
"""

from __future__ import annotations
