"""Real CUDA steps on the tiny models: SFT -> GRPO -> eval with `device: cuda` in bf16 for
every family, metric networks on the GPU, and vLLM roll-outs (colocated) when vLLM is
installed. Skipped without a CUDA device; `scripts/gpu_checks.sh` runs exactly these."""

import pyarrow as pa
import pytest
import torch

from rlrf.config import EvalConfig, RenderConfig
from rlrf.eval import metrics as M
from rlrf.eval.run import evaluate_split, model_predictor
from rlrf.models.device import resolve_device
from rlrf.models.families import load_trained
from rlrf.scores import learned as L
from rlrf.train.grpo import train_grpo
from rlrf.train.sft import train_sft
from tests.models.micro import icon_rows, micro_recipe

pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

FAMILIES = [("qwen2_5_vl", "img2svg"), ("qwen3", "text2svg"), ("starvector", "img2svg")]
# head_dim 64: vLLM's attention kernels do not take the micro model's 16
VLLM_MODEL = {"hidden_size": 128, "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 256}


def _recipe(family, task, grpo=None, model=None):
    return micro_recipe(
        device="cuda",
        model={"family": family, "task": task, "dtype": "bfloat16", **(model or {})},
        sft={"max_steps": 2, "batch_size": 2, "logging_steps": 1},
        grpo={"max_steps": 2, "prompts_per_step": 2, "num_generations": 2, "max_completion_length": 16,
              **(grpo or {})},
        rewards=[{"name": "l2", "weight": 1.0}, {"name": "length", "weight": 0.2}],
    )


@pytest.mark.parametrize(("family", "task"), FAMILIES)
def test_cuda_sft_grpo_eval(family, task, micro_tokenizer, tmp_path):
    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = _recipe(family, task)
    assert train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")["steps"] == 2
    assert train_grpo(recipe, icon_rows(4), tmp_path / "sft" / "model", tmp_path / "grpo")["steps"] == 2

    device = resolve_device(recipe.device)
    model, processor = load_trained(tmp_path / "grpo" / "model")
    model.to(device).eval()
    assert next(model.parameters()).device.type == "cuda"
    tiny = L.DinoScorer(*_tiny_dino_parts(), device=str(device), batch_size=2)
    metric_models = M.MetricModels(task=task, scorers={"dino": tiny})
    cfg, limits = EvalConfig(render_size=64, max_new_tokens=8, batch_size=2), RenderConfig(workers=2)
    rows = icon_rows(4).drop(["split"]).append_column("split", pa.array(["test"] * 4))
    predict = model_predictor(model, processor, cfg, limits, recipe.model.image_size, task=task)
    preds, metrics = evaluate_split("rlrf", rows, predict, cfg, limits, micro_tokenizer, task=task,
                                    metric_models=metric_models)
    assert preds.num_rows == 4 and all(0 < n <= 8 for n in preds.column("n_tokens").to_pylist())
    assert set(metrics.column("dino_status").to_pylist()) == {"ok"}


def _tiny_dino_parts():
    from tests.tiny_models import tiny_dino

    scorer = tiny_dino()
    return scorer.model, scorer.processor


@pytest.mark.parametrize(("family", "task"), [("qwen3", "text2svg"), ("qwen2_5_vl", "img2svg")])
def test_vllm_colocate_rollouts(family, task, micro_tokenizer, tmp_path):
    pytest.importorskip("vllm")
    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = _recipe(family, task, model=VLLM_MODEL,
                     grpo={"use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.2})
    train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")
    summary = train_grpo(recipe, icon_rows(4), tmp_path / "sft" / "model", tmp_path / "grpo")
    assert summary["steps"] == 2 and summary["rollouts"] == 8


def test_vllm_eval_generation(micro_tokenizer, tmp_path):
    pytest.importorskip("vllm")
    from rlrf.models.families import get_family
    from rlrf.models.prompts import Decoding
    from rlrf.models.vllm_generate import generate_svgs_vllm, load_vllm

    recipe = _recipe("qwen3", "text2svg", model=VLLM_MODEL)
    fam = get_family("qwen3")
    fam.build_model(recipe.model, micro_tokenizer).save_pretrained(tmp_path)
    micro_tokenizer.save_pretrained(tmp_path)
    llm = load_vllm(tmp_path, 0.2, 0, "text2svg")
    out = generate_svgs_vllm(llm, micro_tokenizer, None, ["a circle", "a square", "x"],
                             Decoding(max_new_tokens=8, task="text2svg"))
    assert len(out) == 3 and all(0 < n <= 8 for _, n, _ in out)
