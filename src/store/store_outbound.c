/*
 * store_outbound - the public operations of the outbound sender counters,
 * the restricted senders and the directory table: check arguments and
 * dispatch to the backend (contracts in store.h)
 */
#include <stddef.h>
#include <string.h>

#include "store/store_impl.h"

static int store_outbound_fail(struct sx_err *err, const char *what)
{
	sx_err_set(err, "%s: no store or missing argument", what);
	return -1;
}

static bool store_outbound_str(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int store_sender_counts(struct store *st, const char *sender, int64_t now,
                        struct store_sender_counts *out, struct sx_err *err)
{
	if (st == NULL || sender == NULL || out == NULL)
		return store_outbound_fail(err, "sender counts");
	memset(out, 0, sizeof(*out));
	return st->ops->sender_counts(st, sender, now, out, err);
}

int store_sender_count_add(struct store *st, const char *sender, int64_t now, uint64_t external,
                           uint64_t internal, struct sx_err *err)
{
	if (st == NULL || sender == NULL || now < 0)
		return store_outbound_fail(err, "sender count");
	if (external == 0 && internal == 0)
		return 0;
	return st->ops->sender_count_add(st, sender, now, external, internal, err);
}

int store_restricted_add(struct store *st, const struct store_restricted *r, struct sx_err *err)
{
	if (st == NULL || r == NULL || !store_outbound_str(r->sender))
		return store_outbound_fail(err, "restricted add");
	return st->ops->restricted_add(st, r, err);
}

int store_restricted_get(struct store *st, const char *sender, int64_t now, store_restricted_cb cb,
                         void *arg, struct sx_err *err)
{
	if (st == NULL || sender == NULL)
		return store_outbound_fail(err, "restricted get");
	return st->ops->restricted_get(st, sender, now, cb, arg, err);
}

int store_restricted_list(struct store *st, int64_t now, store_restricted_cb cb, void *arg,
                          struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_outbound_fail(err, "restricted list");
	return st->ops->restricted_list(st, now, cb, arg, err);
}

int store_restricted_release(struct store *st, const char *sender, struct sx_err *err)
{
	if (st == NULL || !store_outbound_str(sender))
		return store_outbound_fail(err, "restricted release");
	return st->ops->restricted_release(st, sender, err);
}

int store_directory_add(struct store *st, const char *address, const char *target,
                        struct sx_err *err)
{
	if (st == NULL || !store_outbound_str(address))
		return store_outbound_fail(err, "directory add");
	return st->ops->directory_add(st, address, target != NULL ? target : "", err);
}

int store_directory_remove(struct store *st, const char *address, struct sx_err *err)
{
	if (st == NULL || !store_outbound_str(address))
		return store_outbound_fail(err, "directory remove");
	return st->ops->directory_remove(st, address, err);
}

int store_directory_list(struct store *st, store_directory_cb cb, void *arg, struct sx_err *err)
{
	if (st == NULL || cb == NULL)
		return store_outbound_fail(err, "directory list");
	return st->ops->directory_list(st, cb, arg, err);
}

int store_directory_version(struct store *st, uint64_t *version, struct sx_err *err)
{
	if (st == NULL || version == NULL)
		return store_outbound_fail(err, "directory version");
	return st->ops->directory_version(st, version, err);
}
