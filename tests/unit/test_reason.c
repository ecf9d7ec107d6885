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
 * Every reason code the packet decoders give, one row per rule, against
 * the MQTT 5 definitions: a Malformed Packet (0x81) is one that cannot
 * be parsed by the specification (a length past the end, bits that must
 * be 0, a property identifier not valid for the packet [2.2.2.2], any
 * ill-formed UTF-8 [MQTT-1.5.4-1]); a Protocol Error (0x82) is parsed
 * but not allowed (a property twice, a value out of its range, data
 * inconsistent with the rest).  The rest name what was refused.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt.h"

enum kind { CONNECT, PUBLISH, ACK, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT,
	AUTH };

struct row {
	const char	*what;
	enum kind	 kind;
	uint8_t		 first;
	int		 v5;
	const char	*body;		/* bytes */
	size_t		 len;
	uint8_t		 reason;
};

#define B(s)	s, sizeof(s) - 1
/* CONNECT MQTT 5, clean start, keep alive 60: then properties. */
#define C5	"\0\4MQTT\5\2\0\74"
/* The same with the will flag (QoS 0). */
#define C5W	"\0\4MQTT\5\6\0\74"

static const struct row rows[] = {
	/* CONNECT */
	{ "reserved flag", CONNECT, 0x10, 1,
	    B("\0\4MQTT\5\3\0\74\0\0\1x"), RC_MALFORMED_PACKET },
	{ "will QoS 3", CONNECT, 0x10, 1,
	    B("\0\4MQTT\5\36\0\74\0\0\1x\0\0\1t\0\0"), RC_MALFORMED_PACKET },
	{ "will retain without a will", CONNECT, 0x10, 1,
	    B("\0\4MQTT\5\42\0\74\0\0\1x"), RC_MALFORMED_PACKET },
	{ "client id not UTF-8", CONNECT, 0x10, 1,
	    B(C5 "\0\0\2a\377"), RC_MALFORMED_PACKET },
	{ "client id with U+0000", CONNECT, 0x10, 1,
	    B(C5 "\0\0\2a\0"), RC_MALFORMED_PACKET },
	{ "will topic not UTF-8", CONNECT, 0x10, 1,
	    B(C5W "\0\0\1x\0\0\1\300\0\0"), RC_MALFORMED_PACKET },
	{ "user name not UTF-8", CONNECT, 0x10, 1,
	    B("\0\4MQTT\5\202\0\74\0\0\1x\0\1\355"), RC_MALFORMED_PACKET },
	{ "user property not UTF-8", CONNECT, 0x10, 1,
	    B(C5 "\6\46\0\1\377\0\0\0\1x"), RC_MALFORMED_PACKET },
	{ "string property not UTF-8", CONNECT, 0x10, 1,
	    B(C5 "\4\25\0\1\377\0\1x"), RC_MALFORMED_PACKET },
	{ "property not for CONNECT", CONNECT, 0x10, 1,
	    B(C5 "\3\43\0\1\0\1x"), RC_MALFORMED_PACKET },
	{ "unknown property", CONNECT, 0x10, 1,
	    B(C5 "\1\177\0\1x"), RC_MALFORMED_PACKET },
	{ "property length past the end", CONNECT, 0x10, 1,
	    B(C5 "\11\0\1x"), RC_MALFORMED_PACKET },
	{ "property twice", CONNECT, 0x10, 1,
	    B(C5 "\12\21\0\0\0\1\21\0\0\0\1\0\1x"), RC_PROTOCOL_ERROR },
	{ "receive maximum 0", CONNECT, 0x10, 1,
	    B(C5 "\3\41\0\0\0\1x"), RC_PROTOCOL_ERROR },
	{ "request problem information 2", CONNECT, 0x10, 1,
	    B(C5 "\2\27\2\0\1x"), RC_PROTOCOL_ERROR },
	{ "authentication data without a method", CONNECT, 0x10, 1,
	    B(C5 "\4\26\0\1a\0\1x"), RC_PROTOCOL_ERROR },
	{ "will payload not UTF-8, format 1", CONNECT, 0x10, 1,
	    B(C5W "\0\0\1x\2\1\1\0\1t\0\1\377"), RC_PAYLOAD_FORMAT_INVALID },
	{ "protocol level 6", CONNECT, 0x10, 1,
	    B("\0\4MQTT\6\2\0\74\0\0\1x"), RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "bytes after the payload", CONNECT, 0x10, 1,
	    B(C5 "\0\0\1xz"), RC_MALFORMED_PACKET },

	/* PUBLISH */
	{ "QoS 3", PUBLISH, 0x36, 1, B("\0\1t\0\1\0"), RC_MALFORMED_PACKET },
	{ "DUP on QoS 0", PUBLISH, 0x38, 1, B("\0\1t\0"),
	    RC_MALFORMED_PACKET },
	{ "topic not UTF-8", PUBLISH, 0x30, 1, B("\0\2a\377\0"),
	    RC_MALFORMED_PACKET },
	{ "topic with a surrogate", PUBLISH, 0x30, 1,
	    B("\0\3\355\240\200\0"), RC_MALFORMED_PACKET },
	{ "topic with U+0000", PUBLISH, 0x30, 0, B("\0\2a\0"),
	    RC_MALFORMED_PACKET },
	{ "topic overlong", PUBLISH, 0x30, 0, B("\0\2\300\257"),
	    RC_MALFORMED_PACKET },
	{ "truncated topic", PUBLISH, 0x30, 1, B("\0\5ab"),
	    RC_MALFORMED_PACKET },
	{ "packet identifier 0", PUBLISH, 0x32, 1, B("\0\1t\0\0\0"),
	    RC_PROTOCOL_ERROR },
	{ "subscription identifier from a client", PUBLISH, 0x30, 1,
	    B("\0\1t\2\13\1"), RC_PROTOCOL_ERROR },
	{ "topic alias 0", PUBLISH, 0x30, 1, B("\0\1t\3\43\0\0"),
	    RC_TOPIC_ALIAS_INVALID },
	{ "payload format 2", PUBLISH, 0x30, 1, B("\0\1t\2\1\2"),
	    RC_PROTOCOL_ERROR },
	{ "response topic with a wildcard", PUBLISH, 0x30, 1,
	    B("\0\1t\4\10\0\1#"), RC_PROTOCOL_ERROR },
	{ "property not for PUBLISH", PUBLISH, 0x30, 1,
	    B("\0\1t\5\21\0\0\0\1"), RC_MALFORMED_PACKET },
	{ "zero length topic, 3.1.1", PUBLISH, 0x30, 0, B("\0\0x"),
	    RC_TOPIC_NAME_INVALID },

	/* PUBACK, PUBREL */
	{ "PUBACK flags", ACK, 0x41, 1, B("\0\1"), RC_MALFORMED_PACKET },
	{ "PUBREL flags", ACK, 0x60, 1, B("\0\1"), RC_MALFORMED_PACKET },
	{ "PUBACK identifier 0", ACK, 0x40, 1, B("\0\0"),
	    RC_PROTOCOL_ERROR },
	{ "PUBACK truncated", ACK, 0x40, 1, B("\0"), RC_MALFORMED_PACKET },
	{ "PUBACK property not for it", ACK, 0x40, 1,
	    B("\0\1\0\3\43\0\1"), RC_MALFORMED_PACKET },

	/* SUBSCRIBE */
	{ "SUBSCRIBE flags", SUBSCRIBE, 0x80, 1, B("\0\1\0\0\1t\0"),
	    RC_MALFORMED_PACKET },
	{ "no topic filter", SUBSCRIBE, 0x82, 1, B("\0\1\0"),
	    RC_PROTOCOL_ERROR },
	{ "maximum QoS 3", SUBSCRIBE, 0x82, 1, B("\0\1\0\0\1t\3"),
	    RC_PROTOCOL_ERROR },
	{ "retain handling 3", SUBSCRIBE, 0x82, 1, B("\0\1\0\0\1t\60"),
	    RC_PROTOCOL_ERROR },
	{ "reserved option bits", SUBSCRIBE, 0x82, 1, B("\0\1\0\0\1t\100"),
	    RC_MALFORMED_PACKET },
	{ "QoS 3, 3.1.1", SUBSCRIBE, 0x82, 0, B("\0\1\0\1t\3"),
	    RC_MALFORMED_PACKET },
	{ "filter not UTF-8", SUBSCRIBE, 0x82, 1, B("\0\1\0\0\1\377\0"),
	    RC_MALFORMED_PACKET },
	{ "subscription identifier 0", SUBSCRIBE, 0x82, 1,
	    B("\0\1\2\13\0\0\1t\0"), RC_PROTOCOL_ERROR },

	/* UNSUBSCRIBE */
	{ "UNSUBSCRIBE filter not UTF-8", UNSUBSCRIBE, 0xa2, 1,
	    B("\0\1\0\0\1\377"), RC_MALFORMED_PACKET },
	{ "UNSUBSCRIBE no filter", UNSUBSCRIBE, 0xa2, 1, B("\0\1\0"),
	    RC_PROTOCOL_ERROR },

	/* DISCONNECT, AUTH */
	{ "DISCONNECT flags", DISCONNECT, 0xe1, 1, B(""),
	    RC_MALFORMED_PACKET },
	{ "DISCONNECT server reference", DISCONNECT, 0xe0, 1,
	    B("\0\4\34\0\1s"), RC_PROTOCOL_ERROR },
	{ "DISCONNECT reason string not UTF-8", DISCONNECT, 0xe0, 1,
	    B("\0\4\37\0\1\377"), RC_MALFORMED_PACKET },
	{ "AUTH reason 0x01", AUTH, 0xf0, 1, B("\1\0"), RC_PROTOCOL_ERROR },
	{ "AUTH flags", AUTH, 0xf1, 1, B("\0\0"), RC_MALFORMED_PACKET },
};

static int
decode(const struct row *r, struct mqtt_error *e)
{
	const uint8_t		*p = (const uint8_t *)r->body;
	struct mqtt_connect	 c;
	struct mqtt_publish	 pb;
	struct mqtt_ack		 a;
	struct mqtt_subscribe	 s;
	struct mqtt_disconnect	 d;
	struct mqtt_auth	 au;

	switch (r->kind) {
	case CONNECT:
		return mqtt_decode_connect(p, r->len, &c, e);
	case PUBLISH:
		return mqtt_decode_publish(r->first, p, r->len, r->v5, &pb, e);
	case ACK:
		return mqtt_decode_ack(r->first, p, r->len, r->v5, &a, e);
	case SUBSCRIBE:
		return mqtt_decode_subscribe(r->first, p, r->len, r->v5, &s,
		    e);
	case UNSUBSCRIBE:
		return mqtt_decode_unsubscribe(r->first, p, r->len, r->v5,
		    &s, e);
	case DISCONNECT:
		return mqtt_decode_disconnect(r->first, p, r->len, r->v5, &d,
		    e);
	case AUTH:
		return mqtt_decode_auth(r->first, p, r->len, &au, e);
	}
	return 0;
}

static void
test_reason_codes(void **state)
{
	struct mqtt_error	 e;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (decode(&rows[i], &e) != -1)
			fail_msg("%s: accepted", rows[i].what);
		if (e.reason != rows[i].reason)
			fail_msg("%s: reason %#x (%s), expected %#x",
			    rows[i].what, e.reason, e.why, rows[i].reason);
	}
}

/* The prefixes the rows build on are themselves well formed, so each
 * row fails for its own reason. */
static void
test_well_formed_rows_pass(void **state)
{
	static const char	 ok_connect[] = C5 "\0\0\1x";
	static const char	 ok_publish[] = "\0\1t\0";
	struct mqtt_connect	 c;
	struct mqtt_publish	 pb;
	struct mqtt_error	 e;

	(void)state;
	assert_int_equal(mqtt_decode_connect((const uint8_t *)ok_connect,
	    sizeof(ok_connect) - 1, &c, &e), 0);
	assert_int_equal(mqtt_decode_publish(0x30,
	    (const uint8_t *)ok_publish, sizeof(ok_publish) - 1, 1, &pb, &e),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_codes),
		cmocka_unit_test(test_well_formed_rows_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
