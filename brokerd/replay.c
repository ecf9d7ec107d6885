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
 * Retained messages for new subscriptions, sent after the SUBACK in
 * bounded slices.  A subscription waits on its session's list at most
 * once; the sessions with waiting subscriptions take turns.  Each turn
 * of the event loop walks retained messages for them until it has done
 * REPLAY_BUDGET steps (a node of the retained tree visited, or a
 * delivery, which counts REPLAY_DELIVERY): one filter's walk is never
 * cut, so a turn does at most the budget and one walk of the tree, and
 * a SUBSCRIBE of any size delays other clients by no more than that.
 * A subscription that goes (UNSUBSCRIBE, the session's end) leaves the
 * list with it (topic_remove_sub()).
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <string.h>

#include "engine.h"

#define REPLAY_BUDGET	16384
#define REPLAY_DELIVERY	8

struct replay_ctx {
	struct session	*s;
	uint32_t	 id;
	uint8_t		 qos;
	size_t		 sent;
};

static TAILQ_HEAD(, session) replayq = TAILQ_HEAD_INITIALIZER(replayq);

/* The retained messages matching `sub' go to its session, soon. */
void
replay_add(struct sub *sub)
{
	struct session	*s = sub->sess;

	if (sub->flags & SUB_REPLAY)
		return;
	sub->flags |= SUB_REPLAY;
	TAILQ_INSERT_TAIL(&s->replay, sub, replay);
	engine_stats.replay_pending++;
	if (!s->onreplay) {
		TAILQ_INSERT_TAIL(&replayq, s, replayq);
		s->onreplay = 1;
	}
	ev_wakeup();
}

/* They do not, or no longer need to. */
void
replay_cancel(struct sub *sub)
{
	struct session	*s = sub->sess;

	if (!(sub->flags & SUB_REPLAY))
		return;
	sub->flags &= ~SUB_REPLAY;
	TAILQ_REMOVE(&s->replay, sub, replay);
	engine_stats.replay_pending--;
	if (TAILQ_EMPTY(&s->replay) && s->onreplay) {
		TAILQ_REMOVE(&replayq, s, replayq);
		s->onreplay = 0;
	}
}

static void
replay_one(struct msg *m, void *arg)
{
	struct replay_ctx	*ctx = arg;
	struct pub		 p;
	uint8_t			 qos = ctx->qos;

	if (m->qos < qos)
		qos = m->qos;
	pub_from_msg(&p, m);
	if (!rights_topic(ctx->s->rights, p.topic, p.topic_len, ACLM_READ)) {
		engine_stats.acl_read++;
		msg_unref(p.msg);
		return;
	}
	session_deliver(ctx->s, &p, qos, 1, &ctx->id, ctx->id != 0 ? 1 : 0);
	msg_unref(p.msg);
	ctx->sent++;
}

/*
 * The end of a turn: a slice of the waiting replays, one subscription
 * of each session in turn.  Another turn comes at once if some wait.
 */
void
replay_run(void)
{
	struct replay_ctx	 ctx;
	struct session		*s;
	struct sub		*sub;
	size_t			 steps = 0;

	while (steps < REPLAY_BUDGET && (s = TAILQ_FIRST(&replayq)) != NULL) {
		sub = TAILQ_FIRST(&s->replay);
		replay_cancel(sub);
		if (s->onreplay) {
			TAILQ_REMOVE(&replayq, s, replayq);
			TAILQ_INSERT_TAIL(&replayq, s, replayq);
		}
		ctx.s = s;
		ctx.id = sub->id;
		ctx.qos = SUBOPT_QOS(sub->opts);
		ctx.sent = 0;
		engine_stats.replayed++;
		steps += retain_match((const uint8_t *)sub->filter,
		    strlen(sub->filter), replay_one, &ctx);
		steps += ctx.sent * REPLAY_DELIVERY;
	}
	if (!TAILQ_EMPTY(&replayq))
		ev_wakeup();
}
