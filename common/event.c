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
#include <sys/tree.h>
#ifdef __linux__
#include <sys/epoll.h>
#else
#include <sys/event.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "compat.h"

#define EV_BATCH	256

RB_HEAD(evtimer_tree, evtimer);

static int	evtimer_cmp(struct evtimer *, struct evtimer *);
RB_PROTOTYPE_STATIC(evtimer_tree, evtimer, entry, evtimer_cmp);

static int			 ev_fd = -1;
static int			 ev_done;
static int			 ev_again;
static uint32_t			 ev_turn;
static uint64_t			 ev_cached_now;
static struct evtimer_tree	 ev_timers = RB_INITIALIZER(&ev_timers);
static void			(*ev_flush_cb)(void *);
static void			*ev_flush_arg;

/* The batch being dispatched, so ev_del() can cancel entries in it. */
static struct event		*ev_ready[EV_BATCH];
static int			 ev_ready_flags[EV_BATCH];
static int			 ev_nready;
static int			 ev_cur;

/* Signals arrive through a self-pipe and run as ordinary callbacks. */
static int			 ev_sigpipe[2] = { -1, -1 };
static struct event		 ev_sigev;
static struct {
	void	(*cb)(int, void *);
	void	*arg;
} ev_sigtab[NSIG];

static int
evtimer_cmp(struct evtimer *a, struct evtimer *b)
{
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if (a != b)
		return (uintptr_t)a < (uintptr_t)b ? -1 : 1;
	return 0;
}

RB_GENERATE_STATIC(evtimer_tree, evtimer, entry, evtimer_cmp);

/* Monotonic milliseconds, read from the clock. */
uint64_t
ev_clock(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic milliseconds, as of the start of this turn of the loop. */
uint64_t
ev_now(void)
{
	if (ev_cached_now == 0)
		ev_cached_now = ev_clock();
	return ev_cached_now;
}

void
ev_init(void)
{
#ifdef __linux__
	if ((ev_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
#else
	if ((ev_fd = kqueue()) == -1)
		fatal("kqueue");
#endif
	ev_cached_now = ev_clock();
}

void
ev_set(struct event *ev, int fd, void (*cb)(int, int, void *), void *arg)
{
	memset(ev, 0, sizeof(*ev));
	ev->fd = fd;
	ev->cb = cb;
	ev->arg = arg;
}

#ifdef __linux__
static void
ev_kernel(struct event *ev, int flags)
{
	struct epoll_event	 ee;
	int			 op;

	memset(&ee, 0, sizeof(ee));
	ee.data.ptr = ev;
	if (flags & EV_READ)
		ee.events |= EPOLLIN;
	if (flags & EV_WRITE)
		ee.events |= EPOLLOUT;
	op = ev->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(ev_fd, op, ev->fd, &ee) == -1)
		fatal("epoll_ctl fd %d", ev->fd);
	ev->added = 1;
}

static void
ev_kernel_del(struct event *ev)
{
	if (epoll_ctl(ev_fd, EPOLL_CTL_DEL, ev->fd, NULL) == -1 &&
	    errno != EBADF && errno != ENOENT)
		fatal("epoll_ctl del fd %d", ev->fd);
}

static int
ev_kernel_wait(int timeout)
{
	struct epoll_event	 ees[EV_BATCH];
	int			 i, n, f;

	n = epoll_wait(ev_fd, ees, EV_BATCH, timeout);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		fatal("epoll_wait");
	}
	for (i = 0; i < n; i++) {
		struct event	*ev = ees[i].data.ptr;

		f = 0;
		if (ees[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			f |= EV_READ;
		if (ees[i].events & (EPOLLOUT | EPOLLERR))
			f |= EV_WRITE;
		/* Errors go to whichever side is listening. */
		f &= ev->want;
		if (f == 0 && (ees[i].events & (EPOLLHUP | EPOLLERR)))
			f = ev->want;
		ev_ready[i] = ev;
		ev_ready_flags[i] = f;
	}
	return n;
}
#else
static void
ev_kernel(struct event *ev, int flags)
{
	struct kevent	 kev[2];
	int		 n = 0;

	if ((flags & EV_READ) != (ev->want & EV_READ) || !ev->added)
		EV_SET(&kev[n++], ev->fd, EVFILT_READ,
		    (flags & EV_READ) ? EV_ADD : EV_DELETE, 0, 0, ev);
	if ((flags & EV_WRITE) != (ev->want & EV_WRITE) || !ev->added)
		EV_SET(&kev[n++], ev->fd, EVFILT_WRITE,
		    (flags & EV_WRITE) ? EV_ADD : EV_DELETE, 0, 0, ev);
	/* Deleting a filter that was never added is not an error here. */
	if (kevent(ev_fd, kev, n, NULL, 0, NULL) == -1 && errno != ENOENT)
		fatal("kevent fd %d", ev->fd);
	ev->added = 1;
}

static void
ev_kernel_del(struct event *ev)
{
	struct kevent	 kev[2];
	int		 n = 0;

	if (ev->want & EV_READ)
		EV_SET(&kev[n++], ev->fd, EVFILT_READ, EV_DELETE, 0, 0, ev);
	if (ev->want & EV_WRITE)
		EV_SET(&kev[n++], ev->fd, EVFILT_WRITE, EV_DELETE, 0, 0, ev);
	if (n > 0 && kevent(ev_fd, kev, n, NULL, 0, NULL) == -1 &&
	    errno != ENOENT && errno != EBADF)
		fatal("kevent del fd %d", ev->fd);
}

static int
ev_kernel_wait(int timeout)
{
	struct kevent	 kevs[EV_BATCH];
	struct timespec	 ts, *tsp = NULL;
	int		 i, j, n, nready = 0;

	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (timeout % 1000) * 1000000L;
		tsp = &ts;
	}
	n = kevent(ev_fd, NULL, 0, kevs, EV_BATCH, tsp);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		fatal("kevent");
	}
	/* Merge the read and write filters of one descriptor. */
	for (i = 0; i < n; i++) {
		struct event	*ev = kevs[i].udata;
		int		 f;

		f = kevs[i].filter == EVFILT_READ ? EV_READ : EV_WRITE;
		for (j = 0; j < nready; j++)
			if (ev_ready[j] == ev)
				break;
		if (j == nready) {
			ev_ready[nready] = ev;
			ev_ready_flags[nready++] = f;
		} else
			ev_ready_flags[j] |= f;
	}
	return nready;
}
#endif

/* Set the interest of an event to exactly `flags'. */
void
ev_add(struct event *ev, int flags)
{
	if (ev->added && ev->want == flags)
		return;
	ev_kernel(ev, flags);
	ev->want = flags;
}

static void
ev_forget(struct event *ev)
{
	int	 i;

	ev->added = 0;
	ev->want = 0;
	/* The rest of this batch must not call into a freed event. */
	for (i = ev_cur + 1; i < ev_nready; i++)
		if (ev_ready[i] == ev)
			ev_ready[i] = NULL;
}

void
ev_del(struct event *ev)
{
	if (ev->added)
		ev_kernel_del(ev);
	ev_forget(ev);
}

/*
 * The event's descriptor is about to be closed, and nothing else refers
 * to what it is open on: closing it takes it out of the kernel's set
 * (epoll and kqueue alike), so forget it without a system call.
 */
void
ev_close(struct event *ev)
{
	ev_forget(ev);
}

void
evtimer_set(struct evtimer *t, void (*cb)(void *), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

/* Fire at an absolute ev_now() time. */
void
evtimer_at(struct evtimer *t, uint64_t when)
{
	if (t->pending)
		RB_REMOVE(evtimer_tree, &ev_timers, t);
	t->when = when;
	t->turn = ev_turn;
	RB_INSERT(evtimer_tree, &ev_timers, t);
	t->pending = 1;
}

/* Fire `msec' milliseconds from now. */
void
evtimer_add(struct evtimer *t, uint64_t msec)
{
	evtimer_at(t, ev_now() + msec);
}

void
evtimer_del(struct evtimer *t)
{
	if (!t->pending)
		return;
	RB_REMOVE(evtimer_tree, &ev_timers, t);
	t->pending = 0;
}

static void
ev_sighandler(int sig)
{
	int		 saved = errno;
	unsigned char	 c = sig;
	ssize_t		 n;

	/* A full pipe already holds a wake-up. */
	n = write(ev_sigpipe[1], &c, 1);
	(void)n;
	errno = saved;
}

static void
ev_sigread(int fd, int flags, void *arg)
{
	unsigned char	 sigs[64];
	ssize_t		 n, i;

	(void)flags;
	(void)arg;
	while ((n = read(fd, sigs, sizeof(sigs))) > 0)
		for (i = 0; i < n; i++)
			if (sigs[i] < NSIG && ev_sigtab[sigs[i]].cb != NULL)
				ev_sigtab[sigs[i]].cb(sigs[i],
				    ev_sigtab[sigs[i]].arg);
}

/* Run `cb' from the loop (not from the handler) when `sig' arrives. */
void
ev_signal(int sig, void (*cb)(int, void *), void *arg)
{
	struct sigaction	 sa;

	if (sig <= 0 || sig >= NSIG || sig > 255)
		fatalx("ev_signal: bad signal %d", sig);
	if (ev_sigpipe[0] == -1) {
		if (pipe2(ev_sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
			fatal("pipe2");
		ev_set(&ev_sigev, ev_sigpipe[0], ev_sigread, NULL);
		ev_add(&ev_sigev, EV_READ);
	}
	ev_sigtab[sig].cb = cb;
	ev_sigtab[sig].arg = arg;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* A child stopped (kill -STOP) has not ended. */
	if (sig == SIGCHLD)
		sa.sa_flags |= SA_NOCLDSTOP;
	sa.sa_handler = ev_sighandler;
	if (sigaction(sig, &sa, NULL) == -1)
		fatal("sigaction");
}

/* Called once at the end of every turn, e.g. to flush batched writes. */
void
ev_setflush(void (*cb)(void *), void *arg)
{
	ev_flush_cb = cb;
	ev_flush_arg = arg;
}

/* Do not sleep in the next wait: there is work to do without I/O. */
void
ev_wakeup(void)
{
	ev_again = 1;
}

void
ev_exit(void)
{
	ev_done = 1;
}

static void
ev_run_timers(void)
{
	struct evtimer	*t;

	/*
	 * A timer set during this turn waits for the next one, so one that
	 * sets itself again for "now" cannot keep the loop here.
	 */
	while ((t = RB_MIN(evtimer_tree, &ev_timers)) != NULL &&
	    t->when <= ev_cached_now && t->turn != ev_turn) {
		RB_REMOVE(evtimer_tree, &ev_timers, t);
		t->pending = 0;
		t->cb(t->arg);
		if (ev_done)
			return;
	}
}

int
ev_dispatch(void)
{
	struct evtimer	*t;
	int		 timeout;

	ev_done = 0;
	while (!ev_done) {
		ev_turn++;
		if (ev_flush_cb != NULL)
			ev_flush_cb(ev_flush_arg);
		if (ev_done)
			break;
		ev_cached_now = ev_clock();
		timeout = -1;
		if ((t = RB_MIN(evtimer_tree, &ev_timers)) != NULL) {
			if (t->when <= ev_cached_now)
				timeout = 0;
			else if (t->when - ev_cached_now > INT32_MAX)
				timeout = INT32_MAX;
			else
				timeout = t->when - ev_cached_now;
		}
		if (ev_again)
			timeout = 0;
		ev_again = 0;

		ev_nready = ev_kernel_wait(timeout);
		ev_cached_now = ev_clock();
		for (ev_cur = 0; ev_cur < ev_nready && !ev_done; ev_cur++) {
			struct event	*ev = ev_ready[ev_cur];
			int		 f = ev_ready_flags[ev_cur];

			if (ev == NULL || f == 0)
				continue;
			ev->cb(ev->fd, f, ev->arg);
		}
		ev_nready = 0;
		ev_cur = 0;
		if (!ev_done)
			ev_run_timers();
	}
	return 0;
}
