"""The served deployments: `rlrf/full`, one per stage, and `rlrf/ablate`."""

from flows.serve import deployments


def test_ablate_is_served_beside_the_stage_deployments():
    deps = {f"{d.flow_name}/{d.name}": d for d in deployments("tiny")}
    assert set(deps) == {"rlrf/full", "rlrf/curate", "rlrf/sft", "rlrf/grpo", "rlrf/eval", "rlrf/ablate"}
    assert deps["rlrf/ablate"].entrypoint == "flows/ablate.py:ablate"
    assert deps["rlrf/ablate"].parameters == {"ablation": "temperature"}
