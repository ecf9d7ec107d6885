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
 * The edits of brokerctl user, group and acl (users.c) on the text of a
 * password or ACL file, in memory, with no file system: the input must
 * parse as authd parses it, every line the edit does not concern stays
 * byte for byte where it was (comments, blank lines, the order of the
 * rest), and the output must parse again before anyone writes it.  An
 * edit that names what is not there, or adds what is there already, or
 * whose result would not parse, fails with the reason in `err' and
 * leaves `out' empty.  Nothing here exits: the unit tests drive it.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "aclmatch.h"
#include "brokerctl.h"
#include "mqtt.h"
#include "passwd.h"
#include "text.h"

/* What one line of an ACL file is. */
enum aline_kind {
	AL_BLANK,		/* empty or a comment */
	AL_TOPIC,
	AL_PATTERN,
	AL_USER,
	AL_GROUP,
	AL_MEMBER
};

struct aline {
	const char	*raw;		/* as it is, without the '\n' */
	size_t		 rawlen;
	enum aline_kind	 kind;
	long		 block;		/* its user or group line, -1: none */
	const char	*arg;		/* a name, a filter, the members */
	size_t		 alen;
	unsigned int	 flags;		/* of a rule: ACLR_* */
	int		 drop;
	char		*repl;		/* written instead, or NULL */
};

struct afile {
	struct aline	*l;
	size_t		 n, cap;
};

static int
edit_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static int
edit_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void
text_add(struct text *t, const char *s, size_t len)
{
	char	*n;
	size_t	 cap;

	if (t->len + len + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + len + 1)
			cap *= 2;
		if ((n = malloc(cap)) == NULL)
			abort();
		if (t->len > 0)
			memcpy(n, t->buf, t->len);
		freezero(t->buf, t->cap);
		t->buf = n;
		t->cap = cap;
	}
	if (len > 0)
		memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len] = '\0';
}

void
text_addstr(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

void
text_free(struct text *t)
{
	freezero(t->buf, t->cap);
	memset(t, 0, sizeof(*t));
}

static int
same(const char *a, size_t alen, const char *b)
{
	return bytes_cmp(a, alen, b, strlen(b)) == 0;
}

/*
 * A name, filter or password for a file: no control characters (a '\n'
 * would make two lines of one), no blanks around it, UTF-8.  `what' is
 * for the message.
 */
int
edit_word_valid(const char *s, const char *what, int spaces, char *err,
    size_t errlen)
{
	size_t	 i, len = strlen(s);

	if (len == 0)
		return edit_fail(err, errlen, "empty %s", what);
	if (len > 65535)
		return edit_fail(err, errlen, "%s too long", what);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return edit_fail(err, errlen, "control character in "
			    "the %s", what);
	if (s[0] == ' ' || s[len - 1] == ' ')
		return edit_fail(err, errlen, "blanks around the %s", what);
	if (!spaces && strchr(s, ' ') != NULL)
		return edit_fail(err, errlen, "a space in the %s", what);
	if (!mqtt_utf8_valid((const uint8_t *)s, len))
		return edit_fail(err, errlen, "%s not UTF-8", what);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Password files */

/*
 * Adds, replaces or deletes the line of `user' in a password file:
 * `entry' is the encoded hash (NULL to delete).
 */
int
edit_passwd(const char *path, const char *in, size_t len, enum edit_op op,
    const char *user, const char *entry, struct text *out, char *err,
    size_t errlen)
{
	struct pwfile	*pf;
	const char	*p = in, *end = in + len, *nl, *u, *v;
	size_t		 ulen, vlen;
	int		 found = 0, mine;

	memset(out, 0, sizeof(*out));
	if ((pf = passwd_parse(path, in, len, err, errlen)) == NULL)
		return -1;
	passwd_free(pf);
	if (passwd_user_valid(user, strlen(user), &u) == -1)
		return edit_fail(err, errlen, "%s: %s", user, u);
	text_add(out, "", 0);
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		mine = userline_split(p, nl - p, &u, &ulen, &v, &vlen) == 1 &&
		    same(u, ulen, user);
		if (!mine) {
			text_add(out, p, nl - p);
			text_add(out, "\n", 1);
		} else if (!found && op != EDIT_USER_DEL) {
			text_addstr(out, user);
			text_add(out, ":", 1);
			text_addstr(out, entry);
			text_add(out, "\n", 1);
		}
		found |= mine;
		p = nl + 1;
	}
	if (found && op == EDIT_USER_ADD) {
		text_free(out);
		return edit_fail(err, errlen, "%s: user %s is there already "
		    "(user passwd changes a password)", path, user);
	}
	if (!found && op != EDIT_USER_ADD) {
		text_free(out);
		return edit_fail(err, errlen, "%s: no user %s", path, user);
	}
	if (!found) {
		text_addstr(out, user);
		text_add(out, ":", 1);
		text_addstr(out, entry);
		text_add(out, "\n", 1);
	}
	if ((pf = passwd_parse(path, out->buf, out->len, err, errlen)) ==
	    NULL) {
		text_free(out);
		return -1;
	}
	passwd_free(pf);
	return 0;
}

/* Is `user' in the password file? */
int
edit_passwd_has(const char *in, size_t len, const char *user)
{
	struct lines	 ls;
	const char	*line, *u, *v;
	size_t		 llen, ulen, vlen;

	lines_init(&ls, in, len);
	while (lines_next(&ls, &line, &llen) == 1)
		if (userline_split(line, llen, &u, &ulen, &v, &vlen) == 1 &&
		    same(u, ulen, user))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ACL files */

unsigned int
edit_access(const char *s)
{
	return acl_access(s, strlen(s));
}

static const char *
access_word(unsigned int flags)
{
	switch (flags) {
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

/* One line, trimmed and classified as acl.c reads it. */
static void
aline_parse(struct aline *a, long *block, long i)
{
	const char	*p = a->raw, *kw, *w;
	size_t		 len = a->rawlen, kwlen, wlen;

	while (len > 0 && (p[len - 1] == ' ' ||
	    (p[len - 1] >= '\t' && p[len - 1] <= '\r')))
		len--;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	a->kind = AL_BLANK;
	a->block = *block;
	if (len == 0 || p[0] == '#')
		return;
	acl_word(&p, &len, &kw, &kwlen);
	a->arg = p;
	a->alen = len;
	if (same(kw, kwlen, "user") || same(kw, kwlen, "group")) {
		a->kind = kwlen == 4 ? AL_USER : AL_GROUP;
		a->block = *block = i;
	} else if (same(kw, kwlen, "member"))
		a->kind = AL_MEMBER;
	else {
		a->kind = kwlen == 5 ? AL_TOPIC : AL_PATTERN;
		acl_word(&p, &len, &w, &wlen);
		if (len == 0) {
			a->flags = ACLR_READ | ACLR_WRITE;
			a->arg = w;
			a->alen = wlen;
		} else {
			a->flags = acl_access(w, wlen);
			a->arg = p;
			a->alen = len;
		}
	}
}

/* The file in lines; it has been parsed whole by acl_parse() already. */
static int
afile_load(struct afile *af, const char *in, size_t len)
{
	const char	*p = in, *end = in + len, *nl;
	long		 block = -1;

	memset(af, 0, sizeof(*af));
	while (p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if (af->n == af->cap) {
			struct aline	*l;

			if ((l = reallocarray(af->l, af->cap ? af->cap * 2 : 64,
			    sizeof(*l))) == NULL)
				return -1;
			af->l = l;
			af->cap = af->cap ? af->cap * 2 : 64;
		}
		memset(&af->l[af->n], 0, sizeof(af->l[af->n]));
		af->l[af->n].raw = p;
		af->l[af->n].rawlen = nl - p;
		aline_parse(&af->l[af->n], &block, af->n);
		af->n++;
		p = nl + 1;
	}
	return 0;
}

static void
afile_free(struct afile *af)
{
	size_t	 i;

	for (i = 0; i < af->n; i++)
		free(af->l[i].repl);
	free(af->l);
	memset(af, 0, sizeof(*af));
}

/* Is line i's block the one of `e' (who, name)? */
static int
in_block(const struct afile *af, size_t i, const struct acl_edit *e)
{
	const struct aline	*h;

	if (e->who == ACL_WHO_ANON || e->who == ACL_WHO_PATTERN)
		return af->l[i].block == -1;
	if (af->l[i].block == -1)
		return 0;
	h = &af->l[af->l[i].block];
	return h->kind == (e->who == ACL_WHO_USER ? AL_USER : AL_GROUP) &&
	    same(h->arg, h->alen, e->name);
}

/* Is line i a rule of `e' (any access if flags is 0)? */
static int
is_rule(const struct afile *af, size_t i, const struct acl_edit *e)
{
	const struct aline	*a = &af->l[i];

	if (e->who == ACL_WHO_PATTERN) {
		if (a->kind != AL_PATTERN)
			return 0;
	} else if (a->kind != AL_TOPIC || !in_block(af, i, e))
		return 0;
	return same(a->arg, a->alen, e->filter) &&
	    (e->flags == 0 || a->flags == e->flags);
}

/* The last line of e's blocks that is not blank, or -1. */
static long
block_last(const struct afile *af, const struct acl_edit *e)
{
	long	 i, last = -1;

	for (i = 0; i < (long)af->n; i++)
		if (af->l[i].kind != AL_BLANK && in_block(af, i, e))
			last = i;
	return last;
}

/* The first user or group line, or n. */
static long
first_block(const struct afile *af)
{
	size_t	 i;

	for (i = 0; i < af->n; i++)
		if (af->l[i].kind == AL_USER || af->l[i].kind == AL_GROUP)
			break;
	return i;
}

/* Writes the lines, with `ins' before line `at' (n: at the end). */
static void
afile_emit(const struct afile *af, long at, const struct text *ins,
    struct text *out)
{
	size_t	 i;

	text_add(out, "", 0);
	for (i = 0; i <= af->n; i++) {
		if ((long)i == at && ins->len > 0)
			text_add(out, ins->buf, ins->len);
		if (i == af->n)
			break;
		if (af->l[i].drop)
			continue;
		if (af->l[i].repl != NULL)
			text_addstr(out, af->l[i].repl);
		else
			text_add(out, af->l[i].raw, af->l[i].rawlen);
		text_add(out, "\n", 1);
	}
}

/* A block of its own at the end, after a blank line. */
static long
at_end(const struct afile *af, struct text *ins, const char *kw,
    const char *name)
{
	if (af->n > 0 && af->l[af->n - 1].rawlen > 0)
		text_add(ins, "\n", 1);
	text_addstr(ins, kw);
	text_add(ins, " ", 1);
	text_addstr(ins, name);
	text_add(ins, "\n", 1);
	return af->n;
}

static const char *
who_name(const struct acl_edit *e, char *buf, size_t size)
{
	switch (e->who) {
	case ACL_WHO_ANON:
		return "anonymous clients";
	case ACL_WHO_PATTERN:
		return "the patterns";
	case ACL_WHO_USER:
		snprintf(buf, size, "user %s", e->name);
		return buf;
	default:
		snprintf(buf, size, "group %s", e->name);
		return buf;
	}
}

static int
rule_add(struct afile *af, const struct acl_edit *e, struct text *ins,
    long *at, char *err, size_t errlen)
{
	char	 who[128];
	long	 last;
	size_t	 i;

	for (i = 0; i < af->n; i++)
		if (is_rule(af, i, e))
			return edit_fail(err, errlen, "%s: that rule is "
			    "there already", who_name(e, who, sizeof(who)));
	last = block_last(af, e);
	if (e->who == ACL_WHO_GROUP && last == -1)
		return edit_fail(err, errlen, "no group %s (group add "
		    "makes one)", e->name);
	if (e->who == ACL_WHO_USER && last == -1)
		*at = at_end(af, ins, "user", e->name);
	else if (last == -1)
		*at = first_block(af);		/* anonymous, pattern */
	else
		*at = last + 1;
	text_addstr(ins, e->who == ACL_WHO_PATTERN ? "pattern " : "topic ");
	text_addstr(ins, access_word(e->flags));
	text_add(ins, " ", 1);
	text_addstr(ins, e->filter);
	text_add(ins, "\n", 1);
	return 0;
}

static int
rule_del(struct afile *af, const struct acl_edit *e, char *err,
    size_t errlen)
{
	char	 who[128];
	size_t	 i;
	int	 n = 0;

	if (e->who == ACL_WHO_GROUP && block_last(af, e) == -1)
		return edit_fail(err, errlen, "no group %s", e->name);
	for (i = 0; i < af->n; i++)
		if (is_rule(af, i, e)) {
			af->l[i].drop = 1;
			n++;
		}
	if (n == 0)
		return edit_fail(err, errlen, "%s: no rule %s%s%s",
		    who_name(e, who, sizeof(who)), e->flags != 0 ?
		    access_word(e->flags) : "", e->flags != 0 ? " " : "",
		    e->filter);
	return 0;
}

/* Has the group's member line i the user? */
static int
member_has(const struct aline *a, const char *user)
{
	const char	*p = a->arg, *w;
	size_t		 len = a->alen, wlen;

	while (len > 0) {
		acl_word(&p, &len, &w, &wlen);
		if (same(w, wlen, user))
			return 1;
	}
	return 0;
}

/* Line i's members but `user'. */
static char *
member_without(const struct aline *a, const char *user)
{
	struct text	 t = { 0 };
	const char	*p = a->arg, *w;
	size_t		 len = a->alen, wlen;
	char		*s;

	text_addstr(&t, "member");
	while (len > 0) {
		acl_word(&p, &len, &w, &wlen);
		if (same(w, wlen, user))
			continue;
		text_add(&t, " ", 1);
		text_add(&t, w, wlen);
	}
	if (t.len == 6) {
		text_free(&t);
		return NULL;
	}
	s = strdup(t.buf);
	text_free(&t);
	return s;
}

static int
group_add(struct afile *af, const struct acl_edit *e, struct text *ins,
    long *at, char *err, size_t errlen)
{
	if (block_last(af, e) != -1)
		return edit_fail(err, errlen, "group %s is there already",
		    e->name);
	*at = at_end(af, ins, "group", e->name);
	return 0;
}

/*
 * Each stretch of the group's block goes, from its `group' line to its
 * last line that is not blank: the comments after it are the next
 * block's.
 */
static int
group_del(struct afile *af, const struct acl_edit *e, char *err,
    size_t errlen)
{
	size_t	 h, i, last;

	if (block_last(af, e) == -1)
		return edit_fail(err, errlen, "no group %s", e->name);
	for (h = 0; h < af->n; h++) {
		if (af->l[h].kind != AL_GROUP || !in_block(af, h, e))
			continue;
		for (i = last = h; i < af->n && af->l[i].block == (long)h; i++)
			if (af->l[i].kind != AL_BLANK)
				last = i;
		for (i = h; i <= last; i++)
			af->l[i].drop = 1;
	}
	return 0;
}

static int
member_edit(struct afile *af, const struct acl_edit *e, struct text *ins,
    long *at, char *err, size_t errlen)
{
	long	 last = -1;
	size_t	 i;
	int	 n = 0;

	if (block_last(af, e) == -1)
		return edit_fail(err, errlen, "no group %s", e->name);
	for (i = 0; i < af->n; i++) {
		if (!in_block(af, i, e))
			continue;
		if (af->l[i].kind == AL_GROUP)
			last = i;
		if (af->l[i].kind != AL_MEMBER)
			continue;
		last = i;
		if (!member_has(&af->l[i], e->member))
			continue;
		n++;
		if (e->op == EDIT_MEMBER_DEL && (af->l[i].repl =
		    member_without(&af->l[i], e->member)) == NULL)
			af->l[i].drop = 1;
	}
	if (e->op == EDIT_MEMBER_DEL) {
		if (n == 0)
			return edit_fail(err, errlen, "%s is not a member of "
			    "group %s", e->member, e->name);
		return 0;
	}
	if (n > 0)
		return edit_fail(err, errlen, "%s is a member of group %s "
		    "already", e->member, e->name);
	/* After the last member line of the group's last stretch. */
	*at = last + 1;
	text_addstr(ins, "member ");
	text_addstr(ins, e->member);
	text_add(ins, "\n", 1);
	return 0;
}

/*
 * One edit of an ACL file (struct acl_edit, brokerctl.h); `path' is for
 * the messages.
 */
int
edit_acl(const char *path, const char *in, size_t len,
    const struct acl_edit *e, struct text *out, char *err, size_t errlen)
{
	struct aclfile	*acl;
	struct afile	 af;
	struct text	 ins = { 0 };
	long		 at = -1;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((acl = acl_parse(path, in, len, err, errlen)) == NULL)
		return -1;
	acl_free(acl);
	if (e->name != NULL && edit_word_valid(e->name, e->who ==
	    ACL_WHO_USER ? "user name" : "group name", 1, err, errlen) == -1)
		return -1;
	if (e->member != NULL && edit_word_valid(e->member, "member's name",
	    0, err, errlen) == -1)
		return -1;
	if (e->filter != NULL && edit_word_valid(e->filter, "topic filter",
	    1, err, errlen) == -1)
		return -1;
	if (afile_load(&af, in, len) == -1)
		return edit_fail(err, errlen, "out of memory");
	switch (e->op) {
	case EDIT_RULE_ADD:
		rc = rule_add(&af, e, &ins, &at, err, errlen);
		break;
	case EDIT_RULE_DEL:
		rc = rule_del(&af, e, err, errlen);
		break;
	case EDIT_GROUP_ADD:
		rc = group_add(&af, e, &ins, &at, err, errlen);
		break;
	case EDIT_GROUP_DEL:
		rc = group_del(&af, e, err, errlen);
		break;
	case EDIT_MEMBER_ADD:
	case EDIT_MEMBER_DEL:
		rc = member_edit(&af, e, &ins, &at, err, errlen);
		break;
	default:
		rc = edit_fail(err, errlen, "not an ACL edit");
		break;
	}
	if (rc == 0) {
		afile_emit(&af, at, &ins, out);
		if ((acl = acl_parse(path, out->buf, out->len, err,
		    errlen)) == NULL) {
			text_free(out);
			rc = -1;
		}
		acl_free(acl);
	}
	text_free(&ins);
	afile_free(&af);
	return rc;
}
