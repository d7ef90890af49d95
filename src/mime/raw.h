/*
 * raw - the exact bytes of a message as received: header fields and body
 *
 * raw_message_parse() splits a message into its header fields (in order,
 * with their folding kept) and its body, without copying anything: every
 * pointer is a view into the caller's buffer, which must outlive the
 * raw_message.  Only the array of field descriptors is allocated (from an
 * arena).  DKIM, ARC and the header analyser read messages this way
 * because they must see the bytes exactly as they were signed.
 *
 * Line endings: a line ends at LF; a CR just before that LF belongs to the
 * line ending, any other CR is data.  Both CRLF and bare LF are accepted,
 * also mixed.  Consumers that work on CRLF lines (DKIM canonicalisation)
 * treat a bare LF as CRLF, as dkimpy and OpenDKIM do; raw_message records
 * whether any bare LF was seen so a caller can say so.
 *
 * Header section: fields until the first empty line.  A line that starts
 * with SP or HTAB continues the previous field.  A line with no colon (or
 * a continuation line before any field) becomes a field with an empty
 * name that no lookup matches, so its bytes are still accounted for.
 * Without an empty line, the whole message is header and there is no body
 * (has_body is false).  NUL and 8-bit bytes are data like any other.
 *
 * Limits: at most RAW_MAX_FIELDS fields and RAW_MAX_HEADER_BYTES of header
 * section (both can be lowered per call); beyond them parsing fails with
 * a message rather than reading further.  The failure's kind is in
 * raw_message.error, so that a caller can tell the message's fault (a
 * limit: a 5xx for a gateway) from its own (out of memory: a 4xx) without
 * reading the text.
 */
#ifndef SMEXOP_MIME_RAW_H
#define SMEXOP_MIME_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct arena;

#define RAW_MAX_FIELDS       1000
#define RAW_MAX_HEADER_BYTES (1024 * 1024)

struct raw_field {
	const char *name; /* field name, trailing WSP before the colon removed */
	size_t name_len;  /* 0 for a malformed line (no colon) */
	const char *raw;  /* the whole field: name, colon, value, folding, line break */
	size_t raw_len;
	size_t offset;    /* of raw from the start of the message */
	size_t value_off; /* from raw: first byte after the colon (raw_len if none) */
	size_t eol_len;   /* length of the final line break: 2 (CRLF), 1 (LF) or 0 */
};

/* why raw_message_parse failed */
enum raw_error {
	RAW_OK = 0,
	RAW_ERR_TOO_MANY_FIELDS, /* over max_fields: the message's fault */
	RAW_ERR_HEADER_TOO_BIG,  /* over max_header_bytes: the message's fault */
	RAW_ERR_NOMEM,           /* the arena failed: ours */
	RAW_ERR_INTERNAL,        /* the two passes disagreed: a bug, ours */
};

struct raw_message {
	const char *data; /* the caller's buffer */
	size_t len;
	struct raw_field *fields;
	size_t nfields;
	size_t header_len; /* bytes of header section, without the empty line */
	const char *body;  /* view of the body (after the empty line) */
	size_t body_len;
	bool has_body;        /* an empty line separates header and body */
	bool bare_lf;         /* some line ends in a bare LF */
	bool crlf;            /* the first line ends in CRLF (the message's own style) */
	enum raw_error error; /* RAW_OK, or why raw_message_parse returned -1 */
};

struct raw_limits {
	size_t max_fields;       /* 0: RAW_MAX_FIELDS */
	size_t max_header_bytes; /* 0: RAW_MAX_HEADER_BYTES */
};

/*
 * raw_message_parse - split data[0..len) into fields and body; 0, or -1
 * with err and m->error (over a limit, or out of memory).  limits may be
 * NULL.
 */
int raw_message_parse(struct raw_message *m, struct arena *arena, const char *data, size_t len,
                      const struct raw_limits *limits, struct sx_err *err);

/* raw_error_is_limit - the failure is one of the limits (the message's fault) */
bool raw_error_is_limit(enum raw_error e);

/* raw_field_is - the field's name equals name (ASCII case-insensitive) */
bool raw_field_is(const struct raw_field *f, const char *name, size_t name_len);

/* raw_count - how many fields are called name */
size_t raw_count(const struct raw_message *m, const char *name, size_t name_len);

/*
 * raw_find_from_bottom - the nth (0 = last) field called name, counting
 * from the bottom of the header as DKIM's h= does; NULL when there are
 * fewer.  *index (may be NULL) receives its position in m->fields.
 */
const struct raw_field *raw_find_from_bottom(const struct raw_message *m, const char *name,
                                             size_t name_len, size_t nth, size_t *index);

/* raw_find_first - the first field called name from the top, or NULL */
const struct raw_field *raw_find_first(const struct raw_message *m, const char *name,
                                       size_t name_len);

/*
 * raw_field_value - the value: after the colon, up to (not including) the
 * final line break, folding kept
 */
void raw_field_value(const struct raw_field *f, const char **value, size_t *len);

#endif
