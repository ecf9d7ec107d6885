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
 * Unit tests for authd/acl.c and common/aclmatch.c: the acl_file syntax
 * and its errors, the matrix of Mosquitto's semantics with the CVE
 * cases (CVE-2017-7650: `+', `#', `/' in names; CVE-2018-12550: empty
 * files), groups, subscriptions, the decoder against corrupted forms,
 * and a randomised comparison of the compiled matcher with the naive
 * reference of aclref.h (ACL_SEED in the environment picks another
 * sequence).
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acl.h"
#include "aclmatch.h"
#include "aclref.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct compiled {
	uint8_t		*blob;
	size_t		 len;
	struct aclmatch	 m;
};

static struct aclfile *
parse_ok(const char *text)
{
	struct aclfile	*af;
	char		 err[256];

	if ((af = acl_parse("acl", text, strlen(text), err, sizeof(err))) ==
	    NULL)
		fail_msg("%s\n%s", err, text);
	return af;
}

static void
compile(const struct aclfile *af, const char *user, const char *cid,
    struct compiled *c)
{
	const char	*why;

	if (acl_compile(af, user, user != NULL ? strlen(user) : 0, cid,
	    strlen(cid), &c->blob, &c->len, &why) == -1)
		fail_msg("compile: %s", why);
	if (aclmatch_decode(&c->m, c->blob, c->len, &why) == -1)
		fail_msg("decode: %s", why);
}

/* "rw", "r", "w" or "-": what the client may do with a topic. */
static const char *
rights(const char *text, const char *user, const char *cid,
    const char *topic)
{
	struct aclfile	*af = parse_ok(text);
	struct compiled	 c;
	int		 r, w;

	compile(af, user, cid, &c);
	r = aclmatch_topic(&c.m, topic, strlen(topic), ACLM_READ);
	w = aclmatch_topic(&c.m, topic, strlen(topic), ACLM_WRITE);
	free(c.blob);
	acl_free(af);
	return r && w ? "rw" : r ? "r" : w ? "w" : "-";
}

static int
cansub(const char *text, const char *user, const char *cid,
    const char *filter)
{
	struct aclfile	*af = parse_ok(text);
	struct compiled	 c;
	int		 r;

	compile(af, user, cid, &c);
	r = aclmatch_subscribe(&c.m, filter, strlen(filter));
	free(c.blob);
	acl_free(af);
	return r;
}

#define ANON	NULL

static const struct {
	const char	*acl;
	const char	*user, *cid, *topic, *want;
} matrix[] = {
	/* Rules before the first user line are the anonymous clients'. */
	{ "topic read a/#\nuser u1\ntopic b\n", ANON, "c", "a/x", "r" },
	{ "topic read a/#\nuser u1\ntopic b\n", ANON, "c", "a", "r" },
	{ "topic read a/#\nuser u1\ntopic b\n", ANON, "c", "b", "-" },
	{ "topic read a/#\nuser u1\ntopic b\n", "u1", "c", "b", "rw" },
	{ "topic read a/#\nuser u1\ntopic b\n", "u1", "c", "a/x", "-" },
	{ "topic read a/#\nuser u1\ntopic b\n", "u2", "c", "b", "-" },
	{ "topic read a/#\nuser u1\ntopic b\n", "", "c", "a/x", "-" },
	/* No access word: readwrite; each access on its own. */
	{ "topic a\n", ANON, "c", "a", "rw" },
	{ "topic write a\ntopic read b\n", ANON, "c", "a", "w" },
	{ "topic write a\ntopic read b\n", ANON, "c", "b", "r" },
	{ "topic read a\ntopic write a\n", ANON, "c", "a", "rw" },
	{ "topic read a b\n", ANON, "c", "a b", "r" },
	{ "topic read read\n", ANON, "c", "read", "r" },
	{ "topic read\n", ANON, "c", "read", "rw" },
	/* Deny before grant, wherever it stands. */
	{ "topic a/#\ntopic deny a/s\n", ANON, "c", "a/s", "-" },
	{ "topic deny a/s\ntopic a/#\n", ANON, "c", "a/s", "-" },
	{ "topic a/#\ntopic deny a/s\n", ANON, "c", "a/s/x", "rw" },
	{ "topic a/#\ntopic deny a/s\n", ANON, "c", "a/t", "rw" },
	{ "topic deny #\ntopic a\n", ANON, "c", "a", "-" },
	/* Wildcards. */
	{ "topic +/x\n", ANON, "c", "a/x", "rw" },
	{ "topic +/x\n", ANON, "c", "/x", "rw" },
	{ "topic +/x\n", ANON, "c", "a/b/x", "-" },
	{ "topic a/+/#\n", ANON, "c", "a/b", "rw" },
	{ "topic a/+/#\n", ANON, "c", "a", "-" },
	{ "topic a//b\n", ANON, "c", "a//b", "rw" },
	{ "topic a/\n", ANON, "c", "a", "-" },
	{ "topic #\n", ANON, "c", "a/b/c", "rw" },
	/* $ topics: wildcards at the first level do not reach them. */
	{ "topic read #\n", ANON, "c", "$SYS/x", "-" },
	{ "topic read +/x\n", ANON, "c", "$SYS/x", "-" },
	{ "topic read $SYS/#\n", ANON, "c", "$SYS/x", "r" },
	{ "topic read $SYS/#\n", ANON, "c", "a", "-" },
	{ "topic read a/#\n", ANON, "c", "a/$x", "r" },
	{ "pattern read %u/#\n", "$SYS", "c", "$SYS/x", "-" },
	{ "pattern read %c/#\n", ANON, "$SYS", "$SYS/x", "-" },
	{ "pattern read $SYS/%u\n", "u1", "c", "$SYS/u1", "r" },
	/* The own rules come before every pattern. */
	{ "user u1\ntopic read x/#\npattern deny x/%u\n", "u1", "c", "x/u1",
	    "r" },
	{ "user u1\ntopic read x/#\npattern deny x/%u\n", "u2", "c", "x/u2",
	    "-" },
	{ "topic deny x/#\npattern readwrite x/%c\n", ANON, "c1", "x/c1", "-" },
	{ "pattern readwrite d/%c/#\npattern deny d/%c/s\n", "u", "c1",
	    "d/c1/x", "rw" },
	{ "pattern readwrite d/%c/#\npattern deny d/%c/s\n", "u", "c1",
	    "d/c1/s", "-" },
	{ "pattern readwrite d/%c/#\n", "u", "c1", "d/c2/x", "-" },
	/* Patterns apply to all, wherever they stand. */
	{ "user u1\ntopic read a\npattern write p/%c\n", "u1", "c1", "p/c1",
	    "w" },
	{ "user u1\npattern read p/%u\n", "u2", "c", "p/u2", "r" },
	{ "user u1\npattern read p/%u\n", ANON, "c", "p/", "-" },
	{ "pattern read p/%u\n", "", "c", "p/", "-" },
	{ "pattern read pub/#\n", ANON, "c", "pub/x", "r" },
	{ "pattern read u/%u/c/%c\n", "u1", "c1", "u/u1/c/c1", "r" },
	{ "pattern read u/%u/c/%c\n", "u1", "c1", "u/u1/c/c2", "-" },
	{ "topic read t/%u\n", ANON, "c", "t/%u", "r" },
	{ "user u1\ntopic read t/%u\n", "u1", "c", "t/u1", "-" },
	/* CVE-2017-7650: +, # and / in names never widen a pattern. */
	{ "pattern readwrite users/%u/#\n", "+", "c", "users/x/y", "-" },
	{ "pattern readwrite users/%u/#\n", "#", "c", "users/x", "-" },
	{ "pattern readwrite users/%u/#\n", "a+", "c", "users/a+", "-" },
	{ "pattern readwrite users/%u/#\n", "a/b", "c", "users/a/b", "-" },
	{ "pattern readwrite users/%u/#\n", "a/b", "c", "users/a/b/c", "-" },
	{ "pattern readwrite users/%u/#\n", "u1", "c", "users/u1/c", "rw" },
	{ "pattern readwrite dev/%c\n", ANON, "+", "dev/x", "-" },
	{ "pattern readwrite dev/%c\n", ANON, "#", "dev/x", "-" },
	{ "pattern readwrite dev/%c\n", ANON, "x/y", "dev/x/y", "-" },
	{ "pattern read pub/#\n", "u#", "c", "pub/x", "-" },
	{ "pattern read pub/#\n", "u", "c+", "pub/x", "-" },
	{ "user u#\ntopic read own/#\npattern read pub/#\n", "u#", "c",
	    "own/x", "r" },
	/* CVE-2018-12550: no rules, no access. */
	{ "", ANON, "c", "a", "-" },
	{ "# nothing but a comment\n\n   \n", ANON, "c", "a", "-" },
	{ "\n", "u1", "c", "$SYS/x", "-" },
	{ "user u1\n", "u1", "c", "a", "-" },
	/* Groups. */
	{ "group admins\nmember alice bob\ntopic admin/#\n"
	    "user alice\ntopic read a/#\n", "alice", "c", "admin/x", "rw" },
	{ "group admins\nmember alice bob\ntopic admin/#\n"
	    "user alice\ntopic read a/#\n", "alice", "c", "a/x", "r" },
	{ "group admins\nmember alice bob\ntopic admin/#\n"
	    "user alice\ntopic read a/#\n", "bob", "c", "admin/x", "rw" },
	{ "group admins\nmember alice bob\ntopic admin/#\n"
	    "user alice\ntopic read a/#\n", "carol", "c", "admin/x", "-" },
	{ "group admins\nmember alice bob\ntopic admin/#\n", ANON, "c",
	    "admin/x", "-" },
	{ "group g\nmember u1\ntopic deny s/#\nuser u1\ntopic #\n", "u1", "c",
	    "s/x", "-" },
	{ "group g\nmember u1\ntopic deny s/#\nuser u1\ntopic #\n", "u1", "c",
	    "t", "rw" },
	{ "group g\ntopic read a\ngroup h\nmember u1\ngroup g\nmember u1\n",
	    "u1", "c", "a", "r" },
	{ "group g\nmember u1\ntopic read a\ngroup g\ntopic write a\n", "u1",
	    "c", "a", "rw" },
	{ "group g\nmember u1\nmember u2\ntopic read a\n", "u2", "c", "a",
	    "r" },
	{ "group g\nmember u1 u1\ntopic read a\n", "u1", "c", "a", "r" },
	/* Blocks named twice go on. */
	{ "user u1\ntopic read a\nuser u2\ntopic b\nuser u1\ntopic write a\n",
	    "u1", "c", "a", "rw" },
	{ "user  John Smith \ntopic read a\n", "John Smith", "c", "a", "r" },
	/* Blanks, CR LF, tabs. */
	{ "  topic   read   a  \r\n", ANON, "c", "a", "r" },
	{ "\ttopic read a\t\n", ANON, "c", "a", "r" },
};

static void
test_matrix(void **state)
{
	const char	*got;
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(matrix); i++) {
		got = rights(matrix[i].acl, matrix[i].user, matrix[i].cid,
		    matrix[i].topic);
		if (strcmp(got, matrix[i].want) != 0)
			fail_msg("case %zu: %s/%s %s: %s, not %s\n%s", i,
			    matrix[i].user ? matrix[i].user : "(anonymous)",
			    matrix[i].cid, matrix[i].topic, got,
			    matrix[i].want, matrix[i].acl);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text, *err;
	} cases[] = {
		{ "topic\n", "acl:1: no topic filter" },
		{ "topic   \n", "acl:1: no topic filter" },
		{ "\ntopic foo bar\n", "acl:2: access is not read, write, "
		    "readwrite or deny" },
		{ "topic Read a\n", "acl:1: access is not" },
		{ "user\n", "acl:1: no user name" },
		{ "user   \n", "acl:1: no user name" },
		{ "group\n", "acl:1: no group name" },
		{ "member u1\n", "acl:1: member outside a group block" },
		{ "user u\nmember u1\n", "acl:2: member outside a group block" },
		{ "group g\nmember\n", "acl:2: no user name" },
		{ "group g\npattern read a/%u\n", "acl:2: a pattern applies to "
		    "every client" },
		{ "users u1\n", "acl:1: not topic, pattern, user, group or "
		    "member" },
		{ "# ok\n # ok too\nTopic a\n", "acl:3: not topic" },
		{ "topic\tread a\n", "acl:1: not topic" },
		{ "topic read a/#/b\n", "acl:1: '#' is not the last level" },
		{ "topic read a#\n", "acl:1: '+' or '#' inside a level" },
		{ "topic read a/b+\n", "acl:1: '+' or '#' inside a level" },
		{ "pattern read a/%u-x\n", "acl:1: %u or %c not alone" },
		{ "pattern read a/x%c\n", "acl:1: %u or %c not alone" },
		{ "topic read a/\xc3\n", "acl:1: topic filter not UTF-8" },
	};
	struct aclfile	*af;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		err[0] = '\0';
		af = acl_parse("acl", cases[i].text, strlen(cases[i].text),
		    err, sizeof(err));
		if (af != NULL || strncmp(err, cases[i].err,
		    strlen(cases[i].err)) != 0)
			fail_msg("case %zu: \"%s\" gave \"%s\"", i,
			    cases[i].text, err);
	}
	assert_null(acl_parse("acl", "topic a\0\n", 9, err, sizeof(err)));
	assert_string_equal(err, "acl:1: NUL byte");
	/* A topic %u is literal; a pattern's other % text too. */
	assert_non_null(af = parse_ok("topic a/%u-x\npattern 100%\n"));
	assert_int_equal(acl_count(af), 2);
	acl_free(af);
}

static const struct {
	const char	*acl, *user, *filter;
	int		 want;
} subs[] = {
	{ "topic read a/#\n", ANON, "a/#", 1 },
	{ "topic read a/#\n", ANON, "a/+", 1 },
	{ "topic read a/#\n", ANON, "a", 1 },
	{ "topic read a/#\n", ANON, "#", 1 },
	{ "topic read a/#\n", ANON, "+", 1 },
	{ "topic read a/#\n", ANON, "+/x", 1 },
	{ "topic read a/#\n", ANON, "b/#", 0 },
	{ "topic read a/#\n", ANON, "$SYS/#", 0 },
	{ "topic write a/#\n", ANON, "a/#", 0 },
	{ "topic read a/#\ntopic deny a/#\n", ANON, "a/#", 0 },
	{ "topic read a/#\ntopic deny a/b\n", ANON, "a/b", 0 },
	{ "topic read a/#\ntopic deny a/b\n", ANON, "a/+", 1 },
	{ "topic read a/b\ntopic deny a/+\n", ANON, "a/+", 0 },
	{ "topic read a/b\ntopic deny a/+\n", ANON, "a/#", 0 },
	{ "topic read #\n", ANON, "$SYS/#", 0 },
	{ "topic read #\n", ANON, "#", 1 },
	{ "topic read $SYS/broker/#\n", ANON, "$SYS/#", 1 },
	{ "topic read $SYS/broker/#\n", ANON, "#", 0 },
	{ "topic read $SYS/broker/#\n", ANON, "+/broker", 0 },
	{ "topic deny #\ntopic read $SYS/#\n", ANON, "$SYS/+", 1 },
	{ "topic deny +/+\ntopic read a/#\n", ANON, "a/+", 0 },
	{ "topic deny +/+\ntopic read a/#\n", ANON, "a/#", 1 },
	{ "topic deny +/+\ntopic read a/#\n", ANON, "a/+/+", 1 },
	{ "pattern read d/%u/#\n", "u1", "d/+/x", 1 },
	{ "pattern read d/%u/#\n", "u1", "d/u2/#", 0 },
	{ "pattern read d/%u/#\n", "+", "d/+/#", 0 },
	{ "user u1\ntopic read x\npattern deny x\n", "u1", "x", 1 },
	{ "", ANON, "#", 0 },
	{ "topic read a\n", ANON, "a/#/b", 0 },
	{ "topic read a\n", ANON, "", 0 },
	{ "topic read a\n", ANON, "a+", 0 },
};

static void
test_subscribe(void **state)
{
	size_t	 i;
	int	 got;

	(void)state;
	for (i = 0; i < NITEMS(subs); i++) {
		got = cansub(subs[i].acl, subs[i].user, "c", subs[i].filter);
		if (got != subs[i].want)
			fail_msg("case %zu: subscribe %s: %d\n%s", i,
			    subs[i].filter, got, subs[i].acl);
	}
}

/* Topics with wildcards are not topics. */
static void
test_topic_names(void **state)
{
	struct aclfile	*af = parse_ok("topic #\n");
	struct compiled	 c;

	(void)state;
	compile(af, NULL, "c", &c);
	assert_int_equal(aclmatch_topic(&c.m, "a", 1, ACLM_READ), 1);
	assert_int_equal(aclmatch_topic(&c.m, "a/+", 3, ACLM_READ), 0);
	assert_int_equal(aclmatch_topic(&c.m, "#", 1, ACLM_WRITE), 0);
	assert_int_equal(aclmatch_topic(&c.m, "", 0, ACLM_WRITE), 0);
	assert_int_equal(aclmatch_topic(&c.m, "a", 1, 0), 0);
	assert_int_equal(aclmatch_topic(&c.m, "a", 1,
	    ACLM_READ | ACLM_WRITE), 0);
	free(c.blob);
	acl_free(af);
}

/* aclmatch_build refuses what is not a rule. */
static void
test_build_refuses(void **state)
{
	static const struct aclm_rule bad[] = {
		{ "", 0, ACLR_READ },
		{ "a/#/b", 5, ACLR_READ },
		{ "a+", 2, ACLR_READ },
		{ "a", 1, 0 },
		{ "a", 1, ACLR_DENY | ACLR_READ },
		{ "a", 1, 0x40 | ACLR_READ },
		{ "a\0b", 3, ACLR_READ },
	};
	struct aclm_rule	 deep;
	uint8_t			*blob;
	size_t			 len, i;
	const char		*why;
	char			*f;

	(void)state;
	for (i = 0; i < NITEMS(bad); i++)
		assert_int_equal(aclmatch_build(&bad[i], 1, &blob, &len, &why),
		    -1);
	/* ACLM_MAX_DEPTH levels, and one more. */
	assert_non_null(f = malloc(2 * (ACLM_MAX_DEPTH + 1)));
	for (i = 0; i < ACLM_MAX_DEPTH + 1; i++) {
		f[2 * i] = 'x';
		f[2 * i + 1] = '/';
	}
	deep.filter = f;
	deep.flags = ACLR_READ;
	deep.len = 2 * ACLM_MAX_DEPTH - 1;
	assert_int_equal(aclmatch_build(&deep, 1, &blob, &len, &why), 0);
	free(blob);
	deep.len = 2 * ACLM_MAX_DEPTH + 1;
	assert_int_equal(aclmatch_build(&deep, 1, &blob, &len, &why), -1);
	assert_string_equal(why, "too many topic levels");
	free(f);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* Every byte of a compiled form changed: refused, or still safe. */
static void
test_decode_corrupt(void **state)
{
	static const uint8_t	 xors[] = { 0x01, 0x80, 0xff, 0x10 };
	static const char	*topics[] = { "a", "a/b", "$SYS/x", "b/c/d",
	    "a/b/c/d/e" };
	struct aclfile		*af;
	struct compiled		 c;
	struct aclmatch		 m;
	uint8_t			*copy;
	const char		*why;
	size_t			 i, k, t, accepted = 0;

	(void)state;
	af = parse_ok("topic read a/#\ntopic deny a/b\ntopic +/c/#\n"
	    "topic $SYS/#\npattern write p/%c/+\n");
	compile(af, NULL, "c1", &c);
	assert_non_null(copy = malloc(c.len));
	for (i = 0; i < c.len; i++)
		for (k = 0; k < NITEMS(xors); k++) {
			memcpy(copy, c.blob, c.len);
			copy[i] ^= xors[k];
			if (aclmatch_decode(&m, copy, c.len, &why) == -1)
				continue;
			accepted++;
			for (t = 0; t < NITEMS(topics); t++) {
				(void)aclmatch_topic(&m, topics[t],
				    strlen(topics[t]), ACLM_READ);
				(void)aclmatch_subscribe(&m, topics[t],
				    strlen(topics[t]));
			}
			(void)aclmatch_subscribe(&m, "#", 1);
			(void)aclmatch_subscribe(&m, "+/+/#", 5);
		}
	/* Only flags and level bytes may change and stay valid. */
	assert_true(accepted < c.len * NITEMS(xors) / 2);

	/* Truncated, too long, bad magic. */
	for (i = 0; i < c.len; i++)
		assert_int_equal(aclmatch_decode(&m, c.blob, i, &why), -1);
	memcpy(copy, c.blob, c.len);
	copy[0] = 'X';
	assert_int_equal(aclmatch_decode(&m, copy, c.len, &why), -1);
	/* A target pointing back: state 2 to state 1. */
	memcpy(copy, c.blob, c.len);
	put32(copy + 16 + 2 * 16 + 8, 1);
	assert_int_equal(aclmatch_decode(&m, copy, c.len, &why), -1);
	/* A count that claims the whole address space. */
	memcpy(copy, c.blob, c.len);
	put32(copy + 8, UINT32_MAX);
	assert_int_equal(aclmatch_decode(&m, copy, c.len, &why), -1);
	free(copy);
	free(c.blob);
	acl_free(af);
}

static void
random_topic(char *t, size_t size, int maxdepth)
{
	int	 depth = 1 + ref_rand(maxdepth), i;

	t[0] = '\0';
	for (i = 0; i < depth; i++) {
		if (i > 0)
			strlcat(t, "/", size);
		strlcat(t, ref_topic_levels[ref_rand(REF_N(ref_topic_levels))],
		    size);
	}
	if (t[0] == '\0')
		strlcpy(t, "zz", size);
}

/* A topic near one of the rules, so that rules match often. */
static void
topic_near(const struct ref_acl *acl, const char *user, const char *cid,
    char *t, size_t size)
{
	char		 lv[REF_MAXLEV + 8][REF_WORD * 4];
	const char	*w;
	int		 n, i, k, extra;

	if (acl->nrules == 0) {
		random_topic(t, size, 4);
		return;
	}
	n = ref_split(acl->rules[ref_rand(acl->nrules)].filter, lv);
	t[0] = '\0';
	for (i = 0; i < n; i++) {
		w = lv[i];
		if (strcmp(w, "#") == 0) {
			extra = ref_rand(3);
			for (k = 0; k < extra; k++) {
				if (i > 0 || k > 0)
					strlcat(t, "/", size);
				strlcat(t, ref_topic_levels[ref_rand(
				    REF_N(ref_topic_levels))], size);
			}
			break;
		}
		if (i > 0)
			strlcat(t, "/", size);
		if (strcmp(w, "+") == 0)
			w = ref_topic_levels[ref_rand(REF_N(ref_topic_levels))];
		else if (strcmp(w, "%u") == 0)
			w = user != NULL && ref_rand(4) ? user : "u1";
		else if (strcmp(w, "%c") == 0)
			w = ref_rand(4) ? cid : "c1";
		strlcat(t, w, size);
	}
	if (t[0] == '\0' || strpbrk(t, "+#") != NULL)
		strlcpy(t, "zz", size);
}

/* A filter near one of the rules: a level made `+', or a `#' tail. */
static void
filter_near(const struct ref_acl *acl, const char *user, const char *cid,
    char *f, size_t size)
{
	char	 lv[REF_MAXLEV + 8][REF_WORD * 4];
	int	 n, i, k, cut;

	topic_near(acl, user, cid, f, size);
	n = ref_split(f, lv);
	k = ref_rand(n);
	cut = ref_rand(3) == 0;
	f[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(f, "/", size);
		if (cut && i == k) {
			strlcat(f, "#", size);
			break;
		}
		strlcat(f, i == k ? "+" : lv[i], size);
	}
}

/*
 * The compiled matcher against the reference: random ACLs, clients and
 * topics, reads and writes, and some subscriptions.
 */
static void
test_random(void **state)
{
	struct ref_acl	 acl;
	struct aclfile	*af;
	struct compiled	 c;
	char		 text[8192], topic[256], filter[256];
	const char	*user, *cid, *seed;
	size_t		 cases = 0, subcases = 0, allowed = 0, suballowed = 0;
	int		 i, k, t, want, got, a;

	(void)state;
	if ((seed = getenv("ACL_SEED")) != NULL)
		ref_rng_state = strtoull(seed, NULL, 0) | 1;
	for (i = 0; i < 20000; i++) {
		ref_random_acl(&acl);
		ref_text(&acl, text, sizeof(text));
		af = parse_ok(text);
		for (k = 0; k < 2; k++) {
			user = ref_rand(4) == 0 ? NULL :
			    ref_users[ref_rand(REF_N(ref_users))];
			cid = ref_cids[ref_rand(REF_N(ref_cids))];
			compile(af, user, cid, &c);
			for (t = 0; t < 3; t++) {
				if (t == 0)
					random_topic(topic, sizeof(topic), 4);
				else
					topic_near(&acl, user, cid, topic,
					    sizeof(topic));
				for (a = ACLM_READ; a <= ACLM_WRITE; a++) {
					want = ref_check(&acl, user, cid, topic,
					    a);
					got = aclmatch_topic(&c.m, topic,
					    strlen(topic), a);
					if (want != got)
						fail_msg("%s %s/%s %s: %d, "
						    "reference %d\n%s",
						    a == ACLM_READ ? "read" :
						    "write", user ? user :
						    "(anonymous)", cid, topic,
						    got, want, text);
					allowed += got;
				}
				cases++;
			}
			if (ref_rand(4) == 0) {
				if (ref_rand(2))
					ref_random_filter(filter,
					    sizeof(filter), 0, 4);
				else
					filter_near(&acl, user, cid, filter,
					    sizeof(filter));
				want = ref_subscribe(&acl, user, cid, filter);
				got = aclmatch_subscribe(&c.m, filter,
				    strlen(filter));
				if (want != got)
					fail_msg("subscribe %s/%s %s: %d, "
					    "reference %d\n%s", user ? user :
					    "(anonymous)", cid, filter, got,
					    want, text);
				subcases++;
				suballowed += got;
			}
			free(c.blob);
		}
		acl_free(af);
	}
	print_message("%zu (rules, user, client id, topic) cases, read and "
	    "write (%zu of %zu checks allowed), and %zu subscriptions (%zu "
	    "allowed) agree with the reference\n", cases, allowed, 2 * cases,
	    subcases, suballowed);
	assert_true(cases >= 100000);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The cost of a check with 1 and with 1,000 rules (printed). */
static void
test_cost(void **state)
{
	static const int	 sizes[] = { 1, 1000 };
	struct aclfile		*af;
	struct compiled		 c;
	char			*text, line[64], topic[64];
	size_t			 i, n, len;
	double			 t0, dt;
	int			 k, hits;

	(void)state;
	for (i = 0; i < NITEMS(sizes); i++) {
		assert_non_null(text = calloc(1, 64 * sizes[i] + 64));
		strlcat(text, "pattern readwrite devices/%c/#\n",
		    64 * sizes[i] + 64);
		for (k = 0; k < sizes[i] - 1; k++) {
			snprintf(line, sizeof(line), "topic read sensors/"
			    "s%d/+/value\n", k);
			strlcat(text, line, 64 * sizes[i] + 64);
		}
		af = parse_ok(text);
		compile(af, NULL, "c1", &c);
		n = 2000000;
		hits = 0;
		t0 = now();
		for (k = 0; k < (int)n; k++) {
			len = snprintf(topic, sizeof(topic), "sensors/s%d/t/"
			    "value", k % (sizes[i] + 10));
			hits += aclmatch_topic(&c.m, topic, len, ACLM_READ);
		}
		dt = now() - t0;
		print_message("%d rules (%zu bytes compiled): %.0f ns per "
		    "4-level read check (%d allowed)\n", sizes[i], c.len,
		    dt / n * 1e9, hits);
		free(c.blob);
		acl_free(af);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_subscribe),
		cmocka_unit_test(test_topic_names),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
