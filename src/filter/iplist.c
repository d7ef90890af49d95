/*
 * iplist - IPv4/IPv6 prefix sets with longest-match lookup (see iplist.h)
 *
 * Entries are kept in one growable array.  iplist_build() sorts them by
 * (family, start, prefix length), drops repeated prefixes and sweeps the
 * sorted list once with a stack of the prefixes that contain the current
 * position, writing a new range every time the innermost containing
 * entry changes.  Lookups then binary-search the range starts.
 */
#include "filter/iplist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"

/* An address as a 128-bit key: IPv4 in the low 32 bits of lo. */
struct key {
	uint64_t hi, lo;
};

struct ent {
	struct iplist_entry pub;
	uint32_t seq; /* insertion order: the first of repeated prefixes wins */
};

struct iplist {
	struct ent *ents;
	size_t n, size;
	struct arena *labels;
	/* built form: per family, range starts and the entry index of each
	 * range (-1: no entry) */
	bool built;
	uint32_t *v4_start;
	int32_t *v4_idx;
	size_t v4_n;
	struct key *v6_start;
	int32_t *v6_idx;
	size_t v6_n;
};

static struct key iplist_key(const struct net_addr *a)
{
	struct key k = { 0, 0 };
	int i;

	if (a->family == AF_INET) {
		k.lo = (uint64_t)a->bytes[0] << 24 | (uint64_t)a->bytes[1] << 16 |
		       (uint64_t)a->bytes[2] << 8 | a->bytes[3];
		return k;
	}
	for (i = 0; i < 8; i++)
		k.hi = k.hi << 8 | a->bytes[i];
	for (i = 8; i < 16; i++)
		k.lo = k.lo << 8 | a->bytes[i];
	return k;
}

static int iplist_key_cmp(struct key a, struct key b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* iplist_key_end - the last address of the prefix starting at k */
static struct key iplist_key_end(struct key k, int family, unsigned prefix)
{
	unsigned host = (family == AF_INET ? 32 : 128) - prefix;

	if (family == AF_INET) {
		k.lo |= host >= 32 ? 0xffffffffu : ((1ull << host) - 1);
		return k;
	}
	if (host >= 64) {
		k.lo = UINT64_MAX;
		k.hi |= host >= 128 ? UINT64_MAX : ((1ull << (host - 64)) - 1);
	} else if (host > 0) {
		k.lo |= (1ull << host) - 1;
	}
	return k;
}

static bool iplist_key_is_max(struct key k, int family)
{
	if (family == AF_INET)
		return k.lo == 0xffffffffu;
	return k.hi == UINT64_MAX && k.lo == UINT64_MAX;
}

static struct key iplist_key_next(struct key k)
{
	if (++k.lo == 0)
		k.hi++;
	return k;
}

/* iplist_clear_host - clear the bits after prefix; true when any was set */
static bool iplist_clear_host(struct net_addr *a, unsigned prefix)
{
	unsigned bits = net_addr_bits(a), i;
	bool set = false;

	for (i = prefix; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));
		if (a->bytes[i / 8] & m) {
			set = true;
			a->bytes[i / 8] &= (uint8_t)~m;
		}
	}
	return set;
}

struct iplist *iplist_new(void)
{
	struct iplist *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->labels = arena_new();
	if (l->labels == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

static void iplist_drop_built(struct iplist *l)
{
	free(l->v4_start);
	free(l->v4_idx);
	free(l->v6_start);
	free(l->v6_idx);
	l->v4_start = NULL;
	l->v4_idx = NULL;
	l->v6_start = NULL;
	l->v6_idx = NULL;
	l->v4_n = l->v6_n = 0;
	l->built = false;
}

struct iplist *iplist_free(struct iplist *l)
{
	if (l == NULL)
		return NULL;
	iplist_drop_built(l);
	free(l->ents);
	arena_free(l->labels);
	free(l);
	return NULL;
}

/* iplist_label_dup - a copy with control characters shown as '?', cut
 * at IPLIST_MAX_LABEL bytes; NULL for an empty label */
static const char *iplist_label_dup(struct iplist *l, const char *s, size_t n)
{
	char *out;
	size_t i;

	if (s == NULL || n == 0)
		return NULL;
	if (n > IPLIST_MAX_LABEL)
		n = IPLIST_MAX_LABEL;
	out = arena_strndup(l->labels, s, n);
	if (out == NULL)
		return NULL;
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	return out;
}

static int iplist_add_n(struct iplist *l, const struct net_addr *net, unsigned prefix,
                        const char *label, size_t label_len, unsigned line)
{
	struct ent *e;

	if (l == NULL || net == NULL || (net->family != AF_INET && net->family != AF_INET6) ||
	    prefix > net_addr_bits(net) || l->n >= IPLIST_MAX_ENTRIES)
		return -1;
	if (l->n == l->size) {
		size_t size = l->size ? l->size * 2 : 64;
		struct ent *p;
		if (size > IPLIST_MAX_ENTRIES)
			size = IPLIST_MAX_ENTRIES;
		p = realloc(l->ents, size * sizeof(*p));
		if (p == NULL)
			return -1;
		l->ents = p;
		l->size = size;
	}
	e = &l->ents[l->n];
	memset(e, 0, sizeof(*e));
	e->pub.net = *net;
	e->pub.prefix = prefix;
	e->pub.line = line;
	e->seq = (uint32_t)l->n;
	iplist_clear_host(&e->pub.net, prefix);
	if (label != NULL && label_len > 0) {
		e->pub.label = iplist_label_dup(l, label, label_len);
		if (e->pub.label == NULL)
			return -1;
	}
	l->n++;
	l->built = false;
	return 0;
}

int iplist_add(struct iplist *l, const struct net_addr *net, unsigned prefix, const char *label)
{
	return iplist_add_n(l, net, prefix, label, label ? strlen(label) : 0, 0);
}

int iplist_parse_entry(const char *s, size_t n, struct net_addr *net, unsigned *prefix,
                       bool *host_bits, struct sx_err *err)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	bool colon = memchr(s, ':', alen) != NULL;
	uint64_t p;

	*host_bits = false;
	if (alen == 0 || net_addr_parse_n(s, alen, net) < 0) {
		sx_err_at(err, NULL, 0, 1, "not an IPv4 or IPv6 address: '%.*s'",
		          (int)(alen > 64 ? 64 : alen), s);
		return -1;
	}
	*prefix = net_addr_bits(net);
	if (slash == NULL)
		return 0;
	if (str_to_u64(slash + 1, n - alen - 1, 0, 128, &p) < 0) {
		sx_err_at(err, NULL, 0, (unsigned)alen + 2, "bad prefix length '%.*s'",
		          (int)(n - alen - 1 > 16 ? 16 : n - alen - 1), slash + 1);
		return -1;
	}
	/* "::ffff:192.0.2.0/120" is the IPv4 prefix 192.0.2.0/24 */
	if (colon && net->family == AF_INET) {
		if (p < 96) {
			sx_err_at(err, NULL, 0, (unsigned)alen + 2,
			          "prefix /%u is shorter than the IPv4-mapped range (/96)",
			          (unsigned)p);
			return -1;
		}
		p -= 96;
	}
	if (p > net_addr_bits(net)) {
		sx_err_at(err, NULL, 0, (unsigned)alen + 2, "prefix /%u is longer than %u bits",
		          (unsigned)p, net_addr_bits(net));
		return -1;
	}
	*prefix = (unsigned)p;
	*host_bits = iplist_clear_host(net, *prefix);
	return 0;
}

static void iplist_warn(iplist_warn_fn warn, void *arg, const struct sx_err *w)
{
	char line[700];

	if (warn != NULL) {
		warn(arg, w);
		return;
	}
	log_warn("iplist warning=\"%s\"", sx_err_format(w, line, sizeof(line)));
}

int iplist_add_line(struct iplist *l, const char *name, unsigned line, const char *s, size_t n,
                    iplist_warn_fn warn, void *warn_arg, struct sx_err *err)
{
	size_t i = 0, tok, toklen, lab, lablen;
	struct net_addr net;
	unsigned prefix;
	bool host_bits;
	struct sx_err e = { 0 };

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] == '#' || s[i] == '\r')
		return 0;
	tok = i;
	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '#' && s[i] != '\r')
		i++;
	toklen = i - tok;
	if (memchr(s, '\0', n) != NULL) {
		sx_err_at(err, name, line, (unsigned)((const char *)memchr(s, '\0', n) - s) + 1,
		          "NUL byte in the line");
		return -1;
	}
	if (iplist_parse_entry(s + tok, toklen, &net, &prefix, &host_bits, &e) < 0) {
		sx_err_at(err, name, line, (unsigned)tok + e.col, "%s", e.msg);
		return -1;
	}
	/* the label: words after the entry, else a trailing comment */
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '#') {
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	lab = i;
	while (i < n && s[i] != '#')
		i++;
	lablen = i - lab;
	while (lablen > 0 && str_is_space((unsigned char)s[lab + lablen - 1]))
		lablen--;
	if (l->n >= IPLIST_MAX_ENTRIES) {
		sx_err_at(err, name, line, (unsigned)tok + 1, "more than %u entries",
		          IPLIST_MAX_ENTRIES);
		return -1;
	}
	if (iplist_add_n(l, &net, prefix, s + lab, lablen, line) < 0) {
		sx_err_at(err, name, line, (unsigned)tok + 1, "out of memory");
		return -1;
	}
	if (host_bits) {
		char a[NET_ADDR_STRLEN];
		struct sx_err w = { 0 };
		sx_err_at(&w, name, line, (unsigned)tok + 1, "host bits set in '%.*s': using %s/%u",
		          (int)(toklen > 64 ? 64 : toklen), s + tok,
		          net_addr_format(&net, a, sizeof(a)), prefix);
		iplist_warn(warn, warn_arg, &w);
	}
	return 0;
}

/* ---- building ------------------------------------------------------- */

static int iplist_ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	int c;

	if (a->pub.net.family != b->pub.net.family)
		return a->pub.net.family == AF_INET ? -1 : 1;
	c = iplist_key_cmp(iplist_key(&a->pub.net), iplist_key(&b->pub.net));
	if (c != 0)
		return c;
	if (a->pub.prefix != b->pub.prefix)
		return a->pub.prefix < b->pub.prefix ? -1 : 1; /* the wider one first */
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct sweep {
	struct key *start;
	int32_t *idx;
	size_t n;
};

/* iplist_emit - from k on, the innermost entry is idx (-1: none) */
static void iplist_emit(struct sweep *w, struct key k, int32_t idx)
{
	/* a range that starts where the last one did replaces it */
	if (w->n > 0 && iplist_key_cmp(w->start[w->n - 1], k) == 0)
		w->n--;
	if (w->n > 0 && w->idx[w->n - 1] == idx)
		return;
	w->start[w->n] = k;
	w->idx[w->n] = idx;
	w->n++;
}

/* iplist_sweep - flatten ents[lo..hi) (one family, sorted, distinct)
 * into w; stack has room for hi - lo indexes */
static void iplist_sweep(const struct ent *ents, size_t lo, size_t hi, int family, struct sweep *w,
                         int32_t *stack)
{
	size_t sp = 0, i;
	struct key zero = { 0, 0 };

	w->n = 0;
	iplist_emit(w, zero, -1);
	for (i = lo; i < hi; i++) {
		const struct ent *e = &ents[i];
		struct key s = iplist_key(&e->pub.net);
		while (sp > 0) {
			const struct ent *t = &ents[stack[sp - 1]];
			struct key end =
			    iplist_key_end(iplist_key(&t->pub.net), family, t->pub.prefix);
			if (iplist_key_cmp(end, s) >= 0)
				break;
			sp--;
			iplist_emit(w, iplist_key_next(end), sp > 0 ? stack[sp - 1] : -1);
		}
		iplist_emit(w, s, (int32_t)i);
		stack[sp++] = (int32_t)i;
	}
	while (sp > 0) {
		const struct ent *t = &ents[stack[--sp]];
		struct key end = iplist_key_end(iplist_key(&t->pub.net), family, t->pub.prefix);
		/* every entry still on the stack contains t: all end at the top */
		if (iplist_key_is_max(end, family))
			break;
		iplist_emit(w, iplist_key_next(end), sp > 0 ? stack[sp - 1] : -1);
	}
}

/* iplist_dedup - sort and drop repeated prefixes (first one kept); calls
 * warn for each one dropped when warn is set */
static void iplist_dedup(struct iplist *l, const char *name, iplist_warn_fn warn, void *arg)
{
	size_t i, k = 0;

	if (l->n > 1)
		qsort(l->ents, l->n, sizeof(*l->ents), iplist_ent_cmp);
	for (i = 0; i < l->n; i++) {
		if (k > 0 && l->ents[k - 1].pub.prefix == l->ents[i].pub.prefix &&
		    l->ents[k - 1].pub.net.family == l->ents[i].pub.net.family &&
		    memcmp(l->ents[k - 1].pub.net.bytes, l->ents[i].pub.net.bytes, 16) == 0) {
			if (warn != NULL || name != NULL) {
				struct sx_err w = { 0 };
				char a[80];
				sx_err_at(&w, name, l->ents[i].pub.line,
				          l->ents[i].pub.line ? 1 : 0,
				          "%s is listed twice; the first entry (line %u) is used",
				          iplist_entry_format(&l->ents[i].pub, a, sizeof(a)),
				          l->ents[k - 1].pub.line);
				iplist_warn(warn, arg, &w);
			}
			continue;
		}
		l->ents[k++] = l->ents[i];
	}
	l->n = k;
	/* the list is mostly read from now on: give back the slack */
	if (k > 0 && k < l->size) {
		struct ent *p = realloc(l->ents, k * sizeof(*p));
		if (p != NULL) {
			l->ents = p;
			l->size = k;
		}
	}
}

static int iplist_build_warn(struct iplist *l, const char *name, iplist_warn_fn warn, void *arg)
{
	size_t nv4 = 0, i;
	struct sweep w4 = { 0 }, w6 = { 0 };
	int32_t *stack = NULL;

	if (l == NULL)
		return -1;
	if (l->built)
		return 0;
	iplist_drop_built(l);
	iplist_dedup(l, name, warn, arg);
	for (i = 0; i < l->n && l->ents[i].pub.net.family == AF_INET; i++)
		nv4++;
	/* n prefixes open and close at most 2n + 1 ranges */
	w4.start = malloc((2 * nv4 + 1) * sizeof(*w4.start));
	w4.idx = malloc((2 * nv4 + 1) * sizeof(*w4.idx));
	w6.start = malloc((2 * (l->n - nv4) + 1) * sizeof(*w6.start));
	w6.idx = malloc((2 * (l->n - nv4) + 1) * sizeof(*w6.idx));
	stack = malloc((l->n + 1) * sizeof(*stack));
	if (w4.start == NULL || w4.idx == NULL || w6.start == NULL || w6.idx == NULL ||
	    stack == NULL)
		goto fail;
	iplist_sweep(l->ents, 0, nv4, AF_INET, &w4, stack);
	iplist_sweep(l->ents, nv4, l->n, AF_INET6, &w6, stack);
	free(stack);
	stack = NULL;
	/* IPv4 starts fit in 32 bits */
	l->v4_start = malloc(w4.n * sizeof(*l->v4_start));
	if (l->v4_start == NULL)
		goto fail;
	for (i = 0; i < w4.n; i++)
		l->v4_start[i] = (uint32_t)w4.start[i].lo;
	free(w4.start);
	l->v4_idx = realloc(w4.idx, w4.n * sizeof(*w4.idx));
	if (l->v4_idx == NULL)
		l->v4_idx = w4.idx;
	l->v4_n = w4.n;
	l->v6_start = realloc(w6.start, w6.n * sizeof(*w6.start));
	if (l->v6_start == NULL)
		l->v6_start = w6.start;
	l->v6_idx = realloc(w6.idx, w6.n * sizeof(*w6.idx));
	if (l->v6_idx == NULL)
		l->v6_idx = w6.idx;
	l->v6_n = w6.n;
	l->built = true;
	return 0;
fail:
	free(w4.start);
	free(w4.idx);
	free(w6.start);
	free(w6.idx);
	free(stack);
	iplist_drop_built(l);
	return -1;
}

int iplist_build(struct iplist *l)
{
	return iplist_build_warn(l, NULL, NULL, NULL);
}

/* ---- loading -------------------------------------------------------- */

int iplist_load_text(struct iplist *l, const char *name, const char *text, size_t len,
                     iplist_warn_fn warn, void *warn_arg, struct sx_err *err)
{
	size_t pos = 0;
	unsigned line = 0;

	if (l == NULL) {
		sx_err_set(err, "no list");
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		if (end - pos > BUF_CAP_LINE) {
			sx_err_at(err, name, line, BUF_CAP_LINE + 1, "line longer than %u bytes",
			          (unsigned)BUF_CAP_LINE);
			return -1;
		}
		if (iplist_add_line(l, name, line, text + pos, end - pos, warn, warn_arg, err) < 0)
			return -1;
		pos = end + 1;
	}
	if (iplist_build_warn(l, name ? name : "", warn, warn_arg) < 0) {
		sx_err_at(err, name, 0, 0, "out of memory");
		return -1;
	}
	return 0;
}

int iplist_load_file(struct iplist *l, const char *path, iplist_warn_fn warn, void *warn_arg,
                     struct sx_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b, BUF_CAP_FILE);
	if (buf_read_file(&b, path) < 0) {
		sx_err_at(err, path, 0, 0,
		          "cannot read the file (missing, unreadable, or over %u MB)",
		          (unsigned)(BUF_CAP_FILE >> 20));
		buf_free(&b);
		return -1;
	}
	rc = iplist_load_text(l, path, b.data, b.len, warn, warn_arg, err);
	buf_free(&b);
	return rc;
}

/* ---- lookup --------------------------------------------------------- */

static const struct iplist_entry *iplist_scan(const struct iplist *l, const struct net_addr *ip)
{
	const struct iplist_entry *best = NULL;
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ent *e = &l->ents[i];
		if (e->pub.net.family != ip->family ||
		    !net_addr_match(&e->pub.net, ip, e->pub.prefix))
			continue;
		/* the first of equal prefixes wins, as after building */
		if (best == NULL || e->pub.prefix > best->prefix ||
		    (e->pub.prefix == best->prefix && e->seq < ((const struct ent *)best)->seq))
			best = &e->pub;
	}
	return best;
}

const struct iplist_entry *iplist_lookup(const struct iplist *l, const struct net_addr *ip)
{
	size_t lo, hi;
	int32_t idx;

	if (l == NULL || ip == NULL || l->n == 0)
		return NULL;
	if (!l->built)
		return iplist_scan(l, ip);
	if (ip->family == AF_INET) {
		uint32_t k = (uint32_t)iplist_key(ip).lo;
		/* the last start <= k; v4_start[0] is 0 */
		lo = 0;
		hi = l->v4_n;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (l->v4_start[mid] <= k)
				lo = mid;
			else
				hi = mid;
		}
		idx = l->v4_idx[lo];
	} else if (ip->family == AF_INET6) {
		struct key k = iplist_key(ip);
		lo = 0;
		hi = l->v6_n;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (iplist_key_cmp(l->v6_start[mid], k) <= 0)
				lo = mid;
			else
				hi = mid;
		}
		idx = l->v6_idx[lo];
	} else {
		return NULL;
	}
	return idx < 0 ? NULL : &l->ents[idx].pub;
}

size_t iplist_count(const struct iplist *l)
{
	return l == NULL ? 0 : l->n;
}

size_t iplist_memory(const struct iplist *l)
{
	if (l == NULL)
		return 0;
	return sizeof(*l) + l->size * sizeof(*l->ents) + arena_used(l->labels) +
	       l->v4_n * (sizeof(*l->v4_start) + sizeof(*l->v4_idx)) +
	       l->v6_n * (sizeof(*l->v6_start) + sizeof(*l->v6_idx));
}

const char *iplist_entry_format(const struct iplist_entry *e, char *out, size_t outsize)
{
	char a[NET_ADDR_STRLEN];

	snprintf(out, outsize, "%s/%u", net_addr_format(&e->net, a, sizeof(a)), e->prefix);
	return out;
}
