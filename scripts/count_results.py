#!/usr/bin/python3
"""Sum up a `make test` run into one closing line: `N passed, N failed`.

Reads the meson test logs (testlog.json, one JSON object per test program),
the fuzz log and the checks file written by scripts/test.sh.  A test program
that prints its own counts (cmocka's "[  PASSED  ] N test(s)." or our
runners' "N passed, N failed") contributes those; any other program counts
once.  A program that failed without reporting a failed case still counts
as one failure, so a crash can never pass unnoticed.
"""
import json
import os
import re
import sys

CMOCKA_PASS = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
CMOCKA_FAIL = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
OURS = re.compile(r"(?:^|\s)(\d+) passed, (\d+) failed", re.M)


def program_counts(entry):
    out = entry.get("stdout") or ""
    ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
    skipped = entry.get("result") == "SKIP"
    if skipped:
        return 0, 0, 1
    passed = failed = 0
    found = False
    for m in OURS.finditer(out):
        passed += int(m.group(1))
        failed += int(m.group(2))
        found = True
    if not found:
        p = CMOCKA_PASS.findall(out)
        f = CMOCKA_FAIL.findall(out)
        if p or f:
            passed = sum(map(int, p))
            failed = sum(map(int, f))
            found = True
    if not found:
        passed, failed = (1, 0) if ok else (0, 1)
    if not ok and failed == 0:
        failed = 1
    return passed, failed, 0


def main(results):
    total_p = total_f = total_s = 0
    for log, label in (("main.json", ""), ("asan.json", "asan ")):
        path = os.path.join(results, log)
        if not os.path.exists(path):
            if log == "main.json":
                print("no test log: the tests did not run")
                total_f += 1
            continue
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                p, fl, s = program_counts(entry)
                total_p += p
                total_f += fl
                total_s += s
                if fl:
                    print(f"FAILED: {label}{entry.get('name')} ({fl} failed)")
    fuzz = os.path.join(results, "fuzz.log")
    if os.path.exists(fuzz):
        with open(fuzz) as f:
            text = f.read()
        total_p += len(re.findall(r"^fuzz \S+: ok", text, re.M))
        nf = len(re.findall(r"^fuzz \S+: FAILED", text, re.M))
        total_f += nf
        if not re.search(r"^fuzz: \d+ passed", text, re.M):
            print("FAILED: the fuzz run did not finish")
            total_f += 1
    checks = os.path.join(results, "checks")
    if os.path.exists(checks):
        with open(checks) as f:
            for line in f:
                state, name = line.split(None, 1)
                if state == "OK":
                    total_p += 1
                else:
                    total_f += 1
                    print(f"FAILED: {name.strip()}")
    line = f"{total_p} passed, {total_f} failed"
    if total_s:
        line += f", {total_s} skipped"
    print(line)
    return 0 if total_f == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
