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
 * Unit tests for brokerd/topic.c and brokerd/retain.c: the subscription
 * tree, matched through topic_match() on sessions made with
 * session_new(), and the retained messages.  What matched is collected
 * as "session:filter" (and "G:group:members" for a shared group), sorted
 * and joined, so each expectation reads as a line.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

#define MAXSEEN		512
#define ITEMLEN		96

struct seen {
	char		 item[MAXSEEN][ITEMLEN];
	int		 n;
	int		 nsubs;
	int		 ngroups;
};

static struct seen	 seen;
static char		 joined[MAXSEEN * ITEMLEN];

static void
discard_log(int pri, const char *line)
{
	(void)pri;
	(void)line;
}

static void
seen_add(struct seen *s, const char *fmt, const char *a, const char *b)
{
	assert_true(s->n < MAXSEEN);
	snprintf(s->item[s->n++], ITEMLEN, fmt, a, b);
}

static void
seen_sub(struct sub *sub, void *arg)
{
	struct seen	*s = arg;

	s->nsubs++;
	seen_add(s, "%s:%s", sub->sess->id, sub->filter);
}

static void
seen_group(struct sgroup *g, void *arg)
{
	struct seen	*s = arg;
	char		 n[16];

	s->ngroups++;
	snprintf(n, sizeof(n), "%u", g->n);
	seen_add(s, "G:%s:%s", g->name, n);
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static const char *
seen_join(struct seen *s)
{
	int	 i;

	qsort(s->item, s->n, ITEMLEN, item_cmp);
	joined[0] = '\0';
	for (i = 0; i < s->n; i++) {
		if (i > 0)
			strlcat(joined, ",", sizeof(joined));
		strlcat(joined, s->item[i], sizeof(joined));
	}
	return joined;
}

/* What matches `topic', as a sorted list. */
static const char *
matched(const char *topic)
{
	memset(&seen, 0, sizeof(seen));
	topic_match((const uint8_t *)topic, strlen(topic), seen_sub,
	    seen_group, &seen);
	return seen_join(&seen);
}

static struct sub *
sub_add(struct session *s, const char *f, uint8_t opts)
{
	struct sub	*out = NULL;
	int		 existed = -1;

	assert_int_equal(topic_subscribe(s, (const uint8_t *)f, strlen(f),
	    opts, 0, &out, &existed), 0);
	assert_non_null(out);
	assert_int_equal(existed, 0);
	assert_string_equal(out->filter, f);
	assert_ptr_equal(out->sess, s);
	return out;
}

static int
sub_del(struct session *s, const char *f)
{
	return topic_unsubscribe(s, (const uint8_t *)f, strlen(f));
}

static struct tnode *
root_of(const struct sub *sub)
{
	struct tnode	*n = sub->node;

	while (n->parent != NULL)
		n = n->parent;
	return n;
}

static void
assert_root_empty(const struct tnode *root)
{
	assert_null(root->parent);
	assert_int_equal(root->nkids, 0);
	assert_null(root->kids);
	assert_null(root->plus);
	assert_null(root->hash);
	assert_int_equal(root->nsubs, 0);
	assert_true(LIST_EMPTY(&root->groups));
}

static int
group_setup(void **state)
{
	(void)state;
	log_init(1, LOG_DAEMON);
	log_setsink(discard_log, NULL);
	settings_defaults(engine_settings, engine_nsettings, &econf);
	topic_init();
	retain_init();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	settings_defaults(engine_settings, engine_nsettings, &econf);
	memset(&engine_stats, 0, sizeof(engine_stats));
	return 0;
}

/* Everything a test made is gone, and the counters say so. */
static int
teardown(void **state)
{
	(void)state;
	session_free_all();
	retain_free_all();
	assert_int_equal(engine_stats.sessions, 0);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_int_equal(engine_stats.retained, 0);
	assert_int_equal(engine_stats.retained_bytes, 0);
	return 0;
}

/*
 * The subscription tree.
 */

static void
test_match_wildcards(void **state)
{
	static const char	*filters[] = { "a/b", "a/+", "a/#", "#", "+/b",
				    "+/+", "a/b/c", "+", "a", "/", "+/#",
				    "a/+/c", "/+", "+/", "b/#" };
	struct session		*s;
	size_t			 i;

	(void)state;
	s = session_new("s");
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		sub_add(s, filters[i], 0);
	assert_int_equal(s->nsubs, sizeof(filters) / sizeof(filters[0]));
	assert_int_equal(engine_stats.subscriptions, s->nsubs);

	assert_string_equal(matched("a/b"),
	    "s:#,s:+/#,s:+/+,s:+/b,s:a/#,s:a/+,s:a/b");
	/* "a/#" and "+/#" match the parent level too. */
	assert_string_equal(matched("a"), "s:#,s:+,s:+/#,s:a,s:a/#");
	assert_string_equal(matched("a/b/c"), "s:#,s:+/#,s:a/#,s:a/+/c,"
	    "s:a/b/c");
	assert_string_equal(matched("a/x/c"), "s:#,s:+/#,s:a/#,s:a/+/c");
	assert_string_equal(matched("a/b/c/d"), "s:#,s:+/#,s:a/#");
	assert_string_equal(matched("b"), "s:#,s:+,s:+/#,s:b/#");
	assert_string_equal(matched("x/b"), "s:#,s:+/#,s:+/+,s:+/b");
	/* Empty levels are levels. */
	assert_string_equal(matched("/"), "s:#,s:+/,s:+/#,s:+/+,s:/,s:/+");
	assert_string_equal(matched("/x"), "s:#,s:+/#,s:+/+,s:/+");
	assert_string_equal(matched("a/"), "s:#,s:+/,s:+/#,s:+/+,s:a/#,"
	    "s:a/+");
	assert_string_equal(matched("x//y"), "s:#,s:+/#");
	/* Case matters. */
	assert_string_equal(matched("A/B"), "s:#,s:+/#,s:+/+");
	assert_int_equal(seen.ngroups, 0);
}

static void
test_match_dollar(void **state)
{
	static const char	*filters[] = { "#", "+", "+/x", "+/#", "+/+",
				    "$SYS/#", "$SYS/+", "$SYS/x", "$SYS",
				    "$other/#", "a/#" };
	struct session		*s;
	size_t			 i;

	(void)state;
	s = session_new("d");
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		sub_add(s, filters[i], 0);

	/* No wildcard at the first level matches a $ topic ... */
	assert_string_equal(matched("$SYS/x"),
	    "d:$SYS/#,d:$SYS/+,d:$SYS/x");
	assert_string_equal(matched("$SYS"), "d:$SYS,d:$SYS/#");
	assert_string_equal(matched("$SYS/a/b"), "d:$SYS/#");
	assert_string_equal(matched("$other/x"), "d:$other/#");
	assert_string_equal(matched("$x"), "");
	assert_string_equal(matched("$"), "");
	/* ... but a $ below the first level is an ordinary character. */
	assert_string_equal(matched("a/$SYS"), "d:#,d:+/#,d:+/+,d:a/#");
	assert_string_equal(matched("x$/x"), "d:#,d:+/#,d:+/+,d:+/x");
	assert_string_equal(matched("a"), "d:#,d:+,d:+/#,d:a/#");
}

static void
test_match_many_on_one_node(void **state)
{
	struct session	*ss[100];
	struct sub	*subs[100];
	char		 id[16];
	int		 i, j, k, c, d, left;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "m%03d", i);
		ss[i] = session_new(id);
		subs[i] = sub_add(ss[i], "many/here", 1);
	}
	assert_int_equal(engine_stats.subscriptions, 100);
	assert_int_equal(subs[0]->node->nsubs, 100);
	matched("many/here");
	assert_int_equal(seen.nsubs, 100);
	assert_int_equal(seen.n, 100);
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "m%03d:many/here", i);
		assert_string_equal(seen.item[i], id);
	}

	/* Remove every third, then the rest from the middle out. */
	left = 100;
	for (i = 0; i < 100; i += 3) {
		assert_int_equal(sub_del(ss[i], "many/here"), 0);
		subs[i] = NULL;
		left--;
		matched("many/here");
		assert_int_equal(seen.nsubs, left);
		/* The array stays consistent. */
		for (j = 0; j < 100; j++)
			if (subs[j] != NULL)
				assert_ptr_equal(subs[j]->node->subs[
				    subs[j]->idx], subs[j]);
	}
	matched("many/here");
	for (i = 0; i < seen.n; i++)
		assert_int_not_equal(atoi(seen.item[i] + 1) % 3, 0);
	/* The rest from the middle out. */
	for (d = 0; d < 50; d++)
		for (c = 0; c < 2; c++) {
			k = c == 0 ? 49 - d : 50 + d;
			if (subs[k] == NULL)
				continue;
			assert_int_equal(sub_del(ss[k], "many/here"), 0);
			assert_int_equal(sub_del(ss[k], "many/here"), -1);
			subs[k] = NULL;
			left--;
			matched("many/here");
			assert_int_equal(seen.nsubs, left);
		}
	assert_int_equal(left, 0);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_string_equal(matched("many/here"), "");
}

static void
test_resubscribe(void **state)
{
	struct session	*s;
	struct sub	*a, *b;
	int		 existed = -1;

	(void)state;
	s = session_new("r");
	a = sub_add(s, "x/y", 1);
	a->id = 0;
	assert_int_equal(topic_subscribe(s, (const uint8_t *)"x/y", 3, 2, 42,
	    &b, &existed), 0);
	assert_int_equal(existed, 1);
	assert_ptr_equal(a, b);
	assert_int_equal(b->opts, 2);
	assert_int_equal(b->id, 42);
	assert_int_equal(s->nsubs, 1);
	assert_int_equal(engine_stats.subscriptions, 1);
	assert_string_equal(matched("x/y"), "r:x/y");
	assert_ptr_equal(topic_find_sub(s, (const uint8_t *)"x/y", 3), a);
	assert_null(topic_find_sub(s, (const uint8_t *)"x/+", 3));
	assert_null(topic_find_sub(s, (const uint8_t *)"x", 1));
	/* One session, two filters matching one topic: two callbacks. */
	sub_add(s, "x/+", 0);
	assert_string_equal(matched("x/y"), "r:x/+,r:x/y");
}

static void
test_unsubscribe_prune(void **state)
{
	static const char	*filters[] = { "a/b/c", "a/b", "a/+/c", "a/#",
				    "#", "+", "+/+/+/+", "/", "x/y/z/w/v",
				    "$SYS/#", "$share/g/a/b", "$share/h/#",
				    "a/b/c/d/e/f" };
	struct session		*s1, *s2;
	struct tnode		*root, *ab;
	struct sub		*sub;
	size_t			 i, n = sizeof(filters) / sizeof(filters[0]);

	(void)state;
	s1 = session_new("p1");
	s2 = session_new("p2");
	root = root_of(sub_add(s1, "a/b/c", 0));
	for (i = 1; i < n; i++)
		sub_add(s1, filters[i], 0);
	for (i = 0; i < n; i++)
		sub_add(s2, filters[i], 1);
	assert_int_equal(engine_stats.subscriptions, 2 * n);
	assert_int_equal(s1->nsubs, n);

	/* Nothing to remove. */
	assert_int_equal(sub_del(s1, "a/b/c/d"), -1);
	assert_int_equal(sub_del(s1, "nothing"), -1);
	assert_int_equal(sub_del(s1, "$share/x/a/b"), -1);
	assert_int_equal(engine_stats.subscriptions, 2 * n);

	/* An inner node stays while a deeper filter needs it. */
	sub = topic_find_sub(s1, (const uint8_t *)"a/b", 3);
	assert_non_null(sub);
	ab = sub->node;
	assert_int_equal(sub_del(s1, "a/b"), 0);
	assert_int_equal(sub_del(s2, "a/b"), 0);
	assert_int_equal(ab->nsubs, 0);
	assert_null(ab->subs);
	assert_string_equal(matched("a/b/c"), "G:h:2,p1:#,p1:a/#,p1:a/+/c,"
	    "p1:a/b/c,p2:#,p2:a/#,p2:a/+/c,p2:a/b/c");
	assert_string_equal(matched("a/b"), "G:g:2,G:h:2,p1:#,p1:a/#,"
	    "p2:#,p2:a/#");

	/* Everything out: nothing matches and no node is left. */
	for (i = 0; i < n; i++) {
		if (i == 1)
			continue;
		assert_int_equal(sub_del(s1, filters[i]), 0);
		assert_int_equal(sub_del(s2, filters[i]), 0);
	}
	assert_int_equal(s1->nsubs, 0);
	assert_int_equal(s2->nsubs, 0);
	assert_true(RB_EMPTY(&s1->subs));
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_root_empty(root);
	assert_string_equal(matched("a/b/c"), "");
	assert_string_equal(matched("a/b"), "");
	assert_string_equal(matched("$SYS/x"), "");
	assert_string_equal(matched("x/y/z/w/v"), "");

	/* The tree grows again from the same root. */
	sub = sub_add(s1, "again/#", 0);
	assert_ptr_equal(root_of(sub), root);
	assert_string_equal(matched("again/and/again"), "p1:again/#");
	session_free(s1);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_root_empty(root);
}

static void
test_session_clear(void **state)
{
	struct session	*s;
	struct tnode	*root;
	char		 f[32];
	int		 i;

	(void)state;
	s = session_new("clear");
	root = root_of(sub_add(s, "first", 0));
	for (i = 0; i < 50; i++) {
		snprintf(f, sizeof(f), "c/%d/+/#", i);
		sub_add(s, f, 0);
		snprintf(f, sizeof(f), "$share/g%d/c/%d", i % 3, i);
		sub_add(s, f, 0);
	}
	assert_int_equal(engine_stats.subscriptions, 101);
	assert_string_equal(matched("c/7"), "G:g1:1");
	assert_string_equal(matched("c/7/x"), "clear:c/7/+/#");
	session_clear(s);
	assert_int_equal(s->nsubs, 0);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_root_empty(root);
	assert_string_equal(matched("c/7/x"), "");
}

/* The hash topic.c gives a level (keyed, so asked of it). */
static uint32_t
level_hash(const char *p)
{
	return topic_level_hash((const uint8_t *)p, strlen(p));
}

static void
test_hashed_children(void **state)
{
	struct session	*s;
	struct sub	*subs[40];
	struct tnode	*h;
	char		 f[32], want[64];
	int		 i, k, order[40];

	(void)state;
	s = session_new("h");
	for (i = 0; i < 40; i++) {
		snprintf(f, sizeof(f), "h/kid%d", i);
		subs[i] = sub_add(s, f, 0);
		h = subs[i]->node->parent;
		assert_int_equal(h->nkids, i + 1);
		/* A list up to eight children, a table after. */
		if (i < 8)
			assert_true(h->kcap <= 8);
		else
			assert_true(h->kcap > 8 && h->kcap >= 2 * h->nkids);
	}
	sub_add(s, "h/+", 0);
	for (i = 0; i < 40; i++) {
		snprintf(f, sizeof(f), "h/kid%d", i);
		snprintf(want, sizeof(want), "h:h/+,h:h/kid%d", i);
		assert_string_equal(matched(f), want);
	}
	assert_string_equal(matched("h/kid40"), "h:h/+");
	assert_string_equal(matched("h/kid"), "h:h/+");

	/* Out in a scrambled order, checking every one left each time. */
	for (i = 0; i < 40; i++)
		order[i] = (i * 17 + 5) % 40;
	for (i = 0; i < 40; i++) {
		snprintf(f, sizeof(f), "h/kid%d", order[i]);
		assert_int_equal(sub_del(s, f), 0);
		subs[order[i]] = NULL;
		for (k = 0; k < 40; k++) {
			snprintf(f, sizeof(f), "h/kid%d", k);
			if (subs[k] != NULL)
				snprintf(want, sizeof(want), "h:h/+,h:h/kid%d",
				    k);
			else
				strlcpy(want, "h:h/+", sizeof(want));
			assert_string_equal(matched(f), want);
		}
	}
	assert_int_equal(sub_del(s, "h/+"), 0);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_string_equal(matched("h/kid1"), "");
}

/*
 * Levels that collide in a table of 32: runs of them across the end of
 * the table, so removing one must move the others back.
 */
static void
test_hash_collisions(void **state)
{
	static const struct {
		uint32_t	 slot;
		int		 count;
	} want[] = { { 29, 2 }, { 30, 4 }, { 31, 3 }, { 0, 3 }, { 2, 2 } };
	struct session	*s;
	struct sub	*sub;
	struct tnode	*h = NULL;
	char		 names[14][16], f[48], w[80];
	int		 have[5] = { 0 }, present[14];
	int		 nnames = 0, i, j, k, round, displaced;

	(void)state;
	for (i = 0; nnames < 14 && i < 100000; i++) {
		char	 cand[16];

		snprintf(cand, sizeof(cand), "c%d", i);
		for (j = 0; j < 5; j++)
			if ((level_hash(cand) & 31) == want[j].slot &&
			    have[j] < want[j].count) {
				have[j]++;
				strlcpy(names[nnames++], cand,
				    sizeof(names[0]));
				break;
			}
	}
	assert_int_equal(nnames, 14);

	s = session_new("coll");
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 14; i++) {
			snprintf(f, sizeof(f), "t/%.15s", names[i]);
			sub = sub_add(s, f, 0);
			h = sub->node->parent;
			present[i] = 1;
		}
		/* The table is 32 wide and some sit off their slot. */
		assert_int_equal(h->kcap, 32);
		assert_int_equal(h->nkids, 14);
		for (i = 0, displaced = 0; i < 32; i++)
			if (h->kids[i] != NULL &&
			    (h->kids[i]->hv & 31) != (uint32_t)i)
				displaced++;
		assert_true(displaced >= 7);

		/* A different order of removal each round. */
		for (k = 0; k < 14; k++) {
			i = round == 0 ? k : round == 1 ? 13 - k :
			    round == 2 ? (k * 5) % 14 : (k * 3 + 1) % 14;
			snprintf(f, sizeof(f), "t/%.15s", names[i]);
			assert_int_equal(sub_del(s, f), 0);
			present[i] = 0;
			for (j = 0; j < 14; j++) {
				snprintf(f, sizeof(f), "t/%.15s", names[j]);
				if (present[j])
					snprintf(w, sizeof(w), "coll:t/%.15s",
					    names[j]);
				else
					w[0] = '\0';
				if (strcmp(matched(f), w) != 0)
					fail_msg("round %d, %s out: %s "
					    "matched \"%s\"", round, names[i],
					    names[j], joined);
			}
		}
		assert_int_equal(engine_stats.subscriptions, 0);
	}
}

static void
test_shared_groups(void **state)
{
	struct session	*s1, *s2, *s3, *s4;
	struct sub	*a, *b, *c;
	struct sgroup	*g;

	(void)state;
	s1 = session_new("s1");
	s2 = session_new("s2");
	s3 = session_new("s3");
	s4 = session_new("s4");
	a = sub_add(s1, "$share/g/x/y", 1);
	b = sub_add(s2, "$share/g/x/y", 2);
	c = sub_add(s3, "$share/h/x/y", 0);
	sub_add(s4, "x/y", 0);
	assert_ptr_equal(a->group, b->group);
	assert_ptr_not_equal(a->group, c->group);
	assert_ptr_equal(a->node, b->node);
	assert_ptr_equal(a->node, c->node);
	assert_int_equal(a->node->nsubs, 1);	/* only s4's */
	g = a->group;
	assert_string_equal(g->name, "g");
	assert_int_equal(g->n, 2);
	assert_ptr_equal(g->members[a->idx], a);
	assert_ptr_equal(g->members[b->idx], b);

	/* One callback per group, whatever its size. */
	assert_string_equal(matched("x/y"), "G:g:2,G:h:1,s4:x/y");
	assert_int_equal(seen.nsubs, 1);
	assert_int_equal(seen.ngroups, 2);
	/* The group is not a level. */
	assert_string_equal(matched("$share/g/x/y"), "");
	assert_string_equal(matched("g/x/y"), "");

	/* A session in a group and outside it: both. */
	sub_add(s1, "x/+", 0);
	assert_string_equal(matched("x/y"), "G:g:2,G:h:1,s1:x/+,s4:x/y");

	/* Members leave; the group goes with the last. */
	assert_int_equal(sub_del(s1, "$share/g/x/y"), 0);
	assert_int_equal(g->n, 1);
	assert_ptr_equal(g->members[0], b);
	assert_int_equal(b->idx, 0);
	assert_int_equal(g->next, 0);
	assert_string_equal(matched("x/y"), "G:g:1,G:h:1,s1:x/+,s4:x/y");
	assert_int_equal(sub_del(s2, "$share/g/x/y"), 0);
	assert_string_equal(matched("x/y"), "G:h:1,s1:x/+,s4:x/y");
	assert_int_equal(sub_del(s3, "$share/h/x/y"), 0);
	assert_string_equal(matched("x/y"), "s1:x/+,s4:x/y");

	/* Wildcards in shared filters, and $ topics. */
	sub_add(s1, "$share/w/#", 0);
	sub_add(s2, "$share/w/#", 0);
	sub_add(s3, "$share/w/+/y", 0);
	sub_add(s3, "$share/sys/$SYS/#", 0);
	assert_string_equal(matched("x/y"), "G:w:1,G:w:2,s1:x/+,s4:x/y");
	assert_string_equal(matched("q"), "G:w:2");
	assert_string_equal(matched("$SYS/load"), "G:sys:1");
	session_free(s2);
	assert_string_equal(matched("q"), "G:w:1");
}

static void
test_shared_round_robin_state(void **state)
{
	struct session	*ss[5];
	struct sub	*subs[5];
	struct sgroup	*g;
	char		 id[8];
	int		 i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "rr%d", i);
		ss[i] = session_new(id);
		subs[i] = sub_add(ss[i], "$share/rr/t", 1);
	}
	g = subs[0]->group;
	assert_int_equal(g->n, 5);
	/* The turn points past the end after members leave: rewound. */
	g->next = 4;
	assert_int_equal(sub_del(ss[1], "$share/rr/t"), 0);
	assert_int_equal(g->n, 4);
	assert_int_equal(g->next, 0);
	/* The last member moved into the hole. */
	assert_ptr_equal(g->members[1], subs[4]);
	assert_int_equal(subs[4]->idx, 1);
	for (i = 0; i < (int)g->n; i++)
		assert_ptr_equal(g->members[i]->group, g);
}

static void
test_topic_split(void **state)
{
	const uint8_t	*ptr[4];
	uint16_t	 len[4];
	unsigned int	 n;

	(void)state;
	n = topic_split((const uint8_t *)"a/bc/def", 8, ptr, len, 4);
	assert_int_equal(n, 3);
	assert_int_equal(len[0], 1);
	assert_memory_equal(ptr[0], "a", 1);
	assert_int_equal(len[1], 2);
	assert_memory_equal(ptr[1], "bc", 2);
	assert_int_equal(len[2], 3);
	assert_memory_equal(ptr[2], "def", 3);

	n = topic_split((const uint8_t *)"", 0, ptr, len, 4);
	assert_int_equal(n, 1);
	assert_int_equal(len[0], 0);

	n = topic_split((const uint8_t *)"/", 1, ptr, len, 4);
	assert_int_equal(n, 2);
	assert_int_equal(len[0], 0);
	assert_int_equal(len[1], 0);

	n = topic_split((const uint8_t *)"a//b/", 5, ptr, len, 4);
	assert_int_equal(n, 4);
	assert_int_equal(len[1], 0);
	assert_memory_equal(ptr[2], "b", 1);
	assert_int_equal(len[3], 0);

	/* More levels than room: counted, not written. */
	len[2] = 0xeeee;
	n = topic_split((const uint8_t *)"a/b/c/d/e", 9, ptr, len, 2);
	assert_int_equal(n, 5);
	assert_int_equal(len[2], 0xeeee);
	assert_memory_equal(ptr[1], "b", 1);
}

/*
 * Retained messages.
 */

static struct msg *
pub_set(const char *topic, const char *payload, uint8_t qos,
    uint64_t expires, int *r)
{
	struct pub	 p;

	memset(&p, 0, sizeof(p));
	p.topic = (const uint8_t *)topic;
	p.topic_len = strlen(topic);
	p.payload = (const uint8_t *)payload;
	p.payload_len = strlen(payload);
	p.qos = qos;
	p.retain = 1;
	p.expires = expires;
	*r = retain_set(&p);
	msg_unref(p.msg);
	return p.msg;
}

static void
put(const char *topic, const char *payload)
{
	int	 r;

	pub_set(topic, payload, 0, 0, &r);
	assert_int_equal(r, 0);
}

static void
seen_msg(struct msg *m, void *arg)
{
	struct seen	*s = arg;
	char		 pl[64];

	snprintf(pl, sizeof(pl), "%.*s", (int)m->payload_len,
	    (const char *)MSG_PAYLOAD(m));
	assert_int_equal(m->retain, 1);
	seen_add(s, "%s=%s", MSG_TOPIC(m), pl);
}

static const char *
retained(const char *filter)
{
	memset(&seen, 0, sizeof(seen));
	retain_match((const uint8_t *)filter, strlen(filter), seen_msg, &seen);
	return seen_join(&seen);
}

static size_t
rsize(const char *topic, const char *payload)
{
	return sizeof(struct msg) + strlen(topic) + 1 + strlen(payload);
}

static void
test_retain_match(void **state)
{
	(void)state;
	put("a", "0");
	put("a/b", "1");
	put("a/c", "2");
	put("b/x/y", "3");
	put("/", "4");
	put("a/b/c", "5");
	assert_int_equal(engine_stats.retained, 6);
	assert_int_equal(engine_stats.retained_bytes, rsize("a", "0") +
	    rsize("a/b", "1") + rsize("a/c", "2") + rsize("b/x/y", "3") +
	    rsize("/", "4") + rsize("a/b/c", "5"));

	assert_string_equal(retained("a/b"), "a/b=1");
	assert_string_equal(retained("a"), "a=0");
	assert_string_equal(retained("a/+"), "a/b=1,a/c=2");
	assert_string_equal(retained("a/#"), "a/b/c=5,a/b=1,a/c=2,a=0");
	assert_string_equal(retained("#"), "/=4,a/b/c=5,a/b=1,a/c=2,a=0,"
	    "b/x/y=3");
	assert_string_equal(retained("+"), "a=0");
	assert_string_equal(retained("+/+"), "/=4,a/b=1,a/c=2");
	assert_string_equal(retained("+/x/+"), "b/x/y=3");
	assert_string_equal(retained("+/+/#"), "/=4,a/b/c=5,a/b=1,a/c=2,"
	    "b/x/y=3");
	assert_string_equal(retained("b"), "");
	assert_string_equal(retained("b/#"), "b/x/y=3");
	assert_string_equal(retained("c"), "");
	assert_string_equal(retained("a/b/c/d"), "");
	assert_string_equal(retained("/+"), "/=4");

	/* Replacing keeps one per topic. */
	put("a/b", "9");
	assert_int_equal(engine_stats.retained, 6);
	assert_string_equal(retained("a/b"), "a/b=9");
}

static void
test_retain_dollar(void **state)
{
	(void)state;
	put("$SYS/up", "1");
	put("$SYS/a/b", "2");
	put("$x", "3");
	put("x", "4");
	put("x/$y", "5");
	assert_string_equal(retained("#"), "x/$y=5,x=4");
	assert_string_equal(retained("+"), "x=4");
	assert_string_equal(retained("+/up"), "");
	assert_string_equal(retained("+/#"), "x/$y=5,x=4");
	assert_string_equal(retained("$SYS/#"), "$SYS/a/b=2,$SYS/up=1");
	assert_string_equal(retained("$SYS/+"), "$SYS/up=1");
	assert_string_equal(retained("$x"), "$x=3");
	assert_string_equal(retained("x/+"), "x/$y=5");
}

static void
test_retain_remove(void **state)
{
	struct msg	*m;
	int		 r;

	(void)state;
	put("r/1", "one");
	put("r/1/2", "two");
	assert_int_equal(engine_stats.retained, 2);

	/* An empty payload removes, and stores nothing. */
	m = pub_set("r/1", "", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_null(m);
	assert_int_equal(engine_stats.retained, 1);
	assert_int_equal(engine_stats.retained_bytes, rsize("r/1/2", "two"));
	assert_string_equal(retained("r/#"), "r/1/2=two");
	assert_string_equal(retained("r/1"), "");

	/* Removing what is not there. */
	m = pub_set("r/none/at/all", "", 0, 0, &r);
	assert_int_equal(r, 0);
	m = pub_set("r/1", "", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained, 1);

	m = pub_set("r/1/2", "", 0, 0, &r);
	assert_int_equal(engine_stats.retained, 0);
	assert_int_equal(engine_stats.retained_bytes, 0);
	assert_string_equal(retained("#"), "");

	/* And back. */
	put("r/1", "again");
	assert_string_equal(retained("#"), "r/1=again");
}

static void
test_retain_expiry(void **state)
{
	int	 r;

	(void)state;
	pub_set("e/old", "x", 1, ev_now() - 1, &r);
	assert_int_equal(r, 0);
	pub_set("e/now", "x", 1, ev_now(), &r);
	assert_int_equal(r, 0);
	pub_set("e/new", "y", 1, ev_now() + 60000, &r);
	assert_int_equal(r, 0);
	pub_set("e/never", "z", 1, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained, 4);

	/* Found expired: not given, and removed. */
	assert_string_equal(retained("e/#"), "e/never=z,e/new=y");
	assert_int_equal(engine_stats.drop_expired, 2);
	assert_int_equal(engine_stats.retained, 2);
	assert_int_equal(engine_stats.retained_bytes, rsize("e/new", "y") +
	    rsize("e/never", "z"));
	assert_string_equal(retained("e/#"), "e/never=z,e/new=y");
	assert_int_equal(engine_stats.drop_expired, 2);

	/* Only what the filter reaches is looked at. */
	pub_set("f/old", "x", 0, ev_now() - 1000, &r);
	pub_set("f/old/deeper", "x", 0, ev_now() - 1000, &r);
	assert_string_equal(retained("e/+"), "e/never=z,e/new=y");
	assert_int_equal(engine_stats.retained, 4);
	/* A parent and its child expired together. */
	assert_string_equal(retained("f/#"), "");
	assert_int_equal(engine_stats.drop_expired, 4);
	assert_int_equal(engine_stats.retained, 2);
}

static void
test_retain_limits(void **state)
{
	size_t	 one;
	int	 r;

	(void)state;
	econf.max_retained = 2;
	pub_set("l/a", "1", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("l/b", "2", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("l/c", "3", 0, 0, &r);
	assert_int_equal(r, -1);
	assert_int_equal(engine_stats.retained, 2);
	assert_string_equal(retained("l/#"), "l/a=1,l/b=2");
	/* Replacing at the limit is fine, and so is removing. */
	pub_set("l/a", "11", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("l/b", "", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("l/c", "3", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_string_equal(retained("l/#"), "l/a=11,l/c=3");
	retain_free_all();

	/* Bytes: room for exactly two of these. */
	econf.max_retained = 100;
	one = rsize("m/a", "0123456789");
	econf.max_retained_bytes = 2 * one;
	pub_set("m/a", "0123456789", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("m/b", "0123456789", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained_bytes, 2 * one);
	pub_set("m/c", "0", 0, 0, &r);
	assert_int_equal(r, -1);
	/* Growing one past the limit is refused; the old one stays. */
	pub_set("m/a", "0123456789x", 0, 0, &r);
	assert_int_equal(r, -1);
	assert_string_equal(retained("m/#"), "m/a=0123456789,m/b=0123456789");
	/* Shrinking one makes room, but not enough for a third. */
	pub_set("m/a", "0", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained_bytes, rsize("m/a", "0") + one);
	pub_set("m/c", "012345678", 0, 0, &r);
	assert_int_equal(r, -1);
	pub_set("m/b", "", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("m/c", "012345678", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained, 2);
	/* Up to the limit exactly, and not a byte more. */
	pub_set("m/a", "0123456789", 0, 0, &r);
	assert_int_equal(r, 0);
	pub_set("m/c", "abcdefghij", 0, 0, &r);
	assert_int_equal(r, 0);
	assert_int_equal(engine_stats.retained_bytes, 2 * one);
	pub_set("m/c", "abcdefghijk", 0, 0, &r);
	assert_int_equal(r, -1);
	assert_int_equal(engine_stats.retained_bytes, 2 * one);
	assert_string_equal(retained("m/+"), "m/a=0123456789,m/c=abcdefghij");
}

static void
test_retain_many_children(void **state)
{
	char	 t[32], p[8];
	int	 i, r;

	(void)state;
	/* Enough children for the node's hash table. */
	for (i = 0; i < 100; i++) {
		snprintf(t, sizeof(t), "wide/%d", i);
		snprintf(p, sizeof(p), "%d", i);
		put(t, p);
	}
	assert_int_equal(engine_stats.retained, 100);
	retained("wide/+");
	assert_int_equal(seen.n, 100);
	retained("#");
	assert_int_equal(seen.n, 100);
	assert_string_equal(retained("wide/57"), "wide/57=57");
	for (i = 0; i < 100; i += 2) {
		snprintf(t, sizeof(t), "wide/%d", i);
		pub_set(t, "", 0, 0, &r);
		assert_int_equal(r, 0);
	}
	assert_int_equal(engine_stats.retained, 50);
	retained("wide/#");
	assert_int_equal(seen.n, 50);
	for (i = 0; i < seen.n; i++)
		assert_int_equal(atoi(strchr(seen.item[i], '=') + 1) % 2, 1);
	assert_string_equal(retained("wide/56"), "");
	assert_string_equal(retained("wide/57"), "wide/57=57");
	for (i = 1; i < 100; i += 2) {
		snprintf(t, sizeof(t), "wide/%d", i);
		pub_set(t, "", 0, 0, &r);
	}
	assert_int_equal(engine_stats.retained, 0);
	assert_string_equal(retained("#"), "");
}

static void
test_retain_msg_shared(void **state)
{
	struct pub	 p;
	struct msg	*m;

	(void)state;
	/* The message object a publish made is the one kept. */
	memset(&p, 0, sizeof(p));
	p.topic = (const uint8_t *)"s/t";
	p.topic_len = 3;
	p.payload = (const uint8_t *)"abc";
	p.payload_len = 3;
	p.qos = 2;
	p.retain = 1;
	assert_int_equal(retain_set(&p), 0);
	m = p.msg;
	assert_non_null(m);
	assert_int_equal(m->refs, 2);
	msg_unref(m);
	assert_int_equal(m->refs, 1);
	assert_int_equal(m->qos, 2);
	assert_int_equal(msg_size(m), rsize("s/t", "abc"));
	assert_string_equal(retained("s/t"), "s/t=abc");
	retain_free_all();
	assert_int_equal(engine_stats.retained, 0);
	assert_string_equal(retained("#"), "");
}

static int
overlap(const char *a, const char *b)
{
	int	 r = topic_overlap((const uint8_t *)a, strlen(a),
		    (const uint8_t *)b, strlen(b));

	/* Overlap is symmetric. */
	assert_int_equal(r, topic_overlap((const uint8_t *)b, strlen(b),
	    (const uint8_t *)a, strlen(a)));
	return r;
}

/* brokerctl show subscriptions FILTER: filters that share a topic. */
static void
test_overlap(void **state)
{
	(void)state;
	assert_true(overlap("a/b", "a/b"));
	assert_false(overlap("a/b", "a/c"));
	assert_false(overlap("a/b", "a/b/c"));
	assert_true(overlap("a/+", "a/b"));
	assert_true(overlap("+/b", "a/+"));
	assert_false(overlap("+/b", "a/c"));
	assert_true(overlap("#", "a/b/c"));
	assert_true(overlap("a/#", "a"));
	assert_true(overlap("a/#", "a/b/c"));
	assert_false(overlap("a/#", "b"));
	assert_true(overlap("a/+/c", "a/#"));
	assert_true(overlap("+/+", "a/b"));
	assert_false(overlap("+/+", "a/b/c"));
	assert_true(overlap("a/", "a/+"));
	assert_false(overlap("a/", "a"));
	/* Wildcards in the first level do not reach $ topics. */
	assert_false(overlap("#", "$SYS/broker/uptime"));
	assert_false(overlap("+/broker/#", "$SYS/broker/uptime"));
	assert_true(overlap("$SYS/#", "$SYS/broker/uptime"));
	assert_true(overlap("#", "+/x"));
	/* Shared subscriptions by their filter. */
	assert_true(overlap("$share/g/a/+", "a/b"));
	assert_false(overlap("$share/g/a/+", "b/b"));
	assert_true(overlap("$share/g/#", "$share/h/x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_wildcards,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_dollar,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_many_on_one_node,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resubscribe,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsubscribe_prune,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_clear,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashed_children,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_collisions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_groups,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_round_robin_state,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_split,
		    setup, teardown),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test_setup_teardown(test_retain_match,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_dollar,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_expiry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_limits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_many_children,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_msg_shared,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
