/* The few things the ring needs below Swift: futex sleep/wake for event channels between
 * processes, a cache prefetch hint, and a compiler barrier. */
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

/// A compiler-only barrier: the compiler may move no memory access across it and must assume
/// any memory changed, so a value copied out of shared memory is never re-loaded from there
/// instead of from the copy. It emits no instruction on any processor (an acquire fence would
/// emit one on ARM, `dmb ishld`, and the copy needs none: it is private memory, and its reads
/// of the shared slots are already ordered after the acquire load of the producer index).
static inline void cblkif_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

#endif
