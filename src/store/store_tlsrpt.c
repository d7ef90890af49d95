/*
 * store_tlsrpt - the public TLS-RPT operations of the store: check
 * arguments and dispatch to the backend (contracts in store.h)
 */
#include <stddef.h>

#include "store/store_impl.h"

static int store_tlsrpt_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "tlsrpt %s: no store or missing argument", what);
	return -1;
}

static bool store_tlsrpt_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int store_tlsrpt_add(struct store *st, int64_t time, const struct store_tlsrpt_policy *p,
                     const struct store_tlsrpt_failure *f, struct sx_err *err)
{
	if (st == NULL || p == NULL || store_tlsrpt_empty(p->policy_type) ||
	    store_tlsrpt_empty(p->policy_domain) ||
	    (f != NULL && store_tlsrpt_empty(f->result_type)))
		return store_tlsrpt_fail(err, "add");
	return st->ops->tlsrpt_add(st, time, p, f, err);
}

int store_tlsrpt_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                         store_tlsrpt_pending_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_tlsrpt_fail(err, "pending");
	return st->ops->tlsrpt_pending(st, domain, since, until, cb, arg, err);
}

int store_tlsrpt_policies(struct store *st, const char *domain, int64_t begin, int64_t end,
                          store_tlsrpt_policy_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || domain == NULL || cb == NULL)
		return store_tlsrpt_fail(err, "policies");
	return st->ops->tlsrpt_policies(st, domain, begin, end, cb, arg, err);
}

int store_tlsrpt_dest_set(struct store *st, const struct store_tlsrpt_dest *d, struct sx_err *err)
{
	if (st == NULL || d == NULL || store_tlsrpt_empty(d->policy_domain) ||
	    store_tlsrpt_empty(d->report_id) || store_tlsrpt_empty(d->uri) ||
	    store_tlsrpt_empty(d->status))
		return store_tlsrpt_fail(err, "destination");
	return st->ops->tlsrpt_dest_set(st, d, err);
}

int store_tlsrpt_dests(struct store *st, const char *domain, int64_t begin, store_tlsrpt_dest_cb cb,
                       void *arg, struct sx_err *err)
{
	if (st == NULL || domain == NULL || cb == NULL)
		return store_tlsrpt_fail(err, "destinations");
	return st->ops->tlsrpt_dests(st, domain, begin, cb, arg, err);
}

int store_tlsrpt_mark_reported(struct store *st, const char *domain, int64_t begin, int64_t end,
                               const char *report_id, struct sx_err *err)
{
	if (st == NULL || domain == NULL || store_tlsrpt_empty(report_id))
		return store_tlsrpt_fail(err, "mark reported");
	return st->ops->tlsrpt_mark_reported(st, domain, begin, end, report_id, err);
}

int store_tlsrpt_import_add(struct store *st, const struct store_tlsrpt_report *r,
                            struct sx_err *err)
{
	if (st == NULL || r == NULL || r->org_name == NULL || r->report_id == NULL)
		return store_tlsrpt_fail(err, "import");
	return st->ops->tlsrpt_import_add(st, r, err);
}

int store_tlsrpt_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                         enum store_tlsrpt_group group, store_tlsrpt_summary_cb cb, void *arg,
                         struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_tlsrpt_fail(err, "summary");
	return st->ops->tlsrpt_summary(st, domain, since, until, group, cb, arg, err);
}
