/*
 * cli_dkim - `smexop dkim verify|sign|keygen`
 *
 * verify: one line per DKIM-Signature, `result d=D s=S (reason)`, or
 * `none` when the message has none; --json gives one object per line.
 * sign: prints the message with the new DKIM-Signature field(s) on top.
 * keygen: writes a new private key (0600, never over an existing file)
 * and prints the TXT record to publish.
 * init, rotate, status: the configured signing keys (cli_dkim_keys.c).
 * Exit 0 whatever the verdict, 2 on usage or input errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/dkim.h"
#include "auth/dkim_sign.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

static const char usage_text[] =
    "usage: smexop dkim verify [--json] [--now T] [DNS OPTIONS] [FILE]\n"
    "       smexop dkim sign --domain D --selector S --key PEM [--headers h1:h2:...]\n"
    "                        [--oversign h1:h2:...] [--timestamp T] [--expire SECONDS]\n"
    "                        [--canon relaxed/relaxed] [--length] [--identity I]\n"
    "                        [--key2 PEM --selector2 S2] [FILE]\n"
    "       smexop dkim keygen --domain D --selector S [--type rsa|ed25519] [--bits N]\n"
    "                          [--out FILE]\n"
    "       smexop dkim init|rotate|status DOMAIN [-c CONFIG] ...   (see dkim status --help)\n"
    "\n"
    "verify  checks every DKIM-Signature (RFC 6376, RFC 8463; rsa-sha1 and RSA keys\n"
    "        under 1024 bits are refused, RFC 8301) and prints one line per signature:\n"
    "        `result d=DOMAIN s=SELECTOR (reason)`, or `none` without signatures.\n"
    "  --json                one JSON object per signature\n"
    "  --now T               verify at time T (seconds since the epoch)\n" CLI_DNS_USAGE
    "sign    prints the message with the new DKIM-Signature field(s) at the top.\n"
    "  --headers LIST        names to sign (default: From, To, Cc, Subject, Date, ...)\n"
    "  --oversign LIST       names signed once more than present (From always)\n"
    "  --timestamp T         t= (default: now); --expire adds x= = T + SECONDS\n"
    "  --canon H/B           simple or relaxed (default relaxed/relaxed)\n"
    "  --length              add l= (the body length as signed)\n"
    "  --key2, --selector2   a second key (e.g. Ed25519 next to RSA): dual signing\n"
    "keygen  writes the private key (mode 0600; never overwrites; default\n"
    "        SELECTOR.DOMAIN.pem) and prints the DNS TXT record to publish.\n"
    "  --type rsa|ed25519    default rsa; --bits 1024..4096, default 2048\n"
    "\n"
    "A message is read from FILE, or standard input when FILE is '-' or missing.\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

/* ---- verify ----------------------------------------------------------- */

static void verify_done(struct dkim_verify *v, void *arg)
{
	cli_wait_done(arg, v);
}

static void print_json(const struct dkim_sig_result *r)
{
	printf("{\"result\":");
	cli_json_string(stdout, dkim_result_name(r->result));
	cli_json_field(stdout, "d", r->d, true);
	cli_json_field(stdout, "s", r->s, true);
	cli_json_field(stdout, "reason", r->why, true);
	if (r->a != NULL)
		cli_json_field(stdout, "a", r->a, true);
	if (r->i != NULL)
		cli_json_field(stdout, "i", r->i, true);
	if (r->b != NULL)
		cli_json_field(stdout, "b", r->b, true);
	if (r->key_bits > 0)
		printf(",\"key_bits\":%u", r->key_bits);
	if (r->testing)
		printf(",\"testing\":true");
	if (r->has_l)
		printf(",\"l\":%llu,\"body_length\":%llu,\"unsigned_tail\":%llu",
		       (unsigned long long)r->l, (unsigned long long)r->body_len,
		       (unsigned long long)r->unsigned_tail);
	printf("}\n");
}

static int cmd_verify(int argc, char **argv)
{
	struct cli_dns d;
	struct dkim_verify_options o;
	struct arena *a = NULL;
	struct buf b = { 0 };
	struct raw_message m;
	struct cli_wait w;
	const struct dkim_sig_result *res;
	const char *file = NULL;
	bool json = false;
	int64_t now = (int64_t)time(NULL);
	uint64_t t;
	size_t k, n;
	int i, rc = CLI_EXIT_USAGE, r;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		r = cli_common_option(&d, &json, usage, argc, argv, &i);
		if (r < 0)
			return cli_opt_exit(r);
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &t) < 0)
				return cli_usage_error("dkim", "--now: not a time: %s", argv[i]);
			now = (int64_t)t;
		} else if (cli_file_arg("dkim", argv[i], &file) != 0) {
			return CLI_EXIT_USAGE;
		}
	}
	a = arena_new();
	if (a == NULL || cli_read_message("dkim verify", file, &b, a, &m) < 0)
		goto out;
	if (cli_dns_open(&d, "dkim") < 0)
		goto out_dns;
	dkim_verify_options_init(&o, now);
	if (d.opts.timeout_ms > 0)
		o.timeout_ms = d.opts.timeout_ms * 2;
	cli_wait_init(&w, d.base, 1);
	if (dkim_verify_start(d.dns, d.base, a, &m, &o, verify_done, &w) == NULL) {
		fprintf(stderr, "smexop dkim verify: out of memory\n");
		goto out_dns;
	}
	if (cli_wait_run(&w) < 0) {
		fprintf(stderr, "smexop dkim verify: event loop failure\n");
		goto out_dns;
	}
	n = dkim_verify_results(w.result, &res);
	if (n == 0) {
		if (json)
			printf("{\"result\":\"none\"}\n");
		else
			printf("none\n");
	}
	for (k = 0; k < n; k++) {
		if (json)
			print_json(&res[k]);
		else
			printf("%s d=%s s=%s (%s)\n", dkim_result_name(res[k].result), res[k].d,
			       res[k].s, res[k].why);
	}
	rc = CLI_EXIT_OK;
out_dns:
	cli_dns_close(&d);
out:
	buf_free(&b);
	arena_free(a);
	return rc;
}

/* ---- sign ------------------------------------------------------------- */

static int parse_canon(const char *s, struct dkim_sign_options *o)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash == NULL ? strlen(s) : (size_t)(slash - s);
	const char *body = slash == NULL ? "simple" : slash + 1;

	if (hl == 6 && strncmp(s, "simple", 6) == 0)
		o->hcanon = DKIM_CANON_SIMPLE;
	else if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		o->hcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	if (strcmp(body, "simple") == 0)
		o->bcanon = DKIM_CANON_SIMPLE;
	else if (strcmp(body, "relaxed") == 0)
		o->bcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *key = NULL, *sel2 = NULL, *key2 = NULL;
	const char *file = NULL;
	struct dkim_sign_options o;
	struct dkim_signer signers[2];
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	struct buf b = { 0 }, out;
	struct raw_message m;
	size_t nsigners = 1;
	uint64_t v;
	int i, rc = CLI_EXIT_USAGE;

	if (a == NULL)
		return CLI_EXIT_USAGE;
	dkim_sign_options_init(&o);
	o.timestamp = (int64_t)time(NULL);
	buf_init(&out, BUF_CAP_FILE);
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			fputs(usage_text, stdout);
			rc = CLI_EXIT_OK;
			goto out;
		} else if (strcmp(opt, "--length") == 0) {
			o.body_length = true;
		} else if (opt[0] == '-' && opt[1] != '\0' && !has_val) {
			cli_usage_error("dkim", "%s needs a value (or is unknown)", opt);
			goto out;
		} else if (strcmp(opt, "--domain") == 0) {
			domain = argv[++i];
		} else if (strcmp(opt, "--selector") == 0) {
			sel = argv[++i];
		} else if (strcmp(opt, "--key") == 0) {
			key = argv[++i];
		} else if (strcmp(opt, "--selector2") == 0) {
			sel2 = argv[++i];
		} else if (strcmp(opt, "--key2") == 0) {
			key2 = argv[++i];
		} else if (strcmp(opt, "--identity") == 0) {
			o.identity = argv[++i];
		} else if (strcmp(opt, "--headers") == 0) {
			o.headers = cli_split_list(a, argv[++i]);
		} else if (strcmp(opt, "--oversign") == 0) {
			o.oversign = cli_split_list(a, argv[++i]);
		} else if (strcmp(opt, "--canon") == 0) {
			if (parse_canon(argv[++i], &o) < 0) {
				cli_usage_error("dkim",
				                "--canon: simple or relaxed, e.g. relaxed/simple");
				goto out;
			}
		} else if (strcmp(opt, "--timestamp") == 0 || strcmp(opt, "--expire") == 0) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 0, (uint64_t)1 << 40, &v) < 0) {
				cli_usage_error("dkim", "%s: not a number: %s", opt, argv[i]);
				goto out;
			}
			if (opt[2] == 't')
				o.timestamp = (int64_t)v;
			else
				o.expire = v;
		} else if (opt[0] == '-' && opt[1] != '\0') {
			cli_usage_error("dkim", "unknown option %s", opt);
			goto out;
		} else if (file == NULL) {
			file = opt;
		} else {
			cli_usage_error("dkim", "only one FILE");
			goto out;
		}
	}
	if (domain == NULL || sel == NULL || key == NULL) {
		cli_usage_error("dkim", "sign needs --domain, --selector and --key");
		goto out;
	}
	if ((key2 == NULL) != (sel2 == NULL)) {
		cli_usage_error("dkim", "--key2 and --selector2 go together");
		goto out;
	}
	if (dkim_signer_load(&signers[0], a, key, domain, sel, &err) < 0 ||
	    (key2 != NULL && dkim_signer_load(&signers[1], a, key2, domain, sel2, &err) < 0)) {
		fprintf(stderr, "smexop dkim sign: %s\n", err.msg);
		goto out;
	}
	if (key2 != NULL)
		nsigners = 2;
	if (cli_read_message("dkim sign", file, &b, a, &m) < 0)
		goto out;
	if (dkim_sign(a, &m, signers, nsigners, &o, &out, &err) < 0) {
		fprintf(stderr, "smexop dkim sign: %s\n", err.msg);
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
		fprintf(stderr, "smexop dkim sign: write error\n");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	buf_free(&out);
	buf_free(&b);
	arena_free(a);
	return rc;
}

/* ---- keygen ----------------------------------------------------------- */

static int write_key(const char *path, const char *pem)
{
	size_t len = strlen(pem), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, "smexop dkim keygen: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (refusing to overwrite)" : "");
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "smexop dkim keygen: %s: %s\n", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "smexop dkim keygen: %s: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *type = "rsa", *outpath = NULL;
	struct sx_err err = { 0 };
	struct arena *a = arena_new();
	struct evp_pkey_st *pk;
	char *pem, *txt;
	uint64_t bits = 2048;
	size_t off, len;
	int i, rc = CLI_EXIT_USAGE;

	if (a == NULL)
		return CLI_EXIT_USAGE;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			fputs(usage_text, stdout);
			rc = CLI_EXIT_OK;
			goto out;
		} else if (i + 1 >= argc) {
			cli_usage_error("dkim", "%s: unknown, or needs a value", opt);
			goto out;
		} else if (strcmp(opt, "--domain") == 0) {
			domain = argv[++i];
		} else if (strcmp(opt, "--selector") == 0) {
			sel = argv[++i];
		} else if (strcmp(opt, "--type") == 0) {
			type = argv[++i];
		} else if (strcmp(opt, "--out") == 0) {
			outpath = argv[++i];
		} else if (strcmp(opt, "--bits") == 0) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 1024, 4096, &bits) < 0) {
				cli_usage_error("dkim", "--bits: 1024..4096");
				goto out;
			}
		} else {
			cli_usage_error("dkim", "unknown option %s", opt);
			goto out;
		}
	}
	if (domain == NULL || sel == NULL) {
		cli_usage_error("dkim", "keygen needs --domain and --selector");
		goto out;
	}
	if (dkim_domain_check(domain, strlen(domain)) < 0 ||
	    dkim_domain_check(sel, strlen(sel)) < 0) {
		cli_usage_error("dkim", "bad domain or selector");
		goto out;
	}
	if (strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0) {
		cli_usage_error("dkim", "--type: rsa or ed25519");
		goto out;
	}
	if (outpath == NULL)
		outpath = arena_printf(a, "%s.%s.pem", sel, domain);
	pk = dkim_keygen(a, type, (unsigned)bits, &err);
	if (pk == NULL || outpath == NULL) {
		fprintf(stderr, "smexop dkim keygen: %s\n", pk == NULL ? err.msg : "out of memory");
		goto out;
	}
	pem = dkim_key_pem(a, pk);
	txt = dkim_dns_record(a, pk);
	if (pem == NULL || txt == NULL) {
		fprintf(stderr, "smexop dkim keygen: cannot encode the key\n");
		goto out;
	}
	if (write_key(outpath, pem) < 0)
		goto out;
	fprintf(stderr, "private key written to %s\n", outpath);
	printf("%s._domainkey.%s. IN TXT (", sel, domain);
	len = strlen(txt);
	for (off = 0; off < len; off += 255)
		printf("%s\"%.*s\"", off == 0 ? " " : "\n\t",
		       (int)(len - off > 255 ? 255 : len - off), txt + off);
	printf(" )\n");
	rc = CLI_EXIT_OK;
out:
	arena_free(a);
	return rc;
}

int cli_dkim(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0 || strcmp(argv[1], "rotate") == 0 ||
	    strcmp(argv[1], "status") == 0)
		return cli_dkim_keys(argc - 1, argv + 1);
	return cli_usage_error(
	    "dkim", "unknown subcommand '%s' (verify, sign, keygen, init, rotate, status)",
	    argv[1]);
}
