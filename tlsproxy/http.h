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

#ifndef BROKERD_HTTP_H
#define BROKERD_HTTP_H

/*
 * The one HTTP/1.1 request a WebSocket server reads: the upgrade
 * (RFC 6455 section 4.2), its head decoded by common/httpreq.c, and the
 * two kinds of answer, 101 or an error.  Decoding points into the
 * request head and allocates nothing.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "httpreq.h"

#define HTTP_HEAD_MAX		HTTP_MAX_HEAD	/* at most: httpreq.h's */
#define HTTP_HEADERS_MAX	HTTP_MAX_HEADERS
#define HTTP_ACCEPT_LEN		28	/* base64 of a SHA-1 */
#define HTTP_RESPONSE_MAX	512	/* room for any answer of ours */

/* What a listener accepts. */
struct http_policy {
	size_t		 max_head;
	unsigned int	 max_headers;
	/* If not empty, an Origin header must be one of these. */
	const char *const *origins;
	size_t		 norigins;
};

struct http_upgrade {
	struct http_str	 target;
	struct http_str	 host;
	struct http_str	 origin;		/* len 0: none */
	struct http_str	 key;
	const char	*protocol;		/* chosen, or NULL */
	size_t		 headlen;		/* through the empty line */
};

/* http.c */
int	 http_head_end(const uint8_t *, size_t, size_t, size_t *, size_t *,
	    struct http_error *);
int	 http_parse_upgrade(const uint8_t *, size_t,
	    const struct http_policy *, struct http_upgrade *,
	    struct http_error *);
void	 http_ws_accept(const struct http_str *, char *);
int	 http_encode_101(char *, size_t, const struct http_upgrade *);
int	 http_encode_error(char *, size_t, const struct http_error *);

#endif /* BROKERD_HTTP_H */
