#!/usr/bin/env bash
# `make test`: build and run everything, then print one closing line
# `N passed, N failed` (every unit case, conformance case, integration case,
# fuzz target and source check counts once) and exit non-zero on any failure.
#
# Stages: source checks -> gcc build -> clang build (warnings) -> unit,
# conformance and integration tests -> fuzz smoke runs -> unit and
# conformance tests and the integration tests of the 'sanitized' suite (the
# gateway's) again under ASan + UBSan.
set -uo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C.UTF-8
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
count=scripts/count_results.py
status=0

step() { printf '\n== %s\n' "$*"; }
record() { # record NAME OK|FAIL
	echo "$2 $1" >>"$results/checks"
	[ "$2" = OK ] || status=1
}

step "source checks"
if scripts/checksrc.sh; then record checksrc OK; else record checksrc FAIL; fi
if make -s format-check; then record format-check OK; else record format-check FAIL; fi

step "build (gcc)"
[ -f build/build.ninja ] || meson setup build >/dev/null
if ninja -C build; then record build-gcc OK; else record build-gcc FAIL; fi

step "build (clang, -Werror)"
[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang >/dev/null
if ninja -C build-clang; then record build-clang OK; else record build-clang FAIL; fi

step "unit, conformance and integration tests"
meson test -C build --num-processes 2 --print-errorlogs --no-rebuild
cp build/meson-logs/testlog.json "$results/main.json" 2>/dev/null

step "fuzz smoke runs (${FUZZ_SECONDS}s each)"
scripts/fuzz.sh build-fuzz "$FUZZ_SECONDS" | tee "$results/fuzz.log"

step "unit, conformance and the gateway's integration tests under ASan + UBSan"
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug >/dev/null
if ninja -C build-asan; then
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		meson test -C build-asan --suite unit --suite conformance --suite sanitized \
		--num-processes 2 \
		--print-errorlogs --no-rebuild
	cp build-asan/meson-logs/testlog.json "$results/asan.json" 2>/dev/null
else
	record build-asan FAIL
fi

step "summary"
/usr/bin/python3 "$count" "$results" || status=1
exit $status
