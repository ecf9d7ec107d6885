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
 * Routing: a PUBLISH (or a will) to every session whose subscriptions
 * match its topic.  It is routed straight from the bytes that were read:
 * a QoS 0 message to connected subscribers is never copied into a
 * message object.  Overlapping subscriptions of one session make one
 * delivery; a shared group gives it to one member.  What a full queue
 * does to a QoS 1 or 2 message is the caller's choice (route_publish()).
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
static struct session	**holders;	/* route_holders() */
static size_t		 nholders_cap;

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
		/* A wildcard never brings a topic the client may not read. */
		if (!rights_topic(s->rights, p->topic, p->topic_len,
		    ACLM_READ)) {
			s->slot = UINT32_MAX;
			engine_stats.acl_read++;
			return;
		}
		s->slot = targets.n;
		target_add(&targets, s);
	} else if (s->slot == UINT32_MAX)
		return;
	target_merge(&targets.t[s->slot], sub, qos);
}

/* A shared group matched: the next member that can take it, in turn. */
static void
route_group(struct sgroup *g, void *arg)
{
	struct pub	*p = arg;
	struct sub	*pick = NULL;
	size_t		 size;
	uint32_t	 i, k, first;
	uint8_t		 qos;

	size = pub_size(p);
	for (i = 0, first = UINT32_MAX; i < g->n; i++) {
		k = (g->next + i) % g->n;
		/* Only members that may read it. */
		if (!rights_topic(g->members[k]->sess->rights, p->topic,
		    p->topic_len, ACLM_READ))
			continue;
		if (first == UINT32_MAX)
			first = k;
		qos = SUBOPT_QOS(g->members[k]->opts);
		if (p->qos < qos)
			qos = p->qos;
		if (session_can_take(g->members[k]->sess, qos, size)) {
			pick = g->members[k];
			break;
		}
	}
	if (first == UINT32_MAX) {
		engine_stats.acl_read++;
		return;
	}
	if (pick == NULL)
		k = first;	/* nobody can take it: its queue counts it */
	pick = g->members[k];
	g->next = (k + 1) % g->n;
	qos = SUBOPT_QOS(pick->opts);
	if (p->qos < qos)
		qos = p->qos;
	target_merge(target_add(&gtargets, pick->sess), pick, qos);
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
static void
route_targets(struct pub *p)
{
	route_mark++;
	targets.n = 0;
	gtargets.n = 0;
	topic_match(p->topic, p->topic_len, route_sub, route_group, p);
}

int
route_publish(struct pub *p, int how)
{
	struct target	*t;
	size_t		 i, size;
	int		 n = 0, held = 0, refused = 0;

	route_targets(p);
	size = pub_size(p);
	for (i = 0; i < targets.n + gtargets.n; i++) {
		t = i < targets.n ? &targets.t[i] : &gtargets.t[i - targets.n];
		if (t->qos == 0 || session_can_take(t->s, t->qos, size))
			continue;
		if ((how & ROUTE_HOLD) && session_online(t->s))
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
 * The connected sessions whose full queues make route_publish() hold
 * `p', in *out until the next call (a session may be there twice, once
 * for a shared subscription).  Returns how many.
 */
size_t
route_holders(struct pub *p, struct session ***out)
{
	struct target	*t;
	struct session	**h;
	size_t		 i, n = 0, size;

	route_targets(p);
	size = pub_size(p);
	for (i = 0; i < targets.n + gtargets.n; i++) {
		t = i < targets.n ? &targets.t[i] : &gtargets.t[i - targets.n];
		if (t->qos == 0 || session_can_take(t->s, t->qos, size) ||
		    !session_online(t->s))
			continue;
		if (n == nholders_cap) {
			nholders_cap = nholders_cap == 0 ? 16 :
			    nholders_cap * 2;
			if ((h = reallocarray(holders, nholders_cap,
			    sizeof(*h))) == NULL)
				fatal(NULL);
			holders = h;
		}
		holders[n++] = t->s;
	}
	*out = holders;
	return n;
}
