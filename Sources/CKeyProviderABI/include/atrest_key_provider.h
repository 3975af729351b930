/*
 * AtRest key-provider plug-in ABI, version 1.
 *
 * A key provider is a shared library that holds key-encryption keys (KEKs)
 * and wraps/unwraps small secrets (account keys) with them. Like a PKCS#11
 * module it exports ONE symbol,
 *
 *     const atrest_kp_v1 *atrest_key_provider_v1(void);
 *
 * returning a static, immutable function table. The vault dlopen()s the
 * library (RTLD_NOW | RTLD_LOCAL), looks the symbol up, and refuses to start
 * unless abi_version == ATREST_KP_ABI_VERSION and struct_size is at least the
 * size of the table it was compiled against. New functions are only ever
 * appended, so a larger struct_size from a newer provider is fine.
 *
 * Why a C ABI: Swift has no stable ABI on Linux; C function pointers and plain
 * structs are the only thing host and plug-in can both rely on, and a provider
 * can be written in C against this header alone.
 *
 * Rules every function follows
 * - Return value: ATREST_KP_OK or one of the atrest_kp_status codes below.
 *   On failure the provider writes a NUL-terminated, user-actionable message
 *   into `msg` (capacity `msg_cap`, may be truncated). Messages name keys by
 *   id and version and NEVER contain key bytes.
 * - Threading: the host serialises all calls into one provider handle (one
 *   call at a time), so a provider needs no locks of its own. Different
 *   handles may be used from different threads.
 * - Memory: buffers a provider returns (wrapped/unwrapped bytes, key lists)
 *   are allocated by the provider and released by the host with
 *   `free_buffer(handle, ptr, len)`, which must wipe `len` bytes before
 *   freeing (they may be key material). Input pointers are only valid for the
 *   duration of the call.
 * - Persistence: a provider never writes files. It keeps its state (keys,
 *   versions, flags) as one opaque blob and hands it to `host->store_state`
 *   after EVERY change, before it returns OK; on open it reads it back with
 *   `host->load_state`. The host encrypts the blob under the vault root key
 *   (AES-256-GCM) and writes it atomically under the vault data directory, so
 *   providers never see the root key and state is encrypted at rest by one
 *   implementation. If store_state fails, the provider must undo the change in
 *   memory and return ATREST_KP_INTERNAL.
 * - Time: providers ask `host->now` (Unix seconds) instead of the system
 *   clock, so rotation, expiry and retention follow the vault's clock.
 * - Versions: version numbers start at 1 and grow by one per rotation; 0 in an
 *   argument means "the current version". Old versions stay usable for unwrap
 *   until the key is purged.
 * - Key check value (KCV): 16 bytes that identify one key version's material
 *   without revealing it (a one-way function of the key). The host stores the
 *   KCV with every wrapped blob and compares it before unwrapping, so a blob
 *   wrapped by another key with the same name fails as ATREST_KP_WRONG_KEY
 *   instead of producing garbage.
 * - Wrapped bytes returned by `wrap` are opaque to the host; the provider must
 *   authenticate them (AES-256-GCM or equivalent) together with the `aad` the
 *   host passes, and answer ATREST_KP_CORRUPT when they do not authenticate.
 *
 * Import (bring your own key): `import_key` receives the customer's key
 * material in clear, AFTER the vault has opened the import envelope (X25519 +
 * HMAC-SHA256 + AES-256-GCM, see docs/KEY-PROVIDERS.md "Import wrapping"), so
 * the envelope format is implemented once in the host. The host wipes the
 * buffer after the call; the provider must copy what it keeps.
 *
 * Configuration: `open` receives the provider's config string from the vault
 * configuration: `key=value` pairs separated by ';' (e.g.
 * "rotation_days=90;retention_days=7"). Unknown keys are an error
 * (ATREST_KP_INVALID_ARGUMENT) so typos do not go unnoticed.
 */
#ifndef ATREST_KEY_PROVIDER_H
#define ATREST_KEY_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATREST_KP_ABI_VERSION 1u
/* The symbol every provider exports. */
#define ATREST_KP_ENTRY_SYMBOL "atrest_key_provider_v1"
#define ATREST_KP_KEY_ID_MAX 128   /* bytes including the terminating NUL */
#define ATREST_KP_KCV_SIZE 16
#define ATREST_KP_KEY_SIZE 32      /* KEK and wrapped secrets are 256-bit keys */

typedef enum atrest_kp_status {
    ATREST_KP_OK = 0,
    ATREST_KP_NOT_FOUND = 1,         /* unknown key id or version */
    ATREST_KP_DISABLED = 2,          /* the key is disabled */
    ATREST_KP_REVOKED = 3,           /* the provider refuses: key access revoked */
    ATREST_KP_EXPIRED = 4,           /* the key is past its expiry date (wrap only) */
    ATREST_KP_DELETED = 5,           /* the key is soft-deleted (recover it first) */
    ATREST_KP_PURGE_PROTECTED = 6,   /* purge refused before the retention ends */
    ATREST_KP_WRONG_KEY = 7,         /* the blob was wrapped by a different key */
    ATREST_KP_CORRUPT = 8,           /* wrapped bytes or state do not authenticate/parse */
    ATREST_KP_INVALID_ARGUMENT = 9,  /* bad argument or config */
    ATREST_KP_INTERNAL = 10,         /* anything else (I/O, crypto library) */
    ATREST_KP_ALREADY_EXISTS = 11,   /* create/import of an existing key id */
    ATREST_KP_UNSUPPORTED = 12       /* the provider does not offer this operation */
} atrest_kp_status;

typedef enum atrest_kp_key_state {
    ATREST_KP_STATE_ENABLED = 0,
    ATREST_KP_STATE_DISABLED = 1,
    ATREST_KP_STATE_DELETED = 2      /* soft-deleted, recoverable until purged */
} atrest_kp_key_state;

/* Key flags. */
#define ATREST_KP_FLAG_PURGE_PROTECTION 0x1u  /* purge refused until purge_after */
#define ATREST_KP_FLAG_IMPORTED 0x2u          /* material came from the customer */

/* Services the host offers a provider. All callbacks are thread-safe. */
typedef struct atrest_kp_host {
    uint32_t struct_size;            /* sizeof(atrest_kp_host) */
    void *context;                   /* passed back to every callback */
    /* Reads the provider's last stored state. Returns ATREST_KP_OK with
     * data and len set (release with free_state), ATREST_KP_NOT_FOUND on first
     * start (nothing stored yet), or ATREST_KP_CORRUPT / ATREST_KP_INTERNAL
     * with a message when the state file cannot be read or authenticated. */
    int32_t (*load_state)(void *context, uint8_t **data, size_t *len, char *msg, size_t msg_cap);
    void (*free_state)(void *context, uint8_t *data, size_t len);
    /* Encrypts and atomically replaces the provider's state. */
    int32_t (*store_state)(void *context, const uint8_t *data, size_t len, char *msg, size_t msg_cap);
    /* Current time, Unix seconds. */
    int64_t (*now)(void *context);
} atrest_kp_host;

/* What create_key and import_key are asked to make. */
typedef struct atrest_kp_key_spec {
    uint32_t struct_size;            /* sizeof(atrest_kp_key_spec) */
    const char *key_id;              /* [A-Za-z0-9._-], 1..127 bytes */
    int64_t expires_at;              /* Unix seconds; 0 = never */
    uint32_t rotation_days;          /* automatic rotation period; 0 = provider default */
    uint32_t retention_days;         /* soft-delete retention; 0 = provider default */
    uint32_t flags;                  /* ATREST_KP_FLAG_PURGE_PROTECTION */
} atrest_kp_key_spec;

/* One key as the provider describes it. Plain data, no pointers. */
typedef struct atrest_kp_key_info {
    char key_id[ATREST_KP_KEY_ID_MAX];
    uint32_t current_version;        /* newest version, used by wrap */
    uint32_t version_count;          /* versions kept (1..current_version) */
    uint32_t state;                  /* atrest_kp_key_state */
    uint32_t flags;                  /* ATREST_KP_FLAG_* */
    uint32_t rotation_days;          /* 0 = no automatic rotation */
    uint32_t retention_days;
    int64_t created_at;
    int64_t rotated_at;              /* when current_version was made */
    int64_t expires_at;              /* 0 = never */
    int64_t deleted_at;              /* 0 unless state == DELETED */
    int64_t purge_after;             /* earliest purge when purge-protected */
} atrest_kp_key_info;

typedef struct atrest_kp_v1 atrest_kp_v1;

struct atrest_kp_v1 {
    uint32_t abi_version;            /* ATREST_KP_ABI_VERSION */
    uint32_t struct_size;            /* sizeof(atrest_kp_v1) */
    const char *name;                /* provider name, e.g. "customer" */

    /* Creates a provider instance. `config` is the key=value string (may be
     * empty, never NULL); `host` outlives the handle. Loads state through the
     * host; on first start (load_state says NOT_FOUND) starts empty. */
    int32_t (*open)(const char *config, const atrest_kp_host *host, void **handle, char *msg, size_t msg_cap);
    /* Releases the instance; wipes key material held in memory. */
    void (*close)(void *handle);

    /* Generates a new random key (version 1). ATREST_KP_ALREADY_EXISTS when
     * the id exists (also when soft-deleted). */
    int32_t (*create_key)(void *handle, const atrest_kp_key_spec *spec, atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* Stores customer material as version 1 (len must be ATREST_KP_KEY_SIZE).
     * ATREST_KP_UNSUPPORTED when the provider does not take imports. */
    int32_t (*import_key)(void *handle, const atrest_kp_key_spec *spec, const uint8_t *material, size_t len,
                          atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* Adds a new current version; older versions stay for unwrap. With
     * material == NULL the provider generates it; otherwise (BYOK rotation)
     * it is imported material of ATREST_KP_KEY_SIZE bytes. */
    int32_t (*rotate)(void *handle, const char *key_id, const uint8_t *material, size_t len,
                      atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* ATREST_KP_STATE_ENABLED or ATREST_KP_STATE_DISABLED. */
    int32_t (*set_state)(void *handle, const char *key_id, uint32_t state, atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* Describes one key (also when disabled or soft-deleted). */
    int32_t (*key_info)(void *handle, const char *key_id, atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* All keys, including soft-deleted ones, sorted by id. *infos is an
     * array of *count entries (NULL when 0), freed with free_buffer
     * (len = count * sizeof(atrest_kp_key_info)). */
    int32_t (*list)(void *handle, atrest_kp_key_info **infos, size_t *count, char *msg, size_t msg_cap);
    /* The KCV of one version (0 = current); works in every state. */
    int32_t (*check_value)(void *handle, const char *key_id, uint32_t version, uint8_t kcv[ATREST_KP_KCV_SIZE],
                           char *msg, size_t msg_cap);

    /* Wraps `plaintext` with the key's CURRENT version, binding `aad`.
     * Refused with DISABLED, DELETED, EXPIRED or REVOKED as applicable.
     * *version receives the version used. */
    int32_t (*wrap)(void *handle, const char *key_id, const uint8_t *plaintext, size_t len,
                    const uint8_t *aad, size_t aad_len, uint32_t *version, uint8_t **wrapped, size_t *wrapped_len,
                    char *msg, size_t msg_cap);
    /* Unwraps bytes produced by wrap with `version`. DISABLED/DELETED/REVOKED
     * as applicable (an expired key still unwraps, so old data stays
     * readable); NOT_FOUND for an unknown version; CORRUPT when the bytes
     * or aad do not authenticate. */
    int32_t (*unwrap)(void *handle, const char *key_id, uint32_t version, const uint8_t *wrapped, size_t len,
                      const uint8_t *aad, size_t aad_len, uint8_t **plaintext, size_t *plaintext_len,
                      char *msg, size_t msg_cap);

    /* Soft delete: the key stops working and can be recovered until purged.
     * The retention period starts now. */
    int32_t (*delete_key)(void *handle, const char *key_id, atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* Undoes delete_key; the key comes back in the state it had. */
    int32_t (*recover_key)(void *handle, const char *key_id, atrest_kp_key_info *out, char *msg, size_t msg_cap);
    /* Destroys a soft-deleted key and all its versions for good.
     * ATREST_KP_PURGE_PROTECTED before purge_after when purge protection is
     * on; ATREST_KP_INVALID_ARGUMENT when the key is not deleted first. */
    int32_t (*purge_key)(void *handle, const char *key_id, char *msg, size_t msg_cap);

    /* Wipes and frees a buffer returned by wrap, unwrap or list. */
    void (*free_buffer)(void *handle, void *ptr, size_t len);
};

/* The one exported entry point. */
typedef const atrest_kp_v1 *(*atrest_kp_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* ATREST_KEY_PROVIDER_H */
