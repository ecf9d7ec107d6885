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

#ifndef BROKERD_ACL_H
#define BROKERD_ACL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Mosquitto's acl_file, with groups (acl.c): parsed from memory, accepted
 * whole or refused with "name:line: why", and compiled for one client
 * into the flat form of aclmatch.h.
 */

struct aclfile;

struct aclfile	*acl_parse(const char *, const char *, size_t, char *,
		    size_t);
void		 acl_free(struct aclfile *);
size_t		 acl_count(const struct aclfile *);
int		 acl_compile(const struct aclfile *, const char *, size_t,
		    const char *, size_t, uint8_t **, size_t *,
		    const char **);
void		 acl_word(const char **, size_t *, const char **, size_t *);
unsigned int	 acl_access(const char *, size_t);

#endif /* BROKERD_ACL_H */
