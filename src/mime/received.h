/*
 * received - the Received trace field (RFC 5321 4.4, RFC 5322 3.6.7) as
 * real MTAs write it
 *
 * received_parse() reads one field value into its clauses: from, by, via,
 * with, id and for, in any order, each followed by any number of comments,
 * and the date after the last ";" (outside comments and quoted strings),
 * read by date_parse() (mime/date.h).  What is not a clause is skipped.
 * The comments carry most of the interesting facts and each MTA writes
 * them its own way; these shapes are understood:
 *
 *   Postfix    from HELO (RDNS [IP]) by HOST (Postfix) with ESMTPS id X
 *              (using TLSv1.3 with cipher C (256/256 bits)) for <R>; DATE
 *   Sendmail   from HELO (IDENT:user@RDNS [IP]) by HOST (8.15.2/8.15.2)
 *              with ESMTP id X (version=TLSv1.2 cipher=C bits=256 verify=NOT)
 *   Exim       from RDNS ([IP] helo=HELO) by HOST with esmtps (TLS1.3)
 *              tls C (Exim 4.96) (envelope-from <S>) id X for R; DATE
 *   qmail      from RDNS (HELO name) (IP) by HOST with SMTP; DATE
 *   Exchange   from HELO (IP) by HOST (IP) with Microsoft SMTP Server
 *              (version=TLS1_2, cipher=C) id 15.20.1.2 via Frontend Transport
 *   Gmail      from HELO (RDNS. [IP]) by mx.google.com with ESMTPS id X for
 *              <R> (Google Transport Security); DATE, and "by <IPv6>"
 *   fetchmail  from HOST [IP] by localhost with IMAP (fetchmail-5.9.0)
 *
 * Address literals lose their brackets and an "IPv6:" tag and are kept
 * only when they parse as an address.  When a comment names the HELO
 * (helo=, HELO), the name after "from" is the reverse name; otherwise it
 * is the HELO and the first name in the first comment is the reverse
 * name.  TLS is seen in the protocol (ESMTPS, ESMTPSA, LMTPS ... RFC 3848)
 * and in comments (version=, cipher=, "using TLSv1.3 with cipher", Exim's
 * "(TLS1.3) tls C" and "(TLSv1.2:C:256)", "Google Transport Security").
 *
 * Hostile input: values over RECEIVED_MAX_LEN are refused, comments
 * nested deeper than RECEIVED_MAX_NESTING end the parse of that part, at
 * most RECEIVED_MAX_WORDS extra words join a clause value; the work is
 * linear in the input.  Strings are copies in the caller's arena, with
 * folding collapsed to single spaces; bytes are otherwise as written.
 */
#ifndef SMEXOP_MIME_RECEIVED_H
#define SMEXOP_MIME_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/date.h"

struct arena;

#define RECEIVED_MAX_LEN     16384
#define RECEIVED_MAX_NESTING 32
#define RECEIVED_MAX_WORDS   8

struct received {
	const char *from;          /* the name after "from", as written; NULL if absent */
	const char *helo;          /* the HELO/EHLO name; NULL if unknown */
	const char *rdns;          /* the reverse name the receiver found ("unknown" kept) */
	const char *ip;            /* the sending address, no brackets; NULL if none */
	const char *by;            /* the receiving host */
	const char *by_ip;         /* its address, when written */
	const char *by_software;   /* a comment after by: "Postfix", "8.11.6/8.11.6" */
	const char *via;           /* link ("Frontend Transport") */
	const char *with;          /* protocol: "ESMTPS", "Microsoft SMTP Server", "IMAP" */
	const char *id;            /* the receiver's queue id */
	const char *for_rcpt;      /* the recipient, angle brackets removed */
	const char *envelope_from; /* Exim's envelope-from, qmail's envelope-sender */
	const char *tls_version;   /* "TLSv1.3", "TLS1_2" ...; NULL if not said */
	const char *tls_cipher;
	bool tls;              /* the protocol or a comment says TLS was used */
	bool authenticated;    /* ESMTPA, ESMTPSA, "(authenticated ...)" */
	const char *date_text; /* after the last ';', trimmed; NULL without ';' */
	bool has_date;         /* date_text read as a date */
	struct date_time date;
};

/*
 * received_parse - read the value of one Received field (the bytes after
 * the colon).  0 with *r filled as far as the text allows, or -1 when the
 * value is longer than RECEIVED_MAX_LEN or memory runs out.
 */
int received_parse(struct received *r, struct arena *a, const char *value, size_t len);

#endif
