/*
 * spool_envelope - format and strictly parse the envelope record file of
 * a spool entry (format in spool_envelope.h)
 *
 * The parser makes two passes over the lines: the first checks order and
 * counts the repeated records (so arrays are sized by what is really in
 * the file, never by a declared number), the second decodes the fields.
 */
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "transport/spool_envelope.h"

/* record types in the order they must appear; '*' marks repeatable ones */
static const char spool_envelope_order[] = "VITXMSPRCGKZDHQWLYABE";
static const char spool_envelope_repeat[] = "RHWYAB";

#define SPOOL_MAX_TIME (UINT64_C(1) << 40)

bool spool_envelope_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n] != '\0'; n++)
		if (!str_is_alnum((unsigned char)id[n]) && id[n] != '-' && id[n] != '_')
			return false;
	return n > 0 && n < SPOOL_ID_MAX;
}

const char *spool_envelope_direction_name(enum spool_direction d)
{
	return d == SPOOL_OUTBOUND ? "outbound" : "inbound";
}

const char *spool_envelope_report_name(enum spool_report r)
{
	switch (r) {
	case SPOOL_REPORT_NONE:
		return "";
	case SPOOL_REPORT_TLSRPT:
		return "tlsrpt";
	case SPOOL_REPORT_DMARC:
		return "dmarc";
	}
	return "";
}

const char *spool_envelope_rcpt_state_name(enum spool_rcpt_state s)
{
	switch (s) {
	case SPOOL_RCPT_PENDING:
		return "pending";
	case SPOOL_RCPT_DELIVERED:
		return "delivered";
	case SPOOL_RCPT_FAILED:
		return "failed";
	}
	return "?";
}

/* ---- formatting ------------------------------------------------------- */

/* spool_envelope_time_ok - a time the parser takes back (0 included) */
static bool spool_envelope_time_ok(int64_t t)
{
	return t >= 0 && (uint64_t)t < SPOOL_MAX_TIME;
}

/* spool_envelope_put - one escaped field; space_ok for free-text records */
static int spool_envelope_put(struct buf *b, const char *s, bool space_ok, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n;

	if (s == NULL || s[0] == '\0')
		return buf_putc(b, '-');
	n = strlen(s);
	if (n > max)
		return -1;
	if (strcmp(s, "-") == 0)
		return buf_puts(b, "%2D");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c <= 0x20 && !(c == ' ' && space_ok)) || c == '%' || c == 0x7f) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (buf_append(b, e, 3) < 0)
				return -1;
		} else if (buf_putc(b, (char)c) < 0) {
			return -1;
		}
	}
	return 0;
}

/* spool_envelope_rec - "T f1 f2 ...\n" of n plain fields */
static int spool_envelope_rec(struct buf *b, char type, size_t n, const char *const *f)
{
	size_t i;

	if (buf_putc(b, type) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_putc(b, ' ') < 0 || spool_envelope_put(b, f[i], false, SPOOL_MAX_FIELD) < 0)
			return -1;
	return buf_putc(b, '\n');
}

/* spool_envelope_text - "T free text\n" */
static int spool_envelope_text(struct buf *b, char type, const char *s, size_t max)
{
	if (buf_putc(b, type) < 0 || buf_putc(b, ' ') < 0 ||
	    spool_envelope_put(b, s, true, max) < 0)
		return -1;
	return buf_putc(b, '\n');
}

int spool_envelope_format(const struct spool_envelope *env, struct buf *out)
{
	char t1[24], t2[24], t3[24];
	size_t i, start = out->len, nrec = 0;

#define REC(type, ...)                                                                             \
	do {                                                                                       \
		const char *f_[] = { __VA_ARGS__ };                                                \
		if (spool_envelope_rec(out, type, sizeof(f_) / sizeof(f_[0]), f_) < 0)             \
			goto fail;                                                                 \
		nrec++;                                                                            \
	} while (0)

	if (env->nrcpts == 0 || env->nrcpts > SPOOL_MAX_RCPTS ||
	    env->nheaders > SPOOL_MAX_HEADERS || env->nq_reasons > SPOOL_MAX_REASONS ||
	    !spool_envelope_id_valid(env->id) || env->received < 0 ||
	    (uint64_t)env->received >= SPOOL_MAX_TIME)
		return -1;
	snprintf(t1, sizeof(t1), "%d", SPOOL_ENVELOPE_VERSION);
	REC('V', t1);
	REC('I', env->id);
	snprintf(t1, sizeof(t1), "%lld", (long long)env->received);
	REC('T', t1);
	if (env->session_id != NULL && env->session_id[0] != '\0')
		REC('X', env->session_id);
	if (env->message_id != NULL && env->message_id[0] != '\0')
		REC('M', env->message_id);
	REC('S', env->sender);
	if ((env->dsn_ret != NULL && env->dsn_ret[0] != '\0') ||
	    (env->dsn_envid != NULL && env->dsn_envid[0] != '\0'))
		REC('P', env->dsn_ret, env->dsn_envid);
	for (i = 0; i < env->nrcpts; i++) {
		if (env->rcpts[i].addr == NULL || env->rcpts[i].addr[0] == '\0')
			goto fail;
		REC('R', env->rcpts[i].addr, env->rcpts[i].notify, env->rcpts[i].orcpt);
	}
	REC('C', env->client_ip, env->helo, env->ptr);
	/* written only when it says something: older entries stay as they were */
	if (env->direction == SPOOL_OUTBOUND ||
	    (env->connector != NULL && env->connector[0] != '\0')) {
		if (env->direction != SPOOL_INBOUND && env->direction != SPOOL_OUTBOUND)
			goto fail;
		REC('G', spool_envelope_direction_name(env->direction), env->connector);
	}
	if (env->report != SPOOL_REPORT_NONE) {
		if (env->report != SPOOL_REPORT_TLSRPT && env->report != SPOOL_REPORT_DMARC)
			goto fail;
		REC('K', spool_envelope_report_name(env->report));
	}
	snprintf(t1, sizeof(t1), "%llu", (unsigned long long)env->size);
	REC('Z', t1);
	if (env->verdict != NULL && env->verdict[0] != '\0') {
		if (spool_envelope_text(out, 'D', env->verdict, SPOOL_MAX_FIELD) < 0)
			goto fail;
		nrec++;
	}
	for (i = 0; i < env->nheaders; i++) {
		if (env->headers[i] == NULL || env->headers[i][0] == '\0' ||
		    spool_envelope_text(out, 'H', env->headers[i], SPOOL_MAX_HEADER) < 0)
			goto fail;
		nrec++;
	}
	if (env->quarantined) {
		if (env->q_expires < 0 || (uint64_t)env->q_expires >= SPOOL_MAX_TIME)
			goto fail;
		snprintf(t1, sizeof(t1), "%lld", (long long)env->q_expires);
		REC('Q', t1, env->q_policy);
		for (i = 0; i < env->nq_reasons; i++) {
			if (env->q_reasons[i] == NULL || env->q_reasons[i][0] == '\0' ||
			    spool_envelope_text(out, 'W', env->q_reasons[i], SPOOL_MAX_FIELD) < 0)
				goto fail;
			nrec++;
		}
	} else if (env->nq_reasons > 0) {
		goto fail;
	}
	if (env->released > 0) {
		if ((uint64_t)env->released >= SPOOL_MAX_TIME)
			goto fail;
		snprintf(t1, sizeof(t1), "%lld", (long long)env->released);
		REC('L', t1, env->released_by);
	}
	for (i = 0; i < env->nrcpts; i++) {
		if (env->rcpts[i].state == SPOOL_RCPT_PENDING)
			continue;
		if (env->rcpts[i].done < 0 || (uint64_t)env->rcpts[i].done >= SPOOL_MAX_TIME)
			goto fail;
		snprintf(t2, sizeof(t2), "%zu", i);
		snprintf(t3, sizeof(t3), "%lld", (long long)env->rcpts[i].done);
		REC('Y', t2, spool_envelope_rcpt_state_name(env->rcpts[i].state), t3);
	}
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		char t4[24], t5[24], t6[24], nt[4];
		size_t k = 0;
		if (r->attempts == 0 && r->last_attempt == 0 && r->first_deferral == 0 &&
		    r->next_attempt == 0 && r->notices == 0)
			continue;
		if (r->attempts > SPOOL_MAX_ATTEMPTS || !spool_envelope_time_ok(r->last_attempt) ||
		    !spool_envelope_time_ok(r->first_deferral) ||
		    !spool_envelope_time_ok(r->next_attempt) ||
		    (r->notices &
		     ~(SPOOL_NOTICE_DELAY | SPOOL_NOTICE_FAILURE | SPOOL_NOTICE_SUCCESS)))
			goto fail;
		if (r->notices & SPOOL_NOTICE_DELAY)
			nt[k++] = 'd';
		if (r->notices & SPOOL_NOTICE_FAILURE)
			nt[k++] = 'f';
		if (r->notices & SPOOL_NOTICE_SUCCESS)
			nt[k++] = 's';
		nt[k] = '\0';
		snprintf(t2, sizeof(t2), "%zu", i);
		snprintf(t3, sizeof(t3), "%u", r->attempts);
		snprintf(t4, sizeof(t4), "%lld", (long long)r->last_attempt);
		snprintf(t5, sizeof(t5), "%lld", (long long)r->first_deferral);
		snprintf(t6, sizeof(t6), "%lld", (long long)r->next_attempt);
		REC('A', t2, t3, t4, t5, t6, nt);
	}
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		if ((r->status == NULL || r->status[0] == '\0') &&
		    (r->remote_mta == NULL || r->remote_mta[0] == '\0') &&
		    (r->diag == NULL || r->diag[0] == '\0'))
			continue;
		snprintf(t2, sizeof(t2), "%zu", i);
		REC('B', t2, r->status, r->remote_mta, r->diag);
	}
	snprintf(t1, sizeof(t1), "%zu", nrec);
	REC('E', t1);
	if (out->len - start > SPOOL_ENVELOPE_MAX)
		goto fail;
	return 0;
#undef REC
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

/* ---- parsing ---------------------------------------------------------- */

struct spool_envelope_line {
	const char *p; /* after "T " (or at the end for a bare "T") */
	size_t n;
	char type;
	unsigned lineno;
};

static int spool_envelope_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* spool_envelope_decode - one field into the arena; NULL on a bad escape,
 * a raw control byte, an encoded NUL or a field longer than max */
static const char *spool_envelope_decode(struct arena *a, const char *p, size_t n, bool space_ok,
                                         size_t max)
{
	char *out;
	size_t i, o = 0;

	if (n == 0)
		return NULL;
	if (n == 1 && p[0] == '-')
		return "";
	out = arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return NULL;
			h = spool_envelope_hex((unsigned char)p[i + 1]);
			l = spool_envelope_hex((unsigned char)p[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return NULL;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (c < 0x20 || c == 0x7f || (c == ' ' && !space_ok)) {
			return NULL;
		} else {
			out[o++] = (char)c;
		}
	}
	if (o > max)
		return NULL;
	out[o] = '\0';
	return out;
}

/* spool_envelope_fields - split a line into exactly n decoded fields */
static int spool_envelope_fields(struct arena *a, const struct spool_envelope_line *l, size_t n,
                                 const char **f)
{
	const char *p = l->p, *end = l->p + l->n;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp ? sp : end;
		if (i + 1 < n && sp == NULL)
			return -1;
		if (i + 1 == n && sp != NULL)
			return -1;
		f[i] = spool_envelope_decode(a, p, (size_t)(fe - p), false, SPOOL_MAX_FIELD);
		if (f[i] == NULL)
			return -1;
		p = fe + (sp ? 1 : 0);
	}
	return 0;
}

static int spool_envelope_num(const char *s, uint64_t max, uint64_t *out)
{
	return str_to_u64(s, strlen(s), 0, max, out);
}

int spool_envelope_parse(const char *data, size_t len, struct arena *a, struct spool_envelope *env,
                         struct sx_err *err)
{
	size_t counts[sizeof(spool_envelope_order)] = { 0 };
	size_t pos, nlines = 0, nr = 0, nh = 0, nw = 0, rank = 0;
	unsigned lineno = 0, bad_line = 0;
	const char *why = NULL;
	struct spool_envelope_line l;
	const char *f[6];
	uint64_t v, last_a = 0, last_b = 0;
	size_t na = 0, nb = 0;

	memset(env, 0, sizeof(*env));
	if (len > SPOOL_ENVELOPE_MAX) {
		sx_err_set(err, "envelope: larger than %d bytes", SPOOL_ENVELOPE_MAX);
		return -1;
	}
	if (len == 0 || data[len - 1] != '\n') {
		sx_err_set(err, "envelope: truncated (no final newline)");
		return -1;
	}

	/* pass 1: record types, order, counts */
	for (pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = (size_t)(nl - (data + pos));
		const char *where;
		lineno++;
		if (n == 0 || (n > 1 && data[pos + 1] != ' ') || n == 2) {
			bad_line = lineno;
			why = "not a record";
			goto bad;
		}
		where = memchr(spool_envelope_order, data[pos], sizeof(spool_envelope_order) - 1);
		if (data[pos] == '\0' || where == NULL) {
			bad_line = lineno;
			why = "unknown record type";
			goto bad;
		}
		size_t r = (size_t)(where - spool_envelope_order);
		if (r < rank ||
		    (counts[r] > 0 && strchr(spool_envelope_repeat, data[pos]) == NULL)) {
			bad_line = lineno;
			why = r < rank ? "record out of order" : "record repeated";
			goto bad;
		}
		if (lineno == 1 && data[pos] != 'V') {
			bad_line = 1;
			why = "the first record is not V";
			goto bad;
		}
		if (data[pos] == 'E' && nl + 1 != data + len) {
			bad_line = lineno + 1;
			why = "data after the E record";
			goto bad;
		}
		rank = r;
		counts[r]++;
		pos += n + 1;
	}
	nlines = lineno;
#define COUNT(c) counts[strchr(spool_envelope_order, (c)) - spool_envelope_order]
	if (COUNT('E') == 0) {
		sx_err_set(err, "envelope: truncated (no E record)");
		return -1;
	}
	if (COUNT('I') == 0 || COUNT('T') == 0 || COUNT('S') == 0 || COUNT('R') == 0 ||
	    COUNT('C') == 0 || COUNT('Z') == 0) {
		sx_err_set(err, "envelope: a required record (I T S R C Z) is missing");
		return -1;
	}
	if (COUNT('W') > 0 && COUNT('Q') == 0) {
		sx_err_set(err, "envelope: W without Q");
		return -1;
	}
	if (COUNT('R') > SPOOL_MAX_RCPTS || COUNT('H') > SPOOL_MAX_HEADERS ||
	    COUNT('W') > SPOOL_MAX_REASONS || COUNT('Y') > COUNT('R') || COUNT('A') > COUNT('R') ||
	    COUNT('B') > COUNT('R')) {
		sx_err_set(err, "envelope: too many records of one type");
		return -1;
	}
	env->rcpts = arena_array(a, COUNT('R'), sizeof(*env->rcpts));
	env->headers = arena_array(a, COUNT('H') + 1, sizeof(*env->headers));
	env->q_reasons = arena_array(a, COUNT('W') + 1, sizeof(*env->q_reasons));
	if (env->rcpts == NULL || env->headers == NULL || env->q_reasons == NULL) {
		sx_err_set(err, "envelope: out of memory");
		return -1;
	}
	for (pos = 0; pos < COUNT('R'); pos++)
		env->rcpts[pos].status = env->rcpts[pos].remote_mta = env->rcpts[pos].diag = "";
#undef COUNT
	env->session_id = env->message_id = env->dsn_ret = env->dsn_envid = "";
	env->verdict = env->q_policy = env->released_by = "";
	env->connector = "";

	/* pass 2: fields */
	lineno = 0;
	for (pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = (size_t)(nl - (data + pos));
		lineno++;
		l.type = data[pos];
		l.p = n > 2 ? data + pos + 2 : data + pos + n;
		l.n = n > 2 ? n - 2 : 0;
		l.lineno = lineno;
		pos += n + 1;
		bad_line = lineno;
		why = "bad fields";
		switch (l.type) {
		case 'V':
			if (spool_envelope_fields(a, &l, 1, f) < 0 ||
			    spool_envelope_num(f[0], 1000, &v) < 0)
				goto bad;
			if (v != SPOOL_ENVELOPE_VERSION) {
				sx_err_set(err, "envelope: version %llu is not %d",
				           (unsigned long long)v, SPOOL_ENVELOPE_VERSION);
				return -1;
			}
			break;
		case 'I':
			if (spool_envelope_fields(a, &l, 1, f) < 0 ||
			    !spool_envelope_id_valid(f[0]))
				goto bad;
			env->id = f[0];
			break;
		case 'T':
			if (spool_envelope_fields(a, &l, 1, f) < 0 ||
			    spool_envelope_num(f[0], SPOOL_MAX_TIME - 1, &v) < 0)
				goto bad;
			env->received = (int64_t)v;
			break;
		case 'X':
		case 'M':
		case 'S':
			if (spool_envelope_fields(a, &l, 1, f) < 0)
				goto bad;
			*(l.type == 'X'   ? &env->session_id
			  : l.type == 'M' ? &env->message_id
			                  : &env->sender) = f[0];
			break;
		case 'P':
			if (spool_envelope_fields(a, &l, 2, f) < 0)
				goto bad;
			env->dsn_ret = f[0];
			env->dsn_envid = f[1];
			break;
		case 'R':
			if (spool_envelope_fields(a, &l, 3, f) < 0 || f[0][0] == '\0')
				goto bad;
			env->rcpts[nr].addr = f[0];
			env->rcpts[nr].notify = f[1];
			env->rcpts[nr].orcpt = f[2];
			nr++;
			break;
		case 'C':
			if (spool_envelope_fields(a, &l, 3, f) < 0)
				goto bad;
			env->client_ip = f[0];
			env->helo = f[1];
			env->ptr = f[2];
			break;
		case 'G':
			if (spool_envelope_fields(a, &l, 2, f) < 0)
				goto bad;
			if (strcmp(f[0], "inbound") == 0)
				env->direction = SPOOL_INBOUND;
			else if (strcmp(f[0], "outbound") == 0)
				env->direction = SPOOL_OUTBOUND;
			else
				goto bad;
			env->connector = f[1];
			break;
		case 'K':
			if (spool_envelope_fields(a, &l, 1, f) < 0)
				goto bad;
			if (strcmp(f[0], "tlsrpt") == 0)
				env->report = SPOOL_REPORT_TLSRPT;
			else if (strcmp(f[0], "dmarc") == 0)
				env->report = SPOOL_REPORT_DMARC;
			else
				goto bad;
			break;
		case 'Z':
			if (spool_envelope_fields(a, &l, 1, f) < 0 ||
			    spool_envelope_num(f[0], UINT64_MAX, &v) < 0)
				goto bad;
			env->size = v;
			break;
		case 'D':
			env->verdict = spool_envelope_decode(a, l.p, l.n, true, SPOOL_MAX_FIELD);
			if (env->verdict == NULL || env->verdict[0] == '\0')
				goto bad;
			break;
		case 'H':
			env->headers[nh] =
			    spool_envelope_decode(a, l.p, l.n, true, SPOOL_MAX_HEADER);
			if (env->headers[nh] == NULL || env->headers[nh][0] == '\0')
				goto bad;
			nh++;
			break;
		case 'Q':
			if (spool_envelope_fields(a, &l, 2, f) < 0 ||
			    spool_envelope_num(f[0], SPOOL_MAX_TIME - 1, &v) < 0)
				goto bad;
			env->quarantined = true;
			env->q_expires = (int64_t)v;
			env->q_policy = f[1];
			break;
		case 'W':
			env->q_reasons[nw] =
			    spool_envelope_decode(a, l.p, l.n, true, SPOOL_MAX_FIELD);
			if (env->q_reasons[nw] == NULL || env->q_reasons[nw][0] == '\0')
				goto bad;
			nw++;
			break;
		case 'L':
			if (spool_envelope_fields(a, &l, 2, f) < 0 ||
			    spool_envelope_num(f[0], SPOOL_MAX_TIME - 1, &v) < 0 || v == 0)
				goto bad;
			env->released = (int64_t)v;
			env->released_by = f[1];
			break;
		case 'Y': {
			uint64_t idx, t;
			if (spool_envelope_fields(a, &l, 3, f) < 0 ||
			    spool_envelope_num(f[0], nr - 1, &idx) < 0 ||
			    spool_envelope_num(f[2], SPOOL_MAX_TIME - 1, &t) < 0)
				goto bad;
			if (env->rcpts[idx].state != SPOOL_RCPT_PENDING) {
				why = "recipient state given twice";
				goto bad;
			}
			if (strcmp(f[1], "delivered") == 0)
				env->rcpts[idx].state = SPOOL_RCPT_DELIVERED;
			else if (strcmp(f[1], "failed") == 0)
				env->rcpts[idx].state = SPOOL_RCPT_FAILED;
			else
				goto bad;
			env->rcpts[idx].done = (int64_t)t;
			break;
		}
		case 'A': {
			uint64_t idx, at, t1, t2, t3;
			const char *p;
			if (spool_envelope_fields(a, &l, 6, f) < 0 ||
			    spool_envelope_num(f[0], nr - 1, &idx) < 0 ||
			    spool_envelope_num(f[1], SPOOL_MAX_ATTEMPTS, &at) < 0 ||
			    spool_envelope_num(f[2], SPOOL_MAX_TIME - 1, &t1) < 0 ||
			    spool_envelope_num(f[3], SPOOL_MAX_TIME - 1, &t2) < 0 ||
			    spool_envelope_num(f[4], SPOOL_MAX_TIME - 1, &t3) < 0)
				goto bad;
			if (na > 0 && idx <= last_a) {
				why = "A records out of recipient order";
				goto bad;
			}
			/* "dfs" in this order, each at most once; "" (from "-") is none */
			unsigned nt = 0;
			const char *order = "dfs";
			for (p = f[5]; *p != '\0'; p++) {
				const char *o = strchr(order, *p);
				if (*p == '\0' || o == NULL) {
					why = "bad notices";
					goto bad;
				}
				order = o + 1;
				nt |= *p == 'd'   ? SPOOL_NOTICE_DELAY
				      : *p == 'f' ? SPOOL_NOTICE_FAILURE
				                  : SPOOL_NOTICE_SUCCESS;
			}
			env->rcpts[idx].attempts = (unsigned)at;
			env->rcpts[idx].last_attempt = (int64_t)t1;
			env->rcpts[idx].first_deferral = (int64_t)t2;
			env->rcpts[idx].next_attempt = (int64_t)t3;
			env->rcpts[idx].notices = nt;
			last_a = idx;
			na++;
			break;
		}
		case 'B': {
			uint64_t idx;
			if (spool_envelope_fields(a, &l, 4, f) < 0 ||
			    spool_envelope_num(f[0], nr - 1, &idx) < 0)
				goto bad;
			if (nb > 0 && idx <= last_b) {
				why = "B records out of recipient order";
				goto bad;
			}
			if (f[1][0] == '\0' && f[2][0] == '\0' && f[3][0] == '\0')
				goto bad;
			env->rcpts[idx].status = f[1];
			env->rcpts[idx].remote_mta = f[2];
			env->rcpts[idx].diag = f[3];
			last_b = idx;
			nb++;
			break;
		}
		case 'E':
			if (spool_envelope_fields(a, &l, 1, f) < 0 ||
			    spool_envelope_num(f[0], SIZE_MAX, &v) < 0)
				goto bad;
			if (v != nlines - 1) {
				why = "record count does not match";
				goto bad;
			}
			break;
		default:
			goto bad;
		}
	}
	env->nrcpts = nr;
	env->nheaders = nh;
	env->nq_reasons = nw;
	return 0;
bad:
	sx_err_set(err, "envelope: line %u: %s", bad_line, why);
	return -1;
}
