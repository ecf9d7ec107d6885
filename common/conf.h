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
	X(max_inflight, U32, 64, 1, 65535, "max inflight", 1)		\
	X(max_inflight_bytes, SIZE64, 0, 0, SETTING_SIZE_MAX,		\
	    "max inflight bytes", 1)					\
	X(max_queued, U32, 1000, 0, 100000000, "max queued messages", 1) \
	X(max_queued_bytes, SIZE64, 16 * 1024 * 1024, 0,		\
	    SETTING_SIZE_MAX, "max queued bytes", 1)			\
	X(max_queued_total, SIZE64, 1024ULL * 1024 * 1024, 0,		\
	    SETTING_SIZE_MAX, "max queued total", 1)			\
	X(max_client_buffer, SIZE32, 1024 * 1024, 4096,		\
	    1024 * 1024 * 1024, "max client buffer", 1)			\
	X(max_subscriptions, U32, 10000, 1, 100000000,			\
	    "max subscriptions", 1)					\
	X(max_user_properties, U32, 128, 0, 65535,			\
	    "max user properties", 1)					\
	X(max_topic_aliases, U32, 64, 0, 65535, "max topic aliases", 1)	\
	X(session_expiry, EXPIRY, EXPIRY_NEVER, 0, EXPIRY_NEVER,	\
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
	X(id_prefix, WORD, "auto-", 0, 32, "client id prefix", 1)

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
	X(max_conns, U32, 0, 1, UINT32_MAX, "max connections", 0)	\
	X(max_conns_addr, U32, 0, 1, UINT32_MAX,			\
	    "max connections per address", 0)

struct listener_opts {
	LISTENER_SETTINGS(SETTING_FIELD)
};

/* conf.c */
extern const struct setting	 engine_settings[];
extern const size_t		 engine_nsettings;
extern const struct setting	 listener_settings[];
extern const size_t		 listener_nsettings;

#endif /* BROKERD_CONF_H */
