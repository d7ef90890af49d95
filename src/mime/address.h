/*
 * address - RFC 5322 address lists (From, To, Cc, Reply-To ...) and the
 * author domain(s) DMARC evaluates
 *
 * address_list_parse() reads the value of an address field: mailboxes
 * ("Name <local@domain>" or a bare local@domain), groups ("Team: a@b,
 * c@d;", also empty ones), comments (nested, with quoted pairs) anywhere
 * CFWS may stand, quoted strings (commas and '@' inside them are text),
 * folding, the obsolete forms of RFC 5322 section 4.4 that matter in
 * practice (empty list elements, a source route "<@relay:local@domain>",
 * CFWS around the dots of a domain), and UTF-8 per RFC 6532.  Each
 * address is returned as its local part (quotes removed) and its domain
 * as written, minus comments and white space; a domain literal keeps its
 * brackets.  Nothing is decoded further: encoded words in display names
 * are skipped, not decoded.
 *
 * address_from_domains() applies the rules DMARC needs (RFC 7489 6.6.1,
 * DMARCbis 4.4) to a whole message: exactly one From field, at least one
 * address, every address with a domain, domains normalised as
 * core/orgdomain.h says (lower case, trailing dot removed, U-labels to
 * A-labels) and listed once each.  Every other shape gets a status and
 * a reason, never a crash.
 *
 * Limits: ADDRESS_MAX addresses per list (more is an error), comments
 * nested at most ADDRESS_MAX_NESTING deep; work is linear in the input.
 * Results are allocated from the caller's arena.
 */
#ifndef SMEXOP_MIME_ADDRESS_H
#define SMEXOP_MIME_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct raw_message;

#define ADDRESS_MAX         100
#define ADDRESS_MAX_NESTING 32

struct address {
	const char *local;  /* "" when the address has none */
	const char *domain; /* NULL when there is no '@' */
	bool in_group;
};

struct address_list {
	struct address *addr;
	size_t n;
	size_t groups; /* group constructs seen, empty or not */
};

/*
 * address_list_parse - parse text[0..len) (a field value, folding kept);
 * 0, or -1 with a static reason in *why (unbalanced quote, comment or
 * angle bracket, stray special, too many addresses, out of memory)
 */
int address_list_parse(struct arena *a, const char *text, size_t len, struct address_list *out,
                       const char **why);

enum address_from_status {
	ADDRESS_FROM_OK,
	ADDRESS_FROM_MISSING,   /* no From field */
	ADDRESS_FROM_REPEATED,  /* more than one From field */
	ADDRESS_FROM_SYNTAX,    /* the value does not parse */
	ADDRESS_FROM_EMPTY,     /* no address at all (e.g. an empty group) */
	ADDRESS_FROM_NO_DOMAIN, /* an address without a usable domain */
	ADDRESS_FROM_NOMEM,
};

struct address_from {
	enum address_from_status status;
	const char **domains; /* normalised, distinct, in order of appearance */
	size_t ndomains;
	size_t naddresses; /* addresses in the field */
	const char *why;   /* for status != OK */
};

/* address_from_domains - the author domain(s) of m; returns out->status */
enum address_from_status address_from_domains(struct arena *a, const struct raw_message *m,
                                              struct address_from *out);
/* address_from_value - the same from one From field value */
enum address_from_status address_from_value(struct arena *a, const char *value, size_t len,
                                            struct address_from *out);

/* address_from_status_name - "ok", "missing", ... */
const char *address_from_status_name(enum address_from_status s);

#endif
