/*
 * cli_arc - `smexop arc verify|sign`
 *
 * verify: the chain validation result (none, pass, fail) on the first
 * line, then the reason, the number of instances and oldest-pass, and one
 * line per ARC set; --json gives one object.
 * sign: prints the message with the next ARC set (AS, AMS, AAR) on top.
 * The cv comes from --cv or, by default, from validating the chain first
 * (DNS options apply); the AAR carries --ar, or the message's own
 * Authentication-Results for --authserv-id, with arc=<cv> added when the
 * results do not say it.
 * Exit 0 whatever the verdict, 2 on usage or input errors.
 */
#include <string.h>
#include <time.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim_sign.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/raw.h"

static const char usage_text[] =
    "usage: smexop arc verify [--json] [DNS OPTIONS] [FILE]\n"
    "       smexop arc sign --domain D --selector S --key PEM --authserv-id ID\n"
    "                       [--headers h1:h2:...] [--timestamp T] [--ar TEXT]\n"
    "                       [--cv none|pass|fail] [DNS OPTIONS] [FILE]\n"
    "\n"
    "verify  validates the ARC chain (RFC 8617): the first line is the result,\n"
    "        none, pass or fail; then the reason, the instances and one line per set.\n"
    "  --json                one JSON object\n" CLI_DNS_USAGE
    "sign    prints the message with the next ARC set (ARC-Seal, ARC-Message-Signature,\n"
    "        ARC-Authentication-Results) at the top.\n"
    "  --authserv-id ID      our authserv-id, first in the ARC-Authentication-Results\n"
    "  --headers LIST        names the ARC-Message-Signature signs (default: From, To,\n"
    "                        Cc, Subject, Date, ... as present)\n"
    "  --timestamp T         t= (default: now)\n"
    "  --ar TEXT             the results for the AAR (\"spf=pass ...; dkim=...\", or a\n"
    "                        whole Authentication-Results value); default: the\n"
    "                        message's Authentication-Results fields for ID\n"
    "  --cv RESULT           the chain status to seal (default: validate the chain)\n"
    "\n"
    "A message is read from FILE, or standard input when FILE is '-' or missing.\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

/* ---- validation through the resolver ---------------------------------- */

static void verify_done(struct arc_verify *v, void *arg)
{
	cli_wait_done(arg, v);
}

/* validate - the verdict for m, looking keys up through d; NULL on failure */
static const struct arc_verdict *validate(const char *cmd, struct cli_dns *d, struct arena *a,
                                          const struct raw_message *m)
{
	struct arc_verify_options o = { 0 };
	struct cli_wait w;

	if (cli_dns_open(d, "arc") < 0)
		return NULL;
	if (d->opts.timeout_ms > 0)
		o.timeout_ms = d->opts.timeout_ms * 2;
	cli_wait_init(&w, d->base, 1);
	if (arc_verify_start(d->dns, d->base, a, m, &o, verify_done, &w) == NULL) {
		fprintf(stderr, "smexop arc %s: out of memory\n", cmd);
		return NULL;
	}
	if (cli_wait_run(&w) < 0) {
		fprintf(stderr, "smexop arc %s: event loop failure\n", cmd);
		return NULL;
	}
	return arc_verify_verdict(w.result);
}

/* ---- verify ----------------------------------------------------------- */

static const char *check_name(enum arc_check c)
{
	return c == ARC_CHECK_PASS ? "pass" : c == ARC_CHECK_FAIL ? "fail" : "-";
}

static void print_json(const struct arc_verdict *vd)
{
	size_t i;

	printf("{\"result\":");
	cli_json_string(stdout, arc_result_name(vd->result));
	cli_json_field(stdout, "reason", vd->reason, true);
	printf(",\"instances\":%u,\"oldest_pass\":%u,\"temporary\":%s", vd->instances,
	       vd->oldest_pass, vd->temporary ? "true" : "false");
	if (vd->failed_instance > 0)
		printf(",\"failed_instance\":%u", vd->failed_instance);
	printf(",\"sets\":[");
	for (i = 0; i < vd->nsets; i++) {
		const struct arc_set_result *s = &vd->sets[i];

		printf("%s{\"i\":%u,\"cv\":", i > 0 ? "," : "", s->instance);
		cli_json_string(stdout, arc_result_name(s->cv));
		cli_json_field(stdout, "ams", check_name(s->ams), true);
		cli_json_field(stdout, "ams_d", s->ams_d, true);
		cli_json_field(stdout, "ams_s", s->ams_s, true);
		if (s->ams_why != NULL)
			cli_json_field(stdout, "ams_reason", s->ams_why, true);
		cli_json_field(stdout, "as", check_name(s->as), true);
		cli_json_field(stdout, "as_d", s->as_d, true);
		cli_json_field(stdout, "as_s", s->as_s, true);
		if (s->as_why != NULL)
			cli_json_field(stdout, "as_reason", s->as_why, true);
		printf("}");
	}
	printf("]}\n");
}

static void print_text(const struct arc_verdict *vd)
{
	size_t i;

	printf("%s\n", arc_result_name(vd->result));
	printf("reason: %s%s\n", vd->reason, vd->temporary ? " (temporary)" : "");
	printf("instances: %u", vd->instances);
	if (vd->result == ARC_PASS)
		printf(", oldest-pass %u", vd->oldest_pass);
	printf("\n");
	for (i = 0; i < vd->nsets; i++) {
		const struct arc_set_result *s = &vd->sets[i];

		printf("i=%u cv=%s ams=%s d=%s s=%s", s->instance, arc_result_name(s->cv),
		       check_name(s->ams), s->ams_d, s->ams_s);
		if (s->ams_why != NULL)
			printf(" (%s)", s->ams_why);
		printf(" as=%s d=%s s=%s", check_name(s->as), s->as_d, s->as_s);
		if (s->as_why != NULL)
			printf(" (%s)", s->as_why);
		printf("\n");
	}
}

static int cmd_verify(int argc, char **argv)
{
	struct cli_dns d;
	struct arena *a = NULL;
	struct buf b = { 0 };
	struct raw_message m;
	const struct arc_verdict *vd;
	const char *file = NULL;
	bool json = false;
	int i, r, rc = CLI_EXIT_USAGE;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		r = cli_common_option(&d, &json, usage, argc, argv, &i);
		if (r < 0)
			return cli_opt_exit(r);
		if (r == 0 && cli_file_arg("arc", argv[i], &file) != 0)
			return CLI_EXIT_USAGE;
	}
	a = arena_new();
	if (a == NULL || cli_read_message("arc verify", file, &b, a, &m) < 0)
		goto out;
	vd = validate("verify", &d, a, &m);
	if (vd == NULL)
		goto out_dns;
	if (json)
		print_json(vd);
	else
		print_text(vd);
	rc = CLI_EXIT_OK;
out_dns:
	cli_dns_close(&d);
out:
	buf_free(&b);
	arena_free(a);
	return rc;
}

/* ---- sign ------------------------------------------------------------- */

/* parse_ar - --ar TEXT: a whole AR value, or the results alone */
static int parse_ar(struct arena *a, const char *id, const char *text, struct authres *ar)
{
	struct sx_err err = { 0 };
	char *full;

	if (authres_parse(ar, a, text, strlen(text), AUTHRES_LENIENT, &err) == 0)
		return 0;
	full = arena_printf(a, "%s; %s", id, text);
	if (full != NULL && authres_parse(ar, a, full, strlen(full), AUTHRES_LENIENT, &err) == 0)
		return 0;
	fprintf(stderr, "smexop arc sign: --ar: %s\n", err.msg);
	return -1;
}

/* with_arc - ar with an arc=<cv> result first, unless it has one */
static int with_arc(struct arena *a, struct authres *ar, enum arc_result cv)
{
	struct authres_result *n;

	if (authres_find(ar, "arc", NULL) != NULL)
		return 0;
	n = arena_array(a, ar->nresults + 1, sizeof(*n));
	if (n == NULL)
		return -1;
	n[0].method = "arc";
	n[0].method_version = -1;
	n[0].result = arc_result_name(cv);
	if (ar->nresults > 0)
		memcpy(n + 1, ar->results, ar->nresults * sizeof(*n));
	ar->results = n;
	ar->nresults++;
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	const char *domain = NULL, *selector = NULL, *key = NULL, *id = NULL, *headers = NULL;
	const char *ar_text = NULL, *cv_text = NULL, *file = NULL;
	struct cli_dns d;
	struct arena *a = NULL;
	struct buf b = { 0 };
	struct raw_message m;
	struct dkim_signer signer;
	struct arc_seal_options o;
	struct arc_sealed out;
	struct authres ar;
	struct sx_err err = { 0 };
	int64_t ts = (int64_t)time(NULL);
	uint64_t t;
	int i, r, rc = CLI_EXIT_USAGE;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char **slot = NULL;

		r = cli_common_option(&d, NULL, usage, argc, argv, &i);
		if (r < 0)
			return cli_opt_exit(r);
		if (r > 0)
			continue;
		if (strcmp(opt, "--domain") == 0)
			slot = &domain;
		else if (strcmp(opt, "--selector") == 0)
			slot = &selector;
		else if (strcmp(opt, "--key") == 0)
			slot = &key;
		else if (strcmp(opt, "--authserv-id") == 0)
			slot = &id;
		else if (strcmp(opt, "--headers") == 0)
			slot = &headers;
		else if (strcmp(opt, "--ar") == 0)
			slot = &ar_text;
		else if (strcmp(opt, "--cv") == 0)
			slot = &cv_text;
		if (slot != NULL) {
			if (i + 1 >= argc)
				return cli_usage_error("arc", "%s needs a value", opt);
			*slot = argv[++i];
		} else if (strcmp(opt, "--timestamp") == 0 && i + 1 < argc) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &t) < 0)
				return cli_usage_error("arc", "--timestamp: not a time: %s",
				                       argv[i]);
			ts = (int64_t)t;
		} else if (cli_file_arg("arc", opt, &file) != 0) {
			return CLI_EXIT_USAGE;
		}
	}
	if (domain == NULL || selector == NULL || key == NULL || id == NULL)
		return cli_usage_error("arc",
		                       "sign needs --domain, --selector, --key and --authserv-id");
	memset(&o, 0, sizeof(o));
	if (cv_text != NULL && arc_result_parse(cv_text, strlen(cv_text), &o.cv) < 0)
		return cli_usage_error("arc", "--cv: none, pass or fail");
	a = arena_new();
	if (a == NULL || cli_read_message("arc sign", file, &b, a, &m) < 0)
		goto out;
	if (dkim_signer_load(&signer, a, key, domain, selector, &err) < 0) {
		fprintf(stderr, "smexop arc sign: %s\n", err.msg);
		goto out;
	}
	if (cv_text == NULL) {
		const struct arc_verdict *vd = validate("sign", &d, a, &m);

		if (vd == NULL)
			goto out_dns;
		o.cv = vd->result;
		if (vd->result == ARC_FAIL)
			fprintf(stderr, "smexop arc sign: the chain fails (%s): sealing cv=fail\n",
			        vd->reason);
	}
	if (ar_text != NULL ? parse_ar(a, id, ar_text, &ar) < 0
	                    : arc_collect_results(a, &m, id, &ar) < 0) {
		if (ar_text == NULL)
			fprintf(stderr, "smexop arc sign: too many Authentication-Results\n");
		goto out_dns;
	}
	if (with_arc(a, &ar, o.cv) < 0) {
		fprintf(stderr, "smexop arc sign: out of memory\n");
		goto out_dns;
	}
	o.authserv_id = id;
	o.results = &ar;
	o.timestamp = ts;
	if (headers != NULL && (o.headers = cli_split_list(a, headers)) == NULL) {
		fprintf(stderr, "smexop arc sign: out of memory\n");
		goto out_dns;
	}
	r = arc_seal(a, &m, &signer, &o, &out, &err);
	if (r < 0) {
		fprintf(stderr, "smexop arc sign: %s\n", err.msg);
		goto out_dns;
	}
	if (r > 0)
		fprintf(stderr, "smexop arc sign: %s\n", err.msg);
	else
		fprintf(stdout, "%s%s%s", out.as, out.ams, out.aar);
	fwrite(b.data, 1, b.len, stdout);
	rc = CLI_EXIT_OK;
out_dns:
	cli_dns_close(&d);
out:
	buf_free(&b);
	arena_free(a);
	return rc;
}

int cli_arc(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	return cli_usage_error("arc", "unknown subcommand '%s' (verify, sign)", argv[1]);
}
