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
 * libFuzzer target for tlsproxy/proxy.c.  The first byte chooses the
 * variant:
 *	bits 0-1  the versions accepted (both, v1, v2, both)
 *	bits 2-3  the bound of a v2 header (16, 107, 4096, PROXY_MAX)
 * The rest is what a load balancer (or anyone) sends first.  A header
 * that decodes must decode the same from exactly its own bytes, must
 * not be found complete in fewer, and every string it points at lies
 * inside it.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define FUZZ_MAXINPUT	(PROXY_MAX + 64)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const unsigned int fuzz_versions[4] = { PROXY_V1 | PROXY_V2,
	PROXY_V1, PROXY_V2, PROXY_V1 | PROXY_V2 };
static const size_t	 fuzz_max[4] = { 16, 107, 4096, PROXY_MAX };

static void
inside(const struct proxy_str *s, const uint8_t *p, size_t len)
{
	if (s->p == NULL)
		return;
	if (s->p < p || s->p + s->len > p + len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h, h2;
	struct proxy_error	 e;
	const uint8_t		*p = data + 1;
	unsigned int		 versions;
	size_t			 len, max;
	int			 r;

	if (size < 1 || size > FUZZ_MAXINPUT)
		return 0;
	len = size - 1;
	versions = fuzz_versions[data[0] & 3];
	max = fuzz_max[(data[0] >> 2) & 3];
	r = proxy_decode(p, len, versions, max, &h, &e);
	if (r == PROXY_ERROR) {
		if (e.why == NULL)
			abort();
		return 0;
	}
	if (r == PROXY_MORE) {
		/* More is asked for only while a header could still fit. */
		if (len >= PROXY_V2_FIXED && len >= max && len > PROXY_V1_MAX)
			abort();
		return 0;
	}
	if (r != PROXY_DONE || h.len == 0 || h.len > len ||
	    (h.version == 2 && h.len > max) ||
	    (h.version == 1 && h.len > PROXY_V1_MAX))
		abort();
	if (proxy_decode(p, h.len, versions, max, &h2, &e) != PROXY_DONE ||
	    h2.len != h.len || h2.local != h.local ||
	    memcmp(&h2.src, &h.src, sizeof(h.src)) != 0)
		abort();
	if (proxy_decode(p, h.len - 1, versions, max, &h2, &e) == PROXY_DONE)
		abort();
	inside(&h.alpn, p, h.len);
	inside(&h.authority, p, h.len);
	inside(&h.unique_id, p, h.len);
	inside(&h.ssl_version, p, h.len);
	inside(&h.ssl_cn, p, h.len);
	inside(&h.ssl_cipher, p, h.len);
	inside(&h.ssl_sig_alg, p, h.len);
	inside(&h.ssl_key_alg, p, h.len);
	if (h.unique_id.len > PROXY_UNIQUE_ID_MAX ||
	    (h.ssl_cn.p != NULL && memchr(h.ssl_cn.p, '\0', h.ssl_cn.len)))
		abort();
	return 0;
}
