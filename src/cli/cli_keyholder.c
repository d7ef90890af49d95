/*
 * cli_keyholder - `smexop keyholder --fd N [-c FILE]`: the key holder
 *
 * Not for admins to run by hand: `smexop serve` starts it (fork and exec,
 * before it drops privileges) with one end of a SOCK_SEQPACKET socketpair
 * as descriptor N, and asks it for DKIM/ARC signatures there
 * (src/keyholder/keyholder.h).  Exit: 0 when serve has gone or on
 * SIGTERM, 1 when it cannot run, 2 on usage or configuration errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/str.h"
#include "keyholder/keyholder.h"

static int keyholder_usage(FILE *out)
{
	fprintf(out, "usage: smexop keyholder --fd N [-c FILE]\n"
	             "\n"
	             "The DKIM/ARC key holder that `smexop serve` starts: it loads the signing\n"
	             "keys of every dkim.signing item and signs on request over descriptor N\n"
	             "(a SOCK_SEQPACKET socket).  Not meant to be run by hand.\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int cli_keyholder(int argc, char **argv)
{
	const char *config_path = NULL;
	uint64_t fd = 0;
	bool have_fd = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return keyholder_usage(stdout);
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			config_path = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 3, 1024, &fd) < 0)
				return cli_usage_error("keyholder", "--fd needs a descriptor >= 3");
			have_fd = true;
			continue;
		}
		return cli_usage_error("keyholder", "unexpected argument '%s'", argv[i]);
	}
	if (!have_fd)
		return cli_usage_error("keyholder", "--fd N is required");
	if (fcntl((int)fd, F_GETFD) < 0) {
		fprintf(stderr, "smexop keyholder: descriptor %d is not open\n", (int)fd);
		return 1;
	}
	return keyholder_main(config_path, (int)fd);
}
