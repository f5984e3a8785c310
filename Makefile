# swift-pretrain: the two commands.
#   make pretrain   install what is missing, build, pretrain the embedded default, print a sample
#   make test       install what is missing, build, run every test
# Everything else is `.build/release/pretrain --help`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/pretrain
# What building, training and plotting need; `make test` adds what only the tests use (a local Slurm
# for the job-script tests, iproute2 for the two-host test's network namespaces).
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev libsnappy-dev zlib1g-dev libdnnl-dev pkg-config fortunes librsvg2-bin
TEST_PACKAGES := slurm-wlm munge iproute2

.PHONY: pretrain test deps build clean help

help:
	@echo "make pretrain   install, build, pretrain the embedded default model and sample from it"
	@echo "make test       install, build, run every test"

# Installs the Debian packages that are missing; says what to do where it cannot.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "error: missing packages:$$missing and no apt-get here; install them (or their equivalents: OpenMPI, OpenBLAS, zstd, snappy, zlib and oneDNN dev files, pkg-config) with your package manager, then run make again" >&2; exit 1; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	elif command -v sudo >/dev/null && [ -t 0 ]; then SUDO="sudo"; \
	else echo "error: missing packages:$$missing; run 'sudo apt-get install -y$$missing' (or make as root), then run make again" >&2; exit 1; fi; \
	echo "installing:$$missing"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null

build: deps
	$(SWIFT) build -c $(CONFIG)

# XCTest only (no Swift Testing suites exist); the last line is the plain "N passed, M failed" summary.
test: APT_PACKAGES += $(TEST_PACKAGES)
test: build
	$(SWIFT) build -c $(CONFIG) --build-tests
	@if $(SWIFT) test -c $(CONFIG) --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; then status=0; else status=$$?; fi; \
	  summary=$$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -n 1); \
	  total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	  failed=$$(echo "$$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/'); \
	  if [ -n "$$summary" ]; then echo "$$((total - failed)) passed, $$failed failed"; fi; \
	  exit $$status

# The embedded default: Debian's fortunes, tokenized once (cached until the input or settings change),
# then configs/tiny.yaml on 2 ranks through `pretrain launch` (it builds the mpirun command), which
# saves a checkpoint at the end and plots runs/tiny/plot.svg; then a sample from that checkpoint.
FORTUNES := /usr/share/games/fortunes
pretrain: build
	$(BIN) data prepare --input $(FORTUNES) --document-separator % --vocab-size 2048 --out data/fortunes
	$(BIN) launch --config configs/tiny.yaml --resume auto
	@echo "--- a sample from the model just trained (pretrain generate --checkpoint runs/tiny/checkpoints) ---"
	$(BIN) generate --checkpoint runs/tiny/checkpoints --prompt "The" --max-new-tokens 120 --temperature 0.8 --top-k 40 --seed 1 --no-stop-at-eot

clean:
	rm -rf .build
