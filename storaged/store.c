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
 * The store: the engine's typed requests applied to the databases of
 * record.h, in batches, one transaction per batch (group commit: one log
 * flush for every request in it).
 *
 * Invariants, true after every committed batch:
 * - A message is stored once, in msg.db, and exists exactly as long as a
 *   queue entry or a retained entry refers to it.  Its references are
 *   counted here, in memory (the count is derived from queue.db and
 *   retain.db at open); a batch that leaves a message it touched without
 *   references deletes it before it commits.  So a message must be put
 *   in the batch that first refers to it: store_poll keeps a batch open
 *   while a message put in it waits for its first reference.
 * - Every subscription, queue entry and incoming QoS 2 packet id belongs
 *   to a stored session; deleting the session deletes them, in the same
 *   transaction.
 * - A batch commits whole or not at all.  The first request in it that
 *   fails (invalid, disk full, ...) fails the batch: later requests are
 *   refused, and store_flush rolls it back, references included, and
 *   says so through the commit callback.
 * Deleting what is not there is not an error (it is counted); referring
 * to what is not there is.
 *
 * At open the whole state is read once (store_check): every record is
 * decoded, every reference checked and counted.  A store that fails this
 * is damaged: store_open refuses it, naming the file, or moves it aside
 * and starts empty (conf.on_damage).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <db.h>

#include "log.h"
#include "storaged.h"

#define REF_DEAD	0x01		/* deleted by the open batch */
#define REF_SEEN	0x02		/* referred to since it was put */

#define UNDO_CREATE	1
#define UNDO_DELTA	2

/*
 * A message is put just before its first reference (store_msg_put, then
 * store_queue_put or store_retain_set), which may come in the next
 * frame: the batch stays open for it up to this many ms.
 */
#define STORE_REF_WAIT	1000

static const enum sdb_id walk_db[STORE_ITEM_NTYPES] = {
	[STORE_ITEM_MSG] = SDB_MSG,
	[STORE_ITEM_RETAIN] = SDB_RETAIN,
	[STORE_ITEM_SESSION] = SDB_SESSION,
	[STORE_ITEM_SUB] = SDB_SUB,
	[STORE_ITEM_QUEUE] = SDB_QUEUE,
	[STORE_ITEM_INREL] = SDB_INREL,
};

static uint64_t
store_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
store_conf_defaults(struct store_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->durability = STORE_SYNC;
	c->on_damage = STORE_REFUSE;
	c->batch_ops = 4096;
	c->batch_kb = 4096;
	c->batch_delay = 0;
	c->cache_kb = 16 * 1024;
	c->log_buffer_kb = 256;
	c->log_file_kb = 10 * 1024;
	c->checkpoint_kb = 16 * 1024;
	c->checkpoint_secs = 60;
	c->max_locks = 10000;
}

/* Message references: open addressing, linear probing. */

static size_t
ref_home(const struct store *s, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) &
	    (s->refcap - 1);
}

static struct store_ref *
ref_find(const struct store *s, uint64_t id)
{
	size_t	 i;

	for (i = ref_home(s, id); s->refs[i].id != 0;
	    i = (i + 1) & (s->refcap - 1))
		if (s->refs[i].id == id)
			return &s->refs[i];
	return NULL;
}

static int
ref_grow(struct store *s)
{
	struct store_ref	*old = s->refs, *r;
	size_t			 oldcap = s->refcap, i, j;

	if ((r = calloc(oldcap * 2, sizeof(*r))) == NULL)
		return -1;
	s->refs = r;
	s->refcap = oldcap * 2;
	for (i = 0; i < oldcap; i++) {
		if (old[i].id == 0)
			continue;
		for (j = ref_home(s, old[i].id); r[j].id != 0;
		    j = (j + 1) & (s->refcap - 1))
			;
		r[j] = old[i];
	}
	free(old);
	return 0;
}

static struct store_ref *
ref_insert(struct store *s, uint64_t id)
{
	size_t	 i;

	if ((s->nrefs + 1) * 2 > s->refcap && ref_grow(s) == -1)
		return NULL;
	for (i = ref_home(s, id); s->refs[i].id != 0;
	    i = (i + 1) & (s->refcap - 1))
		;
	s->refs[i].id = id;
	s->refs[i].refs = 0;
	s->refs[i].flags = 0;
	s->nrefs++;
	return &s->refs[i];
}

/* Remove, shifting back the entries that probed past it. */
static void
ref_remove(struct store *s, struct store_ref *r)
{
	size_t	 mask = s->refcap - 1, i = r - s->refs, j = i, h;

	s->refs[i].id = 0;
	s->nrefs--;
	for (;;) {
		j = (j + 1) & mask;
		if (s->refs[j].id == 0)
			break;
		h = ref_home(s, s->refs[j].id);
		/* It may stay if its home is in (i, j]. */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		s->refs[i] = s->refs[j];
		s->refs[j].id = 0;
		i = j;
	}
}

static int
undo_push(struct store *s, uint64_t id, int32_t delta, uint32_t op)
{
	struct store_undo	*u;
	size_t			 cap;

	if (s->nundo == s->undocap) {
		cap = s->undocap == 0 ? 256 : s->undocap * 2;
		if ((u = reallocarray(s->undo, cap, sizeof(*u))) == NULL)
			return -1;
		s->undo = u;
		s->undocap = cap;
	}
	s->undo[s->nundo].id = id;
	s->undo[s->nundo].delta = delta;
	s->undo[s->nundo].op = op;
	s->nundo++;
	return 0;
}

/* The batch. */

static int
op_fail(struct store *s, enum store_ekind kind, const char *file,
    const char *fmt, ...)
    __attribute__((__format__ (printf, 4, 5)));

static int
op_fail(struct store *s, enum store_ekind kind, const char *file,
    const char *fmt, ...)
{
	va_list	 ap;

	if (s->berr.kind != STORE_E_NONE)
		return -1;
	s->berr.kind = kind;
	s->berr.errnum = 0;
	strlcpy(s->berr.file, file != NULL ? file : "", sizeof(s->berr.file));
	va_start(ap, fmt);
	vsnprintf(s->berr.msg, sizeof(s->berr.msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* An error from db.c fails the batch with it. */
static int
op_dberr(struct store *s, const struct store_error *e)
{
	if (s->berr.kind == STORE_E_NONE)
		s->berr = *e;
	return -1;
}

static int
op_begin(struct store *s)
{
	struct store_error	 e;

	if (s->berr.kind != STORE_E_NONE)
		return -1;
	if (s->txn != NULL)
		return 0;
	if (db_begin(&s->db, &s->txn, &e) == -1) {
		s->txn = NULL;
		return op_dberr(s, &e);
	}
	s->nops = 0;
	s->nbytes = 0;
	s->opened = 0;
	return 0;
}

static void
op_done(struct store *s, size_t bytes)
{
	s->nops++;
	s->nbytes += bytes;
	s->stats.ops++;
	s->stats.bytes += bytes;
}

static int
ref_add(struct store *s, uint64_t id, int32_t delta)
{
	struct store_ref	*r;

	if ((r = ref_find(s, id)) == NULL || (r->flags & REF_DEAD))
		return op_fail(s, STORE_E_INVALID, sdb_files[SDB_MSG],
		    "message %llu is not stored", (unsigned long long)id);
	if (delta < 0 && r->refs < (uint32_t)-delta)
		return op_fail(s, STORE_E_DAMAGED, sdb_files[SDB_MSG],
		    "message %llu: more references released than counted",
		    (unsigned long long)id);
	if (undo_push(s, id, delta, UNDO_DELTA) == -1)
		return op_fail(s, STORE_E_SYSTEM, NULL, "out of memory");
	r->refs += delta;
	if (delta > 0)
		r->flags |= REF_SEEN;
	return 0;
}

static int
enc_fail(struct store *s, enum sdb_id id, const char *what)
{
	if (errno == EINVAL)
		return op_fail(s, STORE_E_INVALID, sdb_files[id], "%s: %s "
		    "invalid", sdb_files[id], what);
	return op_fail(s, STORE_E_SYSTEM, sdb_files[id], "%s: out of memory",
	    sdb_files[id]);
}

static void
bufs_reset(struct store *s)
{
	s->key.rpos = s->key.wpos = 0;
	s->val.rpos = s->val.wpos = 0;
	s->key2.rpos = s->key2.wpos = 0;
}

/* Whether the key exists, without reading its value. */
static int
key_exists(struct store *s, enum sdb_id id, const struct buf *key)
{
	struct store_error	 e;
	DBT			 k, v;
	int			 ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = buf_ptr(key);
	k.size = buf_len(key);
	v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM;
	ret = s->db.db[id]->get(s->db.db[id], s->txn, &k, &v, 0);
	if (ret == 0)
		return 1;
	if (ret == DB_NOTFOUND)
		return 0;
	db_error(&s->db, &e, ret, id, "get");
	return op_dberr(s, &e);
}

static int
session_must_exist(struct store *s, const void *cid, size_t len)
{
	int	 n;

	s->key2.rpos = s->key2.wpos = 0;
	if (rec_key_str(&s->key2, cid, len) == -1)
		return enc_fail(s, SDB_SESSION, "client id");
	if ((n = key_exists(s, SDB_SESSION, &s->key2)) == -1)
		return -1;
	if (n == 0)
		return op_fail(s, STORE_E_INVALID, sdb_files[SDB_SESSION],
		    "no session %.*s", (int)(len > 64 ? 64 : len),
		    (const char *)cid);
	return 0;
}

static int
put(struct store *s, enum sdb_id id, int excl)
{
	struct store_error	 e;
	int			 n;

	if ((n = db_put(&s->db, s->txn, id, &s->key, &s->val, excl, &e)) ==
	    -1)
		return op_dberr(s, &e);
	if (n == 1)
		return op_fail(s, STORE_E_INVALID, sdb_files[id],
		    "%s: the key exists", sdb_files[id]);
	op_done(s, buf_len(&s->key) + buf_len(&s->val));
	return 0;
}

/* 0: deleted, 1: was not there. */
static int
del(struct store *s, enum sdb_id id)
{
	struct store_error	 e;
	int			 n;

	if ((n = db_del(&s->db, s->txn, id, &s->key, &e)) == -1)
		return op_dberr(s, &e);
	if (n == 1)
		s->stats.absent_deletes++;
	op_done(s, buf_len(&s->key));
	return n;
}

/* 0: found, into s->val; 1: not there. */
static int
get(struct store *s, enum sdb_id id)
{
	struct store_error	 e;
	int			 n;

	if ((n = db_get(&s->db, s->txn, id, &s->key, &s->val, &e)) == -1)
		return op_dberr(s, &e);
	return n;
}

static int
damaged(struct store *s, enum sdb_id id, const char *why)
{
	return op_fail(s, STORE_E_DAMAGED, sdb_files[id], "%s: %s",
	    sdb_files[id], why);
}

/* Requests. */

int
store_msg_put(struct store *s, uint64_t id, const struct rec_msg *m)
{
	struct store_ref	*r;

	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_msg(&s->key, id) == -1)
		return enc_fail(s, SDB_MSG, "message id");
	if (rec_enc_msg(&s->val, m) == -1)
		return enc_fail(s, SDB_MSG, "message");
	if (ref_find(s, id) != NULL)
		return op_fail(s, STORE_E_INVALID, sdb_files[SDB_MSG],
		    "message %llu exists", (unsigned long long)id);
	if (put(s, SDB_MSG, 1) == -1)
		return -1;
	if ((r = ref_insert(s, id)) == NULL ||
	    undo_push(s, id, 0, UNDO_CREATE) == -1) {
		if (r != NULL)
			ref_remove(s, r);
		return op_fail(s, STORE_E_SYSTEM, NULL, "out of memory");
	}
	s->stats.msgs_put++;
	return 0;
}

static int
retain_old(struct store *s, uint64_t *old)
{
	struct rec_retain	 rt;
	struct rec_err		 re;
	int			 n;

	*old = 0;
	if ((n = get(s, SDB_RETAIN)) != 0)
		return n;
	if (rec_dec_retain(buf_ptr(&s->val), buf_len(&s->val), &rt, &re) ==
	    -1)
		return damaged(s, SDB_RETAIN, re.why);
	*old = rt.msgid;
	return 0;
}

int
store_retain_set(struct store *s, const void *topic, size_t len,
    uint64_t id)
{
	struct rec_retain	 rt = { id };
	uint64_t		 old;

	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_str(&s->key, topic, len) == -1)
		return enc_fail(s, SDB_RETAIN, "topic");
	if (retain_old(s, &old) == -1)
		return -1;
	if (ref_add(s, id, 1) == -1)
		return -1;
	s->val.rpos = s->val.wpos = 0;
	if (rec_enc_retain(&s->val, &rt) == -1)
		return enc_fail(s, SDB_RETAIN, "retained entry");
	if (put(s, SDB_RETAIN, 0) == -1)
		return -1;
	return old != 0 ? ref_add(s, old, -1) : 0;
}

int
store_retain_clear(struct store *s, const void *topic, size_t len)
{
	uint64_t	 old;
	int		 n;

	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_str(&s->key, topic, len) == -1)
		return enc_fail(s, SDB_RETAIN, "topic");
	if ((n = retain_old(s, &old)) == -1)
		return -1;
	if (n == 1) {
		s->stats.absent_deletes++;
		return 0;
	}
	if (del(s, SDB_RETAIN) == -1)
		return -1;
	return ref_add(s, old, -1);
}

int
store_session_put(struct store *s, const void *cid, size_t len,
    const struct rec_session *rs)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_str(&s->key, cid, len) == -1)
		return enc_fail(s, SDB_SESSION, "client id");
	if (rec_enc_session(&s->val, rs) == -1)
		return enc_fail(s, SDB_SESSION, "session");
	return put(s, SDB_SESSION, 0);
}

/* Delete every key of database `id' that starts with s->key2. */
static int
sweep(struct store *s, enum sdb_id id)
{
	struct store_error	 e;
	struct rec_queue	 q;
	struct rec_err		 re;
	DB			*db = s->db.db[id];
	DBC			*c;
	DBT			 k, v;
	size_t			 plen = buf_len(&s->key2);
	uint32_t		 how = DB_SET_RANGE;
	int			 ret, rc = 0;

	if ((ret = db->cursor(db, s->txn, &c, 0)) != 0) {
		db_error(&s->db, &e, ret, id, "cursor");
		return op_dberr(s, &e);
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = buf_ptr(&s->key2);
	k.size = plen;
	for (;;) {
		ret = c->get(c, &k, &v, how);
		how = DB_NEXT;
		if (ret == DB_NOTFOUND)
			break;
		if (ret != 0) {
			db_error(&s->db, &e, ret, id, "cursor get");
			rc = op_dberr(s, &e);
			break;
		}
		if (k.size < plen || memcmp(k.data, buf_ptr(&s->key2),
		    plen) != 0)
			break;
		if (id == SDB_QUEUE) {
			if (rec_dec_queue(v.data, v.size, &q, &re) == -1) {
				rc = damaged(s, id, re.why);
				break;
			}
			if ((rc = ref_add(s, q.msgid, -1)) == -1)
				break;
		}
		if ((ret = c->del(c, 0)) != 0) {
			db_error(&s->db, &e, ret, id, "cursor delete");
			rc = op_dberr(s, &e);
			break;
		}
		op_done(s, k.size);
	}
	if ((ret = c->close(c)) != 0 && rc == 0) {
		db_error(&s->db, &e, ret, id, "cursor close");
		rc = op_dberr(s, &e);
	}
	return rc;
}

int
store_session_del(struct store *s, const void *cid, size_t len)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_str(&s->key, cid, len) == -1 ||
	    rec_key_cid(&s->key2, cid, len) == -1)
		return enc_fail(s, SDB_SESSION, "client id");
	if (del(s, SDB_SESSION) == -1)
		return -1;
	if (sweep(s, SDB_SUB) == -1 || sweep(s, SDB_QUEUE) == -1 ||
	    sweep(s, SDB_INREL) == -1)
		return -1;
	return 0;
}

int
store_sub_put(struct store *s, const void *cid, size_t len,
    const void *filter, size_t flen, const struct rec_sub *rs)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_sub(&s->key, cid, len, filter, flen) == -1)
		return enc_fail(s, SDB_SUB, "client id or filter");
	if (rec_enc_sub(&s->val, rs) == -1)
		return enc_fail(s, SDB_SUB, "subscription");
	if (session_must_exist(s, cid, len) == -1)
		return -1;
	return put(s, SDB_SUB, 0);
}

int
store_sub_del(struct store *s, const void *cid, size_t len,
    const void *filter, size_t flen)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_sub(&s->key, cid, len, filter, flen) == -1)
		return enc_fail(s, SDB_SUB, "client id or filter");
	return del(s, SDB_SUB) == -1 ? -1 : 0;
}

int
store_queue_put(struct store *s, const void *cid, size_t len, uint64_t seq,
    const struct rec_queue *q)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_queue(&s->key, cid, len, seq) == -1)
		return enc_fail(s, SDB_QUEUE, "client id");
	if (rec_enc_queue(&s->val, q) == -1)
		return enc_fail(s, SDB_QUEUE, "queue entry");
	if (session_must_exist(s, cid, len) == -1 ||
	    ref_add(s, q->msgid, 1) == -1)
		return -1;
	return put(s, SDB_QUEUE, 1);
}

/* The queue entry into `q': 0, or 1 if there is none. */
static int
queue_get(struct store *s, const void *cid, size_t len, uint64_t seq,
    struct rec_queue *q)
{
	struct rec_err	 re;
	int		 n;

	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_queue(&s->key, cid, len, seq) == -1)
		return enc_fail(s, SDB_QUEUE, "client id");
	if ((n = get(s, SDB_QUEUE)) != 0)
		return n;
	if (rec_dec_queue(buf_ptr(&s->val), buf_len(&s->val), q, &re) == -1)
		return damaged(s, SDB_QUEUE, re.why);
	return 0;
}

int
store_queue_state(struct store *s, const void *cid, size_t len,
    uint64_t seq, uint8_t state, uint16_t pid)
{
	struct rec_queue	 q;
	int			 n;

	if ((n = queue_get(s, cid, len, seq, &q)) == -1)
		return -1;
	if (n == 1)
		return op_fail(s, STORE_E_INVALID, sdb_files[SDB_QUEUE],
		    "no queue entry %llu for %.*s", (unsigned long long)seq,
		    (int)(len > 64 ? 64 : len), (const char *)cid);
	q.state = state;
	q.pid = pid;
	s->val.rpos = s->val.wpos = 0;
	if (rec_enc_queue(&s->val, &q) == -1)
		return enc_fail(s, SDB_QUEUE, "queue entry state");
	return put(s, SDB_QUEUE, 0);
}

int
store_queue_del(struct store *s, const void *cid, size_t len, uint64_t seq)
{
	struct rec_queue	 q;
	int			 n;

	if ((n = queue_get(s, cid, len, seq, &q)) == -1)
		return -1;
	if (n == 1) {
		s->stats.absent_deletes++;
		return 0;
	}
	if (del(s, SDB_QUEUE) == -1)
		return -1;
	return ref_add(s, q.msgid, -1);
}

int
store_inrel_put(struct store *s, const void *cid, size_t len, uint16_t pid)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_inrel(&s->key, cid, len, pid) == -1)
		return enc_fail(s, SDB_INREL, "client id or packet id");
	if (rec_enc_inrel(&s->val) == -1)
		return enc_fail(s, SDB_INREL, "entry");
	if (session_must_exist(s, cid, len) == -1)
		return -1;
	return put(s, SDB_INREL, 0);
}

int
store_inrel_del(struct store *s, const void *cid, size_t len, uint16_t pid)
{
	if (op_begin(s) == -1)
		return -1;
	bufs_reset(s);
	if (rec_key_inrel(&s->key, cid, len, pid) == -1)
		return enc_fail(s, SDB_INREL, "client id or packet id");
	return del(s, SDB_INREL) == -1 ? -1 : 0;
}

/* Closing a batch. */

uint64_t
store_batch(const struct store *s)
{
	return s->batch;
}

const struct store_error *
store_batch_error(const struct store *s)
{
	return s->berr.kind != STORE_E_NONE ? &s->berr : NULL;
}

/* The batch failed: the references as they were before it. */
static void
undo_all(struct store *s)
{
	struct store_ref	*r;
	size_t			 i;

	for (i = s->nundo; i-- > 0; ) {
		if ((r = ref_find(s, s->undo[i].id)) == NULL)
			continue;
		r->flags &= ~REF_DEAD;
		if (s->undo[i].op == UNDO_CREATE)
			ref_remove(s, r);
		else
			r->refs -= s->undo[i].delta;
	}
	s->nundo = 0;
}

/* Delete the messages the batch left without references. */
static int
free_unreferenced(struct store *s, uint64_t *freed)
{
	struct store_ref	*r;
	size_t			 i;

	*freed = 0;
	for (i = 0; i < s->nundo; i++) {
		if ((r = ref_find(s, s->undo[i].id)) == NULL ||
		    r->refs != 0 || (r->flags & REF_DEAD))
			continue;
		s->key.rpos = s->key.wpos = 0;
		if (rec_key_msg(&s->key, r->id) == -1)
			return op_fail(s, STORE_E_SYSTEM, NULL,
			    "out of memory");
		if (del(s, SDB_MSG) != 0)
			return s->berr.kind != STORE_E_NONE ? -1 :
			    damaged(s, SDB_MSG, "a counted message is missing");
		r->flags |= REF_DEAD;
		(*freed)++;
	}
	return 0;
}

static void
commit_delay(const struct store *s)
{
	struct timespec	 ts;

	if (s->conf.commit_delay == 0)
		return;
	ts.tv_sec = s->conf.commit_delay / 1000;
	ts.tv_nsec = (long)(s->conf.commit_delay % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Close the open batch: commit it (durable as conf.durability says) or,
 * if a request in it failed, roll it back.  The commit callback says
 * which.  Returns 0 if the batch committed or there was none, -1 if it
 * failed.
 */
int
store_flush(struct store *s)
{
	struct store_error	 err;
	struct store_ref	*r;
	uint64_t		 id = s->batch, freed = 0, t0, ms;
	size_t			 i;
	int			 rc = 0;

	if (s->txn == NULL && s->berr.kind == STORE_E_NONE)
		return 0;
	s->batch++;
	if (s->berr.kind == STORE_E_NONE)
		(void)free_unreferenced(s, &freed);
	if (s->berr.kind != STORE_E_NONE) {
		err = s->berr;
		if (s->txn != NULL)
			db_abort(&s->db, s->txn);
		rc = -1;
	} else {
		commit_delay(s);
		t0 = store_now();
		if (db_commit(&s->db, s->txn, s->conf.durability, &err) == -1)
			rc = -1;
		ms = store_now() - t0;
		s->stats.commit_ms += ms;
		if (ms > s->stats.max_commit_ms)
			s->stats.max_commit_ms = ms;
	}
	s->txn = NULL;
	memset(&s->berr, 0, sizeof(s->berr));
	if (rc == -1) {
		undo_all(s);
		s->stats.failed++;
		log_warnx("store: batch %llu rolled back: %s",
		    (unsigned long long)id, err.msg);
		if (s->commit_cb != NULL)
			s->commit_cb(id, &err, s->cb_arg);
		return -1;
	}
	for (i = 0; i < s->nundo; i++)
		if ((r = ref_find(s, s->undo[i].id)) != NULL &&
		    (r->flags & REF_DEAD))
			ref_remove(s, r);
	s->nundo = 0;
	s->stats.batches++;
	s->stats.msgs_freed += freed;
	s->stats.messages = s->nrefs;
	s->dirty = 1;
	if (s->commit_cb != NULL)
		s->commit_cb(id, NULL, s->cb_arg);
	return 0;
}

static int
store_checkpoint(struct store *s, uint64_t now, int force,
    struct store_error *e)
{
	struct sdb_logstat	 ls;
	uint32_t		 removed;
	uint64_t		 since;

	if (s->last_ckp == 0)
		s->last_ckp = now;
	if (!s->dirty)
		return 0;
	if (!force && now - s->last_ckp < (uint64_t)s->conf.checkpoint_secs *
	    1000) {
		if (db_logstat(&s->db, &ls, 0, e) == -1)
			return -1;
		since = ls.written - s->ckp_written;
		if (since < (uint64_t)s->conf.checkpoint_kb * 1024)
			return 0;
	}
	if (db_checkpoint(&s->db, 0, 1, &removed, e) == -1)
		return -1;
	if (db_logstat(&s->db, &ls, 0, e) == -1)
		return -1;
	s->ckp_written = ls.written;
	s->last_ckp = now;
	s->dirty = 0;
	s->stats.checkpoints++;
	s->stats.logs_removed += removed;
	return 0;
}

/* Whether a message put in the open batch has no reference yet. */
static int
unreferenced_new(const struct store *s)
{
	const struct store_ref	*r;
	size_t			 i;

	for (i = s->nundo; i-- > 0; )
		if (s->undo[i].op == UNDO_CREATE &&
		    (r = ref_find(s, s->undo[i].id)) != NULL &&
		    !(r->flags & REF_SEEN))
			return 1;
	return 0;
}

/*
 * Called after each request frame and from a timer, with a monotonic
 * clock in ms: closes the open batch if it is full or old enough, and
 * checkpoints between batches.  Returns the ms until it wants to be
 * called again, or -1 for not until the next request.
 */
int
store_poll(struct store *s, uint64_t now)
{
	struct store_error	 e;
	uint64_t		 due;
	int			 wait = -1;

	if (s->txn != NULL || s->berr.kind != STORE_E_NONE) {
		if (s->opened == 0)
			s->opened = now;
		due = s->opened + s->conf.batch_delay;
		/* A message waits for its first reference, a while. */
		if (s->berr.kind == STORE_E_NONE && unreferenced_new(s) &&
		    now < s->opened + STORE_REF_WAIT)
			return (int)(s->opened + STORE_REF_WAIT - now);
		if (s->berr.kind != STORE_E_NONE ||
		    s->nops >= s->conf.batch_ops ||
		    s->nbytes >= (uint64_t)s->conf.batch_kb * 1024 ||
		    now >= due)
			(void)store_flush(s);
		else
			return (int)(due - now);
	}
	/* Said once while it keeps failing (a full disk), and when over. */
	if (store_checkpoint(s, now, 0, &e) == -1) {
		if (!s->ckp_failing)
			log_warnx("store: checkpoint failed: %s", e.msg);
		s->ckp_failing = 1;
	} else if (s->ckp_failing && !s->dirty) {
		log_warnx("store: checkpoints work again");
		s->ckp_failing = 0;
	}
	if (s->dirty) {
		due = s->last_ckp + (uint64_t)s->conf.checkpoint_secs * 1000;
		wait = due > now ? (int)(due - now) : 0;
	}
	return wait;
}

/* The recovery walk. */

void
store_walk_init(struct store_walk *w, struct store *s)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->type = STORE_ITEM_MSG;
	buf_init(&w->last, 0);
	w->k.flags = DB_DBT_REALLOC;
	w->v.flags = DB_DBT_REALLOC;
}

void
store_walk_done(struct store_walk *w)
{
	buf_free(&w->last);
	free(w->k.data);
	free(w->v.data);
	w->k.data = w->v.data = NULL;
}

static int
walk_decode(struct store_walk *w, struct store_item *it, struct rec_err *re)
{
	const uint8_t	*k = w->k.data, *v = w->v.data;
	size_t		 kl = w->k.size, vl = w->v.size;

	memset(it, 0, sizeof(*it));
	it->type = w->type;
	switch (w->type) {
	case STORE_ITEM_MSG:
		if (rec_dec_key_msg(k, kl, &it->msgid, re) == -1)
			return -1;
		return rec_dec_msg(v, vl, &it->u.msg, re);
	case STORE_ITEM_RETAIN:
		if (rec_dec_key_str(k, kl, &it->name, re) == -1)
			return -1;
		if (rec_dec_retain(v, vl, &it->u.retain, re) == -1)
			return -1;
		it->msgid = it->u.retain.msgid;
		return 0;
	case STORE_ITEM_SESSION:
		if (rec_dec_key_str(k, kl, &it->cid, re) == -1)
			return -1;
		return rec_dec_session(v, vl, &it->u.session, re);
	case STORE_ITEM_SUB:
		if (rec_dec_key_sub(k, kl, &it->cid, &it->name, re) == -1)
			return -1;
		return rec_dec_sub(v, vl, &it->u.sub, re);
	case STORE_ITEM_QUEUE:
		if (rec_dec_key_queue(k, kl, &it->cid, &it->seq, re) == -1)
			return -1;
		if (rec_dec_queue(v, vl, &it->u.queue, re) == -1)
			return -1;
		it->msgid = it->u.queue.msgid;
		return 0;
	case STORE_ITEM_INREL:
		if (rec_dec_key_inrel(k, kl, &it->cid, &it->pid, re) == -1)
			return -1;
		return rec_dec_inrel(v, vl, re);
	default:
		re->why = "no such item type";
		return -1;
	}
}

/* Reading back: any failure of Berkeley DB here is damage. */
static int
walk_dberr(struct store_walk *w, struct store_error *e, int ret,
    enum sdb_id id, const char *what)
{
	db_error(&w->s->db, e, ret, id, what);
	if ((e->kind != STORE_E_SYSTEM && e->kind != STORE_E_NOSPACE) ||
	    ret == EINVAL)
		e->kind = STORE_E_DAMAGED;
	return -1;
}

/*
 * Give out the state, messages first (everything else refers to them),
 * then retained entries, sessions, subscriptions, queue entries in order
 * and incoming QoS 2 ids: at most about `budget' bytes of records per
 * call, so that a caller can stream them in bounded chunks.  Between
 * calls no cursor stays open: the next call finds its place again from
 * the last key.  Returns 1 if there is more, 0 at the end, -1 on error.
 */
int
store_walk_next(struct store_walk *w, size_t budget, store_walk_fn fn,
    void *arg, struct store_error *e)
{
	struct store_item	 it;
	struct rec_err		 re;
	DB			*db;
	DBC			*c;
	enum sdb_id		 id;
	size_t			 used = 0;
	uint32_t		 how;
	int			 ret;

	memset(e, 0, sizeof(*e));
	while (w->type < STORE_ITEM_NTYPES) {
		id = walk_db[w->type];
		db = w->s->db.db[id];
		if ((ret = db->cursor(db, NULL, &c, 0)) != 0)
			return walk_dberr(w, e, ret, id, "cursor");
		how = DB_FIRST;
		if (w->started) {
			free(w->k.data);
			if ((w->k.data = malloc(buf_len(&w->last))) == NULL) {
				c->close(c);
				db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL,
				    "out of memory");
				return -1;
			}
			memcpy(w->k.data, buf_ptr(&w->last), buf_len(&w->last));
			w->k.size = buf_len(&w->last);
			how = DB_SET_RANGE;
		}
		for (;;) {
			ret = c->get(c, &w->k, &w->v, how);
			if (ret == 0 && how == DB_SET_RANGE &&
			    w->k.size == buf_len(&w->last) &&
			    memcmp(w->k.data, buf_ptr(&w->last),
			    w->k.size) == 0) {
				how = DB_NEXT;
				continue;
			}
			how = DB_NEXT;
			if (ret == DB_NOTFOUND)
				break;
			if (ret != 0) {
				c->close(c);
				return walk_dberr(w, e, ret, id, "reading");
			}
			w->items[w->type]++;
			if (walk_decode(w, &it, &re) == -1) {
				c->close(c);
				db_seterr(e, STORE_E_DAMAGED, 0, sdb_files[id],
				    "%s: record %llu: %s", sdb_files[id],
				    (unsigned long long)w->items[w->type],
				    re.why);
				return -1;
			}
			if (fn(&it, arg) == -1) {
				c->close(c);
				if (e->kind == STORE_E_NONE)
					db_seterr(e, STORE_E_SYSTEM, 0, NULL,
					    "walk stopped");
				return -1;
			}
			w->last.rpos = w->last.wpos = 0;
			if (buf_add(&w->last, w->k.data, w->k.size) == -1) {
				c->close(c);
				db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL,
				    "out of memory");
				return -1;
			}
			w->started = 1;
			used += w->k.size + w->v.size;
			if (used >= budget) {
				c->close(c);
				return 1;
			}
		}
		c->close(c);
		w->type++;
		w->started = 0;
	}
	return 0;
}

/* The check at open: every record decoded, every reference counted. */
struct check {
	struct store		*s;
	struct store_error	*e;
	struct buf		 lastcid;	/* known to have a session */
};

static int
check_fail(struct check *ck, const struct store_item *it, const char *fmt,
    uint64_t n)
{
	enum sdb_id	 id = walk_db[it->type];
	char		 what[128];

	snprintf(what, sizeof(what), fmt, (unsigned long long)n);
	db_seterr(ck->e, STORE_E_DAMAGED, 0, sdb_files[id], "%s: %s",
	    sdb_files[id], what);
	return -1;
}

static int
check_session(struct check *ck, const struct store_item *it)
{
	struct store_error	 e;
	DB			*db = ck->s->db.db[SDB_SESSION];
	DBT			 k, v;
	int			 ret;

	if (buf_len(&ck->lastcid) == it->cid.len &&
	    memcmp(buf_ptr(&ck->lastcid), it->cid.p, it->cid.len) == 0)
		return 0;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)it->cid.p;
	k.size = it->cid.len;
	v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM;
	ret = db->get(db, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND)
		return check_fail(ck, it, "an entry of a client with no "
		    "session (%llu bytes of client id)", it->cid.len);
	if (ret != 0) {
		db_error(&ck->s->db, &e, ret, SDB_SESSION, "get");
		*ck->e = e;
		ck->e->kind = STORE_E_DAMAGED;
		return -1;
	}
	ck->lastcid.rpos = ck->lastcid.wpos = 0;
	if (buf_add(&ck->lastcid, it->cid.p, it->cid.len) == -1) {
		db_seterr(ck->e, STORE_E_SYSTEM, ENOMEM, NULL, "out of memory");
		return -1;
	}
	return 0;
}

static int
check_item(const struct store_item *it, void *arg)
{
	struct check		*ck = arg;
	struct store		*s = ck->s;
	struct store_ref	*r;

	switch (it->type) {
	case STORE_ITEM_MSG:
		if (ref_find(s, it->msgid) != NULL)
			return check_fail(ck, it, "message %llu twice",
			    it->msgid);
		if (ref_insert(s, it->msgid) == NULL) {
			db_seterr(ck->e, STORE_E_SYSTEM, ENOMEM, NULL,
			    "out of memory");
			return -1;
		}
		return 0;
	case STORE_ITEM_RETAIN:
	case STORE_ITEM_QUEUE:
		if (it->type == STORE_ITEM_QUEUE && check_session(ck, it) == -1)
			return -1;
		if ((r = ref_find(s, it->msgid)) == NULL)
			return check_fail(ck, it, "refers to message %llu, "
			    "which msg.db does not have", it->msgid);
		if (r->refs == UINT32_MAX)
			return check_fail(ck, it, "message %llu referred to "
			    "too often", it->msgid);
		r->refs++;
		return 0;
	case STORE_ITEM_SUB:
	case STORE_ITEM_INREL:
		return check_session(ck, it);
	default:
		return 0;
	}
}

/* Messages nothing refers to cannot arise; if they have, free them. */
static int
check_orphans(struct store *s, struct store_error *e)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < s->refcap; i++) {
		if (s->refs[i].id == 0 || s->refs[i].refs != 0)
			continue;
		if (op_begin(s) == -1)
			goto fail;
		s->key.rpos = s->key.wpos = 0;
		if (rec_key_msg(&s->key, s->refs[i].id) == -1) {
			op_fail(s, STORE_E_SYSTEM, NULL, "out of memory");
			goto fail;
		}
		if (del(s, SDB_MSG) == -1)
			goto fail;
		s->refs[i].flags |= REF_DEAD;
		n++;
	}
	if (n == 0)
		return 0;
	if (db_commit(&s->db, s->txn, STORE_SYNC, e) == -1) {
		s->txn = NULL;
		return -1;
	}
	s->txn = NULL;
	/* Removing shifts entries back into slot i: look at it again. */
	for (i = 0; i < s->refcap; )
		if (s->refs[i].id != 0 && (s->refs[i].flags & REF_DEAD))
			ref_remove(s, &s->refs[i]);
		else
			i++;
	s->stats.orphans = n;
	log_warnx("store: deleted %llu messages that nothing referred to",
	    (unsigned long long)n);
	return 0;
fail:
	*e = s->berr;
	if (s->txn != NULL)
		db_abort(&s->db, s->txn);
	s->txn = NULL;
	memset(&s->berr, 0, sizeof(s->berr));
	return -1;
}

static int
store_check(struct store *s, struct store_error *e)
{
	struct store_walk	 w;
	struct check		 ck;
	int			 n;

	memset(&ck, 0, sizeof(ck));
	ck.s = s;
	ck.e = e;
	buf_init(&ck.lastcid, 0);
	store_walk_init(&w, s);
	while ((n = store_walk_next(&w, 1024 * 1024, check_item, &ck,
	    e)) == 1)
		;
	if (n == 0)
		log_info("store: %llu messages, %llu retained, %llu sessions, "
		    "%llu subscriptions, %llu queue entries, %llu QoS 2 "
		    "awaiting release",
		    (unsigned long long)w.items[STORE_ITEM_MSG],
		    (unsigned long long)w.items[STORE_ITEM_RETAIN],
		    (unsigned long long)w.items[STORE_ITEM_SESSION],
		    (unsigned long long)w.items[STORE_ITEM_SUB],
		    (unsigned long long)w.items[STORE_ITEM_QUEUE],
		    (unsigned long long)w.items[STORE_ITEM_INREL]);
	store_walk_done(&w);
	buf_free(&ck.lastcid);
	if (n == -1)
		return -1;
	if (check_orphans(s, e) == -1)
		return -1;
	s->stats.messages = s->nrefs;
	return 0;
}

static void
store_reset(struct store *s)
{
	memset(s->refs, 0, s->refcap * sizeof(*s->refs));
	s->nrefs = 0;
	s->nundo = 0;
}

struct store *
store_open(const char *dir, const struct store_conf *conf,
    store_commit_fn cb, void *arg, struct store_error *e)
{
	struct store	*s;
	char		 where[64];
	int		 attempt;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL, "out of memory");
		return NULL;
	}
	s->conf = *conf;
	s->commit_cb = cb;
	s->cb_arg = arg;
	s->batch = 1;
	s->refcap = 1024;
	buf_init(&s->key, 0);
	buf_init(&s->val, 0);
	buf_init(&s->key2, 0);
	if ((s->refs = calloc(s->refcap, sizeof(*s->refs))) == NULL) {
		free(s);
		db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL, "out of memory");
		return NULL;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		if (db_open(&s->db, dir, conf, e) == 0) {
			if (store_check(s, e) == 0)
				return s;
			db_close(&s->db);
		}
		if (e->kind != STORE_E_DAMAGED ||
		    conf->on_damage != STORE_MOVE_ASIDE || attempt > 0)
			break;
		log_warnx("store in %s is damaged: %s", dir, e->msg);
		if (db_move_aside(dir, where, sizeof(where), e) == -1)
			break;
		log_warnx("store: MOVED THE DAMAGED STORE TO %s/%s AND STARTED "
		    "EMPTY: its retained messages, sessions and queued "
		    "messages are not served; inspect it with db_verify",
		    dir, where);
		store_reset(s);
	}
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	struct store_error	 e;
	uint32_t		 removed;

	if (s == NULL)
		return;
	if (s->db.env != NULL) {
		(void)store_flush(s);
		if (s->dirty && db_checkpoint(&s->db, 0, 1, &removed,
		    &e) == -1)
			log_warnx("store: %s", e.msg);
		db_close(&s->db);
	}
	free(s->refs);
	free(s->undo);
	buf_free(&s->key);
	buf_free(&s->val);
	buf_free(&s->key2);
	free(s);
}

/* The database and log files' bytes on disk. */
int
store_disk_usage(struct store *s, struct sdb_logstat *ls, uint64_t *dbbytes,
    struct store_error *e)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 i, n;

	if (db_logstat(&s->db, ls, 1, e) == -1)
		return -1;
	*dbbytes = 0;
	for (i = 0; i < SDB_N; i++) {
		n = snprintf(path, sizeof(path), "%s/%s", s->db.dir,
		    sdb_files[i]);
		if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0)
			*dbbytes += st.st_size;
	}
	return 0;
}
