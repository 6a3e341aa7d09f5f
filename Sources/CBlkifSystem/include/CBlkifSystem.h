/* The few things the ring needs below Swift: futex sleep/wake for event channels between
 * processes, and a cache prefetch hint. */
#ifndef CBLKIF_SYSTEM_H
#define CBLKIF_SYSTEM_H

#include <stdint.h>

/// Sleeps while *word == expected, at most timeout_ns nanoseconds (< 0: no limit).
/// Returns 0 when woken (or the word had already changed), 1 on timeout, -errno otherwise.
int cfutex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);

/// Wakes up to count waiters on word. Returns the number woken, or -errno.
int cfutex_wake(uint32_t *word, int count);

/// Hints the CPU to start loading the cache line at p for reading (prefetcht0); never faults.
static inline void cblkif_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
