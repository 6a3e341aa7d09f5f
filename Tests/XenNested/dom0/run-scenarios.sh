#!/bin/sh
# Runs in the Xen dom0, from the 9p share (cwd), started by the test bed's init through boot.sh.
# Runs each scenario under its own timeout, keeps its output in results/<name>.log (shown live
# on the console too) and prints one line per scenario:
#     SCENARIO <name> PASS|FAIL|TIMEOUT <seconds> s
# Exits non-zero when any scenario did not pass. The list is scenarios.list when present; a
# name may repeat (a soak), its logs then numbered (results/<name>.2.log, ...).
#
# A scenario that passed still fails when a process crashed while it ran, anywhere in dom0
# (the kernel's fatal-signal lines: "segfault at", "trap", "general protection") or in its
# own output (glibc's "malloc(): ...", "Aborted", a "program error"): corruption shows first
# in processes that are not the one at fault.
up() { cut -d' ' -f1 /proc/uptime; }
SCENARIOS="xenstore grants events serve-cycles dom0-front domu-linux domu-ours domu-ours-order2 domu-ours-mapping"
[ -f scenarios.list ] && SCENARIOS=$(cat scenarios.list)
mkdir -p results
# The binaries run from dom0's memory: executed from the 9p share, their pages are read again
# over 9p, slowly under emulation.
PROBE=/run/xen-nested-probe BLK=/run/xen-nested-blk BLKIF=/run/blkif
cp xen-nested-probe $PROBE; cp xen-nested-blk $BLK; cp blkif $BLKIF; cp swift-backtrace-static /run/
# SWIFT_BACKTRACE for our backend's runs: a crash prints a backtrace, unwound through libc
SERVE_BACKTRACE=enable=yes,interactive=no,unwind=precise,limit=none,swift-backtrace=/run/swift-backtrace-static
export PROBE BLK BLKIF SERVE_BACKTRACE
echo "dom0: $(uname -r), $(xl info | awk '/^xen_version/ { print "Xen " $3 }'), uptime $(up) s"

# scenario NAME: its command and its timeout (seconds).
scenario() {
    case $1 in
        xenstore) echo "300 $PROBE xenstore" ;;
        grants)   echo "300 $PROBE grants" ;;
        events)   echo "300 $PROBE events" ;;
        serve-cycles) echo "600 ./serve-cycles.sh" ;;
        domu-linux) echo "1200 ./domu-blk.sh linux" ;;
        domu-ours)  echo "1200 ./domu-blk.sh ours" ;;
        domu-ours-order2) echo "1200 env ORDER=2 ./domu-blk.sh ours" ;;
        # our backend mapping the domU's pages: with persistent grants, or per request
        domu-ours-mapping) echo "1200 env ORDER=2 TAG=-mapping SERVE_OPTIONS=--data-path=mapping ./domu-blk.sh ours" ;;
        domu-ours-nopersist) echo "1200 env ORDER=2 TAG=-nopersist SERVE_OPTIONS=--data-path=mapping,--no-persistent-grants ./domu-blk.sh ours" ;;
        dom0-front) echo "600 ./dom0-front.sh" ;;
        *)        echo "" ;;
    esac
}

# crashes SINCE LOG SCENARIO: the crash lines dom0's kernel logged after SINCE (lines of dmesg),
# and those in LOG and in the backend logs written since results/.started; but not the crash
# the scenario causes on purpose (grants: a child of the probe writes through a read-only mapping).
crashes() {
    deliberate='^$'; [ "$3" = grants ] && deliberate='xen-nested-prob\['
    dmesg | tail -n +$(($1 + 1)) | grep -E 'segfault at|traps:|general protection|invalid opcode' | grep -vE "$deliberate"
    cat "$2" $(find results -name 'serve-*.log' -newer results/.started) 2>/dev/null | grep -E 'malloc\(\)|corrupted|Aborted|program error|Segmentation fault|Fatal error'
}

failed=0 seen=" "
for name in $SCENARIOS; do
    spec=$(scenario "$name")
    if [ -z "$spec" ]; then echo "SCENARIO $name FAIL 0 s (unknown scenario)"; failed=1; continue; fi
    limit=${spec%% *}; command=${spec#* }
    runs=$(( $(echo "$seen" | tr ' ' '\n' | grep -cx "$name") + 1 )); seen="$seen$name "
    log=$name; [ "$runs" -gt 1 ] && log=$name.$runs
    echo "== scenario $name: $command (timeout $limit s, dom0 uptime $(up) s)"
    t0=$(up) kernel_lines=$(dmesg | wc -l)
    touch results/.started
    # the scenario's status, through a file: the pipe into tee would hide it
    ( timeout -k 5 "$limit" $command; echo $? > results/$log.rc ) 2>&1 | tee results/$log.log
    rc=$(cat results/$log.rc 2>/dev/null || echo 255)
    took=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')
    crashed=$(crashes "$kernel_lines" results/$log.log "$name")
    case $rc in
        0) verdict=PASS ;;
        124|137) verdict=TIMEOUT; failed=1 ;;
        *) verdict=FAIL; failed=1 ;;
    esac
    if [ -n "$crashed" ]; then
        echo "$crashed" | sed "s/^/[crash during $log] /"
        verdict="FAIL"; failed=1; took="$took s (a process crashed:$(echo "$crashed" | head -n 1 | cut -c1-100))"
        echo "SCENARIO $name $verdict $took"
    else
        echo "SCENARIO $name $verdict $took s"
    fi
done
exit $failed
