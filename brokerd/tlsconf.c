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
 * The parent's half of TLS: it reads the certificate, key, CA and CRL
 * files of the listeners tlsproxy serves and sends their contents, over
 * a channel whose buffers are wiped, to tlsproxy, which parses them (the
 * parent links no OpenSSL).  Every copy the parent made is wiped once
 * sent, or once it failed: a private key lives in tlsproxy alone.  All
 * of a listener's files are read before any is sent, so that a file that
 * cannot be read leaves tlsproxy with the set it had.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

#define TLS_FILE_MAX		(4 * 1024 * 1024)	/* one file */
#define TLS_BUNDLE_MAX		(8 * 1024 * 1024)	/* a CA directory */
#define TLS_KEYPAIRS_MAX	64

/* One file's contents, to be sent as IPC_TLS_PEM. */
struct tlsfile {
	enum tls_pem_kind what;
	uint8_t		*p;
	size_t		 len;
	size_t		 size;		/* of the allocation */
};

struct tlsfiles {
	struct tlsfile	 f[2 * TLS_KEYPAIRS_MAX + 4];
	size_t		 n;
};

static void
tlsfiles_wipe(struct tlsfiles *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		freezero(fs->f[i].p, fs->f[i].size);
	fs->n = 0;
}

/* Append the file at `path' to `f'; a key must be private to its owner. */
static int
tlsfile_add(struct tlsfile *f, const char *path, int key, size_t max,
    char *err, size_t errlen)
{
	struct stat	 st;
	uint8_t		*np;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (key && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: a key readable or writable by "
		    "group or others (mode %04o)", path,
		    (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	if (key && st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: a key owned by uid %u", path,
		    (unsigned int)st.st_uid);
		goto fail;
	}
	if (st.st_size <= 0 || (size_t)st.st_size > max - f->len - 1) {
		snprintf(err, errlen, "%s: %s", path, st.st_size <= 0 ?
		    "empty" : "too large");
		goto fail;
	}
	/* A new block, never realloc: no copy of a key left behind. */
	if ((np = malloc(f->len + st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (f->p != NULL) {
		memcpy(np, f->p, f->len);
		freezero(f->p, f->size);
	}
	f->p = np;
	f->size = f->len + st.st_size + 1;
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, f->p + f->len + got,
		    st.st_size - got)) <= 0) {
			snprintf(err, errlen, "%s: %s", path, n == 0 ?
			    "shorter than it was" : strerror(errno));
			goto fail;
		}
		got += n;
	}
	f->len += got;
	/* Bundles are concatenated: end each file with a line end. */
	f->p[f->len++] = '\n';
	close(fd);
	return 0;
 fail:
	close(fd);
	return -1;
}

static int
tlsfiles_add(struct tlsfiles *fs, enum tls_pem_kind what, const char *path,
    char *err, size_t errlen)
{
	struct tlsfile	*f;

	if (fs->n == sizeof(fs->f) / sizeof(fs->f[0])) {
		snprintf(err, errlen, "too many files");
		return -1;
	}
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->what = what;
	return tlsfile_add(f, path, what == TLS_PEM_KEY, TLS_FILE_MAX, err,
	    errlen);
}

static int
tlsfiles_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in `dir' ending in `suffix' (without it), sorted; at most
 * `max'.  Returns how many, or -1.
 */
static int
tlsfiles_list(const char *dir, const char *suffix, char **names, int max,
    char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len, slen = strlen(suffix);
	int		 n = 0;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= slen ||
		    strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		if (n == max) {
			snprintf(err, errlen, "%s: more than %d files", dir,
			    max);
			goto fail;
		}
		if ((names[n] = strndup(de->d_name, len - slen)) == NULL) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto fail;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), tlsfiles_strcmp);
	return n;
 fail:
	while (n > 0)
		free(names[--n]);
	closedir(d);
	return -1;
}

/* NAME.crt and NAME.key for each NAME.crt in `dir'. */
static int
tlsfiles_keypairs(struct tlsfiles *fs, const char *dir, char *err,
    size_t errlen)
{
	char	*names[TLS_KEYPAIRS_MAX], path[PATH_MAX];
	int	 n, i, rc = 0;

	if ((n = tlsfiles_list(dir, ".crt", names, TLS_KEYPAIRS_MAX, err,
	    errlen)) == -1)
		return -1;
	if (n == 0) {
		snprintf(err, errlen, "%s: no NAME.crt in it", dir);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s.crt", dir, names[i]);
		rc = tlsfiles_add(fs, TLS_PEM_CERT, path, err, errlen);
		snprintf(path, sizeof(path), "%s/%s.key", dir, names[i]);
		if (rc == 0)
			rc = tlsfiles_add(fs, TLS_PEM_KEY, path, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* A CA file, or a directory whose regular files make one bundle. */
static int
tlsfiles_ca(struct tlsfiles *fs, const char *path, char *err, size_t errlen)
{
	struct tlsfile	*f;
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 fpath[PATH_MAX];
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return tlsfiles_add(fs, TLS_PEM_CA, path, err, errlen);
	if (fs->n == sizeof(fs->f) / sizeof(fs->f[0])) {
		snprintf(err, errlen, "too many files");
		return -1;
	}
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->what = TLS_PEM_CA;
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(fpath, sizeof(fpath), "%s/%s", path, de->d_name);
		if (stat(fpath, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		rc = tlsfile_add(f, fpath, 0, TLS_BUNDLE_MAX, err, errlen);
	}
	closedir(d);
	if (rc == 0 && f->len == 0) {
		snprintf(err, errlen, "%s: no file in it", path);
		rc = -1;
	}
	return rc;
}

/* Every file of listener `l', read; -1 with why in `err'. */
static int
tlsfiles_read(struct tlsfiles *fs, const struct listener_conf *l,
    char *err, size_t errlen)
{
	const struct listener_opts	*o = &l->o;

	fs->n = 0;
	if (!o->tls)
		return 0;
	if (o->certificate[0] != '\0' &&
	    (tlsfiles_add(fs, TLS_PEM_CERT, o->certificate, err,
	    errlen) == -1 ||
	    tlsfiles_add(fs, TLS_PEM_KEY, o->key, err, errlen) == -1))
		goto fail;
	if (o->keypairs[0] != '\0' &&
	    tlsfiles_keypairs(fs, o->keypairs, err, errlen) == -1)
		goto fail;
	if (o->ca[0] != '\0' && tlsfiles_ca(fs, o->ca, err, errlen) == -1)
		goto fail;
	if (o->crl[0] != '\0' &&
	    tlsfiles_add(fs, TLS_PEM_CRL, o->crl, err, errlen) == -1)
		goto fail;
	return 0;
 fail:
	tlsfiles_wipe(fs);
	return -1;
}

/*
 * Read every TLS file of every listener, as at start, and say what is
 * wrong: for brokerd -n and before brokerd detaches.  Returns how many
 * listeners have a problem.
 */
int
tlsconf_check(const struct brokerd_conf *conf)
{
	static struct tlsfiles		 fs;
	const struct listener_conf	*l;
	char				 err[PATH_MAX + 128];
	int				 bad = 0;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (tlsfiles_read(&fs, l, err, sizeof(err)) == -1) {
			log_warnx("listener %s: %s", listener_name(l), err);
			bad++;
		}
		tlsfiles_wipe(&fs);
	}
	return bad;
}

/*
 * Send tlsproxy listener `l''s files and IPC_TLS_LOAD with its options.
 * If a file cannot be read nothing is sent and -1 says why: tlsproxy
 * keeps the set it has.
 */
int
tlsconf_send(struct ipc_chan *chan, const struct listener_conf *l, char *err,
    size_t errlen)
{
	static struct tlsfiles	 fs;
	size_t			 i;

	if (tlsfiles_read(&fs, l, err, errlen) == -1)
		return -1;
	for (i = 0; i < fs.n; i++) {
		ipc_begin(chan, IPC_TLS_PEM, 0, 3);
		ipc_put_uint(chan, l->id);
		ipc_put_uint(chan, fs.f[i].what);
		ipc_put_bin(chan, fs.f[i].p, fs.f[i].len);
		ipc_end(chan, -1);
	}
	tlsfiles_wipe(&fs);
	ipc_begin(chan, IPC_TLS_LOAD, 0, 2);
	ipc_put_uint(chan, l->id);
	ipc_put_bin(chan, &l->o, sizeof(l->o));
	ipc_end(chan, -1);
	return 0;
}

/* IPC_TLS_LISTENER for each listener tlsproxy serves, with its socket. */
void
tlsconf_send_listeners(struct ipc_chan *chan, const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (!LISTENER_RELAYED(&l->o))
			continue;
		ipc_begin(chan, IPC_TLS_LISTENER, 0, 3);
		ipc_put_uint(chan, l->id);
		ipc_put_str(chan, listener_name(l));
		ipc_put_bin(chan, &l->o, sizeof(l->o));
		ipc_end(chan, l->fd);
	}
}

/*
 * At start and at every reload: the files of every listener tlsproxy
 * serves.  At start a file that cannot be read is fatal; at a reload the
 * listener keeps what it had.  Returns how many failed.
 */
int
tlsconf_send_all(struct ipc_chan *chan, const struct brokerd_conf *conf,
    int reload)
{
	const struct listener_conf	*l;
	char				 err[PATH_MAX + 128];
	int				 bad = 0;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (!LISTENER_RELAYED(&l->o))
			continue;
		if (tlsconf_send(chan, l, err, sizeof(err)) == 0)
			continue;
		if (!reload)
			fatalx("listener %s: %s", listener_name(l), err);
		log_warnx("listener %s: %s; it keeps its running "
		    "certificates", listener_name(l), err);
		bad++;
	}
	return bad;
}
