/*
 * fuzz_smtp_reply - the SMTP client's side of a session from a hostile
 * server: the reply parser (smtp/smtp_response) over the input, then the
 * client engine (smtp/smtp_client_proto) fed the input as the server's
 * bytes in pieces, sending a message whenever it is idle, doing "TLS"
 * when asked and pumping the data: it must never crash, hang or grow.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp/smtp_client_proto.h"
#include "smtp/smtp_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fz_written;

static int fz_write(void *owner, const void *p, size_t n)
{
	(void)owner;
	(void)p;
	fz_written += n;
	return fz_written > (1u << 24) ? -1 : 0;
}

static void fz_done(void *owner, const struct smtp_client_msg_result *res)
{
	size_t i;

	(void)owner;
	for (i = 0; i < res->nrcpts; i++)
		if (res->rcpts[i].reply.code > 599)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtp_client_rcpt rcpts[] = {
		{ "a@example.com", "SUCCESS", "rfc822;a@example.com" },
		{ "b@example.com", NULL, NULL },
		{ "c@example.com", NULL, NULL },
	};
	static const char *pre[] = { "Received: by fuzz" };
	struct smtp_client_msg m = { 0 };
	struct smtp_client_proto_config cfg = { 0 };
	struct smtp_client_proto_ops ops = { fz_write, fz_done, NULL };
	struct smtp_client_proto *c;
	struct smtp_response r;
	const char *p = (const char *)data;
	size_t off = 0, used;
	unsigned sends = 0;
	int rc;

	/* the parser alone */
	smtp_response_init(&r);
	while (off < size) {
		rc = smtp_response_input(&r, p + off, size - off, &used);
		off += used;
		if (rc < 0 || used == 0)
			break;
		if (rc == 1)
			smtp_response_reset(&r);
	}
	smtp_response_free(&r);

	/* the engine; the first byte picks the configuration */
	if (size == 0)
		return 0;
	cfg.helo_name = "fuzz.example";
	cfg.lmtp = data[0] & 1;
	cfg.tls = (enum smtp_client_tls_mode)((data[0] >> 1) % 3);
	cfg.no_chunking = data[0] & 8;
	cfg.no_pipelining = data[0] & 16;
	fz_written = 0;
	c = smtp_client_proto_new(&cfg, &ops, NULL);
	if (c == NULL)
		return 0;
	m.sender = "s@example.org";
	m.dsn_ret = "FULL";
	m.rcpts = rcpts;
	m.nrcpts = 3;
	m.prepend = pre;
	m.nprepend = 1;
	m.data = ".line\n\xc3\xa9\r\nend";
	m.len = strlen(m.data);
	m.eightbit = true;
	m.smtputf8 = data[0] & 32;
	off = 1;
	while (off < size) {
		size_t piece = (size - off) < 37 ? size - off : 37;

		used = smtp_client_proto_input(c, p + off, piece);
		switch (smtp_client_proto_want(c)) {
		case SMTP_CLIENT_WANT_TLS:
			used = piece; /* the owner drops what came behind the 220 */
			smtp_client_proto_tls_done(c);
			break;
		case SMTP_CLIENT_WANT_MESSAGE:
			if (sends++ < 4)
				(void)smtp_client_proto_send(c, &m);
			else
				smtp_client_proto_quit(c);
			break;
		case SMTP_CLIENT_WANT_CLOSE:
			used = size - off;
			break;
		default:
			break;
		}
		while (smtp_client_proto_pumping(c))
			smtp_client_proto_pump(c, 5);
		(void)smtp_client_proto_timeout_ms(c);
		if (used == 0)
			break; /* an unfinished line: the rest is all one line */
		off += used;
	}
	smtp_client_proto_abort(c, "end of input");
	smtp_client_proto_free(c);
	return 0;
}
