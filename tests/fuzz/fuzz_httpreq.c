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
 * The HTTP request decoder of the metrics listener, fed arbitrary bytes
 * whole and cut in two (as a client may send them), checking that what
 * it says of a complete request holds: the head lies within the input,
 * ends in an empty line, and its parts point into it.  An input it
 * accepts whole must not be refused from its first part.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"

static int
inside(const uint8_t *p, size_t len, const struct http_str *s)
{
	return s->p == NULL ? s->len == 0 :
	    s->p >= p && s->p + s->len <= p + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request	 r, r2;
	struct http_error	 e, e2;
	size_t			 cut;
	int			 rc, rc2;

	rc = http_parse_request(data, size, &r, &e);
	if (rc == 1) {
		if (r.len < 4 || r.len > size || r.len > HTTP_MAX_HEAD ||
		    memcmp(data + r.len - 4, "\r\n\r\n", 4) != 0 ||
		    !inside(data, size, &r.method) ||
		    !inside(data, size, &r.target) ||
		    !inside(data, size, &r.path) ||
		    !inside(data, size, &r.host) ||
		    r.path.len > r.target.len ||
		    r.method.len == 0 || r.method.len > HTTP_MAX_METHOD ||
		    r.target.len > HTTP_MAX_TARGET ||
		    r.nheaders > HTTP_MAX_HEADERS || r.target.p[0] != '/')
			abort();
		/* The same head, given all at once or up to any point. */
		cut = size > 0 ? data[0] % (r.len + 1) : 0;
		rc2 = http_parse_request(data, cut, &r2, &e2);
		if (rc2 == -1 || (rc2 == 1 && r2.len != r.len))
			abort();
	} else if (rc == -1) {
		if (e.status < 400 || e.status > 505 || e.why == NULL)
			abort();
	} else if (rc != 0 || size >= HTTP_MAX_HEAD)
		abort();
	return 0;
}
