#!/usr/bin/python3
"""mtasts_conformance - run tests/conformance/mtasts_suite over
shared/conformance/mta-sts/mta-sts-cases.yml (README section 6a).

    mtasts_conformance.py MTASTS_SUITE CONFORMANCE_DIR

Builds what the fetch cases need from the case file itself: test
certificates (openssl), a zone file with the _mta-sts TXT records and
the policy hosts' addresses (127.0.0.1), and the HTTPS policy server
(mtasts_server.py) answering as each case says.  Then runs the C suite
against them; its output (per case, then `N passed, N failed`) and exit
code are this script's.
"""

import json
import os
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtasts_server  # noqa: E402


def main():
    suite, conf = sys.argv[1], sys.argv[2]
    with open(os.path.join(conf, "mta-sts", "mta-sts-cases.yml")) as f:
        doc = yaml.safe_load(f)
    with tempfile.TemporaryDirectory(prefix="mtasts-conf-") as tmp:
        zone, sites = [], {}
        good, untrusted, mismatch = [], [], {}
        for c in doc["fetch_cases"]:
            d = c["domain"]
            if "same_as" in c or d.startswith("."):
                continue
            zone.append("%s. 300 IN A 127.0.0.1" % d)
            if c.get("txt") is None and "NODATA" in c.get("note", ""):
                zone.append("_mta-sts.%s. 300 IN A 127.0.0.1" % d)  # exists, no TXT
            if c.get("txt") is not None:
                zone.append('_mta-sts.%s. 300 IN TXT "%s"' % (d, c["txt"].replace('"', '\\"')))
            if "http_status" not in c:
                continue
            host = "mta-sts." + d
            zone.append("%s. 300 IN A 127.0.0.1" % host)
            body = c.get("body")
            if body is None:
                body = mtasts_server.overlength_body()
            sites[host] = {
                "status": c["http_status"],
                "content_type": c.get("content_type"),
                "body": body,
                "chunked": d.startswith("chunked-"),
            }
            cert = c.get("cert", "good")
            if cert == "untrusted_ca":
                untrusted.append(host)
            elif cert == "name_mismatch":
                mismatch[host] = d
            else:
                good.append(host)
                if d == "fast-expire.loc":
                    good.append("*." + d)  # the source project's wildcard certificate
        zone_path = os.path.join(tmp, "mta-sts.zone")
        with open(zone_path, "w") as f:
            f.write("$TTL 300\n" + "\n".join(zone) + "\n")
        sites_path = os.path.join(tmp, "sites.json")
        with open(sites_path, "w") as f:
            json.dump(sites, f)
        certs = mtasts_server.TestCerts(tmp, good, untrusted, mismatch)
        srv = mtasts_server.PolicyServer(certs, sites_path)
        srv.start()
        try:
            r = subprocess.run([suite, conf, "--dns-zone", zone_path, "--port", str(srv.port),
                                "--ca-file", certs.ca], timeout=240)
        finally:
            srv.stop()
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
