"""Metrics as pure functions of numbers (numpy only): calibration (AUROC, ECE, Brier, Platt scaling),
localisation (ProcessBench F1, decision rules and their fitting, hit@k, MAP), reranking (pass@k,
best-of-N, maj@k, oracle) and bootstrap intervals.

They sit above every other layer but ``config``: the reward model's own validation
(:mod:`reasoning_irl.rewards.validation`) and the trainers measure with the same functions as ``eval``.
"""
