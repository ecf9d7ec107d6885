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

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <net/if.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd.h"
#include "log.h"

/* A configuration holding every default; the parser overrides them. */
struct brokerd_conf *
config_new(void)
{
	struct brokerd_conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		fatal(NULL);
	TAILQ_INIT(&conf->listeners);
	strlcpy(conf->datadir, BROKERD_DATADIR, sizeof(conf->datadir));
	strlcpy(conf->chroot, BROKERD_CHROOT, sizeof(conf->chroot));
	strlcpy(conf->control, BROKERD_SOCKET, sizeof(conf->control));
	strlcpy(conf->user[PROC_ENGINE], "_brokerd",
	    sizeof(conf->user[PROC_ENGINE]));
	strlcpy(conf->user[PROC_TLSPROXY], "_brokertls",
	    sizeof(conf->user[PROC_TLSPROXY]));
	strlcpy(conf->user[PROC_AUTHD], "_brokerauth",
	    sizeof(conf->user[PROC_AUTHD]));
	strlcpy(conf->user[PROC_STORAGED], "_brokerdb",
	    sizeof(conf->user[PROC_STORAGED]));
	conf->verbose = 0;
	config_engine_defaults(&conf->engine);
	return conf;
}

/* The defaults of the limits and protocol options; brokerd.conf(5). */
void
config_engine_defaults(struct engine_conf *e)
{
	memset(e, 0, sizeof(*e));
	e->max_packet_size = 1024 * 1024;
	e->max_connect_size = 64 * 1024;
	e->max_topic_length = 65535;
	e->max_topic_levels = 200;
	e->max_keepalive = 65535;
	e->connect_timeout = 10;
	e->max_inflight = 64;
	e->max_inflight_bytes = 0;
	e->max_queued = 1000;
	e->max_queued_bytes = 16 * 1024 * 1024;
	e->max_queued_total = 1024LL * 1024 * 1024;
	e->max_client_buffer = 1024 * 1024;
	e->max_subscriptions = 10000;
	e->max_user_properties = 128;
	e->max_topic_aliases = 64;
	e->session_expiry = EXPIRY_NEVER;
	e->max_session_expiry = EXPIRY_NEVER;
	e->max_retained = 1000000;
	e->max_retained_bytes = 256 * 1024 * 1024;
	e->max_qos = 2;
	e->retain_available = 1;
	e->allow_empty_id = 1;
	strlcpy(e->id_prefix, "auto-", sizeof(e->id_prefix));
}

/*
 * Defaults that depend on what was parsed: with no listener, one on
 * 127.0.0.1 port 1883, never an open remote listener.
 */
void
config_defaults(struct brokerd_conf *conf)
{
	struct listener_conf	*l;
	struct sockaddr_in	*sin;

	/* A CONNECT is a packet too. */
	if (conf->engine.max_connect_size > conf->engine.max_packet_size)
		conf->engine.max_connect_size = conf->engine.max_packet_size;
	if (!TAILQ_EMPTY(&conf->listeners))
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal(NULL);
	l->id = 1;
	l->kind = LISTEN_TCP;
	l->fd = -1;
	sin = (struct sockaddr_in *)&l->ss;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(BROKERD_PORT);
	l->sslen = sizeof(*sin);
	/* Like Mosquitto: the loopback default takes anonymous clients. */
	l->anonymous = 1;
	TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
}

void
config_free(struct brokerd_conf *conf)
{
	struct listener_conf	*l;

	if (conf == NULL)
		return;
	while ((l = TAILQ_FIRST(&conf->listeners)) != NULL) {
		TAILQ_REMOVE(&conf->listeners, l, entry);
		free(l);
	}
	free(conf);
}

int
listener_same(const struct listener_conf *a, const struct listener_conf *b)
{
	return a->kind == b->kind && strcmp(a->path, b->path) == 0 &&
	    a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0 &&
	    a->max_conns == b->max_conns &&
	    a->max_conns_addr == b->max_conns_addr;
}

/* "127.0.0.1 port 1883", "::1 port 1883" or "/path/to/socket". */
const char *
listener_name(const struct listener_conf *l)
{
	static char	 buf[SUN_PATH_MAX + 64];
	char		 host[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
	const struct sockaddr_in6 *sin6;
	const void	*addr;
	in_port_t	 port;
	size_t		 n;

	if (l->kind == LISTEN_UNIX) {
		strlcpy(buf, l->path, sizeof(buf));
		return buf;
	}
	if (l->ss.ss_family == AF_INET) {
		addr = &((const struct sockaddr_in *)&l->ss)->sin_addr;
		port = ((const struct sockaddr_in *)&l->ss)->sin_port;
	} else {
		addr = &((const struct sockaddr_in6 *)&l->ss)->sin6_addr;
		port = ((const struct sockaddr_in6 *)&l->ss)->sin6_port;
	}
	if (inet_ntop(l->ss.ss_family, addr, host, sizeof(host)) == NULL)
		strlcpy(host, "?", sizeof(host));
	n = snprintf(buf, sizeof(buf), "%s", host);
	/* A link-local address keeps its zone: fe80::1%em0. */
	sin6 = (const struct sockaddr_in6 *)&l->ss;
	if (l->ss.ss_family == AF_INET6 && sin6->sin6_scope_id != 0) {
		if (if_indextoname(sin6->sin6_scope_id, ifname) != NULL)
			n += snprintf(buf + n, sizeof(buf) - n, "%%%s", ifname);
		else
			n += snprintf(buf + n, sizeof(buf) - n, "%%%u",
			    sin6->sin6_scope_id);
	}
	snprintf(buf + n, sizeof(buf) - n, " port %u", ntohs(port));
	return buf;
}

/* The same listeners, in any order (none is listed twice). */
/* IPC_ENGINE_CONF: the fields in the order of struct engine_conf. */
void
config_send_engine(struct ipc_chan *chan, const struct engine_conf *e)
{
	ipc_begin(chan, IPC_ENGINE_CONF, 0, 23);
	ipc_put_uint(chan, e->max_packet_size);
	ipc_put_uint(chan, e->max_connect_size);
	ipc_put_uint(chan, e->max_topic_length);
	ipc_put_uint(chan, e->max_topic_levels);
	ipc_put_uint(chan, e->max_keepalive);
	ipc_put_uint(chan, e->connect_timeout);
	ipc_put_uint(chan, e->max_inflight);
	ipc_put_uint(chan, e->max_inflight_bytes);
	ipc_put_uint(chan, e->max_queued);
	ipc_put_uint(chan, e->max_queued_bytes);
	ipc_put_uint(chan, e->max_queued_total);
	ipc_put_uint(chan, e->max_client_buffer);
	ipc_put_uint(chan, e->max_subscriptions);
	ipc_put_uint(chan, e->max_user_properties);
	ipc_put_uint(chan, e->max_topic_aliases);
	ipc_put_uint(chan, e->session_expiry);
	ipc_put_uint(chan, e->max_session_expiry);
	ipc_put_uint(chan, e->max_retained);
	ipc_put_uint(chan, e->max_retained_bytes);
	ipc_put_uint(chan, e->max_qos);
	ipc_put_bool(chan, e->retain_available);
	ipc_put_bool(chan, e->allow_empty_id);
	ipc_put_str(chan, e->id_prefix);
	ipc_end(chan, -1);
}

/* IPC_AUTH_LISTENER for each listener: who may connect there. */
void
config_send_auth(struct ipc_chan *chan, const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		ipc_begin(chan, IPC_AUTH_LISTENER, 0, 3);
		ipc_put_uint(chan, l->id);
		ipc_put_str(chan, listener_name(l));
		ipc_put_bool(chan, l->anonymous);
		ipc_end(chan, -1);
	}
}

static int
config_listeners_equal(const struct brokerd_conf *a,
    const struct brokerd_conf *b)
{
	const struct listener_conf	*la, *lb;
	int				 na = 0, nb = 0;

	TAILQ_FOREACH(lb, &b->listeners, entry)
		nb++;
	TAILQ_FOREACH(la, &a->listeners, entry) {
		na++;
		TAILQ_FOREACH(lb, &b->listeners, entry)
			if (listener_same(la, lb))
				break;
		if (lb == NULL)
			return 0;
	}
	return na == nb;
}

/*
 * Take what a reload may change from `new': the log level, the engine's
 * limits, and whether a listener takes anonymous clients.
 */
void
config_reload_apply(struct brokerd_conf *conf, const struct brokerd_conf *new)
{
	struct listener_conf		*l;
	const struct listener_conf	*nl;

	conf->verbose = new->verbose;
	conf->engine = new->engine;
	TAILQ_FOREACH(l, &conf->listeners, entry)
		TAILQ_FOREACH(nl, &new->listeners, entry)
			if (listener_same(l, nl))
				l->anonymous = nl->anonymous;
}

/*
 * Warn about settings a reload cannot change: the sockets, directories
 * and users are fixed when the processes start.  Returns how many.
 */
int
config_reload_check(const struct brokerd_conf *old,
    const struct brokerd_conf *new)
{
	int	 n = 0, i;

	if (!config_listeners_equal(old, new)) {
		log_warnx("reload: listeners changed; restart brokerd to "
		    "apply");
		n++;
	}
	if (strcmp(old->datadir, new->datadir) != 0 ||
	    strcmp(old->chroot, new->chroot) != 0 ||
	    strcmp(old->control, new->control) != 0) {
		log_warnx("reload: directories or the control socket "
		    "changed; restart brokerd to apply");
		n++;
	}
	for (i = PROC_ENGINE; i < PROC_MAX; i++)
		if (strcmp(old->user[i], new->user[i]) != 0) {
			log_warnx("reload: user of %s changed; restart "
			    "brokerd to apply", proc_names[i]);
			n++;
		}
	return n;
}
