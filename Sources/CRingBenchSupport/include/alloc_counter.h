/* Counts every heap allocation of the process: malloc and its siblings are replaced by wrappers
 * that bump one counter and call glibc's own implementation (__libc_malloc...). */
#ifndef ALLOC_COUNTER_H
#define ALLOC_COUNTER_H

#include <stdint.h>

/* Allocations (malloc, calloc, realloc, memalign family) since the process started. */
uint64_t alloc_counter_total(void);

/* Makes one real heap allocation through malloc and frees it: a self-test of the counter. */
void alloc_counter_probe(void);

#endif
