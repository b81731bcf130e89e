# One entry point for every task: a fresh Debian machine with Python 3.11 needs only
#   make demo   (creates .venv, installs, runs the main job on the embedded default world)
#   make test   (installs the dev extras; ruff, mypy, pytest)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
DB     ?= demo.db
NODE_DEPS := src/discovery/web/vendor/.installed

.PHONY: demo test lint bench install install-dev serve clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(PY) -m pip install -q -e ".[eval,serve]"
	touch $@

$(VENV)/.installed-dev: $(BIN)/activate pyproject.toml
	$(PY) -m pip install -q -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/discovery --db $(DB) demo

serve: install
	$(BIN)/discovery --db $(DB) serve

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install-dev
	$(PY) bench/ppr.py
	$(PY) bench/world.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
