/*
 * cli_serve - `smexop serve [-c FILE]`: the gateway daemon
 *
 * Three processes (see docs/architecture-notes.md): this one loads the
 * configuration (the embedded defaults without -c), opens the resolver,
 * the store and the spool (recovering what a crash left), builds the
 * gateway, binds the SMTP listeners, starts the key holder, `smexop
 * keyholder` (keyholder/keyholder.h), while still privileged so it can
 * read the DKIM/ARC keys this process never opens, drops privileges and
 * then starts the queue manager, `smexop queue run` (transport/queue.h),
 * as a child with its own loop, store connection and resolver.  Each
 * entry committed to queue/ is announced to it over a socketpair (lost
 * announcements are harmless: it rescans); the outbound stage asks the key
 * holder for signatures over another (keyholder/keyholder_client.h).
 * Either child is started again a second after it dies.  Then serve:
 *
 *   SIGTERM, SIGINT  stop accepting, let sessions finish until
 *                    SERVE_STOP_DEADLINE, then 421 the rest, stop the
 *                    queue manager (SIGTERM, SIGKILL after
 *                    SERVE_QMGR_STOP_MS) and exit 0
 *   SIGHUP           reload the configuration file; new sessions use it,
 *                    running ones keep theirs; a broken file is logged
 *                    and the old configuration stays.  Listeners, TLS
 *                    files, state paths and Maildir delivery are read
 *                    once at start: changing them needs a restart.
 *                    The queue manager gets the SIGHUP too and reloads
 *                    its connectors and queue settings; so does the key
 *                    holder, which reloads the signing keys
 *
 * When started as root and the user SERVE_USER exists (the environment
 * variable SMEXOP_USER names another, as the tests do), privileges are
 * dropped to it once the ports are bound (the spool, store and Maildir
 * directories are handed to that user first).
 *
 * Exit: 0 after a clean stop, 1 when it cannot start (a message says
 * why), 2 on usage or configuration errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/log.h"
#include "core/workpool.h"
#include "gateway/gateway.h"
#include "keyholder/keyholder_client.h"
#include "smtp/smtp_server.h"
#include "store/store.h"
#include "transport/spool.h"

#define SERVE_STOP_DEADLINE_MS 30000 /* sessions may finish this long after SIGTERM */
#define SERVE_USER             "smexop"
#define SERVE_QMGR_RESTART_MS  1000  /* a child that died is started again */
#define SERVE_QMGR_STOP_MS     10000 /* it may finish its writes this long */
/* threads that fsync and publish accepted messages (core/workpool.h): a
 * few in flight let the file system merge their journal commits */
#define SERVE_COMMIT_THREADS 4

struct serve;

/* A child process started by fork and exec of this program with one end of
 * a SOCK_SEQPACKET socketpair as descriptor 3, restarted when it dies. */
struct serve_child {
	const char *name;       /* for the log: qmgr, keyholder */
	const char *const *cmd; /* the words after "smexop", before -c FILE */
	pid_t pid;              /* 0: not running */
	int fd;                 /* our end of its socketpair, or -1 */
	struct event *restart;
	struct serve *sv;
};

struct serve {
	const char *config_path;   /* NULL: embedded defaults */
	struct smexop_config *cfg; /* the first configuration: listeners, paths, delivery */
	struct event_base *base;
	struct dns_zone *zone;
	struct dns *dns;
	struct store *store;
	struct spool *spool;
	struct gateway *gw;
	struct workpool *commits;
	struct smtp_server *server;
	struct smtp_server_config sc;
	/* the children: the queue manager and the key holder */
	char exe[4096]; /* this program, for the exec */
	struct serve_child qmgr, keys;
	struct keyholder_client kc; /* the outbound stage's signing hook */
	struct event *sig_chld;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer, *drain_timer;
	bool stopping;
	bool dropped; /* privileges were dropped: a child started now has none */
};

static int serve_usage(FILE *out)
{
	fprintf(out, "usage: smexop serve [-c FILE]\n"
	             "\n"
	             "Run the gateway: SMTP listeners, the protection pipeline, the spool and\n"
	             "the queue manager (a child process, `smexop queue run`).\n"
	             "Without -c the embedded defaults apply\n"
	             "(listen on port 25 of every address, state under /var/lib/smexop,\n"
	             "/var/spool/smexop and /var/mail/smexop); see docs/config.md.\n"
	             "\n"
	             "  -c, --config FILE   the configuration file\n"
	             "\n"
	             "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads FILE.\n");
	return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* serve_load - the configuration, errors printed as file:line:col */
static struct smexop_config *serve_load(const char *path, bool to_log)
{
	struct config_diag diag;
	struct smexop_config *cfg = config_load(path, &diag);
	char line[700];
	size_t i;

	if (cfg != NULL)
		return cfg;
	for (i = 0; i < diag.n; i++) {
		config_error_format(&diag, i, line, sizeof(line));
		if (to_log)
			log_error("serve event=reload-failed error=\"%s\"", line);
		else
			fprintf(stderr, "%s\n", line);
	}
	return NULL;
}

/* serve_mkdir - make a state directory (and its parents) as the admin expects */
static int serve_mkdir(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, i == n ? mode : 0755) < 0 && errno != EEXIST)
			return -1;
		tmp[i] = i == n ? '\0' : '/';
	}
	return 0;
}

/* serve_parent_dir - the directory part of path into out */
static const char *serve_parent_dir(const char *path, char *out, size_t outsize)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		snprintf(out, outsize, "%s", slash == path ? "/" : ".");
	else
		snprintf(out, outsize, "%.*s", (int)(slash - path), path);
	return out;
}

static int serve_dns(struct serve *sv)
{
	const struct config_dns *c = &sv->cfg->dns;
	struct sx_err err = { 0 };

	if (c->zone_file != NULL) {
		sv->zone = dns_zone_new();
		if (sv->zone == NULL || dns_zone_load_file(sv->zone, c->zone_file, &err) < 0) {
			char msg[700];

			if (sv->zone == NULL)
				sx_err_set(&err, "out of memory");
			fprintf(stderr, "smexop serve: %s\n",
			        sx_err_format(&err, msg, sizeof(msg)));
			return -1;
		}
		sv->dns = dns_new_zone(sv->base, sv->zone);
	} else {
		sv->dns = cli_config_resolver(sv->base, c, &err);
	}
	if (sv->dns == NULL) {
		fprintf(stderr, "smexop serve: dns: %s\n", err.msg[0] ? err.msg : "out of memory");
		return -1;
	}
	return 0;
}

static int serve_state(struct serve *sv)
{
	const struct smexop_config *c = sv->cfg;
	struct store_options so = { STORE_BACKEND_SQLITE, c->store.path,
		                    (unsigned)c->store.busy_timeout_ms };
	/* the spool refuses what the SMTP server would refuse anyway: a second fence */
	struct spool_options po = { c->spool.dir, c->spool.node_id,
		                    sv->sc.session.limits.message_size_max };
	struct spool_recover_stats rs;
	struct sx_err err = { 0 };
	char dir[4096];

	if (serve_mkdir(serve_parent_dir(c->store.path, dir, sizeof(dir)), 0700) < 0 ||
	    serve_mkdir(c->spool.dir, 0700) < 0 || serve_mkdir(c->delivery.maildir, 0700) < 0) {
		fprintf(stderr, "smexop serve: cannot create the state directories: %s\n",
		        strerror(errno));
		return -1;
	}
	sv->store = store_open(&so, &err);
	if (sv->store == NULL) {
		fprintf(stderr, "smexop serve: store %s: %s\n", c->store.path, err.msg);
		return -1;
	}
	sv->spool = spool_open(&po, &err);
	if (sv->spool == NULL) {
		fprintf(stderr, "smexop serve: %s\n", err.msg);
		return -1;
	}
	memset(&rs, 0, sizeof(rs));
	if (spool_recover(sv->spool, &rs, &err) < 0) {
		fprintf(stderr, "smexop serve: spool recovery: %s\n", err.msg);
		return -1;
	}
	log_info("spool event=recovered dir=%s queue=%u quarantine=%u incoming_removed=%u "
	         "corrupt=%u",
	         c->spool.dir, rs.queue, rs.quarantine, rs.incoming_removed, rs.corrupt);
	return 0;
}

/* ---- the children: queue manager and key holder ---------------------------- */

/* serve_user - SMEXOP_USER, or SERVE_USER */
static const char *serve_user(void)
{
	const char *u = getenv("SMEXOP_USER");

	return u != NULL && u[0] != '\0' ? u : SERVE_USER;
}

static const char *const serve_qmgr_cmd[] = { "queue", "run", "--notify-fd", "3", NULL };
static const char *const serve_keys_cmd[] = { "keyholder", "--fd", "3", NULL };

/* serve_child_fd - the child's descriptor changed: tell who uses it */
static void serve_child_fd(struct serve_child *c)
{
	if (c == &c->sv->keys)
		keyholder_client_set_fd(&c->sv->kc, c->fd);
}

/* serve_child_spawn - fork and exec `smexop CMD... [-c FILE]`, descriptor 3
 * one end of a new socketpair */
static int serve_child_spawn(struct serve_child *c)
{
	struct serve *sv = c->sv;
	char *argv[12];
	int sp[2], n = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	argv[n++] = (char *)"smexop";
	while (c->cmd[n - 1] != NULL && n < 8) {
		argv[n] = (char *)c->cmd[n - 1];
		n++;
	}
	if (sv->config_path != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)sv->config_path;
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		/* only async-signal-safe calls until exec: the listeners, the
		 * store and everything else of ours stay behind (close_range) */
		if (sp[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(sp[1], 3) < 0)
			_exit(127);
		close_range(4, ~0U, 0);
		execv(sv->exe, argv);
		_exit(127);
	}
	close(sp[1]);
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("serve event=%s-nonblock error=\"%s\"", c->name, strerror(errno));
	c->fd = sp[0];
	c->pid = pid;
	serve_child_fd(c);
	log_info("serve event=%s-started pid=%ld", c->name, (long)pid);
	return 0;
}

/* serve_queued - the gateway committed id to queue/: tell the manager
 * (never waits; a full or gone socket only delays it to its next scan) */
static void serve_queued(void *arg, const char *id)
{
	struct serve *sv = arg;

	if (sv->qmgr.fd >= 0)
		(void)send(sv->qmgr.fd, id, strlen(id), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void serve_child_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve_child *c = arg;

	(void)fd;
	(void)what;
	if (!c->sv->stopping && c->pid == 0 && serve_child_spawn(c) < 0)
		log_error("serve event=%s-spawn-failed error=\"%s\"", c->name, strerror(errno));
}

/* serve_child_gone - c was reaped: close its socket, restart it later */
static void serve_child_gone(struct serve_child *c, int status)
{
	struct timeval tv = { SERVE_QMGR_RESTART_MS / 1000, (SERVE_QMGR_RESTART_MS % 1000) * 1000 };

	c->pid = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	serve_child_fd(c);
	if (c->sv->stopping)
		return;
	log_warn("serve event=%s-died status=%d signal=%d restart_in_ms=%d", c->name,
	         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	         WIFSIGNALED(status) ? WTERMSIG(status) : 0, SERVE_QMGR_RESTART_MS);
	if (c == &c->sv->keys && c->sv->dropped)
		log_warn("serve event=keyholder-unprivileged reason=\"restarted after the "
		         "privilege drop: it reads only keys user %s may read; restart smexop "
		         "serve to sign with root-only keys\"",
		         serve_user());
	if (c->restart != NULL)
		evtimer_add(c->restart, &tv);
}

static void serve_chld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == sv->qmgr.pid)
			serve_child_gone(&sv->qmgr, status);
		else if (pid == sv->keys.pid)
			serve_child_gone(&sv->keys, status);
	}
}

/* serve_child_stop - SIGTERM, wait, SIGKILL after SERVE_QMGR_STOP_MS */
static void serve_child_stop(struct serve_child *c)
{
	int status, waited = 0;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, WNOHANG) == 0) {
			if (waited >= SERVE_QMGR_STOP_MS) {
				log_warn("serve event=%s-kill pid=%ld", c->name, (long)c->pid);
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				break;
			}
			usleep(10 * 1000);
			waited += 10;
		}
		c->pid = 0;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->sv != NULL)
		serve_child_fd(c);
}

static uid_t serve_chown_uid;
static gid_t serve_chown_gid;

static int serve_chown_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (lchown(path, serve_chown_uid, serve_chown_gid) < 0 && errno != ENOENT)
		log_warn("serve event=chown-failed path=%s error=\"%s\"", path, strerror(errno));
	return 0;
}

/* serve_chown_tree - hand path and everything below it to uid/gid (the
 * spool's and Maildir's subdirectories were made by root a moment ago);
 * symbolic links are not followed */
static void serve_chown_tree(const char *path, uid_t uid, gid_t gid)
{
	serve_chown_uid = uid;
	serve_chown_gid = gid;
	if (nftw(path, serve_chown_one, 16, FTW_PHYS) < 0 && errno != ENOENT)
		log_warn("serve event=chown-failed path=%s error=\"%s\"", path, strerror(errno));
}

/* serve_drop_privileges - become serve_user() when root and it exists */
static int serve_drop_privileges(struct serve *sv)
{
	const struct smexop_config *c = sv->cfg;
	struct passwd *pw;
	char dir[4096];
	const char *paths[4];
	size_t i;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(serve_user());
	if (pw == NULL) {
		log_warn("serve event=running-as-root reason=\"no user %s\"", serve_user());
		return 0;
	}
	paths[0] = c->spool.dir;
	paths[1] = c->delivery.maildir;
	paths[2] = serve_parent_dir(c->store.path, dir, sizeof(dir));
	paths[3] = c->store.path;
	/* the store's directory (not what else it holds), the spool and
	 * Maildir trees, and the store with its journal files */
	if (chown(paths[2], pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
		log_warn("serve event=chown-failed path=%s error=\"%s\"", paths[2],
		         strerror(errno));
	serve_chown_tree(paths[0], pw->pw_uid, pw->pw_gid);
	serve_chown_tree(paths[1], pw->pw_uid, pw->pw_gid);
	for (i = 0; i < 3; i++) {
		char side[4200];
		static const char *const ext[] = { "", "-wal", "-shm" };

		snprintf(side, sizeof(side), "%s%s", paths[3], ext[i]);
		if (chown(side, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			log_warn("serve event=chown-failed path=%s error=\"%s\"", side,
			         strerror(errno));
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "smexop serve: cannot drop privileges to %s: %s\n", serve_user(),
		        strerror(errno));
		return -1;
	}
	sv->dropped = true;
	log_info("serve event=privileges-dropped user=%s uid=%u", serve_user(),
	         (unsigned)pw->pw_uid);
	return 0;
}

/* ---- signals -------------------------------------------------------------- */

static void serve_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	(void)fd;
	(void)what;
	if (gateway_sessions(sv->gw) == 0)
		event_base_loopexit(sv->base, NULL);
}

static void serve_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	(void)fd;
	(void)what;
	log_warn("serve event=stop-deadline sessions=%u", gateway_sessions(sv->gw));
	smtp_server_shutdown(sv->server); /* 421 4.3.2 to whoever is left */
	event_base_loopexit(sv->base, NULL);
}

static void serve_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	struct timeval deadline = { SERVE_STOP_DEADLINE_MS / 1000, 0 };
	struct timeval tick = { 0, 100 * 1000 };

	(void)what;
	if (sv->stopping)
		return;
	sv->stopping = true;
	log_info("serve event=stopping signal=%d sessions=%u", (int)sig, gateway_sessions(sv->gw));
	smtp_server_stop_accepting(sv->server);
	sv->stop_timer = evtimer_new(sv->base, serve_deadline_cb, sv);
	sv->drain_timer = event_new(sv->base, -1, EV_PERSIST, serve_drain_cb, sv);
	if (sv->stop_timer == NULL || sv->drain_timer == NULL ||
	    evtimer_add(sv->stop_timer, &deadline) < 0 || event_add(sv->drain_timer, &tick) < 0)
		event_base_loopexit(sv->base, NULL);
}

static void serve_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	struct smexop_config *cfg;
	struct sx_err err = { 0 };

	(void)sig;
	(void)what;
	if (sv->config_path == NULL) {
		log_info("serve event=reload result=skipped reason=\"embedded defaults\"");
		return;
	}
	if (sv->qmgr.pid > 0)
		kill(sv->qmgr.pid, SIGHUP); /* it reloads on its own */
	if (sv->keys.pid > 0)
		kill(sv->keys.pid, SIGHUP); /* so does the key holder */
	cfg = serve_load(sv->config_path, true);
	if (cfg == NULL)
		return;
	if (gateway_reload(sv->gw, cfg, &err) < 0) {
		log_error("serve event=reload-failed error=\"%s\"", err.msg);
		config_free(cfg);
		return;
	}
	log_info("serve event=reloaded config=%s", sv->config_path);
}

/* ---- main ------------------------------------------------------------------ */

static void serve_close(struct serve *sv)
{
	if (sv->sig_term != NULL)
		event_free(sv->sig_term);
	if (sv->sig_int != NULL)
		event_free(sv->sig_int);
	if (sv->sig_hup != NULL)
		event_free(sv->sig_hup);
	if (sv->stop_timer != NULL)
		event_free(sv->stop_timer);
	if (sv->drain_timer != NULL)
		event_free(sv->drain_timer);
	sv->stopping = true;
	serve_child_stop(&sv->qmgr);
	serve_child_stop(&sv->keys);
	if (sv->sig_chld != NULL)
		event_free(sv->sig_chld);
	if (sv->qmgr.restart != NULL)
		event_free(sv->qmgr.restart);
	if (sv->keys.restart != NULL)
		event_free(sv->keys.restart);
	sv->server = smtp_server_free(sv->server); /* closes every session */
	sv->commits = workpool_free(sv->commits);  /* finishes their commits */
	sv->gw = gateway_free(sv->gw);
	sv->cfg = config_free(sv->cfg);
	sv->spool = spool_close(sv->spool);
	sv->store = store_close(sv->store);
	sv->dns = dns_free(sv->dns);
	sv->zone = dns_zone_free(sv->zone);
	if (sv->base != NULL)
		event_base_free(sv->base);
}

int cli_serve(int argc, char **argv)
{
	struct serve sv;
	struct gateway_deps deps;
	struct smexop_config *gwcfg;
	struct sx_err err = { 0 };
	int i, rc = 1;

	memset(&sv, 0, sizeof(sv));
	sv.qmgr = (struct serve_child){ "qmgr", serve_qmgr_cmd, 0, -1, NULL, &sv };
	sv.keys = (struct serve_child){ "keyholder", serve_keys_cmd, 0, -1, NULL, &sv };
	keyholder_client_init(&sv.kc, KEYHOLDER_CLIENT_TIMEOUT_MS);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return serve_usage(stdout);
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			sv.config_path = argv[++i];
			continue;
		}
		return cli_usage_error("serve", "unexpected argument '%s'", argv[i]);
	}
	sv.cfg = serve_load(sv.config_path, false);
	if (sv.cfg == NULL)
		return CLI_EXIT_USAGE;
	/* read now: the queue manager is this program, exec'd later */
	{
		ssize_t n = readlink("/proc/self/exe", sv.exe, sizeof(sv.exe) - 1);
		if (n <= 0) {
			fprintf(stderr, "smexop serve: cannot find my own program\n");
			config_free(sv.cfg);
			return 1;
		}
		sv.exe[n] = '\0';
	}
	log_setup((enum log_target)sv.cfg->log.target, (enum log_level)sv.cfg->log.level, "smexop");
	signal(SIGPIPE, SIG_IGN);
	sv.base = event_base_new();
	if (sv.base == NULL) {
		fprintf(stderr, "smexop serve: cannot create the event loop\n");
		goto out;
	}
	smtp_server_config_init(&sv.sc, sv.cfg);
	sv.sc.cert_file = sv.cfg->tls.cert_file;
	sv.sc.key_file = sv.cfg->tls.key_file;
	sv.sc.client_ca_file = sv.cfg->tls.client_ca_file;
	if (serve_dns(&sv) < 0 || serve_state(&sv) < 0)
		goto out;
	memset(&deps, 0, sizeof(deps));
	deps.base = sv.base;
	deps.dns = sv.dns;
	deps.store = sv.store;
	deps.spool = sv.spool;
	deps.queued = serve_queued;
	deps.queued_arg = &sv;
	deps.dkim_remote = keyholder_client_remote(&sv.kc);
	sv.commits = workpool_new(sv.base, SERVE_COMMIT_THREADS, &err);
	if (sv.commits == NULL) {
		fprintf(stderr, "smexop serve: %s\n", err.msg);
		goto out;
	}
	deps.workpool = sv.commits;
	deps.quarantine_retention = sv.cfg->quarantine.retention_ms / 1000;
	/* The gateway owns its configuration generations and frees the old one
	 * on reload; this process keeps sv.cfg, the first one, for what only a
	 * restart changes (listeners, TLS files, state paths), since the SMTP
	 * server points into it. */
	gwcfg = serve_load(sv.config_path, false);
	if (gwcfg == NULL)
		goto out;
	sv.gw = gateway_new(&deps, gwcfg, &err);
	if (sv.gw == NULL) {
		char msg[700];

		config_free(gwcfg);
		fprintf(stderr, "smexop serve: %s\n", sx_err_format(&err, msg, sizeof(msg)));
		goto out;
	}
	sv.server = smtp_server_new(sv.base, &sv.sc, gateway_hooks(sv.gw), &err);
	if (sv.server == NULL) {
		fprintf(stderr, "smexop serve: %s\n", err.msg);
		goto out;
	}
	/* before the drop: the key holder reads the keys with our privileges
	 * (root in production) and keeps them; this process never opens them */
	if (serve_child_spawn(&sv.keys) < 0) {
		fprintf(stderr, "smexop serve: cannot start the key holder: %s\n", strerror(errno));
		goto out;
	}
	if (serve_drop_privileges(&sv) < 0)
		goto out;
	sv.sig_term = evsignal_new(sv.base, SIGTERM, serve_stop_cb, &sv);
	sv.sig_int = evsignal_new(sv.base, SIGINT, serve_stop_cb, &sv);
	sv.sig_hup = evsignal_new(sv.base, SIGHUP, serve_hup_cb, &sv);
	sv.sig_chld = evsignal_new(sv.base, SIGCHLD, serve_chld_cb, &sv);
	sv.qmgr.restart = evtimer_new(sv.base, serve_child_restart_cb, &sv.qmgr);
	sv.keys.restart = evtimer_new(sv.base, serve_child_restart_cb, &sv.keys);
	if (sv.sig_term == NULL || sv.sig_int == NULL || sv.sig_hup == NULL ||
	    sv.sig_chld == NULL || sv.qmgr.restart == NULL || sv.keys.restart == NULL ||
	    evsignal_add(sv.sig_term, NULL) < 0 || evsignal_add(sv.sig_int, NULL) < 0 ||
	    evsignal_add(sv.sig_hup, NULL) < 0 || evsignal_add(sv.sig_chld, NULL) < 0) {
		fprintf(stderr, "smexop serve: cannot set up timers and signals\n");
		goto out;
	}
	/* after the ports are bound and privileges dropped, as Postfix's qmgr */
	if (serve_child_spawn(&sv.qmgr) < 0) {
		fprintf(stderr, "smexop serve: cannot start the queue manager: %s\n",
		        strerror(errno));
		goto out;
	}
	log_info("serve event=started pid=%ld hostname=%s listeners=%zu config=%s", (long)getpid(),
	         sv.cfg->server.hostname, sv.cfg->listeners.n,
	         sv.config_path != NULL ? sv.config_path : "(embedded defaults)");
	event_base_dispatch(sv.base);
	log_info("serve event=stopped");
	rc = 0;
out:
	serve_close(&sv);
	return rc;
}
