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
 * Compiled ACLs (see aclmatch.h for the rules and the flat form).
 *
 * aclmatch_build() puts the rules' filters in a trie, one node per
 * level, and makes it deterministic: a state is the set of trie nodes
 * that a topic prefix reaches, so a literal level leads from a state to
 * the union of the nodes' children of that name and their `+' children,
 * and any other level to the `+' children alone.  Sets are interned, so
 * each appears once; every node of a set has the same depth, which is
 * why the states come out in breadth-first order with each target later
 * and deeper than its source.  The work and the size are bounded
 * (ACLM_MAX_*): an ACL that would exceed them is refused, not truncated.
 *
 * aclmatch_decode() validates a flat form in time linear in its length
 * and allocates nothing; aclmatch_topic() then costs one binary search
 * per level of the topic.  aclmatch_subscribe() asks whether a filter
 * can match any topic the client may read: it follows the filter's
 * literal levels like a topic and, at a wildcard, every transition, with
 * each (state, flags) pair visited at most once.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aclmatch.h"
#include "text.h"
#include "compat.h"

/* Flags of a state: tier one (user) in bits 0-2, tier two in 3-5. */
#define F_UR		0x01
#define F_UW		0x02
#define F_UD		0x04
#define F_PR		0x08
#define F_PW		0x10
#define F_PD		0x20
#define F_ALL		0x3f

#define HDR_LEN		16
#define STATE_LEN	16
#define TRANS_LEN	12

/* Bound on the construction's work: nodes gathered over all states. */
#define BUILD_MAX_WORK	(1U << 24)

#define FAIL(w)		do { if (why != NULL) *why = (w); return -1; } while (0)

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/* Deny, grant, then the same for patterns; nothing is denied. */
static inline int
decide(unsigned int acc, int access)
{
	if (acc & F_UD)
		return 0;
	if (acc & access)
		return 1;
	if (acc & F_PD)
		return 0;
	return ((acc >> 3) & access) != 0;
}

/* ------------------------------------------------------------------ */
/* Building */

struct bnode {
	RB_ENTRY(bnode)		 entry;
	RB_HEAD(bkids, bnode)	 kids;
	struct bnode		*plus;
	const char		*lit;
	size_t			 litlen;
	uint32_t		 id;
	uint16_t		 depth;
	uint8_t			 hash;
	uint8_t			 end;
};

static int
bnode_cmp(struct bnode *a, struct bnode *b)
{
	return bytes_cmp(a->lit, a->litlen, b->lit, b->litlen);
}

RB_GENERATE_STATIC(bkids, bnode, entry, bnode_cmp);

/* An interned set of trie nodes: one state. */
struct bset {
	RB_ENTRY(bset)		 entry;
	uint32_t		*ids;
	uint32_t		 n;
	uint32_t		 state;
};

static int
bset_cmp(struct bset *a, struct bset *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return memcmp(a->ids, b->ids, a->n * sizeof(*a->ids));
}

RB_HEAD(bsets, bset);
RB_GENERATE_STATIC(bsets, bset, entry, bset_cmp);

/* An interned literal of the string area. */
struct bstr {
	RB_ENTRY(bstr)		 entry;
	const char		*s;
	size_t			 len;
	uint32_t		 off;
};

static int
bstr_cmp(struct bstr *a, struct bstr *b)
{
	return bytes_cmp(a->s, a->len, b->s, b->len);
}

RB_HEAD(bstrs, bstr);
RB_GENERATE_STATIC(bstrs, bstr, entry, bstr_cmp);

struct bstate {
	const uint32_t		*ids;
	uint32_t		 n;
	uint32_t		 tfirst;
	uint32_t		 tcount;
	uint32_t		 other;
	uint16_t		 depth;
	uint8_t			 hash;
	uint8_t			 end;
};

struct btrans {
	const char		*lit;
	size_t			 len;
	uint32_t		 target;
	uint32_t		 off;
};

/* A literal child met while gathering a state's transitions. */
struct bkid {
	const char		*lit;
	size_t			 len;
	uint32_t		 id;
};

struct build {
	struct bnode		**nodes;
	size_t			 nnodes, capnodes;
	struct bstate		*states;
	size_t			 nstates, capstates;
	struct btrans		*trans;
	size_t			 ntrans, captrans;
	struct bkid		*kids;
	size_t			 capkids;
	uint32_t		*plus, *tmp;
	size_t			 capplus, captmp;
	struct bsets		 sets;
	struct bstrs		 strs;
	size_t			 nstr, sumstr;
	size_t			 work;
	const char		*why;
};

static int
bfail(struct build *b, const char *why)
{
	b->why = why;
	return -1;
}

static int
grow(void *pp, size_t *cap, size_t need, size_t size)
{
	void	**p = pp, *np;
	size_t	  n;

	if (need <= *cap)
		return 0;
	n = *cap < 16 ? 16 : *cap;
	while (n < need)
		n *= 2;
	if ((np = reallocarray(*p, n, size)) == NULL)
		return -1;
	*p = np;
	*cap = n;
	return 0;
}

static struct bnode *
build_node(struct build *b, const char *lit, size_t len, uint16_t depth)
{
	struct bnode	*n;

	if (grow(&b->nodes, &b->capnodes, b->nnodes + 1, sizeof(*b->nodes)) ==
	    -1 || (n = calloc(1, sizeof(*n))) == NULL) {
		b->why = "out of memory";
		return NULL;
	}
	RB_INIT(&n->kids);
	n->lit = lit;
	n->litlen = len;
	n->depth = depth;
	n->id = b->nnodes;
	b->nodes[b->nnodes++] = n;
	return n;
}

/* Adds one rule's filter to the trie. */
static int
build_rule(struct build *b, const struct aclm_rule *r)
{
	struct bnode	*cur = b->nodes[0], *n, key;
	const char	*p = r->filter, *end = r->filter + r->len, *q;
	unsigned int	 bits;
	uint16_t	 depth = 0;

	if (r->flags & ~(ACLR_READ | ACLR_WRITE | ACLR_DENY | ACLR_PATTERN))
		return bfail(b, "bad rule flags");
	if (r->flags & ACLR_DENY) {
		if (r->flags & (ACLR_READ | ACLR_WRITE))
			return bfail(b, "a deny rule grants");
		bits = F_UD;
	} else {
		if ((r->flags & (ACLR_READ | ACLR_WRITE)) == 0)
			return bfail(b, "a rule grants nothing");
		bits = (r->flags & ACLR_READ ? F_UR : 0) |
		    (r->flags & ACLR_WRITE ? F_UW : 0);
	}
	if (r->flags & ACLR_PATTERN)
		bits <<= 3;
	if (r->len == 0)
		return bfail(b, "empty topic filter");

	for (;;) {
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		if (++depth > ACLM_MAX_DEPTH)
			return bfail(b, "too many topic levels");
		if (q - p == 1 && *p == '#') {
			if (q != end)
				return bfail(b, "'#' is not the last level");
			cur->hash |= bits;
			return 0;
		}
		if (q - p == 1 && *p == '+') {
			if (cur->plus == NULL &&
			    (cur->plus = build_node(b, NULL, 0, depth)) == NULL)
				return -1;
			cur = cur->plus;
		} else {
			if (memchr(p, '+', q - p) != NULL ||
			    memchr(p, '#', q - p) != NULL)
				return bfail(b, "a wildcard inside a level");
			if (memchr(p, '\0', q - p) != NULL)
				return bfail(b, "NUL in a topic filter");
			memset(&key, 0, sizeof(key));
			key.lit = p;
			key.litlen = q - p;
			if ((n = RB_FIND(bkids, &cur->kids, &key)) == NULL) {
				if ((n = build_node(b, p, q - p, depth)) == NULL)
					return -1;
				RB_INSERT(bkids, &cur->kids, n);
			}
			cur = n;
		}
		if (q == end)
			break;
		p = q + 1;
	}
	cur->end |= bits;
	return 0;
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
bkidcmp(const void *a, const void *b)
{
	const struct bkid	*x = a, *y = b;
	int			 c;

	if ((c = bytes_cmp(x->lit, x->len, y->lit, y->len)) != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The state for a sorted set of nodes, made if it is new. */
static uint32_t
build_intern(struct build *b, const uint32_t *ids, uint32_t n,
    uint16_t depth)
{
	struct bset	 key, *set;
	struct bstate	*st;
	uint32_t	 i;

	memset(&key, 0, sizeof(key));
	key.ids = (uint32_t *)(uintptr_t)ids;
	key.n = n;
	if ((set = RB_FIND(bsets, &b->sets, &key)) != NULL)
		return set->state;
	if (b->nstates >= ACLM_MAX_STATES) {
		b->why = "too complex (states)";
		return ACLM_NONE;
	}
	if (grow(&b->states, &b->capstates, b->nstates + 1,
	    sizeof(*b->states)) == -1 ||
	    (set = calloc(1, sizeof(*set))) == NULL) {
		b->why = "out of memory";
		return ACLM_NONE;
	}
	if ((set->ids = reallocarray(NULL, n, sizeof(*ids))) == NULL) {
		free(set);
		b->why = "out of memory";
		return ACLM_NONE;
	}
	memcpy(set->ids, ids, n * sizeof(*ids));
	set->n = n;
	set->state = b->nstates;
	RB_INSERT(bsets, &b->sets, set);

	st = &b->states[b->nstates++];
	memset(st, 0, sizeof(*st));
	st->ids = set->ids;
	st->n = n;
	st->depth = depth;
	st->other = ACLM_NONE;
	for (i = 0; i < n; i++) {
		st->hash |= b->nodes[ids[i]]->hash;
		st->end |= b->nodes[ids[i]]->end;
	}
	return set->state;
}

enum bmode { B_NORMAL, B_ROOT, B_ROOT_DOLLAR };

/* Makes state i's transitions. */
static int
build_state(struct build *b, uint32_t i)
{
	static const uint32_t	 root[1] = { 0 };
	const uint32_t		*ids;
	struct bnode		*node, *kid;
	enum bmode		 mode;
	size_t			 nk = 0, np = 0, a, z, k;
	uint32_t		 n, t, j;
	uint16_t		 depth = b->states[i].depth + 1;
	int			 dollar;

	mode = i == 0 ? B_ROOT : i == 1 ? B_ROOT_DOLLAR : B_NORMAL;
	if (mode == B_NORMAL) {
		ids = b->states[i].ids;
		n = b->states[i].n;
	} else {
		ids = root;
		n = 1;
	}
	for (j = 0; j < n; j++) {
		node = b->nodes[ids[j]];
		RB_FOREACH(kid, bkids, &node->kids) {
			dollar = kid->litlen > 0 && kid->lit[0] == '$';
			if ((mode == B_ROOT && dollar) ||
			    (mode == B_ROOT_DOLLAR && !dollar))
				continue;
			if (grow(&b->kids, &b->capkids, nk + 1,
			    sizeof(*b->kids)) == -1)
				return bfail(b, "out of memory");
			b->kids[nk].lit = kid->lit;
			b->kids[nk].len = kid->litlen;
			b->kids[nk++].id = kid->id;
		}
		if (node->plus != NULL && mode != B_ROOT_DOLLAR) {
			if (grow(&b->plus, &b->capplus, np + 1,
			    sizeof(*b->plus)) == -1)
				return bfail(b, "out of memory");
			b->plus[np++] = node->plus->id;
		}
	}
	if ((b->work += nk + np + n) > BUILD_MAX_WORK)
		return bfail(b, "too complex (work)");
	if (nk > 1)
		qsort(b->kids, nk, sizeof(*b->kids), bkidcmp);
	if (np > 1)
		qsort(b->plus, np, sizeof(*b->plus), u32cmp);

	b->states[i].tfirst = b->ntrans;
	for (a = 0; a < nk; a = z) {
		for (z = a + 1; z < nk && bytes_cmp(b->kids[a].lit, b->kids[a].len,
		    b->kids[z].lit, b->kids[z].len) == 0; z++)
			;
		if (grow(&b->tmp, &b->captmp, z - a + np, sizeof(*b->tmp)) ==
		    -1)
			return bfail(b, "out of memory");
		for (k = a; k < z; k++)
			b->tmp[k - a] = b->kids[k].id;
		if (np > 0)
			memcpy(b->tmp + (z - a), b->plus,
			    np * sizeof(*b->plus));
		qsort(b->tmp, z - a + np, sizeof(*b->tmp), u32cmp);
		if ((t = build_intern(b, b->tmp, z - a + np, depth)) ==
		    ACLM_NONE)
			return -1;
		if (grow(&b->trans, &b->captrans, b->ntrans + 1,
		    sizeof(*b->trans)) == -1)
			return bfail(b, "out of memory");
		b->trans[b->ntrans].lit = b->kids[a].lit;
		b->trans[b->ntrans].len = b->kids[a].len;
		b->trans[b->ntrans++].target = t;
	}
	b->states[i].tcount = b->ntrans - b->states[i].tfirst;
	if (np > 0) {
		if ((t = build_intern(b, b->plus, np, depth)) == ACLM_NONE)
			return -1;
		b->states[i].other = t;
	}
	return 0;
}

/* Gives each transition's literal its place in the string area. */
static int
build_strings(struct build *b)
{
	struct bstr	 key, *s;
	size_t		 i;

	for (i = 0; i < b->ntrans; i++) {
		memset(&key, 0, sizeof(key));
		key.s = b->trans[i].lit;
		key.len = b->trans[i].len;
		if ((b->sumstr += key.len) > ACLM_MAX_LEN)
			return bfail(b, "too large");
		if ((s = RB_FIND(bstrs, &b->strs, &key)) == NULL) {
			if ((s = calloc(1, sizeof(*s))) == NULL)
				return bfail(b, "out of memory");
			*s = key;
			s->off = b->nstr;
			b->nstr += key.len;
			RB_INSERT(bstrs, &b->strs, s);
		}
		b->trans[i].off = s->off;
	}
	return 0;
}

static int
build_write(struct build *b, uint8_t **out, size_t *outlen)
{
	struct bstr	*s;
	uint8_t		*buf, *p;
	size_t		 len, i;

	len = HDR_LEN + b->nstates * STATE_LEN + b->ntrans * TRANS_LEN +
	    b->nstr;
	if (len > ACLM_MAX_LEN)
		return bfail(b, "too large");
	if ((buf = malloc(len)) == NULL)
		return bfail(b, "out of memory");
	memcpy(buf, "BACL", 4);
	put32(buf + 4, b->nstates);
	put32(buf + 8, b->ntrans);
	put32(buf + 12, b->nstr);
	p = buf + HDR_LEN;
	for (i = 0; i < b->nstates; i++, p += STATE_LEN) {
		put32(p, b->states[i].tfirst);
		put32(p + 4, b->states[i].tcount);
		put32(p + 8, b->states[i].other);
		put16(p + 12, b->states[i].depth);
		p[14] = b->states[i].hash;
		p[15] = b->states[i].end;
	}
	for (i = 0; i < b->ntrans; i++, p += TRANS_LEN) {
		put32(p, b->trans[i].off);
		put32(p + 4, b->trans[i].len);
		put32(p + 8, b->trans[i].target);
	}
	RB_FOREACH(s, bstrs, &b->strs)
		if (s->len > 0)
			memcpy(p + s->off, s->s, s->len);
	*out = buf;
	*outlen = len;
	return 0;
}

static void
build_free(struct build *b)
{
	struct bset	*set, *nset;
	struct bstr	*s, *ns;
	size_t		 i;

	RB_FOREACH_SAFE(set, bsets, &b->sets, nset) {
		RB_REMOVE(bsets, &b->sets, set);
		free(set->ids);
		free(set);
	}
	RB_FOREACH_SAFE(s, bstrs, &b->strs, ns) {
		RB_REMOVE(bstrs, &b->strs, s);
		free(s);
	}
	for (i = 0; i < b->nnodes; i++)
		free(b->nodes[i]);
	free(b->nodes);
	free(b->states);
	free(b->trans);
	free(b->kids);
	free(b->plus);
	free(b->tmp);
}

/*
 * Compiles n rules into a flat form in *out (malloc'd, *outlen bytes).
 * Returns 0, or -1 with the reason in *why; the rules' strings need
 * only live for the call.
 */
int
aclmatch_build(const struct aclm_rule *rules, size_t n, uint8_t **out,
    size_t *outlen, const char **why)
{
	struct build	 b;
	struct bstate	*st;
	size_t		 i;
	int		 rc = -1;

	memset(&b, 0, sizeof(b));
	RB_INIT(&b.sets);
	RB_INIT(&b.strs);
	if (build_node(&b, NULL, 0, 0) == NULL ||
	    grow(&b.states, &b.capstates, 2, sizeof(*b.states)) == -1) {
		b.why = "out of memory";
		goto done;
	}
	for (i = 0; i < n; i++)
		if (build_rule(&b, &rules[i]) == -1)
			goto done;

	/* States 0 and 1 start topics without and with a leading `$'. */
	for (i = 0; i < 2; i++) {
		st = &b.states[i];
		memset(st, 0, sizeof(*st));
		st->other = ACLM_NONE;
	}
	b.states[0].hash = b.nodes[0]->hash;
	b.nstates = 2;
	for (i = 0; i < b.nstates; i++)
		if (build_state(&b, i) == -1)
			goto done;
	if (build_strings(&b) == -1 || build_write(&b, out, outlen) == -1)
		goto done;
	rc = 0;
 done:
	if (rc == -1 && why != NULL)
		*why = b.why;
	build_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The flat form */

#define ST(m, i)	((m)->state + (size_t)(i) * STATE_LEN)
#define TR(m, j)	((m)->trans + (size_t)(j) * TRANS_LEN)

static inline uint32_t	st_first(const struct aclmatch *m, uint32_t s)
			    { return get32(ST(m, s)); }
static inline uint32_t	st_count(const struct aclmatch *m, uint32_t s)
			    { return get32(ST(m, s) + 4); }
static inline uint32_t	st_other(const struct aclmatch *m, uint32_t s)
			    { return get32(ST(m, s) + 8); }
static inline uint16_t	st_depth(const struct aclmatch *m, uint32_t s)
			    { return get16(ST(m, s) + 12); }
static inline uint8_t	st_hash(const struct aclmatch *m, uint32_t s)
			    { return ST(m, s)[14]; }
static inline uint8_t	st_end(const struct aclmatch *m, uint32_t s)
			    { return ST(m, s)[15]; }
static inline uint32_t	tr_target(const struct aclmatch *m, uint32_t j)
			    { return get32(TR(m, j) + 8); }

static int
target_ok(const struct aclmatch *m, uint32_t from, uint16_t depth,
    uint32_t to)
{
	return to > from && to < m->nstates && st_depth(m, to) == depth + 1;
}

/*
 * Checks a flat form of len bytes and points m into it: 0, or -1 with
 * the reason in *why.  Time linear in len; nothing allocated.
 */
int
aclmatch_decode(struct aclmatch *m, const void *buf, size_t len,
    const char **why)
{
	const uint8_t	*p = buf, *tr, *s, *prev = NULL;
	uint64_t	 need, sum = 0;
	uint32_t	 i, j, first, count, other, off, slen, prevlen = 0;
	uint16_t	 depth;
	size_t		 k;

	if (len < HDR_LEN || memcmp(p, "BACL", 4) != 0)
		FAIL("not a compiled ACL");
	if (len > ACLM_MAX_LEN)
		FAIL("compiled ACL too long");
	m->nstates = get32(p + 4);
	m->ntrans = get32(p + 8);
	m->nstr = get32(p + 12);
	if (m->nstates < 2 || m->nstates > ACLM_MAX_STATES)
		FAIL("bad number of states");
	need = HDR_LEN + (uint64_t)m->nstates * STATE_LEN +
	    (uint64_t)m->ntrans * TRANS_LEN + m->nstr;
	if (need != len)
		FAIL("length does not match the counts");
	m->state = p + HDR_LEN;
	m->trans = m->state + (size_t)m->nstates * STATE_LEN;
	m->str = m->trans + (size_t)m->ntrans * TRANS_LEN;

	for (k = 0; k < m->nstr; k++)
		if (m->str[k] == '/' || m->str[k] == '+' || m->str[k] == '#' ||
		    m->str[k] == '\0')
			FAIL("bad character in a level");

	for (i = 0, j = 0; i < m->nstates; i++) {
		first = st_first(m, i);
		count = st_count(m, i);
		other = st_other(m, i);
		depth = st_depth(m, i);
		if (first != j || count > m->ntrans - j)
			FAIL("transitions out of order");
		if ((st_hash(m, i) | st_end(m, i)) & ~F_ALL)
			FAIL("bad flags");
		if (i < 2) {
			if (depth != 0 || st_end(m, i) != 0)
				FAIL("bad start state");
			if (i == 1 && (st_hash(m, i) != 0 ||
			    other != ACLM_NONE))
				FAIL("wildcards match a `$' topic");
		} else if (depth == 0 || depth > ACLM_MAX_DEPTH)
			FAIL("bad depth");
		if (other != ACLM_NONE && !target_ok(m, i, depth, other))
			FAIL("bad target");
		for (; j < first + count; j++) {
			tr = TR(m, j);
			off = get32(tr);
			slen = get32(tr + 4);
			if (off > m->nstr || slen > m->nstr - off)
				FAIL("level out of bounds");
			if ((sum += slen) > ACLM_MAX_LEN)
				FAIL("levels too long");
			s = m->str + off;
			if (i == 0 && slen > 0 && s[0] == '$')
				FAIL("`$' level from the wrong start");
			if (i == 1 && (slen == 0 || s[0] != '$'))
				FAIL("level without `$' from the `$' start");
			if (j > first && bytes_cmp((const char *)prev, prevlen,
			    (const char *)s, slen) >= 0)
				FAIL("levels not sorted");
			if (!target_ok(m, i, depth, get32(tr + 8)))
				FAIL("bad target");
			prev = s;
			prevlen = slen;
		}
	}
	if (j != m->ntrans)
		FAIL("transitions without a state");
	return 0;
}

/* The state after one level, or ACLM_NONE. */
static uint32_t
aclm_step(const struct aclmatch *m, uint32_t s, const char *lvl, size_t n)
{
	const uint8_t	*tr;
	uint32_t	 lo = st_first(m, s), hi = lo + st_count(m, s), mid;
	int		 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		tr = TR(m, mid);
		c = bytes_cmp((const char *)m->str + get32(tr), get32(tr + 4),
		    lvl, n);
		if (c == 0)
			return get32(tr + 8);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return st_other(m, s);
}

/*
 * May the client do `access' (ACLM_READ or ACLM_WRITE) to a topic name?
 * 1 or 0; a topic with wildcards, or empty, is denied.
 */
int
aclmatch_topic(const struct aclmatch *m, const char *topic, size_t len,
    int access)
{
	const char	*p = topic, *end = topic + len, *q;
	unsigned int	 acc = 0;
	uint32_t	 s;

	if ((access != ACLM_READ && access != ACLM_WRITE) || len == 0 ||
	    memchr(topic, '+', len) != NULL || memchr(topic, '#', len) != NULL)
		return 0;
	s = topic[0] == '$' ? 1 : 0;
	for (;;) {
		acc |= st_hash(m, s);
		if (acc & F_UD)
			return 0;
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		if ((s = aclm_step(m, s, p, q - p)) == ACLM_NONE)
			break;
		if (q == end) {
			acc |= st_hash(m, s) | st_end(m, s);
			break;
		}
		p = q + 1;
	}
	return decide(acc, access);
}

/* ------------------------------------------------------------------ */
/* Subscriptions */

struct subwalk {
	const struct aclmatch	*m;
	uint16_t		*seen;
	const char		*end;
};

/* Was state s met with these flags (as far as reading goes) before? */
static int
sub_seen(struct subwalk *w, uint32_t s, unsigned int acc, int freemode)
{
	unsigned int	 bit;

	if (w->seen == NULL)
		return 0;
	bit = (acc & F_UR ? 1 : 0) | (acc & F_PR ? 2 : 0) | (acc & F_PD ? 4 : 0);
	bit = 1U << (bit + (freemode ? 8 : 0));
	if (w->seen[s] & bit)
		return 1;
	w->seen[s] |= bit;
	return 0;
}

/* After a `#': any further levels, or none (except at the start). */
static int
sub_free(struct subwalk *w, uint32_t s, unsigned int acc)
{
	const struct aclmatch	*m = w->m;
	uint32_t		 j, first, t;
	unsigned int		 a;

	if (sub_seen(w, s, acc, 1))
		return 0;
	if (s > 1 && decide(acc | st_end(m, s), ACLM_READ))
		return 1;
	first = st_first(m, s);
	for (j = first; j < first + st_count(m, s); j++) {
		t = tr_target(m, j);
		a = acc | st_hash(m, t);
		if (!(a & F_UD) && sub_free(w, t, a))
			return 1;
	}
	if ((t = st_other(m, s)) == ACLM_NONE)
		return decide(acc, ACLM_READ);
	a = acc | st_hash(m, t);
	return !(a & F_UD) && sub_free(w, t, a);
}

/*
 * Entering state s with the flags met before it; p is the rest of the
 * filter, NULL once all of it has been consumed.
 */
static int
sub_follow(struct subwalk *w, uint32_t s, unsigned int acc, const char *p)
{
	const struct aclmatch	*m = w->m;
	const char		*q, *next;
	uint32_t		 j, first, t;

	acc |= st_hash(m, s);
	if ((acc & F_UD) || sub_seen(w, s, acc, 0))
		return 0;
	if (p == NULL)
		return decide(acc | st_end(m, s), ACLM_READ);
	if ((q = memchr(p, '/', w->end - p)) == NULL)
		q = w->end;
	next = q == w->end ? NULL : q + 1;
	if (q - p == 1 && *p == '#')
		return sub_free(w, s, acc);
	if (q - p == 1 && *p == '+') {
		first = st_first(m, s);
		for (j = first; j < first + st_count(m, s); j++)
			if (sub_follow(w, tr_target(m, j), acc, next))
				return 1;
		t = st_other(m, s);
	} else
		t = aclm_step(m, s, p, q - p);
	/* Past the last state nothing matches: any rest of the filter. */
	if (t == ACLM_NONE)
		return decide(acc, ACLM_READ);
	return sub_follow(w, t, acc, next);
}

static int
filter_valid(const char *f, size_t len)
{
	const char	*p = f, *end = f + len, *q;

	if (len == 0)
		return 0;
	for (;;) {
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		if (q - p == 1 && *p == '#') {
			if (q != end)
				return 0;
		} else if (!(q - p == 1 && *p == '+') &&
		    (memchr(p, '+', q - p) != NULL ||
		    memchr(p, '#', q - p) != NULL))
			return 0;
		if (q == end)
			return 1;
		p = q + 1;
	}
}

/*
 * May the client subscribe to a filter (without any `$share/group/'),
 * that is, can the filter match at least one topic the client may read?
 * 1 or 0; an invalid filter, or no memory for the walk, gives 0.  What
 * it does match is still checked per message with aclmatch_topic().
 */
int
aclmatch_subscribe(const struct aclmatch *m, const char *filter, size_t len)
{
	struct subwalk	 w;
	uint16_t	 local[512];
	int		 r;

	if (!filter_valid(filter, len))
		return 0;
	w.m = m;
	w.end = filter + len;
	w.seen = NULL;
	if (memchr(filter, '+', len) != NULL ||
	    memchr(filter, '#', len) != NULL) {
		if (m->nstates <= sizeof(local) / sizeof(local[0])) {
			memset(local, 0, m->nstates * sizeof(local[0]));
			w.seen = local;
		} else if ((w.seen = calloc(m->nstates, sizeof(*w.seen))) ==
		    NULL)
			return 0;
	}
	r = sub_follow(&w, filter[0] == '$' ? 1 : 0, 0, filter);
	if (w.seen != local)
		free(w.seen);
	return r;
}
