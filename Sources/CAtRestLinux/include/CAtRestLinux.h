#ifndef ATREST_CATRESTLINUX_H
#define ATREST_CATRESTLINUX_H
/* Linux calls that Swift's Glibc module does not import: GNU extensions
 * (declared only under _GNU_SOURCE), headers outside the module map, and
 * variadic functions. One shim per call, each saying why it exists; only the
 * modules that wrap a call import this target (AtRestMessaging,
 * AtRestStorage, AtRestRuntime, AtRestFUSEPassthrough), everything above sees Swift functions. */
#include <stdint.h>

/* The poll loops' wakeup (AtRestMessaging.Wakeup): <sys/eventfd.h> is not
 * in the Glibc module. Non-blocking, close-on-exec; -1 with errno set. */
int atrest_linux_eventfd(void);

/* Names the calling thread (AtRestMessaging.PollLoop: visible in top -H,
 * perf, gdb; at most 15 characters). prctl is variadic: Swift cannot call it. */
void atrest_linux_name_thread(const char *name);

/* renameat2(RENAME_EXCHANGE) (AtRestStorage.AtomicFile: swaps a spare file
 * with the target). A GNU extension; 0, or -1 with errno set (ENOENT when
 * `b` is missing, EINVAL/ENOSYS where the filesystem or kernel cannot). */
int atrest_linux_rename_exchange(const char *a, const char *b);

/* renameat2 with RENAME_NOREPLACE (1) or RENAME_EXCHANGE (2) as given
 * (AtRestFUSEPassthrough: the flags of a rename through the mount); 0, or
 * -1 with errno set (EINVAL where the file system cannot). */
int atrest_linux_rename_flags(const char *from, const char *to, unsigned int flags);

/* utimensat's UTIME_NOW and UTIME_OMIT (AtRestFUSEPassthrough): macros Swift does not import. */
extern const long atrest_linux_utime_now;
extern const long atrest_linux_utime_omit;

/* sync_file_range(SYNC_FILE_RANGE_WRITE) (AtRestStorage.AtomicFile: starts
 * writeback early). A GNU extension; a hint, the result is 0 or -1. */
int atrest_linux_start_writeback(int fd, int64_t offset, int64_t count);

/* O_DIRECT: a GNU extension whose value differs by architecture. */
extern const int atrest_linux_o_direct;

/* mallopt (AtRestRuntime.MemoryTuning): <malloc.h> is not in the Glibc
 * module. The parameters are passed by name so their values stay glibc's. */
int atrest_linux_mallopt_mmap_threshold(int value);
int atrest_linux_mallopt_trim_threshold(int value);
int atrest_linux_mallopt_arena_max(int value);

/* malloc_trim (AtRestRuntime.MemoryTuning.releaseFreeMemory): also only in
 * <malloc.h>; gives free heap pages back to the kernel when a service is idle. */
int atrest_linux_malloc_trim(unsigned long pad);

#endif
