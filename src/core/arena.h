/*
 * arena - region allocator with a cleanup list
 *
 * Every message, SPF evaluation or CLI run allocates from one arena and
 * frees it in one call.  Objects owned by other libraries (OpenSSL, unbound)
 * register a cleanup that runs when the arena is freed, newest first.
 *
 * Allocation failure is not fatal: arena_alloc() returns NULL and callers
 * turn that into a temporary failure.  A test hook (arena_fail_after) makes
 * the Nth allocation fail so every caller's error path can be exercised.
 */
#ifndef SMEXOP_CORE_ARENA_H
#define SMEXOP_CORE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* arena_free - run the cleanups, release everything; returns NULL */
struct arena *arena_free(struct arena *a);
/* arena_reset - like free, but keeps the first chunk for reuse */
void arena_reset(struct arena *a);

void *arena_alloc(struct arena *a, size_t size) __attribute__((warn_unused_result, malloc));
void *arena_zalloc(struct arena *a, size_t size) __attribute__((warn_unused_result, malloc));
/* arena_array - n * size with overflow check, zeroed */
void *arena_array(struct arena *a, size_t n, size_t size) __attribute__((warn_unused_result));
/* arena_grow - make room for one more element in the array *v of *size
 * elements, n of them used: when n == *size, a new array twice as large
 * (first when empty) with the n copied over; the old one stays in the
 * arena.  0, or -1 when out of memory (*v unchanged).  ARENA_GROW fills in
 * the element size. */
int arena_grow(struct arena *a, void **v, size_t *size, size_t n, size_t esize, size_t first)
    __attribute__((warn_unused_result));
#define ARENA_GROW(a, v, size, n, first)                                                           \
	arena_grow((a), (void **)&(v), &(size), (n), sizeof(*(v)), (first))
char *arena_strdup(struct arena *a, const char *s) __attribute__((warn_unused_result));
char *arena_strndup(struct arena *a, const char *s, size_t n) __attribute__((warn_unused_result));
void *arena_memdup(struct arena *a, const void *p, size_t n) __attribute__((warn_unused_result));
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));

/* arena_cleanup - call fn(arg) when the arena is freed or reset; 0 or -1 */
int arena_cleanup(struct arena *a, void (*fn)(void *), void *arg);

/* bytes handed out since creation or the last reset */
size_t arena_used(const struct arena *a);

/* Test hook: the n-th allocation from now (1 = next) fails in every arena;
 * 0 switches it off. */
void arena_fail_after(unsigned long n);

#endif
