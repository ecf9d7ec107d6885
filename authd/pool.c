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
 * The KDF pool: `auth workers' processes that run the password hashes,
 * so that authd's loop never waits for one and several verify at once.
 *
 * authd forks them when it has dropped its privileges and before it loads
 * its seccomp filter (child_confining); each worker wipes what it
 * inherited (the files, the channels' buffers), keeps one descriptor, a
 * SOCK_SEQPACKET socket to authd, and enters the same sandbox as authd.
 * A worker holds one hash entry and one password at a time, only while it
 * verifies them, and knows no user name: it reads a struct pool_req (the
 * entry, then the password's bytes) in one record and answers with a
 * struct pool_reply.  Fixed records, no parser: the records' sizes are
 * checked and that is all there is to read.
 *
 * authd gives each idle worker one request at a time; the others wait in
 * a queue, in order.  A request's gate, asked when its turn comes, may
 * say it is no longer worth a KDF (its address has failed meanwhile):
 * it ends then with POOL_SKIPPED, and a flood does not hold the queue.  A worker that dies or breaks the protocol is fatal:
 * authd exits and the parent stops the service (it fails closed).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "child.h"
#include "event.h"
#include "log.h"
#include "passwd.h"
#include "compat.h"

#define POOL_FD		CHILD_PARENT_FD	/* a worker's one descriptor */

struct pool_req {
	uint32_t	 id;
	uint32_t	 pwlen;
	struct pw_hash	 h;
	/* then pwlen bytes of password */
};

struct pool_reply {
	uint32_t	 id;
	uint32_t	 ok;
};

#define POOL_REQ_MAX	(sizeof(struct pool_req) + PW_MAXPASS)

/* A verification asked for, until its answer. */
struct pool_job {
	TAILQ_ENTRY(pool_job)	 entry;
	uint32_t		 id;
	uint8_t			*req;		/* struct pool_req + password */
	size_t			 len;
	pool_gate_fn		 gate;
	pool_done_fn		 done;
	void			*arg;
};

struct pool_worker {
	pid_t			 pid;
	int			 fd;
	struct event		 ev;
	struct pool_job		*job;		/* or NULL: idle */
};

static struct pool_worker	 workers[AUTHD_WORKERS_MAX];
static int			 nworkers;
static TAILQ_HEAD(, pool_job)	 queue = TAILQ_HEAD_INITIALIZER(queue);
static uint32_t			 next_id;

static void	pool_readable(int, int, void *);
static void	pool_run(void);
static __dead void pool_worker_main(void (*)(void));
static void	pool_worker_sink(int, const char *);

/*
 * Forks `n' workers; `wipe' runs in each to forget what authd holds.
 * Called once, with privileges dropped, before the seccomp filter.
 */
void
pool_start(int n, void (*wipe)(void))
{
	int	 sv[2], i;
	pid_t	 pid;

	if (nworkers != 0 || n < 1 || n > AUTHD_WORKERS_MAX)
		fatalx("%s: %d workers", __func__, n);
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) == -1)
			fatal("socketpair");
		switch (pid = fork()) {
		case -1:
			fatal("fork");
		case 0:
			if (dup2(sv[1], POOL_FD) == -1)
				fatal("dup2");
			pool_worker_main(wipe);
		default:
			break;
		}
		close(sv[1]);
		workers[i].pid = pid;
		workers[i].fd = sv[0];
		ev_set(&workers[i].ev, sv[0], pool_readable, &workers[i]);
		ev_add(&workers[i].ev, EV_READ);
		nworkers++;
	}
	log_debug("%d KDF workers", n);
}

int
pool_size(void)
{
	return nworkers;
}

/*
 * Verify `pw' against `h' in a worker; done(arg, ok) runs when it has,
 * from the event loop, or when gate(arg) says no at its turn (ok is
 * POOL_SKIPPED).  The password is copied; the copy is wiped once sent.
 */
void
pool_verify(const struct pw_hash *h, const char *pw, size_t pwlen,
    pool_gate_fn gate, pool_done_fn done, void *arg)
{
	struct pool_job	*j;
	struct pool_req	*r;

	if (pwlen > PW_MAXPASS)
		pwlen = PW_MAXPASS;	/* not a password of any file */
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->req = calloc(1, sizeof(*r) + pwlen)) == NULL)
		fatal(NULL);
	j->id = ++next_id;
	j->len = sizeof(*r) + pwlen;
	j->gate = gate;
	j->done = done;
	j->arg = arg;
	r = (struct pool_req *)j->req;
	r->id = j->id;
	r->pwlen = pwlen;
	r->h = *h;
	if (pwlen > 0)
		memcpy(j->req + sizeof(*r), pw, pwlen);
	TAILQ_INSERT_TAIL(&queue, j, entry);
	authd_stats.queued++;
	if (authd_stats.queued > authd_stats.queued_max)
		authd_stats.queued_max = authd_stats.queued;
	pool_run();
}

/* The next request worth a KDF, or NULL. */
static struct pool_job *
pool_next(void)
{
	struct pool_job	*j;

	while ((j = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, j, entry);
		authd_stats.queued--;
		if (j->gate == NULL || j->gate(j->arg))
			return j;
		freezero(j->req, j->len);
		j->done(j->arg, POOL_SKIPPED);
		free(j);
	}
	return NULL;
}

/* Give each idle worker the next request. */
static void
pool_run(void)
{
	struct pool_job	*j;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < nworkers && !TAILQ_EMPTY(&queue); i++) {
		if (workers[i].job != NULL || (j = pool_next()) == NULL)
			continue;
		/* An idle worker's socket is empty: the record fits. */
		while ((n = write(workers[i].fd, j->req, j->len)) == -1 &&
		    errno == EINTR)
			;
		if (n != (ssize_t)j->len)
			fatal("KDF worker %d: send", (int)workers[i].pid);
		freezero(j->req, j->len);
		j->req = NULL;
		workers[i].job = j;
	}
	authd_stats_changed();
}

static void
pool_readable(int fd, int flags, void *arg)
{
	struct pool_worker	*w = arg;
	struct pool_reply	 rep;
	struct pool_job		*j = w->job;
	ssize_t			 n;

	(void)flags;
	if ((n = read(fd, &rep, sizeof(rep))) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		fatal("KDF worker %d", (int)w->pid);
	}
	if (n == 0)
		fatalx("KDF worker %d exited", (int)w->pid);
	if (n != sizeof(rep) || j == NULL || rep.id != j->id || rep.ok > 1)
		fatalx("KDF worker %d: a bad answer", (int)w->pid);
	w->job = NULL;
	authd_stats.verified++;
	j->done(j->arg, rep.ok);
	free(j);
	pool_run();
}

/* A worker's log lines go to stderr: it has no channel to the parent. */
static void
pool_worker_sink(int pri, const char *line)
{
	(void)pri;
	dprintf(STDERR_FILENO, "authd worker: %s\n", line);
}

static __dead void
pool_worker_main(void (*wipe)(void))
{
	struct pool_req		*r;
	struct pool_reply	 rep;
	uint8_t			*buf;
	ssize_t			 n;

	log_setsink(pool_worker_sink, NULL);
	/* As every child: a signal to the group is the parent's to handle;
	   the worker ends when authd's end of its socket closes. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	wipe();
	closefrom(POOL_FD + 1);
	sandbox_enter(PROC_AUTHD, &child.sandbox);
	if ((buf = malloc(POOL_REQ_MAX)) == NULL)
		fatal(NULL);
	r = (struct pool_req *)buf;
	for (;;) {
		/* One record; authd never sends a longer one. */
		n = read(POOL_FD, buf, POOL_REQ_MAX);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);	/* authd has gone */
		if (n < (ssize_t)sizeof(*r) || r->pwlen != n - sizeof(*r) ||
		    r->h.saltlen > PW_MAXSALT || r->h.hashlen > PW_MAXHASH)
			fatalx("a bad request");
		rep.id = r->id;
		rep.ok = passwd_verify(&r->h, (const char *)buf + sizeof(*r),
		    r->pwlen) == 1;
		explicit_bzero(buf, n);
		if (write(POOL_FD, &rep, sizeof(rep)) != sizeof(rep))
			_exit(1);
	}
}
