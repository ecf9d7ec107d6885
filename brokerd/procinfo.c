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
 * What the parent says about each process, for brokerctl show processes
 * and the metrics: what it knows itself (pid, user, the root it gave)
 * and, on Linux, what the kernel says in /proc (the root in place, the
 * seccomp mode, memory and CPU).  The engine asks; it cannot look.
 */

#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

#ifdef __linux__
/* The file /proc/PID/NAME, NUL-terminated, or -1. */
static ssize_t
procinfo_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char	 path[64];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* A "Name:\t value" line of /proc/PID/status. */
static int
procinfo_field(const char *status, const char *name, unsigned long long *v)
{
	const char	*p = status;
	size_t		 len = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, len) == 0 && p[len] == ':')
			return sscanf(p + len + 1, "%llu", v) == 1 ? 0 : -1;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

static void
procinfo_kernel(struct ctl_proc *pi)
{
	char			 buf[4096], path[64];
	const char		*p;
	unsigned long long	 v, ut, st;
	long			 hz = sysconf(_SC_CLK_TCK);
	ssize_t			 n;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pi->pid);
	if ((n = readlink(path, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		strlcpy(pi->root, buf, sizeof(pi->root));
	}
	if (procinfo_read(pi->pid, "status", buf, sizeof(buf)) > 0) {
		if (procinfo_field(buf, "VmRSS", &v) == 0)
			pi->rss = v * 1024;
		if (procinfo_field(buf, "VmSize", &v) == 0)
			pi->vsz = v * 1024;
		if (procinfo_field(buf, "Seccomp", &v) == 0)
			snprintf(pi->sandbox, sizeof(pi->sandbox), "%s",
			    v == 2 ? "seccomp filter" : v == 1 ?
			    "seccomp strict" : "none");
		if (procinfo_field(buf, "NoNewPrivs", &v) == 0 && v == 1)
			strlcat(pi->sandbox, ", no_new_privs",
			    sizeof(pi->sandbox));
	}
	/* utime and stime: fields 14 and 15, after the ')' of the name. */
	if (procinfo_read(pi->pid, "stat", buf, sizeof(buf)) > 0 &&
	    (p = strrchr(buf, ')')) != NULL && hz > 0 &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) == 2) {
		pi->utime = ut * 1000 / hz;
		pi->stime = st * 1000 / hz;
	}
}
#endif

static void
procinfo_get(enum proc_type type, const struct brokerd_conf *conf,
    struct ctl_proc *pi)
{
	struct passwd	*pw;
	const char	*user = NULL;
	int		 drop = geteuid() == 0;

	memset(pi, 0, sizeof(*pi));
	strlcpy(pi->name, proc_names[type], sizeof(pi->name));
	pi->pid = type == PROC_PARENT ? getpid() : procs[type].pid;
	pi->uid = geteuid();
	if (type != PROC_PARENT && drop) {
		user = config_user(conf, type);
		if ((pw = getpwnam(user)) != NULL)
			pi->uid = pw->pw_uid;
	} else if ((pw = getpwuid(pi->uid)) != NULL)
		user = pw->pw_name;
	strlcpy(pi->user, user != NULL ? user : "?", sizeof(pi->user));
	if (type == PROC_PARENT || !drop)
		strlcpy(pi->root, "/", sizeof(pi->root));
	else
		strlcpy(pi->root, type == PROC_STORAGED ? conf->datadir :
		    conf->chroot, sizeof(pi->root));
	if (type == PROC_PARENT)
		strlcpy(pi->sandbox, "none", sizeof(pi->sandbox));
	else
		strlcpy(pi->sandbox, procs[type].ready ? "confined" :
		    "starting", sizeof(pi->sandbox));
#ifdef __linux__
	procinfo_kernel(pi);
#endif
}

/* One IPC_CTL_PROCESS per process, then IPC_CTL_END, for question `id'. */
void
procinfo_send(struct ipc_chan *chan, uint32_t id,
    const struct brokerd_conf *conf)
{
	struct ctl_proc	 pi;
	int		 i;

	for (i = PROC_PARENT; i < PROC_MAX; i++) {
		if (i != PROC_PARENT && (procs[i].pid <= 0 || procs[i].exited))
			continue;
		procinfo_get(i, conf, &pi);
		ipc_begin(chan, IPC_CTL_PROCESS, id, 10);
		ipc_put_str(chan, pi.name);
		ipc_put_uint(chan, pi.pid);
		ipc_put_uint(chan, pi.uid);
		ipc_put_str(chan, pi.user);
		ipc_put_str(chan, pi.root);
		ipc_put_str(chan, pi.sandbox);
		ipc_put_uint(chan, pi.rss);
		ipc_put_uint(chan, pi.vsz);
		ipc_put_uint(chan, pi.utime);
		ipc_put_uint(chan, pi.stime);
		ipc_end(chan, -1);
	}
	ipc_begin(chan, IPC_CTL_END, id, 1);
	ipc_put_str(chan, "");
	ipc_end(chan, -1);
}
