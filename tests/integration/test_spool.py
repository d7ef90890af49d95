#!/usr/bin/python3
"""smexop spool|deliver|quarantine|trace through the real binary, on a spool
and database prepared by spool_tool (which commits messages as the
gateway's pipeline would).

usage: test_spool.py SMEXOP SPOOL_TOOL
"""
import json
import os
import subprocess
import sys
import tempfile

SMEXOP, TOOL = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    else:
        print("ok:", what)


def run(*args, code=0):
    # bytes, decoded by hand: text mode would turn the messages' CRLF into LF
    p = subprocess.run([SMEXOP, *args], capture_output=True)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != code:
        print("command:", args, "exit", p.returncode, "wanted", code)
        print(out, p.stderr.decode("utf-8", "replace"))
        sys.exit(1)
    return out


def tool(tmp, where, text, *opts):
    path = os.path.join(tmp, "msg.eml")
    with open(path, "w", newline="") as f:
        f.write(text)
    p = subprocess.run([TOOL, os.path.join(tmp, "spool"), os.path.join(tmp, "db"), where, path,
                        *opts], capture_output=True, text=True, check=True)
    return p.stdout.strip()


def maildir_files(root):
    out = {}
    for d, _, files in os.walk(root):
        if os.path.basename(d) == "new":
            for name in files:
                with open(os.path.join(d, name)) as f:
                    out[os.path.relpath(os.path.join(d, name), root)] = f.read()
    return out


with tempfile.TemporaryDirectory() as tmp:
    conf = os.path.join(tmp, "smexop.yaml")
    mail = os.path.join(tmp, "mail")
    with open(conf, "w") as f:
        f.write("spool:\n  dir: %s/spool\n  node_id: itest\n"
                "store:\n  path: %s/db\n"
                "delivery:\n  maildir: %s\n" % (tmp, tmp, mail))
    c = ["-c", conf]
    now = int(__import__("time").time())

    m1 = tool(tmp, "queue",
              "From: a@a.example\r\nSubject: hello\r\nMessage-ID: <m1@a.example>\r\n\r\n"
              "line one\r\nline two\r\n",
              "--from", "a@a.example", "--to", "bob@example.org", "--to", "carol@example.org",
              "--header", "X-Smexop-Antispam-Report: CIP:192.0.2.1;SFV:NSPM;SCL:1",
              "--session", "00aa", "--message-id", "<m1@a.example>", "--time", str(now - 3))
    body = "".join("body line %d\r\n" % i for i in range(40))
    m2 = tool(tmp, "quarantine",
              "From: x@spam.example\r\nSubject: Win a prize\r\n\r\n" + body,
              "--from", "x@spam.example", "--to", "dave@example.org", "--to", "erin@example.org",
              "--header", "X-Smexop-Antispam-Report: CIP:198.51.100.7;SFV:SPM;SCL:9;",
              "--reason", "spam (SCL 9)", "--reason", "url reputation",
              "--policy", "DefaultFullAccessPolicy", "--verdict", "spam",
              "--session", "00bb", "--ip", "198.51.100.7", "--time", str(now - 2))
    m3 = tool(tmp, "quarantine", "Subject: old\r\n\r\nx\r\n",
              "--from", "old@old.example", "--to", "frank@example.org", "--reason", "malware",
              "--time", str(now - 40 * 86400))

    # spool
    check(run("spool", "list", *c).split() == [m1], "spool list: the queued entry")
    check(sorted(run("spool", "list", "quarantine", *c).split()) == sorted([m2, m3]),
          "spool list quarantine")
    out = run("spool", "dump", m1, *c)
    check("recipient: <bob@example.org> notify=- orcpt=- state=pending" in out and
          "location: queue" in out and "prepend: X-Smexop-Antispam-Report" in out,
          "spool dump: decoded envelope")
    d = json.loads(run("spool", "dump", "--json", m2, *c))
    check(d["location"] == "quarantine" and d["reasons"] == ["spam (SCL 9)", "url reputation"]
          and d["policy"] == "DefaultFullAccessPolicy", "spool dump --json")
    check(run("spool", "dump", "--data", m1, *c).endswith("line one\r\nline two\r\n"),
          "spool dump --data")
    run("spool", "dump", "../etc", *c, code=2)
    run("spool", "dump", "nosuch-id", *c, code=2)

    # delivery
    out = run("deliver", "--once", *c)
    check(out.strip() == "attempts=1 delivered=2 deferred=0 failed=0 dsns=0 removed=1",
          "deliver --once")
    files = maildir_files(mail)
    bob = [v for k, v in files.items() if k.startswith("example.org/bob/new/")]
    check(len(files) == 2 and len(bob) == 1, "one file per recipient")
    check(bob and bob[0].startswith(
        "Return-Path: <a@a.example>\nDelivered-To: bob@example.org\n"
        "X-Smexop-Antispam-Report: CIP:192.0.2.1;SFV:NSPM;SCL:1\nFrom: a@a.example\n"),
        "Return-Path, Delivered-To, prepended fields, LF line ends")
    check(run("spool", "list", *c).strip() == "", "queue empty after delivery")

    # quarantine
    rows = [json.loads(l) for l in run("quarantine", "list", "--json", *c).splitlines()]
    check([r["id"] for r in rows] == [m2, m3], "quarantine list --json, newest first")
    check(rows[0]["subject"] == "Win a prize" and
          rows[0]["reasons"] == "spam (SCL 9); url reputation" and
          rows[0]["expires"] == now - 2 + 30 * 86400, "row: subject, reasons, 30-day expiry")
    out = run("quarantine", "list", "--recipient", "Erin@example.org", *c)
    check(out.startswith(m2 + " ") and len(out.splitlines()) == 1, "list --recipient")
    check(run("quarantine", "list", "--reason", "malware", *c).startswith(m3 + " "),
          "list --reason")
    check(run("quarantine", "list", "--since", "2d", *c).split()[0] == m2, "list --since 2d")
    out = run("quarantine", "show", m2, *c)
    check("subject: Win a prize" in out and "reasons: spam (SCL 9); url reputation" in out and
          "body line 19\r\n" in out and "body line 20\r\n" not in out and "--raw" in out,
          "show: row, header section, the first body lines")
    check("body line 39\r\n" in run("quarantine", "show", "--raw", m2, *c), "show --raw")
    run("quarantine", "show", "nosuch-id", *c, code=2)

    out = run("quarantine", "release", m2, "--to", "dave@example.org", "--by", "admin", *c)
    copy = out.split()[-1]
    check(out.startswith("released %s to dave@example.org as " % m2) and copy != m2,
          "release --to: a copy")
    run("quarantine", "release", m2, "--to", "dave@example.org", *c, code=2)
    check(run("deliver", "--once", *c).startswith("attempts=1 delivered=1 "), "deliver the copy")
    dave = [v for k, v in maildir_files(mail).items() if "/dave/" in k]
    check(len(dave) == 1 and "SFV:SKQ;SCL:9;" in dave[0] and
          "\nX-Smexop-Released: " in dave[0] and " by admin\n" in dave[0],
          "released copy: SFV:SKQ and X-Smexop-Released")
    run("quarantine", "release", m2, *c)
    check(run("deliver", "--once", *c).startswith("attempts=1 delivered=1 "),
          "release to the rest: erin only")
    check(len([k for k in maildir_files(mail) if "/dave/" in k]) == 1, "dave not twice")
    row = json.loads(run("quarantine", "show", "--json", m2, *c).splitlines()[0])
    check(row["released"] and row["released_by"].startswith("cli:"), "row marked released")

    run("quarantine", "delete", "nosuch-id", *c, code=2)
    check(run("quarantine", "expire", *c).strip() == "expired 1", "expire: the 40-day-old one")
    check(run("quarantine", "list", "--reason", "malware", *c) == "", "expired row gone")
    m4 = tool(tmp, "quarantine", "Subject: d\r\n\r\nx\r\n", "--from", "d@d.example",
              "--to", "g@example.org", "--reason", "phish", "--time", str(now - 1))
    check(run("quarantine", "delete", m4, *c).strip() == "deleted " + m4, "delete")
    check(run("spool", "list", "quarantine", *c).strip() == "", "quarantine/ empty")

    # message trace
    lines = run("trace", *c).splitlines()
    by_id = {l.split()[2]: l.split()[1] for l in lines}
    check(by_id.get(m1) == "delivered" and by_id.get(m2) == "delivered" and
          by_id.get(copy) == "delivered" and by_id.get(m3) == "expired" and
          by_id.get(m4) == "deleted", "trace: final status per message")
    out = run("trace", "--sender", "x@spam.example", "--json", *c)
    msgs = [json.loads(l) for l in out.splitlines()]
    check(sorted(m["id"] for m in msgs) == sorted([m2, copy]) and
          all(m["client_ip"] == "198.51.100.7" for m in msgs),
          "trace --sender --json: the message and its released copy")
    ev = [json.loads(l)["event"] for l in run("trace", "--detail", m1, "--json", *c).splitlines()]
    check(ev == ["received", "received", "accepted", "accepted", "delivered", "delivered"],
          "trace --detail: events, one per recipient")
    out = run("trace", "--detail", m2, *c)
    check("quarantined" in out and "released" in out and "rcpt=<dave@example.org>" in out,
          "trace --detail: quarantined, released")
    check(run("trace", "--recipient", "frank@example.org", *c).split()[2] == m3,
          "trace --recipient")
    check(run("trace", "--message-id", "<m1@a.example>", *c).split()[2] == m1,
          "trace --message-id")
    check(run("trace", "--until", "2001-01-01", *c) == "", "trace --until")
    run("trace", "--detail", "nothing", *c, code=2)


    # recovery through the command
    with open(os.path.join(tmp, "spool", "queue", "stray"), "w") as f:
        f.write("x")
    with open(os.path.join(tmp, "spool", "incoming", "left"), "w") as f:
        f.write("x")
    out = run("spool", "recover", *c)
    check(out.startswith("incoming_removed=1 corrupt=1 "), "spool recover")

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
