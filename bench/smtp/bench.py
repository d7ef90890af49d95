#!/usr/bin/python3
"""bench/smtp/bench.py - SMTP acceptance rate, latency and memory per idle
connection: smexop next to Postfix (relay to smtp-sink) on loopback.

Started by bench/smtp/run.sh.  What runs:

  sink      smtp-sink alone: the loopback and client ceiling
  postfix   smtp-source -> Postfix (relay) -> smtp-sink; Postfix started
            here from the peers kit's configuration (../shared/peers/conf/
            postfix), on its own ports and queue directory, unless
            --postfix HOST:PORT names a running one (the kit's 10025)
  smexop    smtp-source -> smexop serve -> smtp-sink: the whole pipeline
            (connection filter, directory, SPF, DKIM, ARC, DMARC, PTR,
            compauth) against a zone file, 250 only after the spool fsync;
            its queue manager relays to the same smtp-sink as Postfix's
            (an outbound SMTP connector), during the runs

Measures, each with the same parameters for every target:

  1. smtp-source -s S -m M -l L (one message per connection): messages per
     wall-clock second until smtp-source is done;
  2. a Python asyncio client, S sessions, M messages of about L bytes
     signed with DKIM (RSA-2048) and carrying an ARC set, one message per
     connection: rate, and the latency from the end of DATA to the 250
     (p50, p99), "added" = minus the same figure against smtp-sink alone;
  3. smexop's RSS (VmRSS) before and after opening N idle connections
     (after EHLO): KB per connection.

Prints tables; never asserts on time.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DKIM_KEY = os.path.join(ROOT, "tests", "data", "dkim", "rsa2048.pem")
DKIM_ZONE = os.path.join(ROOT, "tests", "data", "dkim", "keys.zone")

# realistic records around the DKIM keys of tests/data/dkim/keys.zone
# (example.com): SPF with an include, DMARC p=reject with reports, a
# forward-confirmed PTR for the client
ZONE_EXTRA = """
$ORIGIN example.com.
@        IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all"
_spf     IN TXT "v=spf1 ip4:127.0.0.0/8 ip6:2001:db8::/32 ~all"
_dmarc   IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com; adkim=r; aspf=r; pct=100"
client   IN A 127.0.0.1
@        IN MX 10 client
$ORIGIN 0.0.127.in-addr.arpa.
1        IN PTR client.example.com.
$ORIGIN example.org.
@        IN MX 10 mx
mx       IN A 127.0.0.1
"""

SMEXOP_CONFIG = """server:
  hostname: mx.example.org
  authserv_id: mx.example.org
log:
  level: warn
dns:
  zone_file: {tmp}/zone
  timeout: 2s
limits:
  max_connections: {maxconn}
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: none
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
outbound_connectors:
  - name: sink
    domains: ["example.org"]
    type: smtp
    smart_hosts: ["127.0.0.1:{next_port}"]
    tls: none
accepted_domains:
  - domain: example.org
    type: authoritative
directory:
  file: {tmp}/directory
connection_filter:
  max_connections_per_ip: {maxconn}
"""

SENDER = "alice@example.com"
RCPT = "bob@example.org"
HELO = "client.example.com"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_greeting(port, proc=None, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as c:
                c.settimeout(2)
                if c.recv(4).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("nothing greets on port %d" % port)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


# ---- the targets ---------------------------------------------------------


class Sink:
    def __init__(self, tmp):
        self.port = free_port()
        self.log = open(os.path.join(tmp, "sink-%d.log" % self.port), "wb")
        self.proc = subprocess.Popen(["smtp-sink", "-u", "postfix", "127.0.0.1:%d" % self.port,
                                      "1024"], stdout=self.log, stderr=self.log)
        wait_greeting(self.port, self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


class Postfix:
    """Postfix - a private instance from the peers kit's main.cf/master.cf"""

    def __init__(self, tmp, kit, sink_port):
        self.port = free_port()
        self.conf = os.path.join(tmp, "postfix-conf")
        self.queue = "/var/spool/postfix-smexop-bench"
        os.makedirs(self.conf)
        os.makedirs(os.path.join(tmp, "log"), exist_ok=True)
        with open(os.path.join(kit, "conf", "postfix", "main.cf")) as f:
            main = f.read().replace("@RUN@", tmp)
        main = main.replace("/var/spool/postfix-peerbench", self.queue)
        main = main.replace("/var/lib/postfix-peerbench", "/var/lib/postfix-smexop-bench")
        main = main.replace("[127.0.0.1]:10026", "[127.0.0.1]:%d" % sink_port)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(kit, "conf", "postfix", "master.cf")) as f:
            master = f.read().replace("127.0.0.1:10025 ", "127.0.0.1:%d " % self.port)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)
        os.makedirs(self.queue, exist_ok=True)
        os.makedirs("/var/lib/postfix-smexop-bench", exist_ok=True)
        shutil.chown("/var/lib/postfix-smexop-bench", "postfix")
        logf = os.path.join(tmp, "log", "postfix.log")
        open(logf, "a").close()
        os.chmod(logf, 0o644)
        self.run(["set-permissions"], check=False)
        self.run(["check"])
        self.run(["start"])
        wait_greeting(self.port)

    def run(self, args, check=True):
        p = subprocess.run(["postfix", "-c", self.conf] + args, capture_output=True)
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: %s" % (args, p.stderr.decode()))

    def pids(self):
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        try:
            master = int(open(pidfile).read().split()[0])
        except (OSError, ValueError):
            return []
        return [master] + children(master)

    def stop(self):
        self.run(["stop"], check=False)
        shutil.rmtree(self.queue, ignore_errors=True)
        shutil.rmtree("/var/lib/postfix-smexop-bench", ignore_errors=True)


class Smexop:
    def __init__(self, smexop, tmp, maxconn, next_port):
        self.smexop, self.tmp = smexop, tmp
        self.port = free_port()
        with open(os.path.join(tmp, "zone"), "w") as f:
            f.write(open(DKIM_ZONE).read() + ZONE_EXTRA)
        with open(os.path.join(tmp, "directory"), "w") as f:
            f.write(RCPT + "\n")
        self.cfg = os.path.join(tmp, "smexop.yaml")
        with open(self.cfg, "w") as f:
            f.write(SMEXOP_CONFIG.format(tmp=tmp, port=self.port, maxconn=maxconn,
                                         next_port=next_port))
        self.log = open(os.path.join(tmp, "serve.log"), "ab")
        self.proc = subprocess.Popen([smexop, "serve", "-c", self.cfg], stdout=self.log,
                                     stderr=self.log)
        wait_greeting(self.port, self.proc)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def children(parent):
    """children - the pids whose parent is parent"""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def cpu_seconds(pids):
    t = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                v = f.read().rsplit(")", 1)[1].split()
            t += int(v[11]) + int(v[12])
        except (OSError, ValueError, IndexError):
            pass
    return t / os.sysconf("SC_CLK_TCK")


# ---- load ----------------------------------------------------------------


def smtp_source(port, sessions, messages, length, seconds):
    t0 = time.time()
    p = subprocess.run(["timeout", str(seconds), "smtp-source", "-s", str(sessions), "-m",
                        str(messages), "-l", str(length), "-f", SENDER, "-t", RCPT, "-M", HELO,
                        "127.0.0.1:%d" % port], capture_output=True)
    dt = time.time() - t0
    err = p.stderr.decode("utf-8", "replace").strip()
    return {"ok": p.returncode == 0, "seconds": dt, "rate": messages / dt if p.returncode == 0
            else 0.0, "error": err[-300:]}


def make_message(smexop, tmp, length):
    """make_message - about length bytes, DKIM-signed (RSA-2048), one ARC set"""
    body = "".join("line %05d of the benchmark message, some text to canonicalise.\r\n" % i
                   for i in range(length // 66 + 1))
    msg = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: bench\r\n"
           "Date: Sun, 29 Nov 2026 01:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n%s" % (SENDER, RCPT, body))
    p = subprocess.run([smexop, "dkim", "sign", "--domain", "example.com", "--selector",
                        "rsa2048", "--key", DKIM_KEY], input=msg.encode(), capture_output=True,
                       check=True)
    signed = p.stdout
    p = subprocess.run([smexop, "arc", "sign", "--domain", "example.com", "--selector",
                        "rsa2048", "--key", DKIM_KEY, "--authserv-id", "fwd.example.com",
                        "--cv", "none", "--dns-zone", os.path.join(tmp, "zone")],
                       input=signed, capture_output=True)
    if p.returncode == 0 and p.stdout.startswith(b"ARC-"):
        signed = p.stdout
    else:
        print("(ARC sealing failed, DKIM only: %s)" % p.stderr.decode().strip()[:200])
    return signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def one(port, data, lat, errors):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        errors.append(str(e))
        return

    async def reply():
        while True:
            line = await r.readline()
            if not line:
                raise ConnectionError("closed")
            if line[3:4] != b"-":
                return int(line[:3])

    try:
        if await reply() != 220:
            raise ConnectionError("greeting")
        for cmd, want in ((b"EHLO " + HELO.encode(), 250), (b"MAIL FROM:<%s>" % SENDER.encode(),
                                                             250),
                          (b"RCPT TO:<%s>" % RCPT.encode(), 250), (b"DATA", 354)):
            w.write(cmd + b"\r\n")
            code = await reply()
            if code != want:
                raise ConnectionError("%s: %d" % (cmd.split()[0].decode(), code))
        w.write(data + b".\r\n")
        t = time.perf_counter()
        await w.drain()
        code = await reply()
        dt = time.perf_counter() - t
        if code != 250:
            raise ConnectionError("end of data: %d" % code)
        lat.append(dt)
        w.write(b"QUIT\r\n")
        await reply()
    except (OSError, ConnectionError, ValueError) as e:
        errors.append(str(e))
    finally:
        w.close()


async def drive(port, data, sessions, messages, seconds):
    lat, errors = [], []
    left = [messages]
    deadline = time.time() + seconds

    async def worker():
        while left[0] > 0 and time.time() < deadline:
            left[0] -= 1
            await one(port, data, lat, errors)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    return lat, errors, time.perf_counter() - t0


def latency_run(port, data, sessions, messages, seconds):
    # a few unmeasured first, so connections, caches and the zone are warm
    asyncio.run(drive(port, data, sessions, min(50, messages), seconds))
    lat, errors, dt = asyncio.run(drive(port, data, sessions, messages, seconds))
    return {"n": len(lat), "errors": len(errors), "first_error": errors[0] if errors else "",
            "rate": len(lat) / dt if dt else 0.0, "p50_ms": pct(lat, 50) * 1000,
            "p99_ms": pct(lat, 99) * 1000}


async def hold_idle(port, n, ready):
    conns = []

    async def open_one():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        line = await r.readline()
        if not line.startswith(b"220"):
            raise ConnectionError("greeting %r" % line[:40])
        w.write(b"EHLO " + HELO.encode() + b"\r\n")
        while True:
            line = await r.readline()
            if not line or line[3:4] != b"-":
                break
        if not line.startswith(b"250"):
            raise ConnectionError("EHLO %r" % line[:40])
        conns.append(w)

    opened = errors = 0
    for i in range(0, n, 250):
        res = await asyncio.gather(*(open_one() for _ in range(min(250, n - i))),
                                   return_exceptions=True)
        for x in res:
            if isinstance(x, BaseException):
                errors += 1
            else:
                opened += 1
    await ready(opened, errors)
    for w in conns:
        w.close()
    return opened, errors


def memory_run(srv, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    out = {}
    time.sleep(1)
    out["before_kb"] = srv.rss_kb()

    async def ready(opened, errors):
        await asyncio.sleep(2)
        out["after_kb"] = srv.rss_kb()
        out["opened"], out["errors"] = opened, errors

    asyncio.run(hold_idle(srv.port, n, ready))
    out["kb_per_conn"] = ((out["after_kb"] - out["before_kb"]) / out["opened"]
                          if out.get("opened") else float("nan"))
    return out


# ---- main ----------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smexop", required=True)
    ap.add_argument("--kit", default=os.path.normpath(os.path.join(ROOT, "..", "shared",
                                                                   "peers")))
    ap.add_argument("--postfix", help="HOST:PORT of a running Postfix relay (the kit's)")
    ap.add_argument("-s", "--sessions", type=int, default=8)
    ap.add_argument("-m", "--messages", type=int, default=2000)
    ap.add_argument("-l", "--length", type=int, default=5000)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=90, help="cap on each load run")
    ap.add_argument("--json", help="append the figures to this file")
    a = ap.parse_args()

    res = {"params": {"sessions": a.sessions, "messages": a.messages, "length": a.length}}
    # under /var: Postfix only logs to a maillog_file there (maillog_file_prefixes)
    tmp = tempfile.mkdtemp(prefix="smexop-bench-smtp-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    started = []
    try:
        sink = Sink(tmp)
        started.append(sink)
        psink = Sink(tmp)  # Postfix's next hop
        started.append(psink)
        pf_pids = lambda: []  # noqa: E731
        if a.postfix:
            pf_port = int(a.postfix.rsplit(":", 1)[1])
            print("postfix: the running relay at %s" % a.postfix)
        elif shutil.which("postfix") and os.path.isdir(os.path.join(a.kit, "conf", "postfix")):
            pf = Postfix(tmp, a.kit, psink.port)
            started.append(pf)
            pf_port, pf_pids = pf.port, pf.pids
            print("postfix: a private instance from %s/conf/postfix on port %d, relay to "
                  "smtp-sink on %d" % (a.kit, pf_port, psink.port))
        else:
            pf_port = None
            print("postfix: not installed (apt-get install postfix), its column is left out")
        srv = Smexop(a.smexop, tmp, max(1000, a.idle + 100), psink.port)
        started.append(srv)
        data = make_message(a.smexop, tmp, a.length)
        print("message for the latency runs: %d bytes, DKIM-signed%s" % (
            len(data), ", ARC-sealed" if data.startswith(b"ARC-") else ""))

        targets = [("sink", sink.port, lambda: [sink.proc.pid])]
        if pf_port:
            targets.append(("postfix", pf_port, pf_pids))
        # serve and its children (the queue manager), as Postfix's processes
        targets.append(("smexop", srv.port, lambda: [srv.proc.pid] + children(srv.proc.pid)))
        for name, port, pids in targets:
            c0 = cpu_seconds(pids())
            r = smtp_source(port, a.sessions, a.messages, a.length, a.seconds)
            r["cpu_s"] = cpu_seconds(pids()) - c0
            res.setdefault("source", {})[name] = r
            print("smtp-source -> %-8s %8.0f msg/s  (%.1f s, %.1f CPU s)%s" % (
                name, r["rate"], r["seconds"], r["cpu_s"], "" if r["ok"] else
                "  FAILED: " + r["error"]))
            time.sleep(1)
        for name, port, _ in targets:
            r = latency_run(port, data, a.sessions, a.messages, a.seconds)
            res.setdefault("latency", {})[name] = r
            print("client       -> %-8s %8.0f msg/s  p50 %.2f ms  p99 %.2f ms  (%d ok, %d "
                  "errors%s)" % (name, r["rate"], r["p50_ms"], r["p99_ms"], r["n"], r["errors"],
                                 (": " + r["first_error"]) if r["errors"] else ""))
            time.sleep(1)
        # what is still queued: the figures are of relayed mail
        res["smexop_queued_after"] = len([f for f in os.listdir(os.path.join(tmp, "spool",
                                                                              "queue"))
                                          if f.endswith(".env")])
        print("smexop: %d messages still queued after the runs" % res["smexop_queued_after"])
        m = memory_run(srv, a.idle)
        res["memory"] = m
        print("smexop idle connections: %d open (%d refused), RSS %d KB -> %d KB: %.1f KB each"
              % (m.get("opened", 0), m.get("errors", 0), m["before_kb"], m.get("after_kb", 0),
                 m["kb_per_conn"]))
    finally:
        for s in reversed(started):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print("stopping %s: %s" % (type(s).__name__, e))
        shutil.rmtree(tmp, ignore_errors=True)

    table(res)
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(res) + "\n")
    return 0


def table(res):
    p = res["params"]
    src, lat = res.get("source", {}), res.get("latency", {})
    print()
    print("smtp-source -s %d -m %d -l %d, one message per connection; latency: end of DATA to "
          "250" % (p["sessions"], p["messages"], p["length"]))
    print("%-10s %12s %12s %10s %10s %12s %12s" % ("target", "source msg/s", "client msg/s",
                                                 "p50 ms", "p99 ms", "added p50", "added p99"))
    base = lat.get("sink", {})
    for name in ("sink", "postfix", "smexop"):
        if name not in src:
            continue
        s, l = src[name], lat.get(name, {})
        print("%-10s %12.0f %12.0f %10.2f %10.2f %12.2f %12.2f" % (
            name, s["rate"], l.get("rate", 0), l.get("p50_ms", 0), l.get("p99_ms", 0),
            l.get("p50_ms", 0) - base.get("p50_ms", 0), l.get("p99_ms", 0) - base.get("p99_ms", 0)))
    if "postfix" in src and src["postfix"]["rate"]:
        print("smexop / postfix: %.2fx (smtp-source), %.2fx (client); p50 %.1fx, p99 %.1fx" % (
            src["smexop"]["rate"] / src["postfix"]["rate"],
            lat["smexop"]["rate"] / lat["postfix"]["rate"] if lat["postfix"]["rate"] else 0,
            lat["smexop"]["p50_ms"] / lat["postfix"]["p50_ms"],
            lat["smexop"]["p99_ms"] / lat["postfix"]["p99_ms"]))
    m = res.get("memory", {})
    if m:
        print("smexop memory per idle connection (after EHLO): %.1f KB over %d connections "
              "(target: under 64 KB)" % (m["kb_per_conn"], m.get("opened", 0)))


if __name__ == "__main__":
    sys.exit(main())
