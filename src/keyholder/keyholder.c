/*
 * keyholder - the key holder's master and signer processes
 *
 * See keyholder.h.  The master is a plain loop on sigtimedwait(): it has
 * no event base and no socket work, so the privileged process runs as
 * little code as possible.  The signer is a plain blocking recv() loop:
 * one request, one reply, nothing else to wait for.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "keyholder/keyholder.h"
#include "keyholder/keyholder_keys.h"
#include "keyholder/keyholder_proto.h"

/* keyholder_config - the configuration, errors logged */
static struct smexop_config *keyholder_config(const char *path)
{
	struct config_diag diag;
	struct smexop_config *cfg = config_load(path, &diag);
	char line[700];
	size_t i;

	if (cfg != NULL)
		return cfg;
	for (i = 0; i < diag.n; i++) {
		config_error_format(&diag, i, line, sizeof(line));
		log_error("keyholder event=config-failed error=\"%s\"", line);
	}
	return NULL;
}

/* keyholder_user - SMEXOP_USER (as serve reads it), or KEYHOLDER_USER */
static const char *keyholder_user(void)
{
	const char *u = getenv("SMEXOP_USER");

	return u != NULL && u[0] != '\0' ? u : KEYHOLDER_USER;
}

/* keyholder_drop - become keyholder_user() when root and it exists */
static int keyholder_drop(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(keyholder_user());
	if (pw == NULL) {
		log_warn("keyholder event=running-as-root reason=\"no user %s\"", keyholder_user());
		return 0;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("keyholder event=drop-failed error=\"%s\"", strerror(errno));
		return -1;
	}
	return 0;
}

int keyholder_serve_one(const struct keyholder_keys *keys, int fd)
{
	uint8_t in[KEYHOLDER_MSG_MAX + 1], out[KEYHOLDER_MSG_MAX];
	struct keyholder_req q;
	struct keyholder_reply r;
	ssize_t got;
	size_t n;

	do
		got = recv(fd, in, sizeof(in), MSG_TRUNC);
	while (got < 0 && errno == EINTR);
	if (got == 0)
		return 0;
	if (got < 0) {
		log_error("keyholder event=recv-failed error=\"%s\"", strerror(errno));
		return -1;
	}
	/* MSG_TRUNC: got is the datagram's real length, however long */
	if ((size_t)got > KEYHOLDER_MSG_MAX || keyholder_req_decode(in, (size_t)got, &q) < 0) {
		log_error("keyholder event=bad-request len=%zd action=close", got);
		return -1;
	}
	keyholder_keys_answer(keys, &q, &r);
	if (r.status != KEYHOLDER_OK)
		log_warn("keyholder event=refused type=%s domain=%s selector=%s status=%s",
		         q.type == KEYHOLDER_SIGN ? "sign" : "info", q.domain,
		         q.type == KEYHOLDER_SIGN ? q.selector : "-",
		         keyholder_status_name(r.status));
	n = keyholder_reply_encode(&r, out, sizeof(out));
	if (n == 0) {
		r.status = KEYHOLDER_FAILED;
		n = keyholder_reply_encode(&r, out, sizeof(out));
	}
	if (n > 0 && send(fd, out, n, MSG_NOSIGNAL) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			return 0;
		log_error("keyholder event=send-failed error=\"%s\"", strerror(errno));
		return -1;
	}
	return 1;
}

/* keyholder_signer - load, drop, answer; does not return */
static void keyholder_signer(const struct smexop_config *cfg, int fd)
{
	struct keyholder_keys *keys;
	size_t failed = 0;
	int r;

	keys = keyholder_keys_load(cfg, &failed);
	if (keys == NULL) {
		log_error("keyholder event=load-failed error=\"out of memory\"");
		_exit(1);
	}
	if (keyholder_drop() < 0)
		_exit(1);
	/* a change of the effective uid clears the parent-death signal: again */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
		_exit(1);
	/* the SMTP process may run as the same user: no ptrace, no core, no
	 * /proc/PID/mem of this one */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_info("keyholder event=keys-loaded pid=%ld keys=%zu failed=%zu uid=%u", (long)getpid(),
	         keyholder_keys_count(keys), failed, (unsigned)getuid());
	while ((r = keyholder_serve_one(keys, fd)) > 0)
		;
	_exit(r == 0 ? KEYHOLDER_EXIT_EOF : KEYHOLDER_EXIT_PROTOCOL);
}

static int64_t keyholder_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* keyholder_spawn - fork a signer; its pid, or -1 */
static pid_t keyholder_spawn(const struct smexop_config *cfg, int fd)
{
	sigset_t none;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	sigemptyset(&none);
	signal(SIGHUP, SIG_IGN);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the master's death takes the signer with it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
		_exit(1);
	/* wholly root while loading (access() looks at the real uid the
	 * master gave away); keyholder_drop() then gives everything up */
	if (geteuid() == 0 && setresuid(0, 0, 0) < 0)
		_exit(1);
	keyholder_signer(cfg, fd);
	_exit(1);
}

/* keyholder_reap - stop the signer (SIGTERM, SIGKILL after a second) */
static void keyholder_reap(pid_t pid)
{
	int status, waited = 0;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited >= 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(10 * 1000);
		waited += 10;
	}
}

int keyholder_main(const char *config_path, int fd)
{
	struct smexop_config *cfg, *fresh;
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	sigset_t set;
	siginfo_t si;
	pid_t signer = 0, ppid = getppid();
	uint64_t stamp;
	int64_t restart_at = 0, next_poll;
	int sig, status, rc = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != ppid || ppid == 1)
		return 1;
	cfg = keyholder_config(config_path);
	if (cfg == NULL)
		return 2;
	log_setup((enum log_target)cfg->log.target, (enum log_level)cfg->log.level, "smexop");
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(keyholder_user());

		/* serve drops to that user and must still be able to signal us
		 * (SIGHUP, SIGTERM): it becomes our real uid; the effective and
		 * saved ones stay root for reading the keys, and a process with
		 * mixed ids cannot be traced or read by that user */
		if (pw != NULL && setresuid(pw->pw_uid, 0, 0) < 0)
			log_warn("keyholder event=setresuid-failed error=\"%s\"", strerror(errno));
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	stamp = keyholder_keys_stamp(cfg);
	next_poll = keyholder_now_ms() + KEYHOLDER_POLL_MS;
	log_info("keyholder event=started pid=%ld uid=%u euid=%u", (long)getpid(),
	         (unsigned)getuid(), (unsigned)geteuid());
	for (;;) {
		int64_t now = keyholder_now_ms();

		if (signer == 0 && now >= restart_at) {
			signer = keyholder_spawn(cfg, fd);
			if (signer < 0) {
				log_error("keyholder event=fork-failed error=\"%s\"",
				          strerror(errno));
				signer = 0;
				restart_at = now + KEYHOLDER_RESTART_MS;
			}
		}
		if (now >= next_poll) {
			uint64_t s = keyholder_keys_stamp(cfg);

			next_poll = now + KEYHOLDER_POLL_MS;
			if (s != stamp) {
				/* a rotation: the next signer loads the new state */
				stamp = s;
				log_info("keyholder event=keys-changed action=reload");
				keyholder_reap(signer);
				signer = 0;
				restart_at = 0;
				continue;
			}
		}
		sig = sigtimedwait(&set, &si, &tick);
		if (sig < 0)
			continue; /* the tick, or EINTR */
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			fresh = config_path != NULL ? keyholder_config(config_path) : NULL;
			if (fresh != NULL) {
				config_free(cfg);
				cfg = fresh;
			}
			stamp = keyholder_keys_stamp(cfg);
			log_info("keyholder event=reload config=%s",
			         fresh != NULL ? "new" : "unchanged");
			keyholder_reap(signer);
			signer = 0;
			restart_at = 0;
			continue;
		}
		/* SIGCHLD */
		while (signer > 0 && waitpid(signer, &status, WNOHANG) == signer) {
			signer = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == KEYHOLDER_EXIT_EOF) {
				log_info("keyholder event=peer-gone");
				goto out;
			}
			log_warn("keyholder event=signer-died status=%d signal=%d restart_in_ms=%d",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			         WIFSIGNALED(status) ? WTERMSIG(status) : 0, KEYHOLDER_RESTART_MS);
			restart_at = keyholder_now_ms() + KEYHOLDER_RESTART_MS;
		}
	}
out:
	keyholder_reap(signer);
	log_info("keyholder event=stopped");
	config_free(cfg);
	return rc;
}
