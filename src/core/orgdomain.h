/*
 * orgdomain - organisational (registrable) domains and public suffixes
 *
 * A thin layer over libpsl and the Public Suffix List, for DMARC
 * alignment and policy discovery (RFC 7489 3.2) and for any filter that
 * needs to group names by the domain their owner registered.
 *
 * (Named orgdomain rather than psl: libpsl already owns the psl_ prefix.)
 *
 * Names are compared in one normal form: ASCII lower case, one trailing
 * dot removed, U-labels converted to A-labels (IDNA 2008 through libidn2,
 * UTS #46 transitional processing as a fallback), every label 1..63
 * bytes, the whole at most 253.  orgdomain_normalise() produces it; the
 * other functions normalise their input themselves.
 *
 * The list comes from a file (a .dat list or a libpsl .dafsa), by default
 * Debian's /usr/share/publicsuffix/public_suffix_list.dat, and falls back
 * to the list built into libpsl when the file cannot be read.  A loaded
 * list is read-only and may be shared between threads.
 * orgdomain_default() is the process-wide list, loaded once on first use.
 */
#ifndef SMEXOP_CORE_ORGDOMAIN_H
#define SMEXOP_CORE_ORGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define ORGDOMAIN_DEFAULT_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
#define ORGDOMAIN_NAME_MAX     253
#define ORGDOMAIN_BUF          (ORGDOMAIN_NAME_MAX + 1)

struct orgdomain;

/*
 * orgdomain_load - load the list in path (NULL: ORGDOMAIN_DEFAULT_FILE).
 * When the file cannot be read: with fallback, libpsl's built-in list is
 * used (and err says so, as a warning); without, NULL and err.
 */
struct orgdomain *orgdomain_load(const char *path, bool fallback, struct sx_err *err);
/* orgdomain_free - returns NULL; the default list is never freed */
struct orgdomain *orgdomain_free(struct orgdomain *o);
/* orgdomain_default - the shared list (default file, else built in); never NULL
 * unless memory runs out */
const struct orgdomain *orgdomain_default(void);
/* orgdomain_source - the file the list came from, or "builtin" */
const char *orgdomain_source(const struct orgdomain *o);

/*
 * orgdomain_normalise - the normal form of name[0..len) into out (at
 * least ORGDOMAIN_BUF bytes); 0, or -1 when name is not a domain name
 * (empty label, too long, bad IDN, control or space bytes)
 */
int orgdomain_normalise(const char *name, size_t len, char *out, size_t outsize);

/*
 * orgdomain_registrable - the organisational domain of name: the public
 * suffix plus one label.  0 with out set; -1 when name is not a domain
 * name or is itself a public suffix (no organisational domain).
 */
int orgdomain_registrable(const struct orgdomain *o, const char *name, char *out, size_t outsize);

/* orgdomain_is_public_suffix - name (normalised here) is a public suffix
 * ("com", "co.uk", any unlisted single label); false for bad names */
bool orgdomain_is_public_suffix(const struct orgdomain *o, const char *name);

/*
 * orgdomain_same - a and b have the same organisational domain; a name
 * without one (a public suffix) only matches itself.  Bad names never
 * match.
 */
bool orgdomain_same(const struct orgdomain *o, const char *a, const char *b);

#endif
