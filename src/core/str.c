/*
 * str - small string helpers for protocol text (see str.h)
 */
#include "core/str.h"

#include <string.h>

int str_ncasecmp(const char *a, const char *b, size_t n)
{
	size_t i;
	int ca, cb;

	for (i = 0; i < n; i++) {
		ca = str_lower((unsigned char)a[i]);
		cb = str_lower((unsigned char)b[i]);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

int str_casecmp(const char *a, const char *b)
{
	return str_ncasecmp(a, b, (size_t)-1);
}

bool str_case_eq_n(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (str_lower((unsigned char)a[i]) != str_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool str_case_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return str_ncasecmp(s, prefix, n) == 0 && strlen(s) >= n;
}

bool str_case_suffix(const char *s, size_t slen, const char *suffix, size_t suflen)
{
	if (suflen > slen)
		return false;
	return str_case_eq_n(s + slen - suflen, suflen, suffix, suflen);
}

char *str_lower_inplace(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		*p = (char)str_lower((unsigned char)*p);
	return s;
}

int str_to_u64(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!str_is_digit((unsigned char)s[i]))
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

uint64_t str_case_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint64_t)str_lower((unsigned char)s[i]);
		h *= 1099511628211ULL;
	}
	return h;
}
