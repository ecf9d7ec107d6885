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
 * The MQTT protocol of one client, from CONNECT to DISCONNECT: what the
 * engine does with each packet and what it answers.  A client that breaks
 * the protocol is told why (MQTT 5: DISCONNECT with the reason code) and
 * disconnected; nothing it sends can stop the engine.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint8_t		*fwd;		/* forwarded properties */
static size_t		 fwd_cap;
static uint8_t		*codes;		/* SUBACK and UNSUBACK */
static size_t		 codes_cap;
static struct sub	**rsubs;	/* retained messages to send */
static size_t		 rsubs_cap;
static uint32_t		 sub_serial;	/* SUBSCRIBE packets */
static TAILQ_HEAD(, conn) blockedq = TAILQ_HEAD_INITIALIZER(blockedq);
static TAILQ_HEAD(, conn) authq = TAILQ_HEAD_INITIALIZER(authq);
static struct evtimer	 hold_timer;	/* max hold time, while any */
static int		 hold_timer_on;
static uint32_t		*hold_ids;	/* client_hold_tick() */
static size_t		 hold_ids_cap;
static uint32_t		*slow_ids;	/* client_disconnect_holders() */
static size_t		 slow_ids_cap;

#define HOLD_TICK_MS	1000

static void	client_connect(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static void	client_publish(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static void	client_ack(struct conn *, uint8_t, const uint8_t *, size_t);
static void	client_pubrel(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static void	client_subscribe(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static void	client_unsubscribe(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static void	client_disconnect(struct conn *, uint8_t, const uint8_t *,
		    size_t);
static char	*client_assign_id(void);
static void	client_auth(struct conn *, uint8_t, const uint8_t *, size_t);
static void	client_reauthed(struct conn *, int, uint8_t, struct rights *,
		    const uint8_t *, size_t);
static void	client_published(struct conn *, struct pub *, uint16_t, int,
		    uint32_t);
static int	client_route(struct conn *, struct pub *, uint16_t, int);
static int	client_is_held(const struct conn *, uint16_t);
static void	client_hold(struct conn *, struct pub *, uint16_t);
static void	client_free_held(struct conn *);
static void	client_hold_tick(void *);

/*
 * A protocol error: an MQTT 5 client is told the reason code in a
 * DISCONNECT; an older one is disconnected.  Either way its will goes.
 */
void
client_error(struct conn *c, uint8_t reason, const char *why)
{
	if (c->state == CONN_DEAD || c->state == CONN_CLOSING)
		return;
	if (reason != RC_KEEP_ALIVE_TIMEOUT)
		engine_stats.protocol_errors++;
	c->reason = reason;
	conn_log(c, LOG_NOTICE, "%s (%s)", why, mqtt_reason_name(reason));
	if (c->state == CONN_ACTIVE && packet_disconnect(c, reason) == 0)
		conn_linger(c);
	else
		conn_close(c, why);
}

/* Refuse a CONNECT with a CONNACK, then close. */
static void
client_refuse(struct conn *c, uint8_t version, uint8_t v5reason,
    uint8_t v3code)
{
	struct mqtt_connack_info	 ci;

	memset(&ci, 0, sizeof(ci));
	ci.v5 = version == MQTT_V5;
	ci.reason = ci.v5 ? v5reason : v3code;
	packet_connack(c, &ci);
	conn_linger(c);
}

int
client_packet(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	uint8_t	 type = first >> 4;
	int	 v5 = c->version == MQTT_V5;

	engine_stats.packets_in++;
	if (c->state == CONN_NEW) {
		client_connect(c, first, p, len);
		return 0;
	}
	if (c->state == CONN_CHALLENGED) {
		if (type == MQTT_AUTH)
			client_auth(c, first, p, len);
		else
			client_error(c, RC_PROTOCOL_ERROR, "a packet other "
			    "than AUTH during authentication");
		return c->state == CONN_ACTIVE ? 0 : -1;
	}
	if (c->state != CONN_ACTIVE)
		return -1;
	switch (type) {
	case MQTT_PUBLISH:
		client_publish(c, first, p, len);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		client_ack(c, first, p, len);
		break;
	case MQTT_PUBREL:
		client_pubrel(c, first, p, len);
		break;
	case MQTT_SUBSCRIBE:
		client_subscribe(c, first, p, len);
		break;
	case MQTT_UNSUBSCRIBE:
		client_unsubscribe(c, first, p, len);
		break;
	case MQTT_PINGREQ:
		if ((first & 0x0f) != 0 || len != 0)
			client_error(c, RC_MALFORMED_PACKET, "bad PINGREQ");
		else
			packet_pingresp(c);
		break;
	case MQTT_DISCONNECT:
		client_disconnect(c, first, p, len);
		break;
	case MQTT_CONNECT:
		client_error(c, RC_PROTOCOL_ERROR, "second CONNECT");
		break;
	case MQTT_AUTH:
		if (!v5)
			client_error(c, RC_MALFORMED_PACKET,
			    "reserved packet type");
		else if (c->auth_method == NULL)
			client_error(c, RC_PROTOCOL_ERROR,
			    "AUTH without an authentication method");
		else
			client_auth(c, first, p, len);
		break;
	case MQTT_CONNACK:
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
	case MQTT_PINGRESP:
		client_error(c, RC_PROTOCOL_ERROR, "a packet only a server "
		    "may send");
		break;
	default:
		client_error(c, RC_MALFORMED_PACKET, "reserved packet type");
		break;
	}
	return c->state == CONN_ACTIVE ? 0 : -1;
}

static int
topic_ok(const uint8_t *t, size_t len)
{
	return len <= econf.max_topic_length &&
	    mqtt_topic_valid(t, len, econf.max_topic_levels);
}

/*
 * CONNECT: checked here as far as it can be without authd, then held
 * (and the connection not read) until authd's verdict.
 */
static void
client_connect(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_connect	 cn;
	struct mqtt_error	 e;
	int			 v5;

	if ((first & 0x0f) != 0) {
		engine_stats.protocol_errors++;
		conn_close(c, "bad CONNECT flags");
		return;
	}
	if (mqtt_decode_connect(p, len, &cn, &e) == -1) {
		engine_stats.protocol_errors++;
		conn_log(c, LOG_NOTICE, "bad CONNECT: %s", e.why);
		if (e.reason == RC_UNSUPPORTED_PROTOCOL_VERSION && cn.named)
			client_refuse(c, 0, 0, CONNACK_BAD_PROTOCOL);
		else if (cn.level == MQTT_V5 && cn.named)
			client_refuse(c, MQTT_V5, e.reason, 0);
		else if (e.reason == RC_CLIENT_ID_NOT_VALID)
			client_refuse(c, cn.level, e.reason,
			    CONNACK_ID_REJECTED);
		else
			conn_close(c, e.why);
		return;
	}
	c->version = cn.version;
	v5 = cn.version == MQTT_V5;
	if (cn.client_id.len == 0 && (!econf.allow_empty_id ||
	    cn.version == MQTT_V31 || (cn.version == MQTT_V311 && !cn.clean))) {
		conn_log(c, LOG_NOTICE, "empty client identifier refused");
		client_refuse(c, cn.version, RC_CLIENT_ID_NOT_VALID,
		    CONNACK_ID_REJECTED);
		return;
	}
	if (cn.will && !topic_ok(cn.will_topic.p, cn.will_topic.len)) {
		conn_log(c, LOG_NOTICE, "bad will topic");
		if (v5)
			client_refuse(c, MQTT_V5, RC_TOPIC_NAME_INVALID, 0);
		else
			conn_close(c, "bad will topic");
		return;
	}
	if (cn.will && cn.will_qos > econf.max_qos) {
		if (v5)
			client_refuse(c, MQTT_V5, RC_QOS_NOT_SUPPORTED, 0);
		else
			conn_close(c, "will QoS above the maximum");
		return;
	}
	if (cn.will && cn.will_retain && !econf.retain_available) {
		if (v5)
			client_refuse(c, MQTT_V5, RC_RETAIN_NOT_SUPPORTED, 0);
		else
			conn_close(c, "retained will refused");
		return;
	}
	if (!v5 && cn.keepalive > econf.max_keepalive) {
		conn_log(c, LOG_NOTICE, "keep alive %u over the maximum %u",
		    cn.keepalive, econf.max_keepalive);
		client_refuse(c, cn.version, 0, CONNACK_ID_REJECTED);
		return;
	}
	/* Enhanced authentication: authd knows the methods. */
	if (v5 && PROP_HAS(&cn.props, PROP_AUTH_METHOD)) {
		if (cn.props.auth_method.len > MQTT_AUTH_METHOD_MAX ||
		    (c->auth_method = strndup((const char *)
		    cn.props.auth_method.p, cn.props.auth_method.len)) ==
		    NULL ||
		    strlen(c->auth_method) != cn.props.auth_method.len) {
			conn_log(c, LOG_NOTICE, "unsupported authentication "
			    "method");
			client_refuse(c, MQTT_V5, RC_BAD_AUTHENTICATION_METHOD,
			    0);
			return;
		}
	}
	if (!engine_auth_room(len)) {
		engine_stats.auth_busy++;
		conn_log(c, LOG_WARNING, "authd's queue is full: busy");
		client_refuse(c, cn.version, RC_SERVER_BUSY,
		    CONNACK_SERVER_UNAVAILABLE);
		return;
	}
	if ((c->pending = malloc(len > 0 ? len : 1)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	memcpy(c->pending, p, len);
	c->pending_len = len;
	/* An assigned id now: authd fills %c patterns with it. */
	if (cn.client_id.len == 0 && (c->assigned = client_assign_id()) ==
	    NULL)
		fatal(NULL);
	(void)client_cert_user(c, &cn);
	/* Who authd is asked about, should the client go before it answers. */
	if ((c->auth_id = c->assigned != NULL ? strdup(c->assigned) :
	    strndup((const char *)cn.client_id.p, cn.client_id.len)) == NULL)
		fatal(NULL);
	if (cn.has_username) {
		if ((c->auth_user = malloc(cn.username.len + 1)) == NULL)
			fatal(NULL);
		memcpy(c->auth_user, cn.username.p, cn.username.len);
		c->auth_ulen = cn.username.len;
	}
	conn_set_state(c, CONN_AUTH);
	conn_update(c);
	if (engine_stats.auth_asked >= econf.max_auth_waiting) {
		/* Its turn comes with a verdict (client_auth_next()). */
		TAILQ_INSERT_TAIL(&authq, c, authq);
		c->onauthq = 1;
		engine_stats.auth_queued++;
		return;
	}
	engine_auth_request(c, &cn);
}

/* The held CONNECT again: it decoded at receipt, before any reload. */
static void
client_pending_decode(struct conn *c, struct mqtt_connect *cn)
{
	struct mqtt_error	 e;
	int			 rc;

	mqtt_set_max_user_props(UINT_MAX);
	rc = mqtt_decode_connect(c->pending, c->pending_len, cn, &e);
	mqtt_set_max_user_props(econf.max_user_properties);
	if (rc == -1)
		fatalx("held CONNECT no longer decodes");
}

/*
 * The end of a turn: CONNECTs that waited for fewer than max auth
 * waiting requests to be at authd are asked about, oldest first.
 */
void
client_auth_next(void)
{
	struct mqtt_connect	 cn;
	struct conn		*c;

	while (engine_stats.auth_asked < econf.max_auth_waiting &&
	    (c = TAILQ_FIRST(&authq)) != NULL) {
		TAILQ_REMOVE(&authq, c, authq);
		c->onauthq = 0;
		engine_stats.auth_queued--;
		client_pending_decode(c, &cn);
		engine_auth_request(c, &cn);
	}
}

/*
 * On a listener with `use identity as username' or `use subject as
 * username', a client with a verified certificate is the certificate's
 * CN or subject, whatever user name its CONNECT gives: 1, and cn (if not
 * NULL) says so.  0 if not (authd refuses such a client on such a
 * listener).
 */
int
client_cert_user(const struct conn *c, struct mqtt_connect *cn)
{
	const char	*id;

	if ((!c->l->o.use_identity && !c->l->o.use_subject) ||
	    c->cert == NULL || c->cert->source == IDENTITY_NONE)
		return 0;
	id = c->l->o.use_subject ? c->cert->subject : c->cert->cn;
	if (id[0] == '\0')
		return 0;
	if (cn != NULL) {
		cn->has_username = 1;
		cn->username.p = (const uint8_t *)id;
		cn->username.len = strlen(id);
	}
	return 1;
}

/* A client identifier that no session has: the prefix and 16 digits. */
static char *
client_assign_id(void)
{
	char		 id[sizeof(econf.id_prefix) + 17];
	uint64_t	 r;

	do {
		arc4random_buf(&r, sizeof(r));
		snprintf(id, sizeof(id), "%s%016llx", econf.id_prefix,
		    (unsigned long long)r);
	} while (session_find(id) != NULL);
	return strdup(id);
}

/*
 * The properties of a PUBLISH or a will as they are forwarded: all but
 * those in `strip', in a scratch buffer valid until the next call.
 */
static const uint8_t *
client_fwd_props(const struct mqtt_str *block, uint64_t strip, uint32_t *len)
{
	uint8_t	*p;

	if (block->len > fwd_cap) {
		if ((p = realloc(fwd, block->len)) == NULL)
			fatal(NULL);
		fwd = p;
		fwd_cap = block->len;
	}
	*len = mqtt_props_strip(block, strip, fwd);
	return fwd;
}

/* The will of a CONNECT as a message; published later, if at all. */
static struct msg *
client_will(struct session *s, const struct mqtt_connect *cn,
    uint32_t *delay)
{
	struct pub	 wp;
	struct msg	*m;

	memset(&wp, 0, sizeof(wp));
	wp.topic = cn->will_topic.p;
	wp.topic_len = cn->will_topic.len;
	wp.payload = cn->will_payload.p;
	wp.payload_len = cn->will_payload.len;
	wp.qos = cn->will_qos;
	wp.retain = cn->will_retain;
	*delay = 0;
	if (cn->version == MQTT_V5) {
		wp.props = client_fwd_props(&cn->will_props.block,
		    (1ULL << PROP_WILL_DELAY) | (1ULL << PROP_MESSAGE_EXPIRY),
		    &wp.props_len);
		*delay = cn->will_props.will_delay;
	}
	m = msg_new(&wp);
	/* Its expiry runs from when it is published. */
	s->will_expiry = PROP_HAS(&cn->will_props, PROP_MESSAGE_EXPIRY) ?
	    cn->will_props.message_expiry : 0;
	return m;
}

/* The CONNECT held for authd is no longer needed: it holds a password. */
static void
client_pending_free(struct conn *c)
{
	freezero(c->pending, c->pending_len);
	c->pending = NULL;
	c->pending_len = 0;
}

/* authd said no: CONNACK with its reason, then close. */
static void
client_denied(struct conn *c, const struct mqtt_connect *cn, uint8_t reason)
{
	engine_stats.auth_denied++;
	conn_log(c, LOG_NOTICE, "refused: %s", mqtt_reason_name(reason));
	client_refuse(c, cn->version, reason,
	    reason == RC_BAD_USERNAME_OR_PASSWORD ?
	    CONNACK_BAD_CREDENTIALS : CONNACK_NOT_AUTHORIZED);
}

/*
 * Another connection has the session: it goes (MQTT 5: DISCONNECT 0x8E).
 * Its will goes only if the session ends here.  Returns the session, or
 * NULL if it ended.
 */
static struct session *
client_takeover(struct session *s, int clean)
{
	struct conn	*old = s->conn;

	engine_stats.takeovers++;
	conn_log(old, LOG_INFO, "session taken over");
	old->reason = RC_SESSION_TAKEN_OVER;
	sys_event_disconnected(old, 0, NULL);
	old->sess = NULL;
	s->conn = NULL;
	engine_stats.clients--;
	if (packet_disconnect(old, RC_SESSION_TAKEN_OVER) == 0)
		conn_linger(old);
	else
		conn_close(old, NULL);
	if (s->expiry == 0 || clean) {
		session_publish_will(s);
		session_end(s);
		return NULL;
	}
	msg_unref(s->will);
	s->will = NULL;
	return s;
}

/*
 * The session of an accepted CONNECT: taken over, resumed or new.
 * *present says whether it existed.
 */
static struct session *
client_session(const char *id, const struct mqtt_connect *cn, int *present)
{
	struct session	*s;

	s = session_find(id);
	if (s != NULL && s->conn != NULL)
		s = client_takeover(s, cn->clean);
	else if (s != NULL && cn->clean) {
		/* Clean start ends the old session, and its waiting will. */
		session_publish_will(s);
		session_end(s);
		s = NULL;
	}
	*present = s != NULL;
	return s != NULL ? s : session_new(id);
}

/*
 * The CONNACK of an accepted client and what it tells an MQTT 5 client
 * about this server; returns the keep alive the connection gets.
 */
static uint16_t
client_connack(struct conn *c, const struct mqtt_connect *cn,
    struct session *s, int present, int assigned, const uint8_t *data,
    size_t dlen)
{
	struct mqtt_connack_info	 ci;
	uint16_t			 ka = cn->keepalive;

	memset(&ci, 0, sizeof(ci));
	ci.v5 = cn->version == MQTT_V5;
	ci.reason = RC_SUCCESS;
	ci.session_present = present && (ci.v5 || cn->version == MQTT_V311);
	if (ci.v5 && c->auth_method != NULL) {
		ci.auth_method = c->auth_method;
		ci.auth_data = data;
		ci.auth_data_len = dlen;
	}
	if (ci.v5) {
		if (PROP_HAS(&cn->props, PROP_RECEIVE_MAXIMUM))
			c->recv_max_out = cn->props.receive_maximum;
		if (PROP_HAS(&cn->props, PROP_MAXIMUM_PACKET_SIZE))
			c->max_packet_out = cn->props.maximum_packet_size;
		/* Absent is 0: no topic alias for this client. */
		alias_out_init(c, cn->props.topic_alias_maximum <
		    econf.topic_aliases_out ? cn->props.topic_alias_maximum :
		    econf.topic_aliases_out);
		if (ka > econf.max_keepalive ||
		    (ka == 0 && econf.max_keepalive < 65535)) {
			ka = econf.max_keepalive;
			ci.send_server_keep_alive = 1;
			ci.server_keep_alive = ka;
		}
		if (PROP_HAS(&cn->props, PROP_SESSION_EXPIRY) &&
		    s->expiry != cn->props.session_expiry) {
			ci.send_session_expiry = 1;
			ci.session_expiry = s->expiry;
		}
		ci.receive_maximum = econf.max_inflight > 65535 ? 65535 :
		    econf.max_inflight;
		ci.maximum_qos = econf.max_qos;
		ci.retain_available = econf.retain_available;
		ci.maximum_packet_size = econf.max_packet_size;
		ci.assigned_client_id = assigned ? s->id : NULL;
		ci.topic_alias_maximum = c->alias_max =
		    econf.max_topic_aliases;
		ci.wildcard_available = 1;
		ci.sub_id_available = 1;
		ci.shared_available = 1;
	}
	packet_connack(c, &ci);
	return ka;
}

/*
 * An AUTH refused: before CONNACK the answer is a CONNACK with the
 * reason (MQTT 5, 4.12), connected a DISCONNECT.
 */
static void
client_auth_fail(struct conn *c, uint8_t reason, const char *why)
{
	if (c->state != CONN_CHALLENGED) {
		client_error(c, reason, why);
		return;
	}
	engine_stats.protocol_errors++;
	conn_log(c, LOG_NOTICE, "%s (%s)", why, mqtt_reason_name(reason));
	client_refuse(c, MQTT_V5, reason, 0);
}

/*
 * AUTH from a client of an enhanced authentication: its answer to a
 * challenge (0x18), or, connected, a request to authenticate again
 * (0x19).  The method must be the CONNECT's; authd gets the data.
 */
static void
client_auth(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_auth	 a;
	struct mqtt_error	 e;
	int			 want;

	if (mqtt_decode_auth(first, p, len, &a, &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	if (!PROP_HAS(&a.props, PROP_AUTH_METHOD) ||
	    a.props.auth_method.len != strlen(c->auth_method) ||
	    memcmp(a.props.auth_method.p, c->auth_method,
	    a.props.auth_method.len) != 0) {
		client_auth_fail(c, RC_BAD_AUTHENTICATION_METHOD,
		    "AUTH with another authentication method");
		return;
	}
	/*
	 * Each step of an exchange goes to authd: bounded as the CONNECT
	 * that began it was (SCRAM's messages are a few hundred bytes).
	 */
	if (a.props.auth_data.len > MQTT_AUTH_DATA_MAX) {
		client_auth_fail(c, RC_NOT_AUTHORIZED,
		    "authentication data too large");
		return;
	}
	if (!engine_auth_room(a.props.auth_data.len + strlen(c->auth_id) +
	    c->auth_ulen + 64)) {
		engine_stats.auth_busy++;
		client_auth_fail(c, RC_SERVER_BUSY, "authd's queue is full");
		return;
	}
	/* 0x18 answers a challenge; 0x19 starts again, connected. */
	want = c->state == CONN_CHALLENGED || c->reauth == 2 ?
	    RC_CONTINUE_AUTHENTICATION : RC_REAUTHENTICATE;
	if (a.reason != want || (c->state == CONN_ACTIVE && c->reauth == 1)) {
		client_auth_fail(c, RC_PROTOCOL_ERROR, "AUTH out of turn");
		return;
	}
	if (want == RC_REAUTHENTICATE) {
		c->reauth = 1;
		engine_auth_reauth(c, a.props.auth_data.p,
		    a.props.auth_data.len);
		return;
	}
	if (c->state == CONN_CHALLENGED) {
		conn_set_state(c, CONN_AUTH);
		conn_update(c);
	} else
		c->reauth = 1;
	engine_auth_continue(c, a.props.auth_data.p, a.props.auth_data.len);
}

/* authd's next step of an enhanced authentication: AUTH 0x18. */
void
client_challenge(struct conn *c, const uint8_t *data, size_t len)
{
	if (c->state == CONN_AUTH) {
		conn_set_state(c, CONN_CHALLENGED);
		if (packet_auth(c, RC_CONTINUE_AUTHENTICATION, c->auth_method,
		    data, len) == -1)
			conn_close(c, "authentication data too large");
		else
			conn_resume(c);
	} else if (c->state == CONN_ACTIVE && c->reauth == 1) {
		c->reauth = 2;
		if (packet_auth(c, RC_CONTINUE_AUTHENTICATION, c->auth_method,
		    data, len) == -1)
			client_error(c, RC_IMPLEMENTATION_SPECIFIC,
			    "authentication data too large");
	}
}

/*
 * authd's verdict on a re-authentication: AUTH 0x00 and the new rights,
 * or DISCONNECT with the reason.
 */
static void
client_reauthed(struct conn *c, int allow, uint8_t reason, struct rights *r,
    const uint8_t *data, size_t len)
{
	c->reauth = 0;
	if (!allow) {
		rights_unref(r);
		engine_stats.auth_denied++;
		client_error(c, reason, "re-authentication failed");
		return;
	}
	if (c->sess != NULL)
		session_set_rights(c->sess, r);
	else
		rights_unref(r);
	conn_log(c, LOG_DEBUG, "authenticated again");
	if (packet_auth(c, RC_SUCCESS, c->auth_method, data, len) == -1)
		client_error(c, RC_IMPLEMENTATION_SPECIFIC,
		    "authentication data too large");
}

/*
 * authd's verdict on a held CONNECT (engine_dispatch_authd).  If allowed:
 * take over or resume or start the session, answer CONNACK, send what the
 * session kept.
 */
void
client_verdict(struct conn *c, int allow, uint8_t reason, struct rights *r,
    const uint8_t *data, size_t dlen)
{
	struct mqtt_connect	 cn;
	struct session		*s;
	struct msg		*will;
	char			*id;
	uint32_t		 expiry, delay;
	uint16_t		 ka;
	int			 present, assigned;

	if (c->state == CONN_ACTIVE && c->reauth != 0) {
		client_reauthed(c, allow, reason, r, data, dlen);
		return;
	}
	/* authd gave up on the client's proof. */
	if (c->state == CONN_CHALLENGED && !allow)
		conn_set_state(c, CONN_AUTH);
	if (c->onauthq) {
		/* Answered without being asked (an in-process driver). */
		TAILQ_REMOVE(&authq, c, authq);
		c->onauthq = 0;
		engine_stats.auth_queued--;
	}
	if (c->state != CONN_AUTH) {
		rights_unref(r);
		return;
	}
	client_pending_decode(c, &cn);
	(void)client_cert_user(c, &cn);
	if (!allow) {
		rights_unref(r);
		client_denied(c, &cn, reason);
		client_pending_free(c);
		return;
	}

	if ((assigned = cn.client_id.len == 0)) {
		id = c->assigned;
		c->assigned = NULL;
	} else
		id = strndup((const char *)cn.client_id.p, cn.client_id.len);
	if (id == NULL)
		fatal(NULL);
	if (session_find(id) == NULL &&
	    engine_stats.sessions >= econf.max_sessions) {
		engine_stats.sessions_refused++;
		conn_log(c, LOG_WARNING, "refused: %llu sessions already "
		    "(max sessions)", (unsigned long long)engine_stats.sessions);
		free(id);
		rights_unref(r);
		client_pending_free(c);
		client_refuse(c, cn.version, RC_QUOTA_EXCEEDED,
		    CONNACK_SERVER_UNAVAILABLE);
		return;
	}
	s = client_session(id, &cn, &present);
	free(id);
	session_set_rights(s, r);
	session_set_identity(s, c->l->id, cn.has_username,
	    (const char *)cn.username.p, cn.username.len);

	if (cn.version == MQTT_V5)
		expiry = PROP_HAS(&cn.props, PROP_SESSION_EXPIRY) ?
		    cn.props.session_expiry : 0;
	else
		expiry = cn.clean ? 0 : econf.session_expiry;
	if (expiry > econf.max_session_expiry)
		expiry = econf.max_session_expiry;
	s->expiry = expiry;
	session_attach(s, c);
	if (cn.will) {
		will = client_will(s, &cn, &delay);
		session_set_will(s, will, cn.will_qos, cn.will_retain, delay);
	}
	store_session(s);
	ka = client_connack(c, &cn, s, present, assigned, data, dlen);
	conn_set_state(c, CONN_ACTIVE);
	c->since = ev_now();
	engine_stats.connects++;
	if (cn.has_username && (c->user = strndup((const char *)cn.username.p,
	    cn.username.len)) == NULL)
		fatal(NULL);
	engine_stats.clients++;
	if (engine_stats.clients > engine_stats.clients_max)
		engine_stats.clients_max = engine_stats.clients;
	conn_keepalive_set(c, ka);
	conn_log(c, LOG_DEBUG, "connected, MQTT %s, session %s",
	    cn.version == MQTT_V5 ? "5" : cn.version == MQTT_V311 ?
	    "3.1.1" : "3.1", present ? "resumed" : "new");
	sys_event_connected(c, cn.clean, present);
	client_pending_free(c);
	if (present)
		session_resend(s);
	conn_resume(c);
}

/*
 * A connection went while authd decided: if authd lets it in, it will
 * remember an identity no session has, unless a session has it already.
 */
static void
client_auth_abandoned(struct conn *c)
{
	struct session	*s;
	int		 has_user = c->auth_user != NULL;

	if (c->onauthq) {
		/* authd was never asked. */
		TAILQ_REMOVE(&authq, c, authq);
		c->onauthq = 0;
		engine_stats.auth_queued--;
		return;
	}
	if (c->auth_id == NULL)
		return;
	s = session_find(c->auth_id);
	if (s == NULL || !session_identity_is(s, c->l->id, has_user,
	    c->auth_user, c->auth_ulen))
		engine_auth_end(c->id, c->auth_id, c->l->id, has_user,
		    c->auth_user, c->auth_ulen);
}

/*
 * After a reload, authd's new rights for a session's identity; if it is
 * no longer allowed, a connected client goes (MQTT 5: DISCONNECT 0x87).
 */
void
client_rights(const char *id, uint32_t lid, int has_user, const char *user,
    size_t ulen, int stays, struct rights *r)
{
	struct session	*s;
	struct conn	*c;

	if ((s = session_find(id)) == NULL ||
	    !session_identity_is(s, lid, has_user, user, ulen)) {
		rights_unref(r);
		return;
	}
	session_set_rights(s, r);
	if (stays || (c = s->conn) == NULL)
		return;
	engine_stats.auth_revoked++;
	conn_log(c, LOG_NOTICE, "no longer allowed: disconnected");
	if (packet_disconnect(c, RC_NOT_AUTHORIZED) == 0)
		conn_linger(c);
	else
		conn_close(c, NULL);
}

/*
 * The connection went away (`why', if the socket broke): its session goes
 * on without it, or ends.  What it held goes now, not when it closes: a
 * lingering connection has no session to route a held message for.
 */
void
client_gone(struct conn *c, int graceful, const char *why)
{
	struct session	*s = c->sess;

	if (c->state == CONN_AUTH || c->state == CONN_CHALLENGED)
		client_auth_abandoned(c);
	engine_auth_answered(c);
	client_free_held(c);
	if (s == NULL)
		return;
	sys_event_disconnected(c, graceful, why);
	c->sess = NULL;
	engine_stats.clients--;
	session_detach(s, graceful);
}

/*
 * brokerctl disconnect: the client with identifier `id' is disconnected
 * (MQTT 5: DISCONNECT 0x98, administrative action) and its will goes; with
 * `end', its session ends too, and a will still waiting goes now.
 */
void
client_kick(const char *id, int end)
{
	struct session	*s;
	struct conn	*c;

	if ((s = session_find(id)) == NULL)
		return;
	if ((c = s->conn) != NULL && c->state == CONN_ACTIVE) {
		conn_log(c, LOG_INFO, "disconnected by the operator");
		c->reason = RC_ADMINISTRATIVE_ACTION;
		if (packet_disconnect(c, RC_ADMINISTRATIVE_ACTION) == 0)
			conn_linger(c);
		else
			conn_close(c, "disconnected by the operator");
	}
	/* Gone with the connection if its expiry was 0. */
	if (end && (s = session_find(id)) != NULL && s->conn == NULL) {
		session_publish_will(s);
		session_free(s);
	}
}

/*
 * A PUBLISH with a Topic Alias (MQTT 5): with a topic it sets the alias,
 * without one it stands for the topic the alias was set to.  The client
 * may use what its CONNACK told it, whatever a reload did since; the
 * table, made at first use, has that many entries.  Returns -1 after a
 * protocol error.
 */
static int
client_alias(struct conn *c, struct mqtt_publish *pb)
{
	uint16_t	 a = pb->props.topic_alias;

	if (a > c->alias_max) {
		client_error(c, RC_TOPIC_ALIAS_INVALID,
		    "topic alias above the maximum");
		return -1;
	}
	if (pb->topic.len > 0) {
		if (!topic_ok(pb->topic.p, pb->topic.len)) {
			client_error(c, RC_TOPIC_NAME_INVALID, "bad topic");
			return -1;
		}
		if (c->alias == NULL) {
			if ((c->alias = calloc(c->alias_max,
			    sizeof(*c->alias))) == NULL)
				fatal(NULL);
			c->nalias = c->alias_max;
		}
		free(c->alias[a - 1]);
		if ((c->alias[a - 1] = strndup((const char *)pb->topic.p,
		    pb->topic.len)) == NULL)
			fatal(NULL);
		return 0;
	}
	if (c->alias == NULL || a > c->nalias || c->alias[a - 1] == NULL) {
		client_error(c, RC_PROTOCOL_ERROR, "unknown topic alias");
		return -1;
	}
	pb->topic.p = (const uint8_t *)c->alias[a - 1];
	pb->topic.len = strlen(c->alias[a - 1]);
	return 0;
}

/*
 * Unacknowledged QoS 1 and 2 messages of the client: held ones and QoS 2
 * ones not yet released.  MQTT 5 clients know the limit (Receive
 * Maximum); older ones get four times as many.
 */
static int
client_inflight_full(const struct conn *c)
{
	uint64_t	 max = econf.max_inflight;

	if (c->version != MQTT_V5)
		max *= 4;
	return (uint64_t)c->nheld + c->sess->nrel >= max;
}

/*
 * Topics only the broker publishes to: $SYS (its statistics) and any
 * beginning with $share/, which names a shared subscription, not a
 * topic.
 */
int
client_topic_reserved(const uint8_t *t, size_t len)
{
	static const char	 sys[] = "$SYS", share[] = "$share/";

	if (len >= sizeof(sys) - 1 && memcmp(t, sys, sizeof(sys) - 1) == 0 &&
	    (len == sizeof(sys) - 1 || t[sizeof(sys) - 1] == '/'))
		return 1;
	return len >= sizeof(share) - 1 &&
	    memcmp(t, share, sizeof(share) - 1) == 0;
}

/*
 * A PUBLISH the client may not make: MQTT 5 is told 0x87 (not
 * authorized); older clients, as with Mosquitto, get an ordinary
 * acknowledgement and the message goes nowhere.
 */
static void
client_publish_refused(struct conn *c, const struct mqtt_publish *pb,
    const char *why)
{
	int	 v5 = c->version == MQTT_V5;

	conn_log(c, LOG_DEBUG, "publish to %.*s %s", (int)pb->topic.len,
	    (const char *)pb->topic.p, why);
	if (pb->qos == 2 && !v5) {
		if (!session_rel_has(c->sess, pb->packet_id) &&
		    client_inflight_full(c)) {
			client_error(c, RC_RECEIVE_MAXIMUM_EXCEEDED,
			    "more QoS 1 and 2 messages in flight than allowed");
			return;
		}
		session_rel_add(c->sess, pb->packet_id);
	}
	if (pb->qos > 0)
		packet_ack(c, pb->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
		    pb->packet_id, v5 ? RC_NOT_AUTHORIZED : RC_SUCCESS);
}

static void
client_publish(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_publish	 pb;
	struct mqtt_error	 e;
	struct session		*s = c->sess;
	struct pub		 pub;
	uint32_t		 mark;
	uint8_t			 acktype;
	int			 v5 = c->version == MQTT_V5, n;

	if (mqtt_decode_publish(first, p, len, v5, &pb, &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	if (pb.qos > econf.max_qos) {
		client_error(c, RC_QOS_NOT_SUPPORTED, "QoS above the maximum");
		return;
	}
	if (pb.retain && !econf.retain_available) {
		client_error(c, RC_RETAIN_NOT_SUPPORTED, "retain refused");
		return;
	}
	if (v5 && PROP_HAS(&pb.props, PROP_TOPIC_ALIAS)) {
		if (client_alias(c, &pb) == -1)
			return;
	} else if (pb.topic.len == 0) {
		client_error(c, RC_PROTOCOL_ERROR, "zero length topic");
		return;
	}
	if (!topic_ok(pb.topic.p, pb.topic.len)) {
		client_error(c, RC_TOPIC_NAME_INVALID, "bad topic");
		return;
	}
	acktype = pb.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC;
	if (client_topic_reserved(pb.topic.p, pb.topic.len)) {
		engine_stats.publish_reserved++;
		client_publish_refused(c, &pb, "reserved");
		return;
	}
	if (!rights_topic(s->rights, pb.topic.p, pb.topic.len, ACLM_WRITE)) {
		engine_stats.acl_publish++;
		client_publish_refused(c, &pb, "denied");
		return;
	}
	if (pb.props.payload_format == 1 &&
	    !mqtt_utf8_valid(pb.payload.p, pb.payload.len)) {
		if (pb.qos > 0)
			packet_ack(c, acktype, pb.packet_id,
			    RC_PAYLOAD_FORMAT_INVALID);
		else
			client_error(c, RC_PAYLOAD_FORMAT_INVALID,
			    "payload is not UTF-8");
		return;
	}
	if (pb.qos == 2 && session_rel_has(s, pb.packet_id)) {
		/* A resent QoS 2 message: it was routed already. */
		if (!store_ack_after(c, MQTT_PUBREC, pb.packet_id, RC_SUCCESS))
			packet_ack(c, MQTT_PUBREC, pb.packet_id, RC_SUCCESS);
		return;
	}
	if (pb.qos > 0 && client_is_held(c, pb.packet_id))
		return;		/* resent while it waits: it still waits */
	if (pb.qos > 0 && client_inflight_full(c)) {
		client_error(c, RC_RECEIVE_MAXIMUM_EXCEEDED,
		    "more QoS 1 and 2 messages in flight than allowed");
		return;
	}

	memset(&pub, 0, sizeof(pub));
	pub.topic = pb.topic.p;
	pub.topic_len = pb.topic.len;
	pub.payload = pb.payload.p;
	pub.payload_len = pb.payload.len;
	pub.qos = pb.qos;
	pub.retain = pb.retain;
	pub.origin = s->serial;
	if (v5 && pb.props.block.len > 0) {
		pub.props = client_fwd_props(&pb.props.block,
		    (1ULL << PROP_TOPIC_ALIAS) | (1ULL << PROP_MESSAGE_EXPIRY),
		    &pub.props_len);
		if (PROP_HAS(&pb.props, PROP_MESSAGE_EXPIRY) &&
		    pb.props.message_expiry != 0)
			pub.expires = ev_now() +
			    (uint64_t)pb.props.message_expiry * 1000;
	}
	engine_stats.msgs_in++;
	engine_stats.pub_bytes_in += pub.payload_len;
	/* Behind held messages: keep the order of the client's messages. */
	if (pb.qos > 0 && c->nheld > 0) {
		client_hold(c, &pub, pb.packet_id);
		msg_unref(pub.msg);
		return;
	}
	mark = store_mark();
	n = client_route(c, &pub, pb.packet_id, pb.qos == 0 ? 0 :
	    ROUTE_HOLD | (v5 ? ROUTE_REFUSE : 0));
	if (n == ROUTE_HELD)
		client_hold(c, &pub, pb.packet_id);
	else
		client_published(c, &pub, pb.packet_id, n, mark);
	msg_unref(pub.msg);
}

/*
 * Route a message.  Storaged is told of a QoS 2 packet id before the
 * message goes anywhere: its requests are durable in order, so no stored
 * subscriber can have the message without the id being kept too, which
 * tells the client's resent PUBLISH from a new one after a restart.
 */
static int
client_route(struct conn *c, struct pub *p, uint16_t pid, int how)
{
	int	 n;

	if (p->qos == 2)
		store_rel(c->sess, pid, 1);
	n = route_publish(p, how);
	if (p->qos == 2 && n < 0)
		store_rel(c->sess, pid, 0);	/* not taken after all */
	return n;
}

/*
 * The end of a routed QoS 1 or 2 message: keep it if retained, and
 * acknowledge it with what happened to it, once what it made storaged
 * keep since `mark' is durable.
 */
static void
client_published(struct conn *c, struct pub *pub, uint16_t pid, int n,
    uint32_t mark)
{
	uint8_t		 rc;

	if (n >= 0 && pub->retain)
		retain_set(pub);
	if (pub->qos == 0)
		return;
	rc = n < 0 ? RC_QUOTA_EXCEEDED : n == 0 ?
	    RC_NO_MATCHING_SUBSCRIBERS : RC_SUCCESS;
	if (n < 0)
		conn_log(c, LOG_INFO, "message refused: an offline "
		    "subscriber's queue is full");
	if (pub->qos == 2 && n >= 0)
		session_rel_add(c->sess, pid);
	if (!store_ack(c, mark, pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
	    pid, rc))
		packet_ack(c, pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, pid,
		    rc);
}

static int
client_is_held(const struct conn *c, uint16_t pid)
{
	const struct held	*h;

	TAILQ_FOREACH(h, &c->held, entry)
		if (h->pid == pid)
			return 1;
	return 0;
}

/* Hold a message, unacknowledged, until the queues it goes to drain. */
static void
client_hold(struct conn *c, struct pub *pub, uint16_t pid)
{
	struct held	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal(NULL);
	h->m = msg_ref(pub_msg(pub));
	h->pid = pid;
	h->since = ev_now();
	TAILQ_INSERT_TAIL(&c->held, h, entry);
	c->nheld++;
	engine_stats.held++;
	engine_stats.held_total++;
	if (!c->onblocked) {
		TAILQ_INSERT_TAIL(&blockedq, c, blockq);
		c->onblocked = 1;
	}
	if (!hold_timer_on) {
		evtimer_set(&hold_timer, client_hold_tick, NULL);
		evtimer_add(&hold_timer, HOLD_TICK_MS);
		hold_timer_on = 1;
	}
}

/* The held message `h' of `c', as `p', went to `n' sessions. */
static void
client_held_routed(struct conn *c, struct held *h, struct pub *p, int n,
    uint32_t mark)
{
	TAILQ_REMOVE(&c->held, h, entry);
	c->nheld--;
	engine_stats.held--;
	client_published(c, p, h->pid, n, mark);
	msg_unref(p->msg);
	msg_unref(h->m);
	free(h);
}

/*
 * slow subscriber disconnect: the connected subscribers whose full
 * queues hold `p' go (MQTT 5: 0x97, quota exceeded).  Found by
 * connection id, since each that goes may free sessions.
 */
static void
client_disconnect_holders(struct pub *p)
{
	struct session	**hs;
	struct conn	*c;
	uint32_t	*ids;
	size_t		 i, n;

	n = route_holders(p, &hs);
	if (n > slow_ids_cap) {
		if ((ids = reallocarray(slow_ids, n, sizeof(*ids))) == NULL)
			fatal(NULL);
		slow_ids = ids;
		slow_ids_cap = n;
	}
	for (i = 0; i < n; i++)
		slow_ids[i] = hs[i]->conn->id;
	for (i = 0; i < n; i++) {
		if ((c = conn_by_id(slow_ids[i])) == NULL ||
		    c->state != CONN_ACTIVE)
			continue;
		engine_stats.held_disconnects++;
		client_error(c, RC_QUOTA_EXCEEDED, "too slow: a publisher "
		    "waited past max hold time for its queue");
	}
}

/*
 * The messages `c' has held past max hold time go now, dropped for the
 * sessions whose queues are still full (counted in dropped.queue_full),
 * and are acknowledged; with slow subscriber disconnect, the connected
 * ones among those go first.  Returns -1 if `c' went with them.
 */
static int
client_hold_expire(struct conn *c, uint64_t now)
{
	uint64_t	 max = (uint64_t)econf.max_hold_time * 1000;
	struct held	*h;
	struct pub	 p;
	uint32_t	 mark;
	int		 n;

	while ((h = TAILQ_FIRST(&c->held)) != NULL && now - h->since >= max) {
		engine_stats.held_expired++;
		pub_from_msg(&p, h->m);
		if (econf.slow_subscriber == SLOW_DISCONNECT) {
			client_disconnect_holders(&p);
			if (c->sess == NULL) {
				/* It was one of them: what it held went. */
				msg_unref(p.msg);
				return -1;
			}
		}
		mark = store_mark();
		n = client_route(c, &p, h->pid, 0);
		client_held_routed(c, h, &p, n, mark);
	}
	return 0;
}

/*
 * Once a second while publishers are held: those held past max hold
 * time (a reload applies at once) go on.  Connections are found again
 * by id: one may close another.
 */
static void
client_hold_tick(void *arg)
{
	struct conn	*c;
	uint64_t	 now = ev_now();
	uint64_t	 max = (uint64_t)econf.max_hold_time * 1000;
	uint32_t	*ids;
	size_t		 i, n = 0;

	(void)arg;
	hold_timer_on = 0;
	TAILQ_FOREACH(c, &blockedq, blockq) {
		if (now - TAILQ_FIRST(&c->held)->since < max)
			continue;
		if (n == hold_ids_cap) {
			hold_ids_cap = hold_ids_cap == 0 ? 16 :
			    hold_ids_cap * 2;
			if ((ids = reallocarray(hold_ids, hold_ids_cap,
			    sizeof(*ids))) == NULL)
				fatal(NULL);
			hold_ids = ids;
		}
		hold_ids[n++] = c->id;
	}
	for (i = 0; i < n; i++) {
		if ((c = conn_by_id(hold_ids[i])) == NULL ||
		    c->state != CONN_ACTIVE || !c->onblocked)
			continue;
		if (client_hold_expire(c, now) == 0 && c->nheld == 0) {
			TAILQ_REMOVE(&blockedq, c, blockq);
			c->onblocked = 0;
		}
	}
	if (!TAILQ_EMPTY(&blockedq)) {
		evtimer_add(&hold_timer, HOLD_TICK_MS);
		hold_timer_on = 1;
	}
}

/*
 * Some queue drained: route held messages again, in the order they came,
 * each client's until one must wait again.
 */
void
client_retry_held(void)
{
	struct conn	*c, *next;
	struct held	*h;
	struct pub	 p;
	uint32_t	 mark;
	int		 n;

	if (!session_room_take())
		return;
	TAILQ_FOREACH_SAFE(c, &blockedq, blockq, next) {
		while ((h = TAILQ_FIRST(&c->held)) != NULL) {
			pub_from_msg(&p, h->m);
			mark = store_mark();
			n = client_route(c, &p, h->pid, ROUTE_HOLD |
			    (c->version == MQTT_V5 ? ROUTE_REFUSE : 0));
			if (n == ROUTE_HELD) {
				msg_unref(p.msg);
				break;
			}
			client_held_routed(c, h, &p, n, mark);
		}
		if (c->nheld == 0) {
			TAILQ_REMOVE(&blockedq, c, blockq);
			c->onblocked = 0;
		}
	}
}

/*
 * The connection is gone: what it held was never acknowledged, so its
 * client sends it again.
 */
static void
client_free_held(struct conn *c)
{
	struct held	*h;

	while ((h = TAILQ_FIRST(&c->held)) != NULL) {
		TAILQ_REMOVE(&c->held, h, entry);
		msg_unref(h->m);
		free(h);
		engine_stats.held--;
	}
	c->nheld = 0;
	if (c->onblocked) {
		TAILQ_REMOVE(&blockedq, c, blockq);
		c->onblocked = 0;
	}
}

static void
client_ack(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_ack		 a;
	struct mqtt_error	 e;
	uint8_t			 type = first >> 4;

	if (mqtt_decode_ack(first, p, len, c->version == MQTT_V5, &a,
	    &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	if (session_ack(c->sess, type, a.packet_id, a.reason) == -1) {
		if (type == MQTT_PUBREC)
			packet_ack(c, MQTT_PUBREL, a.packet_id,
			    RC_PACKET_ID_NOT_FOUND);
		else
			conn_log(c, LOG_DEBUG, "%s for unknown packet %u",
			    mqtt_type_name(type), a.packet_id);
	}
}

static void
client_pubrel(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_ack		 a;
	struct mqtt_error	 e;
	uint32_t		 mark;
	uint8_t			 rc;

	if (mqtt_decode_ack(first, p, len, c->version == MQTT_V5, &a,
	    &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	mark = store_mark();
	rc = session_rel_del(c->sess, a.packet_id) == 0 ? RC_SUCCESS :
	    RC_PACKET_ID_NOT_FOUND;
	/* Released for good only once storaged forgot the id too. */
	if (!store_ack(c, mark, MQTT_PUBCOMP, a.packet_id, rc))
		packet_ack(c, MQTT_PUBCOMP, a.packet_id, rc);
}

static void
codes_reserve(size_t n)
{
	uint8_t		*c;
	struct sub	**r;

	if (n <= codes_cap)
		return;
	if ((c = realloc(codes, n)) == NULL ||
	    (r = reallocarray(rsubs, n, sizeof(*rsubs))) == NULL)
		fatal(NULL);
	codes = c;
	rsubs = r;
	codes_cap = rsubs_cap = n;
}

/*
 * A filter of a SUBSCRIBE or UNSUBSCRIBE: 1 if it is well formed, 0 if
 * not (MQTT 5: its reason code is 0x8F), -1 if that closed the connection
 * (older versions have no reason code for it).
 */
static int
client_filter(struct conn *c, const struct mqtt_str *f, int *shared)
{
	if (f->len <= econf.max_topic_length &&
	    mqtt_filter_valid(f->p, f->len, econf.max_topic_levels, shared))
		return 1;
	if (c->version != MQTT_V5) {
		client_error(c, RC_MALFORMED_PACKET, "bad topic filter");
		return -1;
	}
	return 0;
}

/*
 * May the session subscribe to the filter: can it match a topic the
 * client may read?  For a shared subscription, the filter after
 * $share/GROUP/.
 */
static int
client_may_subscribe(const struct session *s, const struct mqtt_str *f,
    int shared)
{
	struct mqtt_str	 group, filter = *f;

	if (s->rights == NULL)
		return 1;
	if (shared && mqtt_shared_split(f->p, f->len, &group, &filter) != 1)
		return 0;
	return aclmatch_subscribe(&s->rights->m, (const char *)filter.p,
	    filter.len);
}

/*
 * Are retained messages sent for a filter of SUBSCRIBE `sub_serial'?  A
 * filter named again in one packet replaces the earlier entry, as MQTT
 * says, so the last one decides, as if the packet named it once:
 * whether the subscription existed is what it was before the packet.
 * Not for shared subscriptions.  rsubs[0..*nr] are the answers so far.
 */
static void
client_sub_replay(struct sub *sub, int shared, int existed, size_t *nr)
{
	uint8_t		 rh = SUBOPT_RH(sub->opts);

	if (sub->pkt != sub_serial) {
		sub->pkt = sub_serial;
		sub->flags = existed ? sub->flags & ~SUB_FRESH :
		    sub->flags | SUB_FRESH;
		sub->rslot = UINT32_MAX;
	} else
		existed = !(sub->flags & SUB_FRESH);
	if (sub->rslot != UINT32_MAX) {
		rsubs[sub->rslot] = NULL;
		sub->rslot = UINT32_MAX;
	}
	if (!shared && (rh == 0 || (rh == 1 && !existed))) {
		sub->rslot = *nr;
		rsubs[(*nr)++] = sub;
	}
}

static void
client_subscribe(struct conn *c, uint8_t first, const uint8_t *p, size_t len)
{
	struct mqtt_subscribe	 sb;
	struct mqtt_sub_entry	 se;
	struct mqtt_error	 e;
	struct mqtt_str		 cur;
	struct session		*s = c->sess;
	struct sub		*sub;
	uint32_t		 id = 0;
	size_t			 n = 0, nr = 0, i;
	uint8_t			 qos, opts;
	int			 v5 = c->version == MQTT_V5, shared, existed, ok;

	if (mqtt_decode_subscribe(first, p, len, v5, &sb, &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	if (v5 && PROP_HAS(&sb.props, PROP_SUBSCRIPTION_ID))
		id = sb.props.sub_id;
	codes_reserve(sb.count);
	if (++sub_serial == 0)
		sub_serial = 1;
	cur = sb.list;
	while (mqtt_sub_next(&cur, 1, &se)) {
		opts = se.options;
		if ((ok = client_filter(c, &se.filter, &shared)) == -1)
			return;
		if (ok == 0) {
			codes[n++] = RC_TOPIC_FILTER_INVALID;
			continue;
		}
		if (shared && (opts & SUBOPT_NO_LOCAL)) {
			client_error(c, RC_PROTOCOL_ERROR,
			    "no local on a shared subscription");
			return;
		}
		if (!client_may_subscribe(s, &se.filter, shared)) {
			engine_stats.acl_subscribe++;
			conn_log(c, LOG_DEBUG, "subscription to %.*s denied",
			    (int)se.filter.len, (const char *)se.filter.p);
			codes[n++] = v5 ? RC_NOT_AUTHORIZED : 0x80;
			continue;
		}
		qos = SUBOPT_QOS(opts);
		if (qos > econf.max_qos)
			qos = econf.max_qos;
		opts = (opts & ~0x03) | qos;
		if ((s->nsubs >= econf.max_subscriptions ||
		    engine_stats.subscriptions >=
		    econf.max_subscriptions_total) &&
		    topic_find_sub(s, se.filter.p, se.filter.len) == NULL) {
			engine_stats.subs_refused++;
			conn_log(c, LOG_INFO, "subscription refused: %u "
			    "subscriptions already, %llu in all", s->nsubs,
			    (unsigned long long)engine_stats.subscriptions);
			codes[n++] = v5 ? RC_QUOTA_EXCEEDED : 0x80;
			continue;
		}
		topic_subscribe(s, se.filter.p, se.filter.len, opts, id, &sub,
		    &existed);
		sys_event_subscribed(c, sub);
		store_sub(s, sub);
		codes[n++] = qos;
		client_sub_replay(sub, shared, existed, &nr);
	}
	packet_suback(c, MQTT_SUBACK, sb.packet_id, codes, n);
	for (i = 0; i < nr; i++)
		if (rsubs[i] != NULL)
			replay_add(rsubs[i]);
}

static void
client_unsubscribe(struct conn *c, uint8_t first, const uint8_t *p,
    size_t len)
{
	struct mqtt_subscribe	 sb;
	struct mqtt_sub_entry	 se;
	struct mqtt_error	 e;
	struct mqtt_str		 cur;
	size_t			 n = 0;
	int			 v5 = c->version == MQTT_V5, shared, ok;

	if (mqtt_decode_unsubscribe(first, p, len, v5, &sb, &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	codes_reserve(sb.count);
	cur = sb.list;
	while (mqtt_unsub_next(&cur, &se)) {
		if ((ok = client_filter(c, &se.filter, &shared)) == -1)
			return;
		if (ok == 0) {
			codes[n++] = RC_TOPIC_FILTER_INVALID;
			continue;
		}
		if (session_unsubscribe(c->sess, se.filter.p,
		    se.filter.len) == 0) {
			codes[n++] = RC_SUCCESS;
			sys_event_unsubscribed(c, se.filter.p, se.filter.len);
		} else
			codes[n++] = RC_NO_SUBSCRIPTION_EXISTED;
	}
	packet_suback(c, MQTT_UNSUBACK, sb.packet_id, codes, n);
}

static void
client_disconnect(struct conn *c, uint8_t first, const uint8_t *p,
    size_t len)
{
	struct mqtt_disconnect	 d;
	struct mqtt_error	 e;
	struct session		*s = c->sess;
	uint32_t		 expiry;

	if (mqtt_decode_disconnect(first, p, len, c->version == MQTT_V5, &d,
	    &e) == -1) {
		client_error(c, e.reason, e.why);
		return;
	}
	if (PROP_HAS(&d.props, PROP_SESSION_EXPIRY)) {
		expiry = d.props.session_expiry;
		if (s->expiry == 0 && expiry != 0) {
			client_error(c, RC_PROTOCOL_ERROR, "session expiry "
			    "set at DISCONNECT after 0 at CONNECT");
			return;
		}
		if (expiry > econf.max_session_expiry)
			expiry = econf.max_session_expiry;
		s->expiry = expiry;
	}
	/* 0x04: disconnect, but publish the will as if the link broke. */
	c->graceful = d.reason != RC_DISCONNECT_WITH_WILL;
	c->reason = d.reason;
	conn_close(c, NULL);
}
