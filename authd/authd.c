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
#include "child.h"
#include "conf.h"
#include "event.h"
#include "log.h"
#include "mqtt.h"
#include "passwd.h"
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
};

/* What authd knows of a listener. */
struct auth_listener {
	TAILQ_ENTRY(auth_listener) entry;
	uint32_t		 id;
	char			 name[LISTENER_NAME_MAX];
	struct listener_opts	 o;
	struct auth_file	*pw;		/* or NULL */
	struct auth_file	*acl;		/* or NULL */
};

/* A configuration: its files and listeners. */
struct auth_conf {
	TAILQ_HEAD(, auth_file)	 files;
	TAILQ_HEAD(, auth_listener) listeners;
};

static struct auth_conf	*running, *pending;

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
static void	authd_connect(struct ipc_chan *, struct ipc_msg *);
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
	child_main(PROC_AUTHD, argc, argv, authd_dispatch_parent);
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
	if (child_dispatch(msg, authd_peers, NULL))
		return;
	switch (msg->hdr.type) {
	case IPC_AUTH_FILE:
		kind = ipc_get_uint(msg, 0);
		data = ipc_get_bin(msg, 2, &len);
		if ((kind != AUTH_FILE_PASSWD && kind != AUTH_FILE_ACL) ||
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
		else
			f->acl = acl_parse(f->path, (const char *)f->raw,
			    f->len, err, sizeof(err));
		if (f->pw == NULL && f->acl == NULL)
			fatalx("the parent sent a file that does not parse: %s",
			    err);
		freezero(f->raw, f->len > 0 ? f->len : 1);
		f->raw = NULL;
	}
	TAILQ_FOREACH(l, &ac->listeners, entry) {
		l->pw = authd_find_file(ac, AUTH_FILE_PASSWD,
		    l->o.password_file);
		l->acl = authd_find_file(ac, AUTH_FILE_ACL, l->o.acl_file);
		if ((l->o.password_file[0] != '\0' && l->pw == NULL) ||
		    (l->o.acl_file[0] != '\0' && l->acl == NULL))
			fatalx("listener %s: a file was not sent", l->name);
		log_debug("listener %s: %zu users, %zu ACL rules%s", l->name,
		    l->pw ? passwd_count(l->pw->pw) : 0,
		    l->acl ? acl_count(l->acl->acl) : 0,
		    l->o.anonymous ? ", anonymous clients allowed" : "");
	}
	authd_conf_free(running);
	running = ac;
	pending = NULL;
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

/*
 * The password of a user of the listener's file: from the cache, or one
 * KDF (an unknown user costs one too, passwd_check()).
 */
static int
authd_password(const struct auth_listener *l, const char *user, size_t ulen,
    const char *pw, size_t pwlen)
{
	const struct pw_hash	*h;
	uint8_t			 key[DIGEST_LEN];
	int			 ok;

	if ((h = passwd_lookup(l->pw->pw, user, ulen)) != NULL) {
		cache_key(l->id, user, ulen, pw, pwlen, h, key);
		if (cache_hit(key)) {
			log_debug("listener %s: password of %.*s: cached",
			    l->name, (int)ulen, user);
			explicit_bzero(key, sizeof(key));
			return 1;
		}
	}
	ok = passwd_check(l->pw->pw, user, ulen, pw, pwlen);
	log_debug("listener %s: password of %.*s: %s", l->name, (int)ulen,
	    user, ok ? "verified" : "wrong");
	if (ok && h != NULL)
		cache_add(key);
	explicit_bzero(key, sizeof(key));
	return ok;
}

/*
 * Who the client is: 0 and its user name (NULL: anonymous) if it may
 * connect, or -1 and the reason code.  With a password file a user name
 * must come with its password; without one a user name is not checked,
 * so it counts for nothing (the client is anonymous, if the listener
 * takes anonymous clients).
 */
static int
authd_identify(const struct auth_listener *l, int has_user, const char *user,
    size_t ulen, int has_pw, const char *pw, size_t pwlen, const char **who,
    uint8_t *reason)
{
	*who = NULL;
	if (has_user && l->pw != NULL) {
		if (!has_pw || !authd_password(l, user, ulen, pw, pwlen)) {
			*reason = RC_BAD_USERNAME_OR_PASSWORD;
			return -1;
		}
		*who = user;
		return 0;
	}
	if (!l->o.anonymous) {
		*reason = l->pw != NULL ? RC_BAD_USERNAME_OR_PASSWORD :
		    RC_NOT_AUTHORIZED;
		return -1;
	}
	return 0;
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
    const uint8_t *acl, size_t acllen)
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
	if (h != NULL)
		digest(h, sizeof(*h), e->pw);
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

/* IPC_AUTH_END: the engine has no session of that identity any more. */
static void
authd_end(struct ipc_msg *msg)
{
	struct auth_ident	*e;
	const char		*cid, *user;
	size_t			 clen, ulen;

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
	const char		*who, *why;
	uint8_t			*acl, d[DIGEST_LEN];
	size_t			 acllen;
	int			 stays, out = 0, changed = 0;

	RB_FOREACH_SAFE(e, auth_idents, &idents, next) {
		acl = NULL;
		acllen = 0;
		who = NULL;
		stays = (l = authd_find_listener(e->lid)) != NULL;
		if (stays && e->has_user && l->pw != NULL) {
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
 * IPC_AUTH_CONNECT: may this client connect, and what may it do?  The
 * password is read where the frame holds it, in the channel's buffer,
 * which is wiped once the frame is handled.
 */
static void
authd_connect(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct auth_listener	*l;
	const char		*cid, *user, *pw, *who, *why = NULL;
	uint8_t			*acl = NULL, reason = RC_NOT_AUTHORIZED;
	size_t			 clen, ulen, pwlen, acllen = 0;
	int			 allow = 0;

	cid = ipc_get_str(msg, 1, &clen);
	user = ipc_get_str(msg, 3, &ulen);
	pw = ipc_get_bin(msg, 5, &pwlen);
	if ((l = authd_find_listener(ipc_get_uint(msg, 0))) == NULL)
		why = "unknown listener";
	else if (authd_identify(l, ipc_get_bool(msg, 2), user, ulen,
	    ipc_get_bool(msg, 4), pw, pwlen, &who, &reason) == 0) {
		if (l->acl != NULL && acl_compile(l->acl->acl, who,
		    who != NULL ? ulen : 0, cid, clen, &acl, &acllen,
		    &why) == -1)
			log_warnx("listener %s: client %.*s: its ACL: %s",
			    l->name, (int)clen, cid, why);
		else {
			allow = 1;
			reason = RC_SUCCESS;
		}
	}
	if (allow)
		authd_remember(cid, clen, l->id, ipc_get_bool(msg, 2), user,
		    ulen, who != NULL ? passwd_lookup(l->pw->pw, user, ulen) :
		    NULL, acl, acllen);
	if (why != NULL)
		log_debug("client %.*s refused: %s", (int)clen, cid, why);
	ipc_begin(chan, IPC_AUTH_VERDICT, msg->hdr.id, 3);
	ipc_put_bool(chan, allow);
	ipc_put_uint(chan, reason);
	ipc_put_bin(chan, acl != NULL ? acl : (const uint8_t *)"", acllen);
	ipc_end(chan, -1);
	free(acl);
}

static void
authd_dispatch_engine(struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IPC_AUTH_CONNECT:
		authd_connect(chan, msg);
		break;
	case IPC_AUTH_END:
		authd_end(msg);
		break;
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
}
