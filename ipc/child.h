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

#ifndef BROKERD_CHILD_H
#define BROKERD_CHILD_H

#include "ipc.h"
#include "log.h"
#include "sandbox.h"

/* The parent's end of every child is this descriptor. */
#define CHILD_PARENT_FD		3

/* What a child knows about itself and its channels. */
struct child {
	enum proc_type		 self;
	struct ipc_chan		*parent;
	struct ipc_chan		*peer[PROC_MAX];
	struct sandbox_conf	 sandbox;
	int			 configured;	/* IPC_CONF_PROC seen */
	int			 sandboxed;
	int			 started;
};

extern struct child	 child;
extern void		(*child_confining)(void);

int	child_args(int, char *[]);
void	child_init(enum proc_type, ipc_dispatch_fn);
__dead void child_main(enum proc_type, int, char *[], ipc_dispatch_fn);
int	child_dispatch(struct ipc_msg *, const ipc_dispatch_fn *,
	    void (*)(void));

#endif /* BROKERD_CHILD_H */
