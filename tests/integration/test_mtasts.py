#!/usr/bin/python3
"""test_mtasts - `smexop mta-sts check` against a local HTTPS policy server
and a STARTTLS SMTP server (tests/conformance/mtasts_server.py), DNS from a
zone file rewritten between runs, certificates made by openssl.

    test_mtasts.py SMEXOP

Cases: enforce (every check passes: exit 0), testing with an MX outside the
policy (exit 1), none (exit 0), a policy host with an untrusted
certificate (sts-webpki-invalid, exit 2), enforce with an MX that does not
match and one whose certificate is not trusted (exit 2); then, with a
--cache store and --now: the second run uses the cache without a request,
a new id makes it refetch, a failed fetch falls back to the unexpired
cached policy (exit 1), and once it has expired the failure stands (exit 2).
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
from smexoptest import Results  # noqa: E402

T0 = 1800000000


def policy(mode, mx, max_age=86400):
    return "version: STSv1\nmode: %s\n%smax_age: %d\n" % (
        mode, "".join("mx: %s\n" % m for m in mx), max_age)


def main():
    smexop = sys.argv[1]
    res = Results()
    with tempfile.TemporaryDirectory(prefix="mtasts-it-") as tmp:
        good = ["mta-sts.enforce.test", "mta-sts.testing.test", "mta-sts.none.test",
                "mta-sts.nomatch.test", "mta-sts.badmx.test", "mta-sts.cached.test",
                "mx.enforce.test", "mx.testing.test", "mx.none.test", "mx.nomatch.test",
                "mx1.badmx.test", "mx.cached.test"]
        certs = mtasts_server.TestCerts(tmp, good, untrusted=["mta-sts.badcert.test",
                                                              "mx2.badmx.test"])
        sites = {
            "mta-sts.enforce.test": {"body": policy("enforce", ["mx.enforce.test"])},
            "mta-sts.testing.test": {"body": policy("testing", ["other.testing.test"])},
            "mta-sts.none.test": {"body": policy("none", [])},
            "mta-sts.badcert.test": {"body": policy("enforce", ["mx.badcert.test"])},
            "mta-sts.nomatch.test": {"body": policy("enforce", ["*.elsewhere.test"])},
            "mta-sts.badmx.test": {"body": policy("enforce", ["*.badmx.test"])},
            "mta-sts.cached.test": {"body": policy("enforce", ["mx.cached.test"], 3600)},
        }
        for s in sites.values():
            s.setdefault("status", 200)
            s.setdefault("content_type", "text/plain; charset=utf-8")
        sites_path = os.path.join(tmp, "sites.json")
        zone_path = os.path.join(tmp, "test.zone")

        def write_sites():
            with open(sites_path, "w") as f:
                json.dump(sites, f)

        def write_zone(cached_id):
            lines = ["$TTL 300"]
            for d in ("enforce", "testing", "none", "badcert", "nomatch", "badmx", "cached"):
                ident = cached_id if d == "cached" else "1"
                lines.append('_mta-sts.%s.test. IN TXT "v=STSv1; id=%s"' % (d, ident))
                lines.append("mta-sts.%s.test. IN A 127.0.0.1" % d)
            for d in ("enforce", "testing", "none", "badcert", "nomatch", "cached"):
                lines.append("%s.test. IN MX 10 mx.%s.test." % (d, d))
                lines.append("mx.%s.test. IN A 127.0.0.1" % d)
            lines.append("badmx.test. IN MX 10 mx1.badmx.test.")
            lines.append("badmx.test. IN MX 20 mx2.badmx.test.")
            lines.append("mx1.badmx.test. IN A 127.0.0.1")
            lines.append("mx2.badmx.test. IN A 127.0.0.1")
            with open(zone_path, "w") as f:
                f.write("\n".join(lines) + "\n")

        write_sites()
        write_zone("1")
        web = mtasts_server.PolicyServer(certs, sites_path)
        web.start()
        smtp = mtasts_server.SmtpTlsServer(certs)
        smtp.start()
        cache = os.path.join(tmp, "cache.db")

        def check(domain, *extra):
            args = [smexop, "mta-sts", "check", domain, "--json", "--dns-zone", zone_path,
                    "--ca-file", certs.ca, "--port", str(web.port),
                    "--smtp-port", str(smtp.port), "--timeout", "10000"] + list(extra)
            p = subprocess.run(args, capture_output=True, text=True, timeout=120)
            try:
                out = json.loads(p.stdout)
            except ValueError:
                out = {"raw": p.stdout, "stderr": p.stderr}
            return p.returncode, out

        try:
            rc, o = check("enforce.test")
            res.check("enforce: exit 0, policy fetched, MX matches, certificate valid",
                      rc == 0 and o.get("mode") == "enforce" and o.get("source") == "fetched"
                      and o["mx"][0]["matches"] and o["mx"][0]["certificate_valid"],
                      "%d %s" % (rc, o))
            rc, o = check("testing.test")
            res.check("testing: MX outside the policy is a warning (exit 1)",
                      rc == 1 and o.get("mode") == "testing" and not o["mx"][0]["matches"]
                      and o["mx"][0]["verdict"] == "warning", "%d %s" % (rc, o))
            rc, o = check("none.test")
            res.check("none: exit 0, mode none", rc == 0 and o.get("mode") == "none",
                      "%d %s" % (rc, o))
            rc, o = check("badcert.test")
            res.check("policy host with an untrusted certificate: sts-webpki-invalid, exit 2",
                      rc == 2 and o.get("status") == "failed"
                      and o.get("failure") == "sts-webpki-invalid", "%d %s" % (rc, o))
            rc, o = check("nomatch.test")
            res.check("enforce, MX outside the policy: exit 2",
                      rc == 2 and not o["mx"][0]["matches"] and o["mx"][0]["verdict"] == "error",
                      "%d %s" % (rc, o))
            rc, o = check("badmx.test")
            res.check("enforce, second MX with an untrusted certificate: exit 2",
                      rc == 2 and o["mx"][0]["verdict"] == "ok"
                      and o["mx"][1]["host"] == "mx2.badmx.test"
                      and not o["mx"][1]["certificate_valid"]
                      and o["mx"][1]["verdict"] == "error", "%d %s" % (rc, o))
            rc, o = check("nosuch.test")
            res.check("no TXT record: no policy, exit 1",
                      rc == 1 and o.get("status") == "none", "%d %s" % (rc, o))

            # the cache, with the gateway's store
            def fetches():
                return sum(1 for h, _ in web.requests if h.startswith("mta-sts.cached.test"))

            rc, o = check("cached.test", "--cache", cache, "--now", str(T0), "--no-probe")
            res.check("cache: first run fetches", rc == 0 and o.get("source") == "fetched"
                      and fetches() == 1, "%d %s" % (rc, o))
            rc, o = check("cached.test", "--cache", cache, "--now", str(T0 + 60), "--no-probe")
            res.check("cache: id unchanged, unexpired: no fetch",
                      rc == 0 and o.get("source") == "cache" and fetches() == 1,
                      "%d %s fetches %d" % (rc, o, fetches()))
            write_zone("2")
            sites["mta-sts.cached.test"]["body"] = policy("enforce", ["mx.cached.test"], 7200)
            write_sites()
            rc, o = check("cached.test", "--cache", cache, "--now", str(T0 + 120), "--no-probe")
            res.check("cache: id changed: refetched",
                      rc == 0 and o.get("source") == "fetched" and o.get("policy_id") == "2"
                      and o.get("max_age") == 7200 and fetches() == 2, "%d %s" % (rc, o))
            write_zone("3")
            sites["mta-sts.cached.test"]["status"] = 503
            write_sites()
            rc, o = check("cached.test", "--cache", cache, "--now", str(T0 + 180), "--no-probe")
            res.check("cache: fetch fails, unexpired cached policy used (exit 1)",
                      rc == 1 and o.get("status") == "policy" and o.get("source") == "cache"
                      and o.get("policy_id") == "2"
                      and o.get("failure") == "sts-policy-fetch-error", "%d %s" % (rc, o))
            rc, o = check("cached.test", "--cache", cache, "--now", str(T0 + 120 + 7201),
                          "--no-probe")
            res.check("cache: expired and the fetch fails: failure (exit 2)",
                      rc == 2 and o.get("status") == "failed"
                      and o.get("failure") == "sts-policy-fetch-error", "%d %s" % (rc, o))
            # text output and usage
            p = subprocess.run([smexop, "mta-sts", "check", "enforce.test", "--dns-zone",
                                zone_path, "--ca-file", certs.ca, "--port", str(web.port),
                                "--smtp-port", str(smtp.port)], capture_output=True, text=True,
                               timeout=120)
            res.check("text output", p.returncode == 0 and "mode: enforce" in p.stdout
                      and "matches the policy" in p.stdout and "result: ok" in p.stdout,
                      p.stdout + p.stderr)
            p = subprocess.run([smexop, "mta-sts", "check"], capture_output=True, text=True)
            res.check("usage error: exit 2", p.returncode == 2, p.stderr)
        finally:
            web.stop()
            smtp.stop()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
