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
 * The engine run in-process, by the unit tests and the fuzz targets: log
 * lines dropped, and authd a socketpair whose far end nobody answers (a
 * test gives the verdicts itself with client_verdict()).
 */

#ifndef INPROC_H
#define INPROC_H

#include <sys/socket.h>

#include "engine.h"
#include "child.h"

static void
inproc_discard_log(int pri, const char *line)
{
	(void)pri;
	(void)line;
}

static void
inproc_no_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	(void)msg;
}

static void
inproc_no_close(struct ipc_chan *chan, const char *why)
{
	(void)chan;
	(void)why;
}

/* Logging off, the event loop and a channel to authd; returns its far end. */
static inline int
inproc_init(void)
{
	int	 sv[2];

	log_init(1, LOG_DAEMON);
	log_setsink(inproc_discard_log, NULL);
	ev_init();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		return -1;
	child.peer[PROC_AUTHD] = ipc_chan_new(sv[0], "authd",
	    IPC_DEFAULT_MAXLEN, 0, inproc_no_dispatch, inproc_no_close, NULL);
	return sv[1];
}

static inline void
inproc_done(int authd_peer)
{
	ipc_chan_free(child.peer[PROC_AUTHD]);
	child.peer[PROC_AUTHD] = NULL;
	close(authd_peer);
}

#endif
