#!/usr/bin/python3
"""test_connectors - inbound connectors, outbound mail and the directory
table through `smexop serve` over SMTP on loopback.

The generated configuration has three inbound connectors: `onprem`
(127.0.0.5 and 127.0.0.6, trusted, relay; 127.0.0.5 is also on the IP
block list), `partner-tls` (127.0.0.7, require_tls) and `partner-cert`
(a client certificate named *.partner.example, verified against a CA made
here, relay); DKIM signing for example.org with keys from `smexop dkim
init`, published in the zone file; outbound_spam with 3 external
recipients an hour and the action restrict; the directory file with
bob@example.org and the store's table refreshed at every RCPT.  External
mail goes to a small SMTP sink (example.net's MX on queue.direct_port)
when the queue manager delivers it.  With smtplib (source addresses
127.0.0.N) and swaks:

  - on-prem (127.0.0.5, blocked IP, trusted) relays to example.net: 250,
    the log says direction=outbound connector=onprem, the spool entry
    (or what the sink got) carries a DKIM-Signature that dkimpy verifies
    against the zone file's key;
  - another blocked IP still gets the block list's 550 5.7.1;
  - an unknown IP to example.net: 550 5.7.54 SMTP; Unable to relay
    recipient in non-accepted domain;
  - partner-tls without STARTTLS: MAIL gets 530 5.7.0; with STARTTLS: 250;
  - a client certificate matching *.partner.example (swaks --tls-cert)
    relays to example.net; without it the same client may not;
  - sender limits: 2 + 2 external recipients from one sender, the second
    message is refused with 550 5.1.8 and the sender restricted; the next
    RCPT is refused too; `smexop restricted list` shows it, `release`
    lets it send again;
  - the directory table: carol@example.org refused (550 5.4.1), `smexop
    directory add` admits her (and carol+tag@) in the running gateway,
    `remove` refuses her again; `import` of a file admits dave@;
  - with action alert instead: over the limit the message goes on, with
    the alert line and outbound_spam_alert in the trace.

Usage: test_connectors.py SMEXOP       prints `N passed, N failed`
"""

import base64
import os
import re
import smtplib
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from smexoptest import Results, Serve, free_port, sanitizer_report, serve_log, wait_for

CONFIG = """server:
  hostname: mx.example.org
  authserv_id: mx.example.org
log:
  level: info
dns:
  zone_file: {tmp}/zone
  timeout: 2s
listeners:
  - address: 127.0.0.1
    port: {port}
    tls: starttls
tls:
  cert_file: {tmp}/cert.pem
  key_file: {tmp}/key.pem
  client_ca_file: {tmp}/ca.pem
store:
  path: {tmp}/state/smexop.db
spool:
  dir: {tmp}/spool
delivery:
  maildir: {tmp}/mail
{queue}accepted_domains:
  - domain: example.org
    type: authoritative
directory:
  file: {tmp}/directory
  store_refresh: 0s
connection_filter:
  ip_block: ["127.0.0.5", "127.0.0.8"]
dkim:
  signing:
    - domain: example.org
      key_dir: {tmp}/keys
inbound_connectors:
  - name: onprem
    type: on_premises
    sender_ip_ranges: ["127.0.0.5", "127.0.0.6 second server"]
    trusted: true
    relay: true
  - name: partner-tls
    sender_ip_ranges: ["127.0.0.7"]
    require_tls: true
  - name: partner-cert
    tls_cert_names: ["*.partner.example"]
    relay: true
outbound_spam:
  external_per_hour: 3
  action: restrict
"""

ZONE = """$TTL 300
$ORIGIN example.net.
@       IN MX 10 mx
mx      IN A 127.0.0.1
$ORIGIN example.org.
@       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
"""


# ---- a sink for what the queue manager delivers to example.net -------------

class Sink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port):
        self.messages = []
        super().__init__(("127.0.0.1", port), SinkHandler)


class SinkHandler(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"220 sink ESMTP\r\n")
        data = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data is not None:
                if line == b".\r\n":
                    self.server.messages.append(b"".join(data))
                    data = None
                    w(b"250 2.0.0 ok\r\n")
                else:
                    data.append(line[1:] if line.startswith(b".") else line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO", b"LHLO"):
                w(b"250 sink\r\n")
            elif verb == b"DATA":
                data = []
                w(b"354 go\r\n")
            elif verb == b"QUIT":
                w(b"221 bye\r\n")
                return
            else:
                w(b"250 ok\r\n")


# ---- helpers -------------------------------------------------------------------

def message(sender, to, subject):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s.%d@test>\r\n\r\nHello from the connector test.\r\n"
            % (sender, to, subject, subject.replace(" ", "-"), os.getpid()))


def send(port, sender, rcpts, data, source="127.0.0.1", starttls=False, cert=None):
    """send - (code, text, stage) of the first refusal, or of the final reply."""
    try:
        with smtplib.SMTP("127.0.0.1", port, source_address=(source, 0), timeout=20) as s:
            code, text = s.ehlo("client.example.org")
            if code != 250:
                return code, text.decode(), "ehlo"
            if starttls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                if cert is not None:
                    ctx.load_cert_chain(cert[0], cert[1])
                s.starttls(context=ctx)
                s.ehlo("client.example.org")
            code, text = s.mail(sender)
            if code != 250:
                return code, text.decode(), "mail"
            for r in rcpts:
                code, text = s.rcpt(r)
                if code != 250:
                    return code, text.decode(), "rcpt"
            code, text = s.data(data.encode())
            return code, text.decode(), "data"
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error.decode(), "connect"
    except smtplib.SMTPServerDisconnected as e:
        return 0, str(e), "disconnected"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(tmp):
    p = lambda n: os.path.join(tmp, n)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=mx.example.org", "-keyout", p("key.pem"), "-out", p("cert.pem"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Test Partner CA", "-keyout", p("ca.key"), "-out", p("ca.pem"),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, cn in (("client", "relay.partner.example"), ("other", "relay.other.example")):
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % cn,
                "-keyout", p(name + ".key"), "-out", p(name + ".csr"))
        with open(p(name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=clientAuth\n" % cn)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"), "-CAkey",
                p("ca.key"), "-CAcreateserial", "-days", "2", "-out", p(name + ".pem"),
                "-extfile", p(name + ".ext"))


def dkim_keys(smexop, cfg, tmp):
    """dkim_keys - `smexop dkim init`, then the active key's record in the zone
    file; returns {name: TXT value} for dkimpy."""
    subprocess.run([smexop, "dkim", "init", "example.org", "-c", cfg], check=True,
                   capture_output=True)
    key = os.path.join(tmp, "keys", "example.org", "selector1.rsa.pem")
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    value = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    chunks = " ".join('"%s"' % value[i:i + 200] for i in range(0, len(value), 200))
    with open(os.path.join(tmp, "zone"), "a") as f:
        f.write("$ORIGIN example.org.\nselector1._domainkey IN TXT ( %s )\n" % chunks)
    return {"selector1._domainkey.example.org.": value}


def zone_txt(zone_file):
    """zone_txt - the TXT records of the zone file (our simple syntax), by name."""
    out, origin = {}, ""
    with open(zone_file) as f:
        text = f.read()
    for m in re.finditer(r'^\$ORIGIN (\S+)$|^(\S+)\s+IN TXT \(?\s*((?:"[^"]*"\s*)+)\)?',
                         text, re.M):
        if m.group(1):
            origin = m.group(1)
        else:
            name = m.group(2) + "." + origin
            out[name] = "".join(re.findall(r'"([^"]*)"', m.group(3)))
    return out


def spool_entries(tmp):
    """spool_entries - {id: (envelope text, data bytes)} of queue/."""
    d = os.path.join(tmp, "spool", "queue")
    out = {}
    for n in os.listdir(d) if os.path.isdir(d) else []:
        if n.endswith(".env"):
            try:
                with open(os.path.join(d, n)) as f:
                    env = f.read()
                with open(os.path.join(d, n[:-4]), "rb") as f:
                    out[n[:-4]] = (env, f.read())
            except OSError:
                pass
    return out


def unescape(s):
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), s)


def delivered_form(env, data):
    """delivered_form - the message as it leaves: the H records on top of the data."""
    heads = [unescape(l[2:]) for l in env.splitlines() if l.startswith("H ")]
    return "".join(h + "\r\n" for h in heads).encode() + data


def find_outbound(tmp, sink, subject):
    """find_outbound - (G record or None, the message as delivered) of subject,
    from the spool's queue/ or from what the sink received."""
    def look():
        for env, data in spool_entries(tmp).values():
            if ("Subject: %s\r\n" % subject).encode() in data:
                g = [l for l in env.splitlines() if l.startswith("G ")]
                return (g[0] if g else "", delivered_form(env, data))
        for m in sink.messages:
            if ("Subject: %s\r\n" % subject).encode() in m:
                return (None, m)
        return None
    return wait_for(look, 15)


def dkim_ok(msg, txt):
    import dkim

    def dnsfunc(name, timeout=5):
        v = txt.get(name.decode() if isinstance(name, bytes) else name)
        return v.encode() if v else None
    return dkim.verify(msg, dnsfunc=dnsfunc)


def cli(smexop, cfg, *args):
    p = subprocess.run([smexop, *args, "-c", cfg], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


# ---- the cases -------------------------------------------------------------------

def run_cases(res, smexop, cfg, port, tmp, sink, txt):
    # on-prem relays to the Internet: outbound, DKIM-signed, the IP block skipped
    r = send(port, "alice@example.org", ["ext@example.net"],
             message("alice@example.org", "ext@example.net", "outbound one"), "127.0.0.5")
    res.check("onprem (blocked IP, trusted) relays to example.net: 250", r[0] == 250, r)
    got = find_outbound(tmp, sink, "outbound one")
    res.check("outbound: the message is queued or delivered", got is not None)
    if got is not None:
        g, msg = got
        if g is not None:
            res.check("outbound: the spool entry's G record says outbound onprem",
                      g == "G outbound onprem", g)
        res.check("outbound: a DKIM-Signature on top", msg.startswith(b"DKIM-Signature:"),
                  msg[:200])
        res.check("outbound: dkimpy verifies it against the zone's key", dkim_ok(msg, txt))
        res.check("outbound: no inbound verdict fields",
                  b"X-Smexop-Antispam-Report" not in msg)
        res.check("outbound: our Received field under the signature",
                  re.search(rb"\r\nReceived: from client\.example\.org \(unknown "
                            rb"\[127\.0\.0\.5\]\)\r\n\tby mx\.example\.org", msg) is not None,
                  msg[:600])
    res.check("outbound: logged direction=outbound connector=onprem",
              wait_for(lambda: re.search(r"direction=outbound connector=onprem",
                                         serve_log(tmp)), 5))

    code, out = cli(smexop, cfg, "trace", "--recipient", "ext@example.net", "--json")
    key = re.search(r'"id":\s*"([^"]+)"', out)
    code, out = cli(smexop, cfg, "trace", "--detail", key.group(1) if key else "-")
    res.check("outbound: the message trace says direction=outbound connector=onprem",
              code == 0 and "direction=outbound connector=onprem" in out, out)

    # trusted internal mail from on-prem: no inbound verdicts
    r = send(port, "alice@example.org", ["bob@example.org"],
             message("alice@example.org", "bob@example.org", "internal"), "127.0.0.5")
    res.check("onprem to an internal recipient: 250", r[0] == 250, r)
    res.check("internal: delivered as trusted (SCL -1, TRUSTED_CONNECTOR), inbound",
              wait_for(lambda: re.search(r"subject=internal action=deliver scl=-1 sfv=SKN .*"
                                         r"why=trusted_connector reasons=TRUSTED_CONNECTOR:0 "
                                         r"reply=0 direction=inbound connector=onprem",
                                         serve_log(tmp)), 5), serve_log(tmp)[-3000:])
    r = send(port, "alice@example.org", ["bob@example.org", "ext2@example.net"],
             message("alice@example.org", "bob@example.org", "mixed"), "127.0.0.5")
    res.check("inbound and outbound recipients in one transaction: the second is deferred 452",
              r[0] == 452 and r[2] == "rcpt" and r[1].startswith("4.5.3"), r)

    r = send(port, "x@example.org", ["bob@example.org"], message("x@example.org",
             "bob@example.org", "blocked"), "127.0.0.8")
    res.check("another blocked IP: 550 5.7.1 at connect",
              r[0] == 550 and "5.7.1" in r[1], r)

    # no connector: no relay
    r = send(port, "alice@example.org", ["ext@example.net"],
             message("alice@example.org", "ext@example.net", "no relay"), "127.0.0.1")
    res.check("unknown IP to example.net: 550 5.7.54 EOP's text",
              r[0] == 550 and r[2] == "rcpt" and
              r[1] == "5.7.54 SMTP; Unable to relay recipient in non-accepted domain", r)

    # require_tls
    r = send(port, "p@partner.example", ["bob@example.org"],
             message("p@partner.example", "bob@example.org", "plain"), "127.0.0.7")
    res.check("require_tls without STARTTLS: MAIL gets 530 5.7.0",
              r[0] == 530 and r[2] == "mail" and r[1].startswith("5.7.0 Must issue a STARTTLS"),
              r)
    r = send(port, "p@partner.example", ["bob@example.org"],
             message("p@partner.example", "bob@example.org", "over tls"), "127.0.0.7",
             starttls=True)
    res.check("require_tls with STARTTLS: 250", r[0] == 250, r)
    r = send(port, "p@partner.example", ["ext@example.net"],
             message("p@partner.example", "ext@example.net", "partner relay"), "127.0.0.7",
             starttls=True)
    res.check("partner-tls has no relay rights: 550 5.7.54", r[0] == 550 and "5.7.54" in r[1],
              r)

    # a client certificate names the connector (swaks, as a partner's MTA would)
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--tls",
                        "--tls-cert", os.path.join(tmp, "client.pem"),
                        "--tls-key", os.path.join(tmp, "client.key"),
                        "--from", "bob@partner.example", "--to", "ext@example.net",
                        "--helo", "relay.partner.example",
                        "--header", "Subject: cert relay", "--timeout", "20"],
                       capture_output=True, text=True)
    res.check("client certificate *.partner.example: relay to example.net (swaks)",
              p.returncode == 0 and "250 2.0.0 Ok: queued" in p.stdout, p.stdout[-800:])
    res.check("client certificate: logged connector=partner-cert by=cert",
              wait_for(lambda: "connector=partner-cert by=cert" in serve_log(tmp), 5))
    r = send(port, "bob@partner.example", ["ext@example.net"],
             message("bob@partner.example", "ext@example.net", "other cert"), "127.0.0.1",
             starttls=True, cert=(os.path.join(tmp, "other.pem"), os.path.join(tmp, "other.key")))
    res.check("a certificate with another name: 550 5.7.54", r[0] == 550 and "5.7.54" in r[1],
              r)

    # outbound spam limits: 3 external recipients an hour, then restricted
    rc2 = ["a1@example.net", "a2@example.net"]
    r = send(port, "bulk@example.org", rc2, message("bulk@example.org", "a1@example.net",
             "bulk one"), "127.0.0.6")
    res.check("limits: 2 external recipients: 250", r[0] == 250, r)
    r = send(port, "bulk@example.org", ["b1@example.net", "b2@example.net"],
             message("bulk@example.org", "b1@example.net", "bulk two"), "127.0.0.6")
    res.check("limits: 2 more (4 > 3): 550 5.1.8 at the end of data",
              r[0] == 550 and r[2] == "data" and
              r[1] == "5.1.8 Access denied, bad outbound sender", r)
    r = send(port, "bulk@example.org", ["c1@example.net"],
             message("bulk@example.org", "c1@example.net", "bulk three"), "127.0.0.6")
    res.check("limits: restricted: RCPT refused with 550 5.1.8",
              r[0] == 550 and r[2] == "rcpt" and "5.1.8" in r[1], r)
    res.check("limits: an alert line in the log",
              "kind=outbound-limit sender=bulk@example.org" in serve_log(tmp))
    code, out = cli(smexop, cfg, "restricted", "list")
    res.check("smexop restricted list shows the sender",
              code == 0 and "bulk@example.org" in out and "external_per_hour" in out, out)
    code, out = cli(smexop, cfg, "restricted", "release", "bulk@example.org")
    res.check("smexop restricted release", code == 0, out)
    r = send(port, "bulk@example.org", ["d1@example.net"],
             message("bulk@example.org", "d1@example.net", "bulk four"), "127.0.0.6")
    res.check("limits: released: 1 more (3 in all): 250", r[0] == 250, r)
    code, out = cli(smexop, cfg, "restricted", "list")
    res.check("smexop restricted list: empty again", code == 0 and out.strip() == "", out)

    # the directory table, changed while the gateway runs
    def rcpt(addr):
        return send(port, "x@good.example", [addr], message("x@good.example", addr, "dir"),
                    "127.0.0.1")
    r = rcpt("carol@example.org")
    res.check("directory: carol unknown: 550 5.4.1", r[0] == 550 and "5.4.1" in r[1], r)
    code, out = cli(smexop, cfg, "directory", "add", "carol@example.org")
    res.check("smexop directory add", code == 0, out)
    r = rcpt("carol@example.org")
    res.check("directory: carol admitted in the running gateway", r[0] == 250, r)
    r = rcpt("Carol+news@Example.org")
    res.check("directory: carol+news@ admitted (sub-address, case)", r[0] == 250, r)
    code, out = cli(smexop, cfg, "directory", "list")
    res.check("smexop directory list", code == 0 and "carol@example.org" in out, out)
    code, out = cli(smexop, cfg, "directory", "remove", "carol@example.org")
    res.check("smexop directory remove", code == 0, out)
    r = rcpt("carol@example.org")
    res.check("directory: carol refused again", r[0] == 550 and "5.4.1" in r[1], r)
    with open(os.path.join(tmp, "import"), "w") as f:
        f.write("# from the HR system\ndave@example.org\nhelp@example.org: dave@example.org\n")
    code, out = cli(smexop, cfg, "directory", "import", os.path.join(tmp, "import"))
    res.check("smexop directory import", code == 0 and "imported 2" in out, out)
    r = rcpt("help@example.org")
    res.check("directory: an imported alias is admitted", r[0] == 250, r)
    r = rcpt("bob@example.org")
    res.check("directory: the file's entries still count", r[0] == 250, r)


def alert_phase(res, smexop, tmp, text):
    """alert_phase - the same gateway with action alert: over the limit the
    message goes on, with an alert line and the reason in the trace."""
    port = free_port()
    text = re.sub(r"port: \d+", "port: %d" % port, text)
    text = text.replace("  external_per_hour: 3\n  action: restrict\n",
                        "  external_per_hour: 1\n  action: alert\n")
    cfg = os.path.join(tmp, "alert.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    with Serve(smexop, cfg, port, tmp) as srv:
        if not srv.up:
            res.check("alert: smexop serve listens", False, "exit %s" % srv.proc.poll())
            return
        r = send(port, "alerty@example.org", ["e1@example.net", "e2@example.net"],
                 message("alerty@example.org", "e1@example.net", "alert one"), "127.0.0.6")
        res.check("alert: over the limit, the message still goes: 250", r[0] == 250, r)
        res.check("alert: the alert line",
                  wait_for(lambda: "kind=outbound-limit sender=alerty@example.org limit="
                           "external_per_hour action=alert" in serve_log(tmp), 5))
        code, out = cli(smexop, cfg, "trace", "--sender", "alerty@example.org", "--json")
        key = re.search(r'"id":\s*"([^"]+)"', out)
        code, out = cli(smexop, cfg, "trace", "--detail", key.group(1) if key else "-")
        res.check("alert: the trace says outbound_spam_alert",
                  code == 0 and "outbound_spam_alert" in out, out)
        code, out = cli(smexop, cfg, "restricted", "list")
        res.check("alert: nobody restricted", code == 0 and "alerty" not in out, out)


def prepare(smexop, tmp, edit=None):
    """prepare - the gateway of these cases in tmp (test_keyholder's too):
    the zone file, the directory, the certificates, the sink started as
    example.net's MX, the configuration written (changed by edit(text) when
    given) and the DKIM keys made; (cfg, port, sink, dkim_keys' records)."""
    with open(os.path.join(tmp, "zone"), "w") as f:
        f.write(ZONE)
    with open(os.path.join(tmp, "directory"), "w") as f:
        f.write("bob@example.org\n")
    make_certs(tmp)
    port, sink_port = free_port(), free_port()
    sink = Sink(sink_port)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    cfg = os.path.join(tmp, "smexop.yaml")
    edit = edit or (lambda text: text)
    with open(cfg, "w") as f:
        f.write(edit(CONFIG.format(tmp=tmp, port=port,
                                   queue="queue:\n  direct_port: %d\n" % sink_port)))
    if subprocess.run([smexop, "config", "check", cfg], capture_output=True).returncode:
        with open(cfg, "w") as f:  # a build without the queue manager's section
            f.write(edit(CONFIG.format(tmp=tmp, port=port, queue="")))
    return cfg, port, sink, dkim_keys(smexop, cfg, tmp)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    smexop = os.path.abspath(sys.argv[1])
    res = Results()
    with tempfile.TemporaryDirectory(prefix="smexop-conn-") as tmp:
        cfg, port, sink, _ = prepare(smexop, tmp)
        txt = zone_txt(os.path.join(tmp, "zone"))
        srv = Serve(smexop, cfg, port, tmp)
        try:
            if not srv.up:
                res.check("smexop serve listens", False, "exit %s" % srv.proc.poll())
            else:
                run_cases(res, smexop, cfg, port, tmp, sink, txt)
        finally:
            rc = srv.stop()
            sink.shutdown()
        res.check("SIGTERM: exit 0", rc == 0, "exit %s" % rc)
        alert_phase(res, smexop, tmp, open(cfg).read())
        res.check("no sanitizer report in the log (ASan/UBSan builds)",
                  not sanitizer_report(serve_log(tmp)))
        if res.failed:
            sys.stdout.write(serve_log(tmp)[-8000:])
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
