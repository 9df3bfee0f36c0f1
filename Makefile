# Quickstart: `make test` creates .venv with what the tests need and runs them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check compiler graphflow tests examples bench

# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set on some machines for old OpenBLAS builds and slow the
# current one down; the benchmark unsets them for its own run only.
bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/mlp_step.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
