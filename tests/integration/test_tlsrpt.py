#!/usr/bin/python3
"""test_tlsrpt - TLS-RPT (RFC 8460) through the binary: outcomes recorded
as the delivery records them (tlsrpt_tool), `smexop tlsrpt report --queue`
committing the report mail into a spool and POSTing to a local HTTPS
server, the queued mail checked with Python's email package (RFC 8460 5.3
headers, multipart/report; report-type=tlsrpt, the application/tlsrpt+gzip
part, its file name, the gzip'ed JSON of 4.4), retries (an https:
destination that is down stays pending and the next run sends it with the
same report-id, what was sent is not sent again), several records = none,
the DKIM signature of the mail (a dkim.signing item for the From domain,
keys from `smexop dkim init`) verified by `smexop dkim verify` and dkimpy,
and the mail imported back with `smexop tlsrpt import` and summarised.

    test_tlsrpt.py SMEXOP TLSRPT_TOOL
"""

import email
import email.policy
import gzip
import http.server
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
import mtasts_server  # noqa: E402
from smexoptest import Results  # noqa: E402

DAY = 86400
DAY0 = 1800000000 // DAY * DAY  # 2027-01-15T00:00:00Z
NOW = DAY0 + DAY + 3600


class _Post(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.server.posts.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()


class PostServer:
    """PostServer - HTTPS on 127.0.0.1 with the test CA's certificate, in a thread."""

    def __init__(self, certs, port=0):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Post)
        self.srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs.tmp, "good.pem"),
                            os.path.join(certs.tmp, "good.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.srv.posts = []
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def spool_messages(spool):
    """spool_messages - {id: (envelope text, message bytes)} of queue/."""
    q = os.path.join(spool, "queue")
    out = {}
    if not os.path.isdir(q):
        return out
    for f in sorted(os.listdir(q)):
        if f.endswith(".env"):
            sid = f[:-4]
            with open(os.path.join(q, f)) as e, open(os.path.join(q, sid), "rb") as d:
                out[sid] = (e.read(), d.read())
    return out


def check_mail(res, name, raw, domain):
    """check_mail - the RFC 8460 5.3 form of one queued report mail; its JSON."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    res.check(name + ": multipart/report", msg.get_content_type() == "multipart/report")
    res.check(name + ": report-type=tlsrpt", msg.get_param("report-type") == "tlsrpt",
              str(msg.get_param("report-type")))
    res.check(name + ": TLS-Report-Domain", msg["TLS-Report-Domain"] == domain,
              str(msg["TLS-Report-Domain"]))
    res.check(name + ": TLS-Report-Submitter",
              msg["TLS-Report-Submitter"] == "sender.example", str(msg["TLS-Report-Submitter"]))
    subj = " ".join(str(msg["Subject"]).split())
    m = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <(\S+@\S+)>", subj)
    res.check(name + ": Subject", m is not None and m.group(1) == domain and
              m.group(2) == "sender.example", subj)
    res.check(name + ": From", "tlsrpt@sender.example" in str(msg["From"]), str(msg["From"]))
    parts = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
    res.check(name + ": one application/tlsrpt+gzip part", len(parts) == 1)
    if not parts:
        return None, None
    fn = parts[0].get_filename() or ""
    fm = re.fullmatch(r"sender\.example!%s!(\d+)!(\d+)!([A-Za-z0-9]+)\.json\.gz"
                      % re.escape(domain), fn)
    res.check(name + ": file name (5.1)", fm is not None and int(fm.group(1)) == DAY0 and
              int(fm.group(2)) == DAY0 + DAY - 1, fn)
    try:
        report = json.loads(gzip.decompress(parts[0].get_payload(decode=True)))
    except Exception as e:  # noqa: BLE001
        res.check(name + ": gzip'ed JSON", False, str(e))
        return None, None
    res.check(name + ": gzip'ed JSON", True)
    res.check(name + ": report-id = Subject's", m is not None and
              report.get("report-id") == m.group(3))
    texts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    res.check(name + ": a text/plain part", len(texts) == 1)
    return report, msg


def zone_txt(zone_path, name):
    """zone_txt - the TXT data of name in the zone file (strings joined)."""
    with open(zone_path) as f:
        for line in f:
            if line.split() and line.split()[0].rstrip(".") == name and " TXT " in line:
                return "".join(re.findall(r'"([^"]*)"', line)).encode()
    return None


def check_dkim(res, smexop, zone, path, raw):
    """check_dkim - the report mail's DKIM signature: ours and dkimpy's verdicts."""
    msg = email.message_from_bytes(raw)
    sig = msg.get("DKIM-Signature", "")
    res.check("DKIM-Signature d=sender.example", "d=sender.example" in sig, sig[:80])
    res.check("DKIM signs TLS-Report-Domain",
              "tls-report-domain" in re.sub(r"\s", "", sig).lower(), sig)
    p = subprocess.run([smexop, "dkim", "verify", "--dns-zone", zone, path],
                       capture_output=True, text=True)
    res.check("smexop dkim verify: pass", p.stdout.startswith("pass"), p.stdout + p.stderr)
    try:
        import dkim
    except ImportError:
        return
    ok = dkim.verify(raw, dnsfunc=lambda name, timeout=5: zone_txt(zone, name.decode().rstrip(".")))
    res.check("dkimpy verify", ok)


def main():
    smexop, tool = sys.argv[1], sys.argv[2]
    res = Results()
    with tempfile.TemporaryDirectory(prefix="tlsrpt-it-") as tmp:
        certs = mtasts_server.TestCerts(tmp, ["reports.example.net", "reports.example.org"])
        web = PostServer(certs)
        web.start()
        db = os.path.join(tmp, "smexop.db")
        spool = os.path.join(tmp, "spool")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        cfg = os.path.join(tmp, "smexop.yaml")
        with open(cfg, "w") as f:
            f.write("server:\n  hostname: mx.sender.example\n"
                    "store:\n  path: %s\n"
                    "spool:\n  dir: %s\n"
                    "tls_reports:\n  enabled: true\n  org_name: Sender Inc.\n"
                    "  email: tlsrpt@sender.example\n"
                    "dkim:\n  signing:\n    - domain: sender.example\n      key_dir: %s\n"
                    % (db, spool, os.path.join(tmp, "keys")))
        p = subprocess.run([smexop, "dkim", "init", "sender.example", "-c", cfg],
                           capture_output=True, text=True)
        res.check("dkim init", p.returncode == 0, p.stderr)
        dkim_records = [x for x in p.stdout.splitlines()
                        if " IN TXT (" in x and not x.startswith(";")]
        zone = os.path.join(tmp, "test.zone")
        down_port = mtasts_server.free_port()  # nothing listens there
        with open(zone, "w") as f:
            f.write("$TTL 300\n"
                    '_smtp._tls.example.net. IN TXT "v=TLSRPTv1; rua=mailto:tls@example.net,'
                    'https://reports.example.net:%d/v1/tlsrpt"\n'
                    "reports.example.net. IN A 127.0.0.1\n"
                    '_smtp._tls.example.org. IN TXT "v=TLSRPTv1;rua=https://reports.example.org'
                    ':%d/down"\n'
                    "reports.example.org. IN A 127.0.0.1\n"
                    '_smtp._tls.two.example. IN TXT "v=TLSRPTv1; rua=mailto:a@two.example"\n'
                    '_smtp._tls.two.example. IN TXT "v=TLSRPTv1; rua=mailto:b@two.example"\n'
                    % (web.port, down_port))
            f.write("\n".join(dkim_records) + "\n")

        def record(*args):
            subprocess.run([tool, db] + [str(a) for a in args], check=True)

        # day 0: example.net with STS, TLSA and no-policy sessions
        record("example.net", "sts", "success", DAY0 + 100, 40, "mx1.example.net")
        record("example.net", "sts", "certificate-expired", DAY0 + 200, 3, "mx1.example.net",
               "198.51.100.1")
        record("example.net", "sts", "starttls-not-supported", DAY0 + 300, 2, "mx2.example.net",
               "198.51.100.2")
        record("example.net", "tlsa", "tlsa-invalid", DAY0 + 400, 1, "mx3.example.net")
        record("example.org", "none", "success", DAY0 + 500, 5)
        record("two.example", "sts", "success", DAY0 + 600, 1)
        # today: not reported before the day ends
        record("example.net", "sts", "success", NOW - 60, 7)

        base = [smexop, "tlsrpt", "report", "-c", cfg, "--dns-zone", zone, "--now", str(NOW),
                "--ca-file", certs.ca]
        # a dry run: shows and writes, marks nothing
        p = subprocess.run(base + ["--out", out, "--json"], capture_output=True, text=True)
        lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        res.check("dry run exit 0", p.returncode == 0, p.stderr)
        res.check("dry run: 3 reports", len(lines) == 3, p.stdout)
        res.check("dry run: nothing queued", spool_messages(spool) == {})
        res.check("dry run: files in --out",
                  any(n.endswith(".json.gz") for n in os.listdir(out)) and
                  any(n.endswith(".eml") for n in os.listdir(out)), str(os.listdir(out)))

        p = subprocess.run(base + ["--queue", "--json"], capture_output=True, text=True)
        res.check("report --queue exit 0", p.returncode == 0, p.stderr + p.stdout)
        runs = {x["domain"]: x for x in (json.loads(y) for y in p.stdout.splitlines())}
        res.check("three reports", sorted(runs) == ["example.net", "example.org", "two.example"],
                  p.stdout)
        net = runs.get("example.net", {})
        res.check("example.net complete", net.get("complete") is True, str(net))
        res.check("example.net: both destinations sent",
                  [d["status"] for d in net.get("destinations", [])] == ["sent", "sent"], str(net))
        org = runs.get("example.org", {})
        res.check("example.org pending (https down)", org.get("complete") is False and
                  org.get("destinations", [{}])[0].get("status") == "pending", str(org))
        two = runs.get("two.example", {})
        res.check("two records = none (RFC 8460 3)", two.get("destinations") == [] and
                  "2 TLS-RPT records" in two.get("note", ""), str(two))
        res.check("today's sessions not reported", net.get("successful") == 40, str(net))

        msgs = spool_messages(spool)
        res.check("one mail queued", len(msgs) == 1, str(list(msgs)))
        report = None
        for sid, (env, raw) in msgs.items():
            res.check("envelope: rcpt tls@example.net", "R tls@example.net" in env, env)
            res.check("envelope: sender", "S tlsrpt@sender.example" in env, env)
            res.check("envelope: outbound", "G outbound" in env, env)
            report, _ = check_mail(res, "mail", raw, "example.net")
            with open(os.path.join(tmp, "report.eml"), "wb") as f:
                f.write(raw)
            check_dkim(res, smexop, zone, os.path.join(tmp, "report.eml"), raw)
        if report is not None:
            res.check("JSON organization-name", report["organization-name"] == "Sender Inc.")
            res.check("JSON contact-info", report["contact-info"] == "tlsrpt@sender.example")
            res.check("JSON date-range", report["date-range"] == {
                "start-datetime": "2027-01-15T00:00:00Z",
                "end-datetime": "2027-01-15T23:59:59Z"}, str(report["date-range"]))
            pols = {p["policy"]["policy-type"]: p for p in report["policies"]}
            res.check("JSON policies sts and tlsa", sorted(pols) == ["sts", "tlsa"], str(pols))
            sts = pols.get("sts", {})
            res.check("JSON sts policy", sts.get("policy", {}).get("policy-string") == [
                "version: STSv1", "mode: enforce", "mx: *.example.net", "max_age: 604800"] and
                sts["policy"].get("policy-domain") == "example.net" and
                sts["policy"].get("mx-host") == "*.example.net", str(sts.get("policy")))
            res.check("JSON sts summary", sts.get("summary") == {
                "total-successful-session-count": 40, "total-failure-session-count": 5},
                str(sts.get("summary")))
            fd = {d["result-type"]: d for d in sts.get("failure-details", [])}
            res.check("JSON failure details", sorted(fd) == ["certificate-expired",
                                                            "starttls-not-supported"] and
                      fd["certificate-expired"]["failed-session-count"] == 3 and
                      fd["certificate-expired"]["receiving-mx-hostname"] == "mx1.example.net" and
                      fd["certificate-expired"]["receiving-ip"] == "198.51.100.1" and
                      fd["certificate-expired"]["sending-mta-ip"] == "192.0.2.25", str(fd))
            res.check("JSON tlsa", pols.get("tlsa", {}).get("summary", {}).get(
                "total-failure-session-count") == 1)

        # the https POST
        posts = list(web.srv.posts)
        res.check("one POST", len(posts) == 1, str([(p[0], p[1]) for p in posts]))
        if posts:
            path, ctype, body = posts[0]
            res.check("POST path", path == "/v1/tlsrpt", path)
            res.check("POST Content-Type", ctype == "application/tlsrpt+gzip", str(ctype))
            try:
                pj = json.loads(gzip.decompress(body))
            except Exception:  # noqa: BLE001
                pj = {}
            res.check("POST body = the mailed report", report is not None and pj == report)

        # second run: nothing new for example.net; example.org still pending
        p = subprocess.run(base + ["--queue", "--json"], capture_output=True, text=True)
        runs2 = {x["domain"]: x for x in (json.loads(y) for y in p.stdout.splitlines())}
        res.check("rerun: example.net done", "example.net" not in runs2, p.stdout)
        res.check("rerun: no new mail", len(spool_messages(spool)) == 1)
        org2 = runs2.get("example.org", {})
        res.check("rerun: same report-id", org2.get("report_id") == org.get("report_id") and
                  org2.get("report_id") is not None, "%s %s" % (org2, org))
        # the https destination comes up: the third run sends and completes
        web2 = PostServer(certs, down_port)
        web2.start()
        p = subprocess.run(base + ["--queue", "--json"], capture_output=True, text=True)
        runs3 = {x["domain"]: x for x in (json.loads(y) for y in p.stdout.splitlines())}
        org3 = runs3.get("example.org", {})
        res.check("retry: sent and complete", org3.get("complete") is True and
                  org3.get("report_id") == org.get("report_id"), p.stdout + p.stderr)
        res.check("retry: POST received", len(web2.srv.posts) == 1)
        if web2.srv.posts:
            j = json.loads(gzip.decompress(web2.srv.posts[0][2]))
            res.check("retry: no-policy-found report", j["policies"][0]["policy"][
                "policy-type"] == "no-policy-found" and j["report-id"] == org.get("report_id"))
        web2.stop()
        p = subprocess.run(base + ["--queue"], capture_output=True, text=True)
        res.check("fourth run: nothing left", "no TLS sessions to report" in p.stdout, p.stdout)
        # --date: today's sessions, on demand
        p = subprocess.run(base + ["--date", "2027-01-16", "--json"], capture_output=True,
                           text=True)
        today = [json.loads(y) for y in p.stdout.splitlines()]
        res.check("--date: today's report", len(today) == 1 and today[0]["successful"] == 7,
                  p.stdout + p.stderr)

        # the mail back through import and summary
        db2 = os.path.join(tmp, "owner.db")
        p = subprocess.run([smexop, "tlsrpt", "import", "--db", db2, "-c", cfg,
                            os.path.join(tmp, "report.eml")], capture_output=True, text=True)
        res.check("import the mail", p.returncode == 0 and "imported Sender Inc." in p.stdout,
                  p.stdout + p.stderr)
        p = subprocess.run([smexop, "tlsrpt", "summary", "--db", db2, "-c", cfg, "--json"],
                           capture_output=True, text=True)
        rows = [json.loads(y) for y in p.stdout.splitlines()]
        sts_row = [r for r in rows if r["group"] == "reporter" and r["policy_type"] == "sts"]
        res.check("summary sts row", len(sts_row) == 1 and sts_row[0]["successful"] == 40 and
                  sts_row[0]["failed"] == 5, p.stdout)
        fails = [r for r in rows if r["group"] == "failure"]
        res.check("summary failures", len(fails) == 3 and fails[0]["result_type"] ==
                  "certificate-expired" and fails[0]["failed"] == 3, p.stdout)
        p = subprocess.run([smexop, "tlsrpt", "report", "--date", "nope", "-c", cfg],
                           capture_output=True, text=True)
        res.check("usage error exit 2", p.returncode == 2, p.stderr)
        off = os.path.join(tmp, "off.yaml")
        with open(off, "w") as f:
            f.write("store:\n  path: %s\nspool:\n  dir: %s\n" % (db, spool))
        p = subprocess.run([smexop, "tlsrpt", "report", "-c", off, "--queue", "--now", str(NOW),
                            "--dns-zone", zone], capture_output=True, text=True)
        res.check("--queue refused while tls_reports.enabled is false",
                  p.returncode == 2 and "enabled is false" in p.stderr, p.stderr)
        web.stop()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
