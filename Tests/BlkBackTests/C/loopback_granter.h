/* The granting side of the loopback platform's hand-over, for a C frontend (loopback_granter.c). */
#ifndef LOOPBACK_GRANTER_H
#define LOOPBACK_GRANTER_H
#include <stdint.h>

/* Starts domain `domain`'s platform: an arena of `pages` pages, `entries` grant entries, and a
 * thread serving <directory>/domain-<domain>.sock. 0 on success. */
int granter_start(const char *directory, uint16_t domain, unsigned pages, unsigned entries);
/* Page `index` of the arena. */
void *granter_page(unsigned index);
/* Grants the next `count` arena pages to `peer`; their first index and references. 0 on success. */
int granter_share(unsigned count, uint16_t peer, int readonly, unsigned *first_page, uint32_t *refs);
/* Offers an event channel to `remote`: its port number and our two eventfds (we read `incoming`,
 * write `outgoing`). 0 on success. */
int granter_allocate_port(uint16_t remote, uint32_t *port, int *incoming, int *outgoing);
#endif
