/*
 * store_trace - the public message trace operations of the store: check
 * arguments and dispatch to the backend (contracts in store.h)
 */
#include <stddef.h>

#include "store/store_impl.h"

static const char *const store_trace_kinds[] = {
	[STORE_TRACE_RECEIVED] = "received", [STORE_TRACE_ACCEPTED] = "accepted",
	[STORE_TRACE_REJECTED] = "rejected", [STORE_TRACE_QUARANTINED] = "quarantined",
	[STORE_TRACE_RELEASED] = "released", [STORE_TRACE_DELIVERED] = "delivered",
	[STORE_TRACE_DEFERRED] = "deferred", [STORE_TRACE_FAILED] = "failed",
	[STORE_TRACE_EXPIRED] = "expired",   [STORE_TRACE_DELETED] = "deleted",
};

const char *store_trace_kind_name(enum store_trace_kind k)
{
	if ((unsigned)k >= sizeof(store_trace_kinds) / sizeof(store_trace_kinds[0]))
		return NULL;
	return store_trace_kinds[k];
}

static int store_trace_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "trace %s: no store or missing argument", what);
	return -1;
}

int store_trace_add(struct store *st, const struct store_trace_event *ev, struct sx_err *err)
{
	if (st == NULL || ev == NULL || store_trace_kind_name(ev->kind) == NULL ||
	    ((ev->spool_id == NULL || ev->spool_id[0] == '\0') &&
	     (ev->session_id == NULL || ev->session_id[0] == '\0')))
		return store_trace_fail(err, "add");
	return st->ops->trace_add(st, ev, err);
}

int store_trace_messages(struct store *st, const struct store_trace_filter *f,
                         store_trace_message_cb cb, void *arg, struct sx_err *err)
{
	static const struct store_trace_filter all;

	if (st == NULL || cb == NULL)
		return store_trace_fail(err, "messages");
	return st->ops->trace_messages(st, f != NULL ? f : &all, cb, arg, err);
}

int store_trace_events(struct store *st, const char *key, store_trace_event_cb cb, void *arg,
                       struct sx_err *err)
{
	if (st == NULL || key == NULL || cb == NULL)
		return store_trace_fail(err, "events");
	return st->ops->trace_events(st, key, cb, arg, err);
}

int store_trace_expire(struct store *st, int64_t before, uint64_t *removed, struct sx_err *err)
{
	if (st == NULL)
		return store_trace_fail(err, "expire");
	return st->ops->trace_expire(st, before, removed, err);
}
