/*
 * report_sched - the queue manager's report scheduler: rounds of
 * `smexop dmarc|tlsrpt report --queue` child processes (see report_sched.h)
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "transport/report_sched.h"

#define REPORT_SCHED_JOBS     2
#define REPORT_SCHED_LINE_MAX 1024
#define REPORT_SCHED_ARGBUF   2048

static const char *const report_sched_job_names[REPORT_SCHED_JOBS] = { "dmarc", "tlsrpt" };

struct report_sched {
	struct report_sched_options o;
	char exe[PATH_MAX];
	char *config_path;
	/* the settings, copied from the configuration */
	bool enabled[REPORT_SCHED_JOBS];
	int64_t interval[REPORT_SCHED_JOBS]; /* seconds */
	int64_t check_s, start_delay_ms, job_timeout_ms;
	const char *argv[REPORT_SCHED_JOBS][REPORT_SCHED_ARGS_MAX + 1];
	char argbuf[REPORT_SCHED_JOBS][REPORT_SCHED_ARGBUF];
	/* the round */
	struct event *timer, *pipe_ev, *reap_ev, *kill_ev;
	bool in_round;
	int job; /* index of the running (or last) job */
	pid_t pid;
	int fd;
	int64_t started;
	char line[REPORT_SCHED_LINE_MAX];
	size_t linelen;
	unsigned rounds;
};

static void report_sched_next_job(struct report_sched *s);

int64_t report_sched_next(int64_t now, int64_t check, const int64_t *intervals, size_t n,
                          int64_t settle)
{
	int64_t next = now + (check > 0 ? check : 3600);
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t iv = intervals[i], end;
		if (iv <= 0)
			continue;
		/* the end of the interval now is in; if its settling time is
		 * over already, the next one's */
		end = (now - settle) / iv * iv + iv + settle;
		if (end <= now)
			end += iv;
		if (end < next)
			next = end;
	}
	return next;
}

int report_sched_argv(const char *exe, const char *job, const char *config_path,
                      const struct smexop_config *cfg, const char **argv, char *buf, size_t bufsize)
{
	const struct config_dns *d = &cfg->dns;
	size_t n = 0, used = 0;

#define ARG(...)                                                                                   \
	do {                                                                                       \
		int len_ = snprintf(buf + used, bufsize - used, __VA_ARGS__);                      \
		if (len_ < 0 || (size_t)len_ >= bufsize - used || n >= REPORT_SCHED_ARGS_MAX)      \
			return -1;                                                                 \
		argv[n++] = buf + used;                                                            \
		used += (size_t)len_ + 1;                                                          \
	} while (0)

	ARG("%s", exe);
	ARG("%s", job);
	ARG("report");
	ARG("--queue");
	if (config_path != NULL) {
		ARG("-c");
		ARG("%s", config_path);
	}
	/* the children resolve as the manager does: the dns section */
	if (d->zone_file != NULL) {
		ARG("--dns-zone");
		ARG("%s", d->zone_file);
	} else if (d->servers.n > 0) {
		ARG("--dns");
		ARG(strchr(d->servers.v[0].host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		    d->servers.v[0].host, (unsigned)d->servers.v[0].port);
	}
	if (d->zone_file == NULL && d->timeout_ms > 0) {
		ARG("--dns-timeout");
		ARG("%llu", (unsigned long long)d->timeout_ms);
	}
	if (d->zone_file == NULL && d->dnssec && d->trust_anchor != NULL &&
	    access(d->trust_anchor, R_OK) == 0) {
		ARG("--trust-anchor");
		ARG("%s", d->trust_anchor);
	}
#undef ARG
	argv[n] = NULL;
	return (int)n;
}

static int64_t report_sched_now(const struct report_sched *s)
{
	return s->o.now != NULL ? s->o.now(s->o.arg) : (int64_t)time(NULL);
}

static void report_sched_settings(struct report_sched *s, const struct smexop_config *cfg)
{
	int i;

	s->enabled[0] = cfg->dmarc_reports.enabled;
	s->enabled[1] = cfg->tls_reports.enabled;
	s->interval[0] = (int64_t)(cfg->dmarc_reports.interval_ms / 1000);
	s->interval[1] = (int64_t)(cfg->tls_reports.interval_ms / 1000);
	s->check_s = (int64_t)((cfg->report_schedule.check_interval_ms + 999) / 1000);
	s->start_delay_ms = (int64_t)cfg->report_schedule.start_delay_ms;
	s->job_timeout_ms = (int64_t)cfg->report_schedule.job_timeout_ms;
	for (i = 0; i < REPORT_SCHED_JOBS; i++)
		if (report_sched_argv(s->exe, report_sched_job_names[i], s->config_path, cfg,
		                      s->argv[i], s->argbuf[i], sizeof(s->argbuf[i])) < 0) {
			log_warn("reports event=bad-arguments job=%s", report_sched_job_names[i]);
			s->enabled[i] = false;
		}
}

/* report_sched_arm - the next round in ms from now (a running round re-arms itself) */
static void report_sched_arm_ms(struct report_sched *s, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

static void report_sched_arm_next(struct report_sched *s)
{
	int64_t now = report_sched_now(s), iv[REPORT_SCHED_JOBS];
	int i;
	bool any = false;

	for (i = 0; i < REPORT_SCHED_JOBS; i++) {
		iv[i] = s->enabled[i] ? s->interval[i] : 0;
		any = any || s->enabled[i];
	}
	event_del(s->timer);
	if (!any)
		return;
	report_sched_arm_ms(
	    s, (report_sched_next(now, s->check_s, iv, REPORT_SCHED_JOBS, REPORT_SCHED_SETTLE_S) -
	        now) *
	           1000);
}

static void report_sched_log_line(struct report_sched *s)
{
	char q[REPORT_SCHED_LINE_MAX * 2 + 8];
	size_t i;

	if (s->linelen == 0)
		return;
	s->line[s->linelen] = '\0';
	for (i = 0; i < s->linelen; i++)
		if ((unsigned char)s->line[i] < 0x20 || s->line[i] == 0x7f)
			s->line[i] = ' ';
	log_info("reports event=output job=%s line=%s", report_sched_job_names[s->job],
	         log_quote(q, sizeof(q), s->line));
	s->linelen = 0;
}

/* report_sched_reaped - the job has ended: log it, go on with the round */
static void report_sched_reaped(struct report_sched *s, int status)
{
	int64_t took = report_sched_now(s) - s->started;

	if (WIFEXITED(status))
		log_info("reports event=job-done job=%s status=%d seconds=%lld",
		         report_sched_job_names[s->job], WEXITSTATUS(status), (long long)took);
	else
		log_warn("reports event=job-killed job=%s signal=%d seconds=%lld",
		         report_sched_job_names[s->job], WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		         (long long)took);
	s->pid = 0;
	event_del(s->kill_ev);
	report_sched_next_job(s);
}

static void report_sched_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_sched *s = arg;
	struct timeval tv = { 0, 50 * 1000 };
	int status = 0;
	pid_t r;

	(void)fd;
	(void)what;
	r = waitpid(s->pid, &status, WNOHANG);
	if (r == 0) {
		evtimer_add(s->reap_ev, &tv); /* the pipe closed just before the exit */
		return;
	}
	if (r < 0)
		status = 0;
	report_sched_reaped(s, status);
}

static void report_sched_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_sched *s = arg;
	char buf[4096];
	ssize_t n, i;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || s->linelen >= sizeof(s->line) - 1)
			report_sched_log_line(s);
		if (buf[i] != '\n')
			s->line[s->linelen++] = buf[i];
	}
	if (n > 0)
		return;
	/* end of file: the child is gone or going */
	report_sched_log_line(s);
	event_free(s->pipe_ev);
	s->pipe_ev = NULL;
	close(s->fd);
	s->fd = -1;
	report_sched_reap_cb(-1, 0, s);
}

static void report_sched_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_sched *s = arg;

	(void)fd;
	(void)what;
	if (s->pid > 0) {
		log_warn("reports event=job-timeout job=%s pid=%ld", report_sched_job_names[s->job],
		         (long)s->pid);
		kill(s->pid, SIGKILL);
	}
}

/* report_sched_spawn - start job i; 0, or -1 (logged) */
static int report_sched_spawn(struct report_sched *s, int i)
{
	int p[2], devnull;
	pid_t pid;
	struct timeval tv;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("reports event=spawn-failed job=%s error=\"%s\"",
		         report_sched_job_names[i], strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("reports event=spawn-failed job=%s error=\"%s\"",
		         report_sched_job_names[i], strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* the child: nothing of the manager's but the pipe */
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		execv(s->exe, (char *const *)s->argv[i]);
		_exit(127);
	}
	close(p[1]);
	s->pid = pid;
	s->fd = p[0];
	s->job = i;
	s->linelen = 0;
	s->started = report_sched_now(s);
	(void)fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	s->pipe_ev = event_new(s->o.base, s->fd, EV_READ | EV_PERSIST, report_sched_pipe_cb, s);
	if (s->pipe_ev == NULL || event_add(s->pipe_ev, NULL) < 0) {
		/* cannot watch it: wait for it the slow way */
		log_warn("reports event=no-pipe-event job=%s", report_sched_job_names[i]);
		if (s->pipe_ev != NULL)
			event_free(s->pipe_ev);
		s->pipe_ev = NULL;
		close(s->fd);
		s->fd = -1;
		report_sched_reap_cb(-1, 0, s);
		return 0;
	}
	tv.tv_sec = (time_t)(s->job_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(s->job_timeout_ms % 1000) * 1000;
	evtimer_add(s->kill_ev, &tv);
	log_info("reports event=job-start job=%s pid=%ld", report_sched_job_names[i], (long)pid);
	return 0;
}

static void report_sched_next_job(struct report_sched *s)
{
	while (++s->job < REPORT_SCHED_JOBS) {
		if (!s->enabled[s->job])
			continue;
		if (report_sched_spawn(s, s->job) == 0)
			return;
	}
	s->in_round = false;
	s->rounds++;
	log_info("reports event=round-done round=%u", s->rounds);
	if (s->o.done != NULL)
		s->o.done(s->o.arg);
	report_sched_arm_next(s);
}

static void report_sched_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_sched *s = arg;

	(void)fd;
	(void)what;
	if (s->in_round)
		return;
	s->in_round = true;
	s->job = -1;
	report_sched_next_job(s);
}

struct report_sched *report_sched_new(const struct report_sched_options *o,
                                      const struct smexop_config *cfg, struct sx_err *err)
{
	struct report_sched *s = calloc(1, sizeof(*s));
	ssize_t n;

	if (s == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->fd = -1;
	if (o->exe != NULL) {
		snprintf(s->exe, sizeof(s->exe), "%s", o->exe);
	} else {
		n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
		if (n <= 0) {
			sx_err_set(err, "report scheduler: /proc/self/exe: %s", strerror(errno));
			free(s);
			return NULL;
		}
		s->exe[n] = '\0';
	}
	if (o->config_path != NULL && (s->config_path = strdup(o->config_path)) == NULL) {
		free(s);
		sx_err_set(err, "out of memory");
		return NULL;
	}
	s->timer = evtimer_new(o->base, report_sched_timer_cb, s);
	s->reap_ev = evtimer_new(o->base, report_sched_reap_cb, s);
	s->kill_ev = evtimer_new(o->base, report_sched_kill_cb, s);
	if (s->timer == NULL || s->reap_ev == NULL || s->kill_ev == NULL) {
		sx_err_set(err, "report scheduler: cannot create events");
		return report_sched_free(s);
	}
	report_sched_settings(s, cfg);
	if (s->enabled[0] || s->enabled[1]) {
		log_info("reports event=scheduled dmarc=%s tlsrpt=%s first_in_ms=%lld",
		         s->enabled[0] ? "yes" : "no", s->enabled[1] ? "yes" : "no",
		         (long long)s->start_delay_ms);
		report_sched_arm_ms(s, s->start_delay_ms);
	}
	return s;
}

void report_sched_reload(struct report_sched *s, const struct smexop_config *cfg)
{
	if (s == NULL || cfg == NULL)
		return;
	report_sched_settings(s, cfg);
	if (!s->in_round)
		report_sched_arm_next(s);
}

unsigned report_sched_rounds(const struct report_sched *s)
{
	return s != NULL ? s->rounds : 0;
}

struct report_sched *report_sched_free(struct report_sched *s)
{
	if (s == NULL)
		return NULL;
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->pipe_ev != NULL)
		event_free(s->pipe_ev);
	if (s->fd >= 0)
		close(s->fd);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->reap_ev != NULL)
		event_free(s->reap_ev);
	if (s->kill_ev != NULL)
		event_free(s->kill_ev);
	free(s->config_path);
	free(s);
	return NULL;
}
