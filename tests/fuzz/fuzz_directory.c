/*
 * fuzz_directory - the directory file parser, lookups and the edge verdict
 *
 * Loads the input as a directory file (separators "+-", case folded, and
 * again case-sensitive); when it loads, every line's text before a ':' is
 * looked up as an address, as are slices of the input, and the stage 2
 * verdict is computed for them against two accepted domains.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct directory *d, const struct domains *doms, const char *s, size_t n)
{
	char addr[DIRECTORY_MAX_ADDRESS + 40];
	struct directory_result r;
	struct edge_result e;

	if (n >= sizeof(addr))
		n = sizeof(addr) - 1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (directory_lookup(d, addr, &r) == 0 && r.status == DIRECTORY_FOUND &&
	    (r.key == NULL || r.target == NULL))
		abort();
	directory_edge_check(doms, d, addr, false, &e);
	if (e.verdict != EDGE_ACCEPT && e.reply[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct domains *doms = domains_new();
	struct sx_err err;
	int cs;

	if (doms == NULL)
		abort();
	domains_add(doms, "example.com", DOMAIN_AUTHORITATIVE, true, &err);
	domains_add(doms, "relay.example", DOMAIN_INTERNAL_RELAY, false, &err);
	for (cs = 0; cs < 2; cs++) {
		struct directory *d = directory_load_text("fuzz", text, size, "+-", cs, &err);
		size_t pos = 0, i;
		if (d == NULL)
			continue;
		while (pos < size) {
			const char *nl = memchr(text + pos, '\n', size - pos);
			size_t end = nl ? (size_t)(nl - text) : size, t = pos, k;
			while (t < end && (text[t] == ' ' || text[t] == '\t'))
				t++;
			for (k = t; k < end && text[k] != ':' && text[k] != ' '; k++)
				;
			probe(d, doms, text + t, k - t);
			pos = end + 1;
		}
		for (i = 0; i + 8 <= size && i < 4096; i += 8)
			probe(d, doms, text + i, size - i < 40 ? size - i : 40);
		directory_free(d);
	}
	domains_free(doms);
	return 0;
}
