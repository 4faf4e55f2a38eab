import pyarrow.parquet as pq
import pytest
from transformers import TrainerCallback

from rlrf.train.grpo import dynamic_max_length, step_decay, train_grpo
from rlrf.train.sft import train_sft
from tests.models.micro import icon_rows, micro_recipe

GRPO = {
    "max_steps": 3,
    "prompts_per_step": 2,
    "num_generations": 2,
    "save_steps": 2,
    "learning_rate": 1e-3,
    "max_length_margin": 2,
    "max_completion_length": 200,
}

REWARDS = [
    {"name": "l2", "weight": 1.0},
    {"name": "l2_canny", "weight": 0.5, "warmup": {"start": 0.1, "steps": 2}},
]


@pytest.fixture(scope="module")
def sft_model(micro_tokenizer, tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    micro_tokenizer.save_pretrained(root / "tok")
    train_sft(
        micro_recipe(sft={"max_steps": 1, "batch_size": 2}), icon_rows(), root / "tok", root / "out"
    )
    return root / "out" / "model"


def test_dynamic_max_length_rules():
    assert dynamic_max_length([10, 40, 25], margin=8, cap=100) == 48
    assert dynamic_max_length([10, 400], margin=8, cap=100) == 100
    f = step_decay(0.7, 100)  # RLRF: "multiplied by 0.7 every 100 steps"
    assert (f(0), f(99), f(100), f(250)) == (1.0, 1.0, pytest.approx(0.7), pytest.approx(0.49))


class Spy(TrainerCallback):
    """Sees the trainer's per-batch generation budget and the reward columns."""

    def __init__(self):
        self.lengths = []

    def on_step_end(self, args, state, control, **kwargs):
        self.lengths.append(self.trainer.generation_config.max_new_tokens)


def test_grpo_steps_tables_and_dynamic_length(sft_model, tmp_path, micro_tokenizer):
    from rlrf.train import grpo as grpo_mod

    seen = {}
    original = grpo_mod.RLRFTrainer._calculate_rewards

    def spy(self, inputs, prompts, completions, ids):
        seen.setdefault("cols", set()).update(inputs[0].keys())
        seen.setdefault("gt", []).append(max(int(x["gt_n_tokens"]) for x in inputs))
        seen.setdefault("len", []).append(self.generation_config.max_new_tokens)
        return original(self, inputs, prompts, completions, ids)

    grpo_mod.RLRFTrainer._calculate_rewards = spy
    try:
        summary = train_grpo(
            micro_recipe(grpo=GRPO, rewards=REWARDS), icon_rows(), sft_model, tmp_path
        )
    finally:
        grpo_mod.RLRFTrainer._calculate_rewards = original
    assert summary["steps"] == 3
    assert {"gt_svg", "sample_id", "caption", "gt_n_tokens"} <= seen["cols"]
    # each step's budget is that batch's longest GT + margin
    assert seen["len"] == [g + 2 for g in seen["gt"]]
    assert len(set(seen["len"])) > 1, "icons of different lengths must give different budgets"
    log = pq.read_table(tmp_path / "train_log.parquet").to_pylist()
    assert [r["step"] for r in log] == [1, 2, 3]
    for key in (
        "reward",
        "reward_std",
        "rewards_l2_mean",
        "frac_reward_zero_std",
        "completions_mean_length",
        "lr",
        "time_generate_s",
        "time_score_s",
        "time_optimise_s",
        "dynamic_max_length",
    ):
        assert all(r[key] is not None for r in log), key
    roll = pq.read_table(tmp_path / "rollouts.parquet")
    assert roll.num_rows == 3 * 2 * 2
    assert {
        "step",
        "sample_id",
        "k",
        "svg",
        "render_ok",
        "error",
        "l2",
        "l2_canny",
        "total",
    } <= set(roll.column_names)
    assert sorted(set(roll.column("k").to_pylist())) == [0, 1]
    assert all(-1.5 <= t <= 1.5 for t in roll.column("total").to_pylist())  # weights 1 + 0.5
    assert (tmp_path / "model" / "config.json").exists()


class Interrupt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt


def test_resume_continues_step_count(sft_model, tmp_path):
    recipe = micro_recipe(grpo={**GRPO, "max_steps": 4}, rewards=REWARDS)
    with pytest.raises(KeyboardInterrupt):
        train_grpo(recipe, icon_rows(), sft_model, tmp_path, callbacks=[Interrupt()])
    assert (tmp_path / "checkpoints" / "checkpoint-2").is_dir()
    assert not (tmp_path / "model").exists()
    summary = train_grpo(recipe, icon_rows(), sft_model, tmp_path)
    assert summary["resumed_from"].endswith("checkpoint-2")
    assert summary["steps"] == 4
    steps = pq.read_table(tmp_path / "train_log.parquet").column("step").to_pylist()
    assert steps == [1, 2, 3, 4]
    roll_steps = pq.read_table(tmp_path / "rollouts.parquet").column("step").to_pylist()
    assert sorted(set(roll_steps)) == [1, 2, 3, 4] and len(roll_steps) == 4 * 4


def completion_length(completions, **_):
    """A reward that always differs between roll-outs (gives every group an advantage)."""
    return [len(str(c)) / 100.0 for c in completions]


@pytest.mark.parametrize("updates, clips", [(1, False), (2, True)])
def test_clip_range_acts_only_with_several_updates_per_rollout_batch(
    sft_model, tmp_path, updates, clips
):
    """One update per roll-out batch: the loss sees the sampler's own policy (ratio 1), so
    ε never clips. Several mini-batch updates (EasyR1/verl, `updates_per_generation`):
    the later ones see a moved policy, and with a high lr and a small ε clipping acts."""
    grpo = {
        **GRPO,
        "max_steps": 2,
        "prompts_per_step": 2,
        "num_generations": 4,
        "learning_rate": 5e-2,
        "trl": {"epsilon": 0.01},
        "temperature": 1.5,
        "updates_per_generation": updates,
    }
    rewards = [{"name": "tests.train.test_grpo.completion_length", "weight": 1.0}]
    summary = train_grpo(micro_recipe(grpo=grpo, rewards=rewards), icon_rows(), sft_model, tmp_path)
    assert summary["rollout_batches"] == 2 and summary["steps"] == 2 * updates
    log = pq.read_table(tmp_path / "train_log.parquet").to_pylist()
    assert len(log) == 2 * updates
    clip = [r["clip_ratio_region_mean"] for r in log]
    assert (max(clip) > 0) is clips, clip
    if not clips:
        assert clip == [0.0] * len(clip)
