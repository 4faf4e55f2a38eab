"""Batched SVG generation with one decoding setup for every model being compared.

Evaluation calls this for the SFT and the RLRF model alike, so any difference in the
metrics comes from the weights, not from decoding (RLRF §4: greedy at test time).
"""

from __future__ import annotations

import logging
import time

import torch
from PIL import Image

from rlrf.models.prompts import Decoding, prompt_messages

log = logging.getLogger(__name__)


def generate_svgs(model, processor, images: list[Image.Image] | None, captions: list[str] | None,
                  decoding: Decoding) -> list[tuple[str, int, float]]:
    """(completion text, new tokens, seconds) per input, in input order.

    Seconds are the batch's wall time divided evenly over its rows.
    """
    task, batch_size = decoding.task, decoding.batch_size
    n = len(images) if task == "img2svg" else len(captions or [])
    if task == "img2svg" and images is None:
        raise ValueError("task img2svg needs images")
    from rlrf.models.families import family_of_model, tokenizer_of

    tokenizer = tokenizer_of(processor)
    side = family_of_model(model).input_side(processor)
    eos = tokenizer.eos_token_id
    model.eval()
    out: list[tuple[str, int, float]] = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        caps = captions[start:stop] if captions is not None else [None] * (stop - start)
        texts = [
            processor.apply_chat_template(
                prompt_messages(task, c), tokenize=False, add_generation_prompt=True
            )
            for c in caps
        ]
        kwargs = {"text": texts, "return_tensors": "pt", "padding": True, "padding_side": "left"}
        if task == "img2svg":
            kwargs["images"] = [im.convert("RGB").resize((side, side)) for im in images[start:stop]]
        batch = processor(**kwargs).to(model.device)
        gen = {
            "max_new_tokens": decoding.max_new_tokens,
            "do_sample": decoding.do_sample,
            "eos_token_id": eos,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if decoding.do_sample:
            gen["temperature"] = decoding.temperature
        t0 = time.perf_counter()
        with torch.no_grad():
            ids = model.generate(**batch, **gen)
        seconds = (time.perf_counter() - t0) / (stop - start)
        new = ids[:, batch["input_ids"].shape[1] :]
        for row in new.tolist():
            n_new = row.index(eos) + 1 if eos in row else len(row)
            text = tokenizer.decode(row[:n_new], skip_special_tokens=True)
            out.append((text, n_new, seconds))
    return out

