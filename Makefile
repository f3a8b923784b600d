# Two commands for a newcomer: `make demo` and `make test`. `make .venv` builds the
# environment both use. Everything runs offline apart from the package registries.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# ansible-playbook finds this collection through a symlink farm (the repo root is the collection root).
COLLECTIONS_DIR := .build/collections
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS_DIR)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test sanity units lint integration simulator collection-link bench clean

$(VENV): $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

collection-link: $(COLLECTIONS_DIR)/ansible_collections/rdsca/rotation

$(COLLECTIONS_DIR)/ansible_collections/rdsca/rotation:
	mkdir -p $(COLLECTIONS_DIR)/ansible_collections/rdsca
	ln -sfn ../../../.. $@

demo: $(VENV) collection-link
	$(BIN)/python -m tests.simulator demo

test: sanity units lint integration

sanity: $(VENV)
	scripts/ansible-test.sh sanity

units: $(VENV)
	scripts/ansible-test.sh units

lint: $(VENV) collection-link
	$(BIN)/ansible-lint --profile production

integration: $(VENV) collection-link
	$(BIN)/python -m pytest tests/integration -p no:cacheprovider

simulator: $(VENV)
	$(BIN)/python -m tests.simulator serve --fleet tests/fleets/demo.yml --port 5000

# Fleet-scale benchmark vs amazon.aws (benchmarks/README.md); not part of `make test`.
# BENCH_QUICK=1: smoke (~10-15 min). BENCH_ARGS="...": options for benchmarks/run.py.
bench: $(VENV) collection-link
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf .build tests/output demo-output
