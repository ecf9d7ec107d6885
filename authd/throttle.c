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
 * Failed logins counted per source address (the host, not the port; UNIX
 * sockets are not counted).  An IPv6 host is counted by its /64, the
 * least a site is given: one host may use every address of it, so
 * counting each alone would give it 2^64 windows.  A window opens at an address's first
 * failure and lasts `auth fail window' seconds; within it, each failure
 * after the first is answered later than the one before (THROTTLE_BASE
 * ms, doubling, at most THROTTLE_MAX), and after `auth fail limit'
 * failures the address's logins are refused without a verification,
 * answered THROTTLE_MAX late, until the window ends.  Verifications
 * under way count too once the address has failed: a flood gets no more
 * than the limit's worth of KDFs queued.  A success does not
 * reset the count: an attacker behind the same address as a user would
 * otherwise reset it too.  The table is bounded: when it is full the
 * oldest window goes.
 */

#include <sys/types.h>
#include <sys/param.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "event.h"
#include "log.h"
#include "compat.h"

#define THROTTLE_BASE		100		/* ms */
#define THROTTLE_MAX		1000		/* ms */
#define THROTTLE_ENTRIES	65536

struct throttle_ent {
	RB_ENTRY(throttle_ent)	 entry;
	TAILQ_ENTRY(throttle_ent) age;		/* oldest window first */
	char			 src[THROTTLE_SRC_MAX];
	uint32_t		 failures;
	uint32_t		 pending;	/* verifications under way */
	uint64_t		 start;		/* ev_now() */
};

static int
throttle_cmp(struct throttle_ent *a, struct throttle_ent *b)
{
	return strcmp(a->src, b->src);
}

RB_HEAD(throttle_tree, throttle_ent);
RB_GENERATE_STATIC(throttle_tree, throttle_ent, entry, throttle_cmp);

static struct throttle_tree	 table = RB_INITIALIZER(&table);
static TAILQ_HEAD(, throttle_ent) ages = TAILQ_HEAD_INITIALIZER(ages);
static size_t			 nents;
static uint32_t			 limit = 10;
static uint64_t			 window = 60 * 1000;	/* ms */

void
throttle_configure(const struct authd_conf *c)
{
	limit = c->fail_limit;
	window = (uint64_t)c->fail_window * 1000;
}

/*
 * An IPv6 host as what is counted: its /64 ("2001:db8:1:2::/64"), or
 * the IPv4 address an IPv4-mapped one carries; "" if it is not one.
 */
static void
throttle_source6(const char *host, char *src, size_t size)
{
	struct in6_addr	 a;
	char		 buf[INET6_ADDRSTRLEN];

	src[0] = '\0';
	if (inet_pton(AF_INET6, host, &a) != 1)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		if (inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof(buf)) !=
		    NULL)
			strlcpy(src, buf, size);
		return;
	}
	memset(&a.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a, buf, sizeof(buf)) != NULL &&
	    (size_t)snprintf(src, size, "%s/64", buf) >= size)
		src[0] = '\0';
}

/*
 * What is counted for an address as the engine writes it
 * ("192.0.2.1:5432", "[2001:db8::1]:5432"), or "" for one that is not
 * counted.
 */
void
throttle_source(const char *addr, size_t len, char *src, size_t size)
{
	const char	*end;
	char		 host[INET6_ADDRSTRLEN];
	size_t		 n;
	int		 v6;

	src[0] = '\0';
	if ((v6 = len > 0 && addr[0] == '[')) {
		if ((end = memchr(addr, ']', len)) == NULL)
			return;
		addr++;
	} else if ((end = memrchr(addr, ':', len)) == NULL)
		return;
	if ((n = end - addr) == 0 || n >= sizeof(host) || n >= size)
		return;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (v6)
		throttle_source6(host, src, size);
	else
		strlcpy(src, host, size);
}

static void
throttle_drop(struct throttle_ent *e)
{
	RB_REMOVE(throttle_tree, &table, e);
	TAILQ_REMOVE(&ages, e, age);
	nents--;
	free(e);
}

/* Windows that have ended go. */
static void
throttle_expire(void)
{
	struct throttle_ent	*e;
	uint64_t		 now = ev_now();

	while ((e = TAILQ_FIRST(&ages)) != NULL && now - e->start >= window)
		throttle_drop(e);
}

static struct throttle_ent *
throttle_find(const char *src)
{
	struct throttle_ent	 key;

	if (src[0] == '\0')
		return NULL;
	throttle_expire();
	memset(&key, 0, sizeof(key));
	strlcpy(key.src, src, sizeof(key.src));
	return RB_FIND(throttle_tree, &table, &key);
}

/*
 * Does the address get no more verifications in its window?  `mine': the
 * asker is one of the address's verifications under way.
 */
int
throttle_refused(const char *src, int mine)
{
	struct throttle_ent	*e;
	uint32_t		 others;

	if (limit == 0 || (e = throttle_find(src)) == NULL)
		return 0;
	others = e->pending - (mine && e->pending > 0);
	return e->failures >= limit ||
	    (e->failures > 0 && e->failures + others >= limit);
}

/* How late a refusal from the address is answered, in ms. */
uint64_t
throttle_delay(const char *src)
{
	struct throttle_ent	*e;

	if (limit == 0 || (e = throttle_find(src)) == NULL ||
	    e->failures < 2)
		return 0;
	if (e->failures >= limit || e->failures - 2 >= 5)
		return THROTTLE_MAX;
	return MIN(THROTTLE_BASE << (e->failures - 2), THROTTLE_MAX);
}

static struct throttle_ent *
throttle_get(const char *src)
{
	struct throttle_ent	*e;

	if ((e = throttle_find(src)) == NULL) {
		if (nents >= THROTTLE_ENTRIES)
			throttle_drop(TAILQ_FIRST(&ages));
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatal(NULL);
		strlcpy(e->src, src, sizeof(e->src));
		e->start = ev_now();
		RB_INSERT(throttle_tree, &table, e);
		TAILQ_INSERT_TAIL(&ages, e, age);
		nents++;
	}
	return e;
}

/* A verification for the address begins. */
void
throttle_start(const char *src)
{
	struct throttle_ent	*e;

	if (limit == 0 || src[0] == '\0')
		return;
	e = throttle_get(src);
	if (e->pending < UINT32_MAX)
		e->pending++;
}

/* It ended (throttle_start), or a login failed without one. */
void
throttle_done(const char *src, int started, int failed)
{
	struct throttle_ent	*e;

	if (limit == 0 || src[0] == '\0')
		return;
	if ((e = throttle_find(src)) == NULL) {
		if (!failed)
			return;
		e = throttle_get(src);
	}
	if (started && e->pending > 0)
		e->pending--;
	if (!failed)
		return;
	if (e->failures < UINT32_MAX)
		e->failures++;
	if (e->failures == limit)
		log_info("%s: %u failed logins; refusing its logins for %llu s",
		    src, limit, (unsigned long long)(window / 1000));
}

/* Addresses refused now. */
uint64_t
throttle_count(void)
{
	struct throttle_ent	*e;
	uint64_t		 n = 0;

	if (limit == 0)
		return 0;
	throttle_expire();
	TAILQ_FOREACH(e, &ages, age)
		if (e->failures >= limit)
			n++;
	return n;
}
