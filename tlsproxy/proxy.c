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
 * The PROXY protocol header, versions 1 and 2 (haproxy's
 * proxy-protocol.txt).  proxy_decode() gets the bytes received so far
 * and says: more needed, done (h->len bytes are the header, what follows
 * is the client's), or an error.  It never asks for more than the header
 * needs, so a caller that reads exactly what it is told never reads the
 * client's first bytes by mistake.  Strict: one space between v1 fields,
 * no leading zeros in ports, addresses as inet_pton() reads them, a v2
 * length within the caller's bound, TLVs within the header, the TLVs we
 * record at most once, a CRC32C checked when present.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "proxy.h"

#define FAIL(e, msg)	do {						\
	(e)->why = (msg);						\
	return PROXY_ERROR;						\
} while (0)

#define PP2_CMD_LOCAL		0x0
#define PP2_CMD_PROXY		0x1
#define PP2_AF_UNSPEC		0x0
#define PP2_AF_INET		0x1
#define PP2_AF_INET6		0x2
#define PP2_AF_UNIX		0x3
#define PP2_PROTO_STREAM	0x1

#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02
#define PP2_TYPE_CRC32C		0x03
#define PP2_TYPE_NOOP		0x04
#define PP2_TYPE_UNIQUE_ID	0x05
#define PP2_TYPE_SSL		0x20
#define PP2_SUBTYPE_SSL_VERSION	0x21
#define PP2_SUBTYPE_SSL_CN	0x22
#define PP2_SUBTYPE_SSL_CIPHER	0x23
#define PP2_SUBTYPE_SSL_SIG_ALG	0x24
#define PP2_SUBTYPE_SSL_KEY_ALG	0x25

static const uint8_t	 proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* CRC32C (Castagnoli), bit by bit: headers are small and rare. */
uint32_t
proxy_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t	 i;
	int	 k;

	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Copy a v1 field (up to a space or the line's end) as a C string. */
static int
proxy_v1_field(const uint8_t **pp, const uint8_t *end, char *buf,
    size_t size)
{
	const uint8_t	*p = *pp;
	size_t		 n = 0;

	while (p < end && *p != ' ') {
		if (n + 1 >= size)
			return -1;
		buf[n++] = (char)*p++;
	}
	if (n == 0)
		return -1;
	buf[n] = '\0';
	*pp = p;
	return 0;
}

static int
proxy_v1_port(const char *s, in_port_t *port)
{
	unsigned long	 v = 0;
	size_t		 i, n = strlen(s);

	if (n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

static int
proxy_v1_addr(int af, const char *a, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1 ||
		    proxy_v1_port(port, &sin->sin_port) == -1)
			return -1;
	} else {
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1 ||
		    proxy_v1_port(port, &sin6->sin6_port) == -1)
			return -1;
	}
	return 0;
}

static int
proxy_v1(const uint8_t *p, size_t len, struct proxy_hdr *h,
    struct proxy_error *e)
{
	const uint8_t	*q, *end;
	char		 proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char		 sport[8], dport[8];
	size_t		 i, lim = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	int		 af = AF_UNSPEC;

	for (i = 0; i < lim; i++) {
		if (p[i] == '\n')
			break;
		if (p[i] == '\r' && i + 1 < len && p[i + 1] != '\n')
			FAIL(e, "PROXY v1: CR without LF");
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\r')
			FAIL(e, "PROXY v1: control character");
	}
	if (i == lim) {
		if (len >= PROXY_V1_MAX)
			FAIL(e, "PROXY v1: line longer than 107 bytes");
		return PROXY_MORE;
	}
	if (i == 0 || p[i - 1] != '\r')
		FAIL(e, "PROXY v1: LF without CR");
	h->version = 1;
	h->len = i + 1;
	end = p + i - 1;		/* the CR */
	q = p + 6;			/* after "PROXY " */
	if (proxy_v1_field(&q, end, proto, sizeof(proto)) == -1)
		FAIL(e, "PROXY v1: bad protocol");
	if (strcmp(proto, "UNKNOWN") == 0) {
		/* The rest of the line is to be ignored. */
		h->local = 1;
		return PROXY_DONE;
	}
	if (strcmp(proto, "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		af = AF_INET6;
	else
		FAIL(e, "PROXY v1: bad protocol");
	if (q == end || *q++ != ' ' ||
	    proxy_v1_field(&q, end, src, sizeof(src)) == -1 ||
	    q == end || *q++ != ' ' ||
	    proxy_v1_field(&q, end, dst, sizeof(dst)) == -1 ||
	    q == end || *q++ != ' ' ||
	    proxy_v1_field(&q, end, sport, sizeof(sport)) == -1 ||
	    q == end || *q++ != ' ' ||
	    proxy_v1_field(&q, end, dport, sizeof(dport)) == -1 ||
	    q != end)
		FAIL(e, "PROXY v1: malformed line");
	if (proxy_v1_addr(af, src, sport, &h->src) == -1 ||
	    proxy_v1_addr(af, dst, dport, &h->dst) == -1)
		FAIL(e, "PROXY v1: bad address or port");
	return PROXY_DONE;
}

static int
proxy_str_once(struct proxy_str *s, const uint8_t *v, size_t len,
    int text, struct proxy_error *e)
{
	if (s->p != NULL)
		FAIL(e, "PROXY v2: a TLV twice");
	if (text && memchr(v, '\0', len) != NULL)
		FAIL(e, "PROXY v2: NUL in a text TLV");
	s->p = v;
	s->len = len;
	return 0;
}

static int
proxy_v2_ssl(const uint8_t *v, size_t len, struct proxy_hdr *h,
    struct proxy_error *e)
{
	struct proxy_str	*s;
	size_t			 pos = 5, tlen;
	uint8_t			 type;

	if (h->ssl)
		FAIL(e, "PROXY v2: a TLV twice");
	if (len < 5)
		FAIL(e, "PROXY v2: SSL TLV too short");
	h->ssl = 1;
	h->ssl_client = v[0];
	h->ssl_verify = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
	    (uint32_t)v[3] << 8 | v[4];
	while (pos < len) {
		if (len - pos < 3)
			FAIL(e, "PROXY v2: truncated SSL sub-TLV");
		type = v[pos];
		tlen = (size_t)v[pos + 1] << 8 | v[pos + 2];
		if (tlen > len - pos - 3)
			FAIL(e, "PROXY v2: SSL sub-TLV overruns its TLV");
		switch (type) {
		case PP2_SUBTYPE_SSL_VERSION:
			s = &h->ssl_version;
			break;
		case PP2_SUBTYPE_SSL_CN:
			s = &h->ssl_cn;
			break;
		case PP2_SUBTYPE_SSL_CIPHER:
			s = &h->ssl_cipher;
			break;
		case PP2_SUBTYPE_SSL_SIG_ALG:
			s = &h->ssl_sig_alg;
			break;
		case PP2_SUBTYPE_SSL_KEY_ALG:
			s = &h->ssl_key_alg;
			break;
		default:
			s = NULL;
			break;
		}
		if (s != NULL &&
		    proxy_str_once(s, v + pos + 3, tlen, 1, e) == PROXY_ERROR)
			return PROXY_ERROR;
		pos += 3 + tlen;
	}
	return 0;
}

/* The TLVs of a header of `total' bytes, from `pos' on. */
static int
proxy_v2_tlvs(const uint8_t *p, size_t total, size_t pos,
    struct proxy_hdr *h, struct proxy_error *e)
{
	const uint8_t	*v;
	size_t		 tlen;
	uint32_t	 crc, want;
	uint8_t		 type, zero[4] = { 0, 0, 0, 0 };

	while (pos < total) {
		if (total - pos < 3)
			FAIL(e, "PROXY v2: truncated TLV");
		type = p[pos];
		tlen = (size_t)p[pos + 1] << 8 | p[pos + 2];
		if (tlen > total - pos - 3)
			FAIL(e, "PROXY v2: TLV overruns the header");
		v = p + pos + 3;
		switch (type) {
		case PP2_TYPE_ALPN:
			if (proxy_str_once(&h->alpn, v, tlen, 0, e) == -1)
				return PROXY_ERROR;
			break;
		case PP2_TYPE_AUTHORITY:
			if (proxy_str_once(&h->authority, v, tlen, 1, e) == -1)
				return PROXY_ERROR;
			break;
		case PP2_TYPE_CRC32C:
			if (tlen != 4)
				FAIL(e, "PROXY v2: CRC32C TLV not 4 bytes");
			if (h->crc32c)
				FAIL(e, "PROXY v2: a TLV twice");
			want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			    (uint32_t)v[2] << 8 | v[3];
			crc = proxy_crc32c(0, p, v - p);
			crc = proxy_crc32c(crc, zero, 4);
			crc = proxy_crc32c(crc, v + 4, total - (v + 4 - p));
			if (crc != want)
				FAIL(e, "PROXY v2: bad CRC32C");
			h->crc32c = 1;
			break;
		case PP2_TYPE_UNIQUE_ID:
			if (tlen > PROXY_UNIQUE_ID_MAX)
				FAIL(e, "PROXY v2: unique id over 128 bytes");
			if (proxy_str_once(&h->unique_id, v, tlen, 0, e) == -1)
				return PROXY_ERROR;
			break;
		case PP2_TYPE_SSL:
			if (proxy_v2_ssl(v, tlen, h, e) == PROXY_ERROR)
				return PROXY_ERROR;
			break;
		default:
			/* NOOP, NETNS and unknown types are ignored. */
			break;
		}
		pos += 3 + tlen;
	}
	return 0;
}

static int
proxy_v2(const uint8_t *p, size_t len, size_t max, struct proxy_hdr *h,
    struct proxy_error *e)
{
	struct sockaddr_in	*s4, *d4;
	struct sockaddr_in6	*s6, *d6;
	size_t			 total, alen;
	uint8_t			 cmd, fam, proto;

	if (len < PROXY_V2_FIXED)
		return PROXY_MORE;
	if ((p[12] >> 4) != 2)
		FAIL(e, "PROXY v2: version is not 2");
	cmd = p[12] & 0x0f;
	fam = p[13] >> 4;
	proto = p[13] & 0x0f;
	if (cmd != PP2_CMD_LOCAL && cmd != PP2_CMD_PROXY)
		FAIL(e, "PROXY v2: unknown command");
	if (fam > PP2_AF_UNIX || proto > 2)
		FAIL(e, "PROXY v2: unknown family or protocol");
	total = PROXY_V2_FIXED + ((size_t)p[14] << 8 | p[15]);
	if (total > max)
		FAIL(e, "PROXY v2: header longer than allowed");
	if (len < total)
		return PROXY_MORE;
	h->version = 2;
	h->len = total;
	alen = total - PROXY_V2_FIXED;
	/* LOCAL: the whole block is to be discarded, as is UNSPEC's. */
	if (cmd == PP2_CMD_LOCAL || fam == PP2_AF_UNSPEC) {
		h->local = 1;
		return PROXY_DONE;
	}
	if (proto != PP2_PROTO_STREAM)
		FAIL(e, "PROXY v2: not a stream connection");
	switch (fam) {
	case PP2_AF_INET:
		if (alen < 12)
			FAIL(e, "PROXY v2: address block too short");
		s4 = (struct sockaddr_in *)&h->src;
		d4 = (struct sockaddr_in *)&h->dst;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p + 16, 4);
		memcpy(&d4->sin_addr, p + 20, 4);
		memcpy(&s4->sin_port, p + 24, 2);
		memcpy(&d4->sin_port, p + 26, 2);
		alen = 12;
		break;
	case PP2_AF_INET6:
		if (alen < 36)
			FAIL(e, "PROXY v2: address block too short");
		s6 = (struct sockaddr_in6 *)&h->src;
		d6 = (struct sockaddr_in6 *)&h->dst;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p + 16, 16);
		memcpy(&d6->sin6_addr, p + 32, 16);
		memcpy(&s6->sin6_port, p + 48, 2);
		memcpy(&d6->sin6_port, p + 50, 2);
		alen = 36;
		break;
	default:
		/* AF_UNIX: paths mean nothing here; keep our addresses. */
		if (alen < 216)
			FAIL(e, "PROXY v2: address block too short");
		h->local = 1;
		alen = 216;
		break;
	}
	if (proxy_v2_tlvs(p, total, PROXY_V2_FIXED + alen, h, e) == -1)
		return PROXY_ERROR;
	return PROXY_DONE;
}

/*
 * Decode a header that a listener accepting `versions' (PROXY_V1,
 * PROXY_V2) expects first, with a v2 header of at most `max' bytes.
 * Returns PROXY_DONE, PROXY_MORE or PROXY_ERROR.  Bytes that cannot
 * begin a header are an error at once.
 */
int
proxy_decode(const uint8_t *p, size_t len, unsigned int versions,
    size_t max, struct proxy_hdr *h, struct proxy_error *e)
{
	size_t	 n;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_MORE;
	n = len < sizeof(proxy_v2_sig) ? len : sizeof(proxy_v2_sig);
	if (memcmp(p, proxy_v2_sig, n) == 0) {
		if (!(versions & PROXY_V2))
			FAIL(e, "PROXY v2 header where v1 is expected");
		if (len < sizeof(proxy_v2_sig))
			return PROXY_MORE;
		return proxy_v2(p, len, max, h, e);
	}
	n = len < 6 ? len : 6;
	if (memcmp(p, "PROXY ", n) == 0) {
		if (!(versions & PROXY_V1))
			FAIL(e, "PROXY v1 header where v2 is expected");
		if (len < 6)
			return PROXY_MORE;
		return proxy_v1(p, len, h, e);
	}
	FAIL(e, "no PROXY header");
}

/* Did the load balancer verify a client certificate? */
int
proxy_ssl_verified(const struct proxy_hdr *h)
{
	return h->ssl && (h->ssl_client & PROXY_SSL_CLIENT_SSL) &&
	    (h->ssl_client & (PROXY_SSL_CERT_CONN | PROXY_SSL_CERT_SESS)) &&
	    h->ssl_verify == 0;
}
