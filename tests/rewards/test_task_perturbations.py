"""The perturbation list follows the task kind: multiple-choice experts get distractor negatives.

With the math list, an MMLU-Pro or MedReason trace answering ``B. Vitamin D`` became ``B. Vitmain D``
(an answer that names no option), and two of the math functions left prose traces unchanged.
"""

import pytest

from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.rewards import Discriminator, DiscriminatorSample
from reasoning_irl.rewards.perturbations import default_perturbations
from reasoning_irl.tasks.arith import ArithTask
from reasoning_irl.tasks.medreason import MedReasonTask
from reasoning_irl.tasks.mmlu_pro import MMLUProTask
from reasoning_irl.tasks.multiple_choice import choice_record
from reasoning_irl.text.format import extract_answer

OPTIONS = ["Vitamin A", "Vitamin D", "Vitamin K", "Iron", "Zinc"]
REASONING = ("Rickets in a child points to a lack of calcium deposition in bone.\n"
             "Calcium absorption needs the active form of a fat-soluble vitamin - calcitriol.\n"
             "The daily dose is 400 * 1 = 400 IU.")


def _records(task_name: str, count: int = 12):
    cfg = TaskConfig(name=task_name)
    records = []
    for i in range(count):
        record = choice_record(cfg, f"{task_name}-{i}", f"Question {i}: which deficiency causes rickets?", OPTIONS, "B")
        record.target = f"<think>\n{REASONING}\n</think>\n<answer>\n{record.answer}\n</answer>"
        records.append(record)
    return records


@pytest.mark.parametrize("task_class,name", [(MMLUProTask, "mmlu_pro"), (MedReasonTask, "medreason")])
def test_multiple_choice_experts_get_distractor_negatives_by_default(make_reward_model, task_class, name):
    records = _records(name)
    disc = Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="gail"),
                         task_kind=task_class.answer_kind)
    experts = [DiscriminatorSample(r.prompt, r.target, "expert", problem_id=r.problem_id) for r in records]
    negatives = disc.perturbed_negatives(experts, seed=3, metas=[r.meta for r in records])
    # every expert gets one: a function that leaves a trace unchanged (wrong_result on prose) gives way to another
    assert len(negatives) == len(records)
    options = {f"{letter}. {text}" for letter, text in zip("ABCDE", OPTIONS)}
    answers = [extract_answer(n.completion) for n in negatives]
    assert all(a in options for a in answers), answers  # never "B. Vitmain D"
    assert sum(a != "B. Vitamin D" for a in answers) >= len(records) // 2  # most name a distractor


def test_the_default_list_follows_the_task_kind():
    assert DiscriminatorConfig().perturbations is None  # null = the task's list
    assert MMLUProTask.answer_kind == MedReasonTask.answer_kind == "multiple_choice"
    assert ArithTask.answer_kind == "math"
    assert "distractor_answer" in default_perturbations("multiple_choice")
    assert not ({"nearby_answer", "answer_from_reasoning", "corrupt_numbers"}
                & set(default_perturbations("multiple_choice")))
    # the math list (and so the embedded arith default) is unchanged
    assert default_perturbations("math") == ["flip_operator", "nearby_answer", "corrupt_numbers",
                                             "answer_from_reasoning", "wrong_result"]
    with pytest.raises(ValueError, match="task kind 'essay'"):
        default_perturbations("essay")


def test_answer_mangling_perturbations_are_refused_for_multiple_choice(make_reward_model):
    with pytest.raises(ValueError, match="nearby_answer.*multiple-choice.*distractor_answer"):
        Discriminator(make_reward_model(head="linear"),
                      DiscriminatorConfig(form="gail", perturbations=["nearby_answer", "distractor_answer"]),
                      task_kind="multiple_choice")


def test_a_perturbation_that_changes_nothing_gives_way_to_one_that_does():
    from reasoning_irl.rewards.perturbations import perturb_traces

    records = _records("mmlu_pro", count=40)
    results = perturb_traces([r.target for r in records], ["wrong_result", "distractor_answer"], seed=0,
                             metas=[r.meta for r in records])
    assert len(results) == 40 and {p.name for _, p in results} == {"distractor_answer"}  # no equation line
    assert perturb_traces(["no tags at all"], ["wrong_result", "distractor_answer"], seed=0) == []  # none can
