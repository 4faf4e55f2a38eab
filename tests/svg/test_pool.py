import os
import pickle
import socket
import threading
import time

import numpy as np

from rlrf.config import RenderConfig
from rlrf.svg.pool import RenderPool, shared_pool
from rlrf.svg.render import RenderFailure
from rlrf.svg.render import render_unbounded as render

OK = '<svg viewBox="0 0 10 10"><rect x="2" y="2" width="6" height="6" fill="#000"/></svg>'
HOSTILE_TIMEOUT = 2.0
MANY_CIRCLES = '<svg viewBox="0 0 100 100">' + '<circle cx="5" cy="5" r="1"/>' * 200_000 + "</svg>"
HUGE_PATTERN = (
    '<svg viewBox="0 0 100 100"><defs><pattern id="p" width="90000" height="90000" '
    'patternUnits="userSpaceOnUse"><rect width="5" height="5"/></pattern></defs>'
    '<rect width="100" height="100" fill="url(#p)"/></svg>'
)


def test_order_preserved_and_matches_in_process(pool):
    svgs = [OK, "", OK.replace("#000", "#f00"), "<svg><rect"]
    results = pool.render_many(svgs, 32)
    assert len(results) == 4
    assert np.array_equal(results[0], render(OK, 32))
    assert results[1].reason == "rejected:empty"
    assert tuple(results[2][16, 16]) == (255, 0, 0)
    assert results[3].reason == "rejected:parse_error"


def test_hang_costs_at_most_the_timeout_and_pool_survives(hostile_pool):
    start = time.monotonic()
    results = hostile_pool.render_many([MANY_CIRCLES, OK], 64)
    elapsed = time.monotonic() - start
    assert results[0] == RenderFailure("timeout", results[0].detail)
    assert isinstance(results[1], np.ndarray)
    assert elapsed < HOSTILE_TIMEOUT + 3
    assert isinstance(hostile_pool.render_many([OK], 16)[0], np.ndarray)


def test_memory_blowup_is_a_value(hostile_pool):
    result = hostile_pool.render_many([HUGE_PATTERN], 64)[0]
    assert isinstance(result, RenderFailure) and result.reason in ("memory", "render_error")
    assert isinstance(hostile_pool.render_many([OK], 16)[0], np.ndarray)


def test_address_space_cap_is_what_stops_a_large_allocation():
    # A 8000x8000 pattern tile is a 256 MB cairo surface: fine in-process, over a 128 MB cap.
    svg = HUGE_PATTERN.replace("90000", "8000")
    assert isinstance(render(svg, 32), np.ndarray)
    with RenderPool(RenderConfig(memory_mb=128, timeout_s=5.0, workers=1)) as capped:
        assert capped.render_many([svg], 32)[0].reason == "memory"


def test_worker_crash_is_a_value_and_worker_respawns(pool):
    assert pool._map(os._exit, [(3,)])[0].reason == "worker_crash"
    assert isinstance(pool.render_many([OK], 16)[0], np.ndarray)


def test_no_network_connection_or_file_read_is_attempted(pool, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    before = os.stat(secret).st_atime_ns
    url = f"http://127.0.0.1:{port}/x"
    svgs = [
        f'<svg><image href="{url}.png" width="5" height="5"/></svg>',
        f'<svg xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="{url}.svg#a"/></svg>',
        f'<svg><style>@import url("{url}.css");</style></svg>',
        f'<svg><rect width="5" height="5" fill="url({url}.svg#g)"/></svg>',
        f'<svg><image href="file://{secret}" width="5" height="5"/></svg>',
        f'<svg><image href="{secret}" width="5" height="5"/></svg>',
        f'<svg><image href="{os.path.relpath(secret)}" width="5" height="5"/></svg>',
        f'<!DOCTYPE svg [<!ENTITY x SYSTEM "{url}">]><svg>&x;</svg>',
        f'<!DOCTYPE svg [<!ENTITY x SYSTEM "file://{secret}">]><svg>&x;</svg>',
    ]
    connections = []

    def accept():
        try:
            while True:
                connections.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    results = pool.render_many(svgs, 32)
    time.sleep(0.3)
    server.close()
    thread.join(1)
    assert all(
        isinstance(r, RenderFailure) and r.reason.startswith("rejected:") for r in results
    ), results
    assert connections == []
    assert os.stat(secret).st_atime_ns == before


def test_pool_pickles_and_shared_pool_is_a_singleton():
    limits = RenderConfig(timeout_s=1.5)
    assert shared_pool(limits) is shared_pool(limits)
    copy = pickle.loads(pickle.dumps(shared_pool(limits)))
    assert copy.limits == limits
    copy.close()


def _use_bomb(levels: int = 10, fan: int = 10) -> str:
    defs = ['<g id="l0"><circle r="1"/></g>']
    for i in range(1, levels):
        defs.append(f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * fan + "</g>")
    return (
        f'<svg viewBox="0 0 10 10"><defs>{"".join(defs)}</defs><use href="#l{levels - 1}"/></svg>'
    )


def test_every_hostile_class_fails_as_a_value_within_the_limit(pool):
    hostile = {
        "many_circles": MANY_CIRCLES,
        "nan": '<svg viewBox="0 0 10 10"><path d="M0 0 L NaN 5 Z"/></svg>',
        "huge_number": '<svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="1e308"/></svg>',
        "use_bomb": _use_bomb(),
        "deep": "<svg>" + "<g>" * 5000 + "</g>" * 5000 + "</svg>",
        "empty": "",
        "huge_pattern": HUGE_PATTERN,
        "billion_laughs": '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg>&b;</svg>',
    }
    start = time.monotonic()
    results = pool.render_many(list(hostile.values()), 64)
    elapsed = time.monotonic() - start
    for name, result in zip(hostile, results, strict=True):
        assert isinstance(result, RenderFailure), name
    assert elapsed < pool.limits.timeout_s + 3


def test_headline_render_is_the_bounded_pool():
    import rlrf.svg as svg_pkg

    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
    assert np.array_equal(svg_pkg.render(svg, 32, RenderConfig(workers=1)), render(svg, 32))
    assert svg_pkg.render is not svg_pkg.render_unbounded


class _Done:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def result(self, timeout=None):
        if self.error is not None:
            raise self.error
        return self.value


class _BreaksOnce:
    """A pebble-like pool whose first batch is aborted whole (what pebble does when a
    worker dies outside any task), then runs tasks normally."""

    def __init__(self, broken: bool):
        self.broken = broken

    def schedule(self, fn, args, timeout):
        from concurrent.futures.process import BrokenProcessPool

        if self.broken:
            return _Done(error=BrokenProcessPool("All workers expired"))
        return _Done(value=fn(*args))


def test_a_broken_pool_is_rebuilt_and_aborted_tasks_rerun(monkeypatch):
    """Before: one broken pool turned the whole batch into worker_crash failures (58 GT
    renders of an eval split scored as failed)."""
    pool = RenderPool(RenderConfig(workers=1))
    pools = iter([_BreaksOnce(True), _BreaksOnce(False)])
    monkeypatch.setattr(pool, "_ensure", lambda: next(pools))
    results = pool.map(len, [("ab",), ("abc",)])
    assert results == [2, 3]


def test_a_pool_that_keeps_breaking_fails_the_tasks_as_values(monkeypatch):
    pool = RenderPool(RenderConfig(workers=1))
    monkeypatch.setattr(pool, "_ensure", lambda: _BreaksOnce(True))
    results = pool.map(len, [("ab",)])
    assert results[0].reason == "worker_crash" and "BrokenProcessPool" in results[0].detail


class _Never:
    """A future of a pool that stopped dispatching: never done."""

    def result(self, timeout=None):
        from concurrent.futures import TimeoutError as FutureTimeout

        time.sleep(min(timeout or 0.0, 0.05))
        raise FutureTimeout()

    def done(self):
        return False

    def cancel(self):
        return False


class _Stalled:
    def schedule(self, fn, args, timeout):
        return _Never()


def test_a_stalled_pool_fails_the_batch_instead_of_hanging(monkeypatch):
    """Before: a pool whose worker never started blocked `Future.result()` forever (seen
    with a script that lacked the `__main__` guard)."""
    import rlrf.svg.pool as pool_mod

    monkeypatch.setattr(pool_mod, "_STALL_S", 0.1)
    pool = RenderPool(RenderConfig(workers=1, timeout_s=0.1))
    monkeypatch.setattr(pool, "_ensure", lambda: _Stalled())
    start = time.monotonic()
    results = pool.map(len, [("ab",), ("abc",)])
    assert all(r.reason == "worker_crash" for r in results)
    assert time.monotonic() - start < 10


def test_a_missing_cairo_library_stops_the_caller_with_the_reason(monkeypatch):
    """libcairo absent (cairocffi's dlopen raises OSError): every worker would fail in its
    initializer, so the pool refuses to start instead of failing each render as a crash."""
    import importlib.abc
    import sys

    import pytest

    import rlrf.svg.pool as pool_mod

    class NoCairo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "cairosvg":
                raise OSError('no library called "cairo-2" was found')
            return None

    pool_mod.check_renderer.cache_clear()
    monkeypatch.delitem(sys.modules, "cairosvg")
    monkeypatch.setattr(sys, "meta_path", [NoCairo(), *sys.meta_path])
    t = time.perf_counter()
    with pytest.raises(pool_mod.RendererUnavailable, match=r"cairo-2.*libcairo2"):
        RenderPool(RenderConfig(workers=1, timeout_s=2.0)).render_many([OK], 16)
    assert time.perf_counter() - t < 5
    monkeypatch.undo()  # the real cairosvg back: the next pool in this process checks again
    pool_mod.check_renderer.cache_clear()
