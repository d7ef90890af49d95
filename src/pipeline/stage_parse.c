/*
 * stage_parse - stage 3: split the message into header fields and body
 * and pick out the fields later stages and the trace need
 *
 * Reads the raw message (mime/raw.h: views into the received bytes, no
 * copy) under the configured header limit, and extracts From, Subject,
 * Message-ID and Date unfolded.  A header section over the limit is
 * refused with 552 5.3.4, as Postfix does for header_size_limit overruns
 * that it cannot truncate safely (we never alter signed bytes).  MIME
 * structure, decoded text and URLs come with the MIME milestone; this
 * stage is where they will be produced.
 */
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "mime/raw.h"
#include "pipeline/stage.h"

#define STAGE_PARSE_FIELD_MAX 998 /* RFC 5322 line length: longer values are cut */

/* stage_parse_unfold - the field's value without CRLFs and leading blanks,
 * at most STAGE_PARSE_FIELD_MAX bytes, control bytes as '?' */
static const char *stage_parse_unfold(struct arena *a, const struct raw_field *f)
{
	const char *v;
	size_t len, i, o = 0;
	char *out;

	raw_field_value(f, &v, &len);
	while (len > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
		v++;
		len--;
	}
	out = arena_alloc(a, (len < STAGE_PARSE_FIELD_MAX ? len : STAGE_PARSE_FIELD_MAX) + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len && o < STAGE_PARSE_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n')
			continue;
		out[o++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
	return out;
}

/* stage_parse_field - the unfolded value of the first field called name */
static int stage_parse_field(struct msg *m, const char *name, const char **out)
{
	const struct raw_field *f = raw_find_first(&m->raw, name, strlen(name));

	*out = NULL;
	if (f == NULL)
		return 0;
	*out = stage_parse_unfold(m->arena, f);
	return *out != NULL ? 0 : -1;
}

static enum stage_result stage_parse_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	const struct smexop_config *cfg = st->env->cfg;
	struct raw_limits lim = { 0, 0 };
	struct sx_err err;

	(void)ev;
	if (cfg != NULL)
		lim.max_header_bytes = (size_t)cfg->limits.header_size;
	m->raw_ok = false;
	if (m->data == NULL) {
		m->parse_error = "no message data";
		return STAGE_ERROR;
	}
	if (raw_message_parse(&m->raw, m->arena, m->data, m->len, &lim, &err) < 0) {
		m->parse_error = arena_strdup(m->arena, err.msg);
		/* only the two limits are the message's fault; running out of
		 * memory (or anything else) is ours: a 4xx, never a 5xx */
		if (m->parse_error == NULL || !raw_error_is_limit(m->raw.error))
			return STAGE_ERROR;
		msg_log(m, LOG_LEVEL_INFO, "parse", "error=header_limit");
		m->verdict.action = MSG_ACTION_REJECT;
		m->verdict.action_why = "header_limit";
		msg_reason_add(m, "HEADER_TOO_BIG", 0);
		msg_set_reply(m, 552, "5.3.4", "Message header size exceeds limit");
		return STAGE_DONE;
	}
	m->raw_ok = true;
	m->hdr.nfrom = raw_count(&m->raw, "From", 4);
	if (stage_parse_field(m, "From", &m->hdr.from) < 0 ||
	    stage_parse_field(m, "Subject", &m->hdr.subject) < 0 ||
	    stage_parse_field(m, "Message-ID", &m->hdr.message_id) < 0 ||
	    stage_parse_field(m, "Date", &m->hdr.date) < 0)
		return STAGE_ERROR;
	return STAGE_CONTINUE;
}

const struct stage_ops stage_parse_ops = {
	.name = "parse",
	.events = STAGE_EV_EOM,
	.run = stage_parse_run,
};
