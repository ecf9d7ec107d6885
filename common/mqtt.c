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
 * The MQTT wire format, after the OASIS MQTT Version 3.1.1 and MQTT
 * Version 5.0 specifications.  Every decoder gets the variable header and
 * payload of one packet whose Remaining Length has been read and whose
 * bytes are all present; it checks every length against them, takes time
 * linear in their number and allocates nothing.  A decoder returns 0, or
 * -1 with the reason code an MQTT 5 peer is to be told.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mqtt.h"

/* The most user properties a packet may carry (brokerd.conf). */
static unsigned int	 max_user_props = 1024;

#define FAIL(e, rc, msg)	do {					\
	(e)->reason = (rc);						\
	(e)->why = (msg);						\
	return -1;							\
} while (0)

/* A cursor over the bytes of a packet. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return -1;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return -1;
	*v = (uint16_t)r->p[0] << 8 | r->p[1];
	r->p += 2;
	r->left -= 2;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

/* A two-byte length and that many bytes. */
static int
rd_bin(struct rd *r, struct mqtt_str *s)
{
	uint16_t	 len;

	if (rd_u16(r, &len) == -1 || r->left < len)
		return -1;
	s->p = r->p;
	s->len = len;
	r->p += len;
	r->left -= len;
	return 0;
}

static int
rd_varint(struct rd *r, uint32_t *v)
{
	size_t	 used;

	if (mqtt_varint_decode(r->p, r->left, v, &used) != 1)
		return -1;
	r->p += used;
	r->left -= used;
	return 0;
}

/*
 * A Variable Byte Integer.  Returns 1 with the value and its size, 0 if
 * more bytes are needed, -1 if it is malformed: more than four bytes, or
 * more than the value needs (MQTT-1.5.5-1).
 */
int
mqtt_varint_decode(const uint8_t *p, size_t len, uint32_t *value,
    size_t *used)
{
	uint32_t	 v = 0;
	size_t		 i;

	for (i = 0; i < 4; i++) {
		if (i >= len)
			return 0;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return -1;
			*value = v;
			*used = i + 1;
			return 1;
		}
	}
	return -1;
}

size_t
mqtt_varint_size(uint32_t v)
{
	if (v < 128)
		return 1;
	if (v < 16384)
		return 2;
	if (v < 2097152)
		return 3;
	return 4;
}

size_t
mqtt_varint_encode(uint8_t *p, uint32_t v)
{
	size_t	 n = 0;

	do {
		p[n] = v & 0x7f;
		v >>= 7;
		if (v > 0)
			p[n] |= 0x80;
		n++;
	} while (v > 0 && n < 4);
	return n;
}

size_t
mqtt_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return 2;
}

size_t
mqtt_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
	return 4;
}

/*
 * The fixed header at the start of `p': first byte and Remaining Length.
 * Returns 1 with its size in *hlen, 0 if more bytes are needed, -1 if the
 * Remaining Length is malformed.
 */
int
mqtt_header(const uint8_t *p, size_t len, uint8_t *first,
    uint32_t *remaining, size_t *hlen)
{
	size_t	 used;
	int	 r;

	if (len < 2)
		return 0;
	if ((r = mqtt_varint_decode(p + 1, len - 1, remaining, &used)) != 1)
		return r;
	*first = p[0];
	*hlen = 1 + used;
	return 1;
}

/*
 * Well-formed UTF-8 as RFC 3629 has it (no overlong forms, no surrogates,
 * nothing above U+10FFFF) and, as MQTT requires, no U+0000.
 */
int
mqtt_utf8_valid(const uint8_t *p, size_t len)
{
	size_t	 i = 0;

	while (i < len) {
		uint8_t	 c = p[i];

		if (c >= 0x01 && c <= 0x7f) {
			i++;
			continue;
		}
		if (c == 0x00)
			return 0;
		if (c >= 0xc2 && c <= 0xdf) {
			if (len - i < 2 || (p[i + 1] & 0xc0) != 0x80)
				return 0;
			i += 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			if (len - i < 3 || (p[i + 1] & 0xc0) != 0x80 ||
			    (p[i + 2] & 0xc0) != 0x80)
				return 0;
			if (c == 0xe0 && p[i + 1] < 0xa0)
				return 0;	/* overlong */
			if (c == 0xed && p[i + 1] >= 0xa0)
				return 0;	/* surrogate */
			i += 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			if (len - i < 4 || (p[i + 1] & 0xc0) != 0x80 ||
			    (p[i + 2] & 0xc0) != 0x80 ||
			    (p[i + 3] & 0xc0) != 0x80)
				return 0;
			if (c == 0xf0 && p[i + 1] < 0x90)
				return 0;	/* overlong */
			if (c == 0xf4 && p[i + 1] >= 0x90)
				return 0;	/* above U+10FFFF */
			i += 4;
		} else
			return 0;
	}
	return 1;
}

/* A Topic Name: not empty, no wildcards, at most `maxlevels' levels. */
int
mqtt_topic_valid(const uint8_t *p, size_t len, unsigned int maxlevels)
{
	unsigned int	 levels = 1;
	size_t		 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '+' || p[i] == '#')
			return 0;
		if (p[i] == '/' && ++levels > maxlevels)
			return 0;
	}
	return 1;
}

/*
 * Split `$share/GROUP/FILTER'.  Returns 1 if it is a shared subscription
 * (with the parts), 0 if not, -1 if it starts with $share/ but is not well
 * formed (no group, a wildcard in the group, or no filter).
 */
int
mqtt_shared_split(const uint8_t *p, size_t len, struct mqtt_str *group,
    struct mqtt_str *filter)
{
	static const char	 prefix[] = "$share/";
	const size_t		 plen = sizeof(prefix) - 1;
	const uint8_t		*slash;
	size_t			 i;

	if (len < plen || memcmp(p, prefix, plen) != 0)
		return 0;
	slash = memchr(p + plen, '/', len - plen);
	if (slash == NULL || slash == p + plen)
		return -1;
	group->p = p + plen;
	group->len = slash - group->p;
	for (i = 0; i < group->len; i++)
		if (group->p[i] == '+' || group->p[i] == '#')
			return -1;
	filter->p = slash + 1;
	filter->len = len - (filter->p - p);
	if (filter->len == 0)
		return -1;
	return 1;
}

/*
 * A Topic Filter: `#' only alone in the last level, `+' only alone in its
 * level, at most `maxlevels' levels; a shared subscription must be well
 * formed.  *shared is set if it is one.
 */
int
mqtt_filter_valid(const uint8_t *p, size_t len, unsigned int maxlevels,
    int *shared)
{
	struct mqtt_str	 group, filter;
	unsigned int	 levels = 1;
	size_t		 i, start = 0;
	int		 r;

	*shared = 0;
	if (len == 0)
		return 0;
	if ((r = mqtt_shared_split(p, len, &group, &filter)) == -1)
		return 0;
	if (r == 1) {
		*shared = 1;
		p = filter.p;
		len = filter.len;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		/* The level p[start, i). */
		if (i - start > 1 && (memchr(p + start, '+', i - start) ||
		    memchr(p + start, '#', i - start)))
			return 0;
		if (i - start == 1 && p[start] == '#' && i != len)
			return 0;
		if (i < len && ++levels > maxlevels)
			return 0;
		start = i + 1;
	}
	return 1;
}

/* Property types. */
enum prop_type {
	PT_NONE,
	PT_BYTE,
	PT_TWO,
	PT_FOUR,
	PT_VARINT,
	PT_UTF8,
	PT_BINARY,
	PT_PAIR
};

#define IN(t)	PROP_IN(MQTT_ ## t)

/* What a value must be; `bad' (with `rc') says why it is not. */
#define P_BOOL		0x01	/* 0 or 1 */
#define P_NONZERO	0x02	/* not 0 */
#define P_TOPIC		0x04	/* a topic name */

#define PF(f)		offsetof(struct mqtt_props, f)

/*
 * Every property: its type, the packets it may be in, where its value
 * goes in struct mqtt_props, and what its value must be.
 */
static const struct prop_info {
	uint8_t		 type;
	uint8_t		 flags;
	uint8_t		 rc;		/* if the value is not as it must be */
	uint32_t	 where;
	size_t		 off;
	const char	*bad;
} prop_info[0x2b] = {
	[PROP_PAYLOAD_FORMAT] =	{ PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(PUBLISH) | PROP_IN_WILL, PF(payload_format),
	    "property value out of range" },
	[PROP_MESSAGE_EXPIRY] =	{ PT_FOUR, 0, 0,
	    IN(PUBLISH) | PROP_IN_WILL, PF(message_expiry), NULL },
	[PROP_CONTENT_TYPE] =	{ PT_UTF8, 0, 0,
	    IN(PUBLISH) | PROP_IN_WILL, PF(content_type), NULL },
	[PROP_RESPONSE_TOPIC] =	{ PT_UTF8, P_TOPIC, RC_PROTOCOL_ERROR,
	    IN(PUBLISH) | PROP_IN_WILL, PF(response_topic),
	    "bad response topic" },
	[PROP_CORRELATION_DATA] = { PT_BINARY, 0, 0,
	    IN(PUBLISH) | PROP_IN_WILL, PF(correlation_data), NULL },
	[PROP_SUBSCRIPTION_ID] = { PT_VARINT, P_NONZERO, RC_PROTOCOL_ERROR,
	    IN(PUBLISH) | IN(SUBSCRIBE), PF(sub_id),
	    "subscription identifier 0" },
	[PROP_SESSION_EXPIRY] =	{ PT_FOUR, 0, 0,
	    IN(CONNECT) | IN(CONNACK) | IN(DISCONNECT), PF(session_expiry),
	    NULL },
	[PROP_ASSIGNED_CLIENT_ID] = { PT_UTF8, 0, 0,
	    IN(CONNACK), PF(assigned_client_id), NULL },
	[PROP_SERVER_KEEP_ALIVE] = { PT_TWO, 0, 0,
	    IN(CONNACK), PF(server_keep_alive), NULL },
	[PROP_AUTH_METHOD] =	{ PT_UTF8, 0, 0,
	    IN(CONNECT) | IN(CONNACK) | IN(AUTH), PF(auth_method), NULL },
	[PROP_AUTH_DATA] =	{ PT_BINARY, 0, 0,
	    IN(CONNECT) | IN(CONNACK) | IN(AUTH), PF(auth_data), NULL },
	[PROP_REQUEST_PROBLEM_INFO] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNECT), PF(request_problem_info),
	    "property value out of range" },
	[PROP_WILL_DELAY] =	{ PT_FOUR, 0, 0,
	    PROP_IN_WILL, PF(will_delay), NULL },
	[PROP_REQUEST_RESPONSE_INFO] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNECT), PF(request_response_info),
	    "property value out of range" },
	[PROP_RESPONSE_INFO] =	{ PT_UTF8, 0, 0,
	    IN(CONNACK), PF(response_info), NULL },
	[PROP_SERVER_REFERENCE] = { PT_UTF8, 0, 0,
	    IN(CONNACK) | IN(DISCONNECT), PF(server_reference), NULL },
	[PROP_REASON_STRING] =	{ PT_UTF8, 0, 0,
	    IN(CONNACK) | IN(PUBACK) | IN(PUBREC) | IN(PUBREL) |
	    IN(PUBCOMP) | IN(SUBACK) | IN(UNSUBACK) | IN(DISCONNECT) |
	    IN(AUTH), PF(reason_string), NULL },
	[PROP_RECEIVE_MAXIMUM] = { PT_TWO, P_NONZERO, RC_PROTOCOL_ERROR,
	    IN(CONNECT) | IN(CONNACK), PF(receive_maximum),
	    "receive maximum of 0" },
	[PROP_TOPIC_ALIAS_MAXIMUM] = { PT_TWO, 0, 0,
	    IN(CONNECT) | IN(CONNACK), PF(topic_alias_maximum), NULL },
	[PROP_TOPIC_ALIAS] =	{ PT_TWO, P_NONZERO, RC_TOPIC_ALIAS_INVALID,
	    IN(PUBLISH), PF(topic_alias), "topic alias 0" },
	[PROP_MAXIMUM_QOS] =	{ PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNACK), PF(maximum_qos), "bad maximum QoS" },
	[PROP_RETAIN_AVAILABLE] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNACK), PF(retain_available),
	    "property value out of range" },
	[PROP_USER_PROPERTY] =	{ PT_PAIR, 0, 0,
	    IN(CONNECT) | IN(CONNACK) | IN(PUBLISH) | PROP_IN_WILL |
	    IN(PUBACK) | IN(PUBREC) | IN(PUBREL) | IN(PUBCOMP) |
	    IN(SUBSCRIBE) | IN(SUBACK) | IN(UNSUBSCRIBE) | IN(UNSUBACK) |
	    IN(DISCONNECT) | IN(AUTH), 0, NULL },
	[PROP_MAXIMUM_PACKET_SIZE] = { PT_FOUR, P_NONZERO, RC_PROTOCOL_ERROR,
	    IN(CONNECT) | IN(CONNACK), PF(maximum_packet_size),
	    "maximum packet size of 0" },
	[PROP_WILDCARD_SUB_AVAILABLE] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNACK), PF(wildcard_sub_available),
	    "property value out of range" },
	[PROP_SUB_ID_AVAILABLE] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNACK), PF(sub_id_available),
	    "property value out of range" },
	[PROP_SHARED_SUB_AVAILABLE] = { PT_BYTE, P_BOOL, RC_PROTOCOL_ERROR,
	    IN(CONNACK), PF(shared_sub_available),
	    "property value out of range" },
};

#undef IN
#undef PF

/* Store a numeric property value in the field of its width. */
static void
prop_store(struct mqtt_props *pr, const struct prop_info *pi, uint32_t v)
{
	uint8_t		*f = (uint8_t *)pr + pi->off;
	uint16_t	 v16 = v;
	uint8_t		 v8 = v;

	switch (pi->type) {
	case PT_BYTE:
		memcpy(f, &v8, sizeof(v8));
		break;
	case PT_TWO:
		memcpy(f, &v16, sizeof(v16));
		break;
	default:
		memcpy(f, &v, sizeof(v));
		break;
	}
}

/*
 * The properties at `p' (their length first), for a packet of the kind
 * `where' (PROP_IN() or PROP_IN_WILL).  Rejects unknown properties, ones
 * the packet may not carry, repeats, bad values and more than `maxuser'
 * user properties.  *used gets the bytes taken.  Each property is
 * decoded as prop_info says.
 */
int
mqtt_decode_props(const uint8_t *p, size_t len, uint32_t where,
    struct mqtt_props *pr, size_t *used, unsigned int maxuser,
    struct mqtt_error *e)
{
	const struct prop_info	*pi;
	struct rd		 r = { p, len }, blk;
	uint32_t		 plen, id, v = 0;
	uint16_t		 v16;
	uint8_t			 v8;
	struct mqtt_str		 s, s2;

	memset(pr, 0, sizeof(*pr));
	if (rd_varint(&r, &plen) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "bad property length");
	if (plen > r.left)
		FAIL(e, RC_MALFORMED_PACKET, "property length past the end");
	pr->block.p = r.p;
	pr->block.len = plen;
	blk.p = r.p;
	blk.left = plen;
	*used = (r.p - p) + plen;

	while (blk.left > 0) {
		if (rd_varint(&blk, &id) == -1 || id >= sizeof(prop_info) /
		    sizeof(prop_info[0]) || prop_info[id].type == PT_NONE)
			FAIL(e, RC_MALFORMED_PACKET, "unknown property");
		pi = &prop_info[id];
		/* An identifier not valid for the packet [MQTT-2.2.2.2]. */
		if ((pi->where & where) == 0)
			FAIL(e, RC_MALFORMED_PACKET,
			    "property not allowed in this packet");
		if (PROP_HAS(pr, id) && id != PROP_USER_PROPERTY &&
		    !(id == PROP_SUBSCRIPTION_ID &&
		    where == PROP_IN(MQTT_PUBLISH)))
			FAIL(e, RC_PROTOCOL_ERROR, "property repeated");
		pr->present |= (uint64_t)1 << id;
		switch (pi->type) {
		case PT_BYTE:
			if (rd_u8(&blk, &v8) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "truncated property");
			v = v8;
			break;
		case PT_TWO:
			if (rd_u16(&blk, &v16) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "truncated property");
			v = v16;
			break;
		case PT_FOUR:
			if (rd_u32(&blk, &v) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "truncated property");
			break;
		case PT_VARINT:
			if (rd_varint(&blk, &v) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "bad variable byte integer");
			break;
		case PT_UTF8:
		case PT_BINARY:
			if (rd_bin(&blk, &s) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "truncated property");
			if (pi->type == PT_UTF8 && !mqtt_utf8_valid(s.p, s.len))
				FAIL(e, RC_MALFORMED_PACKET,
				    "property is not valid UTF-8");
			if ((pi->flags & P_TOPIC) &&
			    !mqtt_topic_valid(s.p, s.len, UINT32_MAX))
				FAIL(e, pi->rc, pi->bad);
			memcpy((uint8_t *)pr + pi->off, &s, sizeof(s));
			continue;
		case PT_PAIR:
			if (rd_bin(&blk, &s) == -1 || rd_bin(&blk, &s2) == -1)
				FAIL(e, RC_MALFORMED_PACKET,
				    "truncated user property");
			if (!mqtt_utf8_valid(s.p, s.len) ||
			    !mqtt_utf8_valid(s2.p, s2.len))
				FAIL(e, RC_MALFORMED_PACKET,
				    "user property is not valid UTF-8");
			if (++pr->nuser > maxuser)
				FAIL(e, RC_QUOTA_EXCEEDED,
				    "too many user properties");
			continue;
		}
		if (((pi->flags & P_BOOL) && v > 1) ||
		    ((pi->flags & P_NONZERO) && v == 0))
			FAIL(e, pi->rc, pi->bad);
		prop_store(pr, pi, v);
	}
	return 0;
}

void
mqtt_set_max_user_props(unsigned int n)
{
	max_user_props = n;
}

/* The bytes of one property whose identifier has been read. */
static int
prop_skip(struct rd *r, uint32_t id)
{
	struct mqtt_str	 s;
	uint32_t	 v;

	switch (prop_info[id].type) {
	case PT_BYTE:
		return r->left >= 1 ? (r->p++, r->left--, 0) : -1;
	case PT_TWO:
		return r->left >= 2 ? (r->p += 2, r->left -= 2, 0) : -1;
	case PT_FOUR:
		return r->left >= 4 ? (r->p += 4, r->left -= 4, 0) : -1;
	case PT_VARINT:
		return rd_varint(r, &v);
	case PT_UTF8:
	case PT_BINARY:
		return rd_bin(r, &s);
	case PT_PAIR:
		if (rd_bin(r, &s) == -1)
			return -1;
		return rd_bin(r, &s);
	default:
		return -1;
	}
}

/*
 * Copy a property block (checked by mqtt_decode_props) to `out', leaving
 * out the properties whose bit is set in `skip' (1 << identifier).
 * Returns the bytes written; `out' must hold the block's length.
 */
size_t
mqtt_props_strip(const struct mqtt_str *block, uint64_t skip, uint8_t *out)
{
	struct rd	 r = { block->p, block->len };
	const uint8_t	*start;
	uint32_t	 id;
	size_t		 n = 0;

	while (r.left > 0) {
		start = r.p;
		if (rd_varint(&r, &id) == -1 || id >= sizeof(prop_info) /
		    sizeof(prop_info[0]) || prop_skip(&r, id) == -1)
			break;
		if ((skip >> id) & 1)
			continue;
		memcpy(out + n, start, r.p - start);
		n += r.p - start;
	}
	return n;
}

int
mqtt_decode_connect(const uint8_t *p, size_t len, struct mqtt_connect *c,
    struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	struct mqtt_str	 name;
	size_t		 used;
	uint8_t		 level, flags;

	memset(c, 0, sizeof(*c));
	if (rd_bin(&r, &name) == -1 || rd_u8(&r, &level) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated CONNECT");
	c->level = level;
	if (name.len == 4 && memcmp(name.p, "MQTT", 4) == 0) {
		c->named = 1;
		if (level != MQTT_V311 && level != MQTT_V5)
			FAIL(e, RC_UNSUPPORTED_PROTOCOL_VERSION,
			    "unsupported protocol level");
	} else if (name.len == 6 && memcmp(name.p, "MQIsdp", 6) == 0) {
		c->named = 1;
		if (level != MQTT_V31)
			FAIL(e, RC_UNSUPPORTED_PROTOCOL_VERSION,
			    "unsupported protocol level");
	} else
		FAIL(e, RC_UNSUPPORTED_PROTOCOL_VERSION,
		    "unknown protocol name");
	c->version = level;
	if (rd_u8(&r, &flags) == -1 || rd_u16(&r, &c->keepalive) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated CONNECT");
	c->flags = flags;
	if (flags & 0x01)
		FAIL(e, RC_MALFORMED_PACKET, "reserved CONNECT flag set");
	c->clean = (flags & 0x02) != 0;
	c->will = (flags & 0x04) != 0;
	c->will_qos = (flags >> 3) & 0x03;
	c->will_retain = (flags & 0x20) != 0;
	c->has_password = (flags & 0x40) != 0;
	c->has_username = (flags & 0x80) != 0;
	if (c->will_qos == 3)
		FAIL(e, RC_MALFORMED_PACKET, "will QoS 3");
	if (!c->will && (c->will_qos != 0 || c->will_retain))
		FAIL(e, RC_MALFORMED_PACKET, "will flags without a will");
	if (level != MQTT_V5 && c->has_password && !c->has_username)
		FAIL(e, RC_MALFORMED_PACKET, "password without user name");

	if (level == MQTT_V5) {
		if (mqtt_decode_props(r.p, r.left, PROP_IN(MQTT_CONNECT),
		    &c->props, &used, max_user_props, e) == -1)
			return -1;
		if (PROP_HAS(&c->props, PROP_AUTH_DATA) &&
		    !PROP_HAS(&c->props, PROP_AUTH_METHOD))
			FAIL(e, RC_PROTOCOL_ERROR,
			    "authentication data without a method");
		r.p += used;
		r.left -= used;
	}
	if (rd_bin(&r, &c->client_id) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated client identifier");
	/* Ill-formed UTF-8 anywhere is a Malformed Packet [MQTT-1.5.4-1]. */
	if (!mqtt_utf8_valid(c->client_id.p, c->client_id.len))
		FAIL(e, RC_MALFORMED_PACKET,
		    "client identifier is not valid UTF-8");
	if (c->will) {
		if (level == MQTT_V5) {
			if (mqtt_decode_props(r.p, r.left, PROP_IN_WILL,
			    &c->will_props, &used, max_user_props, e) == -1)
				return -1;
			r.p += used;
			r.left -= used;
		}
		if (rd_bin(&r, &c->will_topic) == -1 ||
		    rd_bin(&r, &c->will_payload) == -1)
			FAIL(e, RC_MALFORMED_PACKET, "truncated will");
		if (!mqtt_utf8_valid(c->will_topic.p, c->will_topic.len))
			FAIL(e, RC_MALFORMED_PACKET,
			    "will topic is not valid UTF-8");
		if (c->will_props.payload_format == 1 &&
		    !mqtt_utf8_valid(c->will_payload.p, c->will_payload.len))
			FAIL(e, RC_PAYLOAD_FORMAT_INVALID,
			    "will payload is not valid UTF-8");
	}
	if (c->has_username) {
		if (rd_bin(&r, &c->username) == -1)
			FAIL(e, RC_MALFORMED_PACKET, "truncated user name");
		if (!mqtt_utf8_valid(c->username.p, c->username.len))
			FAIL(e, RC_MALFORMED_PACKET,
			    "user name is not valid UTF-8");
	}
	if (c->has_password && rd_bin(&r, &c->password) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated password");
	if (r.left != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the CONNECT payload");
	return 0;
}

/*
 * PUBLISH.  `first' is the first byte of the fixed header.  A zero length
 * topic is left for the caller to resolve with a topic alias (MQTT 5).
 */
int
mqtt_decode_publish(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_publish *m, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	size_t		 used;

	memset(m, 0, sizeof(*m));
	m->qos = (first >> 1) & 0x03;
	m->retain = first & 0x01;
	m->dup = (first & 0x08) != 0;
	if (m->qos == 3)
		FAIL(e, RC_MALFORMED_PACKET, "PUBLISH with QoS 3");
	if (m->qos == 0 && m->dup)
		FAIL(e, RC_MALFORMED_PACKET, "DUP set on a QoS 0 PUBLISH");
	if (rd_bin(&r, &m->topic) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated topic");
	/* 0x90 is for a well-formed topic the broker will not take. */
	if (!mqtt_utf8_valid(m->topic.p, m->topic.len))
		FAIL(e, RC_MALFORMED_PACKET, "topic is not valid UTF-8");
	if (m->topic.len == 0 && !v5)
		FAIL(e, RC_TOPIC_NAME_INVALID, "zero length topic");
	if (m->qos > 0) {
		if (rd_u16(&r, &m->packet_id) == -1)
			FAIL(e, RC_MALFORMED_PACKET,
			    "truncated packet identifier");
		if (m->packet_id == 0)
			FAIL(e, RC_PROTOCOL_ERROR, "packet identifier 0");
	}
	if (v5) {
		if (mqtt_decode_props(r.p, r.left, PROP_IN(MQTT_PUBLISH),
		    &m->props, &used, max_user_props, e) == -1)
			return -1;
		if (PROP_HAS(&m->props, PROP_SUBSCRIPTION_ID))
			FAIL(e, RC_PROTOCOL_ERROR,
			    "subscription identifier from a client");
		r.p += used;
		r.left -= used;
	}
	m->payload.p = r.p;
	m->payload.len = r.left;
	return 0;
}

/* PUBACK, PUBREC, PUBREL and PUBCOMP. */
int
mqtt_decode_ack(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_ack *a, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	uint8_t		 type = first >> 4;
	size_t		 used;

	memset(a, 0, sizeof(*a));
	if ((first & 0x0f) != (type == MQTT_PUBREL ? 0x02 : 0x00))
		FAIL(e, RC_MALFORMED_PACKET, "bad fixed header flags");
	if (rd_u16(&r, &a->packet_id) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated acknowledgement");
	if (a->packet_id == 0)
		FAIL(e, RC_PROTOCOL_ERROR, "packet identifier 0");
	if (!v5) {
		if (r.left != 0)
			FAIL(e, RC_MALFORMED_PACKET,
			    "bytes after an acknowledgement");
		return 0;
	}
	if (r.left == 0)
		return 0;
	rd_u8(&r, &a->reason);
	if (r.left == 0)
		return 0;
	if (mqtt_decode_props(r.p, r.left, PROP_IN(type), &a->props, &used,
	    max_user_props, e) == -1)
		return -1;
	if (used != r.left)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the properties");
	return 0;
}

/* The common part of SUBSCRIBE and UNSUBSCRIBE. */
static int
decode_sub_header(uint8_t first, const uint8_t *p, size_t len, int v5,
    uint32_t where, struct mqtt_subscribe *s, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	size_t		 used;

	memset(s, 0, sizeof(*s));
	if ((first & 0x0f) != 0x02)
		FAIL(e, RC_MALFORMED_PACKET, "bad fixed header flags");
	if (rd_u16(&r, &s->packet_id) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated packet identifier");
	if (s->packet_id == 0)
		FAIL(e, RC_PROTOCOL_ERROR, "packet identifier 0");
	if (v5) {
		if (mqtt_decode_props(r.p, r.left, where, &s->props, &used,
		    max_user_props, e) == -1)
			return -1;
		r.p += used;
		r.left -= used;
	}
	if (r.left == 0)
		FAIL(e, RC_PROTOCOL_ERROR, "no topic filter");
	s->list.p = r.p;
	s->list.len = r.left;
	return 0;
}

int
mqtt_decode_subscribe(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_subscribe *s, struct mqtt_error *e)
{
	struct rd	 r;
	struct mqtt_str	 f;
	uint8_t		 o;

	if (decode_sub_header(first, p, len, v5, PROP_IN(MQTT_SUBSCRIBE), s,
	    e) == -1)
		return -1;
	r.p = s->list.p;
	r.left = s->list.len;
	while (r.left > 0) {
		if (rd_bin(&r, &f) == -1 || rd_u8(&r, &o) == -1)
			FAIL(e, RC_MALFORMED_PACKET, "truncated subscription");
		/*
		 * MQTT 5 calls a Maximum QoS or Retain Handling of 3 a
		 * Protocol Error, set reserved bits a Malformed Packet
		 * [MQTT-3.8.3-5]; 3.1.1 calls both malformed.
		 */
		if (v5 ? (o & 0xc0) != 0 : (o & 0xfc) != 0)
			FAIL(e, RC_MALFORMED_PACKET,
			    "reserved subscription option bits");
		if (SUBOPT_QOS(o) == 3)
			FAIL(e, v5 ? RC_PROTOCOL_ERROR : RC_MALFORMED_PACKET,
			    "subscription QoS 3");
		if (v5 && SUBOPT_RH(o) == 3)
			FAIL(e, RC_PROTOCOL_ERROR, "retain handling 3");
		if (!mqtt_utf8_valid(f.p, f.len))
			FAIL(e, RC_MALFORMED_PACKET,
			    "topic filter is not valid UTF-8");
		s->count++;
	}
	return 0;
}

int
mqtt_decode_unsubscribe(uint8_t first, const uint8_t *p, size_t len,
    int v5, struct mqtt_subscribe *s, struct mqtt_error *e)
{
	struct rd	 r;
	struct mqtt_str	 f;

	if (decode_sub_header(first, p, len, v5, PROP_IN(MQTT_UNSUBSCRIBE),
	    s, e) == -1)
		return -1;
	r.p = s->list.p;
	r.left = s->list.len;
	while (r.left > 0) {
		if (rd_bin(&r, &f) == -1)
			FAIL(e, RC_MALFORMED_PACKET, "truncated topic filter");
		if (!mqtt_utf8_valid(f.p, f.len))
			FAIL(e, RC_MALFORMED_PACKET,
			    "topic filter is not valid UTF-8");
		s->count++;
	}
	return 0;
}

/* The next entry of a SUBSCRIBE list checked by mqtt_decode_subscribe. */
int
mqtt_sub_next(struct mqtt_str *cur, int subscribe, struct mqtt_sub_entry *se)
{
	struct rd	 r = { cur->p, cur->len };

	if (r.left == 0 || rd_bin(&r, &se->filter) == -1)
		return 0;
	se->options = 0;
	if (subscribe && rd_u8(&r, &se->options) == -1)
		return 0;
	cur->p = r.p;
	cur->len = r.left;
	return 1;
}

int
mqtt_unsub_next(struct mqtt_str *cur, struct mqtt_sub_entry *se)
{
	return mqtt_sub_next(cur, 0, se);
}

int
mqtt_decode_disconnect(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_disconnect *d, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	size_t		 used;

	memset(d, 0, sizeof(*d));
	if ((first & 0x0f) != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bad fixed header flags");
	if (!v5) {
		if (len != 0)
			FAIL(e, RC_MALFORMED_PACKET,
			    "bytes in a DISCONNECT");
		return 0;
	}
	if (r.left == 0)
		return 0;
	rd_u8(&r, &d->reason);
	if (r.left == 0)
		return 0;
	if (mqtt_decode_props(r.p, r.left, PROP_IN(MQTT_DISCONNECT),
	    &d->props, &used, max_user_props, e) == -1)
		return -1;
	if (used != r.left)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the properties");
	if (PROP_HAS(&d->props, PROP_SERVER_REFERENCE))
		FAIL(e, RC_PROTOCOL_ERROR, "server reference from a client");
	return 0;
}

int
mqtt_decode_auth(uint8_t first, const uint8_t *p, size_t len,
    struct mqtt_auth *a, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	size_t		 used;

	memset(a, 0, sizeof(*a));
	if ((first & 0x0f) != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bad fixed header flags");
	if (r.left == 0)
		return 0;
	rd_u8(&r, &a->reason);
	if (a->reason != RC_SUCCESS && a->reason !=
	    RC_CONTINUE_AUTHENTICATION && a->reason != RC_REAUTHENTICATE)
		FAIL(e, RC_PROTOCOL_ERROR, "bad AUTH reason code");
	if (r.left == 0)
		return 0;
	if (mqtt_decode_props(r.p, r.left, PROP_IN(MQTT_AUTH), &a->props,
	    &used, max_user_props, e) == -1)
		return -1;
	if (used != r.left)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the properties");
	return 0;
}

/*
 * What a client reads from a server: CONNACK, SUBACK and UNSUBACK.
 */

int
mqtt_decode_connack(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_connack *ca, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	uint8_t		 flags;
	size_t		 used;

	memset(ca, 0, sizeof(*ca));
	if ((first & 0x0f) != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bad CONNACK flags");
	if (rd_u8(&r, &flags) == -1 || rd_u8(&r, &ca->reason) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated CONNACK");
	if (flags & 0xfe)
		FAIL(e, RC_MALFORMED_PACKET, "reserved CONNACK flags set");
	ca->session_present = flags & 0x01;
	if (ca->session_present && ca->reason != 0)
		FAIL(e, RC_PROTOCOL_ERROR, "session present on a refusal");
	if (v5) {
		if (r.left == 0)
			FAIL(e, RC_MALFORMED_PACKET, "CONNACK without "
			    "properties");
		if (mqtt_decode_props(r.p, r.left, PROP_IN(MQTT_CONNACK),
		    &ca->props, &used, max_user_props, e) == -1)
			return -1;
		r.left -= used;
	}
	if (r.left != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the CONNACK");
	return 0;
}

int
mqtt_decode_suback(uint8_t first, const uint8_t *p, size_t len, int v5,
    struct mqtt_suback *sa, struct mqtt_error *e)
{
	struct rd	 r = { p, len };
	size_t		 used;
	uint8_t		 type = first >> 4;

	memset(sa, 0, sizeof(*sa));
	if ((first & 0x0f) != 0)
		FAIL(e, RC_MALFORMED_PACKET, "bad SUBACK flags");
	if (rd_u16(&r, &sa->packet_id) == -1)
		FAIL(e, RC_MALFORMED_PACKET, "truncated SUBACK");
	if (v5) {
		if (mqtt_decode_props(r.p, r.left, PROP_IN(type), &sa->props,
		    &used, max_user_props, e) == -1)
			return -1;
		r.p += used;
		r.left -= used;
	}
	/* MQTT 3.1.1's UNSUBACK has no codes; everything else one at least. */
	if (r.left == 0 && !(type == MQTT_UNSUBACK && !v5))
		FAIL(e, RC_PROTOCOL_ERROR, "no reason codes");
	if (r.left != 0 && type == MQTT_UNSUBACK && !v5)
		FAIL(e, RC_MALFORMED_PACKET, "bytes after the UNSUBACK");
	sa->codes.p = r.p;
	sa->codes.len = r.left;
	return 0;
}

/*
 * Encoding.  Each function appends one packet to `b' and returns 0, or -1
 * if the buffer is at its limit.
 */

/* Room for a fixed header with Remaining Length `rl': write it, return. */
static uint8_t *
enc_begin(struct buf *b, uint8_t first, uint32_t rl)
{
	uint8_t	*p;

	if ((p = buf_reserve(b, 1 + mqtt_varint_size(rl) + rl)) == NULL)
		return NULL;
	p[0] = first;
	return p + 1 + mqtt_varint_encode(p + 1, rl);
}

static void
enc_end(struct buf *b, uint8_t *start, uint8_t *end)
{
	buf_commit(b, end - start);
}

static uint8_t *
put_str_prop(uint8_t *p, uint8_t id, const char *s, size_t len)
{
	*p++ = id;
	p += mqtt_put_u16(p, len);
	memcpy(p, s, len);
	return p + len;
}

/* The lengths of a PUBLISH; -1 if it cannot be encoded at all. */
int
mqtt_publish_size(const struct mqtt_publish_out *po,
    struct mqtt_publish_len *pl)
{
	uint64_t	 rl, plen = 0;
	uint8_t		 i;

	if (po->v5) {
		if (po->has_expiry)
			plen += 5;
		if (po->topic_alias != 0)
			plen += 3;	/* Topic Alias */
		for (i = 0; i < po->nsubids; i++)
			plen += 1 + mqtt_varint_size(po->subids[i]);
		plen += po->props_len;
		if (plen > MQTT_MAX_VARINT)
			return -1;
	}
	rl = 2 + (uint64_t)po->topic_len + (po->qos > 0 ? 2 : 0) +
	    po->payload_len;
	if (po->v5)
		rl += mqtt_varint_size(plen) + plen;
	if (rl > MQTT_MAX_REMAINING)
		return -1;
	pl->rl = rl;
	pl->plen = plen;
	pl->total = 1 + mqtt_varint_size(rl) + rl;
	pl->head = pl->total - po->payload_len;
	return 0;
}

/*
 * Write the head of a PUBLISH (all but the payload) at `w', which has
 * room for pl->head bytes; returns that.
 */
size_t
mqtt_encode_publish_head(uint8_t *w, const struct mqtt_publish_out *po,
    const struct mqtt_publish_len *pl)
{
	uint8_t		*start = w;
	uint8_t		 i;

	*w++ = MQTT_PUBLISH << 4 | (po->dup ? 0x08 : 0) | po->qos << 1 |
	    (po->retain ? 1 : 0);
	w += mqtt_varint_encode(w, pl->rl);
	w += mqtt_put_u16(w, po->topic_len);
	memcpy(w, po->topic, po->topic_len);
	w += po->topic_len;
	if (po->qos > 0)
		w += mqtt_put_u16(w, po->packet_id);
	if (po->v5) {
		w += mqtt_varint_encode(w, pl->plen);
		if (po->has_expiry) {
			*w++ = PROP_MESSAGE_EXPIRY;
			w += mqtt_put_u32(w, po->expiry);
		}
		if (po->topic_alias != 0) {
			*w++ = PROP_TOPIC_ALIAS;
			w += mqtt_put_u16(w, po->topic_alias);
		}
		for (i = 0; i < po->nsubids; i++) {
			*w++ = PROP_SUBSCRIPTION_ID;
			w += mqtt_varint_encode(w, po->subids[i]);
		}
		if (po->props_len > 0)
			memcpy(w, po->props, po->props_len);
		w += po->props_len;
	}
	return w - start;
}

static uint8_t *
put_bin(uint8_t *p, const void *v, size_t len)
{
	p += mqtt_put_u16(p, len);
	if (len > 0)
		memcpy(p, v, len);
	return p + len;
}

static uint8_t	*put_auth_props(uint8_t *, const char *, size_t,
		    const uint8_t *, size_t);
static int	enc_with_props(struct buf *, uint8_t, const uint8_t *, size_t,
		    const uint8_t *, size_t);

/* A CONNECT as a client sends it: MQTT 3.1.1 or 5. */
int
mqtt_encode_connect(struct buf *b, const struct mqtt_connect_out *co)
{
	uint8_t		 props[32], *p, *start, flags = 0;
	size_t		 plen = 0, idlen, ulen = 0, wtlen = 0;
	uint64_t	 rl;
	int		 v5 = co->version == MQTT_V5;

	if (co->version != MQTT_V311 && !v5)
		return -1;
	idlen = strlen(co->client_id);
	if (co->username != NULL)
		ulen = strlen(co->username);
	if (co->will_topic != NULL)
		wtlen = strlen(co->will_topic);
	if (idlen > 65535 || ulen > 65535 || wtlen > 65535 ||
	    co->password_len > 65535 || co->will_payload_len > 65535 ||
	    co->will_qos > 2)
		return -1;
	if (co->clean)
		flags |= 0x02;
	if (co->will_topic != NULL)
		flags |= 0x04 | co->will_qos << 3 | (co->will_retain ? 0x20 : 0);
	if (co->password != NULL)
		flags |= 0x40;
	if (co->username != NULL)
		flags |= 0x80;
	if (v5) {
		p = props;
		if (co->session_expiry != 0) {
			*p++ = PROP_SESSION_EXPIRY;
			p += mqtt_put_u32(p, co->session_expiry);
		}
		if (co->receive_maximum != 0) {
			*p++ = PROP_RECEIVE_MAXIMUM;
			p += mqtt_put_u16(p, co->receive_maximum);
		}
		if (co->maximum_packet_size != 0) {
			*p++ = PROP_MAXIMUM_PACKET_SIZE;
			p += mqtt_put_u32(p, co->maximum_packet_size);
		}
		if (co->topic_alias_maximum != 0) {
			*p++ = PROP_TOPIC_ALIAS_MAXIMUM;
			p += mqtt_put_u16(p, co->topic_alias_maximum);
		}
		plen = p - props;
	}
	rl = 2 + 4 + 1 + 1 + 2 + 2 + idlen;
	if (v5)
		rl += mqtt_varint_size(plen) + plen;
	if (co->will_topic != NULL)
		rl += (v5 ? 1 : 0) + 2 + wtlen + 2 + co->will_payload_len;
	if (co->username != NULL)
		rl += 2 + ulen;
	if (co->password != NULL)
		rl += 2 + co->password_len;
	if ((p = enc_begin(b, MQTT_CONNECT << 4, rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	p = put_bin(p, "MQTT", 4);
	*p++ = co->version;
	*p++ = flags;
	p += mqtt_put_u16(p, co->keepalive);
	if (v5) {
		p += mqtt_varint_encode(p, plen);
		memcpy(p, props, plen);
		p += plen;
	}
	p = put_bin(p, co->client_id, idlen);
	if (co->will_topic != NULL) {
		if (v5)
			*p++ = 0;	/* no will properties */
		p = put_bin(p, co->will_topic, wtlen);
		p = put_bin(p, co->will_payload, co->will_payload_len);
	}
	if (co->username != NULL)
		p = put_bin(p, co->username, ulen);
	if (co->password != NULL)
		p = put_bin(p, co->password, co->password_len);
	enc_end(b, start, p);
	return 0;
}

/*
 * SUBSCRIBE as a client sends it; `subid', if not 0, is its subscription
 * identifier (MQTT 5).
 */
int
mqtt_encode_subscribe(struct buf *b, uint16_t pid,
    const struct mqtt_sub_out *subs, unsigned int n, uint32_t subid, int v5)
{
	uint8_t		 props[8], *p, *start;
	size_t		 plen = 0, len;
	uint64_t	 rl = 2;
	unsigned int	 i;

	if (n == 0 || pid == 0 || subid > MQTT_MAX_VARINT)
		return -1;
	if (v5) {
		if (subid != 0) {
			props[0] = PROP_SUBSCRIPTION_ID;
			plen = 1 + mqtt_varint_encode(props + 1, subid);
		}
		rl += mqtt_varint_size(plen) + plen;
	}
	for (i = 0; i < n; i++) {
		if ((len = strlen(subs[i].filter)) > 65535)
			return -1;
		rl += 2 + len + 1;
	}
	if (rl > MQTT_MAX_REMAINING ||
	    (p = enc_begin(b, MQTT_SUBSCRIBE << 4 | 0x02, rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	p += mqtt_put_u16(p, pid);
	if (v5) {
		p += mqtt_varint_encode(p, plen);
		memcpy(p, props, plen);
		p += plen;
	}
	for (i = 0; i < n; i++) {
		p = put_bin(p, subs[i].filter, strlen(subs[i].filter));
		*p++ = v5 ? subs[i].options : SUBOPT_QOS(subs[i].options);
	}
	enc_end(b, start, p);
	return 0;
}

int
mqtt_encode_unsubscribe(struct buf *b, uint16_t pid,
    const char *const *filters, unsigned int n, int v5)
{
	uint8_t		*p, *start;
	size_t		 len;
	uint64_t	 rl = 2 + (v5 ? 1 : 0);
	unsigned int	 i;

	if (n == 0 || pid == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((len = strlen(filters[i])) > 65535)
			return -1;
		rl += 2 + len;
	}
	if (rl > MQTT_MAX_REMAINING ||
	    (p = enc_begin(b, MQTT_UNSUBSCRIBE << 4 | 0x02, rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	p += mqtt_put_u16(p, pid);
	if (v5)
		*p++ = 0;	/* no properties */
	for (i = 0; i < n; i++)
		p = put_bin(p, filters[i], strlen(filters[i]));
	enc_end(b, start, p);
	return 0;
}

int
mqtt_encode_pingreq(struct buf *b)
{
	uint8_t	*p, *start;

	if ((p = enc_begin(b, MQTT_PINGREQ << 4, 0)) == NULL)
		return -1;
	start = b->data + b->wpos;
	enc_end(b, start, p);
	return 0;
}

int
mqtt_encode_connack(struct buf *b, const struct mqtt_connack_info *ci)
{
	uint8_t		 props[512 + MQTT_AUTH_METHOD_MAX + MQTT_AUTH_DATA_MAX];
	uint8_t		*p, *start, head[2];
	size_t		 idlen = 0, rslen = 0, mlen = 0;

	if (!ci->v5) {
		if ((p = enc_begin(b, MQTT_CONNACK << 4, 2)) == NULL)
			return -1;
		start = b->data + b->wpos;
		p[0] = ci->session_present ? 1 : 0;
		p[1] = ci->reason;
		enc_end(b, start, p + 2);
		return 0;
	}
	if (ci->assigned_client_id != NULL)
		idlen = strlen(ci->assigned_client_id);
	if (ci->reason_string != NULL)
		rslen = strlen(ci->reason_string);
	if (ci->auth_method != NULL)
		mlen = strlen(ci->auth_method);
	if (idlen > 256 || rslen > 128 || mlen > MQTT_AUTH_METHOD_MAX ||
	    ci->auth_data_len > MQTT_AUTH_DATA_MAX)
		return -1;
	p = props;
	if (ci->send_session_expiry) {
		*p++ = PROP_SESSION_EXPIRY;
		p += mqtt_put_u32(p, ci->session_expiry);
	}
	if (ci->reason == RC_SUCCESS) {
		if (ci->receive_maximum != 0 && ci->receive_maximum != 65535) {
			*p++ = PROP_RECEIVE_MAXIMUM;
			p += mqtt_put_u16(p, ci->receive_maximum);
		}
		if (ci->maximum_qos < 2) {
			*p++ = PROP_MAXIMUM_QOS;
			*p++ = ci->maximum_qos;
		}
		if (!ci->retain_available) {
			*p++ = PROP_RETAIN_AVAILABLE;
			*p++ = 0;
		}
		if (ci->maximum_packet_size != 0) {
			*p++ = PROP_MAXIMUM_PACKET_SIZE;
			p += mqtt_put_u32(p, ci->maximum_packet_size);
		}
		if (idlen > 0)
			p = put_str_prop(p, PROP_ASSIGNED_CLIENT_ID,
			    ci->assigned_client_id, idlen);
		if (ci->topic_alias_maximum != 0) {
			*p++ = PROP_TOPIC_ALIAS_MAXIMUM;
			p += mqtt_put_u16(p, ci->topic_alias_maximum);
		}
		if (!ci->wildcard_available) {
			*p++ = PROP_WILDCARD_SUB_AVAILABLE;
			*p++ = 0;
		}
		if (!ci->sub_id_available) {
			*p++ = PROP_SUB_ID_AVAILABLE;
			*p++ = 0;
		}
		if (!ci->shared_available) {
			*p++ = PROP_SHARED_SUB_AVAILABLE;
			*p++ = 0;
		}
		if (ci->send_server_keep_alive) {
			*p++ = PROP_SERVER_KEEP_ALIVE;
			p += mqtt_put_u16(p, ci->server_keep_alive);
		}
		if (mlen > 0)
			p = put_auth_props(p, ci->auth_method, mlen,
			    ci->auth_data, ci->auth_data_len);
	}
	if (rslen > 0)
		p = put_str_prop(p, PROP_REASON_STRING, ci->reason_string,
		    rslen);
	head[0] = ci->session_present ? 1 : 0;
	head[1] = ci->reason;
	return enc_with_props(b, MQTT_CONNACK << 4, head, 2, props,
	    p - props);
}

/* A packet of `hlen' bytes of variable header, then its properties. */
static int
enc_with_props(struct buf *b, uint8_t first, const uint8_t *head,
    size_t hlen, const uint8_t *props, size_t plen)
{
	uint8_t		*p, *start;

	if ((p = enc_begin(b, first, hlen + mqtt_varint_size(plen) +
	    plen)) == NULL)
		return -1;
	start = b->data + b->wpos;
	memcpy(p, head, hlen);
	p += hlen;
	p += mqtt_varint_encode(p, plen);
	memcpy(p, props, plen);
	enc_end(b, start, p + plen);
	return 0;
}

/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP; and UNSUBACK for MQTT 3.1.1 (no
 * payload).  MQTT 5 gets the reason code unless it is 0 with nothing else.
 */
int
mqtt_encode_ack(struct buf *b, uint8_t type, uint16_t id, uint8_t reason,
    int v5, const char *reason_string)
{
	uint8_t		*p, *start;
	size_t		 rslen = 0;
	uint32_t	 rl = 2;

	if (v5 && reason_string != NULL) {
		rslen = strlen(reason_string);
		if (rslen > 256)
			rslen = 256;
	}
	if (v5 && (reason != RC_SUCCESS || rslen > 0))
		rl = rslen > 0 ? 3 + mqtt_varint_size(3 + rslen) + 3 + rslen :
		    3;
	if ((p = enc_begin(b, type << 4 | (type == MQTT_PUBREL ? 0x02 : 0),
	    rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	p += mqtt_put_u16(p, id);
	if (rl > 2)
		*p++ = reason;
	if (rslen > 0) {
		p += mqtt_varint_encode(p, 3 + rslen);
		p = put_str_prop(p, PROP_REASON_STRING, reason_string, rslen);
	}
	enc_end(b, start, p);
	return 0;
}

/* SUBACK, and the MQTT 5 UNSUBACK, with one reason code per filter. */
int
mqtt_encode_suback(struct buf *b, uint8_t type, uint16_t id,
    const uint8_t *codes, unsigned int n, int v5)
{
	uint8_t		*p, *start;
	uint32_t	 rl;

	if (type == MQTT_UNSUBACK && !v5)
		return mqtt_encode_ack(b, MQTT_UNSUBACK, id, 0, 0, NULL);
	rl = 2 + (v5 ? 1 : 0) + n;
	if ((p = enc_begin(b, type << 4, rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	p += mqtt_put_u16(p, id);
	if (v5)
		*p++ = 0;
	memcpy(p, codes, n);
	enc_end(b, start, p + n);
	return 0;
}

int
mqtt_encode_pingresp(struct buf *b)
{
	uint8_t	*p, *start;

	if ((p = enc_begin(b, MQTT_PINGRESP << 4, 0)) == NULL)
		return -1;
	start = b->data + b->wpos;
	enc_end(b, start, p);
	return 0;
}

/* Authentication Method and, if any, Authentication Data. */
static uint8_t *
put_auth_props(uint8_t *p, const char *method, size_t mlen,
    const uint8_t *data, size_t dlen)
{
	p = put_str_prop(p, PROP_AUTH_METHOD, method, mlen);
	if (dlen > 0) {
		*p++ = PROP_AUTH_DATA;
		p = put_bin(p, data, dlen);
	}
	return p;
}

/* An AUTH from the server: a reason code, the method and its data. */
int
mqtt_encode_auth(struct buf *b, uint8_t reason, const char *method,
    const uint8_t *data, size_t dlen)
{
	uint8_t		 props[3 + MQTT_AUTH_METHOD_MAX + 3 +
			    MQTT_AUTH_DATA_MAX];
	size_t		 mlen = strlen(method);

	if (mlen > MQTT_AUTH_METHOD_MAX || dlen > MQTT_AUTH_DATA_MAX)
		return -1;
	return enc_with_props(b, MQTT_AUTH << 4, &reason, 1, props,
	    put_auth_props(props, method, mlen, data, dlen) - props);
}

/* An MQTT 5 DISCONNECT from the server. */
int
mqtt_encode_disconnect(struct buf *b, uint8_t reason, const char *rs)
{
	uint8_t		*p, *start;
	size_t		 rslen = rs != NULL ? strlen(rs) : 0;
	uint32_t	 rl;

	if (rslen > 256)
		rslen = 256;
	rl = rslen > 0 ? 1 + mqtt_varint_size(3 + rslen) + 3 + rslen :
	    (reason != 0 ? 1 : 0);
	if ((p = enc_begin(b, MQTT_DISCONNECT << 4, rl)) == NULL)
		return -1;
	start = b->data + b->wpos;
	if (rl > 0)
		*p++ = reason;
	if (rslen > 0) {
		p += mqtt_varint_encode(p, 3 + rslen);
		p = put_str_prop(p, PROP_REASON_STRING, rs, rslen);
	}
	enc_end(b, start, p);
	return 0;
}

const char *
mqtt_type_name(unsigned int t)
{
	static const char *const names[] = {
		"reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK",
		"PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK",
		"UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
		"DISCONNECT", "AUTH"
	};

	return t < 16 ? names[t] : "?";
}

const char *
mqtt_reason_name(uint8_t rc)
{
	switch (rc) {
	case RC_SUCCESS:			return "success";
	case RC_UNSPECIFIED:			return "unspecified error";
	case RC_MALFORMED_PACKET:		return "malformed packet";
	case RC_PROTOCOL_ERROR:			return "protocol error";
	case RC_IMPLEMENTATION_SPECIFIC:	return "implementation "
						    "specific error";
	case RC_UNSUPPORTED_PROTOCOL_VERSION:	return "unsupported "
						    "protocol version";
	case RC_CLIENT_ID_NOT_VALID:		return "client identifier "
						    "not valid";
	case RC_BAD_USERNAME_OR_PASSWORD:	return "bad user name or "
						    "password";
	case RC_NOT_AUTHORIZED:			return "not authorized";
	case RC_SERVER_UNAVAILABLE:		return "server unavailable";
	case RC_SERVER_BUSY:			return "server busy";
	case RC_SERVER_SHUTTING_DOWN:		return "server shutting down";
	case RC_BAD_AUTHENTICATION_METHOD:	return "bad authentication "
						    "method";
	case RC_KEEP_ALIVE_TIMEOUT:		return "keep alive timeout";
	case RC_SESSION_TAKEN_OVER:		return "session taken over";
	case RC_ADMINISTRATIVE_ACTION:		return "administrative action";
	case RC_TOPIC_FILTER_INVALID:		return "topic filter invalid";
	case RC_TOPIC_NAME_INVALID:		return "topic name invalid";
	case RC_PACKET_ID_IN_USE:		return "packet identifier "
						    "in use";
	case RC_PACKET_ID_NOT_FOUND:		return "packet identifier "
						    "not found";
	case RC_RECEIVE_MAXIMUM_EXCEEDED:	return "receive maximum "
						    "exceeded";
	case RC_TOPIC_ALIAS_INVALID:		return "topic alias invalid";
	case RC_PACKET_TOO_LARGE:		return "packet too large";
	case RC_QUOTA_EXCEEDED:			return "quota exceeded";
	case RC_PAYLOAD_FORMAT_INVALID:		return "payload format "
						    "invalid";
	case RC_RETAIN_NOT_SUPPORTED:		return "retain not supported";
	case RC_QOS_NOT_SUPPORTED:		return "QoS not supported";
	case RC_SHARED_SUBS_NOT_SUPPORTED:	return "shared subscriptions "
						    "not supported";
	case RC_SUB_IDS_NOT_SUPPORTED:		return "subscription "
						    "identifiers not supported";
	case RC_WILDCARD_SUBS_NOT_SUPPORTED:	return "wildcard "
						    "subscriptions not "
						    "supported";
	default:				return "error";
	}
}
