/* See include/CAtRestLinux.h for why each shim exists. */
#define _GNU_SOURCE
#include "CAtRestLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

int atrest_linux_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void atrest_linux_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

int atrest_linux_rename_exchange(const char *a, const char *b) {
    int r;
    do { r = renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE); } while (r != 0 && errno == EINTR);
    return r;
}

int atrest_linux_rename_flags(const char *from, const char *to, unsigned int flags) {
    int r;
    do { r = renameat2(AT_FDCWD, from, AT_FDCWD, to, flags); } while (r != 0 && errno == EINTR);
    return r;
}

const long atrest_linux_utime_now = UTIME_NOW;
const long atrest_linux_utime_omit = UTIME_OMIT;

int atrest_linux_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}

const int atrest_linux_o_direct = O_DIRECT;

int atrest_linux_mallopt_mmap_threshold(int value) { return mallopt(M_MMAP_THRESHOLD, value); }
int atrest_linux_mallopt_trim_threshold(int value) { return mallopt(M_TRIM_THRESHOLD, value); }
int atrest_linux_mallopt_arena_max(int value) { return mallopt(M_ARENA_MAX, value); }
int atrest_linux_malloc_trim(unsigned long pad) { return malloc_trim(pad); }
