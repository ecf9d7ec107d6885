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
 * The control sockets, served by the engine: brokerctl sends one request
 * and reads typed records until IPC_CTL_END or IPC_CTL_ERROR.  Requests
 * that change the configuration go on to the parent, and so do questions
 * about the processes.  A connection that breaks the protocol, sends half
 * a request or stops reading is closed; it is never fatal.
 *
 * A long reply is made a record at a time from a cursor that survives
 * the turn (a connection id, a session id and a filter), never from a
 * pointer that a turn may free: each turn adds at most CTL_CHUNK bytes
 * to the channel and looks at no more than CTL_BUDGET objects, and the
 * next chunk waits until the channel has drained (ipc.c's `drained').
 * A listing is therefore not a snapshot: what comes and goes meanwhile
 * may or may not be in it.  Retained messages are the exception: their
 * references are taken at once, and the reply lists those.
 *
 * Who may do what: anyone who can open the monitor socket may look;
 * changes (disconnect, reload, log) need the control socket, and root,
 * the user brokerd was started by, or a member of the control group.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "child.h"
#include "log.h"

#define CTL_MAX_CONNS	32
#define CTL_CHUNK	(64 * 1024)	/* bytes queued per turn */
#define CTL_BUDGET	4096		/* objects looked at per turn */
#define CTL_STR_MAX	16384		/* of a string in a record */
#define CTL_TEXT_MAX	16384		/* of a piece of text */
#define CTL_PREVIEW	64		/* bytes of a retained payload */
#define CTL_REQUEST_MS	5000		/* to send a whole request */
#define CTL_STALL_MS	60000		/* to read a chunk of the reply */

enum { CTL_DONE, CTL_MORE };

struct ctl_sock {
	int			 fd;
	int			 readonly;
	struct event		 ev;
	struct evtimer		 pause;
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	uid_t			 uid;
	int			 change;	/* may change things */
	struct ipc_chan		*chan;
	struct evtimer		 timer;		/* request, stall */
	struct evtimer		 more;		/* the next chunk */

	/* The request being answered. */
	enum ipc_type		 req;		/* or IPC_NONE */
	int			(*next)(struct ctl_conn *);
	char			*arg;
	size_t			 arglen;
	int			 one;		/* a single session */
	int			 draining;	/* the end of a reply */
	char			*sid;		/* cursor: session id */
	char			*fid;		/* cursor: filter */
	uint32_t		 cid;		/* cursor: connection id */
	struct msg		**snap;		/* show retained */
	size_t			 nsnap, isnap, snapcap;
	uint32_t		 query;		/* processes, of the parent */
	struct buf		 text;		/* show metrics */
};

struct ctl_query {
	TAILQ_ENTRY(ctl_query)	 entry;
	uint32_t		 id;
	control_procs_cb	 cb;		/* NULL: cancelled */
	void			*arg;
	struct ctl_proc		 procs[PROC_MAX];
	size_t			 n;
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static TAILQ_HEAD(, ctl_query)	 ctl_queries =
    TAILQ_HEAD_INITIALIZER(ctl_queries);
static struct ctl_sock		 ctl_socks[2];
static int			 ctl_nsocks;
static uid_t			 ctl_owner;	/* who started brokerd */
static int64_t			 ctl_group = -1;
static uint32_t			 ctl_nextid;
static uint32_t			 ctl_nextquery;
static unsigned int		 ctl_nconns;
static struct log_ratelimit	 ctl_rl = LOG_RATELIMIT_INIT(5, 60);

static void	control_accept(int, int, void *);
static void	control_resume(void *);
static void	control_dispatch(struct ipc_chan *, struct ipc_msg *);
static void	control_closed(struct ipc_chan *, const char *);
static void	control_drained(struct ipc_chan *);
static void	control_timeout(void *);
static void	control_more(void *);
static void	control_free(struct ctl_conn *);
static void	control_reset(struct ctl_conn *);
static void	control_error(struct ctl_conn *, unsigned int, const char *);

/*
 * IPC_CONTROL: a listening control socket (`readonly': the monitor
 * socket), served after IPC_START.  `group' is the control group's gid,
 * or -1.
 */
void
control_init(int fd, int readonly, int64_t group)
{
	struct ctl_sock	*cs;

	if (ctl_nsocks == 2)
		fatalx("a third control socket");
	cs = &ctl_socks[ctl_nsocks++];
	cs->fd = fd;
	cs->readonly = readonly;
	ctl_group = group;
	/* Before the sandbox: getuid() is not allowed after it. */
	ctl_owner = getuid();
	ev_set(&cs->ev, fd, control_accept, cs);
	evtimer_set(&cs->pause, control_resume, cs);
}

void
control_start(void)
{
	int	 i;

	for (i = 0; i < ctl_nsocks; i++)
		ev_add(&ctl_socks[i].ev, EV_READ);
}

static void
control_resume(void *arg)
{
	struct ctl_sock	*cs = arg;

	ev_add(&cs->ev, EV_READ);
}

/* The peer's primary group, or (Linux) one of its others, is `gid'. */
static int
control_in_group(int fd, gid_t pgid, int64_t gid)
{
#ifdef SO_PEERGROUPS
	gid_t		 groups[64];
	socklen_t	 len = sizeof(groups);
	size_t		 i;
#endif

	if (gid == -1)
		return 0;
	if ((int64_t)pgid == gid)
		return 1;
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (i = 0; i < len / sizeof(groups[0]); i++)
			if ((int64_t)groups[i] == gid)
				return 1;
#else
	(void)fd;
#endif
	return 0;
}

static void
control_refused_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	(void)msg;
}

static void
control_refused_closed(struct ipc_chan *chan, const char *why)
{
	(void)chan;
	(void)why;
}

/* Say why, if it fits in the socket at once, and close. */
static void
control_refuse(int fd, unsigned int status, const char *why)
{
	struct ipc_chan	*chan;

	engine_stats.ctl_refused++;
	chan = ipc_chan_new(fd, "control", IPC_CTL_MAXLEN, 0,
	    control_refused_dispatch, control_refused_closed, NULL);
	ipc_begin(chan, IPC_CTL_ERROR, 0, 2);
	ipc_put_uint(chan, status);
	ipc_put_str(chan, why);
	ipc_end(chan, -1);
	(void)ipc_chan_flush(chan);
	ipc_chan_free(chan);
}

static void
control_accept(int fd, int flags, void *arg)
{
	struct ctl_sock	*cs = arg;
	struct ctl_conn	*c;
	uid_t		 uid;
	gid_t		 gid;
	int		 cfd, change;

	(void)flags;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: try again in a second. */
			log_limited(&ctl_rl, LOG_WARNING, "control: accept: %s",
			    strerror(errno));
			ev_del(&cs->ev);
			evtimer_add(&cs->pause, 1000);
		}
		return;
	}
	if (getpeereid(cfd, &uid, &gid) == -1) {
		close(cfd);
		return;
	}
	change = !cs->readonly && (uid == 0 || uid == ctl_owner ||
	    control_in_group(cfd, gid, ctl_group));
	/* The control socket is for those who may change things. */
	if (!cs->readonly && !change) {
		log_limited(&ctl_rl, LOG_WARNING, "control: connection from "
		    "uid %d refused", (int)uid);
		control_refuse(cfd, CTL_EXIT_DENIED, "permission denied: "
		    "root, the user running brokerd or the control group only");
		return;
	}
	if (ctl_nconns >= CTL_MAX_CONNS) {
		log_limited(&ctl_rl, LOG_WARNING, "control: too many "
		    "connections");
		control_refuse(cfd, CTL_EXIT_FAILED, "brokerd is busy: too "
		    "many control connections");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(cfd);
		return;
	}
	c->id = ++ctl_nextid;
	c->uid = uid;
	c->change = change;
	c->chan = ipc_chan_new(cfd, "control", IPC_CTL_MAXLEN, 0,
	    control_dispatch, control_closed, c);
	c->chan->hiwat = CTL_CHUNK;
	c->chan->drained = control_drained;
	evtimer_set(&c->timer, control_timeout, c);
	evtimer_set(&c->more, control_more, c);
	evtimer_add(&c->timer, CTL_REQUEST_MS);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
	engine_stats.ctl_conns++;
}

/* Forget the request: its cursors, its snapshot, its question. */
static void
control_reset(struct ctl_conn *c)
{
	size_t	 i;

	for (i = c->isnap; i < c->nsnap; i++)
		msg_unref(c->snap[i]);
	free(c->snap);
	c->snap = NULL;
	buf_free(&c->text);
	c->nsnap = c->isnap = c->snapcap = 0;
	if (c->query != 0)
		control_cancel_processes(c->query);
	c->query = 0;
	free(c->arg);
	free(c->sid);
	free(c->fid);
	c->arg = c->sid = c->fid = NULL;
	c->arglen = 0;
	c->one = 0;
	c->draining = 0;
	c->cid = 0;
	c->next = NULL;
	c->req = IPC_NONE;
	evtimer_del(&c->more);
	/* The next request, or the end. */
	evtimer_add(&c->timer, CTL_REQUEST_MS);
}

static void
control_free(struct ctl_conn *c)
{
	control_reset(c);
	evtimer_del(&c->timer);
	TAILQ_REMOVE(&ctl_conns, c, entry);
	ctl_nconns--;
	ipc_chan_free(c->chan);
	free(c);
}

static void
control_closed(struct ipc_chan *chan, const char *why)
{
	struct ctl_conn	*c = chan->arg;

	if (why != NULL) {
		log_limited(&ctl_rl, LOG_WARNING, "control: uid %d: %s",
		    (int)c->uid, why);
		engine_stats.ctl_errors++;
	}
	control_free(c);
}

static void
control_timeout(void *arg)
{
	struct ctl_conn	*c = arg;

	if (c->req != IPC_NONE || (c->draining && ipc_queued(c->chan) > 0))
		ipc_chan_close(c->chan, "the reply is not being read");
	else if (ipc_queued(c->chan) > 0) {
		/* The end of a reply, still being read. */
		c->draining = 1;
		evtimer_add(&c->timer, CTL_STALL_MS);
	} else if (buf_len(&c->chan->rbuf) > 0)
		ipc_chan_close(c->chan, "no complete request in time");
	else
		/* Done, and brokerctl has not hung up: it will not mind. */
		ipc_chan_close(c->chan, NULL);
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

/* The request failed: brokerctl exits with `status' (CTL_EXIT_*). */
static void
control_error(struct ctl_conn *c, unsigned int status, const char *message)
{
	ipc_begin(c->chan, IPC_CTL_ERROR, 0, 2);
	ipc_put_uint(c->chan, status);
	ipc_put_str(c->chan, message);
	ipc_end(c->chan, -1);
	control_reset(c);
}

static void
control_done(struct ctl_conn *c, const char *message)
{
	control_end(c->chan, message);
	control_reset(c);
}

/* Strings a client chose are cut to CTL_STR_MAX in records. */
static void
ctl_put_str(struct ipc_chan *chan, const char *s)
{
	size_t	 len = strlen(s);

	ipc_put_strn(chan, s, len > CTL_STR_MAX ? CTL_STR_MAX : len);
}

/* Wall-clock milliseconds of a moment of ev_now(). */
uint64_t
control_wallclock(uint64_t mono)
{
	struct timespec	 ts;
	uint64_t	 now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now - (ev_now() - mono);
}

/* Seconds until `when' (ev_now() ms), at least 0. */
static int64_t
ctl_seconds_until(uint64_t when)
{
	uint64_t	 now = ev_now();

	return when <= now ? 0 : (int64_t)((when - now + 999) / 1000);
}

static void
ctl_set(char **dst, const char *src)
{
	free(*dst);
	if ((*dst = strdup(src)) == NULL)
		fatal(NULL);
}

/*
 * Make records until the reply is done, the channel holds a chunk (then
 * control_drained() continues) or the turn's budget is spent (then the
 * next turn does).
 */
static void
control_produce(struct ctl_conn *c)
{
	unsigned int	 n;

	for (n = 0; c->next != NULL; n++) {
		if (ipc_congested(c->chan))
			return;
		if (n == CTL_BUDGET) {
			evtimer_add(&c->more, 0);
			return;
		}
		if (c->next(c) == CTL_DONE) {
			control_done(c, "");
			return;
		}
	}
}

static void
control_more(void *arg)
{
	control_produce(arg);
}

/* The channel has written most of a chunk: the next, in the next turn. */
static void
control_drained(struct ipc_chan *chan)
{
	struct ctl_conn	*c = chan->arg;

	if (c->next == NULL)
		return;
	evtimer_add(&c->more, 0);
	evtimer_add(&c->timer, CTL_STALL_MS);
}

/* show clients */
static void
ctl_client(struct ctl_conn *cc, struct conn *c)
{
	struct ipc_chan	*ch = cc->chan;
	struct session	*s = c->sess;
	char		 addr[LISTENER_NAME_MAX];

	conn_addr(c, addr, sizeof(addr));
	ipc_begin(ch, IPC_CTL_CLIENT, 0, 13);
	ctl_put_str(ch, s->id);
	ipc_put_str(ch, addr);
	ipc_put_str(ch, c->l->name);
	ipc_put_uint(ch, c->version);
	ipc_put_bool(ch, c->user != NULL);
	ctl_put_str(ch, c->user != NULL ? c->user : "");
	ipc_put_uint(ch, c->keepalive);
	ipc_put_uint(ch, control_wallclock(c->since) / 1000);
	ipc_put_uint(ch, s->nflight);
	ipc_put_uint(ch, s->queue.count);
	ipc_put_uint(ch, c->rx_bytes);
	ipc_put_uint(ch, c->tx_bytes);
	ipc_put_uint(ch, s->nsubs);
	ipc_end(ch, -1);
}

static int
ctl_next_client(struct ctl_conn *cc)
{
	struct conn	*c;

	if ((c = conn_after(cc->cid)) == NULL)
		return CTL_DONE;
	cc->cid = c->id;
	if (c->state == CONN_ACTIVE && c->sess != NULL)
		ctl_client(cc, c);
	return CTL_MORE;
}

/* show sessions */
static void
ctl_session(struct ctl_conn *cc, struct session *s)
{
	struct ipc_chan	*ch = cc->chan;
	int		 online = session_online(s);

	ipc_begin(ch, IPC_CTL_SESSION, 0, 11);
	ctl_put_str(ch, s->id);
	ipc_put_bool(ch, online);
	ipc_put_uint(ch, s->version);
	ipc_put_uint(ch, s->expiry);
	ipc_put_int(ch, !online && s->expires_at != 0 ?
	    ctl_seconds_until(s->expires_at) : -1);
	ipc_put_uint(ch, s->nsubs);
	ipc_put_uint(ch, s->queue.count);
	ipc_put_uint(ch, s->queue_bytes);
	ipc_put_uint(ch, s->nflight);
	ipc_put_bool(ch, s->will != NULL);
	ipc_put_uint(ch, s->drops);
	ipc_end(ch, -1);
}

static int
ctl_next_session(struct ctl_conn *cc)
{
	struct session	*s;

	if ((s = session_after(cc->sid)) == NULL)
		return CTL_DONE;
	ctl_set(&cc->sid, s->id);
	ctl_session(cc, s);
	return CTL_MORE;
}

/* show subscriptions */
static void
ctl_sub(struct ctl_conn *cc, const struct sub *sub)
{
	struct ipc_chan	*ch = cc->chan;

	ipc_begin(ch, IPC_CTL_SUBSCRIPTION, 0, 7);
	ctl_put_str(ch, sub->sess->id);
	ctl_put_str(ch, sub->filter);
	ipc_put_uint(ch, SUBOPT_QOS(sub->opts));
	ipc_put_bool(ch, (sub->opts & SUBOPT_NO_LOCAL) != 0);
	ipc_put_bool(ch, (sub->opts & SUBOPT_RAP) != 0);
	ipc_put_uint(ch, SUBOPT_RH(sub->opts));
	ipc_put_uint(ch, sub->id);
	ipc_end(ch, -1);
}

/*
 * The cursor is the session and the filter last looked at; either may
 * have gone since, and the walk goes on from the next in order.
 */
static int
ctl_next_sub(struct ctl_conn *cc)
{
	struct session	*s = NULL;
	struct sub	*sub;

	if (cc->sid != NULL)
		s = session_find(cc->sid);
	if (s == NULL) {
		if (cc->one || (s = session_after(cc->sid)) == NULL)
			return CTL_DONE;
		ctl_set(&cc->sid, s->id);
		free(cc->fid);
		cc->fid = NULL;
	}
	if ((sub = topic_sub_after(s, cc->fid)) == NULL) {
		if (cc->one || (s = session_after(cc->sid)) == NULL)
			return CTL_DONE;
		ctl_set(&cc->sid, s->id);
		free(cc->fid);
		cc->fid = NULL;
		return CTL_MORE;
	}
	ctl_set(&cc->fid, sub->filter);
	if (cc->arglen == 0 || cc->one ||
	    topic_overlap((const uint8_t *)cc->arg, cc->arglen,
	    (const uint8_t *)sub->filter, strlen(sub->filter)))
		ctl_sub(cc, sub);
	return CTL_MORE;
}

/* show retained: a reference to each, taken at once. */
static void
ctl_snap(struct msg *m, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct msg	**a;
	size_t		 cap;

	if (cc->nsnap == cc->snapcap) {
		cap = cc->snapcap == 0 ? 64 : cc->snapcap * 2;
		if ((a = reallocarray(cc->snap, cap, sizeof(*a))) == NULL)
			fatal(NULL);
		cc->snap = a;
		cc->snapcap = cap;
	}
	cc->snap[cc->nsnap++] = msg_ref(m);
}

static int
ctl_next_retained(struct ctl_conn *cc)
{
	struct ipc_chan	*ch = cc->chan;
	struct msg	*m;

	if (cc->isnap == cc->nsnap)
		return CTL_DONE;
	m = cc->snap[cc->isnap++];
	if (!msg_expired(m)) {
		ipc_begin(ch, IPC_CTL_RETAINED, 0, 5);
		ipc_put_strn(ch, MSG_TOPIC(m), m->topic_len > CTL_STR_MAX ?
		    CTL_STR_MAX : m->topic_len);
		ipc_put_uint(ch, m->qos);
		ipc_put_uint(ch, m->payload_len);
		ipc_put_int(ch, m->expires != 0 ?
		    ctl_seconds_until(m->expires) : -1);
		ipc_put_bin(ch, MSG_PAYLOAD(m), m->payload_len > CTL_PREVIEW ?
		    CTL_PREVIEW : m->payload_len);
		ipc_end(ch, -1);
	}
	msg_unref(m);
	return CTL_MORE;
}

/* show listeners */
static void
ctl_listener(struct ctl_conn *cc, const struct listener *l, const char *type)
{
	struct ipc_chan	*ch = cc->chan;

	ipc_begin(ch, IPC_CTL_LISTENER, 0, 12);
	ipc_put_uint(ch, l->id);
	ipc_put_str(ch, l->name);
	ipc_put_str(ch, type);
	ipc_put_str(ch, l->kind == LISTEN_UNIX ? "unix" : "tcp");
	ipc_put_uint(ch, l->nconns);
	ipc_put_uint(ch, l->accepted);
	ipc_put_uint(ch, l->refused);
	ipc_put_uint(ch, l->o.max_conns);
	ipc_put_uint(ch, l->o.max_conns_addr);
	ipc_put_bool(ch, l->o.anonymous);
	ipc_put_str(ch, l->o.password_file);
	ipc_put_str(ch, l->o.acl_file);
	ipc_end(ch, -1);
}

/* show processes: the parent's answer. */
static void
ctl_procs_done(void *arg, const struct ctl_proc *p, size_t n)
{
	struct ctl_conn	*cc = arg;
	struct ipc_chan	*ch = cc->chan;
	size_t		 i;

	cc->query = 0;
	for (i = 0; i < n; i++) {
		ipc_begin(ch, IPC_CTL_PROCESS, 0, 10);
		ipc_put_str(ch, p[i].name);
		ipc_put_uint(ch, p[i].pid);
		ipc_put_uint(ch, p[i].uid);
		ipc_put_str(ch, p[i].user);
		ipc_put_str(ch, p[i].root);
		ipc_put_str(ch, p[i].sandbox);
		ipc_put_uint(ch, p[i].rss);
		ipc_put_uint(ch, p[i].vsz);
		ipc_put_uint(ch, p[i].utime);
		ipc_put_uint(ch, p[i].stime);
		ipc_end(ch, -1);
	}
	control_done(cc, "");
}

/* show metrics: the text, a piece a record. */
static int
ctl_next_text(struct ctl_conn *cc)
{
	size_t	 n = buf_len(&cc->text);

	if (n == 0)
		return CTL_DONE;
	if (n > CTL_TEXT_MAX)
		n = CTL_TEXT_MAX;
	ipc_begin(cc->chan, IPC_CTL_TEXT, 0, 1);
	ipc_put_strn(cc->chan, (const char *)buf_ptr(&cc->text), n);
	ipc_end(cc->chan, -1);
	buf_consume(&cc->text, n);
	return CTL_MORE;
}

static void
ctl_metrics_done(void *arg, const struct ctl_proc *p, size_t n)
{
	struct ctl_conn	*cc = arg;

	cc->query = 0;
	buf_init(&cc->text, 16 * 1024 * 1024);
	metrics_format(&cc->text, p, n);
	cc->next = ctl_next_text;
	control_produce(cc);
}

/* A request that changes something: may this connection? */
static int
ctl_may_change(struct ctl_conn *c, const char *what)
{
	char	 msg[128];

	if (c->change)
		return 1;
	log_limited(&ctl_rl, LOG_WARNING, "control: uid %d may not %s",
	    (int)c->uid, what);
	engine_stats.ctl_refused++;
	snprintf(msg, sizeof(msg), "permission denied: this socket is "
	    "read-only, and %s is a change", what);
	control_error(c, CTL_EXIT_DENIED, msg);
	return 0;
}

static void
ctl_disconnect(struct ctl_conn *c, int end)
{
	struct session	*s;

	if (!ctl_may_change(c, "disconnect"))
		return;
	if ((s = session_find(c->arg)) == NULL) {
		control_error(c, CTL_EXIT_FAILED, "no such client");
		return;
	}
	if (!session_online(s) && !end) {
		control_error(c, CTL_EXIT_FAILED, "the client is not "
		    "connected (-s ends its session)");
		return;
	}
	log_info("control: uid %d disconnects client %.200s%s", (int)c->uid,
	    c->arg, end ? " and ends its session" : "");
	client_kick(c->arg, end);
	control_done(c, end ? "disconnected, session ended" :
	    "disconnected");
}

/* Begin the answer to a request; long ones go on in control_produce(). */
static void
ctl_request(struct ctl_conn *c, struct ipc_msg *msg)
{
	struct session	*s;
	const char	*arg;
	size_t		 len;
	int		 shared;

	c->req = msg->hdr.type;
	evtimer_add(&c->timer, CTL_STALL_MS);
	if (msg->nfields > 0 && ipc_get_obj(msg, 0)->type ==
	    MSGPACK_OBJECT_STR) {
		arg = ipc_get_str(msg, 0, &len);
		/* An empty string may have no bytes at all. */
		if (len > 0 && memchr(arg, '\0', len) != NULL) {
			ipc_chan_close(c->chan, "NUL in an argument");
			return;
		}
		if ((c->arg = len > 0 ? strndup(arg, len) : strdup("")) ==
		    NULL)
			fatal(NULL);
		c->arglen = len;
	}
	switch (msg->hdr.type) {
	case IPC_CTL_SHOW_STATS:
		engine_show_stats(c->chan);
		control_done(c, "");
		return;
	case IPC_CTL_SHOW_CLIENTS:
		if (c->arglen == 0) {
			c->next = ctl_next_client;
			break;
		}
		if ((s = session_find(c->arg)) == NULL || s->conn == NULL ||
		    s->conn->state != CONN_ACTIVE) {
			control_error(c, CTL_EXIT_FAILED, s == NULL ?
			    "no such client" : "the client is not connected");
			return;
		}
		ctl_client(c, s->conn);
		control_done(c, "");
		return;
	case IPC_CTL_SHOW_SESSIONS:
		if (c->arglen == 0) {
			c->next = ctl_next_session;
			break;
		}
		if ((s = session_find(c->arg)) == NULL) {
			control_error(c, CTL_EXIT_FAILED, "no such session");
			return;
		}
		ctl_session(c, s);
		control_done(c, "");
		return;
	case IPC_CTL_SHOW_SUBSCRIPTIONS:
		if (c->arglen > 0 && session_find(c->arg) != NULL) {
			c->one = 1;
			ctl_set(&c->sid, c->arg);
		} else if (c->arglen > 0 && (c->arglen >
		    econf.max_topic_length || !mqtt_filter_valid(
		    (const uint8_t *)c->arg, c->arglen,
		    econf.max_topic_levels, &shared))) {
			control_error(c, CTL_EXIT_FAILED, "neither a client "
			    "nor a topic filter");
			return;
		}
		c->next = ctl_next_sub;
		break;
	case IPC_CTL_SHOW_RETAINED:
		if (c->arglen > 0) {
			if (c->arglen > econf.max_topic_length ||
			    !mqtt_filter_valid((const uint8_t *)c->arg,
			    c->arglen, econf.max_topic_levels, &shared) ||
			    shared) {
				control_error(c, CTL_EXIT_FAILED, "not a topic "
				    "filter");
				return;
			}
			retain_match((const uint8_t *)c->arg, c->arglen,
			    ctl_snap, c);
		} else {
			retain_match((const uint8_t *)"#", 1, ctl_snap, c);
			retain_match((const uint8_t *)"$SYS/#", 6, ctl_snap,
			    c);
		}
		c->next = ctl_next_retained;
		break;
	case IPC_CTL_SHOW_LISTENERS: {
		struct listener	*l = NULL;

		while ((l = conn_listener_next(l)) != NULL)
			ctl_listener(c, l, l->o.metrics ? "metrics" : "mqtt");
		control_done(c, "");
		return;
	}
	case IPC_CTL_SHOW_PROCESSES:
		c->query = control_ask_processes(ctl_procs_done, c);
		return;
	case IPC_CTL_SHOW_METRICS:
		c->query = control_ask_processes(ctl_metrics_done, c);
		return;
	case IPC_CTL_DISCONNECT:
		ctl_disconnect(c, ipc_get_bool(msg, 1));
		return;
	case IPC_CTL_RELOAD:
		if (!ctl_may_change(c, "reload"))
			return;
		log_info("control: reload requested by uid %d", (int)c->uid);
		ipc_send(child.parent, IPC_CTL_RELOAD, c->id, -1);
		return;
	case IPC_CTL_AUTH_FILES: {
		struct listener	*l = NULL;

		/* Asked before brokerctl edits a file: it must be a change. */
		if (!ctl_may_change(c, "user and ACL management"))
			return;
		while ((l = conn_listener_next(l)) != NULL)
			if (!l->o.metrics)
				ctl_listener(c, l, "mqtt");
		control_done(c, "");
		return;
	}
	case IPC_CTL_RELOAD_AUTH:
		if (!ctl_may_change(c, "reload"))
			return;
		log_info("control: uid %d edited the users or ACLs",
		    (int)c->uid);
		ipc_send(child.parent, IPC_CTL_RELOAD_AUTH, c->id, -1);
		return;
	case IPC_CTL_LOG_VERBOSE:
		if (!ctl_may_change(c, "log"))
			return;
		log_info("control: uid %d asks for %s logging", (int)c->uid,
		    ipc_get_bool(msg, 0) ? "verbose" : "brief");
		ipc_begin(child.parent, IPC_CTL_LOG_VERBOSE, c->id, 1);
		ipc_put_bool(child.parent, ipc_get_bool(msg, 0));
		ipc_end(child.parent, -1);
		return;
	default:
		fatalx("ctl_request: %s", ipc_type_name(msg->hdr.type));
	}
	control_produce(c);
}

static void
control_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct ctl_conn	*c = chan->arg;

	switch (msg->hdr.type) {
	case IPC_CTL_SHOW_STATS:
	case IPC_CTL_SHOW_CLIENTS:
	case IPC_CTL_SHOW_SESSIONS:
	case IPC_CTL_SHOW_SUBSCRIPTIONS:
	case IPC_CTL_SHOW_RETAINED:
	case IPC_CTL_SHOW_LISTENERS:
	case IPC_CTL_SHOW_PROCESSES:
	case IPC_CTL_SHOW_METRICS:
	case IPC_CTL_DISCONNECT:
	case IPC_CTL_RELOAD:
	case IPC_CTL_LOG_VERBOSE:
	case IPC_CTL_AUTH_FILES:
	case IPC_CTL_RELOAD_AUTH:
		if (c->req != IPC_NONE) {
			ipc_chan_close(chan, "a request before the reply to "
			    "the last");
			return;
		}
		ctl_request(c, msg);
		break;
	default:
		log_limited(&ctl_rl, LOG_WARNING, "control: uid %d: "
		    "unexpected %s", (int)c->uid,
		    ipc_type_name(msg->hdr.type));
		ipc_chan_close(chan, "protocol error");
		break;
	}
}

static struct ctl_conn *
control_by_id(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

/* How a reload or a log change went, for the connection that asked. */
void
control_result(uint32_t id, int ok, const char *text)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(id)) == NULL || (c->req != IPC_CTL_RELOAD &&
	    c->req != IPC_CTL_RELOAD_AUTH && c->req != IPC_CTL_LOG_VERBOSE))
		return;		/* brokerctl went away meanwhile */
	if (ok)
		control_done(c, text);
	else
		control_error(c, CTL_EXIT_FAILED, text);
}

/*
 * Questions to the parent about the processes (pids, users, memory):
 * `cb' gets the answer, unless control_cancel_processes() came first.
 * Returns the question's id.
 */
uint32_t
control_ask_processes(control_procs_cb cb, void *arg)
{
	struct ctl_query	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal(NULL);
	do {
		q->id = ++ctl_nextquery;
	} while (q->id == 0);
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&ctl_queries, q, entry);
	ipc_send(child.parent, IPC_CTL_SHOW_PROCESSES, q->id, -1);
	return q->id;
}

static struct ctl_query *
control_query(uint32_t id)
{
	struct ctl_query	*q;

	TAILQ_FOREACH(q, &ctl_queries, entry)
		if (q->id == id)
			return q;
	fatalx("a process record for no question");
}

void
control_cancel_processes(uint32_t id)
{
	control_query(id)->cb = NULL;
}

/* IPC_CTL_PROCESS from the parent. */
void
control_process(uint32_t id, const struct ctl_proc *p)
{
	struct ctl_query	*q = control_query(id);

	if (q->n == PROC_MAX)
		fatalx("more processes than there are");
	q->procs[q->n++] = *p;
}

/* IPC_CTL_END from the parent: the answer is complete. */
void
control_processes_end(uint32_t id)
{
	struct ctl_query	*q = control_query(id);

	TAILQ_REMOVE(&ctl_queries, q, entry);
	if (q->cb != NULL)
		q->cb(q->arg, q->procs, q->n);
	free(q);
}
