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
 * libFuzzer target for tlsproxy/http.c.  The first byte chooses the
 * variant:
 *	bit 0	  an Origin list, else none
 *	bit 1	  at most 4 header lines, else 64
 *	bits 2-3  the bound of the head (64, 512, 8192, 65536 bytes)
 *	bits 4-6  the size of the reads (all, 1, 2, 3, 10, 100, 1000, 4000)
 * The rest is the request.  Its end is looked for whole and read by
 * read: both must agree.  A head that parses answers 101 within
 * HTTP_RESPONSE_MAX, every error answers with its status, and whatever
 * the decoder points at lies inside the head.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define FUZZ_MAXINPUT	(128 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t	 fuzz_heads[4] = { 64, 512, 8192, 65536 };
static const size_t	 fuzz_reads[8] = { 0, 1, 2, 3, 10, 100, 1000, 4000 };
static const char *const fuzz_origins[] = { "https://app.example",
	"http://localhost" };

static int
end(const uint8_t *p, size_t len, size_t max, size_t readsz, size_t *headlen,
    struct http_error *e)
{
	size_t	 have = 0, scanned = 0;
	int	 r = 0;

	do {
		have += readsz == 0 ? len : readsz;
		if (have > len)
			have = len;
		if ((r = http_head_end(p, have, max, &scanned, headlen,
		    e)) != 0)
			return r;
	} while (have < len);
	return r;
}

static void
inside(const struct http_str *s, const uint8_t *p, size_t len)
{
	if (s->p == NULL)
		return;
	if ((const uint8_t *)s->p < p ||
	    (const uint8_t *)s->p + s->len > p + len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_policy	 pol;
	struct http_upgrade	 u;
	struct http_error	 e1, e2;
	char			 out[HTTP_RESPONSE_MAX];
	const uint8_t		*p = data + 1;
	size_t			 len, h1 = 0, h2 = 0;
	int			 r1, r2;

	if (size < 1 || size > FUZZ_MAXINPUT)
		return 0;
	len = size - 1;
	memset(&pol, 0, sizeof(pol));
	pol.max_head = fuzz_heads[(data[0] >> 2) & 3];
	pol.max_headers = (data[0] & 2) ? 4 : HTTP_HEADERS_MAX;
	if (data[0] & 1) {
		pol.origins = fuzz_origins;
		pol.norigins = 2;
	}
	r1 = end(p, len, pol.max_head, 0, &h1, &e1);
	r2 = end(p, len, pol.max_head, fuzz_reads[(data[0] >> 4) & 7], &h2,
	    &e2);
	if (r1 != r2 || (r1 == 1 && h1 != h2) ||
	    (r1 == -1 && e1.status != e2.status))
		abort();
	if (r1 == -1 && http_encode_error(out, sizeof(out), &e1) <= 0)
		abort();
	if (r1 != 1)
		return 0;
	if (h1 > len || h1 > pol.max_head)
		abort();
	if (http_parse_upgrade(p, h1, &pol, &u, &e1) == -1) {
		if (e1.why == NULL || e1.status < 400 ||
		    http_encode_error(out, sizeof(out), &e1) <= 0)
			abort();
		return 0;
	}
	inside(&u.target, p, h1);
	inside(&u.host, p, h1);
	inside(&u.origin, p, h1);
	inside(&u.key, p, h1);
	if (u.key.len != 24 || u.headlen != h1 ||
	    http_encode_101(out, sizeof(out), &u) <= 0)
		abort();
	return 0;
}
