#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs missing system packages,
# checks the generated protobuf-c code is fresh, builds everything (the
# integration tests start the real executables) and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
scripts/gen-proto.sh --check
swift build --build-tests
# Serial: the suites start real processes and time-sensitive sockets; run in
# parallel on 2 cores, CPU-heavy suites (PBKDF2, crash tests) starve them.
ATREST_BIN_DIR="$(swift build --show-bin-path)" swift test --skip-build --no-parallel "$@"
# Coverage-guided fuzzing (docs/FUZZING.md): off unless ATREST_FUZZ_SECONDS
# is set (the sanitizer build from scratch alone takes minutes); then every
# target runs that long and a finding fails the run.
if [ -n "${ATREST_FUZZ_SECONDS:-}" ]; then
    scripts/fuzz.sh --seconds "$ATREST_FUZZ_SECONDS"
fi
