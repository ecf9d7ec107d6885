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

#ifndef BROKERD_PROXY_H
#define BROKERD_PROXY_H

/*
 * The PROXY protocol header a load balancer sends before anything else
 * (haproxy's proxy-protocol.txt, versions 1 and 2): decoded strictly,
 * bounded, pointing into the header, nothing allocated.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXY_V1		0x01	/* versions a listener accepts */
#define PROXY_V2		0x02

#define PROXY_V1_MAX		107	/* the longest v1 line, CRLF included */
#define PROXY_V2_FIXED		16	/* signature, command, family, length */
#define PROXY_MAX		(PROXY_V2_FIXED + 65535)

/* PP2_TYPE_SSL's client bits. */
#define PROXY_SSL_CLIENT_SSL	0x01
#define PROXY_SSL_CERT_CONN	0x02
#define PROXY_SSL_CERT_SESS	0x04

#define PROXY_UNIQUE_ID_MAX	128

struct proxy_str {
	const uint8_t	*p;
	size_t		 len;		/* 0: absent */
};

struct proxy_hdr {
	int		 version;	/* 1 or 2 */
	/*
	 * LOCAL (a health check), UNKNOWN, or no internet addresses: the
	 * connection's own addresses stand.  Otherwise src and dst are set.
	 */
	int		 local;
	struct sockaddr_storage src;
	struct sockaddr_storage dst;
	size_t		 len;		/* header bytes, to be consumed */

	/* Version 2 TLVs. */
	struct proxy_str alpn;
	struct proxy_str authority;
	struct proxy_str unique_id;
	int		 crc32c;	/* a checksum was present and right */
	int		 ssl;		/* PP2_TYPE_SSL present */
	uint8_t		 ssl_client;
	uint32_t	 ssl_verify;	/* 0: the client certificate verified */
	struct proxy_str ssl_version;
	struct proxy_str ssl_cn;
	struct proxy_str ssl_cipher;
	struct proxy_str ssl_sig_alg;
	struct proxy_str ssl_key_alg;
};

struct proxy_error {
	const char	*why;
};

#define PROXY_ERROR		-1
#define PROXY_MORE		0
#define PROXY_DONE		1

/* proxy.c */
int	 proxy_decode(const uint8_t *, size_t, unsigned int, size_t,
	    struct proxy_hdr *, struct proxy_error *);
int	 proxy_ssl_verified(const struct proxy_hdr *);
uint32_t proxy_crc32c(uint32_t, const uint8_t *, size_t);

#endif /* BROKERD_PROXY_H */
