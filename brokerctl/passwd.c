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
 * brokerctl passwd: password and SCRAM credential files, offline, as
 * mosquitto_passwd manages Mosquitto's.
 *
 *	brokerctl passwd [-bcD] [-i iterations] [-m method] file user [password]
 *
 * The file is read whole and must be valid as authd would read it; the
 * user's line is replaced where it stands (or added at the end, or
 * removed with -D), every other line kept as it is, the result checked
 * again and written to a temporary file beside it, synced and renamed
 * over it.  A file that group or others may read or write is refused,
 * a new one is made mode 0600, an existing one keeps its mode and owner.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <readpassphrase.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerctl.h"
#include "ipc.h"
#include "passwd.h"
#include "scram.h"
#include "text.h"

#define FILE_MAX	(64U << 20)

enum method {
	M_ARGON2ID,
	M_PBKDF2,
	M_SCRAM256,
	M_SCRAM512,
	M_SCRAM
};

static const struct {
	const char	*name;
	enum method	 m;
} methods[] = {
	{ "argon2id", M_ARGON2ID },
	{ "sha512-pbkdf2", M_PBKDF2 },
	{ "scram-sha-256", M_SCRAM256 },
	{ "scram-sha-512", M_SCRAM512 },
	{ "scram", M_SCRAM },
};

static __dead void
passwd_usage(void)
{
	fprintf(stderr, "usage: brokerctl passwd [-bcD] [-i iterations] "
	    "[-m method] file user [password]\n"
	    "methods: argon2id (default), sha512-pbkdf2, scram-sha-256, "
	    "scram-sha-512, scram\n");
	exit(1);
}

/*
 * Reads a password or ACL file whole: 0, or -1 if it does not exist.
 * Exits if it cannot be read (3 if that is a permission) or is unsafe.
 */
int
file_read(const char *path, struct text *t, struct stat *st)
{
	char	*nb;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return -1;
		err(errno == EACCES || errno == EPERM ? CTL_EXIT_DENIED :
		    CTL_EXIT_FAILED, "%s", path);
	}
	if (fstat(fd, st) == -1)
		err(1, "%s", path);
	if (!S_ISREG(st->st_mode))
		errx(1, "%s: not a regular file", path);
	if (st->st_mode & 077)
		errx(1, "%s: group or others may read or write it; "
		    "chmod 600 it first", path);
	if ((size_t)st->st_size > FILE_MAX)
		errx(1, "%s: too large", path);
	t->cap = (size_t)st->st_size + 4096;
	if ((t->buf = malloc(t->cap)) == NULL)
		err(1, NULL);
	t->len = 0;
	for (;;) {
		if (t->len + 1 == t->cap) {
			if (t->cap > FILE_MAX)
				errx(1, "%s: too large", path);
			if ((nb = malloc(t->cap * 2)) == NULL)
				err(1, NULL);
			memcpy(nb, t->buf, t->len);
			freezero(t->buf, t->cap);
			t->buf = nb;
			t->cap *= 2;
		}
		if ((n = read(fd, t->buf + t->len, t->cap - t->len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s", path);
		}
		if (n == 0)
			break;
		t->len += n;
	}
	t->buf[t->len] = '\0';
	close(fd);
	return 0;
}

static void
check_contents(const char *path, const struct text *t, int scram)
{
	char	 e[512];

	if (scram) {
		struct scramfile	*sf;

		if ((sf = scram_file_parse(path, t->buf, t->len, e,
		    sizeof(e))) == NULL)
			errx(1, "%s", e);
		scram_file_free(sf);
	} else {
		struct pwfile		*pf;

		if ((pf = passwd_parse(path, t->buf, t->len, e,
		    sizeof(e))) == NULL)
			errx(1, "%s", e);
		passwd_free(pf);
	}
}

static void
get_password(char *pw, size_t size)
{
	char	 again[PW_MAXPASS + 1];

	if (readpassphrase("Password: ", pw, size, RPP_REQUIRE_TTY) == NULL)
		errx(1, "cannot read a password without a terminal (-b)");
	if (readpassphrase("Reenter password: ", again, sizeof(again),
	    RPP_REQUIRE_TTY) == NULL)
		errx(1, "cannot read a password without a terminal (-b)");
	if (strcmp(pw, again) != 0) {
		explicit_bzero(again, sizeof(again));
		explicit_bzero(pw, size);
		errx(1, "passwords do not match");
	}
	explicit_bzero(again, sizeof(again));
}

static void
add_line(struct text *t, const char *user, const char *enc, int n)
{
	text_add(t, user, strlen(user));
	text_add(t, ":", 1);
	text_add(t, enc, n);
	text_add(t, "\n", 1);
}

/* The new line(s) for the user. */
static void
new_lines(struct text *t, enum method m, uint32_t iter, const char *user,
    const char *pw)
{
	struct pw_hash		 h;
	struct scram_cred	 c;
	char			 enc[SCRAM_MAXCRED + PW_MAXENCODED];
	uint8_t			 salt[SCRAM_SALT];
	enum scram_mech		 mech;
	int			 i, n;

	if (m == M_ARGON2ID || m == M_PBKDF2) {
		if (passwd_make(&h, m == M_PBKDF2 ? PW_PBKDF2 : PW_ARGON2ID,
		    iter, pw, strlen(pw)) == -1 ||
		    (n = passwd_encode(&h, enc, sizeof(enc))) == -1)
			errx(1, "cannot hash the password");
		add_line(t, user, enc, n);
		explicit_bzero(&h, sizeof(h));
		explicit_bzero(enc, sizeof(enc));
		return;
	}
	for (i = 0; i < 2; i++) {
		mech = i == 0 ? SCRAM_SHA256 : SCRAM_SHA512;
		if ((m == M_SCRAM256 && mech != SCRAM_SHA256) ||
		    (m == M_SCRAM512 && mech != SCRAM_SHA512))
			continue;
		arc4random_buf(salt, sizeof(salt));
		if (scram_make_cred(&c, mech, pw, strlen(pw), salt,
		    sizeof(salt), iter != 0 ? iter : SCRAM_ITER) == -1 ||
		    (n = scram_cred_encode(&c, enc, sizeof(enc))) == -1)
			errx(1, "cannot derive the SCRAM keys");
		add_line(t, user, enc, n);
		explicit_bzero(&c, sizeof(c));
		explicit_bzero(enc, sizeof(enc));
	}
}

/*
 * The encoded hash of a password for a password file (brokerctl user):
 * method "argon2id" or "sha512-pbkdf2", iterations 0 for the default.
 * -1 for another method.
 */
int
passwd_entry(struct text *t, const char *method, uint32_t iter,
    const char *pw)
{
	struct pw_hash	 h;
	char		 enc[PW_MAXENCODED];
	enum pw_kind	 kind;
	int		 n;

	if (strcmp(method, "argon2id") == 0)
		kind = PW_ARGON2ID;
	else if (strcmp(method, "sha512-pbkdf2") == 0)
		kind = PW_PBKDF2;
	else
		return -1;
	if (kind == PW_ARGON2ID && iter > 1000)
		errx(CTL_EXIT_FAILED, "argon2id takes at most 1000 passes (-i)");
	if (passwd_make(&h, kind, iter, pw, strlen(pw)) == -1 ||
	    (n = passwd_encode(&h, enc, sizeof(enc))) == -1)
		errx(CTL_EXIT_FAILED, "cannot hash the password");
	text_add(t, enc, n);
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(enc, sizeof(enc));
	return 0;
}

/*
 * A new password: asked twice on the terminal, or one line of the
 * standard input when that is not a terminal (scripts).
 */
void
passwd_read(char *pw, size_t size)
{
	if (isatty(STDIN_FILENO)) {
		get_password(pw, size);
		return;
	}
	if (readpassphrase("", pw, size, RPP_STDIN) == NULL)
		errx(CTL_EXIT_FAILED, "cannot read the password");
}

/* Is this line one of the user's that the new lines replace? */
static int
replaces(const char *line, size_t len, const char *user, enum method m,
    int scram)
{
	struct scram_cred	 c;
	const char		*u, *v;
	size_t			 ulen, vlen;
	int			 r;

	if (userline_split(line, len, &u, &ulen, &v, &vlen) != 1 ||
	    bytes_cmp(u, ulen, user, strlen(user)) != 0)
		return 0;
	if (!scram || m == M_SCRAM)
		return 1;
	r = scram_cred_decode(&c, v, vlen, NULL) == 0 &&
	    c.mech == (m == M_SCRAM256 ? SCRAM_SHA256 : SCRAM_SHA512);
	explicit_bzero(&c, sizeof(c));
	return r;
}

/*
 * Replaces the file with t: a temporary file beside it with the old one's
 * mode and owner (or 0600), synced, renamed over it.  Exits on failure,
 * the file as it was.
 */
void
file_write(const char *path, const struct text *t, const struct stat *old)
{
	char	*tmp, *dcopy;
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, dfd;

	if (asprintf(&tmp, "%s.XXXXXX", path) == -1)
		err(1, NULL);
	if ((fd = mkstemp(tmp)) == -1)
		err(errno == EACCES || errno == EPERM ? CTL_EXIT_DENIED :
		    CTL_EXIT_FAILED, "%s", tmp);
	if (old != NULL) {
		if (fchown(fd, old->st_uid, old->st_gid) == -1 &&
		    errno != EPERM)
			goto fail;
		if (fchmod(fd, old->st_mode & 0700) == -1)
			goto fail;
	} else if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < t->len) {
		if ((n = write(fd, t->buf + off, t->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((dcopy = strdup(path)) == NULL)
		err(1, NULL);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	return;
 fail:
	warn("%s", path);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	exit(1);
}

int
brokerctl_passwd(int argc, char *argv[])
{
	struct text	 in = { 0 }, out = { 0 }, add = { 0 };
	struct stat	 st;
	enum method	 m = M_ARGON2ID;
	const char	*path, *user, *why, *errstr, *p, *end, *nl;
	char		 pw[PW_MAXPASS + 1];
	uint32_t	 iter = 0;
	size_t		 i;
	int		 ch, batch = 0, create = 0, delete = 0, scram, exists;
	int		 found = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "bcDi:m:")) != -1) {
		switch (ch) {
		case 'b':
			batch = 1;
			break;
		case 'c':
			create = 1;
			break;
		case 'D':
			delete = 1;
			break;
		case 'i':
			iter = strtonum(optarg, 1, INT32_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "iterations %s: %s", optarg, errstr);
			break;
		case 'm':
			for (i = 0; i < sizeof(methods) / sizeof(methods[0]);
			    i++)
				if (strcmp(optarg, methods[i].name) == 0)
					break;
			if (i == sizeof(methods) / sizeof(methods[0]))
				passwd_usage();
			m = methods[i].m;
			break;
		default:
			passwd_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (batch && !delete ? 3 : 2) || (create && delete))
		passwd_usage();
	path = argv[0];
	user = argv[1];
	scram = m == M_SCRAM256 || m == M_SCRAM512 || m == M_SCRAM;
	if (iter != 0 && m == M_ARGON2ID && iter > 1000)
		errx(1, "argon2id takes at most 1000 passes (-i)");
	if (iter != 0 && scram && iter < SCRAM_ITER)
		errx(1, "SCRAM needs at least %d iterations (RFC 7677)",
		    SCRAM_ITER);
	if (passwd_user_valid(user, strlen(user), &why) == -1)
		errx(1, "%s: %s", user, why);

	exists = !create && file_read(path, &in, &st) == 0;
	if (!create && !exists && delete)
		errx(1, "%s: no such file", path);
	if (!create && !exists)
		errx(1, "%s: no such file (-c creates it)", path);
	if (exists)
		check_contents(path, &in, scram);

	if (!delete) {
		if (batch) {
			if (strlcpy(pw, argv[2], sizeof(pw)) >= sizeof(pw))
				errx(1, "password too long");
			explicit_bzero(argv[2], strlen(argv[2]));
		} else
			get_password(pw, sizeof(pw));
		if (pw[0] == '\0')
			errx(1, "empty password");
		new_lines(&add, m, iter, user, pw);
		explicit_bzero(pw, sizeof(pw));
	}

	/* The file with the user's lines replaced, dropped or added. */
	p = in.buf;
	end = in.buf + in.len;
	while (p != NULL && p < end) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if (replaces(p, nl - p, user, m, scram)) {
			if (!found && add.len > 0)
				text_add(&out, add.buf, add.len);
			found = 1;
		} else {
			text_add(&out, p, nl - p);
			text_add(&out, "\n", 1);
		}
		p = nl + 1;
	}
	if (!found) {
		if (delete)
			errx(1, "%s: no user %s", path, user);
		text_add(&out, add.buf, add.len);
	}
	check_contents(path, &out, scram);
	file_write(path, &out, exists ? &st : NULL);
	text_free(&in);
	text_free(&out);
	text_free(&add);
	return 0;
}
