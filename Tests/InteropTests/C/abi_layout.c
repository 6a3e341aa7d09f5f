/*
 * The blkif ABI as Xen's own header defines it, for the Swift interop tests.
 *
 *   abi_layout layout            print "name offset size" for every field of every blkif
 *                                structure and "ring_entries.N count" for rings of N pages
 *   abi_layout write FILE SEED   write a sample of every structure, derived from SEED, to FILE
 *   abi_layout read FILE         print "name value" for every field of the samples in FILE
 *
 * FILE holds four ring entries (request, discard, indirect request, response) followed by
 * one 4096-byte indirect page. The sample values come from SplitMix64 in a fixed order that
 * the Swift side (ABISample) repeats, so both sides know what to expect from a seed.
 * Compiled with -m64 for the x86_64 ABI and -m32 for the x86_32 ABI.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

#define PAGE_SIZE 4096
#define PAGE_SEGMENTS (PAGE_SIZE / sizeof(struct blkif_request_segment))

/* What FILE holds, in this ABI. */
struct sample_file {
    union blkif_sring_entry entry[4];
    struct blkif_request_segment page[PAGE_SEGMENTS];
};

#define FIELD(prefix, type, field) \
    printf("%s.%s %zu %zu\n", prefix, #field, offsetof(type, field), sizeof(((type *)0)->field))
#define SIZE(prefix, type) printf("%s %d %zu\n", prefix, 0, sizeof(type))

static void print_layout(void)
{
    FIELD("segment", struct blkif_request_segment, gref);
    FIELD("segment", struct blkif_request_segment, first_sect);
    FIELD("segment", struct blkif_request_segment, last_sect);
    SIZE("segment", struct blkif_request_segment);
    FIELD("request", struct blkif_request, operation);
    FIELD("request", struct blkif_request, nr_segments);
    FIELD("request", struct blkif_request, handle);
    FIELD("request", struct blkif_request, id);
    FIELD("request", struct blkif_request, sector_number);
    FIELD("request", struct blkif_request, seg);
    SIZE("request", struct blkif_request);
    FIELD("discard", struct blkif_request_discard, operation);
    FIELD("discard", struct blkif_request_discard, flag);
    FIELD("discard", struct blkif_request_discard, handle);
    FIELD("discard", struct blkif_request_discard, id);
    FIELD("discard", struct blkif_request_discard, sector_number);
    FIELD("discard", struct blkif_request_discard, nr_sectors);
    SIZE("discard", struct blkif_request_discard);
    FIELD("indirect", struct blkif_request_indirect, operation);
    FIELD("indirect", struct blkif_request_indirect, indirect_op);
    FIELD("indirect", struct blkif_request_indirect, nr_segments);
    FIELD("indirect", struct blkif_request_indirect, id);
    FIELD("indirect", struct blkif_request_indirect, sector_number);
    FIELD("indirect", struct blkif_request_indirect, handle);
    FIELD("indirect", struct blkif_request_indirect, indirect_grefs);
    SIZE("indirect", struct blkif_request_indirect);
    FIELD("response", struct blkif_response, id);
    FIELD("response", struct blkif_response, operation);
    FIELD("response", struct blkif_response, status);
    SIZE("response", struct blkif_response);
    FIELD("sring", struct blkif_sring, req_prod);
    FIELD("sring", struct blkif_sring, req_event);
    FIELD("sring", struct blkif_sring, rsp_prod);
    FIELD("sring", struct blkif_sring, rsp_event);
    printf("sring.ring %zu %zu\n", offsetof(struct blkif_sring, ring), sizeof(((struct blkif_sring *)0)->ring[0]));
    SIZE("entry", union blkif_sring_entry);
    for (unsigned pages = 1; pages <= 16; pages *= 2)
        printf("ring_entries.%u %u\n", pages, (unsigned)__CONST_RING_SIZE(blkif, pages * PAGE_SIZE));
}

/* SplitMix64: the generator the Swift tests use (TestSupport's SplitMix64). */
static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A valid segment: any grant, first_sect <= last_sect < 8. */
static struct blkif_request_segment sample_segment(uint64_t *state)
{
    struct blkif_request_segment seg;
    memset(&seg, 0, sizeof seg);
    seg.gref = (grant_ref_t)next(state);
    seg.first_sect = (uint8_t)(next(state) % 8);
    seg.last_sect = (uint8_t)(seg.first_sect + next(state) % (8 - seg.first_sect));
    return seg;
}

/* Fills `file` from `seed`, field by field in the order ABISample.init(seed:) draws them. */
static void fill_sample(struct sample_file *file, uint64_t seed)
{
    uint64_t s = seed;
    memset(file, 0, sizeof *file);
    struct blkif_request *req = &file->entry[0].req;
    req->operation = (uint8_t)(next(&s) % 2);
    req->nr_segments = (uint8_t)(1 + next(&s) % BLKIF_MAX_SEGMENTS_PER_REQUEST);
    req->handle = (blkif_vdev_t)next(&s);
    req->id = next(&s);
    req->sector_number = next(&s) >> 24;
    for (unsigned i = 0; i < req->nr_segments; i++)
        req->seg[i] = sample_segment(&s);

    struct blkif_request_discard *discard = (struct blkif_request_discard *)&file->entry[1];
    discard->operation = BLKIF_OP_DISCARD;
    discard->flag = (uint8_t)(next(&s) % 2);
    discard->handle = (blkif_vdev_t)next(&s);
    discard->id = next(&s);
    discard->sector_number = next(&s) >> 24;
    discard->nr_sectors = (next(&s) >> 32) + 1;

    struct blkif_request_indirect *indirect = (struct blkif_request_indirect *)&file->entry[2];
    indirect->operation = BLKIF_OP_INDIRECT;
    indirect->indirect_op = (uint8_t)(next(&s) % 2);
    indirect->nr_segments = (uint16_t)(1 + next(&s) % PAGE_SEGMENTS);
    indirect->id = next(&s);
    indirect->sector_number = next(&s) >> 24;
    indirect->handle = (blkif_vdev_t)next(&s);
    for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
        indirect->indirect_grefs[i] = (grant_ref_t)next(&s);
    for (unsigned i = 0; i < indirect->nr_segments; i++)
        file->page[i] = sample_segment(&s);

    struct blkif_response *rsp = &file->entry[3].rsp;
    rsp->id = next(&s);
    rsp->operation = (uint8_t)(next(&s) % 7);
    rsp->status = (int16_t)-(int)(next(&s) % 3);
}

static void print_segment(const char *prefix, unsigned i, const struct blkif_request_segment *seg)
{
    printf("%s.%u.gref %" PRIu32 "\n", prefix, i, (uint32_t)seg->gref);
    printf("%s.%u.first_sect %u\n", prefix, i, seg->first_sect);
    printf("%s.%u.last_sect %u\n", prefix, i, seg->last_sect);
}

/* Prints every meaningful field of the samples, as ABISample.fields names them. */
static void print_sample(const struct sample_file *file)
{
    const struct blkif_request *req = &file->entry[0].req;
    printf("request.operation %u\nrequest.nr_segments %u\nrequest.handle %u\n",
           req->operation, req->nr_segments, req->handle);
    printf("request.id %" PRIu64 "\nrequest.sector_number %" PRIu64 "\n", req->id, req->sector_number);
    for (unsigned i = 0; i < req->nr_segments && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
        print_segment("request.seg", i, &req->seg[i]);

    const struct blkif_request_discard *discard = (const struct blkif_request_discard *)&file->entry[1];
    printf("discard.operation %u\ndiscard.flag %u\ndiscard.handle %u\n", discard->operation, discard->flag, discard->handle);
    printf("discard.id %" PRIu64 "\ndiscard.sector_number %" PRIu64 "\ndiscard.nr_sectors %" PRIu64 "\n",
           discard->id, discard->sector_number, discard->nr_sectors);

    const struct blkif_request_indirect *indirect = (const struct blkif_request_indirect *)&file->entry[2];
    printf("indirect.operation %u\nindirect.indirect_op %u\nindirect.nr_segments %u\n",
           indirect->operation, indirect->indirect_op, indirect->nr_segments);
    printf("indirect.id %" PRIu64 "\nindirect.sector_number %" PRIu64 "\nindirect.handle %u\n",
           indirect->id, indirect->sector_number, indirect->handle);
    for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
        printf("indirect.indirect_grefs.%u %" PRIu32 "\n", i, (uint32_t)indirect->indirect_grefs[i]);
    for (unsigned i = 0; i < indirect->nr_segments && i < PAGE_SEGMENTS; i++)
        print_segment("page.seg", i, &file->page[i]);

    const struct blkif_response *rsp = &file->entry[3].rsp;
    printf("response.id %" PRIu64 "\nresponse.operation %u\nresponse.status %d\n", rsp->id, rsp->operation, rsp->status);
}

static int transfer(const char *path, const char *mode, struct sample_file *file, int writing)
{
    FILE *stream = fopen(path, mode);
    if (!stream) {
        perror(path);
        return 1;
    }
    size_t done = writing ? fwrite(file, sizeof *file, 1, stream) : fread(file, sizeof *file, 1, stream);
    if (fclose(stream) != 0 || done != 1) {
        fprintf(stderr, "%s: short %s (expected %zu bytes)\n", path, writing ? "write" : "read", sizeof *file);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct sample_file file;
    if (argc == 2 && strcmp(argv[1], "layout") == 0) {
        print_layout();
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "write") == 0) {
        fill_sample(&file, strtoull(argv[3], NULL, 0));
        return transfer(argv[2], "wb", &file, 1);
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        if (transfer(argv[2], "rb", &file, 0) != 0)
            return 1;
        print_sample(&file);
        return 0;
    }
    fprintf(stderr, "usage: %s layout | write FILE SEED | read FILE\n", argv[0]);
    return 2;
}
