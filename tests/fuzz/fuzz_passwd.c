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
 * libFuzzer target for authd/passwd.c: the input is a password file.
 * Whatever passwd_parse() accepts, the first user must be found and,
 * when its hash is cheap to compute, verified; each line is also decoded
 * alone as a hash, and what decodes must encode and decode to the same.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
cheap(const struct pw_hash *h)
{
	return h->kind == PW_SHA512 || (h->kind == PW_PBKDF2 &&
	    h->iter <= 100) || (h->kind == PW_ARGON2ID && h->mem <= 64 &&
	    h->iter <= 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data, *user, *nl, *why, *v;
	const struct pw_hash	*h;
	struct pw_hash		 a, b;
	struct pwfile		*pf;
	char			 err[256], enc[PW_MAXENCODED + 1];
	size_t			 ulen, vlen, len;
	int			 n;

	if ((pf = passwd_parse("fuzz", s, size, err, sizeof(err))) != NULL) {
		if ((nl = memchr(s, '\n', size)) == NULL)
			nl = s + size;
		if (userline_split(s, nl - s, &user, &ulen, &v, &vlen) == 1) {
			if ((h = passwd_lookup(pf, user, ulen)) == NULL)
				abort();
			if (cheap(h))
				(void)passwd_check(pf, user, ulen, "pw", 2);
		}
		passwd_free(pf);
	} else if (strstr(err, "fuzz:") != err)
		abort();

	/* One hash alone: decode, encode, decode. */
	len = size;
	if ((nl = memchr(s, '\n', size)) != NULL)
		len = nl - s;
	if (passwd_decode(&a, s, len, &why) == 0) {
		if ((n = passwd_encode(&a, enc, sizeof(enc))) == -1)
			abort();
		if (passwd_decode(&b, enc, n, &why) == -1 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		if (cheap(&a))
			(void)passwd_verify(&a, "pw", 2);
	}
	return 0;
}
