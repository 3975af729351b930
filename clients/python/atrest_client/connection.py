"""One DEALER connection to an AtRest endpoint (usually the front door).

Calls are synchronous but the wire is not: each request carries 16 random
call-id bytes and only the reply with the same id answers it, so a late
reply of a call that already timed out is recognised and dropped."""

import os
import random
import time
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple

import zmq

from . import framing, protos
from .errors import RpcError, StatusCode

# A generated protobuf message (the atrest.v1 classes are made by protoc at
# build time, so they are typed as Any here).
Message = Any

# docs/PROTOCOL.md "Limits and large payloads".
MAX_MESSAGE_BYTES = 8 << 20
MAX_PAYLOAD_BYTES = (8 << 20) - (64 << 10)
MAX_BLOCK_BYTES = 4 << 20

# Methods that may run twice without harm: retried on UNAVAILABLE without an
# idempotency key (docs/PROTOCOL.md "Retries" and the per-method tables).
IDEMPOTENT_METHODS = frozenset({
    "atrest.v1.Blob/ListContainers", "atrest.v1.Blob/Get", "atrest.v1.Blob/GetProperties",
    "atrest.v1.Blob/List", "atrest.v1.Blob/StageBlock",
    "atrest.v1.Identity/Keys", "atrest.v1.Identity/WhoAmI", "atrest.v1.Identity/Login",
    "atrest.v1.Account/Get", "atrest.v1.Account/List", "atrest.v1.Account/GetEncryption",
    "atrest.v1.Table/ListTables", "atrest.v1.Table/GetEntity", "atrest.v1.Table/QueryEntities",
    "atrest.v1.Disk/ListDisks", "atrest.v1.Disk/GetDiskProperties", "atrest.v1.Disk/PutPages",
    "atrest.v1.Disk/ClearPages", "atrest.v1.Disk/GetPages", "atrest.v1.Disk/ListPageRanges",
})


class RetryPolicy:
    """At most max_attempts, backoff base * 2^n capped, full jitter, never
    sooner than the server's retry_after_ms, never past the deadline."""

    def __init__(self, max_attempts: int = 4, base_ms: int = 50, cap_ms: int = 1000) -> None:
        self.max_attempts = max_attempts
        self.base_ms = base_ms
        self.cap_ms = cap_ms

    def delay_seconds(self, attempt: int, retry_after_ms: int) -> float:
        ceiling = min(self.cap_ms, self.base_ms * (2 ** (attempt - 1)))
        return max(random.uniform(0, ceiling), retry_after_ms) / 1000.0


class CurveKeys:
    """CURVE for a server that has keys: its public key and this client's key
    pair (Z85 text, 40 characters each). The server admits only client public
    keys on its allow-list; a refused client sees DEADLINE_EXCEEDED."""

    def __init__(self, server_public_key: str, public_key: str, secret_key: str) -> None:
        for name, key in (("server", server_public_key), ("client public", public_key), ("client secret", secret_key)):
            if len(key) != 40:
                raise ValueError(f"CURVE {name} key must be 40 characters of Z85")
        self.server_public_key = server_public_key
        self.public_key = public_key
        self.secret_key = secret_key

    @staticmethod
    def generate_client(server_public_key: str) -> "CurveKeys":
        """A fresh client key pair (register its public key with the server)."""
        public, secret = zmq.curve_keypair()
        return CurveKeys(server_public_key, public.decode(), secret.decode())

    def __repr__(self) -> str:
        return f"CurveKeys(server={self.server_public_key}, public={self.public_key}, secret=<redacted>)"


class Connection:
    """A DEALER socket to one endpoint plus the call machinery."""

    def __init__(self, endpoint: str, curve: Optional[CurveKeys] = None, default_timeout: float = 30.0,
                 retry: Optional[RetryPolicy] = None, context: "Optional[zmq.Context[Any]]" = None) -> None:
        self._envelope, *_ = protos.load()
        self.endpoint = endpoint
        self.default_timeout = default_timeout
        self.retry = retry or RetryPolicy()
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        s = self._socket
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        s.setsockopt(zmq.HEARTBEAT_IVL, 2000)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 6000)
        s.setsockopt(zmq.HEARTBEAT_TTL, 6000)
        if curve is not None:
            s.setsockopt(zmq.CURVE_SERVERKEY, curve.server_public_key.encode())
            s.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key.encode())
            s.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key.encode())
        s.connect(endpoint)

    def close(self) -> None:
        self._socket.close(0)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, request: Message, response_type: Callable[[], Message], payload: Iterable[bytes] = (),
             metadata: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
             idempotent: Optional[bool] = None, idempotency_key: str = "") -> Tuple[Message, List[bytes]]:
        """Sends `request` (a protobuf message) to `method` and returns
        (response, payload frames). Raises RpcError on any non-OK status.

        All attempts share one deadline (`timeout` seconds). UNAVAILABLE is
        retried only when the method is idempotent or an idempotency key is
        given, because a call that failed that way may have taken effect."""
        deadline = time.monotonic() + (self.default_timeout if timeout is None else timeout)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        retryable = idempotent or bool(idempotency_key)
        body = request.SerializeToString()
        parts = [bytes(p) for p in payload]
        attempt = 1
        while True:
            try:
                reply = self._attempt(method, body, parts, metadata or {}, deadline, attempt, idempotency_key)
                response = response_type()
                response.ParseFromString(reply.body)
                return response, reply.payload
            except RpcError as error:
                if error.code != StatusCode.UNAVAILABLE or not retryable or attempt >= self.retry.max_attempts:
                    raise
                wait = self.retry.delay_seconds(attempt, error.retry_after_ms)
                if time.monotonic() + wait >= deadline:
                    raise
                time.sleep(wait)
                attempt += 1

    def _attempt(self, method: str, body: bytes, payload: List[bytes], metadata: Mapping[str, str], deadline: float,
                 attempt: int, idempotency_key: str) -> framing.Reply:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise RpcError(StatusCode.DEADLINE_EXCEEDED, f"{method}: the deadline passed before the call was sent")
        header = self._envelope.RpcHeader(
            method=method, call_id=os.urandom(16), idempotency_key=idempotency_key,
            attempt=attempt, timeout_ms=left_ms)
        header.metadata.update(metadata)
        frames = framing.request_frames(header.SerializeToString(), body, payload)
        try:
            self._socket.send_multipart(frames, flags=zmq.DONTWAIT, copy=len(body) < 4096)
        except zmq.Again:
            raise RpcError(StatusCode.UNAVAILABLE, f"{method}: not connected to {self.endpoint}")
        return self._await_reply(method, header.call_id, deadline)

    def _await_reply(self, method: str, call_id: bytes, deadline: float) -> framing.Reply:
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or not self._socket.poll(left_ms, zmq.POLLIN):
                raise RpcError(StatusCode.DEADLINE_EXCEEDED, f"{method} did not answer within its deadline")
            reply = framing.parse_reply(self._socket.recv_multipart())
            if reply is None:
                continue
            header = self._envelope.ReplyHeader()
            try:
                header.ParseFromString(reply.header)
            except Exception:
                continue
            if header.call_id != call_id:
                continue  # a late reply of an earlier call that timed out
            status = header.status
            if status.code != StatusCode.OK:
                raise RpcError(status.code, status.message, status.retry_after_ms, status.details)
            return reply
