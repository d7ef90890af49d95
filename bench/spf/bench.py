#!/usr/bin/python3
"""bench - SPF evaluations per second: smexop next to libspf2 and pyspf.

Generates the zones and the query set (gen.py), serves them with NSD on
port 53 of 127.0.0.153 (or of the next loopback address whose port 53 is
free: another run may hold it), and runs the same queries through
  - libspf2's spfquery in batch mode (-file), inside `unshare -m` with a
    bind-mounted resolv.conf that points at NSD (the real one is untouched);
  - pyspf (Debian python3-spf), in-process, with dnspython sent to NSD;
  - smexop's bench_spf (the async SPF engine over libunbound), one
    evaluation at a time and with many in flight.
Every tool keeps a DNS cache across queries as a real receiver would
(libspf2's cache layer, dnspython's Cache, libunbound's cache), and each
starts cold.  Prints a table of evaluations per second (wall clock) and
per CPU second of the tool's own process (NSD not counted: steadier on a
busy machine), the ratios, and how often the tools agree on each query.

Usage: bench.py --bench-spf PATH [--queries N] [--domains N] [--concurrency N]
"""

import argparse
import collections
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import spf  # noqa: E402

import gen  # noqa: E402
from nsd_server import NsdServer, zone_text  # noqa: E402
from smexoptest import pyspf_use_server  # noqa: E402

NSD_IP = "127.0.0.153"  # the first free one from here on is used
NSD_PORT = 53


def pick_ip():
    """pick_ip - a loopback address whose port 53 is free (another run may hold one)."""
    for last in range(153, 254):
        ip = "127.0.0.%d" % last
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as sk:
                    sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sk.bind((ip, NSD_PORT))
            return ip
        except OSError:
            continue
    raise RuntimeError("no loopback address with port 53 free")


def children_cpu():
    """children_cpu - CPU seconds used by waited-for child processes so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_pyspf(queries, budget):
    """run_pyspf - (evaluations/s, per CPU-s, results); stops after budget seconds."""
    pyspf_use_server(NSD_PORT, ip=NSD_IP, cache=True)
    results = []
    t0, c0 = time.perf_counter(), time.process_time()
    for ip, s, h in queries:
        results.append(spf.query(i=ip, s=s, h=h, querytime=0).check()[0])
        if time.perf_counter() - t0 > budget:
            break
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return len(results) / dt, len(results) / dc, results


def run_spfquery(qfile, n, tmp):
    """run_spfquery - (evaluations/s, results) from one batch spfquery run."""
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver %s\noptions timeout:2 attempts:1\n" % NSD_IP)
    cmd = ["unshare", "-m", "sh", "-c",
           "mount --bind %s /etc/resolv.conf && exec spfquery -file %s" % (resolv, qfile)]
    t0, c0 = time.perf_counter(), children_cpu()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    dt, dc = time.perf_counter() - t0, children_cpu() - c0
    # per query: an optional StartError..EndError block, then four lines:
    # the result ("(invalid)" for a record that fails to compile), the
    # explanation, the comment and the Received-SPF field
    lines, skip = [], False
    for line in p.stdout.splitlines():
        if line == "StartError":
            skip = True
        elif line == "EndError":
            skip = False
        elif not skip:
            lines.append(line)
    results = ["permerror" if r == "(invalid)" else r for r in lines[0::4]]
    if len(results) != n:
        raise RuntimeError("spfquery gave %d results for %d queries (exit %d): %s"
                           % (len(results), n, p.returncode, p.stderr[:300]))
    return n / dt, n / dc, results


def run_smexop(exe, qfile, n, concurrency, tmp, zone_files=None):
    """run_smexop - (evaluations/s, per CPU-s, results) from bench_spf (zone_files: no DNS)."""
    out = os.path.join(tmp, "smexop-%d.txt" % concurrency)
    if zone_files:
        where = [x for f in zone_files for x in ("--dns-zone", f)]
    else:
        where = ["--dns", "%s:%d" % (NSD_IP, NSD_PORT)]
    cmd = [exe] + where + ["--concurrency", str(concurrency), "--out", out, qfile]
    c0 = children_cpu()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    dc = children_cpu() - c0
    if p.returncode != 0:
        raise RuntimeError("bench_spf exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[:300]))
    rate = None
    for line in p.stdout.splitlines():
        if line.startswith("evaluations/s "):
            rate = float(line.split()[1])
    with open(out) as f:
        results = [line.strip() for line in f]
    if rate is None or len(results) != n:
        raise RuntimeError("bench_spf: %d results for %d queries: %s" % (len(results), n, p.stdout))
    return rate, n / dc, results


def main():
    # a TERM (meson timeout, run.sh trap) unwinds the with-block, which stops NSD
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-spf", help="path of the bench_spf program")
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--pyspf-budget", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    global NSD_IP
    NSD_IP = pick_ip()

    z, queries = gen.generate(ndomains=args.domains, nqueries=args.queries)
    zones = {o: zone_text(o, recs, ns_ip=NSD_IP) for o, recs in z.items()}
    n = len(queries)
    tmp = tempfile.mkdtemp(prefix="smexop-bench-spf-")
    qfile = os.path.join(tmp, "queries.txt")
    with open(qfile, "w") as f:
        for ip, s, h in queries:
            f.write("%s %s %s\n" % (ip, s, h))
    zone_files = []
    for origin, text in zones.items():
        zone_files.append(os.path.join(tmp, origin + ".zone"))
        with open(zone_files[-1], "w") as f:
            f.write(text)

    # Runs are interleaved (every tool once per round, best round kept) so
    # that load from other work on the machine hits every tool alike.
    tools = [("libspf2 spfquery (batch)", lambda: run_spfquery(qfile, n, tmp)),
             ("pyspf", lambda: run_pyspf(queries, args.pyspf_budget))]
    if args.bench_spf and os.access(args.bench_spf, os.X_OK):
        for c in sorted({1, args.concurrency}):
            tools.append(("smexop, %d in flight" % c,
                          lambda c=c: run_smexop(args.bench_spf, qfile, n, c, tmp)))
        tools.append(("smexop, in-memory zone *",
                      lambda: run_smexop(args.bench_spf, qfile, n, 1, tmp, zone_files)))
    else:
        print("smexop: bench_spf not built (%s)" % args.bench_spf)

    print("%d sender domains, %d queries; NSD on %s:%d; best of %d interleaved runs"
          % (args.domains, n, NSD_IP, NSD_PORT, args.runs))
    best, best_cpu, first, broken = {}, {}, {}, set()
    with NsdServer(zones, ip=NSD_IP, port=NSD_PORT):
        for _ in range(args.runs):
            for name, fn in tools:
                if name in broken:
                    continue
                try:
                    r, rc, res = fn()
                except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
                    print("%s: not measured: %s" % (name, e))
                    broken.add(name)
                    continue
                best[name] = max(best.get(name, 0.0), r)
                best_cpu[name] = max(best_cpu.get(name, 0.0), rc)
                first.setdefault(name, res)
    rows = [(name, best[name], first[name]) for name, _ in tools
            if name in best and name not in broken]

    print()
    print("%-28s %12s %14s %9s" % ("tool", "evals/s", "evals/CPU-s", "queries"))
    for name, r, res in rows:
        print("%-28s %12.0f %14.0f %9d" % (name, r, best_cpu[name], len(res)))
    rate = {name: r for name, r, _ in rows}
    lib = next((nm for nm in rate if nm.startswith("libspf2")), None)
    for name, r in rate.items():
        if name.startswith("smexop") and not name.endswith("*"):
            parts = []
            for other, label in ((lib, "libspf2"), ("pyspf" if "pyspf" in rate else None,
                                                     "pyspf")):
                if other:
                    parts.append("%.2fx %s (per CPU-s %.2fx)" % (
                        r / rate[other], label, best_cpu[name] / best_cpu[other]))
            print("%-28s %s" % (name + ":", ", ".join(parts)))

    if any(name.endswith("*") for name in rate):
        print("* not a DNS figure: the engine answered from memory (--dns-zone), no DNS\n"
              "  transport at all; shows the engine's own cost, compared with no one")

    # agreement, query by query, over what every tool evaluated
    print()
    dist = collections.Counter(rows[0][2]) if rows else {}
    print("results (%s): %s" % (rows[0][0] if rows else "-",
                                 ", ".join("%s %d" % kv for kv in sorted(dist.items()))))
    m = min(len(res) for _, _, res in rows) if rows else 0
    agree, shown = 0, 0
    for i in range(m):
        got = [res[i] for _, _, res in rows]
        if len(set(got)) == 1:
            agree += 1
        elif shown < 10:
            shown += 1
            print("disagree: %s %s %s -> %s" % (queries[i] + (
                ", ".join("%s=%s" % (nm.split()[0], g) for (nm, _, _), g in zip(rows, got)),)))
    if m:
        print("agreement: %d/%d queries (%.2f%%)" % (agree, m, 100.0 * agree / m))
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
