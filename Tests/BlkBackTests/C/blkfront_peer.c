/*
 * A blkif frontend that is not ours: written in C from Xen's public headers (<xen/io/blkif.h>,
 * <xen/io/ring.h>), compiled with -m64 or -m32 so the ring has that ABI's layout, talking to
 * XenStore through libxenstore (xs_open honours XENSTORED_PATH; the -m32 build has xs_mini.c)
 * and sharing memory through the loopback platform's hand-over (loopback_granter.c).
 *
 *   blkfront_peer MODE PLATFORM-DIR DOMAIN DEVICE SEED COUNT PERSISTENT RING-PAGES
 *
 * MODE verify   COUNT random reads, writes, barriers, flushes, discards and indirect requests of
 *               random sizes at random offsets, checked against a shadow of the disk (which
 *               must start zeroed), then the whole disk read back; prints "ok verify ...".
 * MODE durable  4 KiB writes of a seeded pattern from sector 0 on, a flush after every 8; after
 *               each completed flush prints "durable N" (N blocks acknowledged before it).
 * MODE check    reads COUNT blocks back and compares them with the pattern; "ok check N".
 * MODE bench    4 KiB random reads (benchwrite: writes) at queue depth 32 for COUNT ms, one
 *               data page per request; prints "bench iops=N".
 * MODE hostile  malformed requests (each must be answered with the right status), then an
 *               event flood of COUNT ms with nothing on the ring, then a request producer far
 *               past the ring; prints "closed <error node>" once the backend closes the device.
 * MODE badring  offers a ring whose request producer is already past it; prints
 *               "refused <error node>" once the backend refuses to connect.
 * Every failure prints "FAIL ..." and exits 1; every wait is bounded. This file connects and
 * drives the ring; the modes are in peer_workloads.c and peer_hostile.c.
 */
#define _GNU_SOURCE
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_mb() __sync_synchronize()
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#include "blkfront_peer.h"
#include "loopback_granter.h"

struct xs_handle *xs;
char front[128], back[128];
blkif_front_ring_t ring;
int ev_in, ev_out;
static uint16_t domain;
uint64_t sectors;
unsigned indirect_max, discard_granularity = 512, discard_alignment;
uint32_t data_refs[DATA_PAGES];
static uint32_t indirect_refs[SLOTS];
static unsigned data_first, indirect_first;
static uint64_t rng_state;


uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

unsigned below(unsigned n) { return (unsigned)(next_random() % n); }

long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// MARK: XenStore

char *read_node(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return xs_read(xs, XBT_NULL, path, NULL);
}

unsigned long long read_number(const char *dir, const char *name, unsigned long long fallback)
{
    char *value = read_node(dir, name);
    if (value == NULL) return fallback;
    unsigned long long number = strtoull(value, NULL, 10);
    free(value);
    return number;
}

static void write_node(const char *dir, const char *name, const char *format, ...)
{
    char path[256], value[128];
    va_list args;
    va_start(args, format);
    vsnprintf(value, sizeof(value), format, args);
    va_end(args);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!xs_write(xs, XBT_NULL, path, value, (unsigned)strlen(value))) FAIL("xs_write %s: %s", path, strerror(errno));
}

void wait_backend_error(const char *verb, const char *what)
{
    for (long long deadline = now_ms() + WAIT_MS;;) {
        char *error = read_node(back, "error");
        unsigned state = (unsigned)read_number(back, "state", 0);
        if (error != NULL && (state == XenbusStateClosing || state == XenbusStateClosed)) {
            printf("%s %s\n", verb, error);
            free(error);
            return;
        }
        free(error);
        if (now_ms() > deadline) FAIL("the backend did not %s (state %u)", what, state);
        usleep(10000);
    }
}

static void wait_backend_state(unsigned wanted)
{
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        unsigned state = (unsigned)read_number(back, "state", 0);
        if (state == wanted) return;
        if (now_ms() > deadline) FAIL("backend %s state %u, waited for %u", back, state, wanted);
        usleep(10000);
    }
}

// MARK: Connecting

/* Connects the device; with `spoiled`, offers a ring whose req_prod is past it and returns once
 * the backend has refused it (printing "refused <error node>"). */
static void connect_device(const char *dir, const char *device, unsigned wanted_pages, int persistent, int spoiled)
{
    if (granter_start(dir, domain, 512, 1024) != 0) FAIL("loopback platform in %s: %s", dir, strerror(errno));
    xs = xs_open(0);
    if (xs == NULL) FAIL("xs_open (XENSTORED_PATH=%s): %s", getenv("XENSTORED_PATH"), strerror(errno));
    snprintf(front, sizeof(front), "/local/domain/%u/device/vbd/%s", domain, device);
    char *backend = NULL;
    for (long long deadline = now_ms() + WAIT_MS; (backend = read_node(front, "backend")) == NULL;) {
        if (now_ms() > deadline) FAIL("%s/backend never appeared", front);
        usleep(10000);
    }
    snprintf(back, sizeof(back), "%s", backend);
    free(backend);
    unsigned found = (unsigned)read_number(back, "state", 0);
    if (found == XenbusStateConnected || found == XenbusStateClosing) {
        /* An earlier frontend of this device left it connected: close it first, as a guest does. */
        write_node(front, "state", "%u", XenbusStateClosed);
        wait_backend_state(XenbusStateClosed);
    }
    write_node(front, "state", "%u", XenbusStateInitialising);
    wait_backend_state(XenbusStateInitWait);

    unsigned order = 0, offered = 1u << read_number(back, "max-ring-page-order", 0);
    while ((2u << order) <= wanted_pages && (2u << order) <= offered) order++;
    unsigned pages = 1u << order;
    indirect_max = (unsigned)read_number(back, "feature-max-indirect-segments", 0);
    if (indirect_max > INDIRECT_SEGS) indirect_max = INDIRECT_SEGS;
    discard_granularity = (unsigned)read_number(back, "discard-granularity", 512);
    discard_alignment = (unsigned)read_number(back, "discard-alignment", 0);

    uint32_t ring_refs[16];
    unsigned ring_first;
    if (granter_share(pages, 0, 0, &ring_first, ring_refs) != 0) FAIL("sharing %u ring pages", pages);
    blkif_sring_t *shared = granter_page(ring_first);
    SHARED_RING_INIT(shared);
    FRONT_RING_INIT(&ring, shared, pages * 4096u);
    if (spoiled) shared->req_prod = 5 * RING_SIZE(&ring) + 3;
    uint32_t port;
    if (granter_allocate_port(0, &port, &ev_in, &ev_out) != 0) FAIL("allocating an event channel");
    if (granter_share(DATA_PAGES, 0, 0, &data_first, data_refs) != 0) FAIL("sharing data pages");
    if (granter_share(SLOTS, 0, 0, &indirect_first, indirect_refs) != 0) FAIL("sharing indirect pages");

    if (pages == 1) {
        write_node(front, "ring-ref", "%u", ring_refs[0]);
    } else {
        write_node(front, "ring-page-order", "%u", order);
        for (unsigned i = 0; i < pages; i++) {
            char name[16];
            snprintf(name, sizeof(name), "ring-ref%u", i);
            write_node(front, name, "%u", ring_refs[i]);
        }
    }
    write_node(front, "event-channel", "%u", port);
    write_node(front, "protocol", "%s", sizeof(long) == 8 ? XEN_IO_PROTO_ABI_X86_64 : XEN_IO_PROTO_ABI_X86_32);
    write_node(front, "feature-persistent", "%d", persistent);
    write_node(front, "state", "%u", XenbusStateInitialised);
    if (spoiled) {
        wait_backend_error("refused", "refuse a ring with req_prod past it");
        return;
    }
    wait_backend_state(XenbusStateConnected);
    sectors = read_number(back, "sectors", 0);
    write_node(front, "state", "%u", XenbusStateConnected);
    printf("connected abi=%d pages=%u entries=%u sectors=%" PRIu64 " indirect=%u\n", (int)(8 * sizeof(long)), pages,
           RING_SIZE(&ring), sectors, indirect_max);
    fflush(stdout);
}

void notify(void)
{
    uint64_t one = 1;
    if (write(ev_out, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) FAIL("notify: %s", strerror(errno));
}

void push(void)
{
    int needed;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, needed);
    if (needed) notify();
}

/* Waits for `count` responses; each must carry an id below SLOTS not seen yet. */
void collect(unsigned count, blkif_response_t *responses)
{
    long long deadline = now_ms() + WAIT_MS;
    unsigned got = 0;
    while (got < count) {
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&ring, more);
        if (!more) {
            if (now_ms() > deadline) FAIL("%u of %u responses after %d ms", got, count, WAIT_MS);
            struct pollfd p = { .fd = ev_in, .events = POLLIN };
            if (poll(&p, 1, 100) == 1) {
                uint64_t value;
                if (read(ev_in, &value, sizeof(value)) < 0 && errno != EAGAIN) FAIL("event read: %s", strerror(errno));
            }
            continue;
        }
        while (ring.rsp_cons != ring.sring->rsp_prod) {
            xen_rmb();
            blkif_response_t *rsp = RING_GET_RESPONSE(&ring, ring.rsp_cons);
            ring.rsp_cons++;
            if (rsp->id >= SLOTS || responses[rsp->id].id != ~0ull) FAIL("response id %" PRIu64 " unexpected", (uint64_t)rsp->id);
            responses[rsp->id] = *rsp;
            got++;
        }
    }
}
// MARK: Requests


unsigned char *slot_page(unsigned slot, unsigned seg) { return granter_page(data_first + slot * SEGS_PER_SLOT + seg); }

/* Puts slot `s` on the ring as request `id`. */
void queue_request(unsigned id, struct slot *s)
{
    blkif_request_t *req = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
    ring.req_prod_pvt++;
    if (s->operation == BLKIF_OP_DISCARD) {
        struct blkif_request_discard *d = (void *)req;
        d->operation = BLKIF_OP_DISCARD;
        d->flag = 0;
        d->handle = 0;
        d->id = id;
        d->sector_number = s->sector;
        d->nr_sectors = s->nsegs; /* a discard's sector count rides in nsegs */
        return;
    }
    if (s->operation == BLKIF_OP_INDIRECT) {
        struct blkif_request_indirect *ind = (void *)req;
        struct blkif_request_segment *segs = granter_page(indirect_first + id);
        for (unsigned i = 0; i < s->nsegs; i++)
            segs[i] = (struct blkif_request_segment){ .gref = data_refs[id * SEGS_PER_SLOT + i], .first_sect = (uint8_t)s->firsts[i],
                                                      .last_sect = (uint8_t)s->lasts[i] };
        ind->operation = BLKIF_OP_INDIRECT;
        ind->indirect_op = s->inner;
        ind->nr_segments = (uint16_t)s->nsegs;
        ind->id = id;
        ind->sector_number = s->sector;
        ind->handle = 0;
        ind->indirect_grefs[0] = indirect_refs[id];
        return;
    }
    req->operation = s->operation;
    req->nr_segments = (uint8_t)s->nsegs;
    req->handle = 0;
    req->id = id;
    req->sector_number = s->sector;
    for (unsigned i = 0; i < s->nsegs; i++)
        req->seg[i] = (struct blkif_request_segment){ .gref = data_refs[id * SEGS_PER_SLOT + i], .first_sect = (uint8_t)s->firsts[i],
                                                      .last_sect = (uint8_t)s->lasts[i] };
}

unsigned slot_sectors(const struct slot *s)
{
    unsigned total = 0;
    for (unsigned i = 0; i < s->nsegs; i++) total += s->lasts[i] - s->firsts[i] + 1;
    return total;
}

void one_request(struct slot *s, uint8_t expected_status)
{
    blkif_response_t responses[SLOTS];
    responses[0].id = ~0ull;
    queue_request(0, s);
    push();
    collect(1, responses);
    if (responses[0].status != expected_status) FAIL("op %u at sector %" PRIu64 ": status %d", s->operation, s->sector, responses[0].status);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 9) FAIL("usage: blkfront_peer MODE PLATFORM-DIR DOMAIN DEVICE SEED COUNT PERSISTENT RING-PAGES");
    const char *mode = argv[1];
    domain = (uint16_t)atoi(argv[3]);
    uint64_t seed = strtoull(argv[5], NULL, 10);
    unsigned count = (unsigned)atoi(argv[6]);
    rng_state = seed * 2654435761u + 88172645463325252ull;
    int spoiled = strcmp(mode, "badring") == 0;
    connect_device(argv[2], argv[4], (unsigned)atoi(argv[8]), atoi(argv[7]), spoiled);
    if (spoiled) return 0;
    if (strcmp(mode, "verify") == 0) verify(count);
    else if (strcmp(mode, "durable") == 0) durable(seed);
    else if (strcmp(mode, "check") == 0) check(seed, count);
    else if (strcmp(mode, "hostile") == 0) hostile(count);
    else if (strcmp(mode, "bench") == 0) bench(count, BLKIF_OP_READ);
    else if (strcmp(mode, "benchwrite") == 0) bench(count, BLKIF_OP_WRITE);
    else FAIL("unknown mode %s", mode);
    return 0;
}
