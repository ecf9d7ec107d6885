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
 * storebench: what group commit buys, on this disk, without the broker.
 * The load is the one a QoS 1 publish to a persistent subscriber makes:
 * store the message, enqueue it for the session, and when the
 * subscriber acknowledges it (here: a fixed number of messages later),
 * delete the entry and with it the message.  Batches of B messages are
 * committed as storaged commits them; for each B it prints messages per
 * second, log flushes (fsyncs) per second, messages per fsync and the
 * mean and worst commit.
 *
 *	storebench [-w] [-c cache KiB] [-d dir] [-l log buffer KiB]
 *	    [-n messages] [-s payload] [B ...]
 *	storebench -R queued [-s payload] [-d dir]
 *
 * -R: the start-up instead: a store with `queued' messages queued for
 * sessions of 1000 each and a tenth as many retained, then the time to
 * open it (recovery and the check of every record) and to walk it all
 * out in chunks of 64 KiB, as the engine will be sent it.
 *
 * -w: nosync (the log written, not flushed).  The directory (default: a
 * new one under /var/tmp, removed after) must be on the disk to measure.
 *
 * Not every fsync is a commit's: Berkeley DB also flushes the log when a
 * deletion frees the last page of a database file (it truncates the file,
 * which cannot be undone), at each new log file and at checkpoints.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "storaged.h"

#define ACK_LAG		200	/* messages between enqueue and ack */

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static unsigned int	 logbuf, cache;

/* A store, and the records every message of the load is made of. */
static struct store *
bench_open(const char *dir, enum store_durability d, struct rec_session *rs,
    struct rec_msg *m, struct rec_queue *q, unsigned int paylen)
{
	struct store_conf	 conf;
	struct store_error	 e;
	struct store		*s;
	uint8_t			*pay;

	store_conf_defaults(&conf);
	conf.durability = d;
	conf.batch_ops = UINT32_MAX;
	if (logbuf != 0)
		conf.log_buffer_kb = logbuf;
	if (cache != 0)
		conf.cache_kb = cache;
	if ((s = store_open(dir, &conf, NULL, NULL, &e)) == NULL)
		errx(1, "%s", e.msg);
	if ((pay = malloc(paylen + 1)) == NULL)
		err(1, NULL);
	memset(pay, 'x', paylen);
	memset(rs, 0, sizeof(*rs));
	rs->version = 5;
	rs->expiry = REC_EXPIRY_NEVER;
	memset(m, 0, sizeof(*m));
	m->qos = 1;
	m->topic.p = (const uint8_t *)"bench/topic";
	m->topic.len = 11;
	m->payload.p = pay;
	m->payload.len = paylen;
	memset(q, 0, sizeof(*q));
	q->qos = 1;
	return s;
}

static void
run(const char *dir, enum store_durability d, unsigned int batch,
    unsigned int n, unsigned int paylen)
{
	struct store_error	 e;
	struct sdb_logstat	 l0, l1;
	struct rec_session	 rs;
	struct rec_queue	 q;
	struct rec_msg		 m;
	struct store		*s;
	uint64_t		 id, t0, t1, db;
	double			 secs, fsyncs;

	s = bench_open(dir, d, &rs, &m, &q, paylen);
	if (store_session_put(s, "bench", 5, &rs) == -1 ||
	    store_flush(s) == -1)
		errx(1, "session");

	if (store_disk_usage(s, &l0, &db, &e) == -1)
		errx(1, "%s", e.msg);
	t0 = now_us();
	for (id = 1; id <= n; id++) {
		q.msgid = id;
		if (store_msg_put(s, id, &m) == -1 ||
		    store_queue_put(s, "bench", 5, id, &q) == -1)
			errx(1, "%s", store_batch_error(s)->msg);
		if (id > ACK_LAG && store_queue_del(s, "bench", 5,
		    id - ACK_LAG) == -1)
			errx(1, "%s", store_batch_error(s)->msg);
		if (id % batch == 0 || id == n) {
			if (store_flush(s) == -1)
				errx(1, "commit failed");
			store_poll(s, (now_us() - t0) / 1000 + 1);
		}
	}
	t1 = now_us();
	if (store_disk_usage(s, &l1, &db, &e) == -1)
		errx(1, "%s", e.msg);
	secs = (t1 - t0) / 1e6;
	fsyncs = (double)(l1.flushes - l0.flushes);
	printf("%-7s %6u %9.0f %9.0f %9.1f %8.2f %7llu %9llu %7llu\n",
	    d == STORE_SYNC ? "sync" : "nosync", batch, n / secs,
	    fsyncs / secs, fsyncs > 0 ? n / fsyncs : 0.0,
	    (double)s->stats.commit_ms / s->stats.batches,
	    (unsigned long long)s->stats.max_commit_ms,
	    (unsigned long long)s->stats.checkpoints,
	    (unsigned long long)(l1.written - l0.written) / n);
	free((void *)(uintptr_t)m.payload.p);
	store_close(s);
}

static int
count_item(const struct store_item *it, void *arg)
{
	uint64_t	*n = arg;

	(void)it;
	(*n)++;
	return 0;
}

static void
startup(const char *dir, unsigned int queued, unsigned int paylen)
{
	struct store_conf	 conf;
	struct store_error	 e;
	struct store_walk	 w;
	struct rec_session	 rs;
	struct rec_queue	 q;
	struct rec_msg		 m;
	struct store		*s;
	char			 cid[32], topic[32];
	uint64_t		 id = 1, t0, t1, t2, items = 0, chunks = 0, db;
	struct sdb_logstat	 ls;
	unsigned int		 i, nret = queued / 10;
	int			 n;

	s = bench_open(dir, STORE_NOSYNC, &rs, &m, &q, paylen);
	for (i = 0; i < queued + nret; i++, id++) {
		snprintf(topic, sizeof(topic), "bench/%u", i);
		m.topic.p = (const uint8_t *)topic;
		m.topic.len = strlen(topic);
		if (store_msg_put(s, id, &m) == -1)
			errx(1, "%s", store_batch_error(s)->msg);
		if (i < queued) {
			snprintf(cid, sizeof(cid), "client-%u", i / 1000);
			if (i % 1000 == 0 && store_session_put(s, cid,
			    strlen(cid), &rs) == -1)
				errx(1, "%s", store_batch_error(s)->msg);
			q.msgid = id;
			if (store_queue_put(s, cid, strlen(cid), id, &q) == -1)
				errx(1, "%s", store_batch_error(s)->msg);
		} else if (store_retain_set(s, topic, strlen(topic), id) == -1)
			errx(1, "%s", store_batch_error(s)->msg);
		if (i % 1000 == 999) {
			if (store_flush(s) == -1)
				errx(1, "commit failed");
			store_poll(s, id / 1000 + 1);
		}
	}
	store_close(s);
	free((void *)(uintptr_t)m.payload.p);

	store_conf_defaults(&conf);
	if (cache != 0)
		conf.cache_kb = cache;
	t0 = now_us();
	if ((s = store_open(dir, &conf, NULL, NULL, &e)) == NULL)
		errx(1, "%s", e.msg);
	t1 = now_us();
	store_walk_init(&w, s);
	while ((n = store_walk_next(&w, 65536, count_item, &items, &e)) == 1)
		chunks++;
	if (n == -1)
		errx(1, "%s", e.msg);
	store_walk_done(&w);
	t2 = now_us();
	if (store_disk_usage(s, &ls, &db, &e) == -1)
		errx(1, "%s", e.msg);
	printf("%u queued and %u retained messages of %u bytes, %llu MiB of "
	    "databases\n", queued, nret, paylen,
	    (unsigned long long)db / (1024 * 1024));
	printf("open (recovery, check): %.2f s; walk: %.2f s, %llu items in "
	    "%llu chunks\n", (t1 - t0) / 1e6, (t2 - t1) / 1e6,
	    (unsigned long long)items, (unsigned long long)chunks + 1);
	store_close(s);
}

int
main(int argc, char *argv[])
{
	static const unsigned int	 dflt[] = { 1, 8, 32, 128, 512 };
	enum store_durability		 d = STORE_SYNC;
	const char			*dir = NULL;
	char				 tmp[] = "/var/tmp/storebench.XXXXXX";
	const char			*errstr;
	unsigned int			 n = 20000, paylen = 1024, b;
	unsigned int			 queued = 0;
	int				 ch, i;

	while ((ch = getopt(argc, argv, "c:d:l:n:R:s:w")) != -1) {
		switch (ch) {
		case 'R':
			queued = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(1, "-R %s: %s", optarg, errstr);
			break;
		case 'c':
			cache = strtonum(optarg, 64, 1 << 22, &errstr);
			if (errstr != NULL)
				errx(1, "-c %s: %s", optarg, errstr);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'l':
			logbuf = strtonum(optarg, 16, 65536, &errstr);
			if (errstr != NULL)
				errx(1, "-l %s: %s", optarg, errstr);
			break;
		case 'n':
			n = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(1, "-n %s: %s", optarg, errstr);
			break;
		case 's':
			paylen = strtonum(optarg, 0, 1 << 20, &errstr);
			if (errstr != NULL)
				errx(1, "-s %s: %s", optarg, errstr);
			break;
		case 'w':
			d = STORE_NOSYNC;
			break;
		default:
			fprintf(stderr, "usage: storebench [-w] [-c cache KiB] "
			    "[-d dir] [-l log buffer KiB] [-n messages] "
			    "[-s payload] [batch ...]\n"
			    "       storebench -R queued [-s payload] "
			    "[-d dir]\n");
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	log_init(1, LOG_DAEMON);
	if (queued > 0) {
		if (dir == NULL && mkdtemp(tmp) == NULL)
			err(1, "mkdtemp");
		startup(dir != NULL ? dir : tmp, queued, paylen);
		if (dir == NULL)
			nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		return 0;
	}
	printf("%u messages of %u bytes, each stored, queued and acked\n",
	    n, paylen);
	printf("%-7s %6s %9s %9s %9s %8s %7s %9s %7s\n", "commit", "batch",
	    "msgs/s", "fsyncs/s", "msgs/fsync", "commit", "max ms",
	    "ckpts", "log B/msg");
	for (i = 0; i < (argc > 0 ? argc : (int)(sizeof(dflt) /
	    sizeof(dflt[0]))); i++) {
		if (argc > 0) {
			b = strtonum(argv[i], 1, 1000000, &errstr);
			if (errstr != NULL)
				errx(1, "batch %s: %s", argv[i], errstr);
		} else
			b = dflt[i];
		if (dir == NULL && mkdtemp(tmp) == NULL)
			err(1, "mkdtemp");
		run(dir != NULL ? dir : tmp, d, b, b == 1 && n > 2000 ?
		    2000 : n, paylen);
		if (dir == NULL) {
			nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			strlcpy(tmp, "/var/tmp/storebench.XXXXXX",
			    sizeof(tmp));
		}
	}
	return 0;
}
