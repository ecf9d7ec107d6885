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
 * A naive reference for ACLs, for test_acl.c and fuzz_aclmatch.c: random
 * ACLs kept as structures and written out as acl_file text, and
 * Mosquitto's check written the way Mosquitto does it, a scan of every
 * rule with the placeholders compared level by level, nothing compiled.
 * Subscriptions are judged by trying every topic the filter matches over
 * the ACL's own words plus fresh ones.  Deliberately simple and slow.
 */

#ifndef ACLREF_H
#define ACLREF_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "aclmatch.h"

#define REF_MAXLEV	8
#define REF_MAXRULES	24
#define REF_MAXBLOCKS	8
#define REF_WORD	16

struct ref_rule {
	int		 pattern;
	int		 block;		/* -1: anonymous; patterns: -1 */
	unsigned int	 access;	/* ACLR_READ/WRITE/DENY */
	int		 noword;	/* written without its access word */
	char		 filter[REF_MAXLEV * (REF_WORD + 1)];
};

struct ref_block {
	int		 group;
	char		 name[REF_WORD];
	int		 nmembers;
	char		 members[3][REF_WORD];
};

struct ref_acl {
	int		 nblocks;
	struct ref_block blocks[REF_MAXBLOCKS];
	int		 nrules;
	struct ref_rule	 rules[REF_MAXRULES];
};

static uint64_t	 ref_rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
ref_rand(uint32_t n)
{
	uint64_t	 x = ref_rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ref_rng_state = x;
	return n == 0 ? 0 : (uint32_t)((x >> 32) % n);
}

/* The words of random ACLs, user names, client ids and topics. */
static const char *const ref_levels[] = { "a", "b", "$s", "", "u1", "c1" };
static const char *const ref_users[] = { "u1", "u2", "a", "+", "u#", "x/y",
    "", "$s" };
static const char *const ref_cids[] = { "c1", "c2", "a", "#", "c+", "p/q",
    "u1", "$s" };
static const char *const ref_topic_levels[] = { "a", "b", "$s", "", "u1",
    "u2", "c1", "c2", "zz", "$zz" };
static const char *const ref_names[] = { "u1", "u2", "a", "+", "x/y" };

#define REF_N(a)	(sizeof(a) / sizeof((a)[0]))

static void
ref_random_filter(char *f, size_t size, int pattern, int maxdepth)
{
	int	 depth = 1 + ref_rand(maxdepth), i, r;

	f[0] = '\0';
	for (i = 0; i < depth; i++) {
		if (i > 0)
			strlcat(f, "/", size);
		r = ref_rand(pattern ? 10 : 8);
		if (r < 6)
			strlcat(f, ref_levels[r], size);
		else if (r == 6)
			strlcat(f, "+", size);
		else if (r == 7) {
			strlcat(f, "#", size);
			break;
		} else
			strlcat(f, r == 8 ? "%u" : "%c", size);
	}
	if (f[0] == '\0')
		strlcpy(f, "a", size);
}

static void
ref_random_acl(struct ref_acl *acl)
{
	static const unsigned int access[] = { ACLR_READ, ACLR_WRITE,
	    ACLR_READ | ACLR_WRITE, ACLR_DENY };
	struct ref_rule		*r;
	struct ref_block	*b;
	int			 i, n, k;

	memset(acl, 0, sizeof(*acl));
	acl->nblocks = ref_rand(5);
	for (i = 0; i < acl->nblocks; i++) {
		b = &acl->blocks[i];
		b->group = ref_rand(3) == 0;
		if (b->group) {
			strlcpy(b->name, ref_rand(2) ? "g1" : "g2",
			    sizeof(b->name));
			b->nmembers = ref_rand(3);
			for (k = 0; k < b->nmembers; k++)
				strlcpy(b->members[k],
				    ref_names[ref_rand(REF_N(ref_names))],
				    sizeof(b->members[k]));
		} else
			strlcpy(b->name, ref_names[ref_rand(REF_N(ref_names))],
			    sizeof(b->name));
	}
	n = ref_rand(10);
	for (i = 0; i < n; i++) {
		r = &acl->rules[acl->nrules++];
		r->pattern = ref_rand(4) == 0;
		r->block = r->pattern || acl->nblocks == 0 ? -1 :
		    (int)ref_rand(acl->nblocks + 1) - 1;
		r->access = access[ref_rand(4)];
		r->noword = r->access == (ACLR_READ | ACLR_WRITE) &&
		    ref_rand(2);
		ref_random_filter(r->filter, sizeof(r->filter), r->pattern, 3);
	}
}

static const char *
ref_access_word(unsigned int a)
{
	switch (a) {
	case ACLR_READ:
		return "read";
	case ACLR_WRITE:
		return "write";
	case ACLR_DENY:
		return "deny";
	default:
		return "readwrite";
	}
}

static void
ref_rule_text(const struct ref_rule *r, char *out, size_t size)
{
	char	 line[256];

	if (r->noword)
		snprintf(line, sizeof(line), "%s %s\n", r->pattern ? "pattern" :
		    "topic", r->filter);
	else
		snprintf(line, sizeof(line), "%s %s %s\n", r->pattern ?
		    "pattern" : "topic", ref_access_word(r->access), r->filter);
	strlcat(out, line, size);
}

/* As an acl_file; patterns go anywhere but into group blocks. */
static void
ref_text(const struct ref_acl *acl, char *out, size_t size)
{
	int	 i, b, k, placed[REF_MAXRULES] = { 0 }, users = 0;

	for (b = 0; b < acl->nblocks; b++)
		users += !acl->blocks[b].group;
	out[0] = '\0';
	strlcat(out, "# random ACL\n", size);
	for (i = 0; i < acl->nrules; i++)
		if (!acl->rules[i].pattern && acl->rules[i].block == -1)
			ref_rule_text(&acl->rules[i], out, size);
	for (i = 0; i < acl->nrules; i++)
		if (acl->rules[i].pattern && (i % 2 || users == 0)) {
			ref_rule_text(&acl->rules[i], out, size);
			placed[i] = 1;
		}
	for (b = 0; b < acl->nblocks; b++) {
		strlcat(out, acl->blocks[b].group ? "\ngroup " : "\nuser ",
		    size);
		strlcat(out, acl->blocks[b].name, size);
		strlcat(out, "\n", size);
		if (acl->blocks[b].nmembers > 0) {
			strlcat(out, "member", size);
			for (k = 0; k < acl->blocks[b].nmembers; k++) {
				strlcat(out, " ", size);
				strlcat(out, acl->blocks[b].members[k], size);
			}
			strlcat(out, "\n", size);
		}
		for (i = 0; i < acl->nrules; i++)
			if (!acl->rules[i].pattern && acl->rules[i].block == b)
				ref_rule_text(&acl->rules[i], out, size);
		if (!acl->blocks[b].group)
			for (i = 0; i < acl->nrules; i++)
				if (acl->rules[i].pattern && !placed[i]) {
					ref_rule_text(&acl->rules[i], out, size);
					placed[i] = 1;
				}
	}
}

static int
ref_split(const char *s, char lv[REF_MAXLEV + 8][REF_WORD * 4])
{
	const char	*q;
	int		 n = 0;

	for (;;) {
		if ((q = strchr(s, '/')) == NULL)
			q = s + strlen(s);
		snprintf(lv[n++], REF_WORD * 4, "%.*s", (int)(q - s), s);
		if (*q == '\0' || n == REF_MAXLEV + 8)
			return n;
		s = q + 1;
	}
}

/* MQTT matching, level by level, with Mosquitto's placeholders. */
static int
ref_match(const char *filter, const char *topic, int pattern,
    const char *user, const char *cid)
{
	char		 f[REF_MAXLEV + 8][REF_WORD * 4];
	char		 t[REF_MAXLEV + 8][REF_WORD * 4];
	const char	*v;
	int		 nf, nt, i;

	/* Mosquitto: `$' only with `$', by the first characters. */
	if ((filter[0] == '$') != (topic[0] == '$'))
		return 0;
	nf = ref_split(filter, f);
	nt = ref_split(topic, t);
	for (i = 0; i < nf; i++) {
		if (strcmp(f[i], "#") == 0)
			return 1;
		if (i >= nt)
			return 0;
		if (strcmp(f[i], "+") == 0)
			continue;
		if (pattern && (strcmp(f[i], "%u") == 0 ||
		    strcmp(f[i], "%c") == 0)) {
			v = f[i][1] == 'u' ? user : cid;
			if (v == NULL || v[0] == '\0' || strcmp(v, t[i]) != 0)
				return 0;
			continue;
		}
		if (strcmp(f[i], t[i]) != 0)
			return 0;
	}
	return nf == nt;
}

static int
ref_in_group(const struct ref_acl *acl, const char *group, const char *user)
{
	int	 b, k;

	for (b = 0; b < acl->nblocks; b++)
		if (acl->blocks[b].group &&
		    strcmp(acl->blocks[b].name, group) == 0)
			for (k = 0; k < acl->blocks[b].nmembers; k++)
				if (strcmp(acl->blocks[b].members[k], user) == 0)
					return 1;
	return 0;
}

/* Does rule r belong to the client's own rules? */
static int
ref_applies(const struct ref_acl *acl, const struct ref_rule *r,
    const char *user)
{
	const struct ref_block	*b;

	if (r->block == -1)
		return user == NULL;
	if (user == NULL)
		return 0;
	b = &acl->blocks[r->block];
	if (!b->group)
		return strcmp(b->name, user) == 0;
	return ref_in_group(acl, b->name, user);
}

/* Mosquitto's loop: own denies, own grants, pattern denies and grants. */
static int
ref_check(const struct ref_acl *acl, const char *user, const char *cid,
    const char *topic, int access)
{
	const struct ref_rule	*r;
	int			 i, pass, tier, npatterns = 0;

	for (tier = 0; tier < 2; tier++) {
		if (tier == 1) {
			for (i = 0; i < acl->nrules; i++)
				npatterns += acl->rules[i].pattern;
			if (npatterns > 0 && ((user != NULL &&
			    strpbrk(user, "+#") != NULL) ||
			    strpbrk(cid, "+#") != NULL))
				return 0;
		}
		for (pass = 0; pass < 2; pass++)
			for (i = 0; i < acl->nrules; i++) {
				r = &acl->rules[i];
				if (r->pattern != tier ||
				    (pass == 0) != (r->access == ACLR_DENY))
					continue;
				if (!tier && !ref_applies(acl, r, user))
					continue;
				if (!ref_match(r->filter, topic, tier, user,
				    cid))
					continue;
				if (r->access == ACLR_DENY)
					return 0;
				if (r->access & access)
					return 1;
			}
	}
	return 0;
}

/* Every topic the filter matches, over the words, to a depth. */
struct ref_sub {
	const struct ref_acl	*acl;
	const char		*user, *cid;
	const char		*words[32];
	int			 nwords;
	int			 maxdepth;
	char			 f[REF_MAXLEV + 8][REF_WORD * 4];
	int			 nf;
};

static int
ref_sub_topics(struct ref_sub *s, int fi, char *topic, int depth)
{
	const char	*level = fi < s->nf ? s->f[fi] : NULL;
	size_t		 len = strlen(topic);
	int		 w, wild, r;

	if (level == NULL || strcmp(level, "#") == 0) {
		/* A topic here (not empty: "#" needs one level at least). */
		if (depth > 0 &&
		    ref_check(s->acl, s->user, s->cid, topic, ACLM_READ))
			return 1;
		if (level == NULL || depth >= s->maxdepth)
			return 0;
	}
	wild = strcmp(level, "+") == 0 || strcmp(level, "#") == 0;
	for (w = 0; w < (wild ? s->nwords : 1); w++) {
		const char	*word = wild ? s->words[w] : level;

		/* Wildcards at the first level do not give `$' topics. */
		if (wild && depth == 0 && word[0] == '$')
			continue;
		snprintf(topic + len, 512 - len, "%s%s", depth ? "/" : "",
		    word);
		r = ref_sub_topics(s, strcmp(level, "#") == 0 ? fi : fi + 1,
		    topic, depth + 1);
		topic[len] = '\0';
		if (r)
			return 1;
	}
	return 0;
}

static void
ref_add_word(struct ref_sub *s, const char *w)
{
	int	 i;

	if (w == NULL || strpbrk(w, "/+#") != NULL)
		return;
	for (i = 0; i < s->nwords; i++)
		if (strcmp(s->words[i], w) == 0)
			return;
	if (s->nwords < 32)
		s->words[s->nwords++] = w;
}

/* May the client subscribe: does the filter match a readable topic? */
static int
ref_subscribe(const struct ref_acl *acl, const char *user, const char *cid,
    const char *filter)
{
	static char	 words[REF_MAXRULES * REF_MAXLEV][REF_WORD * 4];
	struct ref_sub	 s;
	char		 lv[REF_MAXLEV + 8][REF_WORD * 4], topic[512];
	int		 i, k, n, nw = 0, depth;

	memset(&s, 0, sizeof(s));
	s.acl = acl;
	s.user = user;
	s.cid = cid;
	s.maxdepth = 1;
	for (i = 0; i < acl->nrules; i++) {
		n = ref_split(acl->rules[i].filter, lv);
		if (n + 1 > s.maxdepth)
			s.maxdepth = n + 1;
		for (k = 0; k < n; k++) {
			strlcpy(words[nw], lv[k], sizeof(words[nw]));
			ref_add_word(&s, words[nw++]);
		}
	}
	ref_add_word(&s, user);
	ref_add_word(&s, cid);
	ref_add_word(&s, "zz");
	ref_add_word(&s, "$zz");
	s.nf = ref_split(filter, s.f);
	for (i = 0; i < s.nf; i++)
		if (strcmp(s.f[i], "+") != 0 && strcmp(s.f[i], "#") != 0) {
			strlcpy(words[nw], s.f[i], sizeof(words[nw]));
			ref_add_word(&s, words[nw++]);
		}
	depth = s.nf + 1;
	if (depth > s.maxdepth)
		s.maxdepth = depth;
	topic[0] = '\0';
	return ref_sub_topics(&s, 0, topic, 0);
}

#endif /* ACLREF_H */
