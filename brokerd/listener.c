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
 * The parent binds every socket: the MQTT listeners and the control
 * socket, then hands them to the engine.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

#define LISTEN_BACKLOG	1024

static int	control_bound;
static int	monitor_bound;

/*
 * Bind a UNIX socket at `path' with `mode'.  A socket file left by a
 * brokerd that died is replaced; one that a running server answers on is
 * not.
 */
static int
bind_unix(const char *path, mode_t mode)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket", path);
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			fatal("socket");
		if (connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0)
			fatalx("%s is in use by another server", path);
		close(probe);
		if (unlink(path) == -1)
			fatal("unlink %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		fatal("socket");
	/*
	 * The umask gives the socket its mode as bind() makes it: no
	 * chmod() of the path after, which would follow a symbolic link
	 * put there in between.
	 */
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old);
	if (listen(fd, LISTEN_BACKLOG) == -1)
		fatal("listen %s", path);
	return fd;
}

static int
bind_tcp(const struct listener_conf *l)
{
	int	 fd, on = 1;

	if ((fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("setsockopt SO_REUSEADDR");
	if (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		fatal("setsockopt IPV6_V6ONLY");
	/*
	 * MQTT is request and answer: Nagle only adds latency.  Accepted
	 * sockets inherit the option (Linux, OpenBSD, FreeBSD), which
	 * saves the engine a system call per connection.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		fatal("setsockopt TCP_NODELAY");
	if (bind(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1)
		fatal("cannot listen on %s", listener_name(l));
	if (listen(fd, LISTEN_BACKLOG) == -1)
		fatal("listen on %s", listener_name(l));
	return fd;
}

void
listener_bind_all(struct brokerd_conf *conf)
{
	struct listener_conf	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->kind == LISTEN_UNIX)
			l->fd = bind_unix(l->path, 0666);
		else
			l->fd = bind_tcp(l);
		l->bound = 1;
		log_debug("listening on %s", listener_name(l));
	}
}

/*
 * The control socket: root (the user running brokerd) only, or with a
 * control group (its gid, or -1), that group too.
 */
int
listener_bind_control(const char *path, gid_t gid)
{
	int	 fd;

	fd = bind_unix(path, gid == (gid_t)-1 ? 0600 : 0660);
	control_bound = 1;
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1)
		fatal("chown %s", path);
	return fd;
}

/* The monitor socket: anyone may look, nobody may change (control.c). */
int
listener_bind_monitor(const char *path)
{
	int	 fd;

	fd = bind_unix(path, 0666);
	monitor_bound = 1;
	return fd;
}

/* At shutdown: no stale sockets left behind, and nobody else's removed. */
void
listener_unlink_all(const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->kind == LISTEN_UNIX && l->bound)
			unlink(l->path);
	if (control_bound)
		unlink(conf->control);
	if (monitor_bound)
		unlink(conf->monitor);
}
