#!/usr/bin/env bash
# A libFuzzer pass over the decoders of hostile input: the wire decoder and the study-file reader (README,
# "Hostile input").
#   bash .ci/fuzz.sh 60     each target for 60 s, starting from its committed corpus in Tests/FuzzCorpus/
# Builds only the fuzz targets, with -sanitize=fuzzer, into .build-fuzz (the normal .build is untouched). Fails on
# any crash, timeout (an input taking > 10 s) or out-of-memory, leaving the input in .build-fuzz/artifacts/, and
# prints each target's inputs tried. New corpus entries go to a temporary directory and are dropped; to keep
# them, merge them into Tests/FuzzCorpus/ with -merge=1 (the README shows how).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: bash .ci/fuzz.sh SECONDS}"
scratch=.build-fuzz
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(-Xswiftc -sanitize=fuzzer -Xswiftc -DCARBS_FUZZING --scratch-path "$scratch")

build_start=$SECONDS
for target in wire-format study-file; do
    if ! swift build --product "fuzz-$target" "${flags[@]}" >"$work/build-$target.log" 2>&1; then
        tail -n 40 "$work/build-$target.log" >&2
        echo "fuzz: building fuzz-$target with -sanitize=fuzzer failed" >&2
        exit 1
    fi
done
echo "fuzz: built fuzz-wire-format and fuzz-study-file in $((SECONDS - build_start)) s" >&2

failed=0
for target in wire-format study-file; do
    corpus="Tests/FuzzCorpus/$target"
    artifacts="$scratch/artifacts/$target"
    mkdir -p "$work/$target" "$artifacts"
    status=0
    # Swift's own backtracer would catch the crash signal first; libFuzzer's handler saves the input.
    SWIFT_BACKTRACE=enable=no "$scratch/debug/fuzz-$target" -max_total_time="$seconds" -timeout=10 \
        -print_final_stats=1 -dict="Tests/FuzzCorpus/$target.dict" -artifact_prefix="$artifacts/" \
        "$work/$target" "$corpus" >"$work/$target.log" 2>&1 || status=$?
    tried="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -n 1)"
    if ((status != 0)); then
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$work/$target.log" | tail -n 60 >&2
        echo "fuzz: fuzz-$target FAILED (exit $status) after ${tried:-?} inputs; the input is in $artifacts/" >&2
        echo "fuzz: replay it without the sanitizer: swift run fuzz-$target $artifacts/<file>" >&2
        failed=1
    else
        echo "fuzz: fuzz-$target: ${seconds} s, ${tried:-?} inputs tried, crashes: 0," \
            "corpus $(find "$corpus" -type f | wc -l) files (+$(find "$work/$target" -type f | wc -l) new, dropped)" >&2
    fi
done
echo "fuzz: done in $((SECONDS - build_start)) s" >&2
exit "$failed"
