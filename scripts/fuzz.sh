#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan + UBSan) and runs each for
# SECONDS seconds on its seed corpus, as many at once as there are cores.
# Prints one line per target and exits non-zero when a target crashes,
# leaks or times out (its log tail and crash input are kept).
#
#   scripts/fuzz.sh [BUILD_DIR] [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { ninja -C "$build"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_one BIN - fuzz one target; writes $work/NAME.status (ok or FAILED)
run_one() {
	local bin=$1 name seeds corpus dict=()
	name=$(basename "$bin"); name=${name#fuzz_}
	seeds=tests/fuzz/corpus/$name
	corpus="$work/$name"
	mkdir -p "$corpus"
	[ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$work/$name-" "${dict[@]}" "$corpus" \
		>"$work/$name.log" 2>&1; then
		echo ok >"$work/$name.status"
	else
		echo FAILED >"$work/$name.status"
	fi
}

targets=()
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
running=0
for bin in "${targets[@]}"; do
	run_one "$bin" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0 failed=0
for bin in "${targets[@]}"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	if [ "$(cat "$work/$name.status" 2>/dev/null)" = ok ]; then
		echo "fuzz $name: ok (${seconds}s)"
		passed=$((passed + 1))
	else
		echo "fuzz $name: FAILED"
		tail -40 "$work/$name.log"
		mkdir -p "$build/fuzz-artifacts"
		cp "$work/$name"-* "$build/fuzz-artifacts/" 2>/dev/null
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
