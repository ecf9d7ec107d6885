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
 * Client connections: accepting them within the listeners' limits,
 * cutting the byte stream into packets, batching what is written to them,
 * timing them out.
 *
 * Memory: reads go to one buffer shared by every connection; only the
 * tail of a packet that has not fully arrived is kept, in a buffer that
 * grows with what has been received (never with what a header claims).
 * Output is gathered during one turn of the event loop and written once
 * at its end; an idle connection holds no buffer at all.  A closed
 * connection is freed at the end of the turn, so nothing running in that
 * turn is left holding a dangling pointer.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "compat.h"

/*
 * A client whose last packet was large (READ_BIG_PACKET or more) is read
 * RDBUF_SIZE at a time, others READ_SMALL: large reads halve the system
 * calls and turns per 16 KiB message and keep the socket queues short,
 * while for small packets a turn's input and the output it makes stay
 * in the cache (64 B QoS 0 with 256 KiB reads: less than half the rate).
 */
#define RDBUF_SIZE	(256 * 1024)
#define READ_SMALL	(64 * 1024)
#define READ_BIG_PACKET	4096
#define ACCEPT_BATCH	64
#define LINGER_MS	5000
#define AUTH_READ	4096
#define OCHUNK_MIN	1024
#define OCHUNK_MAX	(64 * 1024)
#define OQ_IOV		64

RB_HEAD(conn_tree, conn);
RB_HEAD(addr_tree, addrcount);

static struct listener_head	 listeners =
    TAILQ_HEAD_INITIALIZER(listeners);
static struct conn_tree		 conns = RB_INITIALIZER(&conns);
static struct addr_tree		 addrs = RB_INITIALIZER(&addrs);
static TAILQ_HEAD(, conn)	 wlist = TAILQ_HEAD_INITIALIZER(wlist);
static TAILQ_HEAD(, conn)	 zombies = TAILQ_HEAD_INITIALIZER(zombies);
static TAILQ_HEAD(, conn)	 preq = TAILQ_HEAD_INITIALIZER(preq);
static int			 accept_paused;	/* max auth waiting */
static uint32_t			 conn_nextid;
static uint8_t			 rdbuf[RDBUF_SIZE];
/*
 * The lines a client can cause are rate limited per kind (the format of
 * the line), so that a flood of one kind hides no other; kinds beyond
 * CONN_RL_KINDS share the last limiter.
 */
#define CONN_RL_KINDS	32
static struct {
	const char		*fmt;
	struct log_ratelimit	 rl;
} conn_rl[CONN_RL_KINDS];
static struct log_ratelimit	 accept_rl = LOG_RATELIMIT_INIT(5, 60);
static struct log_ratelimit	 pre_rl = LOG_RATELIMIT_INIT(5, 60);

static int	conn_cmp(struct conn *, struct conn *);
static int	addr_cmp(struct addrcount *, struct addrcount *);
static void	listener_accept(int, int, void *);
static void	listener_resume(void *);
static void	conn_io(int, int, void *);
static void	conn_timer(void *);
static void	conn_read(struct conn *);
static void	conn_read_some(struct conn *);
static void	conn_pre_account(struct conn *);
static size_t	conn_process(struct conn *, uint8_t *, size_t);
static int	conn_process_rbuf(struct conn *);
static void	conn_input(struct conn *, uint8_t *, size_t);
static int	oq_write(struct conn *);
static void	conn_flush(struct conn *);
static void	conn_events(struct conn *);

RB_GENERATE_STATIC(conn_tree, conn, idtree, conn_cmp);
RB_GENERATE_STATIC(addr_tree, addrcount, entry, addr_cmp);

static int
conn_cmp(struct conn *a, struct conn *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
addr_cmp(struct addrcount *a, struct addrcount *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* A bound socket from the parent, served once the service starts. */
void
conn_listener_add(uint32_t id, int kind, const char *name,
    const struct listener_opts *o, int fd)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal(NULL);
	l->id = id;
	l->kind = kind;
	strlcpy(l->name, name, sizeof(l->name));
	l->o = *o;
	l->fd = fd;
	ev_set(&l->ev, l->fd, listener_accept, l);
	evtimer_set(&l->resume, listener_resume, l);
	TAILQ_INSERT_TAIL(&listeners, l, entry);
}

/* The listener after `l' (the first if NULL), for listings. */
struct listener *
conn_listener_next(struct listener *l)
{
	return l == NULL ? TAILQ_FIRST(&listeners) : TAILQ_NEXT(l, entry);
}

struct listener *
conn_listener_by_id(uint32_t id)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &listeners, entry)
		if (l->id == id)
			return l;
	return NULL;
}

void
conn_listeners_start(void)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &listeners, entry)
		if (l->fd != -1)	/* not one that tlsproxy serves */
			ev_add(&l->ev, EV_READ);
}

static void
listener_resume(void *arg)
{
	struct listener	*l = arg;

	if (!accept_paused)
		ev_add(&l->ev, EV_READ);
}

static struct addrcount *
addr_get(const struct sockaddr_storage *ss)
{
	struct addrcount	 key, *ac;

	memset(&key, 0, sizeof(key));
	key.family = ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(key.addr, &((const struct sockaddr_in *)ss)->sin_addr,
		    4);
	else if (ss->ss_family == AF_INET6)
		memcpy(key.addr,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	if ((ac = RB_FIND(addr_tree, &addrs, &key)) != NULL)
		return ac;
	if ((ac = malloc(sizeof(*ac))) == NULL)
		return NULL;
	*ac = key;
	RB_INSERT(addr_tree, &addrs, ac);
	return ac;
}

static void
addr_put(struct addrcount *ac)
{
	if (ac != NULL && --ac->count == 0) {
		RB_REMOVE(addr_tree, &addrs, ac);
		free(ac);
	}
}

static struct conn *
conn_new(int fd, struct listener *l, const struct sockaddr_storage *ss,
    struct addrcount *ac)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		addr_put(ac);
		return NULL;
	}
	do {
		c->id = ++conn_nextid;
	} while (c->id == 0 || RB_FIND(conn_tree, &conns, c) != NULL);
	RB_INSERT(conn_tree, &conns, c);
	c->fd = fd;
	c->l = l;
	c->ac = ac;
	c->state = CONN_NEW;
	c->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(c->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		c->port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(c->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    16);
		c->port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	/* TCP_NODELAY comes from the listening socket (listener.c). */
	c->max_packet_out = UINT32_MAX;
	c->recv_max_out = 65535;
	c->last_rx = ev_now();
	buf_init(&c->rbuf, 0);
	buf_secret(&c->rbuf, 1);	/* until the CONNECT is done with */
	TAILQ_INIT(&c->held);
	l->nconns++;
	l->accepted++;
	engine_stats.conns++;
	engine_stats.conns_total++;
	ev_set(&c->ev, fd, conn_io, c);
	conn_events(c);
	evtimer_set(&c->timer, conn_timer, c);
	evtimer_add(&c->timer, (uint64_t)econf.connect_timeout * 1000);
	return c;
}

/*
 * May a connection from `ss' come in on `l'?  0 with `*acp' counted (or
 * NULL), or -1: the listener or the address has all it may have.
 */
static int
conn_admit(struct listener *l, const struct sockaddr_storage *ss,
    struct addrcount **acp)
{
	struct addrcount	*ac = NULL;

	*acp = NULL;
	if (l->o.max_conns != 0 && l->nconns >= l->o.max_conns) {
		log_limited(&accept_rl, LOG_WARNING, "listener %s: "
		    "%u connections, refusing more", l->name,
		    l->o.max_conns);
		l->refused++;
		engine_stats.conns_refused++;
		return -1;
	}
	if (l->o.max_conns_addr != 0 && ss->ss_family != AF_UNIX &&
	    ss->ss_family != AF_UNSPEC) {
		if ((ac = addr_get(ss)) == NULL)
			return -1;
		if (ac->count >= l->o.max_conns_addr) {
			log_limited(&accept_rl, LOG_WARNING,
			    "listener %s: %u connections from one "
			    "address, refusing more", l->name,
			    l->o.max_conns_addr);
			l->refused++;
			engine_stats.conns_refused++;
			if (ac->count == 0)
				addr_put(ac);
			return -1;
		}
		ac->count++;
	}
	*acp = ac;
	return 0;
}

/*
 * A connection tlsproxy has handed over: from now on like one accepted
 * here, logged and limited by the address tlsproxy says it comes from.
 */
void
conn_adopt(int fd, const struct conn_facts *f)
{
	struct listener		*l;
	struct addrcount	*ac;
	struct conn		*c;

	if ((l = conn_listener_by_id(f->listener)) == NULL || l->fd != -1)
		fatalx("IPC_TLS_CONN for listener %u, not one tlsproxy "
		    "serves", f->listener);
	if (conn_admit(l, &f->peer, &ac) == -1) {
		close(fd);
		return;
	}
	if ((c = conn_new(fd, l, &f->peer, ac)) == NULL)
		return;
	c->adopted = 1;
	c->transport = f->transport;
	if (f->identity != IDENTITY_NONE) {
		if ((c->cert = calloc(1, sizeof(*c->cert))) == NULL ||
		    (c->cert->subject = strdup(f->subject)) == NULL ||
		    (c->cert->cn = strdup(f->cn)) == NULL) {
			conn_close(c, "out of memory");
			return;
		}
		c->cert->source = f->identity;
	}
	engine_stats.conns_relayed++;
	conn_log(c, LOG_DEBUG, "from tlsproxy: %s%s%s%s%s%s",
	    f->transport == TRANSPORT_TLS ? "tls" :
	    f->transport == TRANSPORT_WS ? "ws" :
	    f->transport == TRANSPORT_WSS ? "wss" : "tcp",
	    f->proxied ? ", proxied" : "",
	    f->tls_version[0] != '\0' ? ", " : "", f->tls_version,
	    f->cn[0] != '\0' ? ", CN " : "", f->cn);
}

static void
listener_accept(int fd, int flags, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	struct addrcount	*ac;
	socklen_t		 len;
	int			 cfd, i;

	(void)flags;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if ((cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_limited(&accept_rl, LOG_WARNING,
				    "listener %s: %s; pausing for a second",
				    l->name, strerror(errno));
				ev_del(&l->ev);
				evtimer_add(&l->resume, 1000);
			}
			return;
		}
		if (l->o.metrics) {
			metrics_accept(l, cfd);
			continue;
		}
		if (conn_admit(l, &ss, &ac) == -1) {
			close(cfd);
			continue;
		}
		(void)conn_new(cfd, l, &ss, ac);
	}
}

struct conn *
conn_by_id(uint32_t id)
{
	struct conn	 key;

	memset(&key, 0, sizeof(key));
	key.id = id;
	return RB_FIND(conn_tree, &conns, &key);
}

/* The connection with the next id above `id', for listings. */
struct conn *
conn_after(uint32_t id)
{
	struct conn	 key;

	if (id == UINT32_MAX)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.id = id + 1;
	return RB_NFIND(conn_tree, &conns, &key);
}

/* "192.0.2.1:5432", "[2001:db8::1]:5432", or the listener's path. */
void
conn_addr(const struct conn *c, char *buf, size_t size)
{
	char	 host[INET6_ADDRSTRLEN];

	switch (c->family) {
	case AF_INET:
		inet_ntop(AF_INET, c->addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, c->port);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, c->addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, c->port);
		break;
	default:
		strlcpy(buf, c->l->name, size);
		break;
	}
}

/* "client-id 192.0.2.1:5432" for the log. */
const char *
conn_name(const struct conn *c)
{
	static char	 buf[512];
	char		 addr[LISTENER_NAME_MAX];

	conn_addr(c, addr, sizeof(addr));
	snprintf(buf, sizeof(buf), "%.200s %s",
	    c->sess != NULL ? c->sess->id : "-", addr);
	return buf;
}

static struct log_ratelimit *
conn_ratelimit(const char *fmt)
{
	static const struct log_ratelimit	 init =
	    LOG_RATELIMIT_INIT(20, 10);
	size_t					 i;

	for (i = 0; i < CONN_RL_KINDS - 1; i++)
		if (conn_rl[i].fmt == fmt || conn_rl[i].fmt == NULL)
			break;
	if (conn_rl[i].fmt == NULL) {
		conn_rl[i].fmt = fmt;
		conn_rl[i].rl = init;
	}
	return &conn_rl[i].rl;
}

/*
 * A line about a client: its identifier, address and listener.  Lines a
 * client can cause are rate limited, per kind.
 */
void
conn_log(struct conn *c, int pri, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pri == LOG_DEBUG)
		log_debug("client %s on %s: %s", conn_name(c), c->l->name,
		    msg);
	else
		log_limited(conn_ratelimit(fmt), pri, "client %s on %s: %s",
		    conn_name(c), c->l->name, msg);
}

void
conn_update(struct conn *c)
{
	conn_events(c);
}

static void
conn_events(struct conn *c)
{
	int	 flags = 0;

	/*
	 * A client that does not read what it is sent is not read.  While
	 * authd decides, what comes after CONNECT is read once (4 KiB at
	 * most) and kept until the verdict; the descriptor stays in the
	 * kernel's set, as nearly every client sends nothing then.
	 */
	if ((c->state == CONN_NEW || c->state == CONN_ACTIVE ||
	    c->state == CONN_CHALLENGED) &&
	    conn_outq(c) < econf.max_client_buffer)
		flags |= EV_READ;
	if (c->state == CONN_AUTH && buf_len(&c->rbuf) == 0)
		flags |= EV_READ;
	if (c->blocked)
		flags |= EV_WRITE;
	if (flags == c->evflags)
		return;
	if (flags == 0)
		ev_del(&c->ev);
	else
		ev_add(&c->ev, flags);
	c->evflags = flags;
}

static void
conn_io(int fd, int flags, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	if ((flags & EV_WRITE) && c->state != CONN_DEAD) {
		c->blocked = 0;
		conn_flush(c);
	}
	if ((flags & EV_READ) && (c->state == CONN_NEW ||
	    c->state == CONN_ACTIVE || c->state == CONN_AUTH ||
	    c->state == CONN_CHALLENGED)) {
		conn_read(c);
		if (c->state == CONN_AUTH)
			conn_events(c);
	}
}

/* How much of the packet at the start of `p' is missing, if known. */
static size_t
conn_want(const uint8_t *p, size_t len)
{
	uint8_t		 first;
	uint32_t	 rl;
	size_t		 hlen;

	if (mqtt_header(p, len, &first, &rl, &hlen) != 1 ||
	    hlen + rl <= len)
		return READ_SMALL;
	return hlen + rl - len;
}

/*
 * The packets in `p', which rbuf does not continue; the start of a packet
 * that has not fully arrived is kept in rbuf.
 */
static void
conn_input(struct conn *c, uint8_t *p, size_t len)
{
	size_t	 used;

	used = conn_process(c, p, len);
	if (c->state != CONN_DEAD && used < len &&
	    buf_add(&c->rbuf, p + used, len - used) == -1)
		conn_close(c, "out of memory");
}

/*
 * The packets buffered in rbuf, as far as they go; -1 if that closed the
 * connection.
 */
static int
conn_process_rbuf(struct conn *c)
{
	size_t	 used;

	used = conn_process(c, buf_ptr(&c->rbuf), buf_len(&c->rbuf));
	if (c->state == CONN_DEAD)
		return -1;
	buf_consume(&c->rbuf, used);
	if (buf_len(&c->rbuf) == 0)
		buf_free(&c->rbuf);
	return 0;
}

/*
 * One read per readiness event, of a size that follows the client's
 * packets (RDBUF_SIZE).  When part of a packet is buffered, the rest of
 * it goes after it and whatever follows to the shared buffer, in the same
 * readv(): large packets arrive in two pieces per read, not one read per
 * piece.
 */
static void
conn_read(struct conn *c)
{
	conn_read_some(c);
	if (c->state != CONN_DEAD)
		conn_pre_account(c);
}

static void
conn_read_some(struct conn *c)
{
	struct iovec	 iov[2];
	uint8_t		*p;
	size_t		 want = 0;
	ssize_t		 n;
	int		 niov = 0;

	if (buf_len(&c->rbuf) > 0) {
		want = conn_want(buf_ptr(&c->rbuf), buf_len(&c->rbuf));
		if (want > READ_SMALL)
			want = READ_SMALL;
		if ((p = buf_reserve_exact(&c->rbuf, want)) == NULL) {
			conn_close(c, "out of memory");
			return;
		}
		iov[niov].iov_base = p;
		iov[niov++].iov_len = want;
	}
	iov[niov].iov_base = rdbuf;
	/* Waiting for authd: a little, kept until the verdict. */
	iov[niov++].iov_len = c->state == CONN_AUTH ? AUTH_READ :
	    c->bigread ? sizeof(rdbuf) : READ_SMALL;
	if ((n = readv(c->fd, iov, niov)) <= 0)
		goto fail;
	c->last_rx = ev_now();
	engine_stats.bytes_in += n;
	c->rx_bytes += n;
	if (want > 0) {
		buf_commit(&c->rbuf, (size_t)n < want ? (size_t)n : want);
		if (conn_process_rbuf(c) == -1 || (size_t)n <= want)
			return;
		n -= want;
		if (buf_len(&c->rbuf) > 0) {
			/*
			 * Short of a header, of a packet larger than one
			 * read, or waiting for authd: all of it waits.
			 */
			if (buf_add(&c->rbuf, rdbuf, n) == -1)
				conn_close(c, "out of memory");
			else
				conn_process_rbuf(c);
			return;
		}
	}
	conn_input(c, rdbuf, n);
	return;
fail:
	if (n == 0)
		conn_close(c, c->graceful ? NULL : "connection closed by the "
		    "client");
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		conn_close(c, strerror(errno));
}

/*
 * Hand every complete packet in `p' to the protocol; returns the bytes
 * taken.  A packet larger than the limit is refused from its header,
 * before its body is buffered; before CONNECT the limit is lower, and the
 * first byte must be that of a CONNECT.
 */
static size_t
conn_process(struct conn *c, uint8_t *p, size_t len)
{
	size_t		 used = 0, hlen;
	uint32_t	 rl, limit;
	uint8_t		 first, big = c->bigread;
	int		 r;

	while (used < len && (c->state == CONN_NEW ||
	    c->state == CONN_ACTIVE || c->state == CONN_CHALLENGED)) {
		if (c->state == CONN_NEW && (p[used] >> 4) != MQTT_CONNECT) {
			engine_stats.protocol_errors++;
			conn_close(c, "the first packet is not CONNECT");
			break;
		}
		r = mqtt_header(p + used, len - used, &first, &rl, &hlen);
		if (r == 0)
			break;
		if (r == -1) {
			client_error(c, RC_MALFORMED_PACKET,
			    "malformed remaining length");
			break;
		}
		limit = c->state != CONN_ACTIVE ? econf.max_connect_size :
		    econf.max_packet_size;
		if (hlen + rl > limit) {
			client_error(c, RC_PACKET_TOO_LARGE,
			    "packet larger than the limit");
			break;
		}
		big = hlen + rl >= READ_BIG_PACKET;
		if (len - used < hlen + rl)
			break;
		client_packet(c, first, p + used + hlen, rl);
		/*
		 * A CONNECT may hold a password: none stays in a buffer.  If
		 * it closed the connection, its own buffer is gone (wiped,
		 * being secret); the shared one is still there.
		 */
		if ((first >> 4) == MQTT_CONNECT && (c->state != CONN_DEAD ||
		    ((uintptr_t)p >= (uintptr_t)rdbuf &&
		    (uintptr_t)p < (uintptr_t)rdbuf + sizeof(rdbuf))))
			explicit_bzero(p + used, hlen + rl);
		used += hlen + rl;
	}
	c->bigread = big;
	return used;
}

/*
 * For the fuzz target and the unit tests: a connection on `fd' without a
 * listening socket, and its input fed directly.
 */
struct conn *
conn_test_new(int fd, struct listener *l)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(1);
	conn_new(fd, l, &ss, NULL);
	return conn_by_id(conn_nextid);
}

/* As if read: through the shared read buffer, a piece at a time. */
void
conn_test_input(struct conn *c, const uint8_t *p, size_t len)
{
	size_t	 n;

	while (len > 0 && c->state != CONN_DEAD) {
		n = len < sizeof(rdbuf) ? len : sizeof(rdbuf);
		memcpy(rdbuf, p, n);
		if (buf_len(&c->rbuf) == 0)
			conn_input(c, rdbuf, n);
		else if (buf_add(&c->rbuf, rdbuf, n) == -1)
			conn_close(c, "out of memory");
		else
			conn_process_rbuf(c);
		p += n;
		len -= n;
	}
}

/* After authd's verdict: read again, starting with what is buffered. */
void
conn_resume(struct conn *c)
{
	buf_secret(&c->rbuf, 0);
	conn_events(c);
	if (buf_len(&c->rbuf) == 0 || (c->state != CONN_ACTIVE &&
	    c->state != CONN_CHALLENGED))
		return;
	if (conn_process_rbuf(c) == 0)
		conn_events(c);
}

/* Output is waiting: write it at the end of this turn. */
static void
conn_want_write(struct conn *c)
{
	if (!c->onwlist && !c->blocked) {
		TAILQ_INSERT_TAIL(&wlist, c, wlist);
		c->onwlist = 1;
	}
}

static void
ochunk_unref(struct ochunk *ck)
{
	if (ck != NULL && --ck->refs == 0)
		free(ck);
}

/* The output queue, with room for one more segment; NULL if no memory. */
static struct oq *
oq_room(struct conn *c)
{
	struct oq	*q;
	struct oseg	*ns;
	uint32_t	 i;

	if ((q = c->oq) == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return NULL;
		q->seg = q->inl;
		q->cap = OQ_INLINE;
		c->oq = q;
		conn_want_write(c);	/* freed there if nothing comes */
	}
	if (q->n < q->cap)
		return q;
	if ((ns = reallocarray(NULL, q->cap, 2 * sizeof(*ns))) == NULL)
		return NULL;
	for (i = 0; i < q->n; i++)
		ns[i] = q->seg[(q->head + i) & (q->cap - 1)];
	if (q->seg != q->inl)
		free(q->seg);
	q->seg = ns;
	q->head = 0;
	q->cap *= 2;
	return q;
}

static struct oseg *
oq_seg(struct oq *q, uint32_t i)
{
	return &q->seg[(q->head + i) & (q->cap - 1)];
}

/* The first segment is written: let it go. */
static void
oq_pop(struct oq *q)
{
	struct oseg	*sg = oq_seg(q, 0);

	if (sg->m != NULL)
		msg_unref(sg->m);
	ochunk_unref(sg->ck);
	q->head = (q->head + 1) & (q->cap - 1);
	q->n--;
	q->done = 0;
}

static void
oq_free(struct conn *c)
{
	struct oq	*q = c->oq;

	if (q == NULL)
		return;
	while (q->n > 0)
		oq_pop(q);
	ochunk_unref(q->ck);
	if (q->seg != q->inl)
		free(q->seg);
	free(q);
	c->oq = NULL;
}

/*
 * Room for `len' contiguous bytes of output, written at the end of this
 * turn.  A new chunk is twice the size of the last, from 1 KiB up to
 * 64 KiB, or as large as one packet needs.
 */
uint8_t *
conn_reserve(struct conn *c, size_t len)
{
	struct oq	*q;
	struct ochunk	*ck;
	size_t		 cap;

	if (c->state == CONN_DEAD || (q = oq_room(c)) == NULL)
		return NULL;
	if (q->ck != NULL && q->ck->cap - q->wpos >= len)
		return q->ck->data + q->wpos;
	cap = q->ck != NULL ? 2 * (size_t)q->ck->cap : OCHUNK_MIN;
	if (cap > OCHUNK_MAX)
		cap = OCHUNK_MAX;
	if (cap < len)
		cap = len;
	if (cap > UINT32_MAX - sizeof(*ck) ||
	    (ck = malloc(sizeof(*ck) + cap)) == NULL)
		return NULL;
	ck->refs = 1;
	ck->cap = cap;
	ochunk_unref(q->ck);
	q->ck = ck;
	q->wpos = 0;
	return ck->data;
}

/* `len' bytes were put where conn_reserve() said. */
void
conn_commit(struct conn *c, size_t len)
{
	struct oq	*q = c->oq;
	struct oseg	*sg = NULL;
	uint8_t		*p;

	if (len == 0 || q == NULL || q->ck == NULL)
		return;
	p = q->ck->data + q->wpos;
	if (q->n > 0)
		sg = oq_seg(q, q->n - 1);
	if (sg == NULL || sg->ck != q->ck || sg->p + sg->len != p) {
		/* conn_reserve() left room for this one. */
		sg = oq_seg(q, q->n++);
		sg->m = NULL;
		sg->ck = q->ck;
		sg->ck->refs++;
		sg->p = p;
		sg->len = 0;
	}
	sg->len += len;
	q->wpos += len;
	q->bytes += len;
}

/*
 * Write `len' bytes at `p', which `m' holds, without copying them: the
 * connection keeps a reference to `m' until they are written.
 */
int
conn_send_ref(struct conn *c, struct msg *m, const uint8_t *p, uint32_t len)
{
	struct oq	*q;
	struct oseg	*sg;

	if (c->state == CONN_DEAD || (q = oq_room(c)) == NULL)
		return -1;
	sg = oq_seg(q, q->n++);
	sg->m = msg_ref(m);
	sg->ck = NULL;
	sg->p = p;
	sg->len = len;
	q->bytes += len;
	return 0;
}

int
conn_send(struct conn *c, const void *p, size_t len)
{
	uint8_t	*w;

	if ((w = conn_reserve(c, len)) == NULL)
		return -1;
	memcpy(w, p, len);
	conn_commit(c, len);
	return 0;
}

size_t
conn_outq(const struct conn *c)
{
	return c->oq != NULL ? c->oq->bytes : 0;
}

/* `n' bytes were written. */
static void
oq_consume(struct oq *q, size_t n)
{
	struct oseg	*sg;
	size_t		 left;

	while (n > 0 && q->n > 0) {
		sg = oq_seg(q, 0);
		left = sg->len - q->done;
		if (left > n) {
			q->done += n;
			q->bytes -= n;
			return;
		}
		n -= left;
		q->bytes -= left;
		oq_pop(q);
	}
}

/* Write what the socket takes; -1 and errno if it did not take all. */
static int
oq_write(struct conn *c)
{
	struct iovec	 iov[OQ_IOV];
	struct msghdr	 msg;
	struct oq	*q;
	struct oseg	*sg;
	ssize_t		 n;
	uint32_t	 i;

	while ((q = c->oq) != NULL && q->bytes > 0) {
		memset(&msg, 0, sizeof(msg));
		for (i = 0; i < q->n && i < OQ_IOV; i++) {
			sg = oq_seg(q, i);
			iov[i].iov_base = (void *)(uintptr_t)sg->p;
			iov[i].iov_len = sg->len;
		}
		iov[0].iov_base = (uint8_t *)iov[0].iov_base + q->done;
		iov[0].iov_len -= q->done;
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		if ((n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		oq_consume(q, n);
		engine_stats.bytes_out += n;
		c->tx_bytes += n;
	}
	return 0;
}

/*
 * Output over the limit in the middle of a turn: write what the socket
 * takes now rather than drop what comes next.  A socket that takes no
 * more is not tried again until it says it may (what comes meanwhile is
 * dropped without a system call each); an error is dealt with at the
 * end of the turn, not in the middle of routing.  Returns what is still
 * queued.
 */
size_t
conn_drain(struct conn *c)
{
	if (!c->blocked && c->state != CONN_DEAD && oq_write(c) == -1) {
		c->blocked = 1;
		conn_events(c);
	}
	return conn_outq(c);
}

/* Write the output queue; when all of it is written, free it. */
static void
conn_flush(struct conn *c)
{
	if (oq_write(c) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->blocked = 1;
			conn_events(c);
		} else
			conn_close(c, strerror(errno));
		return;
	}
	oq_free(c);
	if (c->state == CONN_CLOSING) {
		conn_close(c, NULL);
		return;
	}
	conn_events(c);
}

/* The end of a turn: write what was gathered, free the dead. */
void
conn_flush_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&wlist)) != NULL) {
		TAILQ_REMOVE(&wlist, c, wlist);
		c->onwlist = 0;
		if (c->state != CONN_DEAD)
			conn_flush(c);
	}
	while ((c = TAILQ_FIRST(&zombies)) != NULL) {
		TAILQ_REMOVE(&zombies, c, wlist);
		free(c);
	}
}

void
conn_keepalive_set(struct conn *c, uint16_t keepalive)
{
	c->keepalive = keepalive;
	if (keepalive == 0)
		evtimer_del(&c->timer);
	else
		evtimer_at(&c->timer, c->last_rx + keepalive * 1500ULL);
}

static void
conn_timer(void *arg)
{
	struct conn	*c = arg;
	uint64_t	 deadline;

	switch (c->state) {
	case CONN_NEW:
	case CONN_AUTH:
	case CONN_CHALLENGED:	/* an exchange abandoned half-way */
		engine_stats.connect_timeouts++;
		conn_close(c, "no CONNECT in time");
		break;
	case CONN_ACTIVE:
		if (c->keepalive == 0)
			break;
		deadline = c->last_rx + c->keepalive * 1500ULL;
		if (ev_now() < deadline) {
			evtimer_at(&c->timer, deadline);
			break;
		}
		engine_stats.keepalive_timeouts++;
		client_error(c, RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout");
		break;
	case CONN_CLOSING:
		conn_close(c, NULL);
		break;
	default:
		break;
	}
}

/*
 * Listeners stop accepting while max auth waiting CONNECTs wait for
 * authd, and start again once fewer do: the kernel's backlog holds the
 * rest, not the engine (nor authd's queue).  Not the metrics listeners,
 * nor those that tlsproxy serves.
 */
static void
conn_accept_check(void)
{
	struct listener	*l;
	int		 full;

	full = engine_stats.auth_waiting >= econf.max_auth_waiting;
	if (full == accept_paused)
		return;
	accept_paused = full;
	if (full) {
		engine_stats.auth_paused++;
		log_limited(&accept_rl, LOG_WARNING, "%llu connections wait "
		    "for authd (max auth waiting): not accepting for now",
		    (unsigned long long)engine_stats.auth_waiting);
	}
	TAILQ_FOREACH(l, &listeners, entry) {
		if (l->fd == -1 || l->o.metrics)
			continue;
		if (full) {
			ev_del(&l->ev);
			evtimer_del(&l->resume);
		} else
			ev_add(&l->ev, EV_READ);
	}
}

/*
 * Bytes held for a connection before its CONNACK: its read buffer and
 * the CONNECT kept for authd.  Those holding some are on preq, in the
 * order they began to; conn_pre_enforce() closes the first while the
 * total is over max connect total.
 */
static void
conn_pre_account(struct conn *c)
{
	size_t	 n = 0;

	if (c->state == CONN_NEW || c->state == CONN_AUTH ||
	    c->state == CONN_CHALLENGED)
		n = c->rbuf.size + c->pending_len;
	engine_stats.connect_bytes -= c->prebytes;
	engine_stats.connect_bytes += n;
	c->prebytes = n;
	if (n > 0 && !c->onpreq) {
		TAILQ_INSERT_TAIL(&preq, c, preq);
		c->onpreq = 1;
	} else if (n == 0 && c->onpreq) {
		TAILQ_REMOVE(&preq, c, preq);
		c->onpreq = 0;
	}
}

/* The end of a turn: the oldest partial CONNECTs go, while over. */
void
conn_pre_enforce(void)
{
	struct conn	*c;

	while (engine_stats.connect_bytes > econf.max_connect_total &&
	    (c = TAILQ_FIRST(&preq)) != NULL) {
		engine_stats.connect_dropped++;
		log_limited(&pre_rl, LOG_WARNING, "%llu bytes held for "
		    "connections before CONNACK (max connect total): closing "
		    "the oldest", (unsigned long long)
		    engine_stats.connect_bytes);
		conn_close(c, "max connect total");
	}
}

void
conn_set_state(struct conn *c, enum conn_state state)
{
	if (c->state == CONN_AUTH)
		engine_stats.auth_waiting--;
	if (state == CONN_AUTH)
		engine_stats.auth_waiting++;
	c->state = state;
	conn_pre_account(c);
	conn_accept_check();
}

/* Stop reading; close once the last packet is written (or in 5 s). */
void
conn_linger(struct conn *c)
{
	if (c->state == CONN_DEAD || c->state == CONN_CLOSING)
		return;
	client_gone(c, c->graceful, NULL);
	conn_set_state(c, CONN_CLOSING);
	evtimer_add(&c->timer, LINGER_MS);
	if (conn_outq(c) == 0) {
		conn_close(c, NULL);
		return;
	}
	conn_events(c);
	conn_want_write(c);
}

/*
 * Close now.  The session learns it, the will goes as the goodbye (or
 * its absence) says; the memory is freed at the end of the turn.
 */
void
conn_close(struct conn *c, const char *why)
{
	int	 i;

	if (c->state == CONN_DEAD)
		return;
	if (why != NULL)
		conn_log(c, LOG_DEBUG, "closed: %s", why);
	client_gone(c, c->graceful, why);
	conn_set_state(c, CONN_DEAD);
	c->l->nconns--;
	addr_put(c->ac);
	RB_REMOVE(conn_tree, &conns, c);
	if (c->adopted)
		ev_del(&c->ev);
	else
		ev_close(&c->ev);
	close(c->fd);
	evtimer_del(&c->timer);
	freezero(c->pending, c->pending_len);
	free(c->assigned);
	free(c->auth_id);
	free(c->auth_user);
	free(c->auth_method);
	for (i = 0; i < c->nalias; i++)
		free(c->alias[i]);
	free(c->alias);
	alias_out_free(c);
	free(c->user);
	if (c->cert != NULL) {
		free(c->cert->subject);
		free(c->cert->cn);
		free(c->cert);
		c->cert = NULL;
	}
	buf_free(&c->rbuf);
	oq_free(c);
	if (c->onwlist)
		TAILQ_REMOVE(&wlist, c, wlist);
	c->onwlist = 0;
	TAILQ_INSERT_TAIL(&zombies, c, wlist);
	engine_stats.conns--;
}
