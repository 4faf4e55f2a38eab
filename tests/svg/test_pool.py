import os
import pickle
import socket
import threading
import time

import numpy as np

from rlrf.config import RenderConfig
from rlrf.svg.pool import shared_pool
from rlrf.svg.render import RenderFailure, render

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
