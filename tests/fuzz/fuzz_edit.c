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
 * libFuzzer target for brokerctl/edit.c.  The input: one byte choosing
 * the edit and whose rules, then a name, a member and a filter ended by
 * NUL bytes, then an ACL file (also read as a password file).  An edit
 * that succeeds must give a file that parses, and its opposite must
 * succeed on that file (what was added can be deleted); a refusal must
 * say why and give nothing.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "aclmatch.h"
#include "brokerctl.h"
#include "passwd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const enum edit_op ops[] = { EDIT_RULE_ADD, EDIT_RULE_DEL,
    EDIT_GROUP_ADD, EDIT_GROUP_DEL, EDIT_MEMBER_ADD, EDIT_MEMBER_DEL };
static const unsigned int accesses[] = { 0, ACLR_READ, ACLR_WRITE,
    ACLR_READ | ACLR_WRITE, ACLR_DENY };

/* The next NUL-ended string of the input, or NULL. */
static char *
take(const char **p, const char *end)
{
	const char	*z;
	char		*s;

	if ((z = memchr(*p, '\0', end - *p)) == NULL)
		return NULL;
	if ((s = strdup(*p)) == NULL)
		abort();
	*p = z + 1;
	return s;
}

static void
check_acl(const struct acl_edit *e, const char *in, size_t len)
{
	struct acl_edit	 undo = *e;
	struct aclfile	*af;
	struct text	 out, back;
	char		 err[512];

	err[0] = '\0';
	if (edit_acl("fuzz", in, len, e, &out, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || out.buf != NULL)
			abort();
		return;
	}
	if ((af = acl_parse("fuzz", out.buf, out.len, err, sizeof(err))) ==
	    NULL)
		abort();
	acl_free(af);
	switch (e->op) {
	case EDIT_RULE_ADD:
		undo.op = EDIT_RULE_DEL;
		break;
	case EDIT_GROUP_ADD:
		undo.op = EDIT_GROUP_DEL;
		break;
	case EDIT_MEMBER_ADD:
		undo.op = EDIT_MEMBER_DEL;
		break;
	default:
		text_free(&out);
		return;
	}
	if (edit_acl("fuzz", out.buf, out.len, &undo, &back, err,
	    sizeof(err)) == -1)
		abort();
	text_free(&back);
	text_free(&out);
}

static void
check_passwd(const char *in, size_t len, const char *user)
{
	static const char	 h[] = "$6$JNxfvglOaLF+hY9L$tXx0gZLTt3zHieUqUM6Kc6F"
	    "xCeQbFT+Huz6S4O0vDIQxSLwuyFJCyYt0tN+6Mes6JepAoP1kDiPsaGfNOzRcww==";
	struct text	 out, back;
	char		 err[512];

	if (edit_passwd("fuzz", in, len, EDIT_USER_ADD, user, h, &out, err,
	    sizeof(err)) == -1) {
		if (out.buf != NULL)
			abort();
		return;
	}
	if (!edit_passwd_has(out.buf, out.len, user))
		abort();
	if (edit_passwd("fuzz", out.buf, out.len, EDIT_USER_DEL, user, NULL,
	    &back, err, sizeof(err)) == -1 ||
	    edit_passwd_has(back.buf, back.len, user))
		abort();
	text_free(&back);
	text_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data + 1, *end = p + size - 1;
	struct acl_edit	 e;
	char		*name = NULL, *member = NULL, *filter = NULL;

	if (size < 1 || size > 65536)
		return 0;
	memset(&e, 0, sizeof(e));
	e.op = ops[data[0] % 6];
	e.who = (enum acl_who)((data[0] / 6) % 4);
	e.flags = accesses[(data[0] / 24) % 5];
	if ((name = take(&p, end)) == NULL ||
	    (member = take(&p, end)) == NULL ||
	    (filter = take(&p, end)) == NULL)
		goto done;
	if (e.op >= EDIT_GROUP_ADD)
		e.who = ACL_WHO_GROUP;
	if (e.who == ACL_WHO_USER || e.who == ACL_WHO_GROUP)
		e.name = name;
	if (e.op == EDIT_MEMBER_ADD || e.op == EDIT_MEMBER_DEL)
		e.member = member;
	if (e.op == EDIT_RULE_ADD || e.op == EDIT_RULE_DEL)
		e.filter = filter;
	if (e.op == EDIT_RULE_ADD && e.flags == 0)
		e.flags = ACLR_READ;
	check_acl(&e, p, end - p);
	check_passwd(p, end - p, name);
 done:
	free(name);
	free(member);
	free(filter);
	return 0;
}
