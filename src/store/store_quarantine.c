/*
 * store_quarantine - the public quarantine operations of the store: check
 * arguments and dispatch to the backend (contracts in store.h)
 */
#include <stddef.h>

#include "store/store_impl.h"

static int store_quarantine_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "quarantine %s: no store or missing argument", what);
	return -1;
}

int store_quarantine_add(struct store *st, const struct store_quarantine *q, struct sx_err *err)
{
	if (st == NULL || q == NULL || q->id == NULL || q->id[0] == '\0' ||
	    (q->nrcpts > 0 && q->rcpts == NULL))
		return store_quarantine_fail(err, "add");
	return st->ops->quarantine_add(st, q, err);
}

int store_quarantine_list(struct store *st, const struct store_quarantine_filter *f,
                          store_quarantine_cb cb, void *arg, struct sx_err *err)
{
	static const struct store_quarantine_filter all;

	if (st == NULL || cb == NULL)
		return store_quarantine_fail(err, "list");
	return st->ops->quarantine_list(st, f != NULL ? f : &all, cb, arg, err);
}

int store_quarantine_get(struct store *st, const char *id, store_quarantine_cb cb, void *arg,
                         struct sx_err *err)
{
	if (st == NULL || id == NULL || cb == NULL)
		return store_quarantine_fail(err, "get");
	return st->ops->quarantine_get(st, id, cb, arg, err);
}

int store_quarantine_release(struct store *st, const char *id, int64_t at, const char *by,
                             const char *to, struct sx_err *err)
{
	if (st == NULL || id == NULL)
		return store_quarantine_fail(err, "release");
	return st->ops->quarantine_release(st, id, at, by, to, err);
}

int store_quarantine_delete(struct store *st, const char *id, struct sx_err *err)
{
	if (st == NULL || id == NULL)
		return store_quarantine_fail(err, "delete");
	return st->ops->quarantine_delete(st, id, err);
}

int store_quarantine_expired(struct store *st, int64_t now, store_quarantine_cb cb, void *arg,
                             struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_quarantine_fail(err, "expired");
	return st->ops->quarantine_expired(st, now, cb, arg, err);
}
