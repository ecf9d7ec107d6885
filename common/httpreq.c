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
 * HTTP request heads, decoded strictly: CRLF line ends only, single
 * spaces in the request line, a token for the method and for each
 * field name, no obsolete line folding, no control characters, an
 * origin-form target, HTTP/1.x, a Host field for 1.1 (once), no body
 * (Content-Length 0 at most, no Transfer-Encoding), and the limits of
 * httpreq.h.  Garbage is refused as soon as the first bytes show it,
 * not after HTTP_MAX_HEAD bytes.  Nothing is allocated.
 */

#include <sys/types.h>

#include <string.h>

#include "httpreq.h"

#define FAIL(e, st, msg)	do {					\
	(e)->status = (st);						\
	(e)->why = (msg);						\
	return -1;							\
} while (0)

/* RFC 9110 5.6.2: tchar. */
static int
is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte of a field value: VCHAR, obs-text, SP, HTAB. */
static int
is_fchar(uint8_t c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t';
}

/* Is `s' the literal `lit' (lower case), compared without case? */
int
http_str_ieq(const struct http_str *s, const char *lit)
{
	size_t	 i, n = strlen(lit);

	if (s->len != n)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t	 a = s->p[i], b = lit[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

/* A token (RFC 9110 5.6.2): one or more tchar. */
int
http_token(const struct http_str *s)
{
	size_t	 i;

	if (s->len == 0)
		return 0;
	for (i = 0; i < s->len; i++)
		if (!is_tchar(s->p[i]))
			return 0;
	return 1;
}

/*
 * The next element of the comma-separated list `list' (RFC 9110 5.6.1),
 * without the blanks around it, into `el'; `list' is what is left.
 * Returns 0 at the end.
 */
int
http_list_next(struct http_str *list, struct http_str *el)
{
	const uint8_t	*p = list->p, *end = list->p + list->len, *q;

	while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
		p++;
	if (p == end) {
		list->p = p;
		list->len = 0;
		return 0;
	}
	for (q = p; q < end && *q != ','; q++)
		;
	el->p = p;
	el->len = q - p;
	while (el->len > 0 && (p[el->len - 1] == ' ' ||
	    p[el->len - 1] == '\t'))
		el->len--;
	list->p = q;
	list->len = end - q;
	return 1;
}

/* Does the list `v' hold `tok' (compared without case)? */
int
http_list_has(const struct http_str *v, const char *tok)
{
	struct http_str	 l = *v, el;

	while (http_list_next(&l, &el))
		if (http_str_ieq(&el, tok))
			return 1;
	return 0;
}

static int
parse_request_line(const uint8_t *p, size_t len, struct http_request *r,
    struct http_error *e)
{
	const uint8_t	*q;
	size_t		 i = 0, start;

	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ' ')
		FAIL(e, 400, "bad method");
	if (i > HTTP_MAX_METHOD)
		FAIL(e, 501, "method too long");
	r->method.p = p;
	r->method.len = i;
	start = ++i;
	while (i < len && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i - start > HTTP_MAX_TARGET)
		FAIL(e, 414, "request target too long");
	if (i == start || p[start] != '/' || i == len || p[i] != ' ')
		FAIL(e, 400, "bad request target");
	r->target.p = p + start;
	r->target.len = i - start;
	r->path = r->target;
	if ((q = memchr(r->target.p, '?', r->target.len)) != NULL)
		r->path.len = q - r->target.p;
	start = ++i;
	if (len - start != 8 || memcmp(p + start, "HTTP/", 5) != 0 ||
	    p[start + 5] < '0' || p[start + 5] > '9' || p[start + 6] != '.' ||
	    p[start + 7] < '0' || p[start + 7] > '9')
		FAIL(e, 400, "bad HTTP version");
	if (p[start + 5] != '1')
		FAIL(e, 505, "HTTP version not supported");
	r->minor = p[start + 7] == '0' ? 0 : 1;
	r->close = r->minor == 0;
	return 0;
}

static int
parse_field(const uint8_t *p, size_t len, struct http_request *r,
    struct http_error *e, int *seen_cl)
{
	struct http_str	 name, value;
	size_t		 i = 0, j;

	if (len > 0 && (p[0] == ' ' || p[0] == '\t'))
		FAIL(e, 400, "obsolete line folding");
	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ':')
		FAIL(e, 400, "bad header field");
	name.p = p;
	name.len = i++;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (j = i; j < len; j++)
		if (!is_fchar(p[j]))
			FAIL(e, 400, "control character in a header field");
	while (len > i && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	value.p = p + i;
	value.len = len - i;
	if (r->nheaders == HTTP_MAX_HEADERS)
		FAIL(e, 431, "too many header fields");
	r->fields[r->nheaders].name = name;
	r->fields[r->nheaders++].value = value;
	if (http_str_ieq(&name, "host")) {
		if (r->host.p != NULL)
			FAIL(e, 400, "two Host fields");
		r->host = value;
	} else if (http_str_ieq(&name, "content-length")) {
		if (*seen_cl)
			FAIL(e, 400, "two Content-Length fields");
		*seen_cl = 1;
		for (j = 0; j < value.len; j++)
			if (value.p[j] < '0' || value.p[j] > '9')
				FAIL(e, 400, "bad Content-Length");
		for (j = 0; j < value.len && value.p[j] == '0'; j++)
			;
		if (value.len == 0)
			FAIL(e, 400, "bad Content-Length");
		if (j < value.len)
			FAIL(e, 413, "a request body is not accepted");
	} else if (http_str_ieq(&name, "transfer-encoding"))
		FAIL(e, 501, "transfer codings are not supported");
	else if (http_str_ieq(&name, "connection") &&
	    http_list_has(&value, "close"))
		r->close = 1;
	return 0;
}

/*
 * What an incomplete line can already show to be wrong: a request line
 * that does not start with a method, a byte no line may hold, a line
 * longer than any limit.
 */
static int
check_partial(const uint8_t *p, size_t len, int first, struct http_error *e)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i == len - 1)
			break;		/* its LF may follow */
		if (p[i] < 0x20 && p[i] != '\t')
			FAIL(e, 400, "control character");
		if (p[i] == 0x7f)
			FAIL(e, 400, "control character");
	}
	if (first) {
		for (i = 0; i < len && is_tchar(p[i]); i++)
			;
		if (i < len && p[i] != ' ')
			FAIL(e, 400, "bad method");
		if (i > HTTP_MAX_METHOD)
			FAIL(e, 501, "method too long");
		if (len > HTTP_MAX_METHOD + HTTP_MAX_TARGET + 11)
			FAIL(e, 414, "request line too long");
	}
	return 0;
}

/*
 * Decode the head of the request at the start of p[0..len).  Returns 1
 * when it is complete and well formed (r->len says how long it is), 0 if
 * more bytes are needed, -1 with *e if it is refused.
 */
int
http_parse_request(const uint8_t *p, size_t len, struct http_request *r,
    struct http_error *e)
{
	const uint8_t	*eol;
	size_t		 off = 0, n;
	int		 first = 1, seen_cl = 0;

	memset(r, 0, sizeof(*r));
	e->status = 0;
	e->why = NULL;
	if (len > HTTP_MAX_HEAD)
		len = HTTP_MAX_HEAD;
	for (;;) {
		eol = memchr(p + off, '\n', len - off);
		if (eol == NULL) {
			if (check_partial(p + off, len - off, first, e) == -1)
				return -1;
			if (len == HTTP_MAX_HEAD)
				FAIL(e, 431, "request head too large");
			return 0;
		}
		n = eol - (p + off);
		if (n == 0 || p[off + n - 1] != '\r')
			FAIL(e, 400, "a line that does not end in CRLF");
		n--;
		if (memchr(p + off, '\r', n) != NULL)
			FAIL(e, 400, "a CR inside a line");
		if (first) {
			if (parse_request_line(p + off, n, r, e) == -1)
				return -1;
			first = 0;
		} else if (n == 0) {
			r->len = off + 2;
			if (r->minor == 1 && r->host.p == NULL)
				FAIL(e, 400, "no Host field");
			return 1;
		} else if (parse_field(p + off, n, r, e, &seen_cl) == -1)
			return -1;
		off += n + 2;
	}
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 101:	return "Switching Protocols";
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 403:	return "Forbidden";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 408:	return "Request Timeout";
	case 413:	return "Content Too Large";
	case 414:	return "URI Too Long";
	case 426:	return "Upgrade Required";
	case 431:	return "Request Header Fields Too Large";
	case 500:	return "Internal Server Error";
	case 501:	return "Not Implemented";
	case 503:	return "Service Unavailable";
	case 505:	return "HTTP Version Not Supported";
	default:	return "Error";
	}
}
