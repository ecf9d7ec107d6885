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
 * MQTT packets written to a connection: the codec encodes (mqtt.c), this
 * file adds what the connection decides (its protocol version, its
 * maximum packet size, a message's remaining expiry) and queues the bytes
 * (conn.c).  The layers above (session.c, client.c) say what to send;
 * nothing here keeps state about a client.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "engine.h"

static struct buf	 out;		/* one packet being encoded */

/* Queue what was encoded into `out'. */
static void
packet_send(struct conn *c)
{
	engine_stats.packets_out++;
	if (conn_send(c, buf_ptr(&out), buf_len(&out)) == -1)
		conn_close(c, "out of memory");
	out.rpos = out.wpos = 0;
}

void
packet_ack(struct conn *c, uint8_t type, uint16_t pid, uint8_t reason)
{
	if (mqtt_encode_ack(&out, type, pid, reason, c->version == MQTT_V5,
	    NULL) == 0)
		packet_send(c);
}

void
packet_connack(struct conn *c, const struct mqtt_connack_info *ci)
{
	if (mqtt_encode_connack(&out, ci) == 0)
		packet_send(c);
}

/* AUTH: a step of the client's enhanced authentication (MQTT 5). */
int
packet_auth(struct conn *c, uint8_t reason, const char *method,
    const uint8_t *data, size_t len)
{
	if (mqtt_encode_auth(&out, reason, method, data, len) == -1)
		return -1;
	packet_send(c);
	return 0;
}

/* DISCONNECT with a reason: only MQTT 5 has one.  Returns -1 if not sent. */
int
packet_disconnect(struct conn *c, uint8_t reason)
{
	if (c->version != MQTT_V5 ||
	    mqtt_encode_disconnect(&out, reason, NULL) == -1)
		return -1;
	packet_send(c);
	return 0;
}

void
packet_pingresp(struct conn *c)
{
	if (mqtt_encode_pingresp(&out) == 0)
		packet_send(c);
}

/* SUBACK or UNSUBACK with one reason code per filter. */
void
packet_suback(struct conn *c, uint8_t type, uint16_t pid,
    const uint8_t *codes, unsigned int n)
{
	if (mqtt_encode_suback(&out, type, pid, codes, n,
	    c->version == MQTT_V5) == 0)
		packet_send(c);
}

/*
 * Write a PUBLISH to a connection, encoded for its protocol version: the
 * remaining message expiry, the subscription identifiers, the properties
 * as published.  Returns -1 if it was not sent: expired, or larger than
 * the client's maximum packet size, which drops it as MQTT 5 says.  A
 * resend (`dup') goes even if it expired meanwhile: its delivery began.
 */
int
packet_publish(struct conn *c, struct pub *p, uint8_t qos, uint16_t pid,
    int retain, int dup, const uint32_t *subids, uint8_t nsub)
{
	struct mqtt_publish_out	 po;
	struct mqtt_publish_len	 pl;
	struct alias_pick	 ap;
	struct msg		*m = NULL;
	uint8_t			*w;
	size_t			 copy;
	uint64_t		 now;

	memset(&po, 0, sizeof(po));
	po.topic = p->topic;
	po.topic_len = p->topic_len;
	po.qos = qos;
	po.retain = retain;
	po.dup = dup;
	po.packet_id = pid;
	po.payload_len = p->payload_len;
	if ((po.v5 = c->version == MQTT_V5)) {
		if (p->expires != 0) {
			now = ev_now();
			if (now >= p->expires && !dup) {
				engine_stats.drop_expired++;
				return -1;
			}
			po.has_expiry = 1;
			po.expiry = now >= p->expires ? 1 :
			    (p->expires - now + 999) / 1000;
		}
		po.subids = subids;
		po.nsubids = nsub;
		po.props = p->props;
		po.props_len = p->props_len;
		if (alias_out_pick(c, p->topic, p->topic_len, &ap) !=
		    ALIAS_NONE)
			po.topic_alias = ap.id;
		if (ap.what == ALIAS_USE)
			po.topic_len = 0;
	} else
		ap.what = ALIAS_NONE;
	if (mqtt_publish_size(&po, &pl) == -1 ||
	    pl.total > c->max_packet_out) {
		engine_stats.drop_too_large++;
		return -1;
	}
	/*
	 * A large payload is shared, not copied for every subscriber: once
	 * it is stored anyway, or from the second subscriber on (making a
	 * shared copy for one reader would only cost a copy more).
	 */
	copy = pl.total;
	if (p->payload_len >= OREF_MIN && (p->msg != NULL || p->encoded > 0)) {
		m = pub_msg(p);
		copy = pl.head;
	}
	if ((w = conn_reserve(c, copy)) == NULL)
		return -1;
	alias_out_commit(c, &ap);
	mqtt_encode_publish_head(w, &po, &pl);
	if (m != NULL) {
		conn_commit(c, pl.head);
		if (conn_send_ref(c, m, MSG_PAYLOAD(m), m->payload_len) == -1)
			conn_close(c, "out of memory");
	} else {
		if (p->payload_len > 0)
			memcpy(w + pl.head, p->payload, p->payload_len);
		conn_commit(c, pl.total);
	}
	p->encoded++;
	engine_stats.msgs_out++;
	engine_stats.packets_out++;
	engine_stats.pub_bytes_out += p->payload_len;
	return 0;
}
