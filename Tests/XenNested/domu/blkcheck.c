/*
 * blkcheck: the guest's workload on a Xen virtual disk (run in the test domU by its init).
 *
 *   blkcheck <device> <seed> <pattern-MiB> <random-ops> <threads>
 *
 * 1. Writes a seeded pattern over the first <pattern-MiB> MiB with O_DIRECT, flushes (fsync:
 *    a cache flush or FUA if the backend offers one), reads it back and compares byte for byte.
 * 2. <random-ops> random 4 KiB reads and writes (half each) from <threads> threads, each thread
 *    on its own blocks; every block read is checked against what was last written to it.
 * 3. Discards the last MiB of the pattern when the disk offers discard, and flushes.
 * Prints "BLKCHECK <phase> ..." lines with throughput and IOPS, then "BLKCHECK PASS" or
 * "BLKCHECK FAIL <why>" (with the seed), and exits 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
#define CHUNK (64u * 1024u)

static uint64_t seed;
static int fd;
static uint64_t blocks;          /* blocks in the pattern region */
static uint32_t *generation;     /* per block: 0 = the pattern, n = the n-th random write */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x) {   /* splitmix64's finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The content of `block` after `gen` random writes: 512 words derived from seed, block, gen. */
static void content(uint8_t *out, uint64_t block, uint32_t gen) {
    uint64_t *words = (uint64_t *)out;
    for (unsigned i = 0; i < BLOCK / 8; i++) words[i] = mix(seed ^ mix(block * 8191 + gen) ^ i);
}

static int fail(const char *why, uint64_t block) {
    printf("BLKCHECK FAIL %s (block %llu, seed %llu)\n", why, (unsigned long long)block, (unsigned long long)seed);
    fflush(stdout);
    return 1;
}

static int sequential(void) {
    uint8_t *buf = aligned_alloc(BLOCK, CHUNK);
    uint8_t *want = aligned_alloc(BLOCK, BLOCK);
    const unsigned per = CHUNK / BLOCK;
    double t0 = now();
    for (uint64_t b = 0; b < blocks; b += per) {
        for (unsigned i = 0; i < per; i++) content(buf + i * BLOCK, b + i, 0);
        if (pwrite(fd, buf, CHUNK, b * BLOCK) != CHUNK) return fail("sequential write", b);
    }
    if (fsync(fd) != 0) return fail("flush after the pattern", 0);
    double t1 = now();
    for (uint64_t b = 0; b < blocks; b += per) {
        if (pread(fd, buf, CHUNK, b * BLOCK) != CHUNK) return fail("sequential read", b);
        for (unsigned i = 0; i < per; i++) {
            content(want, b + i, 0);
            if (memcmp(buf + i * BLOCK, want, BLOCK) != 0) return fail("pattern differs on read-back", b + i);
        }
    }
    double t2 = now(), mib = blocks * BLOCK / 1048576.0;
    printf("BLKCHECK sequential %.0f MiB: write+flush %.1f MiB/s, read %.1f MiB/s, verified\n",
           mib, mib / (t1 - t0), mib / (t2 - t1));
    free(buf); free(want);
    return 0;
}

struct worker { unsigned index, threads; uint64_t ops; int failed; };

static void *random_io(void *arg) {
    struct worker *w = arg;
    uint8_t *buf = aligned_alloc(BLOCK, BLOCK), *want = aligned_alloc(BLOCK, BLOCK);
    uint64_t state = mix(seed + w->index + 1), mine = blocks / w->threads;
    for (uint64_t n = 0; n < w->ops; n++) {
        state = mix(state);
        uint64_t block = (state % mine) * w->threads + w->index;   /* this thread's blocks only */
        if (state & (1ull << 63)) {
            content(buf, block, generation[block] + 1);
            if (pwrite(fd, buf, BLOCK, block * BLOCK) != BLOCK) { w->failed = fail("random write", block); break; }
            generation[block]++;
        } else {
            if (pread(fd, buf, BLOCK, block * BLOCK) != BLOCK) { w->failed = fail("random read", block); break; }
            content(want, block, generation[block]);
            if (memcmp(buf, want, BLOCK) != 0) { w->failed = fail("random read differs", block); break; }
        }
    }
    free(buf); free(want);
    return NULL;
}

static int randomly(uint64_t ops, unsigned threads) {
    pthread_t ids[64];
    struct worker workers[64];
    double t0 = now();
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (struct worker){ i, threads, ops / threads, 0 };
        pthread_create(&ids[i], NULL, random_io, &workers[i]);
    }
    int failed = 0;
    for (unsigned i = 0; i < threads; i++) { pthread_join(ids[i], NULL); failed |= workers[i].failed; }
    double t1 = now();
    if (failed) return 1;
    printf("BLKCHECK random 4k 50%% writes, %u thread(s): %llu ops in %.2f s = %.0f IOPS, verified\n",
           threads, (unsigned long long)(ops / threads * threads), t1 - t0, (ops / threads * threads) / (t1 - t0));
    return 0;
}

static int discard_and_flush(void) {
    uint64_t range[2] = { (blocks - 256) * BLOCK, 256 * BLOCK };
    if (ioctl(fd, BLKDISCARD, range) == 0) printf("BLKCHECK discard of 1 MiB: done\n");
    else printf("BLKCHECK discard: not offered (%s)\n", strerror(errno));
    if (fsync(fd) != 0) return fail("final flush", 0);
    printf("BLKCHECK flush: done\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: blkcheck <device> <seed> <pattern-MiB> <random-ops> <threads>\n"); return 2; }
    seed = strtoull(argv[2], NULL, 0);
    blocks = strtoull(argv[3], NULL, 0) * 1048576 / BLOCK;
    uint64_t ops = strtoull(argv[4], NULL, 0);
    unsigned threads = (unsigned)strtoul(argv[5], NULL, 0);
    if (blocks < 512 || threads < 1 || threads > 64) { fprintf(stderr, "blkcheck: at least 2 MiB, 1-64 threads\n"); return 2; }
    fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0) { printf("BLKCHECK FAIL open %s: %s\n", argv[1], strerror(errno)); return 1; }
    generation = calloc(blocks, sizeof *generation);
    printf("BLKCHECK seed %llu\n", (unsigned long long)seed);
    if (sequential() || randomly(ops, 1) || randomly(ops, threads) || discard_and_flush()) return 1;
    printf("BLKCHECK PASS\n");
    return 0;
}
