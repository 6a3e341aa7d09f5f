/*
 * ring_peer: the other end of a blkif ring, written only with Xen's own <xen/io/ring.h> macros.
 *
 *   ring_peer front|back SHM PAGES COUNT START poll|event WORDS SEED BATCH
 *
 * Maps SHM (PAGES ring pages, then the event words at byte offset WORDS) and runs COUNT requests
 * of the deterministic workload below as the frontend or the backend. Indexes start at START
 * (near 2^32 to cross the wrap). event: sleeps on shared futexes (word 0 front->back, word 1
 * back->front, word 2 "ring initialised"); poll: spins. SEED != 0 adds random delays.
 * BATCH != 0: lock-step batches that arm the peer's event before publishing (deterministic
 * notification counts). Every field of every request and response is checked; the first
 * mismatch exits 1 with a message. On success prints "notifications N waits W".
 */
#define _GNU_SOURCE
#define __XEN_INTERFACE_VERSION__ 0x00040e00
/* ring.h leaves the barriers to the includer in user space. */
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#define PAGE_BYTES 4096u
#define READY_MAGIC 0x52494e47u
#define WAIT_SECONDS 10
#define RUN_SECONDS 300
#define HEADER_SEGMENTS 11u
typedef struct blkif_request_segment segment_t;
/* The seed's segment block: a ring entry holding only segments (14 on x86_64, 13 on x86_32). */
#define SEGS_PER_BLOCK (sizeof(union blkif_sring_entry) / sizeof(segment_t))
#define MAX_BLOCKS ((255 - HEADER_SEGMENTS + SEGS_PER_BLOCK - 1) / SEGS_PER_BLOCK)
typedef struct { segment_t seg[SEGS_PER_BLOCK]; } segment_block_t;
#define BLOCK_AT(r, idx, k) ((segment_block_t *)RING_GET_REQUEST(r, (idx) + (k)))
#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

/** One end of the ring and its counters. */
struct peer {
    int front, event;
    unsigned batch;
    uint64_t count, notifications, waits, rng;
    RING_IDX start;
    size_t ring_bytes;
    blkif_sring_t *sring;
    uint32_t *to_back, *to_front, *ready, seen;
    blkif_front_ring_t fr;
    blkif_back_ring_t br;
    struct timespec began;
};

/** What request i carries and what its response says. */
struct expected {
    uint8_t op, nseg, flag, indirect_op;
    uint16_t handle, indirect_nseg;
    int16_t status;
    uint64_t id, sector, discard_sectors;
};

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "ring_peer: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(1);
}

#define CHECK(what, i, got, want) do {                                                        \
    uint64_t got_ = (uint64_t)(got), want_ = (uint64_t)(want);                                \
    if (got_ != want_)                                                                        \
        fail("%s %" PRIu64 ": %s is %" PRIu64 ", expected %" PRIu64, what, (uint64_t)(i),     \
             #got, got_, want_);                                                              \
} while (0)

/* The workload: a cycle of read, write, barrier, flush, discard, a multi-entry transfer and an
 * indirect read or write (its response carries the inner operation, as Linux's blkfront checks). */
#define INDIRECT_SEGMENTS 256u
static void expect(uint64_t i, struct expected *e) {
    static const int16_t statuses[3] = { BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP };
    e->id = i * 0x9E3779B97F4A7C15ull;
    e->sector = 8 * i;
    e->handle = (uint16_t)(i * 31);
    e->flag = (uint8_t)(i & 1);
    e->discard_sectors = i + 1;
    e->status = statuses[i % 3];
    e->indirect_op = 0;
    e->indirect_nseg = 0;
    switch (i % 7) {
    case 0: e->op = BLKIF_OP_READ; e->nseg = (uint8_t)(1 + i % 11); break;
    case 1: e->op = BLKIF_OP_WRITE; e->nseg = (uint8_t)(1 + i % 11); break;
    case 2: e->op = BLKIF_OP_WRITE_BARRIER; e->nseg = (uint8_t)(i % 12); break;
    case 3: e->op = BLKIF_OP_FLUSH_DISKCACHE; e->nseg = (uint8_t)(i % 12); break;
    case 4: e->op = BLKIF_OP_DISCARD; e->nseg = 0; break;
    case 5:
        e->op = (i / 7) % 2 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
        e->nseg = (uint8_t)(12 + (i * 7) % 244);
        break;
    default:
        e->op = BLKIF_OP_INDIRECT;
        e->nseg = 0;
        e->indirect_op = (i / 7) % 2 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
        e->indirect_nseg = (uint16_t)(1 + (i * 13) % INDIRECT_SEGMENTS);
    }
}

/* The operation a response must carry: an indirect request's inner one. */
static uint8_t response_op(const struct expected *e) {
    return e->op == BLKIF_OP_INDIRECT ? e->indirect_op : e->op;
}

/* Ring entries a request occupies: its header entry and its segment blocks. */
static unsigned entries_of(uint8_t op, uint8_t nseg) {
    if (op > BLKIF_OP_FLUSH_DISKCACHE || nseg <= HEADER_SEGMENTS) return 1;
    return 1 + (nseg - HEADER_SEGMENTS + SEGS_PER_BLOCK - 1) / SEGS_PER_BLOCK;
}

static segment_t segment_for(uint64_t i, unsigned j) {
    segment_t s = { .gref = (grant_ref_t)(i + j), .first_sect = (uint8_t)(j % 8), .last_sect = 7 };
    return s;
}

static double seconds_since(const struct timespec *then) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - then->tv_sec) + (double)(now.tv_nsec - then->tv_nsec) / 1e9;
}

/* Random delays on both sides shake out lost wakeups (xorshift64, seeded). */
static void maybe_delay(struct peer *p) {
    if (!p->rng) return;
    p->rng ^= p->rng << 13; p->rng ^= p->rng >> 7; p->rng ^= p->rng << 17;
    unsigned roll = (unsigned)(p->rng % 16);
    if (roll == 0) usleep((useconds_t)(p->rng >> 32) % 200);
    else if (roll == 1) sched_yield();
}

static void notify_peer(struct peer *p, uint32_t *word) {
    p->notifications++;
    if (!p->event) return;
    __atomic_fetch_add(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Nothing to do: spin (poll) or sleep until the peer's counter moves (event), both bounded. */
static void idle(struct peer *p, uint32_t *word) {
    if (seconds_since(&p->began) > RUN_SECONDS) fail("no completion within %d s", RUN_SECONDS);
    if (!p->event) { sched_yield(); return; }
    struct timespec asleep;
    clock_gettime(CLOCK_MONOTONIC, &asleep);
    p->waits++;
    for (;;) {
        uint32_t current = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (current != p->seen) { p->seen = current; return; }
        if (seconds_since(&asleep) > WAIT_SECONDS) fail("lost wakeup: no event within %d s", WAIT_SECONDS);
        struct timespec timeout = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
        syscall(SYS_futex, word, FUTEX_WAIT, current, &timeout, NULL, 0);
    }
}

/* MARK: frontend */

static void write_request(struct peer *p, uint64_t i, const struct expected *e) {
    RING_IDX idx = p->fr.req_prod_pvt;
    if (e->op == BLKIF_OP_INDIRECT) {
        blkif_request_indirect_t *d = (blkif_request_indirect_t *)RING_GET_REQUEST(&p->fr, idx);
        memset(d, 0, sizeof *d);
        d->operation = e->op; d->indirect_op = e->indirect_op; d->nr_segments = e->indirect_nseg;
        d->id = e->id; d->sector_number = e->sector; d->handle = e->handle;
        for (unsigned k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++) d->indirect_grefs[k] = (grant_ref_t)(i + 100 + k);
    } else if (e->op == BLKIF_OP_DISCARD) {
        blkif_request_discard_t *d = (blkif_request_discard_t *)RING_GET_REQUEST(&p->fr, idx);
        memset(d, 0, sizeof *d);
        d->operation = e->op; d->flag = e->flag; d->handle = e->handle; d->id = e->id;
        d->sector_number = e->sector; d->nr_sectors = e->discard_sectors;
    } else {
        blkif_request_t *r = RING_GET_REQUEST(&p->fr, idx);
        r->operation = e->op; r->nr_segments = e->nseg; r->handle = e->handle; r->id = e->id;
        r->sector_number = e->sector;
        for (unsigned j = 0; j < e->nseg; j++) {
            if (j < HEADER_SEGMENTS) { r->seg[j] = segment_for(i, j); continue; }
            unsigned k = j - HEADER_SEGMENTS;
            BLOCK_AT(&p->fr, idx, 1 + k / SEGS_PER_BLOCK)->seg[k % SEGS_PER_BLOCK] = segment_for(i, j);
        }
    }
    p->fr.req_prod_pvt = idx + entries_of(e->op, e->nseg);
}

/* Writes up to BATCH requests (lock-step: only when none is outstanding) or as many as fit. */
static unsigned fill(struct peer *p, uint64_t *next, uint64_t done) {
    unsigned made = 0;
    if (p->batch && done != *next) return 0;
    while (*next < p->count && (!p->batch || made < p->batch)) {
        struct expected e;
        expect(*next, &e);
        if (RING_FREE_REQUESTS(&p->fr) < entries_of(e.op, e.nseg)) break;
        write_request(p, *next, &e);
        (*next)++;
        made++;
    }
    return made;
}

static void publish_requests(struct peer *p) {
    int notify;
    if (p->batch) {  /* lock-step: ask for the responses' event before they can exist */
        int pending;
        RING_FINAL_CHECK_FOR_RESPONSES(&p->fr, pending);
        (void)pending;
    }
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&p->fr, notify);
    if (notify) notify_peer(p, p->to_back);
}

static unsigned drain_responses(struct peer *p, uint64_t *done) {
    RING_IDX rp = p->fr.sring->rsp_prod;
    xen_rmb(); /* responses are read after rsp_prod */
    if (RING_RESPONSE_PROD_OVERFLOW(&p->fr, rp)) fail("rsp_prod %u overflows rsp_cons %u", rp, p->fr.rsp_cons);
    unsigned got = 0;
    while (p->fr.rsp_cons != rp) {
        struct expected e;
        blkif_response_t r;
        expect(*done, &e);
        RING_COPY_RESPONSE(&p->fr, p->fr.rsp_cons, &r);
        CHECK("response", *done, r.id, e.id);
        CHECK("response", *done, r.operation, response_op(&e));
        CHECK("response", *done, (uint16_t)r.status, (uint16_t)e.status);
        unsigned n = entries_of(e.op, e.nseg);
        if (rp - p->fr.rsp_cons < n) fail("response %" PRIu64 " spans unpublished entries", *done);
        p->fr.rsp_cons += n;
        (*done)++;
        got++;
    }
    return got;
}

static void run_front(struct peer *p) {
    uint64_t next = 0, done = 0;
    while (done < p->count) {
        compiler_barrier(); /* re-read the shared indexes every round */
        maybe_delay(p);
        unsigned made = fill(p, &next, done);
        if (made) publish_requests(p);
        unsigned got = drain_responses(p, &done);
        if (made || got) continue;
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&p->fr, more);
        if (!more) idle(p, p->to_front);
    }
}

/* MARK: backend */

static void check_request(uint64_t i, const blkif_request_t *r, const segment_block_t *blocks) {
    struct expected e;
    expect(i, &e);
    CHECK("request", i, r->operation, e.op);
    if (e.op == BLKIF_OP_INDIRECT) {
        blkif_request_indirect_t d;
        memcpy(&d, r, sizeof d);
        CHECK("request", i, d.indirect_op, e.indirect_op);
        CHECK("request", i, d.nr_segments, e.indirect_nseg);
        CHECK("request", i, d.handle, e.handle);
        CHECK("request", i, d.id, e.id);
        CHECK("request", i, d.sector_number, e.sector);
        for (unsigned k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
            CHECK("request", i, d.indirect_grefs[k], (grant_ref_t)(i + 100 + k));
        return;
    }
    if (e.op == BLKIF_OP_DISCARD) {
        blkif_request_discard_t d;
        memcpy(&d, r, sizeof d);
        CHECK("request", i, d.flag, e.flag);
        CHECK("request", i, d.handle, e.handle);
        CHECK("request", i, d.id, e.id);
        CHECK("request", i, d.sector_number, e.sector);
        CHECK("request", i, d.nr_sectors, e.discard_sectors);
        return;
    }
    CHECK("request", i, r->nr_segments, e.nseg);
    CHECK("request", i, r->handle, e.handle);
    CHECK("request", i, r->id, e.id);
    CHECK("request", i, r->sector_number, e.sector);
    for (unsigned j = 0; j < e.nseg; j++) {
        unsigned k = j - HEADER_SEGMENTS;
        const segment_t *s = j < HEADER_SEGMENTS ? &r->seg[j] : &blocks[k / SEGS_PER_BLOCK].seg[k % SEGS_PER_BLOCK];
        segment_t want = segment_for(i, j);
        CHECK("request", i, s->gref, want.gref);
        CHECK("request", i, s->first_sect, want.first_sect);
        CHECK("request", i, s->last_sect, want.last_sect);
    }
}

static void respond(struct peer *p, const blkif_request_t *req, uint64_t i, unsigned entries) {
    struct expected e;
    expect(i, &e);
    blkif_response_t *rsp = RING_GET_RESPONSE(&p->br, p->br.rsp_prod_pvt);
    memset(rsp, 0, sizeof *rsp);
    rsp->id = req->id;
    /* As Linux's blkback: an indirect request is answered with the operation it carried. */
    rsp->operation = req->operation == BLKIF_OP_INDIRECT ? ((const blkif_request_indirect_t *)req)->indirect_op : req->operation;
    rsp->status = e.status;
    p->br.rsp_prod_pvt += entries;
}

static unsigned serve_requests(struct peer *p, uint64_t *answered) {
    RING_IDX rc = p->br.req_cons, rp = p->br.sring->req_prod;
    xen_rmb(); /* requests are read after req_prod */
    if (RING_REQUEST_PROD_OVERFLOW(&p->br, rp)) fail("req_prod %u overflows rsp_prod_pvt %u", rp, p->br.rsp_prod_pvt);
    unsigned got = 0;
    while (rc != rp && !RING_REQUEST_CONS_OVERFLOW(&p->br, rc)) {
        blkif_request_t req;
        segment_block_t blocks[MAX_BLOCKS];
        RING_COPY_REQUEST(&p->br, rc, &req);
        unsigned n = entries_of(req.operation, req.nr_segments);
        if (rp - rc < n) fail("request %" PRIu64 " spans %u entries, %u published", *answered, n, rp - rc);
        for (unsigned k = 1; k < n; k++) memcpy(&blocks[k - 1], BLOCK_AT(&p->br, rc, k), sizeof blocks[0]);
        check_request(*answered, &req, blocks);
        rc += n;
        p->br.req_cons = rc;
        respond(p, &req, *answered, n);
        (*answered)++;
        got++;
    }
    return got;
}

static void publish_responses(struct peer *p) {
    int notify;
    if (p->batch) {  /* lock-step: ask for the next batch's event before it can be sent */
        int pending;
        RING_FINAL_CHECK_FOR_REQUESTS(&p->br, pending);
        (void)pending;
    }
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&p->br, notify);
    if (notify) notify_peer(p, p->to_front);
}

static void run_back(struct peer *p) {
    uint64_t answered = 0;
    while (answered < p->count) {
        compiler_barrier(); /* re-read the shared indexes every round */
        maybe_delay(p);
        if (serve_requests(p, &answered)) { publish_responses(p); continue; }
        int more;
        RING_FINAL_CHECK_FOR_REQUESTS(&p->br, more);
        if (!more) idle(p, p->to_back);
    }
}

/* MARK: set-up */

static void attach(struct peer *p) {
    if (p->front) {  /* only the frontend initialises: SHARED_RING_INIT, then the start index */
        SHARED_RING_INIT(p->sring);
        p->sring->req_prod = p->sring->rsp_prod = p->start;
        p->sring->req_event = p->sring->rsp_event = p->start + 1;
        FRONT_RING_ATTACH(&p->fr, p->sring, p->start, p->ring_bytes);
        __atomic_store_n(p->ready, READY_MAGIC, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(p->ready, __ATOMIC_ACQUIRE) != READY_MAGIC) {
        if (seconds_since(&p->began) > WAIT_SECONDS) fail("the frontend never initialised the ring");
        usleep(100);
    }
    RING_IDX requests = p->sring->req_prod, responses = p->sring->rsp_prod;
    BACK_RING_ATTACH(&p->br, p->sring, responses, p->ring_bytes);
    if (RING_REQUEST_PROD_OVERFLOW(&p->br, requests)) fail("inconsistent indexes %u, %u", requests, responses);
}

int main(int argc, char **argv) {
    if (argc != 10) fail("usage: front|back SHM PAGES COUNT START poll|event WORDS SEED BATCH");
    struct peer p = { .front = !strcmp(argv[1], "front"), .event = !strcmp(argv[6], "event") };
    unsigned pages = (unsigned)strtoul(argv[3], NULL, 0);
    size_t words = strtoull(argv[7], NULL, 0);
    p.count = strtoull(argv[4], NULL, 0);
    p.start = (RING_IDX)strtoul(argv[5], NULL, 0);
    p.rng = strtoull(argv[8], NULL, 0);
    p.batch = (unsigned)strtoul(argv[9], NULL, 0);
    p.ring_bytes = (size_t)pages * PAGE_BYTES;
    clock_gettime(CLOCK_MONOTONIC, &p.began);
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) fail("cannot open %s", argv[2]);
    uint8_t *base = mmap(NULL, words + PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) fail("cannot map %s", argv[2]);
    p.sring = (blkif_sring_t *)base;
    p.to_back = (uint32_t *)(base + words);
    p.to_front = p.to_back + 1;
    p.ready = p.to_back + 2;
    p.seen = __atomic_load_n(p.front ? p.to_front : p.to_back, __ATOMIC_ACQUIRE);
    attach(&p);
    if (p.front) run_front(&p); else run_back(&p);
    printf("notifications %" PRIu64 " waits %" PRIu64 "\n", p.notifications, p.waits);
    return 0;
}
