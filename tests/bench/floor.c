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
 * floor: the simplest relay that mqttbench can measure, to give the
 * kernel's cost per delivery on this machine.  Not a broker: no sessions,
 * no limits, no checks beyond what keeps it from crashing on the load
 * generator's packets, no QoS state.
 *
 * It answers CONNECT and SUBSCRIBE, and forwards each PUBLISH as it came
 * (same QoS, same packet identifier) to every subscriber of exactly its
 * topic.  It acknowledges what it must for the QoS flows to go on: PUBACK
 * or PUBREC for a publisher's PUBLISH, PUBCOMP for its PUBREL, PUBREL for
 * a subscriber's PUBREC; a subscriber's PUBACK and PUBCOMP are ignored.
 * So every packet of a broker's exchange is on the wire, and none of a
 * broker's work is done.
 *
 * One turn of the loop: one epoll_wait, one read per readable socket,
 * and at the end one write (writev) per socket with output.  What is
 * forwarded is not copied: the output refers to the packets in the
 * publishers' read buffers, which are compacted only after the writes.
 * A socket that does not take everything gets the rest copied and waits
 * for EPOLLOUT.
 *
 *	floor [-p port]
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_MAX	(256 * 1024)
#define PENDING_MAX	(64 * 1024 * 1024)	/* then forwards are dropped */
#define NTOPIC		4096			/* hash buckets */
#define IOV_BATCH	1024

struct oref {				/* part of this turn's output */
	const uint8_t	*p;		/* NULL: at `off' in the ack buffer */
	size_t		 off;
	size_t		 len;
};

struct conn {
	int		 fd;
	int		 version;
	uint8_t		*rbuf;		/* received, from rpos unparsed */
	size_t		 rlen, rcap, rpos;
	int		 read_now;	/* read this turn: compact at its end */
	uint8_t		*abuf;		/* this turn's acks */
	size_t		 alen, acap;
	struct oref	*out;		/* this turn's output */
	int		 nout, outcap;
	int		 dirty;
	uint8_t		*pend;		/* not written in an earlier turn */
	size_t		 plen;
	int		 wantw;
	int		 dead;
};

struct sub {
	struct conn	*c;
	char		*topic;
	size_t		 tlen;
	struct sub	*next;
};

static struct sub	*topics[NTOPIC];
static int		 epfd;
static struct conn	**turn;		/* connections read or written to */
static int		 nturn, turncap;

static void
turn_add(struct conn *c)
{
	if (nturn == turncap) {
		turncap = turncap ? 2 * turncap : 256;
		if ((turn = reallocarray(turn, turncap, sizeof(*turn))) ==
		    NULL)
			err(1, NULL);
	}
	turn[nturn++] = c;
}

static uint32_t
hash(const uint8_t *p, size_t len)
{
	uint32_t	 h = 2166136261u;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h % NTOPIC;
}

static void
out_add(struct conn *c, const uint8_t *p, size_t len)
{
	if (c->dead)
		return;
	if (c->nout == c->outcap) {
		c->outcap = c->outcap ? 2 * c->outcap : 16;
		if ((c->out = reallocarray(c->out, c->outcap,
		    sizeof(*c->out))) == NULL)
			err(1, NULL);
	}
	c->out[c->nout].p = p;
	c->out[c->nout].off = c->alen;
	c->out[c->nout++].len = len;
	if (!c->dirty && !c->read_now)
		turn_add(c);
	c->dirty = 1;
}

/* A small packet of our own: copied to the ack buffer. */
static void
out_own(struct conn *c, const uint8_t *p, size_t len)
{
	if (c->alen + len > c->acap) {
		c->acap = c->acap ? 2 * c->acap : 256;
		if ((c->abuf = realloc(c->abuf, c->acap)) == NULL)
			err(1, NULL);
	}
	out_add(c, NULL, len);
	memcpy(c->abuf + c->alen, p, len);
	c->alen += len;
}

static void
ack(struct conn *c, uint8_t type, const uint8_t *pid)
{
	uint8_t	 b[4] = { type, 2, pid[0], pid[1] };

	out_own(c, b, 4);
}

static void
subscribe(struct conn *c, const uint8_t *p, size_t len)
{
	uint8_t		 rc[64], hdr[8];
	size_t		 i = 2, tl, n = 0, h;
	struct sub	*s;

	if (len < 2)
		return;
	if (c->version == 5 && i < len)
		i += 1 + p[i];		/* short properties only */
	while (i + 2 < len && n < sizeof(rc)) {
		tl = p[i] << 8 | p[i + 1];
		if (i + 2 + tl >= len)
			break;
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->topic = malloc(tl)) == NULL)
			err(1, NULL);
		memcpy(s->topic, p + i + 2, tl);
		s->tlen = tl;
		s->c = c;
		h = hash(p + i + 2, tl);
		s->next = topics[h];
		topics[h] = s;
		rc[n++] = p[i + 2 + tl] & 3;
		i += 3 + tl;
	}
	h = 0;
	hdr[h++] = 0x90;
	hdr[h++] = 2 + (c->version == 5) + n;
	hdr[h++] = p[0];
	hdr[h++] = p[1];
	if (c->version == 5)
		hdr[h++] = 0;
	out_own(c, hdr, h);
	out_own(c, rc, n);
}

static void
publish(struct conn *c, uint8_t first, const uint8_t *pkt, size_t plen,
    const uint8_t *p, size_t len)
{
	struct sub	*s;
	size_t		 tl;
	int		 q = (first >> 1) & 3;

	if (len < 2 || (tl = p[0] << 8 | p[1]) + 2 + (q ? 2 : 0) > len)
		return;
	if (q == 1)
		ack(c, 0x40, p + 2 + tl);
	else if (q == 2)
		ack(c, 0x50, p + 2 + tl);
	for (s = topics[hash(p + 2, tl)]; s != NULL; s = s->next)
		if (s->tlen == tl && memcmp(s->topic, p + 2, tl) == 0 &&
		    s->c->plen < PENDING_MAX)
			out_add(s->c, pkt, plen);
}

static void
conn_close(struct conn *c)
{
	struct sub	**sp, *s;
	int		 i;

	for (i = 0; i < NTOPIC; i++)
		for (sp = &topics[i]; (s = *sp) != NULL;)
			if (s->c == c) {
				*sp = s->next;
				free(s->topic);
				free(s);
			} else
				sp = &s->next;
	close(c->fd);
	c->dead = 1;		/* freed never: a benchmark's lifetime */
	c->nout = 0;
}

static void
packet(struct conn *c, const uint8_t *pkt, size_t hl, size_t rl)
{
	const uint8_t	*p = pkt + hl;
	uint8_t		 connack[5] = { 0x20, 2, 0, 0, 0 };

	switch (pkt[0] >> 4) {
	case 1:			/* CONNECT */
		c->version = rl > 6 ? p[6] : 4;
		if (c->version == 5)
			connack[1] = 3;
		out_own(c, connack, 2 + connack[1]);
		break;
	case 3:
		publish(c, pkt[0], pkt, hl + rl, p, rl);
		break;
	case 5:			/* PUBREC from a subscriber */
		if (rl >= 2)
			ack(c, 0x62, p);
		break;
	case 6:			/* PUBREL from a publisher */
		if (rl >= 2)
			ack(c, 0x70, p);
		break;
	case 8:
		subscribe(c, p, rl);
		break;
	case 12:		/* PINGREQ */
		out_own(c, (const uint8_t *)"\xd0\x00", 2);
		break;
	case 14:
		conn_close(c);
		break;
	default:		/* PUBACK, PUBCOMP from subscribers */
		break;
	}
}

static void
conn_read(struct conn *c)
{
	size_t		 hl, rl, mult;
	ssize_t		 n;

	if (c->rcap - c->rlen < READ_MAX) {
		c->rcap = c->rlen + READ_MAX;
		if ((c->rbuf = realloc(c->rbuf, c->rcap)) == NULL)
			err(1, NULL);
	}
	if ((n = read(c->fd, c->rbuf + c->rlen, READ_MAX)) <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	c->rlen += n;
	if (!c->read_now && !c->dirty)
		turn_add(c);
	c->read_now = 1;
	while (c->rlen - c->rpos >= 2 && !c->dead) {
		const uint8_t	*p = c->rbuf + c->rpos;

		rl = 0;
		mult = 1;
		for (hl = 1; hl < 5 && c->rpos + hl < c->rlen; hl++) {
			rl += (p[hl] & 0x7f) * mult;
			mult *= 128;
			if (!(p[hl] & 0x80))
				break;
		}
		if (c->rpos + hl >= c->rlen)
			break;
		hl++;
		if (c->rlen - c->rpos < hl + rl)
			break;
		packet(c, p, hl, rl);
		c->rpos += hl + rl;
	}
}

static void
want_write(struct conn *c, int w)
{
	struct epoll_event	 ee;

	if (w == c->wantw)
		return;
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN | (w ? EPOLLOUT : 0);
	ee.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ee) == -1)
		err(1, "epoll_ctl");
	c->wantw = w;
}

/* One writev of what is pending and this turn's output; keep the rest. */
static void
conn_write(struct conn *c)
{
	struct iovec	 iov[IOV_BATCH];
	size_t		 total = 0, left, k;
	ssize_t		 n;
	int		 i, j, niov = 0;
	uint8_t		*np;

	if (c->dead)
		return;
	if (c->plen > 0) {
		iov[niov].iov_base = c->pend;
		iov[niov++].iov_len = c->plen;
	}
	for (i = 0; i < c->nout; i++) {
		if (niov == IOV_BATCH)
			break;
		iov[niov].iov_base = (void *)(uintptr_t)(c->out[i].p != NULL ?
		    c->out[i].p : c->abuf + c->out[i].off);
		iov[niov++].iov_len = c->out[i].len;
	}
	for (j = 0; j < niov; j++)
		total += iov[j].iov_len;
	if (total == 0)
		return;
	if ((n = writev(c->fd, iov, niov)) == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			conn_close(c);
			return;
		}
		n = 0;
	}
	/* What was not written (and what did not fit) is copied. */
	left = total - n;
	for (i = niov - (c->plen > 0); i < c->nout; i++)
		left += c->out[i].len;
	if (left == 0) {
		c->plen = 0;
		want_write(c, 0);
		return;
	}
	if ((np = malloc(left)) == NULL)
		err(1, NULL);
	k = 0;
	for (j = 0; j < niov; j++) {
		if ((size_t)n >= iov[j].iov_len) {
			n -= iov[j].iov_len;
			continue;
		}
		memcpy(np + k, (uint8_t *)iov[j].iov_base + n,
		    iov[j].iov_len - n);
		k += iov[j].iov_len - n;
		n = 0;
	}
	for (i = niov - (c->plen > 0); i < c->nout; i++) {
		memcpy(np + k, c->out[i].p != NULL ? c->out[i].p :
		    c->abuf + c->out[i].off, c->out[i].len);
		k += c->out[i].len;
	}
	free(c->pend);
	c->pend = np;
	c->plen = left;
	want_write(c, 1);
}

/* The end of a turn: one write each, then compact the read buffers. */
static void
turn_end(void)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < nturn; i++)
		if (turn[i]->dirty) {
			conn_write(turn[i]);
			turn[i]->nout = 0;
			turn[i]->alen = 0;
			turn[i]->dirty = 0;
		}
	for (i = 0; i < nturn; i++) {
		c = turn[i];
		if (c->read_now) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
			c->read_now = 0;
		}
	}
	nturn = 0;
}

static void
accept_conns(int lfd)
{
	struct epoll_event	 ee;
	struct conn		*c;
	int			 fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			err(1, NULL);
		c->fd = fd;
		c->version = 4;
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee) == -1)
			err(1, "epoll_ctl");
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev[256], ee;
	struct sockaddr_in	 sin;
	const char		*errstr;
	int			 ch, lfd, n, i, on = 1, port = 1883;

	while ((ch = getopt(argc, argv, "p:")) != -1) {
		switch (ch) {
		case 'p':
			port = strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(1, "port %s: %s", optarg, errstr);
			break;
		default:
			fprintf(stderr, "usage: floor [-p port]\n");
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		err(1, "socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* Accepted sockets inherit it, as in brokerd's listener. */
	(void)setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1)
		err(1, "port %d", port);
	if ((epfd = epoll_create1(0)) == -1)
		err(1, "epoll_create1");
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.ptr = NULL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ee) == -1)
		err(1, "epoll_ctl");
	for (;;) {
		if ((n = epoll_wait(epfd, ev, 256, -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct conn	*c = ev[i].data.ptr;

			if (c == NULL)
				accept_conns(lfd);
			else if (c->dead)
				continue;
			else {
				if (ev[i].events & EPOLLOUT && !c->dirty) {
					c->dirty = 1;
					turn_add(c);
				}
				if (ev[i].events & (EPOLLIN | EPOLLHUP |
				    EPOLLERR))
					conn_read(c);
			}
		}
		turn_end();
	}
}
