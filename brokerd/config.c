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

#define GLOBAL_DESC(...)	SETTING_DESC(struct brokerd_conf, __VA_ARGS__)

GLOBAL_SETTINGS(SETTING_ASSERT)

static int	config_fixed_changed(const struct setting *, size_t,
		    const void *, const void *);

const struct setting global_settings[] = {
	GLOBAL_SETTINGS(GLOBAL_DESC)
};
const size_t global_nsettings =
    sizeof(global_settings) / sizeof(global_settings[0]);

/* A configuration holding every default; the parser overrides them. */
struct brokerd_conf *
config_new(void)
{
	struct brokerd_conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		fatal(NULL);
	TAILQ_INIT(&conf->listeners);
	settings_defaults(global_settings, global_nsettings, conf);
	settings_defaults(engine_settings, engine_nsettings, &conf->engine);
	settings_defaults(authd_settings, authd_nsettings, &conf->authd);
	return conf;
}

struct listener_conf *
config_listener_new(enum listen_kind kind)
{
	struct listener_conf	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal(NULL);
	l->kind = kind;
	l->fd = -1;
	settings_defaults(listener_settings, listener_nsettings, &l->o);
	return l;
}

const char *
config_user(const struct brokerd_conf *conf, enum proc_type p)
{
	switch (p) {
	case PROC_ENGINE:
		return conf->user_engine;
	case PROC_TLSPROXY:
		return conf->user_tlsproxy;
	case PROC_AUTHD:
		return conf->user_authd;
	case PROC_STORAGED:
		return conf->user_storaged;
	default:
		fatalx("%s: no user for %s", __func__, proc_names[p]);
	}
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
	l = config_listener_new(LISTEN_TCP);
	l->id = 1;
	sin = (struct sockaddr_in *)&l->ss;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(BROKERD_PORT);
	l->sslen = sizeof(*sin);
	/* Like Mosquitto: the loopback default takes anonymous clients. */
	l->o.anonymous = 1;
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

/* A number of a listener row still at its default. */
static int
listener_default(const struct listener_conf *l, const char *kw)
{
	const struct setting	*s;

	s = settings_find(listener_settings, listener_nsettings, kw);
	return setting_uint(s, &l->o) == s->def;
}

/*
 * What the options of one listener must agree on; -1 with `err'.  The
 * files are read at start and at every reload (tlsconf.c), not here.
 */
int
listener_check(const struct listener_conf *l, char *err, size_t errlen)
{
	const struct listener_opts	*o = &l->o;

	if (!o->tls && (o->certificate[0] != '\0' || o->key[0] != '\0' ||
	    o->keypairs[0] != '\0' || o->ca[0] != '\0' || o->crl[0] != '\0' ||
	    o->cert_required || o->tls13_only || o->ciphers[0] != '\0' ||
	    o->ciphersuites[0] != '\0' || o->groups[0] != '\0')) {
		snprintf(err, errlen, "certificate, key, keypairs, ca, crl, "
		    "ciphers and the other TLS options need tls");
		return -1;
	}
	if (o->tls && (o->certificate[0] == '\0') != (o->key[0] == '\0')) {
		snprintf(err, errlen, "certificate and key go together");
		return -1;
	}
	if (o->tls && o->certificate[0] == '\0' && o->keypairs[0] == '\0') {
		snprintf(err, errlen, "tls needs a certificate and key, or "
		    "keypairs");
		return -1;
	}
	if (o->crl[0] != '\0' && o->ca[0] == '\0') {
		snprintf(err, errlen, "crl needs ca");
		return -1;
	}
	if (o->cert_required && o->ca[0] == '\0') {
		snprintf(err, errlen, "client certificate required needs ca");
		return -1;
	}
	if ((o->use_identity || o->use_subject) && o->ca[0] == '\0' &&
	    !o->proxy_protocol) {
		snprintf(err, errlen, "use identity or subject as username "
		    "needs ca (client certificates) or proxy protocol");
		return -1;
	}
	if (o->origins[0] != '\0' && !o->websocket) {
		snprintf(err, errlen, "websocket origins need websocket");
		return -1;
	}
	if (!LISTENER_RELAYED(o) && (!listener_default(l, "max handshakes") ||
	    !listener_default(l, "max handshakes per address") ||
	    !listener_default(l, "handshake timeout"))) {
		snprintf(err, errlen, "handshake limits need tls, websocket "
		    "or proxy protocol");
		return -1;
	}
	return 0;
}

/*
 * The same listener: the same socket, and the same options where a
 * reload cannot change them.
 */
int
listener_same(const struct listener_conf *a, const struct listener_conf *b)
{
	return a->kind == b->kind && strcmp(a->path, b->path) == 0 &&
	    a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0 &&
	    settings_equal(listener_settings, listener_nsettings, &a->o,
	    &b->o, 1);
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

/*
 * IPC_ENGINE_CONF: the table as it is in memory.  The engine is this
 * program run again, so the layout is the same on both sides; the
 * receiver checks the size and every value (engine_dispatch_parent).
 */
void
config_send_engine(struct ipc_chan *chan, const struct engine_conf *e)
{
	ipc_begin(chan, IPC_ENGINE_CONF, 0, 1);
	ipc_put_bin(chan, e, sizeof(*e));
	ipc_end(chan, -1);
}

/* IPC_STORE_CONF: what storaged needs of the engine's settings. */
void
config_send_storaged(struct ipc_chan *chan, const struct engine_conf *e)
{
	ipc_begin(chan, IPC_STORE_CONF, 0, 2);
	ipc_put_uint(chan, e->persistence);
	ipc_put_uint(chan, e->damaged_store);
	ipc_end(chan, -1);
}

/*
 * IPC_LISTENER for each listener, with its bound socket; for those that
 * tlsproxy serves (tlsconf_send_listeners), IPC_LISTENER_RELAYED without.
 */
void
config_send_listeners(struct ipc_chan *chan, const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;
	int				 relayed;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		relayed = LISTENER_RELAYED(&l->o);
		ipc_begin(chan, relayed ? IPC_LISTENER_RELAYED : IPC_LISTENER,
		    0, 4);
		ipc_put_uint(chan, l->id);
		ipc_put_uint(chan, l->kind);
		ipc_put_str(chan, listener_name(l));
		ipc_put_bin(chan, &l->o, sizeof(l->o));
		ipc_end(chan, relayed ? -1 : l->fd);
	}
}

/*
 * IPC_AUTH_CONF, authd's settings (the same program's struct, checked by
 * the receiver), then IPC_AUTH_LISTENER for each listener: who may
 * connect there.
 */
void
config_send_auth(struct ipc_chan *chan, const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;

	ipc_begin(chan, IPC_AUTH_CONF, 0, 1);
	ipc_put_bin(chan, &conf->authd, sizeof(conf->authd));
	ipc_end(chan, -1);
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		ipc_begin(chan, IPC_AUTH_LISTENER, 0, 3);
		ipc_put_uint(chan, l->id);
		ipc_put_str(chan, listener_name(l));
		ipc_put_bin(chan, &l->o, sizeof(l->o));
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
 * Take what a reload may change from `new': the settings of the tables
 * whose rows say so (the log level, the engine's limits, some listener
 * options).
 */
void
config_reload_apply(struct brokerd_conf *conf, const struct brokerd_conf *new)
{
	struct listener_conf		*l;
	const struct listener_conf	*nl;

	settings_reload(global_settings, global_nsettings, conf, new);
	settings_reload(engine_settings, engine_nsettings, &conf->engine,
	    &new->engine);
	settings_reload(authd_settings, authd_nsettings, &conf->authd,
	    &new->authd);
	TAILQ_FOREACH(l, &conf->listeners, entry)
		TAILQ_FOREACH(nl, &new->listeners, entry)
			if (listener_same(l, nl))
				settings_reload(listener_settings,
				    listener_nsettings, &l->o, &nl->o);
}

/*
 * Warn about settings a reload cannot change: the sockets, directories
 * and users are fixed when the processes start, and so are the listener
 * options whose rows say so.  Returns how many.
 */
int
config_reload_check(const struct brokerd_conf *old,
    const struct brokerd_conf *new)
{
	int	 n = 0;

	if (!config_listeners_equal(old, new)) {
		log_warnx("reload: listeners changed; restart brokerd to "
		    "apply");
		n++;
	}
	n += config_fixed_changed(global_settings, global_nsettings, old, new);
	n += config_fixed_changed(authd_settings, authd_nsettings, &old->authd,
	    &new->authd);
	return n;
}

/* The rows of a table that a reload cannot change, and did. */
static int
config_fixed_changed(const struct setting *tab, size_t ntab, const void *old,
    const void *new)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < ntab; i++) {
		if (!tab[i].reload && !settings_equal(&tab[i], 1, old, new,
		    0)) {
			log_warnx("reload: %s changed; restart brokerd to "
			    "apply", tab[i].kw);
			n++;
		}
	}
	return n;
}
