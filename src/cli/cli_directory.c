/*
 * cli_directory - `smexop directory add|remove|list|import`: the
 * recipients of edge blocking kept in the store (filter/directory asks
 * the directory.file and this table; docs/connectors.md)
 *
 *   add ADDR [TARGET]   an address of its own, an alias (ADDR goes to
 *                       TARGET) or a catch-all "@domain"
 *   remove ADDR         exit 2 when there is no such entry
 *   list [--json]       one entry per line: "addr" or "addr: target"
 *   import FILE         every entry of a file in directory.file's syntax,
 *                       in one transaction (--replace: the table becomes
 *                       the file)
 *
 * Entries are checked with the file backend's parser, so the table holds
 * nothing the file could not.  A running gateway sees a change within
 * directory.store_refresh (5 s by default): it reads the table's change
 * counter and reloads its copy when it moved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "filter/directory.h"
#include "store/store.h"

static int cli_dir_usage(FILE *out)
{
	fprintf(out, "usage: smexop directory add ADDR [TARGET] [OPTIONS]\n"
	             "       smexop directory remove ADDR [OPTIONS]\n"
	             "       smexop directory list [--json] [OPTIONS]\n"
	             "       smexop directory import FILE [--replace] [OPTIONS]\n\n"
	             "The recipients of the authoritative domains kept in the store, next to\n"
	             "directory.file: user@example.com, an alias (sales@example.com goes to\n"
	             "TARGET) or a catch-all @example.com.  FILE has directory.file's syntax.\n"
	             "A running gateway picks changes up within directory.store_refresh.\n\n"
	             "options:\n"
	             "  -c, --config FILE     configuration (store.path, directory.*)\n"
	             "  --db PATH             the database instead of store.path\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

struct cli_dir_import {
	struct store *st;
	struct sx_err *err;
	size_t n;
};

static int cli_dir_import_cb(const char *key, const char *target, void *arg)
{
	struct cli_dir_import *im = arg;

	if (store_directory_add(im->st, key, target, im->err) < 0)
		return -1;
	im->n++;
	return 0;
}

static int cli_dir_remove_cb(const char *address, const char *target, void *arg)
{
	struct buf *b = arg;

	(void)target;
	return buf_append(b, address, strlen(address) + 1) < 0 ? -1 : 0;
}

static int cli_dir_list_cb(const char *address, const char *target, void *arg)
{
	const bool *json = arg;

	if (*json) {
		fputc('{', stdout);
		cli_json_field(stdout, "address", address, false);
		cli_json_field(stdout, "target", target[0] != '\0' ? target : NULL, true);
		fputs("}\n", stdout);
	} else if (target[0] != '\0') {
		printf("%s: %s\n", address, target);
	} else {
		printf("%s\n", address);
	}
	return 0;
}

/* cli_dir_parse - the entries of text checked as directory.file would be */
static struct directory *cli_dir_parse(const struct smexop_config *cfg, const char *name,
                                       const char *text, size_t len, struct sx_err *err)
{
	return directory_load_text(name, text, len, cfg->directory.subaddress_separator,
	                           cfg->directory.case_sensitive_local, err);
}

/* cli_dir_clear - remove every entry (inside the caller's transaction) */
static int cli_dir_clear(struct store *st, struct sx_err *err)
{
	struct buf b;
	size_t off;
	int rc = 0;

	buf_init(&b, BUF_CAP_FILE * 4);
	if (store_directory_list(st, cli_dir_remove_cb, &b, err) != 0) {
		buf_free(&b);
		return -1;
	}
	for (off = 0; off < b.len && rc == 0; off += strlen(b.data + off) + 1)
		rc = store_directory_remove(st, b.data + off, err) < 0 ? -1 : 0;
	buf_free(&b);
	return rc;
}

static int cli_dir_import(struct cli_spool_ctx *c, const char *file, bool replace)
{
	struct sx_err err = { 0 };
	struct directory *d;
	struct cli_dir_import im = { c->st, &err, 0 };
	struct buf b;

	buf_init(&b, BUF_CAP_FILE * 4);
	if (buf_read_file(&b, file) < 0) {
		fprintf(stderr, "smexop directory: cannot read %s\n", file);
		buf_free(&b);
		return CLI_EXIT_USAGE;
	}
	d = cli_dir_parse(c->cfg, file, b.data, b.len, &err);
	buf_free(&b);
	if (d == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (store_begin(c->st, &err) < 0 || (replace && cli_dir_clear(c->st, &err) < 0) ||
	    directory_foreach(d, cli_dir_import_cb, &im) != 0 || store_commit(c->st, &err) < 0) {
		store_rollback(c->st);
		directory_free(d);
		fprintf(stderr, "smexop directory: %s\n", err.msg);
		return 1;
	}
	directory_free(d);
	printf("imported %zu entries from %s%s\n", im.n, file, replace ? " (table replaced)" : "");
	return CLI_EXIT_OK;
}

/* cli_dir_add - one entry, checked like a line of the file */
static int cli_dir_add(struct cli_spool_ctx *c, const char *addr, const char *target)
{
	struct sx_err err = { 0 };
	struct directory *d;
	struct cli_dir_import im = { c->st, &err, 0 };
	char line[2 * DIRECTORY_MAX_ADDRESS + 8];

	if (strlen(addr) > DIRECTORY_MAX_ADDRESS ||
	    (target != NULL && strlen(target) > DIRECTORY_MAX_ADDRESS) ||
	    strpbrk(addr, "#:\r\n") != NULL || (target != NULL && strpbrk(target, "#\r\n")))
		return cli_usage_error(c->cmd, "not an address: %s", addr);
	snprintf(line, sizeof(line), "%s%s%s\n", addr, target != NULL ? ": " : "",
	         target != NULL ? target : "");
	d = cli_dir_parse(c->cfg, "argument", line, strlen(line), &err);
	if (d == NULL || directory_count(d) != 1) {
		directory_free(d);
		return cli_usage_error(c->cmd, "%s", err.msg[0] != '\0' ? err.msg : "no entry");
	}
	if (directory_foreach(d, cli_dir_import_cb, &im) != 0) {
		directory_free(d);
		fprintf(stderr, "smexop directory: %s\n", err.msg);
		return 1;
	}
	directory_free(d);
	return CLI_EXIT_OK;
}

int cli_directory(int argc, char **argv)
{
	struct cli_spool_ctx c = { .cmd = "directory" };
	struct sx_err err = { 0 };
	const char *sub, *args[2] = { NULL, NULL };
	bool json = false, replace = false;
	size_t nargs = 0, want_min, want_max;
	int i, rc;

	rc = cli_subcommand(c.cmd, argc, argv,
	                    (const char *const[]){ "add", "remove", "import", "list", NULL },
	                    cli_dir_usage, &sub);
	if (rc != 0)
		return cli_opt_exit(rc);
	if (strcmp(sub, "add") == 0) {
		want_min = 1;
		want_max = 2;
	} else if (strcmp(sub, "remove") == 0 || strcmp(sub, "import") == 0) {
		want_min = want_max = 1;
	} else {
		want_min = want_max = 0;
	}
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i];

		rc = cli_spool_args(&c, argc, argv, &i, cli_dir_usage);
		if (rc < 0)
			return cli_opt_exit(rc);
		if (rc > 0)
			continue;
		if (strcmp(opt, "--json") == 0)
			json = true;
		else if (strcmp(opt, "--replace") == 0)
			replace = true;
		else if (opt[0] == '-' && opt[1] != '\0')
			return cli_usage_error(c.cmd, "unknown option: %s", opt);
		else if (nargs < 2)
			args[nargs++] = opt;
		else
			return cli_usage_error(c.cmd, "too many arguments");
	}
	if (nargs < want_min || nargs > want_max)
		return cli_usage_error(c.cmd, "%s takes %zu to %zu arguments", sub, want_min,
		                       want_max);
	if ((rc = cli_spool_open(&c, false, true)) != 0)
		return rc;
	rc = CLI_EXIT_OK;
	if (strcmp(sub, "add") == 0) {
		rc = cli_dir_add(&c, args[0], args[1]);
	} else if (strcmp(sub, "remove") == 0) {
		int r = store_directory_remove(c.st, args[0], &err);
		if (r < 0) {
			fprintf(stderr, "smexop directory: %s\n", err.msg);
			rc = 1;
		} else if (r == 1) {
			fprintf(stderr, "smexop directory: no entry %s\n", args[0]);
			rc = CLI_EXIT_USAGE;
		}
	} else if (strcmp(sub, "import") == 0) {
		rc = cli_dir_import(&c, args[0], replace);
	} else if (store_directory_list(c.st, cli_dir_list_cb, &json, &err) != 0) {
		fprintf(stderr, "smexop directory: %s\n", err.msg);
		rc = 1;
	}
	cli_spool_close(&c);
	return rc;
}
