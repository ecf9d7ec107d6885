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
 * msgpack-c allocates from the sizes that containers claim: five bytes
 * announcing a map of 2^32 entries make it try to allocate tens of GiB.
 * So every frame is walked here first, without allocating and without
 * recursion, and only a frame that passes reaches msgpack_unpack():
 *  - every count fits in the bytes that are left (an element is at least
 *    one byte),
 *  - nesting is at most `max_depth' containers deep,
 *  - at most `max_objects' objects in all (bounds msgpack-c's zone),
 *  - no ext types and no 0xc1,
 *  - exactly one top-level array and no trailing bytes.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "ipc.h"

#define VALIDATE_MAX_DEPTH	32

static uint64_t
be_read(const unsigned char *p, size_t n)
{
	uint64_t	 v = 0;

	while (n-- > 0)
		v = (v << 8) | *p++;
	return v;
}

int
ipc_validate(const unsigned char *p, size_t len,
    const struct ipc_limits *lim, const char **why)
{
	uint64_t		 left[VALIDATE_MAX_DEPTH + 1];
	const unsigned char	*end = p + len;
	size_t			 objects = 0;
	unsigned int		 maxdepth;
	int			 depth = 0;

	maxdepth = lim->max_depth;
	if (maxdepth > VALIDATE_MAX_DEPTH)
		maxdepth = VALIDATE_MAX_DEPTH;
	if (len == 0) {
		*why = "empty payload";
		return -1;
	}
	if (!((*p >= 0x90 && *p <= 0x9f) || *p == 0xdc || *p == 0xdd)) {
		*why = "payload is not an array";
		return -1;
	}
	left[0] = 1;
	while (depth >= 0) {
		size_t		 hlen = 1;	/* type byte and its length */
		uint64_t	 skip = 0;	/* bytes after the header */
		uint64_t	 elems = 0;	/* objects inside a container */
		int		 container = 0;
		unsigned char	 c;

		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (p >= end) {
			*why = "truncated";
			return -1;
		}
		if (++objects > lim->max_objects) {
			*why = "too many objects";
			return -1;
		}
		c = *p;
		if (c <= 0x7f || c >= 0xe0 || (c >= 0xc0 && c <= 0xc3 &&
		    c != 0xc1))
			;
		else if (c >= 0x80 && c <= 0x8f) {
			elems = 2 * (uint64_t)(c & 0x0f);
			container = 1;
		} else if (c >= 0x90 && c <= 0x9f) {
			elems = c & 0x0f;
			container = 1;
		} else if (c >= 0xa0 && c <= 0xbf)
			skip = c & 0x1f;
		else {
			switch (c) {
			case 0xc4: case 0xd9:	/* bin8, str8 */
				hlen = 2;
				break;
			case 0xc5: case 0xda:	/* bin16, str16 */
				hlen = 3;
				break;
			case 0xc6: case 0xdb:	/* bin32, str32 */
				hlen = 5;
				break;
			case 0xca:
				skip = 4;
				break;
			case 0xcb:
				skip = 8;
				break;
			case 0xcc: case 0xd0:
				skip = 1;
				break;
			case 0xcd: case 0xd1:
				skip = 2;
				break;
			case 0xce: case 0xd2:
				skip = 4;
				break;
			case 0xcf: case 0xd3:
				skip = 8;
				break;
			case 0xdc: case 0xde:
				hlen = 3;
				container = 1;
				break;
			case 0xdd: case 0xdf:
				hlen = 5;
				container = 1;
				break;
			case 0xc7: case 0xc8: case 0xc9:
			case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
				*why = "ext type";
				return -1;
			default:
				*why = "reserved type byte";
				return -1;
			}
			if ((size_t)(end - p) < hlen) {
				*why = "truncated";
				return -1;
			}
			if (container) {
				elems = be_read(p + 1, hlen - 1);
				if (c == 0xde || c == 0xdf)
					elems *= 2;
			} else if (hlen > 1)
				skip = be_read(p + 1, hlen - 1);
		}
		p += hlen;
		if (skip > (uint64_t)(end - p)) {
			*why = "length larger than the bytes left";
			return -1;
		}
		p += skip;
		if (!container)
			continue;
		if (elems > (uint64_t)(end - p)) {
			*why = "count larger than the bytes left";
			return -1;
		}
		if ((unsigned int)depth + 1 > maxdepth) {
			*why = "nested too deep";
			return -1;
		}
		left[++depth] = elems;
	}
	if (p != end) {
		*why = "trailing bytes";
		return -1;
	}
	return 0;
}

/* Does an unpacked array match a schema string (see ipc.h)? */
int
ipc_check_schema(const msgpack_object *o, const char *fields,
    const char **why)
{
	size_t		 i, n = strlen(fields);

	if (o->type != MSGPACK_OBJECT_ARRAY) {
		*why = "not an array";
		return -1;
	}
	if (o->via.array.size != n) {
		*why = "wrong number of fields";
		return -1;
	}
	for (i = 0; i < n; i++) {
		msgpack_object_type	 t = o->via.array.ptr[i].type;
		int			 ok;

		switch (fields[i]) {
		case 'u':
			ok = t == MSGPACK_OBJECT_POSITIVE_INTEGER;
			break;
		case 'i':
			ok = t == MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    t == MSGPACK_OBJECT_NEGATIVE_INTEGER;
			break;
		case 's':
			ok = t == MSGPACK_OBJECT_STR;
			break;
		case 'b':
			ok = t == MSGPACK_OBJECT_BIN;
			break;
		case 't':
			ok = t == MSGPACK_OBJECT_BOOLEAN;
			break;
		case 'a':
			ok = t == MSGPACK_OBJECT_ARRAY;
			break;
		case 'm':
			ok = t == MSGPACK_OBJECT_MAP;
			break;
		case '*':
			ok = 1;
			break;
		default:
			ok = 0;
			break;
		}
		if (!ok) {
			*why = "field of the wrong type";
			return -1;
		}
	}
	return 0;
}
