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
 * WebSocket frames after RFC 6455 section 5, as a server reads them.
 * ws_decode() takes whatever bytes have arrived: it consumes whole
 * headers only (a partial header stays with the caller, who offers it
 * again with more bytes), unmasks data payload straight into the
 * caller's output buffer and stops when that is full, and gathers a
 * control frame (at most 125 bytes) into the decoder, returning
 * WS_CONTROL when it is whole.  Every error carries the close code to
 * send.  Time is linear in the input; nothing is allocated.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "mqtt.h"		/* mqtt_utf8_valid */
#include "ws.h"

#define FAIL(e, c, msg)	do {						\
	(e)->code = (c);						\
	(e)->why = (msg);						\
	return WS_ERROR;						\
} while (0)

void
ws_dec_init(struct ws_dec *d, uint64_t max_message,
    unsigned int max_fragments)
{
	memset(d, 0, sizeof(*d));
	d->max_message = max_message;
	d->max_fragments = max_fragments;
}

/*
 * Decode one frame header.  Returns 1 with `f' filled, 0 if more bytes
 * are needed, or WS_ERROR.  What can be judged from the first two bytes
 * is judged before the rest arrives.
 */
int
ws_frame_header(const uint8_t *p, size_t len, struct ws_frame *f,
    struct ws_error *e)
{
	size_t		 need = 2, i;
	uint8_t		 l7;

	if (len < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	f->masked = (p[1] & 0x80) != 0;
	l7 = p[1] & 0x7f;
	if (p[0] & 0x70)
		FAIL(e, WS_CLOSE_PROTOCOL, "reserved bits set");
	switch (f->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		FAIL(e, WS_CLOSE_PROTOCOL, "reserved opcode");
	}
	if (WS_OP_IS_CONTROL(f->opcode)) {
		if (!f->fin)
			FAIL(e, WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (l7 > WS_CTL_MAX)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "control frame longer than 125 bytes");
	}
	if (l7 == 126)
		need += 2;
	else if (l7 == 127)
		need += 8;
	if (f->masked)
		need += 4;
	if (len < need)
		return 0;

	i = 2;
	if (l7 == 126) {
		f->len = (uint64_t)p[2] << 8 | p[3];
		if (f->len < 126)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "length not in its shortest form");
		i = 4;
	} else if (l7 == 127) {
		f->len = 0;
		for (i = 2; i < 10; i++)
			f->len = f->len << 8 | p[i];
		if (f->len >> 63)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "length with the most significant bit set");
		if (f->len <= 0xffff)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "length not in its shortest form");
	} else
		f->len = l7;
	if (f->masked) {
		memcpy(f->mask, p + i, 4);
		i += 4;
	} else
		memset(f->mask, 0, sizeof(f->mask));
	f->hdrlen = i;
	return 1;
}

/* dst = src ^ mask, 8 bytes at a time; `*mpos' is the mask's phase. */
static void
ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *mask,
    uint8_t *mpos)
{
	uint8_t		 m[8];
	uint64_t	 mw, w;
	size_t		 i;
	unsigned int	 j = *mpos;

	for (i = 0; i < 8; i++)
		m[i] = mask[(j + i) & 3];
	memcpy(&mw, m, sizeof(mw));
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, sizeof(w));
		w ^= mw;
		memcpy(dst + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ mask[(j + i) & 3];
	*mpos = (j + n) & 3;
}

/*
 * Valid close codes on the wire (RFC 6455 section 7.4 and the IANA
 * registry): 1004, 1005, 1006 and 1015 are reserved, and 1016-2999 are
 * for future versions of the protocol.
 */
int
ws_close_code_valid(uint16_t code)
{
	if (code >= 1000 && code <= 1003)
		return 1;
	if (code >= 1007 && code <= 1014)
		return 1;
	return code >= 3000 && code <= 4999;
}

static int
ws_control_done(struct ws_dec *d, struct ws_error *e)
{
	struct ws_control	*c = &d->ctl;

	if (c->opcode != WS_OP_CLOSE)
		return 0;
	d->closed = 1;
	if (c->len == 0) {
		c->close_code = WS_CLOSE_NO_STATUS;
		return 0;
	}
	if (c->len == 1)
		FAIL(e, WS_CLOSE_PROTOCOL, "close frame of one byte");
	c->close_code = (uint16_t)(c->data[0] << 8 | c->data[1]);
	if (!ws_close_code_valid(c->close_code))
		FAIL(e, WS_CLOSE_PROTOCOL, "invalid close code");
	if (!mqtt_utf8_valid(c->data + 2, c->len - 2))
		FAIL(e, WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
	return 0;
}

/* A client frame's header has been read: may it come now? */
static int
ws_frame_start(struct ws_dec *d, const struct ws_frame *f,
    struct ws_error *e)
{
	if (!f->masked)
		FAIL(e, WS_CLOSE_PROTOCOL, "unmasked client frame");
	switch (f->opcode) {
	case WS_OP_TEXT:
		FAIL(e, WS_CLOSE_UNSUPPORTED, "text frame");
	case WS_OP_BINARY:
		if (d->in_message)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "new message before the last one ended");
		d->msglen = 0;
		d->nfrag = 0;
		break;
	case WS_OP_CONT:
		if (!d->in_message)
			FAIL(e, WS_CLOSE_PROTOCOL,
			    "continuation frame outside a message");
		break;
	default:
		d->ctl.opcode = f->opcode;
		d->ctl.len = 0;
		d->ctl.close_code = 0;
		break;
	}
	if (!WS_OP_IS_CONTROL(f->opcode)) {
		if (f->len > d->max_message - d->msglen)
			FAIL(e, WS_CLOSE_TOO_BIG, "message too large");
		if (++d->nfrag > d->max_fragments)
			FAIL(e, WS_CLOSE_TOO_BIG,
			    "message in too many fragments");
		d->msglen += f->len;
		d->in_message = !f->fin;
	}
	d->in_frame = 1;
	d->opcode = f->opcode;
	d->left = f->len;
	memcpy(d->mask, f->mask, sizeof(d->mask));
	d->mpos = 0;
	return 0;
}

/*
 * Decode client frames from `in' (`inlen' bytes).  Data payload goes,
 * unmasked, to `out' (room for `outsize' bytes).  On return `*inused'
 * bytes of `in' were consumed and `*outlen' bytes written.  Returns
 * WS_OK when it has done what it can (input used up but for a partial
 * header, or output full), WS_CONTROL when a whole control frame is in
 * d->ctl (call again for the rest), or WS_ERROR.
 */
int
ws_decode(struct ws_dec *d, const uint8_t *in, size_t inlen, size_t *inused,
    uint8_t *out, size_t outsize, size_t *outlen, struct ws_error *e)
{
	struct ws_frame	 f;
	size_t		 pos = 0, opos = 0, n;
	int		 r;

	*inused = 0;
	*outlen = 0;
	if (d->closed && inlen > 0)
		FAIL(e, WS_CLOSE_PROTOCOL, "data after the close frame");
	while (pos < inlen) {
		if (!d->in_frame) {
			if ((r = ws_frame_header(in + pos, inlen - pos, &f,
			    e)) != 1)
				return r == 0 ? WS_OK : WS_ERROR;
			if (ws_frame_start(d, &f, e) == WS_ERROR)
				return WS_ERROR;
			pos += f.hdrlen;
			*inused = pos;
		}
		if (WS_OP_IS_CONTROL(d->opcode)) {
			n = inlen - pos;
			if (n > d->left)
				n = d->left;
			ws_unmask(d->ctl.data + d->ctl.len, in + pos, n,
			    d->mask, &d->mpos);
			d->ctl.len += n;
			d->left -= n;
			pos += n;
			*inused = pos;
			if (d->left > 0)
				break;
			d->in_frame = 0;
			if (ws_control_done(d, e) == WS_ERROR)
				return WS_ERROR;
			return WS_CONTROL;
		}
		n = inlen - pos;
		if (n > d->left)
			n = d->left;
		if (n > outsize - opos)
			n = outsize - opos;
		if (n == 0 && d->left > 0)
			break;		/* output full */
		ws_unmask(out + opos, in + pos, n, d->mask, &d->mpos);
		pos += n;
		opos += n;
		d->left -= n;
		if (d->left == 0)
			d->in_frame = 0;
		*inused = pos;
		*outlen = opos;
	}
	return WS_OK;
}

/* The size of a server frame header for `len' payload bytes. */
size_t
ws_header_size(uint64_t len)
{
	if (len <= 125)
		return 2;
	if (len <= 0xffff)
		return 4;
	return 10;
}

/* A server frame header, unmasked, in its shortest form. */
size_t
ws_encode_header(uint8_t *p, uint8_t opcode, int fin, uint64_t len)
{
	size_t	 i;

	p[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	if (len <= 125) {
		p[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		p[1] = 126;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		return 4;
	}
	p[1] = 127;
	for (i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

/* A whole control frame; 0 if it does not fit or is too long. */
size_t
ws_encode_control(uint8_t *p, size_t size, uint8_t opcode,
    const uint8_t *data, size_t len)
{
	if (len > WS_CTL_MAX || size < 2 + len)
		return 0;
	ws_encode_header(p, opcode, 1, len);
	if (len > 0)
		memcpy(p + 2, data, len);
	return 2 + len;
}

/*
 * A close frame with `code' (none if WS_CLOSE_NO_STATUS) and a reason,
 * cut to fit 125 bytes.  The reasons are ours and ASCII.
 */
size_t
ws_encode_close(uint8_t *p, size_t size, uint16_t code, const char *reason)
{
	uint8_t	 body[WS_CTL_MAX];
	size_t	 len = 0, rlen;

	if (code != WS_CLOSE_NO_STATUS) {
		body[0] = (uint8_t)(code >> 8);
		body[1] = (uint8_t)code;
		len = 2;
		if (reason != NULL) {
			rlen = strlen(reason);
			if (rlen > WS_CTL_MAX - 2)
				rlen = WS_CTL_MAX - 2;
			memcpy(body + 2, reason, rlen);
			len += rlen;
		}
	}
	return ws_encode_control(p, size, WS_OP_CLOSE, body, len);
}
