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
 * Unit tests for tlsproxy/relay.c, on the real event loop: the client is
 * one end of a socketpair given to relay_accept() with a made-up
 * address, the "engine" is the end the hand-off callback gets, and a
 * TLS client is stepped on a 1 ms tick beside the relay.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

#include "event.h"
#include "proxy.h"
#include "tlsproxy.h"
#include "pki.h"
#include "ws.h"

#define KEY	"dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE								\
	"GET /mqtt HTTP/1.1\r\nHost: localhost\r\n"			\
	"Upgrade: websocket\r\nConnection: Upgrade\r\n"			\
	"Sec-WebSocket-Key: " KEY "\r\n"				\
	"Sec-WebSocket-Version: 13\r\n"					\
	"Sec-WebSocket-Protocol: mqtt\r\n\r\n"

static struct tp_listener lst;

/* What the engine was handed. */
#define MAXENG		8
static int		 engines[MAXENG];
static struct handoff	 hos[MAXENG];
static int		 nhandoff;

/* A socket end with what was read from it. */
struct peer {
	int		 fd;
	SSL		*ssl;
	uint8_t		*buf;
	size_t		 len;
	size_t		 size;
	int		 eof;
};

static int		 handoff_busy;	/* say no this many times */

static int
handoff(int fd, const struct handoff *ho, void *arg)
{
	(void)arg;
	if (fd == -1) {
		if (handoff_busy > 0) {
			handoff_busy--;
			return -1;
		}
		return 0;
	}
	assert_true(nhandoff < MAXENG);
	engines[nhandoff] = fd;
	hos[nhandoff++] = *ho;
	return 0;
}

/* Run the loop until tick(arg) says done (1 ms apart) or `ms' pass. */
static int		(*pump_fn)(void *);
static void		*pump_arg;
static uint64_t		 pump_end;
static int		 pump_done;
static struct evtimer	 pump_timer;

static void
pump_tick(void *arg)
{
	(void)arg;
	if (pump_fn != NULL && pump_fn(pump_arg)) {
		pump_done = 1;
		ev_exit();
		return;
	}
	if (ev_clock() >= pump_end) {
		ev_exit();
		return;
	}
	evtimer_add(&pump_timer, 1);
}

static int
pump(int ms, int (*fn)(void *), void *arg)
{
	pump_fn = fn;
	pump_arg = arg;
	pump_end = ev_clock() + ms;
	pump_done = 0;
	evtimer_set(&pump_timer, pump_tick, NULL);
	evtimer_add(&pump_timer, 0);
	ev_dispatch();
	evtimer_del(&pump_timer);
	return pump_done;
}

static void
peer_read(struct peer *p)
{
	ssize_t	 n;

	while (p->len < p->size && !p->eof) {
		if (p->ssl != NULL) {
			n = SSL_read(p->ssl, p->buf + p->len, p->size - p->len);
			if (n <= 0) {
				int	 e = SSL_get_error(p->ssl, n);

				if (e != SSL_ERROR_WANT_READ &&
				    e != SSL_ERROR_WANT_WRITE)
					p->eof = 1;
				ERR_clear_error();
				return;
			}
		} else if ((n = read(p->fd, p->buf + p->len,
		    p->size - p->len)) <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				p->eof = 1;
			return;
		}
		p->len += n;
	}
}

static size_t	 want_len;

static int
tick_read(void *arg)
{
	struct peer	*p = arg;

	peer_read(p);
	return p->len >= want_len || p->eof;
}

/* Read until `want' bytes or the end; what came. */
static size_t
pump_read(struct peer *p, size_t want)
{
	want_len = want;
	pump(3000, tick_read, p);
	return p->len;
}

static int
tick_handoff(void *arg)
{
	return nhandoff >= *(int *)arg;
}

static void
peer_init(struct peer *p, int fd, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->size = size;
	assert_non_null(p->buf = malloc(size));
}

static void
peer_free(struct peer *p)
{
	SSL_free(p->ssl);
	if (p->fd != -1)
		close(p->fd);
	free(p->buf);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static void
peer_write(struct peer *p, const void *b, size_t len)
{
	if (p->ssl != NULL)
		assert_int_equal(SSL_write(p->ssl, b, len), (int)len);
	else
		assert_int_equal(write(p->fd, b, len), (ssize_t)len);
}

/* A new client connection from `addr':`port'; the client's end. */
static int
connect_from(const char *addr, int port)
{
	struct sockaddr_in	 sin;
	int			 sp[2];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sp), 0);
	relay_accept(&lst, sp[0], (struct sockaddr *)&sin, sizeof(sin));
	return sp[1];
}

static void
listener(unsigned int flags, unsigned int proxy)
{
	struct relay_limits	 lim = RELAY_LIMITS_DEFAULT;

	relay_close_all();
	relay_init(&lim, handoff, NULL);
	lst.id = 3;
	lst.fd = -1;
	lst.flags = flags;
	lst.proxy = proxy;
	lst.http.max_head = HTTP_HEAD_MAX;
	lst.http.max_headers = HTTP_HEADERS_MAX;
	while (nhandoff > 0)
		close(engines[--nhandoff]);
}

static size_t
mkframe(uint8_t *out, int fin, uint8_t op, const void *payload, size_t len)
{
	static const uint8_t	 mask[4] = { 1, 2, 3, 4 };
	const uint8_t		*pl = payload;
	size_t			 i = 0, k;

	out[i++] = (fin ? 0x80 : 0) | op;
	if (len <= 125)
		out[i++] = 0x80 | len;
	else {
		out[i++] = 0x80 | 126;
		out[i++] = len >> 8;
		out[i++] = len & 0xff;
	}
	memcpy(out + i, mask, 4);
	i += 4;
	for (k = 0; k < len; k++)
		out[i++] = pl[k] ^ mask[k & 3];
	return i;
}

static int
setup(void **state)
{
	(void)state;
	if (pki_setup() == -1)
		return -1;
	ev_init();
	tls_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	relay_close_all();
	while (nhandoff > 0)
		close(engines[--nhandoff]);
	tls_server_unref(lst.tls);
	return pki_teardown();
}

static void
test_proxy_plain(void **state)
{
	static const char	 hdr[] =
	    "PROXY TCP4 203.0.113.9 192.0.2.2 4000 1883\r\n";
	struct peer		 c, e;
	const struct tlsproxy_stats *st = relay_stats();
	char			 a[INET_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	int			 one = 1;
	size_t			 i;

	(void)state;
	listener(0, PROXY_V1 | PROXY_V2);
	/*
	 * The header a byte at a time, then the client's first bytes; the
	 * engine's channel is full for a few turns, so the hand-off waits.
	 */
	handoff_busy = 5;
	peer_init(&c, connect_from("192.0.2.1", 5555), 4096);
	for (i = 0; i < sizeof(hdr) - 1; i++) {
		peer_write(&c, hdr + i, 1);
		pump(2, NULL, NULL);
	}
	peer_write(&c, "HELLO", 5);
	assert_true(pump(1000, tick_handoff, &one));
	assert_int_equal(handoff_busy, 0);
	sin = (const struct sockaddr_in *)&hos[0].peer;
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)));
	assert_string_equal(a, "203.0.113.9");
	assert_int_equal(ntohs(sin->sin_port), 4000);
	assert_true(hos[0].proxied);
	assert_int_equal(hos[0].transport, TRANSPORT_TCP);
	assert_int_equal(hos[0].listener, 3);
	assert_int_equal(st->handshakes, 0);
	assert_int_equal(st->connections, 1);
	peer_init(&e, engines[0], 4096);
	assert_int_equal(pump_read(&e, 5), 5);
	assert_memory_equal(e.buf, "HELLO", 5);
	peer_write(&e, "WORLD", 5);
	assert_int_equal(pump_read(&c, 5), 5);
	assert_memory_equal(c.buf, "WORLD", 5);
	/* The client ends: the engine sees it, answers, and ends. */
	shutdown(c.fd, SHUT_WR);
	pump_read(&e, 6);
	assert_true(e.eof);
	peer_write(&e, "BYE", 3);
	close(e.fd);
	e.fd = -1;
	nhandoff = 0;
	assert_int_equal(pump_read(&c, 8), 8);
	assert_memory_equal(c.buf + 5, "BYE", 3);
	pump_read(&c, 9);
	assert_true(c.eof);
	assert_int_equal(st->connections, 0);
	peer_free(&c);
	peer_free(&e);
}

static void
test_proxy_refused(void **state)
{
	struct peer		 c;
	const struct tlsproxy_stats *st = relay_stats();
	uint64_t		 bad = st->proxy_bad;

	(void)state;
	listener(0, PROXY_V2);
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	peer_write(&c, "PROXY TCP4 203.0.113.9 192.0.2.2 4000 1883\r\n", 44);
	pump_read(&c, 1);
	assert_true(c.eof);
	assert_int_equal(st->proxy_bad, bad + 1);
	assert_int_equal(nhandoff, 0);
	peer_free(&c);
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	peer_write(&c, "\x10\x0c\x00\x04MQTT", 8);
	pump_read(&c, 1);
	assert_true(c.eof);
	assert_int_equal(st->proxy_bad, bad + 2);
	assert_int_equal(st->handshakes, 0);
	peer_free(&c);
}

static void
test_ws(void **state)
{
	struct peer	 c, e;
	uint8_t		 b[1024], pl[300];
	size_t		 n, head;
	int		 one = 1;
	char		*end;

	(void)state;
	memset(pl, 'x', sizeof(pl));
	listener(TPL_WS, 0);
	peer_init(&c, connect_from("192.0.2.1", 5555), 65536);
	/* The upgrade and a first frame together. */
	n = strlen(UPGRADE);
	memcpy(b, UPGRADE, n);
	n += mkframe(b + n, 1, WS_OP_BINARY, "\x10\x02\x00\x00", 4);
	peer_write(&c, b, n);
	assert_true(pump(1000, tick_handoff, &one));
	assert_int_equal(hos[0].transport, TRANSPORT_WS);
	pump_read(&c, 4);
	c.buf[c.len] = '\0';
	assert_non_null(end = strstr((char *)c.buf, "\r\n\r\n"));
	head = end + 4 - (char *)c.buf;
	assert_non_null(strstr((char *)c.buf,
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(strstr((char *)c.buf, "Sec-WebSocket-Protocol: mqtt"));
	peer_init(&e, engines[0], 65536);
	assert_int_equal(pump_read(&e, 4), 4);
	assert_memory_equal(e.buf, "\x10\x02\x00\x00", 4);
	/* Engine bytes become binary frames, in their shortest form. */
	peer_write(&e, pl, sizeof(pl));
	assert_int_equal(pump_read(&c, head + 4 + 300), head + 304);
	assert_memory_equal(c.buf + head, "\x82\x7e\x01\x2c", 4);
	peer_write(&e, "0123456789", 10);
	assert_int_equal(pump_read(&c, head + 316), head + 316);
	assert_memory_equal(c.buf + head + 304, "\x82\x0a" "0123456789", 12);
	/* A fragmented message with a ping inside it: a pong comes back. */
	n = mkframe(b, 0, WS_OP_BINARY, "ab", 2);
	n += mkframe(b + n, 1, WS_OP_PING, "hi", 2);
	n += mkframe(b + n, 1, WS_OP_CONT, "cd", 2);
	peer_write(&c, b, n);
	assert_int_equal(pump_read(&e, 8), 8);
	assert_memory_equal(e.buf + 4, "abcd", 4);
	assert_int_equal(pump_read(&c, head + 320), head + 320);
	assert_memory_equal(c.buf + head + 316, "\x8a\x02hi", 4);
	/* A frame far larger than the relay's buffers, and its echo. */
	{
		static uint8_t	 big[200000 + 16], pat[200000];
		size_t		 k;

		for (k = 0; k < sizeof(pat); k++)
			pat[k] = (uint8_t)(k * 31);
		big[0] = 0x82;
		big[1] = 0x80 | 127;
		for (k = 0; k < 8; k++)
			big[2 + k] = (uint8_t)((uint64_t)sizeof(pat) >>
			    (56 - 8 * k));
		memcpy(big + 10, "\x01\x02\x03\x04", 4);
		for (k = 0; k < sizeof(pat); k++)
			big[14 + k] = pat[k] ^ (uint8_t)(k % 4 + 1);
		free(e.buf);
		e.buf = malloc(sizeof(pat) + 64);
		e.size = sizeof(pat) + 64;
		e.len = 8;
		peer_write(&c, big, 14 + sizeof(pat));
		assert_int_equal(pump_read(&e, 8 + sizeof(pat)),
		    8 + sizeof(pat));
		assert_memory_equal(e.buf + 8, pat, sizeof(pat));
		e.len = 8;
	}
	/* The client closes: its code comes back, then the end. */
	n = mkframe(b, 1, WS_OP_CLOSE, "\x03\xe8", 2);
	peer_write(&c, b, n);
	pump_read(&c, head + 325);
	assert_int_equal(c.len, head + 324);
	assert_memory_equal(c.buf + head + 320, "\x88\x02\x03\xe8", 4);
	assert_true(c.eof);
	pump_read(&e, 9);
	assert_true(e.eof);
	peer_free(&c);
	peer_free(&e);
	nhandoff = 0;
}

static void
test_ws_refused(void **state)
{
	struct peer		 c, e;
	const struct tlsproxy_stats *st = relay_stats();
	uint8_t			 b[1024];
	size_t			 n, head;
	uint64_t		 ws_bad = st->ws_bad, http_bad = st->http_bad;
	uint64_t		 plain = st->plain_mqtt;
	int			 one = 1;

	(void)state;
	listener(TPL_WS, 0);
	/* A text frame: 1003, and the engine sees the end. */
	peer_init(&c, connect_from("192.0.2.1", 5555), 4096);
	peer_write(&c, UPGRADE, strlen(UPGRADE));
	assert_true(pump(1000, tick_handoff, &one));
	head = pump_read(&c, 100);
	n = mkframe(b, 1, WS_OP_TEXT, "hello", 5);
	peer_write(&c, b, n);
	pump_read(&c, head + 5);
	assert_int_equal(c.len, head + 4);
	assert_memory_equal(c.buf + head, "\x88\x02\x03\xeb", 4);
	assert_true(c.eof);
	assert_int_equal(st->ws_bad, ws_bad + 1);
	peer_init(&e, engines[0], 64);
	pump_read(&e, 1);
	assert_true(e.eof);
	peer_free(&e);
	peer_free(&c);
	nhandoff = 0;
	/* A bad upgrade: an HTTP status, no hand-off. */
	peer_init(&c, connect_from("192.0.2.1", 5555), 4096);
	peer_write(&c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
	pump_read(&c, 4096);
	assert_true(c.eof);
	assert_memory_equal(c.buf, "HTTP/1.1 426 ", 13);
	assert_int_equal(st->http_bad, http_bad + 1);
	peer_free(&c);
	/* Plain MQTT on a WebSocket listener. */
	peer_init(&c, connect_from("192.0.2.1", 5555), 4096);
	peer_write(&c, "\x10\x0c\x00\x04MQTT", 8);
	pump_read(&c, 1);
	assert_true(c.eof);
	assert_int_equal(st->plain_mqtt, plain + 1);
	assert_int_equal(nhandoff, 0);
	assert_int_equal(st->handshakes, 0);
	peer_free(&c);
}

/* TLS listeners: the client is stepped on the tick. */
struct tlsclient {
	struct peer	 p;
	int		 done;
	const char	*send;		/* after the handshake */
};

static int
tick_tls(void *arg)
{
	struct tlsclient	*t = arg;
	int			 r;

	if (!t->done) {
		if ((r = SSL_do_handshake(t->p.ssl)) == 1) {
			t->done = 1;
			if (t->send != NULL)
				peer_write(&t->p, t->send, strlen(t->send));
		} else if (SSL_get_error(t->p.ssl, r) != SSL_ERROR_WANT_READ) {
			ERR_clear_error();
			t->done = -1;
			return 1;
		}
	}
	return t->done == 1 && nhandoff > 0;
}

static SSL_CTX *
client_ctx(const char *name)
{
	struct tls_client_conf	 c;
	struct tls_keypair	 kp;
	SSL_CTX			*ctx;
	char			 err[256];

	memset(&c, 0, sizeof(c));
	c.ca = pki_pem("ca.crt");
	if (name != NULL) {
		char	 f[64];

		snprintf(f, sizeof(f), "%s.crt", name);
		kp.cert = pki_pem(f);
		snprintf(f, sizeof(f), "%s.key", name);
		kp.key = pki_pem(f);
		c.keypair = &kp;
	}
	ctx = tls_client_ctx_new(&c, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	free(c.ca.p);
	if (name != NULL) {
		free(kp.cert.p);
		free(kp.key.p);
	}
	return ctx;
}

static void
tls_listener(unsigned int flags, int verify)
{
	struct tls_server_conf	 conf;
	struct tls_keypair	 kp;
	char			 err[256];

	listener(TPL_TLS | flags, 0);
	memset(&conf, 0, sizeof(conf));
	kp.cert = pki_pem("server-rsa.crt");
	kp.key = pki_pem("server-rsa.key");
	conf.keypairs = &kp;
	conf.nkeypairs = 1;
	conf.verify = verify;
	if (verify)
		conf.ca = pki_pem("ca.crt");
	tls_server_unref(lst.tls);
	if ((lst.tls = tls_server_new(&conf, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	free(kp.cert.p);
	free(kp.key.p);
	free(conf.ca.p);
}

static void
test_tls(void **state)
{
	struct tlsclient	 t;
	struct peer		 e, c;
	const struct tlsproxy_stats *st = relay_stats();
	SSL_CTX			*ctx = client_ctx("client");
	uint64_t		 plain = st->plain_mqtt;

	(void)state;
	tls_listener(0, TLS_VERIFY_REQUIRED);
	memset(&t, 0, sizeof(t));
	peer_init(&t.p, connect_from("192.0.2.1", 5555), 4096);
	assert_non_null(t.p.ssl = tls_client_ssl(ctx, t.p.fd, "localhost"));
	t.send = "ping";
	assert_true(pump(3000, tick_tls, &t));
	assert_int_equal(t.done, 1);
	assert_int_equal(hos[0].transport, TRANSPORT_TLS);
	assert_string_equal(hos[0].tls_version, "TLSv1.3");
	assert_int_equal(hos[0].identity, IDENTITY_TLS);
	assert_string_equal(hos[0].cn, "device-1");
	assert_string_equal(hos[0].subject, "O=brokerd tests,CN=device-1");
	peer_init(&e, engines[0], 4096);
	assert_int_equal(pump_read(&e, 4), 4);
	assert_memory_equal(e.buf, "ping", 4);
	peer_write(&e, "pong", 4);
	assert_int_equal(pump_read(&t.p, 4), 4);
	assert_memory_equal(t.p.buf, "pong", 4);
	/* The engine ends: close_notify reaches the client. */
	close(e.fd);
	e.fd = -1;
	nhandoff = 0;
	pump_read(&t.p, 5);
	assert_true(t.p.eof);
	assert_int_equal(SSL_get_shutdown(t.p.ssl) & SSL_RECEIVED_SHUTDOWN,
	    SSL_RECEIVED_SHUTDOWN);
	peer_free(&t.p);
	peer_free(&e);

	/* Plain MQTT on the TLS listener. */
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	peer_write(&c, "\x10\x0c\x00\x04MQTT", 8);
	pump_read(&c, 1);
	assert_true(c.eof);
	assert_int_equal(st->plain_mqtt, plain + 1);
	peer_free(&c);
	/* No client certificate: the handshake fails, nothing handed off. */
	SSL_CTX_free(ctx);
	ctx = client_ctx(NULL);
	memset(&t, 0, sizeof(t));
	peer_init(&t.p, connect_from("192.0.2.1", 5555), 4096);
	assert_non_null(t.p.ssl = tls_client_ssl(ctx, t.p.fd, "localhost"));
	pump(500, tick_tls, &t);
	pump_read(&t.p, 1);
	assert_true(t.p.eof);
	assert_int_equal(nhandoff, 0);
	assert_int_equal(st->handshakes, 0);
	peer_free(&t.p);
	SSL_CTX_free(ctx);
}

/* A PROXY v2 header for 198.51.100.4:7000, with `tlvs' after it. */
static size_t
mkproxy(uint8_t *b, const uint8_t *tlvs, size_t tlvlen)
{
	static const uint8_t	 fixed[28] = {
	    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
	    0x0a, 0x21, 0x11, 0x00, 0x0c,
	    198, 51, 100, 4, 192, 0, 2, 2, 0x1b, 0x58, 0x07, 0x5b };

	memcpy(b, fixed, sizeof(fixed));
	b[15] = 12 + tlvlen;
	memcpy(b + sizeof(fixed), tlvs, tlvlen);
	return sizeof(fixed) + tlvlen;
}

static void
test_proxy_tls(void **state)
{
	static const uint8_t	 ssl[] = {
	    0x20, 0x00, 0x1c, 0x03, 0, 0, 0, 0,
	    0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '2',
	    0x22, 0x00, 0x04, 'd', 'e', 'v', '9',
	    0x23, 0x00, 0x03, 'A', 'E', 'S' };
	struct tlsclient	 t;
	struct peer		 c;
	SSL_CTX			*ctx = client_ctx(NULL);
	uint8_t			 b[128];
	size_t			 n;
	int			 one = 1;
	const struct sockaddr_in *sin;

	(void)state;
	/* PROXY, then our own TLS: the LB's TLS facts are not ours. */
	tls_listener(0, TLS_VERIFY_NONE);
	lst.proxy = PROXY_V2;
	memset(&t, 0, sizeof(t));
	peer_init(&t.p, connect_from("192.0.2.1", 5555), 4096);
	n = mkproxy(b, ssl, sizeof(ssl));
	peer_write(&t.p, b, n);
	assert_non_null(t.p.ssl = tls_client_ssl(ctx, t.p.fd, "localhost"));
	pump(3000, tick_tls, &t);
	assert_int_equal(t.done, 1);
	assert_true(pump(1000, tick_handoff, &one));
	sin = (const struct sockaddr_in *)&hos[0].peer;
	assert_int_equal(ntohs(sin->sin_port), 7000);
	assert_true(hos[0].proxied);
	assert_string_equal(hos[0].tls_version, "TLSv1.3");
	assert_int_equal(hos[0].identity, IDENTITY_NONE);
	peer_free(&t.p);
	SSL_CTX_free(ctx);
	listener(0, PROXY_V2);
	/* A plain listener behind a TLS-terminating LB: its facts count. */
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	peer_write(&c, b, n);
	assert_true(pump(1000, tick_handoff, &one));
	assert_int_equal(hos[0].transport, TRANSPORT_TCP);
	assert_int_equal(hos[0].identity, IDENTITY_PROXY);
	assert_string_equal(hos[0].cn, "dev9");
	assert_string_equal(hos[0].tls_version, "TLSv1.2");
	assert_string_equal(hos[0].tls_cipher, "AES");
	peer_free(&c);
	/* Not verified by the LB: no identity. */
	listener(0, PROXY_V2);
	b[28 + 7] = 1;
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	peer_write(&c, b, n);
	assert_true(pump(1000, tick_handoff, &one));
	assert_int_equal(hos[0].identity, IDENTITY_NONE);
	assert_string_equal(hos[0].cn, "");
	peer_free(&c);
}

static void
test_wss(void **state)
{
	struct tlsclient	 t;
	struct peer		 e;
	SSL_CTX			*ctx = client_ctx(NULL);
	uint8_t			 b[64];
	size_t			 n;
	int			 one = 1;

	(void)state;
	tls_listener(TPL_WS, TLS_VERIFY_NONE);
	memset(&t, 0, sizeof(t));
	peer_init(&t.p, connect_from("192.0.2.1", 5555), 4096);
	assert_non_null(t.p.ssl = tls_client_ssl(ctx, t.p.fd, "localhost"));
	t.send = UPGRADE;
	pump(3000, tick_tls, &t);
	assert_int_equal(t.done, 1);
	assert_int_equal(nhandoff, 1);
	assert_true(pump(1000, tick_handoff, &one));
	assert_int_equal(hos[0].transport, TRANSPORT_WSS);
	assert_int_equal(hos[0].identity, IDENTITY_NONE);
	pump_read(&t.p, 12);
	assert_memory_equal(t.p.buf, "HTTP/1.1 101", 12);
	n = mkframe(b, 1, WS_OP_BINARY, "\xe0\x00", 2);
	peer_write(&t.p, b, n);
	peer_init(&e, engines[0], 64);
	assert_int_equal(pump_read(&e, 2), 2);
	assert_memory_equal(e.buf, "\xe0\x00", 2);
	peer_free(&e);
	nhandoff = 0;
	peer_free(&t.p);
	SSL_CTX_free(ctx);
}

static int
tick_no_handshakes(void *arg)
{
	(void)arg;
	return relay_stats()->handshakes == 0;
}

static void
test_limits(void **state)
{
	struct relay_limits	 lim = RELAY_LIMITS_DEFAULT;
	const struct tlsproxy_stats *st = relay_stats();
	struct peer		 c[6];
	uint64_t		 addr = st->refused_addr, busy = st->refused_busy;
	uint64_t		 timeouts = st->handshake_timeouts;
	int			 i;

	(void)state;
	listener(TPL_WS, 0);
	lim.max_handshakes = 4;
	lim.max_handshakes_addr = 2;
	lim.handshake_timeout = 200;
	relay_init(&lim, handoff, NULL);
	for (i = 0; i < 3; i++)
		peer_init(&c[i], connect_from("192.0.2.7", 1000 + i), 64);
	for (i = 3; i < 6; i++)
		peer_init(&c[i], connect_from("192.0.2.8", 1000 + i), 64);
	/* The third from .7 is one too many; so is the sixth in all. */
	assert_int_equal(st->refused_addr, addr + 1);
	assert_int_equal(st->refused_busy, busy + 1);
	assert_int_equal(st->handshakes, 4);
	peer_free(&c[5]);
	peer_init(&c[5], connect_from("192.0.2.9", 2000), 64);
	assert_int_equal(st->refused_busy, busy + 2);
	pump_read(&c[2], 1);
	assert_true(c[2].eof);
	/* The deadline: every one of them goes, and is counted. */
	pump_read(&c[0], 1);
	assert_true(c[0].eof);
	assert_true(pump(3000, tick_no_handshakes, NULL));
	assert_int_equal(st->handshake_timeouts, timeouts + 4);
	for (i = 0; i < 6; i++)
		peer_free(&c[i]);
}

static int
tick_fill(void *arg)
{
	struct peer	*p = arg;
	ssize_t		 n;

	/* Write the pattern (offset mod 251) for as long as it goes. */
	while (p->len < p->size) {
		size_t	 k, chunk = p->size - p->len < 4096 ?
		    p->size - p->len : 4096;
		uint8_t	 b[4096];

		for (k = 0; k < chunk; k++)
			b[k] = (uint8_t)((p->len + k) % 251);
		if ((n = write(p->fd, b, chunk)) <= 0)
			break;
		p->len += n;
	}
	return 0;
}

/* Write until nothing has moved for 150 ms (a loaded machine is slow). */
static size_t
fill_until_stalled(struct peer *p)
{
	size_t	 last;
	int	 still = 0, i;

	for (i = 0; i < 200 && still < 3; i++) {
		last = p->len;
		pump(50, tick_fill, p);
		still = p->len == last ? still + 1 : 0;
	}
	assert_int_equal(still, 3);
	return p->len;
}

struct pair {
	struct peer	 w;
	struct peer	 r;
};

static int
tick_both(void *arg)
{
	struct pair	*pp = arg;

	tick_fill(&pp->w);
	peer_read(&pp->r);
	return pp->r.len == pp->r.size;
}

static void
check_pattern(const struct peer *p)
{
	size_t	 i;

	for (i = 0; i < p->len; i++)
		if (p->buf[i] != (uint8_t)(i % 251))
			fail_msg("byte %zu is %u", i, p->buf[i]);
}

/* A side whose peer does not read is not read: bounded, then all of it. */
static void
backpressure(int ws)
{
	struct relay_limits	 lim = RELAY_LIMITS_DEFAULT;
	struct pair		 up, down;
	size_t			 total = 8 << 20, stalled, n;
	uint8_t			 b[64];
	int			 one = 1;

	lim.bufsize = 16384;
	listener(ws ? TPL_WS : 0, ws ? 0 : PROXY_V1);
	relay_init(&lim, handoff, NULL);
	peer_init(&up.w, connect_from("192.0.2.1", 5555), total);
	if (ws)
		peer_write(&up.w, UPGRADE, strlen(UPGRADE));
	else
		peer_write(&up.w, "PROXY UNKNOWN\r\n", 15);
	assert_true(pump(1000, tick_handoff, &one));
	up.w.len = 0;
	/* Client to engine: the engine reads nothing for a while. */
	if (!ws) {
		stalled = fill_until_stalled(&up.w);
		assert_true(stalled < total / 2);
		peer_init(&up.r, engines[0], total);
		assert_true(pump(20000, tick_both, &up));
		check_pattern(&up.r);
		free(up.r.buf);
	}
	/* Engine to client: the client reads nothing for a while. */
	peer_init(&down.w, engines[0], total);
	down.r = up.w;
	down.r.len = 0;
	down.r.size = ws ? sizeof(b) : total;
	if (ws) {
		/* Read the 101 out of the way first. */
		while (down.r.len < 4 || memcmp(down.r.buf + down.r.len - 4,
		    "\r\n\r\n", 4) != 0) {
			down.r.size = down.r.len + 1;
			assert_int_equal(pump_read(&down.r, down.r.size),
			    down.r.size);
		}
		down.r.len = 0;
		down.r.size = sizeof(b);
	}
	stalled = fill_until_stalled(&down.w);
	assert_true(stalled < total / 2);
	if (!ws) {
		assert_true(pump(20000, tick_both, &down));
		check_pattern(&down.r);
	} else {
		/* It comes framed: headers of 4 bytes, 65535 at most. */
		n = pump_read(&down.r, 4);
		assert_true(n >= 4);
		assert_int_equal(down.r.buf[0], 0x82);
	}
	free(down.w.buf);
	close(down.w.fd);
	free(up.w.buf);
	close(up.w.fd);
	nhandoff = 0;
	relay_close_all();
}

static void
test_backpressure(void **state)
{
	(void)state;
	backpressure(0);
	backpressure(1);
}

static void
test_unlisten(void **state)
{
	const struct tlsproxy_stats *st = relay_stats();
	struct peer		 c;

	(void)state;
	listener(TPL_WS, 0);
	peer_init(&c, connect_from("192.0.2.1", 5555), 64);
	assert_int_equal(st->handshakes, 1);
	assert_true((lst.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
	    0)) != -1);
	assert_int_equal(listen(lst.fd, 1), 0);
	relay_listen(&lst);
	relay_unlisten(&lst);
	close(lst.fd);
	assert_int_equal(st->handshakes, 0);
	pump_read(&c, 1);
	assert_true(c.eof);
	peer_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_plain),
		cmocka_unit_test(test_proxy_refused),
		cmocka_unit_test(test_ws),
		cmocka_unit_test(test_ws_refused),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_proxy_tls),
		cmocka_unit_test(test_wss),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_unlisten),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
