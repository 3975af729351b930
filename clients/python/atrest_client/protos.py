"""Finds the protobuf classes generated from proto/atrest/v1.

Generated Python is never committed: run
    protoc -I proto --python_out=OUT proto/atrest/v1/*.proto
and put OUT on PYTHONPATH, or call generate() which does exactly that into a
directory of your choice."""

import glob
import importlib
import os
import subprocess
import sys
from types import ModuleType
from typing import Tuple


def generate(proto_root: str, out_dir: str, protoc: str = "protoc") -> None:
    """Runs protoc over proto_root/atrest/v1/*.proto into out_dir and makes
    the modules importable. Raises RuntimeError with protoc's message."""
    files = sorted(glob.glob(os.path.join(proto_root, "atrest", "v1", "*.proto")))
    if not files:
        raise RuntimeError(f"no .proto files under {proto_root}/atrest/v1")
    os.makedirs(out_dir, exist_ok=True)
    result = subprocess.run([protoc, "-I", proto_root, f"--python_out={out_dir}", *files],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed: {result.stderr.strip()}")
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


def _module(name: str) -> ModuleType:
    """The generated module atrest.v1.<name>_pb2."""
    return importlib.import_module(f"atrest.v1.{name}_pb2")


def load() -> Tuple[ModuleType, ModuleType, ModuleType, ModuleType, ModuleType]:
    """Imports the generated modules; a clear error when they are missing."""
    try:
        envelope_pb2, identity_pb2, account_pb2, blob_pb2, vault_pb2 = (
            _module(name) for name in ("envelope", "identity", "account", "blob", "vault"))
    except ImportError as error:
        raise RuntimeError(
            "the atrest.v1 protobuf classes are not importable: run "
            "`protoc -I proto --python_out=DIR proto/atrest/v1/*.proto` and add DIR to PYTHONPATH "
            f"({error})") from error
    return envelope_pb2, identity_pb2, account_pb2, blob_pb2, vault_pb2


def load_queue() -> ModuleType:
    """The queue messages (queue.proto), imported on first use so that
    code built against the five modules above keeps working unchanged."""
    try:
        queue_pb2 = _module("queue")
    except ImportError as error:
        raise RuntimeError(
            "the atrest.v1 queue protobuf classes are not importable: regenerate with "
            f"`protoc -I proto --python_out=DIR proto/atrest/v1/*.proto` ({error})") from error
    return queue_pb2


def load_table() -> ModuleType:
    """The table messages (table.proto), imported on first use like the queue ones."""
    try:
        table_pb2 = _module("table")
    except ImportError as error:
        raise RuntimeError(
            "the atrest.v1 table protobuf classes are not importable: regenerate with "
            f"`protoc -I proto --python_out=DIR proto/atrest/v1/*.proto` ({error})") from error
    return table_pb2


def load_disk() -> ModuleType:
    """The disk messages (disk.proto), imported on first use like the queue ones."""
    try:
        disk_pb2 = _module("disk")
    except ImportError as error:
        raise RuntimeError(
            "the atrest.v1 disk protobuf classes are not importable: regenerate with "
            f"`protoc -I proto --python_out=DIR proto/atrest/v1/*.proto` ({error})") from error
    return disk_pb2
