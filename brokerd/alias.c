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
 * Topic aliases from the broker to an MQTT 5 client (server -> client),
 * one table per connection.  The client's Topic Alias Maximum in CONNECT
 * and `topic aliases to clients' bound the aliases; a client that
 * announced 0 (or none) gets none [MQTT-3.1.2-26, 3.1.2-27].
 *
 * Policy: a topic of more than ALIAS_MIN bytes gets an alias the first
 * time it is sent (the PUBLISH carries the topic and the alias); from
 * then on its PUBLISH carries the alias and an empty topic.  When every
 * alias is taken, or the topics held would pass ALIAS_BYTES_MAX, the
 * least recently used alias is given to the new topic.  The table
 * changes only once the PUBLISH that tells the client is queued
 * (alias_out_commit()), so the client always knows every alias it gets.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "compat.h"

struct alias_ent {
	RB_ENTRY(alias_ent)	 tree;
	TAILQ_ENTRY(alias_ent)	 lru;		/* least recently used first */
	uint16_t		 id;
	uint16_t		 len;
	uint8_t			 topic[];
};

RB_HEAD(alias_tree, alias_ent);
TAILQ_HEAD(alias_lru, alias_ent);

struct alias_table {
	struct alias_tree	 tree;
	struct alias_lru	 lru;
	uint16_t		 max;		/* aliases 1..max */
	uint16_t		 next;		/* the lowest never given */
	uint16_t		*freeids;	/* given, then dropped */
	uint16_t		 nfree;
	size_t			 bytes;		/* topic bytes held */
};

static int
alias_cmp(const struct alias_ent *a, const struct alias_ent *b)
{
	int	 r;

	r = memcmp(a->topic, b->topic, a->len < b->len ? a->len : b->len);
	if (r != 0)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

RB_GENERATE_STATIC(alias_tree, alias_ent, tree, alias_cmp);

/* The connection may get up to `max' aliases (0: none). */
void
alias_out_init(struct conn *c, uint16_t max)
{
	alias_out_free(c);
	c->alias_out_max = max;
}

void
alias_out_free(struct conn *c)
{
	struct alias_table	*t = c->aout;
	struct alias_ent	*e;

	if (t == NULL)
		return;
	while ((e = TAILQ_FIRST(&t->lru)) != NULL) {
		TAILQ_REMOVE(&t->lru, e, lru);
		free(e);
	}
	free(t->freeids);
	free(t);
	c->aout = NULL;
}

/* The entry of `topic', compared in place (a key would need a copy). */
static struct alias_ent *
alias_find(struct alias_table *t, const uint8_t *topic, uint16_t len)
{
	struct alias_ent	*e = RB_ROOT(&t->tree);
	int			 r;

	while (e != NULL) {
		r = memcmp(topic, e->topic, len < e->len ? len : e->len);
		if (r == 0)
			r = len < e->len ? -1 : len > e->len;
		if (r == 0)
			return e;
		e = r < 0 ? RB_LEFT(e, tree) : RB_RIGHT(e, tree);
	}
	return NULL;
}

/*
 * What the next PUBLISH of `topic' to `c' does: ALIAS_NONE (the topic,
 * no alias), ALIAS_USE (the alias alone) or ALIAS_SET (the topic and a
 * new alias: a free one, else the least recently used).  `ap' says
 * which; nothing changes until alias_out_commit().
 */
int
alias_out_pick(struct conn *c, const uint8_t *topic, uint16_t len,
    struct alias_pick *ap)
{
	struct alias_table	*t = c->aout;
	struct alias_ent	*e;

	memset(ap, 0, sizeof(*ap));
	if (c->alias_out_max == 0 || len <= ALIAS_MIN)
		return (ap->what = ALIAS_NONE);
	ap->topic = topic;
	ap->len = len;
	ap->what = ALIAS_SET;
	if (t == NULL)
		ap->id = 1;
	else if ((e = alias_find(t, topic, len)) != NULL) {
		ap->ent = e;
		ap->id = e->id;
		ap->what = ALIAS_USE;
	} else if (t->nfree > 0)
		ap->id = t->freeids[t->nfree - 1];
	else if (t->next <= t->max)
		ap->id = t->next;
	else {
		ap->ent = TAILQ_FIRST(&t->lru);
		ap->id = ap->ent->id;
	}
	return ap->what;
}

/* Drop the least recently used alias; its id is given next. */
static void
alias_drop_lru(struct alias_table *t)
{
	struct alias_ent	*e = TAILQ_FIRST(&t->lru);

	RB_REMOVE(alias_tree, &t->tree, e);
	TAILQ_REMOVE(&t->lru, e, lru);
	t->bytes -= e->len;
	t->freeids[t->nfree++] = e->id;
	free(e);
}

static struct alias_table *
alias_table_new(uint16_t max)
{
	struct alias_table	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->freeids = reallocarray(NULL, max, sizeof(uint16_t))) ==
	    NULL) {
		free(t);
		return NULL;
	}
	RB_INIT(&t->tree);
	TAILQ_INIT(&t->lru);
	t->max = max;
	t->next = 1;
	return t;
}

/*
 * The PUBLISH that `ap' was picked for is queued: the alias is used
 * (moved to the end of the list) or set, replacing the least recently
 * used one if that was picked, and more while the topics held would pass
 * ALIAS_BYTES_MAX.  On a failed allocation the alias is simply not
 * kept: the client is told it again the next time.
 */
void
alias_out_commit(struct conn *c, const struct alias_pick *ap)
{
	struct alias_table	*t;
	struct alias_ent	*e;

	if (ap->what == ALIAS_USE) {
		t = c->aout;
		TAILQ_REMOVE(&t->lru, ap->ent, lru);
		TAILQ_INSERT_TAIL(&t->lru, ap->ent, lru);
		engine_stats.alias_used++;
		engine_stats.alias_omitted += ap->len;
		return;
	}
	if (ap->what != ALIAS_SET)
		return;
	engine_stats.alias_set++;
	if (c->aout == NULL &&
	    (c->aout = alias_table_new(c->alias_out_max)) == NULL)
		return;
	t = c->aout;
	if (ap->ent != NULL)
		alias_drop_lru(t);	/* the one picked */
	if (t->nfree > 0 && t->freeids[t->nfree - 1] == ap->id)
		t->nfree--;
	else if (ap->id == t->next)
		t->next++;
	while (t->bytes + ap->len > ALIAS_BYTES_MAX)
		alias_drop_lru(t);
	if ((e = malloc(sizeof(*e) + ap->len)) == NULL) {
		t->freeids[t->nfree++] = ap->id;
		return;
	}
	e->id = ap->id;
	e->len = ap->len;
	memcpy(e->topic, ap->topic, ap->len);
	RB_INSERT(alias_tree, &t->tree, e);
	TAILQ_INSERT_TAIL(&t->lru, e, lru);
	t->bytes += e->len;
}

/*
 * What topic aliases saved on the wire since the start: the topic bytes
 * left out, less the Topic Alias properties sent (0 if they cost more).
 */
uint64_t
alias_bytes_saved(void)
{
	const struct engine_stats	*s = &engine_stats;
	uint64_t			 cost;

	cost = ALIAS_PROP_LEN * (s->alias_set + s->alias_used);
	return s->alias_omitted > cost ? s->alias_omitted - cost : 0;
}
