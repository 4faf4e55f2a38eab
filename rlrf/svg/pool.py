"""Render many SVGs in worker processes with a hard time and memory limit per render.

A plausible model roll-out has made CairoSVG loop forever with memory past 11 GB, so the
limit is enforced from outside the renderer (DESIGN.md, rendering contract): each render
is a `pebble.ProcessPool` task with a wall-clock timeout — on expiry pebble kills that
worker and starts a fresh one — and each worker caps its own address space with
`RLIMIT_AS`. A crash, a timeout or an allocation failure comes back as a `RenderFailure`
in the right slot; the batch always completes. Only a renderer that cannot load at all
(CairoSVG or the Cairo C library missing) raises, `RendererUnavailable`, before any worker
starts.

Workers start from a `forkserver` (not a fork of a large, threaded trainer), so the
address-space cap is not inherited from the parent's footprint; like every
spawn/forkserver pool this needs scripts to guard their entry point with
`if __name__ == "__main__":`.
"""

from __future__ import annotations

import atexit
import functools
import logging
import multiprocessing
import multiprocessing.util
import os
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout

from rlrf.config import RenderConfig
from rlrf.svg.render import RenderFailure, RenderResult
from rlrf.svg.render import render_unbounded as render

log = logging.getLogger(__name__)


# Recycle workers now and then so slow leaks/fragmentation never reach the memory cap.
_TASKS_PER_WORKER = 2000
# A broken pool (pebble aborts every queued task) is rebuilt and the aborted tasks rerun
# this many times; a task that keeps breaking pools then counts as a worker crash.
_BROKEN_RETRIES = 2
_BROKEN = object()
# seconds a batch may take beyond its tasks' own timeouts run back to back (worker start-up)
_STALL_S = 120.0
_CLOSE_S = 15.0  # seconds `close` waits for pebble to stop before giving up on it


class RendererUnavailable(RuntimeError):
    """CairoSVG cannot render in this environment (the package or the Cairo C library is
    missing): an error of the installation, never of an SVG, so it stops the caller
    instead of turning every render into a `worker_crash`."""


@functools.cache
def check_renderer() -> None:
    """Import CairoSVG here (it loads libcairo) before starting workers that would each
    fail the same way in their initializer; raises `RendererUnavailable` with the reason.
    Once it succeeded in a process it is not tried again (a raise is not cached)."""
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError) as exc:
        raise RendererUnavailable(
            f"CairoSVG cannot render here: {type(exc).__name__}: {str(exc).splitlines()[0]} "
            "(the Cairo C library libcairo2 and the cairosvg package must be installed)") from exc


def _address_space_bytes() -> int:
    """This process's current virtual size (VmSize), 0 when /proc is not there."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _init_worker(memory_mb: int) -> None:
    """Runs once in each worker: single-threaded numeric libs, then the address-space cap.

    The cap is `memory_mb` on top of what the worker already maps: a worker that had to
    re-import a heavy `__main__` (spawn/forkserver do that) must not start over its limit.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    import cairosvg  # noqa: F401  (import before capping, once per worker, not per task)
    import numpy  # noqa: F401

    limit = _address_space_bytes() + memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class RenderPool:
    """Parallel, order-preserving, crash- and hang-proof `render` (see module docstring).

    Started lazily on first use; pickles as its limits only (a copy in another process
    starts its own workers), so rewards holding a pool stay picklable.
    """

    def __init__(self, limits: RenderConfig) -> None:
        self.limits = limits
        self._pool = None
        self._lock = threading.Lock()

    def _ensure(self):
        with self._lock:
            if self._pool is None or not self._pool.active:
                import pebble

                check_renderer()
                _allow_children()

                self._pool = pebble.ProcessPool(
                    max_workers=self.limits.workers,
                    max_tasks=_TASKS_PER_WORKER,
                    initializer=_init_worker,
                    initargs=(self.limits.memory_mb,),
                    context=multiprocessing.get_context("forkserver"),
                )
            return self._pool

    def map(self, fn, arg_tuples: Sequence[tuple]) -> list:
        """fn(*args) for each tuple in the workers, in order; a timeout, crash or memory
        failure of one call is a `RenderFailure` in its slot. `fn` must be importable
        (module level) and should return small values (features, not images)."""
        return self._map(fn, list(arg_tuples))

    def render_many(
        self, svgs: Sequence[str], size: int | tuple[int, int], pad_square: bool = True
    ) -> list[RenderResult]:
        """Render every SVG; result i belongs to svgs[i]. A hang costs at most `timeout_s`."""
        return self._map(render, [(svg, size, self.limits, pad_square) for svg in svgs])

    def _map(self, fn, arg_tuples: list[tuple]) -> list:
        """Run fn(*args) for each tuple in the workers; failures of the worker become values.

        When pebble declares the whole pool broken (a worker died outside any task, e.g. at
        start-up under memory pressure) it aborts every queued task, innocent ones included;
        a pool can also stop dispatching altogether (a worker that never starts). Those
        tasks run again on a fresh pool, up to `_BROKEN_RETRIES` times, before they count as
        `worker_crash`."""
        if not arg_tuples:
            return []
        results: list = [None] * len(arg_tuples)
        todo = list(range(len(arg_tuples)))
        for attempt in range(_BROKEN_RETRIES + 1):
            pool = self._ensure()
            futures = [(i, pool.schedule(fn, args=arg_tuples[i], timeout=self.limits.timeout_s)) for i in todo]
            # every task has its own timeout once a worker runs it; a batch that outlives all
            # of them back to back (+ start-up) has a pool that stopped dispatching (pebble
            # blocks forever sending to a worker that never started): rebuild, never hang
            waves = -(-len(todo) // max(1, self.limits.workers))
            deadline = time.monotonic() + _STALL_S + waves * self.limits.timeout_s
            aborted = []
            for i, future in futures:
                outcome = self._outcome(future, deadline)
                if outcome is _BROKEN and attempt < _BROKEN_RETRIES:
                    aborted.append(i)
                else:
                    results[i] = (RenderFailure("worker_crash", "BrokenProcessPool: the pool broke or stalled, retries spent")
                                  if outcome is _BROKEN else outcome)
            if not aborted:
                break
            log.warning("render pool broke (attempt %d): %d/%d tasks run again on a fresh pool",
                        attempt + 1, len(aborted), len(arg_tuples))
            self.close()
            todo = aborted
        n_crashed = sum(
            isinstance(r, RenderFailure) and r.reason == "worker_crash" for r in results
        )
        if n_crashed:
            # Workers start through forkserver, which re-imports `__main__`: a script without an
            # `if __name__ == "__main__":` guard makes every worker crash at start-up.
            log.warning("render pool: %d/%d tasks lost their worker", n_crashed, len(results))
        return results

    def _outcome(self, future, deadline: float):
        """The task's value, a `RenderFailure` for its own timeout / crash / memory failure,
        or `_BROKEN` when pebble aborted it because the pool broke or the batch outlived
        `deadline` with the task still unfinished."""
        from concurrent.futures.process import BrokenProcessPool

        import pebble

        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            if not future.done():  # the batch's deadline, not the task's own timeout
                future.cancel()
                return _BROKEN
            return RenderFailure("timeout", f"> {self.limits.timeout_s:g} s")
        except MemoryError:
            return RenderFailure("memory", "worker ran out of its address space")
        except pebble.ProcessExpired as exc:
            return RenderFailure("worker_crash", f"exit code {exc.exitcode}")
        except BrokenProcessPool:
            return _BROKEN
        except Exception as exc:  # noqa: BLE001  (e.g. a result that failed to unpickle)
            return RenderFailure("worker_crash", f"{type(exc).__name__}: {exc}"[:300])

    def close(self) -> None:
        """Stop the workers. pebble's join can block on a scheduler thread stuck writing to
        a dead worker, so the stop runs in a daemon thread and is abandoned (loudly) after
        `_CLOSE_S` rather than hanging the caller."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        stopper = threading.Thread(target=_stop, args=(pool,), daemon=True, name="render-pool-stop")
        stopper.start()
        stopper.join(_CLOSE_S)
        if stopper.is_alive():
            log.warning("render pool: workers did not stop within %g s; left to exit with the process", _CLOSE_S)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"limits": self.limits}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["limits"])


def _stop(pool) -> None:
    pool.stop()
    try:
        pool.join(timeout=5)
    except TimeoutError:
        log.warning("render pool: workers still running 5 s after stop")


def _allow_children() -> None:
    """Let a daemonic process (a Dask worker, a `multiprocessing` pool child) start the
    render workers: multiprocessing refuses children to daemonic processes, yet the
    workers are stopped with the pool (`close`, at exit, or when their parent's pipe
    closes), so nothing is orphaned."""
    proc = multiprocessing.current_process()
    if proc._config.get("daemon"):  # noqa: SLF001 - the flag multiprocessing checks in Process.start
        log.debug("render pool: starting workers from daemonic process %s", proc.name)
        proc._config["daemon"] = False  # noqa: SLF001


_SHARED: dict[tuple[int, RenderConfig], RenderPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(limits: RenderConfig) -> RenderPool:
    """One pool per process and per limits, closed at interpreter exit."""
    key = (os.getpid(), limits)
    with _SHARED_LOCK:
        pool = _SHARED.get(key)
        if pool is None:
            pool = _SHARED[key] = RenderPool(limits)
            # atexit never runs in a multiprocessing child (a process task runner's worker
            # leaves through os._exit); multiprocessing's own finalizers do
            multiprocessing.util.Finalize(None, pool.close, exitpriority=10)
        return pool


@atexit.register
def _close_shared() -> None:
    for (pid, _), pool in list(_SHARED.items()):
        if pid == os.getpid():
            pool.close()
