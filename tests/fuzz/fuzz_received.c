/*
 * fuzz_received - libFuzzer target for the Received field parser
 * (mime/received) and the date reader under it (mime/date): any bytes as
 * a field value; every string it returns is read to its end, and a date
 * read is checked for ranges and formatted again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "mime/date.h"
#include "mime/received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct received r;
	struct date_time d;
	volatile size_t sink = 0;
	char buf[64];

	if (a == NULL)
		return 0;
	if (received_parse(&r, a, (const char *)data, size) == 0) {
		sink += len(r.from) + len(r.helo) + len(r.rdns) + len(r.ip) + len(r.by) +
		        len(r.by_ip) + len(r.by_software) + len(r.via) + len(r.with) + len(r.id) +
		        len(r.for_rcpt) + len(r.envelope_from) + len(r.tls_version) +
		        len(r.tls_cipher) + len(r.date_text);
		if (r.has_date) {
			if (r.date.month < 1 || r.date.month > 12 || r.date.day < 1 ||
			    r.date.day > 31 || r.date.hour > 23 || r.date.min > 59 ||
			    r.date.sec > 60 || r.date.year < 1900 || r.date.year > 9999)
				__builtin_trap();
			sink += strlen(date_format(&r.date, buf, sizeof(buf)));
		}
	} else if (size <= RECEIVED_MAX_LEN) {
		__builtin_trap(); /* only too long input or no memory fail */
	}
	/* the whole input as a date */
	if (date_parse((const char *)data, size, &d) == 0) {
		sink += strlen(date_format_utc(d.utc, buf, sizeof(buf)));
		sink += strlen(date_format_duration(d.utc, buf, sizeof(buf)));
	}
	(void)sink;
	arena_free(a);
	return 0;
}
