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
 * Mosquitto's password file, as mosquitto_passwd writes it: one
 * `user:hash' per line, the hash one of
 *	$6$salt$hash			SHA-512(password || salt)
 *	$7$iterations$salt$hash		PBKDF2-HMAC-SHA512
 *	$argon2id$v=19$m=M,t=T,p=P$salt$hash	(PHC string, Mosquitto 2.1)
 * with standard base64; $6$ and $7$ salts are 12 or 64 bytes and their
 * hashes 64, as Mosquitto requires.  Blank lines and lines starting with
 * `#' are skipped; blanks around the user name and the hash are not
 * part of them.
 *
 * Unlike Mosquitto, which skips the lines it cannot read, any line that
 * is not one of those refuses the whole file (CVE-2018-12551: a line it
 * half-read became a user with an empty password), and so do empty
 * user names and duplicates.  A user without a hash cannot exist.
 *
 * Hashes are compared with CRYPTO_memcmp (constant time), everything
 * derived from a password is wiped, and the file's entries are wiped
 * when it is freed.  argon2 runs with one thread whatever its lanes, as
 * authd's sandbox allows no new threads.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mqtt.h"
#include "passwd.h"
#include "text.h"
#include "compat.h"

/* Bounds on the costs a file may ask of authd per verification. */
#define PBKDF2_MAX_ITER	10000000
#define ARGON2_MAX_M	(1U << 20)	/* KiB: 1 GiB */
#define ARGON2_MAX_T	1000
#define ARGON2_MAX_P	16

struct pw_entry {
	RB_ENTRY(pw_entry)	 entry;
	char			*user;
	size_t			 ulen;
	unsigned long		 line;
	struct pw_hash		 h;
};

static int
pw_entry_cmp(struct pw_entry *a, struct pw_entry *b)
{
	return bytes_cmp(a->user, a->ulen, b->user, b->ulen);
}

RB_HEAD(pw_tree, pw_entry);
RB_GENERATE_STATIC(pw_tree, pw_entry, entry, pw_entry_cmp);

struct pwfile {
	struct pw_tree		 users;
	size_t			 n;
	struct pw_hash		 dummy;		/* for unknown users */
};

/* A decimal number in [min, max], digits only. */
static int
decimal(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *v)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n < min || n > max)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* The next `$'-separated field; *p becomes NULL after the last one. */
static int
field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char	*q;

	if (*p == NULL)
		return -1;
	*f = *p;
	if ((q = memchr(*p, '$', end - *p)) == NULL) {
		*flen = end - *p;
		*p = NULL;
	} else {
		*flen = q - *p;
		*p = q + 1;
	}
	return 0;
}

static int
why_fail(const char **why, const char *w)
{
	*why = w;
	return -1;
}

static int
decode_sha(struct pw_hash *h, const char *p, const char *end,
    const char **why)
{
	const char	*f;
	size_t		 flen;

	if (h->kind == PW_PBKDF2) {
		if (field(&p, end, &f, &flen) == -1 ||
		    decimal(f, flen, 1, PBKDF2_MAX_ITER, &h->iter) == -1)
			return why_fail(why, "bad $7$ iteration count");
	}
	if (field(&p, end, &f, &flen) == -1 ||
	    b64_decode(f, flen, h->salt, sizeof(h->salt), &h->saltlen) == -1 ||
	    (h->saltlen != 12 && h->saltlen != 64))
		return why_fail(why, "bad salt (base64 of 12 or 64 bytes)");
	if (field(&p, end, &f, &flen) == -1 || p != NULL ||
	    b64_decode(f, flen, h->hash, sizeof(h->hash), &h->hashlen) == -1 ||
	    h->hashlen != 64)
		return why_fail(why, "bad hash (base64 of 64 bytes)");
	return 0;
}

/* v=19$m=M,t=T,p=P$salt$hash */
static int
decode_argon2(struct pw_hash *h, const char *p, const char *end,
    const char **why)
{
	const char	*f, *q;
	size_t		 flen;

	if (field(&p, end, &f, &flen) == -1 || flen != 4 ||
	    memcmp(f, "v=19", 4) != 0)
		return why_fail(why, "argon2id: not version 19");
	if (field(&p, end, &f, &flen) == -1 || flen < 2 ||
	    memcmp(f, "m=", 2) != 0 ||
	    (q = memchr(f, ',', flen)) == NULL ||
	    decimal(f + 2, q - f - 2, 1, ARGON2_MAX_M, &h->mem) == -1)
		return why_fail(why, "argon2id: bad m= (KiB, at most 1 GiB)");
	flen -= q + 1 - f;
	f = q + 1;
	if (flen < 2 || memcmp(f, "t=", 2) != 0 ||
	    (q = memchr(f, ',', flen)) == NULL ||
	    decimal(f + 2, q - f - 2, 1, ARGON2_MAX_T, &h->iter) == -1)
		return why_fail(why, "argon2id: bad t=");
	flen -= q + 1 - f;
	f = q + 1;
	if (flen < 2 || memcmp(f, "p=", 2) != 0 ||
	    decimal(f + 2, flen - 2, 1, ARGON2_MAX_P, &h->lanes) == -1)
		return why_fail(why, "argon2id: bad p= (1 to 16)");
	if (h->mem < 8 * h->lanes)
		return why_fail(why, "argon2id: m= below 8 KiB per lane");
	if (field(&p, end, &f, &flen) == -1 ||
	    b64_decode(f, flen, h->salt, sizeof(h->salt), &h->saltlen) == -1 ||
	    h->saltlen < ARGON2_MIN_SALT_LENGTH)
		return why_fail(why, "argon2id: bad salt");
	if (field(&p, end, &f, &flen) == -1 || p != NULL ||
	    b64_decode(f, flen, h->hash, sizeof(h->hash), &h->hashlen) == -1 ||
	    h->hashlen < ARGON2_MIN_OUTLEN)
		return why_fail(why, "argon2id: bad hash");
	return 0;
}

/* One hash string as it stands after `user:'. */
int
passwd_decode(struct pw_hash *h, const char *s, size_t len, const char **why)
{
	const char	*end = s + len;
	int		 rc;

	memset(h, 0, sizeof(*h));
	if (len > PW_MAXENCODED)
		rc = why_fail(why, "hash too long");
	else if (len >= 3 && memcmp(s, "$6$", 3) == 0) {
		h->kind = PW_SHA512;
		rc = decode_sha(h, s + 3, end, why);
	} else if (len >= 3 && memcmp(s, "$7$", 3) == 0) {
		h->kind = PW_PBKDF2;
		rc = decode_sha(h, s + 3, end, why);
	} else if (len >= 10 && memcmp(s, "$argon2id$", 10) == 0) {
		h->kind = PW_ARGON2ID;
		rc = decode_argon2(h, s + 10, end, why);
	} else if (len > 0 && s[0] == '$')
		rc = why_fail(why,
		    "unknown hash type (not $6$, $7$ or $argon2id$)");
	else
		rc = why_fail(why,
		    "not a hash (plain-text passwords are refused)");
	if (rc == -1)
		explicit_bzero(h, sizeof(*h));
	return rc;
}

int
passwd_encode(const struct pw_hash *h, char *out, size_t outsz)
{
	char	 salt[B64_LEN(PW_MAXSALT) + 1], hash[B64_LEN(PW_MAXHASH) + 1];
	int	 n, pad = h->kind != PW_ARGON2ID;

	if (b64_encode(h->salt, h->saltlen, salt, sizeof(salt), pad) == 0 ||
	    b64_encode(h->hash, h->hashlen, hash, sizeof(hash), pad) == 0)
		return -1;
	switch (h->kind) {
	case PW_SHA512:
		n = snprintf(out, outsz, "$6$%s$%s", salt, hash);
		break;
	case PW_PBKDF2:
		n = snprintf(out, outsz, "$7$%u$%s$%s", h->iter, salt, hash);
		break;
	case PW_ARGON2ID:
		n = snprintf(out, outsz, "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s",
		    h->mem, h->iter, h->lanes, salt, hash);
		break;
	default:
		return -1;
	}
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

/* The hash of a password under h's parameters into out (h->hashlen). */
static int
pw_compute(const struct pw_hash *h, const char *pw, size_t pwlen,
    uint8_t *out)
{
	argon2_context	 ctx;
	EVP_MD_CTX	*md;
	uint8_t		 salt[PW_MAXSALT], *copy;
	unsigned int	 mdlen;
	int		 rc = -1;

	if (pwlen > PW_MAXPASS)
		return -1;
	switch (h->kind) {
	case PW_SHA512:
		if ((md = EVP_MD_CTX_new()) == NULL)
			return -1;
		if (EVP_DigestInit_ex(md, EVP_sha512(), NULL) == 1 &&
		    EVP_DigestUpdate(md, pw, pwlen) == 1 &&
		    EVP_DigestUpdate(md, h->salt, h->saltlen) == 1 &&
		    EVP_DigestFinal_ex(md, out, &mdlen) == 1 && mdlen == 64)
			rc = 0;
		EVP_MD_CTX_free(md);
		return rc;
	case PW_PBKDF2:
		if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, h->salt, (int)h->saltlen,
		    (int)h->iter, EVP_sha512(), 64, out) != 1)
			return -1;
		return 0;
	case PW_ARGON2ID:
		/* argon2_context wants writable buffers. */
		if ((copy = malloc(pwlen + 1)) == NULL)
			return -1;
		memcpy(copy, pw, pwlen);
		memcpy(salt, h->salt, h->saltlen);
		memset(&ctx, 0, sizeof(ctx));
		ctx.out = out;
		ctx.outlen = h->hashlen;
		ctx.pwd = copy;
		ctx.pwdlen = pwlen;
		ctx.salt = salt;
		ctx.saltlen = h->saltlen;
		ctx.t_cost = h->iter;
		ctx.m_cost = h->mem;
		ctx.lanes = h->lanes;
		ctx.threads = 1;
		ctx.version = ARGON2_VERSION_13;
		ctx.flags = ARGON2_DEFAULT_FLAGS;
		rc = argon2_ctx(&ctx, Argon2_id) == ARGON2_OK ? 0 : -1;
		freezero(copy, pwlen + 1);
		explicit_bzero(&ctx, sizeof(ctx));
		return rc;
	}
	return -1;
}

/* Does the password match?  1, 0, or -1 if it could not be computed. */
int
passwd_verify(const struct pw_hash *h, const char *pw, size_t pwlen)
{
	uint8_t	 out[PW_MAXHASH];
	int	 rc;

	if (h->hashlen == 0 || h->hashlen > sizeof(out))
		return -1;
	if (pw_compute(h, pw, pwlen, out) == -1)
		rc = -1;
	else
		rc = CRYPTO_memcmp(out, h->hash, h->hashlen) == 0;
	explicit_bzero(out, sizeof(out));
	return rc;
}

/*
 * A new hash of a password with a random salt and the default
 * parameters of its kind; iter, if not 0, is the $7$ iteration count or
 * argon2's t.
 */
int
passwd_make(struct pw_hash *h, enum pw_kind kind, uint32_t iter,
    const char *pw, size_t pwlen)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	switch (kind) {
	case PW_SHA512:
		h->saltlen = 12;
		h->hashlen = 64;
		break;
	case PW_PBKDF2:
		h->iter = iter != 0 ? iter : PW_PBKDF2_ITER;
		if (h->iter > PBKDF2_MAX_ITER)
			return -1;
		h->saltlen = PW_PBKDF2_SALT;
		h->hashlen = 64;
		break;
	case PW_ARGON2ID:
		h->iter = iter != 0 ? iter : PW_ARGON2_T;
		if (h->iter > ARGON2_MAX_T)
			return -1;
		h->mem = PW_ARGON2_M;
		h->lanes = PW_ARGON2_P;
		h->saltlen = PW_ARGON2_SALT;
		h->hashlen = PW_ARGON2_HASH;
		break;
	default:
		return -1;
	}
	arc4random_buf(h->salt, h->saltlen);
	if (pw_compute(h, pw, pwlen, h->hash) == -1) {
		explicit_bzero(h, sizeof(*h));
		return -1;
	}
	return 0;
}

/* May a new entry have this user name?  0, or -1 and why. */
int
passwd_user_valid(const char *user, size_t len, const char **why)
{
	size_t	 i;

	if (len == 0)
		return why_fail(why, "empty user name");
	if (len > 65535)
		return why_fail(why, "user name too long");
	if (user[0] == ' ' || user[0] == '\t' || user[len - 1] == ' ' ||
	    user[len - 1] == '\t')
		return why_fail(why, "blanks around the user name");
	if (user[0] == '#')
		return why_fail(why, "a user name starting with '#'");
	for (i = 0; i < len; i++) {
		if (user[i] == ':')
			return why_fail(why, "':' in the user name");
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return why_fail(why, "control character in the name");
	}
	if (!mqtt_utf8_valid((const uint8_t *)user, len))
		return why_fail(why, "user name not UTF-8");
	return 0;
}

void
passwd_free(struct pwfile *pf)
{
	struct pw_entry	*e, *next;

	if (pf == NULL)
		return;
	RB_FOREACH_SAFE(e, pw_tree, &pf->users, next) {
		RB_REMOVE(pw_tree, &pf->users, e);
		freezero(e->user, e->ulen + 1);
		freezero(e, sizeof(*e));
	}
	freezero(pf, sizeof(*pf));
}

/*
 * Parses a password file's contents; `name' is for the messages.  NULL
 * with "name:line: why" in err if any line is wrong.
 */
struct pwfile *
passwd_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct lines	 ls;
	struct pwfile	*pf;
	struct pw_entry	*e = NULL, *old;
	const char	*user, *hash, *why;
	size_t		 ulen, hlen;
	int		 r;

	lines_init(&ls, buf, len);
	if ((pf = calloc(1, sizeof(*pf))) == NULL) {
		why = "out of memory";
		goto bad;
	}
	RB_INIT(&pf->users);
	while ((r = userfile_next(&ls, &user, &ulen, &hash, &hlen, &why)) !=
	    0) {
		if (r == -1)
			goto bad;
		if (memchr(hash, ':', hlen) != NULL)
			why = "':' in the hash";
		else if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->user = strndup(user, ulen)) == NULL)
			why = "out of memory";
		else
			why = NULL;
		if (why != NULL ||
		    passwd_decode(&e->h, hash, hlen, &why) == -1)
			goto bad;
		e->ulen = ulen;
		e->line = ls.no;
		if ((old = RB_INSERT(pw_tree, &pf->users, e)) != NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%lu: duplicate user "
				    "(first on line %lu)", name, ls.no,
				    old->line);
			goto fail;
		}
		if (pf->n++ == 0)
			pf->dummy = e->h;
		e = NULL;
	}
	/* Unknown users cost what the first user costs. */
	if (pf->n == 0) {
		pf->dummy.kind = PW_ARGON2ID;
		pf->dummy.iter = PW_ARGON2_T;
		pf->dummy.mem = PW_ARGON2_M;
		pf->dummy.lanes = PW_ARGON2_P;
		pf->dummy.saltlen = PW_ARGON2_SALT;
		pf->dummy.hashlen = PW_ARGON2_HASH;
	}
	arc4random_buf(pf->dummy.salt, pf->dummy.saltlen);
	arc4random_buf(pf->dummy.hash, pf->dummy.hashlen);
	return pf;

 bad:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s:%lu: %s", name, ls.no, why);
 fail:
	if (e != NULL) {
		free(e->user);
		freezero(e, sizeof(*e));
	}
	passwd_free(pf);
	return NULL;
}

size_t
passwd_count(const struct pwfile *pf)
{
	return pf->n;
}

const struct pw_hash *
passwd_lookup(const struct pwfile *pf, const char *user, size_t ulen)
{
	struct pw_entry	 key, *e;

	memset(&key, 0, sizeof(key));
	key.user = (char *)(uintptr_t)user;
	key.ulen = ulen;
	e = RB_FIND(pw_tree, (struct pw_tree *)(uintptr_t)&pf->users, &key);
	return e != NULL ? &e->h : NULL;
}

/*
 * What an unknown user's password is checked against, so that it costs
 * what a known one does (authd's workers verify it as any other).
 */
const struct pw_hash *
passwd_dummy(const struct pwfile *pf)
{
	return &pf->dummy;
}

/*
 * Is this the user's password?  1 or 0.  An unknown user costs one
 * verification all the same, so that timing does not tell who exists.
 */
int
passwd_check(const struct pwfile *pf, const char *user, size_t ulen,
    const char *pw, size_t pwlen)
{
	const struct pw_hash	*h;

	if ((h = passwd_lookup(pf, user, ulen)) == NULL) {
		(void)passwd_verify(&pf->dummy, pw, pwlen);
		return 0;
	}
	return passwd_verify(h, pw, pwlen) == 1;
}
