"""Test-wide settings: offline hub, no wandb, two torch threads, a private cache for tiny models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: spinning threads starve each other on 2 shared cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Tiny models and warm-started fixture policies are built once per checkout and reused across tests.
os.environ.setdefault("REASONING_IRL_CACHE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache"))

import torch  # noqa: E402

torch.set_num_threads(2)
