"""Recipes: YAML files parsed into typed, validated config.

A recipe is data (open-r1 style): every knob RLRF adds has a typed default here (its help
is the comment beside it) and a value in `recipes/*.yaml`. Unknown keys and bad values fail
before anything runs, naming the file, the dotted key and what was expected. Each section
has a stable hash that drives stage skipping (see `rlrf.pipeline`).

What TRL already owns is not copied: the training sections (`sft`, `grpo`) pass a `trl:`
mapping through TRL's own config classes, the one source of those values, read back with
`trl_value` (see `TrainingSection`; the paper's names for the common ones are shorthands
folded into it). A weight id is written once: `eval.dino_model` also serves curate's DINO
clusters, `eval.clip_model` / `eval.vlm_judge_model` the rewards of the same names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)


class RecipeError(ValueError):
    """A recipe file could not be read or does not match the schema."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Share = Annotated[float, Field(gt=0, le=1)]  # a share of something, above 0, at most all of it


class RenderConfig(Section):
    """Hard limits for rendering untrusted SVG (model roll-outs are hostile input)."""

    timeout_s: PositiveFloat = 5.0  # wall-clock limit per render, enforced from outside
    memory_mb: PositiveInt = 1024  # address space a render worker may add beyond its start-up footprint
    workers: PositiveInt = 2  # render worker processes
    max_input_chars: PositiveInt = 200_000  # longer SVG text is rejected
    max_elements: PositiveInt = 10_000  # more XML elements are rejected
    max_depth: PositiveInt = 64  # deeper XML nesting is rejected
    max_use: NonNegativeInt = 256  # more <use> references are rejected (fan-out bombs)
    max_dimension: PositiveFloat = 1e6  # any number in geometry beyond this is rejected (cairo fixed point: ±8e6)
    # keep <image href='data:image/...'> (raster stand-ins are a reward hack); False = reject
    allow_data_images: bool = False


class DataConfig(Section):
    """Where the raw SVG rows come from."""

    source: Literal["bundled", "hf", "local"] = "bundled"
    hf_id: str = "starvector/svg-stack"  # hub dataset id for source=hf
    hf_split: str = "train"  # hub split for train / RL rows
    # hub split SVG-Stack-Hard is built from (paper §4: the test split); None = hash bucket
    hf_test_split: str | None = "test"
    path: str | None = None  # local Parquet/JSON with SVG-Stack columns for source=local
    # local column naming each row's source split; rows equal to test_split_value are the test split
    split_column: str | None = None
    test_split_value: str = "test"  # value of split_column that marks test-split rows
    svg_column: str = "Svg"
    id_column: str = "Filename"
    caption_column: str | None = None
    max_rows: PositiveInt | None = None  # cap on rows read (None = all)
    bundled_path: str = "data/corpus/corpus.parquet"  # bundled corpus, relative to the repo
    # load only rows of these sources (None = all); list the OOD sources too
    sources: Annotated[list[str], Field(min_length=1)] | None = None
    include_bundled: bool = False  # add the bundled corpus to an hf/local source (e.g. as OOD emoji/fonts/icons)
    # split name -> corpus sources held out entirely as out-of-distribution
    ood_sources: dict[str, list[str]] = Field(
        default_factory=lambda: {"ood_emoji": [], "ood_fonts": [], "ood_icons": []}
    )


class ClusterConfig(Section):
    k: PositiveInt = 8  # clusters of test_hard candidates, sampled stratified (paper App. A)
    features: Literal["color_hist", "dino"] = "color_hist"
    # not a recipe key: filled from `eval.dino_model` (one knob for the DINOv2 weights), so a new
    # id reruns curation too when its clusters use dino features
    dino_model: str = "facebook/dinov2-base"


class CurateConfig(Section):
    """The paper's curation rules (App. A); thresholds are recipe values."""

    # round (half away from zero, not truncate) fractional parts to this many digits (paper App. A; None = keep)
    round_decimals: Annotated[int, Field(ge=1, le=9)] | None = 2
    # redraw every SVG on a grid x grid integer canvas, absolute paths (IconShop/OmniSVG;
    # rlrf.data.grid); None = keep the geometry as written
    grid: Annotated[int, Field(ge=8)] | None = None
    # drop rows whose grid redraw differs from the original render by more than this mean absolute
    # pixel difference (text, gradients, clips the redraw cannot keep)
    grid_max_distance: Share = 0.03
    max_url_chars: NonNegativeInt = 100  # drop SVGs with a URL longer than this
    max_base64_chars: NonNegativeInt = 512  # drop SVGs with an embedded base64 payload longer than this
    drop_external_images: bool = True
    max_svg_chars: PositiveInt = 200_000  # drop SVG text longer than this (before tokenising)
    require_caption: bool = False  # drop rows without a caption (Text2SVG sets)
    render_size: PositiveInt = 128  # render size for render-based filters
    white_threshold: Share = 0.97  # near-white share that marks a blank/white render
    hard_min_tokens: NonNegativeInt = 500  # test_hard candidates have at least this many SVG tokens
    hard_min_color_entropy: NonNegativeFloat = 2.0  # … and at least this colour entropy (bits)
    test_hard_size: NonNegativeInt = 600  # rows sampled into test_hard
    rl_min_tokens: NonNegativeInt = 500  # RL rows have at least this many SVG tokens (the paper's high-entropy RL set)
    rl_min_color_entropy: NonNegativeFloat = 2.0  # … and at least this colour entropy (bits)
    rl_size: NonNegativeInt = 20_000  # rows in the RL split
    # SVG tokens an SFT row may have (must fit sft.max_length with the prompt); longer rows leave
    # through the funnel's too_long filter, never truncated by the trainer
    train_max_tokens: PositiveInt | None = None
    rl_max_tokens: PositiveInt | None = None  # SVG tokens an RL row may have (a roll-out must fit); None = train_max_tokens
    # share of in-distribution rows held out for test_hard, for sources without a test split only
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.1
    # share held out for a plain in-distribution `test` split (train filters apply)
    test_plain_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.0
    test_size: NonNegativeInt = 0  # rows sampled into the plain `test` split
    ood_size: NonNegativeInt = 200  # rows per OOD split
    cluster: ClusterConfig = ClusterConfig()
    # render every train-pool row, so broken / white_background also drop SFT rows; False renders
    # only the rows a render rule decides (test_hard and OOD candidates, the train pool's RL
    # candidates, rl_min_tokens..rl cap, and the plain test pool in a seeded order until test_size
    # pass), as the paper's SFT set is SVG-Stack after the cheap filters
    render_all_train: bool = True
    # all: render every RL candidate and draw rl_size of the eligible ones at random (the rule as
    # stated); quota: render candidates in a seeded random order until rl_size are eligible and take
    # those (a uniform sample of the eligible rows as well, other rows than `all`; renders about
    # rl_size / eligible share instead of every candidate). quota needs render_all_train off
    rl_render: Literal["all", "quota"] = "all"
    shard_rows: PositiveInt = 2_000  # rows per shard: bounds the stage's memory (streaming curation)
    task_runner: Literal["thread", "process", "dask", "ray"] = "thread"
    task_runner_address: str | None = None  # Dask scheduler / Ray address for a cluster

    @model_validator(mode="after")
    def _quota_renders_only_candidates(self) -> CurateConfig:
        if self.rl_render == "quota" and self.render_all_train:
            raise ValueError("curate.rl_render: quota renders RL candidates on demand; set render_all_train: false")
        return self


class TokenizerConfig(Section):
    """Tokenizer: a hub id / path at paper scale, or trained locally on the train split."""

    name_or_path: str | None = None  # hub id or path; None = train a byte-level BPE locally
    vocab_size: Annotated[int, Field(ge=300)] = 2048  # locally trained BPE: vocabulary size
    min_frequency: PositiveInt = 2  # locally trained BPE: a merge needs this many occurrences
    # locally trained BPE: at most this many train-pool rows, a seeded sample in input order (BPE
    # training memory grows with its input); None = the whole train pool
    train_rows: PositiveInt | None = 50_000


class ModelConfig(Section):
    """Policy model: a hub id / local path, or a tiny random-init model of its family built
    from config (the `tiny model:` knobs)."""

    name_or_path: str | None = None  # hub id or path; None = tiny random init
    # model family (rlrf.models.families); auto = from config.json's model_type
    family: Literal["auto", "qwen2_5_vl", "qwen3", "starvector"] = "auto"
    task: Literal["img2svg", "text2svg"] = "img2svg"
    image_size: PositiveInt = 112  # input image side in pixels
    hidden_size: PositiveInt = 128  # tiny model: language model width
    num_hidden_layers: PositiveInt = 2  # tiny model: decoder layers
    num_attention_heads: PositiveInt = 4  # tiny model: attention heads
    num_key_value_heads: PositiveInt = 2  # tiny model: key/value heads (grouped-query attention)
    intermediate_size: PositiveInt = 256  # tiny model: MLP width
    vision_depth: PositiveInt = 2  # tiny model: vision encoder layers
    vision_hidden_size: PositiveInt = 64  # tiny model: vision encoder width
    vision_num_heads: PositiveInt = 4  # tiny model: vision attention heads
    patch_size: PositiveInt = 14  # tiny model: vision patch side in pixels
    max_position_embeddings: PositiveInt = 4096  # tiny model: longest prompt + completion
    tie_word_embeddings: bool = True  # tiny model: share input and output embeddings
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: str = "sdpa"


class RewardSpec(Section):
    name: str
    weight: float = 1.0
    model: str | None = None  # weights: hub id or local path
    cache_dir: str | None = None
    required: bool = False  # stop the run if this reward cannot load its weights
    # {start: w0, steps: n}: weight ramps from w0*weight (start default 0.1, RLRF)
    warmup: dict[str, float] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TrainingSection(Section):
    """A training stage's section: RLRF's own knobs typed, every TRL field in `trl`.

    `trl` is the one source of the stage's TRL config values: it goes through TRL's own
    config class (`SFTConfig` / `GRPOConfig`), which checks names and values, and
    `trl_value(name)` reads the effective value: the recipe's `trl` key, else RLRF's default
    for that field (`RLRF_DEFAULTS`, where the paper or a CPU run wants another value than
    TRL's), else TRL's own default from its config class.

    Shorthands: the handful of TRL fields every recipe sets may be written at the section's
    top level under the paper's names (`epochs`, `batch_size`, `grad_accum`,
    `learning_rate`, `temperature`, ...: `SHORTHANDS`); they are folded into `trl` under
    TRL's name while the recipe parses (`sft.epochs: 3` is `sft.trl.num_train_epochs: 3`),
    and writing one both ways fails, naming both.
    """

    TRL_CLASS: ClassVar[str]
    SHORTHANDS: ClassVar[dict[str, str]]  # recipe name -> TRL field
    RLRF_DEFAULTS: ClassVar[dict[str, Any]]

    trl: dict[str, Any] = Field(default_factory=dict)  # TRL config fields, passed through as they are

    @model_validator(mode="before")
    @classmethod
    def _fold_shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not set(data) & set(cls.SHORTHANDS):
            return data
        data, trl = dict(data), dict(data.get("trl") or {})
        for short in [k for k in data if k in cls.SHORTHANDS]:
            name = cls.SHORTHANDS[short]
            if name in trl:
                raise ValueError(f"{short} is TRL's {name}, which `trl` sets too: write it once")
            trl[name] = data.pop(short)
        data["trl"] = trl
        return data

    def trl_value(self, name: str) -> Any:
        """The value TRL's config gets for `name` (see the class docstring)."""
        if name in self.trl:
            return self.trl[name]
        if name in self.RLRF_DEFAULTS:
            return self.RLRF_DEFAULTS[name]
        return trl_default(self.TRL_CLASS, name)

    def trl_fields(self) -> dict[str, Any]:
        """RLRF's defaults with the recipe's `trl` mapping over them: the TRL config's fields."""
        return {**self.RLRF_DEFAULTS, **self.trl}


def trl_default(cls_name: str, name: str) -> Any:
    """TRL's own default of field `name` of its config class `cls_name` (imported lazily: TRL
    pulls in torch and transformers)."""
    import dataclasses

    import trl

    fields = {f.name: f for f in dataclasses.fields(getattr(trl, cls_name))}
    if name not in fields:
        raise ValueError(f"{name!r} is not a field of TRL's {cls_name}")
    field = fields[name]
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


class SFTConfig(TrainingSection):
    TRL_CLASS = "SFTConfig"
    SHORTHANDS = {
        "epochs": "num_train_epochs", "max_steps": "max_steps", "learning_rate": "learning_rate",
        "batch_size": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
        "max_length": "max_length", "logging_steps": "logging_steps", "save_steps": "save_steps",
        "gradient_checkpointing": "gradient_checkpointing",
    }  # fmt: skip
    RLRF_DEFAULTS = {
        "num_train_epochs": 1.0,  # the paper: 3
        "learning_rate": 1e-3,  # the tiny model's; the paper: 1e-5
        "lr_scheduler_type": "cosine",
        "max_length": 1024,  # TRL's too; the recipe check below reads it without importing TRL
        "save_steps": 200,
        "gradient_checkpointing": False,  # TRL's is on; a GPU recipe turns it on (always off on CPU)
    }

    max_train_rows: PositiveInt | None = None  # use only the first rows of the split (None = all)
    # a guard: stop (loudly) after this many seconds; the length is epochs / max_steps
    time_budget_s: PositiveFloat | None = None


class PromptSet(Section):
    """Caption-only RL prompts: one of `rlrf.data.sources.TEXT2SVG_SETS` without SVGs (e.g.
    flickr30k), from its hub id or a local Parquet/JSON copy with the same columns."""

    name: str  # a prompt-only Text2SVG set (flickr30k)
    path: str | None = None  # hub id or local path; None = the set's hub id
    split: str | None = None  # hub split; None = the set's default
    max_rows: PositiveInt | None = None  # first rows only (None = all)


class GRPOConfig(TrainingSection):
    """GRPO knobs. Step counts (`max_steps`, `lr_decay_steps`, `save_steps`, reward warm-up
    `steps`) are roll-out batches, the paper's / EasyR1's training steps; with
    `updates_per_generation: k` TRL's `global_step` counts k optimiser updates per batch.
    TRL's `logging_steps` counts TRL steps (optimiser updates)."""

    TRL_CLASS = "GRPOConfig"
    SHORTHANDS = {
        "learning_rate": "learning_rate", "num_iterations": "num_iterations", "num_generations": "num_generations",
        "temperature": "temperature", "beta": "beta", "max_completion_length": "max_completion_length",
        "logging_steps": "logging_steps", "grad_accum": "gradient_accumulation_steps", "use_vllm": "use_vllm",
        "vllm_mode": "vllm_mode", "vllm_gpu_memory_utilization": "vllm_gpu_memory_utilization",
        "vllm_server_base_url": "vllm_server_base_url", "gradient_checkpointing": "gradient_checkpointing",
    }  # fmt: skip
    RLRF_DEFAULTS = {
        "learning_rate": 1e-5,  # the paper's, before the step decay
        "num_generations": 64,  # roll-outs per prompt
        "temperature": 1.1,  # the paper's roll-out temperature
        "max_completion_length": 2048,  # the cap on the dynamic max length
        "logging_steps": 1,
        "epsilon": 0.4,  # the paper's clip range
        "gradient_checkpointing": False,  # TRL's is on; a GPU recipe turns it on (always off on CPU)
    }

    # policy GRPO starts from: the SFT model, or the base model SFT would have started from (same
    # tokenizer, processor and seed; the paper's RLRF-without-SVG-SFT ablation; eval labels it
    # rlrf_no_sft; the sft stage still runs as eval's reference)
    init: Literal["sft", "base"] = "sft"
    max_steps: PositiveInt = 500  # roll-out batches (RLRF: 500)
    lr_decay_factor: Share = 0.7  # x lr every lr_decay_steps (RLRF: 0.7 / 100)
    lr_decay_steps: PositiveInt = 100  # roll-out batches between lr cuts
    # optimiser updates (mini-batches) per roll-out batch: EasyR1/verl rollout_batch_size /
    # global_batch_size; > 1 makes the policy drift from the sampler so the clip range acts
    # (TRL steps_per_generation = this x gradient_accumulation_steps)
    updates_per_generation: PositiveInt = 1
    prompts_per_step: PositiveInt = 32  # prompts per roll-out batch (RLRF: 32)
    max_length_margin: NonNegativeInt = 16  # tokens added to the longest GT in the batch
    reward_size: PositiveInt | None = None  # render side for image rewards (paper: 512); None = model.image_size
    max_train_rows: PositiveInt | None = None  # use only the first rows of the split (None = all)
    # caption-only RL prompts added to the curated rl split (the paper's Flickr30k captions for
    # Text2SVG): text2svg with caption-only rewards (clip, vlm_judge) only
    prompt_sets: list[PromptSet] = Field(default_factory=list)
    save_steps: PositiveInt = 50  # roll-out batches between checkpoints (resume points)
    # a guard: stop (loudly) after this many seconds; the length is max_steps
    time_budget_s: PositiveFloat | None = None

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
    # vtracer.convert_pixels_to_svg keywords; path_precision 2 keeps traces under render.max_input_chars
    vtracer: dict[str, Any] = Field(
        default_factory=lambda: {"colormode": "color", "mode": "spline", "filter_speckle": 4, "color_precision": 6,
                                 "path_precision": 2},
    )
    # threshold (0-255 luminance, darker is traced) + potracer Bitmap.trace keywords
    potrace: dict[str, Any] = Field(
        default_factory=lambda: {"threshold": 128, "turdsize": 2, "alphamax": 1.0, "opttolerance": 0.2},
    )


class EvalConfig(Section):
    splits: list[str] = Field(default_factory=lambda: ["test_hard", "ood_emoji", "ood_fonts", "ood_icons"])
    # a seeded sample of each split, the same rows for every system (None = all)
    max_samples_per_split: PositiveInt | None = None
    render_size: PositiveInt = 512  # metrics render GT and prediction at this size
    do_sample: bool = False
    temperature: PositiveFloat = 1.0  # sampling temperature when do_sample
    max_new_tokens: PositiveInt = 1024  # longest generated SVG in tokens
    batch_size: PositiveInt = 8  # prompts per HF generate call
    # sft, rlrf (decoding per do_sample), sft_greedy / rlrf_greedy (always greedy), vtracer, potrace, blank
    models: list[str] = Field(default_factory=lambda: ["sft", "rlrf", "vtracer", "potrace"])
    greedy_splits: list[str] | None = None  # splits the *_greedy models are scored on (None = every eval split)
    # the DINOv2 weights: the DINO metric's, and curate's `cluster.features: dino` (one knob)
    dino_model: str = "facebook/dinov2-base"
    lpips_net: Literal["vgg", "alex"] = "vgg"
    lpips_weights: str | None = None  # local LPIPS weights; None = the package's bundled ones
    clip_model: str = "openai/clip-vit-large-patch14"
    vlm_judge_model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    use_vllm: bool | None = None  # decode with vLLM (Qwen families); None = as grpo's trl use_vllm
    vllm_gpu_memory_utilization: Share = 0.8  # vLLM's share of GPU memory in eval
    gallery_size: NonNegativeInt = 6  # samples per split shown in the report's gallery
    baselines: BaselineConfig = BaselineConfig()
    metric_batch_size: PositiveInt = 16  # images per forward pass of DINO / LPIPS
    # SSIM gaussian window; False matches StarVector (skimage ignores sigma then)
    ssim_gaussian_weights: bool = False
    # LPIPS input scaling: ImageNet-normalised as StarVector, or lpips' [-1, 1]
    lpips_input: Literal["starvector", "lpips"] = "starvector"
    input_size: PositiveInt | None = None  # raster side classical baselines trace; None = render_size


class LaunchConfig(Section):
    """How training stages run: in the flow's process, or under `accelerate launch`."""

    # accelerate/DeepSpeed config (e.g. recipes/accelerate/zero3.yaml); None = in process
    accelerate_config: str | None = None
    # SFT's own config (e.g. multi-node recipes/accelerate/zero2-4x8.yaml); None = accelerate_config
    sft_accelerate_config: str | None = None
    num_processes: PositiveInt | None = None  # override the config's process count
    # more `accelerate launch` arguments (multi-node: --machine_rank, --main_process_ip)
    extra_args: list[str] = Field(default_factory=list)

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
    def _one_dino_model(self) -> Recipe:
        """`eval.dino_model` is the one DINOv2 knob; curate's clusters read it from their own
        section (filled here), so curation's hash follows it."""
        cluster = self.curate.cluster
        if "dino_model" in cluster.model_fields_set and cluster.dino_model != self.eval.dino_model:
            raise ValueError("curate.cluster.dino_model: the DINOv2 weights are set once, as eval.dino_model "
                             f"(got {cluster.dino_model!r} here and {self.eval.dino_model!r} there)")
        curate = self.curate.model_copy(update={"cluster": cluster.model_copy(update={"dino_model": self.eval.dino_model})})
        object.__setattr__(self, "curate", curate)  # frozen: set once, while validating (a copy: defaults are shared)
        return self

    @model_validator(mode="after")
    def _sft_rows_fit_the_context(self) -> Recipe:
        cap, context = self.curate.train_max_tokens, self.sft.trl_value("max_length")
        if cap is not None and cap >= context:
            raise ValueError(
                f"curate.train_max_tokens ({cap}) must be below sft.max_length ({context}), "
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
