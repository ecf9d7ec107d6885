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

#ifndef BROKERD_SCRAM_H
#define BROKERD_SCRAM_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "text.h"

/*
 * SCRAM-SHA-256 and SCRAM-SHA-512, the server's side (RFC 5802, RFC
 * 7677), and RFC 5803 credential files (scram.c).
 */

enum scram_mech {
	SCRAM_SHA256,
	SCRAM_SHA512
};

#define SCRAM_MAXKEY	64
#define SCRAM_MAXSALT	128
#define SCRAM_MAXUSER	512
#define SCRAM_MAXMSG	2048
#define SCRAM_MAXPASS	65535
#define SCRAM_ITER	4096
#define SCRAM_SALT	16
#define SCRAM_MAXCRED	(24 + 10 + B64_LEN(SCRAM_MAXSALT) + \
			    2 * B64_LEN(SCRAM_MAXKEY))

struct scram_cred {
	enum scram_mech	 mech;
	uint32_t	 iter;
	size_t		 saltlen;
	uint8_t		 salt[SCRAM_MAXSALT];
	uint8_t		 stored[SCRAM_MAXKEY];
	uint8_t		 server[SCRAM_MAXKEY];
};

enum scram_state {
	SCRAM_START,
	SCRAM_CHALLENGED,	/* server-first sent */
	SCRAM_DONE,
	SCRAM_FAILED
};

/* One exchange: no allocation, wiped by scram_clear(). */
struct scram {
	enum scram_state state;
	enum scram_mech	 mech;
	size_t		 userlen;
	size_t		 gs2len;
	size_t		 barelen;
	size_t		 firstlen;
	size_t		 noncelen;
	size_t		 cnonceoff;	/* of the client's nonce in bare */
	struct scram_cred cred;
	char		 user[SCRAM_MAXUSER + 1];
	char		 gs2[SCRAM_MAXUSER + 8];
	char		 bare[SCRAM_MAXMSG];
	char		 first[SCRAM_MAXMSG];
};

const char	*scram_mech_name(enum scram_mech);
int		 scram_mech_parse(const char *, size_t, enum scram_mech *);
size_t		 scram_keylen(enum scram_mech);
int		 scram_make_cred(struct scram_cred *, enum scram_mech,
		    const char *, size_t, const uint8_t *, size_t, uint32_t);
void		 scram_fake_cred(struct scram_cred *, enum scram_mech,
		    const uint8_t *, size_t, const char *, size_t);
int		 scram_cred_decode(struct scram_cred *, const char *, size_t,
		    const char **);
int		 scram_cred_encode(const struct scram_cred *, char *, size_t);
int		 scram_client_first(struct scram *, enum scram_mech,
		    const char *, size_t, const char **);
int		 scram_server_first(struct scram *, const struct scram_cred *,
		    const char *, size_t, char *, size_t, size_t *);
int		 scram_client_final(struct scram *, const char *, size_t,
		    char *, size_t, size_t *, const char **);
void		 scram_clear(struct scram *);

struct scramfile;

struct scramfile *scram_file_parse(const char *, const char *, size_t,
		    char *, size_t);
void		 scram_file_free(struct scramfile *);
size_t		 scram_file_count(const struct scramfile *);
const struct scram_cred *scram_file_lookup(const struct scramfile *,
		    const char *, size_t, enum scram_mech);

#endif /* BROKERD_SCRAM_H */
