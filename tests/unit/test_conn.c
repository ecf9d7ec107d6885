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
 * Unit tests for a connection's output queue (brokerd/conn.c): copied
 * bytes in chunks and referenced payloads, written through a socket that
 * takes a few KiB at a time, must reach the peer complete and in order,
 * whatever is appended while the connection waits to write; and every
 * chunk and message reference must be let go once written.
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
#include "inproc.h"

#define STREAM_MAX	(4 * 1024 * 1024)
#define NSIZES		(sizeof(sizes) / sizeof(sizes[0]))

static struct listener	 lst;
static int		 turns;
static int		 authd_peer;

struct stream {
	uint8_t		*want;		/* what was queued, in order */
	size_t		 wlen;
	uint8_t		*got;		/* what the peer read */
	size_t		 glen;
};

/* The event loop's end-of-turn hook; the second ends ev_dispatch(). */
static void
turn_end(void *arg)
{
	(void)arg;
	conn_flush_all();
	if (turns++ > 0)
		ev_exit();
}

/* One turn of the event loop: the connection is told it may write. */
static void
one_turn(void)
{
	turns = 0;
	ev_dispatch();
}

/* Bytes that show where in the stream they belong. */
static void
pattern(uint8_t *p, size_t len, size_t at)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((at + i) * 131 + (at + i) / 251);
}

/* `len' bytes copied into the output. */
static void
queue_copy(struct conn *c, struct stream *s, size_t len)
{
	assert_true(s->wlen + len <= STREAM_MAX);
	pattern(s->want + s->wlen, len, s->wlen);
	assert_int_equal(conn_send(c, s->want + s->wlen, len), 0);
	s->wlen += len;
}

/* `len' bytes of a message's payload referenced by the output. */
static struct msg *
queue_ref(struct conn *c, struct stream *s, size_t len)
{
	struct pub	 p;
	struct msg	*m;

	assert_true(s->wlen + len <= STREAM_MAX);
	pattern(s->want + s->wlen, len, s->wlen);
	memset(&p, 0, sizeof(p));
	p.topic = (const uint8_t *)"t";
	p.topic_len = 1;
	p.payload = s->want + s->wlen;
	p.payload_len = len;
	m = msg_new(&p);
	assert_int_equal(conn_send_ref(c, m, MSG_PAYLOAD(m), len), 0);
	s->wlen += len;
	return m;
}

/* Read what the peer has. */
static void
take(int fd, struct stream *s)
{
	ssize_t	 n;

	while ((n = read(fd, s->got + s->glen, STREAM_MAX - s->glen)) > 0)
		s->glen += n;
	assert_true(n == -1 && errno == EAGAIN);
}

static void
stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	assert_non_null(s->want = malloc(STREAM_MAX));
	assert_non_null(s->got = malloc(STREAM_MAX));
}

static void
stream_free(struct stream *s)
{
	free(s->want);
	free(s->got);
}

static struct conn *
pair(int *peer)
{
	struct conn	*c;
	int		 sv[2], sz = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	assert_non_null(c = conn_test_new(sv[0], &lst));
	*peer = sv[1];
	return c;
}

static void
unpair(struct conn *c, int peer)
{
	conn_close(c, NULL);
	conn_flush_all();
	close(peer);
}

/*
 * Pieces across every chunk size and above the largest, copied and
 * referenced in turn, some appended while the socket is full.
 */
static void
test_output_in_order(void **state)
{
	static const size_t	 sizes[] = { 1, 100, 1000, 1023, 1025, 5000,
	    16384, 65535, 65536, 65537, 200000, 3, 2048, 70000 };
	struct stream		 s;
	struct conn		*c;
	struct msg		*keep[2 * NSIZES];
	size_t			 i, nkeep = 0, rounds = 0;
	int			 peer;

	(void)state;
	stream_init(&s);
	c = pair(&peer);
	for (i = 0; i < NSIZES; i++) {
		if (i % 2 == 0)
			queue_copy(c, &s, sizes[i]);
		else
			keep[nkeep++] = queue_ref(c, &s, sizes[i]);
	}
	assert_int_equal(conn_outq(c), s.wlen);
	conn_flush_all();
	assert_true(conn_outq(c) > 0);		/* the socket is full */

	/* More while it waits: copies after references and the reverse. */
	for (i = 0; i < NSIZES; i++) {
		if (i % 2 == 1)
			queue_copy(c, &s, sizes[i]);
		else
			keep[nkeep++] = queue_ref(c, &s, sizes[i]);
	}
	while (s.glen < s.wlen) {
		take(peer, &s);
		if (s.glen == s.wlen)
			break;
		if (c->blocked)
			one_turn();	/* told it may write again */
		else
			conn_flush_all();
		assert_true(++rounds < 100000);
	}
	assert_int_equal(s.glen, s.wlen);
	assert_memory_equal(s.got, s.want, s.wlen);
	assert_int_equal(conn_outq(c), 0);
	assert_null(c->oq);
	/* The connection let go of every payload it referenced. */
	for (i = 0; i < nkeep; i++) {
		assert_int_equal(keep[i]->refs, 1);
		msg_unref(keep[i]);
	}
	unpair(c, peer);
	stream_free(&s);
}

/* Many small writes gather into few chunks and one write. */
static void
test_output_small_batched(void **state)
{
	struct stream	 s;
	struct conn	*c;
	size_t		 i;
	int		 peer;

	(void)state;
	stream_init(&s);
	c = pair(&peer);
	for (i = 0; i < 40; i++)
		queue_copy(c, &s, 64);
	assert_non_null(c->oq);
	assert_int_equal(c->oq->n, 2);		/* 1 KiB, then 2 KiB */
	conn_flush_all();
	take(peer, &s);
	assert_int_equal(s.glen, s.wlen);
	assert_memory_equal(s.got, s.want, s.wlen);
	assert_null(c->oq);
	unpair(c, peer);
	stream_free(&s);
}

/* A connection closed with output pending frees it all. */
static void
test_output_freed_on_close(void **state)
{
	struct stream	 s;
	struct conn	*c;
	struct msg	*m;
	int		 peer;

	(void)state;
	stream_init(&s);
	c = pair(&peer);
	queue_copy(c, &s, 300000);
	m = queue_ref(c, &s, 100000);
	conn_flush_all();
	assert_true(conn_outq(c) > 0);
	assert_int_equal(m->refs, 2);
	conn_close(c, NULL);
	assert_int_equal(m->refs, 1);
	msg_unref(m);
	/* A dead connection takes no more. */
	assert_null(conn_reserve(c, 10));
	conn_flush_all();
	close(peer);
	stream_free(&s);
}

/* An MQTT 5 CONNECT of about `len' bytes, most of it user properties. */
static size_t
big_connect(uint8_t *p, size_t len)
{
	size_t	 k = (len - 20) / 7, pl = 7 * k, rl = 10 + 3 + pl + 3, n = 0;

	p[n++] = 0x10;
	p[n++] = 0x80 | (rl & 0x7f);
	p[n++] = 0x80 | ((rl >> 7) & 0x7f);
	p[n++] = rl >> 14;
	memcpy(p + n, "\0\4MQTT\5\2\0\x3c", 10);	/* clean start */
	n += 10;
	p[n++] = 0x80 | (pl & 0x7f);
	p[n++] = 0x80 | ((pl >> 7) & 0x7f);
	p[n++] = pl >> 14;
	while (k-- > 0) {
		memcpy(p + n, "\x26\0\1k\0\1v", 7);
		n += 7;
	}
	memcpy(p + n, "\0\1c", 3);
	return n + 3;
}

/*
 * A packet longer than two reads' worth: its first 64 KiB in one read,
 * the remaining 64 KiB and more in the next, which takes it all in one
 * readv() and must hand the whole packet on at once, not wait for bytes
 * that will not come.
 */
static void
test_read_large_packet_pieces(void **state)
{
	static uint8_t	 pkt[65536 + 70000];
	struct conn	*c;
	size_t		 len;
	int		 sv[2];

	(void)state;
	econf.max_connect_size = sizeof(pkt);
	econf.max_user_properties = 65535;
	mqtt_set_max_user_props(econf.max_user_properties);
	len = big_connect(pkt, sizeof(pkt));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_non_null(c = conn_test_new(sv[0], &lst));
	assert_int_equal(write(sv[1], pkt, 65536), 65536);
	one_turn();
	assert_int_equal(c->state, CONN_NEW);
	assert_int_equal(buf_len(&c->rbuf), 65536);
	assert_true(len - 65536 > 65536);
	assert_int_equal(write(sv[1], pkt + 65536, len - 65536),
	    (ssize_t)(len - 65536));
	one_turn();
	assert_int_equal(buf_len(&c->rbuf), 0);
	assert_int_equal(c->state, CONN_AUTH);	/* parsed, sent to authd */
	settings_defaults(engine_settings, engine_nsettings, &econf);
	mqtt_set_max_user_props(econf.max_user_properties);
	unpair(c, sv[1]);
}

/*
 * While authd decides, a client that keeps sending gets one small read
 * (4 KiB) taken and kept, and is then not read until the verdict.
 */
static void
test_read_bounded_while_authd_decides(void **state)
{
	static const uint8_t	 connect[] = { 0x10, 12, 0, 4, 'M', 'Q',
	    'T', 'T', 4, 2, 0, 60, 0, 0 };
	static uint8_t		 flood[100000];
	struct conn		*c;
	size_t			 kept;
	int			 sv[2], left;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_non_null(c = conn_test_new(sv[0], &lst));
	assert_int_equal(write(sv[1], connect, sizeof(connect)),
	    sizeof(connect));
	one_turn();
	assert_int_equal(c->state, CONN_AUTH);
	assert_int_equal(buf_len(&c->rbuf), 0);
	assert_true(c->evflags & EV_READ);	/* still in the kernel's set */

	memset(flood, 0x30, sizeof(flood));
	assert_int_equal(write(sv[1], flood, sizeof(flood)), sizeof(flood));
	one_turn();
	assert_int_equal(c->state, CONN_AUTH);
	kept = buf_len(&c->rbuf);
	assert_true(kept > 0 && kept <= 4096);
	assert_false(c->evflags & EV_READ);
	/* The rest waits in the socket, not in the broker. */
	assert_int_equal(ioctl(sv[0], FIONREAD, &left), 0);
	assert_int_equal((size_t)left, sizeof(flood) - kept);
	unpair(c, sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_in_order),
		cmocka_unit_test(test_output_small_batched),
		cmocka_unit_test(test_output_freed_on_close),
		cmocka_unit_test(test_read_large_packet_pieces),
		cmocka_unit_test(test_read_bounded_while_authd_decides),
	};
	int	 rc;

	if ((authd_peer = inproc_init()) == -1)
		return 1;
	ev_setflush(turn_end, NULL);
	settings_defaults(engine_settings, engine_nsettings, &econf);
	strlcpy(lst.name, "test", sizeof(lst.name));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	inproc_done(authd_peer);
	return rc;
}
