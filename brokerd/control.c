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
 * The control socket, served by the engine: brokerctl sends one request
 * and reads typed records until IPC_CTL_END or IPC_CTL_ERROR.  Requests
 * that change the configuration go on to the parent.  A connection that
 * breaks the protocol is closed; it is never fatal.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "child.h"
#include "log.h"

#define CTL_MAX_CONNS	32

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	uid_t			 uid;
	struct ipc_chan		*chan;
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct event		 ctl_ev;
static struct evtimer		 ctl_pause;
static int			 ctl_fd = -1;
static uid_t			 ctl_owner;	/* who started brokerd */
static uint32_t			 ctl_nextid;
static unsigned int		 ctl_nconns;
static struct log_ratelimit	 ctl_rl = LOG_RATELIMIT_INIT(5, 60);

static void	control_accept(int, int, void *);
static void	control_resume(void *);
static void	control_dispatch(struct ipc_chan *, struct ipc_msg *);
static void	control_closed(struct ipc_chan *, const char *);
static void	control_free(struct ctl_conn *);

/* IPC_CONTROL: the listening control socket, served after IPC_START. */
void
control_init(int fd)
{
	if (ctl_fd != -1)
		fatalx("second control socket");
	ctl_fd = fd;
	/* Before the sandbox: getuid() is not allowed after it. */
	ctl_owner = getuid();
	ev_set(&ctl_ev, fd, control_accept, NULL);
	evtimer_set(&ctl_pause, control_resume, NULL);
}

void
control_start(void)
{
	if (ctl_fd != -1)
		ev_add(&ctl_ev, EV_READ);
}

static void
control_resume(void *arg)
{
	(void)arg;
	ev_add(&ctl_ev, EV_READ);
}

/* Root may ask, and the user who started brokerd. */
static int
control_allowed(uid_t uid)
{
	return uid == 0 || uid == ctl_owner;
}

static void
control_accept(int fd, int flags, void *arg)
{
	struct ctl_conn	*c;
	uid_t		 uid;
	gid_t		 gid;
	int		 cfd;

	(void)flags;
	(void)arg;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: try again in a second. */
			log_limited(&ctl_rl, LOG_WARNING, "control: accept: %s",
			    strerror(errno));
			ev_del(&ctl_ev);
			evtimer_add(&ctl_pause, 1000);
		}
		return;
	}
	if (getpeereid(cfd, &uid, &gid) == -1 || !control_allowed(uid)) {
		log_limited(&ctl_rl, LOG_WARNING, "control: connection from "
		    "uid %d refused", (int)uid);
		close(cfd);
		return;
	}
	if (ctl_nconns >= CTL_MAX_CONNS) {
		log_limited(&ctl_rl, LOG_WARNING, "control: too many "
		    "connections");
		close(cfd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(cfd);
		return;
	}
	c->id = ++ctl_nextid;
	c->uid = uid;
	c->chan = ipc_chan_new(cfd, "control", IPC_CTL_MAXLEN, 0,
	    control_dispatch, control_closed, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
	engine_stats.ctl_conns++;
}

static void
control_free(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	ctl_nconns--;
	ipc_chan_free(c->chan);
	free(c);
}

static void
control_closed(struct ipc_chan *chan, const char *why)
{
	struct ctl_conn	*c = chan->arg;

	if (why != NULL)
		log_limited(&ctl_rl, LOG_WARNING, "control: uid %d: %s",
		    (int)c->uid, why);
	control_free(c);
}

/* A record of a reply: one named counter. */
void
control_stat(struct ipc_chan *chan, const char *name, uint64_t value)
{
	ipc_begin(chan, IPC_CTL_STAT, 0, 2);
	ipc_put_str(chan, name);
	ipc_put_uint(chan, value);
	ipc_end(chan, -1);
}

/* The end of a reply, with a message for the operator or "". */
void
control_end(struct ipc_chan *chan, const char *message)
{
	ipc_begin(chan, IPC_CTL_END, 0, 1);
	ipc_put_str(chan, message);
	ipc_end(chan, -1);
}

static void
control_error(struct ipc_chan *chan, const char *message)
{
	ipc_begin(chan, IPC_CTL_ERROR, 0, 1);
	ipc_put_str(chan, message);
	ipc_end(chan, -1);
}

static void
control_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct ctl_conn	*c = chan->arg;

	switch (msg->hdr.type) {
	case IPC_CTL_SHOW_STATS:
		engine_show_stats(chan);
		control_end(chan, "");
		break;
	case IPC_CTL_RELOAD:
		log_info("control: reload requested by uid %d", (int)c->uid);
		ipc_send(child.parent, IPC_CTL_RELOAD, c->id, -1);
		break;
	default:
		log_limited(&ctl_rl, LOG_WARNING, "control: uid %d: "
		    "unexpected %s", (int)c->uid,
		    ipc_type_name(msg->hdr.type));
		ipc_chan_close(chan, "protocol error");
		break;
	}
}

/* How a reload went, from the parent, for the connection that asked. */
void
control_result(uint32_t id, int ok, const char *text)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			break;
	if (c == NULL)
		return;		/* brokerctl went away meanwhile */
	if (ok)
		control_end(c->chan, text);
	else
		control_error(c->chan, text);
}
