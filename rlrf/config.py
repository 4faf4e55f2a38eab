"""Recipes: YAML files parsed into typed, validated config.

A recipe is data (open-r1 style): every knob has a typed default here and a value in
`recipes/*.yaml`. Unknown keys and bad values fail before anything runs, naming the
file, the dotted key and what was expected. Each section has a stable hash that drives
stage skipping (see `rlrf.artifacts`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class RecipeError(ValueError):
    """A recipe file could not be read or does not match the schema."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RenderConfig(Section):
    """Hard limits for rendering untrusted SVG (model roll-outs are hostile input)."""

    timeout_s: float = Field(5.0, gt=0, description="wall-clock limit per render, enforced from outside")
    memory_mb: int = Field(
        1024, gt=0, description="address space a render worker may add beyond its start-up footprint"
    )
    workers: int = Field(2, ge=1, description="render worker processes")
    max_input_chars: int = Field(200_000, gt=0, description="longer SVG text is rejected")
    max_elements: int = Field(10_000, gt=0, description="more XML elements are rejected")
    max_depth: int = Field(64, gt=0, description="deeper XML nesting is rejected")
    max_use: int = Field(256, ge=0, description="more <use> references are rejected (fan-out bombs)")
    max_dimension: float = Field(
        1e6, gt=0, description="any number in geometry beyond this is rejected (cairo fixed point: ±8e6)"
    )
    allow_data_images: bool = Field(
        False,
        description="keep <image href='data:image/...'> (raster stand-ins are a reward hack); False = reject",
    )


class DataConfig(Section):
    """Where the raw SVG rows come from."""

    source: Literal["bundled", "hf", "local"] = "bundled"
    hf_id: str = Field("starvector/svg-stack", description="hub dataset id for source=hf")
    hf_split: str = Field("train", description="hub split for train / RL rows")
    hf_test_split: str | None = Field(
        "test", description="hub split SVG-Stack-Hard is built from (paper §4: the test split); None = hash bucket"
    )
    path: str | None = Field(None, description="local Parquet/JSON with SVG-Stack columns for source=local")
    split_column: str | None = Field(
        None, description="local column naming each row's source split; rows equal to test_split_value are the test split"
    )
    test_split_value: str = Field("test", description="value of split_column that marks test-split rows")
    svg_column: str = "Svg"
    id_column: str = "Filename"
    caption_column: str | None = None
    max_rows: int | None = Field(None, gt=0, description="cap on rows read (None = all)")
    bundled_path: str = Field("data/corpus/corpus.parquet", description="bundled corpus, relative to the repo")
    sources: list[str] | None = Field(
        None, min_length=1, description="load only rows of these sources (None = all); list the OOD sources too"
    )
    include_bundled: bool = Field(
        False, description="add the bundled corpus to an hf/local source (e.g. as OOD emoji/fonts/icons)"
    )
    ood_sources: dict[str, list[str]] = Field(
        default_factory=lambda: {"ood_emoji": [], "ood_fonts": [], "ood_icons": []},
        description="split name -> corpus sources held out entirely as out-of-distribution",
    )


class ClusterConfig(Section):
    k: int = Field(8, ge=1, description="clusters of test_hard candidates, sampled stratified (paper App. A)")
    features: Literal["color_hist", "dino"] = "color_hist"
    dino_model: str = "facebook/dinov2-base"


class CurateConfig(Section):
    """The paper's curation rules (App. A); thresholds are recipe values."""

    round_decimals: int | None = Field(
        2, ge=1, le=9,
        description="round (half away from zero, not truncate) fractional parts to this many digits "
        "(paper App. A; None = keep)",
    )
    grid: int | None = Field(
        None, ge=8, description="redraw every SVG on a grid x grid integer canvas, absolute paths "
        "(IconShop/OmniSVG; rlrf.data.grid); None = keep the geometry as written"
    )
    grid_max_distance: float = Field(
        0.03, gt=0, le=1, description="drop rows whose grid redraw differs from the original render by more "
        "than this mean absolute pixel difference (text, gradients, clips the redraw cannot keep)"
    )
    max_url_chars: int = Field(100, ge=0, description="drop SVGs with a URL longer than this")
    max_base64_chars: int = Field(512, ge=0, description="drop SVGs with an embedded base64 payload longer than this")
    drop_external_images: bool = True
    max_svg_chars: int = Field(200_000, gt=0, description="drop SVG text longer than this (before tokenising)")
    require_caption: bool = Field(False, description="drop rows without a caption (Text2SVG sets)")
    render_size: int = Field(128, gt=0, description="render size for render-based filters")
    white_threshold: float = Field(0.97, gt=0, le=1, description="near-white share that marks a blank/white render")
    hard_min_tokens: int = Field(500, ge=0, description="test_hard candidates have at least this many SVG tokens")
    hard_min_color_entropy: float = Field(2.0, ge=0, description="… and at least this colour entropy (bits)")
    test_hard_size: int = Field(600, ge=0, description="rows sampled into test_hard")
    rl_min_tokens: int = Field(500, ge=0, description="RL rows have at least this many SVG tokens (the paper's high-entropy RL set)")
    rl_min_color_entropy: float = Field(2.0, ge=0, description="… and at least this colour entropy (bits)")
    rl_size: int = Field(20_000, ge=0, description="rows in the RL split")
    train_max_tokens: int | None = Field(
        None, gt=0,
        description="SVG tokens an SFT row may have (must fit sft.max_length with the prompt); longer rows "
        "leave through the funnel's too_long filter, never truncated by the trainer",
    )
    rl_max_tokens: int | None = Field(
        None, gt=0, description="SVG tokens an RL row may have (a roll-out must fit); None = train_max_tokens"
    )
    test_fraction: float = Field(
        0.1, gt=0, lt=1,
        description="share of in-distribution rows held out for test_hard, for sources without a test split only",
    )
    test_plain_fraction: float = Field(
        0.0, ge=0, lt=1, description="share held out for a plain in-distribution `test` split (train filters apply)"
    )
    test_size: int = Field(0, ge=0, description="rows sampled into the plain `test` split")
    ood_size: int = Field(200, ge=0, description="rows per OOD split")
    cluster: ClusterConfig = ClusterConfig()
    render_all_train: bool = Field(
        True, description="render every train-pool row, so broken / white_background also drop SFT rows; "
        "False renders only the rows a render rule decides (test_hard and OOD candidates, the train "
        "pool's RL candidates, rl_min_tokens..rl cap, and the plain test pool in a seeded order until test_size "
        "pass), as the paper's SFT set is SVG-Stack after the cheap filters"
    )
    rl_render: Literal["all", "quota"] = Field(
        "all", description="all: render every RL candidate and draw rl_size of the eligible ones at random (the "
        "rule as stated); quota: render candidates in a seeded random order until rl_size are eligible and take "
        "those (a uniform sample of the eligible rows as well, other rows than `all`; renders about rl_size / "
        "eligible share instead of every candidate). quota needs render_all_train off"
    )
    shard_rows: int = Field(2_000, gt=0, description="rows per shard: bounds the stage's memory (streaming curation)")
    task_runner: Literal["thread", "process", "dask", "ray"] = "thread"
    task_runner_address: str | None = Field(None, description="Dask scheduler / Ray address for a cluster")


    @model_validator(mode="after")
    def _quota_renders_only_candidates(self) -> CurateConfig:
        if self.rl_render == "quota" and self.render_all_train:
            raise ValueError("curate.rl_render: quota renders RL candidates on demand; set render_all_train: false")
        return self


class TokenizerConfig(Section):
    """Tokenizer: a hub id / path at paper scale, or trained locally on the train split."""

    name_or_path: str | None = Field(None, description="hub id or path; None = train a byte-level BPE locally")
    vocab_size: int = Field(2048, ge=300, description="locally trained BPE: vocabulary size")
    min_frequency: int = Field(2, ge=1, description="locally trained BPE: a merge needs this many occurrences")
    train_rows: int | None = Field(
        50_000, gt=0, description="locally trained BPE: at most this many train-pool rows, a seeded sample in input "
        "order (BPE training memory grows with its input); None = the whole train pool"
    )


class ModelConfig(Section):
    """Policy model: a hub id / local path, or a tiny random-init model of its family built from config."""

    name_or_path: str | None = Field(None, description="hub id or path; None = tiny random init")
    family: Literal["auto", "qwen2_5_vl", "qwen3", "starvector"] = Field(
        "auto", description="model family (rlrf.models.families); auto = from config.json's model_type"
    )
    task: Literal["img2svg", "text2svg"] = "img2svg"
    image_size: int = Field(112, gt=0, description="input image side in pixels")
    hidden_size: int = Field(128, gt=0, description="tiny model: language model width")
    num_hidden_layers: int = Field(2, gt=0, description="tiny model: decoder layers")
    num_attention_heads: int = Field(4, gt=0, description="tiny model: attention heads")
    num_key_value_heads: int = Field(2, gt=0, description="tiny model: key/value heads (grouped-query attention)")
    intermediate_size: int = Field(256, gt=0, description="tiny model: MLP width")
    vision_depth: int = Field(2, gt=0, description="tiny model: vision encoder layers")
    vision_hidden_size: int = Field(64, gt=0, description="tiny model: vision encoder width")
    vision_num_heads: int = Field(4, gt=0, description="tiny model: vision attention heads")
    patch_size: int = Field(14, gt=0, description="tiny model: vision patch side in pixels")
    max_position_embeddings: int = Field(4096, gt=0, description="tiny model: longest prompt + completion")
    tie_word_embeddings: bool = Field(True, description="tiny model: share input and output embeddings")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: str = "sdpa"


class RewardSpec(Section):
    name: str
    weight: float = 1.0
    model: str | None = Field(None, description="weights: hub id or local path")
    cache_dir: str | None = None
    required: bool = Field(False, description="stop the run if this reward cannot load its weights")
    warmup: dict[str, float] | None = Field(None, description="{start: w0, steps: n}: weight ramps from w0*weight (start default 0.1, RLRF)")
    params: dict[str, Any] = Field(default_factory=dict)


class SFTConfig(Section):
    epochs: float = Field(1.0, gt=0, description="passes over the train split (paper: 3); TRL num_train_epochs")
    max_steps: int = Field(-1, description="-1 = by epochs")
    learning_rate: float = Field(1e-3, gt=0, description="peak learning rate (paper: 1e-5)")
    batch_size: int = Field(8, gt=0, description="sequences per device and micro-step")
    grad_accum: int = Field(1, gt=0, description="micro-steps per optimiser step")
    max_length: int = Field(1024, gt=0, description="tokens of prompt + SVG per sequence (paper: 32K)")
    max_train_rows: int | None = Field(None, gt=0, description="use only the first rows of the split (None = all)")
    logging_steps: int = Field(10, gt=0, description="optimiser steps between train_log rows")
    save_steps: int = Field(200, gt=0, description="optimiser steps between checkpoints (resume points)")
    time_budget_s: float | None = Field(
        None, gt=0, description="guard: stop (loudly) after this many seconds; the length is epochs/max_steps"
    )
    gradient_checkpointing: bool = Field(False, description="GPU only; always off on CPU")
    trl: dict[str, Any] = Field(default_factory=dict, description="every other TRL SFTConfig field, passed through as it is (warmup_steps: 0.03 = 3% of "
        "the steps, weight_decay, optim, ...; RLRF's default lr_scheduler_type is cosine); an unknown name "
        "fails with TRL's error, one set above fails too")


class PromptSet(Section):
    """Caption-only RL prompts: one of `rlrf.data.sources.TEXT2SVG_SETS` without SVGs (e.g.
    flickr30k), from its hub id or a local Parquet/JSON copy with the same columns."""

    name: str = Field(description="a prompt-only Text2SVG set (flickr30k)")
    path: str | None = Field(None, description="hub id or local path; None = the set's hub id")
    split: str | None = Field(None, description="hub split; None = the set's default")
    max_rows: int | None = Field(None, gt=0, description="first rows only (None = all)")


class GRPOConfig(Section):
    """GRPO knobs. Step counts (`max_steps`, `lr_decay_steps`, `save_steps`, reward warm-up
    `steps`) are roll-out batches, the paper's / EasyR1's training steps; with
    `updates_per_generation: k` TRL's `global_step` counts k optimiser updates per batch."""

    init: Literal["sft", "base"] = Field(
        "sft",
        description="policy GRPO starts from: the SFT model, or the base model SFT would have started from "
        "(same tokenizer, processor and seed; the paper's RLRF-without-SVG-SFT ablation; eval labels it "
        "rlrf_no_sft; the sft stage still runs as eval's reference)",
    )
    max_steps: int = Field(500, gt=0, description="roll-out batches (RLRF: 500)")
    learning_rate: float = Field(1e-5, gt=0, description="learning rate before the step decay (paper: 1e-5)")
    lr_decay_factor: float = Field(
        0.7, gt=0, le=1, description="multiply the lr by this every lr_decay_steps (RLRF: 0.7 every 100 steps)"
    )
    lr_decay_steps: int = Field(100, gt=0, description="roll-out batches between lr cuts")
    updates_per_generation: int = Field(
        1, ge=1,
        description="optimiser updates (mini-batches) per roll-out batch: EasyR1/verl rollout_batch_size / "
        "global_batch_size; > 1 makes the policy drift from the sampler so the clip range acts (TRL "
        "steps_per_generation = this x grad_accum)",
    )  # fmt: skip
    num_iterations: int = Field(
        1, ge=1, description="passes over each roll-out batch (GRPO's mu, EasyR1 ppo_epochs; TRL num_iterations)"
    )
    prompts_per_step: int = Field(32, gt=0, description="prompts per roll-out batch (RLRF: 32)")
    num_generations: int = Field(64, ge=2, description="roll-outs per prompt")
    temperature: float = Field(1.1, gt=0, description="roll-out sampling temperature (RLRF: 1.1)")
    beta: float = Field(0.0, ge=0, description="KL coefficient; the paper uses none")
    max_length_margin: int = Field(16, ge=0, description="tokens added to the longest GT in the batch")
    max_completion_length: int = Field(2048, gt=0, description="hard cap on dynamic max length")
    reward_size: int | None = Field(
        None, gt=0, description="render side for image rewards (paper: 512); None = model.image_size"
    )
    max_train_rows: int | None = Field(None, gt=0, description="use only the first rows of the split (None = all)")
    prompt_sets: list[PromptSet] = Field(
        default_factory=list,
        description="caption-only RL prompts added to the curated rl split (the paper's Flickr30k captions "
        "for Text2SVG): text2svg with caption-only rewards (clip, vlm_judge) only",
    )
    logging_steps: int = Field(1, gt=0, description="roll-out batches between train_log rows")
    save_steps: int = Field(50, gt=0, description="roll-out batches between checkpoints (resume points)")
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    time_budget_s: float | None = Field(
        None, gt=0, description="guard: stop (loudly) after this many seconds; the length is max_steps"
    )
    grad_accum: int = Field(1, gt=0, description="optimiser micro-steps per step (completions split evenly)")
    gradient_checkpointing: bool = Field(False, description="GPU only; always off on CPU")
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1, description="colocate mode: vLLM share of GPU memory")
    vllm_server_base_url: str | None = Field(None, description="server mode: URL of `trl vllm-serve`")
    trl: dict[str, Any] = Field(default_factory=dict, description="every other TRL GRPOConfig field, passed through as it is (top_p, loss_type, "
        "mask_truncated_completions, ...; RLRF's default clip range epsilon is 0.4, the paper's); an unknown "
        "name fails with TRL's error, one set above fails too")

    @model_validator(mode="before")
    @classmethod
    def _renamed_lr_decay(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lr_decay" in data:
            raise ValueError(
                "grpo.lr_decay was renamed: it was the share cut (0.7 = lr x 0.3); write "
                "grpo.lr_decay_factor, the multiplier (the paper's 'multiplied by 0.7' = 0.7)"
            )
        return data


class BaselineConfig(Section):
    vtracer: dict[str, Any] = Field(
        default_factory=lambda: {"colormode": "color", "mode": "spline", "filter_speckle": 4, "color_precision": 6,
                                 "path_precision": 2},
        description="vtracer.convert_pixels_to_svg keywords; path_precision 2 keeps traces under render.max_input_chars",
    )
    potrace: dict[str, Any] = Field(
        default_factory=lambda: {"threshold": 128, "turdsize": 2, "alphamax": 1.0, "opttolerance": 0.2},
        description="threshold (0-255 luminance, darker is traced) + potracer Bitmap.trace keywords",
    )


class EvalConfig(Section):
    splits: list[str] = Field(default_factory=lambda: ["test_hard", "ood_emoji", "ood_fonts", "ood_icons"])
    max_samples_per_split: int | None = Field(None, gt=0, description="a seeded sample of each split, the same rows for every system (None = all)")
    render_size: int = Field(512, gt=0, description="metrics render GT and prediction at this size")
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0, description="sampling temperature when do_sample")
    max_new_tokens: int = Field(1024, gt=0, description="longest generated SVG in tokens")
    batch_size: int = Field(8, gt=0, description="prompts per HF generate call")
    models: list[str] = Field(
        default_factory=lambda: ["sft", "rlrf", "vtracer", "potrace"],
        description="sft, rlrf (decoding per do_sample), sft_greedy / rlrf_greedy (always greedy), "
        "vtracer, potrace, blank",
    )
    greedy_splits: list[str] | None = Field(
        None, description="splits the *_greedy models are scored on (None = every eval split)"
    )
    dino_model: str = "facebook/dinov2-base"
    lpips_net: Literal["vgg", "alex"] = "vgg"
    lpips_weights: str | None = Field(None, description="local LPIPS weights; None = the package's bundled ones")
    clip_model: str = "openai/clip-vit-large-patch14"
    vlm_judge_model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    use_vllm: bool | None = Field(None, description="decode with vLLM (Qwen families); None = as grpo.use_vllm")
    vllm_gpu_memory_utilization: float = Field(0.8, gt=0, le=1, description="vLLM's share of GPU memory in eval")
    gallery_size: int = Field(6, ge=0, description="samples per split shown in the report's gallery")
    baselines: BaselineConfig = BaselineConfig()
    metric_batch_size: int = Field(16, gt=0, description="images per forward pass of DINO / LPIPS")
    ssim_gaussian_weights: bool = Field(
        False, description="SSIM gaussian window; False matches StarVector (skimage ignores sigma then)"
    )
    lpips_input: Literal["starvector", "lpips"] = Field(
        "starvector", description="LPIPS input scaling: ImageNet-normalised as StarVector, or lpips' [-1, 1]"
    )
    input_size: int | None = Field(
        None, gt=0, description="raster side classical baselines trace; None = render_size"
    )


class LaunchConfig(Section):
    """How training stages run: in the flow's process, or under `accelerate launch`."""

    accelerate_config: str | None = Field(
        None, description="accelerate/DeepSpeed config (e.g. recipes/accelerate/zero3.yaml); None = in process"
    )
    sft_accelerate_config: str | None = Field(
        None, description="SFT's own config (e.g. multi-node recipes/accelerate/zero2-4x8.yaml); None = accelerate_config"
    )
    num_processes: int | None = Field(None, gt=0, description="override the config's process count")
    extra_args: list[str] = Field(
        default_factory=list,
        description="more `accelerate launch` arguments (multi-node: --machine_rank, --main_process_ip)",
    )

    def config_for(self, stage: str) -> str | None:
        """The accelerate config a training stage runs under (None = in the flow's process)."""
        return (self.sft_accelerate_config or self.accelerate_config) if stage == "sft" else self.accelerate_config


class Recipe(Section):
    name: str
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    artifacts_dir: str = "artifacts"
    data: DataConfig = DataConfig()
    curate: CurateConfig = CurateConfig()
    render: RenderConfig = RenderConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    model: ModelConfig = ModelConfig()
    sft: SFTConfig = SFTConfig()
    grpo: GRPOConfig = GRPOConfig()
    rewards: list[RewardSpec] = Field(default_factory=list)
    eval: EvalConfig = EvalConfig()
    launch: LaunchConfig = LaunchConfig()

    @model_validator(mode="after")
    def _text_rewards_score_with_the_metric_weights(self) -> Recipe:
        """A `clip` / `vlm_judge` reward without `model:` uses the weights its metric uses
        (eval.clip_model / eval.vlm_judge_model): the ids are written once."""
        same = {"clip": self.eval.clip_model, "vlm_judge": self.eval.vlm_judge_model}
        rewards = [r.model_copy(update={"model": same[r.name]}) if r.name in same and not r.model else r
                   for r in self.rewards]
        object.__setattr__(self, "rewards", rewards)  # frozen: set once, while validating
        return self

    @model_validator(mode="after")
    def _sft_rows_fit_the_context(self) -> Recipe:
        cap = self.curate.train_max_tokens
        if cap is not None and cap >= self.sft.max_length:
            raise ValueError(
                f"curate.train_max_tokens ({cap}) must be below sft.max_length ({self.sft.max_length}), "
                "leaving room for the prompt: the SFT trainer would otherwise truncate long SVGs silently"
            )
        return self

    def section_hash(self, *names: str) -> str:
        """Stable hash of the named sections (sorted JSON), for stage skipping."""
        payload = {n: _jsonable(getattr(self, n)) for n in names}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def resolve_recipe_path(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.suffix not in (".yaml", ".yml"):
        path = repo_root() / "recipes" / f"{path_or_name}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (repo_root() / "recipes").glob("*.yaml"))
        raise RecipeError(f"{path}: recipe not found (available: {', '.join(available)})")
    return path


def save_recipe(recipe: Recipe, path: Path) -> None:
    """The resolved recipe (defaults and overrides filled in), loadable by `load_recipe`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False))
    tmp.replace(path)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
