#!/usr/bin/python3
"""bench - DKIM verifications per second: smexop next to OpenDKIM and dkimpy.

Four messages (5 KB and 100 KB bodies, each signed once with RSA-2048 and
once with Ed25519 by `smexop dkim sign`, relaxed/relaxed, keys from
tests/data/dkim) are verified over and over, one core each, by

  - smexop: bench_dkim, in process, keys answered from an in-memory zone
    (no resolver, no event loop: DNS is not measured; the key record is
    still decoded every time);
  - dkimpy (python3-dkim), in process, with a dnsfunc returning the record;
  - libopendkim, in process, through tests/integration/odkim with a key
    lookup callback returning the record from memory;
  - opendkim-testmsg, OpenDKIM's own tool: one process per message, keys
    from NSD on 127.0.0.155:53 through the system resolver inside
    `unshare -m` (bind-mounted resolv.conf; the real one is untouched).
    Its figure includes process start and one DNS query per message: it
    is shown for reference, the fair comparison is with libopendkim.

Rates are per CPU second of the verifying process(es), not per wall-clock
second: the machine may be shared, and the targets are per core.  Each
in-process figure is the best of --runs runs of --seconds CPU seconds.
Prints a table and the ratios.

Usage: bench.py --bench-dkim PATH --odkim PATH --smexop PATH [--seconds S] [--runs N]
"""

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import dkim  # noqa: E402

from nsd_server import NsdServer  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "dkim")
NSD_IP = "127.0.0.155"
KEYS = {"RSA-2048": ("rsa2048", "rsa2048.pem"), "Ed25519": ("ed", "ed25519.pem")}
SIZES = {"5 KB": 5 * 1024, "100 KB": 100 * 1024}


def make_message(size):
    """make_message - a plain text message with a body of about size bytes."""
    head = ("From: Alice Example <alice@example.com>\r\n"
            "To: Bob Example <bob@example.org>\r\n"
            "Cc: carol@example.org\r\n"
            "Subject: DKIM benchmark message of %d bytes\r\n"
            "Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
            "Message-ID: <bench-%d@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n" % (size, size))
    lines, n, i = [], 0, 0
    while n < size:
        line = "Line %06d: the quick brown fox jumps over the lazy dog, twice.  \r\n" % i
        lines.append(line)
        n += len(line)
        i += 1
    return (head + "".join(lines)).encode()


def zone_records():
    """zone_records - {selector: TXT data} from tests/data/dkim/keys.zone."""
    text = open(os.path.join(DATA, "keys.zone")).read()
    out = {}
    for m in re.finditer(r"^(\S+)\._domainkey IN TXT (\([^)]*\)|\"[^\"]*\")", text, re.M):
        out[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return out


def best(runs, fn):
    return max(fn() for _ in range(runs))


def rate_smexop(bench, path, seconds):
    out = subprocess.run([bench, "--zone", os.path.join(DATA, "keys.zone"), "--seconds",
                          str(seconds), path], capture_output=True, text=True, check=True).stdout
    m = re.search(r": ([0-9.]+)/s \(pass\)", out)
    if not m:
        raise RuntimeError("bench_dkim: %s" % out)
    return float(m.group(1))


def rate_dkimpy(msg, records, seconds):
    def dnsfunc(name, timeout=5):
        sel = name.decode().split(".")[0]
        return records[sel].encode()

    if not dkim.verify(msg, dnsfunc=dnsfunc):
        raise RuntimeError("dkimpy does not pass the message")
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        dkim.verify(msg, dnsfunc=dnsfunc)
        n += 1
    return n / (time.process_time() - t0)


def rate_odkim(odkim, path, keyfile, seconds):
    def run(n):
        with open(path, "rb") as f:
            out = subprocess.run([odkim, "verify", "-K", keyfile, "-n", str(n)], stdin=f,
                                 capture_output=True, text=True).stdout
        m = re.search(r"\((\d+) pass\) in ([0-9.]+) s: ([0-9.]+)/s", out)
        if not m or int(m.group(1)) != n:
            raise RuntimeError("odkim: %s" % out)
        return float(m.group(3)), float(m.group(2))

    r, t = run(20)
    return run(max(20, int(20 * seconds / max(t, 1e-6))))[0]


def rate_testmsg(path, wrap, seconds):
    """rate_testmsg - opendkim-testmsg, one process per message, per CPU second
    of those processes (their start, library set-up and DNS query included)."""
    def run(n):
        script = ('i=0; while [ $i -lt %d ]; do /usr/sbin/opendkim-testmsg < "%s" || exit 1; '
                  'i=$((i+1)); done' % (n, path))
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(wrap + ["sh", "-c", script], capture_output=True, text=True)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0 or p.stderr:
            raise RuntimeError("opendkim-testmsg: %s" % p.stderr.strip())
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        return n / max(cpu, 1e-6), cpu

    r, cpu = run(10)
    return run(max(10, min(2000, int(10 * seconds / max(cpu, 1e-3)))))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-dkim", required=True)
    ap.add_argument("--odkim")
    ap.add_argument("--smexop", required=True)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: NSD is stopped

    records = zone_records()
    tmp = tempfile.mkdtemp(prefix="smexop-bench-dkim-")
    try:
        keyfile = os.path.join(tmp, "keys.txt")
        with open(keyfile, "w") as f:
            for sel, txt in records.items():
                f.write("%s._domainkey.example.com %s\n" % (sel, txt))
        msgs = {}
        for size_name, size in SIZES.items():
            raw = make_message(size)
            for alg, (sel, pem) in KEYS.items():
                p = subprocess.run([a.smexop, "dkim", "sign", "--domain", "example.com",
                                    "--selector", sel, "--key", os.path.join(DATA, pem)],
                                   input=raw, capture_output=True, check=True)
                path = os.path.join(tmp, "%s-%s.eml" % (sel, size))
                with open(path, "wb") as f:
                    f.write(p.stdout)
                msgs[(alg, size_name)] = (path, p.stdout)

        wrap = None
        if os.geteuid() == 0 and shutil.which("unshare"):
            conf = os.path.join(tmp, "resolv.conf")
            with open(conf, "w") as f:
                f.write("nameserver %s\noptions attempts:1 timeout:2\n" % NSD_IP)
            wrap = ["unshare", "-m", "sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"', conf]
        zone = open(os.path.join(DATA, "keys.zone")).read()
        rows = []
        with NsdServer({"example.com": zone}, ip=NSD_IP, port=53) if wrap else _Null():
            for (alg, size_name), (path, raw) in msgs.items():
                r = {"case": "%s, %s" % (alg, size_name)}
                r["smexop"] = best(a.runs, lambda: rate_smexop(a.bench_dkim, path, a.seconds))
                r["dkimpy"] = best(a.runs, lambda: rate_dkimpy(raw, records, a.seconds))
                r["libopendkim"] = (best(a.runs, lambda: rate_odkim(a.odkim, path, keyfile,
                                                                   a.seconds))
                                    if a.odkim else None)
                r["testmsg"] = rate_testmsg(path, wrap, a.seconds) if wrap else None
                rows.append(r)
                print_row(r, len(rows) == 1)
                sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("verifications per CPU second (one core); smexop, dkimpy and libopendkim in process "
          "with keys from memory;\nopendkim-testmsg: one process per message, its start and a "
          "DNS query to NSD included")
    return 0


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fmt(x):
    return "%10s" % ("-" if x is None else "%.0f" % x)


def ratio(a, b):
    return "%9s" % ("-" if not a or not b else "%.1fx" % (a / b))


def print_row(r, header):
    if header:
        print("%-18s %10s %10s %10s %10s | %9s %9s %9s" % (
            "message", "smexop", "dkimpy", "libopendkim", "testmsg", "/dkimpy", "/libodkim",
            "/testmsg"))
    print("%-18s %s %s %s %s | %s %s %s" % (
        r["case"], fmt(r["smexop"]), fmt(r["dkimpy"]), fmt(r["libopendkim"]), fmt(r["testmsg"]),
        ratio(r["smexop"], r["dkimpy"]), ratio(r["smexop"], r["libopendkim"]),
        ratio(r["smexop"], r["testmsg"])))


if __name__ == "__main__":
    sys.exit(main())
