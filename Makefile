# zslab: `make demo` runs the main job on the embedded default; `make test` runs every test.
# Both create .venv and install everything on first use.

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.zslab-installed
# The CPU build of torch; installed before the package so pip never pulls a CUDA build.
TORCH  ?= torch==2.13.0
# Browser tests drive Debian's chromium (never `playwright install`).
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup chromium demo test lint typecheck jstest types pytest nbtest lab bench clean

setup: $(STAMP) chromium

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH)" \
	  || $(PIP) install -q --index-url https://download.pytorch.org/whl/cpu "torch>=2.4"
	$(PIP) install -q -e ".[dev]"
	@touch $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium fonts-wqy-microhei; } \
	  || echo "zslab: could not install chromium; browser tests will be skipped" >&2

demo: setup
	$(PY) -m zslab.demo

test: setup lint typecheck jstest pytest nbtest

# Python (ruff), then the lab extension's TypeScript: prettier, eslint, and tsc over the jest
# specs (ts-jest only transpiles them); `cd lab_ext && jlpm lint` fixes what it can.
lint: setup
	$(VENV)/bin/ruff check zslab tests benchmarks
	$(VENV)/bin/ruff format --check zslab tests benchmarks
	cd lab_ext && { test -d node_modules || ../$(VENV)/bin/jlpm install; } && ../$(VENV)/bin/jlpm lint:check

typecheck: setup
	$(VENV)/bin/mypy

# Two workers, one test file each at a time (module fixtures are built once per file).
PYTEST_ARGS ?= -n 2 --dist loadfile

pytest: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# The course notebooks, top to bottom, against a fresh embedded hub (nbval: they run without
# errors; cells marked NBVAL_CHECK_OUTPUT must also print what they stored).
nbtest: setup
	@home=$$(mktemp -d /tmp/zslab-nb.XXXXXX); export ZSLAB_HOME=$$home; \
	  $(VENV)/bin/zslab up --detach >/dev/null && \
	  $(PY) -m pytest --nbval-lax notebooks/ -p no:cacheprovider -o testpaths=notebooks; \
	  status=$$?; $(VENV)/bin/zslab down >/dev/null; rm -rf $$home; exit $$status

# The lab extension's TypeScript units (jest); `make setup` built it, so node_modules is there.
jstest: setup
	cd lab_ext && { test -d node_modules || ../$(VENV)/bin/jlpm install; } && ../$(VENV)/bin/jlpm test

# The lab extension's TypeScript types, from the hub's OpenAPI document and the server
# extension's models (tests/jupyter/test_lab_types.py fails while the committed ones are stale).
types: setup
	$(PY) -m zslab.jupyter.openapi lab_ext/openapi.json
	cd lab_ext && ../$(VENV)/bin/jlpm generate:types

lab: setup
	$(VENV)/bin/zslab up --detach
	$(VENV)/bin/jupyter lab --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: setup
	$(PIP) install -q -e ".[dev,bench]"
	$(PY) -m benchmarks.hub_latency
	$(PY) -m benchmarks.placement
	$(PY) -m benchmarks.broker
	$(PY) -m benchmarks.slice_startup
	$(PY) -m benchmarks.corpus_minhash
	$(PY) -m benchmarks.corpus_pipeline
	$(PY) -m benchmarks.train_throughput
	$(PY) -m benchmarks.train_classifier
	$(PY) -m benchmarks.cases

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
