"""The AtRest API for Python programs, over one front-door connection.

    client = AtRestClient("tcp://127.0.0.1:7400")
    client.login("t1", "alice", secret)
    client.create_account("acct-a")
    client.create_container("acct-a", "photos")
    client.put_blob("acct-a", "photos", "x.bin", data)      # staged blocks when large
    data = client.get_blob("acct-a", "photos", "x.bin")     # ranged reads of one block
"""

import datetime
import hashlib
import time
import uuid
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import protos
from .connection import MAX_BLOCK_BYTES, MAX_PAYLOAD_BYTES, Connection, CurveKeys, Message

# What the client takes as bytes.
Bytes = Union[bytes, bytearray, memoryview]
# A table property value (see "Tables" below) and an entity as returned.
PropertyValue = Union[str, bool, int, float, bytes, bytearray, datetime.datetime, uuid.UUID]
Entity = Dict[str, Any]


class AtRestClient:
    # Re-login when the token has less than this many seconds left.
    REFRESH_MARGIN_SECONDS = 60

    def __init__(self, endpoint: str, curve: Optional[CurveKeys] = None, timeout: float = 30.0,
                 block_size: int = MAX_BLOCK_BYTES) -> None:
        if not 0 < block_size <= MAX_BLOCK_BYTES:
            raise ValueError(f"block_size must be 1..{MAX_BLOCK_BYTES}")
        self.connection = Connection(endpoint, curve=curve, default_timeout=timeout)
        self.block_size = block_size
        self.envelope, self.identity, self.account, self.blob, self.vault = protos.load()
        self._credentials: Optional[Tuple[str, str, str]] = None
        self._token: Optional[Message] = None

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "AtRestClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Tokens -----------------------------------------------------------------

    def login(self, tenant: str, client_id: str, secret: str) -> Message:
        """Identity/Login with client credentials; keeps the credentials in
        memory to log in again shortly before the token expires (tokens are
        short-lived signed JWS; there is no separate refresh token)."""
        self._credentials = (tenant, client_id, secret)
        return self._login()

    def _login(self) -> Message:
        if self._credentials is None:
            raise RuntimeError("call login() first")
        tenant, client_id, secret = self._credentials
        request = self.identity.IdentityLoginRequest(tenant=tenant, client_id=client_id, secret=secret)
        token, _ = self.connection.call("atrest.v1.Identity/Login", request, self.identity.IdentityToken)
        self._token = token
        return token

    def _auth(self, account: Optional[str] = None) -> Dict[str, str]:
        if self._token is None:
            raise RuntimeError("call login() first")
        if self._credentials and self._token.expires_at_unix - time.time() < self.REFRESH_MARGIN_SECONDS:
            self._login()
        metadata = {"authorization": "Bearer " + self._token.token}
        if account is not None:
            metadata["account"] = account
        return metadata

    def call(self, method: str, request: Message, response_type: Callable[[], Message], account: Optional[str] = None,
             **options: Any) -> Tuple[Message, List[bytes]]:
        """Any method with the current token (and account metadata for Blob calls)."""
        return self.connection.call(method, request, response_type, metadata=self._auth(account), **options)

    def whoami(self) -> Message:
        return self.call("atrest.v1.Identity/WhoAmI", self.envelope.Empty(), self.identity.IdentityWhoAmI)[0]

    # Accounts ---------------------------------------------------------------

    def create_account(self, account_id: str) -> Message:
        request = self.account.AccountCreateRequest(account_id=account_id)
        return self.call("atrest.v1.Account/Create", request, self.account.AccountInfo)[0]

    def get_account(self, account_id: str) -> Message:
        request = self.account.AccountRequest(account_id=account_id)
        return self.call("atrest.v1.Account/Get", request, self.account.AccountInfo)[0]

    # Containers -------------------------------------------------------------

    def create_container(self, account: str, container: str) -> None:
        request = self.blob.ContainerRequest(container=container)
        self.call("atrest.v1.Blob/CreateContainer", request, self.envelope.Empty, account=account)

    def list_containers(self, account: str) -> List[str]:
        reply, _ = self.call("atrest.v1.Blob/ListContainers", self.envelope.Empty(),
                             self.blob.ContainerListResponse, account=account)
        return list(reply.containers)

    # Blobs ------------------------------------------------------------------

    @staticmethod
    def _customer_key(request: Message, encryption_key: Optional[Bytes]) -> Message:
        """Sets a request's customer-provided key (32 bytes) and its SHA-256
        (docs/PROTOCOL.md "Customer-provided keys"); None: no key."""
        if encryption_key is None:
            return request
        key = bytes(encryption_key)
        if len(key) != 32:
            raise ValueError("encryption_key must be 32 bytes (AES-256)")
        request.encryption_key = key
        request.encryption_key_sha256 = hashlib.sha256(key).digest()
        return request

    def put_blob(self, account: str, container: str, name: str, data: Bytes, content_type: str = "",
                 metadata: Optional[Mapping[str, str]] = None, idempotency_key: str = "",
                 encryption_key: Optional[Bytes] = None) -> Message:
        """One Put when the data fits one block, else StageBlock per block and
        CommitBlocks. Returns the BlobProperties. With `encryption_key` (32
        bytes, a customer-provided key; CURVE connections only) the blob
        must fit one Put, and every read needs the same key."""
        data = bytes(data)
        if encryption_key is not None and len(data) > min(self.block_size, MAX_PAYLOAD_BYTES):
            raise ValueError("a blob written with a customer-provided key must fit one Put")
        if len(data) <= min(self.block_size, MAX_PAYLOAD_BYTES):
            request = self.blob.BlobPutRequest(container=container, name=name, content_type=content_type,
                                               content_hash=hashlib.sha256(data).digest())
            self._customer_key(request, encryption_key)
            request.metadata.update(metadata or {})
            payload = [data] if data else []
            return self.call("atrest.v1.Blob/Put", request, self.blob.BlobProperties, account=account,
                             payload=payload, idempotency_key=idempotency_key)[0]
        ids = self.stage_blocks(account, container, name, data)
        return self.commit_blocks(account, container, name, ids, content_type, metadata, idempotency_key)

    def stage_blocks(self, account: str, container: str, name: str, data: bytes) -> List[bytes]:
        """Uploads `data` in blocks of block_size; each StageBlock is
        idempotent (same id, same bytes), so each retries on its own."""
        ids: List[bytes] = []
        for index, start in enumerate(range(0, len(data), self.block_size)):
            block = data[start:start + self.block_size]
            block_id = b"blk-%08d" % index
            request = self.blob.StageBlockRequest(container=container, name=name, block_id=block_id,
                                                  content_hash=hashlib.sha256(block).digest())
            reply, _ = self.call("atrest.v1.Blob/StageBlock", request, self.blob.StageBlockResponse,
                                 account=account, payload=[block])
            if reply.length != len(block):
                raise RuntimeError(f"block {index}: server stored {reply.length} bytes, sent {len(block)}")
            ids.append(block_id)
        return ids

    def commit_blocks(self, account: str, container: str, name: str, block_ids: Sequence[bytes], content_type: str = "",
                      metadata: Optional[Mapping[str, str]] = None, idempotency_key: str = "") -> Message:
        request = self.blob.CommitBlocksRequest(container=container, name=name, block_ids=block_ids,
                                                content_type=content_type)
        request.metadata.update(metadata or {})
        return self.call("atrest.v1.Blob/CommitBlocks", request, self.blob.BlobProperties, account=account,
                         idempotency_key=idempotency_key)[0]

    def get_range(self, account: str, container: str, name: str, offset: int, length: int,
                  encryption_key: Optional[Bytes] = None) -> Tuple[bytes, Message]:
        """Bytes [offset, offset + length) clipped to the blob, and the properties."""
        request = self.blob.BlobGetRequest(container=container, name=name, has_range=True, offset=offset, length=length)
        self._customer_key(request, encryption_key)
        reply, payload = self.call("atrest.v1.Blob/Get", request, self.blob.BlobGetResponse, account=account)
        if reply.offset != offset:
            raise RuntimeError(f"asked for offset {offset}, got {reply.offset}")
        return b"".join(payload), reply.properties

    def get_blob(self, account: str, container: str, name: str, encryption_key: Optional[Bytes] = None) -> bytes:
        """The whole blob by ranged reads of at most one block each, so any
        size stays under the message limit. `encryption_key`: the
        customer-provided key the blob was written with, if any."""
        data, properties = self.get_range(account, container, name, 0, self.block_size, encryption_key)
        parts = [data]
        received = len(data)
        while received < properties.length:
            part, _ = self.get_range(account, container, name, received, self.block_size, encryption_key)
            if not part:
                raise RuntimeError(f"empty range at {received} of {properties.length}")
            parts.append(part)
            received += len(part)
        return b"".join(parts)

    def list_blobs(self, account: str, container: str, prefix: str = "") -> "BlobList":
        """Every blob (all pages) as BlobProperties, in a list that also has
        damaged_count and damaged_ids: objects that failed authentication,
        reported by the first page (storage ids, not names)."""
        blobs, token = BlobList(), ""
        while True:
            request = self.blob.BlobListRequest(container=container, prefix=prefix, page_token=token)
            reply, _ = self.call("atrest.v1.Blob/List", request, self.blob.BlobListResponse, account=account)
            blobs.extend(reply.blobs)
            if not token:
                blobs.damaged_count = reply.damaged_count
                blobs.damaged_ids = list(reply.damaged_ids)
            token = reply.next_page_token
            if not token:
                return blobs

    def delete_blob(self, account: str, container: str, name: str) -> None:
        request = self.blob.BlobRequest(container=container, name=name)
        self.call("atrest.v1.Blob/Delete", request, self.envelope.Empty, account=account)

    # Queues -----------------------------------------------------------------
    # Same verbs as `atrest queue`: bodies are bytes (0-64 KiB); times are
    # Unix milliseconds; a stale pop receipt raises RpcError NOT_FOUND.

    @property
    def queue(self) -> ModuleType:
        if not hasattr(self, "_queue"):
            self._queue = protos.load_queue()
        return self._queue

    def create_queue(self, account: str, queue: str, metadata: Optional[Mapping[str, str]] = None) -> None:
        request = self.queue.QueueRequest(queue=queue, metadata=metadata or {})
        self.call("atrest.v1.Queue/CreateQueue", request, self.envelope.Empty, account=account)

    def delete_queue(self, account: str, queue: str) -> None:
        self.call("atrest.v1.Queue/DeleteQueue", self.queue.QueueRequest(queue=queue), self.envelope.Empty, account=account)

    def list_queues(self, account: str, prefix: str = "") -> List[Message]:
        """Every queue (all pages) as QueueProperties, by name."""
        queues: List[Message] = []
        continuation = ""
        while True:
            request = self.queue.QueueListRequest(prefix=prefix, continuation=continuation)
            reply, _ = self.call("atrest.v1.Queue/ListQueues", request, self.queue.QueueListResponse, account=account)
            queues.extend(reply.queues)
            continuation = reply.continuation
            if not continuation:
                return queues

    def queue_properties(self, account: str, queue: str) -> Message:
        return self.call("atrest.v1.Queue/GetQueueProperties", self.queue.QueueRequest(queue=queue),
                         self.queue.QueueProperties, account=account)[0]

    def set_queue_metadata(self, account: str, queue: str, metadata: Mapping[str, str]) -> Message:
        return self.call("atrest.v1.Queue/SetQueueMetadata", self.queue.QueueRequest(queue=queue, metadata=metadata),
                         self.queue.QueueProperties, account=account)[0]

    def clear_queue(self, account: str, queue: str) -> None:
        self.call("atrest.v1.Queue/ClearMessages", self.queue.QueueRequest(queue=queue), self.envelope.Empty, account=account)

    def put_message(self, account: str, queue: str, body: Bytes, ttl_seconds: int = 0, delay_seconds: int = 0) -> Message:
        """ttl_seconds: 0 the default (7 days), -1 never. Returns the QueueMessage (with its pop receipt)."""
        request = self.queue.PutMessageRequest(queue=queue, body=bytes(body), ttl_seconds=ttl_seconds, delay_seconds=delay_seconds)
        return self.call("atrest.v1.Queue/PutMessage", request, self.queue.QueueMessage, account=account)[0]

    def get_messages(self, account: str, queue: str, count: int = 1, visibility_seconds: int = 30) -> List[Message]:
        """Up to count messages, each invisible to others for visibility_seconds."""
        request = self.queue.GetMessagesRequest(queue=queue, count=count, visibility_seconds=visibility_seconds)
        return list(self.call("atrest.v1.Queue/GetMessages", request, self.queue.QueueMessageList, account=account)[0].messages)

    def peek_messages(self, account: str, queue: str, count: int = 1) -> List[Message]:
        request = self.queue.PeekMessagesRequest(queue=queue, count=count)
        return list(self.call("atrest.v1.Queue/PeekMessages", request, self.queue.QueueMessageList, account=account)[0].messages)

    def update_message(self, account: str, queue: str, message_id: str, pop_receipt: str, visibility_seconds: int,
                       body: Optional[Bytes] = None) -> Message:
        request = self.queue.UpdateMessageRequest(queue=queue, message_id=message_id, pop_receipt=pop_receipt,
                                                  visibility_seconds=visibility_seconds, update_body=body is not None,
                                                  body=bytes(body or b""))
        return self.call("atrest.v1.Queue/UpdateMessage", request, self.queue.QueueMessage, account=account)[0]

    def delete_message(self, account: str, queue: str, message_id: str, pop_receipt: str) -> None:
        request = self.queue.MessageRequest(queue=queue, message_id=message_id, pop_receipt=pop_receipt)
        self.call("atrest.v1.Queue/DeleteMessage", request, self.envelope.Empty, account=account)

    # Tables -----------------------------------------------------------------
    # Same verbs as `atrest table` / `atrest entity`. Properties are a dict of
    # Python values: str, bool, int (int64; wrap in Int32(...) for int32),
    # float, bytes (binary), datetime.datetime (UTC when naive), uuid.UUID;
    # entities come back as dicts with PartitionKey, RowKey, ETag, Timestamp
    # (datetime) and the properties.

    @property
    def table(self) -> ModuleType:
        if not hasattr(self, "_table"):
            self._table = protos.load_table()
        return self._table

    def create_table(self, account: str, table: str) -> None:
        self.call("atrest.v1.Table/CreateTable", self.table.TableRequest(table=table), self.table.TableProperties, account=account)

    def delete_table(self, account: str, table: str) -> None:
        self.call("atrest.v1.Table/DeleteTable", self.table.TableRequest(table=table), self.envelope.Empty, account=account)

    def list_tables(self, account: str, prefix: str = "", page_size: int = 1000) -> List[str]:
        """Every table name (all pages of up to page_size, 1-1000), by name."""
        names: List[str] = []
        continuation = ""
        while True:
            request = self.table.TableListRequest(prefix=prefix, page_size=page_size, continuation=continuation)
            reply, _ = self.call("atrest.v1.Table/ListTables", request, self.table.TableListResponse, account=account)
            names.extend(t.table for t in reply.tables)
            continuation = reply.continuation
            if not continuation:
                return names

    _WRITES = {"insert": "InsertEntity", "replace": "ReplaceEntity", "merge": "MergeEntity",
               "upsert": "InsertOrReplaceEntity", "upsert_merge": "InsertOrMergeEntity"}
    _KINDS = {"insert": 1, "replace": 2, "merge": 3, "upsert": 4, "upsert_merge": 5, "delete": 6}

    def write_entity(self, account: str, table: str, op: str, partition_key: str, row_key: str,
                     properties: Optional[Mapping[str, PropertyValue]] = None, if_match: str = "") -> Entity:
        """op: insert, replace, merge (if_match: an ETag or "*"), upsert, upsert_merge. Returns the stored entity."""
        if op in ("replace", "merge") and not if_match:
            if_match = "*"
        request = self.table.EntityRequest(table=table, entity=self._entity(partition_key, row_key, properties), if_match=if_match)
        reply, _ = self.call("atrest.v1.Table/" + self._WRITES[op], request, self.table.Entity, account=account)
        return self._from_entity(reply)

    def delete_entity(self, account: str, table: str, partition_key: str, row_key: str, if_match: str = "*") -> None:
        request = self.table.EntityRequest(table=table, entity=self._entity(partition_key, row_key, None), if_match=if_match)
        self.call("atrest.v1.Table/DeleteEntity", request, self.envelope.Empty, account=account)

    def get_entity(self, account: str, table: str, partition_key: str, row_key: str, select: Iterable[str] = ()) -> Entity:
        request = self.table.EntityKeyRequest(table=table, partition_key=partition_key, row_key=row_key, select=list(select))
        return self._from_entity(self.call("atrest.v1.Table/GetEntity", request, self.table.Entity, account=account)[0])

    def query_entities(self, account: str, table: str, filter: str = "", select: Iterable[str] = (),
                       top: Optional[int] = None, page_size: int = 1000) -> List[Entity]:
        """Entities matching an OData $filter, in (PartitionKey, RowKey) order, at most top of them, asked for
        in pages of up to page_size (1-1000) and following continuation tokens."""
        entities: List[Entity] = []
        continuation = ""
        while True:
            want = page_size if top is None else min(page_size, top - len(entities))
            request = self.table.QueryEntitiesRequest(table=table, filter=filter, select=list(select), top=want, continuation=continuation)
            reply, _ = self.call("atrest.v1.Table/QueryEntities", request, self.table.EntityList, account=account)
            entities.extend(self._from_entity(e) for e in reply.entities)
            continuation = reply.continuation
            if not continuation or (top is not None and len(entities) >= top):
                return entities

    def batch(self, account: str, table: str,
              operations: Iterable[Tuple[str, str, str, Optional[Mapping[str, PropertyValue]], str]]) -> List[Entity]:
        """operations: (op, partition_key, row_key, properties, if_match) tuples, op as in write_entity or "delete";
        all on one partition, applied all or none. Returns one entity dict per operation."""
        ops = []
        for op, pk, rk, properties, if_match in operations:
            if op in ("replace", "merge", "delete") and not if_match:
                if_match = "*"
            ops.append(self.table.EntityOperation(kind=self._KINDS[op], entity=self._entity(pk, rk, properties), if_match=if_match))
        request = self.table.EntityBatchRequest(table=table, operations=ops)
        reply, _ = self.call("atrest.v1.Table/ExecuteBatch", request, self.table.EntityBatchResponse, account=account)
        return [self._from_entity(e) for e in reply.results]

    # Disks ------------------------------------------------------------------
    # Same verbs as `atrest disk`: page blobs of a fixed size (a multiple of
    # 512 bytes), sparse; writes in whole 512-byte pages, up to 4 MiB per
    # call, acknowledged once durable (docs/PROTOCOL.md "Disk").

    PAGE_BYTES = 512
    MAX_PAGES_BYTES = 4 << 20

    @property
    def disk(self) -> ModuleType:
        if not hasattr(self, "_disk"):
            self._disk = protos.load_disk()
        return self._disk

    def create_disk(self, account: str, disk: str, size: int, metadata: Optional[Mapping[str, str]] = None) -> Message:
        request = self.disk.CreateDiskRequest(disk=disk, size=size, metadata=metadata or {})
        return self.call("atrest.v1.Disk/CreateDisk", request, self.disk.DiskProperties, account=account)[0]

    def delete_disk(self, account: str, disk: str) -> None:
        self.call("atrest.v1.Disk/DeleteDisk", self.disk.DiskRequest(disk=disk), self.envelope.Empty, account=account)

    def list_disks(self, account: str, prefix: str = "") -> List[Message]:
        """Every disk (all pages) as DiskProperties, by name."""
        disks: List[Message] = []
        continuation = ""
        while True:
            request = self.disk.DiskListRequest(prefix=prefix, continuation=continuation)
            reply, _ = self.call("atrest.v1.Disk/ListDisks", request, self.disk.DiskListResponse, account=account)
            disks.extend(reply.disks)
            continuation = reply.continuation
            if not continuation:
                return disks

    def disk_properties(self, account: str, disk: str) -> Message:
        return self.call("atrest.v1.Disk/GetDiskProperties", self.disk.DiskRequest(disk=disk),
                         self.disk.DiskProperties, account=account)[0]

    def set_disk_metadata(self, account: str, disk: str, metadata: Mapping[str, str]) -> Message:
        return self.call("atrest.v1.Disk/SetDiskMetadata", self.disk.DiskRequest(disk=disk, metadata=metadata),
                         self.disk.DiskProperties, account=account)[0]

    def resize_disk(self, account: str, disk: str, size: int) -> Message:
        return self.call("atrest.v1.Disk/ResizeDisk", self.disk.ResizeDiskRequest(disk=disk, size=size),
                         self.disk.DiskProperties, account=account)[0]

    def write_pages(self, account: str, disk: str, offset: int, data: Bytes) -> None:
        """Writes `data` (whole 512-byte pages) at `offset` (a multiple of
        512), in calls of at most 4 MiB; each call is idempotent and retried."""
        view = memoryview(bytes(data))
        if offset % self.PAGE_BYTES or len(view) % self.PAGE_BYTES:
            raise ValueError("offset and length must be multiples of 512")
        for start in range(0, len(view), self.MAX_PAGES_BYTES):
            part = bytes(view[start:start + self.MAX_PAGES_BYTES])
            request = self.disk.PutPagesRequest(disk=disk, offset=offset + start)
            self.call("atrest.v1.Disk/PutPages", request, self.envelope.Empty, account=account, payload=[part])

    def clear_pages(self, account: str, disk: str, offset: int, length: int) -> None:
        """[offset, offset + length) reads as zeros; its storage is released."""
        request = self.disk.DiskRangeRequest(disk=disk, offset=offset, length=length)
        self.call("atrest.v1.Disk/ClearPages", request, self.envelope.Empty, account=account)

    def read_pages(self, account: str, disk: str, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length) of the disk (any alignment; zeros
        where nothing was written), in calls of at most 4 MiB."""
        parts: List[bytes] = []
        done = 0
        while done < length:
            want = min(self.MAX_PAGES_BYTES, length - done)
            request = self.disk.DiskRangeRequest(disk=disk, offset=offset + done, length=want)
            reply, payload = self.call("atrest.v1.Disk/GetPages", request, self.disk.GetPagesResponse, account=account)
            part = b"".join(payload)
            if reply.length != want or len(part) != want:
                raise RuntimeError(f"asked for {want} bytes at {offset + done}, got {len(part)}")
            parts.append(part)
            done += want
        return b"".join(parts)

    def page_ranges(self, account: str, disk: str, offset: int = 0, length: int = 0) -> List[Tuple[int, int]]:
        """The written ranges of [offset, offset + length) (length 0: to the
        end) as (offset, length) tuples, following next_offset and merging
        a range cut between two replies."""
        ranges: List[Tuple[int, int]] = []
        start = offset
        while True:
            request = self.disk.DiskRangeRequest(disk=disk, offset=start, length=offset + length - start if length else 0)
            reply, _ = self.call("atrest.v1.Disk/ListPageRanges", request, self.disk.PageRangesResponse, account=account)
            for r in reply.ranges:
                if ranges and ranges[-1][0] + ranges[-1][1] == r.offset:
                    ranges[-1] = (ranges[-1][0], ranges[-1][1] + r.length)
                else:
                    ranges.append((r.offset, r.length))
            if not reply.next_offset:
                return ranges
            if reply.next_offset <= start:
                raise RuntimeError(f"page ranges of disk {disk!r} did not advance past {start}")
            start = reply.next_offset

    def _entity(self, partition_key: str, row_key: str, properties: Optional[Mapping[str, PropertyValue]]) -> Message:
        entity = self.table.Entity(partition_key=partition_key, row_key=row_key)
        for name, value in sorted((properties or {}).items()):
            p = entity.properties.add(name=name)
            if isinstance(value, Int32):
                p.type, p.int_value = 2, int(value)
            elif isinstance(value, bool):
                p.type, p.bool_value = 5, value
            elif isinstance(value, int):
                p.type, p.int_value = 3, value
            elif isinstance(value, float):
                p.type, p.double_value = 4, value
            elif isinstance(value, str):
                p.type, p.string_value = 1, value
            elif isinstance(value, (bytes, bytearray)):
                p.type, p.bytes_value = 8, bytes(value)
            elif isinstance(value, datetime.datetime):
                utc = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
                delta = utc - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
                p.type, p.int_value = 6, delta // datetime.timedelta(microseconds=1)
            elif isinstance(value, uuid.UUID):
                p.type, p.bytes_value = 7, value.bytes
            else:
                raise TypeError(f"property {name}: no table type for {type(value).__name__}")
        return entity

    @staticmethod
    def _from_entity(entity: Message) -> Entity:
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        out: Entity = {"PartitionKey": entity.partition_key, "RowKey": entity.row_key, "ETag": entity.etag,
                       "Timestamp": epoch + datetime.timedelta(microseconds=entity.timestamp_us)}
        readers: Dict[int, Callable[[Message], Any]] = {
            1: lambda p: p.string_value, 2: lambda p: Int32(p.int_value), 3: lambda p: p.int_value, 4: lambda p: p.double_value,
            5: lambda p: p.bool_value, 6: lambda p: epoch + datetime.timedelta(microseconds=p.int_value),
            7: lambda p: uuid.UUID(bytes=p.bytes_value), 8: lambda p: p.bytes_value}
        for p in entity.properties:
            read = readers.get(p.type)
            out[p.name] = read(p) if read is not None else None
        return out


class Int32(int):
    """An int sent as a table int32 property (plain ints are int64)."""


class BlobList(List[Message]):
    """BlobProperties of a listing, plus the damaged objects it could not
    authenticate (damaged_count; damaged_ids holds up to 100 storage ids)."""
    damaged_count: int = 0
    damaged_ids: Sequence[str] = ()
