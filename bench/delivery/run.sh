#!/bin/sh
# bench/delivery/run.sh [BUILD] [bench.py options] - delivery rate from a
# full queue to a local STARTTLS sink: smexop's queue manager next to
# Postfix's, the same messages and the same sink (see README.md).  Builds
# smexop and the sink (tests/integration/smtp_test_server) in BUILD
# (default ./build); bench.py stops what it started.
set -eu
BUILD=${1:-build}
if [ $# -gt 0 ]; then shift; fi
cd "$(dirname "$0")/../.."

if ! command -v smtp-source >/dev/null; then
	echo "bench/delivery: smtp-source is missing (apt-get install postfix); skipped"
	exit 0
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" src/smexop tests/integration/smtp_test_server >/dev/null

pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout 900 /usr/bin/python3 bench/delivery/bench.py --smexop "$BUILD/src/smexop" \
	--sink "$BUILD/tests/integration/smtp_test_server" "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit $rc
