/*
 * spool_tool - put a message into a spool as the gateway's pipeline would,
 * for the integration tests of `smexop deliver|quarantine|trace|spool`
 *
 *   spool_tool SPOOL DB queue|quarantine FILE --from S --to R [--to R]...
 *              [--header FIELD]... [--reason R]... [--policy P] [--verdict V]
 *              [--session X] [--ip IP] [--time T] [--retention SECONDS]
 *
 * The message is streamed into a spool transaction, committed into queue/
 * (with trace events received and accepted) or quarantined (row and trace
 * event quarantined); the spool id is printed.  Exit 0, 1 on failure, 2 on
 * usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "transport/msgtrace.h"
#include "transport/quarantine.h"
#include "transport/spool.h"

#define MAXN 32

int main(int argc, char **argv)
{
	struct spool_rcpt rcpts[MAXN] = { { 0 } };
	const char *headers[MAXN], *reasons[MAXN];
	struct spool_envelope e = { .sender = "",
		                    .client_ip = "192.0.2.1",
		                    .helo = "client.example",
		                    .received = 1700000000,
		                    .rcpts = rcpts,
		                    .headers = headers,
		                    .q_reasons = reasons };
	struct spool_options so = { .node_id = "itest" };
	struct store_options to = { .backend = STORE_BACKEND_SQLITE };
	struct quarantine_options qo = { 0 };
	struct sx_err err = { 0 };
	struct spool *sp;
	struct store *st;
	struct spool_tx *tx;
	char buf[65536];
	size_t n;
	uint64_t v;
	FILE *f;
	int i, quarantine;

	if (argc < 5)
		return 2;
	so.dir = argv[1];
	to.path = argv[2];
	quarantine = strcmp(argv[3], "quarantine") == 0;
	for (i = 5; i + 1 < argc; i += 2) {
		const char *o = argv[i], *val = argv[i + 1];
		if (strcmp(o, "--from") == 0)
			e.sender = val;
		else if (strcmp(o, "--to") == 0 && e.nrcpts < MAXN)
			rcpts[e.nrcpts++].addr = val;
		else if (strcmp(o, "--header") == 0 && e.nheaders < MAXN)
			headers[e.nheaders++] = val;
		else if (strcmp(o, "--reason") == 0 && e.nq_reasons < MAXN)
			reasons[e.nq_reasons++] = val;
		else if (strcmp(o, "--policy") == 0)
			e.q_policy = val;
		else if (strcmp(o, "--verdict") == 0)
			e.verdict = val;
		else if (strcmp(o, "--session") == 0)
			e.session_id = val;
		else if (strcmp(o, "--message-id") == 0)
			e.message_id = val;
		else if (strcmp(o, "--ip") == 0)
			e.client_ip = val;
		else if (strcmp(o, "--time") == 0 &&
		         str_to_u64(val, strlen(val), 0, UINT64_C(1) << 40, &v) == 0)
			e.received = (int64_t)v;
		else if (strcmp(o, "--retention") == 0 &&
		         str_to_u64(val, strlen(val), 1, UINT64_C(1) << 40, &v) == 0)
			qo.retention = v;
		else {
			fprintf(stderr, "spool_tool: bad option %s\n", o);
			return 2;
		}
	}
	if (i != argc || e.nrcpts == 0)
		return 2;
	sp = spool_open(&so, &err);
	st = sp ? store_open(&to, &err) : NULL;
	f = fopen(argv[4], "rb");
	if (sp == NULL || st == NULL || f == NULL) {
		fprintf(stderr, "spool_tool: %s\n", f ? err.msg : argv[4]);
		return 1;
	}
	tx = spool_tx_begin(sp, &err);
	if (tx == NULL)
		goto fail;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (spool_tx_write(tx, buf, n) < 0)
			goto fail;
	fclose(f);
	if (spool_tx_finish(tx, &err) < 0)
		goto fail;
	e.id = spool_tx_id(tx);
	{
		const char *d;
		size_t len;
		spool_tx_data(tx, &d, &len);
		e.size = len;
	}
	msgtrace_envelope(st, &e, STORE_TRACE_RECEIVED, NULL, NULL, e.received);
	if (quarantine) {
		if (quarantine_commit(tx, &e, &qo, st, e.received, &err) < 0)
			goto fail;
	} else {
		if (spool_tx_commit(tx, &e, SPOOL_QUEUE, &err) < 0)
			goto fail;
		msgtrace_envelope(st, &e, STORE_TRACE_ACCEPTED, NULL, "250 2.0.0 queued",
		                  e.received);
	}
	printf("%s\n", spool_tx_id(tx));
	spool_tx_free(tx);
	store_close(st);
	spool_close(sp);
	return 0;
fail:
	fprintf(stderr, "spool_tool: %s\n", err.msg);
	return 1;
}
