/*
 * iplist - a set of IPv4 and IPv6 prefixes with longest-match lookup
 *
 * The connection filter's allow, block and safe lists and the local
 * reputation block list are iplists.  Entries are CIDR prefixes
 * ("192.0.2.0/24", "2001:db8::/32") or single addresses, each with an
 * optional label that says why it is there ("partner relay", "ticket
 * 4711"); a lookup returns the most specific entry containing the
 * address, so "192.0.2.0/24 office" and "192.0.2.7 printer" can live
 * side by side.
 *
 * Representation: after iplist_build() the nested prefixes are flattened
 * into disjoint address ranges, one sorted array of range starts per
 * family (4 bytes each for IPv4, 16 for IPv6) and a parallel array of
 * entry indexes (-1 for a gap); a lookup is one binary search.  A set of
 * n prefixes gives at most 2n + 1 ranges, so memory is linear and
 * compact, and CIDR prefixes never overlap partially, which makes the
 * flattening a single sweep.  bench/filter measures it (README there).
 * Before iplist_build() (or after an iplist_add) lookups fall back to
 * a linear scan: always correct, just slower.
 *
 * An IPv4-mapped IPv6 entry ("::ffff:192.0.2.0/120") is kept as the IPv4
 * prefix it stands for, as net.h does with addresses.  An entry whose
 * host bits are set ("192.0.2.1/24") is accepted as the network it
 * names (192.0.2.0/24) with a warning: an admin who wrote it meant the
 * network, and refusing the whole file over it would drop every other
 * entry.  A repeated prefix keeps the first label, with a warning.
 *
 * File syntax, one entry per line:
 *
 *     # comment
 *     192.0.2.0/24                       (no label)
 *     198.51.100.7  backup MX of example.net
 *     2001:db8::/32 # partner           (a trailing comment is the label
 *                                        when no label is written)
 *
 * Errors are `file:line:col: message`; the first error stops the load.
 * A list is read-only after iplist_build() and may be shared by threads.
 */
#ifndef SMEXOP_FILTER_IPLIST_H
#define SMEXOP_FILTER_IPLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/net.h"

#define IPLIST_MAX_ENTRIES 4000000 /* per list: a hard cap on hostile files */
#define IPLIST_MAX_LABEL   256     /* bytes of a label; longer ones are cut */

struct iplist;

struct iplist_entry {
	struct net_addr net; /* host bits cleared */
	unsigned prefix;     /* 0..32 or 0..128 */
	const char *label;   /* NULL when none */
	unsigned line;       /* line in the file it came from; 0 otherwise */
};

/* A warning from the loader: the entry was accepted, but not as written. */
typedef void (*iplist_warn_fn)(void *arg, const struct sx_err *warning);

struct iplist *iplist_new(void);
/* iplist_free - returns NULL */
struct iplist *iplist_free(struct iplist *l);

/* iplist_add - one prefix (host bits are cleared); 0, or -1 when the
 * prefix is out of range, the list is full or memory ran out */
int iplist_add(struct iplist *l, const struct net_addr *net, unsigned prefix, const char *label);

/*
 * iplist_parse_entry - "ADDR" or "ADDR/PREFIX" (s[0..n), no spaces) into
 * *net and *prefix; *host_bits tells whether bits beyond the prefix were
 * set (they are cleared).  0, or -1 with a message in err (col is the
 * 1-based offset in s of the problem).
 */
int iplist_parse_entry(const char *s, size_t n, struct net_addr *net, unsigned *prefix,
                       bool *host_bits, struct sx_err *err);

/*
 * iplist_add_line - one line of the file syntax ("ADDR[/N] [label] [#
 * comment]"; blank and comment-only lines add nothing).  name and line
 * are used in messages; warn may be NULL (warnings are then logged).
 */
int iplist_add_line(struct iplist *l, const char *name, unsigned line, const char *s, size_t n,
                    iplist_warn_fn warn, void *warn_arg, struct sx_err *err);

/* iplist_load_text - every line of text; builds the list when it succeeds */
int iplist_load_text(struct iplist *l, const char *name, const char *text, size_t len,
                     iplist_warn_fn warn, void *warn_arg, struct sx_err *err);
/* iplist_load_file - the same from a file (at most BUF_CAP_FILE bytes) */
int iplist_load_file(struct iplist *l, const char *path, iplist_warn_fn warn, void *warn_arg,
                     struct sx_err *err);

/* iplist_build - make lookups fast; 0, or -1 when memory ran out (lookups
 * then keep the linear scan) */
int iplist_build(struct iplist *l);

/* iplist_lookup - the most specific entry containing ip, or NULL (also
 * for a NULL list) */
const struct iplist_entry *iplist_lookup(const struct iplist *l, const struct net_addr *ip);

/* iplist_count - entries (distinct prefixes) */
size_t iplist_count(const struct iplist *l);
/* iplist_memory - bytes held: entries, labels and the lookup arrays */
size_t iplist_memory(const struct iplist *l);
/* iplist_entry_format - "192.0.2.0/24" */
const char *iplist_entry_format(const struct iplist_entry *e, char *out, size_t outsize);

#endif
