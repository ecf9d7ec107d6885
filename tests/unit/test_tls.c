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
 * Unit tests for tlsproxy/tls.c: contexts from PEM in memory, handshakes
 * between a tls.c server and a client over a socketpair.  The PKI is
 * made at run time by tests/pki/mkpki in a temporary directory.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlsproxy.h"
#include "pki.h"

static int
wiped(const struct tls_pem *p)
{
	size_t	 i;

	for (i = 0; i < p->len; i++)
		if (p->p[i] != 0)
			return 0;
	return 1;
}

static int
setup(void **state)
{
	(void)state;
	if (pki_setup() == -1)
		return -1;
	tls_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return pki_teardown();
}

/* A server configuration; the caller frees what it loaded. */
struct sconf {
	struct tls_server_conf	 c;
	struct tls_keypair	 kp[4];
};

static void
sconf_init(struct sconf *s, const char *name)
{
	char	 crt[64], key[64];

	memset(s, 0, sizeof(*s));
	s->c.keypairs = s->kp;
	s->c.id = 7;
	if (name != NULL) {
		snprintf(crt, sizeof(crt), "%s.crt", name);
		snprintf(key, sizeof(key), "%s.key", name);
		s->kp[0].cert = pki_pem(crt);
		s->kp[0].key = pki_pem(key);
		s->c.nkeypairs = 1;
	}
}

static void
sconf_add(struct sconf *s, const char *crt, const char *key)
{
	s->kp[s->c.nkeypairs].cert = pki_pem(crt);
	s->kp[s->c.nkeypairs].key = pki_pem(key);
	s->c.nkeypairs++;
}

static void
sconf_free(struct sconf *s)
{
	size_t	 i;

	for (i = 0; i < s->c.nkeypairs; i++) {
		assert_true(wiped(&s->kp[i].key));
		free(s->kp[i].cert.p);
		free(s->kp[i].key.p);
	}
	free(s->c.ca.p);
	free(s->c.crl.p);
}

static struct tls_server *
server(struct sconf *s)
{
	struct tls_server	*ts;
	char			 err[256];

	ts = tls_server_new(&s->c, err, sizeof(err));
	if (ts == NULL)
		fail_msg("tls_server_new: %s", err);
	sconf_free(s);
	return ts;
}

static void
server_fails(struct sconf *s, const char *want)
{
	char	 err[256];

	err[0] = '\0';
	assert_null(tls_server_new(&s->c, err, sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" has no \"%s\"", err, want);
	sconf_free(s);
	assert_int_equal(ERR_peek_error(), 0);
}

/* A client context trusting the test CA, with a certificate or not. */
static SSL_CTX *
client(const char *name, int max_version)
{
	struct tls_client_conf	 c;
	struct tls_keypair	 kp;
	SSL_CTX			*ctx;
	char			 err[256], crt[64], key[64];

	memset(&c, 0, sizeof(c));
	c.ca = pki_pem("ca.crt");
	if (name != NULL) {
		snprintf(crt, sizeof(crt), "%s.crt", name);
		snprintf(key, sizeof(key), "%s.key", name);
		kp.cert = pki_pem(crt);
		kp.key = pki_pem(key);
		c.keypair = &kp;
	}
	ctx = tls_client_ctx_new(&c, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("tls_client_ctx_new: %s", err);
	if (name != NULL) {
		assert_true(wiped(&kp.key));
		free(kp.cert.p);
		free(kp.key.p);
	}
	free(c.ca.p);
	if (max_version != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx,
		    max_version), 1);
	return ctx;
}

struct conn {
	SSL		*s;		/* tls.c's side */
	SSL		*c;
	int		 fds[2];
	const char	*err;		/* the server's, if it failed */
};

/* Drive both ends until the server is done; 0 if both succeeded. */
static int
handshake(struct tls_server *ts, SSL_CTX *cctx, const char *host,
    SSL_SESSION *resume, struct conn *k)
{
	int	 sdone = 0, cdone = 0, i, r;

	memset(k, 0, sizeof(*k));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    k->fds), 0);
	assert_non_null(k->s = tls_server_ssl(ts, k->fds[0]));
	assert_non_null(k->c = tls_client_ssl(cctx, k->fds[1], host));
	if (resume != NULL)
		assert_int_equal(SSL_set_session(k->c, resume), 1);
	for (i = 0; i < 200 && !(sdone && cdone); i++) {
		if (!cdone) {
			r = SSL_do_handshake(k->c);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(k->c, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(k->c, r) != SSL_ERROR_WANT_WRITE)
				cdone = -1;
		}
		if (!sdone) {
			r = SSL_do_handshake(k->s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(k->s, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(k->s, r) != SSL_ERROR_WANT_WRITE) {
				k->err = tls_error(k->s, r);
				sdone = -1;
			}
		}
		if (sdone == -1)
			break;
	}
	ERR_clear_error();
	return sdone == 1 && cdone == 1 ? 0 : -1;
}

static void
conn_free(struct conn *k)
{
	/* Shut down properly, or OpenSSL forgets the session. */
	if (k->err == NULL) {
		SSL_shutdown(k->c);
		SSL_shutdown(k->s);
	}
	ERR_clear_error();
	SSL_free(k->s);
	SSL_free(k->c);
	close(k->fds[0]);
	close(k->fds[1]);
}

/* The CN of the certificate the client got. */
static const char *
server_cn(struct conn *k)
{
	static char	 cn[128];
	X509		*x = SSL_get0_peer_certificate(k->c);

	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn));
	return cn;
}

static void
expect_refused(struct tls_server *ts, SSL_CTX *cctx, const char *want)
{
	struct conn	 k;

	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), -1);
	assert_non_null(k.err);
	if (strstr(k.err, want) == NULL)
		fail_msg("\"%s\" has no \"%s\"", k.err, want);
	conn_free(&k);
}

/* Bytes go both ways on an established connection. */
static void
exchange(struct conn *k)
{
	char	 buf[16];
	int	 i, n = -1;

	assert_int_equal(SSL_write(k->c, "ping", 4), 4);
	for (i = 0; i < 10 && n <= 0; i++)
		n = SSL_read(k->s, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(SSL_write(k->s, "pong", 4), 4);
	for (i = 0, n = -1; i < 10 && n <= 0; i++)
		n = SSL_read(k->c, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);
}

static void
test_rsa(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx = client(NULL, 0);
	char			 v[TLS_VERSION_MAX], c[TLS_CIPHER_MAX];
	char			 subj[TLS_SUBJECT_MAX], cn[TLS_CN_MAX];
	const char		*why;

	(void)state;
	sconf_init(&s, "server-rsa");
	ts = server(&s);
	assert_int_equal(tls_server_contexts(ts), 1);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	tls_conn_facts(k.s, v, sizeof(v), c, sizeof(c));
	assert_string_equal(v, "TLSv1.3");
	assert_string_equal(c, "TLS_AES_256_GCM_SHA384");
	/* No client certificate asked for. */
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn,
	    sizeof(cn), &why), 0);
	assert_string_equal(subj, "");
	exchange(&k);
	conn_free(&k);
	/* An address as the host: verified against the IP SAN. */
	assert_int_equal(handshake(ts, cctx, "127.0.0.1", NULL, &k), 0);
	conn_free(&k);
	tls_server_unref(ts);
	SSL_CTX_free(cctx);
}

static void
test_rsa_and_ecdsa(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx = client(NULL, 0);
	X509			*x;

	(void)state;
	sconf_init(&s, "server-rsa");
	sconf_add(&s, "server-ec.crt", "server-ec.key");
	ts = server(&s);
	/* Same names: one context with both keys. */
	assert_int_equal(tls_server_contexts(ts), 1);
	assert_int_equal(SSL_CTX_set1_sigalgs_list(cctx, "ECDSA+SHA256"), 1);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	x = SSL_get0_peer_certificate(k.c);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)),
	    EVP_PKEY_EC);
	conn_free(&k);
	assert_int_equal(SSL_CTX_set1_sigalgs_list(cctx,
	    "RSA-PSS+SHA256:RSA+SHA256"), 1);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	x = SSL_get0_peer_certificate(k.c);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)),
	    EVP_PKEY_RSA);
	conn_free(&k);
	tls_server_unref(ts);
	SSL_CTX_free(cctx);
}

static void
test_sni(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx = client(NULL, 0);

	(void)state;
	sconf_init(&s, "server-rsa");
	sconf_add(&s, "sni.crt", "sni.key");
	ts = server(&s);
	assert_int_equal(tls_server_contexts(ts), 2);
	assert_int_equal(handshake(ts, cctx, "other.example", NULL, &k), 0);
	assert_string_equal(server_cn(&k), "other.example");
	conn_free(&k);
	assert_int_equal(handshake(ts, cctx, "OTHER.example", NULL, &k), 0);
	assert_string_equal(server_cn(&k), "other.example");
	conn_free(&k);
	assert_int_equal(handshake(ts, cctx, "a.wild.example", NULL, &k), 0);
	assert_string_equal(server_cn(&k), "other.example");
	conn_free(&k);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_string_equal(server_cn(&k), "localhost");
	conn_free(&k);
	/* A wildcard is one label: the default, which does not verify. */
	assert_int_equal(handshake(ts, cctx, "b.a.wild.example", NULL, &k),
	    -1);
	conn_free(&k);
	/* No SNI (an address): the default. */
	assert_int_equal(handshake(ts, cctx, "127.0.0.1", NULL, &k), 0);
	assert_string_equal(server_cn(&k), "localhost");
	conn_free(&k);
	tls_server_unref(ts);
	SSL_CTX_free(cctx);
}

static void
test_chain(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx = client(NULL, 0);

	(void)state;
	sconf_init(&s, NULL);
	sconf_add(&s, "chain.crt", "server-rsa.key");
	ts = server(&s);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(k.c)), 2);
	conn_free(&k);
	tls_server_unref(ts);
	SSL_CTX_free(cctx);
}

static void
test_load_errors(void **state)
{
	struct sconf	 s;

	(void)state;
	sconf_init(&s, NULL);
	sconf_add(&s, "server-rsa.crt", "server-ec.key");
	server_fails(&s, "does not match");
	sconf_init(&s, NULL);
	sconf_add(&s, "server-rsa.crt", "server-enc.key");
	server_fails(&s, "encrypted");
	sconf_init(&s, NULL);
	sconf_add(&s, "server-rsa.key", "server-rsa.key");
	server_fails(&s, "certificate");
	sconf_init(&s, NULL);
	sconf_add(&s, "server-rsa.crt", "server-rsa.crt");
	server_fails(&s, "key");
	sconf_init(&s, NULL);
	server_fails(&s, "no certificate");
	sconf_init(&s, "server-rsa");
	sconf_add(&s, "chain.crt", "server-rsa.key");
	server_fails(&s, "same names");
	sconf_init(&s, "server-weak");
	server_fails(&s, "too small");
	/* A bad second keypair wipes the first key too. */
	sconf_init(&s, "server-ec");
	sconf_add(&s, "sni.crt", "server-ec.key");
	server_fails(&s, "does not match");

	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	server_fails(&s, "no CA certificate");
	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	s.c.ca = pki_pem("server-rsa.key");
	server_fails(&s, "no CA certificate");
	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	s.c.ca = pki_pem("ca.crt");
	s.c.crl = pki_pem("ca.crt");
	server_fails(&s, "no CRL");
	sconf_init(&s, "server-rsa");
	s.c.ciphers = "NOPE";
	server_fails(&s, "ciphers");
	sconf_init(&s, "server-rsa");
	s.c.ciphersuites = "TLS_NOPE";
	server_fails(&s, "ciphersuites");
	sconf_init(&s, "server-rsa");
	s.c.groups = "P-7";
	server_fails(&s, "groups");
	sconf_init(&s, "server-rsa");
	s.c.min_version = TLS1_1_VERSION;
	server_fails(&s, "minimum version");
}

static void
test_client_required(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx;
	char			 subj[TLS_SUBJECT_MAX], cn[TLS_CN_MAX];
	const char		*why = NULL;

	(void)state;
	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	s.c.ca = pki_pem("ca.crt");
	ts = server(&s);

	cctx = client("client", 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn,
	    sizeof(cn), &why), 1);
	assert_string_equal(subj, "O=brokerd tests,CN=device-1");
	assert_string_equal(cn, "device-1");
	/* Too small a buffer is an error, not a cut identity. */
	assert_int_equal(tls_peer_identity(k.s, subj, 10, cn, sizeof(cn),
	    &why), -1);
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn, 8,
	    &why), -1);
	exchange(&k);
	conn_free(&k);
	SSL_CTX_free(cctx);

	cctx = client(NULL, 0);
	expect_refused(ts, cctx, "certificate");
	SSL_CTX_free(cctx);
	cctx = client("client-expired", 0);
	expect_refused(ts, cctx, "expired");
	SSL_CTX_free(cctx);
	cctx = client("client-future", 0);
	expect_refused(ts, cctx, "not yet valid");
	SSL_CTX_free(cctx);
	cctx = client("client-otherca", 0);
	expect_refused(ts, cctx, "unable to get local issuer");
	SSL_CTX_free(cctx);
	/* Verified, but two CNs: no identity can be taken from it. */
	cctx = client("client-twocn", 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn,
	    sizeof(cn), &why), -1);
	assert_string_equal(why, "certificate with more than one CN");
	conn_free(&k);
	SSL_CTX_free(cctx);
	/* Without a CRL, the revoked certificate passes. */
	cctx = client("client-revoked", 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	conn_free(&k);
	tls_server_unref(ts);

	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	s.c.ca = pki_pem("ca.crt");
	s.c.crl = pki_pem("crl.pem");
	ts = server(&s);
	expect_refused(ts, cctx, "revoked");
	SSL_CTX_free(cctx);
	cctx = client("client", 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	conn_free(&k);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}

static void
test_client_optional(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx;
	char			 subj[TLS_SUBJECT_MAX], cn[TLS_CN_MAX];
	const char		*why;

	(void)state;
	sconf_init(&s, "server-ec");
	s.c.verify = TLS_VERIFY_OPTIONAL;
	s.c.ca = pki_pem("ca.crt");
	ts = server(&s);
	cctx = client(NULL, 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn,
	    sizeof(cn), &why), 0);
	conn_free(&k);
	SSL_CTX_free(cctx);
	cctx = client("client", 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_int_equal(tls_peer_identity(k.s, subj, sizeof(subj), cn,
	    sizeof(cn), &why), 1);
	assert_string_equal(cn, "device-1");
	conn_free(&k);
	SSL_CTX_free(cctx);
	/* Sent but not trusted: refused, optional or not. */
	cctx = client("client-otherca", 0);
	expect_refused(ts, cctx, "certificate verify failed");
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}

static void
test_versions_and_ciphers(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx;
	char			 v[TLS_VERSION_MAX], c[TLS_CIPHER_MAX];

	(void)state;
	sconf_init(&s, "server-rsa");
	ts = server(&s);
	cctx = client(NULL, TLS1_2_VERSION);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	tls_conn_facts(k.s, v, sizeof(v), c, sizeof(c));
	assert_string_equal(v, "TLSv1.2");
	assert_string_equal(c, "ECDHE-RSA-AES128-GCM-SHA256");
	conn_free(&k);
	SSL_CTX_free(cctx);
	/* TLS 1.1 is below every minimum we allow. */
	cctx = client(NULL, TLS1_1_VERSION);
	SSL_CTX_set_security_level(cctx, 0);
	SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
	assert_int_equal(SSL_CTX_set_cipher_list(cctx, "DEFAULT"), 1);
	expect_refused(ts, cctx, "unsupported protocol");
	SSL_CTX_free(cctx);
	tls_server_unref(ts);

	sconf_init(&s, "server-rsa");
	s.c.min_version = TLS1_3_VERSION;
	s.c.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	ts = server(&s);
	cctx = client(NULL, TLS1_2_VERSION);
	expect_refused(ts, cctx, "protocol");
	SSL_CTX_free(cctx);
	cctx = client(NULL, 0);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	tls_conn_facts(k.s, v, sizeof(v), c, sizeof(c));
	assert_string_equal(c, "TLS_CHACHA20_POLY1305_SHA256");
	conn_free(&k);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);

	sconf_init(&s, "server-ec");
	s.c.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
	s.c.groups = "P-384";
	ts = server(&s);
	cctx = client(NULL, TLS1_2_VERSION);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	tls_conn_facts(k.s, v, sizeof(v), c, sizeof(c));
	assert_string_equal(c, "ECDHE-ECDSA-CHACHA20-POLY1305");
	conn_free(&k);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}

static void
test_resumption(void **state)
{
	struct sconf		 s;
	struct tls_server	*ts;
	struct conn		 k;
	SSL_CTX			*cctx = client("client", TLS1_2_VERSION);
	SSL_SESSION		*sess;

	(void)state;
	sconf_init(&s, "server-rsa");
	s.c.verify = TLS_VERIFY_REQUIRED;
	s.c.ca = pki_pem("ca.crt");
	ts = server(&s);
	assert_int_equal(handshake(ts, cctx, "localhost", NULL, &k), 0);
	assert_non_null(sess = SSL_get1_session(k.c));
	conn_free(&k);
	assert_int_equal(handshake(ts, cctx, "localhost", sess, &k), 0);
	assert_true(SSL_session_reused(k.s));
	conn_free(&k);
	SSL_SESSION_free(sess);
	tls_server_unref(ts);
	SSL_CTX_free(cctx);
}

static void
test_reload(void **state)
{
	struct sconf		 s;
	struct tls_server	*old, *new;
	struct conn		 k, k2;
	SSL_CTX			*cctx = client(NULL, 0);

	(void)state;
	sconf_init(&s, "server-rsa");
	sconf_add(&s, "sni.crt", "sni.key");
	old = server(&s);
	assert_int_equal(handshake(old, cctx, "other.example", NULL, &k), 0);
	/* A reload: the listener drops the old set for a new one. */
	sconf_init(&s, "server-ec");
	new = server(&s);
	tls_server_unref(old);
	exchange(&k);
	assert_int_equal(handshake(new, cctx, "other.example", NULL, &k2),
	    -1);
	conn_free(&k2);
	assert_int_equal(handshake(new, cctx, "localhost", NULL, &k2), 0);
	exchange(&k2);
	exchange(&k);
	conn_free(&k2);
	conn_free(&k);
	tls_server_unref(new);
	SSL_CTX_free(cctx);
}

static void
test_client_ctx(void **state)
{
	struct tls_client_conf	 c;
	struct tls_keypair	 kp;
	char			 err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_null(tls_client_ctx_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "no CA"));
	c.ca = pki_pem("ca.crt");
	kp.cert = pki_pem("client.crt");
	kp.key = pki_pem("server-ec.key");
	c.keypair = &kp;
	assert_null(tls_client_ctx_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	assert_true(wiped(&kp.key));
	free(kp.cert.p);
	free(kp.key.p);
	free(c.ca.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_rsa_and_ecdsa),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_client_required),
		cmocka_unit_test(test_client_optional),
		cmocka_unit_test(test_versions_and_ciphers),
		cmocka_unit_test(test_resumption),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_client_ctx),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
