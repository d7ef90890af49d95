/*
 * keyholder_keys - the key holder's table of DKIM/ARC signing keys
 *
 * SUMMARY
 *	struct keyholder_keys *k = keyholder_keys_load(cfg);
 *	keyholder_keys_answer(k, &req, &reply);
 *	k = keyholder_keys_free(k);
 *
 * DESCRIPTION
 *	For every enabled dkim.signing item, the rotation state (which
 *	selector is active) and the keys of both selectors, active and next
 *	(auth/dkim_keys.h: one key per selector, two with dual), read once
 *	into the table's own arena.  A key that cannot be read is logged and
 *	left out; an INFO request for its domain then answers "notready" so
 *	the SMTP process logs an error and sends the mail unsigned.
 *
 *	keyholder_keys_answer() is the whole policy: SIGN is answered only
 *	for a (domain, selector, algorithm) the table holds an active key for
 *	(the domain in any case, the selector as published), NOKEY otherwise;
 *	INFO gives the active selector and its keys.  It never reads a file.
 *	The next selector's keys are loaded too, so that an unreadable or
 *	broken next key is logged when the key holder starts rather than at
 *	the rotation, but they sign nothing: after `dkim rotate` the next
 *	selector has a new key that is not published yet, and a request that
 *	straddles the rotation must not be signed with it.
 *
 *	keyholder_keys_stamp() is a summary of the key directories' and
 *	state files' change times: it differs after `smexop dkim rotate` or
 *	`dkim init`, which is how the key holder notices a rotation.
 */
#ifndef SMEXOP_KEYHOLDER_KEYS_H
#define SMEXOP_KEYHOLDER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "keyholder/keyholder_proto.h"

struct smexop_config;
struct keyholder_keys;

/* keyholder_keys_load - never NULL unless out of memory; problems with
 * single keys are logged and counted in *failed (may be NULL) */
struct keyholder_keys *keyholder_keys_load(const struct smexop_config *cfg, size_t *failed);
struct keyholder_keys *keyholder_keys_free(struct keyholder_keys *k);
/* keyholder_keys_count - keys held */
size_t keyholder_keys_count(const struct keyholder_keys *k);

void keyholder_keys_answer(const struct keyholder_keys *k, const struct keyholder_req *q,
                           struct keyholder_reply *r);

uint64_t keyholder_keys_stamp(const struct smexop_config *cfg);

#endif
