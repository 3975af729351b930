"""Status codes and the exception a failed call raises (docs/PROTOCOL.md "Status rules")."""

import enum
from typing import Dict, Mapping, Optional


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

    code: StatusCode
    message: str
    retry_after_ms: int
    details: Dict[str, str]

    def __init__(self, code: int, message: str, retry_after_ms: int = 0, details: Optional[Mapping[str, str]] = None) -> None:
        try:
            status = StatusCode(code)
        except ValueError:
            status = StatusCode.UNKNOWN
        super().__init__(f"{status.name}: {message}")
        self.code = status
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.details = dict(details or {})
