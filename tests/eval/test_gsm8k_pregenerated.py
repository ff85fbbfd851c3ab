"""A pregenerated file of real GSM8K completions gives exactly the pass@k its construction implies (no model)."""

import json
from math import comb

import numpy as np
import pytest

from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.tasks.gsm8k import parse_solution
from reasoning_irl.text.format import format_completion
from reasoning_irl.text.prompts import build_messages


def test_pass_at_k_matches_the_construction(tmp_path, monkeypatch, data_file):
    source = data_file("gsm8k/test.jsonl")
    n, problems = 6, 40
    rows, n_correct = [], []
    with source.open() as handle:
        for i, line in zip(range(problems), handle):
            item = json.loads(line)
            steps, gold = parse_solution(item["answer"])
            c = (7 * i) % (n + 1)  # 0..n correct samples, varied across problems
            n_correct.append(c)
            for s in range(n):
                answer = gold if s < c else str(int(gold) + 1 + s)  # wrong answers differ from each other
                rows.append(
                    {
                        "prompt": build_messages(item["question"]),
                        "problem_id": f"gsm8k-test-{i}",
                        "completion": format_completion(steps, answer),
                        "answer": gold,
                        "sample_idx": s,
                    }
                )
    path = tmp_path / "gsm8k_samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    import reasoning_irl.models as models_pkg

    monkeypatch.setattr(models_pkg, "load_causal_lm", lambda *a, **k: pytest.fail("a model was loaded"))
    cfg = build_config(
        {
            "task.name": "gsm8k",
            "eval.mode": "pregenerated_policy",
            "eval.compute_policy_log_probs": False,
            "eval.pregenerated_jsonl_path": str(path),
            "eval.output_dir": str(tmp_path / "out"),
            "eval.ks": [1, 2, 5],
            "eval.bootstrap_resamples": 50,
        }
    )
    metrics = run_evaluation(cfg)
    for k in (1, 2, 5):
        expected = np.mean([1 - comb(n - c, k) / comb(n, k) for c in n_correct])
        assert metrics["pass_at_k"][str(k)]["mean"] == pytest.approx(expected, abs=1e-12)
    # majority: the gold answer wins whenever it has any sample (every wrong answer appears once)
    expected_maj1 = np.mean([c / n for c in n_correct])
    assert metrics["maj_at_k"]["1"]["mean"] == pytest.approx(expected_maj1)
    # majority vote over all 6: gold wins if it has >= 2 votes; with 1 vote all six tie (1/6); with 0 it loses
    expected_vote = np.mean([1.0 if c >= 2 else c / n for c in n_correct])
    majority = metrics["best_of_n"]["selectors"]["majority"]["success"]["6"]["1"]["mean"]
    assert majority == pytest.approx(expected_vote)
    out_rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [r["correct"] for r in out_rows] == [s < c for c in n_correct for s in range(n)]
