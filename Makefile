# LLM Twin task file. The two commands:  make demo   |   make test
# Setup is a file target: it reruns only when pyproject.toml or constraints.txt change.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.twin-installed
# Axolotl gets its own environment (its gradio pins starlette<1; Airflow needs >=1); training calls it as a subprocess.
AXO_VENV ?= .venv-axolotl
AXO_STAMP := $(AXO_VENV)/.twin-installed
export TWIN_AXOLOTL_PYTHON ?= $(abspath $(AXO_VENV))/bin/python
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export WANDB_MODE ?= offline

.PHONY: setup chromium compose-cli demo test lint format clean-data help

help:
	@echo "make demo   - set up (once) and run the end-to-end demo on embedded defaults"
	@echo "make test   - set up (once) and run lint + the whole test suite"
	@echo "make setup  - only create/refresh $(VENV)"

setup: $(STAMP) $(AXO_STAMP) chromium compose-cli

# Debian's Chromium drives crawl4ai for `render: true` links and the web UI's browser test. Without it
# (not root, no apt) those paths fail with a clear reason and their tests are skipped visibly.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "warning: chromium not installed: render: true links and browser tests will be skipped"; }

# Debian's docker-compose (v1) validates docker/compose*.yaml without a Docker engine (`docker-compose config`);
# without it (not root, no apt) that test is skipped visibly.
compose-cli:
	@command -v docker-compose >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null) || \
	  echo "warning: docker-compose not installed: the compose file validation test will be skipped"; }

$(STAMP): pyproject.toml constraints.txt
	@echo "== setup: $(VENV) (torch 2.13.0 CPU first, then the project under constraints.txt)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q -c constraints.txt --no-deps nvidia-pytriton==0.5.5 pyzmq sh typing-inspect mypy-extensions wrapt
	$(PY) -m pip check >/dev/null || { $(PY) -m pip check; exit 1; }
	$(PY) -m twin_core.serving.triton_dist
	@touch $(STAMP)
	@echo "== setup done"

$(AXO_STAMP): constraints-axolotl.txt
	@echo "== setup: $(AXO_VENV) (Axolotl 0.19 on torch 2.13.0 CPU, exact versions from constraints-axolotl.txt)"
	test -x $(AXO_VENV)/bin/python || $(PYTHON) -m venv $(AXO_VENV)
	$(AXO_VENV)/bin/python -m pip install -q --upgrade pip wheel setuptools
	$(AXO_VENV)/bin/python -m pip install -q torch==2.13.0
	$(AXO_VENV)/bin/python -m pip install -q --prefer-binary -c constraints-axolotl.txt axolotl==0.19.0
	@touch $(AXO_STAMP)

demo: setup
	$(VENV)/bin/twin demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint
	$(VENV)/bin/python -m pytest

clean-data:
	rm -rf var
