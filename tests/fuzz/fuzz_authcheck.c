/*
 * fuzz_authcheck - the whole authentication check on one message over a
 * fixed in-memory zone (tests/data/auth/auth.zone: SPF, DKIM keys, DMARC,
 * PTR), then the Authentication-Results output and the removal of our
 * authserv-id's fields.
 *
 * Input: a first line "IP HELO MAIL-FROM" (any of them may be missing;
 * defaults are used), then the message.  Oracles: the check calls back
 * exactly once; the field we write parses (strictly) with our authserv-id
 * and one result per engine; the removal ranges are ordered and inside
 * the header; a message rewritten without them has none left, and with
 * our own field put on top exactly that one is found again.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authcheck.h"
#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "mx.test.example"

static const char zone_text[] =
    "$TTL 300\n"
    "fabrikam.com. TXT \"v=spf1 ip4:10.2.3.4 -all\"\n"
    "4.3.2.10.in-addr.arpa. PTR mail.fabrikam.com.\n"
    "mail.fabrikam.com. A 10.2.3.4\n"
    "contoso.com. A 192.0.2.80\n"
    "rsa2048._domainkey.maliciousdomain.com. TXT \"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0B"
    "AQEFAAOCAQ8AMIIBCgKCAQEAvMzA82KSeLEx4Jj0sgWFUew9Y4h3nojUSTBsduZxy+nwuGM33YbDQpQyasew"
    "j127vlmlFO3D/WGHWC0grfiO3wB/owrA1j9XrvfknGZNvoQJKe11z2Sp8eUC2ShDFgnym/+Frr6KS1\" \"U"
    "g4avrg19CyyIsWarTpIm2KI7HYG0G//q5vL+poS66Mq9QSSJGx8iN04dJjYhGU2mQ6glMcNmbd9Rrq/MQnd0"
    "adIjbXye9dHxVC5awQB0MfN5S8PW4cHMEOcqgkEnduXLAvZzpxg2d0Kv7YO/i1xLx0yRuQ5NAR4jl3mi2zWr"
    "zi9xZhO3XzOokb8Z4cpStsBNcMW26d6\" \"XDpwIDAQAB\"\n"
    "example.com. TXT \"v=spf1 ip4:192.0.2.0/25 -all\"\n"
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.com\"\n"
    "rsa2048._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC"
    "AQ8AMIIBCgKCAQEAvMzA82KSeLEx4Jj0sgWFUew9Y4h3nojUSTBsduZxy+nwuGM33YbDQpQyasewj127vlml"
    "FO3D/WGHWC0grfiO3wB/owrA1j9XrvfknGZNvoQJKe11z2Sp8eUC2ShDFgnym/+Frr6KS1\" \"Ug4avrg19"
    "CyyIsWarTpIm2KI7HYG0G//q5vL+poS66Mq9QSSJGx8iN04dJjYhGU2mQ6glMcNmbd9Rrq/MQnd0adIjbXye"
    "9dHxVC5awQB0MfN5S8PW4cHMEOcqgkEnduXLAvZzpxg2d0Kv7YO/i1xLx0yRuQ5NAR4jl3mi2zWrzi9xZhO3"
    "XzOokb8Z4cpStsBNcMW26d6\" \"XDpwIDAQAB\"\n"
    "ed._domainkey.example.com. TXT \"v=DKIM1; k=ed25519; p=C3PktSJ4ZYfWibMCRnjYAu6+iygIu"
    "HlCXttsLz+dtt8=\"\n"
    "1.2.0.192.in-addr.arpa. PTR mx1.example.com.\n"
    "mx1.example.com. A 192.0.2.1\n"
    "200.2.0.192.in-addr.arpa. PTR forged.example.com.\n"
    "forged.example.com. A 192.0.2.99\n"
    "example.net. TXT \"v=spf1 ip4:198.51.100.0/24 ~all\"\n"
    "_dmarc.example.net. TXT \"v=DMARC1; p=quarantine; pct=50\"\n"
    "northwind.example. TXT \"v=spf1 ?all\"\n"
    "_dmarc.northwind.example. TXT \"v=DMARC1; p=none\"\n"
    "7.113.0.203.in-addr.arpa. PTR smtp.out.northwind.example.\n"
    "smtp.out.northwind.example. A 203.0.113.7\n"
    "lists.example.org. TXT \"v=spf1 ip4:198.51.100.25 -all\"\n"
    "rsa2048._domainkey.lists.example.org. TXT \"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQ"
    "EFAAOCAQ8AMIIBCgKCAQEAvMzA82KSeLEx4Jj0sgWFUew9Y4h3nojUSTBsduZxy+nwuGM33YbDQpQyasewj1"
    "27vlmlFO3D/WGHWC0grfiO3wB/owrA1j9XrvfknGZNvoQJKe11z2Sp8eUC2ShDFgnym/+Frr6KS1\" \"Ug4"
    "avrg19CyyIsWarTpIm2KI7HYG0G//q5vL+poS66Mq9QSSJGx8iN04dJjYhGU2mQ6glMcNmbd9Rrq/MQnd0ad"
    "IjbXye9dHxVC5awQB0MfN5S8PW4cHMEOcqgkEnduXLAvZzpxg2d0Kv7YO/i1xLx0yRuQ5NAR4jl3mi2zWrzi"
    "9xZhO3XzOokb8Z4cpStsBNcMW26d6\" \"XDpwIDAQAB\"\n";

static struct event_base *base;
static struct dns_zone *zone;
static struct dns *dns;

static void init(void)
{
	struct sx_err err;

	base = event_base_new();
	zone = dns_zone_new();
	if (base == NULL || zone == NULL ||
	    dns_zone_load_text(zone, "fuzz", zone_text, strlen(zone_text), NULL, &err) < 0)
		abort();
	/* a few failures so the temperror paths run too */
	if (dns_zone_add_failure(zone, "_dmarc.example.net", DNS_T_TXT, DNS_SERVFAIL) < 0 ||
	    dns_zone_add_timeout(zone, "rsa2048._domainkey.lists.example.org", 0) < 0 ||
	    dns_zone_add_failure(zone, "9.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_SERVFAIL) < 0)
		abort();
	dns = dns_new_zone(base, zone);
	if (dns == NULL)
		abort();
}

struct done {
	const struct authcheck_result *r;
	int calls;
};

static void on_done(const struct authcheck_result *r, void *arg)
{
	struct done *d = arg;

	d->r = r;
	d->calls++;
}

/* word - the next space-separated word of line[*i..n) as an arena string */
static const char *word(struct arena *a, const char *line, size_t n, size_t *i, const char *dflt)
{
	size_t s;

	while (*i < n && line[*i] == ' ')
		(*i)++;
	s = *i;
	while (*i < n && line[*i] != ' ')
		(*i)++;
	if (*i == s)
		return dflt;
	return arena_strndup(a, line + s, *i - s);
}

/* strip_count - how many ranges authcheck_strip_ours finds in text */
static size_t strip_count(struct arena *a, const char *text, size_t len, size_t *first_off)
{
	struct raw_message m;
	struct authcheck_range *rg;
	size_t n, i;

	if (raw_message_parse(&m, a, text, len, NULL, NULL) < 0)
		abort(); /* it parsed before we changed it */
	if (authcheck_strip_ours(a, &m, ID, &rg, &n) < 0)
		abort();
	for (i = 0; i < n; i++)
		if (rg[i].len == 0 || rg[i].offset + rg[i].len > m.header_len + 2 ||
		    (i > 0 && rg[i].offset <= rg[i - 1].offset + rg[i - 1].len - 1))
			abort();
	if (n > 0 && first_off != NULL)
		*first_off = rg[0].offset;
	return n;
}

static void check_output(struct arena *a, const struct raw_message *m,
                         const struct authcheck_result *r)
{
	const char *hdr = authcheck_header(a, r, ID, false);
	struct authcheck_range *rg;
	struct authres ar;
	struct sx_err err;
	struct buf out;
	size_t n, i, pos = 0, off = 1, colon, ndkim;

	if (hdr == NULL)
		abort();
	colon = strlen("Authentication-Results:");
	if (authres_parse(&ar, a, hdr + colon, strlen(hdr) - colon - 2, 0, &err) < 0)
		abort();
	ndkim = r->ndkim < AUTHCHECK_AR_MAX_DKIM ? r->ndkim : AUTHCHECK_AR_MAX_DKIM;
	if (strcmp(ar.authserv_id, ID) != 0 ||
	    ar.nresults != 6 + (r->spf_helo != NULL) + (ndkim > 0 ? ndkim - 1 : 0))
		abort();

	if (authcheck_strip_ours(a, m, ID, &rg, &n) < 0)
		abort();
	buf_init(&out, 2 * m->len + strlen(hdr) + 16);
	if (buf_puts(&out, hdr) < 0)
		abort();
	for (i = 0; i < n; i++) {
		if (rg[i].offset < pos || buf_append(&out, m->data + pos, rg[i].offset - pos) < 0)
			abort();
		pos = rg[i].offset + rg[i].len;
	}
	if (pos > m->len || buf_append(&out, m->data + pos, m->len - pos) < 0)
		abort();
	/* our field on top, found again; without it, none left */
	if (strip_count(a, out.data, out.len, &off) != 1 || off != 0)
		abort();
	if (strip_count(a, out.data + strlen(hdr), out.len - strlen(hdr), NULL) != 0)
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(data, '\n', size < 512 ? size : 512);
	size_t line = nl != NULL ? (size_t)(nl - text) : 0, i = 0;
	struct authcheck_options opts;
	struct authcheck_input in;
	struct raw_message m;
	struct done d = { 0 };
	struct arena *a;
	const char *ip;

	if (base == NULL)
		init();
	if ((a = arena_new()) == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	ip = word(a, text, line, &i, "192.0.2.1");
	if (ip == NULL || net_addr_parse(ip, &in.ip) < 0)
		net_addr_parse("192.0.2.1", &in.ip);
	in.helo = word(a, text, line, &i, "mx1.example.com");
	in.mail_from = word(a, text, line, &i, "alice@example.com");
	if (nl != NULL)
		line++;
	if (raw_message_parse(&m, a, text + line, size - line, NULL, NULL) < 0)
		goto out;
	authcheck_options_init(&opts, 1790000100);
	opts.authserv_id = ID;
	opts.dmarc_sample = 0;
	in.msg = &m;
	in.opts = &opts;
	if (authcheck_start(dns, base, a, &in, on_done, &d) == NULL)
		goto out;
	event_base_dispatch(base);
	if (d.calls != 1)
		abort();
	check_output(a, &m, d.r);
out:
	arena_free(a);
	return 0;
}
