/*
 * fuzz_config - libFuzzer target: bytes as a smexop YAML configuration
 *
 * Feeds the input to config_load_mem() (libfyaml parser, tree caps,
 * schema walk, error collection) and, when it loads, through both dumps
 * so that every stored value is formatted once.  The loader must never
 * crash, leak or take unbounded time, whatever the bytes.
 */
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	struct config_diag diag;
	struct smexop_config *cfg;
	char line[1024];
	size_t i;

	if (null_out == NULL)
		null_out = fopen("/dev/null", "w");
	cfg = config_load_mem("fuzz.yaml", (const char *)data, size, &diag);
	if (cfg == NULL) {
		for (i = 0; i < diag.n; i++)
			config_error_format(&diag, i, line, sizeof(line));
		return 0;
	}
	if (null_out != NULL) {
		config_dump_yaml(cfg, null_out);
		config_dump_json(cfg, null_out);
	}
	config_free(cfg);
	return 0;
}
