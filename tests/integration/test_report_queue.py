#!/usr/bin/python3
"""test_report_queue - report mails through the queue manager of `smexop serve`.

`smexop serve -c CONFIG` on a free loopback port, DNS from a zone file, the
MX hosts of *.test an aiosmtpd with STARTTLS (queue.direct_port; the test
CA's certificates chosen by SNI), MTA-STS policies served over HTTPS by
tests/conformance/mtasts_server.py.  Mail comes in from 127.0.0.1 through an
inbound connector with relay rights, so it is outbound and goes direct.

  - config pass-through: mta_sts.ca_file and mta_sts.port reach the resolver
    (an enforce policy whose mx does not list the MX defers 451 4.4.8);
    mta_sts.fetch_timeout (a policy host slower than it: delivered as
    without a policy); mta_sts.refresh_margin (the queue manager's timer
    refetches a cached policy before it expires); mta_sts.enabled: false
    (the deferred message goes out); tls_reports.enabled gates the TLS-RPT
    counters;
  - RFC 8460 5.3: the TLS-RPT report mail about that domain, to that same
    domain, carries the K record and is delivered despite the failing
    MTA-STS policy, and its session is not counted;
  - `smexop dmarc report --queue`: the external destination's
    authorisation check times out (a DNS server that does not answer): the
    other destination is queued, this one stays pending and the messages
    stay unreported; the next run (DNS from the zone) sends it under the
    same report-id and marks them; a third run has nothing; both mails
    (K dmarc) are delivered to nomatch.test's failing MX, the report
    parsed with Python's email package;
  - the report scheduler of the queue manager (dmarc_reports.enabled,
    tls_reports.enabled, report_schedule.check_interval 2s): at start it
    queues the DMARC and TLS-RPT reports of ended periods (yesterday's
    DMARC messages, a TLS-RPT counter of yesterday put into the store),
    which are delivered and checked with Python's email package; a DMARC
    message of an older interval recorded while it runs is reported by a
    later round; after a restart nothing is sent again.

usage: test_report_queue.py SMEXOP
"""

import email
import email.policy
import gzip
import json
import shutil
import os
import smtplib
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
from smexoptest import ConfigServe, Results, free_port, serve_log, wait_for  # noqa: E402

ZONE = """$TTL 300
$ORIGIN example.org.
@       IN MX 10 mx
mx      IN A 127.0.0.1
"""

DOMAINS = ("nomatch", "slow", "ok")

CONFIG = """server:
  hostname: mx.example.org
log:
  level: info
dns:
  zone_file: {tmp}/zone
  timeout: 2s
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: none
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
delivery:
  maildir: {tmp}/mail
accepted_domains:
  - domain: example.org
    type: internal_relay
inbound_connectors:
  - name: onprem
    type: on_premises
    sender_ip_ranges: ["127.0.0.1"]
    trusted: true
    relay: true
queue:
  lifetime: 1h
  retry_min: 1h
  retry_max: 1h
  delay_warning: 0
  scan_interval: 30s
  direct_port: {mx}
mta_sts:
  enabled: {sts}
  ca_file: {ca}
  port: {web}
  fetch_timeout: 1s
  refresh_margin: 60s
tls_reports:
  enabled: {tlsrpt}
  org_name: Example Org
  email: tlsrpt@example.org
dmarc_reports:
  org_name: Example Org
  email: dmarc-reports@example.org
{extra}"""


class Handler:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                              "content": envelope.original_content,
                              "tls": session.ssl is not None})
        return "250 2.0.0 accepted"


def start_mx(port, ctx):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    handler = Handler()

    class Ctl(Controller):
        def factory(self):
            return SMTP(self.handler, tls_context=ctx, hostname="mx.test")

    ctl = Ctl(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, handler


def run(smexop, *args):
    p = subprocess.run([smexop] + list(args), capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def queue_list(smexop, cfg):
    rc, out, err = run(smexop, "queue", "list", "--json", "-c", cfg)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def send(port, rcpt, subject, sender="alice@example.org"):
    msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n"
           "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nbody\r\n"
           % (sender, rcpt, subject, subject.replace(" ", "-")))
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail(sender, [rcpt], msg)


def tlsrpt_sessions(db, domain):
    """(successful, failed) summed over the domain's TLS-RPT counters"""
    try:
        con = sqlite3.connect(db)
        row = con.execute("SELECT COALESCE(SUM(successful),0), COALESCE(SUM(failed),0)"
                          " FROM tlsrpt_counter WHERE policy_domain = ?", (domain,)).fetchone()
        con.close()
        return tuple(row)
    except sqlite3.Error:
        return (0, 0)


def Server(smexop, tmp, values, text=CONFIG):
    """Server - smexop serve on this test's configuration (tmp/smexop.yaml)"""
    return ConfigServe(smexop, tmp, text, values, name="smexop.yaml")


def entry_for(smexop, cfg, rcpt):
    for e in queue_list(smexop, cfg):
        if any(r.get("address") == rcpt for r in e.get("recipients", [])):
            return e
    return None


def sts_cases(res, smexop, tmp, web, mxh, values):
    """tasks 1 and 2: settings reach the resolver, report mails go despite MTA-STS"""
    db = os.path.join(tmp, "state", "smexop.db")
    srv = Server(smexop, tmp, values)
    try:
        send(srv.port, "x@nomatch.test", "enforced one")
        e = None

        def deferred():
            nonlocal e
            e = entry_for(smexop, srv.cfg, "x@nomatch.test")
            return e is not None and e["recipients"][0].get("attempts", 0) >= 1
        wait_for(deferred, 20)
        diag = e["recipients"][0].get("reply", "") if e else ""
        res.check("mta_sts.ca_file/port: the enforce policy was fetched and applies (451 4.4.8)",
                  e is not None and "failed MTA-STS validation" in diag and
                  any(h.startswith("mta-sts.nomatch.test") for h, _ in web.requests),
                  repr(e) + repr(web.requests))
        res.check("tls_reports.enabled: the failed session is counted",
                  tlsrpt_sessions(db, "nomatch.test")[1] >= 1,
                  repr(tlsrpt_sessions(db, "nomatch.test")))

        # refresh_margin 60s, max_age 30: the timer (every 7.5 s) refetches it
        before = sum(1 for h, _ in web.requests if h.startswith("mta-sts.nomatch.test"))
        refreshed = wait_for(lambda: sum(1 for h, _ in web.requests
                                         if h.startswith("mta-sts.nomatch.test")) > before, 20)
        res.check("mta_sts.refresh_margin: the queue manager refreshes a cached policy",
                  refreshed and "event=mta-sts-refresh" in serve_log(tmp),
                  "%d fetches before, %r" % (before, web.requests))

        # slow.test's policy host answers after 3 s, fetch_timeout is 1 s
        n0 = len(mxh.messages)
        send(srv.port, "x@slow.test", "slow policy")
        got = wait_for(lambda: any("x@slow.test" in m["rcpts"] for m in mxh.messages), 20)
        res.check("mta_sts.fetch_timeout: a slower policy fetch fails, delivered without policy",
                  got and "status=failed failure=sts-policy-fetch-error" in serve_log(tmp),
                  "%d->%d" % (n0, len(mxh.messages)))

        # the TLS-RPT report about nomatch.test goes to tls@nomatch.test: its MX
        # fails the policy, yet RFC 8460 5.3 says deliver it
        today = time.strftime("%Y-%m-%d", time.gmtime())
        rc, out, err = run(smexop, "tlsrpt", "report", "-c", srv.cfg, "--queue", "--json",
                           "--date", today, "--domain", "nomatch.test",
                           "--dns-zone", os.path.join(tmp, "zone"))
        res.check("tlsrpt report --queue: queued", rc == 0 and "queued as" in out, out + err)
        counted = tlsrpt_sessions(db, "nomatch.test")
        rep = entry_for(smexop, srv.cfg, "tls@nomatch.test")
        res.check("the report mail's envelope is marked (K tlsrpt)",
                  rep is not None and rep.get("report") == "tlsrpt", repr(rep))
        if rep is not None:
            run(smexop, "queue", "retry", rep["id"], "-c", srv.cfg)
        got = wait_for(lambda: any("tls@nomatch.test" in m["rcpts"] for m in mxh.messages), 20)
        msgs = [m for m in mxh.messages if "tls@nomatch.test" in m["rcpts"]]
        parsed = email.message_from_bytes(msgs[0]["content"], policy=email.policy.default) \
            if msgs else None
        res.check("RFC 8460 5.3: the report mail is delivered despite the failing policy",
                  got and parsed is not None and parsed["TLS-Report-Domain"] == "nomatch.test"
                  and "tlsrpt" in parsed.get_content_type() + str(parsed["Content-Type"]),
                  repr(msgs[:1])[:800])
        res.check("its session is not counted for TLS-RPT",
                  tlsrpt_sessions(db, "nomatch.test") == counted,
                  "%r -> %r" % (counted, tlsrpt_sessions(db, "nomatch.test")))
        e = entry_for(smexop, srv.cfg, "x@nomatch.test")
        res.check("the ordinary message stays deferred (no reuse of the report session)",
                  e is not None and not any("x@nomatch.test" in m["rcpts"]
                                            for m in mxh.messages), repr(e))
    finally:
        rc = srv.stop()
    res.check("serve stopped", rc == 0, "exit %s" % rc)

    # mta_sts.enabled false, tls_reports.enabled false: it goes, nothing counted
    counted = tlsrpt_sessions(db, "nomatch.test")
    srv = Server(smexop, tmp, dict(values, sts="false", tlsrpt="false"))
    try:
        e = entry_for(smexop, srv.cfg, "x@nomatch.test")
        if e is not None:
            run(smexop, "queue", "retry", e["id"], "-c", srv.cfg)
        got = wait_for(lambda: any("x@nomatch.test" in m["rcpts"] for m in mxh.messages), 20)
        res.check("mta_sts.enabled false: the deferred message is delivered", got,
                  repr(e))
        res.check("tls_reports.enabled false: its session is not counted",
                  tlsrpt_sessions(db, "nomatch.test") == counted,
                  "%r -> %r" % (counted, tlsrpt_sessions(db, "nomatch.test")))
    finally:
        srv.stop()


def dmarc_cases(res, smexop, tmp, mxh, values):
    """task 3: DMARC aggregate reports through the spool, per-destination state"""
    zone = os.path.join(tmp, "zone")
    db = os.path.join(tmp, "state", "smexop.db")
    srv = Server(smexop, tmp, values)
    try:
        yday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
        for i in range(3):
            rc, out, err = run(smexop, "dmarc", "--from-domain", "nomatch.test", "--spf-domain",
                               "nomatch.test", "--spf", "pass", "--record", "--ip", "192.0.2.7",
                               "--time", "%sT10:00:%02dZ" % (yday, i), "-c", srv.cfg,
                               "--dns-zone", zone)
        dead = free_port()
        rc, out, err = run(smexop, "dmarc", "report", "--queue", "--json", "-c", srv.cfg,
                           "--dns", "127.0.0.1:%d" % dead, "--dns-timeout", "300")
        first = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        st = {d["uri"]: (d["status"], d.get("state")) for d in first[0]["destinations"]} \
            if first else {}
        res.check("dmarc report --queue: the same-organisation destination is queued, the "
                  "external one whose check timed out stays pending",
                  rc == 0 and len(first) == 1 and not first[0]["complete"] and
                  st.get("mailto:dmarc@nomatch.test") == ("ok", "sent") and
                  st.get("mailto:agg@ext.example") == ("tempfail", "pending"), out + err)
        con = sqlite3.connect(db)
        unreported = con.execute("SELECT COUNT(*) FROM dmarc_sent").fetchone()[0]
        con.close()
        res.check("a temporary failure does not mark the messages reported", unreported == 0,
                  "%d dmarc_sent rows" % unreported)
        rc, out, err = run(smexop, "dmarc", "report", "--queue", "--json", "-c", srv.cfg,
                           "--dns-zone", zone)
        second = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        st = {d["uri"]: d.get("state") for d in second[0]["destinations"]} if second else {}
        res.check("the next run sends the pending one only, under the same report-id",
                  rc == 0 and len(second) == 1 and second[0]["complete"] and
                  second[0]["report_id"] == first[0]["report_id"] and
                  st == {"mailto:dmarc@nomatch.test": "sent", "mailto:agg@ext.example": "sent"}
                  and "earlier run" in json.dumps(second[0]), out + err)
        rc, out, err = run(smexop, "dmarc", "report", "--queue", "-c", srv.cfg,
                           "--dns-zone", zone)
        res.check("and marks the messages: a third run has nothing",
                  rc == 0 and "no messages to report" in out, out + err)
        reps = [e for e in queue_list(smexop, srv.cfg) if e.get("report") == "dmarc"]
        for e in reps:
            run(smexop, "queue", "retry", e["id"], "-c", srv.cfg)
        res.check("two report mails queued, marked K dmarc", len(reps) == 2, repr(reps))

        def got():
            return [m for m in mxh.messages
                    if m["rcpts"] in (["dmarc@nomatch.test"], ["agg@ext.example"])]
        wait_for(lambda: len(got()) == 2, 20)
        ok = len(got()) == 2
        for m in got():
            msg = email.message_from_bytes(m["content"], policy=email.policy.default)
            parts = [p for p in msg.walk() if p.get_filename()]
            xml = gzip.decompress(parts[0].get_content()) if parts else b""
            ok = ok and msg["From"] is not None and "dmarc@" not in str(msg["From"]) and \
                first[0]["report_id"].encode() in xml and b"<feedback" in xml and \
                str(msg["To"]).strip("<>") == m["rcpts"][0]
        res.check("both delivered despite nomatch.test's failing MTA-STS policy; the mail "
                  "carries the gzip'ed XML report with that report-id", ok,
                  repr([m["rcpts"] for m in mxh.messages]))
    finally:
        srv.stop()


def sched_cases(res, smexop, top, mxh, values):
    """task 4: the report scheduler inside the queue manager of smexop serve"""
    tmp = os.path.join(top, "sched")
    os.mkdir(tmp)
    shutil.copy(os.path.join(top, "zone"), os.path.join(tmp, "zone"))
    zone = os.path.join(tmp, "zone")
    db = os.path.join(tmp, "state", "smexop.db")
    os.mkdir(os.path.join(tmp, "state"))
    day = 86400
    yday = (int(time.time()) // day - 1) * day
    extra = ("report_schedule:\n  check_interval: 2s\n  start_delay: 0s\n"
             "  job_timeout: 60s\n")
    vals = dict(values, extra=extra)

    def record(t):
        return run(smexop, "dmarc", "--from-domain", "ok.test", "--spf-domain", "ok.test",
                   "--spf", "pass", "--record", "--ip", "192.0.2.9", "--time", str(t),
                   "--db", db, "--dns-zone", zone)
    for i in range(2):
        record(yday + 3600 + i)
    # a TLS-RPT counter of yesterday, as delivery would have left it
    run(smexop, "tlsrpt", "summary", "--db", db)  # creates the schema
    con = sqlite3.connect(db)
    con.execute("INSERT INTO tlsrpt_counter (day, policy_domain, policy_type, successful,"
                " failed) VALUES (?, 'ok.test', 'no-policy-found', 5, 0)", (yday,))
    con.commit()
    con.close()

    def mails(rcpt):
        return [m for m in mxh.messages if m["rcpts"] == [rcpt]]
    base_d, base_t = len(mails("dmarc@ok.test")), len(mails("tls@ok.test"))
    cfgtext = CONFIG.replace("dmarc_reports:\n", "dmarc_reports:\n  enabled: true\n")
    srv = Server(smexop, tmp, vals, text=cfgtext)
    try:
        got = wait_for(lambda: len(mails("dmarc@ok.test")) > base_d and
                       len(mails("tls@ok.test")) > base_t, 40)
        res.check("scheduler at start: the DMARC and TLS-RPT reports of ended periods are "
                  "queued and delivered", got,
                  "%r" % [m["rcpts"] for m in mxh.messages])
        ok = False
        if got:
            d = email.message_from_bytes(mails("dmarc@ok.test")[-1]["content"],
                                         policy=email.policy.default)
            att = [p for p in d.walk() if p.get_filename()]
            xml = gzip.decompress(att[0].get_content()).decode() if att else ""
            t = email.message_from_bytes(mails("tls@ok.test")[-1]["content"],
                                         policy=email.policy.default)
            tatt = [p for p in t.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
            rep_json = json.loads(gzip.decompress(tatt[0].get_content())) if tatt else {}
            pol = rep_json.get("policies", [{}])[0]
            ok = ("<domain>ok.test</domain>" in xml and "<count>2</count>" in xml and
                  t.get_content_type() == "multipart/report" and
                  t["TLS-Report-Domain"] == "ok.test" and
                  pol.get("summary", {}).get("total-successful-session-count") == 5)
        res.check("the report mails parse: DMARC XML for ok.test with 2 messages; TLS-RPT "
                  "multipart/report with 5 successful sessions", ok,
                  serve_log(tmp)[-3000:] if not ok else "")
        n_d = len(mails("dmarc@ok.test"))
        record(yday - 2 * day + 7200)  # an older interval, while it runs
        got = wait_for(lambda: len(mails("dmarc@ok.test")) > n_d, 30)
        res.check("a later round (check_interval) reports what was recorded meanwhile", got,
                  "%d -> %d" % (n_d, len(mails("dmarc@ok.test"))))
        log = serve_log(tmp)
        res.check("the rounds ran in the queue manager, their output logged",
                  "reports event=job-done job=dmarc status=0" in log and
                  "reports event=job-done job=tlsrpt status=0" in log and
                  "reports event=output job=dmarc" in log, log[-2000:])
    finally:
        srv.stop()
    counts = (len(mails("dmarc@ok.test")), len(mails("tls@ok.test")))
    with open(os.path.join(tmp, "serve.log"), "rb") as f:
        mark = len(f.read())
    srv = Server(smexop, tmp, vals, text=cfgtext)
    try:
        wait_for(lambda: serve_log(tmp)[mark:].count("event=round-done") >= 2, 30)
        time.sleep(1)
        res.check("after a restart nothing is sent again (the store says what is done)",
                  (len(mails("dmarc@ok.test")), len(mails("tls@ok.test"))) == counts and
                  serve_log(tmp)[mark:].count("event=round-done") >= 2,
                  "%r -> %r" % (counts, (len(mails("dmarc@ok.test")),
                                         len(mails("tls@ok.test")))))
    finally:
        srv.stop()
    con = sqlite3.connect(db)
    sent = con.execute("SELECT COUNT(*) FROM dmarc_sent").fetchone()[0]
    unrep = con.execute("SELECT COUNT(*) FROM tlsrpt_counter WHERE report_id IS NULL"
                        " AND day < ?", (yday + day,)).fetchone()[0]
    con.close()
    res.check("the store: two DMARC reports sent, yesterday's TLS-RPT counter reported",
              sent == 2 and unrep == 0, "%d sent, %d unreported" % (sent, unrep))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    try:
        import mtasts_server
    except ImportError as e:
        print("cannot import mtasts_server: %s" % e)
        return 1
    with tempfile.TemporaryDirectory(prefix="smexop-repq-") as tmp:
        d = os.path.join(tmp, "sts")
        os.mkdir(d)
        names = []
        for dom in DOMAINS:
            names += ["mta-sts.%s.test" % dom, "mx.%s.test" % dom]
        certs = mtasts_server.TestCerts(d, names)

        def policy(mode, mx, max_age=86400):
            return "version: STSv1\nmode: %s\n%smax_age: %d\n" % (
                mode, "".join("mx: %s\n" % m for m in mx), max_age)

        sites = {
            "mta-sts.nomatch.test": {"body": policy("enforce", ["*.elsewhere.test"], 30)},
            "mta-sts.slow.test": {"body": policy("enforce", ["*.elsewhere.test"]), "sleep": 3},
            "mta-sts.ok.test": {"body": policy("enforce", ["mx.ok.test"])},
        }
        for v in sites.values():
            v.update(status=200, content_type="text/plain")
        with open(os.path.join(d, "sites.json"), "w") as f:
            json.dump(sites, f)
        with open(os.path.join(tmp, "zone"), "w") as f:
            f.write(ZONE)
            for dom in DOMAINS:
                f.write('_mta-sts.%s.test. IN TXT "v=STSv1; id=1"\n' % dom)
                f.write("mta-sts.%s.test. IN A 127.0.0.1\n" % dom)
                f.write("%s.test. IN MX 10 mx.%s.test.\n" % (dom, dom))
                f.write("mx.%s.test. IN A 127.0.0.1\n" % dom)
                f.write('_smtp._tls.%s.test. IN TXT "v=TLSRPTv1; rua=mailto:tls@%s.test"\n'
                        % (dom, dom))
            f.write('_dmarc.nomatch.test. IN TXT "v=DMARC1; p=none; '
                    'rua=mailto:dmarc@nomatch.test,mailto:agg@ext.example"\n'
                    'nomatch.test. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
                    'nomatch.test._report._dmarc.ext.example. IN TXT "v=DMARC1"\n'
                    "ext.example. IN MX 10 mx.ok.test.\n"
                    '_dmarc.ok.test. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@ok.test"\n'
                    'ok.test. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n')
        web = mtasts_server.PolicyServer(certs, os.path.join(d, "sites.json"))
        web.start()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs.tmp, "good.pem"),
                            os.path.join(certs.tmp, "good.key"))

        def pick(s, name, _ctx):
            s.context = certs.context_for((name or "").lower())

        ctx.sni_callback = pick
        mx_port = free_port()
        ctl, mxh = start_mx(mx_port, ctx)
        values = dict(mx=mx_port, web=web.port, ca=certs.ca, sts="true", tlsrpt="true",
                      extra="")
        try:
            sts_cases(res, smexop, tmp, web, mxh, values)
            dmarc_cases(res, smexop, tmp, mxh, values)
            sched_cases(res, smexop, tmp, mxh, values)
        except Exception:
            sys.stdout.write(serve_log(tmp)[-8000:])
            raise
        finally:
            ctl.stop()
            web.stop()
        logs = serve_log(tmp)
        if os.path.exists(os.path.join(tmp, "sched", "serve.log")):
            logs += serve_log(os.path.join(tmp, "sched"))
        marks = [m for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if m in logs]
        # (a sanitized build) REPORT_QUEUE_LOGS=FILE keeps the logs of a failure
        if marks and os.environ.get("REPORT_QUEUE_LOGS"):
            with open(os.environ["REPORT_QUEUE_LOGS"], "w") as f:
                f.write(logs)
        res.check("no sanitizer reports in the logs (serve, queue manager, report jobs)",
                  not marks, logs[max(0, logs.find(marks[0]) - 300):][:3000] if marks else "")
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-8000:])
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
