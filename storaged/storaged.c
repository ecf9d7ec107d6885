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
 * storaged: the only process that writes to disk: the Berkeley DB
 * environment in the data directory, which is its chroot.  Its own user,
 * no network.
 *
 * The engine asks for the recovery stream first (IPC_STORE_RECOVER): the
 * store is opened then (recovery, the check of every record), and the
 * state goes out in parts of STREAM_BUDGET bytes, each part asked for
 * again, so that neither side holds more than one part in its buffers.
 * Then requests arrive, one a frame, the frame's id their number.  Each
 * joins the open batch; at the end of every turn of the event loop (all
 * the frames read so far) store_poll closes the batch and commits it,
 * and IPC_STORE_COMMIT tells the engine up to which request it is
 * durable, or that the batch failed.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "log.h"
#include "storaged.h"

#define STREAM_BUDGET	(256 * 1024)

_Static_assert(IPC_STORE_E_INVALID == STORE_E_INVALID &&
    IPC_STORE_E_NOSPACE == STORE_E_NOSPACE, "IPC_STORE_COMMIT error kinds");

static struct store	*store;
static struct store_conf sconf;
static int		 configured;	/* IPC_STORE_CONF seen */
static int		 mode = PERSIST_OFF;
static uint32_t		 last_req;	/* the last request received */
static int		 nospace;	/* a batch failed for want of space */
static struct evtimer	 poll_timer;
static struct store_walk walk;
static int		 walking;	/* the stream has begun */
static uint64_t		 max_msgid, max_seq, items;

static void	storaged_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	storaged_dispatch_engine(struct ipc_chan *, struct ipc_msg *);
static void	storaged_flush(void *);
static void	storaged_timer(void *);
static void	storaged_atexit(void);

static const ipc_dispatch_fn storaged_peers[PROC_MAX] = {
	[PROC_ENGINE] = storaged_dispatch_engine,
};

int
main(int argc, char *argv[])
{
	const char	*errstr, *delay;

	log_init(child_args(argc, argv), LOG_DAEMON);
	umask(077);
	store_conf_defaults(&sconf);
	/* Tests only: every commit takes this much longer (a slow disk). */
	if ((delay = getenv("BROKERD_TEST_COMMIT_DELAY")) != NULL) {
		sconf.commit_delay = strtonum(delay, 0, 10000, &errstr);
		if (errstr != NULL)
			fatalx("BROKERD_TEST_COMMIT_DELAY %s: %s", delay,
			    errstr);
	}
	ev_init();
	child_init(PROC_STORAGED, storaged_dispatch_parent);
	evtimer_set(&poll_timer, storaged_timer, NULL);
	ev_setflush(storaged_flush, NULL);
	if (atexit(storaged_atexit) == -1)
		fatal("atexit");
	ev_dispatch();
	exit(0);
}

/*
 * However storaged ends (its channels closed, fatalx), the open
 * batch commits, a checkpoint is taken and the files are closed, so that
 * the next start has little to recover; unless Berkeley DB gave up on the
 * environment, which recovery must then repair.
 */
static void
storaged_atexit(void)
{
	if (store == NULL || store->db.panicked)
		return;
	store->commit_cb = NULL;	/* nobody left to tell */
	store_close(store);
	store = NULL;
}

static void
storaged_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	if (child_dispatch(msg, storaged_peers, NULL))
		return;
	switch (msg->hdr.type) {
	case IPC_STORE_CONF:
		if (configured)
			fatalx("IPC_STORE_CONF twice");
		mode = ipc_get_uint(msg, 0);
		if (mode > PERSIST_SYNC)
			fatalx("IPC_STORE_CONF: persistence %d", mode);
		sconf.durability = mode == PERSIST_NOSYNC ? STORE_NOSYNC :
		    STORE_SYNC;
		switch (ipc_get_uint(msg, 1)) {
		case DAMAGED_REFUSE:
			sconf.on_damage = STORE_REFUSE;
			break;
		case DAMAGED_MOVE_ASIDE:
			sconf.on_damage = STORE_MOVE_ASIDE;
			break;
		default:
			fatalx("IPC_STORE_CONF: bad damaged store policy");
		}
		configured = 1;
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

/* The batch `batch' is durable, or failed: say up to which request. */
static void
storaged_committed(uint64_t batch, const struct store_error *e, void *arg)
{
	struct ipc_chan	*eng = child.peer[PROC_ENGINE];

	(void)batch;
	(void)arg;
	if (e != NULL) {
		if (e->kind == STORE_E_FATAL)
			fatalx("the store cannot go on: %s", e->msg);
		if (e->kind == STORE_E_NOSPACE)
			nospace = 1;
	}
	ipc_begin(eng, IPC_STORE_COMMIT, last_req, 3);
	ipc_put_bool(eng, e == NULL);
	ipc_put_uint(eng, e != NULL ? e->kind : STORE_E_NONE);
	ipc_put_str(eng, e != NULL ? e->msg : "");
	ipc_end(eng, -1);
}

static void
storaged_open(void)
{
	struct store_error	 e;
	const char		*dir;

	if (!configured || mode == PERSIST_OFF)
		fatalx("IPC_STORE_RECOVER with persistence off");
	/* In the chroot; Berkeley DB does not take "/" for a home. */
	dir = child.sandbox.drop ? "." : child.sandbox.root;
	if ((store = store_open(dir, &sconf, storaged_committed, NULL,
	    &e)) == NULL)
		fatalx("cannot open the store: %s", e.msg);
	store_walk_init(&walk, store);
	walking = 1;
}

/* One item of the recovery stream, as the request that would make it. */
static int
storaged_send_item(const struct store_item *it, void *arg)
{
	struct ipc_chan			*eng = arg;
	const struct rec_msg		*m = &it->u.msg;
	const struct rec_session	*s = &it->u.session;
	const struct rec_queue		*q = &it->u.queue;
	unsigned int			 i;

	items++;
	switch (it->type) {
	case STORE_ITEM_MSG:
		if (it->msgid > max_msgid)
			max_msgid = it->msgid;
		ipc_begin(eng, IPC_STORE_MSG, 0, 7);
		ipc_put_uint(eng, it->msgid);
		ipc_put_uint(eng, m->qos);
		ipc_put_bool(eng, m->retain);
		ipc_put_uint(eng, m->expires);
		ipc_put_strn(eng, (const char *)m->topic.p, m->topic.len);
		ipc_put_bin(eng, m->props.p, m->props.len);
		ipc_put_bin(eng, m->payload.p, m->payload.len);
		break;
	case STORE_ITEM_RETAIN:
		ipc_begin(eng, IPC_STORE_RETAIN, 0, 2);
		ipc_put_strn(eng, (const char *)it->name.p, it->name.len);
		ipc_put_uint(eng, it->msgid);
		break;
	case STORE_ITEM_SESSION:
		ipc_begin(eng, IPC_STORE_SESSION, 0, 12);
		ipc_put_strn(eng, (const char *)it->cid.p, it->cid.len);
		ipc_put_uint(eng, s->version);
		ipc_put_uint(eng, s->expiry);
		ipc_put_uint(eng, s->disconnected);
		ipc_put_bool(eng, s->has_will);
		ipc_put_uint(eng, s->will.qos);
		ipc_put_bool(eng, s->will.retain);
		ipc_put_uint(eng, s->will.delay);
		ipc_put_uint(eng, s->will.expiry);
		ipc_put_strn(eng, (const char *)s->will.topic.p,
		    s->will.topic.len);
		ipc_put_bin(eng, s->will.props.p, s->will.props.len);
		ipc_put_bin(eng, s->will.payload.p, s->will.payload.len);
		break;
	case STORE_ITEM_SUB:
		ipc_begin(eng, IPC_STORE_SUB, 0, 4);
		ipc_put_strn(eng, (const char *)it->cid.p, it->cid.len);
		ipc_put_strn(eng, (const char *)it->name.p, it->name.len);
		ipc_put_uint(eng, it->u.sub.opts);
		ipc_put_uint(eng, it->u.sub.id);
		break;
	case STORE_ITEM_QUEUE:
		if (it->seq > max_seq)
			max_seq = it->seq;
		ipc_begin(eng, IPC_STORE_QUEUE, 0, 8);
		ipc_put_strn(eng, (const char *)it->cid.p, it->cid.len);
		ipc_put_uint(eng, it->seq);
		ipc_put_uint(eng, q->msgid);
		ipc_put_uint(eng, q->qos);
		ipc_put_bool(eng, q->retain);
		ipc_put_uint(eng, q->state);
		ipc_put_uint(eng, q->pid);
		ipc_put_array(eng, q->nsubids);
		for (i = 0; i < q->nsubids; i++)
			ipc_put_uint(eng, q->subids[i]);
		break;
	case STORE_ITEM_INREL:
		ipc_begin(eng, IPC_STORE_INREL, 0, 2);
		ipc_put_strn(eng, (const char *)it->cid.p, it->cid.len);
		ipc_put_uint(eng, it->pid);
		break;
	default:
		fatalx("recovery: item of type %d", it->type);
	}
	if (ipc_end(eng, -1) == -1)
		fatalx("recovery: a record too large for the channel");
	return 0;
}

/* The next part of the recovery stream. */
static void
storaged_stream(struct ipc_chan *eng)
{
	struct store_error	 e;
	int			 n;

	if (store == NULL)
		storaged_open();
	if (!walking)
		fatalx("IPC_STORE_RECOVER after the end of the stream");
	n = store_walk_next(&walk, STREAM_BUDGET, storaged_send_item, eng,
	    &e);
	if (n == -1)
		fatalx("recovery: %s", e.msg);
	if (n == 1) {
		ipc_send(eng, IPC_STORE_CHUNK, 0, -1);
		return;
	}
	store_walk_done(&walk);
	walking = 0;
	ipc_begin(eng, IPC_STORE_END, 0, 3);
	ipc_put_uint(eng, max_msgid + 1);
	ipc_put_uint(eng, max_seq + 1);
	ipc_put_uint(eng, items);
	ipc_end(eng, -1);
	log_info("recovery: %llu items sent to the engine",
	    (unsigned long long)items);
}

static uint8_t
req_u8(const struct ipc_msg *msg, uint32_t i, unsigned int max)
{
	uint64_t	 v = ipc_get_uint(msg, i);

	if (v > max)
		fatalx("%s: field %u is %llu", ipc_type_name(msg->hdr.type), i,
		    (unsigned long long)v);
	return v;
}

static int
req_msg(const struct ipc_msg *msg)
{
	struct rec_msg	 m;
	size_t		 len;

	memset(&m, 0, sizeof(m));
	m.qos = req_u8(msg, 1, 2);
	m.retain = ipc_get_bool(msg, 2);
	m.expires = ipc_get_uint(msg, 3);
	m.topic.p = (const uint8_t *)ipc_get_str(msg, 4, &len);
	m.topic.len = len;
	m.props.p = ipc_get_bin(msg, 5, &m.props.len);
	m.payload.p = ipc_get_bin(msg, 6, &m.payload.len);
	return store_msg_put(store, ipc_get_uint(msg, 0), &m);
}

static int
req_session(const struct ipc_msg *msg)
{
	struct rec_session	 s;
	const char		*cid;
	size_t			 len, tlen;

	memset(&s, 0, sizeof(s));
	cid = ipc_get_str(msg, 0, &len);
	s.version = req_u8(msg, 1, 5);
	s.expiry = ipc_get_uint(msg, 2);
	s.disconnected = ipc_get_uint(msg, 3);
	s.has_will = ipc_get_bool(msg, 4);
	if (s.has_will) {
		s.will.qos = req_u8(msg, 5, 2);
		s.will.retain = ipc_get_bool(msg, 6);
		s.will.delay = ipc_get_uint(msg, 7);
		s.will.expiry = ipc_get_uint(msg, 8);
		s.will.topic.p = (const uint8_t *)ipc_get_str(msg, 9, &tlen);
		s.will.topic.len = tlen;
		s.will.props.p = ipc_get_bin(msg, 10, &s.will.props.len);
		s.will.payload.p = ipc_get_bin(msg, 11, &s.will.payload.len);
	}
	if (ipc_get_uint(msg, 2) > UINT32_MAX ||
	    ipc_get_uint(msg, 7) > UINT32_MAX ||
	    ipc_get_uint(msg, 8) > UINT32_MAX)
		fatalx("IPC_STORE_SESSION: an interval over 32 bits");
	return store_session_put(store, cid, len, &s);
}

static int
req_queue(const struct ipc_msg *msg)
{
	const msgpack_object	*a = ipc_get_obj(msg, 7);
	struct rec_queue	 q;
	const char		*cid;
	size_t			 len;
	uint32_t		 i;

	memset(&q, 0, sizeof(q));
	cid = ipc_get_str(msg, 0, &len);
	q.msgid = ipc_get_uint(msg, 2);
	q.qos = req_u8(msg, 3, 2);
	q.retain = ipc_get_bool(msg, 4);
	q.state = req_u8(msg, 5, REC_Q_RELEASED);
	q.pid = ipc_get_uint(msg, 6);
	if (ipc_get_uint(msg, 6) > UINT16_MAX ||
	    a->via.array.size > REC_MAX_SUBIDS)
		fatalx("IPC_STORE_QUEUE: bad packet id or identifiers");
	q.nsubids = a->via.array.size;
	for (i = 0; i < q.nsubids; i++) {
		if (a->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER
		    || a->via.array.ptr[i].via.u64 > REC_MAX_SUBID)
			fatalx("IPC_STORE_QUEUE: bad subscription identifier");
		q.subids[i] = a->via.array.ptr[i].via.u64;
	}
	return store_queue_put(store, cid, len, ipc_get_uint(msg, 1), &q);
}

/* A request that breaks the model is the engine's bug: fatal. */
static void
storaged_request(const struct ipc_msg *msg)
{
	const struct store_error	*e;
	struct rec_sub			 sub;
	const char			*cid, *name;
	size_t				 len, nlen;
	uint64_t			 v;
	int				 rc;

	if (store == NULL || walking)
		fatalx("%s before the end of the recovery stream",
		    ipc_type_name(msg->hdr.type));
	last_req = msg->hdr.id;
	switch (msg->hdr.type) {
	case IPC_STORE_MSG:
		rc = req_msg(msg);
		break;
	case IPC_STORE_RETAIN:
		name = ipc_get_str(msg, 0, &nlen);
		rc = (v = ipc_get_uint(msg, 1)) == 0 ?
		    store_retain_clear(store, name, nlen) :
		    store_retain_set(store, name, nlen, v);
		break;
	case IPC_STORE_SESSION:
		rc = req_session(msg);
		break;
	case IPC_STORE_SESSION_DEL:
		cid = ipc_get_str(msg, 0, &len);
		rc = store_session_del(store, cid, len);
		break;
	case IPC_STORE_SUB:
		cid = ipc_get_str(msg, 0, &len);
		name = ipc_get_str(msg, 1, &nlen);
		sub.opts = req_u8(msg, 2, 0xff);
		if ((v = ipc_get_uint(msg, 3)) > REC_MAX_SUBID)
			fatalx("IPC_STORE_SUB: subscription identifier %llu",
			    (unsigned long long)v);
		sub.id = v;
		rc = store_sub_put(store, cid, len, name, nlen, &sub);
		break;
	case IPC_STORE_UNSUB:
		cid = ipc_get_str(msg, 0, &len);
		name = ipc_get_str(msg, 1, &nlen);
		rc = store_sub_del(store, cid, len, name, nlen);
		break;
	case IPC_STORE_QUEUE:
		rc = req_queue(msg);
		break;
	case IPC_STORE_QSTATE:
		cid = ipc_get_str(msg, 0, &len);
		if (ipc_get_uint(msg, 3) > UINT16_MAX)
			fatalx("IPC_STORE_QSTATE: packet id");
		rc = store_queue_state(store, cid, len, ipc_get_uint(msg, 1),
		    req_u8(msg, 2, REC_Q_RELEASED), ipc_get_uint(msg, 3));
		break;
	case IPC_STORE_QDEL:
		cid = ipc_get_str(msg, 0, &len);
		rc = store_queue_del(store, cid, len, ipc_get_uint(msg, 1));
		break;
	case IPC_STORE_INREL:
	case IPC_STORE_INREL_DEL:
		cid = ipc_get_str(msg, 0, &len);
		if ((v = ipc_get_uint(msg, 1)) > UINT16_MAX)
			fatalx("%s: packet id", ipc_type_name(msg->hdr.type));
		rc = msg->hdr.type == IPC_STORE_INREL ?
		    store_inrel_put(store, cid, len, v) :
		    store_inrel_del(store, cid, len, v);
		break;
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
	/*
	 * After a full disk the engine's idea of the store may be ahead of
	 * it (a batch it counted on failed): then a request that no longer
	 * fits only fails its batch.
	 */
	if (rc == -1 && (e = store_batch_error(store)) != NULL &&
	    e->kind == STORE_E_INVALID && !nospace)
		fatalx("%s from the engine: %s", ipc_type_name(msg->hdr.type),
		    e->msg);
}

static void
storaged_dispatch_engine(struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IPC_STORE_RECOVER:
		storaged_stream(chan);
		break;
	default:
		storaged_request(msg);
		break;
	}
}

/* The end of a turn: every frame read so far is in the batch. */
static void
storaged_flush(void *arg)
{
	int	 wait;

	(void)arg;
	if (store != NULL && !walking) {
		wait = store_poll(store, ev_now());
		evtimer_del(&poll_timer);
		if (wait >= 0)
			evtimer_add(&poll_timer, wait);
	}
	ipc_flush_pending();
}

/* Nothing to do here: storaged_flush runs after the turn. */
static void
storaged_timer(void *arg)
{
	(void)arg;
}
