# The two commands a user needs: `make run` (whole pipeline, embedded default) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RECIPE ?= tiny
STAMP := $(VENV)/.installed

.PHONY: run test lint venv system-deps bench bench-scale iconify reliability clean-artifacts

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned in every install, so nothing re-resolves it to a newer CUDA stack
	$(BIN)/pip install -q -c constraints.txt torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system_deps.sh

run: $(STAMP) system-deps
	RECIPE=$(RECIPE) bash scripts/run_pipeline.sh

lint: $(STAMP)
	$(BIN)/ruff check rlrf flows tests bench scripts

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

reliability: $(STAMP) system-deps
	$(BIN)/python scripts/reliability_report.py --run

bench: $(STAMP)
	$(BIN)/python bench/curation.py
	$(BIN)/python bench/rewards.py
	$(BIN)/python bench/render_cache.py --gpus 4 8

# the whole curate stage on generated SVG-Stack-shaped inputs (50k and 200k rows; long)
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

# a real 381K-icon corpus through the same curate stage (npm pack @iconify/json; not committed)
iconify: $(STAMP) system-deps
	$(BIN)/python scripts/fetch_iconify.py
	$(BIN)/rlrf run --recipe iconify --stages curate

clean-artifacts:
	rm -rf artifacts
