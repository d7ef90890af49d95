/*
 * spool - the durable message spool (see spool.h): transactions, commit
 * by fsync and rename, recovery, scanning and changing committed entries
 *
 * Every path is relative to a directory descriptor held open for the
 * life of the spool (openat, renameat, linkat), so a spool keeps
 * working if it is reached through a chroot or a renamed parent.
 * Includes only core/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "transport/spool.h"

enum {
	SPOOL_D_QUEUE,
	SPOOL_D_QUARANTINE,
	SPOOL_D_CORRUPT,
	SPOOL_D_HOLD,
	SPOOL_D_INCOMING,
	SPOOL_ND
};

static const char *const spool_dirs[SPOOL_ND] = { "queue", "quarantine", "corrupt", "hold",
	                                          "incoming" };

struct spool {
	char *dir;
	char node[SPOOL_NODE_MAX + 1];
	uint64_t max_size;
	int dfd[SPOOL_ND];
};

enum spool_tx_state { SPOOL_TX_WRITING, SPOOL_TX_FINISHED, SPOOL_TX_COMMITTED, SPOOL_TX_FAILED };

struct spool_tx {
	struct spool *sp;
	char id[SPOOL_ID_MAX];
	int fd;
	enum spool_tx_state state;
	uint64_t size;
	char *wbuf;
	size_t wlen;
	char *map;
	size_t maplen;
	char errmsg[160];
};

const char *spool_dest_name(enum spool_dest d)
{
	return d <= SPOOL_HOLD ? spool_dirs[d] : "?";
}

const char *spool_dir(const struct spool *sp)
{
	return sp == NULL ? NULL : sp->dir;
}

bool spool_node_valid(const char *node)
{
	size_t n;

	if (node == NULL)
		return false;
	for (n = 0; node[n] != '\0'; n++)
		if (!str_is_alnum((unsigned char)node[n]) && node[n] != '_')
			return false;
	return n > 0 && n <= SPOOL_NODE_MAX;
}

/* ---- small file helpers ----------------------------------------------- */

static int spool_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int spool_fsync_dir(struct spool *sp, int d)
{
	return fsync(sp->dfd[d]);
}

/* spool_err - err gets "spool: DIR/NAME: what: strerror(errno)" */
static int spool_err(struct sx_err *err, int d, const char *name, const char *what)
{
	int e = errno;
	sx_err_set(err, "spool: %s/%s: %s: %s", spool_dirs[d], name, what, strerror(e));
	errno = e;
	return -1;
}

/* spool_env_name - "<id>.env" */
static void spool_env_name(char *out, size_t outsize, const char *id)
{
	snprintf(out, outsize, "%s.env", id);
}

/* spool_new_id - "<µs hex>-<node>-<random hex>" */
static int spool_new_id(struct spool *sp, char out[SPOOL_ID_MAX])
{
	struct timeval tv;
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -1;
	gettimeofday(&tv, NULL);
	snprintf(out, SPOOL_ID_MAX, "%llx-%s-%08x",
	         (unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec,
	         sp->node, r);
	return 0;
}

/* ---- open, close ------------------------------------------------------ */

struct spool *spool_open(const struct spool_options *o, struct sx_err *err)
{
	struct spool *sp;
	int i, root;

	if (o == NULL || o->dir == NULL || o->dir[0] == '\0') {
		sx_err_set(err, "spool: no directory");
		return NULL;
	}
	if (o->node_id != NULL && !spool_node_valid(o->node_id)) {
		sx_err_set(err, "spool: node id '%s' is not 1-%d of [A-Za-z0-9_]", o->node_id,
		           SPOOL_NODE_MAX);
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL || (sp->dir = strdup(o->dir)) == NULL) {
		free(sp);
		sx_err_set(err, "spool: out of memory");
		return NULL;
	}
	for (i = 0; i < SPOOL_ND; i++)
		sp->dfd[i] = -1;
	snprintf(sp->node, sizeof(sp->node), "%s", o->node_id ? o->node_id : "node");
	sp->max_size = o->max_size;
	if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
		sx_err_set(err, "spool: %s: %s", o->dir, strerror(errno));
		return spool_close(sp);
	}
	root = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		sx_err_set(err, "spool: %s: %s", o->dir, strerror(errno));
		return spool_close(sp);
	}
	for (i = 0; i < SPOOL_ND; i++) {
		if (mkdirat(root, spool_dirs[i], 0700) < 0 && errno != EEXIST)
			break;
		sp->dfd[i] = openat(root, spool_dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sp->dfd[i] < 0)
			break;
	}
	if (i < SPOOL_ND) {
		sx_err_set(err, "spool: %s/%s: %s", o->dir, spool_dirs[i], strerror(errno));
		close(root);
		return spool_close(sp);
	}
	/* the subdirectories must reach the disk before any entry does */
	fsync(root);
	close(root);
	return sp;
}

struct spool *spool_close(struct spool *sp)
{
	int i;

	if (sp == NULL)
		return NULL;
	for (i = 0; i < SPOOL_ND; i++)
		if (sp->dfd[i] >= 0)
			close(sp->dfd[i]);
	free(sp->dir);
	free(sp);
	return NULL;
}

/* ---- transactions ----------------------------------------------------- */

struct spool_tx *spool_tx_begin(struct spool *sp, struct sx_err *err)
{
	struct spool_tx *tx;
	int tries;

	if (sp == NULL) {
		sx_err_set(err, "spool: not open");
		return NULL;
	}
	tx = calloc(1, sizeof(*tx));
	if (tx == NULL || (tx->wbuf = malloc(SPOOL_WRITE_BUF)) == NULL) {
		free(tx);
		sx_err_set(err, "spool: out of memory");
		return NULL;
	}
	tx->sp = sp;
	tx->fd = -1;
	for (tries = 0; tries < 8 && tx->fd < 0; tries++) {
		if (spool_new_id(sp, tx->id) < 0)
			break;
		tx->fd = openat(sp->dfd[SPOOL_D_INCOMING], tx->id,
		                O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (tx->fd < 0 && errno != EEXIST)
			break;
	}
	if (tx->fd < 0) {
		spool_err(err, SPOOL_D_INCOMING, tx->id, "create");
		free(tx->wbuf);
		free(tx);
		return NULL;
	}
	return tx;
}

const char *spool_tx_id(const struct spool_tx *tx)
{
	return tx == NULL ? NULL : tx->id;
}

/* spool_tx_fail - remember why the transaction failed; returns -1 */
static int spool_tx_fail(struct spool_tx *tx, const char *fmt, const char *detail)
{
	tx->state = SPOOL_TX_FAILED;
	snprintf(tx->errmsg, sizeof(tx->errmsg), fmt, detail);
	return -1;
}

static int spool_tx_flush(struct spool_tx *tx)
{
	if (tx->wlen > 0 && spool_write_all(tx->fd, tx->wbuf, tx->wlen) < 0)
		return spool_tx_fail(tx, "write: %s", strerror(errno));
	tx->wlen = 0;
	return 0;
}

int spool_tx_write(struct spool_tx *tx, const void *buf, size_t len)
{
	const char *p = buf;

	if (tx == NULL || tx->state != SPOOL_TX_WRITING)
		return -1;
	if (tx->sp->max_size > 0 && (len > tx->sp->max_size || tx->size > tx->sp->max_size - len))
		return spool_tx_fail(tx, "%s", "message larger than the spool's limit");
	tx->size += len;
	while (len > 0) {
		size_t n = SPOOL_WRITE_BUF - tx->wlen;
		if (n > len)
			n = len;
		memcpy(tx->wbuf + tx->wlen, p, n);
		tx->wlen += n;
		p += n;
		len -= n;
		if (tx->wlen == SPOOL_WRITE_BUF && spool_tx_flush(tx) < 0)
			return -1;
	}
	return 0;
}

int spool_tx_finish(struct spool_tx *tx, struct sx_err *err)
{
	if (tx == NULL) {
		sx_err_set(err, "spool: no transaction");
		return -1;
	}
	if (tx->state != SPOOL_TX_WRITING || spool_tx_flush(tx) < 0) {
		sx_err_set(err, "spool: %s: %s", tx->id,
		           tx->errmsg[0] ? tx->errmsg : "transaction not open for writing");
		return -1;
	}
	free(tx->wbuf);
	tx->wbuf = NULL;
	if (tx->size > 0) {
		tx->map = mmap(NULL, tx->size, PROT_READ, MAP_SHARED, tx->fd, 0);
		if (tx->map == MAP_FAILED) {
			tx->map = NULL;
			spool_tx_fail(tx, "mmap: %s", strerror(errno));
			sx_err_set(err, "spool: %s: %s", tx->id, tx->errmsg);
			return -1;
		}
		tx->maplen = tx->size;
	}
	tx->state = SPOOL_TX_FINISHED;
	return 0;
}

int spool_tx_data(const struct spool_tx *tx, const char **data, size_t *len)
{
	if (tx == NULL || (tx->state != SPOOL_TX_FINISHED && tx->state != SPOOL_TX_COMMITTED))
		return -1;
	*data = tx->map != NULL ? tx->map : "";
	*len = tx->maplen;
	return 0;
}

/* spool_write_env - create dir d/<id>.env (O_EXCL) holding env, fsync'd */
static int spool_write_env(struct spool *sp, int d, const char *id,
                           const struct spool_envelope *env, struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, SPOOL_ENVELOPE_MAX + 1);
	if (spool_envelope_format(env, &b) < 0) {
		sx_err_set(err, "spool: %s: the envelope breaks a limit of the spool format", id);
		buf_free(&b);
		return -1;
	}
	spool_env_name(name, sizeof(name), id);
	/* a leftover from a crashed run would make O_EXCL fail for ever */
	unlinkat(sp->dfd[d], name, 0);
	fd = openat(sp->dfd[d], name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		spool_err(err, d, name, "create");
	} else if (spool_write_all(fd, b.data, b.len) < 0) {
		spool_err(err, d, name, "write");
	} else if (fsync(fd) < 0) {
		spool_err(err, d, name, "fsync");
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlinkat(sp->dfd[d], name, 0);
	buf_free(&b);
	return rc;
}

int spool_tx_commit(struct spool_tx *tx, const struct spool_envelope *env, enum spool_dest dest,
                    struct sx_err *err)
{
	struct spool_envelope e;
	char name[SPOOL_ID_MAX + 8];
	struct spool *sp;
	int d;

	if (tx == NULL || env == NULL || (dest != SPOOL_QUEUE && dest != SPOOL_QUARANTINE)) {
		sx_err_set(err, "spool: bad commit");
		return -1;
	}
	if (tx->state != SPOOL_TX_FINISHED) {
		sx_err_set(err, "spool: %s: %s", tx->id,
		           tx->errmsg[0] ? tx->errmsg : "commit before finish");
		return -1;
	}
	sp = tx->sp;
	d = dest == SPOOL_QUEUE ? SPOOL_D_QUEUE : SPOOL_D_QUARANTINE;
	e = *env;
	e.id = tx->id;
	e.size = tx->size;
	if (spool_write_env(sp, SPOOL_D_INCOMING, tx->id, &e, err) < 0)
		return -1;
	spool_env_name(name, sizeof(name), tx->id);
	if (fsync(tx->fd) < 0) {
		spool_err(err, SPOOL_D_INCOMING, tx->id, "fsync");
		goto fail;
	}
	if (renameat(sp->dfd[SPOOL_D_INCOMING], tx->id, sp->dfd[d], tx->id) < 0) {
		spool_err(err, d, tx->id, "rename");
		goto fail;
	}
	/* the commit point */
	if (renameat(sp->dfd[SPOOL_D_INCOMING], name, sp->dfd[d], name) < 0) {
		spool_err(err, d, name, "rename");
		/* not committed: the data goes back where recovery expects it */
		renameat(sp->dfd[d], tx->id, sp->dfd[SPOOL_D_INCOMING], tx->id);
		goto fail;
	}
	if (spool_fsync_dir(sp, d) < 0) {
		/* the rename may not be durable: un-publish, the client retries */
		spool_err(err, d, "", "fsync");
		unlinkat(sp->dfd[d], name, 0);
		unlinkat(sp->dfd[d], tx->id, 0);
		tx->state = SPOOL_TX_FAILED;
		return -1;
	}
	tx->state = SPOOL_TX_COMMITTED;
	return 0;
fail:
	unlinkat(sp->dfd[SPOOL_D_INCOMING], name, 0);
	return -1;
}

struct spool_tx *spool_tx_abort(struct spool_tx *tx)
{
	char name[SPOOL_ID_MAX + 8];

	if (tx == NULL)
		return NULL;
	if (tx->map != NULL)
		munmap(tx->map, tx->maplen);
	if (tx->fd >= 0)
		close(tx->fd);
	if (tx->state != SPOOL_TX_COMMITTED) {
		spool_env_name(name, sizeof(name), tx->id);
		unlinkat(tx->sp->dfd[SPOOL_D_INCOMING], tx->id, 0);
		unlinkat(tx->sp->dfd[SPOOL_D_INCOMING], name, 0);
	}
	free(tx->wbuf);
	free(tx);
	return NULL;
}

struct spool_tx *spool_tx_free(struct spool_tx *tx)
{
	return spool_tx_abort(tx);
}

/* ---- reading entries -------------------------------------------------- */

/* spool_read_env - the whole envelope file into the arena */
static char *spool_read_env(struct spool *sp, int d, const char *id, struct arena *a, size_t *len,
                            struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd;

	spool_env_name(name, sizeof(name), id);
	fd = openat(sp->dfd[d], name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			sx_err_set(err, "spool: %s/%s: no such entry", spool_dirs[d], id);
		else
			spool_err(err, d, name, "open");
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SPOOL_ENVELOPE_MAX) {
		sx_err_set(err, "spool: %s/%s: not a regular file of at most %d bytes",
		           spool_dirs[d], name, SPOOL_ENVELOPE_MAX);
		goto out;
	}
	p = arena_alloc(a, (size_t)st.st_size + 1);
	if (p == NULL) {
		sx_err_set(err, "spool: out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			spool_err(err, d, name, "read");
			p = NULL;
			goto out;
		}
		got += (size_t)r;
	}
	p[got] = '\0';
	*len = got;
out:
	close(fd);
	return p;
}

struct spool_entry *spool_entry_free(struct spool_entry *e)
{
	if (e == NULL)
		return NULL;
	if (e->data != NULL && e->len > 0)
		munmap((void *)e->data, e->len);
	if (e->fd >= 0)
		close(e->fd);
	arena_free(e->arena);
	free(e);
	return NULL;
}

struct spool_entry *spool_entry_load(struct spool *sp, enum spool_dest where, const char *id,
                                     struct sx_err *err)
{
	struct spool_entry *e;
	struct sx_err perr = { 0 };
	struct stat st;
	const char *text;
	size_t len = 0;
	void *m;

	if (sp == NULL || where > SPOOL_HOLD || !spool_envelope_id_valid(id)) {
		sx_err_set(err, "spool: '%s' is not a spool id", id ? id : "");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->arena = arena_new()) == NULL) {
		free(e);
		sx_err_set(err, "spool: out of memory");
		return NULL;
	}
	e->fd = -1;
	e->where = where;
	snprintf(e->id, sizeof(e->id), "%s", id);
	text = spool_read_env(sp, (int)where, id, e->arena, &len, err);
	if (text == NULL)
		return spool_entry_free(e);
	if (spool_envelope_parse(text, len, e->arena, &e->env, &perr) < 0) {
		sx_err_set(err, "spool: %s/%s.env: %s", spool_dirs[where], id, perr.msg);
		return spool_entry_free(e);
	}
	if (strcmp(e->env.id, id) != 0) {
		sx_err_set(err, "spool: %s/%s.env: the envelope is that of %s", spool_dirs[where],
		           id, e->env.id);
		return spool_entry_free(e);
	}
	e->fd = openat(sp->dfd[where], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (e->fd < 0 || fstat(e->fd, &st) < 0) {
		spool_err(err, (int)where, id, "data");
		return spool_entry_free(e);
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->env.size) {
		sx_err_set(err, "spool: %s/%s: data is %lld bytes, the envelope says %llu",
		           spool_dirs[where], id, (long long)st.st_size,
		           (unsigned long long)e->env.size);
		return spool_entry_free(e);
	}
	if (e->env.size > 0) {
		m = mmap(NULL, e->env.size, PROT_READ, MAP_SHARED, e->fd, 0);
		if (m == MAP_FAILED) {
			spool_err(err, (int)where, id, "mmap");
			return spool_entry_free(e);
		}
		e->data = m;
		e->len = e->env.size;
	} else {
		e->data = "";
	}
	return e;
}

struct spool_entry *spool_entry_find(struct spool *sp, const char *id, struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];
	int d;

	if (!spool_envelope_id_valid(id)) {
		sx_err_set(err, "spool: '%s' is not a spool id", id ? id : "");
		return NULL;
	}
	spool_env_name(name, sizeof(name), id);
	for (d = SPOOL_D_QUEUE; d <= SPOOL_D_HOLD; d++)
		if (faccessat(sp->dfd[d], name, F_OK, 0) == 0)
			return spool_entry_load(sp, (enum spool_dest)d, id, err);
	sx_err_set(err, "spool: %s: no such entry", id);
	return NULL;
}

int spool_entry_lock(struct spool_entry *e)
{
	if (e == NULL || e->fd < 0)
		return -1;
	if (flock(e->fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK ? 0 : -1;
}

/* ---- changing entries ------------------------------------------------- */

int spool_entry_update(struct spool *sp, struct spool_entry *e, const struct spool_envelope *env,
                       struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];
	struct spool_envelope c;

	if (sp == NULL || e == NULL || env == NULL) {
		sx_err_set(err, "spool: bad update");
		return -1;
	}
	c = *env;
	c.id = e->id;
	c.size = e->env.size;
	if (spool_write_env(sp, SPOOL_D_INCOMING, e->id, &c, err) < 0)
		return -1;
	spool_env_name(name, sizeof(name), e->id);
	if (renameat(sp->dfd[SPOOL_D_INCOMING], name, sp->dfd[e->where], name) < 0) {
		spool_err(err, (int)e->where, name, "rename");
		unlinkat(sp->dfd[SPOOL_D_INCOMING], name, 0);
		return -1;
	}
	if (spool_fsync_dir(sp, (int)e->where) < 0)
		return spool_err(err, (int)e->where, "", "fsync");
	return 0;
}

int spool_entry_remove(struct spool *sp, enum spool_dest where, const char *id, struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];

	if (sp == NULL || where > SPOOL_HOLD || !spool_envelope_id_valid(id)) {
		sx_err_set(err, "spool: bad remove");
		return -1;
	}
	spool_env_name(name, sizeof(name), id);
	/* the envelope goes into incoming/ first: a crash before the data is
	 * gone leaves the same state as a crash inside spool_tx_commit, which
	 * recovery cleans up instead of calling the data corrupt */
	if (renameat(sp->dfd[where], name, sp->dfd[SPOOL_D_INCOMING], name) < 0 && errno != ENOENT)
		return spool_err(err, (int)where, name, "rename");
	if (unlinkat(sp->dfd[where], id, 0) < 0 && errno != ENOENT)
		return spool_err(err, (int)where, id, "unlink");
	/*
	 * No fsync of the directory: a removal that a power failure undoes
	 * brings the entry back (delivered twice: at-least-once), it never
	 * loses one, and the queue manager removes an entry after every
	 * delivery, where a flush each time would cap delivery at the disk's
	 * flush rate (Postfix does not flush its removals either).
	 */
	unlinkat(sp->dfd[SPOOL_D_INCOMING], name, 0);
	return 0;
}

int spool_entry_requeue(struct spool *sp, struct spool_entry *e, const struct spool_envelope *env,
                        char new_id[SPOOL_ID_MAX], struct sx_err *err)
{
	char id[SPOOL_ID_MAX], name[SPOOL_ID_MAX + 8];
	struct spool_envelope c;
	int tries;

	if (sp == NULL || e == NULL || env == NULL || e->where == SPOOL_QUEUE) {
		sx_err_set(err, "spool: bad requeue");
		return -1;
	}
	if (new_id == NULL) {
		snprintf(id, sizeof(id), "%s", e->id);
		if (linkat(sp->dfd[e->where], e->id, sp->dfd[SPOOL_D_QUEUE], id, 0) < 0 &&
		    errno != EEXIST)
			return spool_err(err, SPOOL_D_QUEUE, id, "link");
	} else {
		for (tries = 0;; tries++) {
			if (spool_new_id(sp, id) < 0)
				return spool_err(err, SPOOL_D_QUEUE, "", "getrandom");
			if (linkat(sp->dfd[e->where], e->id, sp->dfd[SPOOL_D_QUEUE], id, 0) == 0)
				break;
			if (errno != EEXIST || tries > 8)
				return spool_err(err, SPOOL_D_QUEUE, id, "link");
		}
	}
	c = *env;
	c.id = id;
	c.size = e->env.size;
	if (spool_write_env(sp, SPOOL_D_INCOMING, id, &c, err) < 0)
		goto fail;
	spool_env_name(name, sizeof(name), id);
	if (renameat(sp->dfd[SPOOL_D_INCOMING], name, sp->dfd[SPOOL_D_QUEUE], name) < 0) {
		spool_err(err, SPOOL_D_QUEUE, name, "rename");
		unlinkat(sp->dfd[SPOOL_D_INCOMING], name, 0);
		goto fail;
	}
	if (spool_fsync_dir(sp, SPOOL_D_QUEUE) < 0) {
		spool_err(err, SPOOL_D_QUEUE, "", "fsync");
		unlinkat(sp->dfd[SPOOL_D_QUEUE], name, 0);
		goto fail;
	}
	if (new_id != NULL)
		snprintf(new_id, SPOOL_ID_MAX, "%s", id);
	else if (spool_entry_remove(sp, e->where, e->id, err) < 0)
		/* committed in queue/: recovery removes the leftover copy */
		log_warn("spool event=requeue_leftover id=%s error=\"%s\"", e->id, err->msg);
	return 0;
fail:
	unlinkat(sp->dfd[SPOOL_D_QUEUE], id, 0);
	return -1;
}

int spool_entry_move(struct spool *sp, struct spool_entry *e, enum spool_dest dest,
                     struct sx_err *err)
{
	char name[SPOOL_ID_MAX + 8];
	int from, to;

	if (sp == NULL || e == NULL ||
	    !((e->where == SPOOL_QUEUE && dest == SPOOL_HOLD) ||
	      (e->where == SPOOL_HOLD && dest == SPOOL_QUEUE))) {
		sx_err_set(err, "spool: bad move");
		return -1;
	}
	from = (int)e->where;
	to = (int)dest;
	spool_env_name(name, sizeof(name), e->id);
	/* data first (a second link), then the envelope (the commit point),
	 * then the old data: recovery removes a data file whose envelope is
	 * in the other directory, whichever side of the rename a crash hit */
	if (linkat(sp->dfd[from], e->id, sp->dfd[to], e->id, 0) < 0 && errno != EEXIST)
		return spool_err(err, to, e->id, "link");
	if (spool_fsync_dir(sp, to) < 0)
		return spool_err(err, to, "", "fsync");
	if (renameat(sp->dfd[from], name, sp->dfd[to], name) < 0) {
		spool_err(err, to, name, "rename");
		unlinkat(sp->dfd[to], e->id, 0);
		return -1;
	}
	if (spool_fsync_dir(sp, to) < 0)
		return spool_err(err, to, "", "fsync");
	if (unlinkat(sp->dfd[from], e->id, 0) < 0 && errno != ENOENT)
		log_warn("spool event=move_leftover id=%s dir=%s error=\"%s\"", e->id,
		         spool_dirs[from], strerror(errno));
	spool_fsync_dir(sp, from);
	e->where = dest;
	return 0;
}

/* ---- scanning and recovery -------------------------------------------- */

struct spool_names {
	char **v;
	size_t n, size;
};

static void spool_names_free(struct spool_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->size = 0;
}

static int spool_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* spool_names_read - every name in dir d but . and .., sorted */
static int spool_names_read(struct spool *sp, int d, struct spool_names *l, struct sx_err *err)
{
	struct dirent *de;
	DIR *dir;
	int fd;

	memset(l, 0, sizeof(*l));
	fd = openat(sp->dfd[d], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return spool_err(err, d, "", "opendir");
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == l->size) {
			size_t ns = l->size ? l->size * 2 : 64;
			char **nv = realloc(l->v, ns * sizeof(*nv));
			if (nv == NULL)
				goto nomem;
			l->v = nv;
			l->size = ns;
		}
		if ((l->v[l->n] = strdup(de->d_name)) == NULL)
			goto nomem;
		l->n++;
	}
	closedir(dir);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), spool_names_cmp);
	return 0;
nomem:
	closedir(dir);
	spool_names_free(l);
	sx_err_set(err, "spool: out of memory");
	return -1;
}

/* spool_name_id - the id of "<id>.env" into out; false for other names */
static bool spool_name_id(const char *name, char out[SPOOL_ID_MAX])
{
	size_t n = strlen(name);

	if (n <= 4 || n - 4 >= SPOOL_ID_MAX || strcmp(name + n - 4, ".env") != 0)
		return false;
	memcpy(out, name, n - 4);
	out[n - 4] = '\0';
	return spool_envelope_id_valid(out);
}

int spool_scan(struct spool *sp, enum spool_dest where, spool_scan_cb cb, void *arg,
               struct sx_err *err)
{
	struct spool_names l;
	char id[SPOOL_ID_MAX];
	size_t i;
	int rc = 0;

	if (sp == NULL || cb == NULL || where > SPOOL_HOLD) {
		sx_err_set(err, "spool: bad scan");
		return -1;
	}
	if (spool_names_read(sp, (int)where, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n && rc == 0; i++)
		if (spool_name_id(l.v[i], id))
			rc = cb(id, arg);
	spool_names_free(&l);
	return rc;
}

/* spool_to_corrupt - move dir d's name into corrupt/ */
static void spool_to_corrupt(struct spool *sp, int d, const char *name, const char *why,
                             struct spool_recover_stats *stats)
{
	char q[256];

	log_warn("spool event=corrupt dir=%s file=%s reason=%s", spool_dirs[d], name,
	         log_quote(q, sizeof(q), why));
	if (renameat(sp->dfd[d], name, sp->dfd[SPOOL_D_CORRUPT], name) < 0)
		log_error("spool event=corrupt_move_failed dir=%s file=%s error=\"%s\"",
		          spool_dirs[d], name, strerror(errno));
	stats->corrupt++;
}

static bool spool_names_has(const struct spool_names *l, const char *name)
{
	/* an empty list has no array: bsearch must not see its NULL */
	return l->n > 0 && bsearch(&name, l->v, l->n, sizeof(*l->v), spool_names_cmp) != NULL;
}

/* spool_recover_dir - check every entry of queue/ or quarantine/; inc: what
 * incoming/ held before it was emptied */
static int spool_recover_dir(struct spool *sp, int d, const struct spool_names *inc,
                             struct spool_recover_stats *stats, struct sx_err *err)
{
	struct spool_names l, q = { 0 }, peer = { 0 };
	char id[SPOOL_ID_MAX], name[SPOOL_ID_MAX + 8];
	struct sx_err lerr;
	size_t i;

	if (spool_names_read(sp, d, &l, err) < 0)
		return -1;
	if (d == SPOOL_D_QUARANTINE && spool_names_read(sp, SPOOL_D_QUEUE, &q, err) < 0) {
		spool_names_free(&l);
		return -1;
	}
	/* queue/ and hold/ trade entries (spool_entry_move) */
	if ((d == SPOOL_D_QUEUE || d == SPOOL_D_HOLD) &&
	    spool_names_read(sp, d == SPOOL_D_QUEUE ? SPOOL_D_HOLD : SPOOL_D_QUEUE, &peer, err) <
	        0) {
		spool_names_free(&l);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		const char *n = l.v[i];
		if (spool_name_id(n, id)) {
			struct spool_entry *e = spool_entry_load(sp, (enum spool_dest)d, id, &lerr);
			if (e == NULL) {
				spool_to_corrupt(sp, d, n, lerr.msg, stats);
				if (spool_names_has(&l, id))
					spool_to_corrupt(sp, d, id, "its entry is damaged", stats);
				continue;
			}
			spool_entry_free(e);
			if (d == SPOOL_D_QUARANTINE && spool_names_has(&q, n)) {
				/* released, then a crash before the quarantine copy went */
				log_info("spool event=release_leftover id=%s", id);
				spool_entry_remove(sp, SPOOL_QUARANTINE, id, &lerr);
				stats->duplicates_removed++;
				continue;
			}
			if (d == SPOOL_D_QUEUE)
				stats->queue++;
			else if (d == SPOOL_D_HOLD)
				stats->hold++;
			else
				stats->quarantine++;
		} else if (spool_envelope_id_valid(n)) {
			spool_env_name(name, sizeof(name), n);
			if (spool_names_has(&l, name))
				continue;
			if (spool_names_has(inc, name)) {
				/* its envelope was in incoming/: a commit or a removal
				 * the crash interrupted, never an acknowledged entry */
				log_info("spool event=uncommitted dir=%s id=%s", spool_dirs[d], n);
				if (unlinkat(sp->dfd[d], n, 0) == 0)
					stats->incoming_removed++;
			} else if (spool_names_has(&peer, name)) {
				/* a hold or release the crash cut: the entry is
				 * where its envelope is, this is the other link */
				log_info("spool event=move_leftover dir=%s id=%s", spool_dirs[d],
				         n);
				if (unlinkat(sp->dfd[d], n, 0) == 0)
					stats->duplicates_removed++;
			} else {
				spool_to_corrupt(sp, d, n, "data without an envelope", stats);
			}
		} else {
			spool_to_corrupt(sp, d, n, "not a spool file name", stats);
		}
	}
	spool_names_free(&l);
	spool_names_free(&q);
	spool_names_free(&peer);
	return 0;
}

int spool_recover(struct spool *sp, struct spool_recover_stats *stats, struct sx_err *err)
{
	struct spool_recover_stats local;
	struct spool_names l;
	size_t i;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (sp == NULL) {
		sx_err_set(err, "spool: not open");
		return -1;
	}
	/* nothing in incoming/ was acknowledged: the client will send it again */
	if (spool_names_read(sp, SPOOL_D_INCOMING, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++)
		if (unlinkat(sp->dfd[SPOOL_D_INCOMING], l.v[i], 0) == 0)
			stats->incoming_removed++;
	if (spool_recover_dir(sp, SPOOL_D_QUEUE, &l, stats, err) < 0 ||
	    spool_recover_dir(sp, SPOOL_D_QUARANTINE, &l, stats, err) < 0 ||
	    spool_recover_dir(sp, SPOOL_D_HOLD, &l, stats, err) < 0) {
		spool_names_free(&l);
		return -1;
	}
	spool_names_free(&l);
	spool_fsync_dir(sp, SPOOL_D_INCOMING);
	spool_fsync_dir(sp, SPOOL_D_QUEUE);
	spool_fsync_dir(sp, SPOOL_D_QUARANTINE);
	spool_fsync_dir(sp, SPOOL_D_CORRUPT);
	spool_fsync_dir(sp, SPOOL_D_HOLD);
	if (stats->incoming_removed || stats->corrupt || stats->duplicates_removed)
		log_info("spool event=recovered incoming_removed=%u corrupt=%u duplicates=%u "
		         "queue=%u quarantine=%u",
		         stats->incoming_removed, stats->corrupt, stats->duplicates_removed,
		         stats->queue, stats->quarantine);
	return 0;
}
