"""The roll-out render cache is sized from the batch: every image reward of a step reads
the same renders, so each roll-out renders once, however many roll-outs a rank scores."""

from rlrf.config import RenderConfig
from rlrf.rewards import rendering
from rlrf.svg.pool import RenderPool

NS = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"'


def test_each_rollout_renders_once_per_step(monkeypatch):
    limits = RenderConfig(workers=1)
    calls = []

    class Counting(RenderPool):
        def render_many(self, svgs, size, pad_square=True):
            calls.append(len(svgs))
            return super().render_many(svgs, size, pad_square)

    pool = Counting(limits)
    monkeypatch.setattr(rendering, "shared_pool", lambda _: pool)
    monkeypatch.setattr(rendering, "PRED_CACHE", rendering._ByteLRU(10 * 32 * 32 * 3))  # room for 10
    monkeypatch.setattr(rendering, "CACHE_MARGIN_BYTES", 0)
    batch = [f'<svg {NS}><rect x="{i % 8}" width="{4 + i % 7}" height="{3 + i // 7}"/></svg>' for i in range(40)]
    try:
        for _ in range(5):  # five image rewards read the batch's renders
            rendering.render_predictions(batch, 32, limits)
    finally:
        pool.close()
    assert sum(calls) == 40
    assert rendering.PRED_CACHE.max_bytes >= 40 * 32 * 32 * 3
