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
 * The topic tree: one node per level, children found by hashing their
 * level (a short list is scanned instead), `+' and `#' children apart.
 * Subscriptions hang off the node of their filter; shared subscriptions
 * are grouped per $share/GROUP/ on that node.  Every walk is iterative:
 * a filter of 65,535 levels costs a loop, not a stack.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "compat.h"

#define KIDS_LINEAR	8	/* up to this many: a list, not a table */

static struct tnode	*sub_root;

/* Scratch for matching: the nodes reached so far, and the levels. */
static struct tnode	**frontier, **frontier_next;
static size_t		 frontier_cap;
static const uint8_t	**lv_ptr;
static uint16_t		*lv_len;
static unsigned int	 lv_cap;

static int	sub_cmp(struct sub *, struct sub *);
RB_GENERATE(sub_tree, sub, entry, sub_cmp);

static int
sub_cmp(struct sub *a, struct sub *b)
{
	return strcmp(a->filter, b->filter);
}

#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);	\
	v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);	\
} while (0)

/*
 * SipHash-2-4 of a level with a key drawn at start: level names a client
 * chooses cannot be made to collide, as with an unkeyed hash and linear
 * probing they could (every lookup a scan of the table).
 */
uint32_t
topic_level_hash(const uint8_t *p, size_t len)
{
	static uint64_t	 k[2];
	static int	 keyed;
	uint64_t	 v0, v1, v2, v3, m, b = (uint64_t)len << 56;
	size_t		 i, left = len & 7;

	if (!keyed) {
		arc4random_buf(k, sizeof(k));
		keyed = 1;
	}
	v0 = k[0] ^ 0x736f6d6570736575ULL;
	v1 = k[1] ^ 0x646f72616e646f6dULL;
	v2 = k[0] ^ 0x6c7967656e657261ULL;
	v3 = k[1] ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		m = le64toh(m);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (m = 0; left > 0; left--)
		m |= (uint64_t)p[i + left - 1] << (8 * (left - 1));
	b |= m;
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return (uint32_t)(v0 ^ v1 ^ v2 ^ v3);
}

static struct tnode *
tnode_new(struct tnode *parent, const uint8_t *lvl, size_t len,
    uint32_t hv)
{
	struct tnode	*n;

	if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		fatal(NULL);
	n->parent = parent;
	n->hv = hv;
	n->len = len;
	memcpy(n->level, lvl, len);
	LIST_INIT(&n->groups);
	return n;
}

static int
kid_is(const struct tnode *k, const uint8_t *lvl, size_t len, uint32_t hv)
{
	return k->hv == hv && k->len == len && memcmp(k->level, lvl, len) == 0;
}

static struct tnode *
kids_find(const struct tnode *n, const uint8_t *lvl, size_t len,
    uint32_t hv)
{
	uint32_t	 i, mask;

	if (n->kcap <= KIDS_LINEAR) {
		for (i = 0; i < n->nkids; i++)
			if (kid_is(n->kids[i], lvl, len, hv))
				return n->kids[i];
		return NULL;
	}
	mask = n->kcap - 1;
	for (i = hv & mask; n->kids[i] != NULL; i = (i + 1) & mask)
		if (kid_is(n->kids[i], lvl, len, hv))
			return n->kids[i];
	return NULL;
}

static void
kids_table_put(struct tnode **tab, uint32_t cap, struct tnode *k)
{
	uint32_t	 i, mask = cap - 1;

	for (i = k->hv & mask; tab[i] != NULL; i = (i + 1) & mask)
		;
	tab[i] = k;
}

static void
kids_insert(struct tnode *n, struct tnode *k)
{
	struct tnode	**tab;
	uint32_t	 i, cap;

	if (n->kcap <= KIDS_LINEAR && n->nkids < KIDS_LINEAR) {
		if (n->nkids == n->kcap) {
			cap = n->kcap == 0 ? 2 : n->kcap * 2;
			if ((tab = reallocarray(n->kids, cap,
			    sizeof(*tab))) == NULL)
				fatal(NULL);
			n->kids = tab;
			n->kcap = cap;
		}
		n->kids[n->nkids++] = k;
		return;
	}
	/* A table at most half full. */
	if (n->kcap <= KIDS_LINEAR || (n->nkids + 1) * 2 > n->kcap) {
		cap = n->kcap <= KIDS_LINEAR ? 32 : n->kcap * 2;
		if ((tab = calloc(cap, sizeof(*tab))) == NULL)
			fatal(NULL);
		if (n->kcap <= KIDS_LINEAR) {
			for (i = 0; i < n->nkids; i++)
				kids_table_put(tab, cap, n->kids[i]);
		} else {
			for (i = 0; i < n->kcap; i++)
				if (n->kids[i] != NULL)
					kids_table_put(tab, cap, n->kids[i]);
		}
		free(n->kids);
		n->kids = tab;
		n->kcap = cap;
	}
	kids_table_put(n->kids, n->kcap, k);
	n->nkids++;
}

static void
kids_remove(struct tnode *n, struct tnode *k)
{
	uint32_t	 i, j, mask, want;

	if (n->kcap <= KIDS_LINEAR) {
		for (i = 0; i < n->nkids; i++)
			if (n->kids[i] == k) {
				n->kids[i] = n->kids[--n->nkids];
				break;
			}
	} else {
		mask = n->kcap - 1;
		for (i = k->hv & mask; n->kids[i] != k; i = (i + 1) & mask)
			;
		n->kids[i] = NULL;
		n->nkids--;
		/* Close the gap: move up what probed past it. */
		for (j = (i + 1) & mask; n->kids[j] != NULL;
		    j = (j + 1) & mask) {
			want = n->kids[j]->hv & mask;
			if ((j > i && (want <= i || want > j)) ||
			    (j < i && (want <= i && want > j))) {
				n->kids[i] = n->kids[j];
				n->kids[j] = NULL;
				i = j;
			}
		}
	}
	if (n->nkids == 0) {
		free(n->kids);
		n->kids = NULL;
		n->kcap = 0;
	}
}

/* Visit every child of `n' (for walks of the retained tree). */
struct tnode *
tnode_kid(const struct tnode *n, uint32_t *i)
{
	uint32_t	 lim = n->kcap <= KIDS_LINEAR ? n->nkids : n->kcap;

	while (*i < lim) {
		struct tnode	*k = n->kids[(*i)++];

		if (k != NULL)
			return k;
	}
	return NULL;
}

/*
 * The child of `n' for one level, created if `create'.  `+' and `#' are
 * ordinary levels here; the subscription tree treats them apart.
 */
struct tnode *
tnode_lookup(struct tnode *n, const uint8_t *lvl, size_t len, int create)
{
	struct tnode	*k;
	uint32_t	 hv = topic_level_hash(lvl, len);

	if ((k = kids_find(n, lvl, len, hv)) != NULL || !create)
		return k;
	k = tnode_new(n, lvl, len, hv);
	kids_insert(n, k);
	return k;
}

static int
tnode_empty(const struct tnode *n)
{
	return n->nkids == 0 && n->plus == NULL && n->hash == NULL &&
	    n->nsubs == 0 && LIST_EMPTY(&n->groups) && n->retained == NULL;
}

/* Free `n' and the ancestors that hold nothing any more. */
void
tnode_prune(struct tnode *n)
{
	struct tnode	*p;

	while ((p = n->parent) != NULL && tnode_empty(n)) {
		if (p->plus == n)
			p->plus = NULL;
		else if (p->hash == n)
			p->hash = NULL;
		else
			kids_remove(p, n);
		free(n->subs);
		free(n);
		n = p;
	}
}

struct tnode *
tnode_root(void)
{
	return tnode_new(NULL, (const uint8_t *)"", 0, 0);
}

void
topic_init(void)
{
	sub_root = tnode_root();
}

/*
 * Split a topic into its levels, at most `max'.  Returns the number of
 * levels (more than `max' if there are more).
 */
unsigned int
topic_split(const uint8_t *t, size_t len, const uint8_t **ptr,
    uint16_t *lens, unsigned int max)
{
	unsigned int	 n = 0;
	size_t		 i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && t[i] != '/')
			continue;
		if (n < max) {
			ptr[n] = t + start;
			lens[n] = i - start;
		}
		n++;
		start = i + 1;
	}
	return n;
}

static void
levels_reserve(unsigned int n)
{
	const uint8_t	**np;
	uint16_t	 *nl;

	if (n <= lv_cap)
		return;
	if ((np = reallocarray(lv_ptr, n, sizeof(*lv_ptr))) == NULL)
		fatal(NULL);
	lv_ptr = np;
	if ((nl = reallocarray(lv_len, n, sizeof(*lv_len))) == NULL)
		fatal(NULL);
	lv_len = nl;
	lv_cap = n;
}

/* The node of a filter (without $share/GROUP/), created on the way. */
static struct tnode *
topic_node(const uint8_t *f, size_t len)
{
	struct tnode	*n = sub_root, *k;
	size_t		 i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && f[i] != '/')
			continue;
		if (i - start == 1 && f[start] == '+') {
			if (n->plus == NULL)
				n->plus = tnode_new(n, f + start, 1, 0);
			k = n->plus;
		} else if (i - start == 1 && f[start] == '#') {
			if (n->hash == NULL)
				n->hash = tnode_new(n, f + start, 1, 0);
			k = n->hash;
		} else
			k = tnode_lookup(n, f + start, i - start, 1);
		n = k;
		start = i + 1;
	}
	return n;
}

static void
ptr_append(void ***arr, uint32_t *n, uint32_t *cap, void *p)
{
	void	**a;

	if (*n == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		if ((a = reallocarray(*arr, *cap, sizeof(*a))) == NULL)
			fatal(NULL);
		*arr = a;
	}
	(*arr)[(*n)++] = p;
}

static struct sgroup *
group_get(struct tnode *n, const uint8_t *name, size_t len)
{
	struct sgroup	*g;

	LIST_FOREACH(g, &n->groups, entry)
		if (strlen(g->name) == len && memcmp(g->name, name, len) == 0)
			return g;
	if ((g = calloc(1, sizeof(*g) + len + 1)) == NULL)
		fatal(NULL);
	memcpy(g->name, name, len);
	g->node = n;
	LIST_INSERT_HEAD(&n->groups, g, entry);
	return g;
}

/*
 * Subscribe `s' to a checked filter.  An existing subscription to the
 * same filter gets the new options.  *existed says which it was.
 */
int
topic_subscribe(struct session *s, const uint8_t *f, size_t len,
    uint8_t opts, uint32_t id, struct sub **out, int *existed)
{
	struct sub	*sub, *old;
	struct mqtt_str	 gname, filter;
	struct tnode	*n;

	if ((sub = calloc(1, sizeof(*sub) + len + 1)) == NULL)
		fatal(NULL);
	memcpy(sub->filter, f, len);
	if ((old = RB_FIND(sub_tree, &s->subs, sub)) != NULL) {
		free(sub);
		old->opts = opts;
		old->id = id;
		*out = old;
		*existed = 1;
		return 0;
	}
	sub->sess = s;
	sub->opts = opts;
	sub->id = id;
	if (mqtt_shared_split(f, len, &gname, &filter) == 1) {
		n = topic_node(filter.p, filter.len);
		sub->group = group_get(n, gname.p, gname.len);
		sub->idx = sub->group->n;
		ptr_append((void ***)&sub->group->members, &sub->group->n,
		    &sub->group->cap, sub);
		engine_stats.shared_subscriptions++;
	} else {
		n = topic_node(f, len);
		sub->idx = n->nsubs;
		ptr_append((void ***)&n->subs, &n->nsubs, &n->scap, sub);
	}
	sub->node = n;
	RB_INSERT(sub_tree, &s->subs, sub);
	s->nsubs++;
	engine_stats.subscriptions++;
	*out = sub;
	*existed = 0;
	return 0;
}

void
topic_remove_sub(struct sub *sub)
{
	struct session	*s = sub->sess;
	struct sgroup	*g = sub->group;
	struct tnode	*n = sub->node;

	if (g != NULL) {
		engine_stats.shared_subscriptions--;
		g->members[sub->idx] = g->members[--g->n];
		g->members[sub->idx]->idx = sub->idx;
		if (g->next >= g->n)
			g->next = 0;
		if (g->n == 0) {
			LIST_REMOVE(g, entry);
			free(g->members);
			free(g);
		}
	} else {
		n->subs[sub->idx] = n->subs[--n->nsubs];
		n->subs[sub->idx]->idx = sub->idx;
		if (n->nsubs == 0) {
			free(n->subs);
			n->subs = NULL;
			n->scap = 0;
		}
	}
	replay_cancel(sub);
	RB_REMOVE(sub_tree, &s->subs, sub);
	s->nsubs--;
	engine_stats.subscriptions--;
	free(sub);
	tnode_prune(n);
}

struct sub *
topic_find_sub(struct session *s, const uint8_t *f, size_t len)
{
	struct sub	*key, *sub;

	if ((key = calloc(1, sizeof(*key) + len + 1)) == NULL)
		fatal(NULL);
	memcpy(key->filter, f, len);
	sub = RB_FIND(sub_tree, &s->subs, key);
	free(key);
	return sub;
}

/* The subscription of `s' after `filter' (the first if NULL), in order. */
struct sub *
topic_sub_after(struct session *s, const char *filter)
{
	struct sub	*key, *sub;
	size_t		 len;

	if (filter == NULL)
		return RB_MIN(sub_tree, &s->subs);
	len = strlen(filter);
	if ((key = calloc(1, sizeof(*key) + len + 1)) == NULL)
		fatal(NULL);
	memcpy(key->filter, filter, len);
	if ((sub = RB_NFIND(sub_tree, &s->subs, key)) != NULL &&
	    strcmp(sub->filter, filter) == 0)
		sub = RB_NEXT(sub_tree, &s->subs, sub);
	free(key);
	return sub;
}

/* The levels of a topic or filter, one at a time. */
struct lvcur {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
	int		 done;
};

static int
lv_next(struct lvcur *c, const uint8_t **lp, size_t *ll)
{
	const uint8_t	*slash;

	if (c->done)
		return 0;
	*lp = c->p + c->pos;
	if ((slash = memchr(*lp, '/', c->len - c->pos)) == NULL) {
		*ll = c->len - c->pos;
		c->done = 1;
	} else {
		*ll = slash - *lp;
		c->pos += *ll + 1;
	}
	return 1;
}

#define LV_IS(p, l, ch)	((l) == 1 && (p)[0] == (ch))

/*
 * 1 if some topic matches both filters `a' and `b' (a topic name is a
 * filter without wildcards), the filters of shared subscriptions taken
 * without their $share/GROUP/.  A wildcard in the first level matches
 * no topic that starts with `$'.
 */
int
topic_overlap(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct lvcur	 ca, cb;
	struct mqtt_str	 g, f;
	const uint8_t	*la, *lb;
	size_t		 lal, lbl;
	int		 ha, hb, wa, wb, first = 1;

	if (mqtt_shared_split(a, alen, &g, &f) == 1) {
		a = f.p;
		alen = f.len;
	}
	if (mqtt_shared_split(b, blen, &g, &f) == 1) {
		b = f.p;
		blen = f.len;
	}
	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	ca.p = a;
	ca.len = alen;
	cb.p = b;
	cb.len = blen;
	for (;;) {
		ha = lv_next(&ca, &la, &lal);
		hb = lv_next(&cb, &lb, &lbl);
		if (!ha || !hb) {
			/* "a/#" matches "a". */
			if (ha)
				return LV_IS(la, lal, '#');
			if (hb)
				return LV_IS(lb, lbl, '#');
			return 1;
		}
		wa = LV_IS(la, lal, '#') || LV_IS(la, lal, '+');
		wb = LV_IS(lb, lbl, '#') || LV_IS(lb, lbl, '+');
		if (first && ((wa && !wb && lbl > 0 && lb[0] == '$') ||
		    (wb && !wa && lal > 0 && la[0] == '$')))
			return 0;
		first = 0;
		if (LV_IS(la, lal, '#') || LV_IS(lb, lbl, '#'))
			return 1;
		if (wa || wb)
			continue;
		if (lal != lbl || memcmp(la, lb, lal) != 0)
			return 0;
	}
}

/* Returns 0, or -1 if `s' had no such subscription. */
int
topic_unsubscribe(struct session *s, const uint8_t *f, size_t len)
{
	struct sub	*sub;

	if ((sub = topic_find_sub(s, f, len)) == NULL)
		return -1;
	topic_remove_sub(sub);
	return 0;
}

static void
frontier_reserve(size_t n)
{
	struct tnode	**a;
	size_t		 cap = frontier_cap == 0 ? 64 : frontier_cap;

	if (n <= frontier_cap)
		return;
	while (cap < n)
		cap *= 2;
	if ((a = reallocarray(frontier, cap, sizeof(*frontier))) == NULL)
		fatal(NULL);
	frontier = a;
	if ((a = reallocarray(frontier_next, cap, sizeof(*a))) == NULL)
		fatal(NULL);
	frontier_next = a;
	frontier_cap = cap;
}

static void
emit(const struct tnode *n, topic_match_cb cb, void (*gcb)(struct sgroup *,
    void *), void *arg)
{
	struct sgroup	*g;
	uint32_t	 i;

	for (i = 0; i < n->nsubs; i++)
		cb(n->subs[i], arg);
	LIST_FOREACH(g, &n->groups, entry)
		gcb(g, arg);
}

/*
 * Every subscription whose filter matches `topic': `cb' for each ordinary
 * one, `gcb' for each shared group.  A topic starting with `$' is not
 * matched by a wildcard in the first level.
 */
void
topic_match(const uint8_t *topic, size_t len, topic_match_cb cb,
    void (*gcb)(struct sgroup *, void *), void *arg)
{
	struct tnode	**cur, **next, **tmp, *n, *k;
	size_t		 ncur, nnext;
	unsigned int	 nlev, i;
	size_t		 j;
	int		 dollar = len > 0 && topic[0] == '$';

	levels_reserve(econf.max_topic_levels + 1);
	nlev = topic_split(topic, len, lv_ptr, lv_len, lv_cap);
	if (nlev > lv_cap)
		return;
	frontier_reserve(16);
	cur = frontier;
	next = frontier_next;
	cur[0] = sub_root;
	ncur = 1;
	for (i = 0; i < nlev && ncur > 0; i++) {
		uint32_t	 hv = topic_level_hash(lv_ptr[i], lv_len[i]);
		int		 wild = !(i == 0 && dollar);

		/* Each node adds at most two to the next frontier. */
		frontier_reserve(2 * ncur + 1);
		cur = frontier;
		next = frontier_next;
		nnext = 0;
		for (j = 0; j < ncur; j++) {
			n = cur[j];
			if (wild && n->hash != NULL)
				emit(n->hash, cb, gcb, arg);
			if (wild && n->plus != NULL)
				next[nnext++] = n->plus;
			if (n->nkids > 0 && (k = kids_find(n, lv_ptr[i],
			    lv_len[i], hv)) != NULL)
				next[nnext++] = k;
		}
		tmp = frontier;
		frontier = frontier_next;
		frontier_next = tmp;
		ncur = nnext;
	}
	cur = frontier;
	for (j = 0; j < ncur; j++) {
		emit(cur[j], cb, gcb, arg);
		/* "a/#" matches "a" too. */
		if (cur[j]->hash != NULL)
			emit(cur[j]->hash, cb, gcb, arg);
	}
}
