# swift-blkif — build, test and benchmark.
#
#   make test    install what is missing of the Debian packages, then run every test
#   make bench   install what is missing, build in release and run ringbench
#   make test-asan-ring   the ring tests (fuzz included) under the address sanitizer
#   make test-alloc-ring  the hot path's allocation and retain count, in an optimised build

SWIFT        ?= swift
DEB_PACKAGES := libxen-dev gcc-multilib libnuma-dev xenstore-utils
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test bench test-asan-ring test-alloc-ring

# Installs the Debian packages the tests and the benchmark need, only when one is missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

test: deps
	$(SWIFT) test

bench: deps
	$(SWIFT) run -c release ringbench $(ARGS)

# The ring tests under the address sanitizer: the fuzzed consumers must never read outside the
# ring. BLKIF_FUZZ_SECONDS=60 fuzzes longer; BLKIF_FUZZ_SEED=<seed> replays a failure.
# Leak detection is off: XCTest leaves its test-case objects behind at exit.
test-asan-ring: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter BlkifRingTests

# Allocations and retains on the hot path must be zero; only an optimised build can promise it.
test-alloc-ring: deps
	$(SWIFT) test -c release --scratch-path .build-release --filter InteropTests.RingAllocationTests
