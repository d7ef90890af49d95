/*
 * str - small string helpers for protocol text
 *
 * Protocol names (DNS labels, SPF terms, header names) compare
 * case-insensitively in ASCII only, whatever the locale says, so these
 * helpers never call the locale-dependent <ctype.h> functions.
 */
#ifndef SMEXOP_CORE_STR_H
#define SMEXOP_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool str_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool str_is_digit(int c)
{
	return c >= '0' && c <= '9';
}
static inline bool str_is_alnum(int c)
{
	return str_is_alpha(c) || str_is_digit(c);
}
static inline bool str_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
static inline int str_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ASCII case-insensitive comparisons */
int str_casecmp(const char *a, const char *b);
int str_ncasecmp(const char *a, const char *b, size_t n);
bool str_case_eq_n(const char *a, size_t alen, const char *b, size_t blen);
/* str_case_prefix - s starts with prefix (case-insensitive) */
bool str_case_prefix(const char *s, const char *prefix);
/* str_case_suffix - s ends with suffix (case-insensitive) */
bool str_case_suffix(const char *s, size_t slen, const char *suffix, size_t suflen);

/* str_lower_inplace - ASCII lower-case, returns s */
char *str_lower_inplace(char *s);

/*
 * str_to_u64 - parse a decimal number in [min, max]; the whole of s[0..n)
 * must be digits.  0 on success, -1 otherwise.  (atoi and strtol are not
 * used on protocol input: they accept signs, spaces and garbage.)
 */
int str_to_u64(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out);

/* str_hash - FNV-1a over ASCII-lower-cased bytes, for case-insensitive maps */
uint64_t str_case_hash(const char *s, size_t n);

#endif
