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
 * The Berkeley DB environment in the data directory (storaged's chroot,
 * so `dir' is "/" in production and a temporary directory in the tests).
 *
 * One process owns it: the regions are private (DB_PRIVATE, in the heap:
 * no region files, no shared memory, nothing mapped from files), and a
 * flock on storaged.lock keeps a second storaged out.  Every open runs
 * normal recovery (DB_RECOVER).  Pages are 4 KiB, the file system's
 * block, so that a page is written whole, and carry checksums (DB_CHKSUM)
 * so that one that is not is found.  Files are created 0600 (log files
 * take the environment's mode).
 *
 * Berkeley DB's recovery takes the first log record it cannot read for
 * the end of the log, as a crash in the middle of a write leaves it; so
 * damage inside the log would silently drop every transaction after it.
 * db_log_check looks first: the log files must be numbered without a
 * gap and whole (Berkeley DB sizes a new file at once), and no bytes may
 * follow the last readable record beyond what one torn write leaves.
 *
 * Disk use: log files of log_file_kb each are removed once a checkpoint
 * no longer needs them (db_checkpoint).  store.c checkpoints after every
 * checkpoint_kb of log and every checkpoint_secs, between batches, when
 * no transaction is open; so the log on disk stays below
 *	(ceil((checkpoint_kb + B) / log_file_kb) + 1) * log_file_kb
 * where B is the log one batch writes (a batch closes at batch_kb of
 * records; a record is logged when put and again when deleted, about
 * three times its size in all).  With the defaults (10 MiB files, a
 * checkpoint every 16 MiB, batches of 4 MiB) that is 40 MiB.  The
 * database files hold the live state and keep their high-water mark:
 * Berkeley DB reuses freed pages but does not give them back to the file
 * system.  A message of about 1 KiB or more is kept on overflow pages of
 * its own: one of 1 KiB takes a 4 KiB page.
 */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <db.h>

#include "log.h"
#include "storaged.h"

#define SDB_PAGESIZE	4096
#define SDB_LOCKFILE	"storaged.lock"
#define SDB_ENV_FLAGS	(DB_CREATE | DB_INIT_TXN | DB_INIT_LOG | \
			 DB_INIT_LOCK | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE)

const char *const sdb_files[SDB_N] = {
	[SDB_META] = "meta.db",
	[SDB_MSG] = "msg.db",
	[SDB_RETAIN] = "retain.db",
	[SDB_SESSION] = "session.db",
	[SDB_SUB] = "sub.db",
	[SDB_QUEUE] = "queue.db",
	[SDB_INREL] = "inrel.db",
};

static const char	 meta_key[] = "format";

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct sdb	*sdb = env->app_private;

	(void)pfx;
	/* The first message is the cause; what follows is consequences. */
	if (sdb != NULL && sdb->bdbmsg[0] == '\0')
		strlcpy(sdb->bdbmsg, msg, sizeof(sdb->bdbmsg));
	log_warnx("Berkeley DB: %s", msg);
}

static void
db_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_debug("Berkeley DB: %s", msg);
}

static void
db_event(DB_ENV *env, u_int32_t event, void *info)
{
	struct sdb	*sdb = env->app_private;

	(void)info;
	if (event == DB_EVENT_PANIC && sdb != NULL)
		sdb->panicked = 1;
}

void
db_seterr(struct store_error *e, enum store_ekind kind, int errnum,
    const char *file, const char *fmt, ...)
{
	va_list	 ap;

	e->kind = kind;
	e->errnum = errnum;
	strlcpy(e->file, file != NULL ? file : "", sizeof(e->file));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/*
 * Classify what Berkeley DB returned.  `id' names the database file the
 * operation was on, or SDB_N for the environment.
 */
int
db_error(struct sdb *sdb, struct store_error *e, int ret, enum sdb_id id,
    const char *what)
{
	enum store_ekind	 kind;
	const char		*file = id < SDB_N ? sdb_files[id] : NULL;

	switch (ret) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		kind = STORE_E_NOSPACE;
		break;
	case DB_PAGE_NOTFOUND:
	case DB_VERIFY_BAD:
	case DB_CHKSUM_FAIL:
		kind = STORE_E_DAMAGED;
		break;
	case DB_RUNRECOVERY:
	case EIO:
		kind = STORE_E_FATAL;
		break;
	default:
		kind = sdb->panicked ? STORE_E_FATAL : STORE_E_SYSTEM;
		break;
	}
	/*
	 * A write that failed for want of space can panic the environment
	 * (a page flushed at commit or close); Berkeley DB's message says.
	 */
	if (kind == STORE_E_FATAL && (strstr(sdb->bdbmsg, strerror(ENOSPC)) !=
	    NULL || strstr(sdb->bdbmsg, strerror(EDQUOT)) != NULL))
		kind = STORE_E_NOSPACE;
	db_seterr(e, kind, ret, file, "%s%s%s: %s%s%s", file != NULL ? file :
	    "", file != NULL ? ": " : "", what, db_strerror(ret),
	    sdb->bdbmsg[0] != '\0' ? ": " : "", sdb->bdbmsg);
	sdb->bdbmsg[0] = '\0';
	return -1;
}

static int
db_path(const struct sdb *sdb, const char *name, char *path, size_t len)
{
	int	 n;

	n = snprintf(path, len, "%s/%s", sdb->dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* One storaged per directory: the environment's regions are private. */
static int
db_lock(struct sdb *sdb, struct store_error *e)
{
	char	 path[PATH_MAX];

	if (db_path(sdb, SDB_LOCKFILE, path, sizeof(path)) == -1) {
		db_seterr(e, STORE_E_SYSTEM, ENAMETOOLONG, NULL,
		    "%s: path too long", sdb->dir);
		return -1;
	}
	if ((sdb->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		db_seterr(e, STORE_E_SYSTEM, errno, SDB_LOCKFILE, "%s: %s",
		    path, strerror(errno));
		return -1;
	}
	if (flock(sdb->lockfd, LOCK_EX | LOCK_NB) == -1) {
		db_seterr(e, errno == EWOULDBLOCK ? STORE_E_BUSY :
		    STORE_E_SYSTEM, errno, SDB_LOCKFILE, "%s: %s", path,
		    errno == EWOULDBLOCK ? "the data directory is in use by "
		    "another storaged" : strerror(errno));
		return -1;
	}
	return 0;
}

#define LOG_HDR		28	/* a log record's header (no encryption) */

struct logfile {
	uint32_t	 num;
	off_t		 size;
};

static int
logfile_cmp(const void *a, const void *b)
{
	const struct logfile	*x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static void
logname(struct store_error *e, uint32_t num)
{
	char	 name[sizeof(e->file)];

	snprintf(name, sizeof(name), "log.%010u", num);
	strlcpy(e->file, name, sizeof(e->file));
}

/* The log files in the directory, in order. */
static int
db_log_files(struct sdb *sdb, struct logfile **out, size_t *n,
    struct store_error *e)
{
	struct logfile	*lf = NULL, *p;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	const char	*errstr;
	char		 path[PATH_MAX];
	size_t		 cap = 0;

	*n = 0;
	if ((d = opendir(sdb->dir)) == NULL) {
		db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s", sdb->dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "log.", 4) != 0 ||
		    strlen(de->d_name) != 14)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((p = reallocarray(lf, cap, sizeof(*lf))) == NULL) {
				db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL,
				    "out of memory");
				goto fail;
			}
			lf = p;
		}
		lf[*n].num = strtonum(de->d_name + 4, 1, UINT32_MAX, &errstr);
		if (errstr != NULL)
			continue;
		if (db_path(sdb, de->d_name, path, sizeof(path)) == -1 ||
		    stat(path, &st) == -1) {
			db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s",
			    de->d_name, strerror(errno));
			goto fail;
		}
		lf[*n].size = st.st_size;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(lf, *n, sizeof(*lf), logfile_cmp);
	*out = lf;
	return 0;
fail:
	closedir(d);
	free(lf);
	return -1;
}

/* Whether the log file has a byte other than zero at `from' or after. */
static int
db_log_tail(struct sdb *sdb, uint32_t num, off_t from, off_t *where,
    struct store_error *e)
{
	char	 name[16], path[PATH_MAX];
	uint8_t	 b[65536];
	ssize_t	 n, i;
	int	 fd;

	snprintf(name, sizeof(name), "log.%010u", num);
	if (db_path(sdb, name, path, sizeof(path)) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s", name,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		if ((n = pread(fd, b, sizeof(b), from)) == -1) {
			db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s",
			    name, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			if (b[i] != 0) {
				*where = from + i;
				close(fd);
				return 1;
			}
		from += n;
	}
	close(fd);
	return 0;
}

static int
db_log_check(struct sdb *sdb, const struct store_conf *conf,
    struct store_error *e)
{
	struct logfile	*lf = NULL;
	DB_ENV		*env = NULL;
	DB_LOGC		*lc = NULL;
	DB_LSN		 lsn, last = { 0, 0 };
	DBT		 d;
	off_t		 end, slack, where, full;
	size_t		 n, i;
	uint32_t	 lastsize = 0;
	int		 ret, rc = -1;

	if (db_log_files(sdb, &lf, &n, e) == -1)
		return -1;
	if (n == 0)
		return 0;
	full = (off_t)conf->log_file_kb * 1024 - 1;
	for (i = 0; i < n; i++) {
		if (i > 0 && lf[i].num != lf[i - 1].num + 1) {
			logname(e, lf[i - 1].num + 1);
			db_seterr(e, STORE_E_DAMAGED, 0, e->file,
			    "log.%010u missing (log.%010u and log.%010u exist)",
			    lf[i - 1].num + 1, lf[i - 1].num, lf[i].num);
			goto done;
		}
		/* Empty only if created by a crash that allowed no more. */
		if (lf[i].size < full && !(lf[i].size == 0 && i == n - 1)) {
			logname(e, lf[i].num);
			db_seterr(e, STORE_E_DAMAGED, 0, e->file,
			    "log.%010u truncated: %lld bytes, a log file has "
			    "%lld", lf[i].num, (long long)lf[i].size,
			    (long long)full);
			goto done;
		}
	}

	/* Read every record, as recovery will. */
	if ((ret = db_env_create(&env, 0)) != 0) {
		db_error(sdb, e, ret, SDB_N, "db_env_create");
		goto done;
	}
	env->app_private = sdb;
	env->set_errcall(env, db_errcall);
	env->set_msgcall(env, db_msgcall);
	if ((ret = env->set_lg_bsize(env, conf->log_buffer_kb * 1024)) != 0 ||
	    (ret = env->set_lg_max(env, conf->log_file_kb * 1024)) != 0 ||
	    (ret = env->mutex_set_tas_spins(env, 1)) != 0 ||
	    (ret = env->open(env, sdb->dir, DB_CREATE | DB_INIT_LOG |
	    DB_PRIVATE, 0600)) != 0 ||
	    (ret = env->log_cursor(env, &lc, 0)) != 0) {
		db_error(sdb, e, ret, SDB_N, "reading the log");
		e->kind = STORE_E_DAMAGED;
		strlcpy(e->file, "log.*", sizeof(e->file));
		goto done;
	}
	memset(&d, 0, sizeof(d));
	while ((ret = lc->get(lc, &lsn, &d, DB_NEXT)) == 0) {
		last = lsn;
		lastsize = d.size;
	}
	if (ret != DB_NOTFOUND) {
		db_error(sdb, e, ret, SDB_N, "reading the log");
		e->kind = STORE_E_DAMAGED;
		strlcpy(e->file, "log.*", sizeof(e->file));
		goto done;
	}

	/* After the last record: at most what one torn write leaves. */
	slack = (off_t)conf->log_buffer_kb * 1024 + 4096;
	for (i = 0; i < n; i++) {
		if (lf[i].num < last.file)
			continue;
		end = lf[i].num == last.file ? (off_t)last.offset + LOG_HDR +
		    lastsize : 0;
		if ((ret = db_log_tail(sdb, lf[i].num, end + slack, &where,
		    e)) == -1)
			goto done;
		if (ret == 1) {
			logname(e, lf[i].num);
			db_seterr(e, STORE_E_DAMAGED, 0, e->file,
			    "log.%010u: the log cannot be read after "
			    "log.%010u offset %u, but has more at offset %lld: "
			    "recovery would drop committed transactions",
			    lf[i].num, last.file, last.offset,
			    (long long)where);
			goto done;
		}
	}
	rc = 0;
done:
	if (lc != NULL)
		lc->close(lc, 0);
	if (env != NULL)
		env->close(env, 0);
	free(lf);
	return rc;
}

static int
db_env_open(struct sdb *sdb, const struct store_conf *conf,
    struct store_error *e)
{
	DB_ENV	*env;
	int	 ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		return db_error(sdb, e, ret, SDB_N, "db_env_create");
	sdb->env = env;
	env->app_private = sdb;
	env->set_errcall(env, db_errcall);
	env->set_msgcall(env, db_msgcall);
	if ((ret = env->set_event_notify(env, db_event)) != 0 ||
	    (ret = env->set_cachesize(env, conf->cache_kb / (1024 * 1024),
	    conf->cache_kb % (1024 * 1024) * 1024, 1)) != 0 ||
	    (ret = env->set_lg_bsize(env, conf->log_buffer_kb * 1024)) != 0 ||
	    (ret = env->set_lg_max(env, conf->log_file_kb * 1024)) != 0 ||
	    (ret = env->set_lk_max_locks(env, conf->max_locks)) != 0 ||
	    (ret = env->set_lk_max_objects(env, conf->max_locks)) != 0 ||
	    (ret = env->set_flags(env, DB_NOMMAP, 1)) != 0 ||
	    (ret = env->mutex_set_tas_spins(env, 1)) != 0 ||
	    /* It wants one to exist; there is no /tmp in the chroot. */
	    (ret = env->set_tmp_dir(env, sdb->dir)) != 0)
		return db_error(sdb, e, ret, SDB_N, "configuring the "
		    "environment");
	if ((ret = env->open(env, sdb->dir, SDB_ENV_FLAGS, 0600)) != 0) {
		db_error(sdb, e, ret, SDB_N, "opening the environment "
		    "(recovery from the log files log.*)");
		/* A log that recovery cannot apply is damage. */
		if (e->kind == STORE_E_FATAL || ret == EINVAL ||
		    ret == DB_CHKSUM_FAIL) {
			e->kind = STORE_E_DAMAGED;
			strlcpy(e->file, "log.*", sizeof(e->file));
		}
		return -1;
	}
	return 0;
}

static int
db_open_one(struct sdb *sdb, DB_TXN *txn, enum sdb_id id, int create,
    struct store_error *e)
{
	DB	*db;
	int	 ret;

	if ((ret = db_create(&db, sdb->env, 0)) != 0)
		return db_error(sdb, e, ret, id, "db_create");
	sdb->db[id] = db;
	if ((ret = db->set_flags(db, DB_CHKSUM)) != 0 ||
	    (ret = db->set_pagesize(db, SDB_PAGESIZE)) != 0)
		return db_error(sdb, e, ret, id, "configuring");
	/* Without a transaction, DB_AUTO_COMMIT makes it transactional. */
	ret = db->open(db, txn, sdb_files[id], NULL, DB_BTREE,
	    create ? DB_CREATE | DB_EXCL : DB_AUTO_COMMIT, 0600);
	if (ret != 0) {
		db_error(sdb, e, ret, id, "opening");
		/* Not a Berkeley DB file, or not the one it was. */
		if (ret == EINVAL || ret == DB_CHKSUM_FAIL ||
		    e->kind == STORE_E_FATAL)
			e->kind = STORE_E_DAMAGED;
		return -1;
	}
	return 0;
}

static int
db_exists(const struct sdb *sdb, const char *name, struct store_error *e)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	if (db_path(sdb, name, path, sizeof(path)) == -1) {
		db_seterr(e, STORE_E_SYSTEM, ENAMETOOLONG, name,
		    "%s: path too long", name);
		return -1;
	}
	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	db_seterr(e, STORE_E_SYSTEM, errno, name, "%s: %s", path,
	    strerror(errno));
	return -1;
}

/* A new store: every database and the format record, in one txn. */
static int
db_create_all(struct sdb *sdb, struct store_error *e)
{
	struct rec_meta	 meta;
	struct buf	 k, v;
	struct timespec	 ts;
	DB_TXN		*txn;
	int		 i, rc = -1;

	buf_init(&k, 0);
	buf_init(&v, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	meta.format = REC_FORMAT;
	meta.created = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (buf_add(&k, meta_key, strlen(meta_key)) == -1 ||
	    rec_enc_meta(&v, &meta) == -1) {
		db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL, "out of memory");
		goto done;
	}
	if (db_begin(sdb, &txn, e) == -1)
		goto done;
	for (i = 0; i < SDB_N; i++)
		if (db_open_one(sdb, txn, i, 1, e) == -1)
			goto abort;
	if (db_put(sdb, txn, SDB_META, &k, &v, 1, e) != 0)
		goto abort;
	rc = db_commit(sdb, txn, STORE_SYNC, e);
	goto done;
abort:
	db_abort(sdb, txn);
done:
	buf_free(&k);
	buf_free(&v);
	return rc;
}

static int
db_check_format(struct sdb *sdb, struct store_error *e)
{
	struct rec_meta	 meta;
	struct rec_err	 re;
	struct buf	 k, v;
	int		 rc = -1;

	buf_init(&k, 0);
	buf_init(&v, 0);
	if (buf_add(&k, meta_key, strlen(meta_key)) == -1) {
		db_seterr(e, STORE_E_SYSTEM, ENOMEM, NULL, "out of memory");
		goto done;
	}
	switch (db_get(sdb, NULL, SDB_META, &k, &v, e)) {
	case 0:
		break;
	case 1:
		db_seterr(e, STORE_E_DAMAGED, 0, sdb_files[SDB_META],
		    "%s: no format record", sdb_files[SDB_META]);
		/* FALLTHROUGH */
	default:
		goto done;
	}
	if (rec_dec_meta(buf_ptr(&v), buf_len(&v), &meta, &re) == -1) {
		db_seterr(e, STORE_E_DAMAGED, 0, sdb_files[SDB_META],
		    "%s: %s", sdb_files[SDB_META], re.why);
		goto done;
	}
	if (meta.format > REC_FORMAT) {
		db_seterr(e, STORE_E_FORMAT, 0, sdb_files[SDB_META],
		    "%s: format %u is newer than this storaged's (%u)",
		    sdb_files[SDB_META], meta.format, REC_FORMAT);
		goto done;
	}
	rc = 0;
done:
	buf_free(&k);
	buf_free(&v);
	return rc;
}

int
db_open(struct sdb *sdb, const char *dir, const struct store_conf *conf,
    struct store_error *e)
{
	int	 i, n, have = 0, missing = -1;

	memset(sdb, 0, sizeof(*sdb));
	sdb->lockfd = -1;
	sdb->log_file_kb = conf->log_file_kb;
	memset(e, 0, sizeof(*e));
	if (strlcpy(sdb->dir, dir, sizeof(sdb->dir)) >= sizeof(sdb->dir)) {
		db_seterr(e, STORE_E_SYSTEM, ENAMETOOLONG, NULL,
		    "%s: path too long", dir);
		return -1;
	}
	if (db_lock(sdb, e) == -1)
		goto fail;
	if (db_log_check(sdb, conf, e) == -1)
		goto fail;
	if (db_env_open(sdb, conf, e) == -1)
		goto fail;
	for (i = 0; i < SDB_N; i++) {
		if ((n = db_exists(sdb, sdb_files[i], e)) == -1)
			goto fail;
		if (n)
			have++;
		else if (missing == -1)
			missing = i;
	}
	if (have == 0) {
		if (db_create_all(sdb, e) == -1)
			goto fail;
		log_info("created a new store in %s", dir);
		return 0;
	}
	if (have < SDB_N) {
		db_seterr(e, STORE_E_DAMAGED, ENOENT, sdb_files[missing],
		    "%s: missing, but other database files exist",
		    sdb_files[missing]);
		goto fail;
	}
	for (i = 0; i < SDB_N; i++)
		if (db_open_one(sdb, NULL, i, 0, e) == -1)
			goto fail;
	if (db_check_format(sdb, e) == -1)
		goto fail;
	return 0;
fail:
	db_close(sdb);
	return -1;
}

void
db_close(struct sdb *sdb)
{
	int	 i;

	/*
	 * After a panic Berkeley DB refuses to close, and would keep the
	 * regions' memory: let it free them (nothing is written: the
	 * environment is private and its pages are not flushed at close).
	 */
	if (sdb->panicked && sdb->env != NULL)
		sdb->env->set_flags(sdb->env, DB_NOPANIC, 1);
	for (i = 0; i < SDB_N; i++)
		if (sdb->db[i] != NULL) {
			sdb->db[i]->close(sdb->db[i], 0);
			sdb->db[i] = NULL;
		}
	if (sdb->env != NULL) {
		sdb->env->close(sdb->env, 0);
		sdb->env = NULL;
	}
	if (sdb->lockfd != -1) {
		close(sdb->lockfd);
		sdb->lockfd = -1;
	}
}

static int
db_ours(const char *name)
{
	int	 i;

	for (i = 0; i < SDB_N; i++)
		if (strcmp(name, sdb_files[i]) == 0)
			return 1;
	/* Log files, and what a creation that never committed left. */
	return strncmp(name, "log.", 4) == 0 || strncmp(name, "__db", 4) == 0;
}

/*
 * Move the store's files (the databases and the log) into a new
 * directory "damaged-<UTC time>" beside them, so that an empty store can
 * start and nothing is lost: the operator can inspect them with
 * db_verify and db_dump.  The directory's name goes into `where'.
 */
int
db_move_aside(const char *dir, char *where, size_t wlen,
    struct store_error *e)
{
	struct tm	 tm;
	struct dirent	*de;
	DIR		*d;
	time_t		 now = time(NULL);
	char		 name[64], from[PATH_MAX], to[PATH_MAX];
	size_t		 base;
	int		 i, n;

	gmtime_r(&now, &tm);
	base = strftime(name, sizeof(name), "damaged-%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		if (i > 0)
			snprintf(name + base, sizeof(name) - base, "-%d", i);
		n = snprintf(to, sizeof(to), "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= sizeof(to)) {
			db_seterr(e, STORE_E_SYSTEM, ENAMETOOLONG, NULL,
			    "%s: path too long", dir);
			return -1;
		}
		if (mkdirat(AT_FDCWD, to, 0700) == 0)
			break;
		if (errno != EEXIST) {
			db_seterr(e, STORE_E_SYSTEM, errno, NULL, "mkdir %s: %s",
			    to, strerror(errno));
			return -1;
		}
	}
	if (i == 100) {
		db_seterr(e, STORE_E_SYSTEM, EEXIST, NULL,
		    "%s: too many damaged-* directories", dir);
		return -1;
	}
	strlcpy(where, name, wlen);
	if ((d = opendir(dir)) == NULL) {
		db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!db_ours(de->d_name))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s/%s/%s", dir, name, de->d_name);
		if (renameat(AT_FDCWD, from, AT_FDCWD, to) == -1) {
			db_seterr(e, STORE_E_SYSTEM, errno, de->d_name,
			    "rename %s to %s: %s", from, to, strerror(errno));
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int
db_begin(struct sdb *sdb, DB_TXN **txn, struct store_error *e)
{
	int	 ret;

	if ((ret = sdb->env->txn_begin(sdb->env, NULL, txn, 0)) != 0)
		return db_error(sdb, e, ret, SDB_N, "beginning a transaction");
	return 0;
}

int
db_commit(struct sdb *sdb, DB_TXN *txn, enum store_durability d,
    struct store_error *e)
{
	int	 ret;

	ret = txn->commit(txn, d == STORE_SYNC ? DB_TXN_SYNC :
	    DB_TXN_WRITE_NOSYNC);
	if (ret != 0)
		return db_error(sdb, e, ret, SDB_N, "commit");
	return 0;
}

void
db_abort(struct sdb *sdb, DB_TXN *txn)
{
	int	 ret;

	if ((ret = txn->abort(txn)) != 0) {
		/* The environment is unusable: storaged must restart. */
		sdb->panicked = 1;
		log_warnx("Berkeley DB: abort: %s", db_strerror(ret));
	}
}

static void
db_dbt(DBT *d, const struct buf *b)
{
	memset(d, 0, sizeof(*d));
	d->data = buf_ptr(b);
	d->size = buf_len(b);
}

/* 0: found, into `val'; 1: not there; -1: error. */
int
db_get(struct sdb *sdb, DB_TXN *txn, enum sdb_id id, const struct buf *key,
    struct buf *val, struct store_error *e)
{
	DBT	 k, v;
	void	*p;
	size_t	 want = 256;
	int	 ret;

	db_dbt(&k, key);
	val->rpos = val->wpos = 0;
	for (;;) {
		if ((p = buf_reserve(val, want)) == NULL) {
			db_seterr(e, STORE_E_SYSTEM, ENOMEM, sdb_files[id],
			    "out of memory for a record of %zu bytes", want);
			return -1;
		}
		memset(&v, 0, sizeof(v));
		v.data = p;
		v.ulen = val->size - val->wpos;
		v.flags = DB_DBT_USERMEM;
		ret = sdb->db[id]->get(sdb->db[id], txn, &k, &v, 0);
		if (ret != DB_BUFFER_SMALL)
			break;
		want = v.size;
	}
	if (ret == DB_NOTFOUND)
		return 1;
	if (ret != 0)
		return db_error(sdb, e, ret, id, "get");
	buf_commit(val, v.size);
	return 0;
}

/* 0: written; 1: `excl' and the key exists; -1: error. */
int
db_put(struct sdb *sdb, DB_TXN *txn, enum sdb_id id, const struct buf *key,
    const struct buf *val, int excl, struct store_error *e)
{
	DBT	 k, v;
	int	 ret;

	db_dbt(&k, key);
	db_dbt(&v, val);
	ret = sdb->db[id]->put(sdb->db[id], txn, &k, &v,
	    excl ? DB_NOOVERWRITE : 0);
	if (ret == DB_KEYEXIST)
		return 1;
	if (ret != 0)
		return db_error(sdb, e, ret, id, "put");
	return 0;
}

/* 0: deleted; 1: not there; -1: error. */
int
db_del(struct sdb *sdb, DB_TXN *txn, enum sdb_id id, const struct buf *key,
    struct store_error *e)
{
	DBT	 k;
	int	 ret;

	db_dbt(&k, key);
	ret = sdb->db[id]->del(sdb->db[id], txn, &k, 0);
	if (ret == DB_NOTFOUND)
		return 1;
	if (ret != 0)
		return db_error(sdb, e, ret, id, "delete");
	return 0;
}

/*
 * A checkpoint (dirty pages written and synced, a checkpoint record in
 * the log), then the removal of the log files recovery no longer needs.
 */
int
db_checkpoint(struct sdb *sdb, uint32_t kb, int force, uint32_t *removed,
    struct store_error *e)
{
	char	**list = NULL, **p;
	int	 ret;

	*removed = 0;
	if ((ret = sdb->env->txn_checkpoint(sdb->env, kb, 0,
	    force ? DB_FORCE : 0)) != 0)
		return db_error(sdb, e, ret, SDB_N, "checkpoint");
	if ((ret = sdb->env->log_archive(sdb->env, &list, 0)) != 0)
		return db_error(sdb, e, ret, SDB_N, "listing old log files");
	if (list == NULL)
		return 0;
	for (p = list; *p != NULL; p++)
		(*removed)++;
	free(list);
	if ((ret = sdb->env->log_archive(sdb->env, NULL, DB_ARCH_REMOVE)) != 0)
		return db_error(sdb, e, ret, SDB_N, "removing old log files");
	return 0;
}

/* The log's counters, and with `files' the log files on disk. */
int
db_logstat(struct sdb *sdb, struct sdb_logstat *ls, int files,
    struct store_error *e)
{
	DB_LOG_STAT	*sp;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[PATH_MAX];
	int		 ret;

	memset(ls, 0, sizeof(*ls));
	if ((ret = sdb->env->log_stat(sdb->env, &sp, 0)) != 0)
		return db_error(sdb, e, ret, SDB_N, "log statistics");
	ls->flushes = sp->st_scount;
	ls->written = (uint64_t)sp->st_w_mbytes * 1024 * 1024 +
	    sp->st_w_bytes;
	ls->cur_file = sp->st_cur_file;
	free(sp);
	if (!files)
		return 0;
	if ((d = opendir(sdb->dir)) == NULL) {
		db_seterr(e, STORE_E_SYSTEM, errno, NULL, "%s: %s", sdb->dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "log.", 4) != 0 ||
		    db_path(sdb, de->d_name, path, sizeof(path)) == -1 ||
		    stat(path, &st) == -1)
			continue;
		ls->files++;
		ls->disk += st.st_size;
	}
	closedir(d);
	return 0;
}
