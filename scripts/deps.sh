#!/usr/bin/env bash
# Installs the Debian packages smexop needs to build, test and benchmark.
# Idempotent: asks dpkg what is missing and installs only that.
set -euo pipefail

packages=(
	# build
	build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
	# libraries
	libevent-dev libssl-dev libunbound-dev dns-root-data libfyaml-dev libpsl-dev libidn2-dev publicsuffix
	libsodium-dev
	libjansson-dev libcmocka-dev
	# store and DMARC reports: SQLite, XML, gzip, zip
	libsqlite3-dev libxml2-dev zlib1g-dev libarchive-dev
	# tests: real DNS servers and Debian's Python with its modules
	nsd python3 python3-dnspython python3-yaml openssl
	# SMTP server tests: swaks as a peer (Net::SSLeay for its TLS); delivery
	# tests: aiosmtpd as an SMTP/LMTP receiver with STARTTLS
	swaks libnet-ssleay-perl python3-aiosmtpd
	# DKIM interoperability: the reference implementations from Debian
	python3-dkim opendkim-tools libopendkim-dev
	# tests: OpenDMARC's library as a DMARC peer; xmllint for the aggregate report schema
	libopendmarc-dev libxml2-utils
	# benchmarks: the peers we compare against
	python3-spf spfquery hyperfine
	# bench/smtp: Postfix with smtp-source and smtp-sink (never started as a service)
	postfix
	# DANE tests: ldns-keygen and ldns-signzone sign the test zones (dnssec_zone.py)
	ldnsutils
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Postfix is only a benchmark peer here: install it unconfigured
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}"
