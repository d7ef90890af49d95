/* Unit tests for core/dns: the asynchronous API on a real event_base,
 * through the zone backend (callbacks only from the loop, concurrent
 * lookups, cancel, DNS_BADNAME, timeout marks, dns_resolve_sync,
 * dns_answer_dup, dns_free with queries outstanding or from a callback)
 * and through libunbound pointed at a loopback socket that never
 * answers (the lookup deadline), plus dns_new's error reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"

static const char zone_text[] = "$ORIGIN example.com.\n"
                                "@ MX 10 mx\n"
                                "@ TXT \"v=spf1 \" \"-all\"\n"
                                "mx A 192.0.2.1\n"
                                "mx AAAA 2001:db8::1\n"
                                "alias CNAME mx\n"
                                "_25._tcp.mx TLSA 3 1 1 abcd\n"
                                "@ SOA ns host 1 2 3 4 5\n";

struct fixture {
	struct event_base *base;
	struct dns_zone *zone;
	struct dns *dns;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sx_err err = { 0 };

	f->base = event_base_new();
	f->zone = dns_zone_new();
	if (f->base == NULL || f->zone == NULL ||
	    dns_zone_load_text(f->zone, "t.zone", zone_text, strlen(zone_text), NULL, &err) < 0)
		return -1;
	dns_zone_add_timeout(f->zone, "slow.example.com", 0);
	f->dns = dns_new_zone(f->base, f->zone);
	if (f->dns == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dns_free(f->dns);
	dns_zone_free(f->zone);
	event_base_free(f->base);
	free(f);
	return 0;
}

struct result {
	int calls;
	enum dns_status status;
	enum dns_sec sec;
	size_t count;
	char qname[300];
	char canon[300];
	char first[300];                 /* a text form of the first record */
	struct dns_query **cancel_other; /* cancel this query from the callback */
	struct dns **free_dns;           /* dns_free() this from the callback */
};

static void record_cb(const struct dns_answer *ans, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->status = ans->status;
	r->sec = ans->sec;
	r->count = ans->count;
	snprintf(r->qname, sizeof(r->qname), "%s", ans->qname);
	snprintf(r->canon, sizeof(r->canon), "%s", ans->canonname);
	if (ans->count > 0) {
		const struct dns_rr *rr = &ans->rr[0];
		switch (rr->type) {
		case DNS_T_A:
			inet_ntop(AF_INET, rr->u.a, r->first, sizeof(r->first));
			break;
		case DNS_T_MX:
			snprintf(r->first, sizeof(r->first), "%u %s", rr->u.mx.preference,
			         rr->u.mx.host);
			break;
		case DNS_T_TXT:
			snprintf(r->first, sizeof(r->first), "%s", rr->u.txt.data);
			break;
		default:
			snprintf(r->first, sizeof(r->first), "%s", dns_type_name(rr->type));
		}
	}
	if (r->cancel_other != NULL) {
		dns_cancel(*r->cancel_other);
		*r->cancel_other = NULL;
	}
	if (r->free_dns != NULL)
		*r->free_dns = dns_free(*r->free_dns);
}

static void test_not_before_return(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	struct dns_query *q;

	q = dns_lookup(f->dns, "mx.example.com", DNS_T_A, record_cb, &r);
	assert_non_null(q);
	assert_int_equal(r.calls, 0);
	assert_int_equal(event_base_dispatch(f->base), 1); /* ran dry: nothing left */
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	assert_string_equal(r.first, "192.0.2.1");
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		enum dns_type type;
		enum dns_status status;
		const char *first;
	} cases[] = {
		{ "example.com", DNS_T_MX, DNS_OK, "10 mx.example.com" },
		{ "Example.COM.", DNS_T_TXT, DNS_OK, "v=spf1 -all" },
		{ "alias.example.com", DNS_T_A, DNS_OK, "192.0.2.1" },
		{ "mx.example.com", DNS_T_MX, DNS_NODATA, "" },
		{ "nope.example.com", DNS_T_A, DNS_NXDOMAIN, "" },
		{ "slow.example.com", DNS_T_A, DNS_TIMEOUT, "" },
		{ "bad..name", DNS_T_A, DNS_BADNAME, "" },
		{ "_25._tcp.mx.example.com", DNS_T_TLSA, DNS_OK, "TLSA" },
		{ "example.com", DNS_T_SOA, DNS_OK, "SOA" },
		{ "mx.example.com", (enum dns_type)255, DNS_SERVFAIL, "" },
	};
	struct result r[sizeof(cases) / sizeof(cases[0])];
	size_t i;
	struct timespec t0, t1;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_non_null(dns_lookup(f->dns, cases[i].name, cases[i].type, record_cb, &r[i]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(r[i].calls, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	event_base_dispatch(f->base);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (r[i].calls != 1 || r[i].status != cases[i].status ||
		    strcmp(r[i].first, cases[i].first) != 0)
			fail_msg("case %zu (%s): calls %d status %s first '%s'", i, cases[i].name,
			         r[i].calls, dns_status_name(r[i].status), r[i].first);
	}
	assert_string_equal(r[1].qname, "example.com");
	assert_string_equal(r[2].canon, "mx.example.com");
	assert_string_equal(r[6].qname, "bad..name");
	/* the timeout mark answers at once (simulated time) */
	assert_true(t1.tv_sec - t0.tv_sec < 1);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
	struct dns_query *q1, *q2, *q3, *q4;

	q1 = dns_lookup(f->dns, "mx.example.com", DNS_T_A, record_cb, &r1);
	q2 = dns_lookup(f->dns, "example.com", DNS_T_MX, record_cb, &r2);
	q3 = dns_lookup(f->dns, "bad..name", DNS_T_A, record_cb, &r3);
	assert_non_null(q1);
	assert_non_null(q2);
	assert_non_null(q3);
	dns_cancel(q1);
	dns_cancel(q3);
	dns_cancel(NULL);
	event_base_dispatch(f->base);
	assert_int_equal(r1.calls, 0);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r3.calls, 0);

	/* a callback cancels a query that is already due */
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	q1 = dns_lookup(f->dns, "mx.example.com", DNS_T_A, record_cb, &r1);
	q4 = dns_lookup(f->dns, "mx.example.com", DNS_T_AAAA, record_cb, &r4);
	q2 = dns_lookup(f->dns, "example.com", DNS_T_MX, record_cb, &r2);
	assert_non_null(q1);
	/* whichever of q4 and q2 runs first cancels the other */
	r4.cancel_other = &q2;
	r2.cancel_other = &q4;
	event_base_dispatch(f->base);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r2.calls + r4.calls, 1);
}

static void test_sync_and_dup(void **state)
{
	struct fixture *f = *state;
	struct arena *a = arena_new();
	struct arena *b = arena_new();
	struct dns_answer *ans, *copy;

	ans = dns_resolve_sync(f->dns, f->base, a, "EXAMPLE.com.", DNS_T_TXT);
	assert_non_null(ans);
	assert_int_equal(ans->status, DNS_OK);
	assert_int_equal(ans->qtype, DNS_T_TXT);
	assert_string_equal(ans->qname, "example.com");
	assert_int_equal(ans->count, 1);
	assert_int_equal(ans->rr[0].u.txt.nstrings, 2);
	assert_string_equal(ans->rr[0].u.txt.data, "v=spf1 -all");

	copy = dns_answer_dup(b, ans);
	assert_non_null(copy);
	assert_ptr_not_equal(copy->rr, ans->rr);
	assert_ptr_not_equal(copy->rr[0].u.txt.data, ans->rr[0].u.txt.data);
	assert_ptr_not_equal(copy->rr[0].u.txt.string_len, ans->rr[0].u.txt.string_len);
	assert_ptr_not_equal(copy->qname, ans->qname);
	arena_free(a); /* the copy outlives the original */
	assert_string_equal(copy->qname, "example.com");
	assert_string_equal(copy->canonname, "example.com");
	assert_int_equal(copy->rr[0].u.txt.string_len[0], 7);
	assert_string_equal(copy->rr[0].u.txt.data, "v=spf1 -all");

	a = arena_new();
	ans = dns_resolve_sync(f->dns, f->base, a, "alias.example.com", DNS_T_AAAA);
	assert_int_equal(ans->status, DNS_OK);
	assert_string_equal(ans->canonname, "mx.example.com");
	copy = dns_answer_dup(b, ans);
	assert_string_equal(copy->canonname, "mx.example.com");
	assert_int_equal(copy->rr[0].u.aaaa[15], 1);
	ans = dns_resolve_sync(f->dns, f->base, a, "example.com", DNS_T_MX);
	copy = dns_answer_dup(b, ans);
	assert_ptr_not_equal(copy->rr[0].u.mx.host, ans->rr[0].u.mx.host);
	assert_string_equal(copy->rr[0].u.mx.host, "mx.example.com");
	ans = dns_resolve_sync(f->dns, f->base, a, "_25._tcp.mx.example.com", DNS_T_TLSA);
	copy = dns_answer_dup(b, ans);
	assert_ptr_not_equal(copy->rr[0].u.tlsa.data, ans->rr[0].u.tlsa.data);
	assert_memory_equal(copy->rr[0].u.tlsa.data, "\xab\xcd", 2);
	ans = dns_resolve_sync(f->dns, f->base, a, "bad..name", DNS_T_A);
	assert_int_equal(ans->status, DNS_BADNAME);
	assert_non_null(ans->why);
	ans = dns_resolve_sync(f->dns, f->base, a, "slow.example.com", DNS_T_A);
	assert_int_equal(ans->status, DNS_TIMEOUT);
	assert_null(dns_answer_dup(b, NULL));
	arena_free(a);
	arena_free(b);
}

static void test_free_outstanding(void **state)
{
	struct fixture *f = *state;
	struct dns *dns = dns_new_zone(f->base, f->zone);
	struct dns *dns2 = dns_new_zone(f->base, f->zone);
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

	/* freed with queries outstanding: no callback */
	assert_non_null(dns_lookup(dns, "mx.example.com", DNS_T_A, record_cb, &r1));
	assert_null(dns_free(dns));
	event_base_dispatch(f->base);
	assert_int_equal(r1.calls, 0);

	/* freed from a callback: the other query is cancelled */
	r2.free_dns = &dns2;
	assert_non_null(dns_lookup(dns2, "mx.example.com", DNS_T_A, record_cb, &r2));
	assert_non_null(dns_lookup(dns2, "example.com", DNS_T_MX, record_cb, &r3));
	r3.free_dns = &dns2;
	event_base_dispatch(f->base);
	assert_int_equal(r2.calls + r3.calls, 1);
	assert_null(dns2);
	assert_null(dns_free(NULL));
}

static void test_names_of_things(void **state)
{
	(void)state;
	assert_string_equal(dns_type_name(DNS_T_TLSA), "TLSA");
	assert_null(dns_type_name((enum dns_type)255));
	assert_int_equal(dns_type_parse("mx", 2), DNS_T_MX);
	assert_int_equal(dns_type_parse("AAAA", 4), DNS_T_AAAA);
	assert_int_equal(dns_type_parse("AAA", 3), 0);
	assert_string_equal(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	assert_string_equal(dns_status_name(DNS_TIMEOUT), "timeout");
	assert_string_equal(dns_sec_name(DNS_SEC_BOGUS), "bogus");
}

/* silent_socket - a bound loopback UDP socket that never answers */
static int silent_socket(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void test_unbound_deadline(void **state)
{
	struct fixture *f = *state;
	struct dns_options opts = { 0 };
	struct sx_err err = { 0 };
	struct result r1 = { 0 }, r2 = { 0 };
	struct dns *dns;
	struct timespec t0, t1;
	unsigned port;
	int fd = silent_socket(&port);
	double ms;

	opts.forward_host = "127.0.0.1";
	opts.forward_port = port;
	opts.timeout_ms = 300;
	dns = dns_new(f->base, &opts, &err);
	if (dns == NULL)
		fail_msg("dns_new: %s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_non_null(dns_lookup(dns, "www.example.com", DNS_T_A, record_cb, &r1));
	struct dns_query *q2 = dns_lookup(dns, "mail.example.com", DNS_T_MX, record_cb, &r2);
	assert_non_null(q2);
	assert_int_equal(r1.calls, 0);
	dns_cancel(q2);
	while (r1.calls == 0)
		event_base_loop(f->base, EVLOOP_ONCE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(r1.status, DNS_TIMEOUT);
	assert_int_equal(r2.calls, 0);
	assert_true(ms >= 290 && ms < 2000);
	/* a name that fails the check never reaches libunbound */
	memset(&r1, 0, sizeof(r1));
	assert_non_null(dns_lookup(dns, "a..b", DNS_T_A, record_cb, &r1));
	assert_int_equal(r1.calls, 0);
	while (r1.calls == 0)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(r1.status, DNS_BADNAME);
	/* freed with a query outstanding inside libunbound */
	assert_non_null(dns_lookup(dns, "www.example.com", DNS_T_A, record_cb, &r2));
	dns_free(dns);
	assert_int_equal(r2.calls, 0);
	close(fd);
}

static void test_new_errors(void **state)
{
	struct fixture *f = *state;
	struct dns_options opts = { 0 };
	struct sx_err err = { 0 };
	char path[] = "/tmp/test_dns_XXXXXX";
	int fd;

	opts.forward_host = "not an address";
	opts.forward_port = 53;
	assert_null(dns_new(f->base, &opts, &err));
	assert_non_null(strstr(err.msg, "not an address"));

	memset(&opts, 0, sizeof(opts));
	opts.forward_host = "127.0.0.1";
	opts.forward_port = 53;
	opts.trust_anchor = "/nonexistent/root.key";
	assert_null(dns_new(f->base, &opts, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/root.key"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, "this is not a trust anchor\n", 27) == 27);
	close(fd);
	opts.trust_anchor = path;
	assert_null(dns_new(f->base, &opts, &err));
	assert_non_null(strstr(err.msg, path));

	/* the zone backend through dns_new */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_true(write(fd, "x.example.com. A 192.0.2.7\n", 27) == 27);
	close(fd);
	memset(&opts, 0, sizeof(opts));
	opts.zone_file = path;
	struct dns *dns = dns_new(f->base, &opts, &err);
	assert_non_null(dns);
	struct arena *a = arena_new();
	struct dns_answer *ans = dns_resolve_sync(dns, f->base, a, "x.example.com", DNS_T_A);
	assert_int_equal(ans->status, DNS_OK);
	arena_free(a);
	dns_free(dns);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "x.example.com. A 192.0.2\n", 25) == 25);
	close(fd);
	assert_null(dns_new(f->base, &opts, &err));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 18);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_before_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_and_dup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_outstanding, setup, teardown),
		cmocka_unit_test(test_names_of_things),
		cmocka_unit_test_setup_teardown(test_unbound_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
