#!/usr/bin/python3
"""test_outbound - `smexop send` (transport/outbound.c, smtp/smtp_client.c)
against real SMTP and LMTP servers on loopback.

Peers: Postfix's smtp-sink (plain, LMTP, the throughput of one reused
connection against a new connection per message), aiosmtpd with STARTTLS
and a throwaway certificate (the bytes received equal the message:
dot-stuffing, 8-bit, CRLF; DSN and 8BITMIME parameters; a 4xx and a 5xx
per recipient; TLS verify with the right and a wrong name), an aiosmtpd
LMTP server, and smexop's own SMTP server (tests/integration/
smtp_test_server.c: BDAT and DATA, STARTTLS).  MX routing through a zone
file (--dns-zone): the first MX refuses connections, the second takes
the message; a null MX; a domain that does not exist; an implicit MX.

usage: test_outbound.py SMEXOP [SMTP_TEST_SERVER]
"""

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smexoptest  # noqa: E402
from smexoptest import Results, free_port, stop, wait_for  # noqa: E402

SMEXOP = sys.argv[1]
TEST_SERVER = sys.argv[2] if len(sys.argv) > 2 else None
R = Results()
SANITIZER = []

MESSAGE = (b"From: a@sender.example\r\n"
           b"To: b@test.example\r\n"
           b"Subject: outbound test\r\n"
           b"\r\n"
           b"line one\r\n"
           b".a line starting with a dot\r\n"
           b"..two dots\r\n"
           b".\r\n"
           b"caf\xc3\xa9 8-bit\r\n"
           b"last line\r\n")


def send(args, message=MESSAGE, timeout=60):
    """send - run smexop send with args, the message on stdin; (rc, stdout, stderr)."""
    p = subprocess.run([SMEXOP, "send"] + args, input=message, capture_output=True,
                       timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    # under ASan/UBSan (a sanitized build) a report fails the run, whatever the exit code
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        if mark in err:
            SANITIZER.append("%s: %s" % (" ".join(args[:6]), err[err.index(mark) - 20:][:2000]))
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def lines_for(out):
    """lines_for - {recipient: (status, rest)} from the per-recipient lines."""
    res = {}
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and "@" in parts[0]:
            res[parts[0]] = (parts[1], parts[2])
    return res


def session_line(out):
    for line in out.splitlines():
        if line.startswith("session "):
            return line
    return ""


# ---- aiosmtpd peers ----------------------------------------------------

class Handler:
    """Recipients starting with temp get a 4xx, with perm a 5xx."""

    def __init__(self, lmtp=False):
        self.messages = []
        self.lmtp = lmtp

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("temp"):
            return "451 4.2.0 Mailbox busy, try again later"
        if address.startswith("perm"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.record(session, envelope)
        if self.lmtp:
            # aiosmtpd's LMTP class answers once; RFC 2033 wants one reply
            # per accepted recipient, in order: give them here
            return "\r\n".join("452 4.2.2 %s is over quota" % r if r.startswith("quota")
                                else "250 2.0.0 %s delivered" % r for r in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted for delivery"

    def record(self, session, envelope):
        self.messages.append({
            "from": envelope.mail_from,
            "rcpts": list(envelope.rcpt_tos),
            "content": envelope.original_content,
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "tls": session.ssl is not None,
        })


class BusyServer:
    """BusyServer - an SMTP server on ip:port that greets with greeting and
    answers MAIL with 451 (a thread per client)"""

    def __init__(self, ip, port, greeting, broken_tls=False):
        import socket
        import threading
        self.greeting = greeting
        self.broken_tls = broken_tls
        self.delivered = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(c,), daemon=True).start()

    def _client(self, c):
        with c:
            c.settimeout(10)
            try:
                c.sendall(self.greeting)
                if self.greeting.startswith(b"421"):
                    return
                for line in c.makefile("rb"):
                    verb = line.strip().upper()
                    if verb.startswith(b"EHLO"):
                        c.sendall(b"250-busy.test\r\n250-8BITMIME\r\n" +
                                  (b"250-STARTTLS\r\n" if self.broken_tls else b"") +
                                  b"250 PIPELINING\r\n")
                    elif verb == b"STARTTLS" and self.broken_tls:
                        # a handshake that cannot succeed: plain text where TLS should be
                        c.sendall(b"220 go ahead\r\nthis is not TLS\r\n" * 8)
                        return
                    elif verb.startswith(b"MAIL") and self.broken_tls:
                        c.sendall(b"250 ok\r\n")
                    elif verb.startswith(b"RCPT") and self.broken_tls:
                        c.sendall(b"250 ok\r\n")
                    elif verb == b"DATA" and self.broken_tls:
                        c.sendall(b"354 go\r\n")
                        for dl in c.makefile("rb"):
                            if dl == b".\r\n":
                                break
                        self.delivered += 1
                        c.sendall(b"250 2.0.0 taken in plain text\r\n")
                    elif verb.startswith(b"MAIL"):
                        c.sendall(b"451 4.3.0 Try again later\r\n")
                    elif verb == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        return
                    else:
                        c.sendall(b"503 5.5.1 Bad sequence\r\n")
            except OSError:
                pass

    def stop(self):
        self.sock.close()


def start_aiosmtpd(port, tls_context=None, lmtp=False, host="127.0.0.1"):
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import SMTP

    handler = Handler(lmtp)

    class Ctl(Controller):
        def factory(self):
            if lmtp:
                return LMTP(self.handler, enable_SMTPUTF8=True)
            return SMTP(self.handler, tls_context=tls_context, enable_SMTPUTF8=True,
                        hostname="aiosmtpd.test")

    ctl = Ctl(handler, hostname=host, port=port)
    ctl.start()
    return ctl, handler


def make_cert(tmp, name):
    key = os.path.join(tmp, name + ".key")
    crt = os.path.join(tmp, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=DNS:" + name],
                   check=True, capture_output=True)
    return crt, key


def unstuffed(msg):
    """what a server should store: the message as it is (our input is CRLF already)."""
    return msg


def main():
    tmp = tempfile.mkdtemp(prefix="smexop-outbound-")
    procs = []
    ctls = []
    try:
        run(tmp, procs, ctls)
    finally:
        for c in ctls:
            try:
                c.stop()
            except Exception:
                pass
        for p in procs:
            stop(p, timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)
    R.check("no sanitizer reports", not SANITIZER, "\n".join(SANITIZER[:3]))
    return R.summary()


def run(tmp, procs, ctls):
    crt, key = make_cert(tmp, "mx.test.example")
    zone = os.path.join(tmp, "test.zone")
    with open(zone, "w") as f:
        f.write("""$TTL 300
$ORIGIN test.example.
@		IN	SOA	ns hostmaster 1 3600 600 86400 300
mx		IN	A	127.0.0.1
wrong		IN	A	127.0.0.1
$ORIGIN mxroute.example.
@		IN	MX	10 mx1
@		IN	MX	20 mx2
mx1		IN	A	127.0.0.3
mx2		IN	A	127.0.0.1
$ORIGIN nullmx.example.
@		IN	MX	0 .
$ORIGIN implicit.example.
@		IN	A	127.0.0.1
$ORIGIN nohost.example.
@		IN	MX	10 gone.nohost.example.
$ORIGIN busy.example.
@		IN	MX	5 mxg
@		IN	MX	10 mxa
@		IN	MX	20 mxb
mxg		IN	A	127.0.0.6
mxa		IN	A	127.0.0.5
mxb		IN	A	127.0.0.1
$ORIGIN v6.example.
@		IN	MX	10 mx6
mx6		IN	AAAA	::1
""")

    # ---- smtp-sink: plain SMTP, LMTP, throughput ----
    sink_port = free_port()
    # smtp-sink wants -u USER when started as root
    user = ["-u", "root"] if os.getuid() == 0 else []
    sink = subprocess.Popen(["/usr/sbin/smtp-sink"] + user + ["127.0.0.1:%d" % sink_port, "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(sink)
    R.check("smtp-sink starts", smexoptest.wait_listening(sink, sink_port))
    rc, out, err = send(["--server", "127.0.0.1:%d" % sink_port, "--mail-from", "a@sender.example",
                         "--rcpt", "b@test.example", "--rcpt", "c@test.example", "-v"])
    res = lines_for(out)
    R.check("sink: exit 0", rc == 0, out + err)
    R.check("sink: both delivered", all(v[0] == "delivered" for v in res.values()) and
            len(res) == 2, out)
    R.check("sink: pipelined (MAIL, RCPT, RCPT, DATA in one go)",
            "-> MAIL FROM:<a@sender.example> BODY=8BITMIME\n-> RCPT TO:<b@test.example>\n"
            "-> RCPT TO:<c@test.example>\n-> DATA\n" in err, err)
    R.check("sink: QUIT at the end", "-> QUIT" in err, err)

    rc, out, err = send(["--server", "127.0.0.1:%d" % sink_port, "--mail-from", "",
                         "--rcpt", "b@test.example", "--tls", "required"])
    R.check("sink: --tls required without STARTTLS is deferred",
            rc == 1 and lines_for(out).get("b@test.example", ("",))[0] == "deferred" and
            "TLS is required" in out, out + err)

    sink_l_port = free_port()
    sinkl = subprocess.Popen(["/usr/sbin/smtp-sink", "-L"] + user +
                             ["127.0.0.1:%d" % sink_l_port, "64"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(sinkl)
    R.check("smtp-sink -L starts", smexoptest.wait_listening(sinkl, sink_l_port))
    rc, out, err = send(["--server", "127.0.0.1:%d" % sink_l_port, "--lmtp", "--mail-from",
                         "a@sender.example", "--rcpt", "b@test.example", "--rcpt",
                         "c@test.example", "-v"])
    R.check("sink LMTP: LHLO and both delivered",
            rc == 0 and "-> LHLO" in err and len(lines_for(out)) == 2, out + err)

    n = int(os.environ.get("SMEXOP_OUTBOUND_BENCH", "500"))
    rates = {}
    for mode, extra in (("reused", []), ("new", ["--no-reuse"])):
        rc, out, err = send(["--server", "127.0.0.1:%d" % sink_port, "--mail-from",
                             "a@sender.example", "--rcpt", "b@test.example", "--repeat", str(n)]
                            + extra, timeout=300)
        rate = 0.0
        for line in err.splitlines():
            if "messages/s" in line:
                rate = float(line.split(": ")[1].split(" ")[0])
        rates[mode] = rate
        R.check("sink: %d messages, connections %s" % (n, mode), rc == 0 and rate > 0,
                out[-300:] + err[-300:])
    # a figure, not a check: timings on a shared machine are no test
    print("throughput against smtp-sink: %.0f messages/s over one reused connection, "
          "%.0f messages/s with a new connection per message" % (rates["reused"], rates["new"]))

    # ---- aiosmtpd with STARTTLS ----
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    tls_port = free_port()
    ctl, handler = start_aiosmtpd(tls_port, tls_context=ctx)
    ctls.append(ctl)

    rc, out, err = send(["--server", "mx.test.example:%d" % tls_port, "--dns-zone", zone,
                         "--tls", "verify", "--ca-file", crt, "--mail-from", "a@sender.example",
                         "--rcpt", "b@test.example", "-v"])
    R.check("aiosmtpd: verify with the right name delivers", rc == 0, out + err)
    sess = session_line(out)
    R.check("aiosmtpd: session says TLS, verified, policy verify",
            "tls=TLSv1.3" in sess and "verified=yes" in sess and "policy=verify" in sess, sess)
    R.check("aiosmtpd: STARTTLS then EHLO again",
            "-> STARTTLS" in err and err.count("-> EHLO") == 2, err)
    m = handler.messages[-1] if handler.messages else {}
    R.check("aiosmtpd: the bytes received equal the message (dots, 8-bit, CRLF)",
            m.get("content") == MESSAGE, repr(m.get("content")))
    R.check("aiosmtpd: BODY=8BITMIME and SIZE sent",
            "BODY=8BITMIME" in m.get("mail_options", []) and
            any(o.startswith("SIZE=") for o in m.get("mail_options", [])), str(m))
    R.check("aiosmtpd: the message went over TLS", m.get("tls") is True, str(m))

    # LF-only input goes out as CRLF
    rc, out, err = send(["--server", "127.0.0.1:%d" % tls_port, "--mail-from", "a@sender.example",
                         "--rcpt", "b@test.example"], message=MESSAGE.replace(b"\r\n", b"\n"))
    m = handler.messages[-1] if handler.messages else {}
    R.check("aiosmtpd: LF line ends arrive as CRLF", rc == 0 and m.get("content") == MESSAGE,
            repr(m.get("content")))

    rc, out, err = send(["--server", "wrong.test.example:%d" % tls_port, "--dns-zone", zone,
                         "--tls", "verify", "--ca-file", crt, "--mail-from", "a@sender.example",
                         "--rcpt", "b@test.example"])
    st = lines_for(out).get("b@test.example", ("", ""))
    R.check("aiosmtpd: verify with a wrong name is deferred",
            rc == 1 and st[0] == "deferred" and "certificate verification failed" in st[1],
            out + err)

    rc, out, err = send(["--server", "127.0.0.1:%d" % tls_port, "--mail-from", "a@sender.example",
                         "--rcpt", "temp@test.example", "--rcpt", "perm@test.example",
                         "--rcpt", "ok@test.example"])
    res = lines_for(out)
    R.check("aiosmtpd: 4xx recipient deferred",
            res.get("temp@test.example", ("",))[0] == "deferred" and
            " 451 4.2.0 " in res.get("temp@test.example", ("", ""))[1], out)
    R.check("aiosmtpd: 5xx recipient failed",
            res.get("perm@test.example", ("",))[0] == "failed" and
            " 550 5.1.1 " in res.get("perm@test.example", ("", ""))[1], out)
    R.check("aiosmtpd: the third delivered, exit 1",
            res.get("ok@test.example", ("",))[0] == "delivered" and rc == 1, out)
    m = handler.messages[-1] if handler.messages else {}
    R.check("aiosmtpd: only the accepted recipient got it", m.get("rcpts") == ["ok@test.example"],
            str(m))

    # ---- MX routing through the zone file, on the aiosmtpd port ----
    rc, out, err = send(["--dns-zone", zone, "--port", str(tls_port), "--mail-from",
                         "a@sender.example", "--rcpt", "x@mxroute.example", "-v"])
    sess = session_line(out)
    R.check("MX: first MX refuses, the second delivers",
            rc == 0 and "host=mx2.mxroute.example" in sess, out + err)
    rc, out, err = send(["--dns-zone", zone, "--mail-from", "a@sender.example", "--rcpt",
                         "x@nullmx.example"])
    st = lines_for(out).get("x@nullmx.example", ("", ""))
    R.check("MX: null MX fails with 556 5.1.10",
            rc == 1 and st[0] == "failed" and st[1].startswith("556 5.1.10"), out + err)
    rc, out, err = send(["--dns-zone", zone, "--mail-from", "a@sender.example", "--rcpt",
                         "x@nxdomain.example"])
    st = lines_for(out).get("x@nxdomain.example", ("", ""))
    R.check("MX: a domain that does not exist fails", rc == 1 and st[0] == "failed", out + err)
    rc, out, err = send(["--dns-zone", zone, "--mail-from", "a@sender.example", "--rcpt",
                         "x@nohost.example"])
    st = lines_for(out).get("x@nohost.example", ("", ""))
    R.check("MX: an MX host without addresses defers", rc == 1 and st[0] == "deferred", out + err)
    rc, out, err = send(["--dns-zone", zone, "--port", str(tls_port), "--mail-from",
                         "a@sender.example", "--rcpt", "x@implicit.example", "--rcpt",
                         "y@mxroute.example"])
    res = lines_for(out)
    R.check("MX: implicit MX, and two domains in one run",
            rc == 0 and res.get("x@implicit.example", ("",))[0] == "delivered" and
            res.get("y@mxroute.example", ("",))[0] == "delivered", out + err)

    # a 421 greeting, then a 451 to MAIL: each moves on to the next MX
    busy = [BusyServer("127.0.0.6", tls_port, greeting=b"421 4.3.2 Too busy\r\n"),
            BusyServer("127.0.0.5", tls_port, greeting=b"220 busy.test ESMTP\r\n")]
    n_before = len(handler.messages)
    rc, out, err = send(["--dns-zone", zone, "--port", str(tls_port), "--mail-from",
                         "a@sender.example", "--rcpt", "x@busy.example", "-v"])
    for b in busy:
        b.stop()
    R.check("MX: a 421 greeting and a 451 to MAIL move on; the third MX delivers",
            rc == 0 and "host=mxb.busy.example" in session_line(out) and
            "<- 421 4.3.2 Too busy" in err and "<- 451 4.3.0" in err and
            len(handler.messages) == n_before + 1, out + err)

    # opportunistic TLS whose handshake fails: the same address again in plain text
    bport = free_port()
    broken = BusyServer("127.0.0.1", bport, b"220 broken.test ESMTP\r\n", broken_tls=True)
    rc, out, err = send(["--server", "127.0.0.1:%d" % bport, "--mail-from", "a@sender.example",
                         "--rcpt", "x@test.example", "-v"])
    R.check("opportunistic TLS: a failed handshake retries the address in plain text",
            rc == 0 and err.count("-> STARTTLS") == 1 and broken.delivered == 1 and
            "tls=none" in session_line(out), out + err)
    rc, out, err = send(["--server", "127.0.0.1:%d" % bport, "--mail-from", "a@sender.example",
                         "--rcpt", "x@test.example", "--tls", "required"])
    broken.stop()
    R.check("required TLS: a failed handshake defers, never plain text",
            rc == 1 and "TLS handshake failed" in out and broken.delivered == 1, out + err)

    # IPv6: an MX host with only an AAAA record
    v6_port = free_port()
    try:
        ctl6, handler6 = start_aiosmtpd(v6_port, host="::1")
        ctls.append(ctl6)
        rc, out, err = send(["--dns-zone", zone, "--port", str(v6_port), "--mail-from",
                             "a@sender.example", "--rcpt", "x@v6.example"])
        R.check("IPv6: an AAAA-only MX over ::1",
                rc == 0 and "ip=::1" in session_line(out) and len(handler6.messages) == 1,
                out + err)
    except OSError as e:
        print("skip IPv6: %s" % e)

    # ---- DANE (RFC 7672) through DNSSEC-signed zones served by NSD ----
    run_dane(tmp, crt, tls_port, sink_port)

    # ---- MTA-STS (RFC 8461) with the policy server of tests/conformance ----
    run_mtasts(tmp)

    # ---- aiosmtpd LMTP ----
    lmtp_port = free_port()
    lctl, lhandler = start_aiosmtpd(lmtp_port, lmtp=True)
    ctls.append(lctl)
    rc, out, err = send(["--server", "127.0.0.1:%d" % lmtp_port, "--lmtp", "--mail-from",
                         "a@sender.example", "--rcpt", "b@test.example", "--rcpt",
                         "perm@test.example", "--rcpt", "quota@test.example", "--rcpt",
                         "c@test.example"])
    res = lines_for(out)
    m = lhandler.messages[-1] if lhandler.messages else {}
    R.check("LMTP: one reply per accepted recipient after the data",
            res.get("b@test.example", ("",))[0] == "delivered" and
            res.get("c@test.example", ("",))[0] == "delivered" and
            res.get("quota@test.example", ("", ""))[0] == "deferred" and
            "452 4.2.2" in res.get("quota@test.example", ("", ""))[1] and
            res.get("perm@test.example", ("",))[0] == "failed" and rc == 1, out + err)
    R.check("LMTP: content", m.get("content") == MESSAGE, repr(m.get("content")))

    # ---- smexop's own SMTP server: BDAT and DATA over STARTTLS ----
    if TEST_SERVER:
        sdir = os.path.join(tmp, "srv")
        os.mkdir(sdir)
        ports = os.path.join(tmp, "ports")
        srv = subprocess.Popen([TEST_SERVER, "--dir", sdir, "--ports", ports, "--cert", crt,
                                "--key", key], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        procs.append(srv)
        ok = wait_for(lambda: os.path.exists(ports) and os.path.getsize(ports) > 0)
        R.check("smtp_test_server starts", bool(ok))
        port = int(open(ports).read().split()[0]) if ok else 0
        for name, extra in (("BDAT", []), ("DATA", ["--no-chunking"])):
            before = set(os.listdir(sdir))
            rc, out, err = send(["--server", "127.0.0.1:%d" % port, "--tls", "required",
                                 "--mail-from", "a@sender.example", "--rcpt", "b@test.example",
                                 "--rcpt", "reject-me@test.example", "-v"] + extra)
            res = lines_for(out)
            R.check("own server %s: delivered and 550 per recipient" % name,
                    res.get("b@test.example", ("",))[0] == "delivered" and
                    res.get("reject-me@test.example", ("",))[0] == "failed", out + err)
            R.check("own server %s: %s used" % (name, name),
                    ("-> BDAT " in err) == (name == "BDAT"), err)
            got = wait_for(lambda: [f for f in set(os.listdir(sdir)) - before
                                    if f.endswith(".eml")])
            data = open(os.path.join(sdir, got[0]), "rb").read() if got else b""
            R.check("own server %s: the bytes received equal the message" % name,
                    data == MESSAGE, repr(data[:200]))
        # 3 MB with dot lines: the data pump, the write watermarks, TLS underneath
        big = b"Subject: big\r\n\r\n" + b"".join(
            (b".dot line %d\r\n" % i) if i % 50 == 0 else (b"%076d\r\n" % i)
            for i in range(40000))
        for name, extra in (("BDAT", []), ("DATA", ["--no-chunking"])):
            before = set(os.listdir(sdir))
            rc, out, err = send(["--server", "127.0.0.1:%d" % port, "--tls", "required",
                                 "--mail-from", "a@sender.example", "--rcpt", "b@test.example"]
                                + extra, message=big)
            got = wait_for(lambda: [f for f in set(os.listdir(sdir)) - before
                                    if f.endswith(".eml")])
            data = open(os.path.join(sdir, got[0]), "rb").read() if got else b""
            R.check("own server %s: a %d-byte message arrives intact" % (name, len(big)),
                    rc == 0 and data == big, out + err[-500:])


def spki_sha256(pem):
    pub = subprocess.run(["openssl", "x509", "-in", pem, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, check=True,
                         capture_output=True).stdout.decode()
    return out.split()[0].lower()


def run_dane(tmp, crt, tls_port, plain_port):
    """DANE: the aiosmtpd STARTTLS server (tls_port) and smtp-sink (plain_port)
    as the MX hosts of signed zones, the TLSA records at their ports."""
    try:
        import dnssec_zone
    except ImportError as e:
        R.check("DANE: the dnssec_zone fixture", False, str(e))
        return
    spki = spki_sha256(crt)
    zones = dnssec_zone.DnssecZones()
    zones.add("good.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1",
                                      "_%d._tcp.mx TLSA 3 1 1 %s" % (tls_port, spki)])
    zones.add("wrong.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1",
                                       "_%d._tcp.mx TLSA 3 1 1 %s" % (tls_port, "ab" * 32)])
    zones.add("notls.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1",
                                       "_%d._tcp.mx TLSA 3 1 1 %s" % (plain_port, spki)])
    zones.add("btlsa.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1",
                                       "_%d._tcp.mx TLSA 3 1 1 %s" % (tls_port, spki)],
              bogus_rrsets=[("_%d._tcp.mx" % tls_port, "TLSA")])
    zones.add("plain.dnssec.example", ["@ MX 10 mx", "mx A 127.0.0.1"], mode="unsigned")
    db = os.path.join(tmp, "dane.db")
    with zones.serve() as srv:
        def dsend(rcpt, port, *extra):
            return send(["--port", str(port), "--mail-from", "a@sender.example", "--rcpt", rcpt,
                         "--dns-timeout", "3000", "--db", db] + list(extra) + srv.dns_args)

        rc, out, err = dsend("x@good.dnssec.example", tls_port, "-v")
        sess = session_line(out)
        R.check("DANE: a matching 3 1 1 record delivers, authenticated",
                rc == 0 and "policy=dane" in sess and "verified=yes" in sess, out + err)
        rc, out, err = dsend("x@wrong.dnssec.example", tls_port)
        st = lines_for(out).get("x@wrong.dnssec.example", ("", ""))
        R.check("DANE: no record matches: deferred",
                rc == 1 and st[0] == "deferred" and "DANE" in st[1], out + err)
        rc, out, err = dsend("x@notls.dnssec.example", plain_port)
        st = lines_for(out).get("x@notls.dnssec.example", ("", ""))
        R.check("DANE: a host without STARTTLS: deferred, never plain text",
                rc == 1 and st[0] == "deferred" and "TLS is required" in st[1], out + err)
        rc, out, err = dsend("x@btlsa.dnssec.example", tls_port)
        st = lines_for(out).get("x@btlsa.dnssec.example", ("", ""))
        R.check("DANE: a bogus TLSA answer makes the host unusable: deferred",
                rc == 1 and st[0] == "deferred" and "DANE" in st[1], out + err)
        rc, out, err = dsend("x@plain.dnssec.example", tls_port)
        sess = session_line(out)
        R.check("DANE: an unsigned zone gets opportunistic TLS",
                rc == 0 and "policy=opportunistic" in sess and "tls=TLSv1" in sess, out + err)
        rc, out, err = dsend("x@good.dnssec.example", tls_port, "--no-dane")
        R.check("DANE: --no-dane delivers without it",
                rc == 0 and "policy=opportunistic" in session_line(out), out + err)
    rows = tlsrpt_rows(db)
    R.check("TLS-RPT: the DANE success counted (tlsa, good.dnssec.example)",
            any(r[0] == "good.dnssec.example" and r[1] == "tlsa" and r[2] >= 1 and
                "3 1 1 " + spki in r[4] for r in rows), str(rows))
    R.check("TLS-RPT: the DANE failures counted with their result types",
            any(r[0] == "wrong.dnssec.example" and r[1] == "tlsa" and r[3] >= 1 and
                "certificate-not-trusted" in r[5] for r in rows) and
            any(r[0] == "notls.dnssec.example" and "starttls-not-supported" in r[5]
                for r in rows) and
            any(r[0] == "btlsa.dnssec.example" and "dnssec-invalid" in r[5] for r in rows),
            str(rows))
    R.check("TLS-RPT: a session without policy counted as no-policy-found",
            any(r[0] == "plain.dnssec.example" and r[1] == "no-policy-found" and r[2] >= 1
                for r in rows), str(rows))


def tlsrpt_rows(db):
    """(domain, type, successful, failed, policy_string, result types) per counter"""
    import sqlite3
    try:
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT c.policy_domain, c.policy_type, c.successful, c.failed, c.policy_string,"
            " COALESCE(GROUP_CONCAT(f.result_type), '') FROM tlsrpt_counter c"
            " LEFT JOIN tlsrpt_failure f ON f.counter = c.id GROUP BY c.id").fetchall()
        con.close()
        return rows
    except Exception as e:
        return [("error", str(e), 0, 0, "", "")]


def run_mtasts(tmp):
    """MTA-STS: policies served over HTTPS by tests/conformance/mtasts_server.py,
    the MX hosts an aiosmtpd with the test CA's certificates (chosen by SNI)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "conformance"))
    try:
        import mtasts_server
    except ImportError as e:
        R.check("MTA-STS: the policy server", False, str(e))
        return
    d = os.path.join(tmp, "sts")
    os.mkdir(d)
    good = ["mta-sts.enforce.test", "mta-sts.nomatch.test", "mta-sts.mxbad.test",
            "mta-sts.testing.test", "mx.enforce.test", "mx.nomatch.test", "mx.testing.test"]
    certs = mtasts_server.TestCerts(d, good, untrusted=["mx.mxbad.test"])

    def policy(mode, mx):
        return "version: STSv1\nmode: %s\n%smax_age: 86400\n" % (
            mode, "".join("mx: %s\n" % m for m in mx))

    sites = {
        "mta-sts.enforce.test": policy("enforce", ["mx.enforce.test"]),
        "mta-sts.nomatch.test": policy("enforce", ["*.elsewhere.test"]),
        "mta-sts.mxbad.test": policy("enforce", ["mx.mxbad.test"]),
        "mta-sts.testing.test": policy("testing", ["other.testing.test"]),
    }
    sites_path = os.path.join(d, "sites.json")
    with open(sites_path, "w") as f:
        json.dump({k: {"status": 200, "content_type": "text/plain", "body": v}
                   for k, v in sites.items()}, f)
    zone = os.path.join(d, "sts.zone")
    with open(zone, "w") as f:
        f.write("$TTL 300\n")
        for dom in ("enforce", "nomatch", "mxbad", "testing"):
            f.write('_mta-sts.%s.test. IN TXT "v=STSv1; id=1"\n' % dom)
            f.write("mta-sts.%s.test. IN A 127.0.0.1\n" % dom)
            f.write("%s.test. IN MX 10 mx.%s.test.\n" % (dom, dom))
            f.write("mx.%s.test. IN A 127.0.0.1\n" % dom)
    web = mtasts_server.PolicyServer(certs, sites_path)
    web.start()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certs.tmp, "good.pem"), os.path.join(certs.tmp, "good.key"))

    def pick(s, name, _ctx):
        s.context = certs.context_for((name or "").lower())

    ctx.sni_callback = pick
    port = free_port()
    ctl, handler = start_aiosmtpd(port, tls_context=ctx)
    try:
        db = os.path.join(d, "sts.db")

        def ssend(rcpt, *extra):
            return send(["--dns-zone", zone, "--port", str(port), "--mta-sts-port",
                         str(web.port), "--ca-file", certs.ca, "--mail-from",
                         "a@sender.example", "--rcpt", rcpt, "--db", db] + list(extra))

        rc, out, err = ssend("x@enforce.test")
        sess = session_line(out)
        R.check("MTA-STS: enforce, listed MX, valid certificate: delivered",
                rc == 0 and "policy=mta-sts" in sess and "verified=yes" in sess, out + err)
        for dom, what in (("nomatch", "an MX the policy does not list"),
                          ("mxbad", "an untrusted MX certificate")):
            rc, out, err = ssend("x@%s.test" % dom)
            st = lines_for(out).get("x@%s.test" % dom, ("", ""))
            R.check("MTA-STS: enforce with %s: 451 4.4.8 deferred" % what,
                    rc == 1 and st[0] == "deferred" and
                    st[1] == "451 4.4.8 MX hosts of '%s.test' failed MTA-STS validation." % dom,
                    out + err)
        rc, out, err = ssend("x@testing.test")
        R.check("MTA-STS: testing mode delivers as without a policy",
                rc == 0 and "policy=opportunistic" in session_line(out), out + err)
        rc, out, err = ssend("x@nomatch.test", "--no-mta-sts")
        R.check("MTA-STS: --no-mta-sts delivers without it", rc == 0, out + err)
        rows = tlsrpt_rows(db)
        R.check("TLS-RPT: MTA-STS success and failures counted (sts)",
                any(r[0] == "enforce.test" and r[1] == "sts" and r[2] >= 1 and
                    "mode: enforce" in r[4] for r in rows) and
                any(r[0] == "mxbad.test" and r[1] == "sts" and r[3] >= 1 and
                    "certificate-not-trusted" in r[5] for r in rows), str(rows))
        R.check("TLS-RPT: testing mode reports what enforce would refuse, once",
                [(r[1], r[2], r[3], r[5]) for r in rows if r[0] == "testing.test"] ==
                [("sts", 0, 1, "validation-failure")], str(rows))
    finally:
        ctl.stop()
        web.stop()


if __name__ == "__main__":
    sys.exit(main())
