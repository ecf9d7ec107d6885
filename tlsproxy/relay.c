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
 * The relay: one struct relay per client connection, from accept to
 * close.  A connection goes through the states its listener asks for,
 * all within one handshake deadline:
 *
 *	PROXY	the PROXY header, read exactly (peeked, then consumed)
 *	SNIFF	a TLS listener's first byte: a ClientHello or refused
 *	TLS	the handshake
 *	HTTP	the WebSocket upgrade
 *	HANDOFF	waiting for room on the engine's channel
 *
 * and is then handed off: the engine gets one end of a fresh socketpair
 * with the facts (struct handoff), and OPEN relays bytes both ways until
 * either side ends.  CLOSING gives the engine what the client sent
 * before it ended, the client what is left for it (a close frame,
 * close_notify), then lingers for the client's end.
 *
 * Memory is bounded per connection: the PROXY header (proxy_max, freed
 * once read) and three buffers of bufsize, each allocated when first
 * needed: `in' (the HTTP head, then raw WebSocket bytes), `toeng' and
 * `tocli'.  A side is read only while its peer's buffer has room, so a
 * peer that does not drain stops the other side: back-pressure both
 * ways.  Handshakes in progress are limited in all and per address.
 *
 * Every step returns -1 when the relay must go; only relay_step() and
 * the timer free one, after the step.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "compat.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "proxy.h"
#include "tlsproxy.h"
#include "ws.h"

enum relay_state {
	RS_PROXY,
	RS_SNIFF,
	RS_TLS,
	RS_HTTP,
	RS_HANDOFF,
	RS_OPEN,
	RS_CLOSING
};

static const char *const relay_states[] = {
	"PROXY header", "first byte", "TLS handshake", "WebSocket upgrade",
	"hand-off", "open", "closing"
};

/* A buffer read at r and written at w. */
struct rbuf {
	uint8_t		*data;
	size_t		 size;
	size_t		 r;
	size_t		 w;
};

/* Handshakes in progress from one address on one listener. */
struct relay_src {
	RB_ENTRY(relay_src) entry;
	uint32_t	 lid;
	int		 family;
	uint8_t		 addr[16];
	unsigned int	 n;
};

struct relay {
	TAILQ_ENTRY(relay) entry;
	struct tp_listener *lst;	/* NULL once the listener has gone */
	uint32_t	 lid;
	unsigned int	 lflags;	/* the listener's TPL_ flags */
	struct tls_server *tls;		/* until the handshake is done */
	SSL		*ssl;
	int		 cfd;		/* the client */
	int		 efd;		/* our end of the engine's socketpair */
	struct event	 cev;
	struct event	 eev;
	struct evtimer	 timer;		/* the handshake deadline, the linger */
	struct evtimer	 kick;		/* stalled input has room again */
	enum relay_state state;
	unsigned int	 flags;
	struct relay_src *src;
	struct handoff	 ho;
	uint8_t		*hdr;		/* the PROXY header so far */
	size_t		 hdrlen;
	struct rbuf	 in;
	struct rbuf	 toeng;
	struct rbuf	 tocli;
	size_t		 scanned;	/* of the HTTP head */
	struct ws_dec	 ws;
	char		 name[INET6_ADDRSTRLEN + 8];	/* for the log */
};

#define R_HANDSHAKE	0x0001	/* counted as a handshake in progress */
#define R_COUNTED	0x0002	/* counted as a connection */
#define R_CLIENT_EOF	0x0004	/* the client sends no more */
#define R_ENGINE_EOF	0x0008	/* the engine sends (and takes) no more */
#define R_ENGINE_SHUT	0x0010	/* the engine was told: no more */
#define R_CLIENT_SHUT	0x0020	/* the client was told */
#define R_WS_CLOSED	0x0040	/* our close frame is queued */
#define R_RWANTW	0x0080	/* SSL_read waits for the socket to write */
#define R_WWANTR	0x0100	/* SSL_write waits for it to read */
#define R_HSWANTW	0x0200	/* the handshake waits to write */
#define R_STALLED	0x0400	/* client input waits for room, not I/O */

/* What relay_cread() and relay_cwrite() return besides a count. */
#define RIO_EOF		0
#define RIO_AGAIN	-1
#define RIO_ERROR	-2

#define RELAY_ACCEPTS	64	/* per listener per turn */
#define RELAY_READS	8	/* per side per turn */

static struct relay_limits	 relay_lim = RELAY_LIMITS_DEFAULT;
static relay_handoff_fn		 relay_handoff_cb;
static void			*relay_handoff_arg;
static struct tlsproxy_stats	 rstats;
static struct log_ratelimit	 relay_rl = LOG_RATELIMIT_INIT(20, 10);
static TAILQ_HEAD(, relay)	 relays = TAILQ_HEAD_INITIALIZER(relays);

static int	relay_src_cmp(struct relay_src *, struct relay_src *);
RB_HEAD(relay_srcs, relay_src);
RB_PROTOTYPE_STATIC(relay_srcs, relay_src, entry, relay_src_cmp);
static struct relay_srcs	 relay_srcs = RB_INITIALIZER(&relay_srcs);

static void	relay_step(struct relay *, int, int);
static void	relay_client_cb(int, int, void *);
static void	relay_engine_cb(int, int, void *);
static int	relay_open(struct relay *);
static void	relay_close_begin(struct relay *, uint16_t);

static int
relay_src_cmp(struct relay_src *a, struct relay_src *b)
{
	if (a->lid != b->lid)
		return a->lid < b->lid ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

RB_GENERATE_STATIC(relay_srcs, relay_src, entry, relay_src_cmp);

/* ---- buffers */

static int
rbuf_alloc(struct rbuf *b, size_t size)
{
	if (b->data != NULL)
		return 0;
	if ((b->data = malloc(size)) == NULL)
		return -1;
	b->size = size;
	b->r = b->w = 0;
	return 0;
}

static void
rbuf_free(struct rbuf *b)
{
	if (b->data != NULL)
		freezero(b->data, b->size);
	memset(b, 0, sizeof(*b));
}

static size_t
rbuf_len(const struct rbuf *b)
{
	return b->w - b->r;
}

/* Room at the end, after moving the rest down if that is worth it. */
static size_t
rbuf_room(struct rbuf *b)
{
	if (b->data == NULL)
		return 0;
	if (b->r == b->w)
		b->r = b->w = 0;
	else if (b->r > 0 && b->size - b->w < b->size / 2) {
		memmove(b->data, b->data + b->r, b->w - b->r);
		b->w -= b->r;
		b->r = 0;
	}
	return b->size - b->w;
}

static void
rbuf_consume(struct rbuf *b, size_t n)
{
	b->r += n;
	if (b->r == b->w)
		b->r = b->w = 0;
}

/* ---- accounting */

static void
relay_addr_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "local");
}

/* Count a handshake from the address; -1 if it has too many. */
static int
relay_src_take(struct relay *r, const struct sockaddr_storage *ss)
{
	struct relay_src	 key, *s;
	unsigned int		 max = relay_lim.max_handshakes_addr;

	if (r->lst != NULL && r->lst->max_handshakes_addr != 0)
		max = r->lst->max_handshakes_addr;
	memset(&key, 0, sizeof(key));
	key.lid = r->lid;
	key.family = ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(key.addr, &((const struct sockaddr_in *)ss)->sin_addr,
		    4);
	else if (ss->ss_family == AF_INET6)
		memcpy(key.addr,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	else
		return 0;
	if ((s = RB_FIND(relay_srcs, &relay_srcs, &key)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->lid = key.lid;
		s->family = key.family;
		memcpy(s->addr, key.addr, sizeof(s->addr));
		RB_INSERT(relay_srcs, &relay_srcs, s);
	}
	if (max != 0 && s->n >= max)
		return -1;
	s->n++;
	r->src = s;
	return 0;
}

static void
relay_src_drop(struct relay *r)
{
	if (r->src == NULL)
		return;
	if (--r->src->n == 0) {
		RB_REMOVE(relay_srcs, &relay_srcs, r->src);
		free(r->src);
	}
	r->src = NULL;
}

/* The handshake is over, one way or the other. */
static void
relay_handshake_done(struct relay *r)
{
	if (r->flags & R_HANDSHAKE) {
		r->flags &= ~R_HANDSHAKE;
		rstats.handshakes--;
		if (r->lst != NULL)
			r->lst->handshakes--;
		evtimer_del(&r->timer);
	}
	relay_src_drop(r);
}

static void
relay_free(struct relay *r)
{
	TAILQ_REMOVE(&relays, r, entry);
	relay_handshake_done(r);
	evtimer_del(&r->timer);
	evtimer_del(&r->kick);
	if (r->flags & R_COUNTED)
		rstats.connections--;
	SSL_free(r->ssl);
	ERR_clear_error();
	tls_server_unref(r->tls);
	ev_close(&r->cev);
	close(r->cfd);
	if (r->efd != -1) {
		ev_close(&r->eev);
		close(r->efd);
	}
	free(r->hdr);
	rbuf_free(&r->in);
	rbuf_free(&r->toeng);
	rbuf_free(&r->tocli);
	free(r);
}

/* ---- client I/O, with or without TLS */

static ssize_t
relay_cread(struct relay *r, void *buf, size_t len)
{
	ssize_t	 n;
	int	 ret;

	if (r->ssl == NULL) {
		if ((n = read(r->cfd, buf, len)) > 0)
			return n;
		if (n == 0)
			return RIO_EOF;
		if (errno == EAGAIN || errno == EINTR)
			return RIO_AGAIN;
		log_debug("%s: read: %s", r->name, strerror(errno));
		return RIO_ERROR;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	if ((ret = SSL_read(r->ssl, buf, (int)len)) > 0) {
		r->flags &= ~R_RWANTW;
		return ret;
	}
	switch (SSL_get_error(r->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		r->flags &= ~R_RWANTW;
		return RIO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		r->flags |= R_RWANTW;
		return RIO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return RIO_EOF;
	default:
		log_debug("%s: TLS read: %s", r->name, tls_error(r->ssl, ret));
		return RIO_ERROR;
	}
}

static ssize_t
relay_cwrite(struct relay *r, const void *buf, size_t len)
{
	ssize_t	 n;
	int	 ret;

	if (r->ssl == NULL) {
		if ((n = send(r->cfd, buf, len, MSG_NOSIGNAL)) >= 0)
			return n;
		if (errno == EAGAIN || errno == EINTR)
			return RIO_AGAIN;
		log_debug("%s: write: %s", r->name, strerror(errno));
		return RIO_ERROR;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	if ((ret = SSL_write(r->ssl, buf, (int)len)) > 0) {
		r->flags &= ~R_WWANTR;
		return ret;
	}
	switch (SSL_get_error(r->ssl, ret)) {
	case SSL_ERROR_WANT_WRITE:
		r->flags &= ~R_WWANTR;
		return RIO_AGAIN;
	case SSL_ERROR_WANT_READ:
		r->flags |= R_WWANTR;
		return RIO_AGAIN;
	default:
		log_debug("%s: TLS write: %s", r->name,
		    tls_error(r->ssl, ret));
		return RIO_ERROR;
	}
}

/* Queue a close frame, if there is room and none went before. */
static void
relay_ws_close(struct relay *r, uint16_t code, const char *why)
{
	size_t	 n;

	if (!(r->lflags & TPL_WS) || (r->flags & R_WS_CLOSED))
		return;
	r->flags |= R_WS_CLOSED;
	n = ws_encode_close(r->tocli.data + r->tocli.w, rbuf_room(&r->tocli),
	    code, why);
	r->tocli.w += n;
}

/* ---- the handshake states */

static void
relay_next(struct relay *r)
{
	if (r->lflags & TPL_TLS)
		r->state = RS_SNIFF;
	else if (r->lflags & TPL_WS)
		r->state = RS_HTTP;
	else
		r->state = RS_OPEN;
}

static int
relay_proxy_facts(struct relay *r, const struct proxy_hdr *h)
{
	if (!h->local) {
		r->ho.peer = h->src;
		r->ho.local = h->dst;
		r->ho.proxied = 1;
		relay_addr_name(&r->ho.peer, r->name, sizeof(r->name));
	}
	if (relay_src_take(r, &r->ho.peer) == -1) {
		rstats.refused_addr++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: too "
		    "many handshakes from this address", r->name, r->lid);
		return -1;
	}
	/* The load balancer's TLS, when we do none ourselves. */
	if (!h->ssl || (r->lflags & TPL_TLS))
		return 0;
	snprintf(r->ho.tls_version, sizeof(r->ho.tls_version), "%.*s",
	    (int)h->ssl_version.len, (const char *)h->ssl_version.p);
	snprintf(r->ho.tls_cipher, sizeof(r->ho.tls_cipher), "%.*s",
	    (int)h->ssl_cipher.len, (const char *)h->ssl_cipher.p);
	if (proxy_ssl_verified(h) && h->ssl_cn.len > 0) {
		if (h->ssl_cn.len >= sizeof(r->ho.cn)) {
			rstats.identity_bad++;
			log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: "
			    "CN in the PROXY header too long", r->name,
			    r->lid);
			return -1;
		}
		memcpy(r->ho.cn, h->ssl_cn.p, h->ssl_cn.len);
		r->ho.cn[h->ssl_cn.len] = '\0';
		r->ho.identity = IDENTITY_PROXY;
	}
	return 0;
}

/*
 * Peek at what has come, consume only header bytes: all of them while
 * the header is incomplete, exactly its rest once it is complete.
 */
static int
relay_proxy(struct relay *r)
{
	struct proxy_hdr	 h;
	struct proxy_error	 e;
	ssize_t			 n;
	size_t			 max = relay_lim.proxy_max;
	int			 rc;

	if (r->hdr == NULL && (r->hdr = malloc(max)) == NULL) {
		log_warn("%s: PROXY header", r->name);
		return -1;
	}
	if ((n = recv(r->cfd, r->hdr + r->hdrlen, max - r->hdrlen,
	    MSG_PEEK)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_debug("%s: recv: %s", r->name, strerror(errno));
		return -1;
	}
	if (n == 0) {
		log_debug("%s: closed before the PROXY header", r->name);
		return -1;
	}
	rc = proxy_decode(r->hdr, r->hdrlen + n, r->lst->proxy, max, &h, &e);
	if (rc == PROXY_ERROR) {
		rstats.proxy_bad++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: %s",
		    r->name, r->lid, e.why);
		return -1;
	}
	if (rc == PROXY_DONE)
		n = h.len - r->hdrlen;
	if (recv(r->cfd, r->hdr + r->hdrlen, n, 0) != n) {
		log_warnx("%s: PROXY header: short read", r->name);
		return -1;
	}
	r->hdrlen += n;
	if (rc == PROXY_MORE)
		return 0;
	if (relay_proxy_facts(r, &h) == -1)
		return -1;
	free(r->hdr);
	r->hdr = NULL;
	relay_next(r);
	return r->state == RS_OPEN ? relay_open(r) : 0;
}

static int
relay_sniff(struct relay *r)
{
	ssize_t	 n;
	uint8_t	 b;

	if ((n = recv(r->cfd, &b, 1, MSG_PEEK)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_debug("%s: recv: %s", r->name, strerror(errno));
		return -1;
	}
	if (n == 0) {
		log_debug("%s: closed before the TLS handshake", r->name);
		return -1;
	}
	if (b == 0x16) {		/* a handshake record */
		r->state = RS_TLS;
		return 0;
	}
	if (b == 0x10) {
		rstats.plain_mqtt++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: plain "
		    "MQTT CONNECT on a TLS listener, closed", r->name, r->lid);
	} else {
		rstats.not_tls++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: not a "
		    "TLS handshake (first byte 0x%02x%s), closed", r->name,
		    r->lid, b, b == 'G' ? ", HTTP?" : "");
	}
	return -1;
}

static int
relay_tls(struct relay *r)
{
	const char	*why = NULL;
	int		 n;

	if (r->ssl == NULL) {
		if (r->lst->tls == NULL) {
			log_warnx("listener %u: no certificate", r->lid);
			return -1;
		}
		r->tls = tls_server_ref(r->lst->tls);
		if ((r->ssl = tls_server_ssl(r->tls, r->cfd)) == NULL) {
			log_warnx("%s: cannot start TLS", r->name);
			ERR_clear_error();
			return -1;
		}
	}
	ERR_clear_error();
	if ((n = SSL_do_handshake(r->ssl)) != 1) {
		switch (SSL_get_error(r->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			r->flags &= ~R_HSWANTW;
			return 0;
		case SSL_ERROR_WANT_WRITE:
			r->flags |= R_HSWANTW;
			return 0;
		default:
			rstats.tls_failed++;
			log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: "
			    "TLS handshake: %s", r->name, r->lid,
			    tls_error(r->ssl, n));
			return -1;
		}
	}
	r->flags &= ~R_HSWANTW;
	tls_conn_facts(r->ssl, r->ho.tls_version, sizeof(r->ho.tls_version),
	    r->ho.tls_cipher, sizeof(r->ho.tls_cipher));
	switch (tls_peer_identity(r->ssl, r->ho.subject,
	    sizeof(r->ho.subject), r->ho.cn, sizeof(r->ho.cn), &why)) {
	case -1:
		rstats.identity_bad++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: %s, "
		    "closed", r->name, r->lid, why);
		return -1;
	case 1:
		r->ho.identity = IDENTITY_TLS;
		break;
	default:
		break;
	}
	if (r->lflags & TPL_WS) {
		r->state = RS_HTTP;
		return 0;
	}
	return relay_open(r);
}

static int
relay_http_fail(struct relay *r, const struct http_error *e)
{
	int	 n;

	rstats.http_bad++;
	log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: HTTP %d: %s",
	    r->name, r->lid, e->status, e->why);
	n = http_encode_error((char *)r->tocli.data + r->tocli.w,
	    rbuf_room(&r->tocli), e);
	if (n > 0)
		r->tocli.w += n;
	relay_close_begin(r, 0);
	return 0;
}

static int
relay_http(struct relay *r)
{
	const struct http_policy *pol = &r->lst->http;
	struct http_upgrade	 u;
	struct http_error	 e;
	size_t			 room, headlen, max;
	ssize_t			 n;
	int			 rc, k;

	if (rbuf_alloc(&r->in, relay_lim.bufsize) == -1 ||
	    rbuf_alloc(&r->tocli, relay_lim.bufsize) == -1) {
		log_warn("%s: buffers", r->name);
		return -1;
	}
	max = pol->max_head < r->in.size ? pol->max_head : r->in.size;
	for (k = 0; k < RELAY_READS; k++) {
		if ((room = max - r->in.w) == 0)
			break;
		n = relay_cread(r, r->in.data + r->in.w, room);
		if (n == RIO_AGAIN)
			return 0;
		if (n == RIO_EOF || n == RIO_ERROR) {
			log_debug("%s: closed in the WebSocket upgrade",
			    r->name);
			return -1;
		}
		if (r->in.w == 0 && (r->in.data[0] == 0x16 ||
		    r->in.data[0] == 0x10)) {
			if (r->in.data[0] == 0x10)
				rstats.plain_mqtt++;
			else
				rstats.not_tls++;
			log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: "
			    "%s on a WebSocket listener, closed", r->name,
			    r->lid, r->in.data[0] == 0x10 ?
			    "plain MQTT CONNECT" : "TLS");
			return -1;
		}
		r->in.w += n;
		rc = http_head_end(r->in.data, r->in.w, max, &r->scanned,
		    &headlen, &e);
		if (rc == -1)
			return relay_http_fail(r, &e);
		if (rc == 1)
			goto upgrade;
	}
	if (r->in.w >= max) {
		e.status = 431;
		e.why = "request head too large";
		return relay_http_fail(r, &e);
	}
	return 0;
 upgrade:
	if (http_parse_upgrade(r->in.data, headlen, pol, &u, &e) == -1)
		return relay_http_fail(r, &e);
	if ((rc = http_encode_101((char *)r->tocli.data + r->tocli.w,
	    rbuf_room(&r->tocli), &u)) == -1) {
		log_warnx("%s: no room for the 101", r->name);
		return -1;
	}
	r->tocli.w += rc;
	rbuf_consume(&r->in, headlen);
	ws_dec_init(&r->ws, relay_lim.ws_max_message,
	    relay_lim.ws_max_fragments);
	r->flags |= R_STALLED;		/* frames may have come with it */
	return relay_open(r);
}

/* Give the engine its end of a socketpair and the facts. */
static int
relay_open(struct relay *r)
{
	int	 sp[2];

	if (rbuf_alloc(&r->toeng, relay_lim.bufsize) == -1 ||
	    rbuf_alloc(&r->tocli, relay_lim.bufsize) == -1) {
		log_warn("%s: buffers", r->name);
		return -1;
	}
	/* The engine takes descriptors as fast as it can, no faster. */
	if (relay_handoff_cb(-1, NULL, relay_handoff_arg) == -1) {
		r->state = RS_HANDOFF;
		evtimer_add(&r->kick, 0);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		log_warn("%s: socketpair", r->name);
		return -1;
	}
	r->efd = sp[0];
	ev_set(&r->eev, r->efd, relay_engine_cb, r);
	relay_handshake_done(r);
	/* The SNI callback is behind us; the SSL keeps its own context. */
	tls_server_unref(r->tls);
	r->tls = NULL;
	r->state = RS_OPEN;
	r->flags |= R_COUNTED;
	rstats.connections++;
	rstats.handed_off++;
	if (relay_handoff_cb(sp[1], &r->ho, relay_handoff_arg) == -1)
		fatalx("the hand-off failed after it said yes");
	return 0;
}

/* ---- the open connection */

/* Decode what WebSocket bytes there are into toeng, answering pings. */
static int
relay_ws_decode(struct relay *r)
{
	struct ws_error	 e;
	size_t		 used, olen, room;
	int		 rc;

	while (rbuf_len(&r->in) > 0) {
		/* An answer to a control frame must fit. */
		if (rbuf_room(&r->tocli) < 2 + WS_CTL_MAX) {
			r->flags |= R_STALLED;
			return 0;
		}
		room = rbuf_room(&r->toeng);
		rc = ws_decode(&r->ws, r->in.data + r->in.r, rbuf_len(&r->in),
		    &used, r->toeng.data + r->toeng.w, room, &olen, &e);
		rbuf_consume(&r->in, used);
		r->toeng.w += olen;
		if (rc == WS_ERROR) {
			rstats.ws_bad++;
			log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: "
			    "WebSocket: %s", r->name, r->lid, e.why);
			r->flags |= R_CLIENT_EOF;
			relay_close_begin(r, e.code);
			return 0;
		}
		if (rc == WS_OK) {
			if (rbuf_len(&r->in) > 0 && olen == room)
				r->flags |= R_STALLED;
			return 0;
		}
		switch (r->ws.ctl.opcode) {
		case WS_OP_PING:
			r->tocli.w += ws_encode_control(r->tocli.data +
			    r->tocli.w, rbuf_room(&r->tocli), WS_OP_PONG,
			    r->ws.ctl.data, r->ws.ctl.len);
			break;
		case WS_OP_CLOSE:
			/* Echo its code; the engine sees the end. */
			r->flags |= R_CLIENT_EOF;
			relay_close_begin(r, r->ws.ctl.close_code);
			return 0;
		default:
			break;		/* a pong */
		}
	}
	return 0;
}

static int
relay_client_in(struct relay *r)
{
	struct rbuf	*b = (r->lflags & TPL_WS) ? &r->in : &r->toeng;
	size_t		 room;
	ssize_t		 n;
	int		 k;

	r->flags &= ~R_STALLED;
	if ((r->lflags & TPL_WS) && relay_ws_decode(r) == -1)
		return -1;
	for (k = 0; k < RELAY_READS; k++) {
		if (r->state != RS_OPEN ||
		    (r->flags & (R_STALLED | R_CLIENT_EOF | R_ENGINE_EOF)))
			return 0;
		if ((room = rbuf_room(b)) == 0) {
			if ((r->lflags & TPL_WS) ||
			    (r->ssl != NULL && SSL_has_pending(r->ssl)))
				r->flags |= R_STALLED;
			return 0;
		}
		n = relay_cread(r, b->data + b->w, room);
		if (n == RIO_AGAIN)
			return 0;
		if (n == RIO_ERROR)
			return -1;
		if (n == RIO_EOF) {
			r->flags |= R_CLIENT_EOF;
			return 0;
		}
		b->w += n;
		if ((r->lflags & TPL_WS) && relay_ws_decode(r) == -1)
			return -1;
		if ((size_t)n < room &&
		    (r->ssl == NULL || !SSL_has_pending(r->ssl)))
			return 0;
	}
	/* Out of reads for this turn; OpenSSL's buffer makes no event. */
	if (r->ssl != NULL && SSL_has_pending(r->ssl))
		r->flags |= R_STALLED;
	return 0;
}

static int
relay_engine_out(struct relay *r)
{
	ssize_t	 n;

	while (rbuf_len(&r->toeng) > 0) {
		n = send(r->efd, r->toeng.data + r->toeng.r,
		    rbuf_len(&r->toeng), MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			/* The engine has closed its end. */
			r->flags |= R_ENGINE_EOF;
			r->toeng.r = r->toeng.w = 0;
			return 0;
		}
		rstats.bytes_in += n;
		rbuf_consume(&r->toeng, n);
	}
	if ((r->flags & (R_CLIENT_EOF | R_ENGINE_SHUT)) == R_CLIENT_EOF) {
		r->flags |= R_ENGINE_SHUT;
		shutdown(r->efd, SHUT_WR);
	}
	return 0;
}

/*
 * From the engine into tocli.  For WebSocket each read becomes one
 * binary frame of at most 65535 bytes, its header in front of it.
 */
static int
relay_engine_in(struct relay *r)
{
	uint8_t		*p;
	size_t		 room, max, off;
	ssize_t		 n;
	int		 k, ws = (r->lflags & TPL_WS) != 0;

	for (k = 0; k < RELAY_READS; k++) {
		if (r->flags & (R_ENGINE_EOF | R_WS_CLOSED))
			return 0;
		room = rbuf_room(&r->tocli);
		off = ws ? 4 : 0;
		if (room <= off)
			return 0;
		max = room - off;
		if (ws && max > 0xffff)
			max = 0xffff;
		p = r->tocli.data + r->tocli.w;
		if ((n = read(r->efd, p + off, max)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			r->flags |= R_ENGINE_EOF;
			return 0;
		}
		if (n == 0) {
			r->flags |= R_ENGINE_EOF;
			return 0;
		}
		rstats.bytes_out += n;
		if (ws && n <= WS_CTL_MAX) {
			memmove(p + 2, p + 4, n);
			off = ws_encode_header(p, WS_OP_BINARY, 1, n);
		} else if (ws)
			ws_encode_header(p, WS_OP_BINARY, 1, n);
		r->tocli.w += off + n;
		if ((size_t)n < max)
			return 0;
	}
	return 0;
}

static int
relay_client_out(struct relay *r)
{
	ssize_t	 n;

	while (rbuf_len(&r->tocli) > 0) {
		n = relay_cwrite(r, r->tocli.data + r->tocli.r,
		    rbuf_len(&r->tocli));
		if (n == RIO_AGAIN)
			return 0;
		if (n < 0)
			return -1;
		rbuf_consume(&r->tocli, n);
	}
	if (r->state == RS_OPEN && (r->flags & R_ENGINE_EOF))
		relay_close_begin(r, WS_CLOSE_NORMAL);
	return 0;
}

/* Write to the engine what there is, and tell it the client's end. */
static int
relay_engine_flush(struct relay *r)
{
	if (rbuf_len(&r->toeng) > 0 ||
	    (r->flags & (R_CLIENT_EOF | R_ENGINE_SHUT)) == R_CLIENT_EOF)
		return relay_engine_out(r);
	return 0;
}

static int
relay_transfer(struct relay *r, int cf, int ef)
{
	if ((ef & EV_WRITE) && relay_engine_out(r) == -1)
		return -1;
	if ((cf & EV_WRITE) || ((cf & EV_READ) && (r->flags & R_WWANTR)))
		if (relay_client_out(r) == -1)
			return -1;
	if (r->state != RS_OPEN)
		return 0;
	if ((cf & EV_READ) || ((cf & EV_WRITE) && (r->flags & R_RWANTW)) ||
	    (r->flags & R_STALLED))
		if (relay_client_in(r) == -1)
			return -1;
	if (r->state != RS_OPEN)
		return 0;
	if (relay_engine_flush(r) == -1)
		return -1;
	if ((ef & EV_READ) && relay_engine_in(r) == -1)
		return -1;
	if (rbuf_len(&r->tocli) > 0 || (r->flags & R_ENGINE_EOF))
		if (relay_client_out(r) == -1)
			return -1;
	/*
	 * Input that waited for room, with room now: no socket event will
	 * say so (it is in `in' or in OpenSSL), so the next turn does.
	 */
	if (r->state == RS_OPEN && (r->flags & R_STALLED) &&
	    rbuf_room(&r->toeng) > 0 && (!(r->lflags & TPL_WS) ||
	    rbuf_room(&r->tocli) >= 2 + WS_CTL_MAX))
		evtimer_add(&r->kick, 0);
	return 0;
}

/* ---- the end */

/*
 * Stop relaying: the engine gets what the client sent before, the client
 * gets what is queued for it and, on WebSocket, a close frame with
 * `wscode' (0: none).  Then we linger for the client's end.
 */
static void
relay_close_begin(struct relay *r, uint16_t wscode)
{
	if (r->state == RS_CLOSING)
		return;
	relay_handshake_done(r);
	if (wscode != 0 && r->state == RS_OPEN)
		relay_ws_close(r, wscode, NULL);
	r->state = RS_CLOSING;
	evtimer_add(&r->timer, relay_lim.close_timeout);
}

static int
relay_closing(struct relay *r, int cf)
{
	uint8_t	 junk[4096];
	ssize_t	 n;
	int	 k;

	if (r->efd != -1) {
		if (!(r->flags & R_ENGINE_EOF) && rbuf_len(&r->toeng) > 0)
			relay_engine_out(r);
		if (rbuf_len(&r->toeng) == 0 || (r->flags & R_ENGINE_EOF)) {
			ev_close(&r->eev);
			close(r->efd);
			r->efd = -1;
		}
	}
	if (rbuf_len(&r->tocli) > 0) {
		if (relay_client_out(r) == -1)
			return -1;
		if (rbuf_len(&r->tocli) > 0)
			return 0;
	}
	if (!(r->flags & R_CLIENT_SHUT)) {
		r->flags |= R_CLIENT_SHUT;
		if (r->ssl != NULL) {
			ERR_clear_error();
			SSL_shutdown(r->ssl);
			ERR_clear_error();
		}
		shutdown(r->cfd, SHUT_WR);
	}
	if ((r->flags & R_CLIENT_EOF) && r->efd == -1)
		return -1;
	/* Linger: what the client still sends is dropped. */
	for (k = 0; (cf & EV_READ) && k < RELAY_READS; k++) {
		if ((n = recv(r->cfd, junk, sizeof(junk), 0)) == 0)
			return -1;
		if (n == -1)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
	return 0;
}

static void
relay_interest(struct relay *r)
{
	int	 cf = 0, ef = 0, ws = (r->lflags & TPL_WS) != 0;

	switch (r->state) {
	case RS_PROXY:
	case RS_SNIFF:
		cf = EV_READ;
		break;
	case RS_TLS:
		cf = (r->flags & R_HSWANTW) ? EV_WRITE : EV_READ;
		break;
	case RS_HTTP:
		cf = (r->flags & R_RWANTW) ? EV_WRITE : EV_READ;
		break;
	case RS_HANDOFF:
		break;		/* the kick asks again */
	case RS_OPEN:
		if (!(r->flags & (R_CLIENT_EOF | R_ENGINE_EOF | R_STALLED)) &&
		    rbuf_room(ws ? &r->in : &r->toeng) > 0)
			cf |= EV_READ;
		if (rbuf_len(&r->tocli) > 0)
			cf |= EV_WRITE;
		if (r->flags & R_WWANTR)
			cf = (cf & ~EV_WRITE) | EV_READ;
		if (r->flags & R_RWANTW)
			cf = (cf & ~EV_READ) | EV_WRITE;
		if (!(r->flags & (R_ENGINE_EOF | R_WS_CLOSED)) &&
		    rbuf_room(&r->tocli) > (ws ? 4u : 0u))
			ef |= EV_READ;
		if (rbuf_len(&r->toeng) > 0)
			ef |= EV_WRITE;
		break;
	case RS_CLOSING:
		if (rbuf_len(&r->tocli) > 0)
			cf = (r->flags & R_WWANTR) ? EV_READ : EV_WRITE;
		else if (!(r->flags & R_CLIENT_EOF))
			cf = EV_READ;
		if (r->efd != -1 && rbuf_len(&r->toeng) > 0)
			ef = EV_WRITE;
		break;
	}
	ev_add(&r->cev, cf);
	if (r->efd != -1)
		ev_add(&r->eev, ef);
}

/* Run the states as far as they go, then wait for the next event. */
static void
relay_step(struct relay *r, int cf, int ef)
{
	enum relay_state	 before;
	int			 rc = 0;

	do {
		before = r->state;
		switch (r->state) {
		case RS_PROXY:
			rc = relay_proxy(r);
			break;
		case RS_SNIFF:
			rc = relay_sniff(r);
			break;
		case RS_TLS:
			rc = relay_tls(r);
			break;
		case RS_HTTP:
			rc = relay_http(r);
			break;
		case RS_HANDOFF:
			rc = relay_open(r);
			break;
		case RS_OPEN:
			rc = relay_transfer(r, cf, ef);
			break;
		case RS_CLOSING:
			rc = relay_closing(r, cf);
			break;
		}
		if (rc == -1) {
			relay_free(r);
			return;
		}
		/* A new state begins with whatever it can do. */
		cf = EV_READ | EV_WRITE;
		ef = 0;
	} while (r->state != before);
	relay_interest(r);
}

static void
relay_client_cb(int fd, int flags, void *arg)
{
	(void)fd;
	relay_step(arg, flags, 0);
}

static void
relay_engine_cb(int fd, int flags, void *arg)
{
	(void)fd;
	relay_step(arg, 0, flags);
}

static void
relay_kick(void *arg)
{
	relay_step(arg, 0, 0);
}

static void
relay_timeout(void *arg)
{
	struct relay	*r = arg;

	if (r->state != RS_CLOSING) {
		rstats.handshake_timeouts++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: no "
		    "hand-off in time (in the %s), closed", r->name, r->lid,
		    relay_states[r->state]);
	} else
		log_debug("%s: closed after lingering", r->name);
	relay_free(r);
}

/* ---- listeners */

void
relay_accept(struct tp_listener *lst, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct relay	*r;
	socklen_t	 len;
	unsigned int	 max;

	rstats.accepted++;
	max = lst->max_handshakes != 0 ? lst->max_handshakes :
	    relay_lim.max_handshakes;
	if (max != 0 && lst->handshakes >= max) {
		rstats.refused_busy++;
		log_limited(&relay_rl, LOG_WARNING, "listener %u: %u "
		    "handshakes in progress, connection refused", lst->id,
		    lst->handshakes);
		close(fd);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("listener %u: accept", lst->id);
		close(fd);
		return;
	}
	r->lst = lst;
	r->lid = lst->id;
	r->lflags = lst->flags;
	r->cfd = fd;
	r->efd = -1;
	r->ho.listener = lst->id;
	if (salen > sizeof(r->ho.peer))
		salen = sizeof(r->ho.peer);
	memcpy(&r->ho.peer, sa, salen);
	len = sizeof(r->ho.local);
	if (getsockname(fd, (struct sockaddr *)&r->ho.local, &len) == -1)
		memset(&r->ho.local, 0, sizeof(r->ho.local));
	if (lst->flags & TPL_TLS)
		r->ho.transport = (lst->flags & TPL_WS) ? TRANSPORT_WSS :
		    TRANSPORT_TLS;
	else
		r->ho.transport = (lst->flags & TPL_WS) ? TRANSPORT_WS :
		    TRANSPORT_TCP;
	relay_addr_name(&r->ho.peer, r->name, sizeof(r->name));
	/* Behind a load balancer, the address that counts is in the header. */
	if (lst->proxy == 0 && relay_src_take(r, &r->ho.peer) == -1) {
		rstats.refused_addr++;
		log_limited(&relay_rl, LOG_WARNING, "%s: listener %u: too many "
		    "handshakes from this address", r->name, r->lid);
		close(fd);
		free(r);
		return;
	}
	r->flags |= R_HANDSHAKE;
	rstats.handshakes++;
	lst->handshakes++;
	ev_set(&r->cev, fd, relay_client_cb, r);
	evtimer_set(&r->timer, relay_timeout, r);
	evtimer_set(&r->kick, relay_kick, r);
	evtimer_add(&r->timer, lst->handshake_timeout != 0 ?
	    lst->handshake_timeout : relay_lim.handshake_timeout);
	TAILQ_INSERT_TAIL(&relays, r, entry);
	if (lst->proxy != 0)
		r->state = RS_PROXY;
	else
		relay_next(r);
	if (r->state == RS_OPEN) {
		/* Nothing to do before the hand-off: a plain listener. */
		if (relay_open(r) == -1) {
			relay_free(r);
			return;
		}
	}
	relay_step(r, EV_READ, 0);
}

static void
relay_accept_cb(int fd, int flags, void *arg)
{
	struct tp_listener	*lst = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 s, i;

	(void)flags;
	for (i = 0; i < RELAY_ACCEPTS; i++) {
		len = sizeof(ss);
		if ((s = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_limited(&relay_rl, LOG_WARNING, "listener "
				    "%u: accept: %s; pausing", lst->id,
				    strerror(errno));
				ev_add(&lst->ev, 0);
				evtimer_add(&lst->pause, 1000);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("listener %u: accept", lst->id);
			return;
		}
		relay_accept(lst, s, (struct sockaddr *)&ss, len);
	}
}

static void
relay_resume(void *arg)
{
	struct tp_listener	*lst = arg;

	ev_add(&lst->ev, EV_READ);
}

void
relay_listen(struct tp_listener *lst)
{
	ev_set(&lst->ev, lst->fd, relay_accept_cb, lst);
	evtimer_set(&lst->pause, relay_resume, lst);
	ev_add(&lst->ev, EV_READ);
}

/*
 * The listener goes (a reload without it): its handshakes in progress
 * go too; handed-off connections no longer need it.
 */
void
relay_unlisten(struct tp_listener *lst)
{
	struct relay	*r, *next;

	ev_del(&lst->ev);
	evtimer_del(&lst->pause);
	TAILQ_FOREACH_SAFE(r, &relays, entry, next) {
		if (r->lst != lst)
			continue;
		if (r->state < RS_OPEN)
			relay_free(r);
		else
			r->lst = NULL;
	}
}

void
relay_init(const struct relay_limits *lim, relay_handoff_fn cb, void *arg)
{
	if (lim != NULL)
		relay_lim = *lim;
	if (relay_lim.bufsize < 2 * (WS_SRV_HDR_MAX + WS_CTL_MAX) ||
	    relay_lim.proxy_max < PROXY_V2_FIXED)
		fatalx("relay_init: buffers too small");
	relay_handoff_cb = cb;
	relay_handoff_arg = arg;
	signal(SIGPIPE, SIG_IGN);
}

void
relay_close_all(void)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&relays)) != NULL)
		relay_free(r);
}

const struct tlsproxy_stats *
relay_stats(void)
{
	return &rstats;
}
