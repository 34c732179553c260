# Tripline: `make demo` and `make test` are all a fresh clone needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
CARGO    ?= cargo

.PHONY: help setup demo demo-remediation test check-format clippy cargo-test pytest lint docs bench package deploy fuzz clean-standins

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed ## install the stand-ins and tools (.venv, node_modules)

demo: setup ## ingest the workshop data set into a fresh embedded store and run every alert
	@scripts/demo.sh

demo-remediation: setup ## run the GuardDuty crypto finding through the remediation workflow in moto
	@scripts/demo-remediation.sh

test: setup check-format clippy cargo-test lint pytest ## everything CI runs
	@echo "make test: all checks passed"

check-format:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@# The Lambda functions build tripline-store without its `embedded` feature, which workspace
	@# builds always turn on: lint that configuration too.
	$(CARGO) clippy -p tripline-store --lib --locked -- -D warnings

cargo-test:
	$(CARGO) test --workspace --locked

pytest: setup
	@if compgen -G "tests/**/test_*.py" >/dev/null || compgen -G "tests/*/test_*.py" >/dev/null; then \
		$(PY) -m pytest -q tests; \
	fi

lint: setup ## SAM template (translated, then cfn-lint), ASL files, IAM policy check
	@scripts/lint.sh

docs: ## crate docs, warnings are errors
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

bench: ## criterion benchmarks (store, normalize)
	$(CARGO) bench --workspace

package: setup ## cargo lambda build (profile lambda): target/lambda/<name>/bootstrap.zip per function
	$(CARGO) lambda build --profile lambda --output-format zip -p tripline-functions
	@$(PY) -c 'import os, sys, zipfile; [print(f"  {z:<56} {os.path.getsize(z) / 2**20:5.2f} MB zipped, {sum(i.file_size for i in zipfile.ZipFile(z).infolist()) / 2**20:5.2f} MB unzipped") for z in sorted(sys.argv[1:])]' target/lambda/*/bootstrap.zip

deploy: package ## sam deploy of the packaged functions (needs AWS credentials and the SAM CLI)
	$(CARGO) run -q -p tripline-cli -- infra render --check
	sam deploy --template-file infra/template.yaml --guided --capabilities CAPABILITY_IAM
