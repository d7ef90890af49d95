/*
 * fuzz_mtasts_policy - libFuzzer target for the MTA-STS parsers
 * (transport/mtasts): any bytes as a policy file, as a TXT record (strict
 * parse and the tag splitter), as a Content-Type, as a destination for the
 * policy domain, and as host names matched against the parsed patterns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "transport/mtasts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct mtasts_policy p;
	struct mtasts_tag tags[8];
	struct sx_err err;
	char id[MTASTS_ID_MAX + 1], why[200], dom[300];
	const char *rec = (const char *)data;
	char *s;
	size_t i, which;
	volatile size_t sink = 0;

	if (a == NULL)
		return 0;
	if (mtasts_policy_parse(a, rec, size, &p, &err) == 0) {
		for (i = 0; i < p.nmx; i++) {
			sink += strlen(p.mx[i]);
			/* every pattern matches itself without its wildcard label */
			if (p.mx[i][0] != '*' && !mtasts_mx_match(&p, p.mx[i]))
				abort();
		}
		sink += mtasts_mx_match(&p, "mail.example.com");
	}
	if (mtasts_txt_parse(rec, size, id, why, sizeof(why)) == 0 &&
	    (strlen(id) < 1 || strlen(id) > MTASTS_ID_MAX))
		abort();
	sink += (size_t)mtasts_txt_tags(rec, size, tags, 8);
	mtasts_txt_choose(&rec, &size, 1, id, &which, why, sizeof(why));
	s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		sink += mtasts_content_type_ok(s);
		if (mtasts_policy_domain(s, dom, sizeof(dom)) == 0)
			sink += strlen(dom);
		sink += mtasts_pattern_match(s, "a.example.com");
		sink += mtasts_pattern_match("*.example.com", s);
		free(s);
	}
	(void)sink;
	arena_free(a);
	return 0;
}
