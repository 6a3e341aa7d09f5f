/* The frontend peer's workloads (see blkfront_peer.c): verify, durable, check and bench. */
#define _GNU_SOURCE
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb() __sync_synchronize()
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "blkfront_peer.h"
#include "loopback_granter.h"

/* Random segments for up to `room` sectors (at least one segment of one sector). */
static void random_segments(struct slot *s, unsigned max_segs, unsigned room)
{
    s->nsegs = 1 + below(max_segs);
    unsigned total = 0;
    for (unsigned i = 0; i < s->nsegs; i++) {
        unsigned first = below(2) ? 0 : below(8), last = below(3) ? 7 : first + below(8 - first);
        if (total + (last - first + 1) > room) { s->nsegs = i ? i : 1; if (!i) { s->firsts[0] = 0; s->lasts[0] = 0; } break; }
        s->firsts[i] = first;
        s->lasts[i] = last;
        total += last - first + 1;
    }
}

/* Copies between the shadow and the slot's pages, segment by segment (to_pages: fill for a write). */
static int walk(struct slot *s, unsigned slot, unsigned char *shadow, int mode)
{
    uint64_t offset = s->sector * 512;
    for (unsigned i = 0; i < s->nsegs; i++) {
        unsigned char *page = slot_page(slot, i) + s->firsts[i] * 512;
        size_t length = (size_t)(s->lasts[i] - s->firsts[i] + 1) * 512;
        if (mode == 0) memcpy(shadow + offset, page, length);              /* a write completed */
        else if (mode == 1 && memcmp(shadow + offset, page, length) != 0) return (int)i; /* a read's check */
        offset += length;
    }
    return -1;
}

static void fill_random(unsigned slot, unsigned nsegs)
{
    for (unsigned i = 0; i < nsegs; i++) {
        uint64_t *words = (uint64_t *)slot_page(slot, i);
        for (unsigned w = 0; w < 512; w++) words[w] = next_random();
    }
}
void verify(unsigned count)
{
    unsigned char *shadow = calloc(sectors, 512);
    unsigned issued = 0, bytes = 0, kinds[8] = { 0 };
    blkif_response_t responses[SLOTS];
    while (issued < count) {
        unsigned batch = 1 + below(SLOTS);
        struct slot slots[SLOTS];
        uint64_t region = sectors / batch;
        for (unsigned id = 0; id < batch; id++) {
            struct slot *s = &slots[id];
            unsigned pick = below(100), room = (unsigned)(region < 4096 ? region : 4096);
            s->operation = pick < 40 ? BLKIF_OP_WRITE : pick < 75 ? BLKIF_OP_READ : pick < 80 ? BLKIF_OP_WRITE_BARRIER
                         : pick < 85 ? BLKIF_OP_FLUSH_DISKCACHE : pick < 90 ? BLKIF_OP_DISCARD : BLKIF_OP_INDIRECT;
            if (s->operation == BLKIF_OP_INDIRECT && indirect_max == 0) s->operation = BLKIF_OP_READ;
            if (s->operation == BLKIF_OP_FLUSH_DISKCACHE) { s->nsegs = 0; s->sector = 0; }
            else if (s->operation == BLKIF_OP_DISCARD) { s->nsegs = 1 + below(room / 2); s->sector = id * region + below((unsigned)(region - s->nsegs)); }
            else {
                s->inner = below(2) ? BLKIF_OP_WRITE : BLKIF_OP_READ;
                random_segments(s, s->operation == BLKIF_OP_INDIRECT ? indirect_max : BLKIF_MAX_SEGMENTS_PER_REQUEST, room);
                s->sector = id * region + below((unsigned)(region - slot_sectors(s) + 1));
                if (s->operation != BLKIF_OP_READ && !(s->operation == BLKIF_OP_INDIRECT && s->inner == BLKIF_OP_READ)) fill_random(id, s->nsegs);
                else memset(slot_page(id, 0), 0xEE, 4096);
                bytes += slot_sectors(s) * 512;
            }
            kinds[s->operation]++;
            responses[id].id = ~0ull;
            queue_request(id, s);
        }
        push();
        collect(batch, responses);
        for (unsigned id = 0; id < batch; id++) {
            struct slot *s = &slots[id];
            uint8_t echoed = s->operation == BLKIF_OP_INDIRECT ? s->inner : s->operation;
            if (responses[id].status != BLKIF_RSP_OKAY || responses[id].operation != echoed)
                FAIL("request %u (op %u, sector %" PRIu64 ", %u segs): status %d operation %u", id, s->operation, s->sector, s->nsegs,
                     responses[id].status, responses[id].operation);
            bool reads = s->operation == BLKIF_OP_READ || (s->operation == BLKIF_OP_INDIRECT && s->inner == BLKIF_OP_READ);
            if (s->operation == BLKIF_OP_DISCARD) {
                uint64_t start = s->sector * 512, end = start + (uint64_t)s->nsegs * 512, g = discard_granularity, a = discard_alignment;
                uint64_t first = start < a ? a : (start - a + g - 1) / g * g + a, last = end < a ? a : (end - a) / g * g + a;
                if (first < last) memset(shadow + first, 0, last - first);
            } else if (s->operation == BLKIF_OP_FLUSH_DISKCACHE) {
            } else if (reads) {
                int bad = walk(s, id, shadow, 1);
                if (bad >= 0) FAIL("read %u (sector %" PRIu64 ") segment %d differs from what was written", id, s->sector, bad);
            } else {
                walk(s, id, shadow, 0);
            }
        }
        issued += batch;
    }
    /* The whole disk, read back 11 pages at a time. */
    for (uint64_t sector = 0; sector < sectors;) {
        struct slot s = { .operation = BLKIF_OP_READ, .sector = sector, .nsegs = 0 };
        while (s.nsegs < BLKIF_MAX_SEGMENTS_PER_REQUEST && sector < sectors) {
            s.firsts[s.nsegs] = 0;
            s.lasts[s.nsegs] = sectors - sector >= 8 ? 7 : (unsigned)(sectors - sector - 1);
            sector += s.lasts[s.nsegs] + 1;
            s.nsegs++;
        }
        responses[0].id = ~0ull;
        queue_request(0, &s);
        push();
        collect(1, responses);
        if (responses[0].status != BLKIF_RSP_OKAY) FAIL("final read at sector %" PRIu64 ": status %d", s.sector, responses[0].status);
        int bad = walk(&s, 0, shadow, 1);
        if (bad >= 0) FAIL("final read at sector %" PRIu64 " segment %d differs", s.sector, bad);
    }
    printf("ok verify requests=%u bytes=%u reads=%u writes=%u barriers=%u flushes=%u discards=%u indirect=%u\n", issued, bytes,
           kinds[BLKIF_OP_READ], kinds[BLKIF_OP_WRITE], kinds[BLKIF_OP_WRITE_BARRIER], kinds[BLKIF_OP_FLUSH_DISKCACHE],
           kinds[BLKIF_OP_DISCARD], kinds[BLKIF_OP_INDIRECT]);
    free(shadow);
}
// MARK: Durability

static void pattern(unsigned slot, uint64_t seed, uint64_t block)
{
    uint64_t *words = (uint64_t *)slot_page(slot, 0);
    for (unsigned w = 0; w < 512; w++) words[w] = (seed * 0x9E3779B97F4A7C15ull) ^ (block << 20) ^ w;
}

void durable(uint64_t seed)
{
    blkif_response_t responses[SLOTS];
    for (uint64_t block = 0; (block + 8) * 8 <= sectors;) {
        for (unsigned id = 0; id < SLOTS; id++) {  /* 8 writes, 4 at a time */
            pattern(id, seed, block + id);
            struct slot s = { .operation = BLKIF_OP_WRITE, .sector = (block + id) * 8, .nsegs = 1, .firsts = { 0 }, .lasts = { 7 } };
            responses[id].id = ~0ull;
            queue_request(id, &s);
        }
        push();
        collect(SLOTS, responses);
        for (unsigned id = 0; id < SLOTS; id++) if (responses[id].status != BLKIF_RSP_OKAY) FAIL("write of block %" PRIu64, block + id);
        block += SLOTS;
        if (block % 8 == 0) {
            struct slot flush = { .operation = BLKIF_OP_FLUSH_DISKCACHE };
            one_request(&flush, BLKIF_RSP_OKAY);
            printf("durable %" PRIu64 "\n", block);
            fflush(stdout);
        }
    }
    printf("done\n");
}

void check(uint64_t seed, uint64_t blocks)
{
    for (uint64_t block = 0; block < blocks; block++) {
        struct slot s = { .operation = BLKIF_OP_READ, .sector = block * 8, .nsegs = 1, .firsts = { 0 }, .lasts = { 7 } };
        memset(slot_page(1, 0), 0, 4096);
        one_request(&s, BLKIF_RSP_OKAY);
        pattern(1, seed, block);  /* the expected block, in slot 1's page ... */
        if (memcmp(slot_page(0, 0), slot_page(1, 0), 4096) != 0) FAIL("block %" PRIu64 " of %" PRIu64 " lost", block, blocks);
    }
    printf("ok check %" PRIu64 "\n", blocks);
}
// MARK: A benchmark

void bench(unsigned milliseconds, uint8_t operation)
{
    unsigned depth = RING_SIZE(&ring) < 32 ? RING_SIZE(&ring) : 32, blocks = (unsigned)(sectors / 8);
    unsigned long done = 0;
    for (unsigned id = 0; id < depth; id++) {
        blkif_request_t *req = RING_GET_REQUEST(&ring, ring.req_prod_pvt++);
        *req = (blkif_request_t){ .operation = operation, .nr_segments = 1, .id = id, .sector_number = (uint64_t)below(blocks) * 8 };
        req->seg[0] = (struct blkif_request_segment){ .gref = data_refs[id], .first_sect = 0, .last_sect = 7 };
    }
    push();
    long long start = now_ms(), end = start + milliseconds, deadline = start + milliseconds + WAIT_MS;
    while (now_ms() < end) {
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&ring, more);
        if (!more) {
            if (now_ms() > deadline) FAIL("no response for %d ms", WAIT_MS);
            struct pollfd p = { .fd = ev_in, .events = POLLIN };
            if (poll(&p, 1, 100) == 1) {
                uint64_t value;
                if (read(ev_in, &value, sizeof(value)) < 0 && errno != EAGAIN) FAIL("event read: %s", strerror(errno));
            }
            continue;
        }
        RING_IDX produced = ring.sring->rsp_prod;
        xen_rmb();
        while (ring.rsp_cons != produced) {
            blkif_response_t *rsp = RING_GET_RESPONSE(&ring, ring.rsp_cons++);
            if (rsp->status != BLKIF_RSP_OKAY || rsp->id >= depth) FAIL("bench response id %" PRIu64 " status %d", (uint64_t)rsp->id, rsp->status);
            unsigned id = (unsigned)rsp->id;
            blkif_request_t *req = RING_GET_REQUEST(&ring, ring.req_prod_pvt++);
            *req = (blkif_request_t){ .operation = operation, .nr_segments = 1, .id = id, .sector_number = (uint64_t)below(blocks) * 8 };
            req->seg[0] = (struct blkif_request_segment){ .gref = data_refs[id], .first_sect = 0, .last_sect = 7 };
            done++;
        }
        push();
    }
    printf("bench iops=%.0f\n", done * 1000.0 / (double)(now_ms() - start));
}
