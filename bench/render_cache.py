"""Renders per roll-out in one GRPO step at paper scale: the batch-sized roll-out render
cache (`rlrf.rewards.rendering`) vs the fixed 256 MiB one it replaced, measured in one run.

    .venv/bin/python bench/render_cache.py [--gpus 1 6 8] [--size 512]

The paper recipe scores 32 prompts x 64 roll-outs per step with five image rewards (l2,
l2_canny, lpips, dreamsim, canny_dreamsim) on 512 px renders; each rank scores its share
(2048 / GPUs roll-outs). Every image reward asks `render_predictions` for the batch's
renders; here l2 and l2_canny are the real terms and three more `render_predictions`
calls stand in for the learned ones (their weights are not on this machine). Renders are
counted at the render pool.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rlrf.config import RenderConfig, RewardSpec
from rlrf.rewards import rendering
from rlrf.rewards.registry import build_rewards
from rlrf.svg.pool import RenderPool

PAPER_ROLLOUTS = 32 * 64  # prompts x roll-outs per step (RLRF §4)
IMAGE_REWARDS = 5


def rollouts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """n distinct roll-outs (a few shapes each) over 32 targets."""
    rng = np.random.default_rng(seed)
    ns = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"'
    targets = [f'<svg {ns}><circle cx="{20 + i}" cy="30" r="{8 + i % 9}" fill="#{i * 7919 % 4096:03x}"/></svg>'
               for i in range(32)]
    outs = []
    for i in range(n):
        x, y, w, h = rng.integers(0, 48, 4)
        outs.append(f'<svg {ns}><rect x="{x}" y="{y}" width="{w + 4}" height="{h + 4}" fill="#{i % 4096:03x}"/>'
                    f'<circle cx="{(i * 13) % 64}" cy="{(i * 7) % 64}" r="6"/></svg>')
    return outs, [targets[i % 32] for i in range(n)]


class Counting(RenderPool):
    renders = 0

    def render_many(self, svgs, size, pad_square=True):
        Counting.renders += len(svgs)
        return super().render_many(svgs, size, pad_square)


def one_step(completions, gts, size, limits, funcs) -> tuple[int, float]:
    """Renders and seconds for one step's scoring by five image rewards."""
    rendering.PRED_CACHE.clear()
    Counting.renders = 0
    t = time.perf_counter()
    for f in funcs:
        f(completions=completions, gt_svg=gts)
    for _ in range(IMAGE_REWARDS - len(funcs)):
        rendering.render_predictions(completions, size, limits)
    return Counting.renders, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 6, 8])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    limits = RenderConfig(workers=args.workers)
    pool = Counting(limits)
    rendering.shared_pool = lambda _limits: pool  # count every render of the reward path
    funcs = build_rewards([RewardSpec(name="l2"), RewardSpec(name="l2_canny")], limits, args.size).funcs
    fixed_reserve = rendering._ByteLRU.reserve
    for gpus in args.gpus:
        n = -(-PAPER_ROLLOUTS // gpus)
        completions, gts = rollouts(n)
        rendering.GT_CACHE.clear()
        rendering.render_targets(gts, args.size, limits)  # targets cached once (not counted)
        rendering._ByteLRU.reserve = lambda self, nbytes: None  # the old fixed 256 MiB cache
        rendering.PRED_CACHE.max_bytes = 256 * 2**20
        old, old_s = one_step(completions, gts, args.size, limits, funcs)
        rendering._ByteLRU.reserve = fixed_reserve
        new, new_s = one_step(completions, gts, args.size, limits, funcs)
        print(f"{gpus} GPU(s): {n} roll-outs per rank at {args.size} px, {IMAGE_REWARDS} image rewards: "
              f"fixed 256 MiB cache {old / n:.2f} renders per roll-out ({old_s:.1f} s), "
              f"batch-sized cache {new / n:.2f} ({new_s:.1f} s, {rendering.PRED_CACHE.max_bytes / 2**20:.0f} MiB); "
              f"{old_s / new_s:.1f}x faster", flush=True)
    pool.close()


if __name__ == "__main__":
    main()
