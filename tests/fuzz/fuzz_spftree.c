/*
 * fuzz_spftree - the SPF lookup-count tree of check-domain
 * (report/domaincheck.h, spftree_*) fed hostile records
 *
 * Input: lines.  The first line is the TXT record of the root (f.test);
 * each further line "NAME RECORD" is the TXT record of NAME (several
 * lines for one name: several records).  A TXT query for a name without
 * a line is NXDOMAIN; A, AAAA and MX queries are answered OK, NODATA or
 * NXDOMAIN by a hash of the name.  The tree must finish, with bounded
 * work, whatever the records say.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "report/domaincheck.h"

#define MAX_LINES 64
#define MAX_RR    8

struct line {
	const char *name, *text;
	size_t name_len, text_len;
};

static void answer(const struct line *lines, size_t n, const char *name, enum dns_type type,
                   struct dns_answer *ans, struct dns_rr *rr)
{
	size_t i, k = 0;
	uint64_t h = str_case_hash(name, strlen(name));

	memset(ans, 0, sizeof(*ans));
	ans->qname = ans->canonname = name;
	ans->qtype = type;
	ans->rr = rr;
	if (type != DNS_T_TXT) {
		ans->status = h % 3 == 0 ? DNS_OK : h % 3 == 1 ? DNS_NODATA : DNS_NXDOMAIN;
		if (ans->status == DNS_OK) {
			memset(&rr[0], 0, sizeof(rr[0]));
			rr[0].type = type;
			if (type == DNS_T_MX)
				rr[0].u.mx.host = (char *)"mx.f.test";
			ans->count = 1;
		}
		return;
	}
	for (i = 0; i < n && k < MAX_RR; i++) {
		if (!str_case_eq_n(lines[i].name, lines[i].name_len, name, strlen(name)))
			continue;
		memset(&rr[k], 0, sizeof(rr[k]));
		rr[k].type = DNS_T_TXT;
		rr[k].u.txt.data = (char *)lines[i].text;
		rr[k].u.txt.len = lines[i].text_len;
		k++;
	}
	ans->count = k;
	ans->status = k ? DNS_OK : (h & 4) ? DNS_NXDOMAIN : DNS_SERVFAIL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line lines[MAX_LINES];
	struct dns_rr rr[MAX_RR];
	struct dns_answer ans;
	struct spftree_query *const *list;
	struct arena *a;
	struct spftree *t;
	char *copy, *p, *end;
	size_t n = 0, i, nq, rounds = 0;

	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	while (p < end && n < MAX_LINES) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		*e = '\0';
		if (n == 0) {
			lines[n].name = "f.test";
			lines[n].name_len = 6;
			lines[n].text = p;
			lines[n].text_len = (size_t)(e - p);
		} else {
			char *sp = memchr(p, ' ', (size_t)(e - p));
			lines[n].name = p;
			lines[n].name_len = sp ? (size_t)(sp - p) : (size_t)(e - p);
			lines[n].text = sp ? sp + 1 : e;
			lines[n].text_len = sp ? (size_t)(e - sp - 1) : 0;
		}
		n++;
		p = e + 1;
	}
	a = arena_new();
	t = a ? spftree_new(a, "f.test") : NULL;
	while (t != NULL && !spftree_done(t)) {
		if (++rounds > SPFTREE_MAX_QUERIES + 1)
			abort(); /* every round answers at least one query */
		nq = spftree_queries(t, &list);
		for (i = 0; i < nq; i++) {
			if (list[i]->answered)
				continue;
			answer(lines, n, list[i]->name, list[i]->type, &ans, rr);
			spftree_answer(t, list[i]->name, list[i]->type, &ans);
			nq = spftree_queries(t, &list);
			break;
		}
	}
	if (t != NULL) {
		const struct spftree_node *root = spftree_root(t);
		if (root->total_terms > 100000)
			abort();
		(void)spftree_format(a, root);
	}
	arena_free(a);
	free(copy);
	return 0;
}
