#!/usr/bin/python3
"""test_check_ip - stage 1 through `smexop check-ip` against a real DNS server.

Starts ../shared/tools/testdns.py (the shared directory is found next to
the source tree, or in $SMEXOP_SHARED) on a free loopback port serving a
few DNSBL zones, writes a configuration with IP allow and block lists, a
local reputation block file and three zones with codes and weights, and
checks the verdict, the deciding stage and the exact SMTP reply for:
a client listed in two zones (blocked by weight), one below the
threshold, Spamhaus-style 127.255.255.x error answers (not listed), a
zone that never answers (timeout, not listed, quickly), IPv6 reverse
nibbles, the allow list beating the block list, the block list (5.7.1)
and the local reputation list (5.7.606).  libunbound answers
.test/.invalid itself, so the zones live under example.com/net/org.

Usage: test_check_ip.py SMEXOP     prints `N passed, N failed`
"""

import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time

from smexoptest import Results, testdns


def rev(ip, zone):
    """rev - the DNSBL query name of ip under zone."""
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        return ".".join(reversed(ip.split("."))) + "." + zone
    return ".".join(reversed(a.exploded.replace(":", ""))) + "." + zone


ZONE = {
    rev("192.0.2.2", "bl.example.net"): [{"A": "127.0.0.2"}],
    rev("192.0.2.2", "xbl.example.org"): [{"A": "127.0.0.4"}],
    rev("192.0.2.3", "xbl.example.org"): [{"A": "127.0.0.4"}],
    rev("192.0.2.4", "bl.example.net"): [{"A": "127.0.0.10"}],
    rev("192.0.2.5", "bl.example.net"): [{"A": "127.255.255.254"}],
    rev("192.0.2.5", "xbl.example.org"): [{"A": "127.255.255.252"}],
    rev("192.0.2.9", "slow.example.com"): ["TIMEOUT"],
    rev("2001:db8::1", "bl.example.net"): [{"A": "127.0.0.3"}],
    rev("192.0.2.100", "bl.example.net"): [{"A": "127.0.0.2"}],
    rev("198.51.100.1", "bl.example.net"): [{"A": "127.0.0.2"}],
}

CONFIG = """\
connection_filter:
  ip_allow: ["192.0.2.100 partner relay"]
  ip_block: ["198.51.100.0/24 abuse", "192.0.2.100"]
reputation:
  block_file: %(block)s
  threshold: 2
  timeout: 4s
  dnsbl:
    - zone: bl.example.net
      codes: ["127.0.0.2 SBL", "127.0.0.3 CSS"]
      weight: 2
    - zone: xbl.example.org
      weight: 1
    - zone: slow.example.com
      weight: 5
"""


class Runner(Results):
    def __init__(self, smexop, port, config):
        super().__init__(verbose=False)
        self.smexop = smexop
        self.port = port
        self.config = config

    def run(self, ip, *extra):
        cmd = [self.smexop, "check-ip", ip, "--config", self.config,
               "--dns", "127.0.0.1:%d" % self.port, "--dns-timeout", "800", *extra]
        start = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return p, time.monotonic() - start

    def expect(self, ip, verdict, stage, reply, zones=None, weight=None, max_seconds=None):
        """expect - the --json verdict, stage, reply and per-zone statuses."""
        p, secs = self.run(ip, "--json")
        try:
            j = json.loads(p.stdout)
        except ValueError:
            self.check(ip, False, "not JSON: %r (exit %d) %s" % (p.stdout, p.returncode,
                                                                 p.stderr))
            return None
        ok = (p.returncode == 0 and j["verdict"] == verdict and j["stage"] == stage and
              j["reply"] == reply)
        if zones is not None:
            got = {z["zone"]: z["status"] for z in (j["reputation"] or {}).get("zones", [])}
            ok = ok and got == zones
        if weight is not None:
            ok = ok and j["reputation"]["total_weight"] == weight
        if max_seconds is not None and secs > max_seconds:
            ok = False
        self.check(ip, ok, "\n  got %s (exit %d, %.2fs) %s" % (json.dumps(j), p.returncode,
                                                                 secs, p.stderr.strip()))
        return j


BLOCK606 = "550 5.7.606 Access denied, banned sending IP [%s]"
BLOCK571 = "550 5.7.1 Service unavailable; Client host [%s] blocked using Customer Block list"


def cases(r):
    ns = {"bl.example.net": "not_listed", "xbl.example.org": "not_listed",
          "slow.example.com": "not_listed"}
    # two zones: 2 + 1 >= 2
    r.expect("192.0.2.2", "block", "reputation", BLOCK606 % "192.0.2.2",
             dict(ns, **{"bl.example.net": "listed", "xbl.example.org": "listed"}), weight=3)
    # one zone of weight 1 < 2
    r.expect("192.0.2.3", "continue", None, None, dict(ns, **{"xbl.example.org": "listed"}),
             weight=1)
    # a code bl.example.net does not count
    j = r.expect("192.0.2.4", "continue", None, None, ns, weight=0)
    if j is not None:
        z = j["reputation"]["zones"][0]
        r.check("ignored code", "127.0.0.10" in (z["problem"] or ""), repr(z))
    # error answers are not listings, and are reported
    p, _ = r.run("192.0.2.5", "--json")
    r.expect("192.0.2.5", "continue", None, None,
             dict(ns, **{"bl.example.net": "error", "xbl.example.org": "error"}))
    r.check("error answer logged", "127.255.255.254" in p.stderr, p.stderr)
    # a zone that never answers: timeout after --dns-timeout, not after the deadline
    r.expect("192.0.2.9", "continue", None, None, dict(ns, **{"slow.example.com": "timeout"}),
             max_seconds=3.5)
    # IPv6: reverse nibbles
    j = r.expect("2001:db8::1", "block", "reputation", BLOCK606 % "2001:db8::1",
                 dict(ns, **{"bl.example.net": "listed"}), weight=2)
    if j is not None:
        r.check("ipv6 meaning", j["reputation"]["zones"][0]["meaning"] == "CSS", repr(j))
    # allow beats block, and no DNSBL query is made
    j = r.expect("192.0.2.100", "allow", "connection_filter", None)
    if j is not None:
        r.check("allow scl", j["scl"] == -1 and j["ipv"] == "CAL" and j["reputation"] is None,
                repr(j))
    r.expect("198.51.100.1", "block", "connection_filter", BLOCK571 % "198.51.100.1")
    # the local reputation list: no zone asked
    r.expect("203.0.113.7", "block", "reputation", BLOCK606 % "203.0.113.7",
             {"bl.example.net": "skipped", "xbl.example.org": "skipped",
              "slow.example.com": "skipped"})
    r.expect("192.0.2.200", "continue", None, None, ns, weight=0)

    # text output: the verdict word first, the reply last
    p, _ = r.run("192.0.2.2")
    lines = p.stdout.splitlines()
    r.check("text", p.returncode == 0 and lines[:1] == ["block"] and
            lines[-1] == "reply: " + BLOCK606 % "192.0.2.2", repr(lines))
    # usage errors exit 2
    p = subprocess.run([r.smexop, "check-ip", "not-an-ip"], capture_output=True, text=True)
    r.check("bad ip", p.returncode == 2, p.stderr)
    p = subprocess.run([r.smexop, "check-ip"], capture_output=True, text=True)
    r.check("no ip", p.returncode == 2, p.stderr)


def main():
    if len(sys.argv) != 2:
        print("usage: test_check_ip.py SMEXOP", file=sys.stderr)
        return 2
    smexop = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        block = os.path.join(tmp, "block.txt")
        with open(block, "w") as f:
            f.write("# local reputation list\n203.0.113.0/24 snowshoe 2026-11\n")
        config = os.path.join(tmp, "smexop.yaml")
        with open(config, "w") as f:
            f.write(CONFIG % {"block": block})
        with testdns(ZONE, tmp) as port:
            r = Runner(smexop, port, config)
            cases(r)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
