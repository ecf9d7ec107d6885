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
 * Unit tests for brokerd/mqtt.c, the MQTT 3.1, 3.1.1 and 5.0 codec.
 * Packets are built byte by byte here, after the OASIS specifications,
 * not with the encoders under test; what the encoders write is checked
 * byte for byte and decoded back.  Where a property may appear is
 * written down again below from the MQTT 5 specification (2.2.2.2), so a
 * mistake in the codec's own table shows.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mqtt.h"
#include "pkt.h"

#define DEFAULT_MAX_USER	1024	/* mqtt.c's own default */

static int
str_is(const struct mqtt_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

#define assert_str(s, want)	assert_true(str_is((s), (want)))

/* Decode a property block for `where' with the default user limit. */
static int
props_decode(const struct pkt *blk, uint32_t where, struct mqtt_props *pr,
    struct mqtt_error *e)
{
	size_t	 used = 0;
	int	 r;

	memset(e, 0, sizeof(*e));
	r = mqtt_decode_props(blk->b, blk->n, where, pr, &used, 64, e);
	if (r == 0)
		assert_int_equal(used, blk->n);
	else
		assert_non_null(e->why);
	return r;
}

/* A block holding one property. */
static void
one_prop(struct pkt *blk, const struct pkt *prop)
{
	p_reset(blk);
	p_props(blk, prop);
}

/*
 * Variable Byte Integers.
 */

static const struct {
	uint32_t	 v;
	uint8_t		 enc[4];
	size_t		 n;
} varints[] = {
	{ 0,		{ 0x00 },			1 },
	{ 1,		{ 0x01 },			1 },
	{ 127,		{ 0x7f },			1 },
	{ 128,		{ 0x80, 0x01 },			2 },
	{ 16383,	{ 0xff, 0x7f },			2 },
	{ 16384,	{ 0x80, 0x80, 0x01 },		3 },
	{ 2097151,	{ 0xff, 0xff, 0x7f },		3 },
	{ 2097152,	{ 0x80, 0x80, 0x80, 0x01 },	4 },
	{ 268435455,	{ 0xff, 0xff, 0xff, 0x7f },	4 },
};

static void
test_varint_boundaries(void **state)
{
	uint8_t		 out[8];
	uint32_t	 v;
	size_t		 i, k, used, n;

	(void)state;
	for (i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
		assert_int_equal(mqtt_varint_size(varints[i].v), varints[i].n);
		memset(out, 0xee, sizeof(out));
		n = mqtt_varint_encode(out, varints[i].v);
		assert_int_equal(n, varints[i].n);
		assert_memory_equal(out, varints[i].enc, n);
		assert_int_equal(out[n], 0xee);	/* nothing past it */

		v = 0xdeadbeef;
		used = 0;
		assert_int_equal(mqtt_varint_decode(varints[i].enc,
		    varints[i].n, &v, &used), 1);
		assert_int_equal(v, varints[i].v);
		assert_int_equal(used, varints[i].n);

		/* Followed by other bytes: only its own are used. */
		memcpy(out, varints[i].enc, varints[i].n);
		out[varints[i].n] = 0xff;
		out[varints[i].n + 1] = 0xff;
		assert_int_equal(mqtt_varint_decode(out, varints[i].n + 2,
		    &v, &used), 1);
		assert_int_equal(v, varints[i].v);
		assert_int_equal(used, varints[i].n);

		/* Every shorter buffer asks for more. */
		for (k = 0; k < varints[i].n; k++)
			assert_int_equal(mqtt_varint_decode(varints[i].enc, k,
			    &v, &used), 0);
	}
}

static void
test_varint_malformed(void **state)
{
	static const uint8_t	 five[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t	 zero5[] = { 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t	 four[] = { 0x80, 0x80, 0x80, 0x80 };
	static const uint8_t	 three[] = { 0x80, 0x80, 0x80 };
	uint32_t		 v = 7;
	size_t			 used = 9;

	(void)state;
	/* A fifth byte: the fourth has its continuation bit. */
	assert_int_equal(mqtt_varint_decode(five, sizeof(five), &v, &used),
	    -1);
	assert_int_equal(mqtt_varint_decode(zero5, sizeof(zero5), &v, &used),
	    -1);
	/* Known to be malformed from four bytes already. */
	assert_int_equal(mqtt_varint_decode(four, sizeof(four), &v, &used),
	    -1);
	/* Three continuation bytes: a fourth may still end it. */
	assert_int_equal(mqtt_varint_decode(three, sizeof(three), &v, &used),
	    0);
	assert_int_equal(mqtt_varint_decode(three, 0, &v, &used), 0);
	/* Outputs untouched by a failure. */
	assert_int_equal(v, 7);
	assert_int_equal(used, 9);
}

/* MQTT-1.5.5-1: no more bytes than the value needs. */
static void
test_varint_not_minimal(void **state)
{
	static const uint8_t	 zero2[] = { 0x80, 0x00 };
	static const uint8_t	 one3[] = { 0x81, 0x80, 0x00 };
	static const uint8_t	 ok[] = { 0x80, 0x01 };
	uint32_t		 v = 0;
	size_t			 used = 0;

	(void)state;
	assert_int_equal(mqtt_varint_decode(zero2, sizeof(zero2), &v, &used),
	    -1);
	assert_int_equal(mqtt_varint_decode(one3, sizeof(one3), &v, &used),
	    -1);
	assert_int_equal(mqtt_varint_decode(ok, sizeof(ok), &v, &used), 1);
	assert_int_equal(v, 128);
	assert_int_equal(used, 2);
}

static void
test_header(void **state)
{
	static const uint8_t	 pingreq[] = { 0xc0, 0x00 };
	static const uint8_t	 pub[] = { 0x3d, 0x80, 0x01, 0xaa };
	static const uint8_t	 big[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t	 bad[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t	 part[] = { 0x30, 0x80, 0x80 };
	uint8_t			 first = 0;
	uint32_t		 rl = 0;
	size_t			 hlen = 0;

	(void)state;
	assert_int_equal(mqtt_header(pingreq, 0, &first, &rl, &hlen), 0);
	assert_int_equal(mqtt_header(pingreq, 1, &first, &rl, &hlen), 0);
	assert_int_equal(mqtt_header(pingreq, 2, &first, &rl, &hlen), 1);
	assert_int_equal(first, 0xc0);
	assert_int_equal(rl, 0);
	assert_int_equal(hlen, 2);

	/* The header does not need the body. */
	assert_int_equal(mqtt_header(pub, 3, &first, &rl, &hlen), 1);
	assert_int_equal(first, 0x3d);
	assert_int_equal(rl, 128);
	assert_int_equal(hlen, 3);

	assert_int_equal(mqtt_header(big, sizeof(big), &first, &rl, &hlen), 1);
	assert_int_equal(rl, MQTT_MAX_REMAINING);
	assert_int_equal(hlen, 5);

	assert_int_equal(mqtt_header(bad, sizeof(bad), &first, &rl, &hlen),
	    -1);
	assert_int_equal(mqtt_header(part, sizeof(part), &first, &rl, &hlen),
	    0);
}

/*
 * UTF-8, topics, filters.
 */

struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(x)	{ (x), sizeof(x) - 1 }

static void
test_utf8_valid(void **state)
{
	static const struct bytes good[] = {
		B(""),
		B("a"),
		B("hello/world"),
		B("\x01"),
		B("\x7f"),
		B("\xc2\x80"),			/* U+0080 */
		B("\xdf\xbf"),			/* U+07FF */
		B("\xe0\xa0\x80"),		/* U+0800 */
		B("\xed\x9f\xbf"),		/* U+D7FF */
		B("\xee\x80\x80"),		/* U+E000 */
		B("\xef\xbf\xbf"),		/* U+FFFF */
		B("\xf0\x90\x80\x80"),		/* U+10000 */
		B("\xf4\x8f\xbf\xbf"),		/* U+10FFFF */
		B("a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9ez"),
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(mqtt_utf8_valid((const uint8_t *)good[i].s,
		    good[i].n), 1);
}

static void
test_utf8_invalid(void **state)
{
	static const struct bytes bad[] = {
		B("\x00"),			/* U+0000 */
		B("a\x00" "b"),
		B("\xc0\x80"),			/* overlong U+0000 */
		B("\xc1\xbf"),			/* overlong U+007F */
		B("\xe0\x80\x80"),		/* overlong */
		B("\xe0\x9f\xbf"),		/* overlong U+07FF */
		B("\xf0\x80\x80\x80"),		/* overlong */
		B("\xf0\x8f\xbf\xbf"),		/* overlong U+FFFF */
		B("\xed\xa0\x80"),		/* U+D800 */
		B("\xed\xbf\xbf"),		/* U+DFFF */
		B("\xf4\x90\x80\x80"),		/* U+110000 */
		B("\xf5\x80\x80\x80"),
		B("\xf7\xbf\xbf\xbf"),
		B("\xf8\x88\x80\x80\x80"),
		B("\xfe"),
		B("\xff"),
		B("\xc2"),			/* truncated */
		B("\xe0\xa0"),
		B("\xe2\x82"),
		B("\xf0\x90\x80"),
		B("\xf0"),
		B("abc\xe2\x82"),
		B("\x80"),			/* stray continuation */
		B("\xbf"),
		B("a\x80z"),
		B("\xc3\xa9\xa9"),
		B("\xc2\x41"),			/* not a continuation */
		B("\xe0\xa0\x41"),
		B("\xe2\x41\x82"),
		B("\xf0\x90\x41\x80"),
		B("\xf0\x90\x80\xc0"),
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mqtt_utf8_valid((const uint8_t *)bad[i].s, bad[i].n) != 0)
			fail_msg("invalid UTF-8 case %zu accepted", i);
	}
}

static void
test_topic_valid(void **state)
{
	static const struct {
		const char	*t;
		unsigned int	 levels;
		int		 ok;
	} cases[] = {
		{ "a", 1, 1 },
		{ "a/b", 2, 1 },
		{ "a/b", 1, 0 },
		{ "a/b/c", 3, 1 },
		{ "a/b/c", 2, 0 },
		{ "/", 2, 1 },
		{ "/", 1, 0 },
		{ "a//b", 3, 1 },
		{ "$SYS/broker", 10, 1 },
		{ " ", 1, 1 },
		{ "", 10, 0 },
		{ "+", 10, 0 },
		{ "#", 10, 0 },
		{ "a/+", 10, 0 },
		{ "a/#", 10, 0 },
		{ "a+b", 10, 0 },
		{ "a#", 10, 0 },
		{ "sport/tennis#", 10, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mqtt_topic_valid((const uint8_t *)cases[i].t,
		    strlen(cases[i].t), cases[i].levels) != cases[i].ok)
			fail_msg("topic \"%s\" (%u levels): expected %d",
			    cases[i].t, cases[i].levels, cases[i].ok);
}

static void
test_filter_valid(void **state)
{
	static const struct {
		const char	*f;
		unsigned int	 levels;
		int		 ok;
		int		 shared;
	} cases[] = {
		{ "a", 10, 1, 0 },
		{ "#", 10, 1, 0 },
		{ "+", 10, 1, 0 },
		{ "a/#", 10, 1, 0 },
		{ "a/+/b", 10, 1, 0 },
		{ "+/+", 10, 1, 0 },
		{ "+/#", 10, 1, 0 },
		{ "/#", 10, 1, 0 },
		{ "/", 10, 1, 0 },
		{ "a//b", 10, 1, 0 },
		{ "$SYS/#", 10, 1, 0 },
		{ "$share/g/a/#", 10, 1, 1 },
		{ "$share/g/#", 10, 1, 1 },
		{ "$share/g/+", 10, 1, 1 },
		{ "$sharex/g/a", 10, 1, 0 },
		{ "$SHARE/g/a", 10, 1, 0 },
		{ "", 10, 0, 0 },
		{ "a/#/b", 10, 0, 0 },
		{ "#/a", 10, 0, 0 },
		{ "#/", 10, 0, 0 },
		{ "a#", 10, 0, 0 },
		{ "a/b#", 10, 0, 0 },
		{ "##", 10, 0, 0 },
		{ "a+", 10, 0, 0 },
		{ "+a", 10, 0, 0 },
		{ "a/+b", 10, 0, 0 },
		{ "a/b+/c", 10, 0, 0 },
		{ "++", 10, 0, 0 },
		{ "+#", 10, 0, 0 },
		/* Level limits. */
		{ "a/+/c", 3, 1, 0 },
		{ "a/+/c", 2, 0, 0 },
		{ "a/#", 2, 1, 0 },
		{ "a/#", 1, 0, 0 },
		{ "+", 1, 1, 0 },
		{ "/", 1, 0, 0 },
		/* $share/GROUP/ is not a level of the filter. */
		{ "$share/g/a/b", 2, 1, 1 },
		{ "$share/g/a/b", 1, 0, 1 },
		/* Malformed shared subscriptions. */
		{ "$share/g", 10, 0, 0 },
		{ "$share/", 10, 0, 0 },
		{ "$share//a", 10, 0, 0 },
		{ "$share/g/", 10, 0, 0 },
		{ "$share/g+/a", 10, 0, 0 },
		{ "$share/#/a", 10, 0, 0 },
		{ "$share/g/a#", 10, 0, 1 },
		{ "$share/g/a/#/b", 10, 0, 1 },
	};
	size_t	 i;
	int	 shared, r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		shared = -1;
		r = mqtt_filter_valid((const uint8_t *)cases[i].f,
		    strlen(cases[i].f), cases[i].levels, &shared);
		if (r != cases[i].ok)
			fail_msg("filter \"%s\" (%u levels): expected %d",
			    cases[i].f, cases[i].levels, cases[i].ok);
		if (r == 1 && shared != cases[i].shared)
			fail_msg("filter \"%s\": shared %d", cases[i].f,
			    shared);
		if (r == 0 && !cases[i].shared && shared != 0)
			fail_msg("filter \"%s\": shared %d", cases[i].f,
			    shared);
	}
}

static void
test_shared_split(void **state)
{
	static const struct {
		const char	*in;
		int		 r;
		const char	*group;
		const char	*filter;
	} cases[] = {
		{ "$share/grp/a/b", 1, "grp", "a/b" },
		{ "$share/g/#", 1, "g", "#" },
		{ "$share/g//", 1, "g", "/" },
		{ "$share/g/$SYS/x", 1, "g", "$SYS/x" },
		{ "a/b", 0, NULL, NULL },
		{ "$share", 0, NULL, NULL },
		{ "$shar", 0, NULL, NULL },
		{ "$SHARE/g/a", 0, NULL, NULL },
		{ "$sharegroup/a", 0, NULL, NULL },
		{ "share/g/a", 0, NULL, NULL },
		{ "$share/", -1, NULL, NULL },
		{ "$share//a", -1, NULL, NULL },
		{ "$share/g", -1, NULL, NULL },
		{ "$share/g/", -1, NULL, NULL },
		{ "$share/g+/a", -1, NULL, NULL },
		{ "$share/a#/b", -1, NULL, NULL },
		{ "$share/+/x", -1, NULL, NULL },
		{ "$share/#/x", -1, NULL, NULL },
	};
	struct mqtt_str	 g, f;
	size_t		 i;
	int		 r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&g, 0, sizeof(g));
		memset(&f, 0, sizeof(f));
		r = mqtt_shared_split((const uint8_t *)cases[i].in,
		    strlen(cases[i].in), &g, &f);
		if (r != cases[i].r)
			fail_msg("\"%s\": %d, expected %d", cases[i].in, r,
			    cases[i].r);
		if (r == 1) {
			assert_str(&g, cases[i].group);
			assert_str(&f, cases[i].filter);
		}
	}
}

/*
 * CONNECT.
 */

/* The variable header and payload of a CONNECT. */
static void
build_connect(struct pkt *p, const char *name, uint8_t level, uint8_t flags,
    uint16_t ka, const struct pkt *props, const char *id,
    const struct pkt *wprops, const char *wtopic, const struct bytes *wmsg,
    const char *user, const struct bytes *pass)
{
	p_reset(p);
	p_str(p, name);
	p_u8(p, level);
	p_u8(p, flags);
	p_u16(p, ka);
	if (level == MQTT_V5) {
		if (props != NULL)
			p_props(p, props);
		else
			p_u8(p, 0);
	}
	p_str(p, id);
	if (flags & 0x04) {
		if (level == MQTT_V5) {
			if (wprops != NULL)
				p_props(p, wprops);
			else
				p_u8(p, 0);
		}
		p_str(p, wtopic);
		p_bin(p, wmsg->s, wmsg->n);
	}
	if (flags & 0x80)
		p_str(p, user);
	if (flags & 0x40)
		p_bin(p, pass->s, pass->n);
}

static int
connect_decode(const struct pkt *p, struct mqtt_connect *c,
    struct mqtt_error *e)
{
	memset(e, 0, sizeof(*e));
	return mqtt_decode_connect(p->b, p->n, c, e);
}

static void
test_connect_v311(void **state)
{
	struct pkt		 p;
	struct mqtt_connect	 c;
	struct mqtt_error	 e;

	(void)state;
	build_connect(&p, "MQTT", MQTT_V311, 0x02, 60, NULL, "client1", NULL,
	    NULL, NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.version, MQTT_V311);
	assert_int_equal(c.level, MQTT_V311);
	assert_int_equal(c.named, 1);
	assert_int_equal(c.flags, 0x02);
	assert_int_equal(c.clean, 1);
	assert_int_equal(c.keepalive, 60);
	assert_str(&c.client_id, "client1");
	assert_int_equal(c.will, 0);
	assert_int_equal(c.will_qos, 0);
	assert_int_equal(c.will_retain, 0);
	assert_int_equal(c.has_username, 0);
	assert_int_equal(c.has_password, 0);
	assert_int_equal(c.props.present, 0);

	/* Clean session off, empty client identifier, keep alive 0. */
	build_connect(&p, "MQTT", MQTT_V311, 0x00, 0, NULL, "", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.clean, 0);
	assert_int_equal(c.keepalive, 0);
	assert_int_equal(c.client_id.len, 0);

	/* Keep alive is big endian. */
	build_connect(&p, "MQTT", MQTT_V311, 0x02, 0xfedc, NULL, "k", NULL,
	    NULL, NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.keepalive, 0xfedc);
}

static void
test_connect_v311_will_user_pass(void **state)
{
	static const struct bytes	 msg = B("bye\x00\xff");
	static const struct bytes	 pass = B("\x00\x01secret\xff");
	struct pkt			 p;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;
	uint8_t				 q;

	(void)state;
	for (q = 0; q <= 2; q++) {
		/* user, password, will retain, will QoS q, will, clean */
		build_connect(&p, "MQTT", MQTT_V311,
		    0x80 | 0x40 | 0x20 | (q << 3) | 0x04 | 0x02, 30, NULL,
		    "me", NULL, "will/topic", &msg, "alice", &pass);
		assert_int_equal(connect_decode(&p, &c, &e), 0);
		assert_int_equal(c.will, 1);
		assert_int_equal(c.will_qos, q);
		assert_int_equal(c.will_retain, 1);
		assert_str(&c.will_topic, "will/topic");
		assert_int_equal(c.will_payload.len, msg.n);
		assert_memory_equal(c.will_payload.p, msg.s, msg.n);
		assert_int_equal(c.has_username, 1);
		assert_str(&c.username, "alice");
		assert_int_equal(c.has_password, 1);
		assert_int_equal(c.password.len, pass.n);
		assert_memory_equal(c.password.p, pass.s, pass.n);
	}

	/* A will without retain, a user name without a password. */
	build_connect(&p, "MQTT", MQTT_V311, 0x80 | 0x04, 30, NULL, "me",
	    NULL, "w", &msg, "bob", NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.will_retain, 0);
	assert_int_equal(c.has_username, 1);
	assert_int_equal(c.has_password, 0);
	assert_str(&c.username, "bob");
}

static void
test_connect_v31(void **state)
{
	static const struct bytes	 msg = B("gone");
	static const struct bytes	 pass = B("pw");
	struct pkt			 p;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;

	(void)state;
	build_connect(&p, "MQIsdp", MQTT_V31, 0xc0 | 0x20 | 0x08 | 0x04 | 0x02,
	    10, NULL, "old-client", NULL, "w/t", &msg, "u", &pass);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.version, MQTT_V31);
	assert_int_equal(c.named, 1);
	assert_int_equal(c.clean, 1);
	assert_int_equal(c.keepalive, 10);
	assert_str(&c.client_id, "old-client");
	assert_int_equal(c.will, 1);
	assert_int_equal(c.will_qos, 1);
	assert_int_equal(c.will_retain, 1);
	assert_str(&c.will_topic, "w/t");
	assert_str(&c.username, "u");
	assert_int_equal(c.password.len, 2);
	assert_int_equal(c.props.present, 0);
}

static void
test_connect_v5_full(void **state)
{
	static const struct bytes	 msg = B("\xc3\xa9t\xc3\xa9");
	static const struct bytes	 pass = B("\x00\xff");
	struct pkt			 p, props, wprops;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;

	(void)state;
	p_reset(&props);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 3600);
	p_u8(&props, PROP_RECEIVE_MAXIMUM);
	p_u16(&props, 10);
	p_u8(&props, PROP_MAXIMUM_PACKET_SIZE);
	p_u32(&props, 100000);
	p_u8(&props, PROP_TOPIC_ALIAS_MAXIMUM);
	p_u16(&props, 5);
	p_u8(&props, PROP_REQUEST_RESPONSE_INFO);
	p_u8(&props, 1);
	p_u8(&props, PROP_REQUEST_PROBLEM_INFO);
	p_u8(&props, 0);
	p_user(&props, "k1", "v1");
	p_user(&props, "k2", "v2");
	p_u8(&props, PROP_AUTH_METHOD);
	p_str(&props, "SCRAM-SHA-1");
	p_u8(&props, PROP_AUTH_DATA);
	p_bin(&props, "\x01\x02\x03", 3);

	p_reset(&wprops);
	p_u8(&wprops, PROP_WILL_DELAY);
	p_u32(&wprops, 30);
	p_u8(&wprops, PROP_PAYLOAD_FORMAT);
	p_u8(&wprops, 1);
	p_u8(&wprops, PROP_MESSAGE_EXPIRY);
	p_u32(&wprops, 60);
	p_u8(&wprops, PROP_CONTENT_TYPE);
	p_str(&wprops, "text/plain");
	p_u8(&wprops, PROP_RESPONSE_TOPIC);
	p_str(&wprops, "reply/here");
	p_u8(&wprops, PROP_CORRELATION_DATA);
	p_bin(&wprops, "cd", 2);
	p_user(&wprops, "wk", "wv");

	/* user, password, will QoS 2, will, clean start */
	build_connect(&p, "MQTT", MQTT_V5, 0x80 | 0x40 | 0x10 | 0x04 | 0x02,
	    120, &props, "v5-client", &wprops, "will/t", &msg, "user", &pass);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	assert_int_equal(c.version, MQTT_V5);
	assert_int_equal(c.clean, 1);
	assert_int_equal(c.keepalive, 120);
	assert_str(&c.client_id, "v5-client");

	assert_true(PROP_HAS(&c.props, PROP_SESSION_EXPIRY));
	assert_int_equal(c.props.session_expiry, 3600);
	assert_int_equal(c.props.receive_maximum, 10);
	assert_int_equal(c.props.maximum_packet_size, 100000);
	assert_int_equal(c.props.topic_alias_maximum, 5);
	assert_int_equal(c.props.request_response_info, 1);
	assert_true(PROP_HAS(&c.props, PROP_REQUEST_PROBLEM_INFO));
	assert_int_equal(c.props.request_problem_info, 0);
	assert_int_equal(c.props.nuser, 2);
	assert_str(&c.props.auth_method, "SCRAM-SHA-1");
	assert_int_equal(c.props.auth_data.len, 3);
	assert_int_equal(c.props.block.len, props.n);
	assert_memory_equal(c.props.block.p, props.b, props.n);
	assert_false(PROP_HAS(&c.props, PROP_WILL_DELAY));


	assert_int_equal(c.will, 1);
	assert_int_equal(c.will_qos, 2);
	assert_int_equal(c.will_retain, 0);
	assert_int_equal(c.will_props.will_delay, 30);
	assert_int_equal(c.will_props.payload_format, 1);
	assert_int_equal(c.will_props.message_expiry, 60);
	assert_str(&c.will_props.content_type, "text/plain");
	assert_str(&c.will_props.response_topic, "reply/here");
	assert_str(&c.will_props.correlation_data, "cd");
	assert_int_equal(c.will_props.nuser, 1);
	assert_false(PROP_HAS(&c.will_props, PROP_SESSION_EXPIRY));
	assert_str(&c.will_topic, "will/t");
	assert_int_equal(c.will_payload.len, msg.n);
	assert_str(&c.username, "user");
	assert_int_equal(c.password.len, 2);
	assert_memory_equal(c.password.p, pass.s, 2);
}

static void
test_connect_flags(void **state)
{
	static const struct bytes	 msg = B("m");
	static const struct bytes	 pass = B("p");
	static const uint8_t		 levels[] = { MQTT_V31, MQTT_V311,
					    MQTT_V5 };
	struct pkt			 p;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;
	const char			*name;
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(levels); i++) {
		name = levels[i] == MQTT_V31 ? "MQIsdp" : "MQTT";

		/* The reserved flag. */
		build_connect(&p, name, levels[i], 0x03, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* Will QoS 3, with and without the will flag. */
		build_connect(&p, name, levels[i], 0x18 | 0x04, 0, NULL, "x",
		    NULL, "w", &msg, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		build_connect(&p, name, levels[i], 0x18, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* Will QoS or retain without a will. */
		build_connect(&p, name, levels[i], 0x08, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		build_connect(&p, name, levels[i], 0x10, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		build_connect(&p, name, levels[i], 0x20, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* A password without a user name: allowed from MQTT 5. */
		build_connect(&p, name, levels[i], 0x40, 0, NULL, "x", NULL,
		    NULL, NULL, NULL, &pass);
		if (levels[i] == MQTT_V5) {
			assert_int_equal(connect_decode(&p, &c, &e), 0);
			assert_int_equal(c.has_password, 1);
			assert_int_equal(c.has_username, 0);
			assert_str(&c.password, "p");
		} else {
			assert_int_equal(connect_decode(&p, &c, &e), -1);
			assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		}
	}
}

static void
test_connect_protocol(void **state)
{
	static const struct {
		const char	*name;
		uint8_t		 level;
		int		 named;
	} bad[] = {
		{ "MQTT", 3, 1 },
		{ "MQTT", 0, 1 },
		{ "MQTT", 6, 1 },
		{ "MQTT", 0x84, 1 },
		{ "MQIsdp", 4, 1 },
		{ "MQIsdp", 5, 1 },
		{ "MQTX", 4, 0 },
		{ "mqtt", 4, 0 },
		{ "MQT", 4, 0 },
		{ "MQTTT", 5, 0 },
		{ "", 4, 0 },
	};
	struct pkt		 p;
	struct mqtt_connect	 c;
	struct mqtt_error	 e;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_connect(&p, bad[i].name, bad[i].level, 0x02, 0, NULL,
		    "x", NULL, NULL, NULL, NULL, NULL);
		assert_int_equal(connect_decode(&p, &c, &e), -1);
		assert_int_equal(e.reason, RC_UNSUPPORTED_PROTOCOL_VERSION);
		/* What the engine needs to choose its answer. */
		assert_int_equal(c.named, bad[i].named);
		assert_int_equal(c.level, bad[i].level);
	}
}

static void
test_connect_client_id(void **state)
{
	static const struct bytes	 ids[] = {
		B("a\x00"),
		B("\xc0\x80"),
		B("\xed\xa0\x80"),
		B("\xff"),
		B("abc\xe2\x82"),
	};
	static const uint8_t		 levels[] = { MQTT_V31, MQTT_V311,
					    MQTT_V5 };
	struct pkt			 p;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;
	size_t				 i, j;

	(void)state;
	for (j = 0; j < sizeof(levels); j++)
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			p_reset(&p);
			p_str(&p, levels[j] == MQTT_V31 ? "MQIsdp" : "MQTT");
			p_u8(&p, levels[j]);
			p_u8(&p, 0x02);
			p_u16(&p, 60);
			if (levels[j] == MQTT_V5)
				p_u8(&p, 0);
			p_bin(&p, ids[i].s, ids[i].n);
			assert_int_equal(connect_decode(&p, &c, &e), -1);
			assert_int_equal(e.reason, RC_MALFORMED_PACKET);
			assert_int_equal(c.level, levels[j]);
			assert_int_equal(c.named, 1);
		}
}

static void
test_connect_bad_strings(void **state)
{
	static const struct bytes	 msg = B("\xff\xfe");
	static const struct bytes	 okmsg = B("x");
	struct pkt			 p, wprops;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;

	(void)state;
	/* Will topic. */
	build_connect(&p, "MQTT", MQTT_V311, 0x04, 0, NULL, "x", NULL,
	    "w\xc0\x80", &okmsg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* User name. */
	build_connect(&p, "MQTT", MQTT_V311, 0x80, 0, NULL, "x", NULL, NULL,
	    NULL, "\xed\xbf\xbf", NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* A will payload is binary ... */
	build_connect(&p, "MQTT", MQTT_V5, 0x04, 0, NULL, "x", NULL, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	/* ... unless its payload format indicator says UTF-8. */
	p_reset(&wprops);
	p_u8(&wprops, PROP_PAYLOAD_FORMAT);
	p_u8(&wprops, 1);
	build_connect(&p, "MQTT", MQTT_V5, 0x04, 0, NULL, "x", &wprops, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_PAYLOAD_FORMAT_INVALID);
	p_reset(&wprops);
	p_u8(&wprops, PROP_PAYLOAD_FORMAT);
	p_u8(&wprops, 0);
	build_connect(&p, "MQTT", MQTT_V5, 0x04, 0, NULL, "x", &wprops, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
}

static void
test_connect_v5_props_errors(void **state)
{
	static const struct bytes	 msg = B("m");
	struct pkt			 p, props, wprops;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;

	(void)state;
	/* Authentication data needs an authentication method. */
	p_reset(&props);
	p_u8(&props, PROP_AUTH_DATA);
	p_str(&props, "secret");
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* The will delay belongs to the will. */
	p_reset(&props);
	p_u8(&props, PROP_WILL_DELAY);
	p_u32(&props, 5);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* The session expiry does not. */
	p_reset(&wprops);
	p_u8(&wprops, PROP_SESSION_EXPIRY);
	p_u32(&wprops, 5);
	build_connect(&p, "MQTT", MQTT_V5, 0x06, 0, NULL, "x", &wprops, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* Nor a topic alias, in either. */
	p_reset(&props);
	p_u8(&props, PROP_TOPIC_ALIAS);
	p_u16(&props, 1);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	build_connect(&p, "MQTT", MQTT_V5, 0x06, 0, NULL, "x", &props, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* Receive maximum 0, maximum packet size 0. */
	p_reset(&props);
	p_u8(&props, PROP_RECEIVE_MAXIMUM);
	p_u16(&props, 0);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	p_reset(&props);
	p_u8(&props, PROP_MAXIMUM_PACKET_SIZE);
	p_u32(&props, 0);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* A repeated session expiry. */
	p_reset(&props);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 1);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 2);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* The user property limit, in the CONNECT and in its will. */
	mqtt_set_max_user_props(1);
	p_reset(&props);
	p_user(&props, "a", "1");
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), 0);
	p_user(&props, "b", "2");
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, &props, "x", NULL, NULL,
	    NULL, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_QUOTA_EXCEEDED);
	build_connect(&p, "MQTT", MQTT_V5, 0x06, 0, NULL, "x", &props, "w",
	    &msg, NULL, NULL);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_QUOTA_EXCEEDED);
	mqtt_set_max_user_props(DEFAULT_MAX_USER);
	assert_int_equal(connect_decode(&p, &c, &e), 0);

	/* A property block longer than the packet. */
	p_reset(&p);
	p_str(&p, "MQTT");
	p_u8(&p, MQTT_V5);
	p_u8(&p, 0x02);
	p_u16(&p, 0);
	p_u8(&p, 20);
	p_str(&p, "x");
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

/* Every proper prefix of a good CONNECT is malformed. */
static void
check_truncations(const struct pkt *p)
{
	struct mqtt_connect	 c;
	struct mqtt_error	 e;
	size_t			 k;

	assert_int_equal(mqtt_decode_connect(p->b, p->n, &c, &e), 0);
	for (k = 0; k < p->n; k++) {
		memset(&e, 0, sizeof(e));
		if (mqtt_decode_connect(p->b, k, &c, &e) != -1)
			fail_msg("CONNECT cut to %zu of %zu bytes accepted",
			    k, p->n);
		if (e.reason != RC_MALFORMED_PACKET)
			fail_msg("CONNECT cut to %zu bytes: reason %#x", k,
			    e.reason);
	}
}

static void
test_connect_truncations(void **state)
{
	static const struct bytes	 msg = B("payload");
	static const struct bytes	 pass = B("pw");
	struct pkt			 p, props, wprops;

	(void)state;
	build_connect(&p, "MQIsdp", MQTT_V31, 0xc0 | 0x0c | 0x02, 5, NULL,
	    "id31", NULL, "w/31", &msg, "user", &pass);
	check_truncations(&p);
	build_connect(&p, "MQTT", MQTT_V311, 0xc0 | 0x24 | 0x02, 5, NULL,
	    "id311", NULL, "w/311", &msg, "user", &pass);
	check_truncations(&p);
	build_connect(&p, "MQTT", MQTT_V311, 0x02, 5, NULL, "only-id", NULL,
	    NULL, NULL, NULL, NULL);
	check_truncations(&p);

	p_reset(&props);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 10);
	p_user(&props, "k", "v");
	p_reset(&wprops);
	p_u8(&wprops, PROP_WILL_DELAY);
	p_u32(&wprops, 10);
	p_u8(&wprops, PROP_CONTENT_TYPE);
	p_str(&wprops, "ct");
	build_connect(&p, "MQTT", MQTT_V5, 0xc0 | 0x14 | 0x02, 5, &props,
	    "id5", &wprops, "w/5", &msg, "user", &pass);
	check_truncations(&p);
}

static void
test_connect_trailing(void **state)
{
	static const struct bytes	 msg = B("m");
	static const struct bytes	 pass = B("p");
	struct pkt			 p;
	struct mqtt_connect		 c;
	struct mqtt_error		 e;

	(void)state;
	build_connect(&p, "MQIsdp", MQTT_V31, 0x02, 0, NULL, "x", NULL, NULL,
	    NULL, NULL, NULL);
	p_u8(&p, 0);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	build_connect(&p, "MQTT", MQTT_V311, 0xc4, 0, NULL, "x", NULL, "w",
	    &msg, "u", &pass);
	p_u8(&p, 'z');
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	build_connect(&p, "MQTT", MQTT_V5, 0x02, 0, NULL, "x", NULL, NULL,
	    NULL, NULL, NULL);
	p_u16(&p, 0);
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* A user name the flags do not announce is trailing too. */
	build_connect(&p, "MQTT", MQTT_V311, 0x02, 0, NULL, "x", NULL, NULL,
	    NULL, NULL, NULL);
	p_str(&p, "u");
	assert_int_equal(connect_decode(&p, &c, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

/*
 * Properties.
 */

#define K(t)	(1u << MQTT_ ## t)
#define KW	(1u << 16)

/* MQTT 5.0, 2.2.2.2: each property, its type and where it may be. */
enum { T_BYTE, T_TWO, T_FOUR, T_VARINT, T_UTF8, T_BIN, T_PAIR };
static const struct {
	uint8_t		 id;
	int		 type;
	uint32_t	 in;
} spec[] = {
	{ 0x01, T_BYTE,	K(PUBLISH) | KW },
	{ 0x02, T_FOUR,	K(PUBLISH) | KW },
	{ 0x03, T_UTF8,	K(PUBLISH) | KW },
	{ 0x08, T_UTF8,	K(PUBLISH) | KW },
	{ 0x09, T_BIN,	K(PUBLISH) | KW },
	{ 0x0b, T_VARINT, K(PUBLISH) | K(SUBSCRIBE) },
	{ 0x11, T_FOUR,	K(CONNECT) | K(CONNACK) | K(DISCONNECT) },
	{ 0x12, T_UTF8,	K(CONNACK) },
	{ 0x13, T_TWO,	K(CONNACK) },
	{ 0x15, T_UTF8,	K(CONNECT) | K(CONNACK) | K(AUTH) },
	{ 0x16, T_BIN,	K(CONNECT) | K(CONNACK) | K(AUTH) },
	{ 0x17, T_BYTE,	K(CONNECT) },
	{ 0x18, T_FOUR,	KW },
	{ 0x19, T_BYTE,	K(CONNECT) },
	{ 0x1a, T_UTF8,	K(CONNACK) },
	{ 0x1c, T_UTF8,	K(CONNACK) | K(DISCONNECT) },
	{ 0x1f, T_UTF8,	K(CONNACK) | K(PUBACK) | K(PUBREC) | K(PUBREL) |
	    K(PUBCOMP) | K(SUBACK) | K(UNSUBACK) | K(DISCONNECT) | K(AUTH) },
	{ 0x21, T_TWO,	K(CONNECT) | K(CONNACK) },
	{ 0x22, T_TWO,	K(CONNECT) | K(CONNACK) },
	{ 0x23, T_TWO,	K(PUBLISH) },
	{ 0x24, T_BYTE,	K(CONNACK) },
	{ 0x25, T_BYTE,	K(CONNACK) },
	{ 0x26, T_PAIR,	K(CONNECT) | K(CONNACK) | K(PUBLISH) | KW |
	    K(PUBACK) | K(PUBREC) | K(PUBREL) | K(PUBCOMP) | K(SUBSCRIBE) |
	    K(SUBACK) | K(UNSUBSCRIBE) | K(UNSUBACK) | K(DISCONNECT) |
	    K(AUTH) },
	{ 0x27, T_FOUR,	K(CONNECT) | K(CONNACK) },
	{ 0x28, T_BYTE,	K(CONNACK) },
	{ 0x29, T_BYTE,	K(CONNACK) },
	{ 0x2a, T_BYTE,	K(CONNACK) },
};

static const uint32_t	 kinds[] = {
	K(CONNECT), K(CONNACK), K(PUBLISH), K(PUBACK), K(PUBREC), K(PUBREL),
	K(PUBCOMP), K(SUBSCRIBE), K(SUBACK), K(UNSUBSCRIBE), K(UNSUBACK),
	K(PINGREQ), K(PINGRESP), K(DISCONNECT), K(AUTH), KW
};

/* One property with a value every packet allowing it accepts. */
static void
prop_good(struct pkt *p, int i)
{
	p_u8(p, spec[i].id);
	switch (spec[i].type) {
	case T_BYTE:
		p_u8(p, 1);
		break;
	case T_TWO:
		p_u16(p, 7);
		break;
	case T_FOUR:
		p_u32(p, 70000);
		break;
	case T_VARINT:
		p_varint(p, 300);
		break;
	case T_UTF8:
		p_str(p, "r/t");
		break;
	case T_BIN:
		p_bin(p, "\x00\xff", 2);
		break;
	case T_PAIR:
		p_str(p, "name");
		p_str(p, "value");
		break;
	}
}

static void
test_props_where(void **state)
{
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	size_t			 i, k;

	(void)state;
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		p_reset(&prop);
		prop_good(&prop, i);
		one_prop(&blk, &prop);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (spec[i].in & kinds[k]) {
				if (props_decode(&blk, kinds[k], &pr, &e) != 0)
					fail_msg("property %#x refused in "
					    "%#x: %s", spec[i].id, kinds[k],
					    e.why);
				assert_true(PROP_HAS(&pr, spec[i].id));
				assert_int_equal(pr.present,
				    (uint64_t)1 << spec[i].id);
			} else {
				if (props_decode(&blk, kinds[k], &pr, &e) != -1)
					fail_msg("property %#x accepted in "
					    "%#x", spec[i].id, kinds[k]);
				assert_int_equal(e.reason, RC_MALFORMED_PACKET);
			}
		}
	}
}

static void
test_props_unknown(void **state)
{
	static const uint8_t	 ids[] = { 0x00, 0x04, 0x05, 0x06, 0x07, 0x0a,
				    0x0c, 0x10, 0x14, 0x1b, 0x1d, 0x1e, 0x20,
				    0x2b, 0x2c, 0x7f };
	struct pkt		 blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	size_t			 i, k;

	(void)state;
	for (i = 0; i < sizeof(ids); i++)
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			p_reset(&blk);
			p_u8(&blk, 5);
			p_u8(&blk, ids[i]);
			p_u32(&blk, 0);
			assert_int_equal(props_decode(&blk, kinds[k], &pr, &e),
			    -1);
			assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		}
	/* An identifier of two bytes (128), and a malformed one. */
	p_reset(&blk);
	p_u8(&blk, 3);
	p_u8(&blk, 0x80);
	p_u8(&blk, 0x01);
	p_u8(&blk, 0x00);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	p_reset(&blk);
	p_u8(&blk, 5);
	p_bytes(&blk, "\xff\xff\xff\xff\x7f", 5);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

static void
test_props_repeated(void **state)
{
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	size_t			 i, k;
	int			 r;

	(void)state;
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		p_reset(&prop);
		prop_good(&prop, i);
		prop_good(&prop, i);
		one_prop(&blk, &prop);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if ((spec[i].in & kinds[k]) == 0)
				continue;
			r = props_decode(&blk, kinds[k], &pr, &e);
			if (spec[i].id == PROP_USER_PROPERTY ||
			    (spec[i].id == PROP_SUBSCRIPTION_ID &&
			    kinds[k] == K(PUBLISH))) {
				assert_int_equal(r, 0);
				if (spec[i].id == PROP_USER_PROPERTY)
					assert_int_equal(pr.nuser, 2);
			} else {
				if (r != -1)
					fail_msg("property %#x twice in %#x "
					    "accepted", spec[i].id, kinds[k]);
				assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
			}
		}
	}
}

static void
test_props_values(void **state)
{
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;

	(void)state;
	/* Everything a CONNACK can carry. */
	p_reset(&prop);
	p_u8(&prop, PROP_SESSION_EXPIRY);
	p_u32(&prop, 0x01020304);
	p_u8(&prop, PROP_ASSIGNED_CLIENT_ID);
	p_str(&prop, "auto-1");
	p_u8(&prop, PROP_SERVER_KEEP_ALIVE);
	p_u16(&prop, 0x0a0b);
	p_u8(&prop, PROP_AUTH_METHOD);
	p_str(&prop, "m");
	p_u8(&prop, PROP_AUTH_DATA);
	p_bin(&prop, "dd", 2);
	p_u8(&prop, PROP_RESPONSE_INFO);
	p_str(&prop, "ri");
	p_u8(&prop, PROP_SERVER_REFERENCE);
	p_str(&prop, "other:1883");
	p_u8(&prop, PROP_REASON_STRING);
	p_str(&prop, "fine");
	p_u8(&prop, PROP_RECEIVE_MAXIMUM);
	p_u16(&prop, 65535);
	p_u8(&prop, PROP_TOPIC_ALIAS_MAXIMUM);
	p_u16(&prop, 0);
	p_u8(&prop, PROP_MAXIMUM_QOS);
	p_u8(&prop, 1);
	p_u8(&prop, PROP_RETAIN_AVAILABLE);
	p_u8(&prop, 0);
	p_user(&prop, "u", "v");
	p_u8(&prop, PROP_MAXIMUM_PACKET_SIZE);
	p_u32(&prop, 0xffffffff);
	p_u8(&prop, PROP_WILDCARD_SUB_AVAILABLE);
	p_u8(&prop, 1);
	p_u8(&prop, PROP_SUB_ID_AVAILABLE);
	p_u8(&prop, 0);
	p_u8(&prop, PROP_SHARED_SUB_AVAILABLE);
	p_u8(&prop, 1);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(CONNACK), &pr, &e), 0);
	assert_int_equal(pr.session_expiry, 0x01020304);
	assert_str(&pr.assigned_client_id, "auto-1");
	assert_int_equal(pr.server_keep_alive, 0x0a0b);
	assert_str(&pr.auth_method, "m");
	assert_str(&pr.auth_data, "dd");
	assert_str(&pr.response_info, "ri");
	assert_str(&pr.server_reference, "other:1883");
	assert_str(&pr.reason_string, "fine");
	assert_int_equal(pr.receive_maximum, 65535);
	assert_true(PROP_HAS(&pr, PROP_TOPIC_ALIAS_MAXIMUM));
	assert_int_equal(pr.topic_alias_maximum, 0);
	assert_int_equal(pr.maximum_qos, 1);
	assert_true(PROP_HAS(&pr, PROP_RETAIN_AVAILABLE));
	assert_int_equal(pr.retain_available, 0);
	assert_int_equal(pr.nuser, 1);
	assert_int_equal(pr.maximum_packet_size, 0xffffffff);
	assert_int_equal(pr.wildcard_sub_available, 1);
	assert_int_equal(pr.sub_id_available, 0);
	assert_int_equal(pr.shared_sub_available, 1);
	assert_ptr_equal(pr.block.p, blk.b + 1);
	assert_int_equal(pr.block.len, prop.n);

	/* Everything a PUBLISH can carry. */
	p_reset(&prop);
	p_u8(&prop, PROP_PAYLOAD_FORMAT);
	p_u8(&prop, 1);
	p_u8(&prop, PROP_MESSAGE_EXPIRY);
	p_u32(&prop, 86400);
	p_u8(&prop, PROP_CONTENT_TYPE);
	p_str(&prop, "application/json");
	p_u8(&prop, PROP_RESPONSE_TOPIC);
	p_str(&prop, "resp/1");
	p_u8(&prop, PROP_CORRELATION_DATA);
	p_bin(&prop, "\x00\x01\x02", 3);
	p_u8(&prop, PROP_SUBSCRIPTION_ID);
	p_varint(&prop, MQTT_MAX_VARINT);
	p_u8(&prop, PROP_TOPIC_ALIAS);
	p_u16(&prop, 65535);
	p_user(&prop, "a", "");
	p_user(&prop, "", "b");
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);
	assert_int_equal(pr.payload_format, 1);
	assert_int_equal(pr.message_expiry, 86400);
	assert_str(&pr.content_type, "application/json");
	assert_str(&pr.response_topic, "resp/1");
	assert_int_equal(pr.correlation_data.len, 3);
	assert_int_equal(pr.sub_id, MQTT_MAX_VARINT);
	assert_int_equal(pr.topic_alias, 65535);
	assert_int_equal(pr.nuser, 2);

	/* CONNECT's own. */
	p_reset(&prop);
	p_u8(&prop, PROP_REQUEST_PROBLEM_INFO);
	p_u8(&prop, 0);
	p_u8(&prop, PROP_REQUEST_RESPONSE_INFO);
	p_u8(&prop, 1);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(CONNECT), &pr, &e), 0);
	assert_int_equal(pr.request_problem_info, 0);
	assert_int_equal(pr.request_response_info, 1);

	/* The will's own. */
	p_reset(&prop);
	p_u8(&prop, PROP_WILL_DELAY);
	p_u32(&prop, 0xfffffffe);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, KW, &pr, &e), 0);
	assert_int_equal(pr.will_delay, 0xfffffffe);

	/* No properties at all. */
	p_reset(&blk);
	p_u8(&blk, 0);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);
	assert_int_equal(pr.present, 0);
	assert_int_equal(pr.block.len, 0);
}

static void
test_props_ranges(void **state)
{
	static const uint8_t	 bytes[] = { PROP_PAYLOAD_FORMAT,
				    PROP_REQUEST_PROBLEM_INFO,
				    PROP_REQUEST_RESPONSE_INFO,
				    PROP_MAXIMUM_QOS, PROP_RETAIN_AVAILABLE,
				    PROP_WILDCARD_SUB_AVAILABLE,
				    PROP_SUB_ID_AVAILABLE,
				    PROP_SHARED_SUB_AVAILABLE };
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	uint32_t		 where;
	size_t			 i;
	unsigned int		 v;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++) {
		where = bytes[i] == PROP_PAYLOAD_FORMAT ? K(PUBLISH) :
		    bytes[i] == PROP_REQUEST_PROBLEM_INFO ||
		    bytes[i] == PROP_REQUEST_RESPONSE_INFO ? K(CONNECT) :
		    K(CONNACK);
		for (v = 0; v < 256; v++) {
			p_reset(&prop);
			p_u8(&prop, bytes[i]);
			p_u8(&prop, v);
			one_prop(&blk, &prop);
			if (v <= 1)
				assert_int_equal(props_decode(&blk, where, &pr,
				    &e), 0);
			else {
				assert_int_equal(props_decode(&blk, where, &pr,
				    &e), -1);
				assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
			}
		}
	}

	/* Receive maximum 0. */
	p_reset(&prop);
	p_u8(&prop, PROP_RECEIVE_MAXIMUM);
	p_u16(&prop, 0);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(CONNECT), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	assert_int_equal(props_decode(&blk, K(CONNACK), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* Maximum packet size 0. */
	p_reset(&prop);
	p_u8(&prop, PROP_MAXIMUM_PACKET_SIZE);
	p_u32(&prop, 0);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(CONNECT), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* Topic alias 0. */
	p_reset(&prop);
	p_u8(&prop, PROP_TOPIC_ALIAS);
	p_u16(&prop, 0);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_TOPIC_ALIAS_INVALID);

	/* Subscription identifier 0, and one of five bytes. */
	p_reset(&prop);
	p_u8(&prop, PROP_SUBSCRIPTION_ID);
	p_u8(&prop, 0);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(SUBSCRIBE), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	p_reset(&prop);
	p_u8(&prop, PROP_SUBSCRIPTION_ID);
	p_bytes(&prop, "\x80\x80\x80\x80\x01", 5);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(SUBSCRIBE), &pr, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* A response topic is a topic name: no wildcards. */
	p_reset(&prop);
	p_u8(&prop, PROP_RESPONSE_TOPIC);
	p_str(&prop, "a/+");
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	p_reset(&prop);
	p_u8(&prop, PROP_RESPONSE_TOPIC);
	p_str(&prop, "");
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, KW, &pr, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
}

static void
test_props_strings(void **state)
{
	static const uint8_t	 utf8[] = { PROP_CONTENT_TYPE,
				    PROP_RESPONSE_TOPIC, PROP_REASON_STRING,
				    PROP_AUTH_METHOD, PROP_ASSIGNED_CLIENT_ID,
				    PROP_RESPONSE_INFO, PROP_SERVER_REFERENCE };
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	size_t			 i;

	(void)state;
	/* Strings must be UTF-8; binary data need not be. */
	for (i = 0; i < sizeof(utf8); i++) {
		p_reset(&prop);
		p_u8(&prop, utf8[i]);
		p_bin(&prop, "a\xc0\x80", 3);
		one_prop(&blk, &prop);
		assert_int_equal(props_decode(&blk, K(CONNECT) | K(CONNACK) |
		    K(PUBLISH), &pr, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	}
	p_reset(&prop);
	p_u8(&prop, PROP_CORRELATION_DATA);
	p_bin(&prop, "a\xc0\x80", 3);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);
	p_reset(&prop);
	p_u8(&prop, PROP_AUTH_DATA);
	p_bin(&prop, "\x00", 1);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(AUTH), &pr, &e), 0);

	/* Both halves of a user property. */
	p_reset(&prop);
	p_u8(&prop, PROP_USER_PROPERTY);
	p_bin(&prop, "\xed\xa0\x80", 3);
	p_str(&prop, "v");
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	p_reset(&prop);
	p_u8(&prop, PROP_USER_PROPERTY);
	p_str(&prop, "k");
	p_bin(&prop, "\x00", 1);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

static void
test_props_lengths(void **state)
{
	struct pkt		 blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	size_t			 used;
	size_t			 i;
	static const struct {
		const char	*b;
		size_t		 n;
	} cut[] = {
		/* Each value ends past the block. */
		{ "\x01\x01", 2 },
		{ "\x02\x02\x00", 3 },
		{ "\x04\x02\x00\x00\x00", 5 },
		{ "\x02\x23\x00", 3 },
		{ "\x01\x0b", 2 },
		{ "\x02\x0b\x80", 3 },
		{ "\x03\x03\x00\x05", 4 },
		{ "\x04\x03\x00\x02\x61", 5 },
		{ "\x01\x09", 2 },
		{ "\x04\x26\x00\x01\x6b", 5 },
		{ "\x06\x26\x00\x01\x6b\x00\x02", 7 },
		/* The block's length past the end of the packet. */
		{ "\x05\x01\x01", 3 },
		{ "\x80\x01", 2 },
		/* The block's own length malformed or missing. */
		{ "\xff\xff\xff\xff\x7f", 5 },
		{ "\x80", 1 },
		{ "", 0 },
	};

	(void)state;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (mqtt_decode_props((const uint8_t *)cut[i].b, cut[i].n,
		    K(PUBLISH), &pr, &used, 64, &e) != -1)
			fail_msg("cut property block %zu accepted", i);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	}

	/* What follows the block is not the block's. */
	p_reset(&blk);
	p_u8(&blk, 2);
	p_u8(&blk, PROP_PAYLOAD_FORMAT);
	p_u8(&blk, 0);
	p_bytes(&blk, "payload", 7);
	assert_int_equal(mqtt_decode_props(blk.b, blk.n, K(PUBLISH), &pr,
	    &used, 64, &e), 0);
	assert_int_equal(used, 3);
	assert_int_equal(pr.block.len, 2);

	/* A block of 200 bytes has a two-byte length. */
	p_reset(&blk);
	p_varint(&blk, 200);
	for (i = 0; i < 40; i++) {
		p_u8(&blk, PROP_USER_PROPERTY);
		p_u16(&blk, 0);
		p_u16(&blk, 0);
	}
	assert_int_equal(mqtt_decode_props(blk.b, blk.n, K(PUBLISH), &pr,
	    &used, 64, &e), 0);
	assert_int_equal(used, 202);
	assert_int_equal(pr.nuser, 40);
}

static void
test_props_user_limit(void **state)
{
	struct pkt		 prop, blk, p;
	struct mqtt_props	 pr;
	struct mqtt_publish	 m;
	struct mqtt_error	 e;
	size_t			 used;
	int			 i;

	(void)state;
	p_reset(&prop);
	for (i = 0; i < 3; i++)
		p_user(&prop, "k", "v");
	one_prop(&blk, &prop);
	assert_int_equal(mqtt_decode_props(blk.b, blk.n, K(PUBLISH), &pr,
	    &used, 3, &e), 0);
	assert_int_equal(pr.nuser, 3);
	assert_int_equal(mqtt_decode_props(blk.b, blk.n, K(PUBLISH), &pr,
	    &used, 2, &e), -1);
	assert_int_equal(e.reason, RC_QUOTA_EXCEEDED);
	assert_int_equal(mqtt_decode_props(blk.b, blk.n, K(PUBLISH), &pr,
	    &used, 0, &e), -1);
	assert_int_equal(e.reason, RC_QUOTA_EXCEEDED);

	/* The limit the packet decoders use. */
	p_reset(&p);
	p_str(&p, "t");
	p_props(&p, &prop);
	mqtt_set_max_user_props(2);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_QUOTA_EXCEEDED);
	mqtt_set_max_user_props(3);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), 0);
	assert_int_equal(m.props.nuser, 3);
	mqtt_set_max_user_props(DEFAULT_MAX_USER);
}

/*
 * PUBLISH.
 */

static void
build_publish(struct pkt *p, const char *topic, uint8_t qos, uint16_t pid,
    int v5, const struct pkt *props, const char *payload)
{
	p_reset(p);
	p_str(p, topic);
	if (qos > 0)
		p_u16(p, pid);
	if (v5) {
		if (props != NULL)
			p_props(p, props);
		else
			p_u8(p, 0);
	}
	p_bytes(p, payload, strlen(payload));
}

static void
test_publish_qos(void **state)
{
	struct pkt		 p;
	struct mqtt_publish	 m;
	struct mqtt_error	 e;
	int			 v5;
	uint8_t			 qos;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++) {
		build_publish(&p, "a/b", 0, 0, v5, NULL, "hello");
		assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, v5, &m,
		    &e), 0);
		assert_int_equal(m.qos, 0);
		assert_int_equal(m.dup, 0);
		assert_int_equal(m.retain, 0);
		assert_int_equal(m.packet_id, 0);
		assert_str(&m.topic, "a/b");
		assert_str(&m.payload, "hello");

		for (qos = 1; qos <= 2; qos++) {
			build_publish(&p, "x", qos, 0x1234, v5, NULL, "pl");
			assert_int_equal(mqtt_decode_publish(0x30 | qos << 1,
			    p.b, p.n, v5, &m, &e), 0);
			assert_int_equal(m.qos, qos);
			assert_int_equal(m.packet_id, 0x1234);
			assert_str(&m.payload, "pl");
			/* DUP and RETAIN. */
			assert_int_equal(mqtt_decode_publish(0x39 | qos << 1,
			    p.b, p.n, v5, &m, &e), 0);
			assert_int_equal(m.dup, 1);
			assert_int_equal(m.retain, 1);
			/* Packet identifier 0. */
			build_publish(&p, "x", qos, 0, v5, NULL, "pl");
			assert_int_equal(mqtt_decode_publish(0x30 | qos << 1,
			    p.b, p.n, v5, &m, &e), -1);
			assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
			/* Packet identifier cut. */
			p_reset(&p);
			p_str(&p, "x");
			p_u8(&p, 1);
			assert_int_equal(mqtt_decode_publish(0x30 | qos << 1,
			    p.b, p.n, v5, &m, &e), -1);
			assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		}

		/* An empty payload, retained. */
		build_publish(&p, "r", 0, 0, v5, NULL, "");
		assert_int_equal(mqtt_decode_publish(0x31, p.b, p.n, v5, &m,
		    &e), 0);
		assert_int_equal(m.retain, 1);
		assert_int_equal(m.payload.len, 0);

		/* DUP on QoS 0, QoS 3. */
		build_publish(&p, "x", 0, 0, v5, NULL, "");
		assert_int_equal(mqtt_decode_publish(0x38, p.b, p.n, v5, &m,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		build_publish(&p, "x", 1, 1, v5, NULL, "");
		assert_int_equal(mqtt_decode_publish(0x36, p.b, p.n, v5, &m,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_publish(0x3f, p.b, p.n, v5, &m,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	}
}

static void
test_publish_topic(void **state)
{
	struct pkt		 p, props;
	struct mqtt_publish	 m;
	struct mqtt_error	 e;

	(void)state;
	/* Zero length: an error before MQTT 5, a topic alias after. */
	build_publish(&p, "", 0, 0, 0, NULL, "x");
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 0, &m, &e), -1);
	assert_int_equal(e.reason, RC_TOPIC_NAME_INVALID);
	p_reset(&props);
	p_u8(&props, PROP_TOPIC_ALIAS);
	p_u16(&props, 3);
	build_publish(&p, "", 1, 9, 1, &props, "x");
	assert_int_equal(mqtt_decode_publish(0x32, p.b, p.n, 1, &m, &e), 0);
	assert_int_equal(m.topic.len, 0);
	assert_int_equal(m.props.topic_alias, 3);
	assert_str(&m.payload, "x");

	/* Not UTF-8. */
	p_reset(&p);
	p_bin(&p, "a\xff", 2);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 0, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	p_reset(&p);
	p_bin(&p, "a\x00", 2);
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* Cut in the topic. */
	p_reset(&p);
	p_u16(&p, 10);
	p_bytes(&p, "abc", 3);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 0, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, 1, 0, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, 0, 0, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

static void
test_publish_v5_props(void **state)
{
	struct pkt		 p, props;
	struct mqtt_publish	 m;
	struct mqtt_error	 e;

	(void)state;
	p_reset(&props);
	p_u8(&props, PROP_MESSAGE_EXPIRY);
	p_u32(&props, 30);
	p_u8(&props, PROP_CONTENT_TYPE);
	p_str(&props, "text/plain");
	p_user(&props, "k", "v");
	build_publish(&p, "t", 2, 77, 1, &props, "body");
	assert_int_equal(mqtt_decode_publish(0x34, p.b, p.n, 1, &m, &e), 0);
	assert_int_equal(m.props.message_expiry, 30);
	assert_str(&m.props.content_type, "text/plain");
	assert_int_equal(m.props.block.len, props.n);
	assert_str(&m.payload, "body");

	/* The same bytes before MQTT 5: the properties are payload. */
	assert_int_equal(mqtt_decode_publish(0x34, p.b, p.n, 0, &m, &e), 0);
	assert_int_equal(m.payload.len, 1 + props.n + 4);
	assert_int_equal(m.props.present, 0);

	/* A subscription identifier is for the server to send. */
	p_reset(&props);
	p_u8(&props, PROP_SUBSCRIPTION_ID);
	p_u8(&props, 1);
	build_publish(&p, "t", 0, 0, 1, &props, "");
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

	/* A property PUBLISH may not carry. */
	p_reset(&props);
	p_u8(&props, PROP_REASON_STRING);
	p_str(&props, "r");
	build_publish(&p, "t", 0, 0, 1, &props, "");
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* Topic alias 0. */
	p_reset(&props);
	p_u8(&props, PROP_TOPIC_ALIAS);
	p_u16(&props, 0);
	build_publish(&p, "t", 0, 0, 1, &props, "");
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_TOPIC_ALIAS_INVALID);

	/* No property length at all. */
	p_reset(&p);
	p_str(&p, "t");
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* A property length past the end. */
	p_u8(&p, 9);
	p_u8(&p, PROP_PAYLOAD_FORMAT);
	assert_int_equal(mqtt_decode_publish(0x30, p.b, p.n, 1, &m, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP.
 */

static void
test_ack_decode(void **state)
{
	static const uint8_t	 types[] = { MQTT_PUBACK, MQTT_PUBREC,
				    MQTT_PUBREL, MQTT_PUBCOMP };
	struct pkt		 p, props;
	struct mqtt_ack		 a;
	struct mqtt_error	 e;
	uint8_t			 first, bad;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		first = types[i] << 4 | (types[i] == MQTT_PUBREL ? 2 : 0);
		bad = types[i] << 4 | (types[i] == MQTT_PUBREL ? 0 : 2);

		/* MQTT 3: exactly a packet identifier. */
		p_reset(&p);
		p_u16(&p, 0xbeef);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 0, &a, &e),
		    0);
		assert_int_equal(a.packet_id, 0xbeef);
		assert_int_equal(a.reason, 0);
		assert_int_equal(mqtt_decode_ack(bad, p.b, p.n, 0, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_ack(first | 0x08, p.b, p.n, 1, &a,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_ack(first, p.b, 1, 0, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_ack(first, p.b, 0, 1, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		p_u8(&p, 0);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 0, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* MQTT 5: the reason code may be left out ... */
		p_reset(&p);
		p_u16(&p, 7);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    0);
		assert_int_equal(a.packet_id, 7);
		assert_int_equal(a.reason, RC_SUCCESS);
		/* ... and the properties with it, or alone. */
		p_u8(&p, 0x92);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    0);
		assert_int_equal(a.reason, 0x92);
		assert_int_equal(a.props.present, 0);
		p_u8(&p, 0);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    0);
		assert_int_equal(a.reason, 0x92);

		p_reset(&props);
		p_u8(&props, PROP_REASON_STRING);
		p_str(&props, "nope");
		p_user(&props, "k", "v");
		p_reset(&p);
		p_u16(&p, 8);
		p_u8(&p, 0x80);
		p_props(&p, &props);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    0);
		assert_int_equal(a.packet_id, 8);
		assert_int_equal(a.reason, 0x80);
		assert_str(&a.props.reason_string, "nope");
		assert_int_equal(a.props.nuser, 1);
		/* Nothing after the properties. */
		p_u8(&p, 0);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* A property an acknowledgement may not carry. */
		p_reset(&props);
		p_u8(&props, PROP_SESSION_EXPIRY);
		p_u32(&props, 1);
		p_reset(&p);
		p_u16(&p, 8);
		p_u8(&p, 0);
		p_props(&p, &props);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* A property length past the end. */
		p_reset(&p);
		p_u16(&p, 8);
		p_u8(&p, 0);
		p_u8(&p, 4);
		p_u8(&p, PROP_REASON_STRING);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* Packet identifier 0. */
		p_reset(&p);
		p_u16(&p, 0);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 0, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
		assert_int_equal(mqtt_decode_ack(first, p.b, p.n, 1, &a, &e),
		    -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	}
}

/*
 * SUBSCRIBE and UNSUBSCRIBE.
 */

static void
test_subscribe_decode(void **state)
{
	struct pkt		 p, props;
	struct mqtt_subscribe	 s;
	struct mqtt_sub_entry	 se;
	struct mqtt_error	 e;
	struct mqtt_str		 cur;

	(void)state;
	/* MQTT 3.1.1: three filters, QoS 0, 1, 2. */
	p_reset(&p);
	p_u16(&p, 10);
	p_str(&p, "a/b");
	p_u8(&p, 0);
	p_str(&p, "c/#");
	p_u8(&p, 1);
	p_str(&p, "$share/g/+");
	p_u8(&p, 2);
	assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, 0, &s, &e), 0);
	assert_int_equal(s.packet_id, 10);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.list.len, p.n - 2);
	cur = s.list;
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 1);
	assert_str(&se.filter, "a/b");
	assert_int_equal(se.options, 0);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 1);
	assert_str(&se.filter, "c/#");
	assert_int_equal(se.options, 1);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 1);
	assert_str(&se.filter, "$share/g/+");
	assert_int_equal(se.options, 2);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 0);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 0);

	/* MQTT 5: properties and every option. */
	p_reset(&props);
	p_u8(&props, PROP_SUBSCRIPTION_ID);
	p_varint(&props, 16384);
	p_user(&props, "k", "v");
	p_reset(&p);
	p_u16(&p, 11);
	p_props(&p, &props);
	p_str(&p, "x");
	p_u8(&p, 0x2e);	/* RH 2, RAP, no local, QoS 2 */
	p_str(&p, "y");
	p_u8(&p, 0x11);	/* RH 1, QoS 1 */
	assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, 1, &s, &e), 0);
	assert_int_equal(s.packet_id, 11);
	assert_int_equal(s.props.sub_id, 16384);
	assert_int_equal(s.props.nuser, 1);
	assert_int_equal(s.count, 2);
	cur = s.list;
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 1);
	assert_str(&se.filter, "x");
	assert_int_equal(SUBOPT_QOS(se.options), 2);
	assert_true(se.options & SUBOPT_NO_LOCAL);
	assert_true(se.options & SUBOPT_RAP);
	assert_int_equal(SUBOPT_RH(se.options), 2);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 1);
	assert_int_equal(SUBOPT_QOS(se.options), 1);
	assert_int_equal(SUBOPT_RH(se.options), 1);
	assert_false(se.options & SUBOPT_NO_LOCAL);
	assert_int_equal(mqtt_sub_next(&cur, 1, &se), 0);
}

/* A SUBSCRIBE of one filter with `opts'. */
static int
sub_one(uint8_t opts, int v5, struct mqtt_error *e)
{
	struct pkt		 p;
	struct mqtt_subscribe	 s;

	p_reset(&p);
	p_u16(&p, 1);
	if (v5)
		p_u8(&p, 0);
	p_str(&p, "f");
	p_u8(&p, opts);
	return mqtt_decode_subscribe(0x82, p.b, p.n, v5, &s, e);
}

static void
test_subscribe_options(void **state)
{
	struct mqtt_error	 e;
	unsigned int		 o;
	int			 v5, ok;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++)
		for (o = 0; o < 256; o++) {
			if (v5)
				ok = (o & 0x03) != 3 && (o & 0xc0) == 0 &&
				    ((o >> 4) & 3) != 3;
			else
				ok = o <= 2;
			memset(&e, 0, sizeof(e));
			if (sub_one(o, v5, &e) != (ok ? 0 : -1))
				fail_msg("options %#x (v5 %d): expected %s",
				    o, v5, ok ? "ok" : "error");
			if (!ok)
				assert_int_equal(e.reason,
				    v5 && (o & 0xc0) == 0 ? RC_PROTOCOL_ERROR :
				    RC_MALFORMED_PACKET);
		}
}

static void
test_subscribe_errors(void **state)
{
	struct pkt		 p, props;
	struct mqtt_subscribe	 s;
	struct mqtt_error	 e;
	int			 v5;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++) {
		p_reset(&p);
		p_u16(&p, 1);
		if (v5)
			p_u8(&p, 0);
		p_str(&p, "f");
		p_u8(&p, 1);
		/* The flags must be 0010. */
		assert_int_equal(mqtt_decode_subscribe(0x80, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_subscribe(0x83, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_subscribe(0x8a, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, v5, &s,
		    &e), 0);
		/* The options byte missing. */
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n - 1, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		/* The filter cut. */
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n - 2, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);

		/* No payload. */
		p_reset(&p);
		p_u16(&p, 1);
		if (v5)
			p_u8(&p, 0);
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
		/* Packet identifier cut, and 0. */
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, 1, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		p_reset(&p);
		p_u16(&p, 0);
		if (v5)
			p_u8(&p, 0);
		p_str(&p, "f");
		p_u8(&p, 0);
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);

		/* A filter that is not UTF-8. */
		p_reset(&p);
		p_u16(&p, 1);
		if (v5)
			p_u8(&p, 0);
		p_bin(&p, "\xc0\x80", 2);
		p_u8(&p, 0);
		assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, v5, &s,
		    &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	}

	/* MQTT 5 properties: one subscription identifier, no alias. */
	p_reset(&props);
	p_u8(&props, PROP_SUBSCRIPTION_ID);
	p_u8(&props, 1);
	p_u8(&props, PROP_SUBSCRIPTION_ID);
	p_u8(&props, 2);
	p_reset(&p);
	p_u16(&p, 1);
	p_props(&p, &props);
	p_str(&p, "f");
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, 1, &s, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	p_reset(&props);
	p_u8(&props, PROP_TOPIC_ALIAS);
	p_u16(&props, 1);
	p_reset(&p);
	p_u16(&p, 1);
	p_props(&p, &props);
	p_str(&p, "f");
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, 1, &s, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* Properties cut. */
	p_reset(&p);
	p_u16(&p, 1);
	p_u8(&p, 50);
	p_str(&p, "f");
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_subscribe(0x82, p.b, p.n, 1, &s, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

static void
test_unsubscribe_decode(void **state)
{
	struct pkt		 p, props;
	struct mqtt_subscribe	 s;
	struct mqtt_sub_entry	 se;
	struct mqtt_error	 e;
	struct mqtt_str		 cur;
	int			 v5;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++) {
		p_reset(&p);
		p_u16(&p, 300);
		if (v5) {
			p_reset(&props);
			p_user(&props, "k", "v");
			p_props(&p, &props);
		}
		p_str(&p, "a/+");
		p_str(&p, "c");
		p_str(&p, "$share/g/#");
		assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n, v5,
		    &s, &e), 0);
		assert_int_equal(s.packet_id, 300);
		assert_int_equal(s.count, 3);
		if (v5)
			assert_int_equal(s.props.nuser, 1);
		cur = s.list;
		se.options = 0xff;
		assert_int_equal(mqtt_unsub_next(&cur, &se), 1);
		assert_str(&se.filter, "a/+");
		assert_int_equal(se.options, 0);
		assert_int_equal(mqtt_unsub_next(&cur, &se), 1);
		assert_str(&se.filter, "c");
		assert_int_equal(mqtt_unsub_next(&cur, &se), 1);
		assert_str(&se.filter, "$share/g/#");
		assert_int_equal(mqtt_unsub_next(&cur, &se), 0);

		/* Flags, a cut filter, no filter, packet identifier 0. */
		assert_int_equal(mqtt_decode_unsubscribe(0xa0, p.b, p.n, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n - 1,
		    v5, &s, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		p_reset(&p);
		p_u16(&p, 1);
		if (v5)
			p_u8(&p, 0);
		assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
		p_reset(&p);
		p_u16(&p, 0);
		if (v5)
			p_u8(&p, 0);
		p_str(&p, "f");
		assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
		/* Not UTF-8. */
		p_reset(&p);
		p_u16(&p, 1);
		if (v5)
			p_u8(&p, 0);
		p_bin(&p, "\xed\xa0\x80", 3);
		assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n, v5,
		    &s, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	}

	/* A subscription identifier is not for UNSUBSCRIBE. */
	p_reset(&props);
	p_u8(&props, PROP_SUBSCRIPTION_ID);
	p_u8(&props, 1);
	p_reset(&p);
	p_u16(&p, 1);
	p_props(&p, &props);
	p_str(&p, "f");
	assert_int_equal(mqtt_decode_unsubscribe(0xa2, p.b, p.n, 1, &s, &e),
	    -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

/*
 * DISCONNECT and AUTH.
 */

static void
test_disconnect_decode(void **state)
{
	struct pkt		 p, props;
	struct mqtt_disconnect	 d;
	struct mqtt_error	 e;

	(void)state;
	assert_int_equal(mqtt_decode_disconnect(0xe0, NULL, 0, 0, &d, &e), 0);
	assert_int_equal(d.reason, 0);
	assert_int_equal(mqtt_decode_disconnect(0xe1, NULL, 0, 0, &d, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	assert_int_equal(mqtt_decode_disconnect(0xe8, NULL, 0, 1, &d, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	p_reset(&p);
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 0, &d, &e),
	    -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* MQTT 5: nothing, a reason, a reason and properties. */
	assert_int_equal(mqtt_decode_disconnect(0xe0, NULL, 0, 1, &d, &e), 0);
	assert_int_equal(d.reason, RC_SUCCESS);
	p_reset(&p);
	p_u8(&p, RC_DISCONNECT_WITH_WILL);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e), 0);
	assert_int_equal(d.reason, RC_DISCONNECT_WITH_WILL);
	p_reset(&props);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 99);
	p_u8(&props, PROP_REASON_STRING);
	p_str(&props, "bye");
	p_user(&props, "k", "v");
	p_reset(&p);
	p_u8(&p, 0x80);
	p_props(&p, &props);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e), 0);
	assert_int_equal(d.reason, 0x80);
	assert_int_equal(d.props.session_expiry, 99);
	assert_str(&d.props.reason_string, "bye");
	assert_int_equal(d.props.nuser, 1);
	/* Trailing bytes. */
	p_u8(&p, 1);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e),
	    -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* A server reference is for the server to send. */
	p_reset(&props);
	p_u8(&props, PROP_SERVER_REFERENCE);
	p_str(&props, "elsewhere");
	p_reset(&p);
	p_u8(&p, 0);
	p_props(&p, &props);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e),
	    -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	/* Not a DISCONNECT property. */
	p_reset(&props);
	p_u8(&props, PROP_RECEIVE_MAXIMUM);
	p_u16(&props, 1);
	p_reset(&p);
	p_u8(&p, 0);
	p_props(&p, &props);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e),
	    -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
	/* Property length past the end. */
	p_reset(&p);
	p_u8(&p, 0);
	p_u8(&p, 3);
	assert_int_equal(mqtt_decode_disconnect(0xe0, p.b, p.n, 1, &d, &e),
	    -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

static void
test_auth_decode(void **state)
{
	struct pkt		 p, props;
	struct mqtt_auth	 a;
	struct mqtt_error	 e;
	unsigned int		 rc;

	(void)state;
	assert_int_equal(mqtt_decode_auth(0xf0, NULL, 0, &a, &e), 0);
	assert_int_equal(a.reason, RC_SUCCESS);
	assert_int_equal(mqtt_decode_auth(0xf1, NULL, 0, &a, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	p_reset(&props);
	p_u8(&props, PROP_AUTH_METHOD);
	p_str(&props, "SCRAM-SHA-256");
	p_u8(&props, PROP_AUTH_DATA);
	p_bin(&props, "\x01\x02", 2);
	p_u8(&props, PROP_REASON_STRING);
	p_str(&props, "more");
	p_user(&props, "k", "v");
	p_reset(&p);
	p_u8(&p, RC_CONTINUE_AUTHENTICATION);
	p_props(&p, &props);
	assert_int_equal(mqtt_decode_auth(0xf0, p.b, p.n, &a, &e), 0);
	assert_int_equal(a.reason, RC_CONTINUE_AUTHENTICATION);
	assert_str(&a.props.auth_method, "SCRAM-SHA-256");
	assert_int_equal(a.props.auth_data.len, 2);
	assert_str(&a.props.reason_string, "more");
	assert_int_equal(a.props.nuser, 1);
	p_u8(&p, 0);
	assert_int_equal(mqtt_decode_auth(0xf0, p.b, p.n, &a, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);

	/* Only three reason codes. */
	for (rc = 0; rc < 256; rc++) {
		p_reset(&p);
		p_u8(&p, rc);
		if (rc == RC_SUCCESS || rc == RC_CONTINUE_AUTHENTICATION ||
		    rc == RC_REAUTHENTICATE) {
			assert_int_equal(mqtt_decode_auth(0xf0, p.b, p.n, &a,
			    &e), 0);
			assert_int_equal(a.reason, rc);
		} else {
			assert_int_equal(mqtt_decode_auth(0xf0, p.b, p.n, &a,
			    &e), -1);
			assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
		}
	}

	/* Not an AUTH property. */
	p_reset(&props);
	p_u8(&props, PROP_SESSION_EXPIRY);
	p_u32(&props, 1);
	p_reset(&p);
	p_u8(&p, RC_REAUTHENTICATE);
	p_props(&p, &props);
	assert_int_equal(mqtt_decode_auth(0xf0, p.b, p.n, &a, &e), -1);
	assert_int_equal(e.reason, RC_MALFORMED_PACKET);
}

/*
 * Walking and rewriting property blocks.
 */

static void
test_user_props_counted(void **state)
{
	struct pkt		 prop, blk;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;

	(void)state;
	p_reset(&prop);
	p_u8(&prop, PROP_CONTENT_TYPE);
	p_str(&prop, "ct");
	p_user(&prop, "first", "1");
	p_u8(&prop, PROP_MESSAGE_EXPIRY);
	p_u32(&prop, 5);
	p_u8(&prop, PROP_SUBSCRIPTION_ID);
	p_varint(&prop, 200000);
	p_user(&prop, "second", "");
	p_u8(&prop, PROP_CORRELATION_DATA);
	p_bin(&prop, "\x26\x00\x01", 3);	/* looks like a user prop */
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);

	/* The correlation data that looks like one is not one. */
	assert_int_equal(pr.nuser, 2);

	/* None. */
	p_reset(&prop);
	p_u8(&prop, PROP_PAYLOAD_FORMAT);
	p_u8(&prop, 0);
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);
	assert_int_equal(pr.nuser, 0);
}

static void
test_props_strip(void **state)
{
	struct pkt		 prop, blk, want;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	uint8_t			 out[256];
	size_t			 n;

	(void)state;
	p_reset(&prop);
	p_u8(&prop, PROP_TOPIC_ALIAS);
	p_u16(&prop, 4);
	p_user(&prop, "k", "v");
	p_u8(&prop, PROP_MESSAGE_EXPIRY);
	p_u32(&prop, 10);
	p_u8(&prop, PROP_CONTENT_TYPE);
	p_str(&prop, "ct");
	p_u8(&prop, PROP_SUBSCRIPTION_ID);
	p_varint(&prop, 128);
	p_user(&prop, "k2", "v2");
	one_prop(&blk, &prop);
	assert_int_equal(props_decode(&blk, K(PUBLISH), &pr, &e), 0);

	/* Nothing left out: the same bytes. */
	memset(out, 0, sizeof(out));
	n = mqtt_props_strip(&pr.block, 0, out);
	assert_int_equal(n, prop.n);
	assert_memory_equal(out, prop.b, n);

	/* The alias and the expiry left out, the rest in order. */
	p_reset(&want);
	p_user(&want, "k", "v");
	p_u8(&want, PROP_CONTENT_TYPE);
	p_str(&want, "ct");
	p_u8(&want, PROP_SUBSCRIPTION_ID);
	p_varint(&want, 128);
	p_user(&want, "k2", "v2");
	memset(out, 0, sizeof(out));
	n = mqtt_props_strip(&pr.block, (1ULL << PROP_TOPIC_ALIAS) |
	    (1ULL << PROP_MESSAGE_EXPIRY), out);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.b, n);

	/* Every user property out. */
	p_reset(&want);
	p_u8(&want, PROP_TOPIC_ALIAS);
	p_u16(&want, 4);
	p_u8(&want, PROP_MESSAGE_EXPIRY);
	p_u32(&want, 10);
	p_u8(&want, PROP_CONTENT_TYPE);
	p_str(&want, "ct");
	p_u8(&want, PROP_SUBSCRIPTION_ID);
	p_varint(&want, 128);
	n = mqtt_props_strip(&pr.block, 1ULL << PROP_USER_PROPERTY, out);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.b, n);

	/* Everything out. */
	n = mqtt_props_strip(&pr.block, ~0ULL, out);
	assert_int_equal(n, 0);

	/* An empty block. */
	pr.block.len = 0;
	assert_int_equal(mqtt_props_strip(&pr.block, 0, out), 0);
}

/*
 * Encoders: every byte, then decoded back.
 */

/* The one packet in `b': its first byte and body. */
static void
frame(const struct buf *b, uint8_t *first, const uint8_t **body,
    size_t *len)
{
	uint32_t	 rl;
	size_t		 hlen;

	assert_int_equal(mqtt_header(buf_ptr(b), buf_len(b), first, &rl,
	    &hlen), 1);
	assert_int_equal(hlen + rl, buf_len(b));
	*body = buf_ptr(b) + hlen;
	*len = rl;
}

static void
test_encode_connack_v3(void **state)
{
	static const uint8_t		 w1[] = { 0x20, 0x02, 0x00, 0x00 };
	static const uint8_t		 w2[] = { 0x20, 0x02, 0x01, 0x00 };
	static const uint8_t		 w3[] = { 0x20, 0x02, 0x00, 0x05 };
	struct mqtt_connack_info	 ci;
	struct buf			 b;

	(void)state;
	buf_init(&b, 0);
	memset(&ci, 0, sizeof(ci));
	/* MQTT 5 fields are ignored. */
	ci.assigned_client_id = "ignored";
	ci.reason_string = "ignored";
	ci.send_session_expiry = 1;
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_int_equal(buf_len(&b), sizeof(w1));
	assert_memory_equal(buf_ptr(&b), w1, sizeof(w1));
	buf_consume(&b, buf_len(&b));

	ci.session_present = 7;		/* any true value: the bit */
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_memory_equal(buf_ptr(&b), w2, sizeof(w2));
	buf_consume(&b, buf_len(&b));

	ci.session_present = 0;
	ci.reason = CONNACK_NOT_AUTHORIZED;
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_memory_equal(buf_ptr(&b), w3, sizeof(w3));

	/* Appended after what the buffer held. */
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_int_equal(buf_len(&b), 8);
	assert_memory_equal(buf_ptr(&b) + 4, w3, sizeof(w3));
	buf_free(&b);
}

/* A CONNACK as MQTT 5 would decode it. */
static void
connack_v5(const struct buf *b, int *sp, uint8_t *rc, struct mqtt_props *pr)
{
	struct mqtt_error	 e;
	const uint8_t		*body;
	size_t			 len, used;
	uint8_t			 first;

	frame(b, &first, &body, &len);
	assert_int_equal(first, 0x20);
	assert_true(len >= 3);
	assert_true(body[0] <= 1);
	*sp = body[0];
	*rc = body[1];
	assert_int_equal(mqtt_decode_props(body + 2, len - 2,
	    K(CONNACK), pr, &used, 64, &e), 0);
	assert_int_equal(used, len - 2);
}

/* The MQTT 5 defaults: nothing needs saying. */
static void
connack_quiet(struct mqtt_connack_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->v5 = 1;
	ci->maximum_qos = 2;
	ci->retain_available = 1;
	ci->wildcard_available = 1;
	ci->sub_id_available = 1;
	ci->shared_available = 1;
}

static void
test_encode_connack_v5(void **state)
{
	static const uint8_t		 quiet[] = { 0x20, 0x03, 0x00, 0x00,
					    0x00 };
	struct mqtt_connack_info	 ci;
	struct mqtt_props		 pr;
	struct buf			 b;
	char				 rs[200];
	int				 sp;
	uint8_t				 rc;

	(void)state;
	buf_init(&b, 0);
	connack_quiet(&ci);
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_int_equal(buf_len(&b), sizeof(quiet));
	assert_memory_equal(buf_ptr(&b), quiet, sizeof(quiet));
	buf_free(&b);

#define ONE(setup, bytes) do {						\
	static const uint8_t	 want_[] = bytes;			\
									\
	connack_quiet(&ci);						\
	setup;								\
	buf_init(&b, 0);						\
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);		\
	assert_int_equal(buf_len(&b), 5 + sizeof(want_));		\
	assert_int_equal(buf_ptr(&b)[1], 3 + sizeof(want_));		\
	assert_int_equal(buf_ptr(&b)[4], sizeof(want_));		\
	assert_memory_equal(buf_ptr(&b) + 5, want_, sizeof(want_));	\
	connack_v5(&b, &sp, &rc, &pr);					\
} while (0)
#define L(...)	{ __VA_ARGS__ }

	ONE(ci.send_session_expiry = 1; ci.session_expiry = 0x01020304,
	    L(0x11, 0x01, 0x02, 0x03, 0x04));
	assert_int_equal(pr.session_expiry, 0x01020304);
	buf_free(&b);
	ONE(ci.receive_maximum = 20, L(0x21, 0x00, 0x14));
	assert_int_equal(pr.receive_maximum, 20);
	buf_free(&b);
	ONE(ci.maximum_qos = 1, L(0x24, 0x01));
	assert_true(PROP_HAS(&pr, PROP_MAXIMUM_QOS));
	assert_int_equal(pr.maximum_qos, 1);
	buf_free(&b);
	ONE(ci.maximum_qos = 0, L(0x24, 0x00));
	assert_int_equal(pr.maximum_qos, 0);
	buf_free(&b);
	ONE(ci.retain_available = 0, L(0x25, 0x00));
	assert_true(PROP_HAS(&pr, PROP_RETAIN_AVAILABLE));
	buf_free(&b);
	ONE(ci.maximum_packet_size = 0x10000, L(0x27, 0x00, 0x01, 0x00, 0x00));
	assert_int_equal(pr.maximum_packet_size, 0x10000);
	buf_free(&b);
	ONE(ci.assigned_client_id = "auto-7", L(0x12, 0x00, 0x06, 'a', 'u',
	    't', 'o', '-', '7'));
	assert_str(&pr.assigned_client_id, "auto-7");
	buf_free(&b);
	ONE(ci.topic_alias_maximum = 10, L(0x22, 0x00, 0x0a));
	assert_int_equal(pr.topic_alias_maximum, 10);
	buf_free(&b);
	ONE(ci.wildcard_available = 0, L(0x28, 0x00));
	assert_true(PROP_HAS(&pr, PROP_WILDCARD_SUB_AVAILABLE));
	buf_free(&b);
	ONE(ci.sub_id_available = 0, L(0x29, 0x00));
	assert_true(PROP_HAS(&pr, PROP_SUB_ID_AVAILABLE));
	buf_free(&b);
	ONE(ci.shared_available = 0, L(0x2a, 0x00));
	assert_true(PROP_HAS(&pr, PROP_SHARED_SUB_AVAILABLE));
	buf_free(&b);
	ONE(ci.send_server_keep_alive = 1; ci.server_keep_alive = 0,
	    L(0x13, 0x00, 0x00));
	assert_true(PROP_HAS(&pr, PROP_SERVER_KEEP_ALIVE));
	buf_free(&b);
	ONE(ci.reason_string = "ok", L(0x1f, 0x00, 0x02, 'o', 'k'));
	assert_str(&pr.reason_string, "ok");
	buf_free(&b);
	/* The receive maximum 65535 is the default: not sent. */
	connack_quiet(&ci);
	ci.receive_maximum = 65535;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	assert_int_equal(buf_len(&b), 5);
	buf_free(&b);

	/* Everything at once, with a session present. */
	connack_quiet(&ci);
	ci.session_present = 1;
	ci.send_session_expiry = 1;
	ci.session_expiry = 60;
	ci.receive_maximum = 100;
	ci.maximum_qos = 1;
	ci.retain_available = 0;
	ci.maximum_packet_size = 4096;
	ci.assigned_client_id = "id";
	ci.topic_alias_maximum = 3;
	ci.wildcard_available = 0;
	ci.sub_id_available = 0;
	ci.shared_available = 0;
	ci.send_server_keep_alive = 1;
	ci.server_keep_alive = 30;
	memset(rs, 'r', sizeof(rs));
	rs[128] = '\0';
	ci.reason_string = rs;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	connack_v5(&b, &sp, &rc, &pr);
	assert_int_equal(sp, 1);
	assert_int_equal(rc, RC_SUCCESS);
	assert_int_equal(pr.session_expiry, 60);
	assert_int_equal(pr.receive_maximum, 100);
	assert_int_equal(pr.maximum_qos, 1);
	assert_true(PROP_HAS(&pr, PROP_RETAIN_AVAILABLE));
	assert_int_equal(pr.retain_available, 0);
	assert_int_equal(pr.maximum_packet_size, 4096);
	assert_str(&pr.assigned_client_id, "id");
	assert_int_equal(pr.topic_alias_maximum, 3);
	assert_true(PROP_HAS(&pr, PROP_WILDCARD_SUB_AVAILABLE));
	assert_true(PROP_HAS(&pr, PROP_SUB_ID_AVAILABLE));
	assert_true(PROP_HAS(&pr, PROP_SHARED_SUB_AVAILABLE));
	assert_int_equal(pr.server_keep_alive, 30);
	assert_int_equal(pr.reason_string.len, 128);
	buf_free(&b);

	/* A refusal says only the session expiry and reason string. */
	ci.reason = RC_NOT_AUTHORIZED;
	ci.session_present = 0;
	ci.reason_string = "no";
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	connack_v5(&b, &sp, &rc, &pr);
	assert_int_equal(rc, RC_NOT_AUTHORIZED);
	assert_int_equal(pr.present, (1ULL << PROP_SESSION_EXPIRY) |
	    (1ULL << PROP_REASON_STRING));
	buf_free(&b);

	/* Strings too long to send. */
	connack_quiet(&ci);
	memset(rs, 'x', sizeof(rs));
	rs[129] = '\0';
	ci.reason_string = rs;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), -1);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
#undef ONE
#undef L
}

static void
test_encode_connack_long_id(void **state)
{
	struct mqtt_connack_info	 ci;
	struct mqtt_props		 pr;
	struct buf			 b;
	char				 id[300];
	int				 sp;
	uint8_t				 rc;

	(void)state;
	memset(id, 'i', sizeof(id));
	id[256] = '\0';
	connack_quiet(&ci);
	ci.assigned_client_id = id;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
	connack_v5(&b, &sp, &rc, &pr);
	assert_int_equal(pr.assigned_client_id.len, 256);
	assert_memory_equal(pr.assigned_client_id.p, id, 256);
	buf_free(&b);

	id[256] = 'i';
	id[257] = '\0';
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connack(&b, &ci), -1);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void
test_encode_ack(void **state)
{
	static const uint8_t	 types[] = { MQTT_PUBACK, MQTT_PUBREC,
				    MQTT_PUBREL, MQTT_PUBCOMP };
	struct mqtt_ack		 a;
	struct mqtt_error	 e;
	struct buf		 b;
	const uint8_t		*body;
	size_t			 i, len;
	uint8_t			 first, f;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		f = types[i] << 4 | (types[i] == MQTT_PUBREL ? 2 : 0);

		/* MQTT 3, whatever the reason. */
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_ack(&b, types[i], 0x1234, 0x80, 0,
		    "ignored"), 0);
		assert_int_equal(buf_len(&b), 4);
		assert_int_equal(buf_ptr(&b)[0], f);
		assert_int_equal(buf_ptr(&b)[1], 2);
		assert_int_equal(buf_ptr(&b)[2], 0x12);
		assert_int_equal(buf_ptr(&b)[3], 0x34);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_ack(first, body, len, 0, &a, &e),
		    0);
		assert_int_equal(a.packet_id, 0x1234);
		buf_free(&b);

		/* MQTT 5, success: as short. */
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_ack(&b, types[i], 1, 0, 1, NULL),
		    0);
		assert_int_equal(buf_len(&b), 4);
		assert_int_equal(buf_ptr(&b)[0], f);
		buf_free(&b);

		/* MQTT 5, a reason code. */
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_ack(&b, types[i], 2,
		    RC_PACKET_ID_NOT_FOUND, 1, NULL), 0);
		assert_int_equal(buf_len(&b), 5);
		assert_int_equal(buf_ptr(&b)[1], 3);
		assert_int_equal(buf_ptr(&b)[4], RC_PACKET_ID_NOT_FOUND);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_ack(first, body, len, 1, &a, &e),
		    0);
		assert_int_equal(a.packet_id, 2);
		assert_int_equal(a.reason, RC_PACKET_ID_NOT_FOUND);
		buf_free(&b);

		/* MQTT 5, a reason string. */
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_ack(&b, types[i], 3, 0, 1, "why"),
		    0);
		{
			const uint8_t	 w[] = { 0, 10, 0, 3, 0, 6, 0x1f, 0, 3,
					    'w', 'h', 'y' };

			assert_int_equal(buf_len(&b), sizeof(w));
			assert_memory_equal(buf_ptr(&b) + 1, w + 1,
			    sizeof(w) - 1);
		}
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_ack(first, body, len, 1, &a, &e),
		    0);
		assert_int_equal(a.reason, 0);
		assert_str(&a.props.reason_string, "why");
		buf_free(&b);
	}
}

static void
test_encode_ack_long_reason(void **state)
{
	struct mqtt_ack		 a;
	struct mqtt_error	 e;
	struct buf		 b;
	const uint8_t		*body;
	char			 rs[400];
	size_t			 len, n;
	static const size_t	 lens[] = { 124, 125, 126, 200, 252, 253,
				    256 };
	uint8_t			 first;

	(void)state;
	for (n = 0; n < sizeof(lens) / sizeof(lens[0]); n++) {
		memset(rs, 'a' + n, sizeof(rs));
		rs[lens[n]] = '\0';
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_ack(&b, MQTT_PUBACK, 9,
		    RC_QUOTA_EXCEEDED, 1, rs), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(first, 0x40);
		if (mqtt_decode_ack(first, body, len, 1, &a, &e) != 0)
			fail_msg("PUBACK with a reason string of %zu bytes: "
			    "%s", lens[n], e.why);
		assert_int_equal(a.packet_id, 9);
		assert_int_equal(a.reason, RC_QUOTA_EXCEEDED);
		assert_int_equal(a.props.reason_string.len, lens[n]);
		assert_memory_equal(a.props.reason_string.p, rs, lens[n]);
		buf_free(&b);
	}

	/* Longer is cut at 256 bytes. */
	memset(rs, 'z', sizeof(rs));
	rs[sizeof(rs) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_ack(&b, MQTT_PUBREC, 9, 0, 1, rs), 0);
	frame(&b, &first, &body, &len);
	assert_int_equal(mqtt_decode_ack(first, body, len, 1, &a, &e), 0);
	assert_int_equal(a.props.reason_string.len, 256);
	buf_free(&b);
}

static void
test_encode_suback(void **state)
{
	static const uint8_t	 codes[] = { 0x00, 0x01, 0x02, 0x80 };
	static const uint8_t	 w3[] = { 0x90, 0x06, 0x01, 0x02, 0x00, 0x01,
				    0x02, 0x80 };
	static const uint8_t	 w5[] = { 0x90, 0x07, 0x01, 0x02, 0x00, 0x00,
				    0x01, 0x02, 0x80 };
	static const uint8_t	 u3[] = { 0xb0, 0x02, 0x01, 0x02 };
	static const uint8_t	 u5[] = { 0xb0, 0x05, 0x01, 0x02, 0x00, 0x00,
				    0x11 };
	static const uint8_t	 ucodes[] = { RC_SUCCESS,
				    RC_NO_SUBSCRIPTION_EXISTED };
	uint8_t			 many[300];
	struct buf		 b;
	const uint8_t		*body;
	size_t			 len, used;
	struct mqtt_props	 pr;
	struct mqtt_error	 e;
	uint8_t			 first;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_SUBACK, 0x0102, codes, 4,
	    0), 0);
	assert_int_equal(buf_len(&b), sizeof(w3));
	assert_memory_equal(buf_ptr(&b), w3, sizeof(w3));
	buf_free(&b);

	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_SUBACK, 0x0102, codes, 4,
	    1), 0);
	assert_int_equal(buf_len(&b), sizeof(w5));
	assert_memory_equal(buf_ptr(&b), w5, sizeof(w5));
	frame(&b, &first, &body, &len);
	assert_int_equal(mqtt_decode_props(body + 2, len - 2, K(SUBACK), &pr,
	    &used, 64, &e), 0);
	assert_int_equal(used, 1);
	assert_memory_equal(body + 3, codes, 4);
	buf_free(&b);

	/* UNSUBACK: no payload before MQTT 5. */
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_UNSUBACK, 0x0102, ucodes,
	    2, 0), 0);
	assert_int_equal(buf_len(&b), sizeof(u3));
	assert_memory_equal(buf_ptr(&b), u3, sizeof(u3));
	buf_free(&b);
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_UNSUBACK, 0x0102, ucodes,
	    2, 1), 0);
	assert_int_equal(buf_len(&b), sizeof(u5));
	assert_memory_equal(buf_ptr(&b), u5, sizeof(u5));
	buf_free(&b);

	/* Enough codes for a two-byte Remaining Length. */
	memset(many, 0x01, sizeof(many));
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_SUBACK, 5, many,
	    sizeof(many), 1), 0);
	frame(&b, &first, &body, &len);
	assert_int_equal(first, 0x90);
	assert_int_equal(len, 3 + sizeof(many));
	assert_int_equal(buf_ptr(&b)[1], (3 + sizeof(many)) % 128 | 0x80);
	assert_memory_equal(body + 3, many, sizeof(many));
	buf_free(&b);
}

/*
 * The client's side (bridges): what it encodes decodes as a server
 * reads it, and what a server encodes decodes as the client reads it.
 */
static void
test_client_connect_round_trip(void **state)
{
	static const uint8_t		 pw[] = { 's', 0, 'e', 0xff };
	static const uint8_t		 wp[] = "gone";
	struct mqtt_connect_out		 co;
	struct mqtt_connect		 cn;
	struct mqtt_error		 e;
	struct buf			 b;
	const uint8_t			*body;
	size_t				 len;
	uint8_t				 first, v;

	(void)state;
	for (v = MQTT_V311; v <= MQTT_V5; v++) {
		memset(&co, 0, sizeof(co));
		co.version = v;
		co.clean = v == MQTT_V5;
		co.keepalive = 30;
		co.client_id = "bridge-a";
		co.username = "edge";
		co.password = pw;
		co.password_len = sizeof(pw);
		co.will_topic = "bridges/a/state";
		co.will_payload = wp;
		co.will_payload_len = 4;
		co.will_qos = 1;
		co.will_retain = 1;
		co.session_expiry = 3600;
		co.receive_maximum = 20;
		co.maximum_packet_size = 1 << 20;
		co.topic_alias_maximum = 10;
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_connect(&b, &co), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(first, 0x10);
		assert_int_equal(mqtt_decode_connect(body, len, &cn, &e), 0);
		assert_int_equal(cn.version, v);
		assert_int_equal(cn.clean, v == MQTT_V5);
		assert_int_equal(cn.keepalive, 30);
		assert_str(&cn.client_id, "bridge-a");
		assert_str(&cn.username, "edge");
		assert_int_equal(cn.password.len, sizeof(pw));
		assert_memory_equal(cn.password.p, pw, sizeof(pw));
		assert_str(&cn.will_topic, "bridges/a/state");
		assert_str(&cn.will_payload, "gone");
		assert_int_equal(cn.will_qos, 1);
		assert_int_equal(cn.will_retain, 1);
		if (v == MQTT_V5) {
			assert_int_equal(cn.props.session_expiry, 3600);
			assert_int_equal(cn.props.receive_maximum, 20);
			assert_int_equal(cn.props.maximum_packet_size, 1 << 20);
			assert_int_equal(cn.props.topic_alias_maximum, 10);
		} else
			assert_int_equal(cn.props.present, 0);
		buf_free(&b);
	}
	/* No user, no password, no will; a version it cannot speak. */
	memset(&co, 0, sizeof(co));
	co.version = MQTT_V311;
	co.client_id = "";
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connect(&b, &co), 0);
	frame(&b, &first, &body, &len);
	assert_int_equal(mqtt_decode_connect(body, len, &cn, &e), 0);
	assert_false(cn.has_username || cn.has_password || cn.will);
	buf_free(&b);
	co.version = MQTT_V31;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_connect(&b, &co), -1);
	co.version = MQTT_V311;
	co.will_topic = "t";
	co.will_qos = 3;
	assert_int_equal(mqtt_encode_connect(&b, &co), -1);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void
test_client_subscribe_round_trip(void **state)
{
	const struct mqtt_sub_out	 subs[] = {
		{ "a/+/c", 1 | SUBOPT_NO_LOCAL | SUBOPT_RAP },
		{ "#", 2 | 2 << 4 },
	};
	const char *const		 filters[] = { "a/+/c", "x" };
	struct mqtt_subscribe		 sb;
	struct mqtt_sub_entry		 se;
	struct mqtt_error		 e;
	struct mqtt_str			 cur;
	struct buf			 b;
	const uint8_t			*body;
	size_t				 len;
	uint8_t				 first;
	int				 v5, i;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++) {
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_subscribe(&b, 7, subs, 2,
		    v5 ? 42 : 0, v5), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_subscribe(first, body, len, v5,
		    &sb, &e), 0);
		assert_int_equal(sb.packet_id, 7);
		assert_int_equal(sb.count, 2);
		if (v5)
			assert_int_equal(sb.props.sub_id, 42);
		cur = sb.list;
		for (i = 0; mqtt_sub_next(&cur, 1, &se); i++) {
			assert_str(&se.filter, subs[i].filter);
			assert_int_equal(se.options, v5 ? subs[i].options :
			    SUBOPT_QOS(subs[i].options));
		}
		assert_int_equal(i, 2);
		buf_free(&b);

		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_unsubscribe(&b, 8, filters, 2,
		    v5), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_unsubscribe(first, body, len, v5,
		    &sb, &e), 0);
		assert_int_equal(sb.packet_id, 8);
		assert_int_equal(sb.count, 2);
		buf_free(&b);
	}
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_subscribe(&b, 0, subs, 2, 0, 1), -1);
	assert_int_equal(mqtt_encode_subscribe(&b, 1, subs, 0, 0, 1), -1);
	assert_int_equal(mqtt_encode_unsubscribe(&b, 0, filters, 2, 1), -1);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(mqtt_encode_pingreq(&b), 0);
	assert_int_equal(buf_len(&b), 2);
	assert_memory_equal(buf_ptr(&b), "\xc0\x00", 2);
	buf_free(&b);
}

static void
test_client_reads_connack_and_suback(void **state)
{
	static const uint8_t		 codes[] = { 0x01, 0x80 };
	struct mqtt_connack_info	 ci;
	struct mqtt_connack		 ca;
	struct mqtt_suback		 sa;
	struct mqtt_error		 e;
	struct buf			 b;
	const uint8_t			*body;
	size_t				 len;
	uint8_t				 first;
	int				 v5;

	(void)state;
	for (v5 = 0; v5 <= 1; v5++) {
		memset(&ci, 0, sizeof(ci));
		ci.v5 = v5;
		ci.session_present = 1;
		ci.receive_maximum = 10;
		ci.maximum_qos = 1;
		ci.retain_available = 1;
		ci.topic_alias_maximum = 5;
		ci.wildcard_available = ci.sub_id_available =
		    ci.shared_available = 1;
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_connack(&b, &ci), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_connack(first, body, len, v5, &ca,
		    &e), 0);
		assert_int_equal(ca.session_present, 1);
		assert_int_equal(ca.reason, 0);
		if (v5) {
			assert_int_equal(ca.props.receive_maximum, 10);
			assert_int_equal(ca.props.maximum_qos, 1);
			assert_int_equal(ca.props.topic_alias_maximum, 5);
		}
		/* Bytes after it, and a short one. */
		assert_int_equal(mqtt_decode_connack(first, body, len - 1, v5,
		    &ca, &e), -1);
		assert_int_equal(e.reason, RC_MALFORMED_PACKET);
		buf_free(&b);

		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_suback(&b, MQTT_SUBACK, 9, codes,
		    2, v5), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_suback(first, body, len, v5, &sa,
		    &e), 0);
		assert_int_equal(sa.packet_id, 9);
		assert_int_equal(sa.codes.len, 2);
		assert_memory_equal(sa.codes.p, codes, 2);
		buf_free(&b);

		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_suback(&b, MQTT_UNSUBACK, 9,
		    codes, 2, v5), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(mqtt_decode_suback(first, body, len, v5, &sa,
		    &e), 0);
		assert_int_equal(sa.codes.len, v5 ? 2 : 0);
		buf_free(&b);
	}
	/* Reserved flags; session present on a refusal; no codes. */
	assert_int_equal(mqtt_decode_connack(0x21, (const uint8_t *)"\0\0",
	    2, 0, &ca, &e), -1);
	assert_int_equal(mqtt_decode_connack(0x20, (const uint8_t *)"\2\0",
	    2, 0, &ca, &e), -1);
	assert_int_equal(mqtt_decode_connack(0x20, (const uint8_t *)"\1\5",
	    2, 0, &ca, &e), -1);
	assert_int_equal(e.reason, RC_PROTOCOL_ERROR);
	assert_int_equal(mqtt_decode_suback(0x90, (const uint8_t *)"\0\1",
	    2, 0, &sa, &e), -1);
	assert_int_equal(mqtt_decode_suback(0x90, (const uint8_t *)"\0",
	    1, 0, &sa, &e), -1);
}

static void
test_encode_pingresp(void **state)
{
	static const uint8_t	 w[] = { 0xd0, 0x00 };
	struct buf		 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_pingresp(&b), 0);
	assert_int_equal(mqtt_encode_pingresp(&b), 0);
	assert_int_equal(buf_len(&b), 4);
	assert_memory_equal(buf_ptr(&b), w, 2);
	assert_memory_equal(buf_ptr(&b) + 2, w, 2);
	buf_free(&b);
}

static void
test_encode_disconnect(void **state)
{
	static const uint8_t	 w0[] = { 0xe0, 0x00 };
	static const uint8_t	 w1[] = { 0xe0, 0x01, 0x8e };
	static const uint8_t	 w2[] = { 0xe0, 0x08, 0x00, 0x06, 0x1f, 0x00,
				    0x03, 'b', 'y', 'e' };
	static const size_t	 lens[] = { 1, 124, 125, 126, 200, 253, 256 };
	struct mqtt_disconnect	 d;
	struct mqtt_error	 e;
	struct buf		 b;
	const uint8_t		*body;
	char			 rs[400];
	size_t			 len, n;
	uint8_t			 first;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_disconnect(&b, 0, NULL), 0);
	assert_int_equal(buf_len(&b), sizeof(w0));
	assert_memory_equal(buf_ptr(&b), w0, sizeof(w0));
	buf_free(&b);

	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_disconnect(&b, RC_SESSION_TAKEN_OVER,
	    NULL), 0);
	assert_int_equal(buf_len(&b), sizeof(w1));
	assert_memory_equal(buf_ptr(&b), w1, sizeof(w1));
	frame(&b, &first, &body, &len);
	assert_int_equal(mqtt_decode_disconnect(first, body, len, 1, &d, &e),
	    0);
	assert_int_equal(d.reason, RC_SESSION_TAKEN_OVER);
	buf_free(&b);

	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_disconnect(&b, 0, "bye"), 0);
	assert_int_equal(buf_len(&b), sizeof(w2));
	assert_memory_equal(buf_ptr(&b), w2, sizeof(w2));
	buf_free(&b);

	for (n = 0; n < sizeof(lens) / sizeof(lens[0]); n++) {
		memset(rs, 'a' + n, sizeof(rs));
		rs[lens[n]] = '\0';
		buf_init(&b, 0);
		assert_int_equal(mqtt_encode_disconnect(&b,
		    RC_KEEP_ALIVE_TIMEOUT, rs), 0);
		frame(&b, &first, &body, &len);
		assert_int_equal(first, 0xe0);
		if (mqtt_decode_disconnect(first, body, len, 1, &d, &e) != 0)
			fail_msg("DISCONNECT with a reason string of %zu "
			    "bytes: %s", lens[n], e.why);
		assert_int_equal(d.reason, RC_KEEP_ALIVE_TIMEOUT);
		assert_int_equal(d.props.reason_string.len, lens[n]);
		assert_memory_equal(d.props.reason_string.p, rs, lens[n]);
		buf_free(&b);
	}

	/* Longer is cut at 256 bytes. */
	memset(rs, 'z', sizeof(rs));
	rs[sizeof(rs) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(mqtt_encode_disconnect(&b, RC_SERVER_SHUTTING_DOWN,
	    rs), 0);
	frame(&b, &first, &body, &len);
	assert_int_equal(mqtt_decode_disconnect(first, body, len, 1, &d, &e),
	    0);
	assert_int_equal(d.props.reason_string.len, 256);
	buf_free(&b);
}

static void
test_encode_limits(void **state)
{
	struct mqtt_connack_info	 ci;
	struct buf			 b;
	uint8_t				 codes[4] = { 0 };

	(void)state;
	/* A buffer that holds one PINGRESP and nothing more. */
	buf_init(&b, 3);
	assert_int_equal(mqtt_encode_pingresp(&b), 0);
	assert_int_equal(mqtt_encode_pingresp(&b), -1);
	memset(&ci, 0, sizeof(ci));
	assert_int_equal(mqtt_encode_connack(&b, &ci), -1);
	connack_quiet(&ci);
	assert_int_equal(mqtt_encode_connack(&b, &ci), -1);
	assert_int_equal(mqtt_encode_ack(&b, MQTT_PUBACK, 1, 0, 0, NULL), -1);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_SUBACK, 1, codes, 4, 1),
	    -1);
	assert_int_equal(mqtt_encode_suback(&b, MQTT_UNSUBACK, 1, codes, 4, 0),
	    -1);
	assert_int_equal(mqtt_encode_disconnect(&b, 0x80, NULL), -1);
	/* What was there is untouched. */
	assert_int_equal(buf_len(&b), 2);
	assert_int_equal(buf_ptr(&b)[0], 0xd0);
	buf_free(&b);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(mqtt_type_name(MQTT_CONNECT), "CONNECT");
	assert_string_equal(mqtt_type_name(MQTT_AUTH), "AUTH");
	assert_string_equal(mqtt_type_name(0), "reserved");
	assert_string_equal(mqtt_type_name(16), "?");
	assert_string_equal(mqtt_reason_name(RC_QUOTA_EXCEEDED),
	    "quota exceeded");
	assert_string_equal(mqtt_reason_name(0x42), "error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_boundaries),
		cmocka_unit_test(test_varint_malformed),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_topic_valid),
		cmocka_unit_test(test_filter_valid),
		cmocka_unit_test(test_shared_split),
		cmocka_unit_test(test_connect_v311),
		cmocka_unit_test(test_connect_v311_will_user_pass),
		cmocka_unit_test(test_connect_v31),
		cmocka_unit_test(test_connect_v5_full),
		cmocka_unit_test(test_connect_flags),
		cmocka_unit_test(test_connect_protocol),
		cmocka_unit_test(test_connect_client_id),
		cmocka_unit_test(test_connect_bad_strings),
		cmocka_unit_test(test_connect_v5_props_errors),
		cmocka_unit_test(test_varint_not_minimal),
		cmocka_unit_test(test_connect_truncations),
		cmocka_unit_test(test_connect_trailing),
		cmocka_unit_test(test_props_where),
		cmocka_unit_test(test_props_unknown),
		cmocka_unit_test(test_props_repeated),
		cmocka_unit_test(test_props_values),
		cmocka_unit_test(test_props_ranges),
		cmocka_unit_test(test_props_strings),
		cmocka_unit_test(test_props_lengths),
		cmocka_unit_test(test_props_user_limit),
		cmocka_unit_test(test_publish_qos),
		cmocka_unit_test(test_publish_topic),
		cmocka_unit_test(test_publish_v5_props),
		cmocka_unit_test(test_ack_decode),
		cmocka_unit_test(test_subscribe_decode),
		cmocka_unit_test(test_subscribe_options),
		cmocka_unit_test(test_subscribe_errors),
		cmocka_unit_test(test_unsubscribe_decode),
		cmocka_unit_test(test_disconnect_decode),
		cmocka_unit_test(test_auth_decode),
		cmocka_unit_test(test_user_props_counted),
		cmocka_unit_test(test_props_strip),
		cmocka_unit_test(test_client_connect_round_trip),
		cmocka_unit_test(test_client_subscribe_round_trip),
		cmocka_unit_test(test_client_reads_connack_and_suback),
		cmocka_unit_test(test_encode_connack_v3),
		cmocka_unit_test(test_encode_connack_v5),
		cmocka_unit_test(test_encode_connack_long_id),
		cmocka_unit_test(test_encode_ack),
		cmocka_unit_test(test_encode_ack_long_reason),
		cmocka_unit_test(test_encode_suback),
		cmocka_unit_test(test_encode_pingresp),
		cmocka_unit_test(test_encode_disconnect),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
