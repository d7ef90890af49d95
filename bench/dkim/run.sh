#!/bin/sh
# bench/dkim/run.sh [BUILD] [bench.py options] - DKIM verifications per CPU
# second, smexop next to libopendkim, opendkim-testmsg and dkimpy, on 5 KB
# and 100 KB messages signed with RSA-2048 and Ed25519.  Builds bench_dkim
# and the libopendkim driver (tests/integration/odkim) in BUILD (default
# ./build) and runs bench.py with a time bound.  opendkim-testmsg needs
# root (NSD on 127.0.0.155:53, `unshare -m` for its resolv.conf); without
# it that column is left out.
set -eu
BUILD=${1:-build}
if [ $# -gt 0 ]; then shift; fi
cd "$(dirname "$0")/../.."

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" bench/bench_dkim src/smexop >/dev/null
odkim=
if ninja -C "$BUILD" tests/integration/odkim >/dev/null 2>&1; then
	odkim="--odkim $BUILD/tests/integration/odkim"
fi

pid=
cleanup() {
	# bench.py stops NSD when it gets TERM (its `with` block unwinds)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086 # $odkim is two words or none
timeout 170 /usr/bin/python3 bench/dkim/bench.py --bench-dkim "$BUILD/bench/bench_dkim" \
	--smexop "$BUILD/src/smexop" $odkim "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit $rc
