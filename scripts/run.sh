#!/usr/bin/env bash
# `make run`: start smexop on its embedded defaults.
#
# Runs `smexop serve`: on the embedded defaults as root, on 127.0.0.1:2525
# with state under BUILD/run/ otherwise.  A binary without `serve` runs the
# offline demo instead: the embedded configuration and SPF evaluations
# against the demo zone in etc/demo.zone.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
smexop="$build/src/smexop"

if "$smexop" help | grep -q '^  serve '; then
	# As root: the embedded defaults, as an MX admin expects them (port 25 on
	# every address, state under /var/lib, /var/spool and /var/mail).
	if [ "$(id -u)" = 0 ]; then
		echo "smexop serve on the embedded defaults (port 25; docs/architecture-notes.md)"
		exec "$smexop" serve
	fi
	# As a user, port 25 and /var are out of reach: the same defaults with
	# only those differences, written to $build/run/smexop.yaml.
	run="$(cd "$build" && pwd)/run"
	mkdir -p "$run"
	cat >"$run/smexop.yaml" <<EOF
# written by scripts/run.sh: the embedded defaults except for what a
# non-root user cannot have (port 25, /var); see docs/config.md
listeners:
  - address: 127.0.0.1
    port: 2525
    tls: none
dns:
  zone_file: $(pwd)/etc/demo.zone
store:
  path: $run/state/smexop.db
spool:
  dir: $run/spool
delivery:
  maildir: $run/mail
accepted_domains:
  - domain: example.com
EOF
	echo "smexop serve -c $run/smexop.yaml: 127.0.0.1:2525, accepting mail for example.com,"
	echo "DNS from etc/demo.zone, Maildirs under $run/mail (run as root for port 25)."
	exec "$smexop" serve -c "$run/smexop.yaml"
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
