"""Per-problem work of an evaluation: grading, scoring, output rows and the numbers metrics keep.

:class:`~.models.Models` loads only what the plan needs (nothing at all for a grade-only pregenerated run).
:class:`ProblemProcessor` turns one :class:`~.samples.Problem` into ``samples.jsonl`` rows and keeps, for the
metrics, a graded problem's numbers in :class:`~.results.Results` (compact columns, no text, no object per
sample) and localisation :class:`~.localise.Trace` objects.
"""

from __future__ import annotations

import logging
from typing import Any

from reasoning_irl.eval.inputs import AnswerStats, TaskRecords
from reasoning_irl.eval.localise import (
    Trace,
    policy_signals,
    predict,
    reward_signals,
    step_of_token,
    unfitted_threshold,
)
from reasoning_irl.eval.models import Models
from reasoning_irl.eval.plan import EvalPlan
from reasoning_irl.eval.report import REWARD_AGGREGATIONS
from reasoning_irl.eval.results import Results
from reasoning_irl.eval.samples import Problem, SampleIn
from reasoning_irl.eval.scoring import PolicyScorer, RewardScorer, aggregates
from reasoning_irl.eval.votes import vote_keys
from reasoning_irl.io import DataFileError
from reasoning_irl.rewards.heads import beta_of
from reasoning_irl.tasks.base import Record
from reasoning_irl.text.format import segment_steps

log = logging.getLogger(__name__)


class ProblemProcessor:
    def __init__(self, plan: EvalPlan, task: Any, models: Models, calibration: dict | None) -> None:
        self.plan, self.task, self.models = plan, task, models
        self.discount = plan.eval.discount
        self.results = Results(plan.eval.ks)  # the graded problems
        self.traces: list[Trace] = []
        self.n_problems = self.n_samples = self.n_excluded_traces = 0
        self.task_records = TaskRecords(task, plan.split, plan.input_path)
        self.answer_stats = AnswerStats(task.answer_format, plan.answer_format_source)
        self.policy_scorer = self.reward_scorer = None
        if plan.policy_logprobs:
            self.policy_scorer = PolicyScorer(
                models.policy,
                models.tokenizer,
                batch_size=plan.eval.batch_size,
                max_length=plan.model.max_length,
            )
        if plan.reward:
            self.reward_scorer = RewardScorer(models.reward, batch_size=plan.eval.batch_size)
        self.fitted_localisation = (calibration or {}).get("localisation") or {}
        fitted = ((calibration or {}).get("reward_aggregation") or {}).get("chosen")
        own = models.reward.config.aggregation if models.reward is not None else None
        explicit = plan.eval.reward_aggregation or models.aggregation_override
        self.aggregation = explicit or fitted or own or "last"
        #: without a model or a setting, scores carried by the rows keep their own aggregation
        self._aggregation_open = not (explicit or fitted or own)
        self.missing = {}
        if not plan.reward:
            self.missing["reward"] = (
                "reward scores were not computed (no reward model, or compute_reward_scores=false)"
            )
        if not plan.policy_logprobs:
            self.missing["policy"] = (
                "policy log-probabilities were not computed (compute_policy_log_probs=false)"
            )

    # --- records -------------------------------------------------------------------------------------
    def record_for(self, problem: Problem) -> Record:
        """The task's record of this problem when the split has one with its id, else one built from the row."""
        record = self.task_records.record_for(problem)
        if record is not None:
            return record
        prompt = (
            problem.prompt
            if isinstance(problem.prompt, list)
            else [{"role": "user", "content": problem.prompt}]
        )
        return Record(problem.problem_id, prompt[-1]["content"], problem.answer or "", prompt)

    # --- one problem ---------------------------------------------------------------------------------
    def process(self, problem: Problem) -> list[dict[str, Any]]:
        if problem.samples[0].join_by_prompt:
            self.task_records.join(problem)
        samples = problem.samples
        self.n_problems += 1
        self.n_samples += len(samples)
        gradeable = problem.answer is not None
        record = self.record_for(problem) if gradeable or self.task.checks_steps else None
        rows, correct, answers = [], [], []
        for s in samples:
            self._check_truth(s)
        for s in samples:
            found = self.task.extract(s.completion)
            extracted = found.text
            ok = bool(self.task.grade(s.completion, record)) if gradeable else None
            self.answer_stats.add(found.by, gradeable, ok, s.reference_correct, f"{s.problem_id}#{s.sample_idx}")
            truth, known = s.first_error_step, s.has_truth
            if not known and record is not None and self.task.checks_steps:
                truth, known = self.task.first_error_step(s.completion, record), True
            row = {
                "problem_id": s.problem_id,
                "sample_idx": s.sample_idx,
                "prompt": s.prompt,
                "completion": s.completion,
                "answer": s.answer,
                "extracted_answer": extracted,
                "extracted_by": found.by,
                "correct": ok,
            }
            if s.reference_correct is not None:
                row["reference_correct"] = s.reference_correct
            if s.steps is not None:
                row["input_steps"] = s.steps
            if known:
                row["first_error_step"] = truth
            s.first_error_step, s.has_truth = truth, known
            rows.append(row)
            correct.append(ok)
            answers.append(extracted)
        votes = vote_keys(answers, correct, record) if gradeable else []
        policy = self._policy(samples)
        rewards = self._rewards(samples)
        scores: dict[str, list[float]] = {}  # selector → one value per sample (report.SELECTORS)
        if policy is not None:
            scores["policy_mean_logprob"] = [sum(p.logprobs) / max(1, len(p.logprobs)) for p in policy]
        elif all(s.policy_logprobs for s in samples):
            scores["policy_mean_logprob"] = [
                sum(s.policy_logprobs) / len(s.policy_logprobs) for s in samples
            ]
        aggs = None
        if rewards is not None:
            aggs = [{**aggregates(r, self.discount), "min": float(min(r.scores))} for r, _ in rewards]
            for name in REWARD_AGGREGATIONS:
                scores[f"reward_{name}"] = [a[name] for a in aggs]
        elif all(s.sequence_score is not None for s in samples):  # scores carried by the input file
            carried = {s.reward.get("aggregation") for s in samples}
            if self._aggregation_open and len(carried) == 1 and carried <= set(REWARD_AGGREGATIONS):
                self.aggregation, self._aggregation_open = carried.pop(), False  # reward_model_score: mean
            for name in REWARD_AGGREGATIONS:
                values = [(s.reward.get("aggregates") or {}).get(name) for s in samples]
                if all(v is not None for v in values):
                    scores[f"reward_{name}"] = values
            scores.setdefault(f"reward_{self.aggregation}", [s.sequence_score for s in samples])
            self.missing.pop("reward", None)
        for i, (s, row) in enumerate(zip(samples, rows)):
            self._enrich(
                s,
                row,
                None if policy is None else policy[i],
                None if rewards is None else rewards[i],
                None if rewards is None else aggs[i],
            )
        if gradeable:
            self.results.add(correct, votes, [len(s.completion) for s in samples], scores)
        return rows

    def _check_truth(self, s: SampleIn) -> None:
        """A given first_error_step must name a step of the trace, or the missing one after the last."""
        if not s.has_truth or s.first_error_step is None:
            return
        path = self.plan.input_path
        where = f"{path}:{s.line}" if path else f"task {self.task.name!r} {self.plan.split} record {s.line}"
        try:
            n = len(segment_steps(s.completion, s.steps))
        except ValueError as err:  # a given step that is not in the completion
            raise DataFileError(f"{where}: {err}") from None
        if s.first_error_step > n:  # == n: the wrong step is a missing one after the last (excluded, counted)
            raise DataFileError(
                f"{where}: first_error_step={s.first_error_step} but the trace has {n} steps (0–{n - 1}, or {n} "
                "for a missing step after the last); fix that row's first_error_step/label (−1 or null = no wrong step)"
            )

    def _policy(self, samples: list[SampleIn]):
        if self.policy_scorer is None:
            return None
        eos = [bool(s.meta.get("finished", True)) for s in samples]
        return self.policy_scorer.score([s.prompt for s in samples], [s.completion for s in samples], eos)

    def _rewards(self, samples: list[SampleIn]):
        if self.reward_scorer is None:
            return None
        scored, offsets = self.reward_scorer.score(
            [s.prompt for s in samples],
            [s.completion for s in samples],
            [s.steps for s in samples],
            return_offsets=True,
            finished=[bool(s.meta.get("finished", True)) for s in samples],
        )
        return list(zip(scored, offsets))

    def _enrich(self, s: SampleIn, row: dict[str, Any], policy: Any, scored: Any, aggs: dict | None) -> None:
        scored, offsets = scored if scored is not None else (None, None)
        spans = segment_steps(s.completion, s.steps)
        methods = {}
        if policy is not None:
            row["policy_logprobs"] = policy.logprobs
            row["policy_entropies"] = policy.entropies
            if s.has_truth:
                methods.update(
                    policy_signals(
                        policy.logprobs,
                        policy.entropies,
                        step_of_token(policy.offsets, spans),
                        len(spans),
                        s.first_error_step,
                    )
                )
        elif s.policy_logprobs is not None:
            row["policy_logprobs"] = s.policy_logprobs
        if scored is not None:
            reward = scored.to_dict()
            steps = reward.pop("steps")
            reward["aggregates"] = aggs
            reward["trained"] = self.models.reward_trained
            row["reward"] = reward
            row["steps"] = [
                {
                    "index": st["index"],
                    "text": st["text"],
                    "start": st["start"],
                    "end": st["end"],
                    "score": st["score"],
                }
                for st in steps
            ]
            step_scores = [st["score"] for st in steps]
            if step_scores and all(v is not None for v in step_scores):
                token_steps = step_of_token(offsets, spans)
                signals = reward_signals(
                    step_scores,
                    scored.scores,
                    [p.token_index for p in scored.positions],
                    token_steps,
                    s.first_error_step,
                    form=self.models.reward.form.name,
                )
                threshold = self._threshold("reward")
                if threshold is not None:  # none: airl without a fitted τ (localise.unfitted_reason)
                    row["predicted_first_error_step"] = predict("reward", signals["reward"], threshold)
                if s.has_truth:
                    methods.update(signals)
        elif s.reward is not None:
            row["reward"] = s.reward
        else:
            row["steps"] = [
                {"index": i, "text": sp.text, "start": sp.start, "end": sp.end, "score": None}
                for i, sp in enumerate(spans)
            ]
        if s.has_truth:
            if s.first_error_step is not None and s.first_error_step >= len(spans):
                self.n_excluded_traces += 1  # the wrong "step" is a missing one: no span to find
            elif methods:
                self.traces.append(
                    Trace(f"{s.problem_id}#{s.sample_idx}", s.first_error_step, len(spans), methods)
                )
            elif not self.plan.reward and not self.plan.policy_logprobs:
                self.traces.append(
                    Trace(f"{s.problem_id}#{s.sample_idx}", s.first_error_step, len(spans), {})
                )

    def _threshold(self, method: str) -> float | None:
        fitted = self.fitted_localisation.get(method)
        if fitted:
            return float(fitted["threshold"])
        return unfitted_threshold(method, self.models.reward.form.name)

    def describe_inputs(self) -> dict[str, Any]:
        return {
            "pregenerated_jsonl_path": self.plan.eval.pregenerated_jsonl_path,
            "policy": self.models.policy_name,
            "reward": self.models.reward_name,
            "reward_trained": self.models.reward_trained,
            "output_dir": str(self.plan.output_dir),
            "reward_config": None
            if self.models.reward is None
            else {
                "head": self.models.reward.config.head,
                "granularity": self.models.reward.config.granularity,
                "beta": beta_of(self.models.reward.config),
                "form": self.models.reward.form.name,
                "aggregation": self.models.reward.config.aggregation,
            },
        }
