"""ProcessBench: F1 by its definition, labels round-tripping through our step spans, oracle F1 = 1, end to end."""

import json

import pytest

from reasoning_irl.eval.localise import MethodSignal, Trace, localisation_metrics, reward_signals
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.eval.samples import iter_rows
from reasoning_irl.text.format import render_steps, segment_steps


def _metrics(traces):
    return localisation_metrics(traces, fitted=None, hit_ks=[1, 3], windows=[0, 1], n_resamples=20, seed=0)


def test_f1_equals_its_definition_on_a_crafted_set():
    # values below 0 mark the predicted step (rule: first step with value < 0)
    crafted = [  # (truth, values) → prediction
        (1, [1, -1, 1]),  # predicts 1: hit
        (2, [-1, 1, 1]),  # predicts 0: miss
        (0, [1, 1, 1]),  # predicts none: miss
        (None, [1, 1]),  # none: correct
        (None, [1, -1]),  # predicts 1: wrong
        (None, [1, 1, 1, 1]),  # none: correct
    ]
    traces = [
        Trace(str(i), t, len(v), {"reward": MethodSignal([0.0] * len(v), v)})
        for i, (t, v) in enumerate(crafted)
    ]
    pb = _metrics(traces)["methods"]["reward"]["processbench"]
    acc_error, acc_correct = 1 / 3, 2 / 3
    assert pb["acc_error"]["mean"] == pytest.approx(acc_error)
    assert pb["acc_correct"]["mean"] == pytest.approx(acc_correct)
    assert pb["f1"]["mean"] == pytest.approx(2 * acc_error * acc_correct / (acc_error + acc_correct))


def _processbench_rows(data_file):
    path = data_file("processbench/gsm8k.json")
    return path, json.loads(path.read_text())


def test_labels_round_trip_through_our_step_spans(data_file):
    path, items = _processbench_rows(data_file)
    assert len(items) == 400
    samples = list(iter_rows(path))
    for item, sample in zip(items, samples):
        completion, spans = render_steps(item["steps"])
        assert sample.completion == completion
        again = segment_steps(sample.completion, sample.steps)
        assert [s.text for s in again] == item["steps"] == [completion[s.start : s.end] for s in again]
        label = item["label"]
        assert sample.first_error_step == (None if label == -1 else label)
        if label >= 0:
            assert again[label].text == item["steps"][label]


def test_an_oracle_scorer_gets_f1_one(data_file):
    _, items = _processbench_rows(data_file)
    traces = []
    for i, item in enumerate(items):
        n, label = len(item["steps"]), item["label"]
        truth = None if label == -1 else label
        scores = [1.0 if truth is None or j < truth else -1.0 for j in range(n)]  # drops at the first error
        token_steps = [j for j in range(n) for _ in range(3)]  # three tokens per step
        signals = reward_signals(scores, scores, [3 * j + 2 for j in range(n)], token_steps, truth)
        traces.append(Trace(str(i), truth, n, signals))
    methods = _metrics(traces)["methods"]
    assert methods["reward"]["processbench"]["f1"]["mean"] == 1.0
    assert methods["reward"]["step_hit"]["1"]["hit"]["mean"] == 1.0
    assert methods["reward"]["map"]["map"]["mean"] == 1.0
    assert methods["reward"]["token_window_hit"]["0"]["hit"]["mean"] == 1.0
    assert methods["reward"]["step_hit"]["1"]["chance"] < 0.5


def test_localisation_end_to_end_with_the_tiny_reward_model(tmp_path, data_file):
    path, _ = _processbench_rows(data_file)
    cfg = build_config(
        {
            "eval.mode": "localisation",
            "eval.pregenerated_jsonl_path": str(path),
            "task.name": "processbench",
            "model.reward": "tiny",
            "reward.head": "linear",
            "eval.compute_policy_log_probs": False,
            "eval.max_problems": 2,
            "task.system_prompt": "",
            "eval.output_dir": str(tmp_path / "out"),
            "eval.bootstrap_resamples": 20,
        }
    )
    metrics = run_evaluation(cfg)
    loc = metrics["localisation"]
    assert loc["available"] and loc["n_traces"] == 2
    reward = loc["methods"]["reward"]
    assert reward["decision_rule"]["threshold"] == 0.0 and "first step" in reward["decision_rule"]["rule"]
    assert not loc["methods"]["policy_logprob_drop"]["available"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(
        "predicted_first_error_step" in r and r["reward"]["positions"] for r in rows
    )
    assert all(s["score"] is not None for r in rows for s in r["steps"])


@pytest.mark.parametrize("form", ["gail", "airl"])
def test_the_unfitted_reward_threshold_is_zero_only_for_a_logit(form):
    """τ = 0 (σ(score) < ½) reads a gail score, a logit; an airl score (a running log-likelihood under
    log_prob) has no meaningful zero: without a fitted τ the decision is refused, saying how to fit it."""
    traces = [
        Trace(str(i), truth, 3, reward_signals([-1.0, -2.0, -3.0 - i], [-1.0, -2.0, -3.0 - i], [0, 1, 2],
                                               [0, 1, 2], truth, form=form))
        for i, truth in enumerate([1, None, 0, None])
    ]
    methods = _metrics(traces)["methods"]
    for name in ("reward", "reward_drop"):
        entry = methods[name]
        if form == "gail":
            assert entry["decision_rule"]["threshold"] == 0.0 and entry["processbench"]["available"]
        else:
            assert entry["decision_rule"]["threshold"] is None and not entry["processbench"]["available"]
            assert "eval.fit_on=validation" in entry["processbench"]["reason"]
            assert "airl" in entry["processbench"]["reason"]
        assert entry["step_hit"]["1"]["n"] == 2  # the threshold-free measures stay
    fitted = {"reward": {"threshold": -1.5, "fitted_on": "validation"}}
    again = localisation_metrics(traces, fitted=fitted, hit_ks=[1], windows=[0], n_resamples=20, seed=0)
    assert again["methods"]["reward"]["processbench"]["available"]
