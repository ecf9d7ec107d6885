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
 * Retained messages: a tree of topics (the same nodes as the subscription
 * tree, without wildcards), a message on the node of its topic.  A filter
 * is matched against it with an explicit stack; expired messages are
 * removed as they are found.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct rframe {
	struct tnode	*n;
	unsigned int	 level;		/* next filter level to match */
	int		 all;		/* under `#': everything */
};

static struct tnode	*ret_root;
static struct rframe	*stack;
static size_t		 stack_cap;
static struct tnode	**expired;
static size_t		 nexpired, expired_cap;
static const uint8_t	**flv_ptr;
static uint16_t		*flv_len;
static unsigned int	 flv_cap;
static struct log_ratelimit retain_rl = LOG_RATELIMIT_INIT(5, 60);

static void	retain_drop_keep(struct tnode *);

void
retain_init(void)
{
	ret_root = tnode_root();
}

static void
retain_drop(struct tnode *n)
{
	engine_stats.retained--;
	engine_stats.retained_bytes -= msg_size(n->retained);
	msg_unref(n->retained);
	n->retained = NULL;
	tnode_prune(n);
}

/*
 * Store the retained message of a PUBLISH with the retain flag, or remove
 * it if the payload is empty.  Returns -1 if the limits refuse it.
 */
int
retain_set(struct pub *p)
{
	struct tnode	*n = ret_root;
	struct msg	*m;
	size_t		 i, start = 0, add;
	uint64_t	 count, bytes;

	for (i = 0; i <= p->topic_len; i++) {
		if (i < p->topic_len && p->topic[i] != '/')
			continue;
		n = tnode_lookup(n, p->topic + start, i - start,
		    p->payload_len > 0);
		if (n == NULL)
			return 0;	/* nothing to remove */
		start = i + 1;
	}
	if (p->payload_len == 0) {
		if (n->retained != NULL) {
			store_retain((const char *)p->topic, p->topic_len, NULL,
			    n->retained);
			retain_drop(n);
		} else
			tnode_prune(n);
		return 0;
	}
	add = pub_size(p);
	count = engine_stats.retained + (n->retained == NULL);
	bytes = engine_stats.retained_bytes + add -
	    (n->retained != NULL ? msg_size(n->retained) : 0);
	if (count > econf.max_retained || bytes > econf.max_retained_bytes) {
		log_limited(&retain_rl, LOG_WARNING, "retained message on "
		    "%.*s refused: the retained messages are at their limit",
		    (int)p->topic_len, p->topic);
		tnode_prune(n);
		return -1;
	}
	m = msg_ref(pub_msg(p));
	store_retain((const char *)p->topic, p->topic_len, m, n->retained);
	if (n->retained != NULL)
		retain_drop_keep(n);
	n->retained = m;
	engine_stats.retained++;
	engine_stats.retained_bytes += msg_size(m);
	return 0;
}

/* Replace in place: account for the old one without pruning the node. */
static void
retain_drop_keep(struct tnode *n)
{
	engine_stats.retained--;
	engine_stats.retained_bytes -= msg_size(n->retained);
	msg_unref(n->retained);
	n->retained = NULL;
}

static void
push(struct tnode *n, unsigned int level, int all, size_t *sp)
{
	struct rframe	*s;

	if (*sp == stack_cap) {
		stack_cap = stack_cap == 0 ? 64 : stack_cap * 2;
		if ((s = reallocarray(stack, stack_cap, sizeof(*s))) == NULL)
			fatal(NULL);
		stack = s;
	}
	stack[*sp].n = n;
	stack[*sp].level = level;
	stack[*sp].all = all;
	(*sp)++;
}

/* Remember a node whose message goes once the walk is over. */
static void
found_expired(struct tnode *n)
{
	struct tnode	**e;

	if (nexpired == expired_cap) {
		expired_cap = expired_cap == 0 ? 16 : expired_cap * 2;
		if ((e = reallocarray(expired, expired_cap,
		    sizeof(*e))) == NULL)
			fatal(NULL);
		expired = e;
	}
	expired[nexpired++] = n;
}

static void
found(struct tnode *n, void (*cb)(struct msg *, void *), void *arg)
{
	if (n->retained == NULL)
		return;
	if (msg_expired(n->retained)) {
		found_expired(n);
		return;
	}
	cb(n->retained, arg);
}

/* Remove every retained message (for tests, and a clean exit). */
void
retain_free_all(void)
{
	struct tnode	*n, *k;
	size_t		 sp = 0, i;
	uint32_t	 it;

	nexpired = 0;
	push(ret_root, 0, 0, &sp);
	while (sp > 0) {
		n = stack[--sp].n;
		if (n->retained != NULL)
			found_expired(n);
		it = 0;
		while ((k = tnode_kid(n, &it)) != NULL)
			push(k, 0, 0, &sp);
	}
	for (i = 0; i < nexpired; i++)
		retain_drop(expired[i]);
	nexpired = 0;
}

/*
 * Call `cb' for every retained message whose topic matches the checked
 * filter `f' (without $share/GROUP/).  Returns the nodes it visited.
 */
size_t
retain_match(const uint8_t *f, size_t len,
    void (*cb)(struct msg *, void *), void *arg)
{
	struct tnode	*n, *k;
	unsigned int	 nlev, lvl;
	size_t		 sp = 0, i, visited = 0;
	uint32_t	 it;
	int		 top;

	if (flv_cap < econf.max_topic_levels + 1) {
		const uint8_t	**np;
		uint16_t	 *nl;

		if ((np = reallocarray(flv_ptr, econf.max_topic_levels + 1,
		    sizeof(*flv_ptr))) == NULL)
			fatal(NULL);
		flv_ptr = np;
		if ((nl = reallocarray(flv_len, econf.max_topic_levels + 1,
		    sizeof(*flv_len))) == NULL)
			fatal(NULL);
		flv_len = nl;
		flv_cap = econf.max_topic_levels + 1;
	}
	nlev = topic_split(f, len, flv_ptr, flv_len, flv_cap);
	if (nlev > flv_cap)
		return 0;
	nexpired = 0;
	push(ret_root, 0, 0, &sp);
	while (sp > 0) {
		sp--;
		visited++;
		n = stack[sp].n;
		lvl = stack[sp].level;
		top = n == ret_root;
		if (stack[sp].all) {
			/* Everything below `#', but no $ topic at the top. */
			found(n, cb, arg);
			it = 0;
			while ((k = tnode_kid(n, &it)) != NULL)
				push(k, lvl, 1, &sp);
			continue;
		}
		if (lvl == nlev) {
			found(n, cb, arg);
			continue;
		}
		if (flv_len[lvl] == 1 && flv_ptr[lvl][0] == '#') {
			/* "a/#" matches "a" itself. */
			if (!top)
				found(n, cb, arg);
			it = 0;
			while ((k = tnode_kid(n, &it)) != NULL)
				if (!(top && k->len > 0 && k->level[0] == '$'))
					push(k, lvl, 1, &sp);
		} else if (flv_len[lvl] == 1 && flv_ptr[lvl][0] == '+') {
			it = 0;
			while ((k = tnode_kid(n, &it)) != NULL)
				if (!(top && k->len > 0 && k->level[0] == '$'))
					push(k, lvl + 1, 0, &sp);
		} else if ((k = tnode_lookup(n, flv_ptr[lvl], flv_len[lvl],
		    0)) != NULL)
			push(k, lvl + 1, 0, &sp);
	}
	for (i = 0; i < nexpired; i++) {
		engine_stats.drop_expired++;
		store_retain(MSG_TOPIC(expired[i]->retained),
		    expired[i]->retained->topic_len, NULL,
		    expired[i]->retained);
		retain_drop(expired[i]);
	}
	nexpired = 0;
	return visited;
}
