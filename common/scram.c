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
 * SCRAM-SHA-256 and SCRAM-SHA-512, the server's side (RFC 5802, RFC
 * 7677), without channel binding (no -PLUS) and without SASLprep (names
 * and passwords are compared as the bytes they are).
 *
 *	client-first	gs2-header client-first-bare
 *			("n,," or "y,," [or "n,a=NAME,"], "n=NAME,r=NONCE...")
 *	server-first	"r=NONCE+SNONCE,s=SALT,i=ITERATIONS"
 *	client-final	"c=B64(gs2-header),r=NONCE+SNONCE,...,p=PROOF"
 *	server-final	"v=SIGNATURE" or "e=ERROR"
 *
 * struct scram is one exchange's state; it moves START -> CHALLENGED ->
 * DONE or FAILED, each message is accepted only in its state, and the
 * parsers check every character against the RFC's grammar before
 * anything is computed.  Nothing is allocated; scram_clear() wipes the
 * keys and messages.  A user without credentials gets a made-up salt
 * (the same every time for the same name, from a per-boot secret) and
 * random keys, so that the exchange fails at the proof like a wrong
 * password and does not tell who exists.
 *
 * Credentials are stored as RFC 5803 has them:
 *	SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY
 * one `user:credential' per line of a credential file, a user having at
 * most one line per mechanism.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mqtt.h"
#include "scram.h"
#include "text.h"
#include "compat.h"

#define SCRAM_MAXNONCE	256

static const struct {
	const char	*name;
	size_t		 namelen;
	size_t		 keylen;
	const EVP_MD	*(*md)(void);
} mechs[] = {
	[SCRAM_SHA256] = { "SCRAM-SHA-256", 13, 32, EVP_sha256 },
	[SCRAM_SHA512] = { "SCRAM-SHA-512", 13, 64, EVP_sha512 },
};
#define NMECHS	(sizeof(mechs) / sizeof(mechs[0]))

const char *
scram_mech_name(enum scram_mech m)
{
	return mechs[m].name;
}

size_t
scram_keylen(enum scram_mech m)
{
	return mechs[m].keylen;
}

int
scram_mech_parse(const char *s, size_t len, enum scram_mech *m)
{
	size_t	 i;

	for (i = 0; i < NMECHS; i++)
		if (len == mechs[i].namelen &&
		    memcmp(s, mechs[i].name, len) == 0) {
			*m = i;
			return 0;
		}
	return -1;
}

static int
why_fail(const char **why, const char *w)
{
	if (why != NULL)
		*why = w;
	return -1;
}

static int
hmac(enum scram_mech m, const uint8_t *key, size_t keylen, const void *d,
    size_t dlen, uint8_t *out)
{
	unsigned int	 n;

	if (HMAC(mechs[m].md(), key, (int)keylen, d, dlen, out, &n) == NULL ||
	    n != mechs[m].keylen)
		return -1;
	return 0;
}

static int
digest(enum scram_mech m, const uint8_t *d, size_t dlen, uint8_t *out)
{
	unsigned int	 n;

	if (EVP_Digest(d, dlen, out, &n, mechs[m].md(), NULL) != 1 ||
	    n != mechs[m].keylen)
		return -1;
	return 0;
}

/* The stored and server keys of a password (RFC 5802, section 3). */
int
scram_make_cred(struct scram_cred *c, enum scram_mech m, const char *pw,
    size_t pwlen, const uint8_t *salt, size_t saltlen, uint32_t iter)
{
	uint8_t	 salted[SCRAM_MAXKEY], ckey[SCRAM_MAXKEY];
	size_t	 klen = mechs[m].keylen;
	int	 rc = -1;

	if (saltlen == 0 || saltlen > sizeof(c->salt) || iter == 0 ||
	    iter > INT32_MAX || pwlen > SCRAM_MAXPASS)
		return -1;
	memset(c, 0, sizeof(*c));
	c->mech = m;
	c->iter = iter;
	c->saltlen = saltlen;
	memcpy(c->salt, salt, saltlen);
	if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen, (int)iter,
	    mechs[m].md(), (int)klen, salted) == 1 &&
	    hmac(m, salted, klen, "Client Key", 10, ckey) == 0 &&
	    digest(m, ckey, klen, c->stored) == 0 &&
	    hmac(m, salted, klen, "Server Key", 10, c->server) == 0)
		rc = 0;
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	if (rc == -1)
		explicit_bzero(c, sizeof(*c));
	return rc;
}

/*
 * Credentials for a user who has none: the salt derived from the name
 * and a secret, the keys random, so that no proof matches.
 */
void
scram_fake_cred(struct scram_cred *c, enum scram_mech m,
    const uint8_t *secret, size_t secretlen, const char *user, size_t ulen)
{
	uint8_t		 mac[EVP_MAX_MD_SIZE];
	unsigned int	 n;

	memset(c, 0, sizeof(*c));
	c->mech = m;
	c->iter = SCRAM_ITER;
	c->saltlen = SCRAM_SALT;
	if (HMAC(EVP_sha256(), secret, (int)secretlen, (const uint8_t *)user,
	    ulen, mac, &n) != NULL && n >= SCRAM_SALT)
		memcpy(c->salt, mac, SCRAM_SALT);
	else
		arc4random_buf(c->salt, SCRAM_SALT);
	arc4random_buf(c->stored, sizeof(c->stored));
	arc4random_buf(c->server, sizeof(c->server));
	explicit_bzero(mac, sizeof(mac));
}

static int
decimal(const char *s, size_t len, uint32_t *v)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n == 0 || n > INT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY (RFC 5803) */
int
scram_cred_decode(struct scram_cred *c, const char *s, size_t len,
    const char **why)
{
	const char	*end = s + len, *d1, *c1, *d2, *c2;
	size_t		 n, klen;

	memset(c, 0, sizeof(*c));
	if ((d1 = memchr(s, '$', len)) == NULL ||
	    scram_mech_parse(s, d1 - s, &c->mech) == -1)
		return why_fail(why, "not SCRAM-SHA-256$ or SCRAM-SHA-512$");
	klen = mechs[c->mech].keylen;
	if ((c1 = memchr(d1 + 1, ':', end - d1 - 1)) == NULL ||
	    decimal(d1 + 1, c1 - d1 - 1, &c->iter) == -1)
		return why_fail(why, "bad iteration count");
	if ((d2 = memchr(c1 + 1, '$', end - c1 - 1)) == NULL ||
	    b64_decode(c1 + 1, d2 - c1 - 1, c->salt, sizeof(c->salt),
	    &c->saltlen) == -1 || c->saltlen == 0)
		return why_fail(why, "bad salt");
	if ((c2 = memchr(d2 + 1, ':', end - d2 - 1)) == NULL ||
	    b64_decode(d2 + 1, c2 - d2 - 1, c->stored, sizeof(c->stored),
	    &n) == -1 || n != klen)
		return why_fail(why, "bad stored key");
	if (b64_decode(c2 + 1, end - c2 - 1, c->server, sizeof(c->server),
	    &n) == -1 || n != klen) {
		explicit_bzero(c, sizeof(*c));
		return why_fail(why, "bad server key");
	}
	return 0;
}

int
scram_cred_encode(const struct scram_cred *c, char *out, size_t outsz)
{
	char	 salt[B64_LEN(SCRAM_MAXSALT) + 1];
	char	 stored[B64_LEN(SCRAM_MAXKEY) + 1];
	char	 server[B64_LEN(SCRAM_MAXKEY) + 1];
	size_t	 klen = mechs[c->mech].keylen;
	int	 n;

	if (b64_encode(c->salt, c->saltlen, salt, sizeof(salt), 1) == 0 ||
	    b64_encode(c->stored, klen, stored, sizeof(stored), 1) == 0 ||
	    b64_encode(c->server, klen, server, sizeof(server), 1) == 0)
		return -1;
	n = snprintf(out, outsz, "%s$%u:%s$%s:%s", mechs[c->mech].name,
	    c->iter, salt, stored, server);
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(server, sizeof(server));
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

/* ------------------------------------------------------------------ */
/* The exchange */

/* printable = %x21-2B / %x2D-7E: a nonce's characters. */
static int
nonce_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > SCRAM_MAXNONCE)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    s[i] == ',')
			return 0;
	return 1;
}

/* saslname: `,' and `=' written =2C and =3D, no other `='. */
static int
saslname(const char *s, size_t len, char *out, size_t outsz, size_t *outlen)
{
	size_t	 i, o = 0;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (o + 1 >= outsz)
			return -1;
		if (s[i] == '=') {
			if (len - i < 3)
				return -1;
			if (s[i + 1] == '2' && s[i + 2] == 'C')
				out[o++] = ',';
			else if (s[i + 1] == '3' && s[i + 2] == 'D')
				out[o++] = '=';
			else
				return -1;
			i += 2;
		} else if (s[i] == '\0' || s[i] == ',')
			return -1;
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* extensions = attr-val *("," attr-val); attr-val = ALPHA "=" 1*value-char */
static int
extensions_valid(const char *s, size_t len)
{
	const char	*end = s + len, *q;

	while (s < end) {
		if ((q = memchr(s, ',', end - s)) == NULL)
			q = end;
		if (q - s < 3 || !((s[0] >= 'a' && s[0] <= 'z') ||
		    (s[0] >= 'A' && s[0] <= 'Z')) || s[1] != '=')
			return 0;
		if (q == end)
			return 1;
		s = q + 1;
		if (s == end)
			return 0;
	}
	return 1;
}

static int
scram_fail(struct scram *s, const char **why, const char *w)
{
	s->state = SCRAM_FAILED;
	return why_fail(why, w);
}

/*
 * The client's first message.  0, the user's name in s->user; or -1
 * and why (the exchange has failed).
 */
int
scram_client_first(struct scram *s, enum scram_mech m, const char *msg,
    size_t len, const char **why)
{
	const char	*p = msg, *end = msg + len, *q, *bare;
	char		 authz[SCRAM_MAXUSER + 1];
	size_t		 authzlen = 0;
	int		 has_authz = 0;

	if (s->state != SCRAM_START || s->barelen != 0)
		return scram_fail(s, why, "unexpected client-first message");
	s->mech = m;
	if (len >= SCRAM_MAXMSG)
		return scram_fail(s, why, "client-first message too long");
	if (memchr(msg, '\0', len) != NULL ||
	    !mqtt_utf8_valid((const uint8_t *)msg, len))
		return scram_fail(s, why, "invalid encoding");

	/* gs2-header: cbind-flag "," [authzid] "," */
	if (len < 3)
		return scram_fail(s, why, "client-first message too short");
	if (p[0] == 'p')
		return scram_fail(s, why, "channel binding not supported");
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return scram_fail(s, why, "bad gs2 header");
	p += 2;
	if (end - p >= 2 && p[0] == 'a' && p[1] == '=') {
		if ((q = memchr(p, ',', end - p)) == NULL ||
		    saslname(p + 2, q - p - 2, authz, sizeof(authz),
		    &authzlen) == -1)
			return scram_fail(s, why, "bad authzid");
		has_authz = 1;
		p = q;
	}
	if (p >= end || *p != ',')
		return scram_fail(s, why, "bad gs2 header");
	p++;
	bare = p;
	if ((size_t)(p - msg) >= sizeof(s->gs2))
		return scram_fail(s, why, "gs2 header too long");

	/* client-first-message-bare */
	if (end - p >= 2 && p[0] == 'm' && p[1] == '=')
		return scram_fail(s, why, "mandatory extension not supported");
	if (end - p < 2 || p[0] != 'n' || p[1] != '=' ||
	    (q = memchr(p, ',', end - p)) == NULL ||
	    saslname(p + 2, q - p - 2, s->user, sizeof(s->user),
	    &s->userlen) == -1)
		return scram_fail(s, why, "bad user name");
	p = q + 1;
	if (end - p < 2 || p[0] != 'r' || p[1] != '=')
		return scram_fail(s, why, "no nonce");
	p += 2;
	if ((q = memchr(p, ',', end - p)) == NULL)
		q = end;
	if (!nonce_valid(p, q - p))
		return scram_fail(s, why, "bad nonce");
	s->noncelen = q - p;
	s->cnonceoff = p - bare;
	if (q < end && (q + 1 == end || !extensions_valid(q + 1, end - q - 1)))
		return scram_fail(s, why, "bad extension");
	if (has_authz && (authzlen != s->userlen ||
	    memcmp(authz, s->user, authzlen) != 0))
		return scram_fail(s, why, "authzid is not the user");

	s->gs2len = bare - msg;
	memcpy(s->gs2, msg, s->gs2len);
	s->barelen = end - bare;
	memcpy(s->bare, bare, s->barelen);
	return 0;
}

/*
 * The server's challenge, with the user's credentials (or made-up ones,
 * scram_fake_cred()) and a fresh nonce of printable characters.  0 and
 * the message in out, or -1.
 */
int
scram_server_first(struct scram *s, const struct scram_cred *c,
    const char *snonce, size_t snlen, char *out, size_t outsz,
    size_t *outlen)
{
	char	 salt[B64_LEN(SCRAM_MAXSALT) + 1];
	int	 n;

	if (s->state != SCRAM_START || s->barelen == 0 || c == NULL ||
	    c->mech != s->mech || !nonce_valid(snonce, snlen) ||
	    s->noncelen + snlen > SCRAM_MAXNONCE * 2 ||
	    b64_encode(c->salt, c->saltlen, salt, sizeof(salt), 1) == 0) {
		s->state = SCRAM_FAILED;
		return -1;
	}
	n = snprintf(s->first, sizeof(s->first), "r=%.*s%.*s,s=%s,i=%u",
	    (int)s->noncelen, s->bare + s->cnonceoff,
	    (int)snlen, snonce, salt, c->iter);
	if (n < 0 || (size_t)n >= sizeof(s->first) || (size_t)n >= outsz) {
		s->state = SCRAM_FAILED;
		return -1;
	}
	s->firstlen = n;
	s->cred = *c;
	s->noncelen += snlen;
	memcpy(out, s->first, n + 1);
	*outlen = n;
	s->state = SCRAM_CHALLENGED;
	return 0;
}

static int
server_error(struct scram *s, const char *e, char *out, size_t outsz,
    size_t *outlen, const char **why, const char *w)
{
	int	 n;

	s->state = SCRAM_FAILED;
	n = snprintf(out, outsz, "e=%s", e);
	*outlen = n > 0 && (size_t)n < outsz ? (size_t)n : 0;
	if (why != NULL)
		*why = w;
	return 0;
}

/*
 * The client's proof.  1: authenticated, out holds "v=..."; 0: not,
 * out holds "e=..." and why says why; -1: the message came when no
 * proof was expected.
 */
int
scram_client_final(struct scram *s, const char *msg, size_t len,
    char *out, size_t outsz, size_t *outlen, const char **why)
{
	const char	*end = msg + len, *p, *q, *proofp = NULL;
	uint8_t		 cb[sizeof(s->gs2)], proof[SCRAM_MAXKEY];
	uint8_t		 sig[SCRAM_MAXKEY], key[SCRAM_MAXKEY];
	char		 am[3 * SCRAM_MAXMSG], v[B64_LEN(SCRAM_MAXKEY) + 1];
	size_t		 klen = mechs[s->mech].keylen, n, amlen, wplen, i;
	int		 rc = 0, ok;

	*outlen = 0;
	if (s->state != SCRAM_CHALLENGED) {
		s->state = SCRAM_FAILED;
		return why_fail(why, "unexpected client-final message");
	}
	if (len >= SCRAM_MAXMSG || memchr(msg, '\0', len) != NULL ||
	    !mqtt_utf8_valid((const uint8_t *)msg, len))
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "invalid encoding");

	/* channel-binding "," nonce ["," extensions] "," proof */
	if (len < 2 || msg[0] != 'c' || msg[1] != '=' ||
	    (q = memchr(msg, ',', len)) == NULL ||
	    b64_decode(msg + 2, q - msg - 2, cb, sizeof(cb), &n) == -1)
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "bad channel binding");
	if (n != s->gs2len || memcmp(cb, s->gs2, n) != 0)
		return server_error(s, "channel-bindings-dont-match", out,
		    outsz, outlen, why, "channel binding does not match");
	p = q + 1;
	if (end - p < 2 || p[0] != 'r' || p[1] != '=')
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "no nonce");
	p += 2;
	if ((q = memchr(p, ',', end - p)) == NULL)
		q = end;
	if ((size_t)(q - p) != s->noncelen ||
	    memcmp(p, s->first + 2, s->noncelen) != 0)
		return server_error(s, "other-error", out, outsz, outlen,
		    why, "nonce does not match");
	/* The proof is the last attribute. */
	for (i = len; i >= 3; i--)
		if (memcmp(msg + i - 3, ",p=", 3) == 0) {
			proofp = msg + i;
			break;
		}
	if (proofp == NULL || proofp - 3 < q)
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "no proof");
	wplen = proofp - 3 - msg;
	if (proofp - 3 > q && !extensions_valid(q + 1, proofp - 3 - q - 1))
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "bad extension");
	if (b64_decode(proofp, end - proofp, proof, sizeof(proof), &n) == -1 ||
	    n != klen)
		return server_error(s, "invalid-encoding", out, outsz, outlen,
		    why, "bad proof");

	/* AuthMessage = bare "," server-first "," final-without-proof */
	amlen = s->barelen + 1 + s->firstlen + 1 + wplen;
	memcpy(am, s->bare, s->barelen);
	am[s->barelen] = ',';
	memcpy(am + s->barelen + 1, s->first, s->firstlen);
	am[s->barelen + 1 + s->firstlen] = ',';
	memcpy(am + s->barelen + 2 + s->firstlen, msg, wplen);

	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage) */
	ok = hmac(s->mech, s->cred.stored, klen, am, amlen, sig) == 0;
	for (i = 0; i < klen; i++)
		key[i] = proof[i] ^ sig[i];
	ok = ok && digest(s->mech, key, klen, sig) == 0 &&
	    CRYPTO_memcmp(sig, s->cred.stored, klen) == 0;
	if (ok && hmac(s->mech, s->cred.server, klen, am, amlen, sig) == 0 &&
	    b64_encode(sig, klen, v, sizeof(v), 1) != 0 &&
	    (size_t)snprintf(out, outsz, "v=%s", v) < outsz) {
		*outlen = strlen(out);
		s->state = SCRAM_DONE;
		rc = 1;
	} else
		rc = server_error(s, "invalid-proof", out, outsz, outlen, why,
		    "wrong proof");
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(am, sizeof(am));
	explicit_bzero(v, sizeof(v));
	return rc;
}

void
scram_clear(struct scram *s)
{
	explicit_bzero(s, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* Credential files */

struct scram_entry {
	RB_ENTRY(scram_entry)	 entry;
	char			*user;
	size_t			 ulen;
	unsigned long		 line;
	struct scram_cred	 cred;
};

static int
scram_entry_cmp(struct scram_entry *a, struct scram_entry *b)
{
	int	 c;

	if ((c = bytes_cmp(a->user, a->ulen, b->user, b->ulen)) != 0)
		return c;
	return (int)a->cred.mech - (int)b->cred.mech;
}

RB_HEAD(scram_tree, scram_entry);
RB_GENERATE_STATIC(scram_tree, scram_entry, entry, scram_entry_cmp);

struct scramfile {
	struct scram_tree	 entries;
	size_t			 n;
};

void
scram_file_free(struct scramfile *sf)
{
	struct scram_entry	*e, *next;

	if (sf == NULL)
		return;
	RB_FOREACH_SAFE(e, scram_tree, &sf->entries, next) {
		RB_REMOVE(scram_tree, &sf->entries, e);
		freezero(e->user, e->ulen + 1);
		freezero(e, sizeof(*e));
	}
	free(sf);
}

/*
 * A credential file: `user:credential' lines, blank lines and `#'
 * comments.  NULL with "name:line: why" in err if any line is wrong.
 */
struct scramfile *
scram_file_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct lines		 ls;
	struct scramfile	*sf;
	struct scram_entry	*e = NULL, *old;
	const char		*user, *cred, *why;
	size_t			 ulen, clen;
	int			 r;

	lines_init(&ls, buf, len);
	if ((sf = calloc(1, sizeof(*sf))) == NULL) {
		why = "out of memory";
		goto bad;
	}
	RB_INIT(&sf->entries);
	while ((r = userfile_next(&ls, &user, &ulen, &cred, &clen, &why)) !=
	    0) {
		if (r == -1)
			goto bad;
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->user = strndup(user, ulen)) == NULL)
			why = "out of memory";
		else
			why = NULL;
		if (why != NULL ||
		    scram_cred_decode(&e->cred, cred, clen, &why) == -1)
			goto bad;
		e->ulen = ulen;
		e->line = ls.no;
		if ((old = RB_INSERT(scram_tree, &sf->entries, e)) != NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%lu: user and "
				    "mechanism already on line %lu", name,
				    ls.no, old->line);
			goto fail;
		}
		sf->n++;
		e = NULL;
	}
	return sf;
 bad:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s:%lu: %s", name, ls.no, why);
 fail:
	if (e != NULL) {
		free(e->user);
		freezero(e, sizeof(*e));
	}
	scram_file_free(sf);
	return NULL;
}

size_t
scram_file_count(const struct scramfile *sf)
{
	return sf->n;
}

const struct scram_cred *
scram_file_lookup(const struct scramfile *sf, const char *user, size_t ulen,
    enum scram_mech m)
{
	struct scram_entry	 key, *e;

	memset(&key, 0, sizeof(key));
	key.user = (char *)(uintptr_t)user;
	key.ulen = ulen;
	key.cred.mech = m;
	e = RB_FIND(scram_tree, (struct scram_tree *)(uintptr_t)&sf->entries,
	    &key);
	return e != NULL ? &e->cred : NULL;
}
