# Two entry points, both safe on a fresh machine (they create .venv on first use):
#   make demo   avatarize a bundled example through the embedded platform and show its metrics
#   make test   the whole test suite: make test-fast and make test-e2e, side by side
PYTHON ?= python3

# Python's bytecode cache stays on, whatever the machine says (some CI images set
# PYTHONDONTWRITEBYTECODE=1): without it every process compiles every module it imports, and
# pytest rewrites every test module again. The suite starts hundreds of Python processes
# (servers, workers, the CLI, official clients): that cost about two minutes of CPU.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast test-e2e lint typecheck format benchmarks clean

# uv installs the project in seconds (pip takes about two minutes on a fresh machine); pip
# does it where uv cannot be had.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv || true
	if [ -x $(BIN)/uv ]; then \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[all,test]'; \
	else \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -e '.[all,test]'; \
	fi
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/avatars demo

# Two pytest-xdist workers a tier. Every scale-out test goes to one worker, as one unit, so
# that the scale-out stack starts once (tests/conftest.py's pytest_xdist_make_scheduler;
# --dist loadgroup would say it with marks, but it silently does nothing on pytest 9.2:
# pytest-xdist#1386); the other tests go out one by one.
# The tiers (tests/conftest.py): fast = the API in the test process on SQLite, the engine, the
# protocol; e2e = live servers, PostgreSQL, S3, Dask, official clients (marker "e2e").
PYTEST := $(BIN)/pytest -n 2 --durations=20

# Both tiers side by side: the end-to-end tier mostly waits on servers and jobs while the fast
# tier fills the cores (on 2 idle cores: fast 3 minutes and end-to-end 7 alone, about 9 side by
# side); each tier's output is printed whole when it ends.
test: $(STAMP)
	$(MAKE) -j2 --output-sync=target test-fast test-e2e

test-fast: $(STAMP)
	$(PYTEST) -m "not e2e"

test-e2e: $(STAMP)
	$(PYTEST) -m e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy over src/avatars (configuration in pyproject.toml: check_untyped_defs); ~30 s of CPU.
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/engine_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist src/*.egg-info
