#!/usr/bin/python3
"""test_gateway - `smexop serve` end to end over SMTP on loopback.

Starts `smexop serve -c CONFIG` with a generated configuration: one
listener on a free 127.0.0.1 port, DNS from a zone file (dns.zone_file),
a temporary spool, Maildir root and SQLite store, one accepted
authoritative domain with a directory, a connection filter block list and
a reputation block list.  Then, with Python's smtplib:

  - a clean message from a domain whose SPF passes: 250, delivered into
    the Maildir with our Authentication-Results (spf=pass) and
    X-Smexop-Antispam-Report (SFV:NSPM, the forward-confirmed PTR name),
    X-Spam-Flag: NO, Received; a
    forged Authentication-Results claiming our authserv-id is gone, a
    foreign one stays;
  - the same over STARTTLS (a self-signed certificate from openssl): the
    Received field says ESMTPS and names the TLS version and cipher;
  - an unknown recipient: 550 5.4.1 Recipient address rejected: Access denied;
  - a client on the reputation block list (source 127.0.0.2):
    550 5.7.606 Access denied, banned sending IP [127.0.0.2];
  - a client on the connection filter's block list (source 127.0.0.3):
    EOP's customer block list reply, 550 5.7.1;
  - DMARC p=reject failing: 550 5.7.509 with EOP's text, nothing stored;
  - DMARC p=quarantine failing: 250, then `smexop quarantine list` shows it;
  - a spoofed From (no DMARC record, SPF fail): delivered with
    X-Spam-Flag: YES (the spoof action junk);
  - SIGHUP: a recipient added to the directory file is accepted after it;
  - durability: with delivery failing (a connector whose Maildir cannot be
    made, retried an hour later), kill -9 right after the 250, restart
    with the normal configuration, `smexop queue retry --all`, and the
    message reaches the Maildir;
  - SIGTERM: new connections are refused (the listeners are closed), an
    open session still finishes its message, then exit 0.

Usage: test_gateway.py SMEXOP       prints `N passed, N failed`
"""

import email
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from smexoptest import ConfigServe, Results, serve_log, wait_for

ZONE = """$TTL 300
$ORIGIN good.example.
@       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc  IN TXT "v=DMARC1; p=none"
client  IN A 127.0.0.1
$ORIGIN 0.0.127.in-addr.arpa.
1       IN PTR client.good.example.
$ORIGIN reject.example.
@       IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=reject"
$ORIGIN quar.example.
@       IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=quarantine"
$ORIGIN spoof.example.
@       IN TXT "v=spf1 -all"
$ORIGIN example.org.
@       IN MX 10 mx
mx      IN A 127.0.0.1
"""

CONFIG = """server:
  hostname: mx.example.org
  authserv_id: mx.example.org
log:
  level: info
dns:
  zone_file: {tmp}/zone
  timeout: 2s
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: starttls
tls:
  cert_file: {tmp}/cert.pem
  key_file: {tmp}/key.pem
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
delivery:
  maildir: {tmp}/mail
  interval: {interval}
accepted_domains:
  - domain: example.org
    type: authoritative
directory:
  file: {tmp}/directory
connection_filter:
  ip_block: ["127.0.0.3"]
reputation:
  block_file: {tmp}/reputation
{extra}"""


def message(sender, subject, extra=""):
    return ("From: <%s>\r\nTo: <bob@example.org>\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s.%d@test>\r\n%s\r\nHello.\r\n"
            % (sender, subject, subject.replace(" ", "-"), os.getpid(), extra))


def Server(smexop, tmp, interval="200ms", extra=""):
    return ConfigServe(smexop, tmp, CONFIG, dict(interval=interval, extra=extra))


def send(port, sender, rcpts, data, source="127.0.0.1"):
    """send - (code, text) of the first refusal, or of the final reply."""
    try:
        with smtplib.SMTP("127.0.0.1", port, source_address=(source, 0), timeout=20) as s:
            code, text = s.ehlo("client.good.example")
            if code != 250:
                return code, text.decode()
            code, text = s.mail(sender)
            if code != 250:
                return code, text.decode()
            for r in rcpts:
                code, text = s.rcpt(r)
                if code != 250:
                    return code, text.decode()
            code, text = s.data(data.encode())
            return code, text.decode()
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error.decode()
    except smtplib.SMTPServerDisconnected as e:
        return 0, str(e)


def maildir_messages(tmp):
    d = os.path.join(tmp, "mail", "example.org", "bob", "new")
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out.append(email.message_from_bytes(f.read()))
    return out


def find(tmp, subject):
    return wait_for(lambda: [m for m in maildir_messages(tmp) if m["Subject"] == subject])


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    with tempfile.TemporaryDirectory(prefix="smexop-gw-") as tmp:
        with open(os.path.join(tmp, "zone"), "w") as f:
            f.write(ZONE)
        with open(os.path.join(tmp, "directory"), "w") as f:
            f.write("bob@example.org\n")
        with open(os.path.join(tmp, "reputation"), "w") as f:
            f.write("127.0.0.2 test listing\n")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=mx.example.org", "-keyout", os.path.join(tmp, "key.pem"),
                        "-out", os.path.join(tmp, "cert.pem")], check=True, capture_output=True)
        srv = Server(smexop, tmp)
        try:
            run_cases(res, srv, tmp)
        finally:
            rc = srv.stop()
        res.check("SIGTERM: graceful stop, exit 0", rc == 0, "exit %s" % rc)
        graceful(res, smexop, tmp)
        durability(res, smexop, tmp)
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-6000:])
    return res.summary()


def run_cases(res, srv, tmp):
    port = srv.port
    forged = ("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=forged.example\r\n"
              "Authentication-Results: other.example; spf=none\r\n")
    code, text = send(port, "alice@good.example", ["bob@example.org"],
                      forged + message("alice@good.example", "clean one"))
    res.check("clean: 250 after the commit", code == 250 and "queued as" in text,
              "%s %s" % (code, text))
    got = find(tmp, "clean one")
    res.check("clean: delivered into the Maildir", len(got) == 1, repr(got))
    if got:
        m = got[0]
        ars = m.get_all("Authentication-Results") or []
        ours = [a for a in ars if a.strip().lower().startswith("mx.example.org")]
        res.check("clean: one Authentication-Results of ours, spf=pass",
                  len(ours) == 1 and "spf=pass" in ours[0] and "forged" not in ours[0],
                  repr(ars))
        res.check("clean: the foreign Authentication-Results stays",
                  any(a.strip().startswith("other.example") for a in ars), repr(ars))
        rep = m.get("X-Smexop-Antispam-Report", "")
        res.check("clean: X-Smexop-Antispam-Report",
                  rep.startswith("CIP:127.0.0.1;CTRY:;LANG:;H:client.good.example;"
                                 "PTR:client.good.example;")
                  and ";DIR:INB;SCL:1;" in rep and ";SFV:NSPM;CAT:NONE;" in rep, rep)
        res.check("clean: X-Spam-Flag NO", m.get("X-Spam-Flag") == "NO", m.get("X-Spam-Flag"))
        rcv = m.get_all("Received") or []
        res.check("clean: our Received", any(
            r.startswith("from client.good.example (client.good.example [127.0.0.1])")
            and "by mx.example.org (smexop) with ESMTP" in r for r in rcv), repr(rcv))

    # STARTTLS: the Received field names the protocol and the cipher
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("client.good.example")
        s.starttls(context=ctx)
        s.ehlo("client.good.example")
        s.sendmail("alice@good.example", ["bob@example.org"],
                   message("alice@good.example", "over tls"))
    got = find(tmp, "over tls")
    rcv = (got[0].get_all("Received") or [""])[0] if got else ""
    res.check("STARTTLS: Received says ESMTPS and the cipher",
              "with ESMTPS id" in rcv and "(using TLSv1." in rcv and " with cipher " in rcv, rcv)

    code, text = send(port, "alice@good.example", ["nobody@example.org"],
                      message("alice@good.example", "unknown"))
    res.check("unknown recipient: 550 5.4.1",
              code == 550 and text == "5.4.1 Recipient address rejected: Access denied",
              "%s %s" % (code, text))
    p = subprocess.run([srv.smexop, "trace", "-c", srv.cfg, "--recipient", "nobody@example.org"],
                       capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    res.check("unknown recipient: in the message trace as rejected",
              p.returncode == 0 and "rejected" in out, out + p.stderr.decode())

    code, text = send(port, "alice@good.example", ["bob@elsewhere.example"],
                      message("alice@good.example", "relay"))
    res.check("not our domain: relaying denied (EOP's 5.7.54)",
              code == 550 and text == "5.7.54 SMTP; Unable to relay recipient in "
              "non-accepted domain",
              "%s %s" % (code, text))

    code, text = send(port, "alice@good.example", ["bob@example.org"],
                      message("alice@good.example", "rep"), source="127.0.0.2")
    res.check("reputation block: 550 5.7.606",
              code == 550 and text == "5.7.606 Access denied, banned sending IP [127.0.0.2]",
              "%s %s" % (code, text))

    code, text = send(port, "alice@good.example", ["bob@example.org"],
                      message("alice@good.example", "blocked"), source="127.0.0.3")
    res.check("connection filter block list: 550 5.7.1 customer block list",
              code == 550 and text.startswith("5.7.1 ") and "127.0.0.3" in text,
              "%s %s" % (code, text))

    code, text = send(port, "mallory@reject.example", ["bob@example.org"],
                      message("ceo@reject.example", "dmarc reject"))
    res.check("DMARC p=reject: 550 5.7.509",
              code == 550 and text == ("5.7.509 Access denied, sending domain [reject.example] "
                                       "does not pass DMARC verification and has a DMARC "
                                       "policy of reject."),
              "%s %s" % (code, text))

    code, text = send(port, "mallory@quar.example", ["bob@example.org"],
                      message("ceo@quar.example", "dmarc quarantine"))
    res.check("DMARC p=quarantine: 250", code == 250, "%s %s" % (code, text))
    p = subprocess.run([srv.smexop, "quarantine", "list", "-c", srv.cfg], capture_output=True,
                       timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    res.check("DMARC p=quarantine: smexop quarantine list shows it",
              p.returncode == 0 and "dmarc quarantine" in out, out + p.stderr.decode())

    code, text = send(port, "mallory@spoof.example", ["bob@example.org"],
                      message("ceo@spoof.example", "spoofed"))
    got = find(tmp, "spoofed") if code == 250 else []
    res.check("spoof: delivered to junk (X-Spam-Flag: YES, CAT:SPOOF)",
              len(got) == 1 and got[0].get("X-Spam-Flag") == "YES"
              and ";CAT:SPOOF;" in got[0].get("X-Smexop-Antispam-Report", ""),
              "%s %s %r" % (code, text, [dict(g) for g in got]))
    # SIGHUP: a new directory entry is known to new sessions
    with open(os.path.join(tmp, "directory"), "w") as f:
        f.write("bob@example.org\ncarol@example.org\n")
    code, text = send(port, "alice@good.example", ["carol@example.org"],
                      message("alice@good.example", "before reload"))
    res.check("before SIGHUP: carol is unknown", code == 550, "%s %s" % (code, text))
    srv.proc.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: "event=reloaded" in serve_log(tmp))
    code, text = send(port, "alice@good.example", ["carol@example.org"],
                      message("alice@good.example", "after reload"))
    res.check("SIGHUP: reloaded, carol is accepted", ok and code == 250, "%s %s" % (code, text))
    # the delivery timer must keep its Maildir after the old configuration
    # is freed (it once pointed into it and wrote to a garbage path)
    carol = os.path.join(tmp, "mail", "example.org", "carol", "new")
    got = wait_for(lambda: os.path.isdir(carol) and os.listdir(carol)) if code == 250 else []
    res.check("SIGHUP: mail after the reload reaches the configured Maildir",
              got and len(got) == 1, repr(got))
    res.check("rejected and quarantined mail is not in the Maildir",
              not [m for m in maildir_messages(tmp)
                   if m["Subject"] in ("dmarc reject", "dmarc quarantine", "unknown")])


def graceful(res, smexop, tmp):
    """SIGTERM in the middle of a transaction: no new connections, the open
    session still gets its message accepted, then the server exits 0."""
    srv = Server(smexop, tmp)
    s = smtplib.SMTP("127.0.0.1", srv.port, timeout=20)
    s.ehlo("client.good.example")
    s.mail("alice@good.example")
    s.rcpt("bob@example.org")
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    # the listening socket is closed at once: a new client is refused (and
    # tries the next MX) instead of hanging in a handshake nobody greets
    try:
        c = socket.create_connection(("127.0.0.1", srv.port), 1)
        c.settimeout(1.5)
        try:
            outcome = "connected, read %r" % c.recv(100)
        except OSError as e:
            outcome = "connected, then %r" % e
        c.close()
    except ConnectionRefusedError:
        outcome = "refused"
    except OSError as e:
        outcome = repr(e)
    res.check("SIGTERM: a new connection is refused", outcome == "refused", outcome)
    code, text = s.data(message("alice@good.example", "during stop").encode())
    res.check("SIGTERM: the open session finishes its message", code == 250,
              "%s %s" % (code, text))
    try:
        s.quit()
    except smtplib.SMTPServerDisconnected:
        pass
    try:
        rc = srv.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    res.check("SIGTERM: exit 0 once the session is over", rc == 0, "exit %s" % rc)
    srv.stop()


BLOCKED = """queue:
  retry_min: 1h
outbound_connectors:
  - name: blocked
    domains: [example.org]
    type: maildir
    maildir: {tmp}/blocked/mail
"""


def durability(res, smexop, tmp):
    # delivery fails (the connector's Maildir is under a plain file) and is
    # retried an hour later: the message can only be in the queue
    with open(os.path.join(tmp, "blocked"), "w") as f:
        f.write("not a directory\n")
    srv = Server(smexop, tmp, extra=BLOCKED.format(tmp=tmp))
    code, text = send(srv.port, "alice@good.example", ["bob@example.org"],
                      message("alice@good.example", "durable"))
    srv.stop(signal.SIGKILL)
    res.check("durability: 250 before the kill", code == 250, "%s %s" % (code, text))
    res.check("durability: not delivered before the kill", not find_now(tmp, "durable"))
    srv = Server(smexop, tmp)
    try:
        # it may have been tried and deferred for an hour: make it due
        p = subprocess.run([smexop, "queue", "retry", "--all", "-c", srv.cfg],
                           capture_output=True, timeout=30)
        res.check("durability: smexop queue retry --all", p.returncode == 0,
                  p.stdout.decode() + p.stderr.decode())
        got = find(tmp, "durable")
        res.check("durability: delivered after the restart", len(got) == 1)
    finally:
        srv.stop()


def find_now(tmp, subject):
    return [m for m in maildir_messages(tmp) if m["Subject"] == subject]


if __name__ == "__main__":
    sys.exit(main())
