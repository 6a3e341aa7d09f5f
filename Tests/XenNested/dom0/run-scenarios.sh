#!/bin/sh
# Runs in the Xen dom0, from the 9p share (cwd), started by the test bed's init through boot.sh.
# Runs each scenario under its own timeout, keeps its output in results/<name>.log (shown live
# on the console too) and prints one line per scenario:
#     SCENARIO <name> PASS|FAIL|TIMEOUT <seconds> s
# Exits non-zero when any scenario did not pass. The list is scenarios.list when present.
up() { cut -d' ' -f1 /proc/uptime; }
SCENARIOS="xenstore grants events serve-cycles dom0-front domu-linux domu-ours domu-ours-order2 domu-ours-nopersist"
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
        domu-ours-nopersist) echo "1200 env ORDER=2 TAG=-nopersist SERVE_OPTIONS=--no-persistent-grants ./domu-blk.sh ours" ;;
        dom0-front) echo "600 ./dom0-front.sh" ;;
        *)        echo "" ;;
    esac
}

failed=0
for name in $SCENARIOS; do
    spec=$(scenario "$name")
    if [ -z "$spec" ]; then echo "SCENARIO $name FAIL 0 s (unknown scenario)"; failed=1; continue; fi
    limit=${spec%% *}; command=${spec#* }
    echo "== scenario $name: $command (timeout $limit s, dom0 uptime $(up) s)"
    t0=$(up)
    # the scenario's status, through a file: the pipe into tee would hide it
    ( timeout -k 5 "$limit" $command; echo $? > results/$name.rc ) 2>&1 | tee results/$name.log
    rc=$(cat results/$name.rc 2>/dev/null || echo 255)
    took=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) verdict=PASS ;;
        124|137) verdict=TIMEOUT; failed=1 ;;
        *) verdict=FAIL; failed=1 ;;
    esac
    echo "SCENARIO $name $verdict $took s"
done
exit $failed
