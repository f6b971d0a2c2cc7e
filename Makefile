# The two commands a new user needs: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: install test test-tf5 demo docs docs-check browser bench bench-smoke export clean-nbs check-export check-clean check-readme readme warm-numba

# A local virtual environment with the package (editable) and its dev tools.
# On machines without CUDA the CPU build of torch goes in first, so no CUDA wheels are pulled.
$(STAMP): settings.ini setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(PY) -c "import torch" 2>/dev/null; then \
	  $(PY) -m pip install -q torch==2.13.0; fi
	$(PY) -m pip install -q "transformers>=4.40,<5" -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# nbdev_export must leave no diff in the package (notebooks are the source of truth), then run every notebook's tests.
check-export: install
	$(BIN)/nbdev_export
	@if [ -n "$$(git status --porcelain -- neuron_ablation)" ]; then \
	  echo "nbdev_export changed neuron_ablation/: the package is out of sync with nbs/. Commit the exported files."; \
	  git status --porcelain -- neuron_ablation; exit 1; fi

# nbdev_clean must leave the notebooks unchanged (no execution counts, stray metadata or ids): clean them before committing.
check-clean: install
	$(BIN)/nbdev_clean
	@if [ -n "$$(git status --porcelain -- nbs)" ]; then \
	  echo "nbdev_clean changed nbs/: run \`make clean-nbs\` and commit the cleaned notebooks."; \
	  git status --porcelain -- nbs; exit 1; fi

# README.md is generated from nbs/index.ipynb and must match it.
check-readme: install
	$(PY) .ci/readme.py --check

readme: install
	$(PY) .ci/readme.py

# librosa's numba kernels are compiled and cached once, in one process, before the notebooks run in parallel workers:
# two workers compiling and writing the same numba cache at once left a cache that segfaulted on load.
warm-numba: install
	$(PY) -c "import numpy as np, librosa; x = np.sin(np.arange(16000) / 8).astype(np.float32); \
	librosa.yin(x, fmin=60, fmax=500, sr=16000); librosa.pyin(x, fmin=60, fmax=500, sr=16000, center=False); \
	librosa.sequence.dtw(np.eye(3, 5), np.eye(3, 6))"

test: check-clean check-export check-readme warm-numba
	$(BIN)/nbdev_test --n_workers 2 --timing

# The family, tail-execution and attribution notebooks again on transformers 5, in a second environment
# (the main suite runs on transformers 4: some of its tests use a tiny random model's own predictions as labels).
# 06_cli is not among them: its 13-family CLI loop is the slowest notebook (200 s), and 19_models loads every family
# from a saved folder on transformers 5 already (the CLI path after loading is the same code).
VENV5 ?= .venv5
$(VENV5)/.installed: settings.ini setup.py
	test -x $(VENV5)/bin/python || $(PYTHON) -m venv $(VENV5)
	$(VENV5)/bin/python -m pip install -q --upgrade pip
	if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(VENV5)/bin/python -c "import torch" 2>/dev/null; then \
	  $(VENV5)/bin/python -m pip install -q torch==2.13.0; fi
	$(VENV5)/bin/python -m pip install -q "transformers>=5,<6" -e ".[dev]"
	touch $@

test-tf5: $(VENV5)/.installed
	$(VENV5)/bin/python -c "import transformers; print('transformers', transformers.__version__)"
	$(VENV5)/bin/nbdev_test --n_workers 2 --file_re '^(00_core|01_attribution|01a_scores|01b_gradients|08_checks|09_arch|09_model|09a_heads|09b_clips|10_edits|11_effects|13_testing|17_sweep|19_models|20_steering)'

demo: install
	$(PY) -m neuron_ablation.example --save_dir results/demo

# The docs website into _docs/: nbdev_docs where Quarto is installed, else MkDocs + Material (.ci/render_docs.py).
docs: install
	bash .ci/docs

# Debian's Chromium and its driver for the browser check (installed when missing; needs root or sudo).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null \
	  || { echo "could not install Debian's chromium and chromium-driver: install them, then rerun"; exit 1; }; fi

# The site as a reader meets it, in headless Chromium: every page loads without console errors and with its images,
# search finds an API name, a cross-link lands on its anchor, and a quick run's report.html opens with every image.
docs-check: docs browser
	rm -rf _docs_check && $(PY) -m neuron_ablation.example --attribution_method activation --max_samples 8 --n_score 16 \
	  --topk 8 --n_random 3 --no_upstream --save_dir _docs_check/run > _docs_check.log 2>&1 || { cat _docs_check.log; exit 1; }
	$(PY) .ci/docs_check.py --site _docs --report _docs_check/run/report.html --shots _docs_check

# the peers bench/peers.py times against (nnsight, TransformerLens): the bench extra, with transformers pinned in the
# same install (nnsight alone would pull transformers 5)
$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install -q "transformers>=4.40,<5" -e ".[bench]"
	touch $@

bench: install $(VENV)/.bench-installed
	$(PY) bench/run.py $(ARGS)

# every bench case on a tiny model and tiny inputs, so the benchmark code cannot rot; its figures mean nothing and go
# only to bench/_out/ (git-ignored), never to bench/results*.json or BENCHMARKS.md
bench-smoke: install $(VENV)/.bench-installed
	$(PY) bench/run.py --smoke

export: install
	$(BIN)/nbdev_export

clean-nbs: install
	$(BIN)/nbdev_clean
