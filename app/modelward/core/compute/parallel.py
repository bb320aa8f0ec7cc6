"""Where the numeric work of a job runs: thread limits and joblib backends.

* BLAS and OpenMP get one thread per job by default (threadpoolctl). On a busy
  2-core machine a HistGradientBoosting fit took 40-50 s with 2 OpenMP threads
  fighting other jobs, and 3 s with 1.
* Folds and search candidates go through joblib: in-process for ``n_jobs=1``,
  loky worker processes for ``n_jobs > 1`` (the frozen app runs loky children
  through :mod:`modelward.core.workers`), or a Dask cluster through joblib's
  ``dask`` backend when a scheduler address is configured (optional extra
  ``modelward[dask]``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from modelward.core.errors import InvalidInput, ModelWardError

__all__ = ["DASK_ENV", "Compute", "limited_threads", "run_tasks"]

DASK_ENV = "MODELWARD_DASK_SCHEDULER"


@dataclass(frozen=True)
class Compute:
    """How a job may use the machine (never part of a recipe: it does not change results).

    Parameters
    ----------
    n_jobs
        Folds / candidates fitted at once (joblib ``n_jobs``; ``-1`` = all cores).
    blas_threads
        BLAS / OpenMP threads per fit.
    dask_scheduler
        ``tcp://host:port`` of a Dask scheduler; ``None`` reads
        ``MODELWARD_DASK_SCHEDULER``; ``""`` forces local work.
    """

    n_jobs: int = 1
    blas_threads: int = 1
    dask_scheduler: str | None = None

    def scheduler(self) -> str | None:
        addr = self.dask_scheduler
        if addr is None:
            addr = os.environ.get(DASK_ENV, "")
        return addr.strip() or None


@contextlib.contextmanager
def limited_threads(n: int = 1) -> Iterator[None]:
    """Limit BLAS and OpenMP thread pools to ``n`` threads while inside.

    OpenMP limits apply to the calling thread (each job thread sets its own);
    BLAS limits are process-wide, which is what a machine shared by jobs wants.
    """
    from threadpoolctl import threadpool_limits  # deferred: start-up cost

    with threadpool_limits(limits=max(1, int(n))):
        yield


def _limited_call(fn: Callable[..., Any], args: tuple[Any, ...], threads: int) -> Any:
    with limited_threads(threads):
        return fn(*args)


@contextlib.contextmanager
def _dask_client(address: str) -> Iterator[Any]:
    try:
        from distributed import Client  # deferred: start-up cost
    except ImportError:
        raise ModelWardError(
            "a Dask scheduler is configured, but Dask support is not installed; "
            "install the optional extra modelward[dask] or clear the scheduler address"
        ) from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as e:
        raise ModelWardError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


def run_tasks(
    fn: Callable[..., Any],
    tasks: Iterable[tuple[Any, ...]],
    compute: Compute,
) -> Iterator[Any]:
    """Run ``fn(*task)`` for every task; yield results as they finish (any order).

    Each call runs with BLAS/OpenMP limited to ``compute.blas_threads``. With
    ``n_jobs == 1`` and no Dask scheduler, calls run one after the other in
    this thread (no pickling, nothing to start). Closing the generator early
    (on cancel) stops tasks that have not started.
    """
    tasks = list(tasks)
    address = compute.scheduler()
    if address is None and (compute.n_jobs == 1 or len(tasks) <= 1):
        with limited_threads(compute.blas_threads):
            for t in tasks:
                yield fn(*t)
        return
    import joblib  # deferred: start-up cost

    if compute.n_jobs == 0:
        raise InvalidInput("n_jobs must not be 0")
    calls = (joblib.delayed(_limited_call)(fn, t, compute.blas_threads) for t in tasks)
    if address is not None:
        with _dask_client(address) as client, client.as_current():
            # joblib's dask backend picks up the current client when it is configured,
            # so the client is made current first (for this thread only).
            with joblib.parallel_config(backend="dask"):
                yield from joblib.Parallel(
                    n_jobs=compute.n_jobs if compute.n_jobs != 1 else -1,
                    return_as="generator_unordered",
                )(calls)
        return
    yield from joblib.Parallel(
        n_jobs=compute.n_jobs, backend="loky", return_as="generator_unordered"
    )(calls)
