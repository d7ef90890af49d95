#!/usr/bin/python3
"""test_spf_nsd - `smexop spf` against a real authoritative DNS server.

Starts NSD on a free loopback port serving zones written here (example.com,
example.net, example.org, and reverse zones), then runs each case through
`smexop spf --dns 127.0.0.1:PORT` and through pyspf (Debian python3-spf,
pointed at the same server).  pyspf must agree with the expected result,
which proves the test data; smexop must give the expected result.

Usage: test_spf_nsd.py [SMEXOP]   (without SMEXOP only pyspf is checked and
every smexop case counts as failed, so the run never passes by accident)

IPv4 addresses come from RFC 5737, IPv6 from RFC 3849.  The PTR cases use
198.18.0.0/15 (RFC 2544, benchmarking) and 2001:db8::/32: libunbound
answers the reverse zones of the RFC 5737 networks itself (default
local-zones), so a forwarder never sees those queries.
"""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import spf  # noqa: E402

from nsd_server import NsdServer, zone_text  # noqa: E402
from smexoptest import pyspf_use_server  # noqa: E402


def long_txt(*strings):
    """long_txt - one TXT record made of several character-strings."""
    return "IN TXT " + " ".join('"%s"' % s for s in strings)


def split_txt(text, size=200):
    """split_txt - cut text into character-strings of at most size bytes."""
    return [text[i:i + size] for i in range(0, len(text), size)]


def build_zones():
    com = [
        # plain mechanisms and the all qualifiers
        's1 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        'soft IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"',
        'neut IN TXT "v=spf1 ip4:192.0.2.0/24 ?all"',
        'plus IN TXT "v=spf1 +all"',
        'nospf IN TXT "google-site-verification=abc"',
        'two IN TXT "v=spf1 -all"',
        'two IN TXT "v=spf1 +all"',
        'bad IN TXT "v=spf1 ip4:192.0.2.0/24 frobnicate:x -all"',
        'cn IN CNAME s1.example.com.',
        # include chains: inc3 -> l1.example.net -> l2.example.org -> l3.example.com
        'inc3 IN TXT "v=spf1 include:l1.example.net -all"',
        'l3 IN TXT "v=spf1 ip4:203.0.113.0/26 -all"',
        'incnone IN TXT "v=spf1 include:nospf.example.net -all"',
        'incnx IN TXT "v=spf1 include:missing.example.net -all"',
        'incfail IN TXT "v=spf1 include:failer.example.net ?all"',
        # redirect
        'redir IN TXT "v=spf1 redirect=target.example.org"',
        'redirnone IN TXT "v=spf1 redirect=nospf.example.net"',
        # macros
        'mi IN TXT "v=spf1 exists:%{i}.ex.example.org -all"',
        'mir IN TXT "v=spf1 exists:%{ir}.rev.example.org -all"',
        'sub.mdd IN TXT "v=spf1 include:_spf.%{d2} -all"',
        '_spf IN TXT "v=spf1 ip4:192.0.2.128/25 -all"',
        'ml IN TXT "v=spf1 exists:%{l}.users.example.org -all"',
        'mex IN TXT "v=spf1 exists:%{i}.%{l}._spf.%{d} -all"',
        '198.51.100.9.carol._spf.mex IN A 127.0.0.2',
        'mv IN TXT "v=spf1 exists:%{v}.%{i}.v.example.org -all"',
        'mh IN TXT "v=spf1 exists:%{h}.helo.example.org -all"',
        'mlr IN TXT "v=spf1 exists:%{lr-}.split.example.org -all"',
        # ptr and %{p}
        'mptr IN TXT "v=spf1 ptr -all"',
        'mail.mptr IN A 198.18.0.5',
        'liar.mptr IN A 198.18.0.99',
        'mptr6 IN TXT "v=spf1 ptr:mptr6.example.com -all"',
        'mail.mptr6 IN AAAA 2001:db8:5::5',
        'mp IN TXT "v=spf1 exists:%{p}.p.example.org -all"',
        'host.mp IN A 198.18.0.7',
        # mx with several hosts, A and AAAA
        'mmx IN TXT "v=spf1 mx -all"',
        'mmx IN MX 10 mx1.mmx.example.com.',
        'mmx IN MX 20 mx2.mmx.example.com.',
        'mmx IN MX 30 mx3.example.net.',
        'mx1.mmx IN A 192.0.2.21',
        'mx2.mmx IN A 192.0.2.22',
        'mx2.mmx IN AAAA 2001:db8::22',
        'mxcidr IN TXT "v=spf1 mx:mmx.example.com/30//120 -all"',
        # ip6 and dual CIDR on a
        'm6 IN TXT "v=spf1 ip6:2001:db8:1::/48 a/24//64 -all"',
        'm6 IN A 192.0.2.77',
        'm6 IN AAAA 2001:db8:2::1',
        'aother IN TXT "v=spf1 a:hosts.example.net/28 -all"',
        # exp=
        'mexp IN TXT "v=spf1 ip4:192.0.2.1 -all exp=explain.mexp.example.com"',
        'explain.mexp IN TXT "Sender %{i} is not allowed for %{d}"',
        # the 10-term limit
        'm11 ' + long_txt(*split_txt("v=spf1 %s -all" % " ".join(
            "include:i%d.example.org" % n for n in range(1, 12)))),
        'm10 ' + long_txt(*split_txt("v=spf1 %s -all" % " ".join(
            "include:i%d.example.org" % n for n in range(1, 11)))),
        # the void lookup limit
        'mvoid3 IN TXT "v=spf1 a:nx1.example.org a:nx2.example.org a:nx3.example.org -all"',
        'mvoid2 IN TXT "v=spf1 a:nx1.example.org a:nx2.example.org -all"',
        # long multi-string TXT, the split falls inside a mechanism
        'long ' + long_txt(
            "v=spf1 " + " ".join("ip4:203.0.113.%d" % n for n in range(100, 112)) + " ",
            " ".join("ip4:203.0.113.%d" % n for n in range(112, 124)) + " ip4:198.51",
            ".100.33 ip6:2001:db8:77::/64 -all"),
    ]
    net = [
        'l1 IN TXT "v=spf1 include:l2.example.org ~all"',
        'nospf IN TXT "just some text"',
        'failer IN TXT "v=spf1 -all"',
        'mx3 IN AAAA 2001:db8::23',
        'hosts IN A 198.51.100.40',
        'helo1 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        'helonone IN A 192.0.2.1',
        'mta IN A 192.0.2.3',
    ]
    org = [
        'l2 IN TXT "v=spf1 include:l3.example.com -all"',
        'target IN TXT "v=spf1 ip4:198.51.100.0/24 -all"',
        '192.0.2.55.ex IN A 127.0.0.2',
        '55.2.0.192.rev IN A 127.0.0.2',
        'alice.users IN A 127.0.0.2',
        'in-addr.192.0.2.1.v IN A 127.0.0.2',
        'mta.example.net.helo IN A 127.0.0.2',
        'host.mp.example.com.p IN A 127.0.0.2',
        'smith.john.split IN A 127.0.0.2',
    ] + ['i%d IN TXT "v=spf1 ip4:203.0.113.%d -all"' % (n, 200 + n) for n in range(1, 12)]
    return {
        "example.com": zone_text("example.com", com),
        "example.net": zone_text("example.net", net),
        "example.org": zone_text("example.org", org),
        "18.198.in-addr.arpa": zone_text("18.198.in-addr.arpa", [
            "5.0 IN PTR mail.mptr.example.com.",
            "6.0 IN PTR liar.mptr.example.com.",
            "7.0 IN PTR host.mp.example.com.",
        ]),
        "5.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": zone_text("5.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", [
            "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mail.mptr6.example.com.",
        ]),
    }


# (name, ip, mail-from, helo, expected result, expected explanation or None)
CASES = [
    ("ip4 match", "192.0.2.10", "u@s1.example.com", "mta.example.net", "pass", None),
    ("ip4 no match -all", "198.51.100.1", "u@s1.example.com", "mta.example.net", "fail", None),
    ("~all", "198.51.100.1", "u@soft.example.com", "mta.example.net", "softfail", None),
    ("?all", "198.51.100.1", "u@neut.example.com", "mta.example.net", "neutral", None),
    ("+all", "198.51.100.1", "u@plus.example.com", "mta.example.net", "pass", None),
    ("no SPF record", "192.0.2.10", "u@nospf.example.com", "mta.example.net", "none", None),
    ("nonexistent domain", "192.0.2.10", "u@nothere.example.com", "mta.example.net", "none",
     None),
    ("two SPF records", "192.0.2.10", "u@two.example.com", "mta.example.net", "permerror", None),
    ("unknown mechanism", "192.0.2.10", "u@bad.example.com", "mta.example.net", "permerror",
     None),
    ("CNAME to record", "192.0.2.10", "u@cn.example.com", "mta.example.net", "pass", None),
    ("include 3 deep", "203.0.113.5", "u@inc3.example.com", "mta.example.net", "pass", None),
    ("include 3 deep miss", "203.0.113.100", "u@inc3.example.com", "mta.example.net", "fail",
     None),
    ("include without SPF", "192.0.2.10", "u@incnone.example.com", "mta.example.net",
     "permerror", None),
    ("include of NXDOMAIN", "192.0.2.10", "u@incnx.example.com", "mta.example.net", "permerror",
     None),
    ("include fail is no match", "192.0.2.10", "u@incfail.example.com", "mta.example.net",
     "neutral", None),
    ("redirect", "198.51.100.7", "u@redir.example.com", "mta.example.net", "pass", None),
    ("redirect miss", "192.0.2.7", "u@redir.example.com", "mta.example.net", "fail", None),
    ("redirect without SPF", "192.0.2.7", "u@redirnone.example.com", "mta.example.net",
     "permerror", None),
    ("macro %{i}", "192.0.2.55", "u@mi.example.com", "mta.example.net", "pass", None),
    ("macro %{i} miss", "192.0.2.56", "u@mi.example.com", "mta.example.net", "fail", None),
    ("macro %{ir}", "192.0.2.55", "u@mir.example.com", "mta.example.net", "pass", None),
    ("macro %{d2}", "192.0.2.200", "u@sub.mdd.example.com", "mta.example.net", "pass", None),
    ("macro %{d2} miss", "192.0.2.20", "u@sub.mdd.example.com", "mta.example.net", "fail", None),
    ("macro %{l}", "192.0.2.9", "alice@ml.example.com", "mta.example.net", "pass", None),
    ("macro %{l} miss", "192.0.2.9", "bob@ml.example.com", "mta.example.net", "fail", None),
    ("macro %{lr-}", "192.0.2.9", "john-smith@mlr.example.com", "mta.example.net", "pass", None),
    ("exists %{i}.%{l}._spf.%{d}", "198.51.100.9", "carol@mex.example.com", "mta.example.net",
     "pass", None),
    ("exists %{i}.%{l}._spf.%{d} miss", "198.51.100.9", "dave@mex.example.com",
     "mta.example.net", "fail", None),
    ("macro %{v}", "192.0.2.1", "u@mv.example.com", "mta.example.net", "pass", None),
    ("macro %{h}", "192.0.2.1", "u@mh.example.com", "mta.example.net", "pass", None),
    ("macro %{h} miss", "192.0.2.1", "u@mh.example.com", "other.example.net", "fail", None),
    ("ptr", "198.18.0.5", "u@mptr.example.com", "mta.example.net", "pass", None),
    ("ptr not validated", "198.18.0.6", "u@mptr.example.com", "mta.example.net", "fail", None),
    ("ptr no PTR record", "198.18.0.8", "u@mptr.example.com", "mta.example.net", "fail", None),
    ("ptr: ipv6", "2001:db8:5::5", "u@mptr6.example.com", "mta.example.net", "pass", None),
    ("macro %{p}", "198.18.0.7", "u@mp.example.com", "mta.example.net", "pass", None),
    ("mx second host A", "192.0.2.22", "u@mmx.example.com", "mta.example.net", "pass", None),
    ("mx second host AAAA", "2001:db8::22", "u@mmx.example.com", "mta.example.net", "pass",
     None),
    ("mx third host AAAA only", "2001:db8::23", "u@mmx.example.com", "mta.example.net", "pass",
     None),
    ("mx miss", "192.0.2.23", "u@mmx.example.com", "mta.example.net", "fail", None),
    ("mx dual cidr v4", "192.0.2.23", "u@mxcidr.example.com", "mta.example.net", "pass", None),
    ("mx dual cidr v6", "2001:db8::ab", "u@mxcidr.example.com", "mta.example.net", "pass", None),
    ("ip6 range", "2001:db8:1:5::1", "u@m6.example.com", "mta.example.net", "pass", None),
    ("a/24 on v4", "192.0.2.5", "u@m6.example.com", "mta.example.net", "pass", None),
    ("a//64 on v6", "2001:db8:2::ffff", "u@m6.example.com", "mta.example.net", "pass", None),
    ("ip6 miss", "2001:db8:3::1", "u@m6.example.com", "mta.example.net", "fail", None),
    ("v6 client, v4-only record", "2001:db8::1", "u@s1.example.com", "mta.example.net", "fail",
     None),
    ("a:domain/28", "198.51.100.33", "u@aother.example.com", "mta.example.net", "pass", None),
    ("exp= on fail", "198.51.100.9", "u@mexp.example.com", "mta.example.net", "fail",
     "Sender 198.51.100.9 is not allowed for mexp.example.com"),
    ("11 includes", "192.0.2.250", "u@m11.example.com", "mta.example.net", "permerror", None),
    ("10 includes", "192.0.2.250", "u@m10.example.com", "mta.example.net", "fail", None),
    ("10 includes, last matches", "203.0.113.210", "u@m10.example.com", "mta.example.net",
     "pass", None),
    ("3 void lookups", "192.0.2.250", "u@mvoid3.example.com", "mta.example.net", "permerror",
     None),
    ("2 void lookups", "192.0.2.250", "u@mvoid2.example.com", "mta.example.net", "fail", None),
    ("empty mail-from: HELO", "192.0.2.50", "", "helo1.example.net", "pass", None),
    ("empty mail-from: HELO fail", "198.51.100.50", "", "helo1.example.net", "fail", None),
    ("empty mail-from: HELO no SPF", "192.0.2.1", "", "helonone.example.net", "none", None),
    ("long multi-string TXT", "198.51.100.33", "u@long.example.com", "mta.example.net", "pass",
     None),
    ("long multi-string TXT end", "2001:db8:77::1", "u@long.example.com", "mta.example.net",
     "pass", None),
    ("long multi-string TXT miss", "198.51.100.34", "u@long.example.com", "mta.example.net",
     "fail", None),
]


def run_pyspf(ip, mail_from, helo):
    res, _code, expl = spf.query(i=ip, s=mail_from, h=helo, querytime=0).check()
    return res, expl


def run_smexop(exe, port, ip, mail_from, helo, want_expl):
    """run_smexop - (result, detail); result None when the run itself failed."""
    argv = [exe, "spf", "--ip", ip, "--mail-from", mail_from, "--helo", helo,
            "--dns", "127.0.0.1:%d" % port, "--dns-timeout", "2000"]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or not lines:
        return None, "exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[:200])
    result = lines[0].strip()
    if want_expl is not None and want_expl not in p.stdout:
        return result, "explanation %r not in output %r" % (want_expl, p.stdout[:300])
    # --json must agree with the text output
    try:
        pj = subprocess.run(argv + ["--json"], capture_output=True, text=True, timeout=30)
        obj = json.loads(pj.stdout.splitlines()[0])
        if obj.get("result") != result:
            return result, "--json result %r differs" % obj.get("result")
        if want_expl is not None and obj.get("explanation") != want_expl:
            return result, "--json explanation %r" % obj.get("explanation")
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as e:
        return result, "--json: %s" % e
    return result, ""


def main():
    # a TERM (meson timeout, run.sh trap) unwinds the with-block, which stops NSD
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    exe = sys.argv[1] if len(sys.argv) > 1 else None
    if exe is not None and not os.access(exe, os.X_OK):
        print("smexop executable %s not found" % exe)
        exe = None
    passed = failed = 0
    with NsdServer(build_zones()) as srv:
        pyspf_use_server(srv.port)
        print("nsd on 127.0.0.1:%d, %d cases" % (srv.port, len(CASES)))
        for name, ip, mail_from, helo, want, want_expl in CASES:
            problems = []
            got_py, expl = run_pyspf(ip, mail_from, helo)
            if got_py != want:
                problems.append("pyspf says %s" % got_py)
            if want_expl is not None and expl != want_expl:
                problems.append("pyspf explanation %r" % expl)
            if exe is None:
                got_sx, detail = None, "no smexop executable given"
            else:
                got_sx, detail = run_smexop(exe, srv.port, ip, mail_from, helo, want_expl)
            if got_sx is None:
                problems.append("smexop: %s" % detail)
            elif got_sx != want:
                problems.append("smexop says %s %s" % (got_sx, detail))
            elif detail:
                problems.append("smexop: %s" % detail)
            if problems:
                failed += 1
                print("FAIL %-34s want %-9s: %s" % (name, want, "; ".join(problems)))
            else:
                passed += 1
                print("ok   %-34s %s" % (name, want))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
