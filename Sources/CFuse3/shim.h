#ifndef ATREST_CFUSE3_SHIM_H
#define ATREST_CFUSE3_SHIM_H
/* libfuse3's high-level (path-based) API, version 3.5 of the interface
 * (Debian's libfuse3-dev 3.14 provides it). Only AtRestFUSE imports this
 * module; everything above sees its Swift types. */
#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

/* fuse_loop_mt is a function-like macro selecting a versioned symbol, which
 * Swift cannot call, and fuse_new one where libfuse was built without
 * versioned symbols: these wrappers call what FUSE_USE_VERSION 35 selects
 * (Debian's libfuse is built with them: fuse_new is fuse_new@@FUSE_3.1). */
static inline struct fuse *atrest_fuse_new(struct fuse_args *args, const struct fuse_operations *operations,
                                           void *user_data) {
    return fuse_new(args, operations, sizeof(struct fuse_operations), user_data);
}

/* The multithreaded loop: returns when the file system is unmounted (the
 * kernel ends the connection) or fuse_exit is called and a request wakes it. */
static inline int atrest_fuse_loop_mt(struct fuse *fuse, unsigned int max_idle_threads) {
    struct fuse_loop_config config = { .clone_fd = 0, .max_idle_threads = max_idle_threads };
    return fuse_loop_mt_32(fuse, &config);
}

/* utimensat's special nanosecond values (UTIME_NOW, UTIME_OMIT). */
static const long atrest_fuse_utime_now = UTIME_NOW;
static const long atrest_fuse_utime_omit = UTIME_OMIT;

/* renameat2 flags the kernel passes to rename. */
static const unsigned int atrest_fuse_rename_noreplace = 1; /* RENAME_NOREPLACE */
static const unsigned int atrest_fuse_rename_exchange = 2;  /* RENAME_EXCHANGE */

#endif
