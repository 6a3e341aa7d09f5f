# Coverage-guided fuzzing with libFuzzer (shipped in the Swift toolchain) and SPIN model checking.
# Included by the Makefile; see docs/reliability.md.
#
#   make fuzz                 every target for FUZZ_SECONDS each (default 60), from its corpus
#   make fuzz-<target>        one target (decode, indirect-pages, back-ring, front-ring,
#                             backend-requests, xenstore-framer, xenstore-handler, xenbus-nodes)
#   make fuzz-smoke           every target for FUZZ_SMOKE_SECONDS over its corpus (part of make test)
#   make fuzz-merge-<target>  fold the new inputs that add coverage into Fuzz/Corpus/<target>
#   make model-check          SPIN (Models/check.sh): the ring's notification protocol (1-4
#                             slots) and the XenBus state machine proved, the broken variants'
#                             counterexamples shown (swift test runs the same as ModelCheckTests)
#
# The modules are compiled straight with swiftc (-sanitize=fuzzer,address, -enable-testing so a
# target can reach internal types: XenStore's wire framer and handler, BlkBack's request
# executor) into .build-fuzz, never SwiftPM's .build. New inputs
# go to .build-fuzz/corpus/<target>, crashes to .build-fuzz/crashes/; the corpus kept in the
# repository (Fuzz/Corpus/<target>) is only read.

FUZZ_BUILD         ?= .build-fuzz
FUZZ_SWIFTC        ?= swiftc
FUZZ_CLANG         ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_FLAGS         := -swift-version 6 -O -g -parse-as-library -sanitize=fuzzer,address -enable-testing
FUZZ_MODULES       := $(FUZZ_BUILD)/modules
FUZZ_TARGETS       := decode indirect-pages back-ring front-ring backend-requests xenstore-framer xenstore-handler xenbus-nodes
# Leaks are not a property here; -timeout bounds the work of one input (a hang is a failure).
FUZZ_RUN_FLAGS     := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_ASAN          := ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no

# The libraries each target links (callers before callees) and its sources besides its entry
# point: the support it needs and its property.
FUZZ_LIBS_decode           := BlkifABI CBlkifSystem
FUZZ_LIBS_indirect-pages   := BlkifABI CBlkifSystem
FUZZ_LIBS_back-ring        := BlkifRing BlkifABI CBlkifSystem
FUZZ_LIBS_front-ring       := BlkifRing BlkifABI CBlkifSystem
FUZZ_LIBS_xenstore-framer  := XenStore
FUZZ_LIBS_xenstore-handler := XenStore
FUZZ_LIBS_xenbus-nodes     := XenBus XenStore BlkifABI CBlkifSystem
FUZZ_LIBS_backend-requests := BlkBack XenPlatform XenBus XenStore BlkifRing BlkifABI CXenPlatform CBlkifSystem
FUZZ_COMMON := $(addprefix Fuzz/Support/,FuzzInput.swift ExactBuffer.swift Require.swift)
FUZZ_BLKIF  := $(FUZZ_COMMON) Fuzz/Support/FuzzChoices.swift
FUZZ_RING   := $(FUZZ_BLKIF) Fuzz/Support/RingMemory.swift
FUZZ_SOURCES_decode           := $(FUZZ_BLKIF) Fuzz/Properties/DecodeProperty.swift
FUZZ_SOURCES_indirect-pages   := $(FUZZ_BLKIF) Fuzz/Properties/IndirectPagesProperty.swift
FUZZ_SOURCES_back-ring        := $(FUZZ_RING) Fuzz/Properties/BackRingProperty.swift
FUZZ_SOURCES_front-ring       := $(FUZZ_RING) Fuzz/Properties/FrontRingProperty.swift
FUZZ_SOURCES_xenstore-framer  := $(FUZZ_COMMON) Fuzz/Properties/WireFramerProperty.swift
FUZZ_SOURCES_xenstore-handler := $(FUZZ_COMMON) Fuzz/Properties/WireHandlerProperty.swift
FUZZ_SOURCES_xenbus-nodes     := $(FUZZ_BLKIF) Fuzz/Properties/XenBusNodesProperty.swift
FUZZ_SOURCES_backend-requests := $(FUZZ_RING) Fuzz/Support/FuzzBackendWorld.swift Fuzz/Properties/BackendRequestsProperty.swift

.PHONY: fuzz fuzz-smoke fuzz-build model-check $(addprefix fuzz-,$(FUZZ_TARGETS)) $(addprefix fuzz-merge-,$(FUZZ_TARGETS))

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz-,$(FUZZ_TARGETS))

fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_BUILD)/fuzz-%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crashes
	$(FUZZ_ASAN) $< $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_BUILD)/crashes/$*- \
	    $(FUZZ_BUILD)/corpus/$* Fuzz/Corpus/$*

# Every target over its corpus (a regression there fails), then a few seconds of new inputs;
# prints each target's last libFuzzer status line (executions, coverage, exec/s).
fuzz-smoke: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/crashes; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; log=$(FUZZ_BUILD)/fuzz-$$t.log; \
	    if $(FUZZ_ASAN) $(FUZZ_BUILD)/fuzz-$$t $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
	        -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_BUILD)/corpus/$$t Fuzz/Corpus/$$t > $$log 2>&1; then \
	        echo "fuzz-$$t: $$(grep -E '^#[0-9]+' $$log | tail -1)"; \
	    else \
	        grep -vE '^(INFO|#[0-9]+)' $$log; echo "fuzz-$$t FAILED: log $$log, input in $(FUZZ_BUILD)/crashes/"; exit 1; \
	    fi; \
	done

$(addprefix fuzz-merge-,$(FUZZ_TARGETS)): fuzz-merge-%: $(FUZZ_BUILD)/fuzz-%
	$(FUZZ_ASAN) $< -set_cover_merge=1 Fuzz/Corpus/$* $(FUZZ_BUILD)/corpus/$*

# One static library per module, instrumented for coverage and the address sanitizer. Each is
# removed before it is made again: the archiver adds to an existing archive, and an object of an
# earlier build left beside the new one is a duplicate symbol at link time.
fuzz_sources = $(shell find Sources/$(1) -name '*.swift' 2>/dev/null)

$(FUZZ_MODULES)/libBlkifABI.a: $(call fuzz_sources,BlkifABI) $(FUZZ_MODULES)/libCBlkifSystem.a
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name BlkifABI -I $(FUZZ_MODULES)/CBlkifSystem \
	    -emit-module -emit-module-path $(FUZZ_MODULES)/BlkifABI.swiftmodule -emit-library -static -o $@ $(call fuzz_sources,BlkifABI)

$(FUZZ_MODULES)/libCBlkifSystem.a: Sources/CBlkifSystem/futex.c Sources/CBlkifSystem/include/CBlkifSystem.h
	@mkdir -p $(FUZZ_MODULES)/CBlkifSystem
	printf 'module CBlkifSystem {\n    header "%s"\n    export *\n}\n' "$(CURDIR)/Sources/CBlkifSystem/include/CBlkifSystem.h" \
	    > $(FUZZ_MODULES)/CBlkifSystem/module.modulemap
	$(FUZZ_CLANG) -O2 -g -c -ISources/CBlkifSystem/include Sources/CBlkifSystem/futex.c -o $(FUZZ_MODULES)/futex.o
	rm -f $@ && ar rcs $@ $(FUZZ_MODULES)/futex.o

$(FUZZ_MODULES)/libBlkifRing.a: $(call fuzz_sources,BlkifRing) $(FUZZ_MODULES)/libBlkifABI.a $(FUZZ_MODULES)/libCBlkifSystem.a
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name BlkifRing -I $(FUZZ_MODULES) -I $(FUZZ_MODULES)/CBlkifSystem \
	    -emit-module -emit-module-path $(FUZZ_MODULES)/BlkifRing.swiftmodule -emit-library -static -o $@ $(call fuzz_sources,BlkifRing)

$(FUZZ_MODULES)/libXenStore.a: $(call fuzz_sources,XenStore)
	@mkdir -p $(FUZZ_MODULES)
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name XenStore -emit-module -emit-module-path $(FUZZ_MODULES)/XenStore.swiftmodule \
	    -emit-library -static -o $@ $^

$(FUZZ_MODULES)/libXenBus.a: $(call fuzz_sources,XenBus) $(FUZZ_MODULES)/libXenStore.a $(FUZZ_MODULES)/libBlkifABI.a
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name XenBus -I $(FUZZ_MODULES) -I $(FUZZ_MODULES)/CBlkifSystem \
	    -emit-module -emit-module-path $(FUZZ_MODULES)/XenBus.swiftmodule -emit-library -static -o $@ $(call fuzz_sources,XenBus)

$(FUZZ_MODULES)/libCXenPlatform.a: Sources/CXenPlatform/platform.c Sources/CXenPlatform/include/CXenPlatform.h
	@mkdir -p $(FUZZ_MODULES)/CXenPlatform
	printf 'module CXenPlatform {\n    header "%s"\n    export *\n}\n' "$(CURDIR)/Sources/CXenPlatform/include/CXenPlatform.h" \
	    > $(FUZZ_MODULES)/CXenPlatform/module.modulemap
	$(FUZZ_CLANG) -O2 -g -c -ISources/CXenPlatform/include Sources/CXenPlatform/platform.c -o $(FUZZ_MODULES)/platform.o
	rm -f $@ && ar rcs $@ $(FUZZ_MODULES)/platform.o

$(FUZZ_MODULES)/libXenPlatform.a: $(call fuzz_sources,XenPlatform) $(FUZZ_MODULES)/libCXenPlatform.a \
        $(FUZZ_MODULES)/libBlkifRing.a $(FUZZ_MODULES)/libXenStore.a
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name XenPlatform -I $(FUZZ_MODULES) -I $(FUZZ_MODULES)/CBlkifSystem -I $(FUZZ_MODULES)/CXenPlatform \
	    -emit-module -emit-module-path $(FUZZ_MODULES)/XenPlatform.swiftmodule -emit-library -static -o $@ $(call fuzz_sources,XenPlatform)

$(FUZZ_MODULES)/libBlkBack.a: $(call fuzz_sources,BlkBack) $(FUZZ_MODULES)/libXenPlatform.a $(FUZZ_MODULES)/libXenBus.a
	rm -f $@ && $(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name BlkBack -I $(FUZZ_MODULES) -I $(FUZZ_MODULES)/CBlkifSystem -I $(FUZZ_MODULES)/CXenPlatform \
	    -emit-module -emit-module-path $(FUZZ_MODULES)/BlkBack.swiftmodule -emit-library -static -o $@ $(call fuzz_sources,BlkBack)

# A target: its property (Fuzz/Properties, shared with the corpus replay tests), its
# libFuzzer entry point (Fuzz/Entry) and the support code.
.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz-%: Fuzz/Entry/%.swift $$(FUZZ_SOURCES_$$*) $$(foreach m,$$(FUZZ_LIBS_$$*),$(FUZZ_MODULES)/lib$$(m).a)
	$(FUZZ_SWIFTC) $(FUZZ_FLAGS) -module-name Fuzz -I $(FUZZ_MODULES) -I $(FUZZ_MODULES)/CBlkifSystem -I $(FUZZ_MODULES)/CXenPlatform -L $(FUZZ_MODULES) \
	    -use-ld=lld $(addprefix -l,$(FUZZ_LIBS_$*)) -o $@ Fuzz/Entry/$*.swift $(FUZZ_SOURCES_$*)

# SPIN on the Promela models (Models/check.sh): proofs and the broken variants' counterexamples.
model-check: deps
	MODEL_BUILD=$(FUZZ_BUILD)/models Models/check.sh all
