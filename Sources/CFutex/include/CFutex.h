#ifndef CFUTEX_H
#define CFUTEX_H

#include <stdint.h>

/// Sleeps while *word == expected, at most timeout_ns nanoseconds (< 0: no limit).
/// Returns 0 when woken (or the word had already changed), 1 on timeout, -errno otherwise.
int cfutex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);

/// Wakes up to count waiters on word. Returns the number woken, or -errno.
int cfutex_wake(uint32_t *word, int count);

#endif
