#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs missing system packages,
# checks the generated protobuf-c code is fresh, builds everything (the
# integration tests start the real executables) and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/gen-proto.sh --check
# A release build with -enable-testing, in a directory of its own: the
# services, the mount and the storage code the suite drives run optimised, as
# deployed, which makes the suite nearly twice as fast as on a debug build; the
# test targets themselves compile without optimisation (Package.swift), which
# keeps the build from scratch near 10 minutes. Its own scratch path keeps it from
# rebuilding, or being rebuilt by, `swift build -c release` (scripts/run.sh,
# the benchmarks), whose flags differ.
build=(-c release -Xswiftc -enable-testing --scratch-path .build-test)
swift build "${build[@]}" --build-tests
export ATREST_BIN_DIR="$(swift build "${build[@]}" --show-bin-path)"
if [ $# -eq 0 ]; then
    # Every suite, two at a time, each in a process of its own
    # (scripts/test-lanes.sh; ATREST_TEST_LANES=1 for one at a time).
    scripts/test-lanes.sh "$ATREST_BIN_DIR/AtRestPackageTests.xctest"
else
    # A subset (`--filter NAME`): one process, one test at a time.
    swift test "${build[@]}" --skip-build --no-parallel "$@"
fi
# Coverage-guided fuzzing (docs/FUZZING.md): off unless ATREST_FUZZ_SECONDS
# is set, in CI too (measured in FUZZING.md "Cost": the sanitizer build
# from scratch and the runs would take CI past 30 minutes); then every
# target runs that long and a finding fails the run.
if [ -n "${ATREST_FUZZ_SECONDS:-}" ]; then
    scripts/fuzz.sh --seconds "$ATREST_FUZZ_SECONDS"
elif [ "${CI:-}" = true ]; then
    echo "test.sh: fuzzing skipped (set ATREST_FUZZ_SECONDS=10 to run every fuzz target 10 s; docs/FUZZING.md \"Cost\")"
fi
