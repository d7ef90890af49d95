/*
 * cli_serve - `smexop serve [-c FILE]`: the gateway daemon
 *
 * One process and one libevent loop (see docs/architecture-notes.md for
 * what the process model has and has not yet): load the configuration
 * (the embedded defaults without -c), open the resolver, the store and
 * the spool (recovering what a crash left), build the gateway, bind the
 * SMTP listeners, deliver what the queue holds, then serve:
 *
 *   SIGTERM, SIGINT  stop accepting, let sessions finish until
 *                    SERVE_STOP_DEADLINE, then 421 the rest and exit 0
 *   SIGHUP           reload the configuration file; new sessions use it,
 *                    running ones keep theirs; a broken file is logged
 *                    and the old configuration stays.  Listeners, TLS
 *                    files, state paths and Maildir delivery are read
 *                    once at start: changing them needs a restart
 *
 * When started as root and the user SERVE_USER exists, privileges are
 * dropped to it once the ports are bound (the spool, store and Maildir
 * directories are handed to that user first).
 *
 * Exit: 0 after a clean stop, 1 when it cannot start (a message says
 * why), 2 on usage or configuration errors.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/log.h"
#include "core/workpool.h"
#include "gateway/gateway.h"
#include "smtp/smtp_server.h"
#include "store/store.h"
#include "transport/maildir.h"
#include "transport/spool.h"

#define SERVE_STOP_DEADLINE_MS 30000 /* sessions may finish this long after SIGTERM */
#define SERVE_USER             "smexop"
/* threads that fsync and publish accepted messages (core/workpool.h): a
 * few in flight let the file system merge their journal commits */
#define SERVE_COMMIT_THREADS 4

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
	struct maildir_options mopts;
	struct maildir_timer *delivery;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer, *drain_timer;
	bool stopping;
};

static int serve_usage(FILE *out)
{
	fprintf(out, "usage: smexop serve [-c FILE]\n"
	             "\n"
	             "Run the gateway: SMTP listeners, the protection pipeline, the spool and\n"
	             "the built-in Maildir delivery.  Without -c the embedded defaults apply\n"
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
	struct dns_options o;
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
		memset(&o, 0, sizeof(o));
		if (c->servers.n > 0) {
			o.forward_host = c->servers.v[0].host;
			o.forward_port = c->servers.v[0].port;
		}
		o.timeout_ms = (unsigned)c->timeout_ms;
		if (c->dnssec && access(c->trust_anchor, R_OK) == 0)
			o.trust_anchor = c->trust_anchor;
		sv->dns = dns_new(sv->base, &o, &err);
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
	struct maildir_stats ms;
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
	sv->mopts.root = c->delivery.maildir;
	sv->mopts.mode =
	    c->delivery.mode == CONFIG_DELIVERY_SINGLE ? MAILDIR_SINGLE : MAILDIR_PER_RECIPIENT;
	sv->mopts.hostname = c->server.hostname;
	/* what the last run left in the queue goes out now, not one interval later */
	memset(&ms, 0, sizeof(ms));
	if (maildir_deliver_pending(sv->spool, &sv->mopts, sv->store, (int64_t)time(NULL), &ms,
	                            &err) < 0)
		log_warn("delivery event=pass-failed error=\"%s\"", err.msg);
	else if (ms.entries > 0)
		log_info("delivery event=startup-pass entries=%u delivered=%u deferred=%u",
		         ms.entries, ms.delivered, ms.deferred);
	return 0;
}

/* serve_drop_privileges - become SERVE_USER when root and it exists */
static int serve_drop_privileges(struct serve *sv)
{
	const struct smexop_config *c = sv->cfg;
	struct passwd *pw;
	char dir[4096];
	const char *paths[4];
	size_t i;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(SERVE_USER);
	if (pw == NULL) {
		log_warn("serve event=running-as-root reason=\"no user %s\"", SERVE_USER);
		return 0;
	}
	paths[0] = c->spool.dir;
	paths[1] = c->delivery.maildir;
	paths[2] = serve_parent_dir(c->store.path, dir, sizeof(dir));
	paths[3] = c->store.path;
	for (i = 0; i < 4; i++)
		if (chown(paths[i], pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			log_warn("serve event=chown-failed path=%s error=\"%s\"", paths[i],
			         strerror(errno));
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "smexop serve: cannot drop privileges to %s: %s\n", SERVE_USER,
		        strerror(errno));
		return -1;
	}
	log_info("serve event=privileges-dropped user=%s uid=%u", SERVE_USER, (unsigned)pw->pw_uid);
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
	sv->delivery = maildir_timer_free(sv->delivery);
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
	sv.commits = workpool_new(sv.base, SERVE_COMMIT_THREADS, &err);
	if (sv.commits == NULL) {
		fprintf(stderr, "smexop serve: %s\n", err.msg);
		goto out;
	}
	deps.workpool = sv.commits;
	deps.quarantine_retention = sv.cfg->quarantine.retention_ms / 1000;
	/* The gateway owns its configuration generations and frees the old one
	 * on reload; this process keeps sv.cfg, the first one, for what only a
	 * restart changes (listeners, TLS files, state paths, Maildir delivery),
	 * since the SMTP server and the delivery timer point into it. */
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
	if (serve_drop_privileges(&sv) < 0)
		goto out;
	sv.delivery =
	    maildir_timer_new(sv.base, sv.spool, &sv.mopts, sv.store, sv.cfg->delivery.interval_ms);
	sv.sig_term = evsignal_new(sv.base, SIGTERM, serve_stop_cb, &sv);
	sv.sig_int = evsignal_new(sv.base, SIGINT, serve_stop_cb, &sv);
	sv.sig_hup = evsignal_new(sv.base, SIGHUP, serve_hup_cb, &sv);
	if (sv.delivery == NULL || sv.sig_term == NULL || sv.sig_int == NULL ||
	    sv.sig_hup == NULL || evsignal_add(sv.sig_term, NULL) < 0 ||
	    evsignal_add(sv.sig_int, NULL) < 0 || evsignal_add(sv.sig_hup, NULL) < 0) {
		fprintf(stderr, "smexop serve: cannot set up timers and signals\n");
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
