/*
 * fuzz_smtp_parse - the SMTP command parser and line reader on arbitrary
 * bytes: whatever parses must hold a NUL-terminated path within its cap
 * and only what the flags allow; the line reader must consume every byte
 * and never hand out a line over its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flagsets[] = { 0, SMTP_PARSE_ESMTP,
		                             SMTP_PARSE_ESMTP | SMTP_PARSE_UTF8_OK,
		                             SMTP_PARSE_ESMTP | SMTP_PARSE_NO_UTF8 |
		                                 SMTP_PARSE_NO_DSN | SMTP_PARSE_NO_BINARY };
	const char *text = (const char *)data;
	struct smtp_line l;
	struct smtp_cmd c;
	size_t i, off = 0, used;

	for (i = 0; i < sizeof(flagsets) / sizeof(flagsets[0]); i++) {
		enum smtp_parse_status st = smtp_parse_command(text, size, flagsets[i], &c);

		if (st != SMTP_PARSE_OK)
			continue;
		if (strlen(c.path) > SMTP_PATH_MAX || strlen(c.envid) > SMTP_ENVID_MAX ||
		    strlen(c.orcpt) > SMTP_ORCPT_MAX)
			abort();
		if (c.arg != NULL && (c.arg < text || c.arg + c.arg_len > text + size))
			abort();
		if (c.path_utf8 && !smtp_utf8_valid((const unsigned char *)c.path, strlen(c.path)))
			abort();
		if (c.verb == SMTP_VERB_RCPT && c.path_utf8 && !(flagsets[i] & SMTP_PARSE_UTF8_OK))
			abort();
		if (c.verb == SMTP_VERB_MAIL && c.path_utf8 && !c.smtputf8)
			abort();
	}

	/* the line reader, fed in uneven pieces */
	smtp_line_init(&l, 64);
	while (off < size) {
		size_t k = 1 + (data[off] % 13);

		if (k > size - off)
			k = size - off;
		while (k > 0) {
			enum smtp_line_status st = smtp_line_push(&l, text + off, k, &used);

			if (used == 0 || used > k)
				abort();
			if (st == SMTP_LINE_READY &&
			    (l.buf.len > 62 || memchr(l.buf.data, '\n', l.buf.len)))
				abort();
			off += used;
			k -= used;
		}
	}
	smtp_line_free(&l);
	return 0;
}
