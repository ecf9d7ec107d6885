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
 * Mosquitto's acl_file, read as Mosquitto reads it, and compiled for one
 * client into the flat form of common/aclmatch.h.
 *
 *	# comment
 *	topic [read|write|readwrite|deny] FILTER	anonymous clients
 *	user NAME				starts NAME's block
 *	topic [read|write|readwrite|deny] FILTER	NAME's rules
 *	pattern [read|write|readwrite|deny] FILTER	every client, any place
 *	group NAME				starts a group's block
 *	member USER ...				users of the group
 *	topic [read|write|readwrite|deny] FILTER	the group's rules
 *
 * Words are separated by spaces.  Without an access word a rule is
 * readwrite; a filter with spaces needs one ("topic read a b" is the
 * filter "a b", "topic a b" an error).  Rules before the first `user'
 * or `group' line are the anonymous clients'.  A block named twice goes
 * on where it left off.  A group's rules are its members' own rules, as
 * if written in their user blocks; `member' lines may come anywhere in
 * the group's block and name users whether or not they have a block.
 * `pattern' lines apply to every client wherever they stand (Mosquitto),
 * but not inside a group's block, where they would read as the group's.
 *
 * In a pattern, a level that is exactly %u or %c is the client's user
 * name or client id; a level with %u or %c and more is refused (Mosquitto
 * 1.x substituted there, 2.x does not: either reading would surprise
 * someone).  A pattern whose %u or %c is empty, missing (%u for an
 * anonymous client) or holds a `/' is left out: it matches no topic, and
 * so is one that would start with a `$' made by %u or %c (Mosquitto
 * matches only patterns that start with `$' to `$' topics).  A
 * client whose user name or client id contains `+' or `#' gets no
 * pattern rules at all (Mosquitto since CVE-2017-7650).
 *
 * Any malformed line refuses the whole file with "name:line: why".  A
 * file with no rules at all compiles to ACLs that deny everything, never
 * to "no ACL" (CVE-2018-12550).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "aclmatch.h"
#include "mqtt.h"
#include "text.h"
#include "compat.h"

#define ACL_MAXFILTER	65535

struct acl_rule {
	TAILQ_ENTRY(acl_rule)	 entry;
	char			*filter;
	size_t			 len;
	unsigned int		 flags;		/* ACLR_* */
};

TAILQ_HEAD(acl_rules, acl_rule);

struct acl_block {
	RB_ENTRY(acl_block)	 entry;
	char			*name;
	size_t			 namelen;
	struct acl_rules	 rules;
	size_t			 nrules;
};

struct acl_member {
	RB_ENTRY(acl_member)	 entry;
	char			*name;
	size_t			 namelen;
	struct acl_block	**groups;
	size_t			 ngroups;
};

static int
acl_block_cmp(struct acl_block *a, struct acl_block *b)
{
	return bytes_cmp(a->name, a->namelen, b->name, b->namelen);
}

static int
acl_member_cmp(struct acl_member *a, struct acl_member *b)
{
	return bytes_cmp(a->name, a->namelen, b->name, b->namelen);
}

RB_HEAD(acl_blocks, acl_block);
RB_GENERATE_STATIC(acl_blocks, acl_block, entry, acl_block_cmp);
RB_HEAD(acl_members, acl_member);
RB_GENERATE_STATIC(acl_members, acl_member, entry, acl_member_cmp);

struct aclfile {
	struct acl_block	 anon;
	struct acl_blocks	 users;
	struct acl_blocks	 groups;
	struct acl_members	 members;
	struct acl_rules	 patterns;
	size_t			 npatterns;
	size_t			 nrules;
};

/* The parser's place in the file. */
struct acl_parse {
	struct aclfile		*af;
	struct acl_block	*block;
	int			 ingroup;
	const char		*why;
};

static char *
memdup0(const char *s, size_t len)
{
	char	*p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * Splits off the first space-separated word of [*p, *p + *len); also
 * brokerctl's, whose edits must read lines as this parser does.
 */
void
acl_word(const char **p, size_t *len, const char **w, size_t *wlen)
{
	const char	*q;

	while (*len > 0 && **p == ' ') {
		(*p)++;
		(*len)--;
	}
	*w = *p;
	if ((q = memchr(*p, ' ', *len)) == NULL)
		q = *p + *len;
	*wlen = q - *p;
	*len -= *wlen;
	*p = q;
	while (*len > 0 && **p == ' ') {
		(*p)++;
		(*len)--;
	}
}

/* An access word: ACLR_* flags, or 0 if it is none. */
unsigned int
acl_access(const char *w, size_t len)
{
	if (len == 4 && memcmp(w, "read", 4) == 0)
		return ACLR_READ;
	if (len == 5 && memcmp(w, "write", 5) == 0)
		return ACLR_WRITE;
	if (len == 9 && memcmp(w, "readwrite", 9) == 0)
		return ACLR_READ | ACLR_WRITE;
	if (len == 4 && memcmp(w, "deny", 4) == 0)
		return ACLR_DENY;
	return 0;
}

static int
acl_why(struct acl_parse *ps, const char *why)
{
	ps->why = why;
	return -1;
}

/* A topic filter as MQTT has them; in a pattern, %u and %c alone. */
static int
acl_check_filter(struct acl_parse *ps, const char *f, size_t len,
    int pattern)
{
	const char	*p = f, *end = f + len, *q, *s;
	size_t		 n;

	if (len > ACL_MAXFILTER)
		return acl_why(ps, "topic filter too long");
	if (!mqtt_utf8_valid((const uint8_t *)f, len))
		return acl_why(ps, "topic filter not UTF-8");
	for (;;) {
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		n = q - p;
		if (n == 1 && *p == '#') {
			if (q != end)
				return acl_why(ps, "'#' is not the last level");
		} else if (!(n == 1 && *p == '+') &&
		    (memchr(p, '+', n) != NULL || memchr(p, '#', n) != NULL))
			return acl_why(ps, "'+' or '#' inside a level");
		if (pattern && !(n == 2 && p[0] == '%' &&
		    (p[1] == 'u' || p[1] == 'c'))) {
			for (s = p; s + 1 < q; s++)
				if (s[0] == '%' && (s[1] == 'u' || s[1] == 'c'))
					return acl_why(ps,
					    "%u or %c not alone in its level");
		}
		if (q == end)
			return 0;
		p = q + 1;
	}
}

static struct acl_block *
acl_block_get(struct acl_blocks *tree, const char *name, size_t len)
{
	struct acl_block	 key, *b;

	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	key.namelen = len;
	if ((b = RB_FIND(acl_blocks, tree, &key)) != NULL)
		return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->name = memdup0(name, len)) == NULL) {
		free(b);
		return NULL;
	}
	b->namelen = len;
	TAILQ_INIT(&b->rules);
	RB_INSERT(acl_blocks, tree, b);
	return b;
}

static int
acl_member_add(struct acl_parse *ps, const char *name, size_t len)
{
	struct acl_member	 key, *m;
	struct acl_block	**g;
	size_t			 i;

	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	key.namelen = len;
	if ((m = RB_FIND(acl_members, &ps->af->members, &key)) == NULL) {
		if ((m = calloc(1, sizeof(*m))) == NULL ||
		    (m->name = memdup0(name, len)) == NULL) {
			free(m);
			return acl_why(ps, "out of memory");
		}
		m->namelen = len;
		RB_INSERT(acl_members, &ps->af->members, m);
	}
	for (i = 0; i < m->ngroups; i++)
		if (m->groups[i] == ps->block)
			return 0;
	if ((g = reallocarray(m->groups, m->ngroups + 1, sizeof(*g))) == NULL)
		return acl_why(ps, "out of memory");
	m->groups = g;
	m->groups[m->ngroups++] = ps->block;
	return 0;
}

/* topic/pattern [access] filter */
static int
acl_rule_line(struct acl_parse *ps, int pattern, const char *rest,
    size_t len)
{
	struct acl_rule	*r;
	const char	*w, *filter;
	size_t		 wlen, flen;
	unsigned int	 flags;

	acl_word(&rest, &len, &w, &wlen);
	if (wlen == 0)
		return acl_why(ps, "no topic filter");
	if (len == 0) {
		flags = ACLR_READ | ACLR_WRITE;
		filter = w;
		flen = wlen;
	} else {
		if ((flags = acl_access(w, wlen)) == 0)
			return acl_why(ps, "access is not read, write, "
			    "readwrite or deny");
		filter = rest;
		flen = len;
	}
	if (pattern && ps->ingroup)
		return acl_why(ps, "a pattern applies to every client: "
		    "put it outside group blocks");
	if (acl_check_filter(ps, filter, flen, pattern) == -1)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->filter = memdup0(filter, flen)) == NULL) {
		free(r);
		return acl_why(ps, "out of memory");
	}
	r->len = flen;
	r->flags = flags;
	if (pattern) {
		r->flags |= ACLR_PATTERN;
		TAILQ_INSERT_TAIL(&ps->af->patterns, r, entry);
		ps->af->npatterns++;
	} else {
		TAILQ_INSERT_TAIL(&ps->block->rules, r, entry);
		ps->block->nrules++;
	}
	ps->af->nrules++;
	return 0;
}

static int
acl_line(struct acl_parse *ps, const char *line, size_t len)
{
	const char	*kw, *w;
	size_t		 kwlen, wlen;

	acl_word(&line, &len, &kw, &kwlen);
	if ((kwlen == 5 && memcmp(kw, "topic", 5) == 0) ||
	    (kwlen == 7 && memcmp(kw, "pattern", 7) == 0))
		return acl_rule_line(ps, kwlen == 7, line, len);
	if ((kwlen == 4 && memcmp(kw, "user", 4) == 0) ||
	    (kwlen == 5 && memcmp(kw, "group", 5) == 0)) {
		ps->ingroup = kwlen == 5;
		if (len == 0)
			return acl_why(ps, ps->ingroup ? "no group name" :
			    "no user name");
		ps->block = acl_block_get(ps->ingroup ? &ps->af->groups :
		    &ps->af->users, line, len);
		if (ps->block == NULL)
			return acl_why(ps, "out of memory");
		return 0;
	}
	if (kwlen == 6 && memcmp(kw, "member", 6) == 0) {
		if (!ps->ingroup)
			return acl_why(ps, "member outside a group block");
		if (len == 0)
			return acl_why(ps, "no user name");
		while (len > 0) {
			acl_word(&line, &len, &w, &wlen);
			if (acl_member_add(ps, w, wlen) == -1)
				return -1;
		}
		return 0;
	}
	return acl_why(ps, "not topic, pattern, user, group or member");
}

static void
acl_rules_free(struct acl_rules *rules)
{
	struct acl_rule	*r;

	while ((r = TAILQ_FIRST(rules)) != NULL) {
		TAILQ_REMOVE(rules, r, entry);
		free(r->filter);
		free(r);
	}
}

static void
acl_blocks_free(struct acl_blocks *tree)
{
	struct acl_block	*b, *next;

	RB_FOREACH_SAFE(b, acl_blocks, tree, next) {
		RB_REMOVE(acl_blocks, tree, b);
		acl_rules_free(&b->rules);
		free(b->name);
		free(b);
	}
}

void
acl_free(struct aclfile *af)
{
	struct acl_member	*m, *next;

	if (af == NULL)
		return;
	acl_rules_free(&af->anon.rules);
	acl_rules_free(&af->patterns);
	acl_blocks_free(&af->users);
	acl_blocks_free(&af->groups);
	RB_FOREACH_SAFE(m, acl_members, &af->members, next) {
		RB_REMOVE(acl_members, &af->members, m);
		free(m->groups);
		free(m->name);
		free(m);
	}
	free(af);
}

/*
 * Parses an ACL file's contents; `name' is for the messages.  NULL with
 * "name:line: why" in err if any line is wrong.
 */
struct aclfile *
acl_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct acl_parse	 ps;
	struct lines		 ls;
	const char		*line;
	size_t			 llen;
	int			 r;

	memset(&ps, 0, sizeof(ps));
	if ((ps.af = calloc(1, sizeof(*ps.af))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	TAILQ_INIT(&ps.af->anon.rules);
	TAILQ_INIT(&ps.af->patterns);
	RB_INIT(&ps.af->users);
	RB_INIT(&ps.af->groups);
	RB_INIT(&ps.af->members);
	ps.block = &ps.af->anon;
	lines_init(&ls, buf, len);
	while ((r = lines_next(&ls, &line, &llen)) != 0) {
		if (r == -1) {
			ps.why = "NUL byte";
			goto bad;
		}
		while (llen > 0 && (line[llen - 1] == ' ' ||
		    (line[llen - 1] >= '\t' && line[llen - 1] <= '\r')))
			llen--;
		while (llen > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			llen--;
		}
		if (llen == 0 || line[0] == '#')
			continue;
		if (acl_line(&ps, line, llen) == -1)
			goto bad;
	}
	return ps.af;
 bad:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s:%lu: %s", name, ls.no, ps.why);
	acl_free(ps.af);
	return NULL;
}

size_t
acl_count(const struct aclfile *af)
{
	return af->nrules;
}

/* The rules of a compilation, and the strings made for them. */
struct acl_out {
	struct aclm_rule	*rules;
	size_t			 n, cap;
	char			**made;
	size_t			 nmade;
};

static int
acl_out_add(struct acl_out *o, const char *filter, size_t len,
    unsigned int flags)
{
	struct aclm_rule	*r;

	if (o->n == o->cap) {
		if ((r = reallocarray(o->rules, o->cap ? o->cap * 2 : 16,
		    sizeof(*r))) == NULL)
			return -1;
		o->rules = r;
		o->cap = o->cap ? o->cap * 2 : 16;
	}
	o->rules[o->n].filter = filter;
	o->rules[o->n].len = len;
	o->rules[o->n++].flags = flags;
	return 0;
}

static int
acl_out_block(struct acl_out *o, const struct acl_block *b)
{
	const struct acl_rule	*r;

	TAILQ_FOREACH(r, &b->rules, entry)
		if (acl_out_add(o, r->filter, r->len, r->flags) == -1)
			return -1;
	return 0;
}

/*
 * A pattern with %u and %c filled in; 1 if it has no place in this
 * client's ACL, -1 without memory.
 */
static int
acl_out_pattern(struct acl_out *o, const struct acl_rule *r,
    const char *user, size_t ulen, const char *cid, size_t clen)
{
	const char	*p = r->filter, *end = r->filter + r->len, *q, *v;
	char		*s, **made;
	size_t		 n = 0, vlen, cap = 0;

	/* How long it gets, and whether it can match anything. */
	for (;;) {
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		if (q - p == 2 && p[0] == '%' && (p[1] == 'u' || p[1] == 'c')) {
			v = p[1] == 'u' ? user : cid;
			vlen = p[1] == 'u' ? ulen : clen;
			if (v == NULL || vlen == 0 || memchr(v, '/', vlen) ||
			    (p == r->filter && v[0] == '$'))
				return 1;
			cap += vlen;
		} else
			cap += q - p;
		cap++;
		if (q == end)
			break;
		p = q + 1;
	}
	if ((s = malloc(cap)) == NULL)
		return -1;
	if ((made = reallocarray(o->made, o->nmade + 1, sizeof(*made))) ==
	    NULL) {
		free(s);
		return -1;
	}
	o->made = made;
	o->made[o->nmade++] = s;
	for (p = r->filter;;) {
		if ((q = memchr(p, '/', end - p)) == NULL)
			q = end;
		if (q - p == 2 && p[0] == '%' && (p[1] == 'u' || p[1] == 'c')) {
			v = p[1] == 'u' ? user : cid;
			vlen = p[1] == 'u' ? ulen : clen;
		} else {
			v = p;
			vlen = q - p;
		}
		if (vlen > 0)
			memcpy(s + n, v, vlen);
		n += vlen;
		if (q == end)
			break;
		s[n++] = '/';
		p = q + 1;
	}
	return acl_out_add(o, s, n, r->flags) == -1 ? -1 : 0;
}

static int
has_wildcard(const char *s, size_t len)
{
	return s != NULL && (memchr(s, '+', len) != NULL ||
	    memchr(s, '#', len) != NULL);
}

/*
 * The compiled ACL of one client: user NULL for an anonymous one.  0
 * with a malloc'd flat form in *out, or -1 with the reason in *why.
 */
int
acl_compile(const struct aclfile *af, const char *user, size_t ulen,
    const char *cid, size_t clen, uint8_t **out, size_t *outlen,
    const char **why)
{
	struct acl_out		 o;
	struct acl_block	 bkey, *b;
	struct acl_member	 mkey, *m;
	const struct acl_rule	*r;
	size_t			 i;
	int			 rc = -1;

	memset(&o, 0, sizeof(o));
	if (user == NULL) {
		if (acl_out_block(&o, &af->anon) == -1)
			goto nomem;
	} else {
		memset(&bkey, 0, sizeof(bkey));
		memset(&mkey, 0, sizeof(mkey));
		bkey.name = (char *)(uintptr_t)user;
		bkey.namelen = ulen;
		b = RB_FIND(acl_blocks, (struct acl_blocks *)(uintptr_t)
		    &af->users, &bkey);
		if (b != NULL && acl_out_block(&o, b) == -1)
			goto nomem;
		mkey.name = (char *)(uintptr_t)user;
		mkey.namelen = ulen;
		m = RB_FIND(acl_members, (struct acl_members *)(uintptr_t)
		    &af->members, &mkey);
		for (i = 0; m != NULL && i < m->ngroups; i++)
			if (acl_out_block(&o, m->groups[i]) == -1)
				goto nomem;
	}
	if (!has_wildcard(user, ulen) && !has_wildcard(cid, clen)) {
		TAILQ_FOREACH(r, &af->patterns, entry)
			if (acl_out_pattern(&o, r, user, ulen, cid, clen) ==
			    -1)
				goto nomem;
	}
	rc = aclmatch_build(o.rules, o.n, out, outlen, why);
	goto done;
 nomem:
	*why = "out of memory";
 done:
	for (i = 0; i < o.nmade; i++)
		free(o.made[i]);
	free(o.made);
	free(o.rules);
	return rc;
}
