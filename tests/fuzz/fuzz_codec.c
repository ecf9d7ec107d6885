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
 * libFuzzer target for every decoder of the MQTT codec on its own,
 * including those only a client (a bridge) uses: the first byte chooses
 * the protocol version (bits 0-1) and is the packet's first byte's type
 * (bits 4-7); the rest is the packet's body.  A packet a decoder
 * accepts is walked to its end (subscription lists) and, for the codes
 * of a SUBACK, read whole.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

volatile size_t	 fuzz_sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mqtt_connect	 cn;
	struct mqtt_connack	 ca;
	struct mqtt_publish	 pb;
	struct mqtt_ack		 ak;
	struct mqtt_subscribe	 sb;
	struct mqtt_sub_entry	 se;
	struct mqtt_suback	 sa;
	struct mqtt_disconnect	 dc;
	struct mqtt_auth	 au;
	struct mqtt_error	 e;
	struct mqtt_str		 cur;
	uint8_t			 first, out[4096];
	size_t			 i;
	int			 v5;

	if (len < 1)
		return 0;
	first = data[0] & 0xf3;		/* bits 2-3: flags, kept zero */
	v5 = (data[0] & 0x03) == 1;
	data++;
	len--;
	switch (first >> 4) {
	case MQTT_CONNECT:
		if (mqtt_decode_connect(data, len, &cn, &e) == 0)
			fuzz_sink += cn.client_id.len + cn.password.len;
		break;
	case MQTT_CONNACK:
		if (mqtt_decode_connack(first & 0xf0, data, len, v5, &ca,
		    &e) == 0)
			fuzz_sink += ca.reason;
		break;
	case MQTT_PUBLISH:
		/* Every QoS, retain and dup: the flags come from data[0]. */
		if (mqtt_decode_publish(MQTT_PUBLISH << 4 | (data[-1] & 0x0f),
		    data, len, v5, &pb, &e) == 0 &&
		    pb.props.block.len <= sizeof(out))
			fuzz_sink += mqtt_props_strip(&pb.props.block,
			    1ULL << PROP_TOPIC_ALIAS, out);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		if (mqtt_decode_ack(first & 0xf0, data, len, v5, &ak, &e) == 0)
			fuzz_sink += ak.reason;
		break;
	case MQTT_PUBREL:
		if (mqtt_decode_ack(MQTT_PUBREL << 4 | 0x02, data, len, v5, &ak,
		    &e) == 0)
			fuzz_sink += ak.reason;
		break;
	case MQTT_SUBSCRIBE:
		if (mqtt_decode_subscribe(MQTT_SUBSCRIBE << 4 | 0x02, data, len,
		    v5, &sb, &e) == 0) {
			cur = sb.list;
			for (i = 0; mqtt_sub_next(&cur, 1, &se); i++)
				fuzz_sink += se.filter.len;
			if (i != sb.count)
				abort();
		}
		break;
	case MQTT_UNSUBSCRIBE:
		if (mqtt_decode_unsubscribe(MQTT_UNSUBSCRIBE << 4 | 0x02, data,
		    len, v5, &sb, &e) == 0) {
			cur = sb.list;
			for (i = 0; mqtt_unsub_next(&cur, &se); i++)
				fuzz_sink += se.filter.len;
			if (i != sb.count)
				abort();
		}
		break;
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		if (mqtt_decode_suback(first & 0xf0, data, len, v5, &sa,
		    &e) == 0)
			for (i = 0; i < sa.codes.len; i++)
				fuzz_sink += sa.codes.p[i];
		break;
	case MQTT_DISCONNECT:
		if (mqtt_decode_disconnect(first & 0xf0, data, len, v5, &dc,
		    &e) == 0)
			fuzz_sink += dc.reason;
		break;
	case MQTT_AUTH:
		if (mqtt_decode_auth(first & 0xf0, data, len, &au, &e) == 0)
			fuzz_sink += au.reason;
		break;
	default:
		break;
	}
	return 0;
}
