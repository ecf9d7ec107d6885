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
 * storaged's record formats: every record and key encodes and decodes
 * back to the same values; what decodes re-encodes to the same bytes
 * (the encoding is canonical); and hostile records (truncated, extended,
 * wrong type or version, reserved bits, lengths and counts that lie, bit
 * flips) are refused with a reason, never read past their end.  Expected
 * bytes are written out by hand below, so a change of format shows.
 */

#include <sys/types.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "record.h"

#define BS(s)	{ (const uint8_t *)(s), sizeof(s) - 1 }

/* Decode any value type; the struct is only for the caller to look at. */
union anyrec {
	struct rec_msg		 msg;
	struct rec_retain	 retain;
	struct rec_session	 session;
	struct rec_sub		 sub;
	struct rec_queue	 queue;
	struct rec_meta		 meta;
};

static int
dec_any(enum rec_type t, const uint8_t *p, size_t len, union anyrec *u,
    struct rec_err *e)
{
	switch (t) {
	case REC_MSG:
		return rec_dec_msg(p, len, &u->msg, e);
	case REC_RETAIN:
		return rec_dec_retain(p, len, &u->retain, e);
	case REC_SESSION:
		return rec_dec_session(p, len, &u->session, e);
	case REC_SUB:
		return rec_dec_sub(p, len, &u->sub, e);
	case REC_QUEUE:
		return rec_dec_queue(p, len, &u->queue, e);
	case REC_INREL:
		return rec_dec_inrel(p, len, e);
	case REC_META:
		return rec_dec_meta(p, len, &u->meta, e);
	default:
		fail();
		return -1;
	}
}

static int
enc_any(enum rec_type t, struct buf *b, const union anyrec *u)
{
	switch (t) {
	case REC_MSG:
		return rec_enc_msg(b, &u->msg);
	case REC_RETAIN:
		return rec_enc_retain(b, &u->retain);
	case REC_SESSION:
		return rec_enc_session(b, &u->session);
	case REC_SUB:
		return rec_enc_sub(b, &u->sub);
	case REC_QUEUE:
		return rec_enc_queue(b, &u->queue);
	case REC_INREL:
		return rec_enc_inrel(b);
	case REC_META:
		return rec_enc_meta(b, &u->meta);
	default:
		fail();
		return -1;
	}
}

/*
 * The checks every valid record must pass: it decodes, re-encodes to
 * itself, every proper prefix and every one-byte extension is refused,
 * and every single-bit flip either is refused or decodes to something
 * that re-encodes to exactly the flipped bytes.
 */
static void
hostile(enum rec_type t, const uint8_t *p, size_t len)
{
	union anyrec	 u;
	struct rec_err	 e;
	struct buf	 b;
	uint8_t		*q;
	size_t		 i;
	int		 bit;

	buf_init(&b, 0);
	assert_int_equal(dec_any(t, p, len, &u, &e), 0);
	assert_int_equal(enc_any(t, &b, &u), 0);
	assert_int_equal(buf_len(&b), len);
	assert_memory_equal(buf_ptr(&b), p, len);

	for (i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so ASan sees any overread. */
		q = malloc(i + 1);
		memcpy(q, p, i);
		e.why = NULL;
		assert_int_equal(dec_any(t, q, i, &u, &e), -1);
		assert_non_null(e.why);
		free(q);
	}
	q = malloc(len + 1);
	memcpy(q, p, len);
	q[len] = 0;
	assert_int_equal(dec_any(t, q, len + 1, &u, &e), -1);
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			q[i] ^= 1 << bit;
			if (dec_any(t, q, len, &u, &e) == 0) {
				b.rpos = b.wpos = 0;
				assert_int_equal(enc_any(t, &b, &u), 0);
				assert_int_equal(buf_len(&b), len);
				assert_memory_equal(buf_ptr(&b), q, len);
			} else
				assert_non_null(e.why);
			q[i] ^= 1 << bit;
		}
	free(q);
	buf_free(&b);
}

static void
expect_bytes(struct buf *b, const void *want, size_t len)
{
	assert_int_equal(buf_len(b), len);
	assert_memory_equal(buf_ptr(b), want, len);
}

static void
test_msg_roundtrip(void **state)
{
	static const uint8_t	 want[] = {
		REC_MSG, 1, 0x05,			/* qos 1, retain */
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* expires */
		0, 3, 'a', '/', 'b',
		0, 0, 0, 2, 0x01, 0x01,			/* properties */
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'
	};
	struct rec_msg	 m, d;
	struct rec_err	 e;
	struct buf	 b;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.qos = 1;
	m.retain = 1;
	m.expires = 1700000000000ULL;
	m.topic = (struct rec_bytes)BS("a/b");
	m.props = (struct rec_bytes)BS("\x01\x01");
	m.payload = (struct rec_bytes)BS("hello");
	buf_init(&b, 0);
	assert_int_equal(rec_enc_msg(&b, &m), 0);
	expect_bytes(&b, want, sizeof(want));
	assert_int_equal(rec_dec_msg(buf_ptr(&b), buf_len(&b), &d, &e), 0);
	assert_int_equal(d.qos, 1);
	assert_int_equal(d.retain, 1);
	assert_true(d.expires == m.expires);
	assert_int_equal(d.topic.len, 3);
	assert_memory_equal(d.topic.p, "a/b", 3);
	assert_int_equal(d.props.len, 2);
	assert_int_equal(d.payload.len, 5);
	assert_memory_equal(d.payload.p, "hello", 5);
	hostile(REC_MSG, want, sizeof(want));

	/* Empty payload and properties, QoS 0, no expiry. */
	memset(&m, 0, sizeof(m));
	m.topic = (struct rec_bytes)BS("t");
	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_msg(&b, &m), 0);
	assert_int_equal(buf_len(&b), 2 + 1 + 8 + 3 + 4 + 4);
	hostile(REC_MSG, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
}

static void
test_msg_limits(void **state)
{
	struct rec_msg	 m, d;
	struct rec_err	 e;
	struct buf	 b;
	uint8_t		*topic;

	(void)state;
	topic = malloc(REC_MAX_STR + 1);
	memset(topic, 'x', REC_MAX_STR + 1);
	memset(&m, 0, sizeof(m));
	m.topic.p = topic;
	m.topic.len = REC_MAX_STR;
	buf_init(&b, 0);
	assert_int_equal(rec_enc_msg(&b, &m), 0);
	assert_int_equal(rec_dec_msg(buf_ptr(&b), buf_len(&b), &d, &e), 0);
	assert_int_equal(d.topic.len, REC_MAX_STR);

	/* Refused by the encoder, the buffer as it was. */
	b.rpos = b.wpos = 0;
	assert_int_equal(buf_add(&b, "keep", 4), 0);
	m.topic.len = REC_MAX_STR + 1;
	errno = 0;
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	assert_int_equal(errno, EINVAL);
	expect_bytes(&b, "keep", 4);
	m.topic.len = 0;
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	m.topic = (struct rec_bytes){ (const uint8_t *)"a\0b", 3 };
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	m.topic = (struct rec_bytes)BS("a");
	m.qos = 3;
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	m.qos = 0;
	m.retain = 2;
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	m.retain = 0;
	m.payload.len = REC_MAX_BLOB + 1;
	m.payload.p = topic;
	assert_int_equal(rec_enc_msg(&b, &m), -1);
	expect_bytes(&b, "keep", 4);
	free(topic);
	buf_free(&b);
}

static void
test_msg_hostile(void **state)
{
	/* Each: a message record that must be refused. */
	static const struct {
		const char	*name;
		uint8_t		 b[40];
		size_t		 len;
	} bad[] = {
		{ "wrong type", { REC_SUB, 1, 0, 0,0,0,0,0,0,0,0, 0,1,'a',
		    0,0,0,0, 0,0,0,0 }, 22 },
		{ "version 0", { REC_MSG, 0, 0, 0,0,0,0,0,0,0,0, 0,1,'a',
		    0,0,0,0, 0,0,0,0 }, 22 },
		{ "version 2", { REC_MSG, 2, 0, 0,0,0,0,0,0,0,0, 0,1,'a',
		    0,0,0,0, 0,0,0,0 }, 22 },
		{ "qos 3", { REC_MSG, 1, 3, 0,0,0,0,0,0,0,0, 0,1,'a',
		    0,0,0,0, 0,0,0,0 }, 22 },
		{ "reserved flag", { REC_MSG, 1, 0x08, 0,0,0,0,0,0,0,0, 0,1,
		    'a', 0,0,0,0, 0,0,0,0 }, 22 },
		{ "empty topic", { REC_MSG, 1, 0, 0,0,0,0,0,0,0,0, 0,0,
		    0,0,0,0, 0,0,0,0 }, 21 },
		{ "NUL in topic", { REC_MSG, 1, 0, 0,0,0,0,0,0,0,0, 0,1,0,
		    0,0,0,0, 0,0,0,0 }, 22 },
		{ "topic longer than the record", { REC_MSG, 1, 0,
		    0,0,0,0,0,0,0,0, 0xff,0xff,'a', 0,0,0,0, 0,0,0,0 }, 22 },
		{ "properties longer than the record", { REC_MSG, 1, 0,
		    0,0,0,0,0,0,0,0, 0,1,'a', 0,0,0,9, 0,0,0,0 }, 22 },
		{ "properties over the limit", { REC_MSG, 1, 0,
		    0,0,0,0,0,0,0,0, 0,1,'a', 0x10,0,0,0, 0,0,0,0 }, 22 },
		{ "payload length 2^32-1", { REC_MSG, 1, 0, 0,0,0,0,0,0,0,0,
		    0,1,'a', 0,0,0,0, 0xff,0xff,0xff,0xff }, 22 },
		{ "payload shorter than said", { REC_MSG, 1, 0,
		    0,0,0,0,0,0,0,0, 0,1,'a', 0,0,0,0, 0,0,0,2, 'x' }, 23 },
		{ "byte after the payload", { REC_MSG, 1, 0,
		    0,0,0,0,0,0,0,0, 0,1,'a', 0,0,0,0, 0,0,0,1, 'x', 'y' },
		    24 },
	};
	struct rec_msg	 m;
	struct rec_err	 e;
	size_t		 i;
	uint8_t		*p;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = malloc(bad[i].len);
		memcpy(p, bad[i].b, bad[i].len);
		e.why = NULL;
		if (rec_dec_msg(p, bad[i].len, &m, &e) != -1)
			fail_msg("accepted: %s", bad[i].name);
		assert_non_null(e.why);
		free(p);
	}
}

static void
test_session(void **state)
{
	static const uint8_t	 plain[] = {
		REC_SESSION, 1, 5, 0, 0, 0, 0x0e, 0x10,	/* expiry 3600 */
		0, 0, 0, 0, 0, 0, 0, 0			/* connected */
	};
	static const uint8_t	 will[] = {
		REC_SESSION, 1, 4, 0x0d, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
		0, 0, 0, 30, 0, 0, 0, 0,		/* delay, expiry */
		0, 1, 'w', 0, 0, 0, 0, 0, 0, 0, 3, 'b', 'y', 'e'
	};
	struct rec_session	 s, d;
	struct rec_err		 e;
	struct buf		 b;
	uint8_t			 x[sizeof(plain)];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.version = 5;
	s.expiry = 3600;
	buf_init(&b, 0);
	assert_int_equal(rec_enc_session(&b, &s), 0);
	expect_bytes(&b, plain, sizeof(plain));
	hostile(REC_SESSION, plain, sizeof(plain));

	memset(&s, 0, sizeof(s));
	s.version = 4;
	s.expiry = REC_EXPIRY_NEVER;
	s.disconnected = 1700000000000ULL;
	s.has_will = 1;
	s.will.qos = 2;
	s.will.retain = 1;
	s.will.delay = 30;
	s.will.topic = (struct rec_bytes)BS("w");
	s.will.payload = (struct rec_bytes)BS("bye");
	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_session(&b, &s), 0);
	expect_bytes(&b, will, sizeof(will));
	assert_int_equal(rec_dec_session(will, sizeof(will), &d, &e), 0);
	assert_int_equal(d.has_will, 1);
	assert_int_equal(d.will.qos, 2);
	assert_int_equal(d.will.retain, 1);
	assert_int_equal(d.will.delay, 30);
	assert_int_equal(d.will.payload.len, 3);
	hostile(REC_SESSION, will, sizeof(will));

	/* Hostile by hand: version 2 and 6, will bits without a will. */
	memcpy(x, plain, sizeof(x));
	x[2] = 2;
	assert_int_equal(rec_dec_session(x, sizeof(x), &d, &e), -1);
	x[2] = 6;
	assert_int_equal(rec_dec_session(x, sizeof(x), &d, &e), -1);
	x[2] = 5;
	x[3] = 0x08;
	assert_int_equal(rec_dec_session(x, sizeof(x), &d, &e), -1);
	x[3] = 0x07;		/* a will of QoS 3 */
	assert_int_equal(rec_dec_session(x, sizeof(x), &d, &e), -1);

	s.version = 6;
	assert_int_equal(rec_enc_session(&b, &s), -1);
	buf_free(&b);
}

static void
test_sub_retain_inrel_meta(void **state)
{
	static const uint8_t	 sub[] = { REC_SUB, 1, 0x2e, 0, 0, 0x01, 0 };
	static const uint8_t	 ret[] = { REC_RETAIN, 1, 0, 0, 0, 0, 0, 0,
	    0x10, 0x01 };
	static const uint8_t	 inrel[] = { REC_INREL, 1 };
	static const uint8_t	 meta[] = { REC_META, 1, 0, 0, 0, 1,
	    0, 0, 0, 0, 0, 0, 0, 7 };
	struct rec_sub		 s = { 0x2e, 256 }, sd;
	struct rec_retain	 r = { 0x1001 };
	struct rec_meta		 m = { 1, 7 };
	struct rec_err		 e;
	struct buf		 b;
	uint8_t			 x[sizeof(sub)];

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(rec_enc_sub(&b, &s), 0);
	expect_bytes(&b, sub, sizeof(sub));
	hostile(REC_SUB, sub, sizeof(sub));
	memcpy(x, sub, sizeof(x));
	x[2] = 0x30;		/* retain handling 3 */
	assert_int_equal(rec_dec_sub(x, sizeof(x), &sd, &e), -1);
	x[2] = 0x40;		/* reserved */
	assert_int_equal(rec_dec_sub(x, sizeof(x), &sd, &e), -1);
	x[2] = 0;
	x[3] = 0x10;		/* identifier 2^28 */
	assert_int_equal(rec_dec_sub(x, sizeof(x), &sd, &e), -1);
	s.id = REC_MAX_SUBID + 1;
	assert_int_equal(rec_enc_sub(&b, &s), -1);

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_retain(&b, &r), 0);
	expect_bytes(&b, ret, sizeof(ret));
	hostile(REC_RETAIN, ret, sizeof(ret));
	r.msgid = 0;
	assert_int_equal(rec_enc_retain(&b, &r), -1);

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_inrel(&b), 0);
	expect_bytes(&b, inrel, sizeof(inrel));
	hostile(REC_INREL, inrel, sizeof(inrel));

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_meta(&b, &m), 0);
	expect_bytes(&b, meta, sizeof(meta));
	hostile(REC_META, meta, sizeof(meta));
	buf_free(&b);
}

static void
test_queue(void **state)
{
	static const uint8_t	 queued[] = {
		REC_QUEUE, 1, 0x05, 0, 0,		/* qos 1, retain */
		0, 0, 0, 0, 0, 0, 0, 42, 0
	};
	static const uint8_t	 released[] = {
		REC_QUEUE, 1, 0x12, 0x12, 0x34,		/* qos 2, released */
		0, 0, 0, 0, 0, 0, 0, 42, 2,
		0, 0, 0, 1, 0x0f, 0xff, 0xff, 0xff
	};
	struct rec_queue	 q, d;
	struct rec_err		 e;
	struct buf		 b;
	uint8_t			 x[sizeof(released)];
	uint8_t			*big;
	unsigned int		 i;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.msgid = 42;
	q.qos = 1;
	q.retain = 1;
	buf_init(&b, 0);
	assert_int_equal(rec_enc_queue(&b, &q), 0);
	expect_bytes(&b, queued, sizeof(queued));
	hostile(REC_QUEUE, queued, sizeof(queued));

	memset(&q, 0, sizeof(q));
	q.msgid = 42;
	q.qos = 2;
	q.state = REC_Q_RELEASED;
	q.pid = 0x1234;
	q.nsubids = 2;
	q.subids[0] = 1;
	q.subids[1] = REC_MAX_SUBID;
	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_queue(&b, &q), 0);
	expect_bytes(&b, released, sizeof(released));
	assert_int_equal(rec_dec_queue(released, sizeof(released), &d, &e),
	    0);
	assert_int_equal(d.nsubids, 2);
	assert_int_equal(d.subids[1], REC_MAX_SUBID);
	assert_int_equal(d.pid, 0x1234);
	hostile(REC_QUEUE, released, sizeof(released));

	/* States and packet ids that disagree. */
	memcpy(x, released, sizeof(x));
	x[2] = 0x11;		/* QoS 1 released */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	x[2] = 0x02;		/* queued with a packet id */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	x[2] = 0x1a;		/* state 3 */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	memcpy(x, released, sizeof(x));
	x[3] = x[4] = 0;	/* in flight without a packet id */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	memcpy(x, released, sizeof(x));
	x[13] = 255;		/* a count the bytes cannot hold */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	memcpy(x, released, sizeof(x));
	x[17] = 0;		/* identifier 0 */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);
	memcpy(x, released, sizeof(x));
	x[12] = 0;		/* message 0 */
	assert_int_equal(rec_dec_queue(x, sizeof(x), &d, &e), -1);

	/* 255 identifiers, the most. */
	memset(&q, 0, sizeof(q));
	q.msgid = 1;
	q.qos = 1;
	q.nsubids = REC_MAX_SUBIDS;
	for (i = 0; i < REC_MAX_SUBIDS; i++)
		q.subids[i] = i + 1;
	b.rpos = b.wpos = 0;
	assert_int_equal(rec_enc_queue(&b, &q), 0);
	big = malloc(buf_len(&b));
	memcpy(big, buf_ptr(&b), buf_len(&b));
	assert_int_equal(rec_dec_queue(big, buf_len(&b), &d, &e), 0);
	assert_int_equal(d.nsubids, REC_MAX_SUBIDS);
	assert_int_equal(d.subids[254], 255);
	free(big);
	q.subids[3] = 0;
	assert_int_equal(rec_enc_queue(&b, &q), -1);
	buf_free(&b);
}

static void
test_keys(void **state)
{
	static const uint8_t	 qkey[] = { 0, 2, 'c', '1', 0, 0, 0, 0, 0, 0,
	    0x01, 0x00 };
	struct rec_bytes	 cid, filter;
	struct rec_err		 e;
	struct buf		 b;
	uint64_t		 v;
	uint16_t		 pid;
	uint8_t			 x[16];

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(rec_key_queue(&b, "c1", 2, 256), 0);
	expect_bytes(&b, qkey, sizeof(qkey));
	assert_int_equal(rec_dec_key_queue(qkey, sizeof(qkey), &cid, &v, &e),
	    0);
	assert_int_equal(cid.len, 2);
	assert_true(v == 256);
	assert_int_equal(rec_dec_key_queue(qkey, sizeof(qkey) - 1, &cid, &v,
	    &e), -1);
	memcpy(x, qkey, sizeof(qkey));
	x[1] = 3;		/* cid length into the sequence number */
	assert_int_equal(rec_dec_key_queue(x, sizeof(qkey), &cid, &v, &e),
	    -1);
	x[0] = 0xff;		/* longer than the key */
	assert_int_equal(rec_dec_key_queue(x, sizeof(qkey), &cid, &v, &e),
	    -1);
	x[0] = x[1] = 0;	/* empty client id */
	assert_int_equal(rec_dec_key_queue(x, sizeof(qkey), &cid, &v, &e),
	    -1);

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_key_sub(&b, "c1", 2, "a/#", 3), 0);
	expect_bytes(&b, "\0\2c1a/#", 7);
	assert_int_equal(rec_dec_key_sub(buf_ptr(&b), buf_len(&b), &cid,
	    &filter, &e), 0);
	assert_int_equal(filter.len, 3);
	assert_int_equal(rec_dec_key_sub(buf_ptr(&b), 4, &cid, &filter, &e),
	    -1);		/* no filter */

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_key_inrel(&b, "c1", 2, 7), 0);
	expect_bytes(&b, "\0\2c1\0\7", 6);
	assert_int_equal(rec_dec_key_inrel(buf_ptr(&b), 6, &cid, &pid, &e),
	    0);
	assert_int_equal(pid, 7);
	assert_int_equal(rec_dec_key_inrel((const uint8_t *)"\0\2c1\0\0", 6,
	    &cid, &pid, &e), -1);
	assert_int_equal(rec_key_inrel(&b, "c1", 2, 0), -1);

	b.rpos = b.wpos = 0;
	assert_int_equal(rec_key_msg(&b, 0x0102), 0);
	expect_bytes(&b, "\0\0\0\0\0\0\1\2", 8);
	assert_int_equal(rec_dec_key_msg(buf_ptr(&b), 8, &v, &e), 0);
	assert_true(v == 0x0102);
	assert_int_equal(rec_dec_key_msg(buf_ptr(&b), 7, &v, &e), -1);
	assert_int_equal(rec_dec_key_msg((const uint8_t *)"\0\0\0\0\0\0\0\0",
	    8, &v, &e), -1);
	assert_int_equal(rec_key_msg(&b, 0), -1);

	assert_int_equal(rec_key_str(&b, "", 0), -1);
	assert_int_equal(rec_key_cid(&b, "a\0", 2), -1);
	assert_int_equal(rec_dec_key_str((const uint8_t *)"a\0", 2, &cid, &e),
	    -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_roundtrip),
		cmocka_unit_test(test_msg_limits),
		cmocka_unit_test(test_msg_hostile),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_sub_retain_inrel_meta),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
