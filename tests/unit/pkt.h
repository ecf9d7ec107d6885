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
 * Building MQTT packets by hand, for the unit tests and fuzz targets:
 * written out byte by byte, independently of the codec they test.
 */

#ifndef PKT_H
#define PKT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

/* A packet (or a part of one) being built. */
struct pkt {
	uint8_t		 b[4096];
	size_t		 n;
};

static inline void
p_reset(struct pkt *p)
{
	p->n = 0;
}

static inline void
p_bytes(struct pkt *p, const void *v, size_t len)
{
	if (p->n + len > sizeof(p->b))
		abort();	/* the test builds too much */
	if (len > 0)
		memcpy(p->b + p->n, v, len);
	p->n += len;
}

static inline void
p_u8(struct pkt *p, uint8_t v)
{
	p_bytes(p, &v, 1);
}

static inline void
p_u16(struct pkt *p, uint16_t v)
{
	p_u8(p, v >> 8);
	p_u8(p, v & 0xff);
}

static inline void
p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, v >> 16);
	p_u16(p, v & 0xffff);
}

/* A Variable Byte Integer, written out by hand. */
static inline void
p_varint(struct pkt *p, uint32_t v)
{
	do {
		uint8_t	 b = v % 128;

		v /= 128;
		if (v > 0)
			b |= 0x80;
		p_u8(p, b);
	} while (v > 0);
}

static inline void
p_bin(struct pkt *p, const void *v, size_t len)
{
	p_u16(p, len);
	p_bytes(p, v, len);
}

static inline void
p_str(struct pkt *p, const char *s)
{
	p_bin(p, s, strlen(s));
}

/* A property block: its length, then the properties. */
static inline void
p_props(struct pkt *p, const struct pkt *props)
{
	p_varint(p, props->n);
	p_bytes(p, props->b, props->n);
}

static inline void
p_user(struct pkt *p, const char *k, const char *v)
{
	p_u8(p, PROP_USER_PROPERTY);
	p_str(p, k);
	p_str(p, v);
}

/* `out' is the fixed header `first' and the body. */
static inline void
p_frame(struct pkt *out, uint8_t first, const struct pkt *body)
{
	out->n = 0;
	p_u8(out, first);
	p_varint(out, body->n);
	p_bytes(out, body->b, body->n);
}

#endif /* PKT_H */
