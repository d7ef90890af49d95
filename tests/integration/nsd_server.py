"""nsd_server - run a throw-away NSD authoritative server on loopback.

Used by the integration tests (test_spf_nsd.py) and by the SPF benchmark
(bench/spf): the caller hands in zone texts, gets a server on a free
loopback port, and the server is always stopped when the `with` block ends.
Everything (config, zones, pid and log files) lives in a temporary
directory; nothing outside it is touched.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

NSD = "/usr/sbin/nsd"
NSD_CHECKCONF = "/usr/sbin/nsd-checkconf"


def free_port(ip="127.0.0.1"):
    """free_port - a port free for both UDP and TCP on ip (best effort)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((ip, 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind((ip, port))
            except OSError:
                continue
            finally:
                u.close()
            return port
        finally:
            t.close()
    raise RuntimeError("no free port on %s" % ip)


class NsdServer:
    """NsdServer - NSD serving `zones` ({origin: master file text})."""

    def __init__(self, zones, ip="127.0.0.1", port=None, server_count=1):
        self.zones = zones
        self.ip = ip
        self.port = port or free_port(ip)
        self.server_count = server_count
        self.dir = None
        self.proc = None

    def _write_config(self):
        d = self.dir
        lines = [
            "server:",
            "  ip-address: %s" % self.ip,
            "  port: %d" % self.port,
            "  zonesdir: \"%s\"" % d,
            "  pidfile: \"%s/nsd.pid\"" % d,
            "  logfile: \"%s/nsd.log\"" % d,
            "  xfrdfile: \"%s/xfrd.state\"" % d,
            "  xfrdir: \"%s\"" % d,
            "  zonelistfile: \"%s/zone.list\"" % d,
            "  username: \"\"",
            "  chroot: \"\"",
            "  database: \"\"",
            "  server-count: %d" % self.server_count,
            "  verbosity: 1",
            "  hide-version: yes",
            "  zonefiles-write: 0",
            "remote-control:",
            "  control-enable: no",
        ]
        for i, (origin, text) in enumerate(sorted(self.zones.items())):
            fname = "zone%d.zone" % i
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
            lines += ["zone:", "  name: \"%s\"" % origin, "  zonefile: \"%s\"" % fname]
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def _answers(self, origin):
        q = dns.message.make_query(origin, dns.rdatatype.SOA)
        try:
            r = dns.query.udp(q, self.ip, port=self.port, timeout=0.3)
        except (OSError, dns.exception.Timeout):
            return False
        return r.rcode() == dns.rcode.NOERROR and len(r.answer) > 0

    def start(self, wait=20.0):
        """start - launch NSD and wait until every zone answers its SOA."""
        self.dir = tempfile.mkdtemp(prefix="smexop-nsd-")
        conf = self._write_config()
        chk = subprocess.run([NSD_CHECKCONF, conf], capture_output=True, text=True)
        if chk.returncode != 0:
            raise RuntimeError("nsd-checkconf failed: %s%s" % (chk.stdout, chk.stderr))
        self.proc = subprocess.Popen([NSD, "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        pending = list(self.zones)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited with %d: %s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise RuntimeError("nsd did not answer for %s: %s" % (pending[0], self.log()))
            if self._answers(pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.05)
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        """stop - terminate NSD (kill if it lingers) and remove its files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False


def zone_text(origin, records, ns_ip="127.0.0.1"):
    """zone_text - a master file for origin with SOA, NS and records (lines)."""
    head = [
        "$ORIGIN %s." % origin,
        "$TTL 300",
        "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300" % (origin, origin),
        "@ IN NS ns.%s." % origin,
        "ns IN A %s" % ns_ip,
    ]
    return "\n".join(head + list(records)) + "\n"
