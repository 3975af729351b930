#ifndef ATREST_CRADOS_SHIM_H
#define ATREST_CRADOS_SHIM_H
/* librados' C API (Debian's librados-dev ships no pkg-config file, hence the
 * module map links `rados` by name). Only AtRestRados imports this module. */
#include <rados/librados.h>
#include <errno.h>

/* The errno values AtRestRados maps to typed errors, as plain ints for Swift. */
static const int atrest_rados_enoent = ENOENT;
static const int atrest_rados_eexist = EEXIST;
static const int atrest_rados_erange = ERANGE;
static const int atrest_rados_ecanceled = ECANCELED;
static const int atrest_rados_eperm = EPERM;
static const int atrest_rados_eacces = EACCES;
static const int atrest_rados_etimedout = ETIMEDOUT;
static const int atrest_rados_enotconn = ENOTCONN;
static const int atrest_rados_eoverflow = EOVERFLOW;
static const int atrest_rados_enodata = ENODATA;

#endif
