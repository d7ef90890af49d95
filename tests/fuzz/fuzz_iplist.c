/*
 * fuzz_iplist - the IP list file parser and the built lookup
 *
 * Loads the input as a list file; when it loads, the same lines are also
 * added to a second list that is never built (its lookups are the linear
 * scan), and addresses taken from the input and around every entry are
 * looked up in both: the answers must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/iplist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, const struct sx_err *w)
{
	(void)arg;
	(void)w;
}

static void compare(const struct iplist *built, const struct iplist *scan, const struct net_addr *q)
{
	const struct iplist_entry *x = iplist_lookup(built, q), *y = iplist_lookup(scan, q);

	if ((x == NULL) != (y == NULL))
		abort();
	if (x != NULL && (x->prefix != y->prefix || x->net.family != y->net.family ||
	                  memcmp(x->net.bytes, y->net.bytes, 16) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iplist *l = iplist_new(), *s = iplist_new();
	struct sx_err err;
	const char *text = (const char *)data;
	size_t pos = 0, i;
	unsigned line = 0;

	if (l == NULL || s == NULL)
		abort();
	if (iplist_load_text(l, "fuzz", text, size, quiet, NULL, &err) == 0) {
		while (pos < size) {
			const char *nl = memchr(text + pos, '\n', size - pos);
			size_t end = nl ? (size_t)(nl - text) : size;
			if (iplist_add_line(s, "fuzz", ++line, text + pos, end - pos, quiet, NULL,
			                    &err) < 0)
				abort(); /* it loaded once */
			pos = end + 1;
		}
		if (iplist_count(s) < iplist_count(l))
			abort();
		/* addresses made of input bytes */
		for (i = 0; i + 16 <= size && i < 64 * 16; i += 16) {
			struct net_addr q;
			memset(&q, 0, sizeof(q));
			q.family = (data[i] & 1) ? AF_INET6 : AF_INET;
			memcpy(q.bytes, data + i, q.family == AF_INET ? 4 : 16);
			if (q.family == AF_INET)
				memset(q.bytes + 4, 0, 12);
			compare(l, s, &q);
		}
		/* the first and last address of every prefix, and one beyond */
		for (pos = 0, line = 0; pos < size && line < 200;) {
			const char *nl = memchr(text + pos, '\n', size - pos);
			size_t end = nl ? (size_t)(nl - text) : size, t = pos, n;
			struct net_addr q;
			unsigned prefix;
			bool hb;
			line++;
			while (t < end && (text[t] == ' ' || text[t] == '\t'))
				t++;
			n = t;
			while (n < end && text[n] != ' ' && text[n] != '\t' && text[n] != '#' &&
			       text[n] != '\r')
				n++;
			if (n > t &&
			    iplist_parse_entry(text + t, n - t, &q, &prefix, &hb, &err) == 0) {
				unsigned bits = net_addr_bits(&q), b;
				compare(l, s, &q);
				for (b = prefix; b < bits; b++)
					q.bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
				compare(l, s, &q);
				for (b = bits; b-- > 0;) {
					uint8_t m = (uint8_t)(0x80u >> (b % 8));
					if ((q.bytes[b / 8] ^= m) & m)
						break;
				}
				compare(l, s, &q);
			}
			pos = end + 1;
		}
	}
	iplist_free(l);
	iplist_free(s);
	return 0;
}
