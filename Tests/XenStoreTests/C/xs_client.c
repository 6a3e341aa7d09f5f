/*
 * A XenStore client built on Xen's own libxenstore, run against blkif-xenstored by the
 * XenStoreTests. It connects where libxenstore does (XENSTORED_PATH) and runs one command:
 *
 *   xs_client conformance     binary values, a big directory, watches with binary tokens,
 *                             transactions (commit, abort, conflict), permissions; prints
 *                             "ok <step>" per step and exits 1 at the first failure
 *   xs_client read <path>     prints the value as hex, or "error <errno name>"
 *   xs_client write <path> <value>
 *                             prints "ok", or "error <errno name>"
 *   xs_client directory <path>
 *                             prints the number of children, or "error <errno name>"
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

static int failures;

#define CHECK(step, condition)                                                    \
    do {                                                                          \
        if (!(condition)) {                                                       \
            printf("FAIL %s: %s (errno %s)\n", step, #condition, strerror(errno)); \
            failures++;                                                           \
            return;                                                               \
        }                                                                         \
    } while (0)

static const char *errno_name(int error)
{
    switch (error) {
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    default: return "other";
    }
}

/* The next watch event, waiting at most two seconds; NULL on timeout. */
static char **next_event(struct xs_handle *h, unsigned int *count)
{
    struct pollfd pfd = { .fd = xs_fileno(h), .events = POLLIN };
    if (poll(&pfd, 1, 2000) != 1)
        return NULL;
    return xs_read_watch(h, count);
}

static void binary_value(struct xs_handle *h)
{
    static const char value[] = { (char)0xff, (char)0xfe, 0x01, 0x00, 'z' };
    unsigned int length = 0;
    CHECK("binary-value", xs_write(h, XBT_NULL, "/c/bin", value, sizeof(value)));
    char *read = xs_read(h, XBT_NULL, "/c/bin", &length);
    CHECK("binary-value", read != NULL && length == sizeof(value) && memcmp(read, value, length) == 0);
    free(read);
    printf("ok binary-value\n");
}

static void big_directory(struct xs_handle *h)
{
    char path[64];
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof(path), "/c/big/child-with-a-long-name-%04d", i);
        CHECK("big-directory", xs_write(h, XBT_NULL, path, "", 0));
    }
    unsigned int count = 0;
    char **children = xs_directory(h, XBT_NULL, "/c/big", &count);
    CHECK("big-directory", children != NULL && count == 300);
    for (unsigned int i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "child-with-a-long-name-%04u", i);
        CHECK("big-directory", strcmp(children[i], path) == 0);
    }
    free(children);
    printf("ok big-directory\n");
}

static void binary_token_watch(struct xs_handle *h)
{
    static const char token[] = "\xff\xfe-token";
    unsigned int count = 0;
    CHECK("watch", xs_watch(h, "/c/w", token));
    char **event = next_event(h, &count);
    CHECK("watch", event != NULL && strcmp(event[XS_WATCH_PATH], "/c/w") == 0 && strcmp(event[XS_WATCH_TOKEN], token) == 0);
    free(event);
    CHECK("watch", xs_write(h, XBT_NULL, "/c/w/x", "1", 1));
    event = next_event(h, &count);
    CHECK("watch", event != NULL && strcmp(event[XS_WATCH_PATH], "/c/w/x") == 0 && strcmp(event[XS_WATCH_TOKEN], token) == 0);
    free(event);
    CHECK("watch", xs_unwatch(h, "/c/w", token));
    printf("ok watch\n");
}

static void transactions(struct xs_handle *h, struct xs_handle *other)
{
    unsigned int length;
    xs_transaction_t t = xs_transaction_start(h);
    CHECK("transactions", t != XBT_NULL && xs_write(h, t, "/c/t/aborted", "1", 1));
    CHECK("transactions", xs_transaction_end(h, t, true));
    CHECK("transactions", xs_read(h, XBT_NULL, "/c/t/aborted", &length) == NULL && errno == ENOENT);

    t = xs_transaction_start(h);
    CHECK("transactions", t != XBT_NULL && xs_write(h, t, "/c/t/n", "1", 1));
    CHECK("transactions", xs_transaction_end(h, t, false));
    char *value = xs_read(h, XBT_NULL, "/c/t/n", &length);
    CHECK("transactions", value != NULL && strcmp(value, "1") == 0);
    free(value);

    t = xs_transaction_start(h);
    value = xs_read(h, t, "/c/t/n", &length);
    CHECK("transactions", value != NULL);
    free(value);
    CHECK("transactions", xs_write(other, XBT_NULL, "/c/t/n", "2", 1));
    CHECK("transactions", xs_write(h, t, "/c/t/n", "3", 1));
    CHECK("transactions", !xs_transaction_end(h, t, false) && errno == EAGAIN);
    printf("ok transactions\n");
}

static void permissions(struct xs_handle *h)
{
    struct xs_permissions closed[] = { { .id = 0, .perms = XS_PERM_NONE }, { .id = 7, .perms = XS_PERM_READ } };
    unsigned int count = 0;
    CHECK("permissions", xs_write(h, XBT_NULL, "/c/perm", "x", 1));
    CHECK("permissions", xs_set_permissions(h, XBT_NULL, "/c/perm", closed, 2));
    struct xs_permissions *read = xs_get_permissions(h, XBT_NULL, "/c/perm", &count);
    CHECK("permissions", read != NULL && count == 2 && read[1].id == 7 && read[1].perms == XS_PERM_READ);
    free(read);
    struct xs_permissions special[] = { { .id = 0, .perms = XS_PERM_NONE }, { .id = 7, .perms = XS_PERM_READ } };
    CHECK("permissions", xs_set_permissions(h, XBT_NULL, "@introduceDomain", special, 2));
    CHECK("permissions", xs_set_permissions(h, XBT_NULL, "@releaseDomain", special, 2));
    printf("ok permissions\n");
}

static int conformance(void)
{
    struct xs_handle *h = xs_open(0), *other = xs_open(0);
    if (h == NULL || other == NULL) {
        printf("FAIL open: %s\n", strerror(errno));
        return 1;
    }
    binary_value(h);
    big_directory(h);
    binary_token_watch(h);
    transactions(h, other);
    permissions(h);
    xs_close(other);
    xs_close(h);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "conformance") == 0)
        return conformance();
    struct xs_handle *h = xs_open(0);
    if (h == NULL) {
        printf("error open %s\n", strerror(errno));
        return 1;
    }
    unsigned int length = 0;
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        unsigned char *value = xs_read(h, XBT_NULL, argv[2], &length);
        if (value == NULL) {
            printf("error %s\n", errno_name(errno));
        } else {
            for (unsigned int i = 0; i < length; i++)
                printf("%02x", value[i]);
            printf("\n");
            free(value);
        }
    } else if (argc == 4 && strcmp(argv[1], "write") == 0) {
        bool ok = xs_write(h, XBT_NULL, argv[2], argv[3], strlen(argv[3]));
        printf(ok ? "ok\n" : "error %s\n", errno_name(errno));
    } else if (argc == 3 && strcmp(argv[1], "directory") == 0) {
        char **children = xs_directory(h, XBT_NULL, argv[2], &length);
        if (children == NULL)
            printf("error %s\n", errno_name(errno));
        else
            printf("%u\n", length);
        free(children);
    } else {
        fprintf(stderr, "usage: xs_client conformance | read <path> | write <path> <value> | directory <path>\n");
        return 2;
    }
    xs_close(h);
    return 0;
}
