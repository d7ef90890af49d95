/*
 * dkim_canon - simple and relaxed canonicalisation (RFC 6376 section 3.4)
 *
 * Headers: dkim_canon_header() writes the canonical form of one field to
 * a sink.  Bodies: struct dkim_body_canon is a streaming canonicaliser:
 * feed it chunks of any size (a CR at the end of one chunk and its LF at
 * the start of the next are handled), then end it; it never copies the
 * body.  Runs of empty lines are counted, not buffered, so a body of a
 * gigabyte of CRLFs costs nothing.
 *
 * Line endings: a bare LF is taken as CRLF (as dkimpy and OpenDKIM do)
 * so messages stored with Unix line endings verify; a CR not followed by
 * LF is ordinary data.
 *
 * struct dkim_body_hashes computes every body hash a message needs in
 * one pass: one entry per distinct (canonicalisation, l=, hash), however
 * many signatures share it; each entry reports how many canonical bytes
 * the body has in all, so the verifier can report what lies past l=.
 */
#ifndef SMEXOP_AUTH_DKIM_CANON_H
#define SMEXOP_AUTH_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_sig.h"

struct arena;

typedef void (*dkim_sink)(void *ctx, const void *p, size_t n);

/*
 * dkim_canon_header - canonicalise one header field: raw is the field
 * from its name to its last byte, without the final line break.  With
 * crlf, a CRLF is written after it (every field but the signature's own).
 */
void dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, bool crlf, dkim_sink sink,
                       void *ctx);

struct dkim_body_canon {
	enum dkim_canon mode;
	dkim_sink sink;
	void *ctx;
	uint64_t empty_lines; /* pending empty lines, written only if data follows */
	uint64_t out_len;     /* canonical bytes written so far */
	bool cr;              /* the last byte seen was a CR */
	bool wsp;             /* relaxed: white space pending in this line */
	bool line_data;       /* the current line has data */
	size_t staged;        /* bytes in stage, not yet given to the sink */
	char stage[2048];     /* relaxed output comes word by word: hand the sink
	                         (a hash update) whole blocks instead */
};

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon mode, dkim_sink sink,
                          void *ctx);
void dkim_body_canon_feed(struct dkim_body_canon *c, const char *p, size_t n);
void dkim_body_canon_end(struct dkim_body_canon *c);

#define DKIM_BODY_HASHES_MAX 16 /* distinct (c, l, hash) per message */

enum dkim_hash {
	DKIM_HASH_SHA256,
	DKIM_HASH_SHA1, /* for completeness and tests; RFC 8301 forbids it in signatures */
};

struct dkim_body_hashes;

/* dkim_body_hashes_new - NULL on allocation failure (freed with the arena) */
struct dkim_body_hashes *dkim_body_hashes_new(struct arena *a);
/* dkim_body_hashes_add - the index for (c, l, hash), shared when it exists;
 * -1 when the table is full or on failure */
int dkim_body_hashes_add(struct dkim_body_hashes *h, enum dkim_canon c, bool has_l, uint64_t l,
                         enum dkim_hash hash);
/* dkim_body_hashes_run - hash a whole body, chunk by chunk; 0 or -1 */
int dkim_body_hashes_feed(struct dkim_body_hashes *h, const char *p, size_t n);
int dkim_body_hashes_end(struct dkim_body_hashes *h);
/* dkim_body_hashes_get - the digest of entry i and the canonical body
 * length (all of it, also past l=); after end */
const uint8_t *dkim_body_hashes_get(const struct dkim_body_hashes *h, int i, size_t *digest_len,
                                    uint64_t *canon_len);

#endif
