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

/* Unit tests for common/buf.c. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* Fill `p' with a pattern that depends on the stream offset `off'. */
static void
pattern(unsigned char *p, size_t len, size_t off)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((off + i) * 7 + 3);
}

static void
check_pattern(const unsigned char *p, size_t len, size_t off)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		assert_int_equal(p[i], (unsigned char)((off + i) * 7 + 3));
}

static void
test_buf_init_empty(void **state)
{
	struct buf	 b;

	(void)state;
	memset(&b, 0xa5, sizeof(b));
	buf_init(&b, 1234);
	assert_null(b.data);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 0);
	assert_int_equal(b.max, 1234);
	assert_int_equal(buf_len(&b), 0);
	/* Adding nothing allocates nothing. */
	assert_int_equal(buf_add(&b, "x", 0), 0);
	assert_null(b.data);
	buf_free(&b);
}

static void
test_buf_reserve_commit_consume(void **state)
{
	struct buf	 b;
	unsigned char	*p;

	(void)state;
	buf_init(&b, 0);
	p = buf_reserve(&b, 10);
	assert_non_null(p);
	assert_true(b.size >= 10);
	/* Reserving does not make bytes readable. */
	assert_int_equal(buf_len(&b), 0);
	memcpy(p, "0123456789", 10);
	buf_commit(&b, 4);
	assert_int_equal(buf_len(&b), 4);
	assert_memory_equal(buf_ptr(&b), "0123", 4);

	/* The next reservation starts after the committed bytes. */
	p = buf_reserve(&b, 3);
	assert_ptr_equal(p, b.data + 4);
	memcpy(p, "abc", 3);
	buf_commit(&b, 3);
	assert_int_equal(buf_len(&b), 7);
	assert_memory_equal(buf_ptr(&b), "0123abc", 7);

	buf_consume(&b, 2);
	assert_int_equal(buf_len(&b), 5);
	assert_int_equal(b.rpos, 2);
	assert_memory_equal(buf_ptr(&b), "23abc", 5);

	assert_int_equal(buf_add(&b, "XY", 2), 0);
	assert_memory_equal(buf_ptr(&b), "23abcXY", 7);

	/* Consuming everything rewinds both positions. */
	buf_consume(&b, 7);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 0);
	assert_non_null(b.data);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.size, 0);
	assert_int_equal(buf_len(&b), 0);
}

static void
test_buf_growth(void **state)
{
	struct buf	 b;
	unsigned char	 chunk[1000];
	size_t		 total = 0, i;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "a", 1), 0);
	assert_int_equal(b.size, 256);
	buf_consume(&b, 1);

	/* Doubling from 256 until it fits. */
	pattern(chunk, 300, 0);
	assert_int_equal(buf_add(&b, chunk, 300), 0);
	assert_int_equal(b.size, 512);
	total = 300;
	for (i = 0; i < 20; i++) {
		pattern(chunk, sizeof(chunk), total);
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
		total += sizeof(chunk);
	}
	assert_int_equal(buf_len(&b), total);
	assert_int_equal(b.size, 32768);
	check_pattern(buf_ptr(&b), total, 0);

	/* One big reservation grows straight to the power of two above. */
	buf_free(&b);
	assert_non_null(buf_reserve(&b, 5000));
	assert_int_equal(b.size, 8192);
	buf_free(&b);
}

static void
test_buf_max(void **state)
{
	struct buf	 b;
	unsigned char	 chunk[600];

	(void)state;
	buf_init(&b, 1000);
	pattern(chunk, sizeof(chunk), 0);
	assert_int_equal(buf_add(&b, chunk, 600), 0);
	/* Growth stops at the limit, not at the next power of two. */
	assert_int_equal(buf_add(&b, chunk, 400), 0);
	assert_int_equal(b.size, 1000);
	assert_int_equal(buf_len(&b), 1000);

	errno = 0;
	assert_int_equal(buf_add(&b, "x", 1), -1);
	assert_int_equal(errno, ENOBUFS);
	errno = 0;
	assert_null(buf_reserve(&b, 1));
	assert_int_equal(errno, ENOBUFS);
	/* A failed add leaves the contents alone. */
	assert_int_equal(buf_len(&b), 1000);
	check_pattern(buf_ptr(&b), 600, 0);

	/* Consumed bytes make room again: the limit is on unread bytes. */
	buf_consume(&b, 10);
	assert_int_equal(buf_add(&b, chunk, 10), 0);
	assert_int_equal(buf_len(&b), 1000);
	assert_int_equal(b.size, 1000);
	check_pattern(buf_ptr(&b), 590, 10);
	errno = 0;
	assert_int_equal(buf_add(&b, chunk, 1), -1);
	assert_int_equal(errno, ENOBUFS);
	buf_free(&b);

	/* A single reservation larger than the limit. */
	buf_init(&b, 1000);
	errno = 0;
	assert_null(buf_reserve(&b, 1001));
	assert_int_equal(errno, ENOBUFS);
	assert_null(b.data);
	assert_non_null(buf_reserve(&b, 1000));
	assert_int_equal(b.size, 1000);
	buf_free(&b);

	/* A limit below the first allocation. */
	buf_init(&b, 100);
	assert_int_equal(buf_add(&b, chunk, 50), 0);
	assert_int_equal(b.size, 100);
	errno = 0;
	assert_int_equal(buf_add(&b, chunk, 51), -1);
	assert_int_equal(errno, ENOBUFS);
	buf_free(&b);

	/* Sizes that would overflow are refused even without a limit. */
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	errno = 0;
	assert_null(buf_reserve(&b, SIZE_MAX));
	assert_int_equal(errno, ENOBUFS);
	errno = 0;
	assert_null(buf_reserve(&b, SIZE_MAX / 2));
	assert_int_equal(errno, ENOBUFS);
	assert_memory_equal(buf_ptr(&b), "abc", 3);
	buf_free(&b);
}

static void
test_buf_compact(void **state)
{
	struct buf	 b;
	unsigned char	 chunk[256];
	unsigned char	*data, *p;

	(void)state;
	buf_init(&b, 0);
	pattern(chunk, 200, 0);
	assert_int_equal(buf_add(&b, chunk, 200), 0);
	assert_int_equal(b.size, 256);
	buf_consume(&b, 150);
	data = b.data;

	/*
	 * 56 bytes free at the end, 100 wanted: the 50 unread bytes slide
	 * down instead of the buffer growing.
	 */
	p = buf_reserve(&b, 100);
	assert_non_null(p);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.size, 256);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 50);
	assert_ptr_equal(p, b.data + 50);
	check_pattern(buf_ptr(&b), 50, 150);
	pattern(p, 100, 200);
	buf_commit(&b, 100);
	assert_int_equal(buf_len(&b), 150);
	check_pattern(buf_ptr(&b), 150, 150);
	buf_free(&b);
}

static void
test_buf_grow_unread_offset(void **state)
{
	struct buf	 b;
	unsigned char	 chunk[256];
	unsigned char	*p;

	(void)state;
	/*
	 * More than half the buffer is unread: no slide in place, a new
	 * buffer (big enough, so of the same size) that starts with the
	 * unread bytes.
	 */
	buf_init(&b, 0);
	pattern(chunk, 256, 0);
	assert_int_equal(buf_add(&b, chunk, 256), 0);
	assert_int_equal(b.size, 256);
	buf_consume(&b, 100);
	p = buf_reserve(&b, 50);
	assert_non_null(p);
	assert_int_equal(b.size, 256);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 156);
	assert_ptr_equal(p, b.data + 156);
	check_pattern(buf_ptr(&b), 156, 100);

	/* Not enough room even after a slide: grow. */
	buf_consume(&b, 150);
	assert_int_equal(buf_len(&b), 6);
	p = buf_reserve(&b, 600);
	assert_non_null(p);
	assert_int_equal(b.size, 1024);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 6);
	check_pattern(buf_ptr(&b), 6, 250);
	buf_free(&b);
}

static void
test_buf_shrink(void **state)
{
	struct buf	 b;
	unsigned char	 chunk[4096];

	(void)state;
	buf_init(&b, 0);
	pattern(chunk, sizeof(chunk), 0);
	assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.size, 4096);

	/* Not empty: nothing happens. */
	buf_shrink(&b, 0);
	assert_non_null(b.data);
	assert_int_equal(b.size, 4096);
	buf_consume(&b, 4000);
	buf_shrink(&b, 0);
	assert_non_null(b.data);
	assert_int_equal(buf_len(&b), 96);
	check_pattern(buf_ptr(&b), 96, 4000);

	/* Empty but no larger than `keep': kept. */
	buf_consume(&b, 96);
	buf_shrink(&b, 4096);
	assert_non_null(b.data);
	assert_int_equal(b.size, 4096);

	/* Empty and larger than `keep': given back. */
	buf_shrink(&b, 4095);
	assert_null(b.data);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 0);

	/* And usable again. */
	assert_int_equal(buf_add(&b, "again", 5), 0);
	assert_memory_equal(buf_ptr(&b), "again", 5);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_init_empty),
		cmocka_unit_test(test_buf_reserve_commit_consume),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_buf_compact),
		cmocka_unit_test(test_buf_grow_unread_offset),
		cmocka_unit_test(test_buf_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
