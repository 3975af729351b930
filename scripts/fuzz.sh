#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that face the network or the disk
# (docs/FUZZING.md). Builds the fuzz targets with libFuzzer and the address
# sanitizer in .build-fuzz, then runs every target (or the one named) for
# --seconds N each (default 60), one at a time, with a per-input timeout and
# an RSS limit. New inputs are merged into a work corpus outside git
# ($ATREST_FUZZ_WORK, default .build-fuzz/corpus/<target>); the committed
# seeds in Fuzz/corpus/<target> are read, never written. Exits non-zero on
# the first finding (crash, assertion, leak, timeout, OOM); the input that
# caused it is left in .build-fuzz/findings/<target>/.
#
#   scripts/fuzz.sh                      build, run every target 60 s
#   scripts/fuzz.sh fuzz-wire --seconds 600
#   scripts/fuzz.sh --build-only         build only (prints the build time)
#   scripts/fuzz.sh --seeds              rewrite the seeds in Fuzz/corpus/<target>/seed-*
#                                        from the real encoders (each target's seeds());
#                                        fuzz-nbd's recorded-* from real NBD clients
#                                        (NBDRecordingTests, a debug build of the tests)
#   scripts/fuzz.sh --list               the target names
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(fuzz-envelope fuzz-wire fuzz-token fuzz-object fuzz-records fuzz-file-records fuzz-filter fuzz-audit fuzz-provider-state fuzz-keyfiles fuzz-nbd)
seconds=60
build_only=0
write_seeds=0
selected=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --seeds) write_seeds=1; shift ;;
        --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        fuzz-*) selected+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${targets[@]}")
[ "$seconds" -gt 0 ] 2>/dev/null || { echo "fuzz.sh: --seconds needs a positive number" >&2; exit 2; }
for target in "${selected[@]}"; do
    [[ " ${targets[*]} " == *" $target "* ]] || { echo "fuzz.sh: no target '$target' (try --list)" >&2; exit 2; }
done

scratch=.build-fuzz
work="${ATREST_FUZZ_WORK:-$scratch/corpus}"
# Release (-O) for speed; -enable-testing lets the targets `@testable import`
# the parsers; the sanitizers apply to every Swift module of the binary.
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)
export ATREST_FUZZ=1
# Crashes are reported by libFuzzer and ASan; the Swift backtracer would hold the run.
export SWIFT_BACKTRACE=enable=no

start=$(date +%s)
for target in "${selected[@]}"; do
    mkdir -p "$scratch"
    # ld.gold warns "Cannot export local symbol" for every sanitizer hook: harmless, filtered.
    if ! swift build "${flags[@]}" --product "$target" >"$scratch/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$scratch/build.log" | tail -40 >&2
        echo "fuzz.sh: building $target failed" >&2
        exit 1
    fi
done
echo "fuzz.sh: built ${#selected[@]} target(s) in $(( $(date +%s) - start )) s"
[ "$build_only" -eq 0 ] || exit 0

bin="$(swift build "${flags[@]}" --show-bin-path)"
if [ "$write_seeds" -eq 1 ]; then
    for target in "${selected[@]}"; do
        mkdir -p "Fuzz/corpus/$target"
        rm -f "Fuzz/corpus/$target"/seed-*
        ATREST_FUZZ_SEEDS="Fuzz/corpus/$target" "$bin/$target"
        if [ "$target" = fuzz-nbd ]; then
            # Real clients' streams through a recording proxy (qemu-img, qemu-io, nbdinfo, libnbd).
            rm -f Fuzz/corpus/fuzz-nbd/recorded-*
            # The normal package (no fuzz targets) and its debug build.
            ATREST_FUZZ=0 swift build --build-tests
            ATREST_FUZZ=0 ATREST_NBD_SEEDS="$PWD/Fuzz/corpus/fuzz-nbd" swift test --skip-build --filter NBDRecordingTests
        fi
        echo "fuzz.sh: $target: $(ls "Fuzz/corpus/$target" | wc -l) inputs in Fuzz/corpus/$target"
    done
    exit 0
fi
status=0
for target in "${selected[@]}"; do
    mkdir -p "$work/$target" "$scratch/findings/$target"
    seeds=()
    [ -d "Fuzz/corpus/$target" ] && seeds+=("Fuzz/corpus/$target")
    dict=()
    [ -f "Fuzz/dict/$target.dict" ] && dict+=("-dict=Fuzz/dict/$target.dict")
    echo "fuzz.sh: $target for ${seconds} s"
    # The work corpus comes first: libFuzzer writes new inputs there only.
    if ! "$bin/$target" "$work/$target" "${seeds[@]}" "${dict[@]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len=65536 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$scratch/findings/$target/" 2>"$scratch/findings/$target.log"; then
        tail -60 "$scratch/findings/$target.log" >&2
        echo "fuzz.sh: $target FOUND A PROBLEM; inputs in $scratch/findings/$target/" >&2
        status=1
        break
    fi
    grep -E "^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added" "$scratch/findings/$target.log" || true
done
exit $status
