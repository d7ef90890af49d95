/*
 * report_util - helpers shared by the DMARC and TLS-RPT report code:
 * gzip, capped gunzip, base64, dates, random bytes, atomic file output,
 * time arguments (see report_util.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/multipart.h"
#include "report/report_util.h"

unsigned char *report_gzip(struct arena *a, const void *data, size_t len, size_t *outlen)
{
	z_stream z = { 0 };
	unsigned char *out;
	uLong bound;

	if (len > UINT_MAX / 2 ||
	    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	bound = deflateBound(&z, (uLong)len) + 32;
	out = arena_alloc(a, bound);
	if (out == NULL) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

unsigned char *report_gunzip(struct arena *a, const unsigned char *data, size_t len, size_t cap,
                             size_t cap_shown, size_t *outlen, struct sx_err *err)
{
	z_stream z = { 0 };
	size_t size, n = 0;
	unsigned char *out = NULL;
	int rc;

	/* the input's size only guesses a first buffer, never more than cap */
	size = len < (SIZE_MAX - 1024) / 4 ? len * 4 + 1024 : SIZE_MAX / 2;
	if (size > cap + 1)
		size = cap + 1;
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		sx_err_set(err, "gzip: cannot start inflating");
		return NULL;
	}
	out = malloc(size);
	if (out == NULL)
		goto nomem;
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)(len > UINT_MAX ? UINT_MAX : len);
	for (;;) {
		if (n == size) {
			if (size > cap) {
				sx_err_set(err, "decompressed data exceeds %zu bytes", cap_shown);
				goto fail;
			}
			size_t nsize = size * 2 > cap + 1 ? cap + 1 : size * 2;
			unsigned char *o = realloc(out, nsize);
			if (o == NULL)
				goto nomem;
			out = o;
			size = nsize;
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(size - n > UINT_MAX ? UINT_MAX : size - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = (size_t)(z.next_out - out);
		if (rc == Z_STREAM_END) {
			if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
				inflateReset(&z);
				continue;
			}
			break;
		}
		if (rc == Z_OK)
			continue;
		if (rc == Z_BUF_ERROR && z.avail_out > 0) {
			sx_err_set(err, "gzip: truncated data");
			goto fail;
		}
		if (rc != Z_BUF_ERROR) {
			sx_err_set(err, "gzip: %s", z.msg ? z.msg : "corrupt data");
			goto fail;
		}
	}
	inflateEnd(&z);
	if (n > cap) {
		sx_err_set(err, "decompressed data exceeds %zu bytes", cap_shown);
		free(out);
		return NULL;
	}
	unsigned char *res = arena_alloc(a, n + 1);
	if (res == NULL) {
		sx_err_set(err, "out of memory");
	} else {
		if (n > 0)
			memcpy(res, out, n);
		res[n] = '\0';
		*outlen = n;
	}
	free(out);
	return res;
nomem:
	sx_err_set(err, "out of memory");
fail:
	inflateEnd(&z);
	free(out);
	return NULL;
}

char *report_buf_take(struct arena *a, struct buf *b, bool ok, size_t *len)
{
	char *out = ok ? arena_memdup(a, b->data, b->len + 1) : NULL;

	if (out != NULL) {
		out[b->len] = '\0';
		*len = b->len;
	}
	buf_free(b);
	return out;
}

int report_base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
			      i + 2 < n ? t[v & 63] : '=' };
		if (buf_append(b, q, 4) < 0)
			return -1;
		col += 4;
		if (col >= 76) {
			if (buf_puts(b, "\r\n") < 0)
				return -1;
			col = 0;
		}
	}
	return col > 0 ? buf_puts(b, "\r\n") : 0;
}

void report_date(int64_t now, char *out, size_t size)
{
	time_t t = (time_t)now;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

void report_random(uint8_t *out, size_t n)
{
	size_t i;

	if (getrandom(out, n, 0) == (ssize_t)n)
		return;
	/* no entropy source: time, pid and an address still differ per run */
	uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out ^ (uint64_t)getpid() << 32;
	for (i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = (uint8_t)(x >> 56);
	}
}

int report_write_file(const char *dir, const char *name, const void *data, size_t len,
                      struct sx_err *err)
{
	char tmp[4096], path[4096];
	const char *p = data;
	int fd;

	if (strchr(name, '/') != NULL || name[0] == '.') {
		sx_err_set(err, "%s: not a plain file name", name);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp)) {
		sx_err_set(err, "%s/%s: path too long", dir, name);
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		sx_err_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fchmod(fd, 0640);
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	sx_err_set(err, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int report_time_parse(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	uint64_t v;
	const char *end;
	time_t t;

	if (s == NULL || *s == '\0')
		return -1;
	if (str_to_u64(s, strlen(s), 0, (uint64_t)1 << 40, &v) == 0) {
		*out = (int64_t)v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -1;
	if (*end == 'T' || *end == ' ') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (end == NULL)
			return -1;
		if (*end == 'Z')
			end++;
	}
	if (*end != '\0')
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

char *report_utf8_fix(struct arena *a, const char *s, size_t len, size_t *outlen, bool *fail)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = NULL;
	size_t i = 0, n = 0;
	bool bad = false;

	*fail = false;
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0, n = 0; i < len;) {
			size_t k = 0, j;
			unsigned c = p[i];
			if (c < 0x80)
				k = 1;
			else if (c >= 0xc2 && c <= 0xdf)
				k = 2;
			else if (c >= 0xe0 && c <= 0xef)
				k = 3;
			else if (c >= 0xf0 && c <= 0xf4)
				k = 4;
			for (j = 1; k > 1 && j < k; j++)
				if (i + j >= len || (p[i + j] & 0xc0) != 0x80)
					k = 0;
			/* overlong 3/4-byte forms, surrogates, beyond U+10FFFF */
			if (k == 3 &&
			    ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
				k = 0;
			if (k == 4 &&
			    ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
				k = 0;
			if (k == 0) {
				bad = true;
				if (out != NULL)
					memcpy(out + n, "\xef\xbf\xbd", 3);
				n += 3;
				i++;
				continue;
			}
			if (out != NULL)
				memcpy(out + n, p + i, k);
			n += k;
			i += k;
		}
		if (!bad)
			return NULL;
		if (pass == 0) {
			out = arena_alloc(a, n + 1);
			if (out == NULL) {
				*fail = true;
				return NULL;
			}
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* ---- reading received reports ------------------------------------------------ */

/* report_import_error - keep err when it is the first */
static void report_import_error(struct report_import *ri, const struct sx_err *err)
{
	if (!ri->have_err) {
		ri->first = *err;
		ri->have_err = true;
	}
}

int report_import_add(struct report_import *ri, const void *r)
{
	if (ri->n >= ri->max)
		return 0;
	if (arena_grow(ri->a, &ri->v, &ri->size, ri->n, ri->esize, 4) < 0)
		return -1;
	memcpy((char *)ri->v + ri->n * ri->esize, r, ri->esize);
	ri->n++;
	return 0;
}

struct report_import_walk {
	struct report_import *ri;
	unsigned depth;
	bool failure_report; /* a leaf of the format's failure_type was seen */
};

static int report_import_leaf(const struct multipart_leaf *leaf, void *arg)
{
	struct report_import_walk *w = arg;
	const struct report_import_format *f = w->ri->format;

	if (f->failure_type != NULL && strcmp(leaf->type, f->failure_type) == 0)
		w->failure_report = true;
	if (f->leaf(leaf))
		report_import_any(w->ri, leaf->data, leaf->len, w->depth + 1);
	return 0;
}

int report_import_any(struct report_import *ri, const unsigned char *data, size_t len,
                      unsigned depth)
{
	const struct report_import_format *f = ri->format;
	struct sx_err err = { 0 };
	size_t i = 0, n;
	int rc;

	if (depth > REPORT_IMPORT_MAX_DEPTH) {
		sx_err_set(&err, "reports nested more than %d deep", REPORT_IMPORT_MAX_DEPTH);
		goto fail;
	}
	if (len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf)
		i = 3; /* a UTF-8 byte order mark */
	while (i < len && str_is_space(data[i]))
		i++;
	if (i == len) {
		sx_err_set(&err, "empty");
		goto fail;
	}
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		unsigned char *out = report_gunzip(ri->a, data, len, ri->max_size - ri->used,
		                                   ri->max_size, &n, &err);
		if (out == NULL)
			goto fail;
		ri->used += n;
		return report_import_any(ri, out, n, depth + 1);
	}
	rc = f->sniff(ri, data, len, i, depth, &err);
	if (rc > 0)
		return 0;
	if (rc < 0)
		goto fail;
	/* a mail: a header field name and a colon on the first line (998:
	 * the longest line RFC 5322 allows) */
	for (n = i; n < len && n - i < 998 && data[n] != ':' && data[n] != '\n'; n++)
		;
	if (n < len && data[n] == ':' && n > i) {
		struct report_import_walk w = { .ri = ri, .depth = depth };
		size_t before = ri->n;
		if (multipart_walk(ri->a, (const char *)data, len, report_import_leaf, &w, &err) <
		    0)
			goto fail;
		if (ri->n == before && w.failure_report) {
			sx_err_set(&err, "%s", f->failure_msg);
			goto fail;
		}
		if (ri->n == before && !ri->have_err) {
			sx_err_set(&err, "%s", f->no_report);
			goto fail;
		}
		return 0;
	}
	sx_err_set(&err, "%s", f->neither);
fail:
	report_import_error(ri, &err);
	return -1;
}

int report_import_done(const struct report_import *ri, const char *none_found, struct sx_err *err)
{
	if (ri->n > 0)
		return 0;
	if (ri->have_err)
		*err = ri->first;
	else
		sx_err_set(err, "%s", none_found);
	return -1;
}
