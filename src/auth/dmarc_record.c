/*
 * dmarc_record - DMARC policy record parser (see dmarc_record.h)
 */
#include <string.h>

#include "auth/dmarc_record.h"
#include "core/arena.h"
#include "core/str.h"

/* one view into the record */
struct dmarc_span {
	const char *p;
	size_t n;
};

static bool dmarc_is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct dmarc_span dmarc_trim(const char *p, size_t n)
{
	struct dmarc_span s;

	while (n > 0 && dmarc_is_wsp((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && dmarc_is_wsp((unsigned char)p[n - 1]))
		n--;
	s.p = p;
	s.n = n;
	return s;
}

static bool dmarc_is(struct dmarc_span s, const char *word)
{
	return str_case_eq_n(s.p, s.n, word, strlen(word));
}

/* dmarc_next - the next piece of s up to sep (trimmed); false at the end */
static bool dmarc_next(struct dmarc_span *rest, char sep, struct dmarc_span *piece)
{
	const char *end;
	size_t n;

	if (rest->p == NULL)
		return false;
	end = memchr(rest->p, sep, rest->n);
	n = end != NULL ? (size_t)(end - rest->p) : rest->n;
	*piece = dmarc_trim(rest->p, n);
	if (end != NULL) {
		rest->p = end + 1;
		rest->n -= n + 1;
	} else {
		rest->p = NULL;
		rest->n = 0;
	}
	return true;
}

static int dmarc_policy_value(struct dmarc_span v, enum dmarc_policy *out)
{
	if (dmarc_is(v, "none"))
		*out = DMARC_POLICY_NONE;
	else if (dmarc_is(v, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (dmarc_is(v, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int dmarc_align_value(struct dmarc_span v, enum dmarc_align *out)
{
	if (dmarc_is(v, "r"))
		*out = DMARC_ALIGN_RELAXED;
	else if (dmarc_is(v, "s"))
		*out = DMARC_ALIGN_STRICT;
	else
		return -1;
	return 0;
}

/* dmarc_flags_value - a ':' list of words, each one of names */
static int dmarc_flags_value(struct dmarc_span v, const char *const *names, const unsigned *bits,
                             unsigned *out)
{
	struct dmarc_span piece;
	unsigned r = 0;
	size_t i;

	if (v.n == 0)
		return -1;
	while (dmarc_next(&v, ':', &piece)) {
		for (i = 0; names[i] != NULL; i++)
			if (dmarc_is(piece, names[i]))
				break;
		if (names[i] == NULL)
			return -1;
		r |= bits[i];
	}
	*out = r;
	return 0;
}

/* dmarc_size - "10", "10k", "10 M": bytes, binary units */
static int dmarc_size(struct dmarc_span s, uint64_t *out)
{
	uint64_t v, mul = 1;
	size_t n = 0;

	while (n < s.n && str_is_digit(s.p[n]))
		n++;
	if (str_to_u64(s.p, n, 0, UINT64_MAX >> 40, &v) < 0)
		return -1;
	s = dmarc_trim(s.p + n, s.n - n);
	if (s.n == 1) {
		switch (str_lower((unsigned char)s.p[0])) {
		case 'k':
			mul = 1ull << 10;
			break;
		case 'm':
			mul = 1ull << 20;
			break;
		case 'g':
			mul = 1ull << 30;
			break;
		case 't':
			mul = 1ull << 40;
			break;
		default:
			return -1;
		}
	} else if (s.n != 0) {
		return -1;
	}
	*out = v * mul;
	return 0;
}

static int dmarc_hex(int c)
{
	if (str_is_digit(c))
		return c - '0';
	c = str_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* dmarc_uri_parse - one URI with its optional !size; 0 or -1 (dropped) */
static int dmarc_uri_parse(struct arena *a, struct dmarc_span s, struct dmarc_uri *u)
{
	const char *bang = NULL, *colon;
	struct dmarc_span rest;
	size_t i, slen;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < s.n; i++)
		if (s.p[i] == '!')
			bang = s.p + i;
	if (bang != NULL) {
		if (dmarc_size(dmarc_trim(bang + 1, s.n - (size_t)(bang + 1 - s.p)),
		               &u->max_bytes) < 0)
			return -1;
		s = dmarc_trim(s.p, (size_t)(bang - s.p));
	}
	if (s.n == 0)
		return -1;
	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] >= 0x7f)
			return -1;
	colon = memchr(s.p, ':', s.n);
	if (colon == NULL || colon == s.p)
		return -1;
	slen = (size_t)(colon - s.p);
	rest.p = colon + 1;
	rest.n = s.n - slen - 1;
	if (str_case_eq_n(s.p, slen, "mailto", 6)) {
		char *addr, *at;
		size_t n = 0;
		const char *q = memchr(rest.p, '?', rest.n);

		if (q != NULL)
			rest.n = (size_t)(q - rest.p);
		addr = a != NULL ? arena_alloc(a, rest.n + 1) : NULL;
		if (a != NULL && addr == NULL)
			return -1;
		for (i = 0; i < rest.n; i++) {
			int c = (unsigned char)rest.p[i];
			if (c == '%') {
				int h, l;
				if (i + 2 >= rest.n)
					return -1;
				h = dmarc_hex((unsigned char)rest.p[i + 1]);
				l = dmarc_hex((unsigned char)rest.p[i + 2]);
				if (h < 0 || l < 0)
					return -1;
				c = h * 16 + l;
				i += 2;
			}
			/* a decoded address still has no space, control or second URI */
			if (c <= 0x20 || c >= 0x7f || c == ',')
				return -1;
			if (addr != NULL)
				addr[n] = (char)c;
			n++;
		}
		if (addr == NULL)
			return 0;
		addr[n] = '\0';
		at = strrchr(addr, '@');
		if (at == NULL || at == addr || at[1] == '\0')
			return -1;
		u->scheme = "mailto";
		u->addr = addr;
	} else if (str_case_eq_n(s.p, slen, "http", 4) || str_case_eq_n(s.p, slen, "https", 5)) {
		if (rest.n < 3 || rest.p[0] != '/' || rest.p[1] != '/' || rest.p[2] == '/')
			return -1;
		u->scheme = slen == 4 ? "http" : "https";
	} else {
		return -1;
	}
	if (a != NULL) {
		u->uri = arena_strndup(a, s.p, s.n);
		if (u->uri == NULL)
			return -1;
	}
	return 0;
}

/* dmarc_uris - a ',' list; returns how many valid URIs it had */
static size_t dmarc_uris(struct arena *a, struct dmarc_span v, struct dmarc_uri **list, size_t *n)
{
	struct dmarc_span piece;
	struct dmarc_uri u;
	size_t valid = 0;

	while (dmarc_next(&v, ',', &piece)) {
		if (dmarc_uri_parse(a, piece, &u) < 0)
			continue;
		valid++;
		if (*n >= DMARC_RECORD_MAX_URIS)
			continue;
		if (a != NULL) {
			if (*list == NULL)
				*list = arena_array(a, DMARC_RECORD_MAX_URIS, sizeof(**list));
			if (*list == NULL)
				continue;
			(*list)[*n] = u;
		}
		(*n)++;
	}
	return valid;
}

bool dmarc_record_is_dmarc(const char *text, size_t len)
{
	struct dmarc_span rest = { text, len }, tag, name;
	const char *eq;

	if (text == NULL)
		return false;
	while (dmarc_next(&rest, ';', &tag)) {
		if (tag.n == 0)
			return false;
		eq = memchr(tag.p, '=', tag.n);
		if (eq == NULL)
			return false;
		name = dmarc_trim(tag.p, (size_t)(eq - tag.p));
		return dmarc_is(name, "v") &&
		       dmarc_is(dmarc_trim(eq + 1, tag.n - (size_t)(eq + 1 - tag.p)), "DMARC1");
	}
	return false;
}

/* the tags we know, as bits of seen */
enum {
	DMARC_TAG_P = 1u << 0,
	DMARC_TAG_SP = 1u << 1,
	DMARC_TAG_NP = 1u << 2,
	DMARC_TAG_PCT = 1u << 3,
	DMARC_TAG_RUA = 1u << 4,
	DMARC_TAG_RUF = 1u << 5,
	DMARC_TAG_ADKIM = 1u << 6,
	DMARC_TAG_ASPF = 1u << 7,
	DMARC_TAG_FO = 1u << 8,
	DMARC_TAG_RF = 1u << 9,
	DMARC_TAG_RI = 1u << 10,
	DMARC_TAG_PSD = 1u << 11,
	DMARC_TAG_T = 1u << 12,
};

static const char *const dmarc_tag_names[] = { "p",    "sp", "np", "pct", "rua", "ruf", "adkim",
	                                       "aspf", "fo", "rf", "ri",  "psd", "t",   NULL };

static void dmarc_bad(struct dmarc_record *rec, const char *tag)
{
	if (rec->status == DMARC_RECORD_OK) {
		rec->status = DMARC_RECORD_BAD_VALUE;
		rec->bad_tag = tag;
	}
}

int dmarc_record_parse(struct arena *a, const char *text, size_t len, struct dmarc_record *rec)
{
	static const char *const fo_names[] = { "0", "1", "d", "s", NULL };
	static const unsigned fo_bits[] = { DMARC_FO_0, DMARC_FO_1, DMARC_FO_D, DMARC_FO_S };
	static const char *const rf_names[] = { "afrf", "iodef", NULL };
	static const unsigned rf_bits[] = { DMARC_RF_AFRF, DMARC_RF_IODEF };
	struct dmarc_span rest, tag;
	bool first = true, p_bad = false, sp_bad = false;
	size_t rua_valid = 0;
	unsigned seen = 0;
	uint64_t num;

	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	rec->ri = DMARC_DEFAULT_RI;
	rec->fo = DMARC_FO_0;
	rec->rf = DMARC_RF_AFRF;
	if (text == NULL || len > DMARC_RECORD_MAX_LEN) {
		rec->status = text == NULL ? DMARC_RECORD_EMPTY : DMARC_RECORD_BAD_VERSION;
		return -1;
	}
	if (dmarc_trim(text, len).n == 0) {
		rec->status = DMARC_RECORD_EMPTY;
		return -1;
	}
	if (!dmarc_record_is_dmarc(text, len)) {
		rec->status = DMARC_RECORD_BAD_VERSION;
		return -1;
	}
	rest.p = text;
	rest.n = len;
	while (dmarc_next(&rest, ';', &tag)) {
		struct dmarc_span name, v;
		const char *eq;
		unsigned bit;
		size_t i;

		if (tag.n == 0)
			continue;
		eq = memchr(tag.p, '=', tag.n);
		if (eq == NULL)
			continue; /* not a tag-spec: discarded (6.3) */
		name = dmarc_trim(tag.p, (size_t)(eq - tag.p));
		v = dmarc_trim(eq + 1, tag.n - (size_t)(eq + 1 - tag.p));
		if (first) { /* v=DMARC1, checked above */
			first = false;
			continue;
		}
		for (i = 0; dmarc_tag_names[i] != NULL; i++)
			if (dmarc_is(name, dmarc_tag_names[i]))
				break;
		if (dmarc_tag_names[i] == NULL)
			continue; /* unknown tag (or a repeated v=) */
		bit = 1u << i;
		if (seen & bit)
			continue; /* repeated: the first counts */
		seen |= bit;
		switch (bit) {
		case DMARC_TAG_P:
			if (dmarc_policy_value(v, &rec->p) < 0) {
				p_bad = true;
				dmarc_bad(rec, "p");
			}
			break;
		case DMARC_TAG_SP:
			if (dmarc_policy_value(v, &rec->sp) < 0) {
				sp_bad = true;
				dmarc_bad(rec, "sp");
			} else {
				rec->has_sp = true;
			}
			break;
		case DMARC_TAG_NP:
			if (dmarc_policy_value(v, &rec->np) < 0)
				dmarc_bad(rec, "np");
			else
				rec->has_np = true;
			break;
		case DMARC_TAG_PCT:
			if (str_to_u64(v.p, v.n, 0, 100, &num) < 0) {
				dmarc_bad(rec, "pct");
			} else {
				rec->pct = (unsigned)num;
				rec->has_pct = true;
			}
			break;
		case DMARC_TAG_RUA:
			rua_valid = dmarc_uris(a, v, &rec->rua, &rec->nrua);
			break;
		case DMARC_TAG_RUF:
			dmarc_uris(a, v, &rec->ruf, &rec->nruf);
			break;
		case DMARC_TAG_ADKIM:
			if (dmarc_align_value(v, &rec->adkim) < 0)
				dmarc_bad(rec, "adkim");
			break;
		case DMARC_TAG_ASPF:
			if (dmarc_align_value(v, &rec->aspf) < 0)
				dmarc_bad(rec, "aspf");
			break;
		case DMARC_TAG_FO:
			if (dmarc_flags_value(v, fo_names, fo_bits, &rec->fo) < 0)
				dmarc_bad(rec, "fo");
			break;
		case DMARC_TAG_RF:
			if (dmarc_flags_value(v, rf_names, rf_bits, &rec->rf) < 0)
				dmarc_bad(rec, "rf");
			break;
		case DMARC_TAG_RI:
			if (str_to_u64(v.p, v.n, 0, UINT32_MAX, &num) < 0)
				dmarc_bad(rec, "ri");
			else
				rec->ri = (uint32_t)num;
			break;
		case DMARC_TAG_PSD:
			if (dmarc_is(v, "y"))
				rec->psd = DMARC_PSD_Y;
			else if (dmarc_is(v, "n"))
				rec->psd = DMARC_PSD_N;
			else if (dmarc_is(v, "u"))
				rec->psd = DMARC_PSD_U;
			else
				dmarc_bad(rec, "psd");
			break;
		case DMARC_TAG_T:
			if (dmarc_is(v, "y"))
				rec->t = true;
			else if (!dmarc_is(v, "n"))
				dmarc_bad(rec, "t");
			break;
		}
	}
	if (!(seen & DMARC_TAG_P) && rec->status == DMARC_RECORD_OK)
		rec->status = DMARC_RECORD_NO_P;
	if (!(seen & DMARC_TAG_P) || p_bad || sp_bad) {
		/* RFC 7489 6.6.3 step 5 */
		if (rua_valid == 0)
			return -1;
		rec->p_implicit = true;
		rec->p = DMARC_POLICY_NONE;
		rec->has_sp = false;
		rec->has_np = false;
		if (rec->status == DMARC_RECORD_NO_P)
			rec->status = DMARC_RECORD_OK;
	}
	if (!rec->has_sp)
		rec->sp = rec->p;
	if (!rec->has_np)
		rec->np = rec->sp;
	rec->usable = true;
	return 0;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	}
	return "none";
}

const char *dmarc_record_status_name(enum dmarc_record_status s)
{
	switch (s) {
	case DMARC_RECORD_OK:
		return "ok";
	case DMARC_RECORD_EMPTY:
		return "empty";
	case DMARC_RECORD_BAD_VERSION:
		return "bad_version";
	case DMARC_RECORD_BAD_VALUE:
		return "bad_value";
	case DMARC_RECORD_NO_P:
		return "no_required_p";
	}
	return "unknown";
}
