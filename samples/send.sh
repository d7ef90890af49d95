#!/usr/bin/env bash
# samples/send.sh - send the gateway demo's sample messages over SMTP and
# print what the server answered.
#
#   samples/send.sh [-s HOST] [-p PORT] [SAMPLE...]
#
# Start the gateway first (`make run`: 127.0.0.1:2525, etc/demo.yaml).
# Each sample is samples/NAME.eml sent with the envelope, HELO name and
# source address below (Linux lets a client bind any 127.0.0.0/8 address,
# which is how the blocked IP 127.0.0.66 is shown on one machine).  For
# each one the server's replies are printed, then one line
#   => NAME: CODE TEXT
# with the reply that decided the message's fate (the first refusal, or the
# answer to the end of DATA).  README.md's "Try it" table says what each
# gets; tests/integration/test_demo.py runs this script and checks that.
#
# Sent with swaks (scripts/deps.sh installs it) when it is there, else with
# Debian's Python smtplib; SMEXOP_SEND=swaks or SMEXOP_SEND=python chooses.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
host=127.0.0.1
port=2525
while getopts "s:p:h" opt; do
	case $opt in
	s) host=$OPTARG ;;
	p) port=$OPTARG ;;
	*)
		sed -n '2,20s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))

# name                 source       HELO                     MAIL FROM               RCPT TO
table="
clean                  127.0.0.1    mail.partner.example     news@partner.example    alice@example.com
spoof-dmarc-reject     127.0.0.23   laptop.attacker.example  security@bank.example   alice@example.com
dmarc-quarantine       127.0.0.23   laptop.attacker.example  invoices@billing.example bob@example.com
spf-fail               127.0.0.44   mail.shop.example        orders@shop.example     bob@example.com
unknown-recipient      127.0.0.1    mail.partner.example     news@partner.example    nobody@example.com
blocked-ip             127.0.0.66   mail.bulk.example        offers@bulk.example     bob@example.com
"

how=${SMEXOP_SEND:-}
if [ -z "$how" ]; then
	if command -v swaks >/dev/null; then how=swaks; else how=python; fi
fi

# send_swaks - one sample through swaks; its transcript marks server lines
# with "<-" (and refusals with "<**"), the decision is the first refusal or
# the last reply before QUIT's 221
send_swaks() {
	swaks --server "$host" --port "$port" --local-interface "$2" --helo "$3" \
		--from "$4" --to "$5" --data "@$dir/$1.eml" --hide-send --hide-informational \
		--timeout 30 2>&1 | awk -v name="$1" '
		/^ *<\*\* / || /^ *<-  / {
			line = $0
			sub(/^ *<(\*\*|-) +/, "", line)
			print "   <- " line
			if (decided == "" && line !~ /^221 / && line !~ /^[0-9][0-9][0-9]-/)
				last = line
			if ($0 ~ /^ *<\*\* / && decided == "")
				decided = line
			next
		}
		/^ *\*\*\* / { line = $0; sub(/^ *\*\*\* +/, "", line); print "   !! " line
			if (decided == "") decided = "000 " line }
		END { print "=> " name ": " (decided != "" ? decided : last) }'
}

# send_python - the same with smtplib (Debian's python3, no extra module)
send_python() {
	/usr/bin/python3 - "$host" "$port" "$dir/$1.eml" "$@" <<'PY'
import re, smtplib, sys
host, port, path, name, source, helo, sender, rcpt = sys.argv[1:9]
decided = None
def reply(code, text):
    global decided
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    lines = text.split("\n")
    for i, t in enumerate(lines):
        print("   <- %d%s%s" % (code, "-" if i < len(lines) - 1 else " ", t))
    if decided is None and (code >= 400 or code == 0):
        decided = "%d %s" % (code, lines[-1])
    return "%d %s" % (code, lines[-1])
last = None
try:
    s = smtplib.SMTP(timeout=30, source_address=(source, 0))
    last = reply(*s.connect(host, int(port)))
    if decided is None:
        last = reply(*s.ehlo(helo))
    if decided is None:
        last = reply(*s.mail(sender))
    if decided is None:
        last = reply(*s.rcpt(rcpt))
    if decided is None:
        with open(path, "rb") as f:
            # the files have LF line ends; SMTP wants CRLF (smexop refuses
            # bare LF, a smuggling vector), smtplib converts only str
            last = reply(*s.data(re.sub(rb"\r?\n", b"\r\n", f.read())))
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
except smtplib.SMTPConnectError as e:
    reply(e.smtp_code, e.smtp_error)
except (smtplib.SMTPException, OSError) as e:
    print("   !! %s" % e)
    if decided is None:
        decided = "000 %s" % e
print("=> %s: %s" % (name, decided or last))
PY
}

names=("$@")
[ ${#names[@]} -gt 0 ] || read -ra names <<<"$(echo "$table" | awk 'NF { printf "%s ", $1 }')"
for name in "${names[@]}"; do
	read -ra row <<<"$(echo "$table" | awk -v n="$name" '$1 == n')"
	if [ ${#row[@]} -ne 5 ] || [ ! -f "$dir/$name.eml" ]; then
		echo "send.sh: no sample '$name'" >&2
		exit 2
	fi
	echo "== ${row[0]}: from ${row[1]} (HELO ${row[2]}), MAIL FROM:<${row[3]}> RCPT TO:<${row[4]}>, via $how"
	"send_$how" "${row[@]}" || true # a refusal is an answer, not an error
	echo
done
