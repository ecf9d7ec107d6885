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
 * authd: holds the password hashes and ACL rules and answers the engine's
 * questions about them.  Chrooted, its own user, no file system, no
 * network.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "log.h"
#include "mqtt.h"

/* What authd knows of a listener. */
struct auth_listener {
	TAILQ_ENTRY(auth_listener) entry;
	uint32_t		 id;
	char			 name[LISTENER_NAME_MAX];
	struct listener_opts	 o;
};

static TAILQ_HEAD(, auth_listener) auth_listeners =
    TAILQ_HEAD_INITIALIZER(auth_listeners);

static void	authd_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	authd_dispatch_engine(struct ipc_chan *, struct ipc_msg *);
static void	authd_listener(uint32_t, const char *,
		    const struct listener_opts *);
static void	authd_connect(struct ipc_chan *, struct ipc_msg *);

static const ipc_dispatch_fn authd_peers[PROC_MAX] = {
	[PROC_ENGINE] = authd_dispatch_engine,
};

int
main(int argc, char *argv[])
{
	child_main(PROC_AUTHD, argc, argv, authd_dispatch_parent);
}

static void
authd_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct listener_opts	 o;
	char			 name[LISTENER_NAME_MAX], err[128];

	(void)chan;
	if (child_dispatch(msg, authd_peers, NULL))
		return;
	switch (msg->hdr.type) {
	case IPC_AUTH_LISTENER:
		if (ipc_get_cstr(msg, 1, name, sizeof(name)) == -1 ||
		    ipc_get_struct(msg, 2, &o, sizeof(o)) == -1 ||
		    settings_check(listener_settings, listener_nsettings, &o,
		    err, sizeof(err)) == -1)
			fatalx("bad IPC_AUTH_LISTENER");
		authd_listener(ipc_get_uint(msg, 0), name, &o);
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

static struct auth_listener *
authd_find_listener(uint32_t id)
{
	struct auth_listener	*l;

	TAILQ_FOREACH(l, &auth_listeners, entry)
		if (l->id == id)
			return l;
	return NULL;
}

/* IPC_AUTH_LISTENER, at start and after every reload. */
static void
authd_listener(uint32_t id, const char *name, const struct listener_opts *o)
{
	struct auth_listener	*l;

	if ((l = authd_find_listener(id)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal(NULL);
		l->id = id;
		TAILQ_INSERT_TAIL(&auth_listeners, l, entry);
	}
	strlcpy(l->name, name, sizeof(l->name));
	l->o = *o;
}

/*
 * IPC_AUTH_CONNECT: may this client connect?  Until password files and
 * ACLs exist, a listener that allows anonymous clients takes everyone
 * and the others take nobody.
 */
static void
authd_connect(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct auth_listener	*l;
	uint8_t			 reason = RC_NOT_AUTHORIZED;
	int			 allow = 0;

	if ((l = authd_find_listener(ipc_get_uint(msg, 0))) != NULL &&
	    l->o.anonymous) {
		allow = 1;
		reason = RC_SUCCESS;
	}
	ipc_begin(chan, IPC_AUTH_VERDICT, msg->hdr.id, 3);
	ipc_put_bool(chan, allow);
	ipc_put_uint(chan, reason);
	ipc_put_array(chan, 0);
	ipc_end(chan, -1);
}

static void
authd_dispatch_engine(struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IPC_AUTH_CONNECT:
		authd_connect(chan, msg);
		break;
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
}
