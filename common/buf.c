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

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Give back `p', of `size' bytes, wiped if `b' is secret. */
static void
buf_release(const struct buf *b, void *p, size_t size)
{
	if (b->secret)
		freezero(p, size);
	else
		free(p);
}

/* A larger block for `b': realloc(), or a wiped move if it is secret. */
static void *
buf_realloc(struct buf *b, size_t want)
{
	unsigned char	*p;

	if (!b->secret || b->data == NULL)
		return realloc(b->data, want);
	if ((p = malloc(want)) == NULL)
		return NULL;
	memcpy(p, b->data, b->wpos);
	freezero(b->data, b->size);
	return p;
}

void
buf_free(struct buf *b)
{
	buf_release(b, b->data, b->size);
	b->data = NULL;
	b->size = b->rpos = b->wpos = 0;
}

/* From now on (or no longer), wipe what is consumed, moved or freed. */
void
buf_secret(struct buf *b, int on)
{
	b->secret = on != 0;
}

/*
 * Make room for `len' more bytes and return where they go, or NULL with
 * errno ENOBUFS if that would pass the limit (ENOMEM if malloc fails).
 */
void *
buf_reserve(struct buf *b, size_t len)
{
	unsigned char	*p;
	size_t		 used = b->wpos - b->rpos, want;

	if (len == 0)
		len = 1;	/* a valid pointer, even when empty */
	if (b->size - b->wpos >= len)
		return b->data + b->wpos;
	if (len > BUF_LIMIT / 2 - used ||
	    (b->max != 0 && used + len > b->max)) {
		errno = ENOBUFS;
		return NULL;
	}
	/* Slide the unread bytes down if that makes enough room. */
	if (b->rpos > 0 && b->size - used >= len && used <= b->size / 2) {
		memmove(b->data, b->data + b->rpos, used);
		if (b->secret)
			explicit_bzero(b->data + used, b->wpos - used);
		b->rpos = 0;
		b->wpos = used;
		return b->data + b->wpos;
	}
	want = b->size > 0 ? b->size : 256;
	while (want < used + len)
		want *= 2;
	if (want > BUF_LIMIT)
		want = BUF_LIMIT;
	if (b->max != 0 && want > b->max)
		want = b->max;
	if (b->rpos > 0) {
		if ((p = malloc(want)) == NULL)
			return NULL;
		memcpy(p, b->data + b->rpos, used);
		buf_release(b, b->data, b->size);
	} else if ((p = buf_realloc(b, want)) == NULL)
		return NULL;
	b->data = p;
	b->size = want;
	b->rpos = 0;
	b->wpos = used;
	return b->data + b->wpos;
}

/*
 * As buf_reserve(), but grow to exactly what is asked for (rounded up to
 * 1 KiB): for buffers whose peer decides how much they hold.
 */
void *
buf_reserve_exact(struct buf *b, size_t len)
{
	unsigned char	*p;
	size_t		 used = b->wpos - b->rpos, want;

	if (b->size - b->wpos >= len)
		return b->data + b->wpos;
	if (len > BUF_LIMIT / 2 - used ||
	    (b->max != 0 && used + len > b->max)) {
		errno = ENOBUFS;
		return NULL;
	}
	if (b->rpos > 0) {
		memmove(b->data, b->data + b->rpos, used);
		if (b->secret)
			explicit_bzero(b->data + used, b->wpos - used);
		b->rpos = 0;
		b->wpos = used;
		if (b->size - b->wpos >= len)
			return b->data + b->wpos;
	}
	want = (used + len + 1023) & ~(size_t)1023;
	if (b->max != 0 && want > b->max)
		want = b->max;
	if ((p = buf_realloc(b, want)) == NULL)
		return NULL;
	b->data = p;
	b->size = want;
	return b->data + b->wpos;
}

void
buf_commit(struct buf *b, size_t len)
{
	b->wpos += len;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	void	*p;

	if (len == 0)
		return 0;
	if ((p = buf_reserve(b, len)) == NULL)
		return -1;
	memcpy(p, data, len);
	b->wpos += len;
	return 0;
}

void
buf_consume(struct buf *b, size_t len)
{
	if (b->secret)
		explicit_bzero(b->data + b->rpos, len);
	b->rpos += len;
	if (b->rpos == b->wpos)
		b->rpos = b->wpos = 0;
}

/* Give memory back when the buffer is empty and larger than `keep'. */
void
buf_shrink(struct buf *b, size_t keep)
{
	if (b->rpos != b->wpos || b->size <= keep)
		return;
	buf_release(b, b->data, b->size);
	b->data = NULL;
	b->size = b->rpos = b->wpos = 0;
}
