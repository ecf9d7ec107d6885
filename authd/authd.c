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
 * authd: holds the password hashes and ACL rules and answers the engine's
 * questions about them.  Chrooted, its own user, no file system, no
 * network: the parent sends the files' contents (IPC_AUTH_FILE) and the
 * listeners, and a commit makes them replace the running set at once;
 * until then the old set answers.  The engine asks about each CONNECT and
 * gets a verdict and, for a listener with an ACL file, the client's
 * compiled ACL.  Passwords arrive on a channel whose buffers are wiped.
 *
 * authd remembers each identity it has let in (client id, listener, user
 * name as the engine sent them), with digests of the password entry and
 * of the compiled ACL it went by, until the engine says the identity has
 * ended (IPC_AUTH_END).  At a commit it judges each one again: an
 * identity whose listener, user or password is gone or changed, or that
 * is anonymous where anonymous clients no longer are, is told it is out
 * (IPC_AUTH_RIGHTS, with rights that deny everything); one whose ACL
 * changed gets the new one.
 *
 * Verified credentials are cached for CACHE_TTL so that a client that
 * reconnects does not cost another KDF: the cache holds only an HMAC,
 * under a secret made at start, of the listener, the user name, the
 * password and the digest of the password entry, never the password.
 * A changed entry misses by itself; a commit empties the cache.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "acl.h"
#include "aclmatch.h"
#include "authd.h"
#include "child.h"
#include "conf.h"
#include "event.h"
#include "log.h"
#include "mqtt.h"
#include "passwd.h"
#include "scram.h"
#include "text.h"
#include "compat.h"

#define DIGEST_LEN	32
#define CACHE_TTL	(5 * 60 * 1000)	/* ms a verified password is known */
#define CACHE_MAX	65536		/* entries */

/* A file of one configuration, parsed at its commit. */
struct auth_file {
	TAILQ_ENTRY(auth_file)	 entry;
	int			 kind;		/* AUTH_FILE_* */
	char			 path[PATH_MAX];
	uint8_t			*raw;		/* until the commit */
	size_t			 len;
	struct pwfile		*pw;
	struct aclfile		*acl;
	struct scramfile	*scram;
};

/* What authd knows of a listener. */
struct auth_listener {
	TAILQ_ENTRY(auth_listener) entry;
	uint32_t		 id;
	char			 name[LISTENER_NAME_MAX];
	struct listener_opts	 o;
	struct auth_file	*pw;		/* or NULL */
	struct auth_file	*acl;		/* or NULL */
	struct auth_file	*scram;		/* or NULL */
};

/* A configuration: its files and listeners. */
struct auth_conf {
	TAILQ_HEAD(, auth_file)	 files;
	TAILQ_HEAD(, auth_listener) listeners;
};

static struct auth_conf	*running, *pending;
static unsigned int	 conf_gen;	/* commits so far */
static struct authd_conf aconf;		/* IPC_AUTH_CONF */
static int		 aconf_seen;

/* A CONNECT being judged: while a worker verifies, while it is delayed. */
struct auth_req {
	LIST_ENTRY(auth_req)	 entry;
	uint32_t		 conn;		/* the engine's id */
	uint32_t		 lid;
	char			*cid;
	size_t			 clen;
	int			 has_user;
	char			*user;
	size_t			 ulen;
	int			 has_pw;
	char			*pw;		/* wiped */
	size_t			 pwlen;
	char			 src[THROTTLE_SRC_MAX];
	unsigned int		 gen;		/* conf_gen it is judged by */
	uint8_t			 key[DIGEST_LEN];	/* for the cache */
	int			 ended;		/* the engine gave up on it */
	int			 allow;
	uint8_t			 reason;
	uint8_t			*acl;
	size_t			 acllen;
	struct evtimer		 delay;
	int			 waiting;	/* on the delay */
	/* An MQTT 5 enhanced authentication: SCRAM. */
	struct scram		*sc;		/* or NULL; wiped */
	int			 reauth;	/* AUTH 0x19, connected */
	struct evtimer		 expiry;	/* of the exchange */
	int			 exchanging;	/* waiting for the proof */
	int			 by_cert;	/* user: the certificate's */
	uint8_t			 data[SCRAM_MAXMSG];	/* for the engine */
	size_t			 datalen;
};

static LIST_HEAD(, auth_req)	 reqs = LIST_HEAD_INITIALIZER(reqs);
static unsigned int		 delayed;	/* refusals waiting */
static unsigned int		 exchanges;	/* SCRAM ones under way */
#define EXCHANGES_MAX		 1024		/* more are refused */

#define DELAYED_MAX		 4096		/* more are answered at once */

struct authd_stats		 authd_stats;
static struct evtimer		 stats_timer;
static int			 stats_pending;
#define STATS_INTERVAL		 200		/* ms */

/* An identity authd has let in, until the engine says it ended. */
struct auth_ident {
	RB_ENTRY(auth_ident)	 entry;
	char			*cid;
	size_t			 clen;
	uint32_t		 lid;
	int			 has_user;
	char			*user;
	size_t			 ulen;
	int			 verified;	/* by a password */
	int			 scram;		/* by a SCRAM credential */
	int			 cert;		/* by a certificate */
	enum scram_mech		 mech;
	uint8_t			 pw[DIGEST_LEN];	/* of its entry */
	int			 has_acl;
	uint8_t			 acl[DIGEST_LEN];	/* of its ACL */
};

static int
auth_ident_cmp(struct auth_ident *a, struct auth_ident *b)
{
	int	 c;

	if (a->lid != b->lid)
		return a->lid < b->lid ? -1 : 1;
	if ((c = bytes_cmp(a->cid, a->clen, b->cid, b->clen)) != 0)
		return c;
	if (a->has_user != b->has_user)
		return a->has_user - b->has_user;
	return bytes_cmp(a->user, a->ulen, b->user, b->ulen);
}

RB_HEAD(auth_idents, auth_ident);
RB_GENERATE_STATIC(auth_idents, auth_ident, entry, auth_ident_cmp);

static struct auth_idents	 idents = RB_INITIALIZER(&idents);

/* A verified credential: an HMAC of it, until it expires. */
struct cache_ent {
	RB_ENTRY(cache_ent)	 entry;
	TAILQ_ENTRY(cache_ent)	 age;		/* oldest first */
	uint8_t			 key[DIGEST_LEN];
	uint64_t		 expires;	/* ev_now() */
};

static int
cache_ent_cmp(struct cache_ent *a, struct cache_ent *b)
{
	return memcmp(a->key, b->key, DIGEST_LEN);
}

RB_HEAD(cache_tree, cache_ent);
RB_GENERATE_STATIC(cache_tree, cache_ent, entry, cache_ent_cmp);

static struct cache_tree	 cache = RB_INITIALIZER(&cache);
static TAILQ_HEAD(, cache_ent)	 cache_age = TAILQ_HEAD_INITIALIZER(cache_age);
static size_t			 cache_n;
static uint8_t			 cache_secret[DIGEST_LEN];
static int			 cache_ready;

static void	authd_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	authd_dispatch_engine(struct ipc_chan *, struct ipc_msg *);
static struct auth_conf *authd_pending(void);
static void	authd_file(int, const char *, const void *, size_t);
static void	authd_listener(uint32_t, const char *,
		    const struct listener_opts *);
static void	authd_commit(void);
static void	authd_conf_free(struct auth_conf *);
static void	authd_connect(struct ipc_msg *);
static void	authd_judge(struct auth_req *);
static void	authd_verified(void *, int);
static void	authd_failed(struct auth_req *, int);
static int	authd_gate(void *);
static void	authd_throttled(struct auth_req *);
static void	authd_reauth(struct ipc_msg *);
static struct auth_req *authd_req_new(struct ipc_msg *, const char *,
		    size_t);
static void	authd_scram_begin(struct auth_req *, const char *, size_t,
		    const void *, size_t);
static struct auth_req *authd_find_exchange(uint32_t);
static void	authd_scram_continue(struct ipc_msg *);
static void	authd_exchange_end(struct auth_req *);
static void	authd_expired(void *);
static void	authd_send_data(enum ipc_type, struct auth_req *);
static void	authd_send_refusal(uint32_t, uint8_t);
static void	authd_admit(struct auth_req *, const struct auth_listener *,
		    const char *, const struct pw_hash *);
static void	authd_refuse(struct auth_req *, uint8_t, const char *,
		    uint64_t);
static void	authd_delayed(void *);
static void	authd_verdict(struct auth_req *);
static void	authd_req_free(struct auth_req *);
static void	authd_stats_send(void *);
static void	authd_conf(struct ipc_msg *);
static void	authd_pool_start(void);
static void	authd_wipe(void);
static char	*dup_bytes(const char *, size_t);
static void	authd_end(struct ipc_msg *);
static void	authd_rejudge(void);
static void	cache_clear(void);
static void	digest(const void *, size_t, uint8_t *);

static const ipc_dispatch_fn authd_peers[PROC_MAX] = {
	[PROC_ENGINE] = authd_dispatch_engine,
};

int
main(int argc, char *argv[])
{
	evtimer_set(&stats_timer, authd_stats_send, NULL);
	child_confining = authd_pool_start;
	child_main(PROC_AUTHD, argc, argv, authd_dispatch_parent);
}

/* Privileges dropped, the seccomp filter not yet loaded: the workers. */
static void
authd_pool_start(void)
{
	if (!aconf_seen)
		fatalx("IPC_CONF_END before IPC_AUTH_CONF");
	pool_start(aconf.workers, authd_wipe);
}

/*
 * In a new worker: forget the files and what the channels hold (frames
 * of file contents may be in the parent's read buffer already).
 */
static void
authd_wipe(void)
{
	struct ipc_chan	*c;
	int		 i;

	authd_conf_free(running);
	authd_conf_free(pending);
	running = pending = NULL;
	for (i = 0; i < PROC_MAX; i++) {
		c = i == PROC_PARENT ? child.parent : child.peer[i];
		if (c == NULL)
			continue;
		if (c->rbuf.data != NULL)
			explicit_bzero(c->rbuf.data, c->rbuf.size);
		if (c->wbuf.data != NULL)
			explicit_bzero(c->wbuf.data, c->wbuf.size);
	}
}

/* IPC_AUTH_CONF: the pool's size counts only before the workers start. */
static void
authd_conf(struct ipc_msg *msg)
{
	struct authd_conf	 c;
	char			 err[128];

	if (ipc_get_struct(msg, 0, &c, sizeof(c)) == -1 ||
	    settings_check(authd_settings, authd_nsettings, &c, err,
	    sizeof(err)) == -1)
		fatalx("bad IPC_AUTH_CONF");
	if (child.sandboxed)
		c.workers = aconf.workers;
	aconf = c;
	aconf_seen = 1;
	throttle_configure(&aconf);
}

static void
authd_dispatch_parent(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct listener_opts	 o;
	char			 name[LISTENER_NAME_MAX], path[PATH_MAX];
	char			 err[128];
	const void		*data;
	size_t			 len;
	uint64_t		 kind;

	(void)chan;
	if (child_dispatch(msg, authd_peers, authd_stats_changed))
		return;
	switch (msg->hdr.type) {
	case IPC_AUTH_FILE:
		kind = ipc_get_uint(msg, 0);
		data = ipc_get_bin(msg, 2, &len);
		if ((kind != AUTH_FILE_PASSWD && kind != AUTH_FILE_ACL &&
		    kind != AUTH_FILE_SCRAM) ||
		    ipc_get_cstr(msg, 1, path, sizeof(path)) == -1 ||
		    path[0] == '\0' || len > AUTH_FILE_MAX)
			fatalx("bad IPC_AUTH_FILE");
		authd_file(kind, path, data, len);
		break;
	case IPC_AUTH_LISTENER:
		if (ipc_get_cstr(msg, 1, name, sizeof(name)) == -1 ||
		    ipc_get_struct(msg, 2, &o, sizeof(o)) == -1 ||
		    settings_check(listener_settings, listener_nsettings, &o,
		    err, sizeof(err)) == -1)
			fatalx("bad IPC_AUTH_LISTENER");
		authd_listener(ipc_get_uint(msg, 0), name, &o);
		break;
	case IPC_AUTH_CONF:
		authd_conf(msg);
		break;
	case IPC_AUTH_COMMIT:
		authd_commit();
		/* For brokerctl user, group, acl: their change is in force. */
		ipc_send(chan, IPC_AUTH_COMMITTED, msg->hdr.id, -1);
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

static struct auth_conf *
authd_pending(void)
{
	if (pending == NULL) {
		if ((pending = calloc(1, sizeof(*pending))) == NULL)
			fatal(NULL);
		TAILQ_INIT(&pending->files);
		TAILQ_INIT(&pending->listeners);
	}
	return pending;
}

static struct auth_file *
authd_find_file(struct auth_conf *ac, int kind, const char *path)
{
	struct auth_file	*f;

	if (path[0] == '\0')
		return NULL;
	TAILQ_FOREACH(f, &ac->files, entry)
		if (f->kind == kind && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* IPC_AUTH_FILE: kept as it came until the commit. */
static void
authd_file(int kind, const char *path, const void *data, size_t len)
{
	struct auth_conf	*ac = authd_pending();
	struct auth_file	*f;

	if (authd_find_file(ac, kind, path) != NULL)
		fatalx("IPC_AUTH_FILE: %s twice", path);
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->raw = malloc(len > 0 ? len : 1)) == NULL)
		fatal(NULL);
	f->kind = kind;
	strlcpy(f->path, path, sizeof(f->path));
	if (len > 0)
		memcpy(f->raw, data, len);
	f->len = len;
	TAILQ_INSERT_TAIL(&ac->files, f, entry);
}

/* IPC_AUTH_LISTENER, at start and after every reload. */
static void
authd_listener(uint32_t id, const char *name, const struct listener_opts *o)
{
	struct auth_conf	*ac = authd_pending();
	struct auth_listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal(NULL);
	l->id = id;
	strlcpy(l->name, name, sizeof(l->name));
	l->o = *o;
	TAILQ_INSERT_TAIL(&ac->listeners, l, entry);
}

/*
 * IPC_AUTH_COMMIT: parse the pending files (the parent has checked them
 * with the same parsers, so an error here is a broken protocol), tie the
 * listeners to them, and make that the running set.
 */
static void
authd_commit(void)
{
	struct auth_conf	*ac = authd_pending();
	struct auth_file	*f;
	struct auth_listener	*l;
	char			 err[PATH_MAX + 256];

	TAILQ_FOREACH(f, &ac->files, entry) {
		if (f->kind == AUTH_FILE_PASSWD)
			f->pw = passwd_parse(f->path, (const char *)f->raw,
			    f->len, err, sizeof(err));
		else if (f->kind == AUTH_FILE_SCRAM)
			f->scram = scram_file_parse(f->path,
			    (const char *)f->raw, f->len, err, sizeof(err));
		else
			f->acl = acl_parse(f->path, (const char *)f->raw,
			    f->len, err, sizeof(err));
		if (f->pw == NULL && f->acl == NULL && f->scram == NULL)
			fatalx("the parent sent a file that does not parse: %s",
			    err);
		freezero(f->raw, f->len > 0 ? f->len : 1);
		f->raw = NULL;
	}
	TAILQ_FOREACH(l, &ac->listeners, entry) {
		l->pw = authd_find_file(ac, AUTH_FILE_PASSWD,
		    l->o.password_file);
		l->acl = authd_find_file(ac, AUTH_FILE_ACL, l->o.acl_file);
		l->scram = authd_find_file(ac, AUTH_FILE_SCRAM,
		    l->o.scram_file);
		if ((l->o.password_file[0] != '\0' && l->pw == NULL) ||
		    (l->o.acl_file[0] != '\0' && l->acl == NULL) ||
		    (l->o.scram_file[0] != '\0' && l->scram == NULL))
			fatalx("listener %s: a file was not sent", l->name);
		log_debug("listener %s: %zu users, %zu ACL rules%s", l->name,
		    l->pw ? passwd_count(l->pw->pw) : 0,
		    l->acl ? acl_count(l->acl->acl) : 0,
		    l->o.anonymous ? ", anonymous clients allowed" : "");
	}
	authd_conf_free(running);
	running = ac;
	pending = NULL;
	conf_gen++;
	cache_clear();
	authd_rejudge();
}

static void
authd_conf_free(struct auth_conf *ac)
{
	struct auth_file	*f;
	struct auth_listener	*l;

	if (ac == NULL)
		return;
	while ((f = TAILQ_FIRST(&ac->files)) != NULL) {
		TAILQ_REMOVE(&ac->files, f, entry);
		if (f->raw != NULL)
			freezero(f->raw, f->len > 0 ? f->len : 1);
		passwd_free(f->pw);
		acl_free(f->acl);
		scram_file_free(f->scram);
		free(f);
	}
	while ((l = TAILQ_FIRST(&ac->listeners)) != NULL) {
		TAILQ_REMOVE(&ac->listeners, l, entry);
		free(l);
	}
	free(ac);
}

static struct auth_listener *
authd_find_listener(uint32_t id)
{
	struct auth_listener	*l;

	if (running == NULL)
		return NULL;
	TAILQ_FOREACH(l, &running->listeners, entry)
		if (l->id == id)
			return l;
	return NULL;
}

/* The cache's key for a credential; the password is wiped from memory. */
static void
cache_key(uint32_t lid, const char *user, size_t ulen, const char *pw,
    size_t pwlen, const struct pw_hash *h, uint8_t *key)
{
	uint8_t		*buf, *p;
	size_t		 len = 4 + 8 + ulen + 8 + pwlen + DIGEST_LEN;
	uint64_t	 n;
	unsigned int	 klen;

	if (!cache_ready) {
		arc4random_buf(cache_secret, sizeof(cache_secret));
		cache_ready = 1;
	}
	if ((buf = malloc(len)) == NULL)
		fatal(NULL);
	p = buf;
	memcpy(p, &lid, 4);
	p += 4;
	n = ulen;
	memcpy(p, &n, 8);
	p += 8;
	if (ulen > 0)
		memcpy(p, user, ulen);
	p += ulen;
	n = pwlen;
	memcpy(p, &n, 8);
	p += 8;
	if (pwlen > 0)
		memcpy(p, pw, pwlen);
	p += pwlen;
	digest(h, sizeof(*h), p);
	if (HMAC(EVP_sha256(), cache_secret, sizeof(cache_secret), buf, len,
	    key, &klen) == NULL || klen != DIGEST_LEN)
		fatalx("%s: HMAC", __func__);
	freezero(buf, len);
}

static void
cache_drop(struct cache_ent *c)
{
	RB_REMOVE(cache_tree, &cache, c);
	TAILQ_REMOVE(&cache_age, c, age);
	cache_n--;
	freezero(c, sizeof(*c));
}

/* Is this credential known good?  Expired entries go on the way. */
static int
cache_hit(const uint8_t *key)
{
	struct cache_ent	 k = { .expires = 0 }, *c;
	uint64_t		 now = ev_now();

	while ((c = TAILQ_FIRST(&cache_age)) != NULL && c->expires <= now)
		cache_drop(c);
	memset(&k, 0, sizeof(k));
	memcpy(k.key, key, DIGEST_LEN);
	return RB_FIND(cache_tree, &cache, &k) != NULL;
}

static void
cache_add(const uint8_t *key)
{
	struct cache_ent	*c;

	if (cache_hit(key))
		return;
	if (cache_n >= CACHE_MAX)
		cache_drop(TAILQ_FIRST(&cache_age));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal(NULL);
	memcpy(c->key, key, DIGEST_LEN);
	c->expires = ev_now() + CACHE_TTL;
	RB_INSERT(cache_tree, &cache, c);
	TAILQ_INSERT_TAIL(&cache_age, c, age);
	cache_n++;
}

static void
cache_clear(void)
{
	struct cache_ent	*c;

	while ((c = TAILQ_FIRST(&cache_age)) != NULL)
		cache_drop(c);
}

static void
digest(const void *p, size_t len, uint8_t *out)
{
	unsigned int	 n;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != DIGEST_LEN)
		fatalx("%s: EVP_Digest", __func__);
}

static struct auth_ident *
authd_find_ident(const char *cid, size_t clen, uint32_t lid, int has_user,
    const char *user, size_t ulen)
{
	struct auth_ident	 key;

	memset(&key, 0, sizeof(key));
	key.cid = (char *)(uintptr_t)cid;
	key.clen = clen;
	key.lid = lid;
	key.has_user = has_user != 0;
	key.user = (char *)(uintptr_t)(has_user ? user : "");
	key.ulen = has_user ? ulen : 0;
	return RB_FIND(auth_idents, &idents, &key);
}

static char *
dup_bytes(const char *s, size_t len)
{
	char	*p;

	if ((p = malloc(len + 1)) == NULL)
		fatal(NULL);
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* An identity let in, and what it was judged by. */
static void
authd_remember(const char *cid, size_t clen, uint32_t lid, int has_user,
    const char *user, size_t ulen, const struct pw_hash *h,
    const struct scram_cred *sc, int cert, const uint8_t *acl, size_t acllen)
{
	struct auth_ident	*e;

	if (!has_user)
		ulen = 0;
	if ((e = authd_find_ident(cid, clen, lid, has_user, user, ulen)) ==
	    NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatal(NULL);
		e->cid = dup_bytes(cid, clen);
		e->clen = clen;
		e->lid = lid;
		e->has_user = has_user != 0;
		e->user = dup_bytes(has_user ? user : "", ulen);
		e->ulen = ulen;
		RB_INSERT(auth_idents, &idents, e);
	}
	e->verified = h != NULL;
	e->scram = sc != NULL;
	e->cert = cert;
	if (h != NULL)
		digest(h, sizeof(*h), e->pw);
	if (sc != NULL) {
		e->mech = sc->mech;
		digest(sc, sizeof(*sc), e->pw);
	}
	e->has_acl = acllen > 0;
	if (acllen > 0)
		digest(acl, acllen, e->acl);
}

static void
authd_forget(struct auth_ident *e)
{
	RB_REMOVE(auth_idents, &idents, e);
	free(e->cid);
	free(e->user);
	freezero(e, sizeof(*e));
}

/*
 * IPC_AUTH_END: the engine has no session of that identity any more, or
 * the connection whose id the frame has went before its verdict.
 */
static void
authd_end(struct ipc_msg *msg)
{
	struct auth_ident	*e;
	const char		*cid, *user;
	size_t			 clen, ulen;

	struct auth_req		*r;

	/*
	 * A CONNECT still being judged: it will not be remembered; a SCRAM
	 * exchange waiting for the client's proof ends now.
	 */
	if (msg->hdr.id != 0)
		LIST_FOREACH(r, &reqs, entry)
			if (r->conn == msg->hdr.id) {
				r->ended = 1;
				if (r->exchanging)
					authd_req_free(r);
				return;
			}
	cid = ipc_get_str(msg, 0, &clen);
	user = ipc_get_str(msg, 3, &ulen);
	if ((e = authd_find_ident(cid, clen, ipc_get_uint(msg, 1),
	    ipc_get_bool(msg, 2), user, ulen)) != NULL)
		authd_forget(e);
}

static void
authd_send_rights(const struct auth_ident *e, int stays, const uint8_t *acl,
    size_t acllen)
{
	struct ipc_chan	*chan = child.peer[PROC_ENGINE];

	if (chan == NULL)
		return;
	ipc_begin(chan, IPC_AUTH_RIGHTS, 0, 6);
	ipc_put_strn(chan, e->cid, e->clen);
	ipc_put_uint(chan, e->lid);
	ipc_put_bool(chan, e->has_user);
	ipc_put_strn(chan, e->user, e->ulen);
	ipc_put_bool(chan, stays);
	ipc_put_bin(chan, acl != NULL ? acl : (const uint8_t *)"", acllen);
	ipc_end(chan, -1);
}

/*
 * After a commit: every identity let in is judged again by the new files;
 * the engine hears of those that are out and of every ACL that changed.
 */
static void
authd_rejudge(void)
{
	struct auth_ident	*e, *next;
	struct auth_listener	*l;
	const struct pw_hash	*h;
	const struct scram_cred	*sc;
	const char		*who, *why;
	uint8_t			*acl, d[DIGEST_LEN];
	size_t			 acllen;
	int			 stays, out = 0, changed = 0;

	RB_FOREACH_SAFE(e, auth_idents, &idents, next) {
		acl = NULL;
		acllen = 0;
		who = NULL;
		stays = (l = authd_find_listener(e->lid)) != NULL;
		if (stays && e->cert) {
			stays = l->o.use_identity || l->o.use_subject;
			who = e->user;
		} else if (stays && e->scram) {
			sc = l->scram != NULL ? scram_file_lookup(
			    l->scram->scram, e->user, e->ulen, e->mech) : NULL;
			if (sc != NULL)
				digest(sc, sizeof(*sc), d);
			if (sc == NULL || memcmp(d, e->pw, DIGEST_LEN) != 0)
				stays = 0;
			who = e->user;
		} else if (stays && e->has_user && l->pw != NULL) {
			h = passwd_lookup(l->pw->pw, e->user, e->ulen);
			if (h != NULL)
				digest(h, sizeof(*h), d);
			if (h == NULL || !e->verified ||
			    memcmp(d, e->pw, DIGEST_LEN) != 0)
				stays = 0;
			who = e->user;
		} else if (stays && !l->o.anonymous)
			stays = 0;
		if (stays && l->acl != NULL && acl_compile(l->acl->acl, who,
		    e->ulen, e->cid, e->clen, &acl, &acllen, &why) == -1) {
			log_warnx("client %s: its ACL: %s", e->cid, why);
			stays = 0;
		}
		if (!stays) {
			free(acl);
			if (aclmatch_build(NULL, 0, &acl, &acllen, &why) == -1)
				fatalx("an ACL that denies all: %s", why);
			authd_send_rights(e, 0, acl, acllen);
			authd_forget(e);
			out++;
		} else {
			if (acllen > 0)
				digest(acl, acllen, d);
			if ((acllen > 0) != e->has_acl || (acllen > 0 &&
			    memcmp(d, e->acl, DIGEST_LEN) != 0)) {
				authd_send_rights(e, 1, acl, acllen);
				e->has_acl = acllen > 0;
				memcpy(e->acl, d, DIGEST_LEN);
				changed++;
			}
		}
		free(acl);
	}
	if (out > 0 || changed > 0)
		log_info("reload: %d clients no longer allowed, %d with new "
		    "rights", out, changed);
}

/*
 * IPC_AUTH_CONNECT: may this client connect, and what may it do?  What
 * the frame says is copied into a request (the password too, wiped when
 * the request ends) since a worker may have to verify the password.
 */
static void
authd_connect(struct ipc_msg *msg)
{
	struct auth_req	*r;
	const char	*pw, *addr, *method;
	const void	*data;
	size_t		 pwlen, alen, mlen, dlen;

	pw = ipc_get_bin(msg, 5, &pwlen);
	addr = ipc_get_str(msg, 6, &alen);
	r = authd_req_new(msg, pw, pwlen);
	r->has_pw = ipc_get_bool(msg, 4);
	throttle_source(addr, alen, r->src, sizeof(r->src));
	method = ipc_get_str(msg, 8, &mlen);
	data = ipc_get_bin(msg, 9, &dlen);
	r->by_cert = ipc_get_bool(msg, 10) && r->has_user;
	if (mlen > 0 && !r->by_cert)
		authd_scram_begin(r, method, mlen, data, dlen);
	else
		authd_judge(r);
}

/* IPC_AUTH_REAUTH: a connected client's AUTH 0x19. */
static void
authd_reauth(struct ipc_msg *msg)
{
	struct auth_req	*r;
	const char	*method;
	const void	*data;
	size_t		 mlen, dlen;

	method = ipc_get_str(msg, 4, &mlen);
	data = ipc_get_bin(msg, 5, &dlen);
	r = authd_req_new(msg, "", 0);
	r->reauth = 1;
	authd_scram_begin(r, method, mlen, data, dlen);
}

/*
 * A request of IPC_AUTH_CONNECT or IPC_AUTH_REAUTH, whose first fields
 * are the same: listener id, client id, has user name, user name.
 */
static struct auth_req *
authd_req_new(struct ipc_msg *msg, const char *pw, size_t pwlen)
{
	struct auth_req	*r;
	const char	*cid, *user;
	size_t		 clen, ulen;

	cid = ipc_get_str(msg, 1, &clen);
	user = ipc_get_str(msg, 3, &ulen);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal(NULL);
	r->conn = msg->hdr.id;
	r->lid = ipc_get_uint(msg, 0);
	r->cid = dup_bytes(cid, clen);
	r->clen = clen;
	r->has_user = ipc_get_bool(msg, 2);
	r->user = dup_bytes(r->has_user ? user : "", r->has_user ? ulen : 0);
	r->ulen = r->has_user ? ulen : 0;
	r->pw = dup_bytes(pw, pwlen);
	r->pwlen = pwlen;
	evtimer_set(&r->delay, authd_delayed, r);
	evtimer_set(&r->expiry, authd_expired, r);
	LIST_INSERT_HEAD(&reqs, r, entry);
	return r;
}

/*
 * The client's first SCRAM message, in CONNECT or AUTH 0x19: the
 * challenge goes back, and the exchange waits for the proof.  The SCRAM
 * user name must be the CONNECT's (the identity the engine knows); a user
 * without credentials gets made-up ones and fails at the proof.
 */
static void
authd_scram_begin(struct auth_req *r, const char *method, size_t mlen,
    const void *data, size_t dlen)
{
	struct auth_listener	*l;
	const struct scram_cred	*cred;
	struct scram_cred	 fake;
	enum scram_mech		 mech;
	const char		*why = NULL;
	char			 nonce[33];
	uint8_t			 rnd[16];
	size_t			 i;

	r->gen = conf_gen;
	if ((l = authd_find_listener(r->lid)) == NULL || l->scram == NULL ||
	    scram_mech_parse(method, mlen, &mech) == -1) {
		authd_refuse(r, RC_BAD_AUTHENTICATION_METHOD,
		    "unsupported authentication method", 0);
		return;
	}
	if (!r->reauth && throttle_refused(r->src, 0)) {
		authd_throttled(r);
		return;
	}
	if (exchanges >= EXCHANGES_MAX) {
		authd_refuse(r, RC_SERVER_BUSY, "too many SCRAM exchanges",
		    0);
		return;
	}
	if ((r->sc = calloc(1, sizeof(*r->sc))) == NULL)
		fatal(NULL);
	if (scram_client_first(r->sc, mech, data, dlen, &why) == -1 ||
	    !r->has_user || r->sc->userlen != r->ulen ||
	    memcmp(r->sc->user, r->user, r->ulen) != 0) {
		log_debug("client %.*s: SCRAM: %s", (int)r->clen, r->cid,
		    why != NULL ? why : "not the CONNECT's user name");
		authd_failed(r, 0);
		return;
	}
	if ((cred = scram_file_lookup(l->scram->scram, r->user, r->ulen,
	    mech)) == NULL) {
		if (!cache_ready) {
			arc4random_buf(cache_secret, sizeof(cache_secret));
			cache_ready = 1;
		}
		scram_fake_cred(&fake, mech, cache_secret,
		    sizeof(cache_secret), r->user, r->ulen);
		cred = &fake;
	}
	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
	if (scram_server_first(r->sc, cred, nonce, 32, (char *)r->data,
	    sizeof(r->data), &r->datalen) == -1) {
		explicit_bzero(&fake, sizeof(fake));
		authd_failed(r, 0);
		return;
	}
	explicit_bzero(&fake, sizeof(fake));
	exchanges++;
	authd_stats_changed();
	r->exchanging = 1;
	evtimer_add(&r->expiry, aconf.exchange_timeout * 1000ULL);
	authd_send_data(IPC_AUTH_CHALLENGE, r);
}

static struct auth_req *
authd_find_exchange(uint32_t conn)
{
	struct auth_req	*r;

	LIST_FOREACH(r, &reqs, entry)
		if (r->conn == conn && r->sc != NULL &&
		    r->sc->state == SCRAM_CHALLENGED)
			return r;
	return NULL;
}

/* IPC_AUTH_CONTINUE: the client's proof. */
static void
authd_scram_continue(struct ipc_msg *msg)
{
	struct auth_req		*r;
	struct auth_listener	*l;
	const void		*data;
	const char		*why = NULL;
	size_t			 dlen;
	int			 ok;

	data = ipc_get_bin(msg, 0, &dlen);
	if ((r = authd_find_exchange(msg->hdr.id)) == NULL) {
		/* Timed out: the engine hears no, if it still cares. */
		authd_send_refusal(msg->hdr.id, RC_NOT_AUTHORIZED);
		return;
	}
	authd_exchange_end(r);
	ok = scram_client_final(r->sc, data, dlen, (char *)r->data,
	    sizeof(r->data), &r->datalen, &why);
	if (ok != 1 || (l = authd_find_listener(r->lid)) == NULL) {
		log_debug("client %.*s: SCRAM: %s", (int)r->clen, r->cid,
		    why != NULL ? why : "no proof expected");
		r->datalen = 0;
		authd_failed(r, 0);
		return;
	}
	log_debug("listener %s: SCRAM proof of %.*s: verified", l->name,
	    (int)r->ulen, r->user);
	authd_stats.scram_verified++;
	authd_admit(r, l, r->user, NULL);
}

static void
authd_exchange_end(struct auth_req *r)
{
	if (r->exchanging) {
		evtimer_del(&r->expiry);
		r->exchanging = 0;
		exchanges--;
		authd_stats_changed();
	}
}

/* The client never sent its proof. */
static void
authd_expired(void *arg)
{
	struct auth_req	*r = arg;

	r->exchanging = 0;
	exchanges--;
	authd_stats.scram_expired++;
	log_debug("client %.*s: SCRAM exchange abandoned", (int)r->clen,
	    r->cid);
	r->datalen = 0;
	authd_refuse(r, RC_NOT_AUTHORIZED, NULL, 0);
}

/* IPC_AUTH_CHALLENGE (or a verdict's data) of a request. */
static void
authd_send_data(enum ipc_type type, struct auth_req *r)
{
	struct ipc_chan	*chan = child.peer[PROC_ENGINE];

	if (chan == NULL)
		return;
	ipc_begin(chan, type, r->conn, 1);
	ipc_put_bin(chan, r->data, r->datalen);
	ipc_end(chan, -1);
}

static void
authd_send_refusal(uint32_t conn, uint8_t reason)
{
	struct ipc_chan	*chan = child.peer[PROC_ENGINE];

	if (chan == NULL)
		return;
	ipc_begin(chan, IPC_AUTH_VERDICT, conn, 4);
	ipc_put_bool(chan, 0);
	ipc_put_uint(chan, reason);
	ipc_put_bin(chan, "", 0);
	ipc_put_bin(chan, "", 0);
	ipc_end(chan, -1);
}

/*
 * Who the client is.  With a password file a user name must come with
 * its password, which the cache knows or a worker verifies (an unknown
 * user costs one too); without one a user name is not checked, so it
 * counts for nothing (the client is anonymous, if the listener takes
 * anonymous clients).  An address with too many failures gets no
 * verification.
 */
static void
authd_judge(struct auth_req *r)
{
	struct auth_listener	*l;
	const struct pw_hash	*h;

	r->gen = conf_gen;
	if ((l = authd_find_listener(r->lid)) == NULL) {
		authd_refuse(r, RC_NOT_AUTHORIZED, "unknown listener", 0);
		return;
	}
	/* The certificate's identity is the user name; no password. */
	if (l->o.use_identity || l->o.use_subject) {
		if (!r->by_cert)
			authd_refuse(r, RC_NOT_AUTHORIZED, "no verified "
			    "certificate identity", 0);
		else {
			log_debug("listener %s: client %.*s: user %.*s by its "
			    "certificate", l->name, (int)r->clen, r->cid,
			    (int)r->ulen, r->user);
			authd_admit(r, l, r->user, NULL);
		}
		return;
	}
	if (r->has_user && l->pw != NULL) {
		if (throttle_refused(r->src, 0)) {
			authd_throttled(r);
			return;
		}
		if (!r->has_pw) {
			authd_failed(r, 0);
			return;
		}
		if ((h = passwd_lookup(l->pw->pw, r->user, r->ulen)) !=
		    NULL) {
			cache_key(l->id, r->user, r->ulen, r->pw, r->pwlen, h,
			    r->key);
			if (cache_hit(r->key)) {
				log_debug("listener %s: password of %.*s: "
				    "cached", l->name, (int)r->ulen, r->user);
				authd_stats.cached++;
				authd_admit(r, l, r->user, h);
				return;
			}
		}
		throttle_start(r->src);
		pool_verify(h != NULL ? h : passwd_dummy(l->pw->pw), r->pw,
		    r->pwlen, authd_gate, authd_verified, r);
		return;
	}
	if (!l->o.anonymous) {
		authd_refuse(r, l->pw != NULL ? RC_BAD_USERNAME_OR_PASSWORD :
		    RC_NOT_AUTHORIZED, NULL, 0);
		return;
	}
	authd_admit(r, l, NULL, NULL);
}

/* Its turn in the pool: is the request's address still let try? */
static int
authd_gate(void *arg)
{
	struct auth_req	*r = arg;

	return !throttle_refused(r->src, 1);
}

/* A worker's answer about the request's password, or POOL_SKIPPED. */
static void
authd_verified(void *arg, int ok)
{
	struct auth_req		*r = arg;
	struct auth_listener	*l;
	const struct pw_hash	*h;

	/* A commit came meanwhile: judge again by the new set. */
	if (r->gen != conf_gen) {
		throttle_done(r->src, 1, 0);
		authd_judge(r);
		return;
	}
	if (ok == POOL_SKIPPED) {
		throttle_done(r->src, 1, 0);
		authd_throttled(r);
		return;
	}
	l = authd_find_listener(r->lid);
	h = passwd_lookup(l->pw->pw, r->user, r->ulen);
	log_debug("listener %s: password of %.*s: %s", l->name,
	    (int)r->ulen, r->user, ok && h != NULL ? "verified" : "wrong");
	if (!ok || h == NULL) {
		authd_failed(r, 1);
		return;
	}
	throttle_done(r->src, 1, 0);
	cache_add(r->key);
	authd_admit(r, l, r->user, h);
}

/* Too many failures from the request's address. */
static void
authd_throttled(struct auth_req *r)
{
	authd_stats.throttle_refused++;
	authd_refuse(r, RC_BANNED, "too many failures from its address",
	    throttle_delay(r->src));
}

/* A wrong password, or none: counted against the address. */
static void
authd_failed(struct auth_req *r, int verified)
{
	authd_stats.failed++;
	throttle_done(r->src, verified, 1);
	authd_refuse(r, RC_BAD_USERNAME_OR_PASSWORD, NULL,
	    throttle_delay(r->src));
}

/* Let the client in, with its compiled ACL if the listener has one. */
static void
authd_admit(struct auth_req *r, const struct auth_listener *l,
    const char *who, const struct pw_hash *h)
{
	const char	*why;

	if (l->acl != NULL && acl_compile(l->acl->acl, who, who != NULL ?
	    r->ulen : 0, r->cid, r->clen, &r->acl, &r->acllen, &why) == -1) {
		log_warnx("listener %s: client %.*s: its ACL: %s", l->name,
		    (int)r->clen, r->cid, why);
		authd_refuse(r, RC_NOT_AUTHORIZED, NULL, 0);
		return;
	}
	if (!r->ended)
		authd_remember(r->cid, r->clen, l->id, r->has_user, r->user,
		    r->ulen, h, r->sc != NULL ? &r->sc->cred : NULL,
		    r->by_cert, r->acl, r->acllen);
	r->allow = 1;
	r->reason = RC_SUCCESS;
	authd_verdict(r);
}

/* Refuse, at once or after `delay' ms. */
static void
authd_refuse(struct auth_req *r, uint8_t reason, const char *why,
    uint64_t delay)
{
	if (why != NULL)
		log_debug("client %.*s refused: %s", (int)r->clen, r->cid,
		    why);
	r->allow = 0;
	r->reason = reason;
	if (delay > 0 && delayed < DELAYED_MAX) {
		authd_stats.throttle_delayed++;
		delayed++;
		r->waiting = 1;
		evtimer_add(&r->delay, delay);
		return;
	}
	authd_verdict(r);
}

static void
authd_delayed(void *arg)
{
	struct auth_req	*r = arg;

	delayed--;
	r->waiting = 0;
	authd_verdict(r);
}

/* IPC_AUTH_VERDICT; the request ends. */
static void
authd_verdict(struct auth_req *r)
{
	struct ipc_chan	*chan = child.peer[PROC_ENGINE];

	if (chan != NULL) {
		ipc_begin(chan, IPC_AUTH_VERDICT, r->conn, 4);
		ipc_put_bool(chan, r->allow);
		ipc_put_uint(chan, r->reason);
		ipc_put_bin(chan, r->acl != NULL ? r->acl :
		    (const uint8_t *)"", r->acllen);
		ipc_put_bin(chan, r->data, r->allow ? r->datalen : 0);
		ipc_end(chan, -1);
	}
	authd_stats_changed();
	authd_req_free(r);
}

static void
authd_req_free(struct auth_req *r)
{
	LIST_REMOVE(r, entry);
	authd_exchange_end(r);
	if (r->sc != NULL)
		freezero(r->sc, sizeof(*r->sc));
	explicit_bzero(r->data, sizeof(r->data));
	free(r->cid);
	free(r->user);
	freezero(r->pw, r->pwlen + 1);
	free(r->acl);
	freezero(r, sizeof(*r));
}

/*
 * The counters reach the engine at most every STATS_INTERVAL, and every
 * STATS_INTERVAL while an address is refused.
 */
void
authd_stats_changed(void)
{
	if (stats_pending)
		return;
	stats_pending = 1;
	evtimer_add(&stats_timer, STATS_INTERVAL);
}

static void
authd_stats_send(void *arg)
{
	struct ipc_chan	*chan = child.peer[PROC_ENGINE];

	(void)arg;
	stats_pending = 0;
	authd_stats.workers = pool_size();
	authd_stats.throttle_addrs = throttle_count();
	authd_stats.scram_exchanges = exchanges;
	/* Windows end with no event: look again while any is open. */
	if (authd_stats.throttle_addrs > 0)
		authd_stats_changed();
	if (chan == NULL)
		return;
	ipc_begin(chan, IPC_AUTH_STATS, 0, 1);
	ipc_put_bin(chan, &authd_stats, sizeof(authd_stats));
	ipc_end(chan, -1);
}

static void
authd_dispatch_engine(struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IPC_AUTH_CONNECT:
		(void)chan;
		authd_connect(msg);
		break;
	case IPC_AUTH_END:
		authd_end(msg);
		break;
	case IPC_AUTH_CONTINUE:
		authd_scram_continue(msg);
		break;
	case IPC_AUTH_REAUTH:
		authd_reauth(msg);
		break;
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
}
