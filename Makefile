# swift-blkif — build, test and benchmark.
#
#   make test             install what is missing of the Debian packages, run every test, smoke-run ringbench
#   make bench            install what is missing, build in release and run ringbench (ARGS=...)
#   make test-asan        the BlkifABI tests under the address sanitizer (slow)
#   make test-asan-ring   the ring tests (fuzz included) under the address sanitizer (the allocation counter is off under it)
#   make test-alloc-ring  the ring hot path's allocation and retain count, in an optimised build
#   make ringref          prebuild ringbench's C reference from Xen's headers
#   make fuzz             libFuzzer on every parser of a peer's bytes (make fuzz-<target>: one; see Fuzz/fuzz.mk)
#   make model-check      SPIN on the Promela models of Models/ (ring notifications, XenBus states)
#   make demo             the whole system: store, blkif serve, blkif attach in separate processes (blkif demo)
#   make bench-blkif      blkif against fio's psync and io_uring on the same cached image (4 KiB random reads and writes, QD 32)
#   make xen-test         on a real Xen (4.17 nested in QEMU, Linux dom0): our peers against Xen's and Linux's (docs/xen-test.md)

SWIFT        ?= swift
DEB_PACKAGES := libxen-dev gcc-multilib libnuma-dev xenstore-utils
DEB_PACKAGES += spin   # model-check and ModelCheckTests (SPIN)
DEB_PACKAGES += fio    # make bench-blkif: blkif attach bench --compare-fio
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test bench demo bench-blkif ringref test-asan test-asan-ring test-alloc-ring consumer-check

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

# Every test, then ringbench's quick smoke runs in release (two threads; serial; backends
# publishing every 3 requests beside frontends leaving 8 entries free): both sides check every
# response and our side must make no heap allocation per request (a failure of either fails the
# target).
test: deps ringref
	$(SWIFT) test
	$(SWIFT) run -c release ringbench --quick
	$(SWIFT) run -c release ringbench --quick --mode serial
	$(SWIFT) run -c release ringbench --quick --mode polling --push-every 3 --headroom 8
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory consumer-check

bench: deps ringref
	$(SWIFT) run -c release ringbench $(ARGS)

# The whole system in one command: an embedded XenStore, `blkif serve` on a temporary image of
# random data and `blkif attach` (verify, then random reads and writes), as separate processes.
demo:
	$(SWIFT) run -c release blkif demo $(ARGS)

# blkif against fio on the same page-cached image: 4 KiB random reads, then random writes, at
# queue depth 32, through frontend, ring and backend; prints both figures and the ratio.
bench-blkif: deps
	$(SWIFT) run -c release blkif demo --operations 0 --seconds 10 --compare-fio $(ARGS)

# Prebuilds the C reference of ringbench (Xen's ring.h/blkif.h macros), one library per layout,
# where ringbench looks for it: .build/ringref/ringref-{native,x86_32}.so.
RINGREF_DIR  := .build/ringref
RINGREF_SRC  := Benchmarks/ringbench/reference/ringref.c
RINGREF_DEPS := $(RINGREF_SRC) Benchmarks/ringbench/reference/ringref_layout.h Sources/CRingBenchSupport/include/ringref_abi.h
RINGREF_CC   := cc -O2 -shared -fPIC -Wall -ISources/CRingBenchSupport/include

ringref: $(RINGREF_DIR)/ringref-native.so $(RINGREF_DIR)/ringref-x86_32.so

# Without Xen's headers it says so and builds nothing: ringbench then runs ours only.
$(RINGREF_DIR)/ringref-native.so: $(RINGREF_DEPS)
	@mkdir -p $(RINGREF_DIR)
	@if [ -f /usr/include/xen/io/blkif.h ]; then echo "$(RINGREF_CC) $(RINGREF_SRC) -o $@ -lpthread"; \
	    $(RINGREF_CC) $(RINGREF_SRC) -o $@ -lpthread; \
	else echo "ringref: <xen/io/blkif.h> missing (apt-get install libxen-dev); ringbench will run ours only"; fi

$(RINGREF_DIR)/ringref-x86_32.so: $(RINGREF_DEPS)
	@mkdir -p $(RINGREF_DIR)
	@if [ -f /usr/include/xen/io/blkif.h ]; then echo "$(RINGREF_CC) -DRINGREF_X86_32 $(RINGREF_SRC) -o $@ -lpthread"; \
	    $(RINGREF_CC) -DRINGREF_X86_32 $(RINGREF_SRC) -o $@ -lpthread; \
	else echo "ringref: <xen/io/blkif.h> missing (apt-get install libxen-dev); ringbench will run ours only"; fi

# The BlkifABI unit and property tests under the address sanitizer: decoding random bytes must
# never read or write outside the exact-size buffers the tests hand it. Slow; own build dir.
# Leak detection is off: XCTest's runner keeps its test-case objects until exit.
test-asan: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter 'BlkifABITests'

# The ring tests under the address sanitizer: the fuzzed consumers must never read outside the
# ring. BLKIF_FUZZ_SECONDS=60 fuzzes longer; BLKIF_FUZZ_SEED=<seed> replays a failure.
test-asan-ring: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter BlkifRingTests

# A package that depends on the ring libraries alone (Examples/LibraryConsumer, `traits: []`) builds,
# runs, and fetches none of the executables' dependencies.
consumer-check:
	cd Examples/LibraryConsumer && $(SWIFT) run --scratch-path ../../.build-consumer LibraryConsumer
	@if [ -n "$$(ls -A .build-consumer/checkouts 2>/dev/null)" ]; then \
	    echo "consumer-check: a library-only consumer fetched: $$(ls .build-consumer/checkouts)"; exit 1; \
	else echo "consumer-check: no dependency fetched"; fi

# Allocations and retains on the hot path must be zero; only an optimised build can promise it.
test-alloc-ring: deps
	$(SWIFT) test -c release --scratch-path .build-release --filter InteropTests.RingAllocationTests

# On a real Xen: builds or reuses the image (.build-xen/, with the test bed's recipe beside the
# repository, ../shared/xen-nested), builds the probes with the static Swift stdlib
# (.build-xenbin/), boots Xen + dom0 in QEMU and runs the scenarios in dom0 (docs/xen-test.md).
# Not part of make test: one run takes minutes under emulation. XEN_SCENARIOS="..." runs some.
XEN_TEST_PACKAGES := qemu-system-x86 debootstrap e2fsprogs busybox-static cpio
.PHONY: xen-test
xen-test: deps
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(XEN_TEST_PACKAGES)"
	Tests/XenNested/xen-test.sh

include Fuzz/fuzz.mk
