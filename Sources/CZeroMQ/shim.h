#ifndef ATREST_CZEROMQ_SHIM_H
#define ATREST_CZEROMQ_SHIM_H
#include <zmq.h>

/* ZMQ_ZAP_ENFORCE_DOMAIN is part of libzmq's draft API, which Debian's
 * header hides; the option itself works in the shipped libzmq 4.3.4 and is
 * what makes a ZAP-less CURVE server fail closed. Exposed here by value. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
static const int atrest_zmq_zap_enforce_domain = ZMQ_ZAP_ENFORCE_DOMAIN;

/* errno values the messaging layer branches on, as plain ints for Swift. */
#include <errno.h>
static inline int atrest_zmq_errno(void) { return zmq_errno(); }

/* libzmq's own errno values are computed macros (ZMQ_HAUSNUMERO + n) that
 * Swift does not import; exposed as constants. */
static const int atrest_zmq_eterm = ETERM;
static const int atrest_zmq_efsm = EFSM;
static const int atrest_zmq_enocompatproto = ENOCOMPATPROTO;

/* The poll loops' wakeup: an eventfd in the zmq_poll set. <sys/eventfd.h>
 * is not part of Swift's Glibc module, so it is reached through here. */
#include <sys/eventfd.h>
static inline int atrest_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/* Names the calling thread (poll loops: visible in top -H, perf, gdb).
 * prctl is variadic, which Swift cannot call. */
#include <sys/prctl.h>
static inline void atrest_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

#endif
