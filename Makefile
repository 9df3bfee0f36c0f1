# Quickstart: `make train` trains the MNIST MLP (fetching what it needs); `make test` runs the
# tests. Each creates .venv and installs into it what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TRAIN_STAMP := $(VENV)/.installed-train
EXPORT_STAMP := $(VENV)/.installed-export
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: install test lint bench bench-peers train train-cnn export compare profile dot graphviz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

# What training needs (no torch): graphflow itself with the train extra (matplotlib, tqdm).
$(TRAIN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train]"
	touch $(TRAIN_STAMP)

# What examples/export_onnx.py needs beyond training: onnx and onnxruntime.
$(EXPORT_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,onnx]"
	touch $(EXPORT_STAMP)

install: $(STAMP)

# The picture tests render with Graphviz's `dot`: install it where it is missing (as root, with
# apt-get); where that cannot be done they skip and say so.
test: $(STAMP)
	@command -v dot >/dev/null || $(MAKE) --no-print-directory graphviz
	$(PY) -m pytest -q

graphviz:
	@(apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
	  || echo "could not install graphviz (apt-get install graphviz): DOT rendering tests will skip"

lint: $(STAMP)
	$(VENV)/bin/ruff check compiler graphflow tests examples bench

# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set on some machines for old OpenBLAS builds and slow the
# current one down; the benchmark unsets them for its own run only.
# The MLP step on every contender (bench/mlp_step.py), then 1 vs 2 gloo workers at a global
# batch of 1024 (bench/data_parallel.py, about 2 minutes), compile time against graph size
# (bench/compile_time.py), what a run's all-or-nothing bookkeeping costs (bench/run_overhead.py),
# the Deep MNIST CNN's training step (bench/conv_step.py) and the MNIST Adam step
# (bench/adam_step.py), each on every contender, with every contender's first call in fresh
# processes (bench/processes.py; torch.compile's first calls take 10-30 s each).
bench: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/mlp_step.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/data_parallel.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/run_overhead.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/compile_time.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/conv_step.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/adam_step.py

# TensorFlow 1 graph mode and JAX jit beside graphflow and PyTorch: their own venv, since
# TensorFlow and JAX are large and nothing else needs them.
$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

bench-peers: $(BENCH_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BENCH_VENV)/bin/python bench/peers.py

train: $(TRAIN_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/train_mnist.py

# TF1's Deep MNIST convolutional net (examples/mnist_cnn.py).
train-cnn: $(TRAIN_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/mnist_cnn.py

# The MNIST MLP and CNN (trained first where their checkpoints are missing) exported to ONNX and
# run in ONNX Runtime on the test set (examples/export_onnx.py).
export: $(EXPORT_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/export_onnx.py

compare: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/compare_torch.py

# Per node of the MNIST training steps (the MLP at batch 128, the CNN at batch 50): median time,
# share, output bytes.
profile: $(TRAIN_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/profile_mnist.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) examples/profile_mnist.py --model cnn

dot: $(TRAIN_STAMP)
	@command -v dot >/dev/null || $(MAKE) --no-print-directory graphviz
	$(PY) examples/export_graphs.py --out out/graphs
	$(PY) examples/micrograd_expression.py --out out/graphs/micrograd.svg

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info .pytest_cache
