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

/* Unit tests for tlsproxy/proxy.c, the PROXY protocol header. */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"

#define BOTH		(PROXY_V1 | PROXY_V2)

static const uint8_t	 sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

struct pkt {
	uint8_t		 b[70000];
	size_t		 n;
};

static void
put(struct pkt *p, const void *v, size_t len)
{
	memcpy(p->b + p->n, v, len);
	p->n += len;
}

static void
put_u8(struct pkt *p, uint8_t v)
{
	put(p, &v, 1);
}

static void
put_u16(struct pkt *p, uint16_t v)
{
	put_u8(p, v >> 8);
	put_u8(p, v & 0xff);
}

static void
put_tlv(struct pkt *p, uint8_t type, const void *v, size_t len)
{
	put_u8(p, type);
	put_u16(p, (uint16_t)len);
	put(p, v, len);
}

/* A v2 header: signature, command, family, then `body'. */
static void
v2(struct pkt *p, uint8_t vercmd, uint8_t fam, const struct pkt *body)
{
	p->n = 0;
	put(p, sig, sizeof(sig));
	put_u8(p, vercmd);
	put_u8(p, fam);
	put_u16(p, (uint16_t)body->n);
	put(p, body->b, body->n);
}

/* IPv4 192.0.2.1:56324 -> 198.51.100.7:8883, then TLVs. */
static void
inet4_body(struct pkt *b)
{
	static const uint8_t a[12] = { 192, 0, 2, 1, 198, 51, 100, 7,
	    0xdc, 0x04, 0x22, 0xb3 };

	b->n = 0;
	put(b, a, sizeof(a));
}

static int
decode(const struct pkt *p, unsigned int versions, struct proxy_hdr *h,
    struct proxy_error *e)
{
	return proxy_decode(p->b, p->n, versions, 4096, h, e);
}

static void
expect_error(const void *b, size_t len, unsigned int versions,
    const char *why)
{
	struct proxy_hdr	 h;
	struct proxy_error	 e = { NULL };

	assert_int_equal(proxy_decode(b, len, versions, 4096, &h, &e),
	    PROXY_ERROR);
	assert_non_null(e.why);
	if (why != NULL && strcmp(e.why, why) != 0)
		fail_msg("\"%s\", not \"%s\"", e.why, why);
}

static void
expect_v1_error(const char *line, const char *why)
{
	expect_error(line, strlen(line), BOTH, why);
}

static void
check_sin(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	char				 s[INET_ADDRSTRLEN];

	assert_int_equal(sin->sin_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, s, sizeof(s)));
	assert_string_equal(s, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void
check_sin6(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 s[INET6_ADDRSTRLEN];

	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, s, sizeof(s)));
	assert_string_equal(s, addr);
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

static void
test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(proxy_crc32c(0, (const uint8_t *)"123456789", 9),
	    0xe3069283);
	/* In pieces, the same. */
	assert_int_equal(proxy_crc32c(proxy_crc32c(0,
	    (const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5),
	    0xe3069283);
}

static void
test_v1(void **state)
{
	static const char	 l4[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 8883\r\n\x10\x20";
	static const char	 l6[] =
	    "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
	struct proxy_hdr	 h;
	struct proxy_error	 e;
	size_t			 n = strlen(l4) - 2, i;
	char			 line[200];

	(void)state;
	assert_int_equal(proxy_decode((const uint8_t *)l4, sizeof(l4) - 1,
	    BOTH, 4096, &h, &e), PROXY_DONE);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.len, n);
	assert_false(h.local);
	check_sin(&h.src, "192.0.2.1", 56324);
	check_sin(&h.dst, "198.51.100.7", 8883);
	/* Every prefix asks for more. */
	for (i = 0; i < n; i++)
		assert_int_equal(proxy_decode((const uint8_t *)l4, i, BOTH,
		    4096, &h, &e), PROXY_MORE);
	assert_int_equal(proxy_decode((const uint8_t *)l6, strlen(l6),
	    PROXY_V1, 4096, &h, &e), PROXY_DONE);
	check_sin6(&h.src, "2001:db8::1", 65535);
	check_sin6(&h.dst, "::1", 0);
	/* UNKNOWN, with or without the rest. */
	assert_int_equal(proxy_decode((const uint8_t *)"PROXY UNKNOWN\r\n",
	    15, BOTH, 4096, &h, &e), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(h.len, 15);
	/* The longest line is 107 bytes. */
	snprintf(line, sizeof(line), "PROXY UNKNOWN %.*s\r\n", 107 - 16,
	    "................................................................"
	    "..................................................");
	assert_int_equal(strlen(line), 107);
	assert_int_equal(proxy_decode((const uint8_t *)line, 107, BOTH, 4096,
	    &h, &e), PROXY_DONE);
	assert_true(h.local);
	snprintf(line, sizeof(line), "PROXY UNKNOWN %.*s\r\n", 108 - 16,
	    "................................................................"
	    "..................................................");
	expect_v1_error(line, "PROXY v1: line longer than 107 bytes");
}

static void
test_v1_errors(void **state)
{
	(void)state;
	expect_v1_error("PROXY TCP4 192.0.2.1  198.51.100.7 1 2\r\n",
	    "PROXY v1: malformed line");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n",
	    "PROXY v1: malformed line");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n",
	    "PROXY v1: malformed line");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n",
	    "PROXY v1: malformed line");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 1 65536\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP4 192.0.2.1 198.51.100.7 1 -2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP4 192.0.2.256 198.51.100.7 1 2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP4 ::1 198.51.100.7 1 2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
	    "PROXY v1: bad address or port");
	expect_v1_error("PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n",
	    "PROXY v1: bad protocol");
	expect_v1_error("PROXY tcp4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "PROXY v1: bad protocol");
	expect_v1_error("PROXY \r\n", "PROXY v1: bad protocol");
	expect_v1_error("PROXY UNKNOWN\n", "PROXY v1: LF without CR");
	expect_v1_error("PROXY UNKNOWN\rX\r\n", "PROXY v1: CR without LF");
	expect_v1_error("PROXY UNK\tNOWN\r\n", "PROXY v1: control character");
	/* Not a header at all, judged from the first byte. */
	expect_error("\x10", 1, BOTH, "no PROXY header");
	expect_error("\x16\x03\x01", 3, BOTH, "no PROXY header");
	expect_error("GET / HTTP/1.1\r\n", 16, BOTH, "no PROXY header");
	expect_error("PROXX", 5, BOTH, "no PROXY header");
	/* The wrong version for the listener. */
	expect_error("PROXY UNKNOWN\r\n", 15, PROXY_V2,
	    "PROXY v1 header where v2 is expected");
	expect_error(sig, 12, PROXY_V1,
	    "PROXY v2 header where v1 is expected");
}

static void
test_v2_inet(void **state)
{
	struct pkt		 p, b;
	struct proxy_hdr	 h;
	struct proxy_error	 e;
	size_t			 i;
	static const uint8_t	 a6[36] = {
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0x04, 0xd2, 0x07, 0x5b };

	(void)state;
	inet4_body(&b);
	v2(&p, 0x21, 0x11, &b);
	put(&p, "\x10\x0c", 2);		/* the client's first bytes */
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.len, 28);
	assert_false(h.local);
	check_sin(&h.src, "192.0.2.1", 56324);
	check_sin(&h.dst, "198.51.100.7", 8883);
	for (i = 0; i < 28; i++)
		assert_int_equal(proxy_decode(p.b, i, BOTH, 4096, &h, &e),
		    PROXY_MORE);
	/* IPv6. */
	b.n = 0;
	put(&b, a6, sizeof(a6));
	v2(&p, 0x21, 0x21, &b);
	assert_int_equal(decode(&p, PROXY_V2, &h, &e), PROXY_DONE);
	check_sin6(&h.src, "2001:db8::1", 1234);
	check_sin6(&h.dst, "::1", 1883);
	/* LOCAL: whatever follows is skipped. */
	v2(&p, 0x20, 0x11, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(h.len, 16 + 36);
	b.n = 0;
	v2(&p, 0x20, 0x00, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_true(h.local);
	/* UNSPEC and UNIX: our own addresses. */
	b.n = 5;
	v2(&p, 0x21, 0x00, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_true(h.local);
	memset(b.b, 0, 216);
	b.n = 216;
	v2(&p, 0x21, 0x31, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(h.len, 16 + 216);
}

static void
test_v2_errors(void **state)
{
	struct pkt		 p, b;
	struct proxy_hdr	 h;
	struct proxy_error	 e;

	(void)state;
	inet4_body(&b);
	v2(&p, 0x11, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: version is not 2");
	v2(&p, 0x22, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: unknown command");
	v2(&p, 0x21, 0x41, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: unknown family or protocol");
	v2(&p, 0x21, 0x13, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: unknown family or protocol");
	v2(&p, 0x21, 0x12, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: not a stream connection");
	v2(&p, 0x21, 0x10, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: not a stream connection");
	b.n = 11;
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: address block too short");
	v2(&p, 0x21, 0x21, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: address block too short");
	v2(&p, 0x21, 0x31, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: address block too short");
	/* Longer than the caller allows, judged from the fixed part. */
	inet4_body(&b);
	memset(p.b, 0, 5000);
	put_tlv(&b, 0x04, p.b, 5000 - 12 - 3);
	v2(&p, 0x21, 0x11, &b);
	assert_int_equal(proxy_decode(p.b, 16, BOTH, 4096, &h, &e),
	    PROXY_ERROR);
	assert_string_equal(e.why, "PROXY v2: header longer than allowed");
	assert_int_equal(proxy_decode(p.b, p.n, BOTH, PROXY_MAX, &h, &e),
	    PROXY_DONE);
}

static void
test_v2_tlvs(void **state)
{
	struct pkt		 p, b, ssl;
	struct proxy_hdr	 h;
	struct proxy_error	 e;
	uint8_t			 id[129];
	uint32_t		 crc;

	(void)state;
	memset(id, 'u', sizeof(id));
	inet4_body(&b);
	put_tlv(&b, 0x04, "....", 4);			/* NOOP */
	put_tlv(&b, 0x01, "mqtt", 4);			/* ALPN */
	put_tlv(&b, 0x02, "broker.example", 14);	/* AUTHORITY */
	put_tlv(&b, 0x05, id, 128);			/* UNIQUE_ID */
	put_tlv(&b, 0xe3, "x", 1);			/* custom */
	ssl.n = 0;
	put_u8(&ssl, PROXY_SSL_CLIENT_SSL | PROXY_SSL_CERT_CONN);
	put(&ssl, "\0\0\0\0", 4);
	put_tlv(&ssl, 0x21, "TLSv1.3", 7);
	put_tlv(&ssl, 0x22, "device-17", 9);
	put_tlv(&ssl, 0x23, "TLS_AES_128_GCM_SHA256", 22);
	put_tlv(&ssl, 0x24, "SHA256", 6);
	put_tlv(&ssl, 0x25, "RSA2048", 7);
	put_tlv(&ssl, 0x2f, "?", 1);			/* unknown sub-type */
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_int_equal(h.len, p.n);
	assert_int_equal(h.alpn.len, 4);
	assert_memory_equal(h.authority.p, "broker.example", 14);
	assert_int_equal(h.unique_id.len, 128);
	assert_true(h.ssl);
	assert_int_equal(h.ssl_verify, 0);
	assert_memory_equal(h.ssl_version.p, "TLSv1.3", 7);
	assert_int_equal(h.ssl_cn.len, 9);
	assert_memory_equal(h.ssl_cn.p, "device-17", 9);
	assert_int_equal(h.ssl_cipher.len, 22);
	assert_int_equal(h.ssl_sig_alg.len, 6);
	assert_int_equal(h.ssl_key_alg.len, 7);
	assert_true(proxy_ssl_verified(&h));
	assert_false(h.crc32c);

	/* A certificate that did not verify, or no certificate. */
	ssl.b[4] = 1;
	b.n = 12;
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_false(proxy_ssl_verified(&h));
	ssl.b[4] = 0;
	ssl.b[0] = PROXY_SSL_CLIENT_SSL;
	b.n = 12;
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_false(proxy_ssl_verified(&h));

	/* A CRC32C over the whole header, its own value as zeros. */
	b.n = 12;
	put_tlv(&b, 0x01, "mqtt", 4);
	put_tlv(&b, 0x03, "\0\0\0\0", 4);
	v2(&p, 0x21, 0x11, &b);
	crc = proxy_crc32c(0, p.b, p.n);
	p.b[p.n - 4] = crc >> 24;
	p.b[p.n - 3] = crc >> 16;
	p.b[p.n - 2] = crc >> 8;
	p.b[p.n - 1] = crc;
	assert_int_equal(decode(&p, BOTH, &h, &e), PROXY_DONE);
	assert_true(h.crc32c);
	p.b[p.n - 1] ^= 1;
	expect_error(p.b, p.n, BOTH, "PROXY v2: bad CRC32C");
	p.b[p.n - 1] ^= 1;
	p.b[18] ^= 1;			/* an address byte */
	expect_error(p.b, p.n, BOTH, "PROXY v2: bad CRC32C");
}

static void
test_v2_tlv_errors(void **state)
{
	struct pkt	 p, b, ssl;
	uint8_t		 id[129];

	(void)state;
	memset(id, 'u', sizeof(id));
	inet4_body(&b);
	put_u8(&b, 0x01);
	put_u8(&b, 0x00);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: truncated TLV");
	inet4_body(&b);
	put_u8(&b, 0x01);
	put_u16(&b, 5);
	put(&b, "mqtt", 4);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: TLV overruns the header");
	inet4_body(&b);
	put_tlv(&b, 0x01, "mqtt", 4);
	put_tlv(&b, 0x01, "mqtt", 4);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: a TLV twice");
	inet4_body(&b);
	put_tlv(&b, 0x05, id, 129);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: unique id over 128 bytes");
	inet4_body(&b);
	put_tlv(&b, 0x03, "\0\0\0", 3);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: CRC32C TLV not 4 bytes");
	inet4_body(&b);
	put_tlv(&b, 0x02, "a\0b", 3);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: NUL in a text TLV");
	/* SSL: short, overrun, twice, NUL in the CN. */
	inet4_body(&b);
	put_tlv(&b, 0x20, "\x01\0\0\0", 4);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: SSL TLV too short");
	ssl.n = 0;
	put(&ssl, "\x03\0\0\0\0", 5);
	put_u8(&ssl, 0x22);
	put_u16(&ssl, 10);
	put(&ssl, "cn", 2);
	inet4_body(&b);
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: SSL sub-TLV overruns its TLV");
	ssl.n = 5;
	put_tlv(&ssl, 0x22, "c\0n", 3);
	inet4_body(&b);
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: NUL in a text TLV");
	ssl.n = 5;
	put_tlv(&ssl, 0x22, "cn", 2);
	put_tlv(&ssl, 0x22, "cn", 2);
	inet4_body(&b);
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: a TLV twice");
	ssl.n = 5;
	inet4_body(&b);
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	put_tlv(&b, 0x20, ssl.b, ssl.n);
	v2(&p, 0x21, 0x11, &b);
	expect_error(p.b, p.n, BOTH, "PROXY v2: a TLV twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_errors),
		cmocka_unit_test(test_v2_inet),
		cmocka_unit_test(test_v2_errors),
		cmocka_unit_test(test_v2_tlvs),
		cmocka_unit_test(test_v2_tlv_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
