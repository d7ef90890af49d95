/*
 * cli_dns - `smexop dns NAME [TYPE]`: one lookup through smexop's own
 * resolver (libunbound, a --dns server, or a --dns-zone file)
 *
 * It shows what the engines see: the first line is `STATUS SEC` (for
 * example `ok insecure`, `nxdomain insecure`, `timeout insecure`), then
 * one record per line in presentation form (`MX 10 mx.example.com`,
 * `TXT "v=spf1 " "-all"`, `TLSA 3 1 1 ab12...`).  With --json, one
 * object.  The reason of a failure goes to standard error.  Exit 0
 * whatever the DNS outcome, 2 on usage errors or a bad zone file.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/dns.h"

static void cli_dns_usage(FILE *out)
{
	fprintf(out, "usage: smexop dns NAME [TYPE] [--json] [DNS options]\n"
	             "\n"
	             "Look NAME up (TYPE: A, AAAA, NS, CNAME, SOA, PTR, MX, TXT, SPF, TLSA;\n"
	             "default A) and print `STATUS SEC`, then one record per line.\n"
	             "STATUS: ok, nxdomain, nodata, servfail, timeout, badname, nomem;\n"
	             "SEC: insecure, secure, bogus.\n"
	             "\n"
	             "options:\n"
	             "  --json                one JSON object instead of text\n" CLI_DNS_USAGE
	             "  --help                this text\n");
}

/* cli_dns_quoted - len bytes in double quotes, '"' and '\\' after a
 * backslash, other bytes outside printable ASCII written with esc (a
 * printf format taking the byte) */
static void cli_dns_quoted(FILE *out, const char *s, size_t len, const char *esc)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, esc, c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* cli_dns_txt_string - one character-string, quoted, escaped as in zone files */
static void cli_dns_txt_string(FILE *out, const char *s, size_t len)
{
	cli_dns_quoted(out, s, len, "\\%03u");
}

/* cli_dns_rdata - the rdata of rr in presentation form */
static void cli_dns_rdata(FILE *out, const struct dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];
	size_t i, off = 0;

	switch (rr->type) {
	case DNS_T_A:
		fputs(inet_ntop(AF_INET, rr->u.a, addr, sizeof(addr)), out);
		break;
	case DNS_T_AAAA:
		fputs(inet_ntop(AF_INET6, rr->u.aaaa, addr, sizeof(addr)), out);
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		fputs(rr->u.name[0] ? rr->u.name : ".", out);
		break;
	case DNS_T_MX:
		fprintf(out, "%u %s", rr->u.mx.preference, rr->u.mx.host[0] ? rr->u.mx.host : ".");
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		for (i = 0; i < rr->u.txt.nstrings; i++) {
			if (i > 0)
				fputc(' ', out);
			cli_dns_txt_string(out, rr->u.txt.data + off, rr->u.txt.string_len[i]);
			off += rr->u.txt.string_len[i];
		}
		break;
	case DNS_T_TLSA:
		fprintf(out, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (i = 0; i < rr->u.tlsa.len; i++)
			fprintf(out, "%02x", rr->u.tlsa.data[i]);
		break;
	case DNS_T_SOA:
		fprintf(out, "%s %s %u %u %u %u %u", rr->u.soa.mname[0] ? rr->u.soa.mname : ".",
		        rr->u.soa.rname[0] ? rr->u.soa.rname : ".", rr->u.soa.serial,
		        rr->u.soa.refresh, rr->u.soa.retry, rr->u.soa.expire, rr->u.soa.minimum);
		break;
	}
}

/* cli_dns_json_bytes - a JSON string of len bytes (bytes >= 0x80 as U+0080..U+00FF) */
static void cli_dns_json_bytes(FILE *out, const char *s, size_t len)
{
	cli_dns_quoted(out, s, len, "\\u%04x");
}

static void cli_dns_print_json(FILE *out, const struct dns_answer *ans)
{
	char *data = NULL;
	size_t size = 0, i, j, off;
	FILE *mem;

	fputs("{\"name\":", out);
	cli_json_string(out, ans->qname ? ans->qname : "");
	fprintf(out, ",\"type\":\"%s\",\"status\":\"%s\",\"sec\":\"%s\",\"canonname\":",
	        dns_type_name(ans->qtype), dns_status_name(ans->status), dns_sec_name(ans->sec));
	cli_json_string(out, ans->canonname ? ans->canonname : "");
	fputs(",\"why\":", out);
	if (ans->why != NULL)
		cli_json_string(out, ans->why);
	else
		fputs("null", out);
	fputs(",\"records\":[", out);
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (i > 0)
			fputc(',', out);
		fprintf(out, "{\"type\":\"%s\",\"ttl\":%u,\"data\":", dns_type_name(rr->type),
		        rr->ttl);
		mem = open_memstream(&data, &size);
		if (mem != NULL) {
			cli_dns_rdata(mem, rr);
			fclose(mem);
			cli_dns_json_bytes(out, data, size);
			free(data);
			data = NULL;
		} else {
			fputs("null", out);
		}
		if (rr->type == DNS_T_TXT || rr->type == DNS_T_SPF) {
			fputs(",\"text\":", out);
			cli_dns_json_bytes(out, rr->u.txt.data, rr->u.txt.len);
			fputs(",\"strings\":[", out);
			for (j = 0, off = 0; j < rr->u.txt.nstrings; j++) {
				if (j > 0)
					fputc(',', out);
				cli_dns_json_bytes(out, rr->u.txt.data + off,
				                   rr->u.txt.string_len[j]);
				off += rr->u.txt.string_len[j];
			}
			fputc(']', out);
		}
		fputc('}', out);
	}
	fputs("]}\n", out);
}

static void cli_dns_print_text(FILE *out, const struct dns_answer *ans)
{
	size_t i;

	fprintf(out, "%s %s\n", dns_status_name(ans->status), dns_sec_name(ans->sec));
	for (i = 0; i < ans->count; i++) {
		fprintf(out, "%s ", dns_type_name(ans->rr[i].type));
		cli_dns_rdata(out, &ans->rr[i]);
		fputc('\n', out);
	}
}

int cli_dns_cmd(int argc, char **argv)
{
	struct cli_dns d;
	const char *name = NULL, *tname = NULL;
	struct dns_answer *ans;
	struct arena *arena;
	bool json = false;
	int i, r, type = DNS_T_A;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_dns_usage(stdout);
			return CLI_EXIT_OK;
		}
	}
	for (i = 1; i < argc; i++) {
		r = cli_dns_option(&d, argc, argv, &i);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage_error("dns", "unknown option '%s'", argv[i]);
		else if (name == NULL)
			name = argv[i];
		else if (tname == NULL)
			tname = argv[i];
		else
			return cli_usage_error("dns", "unexpected argument '%s'", argv[i]);
	}
	if (name == NULL)
		return cli_usage_error("dns", "a NAME to look up is needed");
	if (tname != NULL && (type = dns_type_parse(tname, strlen(tname))) == 0)
		return cli_usage_error("dns", "unknown record type '%s'", tname);
	if (cli_dns_open(&d, "dns") < 0) {
		cli_dns_close(&d);
		return CLI_EXIT_USAGE;
	}
	arena = arena_new();
	ans = arena ? dns_resolve_sync(d.dns, d.base, arena, name, (enum dns_type)type) : NULL;
	if (ans == NULL) {
		fprintf(stderr, "smexop dns: out of memory\n");
		arena_free(arena);
		cli_dns_close(&d);
		return 1;
	}
	if (json) {
		cli_dns_print_json(stdout, ans);
	} else {
		cli_dns_print_text(stdout, ans);
		if (ans->why != NULL)
			fprintf(stderr, "smexop dns: %s: %s\n", ans->qname, ans->why);
	}
	arena_free(arena);
	cli_dns_close(&d);
	return CLI_EXIT_OK;
}
