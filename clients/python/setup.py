"""Builds the package with the protobuf modules generated from proto/atrest/v1.

`pip install clients/python` runs `protoc --python_out` (protobuf-compiler)
over the repository's proto/ (or $ATREST_PROTO_DIR) and ships the modules as
the `atrest.v1` package next to `atrest_client`, so nothing else needs to be
on PYTHONPATH."""

import glob
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithProtos(build_py):
    def run(self):
        super().run()
        proto_root = os.environ.get("ATREST_PROTO_DIR") or os.path.join(HERE, "..", "..", "proto")
        files = sorted(glob.glob(os.path.join(proto_root, "atrest", "v1", "*.proto")))
        if not files:
            raise RuntimeError(f"no .proto files under {proto_root}/atrest/v1: build from the AtRest repository "
                               "or set ATREST_PROTO_DIR")
        protoc = shutil.which("protoc")
        if protoc is None:
            raise RuntimeError("protoc is missing: install protobuf-compiler (scripts/setup.sh --test)")
        result = subprocess.run([protoc, "-I", proto_root, f"--python_out={self.build_lib}", *files],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"protoc failed: {result.stderr.strip()}")
        for package in ("atrest", os.path.join("atrest", "v1")):
            open(os.path.join(self.build_lib, package, "__init__.py"), "a").close()


setup(cmdclass={"build_py": BuildWithProtos})
