"""Structured configuration schemas (dataclasses) for every entry point, registered with Hydra.

Each config group has one dataclass in its own module; :mod:`reasoning_irl.config.schema` assembles
the primary configs of ``train_irl.py``, ``train_sft.py``, ``train_grpo.py`` and ``evaluate.py`` and
registers them in Hydra's ConfigStore, so that a misspelt key fails at composition time with a
message naming it. This package imports no torch: ``--cfg job`` stays fast.
"""
