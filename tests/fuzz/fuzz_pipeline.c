/*
 * fuzz_pipeline - the parse and action stages and the header writer over
 * hostile input: the input is "HELO\0MESSAGE" (no NUL: all message).
 * The runner runs parse → action → trace on it (no DNS: the action stage
 * decides on what parse left), headers are built and the message is
 * written out.  Oracles: every prepended field is one field (no bare line
 * break outside folding, no byte the peer chose below 0x20 other than
 * the folding), and the output is the input minus the stripped ranges
 * plus the prepended fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "pipeline/headers.h"
#include "pipeline/stage.h"

static const struct stage_ops *const fuzz_stages[] = { &stage_parse_ops, &stage_action_ops,
	                                               &stage_trace_ops };

static size_t out_len;

static int count_write(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	out_len += n;
	return 0;
}

static void check_field(const char *f)
{
	size_t i;

	for (i = 0; f[i] != '\0'; i++) {
		unsigned char c = (unsigned char)f[i];

		if (c == '\r' && f[i + 1] == '\n' && (f[i + 2] == '\t' || f[i + 2] == ' ')) {
			i++;
			continue;
		}
		if (c < 0x20 && c != '\t')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runner *r;
	static struct pipeline_env env;
	const uint8_t *nul = memchr(data, 0, size < 300 ? size : 300);
	struct arena *ca;
	struct msg_conn *c;
	struct msg *m;
	struct net_addr ip;
	char *copy;
	size_t i, stripped = 0, prepended = 0;

	if (r == NULL) {
		struct sx_err err;

		log_setup(LOG_TARGET_STDERR, LOG_LEVEL_ERROR, "fuzz");
		r = runner_new(fuzz_stages, 3, &env, &err);
		if (r == NULL)
			abort();
	}
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	ca = arena_new();
	c = msg_conn_new(ca, 1);
	net_addr_parse("192.0.2.1", &ip);
	msg_conn_set_peer(c, &ip, 25);
	if (nul != NULL) {
		c->helo = copy;
		c->esmtp = true;
	}
	m = msg_new(c, 2);
	if (m != NULL && msg_rcpt_add(m, "bob@example.org") != NULL) {
		m->rcpts[0].status = MSG_RCPT_ACCEPTED;
		if (nul != NULL)
			msg_set_data(m, copy + (nul - data) + 1, size - (size_t)(nul - data) - 1);
		else
			msg_set_data(m, copy, size);
		if (runner_run(r, m, STAGE_EV_EOM, NULL, NULL) < 0)
			abort();
		if (m->verdict.action == MSG_ACTION_DELIVER) {
			for (i = 0; i < m->nprepend; i++) {
				check_field(m->prepend[i]);
				prepended += strlen(m->prepend[i]) + 2;
			}
			for (i = 0; i < m->nstrip; i++)
				stripped += m->strip[i].len;
			out_len = 0;
			if (headers_output(m, count_write, NULL) != 0 ||
			    out_len != prepended + m->len - stripped)
				abort();
		}
	}
	msg_free(m);
	arena_free(ca);
	free(copy);
	return 0;
}
