/*
 * dns_zone - in-memory DNS data: master-file loader, answers, and the
 * zone backend of the dns layer (see dns_zone.h)
 *
 * Data: a case-insensitive hash map from canonical owner names (see
 * dns_name.c) to nodes holding their records.  Every owner's ancestors
 * down to two labels exist as nodes too, empty ones being the empty
 * non-terminals that answer NODATA (so with "a.b.example.com" loaded,
 * "b.example.com" and "example.com" are NODATA while "com" and
 * "x.example.com" are NXDOMAIN).  Ancestor nodes point into their
 * descendant's name, so they cost a node and no string.
 *
 * The loader is a small lexer (tokens, quotes, comments, parentheses,
 * kept with their line and column) and one parser per record type.  The
 * first error stops the load; records read before it stay in the zone.
 * Limits: the file size (ZONE_FILE_CAP), the line length, the fields of
 * one record, the records (ZONE_MAX_RECORDS) and names (ZONE_MAX_NODES)
 * of a zone, so that no input makes the loader hang or eat the machine.
 *
 * The zone backend answers every lookup at once through dns.c, which
 * delivers from a zero-delay event.  A name marked with
 * dns_zone_add_timeout() is answered DNS_TIMEOUT at once, not after the
 * lookup deadline: the time is simulated, so test suites do not wait.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/dns.h"
#include "core/dns_impl.h"
#include "core/dns_zone.h"
#include "core/str.h"

#define ZONE_FILE_CAP       BUF_CAP_FILE
#define ZONE_MAX_RECORDS    1000000
#define ZONE_MAX_NODES      4000000
#define ZONE_MAX_LINE       65536 /* bytes in one physical line */
#define ZONE_MAX_FIELDS     4096  /* tokens in one record */
#define ZONE_MAX_RDATA      65535
#define ZONE_MAX_CNAME      8
#define ZONE_DEFAULT_TTL    3600
#define ZONE_TTL_MAX        2147483647u /* RFC 2181 section 8 */
#define ZONE_INITIAL_BUCKET 1024

struct zone_node {
	struct zone_node *next; /* hash chain */
	const char *name;       /* canonical text; ancestors point into a child's name */
	size_t len;
	uint64_t hash;
	struct dns_rr *rr; /* malloc'd, grows by doubling */
	size_t nrr, cap;
	bool has_cname;
};

/* a name (and type) whose queries fail: time out or SERVFAIL */
struct zone_failure {
	struct zone_failure *next;
	const char *name;
	enum dns_type type; /* 0: every type */
	enum dns_status status;
};

struct dns_zone {
	struct arena *arena; /* names, nodes, rdata */
	struct zone_node **buckets;
	size_t nbuckets, nnodes, nrecords;
	struct zone_failure *failures;
};

struct dns_zone *dns_zone_new(void)
{
	struct dns_zone *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	z->arena = arena_new();
	z->buckets = calloc(ZONE_INITIAL_BUCKET, sizeof(*z->buckets));
	if (z->arena == NULL || z->buckets == NULL) {
		arena_free(z->arena);
		free(z->buckets);
		free(z);
		return NULL;
	}
	z->nbuckets = ZONE_INITIAL_BUCKET;
	return z;
}

struct dns_zone *dns_zone_free(struct dns_zone *z)
{
	size_t i;
	struct zone_node *n;

	if (z == NULL)
		return NULL;
	for (i = 0; i < z->nbuckets; i++)
		for (n = z->buckets[i]; n != NULL; n = n->next)
			free(n->rr);
	free(z->buckets);
	arena_free(z->arena);
	free(z);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the name map                                                        */

static struct zone_node *zone_find(const struct dns_zone *z, const char *name, size_t len)
{
	uint64_t h = str_case_hash(name, len);
	struct zone_node *n;

	for (n = z->buckets[h & (z->nbuckets - 1)]; n != NULL; n = n->next)
		if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0)
			return n;
	return NULL;
}

/* zone_grow - double the buckets when the map is full; failure is harmless */
static void zone_grow(struct dns_zone *z)
{
	size_t nb = z->nbuckets * 2, i;
	struct zone_node **b, *n, *next;

	if (z->nnodes < z->nbuckets || nb > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	for (i = 0; i < z->nbuckets; i++)
		for (n = z->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
}

/* zone_node_new - a node for name (not copied: it must live in z->arena) */
static struct zone_node *zone_node_new(struct dns_zone *z, const char *name, size_t len)
{
	struct zone_node *n;

	if (z->nnodes >= ZONE_MAX_NODES)
		return NULL;
	n = arena_zalloc(z->arena, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->name = name;
	n->len = len;
	n->hash = str_case_hash(name, len);
	n->next = z->buckets[n->hash & (z->nbuckets - 1)];
	z->buckets[n->hash & (z->nbuckets - 1)] = n;
	z->nnodes++;
	zone_grow(z);
	return n;
}

/* zone_label_next - the position after the next unescaped dot of
 * name[0..len), or NULL when name is a single label */
static const char *zone_label_next(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (name[i] == '\\')
			i++; /* \. or the first digit of \DDD: neither is a separator */
		else if (name[i] == '.')
			return name + i + 1;
	}
	return NULL;
}

/* zone_get - the node of canonical name, created with its ancestors */
static struct zone_node *zone_get(struct dns_zone *z, const char *name, const char **why)
{
	size_t len = strlen(name);
	struct zone_node *n = zone_find(z, name, len);
	const char *copy, *p, *up;

	if (n != NULL)
		return n;
	*why = "too many names in the zone (limit 4000000)";
	if (z->nnodes >= ZONE_MAX_NODES)
		return NULL;
	*why = "out of memory";
	copy = arena_strndup(z->arena, name, len);
	if (copy == NULL || (n = zone_node_new(z, copy, len)) == NULL)
		return NULL;
	/* ancestors with at least two labels; stop at one that exists, since
	 * its own ancestors were made with it */
	for (p = zone_label_next(copy, len); p != NULL; p = up) {
		size_t plen = len - (size_t)(p - copy);
		up = zone_label_next(p, plen);
		if (up == NULL || zone_find(z, p, plen) != NULL)
			break;
		if (zone_node_new(z, p, plen) == NULL) {
			*why = "too many names in the zone (limit 4000000)";
			return NULL;
		}
	}
	return n;
}

/* zone_insert - add rr (pointers already in z->arena) at canonical owner */
static int zone_insert(struct dns_zone *z, const char *owner, const struct dns_rr *rr,
                       const char **why)
{
	struct zone_node *n;

	if (z->nrecords >= ZONE_MAX_RECORDS) {
		*why = "too many records in the zone (limit 1000000)";
		return -1;
	}
	n = zone_get(z, owner, why);
	if (n == NULL)
		return -1;
	if (rr->type == DNS_T_CNAME && n->has_cname) {
		*why = "more than one CNAME at";
		return -1;
	}
	if ((rr->type == DNS_T_CNAME && n->nrr > 0) || (rr->type != DNS_T_CNAME && n->has_cname)) {
		*why = "CNAME and other data at";
		return -1;
	}
	if (n->nrr == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 2;
		struct dns_rr *a = reallocarray(n->rr, cap, sizeof(*a));
		if (a == NULL) {
			*why = "out of memory";
			return -1;
		}
		n->rr = a;
		n->cap = cap;
	}
	n->rr[n->nrr++] = *rr;
	if (rr->type == DNS_T_CNAME)
		n->has_cname = true;
	z->nrecords++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* adding records from code                                            */

/* zone_canon_field - canonicalise a name field of rr in place (arena copy) */
static int zone_canon_field(struct dns_zone *z, char **field)
{
	char text[DNS_TEXT_NAME_MAX];
	const char *why;

	if (*field == NULL)
		return -1;
	if ((*field)[0] == '\0' || strcmp(*field, ".") == 0) {
		*field = arena_strdup(z->arena, "");
		return *field == NULL ? -1 : 0;
	}
	if (dns_name_canon(*field, text, sizeof(text), &why) < 0)
		return -1;
	*field = arena_strdup(z->arena, text);
	return *field == NULL ? -1 : 0;
}

int dns_zone_add(struct dns_zone *z, const char *owner, const struct dns_rr *rr)
{
	char name[DNS_TEXT_NAME_MAX];
	struct dns_rr copy;
	const char *why;
	size_t i, sum = 0;

	if (z == NULL || owner == NULL || rr == NULL || dns_type_name(rr->type) == NULL)
		return -1;
	if (dns_name_canon(owner, name, sizeof(name), &why) < 0)
		return -1;
	copy = *rr;
	switch (rr->type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (zone_canon_field(z, &copy.u.name) < 0)
			return -1;
		break;
	case DNS_T_MX:
		if (zone_canon_field(z, &copy.u.mx.host) < 0)
			return -1;
		break;
	case DNS_T_SOA:
		if (zone_canon_field(z, &copy.u.soa.mname) < 0 ||
		    zone_canon_field(z, &copy.u.soa.rname) < 0)
			return -1;
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		if (rr->u.txt.data == NULL ||
		    (rr->u.txt.nstrings > 0 && rr->u.txt.string_len == NULL))
			return -1;
		for (i = 0; i < rr->u.txt.nstrings; i++) {
			if (rr->u.txt.string_len[i] > 255)
				return -1;
			sum += rr->u.txt.string_len[i];
		}
		if (sum != rr->u.txt.len || sum + rr->u.txt.nstrings > ZONE_MAX_RDATA)
			return -1;
		if (dns_rr_copy(z->arena, &copy) < 0)
			return -1;
		break;
	case DNS_T_TLSA:
		if ((rr->u.tlsa.data == NULL && rr->u.tlsa.len > 0) ||
		    rr->u.tlsa.len > ZONE_MAX_RDATA - 3)
			return -1;
		if (dns_rr_copy(z->arena, &copy) < 0)
			return -1;
		break;
	default:
		break;
	}
	return zone_insert(z, name, &copy, &why);
}

int dns_zone_add_txt(struct dns_zone *z, const char *owner, const char *const *strings,
                     size_t nstrings)
{
	struct dns_rr rr;
	size_t i, len = 0;
	size_t lens[256];
	char data[ZONE_MAX_RDATA + 1];

	if (z == NULL || strings == NULL || nstrings > sizeof(lens) / sizeof(lens[0]))
		return -1;
	for (i = 0; i < nstrings; i++) {
		size_t sl = strings[i] ? strlen(strings[i]) : 0;
		if (sl > 255 || len + sl >= sizeof(data))
			return -1;
		memcpy(data + len, strings[i] ? strings[i] : "", sl);
		lens[i] = sl;
		len += sl;
	}
	data[len] = '\0';
	memset(&rr, 0, sizeof(rr));
	rr.type = DNS_T_TXT;
	rr.ttl = ZONE_DEFAULT_TTL;
	rr.u.txt.data = data;
	rr.u.txt.len = len;
	rr.u.txt.nstrings = nstrings;
	rr.u.txt.string_len = lens;
	return dns_zone_add(z, owner, &rr);
}

int dns_zone_add_failure(struct dns_zone *z, const char *owner, enum dns_type type,
                         enum dns_status status)
{
	char name[DNS_TEXT_NAME_MAX];
	struct zone_failure *f;
	const char *why;

	if (status != DNS_TIMEOUT && status != DNS_SERVFAIL)
		return -1;
	if (z == NULL || owner == NULL || dns_name_canon(owner, name, sizeof(name), &why) < 0)
		return -1;
	f = arena_zalloc(z->arena, sizeof(*f));
	if (f == NULL || (f->name = arena_strdup(z->arena, name)) == NULL)
		return -1;
	f->type = type;
	f->status = status;
	f->next = z->failures;
	z->failures = f;
	return 0;
}

int dns_zone_add_timeout(struct dns_zone *z, const char *owner, enum dns_type type)
{
	return dns_zone_add_failure(z, owner, type, DNS_TIMEOUT);
}

/* ------------------------------------------------------------------ */
/* answering                                                           */

/* zone_failure_of - DNS_OK, or the failure configured for name and type */
static enum dns_status zone_failure_of(const struct dns_zone *z, const char *name,
                                       enum dns_type type)
{
	const struct zone_failure *f;

	for (f = z->failures; f != NULL; f = f->next)
		if ((f->type == 0 || f->type == type) && strcmp(f->name, name) == 0)
			return f->status;
	return DNS_OK;
}

/*
 * zone_match - the node answering for name: itself, or the wildcard
 * "*.<closest encloser>" when name does not exist (RFC 4592 section 3.3.1)
 */
static const struct zone_node *zone_match(const struct dns_zone *z, const char *name)
{
	size_t len = strlen(name);
	const struct zone_node *n = zone_find(z, name, len);
	char wild[DNS_TEXT_NAME_MAX + 2];
	const char *p;

	if (n != NULL)
		return n;
	for (p = zone_label_next(name, len); p != NULL; p = zone_label_next(p, strlen(p))) {
		size_t plen = strlen(p);
		if (plen + 3 > sizeof(wild))
			return NULL;
		wild[0] = '*';
		wild[1] = '.';
		memcpy(wild + 2, p, plen + 1);
		if ((n = zone_find(z, wild, plen + 2)) != NULL)
			return n;
		if (zone_find(z, p, plen) != NULL)
			return NULL; /* the closest encloser has no wildcard */
	}
	return zone_find(z, "*", 1);
}

int dns_zone_answer(const struct dns_zone *z, struct arena *arena, const char *qname,
                    enum dns_type qtype, struct dns_answer *ans)
{
	char name[DNS_TEXT_NAME_MAX];
	const char *chain[ZONE_MAX_CNAME + 1];
	const struct zone_node *n;
	const char *cur, *why;
	size_t links = 0, i, k, count;

	memset(ans, 0, sizeof(*ans));
	ans->sec = DNS_SEC_INSECURE;
	ans->qtype = qtype;
	ans->qname = qname;
	if (z == NULL || arena == NULL || qname == NULL) {
		ans->status = DNS_SERVFAIL;
		ans->why = "no zone";
		return 0;
	}
	if (dns_name_canon(qname, name, sizeof(name), &why) < 0) {
		ans->status = DNS_BADNAME;
		ans->why = why;
		return 0;
	}
	if (name[0] == '\0') {
		ans->status = DNS_BADNAME;
		ans->why = "the root name cannot be queried";
		return 0;
	}
	cur = ans->qname = arena_strdup(arena, name);
	if (cur == NULL) {
		ans->status = DNS_NOMEM;
		ans->qname = qname;
		return 0;
	}
	chain[0] = cur;
	for (;;) {
		enum dns_status failure = zone_failure_of(z, cur, qtype);
		if (failure == DNS_TIMEOUT)
			return -1;
		if (failure != DNS_OK) {
			ans->status = failure;
			ans->why = "configured failure";
			break;
		}
		n = zone_match(z, cur);
		if (n == NULL) {
			ans->status = DNS_NXDOMAIN;
			break;
		}
		for (i = 0, count = 0; i < n->nrr; i++)
			count += n->rr[i].type == qtype;
		if (count > 0) {
			ans->rr = arena_array(arena, count, sizeof(*ans->rr));
			if (ans->rr == NULL) {
				ans->status = DNS_NOMEM;
				ans->why = "out of memory";
				break;
			}
			for (i = 0, k = 0; i < n->nrr; i++)
				if (n->rr[i].type == qtype)
					ans->rr[k++] = n->rr[i];
			ans->count = count;
			ans->status = DNS_OK;
			break;
		}
		if (!n->has_cname) {
			ans->status = DNS_NODATA;
			break;
		}
		for (i = 0; n->rr[i].type != DNS_T_CNAME; i++)
			;
		const char *target = n->rr[i].u.name;
		for (k = 0; k <= links; k++)
			if (strcmp(chain[k], target) == 0)
				break;
		if (k <= links) {
			ans->status = DNS_SERVFAIL;
			ans->why = "CNAME loop";
			break;
		}
		if (links == ZONE_MAX_CNAME) {
			ans->status = DNS_SERVFAIL;
			ans->why = "CNAME chain longer than 8 links";
			break;
		}
		chain[++links] = cur = target;
	}
	ans->canonname = cur;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the master-file lexer                                               */

struct zone_tok {
	const char *s; /* raw text, escapes not yet applied; quotes stripped */
	size_t len;
	bool quoted;
	unsigned line, col;
};

struct zone_parser {
	struct dns_zone *z;
	const char *file;
	const char *p, *end, *line_start;
	unsigned line;
	struct sx_err *err;
	struct zone_tok *tok; /* grows up to ZONE_MAX_FIELDS */
	size_t tok_cap;
	size_t ntok;
	bool owner_present; /* the record's first token is its owner */
	uint8_t origin[DNS_WIRE_NAME_MAX];
	size_t origin_len; /* 0: no origin */
	const char *prev_owner;
	uint32_t default_ttl, last_ttl;
	bool have_default_ttl, have_last_ttl;
};

static unsigned zone_col(const struct zone_parser *zp, const char *at)
{
	return (unsigned)(at - zp->line_start) + 1;
}

static int zone_error_at(struct zone_parser *zp, unsigned line, unsigned col, const char *what,
                         const char *detail)
{
	if (detail != NULL)
		sx_err_at(zp->err, zp->file, line, col, "%s%s", what, detail);
	else
		sx_err_at(zp->err, zp->file, line, col, "%s", what);
	return -1;
}

static int zone_error_tok(struct zone_parser *zp, const struct zone_tok *t, const char *fmt)
{
	/* fmt has one %s for the token, shown at most 60 bytes long */
	int n = t->len > 60 ? 60 : (int)t->len;
	sx_err_at(zp->err, zp->file, t->line, t->col, fmt, n, t->s);
	return -1;
}

/*
 * zone_read_record - the tokens of the next record (one line, or several
 * inside parentheses).  1 with a record, 0 at the end, -1 on error.
 */
static int zone_read_record(struct zone_parser *zp)
{
	bool line_start = true;
	unsigned paren_line = 0, paren_col = 0;
	bool paren = false;

	zp->ntok = 0;
	zp->owner_present = false;
	for (;;) {
		if (zp->p >= zp->end) {
			if (paren)
				return zone_error_at(zp, paren_line, paren_col,
				                     "unterminated parenthesis", NULL);
			return zp->ntok > 0 ? 1 : 0;
		}
		char c = *zp->p;
		if (line_start) {
			line_start = false;
			if (!paren && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ';' &&
			    c != '(')
				zp->owner_present = true;
		}
		if (c == '\n') {
			zp->p++;
			zp->line++;
			zp->line_start = zp->p;
			line_start = true;
			if (!paren && zp->ntok > 0)
				return 1;
			continue;
		}
		if (zp->p - zp->line_start >= ZONE_MAX_LINE)
			return zone_error_at(zp, zp->line, ZONE_MAX_LINE + 1,
			                     "line longer than 65536 bytes", NULL);
		if (c == ' ' || c == '\t' || c == '\r') {
			zp->p++;
			continue;
		}
		if (c == ';') {
			while (zp->p < zp->end && *zp->p != '\n')
				zp->p++;
			continue;
		}
		if (c == '\0')
			return zone_error_at(zp, zp->line, zone_col(zp, zp->p),
			                     "NUL byte in the zone file", NULL);
		if (c == '(') {
			if (paren)
				return zone_error_at(zp, zp->line, zone_col(zp, zp->p),
				                     "nested parenthesis", NULL);
			paren = true;
			paren_line = zp->line;
			paren_col = zone_col(zp, zp->p);
			zp->p++;
			continue;
		}
		if (c == ')') {
			if (!paren)
				return zone_error_at(zp, zp->line, zone_col(zp, zp->p),
				                     "')' without '('", NULL);
			paren = false;
			zp->p++;
			continue;
		}
		if (zp->ntok >= ZONE_MAX_FIELDS)
			return zone_error_at(zp, zp->line, zone_col(zp, zp->p),
			                     "too many fields in one record", NULL);
		if (zp->ntok == zp->tok_cap) {
			size_t cap = zp->tok_cap ? zp->tok_cap * 2 : 16;
			struct zone_tok *nt = reallocarray(zp->tok, cap, sizeof(*nt));
			if (nt == NULL)
				return zone_error_at(zp, zp->line, zone_col(zp, zp->p),
				                     "out of memory", NULL);
			zp->tok = nt;
			zp->tok_cap = cap;
		}
		struct zone_tok *t = &zp->tok[zp->ntok];
		t->line = zp->line;
		t->col = zone_col(zp, zp->p);
		if (c == '"') {
			const char *q = zp->p + 1;
			while (q < zp->end && *q != '"' && *q != '\n' && *q != '\0') {
				if (*q == '\\' && q + 1 < zp->end && q[1] != '\n' && q[1] != '\0')
					q++;
				q++;
			}
			if (q >= zp->end || *q != '"')
				return zone_error_at(zp, t->line, t->col,
				                     "unterminated quoted string", NULL);
			if (q - zp->line_start >= ZONE_MAX_LINE)
				return zone_error_at(zp, zp->line, ZONE_MAX_LINE + 1,
				                     "line longer than 65536 bytes", NULL);
			t->s = zp->p + 1;
			t->len = (size_t)(q - t->s);
			t->quoted = true;
			zp->p = q + 1;
		} else {
			const char *q = zp->p;
			while (q < zp->end && !str_is_space((unsigned char)*q) && *q != '(' &&
			       *q != ')' && *q != ';' && *q != '"' && *q != '\0') {
				if (*q == '\\' && q + 1 < zp->end && q[1] != '\n' && q[1] != '\0')
					q++;
				q++;
			}
			t->s = zp->p;
			t->len = (size_t)(q - t->s);
			t->quoted = false;
			zp->p = q;
		}
		zp->ntok++;
	}
}

/* ------------------------------------------------------------------ */
/* fields                                                              */

static bool zone_tok_is(const struct zone_tok *t, const char *word)
{
	size_t n = strlen(word);
	return !t->quoted && t->len == n && str_case_eq_n(t->s, n, word, n);
}

/* zone_ttl - "3600", "1h", "1h30m", "2d", "1w" */
static int zone_ttl(const struct zone_tok *t, uint32_t *out)
{
	uint64_t total = 0, v;
	size_t i = 0, start;

	if (t->quoted || t->len == 0)
		return -1;
	if (str_to_u64(t->s, t->len, 0, ZONE_TTL_MAX, &v) == 0) {
		*out = (uint32_t)v;
		return 0;
	}
	while (i < t->len) {
		start = i;
		while (i < t->len && str_is_digit((unsigned char)t->s[i]))
			i++;
		if (i == start || i == t->len || i - start > 10)
			return -1;
		if (str_to_u64(t->s + start, i - start, 0, ZONE_TTL_MAX, &v) < 0)
			return -1;
		switch (str_lower((unsigned char)t->s[i])) {
		case 's':
			break;
		case 'm':
			v *= 60;
			break;
		case 'h':
			v *= 3600;
			break;
		case 'd':
			v *= 86400;
			break;
		case 'w':
			v *= 604800;
			break;
		default:
			return -1;
		}
		i++;
		total += v;
		if (total > ZONE_TTL_MAX)
			return -1;
	}
	*out = (uint32_t)total;
	return 0;
}

static int zone_number(const struct zone_tok *t, uint64_t max, uint64_t *out)
{
	if (t->quoted)
		return -1;
	return str_to_u64(t->s, t->len, 0, max, out);
}

/* zone_name_wire - a name field to absolute wire form (origin applied) */
static int zone_name_wire(struct zone_parser *zp, const struct zone_tok *t, uint8_t *wire,
                          size_t *wlen)
{
	const char *why;
	bool absolute;

	if (t->quoted)
		return zone_error_at(zp, t->line, t->col, "a domain name cannot be quoted", NULL);
	if (t->len == 1 && t->s[0] == '@') {
		if (zp->origin_len == 0)
			return zone_error_at(zp, t->line, t->col, "'@' but no $ORIGIN is set",
			                     NULL);
		memcpy(wire, zp->origin, zp->origin_len);
		*wlen = zp->origin_len;
		return 0;
	}
	if (dns_name_to_wire(t->s, t->len, wire, wlen, &absolute, &why) < 0)
		return zone_error_at(zp, t->line, t->col, why, NULL);
	if (absolute)
		return 0;
	if (zp->origin_len == 0)
		return zone_error_tok(zp, t, "relative name '%.*s' but no $ORIGIN is set");
	/* drop our root byte, append the origin (which ends with its own) */
	if (*wlen - 1 + zp->origin_len > DNS_WIRE_NAME_MAX)
		return zone_error_at(zp, t->line, t->col,
		                     "domain name longer than 255 bytes with the origin", NULL);
	memcpy(wire + *wlen - 1, zp->origin, zp->origin_len);
	*wlen = *wlen - 1 + zp->origin_len;
	return 0;
}

/* zone_name - a name field as canonical text in out (DNS_TEXT_NAME_MAX) */
static int zone_name(struct zone_parser *zp, const struct zone_tok *t, char *out)
{
	uint8_t wire[DNS_WIRE_NAME_MAX];
	size_t wlen, off = 0;

	if (zone_name_wire(zp, t, wire, &wlen) < 0)
		return -1;
	if (dns_name_from_wire(wire, wlen, &off, out, DNS_TEXT_NAME_MAX) < 0)
		return zone_error_at(zp, t->line, t->col, "bad domain name", NULL);
	return 0;
}

/* zone_name_arena - a name field as canonical text in the zone arena */
static int zone_name_arena(struct zone_parser *zp, const struct zone_tok *t, char **out)
{
	char text[DNS_TEXT_NAME_MAX];

	if (zone_name(zp, t, text) < 0)
		return -1;
	*out = arena_strdup(zp->z->arena, text);
	if (*out == NULL)
		return zone_error_at(zp, t->line, t->col, "out of memory", NULL);
	return 0;
}

/* zone_string - one character-string with \X and \DDD applied */
static int zone_string(struct zone_parser *zp, const struct zone_tok *t, struct buf *b)
{
	size_t i, start = b->len;

	for (i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->s[i];
		if (c == '\\' && i + 1 < t->len) {
			if (str_is_digit((unsigned char)t->s[i + 1])) {
				unsigned v = 0, k;
				for (k = 1; k <= 3; k++) {
					if (i + k >= t->len ||
					    !str_is_digit((unsigned char)t->s[i + k]))
						return zone_error_at(zp, t->line, t->col,
						                     "bad \\DDD escape", NULL);
					v = v * 10 + (unsigned)(t->s[i + k] - '0');
				}
				if (v > 255)
					return zone_error_at(zp, t->line, t->col,
					                     "bad \\DDD escape", NULL);
				c = (unsigned char)v;
				i += 3;
			} else {
				c = (unsigned char)t->s[++i];
			}
		}
		if (b->len - start >= 255)
			return zone_error_at(zp, t->line, t->col,
			                     "character-string longer than 255 bytes", NULL);
		if (buf_putc(b, (char)c) < 0)
			return zone_error_at(zp, t->line, t->col, "record longer than 65535 bytes",
			                     NULL);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* records                                                             */

/* zone_rdata_count - rdata fields: exactly n, or error at the type token */
static int zone_rdata_count(struct zone_parser *zp, const struct zone_tok *type, enum dns_type tv,
                            const struct zone_tok *f, size_t nf, size_t n, const char *need)
{
	if (nf < n) {
		sx_err_at(zp->err, zp->file, type->line, type->col, "%s record needs %s",
		          dns_type_name(tv), need);
		return -1;
	}
	if (nf > n)
		return zone_error_tok(zp, &f[n], "unexpected '%.*s' after the record data");
	return 0;
}

static int zone_address(struct zone_parser *zp, const struct zone_tok *t, int family, void *out)
{
	char tmp[64];

	if (t->quoted || t->len >= sizeof(tmp))
		goto bad;
	memcpy(tmp, t->s, t->len);
	tmp[t->len] = '\0';
	if (inet_pton(family, tmp, out) == 1)
		return 0;
bad:
	return zone_error_tok(
	    zp, t, family == AF_INET ? "bad IPv4 address '%.*s'" : "bad IPv6 address '%.*s'");
}

static int zone_txt(struct zone_parser *zp, const struct zone_tok *type, const struct zone_tok *f,
                    size_t nf, struct dns_rr *rr)
{
	struct buf b;
	size_t i, prev, *lens;

	if (nf == 0)
		return zone_error_at(zp, type->line, type->col,
		                     "TXT record needs at least one string", NULL);
	lens = arena_array(zp->z->arena, nf, sizeof(size_t));
	if (lens == NULL)
		return zone_error_at(zp, type->line, type->col, "out of memory", NULL);
	buf_init(&b, ZONE_MAX_RDATA);
	for (i = 0; i < nf; i++) {
		prev = b.len;
		if (zone_string(zp, &f[i], &b) < 0)
			goto fail;
		lens[i] = b.len - prev;
		/* the wire form spends one length byte per string */
		if (b.len + i + 1 > ZONE_MAX_RDATA) {
			zone_error_at(zp, f[i].line, f[i].col, "record longer than 65535 bytes",
			              NULL);
			goto fail;
		}
	}
	rr->u.txt.data = arena_alloc(zp->z->arena, b.len + 1);
	if (rr->u.txt.data == NULL) {
		zone_error_at(zp, type->line, type->col, "out of memory", NULL);
		goto fail;
	}
	if (b.len > 0)
		memcpy(rr->u.txt.data, b.data, b.len);
	rr->u.txt.data[b.len] = '\0';
	rr->u.txt.len = b.len;
	rr->u.txt.nstrings = nf;
	rr->u.txt.string_len = lens;
	buf_free(&b);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

static int zone_hexval(int c)
{
	if (str_is_digit(c))
		return c - '0';
	c = str_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int zone_tlsa(struct zone_parser *zp, const struct zone_tok *type, const struct zone_tok *f,
                     size_t nf, struct dns_rr *rr)
{
	uint64_t v[3];
	size_t i, j, digits = 0, n = 0;
	uint8_t *data;
	int hi = -1;

	if (nf < 4) {
		sx_err_at(zp->err, zp->file, type->line, type->col,
		          "TLSA record needs usage, selector, matching type and data");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (zone_number(&f[i], 255, &v[i]) < 0)
			return zone_error_tok(zp, &f[i], "bad TLSA field '%.*s' (0-255)");
	for (i = 3; i < nf; i++) {
		if (f[i].quoted)
			return zone_error_tok(zp, &f[i], "bad hex in TLSA data '%.*s'");
		for (j = 0; j < f[i].len; j++)
			if (zone_hexval((unsigned char)f[i].s[j]) < 0)
				return zone_error_tok(zp, &f[i], "bad hex in TLSA data '%.*s'");
		digits += f[i].len;
	}
	if (digits % 2 != 0)
		return zone_error_at(zp, f[3].line, f[3].col,
		                     "odd number of hex digits in TLSA data", NULL);
	if (digits / 2 > ZONE_MAX_RDATA - 3)
		return zone_error_at(zp, f[3].line, f[3].col, "record longer than 65535 bytes",
		                     NULL);
	data = arena_alloc(zp->z->arena, digits / 2 + 1);
	if (data == NULL)
		return zone_error_at(zp, type->line, type->col, "out of memory", NULL);
	for (i = 3; i < nf; i++)
		for (j = 0; j < f[i].len; j++) {
			int h = zone_hexval((unsigned char)f[i].s[j]);
			if (hi < 0) {
				hi = h;
			} else {
				data[n++] = (uint8_t)(hi << 4 | h);
				hi = -1;
			}
		}
	rr->u.tlsa.usage = (uint8_t)v[0];
	rr->u.tlsa.selector = (uint8_t)v[1];
	rr->u.tlsa.mtype = (uint8_t)v[2];
	rr->u.tlsa.data = data;
	rr->u.tlsa.len = n;
	return 0;
}

static int zone_soa(struct zone_parser *zp, const struct zone_tok *type, const struct zone_tok *f,
                    size_t nf, struct dns_rr *rr)
{
	uint32_t t[4];
	uint64_t serial;
	size_t i;

	if (zone_rdata_count(zp, type, rr->type, f, nf, 7,
	                     "mname, rname, serial, refresh, retry, expire and minimum") < 0)
		return -1;
	if (zone_name_arena(zp, &f[0], &rr->u.soa.mname) < 0 ||
	    zone_name_arena(zp, &f[1], &rr->u.soa.rname) < 0)
		return -1;
	if (zone_number(&f[2], UINT32_MAX, &serial) < 0)
		return zone_error_tok(zp, &f[2], "bad SOA serial '%.*s'");
	for (i = 0; i < 4; i++)
		if (zone_ttl(&f[3 + i], &t[i]) < 0)
			return zone_error_tok(zp, &f[3 + i], "bad SOA time '%.*s'");
	rr->u.soa.serial = (uint32_t)serial;
	rr->u.soa.refresh = t[0];
	rr->u.soa.retry = t[1];
	rr->u.soa.expire = t[2];
	rr->u.soa.minimum = t[3];
	return 0;
}

static int zone_rdata(struct zone_parser *zp, const struct zone_tok *type, const struct zone_tok *f,
                      size_t nf, struct dns_rr *rr)
{
	uint64_t v;

	switch (rr->type) {
	case DNS_T_A:
		if (zone_rdata_count(zp, type, rr->type, f, nf, 1, "an address") < 0)
			return -1;
		return zone_address(zp, &f[0], AF_INET, rr->u.a);
	case DNS_T_AAAA:
		if (zone_rdata_count(zp, type, rr->type, f, nf, 1, "an address") < 0)
			return -1;
		return zone_address(zp, &f[0], AF_INET6, rr->u.aaaa);
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (zone_rdata_count(zp, type, rr->type, f, nf, 1, "a domain name") < 0)
			return -1;
		return zone_name_arena(zp, &f[0], &rr->u.name);
	case DNS_T_MX:
		if (zone_rdata_count(zp, type, rr->type, f, nf, 2, "a preference and a host") < 0)
			return -1;
		if (zone_number(&f[0], 65535, &v) < 0)
			return zone_error_tok(zp, &f[0], "bad MX preference '%.*s' (0-65535)");
		rr->u.mx.preference = (uint16_t)v;
		return zone_name_arena(zp, &f[1], &rr->u.mx.host);
	case DNS_T_TXT:
	case DNS_T_SPF:
		return zone_txt(zp, type, f, nf, rr);
	case DNS_T_TLSA:
		return zone_tlsa(zp, type, f, nf, rr);
	case DNS_T_SOA:
		return zone_soa(zp, type, f, nf, rr);
	}
	return zone_error_tok(zp, type, "unknown record type '%.*s'");
}

static int zone_directive(struct zone_parser *zp)
{
	const struct zone_tok *d = &zp->tok[0];
	uint8_t wire[DNS_WIRE_NAME_MAX];
	size_t wlen;

	if (zone_tok_is(d, "$ORIGIN")) {
		if (zp->ntok != 2)
			return zone_error_at(zp, d->line, d->col, "$ORIGIN needs one domain name",
			                     NULL);
		if (zone_name_wire(zp, &zp->tok[1], wire, &wlen) < 0)
			return -1;
		memcpy(zp->origin, wire, wlen);
		zp->origin_len = wlen;
		return 0;
	}
	if (zone_tok_is(d, "$TTL")) {
		if (zp->ntok != 2)
			return zone_error_at(zp, d->line, d->col, "$TTL needs one TTL", NULL);
		if (zone_ttl(&zp->tok[1], &zp->default_ttl) < 0)
			return zone_error_tok(zp, &zp->tok[1], "bad TTL '%.*s'");
		zp->have_default_ttl = true;
		return 0;
	}
	if (zone_tok_is(d, "$INCLUDE"))
		return zone_error_at(zp, d->line, d->col, "$INCLUDE is not supported", NULL);
	return zone_error_tok(zp, d, "unknown directive '%.*s'");
}

static bool zone_is_class(const struct zone_tok *t)
{
	static const char *const classes[] = { "CH", "CS", "HS", "CHAOS", "HESIOD", "NONE", "ANY" };
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (zone_tok_is(t, classes[i]))
			return true;
	return t->len > 5 && !t->quoted && str_case_prefix(t->s, "CLASS") &&
	       str_is_digit((unsigned char)t->s[5]);
}

static int zone_record(struct zone_parser *zp)
{
	char owner[DNS_TEXT_NAME_MAX];
	const struct zone_tok *t, *type = NULL;
	struct dns_rr rr;
	size_t i = 0;
	uint32_t ttl = 0;
	bool have_ttl = false, have_class = false;
	const char *why;
	int tv;

	if (zp->owner_present) {
		t = &zp->tok[0];
		if (!t->quoted && t->len > 0 && t->s[0] == '$')
			return zone_directive(zp);
		if (zone_name(zp, t, owner) < 0)
			return -1;
		i = 1;
	} else {
		if (zp->prev_owner == NULL)
			return zone_error_at(
			    zp, zp->tok[0].line, zp->tok[0].col,
			    "no owner name, and no previous record to take it from", NULL);
		snprintf(owner, sizeof(owner), "%s", zp->prev_owner);
	}
	for (; i < zp->ntok; i++) {
		t = &zp->tok[i];
		if (!have_ttl && !t->quoted && t->len > 0 && str_is_digit((unsigned char)t->s[0])) {
			if (zone_ttl(t, &ttl) < 0)
				return zone_error_tok(zp, t, "bad TTL '%.*s'");
			have_ttl = true;
			continue;
		}
		if (!have_class && zone_tok_is(t, "IN")) {
			have_class = true;
			continue;
		}
		if (zone_is_class(t))
			return zone_error_tok(zp, t, "unsupported class '%.*s' (only IN)");
		tv = t->quoted ? 0 : dns_type_parse(t->s, t->len);
		if (tv == 0)
			return zone_error_tok(zp, t, "unknown record type '%.*s'");
		type = t;
		i++;
		break;
	}
	if (type == NULL) {
		t = &zp->tok[zp->ntok - 1];
		return zone_error_at(zp, t->line, t->col + (unsigned)t->len + (t->quoted ? 2 : 0),
		                     "missing record type", NULL);
	}
	memset(&rr, 0, sizeof(rr));
	rr.type = (enum dns_type)tv;
	if (have_ttl) {
		zp->last_ttl = ttl;
		zp->have_last_ttl = true;
	} else if (zp->have_default_ttl) {
		ttl = zp->default_ttl;
	} else if (zp->have_last_ttl) {
		ttl = zp->last_ttl;
	} else {
		ttl = ZONE_DEFAULT_TTL;
	}
	rr.ttl = ttl;
	if (zone_rdata(zp, type, &zp->tok[i], zp->ntok - i, &rr) < 0)
		return -1;
	if (zone_insert(zp->z, owner, &rr, &why) < 0) {
		if (strncmp(why, "CNAME", 5) == 0 || strncmp(why, "more than one", 13) == 0)
			sx_err_at(zp->err, zp->file, type->line, type->col, "%s %s", why, owner);
		else
			sx_err_at(zp->err, zp->file, type->line, type->col, "%s", why);
		return -1;
	}
	zp->prev_owner = zone_find(zp->z, owner, strlen(owner))->name;
	return 0;
}

int dns_zone_load_text(struct dns_zone *z, const char *name, const char *text, size_t len,
                       const char *origin, struct sx_err *err)
{
	struct zone_parser zp;
	const char *why;
	bool absolute;
	int r;

	if (z == NULL || (text == NULL && len > 0)) {
		sx_err_set(err, "no zone");
		return -1;
	}
	memset(&zp, 0, sizeof(zp));
	zp.z = z;
	zp.file = name != NULL ? name : "(zone)";
	zp.p = zp.line_start = text != NULL ? text : "";
	zp.end = zp.p + len;
	zp.line = 1;
	zp.err = err;
	if (origin != NULL && origin[0] != '\0') {
		size_t olen = strlen(origin);
		if (dns_name_to_wire(origin, olen, zp.origin, &zp.origin_len, &absolute, &why) <
		    0) {
			sx_err_at(err, zp.file, 0, 0, "bad origin '%s': %s", origin, why);
			return -1;
		}
	}
	while ((r = zone_read_record(&zp)) > 0)
		if (zone_record(&zp) < 0) {
			r = -1;
			break;
		}
	free(zp.tok);
	return r < 0 ? -1 : 0;
}

int dns_zone_load_file(struct dns_zone *z, const char *path, struct sx_err *err)
{
	struct buf b;
	int r;

	if (z == NULL || path == NULL) {
		sx_err_set(err, "no zone file");
		return -1;
	}
	buf_init(&b, ZONE_FILE_CAP);
	errno = 0;
	if (buf_read_file(&b, path) < 0) {
		if (errno == EMSGSIZE)
			sx_err_at(err, path, 0, 0, "zone file larger than %d MiB",
			          ZONE_FILE_CAP / (1024 * 1024));
		else
			sx_err_at(err, path, 0, 0, "cannot read: %s",
			          errno ? strerror(errno) : "error");
		buf_free(&b);
		return -1;
	}
	r = dns_zone_load_text(z, path, b.data, b.len, NULL, err);
	buf_free(&b);
	return r;
}

/* ------------------------------------------------------------------ */
/* the zone backend of struct dns                                      */

struct zone_backend {
	struct dns_zone *zone;
	bool owned;
};

static int zone_backend_start(struct dns *dns, struct dns_query *q, const char **why)
{
	struct zone_backend *zb = dns->backend;
	struct dns_answer ans;

	(void)why;
	if (dns_zone_answer(zb->zone, q->arena, q->name, q->type, &ans) < 0) {
		memset(&ans, 0, sizeof(ans));
		ans.status = DNS_TIMEOUT;
		ans.why = "no answer (the zone marks this name as timing out)";
	}
	ans.sec = DNS_SEC_INSECURE;
	q->backend_active = false;
	dns_query_answer(q, &ans); /* deferred: we are inside dns_lookup() */
	return 0;
}

static void zone_backend_free(struct dns *dns)
{
	struct zone_backend *zb = dns->backend;

	if (zb != NULL && zb->owned)
		dns_zone_free(zb->zone);
	free(zb);
	dns->backend = NULL;
}

static const struct dns_backend_ops zone_backend_ops = {
	.name = "zone",
	.start = zone_backend_start,
	.cancel = NULL,
	.free = zone_backend_free,
};

struct dns *dns_zone_backend_new(struct event_base *base, struct dns_zone *zone, bool owned,
                                 unsigned timeout_ms)
{
	struct zone_backend *zb = calloc(1, sizeof(*zb));
	struct dns *dns;

	if (zb == NULL)
		return NULL;
	zb->zone = zone;
	zb->owned = owned;
	dns = dns_create(base, &zone_backend_ops, zb, timeout_ms);
	if (dns == NULL)
		free(zb);
	return dns;
}
