/*
 * store_sqlite_dmarc - the DMARC report operations of the SQLite backend
 *
 * As a receiver: dmarc_event holds one row per evaluated message until a
 * report covers it (sent_id set); aggregate rows come from GROUP BY over
 * everything that must be equal within a <record> of the report.  The
 * DKIM and SPF results of a message are kept in one column each, in a
 * canonical text form (fields joined by US, items by RS), so that equal
 * result sets group together.  As a domain owner: dmarc_report and
 * dmarc_report_row hold the reports received, unique per (org, id).
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "store/store_sqlite.h"

#define SEP_FIELD '\x1f'
#define SEP_ITEM  '\x1e'
#define AUTH_CAP  (64 * 1024)

/* ---- the canonical text of DKIM and SPF result lists ------------------ */

static int enc_field(struct buf *b, const char *s, bool last)
{
	for (; s != NULL && *s != '\0'; s++)
		if (buf_putc(b, (*s == SEP_FIELD || *s == SEP_ITEM) ? ' ' : *s) < 0)
			return -1;
	return buf_putc(b, last ? SEP_ITEM : SEP_FIELD);
}

/* enc_dkim, enc_spf - the lists as text in b (NUL-terminated); 0 or -1 */
static int enc_dkim(struct buf *b, const struct store_dmarc_dkim *d, size_t n)
{
	size_t i;

	buf_clear(b);
	for (i = 0; i < n && i < STORE_DMARC_MAX_AUTH; i++)
		if (enc_field(b, d[i].domain, false) < 0 ||
		    enc_field(b, d[i].selector, false) < 0 ||
		    enc_field(b, d[i].result, false) < 0 ||
		    enc_field(b, d[i].human_result, true) < 0)
			return -1;
	return buf_putc(b, '\0');
}

static int enc_spf(struct buf *b, const struct store_dmarc_spf *s, size_t n)
{
	size_t i;

	buf_clear(b);
	for (i = 0; i < n && i < STORE_DMARC_MAX_AUTH; i++)
		if (enc_field(b, s[i].domain, false) < 0 || enc_field(b, s[i].scope, false) < 0 ||
		    enc_field(b, s[i].result, true) < 0)
			return -1;
	return buf_putc(b, '\0');
}

/*
 * dec_items - split text (modified in place) into items of nf fields;
 * fields[i * nf + j]; returns the number of items
 */
static size_t dec_items(char *text, const char **fields, size_t nf, size_t max)
{
	size_t n = 0, f = 0;
	char *p = text, *start = text;

	for (; *p != '\0' && n < max; p++) {
		if (*p != SEP_FIELD && *p != SEP_ITEM)
			continue;
		bool item_end = *p == SEP_ITEM;
		*p = '\0';
		if (f < nf)
			fields[n * nf + f] = start;
		f++;
		start = p + 1;
		if (item_end) {
			for (; f < nf; f++)
				fields[n * nf + f] = "";
			n++;
			f = 0;
		}
	}
	return n;
}

/* ---- as a receiver ------------------------------------------------------ */

static const char sql_event_add[] =
    "INSERT INTO dmarc_event (time, policy_domain, record, source_ip, header_from,"
    " envelope_from, envelope_to, disposition, dkim_eval, spf_eval, reason, reason_comment,"
    " dkim, spf) VALUES (?1, lower(?2), ?3, ?4, lower(?5), lower(?6), lower(?7), ?8, ?9, ?10,"
    " ?11, ?12, ?13, ?14)";

int store_sqlite_dmarc_event_add(struct store *st, const struct store_dmarc_event *ev,
                                 struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	struct buf dk, sp;
	sqlite3_stmt *s;
	bool own, ok = false;

	if (ev->policy_domain == NULL || ev->source_ip == NULL || ev->header_from == NULL ||
	    ev->disposition == NULL || ev->dkim_eval == NULL || ev->spf_eval == NULL) {
		sx_err_set(err, "dmarc event: a required field is missing");
		return -1;
	}
	buf_init(&dk, AUTH_CAP);
	buf_init(&sp, AUTH_CAP);
	if (enc_dkim(&dk, ev->dkim, ev->ndkim) < 0 || enc_spf(&sp, ev->spf, ev->nspf) < 0) {
		sx_err_set(err, "dmarc event: authentication results too long");
		goto out;
	}
	if (store_sqlite_write_begin(sq, &own, err) < 0)
		goto out;
	s = store_sqlite_stmt(sq, sql_event_add, err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, ev->time);
		store_sqlite_text(s, 2, ev->policy_domain);
		store_sqlite_text_nz(s, 3, ev->record);
		store_sqlite_text(s, 4, ev->source_ip);
		store_sqlite_text(s, 5, ev->header_from);
		store_sqlite_text_nz(s, 6, ev->envelope_from);
		store_sqlite_text_nz(s, 7, ev->envelope_to);
		store_sqlite_text(s, 8, ev->disposition);
		store_sqlite_text(s, 9, ev->dkim_eval);
		store_sqlite_text(s, 10, ev->spf_eval);
		store_sqlite_text_nz(s, 11, ev->reason);
		store_sqlite_text_nz(s, 12, ev->reason_comment);
		store_sqlite_text(s, 13, dk.data);
		store_sqlite_text(s, 14, sp.data);
		if (sqlite3_step(s) == SQLITE_DONE)
			ok = true;
		else
			store_sqlite_error(sq, err, "dmarc event");
		sqlite3_reset(s);
	}
	if (store_sqlite_write_end(sq, own, ok, err) < 0)
		ok = false;
out:
	buf_free(&dk);
	buf_free(&sp);
	return ok ? 0 : -1;
}

static const char sql_pending[] =
    "SELECT policy_domain, min(time), max(time), count(*) FROM dmarc_event"
    " WHERE sent_id IS NULL AND time >= ?1 AND time < ?2"
    " AND (?3 IS NULL OR policy_domain = lower(?3))"
    " GROUP BY policy_domain ORDER BY policy_domain";

int store_sqlite_dmarc_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                               store_dmarc_pending_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	struct store_dmarc_pending p;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_pending, err);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, until);
	store_sqlite_text(s, 3, domain);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.policy_domain = store_sqlite_col(s, 0);
		p.first = sqlite3_column_int64(s, 1);
		p.last = sqlite3_column_int64(s, 2);
		p.messages = (uint64_t)sqlite3_column_int64(s, 3);
		ret = cb(&p, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "dmarc pending", err);
}

/* the bare column "record" takes its value from the row of max(id):
 * the newest message's record (SQLite's min/max bare-column rule) */
static const char sql_rows[] =
    "SELECT source_ip, header_from, envelope_from, envelope_to, disposition, dkim_eval,"
    " spf_eval, reason, reason_comment, dkim, spf, count(*), max(time), max(id), record,"
    " policy_domain FROM dmarc_event"
    " WHERE sent_id IS NULL AND policy_domain = lower(?1) AND time >= ?2 AND time < ?3"
    " GROUP BY source_ip, header_from, envelope_from, envelope_to, disposition, dkim_eval,"
    " spf_eval, reason, reason_comment, dkim, spf"
    " ORDER BY source_ip, count(*) DESC, max(id)";

int store_sqlite_dmarc_rows(struct store *st, const char *domain, int64_t begin, int64_t end,
                            store_dmarc_row_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	const char *dkf[STORE_DMARC_MAX_AUTH * 4], *spf[STORE_DMARC_MAX_AUTH * 3];
	struct store_dmarc_dkim dkim[STORE_DMARC_MAX_AUTH];
	struct store_dmarc_spf spfr[STORE_DMARC_MAX_AUTH];
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_rows, err);
	int rc, ret = 0;
	size_t i;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	sqlite3_bind_int64(s, 2, begin);
	sqlite3_bind_int64(s, 3, end);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_dmarc_row r = { 0 };
		char *dk = strdup(store_sqlite_col(s, 9)), *sp = strdup(store_sqlite_col(s, 10));
		if (dk == NULL || sp == NULL) {
			free(dk);
			free(sp);
			sx_err_set(err, "dmarc rows: out of memory");
			ret = -1;
			break;
		}
		r.ev.source_ip = store_sqlite_col(s, 0);
		r.ev.header_from = store_sqlite_col(s, 1);
		r.ev.envelope_from = store_sqlite_col(s, 2);
		r.ev.envelope_to = store_sqlite_col(s, 3);
		r.ev.disposition = store_sqlite_col(s, 4);
		r.ev.dkim_eval = store_sqlite_col(s, 5);
		r.ev.spf_eval = store_sqlite_col(s, 6);
		r.ev.reason = store_sqlite_col(s, 7);
		r.ev.reason_comment = store_sqlite_col(s, 8);
		r.count = (uint64_t)sqlite3_column_int64(s, 11);
		r.ev.time = sqlite3_column_int64(s, 12);
		r.ev.record = store_sqlite_col(s, 14);
		r.ev.policy_domain = store_sqlite_col(s, 15);
		r.ev.ndkim = dec_items(dk, dkf, 4, STORE_DMARC_MAX_AUTH);
		for (i = 0; i < r.ev.ndkim; i++) {
			dkim[i].domain = dkf[i * 4];
			dkim[i].selector = dkf[i * 4 + 1];
			dkim[i].result = dkf[i * 4 + 2];
			dkim[i].human_result = dkf[i * 4 + 3];
		}
		r.ev.dkim = dkim;
		r.ev.nspf = dec_items(sp, spf, 3, STORE_DMARC_MAX_AUTH);
		for (i = 0; i < r.ev.nspf; i++) {
			spfr[i].domain = spf[i * 3];
			spfr[i].scope = spf[i * 3 + 1];
			spfr[i].result = spf[i * 3 + 2];
		}
		r.ev.spf = spfr;
		ret = cb(&r, arg);
		free(dk);
		free(sp);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "dmarc rows", err);
}

static const char sql_sent_add[] =
    "INSERT INTO dmarc_sent (policy_domain, begin, end, report_id, destinations, created,"
    " messages, note) VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_sent_mark[] =
    "UPDATE dmarc_event SET sent_id = ?1"
    " WHERE sent_id IS NULL AND policy_domain = lower(?2) AND time >= ?3 AND time < ?4";

int store_sqlite_dmarc_mark_reported(struct store *st, const struct store_dmarc_sent *r,
                                     struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s;
	bool own, ok = false;
	int rc;

	if (store_sqlite_write_begin(sq, &own, err) < 0)
		return -1;
	s = store_sqlite_stmt(sq, sql_sent_add, err);
	if (s == NULL)
		goto out;
	store_sqlite_text(s, 1, r->policy_domain);
	sqlite3_bind_int64(s, 2, r->begin);
	sqlite3_bind_int64(s, 3, r->end);
	store_sqlite_text(s, 4, r->report_id);
	store_sqlite_text_nz(s, 5, r->destinations);
	sqlite3_bind_int64(s, 6, r->created);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)r->messages);
	store_sqlite_text(s, 8, r->note);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		sx_err_set(err, "report id %s was used before", r->report_id);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(sq, err, "dmarc sent");
		goto out;
	}
	s = store_sqlite_stmt(sq, sql_sent_mark, err);
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, sqlite3_last_insert_rowid(sq->db));
	store_sqlite_text(s, 2, r->policy_domain);
	sqlite3_bind_int64(s, 3, r->begin);
	sqlite3_bind_int64(s, 4, r->end);
	if (store_sqlite_step_done(sq, s, "dmarc mark", err) < 0)
		goto out;
	ok = true;
out:
	return store_sqlite_write_end(sq, own, ok, err);
}

/* ---- as a domain owner --------------------------------------------------- */

static const char sql_report_find[] =
    "SELECT id FROM dmarc_report WHERE org_name = ?1 AND report_id = ?2";
static const char sql_report_add[] =
    "INSERT INTO dmarc_report (org_name, email, extra_contact_info, report_id, begin, end,"
    " domain, adkim, aspf, p, sp, np, fo, pct, source, imported)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, lower(?7), ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
    " strftime('%s','now'))";
static const char sql_report_row_add[] =
    "INSERT INTO dmarc_report_row (report, source_ip, count, disposition, dkim_eval, spf_eval,"
    " reasons, header_from, envelope_from, envelope_to, dkim, spf, dkim_pass, spf_pass)"
    " VALUES (?1, ?2, ?3, lower(?4), lower(?5), lower(?6), ?7, lower(?8), lower(?9),"
    " lower(?10), ?11, ?12, ?13, ?14)";

static bool any_pass_dkim(const struct store_dmarc_dkim *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].result != NULL && str_casecmp(d[i].result, "pass") == 0)
			return true;
	return false;
}

static bool any_pass_spf(const struct store_dmarc_spf *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].result != NULL && str_casecmp(d[i].result, "pass") == 0)
			return true;
	return false;
}

static int store_sqlite_row_add(struct store_sqlite *sq, sqlite3_int64 report,
                                const struct store_dmarc_import_row *w, struct buf *dk,
                                struct buf *sp, struct sx_err *err)
{
	sqlite3_stmt *s;

	if (enc_dkim(dk, w->dkim, w->ndkim) < 0 || enc_spf(sp, w->spf, w->nspf) < 0) {
		sx_err_set(err, "dmarc import: authentication results too long");
		return -1;
	}
	s = store_sqlite_stmt(sq, sql_report_row_add, err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, report);
	store_sqlite_text_nz(s, 2, w->source_ip);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)w->count);
	store_sqlite_text_nz(s, 4, w->disposition);
	store_sqlite_text_nz(s, 5, w->dkim_eval);
	store_sqlite_text_nz(s, 6, w->spf_eval);
	store_sqlite_text_nz(s, 7, w->reasons);
	store_sqlite_text_nz(s, 8, w->header_from);
	store_sqlite_text_nz(s, 9, w->envelope_from);
	store_sqlite_text_nz(s, 10, w->envelope_to);
	store_sqlite_text(s, 11, dk->data);
	store_sqlite_text(s, 12, sp->data);
	sqlite3_bind_int(s, 13, any_pass_dkim(w->dkim, w->ndkim));
	sqlite3_bind_int(s, 14, any_pass_spf(w->spf, w->nspf));
	return store_sqlite_step_done(sq, s, "dmarc import row", err);
}

/* import_write - the report r and what it holds, not stored before */
static int import_write(struct store_sqlite *sq, const void *arg, struct sx_err *err)
{
	const struct store_dmarc_import *r = arg;
	struct buf dk, sp;
	sqlite3_stmt *s;
	sqlite3_int64 id;
	int ret = -1;
	size_t i;

	buf_init(&dk, AUTH_CAP);
	buf_init(&sp, AUTH_CAP);
	s = store_sqlite_stmt(sq, sql_report_add, err);
	if (s == NULL)
		goto out;
	store_sqlite_text(s, 1, r->org_name);
	store_sqlite_text(s, 2, r->email);
	store_sqlite_text(s, 3, r->extra_contact_info);
	store_sqlite_text(s, 4, r->report_id);
	sqlite3_bind_int64(s, 5, r->begin);
	sqlite3_bind_int64(s, 6, r->end);
	store_sqlite_text(s, 7, r->domain);
	store_sqlite_text(s, 8, r->adkim);
	store_sqlite_text(s, 9, r->aspf);
	store_sqlite_text(s, 10, r->p);
	store_sqlite_text(s, 11, r->sp);
	store_sqlite_text(s, 12, r->np);
	store_sqlite_text(s, 13, r->fo);
	if (r->pct >= 0)
		sqlite3_bind_int(s, 14, r->pct);
	store_sqlite_text(s, 15, r->source);
	if (store_sqlite_step_done(sq, s, "dmarc import", err) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(sq->db);
	for (i = 0; i < r->nrows; i++)
		if (store_sqlite_row_add(sq, id, &r->rows[i], &dk, &sp, err) < 0)
			goto out;
	ret = 0;
out:
	buf_free(&dk);
	buf_free(&sp);
	return ret;
}

int store_sqlite_dmarc_import_add(struct store *st, const struct store_dmarc_import *r,
                                  struct sx_err *err)
{
	return store_sqlite_report_import((struct store_sqlite *)st, sql_report_find, r->org_name,
	                                  r->report_id, "dmarc import", import_write, r, err);
}

#define SUMMARY_COLS                                                                               \
	" count(DISTINCT r.id), sum(w.count), sum(w.count * w.spf_pass),"                          \
	" sum(CASE WHEN w.spf_eval = 'pass' THEN w.count ELSE 0 END),"                             \
	" sum(w.count * w.dkim_pass),"                                                             \
	" sum(CASE WHEN w.dkim_eval = 'pass' THEN w.count ELSE 0 END),"                            \
	" sum(CASE WHEN w.dkim_eval = 'pass' OR w.spf_eval = 'pass' THEN w.count ELSE 0 END),"     \
	" sum(CASE WHEN w.disposition IN ('', 'none', 'pass') THEN w.count ELSE 0 END),"           \
	" sum(CASE WHEN w.disposition = 'quarantine' THEN w.count ELSE 0 END),"                    \
	" sum(CASE WHEN w.disposition = 'reject' THEN w.count ELSE 0 END)"                         \
	" FROM dmarc_report r JOIN dmarc_report_row w ON w.report = r.id"                          \
	" WHERE r.domain = lower(?1) AND r.end >= ?2 AND r.begin < ?3"

static const char sql_summary_source[] =
    "SELECT w.source_ip, NULL," SUMMARY_COLS " GROUP BY w.source_ip ORDER BY 4 DESC, 1";
static const char sql_summary_org[] =
    "SELECT NULL, r.org_name," SUMMARY_COLS " GROUP BY r.org_name ORDER BY 4 DESC, 2";
static const char sql_summary_both[] = "SELECT w.source_ip, r.org_name," SUMMARY_COLS
                                       " GROUP BY w.source_ip, r.org_name ORDER BY 4 DESC, 1, 2";

int store_sqlite_dmarc_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                               enum store_dmarc_group group, store_dmarc_summary_cb cb, void *arg,
                               struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	const char *sql = group == STORE_DMARC_BY_ORG      ? sql_summary_org
	                  : group == STORE_DMARC_BY_SOURCE ? sql_summary_source
	                                                   : sql_summary_both;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql, err);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int64(s, 3, until);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_dmarc_summary r = { 0 };
		r.source_ip =
		    sqlite3_column_type(s, 0) == SQLITE_NULL ? NULL : store_sqlite_col(s, 0);
		r.org_name =
		    sqlite3_column_type(s, 1) == SQLITE_NULL ? NULL : store_sqlite_col(s, 1);
		r.reports = (uint64_t)sqlite3_column_int64(s, 2);
		r.messages = (uint64_t)sqlite3_column_int64(s, 3);
		r.spf_pass = (uint64_t)sqlite3_column_int64(s, 4);
		r.spf_aligned = (uint64_t)sqlite3_column_int64(s, 5);
		r.dkim_pass = (uint64_t)sqlite3_column_int64(s, 6);
		r.dkim_aligned = (uint64_t)sqlite3_column_int64(s, 7);
		r.dmarc_pass = (uint64_t)sqlite3_column_int64(s, 8);
		r.disposition_none = (uint64_t)sqlite3_column_int64(s, 9);
		r.disposition_quarantine = (uint64_t)sqlite3_column_int64(s, 10);
		r.disposition_reject = (uint64_t)sqlite3_column_int64(s, 11);
		ret = cb(&r, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "dmarc summary", err);
}
