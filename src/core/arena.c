/*
 * arena - region allocator with a cleanup list (see arena.h)
 *
 * Chunks grow geometrically up to ARENA_CHUNK_MAX; a request larger than
 * a quarter of the chunk size gets a chunk of its own so that big objects
 * do not waste the tail of the current one.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 4096
#define ARENA_CHUNK_MAX (1024 * 1024)
#define ARENA_ALIGN     16

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	max_align_t data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct arena {
	struct chunk *chunks;
	struct cleanup *cleanups;
	size_t next_size;
	size_t used;
};

static unsigned long fail_countdown;

void arena_fail_after(unsigned long n)
{
	fail_countdown = n;
}

/* injected_failure - true when the allocation-failure test hook fires */
static int injected_failure(void)
{
	if (fail_countdown == 0)
		return 0;
	return --fail_countdown == 0;
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct arena *arena_new(void)
{
	struct arena *a;

	if (injected_failure())
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->next_size = ARENA_CHUNK_MIN;
	return a;
}

static void run_cleanups(struct arena *a)
{
	struct cleanup *c, *next;

	for (c = a->cleanups; c != NULL; c = next) {
		next = c->next;
		c->fn(c->arg);
	}
	a->cleanups = NULL;
}

struct arena *arena_free(struct arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return NULL;
	run_cleanups(a);
	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
	return NULL;
}

void arena_reset(struct arena *a)
{
	struct chunk *c, *next, *keep;

	run_cleanups(a);
	keep = NULL;
	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		if (next == NULL) { /* the oldest chunk is the smallest; keep it */
			keep = c;
			keep->used = 0;
		} else {
			free(c);
		}
	}
	a->chunks = keep;
	a->used = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct chunk *c;
	size_t need, csize;
	void *p;

	if (injected_failure())
		return NULL;
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	c = a->chunks;
	if (c == NULL || c->size - c->used < need) {
		if (need > a->next_size / 4) {
			/* big object: own chunk, inserted behind the current one */
			c = chunk_new(need);
			if (c == NULL)
				return NULL;
			if (a->chunks != NULL) {
				c->next = a->chunks->next;
				a->chunks->next = c;
			} else {
				a->chunks = c;
			}
		} else {
			csize = a->next_size;
			if (a->next_size < ARENA_CHUNK_MAX)
				a->next_size *= 2;
			c = chunk_new(csize);
			if (c == NULL)
				return NULL;
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void *arena_array(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return arena_zalloc(a, n * size);
}

int arena_grow(struct arena *a, void **v, size_t *size, size_t n, size_t esize, size_t first)
{
	size_t nsize;
	void *nv;

	if (n < *size)
		return 0;
	nsize = *size > 0 ? *size * 2 : (first > 0 ? first : 1);
	if (nsize < *size || (nv = arena_array(a, nsize, esize)) == NULL)
		return -1;
	if (n > 0)
		memcpy(nv, *v, n * esize);
	*v = nv;
	*size = nsize;
	return 0;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n);

	if (q != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *q;

	if (n == SIZE_MAX)
		return NULL;
	q = arena_alloc(a, n + 1);
	if (q == NULL)
		return NULL;
	memcpy(q, s, n);
	q[n] = '\0';
	return q;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int arena_cleanup(struct arena *a, void (*fn)(void *), void *arg)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));

	if (c == NULL)
		return -1;
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}
