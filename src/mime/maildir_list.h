/*
 * maildir_list - the messages of a Maildir, as paths, in a stable order
 *
 * SUMMARY
 *	struct maildir_list l;
 *	if (maildir_list_read(dir, &l, &err) == 0) ... l.paths[0 .. l.n) ...
 *	maildir_list_free(&l);
 *
 * DESCRIPTION
 *	A Maildir is a directory with cur/, new/ and tmp/ (maildir(5)); the
 *	messages are the files in cur/ and new/ (tmp/ holds deliveries in
 *	progress and is never read).  Names starting with '.' are skipped, as
 *	are subdirectories (a Maildir++ folder such as .Junk is a Maildir of
 *	its own).  The list is cur/ then new/, each sorted by name, so that two
 *	runs over the same directory give the same order.  A directory
 *	without cur/ and new/ is not a Maildir (maildir_list_is_maildir).
 *
 * LIMITS
 *	MAILDIR_LIST_MAX entries; a larger Maildir is an error, not a
 *	silent cut.
 */
#ifndef SMEXOP_MIME_MAILDIR_LIST_H
#define SMEXOP_MIME_MAILDIR_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define MAILDIR_LIST_MAX 10000000

struct maildir_list {
	char **paths; /* "DIR/cur/NAME", malloc'ed */
	size_t n, cap;
};

/* maildir_list_is_maildir - dir has the subdirectories cur/ and new/ */
bool maildir_list_is_maildir(const char *dir);
/* maildir_list_read - fill *l (initialised here); 0, or -1 with err */
int maildir_list_read(const char *dir, struct maildir_list *l, struct sx_err *err);
/* maildir_list_free - release the paths; l may be reused afterwards */
void maildir_list_free(struct maildir_list *l);

#endif
