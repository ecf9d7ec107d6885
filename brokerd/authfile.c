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
 * The files of authd (password files, ACL files), which authd cannot
 * open: the parent reads each one the listeners name, refuses it unless
 * it is a regular file owned by root or by brokerd's user that group and
 * others may neither read nor write, checks it with the parser authd
 * uses (so that an error stops brokerd before it starts, or keeps the
 * running configuration at a reload, with "file:line: why"), sends the
 * contents and wipes its copy.  Nothing of a file stays in the parent
 * once it is sent.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "brokerd.h"
#include "log.h"
#include "passwd.h"
#include "scram.h"

static struct authfile *
authfile_find(struct authfile_list *files, int kind, const char *path)
{
	struct authfile	*f;

	TAILQ_FOREACH(f, files, entry)
		if (f->kind == kind && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* Reads one file whole into f: 0, or -1 with why. */
static int
authfile_read(struct authfile *f, const char **why)
{
	struct stat	 st;
	uint8_t		*nb;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		*why = "owned by neither root nor brokerd's user";
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO) & ~(S_IXGRP | S_IXOTH)) {
		*why = "group or others may read or write it (chmod 600)";
		goto fail;
	}
	if (st.st_size > AUTH_FILE_MAX) {
		*why = "too large";
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if ((f->buf = malloc(cap)) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	for (;;) {
		if (f->len == cap) {
			if (cap > AUTH_FILE_MAX) {
				*why = "too large";
				goto fail;
			}
			if ((nb = malloc(cap * 2)) == NULL) {
				*why = "out of memory";
				goto fail;
			}
			memcpy(nb, f->buf, f->len);
			freezero(f->buf, cap);
			f->buf = nb;
			cap *= 2;
		}
		if ((n = read(fd, f->buf + f->len, cap - f->len)) == -1) {
			if (errno == EINTR)
				continue;
			*why = strerror(errno);
			goto fail;
		}
		if (n == 0)
			break;
		f->len += n;
	}
	f->cap = cap;
	close(fd);
	return 0;
 fail:
	saved = errno;
	close(fd);
	if (f->buf != NULL)
		freezero(f->buf, cap);
	f->buf = NULL;
	f->len = 0;
	errno = saved;
	return -1;
}

/* Parses f as authd will, and forgets the result: 0, or -1 with err. */
static int
authfile_check(const struct authfile *f, char *err, size_t errlen)
{
	struct pwfile		*pf;
	struct aclfile		*af;
	struct scramfile	*sf;

	if (f->kind == AUTH_FILE_PASSWD) {
		if ((pf = passwd_parse(f->path, (const char *)f->buf, f->len,
		    err, errlen)) == NULL)
			return -1;
		passwd_free(pf);
	} else if (f->kind == AUTH_FILE_SCRAM) {
		if ((sf = scram_file_parse(f->path, (const char *)f->buf,
		    f->len, err, errlen)) == NULL)
			return -1;
		scram_file_free(sf);
	} else {
		if ((af = acl_parse(f->path, (const char *)f->buf, f->len,
		    err, errlen)) == NULL)
			return -1;
		acl_free(af);
	}
	return 0;
}

static int
authfile_add(struct authfile_list *files, int kind, const char *path)
{
	struct authfile	*f;
	const char	*why;
	char		 err[PATH_MAX + 256];

	if (path[0] == '\0' || authfile_find(files, kind, path) != NULL)
		return 0;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal(NULL);
	f->kind = kind;
	if (strlcpy(f->path, path, sizeof(f->path)) >= sizeof(f->path))
		fatalx("%s: path too long", __func__);
	TAILQ_INSERT_TAIL(files, f, entry);
	if (authfile_read(f, &why) == -1) {
		log_warnx("%s %s: %s", kind == AUTH_FILE_PASSWD ?
		    "password file" : kind == AUTH_FILE_SCRAM ? "scram file" :
		    "acl file", path, why);
		return -1;
	}
	if (authfile_check(f, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/*
 * Reads and checks every file the listeners of conf name into files.
 * -1 if any is missing, unsafe or wrong (each logged); files then holds
 * what was read, for authfile_free().
 */
int
authfile_load(const struct brokerd_conf *conf, struct authfile_list *files)
{
	const struct listener_conf	*l;
	int				 rc = 0;

	TAILQ_INIT(files);
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (authfile_add(files, AUTH_FILE_PASSWD,
		    l->o.password_file) == -1)
			rc = -1;
		if (authfile_add(files, AUTH_FILE_ACL, l->o.acl_file) == -1)
			rc = -1;
		if (authfile_add(files, AUTH_FILE_SCRAM,
		    l->o.scram_file) == -1)
			rc = -1;
	}
	return rc;
}

/* Wipes and frees what authfile_load() read. */
void
authfile_free(struct authfile_list *files)
{
	struct authfile	*f;

	while ((f = TAILQ_FIRST(files)) != NULL) {
		TAILQ_REMOVE(files, f, entry);
		if (f->buf != NULL)
			freezero(f->buf, f->cap);
		free(f);
	}
}

/*
 * Gives authd the files, the listeners of conf and a commit that makes
 * them replace what it had; the files are wiped here as they go.  authd
 * answers IPC_AUTH_COMMITTED with `id'.
 */
void
authfile_send(struct ipc_chan *chan, const struct brokerd_conf *conf,
    struct authfile_list *files, uint32_t id)
{
	struct authfile	*f;

	TAILQ_FOREACH(f, files, entry) {
		ipc_begin(chan, IPC_AUTH_FILE, 0, 3);
		ipc_put_uint(chan, f->kind);
		ipc_put_str(chan, f->path);
		ipc_put_bin(chan, f->buf, f->len);
		ipc_end(chan, -1);
	}
	authfile_free(files);
	config_send_auth(chan, conf);
	ipc_send(chan, IPC_AUTH_COMMIT, id, -1);
}
