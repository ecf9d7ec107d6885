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

#ifndef BROKERD_EVENT_H
#define BROKERD_EVENT_H

#include <sys/tree.h>

#include <stdint.h>

/*
 * A small event loop: one per process, single threaded.  epoll on Linux,
 * kqueue elsewhere.  File descriptors are level triggered.
 */

#define EV_READ		0x01
#define EV_WRITE	0x02

struct event {
	int		 fd;
	int		 want;		/* EV_READ | EV_WRITE in the kernel */
	int		 added;
	void		(*cb)(int, int, void *);
	void		*arg;
};

struct evtimer {
	RB_ENTRY(evtimer) entry;
	uint64_t	 when;		/* ev_now() milliseconds */
	uint32_t	 turn;		/* the loop turn it was set in */
	int		 pending;
	void		(*cb)(void *);
	void		*arg;
};

void	 ev_init(void);
void	 ev_set(struct event *, int, void (*)(int, int, void *), void *);
void	 ev_add(struct event *, int);
void	 ev_del(struct event *);
void	 ev_close(struct event *);

void	 evtimer_set(struct evtimer *, void (*)(void *), void *);
void	 evtimer_add(struct evtimer *, uint64_t);
void	 evtimer_at(struct evtimer *, uint64_t);
void	 evtimer_del(struct evtimer *);

void	 ev_signal(int, void (*)(int, void *), void *);
void	 ev_setflush(void (*)(void *), void *);
void	 ev_wakeup(void);
int	 ev_dispatch(void);
void	 ev_exit(void);
uint64_t ev_now(void);
uint64_t ev_clock(void);

#endif /* BROKERD_EVENT_H */
