#!/usr/bin/python3
"""test_smtp_server - the SMTP server (src/smtp/) over real sockets.

Starts tests/integration/smtp_test_server (hooks that accept everything
and write each message to a directory) on free loopback ports with a
self-signed certificate made by openssl for the run, then talks to it
with Debian's smtplib, raw sockets and, when installed, swaks:

  plain, STARTTLS, implicit TLS, pipelined commands, BDAT (raw socket),
  8-bit, SMTPUTF8, DSN parameters, a 5 MB message, SIZE over the cap,
  SMTP smuggling (<LF>.<LF> and friends), plaintext injected after
  STARTTLS, PROXY v2 headers (good and bad), the per-IP connection cap.

Every message written is compared byte for byte with what was sent.

Usage: test_smtp_server.py SMTP_TEST_SERVER     prints `N passed, N failed`
"""

import hashlib
import os
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import warnings

from smexoptest import Results

warnings.filterwarnings("ignore", category=DeprecationWarning)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Server:
    def __init__(self, binary, tmp, per_ip=None, timeout_ms=None):
        self.dir = os.path.join(tmp, "mail")
        os.makedirs(self.dir, exist_ok=True)
        self.cert = os.path.join(tmp, "cert.pem")
        self.key = os.path.join(tmp, "key.pem")
        if not os.path.exists(self.cert):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=mx.test", "-days", "1", "-keyout", self.key,
                            "-out", self.cert], check=True, capture_output=True)
        ports = os.path.join(tmp, "ports")
        if os.path.exists(ports):
            os.remove(ports)
        args = [binary, "--dir", self.dir, "--ports", ports, "--cert", self.cert,
                "--key", self.key]
        if per_ip:
            args += ["--per-ip", str(per_ip)]
        if timeout_ms:
            args += ["--timeout-ms", str(timeout_ms)]
        self.logpath = os.path.join(tmp, "server.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(args, stderr=self.log)
        for _ in range(100):
            if os.path.exists(ports) and open(ports).read().endswith("\n"):
                break
            time.sleep(0.05)
        self.starttls, self.implicit, self.proxy = map(int, open(ports).read().split())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        return self.proc.returncode

    def sanitizer_report(self):
        """AddressSanitizer/UBSan/LeakSanitizer lines in the server's log (ASan builds)"""
        with open(self.logpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        return [l for l in text.splitlines()
                if "Sanitizer" in l or "runtime error" in l]

    def messages(self):
        return sorted((f for f in os.listdir(self.dir) if f.endswith(".eml")),
                      key=lambda f: int(f.split(".")[0]))

    def last(self):
        """the bytes and envelope of the newest message"""
        names = self.messages()
        if not names:
            return None, ""
        n = names[-1].split(".")[0]
        with open(os.path.join(self.dir, n + ".eml"), "rb") as f:
            data = f.read()
        with open(os.path.join(self.dir, n + ".env"), "r", encoding="utf-8") as f:
            env = f.read()
        return data, env


def raw(port, chunks, wait=0.3, tls=False):
    """send each chunk, collect everything the server says until it stops"""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s = tls_context().wrap_socket(s)
    out = b""
    s.settimeout(wait)
    try:
        out += s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        pass
    for c in chunks:
        try:
            s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            break
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                d = s.recv(65536)
                if not d:
                    break
                out += d
            except (socket.timeout, ssl.SSLError, ConnectionResetError):
                break
    s.close()
    return out


def replies(out):
    """the reply lines without the greeting and EHLO block"""
    return [l for l in out.decode("utf-8", "replace").split("\r\n") if l]


MSG = (b"From: a@b.test\r\nTo: r@d.test\r\nSubject: test\r\n\r\n"
       b"hello\r\n.leading dot\r\n..two dots\r\nend\r\n")
# what the sink must hold after dot-unstuffing (smtplib stuffs the dots)
MSG_STORED = MSG


def main():
    binary = sys.argv[1]
    r = Results()
    tmp = tempfile.mkdtemp(prefix="smtp_server_")
    srv = Server(binary, tmp)
    try:
        # plain
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            code, banner = c.ehlo("client.test")
            feats = c.esmtp_features
            r.check("ehlo features", code == 250 and all(
                k in feats for k in ("pipelining", "size", "8bitmime", "smtputf8",
                                     "enhancedstatuscodes", "chunking", "dsn", "starttls")),
                    str(feats))
            r.check("SIZE advertised", feats.get("size") == str(10 * 1024 * 1024), feats.get("size"))
            c.sendmail("a@b.test", ["r@d.test"], MSG)
        data, env = srv.last()
        r.check("plain: bytes stored", data == MSG_STORED, repr(data))
        r.check("plain: envelope", "mail <a@b.test>" in env and "rcpt <r@d.test>" in env, env)

        # STARTTLS
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            c.ehlo("client.test")
            c.starttls(context=tls_context())
            c.ehlo("client.test")
            r.check("starttls: not offered again", "starttls" not in c.esmtp_features)
            c.sendmail("a@b.test", ["r@d.test"], MSG)
        data, env = srv.last()
        r.check("starttls: message", data == MSG_STORED and "tls TLSv1." in env, env)

        # implicit TLS
        with smtplib.SMTP_SSL("127.0.0.1", srv.implicit, timeout=10, context=tls_context()) as c:
            c.ehlo("client.test")
            r.check("implicit: no STARTTLS offered", "starttls" not in c.esmtp_features)
            c.sendmail("a@b.test", ["r@d.test"], MSG)
        data, env = srv.last()
        r.check("implicit: message", data == MSG_STORED and env.startswith("peer 127.0.0.1")
                and "tls TLSv1." in env, env)

        # TLS 1.1 is refused
        ctx = tls_context()
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.implicit), timeout=5))
            s.close()
            r.check("TLS 1.1 refused", False, "handshake succeeded")
        except (ssl.SSLError, OSError):
            r.check("TLS 1.1 refused", True)

        # pipelined: everything in one write, replies in order
        before = len(srv.messages())
        out = raw(srv.starttls, [b"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<r@d.test>\r\n"
                                 b"RCPT TO:<reject@d.test>\r\nRCPT TO:<r2@d.test>\r\nDATA\r\n",
                                 b"x\r\n.\r\nQUIT\r\n"])
        lines = [l for l in replies(out) if not l.startswith("250-")]
        want = ["220 mx.test ESMTP smexop", "250 STARTTLS", "250 2.1.0 Sender ok",
                "250 2.1.5 Recipient ok",
                "550 5.1.1 Recipient address rejected: User unknown",
                "250 2.1.5 Recipient ok", "354 End data with <CR><LF>.<CR><LF>",
                "250 2.0.0 Ok: queued as %d" % (before + 1), "221 2.0.0 Bye"]
        r.check("pipelining: replies in order", lines == want, repr(lines))

        # BDAT on a raw socket, binary chunks
        chunk1 = b"From: a@b.test\r\n\r\nline\n.\n"
        chunk2 = b"\x00\xffbinary\r\n.\r\n"
        out = raw(srv.starttls, [b"EHLO c.test\r\nMAIL FROM:<a@b.test> BODY=BINARYMIME\r\n"
                                 b"RCPT TO:<r@d.test>\r\n",
                                 b"BDAT %d\r\n" % len(chunk1) + chunk1 +
                                 b"BDAT %d LAST\r\n" % len(chunk2) + chunk2,
                                 b"BDAT 0 LAST\r\nQUIT\r\n"])
        data, env = srv.last()
        r.check("bdat: chunks stored raw", data == chunk1 + chunk2 and "binary=1" in env,
                repr(data))
        r.check("bdat: replies", b"250 2.0.0 Ok: chunk received\r\n250 2.0.0 Ok: queued as"
                in out and b"503 5.5.1 Need MAIL command" in out, repr(out[-200:]))

        # 8-bit
        body8 = ("From: a@b.test\r\nSubject: =?utf-8?q?x?=\r\n\r\nGrüße, ½ €\r\n").encode()
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            c.sendmail("a@b.test", ["r@d.test"], body8, mail_options=["BODY=8BITMIME"])
        data, env = srv.last()
        r.check("8bitmime", data == body8 and "8bit=1" in env, env)

        # SMTPUTF8
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            c.sendmail("jörg@bücher.test", ["用户@d.test"], body8,
                       mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        data, env = srv.last()
        r.check("smtputf8", "mail <jörg@bücher.test>" in env and "rcpt <用户@d.test>" in env
                and "smtputf8=1" in env, env)
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            c.ehlo("c.test")
            c.command_encoding = "utf-8"
            code, msg = c.mail("jörg@bücher.test")
            r.check("utf-8 address without SMTPUTF8: 553 5.6.7", code == 553, "%d %s" % (code, msg))

        # DSN parameters reach the hooks, xtext decoded
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=10) as c:
            c.sendmail("a@b.test", ["r@d.test"], MSG,
                       mail_options=["RET=HDRS", "ENVID=QQ+2B314"],
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;r+40d.test"])
        data, env = srv.last()
        r.check("dsn params", "ret=HDRS envid=QQ+314" in env and
                "notify=SUCCESS,FAILURE orcpt=rfc822;r@d.test" in env, env)

        # a 5 MB message
        big = b"".join(b"%07d %s\r\n" % (i, b"." * (i % 3) + b"y" * 90) for i in range(52000))
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=60) as c:
            c.sendmail("a@b.test", ["r@d.test"], big)
        data, env = srv.last()
        r.check("5 MB message", len(big) > 5000000 and data is not None and
                hashlib.sha256(data).digest() == hashlib.sha256(big).digest(),
                "%d vs %d" % (len(data or b""), len(big)))

        # SIZE over the cap, and data over the cap (drained, then refused)
        with smtplib.SMTP("127.0.0.1", srv.starttls, timeout=60) as c:
            c.ehlo("c.test")
            code, msg = c.mail("a@b.test", ["SIZE=%d" % (11 * 1024 * 1024)])
            r.check("SIZE over the cap: 552 5.3.4", code == 552 and msg.startswith(b"5.3.4"),
                    "%d %s" % (code, msg))
            c.rset()
            before = len(srv.messages())
            # no SIZE= this time (smtplib would add it): the data itself is too big
            c.mail("a@b.test")
            c.rcpt("r@d.test")
            code, msg = c.data(big + big + big)
            r.check("data over the cap: 552 5.3.4", code == 552 and msg.startswith(b"5.3.4"),
                    "%d %s" % (code, msg))
            r.check("data over the cap: nothing stored", len(srv.messages()) == before)
            r.check("session usable after 552", c.noop()[0] == 250)

        # SMTP smuggling: none of these ends the data; the smuggled MAIL never runs
        for name, sep in (("LF.LF", b"\n.\n"), ("CR.CR", b"\r.\r"), ("LF.CRLF", b"\n.\r\n"),
                          ("CRLF.LF", b"\r\n.\n")):
            before = len(srv.messages())
            out = raw(srv.starttls, [
                b"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<r@d.test>\r\nDATA\r\n",
                b"Subject: hi\r\n\r\nx" + sep +
                b"MAIL FROM:<ceo@b.test>\r\nRCPT TO:<r@d.test>\r\nDATA\r\nspoofed\r\n.\r\n",
                b"QUIT\r\n"])
            r.check("smuggling %s refused" % name,
                    b"550 5.5.2 Bare LF or CR in message data not allowed\r\n" in out and
                    b"ceo" not in b"".join(open(os.path.join(srv.dir, f), "rb").read()
                                           for f in os.listdir(srv.dir) if f.endswith(".env"))
                    and len(srv.messages()) == before and out.endswith(b"221 2.0.0 Bye\r\n"),
                    repr(out[-160:]))

        # plaintext injected behind STARTTLS is discarded
        s = socket.create_connection(("127.0.0.1", srv.starttls), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO c.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n")
        line = f.readline()
        t = tls_context().wrap_socket(s)
        t.sendall(b"RCPT TO:<r@d.test>\r\n")
        got = t.recv(4096)
        r.check("starttls injection: 220 then fresh session",
                line == b"220 2.0.0 Ready to start TLS\r\n" and
                got == b"503 5.5.1 Need MAIL command\r\n", repr((line, got)))
        t.close()

        # PROXY v2: the real peer is the one in the header
        hdr = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12) +
               socket.inet_aton("192.0.2.7") + socket.inet_aton("127.0.0.1") +
               struct.pack("!HH", 40000, 25))
        raw(srv.proxy, [hdr + b"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<r@d.test>\r\n"
                              b"DATA\r\nSubject: p\r\n\r\nproxied\r\n.\r\nQUIT\r\n"])
        data, env = srv.last()
        r.check("proxy v2: real peer", env.startswith("peer 192.0.2.7 40000 proxied"), env)
        out = raw(srv.proxy, [b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 25\r\nEHLO c\r\n"])
        r.check("proxy v1 refused (closed, nothing said)", out == b"", repr(out))
        bad = bytearray(hdr)
        bad[15] = 200  # the length claims more than the addresses
        out = raw(srv.proxy, [bytes(bad[:16]) + b"\x00" * 5])
        r.check("proxy v2 truncated: no greeting", out == b"", repr(out))

        # swaks, when installed
        if shutil.which("swaks"):
            p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(srv.starttls),
                                "--from", "a@b.test", "--to", "r@d.test", "--tls",
                                "--pipeline", "--body", "swaks body"],
                               capture_output=True, text=True, timeout=60)
            data, env = srv.last()
            r.check("swaks --tls --pipeline", p.returncode == 0 and b"swaks body" in data and
                    "221 2.0.0 Bye" in p.stdout and "unexpectedly" not in p.stdout + p.stderr,
                    p.stdout[-400:])
            p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(srv.implicit),
                                "--from", "a@b.test", "--to", "r@d.test", "--tlsc"],
                               capture_output=True, text=True, timeout=60)
            r.check("swaks --tlsc", p.returncode == 0 and "221 2.0.0 Bye" in p.stdout,
                    p.stdout[-400:])
        else:
            print("skip swaks (not installed)")
    finally:
        rc = srv.stop()
    r.check("server exit clean, no sanitizer report", rc == 0 and not srv.sanitizer_report(),
            "rc=%s %s" % (rc, srv.sanitizer_report()[:5]))

    # per-IP connection cap, command timeout (1 s here)
    srv = Server(binary, tmp, per_ip=3, timeout_ms=1000)
    try:
        s = socket.create_connection(("127.0.0.1", srv.starttls), timeout=10)
        f = s.makefile("rb")
        greet = f.readline()
        s.sendall(b"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n")
        t0 = time.time()
        lines = [f.readline() for _ in range(11)]  # EHLO (10 lines), MAIL
        rest = f.read()
        r.check("command timeout: 421 4.4.2 and close",
                lines[-1] == b"250 2.1.0 Sender ok\r\n" and
                rest == b"421 4.4.2 Timeout exceeded, closing connection\r\n" and
                0.8 < time.time() - t0 < 5, repr((lines[-1], rest)))
        s.close()
        socks = [socket.create_connection(("127.0.0.1", srv.starttls), timeout=10)
                 for _ in range(3)]
        greet = [s.recv(100) for s in socks]
        s4 = socket.create_connection(("127.0.0.1", srv.starttls), timeout=10)
        got = s4.recv(100)
        r.check("per-IP cap: 421 4.7.0", got == b"421 4.7.0 Too many connections\r\n" and
                all(g.startswith(b"220 ") for g in greet), repr(got))
        s4.close()
        socks[0].close()
        time.sleep(0.2)
        s5 = socket.create_connection(("127.0.0.1", srv.starttls), timeout=10)
        r.check("per-IP cap: room again after a close", s5.recv(100).startswith(b"220 "))
        for s in socks[1:] + [s5]:
            s.close()
    finally:
        srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
