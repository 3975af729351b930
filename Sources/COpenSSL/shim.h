#ifndef ATREST_COPENSSL_SHIM_H
#define ATREST_COPENSSL_SHIM_H
/* libcrypto only: AtRest never uses libssl (transport security is CURVE). */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#endif
