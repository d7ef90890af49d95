/*
 * orgdomain - organisational domains through libpsl (see orgdomain.h)
 *
 * libpsl answers for lower-case UTF-8 or A-label input; we always hand it
 * the A-label form, which its loader adds next to every IDN rule.
 */
#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/orgdomain.h"
#include "core/str.h"

/* longer input is refused before it reaches libidn2 */
#define ORGDOMAIN_INPUT_MAX 1024

struct orgdomain {
	psl_ctx_t *ctx;       /* owned, or NULL when builtin is used */
	const psl_ctx_t *use; /* what queries go to */
	char source[256];
};

struct orgdomain *orgdomain_load(const char *path, bool fallback, struct sx_err *err)
{
	struct orgdomain *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	if (path == NULL)
		path = ORGDOMAIN_DEFAULT_FILE;
	o->ctx = psl_load_file(path);
	if (o->ctx != NULL) {
		o->use = o->ctx;
		snprintf(o->source, sizeof(o->source), "%s", path);
		return o;
	}
	if (!fallback || psl_builtin() == NULL) {
		sx_err_set(err, "%s: cannot load the public suffix list", path);
		free(o);
		return NULL;
	}
	sx_err_set(err, "%s: cannot load the public suffix list; using the built-in copy", path);
	o->use = psl_builtin();
	snprintf(o->source, sizeof(o->source), "builtin");
	return o;
}

static struct orgdomain *orgdomain_shared;
static pthread_once_t orgdomain_once = PTHREAD_ONCE_INIT;

static void orgdomain_init_default(void)
{
	struct sx_err err = { 0 };

	orgdomain_shared = orgdomain_load(NULL, true, &err);
}

const struct orgdomain *orgdomain_default(void)
{
	pthread_once(&orgdomain_once, orgdomain_init_default);
	return orgdomain_shared;
}

struct orgdomain *orgdomain_free(struct orgdomain *o)
{
	if (o == NULL || o == orgdomain_shared)
		return NULL;
	if (o->ctx != NULL)
		psl_free(o->ctx);
	free(o);
	return NULL;
}

const char *orgdomain_source(const struct orgdomain *o)
{
	return o != NULL ? o->source : "none";
}

/* orgdomain_check - lower-cased ASCII name: labels 1..63, total <= 253 */
static int orgdomain_check(const char *s, size_t n)
{
	size_t label = 0, i;

	if (n == 0 || n > ORGDOMAIN_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f)
			return -1;
		if (++label > 63)
			return -1;
	}
	return label == 0 ? -1 : 0;
}

int orgdomain_normalise(const char *name, size_t len, char *out, size_t outsize)
{
	char in[ORGDOMAIN_INPUT_MAX + 1];
	bool ascii = true;
	size_t i, n;

	if (name == NULL || out == NULL || outsize < ORGDOMAIN_BUF)
		return -1;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > ORGDOMAIN_INPUT_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == 0)
			return -1;
		if (c >= 0x80)
			ascii = false;
		in[i] = (char)str_lower(c);
	}
	in[len] = '\0';
	if (ascii) {
		if (orgdomain_check(in, len) < 0)
			return -1;
		memcpy(out, in, len + 1);
		return 0;
	}
	{
		uint8_t *ace = NULL;
		int rc = idn2_lookup_u8((const uint8_t *)in, &ace,
		                        IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			idn2_free(ace);
			ace = NULL;
			rc = idn2_lookup_u8((const uint8_t *)in, &ace,
			                    IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
		}
		if (rc != IDN2_OK || ace == NULL) {
			idn2_free(ace);
			return -1;
		}
		n = strlen((const char *)ace);
		if (n > 0 && ace[n - 1] == '.')
			n--;
		for (i = 0; i < n; i++)
			ace[i] = (uint8_t)str_lower(ace[i]);
		if (orgdomain_check((const char *)ace, n) < 0) {
			idn2_free(ace);
			return -1;
		}
		memcpy(out, ace, n);
		out[n] = '\0';
		idn2_free(ace);
	}
	return 0;
}

int orgdomain_registrable(const struct orgdomain *o, const char *name, char *out, size_t outsize)
{
	char norm[ORGDOMAIN_BUF];
	const char *reg;
	size_t n;

	if (o == NULL || name == NULL ||
	    orgdomain_normalise(name, strlen(name), norm, sizeof(norm)) < 0)
		return -1;
	reg = psl_registrable_domain(o->use, norm);
	if (reg == NULL)
		return -1;
	n = strlen(reg);
	if (n >= outsize)
		return -1;
	memcpy(out, reg, n + 1);
	return 0;
}

bool orgdomain_is_public_suffix(const struct orgdomain *o, const char *name)
{
	char norm[ORGDOMAIN_BUF];

	if (o == NULL || name == NULL ||
	    orgdomain_normalise(name, strlen(name), norm, sizeof(norm)) < 0)
		return false;
	return psl_is_public_suffix(o->use, norm) != 0;
}

bool orgdomain_same(const struct orgdomain *o, const char *a, const char *b)
{
	char na[ORGDOMAIN_BUF], nb[ORGDOMAIN_BUF], ra[ORGDOMAIN_BUF], rb[ORGDOMAIN_BUF];

	if (o == NULL || a == NULL || b == NULL ||
	    orgdomain_normalise(a, strlen(a), na, sizeof(na)) < 0 ||
	    orgdomain_normalise(b, strlen(b), nb, sizeof(nb)) < 0)
		return false;
	if (orgdomain_registrable(o, na, ra, sizeof(ra)) < 0)
		memcpy(ra, na, sizeof(ra));
	if (orgdomain_registrable(o, nb, rb, sizeof(rb)) < 0)
		memcpy(rb, nb, sizeof(rb));
	return strcmp(ra, rb) == 0;
}
