/*
 * config_schema - the tables: every setting smexop reads, with its
 * default, range and doc line (see config.h)
 *
 * One table per section, one line per setting.  The loader, `config
 * check`, the dumps and docs/config.md all come from here, so a setting
 * documented anywhere else is a bug.  Defaults follow what an experienced
 * mail admin expects and what the RFCs ask for; the reasons are in the
 * doc lines so that they reach the reference.
 */
#include <netdb.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/dns.h"
#include "core/net.h"
#include "core/str.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- server --------------------------------------------------------- */

/* config_schema_fqdn - gethostname(), made fully qualified through the
 * resolver's canonical name when it has no dot; computed once */
static const char *config_schema_fqdn(void)
{
	static char name[256];
	static int done;
	struct addrinfo hints, *res = NULL;

	if (done)
		return name;
	done = 1;
	if (gethostname(name, sizeof(name) - 1) < 0 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') != NULL)
		return name;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && strchr(res->ai_canonname, '.') != NULL &&
	    strlen(res->ai_canonname) < sizeof(name))
		snprintf(name, sizeof(name), "%s", res->ai_canonname);
	if (res != NULL)
		freeaddrinfo(res);
	return name;
}

static int server_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_server *s = section;

	(void)cfg;
	(void)msg;
	(void)msgsize;
	if (s->hostname == NULL)
		s->hostname = config_schema_fqdn();
	if (s->authserv_id == NULL)
		s->authserv_id = s->hostname;
	return 0;
}

static const struct config_entry server_address_item = {
	.name = "address",
	.type = CONFIG_IP,
};

static const struct config_entry server_entries[] = {
	{ .name = "hostname",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_server, hostname),
	  .def_doc = "the machine's FQDN (gethostname)",
	  .min = 1,
	  .max = 253,
	  .doc = "The name this gateway gives in its SMTP greeting, HELO and Received fields; "
	         "use the name your MX record points to." },
	{ .name = "authserv_id",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_server, authserv_id),
	  .def_doc = "server.hostname",
	  .min = 1,
	  .max = 253,
	  .doc = "The authserv-id of the Authentication-Results fields we write (RFC 8601); "
	         "incoming fields that claim it are removed first." },
	{ .name = "public_addresses",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_server, public_addresses),
	  .def = "[]",
	  .max = 64,
	  .item = &server_address_item,
	  .doc = "The gateway's public IPv4 and IPv6 addresses, as the Internet sees them (behind "
	         "NAT too); `smexop check-domain` checks their PTR, forward-confirmed reverse DNS "
	         "and SPF authorisation. Empty: the addresses of server.hostname." },
};

static const struct config_schema server_schema = {
	.name = "server",
	.doc = "Who this gateway is.",
	.size = sizeof(struct config_server),
	.entries = server_entries,
	.nentries = N(server_entries),
	.finish = server_finish,
};

/* ---- log ------------------------------------------------------------ */

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };

static const struct config_entry log_module_item = {
	.name = "module",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 32,
};

static const struct config_entry log_entries[] = {
	{ .name = "level",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_log, level),
	  .def = "info",
	  .words = log_levels,
	  .doc = "The least severe events that are logged." },
	{ .name = "target",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_log, target),
	  .def = "stderr",
	  .words = log_targets,
	  .doc = "Where log lines go: standard error, or syslog with the mail facility." },
	{ .name = "debug",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_log, debug),
	  .def = "[]",
	  .max = 64,
	  .item = &log_module_item,
	  .doc = "Modules that log at debug level whatever the level says, e.g. [spf, dns]." },
};

static const struct config_schema log_schema = {
	.name = "log",
	.doc = "Logging: one key=value line per event.",
	.size = sizeof(struct config_log),
	.entries = log_entries,
	.nentries = N(log_entries),
};

/* ---- dns ------------------------------------------------------------ */

static const struct config_entry dns_server_item = {
	.name = "server",
	.type = CONFIG_HOSTPORT,
	.port = 53,
};

static const struct config_entry dns_entries[] = {
	{ .name = "servers",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_dns, servers),
	  .def = "[]",
	  .max = 16,
	  .item = &dns_server_item,
	  .doc = "Forward every query to these servers (HOST or HOST:PORT, port 53 by default); "
	         "empty: resolve from the root ourselves." },
	{ .name = "zone_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_dns, zone_file),
	  .def_doc = "none",
	  .doc = "Answer every query from this RFC 1035 master file instead of the network "
	         "(offline use, demos and tests)." },
	{ .name = "timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_dns, timeout_ms),
	  .def = "5s",
	  .min = 100,
	  .max = 60 * 1000,
	  .doc = "How long one DNS query may take before it counts as a timeout." },
	{ .name = "dnssec",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_dns, dnssec),
	  .def = "true",
	  .doc = "Validate answers with DNSSEC (needed for DANE; a bogus answer is a SERVFAIL)." },
	{ .name = "trust_anchor",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_dns, trust_anchor),
	  .def = "/usr/share/dns/root.key",
	  .min = 1,
	  .doc = "The DNSSEC root trust anchor file (Debian package dns-root-data)." },
};

static const struct config_schema dns_schema = {
	.name = "dns",
	.doc = "The resolver every engine shares (libunbound).",
	.size = sizeof(struct config_dns),
	.entries = dns_entries,
	.nentries = N(dns_entries),
};

/* ---- spf ------------------------------------------------------------ */

static int spf_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_spf *s = section;

	(void)msg;
	(void)msgsize;
	if (s->receiver == NULL)
		s->receiver = cfg->server.hostname;
	return 0;
}

static const struct config_entry spf_entries[] = {
	{ .name = "max_dns_terms",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_spf, max_dns_terms),
	  .def = "10",
	  .min = 1,
	  .max = 50,
	  .doc = "Terms that cause DNS lookups (include, a, mx, ptr, exists, redirect) before "
	         "permerror; RFC 7208 4.6.4 says 10." },
	{ .name = "max_void_lookups",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_spf, max_void_lookups),
	  .def = "2",
	  .min = 0,
	  .max = 20,
	  .doc = "Lookups that may return no answer (NXDOMAIN or NODATA) before permerror; "
	         "RFC 7208 4.6.4 says 2." },
	{ .name = "max_mx_names",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_spf, max_mx_names),
	  .def = "10",
	  .min = 1,
	  .max = 100,
	  .doc = "MX names looked up for one mx mechanism; RFC 7208 4.6.4 says 10." },
	{ .name = "max_ptr_names",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_spf, max_ptr_names),
	  .def = "10",
	  .min = 1,
	  .max = 100,
	  .doc =
	      "PTR names validated for one ptr mechanism or %{p} macro; RFC 7208 4.6.4 says 10." },
	{ .name = "max_queries",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_spf, max_queries),
	  .def = "50",
	  .min = 10,
	  .max = 500,
	  .doc = "Hard cap on DNS queries for one evaluation, whatever the records say "
	         "(temperror beyond it)." },
	{ .name = "timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_spf, timeout_ms),
	  .def = "20s",
	  .min = 1000,
	  .max = 5 * 60 * 1000,
	  .doc = "Time for a whole evaluation before temperror; RFC 7208 4.6.4 asks for at "
	         "least 20 seconds." },
	{ .name = "receiver",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_spf, receiver),
	  .def_doc = "server.hostname",
	  .min = 1,
	  .max = 253,
	  .doc = "The domain name of the receiving host, expanded for the %{r} macro." },
};

static const struct config_schema spf_schema = {
	.name = "spf",
	.doc = "Sender Policy Framework evaluation (RFC 7208) and its processing limits.",
	.size = sizeof(struct config_spf),
	.entries = spf_entries,
	.nentries = N(spf_entries),
	.finish = spf_finish,
};

/* ---- limits --------------------------------------------------------- */

static const struct config_entry limits_entries[] = {
	{ .name = "line_length",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct config_limits, line_length),
	  .def = "2048",
	  .min = 1000,
	  .max = 1024 * 1024,
	  .doc = "Longest SMTP command or message line accepted, with CRLF (RFC 5321 asks for "
	         "at least 1000)." },
	{ .name = "header_size",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct config_limits, header_size),
	  .def = "100k",
	  .min = 1024,
	  .max = 16 * 1024 * 1024,
	  .doc = "Largest message header section; longer headers are refused (Postfix "
	         "header_size_limit)." },
	{ .name = "mime_depth",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_limits, mime_depth),
	  .def = "64",
	  .min = 1,
	  .max = 1000,
	  .doc = "Deepest nesting of MIME multiparts and attached messages that is parsed." },
	{ .name = "mime_parts",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_limits, mime_parts),
	  .def = "10000",
	  .min = 1,
	  .max = 1000000,
	  .doc = "Most MIME parts parsed in one message." },
	{ .name = "max_connections",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_limits, max_connections),
	  .def = "1000",
	  .min = 1,
	  .max = 1000000,
	  .doc = "Concurrent SMTP connections over all listeners; more are answered 421 and "
	         "closed. Raise the open-files limit (ulimit -n) with it." },
};

static const struct config_schema limits_schema = {
	.name = "limits",
	.doc = "Caps on what a peer can make us read and parse.",
	.size = sizeof(struct config_limits),
	.entries = limits_entries,
	.nentries = N(limits_entries),
};

/* ---- listeners ------------------------------------------------------ */

static const char *const listener_tls[] = { "none", "starttls", "implicit", NULL };

static const struct config_entry listener_entries[] = {
	{ .name = "address",
	  .type = CONFIG_IP,
	  .offset = offsetof(struct config_listener, address),
	  .def = "0.0.0.0",
	  .doc = "The local IP address to listen on (0.0.0.0 or :: for all)." },
	{ .name = "port",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_listener, port),
	  .def = "25",
	  .min = 1,
	  .max = 65535,
	  .doc = "The TCP port (25 for MX, 587 for submission, 465 for implicit TLS)." },
	{ .name = "tls",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_listener, tls),
	  .def = "starttls",
	  .words = listener_tls,
	  .doc = "none, STARTTLS offered (RFC 3207), or TLS from the first byte (RFC 8314)." },
	{ .name = "proxy_protocol",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_listener, proxy_protocol),
	  .def = "false",
	  .doc = "Expect a HAProxy PROXY protocol header (v1 or v2) from a load balancer first." },
};

static const struct config_schema listener_schema = {
	.name = "listener",
	.doc = "One SMTP listening socket.",
	.size = sizeof(struct config_listener),
	.entries = listener_entries,
	.nentries = N(listener_entries),
};

/* ---- tls ------------------------------------------------------------ */

static int tls_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_tls_cert *t = section;

	(void)cfg;
	if (t->cert_file == NULL && t->key_file != NULL) {
		snprintf(msg, msgsize, "key_file without cert_file");
		return -1;
	}
	if (t->key_file == NULL)
		t->key_file = t->cert_file;
	return 0;
}

static const struct config_entry tls_entries[] = {
	{ .name = "cert_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_tls_cert, cert_file),
	  .def_doc = "none (STARTTLS is not offered, implicit TLS listeners refuse to start)",
	  .doc = "The PEM certificate chain of the SMTP listeners, server certificate first." },
	{ .name = "key_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_tls_cert, key_file),
	  .def_doc = "tls.cert_file (a PEM file holding both)",
	  .doc = "The PEM private key of that certificate (mode 0600; read before privileges "
	         "are dropped)." },
	{ .name = "client_ca_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_tls_cert, client_ca_file),
	  .def_doc = "none (no client certificate is asked for)",
	  .doc = "PEM CA certificates: during TLS the server asks for an optional client "
	         "certificate and verifies it against these, so inbound connectors can match "
	         "tls_cert_names. A client without one, or with one that does not verify, goes "
	         "on as plain Internet mail." },
};

static const struct config_schema tls_schema = {
	.name = "tls",
	.doc = "The certificate for STARTTLS (RFC 3207) and implicit TLS (RFC 8314) listeners.",
	.size = sizeof(struct config_tls_cert),
	.entries = tls_entries,
	.nentries = N(tls_entries),
	.finish = tls_finish,
};

/* ---- dkim ----------------------------------------------------------- */

/* dkim_name_ok - a DKIM domain or selector: labels of [A-Za-z0-9_-], 1 to
 * 63 long, at most 253 in all; the last label's length in *last */
static bool dkim_name_ok(const char *s, size_t *last)
{
	size_t label = 0, n = 0;

	for (; *s != '\0'; s++, n++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (str_is_alnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	*last = label;
	return label > 0 && n <= 253;
}

static int dkim_signing_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_dkim_signing *d = section;
	size_t last;

	(void)cfg;
	if (d->domain == NULL) {
		snprintf(msg, msgsize, "domain is required");
		return -1;
	}
	if (!dkim_name_ok(d->domain, &last)) {
		snprintf(msg, msgsize, "domain: not a domain name");
		return -1;
	}
	/* keys and state live under key_dir/domain/selector: one spelling
	 * (the strings are the loader's arena copies) */
	str_lower_inplace((char *)d->domain);
	if (!dkim_name_ok(d->selector, &last) ||
	    (d->algorithm == CONFIG_DKIM_DUAL && last + 8 > 63)) {
		snprintf(msg, msgsize, "selector: not a selector name%s",
		         d->algorithm == CONFIG_DKIM_DUAL ? " (dual adds \"-ed25519\")" : "");
		return -1;
	}
	if (!dkim_name_ok(d->next_selector, &last) ||
	    (d->algorithm == CONFIG_DKIM_DUAL && last + 8 > 63)) {
		snprintf(msg, msgsize, "next_selector: not a selector name%s",
		         d->algorithm == CONFIG_DKIM_DUAL ? " (dual adds \"-ed25519\")" : "");
		return -1;
	}
	str_lower_inplace((char *)d->selector);
	str_lower_inplace((char *)d->next_selector);
	if (strcmp(d->selector, d->next_selector) == 0) {
		snprintf(msg, msgsize, "selector and next_selector must differ (both '%s')",
		         d->selector);
		return -1;
	}
	return 0;
}

static const char *const dkim_algorithms[] = { "rsa", "ed25519", "dual", NULL };
static const char *const dkim_canons[] = { "relaxed/relaxed", "relaxed/simple", "simple/relaxed",
	                                   "simple/simple", NULL };

static const struct config_entry dkim_header_item = {
	.name = "header",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 64,
};

static const struct config_entry dkim_signing_entries[] = {
	{ .name = "domain",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dkim_signing, domain),
	  .def_doc = "required",
	  .min = 1,
	  .max = 253,
	  .doc = "The signing domain (d=); mail whose From is in it is signed." },
	{ .name = "enabled",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_dkim_signing, enabled),
	  .def = "true",
	  .doc = "Sign mail of this domain; false keeps the keys and the rotation state." },
	{ .name = "key_dir",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_dkim_signing, key_dir),
	  .def = "/var/lib/smexop/dkim",
	  .min = 1,
	  .doc = "Keys are KEY_DIR/DOMAIN/SELECTOR.ALG.pem (mode 0600), the rotation state "
	         "KEY_DIR/DOMAIN/state (see docs/dkim.md)." },
	{ .name = "algorithm",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_dkim_signing, algorithm),
	  .def = "rsa",
	  .words = dkim_algorithms,
	  .doc = "rsa-sha256, ed25519-sha256 (RFC 8463), or both (dual: the Ed25519 key is "
	         "published at SELECTOR-ed25519)." },
	{ .name = "rsa_bits",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_dkim_signing, rsa_bits),
	  .def = "2048",
	  .min = 1024,
	  .max = 4096,
	  .doc = "Size of new RSA keys; RFC 8301 asks for at least 1024, 2048 is the usual." },
	{ .name = "selector",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dkim_signing, selector),
	  .def = "selector1",
	  .min = 1,
	  .max = 63,
	  .doc = "The selector signed with until the first `smexop dkim rotate`." },
	{ .name = "next_selector",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dkim_signing, next_selector),
	  .def = "selector2",
	  .min = 1,
	  .max = 63,
	  .doc = "The other selector: its key is published ahead and becomes active at the "
	         "next rotation; the two alternate." },
	{ .name = "headers",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_dkim_signing, headers),
	  .def_doc = "the signing engine's list (From, To, Cc, Subject, Date, Message-ID, ...)",
	  .max = 64,
	  .item = &dkim_header_item,
	  .doc = "Header fields to sign (h=); From is always signed; empty: the default list." },
	{ .name = "canonicalization",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_dkim_signing, canonicalization),
	  .def = "relaxed/relaxed",
	  .words = dkim_canons,
	  .doc = "Header/body canonicalization (c=); relaxed survives most forwarders." },
	{ .name = "expire",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_dkim_signing, expire_ms),
	  .def = "0",
	  .min = 0,
	  .max = 3650ULL * 24 * 3600 * 1000,
	  .doc = "Signatures expire this long after signing (x=); 0: no x= tag." },
};

static const struct config_schema dkim_signing_schema = {
	.name = "signing",
	.doc = "one signing domain",
	.size = sizeof(struct config_dkim_signing),
	.entries = dkim_signing_entries,
	.nentries = N(dkim_signing_entries),
	.finish = dkim_signing_finish,
};

static const struct config_entry dkim_entries[] = {
	{ .name = "signing",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct config_dkim, signing),
	  .def = "[]",
	  .max = 1024,
	  .child = &dkim_signing_schema,
	  .unique = "domain",
	  .doc = "DKIM signing of outbound mail, one item per domain (EOP's "
	         "DkimSigningConfig); keys are made with `smexop dkim init DOMAIN`." },
};

static const struct config_schema dkim_schema = {
	.name = "dkim",
	.doc = "DKIM signing keys and their rotation (`smexop dkim init|rotate|status`).",
	.size = sizeof(struct config_dkim),
	.entries = dkim_entries,
	.nentries = N(dkim_entries),
};

/* ---- store --------------------------------------------------------- */

static const char *const store_backends[] = { "sqlite", NULL };

static const struct config_entry store_entries[] = {
	{ .name = "backend",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_store, backend),
	  .def = "sqlite",
	  .words = store_backends,
	  .doc = "Where quarantine, trace and report state lives: an embedded SQLite database "
	         "(one node)." },
	{ .name = "path",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_store, path),
	  .def = "/var/lib/smexop/smexop.db",
	  .min = 1,
	  .doc = "The SQLite database file; created with mode 0600 (with its -wal and -shm "
	         "files beside it)." },
	{ .name = "busy_timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_store, busy_timeout_ms),
	  .def = "5s",
	  .min = 10,
	  .max = 10 * 60 * 1000,
	  .doc = "How long a write waits for another process holding the database lock." },
};

static const struct config_schema store_schema = {
	.name = "store",
	.doc = "The state store behind one interface (src/store/store.h).",
	.size = sizeof(struct config_store),
	.entries = store_entries,
	.nentries = N(store_entries),
};

/* ---- spool, delivery, quarantine ------------------------------------- */

/* spool_finish - node_id defaults to the first label of server.hostname */
static int spool_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_spool *sp = section;
	size_t i;

	if (sp->node_id == NULL) {
		const char *h = cfg->server.hostname;
		for (i = 0; h[i] != '\0' && h[i] != '.' && i + 1 < sizeof(sp->node_id_default); i++)
			sp->node_id_default[i] = str_is_alnum((unsigned char)h[i]) ? h[i] : '_';
		sp->node_id_default[i] = '\0';
		if (i == 0)
			snprintf(sp->node_id_default, sizeof(sp->node_id_default), "node");
		sp->node_id = sp->node_id_default;
		return 0;
	}
	for (i = 0; sp->node_id[i] != '\0'; i++)
		if (!str_is_alnum((unsigned char)sp->node_id[i]) && sp->node_id[i] != '_') {
			snprintf(msg, msgsize, "node_id: only letters, digits and _");
			return -1;
		}
	return 0;
}

static const struct config_entry spool_entries[] = {
	{ .name = "dir",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_spool, dir),
	  .def = "/var/spool/smexop",
	  .min = 1,
	  .doc = "The spool: incoming/, queue/, quarantine/ and corrupt/ (mode 0700); a message "
	         "is fsync'd here before the 250." },
	{ .name = "node_id",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_spool, node_id),
	  .def_doc = "the first label of server.hostname",
	  .min = 1,
	  .max = 32,
	  .doc = "This node's name inside spool ids (letters, digits, _), so that ids stay "
	         "unique when several nodes share state." },
};

static const struct config_schema spool_schema = {
	.name = "spool",
	.doc = "The durable message spool (src/transport/spool.h, `smexop spool dump`).",
	.size = sizeof(struct config_spool),
	.entries = spool_entries,
	.nentries = N(spool_entries),
	.finish = spool_finish,
};

static const char *const delivery_modes[] = { "per_recipient", "single", NULL };

static const struct config_entry delivery_entries[] = {
	{ .name = "maildir",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_delivery, maildir),
	  .def = "/var/mail/smexop",
	  .min = 1,
	  .doc = "Root of the built-in Maildir delivery: accepted domains that no outbound "
	         "connector serves." },
	{ .name = "mode",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_delivery, mode),
	  .def = "per_recipient",
	  .words = delivery_modes,
	  .doc = "per_recipient: MAILDIR/DOMAIN/LOCALPART/ per recipient; single: one catch-all "
	         "Maildir at MAILDIR." },
	{ .name = "interval",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_delivery, interval_ms),
	  .def = "10s",
	  .min = 100,
	  .max = 60 * 60 * 1000,
	  .doc = "Ignored since the queue manager (kept so that older files load): see "
	         "queue.scan_interval." },
};

static const struct config_schema delivery_schema = {
	.name = "delivery",
	.doc = "The built-in Maildir delivery, the queue manager's default for accepted "
	       "domains.",
	.size = sizeof(struct config_delivery),
	.entries = delivery_entries,
	.nentries = N(delivery_entries),
};

/* ---- queue and outbound connectors ---------------------------------- */

static int queue_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_queue *q = section;

	(void)cfg;
	if (q->retry_min_ms > q->retry_max_ms) {
		snprintf(msg, msgsize, "retry_min is longer than retry_max");
		return -1;
	}
	if (q->delay_warning_ms != 0 && q->delay_warning_ms >= q->lifetime_ms) {
		snprintf(msg, msgsize, "delay_warning must be shorter than lifetime");
		return -1;
	}
	return 0;
}

static const struct config_entry queue_entries[] = {
	{ .name = "lifetime",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_queue, lifetime_ms),
	  .def = "2d",
	  .min = 1000,
	  .max = 30ULL * 24 * 3600 * 1000,
	  .doc = "How long a deferred recipient is retried before it fails with a DSN to the "
	         "sender (EOP and Postfix: 2 days; RFC 5321 asks for 4-5 days at least)." },
	{ .name = "retry_min",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_queue, retry_min_ms),
	  .def = "5m",
	  .min = 100,
	  .max = 24ULL * 3600 * 1000,
	  .doc = "The wait after the first deferral; it doubles with every attempt." },
	{ .name = "retry_max",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_queue, retry_max_ms),
	  .def = "1h",
	  .min = 100,
	  .max = 24ULL * 3600 * 1000,
	  .doc = "The longest wait between two attempts (the doubling stops there; every wait "
	         "gets up to 10% of random jitter)." },
	{ .name = "delay_warning",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_queue, delay_warning_ms),
	  .def = "0",
	  .max = 30ULL * 24 * 3600 * 1000,
	  .doc = "Send a delay notice (RFC 3464 Action: delayed) when a recipient is still "
	         "deferred this long after arrival; 0: never." },
	{ .name = "max_concurrency",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_queue, max_concurrency),
	  .def = "100",
	  .min = 1,
	  .max = 10000,
	  .doc = "Deliveries in flight at once, all destinations together." },
	{ .name = "destination_concurrency",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_queue, destination_concurrency),
	  .def = "20",
	  .min = 1,
	  .max = 10000,
	  .doc = "Deliveries in flight at once to one destination (a connector, or a domain "
	         "delivered directly) unless the connector sets its own." },
	{ .name = "scan_interval",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_queue, scan_interval_ms),
	  .def = "1m",
	  .min = 100,
	  .max = 60 * 60 * 1000,
	  .doc = "How often the queue manager rescans queue/ for due retries and for entries "
	         "it was not told about (new mail is announced at once)." },
	{ .name = "direct_port",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_queue, direct_port),
	  .def = "25",
	  .min = 1,
	  .max = 65535,
	  .doc = "The port of direct delivery to MX hosts; only tests change it." },
};

static const struct config_schema queue_schema = {
	.name = "queue",
	.doc = "The queue manager: retries with back-off, DSNs, concurrency (`smexop queue`).",
	.size = sizeof(struct config_queue),
	.entries = queue_entries,
	.nentries = N(queue_entries),
	.finish = queue_finish,
};

/* outbound_host_ok - "host", "host:port", "[literal]" or "[literal]:port" */
static bool outbound_host_ok(const char *s)
{
	const char *p = s, *end;
	uint64_t port;

	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end == p + 1)
			return false;
		p = end + 1;
		if (*p == '\0')
			return true;
	} else {
		end = strrchr(p, ':');
		if (end == p)
			return false;
		if (end == NULL)
			return strchr(p, ' ') == NULL;
		p = end;
	}
	return *p == ':' && str_to_u64(p + 1, strlen(p + 1), 1, 65535, &port) == 0;
}

/* outbound_domain_ok - "example.com", "*.example.com" or "*" */
static bool outbound_domain_ok(const char *d)
{
	if (strcmp(d, "*") == 0)
		return true;
	if (d[0] == '*' && d[1] == '.')
		d += 2;
	return d[0] != '\0' && d[0] != '.' && strchr(d, '*') == NULL && strchr(d, '@') == NULL &&
	       strchr(d, ' ') == NULL;
}

static int outbound_connector_finish(struct smexop_config *cfg, void *section, char *msg,
                                     size_t msgsize)
{
	struct config_outbound_connector *c = section;
	size_t i;

	(void)cfg;
	if (c->name == NULL) {
		snprintf(msg, msgsize, "name is required");
		return -1;
	}
	if (c->domains.n == 0) {
		snprintf(msg, msgsize, "domains: at least one (\"*\" for every domain)");
		return -1;
	}
	for (i = 0; i < c->domains.n; i++) {
		if (!outbound_domain_ok(c->domains.v[i])) {
			snprintf(msg, msgsize, "domains: '%s' is not a domain, *.domain or *",
			         c->domains.v[i]);
			return -1;
		}
		str_lower_inplace((char *)c->domains.v[i]);
	}
	for (i = 0; i < c->smart_hosts.n; i++)
		if (!outbound_host_ok(c->smart_hosts.v[i])) {
			snprintf(msg, msgsize, "smart_hosts: '%s' is not host[:port]",
			         c->smart_hosts.v[i]);
			return -1;
		}
	if (c->type == CONFIG_OUTBOUND_LMTP && c->smart_hosts.n == 0) {
		snprintf(msg, msgsize, "an lmtp connector needs smart_hosts");
		return -1;
	}
	if (c->type == CONFIG_OUTBOUND_MAILDIR && c->smart_hosts.n > 0) {
		snprintf(msg, msgsize, "a maildir connector has no smart_hosts");
		return -1;
	}
	if (c->maildir != NULL && c->type != CONFIG_OUTBOUND_MAILDIR) {
		snprintf(msg, msgsize, "maildir is only for type maildir");
		return -1;
	}
	return 0;
}

static const char *const outbound_types[] = { "smtp", "lmtp", "maildir", NULL };
static const char *const outbound_tls_modes[] = { "none", "opportunistic", "required", "verify",
	                                          NULL };

static const struct config_entry outbound_domain_item = {
	.name = "domain",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 255,
};

static const struct config_entry outbound_host_item = {
	.name = "host",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 262,
};

static const struct config_entry outbound_connector_entries[] = {
	{ .name = "name",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_outbound_connector, name),
	  .def_doc = "required",
	  .min = 1,
	  .max = 64,
	  .doc = "The connector's name, in logs, the message trace and `smexop queue list`." },
	{ .name = "domains",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_outbound_connector, domains),
	  .def = "[]",
	  .max = 1000,
	  .item = &outbound_domain_item,
	  .doc = "Recipient domains it serves: `example.com`, `*.example.com` (subdomains "
	         "only) or `*` (every domain); the first connector that matches wins." },
	{ .name = "type",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_outbound_connector, type),
	  .def = "smtp",
	  .words = outbound_types,
	  .doc = "smtp (smart hosts, or MX lookup without them), lmtp (RFC 2033, smart hosts "
	         "required) or maildir (local Maildirs, as delivery.mode says)." },
	{ .name = "smart_hosts",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_outbound_connector, smart_hosts),
	  .def = "[]",
	  .max = 16,
	  .item = &outbound_host_item,
	  .doc = "host[:port] or [address]:port, tried in order; empty: the recipient domain's "
	         "MX hosts (port 25; LMTP defaults to 24)." },
	{ .name = "tls",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_outbound_connector, tls),
	  .def = "opportunistic",
	  .words = outbound_tls_modes,
	  .doc = "none; opportunistic (STARTTLS when offered); required (STARTTLS or defer); "
	         "verify (a certificate valid for the host name). DANE and MTA-STS come first "
	         "for MX delivery." },
	{ .name = "maildir",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_outbound_connector, maildir),
	  .def_doc = "delivery.maildir",
	  .min = 1,
	  .doc = "type maildir: the Maildir root." },
	{ .name = "max_concurrency",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_outbound_connector, max_concurrency),
	  .def = "0",
	  .max = 10000,
	  .doc = "Deliveries in flight at once through this connector; 0: "
	         "queue.destination_concurrency." },
};

static const struct config_schema outbound_connector_schema = {
	.name = "outbound_connector",
	.doc = "one outbound connector",
	.size = sizeof(struct config_outbound_connector),
	.entries = outbound_connector_entries,
	.nentries = N(outbound_connector_entries),
	.finish = outbound_connector_finish,
};

static const struct config_entry quarantine_entries[] = {
	{ .name = "retention",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_quarantine, retention_ms),
	  .def = "30d",
	  .min = 60 * 60 * 1000,
	  .max = 3650ULL * 24 * 60 * 60 * 1000,
	  .doc = "How long a quarantined message is kept before `smexop quarantine expire` "
	         "removes it (EOP: 30 days)." },
};

static const struct config_schema quarantine_schema = {
	.name = "quarantine",
	.doc = "Quarantined messages (`smexop quarantine list|show|release|delete|expire`).",
	.size = sizeof(struct config_quarantine),
	.entries = quarantine_entries,
	.nentries = N(quarantine_entries),
};

/* ---- dmarc_reports -------------------------------------------------- */

static int dmarc_reports_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_dmarc_reports *d = section;

	if (d->org_name == NULL)
		d->org_name = cfg->server.hostname;
	(void)msg;
	(void)msgsize;
	if (d->email == NULL) {
		snprintf(d->email_default, sizeof(d->email_default), "noreply-dmarc@%s",
		         cfg->server.hostname);
		d->email = d->email_default;
	}
	return 0;
}

/* ---- mta_sts ---------------------------------------------------------- */

static const struct config_entry mta_sts_entries[] = {
	{ .name = "enabled",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_mta_sts, enabled),
	  .def = "true",
	  .doc = "Apply the MTA-STS policies of recipient domains when delivering to their MX "
	         "hosts (DANE goes first where it applies); see docs/mta-sts.md." },
	{ .name = "ca_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_mta_sts, ca_file),
	  .def_doc = "none (the system trust store)",
	  .doc = "PEM file of the CAs trusted for policy hosts (mta-sts.<domain>)." },
	{ .name = "fetch_timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_mta_sts, fetch_timeout_ms),
	  .def = "30s",
	  .min = 1000,
	  .max = 5 * 60 * 1000,
	  .doc = "How long one policy fetch may take, from the address lookup to the last "
	         "byte." },
	{ .name = "port",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_mta_sts, port),
	  .def = "443",
	  .min = 1,
	  .max = 65535,
	  .doc = "The HTTPS port of policy hosts: 443 (RFC 8461); only tests change it." },
	{ .name = "refresh_margin",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_mta_sts, refresh_margin_ms),
	  .def = "1d",
	  .min = 60 * 1000,
	  .max = 31557600000ULL,
	  .doc = "Cached policies that expire within this time are fetched again by the "
	         "queue manager's refresh timer." },
};

static const struct config_schema mta_sts_schema = {
	.name = "mta_sts",
	.doc = "MTA-STS (RFC 8461): policy discovery, fetch and cache for direct delivery.",
	.size = sizeof(struct config_mta_sts),
	.entries = mta_sts_entries,
	.nentries = N(mta_sts_entries),
};

static const struct config_entry dmarc_reports_entries[] = {
	{ .name = "enabled",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_dmarc_reports, enabled),
	  .def = "false",
	  .doc = "The queue manager sends the aggregate reports of each ended interval to the "
	         "rua of the policy domains (report_schedule); messages are recorded either "
	         "way, for `smexop dmarc report`." },
	{ .name = "org_name",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dmarc_reports, org_name),
	  .def_doc = "server.hostname",
	  .min = 1,
	  .max = 200,
	  .doc = "The reporting organisation named in aggregate reports (report_metadata "
	         "org_name)." },
	{ .name = "email",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dmarc_reports, email),
	  .def_doc = "noreply-dmarc@ followed by server.hostname",
	  .min = 3,
	  .max = 254,
	  .doc = "The address reports come from (report_metadata email and From); its domain "
	         "is the receiver part of report file names." },
	{ .name = "extra_contact_info",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dmarc_reports, extra_contact_info),
	  .def_doc = "none",
	  .max = 500,
	  .doc = "Further contact details for report recipients (a URL or a phone number)." },
	{ .name = "interval",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_dmarc_reports, interval_ms),
	  .def = "1d",
	  .min = 60 * 60 * 1000,
	  .max = 7 * 24 * 60 * 60 * 1000ULL,
	  .doc = "The period one aggregate report covers, in whole multiples from the epoch "
	         "(for 1d: UTC midnight to midnight; RFC 7489 7.2 asks for daily reports at "
	         "least)." },
	{ .name = "max_report_size",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct config_dmarc_reports, max_report_size),
	  .def = "10M",
	  .min = 1024,
	  .max = 1024 * 1024 * 1024,
	  .doc = "Largest report message sent whatever rua= allows; a larger one is not sent." },
	{ .name = "failure_reports",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_dmarc_reports, failure_reports),
	  .def = "false",
	  .doc = "Send failure reports (ruf=, RFC 6591) at all; off by default because they "
	         "carry other people's message headers." },
	{ .name = "failure_include_body",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_dmarc_reports, failure_include_body),
	  .def = "false",
	  .doc = "Put the whole failed message in a failure report instead of its header "
	         "section only." },
	{ .name = "max_import_size",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct config_dmarc_reports, max_import_size),
	  .def = "64M",
	  .min = 64 * 1024,
	  .max = 1024 * 1024 * 1024,
	  .doc = "Largest report `smexop dmarc import` reads after decompression (gzip and "
	         "zip bombs stop there)." },
};

static const struct config_schema dmarc_reports_schema = {
	.name = "dmarc_reports",
	.doc = "DMARC aggregate and failure reports we send as a receiver (RFC 7489 7) and "
	       "import as a domain owner.",
	.size = sizeof(struct config_dmarc_reports),
	.entries = dmarc_reports_entries,
	.nentries = N(dmarc_reports_entries),
	.finish = dmarc_reports_finish,
};

/* ---- tls_reports ----------------------------------------------------- */

static int tls_reports_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_tls_reports *t = section;

	if (t->org_name == NULL)
		t->org_name = cfg->server.hostname;
	if (t->email == NULL) {
		snprintf(t->email_default, sizeof(t->email_default), "noreply-tlsrpt@%s",
		         cfg->server.hostname);
		t->email = t->email_default;
	}
	if (t->interval_ms % (24 * 60 * 60 * 1000ULL) != 0) {
		snprintf(msg, msgsize, "tls_reports.interval: whole days only (RFC 8460 4.1)");
		return -1;
	}
	return 0;
}

static const struct config_entry tls_reports_entries[] = {
	{ .name = "enabled",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_tls_reports, enabled),
	  .def = "false",
	  .doc = "Record the outcome of every outbound TLS session (per day and policy, not per "
	         "message) and send daily reports to the rua of each recipient domain's "
	         "_smtp._tls record." },
	{ .name = "org_name",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_tls_reports, org_name),
	  .def_doc = "server.hostname",
	  .min = 1,
	  .max = 200,
	  .doc = "The reporting organisation (organization-name in the report)." },
	{ .name = "email",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_tls_reports, email),
	  .def_doc = "noreply-tlsrpt@ followed by server.hostname",
	  .min = 3,
	  .max = 254,
	  .doc = "The address reports come from (contact-info and From)." },
	{ .name = "submitter",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_tls_reports, submitter),
	  .def_doc = "the domain of email",
	  .min = 1,
	  .max = 253,
	  .doc = "The submitter domain: TLS-Report-Submitter, the Subject and the first part "
	         "of report file names." },
	{ .name = "interval",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_tls_reports, interval_ms),
	  .def = "1d",
	  .min = 24 * 60 * 60 * 1000ULL,
	  .max = 7 * 24 * 60 * 60 * 1000ULL,
	  .doc = "The period one report covers, in whole UTC days from the epoch (RFC 8460 asks "
	         "for daily reports)." },
	{ .name = "max_import_size",
	  .type = CONFIG_SIZE,
	  .offset = offsetof(struct config_tls_reports, max_import_size),
	  .def = "16M",
	  .min = 64 * 1024,
	  .max = 1024 * 1024 * 1024,
	  .doc = "Largest report `smexop tlsrpt import` reads after decompression (gzip bombs "
	         "stop there)." },
};

static const struct config_schema tls_reports_schema = {
	.name = "tls_reports",
	.doc = "TLS-RPT (RFC 8460): daily reports on our outbound TLS sessions, and the reports "
	       "other senders send about our domains.",
	.size = sizeof(struct config_tls_reports),
	.entries = tls_reports_entries,
	.nentries = N(tls_reports_entries),
	.finish = tls_reports_finish,
};

/* ---- report_schedule ------------------------------------------------ */

static const struct config_entry report_schedule_entries[] = {
	{ .name = "check_interval",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_report_schedule, check_interval_ms),
	  .def = "1h",
	  .min = 1000,
	  .max = 24 * 60 * 60 * 1000ULL,
	  .doc = "How often the queue manager looks for due DMARC and TLS-RPT reports and "
	         "retries pending destinations; a round also runs just after each reporting "
	         "interval ends." },
	{ .name = "start_delay",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_report_schedule, start_delay_ms),
	  .def = "30s",
	  .min = 0,
	  .max = 60 * 60 * 1000ULL,
	  .doc = "The first round after the queue manager starts (reports of intervals that "
	         "ended while it was down)." },
	{ .name = "job_timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_report_schedule, job_timeout_ms),
	  .def = "10m",
	  .min = 1000,
	  .max = 24 * 60 * 60 * 1000ULL,
	  .doc = "A report run (`smexop dmarc|tlsrpt report --queue`) taking longer is "
	         "killed; the next round takes it up again." },
};

static const struct config_schema report_schedule_schema = {
	.name = "report_schedule",
	.doc = "The report scheduler of the queue manager: when dmarc_reports.enabled or "
	       "tls_reports.enabled, it runs `smexop dmarc report --queue` and `smexop tlsrpt "
	       "report --queue` as child processes (docs/dmarc-reports.md).",
	.size = sizeof(struct config_report_schedule),
	.entries = report_schedule_entries,
	.nentries = N(report_schedule_entries),
};

/* ---- perimeter: connection filter, reputation, domains, directory --- */

/* filter_cidr_ok - the first word of s is ADDR or ADDR/PREFIX (the syntax
 * of filter/iplist.h; host bits are only warned about there) */
static bool filter_cidr_ok(const char *s)
{
	size_t n = strcspn(s, " \t#"), alen;
	const char *slash = memchr(s, '/', n);
	struct net_addr a;
	uint64_t p;

	alen = slash ? (size_t)(slash - s) : n;
	if (net_addr_parse_n(s, alen, &a) < 0)
		return false;
	if (slash == NULL)
		return true;
	if (str_to_u64(slash + 1, n - alen - 1, 0, 128, &p) < 0)
		return false;
	if (memchr(s, ':', alen) != NULL && a.family == AF_INET)
		return p >= 96;
	return p <= net_addr_bits(&a);
}

static int filter_cidr_list_ok(const char *const *v, size_t n, const char *name, char *msg,
                               size_t msgsize)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!filter_cidr_ok(v[i])) {
			snprintf(msg, msgsize,
			         "%s[%zu]: '%.60s' is not an IP address or CIDR prefix", name, i,
			         v[i]);
			return -1;
		}
	return 0;
}

static int connection_filter_finish(struct smexop_config *cfg, void *section, char *msg,
                                    size_t msgsize)
{
	struct config_connection_filter *c = section;

	(void)cfg;
	if (filter_cidr_list_ok(c->ip_allow.v, c->ip_allow.n, "ip_allow", msg, msgsize) < 0 ||
	    filter_cidr_list_ok(c->ip_block.v, c->ip_block.n, "ip_block", msg, msgsize) < 0)
		return -1;
	return 0;
}

static const struct config_entry filter_ip_item = {
	.name = "entry",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 300,
};

static const struct config_entry connection_filter_entries[] = {
	{ .name = "ip_allow",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_connection_filter, ip_allow),
	  .def = "[]",
	  .max = 100000,
	  .item = &filter_ip_item,
	  .doc = "IP Allow List: \"ADDR[/PREFIX] [label]\", IPv4 or IPv6, any prefix length; "
	         "mail from these skips spam filtering (SCL -1, IPV:CAL) but not malware "
	         "scanning. Wins over the block list, as in EOP." },
	{ .name = "ip_block",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_connection_filter, ip_block),
	  .def = "[]",
	  .max = 100000,
	  .item = &filter_ip_item,
	  .doc = "IP Block List, same syntax: connections are refused with `550 5.7.1 Service "
	         "unavailable; Client host [IP] blocked using Customer Block list`." },
	{ .name = "ip_allow_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_connection_filter, ip_allow_file),
	  .def_doc = "none",
	  .doc = "More allow entries, one per line (`#` comments); added to ip_allow." },
	{ .name = "ip_block_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_connection_filter, ip_block_file),
	  .def_doc = "none",
	  .doc = "More block entries, one per line (`#` comments); added to ip_block." },
	{ .name = "safe_list",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_connection_filter, safe_list),
	  .def = "false",
	  .doc = "Use the safe list (EOP's EnableSafeList): senders in safe_list_file are "
	         "treated like the allow list." },
	{ .name = "safe_list_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_connection_filter, safe_list_file),
	  .def_doc = "none",
	  .doc = "The trusted senders of the safe list (the part Microsoft curates in EOP), one "
	         "entry per line; read only when safe_list is true." },
	{ .name = "max_connections_per_ip",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_connection_filter, max_connections_per_ip),
	  .def = "0",
	  .min = 0,
	  .max = 100000,
	  .doc = "Concurrent connections from one IPv4 address or IPv6 /64 before new ones get "
	         "421; 0: no limit. The allow and safe lists are exempt." },
	{ .name = "max_connection_rate",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_connection_filter, max_connection_rate),
	  .def = "0",
	  .min = 0,
	  .max = 1000000,
	  .doc = "New connections per minute from one IPv4 address or IPv6 /64 before new "
	         "ones get 421; 0: no limit." },
};

static const struct config_schema connection_filter_schema = {
	.name = "connection_filter",
	.doc = "Stage 1: IP allow, block and safe lists and per-IP connection limits (EOP's "
	       "connection filter policy).",
	.size = sizeof(struct config_connection_filter),
	.entries = connection_filter_entries,
	.nentries = N(connection_filter_entries),
	.finish = connection_filter_finish,
};

/* dnsbl_code_ok - "127.0.0.2", "127.0.0.2-127.0.0.11", each optionally
 * followed by a space and a meaning */
static bool dnsbl_code_ok(const char *s)
{
	size_t n = strcspn(s, " \t"), alen;
	const char *dash = memchr(s, '-', n);
	struct net_addr a, b;

	alen = dash ? (size_t)(dash - s) : n;
	if (net_addr_parse_n(s, alen, &a) < 0 || a.family != AF_INET)
		return false;
	if (dash == NULL)
		return true;
	if (net_addr_parse_n(dash + 1, n - alen - 1, &b) < 0 || b.family != AF_INET)
		return false;
	return memcmp(a.bytes, b.bytes, 4) <= 0;
}

static int dnsbl_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_dnsbl *d = section;
	size_t i;

	(void)cfg;
	if (d->zone == NULL) {
		snprintf(msg, msgsize, "zone is required");
		return -1;
	}
	if (dns_name_check(d->zone) < 0) {
		snprintf(msg, msgsize, "zone: not a domain name");
		return -1;
	}
	str_lower_inplace((char *)d->zone);
	for (i = 0; i < d->codes.n; i++)
		if (!dnsbl_code_ok(d->codes.v[i])) {
			snprintf(msg, msgsize,
			         "codes[%zu]: '%.60s' is not \"127.0.0.N[-127.0.0.M] [meaning]\"",
			         i, d->codes.v[i]);
			return -1;
		}
	return 0;
}

static const struct config_entry dnsbl_code_item = {
	.name = "code",
	.type = CONFIG_STRING,
	.min = 7,
	.max = 200,
};

static const struct config_entry dnsbl_entries[] = {
	{ .name = "zone",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_dnsbl, zone),
	  .def_doc = "required",
	  .min = 1,
	  .max = 200,
	  .doc = "The DNSBL zone, e.g. zen.spamhaus.org; IPv6 clients are asked in reverse "
	         "nibbles." },
	{ .name = "codes",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_dnsbl, codes),
	  .def = "[]",
	  .max = 64,
	  .item = &dnsbl_code_item,
	  .doc = "The answers that count as listed: \"127.0.0.2\" or \"127.0.0.2-127.0.0.11\", "
	         "each optionally followed by its meaning (\"127.0.0.4-127.0.0.7 XBL\"); empty: "
	         "any 127.0.0.0/8 answer. 127.255.255.0/24 is always an error answer (query "
	         "refused, open resolver) and never a listing." },
	{ .name = "weight",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_dnsbl, weight),
	  .def = "1",
	  .min = 0,
	  .max = 1000,
	  .doc = "What a listing in this zone adds to the total compared with the threshold." },
};

static const struct config_schema dnsbl_schema = {
	.name = "dnsbl",
	.doc = "one DNSBL zone",
	.size = sizeof(struct config_dnsbl),
	.entries = dnsbl_entries,
	.nentries = N(dnsbl_entries),
	.finish = dnsbl_finish,
};

static const struct config_entry reputation_entries[] = {
	{ .name = "block_file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_reputation, block_file),
	  .def_doc = "none",
	  .doc = "A local reputation block list, one \"ADDR[/PREFIX] [label]\" per line; a "
	         "listed client is refused with `550 5.7.606 Access denied, banned sending IP "
	         "[IP]` without any DNSBL query." },
	{ .name = "dnsbl",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct config_reputation, dnsbl),
	  .def = "[]",
	  .max = 32,
	  .child = &dnsbl_schema,
	  .unique = "zone",
	  .doc = "DNS block lists, all asked at once; a timeout or an error answer counts as "
	         "not listed and is logged." },
	{ .name = "threshold",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_reputation, threshold),
	  .def = "1",
	  .min = 1,
	  .max = 100000,
	  .doc = "Block (5.7.606) when the weights of the zones listing the client add up to "
	         "at least this." },
	{ .name = "timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_reputation, timeout_ms),
	  .def = "8s",
	  .min = 100,
	  .max = 60 * 1000,
	  .doc = "How long all DNSBL queries of one connection may take together; zones not "
	         "answered by then count as not listed." },
};

static const struct config_schema reputation_schema = {
	.name = "reputation",
	.doc = "Stage 1: reputation block from a local list and DNSBL zones.",
	.size = sizeof(struct config_reputation),
	.entries = reputation_entries,
	.nentries = N(reputation_entries),
};

static const char *const accepted_domain_types[] = { "authoritative", "internal_relay", NULL };

static int accepted_domain_finish(struct smexop_config *cfg, void *section, char *msg,
                                  size_t msgsize)
{
	struct config_accepted_domain *d = section;

	(void)cfg;
	if (d->domain == NULL) {
		snprintf(msg, msgsize, "domain is required");
		return -1;
	}
	if (dns_name_check(d->domain) < 0 || strchr(d->domain, '@') != NULL) {
		snprintf(msg, msgsize, "domain: not a domain name");
		return -1;
	}
	str_lower_inplace((char *)d->domain);
	return 0;
}

static const struct config_entry accepted_domain_entries[] = {
	{ .name = "domain",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_accepted_domain, domain),
	  .def_doc = "required",
	  .min = 1,
	  .max = 253,
	  .doc = "A domain this gateway receives mail for." },
	{ .name = "type",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_accepted_domain, type),
	  .def = "authoritative",
	  .words = accepted_domain_types,
	  .doc = "authoritative: every recipient is in the directory, unknown ones get `550 "
	         "5.4.1 Recipient address rejected: Access denied` (edge blocking); "
	         "internal_relay: unknown recipients are passed on (migrations, shared domains)." },
	{ .name = "subdomains",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_accepted_domain, subdomains),
	  .def = "false",
	  .doc = "Accept mail for all subdomains too (EOP's MatchSubDomains); a subdomain "
	         "listed on its own wins." },
};

static const struct config_schema accepted_domain_schema = {
	.name = "accepted_domain",
	.doc = "one accepted domain",
	.size = sizeof(struct config_accepted_domain),
	.entries = accepted_domain_entries,
	.nentries = N(accepted_domain_entries),
	.finish = accepted_domain_finish,
};

static int directory_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_directory *d = section;
	const char *p;

	(void)cfg;
	for (p = d->subaddress_separator; p != NULL && *p != '\0'; p++)
		if (*p == '@' || *p == '"' || *p == '\\' || (unsigned char)*p <= ' ' ||
		    (unsigned char)*p >= 0x7f) {
			snprintf(msg, msgsize,
			         "subaddress_separator: '%c' cannot separate a "
			         "sub-address",
			         *p);
			return -1;
		}
	return 0;
}

static const struct config_entry directory_entries[] = {
	{ .name = "file",
	  .type = CONFIG_PATH,
	  .offset = offsetof(struct config_directory, file),
	  .def_doc = "none (no edge blocking)",
	  .doc = "The recipients of the authoritative domains, one per line: "
	         "\"user@example.com\", \"alias@example.com: user@example.com\", or "
	         "\"@example.com\" (catch-all: every address of the domain exists)." },
	{ .name = "subaddress_separator",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_directory, subaddress_separator),
	  .def = "+",
	  .min = 0,
	  .max = 8,
	  .doc = "Characters that start a sub-address (user+tag@ is user@); several mean any "
	         "of them (\"+-\"), \"\" turns sub-addressing off." },
	{ .name = "case_sensitive_local",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_directory, case_sensitive_local),
	  .def = "false",
	  .doc = "Compare local parts case-sensitively (RFC 5321 allows it; almost no mailbox "
	         "server does it). Domains are always case-insensitive." },
	{ .name = "store_refresh",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct config_directory, store_refresh_ms),
	  .def = "5s",
	  .max = 3600 * 1000,
	  .doc = "The store also holds recipients (`smexop directory add|remove|import`); a "
	         "running gateway checks the table's change counter this often (one row read; "
	         "0: at every RCPT) and reloads its in-memory copy when it changed." },
};

static const struct config_schema directory_schema = {
	.name = "directory",
	.doc = "Stage 2: Directory Based Edge Blocking.",
	.size = sizeof(struct config_directory),
	.entries = directory_entries,
	.nentries = N(directory_entries),
	.finish = directory_finish,
};

/* ---- anti_phishing -------------------------------------------------- */

static const char *const ap_reject_words[] = { "reject", "quarantine", "junk", NULL };
static const char *const ap_quarantine_words[] = { "quarantine", "junk", NULL };
static const char *const ap_spoof_words[] = { "junk", "quarantine", "deliver", NULL };

static const struct config_entry anti_phishing_entries[] = {
	{ .name = "honor_dmarc_policy",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_anti_phishing, honor_dmarc_policy),
	  .def = "true",
	  .doc = "Act on the sender's DMARC policy when DMARC fails (EOP's HonorDmarcPolicy, on "
	         "since 2023): p=reject and p=quarantine take the actions below; off, a DMARC "
	         "failure is treated as spoofing and the reply says action=oreject." },
	{ .name = "dmarc_reject_action",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_anti_phishing, dmarc_reject_action),
	  .def = "reject",
	  .words = ap_reject_words,
	  .doc = "What a DMARC failure under p=reject gets: refused at the end of DATA with 550 "
	         "5.7.509, or kept in quarantine, or delivered to the Junk folder." },
	{ .name = "dmarc_quarantine_action",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_anti_phishing, dmarc_quarantine_action),
	  .def = "quarantine",
	  .words = ap_quarantine_words,
	  .doc = "What a DMARC failure under p=quarantine gets: quarantine, or the Junk folder." },
	{ .name = "spoof_intelligence",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_anti_phishing, spoof_intelligence),
	  .def = "true",
	  .doc = "Act on composite authentication failures (compauth=fail) that DMARC does not "
	         "settle: unauthenticated senders using a From domain they do not own." },
	{ .name = "spoof_action",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_anti_phishing, spoof_action),
	  .def = "junk",
	  .words = ap_spoof_words,
	  .doc = "What a spoofed message (compauth=fail) gets: the Junk folder (EOP's default), "
	         "quarantine (EOP's Strict preset), or delivered with the verdict in headers." },
};

static const struct config_schema anti_phishing_schema = {
	.name = "anti_phishing",
	.doc = "Anti-phishing policy: spoof protection and how DMARC policies are honoured.",
	.size = sizeof(struct config_anti_phishing),
	.entries = anti_phishing_entries,
	.nentries = N(anti_phishing_entries),
};

/* ---- inbound connectors and the outbound spam policy ------------------ */

static const char *const connector_types[] = { "partner", "on_premises", NULL };

/* connector_cert_name_ok - a DNS name, or "*." followed by one */
static bool connector_cert_name_ok(const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	return dns_name_check(s) == 0 && strchr(s, '*') == NULL;
}

static int connector_finish(struct smexop_config *cfg, void *section, char *msg, size_t msgsize)
{
	struct config_inbound_connector *c = section;
	size_t i;

	(void)cfg;
	if (c->name == NULL) {
		snprintf(msg, msgsize, "name is required");
		return -1;
	}
	if (c->sender_ip_ranges.n == 0 && c->tls_cert_names.n == 0) {
		snprintf(msg, msgsize,
		         "connector %s: sender_ip_ranges or tls_cert_names is required (it "
		         "would match nobody)",
		         c->name);
		return -1;
	}
	if (filter_cidr_list_ok(c->sender_ip_ranges.v, c->sender_ip_ranges.n, "sender_ip_ranges",
	                        msg, msgsize) < 0)
		return -1;
	for (i = 0; i < c->tls_cert_names.n; i++) {
		if (!connector_cert_name_ok(c->tls_cert_names.v[i])) {
			snprintf(msg, msgsize,
			         "tls_cert_names[%zu]: '%.60s' is not a host name or *.domain", i,
			         c->tls_cert_names.v[i]);
			return -1;
		}
		str_lower_inplace((char *)c->tls_cert_names.v[i]);
	}
	return 0;
}

static const struct config_entry connector_name_item = {
	.name = "name",
	.type = CONFIG_STRING,
	.min = 1,
	.max = 253,
};

static const struct config_entry connector_entries[] = {
	{ .name = "name",
	  .type = CONFIG_STRING,
	  .offset = offsetof(struct config_inbound_connector, name),
	  .def_doc = "required",
	  .min = 1,
	  .max = 64,
	  .doc = "The connector's name, in logs, the trace and the spool's G record." },
	{ .name = "type",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_inbound_connector, type),
	  .def = "partner",
	  .words = connector_types,
	  .doc = "partner (another organisation) or on_premises (your own mail servers); "
	         "informational, the settings below decide." },
	{ .name = "enabled",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_inbound_connector, enabled),
	  .def = "true",
	  .doc = "A disabled connector matches nobody." },
	{ .name = "sender_ip_ranges",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_inbound_connector, sender_ip_ranges),
	  .def = "[]",
	  .max = 10000,
	  .item = &filter_ip_item,
	  .doc = "Client addresses, \"ADDR[/PREFIX] [label]\": with no tls_cert_names the "
	         "connector matches at connect; with both, both must match (after STARTTLS)." },
	{ .name = "tls_cert_names",
	  .type = CONFIG_LIST,
	  .offset = offsetof(struct config_inbound_connector, tls_cert_names),
	  .def = "[]",
	  .max = 100,
	  .item = &connector_name_item,
	  .doc = "Names of the client certificate (subject CN or a DNS subjectAltName, verified "
	         "against tls.client_ca_file); \"*.example.com\" matches one label. Matched "
	         "after STARTTLS." },
	{ .name = "require_tls",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_inbound_connector, require_tls),
	  .def = "false",
	  .doc = "Mail through this connector must use TLS: MAIL FROM before STARTTLS gets `530 "
	         "5.7.0 Must issue a STARTTLS command first` (RFC 3207)." },
	{ .name = "trusted",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_inbound_connector, trusted),
	  .def = "false",
	  .doc = "Skip the inbound filters (IP block list, reputation, edge blocking, "
	         "authentication verdicts, spoof actions) as EOP does for on-premises mail." },
	{ .name = "relay",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct config_inbound_connector, relay),
	  .def = "false",
	  .doc = "May send to domains that are not accepted: that mail is outbound (DKIM-signed, "
	         "counted against outbound_spam). Without it such a recipient gets `550 5.7.54 "
	         "SMTP; Unable to relay recipient in non-accepted domain`." },
};

static const struct config_schema connector_schema = {
	.name = "inbound_connector",
	.doc = "one inbound connector",
	.size = sizeof(struct config_inbound_connector),
	.entries = connector_entries,
	.nentries = N(connector_entries),
	.finish = connector_finish,
};

static const char *const outbound_action_words[] = { "block_today", "restrict", "alert", NULL };

static const struct config_entry outbound_spam_entries[] = {
	{ .name = "external_per_hour",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_outbound_spam, external_per_hour),
	  .def = "500",
	  .max = 10000000,
	  .doc = "Recipients outside the accepted domains one sender may send to per clock hour "
	         "(EOP Standard: 500; Strict: 400); 0: no limit." },
	{ .name = "internal_per_hour",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_outbound_spam, internal_per_hour),
	  .def = "1000",
	  .max = 10000000,
	  .doc = "Recipients in the accepted domains per clock hour, counted for mail from "
	         "relay connectors (EOP Standard: 1000; Strict: 800); 0: no limit." },
	{ .name = "per_day",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct config_outbound_spam, per_day),
	  .def = "1000",
	  .max = 10000000,
	  .doc = "All recipients per UTC day (EOP Standard: 1000; Strict: 800); 0: no limit." },
	{ .name = "action",
	  .type = CONFIG_ENUM,
	  .offset = offsetof(struct config_outbound_spam, action),
	  .def = "block_today",
	  .words = outbound_action_words,
	  .doc = "When a limit is exceeded: block_today (EOP's default BlockUserForToday: "
	         "refused until the next UTC day), restrict (BlockUser: refused until `smexop "
	         "restricted release`), alert (log, trace and an alert line; mail goes on). "
	         "Blocked senders get `550 5.1.8 Access denied, bad outbound sender`." },
};

static const struct config_schema outbound_spam_schema = {
	.name = "outbound_spam",
	.doc = "Outbound spam policy: recipient limits per sender for mail from relay connectors.",
	.size = sizeof(struct config_outbound_spam),
	.entries = outbound_spam_entries,
	.nentries = N(outbound_spam_entries),
};

/* ---- the root ------------------------------------------------------- */

#define SECTION(member, schema)                                                                    \
	{                                                                                          \
		.name = #member, .type = CONFIG_SECTION,                                           \
		.offset = offsetof(struct smexop_config, member), .child = &(schema), .doc = NULL  \
	}

static const struct config_entry root_entries[] = {
	SECTION(server, server_schema),
	SECTION(log, log_schema),
	SECTION(dns, dns_schema),
	SECTION(spf, spf_schema),
	SECTION(limits, limits_schema),
	{ .name = "listeners",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct smexop_config, listeners),
	  .def = "[{}]",
	  .max = 64,
	  .child = &listener_schema,
	  .doc = "The SMTP listening sockets; by default one on port 25 with STARTTLS." },
	SECTION(tls, tls_schema),
	SECTION(store, store_schema),
	SECTION(spool, spool_schema),
	SECTION(delivery, delivery_schema),
	SECTION(queue, queue_schema),
	{ .name = "outbound_connectors",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct smexop_config, outbound_connectors),
	  .def = "[]",
	  .max = 1000,
	  .child = &outbound_connector_schema,
	  .unique = "name",
	  .doc = "Where accepted mail goes (EOP's outbound connectors), by recipient domain; "
	         "without a match, mail received for us (and relayed mail to an accepted "
	         "domain) goes to the built-in Maildir delivery, relayed mail to the MX hosts "
	         "of its domain." },
	SECTION(quarantine, quarantine_schema),
	SECTION(dmarc_reports, dmarc_reports_schema),
	SECTION(tls_reports, tls_reports_schema),
	SECTION(report_schedule, report_schedule_schema),
	SECTION(mta_sts, mta_sts_schema),
	SECTION(dkim, dkim_schema),
	SECTION(connection_filter, connection_filter_schema),
	SECTION(reputation, reputation_schema),
	{ .name = "accepted_domains",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct smexop_config, accepted_domains),
	  .def = "[]",
	  .max = 10000,
	  .child = &accepted_domain_schema,
	  .unique = "domain",
	  .doc = "The domains this gateway receives mail for (EOP's accepted domains); mail "
	         "to any other domain needs relay rights, else `550 5.7.54 SMTP; Unable to relay "
	         "recipient in non-accepted domain` (EOP's reply)." },
	SECTION(directory, directory_schema),
	SECTION(anti_phishing, anti_phishing_schema),
	{ .name = "inbound_connectors",
	  .type = CONFIG_OBJLIST,
	  .offset = offsetof(struct smexop_config, inbound_connectors),
	  .def = "[]",
	  .max = 1000,
	  .child = &connector_schema,
	  .unique = "name",
	  .doc = "Inbound connectors (EOP's): partners and your own servers, matched by IP range "
	         "and/or TLS certificate name; see docs/connectors.md." },
	SECTION(outbound_spam, outbound_spam_schema),
};

const struct config_schema config_schema_root = {
	.name = "",
	.doc = "smexop configuration",
	.size = sizeof(struct smexop_config),
	.entries = root_entries,
	.nentries = N(root_entries),
};
