# Sourced by domu-blk.sh: our backend (xen-nested-blk serve: BlkBack on Xen's libraries) for
# the domU's vbd, made by our device-creation function.
BLK=${BLK:-./xen-nested-blk}

# our_backend_attach DOMID IMAGE: starts serving; returns once the backend directory exists.
our_backend_attach() {
    serve_log=results/serve-$tag.log
    # dom0's own xen-blkback probes every backend/vbd directory, ours included: two backends
    # would answer one frontend (Linux's blkfront then hit a BUG in talk_to_blkback). Unloaded
    # while ours serves; our_backend_detach loads it again.
    rmmod xen_blkback 2>/dev/null; say "xen-blkback $(grep -q '^xen_blkback ' /proc/modules && echo 'still loaded' || echo unloaded)"
    # xenstored's own trace of every message while our backend starts (results/)
    xenstore-control logfile /run/xenstored-trace-$tag.log >/dev/null 2>&1 && xenstore-control log on >/dev/null 2>&1
    $BLK serve "$1" 51712 "$2" "${RING_PAGES:-16}" 1200 > "$serve_log" 2>&1 &
    serve_pid=$!
    OUR_BACKEND_PATH=/local/domain/0/backend/vbd/$1/51712
    wait_for 120 sh -c "grep -q SERVING $serve_log || ! kill -0 $serve_pid"
    xenstore-control log off >/dev/null 2>&1; cp /run/xenstored-trace-$tag.log results/ 2>/dev/null
    grep -q SERVING "$serve_log" || {
        say "our backend did not start (xenstored: $(pidof xenstored >/dev/null && echo running || echo GONE)):"
        cat "$serve_log"; tail -n 30 /run/xenstored-trace-$tag.log 2>/dev/null; return 1
    }
    say "$(grep SERVING "$serve_log")"
}

# our_backend_detach DOMID: the toolstack's detach handshake, then our backend must end by itself.
our_backend_detach() {
    $PROBE detach-vbd "$1" 51712 120 || return 1
    wait_for 60 sh -c "! kill -0 $serve_pid" || { say "our backend still runs after the detach"; kill $serve_pid; return 1; }
    wait $serve_pid; rc=$?
    say "our backend ended (exit $rc): $(grep SERVED "$serve_log")"
    modprobe xen-blkback
    return $rc
}
