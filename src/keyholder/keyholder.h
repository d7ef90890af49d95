/*
 * keyholder - the key holder process: the only one with DKIM/ARC keys
 *
 * SUMMARY
 *	`smexop keyholder --fd N [-c FILE]` (cli/cli_keyholder.c) calls
 *	keyholder_main(config_path, N); `smexop serve` starts it that way,
 *	before it drops its own privileges, and talks to it with
 *	keyholder_client.h over a SOCK_SEQPACKET socketpair.
 *
 * DESCRIPTION
 *	Two processes, as OpenSMTPD's ca.c and Postfix's master model:
 *	  master  keeps the privileges it was started with (root in
 *	          production: effective uid 0, and the `smexop` user as real
 *	          uid so that the unprivileged serve may signal it) and never
 *	          reads the socket: it forks the
 *	          signer, restarts it when it dies (half a second later), and
 *	          replaces it on SIGHUP and when the keys change on disk
 *	          (`smexop dkim rotate`, `dkim init`: checked every
 *	          KEYHOLDER_POLL_MS); it ends on SIGTERM, on its parent's death
 *	          (PR_SET_PDEATHSIG) and when the signer reports end of file
 *	          (serve has gone).
 *	  signer  loads the keys once (keyholder_keys.h), drops to the
 *	          `smexop` user when it is root and the user exists, makes
 *	          itself non-dumpable (no ptrace, no /proc/PID/mem for the SMTP
 *	          process of the same user), and answers one request at a time.
 *	          A malformed request is logged and ends it (exit 3), as
 *	          OpenSMTPD's m_end ends a process; the socket stays open in
 *	          the master, which starts a fresh signer.
 *	Keys are never written anywhere by either; the socket is the only
 *	way in.
 *
 * DIAGNOSTICS
 *	One key=value log line per event: keyholder event=started,
 *	keys-loaded (keys, failed), key-unreadable, bad-request,
 *	signer-died, keys-changed, reload, stopped.
 */
#ifndef SMEXOP_KEYHOLDER_H
#define SMEXOP_KEYHOLDER_H

#define KEYHOLDER_USER          "smexop" /* SMEXOP_USER in the environment: another */
#define KEYHOLDER_POLL_MS       1000     /* how often the key files' times are looked at */
#define KEYHOLDER_RESTART_MS    500      /* a signer that died is started again */
#define KEYHOLDER_EXIT_EOF      0        /* the signer saw end of file: serve has gone */
#define KEYHOLDER_EXIT_PROTOCOL 3        /* the signer got a malformed request */

struct keyholder_keys;

/* keyholder_serve_one - read one request from fd and answer it from keys:
 * 1 answered, 0 end of file (the peer has gone), -1 malformed request or
 * socket error (logged; the caller closes) */
int keyholder_serve_one(const struct keyholder_keys *keys, int fd);

/* keyholder_main - run the key holder on fd; the exit code */
int keyholder_main(const char *config_path, int fd);

#endif
