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


#ifndef BROKERD_CONF_H
#define BROKERD_CONF_H

/*
 * The settings the parent sends to its children, each declared once
 * (settings.h says how a row reads).  brokerd.conf(5) documents every
 * row; tests/unit/test_conf.c fails for a row it does not document, and
 * checks that every row goes from the file through the parent's sender
 * to the receiver unchanged.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <limits.h>
#include <stdint.h>

#include "mqtt.h"
#include "settings.h"

#define EXPIRY_NEVER		UINT32_MAX
#define SUN_PATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)
#define LISTENER_NAME_MAX	(SUN_PATH_MAX + 64)	/* listener_name() */
#define SETTING_SIZE_MAX	(1ULL << 48)

/*
 * What the engine enforces: every limit a client can push against, and
 * the protocol's options.  IPC_ENGINE_CONF carries it at start and after
 * every reload.
 */
#define ENGINE_SETTINGS(X)						\
	X(max_packet_size, SIZE32, 1024 * 1024, 64, MQTT_MAX_REMAINING,	\
	    "max packet size", 1)					\
	X(max_connect_size, SIZE32, 64 * 1024, 64, MQTT_MAX_REMAINING,	\
	    "max connect size", 1)					\
	X(max_topic_length, U32, 65535, 1, 65535, "max topic length", 1) \
	X(max_topic_levels, U32, 200, 1, 65535, "max topic levels", 1)	\
	X(max_keepalive, U32, 65535, 1, 65535, "max keepalive", 1)	\
	X(connect_timeout, U32, 10, 1, 3600, "connect timeout", 1)	\
	X(max_auth_waiting, U32, 1024, 1, 1000000, "max auth waiting", 1) \
	X(max_connect_total, SIZE64, 16 * 1024 * 1024, 64 * 1024,	\
	    SETTING_SIZE_MAX, "max connect total", 1)			\
	X(max_inflight, U32, 64, 1, 65535, "max inflight", 1)		\
	X(max_inflight_bytes, SIZE64, 0, 0, SETTING_SIZE_MAX,		\
	    "max inflight bytes", 1)					\
	X(max_queued, U32, 1000, 0, 100000000, "max queued messages", 1) \
	X(max_queued_bytes, SIZE64, 16 * 1024 * 1024, 0,		\
	    SETTING_SIZE_MAX, "max queued bytes", 1)			\
	X(max_queued_total, SIZE64, 1024ULL * 1024 * 1024, 0,		\
	    SETTING_SIZE_MAX, "max queued total", 1)			\
	X(max_hold_time, U32, 10, 1, 86400, "max hold time", 1)		\
	X(slow_subscriber, CHOICE, SLOW_DROP, 0, 1, "slow subscriber", 1) \
	X(max_client_buffer, SIZE32, 1024 * 1024, 4096,		\
	    1024 * 1024 * 1024, "max client buffer", 1)			\
	X(max_subscriptions, U32, 10000, 1, 100000000,			\
	    "max subscriptions", 1)					\
	X(max_subscriptions_total, U32, 1000000, 1, 1000000000,	\
	    "max subscriptions total", 1)				\
	X(max_sessions, U32, 100000, 1, 100000000, "max sessions", 1)	\
	X(max_user_properties, U32, 128, 0, 65535,			\
	    "max user properties", 1)					\
	X(max_topic_aliases, U32, 64, 0, 65535, "max topic aliases", 1)	\
	X(topic_aliases_out, U32, 64, 0, 65535,				\
	    "topic aliases to clients", 1)				\
	X(session_expiry, EXPIRY, 7 * 86400, 0, EXPIRY_NEVER,		\
	    "session expiry", 1)					\
	X(max_session_expiry, EXPIRY, EXPIRY_NEVER, 0, EXPIRY_NEVER,	\
	    "max session expiry", 1)					\
	X(max_retained, U32, 1000000, 0, 1000000000,			\
	    "max retained messages", 1)					\
	X(max_retained_bytes, SIZE64, 256 * 1024 * 1024, 0,		\
	    SETTING_SIZE_MAX, "max retained bytes", 1)			\
	X(max_qos, U32, 2, 0, 2, "max qos", 1)				\
	X(retain_available, BOOL, 1, 0, 1, "retain", 1)			\
	X(allow_empty_id, BOOL, 1, 0, 1, "empty client id", 1)		\
	X(id_prefix, WORD, "auto-", 0, 32, "client id prefix", 1)	\
	X(sys_interval, U32, 10, 0, 86400, "sys interval", 1)		\
	X(sys_events, BOOL, 0, 0, 1, "sys events", 1)			\
	X(persistence, CHOICE, PERSIST_SYNC, 0, 2, "persistence", 0)	\
	X(damaged_store, CHOICE, DAMAGED_REFUSE, 0, 1, "damaged store", 0)

/* persistence: what storaged keeps, and when it is on disk. */
#define PERSIST_OFF		0	/* memory only */
#define PERSIST_NOSYNC		1	/* in the kernel at commit */
#define PERSIST_SYNC		2	/* on disk at commit */
/* slow subscriber: what a publisher held past max hold time does. */
#define SLOW_DROP		0	/* the message is dropped for it */
#define SLOW_DISCONNECT		1	/* it is disconnected */
/* damaged store: what storaged does with one it cannot read. */
#define DAMAGED_REFUSE		0
#define DAMAGED_MOVE_ASIDE	1

struct engine_conf {
	ENGINE_SETTINGS(SETTING_FIELD)
};

enum listen_kind {
	LISTEN_TCP,
	LISTEN_UNIX
};

/*
 * The options of one listener, after its address: `listen on ADDRESS
 * [port N] OPTION ...'.  The engine, authd and tlsproxy each get them
 * with the listener.
 */
#define LISTENER_SETTINGS(X)						\
	X(anonymous, FLAG, 0, 0, 1, "allow anonymous", 1)		\
	X(password_file, PATH, "", 0, PATH_MAX, "password file", 1)	\
	X(acl_file, PATH, "", 0, PATH_MAX, "acl file", 1)		\
	X(scram_file, PATH, "", 0, PATH_MAX, "scram file", 1)		\
	X(use_identity, FLAG, 0, 0, 1, "use identity as username", 0)	\
	X(use_subject, FLAG, 0, 0, 1, "use subject as username", 0)	\
	X(max_conns, U32, 0, 1, UINT32_MAX, "max connections", 0)	\
	X(max_conns_addr, U32, 0, 1, UINT32_MAX,			\
	    "max connections per address", 0)				\
	X(metrics, FLAG, 0, 0, 1, "metrics", 0)				\
	LISTENER_TLS_SETTINGS(X)

/*
 * A listener with tls, websocket or proxy protocol is served by tlsproxy,
 * which hands each connection to the engine.  The files are read by the
 * parent at start and at every reload (tlsconf.c).
 */
#define LISTENER_TLS_SETTINGS(X)					\
	X(tls, FLAG, 0, 0, 1, "tls", 0)					\
	X(websocket, FLAG, 0, 0, 1, "websocket", 0)			\
	X(proxy_protocol, FLAG, 0, 0, 1, "proxy protocol", 0)		\
	X(certificate, PATH, "", 0, PATH_MAX, "certificate", 1)		\
	X(key, PATH, "", 0, PATH_MAX, "key", 1)				\
	X(keypairs, PATH, "", 0, PATH_MAX, "keypairs", 1)		\
	X(ca, PATH, "", 0, PATH_MAX, "ca", 1)				\
	X(crl, PATH, "", 0, PATH_MAX, "crl", 1)				\
	X(cert_required, FLAG, 0, 0, 1, "client certificate required", 1) \
	X(tls13_only, FLAG, 0, 0, 1, "tls 1.3 only", 1)			\
	X(ciphers, STRING, "", 0, 512, "ciphers", 1)			\
	X(ciphersuites, STRING, "", 0, 256, "ciphersuites", 1)		\
	X(groups, STRING, "", 0, 128, "groups", 1)			\
	X(origins, STRING, "", 0, 1024, "websocket origins", 1)		\
	X(max_handshakes, U32, 1024, 1, 1000000, "max handshakes", 0)	\
	X(max_handshakes_addr, U32, 32, 1, 1000000,			\
	    "max handshakes per address", 0)				\
	X(handshake_timeout, U32, 10, 1, 3600, "handshake timeout", 0)

/*
 * authd's own settings (IPC_AUTH_CONF, before its files): the pool of
 * processes that run the password KDF, and the throttling of addresses
 * whose logins fail (authd.8).
 */
#define AUTHD_SETTINGS(X)						\
	X(workers, U32, 4, 1, AUTHD_WORKERS_MAX, "auth workers", 0)	\
	X(fail_limit, U32, 10, 0, 1000000, "auth fail limit", 1)	\
	X(fail_window, U32, 60, 1, 86400, "auth fail window", 1)	\
	X(exchange_timeout, U32, 30, 1, 3600, "auth exchange timeout", 1)

#define AUTHD_WORKERS_MAX	64

struct authd_conf {
	AUTHD_SETTINGS(SETTING_FIELD)
};

/*
 * authd's counters, shown by brokerctl show stats as "authd.NAME": authd
 * sends them to the engine when they change (IPC_AUTH_STATS).
 */
#define AUTHD_STATS(X)							\
	X(workers)		/* processes that run the KDF */	\
	X(verified)		/* passwords checked by a worker */	\
	X(cached)		/* ... known good from the cache */	\
	X(failed)		/* wrong passwords, unknown users */	\
	X(queued)		/* verifications waiting for a worker */ \
	X(queued_max)		/* the most that ever waited */		\
	X(throttle_delayed)	/* refusals answered late */		\
	X(throttle_refused)	/* logins refused for an address's failures */ \
	X(throttle_addrs)	/* addresses refused now */		\
	X(scram_verified)	/* SCRAM proofs that were right */	\
	X(scram_expired)	/* SCRAM exchanges abandoned */	\
	X(scram_exchanges)	/* ... under way now */

#define AUTHD_STAT_FIELD(name)	uint64_t name;
struct authd_stats {
	AUTHD_STATS(AUTHD_STAT_FIELD)
};

/* The files of a TLS listener (IPC_TLS_PEM). */
enum tls_pem_kind {
	TLS_PEM_CERT,		/* a certificate and its chain */
	TLS_PEM_KEY,		/* the key of the last TLS_PEM_CERT */
	TLS_PEM_CA,
	TLS_PEM_CRL
};

/* How a client reached the engine (IPC_TLS_CONN). */
#define TRANSPORT_TCP		0	/* plain: TCP, or behind a PROXY header */
#define TRANSPORT_TLS		1
#define TRANSPORT_WS		2
#define TRANSPORT_WSS		3
#define TRANSPORT_MAX		3

/* Where a connection's certificate identity came from. */
#define IDENTITY_NONE		0
#define IDENTITY_TLS		1	/* tlsproxy's handshake verified it */
#define IDENTITY_PROXY		2	/* the load balancer's PROXY v2 TLVs */
#define IDENTITY_MAX		2

#define TLS_SUBJECT_MAX		1024
#define TLS_CN_MAX		256
#define TLS_VERSION_MAX		16
#define TLS_CIPHER_MAX		64

/*
 * tlsproxy's counters, shown by brokerctl show stats as "tlsproxy.NAME":
 * tlsproxy sends them to the engine when they change (IPC_TLS_STATS).
 */
#define TLSPROXY_STATS(X)						\
	X(accepted)		/* connections accepted */		\
	X(handed_off)		/* ... handed to the engine */		\
	X(refused_busy)		/* max handshakes reached */		\
	X(refused_addr)		/* max handshakes per address */	\
	X(handshake_timeouts)						\
	X(tls_failed)		/* TLS handshakes that failed */	\
	X(plain_mqtt)		/* MQTT on a TLS or WebSocket listener */ \
	X(not_tls)		/* something else on a TLS listener */	\
	X(proxy_bad)		/* bad or missing PROXY header */	\
	X(http_bad)		/* refused WebSocket upgrades */	\
	X(ws_bad)		/* connections closed for a bad frame */ \
	X(identity_bad)		/* certificates with no clear identity */ \
	X(bytes_in)		/* client to engine */			\
	X(bytes_out)		/* engine to client */			\
	X(handshakes)		/* now in progress */			\
	X(connections)		/* now relayed */

#define TLSPROXY_STAT_FIELD(name)	uint64_t name;
struct tlsproxy_stats {
	TLSPROXY_STATS(TLSPROXY_STAT_FIELD)
};

/* Served by tlsproxy rather than the engine. */
#define LISTENER_RELAYED(o)	((o)->tls || (o)->websocket ||		\
				    (o)->proxy_protocol)

struct listener_opts {
	LISTENER_SETTINGS(SETTING_FIELD)
};

/* conf.c */
extern const struct setting	 engine_settings[];
extern const size_t		 engine_nsettings;
extern const struct setting	 listener_settings[];
extern const size_t		 listener_nsettings;
extern const struct setting	 authd_settings[];
extern const size_t		 authd_nsettings;

#endif /* BROKERD_CONF_H */
