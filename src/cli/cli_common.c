/*
 * cli_common - what every subcommand shares: DNS and common options,
 * usage errors, reading a message, waiting for asynchronous checks, JSON
 * string output
 */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns_zone.h"
#include "core/net.h"
#include "core/str.h"
#include "mime/raw.h"

#define ROOT_TRUST_ANCHOR "/usr/share/dns/root.key"

struct dns *cli_config_resolver(struct event_base *base, const struct config_dns *c,
                                struct sx_err *err)
{
	struct dns_options o;

	memset(&o, 0, sizeof(o));
	if (c->servers.n > 0) {
		o.forward_host = c->servers.v[0].host;
		o.forward_port = c->servers.v[0].port;
	}
	o.timeout_ms = (unsigned)c->timeout_ms;
	if (c->dnssec && access(c->trust_anchor, R_OK) == 0)
		o.trust_anchor = c->trust_anchor;
	return dns_new(base, &o, err);
}

int cli_subcommand(const char *cmd, int argc, char **argv, const char *const *subs,
                   int (*usage)(FILE *out), const char **sub)
{
	size_t k;

	if (argc < 2) {
		usage(stderr);
		return CLI_OPT_ERROR;
	}
	*sub = argv[1];
	if (strcmp(*sub, "--help") == 0 || strcmp(*sub, "-h") == 0) {
		usage(stdout);
		return CLI_OPT_HELP;
	}
	for (k = 0; subs[k] != NULL; k++)
		if (strcmp(*sub, subs[k]) == 0)
			return 0;
	cli_usage_error(cmd, "unknown subcommand '%s'", *sub);
	return CLI_OPT_ERROR;
}

int cli_spool_args(struct cli_spool_ctx *c, int argc, char **argv, int *i, int (*usage)(FILE *out))
{
	int rc = cli_spool_option(c, argc, argv, i);

	if (rc != 0)
		return rc < 0 ? CLI_OPT_ERROR : 1;
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
		usage(stdout);
		return CLI_OPT_HELP;
	}
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "smexop %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'smexop %s --help')\n", cmd);
	return CLI_EXIT_USAGE;
}

int cli_dns_option(struct cli_dns *d, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];
	uint64_t ms;

	if (strcmp(opt, "--dns") != 0 && strcmp(opt, "--dns-zone") != 0 &&
	    strcmp(opt, "--dns-timeout") != 0 && strcmp(opt, "--trust-anchor") != 0)
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "smexop: %s needs a value\n", opt);
		return -1;
	}
	const char *val = argv[++*i];
	if (strcmp(opt, "--dns") == 0) {
		if (net_hostport_parse(val, 53, d->host, sizeof(d->host), &d->opts.forward_port) <
		    0) {
			fprintf(stderr, "smexop: --dns: not HOST:PORT: %s\n", val);
			return -1;
		}
		d->opts.forward_host = d->host;
	} else if (strcmp(opt, "--dns-zone") == 0) {
		d->opts.zone_file = val;
	} else if (strcmp(opt, "--dns-timeout") == 0) {
		if (str_to_u64(val, strlen(val), 1, 600000, &ms) < 0) {
			fprintf(stderr,
			        "smexop: --dns-timeout: not a number of milliseconds "
			        "(1-600000): %s\n",
			        val);
			return -1;
		}
		d->opts.timeout_ms = (unsigned)ms;
	} else {
		d->opts.trust_anchor = val;
	}
	return 1;
}

int cli_dns_open(struct cli_dns *d, const char *prog)
{
	struct sx_err err = { 0 };
	char msg[700];

	d->base = event_base_new();
	if (d->base == NULL) {
		fprintf(stderr, "smexop %s: cannot create the event loop\n", prog);
		return -1;
	}
	if (d->opts.zone_file != NULL) {
		d->zone = dns_zone_new();
		if (d->zone == NULL || dns_zone_load_file(d->zone, d->opts.zone_file, &err) < 0) {
			if (d->zone == NULL)
				sx_err_set(&err, "out of memory");
			fprintf(stderr, "%s\n", sx_err_format(&err, msg, sizeof(msg)));
			return -1;
		}
		d->dns = dns_new_zone(d->base, d->zone);
	} else {
		/* Validate with the root key when we resolve ourselves; a server
		 * named with --dns is trusted as it is unless an anchor is given,
		 * since test and split-horizon servers cannot prove the chain. */
		if (d->opts.trust_anchor == NULL && d->opts.forward_host == NULL &&
		    access(ROOT_TRUST_ANCHOR, R_OK) == 0)
			d->opts.trust_anchor = ROOT_TRUST_ANCHOR;
		d->dns = dns_new(d->base, &d->opts, &err);
	}
	if (d->dns == NULL) {
		fprintf(stderr, "smexop %s: %s\n", prog, err.msg[0] ? err.msg : "out of memory");
		return -1;
	}
	return 0;
}

void cli_dns_close(struct cli_dns *d)
{
	d->dns = dns_free(d->dns);
	d->zone = dns_zone_free(d->zone);
	if (d->base != NULL)
		event_base_free(d->base);
	d->base = NULL;
}

void cli_json_string(FILE *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;

	fputc('"', out);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

int cli_common_option(struct cli_dns *d, bool *json, void (*usage)(FILE *out), int argc,
                      char **argv, int *i)
{
	int r = cli_dns_option(d, argc, argv, i);

	if (r != 0)
		return r < 0 ? CLI_OPT_ERROR : 1;
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
		usage(stdout);
		return CLI_OPT_HELP;
	}
	if (json != NULL && strcmp(argv[*i], "--json") == 0) {
		*json = true;
		return 1;
	}
	return 0;
}

int cli_file_arg(const char *cmd, const char *arg, const char **file)
{
	if (arg[0] == '-' && arg[1] != '\0')
		return cli_usage_error(cmd, "unknown option %s", arg);
	if (*file != NULL)
		return cli_usage_error(cmd, "only one FILE");
	*file = arg;
	return 0;
}

int cli_read_file(const char *prog, const char *path, struct buf *b)
{
	buf_init(b, BUF_CAP_FILE);
	errno = 0;
	if (buf_read_file(b, path == NULL ? "-" : path) < 0) {
		fprintf(stderr, "smexop %s: cannot read %s%s\n", prog,
		        path == NULL || strcmp(path, "-") == 0 ? "standard input" : path,
		        errno == 0 ? " (too large)" : "");
		return -1;
	}
	return 0;
}

int cli_import_args(const char *cmd, int argc, char **argv,
                    int (*option)(void *ctx, int argc, char **argv, int *i), void *ctx,
                    void (*usage)(FILE *out), bool *json, int *first)
{
	int i, rc;

	*first = 0;
	for (i = 1; i < argc; i++) {
		if ((rc = option(ctx, argc, argv, &i)) != 0) {
			if (rc < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			*json = true;
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			*first = i + 1;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
		*first = i;
		break;
	}
	if (*first == 0 || *first >= argc)
		return cli_usage_error(cmd, "no FILE to import");
	return -1;
}

int cli_import_files(int argc, char **argv, int first, size_t max, cli_import_fn fn, void *arg)
{
	int i, rc, ret = CLI_EXIT_OK;

	for (i = first; i < argc; i++) {
		struct arena *a = arena_new();
		struct buf b;

		buf_init(&b, max);
		if (a == NULL || buf_read_file(&b, argv[i]) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i],
			        a == NULL ? "out of memory"
			                  : "cannot read (or larger than the cap)");
			rc = CLI_EXIT_USAGE;
		} else {
			rc = fn(a, argv[i], (const unsigned char *)b.data, b.len, arg);
		}
		/* a usage error (unreadable, not a report) outranks store trouble */
		if (rc == CLI_EXIT_USAGE || (rc != CLI_EXIT_OK && ret == CLI_EXIT_OK))
			ret = rc;
		buf_free(&b);
		arena_free(a);
	}
	return ret;
}

int cli_read_message(const char *prog, const char *path, struct buf *b, struct arena *a,
                     struct raw_message *m)
{
	struct sx_err err = { 0 };

	if (cli_read_file(prog, path, b) < 0)
		return -1;
	if (raw_message_parse(m, a, b->data, b->len, NULL, &err) < 0) {
		fprintf(stderr, "smexop %s: %s\n", prog, err.msg);
		return -1;
	}
	return 0;
}

const char **cli_split_list(struct arena *a, const char *s)
{
	size_t n = 1, i = 0;
	const char *p;
	const char **out;

	for (p = s; *p != '\0'; p++)
		if (*p == ':')
			n++;
	out = arena_array(a, n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (p = s;;) {
		const char *c = strchr(p, ':');
		size_t len = c == NULL ? strlen(p) : (size_t)(c - p);

		if (len > 0 && (out[i] = arena_strndup(a, p, len)) != NULL)
			i++;
		if (c == NULL)
			break;
		p = c + 1;
	}
	out[i] = NULL;
	return out;
}

void cli_wait_init(struct cli_wait *w, struct event_base *base, int pending)
{
	w->base = base;
	w->pending = pending;
	w->result = NULL;
}

void cli_wait_done(struct cli_wait *w, void *result)
{
	w->result = result;
	/* the resolver keeps its socket in the loop: stop it ourselves */
	if (--w->pending == 0)
		event_base_loopbreak(w->base);
}

int cli_wait_run(struct cli_wait *w)
{
	while (w->pending > 0)
		if (event_base_dispatch(w->base) != 0)
			break;
	return w->pending > 0 ? -1 : 0;
}

void cli_json_field(FILE *out, const char *key, const char *val, bool comma)
{
	fprintf(out, "%s\"%s\":", comma ? "," : "", key);
	if (val == NULL)
		fputs("null", out);
	else
		cli_json_string(out, val);
}
