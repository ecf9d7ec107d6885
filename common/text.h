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

#ifndef BROKERD_TEXT_H
#define BROKERD_TEXT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Text helpers of the password, SCRAM and ACL file parsers. */

struct lines {
	const char	*p, *end;
	unsigned long	 no;		/* of the line last returned */
};

void	 lines_init(struct lines *, const char *, size_t);
int	 lines_next(struct lines *, const char **, size_t *);
void	 trim_blanks(const char **, size_t *);
int	 userline_split(const char *, size_t, const char **, size_t *,
	    const char **, size_t *);
int	 userfile_next(struct lines *, const char **, size_t *,
	    const char **, size_t *, const char **);
size_t	 b64_encode(const uint8_t *, size_t, char *, size_t, int);
int	 b64_decode(const char *, size_t, uint8_t *, size_t, size_t *);
#define B64_LEN(n)	(((n) + 2) / 3 * 4)

/* The order of byte strings: memcmp, then the shorter first. */
static inline int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 n = alen < blen ? alen : blen;
	int	 c;

	if (n > 0 && (c = memcmp(a, b, n)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

#endif /* BROKERD_TEXT_H */
