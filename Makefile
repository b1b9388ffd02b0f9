# Grannskap: `make run` builds and publishes the profiles on the embedded data; `make test` runs
# the tests; `make bench` prints the benchmark figures. Each installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
export UV_COMPILE_BYTECODE := 1

.PHONY: install run test bench dev lock clean

install: $(STAMP)

# uv comes from PyPI; it installs the locked set in seconds (pip works too, slower).
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	@test -x $(PY) || $(PYTHON) -m uv venv --quiet --python 3.11 $(VENV)
	$(PYTHON) -m uv pip sync --quiet --python $(PY) requirements.lock
	$(PYTHON) -m uv pip install --quiet --python $(PY) --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

run: install
	$(VENV)/bin/grannskap run

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m pipelines.bench
	$(PY) -m pipelines.bench_ingest

dev: install
	$(VENV)/bin/dagster dev -w workspace.yaml

# Re-resolve the pinned set after changing pyproject.toml.
lock:
	$(PYTHON) -m uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf data/raw data/build data/published data/reports
