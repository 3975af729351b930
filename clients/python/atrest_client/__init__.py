"""A small AtRest client for Python: pyzmq + the protobuf classes generated
from proto/atrest/v1 (docs/PROTOCOL.md is the contract it follows)."""

from .client import AtRestClient, Int32
from .connection import IDEMPOTENT_METHODS, MAX_BLOCK_BYTES, Connection, CurveKeys, RetryPolicy
from .errors import RpcError, StatusCode
from .protos import generate

__all__ = ["AtRestClient", "Int32", "Connection", "CurveKeys", "RetryPolicy", "RpcError", "StatusCode",
           "IDEMPOTENT_METHODS", "MAX_BLOCK_BYTES", "generate"]
