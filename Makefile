# make demo   — install into .venv (if needed), then run the whole method on the embedded default
# make test   — install into .venv (if needed), then run the test suite
# pip, not uv: uv ignores the local CPU build of torch and pulls several GB of CUDA wheels.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export WANDB_MODE ?= disabled
export TOKENIZERS_PARALLELISM := false
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,slurm]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m reasoning_irl.demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check src tests bench scripts *.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
