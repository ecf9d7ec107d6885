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

#ifndef BROKERD_MQTT_H
#define BROKERD_MQTT_H

/*
 * The MQTT 3.1, 3.1.1 and 5.0 wire format: strict decoding into structures
 * that point into the packet (nothing is copied or allocated), and
 * encoding into a struct buf.  No engine state lives here.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Protocol levels. */
#define MQTT_V31		3	/* "MQIsdp" */
#define MQTT_V311		4
#define MQTT_V5			5

/* Packet types (the high nibble of the first byte). */
enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK,
	MQTT_PUBLISH,
	MQTT_PUBACK,
	MQTT_PUBREC,
	MQTT_PUBREL,
	MQTT_PUBCOMP,
	MQTT_SUBSCRIBE,
	MQTT_SUBACK,
	MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK,
	MQTT_PINGREQ,
	MQTT_PINGRESP,
	MQTT_DISCONNECT,
	MQTT_AUTH
};

#define MQTT_MAX_REMAINING	268435455	/* 4 byte variable integer */
#define MQTT_MAX_VARINT		268435455

/* Reason codes (MQTT 5). */
#define RC_SUCCESS			0x00
#define RC_GRANTED_QOS1			0x01
#define RC_GRANTED_QOS2			0x02
#define RC_DISCONNECT_WITH_WILL		0x04
#define RC_NO_MATCHING_SUBSCRIBERS	0x10
#define RC_NO_SUBSCRIPTION_EXISTED	0x11
#define RC_CONTINUE_AUTHENTICATION	0x18
#define RC_REAUTHENTICATE		0x19
#define RC_UNSPECIFIED			0x80
#define RC_MALFORMED_PACKET		0x81
#define RC_PROTOCOL_ERROR		0x82
#define RC_IMPLEMENTATION_SPECIFIC	0x83
#define RC_UNSUPPORTED_PROTOCOL_VERSION	0x84
#define RC_CLIENT_ID_NOT_VALID		0x85
#define RC_BAD_USERNAME_OR_PASSWORD	0x86
#define RC_NOT_AUTHORIZED		0x87
#define RC_SERVER_UNAVAILABLE		0x88
#define RC_SERVER_BUSY			0x89
#define RC_BANNED			0x8a
#define RC_SERVER_SHUTTING_DOWN		0x8b
#define RC_BAD_AUTHENTICATION_METHOD	0x8c
#define RC_KEEP_ALIVE_TIMEOUT		0x8d
#define RC_SESSION_TAKEN_OVER		0x8e
#define RC_TOPIC_FILTER_INVALID		0x8f
#define RC_TOPIC_NAME_INVALID		0x90
#define RC_PACKET_ID_IN_USE		0x91
#define RC_PACKET_ID_NOT_FOUND		0x92
#define RC_RECEIVE_MAXIMUM_EXCEEDED	0x93
#define RC_TOPIC_ALIAS_INVALID		0x94
#define RC_PACKET_TOO_LARGE		0x95
#define RC_MESSAGE_RATE_TOO_HIGH	0x96
#define RC_QUOTA_EXCEEDED		0x97
#define RC_ADMINISTRATIVE_ACTION	0x98
#define RC_PAYLOAD_FORMAT_INVALID	0x99
#define RC_RETAIN_NOT_SUPPORTED		0x9a
#define RC_QOS_NOT_SUPPORTED		0x9b
#define RC_USE_ANOTHER_SERVER		0x9c
#define RC_SERVER_MOVED			0x9d
#define RC_SHARED_SUBS_NOT_SUPPORTED	0x9e
#define RC_CONNECTION_RATE_EXCEEDED	0x9f
#define RC_MAXIMUM_CONNECT_TIME		0xa0
#define RC_SUB_IDS_NOT_SUPPORTED	0xa1
#define RC_WILDCARD_SUBS_NOT_SUPPORTED	0xa2

/* MQTT 3.1 and 3.1.1 CONNACK return codes. */
#define CONNACK_ACCEPTED		0
#define CONNACK_BAD_PROTOCOL		1
#define CONNACK_ID_REJECTED		2
#define CONNACK_SERVER_UNAVAILABLE	3
#define CONNACK_BAD_CREDENTIALS		4
#define CONNACK_NOT_AUTHORIZED		5

/* MQTT 5 property identifiers. */
#define PROP_PAYLOAD_FORMAT		0x01
#define PROP_MESSAGE_EXPIRY		0x02
#define PROP_CONTENT_TYPE		0x03
#define PROP_RESPONSE_TOPIC		0x08
#define PROP_CORRELATION_DATA		0x09
#define PROP_SUBSCRIPTION_ID		0x0b
#define PROP_SESSION_EXPIRY		0x11
#define PROP_ASSIGNED_CLIENT_ID		0x12
#define PROP_SERVER_KEEP_ALIVE		0x13
#define PROP_AUTH_METHOD		0x15
#define PROP_AUTH_DATA			0x16
#define PROP_REQUEST_PROBLEM_INFO	0x17
#define PROP_WILL_DELAY			0x18
#define PROP_REQUEST_RESPONSE_INFO	0x19
#define PROP_RESPONSE_INFO		0x1a
#define PROP_SERVER_REFERENCE		0x1c
#define PROP_REASON_STRING		0x1f
#define PROP_RECEIVE_MAXIMUM		0x21
#define PROP_TOPIC_ALIAS_MAXIMUM	0x22
#define PROP_TOPIC_ALIAS		0x23
#define PROP_MAXIMUM_QOS		0x24
#define PROP_RETAIN_AVAILABLE		0x25
#define PROP_USER_PROPERTY		0x26
#define PROP_MAXIMUM_PACKET_SIZE	0x27
#define PROP_WILDCARD_SUB_AVAILABLE	0x28
#define PROP_SUB_ID_AVAILABLE		0x29
#define PROP_SHARED_SUB_AVAILABLE	0x2a

/* Where a property may appear: the bit of the packet type, or WILL. */
#define PROP_IN(t)			(1u << (t))
#define PROP_IN_WILL			(1u << 16)

#define MQTT_MAX_SUB_IDS		16	/* kept per PUBLISH */

/* A length-counted byte string pointing into a packet. */
struct mqtt_str {
	const uint8_t	*p;
	size_t		 len;
};

/*
 * The properties of one packet.  `present' has bit (1 << id) for every
 * property seen.  User properties are counted and left in place; `block'
 * is the whole property block as received, for forwarding.
 */
struct mqtt_props {
	uint64_t	 present;
	uint8_t		 payload_format;
	uint32_t	 message_expiry;
	struct mqtt_str	 content_type;
	struct mqtt_str	 response_topic;
	struct mqtt_str	 correlation_data;
	uint32_t	 sub_id;
	uint32_t	 session_expiry;
	struct mqtt_str	 assigned_client_id;
	uint16_t	 server_keep_alive;
	struct mqtt_str	 auth_method;
	struct mqtt_str	 auth_data;
	uint8_t		 request_problem_info;
	uint32_t	 will_delay;
	uint8_t		 request_response_info;
	struct mqtt_str	 response_info;
	struct mqtt_str	 server_reference;
	struct mqtt_str	 reason_string;
	uint16_t	 receive_maximum;
	uint16_t	 topic_alias_maximum;
	uint16_t	 topic_alias;
	uint8_t		 maximum_qos;
	uint8_t		 retain_available;
	uint32_t	 maximum_packet_size;
	uint8_t		 wildcard_sub_available;
	uint8_t		 sub_id_available;
	uint8_t		 shared_sub_available;
	unsigned int	 nuser;		/* user properties */
	struct mqtt_str	 block;		/* all properties, raw */
};

#define PROP_HAS(pr, id)	(((pr)->present >> (id)) & 1)

struct mqtt_connect {
	uint8_t		 version;	/* 3, 4 or 5, once accepted */
	uint8_t		 level;		/* as sent */
	int		 named;		/* "MQTT" or "MQIsdp" */
	uint8_t		 flags;
	int		 clean;
	uint16_t	 keepalive;
	struct mqtt_props props;
	struct mqtt_str	 client_id;
	int		 will;
	uint8_t		 will_qos;
	int		 will_retain;
	struct mqtt_props will_props;
	struct mqtt_str	 will_topic;
	struct mqtt_str	 will_payload;
	int		 has_username;
	struct mqtt_str	 username;
	int		 has_password;
	struct mqtt_str	 password;
};

struct mqtt_publish {
	uint8_t		 qos;
	int		 retain;
	int		 dup;
	struct mqtt_str	 topic;
	uint16_t	 packet_id;
	struct mqtt_props props;
	struct mqtt_str	 payload;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
struct mqtt_ack {
	uint16_t	 packet_id;
	uint8_t		 reason;
	struct mqtt_props props;
};

/* SUBSCRIBE and UNSUBSCRIBE: the list is walked with mqtt_sub_next(). */
struct mqtt_subscribe {
	uint16_t	 packet_id;
	struct mqtt_props props;
	struct mqtt_str	 list;		/* the payload */
	unsigned int	 count;
};

struct mqtt_sub_entry {
	struct mqtt_str	 filter;
	uint8_t		 options;	/* SUBSCRIBE only */
};

/* Subscription options (MQTT 5; 3.1.1 has the QoS only). */
#define SUBOPT_QOS(o)		((o) & 0x03)
#define SUBOPT_NO_LOCAL		0x04
#define SUBOPT_RAP		0x08
#define SUBOPT_RH(o)		(((o) >> 4) & 0x03)

struct mqtt_disconnect {
	uint8_t		 reason;
	struct mqtt_props props;
};

struct mqtt_auth {
	uint8_t		 reason;
	struct mqtt_props props;
};

/* CONNACK, as a client (a bridge) reads it. */
struct mqtt_connack {
	int		 session_present;
	uint8_t		 reason;	/* MQTT 5 reason, or 3.1.1 code */
	struct mqtt_props props;
};

/* SUBACK or UNSUBACK, as a client reads it: one code per filter. */
struct mqtt_suback {
	uint16_t	 packet_id;
	struct mqtt_props props;
	struct mqtt_str	 codes;
};

/*
 * What decoding found wrong: a reason code for the DISCONNECT or CONNACK
 * (MQTT 5) and a message for the log.
 */
struct mqtt_error {
	uint8_t		 reason;
	const char	*why;
};

/* mqtt.c */
int	 mqtt_varint_decode(const uint8_t *, size_t, uint32_t *, size_t *);
size_t	 mqtt_varint_encode(uint8_t *, uint32_t);
size_t	 mqtt_varint_size(uint32_t);
int	 mqtt_header(const uint8_t *, size_t, uint8_t *, uint32_t *,
	    size_t *);
int	 mqtt_utf8_valid(const uint8_t *, size_t);
int	 mqtt_topic_valid(const uint8_t *, size_t, unsigned int);
int	 mqtt_filter_valid(const uint8_t *, size_t, unsigned int, int *);
int	 mqtt_shared_split(const uint8_t *, size_t, struct mqtt_str *,
	    struct mqtt_str *);

int	 mqtt_decode_connect(const uint8_t *, size_t, struct mqtt_connect *,
	    struct mqtt_error *);
int	 mqtt_decode_publish(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_publish *, struct mqtt_error *);
int	 mqtt_decode_ack(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_ack *, struct mqtt_error *);
int	 mqtt_decode_subscribe(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_subscribe *, struct mqtt_error *);
int	 mqtt_decode_unsubscribe(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_subscribe *, struct mqtt_error *);
int	 mqtt_sub_next(struct mqtt_str *, int, struct mqtt_sub_entry *);
int	 mqtt_unsub_next(struct mqtt_str *, struct mqtt_sub_entry *);
int	 mqtt_decode_disconnect(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_disconnect *, struct mqtt_error *);
int	 mqtt_decode_auth(uint8_t, const uint8_t *, size_t,
	    struct mqtt_auth *, struct mqtt_error *);
int	 mqtt_decode_props(const uint8_t *, size_t, uint32_t,
	    struct mqtt_props *, size_t *, unsigned int,
	    struct mqtt_error *);
size_t	 mqtt_props_strip(const struct mqtt_str *, uint64_t, uint8_t *);
void	 mqtt_set_max_user_props(unsigned int);

int	 mqtt_decode_connack(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_connack *, struct mqtt_error *);
int	 mqtt_decode_suback(uint8_t, const uint8_t *, size_t, int,
	    struct mqtt_suback *, struct mqtt_error *);

/* Encoding: each writes one whole packet at the end of a buf. */

/* A CONNECT as a client (a bridge) sends it. */
struct mqtt_connect_out {
	uint8_t		 version;		/* MQTT_V311 or MQTT_V5 */
	int		 clean;
	uint16_t	 keepalive;
	const char	*client_id;
	const char	*username;		/* NULL: none */
	const uint8_t	*password;		/* NULL: none */
	size_t		 password_len;
	const char	*will_topic;		/* NULL: no will */
	const uint8_t	*will_payload;
	size_t		 will_payload_len;
	uint8_t		 will_qos;
	int		 will_retain;
	/* MQTT 5; 0: not sent */
	uint32_t	 session_expiry;
	uint16_t	 receive_maximum;
	uint32_t	 maximum_packet_size;
	uint16_t	 topic_alias_maximum;
};

/* One filter of a SUBSCRIBE a client sends. */
struct mqtt_sub_out {
	const char	*filter;
	uint8_t		 options;		/* SUBOPT_* and the QoS */
};

int	 mqtt_encode_connect(struct buf *, const struct mqtt_connect_out *);
int	 mqtt_encode_subscribe(struct buf *, uint16_t,
	    const struct mqtt_sub_out *, unsigned int, uint32_t, int);
int	 mqtt_encode_unsubscribe(struct buf *, uint16_t, const char *const *,
	    unsigned int, int);
int	 mqtt_encode_pingreq(struct buf *);
struct mqtt_connack_info {
	uint8_t		 reason;
	int		 session_present;
	int		 v5;
	/* MQTT 5 properties; 0 or NULL: not sent. */
	uint32_t	 session_expiry;
	int		 send_session_expiry;
	uint16_t	 receive_maximum;
	uint8_t		 maximum_qos;		/* 2: not sent */
	int		 retain_available;
	uint32_t	 maximum_packet_size;
	const char	*assigned_client_id;
	uint16_t	 topic_alias_maximum;
	int		 send_server_keep_alive;
	uint16_t	 server_keep_alive;
	int		 wildcard_available;
	int		 sub_id_available;
	int		 shared_available;
	const char	*reason_string;
	/* Enhanced authentication: method (NULL: none) and data. */
	const char	*auth_method;
	const uint8_t	*auth_data;
	size_t		 auth_data_len;
};

/* What the server sends of an enhanced authentication, at most. */
#define MQTT_AUTH_METHOD_MAX	64
#define MQTT_AUTH_DATA_MAX	1024

/*
 * A PUBLISH to encode: everything but the payload's bytes, which the
 * caller writes (or references) after the head.
 */
struct mqtt_publish_out {
	const uint8_t	*topic;
	uint16_t	 topic_len;
	uint8_t		 qos;
	int		 retain;
	int		 dup;
	uint16_t	 packet_id;
	int		 v5;
	/* MQTT 5 */
	int		 has_expiry;
	uint32_t	 expiry;		/* seconds left */
	const uint32_t	*subids;
	uint8_t		 nsubids;
	const uint8_t	*props;			/* forwarded as they are */
	uint32_t	 props_len;
	uint16_t	 topic_alias;		/* 0: none */
	uint32_t	 payload_len;
};

/* Its lengths (mqtt_publish_size). */
struct mqtt_publish_len {
	uint32_t	 rl;		/* remaining length */
	uint32_t	 plen;		/* properties (MQTT 5) */
	size_t		 head;		/* all before the payload */
	size_t		 total;
};

int	 mqtt_publish_size(const struct mqtt_publish_out *,
	    struct mqtt_publish_len *);
size_t	 mqtt_encode_publish_head(uint8_t *, const struct mqtt_publish_out *,
	    const struct mqtt_publish_len *);
int	 mqtt_encode_connack(struct buf *, const struct mqtt_connack_info *);
int	 mqtt_encode_auth(struct buf *, uint8_t, const char *,
	    const uint8_t *, size_t);
int	 mqtt_encode_ack(struct buf *, uint8_t, uint16_t, uint8_t, int,
	    const char *);
int	 mqtt_encode_suback(struct buf *, uint8_t, uint16_t, const uint8_t *,
	    unsigned int, int);
int	 mqtt_encode_pingresp(struct buf *);
int	 mqtt_encode_disconnect(struct buf *, uint8_t, const char *);
size_t	 mqtt_put_u16(uint8_t *, uint16_t);
size_t	 mqtt_put_u32(uint8_t *, uint32_t);
const char *mqtt_type_name(unsigned int);
const char *mqtt_reason_name(uint8_t);

#endif /* BROKERD_MQTT_H */
