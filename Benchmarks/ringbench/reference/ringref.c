/* The C reference for ringbench: the same workloads as the Swift side, driven by Xen's own
 * ring.h / blkif.h macros, in a producer (frontend) and a consumer (backend) thread.
 *
 * Build (ringbench does this itself when no prebuilt library is found):
 *   cc -O2 -shared -fPIC -I<package>/Sources/CRingBenchSupport/include ringref.c -o ringref-native.so -lpthread
 *   cc -O2 -shared -fPIC -DRINGREF_X86_32 ... -o ringref-x86_32.so -lpthread
 * Entry point: int ringref_run(const struct ringref_config *, struct ringref_result *). */
#define _GNU_SOURCE
#include "ringref_layout.h"
#include "ringref_abi.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
/* The loops' helpers are inlined into each caller, as they were when each had one: the serial
 * mode's second call must not turn them into calls in the timed two-thread loops. */
#define HOT static inline __attribute__((always_inline))
#define STAMP_SLOTS 1024 /* power of two, more than any ring's entries */

/* Shared between the two threads of one run. */
struct run {
    const struct ringref_config *config;
    struct ringref_result *result;
    ringref_sring *sring;
    uint32_t *to_back, *to_front; /* futex counters */
    int ready;                    /* threads at the start line */
    int failed;                   /* a check failed: both stop */
    uint64_t stamps[STAMP_SLOTS]; /* producer's push time of each sampled request in flight */
};

/* ---- workload: identical to ringbench's Workload.swift ---- */

static inline unsigned segments_of(uint64_t workload, uint64_t i) {
    switch (workload) {
    case RINGREF_ONE_SEGMENT: return 1;
    case RINGREF_ELEVEN_SEGMENTS: return 11;
    case RINGREF_SEGMENT_BLOCKS: return 64;
    case RINGREF_DISCARD: return 0;
    default: return 1 + (unsigned)(i % 11);
    }
}

static inline uint8_t operation_of(uint64_t workload, uint64_t i) {
    return workload == RINGREF_DISCARD ? BLKIF_OP_DISCARD : (uint8_t)(i & 1);
}

static inline unsigned entries_for(unsigned segments) {
    if (segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST) return 1;
    return 1 + (segments - BLKIF_MAX_SEGMENTS_PER_REQUEST + RINGREF_SEGMENTS_PER_BLOCK - 1) / RINGREF_SEGMENTS_PER_BLOCK;
}

/* ---- plumbing ---- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int64_t cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void start_line(struct run *run) {
    __atomic_fetch_add(&run->ready, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&run->ready, __ATOMIC_ACQUIRE) < 2) __builtin_ia32_pause();
}

static void fail(struct run *run, uint64_t request, const char *what, uint64_t got, uint64_t want) {
    if (__atomic_exchange_n(&run->failed, 1, __ATOMIC_ACQ_REL)) return;
    run->result->failed_request = (int64_t)request;
    snprintf(run->config->message, run->config->message_capacity,
             "C reference: request %llu: %s is %llu, expected %llu", (unsigned long long)request, what,
             (unsigned long long)got, (unsigned long long)want);
}

static void event_notify(uint32_t *word) {
    __atomic_fetch_add(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sleeps until *word moves past *seen (or 100 ms pass, to re-check for failures). */
static void event_wait(uint32_t *word, uint32_t *seen) {
    uint32_t current = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (current != *seen) { *seen = current; return; }
    struct timespec limit = {0, 100000000};
    syscall(SYS_futex, word, FUTEX_WAIT, current, &limit, NULL, 0);
    *seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

/* ---- frontend ---- */

HOT void write_request(ringref_front_ring *front, RING_IDX at, uint64_t workload, uint64_t i) {
    ringref_request *req = RING_GET_REQUEST(front, at);
    unsigned n = segments_of(workload, i);
    if (workload == RINGREF_DISCARD) {
        ringref_discard *d = (ringref_discard *)req;
        d->operation = BLKIF_OP_DISCARD; d->flag = 0; d->handle = 0;
        d->id = i; d->sector_number = 8 * i; d->nr_sectors = 8;
        return;
    }
    req->operation = operation_of(workload, i); req->nr_segments = (uint8_t)n; req->handle = 0;
    req->id = i; req->sector_number = 8 * i;
    unsigned j = 0;
    for (; j < n && j < BLKIF_MAX_SEGMENTS_PER_REQUEST; j++) {
        req->seg[j].gref = (grant_ref_t)(i + j); req->seg[j].first_sect = 0; req->seg[j].last_sect = 7;
    }
    for (RING_IDX block = at + 1; j < n; block++) {
        struct blkif_request_segment *seg = (struct blkif_request_segment *)RING_GET_REQUEST(front, block);
        for (unsigned k = 0; k < RINGREF_SEGMENTS_PER_BLOCK && j < n; k++, j++) {
            seg[k].gref = (grant_ref_t)(i + j); seg[k].first_sect = 0; seg[k].last_sect = 7;
        }
    }
}

/* Writes as many requests as fit beside `headroom` free entries; returns how many. */
HOT uint64_t fill(ringref_front_ring *front, uint64_t workload, uint64_t sent, uint64_t total, uint64_t headroom) {
    uint64_t first = sent;
    while (sent < total) {
        unsigned entries = entries_for(segments_of(workload, sent));
        if (RING_FREE_REQUESTS(front) < entries + headroom) break;
        write_request(front, front->req_prod_pvt, workload, sent);
        front->req_prod_pvt += entries;
        sent++;
    }
    return sent - first;
}

/* Takes and checks every published response; returns how many, or -1 on a failed check. */
HOT int64_t drain_responses(struct run *run, ringref_front_ring *front, uint64_t answered,
                               uint64_t *stamps, uint64_t *sample_count) {
    const struct ringref_config *c = run->config;
    RING_IDX rp = READ_ONCE(front->sring->rsp_prod);
    xen_rmb();
    RING_IDX rc = front->rsp_cons;
    uint64_t first = answered;
    uint64_t every = c->sample_every - 1;
    while (rc != rp) {
        ringref_response *rsp = RING_GET_RESPONSE(front, rc);
        uint64_t id = rsp->id;
        uint8_t op = rsp->operation;
        int16_t status = rsp->status;
        if (id != answered) { fail(run, answered, "response id", id, answered); return -1; }
        if (op != operation_of(c->workload, id)) { fail(run, id, "response operation", op, operation_of(c->workload, id)); return -1; }
        if (status != BLKIF_RSP_OKAY) { fail(run, id, "response status", (uint64_t)(int64_t)status, 0); return -1; }
        if ((id & every) == 0 && *sample_count < c->sample_capacity)
            c->samples[(*sample_count)++] = now_ns() - stamps[id & (STAMP_SLOTS - 1)];
        rc += entries_for(segments_of(c->workload, id));
        answered++;
    }
    front->rsp_cons = rc;
    return (int64_t)(answered - first);
}

HOT void stamp_batch(const struct ringref_config *c, uint64_t *stamps, uint64_t from, uint64_t to) {
    uint64_t every = c->sample_every, now = now_ns();
    for (uint64_t id = (from + every - 1) & ~(every - 1); id < to; id += every) stamps[id & (STAMP_SLOTS - 1)] = now;
}

static void *producer(void *arg) {
    struct run *run = arg;
    const struct ringref_config *c = run->config;
    uint64_t *stamps = run->stamps;
    ringref_front_ring front;
    FRONT_RING_ATTACH(&front, run->sring, 0, c->ring_bytes);
    uint32_t seen = __atomic_load_n(run->to_front, __ATOMIC_ACQUIRE);
    uint64_t sent = 0, answered = 0, samples = 0, notifications = 0;
    pin(c->producer_cpu);
    start_line(run);
    uint64_t start = now_ns();
    while (answered < c->requests) {
        uint64_t batch = fill(&front, c->workload, sent, c->requests, c->headroom);
        if (batch) {
            int notify;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
            stamp_batch(c, stamps, sent, sent + batch);
            sent += batch;
            if (notify && c->mode == RINGREF_EVENT) { notifications++; event_notify(run->to_back); }
        }
        int64_t taken = drain_responses(run, &front, answered, stamps, &samples);
        if (taken < 0 || __atomic_load_n(&run->failed, __ATOMIC_RELAXED)) break;
        answered += (uint64_t)taken;
        if (batch || taken || answered == c->requests) continue;
        if (c->mode == RINGREF_EVENT) {
            int more;
            RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
            if (!more) event_wait(run->to_front, &seen);
        } else {
            __builtin_ia32_pause();
        }
    }
    run->result->elapsed_ns = now_ns() - start;
    run->result->front_notifications = notifications;
    run->result->sample_count = samples;
    return NULL;
}

/* ---- backend ---- */

/* Private copy of one request: header entry and segment blocks. */
struct request_copy {
    union {
        ringref_request req;
        ringref_discard discard;
        uint8_t bytes[RINGREF_ENTRY_SIZE];
    } entry[1 + (RINGREF_MAX_SEGMENTS - BLKIF_MAX_SEGMENTS_PER_REQUEST + RINGREF_SEGMENTS_PER_BLOCK - 1) / RINGREF_SEGMENTS_PER_BLOCK];
};

static inline const struct blkif_request_segment *segment_at(const struct request_copy *copy, unsigned j) {
    if (j < BLKIF_MAX_SEGMENTS_PER_REQUEST) return &copy->entry[0].req.seg[j];
    unsigned k = j - BLKIF_MAX_SEGMENTS_PER_REQUEST;
    return (const struct blkif_request_segment *)copy->entry[1 + k / RINGREF_SEGMENTS_PER_BLOCK].bytes
        + k % RINGREF_SEGMENTS_PER_BLOCK;
}

/* Validates the copy (as a backend must) and checks it is request `i` of the workload. */
HOT int check_request(struct run *run, const struct request_copy *copy, uint64_t i) {
    uint64_t workload = run->config->workload;
    const ringref_request *req = &copy->entry[0].req;
    uint64_t id = req->id;
    if (id != i) { fail(run, i, "request id", id, i); return -1; }
    if (req->operation != operation_of(workload, i)) { fail(run, i, "request operation", req->operation, operation_of(workload, i)); return -1; }
    if (req->sector_number != 8 * i) { fail(run, i, "sector_number", req->sector_number, 8 * i); return -1; }
    if (req->operation == BLKIF_OP_DISCARD) {
        uint64_t n = copy->entry[0].discard.nr_sectors;
        if (n == 0 || n != 8) { fail(run, i, "nr_sectors", n, 8); return -1; }
        return 0;
    }
    unsigned n = req->nr_segments;
    if (n < 1 || n != segments_of(workload, i)) { fail(run, i, "nr_segments", n, segments_of(workload, i)); return -1; }
    uint64_t sectors = 0;
    for (unsigned j = 0; j < n; j++) {
        const struct blkif_request_segment *seg = segment_at(copy, j);
        if (seg->last_sect >= 8 || seg->first_sect > seg->last_sect) { fail(run, i, "segment sectors", seg->last_sect, 7); return -1; }
        if (seg->gref != (grant_ref_t)(i + j) || seg->first_sect != 0) { fail(run, i, "segment gref", seg->gref, i + j); return -1; }
        sectors += seg->last_sect - seg->first_sect + 1u;
    }
    if (8 * i + sectors < 8 * i) { fail(run, i, "sector range", sectors, 0); return -1; }
    return 0;
}

/* Copies out, checks and answers every published request, or push_every of them; returns how
 * many, or -1. */
HOT int64_t serve_requests(struct run *run, ringref_back_ring *back, uint64_t consumed, struct request_copy *copy) {
    RING_IDX rp = READ_ONCE(back->sring->req_prod);
    xen_rmb();
    if (RING_REQUEST_PROD_OVERFLOW(back, rp)) { fail(run, consumed, "req_prod overflow", rp, back->rsp_prod_pvt); return -1; }
    uint64_t first = consumed;
    uint64_t limit = run->config->push_every ? run->config->push_every : UINT64_MAX;
    while (back->req_cons != rp && consumed - first < limit) {
        RING_IDX rc = back->req_cons;
        RING_COPY_REQUEST(back, rc, &copy->entry[0].req);
        xen_rmb();
        unsigned entries = 1, n = copy->entry[0].req.nr_segments;
        if (copy->entry[0].req.operation <= BLKIF_OP_FLUSH_DISKCACHE && n <= RINGREF_MAX_SEGMENTS) entries = entries_for(n);
        if (rp - rc < entries) { fail(run, consumed, "request past req_prod", entries, rp - rc); return -1; }
        for (unsigned b = 1; b < entries; b++)
            memcpy(copy->entry[b].bytes, (const void *)RING_GET_REQUEST(back, rc + b), RINGREF_ENTRY_SIZE);
        xen_rmb();
        if (check_request(run, copy, consumed) < 0) return -1;
        ringref_response *rsp = RING_GET_RESPONSE(back, back->rsp_prod_pvt);
        rsp->id = copy->entry[0].req.id;
        rsp->operation = copy->entry[0].req.operation;
        rsp->status = BLKIF_RSP_OKAY;
        back->rsp_prod_pvt += entries;
        back->req_cons = rc + entries;
        consumed++;
    }
    return (int64_t)(consumed - first);
}

static void *consumer(void *arg) {
    struct run *run = arg;
    const struct ringref_config *c = run->config;
    struct request_copy copy; /* the consumer's private copy, on its own stack */
    ringref_back_ring back;
    BACK_RING_ATTACH(&back, run->sring, 0, c->ring_bytes);
    uint32_t seen = __atomic_load_n(run->to_back, __ATOMIC_ACQUIRE);
    uint64_t consumed = 0, notifications = 0;
    pin(c->consumer_cpu);
    start_line(run);
    while (consumed < c->requests) {
        int64_t served = serve_requests(run, &back, consumed, &copy);
        if (served < 0 || __atomic_load_n(&run->failed, __ATOMIC_RELAXED)) break;
        consumed += (uint64_t)served;
        if (served) {
            int notify;
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
            if (notify && c->mode == RINGREF_EVENT) { notifications++; event_notify(run->to_front); }
            continue;
        }
        if (c->mode == RINGREF_EVENT) {
            int more;
            RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
            if (!more) event_wait(run->to_back, &seen);
        } else {
            __builtin_ia32_pause();
        }
    }
    run->result->back_notifications = notifications;
    return NULL;
}

/* ---- serial: one thread, both ends in turn ---- */

/* Fills the ring, publishes, serves every request, publishes, takes every response; again until
 * every request is answered. Nothing waits, so the time is the CPU cost of the ring code alone. */
static void serial(struct run *run) {
    const struct ringref_config *c = run->config;
    struct request_copy copy;
    ringref_front_ring front;
    ringref_back_ring back;
    FRONT_RING_ATTACH(&front, run->sring, 0, c->ring_bytes);
    BACK_RING_ATTACH(&back, run->sring, 0, c->ring_bytes);
    uint64_t sent = 0, consumed = 0, answered = 0, samples = 0;
    pin(c->producer_cpu);
    uint64_t start = now_ns();
    while (answered < c->requests) {
        uint64_t batch = fill(&front, c->workload, sent, c->requests, c->headroom);
        int notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
        stamp_batch(c, run->stamps, sent, sent + batch);
        sent += batch;
        int64_t served = serve_requests(run, &back, consumed, &copy);
        if (served < 0) break;
        consumed += (uint64_t)served;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
        (void)notify; /* nobody to wake: the same thread takes the responses next */
        int64_t taken = drain_responses(run, &front, answered, run->stamps, &samples);
        if (taken < 0) break;
        answered += (uint64_t)taken;
    }
    run->result->elapsed_ns = now_ns() - start;
    run->result->sample_count = samples;
}

__attribute__((visibility("default")))
int ringref_run(const struct ringref_config *config, struct ringref_result *result) {
    memset(result, 0, sizeof *result);
    result->failed_request = -1;
    result->entry_size = RINGREF_ENTRY_SIZE;
    if (config->version != RINGREF_ABI_VERSION) {
        snprintf(config->message, config->message_capacity, "C reference built for calling convention %d, caller uses %llu",
                 RINGREF_ABI_VERSION, (unsigned long long)config->version);
        return -1;
    }
    static struct run zero;
    struct run run = zero;
    run.config = config; run.result = result; run.sring = config->ring;
    run.to_back = config->events; run.to_front = (uint32_t *)config->events + 1;
    SHARED_RING_INIT(run.sring);
    ringref_front_ring probe;
    FRONT_RING_INIT(&probe, run.sring, config->ring_bytes);
    result->ring_entries = RING_SIZE(&probe);
    if (config->mode == RINGREF_SERIAL) {
        serial(&run);
        return run.failed ? -1 : 0;
    }
    pthread_t front, back;
    if (pthread_create(&back, NULL, consumer, &run) != 0) return -1;
    if (pthread_create(&front, NULL, producer, &run) != 0) { run.failed = 1; pthread_join(back, NULL); return -1; }
    pthread_join(front, NULL);
    pthread_join(back, NULL);
    return run.failed ? -1 : 0;
}
