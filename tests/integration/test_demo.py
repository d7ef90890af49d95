#!/usr/bin/python3
"""test_demo - the gateway demo of `make run` does what README.md says.

Starts `smexop serve` on etc/demo.yaml as committed, except for two
things: the listener's port (a free one instead of 2525) and var/ (a
temporary directory instead of the repository's).  The server runs in the
repository root, so etc/demo.zone, etc/demo-directory and
etc/demo-blocklist are read through the relative paths of the real file.
Then it runs samples/send.sh -p PORT, with swaks and with Python's smtplib
(SMEXOP_SEND), and checks:

  - every row of README.md's "Try it" table has a sample in samples/ and
    in send.sh, and every sample has a row;
  - each sample's deciding reply (send.sh's `=> NAME: REPLY` line) is the
    one the table gives (its first `NNN ...` code span, up to any "...");
  - clean: delivered into var/mail/example.com/alice/new/ with
    spf=pass, dkim=pass, dmarc=pass, compauth=pass and X-Spam-Flag: NO;
  - spf-fail: delivered to bob with X-Spam-Flag: YES, CAT:SPOOF, ACT:junk;
  - dmarc-quarantine: in `smexop quarantine list -c CONFIG`, not delivered;
    released, it reaches bob with X-Spam-Flag: NO;
  - spoof-dmarc-reject and unknown-recipient: nowhere, and `smexop trace`
    shows them rejected;
  - samples/clean.eml's DKIM signature verifies against etc/demo.zone.

Usage: test_demo.py SMEXOP       prints `N passed, N failed`
"""

import email
import os
import re
import shutil
import subprocess
import sys
import tempfile

from smexoptest import Results, Serve, free_port, serve_log, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def demo_config(tmp, port):
    """demo_config - etc/demo.yaml with var/ under tmp and the port changed;
    fails loudly when the file no longer has what is rewritten"""
    with open(os.path.join(ROOT, "etc", "demo.yaml")) as f:
        text = f.read()
    out, n_port = re.subn(r"(?m)^(\s+port:) 2525$", r"\g<1> %d" % port, text)
    out, n_var = re.subn(r"(?m)^(\s+(?:path|dir|maildir):) var/", r"\g<1> %s/var/" % tmp, out)
    if n_port != 1 or n_var != 3:
        raise RuntimeError("etc/demo.yaml changed shape: port %d, var/ paths %d" % (n_port, n_var))
    path = os.path.join(tmp, "demo.yaml")
    with open(path, "w") as f:
        f.write(out)
    return path


def readme_rows():
    """readme_rows - [(sample, expected reply prefix, exact)] from the table
    in README.md's "Try it" section"""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    m = re.search(r"(?ms)^## Try it\n(.*?)(?=^## )", text)
    rows = []
    for line in (m.group(1) if m else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z0-9-]+`", cells[0]):
            continue
        reply = re.search(r"`(\d{3} [^`]*)`", cells[-1])
        want = reply.group(1) if reply else ""
        exact = "\u2026" not in want and "..." not in want
        want = want.split("\u2026")[0].split("...")[0]
        rows.append((cells[0].strip("`"), want, exact))
    return rows


def send_table():
    """send_table - the sample names in samples/send.sh's table"""
    with open(os.path.join(ROOT, "samples", "send.sh")) as f:
        text = f.read()
    m = re.search(r'(?ms)^table="\n(.*?)^"', text)
    return [l.split()[0] for l in (m.group(1) if m else "").splitlines() if l.strip()]


def run_send(port, how):
    """run_send - {sample: deciding reply} from samples/send.sh"""
    env = dict(os.environ, SMEXOP_SEND=how)
    p = subprocess.run([os.path.join(ROOT, "samples", "send.sh"), "-p", str(port)],
                       cwd=ROOT, env=env, capture_output=True, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    got = {}
    for line in out.splitlines():
        m = re.match(r"=> ([a-z0-9-]+): (.*)$", line)
        if m:
            got[m.group(1)] = m.group(2)
    return p.returncode, got, out + p.stderr.decode("utf-8", "replace")


def maildir(tmp, user):
    d = os.path.join(tmp, "var", "mail", "example.com", user, "new")
    out = []
    if os.path.isdir(d):
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out.append(email.message_from_bytes(f.read()))
    return out


def with_subject(tmp, user, subject):
    return [m for m in maildir(tmp, user) if m["Subject"] == subject]


def wait_count(tmp, user, subject, n):
    """wait_count - the messages with that subject once there are n (or
    what there is after the wait)"""
    wait_for(lambda: len(with_subject(tmp, user, subject)) >= n)
    return with_subject(tmp, user, subject)


def smexop_run(smexop, *args):
    p = subprocess.run([smexop] + list(args), cwd=ROOT, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()

    rc, out = smexop_run(smexop, "config", "check", "etc/demo.yaml")
    res.check("etc/demo.yaml: config check", rc == 0, out)
    rc, out = smexop_run(smexop, "dkim", "verify", "--dns-zone", "etc/demo.zone",
                         "samples/clean.eml")
    res.check("samples/clean.eml: DKIM pass with the zone's demo key",
              rc == 0 and out.startswith("pass d=partner.example s=demo"), out)

    rows = readme_rows()
    names = [r[0] for r in rows]
    emls = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "samples")) if f.endswith(".eml"))
    res.check("README table: a row per sample", len(rows) >= 5 and sorted(names) == emls,
              "%r vs %r" % (names, emls))
    res.check("README table: every row names a reply", all(r[1] for r in rows), repr(rows))
    res.check("send.sh: every sample in its table", sorted(send_table()) == emls,
              "%r vs %r" % (send_table(), emls))

    had_var = os.path.exists(os.path.join(ROOT, "var"))
    with tempfile.TemporaryDirectory(prefix="smexop-demo-") as tmp:
        port = free_port()
        cfg = demo_config(tmp, port)
        srv = Serve(smexop, cfg, port, tmp, cwd=ROOT, log_mode="wb")
        try:
            if srv.up:
                run_cases(res, smexop, cfg, tmp, port, rows)
            else:
                res.check("smexop serve -c etc/demo.yaml listens", False)
        finally:
            rc = srv.stop(timeout=30)
        res.check("serve: graceful stop, exit 0", rc == 0, "exit %s" % rc)
        if not had_var:
            res.check("the repository's var/ is not created",
                      not os.path.exists(os.path.join(ROOT, "var")))
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-6000:])
    return res.summary()


def run_cases(res, smexop, cfg, tmp, port, rows):
    modes = ["python"] + (["swaks"] if shutil.which("swaks") else [])
    if len(modes) == 1:
        print("note: swaks is not installed, samples/send.sh checked with smtplib only")
    for how in modes:
        rc, got, out = run_send(port, how)
        res.check("send.sh (%s): exit 0, an answer per sample" % how,
                  rc == 0 and sorted(got) == sorted(r[0] for r in rows), out)
        for name, want, exact in rows:
            reply = got.get(name, "")
            ok = reply == want if exact else reply.startswith(want)
            res.check("send.sh (%s): %s gets %s" % (how, name, want + ("" if exact else "...")),
                      ok, "got %r\n%s" % (reply, out if not ok else ""))

    # one delivery per send.sh run; wait for all of them, not just the first
    clean = wait_count(tmp, "alice", "Partner update for January", len(modes))
    res.check("clean: delivered to alice (once per send.sh run)", len(clean) == len(modes),
              "%d" % len(clean))
    if clean:
        m = clean[0]
        ar = " ".join((m.get("Authentication-Results") or "").split())
        res.check("clean: Authentication-Results spf, dkim, dmarc, compauth pass",
                  ar.startswith("mail.example.com;") and all(
                      k in ar for k in ("spf=pass", "dkim=pass", "dmarc=pass",
                                        "compauth=pass reason=100")), ar)
        res.check("clean: X-Spam-Flag NO", m.get("X-Spam-Flag") == "NO", m.get("X-Spam-Flag"))

    spf = wait_count(tmp, "bob", "Your order has shipped", len(modes))
    rep = spf[0].get("X-Smexop-Antispam-Report", "") if spf else ""
    res.check("spf-fail: delivered to bob as junk (X-Spam-Flag YES, CAT:SPOOF, ACT:junk)",
              len(spf) == len(modes) and spf[0].get("X-Spam-Flag") == "YES"
              and (spf[0].get("X-Spam-Status") or "").startswith("Yes, score=5")
              and ";CAT:SPOOF;" in rep and ";ACT:junk;" in rep
              and "compauth=fail reason=001" in " ".join(
                  (spf[0].get("Authentication-Results") or "").split()),
              repr([dict(x) for x in spf]))

    rc, out = smexop_run(smexop, "quarantine", "list", "-c", cfg)
    qids = [l.split()[0] for l in out.splitlines() if "Invoice 2025-0042 overdue" in l]
    res.check("dmarc-quarantine: in smexop quarantine list",
              rc == 0 and len(qids) == len(modes) and "DMARC_QUARANTINE" in out, out)
    res.check("nothing else is delivered",
              not [m for u in ("alice", "bob", "nobody") for m in maildir(tmp, u)
                   if m["Subject"] in ("Invoice 2025-0042 overdue",
                                       "Urgent: confirm your account details",
                                       "Hello nobody", "You have won")])
    if qids:
        rc, out = smexop_run(smexop, "quarantine", "release", qids[0], "-c", cfg, "--by", "test")
        got = wait_for(lambda: with_subject(tmp, "bob", "Invoice 2025-0042 overdue"))
        res.check("dmarc-quarantine: released to bob with X-Spam-Flag NO",
                  rc == 0 and len(got) == 1 and got[0].get("X-Spam-Flag") == "NO"
                  and ";SFV:SKQ;" in got[0].get("X-Smexop-Antispam-Report", ""),
                  out + repr([dict(x) for x in got]))

    rc, out = smexop_run(smexop, "trace", "-c", cfg)
    lines = out.splitlines()
    res.check("trace: the spoof and the unknown recipient are rejected",
              rc == 0 and any(" rejected " in l and "security@bank.example" in l for l in lines)
              and any(" rejected " in l and "nobody@example.com" in l for l in lines), out)
    res.check("trace: clean delivered",
              any(" delivered " in l and "news@partner.example" in l for l in lines), out)


if __name__ == "__main__":
    sys.exit(main())
