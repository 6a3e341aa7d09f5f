/* The frontend peer's hostile mode (see blkfront_peer.c): malformed requests, an event flood,
 * a request producer far past the ring. */
#define _GNU_SOURCE
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb() __sync_synchronize()
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

#include "blkfront_peer.h"

// MARK: A hostile frontend

static void expect_refusal(const char *what, struct slot *s, int status, void (*spoil)(blkif_request_t *))
{
    blkif_response_t responses[SLOTS];
    blkif_request_t *req = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
    responses[2].id = ~0ull;
    queue_request(2, s);
    if (spoil) spoil(req);
    push();
    collect(1, responses);
    if (responses[2].status != status) FAIL("%s: status %d, expected %d", what, responses[2].status, status);
    printf("refused %s: %d\n", what, status);
}

static void unknown_operation(blkif_request_t *req) { req->operation = 99; }
static void too_many_segments(blkif_request_t *req) { req->nr_segments = 200; }
static void no_segments(blkif_request_t *req) { req->nr_segments = 0; }
static void sector_past_page(blkif_request_t *req) { req->seg[0].last_sect = 9; }
static void first_after_last(blkif_request_t *req) { req->seg[0].first_sect = 6; req->seg[0].last_sect = 2; }
static void ungranted_page(blkif_request_t *req) { req->seg[0].gref = 1000; }
static void reserved_ref(blkif_request_t *req) { req->seg[0].gref = 3; }

void hostile(unsigned flood_ms)
{
    struct slot s = { .operation = BLKIF_OP_READ, .sector = 0, .nsegs = 1, .firsts = { 0 }, .lasts = { 7 } };
    expect_refusal("unknown operation 99", &s, BLKIF_RSP_EOPNOTSUPP, unknown_operation);
    expect_refusal("nr_segments 200", &s, BLKIF_RSP_ERROR, too_many_segments);
    expect_refusal("nr_segments 0", &s, BLKIF_RSP_ERROR, no_segments);
    expect_refusal("last_sect 9", &s, BLKIF_RSP_ERROR, sector_past_page);
    expect_refusal("first_sect 6 > last_sect 2", &s, BLKIF_RSP_ERROR, first_after_last);
    expect_refusal("an ungranted reference", &s, BLKIF_RSP_ERROR, ungranted_page);
    expect_refusal("a reserved reference", &s, BLKIF_RSP_ERROR, reserved_ref);
    struct slot past = { .operation = BLKIF_OP_WRITE, .sector = sectors - 4, .nsegs = 1, .firsts = { 0 }, .lasts = { 7 } };
    expect_refusal("sectors past the end", &past, BLKIF_RSP_ERROR, NULL);
    struct slot empty = { .operation = BLKIF_OP_DISCARD, .sector = 0, .nsegs = 0 };
    expect_refusal("discard of 0 sectors", &empty, BLKIF_RSP_ERROR, NULL);
    struct slot fine = { .operation = BLKIF_OP_READ, .sector = 0, .nsegs = 1, .firsts = { 0 }, .lasts = { 7 } };
    one_request(&fine, BLKIF_RSP_OKAY);
    printf("ok hostile-requests\nflooding\n");
    fflush(stdout);
    unsigned long sent = 0;
    for (long long end = now_ms() + flood_ms; now_ms() < end; sent++) notify();
    printf("flooded %lu\n", sent);
    /* A request producer a whole ring and more ahead of the responses. */
    ring.sring->req_prod = ring.req_prod_pvt + 5 * RING_SIZE(&ring) + 3;
    xen_wmb();
    notify();
    wait_backend_error("closed", "close the device after a hostile req_prod");
}
