#!/usr/bin/python3
"""bench/delivery - delivery rate from a full queue to a local TLS sink

  postfix   N messages held in a private Postfix's queue (defer_transports),
            released at once: relayhost = the sink, smtp_tls_security_level
            = encrypt; timed until the queue is empty
  smexop    the same N messages in smexop's queue, deferred while the
            sink's port was closed, released at once (`smexop queue retry
            --all`, as `postqueue -f`) to the queue manager of a running
            `smexop serve` whose outbound connector is the sink with
            tls: required; timed until the sink has them all

The sink is the same for both: tests/integration/smtp_test_server (our
SMTP server engine with hooks that accept everything) with STARTTLS and a
test certificate, writing each message under /dev/shm so the sink's disk
does not take part.  Prints the rates and their ratio; never asserts on
time.  Run by bench/delivery/run.sh (and `make bench`).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "smtp"))
import bench as smtpbench  # noqa: E402  (free_port, wait_greeting, Postfix, cpu_seconds)

SENDER = "alice@example.com"
RCPT = "bob@example.org"


def make_cert(tmp):
    key, crt = os.path.join(tmp, "sink.key"), os.path.join(tmp, "sink.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=sink.example.org"],
                   check=True, capture_output=True)
    return crt, key


class TlsSink:
    """TlsSink - smtp_test_server with STARTTLS, messages under /dev/shm"""

    def __init__(self, exe, tmp, crt, key, port=None):
        self.dir = tempfile.mkdtemp(prefix="smexop-bench-sink-", dir="/dev/shm")
        ports = os.path.join(tmp, "sink-%s.ports" % (port or "any"))
        self.log = open(os.path.join(tmp, "sink.log"), "ab")
        args = [exe, "--dir", self.dir, "--ports", ports, "--cert", crt, "--key", key,
                "--per-ip", "1000"]
        if port:
            args += ["--port", str(port)]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline and not os.path.exists(ports):
            time.sleep(0.05)
        self.port = int(open(ports).read().split()[0])
        smtpbench.wait_greeting(self.port, self.proc)

    def count(self):
        return len(glob.glob(os.path.join(self.dir, "*.eml")))

    def clear(self):
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def count_files(top):
    n = 0
    for _, _, files in os.walk(top):
        n += len(files)
    return n


def wait_for(cond, seconds, step=0.02):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def run_postfix(tmp, kit, sink, n, length, seconds):
    pf = smtpbench.Postfix(tmp, kit, sink.port)
    try:
        def postconf(*settings):
            subprocess.run(["postconf", "-c", pf.conf, "-e"] + list(settings), check=True)
            pf.run(["reload"])
            time.sleep(1)

        postconf("defer_transports = smtp", "smtp_tls_security_level = encrypt")
        r = smtpbench.smtp_source(pf.port, 8, n, length, seconds)
        if not r["ok"]:
            return {"error": "smtp-source: " + r["error"]}
        deferred = os.path.join(pf.queue, "deferred")
        if not wait_for(lambda: count_files(deferred) >= n, seconds, 0.2):
            return {"error": "only %d of %d messages reached Postfix's deferred queue"
                    % (count_files(deferred), n)}
        sink.clear()
        postconf("defer_transports =")
        c0 = smtpbench.cpu_seconds(pf.pids())
        t0 = time.time()
        subprocess.run(["postqueue", "-c", pf.conf, "-f"], check=True)
        done = wait_for(lambda: sink.count() >= n, seconds)
        dt = time.time() - t0
        cpu = smtpbench.cpu_seconds(pf.pids()) - c0
        return {"delivered": sink.count(), "seconds": dt, "rate": sink.count() / dt,
                "cpu_s": cpu, "complete": done}
    finally:
        pf.stop()


SMEXOP_CONFIG = """server:
  hostname: mx.example.org
  authserv_id: mx.example.org
log:
  level: warn
dns:
  zone_file: {tmp}/zone
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: none
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
accepted_domains:
  - domain: example.org
    type: authoritative
directory:
  file: {tmp}/directory
connection_filter:
  max_connections_per_ip: 1000
outbound_connectors:
  - name: sink
    domains: ["example.org"]
    type: smtp
    smart_hosts: ["127.0.0.1:{sink_port}"]
    tls: required
"""

ZONE = """$ORIGIN example.com.
$TTL 300
@        IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc   IN TXT "v=DMARC1; p=none"
$ORIGIN 0.0.127.in-addr.arpa.
1        IN PTR client.example.com.
$ORIGIN client.example.com.
@        IN A 127.0.0.1
"""


def run_smexop(exe, sink_exe, tmp, crt, key, n, length, seconds):
    """run_smexop - fill the queue while the sink's port is closed (every
    entry deferred, the destination resting), start the sink on that port,
    then `smexop queue retry --all` and time the drain"""
    port, sink_port = smtpbench.free_port(), smtpbench.free_port()
    for d in ("state", "spool"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    with open(os.path.join(tmp, "zone"), "w") as f:
        f.write(ZONE)
    with open(os.path.join(tmp, "directory"), "w") as f:
        f.write(RCPT + "\n")
    cfg = os.path.join(tmp, "smexop.yaml")
    with open(cfg, "w") as f:
        f.write(SMEXOP_CONFIG.format(tmp=tmp, port=port, sink_port=sink_port))
    queue = os.path.join(tmp, "spool", "queue")
    log = open(os.path.join(tmp, "serve.log"), "ab")
    proc = subprocess.Popen([exe, "serve", "-c", cfg], stdout=log, stderr=log)
    sink = None
    try:
        smtpbench.wait_greeting(port, proc)
        r = smtpbench.smtp_source(port, 8, n, length, seconds)
        if not r["ok"]:
            return {"error": "smtp-source: " + r["error"]}
        envs = lambda: len(glob.glob(os.path.join(queue, "*.env")))  # noqa: E731
        if not wait_for(lambda: envs() >= n, 30, 0.1):
            return {"error": "only %d of %d entries in the queue" % (envs(), n)}
        time.sleep(1)  # the queue manager's first attempts find the port closed
        sink = TlsSink(sink_exe, tmp, crt, key, sink_port)
        pids = smexop_pids(proc.pid)
        c0 = smtpbench.cpu_seconds(pids)
        t0 = time.time()
        p = subprocess.run([exe, "queue", "retry", "--all", "-c", cfg], capture_output=True)
        if p.returncode != 0:
            return {"error": "smexop queue retry --all: " + p.stderr.decode()[-300:]}
        done = wait_for(lambda: sink.count() >= n, seconds)
        dt = time.time() - t0
        cpu = smtpbench.cpu_seconds(pids) - c0
        return {"delivered": sink.count(), "seconds": dt, "rate": sink.count() / dt,
                "cpu_s": cpu, "complete": done}
    finally:
        proc.terminate()
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if sink is not None:
            sink.stop()


def smexop_pids(parent):
    """smexop_pids - serve and its children (the queue manager)"""
    return [parent] + smtpbench.children(parent)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smexop", required=True)
    ap.add_argument("--sink", required=True, help="tests/integration/smtp_test_server")
    ap.add_argument("--kit", default=os.path.normpath(os.path.join(ROOT, "..", "shared",
                                                                   "peers")))
    ap.add_argument("-m", "--messages", type=int, default=2000)
    ap.add_argument("-l", "--length", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=120, help="cap on each run")
    ap.add_argument("--json", help="append the figures to this file")
    ap.add_argument("--only", choices=("postfix", "smexop"), help="run one target")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="smexop-bench-delivery-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    res = {"params": {"messages": a.messages, "length": a.length}}
    sink = None
    try:
        crt, key = make_cert(tmp)
        sink = TlsSink(a.sink, tmp, crt, key)
        print("sink: smtp_test_server with STARTTLS on port %d, messages under %s"
              % (sink.port, sink.dir))
        if a.only == "smexop":
            pass
        elif shutil.which("postfix") and os.path.isdir(os.path.join(a.kit, "conf", "postfix")):
            res["postfix"] = run_postfix(os.path.join(tmp, "pf"), a.kit, sink, a.messages,
                                         a.length, a.seconds)
        else:
            print("postfix: not installed (apt-get install postfix), its row is left out")
        sink.clear()
        if a.only != "postfix":
            os.makedirs(os.path.join(tmp, "sx"))
            res["smexop"] = run_smexop(a.smexop, a.sink, os.path.join(tmp, "sx"), crt, key,
                                       a.messages, a.length, a.seconds)
    finally:
        if sink is not None:
            sink.stop()
        if os.environ.get("SMEXOP_BENCH_KEEP"):
            print("kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("%d messages of %d bytes, queued, then released at once to a STARTTLS sink"
          % (a.messages, a.length))
    print("%-8s %10s %10s %10s" % ("target", "msg/s", "seconds", "CPU s"))
    for name in ("postfix", "smexop"):
        r = res.get(name)
        if r is None:
            continue
        if "error" in r:
            print("%-8s failed: %s" % (name, r["error"]))
            continue
        print("%-8s %10.0f %10.2f %10.2f%s" % (name, r["rate"], r["seconds"], r["cpu_s"],
                                              "" if r["complete"] else "  (incomplete: %d)"
                                              % r["delivered"]))
    p, s = res.get("postfix", {}), res.get("smexop", {})
    if p.get("rate") and s.get("rate"):
        print("smexop / postfix: %.2fx" % (s["rate"] / p["rate"]))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
