/*
 * config_out - the configuration and its schema as text: the YAML dump
 * (`smexop config dump`), the JSON dump (`--json`) and the Markdown
 * reference (`smexop config docs`, committed as docs/config.md)
 *
 * All three walk the schema tables of config_schema.c, so a setting
 * added there shows up here with nothing else to write.  The YAML dump
 * loads back to the same configuration (tested).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

/* ---- YAML ----------------------------------------------------------- */

/* out_yaml_string - s as a YAML double-quoted scalar */
static void out_yaml_string(FILE *out, const char *s)
{
	unsigned char c;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* out_hostport - "host:port", with brackets around an IPv6 address */
static const char *out_hostport(const struct config_hostport *hp, char *buf, size_t size)
{
	snprintf(buf, size, strchr(hp->host, ':') ? "[%s]:%u" : "%s:%u", hp->host, hp->port);
	return buf;
}

/* out_scalar_text - bool, numbers and enums as YAML words; NULL for
 * the types that are strings */
static const char *out_scalar_text(const struct config_entry *e, const void *p, char *buf,
                                   size_t size)
{
	uint64_t v;
	bool b;
	int idx;

	switch (e->type) {
	case CONFIG_BOOL:
		memcpy(&b, p, sizeof(b));
		return b ? "true" : "false";
	case CONFIG_INT:
		memcpy(&v, p, sizeof(v));
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return buf;
	case CONFIG_SIZE:
		memcpy(&v, p, sizeof(v));
		return config_format_size(v, buf, size);
	case CONFIG_DURATION:
		memcpy(&v, p, sizeof(v));
		return config_format_duration(v, buf, size);
	case CONFIG_ENUM:
		memcpy(&idx, p, sizeof(idx));
		return e->words[idx];
	default:
		return NULL;
	}
}

static void out_yaml_scalar(FILE *out, const struct config_entry *e, const void *p)
{
	char buf[300];
	const char *s;
	struct config_hostport hp;

	if (e->type == CONFIG_HOSTPORT) {
		memcpy(&hp, p, sizeof(hp));
		out_yaml_string(out, out_hostport(&hp, buf, sizeof(buf)));
		return;
	}
	s = out_scalar_text(e, p, buf, sizeof(buf));
	if (s != NULL) {
		fputs(s, out);
		return;
	}
	memcpy(&s, p, sizeof(s));
	out_yaml_string(out, s);
}

struct out_list {
	const void *v;
	size_t n;
};

static size_t out_item_size(const struct config_entry *e)
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
	default:
		return sizeof(const char *);
	}
}

static void out_yaml_map(FILE *out, const struct config_schema *s, const void *base, int indent,
                         bool first_inline);

/* out_yaml_entry - "name: value" and, for nested values, the lines below */
static void out_yaml_entry(FILE *out, const struct config_entry *e, const void *p, int indent)
{
	struct out_list list;
	size_t i, isize;

	fprintf(out, "%s:", e->name);
	switch (e->type) {
	case CONFIG_SECTION:
		fputc('\n', out);
		out_yaml_map(out, e->child, p, indent + 2, false);
		return;
	case CONFIG_LIST:
		memcpy(&list, p, sizeof(list));
		isize = out_item_size(e->item);
		fputs(" [", out);
		for (i = 0; i < list.n; i++) {
			fputs(i ? ", " : "", out);
			out_yaml_scalar(out, e->item, (const char *)list.v + i * isize);
		}
		fputs("]\n", out);
		return;
	case CONFIG_OBJLIST:
		memcpy(&list, p, sizeof(list));
		if (list.n == 0) {
			fputs(" []\n", out);
			return;
		}
		fputc('\n', out);
		for (i = 0; i < list.n; i++) {
			fprintf(out, "%*s- ", indent, "");
			out_yaml_map(out, e->child, (const char *)list.v + i * e->child->size,
			             indent + 2, true);
		}
		return;
	default:
		fputc(' ', out);
		out_yaml_scalar(out, e, p);
		fputc('\n', out);
	}
}

static void out_yaml_map(FILE *out, const struct config_schema *s, const void *base, int indent,
                         bool first_inline)
{
	size_t i;

	for (i = 0; i < s->nentries; i++) {
		if (!(first_inline && i == 0))
			fprintf(out, "%*s", indent, "");
		out_yaml_entry(out, &s->entries[i], (const char *)base + s->entries[i].offset,
		               indent);
	}
}

int config_dump_yaml(const struct smexop_config *cfg, FILE *out)
{
	fputs("# smexop configuration (effective values, defaults included)\n", out);
	out_yaml_map(out, &config_schema_root, cfg, 0, false);
	return ferror(out) ? -1 : 0;
}

/* ---- JSON ----------------------------------------------------------- */

/* out_json_string - a JSON string; bytes that are not UTF-8 become '?' */
static json_t *out_json_string(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *out_json_scalar(const struct config_entry *e, const void *p)
{
	char buf[300];
	uint64_t v;
	bool b;
	int idx;
	const char *s;
	struct config_hostport hp;

	switch (e->type) {
	case CONFIG_BOOL:
		memcpy(&b, p, sizeof(b));
		return json_boolean(b);
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		memcpy(&v, p, sizeof(v));
		return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
	case CONFIG_ENUM:
		memcpy(&idx, p, sizeof(idx));
		return json_string(e->words[idx]);
	case CONFIG_HOSTPORT:
		memcpy(&hp, p, sizeof(hp));
		return out_json_string(out_hostport(&hp, buf, sizeof(buf)));
	default:
		memcpy(&s, p, sizeof(s));
		return out_json_string(s);
	}
}

static json_t *out_json_map(const struct config_schema *s, const void *base);

static json_t *out_json_value(const struct config_entry *e, const void *p)
{
	struct out_list list;
	json_t *arr;
	size_t i;

	switch (e->type) {
	case CONFIG_SECTION:
		return out_json_map(e->child, p);
	case CONFIG_LIST:
	case CONFIG_OBJLIST:
		memcpy(&list, p, sizeof(list));
		arr = json_array();
		for (i = 0; arr != NULL && i < list.n; i++) {
			json_t *item =
			    e->type == CONFIG_LIST
			        ? out_json_scalar(e->item,
			                          (const char *)list.v + i * out_item_size(e->item))
			        : out_json_map(e->child, (const char *)list.v + i * e->child->size);
			if (json_array_append_new(arr, item) < 0) {
				json_decref(arr);
				return NULL;
			}
		}
		return arr;
	default:
		return out_json_scalar(e, p);
	}
}

static json_t *out_json_map(const struct config_schema *s, const void *base)
{
	json_t *obj = json_object();
	size_t i;

	for (i = 0; obj != NULL && i < s->nentries; i++) {
		const struct config_entry *e = &s->entries[i];

		if (json_object_set_new(obj, e->name,
		                        out_json_value(e, (const char *)base + e->offset)) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

int config_dump_json(const struct smexop_config *cfg, FILE *out)
{
	json_t *j = out_json_map(&config_schema_root, cfg);
	int rc;

	if (j == NULL)
		return -1;
	rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	fputc('\n', out);
	return rc < 0 || ferror(out) ? -1 : 0;
}

/* ---- Markdown reference --------------------------------------------- */

/* out_md - text for a table cell: '|' escaped */
static void out_md(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void out_md_range(FILE *out, const struct config_entry *e)
{
	char lo[32], hi[32];
	size_t i;

	switch (e->type) {
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		if (e->type == CONFIG_INT) {
			snprintf(lo, sizeof(lo), "%llu", (unsigned long long)e->min);
			snprintf(hi, sizeof(hi), "%llu", (unsigned long long)e->max);
		} else if (e->type == CONFIG_SIZE) {
			config_format_size(e->min, lo, sizeof(lo));
			config_format_size(e->max, hi, sizeof(hi));
		} else {
			config_format_duration(e->min, lo, sizeof(lo));
			config_format_duration(e->max, hi, sizeof(hi));
		}
		if (e->max == 0)
			fprintf(out, "at least %s", lo);
		else
			fprintf(out, "%s to %s", lo, hi);
		break;
	case CONFIG_STRING:
	case CONFIG_PATH:
		if (e->min > 0 || e->max > 0)
			fprintf(out, "%llu to %llu characters", (unsigned long long)e->min,
			        (unsigned long long)(e->max ? e->max : CONFIG_MAX_STRING));
		break;
	case CONFIG_ENUM:
		for (i = 0; e->words[i] != NULL; i++)
			fprintf(out, "%s`%s`", i ? ", " : "", e->words[i]);
		break;
	case CONFIG_BOOL:
		fputs("`true`, `false`", out);
		break;
	case CONFIG_LIST:
	case CONFIG_OBJLIST:
		fprintf(out, "at most %llu items",
		        (unsigned long long)(e->max ? e->max : CONFIG_MAX_ITEMS));
		break;
	default:
		break;
	}
}

static void out_md_table(FILE *out, const struct config_schema *s, const char *prefix)
{
	const struct config_entry *e;
	char type[64];
	size_t i;

	fputs("| setting | type | default | allowed | description |\n", out);
	fputs("|---------|------|---------|---------|-------------|\n", out);
	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		fprintf(out, "| `%s%s` | %s | ", prefix, e->name,
		        config_type_name(e, type, sizeof(type)));
		if (e->def_doc != NULL)
			out_md(out, e->def_doc);
		else if (e->def != NULL)
			fprintf(out, "`%s`", e->def);
		fputs(" | ", out);
		out_md_range(out, e);
		fputs(" | ", out);
		out_md(out, e->doc ? e->doc : "");
		fputs(" |\n", out);
	}
}

/* out_md_objlists - a table of its own for each list of objects inside
 * the section s (prefix "dkim.") */
static void out_md_objlists(FILE *out, const struct config_schema *s, const char *prefix)
{
	const struct config_entry *e;
	char sub[160];
	size_t i;

	for (i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (e->type != CONFIG_OBJLIST)
			continue;
		fprintf(out, "\n### %s%s\n\n%s\n\n", prefix, e->name, e->doc);
		fprintf(out, "Each item (%s)%s%s%s:\n\n", e->child->doc, e->unique ? "; `" : "",
		        e->unique ? e->unique : "", e->unique ? "` must differ between items" : "");
		snprintf(sub, sizeof(sub), "%s%s[].", prefix, e->name);
		out_md_table(out, e->child, sub);
	}
}

int config_docs(FILE *out)
{
	const struct config_schema *root = &config_schema_root;
	const struct config_entry *e;
	char prefix[80];
	size_t i;

	fputs("# smexop configuration reference\n"
	      "\n"
	      "<!-- Generated by `smexop config docs` from src/core/config_schema.c.\n"
	      "     Do not edit: a unit test fails when this file is out of date. -->\n"
	      "\n"
	      "smexop reads one YAML file (`smexop serve -c FILE`). Every setting has a\n"
	      "built-in default, so a file only says what differs; `smexop config dump`\n"
	      "shows the effective values and `smexop config check FILE` reports every\n"
	      "error as `file:line:col: message`. A list given in the file replaces the\n"
	      "default list.\n"
	      "\n"
	      "Value syntax:\n"
	      "\n"
	      "- **bool**: `true` or `false` (also `yes`/`no`, `on`/`off`).\n"
	      "- **size**: bytes, or a number with `k`, `M` or `G` (1024-based): `64k`, `10M`.\n"
	      "- **duration**: `ms`, `s`, `m`, `h` or `d`, combined as in `1h30m`; a plain\n"
	      "  number is seconds.\n"
	      "- **host:port**: `HOST`, `HOST:PORT` or `[IPv6]:PORT`.\n"
	      "- YAML anchors, aliases and tags are not accepted: write values out.\n",
	      out);
	for (i = 0; i < root->nentries; i++) {
		e = &root->entries[i];
		fprintf(out, "\n## %s\n\n", e->name);
		if (e->type == CONFIG_SECTION) {
			fprintf(out, "%s\n\n", e->child->doc);
			snprintf(prefix, sizeof(prefix), "%s.", e->name);
			out_md_table(out, e->child, prefix);
			out_md_objlists(out, e->child, prefix);
		} else if (e->type == CONFIG_OBJLIST) {
			fprintf(out, "%s\n\n", e->doc);
			fprintf(out,
			        "A list of objects (at most %llu); default: `%s`%s. Each item "
			        "(%s):\n\n",
			        (unsigned long long)(e->max ? e->max : CONFIG_MAX_ITEMS),
			        e->def ? e->def : "[]",
			        e->def && strcmp(e->def, "[{}]") == 0
			            ? ", one item with the defaults below"
			            : "",
			        e->child->doc);
			snprintf(prefix, sizeof(prefix), "%s[].", e->name);
			out_md_table(out, e->child, prefix);
		} else {
			out_md_table(out, root, "");
		}
	}
	return ferror(out) ? -1 : 0;
}
