#!/bin/sh
# Model-checks the Promela models of Models/ with SPIN.
#
#   Models/check.sh prove  <model.pml> [-DNAME=value ...]   exits 0 when SPIN finds no error
#   Models/check.sh refute <model.pml> [-DNAME=value ...]   exits 0 when SPIN finds a counterexample,
#                                                           and prints its trail (shortest first)
#   Models/check.sh all                                     every proof and refutation below
#
# Work files go to $MODEL_BUILD (default .build-fuzz/models), one directory per run.
set -eu

models=$(cd "$(dirname "$0")" && pwd)
build=${MODEL_BUILD:-.build-fuzz/models}
command -v spin >/dev/null || { echo "spin is not installed (Debian: apt-get install spin; or make model-deps)" >&2; exit 2; }
command -v cc >/dev/null || { echo "a C compiler (cc) is needed to build SPIN's verifier" >&2; exit 2; }

# Runs SPIN's verifier on $2 with defines $3...; $1 adds C flags (-DBFS: shortest trail).
verify() {
    flags=$1 model=$2; shift 2
    dir="$build/$(basename "$model" .pml)$(echo "$*" | tr -c 'A-Za-z0-9=\n' '_')"
    rm -rf "$dir" && mkdir -p "$dir" && cp "$models"/*.pml "$dir/"
    (cd "$dir" && spin -a "$@" "$model" >/dev/null && cc -O2 -DSAFETY $flags -o pan pan.c && ./pan -m2000000 > pan.out 2>&1) || true
    grep -E "^pan:[0-9]|errors:|states, stored|elapsed time" "$dir/pan.out" | sed "s|^|  |"
}

prove() {
    model=$1; shift
    echo "prove $model $*"
    verify "" "$model" "$@" | tee "$build/last.out"
    grep -q "errors: 0" "$build/last.out"
}

refute() {
    model=$1; shift
    echo "refute $model $*"
    verify "-DBFS" "$model" "$@" | tee "$build/last.out"
    if grep -q "errors: 0" "$build/last.out" || ! grep -q "errors:" "$build/last.out"; then
        echo "  SPIN found no counterexample" >&2
        return 1
    fi
    dir="$build/$(basename "$model" .pml)$(echo "$*" | tr -c 'A-Za-z0-9=\n' '_')"
    echo "  counterexample (spin -t):"
    (cd "$dir" && spin -t "$@" "$model" | grep -E "^ *[a-z]+[ a-z]*: " | sed "s|^ *|    |")
}

mkdir -p "$build"
case "${1:-all}" in
prove) shift; prove "$@" ;;
refute) shift; refute "$@" ;;
all)
    for slots in 1 2 3 4; do prove ring.pml -DSLOTS=$slots; done
    for broken in NO_FINAL_CHECK NO_ARM_FENCE NO_PUSH_FENCE; do refute ring.pml -DSLOTS=1 -D$broken; done
    if [ -f "$models/xenbus.pml" ]; then
        prove xenbus.pml
        for broken in NO_CLOSE_ON_VANISH NO_RECONNECT; do refute xenbus.pml -D$broken; done
    fi
    ;;
*) echo "usage: $0 [all | prove|refute <model.pml> [-DNAME=value ...]]" >&2; exit 2 ;;
esac
