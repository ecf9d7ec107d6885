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
 * A throw-away PKI for the TLS tests, made by tests/pki/mkpki in a
 * temporary directory (BROKERD_SRCDIR, or the current directory, holds
 * the script), and its files read as the parent would send them.
 */

#ifndef PKI_H
#define PKI_H

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlsproxy.h"

static char	 pki_dir[64];

static int
pki_setup(void)
{
	const char	*src = getenv("BROKERD_SRCDIR");
	char		 cmd[512];

	strlcpy(pki_dir, "/tmp/brokerd-test-pki.XXXXXX", sizeof(pki_dir));
	if (mkdtemp(pki_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh %s/tests/pki/mkpki %s",
	    src != NULL ? src : ".", pki_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
pki_teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file of the PKI in memory; the caller frees p. */
static struct tls_pem
pki_pem(const char *name)
{
	struct tls_pem	 p = { NULL, 0 };
	struct stat	 st;
	char		 path[256];
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", pki_dir, name);
	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	p.len = st.st_size;
	p.p = malloc(p.len);
	assert_non_null(p.p);
	assert_int_equal(read(fd, p.p, p.len), (ssize_t)p.len);
	close(fd);
	return p;
}

#endif /* PKI_H */
