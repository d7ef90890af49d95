/* Unit tests for smtp/smtp_probe: a scripted SMTP server in a thread on a
 * loopback port (banner, EHLO, STARTTLS, TLS with a throwaway certificate
 * made here), and the probe's answers: the chain, the clear errors, the
 * caps (too many reply lines, silent server, data injected after the
 * STARTTLS reply), and the setup callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "smtp/smtp_probe.h"

enum script {
	S_OK,
	S_NOTLS,
	S_BANNER554,
	S_MANYLINES,
	S_SILENT,
	S_INJECT,
	S_MULTIBANNER,
	S_LONGLINE,
	S_GARBAGE,
	S_MIXEDCODES,
};

struct server {
	int lfd;
	unsigned port;
	enum script script;
	pthread_t th;
	SSL_CTX *ctx;
};

static EVP_PKEY *g_key;
static X509 *g_cert;

/* make_cert - a self-signed P-256 certificate for mx.test */
static void make_cert(void)
{
	X509_NAME *n;

	g_key = EVP_EC_gen("P-256");
	assert_non_null(g_key);
	g_cert = X509_new();
	X509_set_version(g_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(g_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(g_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(g_cert), 3600);
	X509_set_pubkey(g_cert, g_key);
	n = X509_get_subject_name(g_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"mx.test", -1, -1,
	                           0);
	X509_set_issuer_name(g_cert, n);
	assert_true(X509_sign(g_cert, g_key, EVP_sha256()) > 0);
}

static void srv_send(int fd, const char *s)
{
	(void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

/* srv_line - read one line (byte by byte: no read-ahead into TLS) */
static int srv_line(int fd, char *out, size_t size)
{
	size_t n = 0;
	char c;

	while (recv(fd, &c, 1, 0) == 1) {
		if (c == '\n') {
			out[n] = '\0';
			return 0;
		}
		if (n + 1 < size && c != '\r')
			out[n++] = c;
	}
	return -1;
}

static void *srv_main(void *arg)
{
	struct server *s = arg;
	char line[512];
	int fd, i;

	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	switch (s->script) {
	case S_SILENT:
		(void)srv_line(fd, line, sizeof(line)); /* until the client gives up */
		break;
	case S_BANNER554:
		srv_send(fd, "554 5.7.1 go away\r\n");
		(void)srv_line(fd, line, sizeof(line));
		break;
	case S_LONGLINE:
		srv_send(fd, "220 ");
		for (i = 0; i < 300; i++)
			srv_send(fd, "0123456789");
		srv_send(fd, "\r\n");
		(void)srv_line(fd, line, sizeof(line));
		break;
	case S_GARBAGE:
		srv_send(fd, "hello there\r\n");
		(void)srv_line(fd, line, sizeof(line));
		break;
	case S_MIXEDCODES:
		srv_send(fd, "220-mx.test\r\n250 mx.test\r\n");
		(void)srv_line(fd, line, sizeof(line));
		break;
	default:
		if (s->script == S_MULTIBANNER)
			srv_send(fd, "220-mx.test first\r\n220-second\r\n220 mx.test ESMTP\r\n");
		else
			srv_send(fd, "220 mx.test ESMTP\r\n");
		if (srv_line(fd, line, sizeof(line)) < 0)
			break;
		if (s->script == S_MANYLINES) {
			for (i = 0; i < 150; i++)
				srv_send(fd, "250-filler\r\n");
			srv_send(fd, "250 STARTTLS\r\n");
			(void)srv_line(fd, line, sizeof(line));
			break;
		}
		if (s->script == S_NOTLS) {
			srv_send(fd, "250-mx.test\r\n250 8BITMIME\r\n");
			(void)srv_line(fd, line, sizeof(line));
			srv_send(fd, "221 bye\r\n");
			break;
		}
		srv_send(fd, "250-mx.test\r\n250-PIPELINING\r\n250 starttls\r\n");
		if (srv_line(fd, line, sizeof(line)) < 0)
			break;
		if (s->script == S_INJECT) {
			srv_send(fd, "220 go ahead\r\n250 injected\r\n");
			(void)srv_line(fd, line, sizeof(line));
			break;
		}
		srv_send(fd, "220 go ahead\r\n");
		{
			SSL *ssl = SSL_new(s->ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) == 1) {
				char buf[256];
				int n = SSL_read(ssl, buf, sizeof(buf));
				if (n > 0)
					SSL_write(ssl, "221 bye\r\n", 9);
				SSL_shutdown(ssl);
			}
			SSL_free(ssl);
		}
	}
	close(fd);
	return NULL;
}

static void srv_start(struct server *s, enum script script)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->script = script;
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, g_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, g_key), 1);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
}

static int setup_called;

static int count_setup(SSL *ssl, void *arg, char *err, size_t errsize)
{
	(void)ssl;
	(void)err;
	(void)errsize;
	setup_called += *(int *)arg;
	return 0;
}

static int refuse_setup(SSL *ssl, void *arg, char *err, size_t errsize)
{
	(void)ssl;
	(void)arg;
	snprintf(err, errsize, "no thanks");
	return -1;
}

static void run(enum script script, struct smtp_probe_options *o, struct smtp_probe_result *r,
                int want)
{
	struct server s;

	srv_start(&s, script);
	o->host = o->host ? o->host : "mx.test";
	o->connect_addr = "127.0.0.1";
	o->port = s.port;
	if (o->timeout_ms == 0)
		o->timeout_ms = 3000;
	assert_int_equal(smtp_probe_run(o, r), want);
	srv_stop(&s);
}

static void test_ok(void **state)
{
	struct smtp_probe_options o = { 0 };
	struct smtp_probe_result r;
	int one = 1;

	(void)state;
	o.tls_setup = count_setup;
	o.tls_setup_arg = &one;
	o.keep_ssl = true;
	setup_called = 0;
	run(S_OK, &o, &r, 0);
	assert_int_equal(r.stage, SMTP_PROBE_DONE);
	assert_true(r.starttls_offered);
	assert_int_equal(setup_called, 1);
	assert_non_null(r.chain);
	assert_int_equal(sk_X509_num(r.chain), 1);
	assert_int_equal(X509_cmp(sk_X509_value(r.chain, 0), g_cert), 0);
	assert_non_null(r.ssl);
	assert_true(strncmp(r.tls_version, "TLSv1.", 6) == 0);
	assert_true(r.cipher[0] != '\0');
	assert_string_equal(r.banner, "220 mx.test ESMTP");
	assert_non_null(strstr(r.transcript.data, "C: STARTTLS\nS: 220 go ahead\n"));
	assert_non_null(strstr(r.transcript.data, "C: QUIT\nS: 221 bye\n"));
	assert_true(strncmp(r.peer, "mx.test[127.0.0.1]:", 19) == 0);
	smtp_probe_result_free(&r);
}

static void test_self_signed_fails_webpki(void **state)
{
	struct smtp_probe_options o = { 0 };
	struct smtp_probe_result r;

	(void)state;
	run(S_OK, &o, &r, 0);
	assert_int_not_equal(r.verify_result, X509_V_OK);
	assert_non_null(r.verify_text);
	assert_null(r.ssl);
	smtp_probe_result_free(&r);
}

static void test_multiline_banner(void **state)
{
	struct smtp_probe_options o = { 0 };
	struct smtp_probe_result r;

	(void)state;
	run(S_MULTIBANNER, &o, &r, 0);
	assert_string_equal(r.banner, "220-mx.test first");
	smtp_probe_result_free(&r);
}

/* the failures, as a table: script, stage, error text after "peer: " */
static const struct {
	enum script script;
	enum smtp_probe_stage stage;
	const char *error;
} fail_cases[] = {
	{ S_NOTLS, SMTP_PROBE_STARTTLS, "STARTTLS not offered" },
	{ S_BANNER554, SMTP_PROBE_BANNER, "greeting refused: 554 5.7.1 go away" },
	{ S_MANYLINES, SMTP_PROBE_EHLO, "EHLO: reply has too many lines" },
	{ S_SILENT, SMTP_PROBE_BANNER,
	  "banner: no complete reply (timeout, connection closed or line too long)" },
	{ S_INJECT, SMTP_PROBE_STARTTLS, "data after the STARTTLS reply (injection?)" },
	{ S_LONGLINE, SMTP_PROBE_BANNER,
	  "banner: no complete reply (timeout, connection closed or line too long)" },
	{ S_GARBAGE, SMTP_PROBE_BANNER, "banner: malformed reply" },
	{ S_MIXEDCODES, SMTP_PROBE_BANNER, "banner: malformed reply" },
};

static void test_failures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
		struct smtp_probe_options o = { .timeout_ms = 400 };
		struct smtp_probe_result r;
		const char *colon;

		run(fail_cases[i].script, &o, &r, -1);
		assert_int_equal(r.stage, fail_cases[i].stage);
		colon = strstr(r.error, "]:");
		assert_non_null(colon);
		colon = strchr(colon + 2, ':');
		assert_non_null(colon);
		assert_string_equal(colon + 2, fail_cases[i].error);
		assert_null(r.chain);
		smtp_probe_result_free(&r);
	}
}

static void test_setup_refused(void **state)
{
	struct smtp_probe_options o = { .tls_setup = refuse_setup };
	struct smtp_probe_result r;

	(void)state;
	run(S_OK, &o, &r, -1);
	assert_int_equal(r.stage, SMTP_PROBE_HANDSHAKE);
	assert_non_null(strstr(r.error, "TLS setup failed: no thanks"));
	smtp_probe_result_free(&r);
}

static void test_connect_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct smtp_probe_options o = { .host = "127.0.0.1", .timeout_ms = 1000 };
	struct smtp_probe_result r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* a port that was just free: bound, never listened on */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	o.port = ntohs(sa.sin_port);
	assert_int_equal(smtp_probe_run(&o, &r), -1);
	close(fd);
	assert_int_equal(r.stage, SMTP_PROBE_CONNECT);
	assert_non_null(strstr(r.error, "127.0.0.1[127.0.0.1]:"));
	assert_non_null(strstr(r.error, "connect: Connection refused"));
	smtp_probe_result_free(&r);
}

static void test_name_without_resolver(void **state)
{
	struct smtp_probe_options o = { .host = "mx.example.com" };
	struct smtp_probe_result r;

	(void)state;
	assert_int_equal(smtp_probe_run(&o, &r), -1);
	assert_int_equal(r.stage, SMTP_PROBE_RESOLVE);
	assert_string_equal(r.error,
	                    "mx.example.com:25: mx.example.com: a host name needs a resolver");
	smtp_probe_result_free(&r);
	assert_string_equal(smtp_probe_stage_name(SMTP_PROBE_HANDSHAKE), "handshake");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_self_signed_fails_webpki),
		cmocka_unit_test(test_multiline_banner),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_setup_refused),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_name_without_resolver),
	};
	int rc;

	make_cert();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(g_cert);
	EVP_PKEY_free(g_key);
	return rc;
}
