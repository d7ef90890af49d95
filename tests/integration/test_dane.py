#!/usr/bin/python3
"""test_dane - DANE for SMTP end to end through `smexop tlsa --host [--verify]`.

    test_dane.py SMEXOP SMTP_TEST_SERVER

Test certificates are made with the openssl tool (a CA, a leaf for
mx.good.dnssec.example signed by it); two SMTP receivers with STARTTLS
run on loopback (tests/integration/smtp_test_server with the leaf and the
CA as its chain, and one with a self-signed key), plus a small receiver
that does not offer STARTTLS.  The zones are signed and served by the
DNSSEC fixture (dnssec_zone.py) and smexop resolves through libunbound
forwarding to it with the fixture's trust anchor.

Cases: the record to publish (3 1 1, and 2 1 1 with --all) against the
openssl tool's own digest; DANE-EE match and mismatch; DANE-TA with the
name check passing, failing, and passing through the CNAME-expanded base
domain; a TLSA RRset reached through a CNAME; a bogus zone, a bogus TLSA
RRset in a good zone, an unsigned zone; PKIX-only records (no usable
record); no TLSA record; a server without STARTTLS.
Prints `N passed, N failed`.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnssec_zone  # noqa: E402
from smexoptest import Results  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    """make_certs - ca.pem, chain.pem (leaf + CA), leaf.key; self.pem/self.key"""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=DANE Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=mx.good.dnssec.example",
            cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:mx.good.dnssec.example\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "30", "-extfile", "ext.cnf", cwd=d)
    with open(os.path.join(d, "chain.pem"), "w") as out:
        for name in ("leaf.pem", "ca.pem"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "self.key", "-out", "self.pem", "-days", "30",
            "-subj", "/CN=somewhere.else", cwd=d)


def spki_sha256(d, pem):
    """spki_sha256 - the openssl tool's own SHA-256 of the certificate's SPKI"""
    pub = subprocess.run(["openssl", "x509", "-in", os.path.join(d, pem), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, check=True,
                         capture_output=True).stdout.decode()
    return out.split()[0].lower()


class SmtpServer:
    """SmtpServer - smtp_test_server with a certificate chain; .port is STARTTLS"""

    def __init__(self, binary, d, name, cert, key):
        self.dir = os.path.join(d, name)
        os.makedirs(self.dir)
        ports = os.path.join(self.dir, "ports")
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen([binary, "--dir", self.dir, "--ports", ports,
                                      "--cert", os.path.join(d, cert),
                                      "--key", os.path.join(d, key)], stderr=self.log)
        for _ in range(200):
            if os.path.exists(ports) and open(ports).read().endswith("\n"):
                break
            time.sleep(0.05)
        self.port = int(open(ports).read().split()[0])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class PlainServer:
    """PlainServer - a receiver that never offers STARTTLS (one thread per client)"""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(c,), daemon=True).start()

    @staticmethod
    def _client(c):
        with c:
            c.settimeout(10)
            f = c.makefile("rb")
            c.sendall(b"220 plain.test ESMTP\r\n")
            for line in f:
                verb = line.strip().upper()
                if verb.startswith(b"EHLO"):
                    c.sendall(b"250-plain.test\r\n250 8BITMIME\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"502 5.5.2 no\r\n")

    def stop(self):
        self.stopping = True
        self.sock.close()


def main():
    if len(sys.argv) < 3:
        print("usage: test_dane.py SMEXOP SMTP_TEST_SERVER")
        return 2
    smexop, server_bin = sys.argv[1], sys.argv[2]
    missing = dnssec_zone.available()
    if missing:
        print("skipped: %s" % missing)
        return 77
    res = Results()
    tmp = tempfile.mkdtemp(prefix="smexop-dane-")
    make_certs(tmp)
    leaf = spki_sha256(tmp, "leaf.pem")
    ca = spki_sha256(tmp, "ca.pem")
    other = spki_sha256(tmp, "self.pem")

    servers = []
    try:
        chain_srv = SmtpServer(server_bin, tmp, "chain", "chain.pem", "leaf.key")
        servers.append(chain_srv)
        self_srv = SmtpServer(server_bin, tmp, "self", "self.pem", "self.key")
        servers.append(self_srv)
        plain = PlainServer()
        p, s, n = chain_srv.port, self_srv.port, plain.port

        zones = dnssec_zone.DnssecZones()
        zones.add("good.dnssec.example", [
            # DANE-EE of the leaf: matches the chain server
            "mx-ee A 127.0.0.1",
            "_%d._tcp.mx-ee TLSA 3 1 1 %s" % (p, leaf),
            # DANE-EE of another key: mismatch
            "mx-eebad A 127.0.0.1",
            "_%d._tcp.mx-eebad TLSA 3 1 1 %s" % (p, other),
            # the self-signed server, with its own key published: match
            "mx-self A 127.0.0.1",
            "_%d._tcp.mx-self TLSA 3 1 1 %s" % (s, other),
            # DANE-TA of the CA: the leaf names mx.good.dnssec.example
            "mx A 127.0.0.1",
            "_%d._tcp.mx TLSA 2 1 1 %s" % (p, ca),
            # DANE-TA, but a host name the leaf does not carry
            "mx-ta A 127.0.0.1",
            "_%d._tcp.mx-ta TLSA 2 1 1 %s" % (p, ca),
            # an alias of mx: the TLSA base domain is the CNAME target
            "mx-alias CNAME mx",
            # the TLSA RRset itself behind a CNAME
            "mx-cn A 127.0.0.1",
            "_%d._tcp.mx-cn CNAME _%d._tcp.mx-ee" % (p, p),
            # a broken signature on the TLSA RRset only
            "mx-bogus A 127.0.0.1",
            "_%d._tcp.mx-bogus TLSA 3 1 1 %s" % (p, leaf),
            # PKIX usages only: no usable record
            "mx-pkix A 127.0.0.1",
            "_%d._tcp.mx-pkix TLSA 1 1 1 %s" % (p, leaf),
            # no TLSA at all
            "mx-none A 127.0.0.1",
            # DANE published, but STARTTLS not offered
            "mx-plain A 127.0.0.1",
            "_%d._tcp.mx-plain TLSA 3 1 1 %s" % (n, leaf),
        ], bogus_rrsets=[("_%d._tcp.mx-bogus" % p, "TLSA")])
        zones.add("bad.dnssec.example", [
            "mx A 127.0.0.1",
            "_%d._tcp.mx TLSA 3 1 1 %s" % (p, leaf),
        ], mode="bogus")
        zones.add("plain.dnssec.example", [
            "mx A 127.0.0.1",
            "_%d._tcp.mx TLSA 3 1 1 %s" % (p, leaf),
        ], mode="unsigned")

        with zones.serve() as srv:
            def tlsa(host, port, *extra):
                r = subprocess.run([smexop, "tlsa", "--host", "%s:%d" % (host, port),
                                    "--timeout", "10000"] + list(extra) + srv.dns_args,
                                   capture_output=True, text=True, timeout=120)
                if os.environ.get("SMEXOP_TEST_VERBOSE"):
                    print("  $ smexop tlsa --host %s:%d %s -> %d\n%s%s"
                          % (host, port, " ".join(extra), r.returncode, r.stdout, r.stderr))
                return r.returncode, r.stdout, r.stderr

            # the record to publish, as the openssl tool computes it
            rc, out, err = tlsa("mx.good.dnssec.example", p)
            res.check("publish: 3 1 1 of the leaf",
                      rc == 0 and "_%d._tcp.mx.good.dnssec.example. IN TLSA 3 1 1 %s ; depth 0"
                      % (p, leaf) in out and " 2 1 1 " not in out, out + err)
            rc, out, err = tlsa("mx.good.dnssec.example", p, "--all")
            res.check("publish --all: 2 1 1 of the CA",
                      rc == 0 and "IN TLSA 2 1 1 %s ; depth 1: CN = DANE Test CA" % ca in out,
                      out + err)
            rc, out, err = tlsa("127.0.0.1", s)
            res.check("publish: an address is fine without --verify",
                      rc == 0 and "IN TLSA 3 1 1 %s" % other in out, out + err)

            cases = [
                ("DANE-EE match", "mx-ee.good.dnssec.example", p, 0,
                 "match: DANE-EE(3) 1 1 matched at depth 0"),
                ("DANE-EE match, self-signed", "mx-self.good.dnssec.example", s, 0,
                 "match: DANE-EE(3) 1 1 matched at depth 0"),
                ("DANE-EE mismatch", "mx-eebad.good.dnssec.example", p, 1,
                 "(certificate-not-trusted)"),
                ("DANE-TA with the name check", "mx.good.dnssec.example", p, 0,
                 "match: DANE-TA(2) 1 1 matched at depth 1"),
                ("DANE-TA, name not in the certificate", "mx-ta.good.dnssec.example", p, 1,
                 "but: hostname mismatch (certificate-host-mismatch)"),
                ("DANE-TA through a host CNAME (base domain: the target)",
                 "mx-alias.good.dnssec.example", p, 0,
                 "match: DANE-TA(2) 1 1 matched at depth 1"),
                ("TLSA RRset behind a CNAME", "mx-cn.good.dnssec.example", p, 0,
                 "match: DANE-EE(3) 1 1 matched at depth 0"),
                ("bogus TLSA RRset", "mx-bogus.good.dnssec.example", p, 1,
                 "DNSSEC bogus"),
                ("bogus zone", "mx.bad.dnssec.example", p, 1,
                 "address records of mx.bad.dnssec.example: DNSSEC bogus (dnssec-invalid)"),
                ("unsigned zone", "mx.plain.dnssec.example", p, 1,
                 "no DANE: address records of mx.plain.dnssec.example not DNSSEC-signed"),
                ("PKIX-only records", "mx-pkix.good.dnssec.example", p, 1,
                 "no usable TLSA record: TLS required, no authentication (tlsa-invalid)"),
                ("no TLSA records", "mx-none.good.dnssec.example", p, 1,
                 "no DANE: no TLSA records at _%d._tcp.mx-none.good.dnssec.example "
                 "(secure NXDOMAIN)" % p),
                ("STARTTLS not offered", "mx-plain.good.dnssec.example", n, 2,
                 "DANE: starttls-not-supported"),
            ]
            for name, host, port, want_rc, want in cases:
                rc, out, err = tlsa(host, port, "--verify")
                res.check("verify: %s" % name, rc == want_rc and want in out + err,
                          "rc %d\n%s%s" % (rc, out, err))
            rc, out, err = tlsa("mx-bogus.good.dnssec.example", p, "--verify")
            res.check("verify: the bogus case names its failure type",
                      "(dnssec-invalid)" in out, out + err)
            rc, out, err = tlsa("mx-plain.good.dnssec.example", n, "--verify")
            res.check("verify: the STARTTLS error names the server",
                      "mx-plain.good.dnssec.example[127.0.0.1]:%d: STARTTLS not offered" % n
                      in err, err)
            rc, out, err = tlsa("127.0.0.1", p, "--verify")
            res.check("verify: an address is a usage error", rc == 2, out + err)
        plain.stop()
    finally:
        for sv in servers:
            sv.stop()
        subprocess.run(["rm", "-rf", tmp])
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
