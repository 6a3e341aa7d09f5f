// Replaces the glibc allocator entry points with counting wrappers (glibc documents replacing
// malloc this way). The executable defines the symbols, so every shared library, the Swift
// runtime included, resolves to them.
#define _GNU_SOURCE
#include "alloc_counter.h"

#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;

uint64_t alloc_counter_total(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOC_COUNTER_UNDER_SANITIZER 1
#endif
#endif

#ifdef ALLOC_COUNTER_UNDER_SANITIZER
/* The address and thread sanitizers own the allocator: wrapping it here would hand glibc's blocks to code
 * that frees through the sanitizer. Under it nothing is counted (the total stays 0); the
 * allocation checks run in the ordinary builds. */
void alloc_counter_probe(void) {}
#else
static inline void count(void) { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); }

void *malloc(size_t size) { count(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { count(); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

void alloc_counter_probe(void) {
    void *volatile p = malloc(24);
    free(p);
}
#endif
