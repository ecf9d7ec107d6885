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


#ifndef ENGINE_H
#define ENGINE_H

/*
 * brokerd: engine.  Everything the engine process is made of; the
 * parent's declarations are in brokerd.h, what both share in conf.h.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <limits.h>
#include <stdint.h>

#include "aclmatch.h"
#include "buf.h"
#include "conf.h"
#include "event.h"
#include "ipc.h"
#include "log.h"
#include "mqtt.h"

/* A listening socket the parent handed over. */
struct listener {
	TAILQ_ENTRY(listener)	 entry;
	uint32_t		 id;
	int			 fd;
	int			 kind;
	char			 name[LISTENER_NAME_MAX];
	struct listener_opts	 o;
	uint32_t		 nconns;
	uint64_t		 accepted;	/* since the start */
	uint64_t		 refused;	/* by its limits */
	struct event		 ev;
	struct evtimer		 resume;
};
TAILQ_HEAD(listener_head, listener);

/* Connections from one source address, for the per-address limit. */
struct addrcount {
	RB_ENTRY(addrcount)	 entry;
	uint8_t			 family;
	uint8_t			 addr[16];
	uint32_t		 count;
};

enum conn_state {
	CONN_NEW,		/* waiting for CONNECT */
	CONN_AUTH,		/* waiting for authd */
	CONN_CHALLENGED,	/* waiting for the client's AUTH, for authd */
	CONN_ACTIVE,
	CONN_CLOSING,		/* flushing its last packet */
	CONN_DEAD		/* closed; freed at the end of the turn */
};

/*
 * A QoS 1 or 2 message from a client, not yet acknowledged, waiting for
 * a full queue of a connected subscriber to drain: back-pressure.
 */
struct held {
	TAILQ_ENTRY(held)	 entry;
	struct msg		*m;
	uint64_t		 since;		/* ev_now() when held */
	uint16_t		 pid;
};
TAILQ_HEAD(held_head, held);

/*
 * A connection's output (conn.c): a queue of segments written with one
 * sendmsg(), each either a run of bytes in a chunk the connection
 * allocated or a large payload referenced in the shared message, never
 * copied.  Chunks are not reallocated as output grows, so nothing is
 * copied twice however much a slow client lets pile up.  Allocated only
 * while there is output to write.
 */
struct ochunk {
	uint32_t		 refs;		/* segments in it, and oq */
	uint32_t		 cap;
	uint8_t			 data[];
};

struct oseg {
	struct msg		*m;		/* a referenced payload, or */
	struct ochunk		*ck;		/* bytes in this chunk */
	const uint8_t		*p;
	uint32_t		 len;
};

#define OQ_INLINE		4

struct oq {
	struct oseg		*seg;		/* a ring of cap entries */
	uint32_t		 head;
	uint32_t		 n;
	uint32_t		 cap;
	uint32_t		 done;		/* of the first, written */
	size_t			 bytes;		/* to write */
	struct ochunk		*ck;		/* where output goes */
	uint32_t		 wpos;		/* in ck */
	struct oseg		 inl[OQ_INLINE];
};

#define OREF_MIN		2048	/* payloads referenced, not copied */

/* One network connection. */
struct conn {
	RB_ENTRY(conn)		 idtree;
	TAILQ_ENTRY(conn)	 wlist;		/* output this turn */
	TAILQ_ENTRY(conn)	 blockq;	/* holds messages */
	TAILQ_ENTRY(conn)	 preq;		/* holds bytes before CONNACK */
	TAILQ_ENTRY(conn)	 authq;		/* waits to ask authd */
	uint8_t			 onauthq;
	size_t			 prebytes;	/* those bytes */
	uint8_t			 onpreq;
	struct held_head	 held;
	uint32_t		 nheld;
	uint8_t			 onblocked;
	uint32_t		 id;
	int			 fd;
	uint8_t			 state;
	uint8_t			 version;
	uint8_t			 onwlist;
	uint8_t			 blocked;	/* waiting to write */
	uint8_t			 graceful;	/* sent DISCONNECT 0 */
	uint8_t			 bigread;	/* sends large packets */
	uint8_t			 reason;	/* of the DISCONNECT */
	uint8_t			 family;
	uint16_t		 port;
	uint16_t		 keepalive;	/* seconds, 0: none */
	uint8_t			 addr[16];
	int			 evflags;
	struct event		 ev;
	struct listener		*l;
	struct addrcount	*ac;
	struct buf		 rbuf;		/* a partial packet */
	struct oq		*oq;		/* output, or NULL */
	struct evtimer		 timer;		/* CONNECT, keep alive */
	uint64_t		 last_rx;
	struct session		*sess;
	uint8_t			*pending;	/* CONNECT, for authd */
	uint32_t		 pending_len;
	char			*assigned;	/* client id given, for authd */
	char			*auth_id;	/* what authd was asked about */
	char			*auth_user;	/* NULL: no user name */
	size_t			 auth_ulen;
	char			*auth_method;	/* MQTT 5 enhanced, or NULL */
	int			 reauth;	/* AUTH 0x19 under way */
	int			 at_authd;	/* counted in auth_asked */
	uint32_t		 max_packet_out;	/* the client's */
	uint16_t		 recv_max_out;		/* the client's */
	uint16_t		 alias_max;	/* told in its CONNACK */
	uint16_t		 nalias;	/* entries of alias */
	char			**alias;	/* client -> server */
	uint16_t		 alias_out_max;	/* server -> client */
	struct alias_table	*aout;		/* alias.c, or NULL */
	char			*user;		/* of the CONNECT, or NULL */
	uint64_t		 since;		/* ev_now() at CONNACK */
	uint64_t		 rx_bytes;
	uint64_t		 tx_bytes;
	uint8_t			 transport;	/* TRANSPORT_ (conf.h) */
	/*
	 * The socket came from tlsproxy: another descriptor (its copy, or
	 * one in flight) may keep it open after ours is closed, and epoll
	 * with it, so it leaves epoll by ev_del(), not by the close.
	 */
	uint8_t			 adopted;
	struct conn_cert	*cert;		/* from tlsproxy, or NULL */
};

/* A client certificate's identity, as tlsproxy verified it. */
struct conn_cert {
	uint8_t			 source;	/* IDENTITY_ (conf.h) */
	char			*subject;	/* RFC 2253 */
	char			*cn;
};

/* What tlsproxy says of a connection it hands over (IPC_TLS_CONN). */
struct conn_facts {
	uint32_t		 listener;
	struct sockaddr_storage	 peer;
	uint8_t			 transport;
	uint8_t			 proxied;
	uint8_t			 identity;
	char			 tls_version[TLS_VERSION_MAX];
	char			 tls_cipher[TLS_CIPHER_MAX];
	char			 subject[TLS_SUBJECT_MAX];
	char			 cn[TLS_CN_MAX];
};

/* A message as published: shared by every queue that holds it. */
struct msg {
	uint32_t		 refs;
	uint32_t		 payload_len;
	uint32_t		 props_len;	/* forwarded properties */
	uint16_t		 topic_len;
	uint8_t			 qos;
	uint8_t			 retain;
	uint64_t		 expires;	/* ev_now() ms; 0: never */
	uint64_t		 origin;	/* session serial, no-local */
	uint64_t		 sid;		/* in storaged; 0: not */
	uint32_t		 prefs;		/* storaged's references */
	uint8_t			 data[];	/* topic, properties, payload */
};

#define MSG_TOPIC(m)		((const char *)(m)->data)
#define MSG_PROPS(m)		((m)->data + (m)->topic_len + 1)
#define MSG_PAYLOAD(m)		(MSG_PROPS(m) + (m)->props_len)

/* A message on its way to one session: queued or in flight. */
struct delivery {
	struct msg		*m;
	uint32_t		*subids;	/* if nsubids > 1 */
	uint32_t		 subid;		/* if nsubids == 1 */
	uint64_t		 seq;		/* in storaged; 0: not */
	uint16_t		 pid;
	uint8_t			 nsubids;
	uint8_t			 qos;
	uint8_t			 retain;
	uint8_t			 state;
	uint8_t			 waiting;	/* for storaged to send */
};

#define DLV_FREE		0	/* in-flight slot done */
#define DLV_PUBLISHED		1	/* waiting for PUBACK/PUBREC */
#define DLV_RELEASED		2	/* PUBREL sent, waiting PUBCOMP */

/* A ring of deliveries. */
struct dring {
	struct delivery		*d;
	uint32_t		 head;
	uint32_t		 count;
	uint32_t		 cap;
};

struct sub;
RB_HEAD(sub_tree, sub);

struct session {
	RB_ENTRY(session)	 entry;		/* by client identifier */
	char			*id;
	uint64_t		 serial;
	struct conn		*conn;
	uint8_t			 version;
	uint8_t			 will_qos;
	uint8_t			 will_retain;
	uint32_t		 expiry;	/* seconds; EXPIRY_NEVER */
	struct evtimer		 timer;		/* session expiry, will */
	uint64_t		 expires_at;	/* ev_now() ms, 0: none */
	uint64_t		 will_at;	/* ev_now() ms, 0: none */
	struct sub_tree		 subs;
	uint32_t		 nsubs;
	struct dring		 inflight;	/* in order of sending */
	uint32_t		 nflight;	/* not DLV_FREE */
	uint64_t		 flight_bytes;
	uint16_t		 next_pid;
	struct dring		 queue;
	uint64_t		 queue_bytes;
	uint16_t		*rel;		/* QoS 2 ids awaiting PUBREL */
	uint32_t		 nrel;		/* at most UINT16_MAX */
	uint32_t		 relcap;
	struct msg		*will;
	uint32_t		 will_delay;
	uint32_t		 will_expiry;	/* message expiry, seconds */
	uint64_t		 mark;		/* routing scratch */
	uint32_t		 slot;
	uint64_t		 drops;
	struct rights		*rights;	/* NULL: no ACL */
	/* Who authd let in, as the engine asked: for IPC_AUTH_END/RIGHTS. */
	int			 identified;
	uint32_t		 lid;
	int			 has_user;
	char			*user;
	size_t			 ulen;
	uint8_t			 stored;	/* storaged has it */
	uint8_t			 onreplay;
	TAILQ_HEAD(, sub)	 replay;	/* retained to send (replay.c) */
	TAILQ_ENTRY(session)	 replayq;
};
RB_HEAD(session_tree, session);

/*
 * What a client may do: its compiled ACL (aclmatch.h) as authd sent it,
 * shared by reference.  A session without one may do anything (its
 * listener has no ACL file); one with an ACL without rules, nothing.
 */
struct rights {
	uint32_t		 refs;
	size_t			 len;
	struct aclmatch		 m;
	uint8_t			 data[];
};

static inline int
rights_topic(const struct rights *r, const uint8_t *topic, size_t len,
    int access)
{
	return r == NULL || aclmatch_topic(&r->m, (const char *)topic, len,
	    access);
}

struct tnode;
struct sgroup;

/* A subscription of a session. */
struct sub {
	RB_ENTRY(sub)		 entry;		/* in the session, by filter */
	struct session		*sess;
	struct tnode		*node;
	struct sgroup		*group;		/* shared, or NULL */
	uint32_t		 idx;		/* in node or group array */
	uint32_t		 id;		/* subscription identifier */
	uint8_t			 opts;
	uint8_t			 flags;		/* SUB_* */
	uint32_t		 pkt;		/* SUBSCRIBE naming it last */
	uint32_t		 rslot;		/* its replay in that one */
	TAILQ_ENTRY(sub)	 replay;	/* waiting for retained */
	char			 filter[];
};
RB_PROTOTYPE(sub_tree, sub, entry, sub_cmp);
#define SUB_FRESH		0x01	/* made by SUBSCRIBE `pkt' */
#define SUB_REPLAY		0x02	/* on its session's replay list */

/* The members of one $share/GROUP/ on one filter. */
struct sgroup {
	LIST_ENTRY(sgroup)	 entry;
	struct tnode		*node;
	struct sub		**members;
	uint32_t		 n;
	uint32_t		 cap;
	uint32_t		 next;		/* round robin */
	char			 name[];
};

/*
 * A level of the topic tree.  The same structure serves the tree of
 * subscriptions and the tree of retained messages.  Children are found
 * by hashing their level; `+' and `#' have their own pointers.
 */
struct tnode {
	struct tnode		*parent;
	struct tnode		*plus;
	struct tnode		*hash;
	struct tnode		**kids;
	uint32_t		 nkids;
	uint32_t		 kcap;
	struct sub		**subs;
	uint32_t		 nsubs;
	uint32_t		 scap;
	LIST_HEAD(, sgroup)	 groups;
	struct msg		*retained;
	uint32_t		 hv;
	uint16_t		 len;
	char			 level[];
};

/* A message to route: the incoming PUBLISH, or a will. */
struct pub {
	const uint8_t		*topic;
	uint16_t		 topic_len;
	const uint8_t		*props;		/* to forward */
	uint32_t		 props_len;
	const uint8_t		*payload;
	uint32_t		 payload_len;
	uint8_t			 qos;
	uint8_t			 retain;
	uint64_t		 expires;
	uint64_t		 origin;
	struct msg		*msg;		/* made when needed */
	uint32_t		 encoded;	/* deliveries written */
};

/* Counters for `brokerctl show stats'. */
struct engine_stats {
	uint64_t		 started;	/* ev_now() at start */
	uint64_t		 ctl_conns;
	uint64_t		 conns;		/* now */
	uint64_t		 conns_total;
	uint64_t		 conns_refused;	/* listener limits */
	uint64_t		 conns_relayed;	/* handed over by tlsproxy */
	uint64_t		 clients;	/* connected now */
	uint64_t		 sessions;
	uint64_t		 subscriptions;
	uint64_t		 retained;
	uint64_t		 retained_bytes;
	uint64_t		 queued;
	uint64_t		 queued_bytes;
	uint64_t		 inflight;
	uint64_t		 msgs_in;
	uint64_t		 msgs_out;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	uint64_t		 drop_queue_full;
	uint64_t		 drop_slow;
	uint64_t		 drop_expired;
	uint64_t		 drop_too_large;
	uint64_t		 drop_total_full;
	uint64_t		 auth_denied;
	uint64_t		 protocol_errors;
	uint64_t		 connect_timeouts;
	uint64_t		 keepalive_timeouts;
	uint64_t		 takeovers;
	uint64_t		 wills;
	uint64_t		 held;		/* now */
	uint64_t		 held_total;
	uint64_t		 auth_waiting;	/* connections in CONN_AUTH */
	uint64_t		 auth_asked;	/* requests at authd now */
	uint64_t		 auth_queued;	/* waiting to be asked */
	uint64_t		 auth_paused;	/* accepting stopped for it */
	uint64_t		 auth_busy;	/* refused: authd's queue full */
	uint64_t		 connect_bytes;	/* held before CONNACK now */
	uint64_t		 connect_dropped; /* closed for it */
	uint64_t		 sessions_refused; /* max sessions */
	uint64_t		 subs_refused;	/* max subscriptions (total) */
	uint64_t		 held_expired;	/* past max hold time */
	uint64_t		 held_disconnects; /* slow subscribers */
	uint64_t		 replay_pending; /* subscriptions waiting */
	uint64_t		 replayed;	/* retained walks done */
	uint64_t		 ctl_refused;	/* control: not allowed */
	uint64_t		 ctl_errors;	/* control: protocol errors */
	uint64_t		 packets_in;	/* MQTT packets of any type */
	uint64_t		 packets_out;
	uint64_t		 pub_bytes_in;	/* PUBLISH payloads */
	uint64_t		 pub_bytes_out;
	uint64_t		 connects;	/* CONNECTs accepted */
	uint64_t		 clients_max;	/* most connected at once */
	uint64_t		 sessions_expired;
	uint64_t		 shared_subscriptions;
	uint64_t		 events;	/* $SYS/broker/events/ */
	uint64_t		 events_dropped;
	uint64_t		 http_requests;	/* metrics answered */
	uint64_t		 http_errors;
	uint64_t		 http_refused;
	uint64_t		 acl_publish;	/* PUBLISH denied */
	uint64_t		 publish_reserved; /* to $SYS, $share/ */
	uint64_t		 acl_subscribe;	/* filters refused */
	uint64_t		 acl_read;	/* deliveries not made */
	uint64_t		 acl_will;	/* wills not published */
	uint64_t		 auth_revoked;	/* disconnected at a reload */
	uint64_t		 store_requests;
	uint64_t		 store_batches;	/* commits answered */
	uint64_t		 store_failed;	/* batches that failed */
	uint64_t		 store_waiting;	/* acks awaiting a commit */
	uint64_t		 store_waited;	/* acks sent after one */
	uint64_t		 store_refused;	/* acks refused: it failed */
	uint64_t		 store_recovered; /* items at start */
	uint64_t		 store_too_large; /* not persisted */
	uint64_t		 alias_set;	/* topic aliases given */
	uint64_t		 alias_used;	/* topics left out */
	uint64_t		 alias_omitted;	/* their bytes */
};
extern struct engine_stats	 engine_stats;
extern struct engine_conf	 econf;

/* alias.c */
#define ALIAS_MIN		3	/* topics this short get no alias */
#define ALIAS_BYTES_MAX		65536	/* topic bytes held per connection */
#define ALIAS_PROP_LEN		3	/* a Topic Alias property */
#define ALIAS_NONE		0
#define ALIAS_USE		1
#define ALIAS_SET		2

struct alias_pick {
	int			 what;		/* ALIAS_ */
	uint16_t		 id;
	uint16_t		 len;
	const uint8_t		*topic;
	struct alias_ent	*ent;		/* used, or replaced */
};

void		 alias_out_init(struct conn *, uint16_t);
void		 alias_out_free(struct conn *);
int		 alias_out_pick(struct conn *, const uint8_t *, uint16_t,
		    struct alias_pick *);
void		 alias_out_commit(struct conn *, const struct alias_pick *);
uint64_t	 alias_bytes_saved(void);

/* engine.c */
__dead void	 engine_main(int);
void		 engine_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
void		 engine_turn_end(void);
void		 engine_serve(void);
void		 engine_show_stats(struct ipc_chan *);
void		 engine_auth_end(uint32_t, const char *, uint32_t, int,
		    const char *, size_t);
void		 engine_auth_request(struct conn *,
		    const struct mqtt_connect *);
int		 engine_auth_room(size_t);
void		 engine_auth_answered(struct conn *);
void		 engine_auth_continue(struct conn *, const uint8_t *, size_t);
void		 engine_auth_reauth(struct conn *, const uint8_t *, size_t);

/* conn.c */
struct conn	*conn_after(uint32_t);
struct listener	*conn_listener_next(struct listener *);
void		 conn_listener_add(uint32_t, int, const char *,
		    const struct listener_opts *, int);
void		 conn_listeners_start(void);
void		 conn_adopt(int, const struct conn_facts *);
struct listener	*conn_listener_by_id(uint32_t);
void		 conn_flush_all(void);
struct conn	*conn_by_id(uint32_t);
int		 conn_send(struct conn *, const void *, size_t);
uint8_t		*conn_reserve(struct conn *, size_t);
void		 conn_commit(struct conn *, size_t);
int		 conn_send_ref(struct conn *, struct msg *, const uint8_t *,
		    uint32_t);
void		 conn_close(struct conn *, const char *);
void		 conn_set_state(struct conn *, enum conn_state);
void		 conn_pre_enforce(void);
void		 conn_linger(struct conn *);
void		 conn_keepalive_set(struct conn *, uint16_t);
void		 conn_resume(struct conn *);
void		 conn_update(struct conn *);
struct conn	*conn_test_new(int, struct listener *);
void		 conn_test_input(struct conn *, const uint8_t *, size_t);
const char	*conn_name(const struct conn *);
void		 conn_addr(const struct conn *, char *, size_t);
void		 conn_log(struct conn *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
size_t		 conn_outq(const struct conn *);
size_t		 conn_drain(struct conn *);

/* client.c */
int		 client_packet(struct conn *, uint8_t, const uint8_t *,
		    size_t);
int		 client_topic_reserved(const uint8_t *, size_t);
void		 client_verdict(struct conn *, int, uint8_t, struct rights *,
		    const uint8_t *, size_t);
void		 client_challenge(struct conn *, const uint8_t *, size_t);
int		 client_cert_user(const struct conn *, struct mqtt_connect *);
void		 client_rights(const char *, uint32_t, int, const char *,
		    size_t, int, struct rights *);
void		 client_error(struct conn *, uint8_t, const char *);
void		 client_gone(struct conn *, int, const char *);
void		 client_kick(const char *, int);
void		 client_retry_held(void);
void		 client_auth_next(void);

/* session.c */
struct session	*session_find(const char *);
struct session	*session_after(const char *);
struct session	*session_new(const char *);
void		 session_free(struct session *);
void		 session_free_all(void);
void		 session_attach(struct session *, struct conn *);
void		 session_detach(struct session *, int);
void		 session_clear(struct session *);
int		 session_room_take(void);
int		 session_online(const struct session *);
int		 session_unsubscribe(struct session *, const uint8_t *, size_t);
int		 session_deliver(struct session *, struct pub *, uint8_t,
		    uint8_t, const uint32_t *, uint8_t);
int		 session_can_take(const struct session *, uint8_t, size_t);
void		 session_pump(struct session *);
void		 session_resend(struct session *);
int		 session_ack(struct session *, uint8_t, uint16_t, uint8_t);
void		 session_rel_add(struct session *, uint16_t);
int		 session_rel_has(const struct session *, uint16_t);
int		 session_rel_del(struct session *, uint16_t);
void		 session_end(struct session *);
void		 session_send_waited(const char *, uint64_t, uint16_t, int);
void		 session_unstore(struct session *);
void		 session_rel_restore(struct session *, uint16_t);
void		 session_restore(struct session *, uint64_t);
void		 session_restore_done(void);
int		 session_restore_delivery(struct session *,
		    const struct delivery *, const uint32_t *, uint8_t);
void		 session_set_will(struct session *, struct msg *, uint8_t,
		    uint8_t, uint32_t);
void		 session_publish_will(struct session *);
struct rights	*rights_new(const void *, size_t);
void		 rights_unref(struct rights *);
void		 session_set_rights(struct session *, struct rights *);
int		 session_identity_is(const struct session *, uint32_t, int,
		    const char *, size_t);
void		 session_set_identity(struct session *, uint32_t, int,
		    const char *, size_t);

/* msg.c */
struct msg	*msg_new(const struct pub *);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);
size_t		 msg_size(const struct msg *);
size_t		 pub_size(const struct pub *);
struct msg	*pub_msg(struct pub *);
void		 pub_view(struct pub *, struct msg *);
void		 pub_from_msg(struct pub *, struct msg *);
int		 msg_expired(const struct msg *);

/* route.c */
#define ROUTE_HOLD	0x01	/* the publisher can wait: hold it */
#define ROUTE_REFUSE	0x02	/* the publisher can be told 0x97 */
#define ROUTE_REFUSED	(-1)
#define ROUTE_HELD	(-2)
int		 route_publish(struct pub *, int);
size_t		 route_holders(struct pub *, struct session ***);

/* packet.c */
void		 packet_ack(struct conn *, uint8_t, uint16_t, uint8_t);
void		 packet_connack(struct conn *, const struct mqtt_connack_info *);
int		 packet_auth(struct conn *, uint8_t, const char *,
		    const uint8_t *, size_t);
int		 packet_disconnect(struct conn *, uint8_t);
void		 packet_pingresp(struct conn *);
void		 packet_suback(struct conn *, uint8_t, uint16_t,
		    const uint8_t *, unsigned int);
int		 packet_publish(struct conn *, struct pub *, uint8_t,
		    uint16_t, int, int, const uint32_t *, uint8_t);

/* topic.c */
void		 topic_init(void);
struct tnode	*tnode_root(void);
struct tnode	*tnode_lookup(struct tnode *, const uint8_t *, size_t, int);
struct tnode	*tnode_kid(const struct tnode *, uint32_t *);
void		 tnode_prune(struct tnode *);
int		 topic_subscribe(struct session *, const uint8_t *, size_t,
		    uint8_t, uint32_t, struct sub **, int *);
int		 topic_unsubscribe(struct session *, const uint8_t *, size_t);
struct sub	*topic_find_sub(struct session *, const uint8_t *, size_t);
struct sub	*topic_sub_after(struct session *, const char *);
int		 topic_overlap(const uint8_t *, size_t, const uint8_t *,
		    size_t);
void		 topic_remove_sub(struct sub *);
uint32_t	 topic_level_hash(const uint8_t *, size_t);
unsigned int	 topic_split(const uint8_t *, size_t, const uint8_t **,
		    uint16_t *, unsigned int);
typedef void	(*topic_match_cb)(struct sub *, void *);
void		 topic_match(const uint8_t *, size_t, topic_match_cb,
		    void (*)(struct sgroup *, void *), void *);

/* retain.c */
void		 retain_init(void);
int		 retain_set(struct pub *);
void		 retain_free_all(void);
size_t		 retain_match(const uint8_t *, size_t,
		    void (*)(struct msg *, void *), void *);

/* replay.c */
void		 replay_add(struct sub *);
void		 replay_cancel(struct sub *);
void		 replay_run(void);

/* sys.c */
void		 sys_start(void);
void		 sys_configure(void);
void		 sys_flush(void);
void		 sys_free_all(void);
void		 sys_event_connected(const struct conn *, int, int);
void		 sys_event_disconnected(const struct conn *, int,
		    const char *);
void		 sys_event_expired(const struct session *);
void		 sys_event_subscribed(const struct conn *, const struct sub *);
void		 sys_event_unsubscribed(const struct conn *, const uint8_t *,
		    size_t);

/* metrics.c */
void		 metrics_format(struct buf *, const struct ctl_proc *, size_t);
void		 metrics_accept(struct listener *, int);
/* store.c */
int		 store_start(void);
uint32_t	 store_mark(void);
int		 store_ack(struct conn *, uint32_t, uint8_t, uint16_t, uint8_t);
int		 store_ack_after(struct conn *, uint8_t, uint16_t, uint8_t);
int		 store_send_after(struct session *, struct delivery *);
void		 store_turn_end(void);
void		 store_committed(uint32_t, int, unsigned int, const char *);
void		 store_session(struct session *);
void		 store_session_end(struct session *);
void		 store_sub(struct session *, const struct sub *);
void		 store_unsub(struct session *, const uint8_t *, size_t);
void		 store_enqueue(struct session *, struct delivery *,
		    const uint32_t *);
void		 store_dlv_state(struct session *, const struct delivery *);
void		 store_dequeue(struct session *, struct delivery *);
void		 store_dlv_forget(struct delivery *);
void		 store_retain(const char *, size_t, struct msg *, struct msg *);
void		 store_rel(struct session *, uint16_t, int);
void		 store_dispatch(struct ipc_chan *, const struct ipc_msg *);

/* control.c */
typedef void	(*control_procs_cb)(void *, const struct ctl_proc *, size_t);

void		 control_init(int, int, int64_t);
void		 control_start(void);
void		 control_stat(struct ipc_chan *, const char *, uint64_t);
void		 control_end(struct ipc_chan *, const char *);
void		 control_result(uint32_t, int, const char *);
void		 control_process(uint32_t, const struct ctl_proc *);
void		 control_processes_end(uint32_t);
uint32_t	 control_ask_processes(control_procs_cb, void *);
void		 control_cancel_processes(uint32_t);
uint64_t	 control_wallclock(uint64_t);

#endif /* ENGINE_H */
