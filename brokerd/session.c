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
 * Sessions: found by client identifier, they outlive their connection
 * for as long as their expiry says.  A session holds its subscriptions,
 * the QoS 1 and 2 messages in flight to its client (in order of sending)
 * and those waiting for the window or for the client to come back, the
 * packet identifiers of QoS 2 messages received and not yet released, and
 * the will of its connection.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "compat.h"

static struct session_tree	 sessions = RB_INITIALIZER(&sessions);
static uint64_t			 session_serial;
static int			 session_room;	/* a queue got room */
static struct session		**restored;	/* timers set at the end */
static size_t			 nrestored, restored_cap;

static int	session_cmp(struct session *, struct session *);
static void	session_timer(void *);
static void	session_schedule(struct session *);
static void	flight_finish(struct session *, struct delivery *);
static void	flight_trim(struct session *);
static void	flight_done(struct session *, struct delivery *);

RB_GENERATE_STATIC(session_tree, session, entry, session_cmp);

static int
session_cmp(struct session *a, struct session *b)
{
	return strcmp(a->id, b->id);
}

struct session *
session_find(const char *id)
{
	struct session	 key;

	memset(&key, 0, sizeof(key));
	key.id = (char *)(uintptr_t)id;
	return RB_FIND(session_tree, &sessions, &key);
}

/* The session after the one named `id' (the first if NULL), for listings. */
struct session *
session_after(const char *id)
{
	struct session	 key, *s;

	if (id == NULL)
		return RB_MIN(session_tree, &sessions);
	memset(&key, 0, sizeof(key));
	key.id = (char *)(uintptr_t)id;
	if ((s = RB_NFIND(session_tree, &sessions, &key)) != NULL &&
	    strcmp(s->id, id) == 0)
		s = RB_NEXT(session_tree, &sessions, s);
	return s;
}

/* Every session ends (for tests, and a clean exit). */
void
session_free_all(void)
{
	struct session	*s;

	while ((s = RB_MIN(session_tree, &sessions)) != NULL) {
		if (s->conn != NULL)
			s->conn->sess = NULL;
		session_free(s);
	}
}

struct session *
session_new(const char *id)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->id = strdup(id)) == NULL)
		fatal(NULL);
	s->serial = ++session_serial;
	s->next_pid = 1;
	s->expiry = 0;
	RB_INIT(&s->subs);
	TAILQ_INIT(&s->replay);
	evtimer_set(&s->timer, session_timer, s);
	RB_INSERT(session_tree, &sessions, s);
	engine_stats.sessions++;
	return s;
}

/* The ring holds a power of two of deliveries. */
static struct delivery *
dring_at(const struct dring *r, uint32_t i)
{
	return &r->d[(r->head + i) & (r->cap - 1)];
}

static struct delivery *
dring_push(struct dring *r)
{
	struct delivery	*d;
	uint32_t	 i, cap;

	if (r->count == r->cap) {
		cap = r->cap == 0 ? 8 : r->cap * 2;
		if ((d = calloc(cap, sizeof(*d))) == NULL)
			fatal(NULL);
		for (i = 0; i < r->count; i++)
			d[i] = *dring_at(r, i);
		free(r->d);
		r->d = d;
		r->cap = cap;
		r->head = 0;
	}
	d = dring_at(r, r->count++);
	memset(d, 0, sizeof(*d));
	return d;
}

static void
dring_pop(struct dring *r)
{
	r->head = (r->head + 1) & (r->cap - 1);
	if (--r->count == 0) {
		/* An idle session keeps no ring. */
		free(r->d);
		r->d = NULL;
		r->cap = 0;
		r->head = 0;
	}
}

static void
dlv_subids(struct delivery *d, const uint32_t *subids, uint8_t n)
{
	d->nsubids = n;
	if (n == 1)
		d->subid = subids[0];
	else if (n > 1) {
		if ((d->subids = reallocarray(NULL, n, sizeof(*subids))) ==
		    NULL)
			fatal(NULL);
		memcpy(d->subids, subids, n * sizeof(*subids));
	}
}

static const uint32_t *
dlv_ids(const struct delivery *d)
{
	return d->nsubids == 1 ? &d->subid : d->subids;
}

static void
dlv_release(struct delivery *d)
{
	msg_unref(d->m);
	free(d->subids);
	d->m = NULL;
	d->subids = NULL;
}

static int
pid_in_flight(const struct session *s, uint16_t pid)
{
	const struct delivery	*d;
	uint32_t		 i;

	for (i = 0; i < s->inflight.count; i++) {
		d = dring_at(&s->inflight, i);
		if (d->state != DLV_FREE && d->pid == pid)
			return 1;
	}
	return 0;
}

/*
 * The next packet identifier not in flight to this client.  They are
 * handed out in turn, so the one after the last is nearly always free;
 * looking through the window (max inflight, like every acknowledgement
 * does) costs less than a bitmap of 8 KiB per session.
 */
static uint16_t
pid_alloc(struct session *s)
{
	uint16_t	 pid;

	do {
		pid = s->next_pid++;
		if (s->next_pid == 0)
			s->next_pid = 1;
	} while (pid_in_flight(s, pid));
	return pid;
}

/*
 * Did a queue or a window get room, or a subscription go, since the last
 * call?  Then a message held for a full queue may go now (client.c).
 */
int
session_room_take(void)
{
	int	 r = session_room;

	session_room = 0;
	return r;
}

/* A connected client that can be sent to (and so will drain). */
int
session_online(const struct session *s)
{
	return s->conn != NULL && s->conn->state == CONN_ACTIVE;
}

/* Returns 0, or -1 if `s' had no such subscription. */
int
session_unsubscribe(struct session *s, const uint8_t *f, size_t len)
{
	if (topic_unsubscribe(s, f, len) == -1)
		return -1;
	store_unsub(s, f, len);
	session_room = 1;
	return 0;
}

/* Forget everything the session holds: clean start, or its end. */
void
session_clear(struct session *s)
{
	struct sub	*sub;
	struct delivery	*d;

	while ((sub = RB_MIN(sub_tree, &s->subs)) != NULL) {
		topic_remove_sub(sub);
		session_room = 1;
	}
	while (s->inflight.count > 0) {
		d = dring_at(&s->inflight, 0);
		if (d->state != DLV_FREE) {
			engine_stats.inflight--;
			dlv_release(d);
		}
		dring_pop(&s->inflight);
	}
	while (s->queue.count > 0) {
		d = dring_at(&s->queue, 0);
		engine_stats.queued--;
		engine_stats.queued_bytes -= msg_size(d->m);
		dlv_release(d);
		dring_pop(&s->queue);
	}
	s->nflight = 0;
	s->flight_bytes = 0;
	s->queue_bytes = 0;
	free(s->rel);
	s->rel = NULL;
	s->nrel = s->relcap = 0;
	msg_unref(s->will);
	s->will = NULL;
	s->will_at = 0;
}

void
session_free(struct session *s)
{
	session_room = 1;
	session_clear(s);
	rights_unref(s->rights);
	if (s->identified)
		engine_auth_end(0, s->id, s->lid, s->has_user, s->user, s->ulen);
	free(s->user);
	evtimer_del(&s->timer);
	RB_REMOVE(session_tree, &sessions, s);
	engine_stats.sessions--;
	free(s->id);
	free(s);
}

/* The session ends for good: storaged forgets it too. */
void
session_end(struct session *s)
{
	store_session_end(s);
	session_free(s);
}

/* storaged forgot the session: so do its deliveries (store.c). */
void
session_unstore(struct session *s)
{
	struct delivery	*d;
	uint32_t	 i;

	for (i = 0; i < s->inflight.count; i++) {
		d = dring_at(&s->inflight, i);
		if (d->state != DLV_FREE)
			store_dlv_forget(d);
	}
	for (i = 0; i < s->queue.count; i++)
		store_dlv_forget(dring_at(&s->queue, i));
}

static uint32_t
session_window(const struct session *s)
{
	uint32_t	 w = econf.max_inflight;

	if (s->conn->recv_max_out < w)
		w = s->conn->recv_max_out;
	return w;
}

static int
session_window_open(const struct session *s)
{
	return session_online(s) && s->nflight < session_window(s) &&
	    (econf.max_inflight_bytes == 0 ||
	    s->flight_bytes < econf.max_inflight_bytes);
}

/* Would a message of `size' bytes at `qos' be sent or queued now? */
int
session_can_take(const struct session *s, uint8_t qos, size_t size)
{
	if (qos == 0)
		return 1;
	if (session_window_open(s) && s->queue.count == 0)
		return 1;
	if (s->queue.count >= econf.max_queued ||
	    s->queue_bytes + size > econf.max_queued_bytes)
		return 0;
	if (engine_stats.queued_bytes + size > econf.max_queued_total)
		return 0;
	return 1;
}

/*
 * Put `d' (a queue entry or a fresh one) in flight and send it.  A message
 * the client cannot take (larger than its maximum packet size) counts as
 * sent, as MQTT 5 says.
 */
static void
flight_send(struct session *s, const struct delivery *from)
{
	struct delivery	*d;
	struct pub	 p;
	uint16_t	 pid;

	pid = pid_alloc(s);
	d = dring_push(&s->inflight);
	*d = *from;
	d->pid = pid;
	d->state = DLV_PUBLISHED;
	if (d->seq == 0)
		store_enqueue(s, d, dlv_ids(d));
	else
		store_dlv_state(s, d);
	s->nflight++;
	s->flight_bytes += msg_size(d->m);
	engine_stats.inflight++;
	if (store_send_after(s, d))
		return;		/* session_send_waited */
	pub_view(&p, d->m);
	if (packet_publish(s->conn, &p, d->qos, d->pid, d->retain, 0,
	    dlv_ids(d), d->nsubids) == -1)
		flight_done(s, d);
}

/*
 * storaged committed the state of a QoS 2 message in flight to session
 * `id': its PUBLISH or PUBREL may go now, if the session and its client
 * are still there.
 */
void
session_send_waited(const char *id, uint64_t serial, uint16_t pid, int type)
{
	struct session	*s;
	struct delivery	*d;
	struct pub	 p;
	uint32_t	 i;

	if ((s = session_find(id)) == NULL || s->serial != serial)
		return;
	for (i = 0; i < s->inflight.count; i++) {
		d = dring_at(&s->inflight, i);
		if (d->state != DLV_FREE && d->pid == pid && d->waiting)
			break;
	}
	if (i == s->inflight.count)
		return;
	d->waiting = 0;
	if (!session_online(s))
		return;		/* session_resend, when it is back */
	if (type == MQTT_PUBREL && d->state == DLV_RELEASED)
		packet_ack(s->conn, MQTT_PUBREL, pid, RC_SUCCESS);
	else if (type == MQTT_PUBLISH && d->state == DLV_PUBLISHED) {
		pub_view(&p, d->m);
		if (packet_publish(s->conn, &p, d->qos, d->pid, d->retain, 0,
		    dlv_ids(d), d->nsubids) == -1)
			flight_done(s, d);
	}
}

/*
 * Deliver a routed message at `qos' with the retain flag `retain'.  QoS 0
 * goes to a connected client at once or nowhere; QoS 1 and 2 go in flight
 * if the window is open and nothing waits before them, else to the
 * queue.  Returns -1 if the message was dropped (counted).
 */
int
session_deliver(struct session *s, struct pub *p, uint8_t qos,
    uint8_t retain, const uint32_t *subids, uint8_t nsub)
{
	struct conn	*c = s->conn;
	struct delivery	 nd, *d;
	struct msg	*m;
	size_t		 size;

	if (qos == 0) {
		if (!session_online(s))
			return -1;
		if (conn_outq(c) > econf.max_client_buffer &&
		    conn_drain(c) > econf.max_client_buffer) {
			engine_stats.drop_slow++;
			s->drops++;
			return -1;
		}
		return packet_publish(c, p, 0, 0, retain, 0, subids, nsub);
	}
	m = pub_msg(p);
	if (session_window_open(s) && s->queue.count == 0) {
		memset(&nd, 0, sizeof(nd));
		nd.m = msg_ref(m);
		nd.qos = qos;
		nd.retain = retain;
		dlv_subids(&nd, subids, nsub);
		flight_send(s, &nd);
		return 0;
	}
	size = msg_size(m);
	if (s->queue.count >= econf.max_queued ||
	    s->queue_bytes + size > econf.max_queued_bytes) {
		engine_stats.drop_queue_full++;
		s->drops++;
		return -1;
	}
	if (engine_stats.queued_bytes + size > econf.max_queued_total) {
		engine_stats.drop_total_full++;
		s->drops++;
		return -1;
	}
	d = dring_push(&s->queue);
	d->m = msg_ref(m);
	d->qos = qos;
	d->retain = retain;
	dlv_subids(d, subids, nsub);
	store_enqueue(s, d, subids);
	s->queue_bytes += size;
	engine_stats.queued++;
	engine_stats.queued_bytes += size;
	return 0;
}

/* Move queued messages into flight while the window is open. */
void
session_pump(struct session *s)
{
	struct delivery	 d;
	size_t		 size;

	while (s->queue.count > 0 && session_window_open(s)) {
		session_room = 1;
		d = *dring_at(&s->queue, 0);
		dring_pop(&s->queue);
		size = msg_size(d.m);
		s->queue_bytes -= size;
		engine_stats.queued--;
		engine_stats.queued_bytes -= size;
		if (msg_expired(d.m)) {
			engine_stats.drop_expired++;
			store_dequeue(s, &d);
			dlv_release(&d);
			continue;
		}
		flight_send(s, &d);
	}
}

/*
 * A session resumed: send again what was in flight, with DUP set, and the
 * PUBRELs of released QoS 2 messages, then what waits in the queue.
 */
void
session_resend(struct session *s)
{
	struct delivery	*d;
	struct pub	 p;
	uint32_t	 i;

	for (i = 0; i < s->inflight.count; i++) {
		d = dring_at(&s->inflight, i);
		if (d->waiting)
			continue;	/* session_send_waited */
		if (d->state == DLV_PUBLISHED) {
			pub_view(&p, d->m);
			/* Too large for the client now: it counts as sent. */
			if (packet_publish(s->conn, &p, d->qos, d->pid,
			    d->retain, 1, dlv_ids(d), d->nsubids) == -1) {
				/* The ring stays put until the loop ends. */
				flight_finish(s, d);
				continue;
			}
		} else if (d->state == DLV_RELEASED)
			packet_ack(s->conn, MQTT_PUBREL, d->pid,
			    RC_SUCCESS);
	}
	flight_trim(s);
	session_pump(s);
}

/* A message in flight is done with: acknowledged, or dropped. */
static void
flight_finish(struct session *s, struct delivery *d)
{
	session_room = 1;
	s->nflight--;
	s->flight_bytes -= msg_size(d->m);
	engine_stats.inflight--;
	store_dequeue(s, d);
	dlv_release(d);
	d->state = DLV_FREE;
}

/* Drop the finished entries at the head of the ring. */
static void
flight_trim(struct session *s)
{
	while (s->inflight.count > 0 &&
	    dring_at(&s->inflight, 0)->state == DLV_FREE)
		dring_pop(&s->inflight);
}

static void
flight_done(struct session *s, struct delivery *d)
{
	flight_finish(s, d);
	flight_trim(s);
}

/*
 * PUBACK, PUBREC or PUBCOMP from the client.  Returns -1 if no message is
 * in flight with that identifier in the state the acknowledgement needs.
 */
int
session_ack(struct session *s, uint8_t type, uint16_t pid, uint8_t reason)
{
	struct delivery	*d = NULL;
	uint32_t	 i;

	for (i = 0; i < s->inflight.count; i++) {
		d = dring_at(&s->inflight, i);
		if (d->state != DLV_FREE && d->pid == pid)
			break;
	}
	if (i == s->inflight.count)
		return -1;
	switch (type) {
	case MQTT_PUBACK:
		if (d->qos != 1)
			return -1;
		flight_done(s, d);
		break;
	case MQTT_PUBREC:
		if (d->qos != 2)
			return -1;
		if (d->state == DLV_PUBLISHED && reason >= 0x80) {
			flight_done(s, d);
			break;
		}
		d->state = DLV_RELEASED;
		store_dlv_state(s, d);
		if (!store_send_after(s, d))
			packet_ack(s->conn, MQTT_PUBREL, pid, RC_SUCCESS);
		return 0;
	case MQTT_PUBCOMP:
		if (d->state != DLV_RELEASED)
			return -1;
		flight_done(s, d);
		break;
	default:
		return -1;
	}
	session_pump(s);
	return 0;
}

/* Incoming QoS 2: identifiers received and not yet released. */
int
session_rel_has(const struct session *s, uint16_t pid)
{
	uint32_t	 i;

	for (i = 0; i < s->nrel; i++)
		if (s->rel[i] == pid)
			return 1;
	return 0;
}

static void
rel_push(struct session *s, uint16_t pid)
{
	uint16_t	*r;

	if (s->nrel == s->relcap) {
		s->relcap = s->relcap == 0 ? 4 : s->relcap * 2;
		if ((r = reallocarray(s->rel, s->relcap, sizeof(*r))) == NULL)
			fatal(NULL);
		s->rel = r;
	}
	s->rel[s->nrel++] = pid;
}

/*
 * A QoS 2 id to keep until PUBREL.  The caller checked the client's
 * limit (client_inflight_full()); an id is kept once, so there are at
 * most UINT16_MAX.
 */
void
session_rel_add(struct session *s, uint16_t pid)
{
	if (session_rel_has(s, pid))
		return;
	if (s->nrel >= UINT16_MAX)
		fatalx("session %s: more QoS 2 ids than there are", s->id);
	rel_push(s, pid);
}

/* Recovery: the limit may have been lower when it was written. */
void
session_rel_restore(struct session *s, uint16_t pid)
{
	if (s->nrel == UINT16_MAX)
		fatalx("session %s: too many QoS 2 ids to restore", s->id);
	rel_push(s, pid);
}

int
session_rel_del(struct session *s, uint16_t pid)
{
	uint32_t	 i;

	for (i = 0; i < s->nrel; i++)
		if (s->rel[i] == pid) {
			store_rel(s, pid, 0);
			s->rel[i] = s->rel[--s->nrel];
			if (s->nrel == 0) {
				free(s->rel);
				s->rel = NULL;
				s->relcap = 0;
			}
			return 0;
		}
	return -1;
}

void
session_set_will(struct session *s, struct msg *will, uint8_t qos,
    uint8_t retain, uint32_t delay)
{
	msg_unref(s->will);
	s->will = will;
	s->will_qos = qos;
	s->will_retain = retain;
	s->will_delay = delay;
	s->will_at = 0;
}

/* Publish the will now, on the client's behalf. */
void
session_publish_will(struct session *s)
{
	struct pub	 p;
	int		 reserved;

	if (s->will == NULL)
		return;
	pub_from_msg(&p, s->will);
	/*
	 * The client may no longer have the right to publish there, and
	 * never had it for $SYS or $share/.
	 */
	reserved = client_topic_reserved(p.topic, p.topic_len);
	if (reserved ||
	    !rights_topic(s->rights, p.topic, p.topic_len, ACLM_WRITE)) {
		if (reserved)
			engine_stats.publish_reserved++;
		else
			engine_stats.acl_will++;
		msg_unref(p.msg);
		msg_unref(s->will);
		s->will = NULL;
		s->will_at = 0;
		return;
	}
	p.origin = 0;
	if (s->will_expiry != 0)
		p.expires = ev_now() + (uint64_t)s->will_expiry * 1000;
	route_publish(&p, 0);
	if (p.retain)
		retain_set(&p);
	msg_unref(p.msg);
	msg_unref(s->will);
	s->will = NULL;
	s->will_at = 0;
	engine_stats.wills++;
	/* Published once: not again after a restart. */
	if (s->stored)
		store_session(s);
}

/*
 * A compiled ACL from authd, checked (a peer daemon that sends a bad one
 * has broken the protocol) and kept once however many sessions share it.
 */
struct rights *
rights_new(const void *data, size_t len)
{
	struct rights	*r;
	const char	*why;

	if ((r = malloc(sizeof(*r) + len)) == NULL)
		fatal(NULL);
	memcpy(r->data, data, len);
	r->len = len;
	r->refs = 1;
	if (aclmatch_decode(&r->m, r->data, len, &why) == -1)
		fatalx("a compiled ACL from authd: %s", why);
	return r;
}

void
rights_unref(struct rights *r)
{
	if (r != NULL && --r->refs == 0)
		free(r);
}

/* The session's rights from now on (the reference is the session's). */
void
session_set_rights(struct session *s, struct rights *r)
{
	rights_unref(s->rights);
	s->rights = r;
}

int
session_identity_is(const struct session *s, uint32_t lid, int has_user,
    const char *user, size_t ulen)
{
	return s->identified && s->lid == lid && s->has_user == has_user &&
	    (!has_user || (s->ulen == ulen && memcmp(s->user, user,
	    ulen) == 0));
}

/*
 * Who the session is now, as authd was asked; authd hears of the identity
 * it replaces, so that it forgets it.
 */
void
session_set_identity(struct session *s, uint32_t lid, int has_user,
    const char *user, size_t ulen)
{
	if (session_identity_is(s, lid, has_user, user, ulen))
		return;
	if (s->identified)
		engine_auth_end(0, s->id, s->lid, s->has_user, s->user, s->ulen);
	free(s->user);
	s->user = NULL;
	s->ulen = 0;
	if (has_user && (s->user = malloc(ulen > 0 ? ulen : 1)) == NULL)
		fatal(NULL);
	if (has_user && ulen > 0)
		memcpy(s->user, user, ulen);
	s->ulen = has_user ? ulen : 0;
	s->has_user = has_user;
	s->lid = lid;
	s->identified = 1;
}

/* A connection takes the session: a pending will of the last one goes. */
void
session_attach(struct session *s, struct conn *c)
{
	s->conn = c;
	c->sess = s;
	s->version = c->version;
	msg_unref(s->will);
	s->will = NULL;
	s->will_at = 0;
	s->expires_at = 0;
	evtimer_del(&s->timer);
}

/*
 * The connection is gone.  Unless it said a normal goodbye its will is
 * published, now or after its delay (but no later than the end of the
 * session).  A session with expiry 0 ends here.
 */
void
session_detach(struct session *s, int graceful)
{
	uint64_t	 delay;

	s->conn = NULL;
	if (s->will != NULL && graceful) {
		msg_unref(s->will);
		s->will = NULL;
	} else if (s->will != NULL) {
		if (s->will_delay == 0 || s->expiry == 0)
			session_publish_will(s);
		else {
			delay = s->will_delay;
			if (s->expiry != EXPIRY_NEVER && s->expiry < delay)
				delay = s->expiry;
			s->will_at = ev_now() + delay * 1000;
		}
	}
	if (s->expiry == 0) {
		session_end(s);
		return;
	}
	if (s->expiry != EXPIRY_NEVER)
		s->expires_at = ev_now() + (uint64_t)s->expiry * 1000;
	store_session(s);
	session_schedule(s);
}

static void
session_schedule(struct session *s)
{
	uint64_t	 when = 0;

	if (s->will_at != 0)
		when = s->will_at;
	if (s->expires_at != 0 && (when == 0 || s->expires_at < when))
		when = s->expires_at;
	if (when == 0)
		evtimer_del(&s->timer);
	else
		evtimer_at(&s->timer, when);
}

static void
session_timer(void *arg)
{
	struct session	*s = arg;
	uint64_t	 now = ev_now();

	if (s->will_at != 0 && now >= s->will_at)
		session_publish_will(s);
	if (s->expires_at != 0 && now >= s->expires_at) {
		engine_stats.sessions_expired++;
		sys_event_expired(s);
		/* The session ends: a will still waiting goes now. */
		session_publish_will(s);
		session_end(s);
		return;
	}
	session_schedule(s);
}

/*
 * Recovery (store.c): a session storaged kept, disconnected `ago' ms
 * ago.  Its expiry and will count from then; its timer is set when the
 * whole state is back (session_restore_done), so that it cannot end
 * while the rest of its state is still coming.
 */
void
session_restore(struct session *s, uint64_t ago)
{
	struct session	**r;
	uint64_t	 now = ev_now(), delay, cap;

	if (s->expiry != EXPIRY_NEVER)
		s->expires_at = now + ((uint64_t)s->expiry * 1000 > ago ?
		    (uint64_t)s->expiry * 1000 - ago : 0);
	if (s->will != NULL) {
		delay = (uint64_t)s->will_delay * 1000;
		if (s->expiry != EXPIRY_NEVER &&
		    (uint64_t)s->expiry * 1000 < delay)
			delay = (uint64_t)s->expiry * 1000;
		s->will_at = now + (delay > ago ? delay - ago : 0);
	}
	if (nrestored == restored_cap) {
		cap = restored_cap == 0 ? 64 : restored_cap * 2;
		if ((r = reallocarray(restored, cap, sizeof(*r))) == NULL)
			fatal(NULL);
		restored = r;
		restored_cap = cap;
	}
	restored[nrestored++] = s;
}

void
session_restore_done(void)
{
	size_t	 i;

	for (i = 0; i < nrestored; i++)
		session_schedule(restored[i]);
	free(restored);
	restored = NULL;
	nrestored = restored_cap = 0;
}

/*
 * Recovery: a queue entry or a message in flight, in the order storaged
 * kept them.  Returns -1 if its packet id is in flight already.
 */
int
session_restore_delivery(struct session *s, const struct delivery *from,
    const uint32_t *ids, uint8_t n)
{
	struct delivery	*d;
	size_t		 size = msg_size(from->m);

	if (from->state == DLV_FREE) {
		d = dring_push(&s->queue);
		*d = *from;
		d->m = msg_ref(from->m);
		dlv_subids(d, ids, n);
		s->queue_bytes += size;
		engine_stats.queued++;
		engine_stats.queued_bytes += size;
		return 0;
	}
	if (pid_in_flight(s, from->pid))
		return -1;
	d = dring_push(&s->inflight);
	*d = *from;
	d->m = msg_ref(from->m);
	dlv_subids(d, ids, n);
	s->nflight++;
	s->flight_bytes += size;
	engine_stats.inflight++;
	return 0;
}
