# errwatch: `make demo` to see it, `make test` to check it, `make bench` for the figures.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests and benchmarks drive for real.
DEBS   := prometheus victoria-metrics openssl hey chromium tmux redis-server stress-ng \
          openssh-server openssh-client rsyslog

.PHONY: demo test lint typecheck pytest test-under-load bench soak debs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo,test]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(BIN)/errwatch demo

# Installs what is missing when run as root; otherwise says what to install.
debs:
	@missing=""; for deb in $(DEBS); do \
	    dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y -qq --no-install-recommends $$missing; \
	    else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; fi; \
	fi

lint: $(VENV)/.test
	$(BIN)/ruff check errwatch tests benchmarks
	$(BIN)/ruff format --check errwatch tests benchmarks

typecheck: $(VENV)/.test
	$(BIN)/mypy

pytest: $(VENV)/.test debs
	$(BIN)/pytest

test: lint typecheck pytest

# The suite three times in a row while stress-ng keeps one core busy: no test may
# depend on an idle machine.
test-under-load: $(VENV)/.test debs
	@stress-ng --cpu 1 --quiet & hog=$$!; trap 'kill $$hog' EXIT; \
	for run in 1 2 3; do echo "== run $$run of 3 (stress-ng --cpu 1)"; \
	    $(BIN)/pytest -q || exit 1; done

bench: $(VENV)/.test debs
	@$(BIN)/python -m compileall -q errwatch benchmarks  # as an install would
	@for script in benchmarks/bench_*.py; do \
	    module=benchmarks.$$(basename $$script .py); \
	    echo "== $$module"; $(BIN)/python -m $$module || exit 1; done

# 10 minutes of the demo stack under load and trouble (a 60 s version runs in make test).
soak: $(VENV)/.test debs
	$(BIN)/python -m benchmarks.soak --duration 600

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
