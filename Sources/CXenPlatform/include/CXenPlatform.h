/* The Linux calls the loopback platform needs that Swift's Glibc module does not expose (memfd,
 * eventfd, epoll, Unix sockets with SCM_RIGHTS and SO_PEERCRED, page views over a memfd).
 * Every descriptor made here is close-on-exec. Calls return -errno on failure. */
#ifndef CXEN_PLATFORM_H
#define CXEN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The most descriptors one message carries.
#define CXP_MAX_FDS 4

/// poll(2)'s POLLRDHUP (the peer shut its end down), which Swift's Glibc module does not export.
static const short cxp_poll_read_hang_up = 0x2000;

/// An anonymous memory file of `size` bytes (memfd_create + ftruncate), sealed against
/// shrinking and growing so a process that maps it can never be handed a SIGBUS.
int cxp_memfd(const char *name, uint64_t size);

/// Whether fd is a memory file of exactly `size` bytes sealed against shrinking: 1 yes, 0 no, -errno.
int cxp_memfd_is_sealed(int fd, uint64_t size);

/// A non-blocking eventfd whose counter starts at 0 (reads return and reset the sum).
int cxp_eventfd(void);

/// Adds 1 to an eventfd's counter. Returns 0 or -errno.
int cxp_eventfd_signal(int fd);

/// Reads and resets an eventfd's counter into *value. Returns 0, -EAGAIN when it is 0, or -errno.
int cxp_eventfd_drain(int fd, uint64_t *value);

/// Waits up to timeout_ms (< 0: forever) for fd to become readable or hang_fd (>= 0) to hang up.
/// Returns 1 readable, 2 hung up, 0 timeout, -errno otherwise. EINTR is retried with the time left.
int cxp_wait_readable(int fd, int hang_fd, int timeout_ms);

/// Whether a connected socket's peer has gone (POLLHUP/POLLERR/POLLRDHUP now): 1 yes, 0 no, -errno.
int cxp_peer_gone(int fd);

/// A listening SOCK_SEQPACKET Unix socket bound at path (an existing socket file is replaced).
int cxp_listen_unix(const char *path);

/// A SOCK_SEQPACKET connection to the Unix socket at path.
int cxp_connect_unix(const char *path);

/// Accepts one connection (non-blocking listener: -EAGAIN when none is waiting).
int cxp_accept(int listener);

/// A connected SOCK_SEQPACKET socket pair.
int cxp_socketpair(int fds[2]);

/// Sends one message of len bytes with nfds descriptors attached, without blocking (a peer
/// that never reads gets -EAGAIN, not a stalled sender). Returns 0 or -errno.
int cxp_send(int sock, const void *buf, size_t len, const int *fds, int nfds);

/// Receives one message into buf (at most len bytes), its descriptors into fds (at most
/// CXP_MAX_FDS) and their number into *nfds, waiting up to timeout_ms. Returns the byte count,
/// 0 when the peer closed, -ETIMEDOUT, -EMSGSIZE when the message or its descriptors were cut
/// (any received descriptor is closed), or -errno.
ssize_t cxp_receive(int sock, void *buf, size_t len, int *fds, int *nfds, int timeout_ms);

/// The peer's process, user and group ids (SO_PEERCRED). Returns 0 or -errno.
int cxp_peer_credentials(int sock, pid_t *pid, uid_t *uid, gid_t *gid);

/// Maps count pages of fd at page offsets frames[0...count-1] into one fresh contiguous view,
/// read-only (writable == 0) or read-write, shared. Returns the view or NULL with errno set.
void *cxp_map_frames(int fd, const uint32_t *frames, uint32_t count, int writable);

/// Binds the pages of [address, address + length) to NUMA node `node` (mbind(2), MPOL_BIND, the
/// call libnuma's numa_tonode_memory makes), before they are first touched. Returns 0 or -errno
/// (-EINVAL for a node this machine does not have).
int cxp_bind_to_node(void *address, size_t length, int node);

/// A new epoll instance.
int cxp_epoll_create(void);

/// Watches fd for readability and hang-up, reporting token; once (EPOLLONESHOT) when oneshot != 0.
/// Returns 0 or -errno.
int cxp_epoll_watch(int epoll, int fd, uint64_t token, int oneshot);

/// Stops watching fd. Returns 0 or -errno.
int cxp_epoll_forget(int epoll, int fd);

/// Waits up to timeout_ms for events and stores up to max tokens. Returns the count (0 on timeout
/// or EINTR) or -errno.
int cxp_epoll_wait(int epoll, uint64_t *tokens, int max, int timeout_ms);

/// One side of a grant copy: an address in this process, or part of a granted page.
union cxp_copy_pointer {
    void *virt;
    struct cxp_copy_foreign {
        uint32_t ref;
        uint16_t offset;
        uint16_t domid;
    } foreign;
};

/// Xen's `xengnttab_grant_copy_segment_t` (`<xengnttab.h>`), laid out as libxengnttab takes it:
/// the library is loaded at run time, so its header is not needed to build. `flags` says which
/// side is the grant (CXP_GNTCOPY_*); the hypervisor writes `status` (GNTST_*, 0 is done).
struct cxp_grant_copy_segment {
    union cxp_copy_pointer source, dest;
    uint16_t len;
    uint16_t flags;
    int16_t status;
};
_Static_assert(sizeof(struct cxp_grant_copy_segment) == 24, "xengnttab_grant_copy_segment_t is 24 bytes");

/// Xen's GNTCOPY_source_gref and GNTCOPY_dest_gref (`<xen/grant_table.h>`).
static const uint16_t cxp_gntcopy_source_gref = 1, cxp_gntcopy_dest_gref = 2;

#endif
