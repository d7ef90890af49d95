/*
 * msg - the message context every pipeline stage reads and writes
 *
 * SUMMARY
 *	struct msg_conn *c = msg_conn_new(conn_arena, session_id);
 *	struct msg *m = msg_new(c, msg_id);
 *	msg_rcpt_add(m, "bob@example.com", &r); ... msg_set_data(m, buf, len);
 *	runner_run(runner, m, STAGE_EV_EOM, done, arg);
 *	m = msg_free(m);
 *
 * DESCRIPTION
 *	Two lifetimes, one owner each (STYLE.md 6.4):
 *	  - struct msg_conn: what is known about the SMTP connection (peer IP,
 *	    PTR name, HELO, TLS, listener, inbound connector, the connection
 *	    filter's decision).  It lives in the connection arena, which the
 *	    caller (the gateway's session) owns and frees at close.
 *	  - struct msg: one transaction (MAIL FROM to the end of data or
 *	    RSET): the envelope with a status per recipient, the raw message
 *	    view, what the parse and authentication stages found, the verdict
 *	    and the header fields to prepend.  It owns the transaction arena;
 *	    msg_free() releases everything and cancels what stages started
 *	    (their clear hooks run first, see stage.h).
 *
 *	The verdict is written by the stages in EOP's order and read by the
 *	trace stage and the gateway: SCL -1..9, BCL 0..9, CAT (the first
 *	category that applied, EOP's precedence), SFV, IPV, compauth, the
 *	DMARC outcome, the reasons (name, score) that led there, and the
 *	action.  A reject carries the exact SMTP reply.
 *
 * LIMITS
 *	MSG_MAX_RCPTS recipients (RFC 5321 4.5.3.1.8 asks for 100 at least),
 *	MSG_MAX_REASONS reasons (later ones are counted, not kept).
 */
#ifndef SMEXOP_PIPELINE_MSG_H
#define SMEXOP_PIPELINE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "mime/raw.h"

struct arena;
struct authcheck_result;
struct msg;
struct runner;

#define MSG_MAX_RCPTS   1000
#define MSG_MAX_REASONS 64
#define MSG_MAX_STAGES  16
#define MSG_MAX_PREPEND 16

/* ---- connection ------------------------------------------------------ */

/* IPV: what the connection filter said about the client IP */
enum msg_ipv {
	MSG_IPV_NLI, /* not listed */
	MSG_IPV_CAL, /* on the IP allow list: spam filtering skipped */
};

struct msg_tls {
	bool active;
	const char *version; /* "TLSv1.3" */
	const char *cipher;
	const char *peer_subject;
	bool peer_verified;
	const char **peer_names; /* verified client certificate: CN and DNS SANs */
	size_t npeer_names;
};

struct msg_conn {
	struct arena *arena; /* the connection arena (not owned) */
	uint64_t session_id;
	struct net_addr ip;
	char ip_text[NET_ADDR_STRLEN];
	unsigned port;
	const char *local_text; /* our address, text form */
	unsigned local_port;
	const char *listener;     /* the listener's name, or NULL */
	const char *connector;    /* the inbound connector matched, or NULL */
	const char *connector_by; /* "ip" or "cert": how it matched */
	bool require_tls;         /* the connector's settings (false without one) */
	bool trusted;
	bool relay;
	const char *ptr;  /* forward-confirmed reverse name, or NULL */
	const char *helo; /* as given, or NULL before HELO/EHLO */
	bool esmtp;
	struct msg_tls tls;
	enum msg_ipv ipv;
	bool ip_blocked;       /* the connection stage refused the client */
	const char *block_why; /* which list blocked it ("ip_block_list", a DNSBL zone) */
	unsigned messages;     /* transactions started on this connection */
};

/* msg_conn_new - connection data in arena a (the caller's); NULL on ENOMEM */
struct msg_conn *msg_conn_new(struct arena *a, uint64_t session_id);
/* msg_conn_set_peer - peer address and port; also fills ip_text */
void msg_conn_set_peer(struct msg_conn *c, const struct net_addr *ip, unsigned port);

/* ---- envelope -------------------------------------------------------- */

enum msg_rcpt_status {
	MSG_RCPT_PENDING,  /* the envelope stage has not decided yet */
	MSG_RCPT_ACCEPTED, /* 250 given */
	MSG_RCPT_REJECTED, /* 5xx given: not part of the transaction */
	MSG_RCPT_DEFERRED, /* 4xx given: not part of the transaction */
};

struct msg_reply {
	unsigned code;        /* 0: none chosen */
	const char *enhanced; /* "5.7.606", or NULL */
	const char *text;     /* one line, without code and enhanced code */
};

struct msg_rcpt {
	const char *addr; /* as given, without <> */
	const char *domain;
	const char *notify, *orcpt; /* DSN parameters, or NULL */
	enum msg_rcpt_status status;
	struct msg_reply reply;
	const char *why; /* the envelope stage's reason, for the log */
};

/* ---- verdict --------------------------------------------------------- */

enum msg_action {
	MSG_ACTION_DELIVER,    /* to the mailbox server, as is */
	MSG_ACTION_JUNK,       /* delivered with X-Spam-Flag: YES (the Junk folder) */
	MSG_ACTION_QUARANTINE, /* kept by us, released by an admin */
	MSG_ACTION_REJECT,     /* refused at SMTP time with verdict.reply */
	MSG_ACTION_DROP,       /* accepted and silently discarded */
	MSG_ACTION_TEMPFAIL,   /* 4xx: the pipeline could not decide */
};

/* SFV, EOP's spam filtering verdict */
enum msg_sfv {
	MSG_SFV_NSPM, /* not spam */
	MSG_SFV_SPM,  /* spam */
	MSG_SFV_SKS,  /* marked spam before filtering (rule) */
	MSG_SFV_SKA,  /* sender on the policy allow list */
	MSG_SFV_SKB,  /* sender on the policy block list */
	MSG_SFV_SKN,  /* marked non-spam before filtering (IP allow list) */
	MSG_SFV_SKQ,  /* released from quarantine */
};

struct msg_reason {
	const char *name; /* "DMARC_REJECT", "SPOOF", "IP_ALLOW" ... */
	int score;
};

struct msg_verdict {
	int scl;         /* -1..9 */
	int bcl;         /* 0..9 */
	const char *cat; /* "NONE", "SPOOF", ... */
	enum msg_sfv sfv;
	enum msg_action action;
	struct msg_reply reply; /* for REJECT and TEMPFAIL */
	const char *action_why; /* the policy that chose the action */
	/* authentication, filled by the authentication stage */
	const char *compauth;     /* "pass", "fail", "softpass", "none"; NULL: not checked */
	unsigned compauth_reason; /* its three-digit code */
	const char *dmarc;        /* "pass", "fail", "bestguesspass", "none", ... or NULL */
	const char *dmarc_policy; /* the disposition: "none", "quarantine", "reject" */
	const char *dmarc_domain; /* the From domain DMARC evaluated */
	bool compauth_fail;       /* compauth=fail */
	bool dmarc_fail;          /* dmarc=fail (a record applied and nothing aligned passed) */
	int dmarc_disposition;    /* enum dmarc_policy after pct= and t= (when dmarc_fail) */
	struct msg_reason reasons[MSG_MAX_REASONS];
	size_t nreasons;
	size_t reasons_dropped;
};

/* ---- the transaction ------------------------------------------------- */

/* The runner's bookkeeping in each message (see stage.h, runner.c). */
struct msg_run {
	struct runner *runner;   /* the runner running this message, or NULL */
	struct runner *owner;    /* the runner that ran it last (clear hooks) */
	int event;               /* enum stage_event being run */
	size_t next;             /* index of the stage to run (or resume) */
	uint32_t stages_done;    /* bit i: stage i finished for this message */
	uint32_t stages_started; /* bit i: stage i ran at least once (needs clear) */
	bool running;            /* inside the runner loop (re-entry guard) */
	bool suspended;          /* parked on stage next */
	bool resumed;            /* resume arrived while running */
	void (*done)(struct msg *m, void *arg);
	void *done_arg;
	void *slot[MSG_MAX_STAGES]; /* per-stage per-message state */
};

struct msg_header_info {
	const char *from;       /* the From field's value, unfolded, or NULL */
	const char *subject;    /* unfolded, or NULL */
	const char *message_id; /* unfolded, or NULL */
	const char *date;
	size_t nfrom; /* how many From fields there were */
};

struct msg_strip {
	size_t offset, len; /* a byte range of data left out when writing */
};

struct msg {
	struct arena *arena; /* the transaction arena: owned */
	struct msg_conn *conn;
	uint64_t id; /* shown in hex in logs and in X-Smexop-Antispam-Report */
	char id_text[17];
	int64_t received; /* seconds since the epoch, when data ended */
	/* envelope */
	const char *sender; /* "" for the null reverse path */
	uint64_t size_param;
	bool smtputf8, body_8bit;
	const char *dsn_ret, *dsn_envid;
	bool outbound;      /* relayed to domains that are not accepted (connector with relay) */
	bool direction_set; /* the first accepted recipient chose inbound or outbound */
	struct msg_rcpt *rcpts;
	size_t nrcpts, rcpts_cap;
	/* the message as received (a view of the caller's buffer) */
	const char *data;
	size_t len;
	struct raw_message raw;
	bool raw_ok;             /* raw is parsed */
	const char *parse_error; /* why not, or NULL */
	struct msg_header_info hdr;
	/* authentication (valid while the arena lives) */
	const struct authcheck_result *auth;
	/* verdict and output */
	struct msg_verdict verdict;
	const char *prepend[MSG_MAX_PREPEND]; /* fields to put on top, in order, each
	                                       * without its final CRLF (folds kept) */
	size_t nprepend;
	struct msg_strip *strip; /* incoming fields to leave out (our authserv-id) */
	size_t nstrip;
	const char *queue_id; /* where the message went (spool or quarantine id), or NULL */
	struct msg_run run;
};

/* msg_new - a transaction on connection c; NULL on ENOMEM */
struct msg *msg_new(struct msg_conn *c, uint64_t id);
/* msg_free - run the stages' clear hooks (runner_cancel), free the
 * transaction arena; returns NULL */
struct msg *msg_free(struct msg *m);

/* msg_set_sender - MAIL FROM; copies sender; 0 or -1 */
int msg_set_sender(struct msg *m, const char *sender);
/* msg_rcpt_add - a new recipient (PENDING); NULL when over MSG_MAX_RCPTS or ENOMEM */
struct msg_rcpt *msg_rcpt_add(struct msg *m, const char *addr);
/* msg_rcpt_accepted - recipients with status ACCEPTED */
size_t msg_rcpt_accepted(const struct msg *m);

/* msg_set_data - the whole message as received (not copied: must outlive
 * m); the parse stage splits it */
void msg_set_data(struct msg *m, const char *data, size_t len);

/* msg_reason_add - append a reason to the verdict (dropped beyond the cap) */
void msg_reason_add(struct msg *m, const char *name, int score);
/* msg_set_reply - set verdict.reply (strings copied into the arena) */
void msg_set_reply(struct msg *m, unsigned code, const char *enhanced, const char *text);

/* msg_reply_parse - an engine's reply line "550 5.7.1 text" into out
 * (strings in a; a code outside 400..599 becomes 451 4.3.0: an engine
 * reply we cannot read never turns into an acceptance or a 5xx) */
void msg_reply_parse(struct arena *a, const char *line, struct msg_reply *out);

/*
 * msg_log - one log line "EVENT session=<hex> msg=<hex> ..." with m's ids
 * added (STYLE.md 6.16); msg_conn_log - the same for connection events
 * ("EVENT session=<hex> ...").  Below the configured level nothing is
 * formatted.
 */
void msg_log(const struct msg *m, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void msg_conn_log(const struct msg_conn *c, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* names for logs and headers */
const char *msg_action_name(enum msg_action a);
const char *msg_sfv_name(enum msg_sfv s);
const char *msg_ipv_name(enum msg_ipv v);
const char *msg_rcpt_status_name(enum msg_rcpt_status s);

#endif
