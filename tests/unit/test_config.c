/*
 * Unit tests for core/config: the schema tables, the YAML loader and its
 * messages, the dumps and the generated reference.
 *
 * Good configurations are checked through the JSON dump (path = value),
 * bad ones by the exact `line:col: message` lines.  argv[1] is the
 * source root: docs/config.md must equal `smexop config docs` and
 * etc/smexop.yaml must load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/str.h"

static const char *source_root = ".";

/* load - config_load_mem on a string */
static struct smexop_config *load(const char *yaml, struct config_diag *diag)
{
	return config_load_mem("t.yaml", yaml, strlen(yaml), diag);
}

/* errors_text - "line:col: message" lines of diag, joined by newlines */
static char *errors_text(const struct config_diag *diag)
{
	static char out[8192];
	size_t used = 0, i;

	out[0] = '\0';
	for (i = 0; i < diag->n && used < sizeof(out); i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%u:%u: %s",
		                         i ? "\n" : "", diag->errors[i].line, diag->errors[i].col,
		                         diag->errors[i].msg);
	return out;
}

/* dump_json - the configuration as a jansson object */
static json_t *dump_json(const struct smexop_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_error_t jerr;
	json_t *j;

	assert_non_null(f);
	assert_int_equal(config_dump_json(cfg, f), 0);
	fclose(f);
	j = json_loads(text, 0, &jerr);
	if (j == NULL)
		fail_msg("dump is not JSON: %s\n%s", jerr.text, text);
	free(text);
	return j;
}

/* json_path - "a.b.0.c" in j; NULL when absent */
static json_t *json_path(json_t *j, const char *path)
{
	char buf[256], *tok, *save = NULL;
	uint64_t idx;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && j != NULL;
	     tok = strtok_r(NULL, ".", &save)) {
		if (str_to_u64(tok, strlen(tok), 0, 1000, &idx) == 0)
			j = json_array_get(j, (size_t)idx);
		else
			j = json_object_get(j, tok);
	}
	return j;
}

/* ---- good configurations ---------------------------------------------- */

struct good_case {
	const char *yaml;
	const char *path;
	const char *want; /* compact JSON of the value at path */
};

static void test_good(void **state)
{
	static const struct good_case cases[] = {
		/* defaults, every section */
		{ "", "log.level", "\"info\"" },
		{ "", "log.target", "\"stderr\"" },
		{ "", "dns.servers", "[]" },
		{ "", "dns.zone_file", "null" },
		{ "", "dns.timeout", "5000" },
		{ "", "dns.dnssec", "true" },
		{ "", "dns.trust_anchor", "\"/usr/share/dns/root.key\"" },
		{ "", "spf.max_dns_terms", "10" },
		{ "", "spf.max_void_lookups", "2" },
		{ "", "spf.max_mx_names", "10" },
		{ "", "spf.max_ptr_names", "10" },
		{ "", "spf.max_queries", "50" },
		{ "", "spf.timeout", "20000" },
		{ "", "limits.line_length", "2048" },
		{ "", "limits.header_size", "102400" },
		{ "", "limits.mime_depth", "64" },
		{ "", "limits.mime_parts", "10000" },
		{ "", "listeners",
		  "[{\"address\":\"0.0.0.0\",\"port\":25,\"tls\":\"starttls\","
		  "\"proxy_protocol\":false}]" },
		{ "# nothing but a comment\n", "log.level", "\"info\"" },
		{ "---\n", "spf.max_queries", "50" },
		{ "~\n", "spf.max_queries", "50" },
		{ "log:\n", "log.level", "\"info\"" },
		{ "log: {}\n", "log.target", "\"stderr\"" },
		/* overrides leave the rest alone */
		{ "log:\n  level: debug\n", "log.target", "\"stderr\"" },
		{ "log:\n  level: debug\n  target: syslog\n", "log.level", "\"debug\"" },
		{ "log:\n  level: debug\n  target: syslog\n", "log.target", "\"syslog\"" },
		{ "log: {level: WARN}\n", "log.level", "\"warn\"" },
		/* list of strings */
		{ "", "log.debug", "[]" },
		{ "log:\n  debug: [spf, \"dns\"]\n", "log.debug", "[\"spf\",\"dns\"]" },
		{ "log:\n  debug:\n    - smtp\n", "log.debug", "[\"smtp\"]" },
		/* bool */
		{ "dns:\n  dnssec: false\n", "dns.dnssec", "false" },
		{ "dns:\n  dnssec: no\n", "dns.dnssec", "false" },
		{ "dns:\n  dnssec: \"off\"\n", "dns.dnssec", "false" },
		{ "dns:\n  dnssec: Yes\n", "dns.dnssec", "true" },
		/* integer */
		{ "spf:\n  max_dns_terms: 50\n", "spf.max_dns_terms", "50" },
		{ "spf:\n  max_dns_terms: 1\n", "spf.max_dns_terms", "1" },
		{ "spf:\n  max_void_lookups: 0\n", "spf.max_void_lookups", "0" },
		{ "spf: {max_dns_terms: \"20\"}\n", "spf.max_dns_terms", "20" },
		{ "spf:\n  max_queries: 500\n", "spf.max_queries", "500" },
		/* size */
		{ "limits:\n  header_size: 64k\n", "limits.header_size", "65536" },
		{ "limits:\n  header_size: 1M\n", "limits.header_size", "1048576" },
		{ "limits:\n  header_size: 2 MiB\n", "limits.header_size", "2097152" },
		{ "limits:\n  header_size: 200KB\n", "limits.header_size", "204800" },
		{ "limits:\n  header_size: 4096\n", "limits.header_size", "4096" },
		{ "limits:\n  line_length: 1000\n", "limits.line_length", "1000" },
		{ "limits:\n  line_length: 1000b\n", "limits.line_length", "1000" },
		/* duration */
		{ "dns:\n  timeout: 1500ms\n", "dns.timeout", "1500" },
		{ "dns:\n  timeout: 30s\n", "dns.timeout", "30000" },
		{ "dns:\n  timeout: 1m\n", "dns.timeout", "60000" },
		{ "dns:\n  timeout: 2\n", "dns.timeout", "2000" },
		{ "spf:\n  timeout: 1m30s\n", "spf.timeout", "90000" },
		{ "spf:\n  timeout: 5m\n", "spf.timeout", "300000" },
		/* string and path */
		{ "server:\n  hostname: mx.example.org\n", "server.hostname",
		  "\"mx.example.org\"" },
		{ "server:\n  hostname: mx.example.org\n", "server.authserv_id",
		  "\"mx.example.org\"" },
		{ "server:\n  hostname: mx.example.org\n", "spf.receiver", "\"mx.example.org\"" },
		{ "server: {hostname: mx.example.org, authserv_id: auth.example.org}\n",
		  "server.authserv_id", "\"auth.example.org\"" },
		{ "server: {hostname: a.example}\nspf: {receiver: r.example}\n", "spf.receiver",
		  "\"r.example\"" },
		{ "dns:\n  zone_file: /etc/smexop/demo.zone\n", "dns.zone_file",
		  "\"/etc/smexop/demo.zone\"" },
		{ "dns:\n  zone_file: ~\n", "dns.zone_file", "null" },
		{ "dns:\n  zone_file: 'null'\n", "dns.zone_file", "\"null\"" },
		/* quoting: '' escapes (decoded by us, see config_sq_raw) and folding */
		{ "dns:\n  zone_file: 'it''s'\n", "dns.zone_file", "\"it's\"" },
		{ "dns:\n  zone_file: 'a''''''b'\n", "dns.zone_file", "\"a'''b\"" },
		{ "dns:\n  zone_file: ''''\n", "dns.zone_file", "\"'\"" },
		{ "dns:\n  zone_file: 'it''s  \n    here'\n", "dns.zone_file", "\"it's here\"" },
		{ "dns:\n  zone_file: 'no escape  \n    here'\n", "dns.zone_file",
		  "\"no escape here\"" },
		{ "dns:\n  zone_file: \"/a\\x41\\u00e9\"\n", "dns.zone_file", "\"/aA\u00e9\"" },
		/* host:port list */
		{ "dns:\n  servers: [\"192.0.2.1\", \"192.0.2.2:5353\", \"[2001:DB8::1]:53\", "
		  "resolver.example.net]\n",
		  "dns.servers",
		  "[\"192.0.2.1:53\",\"192.0.2.2:5353\",\"[2001:db8::1]:53\","
		  "\"resolver.example.net:53\"]" },
		{ "dns:\n  servers:\n    - 127.0.0.1:5300\n", "dns.servers",
		  "[\"127.0.0.1:5300\"]" },
		{ "dns:\n  servers:\n", "dns.servers", "[]" },
		/* list of objects */
		{ "listeners: []\n", "listeners", "[]" },
		{ "listeners:\n", "listeners", "[]" },
		{ "listeners:\n  - {}\n", "listeners.0.port", "25" },
		{ "listeners:\n  -\n", "listeners.0.tls", "\"starttls\"" },
		{ "listeners:\n  - port: 587\n    tls: none\n  - address: \"::1\"\n    port: 465\n"
		  "    tls: implicit\n    proxy_protocol: true\n",
		  "listeners",
		  "[{\"address\":\"0.0.0.0\",\"port\":587,\"tls\":\"none\",\"proxy_protocol\":"
		  "false},"
		  "{\"address\":\"::1\",\"port\":465,\"tls\":\"implicit\",\"proxy_protocol\":true}"
		  "]" },
		{ "listeners:\n  - address: 0:0:0:0:0:0:0:1\n", "listeners.0.address", "\"::1\"" },
		{ "listeners: [{address: 192.0.2.25, port: 2525}]\n", "listeners.0.port", "2525" },
	};
	struct config_diag diag;
	struct smexop_config *cfg;
	json_t *j, *v;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg = load(cases[i].yaml, &diag);
		if (cfg == NULL)
			fail_msg("case %zu: %s", i, errors_text(&diag));
		j = dump_json(cfg);
		v = json_path(j, cases[i].path);
		if (v == NULL)
			fail_msg("case %zu: no %s", i, cases[i].path);
		got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: %s = %s, want %s", i, cases[i].path, got,
			         cases[i].want);
		free(got);
		json_decref(j);
		config_free(cfg);
	}
}

/* the C struct sees what the JSON dump sees */
static void test_struct(void **state)
{
	struct smexop_config *cfg;
	struct config_diag diag;

	(void)state;
	cfg = config_load(NULL, &diag);
	assert_non_null(cfg);
	assert_non_null(cfg->server.hostname);
	assert_true(cfg->server.hostname[0] != '\0');
	assert_string_equal(cfg->server.authserv_id, cfg->server.hostname);
	assert_string_equal(cfg->spf.receiver, cfg->server.hostname);
	assert_int_equal(cfg->log.level, 1);
	assert_int_equal(cfg->dns.timeout_ms, 5000);
	assert_true(cfg->dns.dnssec);
	assert_null(cfg->dns.zone_file);
	assert_int_equal(cfg->dns.servers.n, 0);
	assert_int_equal(cfg->listeners.n, 1);
	assert_string_equal(cfg->listeners.v[0].address, "0.0.0.0");
	assert_int_equal(cfg->listeners.v[0].port, 25);
	assert_int_equal(cfg->listeners.v[0].tls, CONFIG_TLS_STARTTLS);
	assert_false(cfg->listeners.v[0].proxy_protocol);
	config_free(cfg);

	cfg = load("dns:\n  servers: ['[::1]:5353', 192.0.2.53]\nserver: {hostname: ~}\n", &diag);
	assert_non_null(cfg);
	assert_int_equal(cfg->dns.servers.n, 2);
	assert_string_equal(cfg->dns.servers.v[0].host, "::1");
	assert_int_equal(cfg->dns.servers.v[0].port, 5353);
	assert_string_equal(cfg->dns.servers.v[1].host, "192.0.2.53");
	assert_int_equal(cfg->dns.servers.v[1].port, 53);
	assert_true(cfg->server.hostname[0] != '\0');
	config_free(cfg);
	assert_null(config_free(NULL));
}

/* ---- bad configurations ------------------------------------------------ */

struct bad_case {
	const char *yaml;
	const char *want; /* every "line:col: message", newline-separated */
};

static void test_bad(void **state)
{
	static char long_name[400], long_yaml[600], many_servers[600], deep_flow[200];
	static char deep_block[8000];
	static const struct bad_case cases[] = {
		/* YAML syntax, from libfyaml's diagnostics */
		{ "log: [info\n", "2:1: flow sequence without a closing bracket" },
		{ "server:\n  hostname: \"mx\n",
		  "2:14: double-quoted scalar without closing quote" },
		{ "log:\n  level: info\n   target: x\n", "2:10: invalid multiline plain key" },
		/* encoding: checked before libfyaml sees the bytes */
		{ "log:\n  level: \xe9t\xe9\n", "2:10: not valid UTF-8" },
		{ "%\xed\n", "1:2: not valid UTF-8" },
		{ "a: \xed\xa0\x80\n", "1:4: not valid UTF-8" },
		{ "a: \xc0\xaf\n", "1:4: not valid UTF-8" },
		/* nesting: flow collections are counted before libfyaml runs */
		{ deep_flow, "1:65: nested more than 64 levels deep" },
		{ deep_block, "65:65: nested more than 64 levels deep" },
		/* the top level */
		{ "- log\n- dns\n",
		  "1:1: expected a map of sections (server:, log:, dns: ...) at the top level" },
		{ "hello\n",
		  "1:1: expected a map of sections (server:, log:, dns: ...) at the top level" },
		{ "log: {}\n---\nlog: {}\n",
		  "2:1: only one YAML document is allowed (remove the second '---')" },
		/* unknown keys, with suggestions */
		{ "lgo:\n  level: info\n", "1:1: unknown section 'lgo' (did you mean 'log'?)" },
		{ "frobnicate: 1\n", "1:1: unknown section 'frobnicate'" },
		{ "log:\n  levle: debug\n",
		  "2:3: log: unknown key 'levle' (did you mean 'level'?)" },
		{ "log:\n  Level: debug\n",
		  "2:3: log: unknown key 'Level' (did you mean 'level'?)" },
		{ "spf:\n  max_dns_term: 5\n",
		  "2:3: spf: unknown key 'max_dns_term' (did you mean 'max_dns_terms'?)" },
		{ "dns:\n  retries: 3\n", "2:3: dns: unknown key 'retries'" },
		{ "log:\n  ? [a]\n  : b\n", "2:5: log: keys must be plain words, not a list" },
		/* enum */
		{ "log:\n  level: verbose\n",
		  "2:10: log.level: must be one of: debug, info, warn, error" },
		{ "log:\n  target: [syslog]\n",
		  "2:11: log.target: must be one of: stderr, syslog" },
		{ "log:\n  level:\n", "2:3: log.level: must be one of: debug, info, warn, error" },
		/* integer */
		{ "spf:\n  max_dns_terms: ten\n", "2:18: spf.max_dns_terms: expected a number" },
		{ "spf:\n  max_dns_terms: 51\n",
		  "2:18: spf.max_dns_terms: must be between 1 and 50" },
		{ "spf:\n  max_dns_terms: 0\n",
		  "2:18: spf.max_dns_terms: must be between 1 and 50" },
		{ "spf:\n  max_void_lookups: -1\n",
		  "2:21: spf.max_void_lookups: must be between 0 and 20" },
		{ "spf:\n  max_queries: 99999999999999999999999\n",
		  "2:16: spf.max_queries: must be between 10 and 500" },
		{ "spf:\n  max_queries: 1.5\n", "2:16: spf.max_queries: expected a number" },
		{ "spf:\n  max_queries: {a: 1}\n", "2:16: spf.max_queries: expected a number" },
		{ "spf:\n  max_queries:\n", "2:3: spf.max_queries: expected a number" },
		/* size */
		{ "limits:\n  header_size: 10Q\n",
		  "2:16: limits.header_size: expected a size such as 64k, 10M or 1024 (bytes)" },
		{ "limits:\n  header_size: 100M\n",
		  "2:16: limits.header_size: must be between 1k and 16M" },
		{ "limits:\n  header_size: 99999999999G\n",
		  "2:16: limits.header_size: expected a size such as 64k, 10M or 1024 (bytes)" },
		/* duration */
		{ "dns:\n  timeout: 5 seconds\n",
		  "2:12: dns.timeout: expected a duration such as 500ms, 30s, 5m, 2h or 7d" },
		{ "dns:\n  timeout: 10ms\n", "2:12: dns.timeout: must be between 100ms and 1m" },
		{ "dns:\n  timeout: 2h\n", "2:12: dns.timeout: must be between 100ms and 1m" },
		{ "dns:\n  timeout: -5s\n", "2:12: dns.timeout: must be between 100ms and 1m" },
		{ "spf:\n  timeout: 1.5s\n",
		  "2:12: spf.timeout: expected a duration such as 500ms, 30s, 5m, 2h or 7d" },
		/* bool */
		{ "dns:\n  dnssec: maybe\n", "2:11: dns.dnssec: expected true or false" },
		{ "dns:\n  dnssec: 1\n", "2:11: dns.dnssec: expected true or false" },
		/* host:port */
		{ "dns:\n  servers: [\"1.1.1.1:99999\"]\n",
		  "2:13: dns.servers[0]: expected HOST or HOST:PORT" },
		{ "dns:\n  servers: [\"192.0.2.1\", \"bad host\"]\n",
		  "2:26: dns.servers[1]: expected HOST or HOST:PORT" },
		{ "dns:\n  servers: [\"[::1\"]\n",
		  "2:13: dns.servers[0]: expected HOST or HOST:PORT" },
		{ "dns:\n  servers: 1.1.1.1\n", "2:12: dns.servers: expected a list" },
		{ many_servers, "2:12: dns.servers: must have 0 to 16 items" },
		/* list of strings */
		{ "log:\n  debug: [spf, \"\"]\n", "2:16: log.debug[1]: must not be empty" },
		{ "log:\n  debug: [[spf]]\n", "2:11: log.debug[0]: expected a string" },
		{ "log:\n  debug: spf\n", "2:10: log.debug: expected a list" },
		/* string and path */
		{ "server:\n  hostname: \"\"\n", "2:13: server.hostname: must not be empty" },
		{ long_yaml, "2:13: server.hostname: must be 1 to 253 characters long" },
		{ "server:\n  hostname: \"a\\tb\"\n",
		  "2:13: server.hostname: must not contain control characters" },
		{ "server:\n  hostname: \"a\\0b\"\n",
		  "2:13: server.hostname: must not contain NUL bytes" },
		{ "server:\n  hostname: [a]\n", "2:13: server.hostname: expected a string" },
		{ "dns:\n  trust_anchor: ~\n", "2:17: dns.trust_anchor: expected a path" },
		/* sections */
		{ "dns: 5\n", "1:6: dns: expected a map" },
		{ "log: [a]\n", "1:6: log: expected a map" },
		/* duplicates */
		{ "log:\n  level: info\n  level: debug\n",
		  "3:3: log.level: duplicate key (first given at line 2)" },
		{ "log: {}\nlog: {}\n", "2:1: log: duplicate key (first given at line 1)" },
		/* anchors, aliases, tags */
		{ "log:\n  level: &a info\n  target: *a\n",
		  "2:10: anchors (&) are not supported; write the value out\n"
		  "3:11: aliases (*) are not supported; write the value out" },
		{ "log:\n  level: !!str info\n", "2:10: YAML tags (!) are not supported" },
		/* a list's items are never null (they used to reach the checks as NULL) */
		{ "connection_filter:\n  ip_allow: [~]\n",
		  "2:14: connection_filter.ip_allow[0]: an item of a list cannot be empty" },
		{ "inbound_connectors:\n  - name: x\n    tls_cert_names: [null]\n",
		  "3:22: inbound_connectors[0].tls_cert_names[0]: an item of a list cannot be "
		  "empty" },
		/* list of objects */
		{ "listeners: {port: 25}\n", "1:12: listeners: expected a list" },
		{ "listeners:\n  - 25\n", "2:5: listeners[0]: expected a map" },
		{ "listeners:\n  - prot: 587\n",
		  "2:5: listeners[0]: unknown key 'prot' (did you mean 'port'?)" },
		{ "listeners:\n  - address: localhost\n",
		  "2:14: listeners[0].address: expected an IP address" },
		{ "listeners:\n  - port: 25\n  - port: 0\n    tls: yes\n    address: 1.2.3.300\n",
		  "3:11: listeners[1].port: must be between 1 and 65535\n"
		  "4:10: listeners[1].tls: must be one of: none, starttls, implicit\n"
		  "5:14: listeners[1].address: expected an IP address" },
		/* every error of a file, in file order */
		{ "log:\n  level: loud\nspf:\n  max_dns_terms: 0\n  bogus: 1\nlimits: 7\n",
		  "2:10: log.level: must be one of: debug, info, warn, error\n"
		  "4:18: spf.max_dns_terms: must be between 1 and 50\n"
		  "5:3: spf: unknown key 'bogus'\n"
		  "6:9: limits: expected a map" },
	};
	struct config_diag diag;
	struct smexop_config *cfg;
	size_t i, used;

	(void)state;
	memset(long_name, 'a', 300);
	snprintf(long_yaml, sizeof(long_yaml), "server:\n  hostname: %s\n", long_name);
	used = (size_t)snprintf(many_servers, sizeof(many_servers), "dns:\n  servers: [");
	for (i = 0; i < 17; i++)
		used += (size_t)snprintf(many_servers + used, sizeof(many_servers) - used,
		                         "%s192.0.2.%zu", i ? ", " : "", i + 1);
	snprintf(many_servers + used, sizeof(many_servers) - used, "]\n");

	memset(deep_flow, '[', 100);
	for (i = 0, used = 0; i < 70; i++)
		used += (size_t)snprintf(deep_block + used, sizeof(deep_block) - used, "%*sa:\n",
		                         (int)i, "");
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 30);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg = load(cases[i].yaml, &diag);
		if (cfg != NULL)
			fail_msg("case %zu loaded: %s", i, cases[i].yaml);
		if (strcmp(errors_text(&diag), cases[i].want) != 0)
			fail_msg("case %zu:\n%s\ngot:\n%s\nwant:\n%s", i, cases[i].yaml,
			         errors_text(&diag), cases[i].want);
	}
}

/* the error list is capped, and the formatting names the file */
static void test_error_cap(void **state)
{
	struct config_diag diag;
	char yaml[4096], line[512];
	size_t used = 0, i;

	(void)state;
	used += (size_t)snprintf(yaml, sizeof(yaml), "log:\n");
	for (i = 0; i < 80; i++)
		used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "  k%zu: 1\n", i);
	assert_null(load(yaml, &diag));
	assert_int_equal(diag.n, CONFIG_MAX_ERRORS);
	assert_true(diag.truncated);
	assert_string_equal(config_error_format(&diag, 0, line, sizeof(line)),
	                    "t.yaml:2:3: log: unknown key 'k0'");
	assert_null(load("x", NULL)); /* no diag: still safe */
}

static void test_files(void **state)
{
	struct config_diag diag;
	char line[512], path[512];
	struct smexop_config *cfg;
	char *big;
	FILE *f;

	(void)state;
	assert_null(config_load("/nonexistent/smexop.yaml", &diag));
	assert_int_equal(diag.n, 1);
	assert_string_equal(config_error_format(&diag, 0, line, sizeof(line)),
	                    "/nonexistent/smexop.yaml: cannot read: No such file or directory");

	/* over the size cap: refused before libfyaml sees it */
	big = malloc(CONFIG_MAX_FILE + 2);
	assert_non_null(big);
	memset(big, '#', CONFIG_MAX_FILE + 1);
	big[CONFIG_MAX_FILE + 1] = '\0';
	assert_null(config_load_mem("big.yaml", big, CONFIG_MAX_FILE + 1, &diag));
	assert_string_equal(config_error_format(&diag, 0, line, sizeof(line)),
	                    "big.yaml: larger than 1048576 bytes; not a configuration file");
	snprintf(path, sizeof(path), "/tmp/test_config_big_%d.yaml", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(big, 1, CONFIG_MAX_FILE + 1, f);
	fclose(f);
	assert_null(config_load(path, &diag));
	assert_string_equal(diag.errors[0].msg,
	                    "larger than 1048576 bytes; not a configuration file");
	remove(path);
	free(big);

	/* the shipped example is valid */
	snprintf(path, sizeof(path), "%s/etc/smexop.yaml", source_root);
	cfg = config_load(path, &diag);
	if (cfg == NULL)
		fail_msg("%s: %s", path, errors_text(&diag));
	assert_string_equal(cfg->server.hostname, "mx1.example.org");
	config_free(cfg);
}

/* the YAML dump loads back to the same configuration */
static void test_roundtrip(void **state)
{
	static const char *const inputs[] = {
		"",
		"server: {hostname: \"mx \\\"1\\\".example\", authserv_id: a.example}\n"
		"log: {level: error, target: syslog, debug: [spf, 'it''s']}\n"
		"dns: {servers: ['[2001:db8::53]:5353', 192.0.2.1, ns.example], zone_file: /z, "
		"timeout: 1500ms, dnssec: false}\n"
		"spf: {max_dns_terms: 7, timeout: 1m30s, receiver: r.example}\n"
		"limits: {line_length: 1001, header_size: 3M, mime_parts: 1}\n"
		"listeners: [{port: 587, tls: none}, {address: '::', proxy_protocol: true}]\n",
		"listeners: []\n",
	};
	struct config_diag diag;
	struct smexop_config *a, *b;
	char *t1 = NULL, *t2 = NULL;
	size_t l1, l2, i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		a = load(inputs[i], &diag);
		if (a == NULL)
			fail_msg("input %zu: %s", i, errors_text(&diag));
		f = open_memstream(&t1, &l1);
		assert_int_equal(config_dump_yaml(a, f), 0);
		fclose(f);
		b = config_load_mem("dump", t1, l1, &diag);
		if (b == NULL)
			fail_msg("dump %zu does not load: %s\n%s", i, errors_text(&diag), t1);
		f = open_memstream(&t2, &l2);
		assert_int_equal(config_dump_yaml(b, f), 0);
		fclose(f);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
		t1 = t2 = NULL;
		config_free(a);
		config_free(b);
	}
}

/* ---- the schema itself ------------------------------------------------- */

static void check_schema(const struct config_schema *s, const char *path)
{
	const struct config_entry *e;
	char sub[128];
	uint64_t v;
	size_t i, j, k;
	int rc;

	assert_non_null(s->doc);
	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		snprintf(sub, sizeof(sub), "%s%s", path, e->name);
		for (j = 0; j < i; j++)
			if (strcmp(s->entries[j].name, e->name) == 0)
				fail_msg("%s: twice in its table", sub);
		if (e->type != CONFIG_SECTION && (e->doc == NULL || e->doc[0] == '\0'))
			fail_msg("%s: no doc line", sub);
		if (e->def == NULL && e->def_doc == NULL && e->type != CONFIG_SECTION)
			fail_msg("%s: neither def nor def_doc", sub);
		if (e->max != 0 && e->min > e->max)
			fail_msg("%s: min > max", sub);
		switch (e->type) {
		case CONFIG_INT:
		case CONFIG_SIZE:
		case CONFIG_DURATION:
			if (e->def == NULL)
				fail_msg("%s: a number needs a default", sub);
			rc = e->type == CONFIG_INT
			         ? str_to_u64(e->def, strlen(e->def), 0, UINT64_MAX, &v)
			     : e->type == CONFIG_SIZE
			         ? config_parse_size(e->def, strlen(e->def), &v)
			         : config_parse_duration(e->def, strlen(e->def), &v);
			if (rc < 0)
				fail_msg("%s: default '%s' does not parse", sub, e->def);
			if (e->max == 0)
				fail_msg("%s: a number needs a max", sub);
			if (v < e->min || v > e->max)
				fail_msg("%s: default %s outside [%llu, %llu]", sub, e->def,
				         (unsigned long long)e->min, (unsigned long long)e->max);
			break;
		case CONFIG_STRING:
		case CONFIG_PATH:
			if (e->def != NULL &&
			    (strlen(e->def) < e->min ||
			     strlen(e->def) > (e->max ? e->max : CONFIG_MAX_STRING)))
				fail_msg("%s: default '%s' has the wrong length", sub, e->def);
			break;
		case CONFIG_ENUM:
			assert_non_null(e->words);
			for (k = 0; e->words[k] != NULL; k++)
				if (strcmp(e->words[k], e->def) == 0)
					break;
			if (e->words[k] == NULL)
				fail_msg("%s: default '%s' is not one of its words", sub, e->def);
			break;
		case CONFIG_LIST:
			assert_non_null(e->item);
			assert_true(e->item->type < CONFIG_LIST);
			break;
		case CONFIG_SECTION:
		case CONFIG_OBJLIST:
			assert_non_null(e->child);
			snprintf(sub, sizeof(sub), "%s%s.", path, e->name);
			check_schema(e->child, sub);
			break;
		default:
			break;
		}
	}
}

static void test_schema(void **state)
{
	struct smexop_config *cfg;

	(void)state;
	check_schema(&config_schema_root, "");
	/* every default, list defaults included, loads through the parser */
	cfg = config_load(NULL, NULL);
	assert_non_null(cfg);
	config_free(cfg);
}

struct unit_case {
	const char *in;
	int ok;
	uint64_t want;
	const char *back; /* the formatted form */
};

static void test_units(void **state)
{
	static const struct unit_case sizes[] = {
		{ "0", 0, 0, "0" },
		{ "1024", 0, 1024, "1k" },
		{ "64k", 0, 65536, "64k" },
		{ "64K", 0, 65536, "64k" },
		{ "10M", 0, 10485760, "10M" },
		{ "1G", 0, 1073741824, "1G" },
		{ "1000", 0, 1000, "1000" },
		{ "1 kib", 0, 1024, "1k" },
		{ "1.5M", -1, 0, NULL },
		{ "k", -1, 0, NULL },
		{ "1 ", -1, 0, NULL },
		{ "", -1, 0, NULL },
		{ "18014398509481984k", -1, 0, NULL },
	};
	static const struct unit_case durs[] = {
		{ "500ms", 0, 500, "500ms" },
		{ "30s", 0, 30000, "30s" },
		{ "5m", 0, 300000, "5m" },
		{ "2h", 0, 7200000, "2h" },
		{ "7d", 0, 604800000, "7d" },
		{ "90", 0, 90000, "90s" },
		{ "1h30m", 0, 5400000, "90m" },
		{ "1s500ms", 0, 1500, "1500ms" },
		{ "0", 0, 0, "0ms" },
		{ "5", 0, 5000, "5s" },
		{ "5x", -1, 0, NULL },
		{ "s", -1, 0, NULL },
		{ "5 s", -1, 0, NULL },
		{ "-5s", -1, 0, NULL },
		{ "", -1, 0, NULL },
		{ "99999999999999999999d", -1, 0, NULL },
	};
	char buf[64];
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = 7;
		if (config_parse_size(sizes[i].in, strlen(sizes[i].in), &v) != sizes[i].ok)
			fail_msg("size '%s'", sizes[i].in);
		if (sizes[i].ok == 0) {
			assert_true(v == sizes[i].want);
			assert_string_equal(config_format_size(v, buf, sizeof(buf)), sizes[i].back);
		}
	}
	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		v = 7;
		if (config_parse_duration(durs[i].in, strlen(durs[i].in), &v) != durs[i].ok)
			fail_msg("duration '%s'", durs[i].in);
		if (durs[i].ok == 0) {
			assert_true(v == durs[i].want);
			assert_string_equal(config_format_duration(v, buf, sizeof(buf)),
			                    durs[i].back);
		}
	}
}

/* docs/config.md is exactly what `smexop config docs` prints */
static void test_docs_current(void **state)
{
	char path[512], *gen = NULL;
	size_t glen = 0;
	struct buf_file {
		char *data;
		long len;
	} f = { NULL, 0 };
	FILE *out, *in;

	(void)state;
	out = open_memstream(&gen, &glen);
	assert_int_equal(config_docs(out), 0);
	fclose(out);
	snprintf(path, sizeof(path), "%s/docs/config.md", source_root);
	in = fopen(path, "rb");
	if (in == NULL)
		fail_msg("%s is missing: run `smexop config docs > docs/config.md`", path);
	fseek(in, 0, SEEK_END);
	f.len = ftell(in);
	fseek(in, 0, SEEK_SET);
	f.data = malloc((size_t)f.len + 1);
	assert_non_null(f.data);
	assert_int_equal(fread(f.data, 1, (size_t)f.len, in), (size_t)f.len);
	f.data[f.len] = '\0';
	fclose(in);
	if ((size_t)f.len != glen || memcmp(f.data, gen, glen) != 0)
		fail_msg("%s is out of date: run `smexop config docs > docs/config.md`", path);
	free(f.data);
	free(gen);
}

/* every allocation failure gives NULL and an error, never a crash */
static void test_alloc_failure(void **state)
{
	static const char yaml[] = "log: {level: debug}\ndns: {servers: [192.0.2.1]}\n"
	                           "listeners: [{port: 587}, {port: 25}]\n";
	struct config_diag diag;
	struct smexop_config *cfg;
	unsigned long n;

	(void)state;
	for (n = 1; n < 200; n++) {
		arena_fail_after(n);
		cfg = load(yaml, &diag);
		arena_fail_after(0);
		if (cfg != NULL) {
			config_free(cfg);
			break;
		}
		assert_true(diag.n >= 1);
		assert_string_equal(diag.errors[0].msg, "out of memory");
	}
	assert_true(n > 1 && n < 200);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),         cmocka_unit_test(test_struct),
		cmocka_unit_test(test_bad),          cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_files),        cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_schema),       cmocka_unit_test(test_units),
		cmocka_unit_test(test_docs_current), cmocka_unit_test(test_alloc_failure),
	};

	if (argc > 1)
		source_root = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
