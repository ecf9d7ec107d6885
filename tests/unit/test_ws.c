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

/* Unit tests for tlsproxy/ws.c, the WebSocket framing. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ws.h"

static const uint8_t	 mask_a[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame: header with the length in `lenform' bytes (0: shortest). */
static size_t
mkframe_raw(uint8_t *out, uint8_t b0, int masked, const uint8_t *mask,
    const void *payload, size_t len, int lenform)
{
	const uint8_t	*pl = payload;
	size_t		 i = 0, k;

	out[i++] = b0;
	if (lenform == 0)
		lenform = len <= 125 ? 1 : len <= 0xffff ? 2 : 8;
	if (lenform == 1)
		out[i++] = (masked ? 0x80 : 0) | (uint8_t)len;
	else if (lenform == 2) {
		out[i++] = (masked ? 0x80 : 0) | 126;
		out[i++] = (uint8_t)(len >> 8);
		out[i++] = (uint8_t)len;
	} else {
		out[i++] = (masked ? 0x80 : 0) | 127;
		for (k = 0; k < 8; k++)
			out[i++] = (uint8_t)((uint64_t)len >> (56 - 8 * k));
	}
	if (masked) {
		memcpy(out + i, mask, 4);
		i += 4;
	}
	for (k = 0; k < len; k++)
		out[i++] = pl[k] ^ (masked ? mask[k & 3] : 0);
	return i;
}

static size_t
mkframe(uint8_t *out, int fin, uint8_t op, const void *payload, size_t len)
{
	return mkframe_raw(out, (fin ? 0x80 : 0) | op, 1, mask_a, payload,
	    len, 0);
}

static void
dec_init(struct ws_dec *d)
{
	ws_dec_init(d, 1 << 20, 64);
}

/* Decode a whole buffer expecting one result; the data goes to `out'. */
static int
dec_all(struct ws_dec *d, const uint8_t *in, size_t len, uint8_t *out,
    size_t outsize, size_t *outlen, struct ws_error *e)
{
	size_t	 used;

	return ws_decode(d, in, len, &used, out, outsize, outlen, e);
}

static void
expect_error(const uint8_t *in, size_t len, uint16_t code)
{
	struct ws_dec	 d;
	struct ws_error	 e = { 0, NULL };
	uint8_t		 out[256];
	size_t		 olen;

	dec_init(&d);
	assert_int_equal(dec_all(&d, in, len, out, sizeof(out), &olen, &e),
	    WS_ERROR);
	assert_int_equal(e.code, code);
	assert_non_null(e.why);
}

static void
test_header_lengths(void **state)
{
	struct ws_frame	 f;
	struct ws_error	 e;
	uint8_t		 b[80000];
	size_t		 n, i;
	static const size_t lens[] = { 0, 1, 125, 126, 65535, 65536, 70000 };

	(void)state;
	memset(b + 20, 'x', sizeof(b) - 20);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t	 pl[70000];

		memset(pl, 'y', lens[i]);
		n = mkframe(b, 1, WS_OP_BINARY, pl, lens[i]);
		assert_int_equal(ws_frame_header(b, n, &f, &e), 1);
		assert_int_equal(f.len, lens[i]);
		assert_int_equal(f.hdrlen, n - lens[i]);
		assert_true(f.masked);
		assert_true(f.fin);
		assert_int_equal(f.opcode, WS_OP_BINARY);
		assert_memory_equal(f.mask, mask_a, 4);
		/* Every shorter prefix of the header asks for more. */
		for (size_t k = 0; k < f.hdrlen; k++)
			assert_int_equal(ws_frame_header(b, k, &f, &e), 0);
	}
}

static void
test_header_errors(void **state)
{
	uint8_t		 b[64];
	struct ws_frame	 f;
	struct ws_error	 e;
	size_t		 n;
	unsigned int	 op;

	(void)state;
	/* Reserved bits, each. */
	for (n = 0; n < 3; n++) {
		b[0] = 0x80 | (0x40 >> n) | WS_OP_BINARY;
		b[1] = 0x80;
		assert_int_equal(ws_frame_header(b, 2, &f, &e), WS_ERROR);
		assert_int_equal(e.code, WS_CLOSE_PROTOCOL);
	}
	/* Reserved opcodes, judged from two bytes. */
	for (op = 3; op < 16; op++) {
		if (op >= 8 && op <= 10)
			continue;
		b[0] = 0x80 | op;
		b[1] = 0x80;
		assert_int_equal(ws_frame_header(b, 2, &f, &e), WS_ERROR);
		assert_string_equal(e.why, "reserved opcode");
	}
	/* Control frames: over 125 bytes, or not final. */
	b[0] = 0x80 | WS_OP_PING;
	b[1] = 0x80 | 126;
	assert_int_equal(ws_frame_header(b, 2, &f, &e), WS_ERROR);
	b[0] = WS_OP_PING;
	b[1] = 0x80 | 4;
	assert_int_equal(ws_frame_header(b, 2, &f, &e), WS_ERROR);
	assert_string_equal(e.why, "fragmented control frame");
	/* Lengths not in the shortest form. */
	n = mkframe_raw(b, 0x82, 1, mask_a, "abc", 3, 2);
	assert_int_equal(ws_frame_header(b, n, &f, &e), WS_ERROR);
	assert_int_equal(e.code, WS_CLOSE_PROTOCOL);
	n = mkframe_raw(b, 0x82, 1, mask_a, "abc", 3, 8);
	assert_int_equal(ws_frame_header(b, n, &f, &e), WS_ERROR);
	/* The top bit of a 64-bit length. */
	b[0] = 0x82;
	b[1] = 0x80 | 127;
	memset(b + 2, 0, 8);
	b[2] = 0x80;
	memcpy(b + 10, mask_a, 4);
	assert_int_equal(ws_frame_header(b, 14, &f, &e), WS_ERROR);
	assert_string_equal(e.why,
	    "length with the most significant bit set");
}

static void
test_decode_binary(void **state)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		 in[4096], out[4096], pl[3000];
	size_t		 n, used, olen, i;

	(void)state;
	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13);
	dec_init(&d);
	n = mkframe(in, 1, WS_OP_BINARY, pl, sizeof(pl));
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_OK);
	assert_int_equal(used, n);
	assert_int_equal(olen, sizeof(pl));
	assert_memory_equal(out, pl, sizeof(pl));
	assert_false(d.in_frame);
	assert_false(d.in_message);
}

/* The relay's way: input in chunks, leftovers kept, output in chunks. */
static size_t
stream(struct ws_dec *d, const uint8_t *in, size_t len, size_t chunk,
    size_t outchunk, uint8_t *out, unsigned int *ncontrol, int *rc,
    struct ws_error *e)
{
	uint8_t		 buf[8192];
	size_t		 have = 0, fed = 0, used, olen, total = 0;
	int		 r;

	*ncontrol = 0;
	for (;;) {
		if (fed < len) {
			size_t	 n = len - fed < chunk ? len - fed : chunk;

			memcpy(buf + have, in + fed, n);
			have += n;
			fed += n;
		}
		do {
			r = ws_decode(d, buf, have, &used, out + total,
			    outchunk, &olen, e);
			if (r == WS_ERROR) {
				*rc = r;
				return total;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			total += olen;
			if (r == WS_CONTROL)
				(*ncontrol)++;
		} while (r == WS_CONTROL || olen > 0);
		if (fed == len)
			break;
	}
	*rc = WS_OK;
	assert_int_equal(have, 0);
	return total;
}

static void
test_decode_stream(void **state)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		 in[8192], out[8192], pl[1000];
	size_t		 n = 0, i, total;
	unsigned int	 nctl;
	int		 rc;
	static const size_t chunks[] = { 1, 2, 3, 7, 13, 100, 8192 };
	static const size_t outs[] = { 1, 5, 64, 8192 };

	(void)state;
	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + 1);
	/* A message in three fragments with a ping and a pong among them. */
	n += mkframe(in + n, 0, WS_OP_BINARY, pl, 300);
	n += mkframe(in + n, 1, WS_OP_PING, "ping!", 5);
	n += mkframe(in + n, 0, WS_OP_CONT, pl + 300, 0);
	n += mkframe(in + n, 0, WS_OP_CONT, pl + 300, 500);
	n += mkframe(in + n, 1, WS_OP_PONG, "", 0);
	n += mkframe(in + n, 1, WS_OP_CONT, pl + 800, 200);
	/* And one whole message after it. */
	n += mkframe(in + n, 1, WS_OP_BINARY, pl, 130);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
			dec_init(&d);
			memset(out, 0, sizeof(out));
			total = stream(&d, in, n, chunks[i], outs[k], out,
			    &nctl, &rc, &e);
			assert_int_equal(rc, WS_OK);
			assert_int_equal(total, 1130);
			assert_int_equal(nctl, 2);
			assert_memory_equal(out, pl, 1000);
			assert_memory_equal(out + 1000, pl, 130);
			assert_false(d.in_message);
		}
	}
}

static void
test_decode_control(void **state)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		 in[256], out[16], pl[125];
	size_t		 n, used, olen;

	(void)state;
	memset(pl, 'p', sizeof(pl));
	dec_init(&d);
	n = mkframe(in, 1, WS_OP_PING, pl, 125);
	n += mkframe(in + n, 1, WS_OP_BINARY, "abc", 3);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_CONTROL);
	assert_int_equal(d.ctl.opcode, WS_OP_PING);
	assert_int_equal(d.ctl.len, 125);
	assert_memory_equal(d.ctl.data, pl, 125);
	assert_int_equal(olen, 0);
	assert_int_equal(used, 2 + 4 + 125);
	assert_int_equal(ws_decode(&d, in + used, n - used, &used, out,
	    sizeof(out), &olen, &e), WS_OK);
	assert_int_equal(olen, 3);
	assert_memory_equal(out, "abc", 3);
}

static void
test_decode_errors(void **state)
{
	uint8_t		 in[512], pl[200];
	size_t		 n;

	(void)state;
	memset(pl, 'z', sizeof(pl));
	/* Unmasked, text, and out-of-sequence frames. */
	n = mkframe_raw(in, 0x82, 0, NULL, "abc", 3, 0);
	expect_error(in, n, WS_CLOSE_PROTOCOL);
	n = mkframe(in, 1, WS_OP_TEXT, "abc", 3);
	expect_error(in, n, WS_CLOSE_UNSUPPORTED);
	n = mkframe(in, 1, WS_OP_CONT, "abc", 3);
	expect_error(in, n, WS_CLOSE_PROTOCOL);
	n = mkframe(in, 0, WS_OP_BINARY, "abc", 3);
	n += mkframe(in + n, 1, WS_OP_BINARY, "abc", 3);
	expect_error(in, n, WS_CLOSE_PROTOCOL);
	/* A text frame inside a binary message is refused too. */
	n = mkframe(in, 0, WS_OP_BINARY, "abc", 3);
	n += mkframe(in + n, 1, WS_OP_TEXT, "abc", 3);
	expect_error(in, n, WS_CLOSE_UNSUPPORTED);
}

static void
test_decode_limits(void **state)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		 in[4096], out[4096], pl[100];
	size_t		 n = 0, used, olen;
	unsigned int	 i;

	(void)state;
	memset(pl, 'q', sizeof(pl));
	/* One frame over the message limit, judged from its header. */
	ws_dec_init(&d, 99, 8);
	n = mkframe(in, 1, WS_OP_BINARY, pl, 100);
	assert_int_equal(ws_decode(&d, in, 8, &used, out, sizeof(out), &olen,
	    &e), WS_ERROR);
	assert_int_equal(e.code, WS_CLOSE_TOO_BIG);
	/* Fragments adding up to over the limit. */
	ws_dec_init(&d, 150, 8);
	n = mkframe(in, 0, WS_OP_BINARY, pl, 100);
	n += mkframe(in + n, 1, WS_OP_CONT, pl, 51);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_ERROR);
	assert_int_equal(e.code, WS_CLOSE_TOO_BIG);
	/* Exactly at the limit is fine. */
	ws_dec_init(&d, 151, 8);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_OK);
	assert_int_equal(olen, 151);
	/* A message that never ends: empty fragments, bounded in number. */
	ws_dec_init(&d, 1000, 8);
	n = mkframe(in, 0, WS_OP_BINARY, NULL, 0);
	for (i = 0; i < 8; i++)
		n += mkframe(in + n, 0, WS_OP_CONT, NULL, 0);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_ERROR);
	assert_int_equal(e.code, WS_CLOSE_TOO_BIG);
	assert_string_equal(e.why, "message in too many fragments");
	/* Each message has its own count. */
	ws_dec_init(&d, 1000, 2);
	n = 0;
	for (i = 0; i < 10; i++) {
		n += mkframe(in + n, 0, WS_OP_BINARY, "a", 1);
		n += mkframe(in + n, 1, WS_OP_CONT, "b", 1);
	}
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_OK);
	assert_int_equal(olen, 20);
}

static void
test_decode_close(void **state)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		 in[256], out[16], body[64];
	size_t		 n, used, olen;
	static const uint16_t bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
	    2999, 5000, 65535 };
	static const uint16_t good[] = { 1000, 1001, 1002, 1003, 1007, 1011,
	    1014, 3000, 4999 };
	unsigned int	 i;

	(void)state;
	/* No body: no status. */
	dec_init(&d);
	n = mkframe(in, 1, WS_OP_CLOSE, NULL, 0);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_CONTROL);
	assert_int_equal(d.ctl.close_code, WS_CLOSE_NO_STATUS);
	assert_true(d.closed);
	/* Nothing may follow a close. */
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_ERROR);
	/* A code and a reason. */
	body[0] = 1001 >> 8;
	body[1] = 1001 & 0xff;
	memcpy(body + 2, "bye \xc3\xa9", 6);
	dec_init(&d);
	n = mkframe(in, 1, WS_OP_CLOSE, body, 8);
	assert_int_equal(ws_decode(&d, in, n, &used, out, sizeof(out), &olen,
	    &e), WS_CONTROL);
	assert_int_equal(d.ctl.close_code, 1001);
	/* A reason that is not UTF-8. */
	memcpy(body + 2, "bye \xc3\x28", 6);
	n = mkframe(in, 1, WS_OP_CLOSE, body, 8);
	expect_error(in, n, WS_CLOSE_BAD_DATA);
	/* One byte. */
	n = mkframe(in, 1, WS_OP_CLOSE, body, 1);
	expect_error(in, n, WS_CLOSE_PROTOCOL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ws_close_code_valid(bad[i]));
		body[0] = bad[i] >> 8;
		body[1] = bad[i] & 0xff;
		n = mkframe(in, 1, WS_OP_CLOSE, body, 2);
		expect_error(in, n, WS_CLOSE_PROTOCOL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(ws_close_code_valid(good[i]));
}

static void
test_encode(void **state)
{
	uint8_t		 b[256], big[WS_CTL_MAX + 10];
	struct ws_frame	 f;
	struct ws_error	 e;
	char		 reason[300];
	size_t		 n, i;
	static const uint64_t lens[] = { 0, 125, 126, 65535, 65536,
	    (uint64_t)1 << 40 };

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = ws_encode_header(b, WS_OP_BINARY, 1, lens[i]);
		assert_int_equal(n, ws_header_size(lens[i]));
		assert_true(n <= WS_SRV_HDR_MAX);
		assert_int_equal(ws_frame_header(b, n, &f, &e), 1);
		assert_int_equal(f.len, lens[i]);
		assert_false(f.masked);
		assert_int_equal(f.hdrlen, n);
	}
	/* Close frames: the reason is cut to fit a control frame. */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	n = ws_encode_close(big, sizeof(big), WS_CLOSE_POLICY, reason);
	assert_int_equal(n, 2 + WS_CTL_MAX);
	assert_int_equal(big[0], 0x88);
	assert_int_equal(big[1], WS_CTL_MAX);
	assert_int_equal(big[2] << 8 | big[3], WS_CLOSE_POLICY);
	n = ws_encode_close(b, sizeof(b), WS_CLOSE_NO_STATUS, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(ws_encode_close(b, 3, WS_CLOSE_NORMAL, "x"), 0);
	/* Pong with a ping's payload; too long a payload is refused. */
	n = ws_encode_control(b, sizeof(b), WS_OP_PONG, (const uint8_t *)"hi",
	    2);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "\x8a\x02hi", 4);
	assert_int_equal(ws_encode_control(b, sizeof(b), WS_OP_PONG, big,
	    126), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_decode_binary),
		cmocka_unit_test(test_decode_stream),
		cmocka_unit_test(test_decode_control),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_limits),
		cmocka_unit_test(test_decode_close),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
