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

#ifndef BROKERD_STORAGED_H
#define BROKERD_STORAGED_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include <db.h>

#include "buf.h"
#include "record.h"

/* How a commit is made durable. */
enum store_durability {
	STORE_SYNC,		/* the log is on disk: survives a power cut */
	STORE_NOSYNC		/* the log is in the kernel: survives a crash
				   of any process, not of the system */
};

/* What to do when the store is found damaged at open. */
enum store_damage {
	STORE_REFUSE,		/* fail, naming the file */
	STORE_MOVE_ASIDE	/* move the files aside, start empty, loudly */
};

struct store_conf {
	enum store_durability	 durability;
	enum store_damage	 on_damage;
	uint32_t		 batch_ops;	/* a batch closes at this many */
	uint32_t		 batch_kb;	/* or this much written */
	uint32_t		 batch_delay;	/* or this many ms old; 0: at
						   the first store_poll */
	uint32_t		 cache_kb;
	uint32_t		 log_buffer_kb;
	uint32_t		 log_file_kb;	/* one log file */
	uint32_t		 checkpoint_kb;	/* log between checkpoints */
	uint32_t		 checkpoint_secs;
	uint32_t		 max_locks;	/* pages one batch may touch */
	uint32_t		 commit_delay;	/* test only: ms added to every
						   commit (a slow disk) */
};

/* Kinds of failure, for the caller to decide what follows. */
enum store_ekind {
	STORE_E_NONE,
	STORE_E_INVALID,	/* a request that breaks the model */
	STORE_E_NOSPACE,	/* the disk is full: refuse, retry later */
	STORE_E_DAMAGED,	/* a file is corrupt or truncated */
	STORE_E_FORMAT,		/* written by a newer storaged */
	STORE_E_BUSY,		/* another process has the directory */
	STORE_E_FATAL,		/* the environment cannot go on */
	STORE_E_SYSTEM		/* anything else the system refused */
};

struct store_error {
	enum store_ekind	 kind;
	int			 errnum;	/* errno or Berkeley DB's */
	char			 file[32];	/* the file, if known */
	char			 msg[512];
};

/* The databases, one file each. */
enum sdb_id {
	SDB_META,
	SDB_MSG,
	SDB_RETAIN,
	SDB_SESSION,
	SDB_SUB,
	SDB_QUEUE,
	SDB_INREL,
	SDB_N
};

/* db.c: the Berkeley DB environment. */
struct sdb {
	DB_ENV			*env;
	DB			*db[SDB_N];
	int			 lockfd;
	int			 panicked;
	uint32_t		 log_file_kb;
	char			 dir[PATH_MAX];
	char			 bdbmsg[256];	/* Berkeley DB's last word */
};

struct sdb_logstat {
	uint64_t		 flushes;	/* fsyncs of the log */
	uint64_t		 written;	/* bytes written to the log */
	uint32_t		 cur_file;
	uint32_t		 files;		/* log files on disk */
	uint64_t		 disk;		/* their bytes */
};

extern const char *const sdb_files[SDB_N];

int	 db_open(struct sdb *, const char *, const struct store_conf *,
	    struct store_error *);
void	 db_close(struct sdb *);
int	 db_move_aside(const char *, char *, size_t, struct store_error *);
int	 db_begin(struct sdb *, DB_TXN **, struct store_error *);
int	 db_commit(struct sdb *, DB_TXN *, enum store_durability,
	    struct store_error *);
void	 db_abort(struct sdb *, DB_TXN *);
int	 db_get(struct sdb *, DB_TXN *, enum sdb_id, const struct buf *,
	    struct buf *, struct store_error *);
int	 db_put(struct sdb *, DB_TXN *, enum sdb_id, const struct buf *,
	    const struct buf *, int, struct store_error *);
int	 db_del(struct sdb *, DB_TXN *, enum sdb_id, const struct buf *,
	    struct store_error *);
int	 db_checkpoint(struct sdb *, uint32_t, int, uint32_t *,
	    struct store_error *);
int	 db_logstat(struct sdb *, struct sdb_logstat *, int,
	    struct store_error *);
int	 db_error(struct sdb *, struct store_error *, int, enum sdb_id,
	    const char *);
void	 db_seterr(struct store_error *, enum store_ekind, int,
	    const char *, const char *, ...)
	    __attribute__((__format__ (printf, 5, 6)));

/* store.c: typed requests, batches, message references, recovery. */

/* A batch is durable (error NULL), or failed and was rolled back. */
typedef void	(*store_commit_fn)(uint64_t, const struct store_error *,
		    void *);

/* A message's references: queue entries and retained entries. */
struct store_ref {
	uint64_t		 id;		/* 0: free slot */
	uint32_t		 refs;
	uint32_t		 flags;
};

/* What a failed batch must undo in the references. */
struct store_undo {
	uint64_t		 id;
	int32_t			 delta;
	uint32_t		 op;
};

struct store_stats {
	uint64_t		 batches;	/* committed */
	uint64_t		 failed;	/* rolled back */
	uint64_t		 ops;
	uint64_t		 bytes;		/* keys and values written */
	uint64_t		 msgs_put;
	uint64_t		 msgs_freed;
	uint64_t		 absent_deletes;
	uint64_t		 checkpoints;
	uint64_t		 logs_removed;
	uint64_t		 orphans;	/* messages freed at open */
	uint64_t		 commit_ms;	/* total time in commits */
	uint64_t		 max_commit_ms;
	uint64_t		 messages;	/* stored now */
};

struct store {
	struct store_conf	 conf;
	struct sdb		 db;
	store_commit_fn		 commit_cb;
	void			*cb_arg;

	/* The open batch. */
	DB_TXN			*txn;
	uint64_t		 batch;		/* its id */
	uint32_t		 nops;
	uint64_t		 nbytes;
	uint64_t		 opened;	/* store_poll time, 0: unseen */
	struct store_error	 berr;		/* why it fails, if it does */

	/* Message references, open addressing. */
	struct store_ref	*refs;
	size_t			 nrefs;
	size_t			 refcap;	/* a power of two */
	struct store_undo	*undo;
	size_t			 nundo;
	size_t			 undocap;

	uint64_t		 last_ckp;	/* ms, store_poll's clock */
	uint64_t		 ckp_written;	/* log bytes at it */
	int			 dirty;		/* committed since */
	int			 ckp_failing;

	struct buf		 key;
	struct buf		 val;
	struct buf		 key2;
	struct store_stats	 stats;
};

/* The state, as the recovery walk gives it out. */
enum store_item_type {
	STORE_ITEM_MSG,
	STORE_ITEM_RETAIN,
	STORE_ITEM_SESSION,
	STORE_ITEM_SUB,
	STORE_ITEM_QUEUE,
	STORE_ITEM_INREL,
	STORE_ITEM_NTYPES
};

struct store_item {
	enum store_item_type	 type;
	uint64_t		 msgid;		/* MSG, RETAIN */
	uint64_t		 seq;		/* QUEUE */
	uint16_t		 pid;		/* INREL */
	struct rec_bytes	 cid;		/* SESSION SUB QUEUE INREL */
	struct rec_bytes	 name;		/* RETAIN: topic; SUB: filter */
	union {
		struct rec_msg		 msg;
		struct rec_retain	 retain;
		struct rec_session	 session;
		struct rec_sub		 sub;
		struct rec_queue	 queue;
	} u;
};

/* Return -1 to stop the walk. */
typedef int	(*store_walk_fn)(const struct store_item *, void *);

struct store_walk {
	struct store		*s;
	enum store_item_type	 type;		/* where the walk is */
	int			 started;	/* a key in last */
	struct buf		 last;
	DBT			 k;
	DBT			 v;
	uint64_t		 items[STORE_ITEM_NTYPES];
};

void	 store_conf_defaults(struct store_conf *);
struct store *store_open(const char *, const struct store_conf *,
	    store_commit_fn, void *, struct store_error *);
void	 store_close(struct store *);

int	 store_msg_put(struct store *, uint64_t, const struct rec_msg *);
int	 store_retain_set(struct store *, const void *, size_t, uint64_t);
int	 store_retain_clear(struct store *, const void *, size_t);
int	 store_session_put(struct store *, const void *, size_t,
	    const struct rec_session *);
int	 store_session_del(struct store *, const void *, size_t);
int	 store_sub_put(struct store *, const void *, size_t, const void *,
	    size_t, const struct rec_sub *);
int	 store_sub_del(struct store *, const void *, size_t, const void *,
	    size_t);
int	 store_queue_put(struct store *, const void *, size_t, uint64_t,
	    const struct rec_queue *);
int	 store_queue_state(struct store *, const void *, size_t, uint64_t,
	    uint8_t, uint16_t);
int	 store_queue_del(struct store *, const void *, size_t, uint64_t);
int	 store_inrel_put(struct store *, const void *, size_t, uint16_t);
int	 store_inrel_del(struct store *, const void *, size_t, uint16_t);

uint64_t store_batch(const struct store *);
int	 store_flush(struct store *);
int	 store_poll(struct store *, uint64_t);
const struct store_error *store_batch_error(const struct store *);

void	 store_walk_init(struct store_walk *, struct store *);
int	 store_walk_next(struct store_walk *, size_t, store_walk_fn, void *,
	    struct store_error *);
void	 store_walk_done(struct store_walk *);

int	 store_disk_usage(struct store *, struct sdb_logstat *,
	    uint64_t *, struct store_error *);

#endif /* BROKERD_STORAGED_H */
