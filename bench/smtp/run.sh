#!/bin/sh
# bench/smtp/run.sh [BUILD] [bench.py options] - SMTP acceptance rate,
# latency (end of DATA to 250) and memory per idle connection: smexop serve
# (whole pipeline, Maildir downstream) next to Postfix relaying to
# smtp-sink, with the same smtp-source parameters, on loopback.  Builds
# smexop in BUILD (default ./build) and runs bench.py with a time bound;
# bench.py stops what it started.  Postfix's column needs the postfix
# package (smtp-source, smtp-sink) and root; see README.md.
set -eu
BUILD=${1:-build}
if [ $# -gt 0 ]; then shift; fi
cd "$(dirname "$0")/../.."

if ! command -v smtp-source >/dev/null; then
	echo "bench/smtp: smtp-source is missing (apt-get install postfix); skipped"
	exit 0
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" src/smexop >/dev/null
# 5,000 idle connections: descriptors for the client and the server
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout 600 /usr/bin/python3 bench/smtp/bench.py --smexop "$BUILD/src/smexop" "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit $rc
