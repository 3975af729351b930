#!/usr/bin/python3
"""AtRest from Python, end to end: log in, create an account and a container,
upload a blob as staged blocks, read it back in ranges, list it, compare
(`demo`); read one blob back and print its length and SHA-256 (`get`); or a
producer and a consumer on a queue (`queue-demo`), and typed entities, a
batch and a filtered query on a table (`table-demo`); or pages of a sparse
disk written, read, listed, cleared and the disk resized (`disk-demo`).

    /usr/bin/python3 clients/python/atrest_example.py demo --endpoint tcp://127.0.0.1:7400 \
        --tenant t1 --user alice --secret-file alice.secret --account acct-py --container py-data

The protobuf classes are generated from proto/ on the fly into a temp dir
unless --generated-dir names a directory that already holds them. Every step
prints one "ok ..." line; a failure prints "error code=NAME message=..."
and exits 1. The blob's bytes are pattern(i) = (i * 131 + (i >> 9)) & 0xff,
so another program can check what it reads back."""

import argparse
import datetime
import hashlib
import os
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import atrest_client  # noqa: E402


def pattern(size):
    return bytes(((i * 131 + (i >> 9)) & 0xFF) for i in range(size))


def load_protos(args):
    try:
        atrest_client.protos.load()
        return
    except RuntimeError:
        pass
    out = args.generated_dir or tempfile.mkdtemp(prefix="atrest-py-")
    atrest_client.generate(args.proto_dir, out)


def curve_from(args):
    if not args.curve_server_key:
        return None
    if args.curve_key_file:
        fields = dict(line.split("=", 1) for line in open(args.curve_key_file).read().split() if "=" in line)
        return atrest_client.CurveKeys(args.curve_server_key, fields["public"], fields["secret"])
    return atrest_client.CurveKeys.generate_client(args.curve_server_key)


def demo(client, args):
    size, block = args.size, args.block_size
    data = pattern(size)
    info = client.create_account(args.account)
    print(f"ok account id={info.account_id} key_source={info.encryption.key_source} algorithm={info.encryption.algorithm}")
    client.create_container(args.account, args.container)
    print(f"ok container name={args.container} all={','.join(client.list_containers(args.account))}")
    ids = client.stage_blocks(args.account, args.container, args.blob, data)
    props = client.commit_blocks(args.account, args.container, args.blob, ids, content_type="application/octet-stream",
                                 metadata={"written-by": "python"})
    print(f"ok put name={props.name} length={props.length} blocks={len(ids)}")
    if props.length != size:
        raise SystemExit(f"error committed length {props.length} != {size}")
    # Ranged reads: a window across the first block boundary, then everything.
    start = max(0, block - 100)
    window, _ = client.get_range(args.account, args.container, args.blob, start, 200)
    if window != data[start:start + 200]:
        raise SystemExit("error ranged read across a block boundary differs")
    print(f"ok range offset={start} length={len(window)} equal=1")
    back = client.get_blob(args.account, args.container, args.blob)
    if back != data:
        raise SystemExit(f"error read back {len(back)} bytes that differ from the {size} written")
    print(f"ok get length={len(back)} equal=1 sha256={hashlib.sha256(back).hexdigest()}")
    listed = client.list_blobs(args.account, args.container)
    names = [b.name for b in listed]
    if args.blob not in names:
        raise SystemExit(f"error {args.blob} not listed: {names}")
    entry = listed[names.index(args.blob)]
    print(f"ok list names={','.join(names)} length={entry.length} written-by={entry.metadata['written-by']}")
    # A status becomes an exception with its code.
    try:
        client.get_range(args.account, args.container, "no-such-blob", 0, 1)
        raise SystemExit("error a missing blob was returned")
    except atrest_client.RpcError as error:
        print(f"ok missing code={error.code.name}")


def get(client, args):
    """Reads --blob back whole; the client's retry policy (RetryPolicy) rides
    out UNAVAILABLE within --timeout."""
    data = client.get_blob(args.account, args.container, args.blob)
    print(f"ok get length={len(data)} sha256={hashlib.sha256(data).hexdigest()}")


def queue_demo(client, args):
    """A producer and a consumer on one queue: every message received once, then deleted."""
    client.create_account(args.account)
    client.create_queue(args.account, args.queue, metadata={"written_by": "python"})
    sent = [client.put_message(args.account, args.queue, f"job {i}".encode()).message_id for i in range(args.messages)]
    print(f"ok produced queue={args.queue} messages={len(sent)}")
    received = []
    while True:
        batch = client.get_messages(args.account, args.queue, count=8, visibility_seconds=60)
        if not batch:
            break
        for message in batch:
            received.append(message.message_id)
            client.delete_message(args.account, args.queue, message.message_id, message.pop_receipt)
    if sorted(received) != sorted(sent):
        raise SystemExit(f"error received {len(received)} messages, expected the {len(sent)} sent")
    left = client.queue_properties(args.account, args.queue).approximate_message_count
    print(f"ok consumed messages={len(received)} once_each=1 left={left}")
    try:
        client.delete_message(args.account, args.queue, sent[0], "0" * 64)
        raise SystemExit("error a deleted message was deleted again")
    except atrest_client.RpcError as error:
        print(f"ok stale code={error.code.name}")


def table_demo(client, args):
    """Entities of every type, a conditional update that loses, a batch and a filtered query."""
    client.create_account(args.account)
    client.create_table(args.account, args.table)
    born = datetime.datetime(1815, 12, 10, 0, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    ada = client.write_entity(args.account, args.table, "insert", "uk", "ada", {
        "Name": "Ada", "Age": atrest_client.Int32(36), "Big": 1 << 40, "Score": 2.5, "Active": True, "Born": born,
        "Id": uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"), "Photo": b"\xff\x00"})
    back = client.get_entity(args.account, args.table, "uk", "ada")
    same = all(back[k] == v for k, v in {"Name": "Ada", "Age": 36, "Big": 1 << 40, "Score": 2.5, "Active": True, "Born": born,
                                          "Photo": b"\xff\x00"}.items()) and isinstance(back["Age"], atrest_client.Int32)
    print(f"ok entity etag_len={len(ada['ETag'])} round_trip={int(same)}")
    client.write_entity(args.account, args.table, "merge", "uk", "ada", {"Age": atrest_client.Int32(37)}, if_match=ada["ETag"])
    try:
        client.write_entity(args.account, args.table, "replace", "uk", "ada", {}, if_match=ada["ETag"])
        raise SystemExit("error a stale ETag was accepted")
    except atrest_client.RpcError as error:
        print(f"ok stale code={error.code.name}")
    results = client.batch(args.account, args.table, [("insert", "jp", f"r{i:02d}", {"N": i}, "") for i in range(args.messages)])
    rows = client.query_entities(args.account, args.table, filter="PartitionKey eq 'jp' and N ge 10L", select=["N"])
    print(f"ok batch results={len(results)} matched={len(rows)} first={rows[0]['RowKey'] if rows else ''}")

    # The other verbs: upserts, a selection, pages, a batch that deletes and merges, a conditional delete, tables listed and deleted.
    client.write_entity(args.account, args.table, "upsert", "uk", "bob", {"Name": "Bob"})
    client.write_entity(args.account, args.table, "upsert_merge", "uk", "bob", {"Age": atrest_client.Int32(41)})
    bob = client.get_entity(args.account, args.table, "uk", "bob")
    named = client.get_entity(args.account, args.table, "uk", "bob", select=["Name"])
    own = sorted(k for k in named if k not in ("PartitionKey", "RowKey", "ETag", "Timestamp"))
    print(f"ok upsert name={bob.get('Name')} age={bob.get('Age')} selected={','.join(own)}")
    pages = []
    original = client.call
    client.call = lambda method, *rest, **named_args: (pages.append(method), original(method, *rest, **named_args))[1]
    paged = client.query_entities(args.account, args.table, filter="PartitionKey eq 'jp' and N ge 10L", page_size=3)
    calls = len(pages)
    first4 = client.query_entities(args.account, args.table, filter="PartitionKey eq 'jp'", top=4, page_size=3)
    client.call = original
    same = [e["RowKey"] for e in paged] == [e["RowKey"] for e in rows]
    print(f"ok pages rows={len(paged)} calls={calls} same={int(same)} top={','.join(e['RowKey'] for e in first4)}")
    changed = client.batch(args.account, args.table, [("delete", "jp", "r00", None, "*"), ("merge", "jp", "r01", {"Seen": True}, "")])
    left = client.query_entities(args.account, args.table, filter="PartitionKey eq 'jp' and RowKey lt 'r02'")
    print(f"ok batch2 results={len(changed)} deleted_etag={changed[0].get('ETag', '')!r} left={','.join(e['RowKey'] for e in left)} "
          f"seen={left[0].get('Seen') if left else None}")
    try:
        client.delete_entity(args.account, args.table, "uk", "bob", if_match=ada["ETag"])
        raise SystemExit("error a delete with a stale ETag was accepted")
    except atrest_client.RpcError as error:
        stale = error.code.name
    client.delete_entity(args.account, args.table, "uk", "bob", if_match=bob["ETag"])
    try:
        client.get_entity(args.account, args.table, "uk", "bob")
        raise SystemExit("error a deleted entity was still there")
    except atrest_client.RpcError as error:
        gone = error.code.name
    print(f"ok delete stale={stale} gone={gone}")
    for suffix in ("Two", "Three"):
        client.create_table(args.account, args.table + suffix)
    listed = client.list_tables(args.account, prefix=args.table, page_size=1)
    client.delete_table(args.account, args.table + "Two")
    after = client.list_tables(args.account, prefix=args.table)
    print(f"ok tables listed={','.join(listed)} after={','.join(after)}")


def disk_demo(client, args):
    """A sparse disk: pages written, read back, listed, cleared, resized."""
    client.create_account(args.account)
    size = 64 << 20
    client.create_disk(args.account, args.disk, size, metadata={"written_by": "python"})
    data = bytes(pattern(args.size - args.size % 512))
    client.write_pages(args.account, args.disk, 1 << 20, data)
    back = client.read_pages(args.account, args.disk, 1 << 20, len(data))
    hole = client.read_pages(args.account, args.disk, 0, 4096)
    print(f"ok pages length={len(data)} equal={int(back == data)} hole_zero={int(hole == bytes(4096))}")
    ranges = client.page_ranges(args.account, args.disk)
    print(f"ok ranges count={len(ranges)} first={ranges[0][0] if ranges else -1}")
    client.clear_pages(args.account, args.disk, 1 << 20, 4096)
    cleared = client.read_pages(args.account, args.disk, 1 << 20, 4096)
    grown = client.resize_disk(args.account, args.disk, size * 2)
    print(f"ok cleared zero={int(cleared == bytes(4096))} size={grown.size}")
    try:
        client.write_pages(args.account, args.disk, grown.size, bytes(512))
        raise SystemExit("error a write past the end was accepted")
    except atrest_client.RpcError as error:
        print(f"ok beyond code={error.code.name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["demo", "whoami", "get", "queue-demo", "table-demo", "disk-demo"])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:7400")
    parser.add_argument("--tenant", default="")
    parser.add_argument("--user", required=True)
    parser.add_argument("--secret-file", required=True, help="file holding the user's secret")
    parser.add_argument("--account", default="acct-py")
    parser.add_argument("--container", default="py-data")
    parser.add_argument("--blob", default="staged.bin")
    parser.add_argument("--queue", default="py-jobs")
    parser.add_argument("--table", default="pyPeople")
    parser.add_argument("--disk", default="py-disk")
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--size", type=int, default=3 * (1 << 20) + 12345)
    parser.add_argument("--block-size", type=int, default=1 << 20)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--curve-server-key", help="the server's CURVE public key (Z85); enables CURVE")
    parser.add_argument("--curve-key-file", help="this client's key pair (public=/secret= lines)")
    parser.add_argument("--proto-dir", default=os.path.join(HERE, "..", "..", "proto"))
    parser.add_argument("--generated-dir", help="where protoc's Python output is (or goes)")
    args = parser.parse_args()
    load_protos(args)
    secret = open(args.secret_file).read().strip()
    try:
        with atrest_client.AtRestClient(args.endpoint, curve=curve_from(args), timeout=args.timeout,
                                        block_size=args.block_size) as client:
            token = client.login(args.tenant, args.user, secret)
            print(f"ok login principal={token.principal_id} tenant={token.tenant}")
            if args.command == "whoami":
                me = client.whoami()
                print(f"ok whoami name={me.name} kind={me.kind}")
            elif args.command == "get":
                get(client, args)
            elif args.command == "queue-demo":
                queue_demo(client, args)
            elif args.command == "table-demo":
                table_demo(client, args)
            elif args.command == "disk-demo":
                disk_demo(client, args)
            else:
                demo(client, args)
    except atrest_client.RpcError as error:
        print(f"error code={error.code.name} message={error.message}")
        return 1
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
