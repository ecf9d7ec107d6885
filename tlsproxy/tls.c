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
 * OpenSSL contexts built from PEM text in memory: tlsproxy has no file
 * system, the parent reads the files and sends their contents.  A
 * private key exists as PEM only until it is parsed: tls_server_new()
 * and tls_client_ctx_new() wipe every key they were given, whether they
 * succeed or not.
 *
 * A struct tls_server is one listener's set of contexts, immutable once
 * built and counted by reference: a reload builds a new one and the
 * listener drops the old, while handshakes in progress keep theirs (the
 * SNI callback uses it) and established connections keep their SSL_CTX
 * through OpenSSL's own count.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tlsproxy.h"

#define TLS_KEY_RSA		0x01
#define TLS_KEY_EC		0x02
#define TLS_KEY_OTHER		0x04

/* The contexts of one set of names. */
struct tls_ctx {
	SSL_CTX		*ctx;
	char		**names;	/* lower case, sorted */
	size_t		 nnames;
	unsigned int	 keytypes;
};

struct tls_server {
	int		 refs;
	struct tls_ctx	*ctxs;		/* the first is the default */
	size_t		 nctx;
};

void
tls_init(void)
{
	/* No openssl.cnf: the settings are ours, the sandbox has no files. */
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1)
		fatalx("OPENSSL_init_ssl failed");
}

/* "what: OpenSSL's reason" into err, and the error queue emptied. */
static void
tls_seterr(char *err, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		snprintf(err, errlen, "%s: %s", what, reason);
	else if (e != 0)
		snprintf(err, errlen, "%s: error %lx", what, e);
	else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

static int
tls_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static BIO *
tls_bio(const struct tls_pem *pem)
{
	if (pem->p == NULL || pem->len == 0 || pem->len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(pem->p, (int)pem->len);
}

/* The certificate and the chain after it. */
static int
tls_load_chain(const struct tls_pem *pem, X509 **leaf, STACK_OF(X509) **chain,
    char *err, size_t errlen)
{
	BIO		*bio;
	X509		*x;
	unsigned long	 e;

	*leaf = NULL;
	*chain = NULL;
	if ((bio = tls_bio(pem)) == NULL) {
		snprintf(err, errlen, "no certificate");
		return -1;
	}
	if ((*leaf = PEM_read_bio_X509(bio, NULL, tls_nopass, NULL)) == NULL) {
		tls_seterr(err, errlen, "certificate");
		goto fail;
	}
	if ((*chain = sk_X509_new_null()) == NULL) {
		tls_seterr(err, errlen, "certificate chain");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, tls_nopass, NULL)) != NULL)
		if (sk_X509_push(*chain, x) == 0) {
			X509_free(x);
			tls_seterr(err, errlen, "certificate chain");
			goto fail;
		}
	/* Only the end of the text may end the chain. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		tls_seterr(err, errlen, "certificate chain");
		goto fail;
	}
	ERR_clear_error();
	BIO_free(bio);
	return 0;
 fail:
	BIO_free(bio);
	X509_free(*leaf);
	sk_X509_pop_free(*chain, X509_free);
	*leaf = NULL;
	*chain = NULL;
	return -1;
}

static EVP_PKEY *
tls_load_key(struct tls_pem *pem, char *err, size_t errlen)
{
	EVP_PKEY	*pkey;
	BIO		*bio;

	if ((bio = tls_bio(pem)) == NULL) {
		snprintf(err, errlen, "no key");
		return NULL;
	}
	if (memmem(pem->p, pem->len, "ENCRYPTED", 9) != NULL) {
		BIO_free(bio);
		snprintf(err, errlen, "key: encrypted (no passphrases here)");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_nopass, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(pem->p, pem->len);
	if (pkey == NULL)
		tls_seterr(err, errlen, "key");
	return pkey;
}

static void
tls_wipe_keys(struct tls_keypair *kp, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (kp[i].key.p != NULL)
			OPENSSL_cleanse(kp[i].key.p, kp[i].key.len);
}

static unsigned int
tls_keytype(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return TLS_KEY_RSA;
	case EVP_PKEY_EC:
		return TLS_KEY_EC;
	default:
		return TLS_KEY_OTHER;
	}
}

static int
tls_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
tls_add_name(char ***names, size_t *n, const unsigned char *p, int len)
{
	char	**nv, *s;
	int	  i;

	if (len <= 0 || memchr(p, '\0', len) != NULL)
		return 0;		/* not a name SNI can ask for */
	if ((nv = reallocarray(*names, *n + 1, sizeof(*nv))) == NULL)
		return -1;
	*names = nv;
	if ((s = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		s[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i];
	s[len] = '\0';
	nv[(*n)++] = s;
	return 0;
}

static void
tls_free_names(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The DNS names of a certificate, else its CN; sorted. */
static int
tls_cert_names(X509 *x, char ***names, size_t *n)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*gen;
	X509_NAME	*subj;
	unsigned char	*u;
	int		 i, idx, len, rc = 0;

	*names = NULL;
	*n = 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_DNS)
			continue;
		if (tls_add_name(names, n,
		    ASN1_STRING_get0_data(gen->d.dNSName),
		    ASN1_STRING_length(gen->d.dNSName)) == -1) {
			rc = -1;
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	if (rc == 0 && *n == 0) {
		subj = X509_get_subject_name(x);
		idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
		if (idx >= 0 && (len = ASN1_STRING_to_UTF8(&u,
		    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj,
		    idx)))) >= 0) {
			rc = tls_add_name(names, n, u, len);
			OPENSSL_free(u);
		}
	}
	if (rc == -1) {
		tls_free_names(*names, *n);
		*names = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), tls_strcmp);
	return 0;
}

static int
tls_same_names(char **a, size_t na, char **b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* A name SNI asked for against a certificate's: "*." is one label. */
static int
tls_name_match(const char *pattern, const char *name, int wild)
{
	const char	*dot;

	if (!wild)
		return strcasecmp(pattern, name) == 0;
	if (pattern[0] != '*' || pattern[1] != '.')
		return 0;
	dot = strchr(name, '.');
	return dot != NULL && dot != name && strcasecmp(dot, pattern + 1) == 0;
}

static size_t
tls_server_pick(const struct tls_server *ts, const char *name)
{
	size_t	 i, j;
	int	 wild;

	for (wild = 0; wild < 2; wild++)
		for (i = 0; i < ts->nctx; i++)
			for (j = 0; j < ts->ctxs[i].nnames; j++)
				if (tls_name_match(ts->ctxs[i].names[j], name,
				    wild))
					return i;
	return 0;
}

static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server	*ts = arg;
	const char		*name;
	size_t			 i;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if ((i = tls_server_pick(ts, name)) != 0 &&
	    SSL_set_SSL_CTX(ssl, ts->ctxs[i].ctx) == NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* Settings both sides share. */
static int
tls_ctx_common(SSL_CTX *ctx, int min_version, const char *ciphers,
    const char *ciphersuites, const char *groups, char *err, size_t errlen)
{
	if (min_version == 0)
		min_version = TLS1_2_VERSION;
	if (min_version != TLS1_2_VERSION && min_version != TLS1_3_VERSION) {
		snprintf(err, errlen, "minimum version is not 1.2 or 1.3");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
		tls_seterr(err, errlen, "minimum version");
		return -1;
	}
	SSL_CTX_set_security_level(ctx, 2);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, ciphers != NULL ? ciphers :
	    TLS_DEFAULT_CIPHERS) != 1) {
		tls_seterr(err, errlen, "ciphers");
		return -1;
	}
	if (ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1) {
		tls_seterr(err, errlen, "ciphersuites");
		return -1;
	}
	if (SSL_CTX_set1_groups_list(ctx, groups != NULL ? groups :
	    TLS_DEFAULT_GROUPS) != 1) {
		tls_seterr(err, errlen, "groups");
		return -1;
	}
	return 0;
}

/*
 * Certificates (and CRLs) from a PEM bundle into a store; `names' gets
 * the certificates' subjects, for the CertificateRequest.
 */
static int
tls_store_add(X509_STORE *store, const struct tls_pem *pem, int crls,
    STACK_OF(X509_NAME) *names, char *err, size_t errlen)
{
	STACK_OF(X509_INFO)	*infos;
	X509_INFO		*xi;
	X509_NAME		*xn;
	BIO			*bio;
	int			 i, n = 0, ok = 1;

	if ((bio = tls_bio(pem)) == NULL)
		return 0;
	infos = PEM_X509_INFO_read_bio(bio, NULL, tls_nopass, NULL);
	BIO_free(bio);
	if (infos == NULL) {
		tls_seterr(err, errlen, crls ? "CRL" : "CA");
		return -1;
	}
	for (i = 0; ok && i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (!crls && xi->x509 != NULL) {
			if (X509_STORE_add_cert(store, xi->x509) != 1)
				ok = 0;
			else if (names == NULL)
				n++;
			else if ((xn = X509_NAME_dup(
			    X509_get_subject_name(xi->x509))) == NULL ||
			    sk_X509_NAME_push(names, xn) <= 0) {
				X509_NAME_free(xn);
				ok = 0;
			} else
				n++;
		}
		if (crls && xi->crl != NULL) {
			if (X509_STORE_add_crl(store, xi->crl) != 1)
				ok = 0;
			else
				n++;
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (!ok) {
		tls_seterr(err, errlen, crls ? "CRL" : "CA");
		return -1;
	}
	return n;
}

static SSL_CTX *
tls_server_ctx(struct tls_server *ts, const struct tls_server_conf *conf,
    X509_STORE *store, STACK_OF(X509_NAME) *canames, char *err,
    size_t errlen)
{
	SSL_CTX			*ctx;
	STACK_OF(X509_NAME)	*names;
	unsigned char		 sid[12];
	int			 mode;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_seterr(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (tls_ctx_common(ctx, conf->min_version, conf->ciphers,
	    conf->ciphersuites, conf->groups, err, errlen) == -1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_read_ahead(ctx, 1);
	memcpy(sid, "brokerd", 7);
	sid[7] = (unsigned char)(conf->id >> 24);
	sid[8] = (unsigned char)(conf->id >> 16);
	sid[9] = (unsigned char)(conf->id >> 8);
	sid[10] = (unsigned char)conf->id;
	sid[11] = (unsigned char)conf->verify;
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid)) != 1) {
		tls_seterr(err, errlen, "session id context");
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	if (conf->verify != TLS_VERIFY_NONE) {
		/* Every context of the listener verifies alike. */
		SSL_CTX_set1_cert_store(ctx, store);
		if ((names = SSL_dup_CA_list(canames)) == NULL) {
			tls_seterr(err, errlen, "CA");
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
		if (conf->verify == TLS_VERIFY_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	}
	return ctx;
 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Add one keypair to the context of its names, or to a new one. */
static int
tls_server_add(struct tls_server *ts, const struct tls_server_conf *conf,
    struct tls_keypair *kp, X509_STORE *store, STACK_OF(X509_NAME) *canames,
    char *err, size_t errlen)
{
	struct tls_ctx	*tc = NULL, *nv;
	STACK_OF(X509)	*chain = NULL;
	X509		*leaf = NULL;
	EVP_PKEY	*pkey = NULL;
	char		**names = NULL;
	size_t		 nnames = 0, i;
	unsigned int	 type;
	int		 rc = -1;

	if (tls_load_chain(&kp->cert, &leaf, &chain, err, errlen) == -1)
		goto done;
	if ((pkey = tls_load_key(&kp->key, err, errlen)) == NULL)
		goto done;
	if (X509_check_private_key(leaf, pkey) != 1) {
		tls_seterr(err, errlen, "key does not match the certificate");
		goto done;
	}
	if (tls_cert_names(leaf, &names, &nnames) == -1) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	type = tls_keytype(pkey);
	for (i = 0; i < ts->nctx; i++)
		if (tls_same_names(ts->ctxs[i].names, ts->ctxs[i].nnames,
		    names, nnames)) {
			tc = &ts->ctxs[i];
			break;
		}
	if (tc != NULL && (tc->keytypes & type)) {
		snprintf(err, errlen, "two certificates with the same names "
		    "and the same kind of key");
		goto done;
	}
	if (tc == NULL) {
		if ((nv = reallocarray(ts->ctxs, ts->nctx + 1,
		    sizeof(*nv))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		ts->ctxs = nv;
		tc = &ts->ctxs[ts->nctx];
		memset(tc, 0, sizeof(*tc));
		if ((tc->ctx = tls_server_ctx(ts, conf, store, canames, err,
		    errlen)) == NULL)
			goto done;
		tc->names = names;
		tc->nnames = nnames;
		names = NULL;
		nnames = 0;
		ts->nctx++;
	}
	if (SSL_CTX_use_cert_and_key(tc->ctx, leaf, pkey, chain, 1) != 1) {
		tls_seterr(err, errlen, "certificate");
		goto done;
	}
	tc->keytypes |= type;
	rc = 0;
 done:
	tls_free_names(names, nnames);
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/*
 * Build a listener's contexts.  On error, NULL and why in `err'.  Every
 * key in `conf' is wiped either way.
 */
struct tls_server *
tls_server_new(struct tls_server_conf *conf, char *err, size_t errlen)
{
	struct tls_server	*ts;
	X509_STORE		*store = NULL;
	STACK_OF(X509_NAME)	*canames = NULL;
	size_t			 i;
	int			 n;

	if ((ts = calloc(1, sizeof(*ts))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ts->refs = 1;
	if (conf->nkeypairs == 0) {
		snprintf(err, errlen, "no certificate");
		goto fail;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (canames = sk_X509_NAME_new_null()) == NULL) {
		tls_seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (conf->verify != TLS_VERIFY_NONE) {
		if ((n = tls_store_add(store, &conf->ca, 0, canames, err,
		    errlen)) == -1)
			goto fail;
		if (n == 0) {
			snprintf(err, errlen, "no CA certificate to verify "
			    "clients with");
			goto fail;
		}
		if (conf->crl.len > 0) {
			if ((n = tls_store_add(store, &conf->crl, 1, NULL, err,
			    errlen)) == -1)
				goto fail;
			if (n == 0) {
				snprintf(err, errlen, "no CRL in the CRL file");
				goto fail;
			}
			X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
		}
	}
	for (i = 0; i < conf->nkeypairs; i++)
		if (tls_server_add(ts, conf, &conf->keypairs[i], store,
		    canames, err, errlen) == -1)
			goto fail;
	X509_STORE_free(store);
	sk_X509_NAME_pop_free(canames, X509_NAME_free);
	tls_wipe_keys(conf->keypairs, conf->nkeypairs);
	return ts;
 fail:
	X509_STORE_free(store);
	sk_X509_NAME_pop_free(canames, X509_NAME_free);
	tls_wipe_keys(conf->keypairs, conf->nkeypairs);
	if (ts != NULL)
		tls_server_unref(ts);
	return NULL;
}

struct tls_server *
tls_server_ref(struct tls_server *ts)
{
	ts->refs++;
	return ts;
}

void
tls_server_unref(struct tls_server *ts)
{
	size_t	 i;

	if (ts == NULL || --ts->refs > 0)
		return;
	for (i = 0; i < ts->nctx; i++) {
		SSL_CTX_free(ts->ctxs[i].ctx);
		tls_free_names(ts->ctxs[i].names, ts->ctxs[i].nnames);
	}
	free(ts->ctxs);
	free(ts);
}

size_t
tls_server_contexts(const struct tls_server *ts)
{
	return ts->nctx;
}

/* A server connection on `fd', not yet started. */
SSL *
tls_server_ssl(struct tls_server *ts, int fd)
{
	SSL	*ssl;

	if ((ssl = SSL_new(ts->ctxs[0].ctx)) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/*
 * The verified client certificate's subject (RFC 2253, as Mosquitto's
 * use_subject_as_username has it) and CN.  Returns 1, 0 if the client
 * sent none, or -1 and why: not verified, too long, NUL bytes, or more
 * than one CN (which would make the identity ambiguous).
 */
int
tls_peer_identity(SSL *ssl, char *subject, size_t slen, char *cn,
    size_t cnlen, const char **why)
{
	X509		*x;
	X509_NAME	*name;
	BIO		*bio;
	char		*p;
	unsigned char	*u;
	long		 n;
	int		 idx, last = -1, count = 0, len;

	subject[0] = '\0';
	cn[0] = '\0';
	if ((x = SSL_get0_peer_certificate(ssl)) == NULL)
		return 0;
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		*why = "client certificate not verified";
		return -1;
	}
	name = X509_get_subject_name(x);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(bio);
		ERR_clear_error();
		*why = "cannot print the certificate subject";
		return -1;
	}
	n = BIO_get_mem_data(bio, &p);
	if (n < 0 || (size_t)n >= slen || memchr(p, '\0', n) != NULL) {
		BIO_free(bio);
		*why = "certificate subject too long";
		return -1;
	}
	memcpy(subject, p, n);
	subject[n] = '\0';
	BIO_free(bio);

	idx = -1;
	while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName,
	    idx)) >= 0) {
		last = idx;
		count++;
	}
	if (count > 1) {
		*why = "certificate with more than one CN";
		return -1;
	}
	if (count == 1) {
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, last)));
		if (len < 0) {
			ERR_clear_error();
			*why = "certificate CN not readable";
			return -1;
		}
		if ((size_t)len >= cnlen || memchr(u, '\0', len) != NULL) {
			OPENSSL_free(u);
			*why = "certificate CN too long or with NUL";
			return -1;
		}
		memcpy(cn, u, len);
		cn[len] = '\0';
		OPENSSL_free(u);
	}
	return 1;
}

void
tls_conn_facts(SSL *ssl, char *version, size_t vlen, char *cipher,
    size_t clen)
{
	const SSL_CIPHER	*c;

	strlcpy(version, SSL_get_version(ssl), vlen);
	if ((c = SSL_get_current_cipher(ssl)) != NULL)
		strlcpy(cipher, SSL_CIPHER_get_name(c), clen);
	else
		cipher[0] = '\0';
}

/* Why an SSL call that returned `ret' failed, for the log. */
const char *
tls_error(SSL *ssl, int ret)
{
	static char	 buf[256];
	unsigned long	 e = ERR_peek_last_error();
	long		 vr = SSL_get_verify_result(ssl);
	const char	*reason;
	int		 se = SSL_get_error(ssl, ret);

	if (vr != X509_V_OK)
		snprintf(buf, sizeof(buf), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else if (e != 0 && (reason = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, sizeof(buf), "%s", reason);
	else if (se == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(buf, sizeof(buf), "%s", strerror(errno));
	else if (se == SSL_ERROR_SYSCALL || se == SSL_ERROR_ZERO_RETURN)
		snprintf(buf, sizeof(buf), "connection closed");
	else
		snprintf(buf, sizeof(buf), "TLS error %d", se);
	ERR_clear_error();
	return buf;
}

/*
 * A bridge's context: the server is verified against `ca', and the
 * bridge's certificate and key, if any, are offered.  The key is wiped.
 */
SSL_CTX *
tls_client_ctx_new(struct tls_client_conf *conf, char *err, size_t errlen)
{
	SSL_CTX		*ctx = NULL;
	X509_STORE	*store;
	STACK_OF(X509)	*chain = NULL;
	X509		*leaf = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 n;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_seterr(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	if (tls_ctx_common(ctx, conf->min_version, conf->ciphers,
	    conf->ciphersuites, conf->groups, err, errlen) == -1)
		goto fail;
	store = SSL_CTX_get_cert_store(ctx);
	if ((n = tls_store_add(store, &conf->ca, 0, NULL, err, errlen)) == -1)
		goto fail;
	if (n == 0) {
		snprintf(err, errlen, "no CA certificate to verify the "
		    "server with");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (conf->keypair != NULL) {
		if (tls_load_chain(&conf->keypair->cert, &leaf, &chain, err,
		    errlen) == -1)
			goto fail;
		if ((pkey = tls_load_key(&conf->keypair->key, err,
		    errlen)) == NULL)
			goto fail;
		if (X509_check_private_key(leaf, pkey) != 1) {
			tls_seterr(err, errlen,
			    "key does not match the certificate");
			goto fail;
		}
		if (SSL_CTX_use_cert_and_key(ctx, leaf, pkey, chain, 1) != 1) {
			tls_seterr(err, errlen, "certificate");
			goto fail;
		}
	}
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return ctx;
 fail:
	if (conf->keypair != NULL)
		tls_wipe_keys(conf->keypair, 1);
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	SSL_CTX_free(ctx);
	return NULL;
}

/* A client connection on `fd' to `host' (a name or an address). */
SSL *
tls_client_ssl(SSL_CTX *ctx, int fd, const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	SSL		*ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1)
		goto fail;
	SSL_set_connect_state(ssl);
	return ssl;
 fail:
	SSL_free(ssl);
	ERR_clear_error();
	return NULL;
}
