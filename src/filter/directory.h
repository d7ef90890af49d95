/*
 * directory - recipient lookup and Directory Based Edge Blocking
 * (pipeline stage 2, EOP's DBEB)
 *
 * A directory answers "does this address exist here?" through a small
 * vtable (struct directory_ops): the file backend below now, the store
 * (LDAP sync, portal edits) later.  The front end normalises the
 * address and tries, in order:
 *
 *   1. local@domain as given (so an address that really contains the
 *      separator, "c++@example.com", can be listed);
 *   2. the local part cut at the first sub-address separator
 *      ("user+tag@" is "user@"; the separator characters are configurable,
 *      "" turns this off);
 *   3. the catch-all "@domain".
 *
 * Domains always compare case-insensitively; local parts too unless the
 * directory is case-sensitive (RFC 5321 allows case-sensitive local
 * parts, but Exchange, Postfix virtual maps and Dovecot all fold case, so
 * that is what an admin expects by default).
 *
 * File syntax, one entry per line, `#` comments, blank lines ignored:
 *
 *     user@example.com
 *     alias@example.com: user@example.com
 *     @example.org                          (catch-all)
 *     @example.net: postmaster@example.net  (catch-all with a target)
 *
 * A repeated address keeps its first target.  Errors are
 * `file:line:col: message` and stop the load.
 *
 * directory_edge_check() combines accepted domains and the directory into
 * the stage 2 verdict for one RCPT TO; the replies are fixed:
 *
 *   authoritative, unknown recipient:
 *       550 5.4.1 Recipient address rejected: Access denied
 *   domain not accepted, sender without relay rights:
 *       550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain
 *   directory backend failure (store down):
 *       451 4.3.0 Directory lookup failed, try again later
 *   not an address:
 *       501 5.1.3 Bad recipient address syntax
 *
 * Internal relay domains accept unknown recipients (they live on another
 * server); an authoritative domain with no directory configured accepts
 * every recipient (no edge blocking without a directory, as in EOP).
 */
#ifndef SMEXOP_FILTER_DIRECTORY_H
#define SMEXOP_FILTER_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "filter/domains.h"

struct config_directory;

#define DIRECTORY_MAX_ENTRIES 10000000
#define DIRECTORY_MAX_ADDRESS 320 /* 64 + 1 + 255 */
#define DIRECTORY_MAX_SEP     8

enum directory_status {
	DIRECTORY_FOUND,
	DIRECTORY_NOT_FOUND,
	DIRECTORY_TEMPFAIL, /* the backend cannot answer now */
};

/* The backend: key is "local@domain" or "@domain", already normalised
 * (domain lower case; local lower case unless case-sensitive). */
struct directory_ops {
	enum directory_status (*lookup)(void *ctx, const char *key, const char **target);
	void (*free)(void *ctx);
};

struct directory;

/* directory_new - a directory over a backend (ops->free is called on ctx
 * by directory_free); sep: the separator characters ("" none) */
struct directory *directory_new(const struct directory_ops *ops, void *ctx, const char *sep,
                                bool case_sensitive);
struct directory *directory_free(struct directory *d);

/* the file backend */
struct directory *directory_load_text(const char *name, const char *text, size_t len,
                                      const char *sep, bool case_sensitive, struct sx_err *err);
struct directory *directory_load_file(const char *path, const char *sep, bool case_sensitive,
                                      struct sx_err *err);
/* directory_from_config - NULL without error (err->msg "") when no file
 * is configured */
struct directory *directory_from_config(const struct config_directory *c, struct sx_err *err);
/* directory_count - entries of a file backend (0 for others) */
size_t directory_count(const struct directory *d);
/* directory_foreach - every entry of a file backend as loaded (key
 * normalised, target NULL when the entry is an address of its own), in no
 * particular order; stops at and returns the first non-zero cb result */
int directory_foreach(const struct directory *d,
                      int (*cb)(const char *key, const char *target, void *arg), void *arg);

/*
 * The union backend: up to DIRECTORY_UNION_MAX member directories (the
 * file, the store's table) asked in order; the first that finds the
 * address wins, a member that cannot answer makes a miss a TEMPFAIL.
 * Members are replaced while the union is in use (a refreshed store
 * cache); all must share the union's separator and case rule.
 */
#define DIRECTORY_UNION_MAX 4
struct directory *directory_union_new(const char *sep, bool case_sensitive);
/* directory_union_set - member i becomes d (owned by the union; the old
 * member is freed; NULL empties the slot); 0 or -1 (bad i) */
int directory_union_set(struct directory *u, size_t i, struct directory *d);
/* directory_union_active - the union has a member (else: no directory) */
bool directory_union_active(const struct directory *u);

struct directory_result {
	enum directory_status status;
	const char *key;    /* the entry that matched (in buf) */
	const char *target; /* where it goes (the backend's), or the key itself */
	bool subaddress;    /* matched after cutting the sub-address */
	bool catch_all;
	char buf[DIRECTORY_MAX_ADDRESS + 2];
};

/* directory_lookup - address "local@domain" (no angle brackets); -1 when
 * it is not an address (no @, empty parts, too long) */
int directory_lookup(const struct directory *d, const char *address, struct directory_result *out);

/* ---- the stage 2 verdict -------------------------------------------- */

enum edge_verdict {
	EDGE_ACCEPT,
	EDGE_REJECT,
	EDGE_TEMPFAIL,
};

enum edge_reason {
	EDGE_R_KNOWN,          /* authoritative domain, recipient found */
	EDGE_R_NO_DIRECTORY,   /* authoritative domain, no directory: accepted */
	EDGE_R_INTERNAL_RELAY, /* internal relay domain: accepted, passed on */
	EDGE_R_RELAY,          /* not our domain, sender may relay */
	EDGE_R_UNKNOWN,        /* authoritative domain, recipient not found */
	EDGE_R_RELAY_DENIED,   /* not our domain, no relay rights */
	EDGE_R_DIRECTORY_FAIL, /* backend failure */
	EDGE_R_BAD_ADDRESS,
};

#define EDGE_REPLY_MAX 96

struct edge_result {
	enum edge_verdict verdict;
	enum edge_reason reason;
	const struct accepted_domain *domain; /* NULL when not accepted */
	struct directory_result dir;          /* when the directory was asked */
	bool known;                           /* the directory has the recipient */
	char reply[EDGE_REPLY_MAX];           /* REJECT and TEMPFAIL */
};

/* directory_edge_check - the verdict for RCPT TO:<rcpt>; dir may be NULL */
void directory_edge_check(const struct domains *domains, const struct directory *dir,
                          const char *rcpt, bool relay_allowed, struct edge_result *out);

const char *edge_verdict_name(enum edge_verdict v);
const char *edge_reason_name(enum edge_reason r);

#endif
