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
 * Unit tests for authd/scram.c: the RFC 7677 test vector, the same
 * exchange with SCRAM-SHA-512 (computed independently with Python's
 * hashlib), RFC 5803 credentials, a client written here against the
 * server for random passwords, and the messages that must fail: wrong
 * proofs, other nonces (a replayed client-final), messages out of turn,
 * and every malformed form of each message.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "scram.h"
#include "text.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* RFC 7677, section 3. */
#define V_FIRST		"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define V_SNONCE	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define V_SFIRST	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
			"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define V_FINAL		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)" \
			"hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define V_SFINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
#define V_CRED256	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3O" \
			"tcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2" \
			"KeoiWGPlZqQxSrmfPwDl2dU="
/* The same exchange with SHA-512. */
#define V_FINAL512	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)" \
			"hNlF$k0,p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3" \
			"R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ=="
#define V_SFINAL512	"v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDan" \
			"ekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw=="
#define V_CRED512	"SCRAM-SHA-512$4096:W22ZaJ0SNY7soEsUEjb6gQ==$6AAub3065E" \
			"YRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2h" \
			"K/60dzj9DoO5DvVkOHbvg==:jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT" \
			"1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA=="

static const uint8_t	 v_salt[] = { 0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12,
    0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81 };

static void
cred_of(struct scram_cred *c, enum scram_mech m)
{
	assert_int_equal(scram_make_cred(c, m, "pencil", 6, v_salt,
	    sizeof(v_salt), 4096), 0);
}

/* One whole exchange; the server's last answer in out. */
static int
exchange(enum scram_mech m, const struct scram_cred *c, const char *first,
    const char *final, char *out, size_t outsz)
{
	struct scram	 s;
	char		 sfirst[SCRAM_MAXMSG];
	size_t		 n;
	const char	*why;
	int		 rc;

	memset(&s, 0, sizeof(s));
	if (scram_client_first(&s, m, first, strlen(first), &why) == -1)
		return -2;
	assert_int_equal(scram_server_first(&s, c, V_SNONCE, strlen(V_SNONCE),
	    sfirst, sizeof(sfirst), &n), 0);
	rc = scram_client_final(&s, final, strlen(final), out, outsz, &n, &why);
	assert_int_equal(n, strlen(out));
	scram_clear(&s);
	return rc;
}

static void
test_rfc7677(void **state)
{
	struct scram_cred	 c, d;
	struct scram		 s;
	char			 out[SCRAM_MAXMSG], enc[SCRAM_MAXCRED];
	size_t			 n;
	const char		*why;

	(void)state;
	cred_of(&c, SCRAM_SHA256);
	assert_true(scram_cred_encode(&c, enc, sizeof(enc)) > 0);
	assert_string_equal(enc, V_CRED256);
	assert_int_equal(scram_cred_decode(&d, enc, strlen(enc), &why), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, V_FIRST,
	    strlen(V_FIRST), &why), 0);
	assert_string_equal(s.user, "user");
	assert_int_equal(scram_server_first(&s, &c, V_SNONCE, strlen(V_SNONCE),
	    out, sizeof(out), &n), 0);
	assert_string_equal(out, V_SFIRST);
	assert_int_equal(n, strlen(V_SFIRST));
	assert_int_equal(scram_client_final(&s, V_FINAL, strlen(V_FINAL), out,
	    sizeof(out), &n, &why), 1);
	assert_string_equal(out, V_SFINAL);
	assert_int_equal(s.state, SCRAM_DONE);
	/* Nothing more is accepted. */
	assert_int_equal(scram_client_final(&s, V_FINAL, strlen(V_FINAL), out,
	    sizeof(out), &n, &why), -1);
	scram_clear(&s);
}

static void
test_sha512(void **state)
{
	struct scram_cred	 c;
	char			 out[SCRAM_MAXMSG], enc[SCRAM_MAXCRED];

	(void)state;
	cred_of(&c, SCRAM_SHA512);
	assert_true(scram_cred_encode(&c, enc, sizeof(enc)) > 0);
	assert_string_equal(enc, V_CRED512);
	assert_int_equal(exchange(SCRAM_SHA512, &c, V_FIRST, V_FINAL512, out,
	    sizeof(out)), 1);
	assert_string_equal(out, V_SFINAL512);
	/* A SHA-256 proof against SHA-512 keys. */
	assert_int_equal(exchange(SCRAM_SHA512, &c, V_FIRST, V_FINAL, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "e=invalid-encoding");
}

static void
test_wrong_proof(void **state)
{
	struct scram_cred	 c;
	char			 out[SCRAM_MAXMSG], final[] = V_FINAL;

	(void)state;
	cred_of(&c, SCRAM_SHA256);
	final[strlen(final) - 10] ^= 1;		/* one bit of the proof */
	assert_int_equal(exchange(SCRAM_SHA256, &c, V_FIRST, final, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "e=invalid-proof");

	/* Another password's keys. */
	assert_int_equal(scram_make_cred(&c, SCRAM_SHA256, "pencim", 6,
	    v_salt, sizeof(v_salt), 4096), 0);
	assert_int_equal(exchange(SCRAM_SHA256, &c, V_FIRST, V_FINAL, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "e=invalid-proof");
}

/* A client-final for another server nonce (a replay) fails. */
static void
test_replayed_nonce(void **state)
{
	struct scram_cred	 c;
	struct scram		 s;
	char			 out[SCRAM_MAXMSG];
	const char		*why;
	size_t			 n;

	(void)state;
	cred_of(&c, SCRAM_SHA256);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, V_FIRST,
	    strlen(V_FIRST), &why), 0);
	assert_int_equal(scram_server_first(&s, &c, "fresh-nonce", 11, out,
	    sizeof(out), &n), 0);
	assert_int_equal(scram_client_final(&s, V_FINAL, strlen(V_FINAL), out,
	    sizeof(out), &n, &why), 0);
	assert_string_equal(out, "e=other-error");
	assert_string_equal(why, "nonce does not match");
	assert_int_equal(s.state, SCRAM_FAILED);
	scram_clear(&s);
}

static void
test_out_of_turn(void **state)
{
	struct scram_cred	 c;
	struct scram		 s;
	char			 out[SCRAM_MAXMSG];
	const char		*why;
	size_t			 n;

	(void)state;
	cred_of(&c, SCRAM_SHA256);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_final(&s, V_FINAL, strlen(V_FINAL), out,
	    sizeof(out), &n, &why), -1);
	assert_int_equal(s.state, SCRAM_FAILED);

	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_server_first(&s, &c, "x", 1, out, sizeof(out),
	    &n), -1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, V_FIRST,
	    strlen(V_FIRST), &why), 0);
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, V_FIRST,
	    strlen(V_FIRST), &why), -1);

	/* Credentials of the other mechanism. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA512, V_FIRST,
	    strlen(V_FIRST), &why), 0);
	assert_int_equal(scram_server_first(&s, &c, "x", 1, out, sizeof(out),
	    &n), -1);
	/* A bad server nonce. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, V_FIRST,
	    strlen(V_FIRST), &why), 0);
	assert_int_equal(scram_server_first(&s, &c, "a,b", 3, out, sizeof(out),
	    &n), -1);
}

static void
test_client_first(void **state)
{
	static const struct {
		const char	*msg;
		int		 ok;
		const char	*user;
	} cases[] = {
		{ "n,,n=user,r=abc", 1, "user" },
		{ "y,,n=user,r=abc", 1, "user" },
		{ "n,a=user,n=user,r=abc", 1, "user" },
		{ "n,,n=u=2Cs=3Der,r=abc", 1, "u,s=er" },
		{ "n,,n=user,r=abc,x=1,y=2", 1, "user" },
		{ "n,,n=user,r=abc,x=1,yy=2", 0, NULL },
		{ "n,,n=\xc3\xa9,r=abc", 1, "\xc3\xa9" },
		{ "n,,n=user,r=abc,", 0, NULL },
		{ "n,,n=user,r=abc,x", 0, NULL },
		{ "n,,n=user,r=abc,1=x", 0, NULL },
		{ "n,,n=user,r=abc,x=", 0, NULL },
		{ "p=tls-unique,,n=user,r=abc", 0, NULL },
		{ "n,a=other,n=user,r=abc", 0, NULL },
		{ "n,a=,n=user,r=abc", 0, NULL },
		{ "n,,m=ext,n=user,r=abc", 0, NULL },
		{ "n,,n=,r=abc", 0, NULL },
		{ "n,,n=us=2er,r=abc", 0, NULL },
		{ "n,,n=us=3,r=abc", 0, NULL },
		{ "n,,n=user,r=", 0, NULL },
		{ "n,,n=user,r=a\x7f", 0, NULL },
		{ "n,,n=user,r=a b", 0, NULL },
		{ "n,,n=user", 0, NULL },
		{ "n,,n=user,", 0, NULL },
		{ "n,,r=abc,n=user", 0, NULL },
		{ "x,,n=user,r=abc", 0, NULL },
		{ "n,n=user,r=abc", 0, NULL },
		{ "n", 0, NULL },
		{ "", 0, NULL },
		{ "n,,n=\xc3,r=abc", 0, NULL },
	};
	struct scram	 s;
	char		 big[SCRAM_MAXMSG + 16];
	const char	*why;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		memset(&s, 0, sizeof(s));
		rc = scram_client_first(&s, SCRAM_SHA256, cases[i].msg,
		    strlen(cases[i].msg), &why);
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu \"%s\": %d (%s)", i, cases[i].msg,
			    rc, rc == -1 ? why : "");
		if (rc == 0)
			assert_string_equal(s.user, cases[i].user);
		else
			assert_int_equal(s.state, SCRAM_FAILED);
	}
	/* NUL inside, too long. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256,
	    "n,,n=u\0x,r=abc", 14, &why), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "n,,n=user,r=", 12);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_client_first(&s, SCRAM_SHA256, big,
	    sizeof(big), &why), -1);
}

static void
test_client_final(void **state)
{
	static const struct {
		const char	*msg;
		const char	*e;
	} cases[] = {
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=invalid-proof" },
		{ "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=channel-bindings-dont-match" },
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO,"
		    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=other-error" },
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		    "e=invalid-encoding" },
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "p=dHzbZapWIk4jUhN", "e=invalid-encoding" },
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
		    "e=invalid-encoding" },
		{ "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "1=x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=invalid-encoding" },
		{ "c=bi!s,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=invalid-encoding" },
		{ "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=invalid-encoding" },
		{ "c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		    "e=invalid-encoding" },
		{ "", "e=invalid-encoding" },
	};
	struct scram_cred	 c;
	char			 out[SCRAM_MAXMSG];
	size_t			 i;

	(void)state;
	cred_of(&c, SCRAM_SHA256);
	for (i = 0; i < NITEMS(cases); i++) {
		out[0] = '\0';
		if (exchange(SCRAM_SHA256, &c, V_FIRST, cases[i].msg, out,
		    sizeof(out)) != 0 || strcmp(out, cases[i].e) != 0)
			fail_msg("case %zu: \"%s\" gave \"%s\"", i,
			    cases[i].msg, out);
	}
}

/* An unknown user: the same salt each time, and no proof passes. */
static void
test_unknown_user(void **state)
{
	static const uint8_t	 secret[32] = { 1, 2, 3 };
	struct scram_cred	 a, b, x;
	char			 out[SCRAM_MAXMSG];

	(void)state;
	scram_fake_cred(&a, SCRAM_SHA256, secret, sizeof(secret), "user", 4);
	scram_fake_cred(&b, SCRAM_SHA256, secret, sizeof(secret), "user", 4);
	scram_fake_cred(&x, SCRAM_SHA256, secret, sizeof(secret), "usex", 4);
	assert_int_equal(a.iter, SCRAM_ITER);
	assert_memory_equal(a.salt, b.salt, a.saltlen);
	assert_memory_not_equal(a.salt, x.salt, a.saltlen);
	assert_memory_not_equal(a.stored, b.stored, sizeof(a.stored));
	assert_int_equal(exchange(SCRAM_SHA256, &a, V_FIRST, V_FINAL, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "e=invalid-proof");
}

/* The client's side, written here from RFC 5802. */
static void
client_final(enum scram_mech m, const char *pw, const char *bare,
    const char *sfirst, char *out, size_t outsz)
{
	const EVP_MD	*md = m == SCRAM_SHA256 ? EVP_sha256() : EVP_sha512();
	uint8_t		 salt[SCRAM_MAXSALT], sp[64], ck[64], sk[64], sig[64];
	char		 am[3 * SCRAM_MAXMSG], nonce[600], b64s[200], wp[800];
	char		 proof[200];
	const char	*s, *i;
	size_t		 saltlen, klen = scram_keylen(m), k;
	unsigned int	 n;

	s = strstr(sfirst, ",s=");
	i = strstr(sfirst, ",i=");
	assert_non_null(s);
	assert_non_null(i);
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(s - sfirst - 2),
	    sfirst + 2);
	snprintf(b64s, sizeof(b64s), "%.*s", (int)(i - s - 3), s + 3);
	assert_int_equal(b64_decode(b64s, strlen(b64s), salt, sizeof(salt),
	    &saltlen), 0);
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, strlen(pw), salt, saltlen,
	    atoi(i + 3), md, klen, sp), 1);
	HMAC(md, sp, klen, (const uint8_t *)"Client Key", 10, ck, &n);
	EVP_Digest(ck, klen, sk, &n, md, NULL);
	snprintf(wp, sizeof(wp), "c=biws,r=%s", nonce);
	snprintf(am, sizeof(am), "%s,%s,%s", bare, sfirst, wp);
	HMAC(md, sk, klen, (const uint8_t *)am, strlen(am), sig, &n);
	for (k = 0; k < klen; k++)
		sig[k] ^= ck[k];
	b64_encode(sig, klen, proof, sizeof(proof), 1);
	snprintf(out, outsz, "%s,p=%s", wp, proof);
}

static void
test_client_roundtrip(void **state)
{
	struct scram_cred	 c;
	struct scram		 s;
	uint8_t			 salt[SCRAM_SALT];
	char			 pw[32], first[128], sfirst[SCRAM_MAXMSG];
	char			 final[SCRAM_MAXMSG], out[SCRAM_MAXMSG];
	const char		*why;
	size_t			 n, k;
	int			 i;

	(void)state;
	for (i = 0; i < 8; i++) {
		enum scram_mech	 m = i % 2 ? SCRAM_SHA512 : SCRAM_SHA256;

		for (k = 0; k < sizeof(pw) - 1; k++)
			pw[k] = 0x21 + arc4random_uniform(94);
		pw[k] = '\0';
		arc4random_buf(salt, sizeof(salt));
		assert_int_equal(scram_make_cred(&c, m, pw, strlen(pw), salt,
		    sizeof(salt), 4096 + i), 0);
		snprintf(first, sizeof(first), "n,,n=u%d,r=cn%u", i,
		    arc4random());
		memset(&s, 0, sizeof(s));
		assert_int_equal(scram_client_first(&s, m, first,
		    strlen(first), &why), 0);
		assert_int_equal(scram_server_first(&s, &c, "sn+/=", 5, sfirst,
		    sizeof(sfirst), &n), 0);
		client_final(m, pw, first + 3, sfirst, final, sizeof(final));
		assert_int_equal(scram_client_final(&s, final, strlen(final),
		    out, sizeof(out), &n, &why), 1);
		assert_int_equal(strncmp(out, "v=", 2), 0);
		scram_clear(&s);
	}
}

static void
test_cred_file(void **state)
{
	static const struct {
		const char	*file, *err;
	} bad[] = {
		{ "alice\n", "f:1: no ':'" },
		{ ":" V_CRED256 "\n", "f:1: empty user name" },
		{ "a:SCRAM-SHA-1$4096:W22Z$AA:AA\n", "f:1: not SCRAM" },
		{ "a:SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$AA:AA\n",
		    "f:1: bad iteration count" },
		{ "a:SCRAM-SHA-256$04096:W22ZaJ0SNY7soEsUEjb6gQ==$AA:AA\n",
		    "f:1: bad iteration count" },
		{ "a:SCRAM-SHA-256$4096:$AA:AA\n", "f:1: bad salt" },
		{ "a:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AA:AA\n",
		    "f:1: bad stored key" },
		{ "a:" V_CRED256 "x\n", "f:1: bad server key" },
		{ "a:" V_CRED256 "\n#\na:" V_CRED256 "\n",
		    "f:3: user and mechanism already on line 1" },
		{ "a:" V_CRED256 "\n\0\n", "f:2: NUL byte" },
	};
	struct scramfile	*sf;
	const struct scram_cred	*c;
	char			 err[256];
	const char		*ok = "# SCRAM credentials\n"
	    "alice:" V_CRED256 "\n"
	    "alice : " V_CRED512 "\r\n\n"
	    "bob:" V_CRED256 "\n";
	size_t			 i, len;

	(void)state;
	assert_non_null(sf = scram_file_parse("f", ok, strlen(ok), err,
	    sizeof(err)));
	assert_int_equal(scram_file_count(sf), 3);
	assert_non_null(c = scram_file_lookup(sf, "alice", 5, SCRAM_SHA512));
	assert_int_equal(c->mech, SCRAM_SHA512);
	assert_non_null(scram_file_lookup(sf, "alice", 5, SCRAM_SHA256));
	assert_null(scram_file_lookup(sf, "bob", 3, SCRAM_SHA512));
	assert_null(scram_file_lookup(sf, "alic", 4, SCRAM_SHA256));
	scram_file_free(sf);

	for (i = 0; i < NITEMS(bad); i++) {
		len = strlen(bad[i].file);
		if (strstr(bad[i].err, "NUL") != NULL)
			len += 2;
		err[0] = '\0';
		sf = scram_file_parse("f", bad[i].file, len, err, sizeof(err));
		if (sf != NULL || strncmp(err, bad[i].err,
		    strlen(bad[i].err)) != 0)
			fail_msg("case %zu gave \"%s\"", i, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7677),
		cmocka_unit_test(test_sha512),
		cmocka_unit_test(test_wrong_proof),
		cmocka_unit_test(test_replayed_nonce),
		cmocka_unit_test(test_out_of_turn),
		cmocka_unit_test(test_client_first),
		cmocka_unit_test(test_client_final),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_client_roundtrip),
		cmocka_unit_test(test_cred_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
