#!/usr/bin/python3
"""test_https - core/https (the client MTA-STS fetches and TLS-RPT posts
with) through tests/integration/https_tool.c against the local HTTPS
server of tests/conformance/mtasts_server.py.

    test_https.py HTTPS_TOOL

Every error class is provoked once: a GET and a POST that work, a
redirect (never followed), a 404, an untrusted CA and a name mismatch
(with OpenSSL's reason), an unknown name (DNS), a closed port (connect),
a server that is not TLS, a server too slow for the deadline, and a body
above the cap, with Content-Length and chunked.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
import mtasts_server  # noqa: E402
from smexoptest import Results, free_port  # noqa: E402


def main():
    tool = sys.argv[1]
    res = Results()
    with tempfile.TemporaryDirectory(prefix="https-it-") as tmp:
        certs = mtasts_server.TestCerts(tmp, ["ok.test", "slow.test", "big.test", "moved.test",
                                              "chunked.test"],
                                        untrusted=["untrusted.test"],
                                        mismatch={"mismatch.test": "other.test"})
        sites = {
            "ok.test": {"status": 200, "content_type": "text/plain", "body": "hello\n"},
            "moved.test": {"status": 301, "location": "https://ok.test/", "body": ""},
            "slow.test": {"status": 200, "body": "late", "sleep": 3},
            "big.test": {"status": 200, "content_type": "text/plain", "body": "x" * 70000},
            "untrusted.test": {"status": 200, "body": "no"},
            "mismatch.test": {"status": 200, "body": "no"},
            "chunked.test": {"status": 200, "body": "y" * 70000, "chunked": True},
        }
        sites_path = os.path.join(tmp, "sites.json")
        with open(sites_path, "w") as f:
            json.dump(sites, f)
        zone = os.path.join(tmp, "z.zone")
        with open(zone, "w") as f:
            for h in list(sites) + ["notls.test"]:
                f.write("%s. IN A 127.0.0.1\n" % h)
            f.write("v6.test. IN AAAA ::1\n")
        web = mtasts_server.PolicyServer(certs, sites_path)
        web.start()
        smtp = mtasts_server.SmtpTlsServer(certs)  # speaks SMTP, not TLS, first
        smtp.start()

        def run(host, path="/.well-known/mta-sts.txt", port=None, *extra):
            args = [tool, "--dns-zone", zone, "--ca-file", certs.ca, "--port",
                    str(port or web.port), "--timeout", "2000"] + list(extra) + [host, path]
            p = subprocess.run(args, capture_output=True, text=True, timeout=60)
            head, _, rest = p.stdout.partition("\n")
            reason, _, body = rest.partition("\n")
            fields = dict(kv.split("=", 1) for kv in head.split(" ") if "=" in kv)
            fields["reason"] = reason[len("reason="):]
            fields["body"] = body
            fields["rc"] = p.returncode
            fields["stderr"] = p.stderr
            return fields

        try:
            r = run("ok.test")
            res.check("GET", r["rc"] == 0 and r.get("error") == "ok" and r["status"] == "200"
                      and r["body"] == "hello\n" and r["content_type"] == "text/plain", r)
            r = run("ok.test.")
            res.check("GET, trailing dot on the name", r.get("error") == "ok", r)
            r = run("ok.test", "/report", None, "--post", "application/tlsrpt+json", '{"a":1}')
            res.check("POST with a body and a content type",
                      r.get("error") == "ok" and r["body"] == 'application/tlsrpt+json\n{"a":1}', r)
            r = run("moved.test")
            res.check("3xx: not followed", r.get("error") == "status" and r["status"] == "301"
                      and "not followed" in r["reason"] and "https://ok.test/" in r["reason"], r)
            r = run("nosuch.test.example")
            res.check("unknown name: dns", r.get("error") == "dns", r)
            r = run("ok.test", "/x")
            res.check("404: status", r.get("error") == "status" and r["status"] == "404", r)
            r = run("untrusted.test")
            res.check("untrusted CA: certificate", r.get("error") == "certificate"
                      and "unable to get local issuer certificate" in r["reason"], r)
            r = run("mismatch.test")
            res.check("name mismatch: certificate", r.get("error") == "certificate"
                      and "hostname mismatch" in r["reason"], r)
            r = run("ok.test", "/", free_port())
            res.check("closed port: connect", r.get("error") == "connect"
                      and "refused" in r["reason"].lower(), r)
            r = run("notls.test", "/", smtp.port)
            res.check("not a TLS server: tls", r.get("error") == "tls", r)
            r = run("slow.test")
            res.check("deadline: timeout", r.get("error") == "timeout", r)
            r = run("big.test", "/.well-known/mta-sts.txt", None, "--max-body", "65536")
            res.check("body above the cap (Content-Length): too-large",
                      r.get("error") == "too-large", r)
            r = run("chunked.test", "/.well-known/mta-sts.txt", None, "--max-body", "65536")
            res.check("body above the cap (chunked): too-large", r.get("error") == "too-large", r)
            r = run("big.test", "/.well-known/mta-sts.txt", None, "--max-body", "70000")
            res.check("body at the cap", r.get("error") == "ok" and len(r["body"]) == 70000, r)
        finally:
            web.stop()
            smtp.stop()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
