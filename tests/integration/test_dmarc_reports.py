#!/usr/bin/python3
"""DMARC reports through the real binary: smexop dmarc --record, then
`dmarc report` (files, XML, authorisation, no resend), `dmarc import` of the
reports it wrote and of the shared samples (broken ones give `FILE: message`
and exit 2), and `dmarc summary --json` with the same counts.

usage: test_dmarc_reports.py SMEXOP SHARED_DIR
"""
import glob
import gzip
import json
import os
import stat
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SMEXOP, SHARED = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def run(*args, code=0):
    p = subprocess.run([SMEXOP, *args], capture_output=True, text=True)
    if p.returncode != code:
        print("command:", " ".join(args), "\nstdout:", p.stdout, "\nstderr:", p.stderr)
    check(p.returncode == code, "exit %d: smexop %s" % (code, " ".join(args[:3])))
    return p


with tempfile.TemporaryDirectory() as tmp:
    zone = os.path.join(tmp, "z.zone")
    with open(zone, "w") as f:
        f.write('$TTL 300\n'
                '_dmarc.example.com. TXT "v=DMARC1; p=quarantine; '
                'rua=mailto:agg@example.com,mailto:d@thirdparty.net,mailto:x@unauth.org"\n'
                'example.com._report._dmarc.thirdparty.net. TXT "v=DMARC1"\n')
    conf = os.path.join(tmp, "smexop.yaml")
    db = os.path.join(tmp, "state", "smexop.db")
    os.mkdir(os.path.join(tmp, "state"))
    with open(conf, "w") as f:
        f.write("server: {hostname: mx.receiver.example}\n"
                "store: {path: %s}\n"
                "dmarc_reports: {org_name: Receiver Inc, email: dmarc@receiver.example}\n" % db)
    common = ["-c", conf, "--dns-zone", zone]
    # 5 passing messages from one source, 2 failing from another
    for i in range(5):
        run("dmarc", "--from-domain", "example.com", "--spf-domain", "example.com", "--spf",
            "pass", "--dkim", "example.com:pass", "--record", "--ip", "192.0.2.10",
            "--mail-from", "bounce@example.com", "--time", "2023-11-15T10:00:%02dZ" % i, *common)
    for i in range(2):
        p = run("dmarc", "--from-domain", "example.com", "--spf-domain", "evil.test", "--spf",
                "fail", "--record", "--ip", "2001:db8::66", "--time", "2023-11-15T11:00:00Z",
                *common)
        check(p.stdout.startswith("fail quarantine"), "the evaluation still prints first")
    check(stat.S_IMODE(os.stat(db).st_mode) == 0o600, "database mode 0600")

    out = os.path.join(tmp, "out")
    os.mkdir(out)
    p = run("dmarc", "report", "--out", out, "--now", "2023-11-16T00:00:00Z", "--json", *common)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    check(len(lines) == 1 and lines[0]["messages"] == 7 and lines[0]["rows"] == 2,
          "one report, 7 messages in 2 rows")
    st = {d["uri"]: d["status"] for d in lines[0]["destinations"]}
    check(st == {"mailto:agg@example.com": "ok", "mailto:d@thirdparty.net": "ok",
                 "mailto:x@unauth.org": "unauthorised"}, "destinations checked: %s" % st)
    base = "receiver.example!example.com!1700006400!1700092799"
    check(os.path.exists(os.path.join(out, base + ".xml.gz")), "file name per RFC 7489 7.2.1.1")
    check(os.path.exists(os.path.join(out, base + ".eml")), "the report mail is written")
    root = ET.fromstring(gzip.decompress(open(os.path.join(out, base + ".xml.gz"), "rb").read()))
    check(root.tag == "feedback" and root.findtext("report_metadata/org_name") == "Receiver Inc",
          "XML metadata")
    check(root.findtext("policy_published/p") == "quarantine", "policy_published")
    ips = sorted(r.findtext("row/source_ip") for r in root.findall("record"))
    check(ips == ["192.0.2.10", "2001:db8:0:0:0:0:0:66"], "rows by source IP: %s" % ips)
    mail = open(os.path.join(out, base + ".eml"), newline="").read()
    check("To: <agg@example.com>,\r\n <d@thirdparty.net>\r\n" in mail and "unauth.org" not in mail,
          "the mail goes to the authorised destinations")
    p = run("dmarc", "report", "--out", out, "--now", "2023-11-16T00:00:00Z", *common)
    check("no messages to report" in p.stdout, "a second run sends nothing again")

    # the domain owner's side
    p = run("dmarc", "import", "-c", conf, "--db", os.path.join(tmp, "own.db"),
            os.path.join(out, base + ".eml"), os.path.join(out, base + ".xml.gz"))
    check("imported" in p.stdout and "duplicate" in p.stdout, "import, then a duplicate")
    p = run("dmarc", "summary", "example.com", "--db", os.path.join(tmp, "own.db"), "--json")
    rows = [json.loads(l) for l in p.stdout.splitlines()]
    src = {r["source_ip"]: r for r in rows if r["group"] == "source"}
    org = [r for r in rows if r["group"] == "org"]
    check(src["192.0.2.10"]["messages"] == 5 and src["192.0.2.10"]["dmarc_pass"] == 5,
          "summary: the good source")
    check(src["2001:db8::66"]["unauthorised"] == 2 and not src["2001:db8::66"]["authorised"],
          "summary: the unauthorised source")
    check(len(org) == 1 and org[0]["org_name"] == "Receiver Inc" and org[0]["messages"] == 7,
          "summary: by reporter")
    check(rows[0]["messages"] >= rows[1]["messages"], "sorted by volume")

    # every shared sample: reports import, broken files say why, exit 2
    samples = sorted(f for f in glob.glob(SHARED + "/conformance/dmarc-report-samples/**/*",
                                          recursive=True)
                     if os.path.isfile(f) and not f.endswith(("LICENSE", ".txt")))
    p = run("dmarc", "import", "--db", os.path.join(tmp, "samples.db"), *samples, code=2)
    errs = [l for l in p.stderr.splitlines() if l]
    check(len(errs) == 8 and all(l.startswith(SHARED) and ": " in l for l in errs),
          "8 broken samples, each `FILE: message`")
    check(len(p.stdout.splitlines()) == 27, "27 reports read")
    run("dmarc", "import", "--db", os.path.join(tmp, "x.db"), code=2)
    run("dmarc", "report", "--since", "2023-11-15", *common, code=2)

print("%d failures" % failures)
sys.exit(1 if failures else 0)
