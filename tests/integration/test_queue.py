#!/usr/bin/python3
"""test_queue - the queue manager (transport/queue.c) through `smexop serve`.

`smexop serve -c CONFIG` on a free loopback port, DNS from a zone file,
mail for example.org (internal relay, subdomains) routed by outbound
connectors: sink.example.org to Postfix's smtp-sink, aio.example.org to
an aiosmtpd server whose answers depend on the recipient (temp*: 451
always, perm*: 550, flaky*: 451 twice then 250), lmtp.example.org to an
aiosmtpd LMTP server, good.example (the sender's domain: where DSNs go)
to a Maildir connector, and example.org itself to the built-in Maildir.
Lifetimes shortened through the configuration (lifetime 8s, retries from
1s to 2s, delay notices after 3s; the periodic scan only every 30s, so
retries come from the due-time timer and new mail from the announcements).  Checks:

  - built-in Maildir delivery (the embedded default route);
  - smtp-sink: delivered, traced with the remote host;
  - aiosmtpd: two recipients in one transaction, our header fields first;
  - LMTP connector: delivered;
  - 4xx then 250: retried with back-off until delivered (attempt times);
  - 4xx until the lifetime is over: a delay notice, then a failure DSN to
    the sender, parsed with Python's email package (multipart/report,
    message/delivery-status fields, the original headers);
  - 5xx: a failure DSN at once; NOTIFY=NEVER: none; NOTIFY=SUCCESS: a
    success DSN;
  - a second server (lifetime 1h, retry 1h): `smexop queue list --json`,
    hold (no attempts while held), release (tried again), retry, delete
    (gone, traced as deleted), show;
  - a DSN to an outside sender delivered directly to its MX (zone file,
    queue.direct_port), from the null sender;
  - SIGHUP reaches the queue manager: a connector added to the file
    routes the next message;
  - SIGKILL of the queue manager: `smexop serve` starts it again and mail
    still flows.

usage: test_queue.py SMEXOP        prints `N passed, N failed`
"""

import asyncio
import email
import email.policy
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smexoptest import (ConfigServe, Results, free_port, serve_log, stop,  # noqa: E402
                        wait_for)

ZONE = """$TTL 300
$ORIGIN good.example.
@       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc  IN TXT "v=DMARC1; p=none"
$ORIGIN far.example.
@       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
@       IN MX 10 mx.far.example.
mx      IN A 127.0.0.1
$ORIGIN example.org.
@       IN MX 10 mx
mx      IN A 127.0.0.1
"""

CONFIG = """server:
  hostname: mx.example.org
log:
  level: info
dns:
  zone_file: {tmp}/zone
  timeout: 2s
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: none
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
delivery:
  maildir: {tmp}/mail
accepted_domains:
  - domain: example.org
    type: internal_relay
    subdomains: true
queue:
  lifetime: {lifetime}
  retry_min: {retry_min}
  retry_max: {retry_max}
  delay_warning: {delay}
  scan_interval: 30s
  direct_port: {aio}
outbound_connectors:
  - name: bounces
    domains: [good.example]
    type: maildir
    maildir: {tmp}/bounces
  - name: sink
    domains: [sink.example.org]
    smart_hosts: ["127.0.0.1:{sink}"]
    tls: none
  - name: aio
    domains: [aio.example.org]
    smart_hosts: ["127.0.0.1:{aio}"]
    tls: none
    max_concurrency: 2
  - name: lmtp
    domains: [lmtp.example.org]
    type: lmtp
    smart_hosts: ["127.0.0.1:{lmtp}"]
    tls: none
{extra}"""


class Handler:
    """aiosmtpd: temp* 451, perm* 550, flaky* 451 twice then 250."""

    def __init__(self, lmtp=False):
        self.messages = []
        self.tries = {}
        self.lmtp = lmtp
        self.sessions = {}  # (client ip, port) -> messages: connection reuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        n = self.tries[address] = self.tries.get(address, 0) + 1
        self.tries.setdefault("times:" + address, []).append(time.time())
        if address.startswith("temp"):
            return "451 4.2.0 Mailbox busy, try again later"
        if address.startswith("perm"):
            return "550 5.1.1 No such user here"
        if address.startswith("flaky") and n <= 2:
            return "451 4.3.2 Not now"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        peer = tuple(session.peer[:2])
        self.sessions[peer] = self.sessions.get(peer, 0) + 1
        if b"Subject: reuse " in envelope.original_content:
            await asyncio.sleep(0.05)  # deliveries overlap: several sessions idle at once
        self.messages.append({"from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                              "content": envelope.original_content})
        if self.lmtp:
            return "\r\n".join("250 2.0.0 %s delivered" % r for r in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted for delivery"


def start_aiosmtpd(port, lmtp=False):
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import SMTP

    handler = Handler(lmtp)

    class Ctl(Controller):
        def factory(self):
            if lmtp:
                return LMTP(self.handler)
            return SMTP(self.handler, hostname="aiosmtpd.test")

    ctl = Ctl(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, handler


def message(subject, extra="", sender="alice@good.example"):
    return ("From: <%s>\r\nTo: <someone@example.org>\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s.%d@good.example>\r\n%s\r\nHello, %s.\r\n"
            % (sender, subject, subject.replace(" ", "-"), os.getpid(), extra, subject))


def send(port, rcpts, subject, rcpt_options=None, mail_options=(), sender="alice@good.example"):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.good.example")
        code, text = s.mail(sender, mail_options)
        if code != 250:
            return code, text.decode()
        for r in rcpts:
            code, text = s.rcpt(r, (rcpt_options or {}).get(r, ()))
            if code != 250:
                return code, text.decode()
        code, text = s.data(message(subject, sender=sender).encode())
        return code, text.decode()


def maildir(root, domain, user):
    d = os.path.join(root, domain, user, "new")
    out = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
    return out


def dsns(tmp):
    """the DSNs alice got: [(message, delivery-status part, returned headers text)]"""
    out = []
    for m in maildir(os.path.join(tmp, "bounces"), "good.example", "alice"):
        parts = list(m.iter_parts()) if m.is_multipart() else []
        status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
        ret = [p for p in parts if p.get_content_type() in ("text/rfc822-headers",
                                                            "message/rfc822")]
        ret_text = ""
        if ret:
            payload = ret[0].get_payload()
            if isinstance(payload, list):
                ret_text = payload[0].as_string()
            else:
                ret_text = ret[0].get_content() if hasattr(ret[0], "get_content") else payload
        out.append((m, status[0] if status else None, ret_text))
    return out


def status_groups(part):
    """the message/delivery-status part as a list of field dicts (message first)."""
    if part is None:
        return []
    return [dict((k.lower(), str(v)) for k, v in g.items()) for g in part.get_payload()]


def dsn_for(tmp, subject, action):
    found = []
    for m, st, ret in dsns(tmp):
        groups = status_groups(st)
        if ("Subject: %s" % subject) in ret and any(g.get("action") == action
                                                  for g in groups[1:]):
            found.append((m, groups, ret))
    return found


def run(smexop, *args):
    p = subprocess.run([smexop] + list(args), capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def queue_json(smexop, cfg):
    rc, out, err = run(smexop, "queue", "list", "--json", "-c", cfg)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class Server(ConfigServe):
    def __init__(self, smexop, tmp, ports, **kw):
        self.ports = ports
        values = dict(lifetime="8s", retry_min="1s", retry_max="2s", delay="3s", extra="")
        values.update(ports, **kw)
        super().__init__(smexop, tmp, CONFIG, values)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    procs, ctls = [], []
    with tempfile.TemporaryDirectory(prefix="smexop-queue-") as tmp:
        with open(os.path.join(tmp, "zone"), "w") as f:
            f.write(ZONE)
        ports = {"sink": free_port(), "aio": free_port(), "lmtp": free_port()}
        user = ["-u", "root"] if os.getuid() == 0 else []
        sink = subprocess.Popen(["/usr/sbin/smtp-sink"] + user +
                                ["127.0.0.1:%d" % ports["sink"], "64"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sink)
        ctl, aio = start_aiosmtpd(ports["aio"])
        ctls.append(ctl)
        lctl, lmtp = start_aiosmtpd(ports["lmtp"], lmtp=True)
        ctls.append(lctl)
        try:
            srv = Server(smexop, tmp, ports)
            try:
                delivery_cases(res, smexop, srv, tmp, aio, lmtp)
                direct_case(res, smexop, srv, tmp, aio)
                hup_case(res, smexop, srv, tmp, aio)
                restart_case(res, smexop, srv, tmp)
            finally:
                rc = srv.stop()
            res.check("SIGTERM: exit 0 (the queue manager stopped with it)", rc == 0,
                      "exit %s" % rc)
            srv = Server(smexop, tmp, ports, lifetime="1h", retry_min="1h", retry_max="1h",
                         delay="0")
            try:
                cli_cases(res, smexop, srv, tmp, aio)
            finally:
                srv.stop()
        finally:
            for c in ctls:
                c.stop()
            for p in procs:
                stop(p, timeout=5)
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-8000:])
    return res.summary()


def reuse_case(res, srv, aio):
    """reuse_case - 100 messages to one destination from 5 clients at once,
    each delivery held 50 ms by the server so that sessions overlap and
    several wait in the cache at once: deliveries share cached sessions.
    With 5 senders at most about 5 deliveries are in flight (2 sessions
    seen on an idle machine); a cache that lost idle sessions (fixed in
    outbound.c) needed 8 to 15"""
    before = dict(aio.sessions)

    def client(k):
        for i in range(20):
            send(srv.port, ["reuse@aio.example.org"], "reuse %d.%d" % (k, i))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = wait_for(lambda: len([m for m in aio.messages
                                if b"Subject: reuse " in m["content"]]) >= 100, 30)
    used = {p: n - before.get(p, 0) for p, n in aio.sessions.items()
            if n > before.get(p, 0)}
    res.check("connection reuse: 100 messages over at most 5 sessions",
              got and len(used) <= 5, "%d sessions: %r" % (len(used), sorted(used.values())))


def delivery_cases(res, smexop, srv, tmp, aio, lmtp):
    port = srv.port
    reuse_case(res, srv, aio)
    # the built-in Maildir (example.org has no connector)
    code, text = send(port, ["carol@example.org"], "to maildir")
    got = wait_for(lambda: maildir(os.path.join(tmp, "mail"), "example.org", "carol"))
    res.check("built-in Maildir: delivered", code == 250 and len(got) == 1
              and got[0]["Subject"] == "to maildir", "%s %s" % (code, text))

    # smtp-sink through a connector
    code, text = send(port, ["x@sink.example.org"], "to sink")
    ok = wait_for(lambda: "delivered" in run(smexop, "trace", "-c", srv.cfg, "--recipient",
                                             "x@sink.example.org")[1], 15)
    rc, out, err = run(smexop, "trace", "-c", srv.cfg, "--detail", text.split()[-1])
    res.check("smtp-sink: delivered, traced with the remote host",
              code == 250 and ok and "host=127.0.0.1" in out and "via=connector:sink" in out,
              out + err)

    # aiosmtpd: two recipients, one transaction, our fields first
    code, text = send(port, ["a@aio.example.org", "b@aio.example.org"], "two rcpts")
    got = wait_for(lambda: [m for m in aio.messages if b"Subject: two rcpts" in m["content"]])
    res.check("aiosmtpd: two recipients in one transaction",
              len(got) == 1 and sorted(got[0]["rcpts"]) == ["a@aio.example.org",
                                                            "b@aio.example.org"],
              repr([m["rcpts"] for m in got]))
    res.check("aiosmtpd: envelope sender kept, our header fields before the message",
              got and got[0]["from"] == "alice@good.example"
              and got[0]["content"].index(b"X-Smexop-Antispam-Report:")
              < got[0]["content"].index(b"From: <alice@good.example>"),
              repr(got[0]["content"][:300] if got else None))

    # LMTP
    code, text = send(port, ["l@lmtp.example.org"], "over lmtp")
    got = wait_for(lambda: [m for m in lmtp.messages if b"Subject: over lmtp" in m["content"]])
    res.check("LMTP connector: delivered", code == 250 and len(got) == 1, repr(got))

    # 4xx twice, then 250: back-off between the attempts
    t0 = time.time()
    code, text = send(port, ["flaky@aio.example.org"], "flaky")
    got = wait_for(lambda: [m for m in aio.messages if b"Subject: flaky" in m["content"]], 20)
    times = aio.tries.get("times:flaky@aio.example.org", [])
    gaps = [b - a for a, b in zip(times, times[1:])]
    res.check("4xx then 250: delivered on the third attempt",
              len(got) == 1 and len(times) == 3, "%r %r" % (times, got))
    # retry times are kept in whole seconds (rounded up); a timer for the
    # earliest due time (the periodic scan is 30s away).  The lower bounds
    # are the back-off; the upper ones only catch "not at its due time"
    # and leave room for a loaded 2-core machine
    res.check("4xx then 250: waits of retry_min (1s) then twice that, up to retry_max (2s)",
              len(gaps) == 2 and 0.95 <= gaps[0] <= 4 and 1.95 <= gaps[1] <= 6,
              repr(gaps))
    rc, out, err = run(smexop, "trace", "-c", srv.cfg, "--detail", text.split()[-1])
    res.check("4xx then 250: every attempt in the message trace",
              out.count("deferred") >= 2 and "delivered" in out and "451 4.3.2" in out, out)

    # 5xx: a failure DSN at once (well before the lifetime)
    code, text = send(port, ["perm@aio.example.org"], "perm fail")
    got = wait_for(lambda: dsn_for(tmp, "perm fail", "failed"), 6)
    res.check("5xx: a failure DSN within seconds", len(got) == 1 and time.time() - t0 < 30,
              repr(got))
    if got:
        m, groups, ret = got[0]
        rcpt = groups[1] if len(groups) > 1 else {}
        res.check("DSN: multipart/report; report-type=delivery-status",
                  m.get_content_type() == "multipart/report"
                  and m.get_param("report-type") == "delivery-status", m["Content-Type"])
        res.check("DSN: From MAILER-DAEMON, Auto-Submitted, to the sender",
                  "MAILER-DAEMON@mx.example.org" in m["From"]
                  and m["Auto-Submitted"] == "auto-replied"
                  and "alice@good.example" in m["To"] and m["Return-Path"] == "<>",
                  "%s %s %s" % (m["From"], m["To"], m["Return-Path"]))
        res.check("DSN: per-message fields", groups[0].get("reporting-mta") ==
                  "dns; mx.example.org" and "arrival-date" in groups[0], repr(groups[0]))
        res.check("DSN: per-recipient fields (5xx)",
                  rcpt.get("final-recipient") == "rfc822; perm@aio.example.org"
                  and rcpt.get("status") == "5.1.1" and rcpt.get("action") == "failed"
                  and rcpt.get("remote-mta", "").startswith("dns; ")
                  and "550" in rcpt.get("diagnostic-code", "")
                  and "last-attempt-date" in rcpt, repr(rcpt))
        res.check("DSN: the original header section, not the body",
                  "Message-ID: <perm-fail." in ret and "Hello, perm fail" not in ret, ret)

    # NOTIFY=NEVER: no DSN; NOTIFY=SUCCESS: a success DSN
    send(port, ["perm2@aio.example.org"], "never notify",
         rcpt_options={"perm2@aio.example.org": ["NOTIFY=NEVER"]})
    send(port, ["s@aio.example.org"], "tell success",
         rcpt_options={"s@aio.example.org": ["NOTIFY=SUCCESS"]}, mail_options=["RET=FULL"])
    got = wait_for(lambda: dsn_for(tmp, "tell success", "delivered"), 8)
    res.check("NOTIFY=SUCCESS: a success DSN", len(got) == 1, repr(dsns(tmp)))
    res.check("RET=FULL: the whole message comes back (message/rfc822)",
              got and "Hello, tell success" in got[0][2], got[0][2] if got else "")
    res.check("NOTIFY=NEVER: no DSN", not dsn_for(tmp, "never notify", "failed"))

    # 4xx until the lifetime (8s) is over: a delay notice (3s), then failure
    t0 = time.time()
    code, text = send(port, ["temp@aio.example.org"], "expire me")
    delay = wait_for(lambda: dsn_for(tmp, "expire me", "delayed"), 8)
    res.check("delay notice after delay_warning", len(delay) == 1, repr(dsns(tmp)))
    if delay:
        rcpt = delay[0][1][1]
        res.check("delay notice: Action delayed, 4.x.x, Will-Retry-Until",
                  rcpt.get("status", "").startswith("4.") and "will-retry-until" in rcpt,
                  repr(rcpt))
    failed = wait_for(lambda: dsn_for(tmp, "expire me", "failed"), 20)
    res.check("lifetime over: a failure DSN", len(failed) == 1 and time.time() - t0 >= 7,
              "%r after %.1fs" % (failed, time.time() - t0))
    if failed:
        m, groups, ret = failed[0]
        rcpt = groups[1] if len(groups) > 1 else {}
        res.check("expiry DSN: the last reply (451 4.2.0), the original headers",
                  rcpt.get("status") == "4.2.0" and "451" in rcpt.get("diagnostic-code", "")
                  and "Subject: expire me" in ret and "X-Smexop-Antispam-Report" in ret,
                  repr(rcpt) + ret)
    rc, out, err = run(smexop, "queue", "list", "-c", srv.cfg)
    res.check("the queue is empty at the end", out.strip() == "the queue is empty", out + err)
    res.check("no DSN ever went to the null sender (no DSN about a DSN)",
              not any("Undelivered Mail" in r for _, _, r in dsns(tmp)))


def direct_case(res, smexop, srv, tmp, aio):
    """a DSN to an outside sender goes directly to its MX (far.example MX ->
    127.0.0.1, queue.direct_port: the aiosmtpd server), from <>"""
    code, text = send(srv.port, ["perm-far@aio.example.org"], "far bounce",
                      sender="carla@far.example")
    got = wait_for(lambda: [m for m in aio.messages if "carla@far.example" in m["rcpts"]], 15)
    res.check("MX delivery: the DSN to an outside sender reached its MX, from <>",
              code == 250 and len(got) == 1 and got[0]["from"] in ("", "<>")
              and b"Subject: Undelivered Mail Returned to Sender" in got[0]["content"]
              and b"Final-Recipient: rfc822; perm-far@aio.example.org" in got[0]["content"],
              "%s %s %r" % (code, text, [(m["from"], m["content"][:300]) for m in got]))
    rc, out, err = run(smexop, "trace", "-c", srv.cfg, "--recipient", "carla@far.example",
                       "--json")
    ids = [json.loads(line)["id"] for line in out.splitlines() if line.strip()]
    rc, out, err = run(smexop, "trace", "-c", srv.cfg, "--detail", ids[0] if ids else "-")
    res.check("MX delivery: traced as delivered via mx:far.example, host mx.far.example",
              "via=mx:far.example" in out and "delivered" in out and "host=mx.far.example" in out,
              out + err)


def hup_case(res, smexop, srv, tmp, aio):
    """SIGHUP reaches the queue manager: a connector added to the file routes
    the next message"""
    code, text = send(srv.port, ["h@hup.example.org"], "before hup")
    got = wait_for(lambda: maildir(os.path.join(tmp, "mail"), "hup.example.org", "h"))
    res.check("before SIGHUP: hup.example.org to the built-in Maildir", len(got) == 1)
    srv.write(extra="  - name: hup\n    domains: [hup.example.org]\n"
                    "    smart_hosts: [\"127.0.0.1:%d\"]\n    tls: none\n" % srv.ports["aio"])
    srv.proc.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: "queue event=reloaded" in serve_log(tmp))
    code, text = send(srv.port, ["h@hup.example.org"], "after hup")
    got = wait_for(lambda: [m for m in aio.messages if b"Subject: after hup" in m["content"]])
    res.check("SIGHUP: the queue manager reloaded, the new connector is used",
              ok and len(got) == 1, "%s %r" % (ok, got))


def qmgr_kids(pid):
    """qmgr_kids - serve's children that are the queue manager (serve also
    starts the key holder, `smexop keyholder`)."""
    p = subprocess.run(["pgrep", "-P", str(pid), "-f", "queue run"], capture_output=True,
                       text=True)
    return [int(x) for x in p.stdout.split()]


def restart_case(res, smexop, srv, tmp):
    """SIGKILL the queue manager: serve starts a new one, mail still flows."""
    kids = qmgr_kids(srv.proc.pid)
    res.check("serve has one queue manager child", len(kids) == 1, repr(kids))
    if kids:
        os.kill(kids[0], signal.SIGKILL)
        time.sleep(1.5)
    code, text = send(srv.port, ["dave@example.org"], "after restart")
    got = wait_for(lambda: maildir(os.path.join(tmp, "mail"), "example.org", "dave"), 10)
    now = qmgr_kids(srv.proc.pid)
    res.check("queue manager killed: restarted, mail delivered",
              len(got) == 1 and now and now[0] not in kids, "%r %r" % (got, now))


def cli_cases(res, smexop, srv, tmp, aio):
    cfg = srv.cfg
    code, text = send(srv.port, ["temp-hold@aio.example.org"], "hold me")
    qid = text.split()[-1]
    first = wait_for(lambda: [e for e in queue_json(smexop, cfg) if e["id"] == qid
                              and e["recipients"][0]["attempts"] == 1], 10)
    res.check("queue list --json: deferred once, next attempt an hour away",
              len(first) == 1 and first[0]["recipients"][0]["next_attempt"] > time.time() + 3000
              and "451" in first[0]["recipients"][0]["reply"], repr(first))
    rc, out, err = run(smexop, "queue", "show", qid, "-c", cfg)
    res.check("queue show: the recipient with its reply",
              rc == 0 and "<temp-hold@aio.example.org> pending attempts=1" in out
              and "451 4.2.0" in out, out + err)
    rc, out, err = run(smexop, "queue", "hold", qid, "-c", cfg)
    res.check("queue hold", rc == 0 and "held" in out, out + err)
    rc, out, err = run(smexop, "queue", "retry", "--all", "-c", cfg)
    time.sleep(1.5)
    e = [x for x in queue_json(smexop, cfg) if x["id"] == qid]
    res.check("held: listed in hold/, not tried (retry --all does not reach it)",
              e and e[0]["location"] == "hold" and e[0]["recipients"][0]["attempts"] == 1, repr(e))
    rc, out, err = run(smexop, "queue", "retry", qid, "-c", cfg)
    res.check("queue retry on a held entry: refused", rc == 2, out + err)
    rc, out, err = run(smexop, "queue", "release", qid, "-c", cfg)
    second = wait_for(lambda: [x for x in queue_json(smexop, cfg) if x["id"] == qid
                               and x["recipients"][0]["attempts"] == 2], 10)
    res.check("queue release: back in the queue and tried at once",
              rc == 0 and len(second) == 1 and second[0]["location"] == "queue",
              out + err + repr(second))
    rc, out, err = run(smexop, "queue", "retry", qid, "-c", cfg)
    third = wait_for(lambda: [x for x in queue_json(smexop, cfg) if x["id"] == qid
                              and x["recipients"][0]["attempts"] == 3], 10)
    res.check("queue retry ID: tried again at once", rc == 0 and len(third) == 1, out + err)
    rc, out, err = run(smexop, "queue", "delete", qid, "-c", cfg)
    res.check("queue delete", rc == 0 and not [x for x in queue_json(smexop, cfg)
                                                 if x["id"] == qid], out + err)
    rc, out, err = run(smexop, "trace", "-c", cfg, "--detail", qid)
    res.check("queue delete: traced as deleted", "deleted" in out, out + err)
    rc, out, err = run(smexop, "queue", "delete", qid, "-c", cfg)
    res.check("queue delete: an unknown id is a usage error", rc == 2, out + err)
    res.check("hold/release: the downstream saw exactly three attempts",
              aio.tries.get("temp-hold@aio.example.org") == 3, repr(aio.tries))


if __name__ == "__main__":
    sys.exit(main())
