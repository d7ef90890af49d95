#!/usr/bin/env bash
# `make run`: start smexop on its embedded defaults.
#
# The SMTP gateway (`smexop serve`) arrives with the gateway milestone; until
# the binary has it, this runs the offline demo instead: the embedded
# configuration and SPF evaluations against the demo zone in etc/demo.zone,
# so a fresh machine shows what works today.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
smexop="$build/src/smexop"

if "$smexop" help | grep -q '^  serve '; then
	exec "$smexop" serve
fi

echo "smexop $("$smexop" --version | cut -d' ' -f2): 'smexop serve' is not in this build yet;"
echo "running the offline demo against etc/demo.zone instead."
echo
echo "\$ smexop config check etc/smexop.yaml"
"$smexop" config check etc/smexop.yaml
for args in "192.0.2.10 alice@example.com mail.example.com" \
	"198.51.100.7 alice@example.com mail.example.com" \
	"203.0.113.5 bob@partner.example.net mx.partner.example.net"; do
	set -- $args
	echo
	echo "\$ smexop spf --dns-zone etc/demo.zone --ip $1 --mail-from $2 --helo $3"
	"$smexop" spf --dns-zone etc/demo.zone --ip "$1" --mail-from "$2" --helo "$3"
done
