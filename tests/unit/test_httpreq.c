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
 * The HTTP request decoder of the metrics listener: what it accepts,
 * what it refuses with which status, and that it refuses garbage from
 * the first bytes rather than after 8 KiB.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpreq.h"

static struct http_request	 r;
static struct http_error	 e;

static int
parse(const char *s)
{
	return http_parse_request((const uint8_t *)s, strlen(s), &r, &e);
}

static int
str_is(const struct http_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

/* The status of a refusal, or 0 / 1 for incomplete / complete. */
static int
status(const char *s)
{
	int	 rc = parse(s);

	return rc == -1 ? e.status : rc;
}

static void
test_good(void **state)
{
	const char	*prom = "GET /metrics HTTP/1.1\r\n"
	    "Host: 127.0.0.1:9234\r\n"
	    "User-Agent: Prometheus/2.42.0\r\n"
	    "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
	    "Accept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\nextra";

	(void)state;
	assert_int_equal(parse(prom), 1);
	assert_int_equal(r.len, strlen(prom) - 5);
	assert_true(str_is(&r.method, "GET"));
	assert_true(str_is(&r.target, "/metrics"));
	assert_true(str_is(&r.path, "/metrics"));
	assert_true(str_is(&r.host, "127.0.0.1:9234"));
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.close, 0);
	assert_int_equal(r.nheaders, 5);
	assert_int_equal(parse("HEAD /metrics?name[]=x HTTP/1.0\r\n\r\n"), 1);
	assert_true(str_is(&r.path, "/metrics"));
	assert_true(str_is(&r.target, "/metrics?name[]=x"));
	assert_int_equal(r.minor, 0);
	assert_int_equal(r.close, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nhOsT:   a  \r\n"
	    "Connection: keep-alive, Close\r\nContent-Length: 000\r\n\r\n"), 1);
	assert_true(str_is(&r.host, "a"));
	assert_int_equal(r.close, 1);
	/* A later minor version is read as 1.1. */
	assert_int_equal(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n"), 1);
	assert_int_equal(r.minor, 1);
	/* Values may hold obs-text and tabs. */
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X: \xc3\xa9\tb\r\n\r\n"), 1);
}

static void
test_incomplete(void **state)
{
	const char	*req = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t		 i;

	(void)state;
	for (i = 0; i < strlen(req); i++) {
		assert_int_equal(http_parse_request((const uint8_t *)req, i,
		    &r, &e), 0);
	}
	assert_int_equal(status(req), 1);
}

static void
test_refused(void **state)
{
	char	*big;
	size_t	 i;

	(void)state;
	/* Garbage: at once. */
	assert_int_equal(status("\x16\x03\x01\x02"), 400);	/* TLS */
	assert_int_equal(status("\xff\xfe"), 400);
	assert_int_equal(status("G\x01T"), 400);
	assert_int_equal(http_parse_request((const uint8_t *)"G\0ET / ", 7,
	    &r, &e), -1);
	assert_int_equal(status("GET\t/"), 400);
	assert_int_equal(status("CONNECT_ME_PLEASE_THIS_IS_LONG"), 501);
	/* The request line. */
	assert_int_equal(status("GET  / HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET http://x/ HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET * HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1 \r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(status("GET / HTTP/0.9\r\n\r\n"), 505);
	assert_int_equal(status("GET / HTTP/1.x\r\n\r\n"), 400);
	assert_int_equal(status("GET / FTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET /\x7f HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), 400);
	/* Line ends. */
	assert_int_equal(status("GET / HTTP/1.1\n\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 400);
	/* Fields. */
	assert_int_equal(status("GET / HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	    400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"),
	    400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
	    400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\n\r\n"), 413);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: -1\r\n\r\n"), 400);
	assert_int_equal(status("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0\r\nContent-Length: 0\r\n\r\n"), 400);
	assert_int_equal(status("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 501);
	/* Sizes. */
	if ((big = malloc(HTTP_MAX_HEAD + 64)) == NULL)
		fail();
	memset(big, 'a', HTTP_MAX_HEAD + 63);
	big[HTTP_MAX_HEAD + 63] = '\0';
	memcpy(big, "GET /", 5);
	assert_int_equal(status(big), 414);
	memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
	assert_int_equal(status(big), 431);
	big[HTTP_MAX_HEAD] = '\0';
	assert_int_equal(status(big), 431);
	big[HTTP_MAX_HEAD - 1] = '\0';
	assert_int_equal(status(big), 0);
	free(big);
	if ((big = malloc(HTTP_MAX_HEAD)) == NULL)
		fail();
	i = snprintf(big, HTTP_MAX_HEAD, "GET / HTTP/1.1\r\nHost: a\r\n");
	while (i + 8 < HTTP_MAX_HEAD - 3)
		i += snprintf(big + i, HTTP_MAX_HEAD - i, "X: y\r\n");
	snprintf(big + i, HTTP_MAX_HEAD - i, "\r\n");
	assert_int_equal(status(big), 431);	/* over 64 fields */
	free(big);
	assert_int_not_equal(http_status_text(431)[0], '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
