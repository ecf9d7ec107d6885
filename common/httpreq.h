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

#ifndef BROKERD_HTTPREQ_H
#define BROKERD_HTTPREQ_H

/*
 * The head of an HTTP/1.0 or 1.1 request (RFC 9112), decoded strictly
 * and within fixed limits into a structure that points into the bytes
 * (nothing is copied or allocated).  For the metrics listener (GET and
 * HEAD of a path, no body) and tlsproxy's WebSocket upgrade, which reads
 * its header fields from `fields'.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD		8192	/* request line and headers */
#define HTTP_MAX_TARGET		1024
#define HTTP_MAX_METHOD		16
#define HTTP_MAX_HEADERS	64

struct http_str {
	const uint8_t	*p;
	size_t		 len;
};

struct http_field {
	struct http_str	 name;
	struct http_str	 value;		/* without leading, trailing blanks */
};

struct http_request {
	struct http_str	 method;
	struct http_str	 target;	/* origin-form: /path?query */
	struct http_str	 path;		/* the target up to '?' */
	struct http_str	 host;
	int		 minor;		/* HTTP/1.minor */
	int		 close;		/* Connection: close (or 1.0) */
	unsigned int	 nheaders;
	struct http_field fields[HTTP_MAX_HEADERS];	/* nheaders of them */
	size_t		 len;		/* bytes of the head, CRLFCRLF too */
};

/* Why a request was refused: the status to answer with, and a reason. */
struct http_error {
	int		 status;	/* 400, 413, 414, 431, 501, 505 */
	const char	*why;
};

int		 http_parse_request(const uint8_t *, size_t,
		    struct http_request *, struct http_error *);
int		 http_str_ieq(const struct http_str *, const char *);
int		 http_token(const struct http_str *);
int		 http_list_next(struct http_str *, struct http_str *);
int		 http_list_has(const struct http_str *, const char *);
#include "httpstatus.h"

#endif /* BROKERD_HTTPREQ_H */
