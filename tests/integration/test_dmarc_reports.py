#!/usr/bin/python3
"""DMARC reports through the real binary: smexop dmarc --record, then
`dmarc report` (files, XML, authorisation, no resend), `dmarc import` of the
reports it wrote and of the shared samples (broken ones give `FILE: message`
and exit 2), and `dmarc summary --json` with the same counts.

The reports written are validated with `xmllint --schema` against RFC 7489
Appendix C (../shared/conformance/dmarc-schema/rfc7489-rua-schema.xsd), and
a second, more varied report is imported back into a fresh database and
compared row by row with its XML: nothing is lost on the way.

usage: test_dmarc_reports.py SMEXOP SHARED_DIR
"""
import glob
import gzip
import ipaddress
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SMEXOP, SHARED = sys.argv[1], sys.argv[2]
XSD = os.path.join(SHARED, "conformance", "dmarc-schema", "rfc7489-rua-schema.xsd")
DMARC_NS = "http://dmarc.org/dmarc-xml/0.1"
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


def schema_valid(xml, tmp):
    """(ok, xmllint's messages) for a report under the Appendix C schema.

    Two transformations, the same as tests/unit/test_dmarc_report.c makes:
      - the schema declares targetNamespace but not that namespace as its
        default, so its unprefixed type="..." references point to no
        namespace and xmllint refuses to compile it ("References from this
        schema to components in no namespace are not allowed"); the default
        namespace declaration is added next to targetNamespace.
      - the schema has no elementFormDefault, so a valid instance has only
        its root in the target namespace and every other element in none.
        Reports in the wild (Google, Yahoo, Microsoft, ours) use no
        namespace at all, so the root <feedback> is put into it with a
        prefix, which leaves the children unqualified."""
    xsd = os.path.join(tmp, "rua.xsd")
    if not os.path.exists(xsd):
        text = open(XSD).read()
        tn = 'targetNamespace="%s"' % DMARC_NS
        check(text.count(tn) == 1, "the schema has its targetNamespace once")
        with open(xsd, "w") as f:
            f.write(text.replace(tn, 'xmlns="%s" %s' % (DMARC_NS, tn)))
    doc = xml.decode()
    check(doc.count("<feedback>") == 1 and doc.count("</feedback>") == 1,
          "one <feedback> root without attributes")
    doc = doc.replace("<feedback>", '<d:feedback xmlns:d="%s">' % DMARC_NS).replace(
        "</feedback>", "</d:feedback>")
    path = os.path.join(tmp, "report-ns.xml")
    with open(path, "w") as f:
        f.write(doc)
    p = subprocess.run(["xmllint", "--noout", "--schema", xsd, path], capture_output=True,
                       text=True)
    return p.returncode == 0, p.stderr.strip()


def xml_report(root):
    """the report's metadata, policy and rows as the importer should keep them"""
    pp = root.find("policy_published")
    meta = {k: root.findtext("report_metadata/" + k) for k in ("org_name", "email",
                                                               "report_id")}
    meta.update(begin=int(root.findtext("report_metadata/date_range/begin")),
                end=int(root.findtext("report_metadata/date_range/end")))
    meta.update({k: pp.findtext(k) for k in ("domain", "adkim", "aspf", "p", "sp", "np", "fo")})
    meta["pct"] = int(pp.findtext("pct")) if pp.findtext("pct") else None
    rows = []
    for r in root.findall("record"):
        pe = r.find("row/policy_evaluated")
        reasons = "; ".join(
            (x.findtext("type") or "") + (": " + x.findtext("comment") if x.findtext("comment")
                                          else "")
            for x in pe.findall("reason"))
        rows.append((
            str(ipaddress.ip_address(r.findtext("row/source_ip"))), int(r.findtext("row/count")),
            pe.findtext("disposition") or "", pe.findtext("dkim") or "", pe.findtext("spf") or "",
            reasons, r.findtext("identifiers/header_from") or "",
            r.findtext("identifiers/envelope_from") or "",
            r.findtext("identifiers/envelope_to") or "",
            tuple((d.findtext("domain") or "", d.findtext("selector") or "",
                   d.findtext("result") or "", d.findtext("human_result") or "")
                  for d in r.findall("auth_results/dkim")),
            tuple((x.findtext("domain") or "", x.findtext("scope") or "",
                   x.findtext("result") or "") for x in r.findall("auth_results/spf"))))
    return meta, sorted(rows)


def db_report(path):
    """the same from the database `dmarc import` wrote (its own encoding of the
    auth results: fields split by 0x1f, items ended by 0x1e)"""
    def items(text, nf):
        return tuple(tuple(i.split("\x1f")[:nf]) for i in text.split("\x1e") if i)
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    reps = db.execute("SELECT * FROM dmarc_report").fetchall()
    out = []
    for rep in reps:
        meta = {k: rep[k] for k in ("org_name", "email", "report_id", "begin", "end", "domain",
                                     "adkim", "aspf", "p", "sp", "np", "fo", "pct")}
        rows = sorted((w["source_ip"], w["count"], w["disposition"], w["dkim_eval"],
                       w["spf_eval"], w["reasons"], w["header_from"], w["envelope_from"],
                       w["envelope_to"], items(w["dkim"], 4), items(w["spf"], 3))
                      for w in db.execute("SELECT * FROM dmarc_report_row WHERE report = ?",
                                          (rep["id"],)))
        out.append((meta, rows))
    db.close()
    return out


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
    xml = gzip.decompress(open(os.path.join(out, base + ".xml.gz"), "rb").read())
    ok, msg = schema_valid(xml, tmp)
    check(ok, "the report is valid under RFC 7489 Appendix C (xmllint --schema)" +
          ("" if ok else ": " + msg))
    ok, msg = schema_valid(xml.replace(b"<count>5</count>", b""), tmp)
    check(not ok and "count" in msg, "and xmllint does reject a report without a <count>")
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

    # a varied report (two DKIM results, HELO-scope SPF, envelope_to, a
    # sampled-out row with its reason, IPv6) is valid and imports back whole
    zone2 = os.path.join(tmp, "z2.zone")
    with open(zone2, "w") as f:
        f.write('$TTL 300\n_dmarc.example.org. TXT "v=DMARC1; p=reject; sp=quarantine; '
                'adkim=s; aspf=r; pct=50; fo=1:d; rua=mailto:agg@example.org"\n')
    conf2 = os.path.join(tmp, "smexop2.yaml")
    with open(conf2, "w") as f:
        f.write("server: {hostname: mx.receiver.example}\n"
                "store: {path: %s}\n"
                "dmarc_reports: {org_name: Receiver & Sons <Ltd>, email: dmarc@receiver.example}\n"
                % os.path.join(tmp, "state", "second.db"))
    common2 = ["-c", conf2, "--dns-zone", zone2, "--time", "2023-11-15T12:00:00Z", "--record"]
    events = [
        (3, ["--from-domain", "mail.example.org", "--spf-domain", "example.org", "--spf", "pass",
             "--dkim", "example.org:pass", "--dkim", "other.net:fail", "--ip", "192.0.2.7",
             "--mail-from", "a@example.org", "--rcpt-domain", "rcpt.example", "--sample", "0"]),
        (2, ["--from-domain", "example.org", "--helo", "mta.example.org", "--spf-domain",
             "mta.example.org", "--spf", "softfail", "--ip", "2001:db8::5", "--sample", "10"]),
        (1, ["--from-domain", "example.org", "--helo", "mta.example.org", "--spf-domain",
             "mta.example.org", "--spf", "softfail", "--ip", "2001:db8::5", "--sample", "80"]),
        (4, ["--from-domain", "example.org", "--spf-domain", "evil.test", "--spf", "fail",
             "--dkim", "example.org:temperror", "--ip", "198.51.100.9", "--mail-from",
             "x@evil.test", "--sample", "0"]),
    ]
    for n, args in events:
        for _ in range(n):
            run("dmarc", *args, *common2)
    out2 = os.path.join(tmp, "out2")
    os.mkdir(out2)
    p = run("dmarc", "report", "--out", out2, "--now", "2023-11-16T00:00:00Z", "--json",
            "-c", conf2, "--dns-zone", zone2)
    made = [json.loads(l) for l in p.stdout.splitlines()]
    check(len(made) == 1 and made[0]["messages"] == 10 and made[0]["rows"] == 4,
          "second report: 10 messages in 4 rows (%s)" % made)
    gz = glob.glob(os.path.join(out2, "*.xml.gz"))
    check(len(gz) == 1, "second report written")
    xml = gzip.decompress(open(gz[0], "rb").read())
    ok, msg = schema_valid(xml, tmp)
    check(ok, "second report valid under Appendix C" + ("" if ok else ": " + msg))
    meta, rows = xml_report(ET.fromstring(xml))
    check(sum(r[1] for r in rows) == 10, "the XML counts 10 messages")
    check(any(r[5].startswith("sampled_out") for r in rows) and
          any(len(r[9]) == 2 for r in rows) and any(r[10] and r[10][0][1] == "helo"
                                                    for r in rows) and
          any(r[8] == "rcpt.example" for r in rows), "the XML has the varied rows")
    back = os.path.join(tmp, "back.db")
    run("dmarc", "import", "--db", back, gz[0])
    got = db_report(back)
    check(len(got) == 1, "one report imported")
    if got:
        same = got[0][0] == meta
        check(same, "report metadata and policy kept" +
              ("" if same else ":\n  db  %s\n  xml %s" % (got[0][0], meta)))
        same = got[0][1] == rows
        check(same, "every row kept" +
              ("" if same else ":\n  db  %s\n  xml %s" % (got[0][1], rows)))
        check(sum(r[1] for r in got[0][1]) == 10 and len(got[0][1]) == 4,
              "10 messages in 4 rows imported")

print("%d failures" % failures)
sys.exit(1 if failures else 0)
