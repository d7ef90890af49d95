/* Unit tests for core/dns_packet: hand-built reply packets through
 * dns_packet_decode (compression pointers in owners and rdata, CNAME
 * chains and loops, NXDOMAIN/NODATA and their negative TTL, rcodes,
 * pointer loops, bad labels, every truncation of a good packet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"

struct pkt {
	uint8_t b[2048];
	size_t n;
};

static void put8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static void put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8 & 0xff);
	put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* put_labels - "a.b" as labels, without the terminating root */
static void put_labels(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
		put8(p, (unsigned)n);
		memcpy(p->b + p->n, name, n);
		p->n += n;
		name += n;
		if (*name == '.')
			name++;
	}
}

/* put_name - a full uncompressed name */
static void put_name(struct pkt *p, const char *name)
{
	put_labels(p, name);
	put8(p, 0);
}

static void put_ptr(struct pkt *p, size_t off)
{
	put16(p, 0xc000 | (unsigned)off);
}

static void header(struct pkt *p, unsigned rcode, unsigned an, unsigned ns)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, 0x8180 | rcode);
	put16(p, 1);
	put16(p, an);
	put16(p, ns);
	put16(p, 0);
}

/* question - at offset 12, so a pointer to 12 is the query name */
static void question(struct pkt *p, const char *name, unsigned type)
{
	put_name(p, name);
	put16(p, type);
	put16(p, 1);
}

/* rr_head - type, class IN, ttl and a placeholder rdlength; returns where it is */
static size_t rr_head(struct pkt *p, unsigned type, uint32_t ttl)
{
	size_t at;

	put16(p, type);
	put16(p, 1);
	put32(p, ttl);
	at = p->n;
	put16(p, 0);
	return at;
}

static void rr_end(struct pkt *p, size_t at)
{
	size_t len = p->n - at - 2;

	p->b[at] = (uint8_t)(len >> 8);
	p->b[at + 1] = (uint8_t)len;
}

static void rr_a(struct pkt *p, uint32_t ttl, uint8_t last)
{
	size_t at = rr_head(p, DNS_T_A, ttl);
	put8(p, 192);
	put8(p, 0);
	put8(p, 2);
	put8(p, last);
	rr_end(p, at);
}

struct fx {
	struct arena *arena;
	struct dns_answer ans;
	uint32_t ttl;
	const char *why;
};

static int decode(struct fx *f, const struct pkt *p, const char *qname, enum dns_type type)
{
	f->why = NULL;
	return dns_packet_decode(f->arena, p->b, p->n, qname, type, &f->ans, &f->ttl, &f->why);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.arena = arena_new();
	*state = &f;
	return f.arena == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	arena_free(f->arena);
	return 0;
}

static void test_a_records(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	header(&p, 0, 2, 0);
	question(&p, "mx.example.com", DNS_T_A);
	put_ptr(&p, 12);
	rr_a(&p, 300, 1);
	put_ptr(&p, 12);
	rr_a(&p, 200, 2);
	assert_int_equal(decode(f, &p, "mx.example.com", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_OK);
	assert_int_equal(f->ans.count, 2);
	assert_int_equal(f->ans.rr[0].u.a[3], 1);
	assert_int_equal(f->ans.rr[1].u.a[3], 2);
	assert_int_equal(f->ans.rr[0].ttl, 200);
	assert_int_equal(f->ans.rr[1].ttl, 200);
	assert_int_equal(f->ttl, 200);
	assert_null(f->ans.canonname);
}

static void test_case_and_foreign_records(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t at;

	header(&p, 0, 4, 0);
	question(&p, "mx.example.com", DNS_T_A);
	put_name(&p, "MX.Example.COM"); /* owner in another case */
	rr_a(&p, 60, 1);
	put_name(&p, "other.example.com"); /* another owner */
	rr_a(&p, 10, 2);
	put_ptr(&p, 12); /* class CH */
	put16(&p, DNS_T_A);
	put16(&p, 3);
	put32(&p, 5);
	put16(&p, 4);
	put32(&p, 0x01020304);
	put_ptr(&p, 12); /* a TXT beside the A: ignored */
	at = rr_head(&p, DNS_T_TXT, 1);
	put8(&p, 1);
	put8(&p, 'x');
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "mx.example.com", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_OK);
	assert_int_equal(f->ans.count, 1);
	assert_int_equal(f->ans.rr[0].u.a[3], 1);
	assert_int_equal(f->ttl, 60);
}

static void test_cname_chain(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t at, mx_off;

	/* chain.example.org -> alias.example.com -> mx.example.com, with the
	 * targets compressed against the question and each other */
	header(&p, 0, 4, 0);
	question(&p, "chain.example.org", DNS_T_A);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_CNAME, 100);
	put_labels(&p, "alias.example");
	put_name(&p, "com");
	rr_end(&p, at);
	mx_off = p.n;
	put_labels(&p, "mx");
	put_ptr(&p, at + 2 + 6); /* "example.com" inside the CNAME rdata */
	rr_a(&p, 500, 7);
	put_ptr(&p, at + 2); /* alias.example.com */
	at = rr_head(&p, DNS_T_CNAME, 50);
	put_ptr(&p, mx_off);
	rr_end(&p, at);
	put_ptr(&p, mx_off);
	rr_a(&p, 400, 8);
	assert_int_equal(decode(f, &p, "chain.example.org", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_OK);
	assert_string_equal(f->ans.canonname, "mx.example.com");
	assert_int_equal(f->ans.count, 2);
	assert_int_equal(f->ans.rr[0].ttl, 400);
	assert_int_equal(f->ttl, 50); /* the chain's least TTL */

	/* asking for the CNAME itself does not follow it */
	memcpy(p.b + 12 + 19, "\x00\x05", 2); /* qtype in the question */
	assert_int_equal(decode(f, &p, "chain.example.org", DNS_T_CNAME), 0);
	assert_int_equal(f->ans.status, DNS_OK);
	assert_int_equal(f->ans.count, 1);
	assert_string_equal(f->ans.rr[0].u.name, "alias.example.com");
	assert_null(f->ans.canonname);
}

static void test_cname_dangling_and_loop(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t at, b_off;

	header(&p, 3, 1, 1); /* NXDOMAIN at the end of the chain */
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_CNAME, 100);
	put_name(&p, "missing.example");
	rr_end(&p, at);
	put_ptr(&p, 14); /* "example" */
	at = rr_head(&p, DNS_T_SOA, 3600);
	put_name(&p, "ns.example");
	put_name(&p, "host.example");
	put32(&p, 1);
	put32(&p, 2);
	put32(&p, 3);
	put32(&p, 4);
	put32(&p, 900);
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_NXDOMAIN);
	assert_string_equal(f->ans.canonname, "missing.example");
	assert_int_equal(f->ttl, 100);

	/* a -> b -> a */
	header(&p, 0, 2, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_CNAME, 1);
	b_off = p.n;
	put_labels(&p, "b");
	put_ptr(&p, 14);
	rr_end(&p, at);
	put_ptr(&p, b_off);
	at = rr_head(&p, DNS_T_CNAME, 1);
	put_ptr(&p, 12);
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);
	assert_int_equal(f->ans.status, DNS_SERVFAIL);
	assert_non_null(f->why);
}

static void test_compressed_rdata(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t at;

	header(&p, 0, 2, 0);
	question(&p, "example.com", DNS_T_MX);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_MX, 30);
	put16(&p, 10);
	put_labels(&p, "mx");
	put_ptr(&p, 12);
	rr_end(&p, at);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_MX, 30);
	put16(&p, 0);
	put8(&p, 0); /* null MX */
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "example.com", DNS_T_MX), 0);
	assert_int_equal(f->ans.count, 2);
	assert_int_equal(f->ans.rr[0].u.mx.preference, 10);
	assert_string_equal(f->ans.rr[0].u.mx.host, "mx.example.com");
	assert_string_equal(f->ans.rr[1].u.mx.host, "");

	header(&p, 0, 1, 0);
	question(&p, "example.com", DNS_T_SOA);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_SOA, 30);
	put_labels(&p, "ns");
	put_ptr(&p, 12);
	put_labels(&p, "hostmaster");
	put_ptr(&p, 12);
	put32(&p, 7);
	put32(&p, 2);
	put32(&p, 3);
	put32(&p, 4);
	put32(&p, 5);
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "example.com", DNS_T_SOA), 0);
	assert_string_equal(f->ans.rr[0].u.soa.mname, "ns.example.com");
	assert_string_equal(f->ans.rr[0].u.soa.rname, "hostmaster.example.com");
	assert_int_equal(f->ans.rr[0].u.soa.serial, 7);
	assert_int_equal(f->ans.rr[0].u.soa.minimum, 5);

	/* an rdata name whose stored form runs past its rdata */
	header(&p, 0, 1, 0);
	question(&p, "example.com", DNS_T_PTR);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_PTR, 30);
	put_labels(&p, "x");
	rr_end(&p, at);  /* rdlength 2 ... */
	put_ptr(&p, 12); /* ... while the name goes on */
	p.b[7] = 1;
	assert_int_equal(decode(f, &p, "example.com", DNS_T_PTR), -1);

	/* TXT goes to dns_rdata as it is */
	header(&p, 0, 1, 0);
	question(&p, "example.com", DNS_T_TXT);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_TXT, 30);
	put8(&p, 3);
	put_labels(&p, "ab"); /* \x02ab as text: 3 bytes */
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "example.com", DNS_T_TXT), 0);
	assert_int_equal(f->ans.rr[0].u.txt.len, 3);
}

static void test_negative(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t at;

	/* NODATA with an SOA: min(SOA TTL, minimum) */
	header(&p, 0, 0, 1);
	question(&p, "www.example.com", DNS_T_AAAA);
	put_ptr(&p, 16);
	at = rr_head(&p, DNS_T_SOA, 120);
	put_ptr(&p, 16);
	put_ptr(&p, 16);
	put32(&p, 1);
	put32(&p, 2);
	put32(&p, 3);
	put32(&p, 4);
	put32(&p, 600);
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "www.example.com", DNS_T_AAAA), 0);
	assert_int_equal(f->ans.status, DNS_NODATA);
	assert_int_equal(f->ans.count, 0);
	assert_int_equal(f->ttl, 120);
	p.b[at - 4] = 0x10; /* SOA TTL 0x10000078: the minimum wins */
	assert_int_equal(decode(f, &p, "www.example.com", DNS_T_AAAA), 0);
	assert_int_equal(f->ttl, 600);

	/* NXDOMAIN without an SOA: no TTL known */
	header(&p, 3, 0, 0);
	question(&p, "nx.example.com", DNS_T_A);
	assert_int_equal(decode(f, &p, "nx.example.com", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_NXDOMAIN);
	assert_int_equal(f->ttl, UINT32_MAX);

	/* REFUSED and friends */
	header(&p, 5, 0, 0);
	question(&p, "nx.example.com", DNS_T_A);
	assert_int_equal(decode(f, &p, "nx.example.com", DNS_T_A), 0);
	assert_int_equal(f->ans.status, DNS_SERVFAIL);
	assert_string_equal(f->ans.why, "server answered REFUSED");
}

static void test_bad_packets(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	/* a pointer to itself in the question */
	header(&p, 0, 0, 0);
	put_ptr(&p, 12);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* a pointer past the end */
	header(&p, 0, 0, 0);
	put_ptr(&p, 0x3fff);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* an owner pointing at two pointers that point at each other (kept in
	 * the rdata of an unrelated TXT) */
	header(&p, 0, 2, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	size_t loop = rr_head(&p, DNS_T_TXT, 1) + 2;
	put_ptr(&p, loop + 2);
	put_ptr(&p, loop);
	rr_end(&p, loop - 2);
	put_ptr(&p, loop);
	rr_a(&p, 1, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* a name longer than 255 bytes, plain */
	header(&p, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		put8(&p, 63);
		memset(p.b + p.n, 'a' + i, 63);
		p.n += 63;
	}
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* ... and a CNAME target made of 63-byte labels each pointing at the
	 * previous one, the blocks kept in the rdata of an unrelated TXT */
	header(&p, 0, 2, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	size_t at = rr_head(&p, DNS_T_TXT, 1), prev = 12;
	for (int i = 0; i < 4; i++) {
		size_t here = p.n;
		put8(&p, 63);
		memset(p.b + p.n, 'a' + i, 63);
		p.n += 63;
		put_ptr(&p, prev);
		prev = here;
	}
	rr_end(&p, at);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_CNAME, 1);
	put_ptr(&p, prev);
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* extended label type 0x40 */
	header(&p, 0, 0, 0);
	put8(&p, 0x41);
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* another question */
	header(&p, 0, 0, 0);
	question(&p, "b.example", DNS_T_A);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);
	header(&p, 0, 0, 0);
	question(&p, "a.example", DNS_T_MX);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* no question, or two */
	header(&p, 0, 0, 0);
	p.b[5] = 0;
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);
	header(&p, 0, 0, 0);
	p.b[5] = 2;
	question(&p, "a.example", DNS_T_A);
	question(&p, "a.example", DNS_T_A);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* a malformed A rdata */
	header(&p, 0, 1, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	put16(&p, DNS_T_A);
	put16(&p, 1);
	put32(&p, 1);
	put16(&p, 3);
	put8(&p, 1);
	put8(&p, 2);
	put8(&p, 3);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);
	assert_int_equal(f->ans.status, DNS_SERVFAIL);

	/* an answer with NXDOMAIN */
	header(&p, 3, 1, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	rr_a(&p, 1, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	/* more records announced than present */
	header(&p, 0, 3, 0);
	question(&p, "a.example", DNS_T_A);
	put_ptr(&p, 12);
	rr_a(&p, 1, 1);
	assert_int_equal(decode(f, &p, "a.example", DNS_T_A), -1);

	assert_int_equal(
	    dns_packet_decode(f->arena, NULL, 0, "a.example", DNS_T_A, &f->ans, &f->ttl, &f->why),
	    -1);
}

static void test_truncations(void **state)
{
	struct fx *f = *state;
	struct pkt p, t;
	size_t at;

	header(&p, 0, 2, 0);
	question(&p, "example.com", DNS_T_MX);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_MX, 30);
	put16(&p, 10);
	put_labels(&p, "mx");
	put_ptr(&p, 12);
	rr_end(&p, at);
	put_ptr(&p, 12);
	at = rr_head(&p, DNS_T_MX, 30);
	put16(&p, 20);
	put_name(&p, "mx2.example.net");
	rr_end(&p, at);
	assert_int_equal(decode(f, &p, "example.com", DNS_T_MX), 0);
	for (size_t n = 0; n < p.n; n++) {
		memcpy(t.b, p.b, n);
		t.n = n;
		assert_int_equal(decode(f, &t, "example.com", DNS_T_MX), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_and_foreign_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_dangling_and_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed_rdata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
