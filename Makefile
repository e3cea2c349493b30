# ds-snapshot-keeper: every entry point a developer or CI needs.
#   make demo   - run the keeper against the local AWS emulator over several simulated days
#   make test   - everything CI runs (.ci/run calls exactly this)
SHELL := /bin/bash
PYTHON ?= python3
VENV := tests/emulator/.venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMULATOR_PORT ?= 5000
CARGO_TEST_FLAGS ?=

.PHONY: all build test demo emulator emulator-venv emulator-test rust-test fmt-check lint clean

all: build

build:
	cargo build --release

# The emulator's venv is created once and reused until requirements.txt changes.
$(STAMP): tests/emulator/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r tests/emulator/requirements.txt
	touch $(STAMP)

emulator-venv: $(STAMP)

## Start the local AWS emulator by hand (Ctrl-C to stop); point AWS_ENDPOINT_URL at it.
emulator: $(STAMP)
	cd tests/emulator && ../../$(VENV_PY) -m ds_emulator --port $(EMULATOR_PORT)

emulator-test: $(STAMP)
	cd tests/emulator && ../../$(VENV_PY) -m pytest -q -p no:cacheprovider test_conformance.py

fmt-check:
	cargo fmt --all -- --check

rust-test: $(STAMP)
	DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) cargo test --locked $(CARGO_TEST_FLAGS)

test: fmt-check emulator-test rust-test

demo: $(STAMP)
	cargo build --quiet --locked --bins
	DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) cargo run --quiet --locked --example demo

lint:
	cargo clippy --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf $(VENV)
