"""Status codes and the exception a failed call raises (docs/PROTOCOL.md "Status rules")."""

import enum


class StatusCode(enum.IntEnum):
    """gRPC status codes, the values of RpcStatus.code."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class RpcError(Exception):
    """A call that did not end with OK: the server's status, or one the client
    made itself (DEADLINE_EXCEEDED when no reply came in time, UNAVAILABLE when
    the message could not be sent)."""

    def __init__(self, code, message, retry_after_ms=0, details=None):
        try:
            code = StatusCode(code)
        except ValueError:
            code = StatusCode.UNKNOWN
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.details = dict(details or {})
