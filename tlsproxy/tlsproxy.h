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

#ifndef BROKERD_TLSPROXY_H
#define BROKERD_TLSPROXY_H

/*
 * tlsproxy: terminates TLS and WebSocket (and reads PROXY headers) on the
 * listeners the parent hands it, and gives the engine one end of a
 * socketpair per connection with the connection's facts.  The wire
 * formats are in ws.h, http.h and proxy.h; this is the rest.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "event.h"
#include "http.h"

/* tls.c */
#define TLS_VERIFY_NONE		0	/* no client certificate asked for */
#define TLS_VERIFY_OPTIONAL	1	/* asked for; if sent, it must verify */
#define TLS_VERIFY_REQUIRED	2

/* PEM text as the parent sent it. */
struct tls_pem {
	uint8_t		*p;
	size_t		 len;
};

struct tls_keypair {
	struct tls_pem	 cert;		/* the certificate, then its chain */
	struct tls_pem	 key;		/* wiped once read */
};

/*
 * A listener's TLS settings.  Certificates whose names (subjectAltName
 * DNS names, else the CN) are the same share a context, one RSA and one
 * ECDSA key each; SNI picks among the contexts, the first is the default.
 */
struct tls_server_conf {
	struct tls_keypair *keypairs;
	size_t		 nkeypairs;
	struct tls_pem	 ca;		/* a bundle: client CAs */
	struct tls_pem	 crl;		/* a bundle of CRLs, or empty */
	int		 verify;
	int		 min_version;	/* TLS1_2_VERSION or TLS1_3_VERSION */
	const char	*ciphers;	/* TLS 1.2; NULL: our default */
	const char	*ciphersuites;	/* TLS 1.3; NULL: OpenSSL's */
	const char	*groups;	/* NULL: our default */
	uint32_t	 id;		/* the listener, for session ids */
};

/* A bridge's settings, for the client side. */
struct tls_client_conf {
	struct tls_pem	 ca;
	struct tls_keypair *keypair;	/* NULL: no client certificate */
	int		 min_version;
	const char	*ciphers;
	const char	*ciphersuites;
	const char	*groups;
};

struct tls_server;

#define TLS_DEFAULT_CIPHERS						\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_DEFAULT_GROUPS	"X25519:P-256:P-384"


void		 tls_init(void);
struct tls_server *tls_server_new(struct tls_server_conf *, char *, size_t);
struct tls_server *tls_server_ref(struct tls_server *);
void		 tls_server_unref(struct tls_server *);
size_t		 tls_server_contexts(const struct tls_server *);
SSL		*tls_server_ssl(struct tls_server *, int);
int		 tls_peer_identity(SSL *, char *, size_t, char *, size_t,
		    const char **);
void		 tls_conn_facts(SSL *, char *, size_t, char *, size_t);
const char	*tls_error(SSL *, int);
SSL_CTX		*tls_client_ctx_new(struct tls_client_conf *, char *, size_t);
SSL		*tls_client_ssl(SSL_CTX *, int, const char *);

/* relay.c */

/*
 * The hand-off record: what the engine is told with each connection
 * (IPC_TLS_CONN; TRANSPORT_ and IDENTITY_ are in conf.h).  Strings are
 * NUL-terminated and hold no NUL; empty when unknown.
 *
 * Kernel TLS (Linux CONFIG_TLS, OpenSSL with SSL_OP_ENABLE_KTLS) would
 * fit here: once the handshake is done and the traffic keys are in the
 * kernel, a TLS connection without WebSocket needs no relay, and the
 * record would go with the client socket itself instead of a socketpair
 * end.  The engine would read plaintext from it as from a TCP client;
 * tlsproxy would keep only the connections it must still frame or whose
 * cipher the kernel does not offer.  The private key stays here.
 */
struct handoff {
	uint32_t	 listener;
	uint8_t		 transport;
	uint8_t		 proxied;	/* addresses from a PROXY header */
	uint8_t		 identity;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	char		 tls_version[TLS_VERSION_MAX];
	char		 tls_cipher[TLS_CIPHER_MAX];
	char		 subject[TLS_SUBJECT_MAX];	/* RFC 2253 */
	char		 cn[TLS_CN_MAX];
};

#define TPL_TLS			0x01
#define TPL_WS			0x02

/* A listening socket the parent passed, and what it speaks. */
struct tp_listener {
	TAILQ_ENTRY(tp_listener) entry;
	uint32_t	 id;
	int		 fd;
	unsigned int	 flags;		/* TPL_TLS, TPL_WS */
	unsigned int	 proxy;		/* PROXY_V1 | PROXY_V2, or 0 */
	struct tls_server *tls;		/* TPL_TLS; replaced at reload */
	struct http_policy http;	/* TPL_WS */
	/* 0: relay_limits' */
	unsigned int	 max_handshakes;
	unsigned int	 max_handshakes_addr;
	unsigned int	 handshake_timeout;	/* ms */
	unsigned int	 handshakes;		/* in progress */
	struct event	 ev;
	struct evtimer	 pause;		/* out of descriptors: wait */
};

/* Defaults for every listener; the handshake limits count per listener. */
struct relay_limits {
	unsigned int	 max_handshakes;	/* in progress */
	unsigned int	 max_handshakes_addr;	/* ... from one address */
	unsigned int	 handshake_timeout;	/* ms, accept to hand-off */
	unsigned int	 close_timeout;		/* ms to linger at the end */
	size_t		 bufsize;		/* each way, per connection */
	size_t		 proxy_max;		/* a PROXY v2 header */
	uint64_t	 ws_max_message;
	unsigned int	 ws_max_fragments;
};

#define RELAY_LIMITS_DEFAULT {						\
	.max_handshakes = 1024,						\
	.max_handshakes_addr = 32,					\
	.handshake_timeout = 10000,					\
	.close_timeout = 5000,						\
	.bufsize = 64 * 1024,						\
	.proxy_max = 4096,						\
	.ws_max_message = 268435460,					\
	.ws_max_fragments = 4096,					\
}


/*
 * Hands the engine its end of a connection's socketpair and the facts.
 * Called with -1 and NULL first: return -1 if the engine's channel can
 * take no descriptor now (the relay asks again next turn), 0 if it can;
 * then with the descriptor, which it owns.
 */
typedef int	(*relay_handoff_fn)(int, const struct handoff *, void *);

void		 relay_init(const struct relay_limits *, relay_handoff_fn,
		    void *);
void		 relay_listen(struct tp_listener *);
void		 relay_unlisten(struct tp_listener *);
void		 relay_accept(struct tp_listener *, int,
		    const struct sockaddr *, socklen_t);
void		 relay_close_all(void);
const struct tlsproxy_stats *relay_stats(void);

#endif /* BROKERD_TLSPROXY_H */
