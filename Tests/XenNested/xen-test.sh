#!/bin/bash
# make xen-test: the project's peers on a real Xen. Builds (or reuses) a Xen 4.17 + Linux dom0
# image with the test bed's recipe, builds our binaries for dom0 (static Swift stdlib), boots
# Xen nested in QEMU (software emulation), runs dom0/run-scenarios.sh inside dom0 without
# interaction, brings the results back and powers off. See docs/xen-test.md.
#
# Every step has a timeout; a failure names the step, shows the serial log's tail and exits
# non-zero. Env:
#   XEN_NESTED     the test bed (build-image.sh, boot.sh); default ../shared/xen-nested beside the repository
#   XEN_CACHE      image cache and results; default .build-xen in the repository
#   XEN_SCENARIOS  scenarios to run, in order (default: every one of dom0/run-scenarios.sh)
#   IMAGE_TIMEOUT, BUILD_TIMEOUT, BOOT_TIMEOUT   seconds (defaults 900, 1800, 1800)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
XEN_NESTED=${XEN_NESTED:-$REPO/../shared/xen-nested}
XEN_CACHE=${XEN_CACHE:-$REPO/.build-xen}
IMAGE_TIMEOUT=${IMAGE_TIMEOUT:-900}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1800}
SWIFT=${SWIFT:-swift}
PRODUCTS="xen-nested-probe xen-nested-blk blkif"
SHARE=$XEN_CACHE/share
RESULTS=$XEN_CACHE/results
SUDO=$([ "$(id -u)" = 0 ] || echo "sudo -E")
T_START=$(date +%s.%N)

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "xen-test: $*"; }

# fail STEP RC: names the step, shows the serial log's tail when there is one, exits non-zero.
fail() {
    local step=$1
    # dom0 ran the scenarios to the end and some failed: name them rather than the boot
    if [ "$step" = boot-and-run ] && [ -f "$SHARE/run.rc" ]; then
        step=scenarios
        grep -h '^SCENARIO ' "$SHARE/run.out" 2>/dev/null | sed 's/^/xen-test:   /'
    fi
    say "FAILED at step '$step' (exit $2) after $(elapsed "$T_START") s"
    for log in "$RESULTS/serial.log" "$SHARE/serial.log"; do
        if [ -s "$log" ]; then say "last 40 lines of $log:"; tail -n 40 "$log"; break; fi
    done
    exit 1
}

# step NAME TIMEOUT COMMAND...: runs one step under its timeout and reports its duration.
step() {
    local name=$1 limit=$2; shift 2
    local t0; t0=$(date +%s.%N)
    say "step '$name' (timeout ${limit} s)"
    # bash -c: a step may be one of this script's functions (exported below)
    timeout --kill-after=10 "$limit" bash -c '"$@"' "$name" "$@"
    local rc=$?
    [ $rc = 124 ] && say "step '$name' timed out after $limit s"
    [ $rc = 0 ] || fail "$name" $rc
    say "step '$name' done in $(elapsed "$t0") s"
}

[ -x "$XEN_NESTED/build-image.sh" ] && [ -x "$XEN_NESTED/boot.sh" ] ||
    { say "the test bed is missing: $XEN_NESTED/{build-image.sh,boot.sh} (set XEN_NESTED)"; fail locate-test-bed 2; }
mkdir -p "$XEN_CACHE"
rm -rf "$RESULTS"

step image "$IMAGE_TIMEOUT" env XEN_WORK="$XEN_CACHE" $SUDO "$XEN_NESTED/build-image.sh"

build_products() {
    cd "$REPO" || return 1
    for product in $PRODUCTS; do
        "$SWIFT" build -c release --static-swift-stdlib --scratch-path .build-xenbin --product "$product" || return 1
    done
}

prepare_share() {
    rm -rf "$SHARE" && mkdir -p "$SHARE" || return 1
    for product in $PRODUCTS; do
        # symbols kept (debug info dropped): a crash backtrace names the functions
        strip --strip-debug -o "$SHARE/$product" "$REPO/.build-xenbin/release/$product" || return 1
    done
    # Swift's crash backtracer for static binaries: a crash in dom0 prints a symbolicated backtrace
    cp "$(dirname "$(readlink -f "$(command -v "$SWIFT")")")/../libexec/swift/linux/swift-backtrace-static" "$SHARE/" || return 1
    cp -r "$HERE/dom0/." "$SHARE/" && chmod +x "$SHARE"/*.sh || return 1
    "$HERE/domu/make-initrd.sh" "$XEN_CACHE/rootfs" "$SHARE/domu-initrd.cpio.gz" || return 1
    if [ -n "${XEN_SCENARIOS:-}" ]; then echo "$XEN_SCENARIOS" > "$SHARE/scenarios.list"; fi
}

# Boots, runs the scenarios in dom0, powers off; copies what came back to $RESULTS either way.
boot_and_run() {
    XEN_WORK="$XEN_CACHE" SHARE="$SHARE" TIMEOUT="$BOOT_TIMEOUT" "$XEN_NESTED/boot.sh" ./run-scenarios.sh
    local rc=$?
    mkdir -p "$RESULTS"
    cp "$SHARE"/run.out "$SHARE"/serial.log "$RESULTS/" 2>/dev/null
    cp -r "$SHARE"/results/. "$RESULTS/" 2>/dev/null
    return $rc
}

export -f build_products prepare_share boot_and_run
export REPO HERE SWIFT PRODUCTS SHARE RESULTS XEN_CACHE XEN_NESTED BOOT_TIMEOUT
step binaries "$BUILD_TIMEOUT" build_products
step share 120 prepare_share
# boot.sh has its own timeout for QEMU; the outer one also covers a hang before QEMU starts.
step boot-and-run $((BOOT_TIMEOUT + 60)) boot_and_run

say "summary (results in $RESULTS):"
awk '/XEN-DOM0-READY/ { printf "xen-test:   dom0 ready %s s after QEMU started\n", $1 }
     /XEN-TEST-RC/    { printf "xen-test:   scenarios finished %s s after QEMU started\n", $1 }' "$RESULTS/serial.log"
grep -E '^SCENARIO ' "$RESULTS/run.out" | sed 's/^/xen-test:   /'
say "all scenarios passed in $(elapsed "$T_START") s"
