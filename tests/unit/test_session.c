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
 * Unit tests for the session and QoS state machines (brokerd/session.c,
 * client.c, msg.c), run in-process as tests/fuzz/fuzz_mqtt.c does: each
 * client is a connection on a socketpair fed with conn_test_input(),
 * authd's verdict is simulated with client_verdict(), the output is
 * flushed with conn_flush_all() and read from the client's end, where it
 * is decoded with the codec.  Nothing waits on the event loop or a timer.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
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

#include "engine.h"
#include "pkt.h"
#include "inproc.h"

#define MAXCLIENTS	16
#define RBUF		65536

/* The test's end of one connection. */
struct client {
	uint32_t	 id;		/* of the engine's struct conn */
	int		 fd;
	uint8_t		 version;
	int		 eof;
	uint8_t		 rbuf[RBUF];
	size_t		 rlen;
};

/* A packet read from the engine. */
struct rpkt {
	uint8_t		 first;
	uint8_t		 body[RBUF];
	size_t		 len;
};

/* A packet to send. */

/* What a CONNECT says. */
struct copts {
	const char	*id;
	int		 clean;
	const char	*will_topic;	/* NULL: no will */
	const char	*will_msg;
	uint8_t		 will_qos;
	int		 will_retain;
	uint32_t	 will_delay;	/* MQTT 5 */
	int		 has_expiry;	/* MQTT 5 session expiry */
	uint32_t	 expiry;
	uint16_t	 recv_max;	/* MQTT 5, 0: not sent */
};

static struct listener	 lst;
static int		 authd_peer = -1;
static struct client	*clients[MAXCLIENTS];
static int		 nclients;

static void
drain(int fd)
{
	char	 buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The end of a turn of the event loop, and authd reads its input. */
static void
settle(void)
{
	engine_turn_end();
	drain(authd_peer);
}

/* Connections are held by id: a closed one is freed at the turn's end. */
static struct conn *
live(const struct client *cl)
{
	struct conn	*c;

	if ((c = conn_by_id(cl->id)) == NULL || c->state == CONN_DEAD)
		return NULL;
	return c;
}

/*
 * Packet building.
 */

static void
mk_connect(struct pkt *out, uint8_t version, const struct copts *o)
{
	struct pkt	 body, props;
	uint8_t		 flags = o->clean ? 0x02 : 0;

	memset(&body, 0, sizeof(body));
	if (o->will_topic != NULL)
		flags |= 0x04 | o->will_qos << 3 | (o->will_retain ? 0x20 : 0);
	p_str(&body, version == MQTT_V31 ? "MQIsdp" : "MQTT");
	p_u8(&body, version);
	p_u8(&body, flags);
	p_u16(&body, 0);
	if (version == MQTT_V5) {
		memset(&props, 0, sizeof(props));
		if (o->has_expiry) {
			p_u8(&props, PROP_SESSION_EXPIRY);
			p_u32(&props, o->expiry);
		}
		if (o->recv_max != 0) {
			p_u8(&props, PROP_RECEIVE_MAXIMUM);
			p_u16(&props, o->recv_max);
		}
		p_varint(&body, props.n);
		p_bytes(&body, props.b, props.n);
	}
	p_str(&body, o->id);
	if (o->will_topic != NULL) {
		if (version == MQTT_V5) {
			memset(&props, 0, sizeof(props));
			if (o->will_delay != 0) {
				p_u8(&props, PROP_WILL_DELAY);
				p_u32(&props, o->will_delay);
			}
			p_varint(&body, props.n);
			p_bytes(&body, props.b, props.n);
		}
		p_str(&body, o->will_topic);
		p_str(&body, o->will_msg);
	}
	p_frame(out, 0x10, &body);
}

static void
mk_publish(struct pkt *out, uint8_t version, const char *topic,
    const char *payload, uint8_t qos, uint16_t pid, int retain, int dup)
{
	struct pkt	 body;

	memset(&body, 0, sizeof(body));
	p_str(&body, topic);
	if (qos > 0)
		p_u16(&body, pid);
	if (version == MQTT_V5)
		p_u8(&body, 0);
	p_bytes(&body, payload, strlen(payload));
	p_frame(out, MQTT_PUBLISH << 4 | (dup ? 0x08 : 0) | qos << 1 |
	    (retain ? 1 : 0), &body);
}

static void
mk_subscribe(struct pkt *out, uint8_t version, uint16_t pid,
    const char *filter, uint8_t opts)
{
	struct pkt	 body;

	memset(&body, 0, sizeof(body));
	p_u16(&body, pid);
	if (version == MQTT_V5)
		p_u8(&body, 0);
	p_str(&body, filter);
	p_u8(&body, opts);
	p_frame(out, 0x82, &body);
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP; a reason code if `reason' >= 0. */
static void
mk_ack(struct pkt *out, uint8_t type, uint16_t pid, int reason)
{
	struct pkt	 body;

	memset(&body, 0, sizeof(body));
	p_u16(&body, pid);
	if (reason >= 0)
		p_u8(&body, reason);
	p_frame(out, type << 4 | (type == MQTT_PUBREL ? 2 : 0), &body);
}

/*
 * The client's side.
 */

static struct client *
cl_open(uint8_t version)
{
	struct client	*cl;
	struct conn	*c;
	int		 sv[2];

	assert_true(nclients < MAXCLIENTS);
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		fail_msg("calloc");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	c = conn_test_new(sv[0], &lst);
	assert_non_null(c);
	assert_int_equal(c->state, CONN_NEW);
	cl->id = c->id;
	cl->fd = sv[1];
	cl->version = version;
	clients[nclients++] = cl;
	return cl;
}

static void
cl_send(struct client *cl, const struct pkt *p)
{
	struct conn	*c;

	if ((c = live(cl)) == NULL)
		fail_msg("sending to a closed connection");
	conn_test_input(c, p->b, p->n);
	settle();
}

/* Read what the engine wrote so far. */
static void
cl_fill(struct client *cl)
{
	ssize_t	 n;

	for (;;) {
		assert_true(cl->rlen < RBUF);
		n = read(cl->fd, cl->rbuf + cl->rlen, RBUF - cl->rlen);
		if (n > 0) {
			cl->rlen += n;
			continue;
		}
		if (n == 0)
			cl->eof = 1;
		else
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return;
	}
}

/* The next packet in what was read, if it is all there. */
static int
cl_take(struct client *cl, struct rpkt *p)
{
	uint32_t	 rl;
	size_t		 hlen;

	if (mqtt_header(cl->rbuf, cl->rlen, &p->first, &rl, &hlen) != 1 ||
	    hlen + rl > cl->rlen)
		return 0;
	assert_true(rl <= sizeof(p->body));
	memcpy(p->body, cl->rbuf + hlen, rl);
	p->len = rl;
	memmove(cl->rbuf, cl->rbuf + hlen + rl, cl->rlen - hlen - rl);
	cl->rlen -= hlen + rl;
	return 1;
}

/* The next packet, if one has arrived. */
static int
cl_next(struct client *cl, struct rpkt *p)
{
	cl_fill(cl);
	return cl_take(cl, p);
}

static void
cl_expect(struct client *cl, uint8_t type, struct rpkt *p)
{
	if (!cl_next(cl, p))
		fail_msg("expected %s, got nothing", mqtt_type_name(type));
	if (p->first >> 4 != type)
		fail_msg("expected %s, got %s", mqtt_type_name(type),
		    mqtt_type_name(p->first >> 4));
}

/* Nothing more has arrived. */
static void
cl_quiet(struct client *cl)
{
	struct rpkt	 p;

	if (cl_next(cl, &p))
		fail_msg("unexpected %s", mqtt_type_name(p.first >> 4));
	assert_int_equal(cl->rlen, 0);
}

/* The engine closed the connection, after nothing more. */
static void
cl_closed(struct client *cl)
{
	cl_quiet(cl);
	assert_int_equal(cl->eof, 1);
	assert_null(live(cl));
}

static void
cl_open_now(struct client *cl)
{
	cl_fill(cl);
	assert_int_equal(cl->eof, 0);
	assert_non_null(live(cl));
}

/* What authd would answer. */
static void
verdict(struct conn *c, int allow)
{
	client_verdict(c, allow, allow ? RC_SUCCESS : RC_NOT_AUTHORIZED, NULL,
	    NULL, 0);
}

/*
 * Connect and read the CONNACK: returns the session present flag; the
 * CONNACK's properties (MQTT 5) in *pr if not NULL.
 */
static int
cl_connect_props(struct client *cl, const struct copts *o,
    struct mqtt_props *pr)
{
	struct pkt		 p;
	struct rpkt		 r;
	struct conn		*c;
	struct mqtt_props	 tmp;
	struct mqtt_error	 e;
	size_t			 used;

	mk_connect(&p, cl->version, o);
	c = live(cl);
	assert_non_null(c);
	conn_test_input(c, p.b, p.n);
	assert_int_equal(c->state, CONN_AUTH);
	verdict(c, 1);
	assert_int_equal(c->state, CONN_ACTIVE);
	assert_non_null(c->sess);
	assert_string_equal(c->sess->id, o->id);
	settle();
	cl_expect(cl, MQTT_CONNACK, &r);
	assert_int_equal(r.first, 0x20);
	assert_int_equal(r.body[1], 0);		/* accepted */
	if (cl->version == MQTT_V5) {
		assert_int_equal(mqtt_decode_props(r.body + 2, r.len - 2,
		    PROP_IN(MQTT_CONNACK), pr != NULL ? pr : &tmp, &used, 64,
		    &e), 0);
		assert_int_equal(used, r.len - 2);
	} else
		assert_int_equal(r.len, 2);
	assert_true(r.body[0] <= 1);
	return r.body[0];
}

static int
cl_connect(struct client *cl, const char *id, int clean)
{
	struct copts	 o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.clean = clean;
	return cl_connect_props(cl, &o, NULL);
}

/* A connected client with a new session. */
static struct client *
client_new(uint8_t version, const char *id)
{
	struct client	*cl = cl_open(version);

	assert_int_equal(cl_connect(cl, id, 1), 0);
	return cl;
}

static struct session *
sess_of(const struct client *cl)
{
	struct conn	*c = live(cl);

	assert_non_null(c);
	assert_non_null(c->sess);
	return c->sess;
}

static void
cl_subscribe(struct client *cl, uint16_t pid, const char *filter,
    uint8_t opts, uint8_t granted)
{
	struct pkt	 p;
	struct rpkt	 r;

	mk_subscribe(&p, cl->version, pid, filter, opts);
	cl_send(cl, &p);
	cl_expect(cl, MQTT_SUBACK, &r);
	assert_int_equal(r.first, 0x90);
	assert_int_equal(r.body[0], pid >> 8);
	assert_int_equal(r.body[1], pid & 0xff);
	if (cl->version == MQTT_V5) {
		assert_int_equal(r.len, 4);
		assert_int_equal(r.body[2], 0);	/* no properties */
		assert_int_equal(r.body[3], granted);
	} else {
		assert_int_equal(r.len, 3);
		assert_int_equal(r.body[2], granted);
	}
}

static void
cl_publish(struct client *cl, const char *topic, const char *payload,
    uint8_t qos, uint16_t pid, int retain, int dup)
{
	struct pkt	 p;

	mk_publish(&p, cl->version, topic, payload, qos, pid, retain, dup);
	cl_send(cl, &p);
}

static void
cl_ack(struct client *cl, uint8_t type, uint16_t pid, int reason)
{
	struct pkt	 p;

	mk_ack(&p, type, pid, reason);
	cl_send(cl, &p);
}

/* The next packet is an acknowledgement of `type' for `pid'. */
static void
expect_ack(struct client *cl, uint8_t type, uint16_t pid, uint8_t reason)
{
	struct rpkt		 r;
	struct mqtt_ack		 a;
	struct mqtt_error	 e;

	cl_expect(cl, type, &r);
	assert_int_equal(mqtt_decode_ack(r.first, r.body, r.len,
	    cl->version == MQTT_V5, &a, &e), 0);
	assert_int_equal(a.packet_id, pid);
	if (cl->version == MQTT_V5)
		assert_int_equal(a.reason, reason);
	else
		assert_int_equal(r.len, 2);
	/* MQTT 5: a success says nothing more. */
	if (reason == RC_SUCCESS)
		assert_int_equal(r.len, 2);
}

/* The next packet is a PUBLISH of `payload' on `topic'; its pid. */
static uint16_t
expect_publish(struct client *cl, const char *topic, const char *payload,
    uint8_t qos, int dup, int retain)
{
	struct rpkt		 r;
	struct mqtt_publish	 m;
	struct mqtt_error	 e;

	cl_expect(cl, MQTT_PUBLISH, &r);
	if (mqtt_decode_publish(r.first, r.body, r.len,
	    cl->version == MQTT_V5, &m, &e) == -1)
		fail_msg("PUBLISH does not decode: %s", e.why);
	if (m.topic.len != strlen(topic) ||
	    memcmp(m.topic.p, topic, m.topic.len) != 0)
		fail_msg("PUBLISH on %.*s, expected %s", (int)m.topic.len,
		    (const char *)m.topic.p, topic);
	if (m.payload.len != strlen(payload) ||
	    memcmp(m.payload.p, payload, m.payload.len) != 0)
		fail_msg("PUBLISH of \"%.*s\", expected \"%s\"",
		    (int)m.payload.len, (const char *)m.payload.p, payload);
	assert_int_equal(m.qos, qos);
	assert_int_equal(m.dup, dup);
	assert_int_equal(m.retain, retain);
	if (qos == 0)
		assert_int_equal(m.packet_id, 0);
	else
		assert_int_not_equal(m.packet_id, 0);
	return m.packet_id;
}

/* The next packet is an MQTT 5 DISCONNECT with `reason'. */
static void
expect_disconnect(struct client *cl, uint8_t reason)
{
	struct rpkt		 r;
	struct mqtt_disconnect	 d;
	struct mqtt_error	 e;

	cl_expect(cl, MQTT_DISCONNECT, &r);
	assert_int_equal(mqtt_decode_disconnect(r.first, r.body, r.len, 1,
	    &d, &e), 0);
	assert_int_equal(d.reason, reason);
}

/* The network connection breaks. */
static void
cl_drop(struct client *cl)
{
	struct conn	*c = live(cl);

	assert_non_null(c);
	conn_close(c, "connection reset by peer");
	settle();
}

static void
cl_disconnect(struct client *cl, int reason)
{
	struct pkt	 p, body;

	memset(&body, 0, sizeof(body));
	if (reason >= 0)
		p_u8(&body, reason);
	p_frame(&p, 0xe0, &body);
	cl_send(cl, &p);
	cl_closed(cl);
}

/*
 * QoS 0.
 */

static int	 turns;

/* ev_dispatch()'s end of turn: the second ends it. */
static void
turn_end(void *arg)
{
	(void)arg;
	settle();
	if (turns++ > 0)
		ev_exit();
}

/*
 * Every QoS 0 PUBLISH of a 1000-byte payload the engine wrote to `cl'
 * so far, letting a connection that waits to write go on; how many.
 */
static uint64_t
count_publishes(struct client *cl)
{
	struct conn	*c;
	struct rpkt	 r;
	uint64_t	 n = 0;
	ssize_t		 got;
	size_t		 i;

	ev_setflush(turn_end, NULL);
	for (;;) {
		got = read(cl->fd, cl->rbuf + cl->rlen, RBUF - cl->rlen);
		if (got > 0) {
			cl->rlen += got;
			while (cl_take(cl, &r)) {
				assert_int_equal(r.first, MQTT_PUBLISH << 4);
				assert_int_equal(r.len, 2 + 3 + 1000);
				for (i = 5; i < r.len; i++)
					assert_int_equal(r.body[i], 'd');
				n++;
			}
			continue;
		}
		assert_true(got == -1 && errno == EAGAIN);
		if ((c = live(cl)) == NULL || !c->blocked)
			break;
		turns = 0;
		ev_dispatch();		/* it may write again */
	}
	ev_setflush(NULL, NULL);
	cl_quiet(cl);
	return n;
}

/*
 * A subscriber's output passes `max client buffer' in the middle of a
 * turn: what its socket takes is written at once, and nothing is
 * dropped.  One that stops reading gets its socket filled, then the
 * engine's output up to the limit, then QoS 0 is dropped and counted:
 * every message is either delivered, whole and in order, or counted.
 */
static void
test_qos0_over_client_buffer(void **state)
{
	static uint8_t	 batch[32 * 1024];
	struct client	*pub, *sub;
	struct pkt	 p;
	char		 pl[1001];
	uint64_t	 sent, drops;
	size_t		 n = 0, npkt, held;
	int		 i;

	(void)state;
	econf.max_client_buffer = 4096;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "d/#", 0, 0);
	memset(pl, 'd', 1000);
	pl[1000] = '\0';
	mk_publish(&p, MQTT_V311, "d/x", pl, 0, 0, 0, 0);
	for (npkt = 0; n + p.n <= sizeof(batch); npkt++, n += p.n)
		memcpy(batch + n, p.b, p.n);

	/* One read's worth, eight times the limit. */
	conn_test_input(live(pub), batch, n);
	settle();
	assert_int_equal(engine_stats.drop_slow, 0);
	assert_int_equal(count_publishes(sub), npkt);

	/*
	 * It stops reading.  Once its socket is full the engine waits for
	 * it to say so before trying again: in the turn of the first drop,
	 * not only after the turn's end.
	 */
	sent = 0;
	for (i = 0; i < 100 && engine_stats.drop_slow == 0; i++) {
		conn_test_input(live(pub), batch, n);
		sent += npkt;
		if (engine_stats.drop_slow > 0)
			assert_true(live(sub)->blocked);
		settle();
	}
	assert_true(engine_stats.drop_slow > 0);
	assert_true(live(sub)->blocked);
	held = conn_outq(live(sub));
	assert_true(held <= econf.max_client_buffer + p.n);
	drops = engine_stats.drop_slow;
	conn_test_input(live(pub), batch, n);
	settle();
	sent += npkt;
	assert_int_equal(engine_stats.drop_slow, drops + npkt);
	assert_int_equal(conn_outq(live(sub)), held);
	assert_int_equal(sess_of(sub)->drops, engine_stats.drop_slow);

	/* It reads again. */
	assert_int_equal(count_publishes(sub) + engine_stats.drop_slow, sent);
	assert_non_null(live(pub));
}

/* What `c' has yet to read from its socket. */
static size_t
unread(struct conn *c)
{
	int	 n;

	assert_int_equal(ioctl(c->fd, FIONREAD, &n), 0);
	return n;
}

/* One turn of the event loop: `c' reads once. */
static size_t
one_read(struct conn *c)
{
	size_t	 before = unread(c);

	ev_setflush(turn_end, NULL);
	turns = 0;
	ev_dispatch();
	ev_setflush(NULL, NULL);
	return before - unread(c);
}

/*
 * A client that sends large packets is read 256 KiB at a time (fewer
 * turns and system calls per message, and shallower socket queues); one
 * that sends small ones 64 KiB, which keeps a turn's work in the cache.
 */
static void
test_read_size_follows_packets(void **state)
{
	static uint8_t	 big[6 + 16000];
	struct client	*pub;
	struct conn	*c;
	struct pkt	 p;
	size_t		 total, rest, n;
	int		 sz = 1024 * 1024, i;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	c = live(pub);
	assert_int_equal(setsockopt(pub->fd, SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	/* QoS 0 PUBLISH to "b" of 16000 bytes; nobody subscribed. */
	big[0] = MQTT_PUBLISH << 4;
	big[1] = 0x80 | ((3 + 16000) & 0x7f);
	big[2] = (3 + 16000) >> 7;
	big[4] = 1;
	big[5] = 'b';
	for (i = 0; i < 5; i++)
		assert_int_equal(write(pub->fd, big, sizeof(big)),
		    sizeof(big));
	assert_int_equal(one_read(c), 64 * 1024);
	for (i = 0; i < 18; i++)
		assert_int_equal(write(pub->fd, big, sizeof(big)),
		    sizeof(big));
	/* The rest of the packet begun, then 256 KiB. */
	rest = sizeof(big) - 64 * 1024 % sizeof(big);
	total = unread(c);
	assert_true(total > rest + 256 * 1024);
	assert_int_equal(one_read(c), rest + 256 * 1024);
	assert_int_equal(one_read(c), total - rest - 256 * 1024);
	assert_int_equal(unread(c), 0);

	/* Small packets: one more large read, then 64 KiB. */
	mk_publish(&p, MQTT_V311, "b", "small", 0, 0, 0, 0);
	for (n = 0; n + p.n <= sizeof(big); n += p.n)
		memcpy(big + n, p.b, p.n);
	for (i = 0; i < 21; i++)
		assert_int_equal(write(pub->fd, big, n), (ssize_t)n);
	assert_int_equal(one_read(c), 256 * 1024);
	assert_true(one_read(c) <= 64 * 1024 + p.n);
	assert_int_equal(engine_stats.protocol_errors, 0);
	assert_non_null(live(pub));
}

/*
 * Setup.
 */

static int
group_setup(void **state)
{
	(void)state;
	if ((authd_peer = inproc_init()) == -1)
		return -1;
	settings_defaults(engine_settings, engine_nsettings, &econf);
	topic_init();
	retain_init();
	strlcpy(lst.name, "test", sizeof(lst.name));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	inproc_done(authd_peer);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	settings_defaults(engine_settings, engine_nsettings, &econf);
	mqtt_set_max_user_props(econf.max_user_properties);
	memset(&engine_stats, 0, sizeof(engine_stats));
	nclients = 0;
	return 0;
}

/* Close and free everything; every counter is back to zero. */
static int
teardown(void **state)
{
	struct conn	*c;
	int		 i;

	(void)state;
	for (i = 0; i < nclients; i++)
		if ((c = live(clients[i])) != NULL)
			conn_close(c, NULL);
	settle();
	session_free_all();
	retain_free_all();
	for (i = 0; i < nclients; i++) {
		close(clients[i]->fd);
		free(clients[i]);
	}
	nclients = 0;
	assert_int_equal(engine_stats.conns, 0);
	assert_int_equal(engine_stats.clients, 0);
	assert_int_equal(engine_stats.sessions, 0);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_int_equal(engine_stats.queued, 0);
	assert_int_equal(engine_stats.queued_bytes, 0);
	assert_int_equal(engine_stats.inflight, 0);
	assert_int_equal(engine_stats.retained, 0);
	assert_int_equal(lst.nconns, 0);
	return 0;
}

/*
 * QoS 1 and 2.
 */

static void
test_qos1_flow(void **state)
{
	struct client	*pub, *pub3, *sub;
	struct session	*ss;
	uint16_t	 pid;

	(void)state;
	pub = client_new(MQTT_V5, "pub");
	pub3 = client_new(MQTT_V311, "pub3");
	sub = client_new(MQTT_V311, "sub");
	assert_int_equal(engine_stats.clients, 3);
	assert_int_equal(engine_stats.sessions, 3);
	cl_subscribe(sub, 1, "q/1", 1, 1);

	/* Nobody listening: MQTT 5 is told so. */
	cl_publish(pub, "nobody/here", "x", 1, 7, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 7, RC_NO_MATCHING_SUBSCRIBERS);

	cl_publish(pub, "q/1", "hello", 1, 8, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 8, RC_SUCCESS);
	cl_quiet(pub);
	pid = expect_publish(sub, "q/1", "hello", 1, 0, 0);
	assert_int_equal(pid, 1);
	cl_quiet(sub);
	ss = sess_of(sub);
	assert_int_equal(ss->nflight, 1);
	assert_int_equal(engine_stats.inflight, 1);

	/* Acknowledged: done, and a second PUBACK is ignored. */
	cl_ack(sub, MQTT_PUBACK, pid, -1);
	assert_int_equal(ss->nflight, 0);
	assert_int_equal(engine_stats.inflight, 0);
	cl_ack(sub, MQTT_PUBACK, pid, -1);
	cl_quiet(sub);
	cl_open_now(sub);

	/* MQTT 3.1.1: a bare PUBACK; the next identifier. */
	cl_publish(pub3, "q/1", "again", 1, 9, 0, 0);
	expect_ack(pub3, MQTT_PUBACK, 9, RC_SUCCESS);
	pid = expect_publish(sub, "q/1", "again", 1, 0, 0);
	assert_int_equal(pid, 2);
	cl_ack(sub, MQTT_PUBACK, pid, -1);
	assert_int_equal(engine_stats.msgs_in, 3);
	assert_int_equal(engine_stats.msgs_out, 2);
	assert_int_equal(engine_stats.protocol_errors, 0);
}

static void
test_qos2_inbound(void **state)
{
	struct client	*pub, *pub3, *sub;
	struct session	*ps;
	uint16_t	 pid;

	(void)state;
	pub = client_new(MQTT_V5, "pub");
	pub3 = client_new(MQTT_V311, "pub3");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "q/2", 2, 2);
	ps = sess_of(pub);

	cl_publish(pub, "q/2", "one", 2, 20, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 20, RC_SUCCESS);
	assert_true(session_rel_has(ps, 20));
	pid = expect_publish(sub, "q/2", "one", 2, 0, 0);

	/* Sent again before PUBREL: acknowledged, not routed again. */
	cl_publish(pub, "q/2", "one", 2, 20, 0, 1);
	expect_ack(pub, MQTT_PUBREC, 20, RC_SUCCESS);
	cl_quiet(sub);
	assert_int_equal(engine_stats.msgs_in, 1);
	assert_int_equal(ps->nrel, 1);

	/* Released: PUBCOMP, and the identifier is free again. */
	cl_ack(pub, MQTT_PUBREL, 20, -1);
	expect_ack(pub, MQTT_PUBCOMP, 20, RC_SUCCESS);
	assert_false(session_rel_has(ps, 20));
	assert_int_equal(ps->nrel, 0);
	cl_ack(pub, MQTT_PUBREL, 20, -1);
	expect_ack(pub, MQTT_PUBCOMP, 20, RC_PACKET_ID_NOT_FOUND);
	cl_open_now(pub);

	/* The same identifier now carries a new message. */
	cl_publish(pub, "q/2", "two", 2, 20, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 20, RC_SUCCESS);
	assert_int_not_equal(expect_publish(sub, "q/2", "two", 2, 0, 0), pid);
	cl_ack(pub, MQTT_PUBREL, 20, 0);
	expect_ack(pub, MQTT_PUBCOMP, 20, RC_SUCCESS);
	assert_int_equal(engine_stats.msgs_in, 2);

	/* Two in flight at once, released out of order. */
	cl_publish(pub3, "q/2", "a", 2, 1, 0, 0);
	cl_publish(pub3, "q/2", "b", 2, 2, 0, 0);
	expect_ack(pub3, MQTT_PUBREC, 1, RC_SUCCESS);
	expect_ack(pub3, MQTT_PUBREC, 2, RC_SUCCESS);
	cl_ack(pub3, MQTT_PUBREL, 2, -1);
	expect_ack(pub3, MQTT_PUBCOMP, 2, RC_SUCCESS);
	cl_publish(pub3, "q/2", "a", 2, 1, 0, 1);
	expect_ack(pub3, MQTT_PUBREC, 1, RC_SUCCESS);
	cl_ack(pub3, MQTT_PUBREL, 1, -1);
	expect_ack(pub3, MQTT_PUBCOMP, 1, RC_SUCCESS);
	/* MQTT 3.1.1 has no reason code for an unknown one. */
	cl_ack(pub3, MQTT_PUBREL, 3, -1);
	expect_ack(pub3, MQTT_PUBCOMP, 3, RC_SUCCESS);
	expect_publish(sub, "q/2", "a", 2, 0, 0);
	expect_publish(sub, "q/2", "b", 2, 0, 0);
	cl_quiet(sub);
	assert_int_equal(engine_stats.protocol_errors, 0);
}

static void
test_qos2_inbound_limit(void **state)
{
	struct client	*pub, *sub;

	(void)state;
	econf.max_inflight = 2;
	pub = client_new(MQTT_V5, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "t", 0, 0);
	cl_publish(pub, "t", "1", 2, 1, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 1, RC_SUCCESS);
	cl_publish(pub, "t", "2", 2, 2, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 2, RC_SUCCESS);
	assert_int_equal(sess_of(pub)->nrel, 2);
	/* A resend of one in flight is no more. */
	cl_publish(pub, "t", "2", 2, 2, 0, 1);
	expect_ack(pub, MQTT_PUBREC, 2, RC_SUCCESS);
	expect_publish(sub, "t", "1", 0, 0, 0);
	expect_publish(sub, "t", "2", 0, 0, 0);
	cl_quiet(sub);
	/* A third is more than the receive maximum allows. */
	cl_publish(pub, "t", "3", 2, 3, 0, 0);
	expect_disconnect(pub, RC_RECEIVE_MAXIMUM_EXCEEDED);
	cl_closed(pub);
	cl_quiet(sub);
	assert_int_equal(engine_stats.protocol_errors, 1);
}

static void
test_qos2_outbound(void **state)
{
	struct client	*pub, *sub;
	struct session	*ss;
	uint16_t	 pid;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V5, "sub");
	cl_subscribe(sub, 1, "q/3", 2, 2);
	ss = sess_of(sub);

	cl_publish(pub, "q/3", "msg", 2, 5, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 5, RC_SUCCESS);
	pid = expect_publish(sub, "q/3", "msg", 2, 0, 0);
	assert_int_equal(ss->nflight, 1);

	/* PUBCOMP before PUBREC, PUBACK for QoS 2: ignored. */
	cl_ack(sub, MQTT_PUBCOMP, pid, -1);
	cl_ack(sub, MQTT_PUBACK, pid, -1);
	cl_quiet(sub);
	assert_int_equal(ss->nflight, 1);

	/* PUBREC: PUBREL, as often as asked. */
	cl_ack(sub, MQTT_PUBREC, pid, -1);
	expect_ack(sub, MQTT_PUBREL, pid, RC_SUCCESS);
	cl_ack(sub, MQTT_PUBREC, pid, 0);
	expect_ack(sub, MQTT_PUBREL, pid, RC_SUCCESS);
	assert_int_equal(ss->nflight, 1);
	assert_int_equal(ss->inflight.d[0].state, DLV_RELEASED);

	/* PUBCOMP: done. */
	cl_ack(sub, MQTT_PUBCOMP, pid, -1);
	assert_int_equal(ss->nflight, 0);
	assert_int_equal(engine_stats.inflight, 0);
	cl_ack(sub, MQTT_PUBCOMP, pid, -1);
	cl_quiet(sub);

	/* PUBREC for nothing in flight. */
	cl_ack(sub, MQTT_PUBREC, 999, -1);
	expect_ack(sub, MQTT_PUBREL, 999, RC_PACKET_ID_NOT_FOUND);

	/* PUBREC with an error ends the exchange there. */
	cl_publish(pub, "q/3", "refused", 2, 6, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 6, RC_SUCCESS);
	pid = expect_publish(sub, "q/3", "refused", 2, 0, 0);
	cl_ack(sub, MQTT_PUBREC, pid, RC_UNSPECIFIED);
	cl_quiet(sub);
	assert_int_equal(ss->nflight, 0);
	cl_open_now(sub);
	assert_int_equal(engine_stats.protocol_errors, 0);
}

static void
test_qos_downgrade_and_overlap(void **state)
{
	struct client	*pub, *sub;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "d/0", 0, 0);
	cl_subscribe(sub, 2, "d/1", 1, 1);

	cl_publish(pub, "d/0", "a", 2, 1, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 1, 0);
	expect_publish(sub, "d/0", "a", 0, 0, 0);
	cl_publish(pub, "d/1", "b", 2, 2, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 2, 0);
	cl_ack(sub, MQTT_PUBACK, expect_publish(sub, "d/1", "b", 1, 0, 0),
	    -1);
	cl_publish(pub, "d/1", "c", 0, 0, 0, 0);
	expect_publish(sub, "d/1", "c", 0, 0, 0);
	cl_quiet(sub);

	/* Overlapping subscriptions: one delivery, at the highest QoS. */
	cl_subscribe(sub, 3, "d/#", 2, 2);
	cl_publish(pub, "d/1", "d", 2, 3, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 3, 0);
	expect_publish(sub, "d/1", "d", 2, 0, 0);
	cl_quiet(sub);
	cl_publish(pub, "d/0", "e", 1, 4, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 4, 0);
	expect_publish(sub, "d/0", "e", 1, 0, 0);
	cl_quiet(sub);
}

/*
 * The receive maximum and the queue.
 */

/*
 * The reason codes the engine gives a PUBLISH, one case each: 0x81 for
 * ill-formed UTF-8 [MQTT-1.5.4-1], 0x90 only for a well-formed topic it
 * will not take, 0x82 for an empty topic without an alias, 0x9A and 0x9B
 * for what it does not offer, 0x87 for the topics only it publishes to.
 */
static void
test_publish_reason_codes(void **state)
{
	static const struct {
		const char	*topic;
		uint8_t		 qos;
		int		 retain;
		uint8_t		 reason;
	} cases[] = {
		{ "a\xff", 0, 0, RC_MALFORMED_PACKET },
		{ "a\xed\xa0\x80", 0, 0, RC_MALFORMED_PACKET },
		{ "a/#", 0, 0, RC_TOPIC_NAME_INVALID },
		{ "a/+/b", 1, 0, RC_TOPIC_NAME_INVALID },
		{ "", 0, 0, RC_PROTOCOL_ERROR },
		{ "q", 2, 0, RC_QOS_NOT_SUPPORTED },
		{ "r", 0, 1, RC_RETAIN_NOT_SUPPORTED },
	};
	struct client	*c;
	size_t		 i;

	(void)state;
	econf.max_qos = 1;
	econf.retain_available = 0;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = client_new(MQTT_V5, "rc");
		cl_publish(c, cases[i].topic, "x", cases[i].qos, 1,
		    cases[i].retain, 0);
		expect_disconnect(c, cases[i].reason);
		cl_closed(c);
	}
	/* Refused, the connection stays: $SYS and $share/ (MQTT 5). */
	c = client_new(MQTT_V5, "rsv");
	cl_publish(c, "$SYS/broker/x", "x", 1, 7, 0, 0);
	expect_ack(c, MQTT_PUBACK, 7, RC_NOT_AUTHORIZED);
	cl_publish(c, "$share/g/t", "x", 1, 8, 0, 0);
	expect_ack(c, MQTT_PUBACK, 8, RC_NOT_AUTHORIZED);
	assert_int_equal(engine_stats.publish_reserved, 2);
	/* 3.1.1: acknowledged, dropped, counted. */
	c = client_new(MQTT_V311, "rsv4");
	cl_publish(c, "$SYS", "x", 1, 9, 0, 0);
	expect_ack(c, MQTT_PUBACK, 9, RC_SUCCESS);
	assert_int_equal(engine_stats.publish_reserved, 3);
	assert_int_equal(engine_stats.msgs_in, 0);
}

static void
test_receive_maximum_server(void **state)
{
	struct client		*pub, *sub, *v5;
	struct session		*ss;
	struct mqtt_props	 pr;
	struct copts		 o;
	char			 pl[8];
	int			 i;

	(void)state;
	econf.max_inflight = 2;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "q/#", 1, 1);
	ss = sess_of(sub);
	for (i = 0; i < 5; i++) {
		snprintf(pl, sizeof(pl), "m%d", i);
		cl_publish(pub, "q/n", pl, 1, i + 1, 0, 0);
		expect_ack(pub, MQTT_PUBACK, i + 1, 0);
	}
	/* Two in flight, three waiting. */
	assert_int_equal(expect_publish(sub, "q/n", "m0", 1, 0, 0), 1);
	assert_int_equal(expect_publish(sub, "q/n", "m1", 1, 0, 0), 2);
	cl_quiet(sub);
	assert_int_equal(ss->nflight, 2);
	assert_int_equal(ss->queue.count, 3);
	assert_int_equal(engine_stats.queued, 3);
	assert_int_equal(engine_stats.inflight, 2);
	assert_int_equal(engine_stats.drop_queue_full, 0);

	/* Each acknowledgement lets one more go, in order. */
	cl_ack(sub, MQTT_PUBACK, 2, -1);
	assert_int_equal(expect_publish(sub, "q/n", "m2", 1, 0, 0), 3);
	cl_quiet(sub);
	cl_ack(sub, MQTT_PUBACK, 1, -1);
	assert_int_equal(expect_publish(sub, "q/n", "m3", 1, 0, 0), 4);
	cl_ack(sub, MQTT_PUBACK, 3, -1);
	assert_int_equal(expect_publish(sub, "q/n", "m4", 1, 0, 0), 5);
	cl_quiet(sub);
	assert_int_equal(ss->queue.count, 0);
	assert_int_equal(engine_stats.queued, 0);
	cl_ack(sub, MQTT_PUBACK, 4, -1);
	cl_ack(sub, MQTT_PUBACK, 5, -1);
	assert_int_equal(ss->nflight, 0);
	cl_quiet(sub);

	/* The limit is what an MQTT 5 client is told. */
	v5 = cl_open(MQTT_V5);
	memset(&o, 0, sizeof(o));
	o.id = "v5";
	o.clean = 1;
	assert_int_equal(cl_connect_props(v5, &o, &pr), 0);
	assert_true(PROP_HAS(&pr, PROP_RECEIVE_MAXIMUM));
	assert_int_equal(pr.receive_maximum, 2);
}

static void
test_receive_maximum_client(void **state)
{
	struct client	*pub, *sub;
	struct session	*ss;
	struct copts	 o;
	uint16_t	 pid;

	(void)state;
	pub = client_new(MQTT_V5, "pub");
	sub = cl_open(MQTT_V5);
	memset(&o, 0, sizeof(o));
	o.id = "sub";
	o.clean = 1;
	o.recv_max = 1;
	assert_int_equal(cl_connect_props(sub, &o, NULL), 0);
	assert_int_equal(live(sub)->recv_max_out, 1);
	cl_subscribe(sub, 1, "r/#", 2, 2);
	ss = sess_of(sub);

	cl_publish(pub, "r/1", "a", 1, 1, 0, 0);
	cl_publish(pub, "r/2", "b", 2, 2, 0, 0);
	cl_publish(pub, "r/3", "c", 1, 3, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 1, 0);
	expect_ack(pub, MQTT_PUBREC, 2, 0);
	expect_ack(pub, MQTT_PUBACK, 3, 0);
	pid = expect_publish(sub, "r/1", "a", 1, 0, 0);
	cl_quiet(sub);
	assert_int_equal(ss->queue.count, 2);

	/* QoS 0 does not count against it. */
	cl_publish(pub, "r/0", "z", 0, 0, 0, 0);
	expect_publish(sub, "r/0", "z", 0, 0, 0);
	cl_quiet(sub);

	cl_ack(sub, MQTT_PUBACK, pid, -1);
	pid = expect_publish(sub, "r/2", "b", 2, 0, 0);
	cl_quiet(sub);
	/* A QoS 2 message holds its place until PUBCOMP. */
	cl_ack(sub, MQTT_PUBREC, pid, -1);
	expect_ack(sub, MQTT_PUBREL, pid, 0);
	cl_quiet(sub);
	cl_ack(sub, MQTT_PUBCOMP, pid, -1);
	pid = expect_publish(sub, "r/3", "c", 1, 0, 0);
	cl_ack(sub, MQTT_PUBACK, pid, -1);
	cl_quiet(sub);
	assert_int_equal(ss->nflight, 0);
	assert_int_equal(ss->queue.count, 0);
}

/*
 * A connected subscriber's full queue holds the publisher: its messages
 * wait unacknowledged and go, in order, as the queue drains.  Nothing is
 * acknowledged and then dropped.
 */
static void
test_queue_full_holds_publisher(void **state)
{
	struct client	*pub, *sub;
	struct session	*ss;
	struct rpkt	 r;
	char		 pl[8];
	uint16_t	 pid;
	int		 i;

	(void)state;
	econf.max_inflight = 1;
	econf.max_queued = 2;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "f/#", 1, 1);
	ss = sess_of(sub);
	for (i = 0; i < 5; i++) {
		snprintf(pl, sizeof(pl), "m%d", i);
		cl_publish(pub, "f/x", pl, 1, i + 1, 0, 0);
	}
	/* One in flight and two queued are acknowledged; two wait. */
	for (i = 0; i < 3; i++)
		expect_ack(pub, MQTT_PUBACK, i + 1, 0);
	cl_quiet(pub);
	assert_int_equal(ss->nflight, 1);
	assert_int_equal(ss->queue.count, 2);
	assert_int_equal(engine_stats.held, 2);
	assert_int_equal(live(pub)->nheld, 2);

	/* Each acknowledgement makes room for one, in order. */
	for (i = 0; i < 5; i++) {
		snprintf(pl, sizeof(pl), "m%d", i);
		pid = expect_publish(sub, "f/x", pl, 1, 0, 0);
		cl_ack(sub, MQTT_PUBACK, pid, -1);
		if (i + 3 < 5)
			expect_ack(pub, MQTT_PUBACK, i + 4, 0);
	}
	cl_quiet(sub);
	cl_quiet(pub);
	assert_int_equal(engine_stats.held, 0);
	assert_int_equal(engine_stats.drop_queue_full, 0);
	assert_int_equal(ss->drops, 0);
	assert_int_equal(ss->queue.count, 0);
	assert_int_equal(ss->nflight, 0);
	(void)r;
}

static void
test_queue_limit_bytes(void **state)
{
	struct client	*pub, *sub;
	struct session	*ss;
	char		 pl[101];
	size_t		 one;
	int		 i;

	(void)state;
	memset(pl, 'p', 100);
	pl[100] = '\0';
	one = sizeof(struct msg) + strlen("b/x") + 1 + 100;
	econf.max_inflight = 1;
	econf.max_queued_bytes = 2 * one + one / 2;
	pub = client_new(MQTT_V311, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "b/#", 1, 1);
	ss = sess_of(sub);
	for (i = 0; i < 4; i++)
		cl_publish(pub, "b/x", pl, 1, i + 1, 0, 0);
	for (i = 0; i < 3; i++)
		expect_ack(pub, MQTT_PUBACK, i + 1, 0);
	cl_quiet(pub);
	/* One in flight, two queued (the bytes limit), one held. */
	assert_int_equal(ss->nflight, 1);
	assert_int_equal(ss->queue.count, 2);
	assert_int_equal(ss->queue_bytes, 2 * one);
	assert_int_equal(engine_stats.queued_bytes, 2 * one);
	assert_int_equal(engine_stats.held, 1);
	cl_ack(sub, MQTT_PUBACK, expect_publish(sub, "b/x", pl, 1, 0, 0), -1);
	expect_ack(pub, MQTT_PUBACK, 4, 0);
	for (i = 0; i < 3; i++)
		cl_ack(sub, MQTT_PUBACK, expect_publish(sub, "b/x", pl, 1, 0,
		    0), -1);
	cl_quiet(sub);
	assert_int_equal(engine_stats.queued_bytes, 0);
	assert_int_equal(engine_stats.drop_queue_full, 0);
}

/*
 * An offline subscriber's full queue will not drain soon: an MQTT 5
 * publisher is refused (0x97) and nobody gets the message; an MQTT 3.1.1
 * publisher cannot be told, so the others get it and the drop is counted.
 */
static void
test_queue_full_offline(void **state)
{
	struct client	*pub5, *pub4, *away, *other;
	uint16_t	 pid;

	(void)state;
	econf.max_queued = 1;
	pub5 = client_new(MQTT_V5, "pub5");
	pub4 = client_new(MQTT_V311, "pub4");
	away = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(away, "away", 0), 0);
	cl_subscribe(away, 1, "x/#", 1, 1);
	cl_drop(away);
	other = client_new(MQTT_V311, "other");
	cl_subscribe(other, 1, "x/#", 1, 1);

	/* The first fills the offline queue. */
	cl_publish(pub5, "x/1", "queued", 1, 1, 0, 0);
	expect_ack(pub5, MQTT_PUBACK, 1, RC_SUCCESS);
	pid = expect_publish(other, "x/1", "queued", 1, 0, 0);
	cl_ack(other, MQTT_PUBACK, pid, -1);

	cl_publish(pub5, "x/1", "refused", 1, 2, 0, 0);
	expect_ack(pub5, MQTT_PUBACK, 2, RC_QUOTA_EXCEEDED);
	cl_publish(pub5, "x/1", "refused2", 2, 3, 0, 0);
	expect_ack(pub5, MQTT_PUBREC, 3, RC_QUOTA_EXCEEDED);
	/* A refused QoS 2 message is not waiting for its PUBREL. */
	assert_false(session_rel_has(sess_of(pub5), 3));
	cl_quiet(other);
	assert_int_equal(engine_stats.drop_queue_full, 2);

	cl_publish(pub4, "x/1", "dropped for one", 1, 1, 0, 0);
	expect_ack(pub4, MQTT_PUBACK, 1, 0);
	pid = expect_publish(other, "x/1", "dropped for one", 1, 0, 0);
	cl_ack(other, MQTT_PUBACK, pid, -1);
	assert_int_equal(engine_stats.drop_queue_full, 3);
	assert_int_equal(engine_stats.held, 0);

	/* QoS 0 does not queue: it goes to who is there. */
	cl_publish(pub5, "x/1", "zero", 0, 0, 0, 0);
	expect_publish(other, "x/1", "zero", 0, 0, 0);
	cl_quiet(other);
}

/* What a publisher held is dropped with its connection: never acked. */
static void
test_held_freed_on_close(void **state)
{
	struct client	*pub, *sub;
	int		 i;

	(void)state;
	econf.max_inflight = 3;
	econf.max_queued = 0;
	pub = client_new(MQTT_V5, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "h", 1, 1);
	for (i = 0; i < 5; i++)
		cl_publish(pub, "h", "m", 1, i + 1, 0, 0);
	for (i = 0; i < 3; i++)
		expect_ack(pub, MQTT_PUBACK, i + 1, 0);
	cl_quiet(pub);
	assert_int_equal(engine_stats.held, 2);
	/* A resend of a held message is not held twice. */
	cl_publish(pub, "h", "m", 1, 4, 0, 1);
	cl_quiet(pub);
	assert_int_equal(engine_stats.held, 2);
	cl_drop(pub);
	assert_int_equal(engine_stats.held, 0);
	assert_int_equal(engine_stats.held_total, 2);
	assert_int_equal(engine_stats.drop_queue_full, 0);
}

/* Held and unreleased messages count against the receive maximum. */
static void
test_held_receive_maximum(void **state)
{
	struct client	*pub, *sub;
	int		 i;

	(void)state;
	econf.max_inflight = 2;
	econf.max_queued = 0;
	pub = client_new(MQTT_V5, "pub");
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "r", 1, 1);
	/* Two go in flight to the subscriber; two are held; one too many. */
	for (i = 0; i < 5; i++)
		cl_publish(pub, "r", "m", 1, i + 1, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 1, 0);
	expect_ack(pub, MQTT_PUBACK, 2, 0);
	expect_disconnect(pub, RC_RECEIVE_MAXIMUM_EXCEEDED);
}

/*
 * Sessions that outlive their connection.
 */

static void
test_resume_dup(void **state)
{
	struct client	*pub, *sub, *again, *clean;
	struct session	*ss;
	uint16_t	 pid, p2;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	sub = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(sub, "sub", 0), 0);
	cl_subscribe(sub, 1, "r/#", 1, 1);

	cl_publish(pub, "r/1", "unacked", 1, 1, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 1, 0);
	pid = expect_publish(sub, "r/1", "unacked", 1, 0, 0);

	/* The connection breaks; the session stays. */
	cl_drop(sub);
	ss = session_find("sub");
	assert_non_null(ss);
	assert_null(ss->conn);
	assert_int_equal(ss->nflight, 1);
	assert_int_equal(engine_stats.clients, 1);
	assert_int_equal(engine_stats.sessions, 2);

	/* Meanwhile: QoS 1 waits, QoS 0 is not kept. */
	cl_publish(pub, "r/2", "queued", 1, 2, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 2, 0);
	cl_publish(pub, "r/3", "lost", 0, 0, 0, 0);
	assert_int_equal(ss->queue.count, 1);

	/* Back: session present, the unacknowledged one again with DUP. */
	again = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(again, "sub", 0), 1);
	assert_ptr_equal(sess_of(again), ss);
	assert_int_equal(expect_publish(again, "r/1", "unacked", 1, 1, 0),
	    pid);
	p2 = expect_publish(again, "r/2", "queued", 1, 0, 0);
	assert_int_not_equal(p2, pid);
	cl_quiet(again);
	cl_ack(again, MQTT_PUBACK, pid, -1);
	assert_int_equal(ss->nflight, 1);
	cl_ack(again, MQTT_PUBACK, p2, -1);
	assert_int_equal(ss->nflight, 0);
	assert_int_equal(ss->queue.count, 0);

	/* The subscription came back with it. */
	cl_publish(pub, "r/4", "live", 1, 4, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 4, 0);
	cl_ack(again, MQTT_PUBACK, expect_publish(again, "r/4", "live", 1, 0,
	    0), -1);

	/* A clean session ends it all. */
	cl_disconnect(again, -1);
	assert_non_null(session_find("sub"));
	clean = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(clean, "sub", 1), 0);
	assert_int_equal(sess_of(clean)->nsubs, 0);
	cl_publish(pub, "r/5", "nobody", 1, 5, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 5, 0);
	cl_quiet(clean);
	assert_int_equal(engine_stats.subscriptions, 0);
	/* And a clean session ends with its connection. */
	cl_disconnect(clean, -1);
	assert_null(session_find("sub"));
}

static void
test_resume_pubrel(void **state)
{
	struct client	*pub, *sub, *again;
	struct copts	 o;
	uint16_t	 pid;

	(void)state;
	pub = client_new(MQTT_V5, "pub");
	sub = cl_open(MQTT_V5);
	memset(&o, 0, sizeof(o));
	o.id = "sub";
	o.has_expiry = 1;
	o.expiry = 100;
	assert_int_equal(cl_connect_props(sub, &o, NULL), 0);
	cl_subscribe(sub, 1, "p/#", 2, 2);

	cl_publish(pub, "p/1", "two", 2, 1, 0, 0);
	expect_ack(pub, MQTT_PUBREC, 1, 0);
	pid = expect_publish(sub, "p/1", "two", 2, 0, 0);
	cl_ack(sub, MQTT_PUBREC, pid, -1);
	expect_ack(sub, MQTT_PUBREL, pid, 0);

	/* A normal DISCONNECT: the session has an expiry, it stays. */
	cl_disconnect(sub, 0);
	assert_non_null(session_find("sub"));
	assert_int_equal(session_find("sub")->nflight, 1);

	/* Resumed: the PUBREL again, not the PUBLISH. */
	again = cl_open(MQTT_V5);
	assert_int_equal(cl_connect_props(again, &o, NULL), 1);
	expect_ack(again, MQTT_PUBREL, pid, 0);
	cl_quiet(again);
	cl_ack(again, MQTT_PUBCOMP, pid, -1);
	assert_int_equal(sess_of(again)->nflight, 0);
	cl_quiet(again);
}

static void
test_session_expiry_zero(void **state)
{
	struct client	*a, *b, *c, *d;
	struct copts	 o;

	(void)state;
	/* MQTT 5 without a session expiry: the session ends at close. */
	a = cl_open(MQTT_V5);
	memset(&o, 0, sizeof(o));
	o.id = "five";
	assert_int_equal(cl_connect_props(a, &o, NULL), 0);
	cl_subscribe(a, 1, "t", 1, 1);
	cl_disconnect(a, 0);
	assert_null(session_find("five"));
	assert_int_equal(engine_stats.subscriptions, 0);
	b = cl_open(MQTT_V5);
	assert_int_equal(cl_connect_props(b, &o, NULL), 0);

	/* MQTT 3.1 keeps a session but has no flag to say so. */
	c = cl_open(MQTT_V31);
	assert_int_equal(cl_connect(c, "three", 0), 0);
	cl_subscribe(c, 1, "k", 1, 1);
	cl_drop(c);
	assert_non_null(session_find("three"));
	d = cl_open(MQTT_V31);
	assert_int_equal(cl_connect(d, "three", 0), 0);
	assert_int_equal(sess_of(d)->nsubs, 1);
}

static void
test_takeover_v5(void **state)
{
	struct client	*a, *b;

	(void)state;
	a = client_new(MQTT_V5, "dup");
	cl_subscribe(a, 1, "t/#", 1, 1);
	b = cl_open(MQTT_V5);
	/* Clean start: the old session ends with the old connection. */
	assert_int_equal(cl_connect(b, "dup", 1), 0);
	expect_disconnect(a, RC_SESSION_TAKEN_OVER);
	cl_closed(a);
	cl_open_now(b);
	assert_int_equal(engine_stats.takeovers, 1);
	assert_int_equal(engine_stats.sessions, 1);
	assert_int_equal(engine_stats.clients, 1);
	assert_int_equal(engine_stats.conns, 1);
	assert_int_equal(engine_stats.subscriptions, 0);
	assert_ptr_equal(session_find("dup")->conn, live(b));
}

static void
test_takeover_v311_resume(void **state)
{
	struct client	*a, *b, *pub;
	struct session	*s;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	a = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(a, "dup", 0), 0);
	cl_subscribe(a, 1, "t/#", 1, 1);
	s = session_find("dup");
	b = cl_open(MQTT_V311);
	assert_int_equal(cl_connect(b, "dup", 0), 1);
	/* No DISCONNECT before MQTT 5: just closed. */
	cl_closed(a);
	assert_ptr_equal(session_find("dup"), s);
	assert_ptr_equal(s->conn, live(b));
	assert_int_equal(engine_stats.takeovers, 1);
	assert_int_equal(engine_stats.clients, 2);
	cl_publish(pub, "t/x", "to b", 1, 1, 0, 0);
	expect_ack(pub, MQTT_PUBACK, 1, 0);
	expect_publish(b, "t/x", "to b", 1, 0, 0);
}

/*
 * Wills.
 */

static struct client *
will_client(uint8_t version, const char *id, const char *topic,
    uint8_t qos, int retain)
{
	struct client	*cl = cl_open(version);
	struct copts	 o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.clean = 1;
	o.will_topic = topic;
	o.will_msg = "gone";
	o.will_qos = qos;
	o.will_retain = retain;
	assert_int_equal(cl_connect_props(cl, &o, NULL), 0);
	assert_non_null(sess_of(cl)->will);
	return cl;
}

static void
test_will_abnormal_close(void **state)
{
	struct client	*w, *w5, *sub;

	(void)state;
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "will/#", 1, 1);
	w = will_client(MQTT_V311, "w", "will/w", 1, 0);
	cl_quiet(sub);
	cl_drop(w);
	cl_ack(sub, MQTT_PUBACK, expect_publish(sub, "will/w", "gone", 1, 0,
	    0), -1);
	cl_quiet(sub);
	assert_int_equal(engine_stats.wills, 1);
	assert_null(session_find("w"));

	/* A protocol error is an abnormal end too. */
	w5 = will_client(MQTT_V5, "w5", "will/w5", 0, 0);
	{
		struct pkt	 p;

		mk_publish(&p, MQTT_V5, "t", "", 1, 1, 0, 0);
		p.b[0] |= 0x06;			/* QoS 3 */
		cl_send(w5, &p);
	}
	expect_disconnect(w5, RC_MALFORMED_PACKET);
	cl_closed(w5);
	expect_publish(sub, "will/w5", "gone", 0, 0, 0);
	assert_int_equal(engine_stats.wills, 2);
}

static void
test_will_not_after_disconnect(void **state)
{
	struct client	*w, *w5, *w5b, *sub;

	(void)state;
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "will/#", 0, 0);
	w = will_client(MQTT_V311, "w", "will/w", 0, 0);
	cl_disconnect(w, -1);
	cl_quiet(sub);
	w5 = will_client(MQTT_V5, "w5", "will/w5", 0, 0);
	cl_disconnect(w5, RC_SUCCESS);
	cl_quiet(sub);
	assert_int_equal(engine_stats.wills, 0);

	/* DISCONNECT 0x04 asks for it. */
	w5b = will_client(MQTT_V5, "w5b", "will/w5b", 0, 0);
	cl_disconnect(w5b, RC_DISCONNECT_WITH_WILL);
	expect_publish(sub, "will/w5b", "gone", 0, 0, 0);
	assert_int_equal(engine_stats.wills, 1);
}

static void
test_will_retained(void **state)
{
	struct client	*w, *late;

	(void)state;
	w = will_client(MQTT_V311, "w", "will/kept", 1, 1);
	cl_drop(w);
	assert_int_equal(engine_stats.wills, 1);
	assert_int_equal(engine_stats.retained, 1);
	late = client_new(MQTT_V311, "late");
	cl_subscribe(late, 1, "will/+", 1, 1);
	cl_ack(late, MQTT_PUBACK, expect_publish(late, "will/kept", "gone", 1,
	    0, 1), -1);
	cl_quiet(late);
}

static void
test_will_delay(void **state)
{
	struct client	*w, *again, *sub;
	struct copts	 o;
	struct session	*s;

	(void)state;
	sub = client_new(MQTT_V311, "sub");
	cl_subscribe(sub, 1, "will/#", 0, 0);
	w = cl_open(MQTT_V5);
	memset(&o, 0, sizeof(o));
	o.id = "w";
	o.will_topic = "will/late";
	o.will_msg = "gone";
	o.will_delay = 30;
	o.has_expiry = 1;
	o.expiry = 60;
	assert_int_equal(cl_connect_props(w, &o, NULL), 0);
	cl_drop(w);
	/* Not yet: it waits for its delay. */
	cl_quiet(sub);
	s = session_find("w");
	assert_non_null(s);
	assert_non_null(s->will);
	assert_int_not_equal(s->will_at, 0);
	assert_int_equal(engine_stats.wills, 0);

	/* The client came back in time: the will is gone. */
	again = cl_open(MQTT_V5);
	o.will_topic = NULL;
	assert_int_equal(cl_connect_props(again, &o, NULL), 1);
	assert_null(s->will);
	assert_int_equal(s->will_at, 0);
	cl_disconnect(again, 0);
	cl_quiet(sub);
	assert_int_equal(engine_stats.wills, 0);
}

/*
 * Retained messages on subscribe.
 */

static void
test_retained_on_subscribe(void **state)
{
	struct client	*pub, *s3, *s5;

	(void)state;
	pub = client_new(MQTT_V311, "pub");
	cl_publish(pub, "ret/a", "A", 1, 1, 1, 0);
	expect_ack(pub, MQTT_PUBACK, 1, 0);
	cl_publish(pub, "ret/b", "B", 0, 0, 1, 0);
	assert_int_equal(engine_stats.retained, 2);

	s3 = client_new(MQTT_V311, "s3");
	cl_subscribe(s3, 1, "ret/a", 1, 1);
	cl_ack(s3, MQTT_PUBACK, expect_publish(s3, "ret/a", "A", 1, 0, 1), -1);
	cl_quiet(s3);
	/* A live message is not flagged retained. */
	cl_publish(pub, "ret/a", "A2", 0, 0, 1, 0);
	expect_publish(s3, "ret/a", "A2", 0, 0, 0);

	/* MQTT 5 retain handling: 1 only if new, 2 never. */
	s5 = client_new(MQTT_V5, "s5");
	cl_subscribe(s5, 1, "ret/b", 0x10, 0);
	expect_publish(s5, "ret/b", "B", 0, 0, 1);
	cl_subscribe(s5, 2, "ret/b", 0x10, 0);
	cl_quiet(s5);
	cl_subscribe(s5, 3, "ret/a", 0x20, 0);
	cl_quiet(s5);
	/* An empty retained message removes it. */
	cl_publish(pub, "ret/b", "", 0, 0, 1, 0);
	expect_publish(s5, "ret/b", "", 0, 0, 0);
	assert_int_equal(engine_stats.retained, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qos0_over_client_buffer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_size_follows_packets,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos1_flow,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_inbound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_inbound_limit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_outbound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos_downgrade_and_overlap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_reason_codes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_maximum_server,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_maximum_client,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_holds_publisher,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_limit_bytes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_offline,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_freed_on_close,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_receive_maximum,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_dup,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_pubrel,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_expiry_zero,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_v5,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_v311_resume,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_abnormal_close,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_not_after_disconnect,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_retained,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_delay,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retained_on_subscribe,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
