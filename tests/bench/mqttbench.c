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
 * mqttbench: an MQTT load generator for comparing brokers.
 *
 * Publish/subscribe mode: P publishers and S subscribers over T topics
 * (publisher i publishes to topic i % T, subscriber j subscribes to topic
 * j % T): fan-in is P=16 S=1 T=1, fan-out P=1 S=64 T=1, pairs P=S=T=100.
 * Every payload starts with the publisher, its sequence number and the
 * time it was sent, so each subscriber measures latency, and counts loss,
 * duplicates and reordering per publisher.  Publishers send in one of
 * three ways:
 *
 * - closed loop (-L N): at most N deliveries are in flight between
 *   publish and receipt in the whole run (a publish to a topic with k
 *   subscribers counts k), refilled round robin as messages arrive, as a
 *   streaming application sends; QoS 1/2 publishers also keep their own
 *   window (-W).  A delivery not made in LOSS_MS is written off, so a
 *   broker that drops messages does not close the window for good.
 * - at a fixed total rate (-r): message g of the run is due at g/rate
 *   seconds, from publisher g % P, so publishes are spread evenly in
 *   time, not sent in bursts (an independent client each would do the
 *   same).
 * - open loop ("firehose", neither): as fast as the broker takes it, a
 *   window of QoS 1/2 messages in flight, QoS 0 as fast as TCP allows:
 *   publishers outrun subscribers, which measures overload.
 *
 * With -c the subscribers keep their sessions (clean
 * session 0; MQTT 5: an hour's session expiry), which makes a broker with
 * persistence store their messages.  The measured window is announced on stdout with the
 * lines "measure-start" and "measure-end" (so a driver can read the
 * broker's CPU time at those moments); the result is one line of JSON.
 *
 * Connection mode: open N idle connections (spread over several source
 * addresses 127.0.0.x), report how fast they were accepted, print
 * "connected N", and hold them until stdin is closed.
 *
 * -t: every connection over TLS (non-blocking handshakes, no
 * certificate verification: a benchmark, not a client).  With -n that
 * measures TLS handshakes (and CONNECTs) per second.  -R resumes: one
 * connection made before the measured ones gets the server's session
 * ticket, and every measured connection offers it (SSL_session_reused()
 * counts those the server took).
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RBUF		(256 * 1024)
#define WBUF_MAX	(4 * 1024 * 1024)
#define HDR_LEN		24	/* publisher, sequence, send time */
#define NBUCKET		4096
#define LOSS_MS		1000	/* closed loop: a delivery is written off */
#define CONNECT_BATCH	256	/* connections set up at once */

/* Closed loop: one publish, not yet received by every subscriber. */
struct pend {
	uint64_t	 seq;
	uint64_t	 t;
	uint32_t	 left;
};

struct client {
	int		 fd;
	SSL		*ssl;
	int		 handshaking;
	int		 pub;		/* publisher, or subscriber */
	int		 idx;
	int		 topic;
	int		 connected;
	int		 subscribed;
	uint8_t		*rbuf;
	size_t		 rlen;
	uint8_t		*wbuf;
	size_t		 wlen;
	size_t		 wcap;
	int		 wantw;
	int		 dirty;		/* on the flush list */
	/* publisher */
	uint64_t	 seq;		/* next to send */
	uint64_t	 sent;
	uint64_t	 acked;		/* acknowledged with success */
	uint64_t	 refused;	/* acknowledged with an error */
	uint32_t	 inflight;
	uint16_t	 next_pid;
	uint64_t	 sent_at_start;	/* measure window bookkeeping */
	uint64_t	 due;		/* fixed rate: messages due so far */
	struct pend	*ring;		/* closed loop: publishes in flight */
	uint64_t	 tail;		/* the oldest of them */
	/* subscriber: per publisher, a bitmap of the sequences seen */
	uint8_t		**seen;
	uint64_t	*seen_cap;
	uint64_t	*last;
	uint64_t	 recv;
	uint64_t	 dups;
	uint64_t	 reorders;
};

static const char	*host = "127.0.0.1";
static int		 port = 1883;
static int		 npub = 1, nsub = 1, ntopic = 1;
static int		 qos, version = 4, window = 64;
static int		 persist;	/* subscribers keep their sessions */
static size_t		 psize = 64;
static double		 duration = 5, warmup = 1, rate;
static int		 nconns, nsrc = 1;
static char		 prefix[32];
static int		 epfd;
static struct client	*clients;
static int		 nclients;
static uint64_t		 t_start, t_end;	/* measure window, ns */
static int		 measuring, stopped;
static uint64_t		 hist[NBUCKET];
static uint64_t		 nlat;
static uint64_t		 recv_in_window;
static uint64_t		 broker_recv_max = 65535;
static uint64_t		 rate_start;	/* fixed rate: publishing began */
static int		 nready;	/* connected (and subscribed) */
static int		 want_ready;	/* what the set-up waits for */
static int		 conns_mode;
static SSL_CTX		*tls;
static int		 resume, nresumed;
static SSL_SESSION	*resume_sess;	/* the last ticket the server sent */
static struct client	**flushq;	/* clients with output to write */
static int		 nflushq;
static uint64_t		 rate_next;	/* fixed rate: next message due */
static uint32_t		 e2e_window;	/* closed loop: deliveries */
static uint64_t		 e2e_out;	/* ... in flight now */
static uint64_t		 e2e_written_off;
static uint32_t		 e2e_ring;	/* ring size, a power of two */
static int		 e2e_rr;	/* next publisher to send */
static int		*subs_on;	/* subscribers per topic */

static __dead2 void
usage(void)
{
	fprintf(stderr, "usage: mqttbench [-ct] [-p port] [-P pubs] [-S subs] "
	    "[-T topics] [-q qos]\n"
	    "\t[-s size] [-V 4|5] [-W window] [-d seconds] [-w warmup]\n"
	    "\t[-r rate | -L deliveries] [-B addresses]\n"
	    "       mqttbench [-p port] [-t [-R]] -n connections [-B addresses]\n");
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Latency buckets: 1 us resolution to 1 ms, then logarithmic. */
static int
bucket(uint64_t ns)
{
	uint64_t	 us = ns / 1000;
	int		 b;

	if (us < 1000)
		return us;
	b = 1000;
	while (us >= 2000 && b < NBUCKET - 100) {
		us /= 2;
		b += 100;
	}
	return b + (us - 1000) / 10;
}

static uint64_t
bucket_us(int b)
{
	uint64_t	 us;
	int		 k = 0;

	if (b < 1000)
		return b;
	while (b >= 1100) {
		b -= 100;
		k++;
	}
	us = 1000 + (b - 1000) * 10;
	return us << k;
}

static uint64_t
percentile(double p)
{
	uint64_t	 want = nlat * p, n = 0;
	int		 i;

	for (i = 0; i < NBUCKET; i++) {
		n += hist[i];
		if (n > want && hist[i] > 0)
			return bucket_us(i);
	}
	return 0;
}

static void
wput(struct client *c, const void *p, size_t len)
{
	if (c->wlen + len > c->wcap) {
		while (c->wlen + len > c->wcap)
			c->wcap = c->wcap ? c->wcap * 2 : 65536;
		if ((c->wbuf = realloc(c->wbuf, c->wcap)) == NULL)
			err(1, NULL);
	}
	memcpy(c->wbuf + c->wlen, p, len);
	c->wlen += len;
	if (!c->dirty) {
		c->dirty = 1;
		flushq[nflushq++] = c;
	}
}

static size_t
varint(uint8_t *p, uint32_t v)
{
	size_t	 n = 0;

	do {
		p[n] = v & 0x7f;
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
send_connect(struct client *c)
{
	uint8_t	 b[128], rl[4], *p = b;
	char	 id[64];
	size_t	 idlen;

	snprintf(id, sizeof(id), "%s-%c%d", prefix, c->pub ? 'p' : 's',
	    c->idx);
	idlen = strlen(id);
	memcpy(p, "\x00\x04MQTT", 6);
	p += 6;
	*p++ = version;
	*p++ = persist && !c->pub ? 0x00 : 0x02;	/* clean session */
	put16(p, 300);		/* keep alive */
	p += 2;
	if (version == 5 && persist && !c->pub) {
		/* Session Expiry Interval: an hour. */
		memcpy(p, "\x05\x11\x00\x00\x0e\x10", 6);
		p += 6;
	} else if (version == 5)
		*p++ = 0;
	put16(p, idlen);
	p += 2;
	memcpy(p, id, idlen);
	p += idlen;
	wput(c, "\x10", 1);
	wput(c, rl, varint(rl, p - b));
	wput(c, b, p - b);
}

static void
send_subscribe(struct client *c)
{
	uint8_t	 b[96], rl[4], *p = b;
	char	 topic[64];
	size_t	 tl;

	snprintf(topic, sizeof(topic), "bench/%s/%d", prefix, c->topic);
	tl = strlen(topic);
	put16(p, 1);
	p += 2;
	if (version == 5)
		*p++ = 0;
	put16(p, tl);
	p += 2;
	memcpy(p, topic, tl);
	p += tl;
	*p++ = qos;
	wput(c, "\x82", 1);
	wput(c, rl, varint(rl, p - b));
	wput(c, b, p - b);
}

static void
send_publish(struct client *c)
{
	static uint8_t	*payload;
	uint8_t		 hdr[96], *p = hdr;
	char		 topic[64];
	size_t		 tl, rl;
	uint64_t	 t = now_ns();

	if (payload == NULL && (payload = calloc(1, psize)) == NULL)
		err(1, NULL);
	snprintf(topic, sizeof(topic), "bench/%s/%d", prefix, c->topic);
	tl = strlen(topic);
	rl = 2 + tl + (qos ? 2 : 0) + (version == 5 ? 1 : 0) + psize;
	*p++ = 0x30 | qos << 1;
	p += varint(p, rl);
	put16(p, tl);
	p += 2;
	memcpy(p, topic, tl);
	p += tl;
	if (qos) {
		if (++c->next_pid == 0)
			c->next_pid = 1;
		put16(p, c->next_pid);
		p += 2;
		c->inflight++;
	}
	if (version == 5)
		*p++ = 0;
	memcpy(payload, &c->idx, 4);
	memcpy(payload + 8, &c->seq, 8);
	memcpy(payload + 16, &t, 8);
	wput(c, hdr, p - hdr);
	wput(c, payload, psize);
	if (e2e_window > 0) {
		struct pend	*pe = &c->ring[c->seq & (e2e_ring - 1)];

		pe->seq = c->seq;
		pe->t = t;
		pe->left = subs_on[c->topic];
		e2e_out += pe->left;
	}
	c->seq++;
	c->sent++;
}

/* Closed loop: resolved publishes leave the ring. */
static void
e2e_advance(struct client *c, uint64_t now)
{
	struct pend	*pe;

	while (c->tail < c->seq) {
		pe = &c->ring[c->tail & (e2e_ring - 1)];
		if (pe->left > 0) {
			if (now == 0 || now - pe->t < LOSS_MS * 1000000ULL)
				break;
			/* Not delivered in time: lost, release the window. */
			e2e_out -= pe->left;
			e2e_written_off += pe->left;
			pe->left = 0;
		}
		c->tail++;
	}
}

/* Closed loop: subscriber got (pub, seq) for the first time. */
static void
e2e_release(uint32_t pub, uint64_t seq)
{
	struct client	*c = &clients[nsub + pub];
	struct pend	*pe = &c->ring[seq & (e2e_ring - 1)];

	if (pe->seq != seq || pe->left == 0)
		return;		/* written off already */
	pe->left--;
	e2e_out--;
	if (pe->left == 0 && seq == c->tail)
		e2e_advance(c, 0);
}

/* Can publisher c send one more message now? */
static int
can_send(struct client *c)
{
	if (!c->pub || !c->connected || stopped)
		return 0;
	if (qos > 0 && c->inflight >= (uint32_t)window)
		return 0;
	if (e2e_window > 0 && (e2e_out + subs_on[c->topic] > e2e_window ||
	    c->seq - c->tail >= e2e_ring))
		return 0;
	return 1;
}

/* Closed loop: fill the window, one message per publisher per pass. */
static void
e2e_pump(void)
{
	int	 i, sent, passes = 0;

	if (stopped)
		return;
	do {
		sent = 0;
		for (i = 0; i < npub; i++) {
			struct client	*c = &clients[nsub + e2e_rr];

			e2e_rr = (e2e_rr + 1) % npub;
			if (can_send(c) && (qos > 0 || c->wlen < 64 * 1024)) {
				send_publish(c);
				sent++;
			} else if (e2e_out + 1 > e2e_window)
				return;
		}
	} while (sent > 0 && ++passes < 64);
}

static void
want_write(struct client *c, int w)
{
	struct epoll_event	 ee;

	if (w == c->wantw)
		return;
	c->wantw = w;
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN | (w ? EPOLLOUT : 0);
	ee.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ee) == -1)
		err(1, "epoll_ctl");
}

/* Write what we can: 1 written, 0 blocked. */
static ssize_t
io_write(struct client *c, const void *p, size_t len)
{
	ssize_t	 n;
	int	 e;

	if (c->ssl == NULL) {
		if ((n = write(c->fd, p, len)) == -1) {
			if (errno == EAGAIN)
				return 0;
			err(1, "write");
		}
		return n;
	}
	if ((n = SSL_write(c->ssl, p, len)) > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	ERR_print_errors_fp(stderr);
	errx(1, "SSL_write failed");
}

/* A ticket from the server: the one the next connections offer. */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (resume_sess != NULL)
		SSL_SESSION_free(resume_sess);
	resume_sess = sess;
	return 1;	/* the reference is ours */
}

static void
tls_handshake(struct client *c)
{
	int	 r, e;

	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->handshaking = 0;
		if (SSL_session_reused(c->ssl))
			nresumed++;
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		want_write(c, 0);
	else if (e == SSL_ERROR_WANT_WRITE)
		want_write(c, 1);
	else {
		ERR_print_errors_fp(stderr);
		errx(1, "TLS handshake failed");
	}
}

static void
flush_client(struct client *c)
{
	ssize_t	 n;

	if (c->handshaking) {
		tls_handshake(c);
		if (c->handshaking)
			return;
	}
	while (c->wlen > 0) {
		if ((n = io_write(c, c->wbuf, c->wlen)) == 0)
			break;
		memmove(c->wbuf, c->wbuf + n, c->wlen - n);
		c->wlen -= n;
	}
	want_write(c, c->wlen > 0);
}

/* Publishers as fast as the broker takes it: fill the window. */
static void
pump(struct client *c)
{
	int	 n = 0;

	if (!c->pub || !c->connected || stopped || rate > 0 ||
	    e2e_window > 0)
		return;
	if (qos == 0) {
		/* Keep a few packets queued, no more. */
		while (c->wlen < 64 * 1024 && n++ < 256)
			send_publish(c);
	} else {
		while (c->inflight < (uint32_t)window && n++ < 1024)
			send_publish(c);
	}
}

/* 1 if this subscriber had not seen (pub, seq) before. */
static int
seen_mark(struct client *c, uint32_t pub, uint64_t seq)
{
	uint64_t	 cap;

	if (seq >= c->seen_cap[pub]) {
		cap = c->seen_cap[pub] ? c->seen_cap[pub] : 65536;
		while (cap <= seq)
			cap *= 2;
		if ((c->seen[pub] = realloc(c->seen[pub], cap / 8)) == NULL)
			err(1, NULL);
		memset(c->seen[pub] + c->seen_cap[pub] / 8, 0,
		    (cap - c->seen_cap[pub]) / 8);
		c->seen_cap[pub] = cap;
	}
	if (c->seen[pub][seq / 8] & (1 << (seq % 8))) {
		c->dups++;
		return 0;
	}
	c->seen[pub][seq / 8] |= 1 << (seq % 8);
	if (c->last[pub] != UINT64_MAX && seq < c->last[pub])
		c->reorders++;
	else
		c->last[pub] = seq;
	c->recv++;
	return 1;
}

static void
got_publish(struct client *c, uint8_t first, const uint8_t *p, size_t len)
{
	uint8_t		 ack[4];
	uint16_t	 tl, pid = 0;
	uint32_t	 pub, plen = 0, mult = 1;
	uint64_t	 seq, t, now;
	size_t		 i;
	int		 q = (first >> 1) & 3;

	tl = p[0] << 8 | p[1];
	i = 2 + tl;
	if (q) {
		pid = p[i] << 8 | p[i + 1];
		i += 2;
	}
	if (version == 5) {
		while (p[i] & 0x80) {
			plen += (p[i] & 0x7f) * mult;
			mult *= 128;
			i++;
		}
		plen += p[i] * mult;
		i += 1 + plen;
	}
	if (len - i >= HDR_LEN) {
		memcpy(&pub, p + i, 4);
		memcpy(&seq, p + i + 8, 8);
		memcpy(&t, p + i + 16, 8);
		if (pub < (uint32_t)npub &&
		    pub % ntopic == (uint32_t)c->topic &&
		    seen_mark(c, pub / ntopic, seq) && e2e_window > 0)
			e2e_release(pub, seq);
		now = now_ns();
		if (measuring && !stopped && now >= t_start) {
			recv_in_window++;
			if (t >= t_start) {
				hist[bucket(now - t)]++;
				nlat++;
			}
		}
	}
	if (q == 1) {
		ack[0] = 0x40;
		ack[1] = 2;
		put16(ack + 2, pid);
		wput(c, ack, 4);
	} else if (q == 2) {
		ack[0] = 0x50;
		ack[1] = 2;
		put16(ack + 2, pid);
		wput(c, ack, 4);
	}
}

static void
got_packet(struct client *c, uint8_t first, const uint8_t *p, size_t len)
{
	uint8_t		 b[4];
	int		 i;

	switch (first >> 4) {
	case 2:		/* CONNACK */
		if (len < 2 || p[1] != 0)
			errx(1, "CONNACK refused: %d", len >= 2 ? p[1] : -1);
		c->connected = 1;
		if (c->pub)
			nready++;
		if (version == 5 && len > 3) {
			/* Receive Maximum, if the broker sets one. */
			for (i = 3; i + 2 < (int)len; i++)
				if (p[i] == 0x21) {
					uint32_t v = p[i + 1] << 8 | p[i + 2];

					if (v < broker_recv_max)
						broker_recv_max = v;
					break;
				}
		}
		if (!c->pub)
			send_subscribe(c);
		break;
	case 9:		/* SUBACK */
		if (!c->subscribed)
			nready++;
		c->subscribed = 1;
		break;
	case 3:
		got_publish(c, first, p, len);
		break;
	case 4:		/* PUBACK */
	case 7:		/* PUBCOMP */
		if (c->inflight > 0)
			c->inflight--;
		if (version == 5 && len > 2 && p[2] >= 0x80)
			c->refused++;
		else
			c->acked++;
		/* A fixed rate: what was held back by the window. */
		while (rate > 0 && c->sent < c->due && can_send(c))
			send_publish(c);
		break;
	case 5:		/* PUBREC */
		if (version == 5 && len > 2 && p[2] >= 0x80) {
			c->refused++;
			if (c->inflight > 0)
				c->inflight--;
			break;
		}
		b[0] = 0x62;
		b[1] = 2;
		b[2] = p[0];
		b[3] = p[1];
		wput(c, b, 4);
		break;
	case 6:		/* PUBREL */
		b[0] = 0x70;
		b[1] = 2;
		b[2] = p[0];
		b[3] = p[1];
		wput(c, b, 4);
		break;
	case 13:	/* PINGRESP */
	case 14:	/* DISCONNECT */
	default:
		break;
	}
}

static void
read_client(struct client *c)
{
	size_t		 off, hl, rl, room;
	ssize_t		 n;
	uint32_t	 mult;
	int		 e, reads = 0;

	if (c->handshaking) {
		tls_handshake(c);
		if (!c->handshaking)
			flush_client(c);
		return;
	}
again:
	off = 0;
	room = RBUF - c->rlen;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->rbuf + c->rlen, room);
		if (n <= 0) {
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return;
			if (e != SSL_ERROR_ZERO_RETURN)
				ERR_print_errors_fp(stderr);
			n = 0;
		}
	} else
		n = read(c->fd, c->rbuf + c->rlen, room);
	if (n == 0)
		errx(1, "%s %d: the broker closed the connection",
		    c->pub ? "publisher" : "subscriber", c->idx);
	if (n == -1) {
		if (errno == EAGAIN)
			return;
		err(1, "read");
	}
	c->rlen += n;
	for (;;) {
		if (c->rlen - off < 2)
			break;
		rl = 0;
		mult = 1;
		for (hl = 1; hl < 5 && off + hl < c->rlen; hl++) {
			rl += (c->rbuf[off + hl] & 0x7f) * mult;
			mult *= 128;
			if (!(c->rbuf[off + hl] & 0x80))
				break;
		}
		if (off + hl >= c->rlen)
			break;
		hl++;
		if (hl + rl > RBUF)
			errx(1, "packet larger than the read buffer");
		if (c->rlen - off < hl + rl)
			break;
		got_packet(c, c->rbuf[off], c->rbuf + off + hl, rl);
		off += hl + rl;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	/* TLS keeps decrypted bytes that epoll cannot see. */
	if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
		goto again;
	/*
	 * A full read: there is more.  Read on (a few times, so that one
	 * busy connection does not starve the others), or a subscriber gets
	 * one buffer per turn of the loop while every publisher writes one:
	 * the load generator, not the broker, would decide what is dropped.
	 */
	if ((size_t)n == room && ++reads < 8)
		goto again;
}

static int
open_socket(int src)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (nsrc > 1) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x7f000002 + src % nsrc);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			err(1, "bind 127.0.0.%d", 2 + src % nsrc);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect");
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");
	return fd;
}

static void
add_client(struct client *c, int src)
{
	struct epoll_event	 ee;

	c->fd = open_socket(src);
	if ((c->rbuf = malloc(RBUF)) == NULL)
		err(1, NULL);
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ee) == -1)
		err(1, "epoll_ctl");
	if (tls != NULL) {
		if ((c->ssl = SSL_new(tls)) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1)
			errx(1, "SSL_new");
		SSL_set_connect_state(c->ssl);
		if (resume_sess != NULL &&
		    SSL_set_session(c->ssl, resume_sess) != 1)
			errx(1, "SSL_set_session");
		c->handshaking = 1;
	}
	send_connect(c);
	flush_client(c);
}

/* A fixed rate: hand out what is due by now; when the next is due. */
static uint64_t
rate_schedule(uint64_t now)
{
	struct client	*c;
	double		 step = 1e9 / rate;
	uint64_t	 due;

	for (;;) {
		due = rate_start + (uint64_t)(rate_next * step);
		if (due > now)
			return due;
		c = &clients[nsub + rate_next % npub];
		rate_next++;
		c->due++;
		while (c->sent < c->due && can_send(c))
			send_publish(c);
	}
}

/* Write what was gathered this turn, once per client. */
static void
flush_all(void)
{
	int	 i, n = nflushq;

	nflushq = 0;
	for (i = 0; i < n; i++) {
		flushq[i]->dirty = 0;
		flush_client(flushq[i]);
	}
}

/* Run the loop for `ns' nanoseconds, or until `done' says so. */
static void
loop(uint64_t ns, int (*done)(void))
{
	struct epoll_event	 ev[256];
	struct timespec		 ts;
	uint64_t		 end = now_ns() + ns, t, wake, last_scan = 0;
	int			 n, i;

	while ((t = now_ns()) < end && (done == NULL || !done())) {
		wake = end;
		if (rate > 0 && rate_start != 0 && !stopped) {
			wake = rate_schedule(t);
			if (wake > end)
				wake = end;
			flush_all();
		}
		t = now_ns();
		wake = wake > t ? wake - t : 0;
		ts.tv_sec = wake / 1000000000;
		ts.tv_nsec = wake % 1000000000;
		n = epoll_pwait2(epfd, ev, 256, &ts, NULL);
		if (n == -1 && errno != EINTR)
			err(1, "epoll_pwait2");
		for (i = 0; i < n; i++) {
			struct client	*c = ev[i].data.ptr;

			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				read_client(c);
			if (ev[i].events & EPOLLOUT)
				flush_client(c);
		}
		/* Idle connections: each flushed its CONNECT already. */
		if (conns_mode) {
			flush_all();
			continue;
		}
		if (e2e_window > 0 && !stopped && rate_start != 0) {
			t = now_ns();
			/* Write off what is overdue, now and then. */
			if (t - last_scan > 10000000) {
				last_scan = t;
				for (i = 0; i < npub; i++)
					e2e_advance(&clients[nsub + i], t);
			}
			e2e_pump();
		} else if (rate == 0)
			for (i = nsub; i < nclients; i++)
				pump(&clients[i]);
		flush_all();
	}
}

static int
all_connected(void)
{
	return nready >= want_ready;
}

static int
drained(void)
{
	int	 i;

	for (i = 0; i < nclients; i++)
		if (clients[i].pub && clients[i].inflight > 0)
			return 0;
	return 1;
}

static void
run_pubsub(void)
{
	uint64_t	 expect = 0, got = 0, dups = 0, reord = 0, lost;
	uint64_t	 sent = 0, acked = 0, refused = 0, t0;
	int		 i, j, k;
	double		 secs;

	nclients = npub + nsub;
	if ((clients = calloc(nclients, sizeof(*clients))) == NULL ||
	    (flushq = calloc(nclients, sizeof(*flushq))) == NULL ||
	    (subs_on = calloc(ntopic, sizeof(*subs_on))) == NULL)
		err(1, NULL);
	for (e2e_ring = 1; e2e_window > 0 && e2e_ring <= e2e_window;)
		e2e_ring *= 2;
	/* Subscribers first, then publishers, a batch at a time. */
	for (i = 0; i < nclients; i++) {
		struct client	*c = &clients[i];

		if (i < nsub) {
			c->idx = i;
			c->topic = i % ntopic;
			subs_on[c->topic]++;
			/* It hears publishers topic, topic + T, ... */
			k = (npub - c->topic + ntopic - 1) / ntopic;
			if (k < 1)
				k = 1;
			if ((c->seen = calloc(k, sizeof(*c->seen))) == NULL ||
			    (c->seen_cap = calloc(k, sizeof(uint64_t))) ==
			    NULL ||
			    (c->last = calloc(k, sizeof(uint64_t))) == NULL)
				err(1, NULL);
			for (j = 0; j < k; j++)
				c->last[j] = UINT64_MAX;
		} else {
			c->pub = 1;
			c->idx = i - nsub;
			c->topic = c->idx % ntopic;
			if (e2e_window > 0 && (c->ring = calloc(e2e_ring,
			    sizeof(*c->ring))) == NULL)
				err(1, NULL);
		}
		add_client(c, i);
		if (i + 1 == nsub || i + 1 == nclients ||
		    (i + 1) % CONNECT_BATCH == 0) {
			want_ready = i + 1;
			loop(30ULL * 1000000000, all_connected);
			if (!all_connected())
				errx(1, "not every client connected");
		}
	}
	if (qos > 0 && broker_recv_max < (uint32_t)window)
		window = broker_recv_max;
	/* A fixed rate counts from here, not from the first connect. */
	rate_start = now_ns();

	loop((uint64_t)(warmup * 1e9), NULL);
	measuring = 1;
	t_start = now_ns();
	printf("measure-start\n");
	fflush(stdout);
	loop((uint64_t)(duration * 1e9), NULL);
	t_end = now_ns();
	printf("measure-end\n");
	fflush(stdout);
	secs = (t_end - t_start) / 1e9;
	stopped = 1;
	/* Let what is in flight arrive. */
	t0 = now_ns();
	loop(10ULL * 1000000000, drained);
	loop(500ULL * 1000000, NULL);

	for (i = 0; i < npub; i++) {
		struct client	*p = &clients[nsub + i];

		sent += p->sent;
		acked += p->acked;
		refused += p->refused;
		/* QoS 0 counts what was sent; 1 and 2 what was accepted. */
		expect += (qos == 0 ? p->sent : p->acked) * subs_on[p->topic];
	}
	for (j = 0; j < nsub; j++) {
		got += clients[j].recv;
		dups += clients[j].dups;
		reord += clients[j].reorders;
	}
	lost = expect > got ? expect - got : 0;
	printf("{\"qos\": %d, \"size\": %zu, \"pubs\": %d, \"subs\": %d, "
	    "\"topics\": %d, \"version\": %d, \"tls\": %s, "
	    "\"seconds\": %.3f, "
	    "\"delivered_per_sec\": %.0f, \"delivered\": %llu, "
	    "\"sent\": %llu, \"acked\": %llu, \"refused\": %llu, "
	    "\"expected\": %llu, \"received\": %llu, \"lost\": %llu, "
	    "\"duplicates\": %llu, \"reordered\": %llu, "
	    "\"p50_us\": %llu, \"p99_us\": %llu, \"latency_samples\": %llu, "
	    "\"drain_ms\": %.0f, \"mode\": \"%s\", \"window\": %u, "
	    "\"written_off\": %llu}\n",
	    qos, psize, npub, nsub, ntopic, version,
	    tls != NULL ? "true" : "false", secs,
	    recv_in_window / secs, (unsigned long long)recv_in_window,
	    (unsigned long long)sent, (unsigned long long)acked,
	    (unsigned long long)refused, (unsigned long long)expect,
	    (unsigned long long)got, (unsigned long long)lost,
	    (unsigned long long)dups, (unsigned long long)reord,
	    (unsigned long long)percentile(0.50),
	    (unsigned long long)percentile(0.99), (unsigned long long)nlat,
	    (now_ns() - t0) / 1e6,
	    e2e_window > 0 ? "closed" : rate > 0 ? "rate" : "open",
	    e2e_window, (unsigned long long)e2e_written_off);
}

static int
conns_done(void)
{
	return all_connected();
}

static void
run_conns(void)
{
	uint64_t	 t0, t1;
	char		 b[16];
	int		 i, batch = 256;

	nclients = nconns;
	conns_mode = 1;
	if ((clients = calloc(nclients, sizeof(*clients))) == NULL ||
	    (flushq = calloc(nclients, sizeof(*flushq))) == NULL)
		err(1, NULL);
	i = 0;
	if (resume) {
		/* Not measured: the connection that gets the ticket. */
		clients[0].pub = 1;
		add_client(&clients[0], 0);
		want_ready = 1;
		loop(10ULL * 1000000000, conns_done);
		if (resume_sess == NULL)
			errx(1, "-R: the server sent no session ticket");
		nresumed = 0;
		i = 1;
	}
	t0 = now_ns();
	/* Connect in batches, so the listen queue does not overflow. */
	for (; i < nconns; i++) {
		clients[i].idx = i;
		clients[i].pub = 1;	/* no SUBSCRIBE */
		add_client(&clients[i], i);
		if ((i + 1) % batch == 0) {
			want_ready = i + 1;
			loop(10ULL * 1000000000, conns_done);
		}
	}
	want_ready = nconns;
	loop(60ULL * 1000000000, conns_done);
	t1 = now_ns();
	if (!all_connected())
		errx(1, "not every connection got CONNACK");
	for (i = 0; i < nclients; i++) {
		free(clients[i].rbuf);
		clients[i].rbuf = NULL;
	}
	printf("connected %d\n", nconns);
	printf("{\"connections\": %d, \"tls\": %s, \"seconds\": %.3f, "
	    "\"connects_per_sec\": %.0f, \"resumed\": %d}\n", nconns,
	    tls != NULL ? "true" : "false", (t1 - t0) / 1e9,
	    (nconns - resume) / ((t1 - t0) / 1e9), nresumed);
	fflush(stdout);
	/* Hold them until the driver has measured. */
	while (read(STDIN_FILENO, b, sizeof(b)) > 0)
		;
}

int
main(int argc, char *argv[])
{
	struct rlimit	 rl;
	const char	*errstr;
	uint32_t	 r;
	int		 ch;

	while ((ch = getopt(argc, argv, "B:cd:h:L:n:P:p:q:Rr:S:s:T:tV:W:w:")) !=
	    -1) {
		errstr = NULL;
		switch (ch) {
		case 'c':
			persist = 1;
			break;
		case 'B':
			nsrc = strtonum(optarg, 1, 250, &errstr);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'h':
			host = optarg;
			break;
		case 'L':
			e2e_window = strtonum(optarg, 1, 1000000, &errstr);
			break;
		case 'n':
			nconns = strtonum(optarg, 1, 1000000, &errstr);
			break;
		case 'P':
			npub = strtonum(optarg, 1, 100000, &errstr);
			break;
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			break;
		case 'q':
			qos = strtonum(optarg, 0, 2, &errstr);
			break;
		case 'R':
			resume = 1;
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'S':
			nsub = strtonum(optarg, 1, 100000, &errstr);
			break;
		case 's':
			psize = strtonum(optarg, HDR_LEN, 1 << 20, &errstr);
			break;
		case 'T':
			ntopic = strtonum(optarg, 1, 100000, &errstr);
			break;
		case 't':
			if ((tls = SSL_CTX_new(TLS_client_method())) == NULL)
				errx(1, "SSL_CTX_new");
			SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, NULL);
			SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
			    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			break;
		case 'V':
			version = strtonum(optarg, 4, 5, &errstr);
			break;
		case 'W':
			window = strtonum(optarg, 1, 65535, &errstr);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		default:
			usage();
		}
		if (errstr != NULL)
			errx(1, "-%c %s: %s", ch, optarg, errstr);
	}
	if (resume && (tls == NULL || nconns == 0))
		errx(1, "-R needs -t and -n");
	if (resume) {
		SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(tls, new_session);
	}
	if (rate > 0 && e2e_window > 0)
		errx(1, "-r and -L exclude each other");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	arc4random_buf(&r, sizeof(r));
	snprintf(prefix, sizeof(prefix), "%08x", r);
	if ((epfd = epoll_create1(0)) == -1)
		err(1, "epoll_create1");
	if (nconns > 0)
		run_conns();
	else
		run_pubsub();
	return 0;
}
