/*
 * keyholder_client - the SMTP process's side of the key holder socket
 *
 * SUMMARY
 *	struct keyholder_client kc;
 *	keyholder_client_init(&kc, KEYHOLDER_CLIENT_TIMEOUT_MS);
 *	keyholder_client_set_fd(&kc, fd);     after each (re)start, -1 when down
 *	deps.dkim_remote = keyholder_client_remote(&kc);
 *
 * DESCRIPTION
 *	The client turns auth/'s remote signing hook (struct dkim_sign_remote)
 *	into requests on a SOCK_SEQPACKET socket: keys() is an INFO request,
 *	sign() a SIGN request.  Each call blocks until the reply with its
 *	request id comes, or the timeout: the key holder is local and a
 *	signature takes under a millisecond (RSA-2048), so a blocking
 *	call from the outbound stage costs the loop little; a hung key holder
 *	costs at most the timeout per call.  Replies with another id (to a
 *	call that timed out) are dropped, and so is anything left unread
 *	before a new request goes out.  The fd is not owned: serve closes it.
 *
 *	One thread only (the SMTP loop's).
 */
#ifndef SMEXOP_KEYHOLDER_CLIENT_H
#define SMEXOP_KEYHOLDER_CLIENT_H

#include <stdint.h>

#include "auth/dkim_sign.h"
#include "core/err.h"
#include "keyholder/keyholder_proto.h"

#define KEYHOLDER_CLIENT_TIMEOUT_MS 1000

struct keyholder_client {
	int fd; /* -1: the key holder is down */
	uint32_t next_id;
	unsigned timeout_ms;
	struct dkim_sign_remote remote;
};

void keyholder_client_init(struct keyholder_client *c, unsigned timeout_ms);
void keyholder_client_set_fd(struct keyholder_client *c, int fd);
/* keyholder_client_remote - the hook for dkim_signing_remote / env */
const struct dkim_sign_remote *keyholder_client_remote(struct keyholder_client *c);

/* keyholder_client_call - send q (its id is set here) and wait for its
 * reply; 0 with r filled (any status), -1 with err (down, timeout,
 * malformed reply) */
int keyholder_client_call(struct keyholder_client *c, struct keyholder_req *q,
                          struct keyholder_reply *r, struct sx_err *err);

#endif
