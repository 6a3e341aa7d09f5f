/* Prints the grant_entry_v1 layout and the GTF_* flags from Xen's own header, for the test to
 * compare with XenPlatform's. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/grant_table.h>

int main(void) {
    printf("size %zu flags %zu domid %zu frame %zu\n", sizeof(grant_entry_v1_t), offsetof(grant_entry_v1_t, flags),
           offsetof(grant_entry_v1_t, domid), offsetof(grant_entry_v1_t, frame));
    printf("permit_access %u type_mask %u readonly %u reading %u writing %u reserved %u\n", GTF_permit_access,
           GTF_type_mask, GTF_readonly, GTF_reading, GTF_writing, GNTTAB_NR_RESERVED_ENTRIES);
    return 0;
}
