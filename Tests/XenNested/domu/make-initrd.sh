#!/bin/bash
# Builds the test domU's initrd: busybox (static, the host's), xen-blkfront.ko of the image's
# kernel, blkcheck (static) and init.   make-initrd.sh <image-rootfs> <output.cpio.gz>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOTFS=$1 OUT=$2
KVER=$(ls "$ROOTFS/lib/modules" | sort -V | tail -1)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/bin" "$D/proc" "$D/sys" "$D/dev"
cp /bin/busybox "$D/bin/busybox"
cp "$HERE/init" "$D/init"
cp "$ROOTFS/lib/modules/$KVER/kernel/drivers/block/xen-blkfront.ko" "$D/"
cc -static -O2 -Wall -o "$D/blkcheck" "$HERE/blkcheck.c" -lpthread
chmod +x "$D/init" "$D/blkcheck"
(cd "$D" && find . | cpio -o -H newc --quiet | gzip -6) > "$OUT"
