#!/usr/bin/python3
"""test_gateway_crash - SIGKILL `smexop serve` again and again under load.

Several sender threads send messages with unique ids to the gateway over
SMTP (Python's smtplib, a few messages per connection, as an MTA would),
while a killer loop sends SIGKILL to `smexop serve` at random moments
(every 0.2-1.5 s) and restarts it on the same spool, Maildir and store.
A sender records each id that got a 250; an id without one (connection
refused or reset, a 4xx, no reply) is sent again later, like a real MTA
retrying.  The Maildir delivery timer runs all the time (every 100 ms), so
kills also land between a Maildir copy and the spool update.

At the end the gateway is started once more, delivery drains the queue,
the gateway is stopped with SIGTERM, and:

  - lost: every (id, recipient) that got a 250 is in the recipient's
    Maildir: the hard requirement, none may be missing;
  - every delivered file is complete: its X-Crash-Id names a known id and
    the body's SHA-256 line matches the body, our Received and
    Authentication-Results (spf=pass) are there (the pipeline ran);
  - duplicates are counted apart (at-least-once is the guarantee across a
    crash): "retry" duplicates come from an attempt whose 250 was lost in
    the kill (the client sent it again: SMTP's own duplicate), "delivery"
    duplicates from a kill between the Maildir link and the spool update;
    these can only hit entries being delivered at a kill, so there are at
    most as many as kills times the recipients of one message;
  - nothing is left in incoming/, queue/ or corrupt/; ids that never got
    a 250 may or may not have arrived (their 250 may have been lost).

Defaults: 2,000 messages, 8 senders, at least 25 kills (a run of 30 s to
a minute on 2 cores, depending on how fast the disk syncs); when the
messages would all be acked before the last of those kills, more are added, so
every kill lands under load.  SMEXOP_CRASH_MESSAGES=N scales the message count,
SMEXOP_CRASH_KILLS=N the minimum number of kills, SMEXOP_CRASH_SEED the
random seed (printed, so a failing run can be repeated).

Usage: test_gateway_crash.py SMEXOP     prints `N passed, N failed`
"""

import email
import email.policy
import hashlib
import os
import queue
import random
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

from smexoptest import Results, free_port, serve_log, start_serve
from smexoptest import stop as stop_process

ZONE = """$TTL 300
$ORIGIN good.example.
@       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc  IN TXT "v=DMARC1; p=none"
client  IN A 127.0.0.1
$ORIGIN 0.0.127.in-addr.arpa.
1       IN PTR client.good.example.
$ORIGIN example.org.
@       IN MX 10 mx
mx      IN A 127.0.0.1
"""

CONFIG = """server:
  hostname: mx.example.org
  authserv_id: mx.example.org
log:
  level: warn
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
  interval: 100ms
accepted_domains:
  - domain: example.org
    type: authoritative
directory:
  file: {tmp}/directory
connection_filter:
  max_connections_per_ip: 1000
"""

RCPTS = ["bob@example.org", "carol@example.org"]
SENDERS = 8
PER_CONNECTION = 5  # messages per SMTP connection before QUIT
REFILL = 2000  # ids added while the kills are too few (more than a fast
               # machine sends during the longest pause between kills)


def make_message(rng, msg_id, rcpts):
    """make_message - (wire text, SHA-256 of the body lines joined by LF).

    Bodies run from a few lines to about 40 KB so that kills land in the
    middle of DATA too."""
    nlines = rng.choice((3, 10, 60, 200, 500))
    lines = ["%s %05d %s" % (msg_id, i, "%x" % rng.getrandbits(200)) for i in range(nlines)]
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    head = ("From: <alice@good.example>\r\nTo: %s\r\nSubject: crash %s\r\n"
            "Date: Sun, 29 Nov 2026 01:00:00 +0000\r\nMessage-ID: <%s@crash.test>\r\n"
            "X-Crash-Id: %s\r\n\r\n" % (", ".join("<%s>" % r for r in rcpts), msg_id, msg_id,
                                        msg_id))
    body = "crash-id: %s\r\nsha256: %s\r\n%s\r\n" % (msg_id, digest, "\r\n".join(lines))
    return head + body


class Gateway:
    """Gateway - `smexop serve` on a fixed port, restartable on the same state."""

    def __init__(self, smexop, tmp):
        self.smexop, self.tmp = smexop, tmp
        self.port = free_port()
        self.cfg = os.path.join(tmp, "smexop.yaml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(tmp=tmp, port=self.port))
        self.logf = open(os.path.join(tmp, "serve.log"), "ab")
        self.proc = None
        self.starts = 0

    def start(self):
        self.proc = start_serve(self.smexop, self.cfg, self.logf)
        self.starts += 1
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smexop serve exited with %d" % self.proc.returncode)
            # the greeting, not the handshake: the kernel completes those
            # as soon as the socket listens, before the signal handlers are
            # in place and the loop runs
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as c:
                    c.settimeout(2)
                    if c.recv(4).startswith(b"220"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("smexop serve did not listen")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return self.proc.returncode

    def stop(self):
        return None if self.proc is None else stop_process(self.proc, timeout=40)


class Ledger:
    """Ledger - what the senders saw, shared between their threads."""

    def __init__(self, total, seed):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.todo = queue.Queue()
        self.rcpts = {}
        self.acked = set()
        self.uncertain = set()  # ids whose DATA got no reply at least once
        self.attempts = 0
        self.refusals = {}
        self.remaining = 0
        self.done = threading.Event()
        self.hold = True  # not done before the killer has made its kills
        self.add(total)

    def add(self, n):
        """add - n more ids to send; False once everything was acked"""
        with self.lock:
            if self.done.is_set():
                return False
            for _ in range(n):
                i = len(self.rcpts)
                msg_id = "m%06d-%08x" % (i, self.rng.getrandbits(32))
                self.rcpts[msg_id] = RCPTS if i % 5 == 0 else RCPTS[:1]
                self.todo.put(msg_id)
            self.remaining += n
            return True

    def acked_one(self, msg_id):
        with self.lock:
            self.acked.add(msg_id)
            self.remaining -= 1
            if self.remaining == 0 and not self.hold:
                self.done.set()

    def release(self):
        """release - the killer has made its kills: done once all is acked"""
        with self.lock:
            self.hold = False
            if self.remaining == 0:
                self.done.set()

    def retry(self, msg_id, why, after_data):
        with self.lock:
            self.refusals[why] = self.refusals.get(why, 0) + 1
            if after_data:
                self.uncertain.add(msg_id)
        self.todo.put(msg_id)


def sender(port, ledger, seed, stop):
    rng = random.Random(seed)
    while not stop.is_set() and not ledger.done.is_set():
        try:
            s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.good.example", timeout=15)
        except (OSError, smtplib.SMTPException):
            time.sleep(0.02)  # restarting
            continue
        try:
            s.ehlo("client.good.example")
            for _ in range(PER_CONNECTION):
                try:
                    msg_id = ledger.todo.get(timeout=0.2)
                except queue.Empty:
                    break
                if not send_one(s, ledger, msg_id, rng):
                    break
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass


def send_one(s, ledger, msg_id, rng):
    """send_one - one transaction on an open session; False when the session is gone."""
    rcpts = ledger.rcpts[msg_id]
    ledger.attempts += 1  # (a race here only blurs a printed figure)
    in_data = False
    try:
        code, _ = s.mail("alice@good.example")
        if code != 250:
            ledger.retry(msg_id, "MAIL %d" % code, False)
            s.rset()
            return True
        for r in rcpts:
            code, _ = s.rcpt(r)
            if code != 250:
                ledger.retry(msg_id, "RCPT %d" % code, False)
                s.rset()
                return True
        code, _ = s.docmd("DATA")
        if code != 354:
            ledger.retry(msg_id, "DATA %d" % code, False)
            s.rset()
            return True
        in_data = True
        data = make_message(rng, msg_id, rcpts).encode()
        data = smtplib.quotedata(data.decode()).encode()
        s.send(data + b"\r\n.\r\n")
        code, _ = s.getreply()
        in_data = False
        if code == 250:
            ledger.acked_one(msg_id)
            return True
        ledger.retry(msg_id, "end of data %d" % code, False)
        return code != 421
    except (OSError, smtplib.SMTPException):
        ledger.retry(msg_id, "connection lost" + (" after DATA" if in_data else ""), in_data)
        return False


def killer(gw, ledger, rng, min_kills, stop, log):
    """killer - SIGKILL and restart until every id is acked; while fewer
    than min_kills were made, the senders get more ids so that every kill
    lands under load.  Returns the number of kills under load."""
    kills = 0
    deadline = time.time() + 240
    while not stop.is_set() and time.time() < deadline and not ledger.done.is_set():
        if kills < min_kills and ledger.todo.qsize() < REFILL:
            ledger.add(REFILL)
        elif kills >= min_kills:
            ledger.release()
        time.sleep(rng.uniform(0.2, 1.5))
        if ledger.done.is_set():
            break
        rc = gw.kill()
        kills += 1
        log.append((time.time(), len(ledger.acked), rc))
        gw.start()
    return kills


def listdir(path):
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def read_maildirs(tmp):
    """read_maildirs - {(id, rcpt): count}, and the problems found in the files."""
    seen, problems = {}, []
    for r in RCPTS:
        local, domain = r.split("@")
        d = os.path.join(tmp, "mail", domain, local, "new")
        for name in listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                raw = f.read()
            m = email.message_from_bytes(raw, policy=email.policy.compat32)
            msg_id = m.get("X-Crash-Id")
            body = m.get_payload()
            lines = body.split("\n") if isinstance(body, str) else []
            ok = (msg_id is not None and len(lines) >= 3 and lines[0] == "crash-id: " + msg_id
                  and lines[1].startswith("sha256: "))
            if ok:
                rest = lines[2:]
                while rest and rest[-1] == "":
                    rest.pop()
                ok = hashlib.sha256("\n".join(rest).encode()).hexdigest() == lines[1][8:]
            if not ok:
                problems.append("%s/%s: incomplete or damaged" % (r, name))
                continue
            ars = " ".join(m.get_all("Authentication-Results") or [])
            rcv = " ".join(m.get_all("Received") or [])
            if "spf=pass" not in ars or "by mx.example.org (smexop)" not in rcv:
                problems.append("%s/%s: our header fields are missing" % (r, name))
            key = (msg_id, r)
            seen[key] = seen.get(key, 0) + 1
    return seen, problems


def describe(path, seen, ledger):
    """describe - what a leftover spool file holds, for the failure message"""
    try:
        with open(path, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.compat32)
    except OSError as e:
        return "%s: %s" % (os.path.basename(path), e)
    msg_id = m.get("X-Crash-Id")
    if msg_id is None:
        return "%s (no X-Crash-Id)" % os.path.basename(path)
    return "%s: %s %s, %s" % (os.path.basename(path), msg_id,
                              "acked" if msg_id in ledger.acked else "not acked",
                              "delivered" if any(k[0] == msg_id for k in seen)
                              else "not delivered")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    total = int(os.environ.get("SMEXOP_CRASH_MESSAGES", "2000"))
    min_kills = int(os.environ.get("SMEXOP_CRASH_KILLS", "25"))
    seed = int(os.environ.get("SMEXOP_CRASH_SEED", str(random.randrange(1 << 30))))
    print("seed %d: %d messages, %d senders, at least %d kills" % (seed, total, SENDERS,
                                                                    min_kills))
    res = Results()
    with tempfile.TemporaryDirectory(prefix="smexop-crash-") as tmp:
        with open(os.path.join(tmp, "zone"), "w") as f:
            f.write(ZONE)
        with open(os.path.join(tmp, "directory"), "w") as f:
            f.write("\n".join(RCPTS) + "\n")
        gw = Gateway(smexop, tmp)
        try:
            run(res, gw, tmp, total, min_kills, seed)
        finally:
            gw.stop()
            gw.logf.close()
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-4000:])
    return res.summary()


def run(res, gw, tmp, total, min_kills, seed):
    ledger = Ledger(total, seed)
    stop = threading.Event()
    gw.start()
    t0 = time.time()
    threads = [threading.Thread(target=sender, args=(gw.port, ledger, seed + 1 + i, stop))
               for i in range(SENDERS)]
    for t in threads:
        t.start()
    kill_log = []
    try:
        kills = killer(gw, ledger, random.Random(seed), min_kills, stop, kill_log)
        # a bound on the whole load phase, whatever happens
        ledger.done.wait(max(0.0, 240 - (time.time() - t0)))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    load_s = time.time() - t0
    print("load: %.1f s, %d attempts, %d acked, %d kills, %d ids cut during DATA "
          "(their 250 may be lost)" %
          (load_s, ledger.attempts, len(ledger.acked), kills, len(ledger.uncertain)))
    print("not acked at the first try: %s" % (
        ", ".join("%s %d" % kv for kv in sorted(ledger.refusals.items())) or "none"))
    res.check("load: every id got its 250 in the end (%d)" % len(ledger.rcpts),
              len(ledger.acked) == len(ledger.rcpts),
              "%d of %d" % (len(ledger.acked), len(ledger.rcpts)))
    res.check("load: at least %d kills under load" % min_kills, kills >= min_kills,
              "%d kills" % kills)
    res.check("every kill was a SIGKILL", all(rc == -signal.SIGKILL for _, _, rc in kill_log),
              repr(kill_log[:5]))

    # the last run: recovery, delivery drains the queue, graceful stop
    gw.kill()
    gw.start()
    queue_dir = os.path.join(tmp, "spool", "queue")
    deadline = time.time() + 60
    while time.time() < deadline and any(n.endswith(".env") for n in listdir(queue_dir)):
        time.sleep(0.1)
    rc = gw.stop()
    res.check("last run: SIGTERM, exit 0", rc == 0, "exit %s" % rc)
    p = subprocess.run([gw.smexop, "deliver", "--once", "-c", gw.cfg], capture_output=True,
                       timeout=60)
    res.check("smexop deliver --once afterwards: nothing left to do", p.returncode == 0,
              p.stdout.decode() + p.stderr.decode())

    spool = os.path.join(tmp, "spool")
    seen, problems = read_maildirs(tmp)
    for d in ("incoming", "queue", "corrupt", "quarantine"):
        left = listdir(os.path.join(spool, d))
        res.check("nothing left in %s/" % d, not left, "%d files: %s" % (
            len(left), "; ".join(describe(os.path.join(spool, d, n), seen, ledger)
                                 for n in left[:8])))

    res.check("every delivered file is complete (body SHA-256, our header fields)",
              not problems, "%d: %r" % (len(problems), problems[:5]))
    expected = {(i, r) for i in ledger.acked for r in ledger.rcpts[i]}
    lost = sorted(expected - set(seen))
    res.check("lost: every (id, recipient) that got a 250 is delivered (%d)" % len(expected),
              not lost, "%d lost: %r" % (len(lost), lost[:10]))
    strangers = [k for k in seen if k[0] not in ledger.rcpts or k[1] not in ledger.rcpts[k[0]]]
    res.check("nothing delivered that was not sent", not strangers, repr(strangers[:5]))
    dups = {k: n for k, n in seen.items() if n > 1}
    retry_dups = {k: n for k, n in dups.items() if k[0] in ledger.uncertain}
    delivery_dups = {k: n for k, n in dups.items() if k[0] not in ledger.uncertain}
    extra = sum(n - 1 for n in delivery_dups.values())
    print("duplicates: %d copies from client retries after a lost 250, %d from kills during "
          "delivery" % (sum(n - 1 for n in retry_dups.values()), extra))
    res.check("delivery duplicates are bounded by the kills (%d <= %d)" %
              (extra, (kills + 1) * len(RCPTS)), extra <= (kills + 1) * len(RCPTS),
              repr(sorted(delivery_dups.items())[:10]))
    tmp_left = sum(len(listdir(os.path.join(tmp, "mail", r.split("@")[1], r.split("@")[0],
                                            "tmp"))) for r in RCPTS)
    print("Maildir tmp/ files left by kills during delivery: %d" % tmp_left)
    print("%d delivered copies, %d expected from 250s; %.0f messages/s acked under kills" %
          (sum(seen.values()), len(expected), len(ledger.acked) / load_s))


if __name__ == "__main__":
    sys.exit(main())
