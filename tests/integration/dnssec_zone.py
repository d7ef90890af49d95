"""dnssec_zone - DNSSEC-signed test zones served by NSD on loopback.

For the DANE tests (test_dane.py) and any test that needs answers with a
real DNSSEC status (delivery, check-domain): the caller describes zones,
the fixture signs them with ldns-keygen/ldns-signzone (ldnsutils, see
scripts/deps.sh), serves them with NSD on a free loopback port
(nsd_server.py) and writes a trust anchor file that libunbound accepts
(`smexop ... --dns 127.0.0.1:PORT --trust-anchor FILE`).

    from dnssec_zone import DnssecZones
    zones = DnssecZones()                       # anchor zone "dnssec.example"
    zones.add("good.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1"])
    zones.add("bad.dnssec.example", ["mx A 127.0.0.1"], mode="bogus")
    zones.add("plain.dnssec.example", ["mx A 127.0.0.1"], mode="unsigned")
    zones.add("good2.dnssec.example", [...],
              bogus_rrsets=[("_25._tcp.mx", "TLSA")])   # only those RRSIGs broken
    with zones.serve() as srv:
        srv.dns_args    -> ["--dns", "127.0.0.1:PORT", "--trust-anchor", FILE]
        srv.port, srv.trust_anchor, srv.dir

How the DNSSEC status comes about (a validating resolver with the anchor):
  - the anchor zone (default "dnssec.example.") is signed; its DS is the
    trust anchor.  Every added zone must be below it (or outside it, which
    is then simply insecure: no anchor covers it).
  - mode "signed": its own keys, the DS in the anchor zone -> secure.
  - mode "bogus": signed, but the anchor zone carries the DS of another
    key -> every answer from it is bogus.
  - mode "unsigned": delegated without DS (the anchor zone's NSEC proves
    there is none) -> insecure.
  - bogus_rrsets: in a signed zone, the RRSIGs of those (owner, type) pairs
    get a damaged signature -> just those answers are bogus.
Records are master-file lines relative to the zone's origin; SOA, NS and
the name server's address are added.  Only zones one label below the
anchor zone are delegated from it (others go in as their own zones).
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nsd_server import NsdServer, zone_text  # noqa: E402

LDNS_KEYGEN = "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = "/usr/bin/ldns-signzone"
ALGORITHM = "ECDSAP256SHA256"


def available():
    """available - None when the tools are there, else what is missing."""
    for tool in (LDNS_KEYGEN, LDNS_SIGNZONE, "/usr/sbin/nsd"):
        if not os.access(tool, os.X_OK):
            return "%s is missing (scripts/deps.sh installs ldnsutils and nsd)" % tool
    return None


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout.strip()


class _Zone:
    def __init__(self, origin, records, mode, bogus_rrsets):
        self.origin = origin.rstrip(".").lower()
        self.records = list(records)
        self.mode = mode
        self.bogus_rrsets = [(o, t.upper()) for o, t in (bogus_rrsets or [])]
        self.ds = None  # the DS line for the parent


class DnssecZones:
    """DnssecZones - zones to sign and serve under one trust anchor."""

    def __init__(self, anchor="dnssec.example", ip="127.0.0.1"):
        self.anchor = anchor.rstrip(".").lower()
        self.ip = ip
        self.zones = []
        self.anchor_records = []

    def add(self, origin, records, mode="signed", bogus_rrsets=None):
        """add - a zone (mode signed, bogus or unsigned), records relative to origin."""
        if mode not in ("signed", "bogus", "unsigned"):
            raise ValueError("mode: signed, bogus or unsigned")
        if origin.rstrip(".").lower() == self.anchor:
            raise ValueError("records of the anchor zone go through add_anchor_records")
        self.zones.append(_Zone(origin, records, mode, bogus_rrsets))
        return self

    def add_anchor_records(self, records):
        """add_anchor_records - records in the (signed) anchor zone itself."""
        self.anchor_records += list(records)
        return self

    # -- signing --

    def _keys(self, d, origin):
        """_keys - a KSK and a ZSK for origin in d; (ksk base, zsk base, DS line)."""
        ksk = _run([LDNS_KEYGEN, "-a", ALGORITHM, "-k", origin + "."], d)
        zsk = _run([LDNS_KEYGEN, "-a", ALGORITHM, origin + "."], d)
        with open(os.path.join(d, ksk + ".ds")) as f:
            ds = " ".join(f.read().split())
        return ksk, zsk, ds

    def _sign(self, d, origin, text, bogus_rrsets=()):
        """_sign - the signed master file text of origin; DS line of its KSK."""
        ksk, zsk, ds = self._keys(d, origin)
        path = os.path.join(d, origin + ".zone")
        with open(path, "w") as f:
            f.write(text)
        # plain NSEC (no -n): it proves the DS records an unsigned child lacks
        _run([LDNS_SIGNZONE, "-o", origin + ".", "-f", path + ".signed", path, ksk, zsk], d)
        with open(path + ".signed") as f:
            lines = f.read().splitlines()
        if bogus_rrsets:
            lines = [self._damage(line, origin, bogus_rrsets) for line in lines]
        return "\n".join(lines) + "\n", ds

    @staticmethod
    def _damage(line, origin, bogus_rrsets):
        """_damage - break the signature of an RRSIG line covering a listed RRset."""
        f = line.split()
        if len(f) < 13 or f[3] != "RRSIG":
            return line
        owner = f[0].rstrip(".").lower()
        for rel, rtype in bogus_rrsets:
            name = origin if rel in ("@", "") else rel.rstrip(".").lower() + "." + origin
            if owner == name and f[4].upper() == rtype:
                sig = f[-1]
                # change the first character: still base64, no longer the signature
                f[-1] = ("B" if sig[0] != "B" else "C") + sig[1:]
                return "\t".join(f)
        return line

    def build(self, d):
        """build - sign everything into d; {origin: master file text}, trust anchor path."""
        texts = {}
        parent_lines = list(self.anchor_records)
        for z in self.zones:
            text = zone_text(z.origin, z.records, self.ip)
            if z.mode == "unsigned":
                texts[z.origin] = text
            else:
                texts[z.origin], z.ds = self._sign(d, z.origin, text, z.bogus_rrsets)
                if z.mode == "bogus":
                    # the parent vouches for a key the zone does not use
                    _, _, other = self._keys(d, z.origin)
                    z.ds = other
            if z.origin.endswith("." + self.anchor):
                rel = z.origin[: -len(self.anchor) - 1]
                parent_lines.append("%s IN NS ns.%s." % (rel, z.origin))
                if "." not in rel:
                    parent_lines.append("ns.%s IN A %s" % (rel, self.ip))
                if z.ds is not None:
                    ds = z.ds.split()
                    # "<owner> <ttl?> IN DS ..." -> relative owner, our own TTL
                    i = ds.index("DS")
                    parent_lines.append("%s 300 IN DS %s" % (rel, " ".join(ds[i + 1:])))
        anchor_text, anchor_ds = self._sign(d, self.anchor,
                                            zone_text(self.anchor, parent_lines, self.ip))
        texts[self.anchor] = anchor_text
        ta = os.path.join(d, "trust-anchor.ds")
        with open(ta, "w") as f:
            f.write(anchor_ds + "\n")
        return texts, ta

    def serve(self):
        """serve - a context manager: signed zones on NSD; yields a _Served."""
        return _Served(self)


class _Served:
    def __init__(self, zones):
        self.zones = zones
        self.dir = None
        self.nsd = None
        self.port = None
        self.trust_anchor = None
        self.dns_args = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="smexop-dnssec-")
        try:
            texts, self.trust_anchor = self.zones.build(self.dir)
            self.nsd = NsdServer(texts, ip=self.zones.ip).start()
        except BaseException:
            self.__exit__()
            raise
        self.port = self.nsd.port
        self.dns_args = ["--dns", "%s:%d" % (self.zones.ip, self.port),
                         "--trust-anchor", self.trust_anchor]
        return self

    def __exit__(self, *exc):
        if self.nsd is not None:
            self.nsd.stop()
            self.nsd = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return False


def selftest(smexop):
    """selftest - smexop's resolver sees secure, bogus and insecure answers
    from the fixture; returns (passed, failed) and prints a line per check."""
    zones = DnssecZones()
    zones.add("good.dnssec.example", ["www A 127.0.0.2", "gone A 127.0.0.9"],
              bogus_rrsets=[("gone", "A")])
    zones.add("bad.dnssec.example", ["www A 127.0.0.3"], mode="bogus")
    zones.add("plain.dnssec.example", ["www A 127.0.0.4"], mode="unsigned")
    zones.add_anchor_records(["direct A 127.0.0.5"])
    cases = [
        ("www.good.dnssec.example", "A", "ok secure"),
        ("nothere.good.dnssec.example", "A", "nxdomain secure"),
        ("www.good.dnssec.example", "TXT", "nodata secure"),
        ("gone.good.dnssec.example", "A", "servfail bogus"),
        ("www.bad.dnssec.example", "A", "servfail bogus"),
        ("www.plain.dnssec.example", "A", "ok insecure"),
        ("direct.dnssec.example", "A", "ok secure"),
    ]
    passed = failed = 0
    with zones.serve() as srv:
        for name, rtype, want in cases:
            r = subprocess.run([smexop, "dns", name, rtype] + srv.dns_args,
                               capture_output=True, text=True, timeout=60)
            got = r.stdout.splitlines()[0] if r.stdout else r.stderr.strip()
            if got == want:
                passed += 1
                print("ok   dnssec fixture: %s %s -> %s" % (name, rtype, got))
            else:
                failed += 1
                print("FAIL dnssec fixture: %s %s -> %r, want %r" % (name, rtype, got, want))
    return passed, failed


if __name__ == "__main__":
    missing = available()
    if missing:
        print("skipped: %s" % missing)
        sys.exit(77)
    if len(sys.argv) < 2:
        print("usage: dnssec_zone.py SMEXOP (runs the fixture's self-test)")
        sys.exit(2)
    p, f = selftest(sys.argv[1])
    print("%d passed, %d failed" % (p, f))
    sys.exit(1 if f else 0)
