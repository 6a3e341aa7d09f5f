/* Small helpers ringbench's threads need that Swift cannot spell: CPU pinning (cpu_set_t is a
 * set of macros) and the spin-wait hint. */
#ifndef THREAD_SUPPORT_H
#define THREAD_SUPPORT_H

/* Pins the calling thread to `cpu`; returns 0 or an errno value. */
int ringbench_pin_current_thread(int cpu);

/* CPUs this process may run on, as a count. */
int ringbench_allowed_cpu_count(void);

/* The CPU the calling thread runs on now, or -1. */
int ringbench_current_cpu(void);

/* A spin-wait hint (x86 `pause`), as the C reference uses in its poll loops. */
static inline void ringbench_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
