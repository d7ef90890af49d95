#!/usr/bin/python3
"""mtasts_server - a local HTTPS server for MTA-STS policy fetches in tests.

Used by tests/conformance/mtasts_conformance.py and
tests/integration/test_mtasts.py (Debian's /usr/bin/python3, standard
library only; certificates are made with the openssl tool).

    certs = TestCerts(tmpdir, good=[...], untrusted=[...], mismatch={...})
    srv = PolicyServer(certs, sites_path)   # sites_path: JSON, read per request
    srv.start(); ... srv.port ...; srv.stop()

The sites file maps a host name (the Host header without the port) to
{"status": 200, "content_type": "text/plain", "body": "...",
 "chunked": false, "location": null, "sleep": 0}; a host not in it gets
404.  POST to any host echoes the Content-Type, a newline and the body.  It is read again on every
request, so a test can change a policy between two fetches.

Certificates: a test CA (certs.ca, the file to trust), a leaf for every
"good" name signed by it; a second, untrusted CA signing the leaves of the
"untrusted" names; and for "mismatch" names a leaf from the trusted CA
whose only name is another one.  The certificate is chosen by SNI.
"""

import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class TestCerts:
    """TestCerts - the CAs and leaf certificates of one test run, in tmp."""

    def __init__(self, tmp, good, untrusted=(), mismatch=None):
        self.tmp = tmp
        self.ca = os.path.join(tmp, "ca.pem")
        self._ca("ca")
        self._ca("badca")
        self.contexts = {}
        self.good = self._leaf("good", "ca", list(good))
        self.untrusted = {}
        for i, name in enumerate(untrusted):
            self.untrusted[name] = self._leaf("untrusted%d" % i, "badca", [name])
        self.mismatch = {}
        for i, (name, other) in enumerate((mismatch or {}).items()):
            self.mismatch[name] = self._leaf("mismatch%d" % i, "ca", [other])

    def _ca(self, name):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=smexop test %s" % name, "-keyout", name + ".key",
                 "-out", name + ".pem",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.tmp)

    def _leaf(self, name, ca, names):
        ext = os.path.join(self.tmp, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("keyUsage=digitalSignature,keyEncipherment\n")
            f.write("extendedKeyUsage=serverAuth\n")
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + names[0][:60],
                 "-keyout", name + ".key", "-out", name + ".csr", cwd=self.tmp)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
                 "-out", name + ".pem", cwd=self.tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.tmp, name + ".pem"),
                            os.path.join(self.tmp, name + ".key"))
        return ctx

    def context_for(self, sni):
        if sni in self.untrusted:
            return self.untrusted[sni]
        if sni in self.mismatch:
            return self.mismatch[sni]
        return self.good


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self.server.requests.append((self.headers.get("Host", ""), self.path))
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].rstrip(".").lower()
        try:
            with open(self.server.sites_path) as f:
                sites = json.load(f)
        except (OSError, ValueError):
            sites = {}
        site = sites.get(host)
        if site is None or self.path != "/.well-known/mta-sts.txt":
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return
        if site.get("sleep"):
            time.sleep(site["sleep"])
        body = site.get("body", "").encode()
        self.send_response(site.get("status", 200))
        if site.get("content_type") is not None:
            self.send_header("Content-Type", site["content_type"])
        if site.get("location"):
            self.send_header("Location", site["location"])
        self.send_header("Connection", "close")
        if site.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for i in range(0, len(body), 4096):
                    part = body[i:i + 4096]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client stopped reading at its limit
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


    def do_POST(self):
        """do_POST - echo: the Content-Type, a newline, the body."""
        n = int(self.headers.get("Content-Length") or "0")
        data = self.rfile.read(n) if n > 0 else b""
        self.server.requests.append((self.headers.get("Host", ""), self.path))
        body = (self.headers.get("Content-Type") or "").encode() + b"\n" + data
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        if getattr(self, "base_ctx", None) is None:
            certs = self.certs

            def pick(s, name, _ctx):
                s.context = certs.context_for((name or "").lower())

            self.base_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.base_ctx.sni_callback = pick
            # the default context has a certificate too, for clients without SNI
            self.base_ctx.load_cert_chain(os.path.join(certs.tmp, "good.pem"),
                                          os.path.join(certs.tmp, "good.key"))
        return self.base_ctx.wrap_socket(sock, server_side=True,
                                         do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # handshake failures are what some tests are about


class PolicyServer:
    """PolicyServer - the HTTPS server on 127.0.0.1, a free port, in a thread."""

    def __init__(self, certs, sites_path, port=0):
        self.srv = _Server(("127.0.0.1", port), _Handler)
        self.srv.certs = certs
        self.srv.sites_path = sites_path
        self.srv.requests = []
        self.port = self.srv.server_address[1]
        self.thread = None

    @property
    def requests(self):
        return self.srv.requests

    def start(self):
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def overlength_body():
    """overlength_body - the body of the *-overlength.loc cases: a valid
    policy and 2049 x 64 'a' (131193 bytes in all)."""
    return "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n" + "a" * (64 * 2049)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class SmtpTlsServer:
    """SmtpTlsServer - just enough SMTP for a STARTTLS probe (banner, EHLO,
    STARTTLS, then EHLO and QUIT over TLS), certificates chosen by SNI
    from certs, on 127.0.0.1, a free port, in a thread."""

    def __init__(self, certs):
        self.certs = certs
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(certs.tmp, "good.pem"),
                                 os.path.join(certs.tmp, "good.key"))

        def pick(s, name, _ctx):
            s.context = certs.context_for((name or "").lower())

        self.ctx.sni_callback = pick

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.sock.close()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rwb")
        try:
            f.write(b"220 mx.test ESMTP\r\n")
            f.flush()
            tls = None
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                    f.write(b"250-mx.test\r\n250-PIPELINING\r\n" +
                            (b"250 8BITMIME\r\n" if tls else b"250 STARTTLS\r\n"))
                elif cmd == b"STARTTLS" and tls is None:
                    f.write(b"220 2.0.0 go ahead\r\n")
                    f.flush()
                    tls = self.ctx.wrap_socket(conn, server_side=True)
                    f = tls.makefile("rwb")
                    continue
                elif cmd == b"QUIT":
                    f.write(b"221 2.0.0 bye\r\n")
                    f.flush()
                    return
                else:
                    f.write(b"502 5.5.2 no\r\n")
                f.flush()
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
