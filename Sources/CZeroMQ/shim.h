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

#endif
