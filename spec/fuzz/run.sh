#!/usr/bin/env bash
# Runs every fuzz target of wasmjob-spec for SECONDS each (or each named TARGET for its own
# SECONDS), starting from the seeds in
# seeds/<target>/ (copied into the working corpus corpus/<target>/, which git ignores), and
# fails on any finding: a panic or failed invariant, a hang (-timeout), or unbounded memory
# (-rss_limit_mb). libFuzzer's output goes to logs/<target>.log; only one line per target is
# printed, plus the end of the log and the reproducer when something is found.
#
#   spec/fuzz/run.sh 60                       # every target, 60 s each
#   spec/fuzz/run.sh manifest=600 quantity=30 # these targets, for these times
#
# Needs the nightly toolchain (installed when missing) and cargo-fuzz (installed when missing).
# FUZZ_SANITIZER (default: none) may be set to `address`: the code under test is safe Rust, so
# the default trades AddressSanitizer for about twice as many runs.
set -euo pipefail
cd "$(dirname "$0")"

usage="usage: run.sh SECONDS | TARGET=SECONDS..."
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
runs=()
if [[ $1 =~ ^[0-9]+$ ]]; then
    for target in manifest quantity; do runs+=("$target=$1"); done
else
    for arg in "$@"; do
        [[ $arg =~ ^[a-z_]+=[0-9]+$ && -d seeds/${arg%%=*} ]] || { echo "$usage" >&2; exit 2; }
        runs+=("$arg")
    done
fi
sanitizer=${FUZZ_SANITIZER:-none}
flags=(-max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi

mkdir -p logs
build_log=logs/build.log
start=$(date +%s)
if ! cargo +nightly fuzz build --sanitizer "$sanitizer" >"$build_log" 2>&1; then
    tail -n 30 "$build_log"
    echo "fuzz: build failed (log: spec/fuzz/$build_log)"
    exit 1
fi
echo "fuzz: targets built in $(($(date +%s) - start)) s"

failed=0
for run in "${runs[@]}"; do
    target=${run%%=*}
    seconds=${run#*=}
    corpus=corpus/$target
    log=logs/$target.log
    mkdir -p "$corpus" "artifacts/$target"
    cp seeds/"$target"/* "$corpus"/
    status=0
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" "$corpus" -- \
        "${flags[@]}" -max_total_time="$seconds" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        grep -m 5 -E "panicked at|^==[0-9]+== ERROR: libFuzzer" "$log" || true
        tail -n 25 "$log"
        found=$(ls -t "artifacts/$target" | head -n 1)
        [ -n "$found" ] && found=artifacts/$target/$found
        echo "fuzz $target: FINDING after ${runs:-?} runs (exit $status; log: spec/fuzz/$log; reproducer: spec/fuzz/${found:-?})"
        failed=1
    else
        echo "fuzz $target: ${runs:-?} runs in ${took:-$seconds} s, no finding"
    fi
done
exit "$failed"
