/*
 * bench_iplist - load time, memory and lookups per second of filter/iplist
 *
 *     bench_iplist [ENTRIES] [LOOKUPS]        (defaults 100000 and 2000000)
 *
 * Builds a list file of ENTRIES random prefixes (80% IPv4 /16../32, 20%
 * IPv6 /32../128, with labels on half of them), loads it with
 * iplist_load_text (parse + build) and looks up LOOKUPS random addresses,
 * half of them inside listed prefixes.  For comparison the same prefixes
 * go into a plain one-bit-per-level binary trie (the textbook structure
 * the sorted-ranges design was measured against).  Prints figures; never
 * asserts on time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "filter/iplist.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- the comparison: an uncompressed binary trie ---------------------- */

struct tnode {
	int32_t child[2];
	int32_t entry; /* -1: none */
};

struct trie {
	struct tnode *n;
	size_t len, size;
};

static int32_t trie_node(struct trie *t)
{
	if (t->len == t->size) {
		t->size = t->size ? t->size * 2 : 1024;
		t->n = realloc(t->n, t->size * sizeof(*t->n));
		if (t->n == NULL)
			exit(1);
	}
	t->n[t->len].child[0] = t->n[t->len].child[1] = -1;
	t->n[t->len].entry = -1;
	return (int32_t)t->len++;
}

static void trie_add(struct trie *t, const struct net_addr *a, unsigned prefix, int32_t entry)
{
	int32_t cur = 0;
	unsigned i;

	for (i = 0; i < prefix; i++) {
		int bit = (a->bytes[i / 8] >> (7 - i % 8)) & 1;
		if (t->n[cur].child[bit] < 0) {
			int32_t k = trie_node(t);
			t->n[cur].child[bit] = k;
		}
		cur = t->n[cur].child[bit];
	}
	if (t->n[cur].entry < 0)
		t->n[cur].entry = entry;
}

static int32_t trie_lookup(const struct trie *t, const struct net_addr *a)
{
	int32_t cur = 0, best = -1;
	unsigned i, bits = a->family == AF_INET ? 32 : 128;

	for (i = 0;; i++) {
		if (t->n[cur].entry >= 0)
			best = t->n[cur].entry;
		if (i == bits)
			break;
		cur = t->n[cur].child[(a->bytes[i / 8] >> (7 - i % 8)) & 1];
		if (cur < 0)
			break;
	}
	return best;
}

/* ---------------------------------------------------------------------- */

static void random_prefix(struct net_addr *a, unsigned *prefix)
{
	uint64_t r = next(), s = next();
	int i;

	memset(a, 0, sizeof(*a));
	if (r % 5 != 0) {
		a->family = AF_INET;
		memcpy(a->bytes, &s, 4);
		*prefix = 16 + (unsigned)((r >> 8) % 17);
	} else {
		a->family = AF_INET6;
		a->bytes[0] = 0x20;
		a->bytes[1] = 0x01;
		memcpy(a->bytes + 2, &s, 8);
		s = next();
		memcpy(a->bytes + 10, &s, 6);
		*prefix = 32 + (unsigned)((r >> 8) % 97);
	}
	for (i = (int)*prefix; i < (a->family == AF_INET ? 32 : 128); i++)
		a->bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

static size_t nwarn;

static void count_warn(void *arg, const struct sx_err *w)
{
	(void)arg;
	(void)w;
	nwarn++;
}

int main(int argc, char **argv)
{
	size_t nent = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t nlook = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000000;
	struct net_addr *nets = calloc(nent, sizeof(*nets));
	unsigned *prefixes = calloc(nent, sizeof(*prefixes));
	struct net_addr *queries = calloc(nlook, sizeof(*queries));
	struct buf text;
	struct iplist *l = iplist_new();
	struct trie t4 = { 0 }, t6 = { 0 };
	struct sx_err err = { 0 };
	double t0, t1;
	size_t i, hits = 0, thits = 0;
	char a[NET_ADDR_STRLEN];

	if (nets == NULL || prefixes == NULL || queries == NULL || l == NULL)
		return 1;
	buf_init(&text, BUF_CAP_FILE);
	for (i = 0; i < nent; i++) {
		random_prefix(&nets[i], &prefixes[i]);
		if (buf_printf(&text, "%s/%u%s\n", net_addr_format(&nets[i], a, sizeof(a)),
		               prefixes[i], i % 2 ? " some label" : "") < 0)
			return 1;
	}
	for (i = 0; i < nlook; i++) {
		if (i % 2 == 0) {
			/* inside a listed prefix */
			size_t k = next() % nent;
			uint64_t r = next();
			unsigned j, bits = nets[k].family == AF_INET ? 32 : 128;
			queries[i] = nets[k];
			for (j = prefixes[k]; j < bits; j++, r >>= 1)
				if (r & 1)
					queries[i].bytes[j / 8] |= (uint8_t)(0x80u >> (j % 8));
		} else {
			unsigned p;
			random_prefix(&queries[i], &p);
		}
	}

	t0 = now();
	if (iplist_load_text(l, "bench", text.data, text.len, count_warn, NULL, &err) < 0) {
		fprintf(stderr, "load: %s\n", err.msg);
		return 1;
	}
	t1 = now();
	printf("iplist: %zu entries (%zu distinct) loaded in %.1f ms (parse + build), "
	       "%.1f MB (%.0f bytes/entry), %zu warnings\n",
	       nent, iplist_count(l), (t1 - t0) * 1e3, (double)iplist_memory(l) / 1e6,
	       (double)iplist_memory(l) / (double)iplist_count(l), nwarn);

	t0 = now();
	for (i = 0; i < nlook; i++)
		hits += iplist_lookup(l, &queries[i]) != NULL;
	t1 = now();
	printf("iplist: %zu lookups in %.1f ms: %.2f M lookups/s (%zu hits)\n", nlook,
	       (t1 - t0) * 1e3, (double)nlook / (t1 - t0) / 1e6, hits);

	trie_node(&t4);
	trie_node(&t6);
	t0 = now();
	for (i = 0; i < nent; i++)
		trie_add(nets[i].family == AF_INET ? &t4 : &t6, &nets[i], prefixes[i], (int32_t)i);
	t1 = now();
	printf("binary trie: built in %.1f ms, %.1f MB\n", (t1 - t0) * 1e3,
	       (double)(t4.size + t6.size) * sizeof(struct tnode) / 1e6);
	t0 = now();
	for (i = 0; i < nlook; i++)
		thits += trie_lookup(queries[i].family == AF_INET ? &t4 : &t6, &queries[i]) >= 0;
	t1 = now();
	printf("binary trie: %zu lookups in %.1f ms: %.2f M lookups/s (%zu hits)\n", nlook,
	       (t1 - t0) * 1e3, (double)nlook / (t1 - t0) / 1e6, thits);

	iplist_free(l);
	buf_free(&text);
	free(t4.n);
	free(t6.n);
	free(nets);
	free(prefixes);
	free(queries);
	return hits == thits ? 0 : 3;
}
