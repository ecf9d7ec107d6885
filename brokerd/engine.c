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
 * brokerd: engine.  Accepts MQTT clients on the listeners the parent
 * hands over, keeps the sessions and the topic tree, and serves the
 * control socket.  Chrooted to an empty directory, its own user, no file
 * system access, no new sockets.
 *
 * The layers, from the bottom: conn.c (bytes, output queues, timers),
 * packet.c (packets encoded by common/mqtt.c onto a connection),
 * session.c (QoS state of a session), topic.c and retain.c (the trees),
 * route.c (a message to the sessions that match), client.c (the protocol
 * of one client, the top).  Each calls only the layers below it; what
 * happened below is returned, or noted for the end of the turn.
 *
 * The life of a PUBLISH:
 *  1. conn_io() sees the socket readable; conn_read() reads into the
 *     shared buffer (the rest of a partial packet into the connection's
 *     own, in the same readv()).
 *  2. conn_process() cuts the bytes into packets with mqtt_header(),
 *     refusing one over the limit from its header, and hands each to
 *     client_packet().
 *  3. client_publish() decodes it (mqtt_decode_publish()), checks QoS,
 *     retain, topic alias (client_alias()), topic, payload format, a
 *     QoS 2 resend (session_rel_has()), a resend of a held message and
 *     the receive maximum, and makes a struct pub over the packet's
 *     bytes with the properties to forward (client_fwd_props()).
 *  4. route_publish() matches the topic (topic_match(): route_sub() for
 *     each subscription, route_group() for each shared group), then asks
 *     each target session whether it can take a QoS 1 or 2 message
 *     (session_can_take()).  If a connected subscriber's queue is full,
 *     the message is held (client_hold()): nothing is delivered and the
 *     publisher gets no ack until it goes.  Else session_deliver() for
 *     each target.
 *  5. session_deliver(): QoS 0 goes to a connected client now or not at
 *     all; QoS 1 and 2 go in flight (flight_send()) while the window is
 *     open and nothing waits before them, else to the session's queue.
 *     The struct msg, a copy shared by every queue, is made only here,
 *     once (pub_msg()).
 *  6. packet_publish() encodes the PUBLISH for the subscriber's version
 *     (mqtt_encode_publish_head()) into its output queue; a large payload
 *     is referenced, not copied, from its second reader on.
 *  7. client_published(): a retained message is kept (retain_set()); QoS
 *     1 is answered PUBACK, QoS 2 PUBREC (packet_ack()) and its packet
 *     id kept until PUBREL (session_rel_add()).
 *  8. The subscriber's PUBACK (or PUBREC, PUBCOMP) reaches session_ack():
 *     its slot is freed and the queue pumped into the window
 *     (session_pump()).
 *
 * The end of every turn (engine_turn_end()): held messages are routed
 * again if some queue got room (client_retry_held(), asked of
 * session_room_take()); every connection with output is written with one
 * sendmsg() (conn_flush_all()), and the connections closed in the turn
 * are freed there, so nothing in the turn holds a dangling pointer; then
 * the IPC output (ipc_flush_pending()).
 */

#include <sys/types.h>
#include <sys/socket.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "child.h"
#include "engine.h"
#include "log.h"

/* Bytes queued to authd past which a CONNECT is refused, busy. */
#define AUTH_QUEUE_MAX	(32 * 1024 * 1024)

struct engine_stats	 engine_stats;
struct engine_conf	 econf;
static struct tlsproxy_stats	 tlsproxy_stats;	/* as it last sent them */
static struct authd_stats	 authd_stats;		/* likewise */

static int		 engine_configured;

static void	engine_dispatch_tlsproxy(struct ipc_chan *, struct ipc_msg *);
static void	engine_dispatch_authd(struct ipc_chan *, struct ipc_msg *);
static void	engine_dispatch_storaged(struct ipc_chan *, struct ipc_msg *);
static void	engine_flush(void *);
static void	engine_start(void);
static void	engine_configure(const struct engine_conf *);

static const ipc_dispatch_fn engine_peers[PROC_MAX] = {
	[PROC_TLSPROXY] = engine_dispatch_tlsproxy,
	[PROC_AUTHD] = engine_dispatch_authd,
	[PROC_STORAGED] = engine_dispatch_storaged,
};

__dead void
engine_main(int debug)
{
	log_init(debug, LOG_DAEMON);
	setproctitle("%s", proc_names[PROC_ENGINE]);
#ifdef __GLIBC__
	/*
	 * Partial packets, messages of some KiB and output buffers of up
	 * to a MiB come and go all the time.  glibc would give each
	 * buffer over 128 KiB its own mmap() and the top of the heap back
	 * after each free, paying page faults and TLB shootdowns every
	 * time; keep buffers up to 4 MiB in the heap instead, and give
	 * back only what stays free beyond 64 MiB (glibc's own ceiling for
	 * its sliding threshold): one turn can route 4 MiB of messages
	 * and free them before the next.  Setting one threshold turns
	 * glibc's sliding thresholds off, so both are set.  (16 KiB QoS 0,
	 * 100 pairs, 256 in flight: with 4 MiB the engine refaulted 12,000
	 * pages a second and delivered 2.3k msg/s.)
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
#endif
	ev_init();
	child_init(PROC_ENGINE, engine_dispatch_parent);
	engine_stats.started = ev_now();
	topic_init();
	retain_init();
	ev_setflush(engine_flush, NULL);
	ev_dispatch();
	exit(0);
}

/*
 * The end of every turn: held messages whose queues drained, client
 * output, then IPC.
 */
void
engine_turn_end(void)
{
	sys_flush();
	client_retry_held();
	replay_run();
	conn_pre_enforce();
	client_auth_next();
	store_turn_end();
	conn_flush_all();
	ipc_flush_pending();
}

static void
engine_flush(void *arg)
{
	(void)arg;
	engine_turn_end();
}

/* IPC_START: every process is ready; serve. */
static void
engine_start(void)
{
	if (!engine_configured)
		fatalx("IPC_START before IPC_ENGINE_CONF");
	/* The stored state first: then the listeners (store_dispatch). */
	if (!store_start())
		engine_serve();
}

/* Every listener and the control socket open. */
void
engine_serve(void)
{
	conn_listeners_start();
	control_start();
	sys_start();
}

/* The settings, at start and after each reload. */
static void
engine_configure(const struct engine_conf *c)
{
	econf = *c;
	mqtt_set_max_user_props(c->max_user_properties);
	engine_configured = 1;
	sys_configure();
}

/* Ask authd about a CONNECT; the answer is client_verdict(). */
void
engine_auth_request(struct conn *c, const struct mqtt_connect *cn)
{
	struct ipc_chan	*a = child.peer[PROC_AUTHD];
	char		 addr[64];

	c->at_authd = 1;
	engine_stats.auth_asked++;
	conn_addr(c, addr, sizeof(addr));
	ipc_begin(a, IPC_AUTH_CONNECT, c->id, 11);
	ipc_put_uint(a, c->l->id);
	if (c->assigned != NULL)
		ipc_put_str(a, c->assigned);
	else
		ipc_put_strn(a, (const char *)cn->client_id.p,
		    cn->client_id.len);
	ipc_put_bool(a, cn->has_username);
	ipc_put_strn(a, (const char *)cn->username.p, cn->username.len);
	ipc_put_bool(a, cn->has_password);
	ipc_put_bin(a, cn->password.p, cn->password.len);
	ipc_put_str(a, addr);
	ipc_put_uint(a, cn->version);
	ipc_put_str(a, c->auth_method != NULL ? c->auth_method : "");
	ipc_put_bin(a, cn->props.auth_data.p, c->auth_method != NULL ?
	    cn->props.auth_data.len : 0);
	ipc_put_bool(a, client_cert_user(c, NULL));
	ipc_end(a, -1);
}

/*
 * authd has answered the CONNECT of `c', or `c' has gone: it no longer
 * counts against max auth waiting.  (A verdict for a connection that has
 * gone is not counted again; a SCRAM exchange that waits for the
 * client's proof counts until its verdict.)
 */
void
engine_auth_answered(struct conn *c)
{
	if (c->at_authd) {
		c->at_authd = 0;
		engine_stats.auth_asked--;
	}
}

/* The client's answer to authd's challenge (AUTH 0x18). */
void
engine_auth_continue(struct conn *c, const uint8_t *data, size_t len)
{
	struct ipc_chan	*a = child.peer[PROC_AUTHD];

	ipc_begin(a, IPC_AUTH_CONTINUE, c->id, 1);
	ipc_put_bin(a, data, len);
	ipc_end(a, -1);
}

/* A connected client authenticates again (AUTH 0x19). */
void
engine_auth_reauth(struct conn *c, const uint8_t *data, size_t len)
{
	struct ipc_chan	*a = child.peer[PROC_AUTHD];

	ipc_begin(a, IPC_AUTH_REAUTH, c->id, 6);
	ipc_put_uint(a, c->l->id);
	ipc_put_str(a, c->auth_id);
	ipc_put_bool(a, c->auth_user != NULL);
	ipc_put_strn(a, c->auth_user != NULL ? c->auth_user : "",
	    c->auth_user != NULL ? c->auth_ulen : 0);
	ipc_put_str(a, c->auth_method);
	ipc_put_bin(a, data, len);
	ipc_end(a, -1);
}

/*
 * Can a request for a CONNECT of `len' bytes go to authd?  Not past
 * AUTH_QUEUE_MAX queued: the channel would die of it.  max auth waiting
 * and max connect total keep it from there; this is the last guard.
 */
int
engine_auth_room(size_t len)
{
	return ipc_queued(child.peer[PROC_AUTHD]) + len <= AUTH_QUEUE_MAX;
}

/* A session's identity has ended, or a CONNECT went before its verdict. */
void
engine_auth_end(uint32_t conn, const char *id, uint32_t lid, int has_user,
    const char *user, size_t ulen)
{
	struct ipc_chan	*a = child.peer[PROC_AUTHD];

	ipc_begin(a, IPC_AUTH_END, conn, 4);
	ipc_put_str(a, id);
	ipc_put_uint(a, lid);
	ipc_put_bool(a, has_user);
	ipc_put_strn(a, has_user ? user : "", has_user ? ulen : 0);
	ipc_end(a, -1);
}

/* brokerctl show stats */
void
engine_show_stats(struct ipc_chan *chan)
{
	const struct engine_stats	*s = &engine_stats;

	control_stat(chan, "uptime", (ev_now() - s->started) / 1000);
	control_stat(chan, "connections", s->conns);
	control_stat(chan, "connections.total", s->conns_total);
	control_stat(chan, "connections.refused", s->conns_refused);
	control_stat(chan, "connections.tlsproxy", s->conns_relayed);
	control_stat(chan, "clients", s->clients);
	control_stat(chan, "sessions", s->sessions);
	control_stat(chan, "subscriptions", s->subscriptions);
	control_stat(chan, "retained", s->retained);
	control_stat(chan, "retained.bytes", s->retained_bytes);
	control_stat(chan, "retained.replay_pending", s->replay_pending);
	control_stat(chan, "retained.replayed", s->replayed);
	control_stat(chan, "queued", s->queued);
	control_stat(chan, "queued.bytes", s->queued_bytes);
	control_stat(chan, "inflight", s->inflight);
	control_stat(chan, "messages.received", s->msgs_in);
	control_stat(chan, "messages.sent", s->msgs_out);
	control_stat(chan, "bytes.received", s->bytes_in);
	control_stat(chan, "bytes.sent", s->bytes_out);
	control_stat(chan, "dropped.queue_full", s->drop_queue_full);
	control_stat(chan, "dropped.total_full", s->drop_total_full);
	control_stat(chan, "dropped.slow_client", s->drop_slow);
	control_stat(chan, "dropped.expired", s->drop_expired);
	control_stat(chan, "dropped.too_large", s->drop_too_large);
	control_stat(chan, "auth.denied", s->auth_denied);
	control_stat(chan, "protocol_errors", s->protocol_errors);
	control_stat(chan, "timeouts.connect", s->connect_timeouts);
	control_stat(chan, "timeouts.keepalive", s->keepalive_timeouts);
	control_stat(chan, "takeovers", s->takeovers);
	control_stat(chan, "wills", s->wills);
	control_stat(chan, "held", s->held);
	control_stat(chan, "held.total", s->held_total);
	control_stat(chan, "auth.waiting", s->auth_waiting);
	control_stat(chan, "auth.asked", s->auth_asked);
	control_stat(chan, "auth.queued", s->auth_queued);
	control_stat(chan, "auth.paused", s->auth_paused);
	control_stat(chan, "auth.busy", s->auth_busy);
	control_stat(chan, "connect.bytes", s->connect_bytes);
	control_stat(chan, "connect.dropped", s->connect_dropped);
	control_stat(chan, "sessions.refused", s->sessions_refused);
	control_stat(chan, "subscriptions.refused", s->subs_refused);
	control_stat(chan, "held.expired", s->held_expired);
	control_stat(chan, "held.disconnects", s->held_disconnects);
	control_stat(chan, "acl.publish_denied", s->acl_publish);
	control_stat(chan, "publish.reserved_refused", s->publish_reserved);
	control_stat(chan, "acl.subscribe_denied", s->acl_subscribe);
	control_stat(chan, "acl.read_denied", s->acl_read);
	control_stat(chan, "acl.will_denied", s->acl_will);
	control_stat(chan, "auth.revoked", s->auth_revoked);
	control_stat(chan, "store.requests", s->store_requests);
	control_stat(chan, "store.batches", s->store_batches);
	control_stat(chan, "store.failed", s->store_failed);
	control_stat(chan, "store.waiting", s->store_waiting);
	control_stat(chan, "store.waited", s->store_waited);
	control_stat(chan, "store.refused", s->store_refused);
	control_stat(chan, "store.recovered", s->store_recovered);
	control_stat(chan, "store.too_large", s->store_too_large);
	control_stat(chan, "control.connections", s->ctl_conns);
	control_stat(chan, "control.refused", s->ctl_refused);
	control_stat(chan, "control.errors", s->ctl_errors);
	control_stat(chan, "packets.received", s->packets_in);
	control_stat(chan, "packets.sent", s->packets_out);
	control_stat(chan, "payload.bytes.received", s->pub_bytes_in);
	control_stat(chan, "payload.bytes.sent", s->pub_bytes_out);
	control_stat(chan, "clients.total", s->connects);
	control_stat(chan, "clients.maximum", s->clients_max);
	control_stat(chan, "sessions.expired", s->sessions_expired);
	control_stat(chan, "subscriptions.shared", s->shared_subscriptions);
	control_stat(chan, "events", s->events);
	control_stat(chan, "events.dropped", s->events_dropped);
	control_stat(chan, "http.requests", s->http_requests);
	control_stat(chan, "http.errors", s->http_errors);
	control_stat(chan, "http.refused", s->http_refused);
	control_stat(chan, "topic_aliases.set", s->alias_set);
	control_stat(chan, "topic_aliases.used", s->alias_used);
	control_stat(chan, "topic_aliases.bytes_saved", alias_bytes_saved());
#define TLSPROXY_STAT_SHOW(name)					\
	control_stat(chan, "tlsproxy." #name, tlsproxy_stats.name);
	TLSPROXY_STATS(TLSPROXY_STAT_SHOW)
#undef TLSPROXY_STAT_SHOW
#define AUTHD_STAT_SHOW(name)						\
	control_stat(chan, "authd." #name, authd_stats.name);
	AUTHD_STATS(AUTHD_STAT_SHOW)
#undef AUTHD_STAT_SHOW
}

void
engine_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct engine_conf	 c;
	struct listener_opts	 lo;
	struct ctl_proc		 p;
	char			 name[LISTENER_NAME_MAX], err[512];
	int64_t			 gid;

	(void)chan;
	if (child_dispatch(msg, engine_peers, engine_start))
		return;
	switch (msg->hdr.type) {
	case IPC_LISTENER:
		if (ipc_get_cstr(msg, 2, name, sizeof(name)) == -1 ||
		    ipc_get_struct(msg, 3, &lo, sizeof(lo)) == -1 ||
		    settings_check(listener_settings, listener_nsettings, &lo,
		    err, sizeof(err)) == -1)
			fatalx("bad IPC_LISTENER");
		conn_listener_add(ipc_get_uint(msg, 0), ipc_get_uint(msg, 1),
		    name, &lo, msg->fd);
		msg->fd = -1;
		break;
	case IPC_LISTENER_RELAYED:
		if (ipc_get_cstr(msg, 2, name, sizeof(name)) == -1 ||
		    ipc_get_struct(msg, 3, &lo, sizeof(lo)) == -1 ||
		    settings_check(listener_settings, listener_nsettings, &lo,
		    err, sizeof(err)) == -1 || !LISTENER_RELAYED(&lo))
			fatalx("bad IPC_LISTENER_RELAYED");
		conn_listener_add(ipc_get_uint(msg, 0), ipc_get_uint(msg, 1),
		    name, &lo, -1);
		break;
	case IPC_CONTROL:
		gid = ipc_get_int(msg, 1);
		if (gid < -1 || gid > UINT32_MAX)
			fatalx("bad IPC_CONTROL");
		control_init(msg->fd, ipc_get_bool(msg, 0), gid);
		msg->fd = -1;
		break;
	case IPC_ENGINE_CONF:
		if (ipc_get_struct(msg, 0, &c, sizeof(c)) == -1)
			fatalx("IPC_ENGINE_CONF: not a struct engine_conf");
		if (settings_check(engine_settings, engine_nsettings, &c, err,
		    sizeof(err)) == -1)
			fatalx("IPC_ENGINE_CONF: %s", err);
		engine_configure(&c);
		break;
	case IPC_CTL_RESULT:
		if (ipc_get_cstr(msg, 1, err, sizeof(err)) == -1)
			fatalx("bad IPC_CTL_RESULT");
		control_result(msg->hdr.id, ipc_get_bool(msg, 0), err);
		break;
	case IPC_CTL_PROCESS:
		memset(&p, 0, sizeof(p));
		if (ipc_get_cstr(msg, 0, p.name, sizeof(p.name)) == -1 ||
		    ipc_get_cstr(msg, 3, p.user, sizeof(p.user)) == -1 ||
		    ipc_get_cstr(msg, 4, p.root, sizeof(p.root)) == -1 ||
		    ipc_get_cstr(msg, 5, p.sandbox, sizeof(p.sandbox)) == -1)
			fatalx("bad IPC_CTL_PROCESS");
		p.pid = ipc_get_uint(msg, 1);
		p.uid = ipc_get_uint(msg, 2);
		p.rss = ipc_get_uint(msg, 6);
		p.vsz = ipc_get_uint(msg, 7);
		p.utime = ipc_get_uint(msg, 8);
		p.stime = ipc_get_uint(msg, 9);
		control_process(msg->hdr.id, &p);
		break;
	case IPC_CTL_END:
		control_processes_end(msg->hdr.id);
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

/* IPC_TLS_CONN into plain values; a bad frame is tlsproxy's fault. */
static void
engine_tls_conn(struct ipc_msg *msg, struct conn_facts *f)
{
	const struct sockaddr_storage	*ss;
	size_t				 len;
	uint64_t			 id;

	memset(f, 0, sizeof(*f));
	id = ipc_get_uint(msg, 0);
	if (id > UINT32_MAX)
		fatalx("IPC_TLS_CONN: bad listener");
	f->listener = id;
	if ((ss = ipc_get_bin(msg, 1, &len)) == NULL || len != sizeof(*ss))
		fatalx("IPC_TLS_CONN: bad address");
	memcpy(&f->peer, ss, sizeof(f->peer));
	if (f->peer.ss_family != AF_INET && f->peer.ss_family != AF_INET6 &&
	    f->peer.ss_family != AF_UNIX && f->peer.ss_family != AF_UNSPEC)
		fatalx("IPC_TLS_CONN: bad address family");
	if (ipc_get_uint(msg, 3) > TRANSPORT_MAX ||
	    ipc_get_uint(msg, 5) > IDENTITY_MAX)
		fatalx("IPC_TLS_CONN: bad transport or identity");
	f->transport = ipc_get_uint(msg, 3);
	f->proxied = ipc_get_bool(msg, 4);
	f->identity = ipc_get_uint(msg, 5);
	if (ipc_get_cstr(msg, 6, f->tls_version, sizeof(f->tls_version)) ==
	    -1 || ipc_get_cstr(msg, 7, f->tls_cipher, sizeof(f->tls_cipher)) ==
	    -1 || ipc_get_cstr(msg, 8, f->subject, sizeof(f->subject)) == -1 ||
	    ipc_get_cstr(msg, 9, f->cn, sizeof(f->cn)) == -1)
		fatalx("IPC_TLS_CONN: bad string");
}

static void
engine_dispatch_tlsproxy(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct conn_facts	 f;

	(void)chan;
	switch (msg->hdr.type) {
	case IPC_TLS_CONN:
		engine_tls_conn(msg, &f);
		conn_adopt(msg->fd, &f);
		msg->fd = -1;
		break;
	case IPC_TLS_STATS:
		if (ipc_get_struct(msg, 0, &tlsproxy_stats,
		    sizeof(tlsproxy_stats)) == -1)
			fatalx("IPC_TLS_STATS: not a struct tlsproxy_stats");
		break;
	default:
		fatalx("unexpected %s from tlsproxy",
		    ipc_type_name(msg->hdr.type));
	}
}

static void
engine_dispatch_authd(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct conn	*c;
	struct rights	*r = NULL;
	const void	*acl, *data;
	size_t		 dlen;
	const char	*id, *user;
	char		*cid;
	uint64_t	 reason;
	size_t		 len, idlen, ulen;
	int		 allow;

	(void)chan;
	switch (msg->hdr.type) {
	case IPC_AUTH_VERDICT:
		allow = ipc_get_bool(msg, 0);
		reason = ipc_get_uint(msg, 1);
		acl = ipc_get_bin(msg, 2, &len);
		/* Checked even if the client has gone. */
		if (allow && len > 0)
			r = rights_new(acl, len);
		/* A refusal has a reason code of a refusal. */
		if (!allow && (reason < 0x80 || reason > 0xff))
			reason = RC_NOT_AUTHORIZED;
		/* The client may have gone while authd thought. */
		data = ipc_get_bin(msg, 3, &dlen);
		if (dlen > MQTT_AUTH_DATA_MAX)
			fatalx("IPC_AUTH_VERDICT: authentication data too "
			    "large");
		if ((c = conn_by_id(msg->hdr.id)) != NULL) {
			engine_auth_answered(c);
			client_verdict(c, allow, allow ? RC_SUCCESS : reason,
			    r, data, dlen);
		} else
			rights_unref(r);
		break;
	case IPC_AUTH_CHALLENGE:
		data = ipc_get_bin(msg, 0, &dlen);
		if (dlen > MQTT_AUTH_DATA_MAX)
			fatalx("IPC_AUTH_CHALLENGE: authentication data too "
			    "large");
		if ((c = conn_by_id(msg->hdr.id)) != NULL)
			client_challenge(c, data, dlen);
		break;
	case IPC_AUTH_RIGHTS:
		id = ipc_get_str(msg, 0, &idlen);
		user = ipc_get_str(msg, 3, &ulen);
		acl = ipc_get_bin(msg, 5, &len);
		if (idlen == 0 || memchr(id, '\0', idlen) != NULL ||
		    (cid = strndup(id, idlen)) == NULL)
			fatalx("bad IPC_AUTH_RIGHTS");
		r = len > 0 ? rights_new(acl, len) : NULL;
		client_rights(cid, ipc_get_uint(msg, 1), ipc_get_bool(msg, 2),
		    user, ulen, ipc_get_bool(msg, 4), r);
		free(cid);
		break;
	case IPC_AUTH_STATS:
		if (ipc_get_struct(msg, 0, &authd_stats,
		    sizeof(authd_stats)) == -1)
			fatalx("IPC_AUTH_STATS: not a struct authd_stats");
		break;
	default:
		fatalx("unexpected %s from authd",
		    ipc_type_name(msg->hdr.type));
	}
}

static void
engine_dispatch_storaged(struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IPC_STORE_COMMIT:
	case IPC_STORE_MSG:
	case IPC_STORE_RETAIN:
	case IPC_STORE_SESSION:
	case IPC_STORE_SUB:
	case IPC_STORE_QUEUE:
	case IPC_STORE_INREL:
	case IPC_STORE_CHUNK:
	case IPC_STORE_END:
		store_dispatch(chan, msg);
		break;
	default:
		fatalx("unexpected %s from storaged",
		    ipc_type_name(msg->hdr.type));
	}
}
