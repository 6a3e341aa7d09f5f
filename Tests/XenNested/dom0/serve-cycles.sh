#!/bin/sh
# Both of our ends on Xen's grant tables, event channels and xenstored, started and ended again
# and again: `blkif serve --platform xen` creates a vbd whose frontend is dom0 itself and serves
# it, `blkif attach info --platform xen` (BlkFront in dom0) connects, prints what was negotiated and
# closes,
# and the toolstack's detach handshake ends the backend. Each cycle must connect, close and
# exit 0. A crash prints Swift's backtrace.
# Env: CYCLES (default 12).
set -u
PROBE=${PROBE:-./xen-nested-probe} BLKIF=${BLKIF:-./blkif}
CYCLES=${CYCLES:-12}
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "[serve-cycles $(up)] $*"; }
devid=51776   # xvde
img=/run/serve-cycles.img
rm -f $img; truncate -s 8M $img
trap 'rm -f $img' EXIT
backpath=/local/domain/0/backend/blkif/0/$devid
i=1
while [ $i -le "$CYCLES" ]; do
    log=results/serve-cycle-$i.log
    SWIFT_BACKTRACE=${SERVE_BACKTRACE:-} \
        $BLKIF serve --platform xen --frontend-domain 0 --device $devid $img > $log 2>&1 &
    pid=$!
    n=0
    while [ $n -lt 300 ] && ! grep -q '^serving' $log && kill -0 $pid 2>/dev/null; do sleep 0.2; n=$((n + 1)); done
    grep -q '^serving' $log || { say "cycle $i: our backend did not start:"; cat $log; kill $pid 2>/dev/null; exit 1; }
    $BLKIF attach info --platform xen --device $devid --timeout 60 > results/attach-cycle-$i.log 2>&1 ||
        { say "cycle $i: our frontend did not attach:"; cat results/attach-cycle-$i.log; cat $log; kill $pid; exit 1; }
    state=$(xenstore-read $backpath/state 2>/dev/null)
    $PROBE detach-vbd 0 $devid 60 > /dev/null || { say "cycle $i: the backend did not close on detach"; cat $log; kill $pid; exit 1; }
    n=0
    while [ $n -lt 150 ] && kill -0 $pid 2>/dev/null; do sleep 0.2; n=$((n + 1)); done
    kill -0 $pid 2>/dev/null && { say "cycle $i: our backend still runs after the detach"; kill $pid; exit 1; }
    wait $pid; rc=$?
    [ $rc = 0 ] || { say "cycle $i: our backend exited $rc:"; cat $log; exit 1; }
    say "cycle $i: $(head -n 1 results/attach-cycle-$i.log); backend then at state $state; detached, exit 0"
    i=$((i + 1))
done
say "PASS: $CYCLES starts and detaches"
