# Enshu: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
PG_DIR ?= $(CURDIR)/target/pg
KEEP ?= 0
SCENARIO ?= quickstart
FUZZ_SMOKE_SECONDS ?= 60
export CARGO_TERM_COLOR ?= never
PREFIX ?= /usr/local
DESTDIR ?=
# Where cargo puts the binaries: CARGO_TARGET_DIR, a target-dir in a cargo
# config, or target/ (cargo itself says which).
TARGET_DIR = $(shell $(CARGO) metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

.PHONY: test demo deps images swarm-image build install bench schema fmt lint fuzz postgres-start postgres-stop

## Run every test: installs Debian packages, lints, builds the range images
## offline, starts a throwaway PostgreSQL, runs the whole suite, then checks
## the browser tests' screenshots and leaves their contact sheet for CI to
## collect: target/screenshots/index.html (infra/screenshots.sh). Debian 13
## as the host is checked in a trixie userland (tests/debian13.sh), a local
## test swarm is formed and removed (tests/swarm_infra.sh). Last, every
## fuzz target runs FUZZ_SMOKE_SECONDS (60) as a smoke test, failing on a
## crash, and tests/fuzz_crash.sh proves that a crash fails it.
test: deps lint images swarm-image
	@python3 infra/check_lock.py
	@bash tests/images_sources.sh
	@set -euo pipefail; \
	url=$$(bash infra/postgres.sh start "$(PG_DIR)" | tail -n 1); \
	trap 'bash infra/postgres.sh stop "$(PG_DIR)" >/dev/null 2>&1 || true' EXIT; \
	echo "postgres: $$url"; \
	$(CARGO) build -p enshu-replay --bin enshu-replay; \
	rm -rf target/screenshots; \
	ENSHU_TEST_POSTGRES_URL="$$url" $(CARGO) test --workspace; \
	bash infra/screenshots.sh target/screenshots crates/enshu-server/tests/screenshots.txt; \
	bash tests/systemd_unit.sh "$(TARGET_DIR)/debug/enshu"; \
	bash tests/debian13.sh "$(TARGET_DIR)/debug/enshu"; \
	bash tests/images_smoke.sh; \
	bash tests/swarm_infra.sh; \
	bash infra/fuzz.sh $$(bash infra/fuzz.sh --list) --seconds $(FUZZ_SMOKE_SECONDS); \
	bash tests/fuzz_crash.sh

## A whole exercise end to end on the embedded defaults (SQLite, local Docker):
## two teams, team 1 played by the scenario's solver through its own way in.
## SCENARIO=emotet-beta (or defacement-seccloud, usb-lgwan) plays a municipal
## exercise; KEEP=1 keeps it running.
demo: deps images build
	ENSHU_BIN="$(TARGET_DIR)/release/enshu" KEEP=$(KEEP) bash infra/demo/run.sh $(SCENARIO)

deps:
	@bash infra/deps.sh

## Build every range image from Debian's mirror (offline-capable; cached).
images: deps
	@bash infra/images.sh

## The test swarm's node image (infra/swarm.sh; cached), for make test.
swarm-image: images
	@bash infra/swarm.sh image

build:
	$(CARGO) build --release -p enshu-cli -p enshu-replay

## Install the binaries, the shell completions and the man pages under
## $(DESTDIR)$(PREFIX) (default /usr/local): `make install PREFIX=$$HOME/.local`.
install: build
	@set -euo pipefail; \
	bin="$(TARGET_DIR)/release"; root="$(DESTDIR)$(PREFIX)"; \
	install -d "$$root/bin" "$$root/share/man/man1" \
	  "$$root/share/bash-completion/completions" "$$root/share/zsh/site-functions" \
	  "$$root/share/fish/vendor_completions.d"; \
	install -m 0755 "$$bin/enshu" "$$bin/enshu-replay" "$$root/bin/"; \
	"$$bin/enshu" completions bash > "$$root/share/bash-completion/completions/enshu"; \
	"$$bin/enshu" completions zsh > "$$root/share/zsh/site-functions/_enshu"; \
	"$$bin/enshu" completions fish > "$$root/share/fish/vendor_completions.d/enshu.fish"; \
	pages=$$(mktemp -d); trap 'rm -rf "$$pages"' EXIT; \
	"$$bin/enshu" man "$$pages"; \
	install -m 0644 "$$pages"/*.1 "$$root/share/man/man1/"; \
	echo "installed enshu, enshu-replay, completions and $$(ls "$$pages" | wc -l) man pages under $$root"

bench:
	$(CARGO) bench -p enshu-scenario --bench plan

FUZZ_SECONDS ?= 300
## Run every fuzz target (fuzz/) for FUZZ_SECONDS each, one at a time
## (infra/fuzz.sh; cargo-fuzz is installed into ~/.cache/enshu). A crash
## fails naming its input, saved in fuzz/regressions/<target>/. Not part
## of `make test`.
fuzz:
	@bash infra/fuzz.sh $$(bash infra/fuzz.sh --list) --seconds $(FUZZ_SECONDS)

## Regenerate scenarios/schema.json and the test snapshots after a format change.
schema:
	UPDATE_EXPECT=1 $(CARGO) test -p enshu-scenario

fmt:
	$(CARGO) fmt --all

## Formatting, clippy's warnings, and every shell and Python script
## (infra/lint.sh finds them: crates/*/scripts/, infra/, tests/, images/).
lint: deps
	$(CARGO) fmt --all --check
	@bash infra/lint.sh
	$(CARGO) clippy --workspace --all-targets -- -D warnings
