/*
 * https_tool - one request through core/https, for test_https.py
 *
 *	https_tool [--dns-zone Z] [--ca-file F] [--port N] [--timeout MS]
 *	           [--max-body N] [--post TYPE DATA] HOST PATH
 *
 * Prints `error=<name> status=<n> content_type=<value>`, `reason=<text>`
 * and then the body; exit 0 when the request succeeded, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/https.h"
#include "core/str.h"

static int done_rc = -1;

static void on_done(const struct https_response *r, void *arg)
{
	(void)arg;
	printf("error=%s status=%u content_type=%s\n", https_error_name(r->error), r->status,
	       r->content_type != NULL ? r->content_type : "");
	printf("reason=%s\n", r->reason);
	fwrite(r->body, 1, r->body_len, stdout);
	done_rc = r->error == HTTPS_OK ? 0 : 1;
}

static unsigned num(const char *s)
{
	uint64_t v = 0;

	if (str_to_u64(s, strlen(s), 0, 100000000, &v) < 0) {
		fprintf(stderr, "https_tool: bad number %s\n", s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	struct https_request rq = { .method = "GET" };
	struct event_base *base = event_base_new();
	struct dns_zone *zone = NULL;
	struct dns *dns = NULL;
	struct https_client *c;
	struct sx_err err;
	const char *ca = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dns-zone") == 0 && i + 1 < argc) {
			zone = dns_zone_new();
			if (dns_zone_load_file(zone, argv[++i], &err) < 0) {
				fprintf(stderr, "https_tool: %s\n", err.msg);
				return 2;
			}
		} else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < argc) {
			ca = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			rq.port = num(argv[++i]);
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			rq.timeout_ms = num(argv[++i]);
		} else if (strcmp(argv[i], "--max-body") == 0 && i + 1 < argc) {
			rq.max_body = num(argv[++i]);
		} else if (strcmp(argv[i], "--post") == 0 && i + 2 < argc) {
			rq.method = "POST";
			rq.content_type = argv[++i];
			rq.body = argv[++i];
			rq.body_len = strlen(argv[i]);
		} else if (rq.host == NULL) {
			rq.host = argv[i];
		} else {
			rq.path = argv[i];
		}
	}
	if (base == NULL || rq.host == NULL) {
		fprintf(stderr, "usage: https_tool [options] HOST PATH\n");
		return 2;
	}
	if (zone != NULL)
		dns = dns_new_zone(base, zone);
	c = https_client_new(base, dns, ca, &err);
	if (c == NULL) {
		fprintf(stderr, "https_tool: %s\n", err.msg);
		return 2;
	}
	if (https_start(c, &rq, on_done, NULL) == NULL) {
		fprintf(stderr, "https_tool: cannot start\n");
		return 2;
	}
	while (done_rc < 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	https_client_free(c);
	dns_free(dns);
	dns_zone_free(zone);
	event_base_free(base);
	return done_rc < 0 ? 2 : done_rc;
}
