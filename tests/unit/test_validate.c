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

/* Unit tests for ipc/validate.c: ipc_validate() and ipc_check_schema(). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "ipc.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The limits ipc_chan_get() uses. */
static const struct ipc_limits	 deflim = { IPC_MAX_DEPTH, 1024 * 1024 };

/*
 * Check that `p' is rejected for exactly the reason `want'.  Failures are
 * reported at the caller's line.
 */
static void
reject_at(const unsigned char *p, size_t len, const struct ipc_limits *lim,
    const char *want, const char *file, int line)
{
	const char	*why = NULL;

	_assert_int_equal(ipc_validate(p, len, lim, &why), -1, file, line);
	_assert_true(why != NULL, "why != NULL", file, line);
	_assert_string_equal(why, want, file, line);
}

/*
 * Check that `p' is accepted, and that msgpack-c then decodes all of it:
 * whatever passes the validator must be safe to hand to msgpack_unpack().
 */
static void
accept_at(const unsigned char *p, size_t len, const struct ipc_limits *lim,
    const char *file, int line)
{
	msgpack_zone	 zone;
	msgpack_object	 obj;
	const char	*why = NULL;
	size_t		 off = 0;
	int		 r;

	r = ipc_validate(p, len, lim, &why);
	if (r != 0)
		print_error("rejected: %s\n", why != NULL ? why : "(null)");
	_assert_int_equal(r, 0, file, line);
	_assert_true(why == NULL, "why == NULL", file, line);
	_assert_true(msgpack_zone_init(&zone, 2048), "zone", file, line);
	r = msgpack_unpack((const char *)p, len, &off, &zone, &obj);
	_assert_int_equal(r, MSGPACK_UNPACK_SUCCESS, file, line);
	_assert_int_equal(off, len, file, line);
	_assert_int_equal(obj.type, MSGPACK_OBJECT_ARRAY, file, line);
	msgpack_zone_destroy(&zone);
}

#define REJECT(want, ...) do {						\
	static const unsigned char b_[] = { __VA_ARGS__ };		\
	reject_at(b_, sizeof(b_), &deflim, (want), __FILE__, __LINE__);	\
} while (0)
#define REJECT_LIM(lim, want, ...) do {					\
	static const unsigned char b_[] = { __VA_ARGS__ };		\
	reject_at(b_, sizeof(b_), (lim), (want), __FILE__, __LINE__);	\
} while (0)
#define ACCEPT(...) do {						\
	static const unsigned char b_[] = { __VA_ARGS__ };		\
	accept_at(b_, sizeof(b_), &deflim, __FILE__, __LINE__);		\
} while (0)
#define ACCEPT_LIM(lim, ...) do {					\
	static const unsigned char b_[] = { __VA_ARGS__ };		\
	accept_at(b_, sizeof(b_), (lim), __FILE__, __LINE__);		\
} while (0)

static void
test_validate_huge_map(void **state)
{
	(void)state;
	/* Five bytes claiming a map of 2^32 - 1 entries, inside an array. */
	REJECT("count larger than the bytes left",
	    0x91, 0xdf, 0xff, 0xff, 0xff, 0xff);
	REJECT("count larger than the bytes left",
	    0x92, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01);
	/* A map of n entries needs 2n bytes, not n. */
	REJECT("count larger than the bytes left",
	    0x91, 0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03);
	ACCEPT(0x91, 0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04);
	REJECT("count larger than the bytes left",
	    0x91, 0xde, 0xff, 0xff, 0x01, 0x02);
	REJECT("count larger than the bytes left",
	    0x91, 0xde, 0x00, 0x01, 0x01);
	ACCEPT(0x91, 0xde, 0x00, 0x01, 0x01, 0x02);
	REJECT("count larger than the bytes left", 0x91, 0x81, 0x01);
	REJECT("count larger than the bytes left", 0x91, 0x8f, 0x01, 0x02);
	/* The header itself cut short. */
	REJECT("truncated", 0x91, 0xdf, 0xff, 0xff, 0xff);
	REJECT("truncated", 0x91, 0xde, 0xff);
}

static void
test_validate_array_counts(void **state)
{
	(void)state;
	/* array16 and array32 counts larger than the bytes left. */
	REJECT("count larger than the bytes left",
	    0x91, 0xdc, 0x00, 0x03, 0x01, 0x02);
	REJECT("count larger than the bytes left",
	    0x91, 0xdc, 0xff, 0xff, 0x01, 0x02);
	ACCEPT(0x91, 0xdc, 0x00, 0x02, 0x01, 0x02);
	REJECT("count larger than the bytes left",
	    0x91, 0xdd, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02);
	REJECT("count larger than the bytes left",
	    0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02);
	ACCEPT(0x91, 0xdd, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02);
	REJECT("count larger than the bytes left", 0x91, 0x93, 0x01, 0x02);
	/* At the top level too. */
	REJECT("count larger than the bytes left", 0xdc, 0xff, 0xff, 0x01);
	REJECT("count larger than the bytes left",
	    0xdd, 0xff, 0xff, 0xff, 0xff, 0x01);
	REJECT("count larger than the bytes left", 0x91);
	REJECT("count larger than the bytes left", 0x9f, 0x01);
	ACCEPT(0xdc, 0x00, 0x01, 0x01);
	ACCEPT(0xdd, 0x00, 0x00, 0x00, 0x01, 0x01);
	/* The header itself cut short. */
	REJECT("truncated", 0x91, 0xdc, 0x00);
	REJECT("truncated", 0x91, 0xdd, 0x00, 0x00, 0x00);
	REJECT("truncated", 0xdc, 0x00);
	/* Each element is checked against what is left after the others. */
	REJECT("truncated", 0x92, 0x91, 0x01);
}

static void
test_validate_str_bin_lengths(void **state)
{
	(void)state;
	/* str8, str16, str32. */
	REJECT("length larger than the bytes left",
	    0x91, 0xd9, 0x03, 'a', 'b');
	REJECT("length larger than the bytes left",
	    0x91, 0xd9, 0xff, 'a', 'b');
	ACCEPT(0x91, 0xd9, 0x02, 'a', 'b');
	REJECT("length larger than the bytes left",
	    0x91, 0xda, 0x00, 0x03, 'a', 'b');
	REJECT("length larger than the bytes left",
	    0x91, 0xda, 0xff, 0xff, 'a', 'b');
	ACCEPT(0x91, 0xda, 0x00, 0x02, 'a', 'b');
	REJECT("length larger than the bytes left",
	    0x91, 0xdb, 0x00, 0x00, 0x00, 0x03, 'a', 'b');
	REJECT("length larger than the bytes left",
	    0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b');
	ACCEPT(0x91, 0xdb, 0x00, 0x00, 0x00, 0x02, 'a', 'b');
	/* bin8, bin16, bin32. */
	REJECT("length larger than the bytes left",
	    0x91, 0xc4, 0x03, 0x00, 0x00);
	REJECT("length larger than the bytes left",
	    0x91, 0xc4, 0xff, 0x00, 0x00);
	ACCEPT(0x91, 0xc4, 0x02, 0x00, 0x00);
	REJECT("length larger than the bytes left",
	    0x91, 0xc5, 0x00, 0x03, 0x00, 0x00);
	REJECT("length larger than the bytes left",
	    0x91, 0xc5, 0xff, 0xff, 0x00, 0x00);
	ACCEPT(0x91, 0xc5, 0x00, 0x02, 0x00, 0x00);
	REJECT("length larger than the bytes left",
	    0x91, 0xc6, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00);
	REJECT("length larger than the bytes left",
	    0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00);
	ACCEPT(0x91, 0xc6, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00);
	/* fixstr. */
	REJECT("length larger than the bytes left", 0x91, 0xa3, 'a', 'b');
	REJECT("length larger than the bytes left", 0x91, 0xbf, 'a');
	/* Fixed-size numbers cut short. */
	REJECT("length larger than the bytes left", 0x91, 0xcc);
	REJECT("length larger than the bytes left", 0x91, 0xcd, 0x01);
	REJECT("length larger than the bytes left",
	    0x91, 0xcf, 0x01, 0x02, 0x03);
	REJECT("length larger than the bytes left",
	    0x91, 0xcb, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07);
	/* Length headers cut short. */
	REJECT("truncated", 0x91, 0xd9);
	REJECT("truncated", 0x91, 0xda, 0x00);
	REJECT("truncated", 0x91, 0xdb, 0x00, 0x00, 0x00);
	REJECT("truncated", 0x91, 0xc4);
	REJECT("truncated", 0x91, 0xc5, 0x00);
	REJECT("truncated", 0x91, 0xc6, 0x00, 0x00);
	/* Zero lengths at the very end are fine. */
	ACCEPT(0x91, 0xa0);
	ACCEPT(0x91, 0xd9, 0x00);
	ACCEPT(0x91, 0xc4, 0x00);
	ACCEPT(0x91, 0xdb, 0x00, 0x00, 0x00, 0x00);
}

/* `depth' arrays, each inside the one before, the innermost holding 1. */
static size_t
nest(unsigned char *p, size_t size, unsigned int depth, int empty, int map)
{
	size_t		 n = 0;
	unsigned int	 i;

	assert_true(depth + 2 <= size);
	for (i = 0; i < depth; i++) {
		if (i + 1 == depth && empty)
			p[n++] = map ? 0x80 : 0x90;
		else if (map && i > 0) {
			/* A one-entry map whose value is the next level. */
			p[n++] = 0x81;
			p[n++] = 0x01;
		} else
			p[n++] = 0x91;
	}
	if (!empty)
		p[n++] = 0x01;
	assert_true(n <= size);
	return n;
}

static void
test_validate_depth(void **state)
{
	struct ipc_limits	 lim = deflim;
	unsigned char		 b[256];
	size_t			 n;
	int			 empty, map;

	(void)state;
	for (map = 0; map <= 1; map++) {
		for (empty = 0; empty <= 1; empty++) {
			/* Exactly at the limit passes. */
			n = nest(b, sizeof(b), IPC_MAX_DEPTH, empty, map);
			accept_at(b, n, &lim, __FILE__, __LINE__);
			n = nest(b, sizeof(b), IPC_MAX_DEPTH - 1, empty, map);
			accept_at(b, n, &lim, __FILE__, __LINE__);
			/* One more level does not, even an empty one. */
			n = nest(b, sizeof(b), IPC_MAX_DEPTH + 1, empty, map);
			reject_at(b, n, &lim, "nested too deep",
			    __FILE__, __LINE__);
			n = nest(b, sizeof(b), 100, empty, map);
			reject_at(b, n, &lim, "nested too deep",
			    __FILE__, __LINE__);
		}
	}

	/* Other limits. */
	lim.max_depth = 1;
	ACCEPT_LIM(&lim, 0x92, 0x01, 0x02);
	ACCEPT_LIM(&lim, 0x90);
	REJECT_LIM(&lim, "nested too deep", 0x91, 0x91, 0x01);
	REJECT_LIM(&lim, "nested too deep", 0x91, 0x90);
	REJECT_LIM(&lim, "nested too deep", 0x91, 0x80);
	REJECT_LIM(&lim, "nested too deep", 0x92, 0x01, 0x81, 0x01, 0x02);
	lim.max_depth = 0;
	REJECT_LIM(&lim, "nested too deep", 0x91, 0x01);

	/*
	 * A limit above what the validator supports is clamped to 32, which
	 * is as deep as msgpack-c's unpacker goes: anything accepted must
	 * still decode (accept_at checks that).
	 */
	lim.max_depth = 1000;
	for (empty = 0; empty <= 1; empty++) {
		n = nest(b, sizeof(b), 32, empty, 0);
		accept_at(b, n, &lim, __FILE__, __LINE__);
		n = nest(b, sizeof(b), 33, empty, 0);
		reject_at(b, n, &lim, "nested too deep", __FILE__, __LINE__);
	}
}

static void
test_validate_ext(void **state)
{
	static const unsigned char	 ext[] = {
		0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8
	};
	unsigned char			 b[32];
	size_t				 i, n;

	(void)state;
	for (i = 0; i < NITEMS(ext); i++) {
		/* With a body that would be well-formed for the ext type. */
		memset(b, 0, sizeof(b));
		b[0] = 0x91;
		b[1] = ext[i];
		n = 2 + 20;
		reject_at(b, n, &deflim, "ext type", __FILE__, __LINE__);
		/* As a map value and as a map key. */
		b[0] = 0x91;
		b[1] = 0x81;
		b[2] = 0x01;
		b[3] = ext[i];
		reject_at(b, n, &deflim, "ext type", __FILE__, __LINE__);
		b[2] = ext[i];
		b[3] = 0x01;
		reject_at(b, n, &deflim, "ext type", __FILE__, __LINE__);
		/* As the last byte. */
		b[0] = 0x91;
		b[1] = ext[i];
		reject_at(b, 2, &deflim, "ext type", __FILE__, __LINE__);
	}
	/* The timestamp extension is an ext type too. */
	REJECT("ext type", 0x91, 0xd6, 0xff, 0x00, 0x00, 0x00, 0x01);
}

static void
test_validate_reserved(void **state)
{
	(void)state;
	REJECT("reserved type byte", 0x91, 0xc1);
	REJECT("reserved type byte", 0x92, 0x01, 0xc1);
	REJECT("reserved type byte", 0x91, 0x81, 0xc1, 0x01);
	REJECT("payload is not an array", 0xc1);
}

static void
test_validate_trailing(void **state)
{
	(void)state;
	REJECT("trailing bytes", 0x90, 0x00);
	REJECT("trailing bytes", 0x91, 0x01, 0x02);
	REJECT("trailing bytes", 0x90, 0x90);
	REJECT("trailing bytes", 0x92, 0xa1, 'x', 0x81, 0x01, 0x02, 0xc0);
	ACCEPT(0x92, 0xa1, 'x', 0x81, 0x01, 0x02);
}

static void
test_validate_not_array(void **state)
{
	(void)state;
	REJECT("payload is not an array", 0x80);
	REJECT("payload is not an array", 0x81, 0x01, 0x02);
	REJECT("payload is not an array", 0x01);
	REJECT("payload is not an array", 0xc0);
	REJECT("payload is not an array", 0xa1, 'x');
	REJECT("payload is not an array", 0xde, 0x00, 0x00);
	REJECT("payload is not an array", 0xdf, 0xff, 0xff, 0xff, 0xff);
	REJECT("payload is not an array", 0xd4, 0x01, 0x02);
	REJECT("payload is not an array", 0xff);
}

static void
test_validate_empty(void **state)
{
	static const unsigned char	 b[1] = { 0x90 };
	const char			*why = NULL;

	(void)state;
	assert_int_equal(ipc_validate(b, 0, &deflim, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, "empty payload");
}

static void
test_validate_max_objects(void **state)
{
	struct ipc_limits	 lim = { IPC_MAX_DEPTH, 3 };

	(void)state;
	/* The top-level array counts as one object. */
	ACCEPT_LIM(&lim, 0x92, 0x01, 0x02);
	REJECT_LIM(&lim, "too many objects", 0x93, 0x01, 0x02, 0x03);
	ACCEPT_LIM(&lim, 0x91, 0x91, 0x01);
	REJECT_LIM(&lim, "too many objects", 0x91, 0x92, 0x01, 0x02);
	/* Map keys and values count separately. */
	ACCEPT_LIM(&lim, 0x91, 0x80);
	REJECT_LIM(&lim, "too many objects", 0x91, 0x81, 0x01, 0x02);
	lim.max_objects = 1;
	ACCEPT_LIM(&lim, 0x90);
	REJECT_LIM(&lim, "too many objects", 0x91, 0x01);
	lim.max_objects = 0;
	REJECT_LIM(&lim, "too many objects", 0x90);
}

struct encoding {
	const char		*name;
	const unsigned char	*p;
	size_t			 len;
	msgpack_object_type	 type;
};

#define ENC(t, s)	{ #t ": " #s, (const unsigned char *)(s),	\
			    sizeof(s) - 1, MSGPACK_OBJECT_ ## t }

static const struct encoding encodings[] = {
	ENC(NIL, "\xc0"),
	ENC(BOOLEAN, "\xc2"),
	ENC(BOOLEAN, "\xc3"),
	ENC(POSITIVE_INTEGER, "\x00"),
	ENC(POSITIVE_INTEGER, "\x7f"),
	ENC(NEGATIVE_INTEGER, "\xe0"),
	ENC(NEGATIVE_INTEGER, "\xff"),
	ENC(POSITIVE_INTEGER, "\xcc\xff"),
	ENC(POSITIVE_INTEGER, "\xcd\xff\xff"),
	ENC(POSITIVE_INTEGER, "\xce\xff\xff\xff\xff"),
	ENC(POSITIVE_INTEGER, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
	ENC(NEGATIVE_INTEGER, "\xd0\x80"),
	ENC(NEGATIVE_INTEGER, "\xd1\x80\x00"),
	ENC(NEGATIVE_INTEGER, "\xd2\x80\x00\x00\x00"),
	ENC(NEGATIVE_INTEGER, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
	ENC(FLOAT32, "\xca\x3f\x80\x00\x00"),
	ENC(FLOAT64, "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
	ENC(STR, "\xa0"),
	ENC(STR, "\xa3" "abc"),
	ENC(STR, "\xd9\x03" "abc"),
	ENC(STR, "\xda\x00\x03" "abc"),
	ENC(STR, "\xdb\x00\x00\x00\x03" "abc"),
	ENC(BIN, "\xc4\x02\x00\x01"),
	ENC(BIN, "\xc5\x00\x02\x00\x01"),
	ENC(BIN, "\xc6\x00\x00\x00\x02\x00\x01"),
	ENC(ARRAY, "\x90"),
	ENC(ARRAY, "\x92\x01\x02"),
	ENC(ARRAY, "\xdc\x00\x01\x01"),
	ENC(ARRAY, "\xdd\x00\x00\x00\x01\x01"),
	ENC(MAP, "\x80"),
	ENC(MAP, "\x81\x01\x02"),
	ENC(MAP, "\xde\x00\x01\xa1" "k" "\x01"),
	ENC(MAP, "\xdf\x00\x00\x00\x01\x01\x02"),
};

static void
test_validate_every_type(void **state)
{
	msgpack_zone	 zone;
	msgpack_object	 obj;
	unsigned char	 b[1024];
	size_t		 i, n, off;

	(void)state;
	assert_true(msgpack_zone_init(&zone, 2048));
	/* Each on its own in a one-element array. */
	for (i = 0; i < NITEMS(encodings); i++) {
		b[0] = 0x91;
		memcpy(b + 1, encodings[i].p, encodings[i].len);
		n = 1 + encodings[i].len;
		if (ipc_validate(b, n, &deflim, &(const char *){ NULL }) != 0)
			print_error("%s\n", encodings[i].name);
		accept_at(b, n, &deflim, __FILE__, __LINE__);
		off = 0;
		assert_int_equal(msgpack_unpack((const char *)b, n, &off,
		    &zone, &obj), MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(obj.via.array.size, 1);
		assert_int_equal(obj.via.array.ptr[0].type,
		    encodings[i].type);
		/* One byte short is never accepted. */
		assert_int_equal(ipc_validate(b, n - 1, &deflim,
		    &(const char *){ NULL }), -1);
	}
	/* All of them in one array16. */
	b[0] = 0xdc;
	b[1] = 0;
	b[2] = NITEMS(encodings);
	n = 3;
	for (i = 0; i < NITEMS(encodings); i++) {
		memcpy(b + n, encodings[i].p, encodings[i].len);
		n += encodings[i].len;
	}
	accept_at(b, n, &deflim, __FILE__, __LINE__);
	/* And each inside a map, as a value. */
	b[0] = 0xdc;
	b[1] = 0;
	b[2] = 1;
	b[3] = 0xde;
	b[4] = 0;
	b[5] = NITEMS(encodings);
	n = 6;
	for (i = 0; i < NITEMS(encodings); i++) {
		b[n++] = (unsigned char)i;
		memcpy(b + n, encodings[i].p, encodings[i].len);
		n += encodings[i].len;
	}
	accept_at(b, n, &deflim, __FILE__, __LINE__);
	msgpack_zone_destroy(&zone);
}

static void
test_validate_packer_output(void **state)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		*big;
	size_t		 sizes[] = { 0, 31, 32, 255, 256, 65535, 65536 };
	size_t		 i;

	(void)state;
	/* What msgpack-c's own packer makes, with every length class. */
	big = calloc(1, 65536);
	assert_non_null(big);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2 * NITEMS(sizes) + 6);
	for (i = 0; i < NITEMS(sizes); i++) {
		msgpack_pack_str_with_body(&pk, big, sizes[i]);
		msgpack_pack_bin_with_body(&pk, big, sizes[i]);
	}
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_array(&pk, 20);
	for (i = 0; i < 20; i++)
		msgpack_pack_nil(&pk);
	msgpack_pack_map(&pk, 20);
	for (i = 0; i < 20; i++) {
		msgpack_pack_int(&pk, -(int)i);
		msgpack_pack_true(&pk);
	}
	accept_at((const unsigned char *)sb.data, sb.size, &deflim,
	    __FILE__, __LINE__);
	/* Every proper prefix is rejected. */
	for (i = 1; i < sb.size; i += 97)
		assert_int_equal(ipc_validate((const unsigned char *)sb.data,
		    i, &deflim, &(const char *){ NULL }), -1);
	msgpack_sbuffer_destroy(&sb);
	free(big);
}

/* Unpack `p' and check it against `fields'. */
static void
schema_at(const unsigned char *p, size_t len, const char *fields,
    const char *want, const char *file, int line)
{
	msgpack_zone	 zone;
	msgpack_object	 obj;
	const char	*why = NULL;
	size_t		 off = 0;

	_assert_true(msgpack_zone_init(&zone, 2048), "zone", file, line);
	_assert_int_equal(msgpack_unpack((const char *)p, len, &off, &zone,
	    &obj), MSGPACK_UNPACK_SUCCESS, file, line);
	if (want == NULL) {
		_assert_int_equal(ipc_check_schema(&obj, fields, &why), 0,
		    file, line);
		_assert_true(why == NULL, "why == NULL", file, line);
	} else {
		_assert_int_equal(ipc_check_schema(&obj, fields, &why), -1,
		    file, line);
		_assert_true(why != NULL, "why != NULL", file, line);
		_assert_string_equal(why, want, file, line);
	}
	msgpack_zone_destroy(&zone);
}

#define SCHEMA(fields, want, ...) do {					\
	static const unsigned char b_[] = { __VA_ARGS__ };		\
	schema_at(b_, sizeof(b_), (fields), (want), __FILE__,		\
	    __LINE__);							\
} while (0)
#define WRONG	"field of the wrong type"
#define COUNT	"wrong number of fields"

static void
test_schema_letters(void **state)
{
	(void)state;
	/* u: unsigned only. */
	SCHEMA("u", NULL, 0x91, 0x05);
	SCHEMA("u", NULL, 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff);
	SCHEMA("u", WRONG, 0x91, 0xff);
	SCHEMA("u", WRONG, 0x91, 0xa1, '5');
	SCHEMA("u", WRONG, 0x91, 0xc0);
	SCHEMA("u", WRONG, 0x91, 0xca, 0x3f, 0x80, 0x00, 0x00);
	/* i: any integer. */
	SCHEMA("i", NULL, 0x91, 0x05);
	SCHEMA("i", NULL, 0x91, 0xff);
	SCHEMA("i", NULL, 0x91, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
	SCHEMA("i", WRONG, 0x91, 0xc3);
	SCHEMA("i", WRONG, 0x91, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
	/* s: string, not binary. */
	SCHEMA("s", NULL, 0x91, 0xa1, 'x');
	SCHEMA("s", NULL, 0x91, 0xa0);
	SCHEMA("s", WRONG, 0x91, 0xc4, 0x01, 'x');
	SCHEMA("s", WRONG, 0x91, 0xc0);
	/* b: binary, not string. */
	SCHEMA("b", NULL, 0x91, 0xc4, 0x01, 'x');
	SCHEMA("b", WRONG, 0x91, 0xa1, 'x');
	/* t: boolean. */
	SCHEMA("t", NULL, 0x91, 0xc3);
	SCHEMA("t", NULL, 0x91, 0xc2);
	SCHEMA("t", WRONG, 0x91, 0xc0);
	SCHEMA("t", WRONG, 0x91, 0x01);
	/* a: array. */
	SCHEMA("a", NULL, 0x91, 0x90);
	SCHEMA("a", NULL, 0x91, 0x92, 0x01, 0xa0);
	SCHEMA("a", WRONG, 0x91, 0x80);
	SCHEMA("a", WRONG, 0x91, 0xa0);
	/* m: map. */
	SCHEMA("m", NULL, 0x91, 0x80);
	SCHEMA("m", NULL, 0x91, 0x81, 0xa1, 'k', 0x01);
	SCHEMA("m", WRONG, 0x91, 0x90);
	/* *: anything. */
	SCHEMA("*", NULL, 0x91, 0xc0);
	SCHEMA("*", NULL, 0x91, 0x01);
	SCHEMA("*", NULL, 0x91, 0xff);
	SCHEMA("*", NULL, 0x91, 0xa1, 'x');
	SCHEMA("*", NULL, 0x91, 0xc4, 0x00);
	SCHEMA("*", NULL, 0x91, 0x90);
	SCHEMA("*", NULL, 0x91, 0x80);
	SCHEMA("*", NULL, 0x91, 0xc2);
	/* A letter the schema language does not have. */
	SCHEMA("x", WRONG, 0x91, 0x01);
	SCHEMA("u?", WRONG, 0x92, 0x01, 0x01);
	/* Several fields, the wrong one anywhere. */
	SCHEMA("uusit", NULL, 0x95, 0x01, 0x02, 0xa1, '/', 0xff, 0xc3);
	SCHEMA("uusit", WRONG, 0x95, 0xff, 0x02, 0xa1, '/', 0xff, 0xc3);
	SCHEMA("uusit", WRONG, 0x95, 0x01, 0x02, 0xa1, '/', 0xff, 0xc0);
	SCHEMA("uusit", WRONG, 0x95, 0x01, 0x02, 0xc4, 0x01, '/', 0xff, 0xc3);
}

static void
test_schema_count(void **state)
{
	(void)state;
	SCHEMA("", NULL, 0x90);
	SCHEMA("", COUNT, 0x91, 0x01);
	SCHEMA("us", COUNT, 0x90);
	SCHEMA("us", COUNT, 0x91, 0x01);
	SCHEMA("us", COUNT, 0x93, 0x01, 0xa0, 0xa0);
	SCHEMA("us", NULL, 0x92, 0x01, 0xa0);
	/* The count is checked before the types. */
	SCHEMA("us", COUNT, 0x91, 0xa0);
	/* Not an array at all. */
	SCHEMA("", "not an array", 0x01);
	SCHEMA("u", "not an array", 0x81, 0x01, 0x01);
}

/* Every message type in ipc.h: a matching array passes, a wrong field not. */
static void
test_schema_table(void **state)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	msgpack_zone	 zone;
	msgpack_object	 obj;
	const char	*fields, *why;
	unsigned int	 t;
	size_t		 i, j, n, off;

	(void)state;
	assert_string_equal(ipc_type_name(IPC_LOG), "IPC_LOG");
	assert_string_equal(ipc_type_name(IPC_CTL_END), "IPC_CTL_END");
	assert_string_equal(ipc_type_name(IPC_NONE), "unknown");
	assert_string_equal(ipc_type_name(IPC_TYPE_MAX), "unknown");
	assert_true(msgpack_zone_init(&zone, 2048));
	for (t = 1; t < IPC_TYPE_MAX; t++) {
		fields = ipc_schemas[t].fields;
		assert_non_null(fields);
		assert_non_null(ipc_schemas[t].name);
		n = strlen(fields);
		/* j == n: all fields right; otherwise field j is wrong. */
		for (j = 0; j <= n; j++) {
			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			msgpack_pack_array(&pk, n);
			for (i = 0; i < n; i++) {
				switch (fields[i]) {
				case 'u':
					if (i == j)
						msgpack_pack_int(&pk, -1);
					else
						msgpack_pack_uint32(&pk, 7);
					break;
				case 'i':
					if (i == j)
						msgpack_pack_false(&pk);
					else
						msgpack_pack_int(&pk, -7);
					break;
				case 's':
					if (i == j)
						msgpack_pack_bin_with_body(&pk,
						    "x", 1);
					else
						msgpack_pack_str_with_body(&pk,
						    "x", 1);
					break;
				case 't':
					if (i == j)
						msgpack_pack_nil(&pk);
					else
						msgpack_pack_true(&pk);
					break;
				case 'b':
					if (i == j)
						msgpack_pack_str_with_body(&pk,
						    "x", 1);
					else
						msgpack_pack_bin_with_body(&pk,
						    "x", 1);
					break;
				case 'a':
					if (i == j)
						msgpack_pack_map(&pk, 0);
					else
						msgpack_pack_array(&pk, 0);
					break;
				case 'm':
					if (i == j)
						msgpack_pack_array(&pk, 0);
					else
						msgpack_pack_map(&pk, 0);
					break;
				case '*':
					/* Nothing is of the wrong type. */
					msgpack_pack_nil(&pk);
					break;
				default:
					fail_msg("%s: unexpected letter %c",
					    ipc_schemas[t].name, fields[i]);
				}
			}
			off = 0;
			assert_int_equal(msgpack_unpack(sb.data, sb.size,
			    &off, &zone, &obj), MSGPACK_UNPACK_SUCCESS);
			why = NULL;
			if (j == n || fields[j] == '*') {
				assert_int_equal(ipc_check_schema(&obj, fields,
				    &why), 0);
			} else {
				assert_int_equal(ipc_check_schema(&obj, fields,
				    &why), -1);
				assert_string_equal(why, WRONG);
			}
			msgpack_sbuffer_destroy(&sb);
		}
	}
	msgpack_zone_destroy(&zone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_huge_map),
		cmocka_unit_test(test_validate_array_counts),
		cmocka_unit_test(test_validate_str_bin_lengths),
		cmocka_unit_test(test_validate_depth),
		cmocka_unit_test(test_validate_ext),
		cmocka_unit_test(test_validate_reserved),
		cmocka_unit_test(test_validate_trailing),
		cmocka_unit_test(test_validate_not_array),
		cmocka_unit_test(test_validate_empty),
		cmocka_unit_test(test_validate_max_objects),
		cmocka_unit_test(test_validate_every_type),
		cmocka_unit_test(test_validate_packer_output),
		cmocka_unit_test(test_schema_letters),
		cmocka_unit_test(test_schema_count),
		cmocka_unit_test(test_schema_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
