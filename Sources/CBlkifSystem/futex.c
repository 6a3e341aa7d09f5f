// Shared (not process-private) futex calls, so waiter and waker may live in two processes
// mapping the same memory. Swift cannot call the variadic syscall(2) itself.
#define _GNU_SOURCE
#include "CBlkifSystem.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int cfutex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec timeout, *limit = NULL;
    if (timeout_ns >= 0) {
        timeout.tv_sec = timeout_ns / 1000000000;
        timeout.tv_nsec = timeout_ns % 1000000000;
        limit = &timeout;
    }
    if (syscall(SYS_futex, word, FUTEX_WAIT, expected, limit, NULL, 0) == 0) return 0;
    if (errno == EAGAIN || errno == EINTR) return 0;
    if (errno == ETIMEDOUT) return 1;
    return -errno;
}

int cfutex_wake(uint32_t *word, int count) {
    long woken = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
    return woken < 0 ? -errno : (int)woken;
}
