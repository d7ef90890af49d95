/*
 * mbox - mbox splitting and ">From " unquoting (see mbox.h for the rules)
 */
#include <string.h>

#include "mime/mbox.h"

#define MBOX_FROM     "From "
#define MBOX_FROM_LEN 5

bool mbox_is_mbox(const char *data, size_t len)
{
	return data != NULL && len >= MBOX_FROM_LEN && memcmp(data, MBOX_FROM, MBOX_FROM_LEN) == 0;
}

void mbox_iter_init(struct mbox_iter *it, const char *data, size_t len)
{
	it->data = data != NULL ? data : "";
	it->len = data != NULL ? len : 0;
	it->pos = 0;
	it->count = 0;
}

/* mbox_separator - the start of the empty line before the next separator
 * at or after from (its From_ line starts at *next), or len */
static size_t mbox_separator(const char *d, size_t len, size_t from, size_t *next)
{
	size_t p = from;

	while (p < len) {
		const char *hit = memmem(d + p, len - p, "\n" MBOX_FROM, MBOX_FROM_LEN + 1);
		size_t nl;

		if (hit == NULL)
			break;
		nl = (size_t)(hit - d); /* the LF that ends the empty line, if it is one */
		if (nl > from && d[nl - 1] == '\n') {
			*next = nl + 1;
			return nl;
		}
		if (nl > from + 1 && d[nl - 1] == '\r' && d[nl - 2] == '\n') {
			*next = nl + 1;
			return nl - 1;
		}
		p = nl + 1;
	}
	*next = len;
	return len;
}

bool mbox_next(struct mbox_iter *it, struct mbox_msg *out)
{
	const char *d = it->data;
	size_t start = it->pos, end, next, eol;

	if (start >= it->len)
		return false;
	memset(out, 0, sizeof(*out));
	if (mbox_is_mbox(d + start, it->len - start)) {
		const char *lf = memchr(d + start, '\n', it->len - start);

		eol = lf != NULL ? (size_t)(lf - d) : it->len;
		out->from_off = start;
		out->from_len = eol - start;
		if (out->from_len > 0 && d[eol - 1] == '\r')
			out->from_len--;
		start = lf != NULL ? eol + 1 : it->len;
	}
	/* a message ends before the empty line of the next separator; the
	 * search starts at the message's first byte so that an empty message
	 * (From_ line, empty line, From_ line) is found too */
	end = mbox_separator(d, it->len, start > 0 ? start - 1 : 0, &next);
	if (end < start) /* the From_ line was followed by the empty line itself */
		end = start;
	if (next >= it->len) {
		/* the last message: the writer's final empty line is not its text */
		if (end - start >= 2 && d[end - 1] == '\n' && d[end - 2] == '\n')
			end--;
		else if (end - start >= 3 && d[end - 1] == '\n' && d[end - 2] == '\r' &&
		         d[end - 3] == '\n')
			end -= 2;
	}
	out->offset = start;
	out->len = end - start;
	out->index = ++it->count;
	it->pos = next;
	return true;
}

int mbox_quoting_parse(const char *s, enum mbox_quoting *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "rd") == 0 || strcmp(s, "mboxrd") == 0)
		*out = MBOX_QUOTING_RD;
	else if (strcmp(s, "o") == 0 || strcmp(s, "mboxo") == 0)
		*out = MBOX_QUOTING_O;
	else if (strcmp(s, "none") == 0)
		*out = MBOX_QUOTING_NONE;
	else
		return -1;
	return 0;
}

/* mbox_quoted - the line at in[0..n) is quoted under q */
static bool mbox_quoted(const char *in, size_t n, enum mbox_quoting q)
{
	size_t i = 0;

	if (n == 0 || in[0] != '>')
		return false;
	if (q == MBOX_QUOTING_RD)
		while (i < n && in[i] == '>')
			i++;
	else
		i = 1;
	return n - i >= MBOX_FROM_LEN && memcmp(in + i, MBOX_FROM, MBOX_FROM_LEN) == 0;
}

size_t mbox_unquote(char *out, const char *in, size_t len, enum mbox_quoting q)
{
	size_t i = 0, o = 0;

	if (q == MBOX_QUOTING_NONE) {
		if (out != in && len > 0)
			memmove(out, in, len);
		return len;
	}
	while (i < len) {
		const char *lf = memchr(in + i, '\n', len - i);
		size_t n = lf != NULL ? (size_t)(lf - in) + 1 - i : len - i;

		if (mbox_quoted(in + i, n, q)) {
			i++; /* drop one '>' */
			n--;
		}
		memmove(out + o, in + i, n);
		o += n;
		i += n;
	}
	return o;
}
