#!/usr/bin/python3
"""test_scan - smexop scan over a Maildir and an mbox made here, and over
messages of the shared corpora.

1. The gateway demo's samples (samples/*.eml), each with a Return-Path and
   the Received field the organisation's relay mail.example.com would have
   added for the client samples/send.sh uses, are put in a Maildir (cur/
   and new/) and in an mboxrd file (with a body line that needs quoting).
   Both are scanned with etc/demo.yaml (run from the source root: its
   directory and block list are relative paths), --received-from-trusted
   mail.example.com, -j 2 and --json.  Every object is checked: the keys
   and types of the contract, the verdict and action each sample gets in
   the demo (README "Try it"), the envelope taken from Received, the input
   order; -j 1 must print the same bytes.
2. A few dozen messages of ../shared/corpora (ham, spam, phish) are
   scanned with -j 2 --json: all of them, no crash, every line valid JSON
   with a verdict.
3. A worker killed in the middle of a run (its DNS server never answers,
   so every message takes a while): the messages it held are reported as
   errors in their place, the other worker scans the rest, exit 1.

Usage: test_scan.py SMEXOP
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import sys
import tempfile

from smexoptest import SHARED, SOURCE_ROOT, Results

VERDICTS = {"clean", "bulk", "spam", "hcspam", "phish", "hcphish", "spoof", "malware"}
ACTIONS = {"deliver", "junk", "quarantine", "reject", "drop", "tempfail"}

# sample, client IP, HELO, MAIL FROM, verdict, action, reply code
SAMPLES = [
    ("clean", "127.0.0.1", "mail.partner.example", "news@partner.example", "clean", "deliver", None),
    ("spoof-dmarc-reject", "127.0.0.23", "laptop.attacker.example", "security@bank.example",
     "spoof", "reject", 550),
    ("dmarc-quarantine", "127.0.0.23", "laptop.attacker.example", "invoices@billing.example",
     "spoof", "quarantine", None),
    ("spf-fail", "127.0.0.44", "mail.shop.example", "orders@shop.example", "spoof", "junk", None),
    ("unknown-recipient", "127.0.0.1", "mail.partner.example", "news@partner.example", "clean",
     "reject", 550),
    ("blocked-ip", "127.0.0.66", "mail.bulk.example", "offers@bulk.example", "hcspam", "reject",
     550),
]
NOW = "1735725600"  # 2025-01-01T10:00:00Z, after the samples' Date


def relayed(name, ip, helo, mail_from):
    """relayed - the sample as the relay mail.example.com stored it (LF line ends)."""
    with open(os.path.join(SOURCE_ROOT, "samples", name + ".eml"), "rb") as f:
        body = f.read().replace(b"\r\n", b"\n")
    top = ("Return-Path: <%s>\n"
           "Received: from %s (%s [%s])\n"
           "\tby mail.example.com (Postfix) with ESMTP id T%s\n"
           "\tfor <x@example.com>; Wed, 01 Jan 2025 09:30:00 +0000 (UTC)\n"
           % (mail_from, helo, helo, ip, name.replace("-", "").upper()[:10]))
    return top.encode() + body + b"\nFrom the body: a line an mbox writer must quote.\n"


def run(smexop, args, stdin=None):
    return subprocess.run([smexop, "scan"] + args, cwd=SOURCE_ROOT, input=stdin,
                          capture_output=True, timeout=300)


def check_object(res, label, o):
    """check_object - the contract's keys and their types."""
    ok = (isinstance(o.get("file"), str) and o.get("verdict") in VERDICTS
          and o.get("action") in ACTIONS and isinstance(o.get("scl"), int)
          and -1 <= o["scl"] <= 9 and isinstance(o.get("bcl"), int) and 0 <= o["bcl"] <= 9
          and isinstance(o.get("cat"), str) and isinstance(o.get("reasons"), list)
          and all(isinstance(r, dict) and isinstance(r.get("name"), str)
                  and isinstance(r.get("score"), int) for r in o["reasons"])
          and isinstance(o.get("envelope"), dict) and "headers" in o)
    res.check("%s: contract keys" % label, ok, json.dumps(o)[:300])
    return ok


def check_sample(res, label, o, sample):
    name, ip, helo, mail_from, verdict, action, code = sample
    check_object(res, label, o)
    res.check("%s: verdict %s" % (label, verdict), o.get("verdict") == verdict,
              "got %s" % o.get("verdict"))
    res.check("%s: action %s" % (label, action), o.get("action") == action,
              "got %s %s" % (o.get("action"), o.get("reply")))
    res.check("%s: reply %s" % (label, code),
              (o.get("reply") or {}).get("code") == code if code else o.get("reply") is None,
              str(o.get("reply")))
    env = o.get("envelope", {})
    res.check("%s: envelope from Received" % label,
              env.get("source") == "received" and env.get("relay") == "mail.example.com"
              and env.get("ip") == ip and env.get("helo") == helo
              and env.get("mail_from") == mail_from
              and env.get("mail_from_source") == "return-path", json.dumps(env))
    names = [r["name"] for r in o.get("reasons", [])]
    res.check("%s: reasons say where the envelope came from" % label,
              "ENVELOPE_FROM_RECEIVED" in names and "MAIL_FROM_RETURN_PATH" in names, str(names))
    if name == "blocked-ip":
        res.check("%s: SCL 9 CAT HSPM" % label, o.get("scl") == 9 and o.get("cat") == "HSPM")
    if verdict == "spoof":
        res.check("%s: CAT SPOOF" % label, o.get("cat") == "SPOOF" and o.get("scl") == 5)
    if name == "unknown-recipient":
        res.check("%s: edge blocking" % label,
                  (o.get("reply") or {}).get("enhanced") == "5.4.1"
                  and "RCPT_REFUSED_UNKNOWN_RECIPIENT" in names, str(o.get("reply")))


def parse_lines(res, label, out):
    objs = []
    for i, line in enumerate(out.decode().splitlines()):
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            res.check("%s: line %d is JSON" % (label, i + 1), False, str(e))
    return objs


def test_samples(res, smexop, tmp):
    maildir = os.path.join(tmp, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    # three in cur/, three in new/; the listing is cur/ then new/, each by name
    order = []
    for i, s in enumerate(SAMPLES):
        sub = "cur" if i < 3 else "new"
        path = os.path.join(maildir, sub, "%d.%s:2," % (i, s[0]))
        with open(path, "wb") as f:
            f.write(relayed(s[0], s[1], s[2], s[3]))
        order.append(path)
    mbox = os.path.join(tmp, "samples.mbox")
    with open(mbox, "wb") as f:
        for s in SAMPLES:
            msg = relayed(s[0], s[1], s[2], s[3])
            lines = msg.split(b"\n")
            quoted = [b">" + l if l.lstrip(b">").startswith(b"From ") else l for l in lines]
            f.write(b"From %s Wed Jan  1 09:30:00 2025\n" % s[3].encode())
            f.write(b"\n".join(quoted) + b"\n")
    args = ["--json", "--received-from-trusted", "mail.example.com", "-c", "etc/demo.yaml",
            "--now", NOW]
    p = run(smexop, ["-j", "2"] + args + [maildir, mbox])
    res.check("samples: exit 0", p.returncode == 0, p.stderr.decode()[:500])
    res.check("samples: nothing on stderr", p.stderr == b"", p.stderr.decode()[:500])
    objs = parse_lines(res, "samples", p.stdout)
    res.check("samples: %d objects" % (2 * len(SAMPLES)), len(objs) == 2 * len(SAMPLES),
              str(len(objs)))
    for i, o in enumerate(objs[:len(SAMPLES)]):
        res.check("maildir %d: file in order" % i, o.get("file") == order[i],
                  "%s != %s" % (o.get("file"), order[i]))
        res.check("maildir %d: no index" % i, "index" not in o)
        check_sample(res, "maildir " + SAMPLES[i][0], o, SAMPLES[i])
    for i, o in enumerate(objs[len(SAMPLES):]):
        res.check("mbox %d: file and index" % i, o.get("file") == mbox and o.get("index") == i + 1,
                  "%s %s" % (o.get("file"), o.get("index")))
        check_sample(res, "mbox " + SAMPLES[i][0], o, SAMPLES[i])
    # the same bytes in both: the mbox's copy was unquoted back
    for i in range(len(SAMPLES)):
        if i < len(objs) and len(SAMPLES) + i < len(objs):
            res.check("mbox %d: same size as the Maildir copy (>From unquoted)" % i,
                      objs[i].get("size") == objs[len(SAMPLES) + i].get("size"),
                      "%s %s" % (objs[i].get("size"), objs[len(SAMPLES) + i].get("size")))
    p1 = run(smexop, ["-j", "1"] + args + [maildir, mbox])
    res.check("samples: -j 1 prints the same as -j 2", p1.stdout == p.stdout)
    # the text output has one block per message
    pt = run(smexop, ["-j", "2", "--received-from-trusted", "mail.example.com", "-c",
                      "etc/demo.yaml", "--now", NOW, maildir])
    res.check("samples: text blocks", pt.returncode == 0
              and pt.stdout.decode().count("\nverdict: ") + pt.stdout.decode().startswith(
                  "verdict: ") == len(SAMPLES), pt.stdout.decode()[:300])


def corpus_files(per_class=15):
    base = os.path.join(SHARED, "corpora")
    files = []
    for sub in ("spamassassin/ham", "spamassassin/spam", "nazario_phishing/phish"):
        d = os.path.join(base, sub)
        if not os.path.isdir(d):
            continue
        names = sorted(os.listdir(d))
        step = max(1, len(names) // per_class)
        files += [os.path.join(d, n) for n in names[::step][:per_class]]
    return files


def test_corpora(res, smexop, tmp):
    files = corpus_files()
    if not files:
        res.check("corpora: found", False, "no ../shared/corpora")
        return
    p = run(smexop, ["-j", "2", "--json", "--dns-zone", "etc/demo.zone", "--now", NOW,
                     "--received-from-trusted", "dogma.slashnull.org",
                     "--received-from-trusted", "jmason.org",
                     "--ip", "192.0.2.1", "--helo", "unknown.example"] + files)
    res.check("corpora: exit 0", p.returncode == 0,
              "%d %s" % (p.returncode, p.stderr.decode()[:500]))
    objs = parse_lines(res, "corpora", p.stdout)
    res.check("corpora: %d messages, one object each" % len(files), len(objs) == len(files),
              str(len(objs)))
    res.check("corpora: in input order", [o.get("file") for o in objs] == files)
    bad = [o.get("file") for o in objs if not check_object(Results(verbose=False), "", o)]
    res.check("corpora: every object has the contract's keys", not bad, str(bad[:3]))
    received = sum(1 for o in objs if o.get("envelope", {}).get("source") == "received")
    res.check("corpora: some envelopes from the trusted relays' Received fields",
              received > 0, str(received))
    verdicts = {}
    for o in objs:
        verdicts[o.get("verdict")] = verdicts.get(o.get("verdict"), 0) + 1
    print("     corpora: %d messages, %d envelopes from Received, verdicts %s"
          % (len(objs), received, verdicts))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_worker_killed(res, smexop, tmp):
    files = corpus_files(per_class=4)
    if not files:
        return
    # a DNS server that never answers: each message waits for its lookups
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    p = subprocess.Popen([smexop, "scan", "-j", "2", "--json", "--dns", "127.0.0.1:%d" % port,
                          "--dns-timeout", "300", "--ip", "192.0.2.1", "--helo", "h.example"]
                         + files, cwd=SOURCE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = None
    deadline = time.time() + 20
    while time.time() < deadline and killed is None and p.poll() is None:
        kids = children(p.pid)
        if len(kids) == 2:
            time.sleep(0.5)  # let both start on their first messages
            os.kill(kids[0], signal.SIGKILL)  # a worker this test's scan started
            killed = kids[0]
        time.sleep(0.05)
    out, err = p.communicate(timeout=300)
    silent.close()
    res.check("worker killed: a worker was killed", killed is not None)
    res.check("worker killed: exit 1", p.returncode == 1, "%s %s" % (p.returncode, err[:300]))
    objs = parse_lines(res, "worker killed", out)
    res.check("worker killed: one object per message, in order",
              [o.get("file") for o in objs] == files, str(len(objs)))
    lost = [o for o in objs if "died (signal 9)" in o.get("error", "")]
    res.check("worker killed: 1 or 2 messages lost", 1 <= len(lost) <= 2, str(len(lost)))
    res.check("worker killed: the rest scanned",
              all(o.get("verdict") in VERDICTS for o in objs if o not in lost),
              str([o for o in objs if o not in lost and "verdict" not in o][:2]))
    res.check("worker killed: said on stderr", b"died (signal 9)" in err, err[:300])


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    tmp = tempfile.mkdtemp(prefix="smexop-scan-")
    try:
        test_samples(res, smexop, tmp)
        test_corpora(res, smexop, tmp)
        test_worker_killed(res, smexop, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
