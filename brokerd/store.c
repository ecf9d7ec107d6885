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
 * Persistence, the engine's side.  Only what must outlive the engine is
 * sent to storaged: sessions with an expiry (not clean ones), their
 * subscriptions, their QoS 1 and 2 queue entries and in-flight states,
 * their incoming QoS 2 ids awaiting PUBREL, and retained messages.  QoS 0
 * and clean sessions never cause a request.
 *
 * Every request is a frame whose id is its number (st.req).  A PUBACK,
 * PUBREC or PUBCOMP whose packet caused requests waits here until
 * storaged says those requests are durable (IPC_STORE_COMMIT up to a
 * number): ack after commit, with `persistence sync' or `nosync'.
 *
 * A message is stored once, under an id of its own (m->sid), while
 * storaged counts references to it; m->prefs mirrors that count, so that
 * a message whose last stored reference went is stored again, under a
 * new id, if it is referred to again.  A message is sent just before its
 * first reference, and storaged keeps the two in one batch.
 *
 * At start the state comes back from storaged (store_recovered) before
 * any listener opens; nothing is sent meanwhile.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "child.h"
#include "engine.h"
#include "log.h"

/* The largest message that fits the channel to storaged. */
#define STORE_MAX_MSG	(IPC_PARENT_MAXLEN - 4096)

/*
 * What waits for a commit: an acknowledgement to a publisher, or a QoS 2
 * PUBLISH or PUBREL to a stored session's client, which goes only once
 * the packet id and state it carries are durable: else a restart could
 * send the message again under another id, and the client take it for
 * a new one.
 */
struct store_wait {
	TAILQ_ENTRY(store_wait)	 entry;
	uint32_t		 req;		/* durable with this request */
	uint32_t		 conn;		/* an ack: its connection */
	char			*cid;		/* a send: the session */
	uint64_t		 serial;
	uint16_t		 pid;
	uint8_t			 type;		/* PUBACK PUBREC PUBCOMP, or
						   PUBLISH PUBREL to send */
	uint8_t			 reason;
	uint8_t			 open;		/* req set at the turn's end */
};

/* A recovered message, until the end of the stream. */
struct store_rmsg {
	uint64_t		 id;
	struct msg		*m;
};

static struct {
	uint32_t		 req;		/* the last request sent */
	uint32_t		 done;		/* the last one durable */
	int			 recovering;
	int			 active;	/* recovered: requests go */
	int			 nopen;		/* waits without a req yet */
	uint64_t		 next_msgid;
	uint64_t		 next_seq;
	TAILQ_HEAD(store_waits, store_wait) waits;
	struct store_rmsg	*rmsgs;		/* in order of id */
	size_t			 nrmsgs;
	size_t			 rmcap;
} st = { 0, 0, 0, 0, 0, 1, 1, TAILQ_HEAD_INITIALIZER(st.waits), NULL, 0,
    0 };

static struct log_ratelimit	 store_rl = LOG_RATELIMIT_INIT(5, 60);

static uint64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An ev_now() time as wall-clock ms, and back; 0 is never. */
static uint64_t
to_wall(uint64_t t)
{
	uint64_t	 now = ev_now();

	if (t == 0)
		return 0;
	return wall_ms() + (t > now ? t - now : 0);
}

static uint64_t
from_wall(uint64_t w)
{
	uint64_t	 wall = wall_ms(), now = ev_now();

	if (w == 0)
		return 0;
	return now + (w > wall ? w - wall : 0);
}

/* Requests go once the stored state is back (not before store_start). */
static int
store_on(void)
{
	return st.active;
}

static struct ipc_chan *
store_begin(enum ipc_type type, uint32_t n)
{
	struct ipc_chan	*chan = child.peer[PROC_STORAGED];

	ipc_begin(chan, type, ++st.req, n);
	engine_stats.store_requests++;
	return chan;
}

static void
store_end(struct ipc_chan *chan)
{
	if (ipc_end(chan, -1) == -1)
		fatalx("a store request too large for the channel");
}

/*
 * Persistence on: ask storaged for the state.  Returns 1 if the
 * listeners must wait for it (store_recovered opens them).
 */
int
store_start(void)
{
	if (econf.persistence == PERSIST_OFF)
		return 0;
	st.recovering = 1;
	ipc_send(child.peer[PROC_STORAGED], IPC_STORE_RECOVER, 0, -1);
	return 1;
}

uint32_t
store_mark(void)
{
	return st.req;
}

/*
 * Send an acknowledgement now, or, if requests were sent since `mark',
 * once they are durable.  Returns 1 if it waits.
 */
int
store_ack(struct conn *c, uint32_t mark, uint8_t type, uint16_t pid,
    uint8_t reason)
{
	struct store_wait	*w;

	if (st.req == mark || st.req == st.done)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal(NULL);
	w->req = st.req;
	w->conn = c->id;
	w->pid = pid;
	w->type = type;
	w->reason = reason;
	TAILQ_INSERT_TAIL(&st.waits, w, entry);
	engine_stats.store_waiting++;
	return 1;
}

/*
 * A QoS 2 message to a stored session just went in flight, or was
 * released: returns 1 if its PUBLISH or PUBREL must wait for the commit
 * (session_send_waited sends it then).  It waits for every request of
 * this turn, not only those made so far: the packet that caused it may
 * make more (a QoS 2 PUBLISH records its packet id after routing), and
 * none of them may be lost once a subscriber has the message.
 */
int
store_send_after(struct session *s, struct delivery *d)
{
	struct store_wait	*w;

	if (!s->stored || d->seq == 0 || d->qos != 2 || st.req == st.done)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->cid = strdup(s->id)) == NULL)
		fatal(NULL);
	w->open = 1;
	st.nopen++;
	w->serial = s->serial;
	w->pid = d->pid;
	w->type = d->state == DLV_RELEASED ? MQTT_PUBREL : MQTT_PUBLISH;
	d->waiting = 1;
	TAILQ_INSERT_TAIL(&st.waits, w, entry);
	engine_stats.store_waiting++;
	return 1;
}

/* The end of a turn: what waits for this turn's requests knows which. */
void
store_turn_end(void)
{
	struct store_wait	*w;

	if (st.nopen == 0)
		return;
	TAILQ_FOREACH_REVERSE(w, &st.waits, store_waits, entry) {
		if (st.nopen == 0)
			break;
		if (w->open) {
			w->req = st.req;
			w->open = 0;
			st.nopen--;
		}
	}
}

/* An acknowledgement that must not overtake one still waiting. */
int
store_ack_after(struct conn *c, uint8_t type, uint16_t pid, uint8_t reason)
{
	return store_ack(c, st.done, type, pid, reason);
}

/*
 * IPC_STORE_COMMIT: the requests up to `req' are durable, or the batch
 * ending with `req' failed.  The acknowledgements waiting for them go:
 * as they were, or, after a failure, a refusal (MQTT 5: quota exceeded
 * for a full disk, else unspecified error); an older client cannot be
 * refused and is disconnected, so that it sends again.
 */
void
store_committed(uint32_t req, int ok, unsigned int kind, const char *why)
{
	struct store_wait	*w;
	struct conn		*c;
	uint8_t			 reason;

	engine_stats.store_batches++;
	if ((int32_t)(req - st.done) > 0)
		st.done = req;
	if (!ok) {
		engine_stats.store_failed++;
		log_limited(&store_rl, LOG_WARNING, "storaged: a batch failed, "
		    "its messages are refused: %s", why);
	}
	while ((w = TAILQ_FIRST(&st.waits)) != NULL && !w->open &&
	    (int32_t)(w->req - req) <= 0) {
		TAILQ_REMOVE(&st.waits, w, entry);
		engine_stats.store_waiting--;
		if (w->cid != NULL) {
			/* Sent even if the batch failed: it cannot wait. */
			session_send_waited(w->cid, w->serial, w->pid,
			    w->type);
			engine_stats.store_waited++;
			free(w->cid);
			free(w);
			continue;
		}
		c = conn_by_id(w->conn);
		if (c != NULL && c->state == CONN_ACTIVE) {
			reason = w->reason;
			if (!ok && w->type != MQTT_PUBCOMP) {
				engine_stats.store_refused++;
				if (c->version != MQTT_V5) {
					conn_close(c, "the store failed");
					free(w);
					continue;
				}
				reason = kind == IPC_STORE_E_NOSPACE ?
				    RC_QUOTA_EXCEEDED : RC_UNSPECIFIED;
			} else
				engine_stats.store_waited++;
			packet_ack(c, w->type, w->pid, reason);
		}
		free(w);
	}
}

/* The session as storaged keeps it; one with expiry 0 is not kept. */
void
store_session(struct session *s)
{
	struct ipc_chan	*chan;
	struct msg	*w = s->will;

	if (!store_on())
		return;
	if (s->expiry == 0) {
		store_session_end(s);
		return;
	}
	chan = store_begin(IPC_STORE_SESSION, 12);
	ipc_put_str(chan, s->id);
	ipc_put_uint(chan, s->version);
	ipc_put_uint(chan, s->expiry);
	ipc_put_uint(chan, s->conn != NULL ? 0 : wall_ms());
	ipc_put_bool(chan, w != NULL);
	ipc_put_uint(chan, w != NULL ? s->will_qos : 0);
	ipc_put_bool(chan, w != NULL && s->will_retain);
	ipc_put_uint(chan, w != NULL ? s->will_delay : 0);
	ipc_put_uint(chan, w != NULL ? s->will_expiry : 0);
	if (w != NULL) {
		ipc_put_strn(chan, MSG_TOPIC(w), w->topic_len);
		ipc_put_bin(chan, MSG_PROPS(w), w->props_len);
		ipc_put_bin(chan, MSG_PAYLOAD(w), w->payload_len);
	} else {
		ipc_put_str(chan, "");
		ipc_put_bin(chan, NULL, 0);
		ipc_put_bin(chan, NULL, 0);
	}
	store_end(chan);
	s->stored = 1;
}

/* The session ended: storaged forgets it and all it held. */
void
store_session_end(struct session *s)
{
	struct ipc_chan	*chan;

	if (!s->stored || !store_on())
		return;
	chan = store_begin(IPC_STORE_SESSION_DEL, 1);
	ipc_put_str(chan, s->id);
	store_end(chan);
	s->stored = 0;
	session_unstore(s);
}

void
store_sub(struct session *s, const struct sub *sub)
{
	struct ipc_chan	*chan;

	if (!s->stored || !store_on())
		return;
	chan = store_begin(IPC_STORE_SUB, 4);
	ipc_put_str(chan, s->id);
	ipc_put_str(chan, sub->filter);
	ipc_put_uint(chan, sub->opts);
	ipc_put_uint(chan, sub->id);
	store_end(chan);
}

void
store_unsub(struct session *s, const uint8_t *f, size_t len)
{
	struct ipc_chan	*chan;

	if (!s->stored || !store_on())
		return;
	chan = store_begin(IPC_STORE_UNSUB, 2);
	ipc_put_str(chan, s->id);
	ipc_put_strn(chan, (const char *)f, len);
	store_end(chan);
}

/*
 * A stored reference to `m' is about to be made: store it first if
 * storaged does not have it (any more).  Returns -1 if it cannot be.
 */
static int
store_msg_ref(struct msg *m)
{
	struct ipc_chan	*chan;

	if (m->prefs > 0) {
		m->prefs++;
		return 0;
	}
	if (msg_size(m) > STORE_MAX_MSG) {
		engine_stats.store_too_large++;
		log_limited(&store_rl, LOG_WARNING, "a message of %zu bytes "
		    "is too large for storaged: kept in memory only",
		    msg_size(m));
		return -1;
	}
	m->sid = st.next_msgid++;
	chan = store_begin(IPC_STORE_MSG, 7);
	ipc_put_uint(chan, m->sid);
	ipc_put_uint(chan, m->qos);
	ipc_put_bool(chan, m->retain);
	ipc_put_uint(chan, to_wall(m->expires));
	ipc_put_strn(chan, MSG_TOPIC(m), m->topic_len);
	ipc_put_bin(chan, MSG_PROPS(m), m->props_len);
	ipc_put_bin(chan, MSG_PAYLOAD(m), m->payload_len);
	store_end(chan);
	m->prefs = 1;
	return 0;
}

static void
store_msg_unref(struct msg *m)
{
	if (m->prefs > 0 && --m->prefs == 0)
		m->sid = 0;	/* storaged deletes it */
}

/* A QoS 1 or 2 delivery to a stored session: queued or in flight. */
void
store_enqueue(struct session *s, struct delivery *d, const uint32_t *ids)
{
	struct ipc_chan	*chan;
	uint8_t		 i;

	if (!s->stored || d->qos == 0 || !store_on() ||
	    store_msg_ref(d->m) == -1)
		return;
	d->seq = st.next_seq++;
	chan = store_begin(IPC_STORE_QUEUE, 8);
	ipc_put_str(chan, s->id);
	ipc_put_uint(chan, d->seq);
	ipc_put_uint(chan, d->m->sid);
	ipc_put_uint(chan, d->qos);
	ipc_put_bool(chan, d->retain);
	ipc_put_uint(chan, d->state);
	ipc_put_uint(chan, d->state == DLV_FREE ? 0 : d->pid);
	ipc_put_array(chan, d->nsubids);
	for (i = 0; i < d->nsubids; i++)
		ipc_put_uint(chan, ids[i]);
	store_end(chan);
}

/* Sent (in flight with its packet id), or released (QoS 2). */
void
store_dlv_state(struct session *s, const struct delivery *d)
{
	struct ipc_chan	*chan;

	if (d->seq == 0 || !store_on())
		return;
	chan = store_begin(IPC_STORE_QSTATE, 4);
	ipc_put_str(chan, s->id);
	ipc_put_uint(chan, d->seq);
	ipc_put_uint(chan, d->state);
	ipc_put_uint(chan, d->pid);
	store_end(chan);
}

/* Acknowledged, expired or dropped. */
void
store_dequeue(struct session *s, struct delivery *d)
{
	struct ipc_chan	*chan;

	if (d->seq == 0)
		return;
	if (store_on()) {
		chan = store_begin(IPC_STORE_QDEL, 2);
		ipc_put_str(chan, s->id);
		ipc_put_uint(chan, d->seq);
		store_end(chan);
	}
	store_dlv_forget(d);
}

/*
 * The retained message of a topic: `m', or none (cleared); `old' is the
 * one it replaces.  A retained message storaged has holds a reference.
 */
void
store_retain(const char *topic, size_t len, struct msg *m, struct msg *old)
{
	struct ipc_chan	*chan;
	int		 had = old != NULL && old->prefs > 0;

	if (!store_on())
		return;
	if (m != NULL && store_msg_ref(m) == -1)
		m = NULL;
	if (m == NULL && !had)
		return;
	chan = store_begin(IPC_STORE_RETAIN, 2);
	ipc_put_strn(chan, topic, len);
	ipc_put_uint(chan, m != NULL ? m->sid : 0);
	store_end(chan);
	if (had)
		store_msg_unref(old);
}

/* Forget a delivery's place in storaged, which forgot it already. */
void
store_dlv_forget(struct delivery *d)
{
	if (d->seq == 0)
		return;
	d->seq = 0;
	store_msg_unref(d->m);
}

/* Incoming QoS 2 of a stored session: received, or released. */
void
store_rel(struct session *s, uint16_t pid, int add)
{
	struct ipc_chan	*chan;

	if (!s->stored || !store_on())
		return;
	chan = store_begin(add ? IPC_STORE_INREL : IPC_STORE_INREL_DEL, 2);
	ipc_put_str(chan, s->id);
	ipc_put_uint(chan, pid);
	store_end(chan);
}

/* Recovery. */

static struct msg *
rmsg_find(uint64_t id)
{
	size_t	 lo = 0, hi = st.nrmsgs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st.rmsgs[mid].id == id)
			return st.rmsgs[mid].m;
		if (st.rmsgs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	fatalx("recovery: message %llu is not in the stream",
	    (unsigned long long)id);
}

static struct session *
rsess_find(const struct ipc_msg *msg)
{
	struct session	*s;
	const char	*cid;
	char		 id[65536];
	size_t		 len;

	cid = ipc_get_str(msg, 0, &len);
	if (len == 0 || len >= sizeof(id))
		fatalx("recovery: %s without a client id",
		    ipc_type_name(msg->hdr.type));
	memcpy(id, cid, len);
	id[len] = '\0';
	if (strlen(id) != len || (s = session_find(id)) == NULL)
		fatalx("recovery: %s of a session that is not in the stream",
		    ipc_type_name(msg->hdr.type));
	return s;
}

static void
recover_msg(const struct ipc_msg *msg)
{
	struct store_rmsg	*r;
	struct pub		 p;
	struct msg		*m;
	size_t			 len, cap;
	uint64_t		 id = ipc_get_uint(msg, 0), qos;

	memset(&p, 0, sizeof(p));
	p.topic = (const uint8_t *)ipc_get_str(msg, 4, &len);
	p.topic_len = len;
	if (len == 0 || len > 65535 ||
	    !mqtt_topic_valid(p.topic, len, 65535))
		fatalx("recovery: message %llu has no valid topic",
		    (unsigned long long)id);
	p.props = ipc_get_bin(msg, 5, &len);
	p.props_len = len;
	p.payload = ipc_get_bin(msg, 6, &len);
	p.payload_len = len;
	if ((qos = ipc_get_uint(msg, 1)) > 2)
		fatalx("recovery: message %llu of QoS %llu",
		    (unsigned long long)id, (unsigned long long)qos);
	p.qos = qos;
	p.retain = ipc_get_bool(msg, 2);
	p.expires = from_wall(ipc_get_uint(msg, 3));
	if (ipc_get_uint(msg, 3) != 0 && p.expires == 0)
		p.expires = 1;
	if (st.nrmsgs > 0 && st.rmsgs[st.nrmsgs - 1].id >= id)
		fatalx("recovery: message ids out of order");
	if (st.nrmsgs == st.rmcap) {
		cap = st.rmcap == 0 ? 1024 : st.rmcap * 2;
		if ((r = reallocarray(st.rmsgs, cap, sizeof(*r))) == NULL)
			fatal(NULL);
		st.rmsgs = r;
		st.rmcap = cap;
	}
	m = msg_new(&p);
	m->sid = id;
	st.rmsgs[st.nrmsgs].id = id;
	st.rmsgs[st.nrmsgs++].m = m;
}

static void
recover_retain(const struct ipc_msg *msg)
{
	struct msg	*m = rmsg_find(ipc_get_uint(msg, 1));
	struct pub	 p;

	pub_view(&p, m);
	if (retain_set(&p) == 0)
		m->prefs++;
}

static void
recover_session(const struct ipc_msg *msg)
{
	struct session	*s;
	struct pub	 p;
	const char	*cid;
	char		 id[65536];
	size_t		 len;
	uint64_t	 disconnected, now = wall_ms();

	cid = ipc_get_str(msg, 0, &len);
	if (len == 0 || len >= sizeof(id))
		fatalx("recovery: a session without a client id");
	memcpy(id, cid, len);
	id[len] = '\0';
	if (strlen(id) != len || session_find(id) != NULL)
		fatalx("recovery: a session without an id, or twice");
	s = session_new(id);
	s->stored = 1;
	s->version = ipc_get_uint(msg, 1);
	if (s->version < MQTT_V31 || s->version > MQTT_V5)
		fatalx("recovery: session %s of version %u", id, s->version);
	if (ipc_get_uint(msg, 2) > UINT32_MAX || ipc_get_uint(msg, 2) == 0)
		fatalx("recovery: session %s with a bad expiry", id);
	s->expiry = ipc_get_uint(msg, 2);
	/* Connected when the engine went: it counts from now. */
	disconnected = ipc_get_uint(msg, 3);
	if (disconnected == 0 || disconnected > now)
		disconnected = now;
	if (ipc_get_bool(msg, 4)) {
		memset(&p, 0, sizeof(p));
		p.topic = (const uint8_t *)ipc_get_str(msg, 9, &len);
		p.topic_len = len;
		if (len == 0 || len > 65535 ||
		    !mqtt_topic_valid(p.topic, len, 65535))
			fatalx("recovery: session %s has a will without a "
			    "valid topic", id);
		p.props = ipc_get_bin(msg, 10, &len);
		p.props_len = len;
		p.payload = ipc_get_bin(msg, 11, &len);
		p.payload_len = len;
		if (ipc_get_uint(msg, 5) > 2 || ipc_get_uint(msg, 7) >
		    UINT32_MAX || ipc_get_uint(msg, 8) > UINT32_MAX)
			fatalx("recovery: session %s has a bad will", id);
		p.qos = ipc_get_uint(msg, 5);
		p.retain = ipc_get_bool(msg, 6);
		session_set_will(s, msg_new(&p), p.qos, p.retain,
		    ipc_get_uint(msg, 7));
		s->will_expiry = ipc_get_uint(msg, 8);
	}
	session_restore(s, now - disconnected);
}

static void
recover_sub(const struct ipc_msg *msg)
{
	struct session	*s = rsess_find(msg);
	struct sub	*sub;
	const char	*f;
	size_t		 len;
	uint64_t	 opts = ipc_get_uint(msg, 2), id = ipc_get_uint(msg, 3);
	int		 shared, existed;

	f = ipc_get_str(msg, 1, &len);
	if (len == 0 || len > 65535 || !mqtt_filter_valid((const uint8_t *)f,
	    len, 65535, &shared) || opts > 0x3f || id > MQTT_MAX_VARINT)
		fatalx("recovery: session %s has a bad subscription", s->id);
	topic_subscribe(s, (const uint8_t *)f, len, opts, id, &sub, &existed);
}

static void
recover_queue(const struct ipc_msg *msg)
{
	const msgpack_object	*a = ipc_get_obj(msg, 7);
	struct session		*s = rsess_find(msg);
	struct delivery		 d;
	uint32_t		 ids[255];
	uint64_t		 state = ipc_get_uint(msg, 5);
	uint64_t		 pid = ipc_get_uint(msg, 6);
	uint32_t		 i;

	memset(&d, 0, sizeof(d));
	d.m = rmsg_find(ipc_get_uint(msg, 2));
	d.seq = ipc_get_uint(msg, 1);
	d.qos = ipc_get_uint(msg, 3);
	d.retain = ipc_get_bool(msg, 4);
	if (d.qos < 1 || d.qos > 2 || state > DLV_RELEASED ||
	    pid > UINT16_MAX || (state == 0) != (pid == 0) ||
	    a->via.array.size > 255 || d.seq == 0)
		fatalx("recovery: session %s has a bad queue entry", s->id);
	d.state = state;
	d.pid = pid;
	for (i = 0; i < a->via.array.size; i++) {
		if (a->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER
		    || a->via.array.ptr[i].via.u64 == 0 ||
		    a->via.array.ptr[i].via.u64 > MQTT_MAX_VARINT)
			fatalx("recovery: bad subscription identifier");
		ids[i] = a->via.array.ptr[i].via.u64;
	}
	if (session_restore_delivery(s, &d, ids, a->via.array.size) == -1)
		fatalx("recovery: session %s has packet id %llu twice in "
		    "flight", s->id, (unsigned long long)pid);
	d.m->prefs++;
}

static void
recover_inrel(const struct ipc_msg *msg)
{
	struct session	*s = rsess_find(msg);
	uint64_t	 pid = ipc_get_uint(msg, 1);

	if (pid == 0 || pid > UINT16_MAX || session_rel_has(s, pid))
		fatalx("recovery: session %s has a bad QoS 2 id", s->id);
	session_rel_restore(s, pid);
}

/* The end of the stream: what nothing refers to goes; serve. */
static void
recover_end(const struct ipc_msg *msg)
{
	size_t	 i;

	st.next_msgid = ipc_get_uint(msg, 0);
	st.next_seq = ipc_get_uint(msg, 1);
	engine_stats.store_recovered = ipc_get_uint(msg, 2);
	if (st.next_msgid == 0 || st.next_seq == 0)
		fatalx("recovery: bad next ids");
	for (i = 0; i < st.nrmsgs; i++) {
		if (st.rmsgs[i].m->prefs == 0)
			st.rmsgs[i].m->sid = 0;
		msg_unref(st.rmsgs[i].m);
	}
	free(st.rmsgs);
	st.rmsgs = NULL;
	st.nrmsgs = st.rmcap = 0;
	st.recovering = 0;
	st.active = 1;
	session_restore_done();
	log_info("recovered %llu items from storaged",
	    (unsigned long long)engine_stats.store_recovered);
	engine_serve();
}

/* engine_dispatch_storaged: the recovery stream and commits. */
void
store_dispatch(struct ipc_chan *chan, const struct ipc_msg *msg)
{
	char	 why[256];

	if (msg->hdr.type == IPC_STORE_COMMIT) {
		if (st.recovering)
			fatalx("IPC_STORE_COMMIT during recovery");
		if (ipc_get_cstr(msg, 2, why, sizeof(why)) == -1)
			strlcpy(why, "(a long reason)", sizeof(why));
		store_committed(msg->hdr.id, ipc_get_bool(msg, 0),
		    ipc_get_uint(msg, 1), why);
		return;
	}
	if (!st.recovering)
		fatalx("unexpected %s from storaged",
		    ipc_type_name(msg->hdr.type));
	switch (msg->hdr.type) {
	case IPC_STORE_MSG:
		recover_msg(msg);
		break;
	case IPC_STORE_RETAIN:
		recover_retain(msg);
		break;
	case IPC_STORE_SESSION:
		recover_session(msg);
		break;
	case IPC_STORE_SUB:
		recover_sub(msg);
		break;
	case IPC_STORE_QUEUE:
		recover_queue(msg);
		break;
	case IPC_STORE_INREL:
		recover_inrel(msg);
		break;
	case IPC_STORE_CHUNK:
		ipc_send(chan, IPC_STORE_RECOVER, 0, -1);
		break;
	case IPC_STORE_END:
		recover_end(msg);
		break;
	default:
		fatalx("unexpected %s from storaged",
		    ipc_type_name(msg->hdr.type));
	}
}
