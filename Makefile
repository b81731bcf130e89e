# One entry point for every task: a fresh Debian machine with Python 3.11 needs only
#   make demo   (creates .venv, installs, runs the main job on the embedded default world)
#   make test   (installs the dev extras; ruff, mypy, pytest)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
DB     ?= demo.db
NODE_DEPS := src/discovery/web/node_modules/.package-lock.json

.PHONY: demo test lint bench install install-dev serve clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(PY) -m pip install -q -e ".[eval,serve,postgres]"
	touch $@

$(VENV)/.installed-dev: $(BIN)/activate pyproject.toml
	$(PY) -m pip install -q -e ".[dev]"
	touch $(VENV)/.installed $@

# The network view's graph library (cytoscape), from npm into a gitignored folder; served locally.
# Without npm everything still works; the network page then draws its SVG fallback.
$(NODE_DEPS): src/discovery/web/package.json src/discovery/web/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd src/discovery/web && npm ci --no-audit --no-fund --ignore-scripts && touch node_modules/.package-lock.json; \
	else \
	  echo "warning: npm not found; the interactive network view needs it (apt-get install npm)"; \
	fi

install: $(VENV)/.installed $(NODE_DEPS)
install-dev: $(VENV)/.installed-dev $(NODE_DEPS)

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
	$(PY) bench/feeds.py --db $(DB)
	$(PY) bench/load.py --db $(DB) --workers 2 --nice 0
	$(PY) bench/staleness.py --db $(DB)
	$(PY) bench/stores.py --size demo

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
