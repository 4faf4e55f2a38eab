"""`Term` and `RolloutBook`: warm-up from TRL's `trainer_state`, rows from what the terms
report, render status through TRL's `log_extra`; no trainer needed."""

from types import SimpleNamespace

import pytest

from rlrf.config import RenderConfig, RewardSpec
from rlrf.rewards.registry import build_rewards
from rlrf.train.callbacks import StepClock
from rlrf.train.rollouts import RolloutBook, Term

GOOD = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="4" height="8" fill="#000"/></svg>'
UNFINISHED = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="4"'


def constant(value):
    def fn(completions, **_):
        return [value] * len(completions)

    fn.__name__ = f"const_{value}"
    return fn


def call(terms, completions, step, **columns):
    metrics, extra = [], []
    state = SimpleNamespace(global_step=step)
    out = [t(completions, trainer_state=state, log_metric=lambda n, v: metrics.append((n, v)),
             log_extra=lambda c, v: extra.append(c), **columns) for t in terms]
    return out, metrics, extra


def test_warmup_scales_the_value_by_the_rollout_batch_and_rows_keep_the_raw_score():
    book, clock = RolloutBook(["const_0.5", "const_1.0"], num_generations=2), StepClock()
    warm = {"start": 0.1, "steps": 10}
    terms = [Term(constant(0.5), 2.0, None, 2, book, clock), Term(constant(1.0), 1.0, warm, 2, book, clock)]
    cols = {"sample_id": ["a", "a"], "gt_n_tokens": [4, 4], "completion_ids": [[1, 2], [3]]}
    # TRL step 10 with 2 updates per roll-out batch: batch 5 of a 10-batch warm-up
    out, metrics, _ = call(terms, ["x", "y"], 10, **cols)
    assert out[0] == [0.5, 0.5]  # no warm-up: TRL applies the weight itself
    assert out[1] == [pytest.approx(0.55)] * 2
    assert metrics == [("warmup/const_1.0", pytest.approx(0.55))]
    rows = book.rows
    assert [r["k"] for r in rows] == [0, 1] and [r["n_tokens"] for r in rows] == [2, 1]
    assert all(r["step"] == 11 and r["const_1.0"] == 1.0 for r in rows)
    assert rows[0]["total"] == pytest.approx(2.0 * 0.5 + 0.55 * 1.0)
    assert rows[0]["render_ok"] is None  # no term rendered


def test_rows_wait_for_every_term_and_render_status_comes_from_the_reward_layer():
    render = RenderConfig(workers=1)
    funcs, weights, warmups, _ = build_rewards(
        [RewardSpec(name="l2", weight=1.0), RewardSpec(name="length", weight=0.5)], render, 16
    )
    book, clock = RolloutBook([f.__name__ for f in funcs], num_generations=2), StepClock()
    terms = [Term(f, w, wu, 1, book, clock) for f, w, wu in zip(funcs, weights, warmups, strict=True)]
    cols = {"sample_id": ["a", "a"], "gt_svg": [GOOD, GOOD], "gt_n_tokens": [60, 60]}
    state = SimpleNamespace(global_step=0)
    forwarded = []
    terms[0]([GOOD, UNFINISHED], trainer_state=state, log_extra=lambda c, v: forwarded.append(c), **cols)
    assert book.rows == []  # the length term has not scored yet
    terms[1]([GOOD, UNFINISHED], trainer_state=state, log_extra=lambda c, v: forwarded.append(c), **cols)
    assert forwarded == ["render_ok", "render_error"]  # the gate is reported to TRL once a batch
    ok, bad = book.rows
    assert ok["render_ok"] is True and ok["error"] is None and ok["l2"] == pytest.approx(1.0)
    assert bad["render_ok"] is False and bad["error"] == "rejected:unfinished"
    assert bad["l2"] == bad["length"] == -1.0 and bad["total"] == pytest.approx(-1.5)


def test_step_clock_splits_a_step_into_generate_score_and_optimise():
    clock = StepClock()
    clock.on_step_begin(None, None, None)
    clock._t0 -= 3.0  # the step started 3 s ago; the first reward call 1 s after it
    clock.scored(clock._t0 + 1.0)
    clock.on_step_end(None, None, None)
    times = clock.take()
    assert times["time_generate_s"] == pytest.approx(1.0, abs=0.05)
    assert times["time_score_s"] == pytest.approx(2.0, abs=0.05)
    assert times["time_optimise_s"] == pytest.approx(0.0, abs=0.05)
    assert clock.take() == {}  # taken once per log
