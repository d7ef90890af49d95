/*
 * dkim_tag - the tag=value list of RFC 6376 section 3.2, and base64
 *
 * Shared by DKIM-Signature fields, DKIM key records and, later, the ARC
 * header fields, which use the same syntax.  The parser only splits: each
 * tag is a view into the input (no copy), its value trimmed of folding
 * white space at both ends but with inner FWS kept, because what FWS
 * means depends on the tag (ignored in base64, significant nowhere else).
 *
 * Syntax checked: tag names are ALPHA *(ALPHA / DIGIT / "_"); every
 * tag-spec has an "="; values hold only VALCHAR (%x21-3A / %x3C-7E, and
 * 8-bit bytes, tolerated for UTF-8 in z=) separated by FWS; a tag appears
 * at most once.  Empty tag-specs (";;", a trailing ";") are skipped, as
 * dkimpy and OpenDKIM do.  FWS is taken as any run of SP, HTAB, CR and LF.
 */
#ifndef SMEXOP_AUTH_DKIM_TAG_H
#define SMEXOP_AUTH_DKIM_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DKIM_TAG_MAX 64 /* tags in one list; more is an error */

struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value; /* view, trimmed */
	size_t value_len;
	size_t value_off; /* offset of value in the parsed text */
};

struct dkim_tag_list {
	struct dkim_tag tag[DKIM_TAG_MAX];
	size_t n;
};

/*
 * dkim_tag_parse - split text into tags; 0, or -1 with a reason in why
 * (a static string, e.g. "duplicate tag")
 */
int dkim_tag_parse(struct dkim_tag_list *list, const char *text, size_t len, const char **why);

/* dkim_tag_find - the tag called name (case-sensitive, as RFC 6376 says) */
const struct dkim_tag *dkim_tag_find(const struct dkim_tag_list *list, const char *name);

/* dkim_tag_is - the value equals s exactly */
bool dkim_tag_is(const struct dkim_tag *t, const char *s);

/* dkim_is_fws - SP, HTAB, CR or LF */
static inline bool dkim_is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * dkim_b64_decode - decode base64 that may contain FWS anywhere; out must
 * hold at least len * 3 / 4 + 3 bytes.  Padding is optional but, when
 * present, must be right.  Returns the decoded length or -1.
 */
long dkim_b64_decode(const char *in, size_t len, uint8_t *out);
/* dkim_b64_encode - out must hold 4 * ((len + 2) / 3) + 1 bytes; returns
 * the encoded length (NUL-terminated) */
size_t dkim_b64_encode(const uint8_t *in, size_t len, char *out);

#endif
