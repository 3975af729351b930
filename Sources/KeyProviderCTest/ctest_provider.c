/*
 * "ctest": a complete key provider written in C against
 * atrest_key_provider.h alone (plus libcrypto for AES-256-GCM and HMAC).
 * It exists to prove the ABI needs nothing from Swift; the vault's provider
 * conformance suite runs against it exactly as against the Swift providers.
 *
 * Crypto: KEK versions are 32 random bytes; wrap = AES-256-GCM with a random
 * 12-byte nonce (nonce | ciphertext | tag); KCV = HMAC-SHA256(kek,
 * "atrest/v1/kcv") truncated to 16 bytes.
 * State blob: "CTS1" | u32 key count | per key: atrest_kp_key_info |
 * version_count * 32 bytes of material. Native byte order: the blob never
 * leaves this machine and is encrypted by the host.
 */
#include "atrest_key_provider.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ct_key {
    atrest_kp_key_info info;
    uint8_t *material;            /* version_count * 32 bytes, version v at (v-1)*32 */
} ct_key;

typedef struct ct_provider {
    const atrest_kp_host *host;
    uint32_t retention_days;
    ct_key *keys;
    size_t count;
} ct_provider;

static int32_t fail(char *msg, size_t cap, int32_t code, const char *fmt, ...) {
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void wipe_free(void *p, size_t len) {
    if (p) { OPENSSL_cleanse(p, len); free(p); }
}

static ct_key *find(ct_provider *p, const char *id) {
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->keys[i].info.key_id, id) == 0) return &p->keys[i];
    return NULL;
}

static int valid_id(const char *id) {
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= ATREST_KP_KEY_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Serialises all keys and hands them to the host. */
static int32_t save(ct_provider *p, char *msg, size_t cap) {
    size_t len = 8;
    for (size_t i = 0; i < p->count; i++) len += sizeof(atrest_kp_key_info) + p->keys[i].info.version_count * 32u;
    uint8_t *blob = malloc(len);
    if (!blob) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    memcpy(blob, "CTS1", 4);
    uint32_t n = (uint32_t)p->count;
    memcpy(blob + 4, &n, 4);
    size_t off = 8;
    for (size_t i = 0; i < p->count; i++) {
        memcpy(blob + off, &p->keys[i].info, sizeof(atrest_kp_key_info));
        off += sizeof(atrest_kp_key_info);
        memcpy(blob + off, p->keys[i].material, p->keys[i].info.version_count * 32u);
        off += p->keys[i].info.version_count * 32u;
    }
    int32_t rc = p->host->store_state(p->host->context, blob, len, msg, cap);
    wipe_free(blob, len);
    return rc;
}

static int32_t load(ct_provider *p, const uint8_t *blob, size_t len, char *msg, size_t cap) {
    uint32_t n;
    if (len < 8 || memcmp(blob, "CTS1", 4) != 0) return fail(msg, cap, ATREST_KP_CORRUPT, "ctest state has no CTS1 header");
    memcpy(&n, blob + 4, 4);
    size_t off = 8;
    for (uint32_t i = 0; i < n; i++) {
        atrest_kp_key_info info;
        if (len - off < sizeof info) return fail(msg, cap, ATREST_KP_CORRUPT, "ctest state truncated at key %u", i);
        memcpy(&info, blob + off, sizeof info);
        off += sizeof info;
        size_t mlen = (size_t)info.version_count * 32u;
        info.key_id[ATREST_KP_KEY_ID_MAX - 1] = 0;
        if (info.version_count == 0 || len - off < mlen)
            return fail(msg, cap, ATREST_KP_CORRUPT, "ctest state truncated in key '%s'", info.key_id);
        ct_key *grown = realloc(p->keys, (p->count + 1) * sizeof(ct_key));
        if (!grown) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
        p->keys = grown;
        ct_key *k = &p->keys[p->count];
        k->info = info;
        k->material = malloc(mlen);
        if (!k->material) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
        memcpy(k->material, blob + off, mlen);
        off += mlen;
        p->count++;
    }
    return ATREST_KP_OK;
}

static void ct_close(void *handle) {
    ct_provider *p = handle;
    if (!p) return;
    for (size_t i = 0; i < p->count; i++) wipe_free(p->keys[i].material, p->keys[i].info.version_count * 32u);
    free(p->keys);
    free(p);
}

static int32_t ct_open(const char *config, const atrest_kp_host *host, void **handle, char *msg, size_t cap) {
    if (!host || host->struct_size < sizeof(atrest_kp_host)) return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "host table too small");
    ct_provider *p = calloc(1, sizeof *p);
    if (!p) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    p->host = host;
    /* Only "retention_days=N" is understood. */
    if (config && *config) {
        unsigned days;
        if (sscanf(config, "retention_days=%u", &days) != 1) {
            free(p);
            return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "ctest: unknown config '%s' (only retention_days=N)", config);
        }
        p->retention_days = days;
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    int32_t rc = host->load_state(host->context, &blob, &len, msg, cap);
    if (rc == ATREST_KP_OK) {
        rc = load(p, blob, len, msg, cap);
        host->free_state(host->context, blob, len);
    } else if (rc == ATREST_KP_NOT_FOUND) {
        rc = ATREST_KP_OK;
    }
    if (rc != ATREST_KP_OK) { ct_close(p); return rc; }
    *handle = p;
    return ATREST_KP_OK;
}

static int32_t add_key(ct_provider *p, const atrest_kp_key_spec *spec, const uint8_t *material, atrest_kp_key_info *out,
                       char *msg, size_t cap) {
    if (!spec || spec->struct_size < sizeof *spec || !valid_id(spec->key_id))
        return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "key id must be 1-127 characters of A-Z a-z 0-9 . _ -");
    if (find(p, spec->key_id)) return fail(msg, cap, ATREST_KP_ALREADY_EXISTS, "key '%s' already exists", spec->key_id);
    uint8_t *m = malloc(32);
    if (!m) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    if (material) memcpy(m, material, 32);
    else if (RAND_bytes(m, 32) != 1) { free(m); return fail(msg, cap, ATREST_KP_INTERNAL, "RAND_bytes failed"); }
    ct_key *grown = realloc(p->keys, (p->count + 1) * sizeof(ct_key));
    if (!grown) { wipe_free(m, 32); return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory"); }
    p->keys = grown;
    ct_key *k = &p->keys[p->count++];
    memset(&k->info, 0, sizeof k->info);
    snprintf(k->info.key_id, sizeof k->info.key_id, "%s", spec->key_id);
    k->info.current_version = k->info.version_count = 1;
    k->info.flags = (spec->flags & ATREST_KP_FLAG_PURGE_PROTECTION) | (material ? ATREST_KP_FLAG_IMPORTED : 0);
    k->info.rotation_days = spec->rotation_days;
    k->info.retention_days = spec->retention_days ? spec->retention_days : p->retention_days;
    k->info.created_at = k->info.rotated_at = p->host->now(p->host->context);
    k->info.expires_at = spec->expires_at;
    k->material = m;
    int32_t rc = save(p, msg, cap);
    if (rc != ATREST_KP_OK) { p->count--; wipe_free(m, 32); return rc; }
    if (out) *out = k->info;
    return ATREST_KP_OK;
}

static int32_t ct_create(void *h, const atrest_kp_key_spec *spec, atrest_kp_key_info *out, char *msg, size_t cap) {
    return add_key(h, spec, NULL, out, msg, cap);
}

static int32_t ct_import(void *h, const atrest_kp_key_spec *spec, const uint8_t *material, size_t len,
                         atrest_kp_key_info *out, char *msg, size_t cap) {
    if (!material || len != 32) return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "imported key material must be 32 bytes, got %zu", len);
    return add_key(h, spec, material, out, msg, cap);
}

static int32_t lookup(ct_provider *p, const char *id, ct_key **k, char *msg, size_t cap) {
    *k = id ? find(p, id) : NULL;
    return *k ? ATREST_KP_OK : fail(msg, cap, ATREST_KP_NOT_FOUND, "key '%s' not found", id ? id : "");
}

static int32_t ct_rotate(void *h, const char *id, const uint8_t *material, size_t len, atrest_kp_key_info *out, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc) return rc;
    if (k->info.state == ATREST_KP_STATE_DELETED) return fail(msg, cap, ATREST_KP_DELETED, "key '%s' is deleted; recover it first", id);
    if (material && len != 32) return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "key material must be 32 bytes");
    size_t old = k->info.version_count * 32u;
    uint8_t *m = malloc(old + 32);
    if (!m) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    memcpy(m, k->material, old);
    if (material) memcpy(m + old, material, 32);
    else if (RAND_bytes(m + old, 32) != 1) { wipe_free(m, old + 32); return fail(msg, cap, ATREST_KP_INTERNAL, "RAND_bytes failed"); }
    atrest_kp_key_info before = k->info;
    uint8_t *prev = k->material;
    k->material = m;
    k->info.version_count++;
    k->info.current_version = k->info.version_count;
    k->info.rotated_at = p->host->now(p->host->context);
    rc = save(p, msg, cap);
    if (rc) { k->info = before; k->material = prev; wipe_free(m, old + 32); return rc; }
    wipe_free(prev, old);
    if (out) *out = k->info;
    return ATREST_KP_OK;
}

/* Applies a state change and persists it, undoing it if the store fails. */
static int32_t commit(ct_provider *p, ct_key *k, atrest_kp_key_info before, atrest_kp_key_info *out, char *msg, size_t cap) {
    int32_t rc = save(p, msg, cap);
    if (rc) { k->info = before; return rc; }
    if (out) *out = k->info;
    return ATREST_KP_OK;
}

static int32_t ct_set_state(void *h, const char *id, uint32_t state, atrest_kp_key_info *out, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc) return rc;
    if (state != ATREST_KP_STATE_ENABLED && state != ATREST_KP_STATE_DISABLED)
        return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "state must be enabled or disabled");
    if (k->info.state == ATREST_KP_STATE_DELETED) return fail(msg, cap, ATREST_KP_DELETED, "key '%s' is deleted; recover it first", id);
    atrest_kp_key_info before = k->info;
    k->info.state = state;
    return commit(p, k, before, out, msg, cap);
}

static int32_t ct_info(void *h, const char *id, atrest_kp_key_info *out, char *msg, size_t cap) {
    ct_key *k;
    int32_t rc = lookup(h, id, &k, msg, cap);
    if (rc == ATREST_KP_OK && out) *out = k->info;
    return rc;
}

static int cmp_info(const void *a, const void *b) {
    return strcmp(((const atrest_kp_key_info *)a)->key_id, ((const atrest_kp_key_info *)b)->key_id);
}

static int32_t ct_list(void *h, atrest_kp_key_info **infos, size_t *count, char *msg, size_t cap) {
    ct_provider *p = h;
    *infos = NULL;
    *count = p->count;
    if (p->count == 0) return ATREST_KP_OK;
    *infos = malloc(p->count * sizeof(atrest_kp_key_info));
    if (!*infos) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    for (size_t i = 0; i < p->count; i++) (*infos)[i] = p->keys[i].info;
    qsort(*infos, p->count, sizeof(atrest_kp_key_info), cmp_info);
    return ATREST_KP_OK;
}

static int32_t version_material(ct_key *k, uint32_t version, const uint8_t **m, char *msg, size_t cap) {
    if (version == 0) version = k->info.current_version;
    if (version > k->info.version_count)
        return fail(msg, cap, ATREST_KP_NOT_FOUND, "key '%s' has no version %u (versions 1-%u)", k->info.key_id, version, k->info.version_count);
    *m = k->material + (size_t)(version - 1) * 32u;
    return ATREST_KP_OK;
}

static int32_t ct_check_value(void *h, const char *id, uint32_t version, uint8_t kcv[ATREST_KP_KCV_SIZE], char *msg, size_t cap) {
    ct_key *k;
    const uint8_t *m;
    int32_t rc = lookup(h, id, &k, msg, cap);
    if (rc || (rc = version_material(k, version, &m, msg, cap))) return rc;
    static const char label[] = "atrest/v1/kcv";
    uint8_t mac[32];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), m, 32, (const uint8_t *)label, sizeof label - 1, mac, &mac_len))
        return fail(msg, cap, ATREST_KP_INTERNAL, "HMAC failed");
    memcpy(kcv, mac, ATREST_KP_KCV_SIZE);
    return ATREST_KP_OK;
}

static int32_t usable(ct_key *k, char *msg, size_t cap) {
    if (k->info.state == ATREST_KP_STATE_DELETED) return fail(msg, cap, ATREST_KP_DELETED, "key '%s' is deleted", k->info.key_id);
    if (k->info.state == ATREST_KP_STATE_DISABLED) return fail(msg, cap, ATREST_KP_DISABLED, "key '%s' is disabled", k->info.key_id);
    return ATREST_KP_OK;
}

/* One AES-256-GCM pass; returns 1 on success (and, when opening, a valid tag). */
static int gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1;
    int n = 0;
    if (ok && aad_len) ok = EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1;
    if (ok && len) ok = EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    if (ok) ok = EVP_CipherFinal_ex(c, out + len, &n) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static int32_t ct_wrap(void *h, const char *id, const uint8_t *pt, size_t len, const uint8_t *aad, size_t aad_len,
                       uint32_t *version, uint8_t **wrapped, size_t *wrapped_len, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    const uint8_t *m;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc || (rc = usable(k, msg, cap))) return rc;
    if (k->info.expires_at && p->host->now(p->host->context) >= k->info.expires_at)
        return fail(msg, cap, ATREST_KP_EXPIRED, "key '%s' expired; it can still unwrap but no longer wrap", id);
    if ((rc = version_material(k, 0, &m, msg, cap))) return rc;
    uint8_t *out = malloc(12 + len + 16);
    if (!out) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    if (RAND_bytes(out, 12) != 1 || !gcm(1, m, out, aad, aad_len, pt, len, out + 12, out + 12 + len)) {
        wipe_free(out, 12 + len + 16);
        return fail(msg, cap, ATREST_KP_INTERNAL, "AES-256-GCM seal failed");
    }
    *version = k->info.current_version;
    *wrapped = out;
    *wrapped_len = 12 + len + 16;
    return ATREST_KP_OK;
}

static int32_t ct_unwrap(void *h, const char *id, uint32_t version, const uint8_t *w, size_t len, const uint8_t *aad,
                         size_t aad_len, uint8_t **pt, size_t *pt_len, char *msg, size_t cap) {
    ct_key *k;
    const uint8_t *m;
    int32_t rc = lookup(h, id, &k, msg, cap);
    if (rc || (rc = usable(k, msg, cap)) || (rc = version_material(k, version, &m, msg, cap))) return rc;
    if (len < 28) return fail(msg, cap, ATREST_KP_CORRUPT, "wrapped bytes for key '%s' are too short", id);
    size_t n = len - 28;
    uint8_t *out = malloc(n ? n : 1);
    if (!out) return fail(msg, cap, ATREST_KP_INTERNAL, "out of memory");
    uint8_t tag[16];
    memcpy(tag, w + 12 + n, 16);
    if (!gcm(0, m, w, aad, aad_len, w + 12, n, out, tag)) {
        wipe_free(out, n ? n : 1);
        return fail(msg, cap, ATREST_KP_CORRUPT, "wrapped bytes for key '%s' version %u do not authenticate", id, version);
    }
    *pt = out;
    *pt_len = n;
    return ATREST_KP_OK;
}

static int32_t ct_delete(void *h, const char *id, atrest_kp_key_info *out, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc) return rc;
    if (k->info.state == ATREST_KP_STATE_DELETED) return fail(msg, cap, ATREST_KP_DELETED, "key '%s' is already deleted", id);
    atrest_kp_key_info before = k->info;
    int64_t now = p->host->now(p->host->context);
    /* The pre-delete state lives in the upper half of flags, so recover can restore it. */
    k->info.flags = (k->info.flags & 0xffffu) | (k->info.state << 16);
    k->info.state = ATREST_KP_STATE_DELETED;
    k->info.deleted_at = now;
    k->info.purge_after = now + (int64_t)k->info.retention_days * 86400;
    return commit(p, k, before, out, msg, cap);
}

static int32_t ct_recover(void *h, const char *id, atrest_kp_key_info *out, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc) return rc;
    if (k->info.state != ATREST_KP_STATE_DELETED) return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "key '%s' is not deleted", id);
    atrest_kp_key_info before = k->info;
    k->info.state = k->info.flags >> 16;
    k->info.flags &= 0xffffu;
    k->info.deleted_at = k->info.purge_after = 0;
    return commit(p, k, before, out, msg, cap);
}

static int32_t ct_purge(void *h, const char *id, char *msg, size_t cap) {
    ct_provider *p = h;
    ct_key *k;
    int32_t rc = lookup(p, id, &k, msg, cap);
    if (rc) return rc;
    if (k->info.state != ATREST_KP_STATE_DELETED)
        return fail(msg, cap, ATREST_KP_INVALID_ARGUMENT, "key '%s' must be deleted before it is purged", id);
    if ((k->info.flags & ATREST_KP_FLAG_PURGE_PROTECTION) && p->host->now(p->host->context) < k->info.purge_after)
        return fail(msg, cap, ATREST_KP_PURGE_PROTECTED, "key '%s' is purge-protected until %lld", id, (long long)k->info.purge_after);
    ct_key removed = *k;
    size_t index = (size_t)(k - p->keys);
    memmove(k, k + 1, (p->count - index - 1) * sizeof(ct_key));
    p->count--;
    rc = save(p, msg, cap);
    if (rc) { /* put it back */
        memmove(p->keys + index + 1, p->keys + index, (p->count - index) * sizeof(ct_key));
        p->keys[index] = removed;
        p->count++;
        return rc;
    }
    wipe_free(removed.material, removed.info.version_count * 32u);
    return ATREST_KP_OK;
}

static void ct_free(void *h, void *ptr, size_t len) {
    (void)h;
    wipe_free(ptr, len);
}

static const atrest_kp_v1 table = {
    .abi_version = ATREST_KP_ABI_VERSION,
    .struct_size = sizeof(atrest_kp_v1),
    .name = "ctest",
    .open = ct_open, .close = ct_close,
    .create_key = ct_create, .import_key = ct_import, .rotate = ct_rotate, .set_state = ct_set_state,
    .key_info = ct_info, .list = ct_list, .check_value = ct_check_value,
    .wrap = ct_wrap, .unwrap = ct_unwrap,
    .delete_key = ct_delete, .recover_key = ct_recover, .purge_key = ct_purge,
    .free_buffer = ct_free,
};

const atrest_kp_v1 *atrest_key_provider_v1(void) { return &table; }

/* A table from "the future": the loader must refuse it (wrong ABI version).
 * Reached only through the vault config's per-provider symbol override. */
static const atrest_kp_v1 future_table = {
    .abi_version = ATREST_KP_ABI_VERSION + 1,
    .struct_size = sizeof(atrest_kp_v1),
    .name = "ctest-future",
};

const atrest_kp_v1 *atrest_ctest_future_abi(void) { return &future_table; }
