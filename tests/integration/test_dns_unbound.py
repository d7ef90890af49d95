#!/usr/bin/python3
"""test_dns_unbound - `smexop dns` through libunbound against a real server.

Starts ../shared/tools/testdns.py (the shared directory is found next to
the source tree, or in $SMEXOP_SHARED) on a free loopback port and checks
every kind of answer through `smexop dns NAME TYPE --dns 127.0.0.1:PORT`:
A, AAAA, MX, multi-string and long TXT, SPF, TLSA, PTR, CNAME following,
NXDOMAIN against NODATA, and a name that never answers giving `timeout`
quickly with --dns-timeout 500.  libunbound answers .test/.invalid/
.localhost itself, so the data lives under example.com/net/org.

Usage: test_dns_unbound.py SMEXOP     prints `N passed, N failed`
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from smexoptest import Results, testdns

LONG = "x" * 300  # testdns.py cuts it into 255 + 45

ZONE = {
    "example.com": [{"TXT": ["v=spf1 ", "mx -all"]}, {"MX": [10, "mx.example.com"]},
                    {"MX": [20, "mx2.example.net"]}],
    "mx.example.com": [{"A": "192.0.2.1"}, {"A": "192.0.2.2"}, {"AAAA": "2001:db8::1"}],
    "alias.example.com": [{"CNAME": "mx.example.com"}],
    "chain.example.org": [{"CNAME": "alias.example.com"}],
    "dangling.example.org": [{"CNAME": "missing.example.org"}],
    "long.example.net": [{"TXT": LONG}],
    "quote.example.net": [{"TXT": 'say "hi" \\ bye'}],
    "spf.example.net": [{"SPF": "v=spf1 -all"}],
    "_25._tcp.mx.example.com": [{"TLSA": "3 1 1 ab12cd34ef"}],
    "4.3.2.1.in-addr.arpa": [{"PTR": "mx.example.com"}],
    "1.2.0.192.in-addr.arpa": [{"PTR": "mx.example.com"}],
    "40.218.168.192.in-addr.arpa": [{"PTR": "lan.example.org"}],
    "slow.example.com": ["TIMEOUT"],
    "half.example.org": [{"TXT": "text is fine"}, {"A": "TIMEOUT"}],
}


class Runner(Results):
    def __init__(self, smexop, port):
        super().__init__(verbose=False)
        self.smexop = smexop
        self.port = port

    def run(self, *args, timeout_ms=None):
        cmd = [self.smexop, "dns", *args, "--dns", "127.0.0.1:%d" % self.port]
        if timeout_ms is not None:
            cmd += ["--dns-timeout", str(timeout_ms)]
        start = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return p, time.monotonic() - start

    def expect(self, name, rtype, lines, timeout_ms=None, max_seconds=None):
        """expect - the text output is exactly lines (records in any order)."""
        p, secs = self.run(name, rtype, timeout_ms=timeout_ms)
        got = p.stdout.splitlines()
        ok = (p.returncode == 0 and got[:1] == lines[:1] and sorted(got[1:]) == sorted(lines[1:]))
        if max_seconds is not None and secs > max_seconds:
            ok = False
        self.check("%s %s" % (name, rtype), ok,
                   "\n  want %r\n  got  %r (exit %d, %.2fs) %s" %
                   (lines, got, p.returncode, secs, p.stderr.strip()))

    def json(self, name, rtype, *extra):
        p, _ = self.run(name, rtype, "--json", *extra)
        try:
            return json.loads(p.stdout)
        except ValueError:
            self.check("%s %s --json" % (name, rtype), False, "not JSON: %r" % p.stdout)
            return None


def main():
    if len(sys.argv) != 2:
        print("usage: test_dns_unbound.py SMEXOP", file=sys.stderr)
        return 2
    smexop = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        anchor = os.path.join(tmp, "anchor.key")
        with open(anchor, "w") as f:
            # a DS for example.com that nothing matches: the test server has
            # no DNSKEY, so example.com data is bogus, example.net insecure
            f.write("example.com. IN DS 12345 8 2 " + "0123456789abcdef" * 4 + "\n")
        with testdns(ZONE, tmp) as port:
            r = Runner(smexop, port)
            cases(r)
            dnssec_cases(r, anchor)
    return r.summary()


def cases(r):
    r.expect("mx.example.com", "A", ["ok insecure", "A 192.0.2.1", "A 192.0.2.2"])
    r.expect("MX.Example.COM.", "AAAA", ["ok insecure", "AAAA 2001:db8::1"])
    r.expect("example.com", "MX",
             ["ok insecure", "MX 10 mx.example.com", "MX 20 mx2.example.net"])
    r.expect("example.com", "TXT", ["ok insecure", 'TXT "v=spf1 " "mx -all"'])
    r.expect("quote.example.net", "TXT", ["ok insecure", 'TXT "say \\"hi\\" \\\\ bye"'])
    r.expect("spf.example.net", "SPF", ["ok insecure", 'SPF "v=spf1 -all"'])
    r.expect("spf.example.net", "TXT", ["ok insecure", 'TXT "v=spf1 -all"'])
    r.expect("_25._tcp.mx.example.com", "TLSA", ["ok insecure", "TLSA 3 1 1 ab12cd34ef"])
    r.expect("4.3.2.1.in-addr.arpa", "PTR", ["ok insecure", "PTR mx.example.com"])
    # private and documentation reverse zones reach the server named with --dns
    r.expect("1.2.0.192.in-addr.arpa", "PTR", ["ok insecure", "PTR mx.example.com"])
    r.expect("40.218.168.192.in-addr.arpa", "PTR", ["ok insecure", "PTR lan.example.org"])
    # CNAMEs are followed; asking for the CNAME itself gives it
    r.expect("alias.example.com", "A", ["ok insecure", "A 192.0.2.1", "A 192.0.2.2"])
    r.expect("chain.example.org", "AAAA", ["ok insecure", "AAAA 2001:db8::1"])
    r.expect("alias.example.com", "CNAME", ["ok insecure", "CNAME mx.example.com"])
    r.expect("dangling.example.org", "A", ["nxdomain insecure"])
    # NXDOMAIN against NODATA
    r.expect("nope.example.com", "A", ["nxdomain insecure"])
    r.expect("nope.example.com", "TXT", ["nxdomain insecure"])
    r.expect("mx.example.com", "MX", ["nodata insecure"])
    r.expect("mx.example.com", "TXT", ["nodata insecure"])
    # a server that never answers: the deadline, not libunbound's retries
    r.expect("slow.example.com", "A", ["timeout insecure"], timeout_ms=500, max_seconds=3)
    r.expect("half.example.org", "A", ["timeout insecure"], timeout_ms=500, max_seconds=3)
    r.expect("half.example.org", "TXT", ["ok insecure", 'TXT "text is fine"'])
    r.expect("bad..name", "A", ["badname insecure"])

    j = r.json("long.example.net", "TXT")
    if j is not None:
        rec = j["records"][0] if j.get("records") else {}
        r.check("long TXT", j["status"] == "ok" and rec.get("text") == LONG and
                [len(s) for s in rec.get("strings", [])] == [255, 45], repr(j))
    j = r.json("chain.example.org", "A")
    if j is not None:
        r.check("json canonname", j["status"] == "ok" and j["sec"] == "insecure" and
                j["name"] == "chain.example.org" and j["canonname"] == "mx.example.com" and
                j["type"] == "A" and len(j["records"]) == 2 and
                290 <= j["records"][0]["ttl"] <= 300, repr(j))
    j = r.json("nope.example.com", "MX")
    if j is not None:
        r.check("json nxdomain", j["status"] == "nxdomain" and j["records"] == [], repr(j))

    # usage errors exit 2, DNS outcomes exit 0
    p = subprocess.run([r.smexop, "dns"], capture_output=True, text=True)
    r.check("no name", p.returncode == 2, p.stderr)
    p = subprocess.run([r.smexop, "dns", "example.com", "BOGUS"], capture_output=True, text=True)
    r.check("unknown type", p.returncode == 2, p.stderr)
    p = subprocess.run([r.smexop, "dns", "example.com", "--dns", "localhost:53"],
                       capture_output=True, text=True)
    r.check("bad forwarder", p.returncode == 2 and "localhost" in p.stderr, p.stderr)
    p = subprocess.run([r.smexop, "dns", "--help"], capture_output=True, text=True)
    r.check("help", p.returncode == 0 and "usage: smexop dns" in p.stdout, p.stdout)


def dnssec_cases(r, anchor):
    j = r.json("mx.example.com", "A", "--trust-anchor", anchor)
    if j is not None:
        r.check("bogus", j["status"] == "servfail" and j["sec"] == "bogus" and
                j["records"] == [] and "DNSKEY" in (j["why"] or ""), repr(j))
    p, _ = r.run("mx.example.com", "A", "--trust-anchor", anchor)
    r.check("bogus text", p.returncode == 0 and p.stdout == "servfail bogus\n" and
            "DNSSEC" in p.stderr, p.stdout + p.stderr)
    p, _ = r.run("mx.example.com", "A", "--trust-anchor", "/nonexistent/anchor")
    r.check("missing anchor", p.returncode == 2 and "/nonexistent/anchor" in p.stderr, p.stderr)
    # outside the anchor's zone the data is insecure, not bogus
    p, _ = r.run("long.example.net", "TXT", "--trust-anchor", anchor)
    r.check("insecure outside the anchor", p.stdout.startswith("ok insecure\n"), p.stdout)


if __name__ == "__main__":
    sys.exit(main())
