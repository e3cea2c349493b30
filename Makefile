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

SAM_VENV := tests/sam/.venv
SAM_STAMP := $(SAM_VENV)/.installed
LOCAL_VENV := tests/local/.venv
LOCAL_STAMP := $(LOCAL_VENV)/.installed
DEPLOY_VENV := tests/deploy/.venv
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed
CDK_TEMPLATE := cdk/cdk.out/DsSnapshotKeeperExample.template.json
STACKSET_TEMPLATE := target/stackset/template-stackset.json
export CDK_DISABLE_CLI_TELEMETRY := true
# `make test` has two long chains: the Rust build then the Rust suite, and the CDK chain
# (npm ci, tsc, jsii, pacmak, the wheel, the Python app's synth), mostly one core each. They
# run at normal CPU priority; every other step (the Python suites, the template checkers,
# jest, the StackSet build) at a lower one, so on 2 cores it takes the time the chains leave
# idle instead of slowing them down. Run by hand, a target gives the same result; only the
# scheduling differs.
LOW := nice -n 15
# uv installs no bytecode: each module is compiled on its first import and cached in the venv.
# With PYTHONDONTWRITEBYTECODE set (some CI images set it) nothing would be cached, and every
# emulator, checkov or pytest process would compile moto, botocore and the rest anew (moto's
# import: 5.6 s instead of 2.4 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: rust-build simulate bench bench-calls all build test demo emulator emulator-venv emulator-test rust-test fmt-check lint clean \
	deploy-venv deploy-check deploy-test docs-test template-lint stackset doc-tables cdk-test cdk-synth cdk-jsii cdk-python keeper-bin local-venv local-lambda-test sam-venv

all: build

build:
	cargo build --release

# The Python installer: uv (PyPI, pinned in tools/uv-requirements.txt), put in .tools/uv by
# the machine's pip. It installs the pinned venvs below in seconds where pip took 66-84 s of
# CPU each, most of it compiling every module to bytecode up front (uv leaves that to the first
# import) and installing one wheel at a time (docs/test-command.md).
UV := .tools/uv/bin/uv
$(UV): tools/uv-requirements.txt
	rm -rf .tools/uv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target .tools/uv -r tools/uv-requirements.txt
	touch $(UV)

# Each Python tool has its own venv (tests/<dir>/.venv), created once and rebuilt only when
# its requirements.txt changes. The requirements are complete pip freezes, so --no-deps: what
# is listed is what is installed, nothing resolved anew.
define venv
$(1)/.venv/.installed: $(1)/requirements.txt $(UV)
	rm -rf $(1)/.venv
	$(UV) venv --quiet --python $(PYTHON) $(1)/.venv
	$(UV) pip install --quiet --python $(1)/.venv/bin/python --no-deps -r $(1)/requirements.txt
	touch $(1)/.venv/.installed
endef
$(foreach dir,tests/emulator tests/deploy tests/sam tests/local tests/packaging,$(eval $(call venv,$(dir))))

emulator-venv: $(STAMP)

## Start the local AWS emulator by hand (Ctrl-C to stop); point AWS_ENDPOINT_URL at it.
emulator: $(STAMP)
	cd tests/emulator && ../../$(VENV_PY) -m ds_emulator --port $(EMULATOR_PORT)

emulator-test: $(STAMP)
	cd tests/emulator && $(LOW) ../../$(VENV_PY) -m pytest -q -p no:cacheprovider test_conformance.py

fmt-check:
	cargo fmt --all -- --check

rust-test: rust-build $(STAMP)
	DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) cargo test --locked $(CARGO_TEST_FLAGS)


deploy-venv: $(DEPLOY_STAMP)

cdk/node_modules/.package-lock.json: cdk/package-lock.json
	cd cdk && npm ci --no-audit --no-fund --loglevel=error

## The construct, its tests and the example apps, compiled by tsc once per change (file
## targets: `make -j test` builds each once, for every suite that reads it).
CDK_TS := $(wildcard cdk/lib/*.ts cdk/test/*.ts cdk/example/*.ts) cdk/tsconfig.dev.json cdk/package-lock.json
CDK_DIST := cdk/dist/.built
$(CDK_DIST): cdk/node_modules/.package-lock.json $(CDK_TS)
	cd cdk && npx tsc -p tsconfig.dev.json
	touch $(CDK_DIST)

## The construct's jest tests.
cdk-test: $(CDK_DIST)
	cd cdk && $(LOW) npx jest --ci

## The example app synthesised (with a stub bootstrap: a real deployment points
## KEEPER_CODE_DIR at cargo lambda's output).
cdk-synth: $(CDK_TEMPLATE)

$(CDK_TEMPLATE): $(CDK_DIST)
	mkdir -p cdk/.stub && printf '#!/bin/sh\n' > cdk/.stub/bootstrap
	cd cdk && npx cdk synth --app 'node dist/example/app.js' --output cdk.out --quiet --no-notices \
		-c codeDir=$(CURDIR)/cdk/.stub -c account=123456789012 -c region=eu-west-1 \
		-c directoryIds=d-0123456789 -c alertEmail=identity-team@example.com \
		-c scheduleTimezone=Europe/Paris > /dev/null

CDK_PYTHON_VENV := cdk/.python-venv
CDK_PYTHON_TEMPLATE := cdk/cdk.out.python/DsSnapshotKeeperPython.template.json
PKG := target/packaging

## The construct as a jsii library: the assembly (.jsii), the npm tarball and the Python
## wheel (jsii-pacmak; Java, .NET and Go are configured in cdk/package.json, and need their
## toolchains to build). tools/pack_construct.py packs it: pacmak writes the npm tarball and
## the Python package's source; uv builds the wheel and the sdist from that source with the
## build backend it names (setuptools), as pacmak's own `python -m build` does, without the
## two throwaway venvs pacmak fills by pip for it (45 s). Built from source, the package
## carries no function code (`code` must be given); `make dist` packs the release zip in.
CDK_JSII := cdk/.jsii
$(CDK_JSII): cdk/node_modules/.package-lock.json $(wildcard cdk/lib/*.ts) cdk/package.json cdk/package-lock.json
	cd cdk && npx jsii --silence-warnings=reserved-word
	touch $(CDK_JSII)

cdk-jsii: $(CDK_JSII) $(UV)
	$(PYTHON) tools/pack_construct.py --out cdk/dist-pacmak

cdk/dist-pacmak/.packed: $(CDK_JSII) $(UV) cdk/README.md LICENSE tools/pack_construct.py
	$(PYTHON) tools/pack_construct.py --out cdk/dist-pacmak
	touch $@

## A Python CDK app using the construct's wheel, installed in a throwaway venv, synthesised;
## the deployment tests put its template through the same checks as the TypeScript one's.
## The wheel is packaging-test's, which carries a stand-in zip: the app gives no code and
## deploys the package's own, as a user's app does (tests/packaging checks that it does).
## A file target, so `make -j test` builds it once for the suites that read it.
CDK_SOURCES := $(wildcard cdk/lib/*.ts cdk/example/python/*) cdk/package.json cdk/package-lock.json
cdk-python: $(CDK_PYTHON_TEMPLATE)

$(CDK_PYTHON_TEMPLATE): cdk/node_modules/.package-lock.json $(CDK_SOURCES) $(UV) $(PKG)/construct/.packed \
		cdk/dist-pacmak/.packed
	rm -rf $(CDK_PYTHON_VENV) cdk/cdk.out.python
	$(UV) venv --quiet --python $(PYTHON) $(CDK_PYTHON_VENV)
	$(UV) pip install --quiet --python $(CDK_PYTHON_VENV)/bin/python \
		-r cdk/example/python/requirements.txt $(PKG)/construct/python/*.whl
	cd cdk && KEEPER_ACCOUNT=123456789012 KEEPER_REGION=eu-west-1 \
		CDK_OUTDIR=cdk.out.python .python-venv/bin/python example/python/app.py


sam-venv: $(SAM_STAMP)

tests/deploy/node_modules/.package-lock.json: tests/deploy/package-lock.json
	cd tests/deploy && $(LOW) npm ci --no-audit --no-fund --loglevel=error

## The keeper binary in the dev profile, where `cargo lambda watch` (tests/local) builds it
## too, so the local test reuses it. `cargo test` builds its own copy in the test profile
## (the test build here, before it): the keeper's crates compile twice, the dependencies once.
keeper-bin: rust-build
	cargo build --locked --bins

## The four templates (template.yaml, the StackSet, the TypeScript and the Python CDK apps')
## as CloudFormation's own checkers read them: `sam validate --lint`, cfn-lint (no errors)
## and checkov (no failed checks).
TEMPLATES := template.yaml $(CDK_TEMPLATE) $(CDK_PYTHON_TEMPLATE) $(STACKSET_TEMPLATE)
template-lint: $(DEPLOY_STAMP) $(SAM_STAMP) $(TEMPLATES)
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=eu-west-1 $(LOW) $(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(LOW) $(DEPLOY_VENV)/bin/cfn-lint --non-zero-exit-code error $(TEMPLATES)
	@# One checkov for the four templates: it starts in 11 s of CPU, and scans each in well under one.
	$(LOW) $(DEPLOY_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		$(addprefix -f ,$(TEMPLATES))

## template-lint; the template test; and the templates read as AWS reads them: SAM transform,
## intrinsics resolved, the keeper's real calls (from an emulator run) evaluated against the
## resolved IAM (test_aws_semantics.py).
deploy-check: cdk-test template-lint deploy-test

deploy-test: $(DEPLOY_STAMP) $(STAMP) $(CDK_TEMPLATE) $(CDK_PYTHON_TEMPLATE) tests/deploy/node_modules/.package-lock.json \
		keeper-bin $(STACKSET_TEMPLATE)
	cd tests/deploy && REQUIRE_CDK=1 DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) \
		$(LOW) ../../$(DEPLOY_VENV)/bin/python -m pytest -q -p no:cacheprovider test_template.py test_aws_semantics.py \
		test_restore_mark.py test_tamper_alert.py test_lock.py

# cargo-lambda (pip: it brings its zig), for running the function the way Rust Lambda
# developers do; CONTRIBUTING.md's "Run it locally" commands.

local-venv: $(LOCAL_STAMP)

## cargo lambda watch + cargo lambda invoke for every events/ file, against the emulator;
## every line the function writes is checked against the log schema.
local-lambda-test: $(STAMP) $(LOCAL_STAMP) keeper-bin
	cd tests/local && PATH=$(CURDIR)/$(LOCAL_VENV)/bin:$$PATH DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) \
		$(LOW) ../../$(VENV_PY) -m pytest -q -p no:cacheprovider test_runtime_api.py test_cargo_lambda.py test_restore_terminal.py \
		test_restore_beside_runs.py

## The test binaries and, with them, the keeper's binaries (the integration tests run them):
## one cargo, one build graph, so the test-only crates compile in the time the SDK crates'
## serial stretches leave free.
rust-build:
	@test -n "$(CLIPPY_DRIVER)" || { echo "clippy-driver not found (the build lints with it): rustup component add clippy" >&2; exit 2; }
	cargo test --locked --no-run $(CARGO_TEST_FLAGS)

# Clippy as the workspace's compiler: clippy-driver is rustc with clippy's lints, so the test
# build compiles and lints the keeper's own crates in one pass, and the dependencies are built
# once, by rustc. `cargo clippy` would build every dependency a second time, as metadata only
# (187 s of CPU on CI's 2 cores; docs/test-command.md). `cargo test --no-run` builds every
# target `cargo clippy --all-targets` lints: the library, the binaries, the unit tests, the
# integration tests and the examples. CLIPPY_ARGS is how `cargo clippy -- -D warnings` hands
# `-D warnings` to the driver. Every cargo command of `make test` runs with the same two
# variables (the wrapper is in the hash of the keeper's own artifacts), so none of them
# rebuilds what another built in the same profile; cargo-lambda's `cargo run` inherits them.
CLIPPY_DRIVER = $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
rust-build keeper-bin rust-test local-lambda-test: export RUSTC_WORKSPACE_WRAPPER = $(CLIPPY_DRIVER)
rust-build keeper-bin rust-test local-lambda-test: export CLIPPY_ARGS = -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

## Every suite, side by side, each started as soon as what it needs is built (the Rust build
## first: it is the longest). One graph, no barrier between building and testing: on 2 cores
## the suites that need no Rust fill the core the build leaves idle while it compiles one large
## crate (aws-sdk-directory: 44 s) or links. Each suite starts its own emulators on free ports.
## -j8 on 2 cores: the low-priority steps spend most of their time waiting for a core; with
## fewer job slots they would hold them and keep the CDK chain from starting.
test: fmt-check
	$(MAKE) -j8 --output-sync=target rust-test emulator-test cdk-test template-lint deploy-test local-lambda-test \
		docs-test packaging-test

## Every shell block of README.md, CONTRIBUTING.md and docs/*.md run as written against the
## emulator with the keeper binary, unless marked not runnable here; the docs' links, and every
## section of the task pages one click from the README (tests/docs; CONTRIBUTING.md says how);
## and what `make sandbox` seeds, its printed commands run as printed.
docs-test: $(STAMP) keeper-bin
	cd tests/docs && DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) KEEPER_BIN_DIR=$(CURDIR)/target/debug \
		$(LOW) ../../$(VENV_PY) -m pytest -q -p no:cacheprovider test_snippets.py test_links.py test_sandbox.py

## The demo builds the keeper, then the demo with the test support it shares, showing cargo's
## progress: the first build takes minutes (about 6 on 2 cores), later ones seconds.
demo: $(STAMP)
	@echo "== building the keeper, then the demo (the first time takes minutes: about 6 on 2 cores)"
	cargo build --locked --bins
	cargo build --locked --example demo
	DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) cargo run --quiet --locked --example demo

## A local AWS to practise `points`, the restore drill and a restore on (tests/emulator/sandbox.py):
## the emulator on EMULATOR_PORT with two directories and their snapshots, until Ctrl-C. It
## prints what to paste into another terminal and the commands to try.
.PHONY: sandbox
sandbox: $(STAMP)
	@echo "== building the keeper (the first time takes minutes; then seconds)"
	cargo build --locked --bins
	$(VENV_PY) tests/emulator/sandbox.py --port $(EMULATOR_PORT)

## The restore-reach simulator: two simulated years of daily runs, newest against tiered, with
## the real keeper over the in-memory service; prints the reach and writes the picture.
## SIMULATE_ARGS adds options (`--fail-percent 10`, `--every-hours 168`, `--tiers 30`...).
SIMULATE_ARGS ?=
simulate:
	cargo run --quiet --locked --example simulate -- --svg docs/restore-reach.svg $(SIMULATE_ARGS)

## Benchmarks: figures, not tests. Builds the release binaries (the keeper, the hello-world
## floor and the harness baseline), writes docs/benchmarks.md.
bench: $(STAMP) $(LOCAL_STAMP)
	cargo build --release --locked --features bench-floor --bins
	cargo build --release --locked --example simulate
	@# The same keeper linked non-PIE, for one comparison row (not shipped). Its own target
	@# dir and an explicit --target keep the flag off build scripts and proc macros.
	RUSTFLAGS="-C relocation-model=static" CARGO_TARGET_DIR=target/nopie cargo build --release --locked \
		--target x86_64-unknown-linux-gnu --bin ds-snapshot-keeper
	@# The arm64 deployment zip, with cargo-lambda and its zig from tests/local's venv (pip).
	rm -f target/lambda/ds-snapshot-keeper/bootstrap.zip
	PATH=$(CURDIR)/$(LOCAL_VENV)/bin:$$PATH cargo lambda build --release --arm64 --output-format zip \
		--no-default-features --bin ds-snapshot-keeper || echo "cargo lambda build failed: the benchmark reports the x86_64 zip instead"
	$(VENV_PY) bench/run.py

## The calls per operation of scheduled runs over 1, 10 and 100 directories (figures, with the
## debug binary: call counts do not depend on the profile).
bench-calls: $(STAMP) keeper-bin
	BENCH_KEEPER=$(CURDIR)/target/debug/ds-snapshot-keeper $(VENV_PY) bench/run.py --calls

## The StackSet template: template.yaml through the SAM transform, offline, with the code in a
## bucket per Region (tools/stackset.py says why); deploy-check tests it like the others.
stackset: $(STACKSET_TEMPLATE)

$(STACKSET_TEMPLATE): template.yaml tools/stackset.py $(DEPLOY_STAMP)
	$(LOW) $(DEPLOY_VENV)/bin/python tools/stackset.py

## The docs' tables of template.yaml's parameters (docs/deploy.md) and alarms (docs/operate.md),
## rewritten from the template (deploy-check fails while they differ).
doc-tables: $(DEPLOY_STAMP)
	$(DEPLOY_VENV)/bin/python tests/deploy/doc_tables.py --write

lint:
	cargo clippy --locked --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf $(VENV) .tools dist


# ---- Packaging and release (docs/building.md) -------------------------------------------------

## `make dist`: every release artifact in dist/, with SHA256SUMS (tools/dist.py lists them):
## the arm64 Lambda zip, the SAM template that deploys it with no build step, the StackSet
## template, the CLI's manylinux wheels for x86_64 and aarch64, and the construct for npm and
## PyPI with the zip inside. Three release builds, cross-compiled by cargo-lambda's zig: arm64
## without the command line (the zip: `--no-default-features`, see Cargo.toml's `cli`), arm64
## with it (the aarch64 wheel) and x86_64 (its wheel, for glibc 2.17).
## Then tests/packaging tests what it built, as packaging-test tests make test's.
.PHONY: dist dist-build dist-test wheel checksums version-check packaging-test
PKG_VENV := tests/packaging/.venv
PKG_STAMP := $(PKG_VENV)/.installed
HOST_TARGET = $(shell rustc -vV | sed -n 's/^host: //p')
LAMBDA_ZIP := target/lambda/ds-snapshot-keeper/bootstrap.zip
RELEASE_BINARY = target/$(1)/release/ds-snapshot-keeper
# cargo-lambda zips the arm64 binary and leaves it where cargo wrote it; a build without
# --output-format zip moves the binary into its lambda dir as `bootstrap`.
ARM64_BINARY := target/lambda-arm64/ds-snapshot-keeper/bootstrap
X86_64_BINARY := target/lambda-x86_64/ds-snapshot-keeper/bootstrap
# $(call packaging-pytest,FOLDER,SCRATCH,MORE ENVIRONMENT): tests/packaging on a release folder.
packaging-pytest = cd tests/packaging && PACKAGING_DIST=$(CURDIR)/$(1) DS_EMULATOR_PYTHON=$(CURDIR)/$(VENV_PY) $(3) \
	$(LOW) ../../$(PKG_VENV)/bin/python -m pytest -q -p no:cacheprovider --basetemp=$(CURDIR)/$(2)

dist: dist-build $(CDK_JSII) $(UV) $(STACKSET_TEMPLATE) $(DEPLOY_STAMP)
	$(PYTHON) tools/pack_construct.py --out target/dist-construct --zip $(LAMBDA_ZIP)
	$(DEPLOY_VENV)/bin/python tools/dist.py layout --out dist --lambda-zip $(LAMBDA_ZIP) \
		--construct target/dist-construct --stackset $(STACKSET_TEMPLATE) \
		--binary aarch64-unknown-linux-gnu=$(ARM64_BINARY) --binary x86_64-unknown-linux-gnu=$(X86_64_BINARY)
	$(MAKE) dist-test

## The release builds alone. cargo-lambda and its zig come from tests/local's venv (pip).
dist-build: $(LOCAL_STAMP)
	rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
	PATH=$(CURDIR)/$(LOCAL_VENV)/bin:$$PATH cargo lambda build --release --locked --arm64 \
		--lambda-dir target/lambda-arm64 --bin ds-snapshot-keeper
	rm -f $(LAMBDA_ZIP)
	PATH=$(CURDIR)/$(LOCAL_VENV)/bin:$$PATH cargo lambda build --release --locked --arm64 --output-format zip \
		--no-default-features --bin ds-snapshot-keeper
	PATH=$(CURDIR)/$(LOCAL_VENV)/bin:$$PATH cargo lambda build --release --locked \
		--target x86_64-unknown-linux-gnu.2.17 --lambda-dir target/lambda-x86_64 --bin ds-snapshot-keeper

## The packaging tests on dist/ (PACKAGING_RELEASE: both Linux wheels, one arm64 build).
dist-test: $(PKG_STAMP) $(STAMP) $(SAM_STAMP) $(CDK_DIST)
	$(call packaging-pytest,dist,target/dist-test,PACKAGING_RELEASE=1)

## One CLI wheel for WHEEL_TARGET from a native release build, into dist/: the release
## workflow's macOS and Windows runners (`make wheel WHEEL_TARGET=aarch64-apple-darwin`).
WHEEL_TARGET ?= $(HOST_TARGET)
wheel:
	rustup target add $(WHEEL_TARGET)
	cargo build --release --locked --target $(WHEEL_TARGET) --bin ds-snapshot-keeper
	$(PYTHON) tools/wheel.py --target $(WHEEL_TARGET) --out dist \
		--binary $(call RELEASE_BINARY,$(WHEEL_TARGET))$(if $(findstring windows,$(WHEEL_TARGET)),.exe)

## SHA256SUMS over dist/, again: after the release workflow adds the macOS and Windows wheels.
checksums:
	$(PYTHON) tools/dist.py checksums dist

## The versions agree (tools/version.py); TAG=v1.2.3 also checks a release tag against them.
version-check:
	$(PYTHON) tools/version.py check $(if $(TAG),--tag $(TAG))

## make test's packaging tests: the release layout from the debug binary and a stand-in zip
## (target/packaging/dist), tested as `make dist` tests dist/: the CLI wheel installed by pip,
## uv and pipx and run against the emulator, the construct installed by npm and pip into the
## example apps and synthesised with no Rust, `sam package` against the emulator's S3, the
## versions, the checksums, and the release workflow under actionlint.
packaging-test: $(PKG_STAMP) $(STAMP) $(SAM_STAMP) $(DEPLOY_STAMP) $(CDK_DIST) $(CDK_PYTHON_TEMPLATE) \
		$(PKG)/construct/.packed $(STACKSET_TEMPLATE) keeper-bin
	$(LOW) $(DEPLOY_VENV)/bin/python tools/dist.py layout --out $(PKG)/dist --lambda-zip $(PKG)/stand-in.zip \
		--construct $(PKG)/construct --stackset $(STACKSET_TEMPLATE) \
		--binary $(HOST_TARGET)=target/debug/ds-snapshot-keeper > /dev/null
	$(call packaging-pytest,$(PKG)/dist,$(PKG)/tmp,CDK_PYTHON_OUT=$(CURDIR)/cdk/cdk.out.python)

$(PKG)/stand-in.zip: tests/packaging/stand_in.py
	$(PYTHON) tests/packaging/stand_in.py $@

## The construct packed around the stand-in, apart from cdk/dist-pacmak (which carries no
## code) and from make dist's (which carries the release zip).
$(PKG)/construct/.packed: $(CDK_JSII) $(UV) $(PKG)/stand-in.zip cdk/README.md LICENSE tools/pack_construct.py
	$(PYTHON) tools/pack_construct.py --out $(PKG)/construct --zip $(PKG)/stand-in.zip
	touch $@
