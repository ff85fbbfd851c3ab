#!/bin/bash
# Byte-identity check of a refactor (issue 18): bash scripts/byte_identity.sh <checkout> <out-folder>
# Runs a tiny fixed-seed AIRL run (warm-up + 3 policy steps) and a generate evaluation of its final/
# checkpoint, then prints sha256 of metrics.jsonl, the weights and the evaluation files.
# Compare the output of the baseline (main's worktree, before your change) with yours. The checkout's
# src/ is imported first (PYTHONPATH), so a bare `git worktree add` of the baseline commit can use another
# checkout's venv: PY=/path/to/$PY bash scripts/byte_identity.sh <baseline checkout> <out>.
set -euo pipefail
WT=$(cd "$1" && pwd); OUT=$2
cd "$WT"
PY=${PY:-$WT/$PY}
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false \
  REASONING_IRL_CACHE=${REASONING_IRL_CACHE:-$WT/.cache} PYTHONPATH="$WT/src"
rm -rf "$OUT"; mkdir -p "$OUT"
POLICY=$($PY -c "from reasoning_irl.testing import warm_started_policy; print(warm_started_policy())")
$PY train_irl.py model.policy=$POLICY output_root=$OUT run_name=r device=cpu seed=0 \
  training.max_steps=3 training.reward_warmup_steps=2 training.checkpoint_every=2 sampling.num_generations=2 \
  training.batch_prompts=4 sampling.max_new_tokens=24 training.eval_problems=4 training.eval_every=0 \
  training.eval_generate=false task.arith_num_train=64 task.arith_num_validation=8 task.arith_num_test=8 \
  logging.progress_bar=false logging.wandb_mode=disabled > "$OUT/train.log" 2>&1
$PY evaluate.py eval.run_dir=$OUT/r eval.checkpoint=final seed=0 sampling.n_samples=4 \
  eval.max_problems=8 eval.compute_policy_log_probs=true eval.compute_reward_scores=true device=cpu \
  task.arith_num_train=64 task.arith_num_validation=8 task.arith_num_test=8 eval.bootstrap_resamples=50 \
  eval.output_dir=$OUT/eval > "$OUT/eval.log" 2>&1
# the fitting on validation (aggregation, localisation thresholds of every rule, Platt scaling)
$PY evaluate.py eval.run_dir=$OUT/r eval.checkpoint=final seed=0 sampling.n_samples=4 eval.fit_on=validation \
  eval.max_problems=8 eval.compute_policy_log_probs=true eval.compute_reward_scores=true device=cpu \
  task.arith_num_train=64 task.arith_num_validation=8 task.arith_num_test=8 eval.bootstrap_resamples=50 \
  eval.output_dir=$OUT/fit > "$OUT/fit.log" 2>&1
# a pregenerated file (the generated samples) scored again with the fitted calibration
$PY evaluate.py eval.mode=pregenerated_policy_and_reward eval.pregenerated_jsonl_path=$OUT/eval/samples.jsonl \
  model.policy=$OUT/r/final/policy model.reward=$OUT/r/final/reward_model eval.calibration_path=$OUT/fit \
  seed=0 device=cpu eval.bootstrap_resamples=50 eval.output_dir=$OUT/pre > "$OUT/pre.log" 2>&1
cd "$OUT"
sha256sum r/metrics.jsonl $(find r/final -name "*.safetensors" | sort) eval/samples.jsonl fit/calibration.json \
  pre/samples.jsonl \
  | sed "s#$OUT/##"
python3 -c "import json; m=json.load(open('eval/metrics.json')); m.pop('config', None); m.pop('inputs', None); print('metrics.json (no config, inputs):', __import__('hashlib').sha256(json.dumps(m, sort_keys=True).encode()).hexdigest())"
python3 -c "import json; m=json.load(open('pre/metrics.json')); [m.pop(k, None) for k in ('config', 'inputs', 'calibration_source')]; print('pre/metrics.json (no config, inputs, calibration path):', __import__('hashlib').sha256(json.dumps(m, sort_keys=True).encode()).hexdigest())"
