"""Eval generation through vLLM (`eval.use_vllm`, default: as `grpo.use_vllm`).

Same prompts, same decoding rule (greedy, or seeded sampling at the eval temperature) and
the same `(text, new tokens, seconds)` rows as `rlrf.models.generate.generate_svgs`, so
a model's metrics do not depend on which engine decoded it. vLLM knows Qwen2.5-VL and
Qwen3; our StarVector class is not a vLLM architecture, so that family decodes with HF
`generate` on the recipe's device.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PIL import Image

from rlrf.models.prompts import Decoding, Task, prompt_messages

log = logging.getLogger(__name__)

VLLM_FAMILIES = ("qwen2_5_vl", "qwen3")


def load_vllm(model_dir: Path, gpu_memory_utilization: float, seed: int, task: Task):
    from vllm import LLM

    return LLM(model=str(model_dir), dtype="auto", seed=seed, gpu_memory_utilization=gpu_memory_utilization,
               limit_mm_per_prompt={"image": 1} if task == "img2svg" else {"image": 0})


def generate_svgs_vllm(llm, processor, images: list[Image.Image] | None, captions: list[str] | None,
                       decoding: Decoding, *, input_side: int | None = None) -> list[tuple[str, int, float]]:
    """(completion text, new tokens, seconds) per input, in input order; vLLM batches itself,
    so `batch_size` is unused and seconds are the whole call's wall time split evenly."""
    from vllm import SamplingParams

    task = decoding.task
    n = len(images) if task == "img2svg" else len(captions or [])
    caps = captions if captions is not None else [None] * n
    prompts = []
    for i in range(n):
        text = processor.apply_chat_template(prompt_messages(task, caps[i]), tokenize=False,
                                             add_generation_prompt=True)
        prompt = {"prompt": text}
        if task == "img2svg":
            image = images[i].convert("RGB")
            prompt["multi_modal_data"] = {"image": image.resize((input_side, input_side)) if input_side else image}
        prompts.append(prompt)
    params = SamplingParams(max_tokens=decoding.max_new_tokens,
                            temperature=decoding.temperature if decoding.do_sample else 0.0,
                            skip_special_tokens=True)
    t0 = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    seconds = (time.perf_counter() - t0) / max(1, n)
    return [(o.outputs[0].text, len(o.outputs[0].token_ids), seconds) for o in outputs]
