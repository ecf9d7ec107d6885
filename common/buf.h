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

#ifndef BROKERD_BUF_H
#define BROKERD_BUF_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * A byte buffer with a read and a write position.  Unread bytes are
 * data[rpos, wpos); free space is data[wpos, size).  It grows on demand
 * up to `max' bytes (0: no limit, which is 4 GiB) and gives memory back
 * when it empties.  Small, because every connection has two.  A
 * `secret' buffer (one that may hold a password) leaves no copy behind:
 * what it consumes, moves or frees is wiped first.
 */
struct buf {
	unsigned char	*data;
	uint32_t	 size;
	uint32_t	 rpos;
	uint32_t	 wpos;
	uint32_t	 max;
	uint8_t		 secret;
};

#define BUF_LIMIT	UINT32_MAX

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
void	*buf_reserve(struct buf *, size_t);
void	*buf_reserve_exact(struct buf *, size_t);
void	 buf_commit(struct buf *, size_t);
int	 buf_add(struct buf *, const void *, size_t);
void	 buf_consume(struct buf *, size_t);
void	 buf_shrink(struct buf *, size_t);
void	 buf_secret(struct buf *, int);

static inline size_t
buf_len(const struct buf *b)
{
	return b->wpos - b->rpos;
}

static inline unsigned char *
buf_ptr(const struct buf *b)
{
	return b->data + b->rpos;
}

#endif /* BROKERD_BUF_H */
