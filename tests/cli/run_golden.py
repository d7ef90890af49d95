#!/usr/bin/python3
"""run_golden - golden tests of the smexop command line.

Every tests/cli/<group>/NAME.cmd is one case:

    # a comment saying what the case checks
    smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/x.eml
    stdin @CASES@/x.eml        (optional: what standard input gets; default empty)
    exit 2                     (optional: the exit status wanted; default 0)
    ignore-stdout              (optional: for output that is random, e.g. new keys)

The command line is split like a shell would (no expansion); `smexop` is the
executable under test; @DATA@ is tests/data, @CASES@ the case's directory,
@TMP@ a fresh temporary directory, which is also the working directory.
NAME.ref holds the standard output wanted, NAME.err the standard error (a
missing file: that output must be empty).  Paths in the output are turned
back into the placeholders before comparing.

Usage: run_golden.py SMEXOP [--update] [NAME...]
--update rewrites .ref/.err from what smexop prints now: review the diff.
Prints one line per case and `N passed, N failed`.
"""

import difflib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")


def load_case(path):
    case = {"argv": None, "stdin": None, "exit": 0, "ignore_stdout": False}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if case["argv"] is None:
                case["argv"] = shlex.split(line)
            elif line.startswith("stdin "):
                case["stdin"] = line[6:].strip()
            elif line.startswith("exit "):
                case["exit"] = int(line[5:])
            elif line == "ignore-stdout":
                case["ignore_stdout"] = True
            else:
                raise ValueError("%s: unknown line %r" % (path, line))
    if case["argv"] is None or case["argv"][0] != "smexop":
        raise ValueError("%s: no `smexop ...` command line" % path)
    return case


def read(path, default=b""):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


def run_case(exe, cmd_path, update):
    """run_case - None when the case passes, else a description."""
    cases = os.path.dirname(cmd_path)
    base = cmd_path[:-4]
    case = load_case(cmd_path)
    tmp = tempfile.mkdtemp(prefix="smexop-golden-")
    subst = [("@DATA@", DATA), ("@CASES@", cases), ("@TMP@", tmp)]

    def expand(s):
        for k, v in subst:
            s = s.replace(k, v)
        return s

    def unexpand(b):
        for k, v in subst:
            b = b.replace(v.encode(), k.encode())
        return b

    try:
        argv = [exe] + [expand(a) for a in case["argv"][1:]]
        stdin = read(expand(case["stdin"]), None) if case["stdin"] else b""
        if stdin is None:
            return "stdin file missing: %s" % case["stdin"]
        p = subprocess.run(argv, input=stdin, capture_output=True, cwd=tmp, timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out, err = unexpand(p.stdout), unexpand(p.stderr)
    if update:
        for got, path in ((None if case["ignore_stdout"] else out, base + ".ref"),
                          (err, base + ".err")):
            if got:
                with open(path, "wb") as f:
                    f.write(got)
            elif got is not None and os.path.exists(path):
                os.unlink(path)
    problems = []
    if p.returncode != case["exit"]:
        problems.append("exit %d, wanted %d" % (p.returncode, case["exit"]))
    for what, got, want_path in (("stdout", out, base + ".ref"), ("stderr", err, base + ".err")):
        if what == "stdout" and case["ignore_stdout"]:
            continue
        want = read(want_path)
        if got != want:
            diff = difflib.unified_diff(want.decode(errors="replace").splitlines(),
                                        got.decode(errors="replace").splitlines(),
                                        "want " + what, "got " + what, lineterm="", n=1)
            problems.append("\n".join(list(diff)[:40]))
    return "\n".join(problems) if problems else None


def main():
    args = [a for a in sys.argv[1:] if a != "--update"]
    update = "--update" in sys.argv[1:]
    if not args:
        print("usage: run_golden.py SMEXOP [--update] [NAME...]")
        print("0 passed, 1 failed")
        return 1
    exe = os.path.abspath(args[0])
    only = set(args[1:])
    passed = failed = 0
    for group in sorted(os.listdir(HERE)):
        gdir = os.path.join(HERE, group)
        if not os.path.isdir(gdir):
            continue
        for name in sorted(os.listdir(gdir)):
            if not name.endswith(".cmd") or (only and name[:-4] not in only):
                continue
            label = "%s/%s" % (group, name[:-4])
            try:
                problem = run_case(exe, os.path.join(gdir, name), update)
            except (ValueError, OSError, subprocess.TimeoutExpired) as e:
                problem = str(e)
            if problem:
                failed += 1
                print("FAIL %s: %s" % (label, problem))
            else:
                passed += 1
                print("ok   %s" % label)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
