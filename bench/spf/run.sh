#!/bin/sh
# bench/spf/run.sh [BUILD] - SPF evaluations per second, smexop next to
# libspf2 (spfquery) and pyspf, on generated zones served by NSD on
# 127.0.0.153:53.  Builds bench_spf in BUILD (default ./build), runs
# bench.py with a time bound, and stops whatever it started.  Needs root
# (NSD on port 53, `unshare -m` for spfquery's resolv.conf).
set -eu
BUILD=${1:-build}
if [ $# -gt 0 ]; then shift; fi
cd "$(dirname "$0")/../.."

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" bench/bench_spf >/dev/null

pid=
cleanup() {
	# bench.py stops NSD itself when it gets TERM
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout 280 /usr/bin/python3 bench/spf/bench.py --bench-spf "$BUILD/bench/bench_spf" "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit $rc
