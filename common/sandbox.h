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

#ifndef BROKERD_SANDBOX_H
#define BROKERD_SANDBOX_H

#include <sys/types.h>

#include "process.h"

/* What the parent tells a child about its confinement (IPC_CONF_PROC). */
struct sandbox_conf {
	uid_t		 uid;
	gid_t		 gid;
	char		 root[1024];
	int		 drop;		/* the parent runs as root */
};

void	sandbox_drop(enum proc_type, const struct sandbox_conf *);
void	sandbox_enter(enum proc_type, const struct sandbox_conf *);

#endif /* BROKERD_SANDBOX_H */
