#!/usr/bin/env bash
# Runs every test suite of a built test bundle in LANES processes at once
# (default 2), each suite in a test process of its own, and prints each
# suite's output whole when it ends. Exits non-zero when any suite failed.
#
#   scripts/test-lanes.sh BUNDLE        # e.g. .build-test/release/AtRestPackageTests.xctest
#   ATREST_TEST_LANES=1 scripts/test-lanes.sh BUNDLE   # one at a time
#
# Why: most suites wait on real processes, sockets, disks and Ceph daemons,
# and one serial run keeps the 2 cores about a third busy (BENCHMARKS.md
# "The suite in lanes"). A lane is a queue, not a fixed share: each takes the
# next suite when its last one ends, so the slow suites listed in `first`
# start first and the rest fill in around them. A suite's tests still run one
# at a time, in the order swift-testing gives them.
set -euo pipefail

bundle=${1:?usage: test-lanes.sh BUNDLE}
lanes=${ATREST_TEST_LANES:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/atrest-lanes.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The slowest suites of a serial run (BENCHMARKS.md), slowest first. A name
# that no longer exists is skipped with a notice; a new suite simply runs
# after these.
first=(
  IntegrationTests.FileMountTests
  AtRestStorageTests.RadosBackendTests
  IntegrationTests.AccountReencryptTests
  IntegrationTests.WorkerFaultTests
  IntegrationTests.LoadFaultTests
  IntegrationTests.AccountReencryptKindsTests
  IntegrationTests.RadosReplicaTests
  IntegrationTests.ServiceLifecycleTests
  IntegrationTests.RecoverToolTablesDisksTests
  IntegrationTests.AtRestReplicaTests
)

"$bundle" --testing-library swift-testing --list-tests 2>/dev/null | sed 's,/.*,,' | sort -u > "$work/all"
if [ ! -s "$work/all" ]; then
  echo "test-lanes.sh: $bundle listed no tests" >&2
  exit 1
fi
{
  for suite in "${first[@]}"; do
    grep -Fx "$suite" "$work/all" || echo "test-lanes.sh: no suite $suite to start first (update \`first\`)" >&2
  done
  grep -Fvx -f <(printf '%s\n' "${first[@]}") "$work/all" || true
} > "$work/order"

run_one() {
  local suite=$1 out
  out=$(mktemp "$work/out.XXXXXX")
  local start=$SECONDS status=0
  # Anchored: "IntegrationTests.Blob" must not also run BlobRaceTests.
  "$bundle" --testing-library swift-testing --no-parallel \
    --filter "^${suite//./\\.}/" > "$out" 2>&1 || status=$?
  {
    flock 9
    cat "$out"
    if [ "$status" -ne 0 ]; then
      echo "test-lanes.sh: $suite FAILED (exit $status) after $((SECONDS - start)) s"
      echo "$suite" >> "$work/failed"
      # What failed, for the summary: CI keeps only the end of a long log.
      # (an expectation's message may span lines: a few lines after each ✘ come along)
      { echo "  $suite:"; grep -a -A4 '✘' "$out" | grep -av '^--$' | cut -c1-400 | head -40 | sed 's/^/    /'; } >> "$work/why"
    fi
    grep -ao 'Test run with [0-9]* test' "$out" | grep -o '[0-9]*' >> "$work/counts" || true
  } 9> "$work/lock"
  rm -f "$out"
}
export -f run_one
export bundle work

start=$SECONDS
echo "test-lanes.sh: $(wc -l < "$work/all") suites in $lanes lanes"
xargs -a "$work/order" -d '\n' -P "$lanes" -I{} bash -c 'run_one "$1"' _ {}
tests=$(awk '{ n += $1 } END { print n + 0 }' "$work/counts" 2>/dev/null || echo "?")
if [ -s "$work/failed" ]; then
  echo "test-lanes.sh: $(wc -l < "$work/failed") suites FAILED ($tests tests ran, $((SECONDS - start)) s):"
  sed 's/^/  /' "$work/failed"
  echo "test-lanes.sh: what failed (each suite's whole output is above):"
  cat "$work/why"
  exit 1
fi
echo "test-lanes.sh: all $(wc -l < "$work/all") suites passed ($tests tests, $((SECONDS - start)) s in $lanes lanes)"
