"""smexoptest - what the integration tests (and bench/spf) share.

The scripts in this directory start real servers on free loopback ports,
run the smexop binary against them and print `N passed, N failed`.  This
module holds the pieces they all need: a free port, polling until
something is true, the pass/fail tally, ../shared/tools/testdns.py
started on a zone, `smexop serve` started on a configuration (written
here when asked), waited for and stopped, its log read back, and pyspf's
DNS pointed at one test server.  Standard library only, so every test can
import it (pyspf and dnspython are imported when used).

Import it with the script's own directory on sys.path (the default when
a script here is run); bench/spf/bench.py adds ../../tests/integration.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("SMEXOP_SHARED") or os.path.join(SOURCE_ROOT, "..", "shared")
TESTDNS = os.path.join(SHARED, "tools", "testdns.py")


def free_port():
    """free_port - a port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def wait_for(pred, seconds=10):
    """wait_for - pred()'s first true value within seconds, else its last value."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


class Results:
    """Results - the pass/fail tally; verbose prints a line for passes too."""

    def __init__(self, verbose=True):
        self.passed = self.failed = 0
        self.verbose = verbose

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s %s" % (name, detail))

    def summary(self):
        """summary - print `N passed, N failed`; the exit code, 1 on any failure."""
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def stop(proc, sig=signal.SIGTERM, timeout=20):
    """stop - signal proc if it still runs, wait, kill it after timeout; its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def start_testdns(zone_path):
    """start_testdns - testdns.py serving zone_path on a free port; (process, port)."""
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(["/usr/bin/python3", TESTDNS, zone_path, str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if line.strip() == "ready":
            return proc, port
        proc.kill()
        proc.wait()
    raise RuntimeError("testdns.py did not start: %s" % proc.stderr.read())


def stop_testdns(proc):
    """stop_testdns - end a server from start_testdns."""
    stop(proc, timeout=5)


@contextlib.contextmanager
def testdns(zone, tmp):
    """testdns - with testdns(ZONE, tmp) as port: the zone (a dict, written as
    tmp/zone.json) served by testdns.py on 127.0.0.1:port for the block."""
    zone_path = os.path.join(tmp, "zone.json")
    with open(zone_path, "w") as f:
        json.dump(zone, f)
    proc, port = start_testdns(zone_path)
    try:
        yield port
    finally:
        stop_testdns(proc)


def start_serve(smexop, cfg, log, cwd=None):
    """start_serve - `smexop serve -c cfg` writing to the open file log; the process."""
    return subprocess.Popen([smexop, "serve", "-c", cfg], cwd=cwd, stdout=log, stderr=log)


def wait_listening(proc, port, seconds=15):
    """wait_listening - True once 127.0.0.1:port accepts, False when proc exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def serve_log(tmp):
    """serve_log - the text of tmp/serve.log, where Serve writes, undecodable bytes replaced."""
    with open(os.path.join(tmp, "serve.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def sanitizer_report(text):
    """sanitizer_report - True when text (a log) holds an ASan, LSan or UBSan report."""
    return re.search(r"runtime error:|AddressSanitizer|LeakSanitizer", text) is not None


class Serve:
    """Serve - `smexop serve -c cfg` with its output appended to tmp/serve.log.

    up says whether it listened on 127.0.0.1:port in time; stop() ends it
    (once; later calls give the same exit code), and so does the end of a
    `with Serve(...) as srv:` block."""

    def __init__(self, smexop, cfg, port, tmp, cwd=None, log_mode="ab"):
        self.cfg, self.port, self.rc = cfg, port, None
        self.log = open(os.path.join(tmp, "serve.log"), log_mode)
        self.proc = start_serve(smexop, cfg, self.log, cwd=cwd)
        self.up = wait_listening(self.proc, port)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """stop - signal it, wait (kill after timeout), close the log; the exit code."""
        if not self.log.closed:
            self.rc = stop(self.proc, sig, timeout)
            self.log.close()
        return self.rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ConfigServe(Serve):
    """ConfigServe - Serve on a free port with its configuration written first:
    text.format(tmp=, port=, **values) to tmp/name (name may hold %d for the
    port).  write() writes it again with values changed (for a SIGHUP).
    RuntimeError, the server stopped, when it does not listen."""

    def __init__(self, smexop, tmp, text, values=None, name="smexop-%d.yaml"):
        self.smexop, self.tmp, self.text = smexop, tmp, text
        self.values = dict(values or {})
        port = free_port()
        cfg = os.path.join(tmp, name % port if "%d" in name else name)
        self.cfg, self.port = cfg, port
        self.write()
        super().__init__(smexop, cfg, port, tmp)
        if not self.up:
            rc = self.proc.poll()
            self.stop()
            if rc is not None:
                raise RuntimeError("smexop serve exited with %d (see serve.log)" % rc)
            raise RuntimeError("smexop serve did not listen (see serve.log)")

    def write(self, **values):
        """write - the configuration again, with values changed."""
        self.values.update(values)
        with open(self.cfg, "w") as f:
            f.write(self.text.format(tmp=self.tmp, port=self.port, **self.values))


def pyspf_use_server(port, ip="127.0.0.1", cache=False):
    """pyspf_use_server - send every pyspf query to the DNS server at ip:port
    through one dnspython Resolver (with its cache when asked)."""
    import dns.exception
    import dns.resolver
    import spf

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [ip]
    res.port = port
    res.timeout = 2.0
    res.lifetime = 2.0
    if cache:
        res.cache = dns.resolver.Cache()

    def lookup(name, qtype, tcpfallback=True, timeout=30):
        out = []
        try:
            for rdata in res.resolve(name, qtype, raise_on_no_answer=True, search=False):
                if qtype in ("A", "AAAA"):
                    out.append(((name, qtype), rdata.address))
                elif qtype == "MX":
                    out.append(((name, qtype), (rdata.preference, rdata.exchange)))
                elif qtype == "PTR":
                    out.append(((name, qtype), rdata.target.to_text(True)))
                elif qtype in ("TXT", "SPF"):
                    out.append(((name, qtype), list(rdata.strings)))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            pass
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
            raise spf.TempError("DNS " + str(e))
        return out

    spf.DNSLookup = lookup
