/*
 * maildir_list - list the messages of a Maildir (see maildir_list.h)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mime/maildir_list.h"

static bool maildir_list_isdir(const char *dir, const char *sub)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, sub);

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool maildir_list_is_maildir(const char *dir)
{
	return dir != NULL && maildir_list_isdir(dir, "cur") && maildir_list_isdir(dir, "new");
}

static int maildir_list_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int maildir_list_add(struct maildir_list *l, char *path, struct sx_err *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 64 : l->cap * 2;
		char **v;

		if (l->n >= MAILDIR_LIST_MAX) {
			sx_err_set(err, "more than %d messages", MAILDIR_LIST_MAX);
			return -1;
		}
		v = realloc(l->paths, cap * sizeof(*v));
		if (v == NULL) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		l->paths = v;
		l->cap = cap;
	}
	l->paths[l->n++] = path;
	return 0;
}

/* maildir_list_sub - append the files of dir/sub, sorted */
static int maildir_list_sub(const char *dir, const char *sub, struct maildir_list *l,
                            struct sx_err *err)
{
	char sdir[4096];
	size_t first = l->n;
	struct dirent *de;
	DIR *d;
	int n = snprintf(sdir, sizeof(sdir), "%s/%s", dir, sub);

	if (n < 0 || (size_t)n >= sizeof(sdir)) {
		sx_err_set(err, "%s: path too long", dir);
		return -1;
	}
	d = opendir(sdir);
	if (d == NULL) {
		sx_err_set(err, "%s: %s", sdir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		len = strlen(sdir) + 1 + strlen(de->d_name) + 1;
		path = malloc(len);
		if (path == NULL) {
			sx_err_set(err, "out of memory");
			closedir(d);
			return -1;
		}
		snprintf(path, len, "%s/%s", sdir, de->d_name);
		/* subdirectories are not messages; an entry that vanished
		 * meanwhile is reported when it is read */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(path);
			continue;
		}
		if (maildir_list_add(l, path, err) < 0) {
			free(path);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (l->n > first) /* qsort of an empty list: paths may be NULL */
		qsort(l->paths + first, l->n - first, sizeof(*l->paths), maildir_list_cmp);
	return 0;
}

int maildir_list_read(const char *dir, struct maildir_list *l, struct sx_err *err)
{
	memset(l, 0, sizeof(*l));
	if (!maildir_list_is_maildir(dir)) {
		sx_err_set(err, "%s: not a Maildir (no cur/ and new/ subdirectories)",
		           dir != NULL ? dir : "(null)");
		return -1;
	}
	if (maildir_list_sub(dir, "cur", l, err) < 0 || maildir_list_sub(dir, "new", l, err) < 0) {
		maildir_list_free(l);
		return -1;
	}
	return 0;
}

void maildir_list_free(struct maildir_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}
