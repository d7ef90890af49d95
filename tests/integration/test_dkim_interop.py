#!/usr/bin/python3
"""test_dkim_interop - smexop's DKIM against dkimpy and OpenDKIM, both ways.

Peers (Debian packages): dkimpy (python3-dkim) and OpenDKIM's library
libopendkim, driven by tests/integration/odkim.c: opendkim-testmsg, the
tool shipped with it, signs only with rsa-sha1 relaxed/simple and finds
keys only in DNS, so it is used for the real-DNS cases (verifying smexop's
signatures, and signing with rsa-sha1, which smexop must refuse).  It
rejects a message without a Date field ("dkim_chunk(): Syntax error"); all
the messages here have one.

Keys are made by `smexop dkim keygen` (RSA-2048 and Ed25519) in a
temporary directory.  Cases:

  - smexop signs -> smexop, dkimpy and libopendkim verify
  - dkimpy signs -> smexop verifies;  libopendkim signs -> smexop verifies
  - over both canonicalisations (simple/relaxed, header and body), both
    algorithms, with and without l=, and a dozen message shapes (folded and
    repeated headers, 8-bit bytes, empty body, CRLF-only body, trailing
    whitespace, tabs, no final CRLF, long lines, bare LF, ...)
  - tampering: one byte changed in a signed header or in the body gives
    fail (signature mismatch / body hash mismatch) in smexop, and a failure
    in dkimpy and libopendkim
  - keys reach smexop from a master file (--dns-zone) and, for a subset,
    from NSD on a loopback address (--dns IP:53); libopendkim and
    opendkim-testmsg reach the same NSD through the system resolver inside
    `unshare -m` with a bind-mounted resolv.conf (the real one is never
    touched).

Bare-LF messages: smexop signs and verifies them as they are; the peers get
them converted to CRLF, as they would travel over SMTP.

Usage: test_dkim_interop.py SMEXOP [ODKIM]
Prints one line per case and `N passed, N failed`; exit 1 on any failure.
"""

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dkim  # noqa: E402

from nsd_server import NsdServer, zone_text  # noqa: E402

DOMAIN = "example.com"
TESTMSG = "/usr/sbin/opendkim-testmsg"


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            self.passed += 1
            print("ok   %s" % name)

    def skip(self, name, why):
        self.skipped += 1
        print("SKIP %s: %s" % (name, why))


# ---- messages ---------------------------------------------------------------

def crlf(text):
    """crlf - bytes with every line ending CRLF (input written with \\n)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


HEAD = ("From: Alice <alice@example.com>\n"
        "To: bob@example.org\n"
        "Subject: interop\n"
        "Date: Sat, 28 Nov 2026 12:00:00 +0000\n"
        "Message-ID: <m1@example.com>\n")


def messages():
    """messages - [(name, bytes)]: the shapes every direction is run on."""
    long_line = "x" * 1990 + " tail"
    m = [
        ("plain", crlf(HEAD + "\nHello Bob.\n")),
        ("folded", crlf("From: Alice <alice@example.com>\n"
                        "To: bob@example.org,\n\tcarol@example.org,\n   dave@example.org\n"
                        "Subject: a subject folded\n over two\n\tlines\n"
                        "Date: Sat, 28 Nov 2026 12:00:00 +0000\n"
                        "\nbody line\n")),
        ("repeated", crlf("Received: from a by b; Sat, 28 Nov 2026 12:00:00 +0000\n"
                          "Received: from c by d; Sat, 28 Nov 2026 11:59:00 +0000\n"
                          + HEAD + "To: second@example.org\n\ntwo To fields\n")),
        ("8bit", crlf(HEAD.replace("interop", "caf\u00e9 \u00fcber \u65e5\u672c")
                      + "Content-Type: text/plain; charset=utf-8\n"
                      "Content-Transfer-Encoding: 8bit\n\n"
                      "Gr\u00fc\u00dfe, \u00e7a va? \u2603\n") + b"latin-1 \xe9\xff\r\n"),
        ("empty-body", crlf(HEAD + "\n")),
        ("crlf-only-body", crlf(HEAD + "\n\n\n\n\n")),
        ("trailing-ws", crlf(HEAD.replace("Subject: interop", "Subject:   interop   \t")
                             + "\nline with trailing spaces   \n"
                             "tab at end\t\n  leading spaces\n\n\n")),
        ("tabs", crlf(HEAD + "X-Tabs:\tvalue\twith \t tabs\n\n"
                      "col1\tcol2\t\tcol3\n \t mixed  \t  run\n")),
        ("no-final-crlf", crlf(HEAD + "\nlast line without a break").rstrip(b"\r\n")),
        ("long-lines", crlf(HEAD + "X-Long: " + long_line + "\n\n"
                            + (long_line + "\n") * 3)),
        ("bare-lf", (HEAD + "\nbare LF\nlines  \n\n").encode()),
        ("big-body", crlf(HEAD + "\n" + "".join(
            "line %05d of a longer body, with some text to hash\n" % i for i in range(2000)))),
    ]
    return m


def to_wire(msg):
    """to_wire - what a peer gets: bare LF turned into CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", msg)


def smtp_wire(msg):
    """smtp_wire - to_wire, ending with CRLF as SMTP DATA always does.

    OpenDKIM's relaxed body canonicalisation does not add the CRLF missing
    after an unterminated last line (dkimpy and smexop add it, as simple
    does): it refuses to sign such a body and fails the signatures of
    others.  It gets such messages as they would arrive over SMTP.
    """
    msg = to_wire(msg)
    return msg if msg.endswith(b"\r\n") else msg + b"\r\n"


def to_lf(msg):
    return msg.replace(b"\r\n", b"\n")


# ---- keys -------------------------------------------------------------------

class Keys:
    """Keys - RSA-2048 (selector rsa) and Ed25519 (selector ed) from smexop."""

    def __init__(self, exe, d):
        self.pem = {}
        self.txt = {}
        for sel, args in (("rsa", []), ("ed", ["--type", "ed25519"])):
            path = os.path.join(d, sel + ".pem")
            out = subprocess.run([exe, "dkim", "keygen", "--domain", DOMAIN, "--selector",
                                  sel, "--out", path] + args, capture_output=True,
                                 check=True).stdout.decode()
            self.pem[sel] = path
            self.txt[sel] = "".join(re.findall(r'"([^"]*)"', out))
        # dkimpy wants the raw Ed25519 seed in base64: the PKCS#8 DER ends with it
        with open(self.pem["ed"]) as f:
            der = base64.b64decode("".join(l for l in f if not l.startswith("-")))
        self.ed_seed = base64.b64encode(der[-32:])
        with open(self.pem["rsa"], "rb") as f:
            self.rsa_pem = f.read()
        self.keyfile = os.path.join(d, "keys.txt")
        with open(self.keyfile, "w") as f:
            for sel, txt in self.txt.items():
                f.write("%s._domainkey.%s %s\n" % (sel, DOMAIN, txt))
        self.zone = zone_text(DOMAIN, ["%s._domainkey IN TXT %s" % (sel, " ".join(
            '"%s"' % t[i:i + 200] for i in range(0, len(t), 200)))
            for sel, t in self.txt.items()])
        self.zonefile = os.path.join(d, "example.com.zone")
        with open(self.zonefile, "w") as f:
            f.write(self.zone)

    def dnsfunc(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        for sel, txt in self.txt.items():
            if name.rstrip(".").lower() == "%s._domainkey.%s" % (sel, DOMAIN):
                return txt.encode()
        return None


# ---- the three implementations ----------------------------------------------

class Peers:
    def __init__(self, exe, odkim, keys, d):
        self.exe = exe
        self.odkim = odkim
        self.keys = keys
        self.d = d
        self.dns_args = ["--dns-zone", keys.zonefile]

    def smexop_sign(self, msg, alg, canon, length):
        args = [self.exe, "dkim", "sign", "--domain", DOMAIN, "--selector", alg,
                "--key", self.keys.pem[alg], "--canon", canon]
        if length:
            args.append("--length")
        p = subprocess.run(args, input=msg, capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("smexop sign: %s" % p.stderr.decode(errors="replace").strip())
        return p.stdout

    def smexop_verify(self, msg, dns_args=None):
        """smexop_verify - [(result, d, s, reason)] per signature."""
        p = subprocess.run([self.exe, "dkim", "verify"] + (dns_args or self.dns_args),
                           input=msg, capture_output=True, timeout=60)
        if p.returncode != 0:
            return [("error", "", "", p.stderr.decode(errors="replace").strip())]
        out = []
        for line in p.stdout.decode().splitlines():
            m = re.match(r"^(\S+) d=(\S*) s=(\S*) \((.*)\)$", line)
            out.append(m.groups() if m else (line, "", "", ""))
        return out

    def dkimpy_sign(self, msg, alg, canon, length):
        hc, bc = canon.split("/")
        key = self.keys.rsa_pem if alg == "rsa" else self.keys.ed_seed
        a = b"rsa-sha256" if alg == "rsa" else b"ed25519-sha256"
        sig = dkim.sign(to_wire(msg), alg.encode(), DOMAIN.encode(), key, signature_algorithm=a,
                        canonicalize=(hc.encode(), bc.encode()), length=length)
        return sig + to_wire(msg)

    def dkimpy_verify(self, msg):
        """dkimpy_verify - [bool] per signature."""
        d = dkim.DKIM(to_wire(msg), minkey=1024)
        n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
        res = []
        for i in range(n):
            try:
                res.append(bool(d.verify(idx=i, dnsfunc=self.keys.dnsfunc)))
            except dkim.DKIMException:
                res.append(False)
        return res

    def odkim_sign(self, msg, alg, canon, length):
        args = [self.odkim, "sign", "-d", DOMAIN, "-s", alg, "-k", self.keys.pem[alg],
                "-a", "rsa" if alg == "rsa" else "ed25519", "-c", canon]
        if length:
            args.append("-l")
        p = subprocess.run(args, input=smtp_wire(msg), capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("odkim sign: %s" % p.stderr.decode(errors="replace").strip())
        return p.stdout

    def odkim_verify(self, msg, wrap=None):
        """odkim_verify - [(result, reason)] per signature (keys: -K, or DNS with wrap)."""
        args = [self.odkim, "verify"] + (["-K", self.keys.keyfile] if wrap is None else [])
        p = subprocess.run((wrap or []) + args, input=smtp_wire(msg), capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            return [("error", p.stderr.decode(errors="replace").strip())]
        out = []
        for line in p.stdout.decode().splitlines():
            m = re.match(r"^(\S+) d=\S* s=\S* \((.*)\)$", line)
            out.append(m.groups() if m else (line, ""))
        return out


def expect_all_pass(name, peers, signed, verifiers, res, want_sigs=1, lf=False):
    """expect_all_pass - every verifier in verifiers passes every signature."""
    problems = []
    if "smexop" in verifiers:
        got = peers.smexop_verify(to_lf(signed) if lf else signed)
        if len(got) != want_sigs or any(g[0] != "pass" for g in got):
            problems.append("smexop: %s" % got)
    if "dkimpy" in verifiers:
        got = peers.dkimpy_verify(signed)
        if len(got) != want_sigs or not all(got):
            problems.append("dkimpy: %s" % got)
    if "opendkim" in verifiers and peers.odkim:
        got = peers.odkim_verify(signed)
        if len(got) != want_sigs or any(g[0] != "pass" for g in got):
            problems.append("libopendkim: %s" % got)
    res.check(name, problems)


def expect_opendkim_ed_simple_bug(name, peers, signed, res):
    """expect_opendkim_ed_simple_bug - OpenDKIM 2.11's ed25519-sha256 signatures
    with simple header canonicalisation are wrong: dkimpy and smexop reject
    them, and so does OpenDKIM itself.  Checks that all three agree."""
    problems = []
    got = peers.smexop_verify(signed)
    if got != [("fail", DOMAIN, "ed", "signature mismatch")]:
        problems.append("smexop: %s" % got)
    if any(peers.dkimpy_verify(signed)):
        problems.append("dkimpy passed it")
    if any(g[0] == "pass" for g in peers.odkim_verify(signed)):
        problems.append("libopendkim passed its own signature: the bug is fixed, "
                        "verify these with expect_all_pass")
    res.check(name + " (OpenDKIM ed25519 simple-header bug: all three fail it)", problems)


CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]
ALGS = ["rsa", "ed"]


def run_matrix(peers, res):
    """run_matrix - every signer x canon x alg x l= x shape."""
    signers = [("smexop", peers.smexop_sign, ["smexop", "dkimpy", "opendkim"]),
               ("dkimpy", peers.dkimpy_sign, ["smexop"])]
    if peers.odkim:
        signers.append(("opendkim", peers.odkim_sign, ["smexop", "dkimpy"]))
    for shape, msg in messages():
        lf = shape == "bare-lf"
        for signer, sign, verifiers in signers:
            for alg in ALGS:
                for canon in CANONS:
                    for length in (False, True):
                        name = "%s signs %s %s %s%s -> %s" % (
                            signer, shape, alg, canon, " l=" if length else "",
                            ",".join(verifiers))
                        try:
                            signed = sign(msg, alg, canon, length)
                        except Exception as e:  # noqa: BLE001 - reported as a failure
                            res.check(name, ["signing failed: %s" % e])
                            continue
                        if signer == "opendkim" and alg == "ed" and canon.startswith("simple"):
                            expect_opendkim_ed_simple_bug(name, peers, signed, res)
                            continue
                        # smexop must keep a bare-LF message as it is; peers sign CRLF
                        expect_all_pass(name, peers, signed, verifiers, res,
                                        lf=lf and signer != "smexop")


def tamper(msg, where):
    """tamper - change one byte of the Subject value or of the body."""
    i = msg.index(b"\r\n\r\n") if b"\r\n\r\n" in msg else msg.index(b"\n\n")
    if where == "header":
        j = msg.index(b"Subject: ") + len(b"Subject: ")
    else:
        j = i + 4 + 2
    return msg[:j] + bytes([msg[j] ^ 0x01]) + msg[j + 1:]


def run_tampering(peers, res):
    base = crlf(HEAD + "\nHello Bob, this body will change.\n")
    signers = [("smexop", peers.smexop_sign), ("dkimpy", peers.dkimpy_sign)]
    if peers.odkim:
        signers.append(("opendkim", peers.odkim_sign))
    want_reason = {"header": "signature mismatch", "body": "body hash mismatch"}
    for signer, sign in signers:
        for alg in ALGS:
            for canon in ("simple/simple", "relaxed/relaxed"):
                signed = sign(base, alg, canon, False)
                for where in ("header", "body"):
                    name = "tampered %s: %s-signed %s %s" % (where, signer, alg, canon)
                    bad = tamper(signed, where)
                    problems = []
                    got = peers.smexop_verify(bad)
                    if got != [("fail", DOMAIN, alg, want_reason[where])]:
                        problems.append("smexop: %s" % got)
                    if any(peers.dkimpy_verify(bad)):
                        problems.append("dkimpy passed it")
                    if peers.odkim:
                        o = peers.odkim_verify(bad)
                        if not o or any(g[0] == "pass" for g in o):
                            problems.append("libopendkim: %s" % o)
                    res.check(name, problems)
    # l=: text appended after the signed part keeps every verifier passing
    for signer, sign in signers:
        for alg in ALGS:
            name = "l= with appended text: %s-signed %s" % (signer, alg)
            signed = sign(base, alg, "relaxed/relaxed", True) + b"appended by a list\r\n"
            expect_all_pass(name, peers, signed, ["smexop", "dkimpy", "opendkim"], res)
    # a second signature from another implementation on top of the first
    name = "dkimpy ed25519 over smexop rsa: two signatures"
    signed = peers.dkimpy_sign(peers.smexop_sign(base, "rsa", "relaxed/relaxed", False), "ed",
                               "relaxed/relaxed", False)
    expect_all_pass(name, peers, signed, ["smexop", "dkimpy", "opendkim"], res, want_sigs=2)


# ---- real DNS ---------------------------------------------------------------

def loopback_53():
    """loopback_53 - a 127.0.0.x address whose port 53 is free (UDP and TCP)."""
    for last in range(154, 200):
        ip = "127.0.0.%d" % last
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((ip, 53))
                finally:
                    s.close()
            return ip
        except OSError:
            continue
    return None


def resolver_wrap(d, ip):
    """resolver_wrap - argv prefix that runs a command with resolv.conf -> ip."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    conf = os.path.join(d, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver %s\noptions attempts:1 timeout:2\n" % ip)
    return ["unshare", "-m", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', conf]


def run_real_dns(peers, d, res):
    ip = loopback_53()
    port = 53
    if ip is None:
        ip, port = "127.0.0.1", None
    with NsdServer({DOMAIN: peers.keys.zone}, ip=ip, port=port) as srv:
        print("nsd on %s:%d" % (srv.ip, srv.port))
        dns_args = ["--dns", "%s:%d" % (srv.ip, srv.port)]
        plain = messages()[0][1]
        for alg in ALGS:
            for signer, sign in (("smexop", peers.smexop_sign), ("dkimpy", peers.dkimpy_sign)):
                signed = sign(plain, alg, "relaxed/relaxed", False)
                got = peers.smexop_verify(signed, dns_args)
                res.check("via NSD: smexop verifies %s-signed %s" % (signer, alg),
                          [] if got == [("pass", DOMAIN, alg, "ok")] else ["smexop: %s" % got])
                got = peers.smexop_verify(tamper(signed, "body"), dns_args)
                res.check("via NSD: smexop fails tampered %s-signed %s" % (signer, alg),
                          [] if got == [("fail", DOMAIN, alg, "body hash mismatch")]
                          else ["smexop: %s" % got])
        got = peers.smexop_verify(
            peers.smexop_sign(plain, "rsa", "relaxed/relaxed", False).replace(
                b"s=rsa;", b"s=nokey;", 1), dns_args)
        res.check("via NSD: unknown selector", [] if got and got[0][0] == "permerror" and
                  "key" in got[0][3] else ["smexop: %s" % got])
        wrap = resolver_wrap(d, srv.ip) if srv.port == 53 else None
        if wrap is None:
            res.skip("via NSD: libopendkim and opendkim-testmsg",
                     "needs root, unshare and port 53 on a loopback address")
            return
        for alg in ALGS:
            signed = peers.smexop_sign(plain, alg, "relaxed/relaxed", False)
            if peers.odkim:
                got = peers.odkim_verify(signed, wrap=wrap)
                res.check("via NSD: libopendkim (system resolver) verifies smexop-signed %s"
                          % alg, [] if got == [("pass", "no signature error")]
                          else ["libopendkim: %s" % got])
            # opendkim-testmsg says nothing when the signature is good, and
            # fails with "dkim_eom(): Bad signature" when it is not
            for what, msg in (("", signed), ("tampered ", tamper(signed, "body")),
                              ("tampered header ", tamper(signed, "header"))):
                p = subprocess.run(wrap + [TESTMSG], input=msg, capture_output=True,
                                   timeout=60)
                err = p.stderr.decode(errors="replace").strip()
                name = "via NSD: opendkim-testmsg %s %ssmexop-signed %s" % (
                    "rejects" if what else "verifies", what, alg)
                good = p.returncode == 0 and err == ""
                res.check(name, [] if good == (what == "") else
                          ["exit %d: %s" % (p.returncode, err or "no complaint")])
        # opendkim-testmsg signs with rsa-sha1, which smexop must refuse (RFC 8301)
        p = subprocess.run([TESTMSG, "-d", DOMAIN, "-s", "rsa", "-k", peers.keys.pem["rsa"]],
                           input=plain, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace").strip()
        name = "opendkim-testmsg signs (rsa-sha1) -> smexop refuses it"
        if p.returncode != 0:
            res.skip(name, "opendkim-testmsg cannot sign here: %s" % err)
        else:
            got = peers.smexop_verify(p.stdout, dns_args)
            res.check(name, [] if got and got[0][0] in ("fail", "permerror", "policy")
                      else ["smexop: %s" % got])


def main():
    if len(sys.argv) < 2:
        print("usage: test_dkim_interop.py SMEXOP [ODKIM]")
        print("0 passed, 1 failed")
        return 1
    exe = os.path.abspath(sys.argv[1])
    odkim = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    res = Results()
    d = tempfile.mkdtemp(prefix="smexop-dkim-interop-")
    try:
        keys = Keys(exe, d)
        peers = Peers(exe, odkim, keys, d)
        if odkim is None:
            res.skip("libopendkim", "odkim not built (libopendkim-dev missing)")
        run_matrix(peers, res)
        run_tampering(peers, res)
        run_real_dns(peers, d, res)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
