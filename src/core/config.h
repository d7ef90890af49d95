/*
 * config - smexop's configuration: one YAML file, one schema table
 *
 * SUMMARY
 *	struct smexop_config *cfg = config_load(path, &diag);
 *	if (cfg == NULL) for each diag.errors[i]: print config_error_format(...)
 *	... cfg->dns.timeout_ms ...
 *	cfg = config_free(cfg);
 *
 * DESCRIPTION
 *	Every setting is described once, in a schema table (config_schema.c):
 *	name, type, default, min, max, offset into a C struct and a doc line.
 *	The same table drives the YAML parser, the `config check` messages,
 *	the YAML and JSON dumps and the Markdown reference (docs/config.md).
 *
 *	The defaults alone make a complete configuration: config_load(NULL)
 *	gives one, and a file overrides only what it says.  Lists (and lists
 *	of objects) given in the file replace the default list as a whole.
 *
 *	Adding a section means: one struct below, one member in struct
 *	smexop_config, one table in config_schema.c and one line in the root
 *	table there.  Nothing else.
 *
 *	Value storage, by type (the struct member must have this C type):
 *	  bool                 bool
 *	  int, size, duration  uint64_t (sizes in bytes, durations in ms)
 *	  string, path         const char *  (NULL when optional and unset)
 *	  enum                 int, the index in the entry's word list
 *	  ip                   const char *  (validated IPv4/IPv6 literal)
 *	  hostport             struct config_hostport
 *	  list                 CONFIG_LIST(T) with T the item's C type
 *	  section              the section's struct
 *	  objlist              CONFIG_LIST(struct of the child schema)
 *
 *	Ownership: the configuration and every string in it live in one
 *	arena, released by config_free().  A loaded configuration is
 *	read-only and can be shared by every worker of one generation.
 *
 * LIMITS
 *	Files larger than CONFIG_MAX_FILE are refused, at most
 *	CONFIG_MAX_NODES YAML nodes and CONFIG_MAX_DEPTH levels of nesting
 *	are read, and at most CONFIG_MAX_ERRORS errors are kept.
 *
 * DIAGNOSTICS
 *	Errors are kept in a struct config_diag, every one with a 1-based
 *	line and column of the offending key or value, and formatted as
 *	`file:line:col: message`.  YAML syntax errors come from libfyaml's
 *	diagnostics (collected, never printed by the library).
 */
#ifndef SMEXOP_CORE_CONFIG_H
#define SMEXOP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_FILE   (1024 * 1024)
#define CONFIG_MAX_NODES  100000
#define CONFIG_MAX_DEPTH  64
#define CONFIG_MAX_ERRORS 50
#define CONFIG_MAX_STRING 4096 /* string length when an entry sets no max */
#define CONFIG_MAX_ITEMS  1024 /* list length when an entry sets no max */

/* ---- value types ---------------------------------------------------- */

struct config_hostport {
	const char *host;
	unsigned port;
};

/* A list stored in a struct: v[0..n) */
#define CONFIG_LIST(T)                                                                             \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n;                                                                          \
	}

/* ---- the sections --------------------------------------------------- */

struct config_server {
	const char *hostname;
	const char *authserv_id;
	CONFIG_LIST(const char *) public_addresses; /* IP literals; for check-domain */
};

struct config_log {
	int level;  /* enum log_level */
	int target; /* enum log_target */
	CONFIG_LIST(const char *) debug;
};

struct config_dns {
	CONFIG_LIST(struct config_hostport) servers;
	const char *zone_file;
	uint64_t timeout_ms;
	bool dnssec;
	const char *trust_anchor;
};

struct config_spf {
	uint64_t max_dns_terms;
	uint64_t max_void_lookups;
	uint64_t max_mx_names;
	uint64_t max_ptr_names;
	uint64_t max_queries;
	uint64_t timeout_ms;
	const char *receiver;
};

struct config_limits {
	uint64_t line_length;
	uint64_t header_size;
	uint64_t mime_depth;
	uint64_t mime_parts;
	uint64_t max_connections;
};

enum config_tls { CONFIG_TLS_NONE, CONFIG_TLS_STARTTLS, CONFIG_TLS_IMPLICIT };

struct config_listener {
	const char *address;
	uint64_t port;
	int tls; /* enum config_tls */
	bool proxy_protocol;
};

/* the certificate of the SMTP listeners (STARTTLS and implicit TLS) */
struct config_tls_cert {
	const char *cert_file;      /* PEM chain; NULL: no TLS */
	const char *key_file;       /* PEM private key; NULL: in cert_file */
	const char *client_ca_file; /* CAs for client certificates; NULL: none asked */
};

enum config_dkim_alg { CONFIG_DKIM_RSA, CONFIG_DKIM_ED25519, CONFIG_DKIM_DUAL };

/* header/body canonicalization, in the order of the schema's words */
enum config_dkim_canon {
	CONFIG_DKIM_RELAXED_RELAXED,
	CONFIG_DKIM_RELAXED_SIMPLE,
	CONFIG_DKIM_SIMPLE_RELAXED,
	CONFIG_DKIM_SIMPLE_SIMPLE,
};

/* One signing domain (EOP's DkimSigningConfig).  Which of the two
 * selectors is active after a rotation is kept in a state file beside
 * the keys (auth/dkim_keys.h), not here. */
struct config_dkim_signing {
	const char *domain; /* lower case */
	bool enabled;
	const char *key_dir;
	int algorithm; /* enum config_dkim_alg */
	uint64_t rsa_bits;
	const char *selector;              /* active until the first rotation */
	const char *next_selector;         /* the other one */
	CONFIG_LIST(const char *) headers; /* empty: the signing engine's list */
	int canonicalization;              /* enum config_dkim_canon */
	uint64_t expire_ms;                /* x= = t= + this; 0: no x= */
};

struct config_dkim {
	CONFIG_LIST(struct config_dkim_signing) signing;
};

enum config_store_backend { CONFIG_STORE_SQLITE };

struct config_store {
	int backend; /* enum config_store_backend */
	const char *path;
	uint64_t busy_timeout_ms;
};

/* the message spool (transport/spool.h) */
struct config_spool {
	const char *dir;
	const char *node_id;
	char node_id_default[33]; /* holds the computed default of node_id */
};

enum config_delivery_mode { CONFIG_DELIVERY_PER_RECIPIENT, CONFIG_DELIVERY_SINGLE };

/* the built-in Maildir delivery (transport/maildir.h) */
struct config_delivery {
	const char *maildir;
	int mode; /* enum config_delivery_mode */
	uint64_t interval_ms;
};

/* the queue manager (transport/queue.h): lifetimes, back-off, concurrency */
struct config_queue {
	uint64_t lifetime_ms;
	uint64_t retry_min_ms;
	uint64_t retry_max_ms;
	uint64_t delay_warning_ms; /* 0: no delay notices */
	uint64_t max_concurrency;  /* deliveries at once, all destinations */
	uint64_t destination_concurrency;
	uint64_t scan_interval_ms;
	uint64_t direct_port; /* direct delivery (MX) port: 25; tests change it */
};

enum config_outbound_type { CONFIG_OUTBOUND_SMTP, CONFIG_OUTBOUND_LMTP, CONFIG_OUTBOUND_MAILDIR };
enum config_outbound_tls {
	CONFIG_OUTBOUND_TLS_NONE,
	CONFIG_OUTBOUND_TLS_OPPORTUNISTIC,
	CONFIG_OUTBOUND_TLS_REQUIRED,
	CONFIG_OUTBOUND_TLS_VERIFY,
};

/* one outbound connector (EOP's OutboundConnector): where mail for some
 * recipient domains goes */
struct config_outbound_connector {
	const char *name;
	CONFIG_LIST(const char *) domains;     /* "example.com", "*.example.com", "*" */
	int type;                              /* enum config_outbound_type */
	CONFIG_LIST(const char *) smart_hosts; /* "host", "host:port", "[ip]:port" */
	int tls;                               /* enum config_outbound_tls */
	const char *maildir;                   /* type maildir; NULL: delivery.maildir */
	uint64_t max_concurrency;              /* 0: queue.destination_concurrency */
};

struct config_quarantine {
	uint64_t retention_ms;
};

/* MTA-STS (RFC 8461) for direct delivery (transport/mtasts.h) */
struct config_mta_sts {
	bool enabled;
	const char *ca_file; /* trust store for policy hosts; NULL: the system's */
	uint64_t fetch_timeout_ms;
	uint64_t port; /* policy host port: 443; tests change it */
	uint64_t refresh_margin_ms;
};

struct config_dmarc_reports {
	bool enabled; /* the queue manager sends aggregate reports (report_sched.h) */
	const char *org_name;
	const char *email;
	const char *extra_contact_info;
	uint64_t interval_ms;
	uint64_t max_report_size;
	bool failure_reports;
	bool failure_include_body;
	uint64_t max_import_size;
	char email_default[300]; /* holds the computed default of email */
};

/* TLS-RPT (RFC 8460): the reports we send as a sending MTA and import
 * as a policy domain (report/tlsrpt.h) */
struct config_tls_reports {
	bool enabled;
	const char *org_name;
	const char *email;
	const char *submitter;
	uint64_t interval_ms;
	uint64_t max_import_size;
	char email_default[300]; /* holds the computed default of email */
};

/* the report scheduler of the queue manager (transport/report_sched.h) */
struct config_report_schedule {
	uint64_t check_interval_ms; /* a round at least this often */
	uint64_t start_delay_ms;    /* the first round after the manager starts */
	uint64_t job_timeout_ms;    /* a report run taking longer is killed */
};

/* anti-phishing policy (EOP's AntiPhishPolicy): the actions for DMARC
 * and spoof failures; the word lists restrict each to EOP's choices */
enum config_ap_dmarc_reject {
	CONFIG_AP_REJECT_REJECT,
	CONFIG_AP_REJECT_QUARANTINE,
	CONFIG_AP_REJECT_JUNK
};
enum config_ap_dmarc_quarantine { CONFIG_AP_QUARANTINE_QUARANTINE, CONFIG_AP_QUARANTINE_JUNK };
enum config_ap_spoof { CONFIG_AP_SPOOF_JUNK, CONFIG_AP_SPOOF_QUARANTINE, CONFIG_AP_SPOOF_DELIVER };

struct config_anti_phishing {
	bool honor_dmarc_policy;
	int dmarc_reject_action;     /* enum config_ap_dmarc_reject */
	int dmarc_quarantine_action; /* enum config_ap_dmarc_quarantine */
	bool spoof_intelligence;
	int spoof_action; /* enum config_ap_spoof */
};

/* connection filter (EOP's HostedConnectionFilterPolicy): entries are
 * "ADDR[/PREFIX] [label]" as in filter/iplist.h */
struct config_connection_filter {
	CONFIG_LIST(const char *) ip_allow;
	CONFIG_LIST(const char *) ip_block;
	const char *ip_allow_file;
	const char *ip_block_file;
	bool safe_list;
	const char *safe_list_file;
	uint64_t max_connections_per_ip; /* 0: no limit */
	uint64_t max_connection_rate;    /* per IP and minute; 0: no limit */
};

/* one DNSBL zone; codes are "127.0.0.2[-127.0.0.11] [meaning]" */
struct config_dnsbl {
	const char *zone;
	CONFIG_LIST(const char *) codes;
	uint64_t weight;
};

struct config_reputation {
	const char *block_file;
	CONFIG_LIST(struct config_dnsbl) dnsbl;
	uint64_t threshold;
	uint64_t timeout_ms;
};

enum config_domain_type { CONFIG_DOMAIN_AUTHORITATIVE, CONFIG_DOMAIN_INTERNAL_RELAY };

/* one accepted domain (EOP's AcceptedDomain) */
struct config_accepted_domain {
	const char *domain; /* lower case */
	int type;           /* enum config_domain_type */
	bool subdomains;
};

/* the recipient directory of Directory Based Edge Blocking */
struct config_directory {
	const char *file;
	const char *subaddress_separator; /* "" disables sub-addressing */
	bool case_sensitive_local;
	uint64_t store_refresh_ms;
};

enum config_connector_type { CONFIG_CONNECTOR_PARTNER, CONFIG_CONNECTOR_ON_PREMISES };

/* one inbound connector (EOP's InboundConnector): a partner or our own
 * mail servers, known by IP range or TLS certificate name */
struct config_inbound_connector {
	const char *name;
	int type; /* enum config_connector_type */
	bool enabled;
	CONFIG_LIST(const char *) sender_ip_ranges; /* "ADDR[/PREFIX]" */
	CONFIG_LIST(const char *) tls_cert_names;   /* "mail.example.com", "*.example.com" */
	bool require_tls;
	bool trusted;
	bool relay;
};

enum config_outbound_action {
	CONFIG_OUTBOUND_BLOCK_TODAY,
	CONFIG_OUTBOUND_RESTRICT,
	CONFIG_OUTBOUND_ALERT,
};

/* the outbound spam policy (EOP's HostedOutboundSpamFilterPolicy) */
struct config_outbound_spam {
	uint64_t external_per_hour;
	uint64_t internal_per_hour;
	uint64_t per_day;
	int action; /* enum config_outbound_action */
};

struct arena;

struct smexop_config {
	struct config_server server;
	struct config_log log;
	struct config_dns dns;
	struct config_spf spf;
	struct config_limits limits;
	CONFIG_LIST(struct config_listener) listeners;
	struct config_tls_cert tls;
	struct config_store store;
	struct config_spool spool;
	struct config_delivery delivery;
	struct config_queue queue;
	CONFIG_LIST(struct config_outbound_connector) outbound_connectors;
	struct config_quarantine quarantine;
	struct config_dmarc_reports dmarc_reports;
	struct config_tls_reports tls_reports;
	struct config_report_schedule report_schedule;
	struct config_mta_sts mta_sts;
	struct config_dkim dkim;
	struct config_connection_filter connection_filter;
	struct config_reputation reputation;
	CONFIG_LIST(struct config_accepted_domain) accepted_domains;
	struct config_directory directory;
	CONFIG_LIST(struct config_inbound_connector) inbound_connectors;
	struct config_anti_phishing anti_phishing;
	struct config_outbound_spam outbound_spam;

	struct arena *arena; /* owns everything above */
};

/* ---- the schema ----------------------------------------------------- */

enum config_type {
	CONFIG_BOOL,
	CONFIG_INT,
	CONFIG_SIZE,     /* "10M", "64k", "1024" (binary multiples) */
	CONFIG_DURATION, /* "500ms", "30s", "5m", "2h", "7d", "1h30m", "30" (seconds) */
	CONFIG_STRING,
	CONFIG_PATH,
	CONFIG_ENUM,
	CONFIG_IP,
	CONFIG_HOSTPORT,
	CONFIG_LIST,    /* list of .item values */
	CONFIG_SECTION, /* map with its own schema (.child) */
	CONFIG_OBJLIST, /* list of maps sharing .child */
};

struct config_schema;

struct config_entry {
	const char *name;
	enum config_type type;
	size_t offset; /* into the struct of the schema the entry belongs to */
	/*
	 * The default, written as it would be in the file: "5s", "true",
	 * "info"; for lists a YAML flow sequence ("[]", "[{}]").  NULL means
	 * none: the value is optional (null) and a section's finish hook
	 * may compute it; def_doc then says what the hook does.
	 */
	const char *def;
	const char *def_doc;
	/*
	 * int, size, duration: the range (max 0 = no limit); string, path:
	 * the length (max 0 = CONFIG_MAX_STRING); list, objlist: the number
	 * of items (max 0 = CONFIG_MAX_ITEMS).
	 */
	uint64_t min, max;
	const char *const *words;          /* enum: NULL-terminated, order = C enum */
	unsigned port;                     /* hostport: default port, 0 = required */
	const struct config_entry *item;   /* list: the items' type and limits */
	const struct config_schema *child; /* section, objlist */
	/* objlist: a string entry of .child whose values must differ between
	 * items (ASCII case folded); a repeat is an error at its value */
	const char *unique;
	const char *doc; /* one line for the reference */
};

struct config_schema {
	const char *name;
	const char *doc;
	size_t size; /* sizeof the struct (objlist items) */
	const struct config_entry *entries;
	size_t nentries;
	/* finish - compute derived defaults once the file is applied; the
	 * section is at `section` inside cfg.  0 or -1 with a message. */
	int (*finish)(struct smexop_config *cfg, void *section, char *msg, size_t msgsize);
};

/* the root: one CONFIG_SECTION entry per top-level key */
extern const struct config_schema config_schema_root;

/* ---- loading -------------------------------------------------------- */

struct config_error {
	unsigned line; /* 1-based; 0 when the error is about the whole file */
	unsigned col;
	char msg[320];
};

struct config_diag {
	const char *file; /* as given to config_load, not owned */
	size_t n;
	bool truncated; /* more than CONFIG_MAX_ERRORS errors were found */
	struct config_error errors[CONFIG_MAX_ERRORS];
};

/*
 * config_load - read path (NULL: the embedded defaults only); returns
 * NULL with diag filled when the file has any error.  diag may be NULL.
 */
struct smexop_config *config_load(const char *path, struct config_diag *diag);
/* config_load_mem - the same from memory; name is used in messages */
struct smexop_config *config_load_mem(const char *name, const char *data, size_t len,
                                      struct config_diag *diag);
/* config_free - release cfg and its arena; returns NULL */
struct smexop_config *config_free(struct smexop_config *cfg);

/* config_error_format - "file:line:col: message" for diag->errors[i] */
const char *config_error_format(const struct config_diag *diag, size_t i, char *out,
                                size_t outsize);

/* ---- value syntax (shared by the loader, the dumps and the tests) --- */

/* config_parse_size - "10M", "64k", "100KiB", "1024" into bytes; 0 or -1 */
int config_parse_size(const char *s, size_t n, uint64_t *out);
/* config_parse_duration - "500ms", "30s", "1h30m", "30" into ms; 0 or -1 */
int config_parse_duration(const char *s, size_t n, uint64_t *out);
/* config_format_size - the shortest exact form: 102400 -> "100k" */
const char *config_format_size(uint64_t bytes, char *out, size_t outsize);
/* config_format_duration - the shortest exact form: 5000 -> "5s" */
const char *config_format_duration(uint64_t ms, char *out, size_t outsize);
/* config_type_name - "duration", "list of host:port", ... for docs */
const char *config_type_name(const struct config_entry *e, char *out, size_t outsize);

/* ---- output (config_out.c) ------------------------------------------ */

/* config_dump_yaml - the effective configuration as YAML that loads back */
int config_dump_yaml(const struct smexop_config *cfg, FILE *out);
/* config_dump_json - the same as one JSON object (sizes in bytes,
 * durations in milliseconds) followed by a newline */
int config_dump_json(const struct smexop_config *cfg, FILE *out);
/* config_docs - the Markdown reference generated from the schema */
int config_docs(FILE *out);

#endif
