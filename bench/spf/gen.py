"""gen - the SPF benchmark's zones and query set.

A handful of shared provider chains modelled on large senders (a Google-like
_spf -> _netblocks fan-out, a Microsoft-like spf.protection tree with a
nested include, SendGrid-, Mailchimp- and Amazon SES-like records), about a
thousand sender domains whose records mix ip4:, a, mx, include: of one to
three providers and ~all/-all, and a few thousand (ip, mail-from, helo)
queries matching early, late or not at all.

Addresses: 198.18.0.0/15 (RFC 2544, set aside for benchmarks) for the
provider netblocks, the RFC 5737 networks for the senders' own hosts,
2001:db8::/32 (RFC 3849) for IPv6.  No real public range appears.
Deterministic for a given seed.
"""

import ipaddress
import random

SENDERS_ZONE = "example.com"
PROVIDERS_ZONE = "example.net"
HELO_ZONE = "example.org"


def _v4(net, i):
    return str(ipaddress.ip_network(net)[i])


class Provider:
    """Provider - records of one provider and the ranges that match late."""

    def __init__(self, name, top, records, last_ranges, lookups):
        self.name = name
        self.top = top                  # the name senders include
        self.records = records          # [(owner relative to example.net, text)]
        self.last_ranges = last_ranges  # ranges in the last record evaluated
        self.all_ranges = []
        self.lookups = lookups          # DNS-querying terms the chain costs

    def include(self):
        return "include:%s.%s" % (self.top, PROVIDERS_ZONE)


def _blocks(rng, base16, count, ip6_base):
    """_blocks - count ip4 ranges inside 198.x.base16/16-ish plus some ip6."""
    out = []
    for _ in range(count):
        third = rng.randrange(0, 256)
        plen = rng.choice([19, 20, 21, 22, 23, 24, 24, 24, 25, 26])
        net = ipaddress.ip_network("%s.%d.0/%d" % (base16, third, plen), strict=False)
        out.append("ip4:%s" % net)
    for _ in range(rng.randrange(2, 5)):
        if rng.random() < 0.5:
            out.append("ip6:%s:%x::/64" % (ip6_base, rng.randrange(0, 0x10000)))
        else:
            out.append("ip6:%s:%x::/56" % (ip6_base, rng.randrange(0, 0x100) << 8))
    return out


def providers(rng):
    """providers - the shared chains, each as records in example.net."""
    provs = []

    # Google-like: _spf.g -> _netblocks{,2,3}.g, each full of ranges
    recs, last = [], None
    nb = ["_netblocks.g", "_netblocks2.g", "_netblocks3.g"]
    recs.append(("_spf.g", "v=spf1 %s ~all" % " ".join(
        "include:%s.%s" % (n, PROVIDERS_ZONE) for n in nb)))
    allr = []
    for j, n in enumerate(nb):
        terms = _blocks(rng, "198.18", 14, "2001:db8:%x" % (0x100 + j))
        recs.append((n, "v=spf1 %s ~all" % " ".join(terms)))
        allr += terms
        last = terms
    p = Provider("google", "_spf.g", recs, last, 4)
    p.all_ranges = allr
    provs.append(p)

    # Microsoft-like: spf.protection.m -> spfa, spfb (-> spfd)
    ta = _blocks(rng, "198.19", 10, "2001:db8:200")
    tb = _blocks(rng, "198.19", 8, "2001:db8:201")
    td = _blocks(rng, "198.19", 6, "2001:db8:202")
    recs = [
        ("spf.protection.m", "v=spf1 include:spfa.protection.m.%s include:spfb.protection.m.%s -all"
         % (PROVIDERS_ZONE, PROVIDERS_ZONE)),
        ("spfa.protection.m", "v=spf1 %s -all" % " ".join(ta)),
        ("spfb.protection.m", "v=spf1 %s include:spfd.protection.m.%s -all"
         % (" ".join(tb), PROVIDERS_ZONE)),
        ("spfd.protection.m", "v=spf1 %s -all" % " ".join(td)),
    ]
    p = Provider("microsoft", "spf.protection.m", recs, td, 4)
    p.all_ranges = ta + tb + td
    provs.append(p)

    # SendGrid-like: one flat record
    t = ["ip4:198.18.%d.0/24" % rng.randrange(0, 256) for _ in range(6)]
    p = Provider("sendgrid", "sendgrid", [("sendgrid", "v=spf1 %s ~all" % " ".join(t))], t, 1)
    p.all_ranges = t
    provs.append(p)

    # Mailchimp-like: servers.mcsv -> flat ranges
    t = ["ip4:198.19.%d.%d/27" % (rng.randrange(0, 256), 32 * rng.randrange(0, 8))
         for _ in range(10)]
    p = Provider("mailchimp", "servers.mcsv", [("servers.mcsv", "v=spf1 %s ?all" % " ".join(t))],
                 t, 1)
    p.all_ranges = t
    provs.append(p)

    # Amazon SES-like: amazonses -> ranges, -all
    t = ["ip4:198.18.%d.0/22" % (4 * rng.randrange(0, 64)) for _ in range(5)] + \
        ["ip6:2001:db8:300:%x::/64" % rng.randrange(0, 0xffff)]
    p = Provider("ses", "amazonses", [("amazonses", "v=spf1 %s -all" % " ".join(t))], t, 1)
    p.all_ranges = t
    provs.append(p)
    return provs


def _ip_in(rng, term):
    """_ip_in - a random address inside an ip4:/ip6: term."""
    net = ipaddress.ip_network(term.split(":", 1)[1], strict=False)
    if net.num_addresses <= 2:
        return str(net[0])
    return str(net[rng.randrange(1, min(net.num_addresses - 1, 1 << 24))])


def _nowhere(rng, ranges):
    """_nowhere - an address in 198.18/15 that no provider range covers."""
    nets = [ipaddress.ip_network(t.split(":", 1)[1], strict=False) for t in ranges
            if t.startswith("ip4:")]
    while True:
        ip = ipaddress.ip_address("198.%d.%d.%d" % (rng.choice([18, 19]), rng.randrange(256),
                                                     rng.randrange(1, 255)))
        if not any(ip in n for n in nets):
            return str(ip)


def generate(seed=7208, ndomains=1000, nqueries=3000):
    """generate - (zones {origin: [records]}, queries [(ip, mail_from, helo)])."""
    rng = random.Random(seed)
    provs = providers(rng)
    every_range = [t for p in provs for t in p.all_ranges]
    net, com, org = [], [], []
    for p in provs:
        for owner, text in p.records:
            net.append((owner, text))

    own_nets = ["192.0.2", "198.51.100", "203.0.113"]
    domains = []
    for n in range(ndomains):
        name = "d%04d" % n
        host = "%s.%d" % (rng.choice(own_nets), rng.randrange(1, 255))
        mxhost = "%s.%d" % (rng.choice(own_nets), rng.randrange(1, 255))
        com.append(("%s" % name, "A", host))
        com.append(("%s" % name, "MX", "10 mx.%s.%s." % (name, SENDERS_ZONE)))
        com.append(("mx.%s" % name, "A", mxhost))
        kind = rng.random()
        if kind < 0.02:
            domains.append((name, None, [host], [], "none"))  # no SPF at all
            continue
        terms, lookups = [], 0
        own = []
        if rng.random() < 0.5:
            prefix, last = host.rsplit(".", 1)
            own.append("ip4:%s.%d/30" % (prefix, int(last) & ~3))
            terms.append(own[-1])
        if rng.random() < 0.35:
            terms.append("a")
            lookups += 1
        if rng.random() < 0.35:
            terms.append("mx")
            lookups += 1
        k = rng.choices([1, 2, 3], weights=[50, 35, 15])[0]
        chosen = rng.sample(provs, k)
        kept = []
        for p in chosen:  # stay within the 10-lookup limit
            if lookups + p.lookups <= 10:
                kept.append(p)
                lookups += p.lookups
        chosen = kept
        for p in chosen:
            terms.append(p.include())
        allq = rng.choices(["~all", "-all", "?all"], weights=[55, 40, 5])[0]
        terms.append(allq)
        if kind < 0.03:
            terms.insert(1, "ip4:192.0.2.300")  # a typo, as seen in the wild: permerror
        com.append((name, "TXT", "v=spf1 " + " ".join(terms)))
        domains.append((name, chosen, [host], own, allq))

    queries = []
    for q in range(nqueries):
        name, chosen, hosts, own, allq = rng.choice(domains)
        mail_from = "user%d@%s.%s" % (rng.randrange(100), name, SENDERS_ZONE)
        helo = "mta%d.%s" % (rng.randrange(20), HELO_ZONE)
        r = rng.random()
        if chosen is None or r < 0.35:
            ip = _nowhere(rng, every_range)              # no match: the all term decides
        elif r < 0.50 and own:
            ip = _ip_in(rng, own[0])                     # early match
        elif r < 0.60:
            ip = hosts[0]                                # a (or fall through)
        elif r < 0.80 and chosen:
            ip = _ip_in(rng, rng.choice(chosen[-1].last_ranges))  # late: last provider
        elif chosen:
            p = rng.choice(chosen)
            ip = _ip_in(rng, rng.choice(p.all_ranges))   # somewhere in a provider
        else:
            ip = hosts[0]
        queries.append((ip, mail_from, helo))

    def fmt(recs):
        out = []
        for rec in recs:
            if len(rec) == 2:
                owner, text = rec
                out.append("%s IN TXT %s" % (owner, _txt(text)))
            else:
                owner, rtype, data = rec
                out.append("%s IN %s %s" % (owner, rtype, _txt(data) if rtype == "TXT" else data))
        return out

    org.append(("*", "A", "192.0.2.1"))
    return {SENDERS_ZONE: fmt(com), PROVIDERS_ZONE: fmt(net), HELO_ZONE: fmt(org)}, queries


def _txt(text):
    """_txt - master-file form of a TXT, split into 255-byte strings."""
    return " ".join('"%s"' % text[i:i + 250] for i in range(0, len(text), 250))


if __name__ == "__main__":
    z, qs = generate()
    for origin, recs in z.items():
        print(origin, len(recs), "records")
    print(len(qs), "queries")
