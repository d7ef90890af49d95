/*
 * mbox - split an mbox file into its messages, and undo the ">From "
 * quoting of their bodies
 *
 * SUMMARY
 *	struct mbox_iter it;
 *	struct mbox_msg mm;
 *	mbox_iter_init(&it, data, len);
 *	while (mbox_next(&it, &mm)) ... data + mm.offset, mm.len ...
 *	n = mbox_unquote(out, data + mm.offset, mm.len, MBOX_QUOTING_RD);
 *
 * DESCRIPTION
 *	An mbox is messages one after the other, each introduced by a
 *	"From_" line ("From sender date").  A separator is a line that starts
 *	with "From " at the start of the file or right after an empty line;
 *	the empty line belongs to the separator, not to the message before
 *	(writers add one after every message).  A "From " line elsewhere is
 *	message text, which is what a careless writer leaves unquoted.  Bytes
 *	before the first From_ line, if any, are a message of their own.
 *	Line ends may be LF or CRLF.
 *
 *	Writers quote body lines that could be read as separators:
 *	  mboxo   "From " becomes ">From "; a ">From " already in the text is
 *	          left alone, so reading cannot tell the two apart
 *	  mboxrd  any ">*From " gets one more '>', so reading removes exactly
 *	          one '>' from every ">+From " line and gets the text back
 *	mbox_unquote() undoes either (MBOX_QUOTING_RD removes one '>' from
 *	">+From " lines, MBOX_QUOTING_O only from ">From " lines) or nothing.
 *	The default everywhere is mboxrd: on an mboxo file it differs only
 *	for lines that were ">>From " in the original text.
 *
 *	Nothing is copied by the iterator; the work is linear in the input.
 */
#ifndef SMEXOP_MIME_MBOX_H
#define SMEXOP_MIME_MBOX_H

#include <stdbool.h>
#include <stddef.h>

enum mbox_quoting {
	MBOX_QUOTING_RD,   /* mboxrd: ">+From " loses one '>' */
	MBOX_QUOTING_O,    /* mboxo: ">From " becomes "From " */
	MBOX_QUOTING_NONE, /* bytes as they are */
};

struct mbox_iter {
	const char *data;
	size_t len;
	size_t pos;   /* where the next From_ line (or message) starts */
	size_t count; /* messages returned so far */
};

struct mbox_msg {
	size_t index;       /* 1-based position in the file */
	size_t offset, len; /* the message, without its From_ line */
	size_t from_off;    /* the From_ line, without its line end */
	size_t from_len;    /* 0 when the message had none (bytes before the first) */
};

/* mbox_is_mbox - data starts with a From_ line */
bool mbox_is_mbox(const char *data, size_t len);
/* mbox_iter_init - iterate over data[0..len) */
void mbox_iter_init(struct mbox_iter *it, const char *data, size_t len);
/* mbox_next - the next message into *out; false at the end */
bool mbox_next(struct mbox_iter *it, struct mbox_msg *out);
/* mbox_quoting_parse - "rd", "o" or "none"; -1 for anything else */
int mbox_quoting_parse(const char *s, enum mbox_quoting *out);
/*
 * mbox_unquote - in[0..len) with the quoting q undone into out (at least
 * len bytes; out may be in); returns the new length
 */
size_t mbox_unquote(char *out, const char *in, size_t len, enum mbox_quoting q);

#endif
