/*
 * raw - split a message into header fields and body without copying
 *
 * Two passes over the header section: the first counts fields (stopping
 * at the limits), the second fills an array sized by that count, so the
 * allocation is bounded by what is really there and by the cap.
 */
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "mime/raw.h"

/* line_end - index just past the LF ending the line that starts at pos,
 * or len when the last line has no line break */
static size_t line_end(const char *data, size_t len, size_t pos)
{
	const char *lf = memchr(data + pos, '\n', len - pos);

	return lf == NULL ? len : (size_t)(lf - data) + 1;
}

/* is_empty_line - the line [pos, end) is only a line break */
static bool is_empty_line(const char *data, size_t pos, size_t end)
{
	size_t n = end - pos;

	return (n == 1 && data[pos] == '\n') ||
	       (n == 2 && data[pos] == '\r' && data[pos + 1] == '\n');
}

/* eol_length - length of the line break ending [pos, end) */
static size_t eol_length(const char *data, size_t pos, size_t end)
{
	if (end == pos || data[end - 1] != '\n')
		return 0;
	if (end - pos >= 2 && data[end - 2] == '\r')
		return 2;
	return 1;
}

/*
 * scan - walk the header section; with fields == NULL only count.  Returns
 * the number of fields, or -1 with err when over a limit.
 */
static long scan(struct raw_message *m, struct raw_field *fields, size_t max_fields,
                 size_t max_bytes, struct sx_err *err)
{
	const char *d = m->data;
	size_t len = m->len, pos = 0, n = 0;
	struct raw_field *cur = NULL;

	m->has_body = false;
	m->bare_lf = false;
	m->crlf = false;
	while (pos < len) {
		size_t end = line_end(d, len, pos);
		size_t eol = eol_length(d, pos, end);

		if (pos == 0)
			m->crlf = eol == 2;
		if (eol == 1)
			m->bare_lf = true;
		if (is_empty_line(d, pos, end)) {
			m->header_len = pos;
			m->has_body = true;
			m->body = d + end;
			m->body_len = len - end;
			return (long)n;
		}
		if (end > max_bytes) {
			sx_err_set(err, "header section longer than %zu bytes", max_bytes);
			m->error = RAW_ERR_HEADER_TOO_BIG;
			return -1;
		}
		if ((d[pos] == ' ' || d[pos] == '\t') && n > 0) {
			/* continuation: extend the current field */
			if (cur != NULL) {
				cur->raw_len = end - cur->offset;
				cur->eol_len = eol;
			}
			pos = end;
			continue;
		}
		if (n >= max_fields) {
			sx_err_set(err, "more than %zu header fields", max_fields);
			m->error = RAW_ERR_TOO_MANY_FIELDS;
			return -1;
		}
		if (fields != NULL) {
			const char *colon = memchr(d + pos, ':', end - pos);
			size_t nl;

			cur = &fields[n];
			cur->raw = d + pos;
			cur->offset = pos;
			cur->raw_len = end - pos;
			cur->eol_len = eol;
			cur->name = d + pos;
			if (colon == NULL || d[pos] == ' ' || d[pos] == '\t') {
				cur->name_len = 0;
				cur->value_off = cur->raw_len;
			} else {
				nl = (size_t)(colon - (d + pos));
				cur->value_off = nl + 1;
				while (nl > 0 &&
				       (d[pos + nl - 1] == ' ' || d[pos + nl - 1] == '\t'))
					nl--;
				cur->name_len = nl;
			}
		}
		n++;
		pos = end;
	}
	m->header_len = len;
	m->body = d + len;
	m->body_len = 0;
	return (long)n;
}

int raw_message_parse(struct raw_message *m, struct arena *arena, const char *data, size_t len,
                      const struct raw_limits *limits, struct sx_err *err)
{
	size_t max_fields = RAW_MAX_FIELDS, max_bytes = RAW_MAX_HEADER_BYTES;
	long n;

	memset(m, 0, sizeof(*m));
	m->data = data;
	m->len = len;
	if (limits != NULL && limits->max_fields > 0)
		max_fields = limits->max_fields;
	if (limits != NULL && limits->max_header_bytes > 0)
		max_bytes = limits->max_header_bytes;
	n = scan(m, NULL, max_fields, max_bytes, err);
	if (n < 0)
		return -1;
	if (n > 0) {
		m->fields = arena_array(arena, (size_t)n, sizeof(*m->fields));
		if (m->fields == NULL) {
			sx_err_set(err, "out of memory");
			m->error = RAW_ERR_NOMEM;
			return -1;
		}
		if (scan(m, m->fields, (size_t)n, max_bytes, err) != n) {
			sx_err_set(err, "internal error: header scan mismatch");
			m->error = RAW_ERR_INTERNAL;
			return -1;
		}
	}
	m->nfields = (size_t)n;
	return 0;
}

bool raw_error_is_limit(enum raw_error e)
{
	return e == RAW_ERR_TOO_MANY_FIELDS || e == RAW_ERR_HEADER_TOO_BIG;
}

bool raw_field_is(const struct raw_field *f, const char *name, size_t name_len)
{
	return f->name_len > 0 && str_case_eq_n(f->name, f->name_len, name, name_len);
}

size_t raw_count(const struct raw_message *m, const char *name, size_t name_len)
{
	size_t i, n = 0;

	for (i = 0; i < m->nfields; i++)
		if (raw_field_is(&m->fields[i], name, name_len))
			n++;
	return n;
}

const struct raw_field *raw_find_from_bottom(const struct raw_message *m, const char *name,
                                             size_t name_len, size_t nth, size_t *index)
{
	size_t i;

	for (i = m->nfields; i > 0; i--) {
		if (!raw_field_is(&m->fields[i - 1], name, name_len))
			continue;
		if (nth-- == 0) {
			if (index != NULL)
				*index = i - 1;
			return &m->fields[i - 1];
		}
	}
	return NULL;
}

const struct raw_field *raw_find_first(const struct raw_message *m, const char *name,
                                       size_t name_len)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (raw_field_is(&m->fields[i], name, name_len))
			return &m->fields[i];
	return NULL;
}

void raw_field_value(const struct raw_field *f, const char **value, size_t *len)
{
	size_t end = f->raw_len - f->eol_len;

	if (f->value_off >= end) {
		*value = f->raw + end;
		*len = 0;
		return;
	}
	*value = f->raw + f->value_off;
	*len = end - f->value_off;
}
