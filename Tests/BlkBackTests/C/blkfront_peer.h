/* What the frontend peer's files share: the connection, the ring and its requests (blkfront_peer.c). */
#ifndef BLKFRONT_PEER_H
#define BLKFRONT_PEER_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xenstore.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#define WAIT_MS 20000
#define DATA_PAGES 160
#define SLOTS 4
#define SEGS_PER_SLOT 40
#define INDIRECT_SEGS 32

#define FAIL(...) do { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); exit(1); } while (0)

extern struct xs_handle *xs;
extern char front[128], back[128];
extern blkif_front_ring_t ring;
extern int ev_in, ev_out;
extern uint64_t sectors;
extern unsigned indirect_max, discard_granularity, discard_alignment;
extern uint32_t data_refs[DATA_PAGES];

/* One request being built: its operation (and an indirect one's inner operation), first sector
 * and segments; a discard's sector count rides in nsegs. */
struct slot {
    uint8_t operation, inner;
    uint64_t sector;
    unsigned nsegs, firsts[SEGS_PER_SLOT], lasts[SEGS_PER_SLOT];
};

uint64_t next_random(void);
unsigned below(unsigned n);
long long now_ms(void);
char *read_node(const char *dir, const char *name);
/* Waits for the backend to write its `error` node and go to Closing or Closed; prints
 * "<verb> <error>". Fails naming `what` it did not do in time. */
void wait_backend_error(const char *verb, const char *what);
unsigned long long read_number(const char *dir, const char *name, unsigned long long fallback);
void notify(void);
void push(void);
void collect(unsigned count, blkif_response_t *responses);
unsigned char *slot_page(unsigned slot, unsigned seg);
void queue_request(unsigned id, struct slot *s);
unsigned slot_sectors(const struct slot *s);
void one_request(struct slot *s, uint8_t expected_status);

void verify(unsigned count);
void durable(uint64_t seed);
void check(uint64_t seed, uint64_t blocks);
void bench(unsigned milliseconds, uint8_t operation);
void hostile(unsigned flood_ms);
#endif
