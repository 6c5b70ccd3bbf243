# Concord's developer entry points. From a fresh clone:
#
#   make serve   install what is missing, then run the demo server on 127.0.0.1:8787
#   make test    install what is missing, then lint, type-check, build the docs, run the tests
#
# Every target that runs Python tools depends on `env`, the one place that readies
# the machine: Debian packages (scripts/bootstrap-system.sh), then .venv, then the
# project installed into it. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# The steps of `make test` run in the order they are listed, even under `make -j`.
.NOTPARALLEL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after each successful install: pip runs again only when setup.py is
# newer than this file (or the packages changed, below), so a second
# `make test` starts the checks at once.
INSTALL_STAMP := $(VENV)/.concord-installed
# The extras `make` installs (setup.py's extras_require).
EXTRAS := test,docs
# Third-party peers the tests run unmodified, installed without their declared
# dependencies, which are far more than the part the tests use; what that part
# imports is in the test extras (setup.py says which and why).
PEERS_NO_DEPS := tests/peers-no-deps.txt
# The editable install records each top-level package, and whether it is a
# regular or a namespace package, when pip runs; one created or given an
# __init__.py later cannot be imported by the `concord` script until pip runs
# again. Remember what was there, and reinstall when it changes.
PACKAGES_NOW := $(wildcard engine concord occi cimi federation conformance schemas signing) $(wildcard */__init__.py)
PACKAGES_FILE := $(VENV)/.concord-packages
ifneq ($(file < $(PACKAGES_FILE)),$(PACKAGES_NOW))
.PHONY: $(INSTALL_STAMP)
endif
# Extra arguments for pytest, e.g. `make unit PYTEST_ARGS='-k quota -x'`.
PYTEST_ARGS ?=

# Like an activated venv, for the recipes and for every process they start
# (tests that run the `concord` console script, for instance).
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export PATH := $(CURDIR)/$(BIN):$(PATH)

# $(call section,TITLE): a visible header in the output of long runs. TITLE must
# not contain a comma or a single quote.
section = @printf '\n==== %s ====\n' '$(1)'

.PHONY: help env bootstrap test serve lint type docs unit pytest clean distclean

help:
	@echo 'make serve      install what is missing, run the demo server (127.0.0.1:8787, demo/demo)'
	@echo 'make test       install what is missing, then lint, type, docs and the whole test suite'
	@echo 'make lint       ruff check and ruff format --check'
	@echo 'make type       mypy over the packages'
	@echo 'make docs       build the Sphinx docs into docs/_build/html (warnings are errors)'
	@echo 'make unit       the unit tests only (tests/unit)'
	@echo 'make pytest     the whole test suite, in parallel (pytest-xdist)'
	@echo 'make clean      remove build output and caches; distclean also removes .venv and var/'

# ---------------------------------------------------------------- the one bootstrap

# What the system needs: `make serve` asks only for the demo's packages (no
# libvirtd, QEMU or MariaDB); every other target for the test suite's too.
BOOTSTRAP_FOR ?= test
serve: BOOTSTRAP_FOR := serve

bootstrap:
	$(call section,system packages ($(BOOTSTRAP_FOR)))
	bash scripts/bootstrap-system.sh $(BOOTSTRAP_FOR)

$(BIN)/python: | bootstrap
	$(call section,create $(VENV))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	    echo "Concord needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)." >&2; \
	    echo "Run make with PYTHON=/path/to/python3.11 (or newer)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALL_STAMP): setup.py $(PEERS_NO_DEPS) | bootstrap $(BIN)/python
	$(call section,pip install -e .[$(EXTRAS)] (the first time takes a few minutes))
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r $(PEERS_NO_DEPS)
	@echo '$(PACKAGES_NOW)' > $(PACKAGES_FILE)
	@touch $@

env: bootstrap $(INSTALL_STAMP)

# ---------------------------------------------------------------- what people run

serve: env
	$(call section,concord serve --demo)
	$(BIN)/concord serve --demo

test: env lint type docs pytest
	$(call section,make test: all checks passed)

lint: env
	$(call section,ruff check .)
	$(BIN)/ruff check .
	$(call section,ruff format --check .)
	$(BIN)/ruff format --check .

type: env
	$(call section,mypy)
	MYPY=$(BIN)/mypy bash scripts/typecheck.sh

docs: env
	$(call section,sphinx-build docs)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

pytest: env
	$(call section,pytest -n auto tests)
	$(BIN)/pytest -q -ra -n auto tests $(PYTEST_ARGS)

unit: env
	$(call section,pytest tests/unit)
	$(BIN)/pytest -q -ra tests/unit $(PYTEST_ARGS)

# ---------------------------------------------------------------- housekeeping

clean:
	rm -rf docs/_build build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
	    -type d -name __pycache__ -prune -exec rm -rf {} +

# var/ holds the embedded SQLite databases (`make serve`'s is var/demo.sqlite).
distclean: clean
	rm -rf $(VENV) var
