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
 * What every child process does with its parent: take the channel on
 * fd 3, forward log lines over it, receive its confinement and its peer
 * channels, enter the sandbox when the parent says the set-up is complete,
 * report ready, and exit when the parent goes away.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"

struct child	 child;

/*
 * Runs between the privilege drop and the system's sandbox, if set
 * before child_main(): where authd forks its workers (pool.c).
 */
void		(*child_confining)(void);

static void	child_log_sink(int, const char *);
static void	child_log_flush(void);
static void	child_parent_closed(struct ipc_chan *, const char *);
static void	child_peer_closed(struct ipc_chan *, const char *);
static void	child_conf(struct ipc_msg *);
static struct ipc_chan *child_peer(struct ipc_msg *, const ipc_dispatch_fn *);
static void	child_ready(void);
static void	child_start(void);
static void	child_verbose(struct ipc_msg *);

static void
child_log_sink(int pri, const char *line)
{
	struct ipc_chan	*p = child.parent;

	/* Not in the middle of another frame on the same channel. */
	if (p == NULL || p->dead || p->framing) {
		dprintf(STDERR_FILENO, "%s\n", line);
		return;
	}
	ipc_begin(p, IPC_LOG, 0, 2);
	ipc_put_uint(p, pri);
	ipc_put_str(p, line);
	ipc_end(p, -1);
}

static void
child_log_flush(void)
{
	if (child.parent != NULL)
		ipc_chan_flush_sync(child.parent, 1000);
}

static void
child_parent_closed(struct ipc_chan *chan, const char *why)
{
	(void)chan;
	/* Nobody is left to log to; the parent logs our exit. */
	if (why != NULL)
		dprintf(STDERR_FILENO, "%s: parent channel: %s\n",
		    proc_names[child.self], why);
	exit(why == NULL ? 0 : 1);
}

static void
child_peer_closed(struct ipc_chan *chan, const char *why)
{
	/* A peer that breaks the protocol is fatal. */
	if (why != NULL)
		fatalx("channel to %s: %s", chan->name, why);
	/* One that went away is stopping, or the parent will notice. */
	log_debug("channel to %s closed; exiting", chan->name);
	exit(0);
}

static void
child_flush(void *arg)
{
	(void)arg;
	ipc_flush_pending();
}

/*
 * The command line of a child program started by brokerd (authd,
 * storaged, tlsproxy): `-d' is the only flag; everything else comes on
 * fd 3.  Returns whether -d was given; a bad command line is a usage
 * message and exit 1.
 */
int
child_args(int argc, char *argv[])
{
	extern char	*__progname;
	int		 ch, debug = 0;

	while ((ch = getopt(argc, argv, "d")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		default:
			goto usage;
		}
	}
	if (argc != optind)
		goto usage;
	return debug;
usage:
	dprintf(STDERR_FILENO, "usage: %s [-d] (started by brokerd)\n",
	    __progname);
	exit(1);
}

/* main() of a child program that needs nothing more than its channels. */
__dead void
child_main(enum proc_type self, int argc, char *argv[],
    ipc_dispatch_fn dispatch)
{
	log_init(child_args(argc, argv), LOG_DAEMON);
	ev_init();
	child_init(self, dispatch);
	ev_setflush(child_flush, NULL);
	ev_dispatch();
	exit(0);
}

/*
 * Set up a child: its parent channel on fd 3 (checked: it must be a
 * socket), log forwarding, signals.  The event loop must exist.
 */
void
child_init(enum proc_type self, ipc_dispatch_fn dispatch)
{
	struct stat	 st;

	memset(&child, 0, sizeof(child));
	child.self = self;
	if (fstat(CHILD_PARENT_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("%s: must be started by brokerd (no channel on fd %d)",
		    proc_names[self], CHILD_PARENT_FD);
	log_procinit(proc_names[self]);
	child.parent = ipc_chan_new(CHILD_PARENT_FD, "parent",
	    IPC_PARENT_MAXLEN, 1, dispatch, child_parent_closed, NULL);
	if (proc_parent_secret[self])
		ipc_chan_secret(child.parent);
	log_setsink(child_log_sink, child_log_flush);

	/*
	 * The parent decides when the service stops.  Ctrl-C, systemd's
	 * KillMode=control-group and most harnesses signal the whole
	 * process group: the children leave the stop to the parent, which
	 * closes their channels in order.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
}

/* IPC_CONF_PROC: uid, gid, root directory, verbosity, drop privileges. */
static void
child_conf(struct ipc_msg *msg)
{
	struct sandbox_conf	*sc = &child.sandbox;

	if (child.sandboxed)
		fatalx("IPC_CONF_PROC after the sandbox is in place");
	sc->uid = ipc_get_uint(msg, 0);
	sc->gid = ipc_get_uint(msg, 1);
	if (ipc_get_cstr(msg, 2, sc->root, sizeof(sc->root)) == -1)
		fatalx("IPC_CONF_PROC: bad root directory");
	log_setverbose(ipc_get_int(msg, 3));
	sc->drop = ipc_get_bool(msg, 4);
	child.configured = 1;
}

/*
 * IPC_PEER: the parent hands over our end of a channel to another child.
 * `dispatch' says which peers this process may have, and how it handles
 * each.
 */
static struct ipc_chan *
child_peer(struct ipc_msg *msg, const ipc_dispatch_fn *dispatch)
{
	uint64_t	 peer = ipc_get_uint(msg, 0);
	uint64_t	 maxlen = ipc_get_uint(msg, 1);
	struct ipc_chan	*chan;

	if (peer >= PROC_MAX || peer == PROC_PARENT ||
	    dispatch[peer] == NULL)
		fatalx("IPC_PEER: no channel to process %llu expected",
		    (unsigned long long)peer);
	if (child.peer[peer] != NULL)
		fatalx("IPC_PEER: second channel to %s", proc_names[peer]);
	if (maxlen < 1024 || maxlen > IPC_PARENT_MAXLEN)
		fatalx("IPC_PEER: bad frame limit %llu",
		    (unsigned long long)maxlen);
	chan = ipc_chan_new(msg->fd, proc_names[peer], maxlen,
	    ipc_get_bool(msg, 2), dispatch[peer], child_peer_closed, NULL);
	msg->fd = -1;
	if (ipc_get_bool(msg, 3))
		ipc_chan_secret(chan);
	child.peer[peer] = chan;
	return chan;
}

/* IPC_CONF_END: confine ourselves, then tell the parent. */
static void
child_ready(void)
{
	if (!child.configured)
		fatalx("IPC_CONF_END before IPC_CONF_PROC");
	if (child.sandboxed)
		fatalx("second IPC_CONF_END");
	sandbox_drop(child.self, &child.sandbox);
	if (child_confining != NULL)
		child_confining();
	sandbox_enter(child.self, &child.sandbox);
	child.sandboxed = 1;
	ipc_send(child.parent, IPC_READY, 0, -1);
}

/* IPC_START: every process is ready. */
static void
child_start(void)
{
	if (!child.sandboxed || child.started)
		fatalx("unexpected IPC_START");
	child.started = 1;
}

/* IPC_VERBOSE: the log level after a reload. */
static void
child_verbose(struct ipc_msg *msg)
{
	log_setverbose(ipc_get_int(msg, 0));
}

/*
 * The messages every child takes from its parent.  Returns 1 if `msg' was
 * one of them; the caller's own switch handles the rest.  `start' runs
 * when the service starts.
 */
int
child_dispatch(struct ipc_msg *msg, const ipc_dispatch_fn *peers,
    void (*start)(void))
{
	switch (msg->hdr.type) {
	case IPC_CONF_PROC:
		child_conf(msg);
		return 1;
	case IPC_PEER:
		child_peer(msg, peers);
		return 1;
	case IPC_CONF_END:
		child_ready();
		return 1;
	case IPC_START:
		child_start();
		if (start != NULL)
			start();
		return 1;
	case IPC_VERBOSE:
		child_verbose(msg);
		return 1;
	default:
		return 0;
	}
}
