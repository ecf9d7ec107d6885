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
 * storaged's store (storaged/store.c and db.c) on a Berkeley DB
 * environment in a temporary directory: requests, batches and their
 * commit callback, message references, the recovery walk, reopening
 * after a clean close and after kill -9, damaged files (truncated, bit
 * flips, hostile records, missing files) refused or moved aside, disk
 * use bounded across checkpoints, a full disk, and the whole of it
 * inside storaged's sandbox.
 *
 * The state is compared as text: the walk prints every item on a line.
 */

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sandbox.h"
#include "storaged.h"

struct fx {
	char			 dir[64];
	struct store_conf	 conf;
	struct store		*s;
	uint64_t		 committed;	/* last batch committed */
	uint64_t		 failed;	/* last batch rolled back */
	enum store_ekind	 fkind;
	int			 ncb;
	int			 wfd;		/* crash test: report here */
};

static void
fx_commit(uint64_t batch, const struct store_error *e, void *arg)
{
	struct fx	*fx = arg;

	fx->ncb++;
	if (e == NULL) {
		fx->committed = batch;
		if (fx->wfd != -1 && write(fx->wfd, &batch, sizeof(batch)) !=
		    sizeof(batch))
			_exit(3);
	} else {
		fx->failed = batch;
		fx->fkind = e->kind;
	}
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
fx_setup(void **state)
{
	struct fx	*fx;

	fx = calloc(1, sizeof(*fx));
	strlcpy(fx->dir, "/tmp/test_store.XXXXXX", sizeof(fx->dir));
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	store_conf_defaults(&fx->conf);
	fx->conf.cache_kb = 1024;
	fx->conf.log_buffer_kb = 64;
	fx->conf.log_file_kb = 256;
	fx->conf.checkpoint_kb = 256;
	fx->wfd = -1;
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*fx = *state;

	store_close(fx->s);
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void
fx_open(struct fx *fx)
{
	struct store_error	 e;

	fx->s = store_open(fx->dir, &fx->conf, fx_commit, fx, &e);
	if (fx->s == NULL)
		fail_msg("store_open: %s", e.msg);
}

static void
fx_reopen(struct fx *fx)
{
	store_close(fx->s);
	fx->s = NULL;
	fx_open(fx);
}

/* Open must fail: return the error. */
static struct store_error
fx_open_fails(struct fx *fx)
{
	struct store_error	 e;

	store_close(fx->s);
	fx->s = store_open(fx->dir, &fx->conf, fx_commit, fx, &e);
	if (fx->s != NULL)
		fail_msg("store_open accepted a damaged store");
	return e;
}

static void
fx_flush(struct fx *fx)
{
	const struct store_error	*e = store_batch_error(fx->s);

	if (e != NULL)
		fail_msg("batch failed: %s", e->msg);
	assert_int_equal(store_flush(fx->s), 0);
}

static void
put_msg(struct store *s, uint64_t id, size_t paylen)
{
	static uint8_t	 pay[4096];
	struct rec_msg	 m;
	char		 topic[32];

	memset(pay, 'p', sizeof(pay));
	memset(&m, 0, sizeof(m));
	snprintf(topic, sizeof(topic), "t/%llu", (unsigned long long)id);
	m.qos = 1;
	m.topic.p = (const uint8_t *)topic;
	m.topic.len = strlen(topic);
	m.payload.p = pay;
	m.payload.len = paylen < sizeof(pay) ? paylen : sizeof(pay);
	assert_int_equal(store_msg_put(s, id, &m), 0);
}

static void
put_session(struct store *s, const char *cid)
{
	struct rec_session	 rs;

	memset(&rs, 0, sizeof(rs));
	rs.version = 5;
	rs.expiry = 100;
	assert_int_equal(store_session_put(s, cid, strlen(cid), &rs), 0);
}

static void
enqueue(struct store *s, const char *cid, uint64_t seq, uint64_t msgid,
    uint8_t qos)
{
	struct rec_queue	 q;

	memset(&q, 0, sizeof(q));
	q.msgid = msgid;
	q.qos = qos;
	assert_int_equal(store_queue_put(s, cid, strlen(cid), seq, &q), 0);
}

/* The walk, as text. */
struct text {
	char	 b[16384];
	size_t	 n;
};

static int
text_item(const struct store_item *it, void *arg)
{
	struct text		*t = arg;
	const struct rec_queue	*q = &it->u.queue;
	char			 line[256];
	int			 n = 0;

	switch (it->type) {
	case STORE_ITEM_MSG:
		n = snprintf(line, sizeof(line), "M %llu %.*s q%u r%u %zu\n",
		    (unsigned long long)it->msgid, (int)it->u.msg.topic.len,
		    it->u.msg.topic.p, it->u.msg.qos, it->u.msg.retain,
		    it->u.msg.payload.len);
		break;
	case STORE_ITEM_RETAIN:
		n = snprintf(line, sizeof(line), "R %.*s %llu\n",
		    (int)it->name.len, it->name.p,
		    (unsigned long long)it->msgid);
		break;
	case STORE_ITEM_SESSION:
		n = snprintf(line, sizeof(line), "S %.*s v%u e%u w%u\n",
		    (int)it->cid.len, it->cid.p, it->u.session.version,
		    it->u.session.expiry, it->u.session.has_will);
		break;
	case STORE_ITEM_SUB:
		n = snprintf(line, sizeof(line), "U %.*s %.*s o%u i%u\n",
		    (int)it->cid.len, it->cid.p, (int)it->name.len,
		    it->name.p, it->u.sub.opts, it->u.sub.id);
		break;
	case STORE_ITEM_QUEUE:
		n = snprintf(line, sizeof(line), "Q %.*s %llu m%llu q%u s%u "
		    "p%u n%u\n", (int)it->cid.len, it->cid.p,
		    (unsigned long long)it->seq, (unsigned long long)q->msgid,
		    q->qos, q->state, q->pid, q->nsubids);
		break;
	case STORE_ITEM_INREL:
		n = snprintf(line, sizeof(line), "I %.*s %u\n",
		    (int)it->cid.len, it->cid.p, it->pid);
		break;
	default:
		return -1;
	}
	if (t->n + n >= sizeof(t->b))
		return -1;
	memcpy(t->b + t->n, line, n + 1);
	t->n += n;
	return 0;
}

static const char *
walk_text(struct store *s, size_t budget, int *calls)
{
	static struct text	 t;
	struct store_walk	 w;
	struct store_error	 e;
	int			 n;

	t.n = 0;
	t.b[0] = '\0';
	*calls = 0;
	store_walk_init(&w, s);
	do {
		(*calls)++;
		n = store_walk_next(&w, budget, text_item, &t, &e);
	} while (n == 1);
	store_walk_done(&w);
	if (n == -1)
		fail_msg("walk: %s", e.msg);
	return t.b;
}

static const char *
state_of(struct store *s)
{
	int	 calls;

	return walk_text(s, 1 << 20, &calls);
}

static void
test_open_fresh(void **state)
{
	struct fx		*fx = *state;
	struct store		*s2;
	struct store_error	 e;
	struct stat		 st;
	char			 path[128];
	int			 i;

	fx_open(fx);
	for (i = 0; i < SDB_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, sdb_files[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	snprintf(path, sizeof(path), "%s/log.0000000001", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* One storaged per directory. */
	s2 = store_open(fx->dir, &fx->conf, NULL, NULL, &e);
	assert_null(s2);
	assert_int_equal(e.kind, STORE_E_BUSY);
	assert_string_equal(e.file, "storaged.lock");

	assert_string_equal(state_of(fx->s), "");
	fx_reopen(fx);
	assert_string_equal(state_of(fx->s), "");
	/* Nothing written: no batch, no callback. */
	assert_int_equal(store_flush(fx->s), 0);
	assert_int_equal(fx->ncb, 0);
}

static void
test_batch_reopen(void **state)
{
	struct fx		*fx = *state;
	struct store		*s;
	struct rec_session	 rs;
	struct rec_sub		 sub = { 0x21, 7 };
	struct rec_queue	 q;

	fx_open(fx);
	s = fx->s;
	assert_int_equal(store_batch(s), 1);
	memset(&rs, 0, sizeof(rs));
	rs.version = 4;
	rs.expiry = REC_EXPIRY_NEVER;
	rs.has_will = 1;
	rs.will.topic = (struct rec_bytes){ (const uint8_t *)"w", 1 };
	assert_int_equal(store_session_put(s, "c1", 2, &rs), 0);
	assert_int_equal(store_sub_put(s, "c1", 2, "a/#", 3, &sub), 0);
	put_msg(s, 1, 10);
	put_msg(s, 2, 2000);
	enqueue(s, "c1", 1, 1, 1);
	memset(&q, 0, sizeof(q));
	q.msgid = 2;
	q.qos = 2;
	q.state = REC_Q_PUBLISHED;
	q.pid = 7;
	q.nsubids = 1;
	q.subids[0] = 7;
	assert_int_equal(store_queue_put(s, "c1", 2, 2, &q), 0);
	assert_int_equal(store_retain_set(s, "t/1", 3, 1), 0);
	assert_int_equal(store_inrel_put(s, "c1", 2, 5), 0);
	fx_flush(fx);
	assert_int_equal(fx->committed, 1);
	assert_int_equal(store_batch(s), 2);
	assert_true(s->stats.messages == 2);

	fx_reopen(fx);
	assert_string_equal(state_of(fx->s),
	    "M 1 t/1 q1 r0 10\n"
	    "M 2 t/2 q1 r0 2000\n"
	    "R t/1 1\n"
	    "S c1 v4 e4294967295 w1\n"
	    "U c1 a/# o33 i7\n"
	    "Q c1 1 m1 q1 s0 p0 n0\n"
	    "Q c1 2 m2 q2 s1 p7 n1\n"
	    "I c1 5\n");
	assert_true(fx->s->stats.messages == 2);

	/* In flight: sent, then released (QoS 2), then done. */
	s = fx->s;
	assert_int_equal(store_queue_state(s, "c1", 2, 1, REC_Q_PUBLISHED, 9),
	    0);
	assert_int_equal(store_queue_state(s, "c1", 2, 2, REC_Q_RELEASED, 7),
	    0);
	assert_int_equal(store_inrel_del(s, "c1", 2, 5), 0);
	fx_flush(fx);
	fx_reopen(fx);
	assert_string_equal(state_of(fx->s),
	    "M 1 t/1 q1 r0 10\n"
	    "M 2 t/2 q1 r0 2000\n"
	    "R t/1 1\n"
	    "S c1 v4 e4294967295 w1\n"
	    "U c1 a/# o33 i7\n"
	    "Q c1 1 m1 q1 s1 p9 n0\n"
	    "Q c1 2 m2 q2 s2 p7 n1\n");
}

static void
test_refs(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	put_session(s, "c2");
	put_msg(s, 1, 100);
	enqueue(s, "c1", 1, 1, 1);
	enqueue(s, "c2", 1, 1, 1);
	assert_int_equal(store_retain_set(s, "t/1", 3, 1), 0);
	/* A message no one refers to goes at the end of its batch. */
	put_msg(s, 9, 100);
	fx_flush(fx);
	assert_true(s->stats.messages == 1);
	assert_true(s->stats.msgs_freed == 1);

	assert_int_equal(store_queue_del(s, "c1", 2, 1), 0);
	fx_flush(fx);
	assert_true(s->stats.messages == 1);
	assert_int_equal(store_queue_del(s, "c2", 2, 1), 0);
	fx_flush(fx);
	assert_true(s->stats.messages == 1);	/* still retained */

	/* A new retained message replaces it: the old one goes. */
	put_msg(s, 2, 100);
	assert_int_equal(store_retain_set(s, "t/1", 3, 2), 0);
	fx_flush(fx);
	fx_reopen(fx);
	s = fx->s;
	assert_string_equal(state_of(s),
	    "M 2 t/2 q1 r0 100\n"
	    "R t/1 2\n"
	    "S c1 v5 e100 w0\n"
	    "S c2 v5 e100 w0\n");
	/* The same message retained twice over, then cleared. */
	assert_int_equal(store_retain_set(s, "t/1", 3, 2), 0);
	assert_int_equal(store_retain_clear(s, "t/1", 3), 0);
	fx_flush(fx);
	assert_true(s->stats.messages == 0);
	fx_reopen(fx);
	assert_string_equal(state_of(fx->s),
	    "S c1 v5 e100 w0\n"
	    "S c2 v5 e100 w0\n");
}

static void
test_batch_failure(void **state)
{
	struct fx		*fx = *state;
	struct store		*s;
	struct rec_sub		 sub = { 1, 0 };
	const char		*before;
	char			 saved[1024];

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	put_msg(s, 1, 100);
	enqueue(s, "c1", 1, 1, 1);
	fx_flush(fx);
	before = state_of(s);
	strlcpy(saved, before, sizeof(saved));

	/* Good requests, then one referring to a message never stored. */
	assert_int_equal(store_queue_del(s, "c1", 2, 1), 0);
	put_msg(s, 2, 100);
	enqueue(s, "c1", 2, 2, 1);
	assert_int_equal(store_queue_put(s, "c1", 2, 3,
	    &(struct rec_queue){ .msgid = 99, .qos = 1 }), -1);
	assert_non_null(store_batch_error(s));
	assert_int_equal(store_batch_error(s)->kind, STORE_E_INVALID);
	/* The batch refuses what follows. */
	assert_int_equal(store_sub_put(s, "c1", 2, "x", 1, &sub), -1);
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(fx->failed, 2);
	assert_int_equal(fx->fkind, STORE_E_INVALID);
	assert_true(s->stats.failed == 1);
	assert_string_equal(state_of(s), saved);
	assert_true(s->stats.messages == 1);

	/* The references came back: message 1 goes with its last entry. */
	assert_int_equal(store_queue_del(s, "c1", 2, 1), 0);
	fx_flush(fx);
	assert_int_equal(fx->committed, 3);
	assert_true(s->stats.messages == 0);

	/* Each kind of request that breaks the model. */
	assert_int_equal(store_sub_put(s, "nobody", 6, "x", 1, &sub), -1);
	assert_int_equal(store_flush(s), -1);
	put_msg(s, 5, 10);
	assert_int_equal(store_msg_put(s, 5, &(struct rec_msg){ .topic = {
	    (const uint8_t *)"a", 1 } }), -1);
	assert_int_equal(store_flush(s), -1);
	put_msg(s, 6, 10);
	enqueue(s, "c1", 6, 6, 1);
	assert_int_equal(store_queue_state(s, "c1", 2, 6, REC_Q_RELEASED, 3),
	    -1);		/* QoS 1 is never released */
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(store_queue_state(s, "c1", 2, 77, REC_Q_PUBLISHED,
	    3), -1);		/* no such entry */
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(store_retain_set(s, "t", 1, 12345), -1);
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(store_session_put(s, "", 0,
	    &(struct rec_session){ .version = 5 }), -1);
	assert_int_equal(store_flush(s), -1);
	assert_int_equal(store_msg_put(s, 0, &(struct rec_msg){ .topic = {
	    (const uint8_t *)"a", 1 } }), -1);
	assert_int_equal(store_flush(s), -1);
	assert_true(s->stats.failed == 8);
	assert_string_equal(state_of(s), "S c1 v5 e100 w0\n");
}

static void
test_session_del(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;
	struct rec_sub	 sub = { 1, 0 };
	uint64_t	 i;

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	put_session(s, "c10");		/* a longer id, same prefix */
	put_session(s, "c2");
	for (i = 1; i <= 40; i++) {
		put_msg(s, i, 50);
		enqueue(s, "c1", i, i, 1);
	}
	enqueue(s, "c2", 1, 1, 1);
	enqueue(s, "c10", 1, 2, 1);
	assert_int_equal(store_sub_put(s, "c1", 2, "a", 1, &sub), 0);
	assert_int_equal(store_sub_put(s, "c1", 2, "b/#", 3, &sub), 0);
	assert_int_equal(store_sub_put(s, "c10", 3, "a", 1, &sub), 0);
	assert_int_equal(store_inrel_put(s, "c1", 2, 1), 0);
	assert_int_equal(store_inrel_put(s, "c1", 2, 65535), 0);
	fx_flush(fx);
	assert_true(s->stats.messages == 40);

	assert_int_equal(store_session_del(s, "c1", 2), 0);
	fx_flush(fx);
	assert_true(s->stats.messages == 2);
	fx_reopen(fx);
	assert_string_equal(state_of(fx->s),
	    "M 1 t/1 q1 r0 50\n"
	    "M 2 t/2 q1 r0 50\n"
	    "S c10 v5 e100 w0\n"
	    "S c2 v5 e100 w0\n"
	    "U c10 a o1 i0\n"
	    "Q c2 1 m1 q1 s0 p0 n0\n"
	    "Q c10 1 m2 q1 s0 p0 n0\n");
}

static void
test_absent_deletes(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	assert_int_equal(store_queue_del(s, "c1", 2, 5), 0);
	assert_int_equal(store_sub_del(s, "c1", 2, "a", 1), 0);
	assert_int_equal(store_inrel_del(s, "c1", 2, 5), 0);
	assert_int_equal(store_retain_clear(s, "t", 1), 0);
	assert_int_equal(store_session_del(s, "c9", 2), 0);
	fx_flush(fx);
	assert_int_equal(fx->committed, 1);
	assert_true(s->stats.absent_deletes == 5);
}

static void
test_poll(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;

	fx->conf.batch_ops = 3;
	fx->conf.batch_kb = 4;
	fx->conf.batch_delay = 50;
	fx_open(fx);
	s = fx->s;
	assert_int_equal(store_poll(s, 1000), -1);	/* nothing to do */
	put_session(s, "c1");
	assert_int_equal(store_poll(s, 1000), 50);
	assert_int_equal(store_poll(s, 1049), 1);
	assert_int_equal(fx->ncb, 0);
	assert_true(store_poll(s, 1050) >= 0);		/* a checkpoint due */
	assert_int_equal(fx->committed, 1);

	/* Full by count. */
	put_session(s, "c2");
	put_session(s, "c3");
	put_session(s, "c4");
	store_poll(s, 2000);
	assert_int_equal(fx->committed, 2);
	/* Full by size. */
	put_session(s, "c1");
	put_msg(s, 1, 4096);
	enqueue(s, "c1", 1, 1, 1);
	store_poll(s, 3000);
	assert_int_equal(fx->committed, 3);
	/* The delay counts from the first poll that saw the batch. */
	put_session(s, "c5");
	assert_int_equal(store_poll(s, 4000), 50);
	put_session(s, "c6");
	assert_int_equal(store_poll(s, 4030), 20);
	store_poll(s, 4050);
	assert_int_equal(fx->committed, 4);

	/* A failed batch is closed at the next poll, whatever its size. */
	assert_int_equal(store_sub_del(s, "", 0, "a", 1), -1);
	store_poll(s, 5000);
	assert_int_equal(fx->failed, 5);

	/* A new message keeps its batch open for its first reference. */
	put_msg(s, 50, 10);
	assert_int_equal(store_poll(s, 6000), 1000);
	assert_int_equal(store_poll(s, 6100), 900);
	enqueue(s, "c1", 50, 50, 1);
	store_poll(s, 6101);
	assert_int_equal(fx->committed, 6);
	assert_true(s->stats.messages == 2);
	/* Once referred to, even if released since, it is not waited for. */
	fx->conf.batch_ops = 100;
	s->conf.batch_ops = 100;
	put_msg(s, 51, 10);
	enqueue(s, "c1", 51, 51, 1);
	assert_int_equal(store_queue_del(s, "c1", 2, 51), 0);
	assert_int_equal(store_poll(s, 7000), 50);
	store_poll(s, 7050);
	assert_int_equal(fx->committed, 7);
	/* ... but not for ever. */
	put_msg(s, 52, 10);
	store_poll(s, 8000);
	store_poll(s, 9000);
	assert_int_equal(fx->committed, 8);
	assert_true(s->stats.messages == 2);
}

static void
test_walk_chunks(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;
	char		 whole[16384];
	const char	*t;
	uint64_t	 i;
	int		 calls;

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	put_session(s, "c2");
	for (i = 1; i <= 30; i++) {
		put_msg(s, i, 300);
		enqueue(s, i % 2 ? "c1" : "c2", i, i, 1);
	}
	assert_int_equal(store_retain_set(s, "t/x", 3, 5), 0);
	fx_flush(fx);
	t = walk_text(s, 1 << 20, &calls);
	assert_int_equal(calls, 1);
	strlcpy(whole, t, sizeof(whole));
	/* One record a call: every item once, in the same order. */
	t = walk_text(s, 1, &calls);
	assert_int_equal(calls, 30 + 1 + 2 + 30 + 1);
	assert_string_equal(t, whole);
	t = walk_text(s, 2000, &calls);
	assert_true(calls >= 5 && calls < 30);
	assert_string_equal(t, whole);
}

static uint64_t
count_lines(const char *t, char c)
{
	uint64_t	 n = 0;

	for (; *t != '\0'; t = strchr(t, '\n') + 1)
		if (*t == c)
			n++;
	return n;
}

/*
 * kill -9 in the middle of committing: every batch the child was told
 * had committed is there after recovery.
 */
static void
crash_test(struct fx *fx, enum store_durability d)
{
	struct store_error	 e;
	struct store		*s;
	const char		*t;
	uint64_t		 b, last = 0, i, msgs;
	ssize_t			 n;
	pid_t			 pid;
	int			 p[2], status;

	fx->conf.durability = d;
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		fx->wfd = p[1];
		if ((s = store_open(fx->dir, &fx->conf, fx_commit, fx,
		    &e)) == NULL)
			_exit(2);
		put_session(s, "c1");
		for (i = 1; ; i++) {
			put_msg(s, i, 500);
			enqueue(s, "c1", i, i, 1);
			/* Batch b holds message b - 1 (batch 1: session). */
			if (store_flush(s) == -1)
				_exit(4);
			store_poll(s, i);
		}
	}
	close(p[1]);
	while ((n = read(p[0], &b, sizeof(b))) == sizeof(b) && b < 60)
		last = b;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(p[0]);
	assert_true(WIFSIGNALED(status));
	assert_true(last >= 50);

	fx_open(fx);
	msgs = fx->s->stats.messages;
	/* Every batch reported committed (batch 1 is the session). */
	assert_true(msgs >= last - 1);
	/* And whole: each batch has one message and its queue entry. */
	t = state_of(fx->s);
	assert_int_equal(count_lines(t, 'M'), msgs);
	assert_int_equal(count_lines(t, 'Q'), msgs);
}

static void
test_crash_sync(void **state)
{
	crash_test(*state, STORE_SYNC);
}

static void
test_crash_nosync(void **state)
{
	crash_test(*state, STORE_NOSYNC);
}

/* A store with something in every database, closed cleanly. */
static void
fill(struct fx *fx)
{
	struct store	*s;
	struct rec_sub	 sub = { 1, 0 };
	uint64_t	 i;

	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	for (i = 1; i <= 40; i++) {
		put_msg(s, i, 1500);
		enqueue(s, "c1", i, i, 1);
	}
	assert_int_equal(store_sub_put(s, "c1", 2, "a", 1, &sub), 0);
	assert_int_equal(store_retain_set(s, "t", 1, 1), 0);
	assert_int_equal(store_inrel_put(s, "c1", 2, 1), 0);
	fx_flush(fx);
	store_close(fx->s);
	fx->s = NULL;
}

/* An empty directory again. */
static void
wipe(struct fx *fx)
{
	store_close(fx->s);
	fx->s = NULL;
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir(fx->dir, 0700), 0);
}

static void
file_path(struct fx *fx, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", fx->dir, name);
}

static void
flip(struct fx *fx, const char *name, off_t off)
{
	char	 path[128];
	uint8_t	 c;
	int	 fd;

	file_path(fx, name, path, sizeof(path));
	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
trunc_to(struct fx *fx, const char *name, off_t len)
{
	char	 path[128];

	file_path(fx, name, path, sizeof(path));
	assert_int_equal(truncate(path, len), 0);
}

static off_t
size_of(struct fx *fx, const char *name)
{
	struct stat	 st;
	char		 path[128];

	file_path(fx, name, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
expect_damaged(struct fx *fx, const char *file)
{
	struct store_error	 e;

	e = fx_open_fails(fx);
	if (e.kind != STORE_E_DAMAGED)
		fail_msg("kind %d, not damaged: %s", e.kind, e.msg);
	if (strcmp(e.file, file) != 0 || strstr(e.msg, file) == NULL)
		fail_msg("the error does not name %s: %s", file, e.msg);
}

static void
test_damage_db(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	trunc_to(fx, "msg.db", size_of(fx, "msg.db") - 4096);
	expect_damaged(fx, "msg.db");
}

static void
test_damage_db_partial_page(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	trunc_to(fx, "msg.db", size_of(fx, "msg.db") / 2 + 100);
	expect_damaged(fx, "msg.db");
}

static void
test_damage_bitflip(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	flip(fx, "msg.db", 4096 * 20 + 1234);
	expect_damaged(fx, "msg.db");
}

static void
test_damage_meta_page(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	flip(fx, "queue.db", 60);
	expect_damaged(fx, "queue.db");
}

static void
test_damage_missing(void **state)
{
	struct fx	*fx = *state;
	char		 path[128];

	fill(fx);
	file_path(fx, "sub.db", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	expect_damaged(fx, "sub.db");
}

static void
test_damage_log_truncated(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	trunc_to(fx, "log.0000000001", 50000);
	expect_damaged(fx, "log.0000000001");
}

static void
test_damage_log_bitflip(void **state)
{
	struct fx	*fx = *state;

	fill(fx);
	/* Early in the log: what follows would be dropped by recovery. */
	flip(fx, "log.0000000001", 3000);
	expect_damaged(fx, "log.0000000001");
}

/* Records that Berkeley DB reads fine, but that are not ours. */
static void
raw_put(struct fx *fx, enum sdb_id id, const void *k, size_t kl,
    const void *v, size_t vl)
{
	struct store_error	 e;
	struct buf		 kb, vb;
	DB_TXN			*txn;

	buf_init(&kb, 0);
	buf_init(&vb, 0);
	assert_int_equal(buf_add(&kb, k, kl), 0);
	assert_int_equal(buf_add(&vb, v, vl), 0);
	fx_open(fx);
	assert_int_equal(db_begin(&fx->s->db, &txn, &e), 0);
	assert_int_equal(db_put(&fx->s->db, txn, id, &kb, &vb, 0, &e), 0);
	assert_int_equal(db_commit(&fx->s->db, txn, STORE_SYNC, &e), 0);
	store_close(fx->s);
	fx->s = NULL;
	buf_free(&kb);
	buf_free(&vb);
}

static void
test_damage_records(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 qkey[] = { 0, 2, 'c', '1', 0, 0, 0, 0, 0, 0, 0, 99 };
	uint8_t		 qval[] = { REC_QUEUE, 1, 0x01, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 77, 0 };
	uint8_t		 bad[] = { REC_QUEUE, 1, 0x01, 0, 0, 0, 0 };

	/* A truncated record. */
	fill(fx);
	raw_put(fx, SDB_QUEUE, qkey, sizeof(qkey), bad, sizeof(bad));
	expect_damaged(fx, "queue.db");
	/* A well-formed one, for a message that is not there. */
	wipe(fx);
	fill(fx);
	raw_put(fx, SDB_QUEUE, qkey, sizeof(qkey), qval, sizeof(qval));
	expect_damaged(fx, "queue.db");
	/* For a client without a session. */
	wipe(fx);
	fill(fx);
	qkey[3] = '9';
	qval[12] = 1;
	raw_put(fx, SDB_QUEUE, qkey, sizeof(qkey), qval, sizeof(qval));
	expect_damaged(fx, "queue.db");
	/* A subscription of no session, in another file. */
	wipe(fx);
	fill(fx);
	raw_put(fx, SDB_SUB, "\0\2c9a", 5, "\4\1\1\0\0\0\0", 7);
	expect_damaged(fx, "sub.db");
}

/* A message nothing refers to: freed at open, and said. */
static void
test_orphans(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 key[] = { 0, 0, 0, 0, 0, 0, 0x10, 0 };
	uint8_t		 val[] = { REC_MSG, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 1, 'o', 0, 0, 0, 0, 0, 0, 0, 0 };

	fill(fx);
	raw_put(fx, SDB_MSG, key, sizeof(key), val, sizeof(val));
	fx_open(fx);
	assert_true(fx->s->stats.orphans == 1);
	assert_true(fx->s->stats.messages == 40);
	fx_reopen(fx);
	assert_true(fx->s->stats.orphans == 0);
	assert_true(fx->s->stats.messages == 40);
}

static void
test_format_newer(void **state)
{
	struct fx		*fx = *state;
	struct store_error	 e;
	uint8_t			 meta[] = { REC_META, 1, 0, 0, 0, 2,
	    0, 0, 0, 0, 0, 0, 0, 1 };

	fill(fx);
	raw_put(fx, SDB_META, "format", 6, meta, sizeof(meta));
	fx->conf.on_damage = STORE_MOVE_ASIDE;
	e = fx_open_fails(fx);
	assert_int_equal(e.kind, STORE_E_FORMAT);
	/* Not damage: nothing moved. */
	assert_true(size_of(fx, "msg.db") > 0);
}

/* The damaged-* directories beside the store; the last one's name. */
static int
count_damaged(struct fx *fx, char *name, size_t len)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(fx->dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "damaged-", 8) == 0) {
			strlcpy(name, de->d_name, len);
			n++;
		}
	closedir(d);
	return n;
}

static void
test_move_aside(void **state)
{
	struct fx	*fx = *state;
	struct stat	 st;
	char		 name[64], path[256];
	int		 i;

	fill(fx);
	flip(fx, "msg.db", 4096 * 20 + 1234);
	fx->conf.on_damage = STORE_MOVE_ASIDE;
	fx_open(fx);
	assert_string_equal(state_of(fx->s), "");
	assert_int_equal(count_damaged(fx, name, sizeof(name)), 1);
	for (i = 0; i < SDB_N; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", fx->dir, name,
		    sdb_files[i]);
		assert_int_equal(stat(path, &st), 0);
	}
	snprintf(path, sizeof(path), "%s/%s/log.0000000001", fx->dir, name);
	assert_int_equal(stat(path, &st), 0);
	/* And it works as a new store. */
	put_session(fx->s, "c1");
	fx_flush(fx);
	fx_reopen(fx);
	assert_string_equal(state_of(fx->s), "S c1 v5 e100 w0\n");
}

/*
 * Steady load with small log files: the log on disk stays within the
 * bound db.c states, however much is written, and so do the databases.
 */
static void
test_disk_bounded(void **state)
{
	struct fx		*fx = *state;
	struct store		*s;
	struct store_error	 e;
	struct sdb_logstat	 ls;
	uint64_t		 i, round, id = 1, dbbytes, maxlog = 0,
				 maxdb = 0, bound, batchlog = 200 * 1024;

	fx->conf.durability = STORE_NOSYNC;
	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	fx_flush(fx);
	for (round = 0; round < 400; round++) {
		/* 20 new messages, the 20 of the round before acked. */
		for (i = 0; i < 20; i++, id++) {
			put_msg(s, id, 1000);
			enqueue(s, "c1", id, id, 1);
			if (id > 20)
				assert_int_equal(store_queue_del(s, "c1", 2,
				    id - 20), 0);
		}
		fx_flush(fx);
		store_poll(s, 1 + round);
		assert_int_equal(store_disk_usage(s, &ls, &dbbytes, &e), 0);
		if (ls.disk > maxlog)
			maxlog = ls.disk;
		if (dbbytes > maxdb)
			maxdb = dbbytes;
	}
	bound = ((fx->conf.checkpoint_kb * 1024 + batchlog +
	    fx->conf.log_file_kb * 1024 - 1) / (fx->conf.log_file_kb * 1024) +
	    1) * fx->conf.log_file_kb * 1024;
	print_message("log written %llu KiB, on disk at most %llu KiB "
	    "(bound %llu KiB), databases at most %llu KiB, %llu checkpoints\n",
	    (unsigned long long)ls.written / 1024,
	    (unsigned long long)maxlog / 1024, (unsigned long long)bound / 1024,
	    (unsigned long long)maxdb / 1024,
	    (unsigned long long)s->stats.checkpoints);
	assert_true(ls.written > 10 * bound);
	assert_true(maxlog <= bound);
	assert_true(s->stats.logs_removed > 0);
	/* 40 live messages of one page each, and the other files. */
	assert_true(maxdb < 1024 * 1024);
}

/* A full file system (tmpfs, as root): refused, then fine again. */
static void
test_disk_full(void **state)
{
	struct fx	*fx = *state;
	struct store	*s;
	char		 filler[128];
	uint64_t	 id = 1, msgs;
	int		 fd, i, full = 0;

	if (geteuid() != 0 || mount("tmpfs", fx->dir, "tmpfs", 0,
	    "size=2m,mode=0700") == -1) {
		print_message("skipped: needs root to mount a tmpfs\n");
		skip();
	}
	snprintf(filler, sizeof(filler), "%s/filler", fx->dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd != -1);
	for (i = 0; i < 128; i++) {
		static char	 z[4096];

		assert_int_equal(write(fd, z, sizeof(z)), sizeof(z));
	}
	close(fd);
	fx_open(fx);
	s = fx->s;
	put_session(s, "c1");
	fx_flush(fx);
	while (!full && id < 10000) {
		for (i = 0; i < 20; i++, id++) {
			put_msg(s, id, 1000);
			enqueue(s, "c1", id, id, 1);
		}
		if (store_flush(s) == -1)
			full = 1;
		store_poll(s, id);
	}
	assert_true(full);
	assert_int_equal(fx->fkind, STORE_E_NOSPACE);
	msgs = s->stats.messages;
	assert_true(msgs > 100);

	/* Space again: the next batch commits. */
	assert_int_equal(unlink(filler), 0);
	for (i = 0; i < 20; i++, id++) {
		put_msg(s, id, 1000);
		enqueue(s, "c1", id, id, 1);
	}
	fx_flush(fx);
	assert_true(s->stats.messages == msgs + 20);
	fx_reopen(fx);
	assert_true(fx->s->stats.messages == msgs + 20);
	store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(umount(fx->dir), 0);
}

/*
 * Everything storaged does with its store, inside storaged's sandbox
 * (seccomp and Landlock, no chroot: this runs as any user).  A system
 * call outside the allow-list kills the child with SIGSYS.
 */
static void
test_sandbox(void **state)
{
	struct fx		*fx = *state;
	struct sandbox_conf	 sc;
	struct store_error	 e;
	struct store		*s;
	char			 name[64];
	uint64_t		 i;
	pid_t			 pid;
	int			 status;

	fill(fx);
	flip(fx, "msg.db", 4096 * 20 + 1234);
	memset(&sc, 0, sizeof(sc));
	strlcpy(sc.root, fx->dir, sizeof(sc.root));
	fx->conf.on_damage = STORE_MOVE_ASIDE;
	fx->conf.checkpoint_kb = 64;
	if ((pid = fork()) == 0) {
		sandbox_enter(PROC_STORAGED, &sc);
		if ((s = store_open(fx->dir, &fx->conf, NULL, NULL,
		    &e)) == NULL)
			_exit(2);
		put_session(s, "c1");
		for (i = 1; i <= 200; i++) {
			put_msg(s, i, 1000);
			enqueue(s, "c1", i, i, 1);
			if (i % 20 == 0) {
				if (store_flush(s) == -1)
					_exit(3);
				store_poll(s, i);
			}
		}
		store_close(s);
		if ((s = store_open(fx->dir, &fx->conf, NULL, NULL,
		    &e)) == NULL)
			_exit(4);
		if (s->stats.messages != 200)
			_exit(5);
		store_close(s);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("storaged's store died of signal %d in its sandbox%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ? ": a "
		    "system call outside the seccomp allow-list (build with "
		    "SANDBOX_DEBUG=1 to name it)" : "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_damaged(fx, name, sizeof(name)), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
		T(test_open_fresh),
		T(test_batch_reopen),
		T(test_refs),
		T(test_batch_failure),
		T(test_session_del),
		T(test_absent_deletes),
		T(test_poll),
		T(test_walk_chunks),
		T(test_crash_sync),
		T(test_crash_nosync),
		T(test_damage_db),
		T(test_damage_db_partial_page),
		T(test_damage_bitflip),
		T(test_damage_meta_page),
		T(test_damage_missing),
		T(test_damage_log_truncated),
		T(test_damage_log_bitflip),
		T(test_damage_records),
		T(test_orphans),
		T(test_format_newer),
		T(test_move_aside),
		T(test_disk_bounded),
		T(test_disk_full),
		T(test_sandbox),
#undef T
	};

	log_init(1, LOG_DAEMON);
	/* TEST_FILTER=test_crash* runs only those. */
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
