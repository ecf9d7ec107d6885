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
 * Unit tests for brokerctl/edit.c: each edit of a password or ACL file
 * gives exactly the expected text (every other line kept as it was), and
 * every refusal (missing, duplicate, invalid, hostile input, a broken
 * file) gives a reason and no output.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aclmatch.h"
#include "brokerctl.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* A hash that passwd_parse() accepts ($6$: salt, then 64 bytes). */
#define H1	"$6$JNxfvglOaLF+hY9L$tXx0gZLTt3zHieUqUM6Kc6FxCeQbFT+Huz6S4O0" \
		"vDIQxSLwuyFJCyYt0tN+6Mes6JepAoP1kDiPsaGfNOzRcww=="
#define H2	"$6$AAAAvglOaLF+hY9L$tXx0gZLTt3zHieUqUM6Kc6FxCeQbFT+Huz6S4O0" \
		"vDIQxSLwuyFJCyYt0tN+6Mes6JepAoP1kDiPsaGfNOzRcww=="

static const char	 pwfile[] =
    "# users\n"
    "alice:" H1 "\n"
    "\n"
    "bob:" H1 "\n";

static int
pw(enum edit_op op, const char *in, const char *user, const char *entry,
    struct text *out, char *err, size_t errlen)
{
	return edit_passwd("pw", in, strlen(in), op, user, entry, out, err,
	    errlen);
}

static void
test_passwd_edits(void **state)
{
	struct text	 out;
	char		 err[512];

	(void)state;
	assert_int_equal(pw(EDIT_USER_ADD, pwfile, "carol", H2, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf, "# users\nalice:" H1 "\n\nbob:" H1
	    "\ncarol:" H2 "\n");
	text_free(&out);

	/* In its place; the others as they were. */
	assert_int_equal(pw(EDIT_USER_PASSWD, pwfile, "alice", H2, &out,
	    err, sizeof(err)), 0);
	assert_string_equal(out.buf, "# users\nalice:" H2 "\n\nbob:" H1
	    "\n");
	text_free(&out);

	assert_int_equal(pw(EDIT_USER_DEL, pwfile, "alice", NULL, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf, "# users\n\nbob:" H1 "\n");
	text_free(&out);

	/* The last user of a file, and a file with no final newline. */
	assert_int_equal(pw(EDIT_USER_DEL, "bob:" H1, "bob", NULL, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf, "");
	text_free(&out);
	assert_int_equal(pw(EDIT_USER_ADD, "bob:" H1, "carol", H2, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf, "bob:" H1 "\ncarol:" H2 "\n");
	text_free(&out);
	assert_int_equal(pw(EDIT_USER_ADD, "", "carol", H2, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf, "carol:" H2 "\n");
	text_free(&out);
	assert_int_equal(edit_passwd_has(pwfile, strlen(pwfile), "bob"), 1);
	assert_int_equal(edit_passwd_has(pwfile, strlen(pwfile), "bo"), 0);
}

static void
test_passwd_refusals(void **state)
{
	static const struct {
		enum edit_op	 op;
		const char	*in, *user, *entry, *why;
	} t[] = {
		{ EDIT_USER_ADD, pwfile, "bob", H2, "there already" },
		{ EDIT_USER_PASSWD, pwfile, "carol", H2, "no user carol" },
		{ EDIT_USER_DEL, pwfile, "carol", NULL, "no user carol" },
		{ EDIT_USER_ADD, pwfile, "a:b", H2, "':'" },
		{ EDIT_USER_ADD, pwfile, "a\nb", H2, "control" },
		{ EDIT_USER_ADD, pwfile, " a", H2, "blanks" },
		{ EDIT_USER_ADD, pwfile, "", H2, "empty" },
		{ EDIT_USER_ADD, pwfile, "#x", H2, "'#'" },
		/* A broken file is not edited, nor a broken entry written. */
		{ EDIT_USER_ADD, "alice\n", "carol", H2, "pw:1" },
		{ EDIT_USER_ADD, pwfile, "carol", "$6$x", "pw:5" },
	};
	struct text	 out;
	char		 err[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(t); i++) {
		err[0] = '\0';
		assert_int_equal(pw(t[i].op, t[i].in, t[i].user, t[i].entry,
		    &out, err, sizeof(err)), -1);
		assert_null(out.buf);
		if (strstr(err, t[i].why) == NULL)
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, err, t[i].why);
	}
}

static const char	 aclfile[] =
    "# the broker's rules\n"
    "topic read public/#\n"
    "\n"
    "user alice\n"
    "topic readwrite alice/#\n"
    "\n"
    "# the readers\n"
    "group readers\n"
    "member alice bob\n"
    "topic read shared/#\n"
    "\n"
    "user bob\n"
    "topic write bob/#\n"
    "# trailing comment\n";

static int
acl(const char *in, enum edit_op op, enum acl_who who, const char *name,
    const char *member, unsigned int flags, const char *filter,
    struct text *out, char *err, size_t errlen)
{
	struct acl_edit	 e;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.who = who;
	e.name = name;
	e.member = member;
	e.flags = flags;
	e.filter = filter;
	return edit_acl("acl", in, strlen(in), &e, out, err, errlen);
}

/* The ACL file with `line' in place of `old' ("" to take it out). */
static char *
acl_with(const char *old, const char *line)
{
	const char	*p;
	char		*s;

	if ((p = strstr(aclfile, old)) == NULL)
		fail_msg("\"%s\" not in the file", old);
	if (asprintf(&s, "%.*s%s%s", (int)(p - aclfile), aclfile, line,
	    p + strlen(old)) == -1)
		fail();
	return s;
}

static void
expect_acl(const char *in, enum edit_op op, enum acl_who who,
    const char *name, const char *member, unsigned int flags,
    const char *filter, const char *want)
{
	struct text	 out;
	char		 err[512];

	if (acl(in, op, who, name, member, flags, filter, &out, err,
	    sizeof(err)) == -1)
		fail_msg("refused: %s", err);
	assert_string_equal(out.buf, want);
	text_free(&out);
}

static void
test_acl_rules(void **state)
{
	char	*want;

	(void)state;
	/* After the last line of the block, before the blank and comment. */
	want = acl_with("topic readwrite alice/#\n",
	    "topic readwrite alice/#\ntopic read news/#\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
	    ACLR_READ, "news/#", want);
	free(want);
	/* A filter with spaces: the access word always written. */
	want = acl_with("topic write bob/#\n",
	    "topic write bob/#\ntopic deny bob/a b\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "bob", NULL,
	    ACLR_DENY, "bob/a b", want);
	free(want);
	/* A user with no block gets one at the end. */
	want = acl_with("# trailing comment\n",
	    "# trailing comment\n\nuser carol\ntopic readwrite c/+\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "carol", NULL,
	    ACLR_READ | ACLR_WRITE, "c/+", want);
	free(want);
	/* Anonymous rules and patterns stay before the first block. */
	want = acl_with("topic read public/#\n",
	    "topic read public/#\ntopic write in/#\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_ANON, NULL, NULL,
	    ACLR_WRITE, "in/#", want);
	free(want);
	want = acl_with("topic read public/#\n",
	    "topic read public/#\npattern read u/%u/#\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_PATTERN, NULL, NULL,
	    ACLR_READ, "u/%u/#", want);
	free(want);
	expect_acl("user a\ntopic x\n", EDIT_RULE_ADD, ACL_WHO_ANON, NULL,
	    NULL, ACLR_READ, "p", "topic read p\nuser a\ntopic x\n");
	expect_acl("", EDIT_RULE_ADD, ACL_WHO_ANON, NULL, NULL, ACLR_READ,
	    "p", "topic read p\n");
	/* A group's rule, in its block. */
	want = acl_with("topic read shared/#\n",
	    "topic read shared/#\ntopic write shared/in\n");
	expect_acl(aclfile, EDIT_RULE_ADD, ACL_WHO_GROUP, "readers", NULL,
	    ACLR_WRITE, "shared/in", want);
	free(want);

	/* Deleted: with its access, or with any (readwrite by default). */
	want = acl_with("topic write bob/#\n", "");
	expect_acl(aclfile, EDIT_RULE_DEL, ACL_WHO_USER, "bob", NULL,
	    ACLR_WRITE, "bob/#", want);
	expect_acl(aclfile, EDIT_RULE_DEL, ACL_WHO_USER, "bob", NULL, 0,
	    "bob/#", want);
	free(want);
	expect_acl("user a\ntopic x\ntopic read x\n", EDIT_RULE_DEL,
	    ACL_WHO_USER, "a", NULL, 0, "x", "user a\n");
	expect_acl("user a\ntopic x\ntopic read x\n", EDIT_RULE_DEL,
	    ACL_WHO_USER, "a", NULL, ACLR_READ | ACLR_WRITE, "x",
	    "user a\ntopic read x\n");
	/* A block named twice: both stretches are its. */
	expect_acl("user a\ntopic x\nuser b\nuser a\ntopic read y\n",
	    EDIT_RULE_ADD, ACL_WHO_USER, "a", NULL, ACLR_READ, "z",
	    "user a\ntopic x\nuser b\nuser a\ntopic read y\ntopic read z\n");
	expect_acl("user a\ntopic x\nuser b\nuser a\ntopic read x\n",
	    EDIT_RULE_DEL, ACL_WHO_USER, "a", NULL, 0, "x",
	    "user a\nuser b\nuser a\n");
	/* CRLF lines and indentation are kept as they are. */
	expect_acl("user a\r\n  topic x\r\n", EDIT_RULE_ADD, ACL_WHO_USER,
	    "a", NULL, ACLR_READ, "y", "user a\r\n  topic x\r\ntopic read y\n");
}

static void
test_acl_groups(void **state)
{
	char	*want;

	(void)state;
	expect_acl(aclfile, EDIT_GROUP_ADD, ACL_WHO_GROUP, "writers", NULL, 0,
	    NULL, want = acl_with("# trailing comment\n",
	    "# trailing comment\n\ngroup writers\n"));
	free(want);
	expect_acl("", EDIT_GROUP_ADD, ACL_WHO_GROUP, "g", NULL, 0, NULL,
	    "group g\n");
	/* From its line to its last; the comment before the next stays. */
	expect_acl(aclfile, EDIT_GROUP_DEL, ACL_WHO_GROUP, "readers", NULL, 0,
	    NULL, want = acl_with("group readers\nmember alice bob\n"
	    "topic read shared/#\n", ""));
	free(want);
	expect_acl("group g\nmember a\n# u\nuser u\ngroup g\ntopic x\n\n# c\n",
	    EDIT_GROUP_DEL, ACL_WHO_GROUP, "g", NULL, 0, NULL,
	    "# u\nuser u\n\n# c\n");

	/* Members: after the last member line, or after the header. */
	expect_acl(aclfile, EDIT_MEMBER_ADD, ACL_WHO_GROUP, "readers",
	    "carol", 0, NULL, want = acl_with("member alice bob\n",
	    "member alice bob\nmember carol\n"));
	free(want);
	expect_acl("group g\ntopic x\n", EDIT_MEMBER_ADD, ACL_WHO_GROUP, "g",
	    "a", 0, NULL, "group g\nmember a\ntopic x\n");
	/* Out of a line with others; a line of one goes. */
	expect_acl(aclfile, EDIT_MEMBER_DEL, ACL_WHO_GROUP, "readers", "alice",
	    0, NULL, want = acl_with("member alice bob\n", "member bob\n"));
	free(want);
	expect_acl("group g\nmember a\nmember b a\n", EDIT_MEMBER_DEL,
	    ACL_WHO_GROUP, "g", "a", 0, NULL, "group g\nmember b\n");
}

static void
test_acl_refusals(void **state)
{
	static const struct {
		const char	*in;
		enum edit_op	 op;
		enum acl_who	 who;
		const char	*name, *member;
		unsigned int	 flags;
		const char	*filter, *why;
	} t[] = {
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ | ACLR_WRITE, "alice/#", "there already" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, "a/#/b", "acl:" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, "a+", "'+' or '#'" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_PATTERN, NULL, NULL,
		    ACLR_READ, "a/%ux", "not alone" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, "a\nuser eve\ntopic #", "control" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice\ntopic #",
		    NULL, ACLR_READ, "a", "control" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, " a", "blanks" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, "", "empty" },
		{ aclfile, EDIT_RULE_ADD, ACL_WHO_GROUP, "nosuch", NULL,
		    ACLR_READ, "a", "no group nosuch" },
		{ aclfile, EDIT_RULE_DEL, ACL_WHO_GROUP, "nosuch", NULL, 0,
		    "a", "no group nosuch" },
		{ aclfile, EDIT_RULE_DEL, ACL_WHO_USER, "alice", NULL,
		    ACLR_READ, "alice/#", "no rule read alice/#" },
		{ aclfile, EDIT_RULE_DEL, ACL_WHO_ANON, NULL, NULL, 0,
		    "alice/#", "no rule" },
		{ aclfile, EDIT_GROUP_ADD, ACL_WHO_GROUP, "readers", NULL, 0,
		    NULL, "there already" },
		{ aclfile, EDIT_GROUP_DEL, ACL_WHO_GROUP, "alice", NULL, 0,
		    NULL, "no group alice" },
		{ aclfile, EDIT_MEMBER_ADD, ACL_WHO_GROUP, "readers", "bob", 0,
		    NULL, "already" },
		{ aclfile, EDIT_MEMBER_ADD, ACL_WHO_GROUP, "readers", "a b", 0,
		    NULL, "space" },
		{ aclfile, EDIT_MEMBER_ADD, ACL_WHO_GROUP, "nosuch", "a", 0,
		    NULL, "no group" },
		{ aclfile, EDIT_MEMBER_DEL, ACL_WHO_GROUP, "readers", "carol",
		    0, NULL, "not a member" },
		/* A file that does not parse is not edited. */
		{ "topic sometimes x\n", EDIT_GROUP_ADD, ACL_WHO_GROUP, "g",
		    NULL, 0, NULL, "acl:1" },
		{ "member a\n", EDIT_GROUP_ADD, ACL_WHO_GROUP, "g", NULL, 0,
		    NULL, "acl:1: member outside" },
	};
	struct text	 out;
	char		 err[512], *big;
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(t); i++) {
		err[0] = '\0';
		assert_int_equal(acl(t[i].in, t[i].op, t[i].who, t[i].name,
		    t[i].member, t[i].flags, t[i].filter, &out, err,
		    sizeof(err)), -1);
		assert_null(out.buf);
		if (strstr(err, t[i].why) == NULL)
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, err, t[i].why);
	}
	/* Hostile lengths. */
	if ((big = malloc(70000)) == NULL)
		fail();
	memset(big, 'a', 69999);
	big[69999] = '\0';
	assert_int_equal(acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice",
	    NULL, ACLR_READ, big, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, big, NULL,
	    ACLR_READ, "a", &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	big[1] = '\xff';
	big[100] = '\0';
	assert_int_equal(acl(aclfile, EDIT_RULE_ADD, ACL_WHO_USER, "alice",
	    NULL, ACLR_READ, big, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "UTF-8"));
	free(big);
}

static void
test_access_words(void **state)
{
	(void)state;
	assert_int_equal(edit_access("read"), ACLR_READ);
	assert_int_equal(edit_access("write"), ACLR_WRITE);
	assert_int_equal(edit_access("readwrite"), ACLR_READ | ACLR_WRITE);
	assert_int_equal(edit_access("deny"), ACLR_DENY);
	assert_int_equal(edit_access("rea"), 0);
	assert_int_equal(edit_access(""), 0);
	assert_int_equal(edit_access("READ"), 0);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_passwd_edits),
		cmocka_unit_test(test_passwd_refusals),
		cmocka_unit_test(test_acl_rules),
		cmocka_unit_test(test_acl_groups),
		cmocka_unit_test(test_acl_refusals),
		cmocka_unit_test(test_access_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
