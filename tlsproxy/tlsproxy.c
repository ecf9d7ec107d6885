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
 * tlsproxy: terminates TLS and WebSocket connections and hands the engine
 * one end of a socketpair per connection.  The only process that holds
 * the TLS private keys.  Chrooted, its own user, no file system.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "tlsproxy.h"

static void	tlsproxy_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	tlsproxy_dispatch_engine(struct ipc_chan *, struct ipc_msg *);

static const ipc_dispatch_fn tlsproxy_peers[PROC_MAX] = {
	[PROC_ENGINE] = tlsproxy_dispatch_engine,
};

int
main(int argc, char *argv[])
{
	/* OpenSSL before the sandbox: it reads no file after this. */
	tls_init();
	child_main(PROC_TLSPROXY, argc, argv, tlsproxy_dispatch_parent);
}

static void
tlsproxy_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	if (child_dispatch(msg, tlsproxy_peers, NULL))
		return;
	switch (msg->hdr.type) {
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
