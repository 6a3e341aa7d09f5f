/* Prints xengnttab_grant_copy_segment_t's layout and the GNTCOPY_* flags from Xen's own headers,
 * for the test to compare with the declaration XenPlatform passes to xengnttab_grant_copy. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xengnttab.h>
#include <xen/grant_table.h>

int main(void) {
    typedef xengnttab_grant_copy_segment_t segment;
    printf("size %zu source %zu dest %zu len %zu flags %zu status %zu\n", sizeof(segment), offsetof(segment, source),
           offsetof(segment, dest), offsetof(segment, len), offsetof(segment, flags), offsetof(segment, status));
    printf("ref %zu offset %zu domid %zu source_gref %u dest_gref %u\n", offsetof(segment, source.foreign.ref),
           offsetof(segment, source.foreign.offset), offsetof(segment, source.foreign.domid),
           (unsigned)GNTCOPY_source_gref, (unsigned)GNTCOPY_dest_gref);
    return 0;
}
