# Tripline: `make demo` and `make test` are all a fresh clone needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
CARGO    ?= cargo

.PHONY: help opensearch chromium setup demo demo-remediation test check-format clippy cargo-test pytest lint docs bench package deploy fuzz

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

demo: setup ## the workshop at one clock, then the benign day and the attack chain replayed over their days (TRIPLINE=… skips the build)
	@scripts/demo.sh

demo-remediation: setup ## run the GuardDuty crypto finding through the remediation workflow in moto
	@scripts/demo-remediation.sh

test: setup check-format clippy docs cargo-test lint pytest ## everything CI runs
	@echo "make test: all checks passed"

check-format:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@# The Lambda functions build tripline-store without its `embedded` feature, which workspace
	@# builds always turn on: lint that configuration too.
	$(CARGO) clippy -p tripline-store --lib --locked -- -D warnings

opensearch: ## fetch the pinned OpenSearch distribution from Maven Central into .cache/ (once)
	@scripts/opensearch.sh fetch

cargo-test: opensearch ## every Rust test, with one real OpenSearch node for the whole run
	@scripts/opensearch.sh run -- $(CARGO) test --workspace --locked

chromium: ## Debian's Chromium for the HTML report tests (apt-get, once): tests/report drive it with Playwright
	@scripts/chromium.sh

pytest: setup chromium
	@if compgen -G "tests/**/test_*.py" >/dev/null || compgen -G "tests/*/test_*.py" >/dev/null; then \
		$(PY) -m pytest -q tests; \
	fi

lint: setup ## SAM template (translated, then cfn-lint), ASL files, IAM policy check
	@scripts/lint.sh

docs: ## crate docs, warnings are errors
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

bench: ## criterion benchmarks (store, normalize)
	$(CARGO) bench --workspace

RULES ?=
package: setup ## cargo lambda build (profile lambda): target/lambda/{alert,ingest}/bootstrap.zip; RULES="dir …" packs rule folders
	$(CARGO) lambda build --profile lambda --output-format zip -p tripline-functions $(foreach d,$(RULES),--include $(d))
	@$(PY) -c 'import os, sys, zipfile; [print(f"  {z:<56} {os.path.getsize(z) / 2**20:5.2f} MB zipped, {sum(i.file_size for i in zipfile.ZipFile(z).infolist()) / 2**20:5.2f} MB unzipped") for z in sorted(sys.argv[1:])]' target/lambda/*/bootstrap.zip

# make deploy OPENSEARCH_URL=https://search-…es.amazonaws.com [OPENSEARCH_AUTH=sigv4|aoss|basic|none]:
# the index templates are installed with your credentials before the functions exist (they never
# install them, and refuse to write until they are there), then the stack is deployed.
OPENSEARCH_URL  ?=
OPENSEARCH_AUTH ?= sigv4
ifneq ($(filter deploy,$(MAKECMDGOALS)),)
ifeq ($(strip $(OPENSEARCH_URL)),)
$(error make deploy needs OPENSEARCH_URL=https://… (the endpoint you give as OpenSearchEndpoint), to install the index templates)
endif
endif

deploy: package ## install the index templates on OPENSEARCH_URL, then sam deploy (AWS credentials, SAM CLI)
	$(CARGO) run -q -p tripline-cli -- infra render --check
	$(CARGO) run -q -p tripline-cli -- opensearch install-templates --url "$(OPENSEARCH_URL)" --auth "$(OPENSEARCH_AUTH)"
	sam deploy --template-file infra/template.yaml --guided --capabilities CAPABILITY_IAM

# Fuzzing (not part of `make test`). cargo-fuzz goes to .tools/ (git-ignored), installed on first
# use; nightly when rustup has it, else the default toolchain with RUSTC_BOOTSTRAP=1.
# `make fuzz FUZZ_SECONDS=600` runs the end-to-end ingest target (raw bytes → normalize → the
# embedded store in RAM → queries); FUZZ_TARGETS="store:ingest normalize:cloudtrail
# normalize:vpcflow normalize:guardduty dsl:query_string" runs those one after another.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= store:ingest
CARGO_FUZZ   := $(CURDIR)/.tools/bin/cargo-fuzz
# Leak checks off: the store's worker threads and caches outlive an input, so LeakSanitizer would
# rescan the heap after nearly every run (a third of the time) for no finding; rss_limit_mb holds.
FUZZ_FLAGS   ?= -detect_leaks=0 -rss_limit_mb=4096
FUZZ_CARGO   ?= $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo '$(CARGO) +nightly' || echo 'RUSTC_BOOTSTRAP=1 $(CARGO)')

$(CARGO_FUZZ):
	$(CARGO) install cargo-fuzz --locked --version 0.13.2 --root $(CURDIR)/.tools

fuzz: $(CARGO_FUZZ) ## fuzz FUZZ_TARGETS (store:ingest) for FUZZ_SECONDS (600) s each, one job
	@for t in $(FUZZ_TARGETS); do \
		crate=$${t%%:*}; target=$${t#*:}; \
		echo "make fuzz: crates/$$crate/fuzz $$target, $(FUZZ_SECONDS) s"; \
		(cd crates/$$crate && PATH="$(CURDIR)/.tools/bin:$$PATH" $(FUZZ_CARGO) fuzz run $$target -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_FLAGS)); \
	done
