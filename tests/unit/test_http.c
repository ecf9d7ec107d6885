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

/* Unit tests for tlsproxy/http.c, the WebSocket opening handshake. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "httpstatus.h"
#include "http.h"

/* RFC 6455 section 1.3's example key and its answer. */
#define KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT		"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define GOOD_HEAD							\
	"GET /mqtt HTTP/1.1\r\n"					\
	"Host: broker.example:8080\r\n"					\
	"Upgrade: websocket\r\n"					\
	"Connection: keep-alive, Upgrade\r\n"				\
	"Sec-WebSocket-Key: " KEY "\r\n"				\
	"Sec-WebSocket-Version: 13\r\n"					\
	"Sec-WebSocket-Protocol: mqtt\r\n"				\
	"Origin: https://app.example\r\n"				\
	"\r\n"

static const char *const origins[] = { "https://app.example",
	"http://localhost:3000" };

static const struct http_policy	 pol_any = {
	HTTP_HEAD_MAX, HTTP_HEADERS_MAX, NULL, 0
};
static const struct http_policy	 pol_origin = {
	HTTP_HEAD_MAX, HTTP_HEADERS_MAX, origins, 2
};

static int
parse(const char *head, const struct http_policy *pol,
    struct http_upgrade *u, struct http_error *e)
{
	size_t	 scanned = 0, headlen;
	int	 r;

	r = http_head_end((const uint8_t *)head, strlen(head), pol->max_head,
	    &scanned, &headlen, e);
	if (r != 1)
		return r == 0 ? -2 : -1;
	assert_int_equal(headlen, strlen(head));
	return http_parse_upgrade((const uint8_t *)head, headlen, pol, u, e);
}

static void
expect_status(const char *head, const struct http_policy *pol, int status)
{
	struct http_upgrade	 u;
	struct http_error	 e = { 0, NULL };

	assert_int_equal(parse(head, pol, &u, &e), -1);
	if (e.status != status)
		fail_msg("%d (%s), not %d, for:\n%s", e.status, e.why, status,
		    head);
	assert_non_null(e.why);
}

/* GOOD_HEAD with the line starting with `from' replaced by `to'. */
static const char *
edit(const char *from, const char *to)
{
	static char	 buf[4096];
	const char	*p = strstr(GOOD_HEAD, from), *eol;

	assert_non_null(p);
	eol = strstr(p, "\r\n") + 2;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - GOOD_HEAD),
	    GOOD_HEAD, to, eol);
	return buf;
}

static void
test_accept_key(void **state)
{
	struct http_str	 k = { (const uint8_t *)KEY, 24 };
	char		 out[HTTP_ACCEPT_LEN + 1];

	(void)state;
	http_ws_accept(&k, out);
	assert_string_equal(out, ACCEPT);
}

static void
test_good(void **state)
{
	struct http_upgrade	 u;
	struct http_error	 e;
	char			 resp[HTTP_RESPONSE_MAX];
	int			 n;

	(void)state;
	assert_int_equal(parse(GOOD_HEAD, &pol_any, &u, &e), 0);
	assert_int_equal(u.target.len, 5);
	assert_memory_equal(u.target.p, "/mqtt", 5);
	assert_int_equal(u.host.len, strlen("broker.example:8080"));
	assert_int_equal(u.origin.len, strlen("https://app.example"));
	assert_string_equal(u.protocol, "mqtt");
	assert_int_equal(u.headlen, strlen(GOOD_HEAD));
	n = http_encode_101(resp, sizeof(resp), &u);
	assert_true(n > 0);
	assert_string_equal(resp, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT "\r\n"
	    "Sec-WebSocket-Protocol: mqtt\r\n"
	    "\r\n");
	assert_int_equal(http_encode_101(resp, (size_t)n, &u), -1);
	/* The origin is allowed; names and tokens are without case. */
	assert_int_equal(parse(edit("Origin:", "origin: HTTPS://APP.example\r\n"),
	    &pol_origin, &u, &e), 0);
	assert_int_equal(parse(edit("Upgrade:", "UPGRADE:  WebSocket \r\n"),
	    &pol_any, &u, &e), 0);
	assert_int_equal(parse(edit("Connection:", "Connection:Upgrade\r\n"),
	    &pol_any, &u, &e), 0);
	/* No subprotocol offered: none answered. */
	assert_int_equal(parse(edit("Sec-WebSocket-Protocol:", ""), &pol_any,
	    &u, &e), 0);
	assert_null(u.protocol);
	n = http_encode_101(resp, sizeof(resp), &u);
	assert_null(strstr(resp, "Sec-WebSocket-Protocol"));
	/* mqtt preferred to mqttv3.1, over several headers. */
	assert_int_equal(parse(edit("Sec-WebSocket-Protocol:",
	    "Sec-WebSocket-Protocol: foo, mqttv3.1\r\n"
	    "Sec-WebSocket-Protocol: ,bar , mqtt\r\n"), &pol_any, &u, &e), 0);
	assert_string_equal(u.protocol, "mqtt");
	assert_int_equal(parse(edit("Sec-WebSocket-Protocol:",
	    "Sec-WebSocket-Protocol: mqttv3.1\r\n"), &pol_any, &u, &e), 0);
	assert_string_equal(u.protocol, "mqttv3.1");
	/* No Origin: not a browser, allowed even with a list. */
	assert_int_equal(parse(edit("Origin:", ""), &pol_origin, &u, &e), 0);
	/* HTTP/1.2 would still be 1.x. */
	assert_int_equal(parse(edit("GET", "GET / HTTP/1.2\r\n"), &pol_any,
	    &u, &e), 0);
	assert_int_equal(parse(edit("Host:", "Content-Length: 0\r\n"
	    "Host: h\r\n"), &pol_any, &u, &e), 0);
}

static void
test_statuses(void **state)
{
	(void)state;
	expect_status(edit("GET", "POST /mqtt HTTP/1.1\r\n"), &pol_any, 405);
	expect_status(edit("GET", "get /mqtt HTTP/1.1\r\n"), &pol_any, 405);
	expect_status(edit("GET", "GET /mqtt HTTP/1.0\r\n"), &pol_any, 505);
	expect_status(edit("GET", "GET /mqtt HTTP/2.0\r\n"), &pol_any, 505);
	expect_status(edit("GET", "GET /mqtt HTTP/1.1 \r\n"), &pol_any, 400);
	expect_status(edit("GET", "GET  /mqtt HTTP/1.1\r\n"), &pol_any, 400);
	expect_status(edit("GET", "GET mqtt HTTP/1.1\r\n"), &pol_any, 400);
	expect_status(edit("GET", "GET /a#b HTTP/1.1\r\n"), &pol_any, 400);
	expect_status(edit("GET", "GET /mqtt HTTP/1\r\n"), &pol_any, 400);
	expect_status(edit("Host:", ""), &pol_any, 400);
	expect_status(edit("Host:", "Host:\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host: a\r\nHost: b\r\n"), &pol_any, 400);
	expect_status(edit("Upgrade:", ""), &pol_any, 426);
	expect_status(edit("Upgrade:", "Upgrade: h2c\r\n"), &pol_any, 426);
	expect_status(edit("Connection:", "Connection: close\r\n"), &pol_any,
	    400);
	expect_status(edit("Sec-WebSocket-Version:", ""), &pol_any, 426);
	expect_status(edit("Sec-WebSocket-Version:",
	    "Sec-WebSocket-Version: 8\r\n"), &pol_any, 426);
	expect_status(edit("Sec-WebSocket-Version:",
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n"),
	    &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Key:", ""), &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Key:",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"), &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Key:",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n"), &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Key:",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n"), &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Protocol:",
	    "Sec-WebSocket-Protocol: MQTT\r\n"), &pol_any, 400);
	expect_status(edit("Sec-WebSocket-Protocol:",
	    "Sec-WebSocket-Protocol: mq\"tt\r\n"), &pol_any, 400);
	expect_status(edit("Origin:", "Origin: https://evil.example\r\n"),
	    &pol_origin, 403);
	expect_status(edit("Origin:", "Origin: a\r\nOrigin: a\r\n"), &pol_any,
	    400);
	/* A body, in either form. */
	/* common/httpreq.c's answers to a body. */
	expect_status(edit("Host:", "Host: h\r\nContent-Length: 5\r\n"),
	    &pol_any, 413);
	expect_status(edit("Host:", "Host: h\r\nTransfer-Encoding: chunked"
	    "\r\n"), &pol_any, 501);
}

static void
test_syntax(void **state)
{
	(void)state;
	/* Folding, a space before the colon, no colon, bad characters. */
	expect_status(edit("Host:", "Host: h\r\n  folded\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host : h\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host h\r\n"), &pol_any, 400);
	expect_status(edit("Host:", ": h\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Ho(st: h\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host: h\001\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host: h\r\r\n"), &pol_any, 400);
	expect_status(edit("Host:", "Host: h\nX: y\r\n"), &pol_any, 400);
	expect_status("\r\n\r\n", &pol_any, 400);
	expect_status("GET / HTTP/1.1\n\r\n\r\n", &pol_any, 400);
}

static void
test_bounds(void **state)
{
	struct http_policy	 pol = pol_any;
	struct http_error	 e;
	char			 head[HTTP_HEAD_MAX + 100], *p;
	size_t			 scanned = 0, headlen, i, n;
	int			 r = 0;
	unsigned int		 k;

	(void)state;
	/* A byte at a time: more, until the end. */
	n = strlen(GOOD_HEAD);
	for (i = 1; i <= n; i++) {
		r = http_head_end((const uint8_t *)GOOD_HEAD, i, pol.max_head,
		    &scanned, &headlen, &e);
		if (i < n)
			assert_int_equal(r, 0);
	}
	assert_int_equal(r, 1);
	assert_int_equal(headlen, n);
	/* Bytes after the head are not part of it. */
	scanned = 0;
	snprintf(head, sizeof(head), "%s\x82\x80", GOOD_HEAD);
	assert_int_equal(http_head_end((const uint8_t *)head, n + 2,
	    pol.max_head, &scanned, &headlen, &e), 1);
	assert_int_equal(headlen, n);
	/* No end within the bound. */
	memset(head, 'a', sizeof(head));
	scanned = 0;
	assert_int_equal(http_head_end((const uint8_t *)head, 100,
	    pol.max_head, &scanned, &headlen, &e), 0);
	assert_int_equal(http_head_end((const uint8_t *)head, sizeof(head),
	    pol.max_head, &scanned, &headlen, &e), -1);
	assert_int_equal(e.status, 431);
	/* Binary junk (a TLS ClientHello) at once. */
	scanned = 0;
	assert_int_equal(http_head_end((const uint8_t *)"\x16\x03\x01", 3,
	    pol.max_head, &scanned, &headlen, &e), -1);
	assert_int_equal(e.status, 400);
	/* Too many header lines. */
	p = head;
	p += sprintf(p, "%s", "GET / HTTP/1.1\r\n");
	for (k = 0; k < 10; k++)
		p += sprintf(p, "X-%u: %u\r\n", k, k);
	sprintf(p, "%s", strstr(GOOD_HEAD, "\r\n") + 2);
	pol.max_headers = 10;
	expect_status(head, &pol, 431);
	pol.max_headers = 20;
	assert_int_equal(parse(head, &pol, &(struct http_upgrade){ 0 }, &e),
	    0);
}

static void
test_errors_encoded(void **state)
{
	struct http_error	 e = { 426, "WebSocket version is not 13" };
	char			 out[HTTP_RESPONSE_MAX];
	int			 n;

	(void)state;
	n = http_encode_error(out, sizeof(out), &e);
	assert_true(n > 0);
	assert_string_equal(out, "HTTP/1.1 426 Upgrade Required\r\n"
	    "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 28\r\n"
	    "\r\n"
	    "WebSocket version is not 13\n");
	e.status = 405;
	n = http_encode_error(out, sizeof(out), &e);
	assert_non_null(strstr(out, "Allow: GET\r\n"));
	assert_int_equal(http_encode_error(out, 10, &e), -1);
	assert_string_equal(http_status_text(431),
	    "Request Header Fields Too Large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_errors_encoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
