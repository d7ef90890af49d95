/*
 * keyholder_client - blocking, bounded calls to the key holder
 *
 * See keyholder_client.h.  A malformed reply is treated as the key holder
 * being unusable for this call (an error, the message goes unsigned); it
 * is never trusted for its length or content.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "keyholder/keyholder_client.h"

static int64_t kc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* kc_drain - drop replies to calls that gave up waiting */
static void kc_drain(int fd)
{
	uint8_t buf[KEYHOLDER_MSG_MAX + 1];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int keyholder_client_call(struct keyholder_client *c, struct keyholder_req *q,
                          struct keyholder_reply *r, struct sx_err *err)
{
	uint8_t buf[KEYHOLDER_MSG_MAX + 1];
	int64_t deadline;
	size_t n;
	ssize_t got;

	if (c->fd < 0) {
		sx_err_set(err, "key holder not running");
		return -1;
	}
	q->id = ++c->next_id;
	n = keyholder_req_encode(q, buf, sizeof(buf));
	if (n == 0) {
		sx_err_set(err, "key holder: request does not encode");
		return -1;
	}
	kc_drain(c->fd);
	if (send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n) {
		sx_err_set(err, "key holder: send: %s", strerror(errno));
		return -1;
	}
	deadline = kc_now_ms() + c->timeout_ms;
	for (;;) {
		int64_t left = deadline - kc_now_ms();
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int pr;

		if (left <= 0) {
			sx_err_set(err, "key holder: no answer in %u ms", c->timeout_ms);
			return -1;
		}
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			sx_err_set(err, "key holder: poll: %s", strerror(errno));
			return -1;
		}
		if (pr == 0)
			continue;
		got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) {
			sx_err_set(err, "key holder: %s", got == 0 ? "closed" : strerror(errno));
			return -1;
		}
		if ((size_t)got > KEYHOLDER_MSG_MAX ||
		    keyholder_reply_decode(buf, (size_t)got, r) < 0) {
			sx_err_set(err, "key holder: malformed reply");
			return -1;
		}
		if (r->id == q->id && r->type == q->type)
			return 0;
		/* a late answer to an earlier call: not ours */
	}
}

/* kc_sign - dkim_sign_remote.sign: a SIGN request */
static int kc_sign(void *ctx, const struct dkim_signer *s, const uint8_t digest[32], uint8_t *sig,
                   size_t sig_max, size_t *sig_len)
{
	struct keyholder_client *c = ctx;
	struct keyholder_req q;
	struct keyholder_reply r;
	struct sx_err err = { 0 };

	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_SIGN;
	if (snprintf(q.domain, sizeof(q.domain), "%s", s->domain) >= (int)sizeof(q.domain) ||
	    snprintf(q.selector, sizeof(q.selector), "%s", s->selector) >= (int)sizeof(q.selector))
		return -1;
	q.alg = s->alg;
	memcpy(q.digest, digest, 32);
	if (keyholder_client_call(c, &q, &r, &err) < 0 || r.status != KEYHOLDER_OK ||
	    r.sig_len > sig_max)
		return -1;
	memcpy(sig, r.sig, r.sig_len);
	*sig_len = r.sig_len;
	return 0;
}

/* kc_keys - dkim_sign_remote.keys: an INFO request */
static int kc_keys(void *ctx, const char *domain, char active[64], struct dkim_remote_key keys[2],
                   size_t *nkeys, struct sx_err *err)
{
	struct keyholder_client *c = ctx;
	struct keyholder_req q;
	struct keyholder_reply r;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.type = KEYHOLDER_INFO;
	if (snprintf(q.domain, sizeof(q.domain), "%s", domain) >= (int)sizeof(q.domain)) {
		sx_err_set(err, "domain too long");
		return -1;
	}
	if (keyholder_client_call(c, &q, &r, err) < 0)
		return -1;
	if (r.status == KEYHOLDER_NOKEY)
		return 0;
	if (r.status != KEYHOLDER_OK) {
		sx_err_set(err, "key holder: %s for %s (see its log)",
		           keyholder_status_name(r.status), domain);
		return -1;
	}
	snprintf(active, 64, "%s", r.active);
	for (i = 0; i < r.nkeys && i < 2; i++) {
		snprintf(keys[i].selector, sizeof(keys[i].selector), "%s", r.keys[i].selector);
		keys[i].alg = r.keys[i].alg;
		keys[i].bits = r.keys[i].bits;
	}
	*nkeys = i;
	return 1;
}

void keyholder_client_init(struct keyholder_client *c, unsigned timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->remote.sign = kc_sign;
	c->remote.keys = kc_keys;
	c->remote.ctx = c;
}

void keyholder_client_set_fd(struct keyholder_client *c, int fd)
{
	c->fd = fd;
}

const struct dkim_sign_remote *keyholder_client_remote(struct keyholder_client *c)
{
	return &c->remote;
}
