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
 * libFuzzer target for authd/scram.c.  Byte 0 picks the mechanism (bit
 * 0) and whether the user is known (bit 1); the rest is a client-first
 * message and, after a NUL, a client-final one, run through one
 * exchange.  The same bytes are also read as an RFC 5803 credential and
 * as a credential file.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scram.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	 salt[16] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static struct scram_cred creds[2];
static int		 ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scram		 s;
	struct scram_cred	 c, fake;
	struct scramfile	*sf;
	enum scram_mech		 m;
	const char		*msg, *sep, *why;
	char			 out[SCRAM_MAXMSG], enc[SCRAM_MAXCRED], err[256];
	size_t			 len, n;
	int			 rc;

	if (!ready) {
		if (scram_make_cred(&creds[0], SCRAM_SHA256, "pencil", 6,
		    salt, sizeof(salt), 1) == -1 ||
		    scram_make_cred(&creds[1], SCRAM_SHA512, "pencil", 6,
		    salt, sizeof(salt), 1) == -1)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	m = data[0] & 1 ? SCRAM_SHA512 : SCRAM_SHA256;
	msg = (const char *)data + 1;
	len = size - 1;

	memset(&s, 0, sizeof(s));
	sep = memchr(msg, '\0', len);
	if (scram_client_first(&s, m, msg, sep ? (size_t)(sep - msg) : len,
	    &why) == 0) {
		if (s.userlen == 0 || s.user[s.userlen] != '\0')
			abort();
		scram_fake_cred(&fake, m, salt, sizeof(salt), s.user,
		    s.userlen);
		if (scram_server_first(&s, data[0] & 2 ? &creds[m] : &fake,
		    "snonce", 6, out, sizeof(out), &n) == 0 && sep != NULL) {
			rc = scram_client_final(&s, sep + 1,
			    msg + len - sep - 1, out, sizeof(out), &n, &why);
			if (rc < 0 || rc > 1 || n != strlen(out) ||
			    (rc == 1 && s.state != SCRAM_DONE) ||
			    (rc == 0 && s.state != SCRAM_FAILED))
				abort();
		}
	}
	scram_clear(&s);

	if (scram_cred_decode(&c, msg, len, &why) == 0) {
		if (scram_cred_encode(&c, enc, sizeof(enc)) == -1)
			abort();
	}
	if ((sf = scram_file_parse("fuzz", msg, len, err, sizeof(err))) !=
	    NULL) {
		(void)scram_file_lookup(sf, "alice", 5, m);
		scram_file_free(sf);
	}
	return 0;
}
