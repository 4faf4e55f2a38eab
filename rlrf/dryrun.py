"""`rlrf dry-run`: will this recipe fit and divide, before any GPU is rented?

Builds the recipe's model on the meta device (no weights, no memory) from its committed
`config.json` (recipes/model_configs/<name>/) or from the tiny config, and prints:
parameter count; per-GPU memory for SFT and GRPO under the recipe's accelerate /
DeepSpeed config (weights, gradients, Adam states, activations at the maximum length,
the generation KV cache, vLLM's colocated share); and the batch arithmetic (prompts x
roll-outs / (GPUs x accumulation), steps, tokens per step). A recipe that cannot fit or
whose batches do not divide gets a list of reasons and a non-zero exit.

Memory model (ZeRO paper, Rajbhandari et al. 2020; activations after Korthikanti et al.
2022, with flash/SDPA attention, so no L^2 term): mixed-precision Adam under DeepSpeed
costs 2 (bf16 weights) + 2 (grads) + 12 (fp32 master, m, v) bytes per parameter; ZeRO-2
shards grads and optimiser states over GPUs, ZeRO-3 the weights too. Without DeepSpeed
the Trainer keeps weights, grads and both Adam moments in the model dtype. Activations
per sequence: 34*L*h bytes per layer (only the layer inputs, 2*L*h, with gradient
checkpointing, plus one recomputed layer), and the logits (bf16 + fp32 log-softmax).
These are estimates: they say whether a recipe is in the right range, not the last GiB.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlrf.config import Recipe, repo_root

log = logging.getLogger(__name__)

GIB = 1024**3
PROMPT_TEXT_TOKENS = 32  # chat markup + instruction around the image / caption
CAPTION_TOKENS = 64  # a Text2SVG caption at most, in prompt tokens
ADAM_MIXED_BYTES = 12  # fp32 master weights + two fp32 moments
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass
class Hardware:
    gpus: int  # processes over all machines (accelerate's num_processes)
    machines: int
    zero_stage: int | None  # None: no DeepSpeed
    offload_optimizer: bool = False
    source: str = ""

    @property
    def on_gpu(self) -> bool:
        return self.gpus > 0


@dataclass
class Architecture:
    n_params: int
    layers: int
    hidden: int
    vocab: int
    kv_dim: int  # key/value width per layer per token (kv heads x head dim)
    image_tokens: int
    source: str


@dataclass
class DryRun:
    recipe: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        verdict = ["OK: fits and divides"] if self.ok else ["CANNOT RUN:", *(f"  - {p}" for p in self.problems)]
        return "\n".join([f"dry run: {self.recipe}", *self.lines, *verdict])


class _VocabStub:
    """Stands in for the tokenizer a tiny model is sized from (trained only during curate)."""

    def __init__(self, vocab_size: int):
        from rlrf.models.tokenizer import IM_END, PAD, SPECIAL_TOKENS

        self._ids = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
        self.vocab_size = vocab_size
        self.bos_token_id, self.eos_token_id, self.pad_token_id = None, self._ids[IM_END], self._ids[PAD]

    def __len__(self) -> int:
        return self.vocab_size

    def get_vocab(self) -> dict[str, int]:
        return dict(self._ids)

    def convert_tokens_to_ids(self, token: str) -> int:
        return self._ids[token]


def architecture(recipe: Recipe) -> Architecture:
    """The recipe's model on the meta device: parameter count and the shapes memory needs."""
    from rlrf.models.families import committed_config_path, family_for, model_config_json

    cfg = recipe.model
    family = family_for(cfg)
    if cfg.name_or_path is None:
        config = family.tiny_config(cfg, _VocabStub(recipe.tokenizer.vocab_size))
        source = f"tiny {family.name} from the recipe (vocab = tokenizer.vocab_size {recipe.tokenizer.vocab_size})"
    else:
        data = model_config_json(cfg.name_or_path)
        if data is None:
            raise FileNotFoundError(
                f"{recipe.name}: no config.json for {cfg.name_or_path!r}; commit it as "
                f"{committed_config_path(cfg.name_or_path).relative_to(repo_root())}")
        config = family.config_from_dict(data)
        source = f"{family.name} from {cfg.name_or_path} config.json"
    model = family.meta_model(config)
    text = getattr(config, "text_config", config)
    heads = _first(text, "num_attention_heads", "n_head")
    hidden = _first(text, "hidden_size", "n_embd")
    head_dim = getattr(text, "head_dim", None) or hidden // heads
    kv_heads = 1 if getattr(text, "multi_query", False) else (_first(text, "num_key_value_heads") or heads)
    return Architecture(
        n_params=sum(p.numel() for p in model.parameters()),
        layers=_first(text, "num_hidden_layers", "n_layer"),
        hidden=hidden,
        vocab=text.vocab_size,
        kv_dim=kv_heads * head_dim,
        image_tokens=_image_tokens(recipe, config, family.name),
        source=source,
    )


def _first(config, *names: str):
    for n in names:
        value = getattr(config, n, None)
        if value is not None:
            return value
    return None


def _image_tokens(recipe: Recipe, config, family: str) -> int:
    if recipe.model.task != "img2svg":
        return 0
    if family == "starvector":
        return int(config.image_seq_length)
    side = recipe.model.image_size // (recipe.model.patch_size * 2)  # Qwen2.5-VL merges 2x2 patches
    return side * side


def hardware(recipe: Recipe) -> Hardware:
    """GPUs and ZeRO stage from `launch.accelerate_config` (+ `launch.num_processes`), where
    DeepSpeed is configured (its `deepspeed_config`); no launcher: one GPU for device
    cuda/auto, none for cpu."""
    if recipe.device == "cpu":
        return Hardware(gpus=0, machines=1, zero_stage=None, source="device: cpu")
    stage, offload, source, gpus, machines = None, False, "in process, one GPU", 1, 1
    if recipe.launch.accelerate_config:
        path = repo_root() / recipe.launch.accelerate_config
        acc = yaml.safe_load(path.read_text()) or {}
        gpus, machines = int(acc.get("num_processes", 1)), int(acc.get("num_machines", 1))
        ds = acc.get("deepspeed_config") or {}
        if acc.get("distributed_type") == "DEEPSPEED":
            stage = int(ds.get("zero_stage", 0))
            offload = ds.get("offload_optimizer_device", "none") not in (None, "none")
        source = recipe.launch.accelerate_config
    if recipe.launch.num_processes:
        gpus = recipe.launch.num_processes
    return Hardware(gpus=gpus, machines=machines, zero_stage=stage, offload_optimizer=offload, source=source)


def state_bytes(n_params: int, dtype: str, hw: Hardware) -> dict[str, float]:
    """Per-GPU bytes of weights, gradients and Adam states for full fine-tuning."""
    b = DTYPE_BYTES[dtype]
    n = max(1, hw.gpus)
    if hw.zero_stage is None:
        return {"weights": b * n_params, "grads": b * n_params, "optimizer": 2 * b * n_params}
    shard = lambda stage: n if (hw.zero_stage or 0) >= stage else 1  # noqa: E731
    opt = 0.0 if hw.offload_optimizer else ADAM_MIXED_BYTES * n_params / shard(1)
    return {"weights": b * n_params / shard(3), "grads": b * n_params / shard(2), "optimizer": opt}


def activation_bytes(arch: Architecture, batch: int, length: int, checkpointing: bool) -> dict[str, float]:
    per_layer = 34 * length * arch.hidden * batch  # bytes, 16-bit activations
    layers = (2 * length * arch.hidden * batch * arch.layers + per_layer) if checkpointing else per_layer * arch.layers
    logits = batch * length * arch.vocab * (2 + 4)
    return {"activations": float(layers), "logits": float(logits)}


def kv_cache_bytes(arch: Architecture, sequences: int, length: int, dtype_bytes: int = 2) -> float:
    return 2.0 * arch.layers * arch.kv_dim * length * sequences * dtype_bytes


def reward_model_bytes(recipe: Recipe) -> float:
    """bf16 weights of reward models with a committed config (e.g. the VLM judge), which
    every training process loads beside the policy; smaller ones (CLIP, DreamSim) are
    not counted."""
    from rlrf.models.families import family_of_config, model_config_json

    total = 0.0
    for spec in recipe.rewards:
        data = model_config_json(spec.model) if spec.model else None
        if data is None:
            continue
        family = family_of_config(data, spec.model)
        total += 2.0 * sum(p.numel() for p in family.meta_model(family.config_from_dict(data)).parameters())
    return total


def _gib(x: float) -> str:
    return f"{x / GIB:,.1f} GiB"


def dry_run(recipe: Recipe, gpu_memory_gib: float = 80.0, train_rows: int | None = None) -> DryRun:
    out = DryRun(recipe.name)
    arch = architecture(recipe)
    out.numbers["n_params"] = arch.n_params
    out.lines += [f"model: {arch.source}",
                  f"  parameters: {arch.n_params / 1e9:.3f} B ({arch.n_params:,}); {arch.layers} decoder layers, "
                  f"hidden {arch.hidden}, vocab {arch.vocab}, image tokens {arch.image_tokens}"]
    prompt_len = arch.image_tokens + PROMPT_TEXT_TOKENS + (CAPTION_TOKENS if recipe.model.task == "text2svg" else 0)
    _sft(recipe, arch, out, gpu_memory_gib, train_rows)
    _grpo(recipe, arch, out, gpu_memory_gib, prompt_len)
    out.problems += trl_problems(recipe)
    return out


def trl_problems(recipe: Recipe) -> list[str]:
    """Names in `sft.trl` / `grpo.trl` that TRL's config classes do not have (the stage would
    fail with TRL's error; the dry run says so before anything runs)."""
    import dataclasses

    from trl import GRPOConfig, SFTConfig

    out = []
    for stage, cls in (("sft", SFTConfig), ("grpo", GRPOConfig)):
        unknown = sorted(set(getattr(recipe, stage).trl) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            out.append(f"{stage}.trl: {unknown} are not fields of TRL's {cls.__name__}")
    return out


def _fit(out: DryRun, stage: str, hw: Hardware, parts: dict[str, float], budget_gib: float, label: str) -> None:
    total = sum(parts.values())
    out.numbers[f"{stage}_per_gpu_bytes"] = total
    detail = ", ".join(f"{k} {_gib(v)}" for k, v in parts.items())
    if not hw.on_gpu:
        out.lines.append(f"  memory (CPU, not checked against a GPU): {_gib(total)} = {detail}")
        return
    out.lines.append(f"  per-GPU memory: {_gib(total)} of {budget_gib:.0f} GiB {label}= {detail}")
    if total > budget_gib * GIB:
        out.problems.append(f"{stage}: needs ~{_gib(total)} per GPU, {budget_gib:.0f} GiB available {label}"
                            f"({detail}); raise grad_accum / lower the micro-batch, turn on "
                            f"gradient_checkpointing, or use ZeRO-3")


def _zero_label(hw: Hardware) -> str:
    if not hw.on_gpu:
        return "CPU"
    zero = "no DeepSpeed" if hw.zero_stage is None else f"ZeRO-{hw.zero_stage}"
    return f"{hw.gpus} GPU(s) on {hw.machines} machine(s), {zero}{' + optimizer offload' if hw.offload_optimizer else ''}"


def _trl_line(section) -> str:
    """Where the stage's TRL values come from: the recipe's `trl` mapping (shorthands folded
    in), then RLRF's defaults; any other field is TRL's own default."""
    own = ", ".join(f"{k}={v}" for k, v in section.trl.items()) or "-"
    rlrf = ", ".join(f"{k}={v}" for k, v in section.RLRF_DEFAULTS.items() if k not in section.trl) or "-"
    return f"  trl (TRL {section.TRL_CLASS}): recipe {own}; RLRF defaults {rlrf}; other fields TRL's defaults"


def _sft(recipe: Recipe, arch: Architecture, out: DryRun, gpu_gib: float, train_rows: int | None) -> None:
    s, t = recipe.sft, recipe.sft.trl_value  # TRL's fields: the recipe's trl values or the defaults
    batch, accum, max_length, max_steps, epochs = (t(name) for name in (
        "per_device_train_batch_size", "gradient_accumulation_steps", "max_length", "max_steps", "num_train_epochs"))
    hw = hardware(recipe)
    n = max(1, hw.gpus)
    global_batch = batch * accum * n
    rows = s.max_train_rows or train_rows
    if max_steps > 0:
        steps = str(max_steps)
    elif rows:
        steps = str(math.ceil(rows / global_batch) * epochs)
    else:
        steps = f"ceil(train rows / {global_batch}) x {epochs} epochs (rows known after curate)"
    out.numbers["sft_global_batch"] = global_batch
    out.lines += [f"sft: {_zero_label(hw)} ({hw.source})", _trl_line(s),
                  f"  batch: {batch} per GPU x {accum} accumulation x {n} GPU(s) = {global_batch} "
                  f"sequences/step; <= {global_batch * max_length:,} tokens/step; steps: {steps}"]
    ckpt = t("gradient_checkpointing") and hw.on_gpu
    parts = {**state_bytes(arch.n_params, recipe.model.dtype, hw),
             **activation_bytes(arch, batch, max_length, ckpt)}
    _fit(out, "sft", hw, parts, gpu_gib, "")


def _grpo(recipe: Recipe, arch: Architecture, out: DryRun, gpu_gib: float, prompt_len: int) -> None:
    g, t = recipe.grpo, recipe.grpo.trl_value  # TRL's fields: the recipe's trl values or the defaults
    generations, accum, max_completion = (t(name) for name in (
        "num_generations", "gradient_accumulation_steps", "max_completion_length"))
    hw = hardware(recipe)
    n = max(1, hw.gpus)
    completions = g.prompts_per_step * generations
    length = prompt_len + max_completion
    out.lines += [f"grpo: {_zero_label(hw)} ({hw.source})", _trl_line(g)]
    k = g.updates_per_generation  # one roll-out batch feeds k optimiser updates (rlrf.train.grpo.grpo_args)
    if completions % (k * n * accum):
        out.problems.append(
            f"grpo: prompts_per_step x num_generations = {g.prompts_per_step} x {generations} = {completions} "
            f"completions do not divide by updates_per_generation x GPUs x grad_accum = {k} x {n} x {accum} "
            f"= {k * n * accum}")
        return
    micro = completions // (k * n * accum)
    out.numbers.update(grpo_completions=completions, grpo_micro_batch=micro)
    out.lines.append(
        f"  batch: {g.prompts_per_step} prompts x {generations} roll-outs = {completions} completions/step "
        f"/ ({k} update(s) x {n} GPU(s) x {accum} accumulation) = {micro} sequences per GPU micro-step; "
        f"<= {completions * length:,} tokens/step (prompt {prompt_len} + completion <= {max_completion}); "
        f"steps: {g.max_steps} roll-out batches ({g.max_steps * k * t('num_iterations')} optimiser updates); "
        f"roll-outs in all: {g.max_steps * completions:,}")
    dtype_b = DTYPE_BYTES[recipe.model.dtype]
    ckpt = t("gradient_checkpointing") and hw.on_gpu
    parts = {**state_bytes(arch.n_params, recipe.model.dtype, hw), **activation_bytes(arch, micro, length, ckpt)}
    if t("beta") > 0:
        parts["reference model"] = dtype_b * arch.n_params / (n if hw.zero_stage == 3 else 1)
    judges = reward_model_bytes(recipe)
    if judges:
        parts["reward models"] = judges
    budget = gpu_gib
    label = ""
    use_vllm, vllm_share = t("use_vllm"), t("vllm_gpu_memory_utilization")
    if use_vllm and t("vllm_mode") == "colocate" and hw.on_gpu:
        share = vllm_share * gpu_gib
        budget, label = gpu_gib - share, f"after vLLM's {vllm_share:.0%} "
        if dtype_b * arch.n_params > share * GIB:
            out.problems.append(f"grpo: vLLM's colocated share ({share:.0f} GiB) cannot hold a copy of the "
                                f"weights ({_gib(dtype_b * arch.n_params)}); raise vllm_gpu_memory_utilization")
    elif not use_vllm:
        # HF generate holds all of this GPU's completions of a step at once (TRL's
        # steps_per_generation = grad_accum); generation and the update do not overlap
        kv = kv_cache_bytes(arch, completions // n, length, dtype_b)
        generation = {k: v for k, v in parts.items() if k not in ("activations", "logits")}
        generation["kv cache"] = kv
        out.lines.append(f"  generation peak (HF generate, {completions // n} sequences/GPU): "
                         f"{_gib(sum(generation.values()))} incl. KV cache {_gib(kv)}")
        if sum(generation.values()) > sum(parts.values()):
            parts = generation
    _fit(out, "grpo", hw, parts, budget, label)


def main(recipe_name: str, gpu_memory_gib: float = 80.0, train_rows: int | None = None) -> int:
    from rlrf.recipe import load_recipe

    report = dry_run(load_recipe(recipe_name), gpu_memory_gib, train_rows)
    print(report.text())
    return 0 if report.ok else 1


def all_recipes() -> list[Path]:
    return sorted((repo_root() / "recipes").glob("*.yaml"))
