/* The calling convention between ringbench and its C reference (ringref.c), loaded with dlopen.
 *
 * Both sides include this header; it needs no Xen header. Every field is 64 bits wide or a
 * pointer so the layout is the same for any compiler. Bump RINGREF_ABI_VERSION on any change. */
#ifndef RINGREF_ABI_H
#define RINGREF_ABI_H

#include <stdint.h>

#define RINGREF_ABI_VERSION 4

/* Workloads, in the order ringbench lists them. */
enum ringref_workload {
    RINGREF_ONE_SEGMENT = 0,     /* 1 segment per request */
    RINGREF_ELEVEN_SEGMENTS = 1, /* 11 segments, a full header entry */
    RINGREF_SEGMENT_BLOCKS = 2,  /* 64 segments: header + segment blocks in following slots */
    RINGREF_DISCARD = 3,         /* discard of 8 sectors */
    RINGREF_MIXED = 4            /* op i & 1, 1 + i % 11 segments */
};

/* How each side waits for the other. */
enum ringref_mode {
    RINGREF_POLLING = 0, /* spin on the producer indexes, never notify */
    RINGREF_EVENT = 1,   /* notify when the ring says so, sleep on a futex after a final check */
    RINGREF_SERIAL = 2   /* one thread (on producer_cpu) plays both ends in turn: no waiting */
};

/* One run: everything the C side needs, allocated and placed by ringbench. */
struct ringref_config {
    uint64_t version;          /* RINGREF_ABI_VERSION */
    void *ring;                /* page-aligned ring memory, ring_bytes long, zeroed */
    void *events;              /* 8 zeroed bytes: two futex counters (to back, to front) */
    uint64_t ring_bytes;       /* 4096 * pages */
    uint64_t requests;         /* requests to send and answer */
    int64_t producer_cpu;      /* CPU the frontend thread is pinned to, -1: none */
    int64_t consumer_cpu;      /* CPU the backend thread is pinned to, -1: none */
    uint64_t workload;         /* enum ringref_workload */
    uint64_t mode;             /* enum ringref_mode */
    uint64_t push_every;       /* the backend publishes after this many requests; 0: once per batch */
    uint64_t headroom;         /* ring entries the frontend leaves free */
    uint64_t *samples;         /* round-trip latencies in ns, one per sample_every-th request */
    uint64_t sample_capacity;  /* room in samples */
    uint64_t sample_every;     /* power of two */
    char *message;             /* first error, NUL-terminated */
    uint64_t message_capacity; /* room in message */
};

/* What a run measured. */
struct ringref_result {
    uint64_t elapsed_ns;            /* first request written to last response checked */
    uint64_t front_notifications;   /* events the frontend sent */
    uint64_t back_notifications;    /* events the backend sent */
    uint64_t sample_count;          /* latencies written to samples */
    int64_t failed_request;         /* -1, or the request at which a check failed */
    uint64_t entry_size;            /* sizeof one ring entry in the compiled layout */
    uint64_t ring_entries;          /* entries in the ring */
};

/* Runs one measurement; returns 0, or -1 with message and failed_request set. */
typedef int (*ringref_run_fn)(const struct ringref_config *, struct ringref_result *);

#endif
