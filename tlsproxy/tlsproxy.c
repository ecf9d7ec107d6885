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
 * tlsproxy: terminates TLS and WebSocket connections (and reads PROXY
 * headers) on the listeners the parent passes, and hands the engine one
 * end of a socketpair per connection with its facts.  The only process
 * that holds the TLS private keys: they come from the parent as PEM over
 * a channel whose buffers both ends wipe, are parsed here (tls.c) and
 * wiped.  Chrooted, its own user, no file system.
 *
 * The files of a listener arrive as IPC_TLS_PEM frames and wait here
 * until IPC_TLS_LOAD builds its contexts from them; a set that does not
 * load leaves the listener with the one it had.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "child.h"
#include "conf.h"
#include "log.h"
#include "proxy.h"
#include "tlsproxy.h"

#define TP_KEYPAIRS_MAX		129	/* the parent sends at most 65 */
#define TP_ORIGINS_MAX		32

/* A listener with its files in waiting. */
struct tp_conf {
	TAILQ_ENTRY(tp_conf)	 entry;
	struct tp_listener	 lst;
	char			 name[LISTENER_NAME_MAX];
	struct listener_opts	 o;
	char			 origins_buf[sizeof(((struct listener_opts *)
				    0)->origins)];
	const char		*origins[TP_ORIGINS_MAX];
	struct tls_keypair	 kp[TP_KEYPAIRS_MAX];
	size_t			 nkp;
	struct tls_pem		 ca;
	struct tls_pem		 crl;
};

static TAILQ_HEAD(, tp_conf)	 tp_confs = TAILQ_HEAD_INITIALIZER(tp_confs);
static struct tlsproxy_stats	 tp_sent;	/* as the engine has them */
static struct evtimer		 tp_stats_timer;

#define TP_STATS_INTERVAL	1000	/* ms */

static void	tlsproxy_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	tlsproxy_dispatch_engine(struct ipc_chan *, struct ipc_msg *);
static void	tlsproxy_start(void);
static int	tlsproxy_handoff(int, const struct handoff *, void *);

static const ipc_dispatch_fn tlsproxy_peers[PROC_MAX] = {
	[PROC_ENGINE] = tlsproxy_dispatch_engine,
};

int
main(int argc, char *argv[])
{
	/* OpenSSL before the sandbox: it reads no file after this. */
	tls_init();
	relay_init(NULL, tlsproxy_handoff, NULL);
	/* The parent channel carries keys: proc_parent_secret. */
	child_main(PROC_TLSPROXY, argc, argv, tlsproxy_dispatch_parent);
}

static struct tp_conf *
tlsproxy_conf(uint64_t id)
{
	struct tp_conf	*tc;

	TAILQ_FOREACH(tc, &tp_confs, entry)
		if (tc->lst.id == id)
			return tc;
	fatalx("no listener %llu here", (unsigned long long)id);
}

static void
tlsproxy_pem_free(struct tls_pem *p)
{
	if (p->p != NULL)
		freezero(p->p, p->len);
	p->p = NULL;
	p->len = 0;
}

/* The files in waiting are used or dropped: nothing of them stays. */
static void
tlsproxy_files_free(struct tp_conf *tc)
{
	size_t	 i;

	for (i = 0; i < tc->nkp; i++) {
		tlsproxy_pem_free(&tc->kp[i].cert);
		tlsproxy_pem_free(&tc->kp[i].key);
	}
	tc->nkp = 0;
	tlsproxy_pem_free(&tc->ca);
	tlsproxy_pem_free(&tc->crl);
}

/* The options that a reload may change, for new connections. */
static void
tlsproxy_options(struct tp_conf *tc, const struct listener_opts *o)
{
	char	*p, *save, *w;
	size_t	 n = 0;

	tc->o = *o;
	strlcpy(tc->origins_buf, o->origins, sizeof(tc->origins_buf));
	for (w = strtok_r(tc->origins_buf, ", ", &save); w != NULL &&
	    n < TP_ORIGINS_MAX; w = strtok_r(NULL, ", ", &save))
		tc->origins[n++] = w;
	if ((p = w) != NULL)
		log_warnx("listener %s: more than %d websocket origins; "
		    "\"%s\" and after are ignored", tc->name, TP_ORIGINS_MAX,
		    p);
	tc->lst.http.origins = tc->origins;
	tc->lst.http.norigins = n;
}

static void
tlsproxy_listener(struct ipc_msg *msg)
{
	struct tp_conf		*tc;
	struct listener_opts	 o;
	char			 err[256];

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		fatal(NULL);
	if (ipc_get_cstr(msg, 1, tc->name, sizeof(tc->name)) == -1 ||
	    ipc_get_struct(msg, 2, &o, sizeof(o)) == -1 ||
	    settings_check(listener_settings, listener_nsettings, &o, err,
	    sizeof(err)) == -1 || !LISTENER_RELAYED(&o))
		fatalx("bad IPC_TLS_LISTENER");
	tc->lst.id = ipc_get_uint(msg, 0);
	tc->lst.fd = msg->fd;
	msg->fd = -1;
	tc->lst.flags = (o.tls ? TPL_TLS : 0) | (o.websocket ? TPL_WS : 0);
	tc->lst.proxy = o.proxy_protocol ? PROXY_V1 | PROXY_V2 : 0;
	tc->lst.http.max_head = HTTP_HEAD_MAX;
	tc->lst.http.max_headers = HTTP_HEADERS_MAX;
	tc->lst.max_handshakes = o.max_handshakes;
	tc->lst.max_handshakes_addr = o.max_handshakes_addr;
	tc->lst.handshake_timeout = o.handshake_timeout * 1000;
	tlsproxy_options(tc, &o);
	TAILQ_INSERT_TAIL(&tp_confs, tc, entry);
}

static void
tlsproxy_pem(struct ipc_msg *msg)
{
	struct tp_conf		*tc = tlsproxy_conf(ipc_get_uint(msg, 0));
	struct tls_pem		*dst;
	const void		*p;
	size_t			 len;

	if ((p = ipc_get_bin(msg, 2, &len)) == NULL || len == 0)
		fatalx("IPC_TLS_PEM: no PEM");
	switch (ipc_get_uint(msg, 1)) {
	case TLS_PEM_CERT:
		if (tc->nkp == TP_KEYPAIRS_MAX)
			fatalx("IPC_TLS_PEM: too many certificates");
		dst = &tc->kp[tc->nkp++].cert;
		break;
	case TLS_PEM_KEY:
		if (tc->nkp == 0 || tc->kp[tc->nkp - 1].key.p != NULL)
			fatalx("IPC_TLS_PEM: a key without its certificate");
		dst = &tc->kp[tc->nkp - 1].key;
		break;
	case TLS_PEM_CA:
		dst = &tc->ca;
		break;
	case TLS_PEM_CRL:
		dst = &tc->crl;
		break;
	default:
		fatalx("IPC_TLS_PEM: unknown kind of file");
	}
	tlsproxy_pem_free(dst);
	if ((dst->p = malloc(len)) == NULL)
		fatal(NULL);
	memcpy(dst->p, p, len);
	dst->len = len;
}

/* Build the listener's contexts from its files; the old ones stay if not. */
static int
tlsproxy_tls_load(struct tp_conf *tc, char *err, size_t errlen)
{
	struct tls_server_conf	 sc;
	struct tls_server	*ts;
	size_t			 i;

	for (i = 0; i < tc->nkp; i++)
		if (tc->kp[i].key.p == NULL) {
			snprintf(err, errlen, "a certificate without its key");
			return -1;
		}
	memset(&sc, 0, sizeof(sc));
	sc.keypairs = tc->kp;
	sc.nkeypairs = tc->nkp;
	sc.ca = tc->ca;
	sc.crl = tc->crl;
	if (tc->ca.p == NULL)
		sc.verify = TLS_VERIFY_NONE;
	else
		sc.verify = tc->o.cert_required ? TLS_VERIFY_REQUIRED :
		    TLS_VERIFY_OPTIONAL;
	sc.min_version = tc->o.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION;
	sc.ciphers = tc->o.ciphers[0] != '\0' ? tc->o.ciphers : NULL;
	sc.ciphersuites = tc->o.ciphersuites[0] != '\0' ?
	    tc->o.ciphersuites : NULL;
	sc.groups = tc->o.groups[0] != '\0' ? tc->o.groups : NULL;
	sc.id = tc->lst.id;
	if ((ts = tls_server_new(&sc, err, errlen)) == NULL)
		return -1;
	/* Handshakes in progress and open connections keep the old set. */
	tls_server_unref(tc->lst.tls);
	tc->lst.tls = ts;
	return 0;
}

static void
tlsproxy_load(struct ipc_msg *msg)
{
	struct tp_conf		*tc = tlsproxy_conf(ipc_get_uint(msg, 0));
	struct listener_opts	 o;
	char			 err[512];
	int			 ok = 1;

	if (ipc_get_struct(msg, 1, &o, sizeof(o)) == -1 ||
	    settings_check(listener_settings, listener_nsettings, &o, err,
	    sizeof(err)) == -1 || !o.tls != !tc->o.tls ||
	    !o.websocket != !tc->o.websocket ||
	    !o.proxy_protocol != !tc->o.proxy_protocol)
		fatalx("bad IPC_TLS_LOAD");
	err[0] = '\0';
	if (o.tls) {
		/* The files go with the options they were read for. */
		tlsproxy_options(tc, &o);
		ok = tlsproxy_tls_load(tc, err, sizeof(err)) == 0;
	} else
		tlsproxy_options(tc, &o);
	tlsproxy_files_free(tc);
	ipc_begin(child.parent, IPC_TLS_LOADED, 0, 3);
	ipc_put_uint(child.parent, tc->lst.id);
	ipc_put_bool(child.parent, ok);
	ipc_put_str(child.parent, err);
	ipc_end(child.parent, -1);
}

/* The counters, to the engine, when they have changed. */
static void
tlsproxy_stats(void *arg)
{
	const struct tlsproxy_stats	*st = relay_stats();
	struct ipc_chan			*e = child.peer[PROC_ENGINE];

	(void)arg;
	if (e != NULL && memcmp(st, &tp_sent, sizeof(tp_sent)) != 0) {
		ipc_begin(e, IPC_TLS_STATS, 0, 1);
		ipc_put_bin(e, st, sizeof(*st));
		ipc_end(e, -1);
		tp_sent = *st;
	}
	evtimer_add(&tp_stats_timer, TP_STATS_INTERVAL);
}

/* IPC_START: serve. */
static void
tlsproxy_start(void)
{
	struct tp_conf	*tc;

	evtimer_set(&tp_stats_timer, tlsproxy_stats, NULL);
	evtimer_add(&tp_stats_timer, TP_STATS_INTERVAL);

	TAILQ_FOREACH(tc, &tp_confs, entry) {
		if ((tc->lst.flags & TPL_TLS) && tc->lst.tls == NULL)
			fatalx("listener %s: no certificate loaded", tc->name);
		relay_listen(&tc->lst);
	}
}

/*
 * A connection is ready: its socket and its facts go to the engine.
 * With fd -1: is there room for another descriptor on the channel?
 */
static int
tlsproxy_handoff(int fd, const struct handoff *ho, void *arg)
{
	struct ipc_chan	*e = child.peer[PROC_ENGINE];

	(void)arg;
	if (e == NULL)
		fatalx("no channel to the engine");
	if (e->nwfds >= IPC_MAX_FDQ)
		ipc_chan_flush(e);
	if (e->nwfds >= IPC_MAX_FDQ) {
		if (fd != -1)
			fatalx("a hand-off with no room for it");
		return -1;
	}
	if (fd == -1)
		return 0;
	ipc_begin(e, IPC_TLS_CONN, 0, 10);
	ipc_put_uint(e, ho->listener);
	ipc_put_bin(e, &ho->peer, sizeof(ho->peer));
	ipc_put_bin(e, &ho->local, sizeof(ho->local));
	ipc_put_uint(e, ho->transport);
	ipc_put_bool(e, ho->proxied);
	ipc_put_uint(e, ho->identity);
	ipc_put_str(e, ho->tls_version);
	ipc_put_str(e, ho->tls_cipher);
	ipc_put_str(e, ho->subject);
	ipc_put_str(e, ho->cn);
	ipc_end(e, fd);
	return 0;
}

static void
tlsproxy_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	if (child_dispatch(msg, tlsproxy_peers, tlsproxy_start))
		return;
	switch (msg->hdr.type) {
	case IPC_TLS_LISTENER:
		tlsproxy_listener(msg);
		break;
	case IPC_TLS_PEM:
		tlsproxy_pem(msg);
		break;
	case IPC_TLS_LOAD:
		tlsproxy_load(msg);
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

static void
tlsproxy_dispatch_engine(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	switch (msg->hdr.type) {
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
}
