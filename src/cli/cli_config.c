/*
 * cli_config - `smexop config check|dump|docs`: the configuration file
 * seen from the command line
 *
 * check prints `FILE: ok` (exit 0) or every error as `file:line:col:
 * message` on standard error (exit 2); dump prints the effective
 * configuration, defaults merged, as YAML or (--json) one JSON object;
 * docs prints the Markdown reference that is committed as docs/config.md.
 * All three are thin: the work is in core/config*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"

static void cli_config_usage(FILE *out)
{
	fprintf(out, "usage: smexop config check FILE\n"
	             "       smexop config dump [FILE] [--json]\n"
	             "       smexop config docs\n"
	             "\n"
	             "  check   report every error in FILE as file:line:col: message;\n"
	             "          prints 'FILE: ok' and exits 0 when there is none, else exits 2\n"
	             "  dump    print the effective configuration (built-in defaults merged\n"
	             "          with FILE, if given) as YAML, or as one JSON object with --json\n"
	             "          (sizes in bytes, durations in milliseconds)\n"
	             "  docs    print the Markdown reference of every setting\n"
	             "\n"
	             "options:\n"
	             "  --json   (dump) JSON instead of YAML\n"
	             "  --help   this text\n");
}

/* cli_config_print_errors - every error of diag on standard error */
static void cli_config_print_errors(const struct config_diag *diag)
{
	char line[1024];
	size_t i;

	for (i = 0; i < diag->n; i++)
		fprintf(stderr, "%s\n", config_error_format(diag, i, line, sizeof(line)));
	if (diag->truncated)
		fprintf(stderr, "%s: too many errors; only the first %d are shown\n",
		        diag->file ? diag->file : "config", CONFIG_MAX_ERRORS);
}

static struct smexop_config *cli_config_load(const char *file)
{
	static struct config_diag diag;
	struct smexop_config *cfg;

	cfg = config_load(file, &diag);
	if (cfg == NULL)
		cli_config_print_errors(&diag);
	return cfg;
}

int cli_config(int argc, char **argv)
{
	const char *sub, *file = NULL;
	struct smexop_config *cfg;
	bool json = false;
	int i, rc;

	if (argc < 2) {
		cli_config_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	sub = argv[1];
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_config_usage(stdout);
			return CLI_EXIT_OK;
		}
	if (strcmp(sub, "check") != 0 && strcmp(sub, "dump") != 0 && strcmp(sub, "docs") != 0)
		return cli_usage_error("config", "unknown subcommand '%s' (check, dump or docs)",
		                       sub);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "dump") == 0)
			json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage_error("config", "unknown option '%s'", argv[i]);
		else if (file == NULL && strcmp(sub, "docs") != 0)
			file = argv[i];
		else
			return cli_usage_error("config", "unexpected argument '%s'", argv[i]);
	}
	if (strcmp(sub, "docs") == 0)
		return config_docs(stdout) < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	if (strcmp(sub, "check") == 0 && file == NULL)
		return cli_usage_error("config", "check needs a FILE");

	cfg = cli_config_load(file);
	if (cfg == NULL)
		return CLI_EXIT_USAGE;
	if (strcmp(sub, "check") == 0) {
		printf("%s: ok\n", file);
		rc = 0;
	} else {
		rc = json ? config_dump_json(cfg, stdout) : config_dump_yaml(cfg, stdout);
	}
	config_free(cfg);
	return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}
