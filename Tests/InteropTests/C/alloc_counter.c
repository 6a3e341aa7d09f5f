/*
 * alloc_counter: preloaded (LD_PRELOAD) into a test process, counts every heap allocation and
 * every free and every Swift retain, forwarding to glibc's allocator and the Swift runtime. The test reads the
 * counters through blkif_allocation_count(), blkif_free_count() and blkif_retain_count(),
 * found with dlsym.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static unsigned long allocations, frees, retains;

unsigned long blkif_allocation_count(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }
unsigned long blkif_free_count(void) { return __atomic_load_n(&frees, __ATOMIC_RELAXED); }
unsigned long blkif_retain_count(void) { return __atomic_load_n(&retains, __ATOMIC_RELAXED); }

static void counted(void) { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); }

void *malloc(size_t size) { counted(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { counted(); return __libc_calloc(count, size); }
void free(void *pointer) {
    if (pointer) __atomic_fetch_add(&frees, 1, __ATOMIC_RELAXED);
    __libc_free(pointer);
}

void *realloc(void *pointer, size_t size) {  /* a move: one allocation, and one free if it had a block */
    counted();
    if (pointer) __atomic_fetch_add(&frees, 1, __ATOMIC_RELAXED);
    return __libc_realloc(pointer, size);
}
void *memalign(size_t alignment, size_t size) { counted(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { counted(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    counted();
    *result = __libc_memalign(alignment, size);
    return *result ? 0 : ENOMEM;
}

/* Swift's strong retain: counted, then forwarded to the runtime's. */
void *swift_retain(void *object) {
    static void *(*real)(void *);
    if (!real) real = (void *(*)(void *))dlsym(RTLD_NEXT, "swift_retain");
    __atomic_fetch_add(&retains, 1, __ATOMIC_RELAXED);
    return real(object);
}
