/*
 * The four libxenstore calls the frontend peer makes, spoken on the wire (<xen/io/xs_wire.h>),
 * for the -m32 build only: Debian ships libxenstore for the host's architecture alone, so a
 * 32-bit program cannot link it. The -m64 build links Xen's own libxenstore instead.
 * Connects where libxenstore does: $XENSTORED_PATH.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

struct xs_handle { int fd; uint32_t next_id; };

struct xs_handle *xs_open(unsigned long flags)
{
    (void)flags;
    const char *path = getenv("XENSTORED_PATH");
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (path == NULL || strlen(path) >= sizeof(address.sun_path)) { errno = EINVAL; return NULL; }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) { close(fd); return NULL; }
    struct xs_handle *handle = calloc(1, sizeof(*handle));
    handle->fd = fd;
    return handle;
}

void xs_close(struct xs_handle *handle)
{
    if (handle == NULL) return;
    close(handle->fd);
    free(handle);
}

static bool exact(int fd, void *buffer, size_t length, bool sending)
{
    char *bytes = buffer;
    while (length > 0) {
        ssize_t done = sending ? send(fd, bytes, length, MSG_NOSIGNAL) : recv(fd, bytes, length, 0);
        if (done <= 0) return false;
        bytes += done;
        length -= (size_t)done;
    }
    return true;
}

/* Sends one request and returns its reply's payload (NUL-terminated, malloc'd), or NULL with errno. */
static char *transact(struct xs_handle *h, uint32_t type, const void *a, size_t alen, const void *b, size_t blen, unsigned *len)
{
    struct xsd_sockmsg header = { .type = type, .req_id = ++h->next_id, .tx_id = 0, .len = (uint32_t)(alen + blen) };
    if (!exact(h->fd, &header, sizeof(header), true) || !exact(h->fd, (void *)a, alen, true)
        || (blen && !exact(h->fd, (void *)b, blen, true))) { errno = EIO; return NULL; }
    for (;;) {
        struct xsd_sockmsg reply;
        if (!exact(h->fd, &reply, sizeof(reply), false) || reply.len > XENSTORE_PAYLOAD_MAX) { errno = EIO; return NULL; }
        char *payload = malloc(reply.len + 1);
        if (!exact(h->fd, payload, reply.len, false)) { free(payload); errno = EIO; return NULL; }
        payload[reply.len] = 0;
        if (reply.type == XS_WATCH_EVENT) { free(payload); continue; }
        if (reply.type == XS_ERROR) {
            errno = strcmp(payload, "ENOENT") == 0 ? ENOENT : strcmp(payload, "EACCES") == 0 ? EACCES : EIO;
            free(payload);
            return NULL;
        }
        if (len) *len = reply.len;
        return payload;
    }
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    (void)t;
    return transact(h, XS_READ, path, strlen(path) + 1, NULL, 0, len);
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data, unsigned int len)
{
    (void)t;
    char *reply = transact(h, XS_WRITE, path, strlen(path) + 1, data, len, NULL);
    free(reply);
    return reply != NULL;
}
