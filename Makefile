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

.PHONY: demo test sanity units lint integration simulator collection-link bench ee clean prereqs-demo prereqs-test

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

# System packages first (scripts/prereqs.sh: says what to install, or installs it as root), before
# the venv build. Prerequisites are made left to right.
prereqs-demo:
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/prereqs.sh demo

prereqs-test:
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/prereqs.sh test

demo: prereqs-demo $(VENV) collection-link
	$(BIN)/python scripts/demo.py

test: prereqs-test sanity units lint integration

sanity: $(VENV)
	scripts/ansible-test.sh sanity

units: $(VENV)
	scripts/ansible-test.sh units

lint: $(VENV) collection-link
	$(BIN)/ansible-lint --profile production

# In INTEGRATION_WORKERS pytest-xdist processes (the suite is mostly CPU: ansible-playbook start-ups, the
# database servers; 3 workers keep 2 cores busy while one waits on transitions and polling). --dist loadfile: each test file runs whole in one worker, so its module-scoped
# simulator and linked servers start once; --no-loadscope-reorder keeps the collected file order, longest
# first (tests/integration/conftest.py LONGEST_FILES_FIRST). INTEGRATION_WORKERS=0 runs it in one process.
INTEGRATION_WORKERS ?= 3
integration: prereqs-test $(VENV) collection-link
	$(BIN)/python -m pytest tests/integration -p no:cacheprovider -n $(INTEGRATION_WORKERS) --dist loadfile \
		--no-loadscope-reorder --durations=25

simulator: $(VENV)
	$(BIN)/python -m tests.simulator serve --fleet tests/fleets/demo.yml --port 5000

# Fleet-scale benchmark vs amazon.aws (benchmarks/README.md); not part of `make test`.
# BENCH_QUICK=1: smoke (~10-15 min). BENCH_ARGS="...": options for benchmarks/run.py.
bench: $(VENV) collection-link
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The AWX execution environment's build context (extensions/awx/execution-environment.yml, README):
# the collection tarball, installed into .build/ee/collections, and `ansible-builder create` run on
# that installed copy, as an operator without this repository would. Then:
#   ansible-builder build -f $(EE_DEF) --context .build/ee/context --tag <registry>/rdsca/rotation-ee:<version>
# EE_DIR=<dir>: somewhere else than .build/ee (the test of this target uses a directory of its own).
EE_DIR ?= .build/ee
EE_DEF := $(EE_DIR)/collections/ansible_collections/rdsca/rotation/extensions/awx/execution-environment.yml
ee: $(VENV)
	rm -rf $(EE_DIR)
	$(BIN)/ansible-galaxy collection build --output-path $(EE_DIR) .
	$(BIN)/ansible-galaxy collection install --offline --no-deps --force -p $(EE_DIR)/collections $(EE_DIR)/rdsca-rotation-*.tar.gz
	$(BIN)/ansible-builder create -f $(EE_DEF) --context $(EE_DIR)/context
	@echo "ee: build context in $(EE_DIR)/context; build it with:"
	@echo "  ansible-builder build -f $(EE_DEF) --context $(EE_DIR)/context --tag <registry>/rdsca/rotation-ee:<version>"

clean:
	rm -rf .build tests/output demo-output
