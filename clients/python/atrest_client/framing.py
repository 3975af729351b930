"""The AtRest frames (docs/PROTOCOL.md "Frames"), independent of sockets.

A DEALER sends   [empty] ["ATR1"] [0x01] [RpcHeader] [body] [payload ...]
and receives     [empty] ["ATR1"] [0x02] [ReplyHeader] [body] [payload ...]
"""

from typing import Iterable, List, Optional, Sequence

PROTOCOL_TAG = b"ATR1"
REQUEST = b"\x01"
REPLY = b"\x02"


class Reply:
    """A reply split into its parts: the raw ReplyHeader bytes, body, payload frames."""

    __slots__ = ("header", "body", "payload")

    def __init__(self, header: bytes, body: bytes, payload: List[bytes]) -> None:
        self.header = header
        self.body = body
        self.payload = payload


def request_frames(header_bytes: bytes, body_bytes: bytes, payload: Iterable[bytes] = ()) -> List[bytes]:
    """The frames of one request, in order."""
    return [b"", PROTOCOL_TAG, REQUEST, header_bytes, body_bytes, *payload]


def parse_reply(frames: Sequence[bytes]) -> Optional[Reply]:
    """Splits a received message; None when it is not an ATR1 reply (such
    messages are dropped, as servers drop what they do not understand)."""
    if len(frames) < 4 or frames[0] != b"" or frames[1] != PROTOCOL_TAG or frames[2] != REPLY:
        return None
    body = frames[4] if len(frames) > 4 else b""
    return Reply(frames[3], body, list(frames[5:]))
