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

#ifndef BROKERD_WS_H
#define BROKERD_WS_H

/*
 * WebSocket framing (RFC 6455), the server's side: client frames are
 * decoded strictly and unmasked into the caller's buffer; the server's
 * frames are encoded unmasked.  MQTT rides in binary frames only (MQTT
 * 5.0 section 6): text frames are refused.  Nothing is allocated; the
 * state of a connection is one struct ws_dec.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define WS_OP_CONT		0x0
#define WS_OP_TEXT		0x1
#define WS_OP_BINARY		0x2
#define WS_OP_CLOSE		0x8
#define WS_OP_PING		0x9
#define WS_OP_PONG		0xa
#define WS_OP_IS_CONTROL(op)	(((op) & 0x8) != 0)

#define WS_CTL_MAX		125	/* payload of a control frame */
#define WS_HDR_MAX		14	/* a client frame: 2 + 8 + mask */
#define WS_SRV_HDR_MAX		10	/* a server frame has no mask */

/* Close codes (RFC 6455 section 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_NO_STATUS	1005	/* received: no code; never sent */
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011

/* What decoding found wrong: the close code to send and why. */
struct ws_error {
	uint16_t	 code;
	const char	*why;
};

/* One frame header as received. */
struct ws_frame {
	int		 fin;
	uint8_t		 opcode;
	int		 masked;
	uint8_t		 mask[4];
	uint64_t	 len;		/* payload bytes */
	size_t		 hdrlen;
};

/* A whole control frame, unmasked. */
struct ws_control {
	uint8_t		 opcode;
	uint8_t		 len;
	uint8_t		 data[WS_CTL_MAX];
	uint16_t	 close_code;	/* WS_OP_CLOSE; WS_CLOSE_NO_STATUS */
};

/*
 * The decoder of one connection.  Set the limits, zero the rest
 * (ws_dec_init does both).  A data message is bounded by `max_message'
 * bytes over at most `max_fragments' frames, so that a fragmented
 * message that never ends costs no more than one that does.
 */
struct ws_dec {
	uint64_t	 max_message;
	unsigned int	 max_fragments;

	int		 in_frame;	/* a header read, payload to come */
	uint8_t		 opcode;
	uint8_t		 mask[4];
	uint8_t		 mpos;
	uint64_t	 left;		/* payload bytes still to come */
	int		 in_message;	/* a fragmented message continues */
	uint64_t	 msglen;
	unsigned int	 nfrag;
	int		 closed;	/* a close frame was received */
	struct ws_control ctl;		/* the last control frame */
};

#define WS_ERROR		-1
#define WS_OK			0	/* decoded what could be */
#define WS_CONTROL		1	/* a control frame is in dec->ctl */

/* ws.c */
void	 ws_dec_init(struct ws_dec *, uint64_t, unsigned int);
int	 ws_frame_header(const uint8_t *, size_t, struct ws_frame *,
	    struct ws_error *);
int	 ws_decode(struct ws_dec *, const uint8_t *, size_t, size_t *,
	    uint8_t *, size_t, size_t *, struct ws_error *);
int	 ws_close_code_valid(uint16_t);
size_t	 ws_header_size(uint64_t);
size_t	 ws_encode_header(uint8_t *, uint8_t, int, uint64_t);
size_t	 ws_encode_control(uint8_t *, size_t, uint8_t, const uint8_t *,
	    size_t);
size_t	 ws_encode_close(uint8_t *, size_t, uint16_t, const char *);

#endif /* BROKERD_WS_H */
