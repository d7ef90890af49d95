/*
 * headers - the header fields the gateway writes on a message, and the
 * message as it leaves the pipeline
 *
 * headers_build() fills m->prepend with, top to bottom:
 *
 *   Authentication-Results: <authserv-id>; spf=... (auth/authcheck, folded)
 *   X-Smexop-Antispam-Report: CIP:<ip>;CTRY:;LANG:;H:<helo>;PTR:<ptr>;
 *       DIR:INB;SCL:<n>;SRV:;IPV:<CAL|NLI>;SFV:<...>;CAT:<...>;SFTY:;
 *       BCL:<n>;ACT:<action>;MID:<message id>;   (one line)
 *   X-Spam-Flag: YES | NO
 *   X-Spam-Status: Yes|No, score=<SCL> required=5 tests=<reasons|none>
 *   Received: from <helo> (<ptr|unknown> [<ip>])
 *   	by <hostname> (smexop) with ESMTPS id <message id>
 *   	(using TLSv1.3 with cipher ...)
 *   	for <rcpt>; <RFC 5322 date>
 *
 * The report field has the shape of EOP's X-Forefront-Antispam-Report
 * (same keys and order; CTRY, LANG, SRV and SFTY stay empty until the
 * engines that fill them exist); BCL, ACT and MID are ours.  X-Spam-Flag
 * and X-Spam-Status use SpamAssassin's spelling so existing Sieve rules
 * (`header :is "X-Spam-Flag" "YES"`, spamtest) work: YES when the SCL is
 * 5 or more.  Values that come from the peer (HELO, PTR) are cut to 255
 * bytes and any byte outside printable ASCII, ';' and space become '_',
 * so a HELO can never add a field or a report key.
 *
 * It also fills m->strip with the incoming Authentication-Results fields
 * that claim our authserv-id (forged, or from an earlier pass), which
 * headers_output() leaves out.  Every line ends in CRLF.
 */
#ifndef SMEXOP_PIPELINE_HEADERS_H
#define SMEXOP_PIPELINE_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/msg.h"

#define HEADERS_SCL_SPAM 5   /* X-Spam-Flag: YES from this SCL on */
#define HEADERS_PEER_MAX 255 /* HELO and PTR bytes written into fields */

struct headers_opts {
	const char *hostname;    /* ours, for Received */
	const char *authserv_id; /* ours, for Authentication-Results */
};

/* headers_build - fill m->prepend (one field each, no final CRLF) and
 * m->strip; 0, or -1 when memory runs out */
int headers_build(struct msg *m, const struct headers_opts *o);

/* headers_build_received - only our Received field (outbound mail, which
 * gets no verdict fields), appended to m->prepend; 0 or -1 */
int headers_build_received(struct msg *m, const struct headers_opts *o);

/* headers_output - write the message as it leaves: m->prepend, then the
 * received bytes without the m->strip ranges; stops at the first write
 * error and returns it (0 when all went out) */
int headers_output(const struct msg *m, int (*write)(void *arg, const char *p, size_t n),
                   void *arg);

/* headers_output_body - only the received bytes without the m->strip ranges */
int headers_output_body(const struct msg *m, int (*write)(void *arg, const char *p, size_t n),
                        void *arg);

/* headers_date - an RFC 5322 date-time in UTC for t: "Sat, 29 Nov 2025 00:52:00 +0000" */
const char *headers_date(int64_t t, char *out, size_t outsize);

#endif
