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
 * Text helpers of the file parsers and SCRAM: lines, blanks, `user:value'
 * lines, byte-string order, and base64 (RFC 4648, section 4: the
 * standard alphabet) as the password formats use it: `$6$' and `$7$'
 * padded, the PHC strings of argon2 without padding, SCRAM as it comes.
 * The base64 decoder takes padding or none, nothing else (no white
 * space), and refuses encodings that are not the canonical one (stray
 * bits in the last character).
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "text.h"

void
lines_init(struct lines *ls, const char *buf, size_t len)
{
	ls->p = buf;
	ls->end = buf + len;
	ls->no = 0;
}

/*
 * The next line, without its newline or a CR before it: 1, or 0 at the
 * end, or -1 if the line holds a NUL byte.
 */
int
lines_next(struct lines *ls, const char **line, size_t *len)
{
	const char	*nl;

	if (ls->p == NULL || ls->p >= ls->end)
		return 0;
	ls->no++;
	if ((nl = memchr(ls->p, '\n', ls->end - ls->p)) == NULL)
		nl = ls->end;
	*line = ls->p;
	*len = nl - ls->p;
	ls->p = nl == ls->end ? NULL : nl + 1;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return memchr(*line, '\0', *len) == NULL ? 1 : -1;
}

/* Spaces and tabs off both ends. */
void
trim_blanks(const char **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * A `user:value' line of a password or credential file: 1 with both
 * parts, blanks trimmed; 0 for a blank line or a comment; -1 if there
 * is no `:'.
 */
int
userline_split(const char *line, size_t len, const char **user,
    size_t *ulen, const char **val, size_t *vlen)
{
	const char	*colon;

	trim_blanks(&line, &len);
	if (len == 0 || line[0] == '#')
		return 0;
	if ((colon = memchr(line, ':', len)) == NULL)
		return -1;
	*user = line;
	*ulen = colon - line;
	trim_blanks(user, ulen);
	*val = colon + 1;
	*vlen = line + len - *val;
	trim_blanks(val, vlen);
	return 1;
}

/*
 * The next entry of a `user:value' file, skipping blank lines and
 * comments: 1 with its parts, 0 at the end, -1 and why for a line that
 * is none of these.
 */
int
userfile_next(struct lines *ls, const char **user, size_t *ulen,
    const char **val, size_t *vlen, const char **why)
{
	const char	*line;
	size_t		 llen;
	int		 r;

	while ((r = lines_next(ls, &line, &llen)) != 0) {
		if (r == -1)
			*why = "NUL byte";
		else if ((r = userline_split(line, llen, user, ulen, val,
		    vlen)) == 0)
			continue;
		else if (r == -1)
			*why = "no ':' after the user name";
		else if (*ulen == 0)
			*why = "empty user name";
		else if (*ulen > 65535)
			*why = "user name too long";
		else
			return 1;
		return -1;
	}
	return 0;
}

static const char	 b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes len bytes into out (NUL-terminated); its length, or 0. */
size_t
b64_encode(const uint8_t *in, size_t len, char *out, size_t outsz, int pad)
{
	size_t		 i, o = 0, need;
	uint32_t	 v;

	need = len / 3 * 4 + (len % 3 == 0 ? 0 : pad ? 4 : len % 3 + 1);
	if (need >= outsz)
		return 0;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 0x3f];
		out[o++] = b64[(v >> 6) & 0x3f];
		out[o++] = b64[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 0x3f];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 0x3f];
		out[o++] = b64[(v >> 6) & 0x3f];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes len characters into at most outsz bytes: 0 and the length in
 * *outlen, or -1 if the input is not canonical base64 or does not fit.
 */
int
b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t		 i, n, o = 0, rest;
	uint32_t	 v = 0;
	int		 d;

	/* Padding, if any, completes the last group of four. */
	n = len;
	if (n > 0 && in[n - 1] == '=') {
		if (n % 4 != 0)
			return -1;
		n--;
		if (in[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return -1;
	rest = n % 4;
	if (n / 4 * 3 + (rest == 0 ? 0 : rest - 1) > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = b64_value(in[i])) == -1)
			return -1;
		v = v << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[o++] = v >> 16;
			out[o++] = v >> 8;
			out[o++] = v;
			v = 0;
		}
	}
	if (rest == 2) {
		if (v & 0x0f)
			return -1;
		out[o++] = v >> 4;
	} else if (rest == 3) {
		if (v & 0x03)
			return -1;
		out[o++] = v >> 10;
		out[o++] = v >> 2;
	}
	*outlen = o;
	return 0;
}
