// CPU pinning for ringbench's threads.
#define _GNU_SOURCE
#include "thread_support.h"

#include <pthread.h>
#include <sched.h>

int ringbench_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int ringbench_allowed_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int ringbench_current_cpu(void) { return sched_getcpu(); }
