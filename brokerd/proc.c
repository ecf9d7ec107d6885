/*
 * Copyright (c) 2026 The brokerd developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The process graph, in one place: which programs run, as whom, in which
 * root, and which of them are connected.  Processes that no edge below
 * connects cannot talk to each other.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerd.h"
#include "child.h"
#include "log.h"

static const struct proc_desc {
	const char	*program;	/* in libexec; NULL: brokerd -x */
	int		 root_datadir;	/* chroot to the data directory */
} proc_desc[PROC_MAX] = {
	[PROC_ENGINE] =		{ NULL, 0 },
	[PROC_TLSPROXY] =	{ "tlsproxy", 0 },
	[PROC_AUTHD] =		{ "authd", 0 },
	[PROC_STORAGED] =	{ "storaged", 1 },
};

/*
 * Every channel between two children.  `maxlen' is the largest frame
 * either way; `a_fds'/`b_fds' say whether that end may receive fds;
 * `secret' that it carries passwords, which both ends wipe from their
 * buffers once used.  Each child also has a channel to the parent, on
 * which only the child receives fds (its listeners and its ends of these
 * channels).
 */
static const struct proc_edge {
	enum proc_type	 a, b;
	size_t		 maxlen;
	int		 a_fds, b_fds;
	int		 secret;
} proc_edges[] = {
	/* tlsproxy hands the engine one socket per TLS/WS connection. */
	{ PROC_TLSPROXY,	PROC_ENGINE,	IPC_DEFAULT_MAXLEN, 0, 1, 0 },
	/* Credentials out, verdicts and compiled ACLs back. */
	{ PROC_ENGINE,		PROC_AUTHD,	IPC_DEFAULT_MAXLEN, 0, 0, 1 },
	/* Store requests out, commits and recovered state back. */
	{ PROC_ENGINE,		PROC_STORAGED,	IPC_PARENT_MAXLEN, 0, 0, 0 },
};

struct proc	 procs[PROC_MAX];

static void	proc_dispatch(struct ipc_chan *, struct ipc_msg *);
static void	proc_closed(struct ipc_chan *, const char *);

static void
proc_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	parent_dispatch_child(chan->arg, msg);
}

static void
proc_closed(struct ipc_chan *chan, const char *why)
{
	parent_child_closed(chan->arg, why);
}

/*
 * The directory holding tlsproxy, authd and storaged: libexec/brokerd
 * beside the sbin directory that holds brokerd, so an installed tree and
 * the build tree both work.
 */
static void
proc_libexec(const char *self, char *dir, size_t size)
{
	char	 buf[PATH_MAX], *slash;

	if (strlcpy(buf, self, sizeof(buf)) >= sizeof(buf))
		fatalx("path too long: %s", self);
	if ((slash = strrchr(buf, '/')) == NULL)
		fatalx("no directory in %s", self);
	*slash = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		fatalx("no parent directory for %s", self);
	*slash = '\0';
	if ((size_t)snprintf(dir, size, "%s/libexec/brokerd", buf) >= size)
		fatalx("path too long: %s", buf);
}

/*
 * Start every child with its parent channel on fd 3 and nothing else
 * open but stdin, stdout and stderr.  `self' is the absolute path of
 * brokerd, re-executed for the engine.
 */
void
proc_spawn(const char *self, int debug)
{
	char		 libexec[PATH_MAX], path[PATH_MAX];
	char		 arg0[32], role[32], dflag[] = "-d", xflag[] = "-x";
	char		*argv[6];
	int		 sv[2], i, argc;
	pid_t		 pid;

	proc_libexec(self, libexec, sizeof(libexec));
	for (i = PROC_ENGINE; i < PROC_MAX; i++) {
		argc = 0;
		if (proc_desc[i].program == NULL) {
			strlcpy(path, self, sizeof(path));
			strlcpy(arg0, "brokerd", sizeof(arg0));
			strlcpy(role, proc_names[i], sizeof(role));
			argv[argc++] = arg0;
			argv[argc++] = xflag;
			argv[argc++] = role;
		} else {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s",
			    libexec, proc_desc[i].program) >= sizeof(path))
				fatalx("path too long");
			strlcpy(arg0, proc_desc[i].program, sizeof(arg0));
			argv[argc++] = arg0;
		}
		if (debug)
			argv[argc++] = dflag;
		argv[argc] = NULL;
		if (access(path, X_OK) == -1)
			fatal("%s", path);

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0, sv) == -1)
			fatal("socketpair");
		switch (pid = fork()) {
		case -1:
			fatal("fork");
		case 0:
			if (sv[1] == CHILD_PARENT_FD) {
				if (fcntl(sv[1], F_SETFD, 0) == -1)
					_exit(1);
			} else if (dup2(sv[1], CHILD_PARENT_FD) == -1)
				_exit(1);
			closefrom(CHILD_PARENT_FD + 1);
			execv(path, argv);
			dprintf(STDERR_FILENO, "brokerd: exec %s: %s\n", path,
			    strerror(errno));
			_exit(1);
		}
		close(sv[1]);
		procs[i].type = i;
		procs[i].pid = pid;
		procs[i].chan = ipc_chan_new(sv[0], proc_names[i],
		    IPC_PARENT_MAXLEN, 0, proc_dispatch, proc_closed,
		    &procs[i]);
		if (proc_parent_secret[i])
			ipc_chan_secret(procs[i].chan);
		log_debug("started %s, pid %d", proc_names[i], (int)pid);
	}
}

/* Create the channels between children and give each end to its owner. */
void
proc_connect_peers(void)
{
	const struct proc_edge	*e;
	size_t			 i;
	int			 sv[2];

	for (i = 0; i < sizeof(proc_edges) / sizeof(proc_edges[0]); i++) {
		e = &proc_edges[i];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0, sv) == -1)
			fatal("socketpair");
		ipc_begin(procs[e->a].chan, IPC_PEER, 0, 4);
		ipc_put_uint(procs[e->a].chan, e->b);
		ipc_put_uint(procs[e->a].chan, e->maxlen);
		ipc_put_bool(procs[e->a].chan, e->a_fds);
		ipc_put_bool(procs[e->a].chan, e->secret);
		ipc_end(procs[e->a].chan, sv[0]);
		ipc_begin(procs[e->b].chan, IPC_PEER, 0, 4);
		ipc_put_uint(procs[e->b].chan, e->a);
		ipc_put_uint(procs[e->b].chan, e->maxlen);
		ipc_put_bool(procs[e->b].chan, e->b_fds);
		ipc_put_bool(procs[e->b].chan, e->secret);
		ipc_end(procs[e->b].chan, sv[1]);
	}
}

/*
 * Send each child its confinement: the uid and gid of its user and its
 * root directory.  Run as a normal user there is nothing to drop.
 */
void
proc_configure(const struct brokerd_conf *conf, int verbose)
{
	struct passwd	*pw;
	const char	*root;
	uid_t		 uid;
	gid_t		 gid;
	int		 i, drop = geteuid() == 0;

	for (i = PROC_ENGINE; i < PROC_MAX; i++) {
		uid = getuid();
		gid = getgid();
		if (drop) {
			if ((pw = getpwnam(config_user(conf, i))) == NULL)
				fatalx("user %s for %s does not exist",
				    config_user(conf, i), proc_names[i]);
			if (pw->pw_uid == 0)
				fatalx("user %s for %s is root",
				    config_user(conf, i), proc_names[i]);
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		root = proc_desc[i].root_datadir ? conf->datadir :
		    conf->chroot;
		ipc_begin(procs[i].chan, IPC_CONF_PROC, 0, 5);
		ipc_put_uint(procs[i].chan, uid);
		ipc_put_uint(procs[i].chan, gid);
		ipc_put_str(procs[i].chan, root);
		ipc_put_int(procs[i].chan, verbose);
		ipc_put_bool(procs[i].chan, drop);
		ipc_end(procs[i].chan, -1);
	}
}

struct proc *
proc_by_pid(pid_t pid)
{
	int	 i;

	for (i = PROC_ENGINE; i < PROC_MAX; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

int
proc_all_ready(void)
{
	int	 i;

	for (i = PROC_ENGINE; i < PROC_MAX; i++)
		if (!procs[i].ready)
			return 0;
	return 1;
}

void
proc_broadcast(enum ipc_type type)
{
	int	 i;

	for (i = PROC_ENGINE; i < PROC_MAX; i++)
		if (procs[i].chan != NULL && !procs[i].chan->dead)
			ipc_send(procs[i].chan, type, 0, -1);
}

void
proc_broadcast_verbose(int verbose)
{
	int	 i;

	for (i = PROC_ENGINE; i < PROC_MAX; i++) {
		if (procs[i].chan == NULL || procs[i].chan->dead)
			continue;
		ipc_begin(procs[i].chan, IPC_VERBOSE, 0, 1);
		ipc_put_int(procs[i].chan, verbose);
		ipc_end(procs[i].chan, -1);
	}
}

static const char *
proc_signame(int sig)
{
	static char	 buf[32];

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char	*abbrev = sigabbrev_np(sig);

	if (abbrev != NULL) {
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
		return buf;
	}
#elif defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__)
	if (sig > 0 && sig < NSIG) {
		snprintf(buf, sizeof(buf), "SIG%s", sys_signame[sig]);
		return buf;
	}
#endif
	snprintf(buf, sizeof(buf), "%d", sig);
	return buf;
}

/*
 * Log how a child ended.  Only a signal the parent sent is an expected
 * end; any other signal or a non-zero exit status is the cause of a stop
 * and logged as such.
 */
static void
proc_log_exit(struct proc *p, int status)
{
	const char	*name = proc_names[p->type];
	int		 sig;

	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		if (sig == p->sent)
			log_debug("%s (pid %d) stopped", name, (int)p->pid);
		else
			log_warnx("%s (pid %d) terminated by signal %s (%s)%s",
			    name, (int)p->pid, proc_signame(sig),
			    strsignal(sig),
			    WCOREDUMP(status) ? ", core dumped" : "");
	} else if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0)
			log_debug("%s (pid %d) exited", name, (int)p->pid);
		else
			log_warnx("%s (pid %d) exited with status %d", name,
			    (int)p->pid, WEXITSTATUS(status));
	}
}

/* Reap the children that have ended; returns how many. */
static int
proc_reap(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 status, n = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = proc_by_pid(pid)) == NULL || p->exited)
			continue;
		p->exited = 1;
		proc_log_exit(p, status);
		n++;
	}
	return n;
}

/*
 * The order in which the children stop: the engine first (it stops
 * taking client data and its last store requests reach storaged), then
 * the processes that serve it, storaged last.
 */
static const enum proc_type proc_stop_order[] = {
	PROC_ENGINE, PROC_TLSPROXY, PROC_AUTHD, PROC_STORAGED
};

/*
 * Stop one child: it ignores the signals sent to the process group and
 * exits when its parent channel closes, so the parent closes it and
 * waits; SIGKILL for one still there after five seconds.
 */
static void
proc_stop(struct proc *p)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	uint64_t	 deadline;

	if (p->pid <= 0 || p->exited)
		return;
	/* It reads EOF; what it still writes (its last log lines) fits. */
	if (p->chan != NULL)
		shutdown(p->chan->fd, SHUT_WR);
	else {
		p->sent = SIGTERM;
		kill(p->pid, SIGTERM);
	}
	deadline = ev_clock() + 5000;
	for (;;) {
		proc_reap();
		if (p->exited)
			return;
		if (ev_clock() > deadline && p->sent != SIGKILL) {
			log_warnx("%s (pid %d) did not stop; killing it",
			    proc_names[p->type], (int)p->pid);
			p->sent = SIGKILL;
			kill(p->pid, SIGKILL);
		}
		nanosleep(&ts, NULL);
	}
}

/*
 * Stop every child, in order: first the ones that already ended are
 * reaped and their end logged (a child that died is reported as such),
 * then each is stopped in turn.  Returns when all are reaped: no orphans.
 */
void
proc_stop_all(void)
{
	size_t	 i;

	proc_reap();
	for (i = 0; i < sizeof(proc_stop_order) / sizeof(proc_stop_order[0]);
	    i++)
		proc_stop(&procs[proc_stop_order[i]]);
}
