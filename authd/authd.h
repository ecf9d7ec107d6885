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

#ifndef BROKERD_AUTHD_H
#define BROKERD_AUTHD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "passwd.h"

/* authd.c */
extern struct authd_stats	 authd_stats;
void		 authd_stats_changed(void);

/* pool.c */
#define POOL_SKIPPED	(-1)		/* the gate said no */
typedef int	(*pool_gate_fn)(void *);
typedef void	(*pool_done_fn)(void *, int);
void		 pool_start(int, void (*)(void));
int		 pool_size(void);
void		 pool_verify(const struct pw_hash *, const char *, size_t,
		    pool_gate_fn, pool_done_fn, void *);

/* throttle.c */
#define THROTTLE_SRC_MAX	64	/* an address's host, as text */
void		 throttle_configure(const struct authd_conf *);
void		 throttle_source(const char *, size_t, char *, size_t);
int		 throttle_refused(const char *, int);
uint64_t	 throttle_delay(const char *);
void		 throttle_start(const char *);
void		 throttle_done(const char *, int, int);
uint64_t	 throttle_count(void);

#endif /* BROKERD_AUTHD_H */
