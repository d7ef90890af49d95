#!/usr/bin/python3
"""test_dkim_rotate - DKIM key rotation through the real binary.

Runs `smexop dkim init|status|rotate|sign|verify` against a configuration
with a dkim.signing item (key_dir in a temporary directory) and a zone
file that the test writes from the records the commands print:

  init -> status (nothing published: exit 2) -> publish both records ->
  status (exit 0) -> rotate (refused, exit 1, after the next key is
  taken out of the zone) -> publish it again -> rotate (exit 0) -> status
  (the new active selector; the retired key still at the next selector:
  exit 1) -> publish the new next key -> status (exit 0) -> sign with the
  active key file and verify against the zone (pass) -> the same for a
  dual (RSA + Ed25519) domain.  --json output and t=y are checked too.

Usage: test_dkim_rotate.py SMEXOP     prints `N passed, N failed`
"""

import json
import os
import subprocess
import sys
import tempfile

from smexoptest import Results

MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
           b"Subject: rotation\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <r1@example.com>\r\n\r\nHello.\r\n")


def run(smexop, *args, stdin=None):
    p = subprocess.run([smexop] + list(args), input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def records(text):
    """records - the zone lines ("NAME. IN TXT ( ... )") of a command's output."""
    return {line.split()[0].rstrip("."): line for line in text.splitlines()
            if " IN TXT (" in line and not line.startswith(";")}


def write_zone(path, recs):
    with open(path, "w") as f:
        f.write("$TTL 300\n")
        for line in recs.values():
            f.write(line + "\n")


def main():
    if len(sys.argv) != 2:
        print("usage: test_dkim_rotate.py SMEXOP", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    with tempfile.TemporaryDirectory(prefix="dkim_rotate.") as tmp:
        conf = os.path.join(tmp, "smexop.yaml")
        zone = os.path.join(tmp, "zone")
        keys = os.path.join(tmp, "keys")
        with open(conf, "w") as f:
            f.write("dkim:\n  signing:\n"
                    "    - domain: example.com\n      key_dir: %s\n"
                    "    - domain: dual.example\n      key_dir: %s\n"
                    "      algorithm: dual\n      selector: s2024a\n"
                    "      next_selector: s2024b\n" % (keys, keys))
        write_zone(zone, {})
        s1 = "selector1._domainkey.example.com"
        s2 = "selector2._domainkey.example.com"

        # init: both keys, both records
        rc, out, err = run(smexop, "dkim", "init", "example.com", "-c", conf)
        published = records(out)
        res.check("init exits 0", rc == 0, err)
        res.check("init prints both records", set(published) == {s1, s2}, out)
        kdir = os.path.join(keys, "example.com")
        key1 = os.path.join(kdir, "selector1.rsa.pem")
        res.check("key files are 0600 in a 0700 directory",
                  os.stat(key1).st_mode & 0o777 == 0o600
                  and os.stat(kdir).st_mode & 0o777 == 0o700)
        with open(key1) as f:
            first_key = f.read()
        rc, out, err = run(smexop, "dkim", "init", "example.com", "-c", conf)
        with open(key1) as f:
            res.check("a second init keeps the keys", rc == 0 and f.read() == first_key
                      and records(out) == published, err)

        # nothing published: the active key missing is an error
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("status with nothing published exits 2", rc == 2, out + err)
        res.check("status says what to publish", records(out) == published, out)

        write_zone(zone, published)
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("status with both published exits 0", rc == 0, out + err)
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone, "--json")
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        res.check("status --json", j.get("result") == "ok" and j.get("active") == "selector1"
                  and [s.get("level") for s in j.get("selectors", [])] == ["ok", "ok"], out)

        # t=y left on the active record: a warning
        testing = dict(published)
        testing[s1] = testing[s1][:-2] + ' "; t=y" )'  # a string of its own: each is <= 255
        write_zone(zone, testing)
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("t=y gives a warning (exit 1)", rc == 1 and "t=y" in out, out + err)

        # the next key not published: rotation is refused
        write_zone(zone, {s1: published[s1]})
        rc, out, err = run(smexop, "dkim", "rotate", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("rotate refused while the next key is unpublished",
                  rc == 1 and "refusing" in err and records(out) == {s2: published[s2]},
                  "rc %d\n%s%s" % (rc, out, err))
        res.check("a refused rotation leaves no state",
                  not os.path.exists(os.path.join(kdir, "state")))

        write_zone(zone, published)
        rc, out, err = run(smexop, "dkim", "rotate", "example.com", "-c", conf,
                           "--dns-zone", zone)
        new_next = records(out)
        res.check("rotate once published", rc == 0 and "selector2 is active now" in out,
                  out + err)
        res.check("rotate prints the new selector1 record",
                  set(new_next) == {s1} and new_next[s1] != published[s1], out)
        with open(os.path.join(kdir, "state")) as f:
            res.check("the state file names selector2", "active selector2\n" in f.read())

        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("status shows selector2 active",
                  out.startswith("example.com: active selector selector2"), out)
        res.check("the retired key still published at selector1 is a warning",
                  rc == 1 and "retired" in out and records(out) == new_next, out + err)

        # another key at selector1: an error with the record to publish
        other = dict(published)
        other[s1] = published[s2].replace(s2, s1)
        write_zone(zone, other)
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("a stranger's key is an error", rc == 2 and "another key" in out, out + err)

        current = {s1: new_next[s1], s2: published[s2]}
        write_zone(zone, current)
        rc, out, err = run(smexop, "dkim", "status", "example.com", "-c", conf,
                           "--dns-zone", zone)
        res.check("status after publishing the new key exits 0", rc == 0, out + err)

        # sign with the active key, verify against the zone
        key2 = os.path.join(kdir, "selector2.rsa.pem")
        rc, signed, err = run(smexop, "dkim", "sign", "--domain", "example.com", "--selector",
                              "selector2", "--key", key2, stdin=MESSAGE)
        res.check("sign with the active key", rc == 0 and "s=selector2;" in signed, err)
        rc, out, err = run(smexop, "dkim", "verify", "--dns-zone", zone,
                           stdin=signed.encode())
        res.check("verify the signature", rc == 0 and out.startswith("pass d=example.com "
                                                                     "s=selector2"), out + err)
        # the retired selector1 key no longer verifies
        rc, signed, err = run(smexop, "dkim", "sign", "--domain", "example.com", "--selector",
                              "selector1", "--key", key1 + ".retired", stdin=MESSAGE)
        rc, out, err = run(smexop, "dkim", "verify", "--dns-zone", zone,
                           stdin=signed.encode())
        res.check("the retired key fails against the new record", out.startswith("fail "),
                  out + err)

        # dual: RSA at SEL, Ed25519 at SEL-ed25519
        rc, out, err = run(smexop, "dkim", "init", "dual.example", "-c", conf)
        dual = records(out)
        names = {"s2024a._domainkey.dual.example", "s2024a-ed25519._domainkey.dual.example",
                 "s2024b._domainkey.dual.example", "s2024b-ed25519._domainkey.dual.example"}
        res.check("dual init prints four records", rc == 0 and set(dual) == names, out + err)
        write_zone(zone, dict(current, **dual))
        rc, out, err = run(smexop, "dkim", "rotate", "dual.example", "-c", conf,
                           "--dns-zone", zone)
        res.check("dual rotate", rc == 0 and len(records(out)) == 2, out + err)
        ddir = os.path.join(keys, "dual.example")
        rc, signed, err = run(smexop, "dkim", "sign", "--domain", "dual.example",
                              "--selector", "s2024b", "--key",
                              os.path.join(ddir, "s2024b.rsa.pem"), "--selector2",
                              "s2024b-ed25519", "--key2",
                              os.path.join(ddir, "s2024b.ed25519.pem"), stdin=MESSAGE)
        rc, out, err = run(smexop, "dkim", "verify", "--dns-zone", zone,
                           stdin=signed.encode())
        res.check("dual signatures verify", out.count("pass d=dual.example") == 2, out + err)

        # usage errors
        rc, out, err = run(smexop, "dkim", "status", "unknown.example", "-c", conf,
                           "--dns-zone", zone)
        res.check("a domain without dkim.signing is a usage error", rc == 2
                  and "no dkim.signing item" in err, err)
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("dkim:\n  signing:\n    - domain: a.example\n    - domain: A.example\n")
        rc, out, err = run(smexop, "dkim", "init", "a.example", "-c", bad)
        res.check("a domain listed twice is reported at line:col", rc == 2
                  and "bad.yaml:4:15: dkim.signing[1].domain: 'a.example' is already listed"
                  in err, err)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
