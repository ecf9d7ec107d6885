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

#ifndef BROKERD_AUTHD_H
#define BROKERD_AUTHD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * authd's modules.  The file parsers (here and in common/: passwd.h,
 * scram.h) take a file's contents from memory (authd has no file
 * system; the parent reads the files) and either accept all of it or
 * refuse it with "name:line: why" in err.
 */

/* acl.c: Mosquitto's acl_file, with groups. */
struct aclfile;

struct aclfile	*acl_parse(const char *, const char *, size_t, char *,
		    size_t);
void		 acl_free(struct aclfile *);
size_t		 acl_count(const struct aclfile *);
int		 acl_compile(const struct aclfile *, const char *, size_t,
		    const char *, size_t, uint8_t **, size_t *,
		    const char **);

#endif /* BROKERD_AUTHD_H */
