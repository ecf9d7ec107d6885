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
 * Messages and their routing.  A PUBLISH is routed straight from the
 * bytes that were read: a QoS 0 message to connected subscribers is never
 * copied into a message object.  Only what must outlive the packet (QoS 1
 * and 2, queued, retained) gets one, once, shared by reference.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* One session a message goes to, with what its subscriptions ask. */
struct target {
	struct session	*s;
	uint32_t	 subids[MQTT_MAX_SUB_IDS];
	uint8_t		 nsub;
	uint8_t		 qos;
	uint8_t		 rap;
	uint8_t		 skip;		/* its queue is full: dropped */
};

struct targets {
	struct target	*t;
	size_t		 n;
	size_t		 cap;
};

static struct targets	 targets;	/* ordinary subscriptions */
static struct targets	 gtargets;	/* shared subscriptions */
static uint64_t		 route_mark;
static int		 route_retry;	/* a queue drained: retry held */

struct msg *
msg_new(const struct pub *p)
{
	struct msg	*m;

	if ((m = malloc(sizeof(*m) + p->topic_len + 1 + p->props_len +
	    p->payload_len)) == NULL)
		fatal(NULL);
	m->refs = 1;
	m->topic_len = p->topic_len;
	m->props_len = p->props_len;
	m->payload_len = p->payload_len;
	m->qos = p->qos;
	m->retain = p->retain;
	m->expires = p->expires;
	m->origin = p->origin;
	memcpy(m->data, p->topic, p->topic_len);
	m->data[p->topic_len] = '\0';
	if (p->props_len > 0)
		memcpy(m->data + p->topic_len + 1, p->props, p->props_len);
	if (p->payload_len > 0)
		memcpy(m->data + p->topic_len + 1 + p->props_len, p->payload,
		    p->payload_len);
	return m;
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

size_t
msg_size(const struct msg *m)
{
	return sizeof(*m) + m->topic_len + 1 + m->props_len + m->payload_len;
}

int
msg_expired(const struct msg *m)
{
	return m->expires != 0 && ev_now() >= m->expires;
}

/* The message object of a routed PUBLISH, made the first time needed. */
struct msg *
pub_msg(struct pub *p)
{
	if (p->msg == NULL)
		p->msg = msg_new(p);
	return p->msg;
}

/* A struct pub over a stored message, without a reference. */
void
pub_view(struct pub *p, struct msg *m)
{
	p->topic = m->data;
	p->topic_len = m->topic_len;
	p->props = MSG_PROPS(m);
	p->props_len = m->props_len;
	p->payload = MSG_PAYLOAD(m);
	p->payload_len = m->payload_len;
	p->qos = m->qos;
	p->retain = m->retain;
	p->expires = m->expires;
	p->origin = m->origin;
	p->msg = m;
	p->encoded = 0;
}

/* A struct pub over a stored message; it holds a reference. */
void
pub_from_msg(struct pub *p, struct msg *m)
{
	pub_view(p, m);
	msg_ref(m);
}

static struct target *
target_add(struct targets *ts, struct session *s)
{
	struct target	*t;

	if (ts->n == ts->cap) {
		ts->cap = ts->cap == 0 ? 64 : ts->cap * 2;
		if ((t = reallocarray(ts->t, ts->cap, sizeof(*t))) == NULL)
			fatal(NULL);
		ts->t = t;
	}
	t = &ts->t[ts->n++];
	t->s = s;
	t->nsub = 0;
	t->qos = 0;
	t->rap = 0;
	t->skip = 0;
	return t;
}

static void
target_merge(struct target *t, const struct sub *sub, uint8_t qos)
{
	if (qos > t->qos)
		t->qos = qos;
	if (sub->opts & SUBOPT_RAP)
		t->rap = 1;
	if (sub->id != 0 && t->nsub < MQTT_MAX_SUB_IDS)
		t->subids[t->nsub++] = sub->id;
}

/*
 * An ordinary subscription matched.  Overlapping subscriptions of one
 * session make one delivery, at the highest QoS, with every subscription
 * identifier.
 */
static void
route_sub(struct sub *sub, void *arg)
{
	struct pub	*p = arg;
	struct session	*s = sub->sess;
	uint8_t		 qos = SUBOPT_QOS(sub->opts);

	if ((sub->opts & SUBOPT_NO_LOCAL) && s->serial == p->origin)
		return;
	if (p->qos < qos)
		qos = p->qos;
	if (s->mark != route_mark) {
		s->mark = route_mark;
		s->slot = targets.n;
		target_add(&targets, s);
	}
	target_merge(&targets.t[s->slot], sub, qos);
}

/* A shared group matched: the next member that can take it, in turn. */
static void
route_group(struct sgroup *g, void *arg)
{
	struct pub	*p = arg;
	struct sub	*pick = NULL;
	size_t		 size;
	uint32_t	 i, k;
	uint8_t		 qos;

	size = sizeof(struct msg) + p->topic_len + 1 + p->props_len +
	    p->payload_len;
	for (i = 0; i < g->n; i++) {
		k = (g->next + i) % g->n;
		qos = SUBOPT_QOS(g->members[k]->opts);
		if (p->qos < qos)
			qos = p->qos;
		if (session_can_take(g->members[k]->sess, qos, size)) {
			pick = g->members[k];
			break;
		}
	}
	if (pick == NULL)
		k = g->next % g->n;	/* nobody can: its queue counts it */
	pick = g->members[k];
	g->next = (k + 1) % g->n;
	qos = SUBOPT_QOS(pick->opts);
	if (p->qos < qos)
		qos = p->qos;
	target_merge(target_add(&gtargets, pick->sess), pick, qos);
}

/* A session's queue or window got room: held messages may go now. */
void
route_drained(void)
{
	route_retry = 1;
}

int
route_retry_due(void)
{
	int	 r = route_retry;

	route_retry = 0;
	return r;
}

/*
 * Route a message to every matching subscription.  A QoS 1 or 2 message
 * that a session cannot take now (its queue is full) is, as `how' allows:
 *  - held (ROUTE_HOLD): if that session is connected and so will drain,
 *    nothing is delivered and ROUTE_HELD returned; the publisher waits,
 *    unacknowledged, and the message is routed again later;
 *  - refused (ROUTE_REFUSE): nothing is delivered, ROUTE_REFUSED returned
 *    (an MQTT 5 publisher is told 0x97);
 *  - else dropped for that session alone, and counted.
 * Returns the number of sessions the message went to.
 */
int
route_publish(struct pub *p, int how)
{
	struct target	*t;
	size_t		 i, size;
	int		 n = 0, held = 0, refused = 0;

	route_mark++;
	targets.n = 0;
	gtargets.n = 0;
	topic_match(p->topic, p->topic_len, route_sub, route_group, p);

	size = sizeof(struct msg) + p->topic_len + 1 + p->props_len +
	    p->payload_len;
	for (i = 0; i < targets.n + gtargets.n; i++) {
		t = i < targets.n ? &targets.t[i] : &gtargets.t[i - targets.n];
		if (t->qos == 0 || session_can_take(t->s, t->qos, size))
			continue;
		if ((how & ROUTE_HOLD) && t->s->conn != NULL &&
		    t->s->conn->state == CONN_ACTIVE)
			held = 1;
		else if (how & ROUTE_REFUSE)
			refused = 1;
		else
			t->skip = 1;
	}
	if (held)
		return ROUTE_HELD;
	if (refused) {
		engine_stats.drop_queue_full++;
		return ROUTE_REFUSED;
	}
	for (i = 0; i < targets.n + gtargets.n; i++) {
		t = i < targets.n ? &targets.t[i] : &gtargets.t[i - targets.n];
		if (t->skip) {
			engine_stats.drop_queue_full++;
			t->s->drops++;
			continue;
		}
		session_deliver(t->s, p, t->qos, t->rap ? p->retain : 0,
		    t->subids, t->nsub);
		n++;
	}
	return n;
}

/*
 * Write a PUBLISH to a connection, encoded for its protocol version: the
 * remaining message expiry, the subscription identifiers, the properties
 * as published.  Returns -1 if it was not sent: expired, or larger than
 * the client's maximum packet size, which drops it as MQTT 5 says.  A
 * resend (`dup') goes even if it expired meanwhile: its delivery began.
 */
int
publish_encode(struct conn *c, struct pub *p, uint8_t qos,
    uint16_t pid, int retain, int dup, const uint32_t *subids, uint8_t nsub)
{
	uint8_t		*w, *start;
	uint32_t	 plen = 0, rl, left = 0;
	size_t		 total, copy;
	struct msg	*m = NULL;
	uint64_t	 now;
	int		 v5 = c->version == MQTT_V5;
	uint8_t		 i;

	if (v5) {
		if (p->expires != 0) {
			now = ev_now();
			if (now >= p->expires && !dup) {
				engine_stats.drop_expired++;
				return -1;
			}
			left = now >= p->expires ? 1 :
			    (p->expires - now + 999) / 1000;
			plen += 5;
		}
		for (i = 0; i < nsub; i++)
			plen += 1 + mqtt_varint_size(subids[i]);
		plen += p->props_len;
	}
	rl = 2 + p->topic_len + (qos > 0 ? 2 : 0) + p->payload_len;
	if (v5)
		rl += mqtt_varint_size(plen) + plen;
	total = 1 + mqtt_varint_size(rl) + rl;
	if (rl > MQTT_MAX_REMAINING || total > c->max_packet_out) {
		engine_stats.drop_too_large++;
		return -1;
	}
	/*
	 * A large payload is shared, not copied for every subscriber: once
	 * it is stored anyway, or from the second subscriber on (making a
	 * shared copy for one reader would only cost a copy more).
	 */
	copy = total;
	if (p->payload_len >= OREF_MIN && (p->msg != NULL || p->encoded > 0)) {
		m = pub_msg(p);
		copy -= p->payload_len;
	}
	if ((start = conn_reserve(c, copy)) == NULL)
		return -1;
	w = start;
	*w++ = MQTT_PUBLISH << 4 | (dup ? 0x08 : 0) | qos << 1 |
	    (retain ? 1 : 0);
	w += mqtt_varint_encode(w, rl);
	w += mqtt_put_u16(w, p->topic_len);
	memcpy(w, p->topic, p->topic_len);
	w += p->topic_len;
	if (qos > 0)
		w += mqtt_put_u16(w, pid);
	if (v5) {
		w += mqtt_varint_encode(w, plen);
		if (p->expires != 0) {
			*w++ = PROP_MESSAGE_EXPIRY;
			w += mqtt_put_u32(w, left);
		}
		for (i = 0; i < nsub; i++) {
			*w++ = PROP_SUBSCRIPTION_ID;
			w += mqtt_varint_encode(w, subids[i]);
		}
		if (p->props_len > 0)
			memcpy(w, p->props, p->props_len);
		w += p->props_len;
	}
	if (m != NULL) {
		conn_commit(c, w - start);
		if (conn_send_ref(c, m, MSG_PAYLOAD(m), m->payload_len) == -1)
			conn_close(c, "out of memory");
	} else {
		if (p->payload_len > 0)
			memcpy(w, p->payload, p->payload_len);
		w += p->payload_len;
		conn_commit(c, w - start);
	}
	p->encoded++;
	engine_stats.msgs_out++;
	return 0;
}
