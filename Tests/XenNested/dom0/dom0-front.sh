#!/bin/sh
# Scenario 2: our frontend (xen-nested-blk attach: BlkFront on Xen's libraries) in dom0, as
# the frontend domain, against dom0's Linux xen-blkback serving a loop device; the vbd is made
# by our device-creation function (frontend and backend both domain 0, as `xl block-attach 0`).
# Env: SEED (default 1), MIB (default 4), OPS (default 400).
set -u
PROBE=${PROBE:-./xen-nested-probe} BLK=${BLK:-./xen-nested-blk}
SEED=${SEED:-1} MIB=${MIB:-4} OPS=${OPS:-400}
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "[dom0-front $(up)] $*"; }
devid=51760   # xvdd: 202 << 8 | 3 << 4
img=/run/dom0-front.img
rm -f $img; truncate -s $((MIB + 16))M $img
loop=$(losetup -f --show $img)
trap 'losetup -d $loop 2>/dev/null; rm -f $img' EXIT
backpath=$($PROBE create-vbd 0 $devid $loop phy "$(cat /sys/block/${loop#/dev/}/dev)") || exit 1
say "vbd $devid created: backend $backpath on $loop"
$BLK attach $devid "$SEED" "$MIB" "$OPS" 120 &
attach_pid=$!
# what the two ends negotiated, once both are Connected
i=0
while [ $i -lt 600 ] && ! { [ "$(xenstore-read $backpath/state 2>/dev/null)" = 4 ] && [ "$(xenstore-read /local/domain/0/device/vbd/$devid/state 2>/dev/null)" = 4 ]; }; do
    kill -0 $attach_pid 2>/dev/null || break; sleep 0.2; i=$((i + 1))
done
{ echo "# dom0-front: backend $backpath"; xenstore-ls -f $backpath; echo "# frontend"; xenstore-ls -f /local/domain/0/device/vbd/$devid; } \
    > results/negotiated-dom0-front.txt 2>&1
grep -E '/(ring-ref[0-9]*|ring-page-order|max-ring-page-order|feature-[a-z-]*|protocol|event-channel|sectors|multi-queue[a-z-]*)' \
    results/negotiated-dom0-front.txt | sed 's/^/[negotiated dom0-front] /'
wait $attach_pid; rc=$?
say "attach exited $rc; backend state $(xenstore-read $backpath/state 2>/dev/null)"
$PROBE detach-vbd 0 $devid 60 || rc=1
exit $rc
