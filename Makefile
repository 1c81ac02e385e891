# `make run` and `make test` each set up .venv on a fresh machine first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.dtopt-installed

.PHONY: run test lint bench clean

run: $(STAMP)
	$(PY) -m benchmarks.placement --topology Agis
	@echo 'next: source $(VENV)/bin/activate   (puts dtopt and python on PATH; see the README quick start)' >&2

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check dtopt benchmarks tests

# scikit-learn-extra's wheels are built against NumPy 1, so build it from source
# against NumPy 2: numpy and Cython first, then no build isolation.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet "numpy>=2" "Cython>=3" "scipy>=1.13" "scikit-learn>=1.5"
	$(PY) -m pip install --quiet --no-build-isolation --no-binary scikit-learn-extra "scikit-learn-extra>=0.3"
	$(PY) -m pip install --quiet -e ".[bench,dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
