/*
 * The granting side of the loopback platform's hand-over (docs/platform.md, "How the two
 * processes find each other"), written from that description: this process is domain N, owns a
 * sealed memfd arena and a sealed memfd grant table in Xen's grant_entry_v1 shape, and serves
 * <dir>/domain-<N>.sock (SOCK_SEQPACKET). A peer's hello "magic, version | domain << 16" is
 * answered "0, entries, pages" with the two memfds; a bind request "2, port" with "0, port" and
 * the port's two eventfds and the binder's end of a liveness socket pair.
 */
#define _GNU_SOURCE
#include "loopback_granter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/grant_table.h>

#define HELLO_MAGIC 0x42504C58u
#define PROTOCOL_VERSION 1u
#define BIND_OPERATION 2u
#define RESERVED_REFS 8u
#define MAX_CLIENTS 8
#define MAX_PORTS 64

struct port_offer {
    uint32_t port;
    uint16_t remote;
    int hand_over[3]; /* towards the allocator, towards the binder, the binder's liveness end */
    int offered;
};

static struct {
    uint16_t domain;
    unsigned pages, entries, next_page, next_ref;
    int table_fd, arena_fd, listen_fd;
    grant_entry_v1_t *table;
    unsigned char *arena;
    int clients[MAX_CLIENTS];
    struct port_offer ports[MAX_PORTS];
    unsigned port_count;
    pthread_mutex_t lock;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int sealed_memfd(const char *name, size_t size)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_words(int fd, const uint32_t *words, int count, const int *fds, int fd_count)
{
    struct iovec iov = { .iov_base = (void *)words, .iov_len = (size_t)count * 4 };
    char control[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    memset(control, 0, sizeof(control));
    if (fd_count > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)fd_count);
    }
    return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)(count * 4) ? 0 : -1;
}

/* One message of whole words; returns the word count, 0 when the peer closed, -1 on error. */
static int receive_words(int fd, uint32_t *words, int capacity)
{
    ssize_t got = recv(fd, words, (size_t)capacity * 4, 0);
    if (got <= 0) return (int)got;
    return got % 4 ? -1 : (int)(got / 4);
}

static void serve_hello(int fd)
{
    uint32_t words[4];
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 1000) != 1 || receive_words(fd, words, 4) != 2 || words[0] != HELLO_MAGIC
        || (words[1] & 0xFFFF) != PROTOCOL_VERSION) {
        uint32_t refusal = 4; /* badRequest */
        send_words(fd, &refusal, 1, NULL, 0);
        close(fd);
        return;
    }
    uint32_t reply[3] = { 0, g.entries, g.pages };
    int fds[2] = { g.table_fd, g.arena_fd };
    if (send_words(fd, reply, 3, fds, 2) != 0) { close(fd); return; }
    for (int i = 0; i < MAX_CLIENTS; i++) if (g.clients[i] < 0) { g.clients[i] = fd; return; }
    close(fd);
}

/* Serves one bind request; returns -1 when the client is gone or broke the protocol. */
static int serve_request(int fd)
{
    uint32_t words[4];
    if (receive_words(fd, words, 4) != 2 || words[0] != BIND_OPERATION) return -1;
    pthread_mutex_lock(&g.lock);
    struct port_offer *offer = NULL;
    for (unsigned i = 0; i < g.port_count; i++) if (g.ports[i].port == words[1] && g.ports[i].offered) offer = &g.ports[i];
    int result = 0;
    if (offer == NULL) {
        uint32_t refusal[2] = { 3, words[1] }; /* portNotOffered */
        result = send_words(fd, refusal, 2, NULL, 0);
    } else {
        uint32_t reply[2] = { 0, offer->port };
        result = send_words(fd, reply, 2, offer->hand_over, 3);
        if (result == 0) {
            close(offer->hand_over[2]);
            offer->offered = 0;
        }
    }
    pthread_mutex_unlock(&g.lock);
    return result;
}

static void *serve(void *unused)
{
    (void)unused;
    for (;;) {
        struct pollfd fds[MAX_CLIENTS + 1];
        fds[0] = (struct pollfd){ .fd = g.listen_fd, .events = POLLIN };
        for (int i = 0; i < MAX_CLIENTS; i++) fds[i + 1] = (struct pollfd){ .fd = g.clients[i], .events = POLLIN };
        if (poll(fds, MAX_CLIENTS + 1, 1000) < 0 && errno != EINTR) return NULL;
        if (fds[0].revents & POLLIN) {
            int client = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (client >= 0) serve_hello(client);
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (g.clients[i] < 0 || !(fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (serve_request(g.clients[i]) != 0) {
                close(g.clients[i]);
                g.clients[i] = -1;
            }
        }
    }
}

int granter_start(const char *directory, uint16_t domain, unsigned pages, unsigned entries)
{
    g.domain = domain;
    g.pages = pages;
    g.entries = entries;
    g.next_ref = RESERVED_REFS;
    for (int i = 0; i < MAX_CLIENTS; i++) g.clients[i] = -1;
    g.table_fd = sealed_memfd("grant-table", (size_t)entries * sizeof(grant_entry_v1_t));
    g.arena_fd = sealed_memfd("grant-arena", (size_t)pages * 4096);
    if (g.table_fd < 0 || g.arena_fd < 0) return -1;
    g.table = mmap(NULL, (size_t)entries * sizeof(grant_entry_v1_t), PROT_READ | PROT_WRITE, MAP_SHARED, g.table_fd, 0);
    g.arena = mmap(NULL, (size_t)pages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g.arena_fd, 0);
    if (g.table == MAP_FAILED || g.arena == MAP_FAILED) return -1;

    struct sockaddr_un address = { .sun_family = AF_UNIX };
    int length = snprintf(address.sun_path, sizeof(address.sun_path), "%s/domain-%u.sock", directory, domain);
    if (length <= 0 || (size_t)length >= sizeof(address.sun_path)) return -1;
    unlink(address.sun_path);
    g.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (g.listen_fd < 0 || bind(g.listen_fd, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(g.listen_fd, 8) != 0)
        return -1;
    pthread_t thread;
    return pthread_create(&thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

void *granter_page(unsigned index) { return g.arena + (size_t)index * 4096; }

int granter_share(unsigned count, uint16_t peer, int readonly, unsigned *first_page, uint32_t *refs)
{
    if (g.next_page + count > g.pages || g.next_ref + count > g.entries) return -1;
    *first_page = g.next_page;
    for (unsigned i = 0; i < count; i++) {
        uint32_t ref = g.next_ref++;
        grant_entry_v1_t *entry = &g.table[ref];
        entry->domid = peer;
        entry->frame = g.next_page + i;
        __atomic_thread_fence(__ATOMIC_RELEASE); /* the peer sees domid and frame before the flags */
        __atomic_store_n(&entry->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)), __ATOMIC_RELEASE);
        refs[i] = ref;
    }
    g.next_page += count;
    return 0;
}

int granter_allocate_port(uint16_t remote, uint32_t *port, int *incoming, int *outgoing)
{
    pthread_mutex_lock(&g.lock);
    int result = -1;
    if (g.port_count < MAX_PORTS) {
        int in = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), pair[2];
        if (in >= 0 && out >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0) {
            struct port_offer *offer = &g.ports[g.port_count++];
            offer->port = g.port_count;
            offer->remote = remote;
            offer->hand_over[0] = in;
            offer->hand_over[1] = out;
            offer->hand_over[2] = pair[1];
            offer->offered = 1;
            *port = offer->port;
            *incoming = in;
            *outgoing = out;
            result = 0; /* pair[0], our liveness end, stays open for the process's life */
        }
    }
    pthread_mutex_unlock(&g.lock);
    return result;
}
