/*
 * store_sqlite_tlsrpt - the TLS-RPT operations of the SQLite backend
 *
 * As a sending MTA: tlsrpt_counter holds session counters per UTC day
 * and policy (type, domain, strings, MX hosts), tlsrpt_failure the
 * failure details of each counter with their own counts; nothing is kept
 * per message.  A counter is reported once report_id is set; a partial
 * unique index over the unreported ones makes every add one upsert.
 * tlsrpt_dest remembers per report and rua destination what happened
 * (sent, failed for good, pending) and the report-id used, so a retry
 * sends the same id.  As a policy domain: tlsrpt_report and its policies
 * and failure details hold the reports received, unique per (org, id).
 *
 * Lists (policy-string lines, mx-host patterns) are stored joined with
 * LF; an LF inside an item becomes a space.
 */
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store_sqlite.h"

#define TLSRPT_LIST_CAP (256 * 1024)
#define TLSRPT_DAY      86400

/* ---- lists as text ------------------------------------------------------ */

/* list_join - v[0..n) joined with LF into b (NUL-terminated); 0 or -1 */
static int list_join(struct buf *b, const char *const *v, size_t n)
{
	size_t i;
	const char *s;

	buf_clear(b);
	for (i = 0; i < n; i++) {
		if (i > 0 && buf_putc(b, '\n') < 0)
			return -1;
		for (s = v[i]; s != NULL && *s != '\0'; s++)
			if (buf_putc(b, *s == '\n' || *s == '\r' ? ' ' : *s) < 0)
				return -1;
	}
	return buf_putc(b, '\0');
}

/* list_split - text split at LF into an arena array; "" is no item */
static const char *const *list_split(struct arena *a, const char *text, size_t *n)
{
	const char **v;
	size_t count = 1, i = 0;
	const char *p, *start;

	*n = 0;
	if (text == NULL || *text == '\0')
		return NULL;
	for (p = text; *p != '\0'; p++)
		count += *p == '\n';
	v = arena_array(a, count, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (start = p = text;; p++) {
		if (*p == '\n' || *p == '\0') {
			v[i] = arena_strndup(a, start, (size_t)(p - start));
			if (v[i] == NULL)
				return NULL;
			i++;
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	*n = i;
	return v;
}

/* ---- recording ------------------------------------------------------------ */

static const char sql_counter_add[] =
    "INSERT INTO tlsrpt_counter (day, policy_domain, policy_type, policy_string, mx_host,"
    " successful, failed) VALUES (?1, lower(?2), ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (day, policy_domain, policy_type, policy_string, mx_host)"
    " WHERE report_id IS NULL DO UPDATE SET successful = successful + excluded.successful,"
    " failed = failed + excluded.failed RETURNING id";

static const char sql_failure_add[] =
    "INSERT INTO tlsrpt_failure (counter, result_type, sending_mta_ip, receiving_mx_hostname,"
    " receiving_mx_helo, receiving_ip, additional_information, failure_reason_code, count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (counter, result_type, sending_mta_ip, receiving_mx_hostname,"
    " receiving_mx_helo, receiving_ip, additional_information, failure_reason_code)"
    " DO UPDATE SET count = count + excluded.count";

/* bind_failure - the seven detail columns from index first on */
static void bind_failure(sqlite3_stmt *s, int first, const struct store_tlsrpt_failure *f)
{
	store_sqlite_text(s, first, f->result_type);
	store_sqlite_text_nz(s, first + 1, f->sending_mta_ip);
	store_sqlite_text_nz(s, first + 2, f->receiving_mx_hostname);
	store_sqlite_text_nz(s, first + 3, f->receiving_mx_helo);
	store_sqlite_text_nz(s, first + 4, f->receiving_ip);
	store_sqlite_text_nz(s, first + 5, f->additional_information);
	store_sqlite_text_nz(s, first + 6, f->failure_reason_code);
}

int store_sqlite_tlsrpt_add(struct store *st, int64_t time, const struct store_tlsrpt_policy *p,
                            const struct store_tlsrpt_failure *f, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	int64_t day = (time >= 0 ? time : time - (TLSRPT_DAY - 1)) / TLSRPT_DAY * TLSRPT_DAY;
	struct buf ps, mx;
	sqlite3_stmt *s;
	sqlite3_int64 id;
	bool own, ok = false;

	buf_init(&ps, TLSRPT_LIST_CAP);
	buf_init(&mx, TLSRPT_LIST_CAP);
	if (list_join(&ps, p->policy_string, p->npolicy_string) < 0 ||
	    list_join(&mx, p->mx_host, p->nmx_host) < 0) {
		sx_err_set(err, "tlsrpt: policy strings longer than %d bytes", TLSRPT_LIST_CAP);
		goto fail;
	}
	if (store_sqlite_write_begin(sq, &own, err) < 0)
		goto fail;
	s = store_sqlite_stmt(sq, sql_counter_add, err);
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, day);
	store_sqlite_text(s, 2, p->policy_domain);
	store_sqlite_text(s, 3, p->policy_type);
	store_sqlite_text(s, 4, ps.data);
	store_sqlite_text(s, 5, mx.data);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)p->successful);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)p->failed);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlite_error(sq, err, "tlsrpt add");
		sqlite3_reset(s);
		goto out;
	}
	id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (f != NULL) {
		s = store_sqlite_stmt(sq, sql_failure_add, err);
		if (s == NULL)
			goto out;
		sqlite3_bind_int64(s, 1, id);
		bind_failure(s, 2, f);
		sqlite3_bind_int64(s, 9, (sqlite3_int64)f->count);
		if (store_sqlite_step_done(sq, s, "tlsrpt add", err) < 0)
			goto out;
	}
	ok = true;
out:
	buf_free(&ps);
	buf_free(&mx);
	return store_sqlite_write_end(sq, own, ok, err);
fail:
	buf_free(&ps);
	buf_free(&mx);
	return -1;
}

/* ---- building reports -------------------------------------------------------- */

static const char sql_pending[] =
    "SELECT policy_domain, day, sum(successful), sum(failed) FROM tlsrpt_counter"
    " WHERE report_id IS NULL AND day >= ?1 AND day < ?2"
    " AND (?3 IS NULL OR policy_domain = lower(?3))"
    " GROUP BY day, policy_domain ORDER BY day, policy_domain";

int store_sqlite_tlsrpt_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                                store_tlsrpt_pending_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_pending, err);
	struct store_tlsrpt_pending p;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, until);
	store_sqlite_text(s, 3, domain);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.policy_domain = store_sqlite_col(s, 0);
		p.day = sqlite3_column_int64(s, 1);
		p.successful = (uint64_t)sqlite3_column_int64(s, 2);
		p.failed = (uint64_t)sqlite3_column_int64(s, 3);
		ret = cb(&p, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "tlsrpt pending", err);
}

static const char sql_policies[] =
    "SELECT policy_type, policy_string, mx_host, sum(successful), sum(failed)"
    " FROM tlsrpt_counter WHERE report_id IS NULL AND policy_domain = lower(?1)"
    " AND day >= ?2 AND day < ?3 GROUP BY policy_type, policy_string, mx_host"
    " ORDER BY policy_type, policy_string, mx_host";

static const char sql_policy_failures[] =
    "SELECT f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo,"
    " f.receiving_ip, f.additional_information, f.failure_reason_code, sum(f.count) AS n"
    " FROM tlsrpt_failure f JOIN tlsrpt_counter c ON f.counter = c.id"
    " WHERE c.report_id IS NULL AND c.policy_domain = lower(?1) AND c.day >= ?2"
    " AND c.day < ?3 AND c.policy_type = ?4 AND c.policy_string = ?5 AND c.mx_host = ?6"
    " GROUP BY f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo,"
    " f.receiving_ip, f.additional_information, f.failure_reason_code"
    " ORDER BY n DESC, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname LIMIT ?7";

/* policy_failures - the details of p (type, strings, MX text given) */
static int policy_failures(struct store_sqlite *sq, struct arena *a, const char *domain,
                           int64_t begin, int64_t end, const char *ps, const char *mx,
                           struct store_tlsrpt_policy *p, struct sx_err *err)
{
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_policy_failures, err);
	struct store_tlsrpt_failure *v = NULL;
	size_t n = 0, size = 0;
	int rc;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	sqlite3_bind_int64(s, 2, begin);
	sqlite3_bind_int64(s, 3, end);
	store_sqlite_text(s, 4, p->policy_type);
	store_sqlite_text(s, 5, ps);
	store_sqlite_text(s, 6, mx);
	sqlite3_bind_int(s, 7, STORE_TLSRPT_MAX_DETAILS);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (ARENA_GROW(a, v, size, n, 16) < 0)
			goto nomem;
		struct store_tlsrpt_failure *f = &v[n];
		const char **fields[] = { &f->result_type,           &f->sending_mta_ip,
			                  &f->receiving_mx_hostname, &f->receiving_mx_helo,
			                  &f->receiving_ip,          &f->additional_information,
			                  &f->failure_reason_code };
		for (int i = 0; i < 7; i++) {
			*fields[i] = arena_strdup(a, store_sqlite_col(s, i));
			if (*fields[i] == NULL)
				goto nomem;
		}
		f->count = (uint64_t)sqlite3_column_int64(s, 7);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(sq, err, "tlsrpt failures");
	p->failures = v;
	p->nfailures = n;
	return 0;
nomem:
	sqlite3_reset(s);
	sx_err_set(err, "out of memory");
	return -1;
}

int store_sqlite_tlsrpt_policies(struct store *st, const char *domain, int64_t begin, int64_t end,
                                 store_tlsrpt_policy_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	struct arena *a = arena_new();
	struct store_tlsrpt_policy *v = NULL;
	char **ps = NULL, **mx = NULL;
	size_t n = 0, size = 0, i;
	sqlite3_stmt *s;
	int rc, ret = -1;

	if (a == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	s = store_sqlite_stmt(sq, sql_policies, err);
	if (s == NULL)
		goto out;
	store_sqlite_text(s, 1, domain);
	sqlite3_bind_int64(s, 2, begin);
	sqlite3_bind_int64(s, 3, end);
	/* read every policy first: the details come from another statement */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == size) {
			size_t nsize = size ? size * 2 : 8;
			struct store_tlsrpt_policy *nv = arena_array(a, nsize, sizeof(*nv));
			char **nps = arena_array(a, nsize, sizeof(*nps));
			char **nmx = arena_array(a, nsize, sizeof(*nmx));
			if (nv == NULL || nps == NULL || nmx == NULL)
				goto nomem;
			if (n > 0) {
				memcpy(nv, v, n * sizeof(*nv));
				memcpy(nps, ps, n * sizeof(*nps));
				memcpy(nmx, mx, n * sizeof(*nmx));
			}
			v = nv;
			ps = nps;
			mx = nmx;
			size = nsize;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].policy_type = arena_strdup(a, store_sqlite_col(s, 0));
		v[n].policy_domain = arena_strdup(a, domain);
		ps[n] = arena_strdup(a, store_sqlite_col(s, 1));
		mx[n] = arena_strdup(a, store_sqlite_col(s, 2));
		if (v[n].policy_type == NULL || v[n].policy_domain == NULL || ps[n] == NULL ||
		    mx[n] == NULL)
			goto nomem;
		v[n].policy_string = list_split(a, ps[n], &v[n].npolicy_string);
		v[n].mx_host = list_split(a, mx[n], &v[n].nmx_host);
		v[n].successful = (uint64_t)sqlite3_column_int64(s, 3);
		v[n].failed = (uint64_t)sqlite3_column_int64(s, 4);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sqlite_error(sq, err, "tlsrpt policies");
		goto out;
	}
	ret = 0;
	for (i = 0; i < n && ret == 0; i++) {
		if (policy_failures(sq, a, domain, begin, end, ps[i], mx[i], &v[i], err) < 0) {
			ret = -1;
			break;
		}
		ret = cb(&v[i], arg);
	}
	goto out;
nomem:
	sqlite3_reset(s);
	sx_err_set(err, "out of memory");
out:
	arena_free(a);
	return ret;
}

/* ---- destinations -------------------------------------------------------------- */

static const char sql_dest_set[] =
    "INSERT INTO tlsrpt_dest (policy_domain, begin, uri, report_id, status, note, tries, time)"
    " VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6, 1, ?7)"
    " ON CONFLICT (policy_domain, begin, uri) DO UPDATE SET report_id = excluded.report_id,"
    " status = excluded.status, note = excluded.note, tries = tries + 1, time = excluded.time";

int store_sqlite_tlsrpt_dest_set(struct store *st, const struct store_tlsrpt_dest *d,
                                 struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s;
	bool own, ok = false;

	if (store_sqlite_write_begin(sq, &own, err) < 0)
		return -1;
	s = store_sqlite_stmt(sq, sql_dest_set, err);
	if (s != NULL) {
		store_sqlite_text(s, 1, d->policy_domain);
		sqlite3_bind_int64(s, 2, d->begin);
		store_sqlite_text(s, 3, d->uri);
		store_sqlite_text(s, 4, d->report_id);
		store_sqlite_text(s, 5, d->status);
		store_sqlite_text_nz(s, 6, d->note);
		sqlite3_bind_int64(s, 7, d->time);
		ok = store_sqlite_step_done(sq, s, "tlsrpt destination", err) == 0;
	}
	return store_sqlite_write_end(sq, own, ok, err);
}

static const char sql_dests[] =
    "SELECT policy_domain, begin, report_id, uri, status, note, time, tries FROM tlsrpt_dest"
    " WHERE policy_domain = lower(?1) AND begin = ?2 ORDER BY uri";

int store_sqlite_tlsrpt_dests(struct store *st, const char *domain, int64_t begin,
                              store_tlsrpt_dest_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_dests, err);
	struct store_tlsrpt_dest d;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	sqlite3_bind_int64(s, 2, begin);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		d.policy_domain = store_sqlite_col(s, 0);
		d.begin = sqlite3_column_int64(s, 1);
		d.report_id = store_sqlite_col(s, 2);
		d.uri = store_sqlite_col(s, 3);
		d.status = store_sqlite_col(s, 4);
		d.note = store_sqlite_col(s, 5);
		d.time = sqlite3_column_int64(s, 6);
		d.tries = (unsigned)sqlite3_column_int(s, 7);
		ret = cb(&d, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "tlsrpt destinations", err);
}

static const char sql_mark[] = "UPDATE tlsrpt_counter SET report_id = ?4 WHERE report_id IS NULL"
                               " AND policy_domain = lower(?1) AND day >= ?2 AND day < ?3";

int store_sqlite_tlsrpt_mark_reported(struct store *st, const char *domain, int64_t begin,
                                      int64_t end, const char *report_id, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s;
	bool own, ok = false;

	if (store_sqlite_write_begin(sq, &own, err) < 0)
		return -1;
	s = store_sqlite_stmt(sq, sql_mark, err);
	if (s != NULL) {
		store_sqlite_text(s, 1, domain);
		sqlite3_bind_int64(s, 2, begin);
		sqlite3_bind_int64(s, 3, end);
		store_sqlite_text(s, 4, report_id);
		ok = store_sqlite_step_done(sq, s, "tlsrpt mark reported", err) == 0;
	}
	return store_sqlite_write_end(sq, own, ok, err);
}

/* ---- received reports ------------------------------------------------------------ */

static const char sql_report_find[] =
    "SELECT id FROM tlsrpt_report WHERE org_name = ?1 AND report_id = ?2";
static const char sql_report_add[] =
    "INSERT INTO tlsrpt_report (org_name, contact_info, report_id, begin, end, source, imported)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%s', 'now'))";
static const char sql_report_policy_add[] =
    "INSERT INTO tlsrpt_report_policy (report, policy_type, policy_domain, policy_string,"
    " mx_host, successful, failed) VALUES (?1, ?2, lower(?3), ?4, ?5, ?6, ?7)";
static const char sql_report_failure_add[] =
    "INSERT INTO tlsrpt_report_failure (policy, result_type, sending_mta_ip,"
    " receiving_mx_hostname, receiving_mx_helo, receiving_ip, additional_information,"
    " failure_reason_code, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static int report_policy_add(struct store_sqlite *sq, sqlite3_int64 report,
                             const struct store_tlsrpt_policy *p, struct buf *ps, struct buf *mx,
                             struct sx_err *err)
{
	sqlite3_stmt *s;
	sqlite3_int64 id;
	size_t i;

	if (list_join(ps, p->policy_string, p->npolicy_string) < 0 ||
	    list_join(mx, p->mx_host, p->nmx_host) < 0) {
		sx_err_set(err, "tlsrpt import: policy strings longer than %d bytes",
		           TLSRPT_LIST_CAP);
		return -1;
	}
	s = store_sqlite_stmt(sq, sql_report_policy_add, err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, report);
	store_sqlite_text_nz(s, 2, p->policy_type);
	store_sqlite_text_nz(s, 3, p->policy_domain);
	store_sqlite_text(s, 4, ps->data);
	store_sqlite_text(s, 5, mx->data);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)p->successful);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)p->failed);
	if (store_sqlite_step_done(sq, s, "tlsrpt import", err) < 0)
		return -1;
	id = sqlite3_last_insert_rowid(sq->db);
	for (i = 0; i < p->nfailures; i++) {
		s = store_sqlite_stmt(sq, sql_report_failure_add, err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		bind_failure(s, 2, &p->failures[i]);
		store_sqlite_text_nz(s, 2, p->failures[i].result_type);
		sqlite3_bind_int64(s, 9, (sqlite3_int64)p->failures[i].count);
		if (store_sqlite_step_done(sq, s, "tlsrpt import", err) < 0)
			return -1;
	}
	return 0;
}

/* import_write - the report r and what it holds, not stored before */
static int import_write(struct store_sqlite *sq, const void *arg, struct sx_err *err)
{
	const struct store_tlsrpt_report *r = arg;
	struct buf ps, mx;
	sqlite3_stmt *s;
	sqlite3_int64 id;
	int ret = -1;
	size_t i;

	buf_init(&ps, TLSRPT_LIST_CAP);
	buf_init(&mx, TLSRPT_LIST_CAP);
	s = store_sqlite_stmt(sq, sql_report_add, err);
	if (s == NULL)
		goto out;
	store_sqlite_text(s, 1, r->org_name);
	store_sqlite_text_nz(s, 2, r->contact_info);
	store_sqlite_text(s, 3, r->report_id);
	sqlite3_bind_int64(s, 4, r->begin);
	sqlite3_bind_int64(s, 5, r->end);
	store_sqlite_text_nz(s, 6, r->source);
	if (store_sqlite_step_done(sq, s, "tlsrpt import", err) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(sq->db);
	for (i = 0; i < r->npolicies; i++)
		if (report_policy_add(sq, id, &r->policies[i], &ps, &mx, err) < 0)
			goto out;
	ret = 0;
out:
	buf_free(&ps);
	buf_free(&mx);
	return ret;
}

int store_sqlite_tlsrpt_import_add(struct store *st, const struct store_tlsrpt_report *r,
                                   struct sx_err *err)
{
	return store_sqlite_report_import((struct store_sqlite *)st, sql_report_find, r->org_name,
	                                  r->report_id, "tlsrpt import", import_write, r, err);
}

static const char sql_summary_org[] =
    "SELECT p.policy_domain, r.org_name, p.policy_type, count(DISTINCT r.id),"
    " sum(p.successful), sum(p.failed) FROM tlsrpt_report_policy p"
    " JOIN tlsrpt_report r ON p.report = r.id"
    " WHERE r.end > ?1 AND r.begin < ?2 AND (?3 IS NULL OR p.policy_domain = lower(?3))"
    " GROUP BY p.policy_domain, r.org_name, p.policy_type"
    " ORDER BY p.policy_domain, sum(p.successful) + sum(p.failed) DESC, r.org_name";

static const char sql_summary_failure[] =
    "SELECT p.policy_domain, f.result_type, f.receiving_mx_hostname, count(DISTINCT r.id),"
    " sum(f.count) FROM tlsrpt_report_failure f"
    " JOIN tlsrpt_report_policy p ON f.policy = p.id JOIN tlsrpt_report r ON p.report = r.id"
    " WHERE r.end > ?1 AND r.begin < ?2 AND (?3 IS NULL OR p.policy_domain = lower(?3))"
    " GROUP BY p.policy_domain, f.result_type, f.receiving_mx_hostname"
    " ORDER BY p.policy_domain, sum(f.count) DESC, f.result_type, f.receiving_mx_hostname";

int store_sqlite_tlsrpt_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                                enum store_tlsrpt_group group, store_tlsrpt_summary_cb cb,
                                void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	bool by_org = group == STORE_TLSRPT_BY_ORG;
	sqlite3_stmt *s =
	    store_sqlite_stmt(sq, by_org ? sql_summary_org : sql_summary_failure, err);
	struct store_tlsrpt_summary r;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, until);
	store_sqlite_text(s, 3, domain);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.policy_domain = store_sqlite_col(s, 0);
		if (by_org) {
			r.org_name = store_sqlite_col(s, 1);
			r.policy_type = store_sqlite_col(s, 2);
			r.reports = (uint64_t)sqlite3_column_int64(s, 3);
			r.successful = (uint64_t)sqlite3_column_int64(s, 4);
			r.failed = (uint64_t)sqlite3_column_int64(s, 5);
		} else {
			r.result_type = store_sqlite_col(s, 1);
			r.receiving_mx_hostname = store_sqlite_col(s, 2);
			r.reports = (uint64_t)sqlite3_column_int64(s, 3);
			r.failed = (uint64_t)sqlite3_column_int64(s, 4);
		}
		ret = cb(&r, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "tlsrpt summary", err);
}
