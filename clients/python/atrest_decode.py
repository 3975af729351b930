#!/usr/bin/env python3
"""An independent decoder of AtRest's data at rest, written from the docs only.

From the root keys and the data directories to plaintext, with no AtRest
service and no AtRest code: docs/FORMAT.md "Key chain at rest" (root keys,
sealed files, provider state, registry records, wrapped account keys) and
the rest of docs/FORMAT.md (names, object format, block lists, record maps
and queues). CI runs it
against a real cluster's data (IndependentDecoderTests) so the docs stay
complete and true.

    atrest_decode.py --vault-dir V --vault-root-key V/root.key \
        --registry-dir F/registry-store --frontdoor-root-key F/registry.key \
        --objects-dir O --proto-python DIR --out OUT

DIR holds the classes `protoc --python_out` made from proto/atrest/v1.
Writes each blob's plaintext to OUT/<n>.bin, each queue message's body to
OUT/m<n>.bin, and prints one JSON document: {"accounts": [...], "blobs":
[{"account", "container", "name", "length", "file"}, ...], "messages":
[{"account", "queue", "id", "dequeue_count", "length", "file"}, ...]}.
Every tag is verified; any failure stops with an error.
Key material is never printed.

Needs the `cryptography` package (Debian: python3-cryptography).
"""
import argparse
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecodeError(Exception):
    pass


# --- Step 1: root keys -------------------------------------------------------

def read_root_key(path):
    """64 hex characters (white space ignored), or 32 raw bytes (earlier front doors)."""
    data = open(path, "rb").read()
    if len(data) == 32:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return data
        if len("".join(text.split())) != 64:
            return data
    key = bytes.fromhex("".join(data.decode("ascii").split()))
    if len(key) != 32:
        raise DecodeError(f"{path}: a root key is 32 bytes")
    return key


def hkdf(key, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


# --- Step 2: sealed files ----------------------------------------------------

def open_sealed(data, root_key, label, what):
    if len(data) < 4 + 12 + 16 or data[:4] != b"ATS1":
        raise DecodeError(f"{what} is not a sealed file")
    aad = b"ATS1" + b"atrest/v1/sealed:" + label.encode()
    try:
        return AESGCM(root_key).decrypt(data[4:16], data[16:], aad)
    except Exception:
        raise DecodeError(f"{what} does not open with its root key (wrong key or damaged file)") from None


# --- Step 3: provider state (little-endian) ---------------------------------

def parse_provider_state(blob, provider):
    if blob[:4] != b"KPS1":
        raise DecodeError(f"provider {provider}: state does not start with KPS1")
    offset = 4
    (count,) = struct.unpack_from("<I", blob, offset)
    offset += 4
    keys = {}
    for _ in range(count):
        (id_length,) = struct.unpack_from("<H", blob, offset)
        offset += 2
        key_id = blob[offset:offset + id_length].decode()
        offset += id_length
        offset += 5 * 4 + 5 * 8  # state, state before delete, flags, rotation, retention; five times
        (versions,) = struct.unpack_from("<I", blob, offset)
        offset += 4
        keys[key_id] = [blob[offset + 32 * i: offset + 32 * (i + 1)] for i in range(versions)]
        offset += 32 * versions
    if offset != len(blob):
        raise DecodeError(f"provider {provider}: state has trailing bytes")
    return keys


def load_providers(vault_dir, root_key):
    providers = {}
    directory = os.path.join(vault_dir, "providers")
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".state"):
            continue
        name = entry[: -len(".state")]
        data = open(os.path.join(directory, entry), "rb").read()
        blob = open_sealed(data, root_key, "provider:" + name, f"providers/{entry}")
        providers[name] = parse_provider_state(blob, name)
    return providers


# --- Step 4: registry records -----------------------------------------------

def load_records(registry_dir, root_key, account_pb2):
    name_key = hkdf(root_key, b"", b"atrest/v1/frontdoor/registry-names", 32)
    records = []
    directory = os.path.join(registry_dir, "registry")
    for entry in sorted(os.listdir(directory)):
        if not entry.startswith("r-"):
            continue
        data = open(os.path.join(directory, entry), "rb").read()
        content = open_sealed(data, root_key, "frontdoor/registry/" + entry, f"registry record {entry[:18]}")
        record = account_pb2.AccountRecord()
        record.ParseFromString(content)
        expected = "r-" + hmac.new(name_key, record.info.account_id.encode(), hashlib.sha256).hexdigest()
        if expected != entry:
            raise DecodeError(f"registry record {entry[:18]} names another account")
        records.append(record)
    return records


# --- Step 5: wrapped account keys --------------------------------------------

def unwrap_account_key(wrapped, account_id, providers):
    if wrapped[:5] != b"ATWK\x01":
        raise DecodeError(f"account {account_id}: wrapped key does not start with ATWK 1")
    offset = 5
    p = wrapped[offset]
    provider = wrapped[offset + 1: offset + 1 + p].decode()
    offset += 1 + p
    k = wrapped[offset]
    key_id = wrapped[offset + 1: offset + 1 + k].decode()
    offset += 1 + k
    (version,) = struct.unpack_from(">I", wrapped, offset)
    offset += 4
    kcv = wrapped[offset: offset + 16]
    offset += 16
    header = wrapped[:offset]
    (n,) = struct.unpack_from(">I", wrapped, offset)
    offset += 4
    body = wrapped[offset: offset + n]
    if offset + n != len(wrapped):
        raise DecodeError(f"account {account_id}: wrapped key has the wrong length")
    try:
        kek = providers[provider][key_id][version - 1]
    except (KeyError, IndexError):
        raise DecodeError(f"account {account_id}: KEK {provider}/{key_id} version {version} is not in the vault state") from None
    check = AESGCM(kek).encrypt(bytes(12), b"", b"atrest/v1/kcv")
    if not hmac.compare_digest(check, kcv):
        raise DecodeError(f"account {account_id}: key check value of {provider}/{key_id} v{version} differs")
    context = b"atrest/v1/account:" + account_id.encode()
    try:
        return AESGCM(kek).decrypt(body[:12], body[12:], header + context)
    except Exception:
        raise DecodeError(f"account {account_id}: the wrapped key does not unwrap") from None


# --- Step 6: the store (docs/FORMAT.md from "Keys") ----------------------------

class AccountKey:
    def __init__(self, aek, account_key_version):
        self.aek = aek
        self.version = account_key_version
        self.check_value = hkdf(aek, b"", b"atrest/v1/key-check", 16)
        self.name_key = hkdf(aek, b"", b"atrest/v1/names", 32)
        self.infra = None  # (AEK_infra, its account key version, its check value): "Infrastructure layer"

    def add_infrastructure(self, aek_infra, version):
        self.infra = (aek_infra, version, hkdf(aek_infra, b"", b"atrest/v1/infra-key-check", 16))

    def hash_name(self, *parts):
        message = b"".join(struct.pack(">I", len(p.encode())) + p.encode() for p in parts)
        return hmac.new(self.name_key, message, hashlib.sha256).digest()[:20].hex()


def identity_context(kind, account, container):
    return b"".join(struct.pack(">I", len(p.encode())) + p.encode() for p in (kind, account, container))


class Reader:
    def __init__(self, data, offset=0):
        self.data, self.offset = data, offset

    def take(self, n):
        if self.offset + n > len(self.data):
            raise DecodeError("truncated")
        out = self.data[self.offset: self.offset + n]
        self.offset += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def string16(self):
        return self.take(self.u16()).decode()


def open_object(path, key, context):
    """(metadata dict, data stream bytes, fixed header, is manifest) of one format-v1 file."""
    data = open(path, "rb").read()
    r = Reader(data)
    if r.take(4) != b"ATRS" or r.u16() != 1:
        raise DecodeError(f"{path}: not format v1")
    flags = r.u16()
    fixed_length = r.u16()
    r.take(r.u8())  # provider
    r.take(r.u8())  # key id
    r.u32()  # KEK version
    account_key_version = r.u32()
    kcv = r.take(16)
    salt = r.take(32)
    segment_size = r.u32()
    nonce_prefix = r.take(7)
    layers = []  # inner layer first: decrypted after the outer one
    if flags & 2:  # customer key check (32): the content is under a key recovery does not hold
        r.take(32)
        raise DecodeError(f"{path}: content sealed with a customer-provided key, which recovery does not hold")
    if flags & 4:  # infrastructure layer: u32 version ‖ 16 check value, a second GCM layer inside the first
        infra_version = r.u32()
        infra_kcv = r.take(16)
        if key.infra is None or infra_version != key.infra[1] or not hmac.compare_digest(infra_kcv, key.infra[2]):
            raise DecodeError(f"{path}: sealed with the infrastructure layer under a key the record does not hold")
        layers.append(AESGCM(hkdf(key.infra[0], salt, b"atrest/v1/infra" + b"\x00" + context, 32)))
    tags = 16 * (1 + len(layers))
    if r.offset != fixed_length:
        raise DecodeError(f"{path}: fixed header length differs")
    fixed = data[:fixed_length]
    if account_key_version != key.version or not hmac.compare_digest(kcv, key.check_value):
        raise DecodeError(f"{path}: written under another account key")
    header_hash = hashlib.sha256(fixed).digest()
    object_key = AESGCM(hkdf(key.aek, salt, b"atrest/v1" + b"\x00" + context, 32))

    def decrypt(nonce, sealed, aad):
        plain = object_key.decrypt(nonce, sealed, aad)
        for layer in layers:
            plain = layer.decrypt(nonce, plain, aad)
        return plain

    meta_nonce = r.take(12)
    m = r.u32()
    sealed_meta = r.take(m + tags)
    plain = decrypt(meta_nonce, sealed_meta, b"atrest/v1/meta" + fixed)
    p = Reader(plain)
    if p.u8() != 1:
        raise DecodeError(f"{path}: metadata encoding version")
    metadata = {"name": p.string16(), "content_type": p.string16(), "length": p.u64()}
    p.u64()  # creation time
    metadata["content_hash"] = p.take(32)
    metadata["user"] = {p.string16(): p.string16() for _ in range(p.u16())}
    # Segments.
    stride = segment_size + tags
    region = data[r.offset:]
    full, rest = divmod(len(region), stride)
    sizes = [segment_size] * full
    if rest >= tags:
        sizes.append(rest - tags)
    elif rest != 0:
        raise DecodeError(f"{path}: data region size")
    out = bytearray()
    offset = 0
    for index, size in enumerate(sizes):
        last = 1 if index == len(sizes) - 1 else 0
        nonce = nonce_prefix + struct.pack(">I", index) + bytes([last])
        out += decrypt(nonce, region[offset: offset + size + tags], header_hash)
        offset += size + tags
    manifest = bool(flags & 1)
    if not manifest and len(out) != metadata["length"]:
        raise DecodeError(f"{path}: length differs from the metadata")
    return metadata, bytes(out), fixed, manifest


def read_blob(container_dir, object_entry, key, account, container):
    metadata, data, _, manifest = open_object(os.path.join(container_dir, object_entry), key,
                                              identity_context("object", account, container))
    object_hash = object_entry[2:]
    if "o-" + key.hash_name("object", container, metadata["name"]) != object_entry:
        raise DecodeError(f"{object_entry}: holds another object's header")
    if not manifest:
        return metadata, data
    r = Reader(data)
    version = r.u8()
    if version not in (1, 2):
        raise DecodeError(f"{object_entry}: manifest version")
    # Version 1 (earlier releases): block files b-<object hash>-<commit id>-<index>;
    # version 2: each entry names its block file (the staged block, committed in place).
    commit_id = r.take(r.u16()).decode() if version == 1 else None
    content = bytearray()
    for index in range(r.u32()):
        r.take(r.u16())  # block id
        length = r.u64()
        header_hash = r.take(32)
        r.take(32)  # block content hash
        if version == 1:
            block_file = f"b-{object_hash}-{commit_id}-{index}"
        else:
            block_file = r.take(r.u16()).decode()
            if not block_file.startswith(("s-", "b-")) or "/" in block_file:
                raise DecodeError(f"{object_entry}: block file {block_file!r} is no block")
        block_path = os.path.join(container_dir, block_file)
        block_meta, block, fixed, _ = open_object(block_path, key, identity_context("block", account, container))
        if hashlib.sha256(fixed).digest() != header_hash or len(block) != length or block_meta["name"] != metadata["name"]:
            raise DecodeError(f"block {index} of {metadata['name']} is not the committed block")
        content += block
    if len(content) != metadata["length"]:
        raise DecodeError(f"{metadata['name']}: block list length differs")
    return metadata, bytes(content)


def decode_account(objects_dir, account, key, out_dir, blobs):
    account_dir = os.path.join(objects_dir, "a-" + key.hash_name("account", account))
    if not os.path.isdir(account_dir):
        return
    for entry in sorted(os.listdir(account_dir)):
        if not entry.startswith("c-"):
            continue
        container_dir = os.path.join(account_dir, entry)
        marker, _, _, _ = open_object(os.path.join(container_dir, "container"), key,
                                      identity_context("container", account, ""))
        container = marker["name"]
        if "c-" + key.hash_name("container", container) != entry:
            raise DecodeError(f"{entry}: marker of another container")
        for object_entry in sorted(os.listdir(container_dir)):
            if not object_entry.startswith("o-"):
                continue
            metadata, content = read_blob(container_dir, object_entry, key, account, container)
            path = os.path.join(out_dir, f"{len(blobs)}.bin")
            with open(path, "wb") as f:
                f.write(content)
            blobs.append({"account": account, "container": container, "name": metadata["name"],
                          "length": len(content), "file": path})


# --- Queues (docs/FORMAT.md "Record maps" and "Queues") ------------------------

def read_record_map(path):
    """(key, value) of every record of a local record map, by key. The map
    is read from a copy: SQLite writes -wal/-shm files beside a database
    even to read it, and a decoder never writes into the data."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "map.sqlite")
        shutil.copyfile(path, copy)
        if os.path.exists(path + "-wal"):
            shutil.copyfile(path + "-wal", copy + "-wal")
        connection = sqlite3.connect(copy)
        try:
            return connection.execute("SELECT key, value FROM records ORDER BY key").fetchall()
        finally:
            connection.close()


def length_prefixed(*parts):
    return b"".join(struct.pack(">I", len(p.encode())) + p.encode() for p in parts)


def open_record(value, key, context_parts, container_id, map_name, record_key):
    r = Reader(value)
    record_format = r.u8()
    if record_format not in (1, 2):
        raise DecodeError(f"record {record_key}: unknown record format")
    if r.u32() != key.version or r.take(16) != key.check_value:
        raise DecodeError(f"record {record_key}: sealed under another account key")
    salt = r.take(16)
    context = length_prefixed(*context_parts)
    record_key_bytes = hkdf(key.aek, salt, b"atrest/v1" + b"\x00" + context, 32)
    inner_key = None
    if record_format == 2:  # infrastructure layer: u32 version ‖ 16 check value, then a second GCM layer inside
        infra_version, infra_kcv = r.u32(), r.take(16)
        if key.infra is None or infra_version != key.infra[1] or infra_kcv != key.infra[2]:
            raise DecodeError(f"record {record_key}: sealed under an infrastructure key the record does not hold")
        inner_key = hkdf(key.infra[0], salt, b"atrest/v1/infra" + b"\x00" + context, 32)
    aad = b"atrest/v1/record" + length_prefixed(container_id, map_name, record_key)
    try:
        plain = AESGCM(record_key_bytes).decrypt(bytes(12), value[r.offset:], aad)
        return plain if inner_key is None else AESGCM(inner_key).decrypt(bytes(12), plain, aad)
    except Exception:
        raise DecodeError(f"record {record_key} of {container_id}/{map_name} does not authenticate") from None


def decode_queues(objects_dir, account, key, out_dir, messages):
    namespace = "a-" + key.hash_name("account", account)
    maps = os.path.join(objects_dir, ".records", namespace)
    if not os.path.exists(os.path.join(maps, "queues.sqlite")):
        return
    for record_key, value in read_record_map(os.path.join(maps, "queues.sqlite")):
        r = Reader(open_record(value, key, ("queue", account), namespace, "queues", record_key))
        if r.u8() != 1:
            raise DecodeError(f"queue record {record_key}: unknown version")
        queue_id = r.take(16).hex()
        r.u64()  # creation ms
        name = r.take(r.u8()).decode()
        if "q-" + key.hash_name("queue", account, name) != record_key:
            raise DecodeError(f"queue record {record_key} names another queue")
        map_name = "q-" + queue_id
        for message_key, sealed in read_record_map(os.path.join(maps, map_name + ".sqlite")):
            m = Reader(open_record(sealed, key, ("message", account, queue_id), namespace, map_name, message_key))
            if m.u8() != 1:
                raise DecodeError(f"message record {message_key}: unknown version")
            message_id = m.take(16).hex()
            inserted, _expiry, visible, dequeue_count = m.u64(), m.u64(), m.u64(), m.u32()
            m.take(16)  # pop receipt secret
            body = m.data[m.offset:]
            if message_key != f"m-{visible:016x}-{inserted:016x}-{message_id}":
                raise DecodeError(f"message record {message_key} names another key")
            path = os.path.join(out_dir, f"m{len(messages)}.bin")
            with open(path, "wb") as f:
                f.write(body)
            messages.append({"account": account, "queue": name, "id": message_id, "dequeue_count": dequeue_count,
                             "length": len(body), "file": path})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag in ("--vault-dir", "--vault-root-key", "--registry-dir", "--frontdoor-root-key", "--objects-dir",
                 "--proto-python", "--out"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.proto_python)
    from atrest.v1 import account_pb2

    providers = load_providers(args.vault_dir, read_root_key(args.vault_root_key))
    records = load_records(args.registry_dir, read_root_key(args.frontdoor_root_key), account_pb2)
    os.makedirs(args.out, exist_ok=True)
    blobs, messages, accounts = [], [], []
    for record in records:
        account = record.info.account_id
        aek = unwrap_account_key(record.wrapped_key, account, providers)
        key = AccountKey(aek, record.info.encryption.account_key_version)
        for entry in record.keys:
            if entry.infrastructure:
                key.add_infrastructure(unwrap_account_key(entry.wrapped_key, account, providers), entry.account_key_version)
        decode_account(args.objects_dir, account, key, args.out, blobs)
        decode_queues(args.objects_dir, account, key, args.out, messages)
        accounts.append({"account": account, "provider": record.info.encryption.provider,
                         "key_id": record.info.encryption.key_id})
    print(json.dumps({"accounts": accounts, "blobs": blobs, "messages": messages}))


if __name__ == "__main__":
    try:
        main()
    except DecodeError as error:
        print(f"atrest_decode: {error}", file=sys.stderr)
        sys.exit(1)
