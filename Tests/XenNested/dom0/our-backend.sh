# Sourced by domu-blk.sh: our backend, `blkif serve --platform xen` (BlkBack on Xen's libraries
# and the real xenstored), for the domU's vbd, made by the same command as a toolstack would.
BLKIF=${BLKIF:-./blkif}

# our_backend_attach DOMID IMAGE: starts serving; returns once the device is served.
# SERVE_OPTIONS: more options for blkif serve, separated by commas (e.g. --data-path=mapping,--no-persistent-grants).
our_backend_attach() {
    serve_log=results/serve-$tag.log
    # Our devices live under backend/blkif/, which dom0's kernel xen-blkback (watching
    # backend/vbd/) leaves alone: both backends stay loaded, as with QEMU's qdisk.
    say "xen-blkback $(grep -q '^xen_blkback ' /proc/modules && echo 'loaded' || echo 'not loaded') beside ours"
    SWIFT_BACKTRACE=${SERVE_BACKTRACE:-} \
        $BLKIF serve --platform xen --frontend-domain "$1" --device 51712 --max-ring-pages "${RING_PAGES:-16}" $(echo "${SERVE_OPTIONS:-}" | tr , ' ') "$2" \
        > "$serve_log" 2>&1 &
    serve_pid=$!
    OUR_BACKEND_PATH=/local/domain/0/backend/blkif/$1/51712
    wait_for 120 sh -c "grep -q '^serving' $serve_log || ! kill -0 $serve_pid"
    grep -q '^serving' "$serve_log" || {
        say "our backend did not start (xenstored: $(pidof xenstored >/dev/null && echo running || echo GONE)):"
        cat "$serve_log"; return 1
    }
    say "$(grep '^serving' "$serve_log")"
}

# our_backend_detach DOMID: the toolstack's detach handshake, then our backend must end by itself.
our_backend_detach() {
    $PROBE detach-vbd "$1" 51712 120 || return 1
    wait_for 60 sh -c "! kill -0 $serve_pid" || { say "our backend still runs after the detach"; kill $serve_pid; return 1; }
    wait $serve_pid; rc=$?
    say "our backend ended (exit $rc): $(grep 'answered' "$serve_log")"
    return $rc
}
