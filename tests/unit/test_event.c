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
 * Unit tests for common/event.c: timers, ev_del during a batch, signals
 * through the self-pipe, ev_setflush, ev_wakeup and ev_exit.
 *
 * A test that waits for something that never comes would block in the
 * kernel forever; an alarm set around each test turns that into a
 * failure instead.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "log.h"

#define WATCHDOG	20	/* seconds a test may take */

/* Timers. */

struct tstate {
	int		 order[16];
	uint64_t	 when[16];
	int		 n;
};

struct tmark {
	struct evtimer	 t;
	struct tstate	*st;
	int		 id;
	int		 fired;
	int		 exit;		/* ev_exit() when fired */
	struct evtimer	*del;		/* evtimer_del() it then */
	int		 rearm;		/* evtimer_add(1) so often */
};

static void
tmark_cb(void *arg)
{
	struct tmark	*m = arg;

	/* A timer never fires before its time. */
	assert_true(ev_now() >= m->t.when);
	assert_int_equal(m->t.pending, 0);
	m->fired++;
	if (m->st != NULL && m->st->n < 16) {
		m->st->order[m->st->n] = m->id;
		m->st->when[m->st->n] = ev_now();
		m->st->n++;
	}
	if (m->del != NULL)
		evtimer_del(m->del);
	if (m->rearm > 0) {
		m->rearm--;
		evtimer_add(&m->t, 1);
		return;
	}
	if (m->exit)
		ev_exit();
}

static void
tmark_init(struct tmark *m, struct tstate *st, int id)
{
	memset(m, 0, sizeof(*m));
	m->st = st;
	m->id = id;
	evtimer_set(&m->t, tmark_cb, m);
}

static void
test_timer_order(void **state)
{
	struct tstate	 st;
	struct tmark	 a, b, c, d, e;
	uint64_t	 start, now;

	(void)state;
	memset(&st, 0, sizeof(st));
	tmark_init(&a, &st, 'a');
	tmark_init(&b, &st, 'b');
	tmark_init(&c, &st, 'c');
	tmark_init(&d, &st, 'd');
	tmark_init(&e, &st, 'e');
	a.exit = 1;

	start = ev_clock();
	evtimer_at(&a.t, start + 30);
	evtimer_at(&b.t, start + 10);
	evtimer_at(&c.t, start + 20);
	evtimer_at(&d.t, start + 15);
	evtimer_at(&e.t, start + 25);
	assert_int_equal(d.t.pending, 1);
	evtimer_del(&d.t);
	assert_int_equal(d.t.pending, 0);
	/* Deleting twice is harmless. */
	evtimer_del(&d.t);
	/* Setting a pending timer again moves it. */
	evtimer_at(&e.t, start + 5);

	assert_int_equal(ev_dispatch(), 0);
	now = ev_clock();

	assert_int_equal(st.n, 4);
	assert_int_equal(st.order[0], 'e');
	assert_int_equal(st.order[1], 'b');
	assert_int_equal(st.order[2], 'c');
	assert_int_equal(st.order[3], 'a');
	assert_true(st.when[0] >= start + 5);
	assert_true(st.when[1] >= start + 10);
	assert_true(st.when[2] >= start + 20);
	assert_true(st.when[3] >= start + 30);
	assert_true(now >= start + 30);
	assert_int_equal(d.fired, 0);
	assert_int_equal(e.fired, 1);
	assert_int_equal(a.t.pending, 0);
	assert_int_equal(b.t.pending, 0);
}

static void
test_timer_del(void **state)
{
	struct tstate	 st;
	struct tmark	 gone, last;

	(void)state;
	memset(&st, 0, sizeof(st));
	tmark_init(&gone, &st, 1);
	tmark_init(&last, &st, 2);
	last.exit = 1;
	evtimer_add(&gone.t, 5);
	evtimer_add(&last.t, 20);
	evtimer_del(&gone.t);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(gone.fired, 0);
	assert_int_equal(last.fired, 1);
	assert_int_equal(st.n, 1);
}

static void
test_timer_del_from_timer(void **state)
{
	struct tstate	 st;
	struct tmark	 t1, t2, t3;

	(void)state;
	/*
	 * All three are due in the same run of the timers; the first
	 * cancels the second, which then must not fire.
	 */
	memset(&st, 0, sizeof(st));
	tmark_init(&t1, &st, 1);
	tmark_init(&t2, &st, 2);
	tmark_init(&t3, &st, 3);
	t1.del = &t2.t;
	t3.exit = 1;
	evtimer_at(&t1.t, 1);
	evtimer_at(&t2.t, 2);
	evtimer_at(&t3.t, 3);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(t1.fired, 1);
	assert_int_equal(t2.fired, 0);
	assert_int_equal(t2.t.pending, 0);
	assert_int_equal(t3.fired, 1);
	assert_int_equal(st.n, 2);
	assert_int_equal(st.order[0], 1);
	assert_int_equal(st.order[1], 3);
}

static void
test_timer_rearm(void **state)
{
	struct tstate	 st;
	struct tmark	 t;
	int		 i;

	(void)state;
	memset(&st, 0, sizeof(st));
	tmark_init(&t, &st, 1);
	t.rearm = 3;
	t.exit = 1;
	evtimer_add(&t.t, 0);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(t.fired, 4);
	assert_int_equal(t.t.pending, 0);
	for (i = 1; i < st.n; i++)
		assert_true(st.when[i] > st.when[i - 1]);
}

static void
test_exit(void **state)
{
	struct tmark	 x, y;

	(void)state;
	/* Both due; the first stops the loop before the second runs. */
	tmark_init(&x, NULL, 1);
	tmark_init(&y, NULL, 2);
	x.exit = 1;
	y.exit = 1;
	evtimer_at(&x.t, 1);
	evtimer_at(&y.t, 2);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(x.fired, 1);
	assert_int_equal(y.fired, 0);
	assert_int_equal(y.t.pending, 1);
	/* ev_exit() ends one ev_dispatch(), not the next. */
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(x.fired, 1);
	assert_int_equal(y.fired, 1);
	assert_int_equal(y.t.pending, 0);
}

/* File descriptors. */

struct fdmark {
	struct event	 ev;
	int		 p[2];
	int		 calls;
	int		 flags;
	int		 exit;
	struct fdmark	*other;		/* ev_del() it when run */
	int		 flushes[8];	/* flush count at each call */
	int		 wakeup;	/* ev_wakeup() when called */
};

static int	 flush_count;
static int	 flush_exit_at;
static int	 flush_wakeup_until;

static void
flush_cb(void *arg)
{
	int	*count = arg;

	(*count)++;
	if (flush_wakeup_until > 0 && *count < flush_wakeup_until)
		ev_wakeup();
	if (flush_exit_at > 0 && *count >= flush_exit_at)
		ev_exit();
}

static void
flush_reset(void)
{
	ev_setflush(NULL, NULL);
	flush_count = 0;
	flush_exit_at = 0;
	flush_wakeup_until = 0;
}

static void
fdmark_cb(int fd, int flags, void *arg)
{
	struct fdmark	*m = arg;
	ssize_t		 n;
	char		 c;

	assert_int_equal(fd, m->ev.fd);
	if (m->calls < 8)
		m->flushes[m->calls] = flush_count;
	m->calls++;
	m->flags = flags;
	/* Take one byte per call: a level-triggered fd stays ready. */
	if (flags & EV_READ) {
		n = read(fd, &c, 1);
		assert_true(n == 1 || n == 0);
	}
	if (m->other != NULL)
		ev_del(&m->other->ev);
	if (m->wakeup)
		ev_wakeup();
	if (m->exit > 0 && m->calls >= m->exit)
		ev_exit();
}

static void
fdmark_init(struct fdmark *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(pipe2(m->p, O_NONBLOCK | O_CLOEXEC), 0);
	ev_set(&m->ev, m->p[0], fdmark_cb, m);
}

static void
fdmark_free(struct fdmark *m)
{
	ev_del(&m->ev);
	if (m->p[0] != -1)
		close(m->p[0]);
	if (m->p[1] != -1)
		close(m->p[1]);
}

static void
test_del_in_batch(void **state)
{
	struct fdmark	 a, b;

	(void)state;
	/*
	 * Both are ready in the same batch, in an order the kernel picks.
	 * Whichever runs first deletes the other, whose callback must then
	 * not run.  The loop stops at the start of the second turn.
	 */
	fdmark_init(&a);
	fdmark_init(&b);
	a.other = &b;
	b.other = &a;
	assert_int_equal(write(a.p[1], "x", 1), 1);
	assert_int_equal(write(b.p[1], "x", 1), 1);
	ev_add(&a.ev, EV_READ);
	ev_add(&b.ev, EV_READ);
	flush_exit_at = 2;
	ev_setflush(flush_cb, &flush_count);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(flush_count, 2);
	assert_int_equal(a.calls + b.calls, 1);

	/* The deleted one is still ready and fires once added again. */
	flush_reset();
	if (a.calls == 0) {
		assert_int_equal(a.ev.added, 0);
		a.other = NULL;
		a.exit = 1;
		ev_add(&a.ev, EV_READ);
		assert_int_equal(ev_dispatch(), 0);
		assert_int_equal(a.calls, 1);
	} else {
		assert_int_equal(b.ev.added, 0);
		b.other = NULL;
		b.exit = 1;
		ev_add(&b.ev, EV_READ);
		assert_int_equal(ev_dispatch(), 0);
		assert_int_equal(b.calls, 1);
	}
	fdmark_free(&a);
	fdmark_free(&b);
}

/*
 * A descriptor forgotten with ev_close() and closed is out of the
 * kernel's set: its number, reused at once, can be added again, and
 * only the new one's callback runs.
 */
static void
test_close_forgets(void **state)
{
	struct fdmark	 a, b;
	int		 num;

	(void)state;
	fdmark_init(&a);
	assert_int_equal(write(a.p[1], "x", 1), 1);
	ev_add(&a.ev, EV_READ);
	num = a.p[0];
	ev_close(&a.ev);
	assert_int_equal(a.ev.added, 0);
	close(a.p[0]);
	close(a.p[1]);
	a.p[0] = a.p[1] = -1;

	fdmark_init(&b);
	assert_int_equal(b.p[0], num);		/* the lowest free number */
	assert_int_equal(write(b.p[1], "y", 1), 1);
	b.exit = 1;
	ev_add(&b.ev, EV_READ);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.calls, 0);
	fdmark_free(&b);
}

static void
test_fd_flags(void **state)
{
	struct fdmark	 m;

	(void)state;
	/* An empty pipe's write end is writable and not readable. */
	fdmark_init(&m);
	ev_set(&m.ev, m.p[1], fdmark_cb, &m);
	m.exit = 1;
	ev_add(&m.ev, EV_READ | EV_WRITE);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(m.calls, 1);
	assert_int_equal(m.flags, EV_WRITE);
	ev_del(&m.ev);

	/* The peer's close is reported to the reading side. */
	ev_set(&m.ev, m.p[0], fdmark_cb, &m);
	close(m.p[1]);
	m.p[1] = -1;
	m.calls = 0;
	ev_add(&m.ev, EV_READ);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(m.calls, 1);
	assert_int_equal(m.flags, EV_READ);
	fdmark_free(&m);
}

static void
test_setflush_every_turn(void **state)
{
	struct fdmark	 m;
	int		 i;

	(void)state;
	/*
	 * Five bytes, one taken per callback: five turns of one loop.  The
	 * flush hook runs at the start of each, before the callbacks.
	 */
	fdmark_init(&m);
	assert_int_equal(write(m.p[1], "12345", 5), 5);
	ev_add(&m.ev, EV_READ);
	m.exit = 5;
	ev_setflush(flush_cb, &flush_count);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(m.calls, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(m.flushes[i], i + 1);
	assert_int_equal(flush_count, 5);
	flush_reset();
	fdmark_free(&m);

	/* A flush hook that exits stops the loop before it waits. */
	flush_exit_at = 1;
	ev_setflush(flush_cb, &flush_count);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(flush_count, 1);
	flush_reset();
}

static void
test_wakeup(void **state)
{
	struct tmark	 far;
	struct fdmark	 m;
	uint64_t	 start;

	(void)state;
	/*
	 * Nothing to wait for but a timer far away: without ev_wakeup()
	 * the loop would sleep until it (or the watchdog) fires.
	 */
	tmark_init(&far, NULL, 1);
	evtimer_add(&far.t, 1000 * 1000);
	start = ev_clock();
	flush_exit_at = 5;
	flush_wakeup_until = 5;
	ev_setflush(flush_cb, &flush_count);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(flush_count, 5);
	assert_int_equal(far.fired, 0);
	assert_true(ev_clock() - start < WATCHDOG * 1000);
	flush_reset();

	/* From a callback: the next turn does not sleep either. */
	fdmark_init(&m);
	m.wakeup = 1;
	assert_int_equal(write(m.p[1], "x", 1), 1);
	ev_add(&m.ev, EV_READ);
	flush_exit_at = 3;
	ev_setflush(flush_cb, &flush_count);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(m.calls, 1);
	assert_int_equal(flush_count, 3);
	assert_int_equal(far.fired, 0);
	flush_reset();
	fdmark_free(&m);
	evtimer_del(&far.t);
}

/* Signals. */

struct sigmark {
	int	 calls;
	int	 sig;
	int	 exit_at;
};

static void
sigmark_cb(int sig, void *arg)
{
	struct sigmark	*m = arg;

	m->calls++;
	m->sig = sig;
	if (m->exit_at > 0 && m->calls >= m->exit_at)
		ev_exit();
}

static void
test_signal(void **state)
{
	struct sigmark	 u1, u2;

	(void)state;
	memset(&u1, 0, sizeof(u1));
	memset(&u2, 0, sizeof(u2));
	u1.exit_at = 2;
	ev_signal(SIGUSR1, sigmark_cb, &u1);
	ev_signal(SIGUSR2, sigmark_cb, &u2);

	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	/* The handler only writes to the pipe; the callbacks wait. */
	assert_int_equal(u1.calls, 0);
	assert_int_equal(u2.calls, 0);
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(u1.calls, 2);
	assert_int_equal(u1.sig, SIGUSR1);
	assert_int_equal(u2.calls, 1);
	assert_int_equal(u2.sig, SIGUSR2);
}

static void
test_signal_while_waiting(void **state)
{
	struct sigmark	 u1;
	pid_t		 pid;
	int		 status;

	(void)state;
	/*
	 * Another process sends the signal while the loop may be asleep
	 * in the kernel with nothing else to wait for.
	 */
	memset(&u1, 0, sizeof(u1));
	u1.exit_at = 1;
	ev_signal(SIGUSR1, sigmark_cb, &u1);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	assert_int_equal(ev_dispatch(), 0);
	assert_int_equal(u1.calls, 1);
	assert_int_equal(u1.sig, SIGUSR1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
}

static int
setup_group(void **state)
{
	(void)state;
	log_init(1, LOG_DAEMON);
	ev_init();
	return 0;
}

static int
setup_test(void **state)
{
	(void)state;
	flush_reset();
	alarm(WATCHDOG);
	return 0;
}

static int
teardown_test(void **state)
{
	(void)state;
	alarm(0);
	flush_reset();
	return 0;
}

#define TEST(f)	\
	cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_timer_order),
		TEST(test_timer_del),
		TEST(test_timer_del_from_timer),
		TEST(test_timer_rearm),
		TEST(test_exit),
		TEST(test_del_in_batch),
		TEST(test_fd_flags),
		TEST(test_close_forgets),
		TEST(test_setflush_every_turn),
		TEST(test_wakeup),
		TEST(test_signal),
		TEST(test_signal_while_waiting),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
