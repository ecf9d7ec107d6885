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
 * The WebSocket opening handshake, server side: one HTTP/1.1 GET with
 * the upgrade headers of RFC 6455 section 4.2.1.  The head is read by
 * the one request-head parser, common/httpreq.c (RFC 9112, strictly:
 * CRLF line ends, no line folding, no white space before a colon, no
 * control characters, no body), and bounded in bytes and header lines.
 * Every error is the HTTP status to answer with.  Decoding points into
 * the head and allocates nothing.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "httpstatus.h"
#include "http.h"

#define FAIL(e, st, msg)	do {					\
	(e)->status = (st);						\
	(e)->why = (msg);						\
	return -1;							\
} while (0)

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The subprotocols we speak, best first (MQTT 5.0 section 6). */
static const char *const http_protocols[] = { "mqtt", "mqttv3.1" };

/*
 * Has the head ended?  `*scanned' bytes were looked at by an earlier
 * call (0 the first time), so that a head arriving a byte at a time is
 * still read in linear time.  Returns 1 with `*headlen', 0 if more is
 * needed, or -1: a control character, or no end within `max' bytes.
 */
int
http_head_end(const uint8_t *p, size_t len, size_t max, size_t *scanned,
    size_t *headlen, struct http_error *e)
{
	size_t	 i, end = len < max ? len : max;

	for (i = *scanned; i < end; i++) {
		uint8_t	 c = p[i];

		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') ||
		    c == 0x7f)
			FAIL(e, 400, "control character in the request");
		if (c == '\n' && i >= 3 && p[i - 1] == '\r' &&
		    p[i - 2] == '\n' && p[i - 3] == '\r') {
			*headlen = i + 1;
			*scanned = i + 1;
			return 1;
		}
	}
	*scanned = end;
	if (len >= max)
		FAIL(e, 431, "request head too large");
	return 0;
}

/*
 * 16 random bytes in base64 (RFC 6455 section 4.1): 22 characters of
 * the alphabet, the last of them with its low four bits clear, and "==".
 */
static int
http_key_valid(const struct http_str *k)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*c;
	size_t			 i;

	if (k->len != 24 || k->p[22] != '=' || k->p[23] != '=')
		return 0;
	for (i = 0; i < 22; i++) {
		if (k->p[i] == '\0' || (c = strchr(b64, k->p[i])) == NULL)
			return 0;
		if (i == 21 && ((c - b64) & 0x0f) != 0)
			return 0;
	}
	return 1;
}

/* Only one of these may be present. */
static int
http_once(struct http_str *dst, const struct http_str *v, const char *why,
    struct http_error *e)
{
	if (dst->p != NULL)
		FAIL(e, 400, why);
	*dst = *v;
	return 0;
}

/* What the request line must be for an upgrade: GET, HTTP/1.1. */
static int
http_request_line(const struct http_request *req, struct http_upgrade *u,
    struct http_error *e)
{
	if (!(req->method.len == 3 && memcmp(req->method.p, "GET", 3) == 0))
		FAIL(e, 405, "method is not GET");
	if (req->minor != 1)
		FAIL(e, 505, "HTTP version is not 1.1");
	if (memchr(req->target.p, '#', req->target.len) != NULL)
		FAIL(e, 400, "request target with a fragment");
	u->target = req->target;
	return 0;
}

/* Sec-WebSocket-Protocol: the best of ours offered, or -1. */
static int
http_protocol(struct http_str v, size_t *best, int *offered,
    struct http_error *e)
{
	struct http_str	 el;
	size_t		 i;

	while (http_list_next(&v, &el)) {
		if (!http_token(&el))
			FAIL(e, 400, "malformed subprotocol");
		*offered = 1;
		for (i = 0; i < *best; i++)
			if (el.len == strlen(http_protocols[i]) &&
			    memcmp(el.p, http_protocols[i], el.len) == 0)
				*best = i;
	}
	return 0;
}

/* The header fields of an upgrade, from the decoded request. */
static int
http_upgrade_fields(const struct http_request *req, struct http_upgrade *u,
    struct http_str *version, int *upgrade, int *connection, size_t *best,
    int *offered, struct http_error *e)
{
	const struct http_field	*f;
	unsigned int		 i;

	for (i = 0; i < req->nheaders; i++) {
		f = &req->fields[i];
		if (http_str_ieq(&f->name, "Upgrade"))
			*upgrade |= http_list_has(&f->value, "websocket");
		else if (http_str_ieq(&f->name, "Connection"))
			*connection |= http_list_has(&f->value, "upgrade");
		else if (http_str_ieq(&f->name, "Sec-WebSocket-Key")) {
			if (http_once(&u->key, &f->value,
			    "two Sec-WebSocket-Key headers", e) == -1)
				return -1;
		} else if (http_str_ieq(&f->name, "Sec-WebSocket-Version")) {
			if (http_once(version, &f->value,
			    "two Sec-WebSocket-Version headers", e) == -1)
				return -1;
		} else if (http_str_ieq(&f->name, "Sec-WebSocket-Protocol")) {
			if (http_protocol(f->value, best, offered, e) == -1)
				return -1;
		} else if (http_str_ieq(&f->name, "Origin")) {
			if (http_once(&u->origin, &f->value,
			    "two Origin headers", e) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * Parse a whole head (`len' bytes, as found by http_head_end) as a
 * WebSocket upgrade that `pol' accepts.  Returns 0 with `u' filled, or
 * -1 with the status to answer.  The head is decoded by
 * http_parse_request() (common/httpreq.c), which refuses a body (413,
 * 501 for a transfer coding) as the upgrade must: what follows the head
 * can only be WebSocket frames.
 */
int
http_parse_upgrade(const uint8_t *head, size_t len,
    const struct http_policy *pol, struct http_upgrade *u,
    struct http_error *e)
{
	struct http_request	 req;
	struct http_str		 version = { NULL, 0 };
	int			 r, upgrade = 0, connection = 0, offered = 0;
	size_t			 i, best = sizeof(http_protocols) /
				    sizeof(http_protocols[0]);

	memset(u, 0, sizeof(*u));
	if ((r = http_parse_request(head, len, &req, e)) == -1)
		return -1;
	if (r == 0 || req.len != len)
		FAIL(e, 400, "not one request head");
	if (req.nheaders > pol->max_headers)
		FAIL(e, 431, "too many header lines");
	if (http_request_line(&req, u, e) == -1)
		return -1;
	u->host = req.host;
	if (u->host.p == NULL || u->host.len == 0)
		FAIL(e, 400, "no Host header");
	if (http_upgrade_fields(&req, u, &version, &upgrade, &connection,
	    &best, &offered, e) == -1)
		return -1;
	if (!upgrade)
		FAIL(e, 426, "not a WebSocket upgrade");
	if (!connection)
		FAIL(e, 400, "Connection header without upgrade");
	if (version.p == NULL || version.len != 2 ||
	    memcmp(version.p, "13", 2) != 0)
		FAIL(e, 426, "WebSocket version is not 13");
	if (u->key.p == NULL || !http_key_valid(&u->key))
		FAIL(e, 400, "bad Sec-WebSocket-Key");
	if (offered) {
		if (best == sizeof(http_protocols) / sizeof(http_protocols[0]))
			FAIL(e, 400, "subprotocol mqtt not offered");
		u->protocol = http_protocols[best];
	}
	if (pol->norigins > 0 && u->origin.p != NULL) {
		for (i = 0; i < pol->norigins; i++)
			if (http_str_ieq(&u->origin, pol->origins[i]))
				break;
		if (i == pol->norigins)
			FAIL(e, 403, "origin not allowed");
	}
	u->headlen = len;
	return 0;
}

/* Sec-WebSocket-Accept for a key: HTTP_ACCEPT_LEN characters and NUL. */
void
http_ws_accept(const struct http_str *key, char *out)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char		 in[64], md[SHA_DIGEST_LENGTH + 1];
	size_t			 n = sizeof(WS_GUID) - 1, i, o = 0;
	uint32_t		 v;

	/* The key was checked to be 24 characters. */
	memcpy(in, key->p, key->len);
	memcpy(in + key->len, WS_GUID, n);
	SHA1(in, key->len + n, md);
	md[SHA_DIGEST_LENGTH] = 0;
	for (i = 0; i < SHA_DIGEST_LENGTH; i += 3) {
		v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8;
		if (i + 2 < SHA_DIGEST_LENGTH)
			v |= md[i + 2];
		out[o++] = b64[(v >> 18) & 0x3f];
		out[o++] = b64[(v >> 12) & 0x3f];
		out[o++] = i + 1 < SHA_DIGEST_LENGTH ?
		    b64[(v >> 6) & 0x3f] : '=';
		out[o++] = i + 2 < SHA_DIGEST_LENGTH ? b64[v & 0x3f] : '=';
	}
	out[o] = '\0';
}


/* The 101 answer; its length, or -1 if `size' is too small. */
int
http_encode_101(char *out, size_t size, const struct http_upgrade *u)
{
	char	 accept[HTTP_ACCEPT_LEN + 1];
	int	 n;

	http_ws_accept(&u->key, accept);
	n = snprintf(out, size, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "%s%s%s"
	    "\r\n", accept,
	    u->protocol != NULL ? "Sec-WebSocket-Protocol: " : "",
	    u->protocol != NULL ? u->protocol : "",
	    u->protocol != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

/* An error answer that closes the connection; as http_encode_101. */
int
http_encode_error(char *out, size_t size, const struct http_error *e)
{
	const char	*extra = "";
	int		 n;

	if (e->status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	else if (e->status == 405)
		extra = "Allow: GET\r\n";
	n = snprintf(out, size, "HTTP/1.1 %d %s\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s\n", e->status, http_status_text(e->status), extra,
	    strlen(e->why) + 1, e->why);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}
