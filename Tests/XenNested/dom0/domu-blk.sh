#!/bin/sh
# A PV domU whose Linux xen-blkfront gets a disk from a backend in dom0, runs blkcheck on it
# (seeded pattern, random read/write, discard, flush) and is detached cleanly.
#     domu-blk.sh linux     Linux's xen-blkback serves a loop device: the baseline
#     domu-blk.sh ours      our backend (blkif serve --platform xen) serves the image file
# Either way the vbd is made by our device-creation function (xen-nested-probe create-vbd, or
# blkif serve itself) and detached with the toolstack's handshake (detach-vbd).
# Env: SEED (default 1), ORDER (blkfront's max_ring_page_order, default 0), MIB, OPS, THREADS;
# TAG (a suffix for the logs' names) and SERVE_OPTIONS (our-backend.sh).
set -u
PROBE=${PROBE:-./xen-nested-probe}
backend=$1
SEED=${SEED:-1} ORDER=${ORDER:-0} MIB=${MIB:-4} OPS=${OPS:-400} THREADS=${THREADS:-4}
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "[domu-blk $backend $(up)] $*"; }
tag=$backend-order$ORDER${TAG:-}
# the domU's console is kept in dom0's memory while it runs (copied to results/ at the end):
# polling a file on the 9p share while xl appends to it is one suspect of the stalls seen
img=/run/domu-$tag.img console=/run/console-$tag.log
rm -f "$img"; truncate -s $((MIB + 16))M "$img"
domain=blkif-domu

# wait_for SECONDS COMMAND...: polls COMMAND every second; fails after SECONDS (of uptime).
# Says every 30 s that it still waits, so a stall shows in the log.
wait_for() {
    start=$(up | cut -d. -f1); deadline=$((start + $1)); shift; next=$((start + 30))
    while ! "$@" >/dev/null 2>&1; do
        now=$(up | cut -d. -f1)
        [ "$now" -ge "$deadline" ] && return 1
        [ "$now" -ge "$next" ] && { say "still waiting for: $*"; next=$((now + 30)); }
        sleep 1
    done
}
cleanup() {
    xl destroy $domain >/dev/null 2>&1; [ -n "${loop:-}" ] && losetup -d "$loop" 2>/dev/null; rm -f "$img"
    cp "$console" results/ 2>/dev/null
}
trap cleanup EXIT
trap "exit 124" INT TERM

say "xl create (seed $SEED, max_ring_page_order $ORDER)"
xl create -c domu.cfg "extra=\"console=hvc0 panic=-1 loglevel=4 blkcheck.seed=$SEED blkcheck.mib=$MIB blkcheck.ops=$OPS blkcheck.threads=$THREADS blkfront.order=$ORDER\"" \
    > "$console" 2>&1 &
wait_for 300 grep -q DOMU-BOOTED "$console" || { say "the domU did not boot"; cat "$console"; exit 1; }
domid=$(xl domid $domain)
say "domU $domid booted"

case $backend in
    linux)
        # our device-creation function writes both directories, as xl block-attach does; the
        # physical-device node is what xl's block hotplug script would add for blkback
        loop=$(losetup -f --show "$img")
        backpath=$($PROBE create-vbd "$domid" 51712 "$loop" phy "$(cat /sys/block/${loop#/dev/}/dev)") || exit 1 ;;
    ours)
        . ./our-backend.sh
        our_backend_attach "$domid" "$img" || exit 1
        backpath=$OUR_BACKEND_PATH ;;
    *) say "unknown backend $backend"; exit 2 ;;
esac
frontpath=/local/domain/$domid/device/vbd/51712

if wait_for 180 sh -c "[ \"\$(xenstore-read $frontpath/state)\" = 4 ] && [ \"\$(xenstore-read $backpath/state)\" = 4 ]"; then
    say "connected: frontend and backend at state 4"
    { echo "# $tag: backend $backpath"; xenstore-ls -f "$backpath"; echo "# frontend $frontpath"; xenstore-ls -f "$frontpath"; } \
        > results/negotiated-$tag.txt 2>&1
    grep -E '/(ring-ref|ring-page-order|num-ring-pages|max-ring-page-order|feature-[a-z-]*|protocol|event-channel|sectors|sector-size|info|multi-queue[a-z-]*)' \
        results/negotiated-$tag.txt | sed "s/^/[negotiated $tag] /"
else
    say "no connection within 180 s"; xenstore-ls -f "$backpath"; xenstore-ls -f "$frontpath"; cat "$console"; exit 1
fi

wait_for 600 grep -q DOMU-MARKER-WRITTEN "$console" || { say "blkcheck did not finish"; cat "$console"; exit 1; }
grep -E 'BLKCHECK|DOMU-' "$console" | tr -d '\r' | sed "s/^/[domU $tag] /"
grep -q 'DOMU-BLKCHECK-RC=0' "$console" || { say "blkcheck failed in the domU"; exit 1; }

say "detaching"
case $backend in
    linux) $PROBE detach-vbd "$domid" 51712 120 || exit 1 ;;
    ours)  our_backend_detach "$domid" || exit 1 ;;
esac
wait_for 120 grep -q DOMU-DETACHED "$console" || { say "the domU still sees xvda"; cat "$console"; exit 1; }
say "detached cleanly: the domU's xvda is gone; backend dir $(xenstore-exists $backpath && echo still there || echo removed)"
wait_for 30 sh -c "! xl domid $domain" || xl destroy $domain

marker=$(dd if="$img" bs=4096 skip=$((MIB * 256)) count=1 2>/dev/null | head -c 40 | tr -d '\0' | head -n 1)
[ "$marker" = "DOMU-MARKER-$SEED" ] || { say "the image lacks the domU's marker: '$marker'"; exit 1; }
say "the image holds the domU's marker: $marker"
