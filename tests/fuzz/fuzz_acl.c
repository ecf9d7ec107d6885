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
 * libFuzzer target for authd/acl.c: the input is an ACL file.  What
 * acl_parse() accepts must compile for every kind of client (anonymous,
 * named, with `+', `#', `/' or `$' in its names, or one named by the
 * file's first `user' line), the compiled form must pass
 * aclmatch_decode(), and checks on it must not fail.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "aclmatch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const topics[] = { "a", "a/b", "$SYS/x", "u1/c1",
    "/", "a//b/c/d", "x/y" };

static void
compile(const struct aclfile *af, const char *user, size_t ulen,
    const char *cid)
{
	struct aclmatch	 m;
	const char	*why;
	uint8_t		*blob;
	size_t		 len, i;

	if (acl_compile(af, user, ulen, cid, strlen(cid), &blob, &len,
	    &why) == -1) {
		/* Only a form too large may fail. */
		if (strncmp(why, "too ", 4) != 0)
			abort();
		return;
	}
	if (aclmatch_decode(&m, blob, len, &why) == -1)
		abort();
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		(void)aclmatch_topic(&m, topics[i], strlen(topics[i]),
		    ACLM_READ);
		(void)aclmatch_topic(&m, topics[i], strlen(topics[i]),
		    ACLM_WRITE);
		(void)aclmatch_subscribe(&m, topics[i], strlen(topics[i]));
	}
	(void)aclmatch_subscribe(&m, "#", 1);
	(void)aclmatch_subscribe(&m, "+/+/#", 5);
	free(blob);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *p, *nl;
	struct aclfile	*af;
	char		 err[256];

	if (size > 65536)
		return 0;
	if ((af = acl_parse("fuzz", s, size, err, sizeof(err))) == NULL) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();
		return 0;
	}
	compile(af, NULL, 0, "c1");
	compile(af, "u1", 2, "c1");
	compile(af, "+", 1, "#");
	compile(af, "a/b", 3, "$SYS");
	compile(af, "", 0, "");
	/* The first user line's name. */
	if ((p = memmem(s, size, "user ", 5)) != NULL) {
		p += 5;
		if ((nl = memchr(p, '\n', s + size - p)) == NULL)
			nl = s + size;
		compile(af, p, nl - p, "c1");
	}
	acl_free(af);
	return 0;
}
