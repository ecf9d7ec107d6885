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

#ifndef BROKERD_PASSWD_H
#define BROKERD_PASSWD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Mosquitto's password files (passwd.c): parsed from memory, as authd
 * gets them, and verified; new hashes for brokerctl passwd.  A file is
 * accepted whole or refused with "name:line: why".
 */

enum pw_kind {
	PW_SHA512,		/* $6$: one SHA-512 of password and salt */
	PW_PBKDF2,		/* $7$: PBKDF2-HMAC-SHA512 */
	PW_ARGON2ID		/* $argon2id$v=19$... (PHC string) */
};

#define PW_MAXSALT	128
#define PW_MAXHASH	128
#define PW_MAXPASS	65535
#define PW_MAXENCODED	512

/* Defaults for new entries. */
#define PW_ARGON2_M	19456		/* KiB */
#define PW_ARGON2_T	2
#define PW_ARGON2_P	1
#define PW_ARGON2_SALT	16
#define PW_ARGON2_HASH	32
#define PW_PBKDF2_ITER	50000
#define PW_PBKDF2_SALT	12

struct pw_hash {
	enum pw_kind	 kind;
	uint32_t	 iter;		/* $7$ iterations, argon2 t */
	uint32_t	 mem;		/* argon2 m, KiB */
	uint32_t	 lanes;		/* argon2 p */
	size_t		 saltlen;
	size_t		 hashlen;
	uint8_t		 salt[PW_MAXSALT];
	uint8_t		 hash[PW_MAXHASH];
};

struct pwfile;

struct pwfile	*passwd_parse(const char *, const char *, size_t, char *,
		    size_t);
void		 passwd_free(struct pwfile *);
size_t		 passwd_count(const struct pwfile *);
const struct pw_hash *passwd_lookup(const struct pwfile *, const char *,
		    size_t);
int		 passwd_check(const struct pwfile *, const char *, size_t,
		    const char *, size_t);
const struct pw_hash *passwd_dummy(const struct pwfile *);
int		 passwd_decode(struct pw_hash *, const char *, size_t,
		    const char **);
int		 passwd_verify(const struct pw_hash *, const char *, size_t);
int		 passwd_make(struct pw_hash *, enum pw_kind, uint32_t,
		    const char *, size_t);
int		 passwd_encode(const struct pw_hash *, char *, size_t);
int		 passwd_user_valid(const char *, size_t, const char **);

#endif /* BROKERD_PASSWD_H */
