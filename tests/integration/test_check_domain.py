#!/usr/bin/python3
"""test_check_domain - `smexop check-domain` against a real DNS server.

NSD serves zones (example.com, example.org, example.net and the reverse
zone of 198.18.0.0/24) written so that every finding code of
docs/check-domain.md is provoked at least once: each case runs
check-domain on one test domain (mostly with --only AREA --json) and
asserts that the expected codes appear with their level.  Names under
nozone.net are served by nobody (NSD refuses them), which gives the DNS
failure findings.  The DKIM keys are made here with openssl and with
`smexop dkim init`; the configuration cases (-c) cover our selectors
(missing, mismatch, nokey, filemode, retired, unreadable state) and the
gateway taken from server.hostname and server.public_addresses.  Exit
codes (0 ok, 1 warnings, 2 errors, 2 usage) and the JSON shape are
checked too, and at the end that every code in the doc was seen.

MTA-STS and TLS-RPT: the policies are served by the MTA-STS tests' local
HTTPS server (tests/conformance/mtasts_server.py: a test CA, certificates
by SNI; a mismatching one for the certificate case), mta-sts.<domain>
resolves to 127.0.0.1 and --https-port/--ca-file point there.  DANE: zones
signed by tests/integration/dnssec_zone.py (secure, bogus, unsigned, a
bogus TLSA RRset) with TLSA records at _PORT._tcp of the MX host, and the
STARTTLS server of mtasts_server.py on that port (--smtp-port).

Usage: test_check_domain.py SMEXOP [SOURCE_ROOT]   prints `N passed, N failed`

Addresses: 198.18.0.0/15 (RFC 2544): libunbound answers the reverse zones
of the RFC 5737 documentation networks itself, so PTR tests avoid them.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "conformance"))

from dnssec_zone import DnssecZones, available as dnssec_available  # noqa: E402
from mtasts_server import PolicyServer, SmtpTlsServer, TestCerts  # noqa: E402
from nsd_server import NsdServer, zone_text  # noqa: E402
from smexoptest import Results  # noqa: E402

GW = "mx.gw.example.com"
GW_IP = "198.18.0.25"
SEEN = set()


def txt(value):
    """txt - a TXT RDATA of character-strings of at most 255 bytes."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return "( " + " ".join('"%s"' % p for p in parts) + " )"


def rsa_pub(tmp, bits):
    """rsa_pub - base64 of the SubjectPublicKeyInfo of a new RSA key."""
    key = os.path.join(tmp, "k%d.pem" % bits)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:%d" % bits, "-out", key], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def run(smexop, *args):
    p = subprocess.run([smexop, "check-domain"] + list(args), capture_output=True,
                       timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8",
                                                                             "replace")


def com_records(k2048, k1024, k512):
    r = []
    # the gateway, and hosts that exist
    r += ["mx.gw IN A %s" % GW_IP,
          "other.gw IN A 198.18.0.28",
          "mail.other IN A 198.18.0.40",
          "backup IN A 198.18.0.41",
          "h IN A 198.18.0.42",
          "alias IN CNAME mx.gw.example.com."]
    # good: everything ok
    r += ["good IN MX 10 %s." % GW,
          'good IN TXT "v=spf1 ip4:%s -all"' % GW_IP,
          "selector1._domainkey.good IN TXT %s" % txt("v=DKIM1; k=rsa; p=" + k2048),
          '_dmarc.good IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.example.com"']
    # MX
    r += ['nomx IN TXT "hello"',
          "nullmx IN MX 0 .",
          "elsewhere IN MX 10 mail.other.example.com.",
          "bypass IN MX 10 %s." % GW,
          "bypass IN MX 20 backup.example.com.",
          "ipmx IN MX 10 198.18.0.25.",
          "noaddrmx IN MX 10 nothing.example.com.",
          "cname IN MX 10 alias.example.com.",
          "hostdns IN MX 10 mx.nozone.net."]
    # the gateway name without addresses
    r += ['noaddr.gw IN TXT "no address here"']
    # SPF
    nine = " ".join(["a:h.example.com"] * 9)
    eleven = " ".join(["a:h.example.com"] * 11)
    longrec = "v=spf1 " + " ".join("ip4:198.18.1.%d" % i for i in range(1, 40)) + " -all"
    r += ['nospf IN TXT "hello"',
          'twospf IN TXT "v=spf1 -all"',
          'twospf IN TXT "v=spf1 ~all"',
          'badspf IN TXT "v=spf1 frob:x -all"',
          'incerr IN TXT "v=spf1 include:missing.example.com -all"',
          'loop IN TXT "v=spf1 include:loop2.example.com -all"',
          'loop2 IN TXT "v=spf1 include:loop.example.com -all"',
          'near IN TXT "v=spf1 %s -all"' % nine,
          'over IN TXT "v=spf1 %s -all"' % eleven,
          'macro IN TXT "v=spf1 exists:%{i}.x.example.com -all"',
          'void IN TXT "v=spf1 a:gone1.example.com -all"',
          'voidover IN TXT "v=spf1 a:gone1.example.com a:gone2.example.com '
          'a:gone3.example.com -all"',
          'plusall IN TXT "v=spf1 include:plusinc.example.com -all"',
          'plusinc IN TXT "v=spf1 +all"',
          'neutral IN TXT "v=spf1 ip4:%s ?all"' % GW_IP,
          'noall IN TXT "v=spf1 ip4:%s"' % GW_IP,
          'ptrspf IN TXT "v=spf1 ptr -all"',
          "longspf IN TXT %s" % txt(longrec),
          'gwfail IN TXT "v=spf1 ip4:198.18.0.99 -all"']
    # DKIM at the common selectors
    r += ["s1._domainkey.dk IN TXT %s" % txt("v=DKIM1; k=rsa; p=" + k1024),
          "k1._domainkey.dk IN TXT %s" % txt("v=DKIM1; k=rsa; p=" + k512),
          "google._domainkey.dk IN TXT %s" % txt("v=DKIM1; t=y; k=rsa; p=" + k2048),
          'default._domainkey.dk IN TXT "v=DKIM1; p="',
          'selector2._domainkey.dk IN TXT "v=DKIM1; k=rsa; p=!!!notbase64"',
          'nodkim IN TXT "nothing"']
    # DMARC (example.com itself has no _dmarc record)
    dm = {
        "nodmarc": None,
        "twodmarc": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
        "syndmarc": ["v=DMARC1; p=bogus"],
        "badval": ["v=DMARC1; p=reject; pct=abc; rua=mailto:d@badval.example.com"],
        "nop": ["v=DMARC1; rua=mailto:d@nop.example.com"],
        "pnone": ["v=DMARC1; p=none; rua=mailto:d@pnone.example.com"],
        "pct": ["v=DMARC1; p=quarantine; pct=50; rua=mailto:d@pct.example.com"],
        "tdmarc": ["v=DMARC1; p=reject; t=y; rua=mailto:d@tdmarc.example.com"],
        "spweak": ["v=DMARC1; p=reject; sp=none; rua=mailto:d@spweak.example.com"],
        "npweak": ["v=DMARC1; p=reject; np=quarantine; rua=mailto:d@npweak.example.com"],
        "norua": ["v=DMARC1; p=reject"],
        "urisyn": ["v=DMARC1; p=reject; rua=mailto:d@urisyn.example.com,bogus"],
        "urihttp": ["v=DMARC1; p=reject; rua=https://reports.example.com/dmarc"],
        "strict": ["v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@strict.example.com"],
        "extok": ["v=DMARC1; p=reject; rua=mailto:d@reports.example.net"],
        "extbad": ["v=DMARC1; p=reject; rua=mailto:d@noauth.example.net"],
        "extdns": ["v=DMARC1; p=reject; rua=mailto:d@x.nozone.net"],
    }
    for name, recs in sorted(dm.items()):
        r.append('%s IN TXT "exists"' % name)
        for rec in recs or []:
            r.append('_dmarc.%s IN TXT "%s"' % (name, rec))
    # MTA-STS: every policy host is 127.0.0.1 (the local HTTPS server)
    for name in STS_SITES:
        r += ["%s IN MX 10 %s." % (name, GW),
              "mta-sts.%s IN A 127.0.0.1" % name,
              '_mta-sts.%s IN TXT "v=STSv1; id=20240101"' % name]
    r += ['_mta-sts.ststxt IN TXT "v=STSv1; id=20240102"',
          'stsfetch IN MX 10 %s.' % GW,
          "mta-sts.stsfetch IN A 127.0.0.1",
          '_mta-sts.stsfetch IN TXT "v=STSv1; id=1"',
          'stscert IN MX 10 %s.' % GW,
          "mta-sts.stscert IN A 127.0.0.1",
          '_mta-sts.stscert IN TXT "v=STSv1; id=1"',
          '_smtp._tls.stsok IN TXT "v=TLSRPTv1; rua=mailto:tls@stsok.example.com"',
          '_smtp._tls.rptmulti IN TXT "v=TLSRPTv1; rua=mailto:a@rptmulti.example.com"',
          '_smtp._tls.rptmulti IN TXT "v=TLSRPTv1; rua=mailto:b@rptmulti.example.com"',
          '_smtp._tls.rptbad IN TXT "v=TLSRPTv1; rua=ftp://x.example.com/"',
          '_smtp._tls.rptskip IN TXT "v=TLSRPTv1; rua=mailto:a@rptskip.example.com,ftp://y"']
    return r


GOOD_POLICY = "version: STSv1\nmode: enforce\nmx: %s\nmax_age: 1209600\n" % GW
STS_SITES = {
    "stsok": GOOD_POLICY,
    "ststxt": GOOD_POLICY,
    "stsbad": "this is not a policy\n",
    "ststest": "version: STSv1\nmode: testing\nmx: other.example.com\nmax_age: 3600\n",
    "stsmodenone": "version: STSv1\nmode: none\nmx: %s\nmax_age: 1209600\n" % GW,
    "stsenf": "version: STSv1\nmode: enforce\nmx: *.other.example.com\nmax_age: 1209600\n",
}


def build_zones(tmp, dkim_extra):
    k2048, k1024, k512 = rsa_pub(tmp, 2048), rsa_pub(tmp, 1024), rsa_pub(tmp, 512)
    com = com_records(k2048, k1024, k512) + dkim_extra
    # mism.example.com publishes someone else's key at our active selector
    com.append("sa._domainkey.mism IN TXT %s" % txt("v=DKIM1; k=rsa; p=" + k2048))
    org = ['_dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.org"',
           "child IN A 198.18.0.50"]
    net = ['extok.example.com._report._dmarc.reports IN TXT "v=DMARC1"']
    rev = ["25 IN PTR mx.gw.example.com.",
           "27 IN PTR nofwd.gw.example.com.",
           "28 IN PTR other.gw.example.com."]
    return {
        "example.com": zone_text("example.com", com),
        "example.org": zone_text("example.org", org),
        "example.net": zone_text("example.net", net),
        "0.18.198.in-addr.arpa": zone_text("0.18.198.in-addr.arpa", rev),
    }


def dkim_config(smexop, tmp):
    """dkim_config - a configuration with dkim.signing items, their keys made
    by smexop dkim init, and the zone lines to publish (relative to example.com)"""
    keys = os.path.join(tmp, "keys")
    conf = os.path.join(tmp, "smexop.yaml")
    doms = ["signed", "mism", "nokey", "mode", "rot", "cfgerr"]
    with open(conf, "w") as f:
        f.write("server:\n  hostname: %s\n  public_addresses: [%s]\n" % (GW, GW_IP))
        f.write("dkim:\n  signing:\n")
        for d in doms:
            f.write("    - domain: %s.example.com\n      key_dir: %s\n"
                    "      selector: sa\n      next_selector: sb\n" % (d, keys))
    lines = []
    for d in ["signed", "mism", "mode", "rot", "cfgerr"]:
        p = subprocess.run([smexop, "dkim", "init", d + ".example.com", "-c", conf],
                           capture_output=True, timeout=120)
        out = p.stdout.decode()
        recs = {}
        for line in out.splitlines():
            if " IN TXT (" in line and not line.startswith(";"):
                name = line.split()[0].rstrip(".")
                recs[name] = line
        for name, line in recs.items():
            sel = name.split(".")[0]
            if d == "signed" and sel == "sb":
                continue  # the next key not published: dkim.missing
            if d == "mism" and sel == "sa":
                continue  # another key is published there (build_zones)
            rel = name[:-len(".example.com")]
            lines.append(rel + " " + line.split(" ", 1)[1])
        if d == "rot":
            # rotate against a zone file holding both keys: the old active
            # selector becomes next, with a new key, while DNS still has the old
            zf = os.path.join(tmp, "rot.zone")
            with open(zf, "w") as f:
                f.write("$TTL 300\n" + "\n".join(recs.values()) + "\n")
            subprocess.run([smexop, "dkim", "rotate", "rot.example.com", "-c", conf,
                            "--dns-zone", zf], capture_output=True, timeout=120, check=True)
    os.chmod(os.path.join(keys, "mode.example.com", "sa.rsa.pem"), 0o644)
    with open(os.path.join(keys, "cfgerr.example.com", "state"), "w") as f:
        f.write("this is not a state file\n")
    return conf, lines


def codes(out):
    """codes - {code: set(levels)} of a --json run; None when not JSON"""
    try:
        obj = json.loads(out)
    except ValueError:
        return None
    got = {}
    for f in obj.get("findings", []):
        got.setdefault(f["code"], set()).add(f["level"])
    return got


def main_cases(smexop, res, case, conf, policy, certs, dns):
    """main_cases - every area but DANE, against the NSD of build_zones (dns:
    its --dns options, which case() adds itself)"""
    gw = ["--mx", GW, "--gateway-ip", GW_IP]

    # ---- a good domain: every area ok, exit 0 -------------------
    got = case("good", "good.example.com",
               {"mx.ok": "ok", "ptr.ok": "ok", "spf.ok": "ok", "spf.lookups": "ok",
                "spf.gateway": "ok", "dkim.ok": "ok", "dmarc.ok": "ok",
                "dmarc.subdomains": "ok", "dmarc.alignment": "ok"}, *gw, rc=0)
    res.check("good: only ok findings",
              got is not None and all(v == {"ok"} for v in got.values()), str(got))
    # the same gateway from the configuration file
    case("good -c", "good.example.com",
         {"mx.ok": "ok", "ptr.ok": "ok", "spf.gateway": "ok"}, "-c", conf, rc=0,
         absent=("mx.not-gateway",))

    # ---- JSON shape and text output ------------------------------
    code, out, err = run(smexop, "good.example.com", "--json", *(dns + gw))
    try:
        obj = json.loads(out)
    except ValueError:
        obj = {}
    res.check("json: one object on one line", out.count("\n") == 1, out)
    res.check("json: top-level keys",
              set(obj) == {"domain", "result", "errors", "warnings", "findings"},
              str(obj.keys()))
    res.check("json: result ok, counts 0",
              obj.get("result") == "ok" and obj.get("errors") == 0
              and obj.get("warnings") == 0, out)
    res.check("json: finding keys",
              all(set(f) == {"area", "level", "code", "message", "fix", "detail"}
                  for f in obj.get("findings", [])), out)
    res.check("json: the SPF tree is the lookups detail",
              any(f["code"] == "spf.lookups" and f["detail"].startswith(
                  "good.example.com: 0 lookups") for f in obj.get("findings", [])),
              out)
    code, out, err = run(smexop, "over.example.com", "--only", "spf", *dns)
    res.check("text: first line is the verdict",
              out.startswith("over.example.com: error (1 error, 0 warnings)\n"), out)
    res.check("text: finding line, fix and tree",
              "\n  error spf.lookups-over: the record needs 11 DNS lookups" in out
              and "        fix: flatten includes" in out
              and "        | over.example.com: 11 lookups (11 here)" in out, out)
    res.check("text: exit 2 on errors", code == 2, "exit %d" % code)

    # ---- MX -------------------------------------------------------
    m = ["--only", "mx"] + gw
    case("mx nxdomain", "nonexistent.example.com", {"mx.nxdomain": "error"}, *m,
         rc=2)
    case("mx none", "nomx.example.com", {"mx.none": "error"}, *m)
    case("mx null", "nullmx.example.com", {"mx.null": "warn"}, *m, rc=1)
    case("mx dns", "x.nozone.net", {"mx.dns": "error"}, *m)
    case("mx not gateway", "elsewhere.example.com",
         {"mx.ok": "ok", "mx.not-gateway": "error"}, *m)
    case("mx bypass", "bypass.example.com", {"mx.bypass": "warn"}, *m, rc=1,
         absent=("mx.not-gateway",))
    case("mx host ip", "ipmx.example.com", {"mx.host-ip": "error"}, *m)
    case("mx host noaddr", "noaddrmx.example.com", {"mx.host-noaddr": "error"}, *m)
    case("mx host cname", "cname.example.com", {"mx.host-cname": "warn"}, *m)
    case("mx host dns", "hostdns.example.com", {"mx.host-dns": "error"}, *m)

    # ---- PTR ------------------------------------------------------
    p = ["--only", "ptr", "--mx", GW]
    got = case("ptr", "good.example.com",
               {"ptr.ok": "ok", "ptr.none": "error", "ptr.fcrdns": "error",
                "ptr.hostname": "warn", "ptr.dns": "error"},
               *(p + ["--gateway-ip", GW_IP, "--gateway-ip", "198.18.0.26",
                      "--gateway-ip", "198.18.0.27", "--gateway-ip", "198.18.0.28",
                      "--gateway-ip", "198.19.0.1"]), rc=2)
    case("ptr gateway without address", "good.example.com",
         {"ptr.gateway-noaddr": "error"}, "--only", "ptr", "--mx",
         "noaddr.gw.example.com")
    case("ptr from the gateway's name", "good.example.com", {"ptr.ok": "ok"},
         "--only", "ptr", "--mx", GW, rc=0)

    # ---- SPF ------------------------------------------------------
    s = ["--only", "spf"]
    case("spf none", "nospf.example.com", {"spf.none": "error"}, *s, rc=2)
    case("spf multiple", "twospf.example.com", {"spf.multiple": "error"}, *s)
    case("spf syntax", "badspf.example.com", {"spf.syntax": "error"}, *s)
    case("spf dns", "x.nozone.net", {"spf.dns": "error"}, *s)
    case("spf include error", "incerr.example.com", {"spf.include-error": "error"},
         *s)
    case("spf include loop", "loop.example.com", {"spf.include-loop": "error"}, *s)
    case("spf lookups near", "near.example.com", {"spf.lookups-near": "warn"}, *s,
         rc=1)
    case("spf lookups over", "over.example.com", {"spf.lookups-over": "error"}, *s)
    case("spf macros", "macro.example.com", {"spf.macros": "ok", "spf.lookups": "ok"},
         *s, rc=0)
    case("spf void", "void.example.com", {"spf.void": "warn"}, *s, rc=1)
    case("spf void over", "voidover.example.com", {"spf.void-over": "error"}, *s)
    case("spf +all in an include", "plusall.example.com", {"spf.all-pass": "error"},
         *s)
    case("spf ?all", "neutral.example.com", {"spf.all-neutral": "warn"}, *s, rc=1)
    case("spf no all", "noall.example.com", {"spf.no-all": "warn"}, *s, rc=1)
    case("spf ptr", "ptrspf.example.com", {"spf.ptr": "warn"}, *s)
    case("spf long", "longspf.example.com", {"spf.long": "warn"}, *s, rc=1)
    case("spf gateway unauthorised", "gwfail.example.com",
         {"spf.gateway-unauthorised": "error"}, *(s + gw), rc=2)

    # ---- DKIM -----------------------------------------------------
    d = ["--only", "dkim"]
    case("dkim common selectors", "dk.example.com",
         {"dkim.short": "warn", "dkim.small": "error", "dkim.testing": "warn",
          "dkim.revoked": "ok", "dkim.badrecord": "error"}, *d, rc=2)
    case("dkim none", "nodkim.example.com", {"dkim.none": "warn"}, *d, rc=1)
    case("dkim dns", "x.nozone.net", {"dkim.dns": "error"}, *d)
    case("dkim --selector", "good.example.com", {"dkim.ok": "ok"}, *d,
         "--selector", "sel-x", rc=0)
    c = d + ["-c", conf]
    case("dkim ours: published, next missing", "signed.example.com",
         {"dkim.ok": "ok", "dkim.missing": "warn"}, *c, rc=1)
    case("dkim ours: mismatch", "mism.example.com", {"dkim.mismatch": "error"}, *c)
    case("dkim ours: no key file", "nokey.example.com", {"dkim.nokey": "error"}, *c)
    case("dkim ours: key file mode", "mode.example.com", {"dkim.filemode": "warn"},
         *c)
    case("dkim ours: retired key at next", "rot.example.com",
         {"dkim.retired": "warn", "dkim.ok": "ok"}, *c)
    case("dkim ours: unreadable state", "cfgerr.example.com",
         {"dkim.config": "error"}, *c)

    # ---- DMARC ----------------------------------------------------
    q = ["--only", "dmarc"]
    case("dmarc inherited", "child.example.org",
         {"dmarc.inherited": "ok", "dmarc.ok": "ok"}, *q)
    case("dmarc none", "nodmarc.example.com", {"dmarc.none": "error"}, *q, rc=2)
    case("dmarc multiple", "twodmarc.example.com", {"dmarc.multiple": "error"}, *q)
    case("dmarc syntax", "syndmarc.example.com", {"dmarc.syntax": "error"}, *q)
    case("dmarc bad value", "badval.example.com", {"dmarc.bad-value": "warn"}, *q,
         rc=1)
    case("dmarc no p", "nop.example.com", {"dmarc.no-p": "warn"}, *q)
    case("dmarc dns", "x.nozone.net", {"dmarc.dns": "error"}, *q)
    case("dmarc p=none", "pnone.example.com", {"dmarc.p-none": "warn"}, *q, rc=1)
    case("dmarc pct", "pct.example.com", {"dmarc.pct": "warn"}, *q)
    case("dmarc t=y", "tdmarc.example.com", {"dmarc.testing": "warn"}, *q)
    case("dmarc sp weaker", "spweak.example.com", {"dmarc.sp-weaker": "warn"}, *q)
    case("dmarc np weaker", "npweak.example.com", {"dmarc.np-weaker": "warn"}, *q)
    case("dmarc no rua", "norua.example.com", {"dmarc.rua-none": "warn"}, *q)
    case("dmarc uri syntax", "urisyn.example.com", {"dmarc.uri-syntax": "warn"}, *q)
    case("dmarc http uri", "urihttp.example.com", {"dmarc.uri-http": "warn"}, *q)
    case("dmarc strict alignment", "strict.example.com", {"dmarc.alignment": "ok"},
         *q, rc=0)
    case("dmarc external authorised", "extok.example.com",
         {"dmarc.report-authorised": "ok"}, *q, rc=0)
    case("dmarc external unauthorised", "extbad.example.com",
         {"dmarc.report-unauthorised": "error"}, *q, rc=2)
    case("dmarc external dns", "extdns.example.com", {"dmarc.report-dns": "error"},
         *q)

    # ---- MTA-STS and TLS-RPT ---------------------------------------------
    t = ["--only", "mta-sts,tls-rpt", "--https-port", str(policy.port), "--ca-file", certs.ca]
    case("mta-sts ok", "stsok.example.com", {"mta-sts.ok": "ok", "tls-rpt.ok": "ok"}, *t, rc=0)
    case("mta-sts none", "good.example.com", {"mta-sts.none": "ok", "tls-rpt.none": "ok"}, *t,
         rc=0)
    case("mta-sts dns", "x.nozone.net", {"mta-sts.dns": "error", "tls-rpt.dns": "error"}, *t)
    case("mta-sts two records", "ststxt.example.com", {"mta-sts.txt-invalid": "error"}, *t)
    case("mta-sts fetch 404", "stsfetch.example.com",
         {"mta-sts.fetch": "error", "tls-rpt.none": "warn"}, *t, rc=2)
    case("mta-sts certificate", "stscert.example.com", {"mta-sts.certificate": "error"}, *t)
    case("mta-sts policy invalid", "stsbad.example.com", {"mta-sts.policy-invalid": "error"},
         *t)
    case("mta-sts testing", "ststest.example.com",
         {"mta-sts.ok": "ok", "mta-sts.testing": "warn", "mta-sts.mx-mismatch": "warn",
          "mta-sts.max-age-short": "warn"}, *t, rc=1)
    case("mta-sts mode none", "stsmodenone.example.com", {"mta-sts.mode-none": "warn"}, *t)
    case("mta-sts enforce, MX not listed", "stsenf.example.com",
         {"mta-sts.mx-mismatch": "error"}, *t, rc=2)
    r = ["--only", "tls-rpt"]
    case("tls-rpt multiple", "rptmulti.example.com", {"tls-rpt.multiple": "error"}, *r)
    case("tls-rpt invalid", "rptbad.example.com", {"tls-rpt.invalid": "error"}, *r)
    case("tls-rpt skipped uri", "rptskip.example.com",
         {"tls-rpt.ok": "ok", "tls-rpt.uri-skipped": "warn"}, *r, rc=1)


def spki_sha256(cert):
    """spki_sha256 - the hex SHA-256 of a certificate's public key (TLSA 3 1 1)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def dane_cases(res, case, certs, tmp, ctx):
    """dane_cases - signed zones (dnssec_zone.py) and a STARTTLS server"""
    missing = dnssec_available()
    if missing:
        res.check("dane: the DNSSEC fixture", False, missing)
        return
    smtp = SmtpTlsServer(certs)
    smtp.start()
    try:
        q = smtp.port
        good = spki_sha256(os.path.join(certs.tmp, "good.pem"))
        tl = "_%d._tcp.mx" % q
        host = ["@ MX 10 mx", "mx A 127.0.0.1"]
        zones = DnssecZones()
        zones.add("dane.dnssec.example", host + ["%s TLSA 3 1 1 %s" % (tl, good)])
        zones.add("danebad.dnssec.example", host + ["%s TLSA 3 1 1 %s" % (tl, "00" * 32)])
        zones.add("danepkix.dnssec.example", host + ["%s TLSA 1 1 1 %s" % (tl, good)])
        zones.add("daneclosed.dnssec.example",
                  ["@ MX 10 mx", "mx A 127.0.0.2", "%s TLSA 3 1 1 %s" % (tl, good)])
        zones.add("danebogus.dnssec.example", host + ["%s TLSA 3 1 1 %s" % (tl, good)],
                  bogus_rrsets=[(tl, "TLSA")])
        zones.add("danenotlsa.dnssec.example", host)
        zones.add("daneplain.dnssec.example", host, mode="unsigned")
        zones.add("danezone.dnssec.example", host, mode="bogus")
        with zones.serve() as srv:
            ctx["dns"] = srv.dns_args + ["--dns-timeout", "3000"]
            d = ["--only", "dane", "--smtp-port", str(q), "--smtp-timeout", "5000"]
            case("dane ok", "dane.dnssec.example", {"dane.ok": "ok"}, *d, rc=0)
            case("dane mismatch", "danebad.dnssec.example", {"dane.mismatch": "error"}, *d,
                 rc=2)
            case("dane PKIX-EE only", "danepkix.dnssec.example", {"dane.tlsa-unusable": "warn"},
                 *d, rc=1)
            case("dane probe failed", "daneclosed.dnssec.example",
                 {"dane.probe-failed": "error"}, *d)
            case("dane bogus TLSA", "danebogus.dnssec.example", {"dane.unusable": "error"}, *d)
            case("dane no TLSA", "danenotlsa.dnssec.example", {"dane.none": "ok"}, *d, rc=0)
            case("dane unsigned zone", "daneplain.dnssec.example", {"dane.unsigned": "ok"}, *d,
                 rc=0)
            case("dane bogus zone", "danezone.dnssec.example", {"dane.dnssec-bogus": "error"},
                 *d)
            # TLS-RPT is wanted once a domain has DANE
            case("dane: tls-rpt wanted", "dane.dnssec.example", {"tls-rpt.none": "warn"},
                 "--only", "dane,tls-rpt", "--smtp-port", str(q), rc=1)
    finally:
        smtp.stop()


def main():
    if len(sys.argv) < 2:
        print("usage: test_check_domain.py SMEXOP [SOURCE_ROOT]", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    smexop = os.path.abspath(sys.argv[1])
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    res = Results()
    ctx = {"dns": []}

    def case(label, domain, expect, *args, rc=None, absent=()):
        """expect: {code: level}; every code must be there with that level"""
        code, out, err = run(smexop, domain, "--json", *(ctx["dns"] + list(args)))
        got = codes(out)
        if got is None:
            res.check(label, False, "not JSON (rc %d): %s%s" % (code, out, err))
            return None
        for c, level in expect.items():
            ok = level in got.get(c, set())
            if ok:
                SEEN.add(c)
            res.check("%s: %s %s" % (label, level, c), ok,
                      "got %s\n%s" % (sorted(got.items()), err))
        for c in absent:
            res.check("%s: no %s" % (label, c), c not in got, str(sorted(got)))
        if rc is not None:
            res.check("%s: exit %d" % (label, rc), code == rc, "exit %d" % code)
        return got

    with tempfile.TemporaryDirectory(prefix="check_domain.") as tmp:
        conf, dkim_lines = dkim_config(smexop, tmp)
        zones = build_zones(tmp, dkim_lines)
        certdir = os.path.join(tmp, "certs")
        os.mkdir(certdir)
        certs = TestCerts(certdir, good=["mta-sts.%s.example.com" % n
                                         for n in list(STS_SITES) + ["stsfetch"]],
                          mismatch={"mta-sts.stscert.example.com": "wrong.example.com"})
        sites = os.path.join(tmp, "sites.json")
        with open(sites, "w") as f:
            json.dump({"mta-sts.%s.example.com" % n: {"status": 200,
                                                      "content_type": "text/plain",
                                                      "body": body}
                       for n, body in list(STS_SITES.items()) + [("stscert", GOOD_POLICY)]},
                      f)
        policy = PolicyServer(certs, sites)
        policy.start()
        try:
            with NsdServer(zones) as nsd:
                ctx["dns"] = ["--dns", "127.0.0.1:%d" % nsd.port, "--dns-timeout", "3000"]
                main_cases(smexop, res, case, conf, policy, certs, ctx["dns"])
            dane_cases(res, case, certs, tmp, ctx)
        finally:
            policy.stop()

        # ---- usage --------------------------------------------------------
        code, out, err = run(smexop)
        res.check("usage: no domain exits 2", code == 2 and "DOMAIN" in err, err)
        code, out, err = run(smexop, "example.com", "--only", "nope")
        res.check("usage: bad --only exits 2", code == 2, err)
        code, out, err = run(smexop, "example.com", "--gateway-ip", "x")
        res.check("usage: bad --gateway-ip exits 2", code == 2, err)
        code, out, err = run(smexop, "--help")
        res.check("--help exits 0", code == 0 and out.startswith("usage:"), out)

    # ---- every code of the doc was provoked -------------------------------
    doc = os.path.join(root, "docs", "check-domain.md")
    with open(doc) as f:
        documented = set(re.findall(r"^\| `([a-z-]+\.[a-z-]+)` \|", f.read(), re.M))
    missing = sorted(documented - SEEN)
    res.check("every documented code was provoked (%d codes)" % len(documented),
              not missing, "not seen: %s" % missing)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
