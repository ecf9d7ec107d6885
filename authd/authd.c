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
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "acl.h"
#include "child.h"
#include "conf.h"
#include "log.h"
#include "mqtt.h"
#include "passwd.h"

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

static void	authd_dispatch_parent(struct ipc_chan *, struct ipc_msg *);
static void	authd_dispatch_engine(struct ipc_chan *, struct ipc_msg *);
static struct auth_conf *authd_pending(void);
static void	authd_file(int, const char *, const void *, size_t);
static void	authd_listener(uint32_t, const char *,
		    const struct listener_opts *);
static void	authd_commit(void);
static void	authd_conf_free(struct auth_conf *);
static void	authd_connect(struct ipc_chan *, struct ipc_msg *);

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
		if (!has_pw || !passwd_check(l->pw->pw, user, ulen, pw,
		    pwlen)) {
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
	default:
		fatalx("unexpected %s from the engine",
		    ipc_type_name(msg->hdr.type));
	}
}
