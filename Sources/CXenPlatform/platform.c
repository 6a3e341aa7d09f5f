/* See CXenPlatform.h. */
#define _GNU_SOURCE
#include "CXenPlatform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

_Static_assert(cxp_poll_read_hang_up == POLLRDHUP, "cxp_poll_read_hang_up must be POLLRDHUP");

int cxp_memfd(const char *name, uint64_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cxp_memfd_is_sealed(int fd, uint64_t size) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -errno;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return errno == EINVAL ? 0 : -errno;
    return (uint64_t)info.st_size == size && (seals & F_SEAL_SHRINK) ? 1 : 0;
}

int cxp_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int cxp_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -errno;
}

int cxp_eventfd_drain(int fd, uint64_t *value) {
    return read(fd, value, sizeof *value) == sizeof *value ? 0 : -errno;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cxp_wait_readable(int fd, int hang_fd, int timeout_ms) {
    struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = hang_fd, .events = POLLRDHUP}};
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
        if (timeout_ms >= 0 && left < 0) left = 0;
        int n = poll(fds, hang_fd >= 0 ? 2 : 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return 0;
        if (fds[0].revents & POLLIN) return 1;
        if (fds[0].revents & (POLLERR | POLLNVAL)) return -EBADF;
        if (hang_fd >= 0 && fds[1].revents) return 2;
    }
}

int cxp_peer_gone(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    int n = poll(&p, 1, 0);
    if (n < 0) return -errno;
    return n > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) ? 1 : 0;
}

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address->sun_path) return -ENAMETOOLONG;
    strcpy(address->sun_path, path);
    return 0;
}

int cxp_listen_unix(const char *path) {
    struct sockaddr_un address;
    int status = unix_address(path, &address);
    if (status < 0) return status;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cxp_connect_unix(const char *path) {
    struct sockaddr_un address;
    int status = unix_address(path, &address);
    if (status < 0) return status;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cxp_accept(int listener) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cxp_socketpair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -errno;
}

int cxp_send(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > CXP_MAX_FDS) return -EINVAL;
    struct iovec io = {.iov_base = (void *)buf, .iov_len = len};
    union { char bytes[CMSG_SPACE(sizeof(int) * CXP_MAX_FDS)]; struct cmsghdr align; } control;
    struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)nfds);
    }
    for (;;) {
        ssize_t sent = sendmsg(sock, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) return -errno;
        return (size_t)sent == len ? 0 : -EMSGSIZE;
    }
}

ssize_t cxp_receive(int sock, void *buf, size_t len, int *fds, int *nfds, int timeout_ms) {
    *nfds = 0;
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - now_ms());
        int n = poll(&p, 1, left < 0 ? 0 : left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return -ETIMEDOUT;
        break;
    }
    struct iovec io = {.iov_base = buf, .iov_len = len};
    union { char bytes[CMSG_SPACE(sizeof(int) * CXP_MAX_FDS)]; struct cmsghdr align; } control;
    struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
    ssize_t got;
    do got = recvmsg(sock, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (got < 0 && errno == EINTR);
    if (got < 0) return -errno;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&message); h != NULL; h = CMSG_NXTHDR(&message, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[CXP_MAX_FDS];
        memcpy(received, CMSG_DATA(h), sizeof(int) * (size_t)count);
        for (int i = 0; i < count; i++) {
            if (*nfds < CXP_MAX_FDS) fds[(*nfds)++] = received[i];
            else close(received[i]);
        }
    }
    if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (int i = 0; i < *nfds; i++) close(fds[i]);
        *nfds = 0;
        return -EMSGSIZE;
    }
    return got;
}

int cxp_peer_credentials(int sock, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t size = sizeof credentials;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return -errno;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

void *cxp_map_frames(int fd, const uint32_t *frames, uint32_t count, int writable) {
    const size_t page = 4096;
    size_t total = (size_t)count * page;
    char *view = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (view == MAP_FAILED) return NULL;
    int protection = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    for (uint32_t i = 0; i < count; i++) {
        void *placed = mmap(view + i * page, page, protection, MAP_SHARED | MAP_FIXED, fd, (off_t)frames[i] * (off_t)page);
        if (placed == MAP_FAILED) {
            int e = errno;
            munmap(view, total);
            errno = e;
            return NULL;
        }
    }
    return view;
}

int cxp_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cxp_epoll_watch(int epoll, int fd, uint64_t token, int oneshot) {
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP | (oneshot ? EPOLLONESHOT : 0), .data.u64 = token};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int cxp_epoll_forget(int epoll, int fd) {
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

int cxp_epoll_wait(int epoll, uint64_t *tokens, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epoll, events, max, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
    return n;
}

int cxp_bind_to_node(void *address, size_t length, int node) {
    enum { bind_policy = 2 /* MPOL_BIND */, mask_bits = 1024 };
    if (node < 0 || node >= mask_bits) return -EINVAL;
    char path[64];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d", node);
    if (access(path, F_OK) != 0) return -EINVAL;
    unsigned long mask[mask_bits / (8 * sizeof(unsigned long))] = {0};
    mask[node / (8 * sizeof(unsigned long))] = 1UL << (node % (8 * sizeof(unsigned long)));
    return syscall(SYS_mbind, address, length, bind_policy, mask, (unsigned long)mask_bits, 0) == 0 ? 0 : -errno;
}
