/*
 * AtRest from C: log in, Put a blob, Get it back whole and as a range, and
 * compare. libzmq (DEALER) + protobuf-c with the generated code committed in
 * Sources/CAtRestProto; docs/PROTOCOL.md is the contract followed here.
 *
 *   cc -std=c11 -O1 -I Sources/CAtRestProto/include clients/c/atrest_put_get.c \
 *      Sources/CAtRestProto/atrest/v1/{envelope,identity,blob}.pb-c.c -lzmq -lprotobuf-c -o atrest_put_get
 *   ./atrest_put_get ENDPOINT TENANT USER SECRET_FILE ACCOUNT CONTAINER BLOB SIZE
 *
 * ATREST_CALL_TIMEOUT_MS in the environment sets each call's deadline (30000);
 * ATREST_CURVE_SERVER_KEY, ATREST_CURVE_PUBLIC_KEY and ATREST_CURVE_SECRET_KEY
 * (Z85, 40 characters each) turn CURVE on (docs/PROTOCOL.md "CURVE").
 *
 * The account and container must exist. Blob bytes are
 * pattern(i) = (i * 7 + (i >> 11)) & 0xff. Prints one "ok ..." line per step;
 * a failed call prints "error method=... code=N message=..." and exits 1.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zmq.h>

#include "atrest/v1/blob.pb-c.h"
#include "atrest/v1/envelope.pb-c.h"
#include "atrest/v1/identity.pb-c.h"

static int64_t call_timeout_ms = 30000; /* each call's deadline; ATREST_CALL_TIMEOUT_MS */
#define MAX_MESSAGE_BYTES (8 << 20)

/* A reply: status, the body (a protobuf message) and the payload frames joined. */
struct reply {
    int code;
    char message[512];
    uint8_t *body;
    size_t body_len;
    uint8_t *payload;
    size_t payload_len;
};

static void reply_free(struct reply *r) {
    free(r->body);
    free(r->payload);
    memset(r, 0, sizeof *r);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Never blocks: `call` waits for ZMQ_POLLOUT (with its deadline) first, and
 * the later frames of a message always go once the first one did. */
static int send_frame(void *sock, const void *data, size_t len, int more) {
    return zmq_send(sock, data, len, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* Receives one whole multipart message; returns the number of frames, or -1. */
static int recv_message(void *sock, zmq_msg_t *frames, int max_frames) {
    int count = 0;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) { zmq_msg_close(&part); return -1; }
        int more = zmq_msg_more(&part);
        if (count < max_frames) frames[count++] = part; else zmq_msg_close(&part);
        if (!more) return count;
    }
}

/*
 * One call: [empty]["ATR1"][0x01][RpcHeader][body][payload] out, then waits
 * (zmq_poll, with the deadline) for the reply whose call_id matches.
 * Returns 0 when a reply arrived (its status in r->code), -1 on a local error.
 */
static int call(void *sock, const char *method, const ProtobufCMessage *request, const uint8_t *payload,
                size_t payload_len, const char *token, const char *account, struct reply *r) {
    memset(r, 0, sizeof *r);
    uint8_t call_id[16];
    if (getrandom(call_id, sizeof call_id, 0) != sizeof call_id) return -1;

    char bearer[4096];
    snprintf(bearer, sizeof bearer, "Bearer %s", token ? token : "");
    Atrest__V1__RpcHeader__MetadataEntry auth = ATREST__V1__RPC_HEADER__METADATA_ENTRY__INIT;
    auth.key = "authorization";
    auth.value = bearer;
    Atrest__V1__RpcHeader__MetadataEntry acct = ATREST__V1__RPC_HEADER__METADATA_ENTRY__INIT;
    acct.key = "account";
    acct.value = (char *)account;
    Atrest__V1__RpcHeader__MetadataEntry *entries[2];
    size_t n_entries = 0;
    if (token) entries[n_entries++] = &auth;
    if (account) entries[n_entries++] = &acct;

    int64_t deadline = now_ms() + call_timeout_ms;
    Atrest__V1__RpcHeader header = ATREST__V1__RPC_HEADER__INIT;
    header.method = (char *)method;
    header.call_id.data = call_id;
    header.call_id.len = sizeof call_id;
    header.attempt = 1;
    header.timeout_ms = (uint32_t)call_timeout_ms;
    header.n_metadata = n_entries;
    header.metadata = entries;

    size_t header_len = protobuf_c_message_get_packed_size((const ProtobufCMessage *)&header);
    size_t body_len = protobuf_c_message_get_packed_size(request);
    uint8_t *header_buf = malloc(header_len + 1), *body_buf = malloc(body_len + 1);
    protobuf_c_message_pack((const ProtobufCMessage *)&header, header_buf);
    protobuf_c_message_pack(request, body_buf);
    /* A DEALER whose handshake was refused (CURVE key not allowed, wrong
     * mechanism) has no connection and libzmq does not reconnect: a blocking
     * send would wait forever (docs/PROTOCOL.md "Writing a client"). */
    zmq_pollitem_t writable = {sock, 0, ZMQ_POLLOUT, 0};
    int64_t wait = deadline - now_ms();
    if (wait <= 0 || zmq_poll(&writable, 1, (long)wait) <= 0) {
        free(header_buf);
        free(body_buf);
        r->code = 4; /* DEADLINE_EXCEEDED */
        snprintf(r->message, sizeof r->message, "%s could not be sent before its deadline: not connected", method);
        return 0;
    }
    const uint8_t command = 0x01; /* REQUEST */
    int failed = send_frame(sock, "", 0, 1) || send_frame(sock, "ATR1", 4, 1) || send_frame(sock, &command, 1, 1)
        || send_frame(sock, header_buf, header_len, 1) || send_frame(sock, body_buf, body_len, payload_len > 0)
        || (payload_len > 0 && send_frame(sock, payload, payload_len, 0));
    free(header_buf);
    free(body_buf);
    if (failed) return -1;

    for (;;) {
        int64_t left = deadline - now_ms();
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&item, 1, (long)left) <= 0) {
            r->code = 4; /* DEADLINE_EXCEEDED: no reply in time */
            snprintf(r->message, sizeof r->message, "%s did not answer within its deadline", method);
            return 0;
        }
        zmq_msg_t frames[70];
        int count = recv_message(sock, frames, 70);
        if (count < 0) return -1;
        /* [empty]["ATR1"][0x02][ReplyHeader][body][payload...] */
        int ok = count >= 4 && zmq_msg_size(&frames[0]) == 0 && zmq_msg_size(&frames[1]) == 4
            && memcmp(zmq_msg_data(&frames[1]), "ATR1", 4) == 0 && zmq_msg_size(&frames[2]) == 1
            && *(uint8_t *)zmq_msg_data(&frames[2]) == 0x02;
        Atrest__V1__ReplyHeader *rh = ok ? atrest__v1__reply_header__unpack(NULL, zmq_msg_size(&frames[3]), zmq_msg_data(&frames[3])) : NULL;
        int mine = rh && rh->call_id.len == sizeof call_id && memcmp(rh->call_id.data, call_id, sizeof call_id) == 0;
        if (mine) {
            r->code = rh->status ? rh->status->code : 0;
            snprintf(r->message, sizeof r->message, "%s", rh->status && rh->status->message ? rh->status->message : "");
            if (count > 4) {
                r->body_len = zmq_msg_size(&frames[4]);
                r->body = malloc(r->body_len + 1);
                memcpy(r->body, zmq_msg_data(&frames[4]), r->body_len);
            }
            for (int i = 5; i < count; i++) r->payload_len += zmq_msg_size(&frames[i]);
            r->payload = malloc(r->payload_len + 1);
            size_t at = 0;
            for (int i = 5; i < count; i++) {
                memcpy(r->payload + at, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
                at += zmq_msg_size(&frames[i]);
            }
        }
        if (rh) atrest__v1__reply_header__free_unpacked(rh, NULL);
        for (int i = 0; i < count; i++) zmq_msg_close(&frames[i]);
        if (mine) return 0; /* otherwise: a stale reply; keep waiting */
    }
}

/* Prints the failure and returns 1 when the call did not end OK. */
static int failed(const char *method, int rc, const struct reply *r) {
    if (rc != 0) { fprintf(stdout, "error method=%s code=-1 message=%s\n", method, zmq_strerror(zmq_errno())); return 1; }
    if (r->code != 0) { fprintf(stdout, "error method=%s code=%d message=%s\n", method, r->code, r->message); return 1; }
    return 0;
}

static char *read_secret(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char secret[1024];
    size_t n = fread(secret, 1, sizeof secret - 1, f);
    fclose(f);
    while (n > 0 && (secret[n - 1] == '\n' || secret[n - 1] == '\r' || secret[n - 1] == ' ')) n--;
    secret[n] = 0;
    return secret;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: %s ENDPOINT TENANT USER SECRET_FILE ACCOUNT CONTAINER BLOB SIZE\n", argv[0]);
        return 2;
    }
    const char *timeout = getenv("ATREST_CALL_TIMEOUT_MS");
    if (timeout && strtoll(timeout, NULL, 10) > 0) call_timeout_ms = strtoll(timeout, NULL, 10);
    const char *endpoint = argv[1], *tenant = argv[2], *user = argv[3], *account = argv[5];
    const char *container = argv[6], *name = argv[7];
    size_t size = strtoull(argv[8], NULL, 10);
    char *secret = read_secret(argv[4]);
    if (!secret) { fprintf(stderr, "cannot read %s\n", argv[4]); return 2; }

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, ivl = 2000, hb_timeout = 6000;
    int64_t max_message = MAX_MESSAGE_BYTES;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
    const char *server_key = getenv("ATREST_CURVE_SERVER_KEY"), *public_key = getenv("ATREST_CURVE_PUBLIC_KEY");
    const char *secret_key = getenv("ATREST_CURVE_SECRET_KEY");
    if (server_key && public_key && secret_key) {
        /* Z85 text with its terminating NUL (41 bytes). */
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, strlen(server_key) + 1) != 0
            || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, strlen(public_key) + 1) != 0
            || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, strlen(secret_key) + 1) != 0) {
            fprintf(stdout, "error curve %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
    }
    if (zmq_connect(sock, endpoint) != 0) { fprintf(stdout, "error connect %s\n", zmq_strerror(zmq_errno())); return 1; }

    struct reply r;
    int rc, status = 1;
    uint8_t *data = malloc(size + 1);
    for (size_t i = 0; i < size; i++) data[i] = (uint8_t)((i * 7 + (i >> 11)) & 0xff);

    /* Identity/Login (no token needed). */
    Atrest__V1__IdentityLoginRequest login = ATREST__V1__IDENTITY_LOGIN_REQUEST__INIT;
    login.tenant = (char *)tenant;
    login.client_id = (char *)user;
    login.secret = secret;
    rc = call(sock, "atrest.v1.Identity/Login", (ProtobufCMessage *)&login, NULL, 0, NULL, NULL, &r);
    if (failed("Identity/Login", rc, &r)) goto out;
    Atrest__V1__IdentityToken *token = atrest__v1__identity_token__unpack(NULL, r.body_len, r.body);
    reply_free(&r);
    if (!token) { printf("error login reply is not an IdentityToken\n"); goto out; }
    printf("ok login principal=%s\n", token->principal_id);

    /* Blob/Put: the bytes travel as one payload frame, never inside protobuf. */
    Atrest__V1__BlobPutRequest put = ATREST__V1__BLOB_PUT_REQUEST__INIT;
    put.container = (char *)container;
    put.name = (char *)name;
    put.content_type = "application/octet-stream";
    rc = call(sock, "atrest.v1.Blob/Put", (ProtobufCMessage *)&put, data, size, token->token, account, &r);
    if (failed("Blob/Put", rc, &r)) goto out_token;
    Atrest__V1__BlobProperties *props = atrest__v1__blob_properties__unpack(NULL, r.body_len, r.body);
    reply_free(&r);
    if (!props || props->length != size) { printf("error put stored %llu bytes\n", props ? (unsigned long long)props->length : 0ULL); goto out_token; }
    printf("ok put name=%s length=%llu\n", props->name, (unsigned long long)props->length);
    atrest__v1__blob_properties__free_unpacked(props, NULL);

    /* Blob/Get, whole. */
    Atrest__V1__BlobGetRequest get = ATREST__V1__BLOB_GET_REQUEST__INIT;
    get.container = (char *)container;
    get.name = (char *)name;
    rc = call(sock, "atrest.v1.Blob/Get", (ProtobufCMessage *)&get, NULL, 0, token->token, account, &r);
    if (failed("Blob/Get", rc, &r)) goto out_token;
    int equal = r.payload_len == size && memcmp(r.payload, data, size) == 0;
    printf("ok get length=%zu equal=%d\n", r.payload_len, equal);
    reply_free(&r);
    if (!equal) goto out_token;

    /* Blob/Get, a range in the middle: [size/3, size/3 + 1000). */
    get.has_range = 1;
    get.offset = size / 3;
    get.length = 1000;
    rc = call(sock, "atrest.v1.Blob/Get", (ProtobufCMessage *)&get, NULL, 0, token->token, account, &r);
    if (failed("Blob/Get", rc, &r)) goto out_token;
    Atrest__V1__BlobGetResponse *ranged = atrest__v1__blob_get_response__unpack(NULL, r.body_len, r.body);
    size_t expect = size - get.offset < 1000 ? size - get.offset : 1000;
    equal = ranged && ranged->offset == get.offset && r.payload_len == expect
        && memcmp(r.payload, data + get.offset, expect) == 0;
    printf("ok range offset=%llu length=%zu equal=%d\n", (unsigned long long)get.offset, r.payload_len, equal);
    if (ranged) atrest__v1__blob_get_response__free_unpacked(ranged, NULL);
    reply_free(&r);
    if (!equal) goto out_token;

    /* A status is data: a missing blob answers NOT_FOUND (5). */
    get.name = "no-such-blob";
    get.has_range = 0;
    rc = call(sock, "atrest.v1.Blob/Get", (ProtobufCMessage *)&get, NULL, 0, token->token, account, &r);
    if (rc == 0) printf("ok missing code=%d\n", r.code);
    reply_free(&r);
    status = 0;
    printf("done\n");
out_token:
    atrest__v1__identity_token__free_unpacked(token, NULL);
out:
    free(data);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return status;
}
