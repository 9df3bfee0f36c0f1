# Quickstart: `make train` trains the MNIST MLP (fetching what it needs); `make test` runs the
# tests. Each creates .venv and installs into it what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TRAIN_STAMP := $(VENV)/.installed-train

.PHONY: install test lint bench train compare clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

# What training needs (no torch): graphflow itself with the plot extra.
$(TRAIN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[plot]"
	touch $(TRAIN_STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check compiler graphflow tests examples bench

# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set on some machines for old OpenBLAS builds and slow the
# current one down; the benchmark unsets them for its own run only.
bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/mlp_step.py

train: $(TRAIN_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/train_mnist.py

compare: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/compare_torch.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
