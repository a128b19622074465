# The course's two commands: `make lab` (set up and open the course) and `make test`
# (set up and run every test, notebooks included). Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_PORT ?= 8888
# Jupyter refuses to run as root unless told to (containers, CI, Binder-like machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help install data lab test test-unit test-notebooks test-browser browser budgets student lint format bench clean

help:
	@echo "make lab    set up and start JupyterLab on 127.0.0.1:$(JUPYTER_PORT)"
	@echo "make test   set up and run the unit tests and every notebook (pytest --nbval)"
	@echo "make data   build the SynthBraTS cohort into data/synthbrats (cached)"
	@echo "make student  regenerate student/ (solutions removed) from notebooks/"
	@echo "make lint   ruff on code and notebooks;  make bench  run the benchmarks"

# CPU torch first: a bare `torch` requirement could pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

data: install
	$(BIN)/course-utils data

lab: data
	@echo "Starting JupyterLab: open the http://127.0.0.1:$(JUPYTER_PORT)/lab?token=... URL printed below."
	$(BIN)/jupyter lab --no-browser --ip 127.0.0.1 --port $(JUPYTER_PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir="$(CURDIR)" notebooks/00_start_here.ipynb

test: data
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest $(NBVAL) notebooks
	$(BIN)/python tools/notebook_budgets.py --json artifacts/notebook_budgets.json

test-unit: install
	$(BIN)/python -m pytest --ignore=tests/browser

test-notebooks: data
	$(BIN)/python -m pytest $(NBVAL) notebooks

# Debian's Chromium and Playwright for tests/browser (skipped when missing, unless
# COURSE_REQUIRE_BROWSER=1, as .ci/run sets).
browser: install
	tools/install_browser.sh

test-browser: browser data
	COURSE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/browser

budgets: data
	$(BIN)/python tools/notebook_budgets.py --json artifacts/notebook_budgets.json

student: install
	$(BIN)/course-utils student notebooks student

lint: install
	$(BIN)/ruff check course_utils tests benchmarks tools notebooks
	$(BIN)/ruff format --check course_utils tests benchmarks tools notebooks

format: install
	$(BIN)/ruff format course_utils tests benchmarks tools notebooks
	$(BIN)/ruff check --fix course_utils tests benchmarks tools notebooks

bench: data
	$(BIN)/python benchmarks/synth.py
	$(BIN)/python benchmarks/dicom_series.py
	$(BIN)/python benchmarks/registration.py
	$(BIN)/python benchmarks/unet.py

clean:
	rm -rf $(VENV) data/synthbrats .pytest_cache
