#!/usr/bin/env bash
# `make run`: start the gateway demo, `smexop serve -c etc/demo.yaml`.
#
# The demo listens on 127.0.0.1:2525, receives mail for example.com (the
# users in etc/demo-directory), answers DNS from etc/demo.zone and keeps
# its state under var/ in the repository: var/spool, var/lib/smexop.db and
# the Maildirs var/mail/example.com/USER/.  The configuration's paths are
# relative to the current directory, hence the cd to the repository root.
# The same for root and for an ordinary user: port 2525 needs no privilege.
# README.md ("Try it") shows samples/send.sh and what each sample gets.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mkdir -p var
echo "smexop serve -c etc/demo.yaml: 127.0.0.1:2525, mail for example.com, DNS from"
echo "etc/demo.zone, Maildirs under var/mail/.  In another terminal: samples/send.sh"
echo "(Ctrl-C stops it gracefully.)"
exec "$build/src/smexop" serve -c etc/demo.yaml
