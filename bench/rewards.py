"""Reward scoring throughput: `rlrf.rewards` (pool renders, per-batch cache) vs the naive path.

    .venv/bin/python bench/rewards.py [--rollouts 512] [--size 224] [--workers 2]

Scores `--rollouts` roll-outs (4 per target: the target itself, a shifted copy, another
target's SVG, a truncated copy) with l2 + l2_canny at `--size`. The naive path is what a
reward server without a render pool does (HTplex/rlrf-rewarder style): for every reward
and every roll-out, `cairosvg.svg2png` of the prediction and of the target → PIL → numpy,
serially, then the same reward math. Both run in this process, in this run.

Roll-outs come from `data/corpus/corpus.parquet` when it exists, else from the SVGs in
`npm pack bootstrap-icons` unpacked into a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from rlrf.config import RenderConfig, RewardSpec
from rlrf.rewards import rendering
from rlrf.rewards.composite import WeightedSum
from rlrf.rewards.image import standardised_l2_reward
from rlrf.rewards.registry import build_rewards
from rlrf.scores.pixels import canny_edges
from rlrf.svg.pool import shared_pool

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus" / "corpus.parquet"


def load_targets(n: int, seed: int = 0) -> list[str]:
    if CORPUS.exists():
        import pyarrow.parquet as pq

        svgs = pq.read_table(CORPUS, columns=["svg"]).column("svg").to_pylist()
        source = str(CORPUS)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", "bootstrap-icons", "--silent"], cwd=tmp, check=True)
            tgz = next(Path(tmp).glob("bootstrap-icons-*.tgz"))
            with tarfile.open(tgz) as tar:
                svgs = [
                    tar.extractfile(m).read().decode()
                    for m in tar.getmembers()
                    if m.name.startswith("package/icons/") and m.name.endswith(".svg")
                ]
        source = "npm bootstrap-icons"
    rng = np.random.default_rng(seed)
    picked = [svgs[i] for i in rng.choice(len(svgs), size=min(n, len(svgs)), replace=False)]
    print(f"targets: {len(picked)} SVGs from {source}")
    return picked


def make_rollouts(targets: list[str]) -> tuple[list[str], list[str]]:
    """4 roll-outs per target: exact, shifted, another target, truncated mid-way."""
    completions, gts = [], []
    for i, gt in enumerate(targets):
        shifted = re.sub(r"(<svg\b[^>]*>)", r'\1<g transform="translate(2 1)">', gt, count=1)
        shifted = shifted.replace("</svg>", "</g></svg>") if shifted != gt else gt
        other = targets[(i + 1) % len(targets)]
        truncated = gt[: max(40, len(gt) * 2 // 3)]
        for c in (f"```svg\n{gt}\n```", shifted, other, truncated):
            completions.append(c)
            gts.append(gt)
    return completions, gts


def naive_render(svg: str | None, size: int) -> np.ndarray | None:
    import cairosvg
    from PIL import Image

    if not svg:
        return None
    try:
        png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size, output_height=size)
    except Exception:  # noqa: BLE001  (the naive path swallows failures like the reference code)
        return None
    rgba = Image.open(io.BytesIO(png)).convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


def naive_scores(completions: list[str], gts: list[str], size: int) -> dict[str, list[float]]:
    """Each reward renders prediction and target itself, serially (no pool, no cache)."""
    svg_re = re.compile(r"<svg\b.*?</svg>", re.S)
    out: dict[str, list[float]] = {"l2": [], "l2_canny": []}
    for name in out:
        for c, gt in zip(completions, gts, strict=True):
            m = svg_re.search(c)
            pred, target = naive_render(m.group(0) if m else None, size), naive_render(gt, size)
            blank = pred is not None and (pred.mean() >= 254 or int(pred.max()) - int(pred.min()) < 5)
            if pred is None or target is None or blank:  # the reference's short-circuit to -1
                out[name].append(-1.0)
            elif name == "l2":
                out[name].append(standardised_l2_reward(target, pred))
            else:
                out[name].append(standardised_l2_reward(canny_edges(target), canny_edges(pred)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=512)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    targets = load_targets(args.rollouts // 4)
    completions, gts = make_rollouts(targets)
    n = len(completions)
    render = RenderConfig(workers=args.workers)
    built = build_rewards([RewardSpec(name="l2"), RewardSpec(name="l2_canny")], render, args.size)
    total = WeightedSum(built.funcs, built.weights)
    shared_pool(render).render_many(["<svg/>"] * args.workers, 8)  # start the workers (long-lived)

    rendering.PRED_CACHE.clear()
    rendering.GT_CACHE.clear()
    t0 = time.perf_counter()
    ours = total.score(completions, gt_svg=gts)
    t_cold = time.perf_counter() - t0
    rendering.PRED_CACHE.clear()  # next step: new roll-outs, same targets (GT cache warm)
    t0 = time.perf_counter()
    total.score(completions, gt_svg=gts)
    t_warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    naive = naive_scores(completions, gts, args.size)
    t_naive = time.perf_counter() - t0

    agree = {
        k: float(np.mean(np.isclose(ours[k], naive[k], atol=0.02))) for k in ("l2", "l2_canny")
    }
    print(
        f"roll-outs: {n} at {args.size}x{args.size}, rewards l2 + l2_canny, {args.workers} workers"
    )
    print(
        f"naive (svg2png→PIL→numpy per reward, serial): {n / t_naive:8.1f} roll-outs/s ({t_naive:.2f} s)"
    )
    print(
        f"rlrf.rewards, cold GT cache:                  {n / t_cold:8.1f} roll-outs/s ({t_cold:.2f} s)"
    )
    print(
        f"rlrf.rewards, warm GT cache (later steps):    {n / t_warm:8.1f} roll-outs/s ({t_warm:.2f} s)"
    )
    print(f"speed-up: {t_naive / t_cold:.1f}x cold, {t_naive / t_warm:.1f}x warm")
    print(f"scores agreeing with the naive path (|Δ| ≤ 0.02): {agree}")
    print(f"mean l2 {np.mean(ours['l2']):.3f}, mean l2_canny {np.mean(ours['l2_canny']):.3f}")


if __name__ == "__main__":
    main()
