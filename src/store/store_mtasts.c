/*
 * store_mtasts - the public MTA-STS policy cache operations of the
 * store: check arguments and dispatch to the backend (contracts in
 * store.h; the resolver using them is transport/mtasts.c)
 */
#include <stddef.h>

#include "store/store_impl.h"

static int store_mtasts_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "mta-sts %s: no store or missing argument", what);
	return -1;
}

int store_mtasts_put(struct store *st, const struct store_mtasts *p, struct sx_err *err)
{
	if (st == NULL || p == NULL || p->domain == NULL || p->id == NULL || p->policy == NULL)
		return store_mtasts_fail(err, "put");
	return st->ops->mtasts_put(st, p, err);
}

int store_mtasts_get(struct store *st, const char *domain, store_mtasts_cb cb, void *arg,
                     struct sx_err *err)
{
	if (st == NULL || domain == NULL || cb == NULL)
		return store_mtasts_fail(err, "get");
	return st->ops->mtasts_get(st, domain, cb, arg, err);
}

int store_mtasts_expiring(struct store *st, int64_t after, int64_t before, size_t limit,
                          store_mtasts_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_mtasts_fail(err, "expiring");
	return st->ops->mtasts_expiring(st, after, before, limit, cb, arg, err);
}

int store_mtasts_delete(struct store *st, const char *domain, struct sx_err *err)
{
	if (st == NULL || domain == NULL)
		return store_mtasts_fail(err, "delete");
	return st->ops->mtasts_delete(st, domain, err);
}
