/*
 * bench_spf - SPF evaluations per second through the asynchronous engine
 *
 * Reads a query file (one "IP MAIL-FROM HELO" per line, the format of
 * libspf2's `spfquery -file`), evaluates every query with spf_check_start()
 * over a real DNS server (--dns HOST:PORT, through libunbound), keeping up
 * to --concurrency evaluations in flight on one event loop, and prints the
 * rate.  With --out FILE the result word of each query is written there,
 * one per line in input order, so bench.py can compare it with libspf2
 * and pyspf.  Driven by bench/spf/bench.py; never part of the tests.
 *
 * usage: bench_spf {--dns HOST:PORT | --dns-zone FILE...} [--dns-timeout MS]
 *                  [--concurrency N] [--prefetch N] [--out FILE] QUERIES
 * (--dns-zone answers from memory through the zone backend: the engine's
 * own cost with no DNS transport, for comparison only)
 * (--prefetch 0 turns the engine's speculative record lookups off)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "auth/spf.h"
#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/err.h"
#include "core/net.h"
#include "core/str.h"

#define BENCH_FILE_MAX     (64u << 20) /* bytes of query file read */
#define BENCH_QUERIES_MAX  1000000u
#define BENCH_INFLIGHT_MAX 4096u
#define BENCH_ZONES_MAX    16
#define BENCH_RESULTS      (SPF_PERMERROR + 1) /* enum spf_result values */

struct bench_query {
	struct net_addr ip;
	const char *ip_text;
	const char *mail_from;
	const char *helo;
	enum spf_result result;
	bool done;
};

struct bench;

struct bench_slot {
	struct bench *b;
	struct arena *arena;
	size_t query; /* index of the query in flight */
	bool busy;
};

struct bench {
	struct event_base *base;
	struct dns *dns;
	struct bench_query *q;
	size_t nq;
	size_t next;    /* next query to start */
	size_t ndone;   /* evaluations finished */
	size_t nfailed; /* could not be started */
	struct bench_slot *slots;
	size_t nslots;
	struct bench_slot **idle; /* stack of slots with nothing in flight */
	size_t nidle;
	bool pumping;
	struct spf_limits limits;
	unsigned long long queries; /* DNS queries the evaluations made */
};

static void bench_pump(struct bench *b);

/* bench_read_file - the whole file, NUL-terminated; NULL on error or when too big */
static char *bench_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *data = malloc(cap + 1);
	while (data != NULL) {
		size_t r = fread(data + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			if (cap >= BENCH_FILE_MAX) {
				free(data);
				data = NULL;
				break;
			}
			cap *= 2;
			char *p = realloc(data, cap + 1);
			if (p == NULL) {
				free(data);
				data = NULL;
				break;
			}
			data = p;
		}
	}
	if (ferror(f)) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data != NULL) {
		data[n] = '\0';
		*len = n;
	}
	return data;
}

/* bench_next_field - split off one blank-separated field in place */
static char *bench_next_field(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	char *e = s;
	while (*e != '\0' && *e != ' ' && *e != '\t')
		e++;
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return s;
}

/* bench_parse - fill b->q from the file text (modified in place) */
static int bench_parse(struct bench *b, char *text)
{
	size_t cap = 0;
	unsigned lineno = 0;
	for (char *line = text; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		lineno++;
		char *p = line, *ip = bench_next_field(&p);
		if (ip != NULL && ip[0] != '#') {
			char *from = bench_next_field(&p), *helo = bench_next_field(&p);
			if (from == NULL || helo == NULL) {
				fprintf(stderr, "bench_spf: line %u: want IP MAIL-FROM HELO\n",
				        lineno);
				return -1;
			}
			if (b->nq == BENCH_QUERIES_MAX) {
				fprintf(stderr, "bench_spf: more than %u queries\n",
				        BENCH_QUERIES_MAX);
				return -1;
			}
			if (b->nq == cap) {
				cap = cap ? cap * 2 : 1024;
				struct bench_query *nqv = realloc(b->q, cap * sizeof(*nqv));
				if (nqv == NULL)
					return -1;
				b->q = nqv;
			}
			struct bench_query *q = &b->q[b->nq];
			memset(q, 0, sizeof(*q));
			if (net_addr_parse(ip, &q->ip) != 0) {
				fprintf(stderr, "bench_spf: line %u: bad IP %s\n", lineno, ip);
				return -1;
			}
			q->ip_text = ip;
			q->mail_from = from;
			q->helo = helo;
			b->nq++;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return 0;
}

/* bench_done - an evaluation finished: keep its result, start the next */
static void bench_done(const struct spf_outcome *out, void *arg)
{
	struct bench_slot *s = arg;
	struct bench *b = s->b;
	struct bench_query *q = &b->q[s->query];

	q->result = out->result;
	q->done = true;
	b->queries += out->queries;
	s->busy = false;
	b->idle[b->nidle++] = s;
	b->ndone++;
	if (b->ndone + b->nfailed == b->nq)
		event_base_loopbreak(b->base);
	else
		bench_pump(b);
}

/*
 * bench_pump - give the next queries to idle slots.  Not re-entered: an
 * evaluation that completes inside spf_check_start() puts its slot back
 * on the idle stack and this loop picks it up.  A slot's arena is reset
 * only when it is reused, after the engine has returned.
 */
static void bench_pump(struct bench *b)
{
	if (b->pumping)
		return;
	b->pumping = true;
	while (b->nidle > 0 && b->next < b->nq) {
		struct bench_slot *s = b->idle[--b->nidle];
		struct bench_query *q = &b->q[b->next];
		struct spf_request req = {
			.ip = q->ip,
			.mail_from = q->mail_from,
			.helo = q->helo,
		};
		arena_reset(s->arena);
		s->busy = true;
		s->query = b->next++;
		if (spf_check_start(b->dns, b->base, s->arena, &req, &b->limits, bench_done, s) ==
		        NULL &&
		    s->busy) {
			/* neither started nor answered at once */
			s->busy = false;
			b->idle[b->nidle++] = s;
			b->nfailed++;
		}
	}
	b->pumping = false;
	if (b->ndone + b->nfailed == b->nq)
		event_base_loopbreak(b->base);
}

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void bench_usage(void)
{
	fprintf(stderr,
	        "usage: bench_spf {--dns HOST:PORT | --dns-zone FILE...} [--dns-timeout MS] "
	        "[--concurrency N] "
	        "[--prefetch N] [--out FILE] QUERIES\n");
	exit(2);
}

/* bench_uint - parse a decimal option value in [min, max] or exit */
static unsigned bench_uint(const char *s, unsigned min, unsigned max)
{
	uint64_t v = 0;
	if (s == NULL || str_to_u64(s, strlen(s), min, max, &v) != 0)
		bench_usage();
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	const char *dns_arg = NULL, *out_path = NULL, *qpath = NULL;
	const char *zone_paths[BENCH_ZONES_MAX];
	size_t nzones = 0;
	unsigned timeout_ms = 2000, conc = 1, prefetch = SPF_DEFAULT_PREFETCH;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--dns") == 0 && v != NULL) {
			dns_arg = v;
			i++;
		} else if (strcmp(a, "--dns-timeout") == 0) {
			timeout_ms = bench_uint(v, 1, 60000);
			i++;
		} else if (strcmp(a, "--concurrency") == 0) {
			conc = bench_uint(v, 1, BENCH_INFLIGHT_MAX);
			i++;
		} else if (strcmp(a, "--prefetch") == 0) {
			prefetch = bench_uint(v, 0, 100);
			i++;
		} else if (strcmp(a, "--dns-zone") == 0 && v != NULL && nzones < BENCH_ZONES_MAX) {
			zone_paths[nzones++] = v;
			i++;
		} else if (strcmp(a, "--out") == 0 && v != NULL) {
			out_path = v;
			i++;
		} else if (a[0] != '-' && qpath == NULL) {
			qpath = a;
		} else {
			bench_usage();
		}
	}
	if ((dns_arg == NULL) == (nzones == 0) || qpath == NULL)
		bench_usage();

	char host[256] = "";
	unsigned port = 0;
	if (dns_arg != NULL && net_hostport_parse(dns_arg, 53, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "bench_spf: bad --dns %s\n", dns_arg);
		return 2;
	}

	struct bench b = { 0 };
	spf_limits_default(&b.limits);
	b.limits.prefetch = prefetch;
	size_t len;
	char *text = bench_read_file(qpath, &len);
	if (text == NULL) {
		fprintf(stderr, "bench_spf: cannot read %s: %s\n", qpath, strerror(errno));
		return 2;
	}
	if (bench_parse(&b, text) != 0 || b.nq == 0) {
		fprintf(stderr, "bench_spf: no queries in %s\n", qpath);
		return 2;
	}

	b.base = event_base_new();
	struct dns_zone *zone = NULL;
	struct sx_err err = { 0 };
	if (b.base != NULL && nzones != 0) {
		/* the engine without any DNS transport: an upper bound for it */
		zone = dns_zone_new();
		for (size_t i = 0; zone != NULL && i < nzones; i++) {
			if (dns_zone_load_file(zone, zone_paths[i], &err) != 0) {
				char msg[600];
				fprintf(stderr, "bench_spf: %s\n",
				        sx_err_format(&err, msg, sizeof(msg)));
				return 2;
			}
		}
		b.dns = zone != NULL ? dns_new_zone(b.base, zone) : NULL;
	} else if (b.base != NULL) {
		struct dns_options opts = {
			.forward_host = host,
			.forward_port = port,
			.timeout_ms = timeout_ms,
		};
		b.dns = dns_new(b.base, &opts, &err);
	}
	if (b.dns == NULL) {
		fprintf(stderr, "bench_spf: dns: %s\n", err.msg);
		return 1;
	}
	b.nslots = conc < b.nq ? conc : b.nq;
	b.slots = calloc(b.nslots, sizeof(*b.slots));
	b.idle = calloc(b.nslots, sizeof(*b.idle));
	if (b.slots == NULL || b.idle == NULL)
		return 1;
	for (size_t i = 0; i < b.nslots; i++) {
		b.slots[i].b = &b;
		b.slots[i].arena = arena_new();
		if (b.slots[i].arena == NULL)
			return 1;
		b.idle[b.nidle++] = &b.slots[b.nslots - 1 - i];
	}

	double t0 = bench_now();
	bench_pump(&b);
	if (b.ndone + b.nfailed < b.nq)
		event_base_dispatch(b.base);
	double dt = bench_now() - t0;

	size_t count[BENCH_RESULTS] = { 0 };
	for (size_t i = 0; i < b.nq; i++)
		if (b.q[i].done && (unsigned)b.q[i].result < BENCH_RESULTS)
			count[b.q[i].result]++;
	printf("queries %zu\nconcurrency %zu\nseconds %.3f\nevaluations/s %.0f\n", b.nq, b.nslots,
	       dt, (double)b.ndone / dt);
	printf("dns queries/evaluation %.2f\n",
	       b.ndone ? (double)b.queries / (double)b.ndone : 0.0);
	printf("results");
	for (unsigned r = 0; r < BENCH_RESULTS; r++)
		if (count[r] != 0)
			printf(" %s=%zu", spf_result_name(r), count[r]);
	printf("\n");
	if (b.nfailed != 0)
		printf("not started %zu\n", b.nfailed);

	int rc = b.nfailed != 0 ? 1 : 0;
	if (out_path != NULL) {
		FILE *f = fopen(out_path, "w");
		if (f == NULL) {
			fprintf(stderr, "bench_spf: %s: %s\n", out_path, strerror(errno));
			rc = 1;
		} else {
			for (size_t i = 0; i < b.nq; i++)
				fprintf(f, "%s\n",
				        b.q[i].done ? spf_result_name(b.q[i].result) : "-");
			if (fclose(f) != 0)
				rc = 1;
		}
	}

	for (size_t i = 0; i < b.nslots; i++)
		arena_free(b.slots[i].arena);
	free(b.slots);
	free(b.idle);
	dns_free(b.dns);
	dns_zone_free(zone);
	event_base_free(b.base);
	free(b.q);
	free(text);
	return rc;
}
