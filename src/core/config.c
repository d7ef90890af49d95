/*
 * config - load the YAML file through the schema tables (see config.h)
 *
 * Two passes.  First libfyaml's event parser turns the bytes into a small
 * tree of our own (ynode) in a scratch arena, with the 1-based position
 * of every node; the tree has a node cap and a depth cap, aliases and
 * tags are refused, and libfyaml's diagnostics are collected instead of
 * printed.  Then the schema walk fills struct smexop_config: every
 * section first gets its defaults (parsed by the same code as the file),
 * then the file's values are checked and stored, and every error is
 * kept, up to CONFIG_MAX_ERRORS, so that one `config check` shows them
 * all.  The tree and libfyaml's objects are gone when config_load
 * returns; the configuration lives in its own arena.
 */
#include "core/config.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/net.h"
#include "core/str.h"

/* ---- the YAML tree ------------------------------------------------ */

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ, Y_ALIAS };

struct ynode {
	enum ykind kind;
	unsigned line, col;
	bool plain;       /* plain scalar: may be null */
	const char *text; /* scalar text, NUL-terminated (may hold NULs) */
	size_t len;
	struct ynode *first, *last; /* children; a map alternates key, value */
	struct ynode *next;
	size_t n; /* number of children */
};

struct loader {
	const char *file;
	struct arena *tmp; /* the tree; freed at the end of the load */
	struct arena *a;   /* the configuration */
	struct config_diag *diag;
	struct smexop_config *cfg;
	size_t nodes;
	bool oom;
};

/* config_verror - record one error at line:col (0:0 for the whole file) */
static void config_verror(struct loader *ld, unsigned line, unsigned col, const char *fmt,
                          va_list ap)
{
	struct config_diag *d = ld->diag;
	struct config_error *e;

	if (d->n >= CONFIG_MAX_ERRORS) {
		d->truncated = true;
		return;
	}
	e = &d->errors[d->n++];
	e->line = line;
	e->col = col;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

static void config_error_at(struct loader *ld, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void config_error_at(struct loader *ld, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(ld, line, col, fmt, ap);
	va_end(ap);
}

static void config_error(struct loader *ld, const struct ynode *y, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void config_error(struct loader *ld, const struct ynode *y, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(ld, y ? y->line : 0, y ? y->col : 0, fmt, ap);
	va_end(ap);
}

static void config_oom(struct loader *ld)
{
	if (!ld->oom)
		config_error_at(ld, 0, 0, "out of memory");
	ld->oom = true;
}

static void config_mark(const struct fy_mark *m, unsigned *line, unsigned *col)
{
	*line = m != NULL && m->line >= 0 ? (unsigned)m->line + 1 : 0;
	*col = m != NULL && m->column >= 0 ? (unsigned)m->column + 1 : 0;
}

/* config_node - a new tree node attached under parent (or as *root) */
static struct ynode *config_node(struct loader *ld, enum ykind kind, struct fy_event *ev,
                                 struct ynode *parent, struct ynode **root)
{
	struct ynode *y;

	if (++ld->nodes > CONFIG_MAX_NODES) {
		config_error_at(ld, 0, 0, "more than %d YAML nodes; the file is too complex",
		                CONFIG_MAX_NODES);
		return NULL;
	}
	y = arena_zalloc(ld->tmp, sizeof(*y));
	if (y == NULL) {
		config_oom(ld);
		return NULL;
	}
	y->kind = kind;
	config_mark(fy_event_start_mark(ev), &y->line, &y->col);
	/* an empty value has no position of its own: point at its key */
	if (y->line == 0 && parent != NULL) {
		y->line = parent->last ? parent->last->line : parent->line;
		y->col = parent->last ? parent->last->col : parent->col;
	}
	if (parent == NULL) {
		*root = y;
	} else {
		if (parent->last != NULL)
			parent->last->next = y;
		else
			parent->first = y;
		parent->last = y;
		parent->n++;
	}
	return y;
}

/* config_token_refuse - anchors and tags are refused where they appear */
static void config_token_refuse(struct loader *ld, struct fy_event *ev)
{
	struct fy_token *t;
	unsigned line, col;

	t = fy_event_get_anchor_token(ev);
	if (t != NULL) {
		config_mark(fy_token_start_mark(t), &line, &col);
		/* the mark is on the name; point at the '&' */
		config_error_at(ld, line, col > 1 ? col - 1 : col,
		                "anchors (&) are not supported; write the value out");
	}
	t = fy_event_get_tag_token(ev);
	if (t != NULL) {
		config_mark(fy_token_start_mark(t), &line, &col);
		config_error_at(ld, line, col, "YAML tags (!) are not supported");
	}
}

/*
 * config_sq_raw - the source of a single-quoted scalar that holds a ''
 * escape.  libfyaml 0.7 decodes consecutive '' escapes wrongly (its text
 * comes out NULL) and then leaks its chunk buffer, so those scalars are
 * decoded by config_sq_decode() from the input bytes instead.
 */
static bool config_sq_raw(struct fy_token *t, const char *data, size_t len, const char **raw,
                          size_t *rawlen)
{
	const struct fy_mark *sm, *em;

	if (fy_token_scalar_style(t) != FYSS_SINGLE_QUOTED)
		return false;
	sm = fy_token_start_mark(t);
	em = fy_token_end_mark(t);
	if (sm == NULL || em == NULL || sm->input_pos > em->input_pos || em->input_pos > len)
		return false;
	*raw = data + sm->input_pos;
	*rawlen = em->input_pos - sm->input_pos;
	return memmem(*raw, *rawlen, "''", 2) != NULL;
}

/*
 * config_sq_decode - YAML 1.2 single-quoted scalar content (7.3.2): ''
 * is a quote; a line break between text folds to a space, n empty lines
 * to n newlines; white space around breaks goes.  The result is never
 * longer than the source.
 */
static char *config_sq_decode(struct arena *a, const char *s, size_t n, size_t *outlen)
{
	char *out = arena_alloc(a, n + 1), *o = out;
	size_t i = 0, ls, le, k, breaks = 0;
	bool first = true, last;

	if (out == NULL)
		return NULL;
	for (;;) {
		ls = i;
		while (i < n && s[i] != '\n' && s[i] != '\r')
			i++;
		le = i;
		last = i >= n;
		if (!first)
			while (ls < le && (s[ls] == ' ' || s[ls] == '\t'))
				ls++;
		if (!last)
			while (le > ls && (s[le - 1] == ' ' || s[le - 1] == '\t'))
				le--;
		if (!first && ls == le && !last) {
			breaks++;
		} else {
			if (!first) {
				if (breaks > 0) {
					memset(o, '\n', breaks);
					o += breaks;
				} else {
					*o++ = ' ';
				}
				breaks = 0;
			}
			for (k = ls; k < le; k++) {
				*o++ = s[k];
				if (s[k] == '\'' && k + 1 < le && s[k + 1] == '\'')
					k++;
			}
			first = false;
		}
		if (last)
			break;
		i += s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

static void config_diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	/* everything is collected; nothing is ever printed by libfyaml */
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

/*
 * config_utf8_check - 0 when data is strict UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF); else -1 with the 1-based
 * position of the first bad byte.  libfyaml 0.7 can loop forever on some
 * invalid sequences (a '%' directive followed by 0xED), so it only ever
 * sees valid text.
 */
static int config_utf8_check(const unsigned char *p, size_t n, unsigned *line, unsigned *col)
{
	size_t i = 0, k, w;
	uint32_t cp;

	*line = 1;
	*col = 1;
	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] == '\n') {
				++*line;
				*col = 0;
			}
			i++;
			++*col;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			w = 2;
			cp = p[i] & 0x1f;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			w = 3;
			cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			w = 4;
			cp = p[i] & 0x07;
		} else {
			return -1;
		}
		if (n - i < w)
			return -1;
		for (k = 1; k < w; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((w == 3 && cp < 0x800) || (w == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += w;
		++*col;
	}
	return 0;
}

/*
 * config_flow_check - 0, or -1 with the position where flow collections
 * ([ and {) nest deeper than CONFIG_MAX_DEPTH.  libfyaml's scanner keeps
 * every token of an open flow collection (about 500 bytes per level), so
 * a megabyte of '[' would cost half a gigabyte before its own depth limit
 * fires.  Quotes open a scalar only where YAML lets them (after a space,
 * a line start or an indicator); comments and quoted text are skipped.
 */
static int config_flow_check(const char *p, size_t n, unsigned *line, unsigned *col)
{
	size_t i, depth = 0;
	char prev = '\n', q;

	*line = 1;
	*col = 0;
	for (i = 0; i < n; prev = p[i], i++) {
		++*col;
		if (p[i] == '\n') {
			++*line;
			*col = 0;
		} else if (p[i] == '#' && (prev == ' ' || prev == '\t' || prev == '\n')) {
			while (i + 1 < n && p[i + 1] != '\n')
				i++;
		} else if ((p[i] == '\'' || p[i] == '"') && strchr(" \t\n[{,:", prev) != NULL) {
			for (q = p[i++]; i < n && p[i] != q; i++) {
				if (p[i] == '\\' && q == '"' && i + 1 < n)
					i++;
				if (p[i] == '\n') {
					++*line;
					*col = 0;
				} else {
					++*col;
				}
			}
			++*col;
			if (i >= n)
				break;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > CONFIG_MAX_DEPTH)
				return -1;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

/*
 * config_tree - parse data into a tree; *root is NULL for an empty file.
 * Returns 0, or -1 after recording the errors.
 */
static int config_tree(struct loader *ld, const char *data, size_t len, struct ynode **root)
{
	struct ynode *stack[CONFIG_MAX_DEPTH + 1];
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg pcfg;
	struct fy_diag *diag;
	struct fy_parser *p = NULL;
	struct fy_event *ev;
	struct fy_diag_error *de;
	struct ynode *y;
	size_t depth = 0, errs_before = ld->diag->n;
	unsigned docs = 0, line, col;
	void *it = NULL;
	bool stop = false, fatal = false;
	const char *text;
	size_t tlen;

	*root = NULL;
	if (config_utf8_check((const unsigned char *)data, len, &line, &col) < 0) {
		config_error_at(ld, line, col, "not valid UTF-8");
		return -1;
	}
	if (config_flow_check(data, len, &line, &col) < 0) {
		config_error_at(ld, line, col, "nested more than %d levels deep", CONFIG_MAX_DEPTH);
		return -1;
	}
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = config_diag_output;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (diag == NULL) {
		config_oom(ld);
		return -1;
	}
	fy_diag_set_collect_errors(diag, true);
	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE;
	pcfg.diag = diag;
	p = fy_parser_create(&pcfg);
	if (p == NULL || fy_parser_set_string(p, data, len) != 0) {
		config_oom(ld);
		fatal = true;
		goto out;
	}
	while (!stop && (ev = fy_parser_parse(p)) != NULL) {
		y = NULL;
		switch (ev->type) {
		case FYET_DOCUMENT_START:
			if (++docs > 1) {
				config_mark(fy_event_start_mark(ev), &line, &col);
				config_error_at(ld, line, col,
				                "only one YAML document is allowed (remove the "
				                "second '---')");
				stop = fatal = true;
			}
			break;
		case FYET_MAPPING_START:
		case FYET_SEQUENCE_START:
			config_token_refuse(ld, ev);
			y = config_node(ld, ev->type == FYET_MAPPING_START ? Y_MAP : Y_SEQ, ev,
			                depth ? stack[depth - 1] : NULL, root);
			if (y == NULL) {
				stop = true;
				break;
			}
			if (depth >= CONFIG_MAX_DEPTH) {
				config_error(ld, y, "nested more than %d levels deep",
				             CONFIG_MAX_DEPTH);
				stop = fatal = true;
				break;
			}
			stack[depth++] = y;
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			if (depth > 0)
				depth--;
			break;
		case FYET_SCALAR:
			config_token_refuse(ld, ev);
			y = config_node(ld, Y_SCALAR, ev, depth ? stack[depth - 1] : NULL, root);
			if (y == NULL) {
				stop = true;
				break;
			}
			if (config_sq_raw(ev->scalar.value, data, len, &text, &tlen)) {
				y->text = config_sq_decode(ld->tmp, text, tlen, &y->len);
				if (y->text == NULL) {
					config_oom(ld);
					stop = true;
					break;
				}
				tlen = 0;
			} else {
				text = fy_token_get_text(ev->scalar.value, &tlen);
				if (text == NULL) {
					text = "";
					tlen = 0;
				}
			}
			y->plain = fy_token_scalar_style(ev->scalar.value) == FYSS_PLAIN;
			/* libfyaml marks the text; point at the opening quote */
			if ((fy_token_scalar_style(ev->scalar.value) == FYSS_SINGLE_QUOTED ||
			     fy_token_scalar_style(ev->scalar.value) == FYSS_DOUBLE_QUOTED) &&
			    y->col > 1 && fy_event_start_mark(ev) != NULL)
				y->col--;
			if (y->text == NULL) {
				/* a copy of the true bytes: the text may hold NULs */
				char *t = arena_alloc(ld->tmp, tlen + 1);
				if (t == NULL) {
					config_oom(ld);
					stop = true;
					break;
				}
				memcpy(t, text, tlen);
				t[tlen] = '\0';
				y->text = t;
				y->len = tlen;
			}
			break;
		case FYET_ALIAS:
			y = config_node(ld, Y_ALIAS, ev, depth ? stack[depth - 1] : NULL, root);
			if (y == NULL) {
				stop = true;
				break;
			}
			if (y->col > 1 && fy_event_start_mark(ev) != NULL)
				y->col--; /* the mark is on the name; point at the '*' */
			config_error(ld, y, "aliases (*) are not supported; write the value out");
			break;
		default:
			break;
		}
		fy_parser_event_free(p, ev);
	}
	if (fy_parser_get_stream_error(p) || fy_diag_got_error(diag)) {
		while ((de = fy_diag_errors_iterate(diag, &it)) != NULL) {
			if (de->type < FYET_ERROR)
				continue;
			config_error_at(ld, de->line > 0 ? (unsigned)de->line : 0,
			                de->column > 0 ? (unsigned)de->column : 0, "%s",
			                de->msg ? de->msg : "YAML syntax error");
		}
		if (ld->diag->n == errs_before)
			config_error_at(ld, 0, 0, "YAML syntax error");
		fatal = true;
	}
	/* aliases, anchors and tags were reported, but the tree is whole:
	 * the schema walk can still find the other errors */
	if (stop || ld->oom)
		fatal = true;
out:
	if (p != NULL)
		fy_parser_destroy(p);
	fy_diag_destroy(diag);
	return fatal || ld->oom ? -1 : 0;
}

/* ---- value syntax -------------------------------------------------- */

static bool config_is_null(const struct ynode *y)
{
	if (y->kind != Y_SCALAR || !y->plain)
		return false;
	return y->len == 0 || strcmp(y->text, "~") == 0 || strcmp(y->text, "null") == 0 ||
	       strcmp(y->text, "Null") == 0 || strcmp(y->text, "NULL") == 0;
}

/* config_mul - *v = *v * m + add without overflow; 0 or -1 */
static int config_mul_add(uint64_t *v, uint64_t m, uint64_t add)
{
	if (m != 0 && *v > (UINT64_MAX - add) / m)
		return -1;
	*v = *v * m + add;
	return 0;
}

int config_parse_size(const char *s, size_t n, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{ "", 1 },
		{ "b", 1 },
		{ "k", 1024 },
		{ "kb", 1024 },
		{ "kib", 1024 },
		{ "m", 1024 * 1024 },
		{ "mb", 1024 * 1024 },
		{ "mib", 1024 * 1024 },
		{ "g", 1024 * 1024 * 1024 },
		{ "gb", 1024 * 1024 * 1024 },
		{ "gib", 1024 * 1024 * 1024 },
	};
	size_t i = 0, d, j;
	uint64_t v;

	while (i < n && str_is_digit((unsigned char)s[i]))
		i++;
	if (i == 0 || str_to_u64(s, i, 0, UINT64_MAX, &v) < 0)
		return -1;
	d = i;
	if (i < n && s[i] == ' ')
		i++;
	for (j = 0; j < sizeof(units) / sizeof(units[0]); j++) {
		if (!str_case_eq_n(s + i, n - i, units[j].unit, strlen(units[j].unit)))
			continue;
		if (units[j].unit[0] == '\0' && i != d)
			return -1; /* a trailing space and no unit */
		if (config_mul_add(&v, units[j].mul, 0) < 0)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int config_parse_duration(const char *s, size_t n, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		/* "ms" before "m" so that the longer unit wins */
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 3600 * 1000 },
		{ "d", 24 * 3600 * 1000 },
	};
	size_t i = 0, d, j, ul;
	uint64_t total = 0, v;
	unsigned parts = 0;

	/* plain seconds */
	if (n > 0 && str_to_u64(s, n, 0, UINT64_MAX / 1000, &v) == 0) {
		*out = v * 1000;
		return 0;
	}
	while (i < n) {
		d = i;
		while (i < n && str_is_digit((unsigned char)s[i]))
			i++;
		if (i == d || str_to_u64(s + d, i - d, 0, UINT64_MAX, &v) < 0)
			return -1;
		for (j = 0; j < sizeof(units) / sizeof(units[0]); j++) {
			ul = strlen(units[j].unit);
			if (n - i >= ul && str_case_eq_n(s + i, ul, units[j].unit, ul) &&
			    (i + ul == n || str_is_digit((unsigned char)s[i + ul])))
				break;
		}
		if (j == sizeof(units) / sizeof(units[0]))
			return -1;
		i += ul;
		if (config_mul_add(&v, units[j].ms, 0) < 0 || total > UINT64_MAX - v)
			return -1;
		total += v;
		parts++;
	}
	if (parts == 0)
		return -1;
	*out = total;
	return 0;
}

const char *config_format_size(uint64_t bytes, char *out, size_t outsize)
{
	if (bytes != 0 && bytes % (1024 * 1024 * 1024) == 0)
		snprintf(out, outsize, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes != 0 && bytes % (1024 * 1024) == 0)
		snprintf(out, outsize, "%lluM", (unsigned long long)(bytes >> 20));
	else if (bytes != 0 && bytes % 1024 == 0)
		snprintf(out, outsize, "%lluk", (unsigned long long)(bytes >> 10));
	else
		snprintf(out, outsize, "%llu", (unsigned long long)bytes);
	return out;
}

const char *config_format_duration(uint64_t ms, char *out, size_t outsize)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "d", 24 * 3600 * 1000 },
		{ "h", 3600 * 1000 },
		{ "m", 60 * 1000 },
		{ "s", 1000 },
	};
	size_t j;

	for (j = 0; j < sizeof(units) / sizeof(units[0]); j++)
		if (ms != 0 && ms % units[j].ms == 0) {
			snprintf(out, outsize, "%llu%s", (unsigned long long)(ms / units[j].ms),
			         units[j].unit);
			return out;
		}
	snprintf(out, outsize, "%llums", (unsigned long long)ms);
	return out;
}

/* config_format_num - a number of the entry's type, for messages and docs */
static const char *config_format_num(const struct config_entry *e, uint64_t v, char *out,
                                     size_t outsize)
{
	if (e->type == CONFIG_SIZE)
		return config_format_size(v, out, outsize);
	if (e->type == CONFIG_DURATION)
		return config_format_duration(v, out, outsize);
	snprintf(out, outsize, "%llu", (unsigned long long)v);
	return out;
}

/* config_words - "a, b, c" for an enum */
static const char *config_words(const struct config_entry *e, char *out, size_t outsize)
{
	size_t i, used = 0;
	int k;

	out[0] = '\0';
	for (i = 0; e->words != NULL && e->words[i] != NULL; i++) {
		k = snprintf(out + used, outsize - used, "%s%s", i ? ", " : "", e->words[i]);
		if (k < 0 || (size_t)k >= outsize - used)
			break;
		used += (size_t)k;
	}
	return out;
}

const char *config_type_name(const struct config_entry *e, char *out, size_t outsize)
{
	static const char *const names[] = {
		[CONFIG_BOOL] = "bool",          [CONFIG_INT] = "integer",
		[CONFIG_SIZE] = "size",          [CONFIG_DURATION] = "duration",
		[CONFIG_STRING] = "string",      [CONFIG_PATH] = "path",
		[CONFIG_ENUM] = "enum",          [CONFIG_IP] = "IP address",
		[CONFIG_HOSTPORT] = "host:port", [CONFIG_LIST] = "list",
		[CONFIG_SECTION] = "section",    [CONFIG_OBJLIST] = "list of objects",
	};
	static const char *const plurals[] = {
		[CONFIG_BOOL] = "bools",         [CONFIG_INT] = "integers",
		[CONFIG_SIZE] = "sizes",         [CONFIG_DURATION] = "durations",
		[CONFIG_STRING] = "strings",     [CONFIG_PATH] = "paths",
		[CONFIG_ENUM] = "words",         [CONFIG_IP] = "IP addresses",
		[CONFIG_HOSTPORT] = "host:port",
	};

	if (e->type == CONFIG_LIST && e->item != NULL && e->item->type <= CONFIG_HOSTPORT)
		snprintf(out, outsize, "list of %s", plurals[e->item->type]);
	else
		snprintf(out, outsize, "%s", names[e->type]);
	return out;
}

/* config_expect - what a value of this entry looks like, for messages */
static const char *config_expect(const struct config_entry *e, char *out, size_t outsize)
{
	char words[256];

	switch (e->type) {
	case CONFIG_BOOL:
		return "expected true or false";
	case CONFIG_INT:
		return "expected a number";
	case CONFIG_SIZE:
		return "expected a size such as 64k, 10M or 1024 (bytes)";
	case CONFIG_DURATION:
		return "expected a duration such as 500ms, 30s, 5m, 2h or 7d";
	case CONFIG_STRING:
		return "expected a string";
	case CONFIG_PATH:
		return "expected a path";
	case CONFIG_ENUM:
		snprintf(out, outsize, "must be one of: %s", config_words(e, words, sizeof(words)));
		return out;
	case CONFIG_IP:
		return "expected an IP address";
	case CONFIG_HOSTPORT:
		return e->port ? "expected HOST or HOST:PORT" : "expected HOST:PORT";
	case CONFIG_LIST:
	case CONFIG_OBJLIST:
		return "expected a list";
	case CONFIG_SECTION:
		return "expected a map";
	}
	return "unexpected value";
}

/* config_range_msg - "must be between 1 and 50" */
static void config_range_error(struct loader *ld, const struct ynode *y, const char *path,
                               const struct config_entry *e)
{
	char lo[32], hi[32];

	config_format_num(e, e->min, lo, sizeof(lo));
	if (e->max == 0)
		config_error(ld, y, "%s: must be at least %s", path, lo);
	else
		config_error(ld, y, "%s: must be between %s and %s", path, lo,
		             config_format_num(e, e->max, hi, sizeof(hi)));
}

/* config_hostname_ok - letters, digits, '-', '_' and dots: a DNS name */
static bool config_hostname_ok(const char *s)
{
	size_t label = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (str_is_alnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* config_store - copy a value of size n to dst (dst may be unaligned for
 * the compiler's aliasing rules: the struct members are typed) */
static void config_store(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

/*
 * config_scalar - check a scalar value of entry e and store it at dst.
 * Errors name path and point at y.  0 or -1.
 */
static int config_scalar(struct loader *ld, const struct config_entry *e, const struct ynode *y,
                         void *dst, const char *path)
{
	char msg[320], host[256];
	const char *s = y->text;
	uint64_t v, max;
	size_t i;
	bool b;
	int idx;
	const char *str;
	struct config_hostport hp;
	struct net_addr addr;
	char ipbuf[NET_ADDR_STRLEN];

	if (y->kind == Y_ALIAS)
		return -1; /* already reported */
	if (y->kind != Y_SCALAR ||
	    (config_is_null(y) &&
	     !(e->def == NULL &&
	       (e->type == CONFIG_STRING || e->type == CONFIG_PATH || e->type == CONFIG_IP)))) {
		config_error(ld, y, "%s: %s", path, config_expect(e, msg, sizeof(msg)));
		return -1;
	}
	if (config_is_null(y)) {
		str = NULL;
		config_store(dst, &str, sizeof(str));
		return 0;
	}
	if (memchr(s, '\0', y->len) != NULL) {
		config_error(ld, y, "%s: must not contain NUL bytes", path);
		return -1;
	}
	max = e->max ? e->max : UINT64_MAX;
	switch (e->type) {
	case CONFIG_BOOL:
		if (str_casecmp(s, "true") == 0 || str_casecmp(s, "yes") == 0 ||
		    str_casecmp(s, "on") == 0)
			b = true;
		else if (str_casecmp(s, "false") == 0 || str_casecmp(s, "no") == 0 ||
		         str_casecmp(s, "off") == 0)
			b = false;
		else
			break;
		config_store(dst, &b, sizeof(b));
		return 0;
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		/* "-1" is a number out of range, not a syntax error */
		if (y->len > 1 && s[0] == '-' &&
		    (e->type == CONFIG_INT ? strspn(s + 1, "0123456789") == y->len - 1
		     : e->type == CONFIG_SIZE
		         ? config_parse_size(s + 1, y->len - 1, &v) == 0
		         : config_parse_duration(s + 1, y->len - 1, &v) == 0)) {
			config_range_error(ld, y, path, e);
			return -1;
		}
		if (e->type == CONFIG_INT) {
			if (strspn(s, "0123456789") != y->len)
				break;
			if (str_to_u64(s, y->len, 0, UINT64_MAX, &v) < 0)
				v = UINT64_MAX; /* too big for anything: out of range */
		} else if ((e->type == CONFIG_SIZE ? config_parse_size(s, y->len, &v)
		                                   : config_parse_duration(s, y->len, &v)) < 0) {
			break;
		}
		if (v < e->min || v > max) {
			config_range_error(ld, y, path, e);
			return -1;
		}
		config_store(dst, &v, sizeof(v));
		return 0;
	case CONFIG_STRING:
	case CONFIG_PATH:
		max = e->max ? e->max : CONFIG_MAX_STRING;
		if (y->len == 0 && e->min > 0) {
			config_error(ld, y, "%s: must not be empty", path);
			return -1;
		}
		if (y->len < e->min || y->len > max) {
			config_error(ld, y, "%s: must be %llu to %llu characters long", path,
			             (unsigned long long)e->min, (unsigned long long)max);
			return -1;
		}
		for (i = 0; i < y->len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				config_error(ld, y, "%s: must not contain control characters",
				             path);
				return -1;
			}
		str = arena_strndup(ld->a, s, y->len);
		if (str == NULL) {
			config_oom(ld);
			return -1;
		}
		config_store(dst, &str, sizeof(str));
		return 0;
	case CONFIG_ENUM:
		for (idx = 0; e->words[idx] != NULL; idx++)
			if (str_casecmp(s, e->words[idx]) == 0) {
				config_store(dst, &idx, sizeof(idx));
				return 0;
			}
		break;
	case CONFIG_IP:
		if (net_addr_parse_n(s, y->len, &addr) < 0)
			break;
		str = arena_strdup(ld->a, net_addr_format(&addr, ipbuf, sizeof(ipbuf)));
		if (str == NULL) {
			config_oom(ld);
			return -1;
		}
		config_store(dst, &str, sizeof(str));
		return 0;
	case CONFIG_HOSTPORT:
		if (y->len >= sizeof(host) ||
		    net_hostport_parse(s, e->port, host, sizeof(host), &hp.port) < 0 ||
		    hp.port == 0 || (net_addr_parse(host, &addr) < 0 && !config_hostname_ok(host)))
			break;
		if (net_addr_parse(host, &addr) == 0)
			net_addr_format(&addr, host, sizeof(host));
		hp.host = arena_strdup(ld->a, host);
		if (hp.host == NULL) {
			config_oom(ld);
			return -1;
		}
		config_store(dst, &hp, sizeof(hp));
		return 0;
	default:
		break;
	}
	config_error(ld, y, "%s: %s", path, config_expect(e, msg, sizeof(msg)));
	return -1;
}

/* config_item_size - bytes of one stored item of a list */
static size_t config_item_size(const struct config_entry *e)
{
	switch (e->type) {
	case CONFIG_BOOL:
		return sizeof(bool);
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		return sizeof(uint64_t);
	case CONFIG_ENUM:
		return sizeof(int);
	case CONFIG_HOSTPORT:
		return sizeof(struct config_hostport);
	case CONFIG_OBJLIST:
		return e->child->size;
	default:
		return sizeof(const char *);
	}
}

/* ---- the schema walk ----------------------------------------------- */

struct config_list_store {
	void *v;
	size_t n;
};

static int config_value(struct loader *ld, const struct config_entry *e, const struct ynode *y,
                        void *dst, const char *path);
static void config_map(struct loader *ld, const struct config_schema *s, void *base,
                       const struct ynode *map, const char *path);

/* config_distance - optimal string alignment distance, ASCII case folded;
 * long words count as far apart */
static size_t config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[33][33], c;

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = str_lower((unsigned char)a[i - 1]) !=
			    str_lower((unsigned char)b[j - 1]);
			d[i][j] = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < d[i][j])
				d[i][j] = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < d[i][j])
				d[i][j] = d[i - 1][j - 1] + c;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	return d[la][lb];
}

/* config_suggest - the closest key of s to word, or NULL */
static const char *config_suggest(const struct config_schema *s, const char *word)
{
	const char *best = NULL;
	size_t i, d, bestd = 99, limit = strlen(word) <= 4 ? 1 : 2;

	for (i = 0; i < s->nentries; i++) {
		d = config_distance(word, s->entries[i].name);
		if (d < bestd) {
			bestd = d;
			best = s->entries[i].name;
		}
	}
	return bestd <= limit ? best : NULL;
}

/* config_join - "a.b" into out (a may be empty) */
static const char *config_join(char *out, size_t outsize, const char *a, const char *b)
{
	snprintf(out, outsize, "%s%s%s", a, a[0] ? "." : "", b);
	return out;
}

/* config_key_text - the key as shown in a message: at most 64 bytes,
 * control characters as '?' */
static const char *config_key_text(const struct ynode *k, char *out, size_t outsize)
{
	size_t i, n = k->len < outsize - 1 ? k->len : outsize - 1;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)k->text[i] < 0x20 || k->text[i] == 0x7f ? '?' : k->text[i];
	out[n] = '\0';
	return out;
}

/* config_defaults - every entry of s gets its default; 0 or -1 */
static int config_defaults(struct loader *ld, const struct config_schema *s, void *base,
                           const char *path)
{
	const struct config_entry *e;
	struct ynode y, *tree;
	char sub[256];
	size_t i;
	int rc = 0;

	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		config_join(sub, sizeof(sub), path, e->name);
		if (e->type == CONFIG_SECTION) {
			if (config_defaults(ld, e->child, (char *)base + e->offset, sub) < 0)
				rc = -1;
			continue;
		}
		if (e->def == NULL)
			continue; /* zeroed: unset */
		if (e->type == CONFIG_LIST || e->type == CONFIG_OBJLIST) {
			/* a list default is YAML: the same parser reads it */
			if (config_tree(ld, e->def, strlen(e->def), &tree) < 0 || tree == NULL ||
			    config_value(ld, e, tree, (char *)base + e->offset, sub) < 0) {
				config_error_at(ld, 0, 0, "%s: bad built-in default '%s'", sub,
				                e->def);
				rc = -1;
			}
			continue;
		}
		memset(&y, 0, sizeof(y));
		y.kind = Y_SCALAR;
		y.plain = true;
		y.text = e->def;
		y.len = strlen(e->def);
		if (config_scalar(ld, e, &y, (char *)base + e->offset, sub) < 0) {
			config_error_at(ld, 0, 0, "%s: bad built-in default '%s'", sub, e->def);
			rc = -1;
		}
	}
	return rc;
}

/* config_finish - the finish hooks of s and its sections, in table order */
static void config_finish(struct loader *ld, const struct config_schema *s, void *base,
                          const char *path)
{
	const struct config_entry *e;
	char sub[256], msg[256];
	size_t i;

	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (e->type == CONFIG_SECTION)
			config_finish(ld, e->child, (char *)base + e->offset,
			              config_join(sub, sizeof(sub), path, e->name));
	}
	msg[0] = '\0';
	if (s->finish != NULL && s->finish(ld->cfg, base, msg, sizeof(msg)) < 0)
		config_error_at(ld, 0, 0, "%s: %s", path[0] ? path : "config", msg);
}

/* config_key_value - the value node of key name in map, or the map */
static const struct ynode *config_key_value(const struct ynode *map, const char *name)
{
	const struct ynode *k;

	if (map->kind != Y_MAP)
		return map;
	for (k = map->first; k != NULL && k->next != NULL; k = k->next->next)
		if (k->kind == Y_SCALAR && strlen(name) == k->len &&
		    memcmp(name, k->text, k->len) == 0)
			return k->next;
	return map;
}

/* config_unique - the e->unique string of every item of list differs
 * from the earlier items' (an unset one is never a repeat); 0 or -1 */
static int config_unique(struct loader *ld, const struct config_entry *e,
                         const struct config_list_store *list, const struct ynode *seq,
                         const char *path)
{
	const struct config_schema *c = e->child;
	const struct ynode *yi, *yj;
	const char *si, *sj;
	size_t off, i, j;
	int rc = 0;

	for (off = 0; off < c->nentries; off++)
		if (strcmp(c->entries[off].name, e->unique) == 0)
			break;
	if (off == c->nentries)
		return 0;
	off = c->entries[off].offset;
	for (i = 1, yi = seq->first ? seq->first->next : NULL; i < list->n && yi != NULL;
	     i++, yi = yi->next) {
		memcpy(&si, (const char *)list->v + i * c->size + off, sizeof(si));
		if (si == NULL)
			continue;
		for (j = 0, yj = seq->first; j < i; j++, yj = yj->next) {
			memcpy(&sj, (const char *)list->v + j * c->size + off, sizeof(sj));
			if (sj != NULL && str_casecmp(si, sj) == 0)
				break;
		}
		if (j < i) {
			yj = config_key_value(yj, e->unique);
			config_error(ld, config_key_value(yi, e->unique),
			             "%s[%zu].%s: '%s' is already listed (line %u)", path, i,
			             e->unique, si, yj->line);
			rc = -1;
		}
	}
	return rc;
}

/* config_list - a list or objlist value; 0 or -1 */
static int config_list(struct loader *ld, const struct config_entry *e, const struct ynode *y,
                       void *dst, const char *path)
{
	struct config_list_store list = { NULL, 0 };
	const struct ynode *it;
	size_t max = e->max ? e->max : CONFIG_MAX_ITEMS, i;
	size_t isize = config_item_size(e->type == CONFIG_LIST ? e->item : e);
	char sub[300];
	int rc = 0;

	if (y->kind == Y_ALIAS)
		return -1;
	if (!config_is_null(y)) {
		if (y->kind != Y_SEQ) {
			config_error(ld, y, "%s: expected a list", path);
			return -1;
		}
		if (y->n > max || y->n < e->min) {
			config_error(ld, y, "%s: must have %llu to %llu items", path,
			             (unsigned long long)e->min, (unsigned long long)max);
			return -1;
		}
		list.n = y->n;
	} else if (e->min > 0) {
		config_error(ld, y, "%s: must have %llu to %llu items", path,
		             (unsigned long long)e->min, (unsigned long long)max);
		return -1;
	}
	if (list.n > 0) {
		list.v = arena_array(ld->a, list.n, isize);
		if (list.v == NULL) {
			config_oom(ld);
			return -1;
		}
	}
	for (i = 0, it = y->first; i < list.n && it != NULL; i++, it = it->next) {
		void *item = (char *)list.v + i * isize;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (e->type == CONFIG_OBJLIST) {
			const struct config_schema *c = e->child;
			char msg[256] = "";
			size_t before = ld->diag->n;

			if (config_defaults(ld, c, item, sub) < 0) {
				rc = -1;
				continue;
			}
			if (it->kind == Y_ALIAS) {
				rc = -1;
				continue;
			}
			if (it->kind != Y_MAP && !config_is_null(it)) {
				config_error(ld, it, "%s: expected a map", sub);
				rc = -1;
				continue;
			}
			config_map(ld, c, item, it, sub);
			if (ld->diag->n != before) {
				rc = -1;
				continue;
			}
			if (c->finish != NULL && c->finish(ld->cfg, item, msg, sizeof(msg)) < 0) {
				config_error(ld, it, "%s: %s", sub, msg);
				rc = -1;
			}
		} else if (it->kind == Y_SCALAR && config_is_null(it)) {
			/* an optional string may be null, an item of a list may
			 * not: every consumer of a list reads its strings */
			config_error(ld, it, "%s: an item of a list cannot be empty", sub);
			rc = -1;
		} else if (config_scalar(ld, e->item, it, item, sub) < 0) {
			rc = -1;
		}
	}
	if (rc == 0 && e->type == CONFIG_OBJLIST && e->unique != NULL &&
	    config_unique(ld, e, &list, y, path) < 0)
		rc = -1;
	if (rc == 0)
		config_store(dst, &list, sizeof(list));
	return rc;
}

/* config_value - one value of entry e at dst; 0 or -1 */
static int config_value(struct loader *ld, const struct config_entry *e, const struct ynode *y,
                        void *dst, const char *path)
{
	size_t before = ld->diag->n;

	switch (e->type) {
	case CONFIG_SECTION:
		if (y->kind == Y_ALIAS)
			return -1;
		if (y->kind != Y_MAP && !config_is_null(y)) {
			config_error(ld, y, "%s: expected a map", path);
			return -1;
		}
		config_map(ld, e->child, dst, y, path);
		return ld->diag->n == before ? 0 : -1;
	case CONFIG_LIST:
	case CONFIG_OBJLIST:
		return config_list(ld, e, y, dst, path);
	default:
		return config_scalar(ld, e, y, dst, path);
	}
}

/* config_map - apply the keys of map (a map or null) to base */
static void config_map(struct loader *ld, const struct config_schema *s, void *base,
                       const struct ynode *map, const char *path)
{
	unsigned *seen; /* line of the first occurrence, per entry */
	const struct ynode *k, *v;
	const struct config_entry *e;
	const char *hint;
	char sub[300], key[80];
	size_t i;

	if (map->kind != Y_MAP)
		return; /* null: defaults */
	seen = arena_array(ld->tmp, s->nentries, sizeof(*seen));
	if (seen == NULL) {
		config_oom(ld);
		return;
	}
	for (k = map->first; k != NULL && k->next != NULL && !ld->oom; k = v->next) {
		v = k->next;
		if (k->kind == Y_ALIAS)
			continue;
		if (k->kind != Y_SCALAR) {
			config_error(ld, k, "%s%skeys must be plain words, not a %s", path,
			             path[0] ? ": " : "", k->kind == Y_MAP ? "map" : "list");
			continue;
		}
		for (i = 0; i < s->nentries; i++)
			if (strlen(s->entries[i].name) == k->len &&
			    memcmp(s->entries[i].name, k->text, k->len) == 0)
				break;
		if (i == s->nentries) {
			config_key_text(k, key, sizeof(key));
			hint = config_suggest(s, key);
			if (path[0] == '\0')
				config_error(ld, k, "unknown section '%s'%s%s%s", key,
				             hint ? " (did you mean '" : "", hint ? hint : "",
				             hint ? "'?)" : "");
			else
				config_error(ld, k, "%s: unknown key '%s'%s%s%s", path, key,
				             hint ? " (did you mean '" : "", hint ? hint : "",
				             hint ? "'?)" : "");
			continue;
		}
		e = &s->entries[i];
		config_join(sub, sizeof(sub), path, e->name);
		if (seen[i] != 0) {
			config_error(ld, k, "%s: duplicate key (first given at line %u)", sub,
			             seen[i]);
			continue;
		}
		seen[i] = k->line ? k->line : 1;
		config_value(ld, e, v, (char *)base + e->offset, sub);
	}
}

/* ---- entry points --------------------------------------------------- */

/* config_sort - errors in file order (stable: at most CONFIG_MAX_ERRORS) */
static void config_sort(struct config_diag *d)
{
	struct config_error tmp;
	size_t i, j;

	for (i = 1; i < d->n; i++) {
		tmp = d->errors[i];
		for (j = i; j > 0 &&
		            (d->errors[j - 1].line > tmp.line ||
		             (d->errors[j - 1].line == tmp.line && d->errors[j - 1].col > tmp.col));
		     j--)
			d->errors[j] = d->errors[j - 1];
		d->errors[j] = tmp;
	}
}

struct smexop_config *config_free(struct smexop_config *cfg)
{
	if (cfg != NULL)
		arena_free(cfg->arena);
	return NULL;
}

struct smexop_config *config_load_mem(const char *name, const char *data, size_t len,
                                      struct config_diag *diag)
{
	struct config_diag local;
	struct loader ld;
	struct ynode *root = NULL;
	struct arena *a;

	if (diag == NULL)
		diag = &local;
	memset(diag, 0, sizeof(*diag));
	diag->file = name;
	memset(&ld, 0, sizeof(ld));
	ld.file = name;
	ld.diag = diag;
	a = arena_new();
	ld.tmp = arena_new();
	ld.cfg = a ? arena_zalloc(a, sizeof(*ld.cfg)) : NULL;
	if (ld.cfg == NULL || ld.tmp == NULL) {
		config_oom(&ld);
		goto fail;
	}
	ld.a = a;
	ld.cfg->arena = a;
	if (config_defaults(&ld, &config_schema_root, ld.cfg, "") < 0)
		goto fail;
	if (data != NULL) {
		if (len > CONFIG_MAX_FILE) {
			config_error_at(&ld, 0, 0, "larger than %d bytes; not a configuration file",
			                CONFIG_MAX_FILE);
			goto fail;
		}
		if (config_tree(&ld, data, len, &root) < 0)
			goto fail;
		if (root != NULL && root->kind != Y_MAP && !config_is_null(root)) {
			if (root->kind != Y_ALIAS)
				config_error(&ld, root,
				             "expected a map of sections (server:, log:, dns: ...) "
				             "at the top level");
			goto fail;
		}
		if (root != NULL)
			config_map(&ld, &config_schema_root, ld.cfg, root, "");
	}
	if (diag->n == 0)
		config_finish(&ld, &config_schema_root, ld.cfg, "");
	if (diag->n > 0)
		goto fail;
	arena_free(ld.tmp);
	return ld.cfg;
fail:
	config_sort(diag);
	arena_free(ld.tmp);
	arena_free(a);
	return NULL;
}

struct smexop_config *config_load(const char *path, struct config_diag *diag)
{
	struct config_diag local;
	struct smexop_config *cfg;
	struct buf b;

	if (path == NULL)
		return config_load_mem("(defaults)", NULL, 0, diag);
	if (diag == NULL)
		diag = &local;
	buf_init(&b, CONFIG_MAX_FILE + 1);
	if (buf_read_file(&b, path) < 0) {
		memset(diag, 0, sizeof(*diag));
		diag->file = path;
		diag->n = 1;
		if (errno == EMSGSIZE)
			snprintf(diag->errors[0].msg, sizeof(diag->errors[0].msg),
			         "larger than %d bytes; not a configuration file", CONFIG_MAX_FILE);
		else
			snprintf(diag->errors[0].msg, sizeof(diag->errors[0].msg),
			         "cannot read: %s", strerror(errno));
		buf_free(&b);
		return NULL;
	}
	cfg = config_load_mem(path, b.data ? b.data : "", b.len, diag);
	buf_free(&b);
	return cfg;
}

const char *config_error_format(const struct config_diag *diag, size_t i, char *out, size_t outsize)
{
	const struct config_error *e = &diag->errors[i];
	const char *file = diag->file ? diag->file : "config";

	if (e->line > 0)
		snprintf(out, outsize, "%s:%u:%u: %s", file, e->line, e->col ? e->col : 1, e->msg);
	else
		snprintf(out, outsize, "%s: %s", file, e->msg);
	return out;
}
