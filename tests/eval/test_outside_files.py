"""Files other tools wrote, on real problems: free-form answers, the reference code's rows, published gold answers.

Every problem gets one sample per answer style (all right) and one wrong sample, so pass@1 is known exactly:
styles / (styles + 1). Gold answers come from the offline data files (skipped when absent, failed under CI).
"""

from __future__ import annotations

import json
import random

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.eval.summary import summarise
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task

NUMERIC_STYLES = {
    "tags": lambda a: f"<think>\n3 + 4 = 7\n</think>\n<answer>\n{a}\n</answer>",
    "boxed": lambda a: f"So 3 + 4 = 7 and we are done. The answer is \\(\\boxed{{{a}}}\\).",
    "dollar_boxed": lambda a: f"Adding the parts gives $\\boxed{{{a}}}$",
    "answer_is": lambda a: f"First 3 + 4 = 7, then 7 * 2 = 14. The answer is {a}.",
    "answer_colon": lambda a: f"We compute 12 / 4 = 3.\nAnswer: {a}",
    "hashes": lambda a: f"48/2 = 24\n#### {a}",
    "last_number": lambda a: f"Therefore, John has {a} minutes to nap.",
}
NUMERIC_BY = {"tags": "tags", "boxed": "boxed", "dollar_boxed": "boxed", "answer_is": "answer_is",
              "answer_colon": "answer_is", "hashes": "hashes", "last_number": "last_number"}
MATH_STYLES = {
    "tags": NUMERIC_STYLES["tags"],
    "boxed": lambda a: f"Hence the result is $\\boxed{{{a}}}$.",
    "answer_is": lambda a: f"Putting it together, the final answer is ${a}$. I hope it is correct.",
}
CHOICE_STYLES = {
    "tags": lambda letter: f"<think>\nOnly one option fits.\n</think>\n<answer>{letter}</answer>",
    "boxed": lambda letter: f"Only one option fits, so \\boxed{{{letter}}}",
    "answer_is": lambda letter: f"Options 1 and 2 are ruled out. The answer is ({letter}).",
    "answer_colon": lambda letter: f"Let me eliminate the others.\nAnswer: {letter}",
}


def _evaluate(tmp_path, task: str, rows: list[dict], name: str = "in", **overrides):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / f"out-{name}"
    cfg = build_config({"task.name": task, "eval.mode": "pregenerated_policy", "eval.compute_policy_log_probs": False,
                        "eval.pregenerated_jsonl_path": str(path), "eval.output_dir": str(out),
                        "eval.ks": [1], "eval.bootstrap_resamples": 10, **overrides})
    metrics = run_evaluation(cfg)
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return metrics, samples


def _rows(records, styles, answer_of, gold_of, wrong_of):
    rows = []
    for r in records:
        for i, (style, render) in enumerate(styles.items()):
            rows.append({"prompt": r.prompt, "problem_id": r.problem_id, "sample_idx": i, "style": style,
                         "completion": render(answer_of(r)), "answer": gold_of(r)})
        rows.append({"prompt": r.prompt, "problem_id": r.problem_id, "sample_idx": len(styles), "style": "wrong",
                     "completion": styles["tags"](wrong_of(r)), "answer": gold_of(r)})
    return rows


def _check(metrics, samples, styles, by=None):
    n = len(styles) + 1
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(len(styles) / n)
    assert metrics["answer_rate"] == 1.0 and metrics["answer_extraction"]["answer_rate"] == 1.0
    assert metrics["warnings"] == []
    for s in samples:
        style = s["sample_idx"] < len(styles) and list(styles)[s["sample_idx"]]
        assert s["correct"] is bool(style), s
        if style:
            assert s["extracted_by"] == (by or {}).get(style, style)


@pytest.fixture(scope="module")
def gsm8k_published(data_file):
    """(records, the published gold text after '####' with its commas) of the first 150 GSM8K test problems."""
    path = data_file("gsm8k/test.jsonl")
    published = [json.loads(line)["answer"].split("####")[1].strip() for line in path.open()][:150]
    records = get_task(TaskConfig(name="gsm8k")).load("test")[:150]
    return records, dict(zip((r.problem_id for r in records), published))


def test_gsm8k_free_form_styles_and_published_gold_answers(tmp_path, gsm8k_published):
    records, published = gsm8k_published
    chosen = records[:6] + [records[146]]  # gsm8k-test-146: published "#### 2,125"
    assert published["gsm8k-test-146"] == "2,125"
    rows = _rows(chosen, NUMERIC_STYLES, lambda r: f"{int(r.answer):,}", lambda r: published[r.problem_id],
                 lambda r: str(int(r.answer) + 1))
    metrics, samples = _evaluate(tmp_path, "gsm8k", rows)
    _check(metrics, samples, NUMERIC_STYLES, NUMERIC_BY)
    assert metrics["answer_extraction"]["answer_format"] == "flexible"
    assert "default for pregenerated" in metrics["answer_extraction"]["answer_format_source"]
    # strict tags: only the tagged samples have an answer; loud in metrics.json and in the summary
    metrics, _ = _evaluate(tmp_path, "gsm8k", rows, name="tags", **{"task.answer_format": "tags"})
    assert metrics["answer_extraction"]["extracted_by"]["tags"] == 2 * len(chosen)
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(1 / (len(NUMERIC_STYLES) + 1))
    assert "have an answer that task.answer_format=tags can find" in metrics["warnings"][0]
    assert "WARNING: only 14 of 56 graded samples" in summarise(metrics)


def test_gold_answers_are_compared_as_values_not_strings(tmp_path, gsm8k_published):
    records, published = gsm8k_published
    record = records[146]
    for gold in ("2,125", "2125", "2125.0", "$2,125", f"some working\n#### {published[record.problem_id]}"):
        rows = [{"prompt": record.prompt, "problem_id": record.problem_id, "completion": "#### 2125", "answer": gold}]
        metrics, _ = _evaluate(tmp_path, "gsm8k", rows, name="gold")
        assert metrics["accuracy"] == 1.0
    rows[0]["answer"] = "2,126"
    with pytest.raises(DataFileError,
                       match=r"gold\.jsonl:1: problem 'gsm8k-test-146'.*'2,126' is not the task's '2125'"):
        _evaluate(tmp_path, "gsm8k", rows, name="gold")


def test_math500_free_form_styles(tmp_path, data_file):
    data_file("math500/test.jsonl")
    records = get_task(TaskConfig(name="math500")).load("test")[:8]
    assert records[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    rows = _rows(records, MATH_STYLES, lambda r: r.answer, lambda r: r.answer, lambda r: "\\text{none}")
    _check(*_evaluate(tmp_path, "math500", rows), MATH_STYLES)


def test_aime_free_form_styles_with_zero_padded_answers(tmp_path, data_file):
    data_file("aime24/test.jsonl")
    data_file("aime25/test.jsonl")
    records = get_task(TaskConfig(name="aime")).load("test")
    chosen = [r for r in records if int(r.answer) < 100][:3] + records[-3:]
    rows = _rows(chosen, NUMERIC_STYLES, lambda r: f"{int(r.answer):03d}", lambda r: f"{int(r.answer):03d}",
                 lambda r: str((int(r.answer) + 1) % 1000))
    _check(*_evaluate(tmp_path, "aime", rows), NUMERIC_STYLES, NUMERIC_BY)


def test_mmlu_pro_letters_in_each_style(tmp_path, data_file):
    data_file("mmlu_pro/model_outputs_jamba-1.5-large_5shots.zip")
    records = get_task(TaskConfig(name="mmlu_pro")).load("test")[:8]
    rows = _rows(records, CHOICE_STYLES, lambda r: r.meta["answer_letter"], lambda r: r.meta["answer_letter"],
                 lambda r: r.meta["distractor_letters"][0])
    metrics, samples = _evaluate(tmp_path, "mmlu_pro", rows)
    _check(metrics, samples, CHOICE_STYLES, {"answer_colon": "answer_is"})
    # no last-number fallback for a choice: a number in the reasoning is not an answer
    lone = [{**rows[0], "completion": "Options 1 and 2 are ruled out, 3 remains."}]
    metrics, samples = _evaluate(tmp_path, "mmlu_pro", lone, name="lone")
    assert samples[0]["extracted_by"] is None and metrics["answer_rate"] == 0.0
    assert metrics["warnings"]


def _reference_rows(records, seed=0):
    """The reference code's schema (docs/METHOD.md §8.1): no answer, generation.content, its own grade and scores."""
    rng = random.Random(seed)
    styles = [
        (lambda a: f"Adding up, $\\boxed{{{a}}}$", True, False),
        (lambda a: f"So the total is {a} dollars in all. The answer is {a}.", True, False),
        (lambda a: f"<think>\nadd them\n</think>\n<answer>\n{a}\n</answer>", True, True),
        (lambda a: f"<think>\nadd them\n</think>\n<answer>\n{int(a) + 3}\n</answer>", False, False),
    ]
    rows = []
    for r in rng.sample(records, len(records)):  # not in dataset order
        for g, (render, _, theirs) in enumerate(styles):
            n_tokens = rng.randint(3, 9)
            rows.append({
                "prompt": r.prompt,
                "generation": {"content": render(r.answer)},
                "generation_idx": g,
                "reward_model_score": [rng.uniform(-2, 2) for _ in range(n_tokens)],
                "policy_log_probs": [-rng.random() for _ in range(n_tokens)],
                "correctness_reward_func": 2.0 if theirs else 0.0,
                "xmlcount_reward_func": 0.5,
            })
    return rows


def test_reference_schema_file_without_answer(tmp_path, gsm8k_published):
    records, _ = gsm8k_published
    rows = _reference_rows(records[:10])
    metrics, samples = _evaluate(tmp_path, "gsm8k", rows, name="reference", **{"eval.ks": [1, 2]})
    assert {s["problem_id"] for s in samples} == {f"gsm8k-test-{i}" for i in range(10)}
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(0.75)
    assert [s["extracted_by"] for s in samples[:4]] == ["boxed", "answer_is", "tags", "tags"]
    agree = metrics["answer_extraction"]["reference_correctness"]
    assert (agree["n_compared"], agree["n_disagree"], agree["ours_correct_reference_wrong"]) == (40, 20, 20)
    assert "disagrees on 20 of 40" in summarise(metrics)
    # the carried per-token reward_model_score is the reference's mean selector, not reward_last
    selectors = metrics["best_of_n"]["selectors"]
    assert metrics["computed"]["reward_aggregation"] == "mean"
    assert selectors["reward_mean"]["available"] and not selectors["reward_last"]["available"]
    assert selectors["reward"]["success"] == selectors["reward_mean"]["success"]
    assert selectors["policy_mean_logprob"]["available"]


def test_reference_row_matching_no_record_is_named(tmp_path, gsm8k_published):
    records, _ = gsm8k_published
    rows = _reference_rows(records[:3])
    for row in rows[4:8]:
        row["prompt"] = [*row["prompt"][:-1], {"role": "user", "content": "A question from another dataset?"}]
    with pytest.raises(DataFileError, match=r"unmatched\.jsonl:5: the row has no 'answer'.*another dataset.*"
                                            r"task=gsm8k split=test"):
        _evaluate(tmp_path, "gsm8k", rows, name="unmatched")


def test_rows_without_answer_need_the_task_data(tmp_path, gsm8k_published):
    records, _ = gsm8k_published
    empty = tmp_path / "no-data"
    empty.mkdir()
    with pytest.raises(DataFileError, match=r"nodata\.jsonl:1: the rows have no 'answer' and task=gsm8k split=test "
                                            r"could not be loaded to join them .*give each row its gold 'answer'"):
        _evaluate(tmp_path, "gsm8k", _reference_rows(records[:1]), name="nodata", **{"task.data_dir": str(empty)})
