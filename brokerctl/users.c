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
 * brokerctl user, group and acl: users and ACLs of the running broker.
 *
 * The password and ACL files the configuration names stay the one
 * place users and rules live, as with mosquitto_passwd: brokerctl edits
 * them here, and brokerd reads them again.  So password hashes never
 * pass through the engine, which serves the control socket (it hands
 * over only the files' paths), and the disk is written by no daemon;
 * what an operator edits by hand and what brokerctl edits are the same
 * file, and a restart finds every change.
 *
 * One edit: ask brokerd for the listeners and their files
 * (IPC_CTL_AUTH_FILES, a change: refused here to whoever may not
 * change things, before anything is touched), pick the file (-f, -l, or
 * the one all listeners share), lock FILE.lock (flock: a second
 * brokerctl waits), read the file, edit it in memory (edit.c: the result
 * must parse as authd parses it), check that the file was not replaced
 * or changed meanwhile (device, inode, size, mtime), write it beside
 * and rename it over (mode and owner kept), then IPC_CTL_RELOAD_AUTH:
 * the parent reads the running configuration's password and ACL files
 * again and authd swaps them in, judging every connected client again:
 * new rules apply at once, a deleted user or a changed password
 * disconnects (MQTT 5: 0x87).
 */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerctl.h"
#include "ipc.h"
#include "passwd.h"

#define LOCK_WAIT_MS	5000

enum file_kind {
	F_PASSWD,
	F_ACL
};

/* Where to edit: -f and -l. */
struct target {
	const char	*file;
	const char	*listener;
};

static __dead void
users_usage(const char *verb, const char *args)
{
	fprintf(stderr, "usage: brokerctl [-j] [-s socket] %s %s\n", verb,
	    args);
	exit(CTL_EXIT_FAILED);
}

static const char *
kind_name(enum file_kind k)
{
	return k == F_PASSWD ? "password file" : "acl file";
}

static const char *
lfile(const struct ctl_listener *l, enum file_kind k)
{
	return k == F_PASSWD ? l->passwd : l->acl;
}

static int
listener_is(const struct ctl_listener *l, const char *name)
{
	char	 id[16];

	snprintf(id, sizeof(id), "%u", l->id);
	return strcmp(l->name, name) == 0 || strcmp(id, name) == 0;
}

/* The same file, whatever the spelling. */
static int
same_file(const char *a, const char *b)
{
	char	 ra[PATH_MAX], rb[PATH_MAX];

	if (strcmp(a, b) == 0)
		return 1;
	if (realpath(a, ra) == NULL || realpath(b, rb) == NULL)
		return 0;
	return strcmp(ra, rb) == 0;
}

/*
 * The file of kind k to edit, as brokerd names it: -f's if a listener
 * uses it, -l's listener's, or the one every listener with such a file
 * shares.  Asking is what checks that we may change things.
 */
static const char *
target_pick(const struct target *t, enum file_kind k)
{
	struct ctl_listener	*ls;
	const char		*found = NULL, *f;
	size_t			 i, n;
	int			 named = 0;

	n = ctl_auth_files(&ls);
	for (i = 0; i < n; i++) {
		if (t->listener != NULL && !listener_is(&ls[i], t->listener))
			continue;
		named = 1;
		f = lfile(&ls[i], k);
		if (f[0] == '\0')
			continue;
		if (t->file != NULL) {
			if (same_file(t->file, f))
				return f;
			continue;
		}
		if (found != NULL && strcmp(found, f) != 0)
			errx(CTL_EXIT_FAILED, "listeners have different "
			    "%ss (%s, %s): say which with -f or -l", kind_name(k),
			    found, f);
		found = f;
	}
	if (t->listener != NULL && !named)
		errx(CTL_EXIT_FAILED, "no listener %s (brokerctl show "
		    "listeners)", t->listener);
	if (t->file != NULL)
		errx(CTL_EXIT_FAILED, "%s is not the %s of any listener%s%s",
		    t->file, kind_name(k), t->listener != NULL ? " " : "",
		    t->listener != NULL ? t->listener : "");
	if (found == NULL)
		errx(CTL_EXIT_FAILED, "%s %s no %s", t->listener != NULL ?
		    "listener" : "no listener", t->listener != NULL ?
		    t->listener : "has", kind_name(k));
	return found;
}

/* FILE.lock, held until brokerctl exits or closes it. */
static int
users_lock(const char *path)
{
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	char		*lock;
	int		 fd, waited;

	if (asprintf(&lock, "%s.lock", path) == -1)
		err(CTL_EXIT_FAILED, NULL);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		err(errno == EACCES || errno == EPERM ? CTL_EXIT_DENIED :
		    CTL_EXIT_FAILED, "%s", lock);
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; waited += 100) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			err(CTL_EXIT_FAILED, "flock %s", lock);
		if (waited >= LOCK_WAIT_MS)
			errx(CTL_EXIT_FAILED, "%s: another brokerctl is "
			    "editing it (%s)", path, lock);
		nanosleep(&ts, NULL);
	}
	free(lock);
	return fd;
}

/* Has the file been replaced or changed since it was read as `st'? */
static int
users_changed(const char *path, const struct stat *st)
{
	struct stat	 now;

	if (stat(path, &now) == -1)
		return 1;
	return now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
	    now.st_size != st->st_size ||
	    now.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->st_mtim.tv_nsec;
}

/*
 * One edit of one file, under its lock; the file is replaced only if
 * the edit succeeds and nobody changed it meanwhile.
 */
static void
users_edit(const char *path, enum file_kind k, enum edit_op op,
    const char *user, const char *entry, const struct acl_edit *e)
{
	struct text	 in = { 0 }, out = { 0 };
	struct stat	 st;
	char		 why[PATH_MAX + 512];
	int		 lock, rc;

	lock = users_lock(path);
	if (file_read(path, &in, &st) == -1)
		errx(CTL_EXIT_FAILED, "%s: no such file", path);
	if (k == F_PASSWD)
		rc = edit_passwd(path, in.buf, in.len, op, user, entry, &out,
		    why, sizeof(why));
	else
		rc = edit_acl(path, in.buf, in.len, e, &out, why,
		    sizeof(why));
	if (rc == -1)
		errx(CTL_EXIT_FAILED, "%s; %s unchanged", why, path);
	if (users_changed(path, &st))
		errx(CTL_EXIT_FAILED, "%s changed while brokerctl edited it; "
		    "nothing written, try again", path);
	file_write(path, &out, &st);
	text_free(&in);
	text_free(&out);
	close(lock);
}

/* brokerd reads the files again; the result is printed. */
static int
users_reload(const char *path, const char *what)
{
	char	 done[PATH_MAX + 512], res[1024], line[PATH_MAX + 2048];

	snprintf(done, sizeof(done), "%s was written, but brokerd still "
	    "runs with what it had: fix the files and brokerctl reload",
	    path);
	ctl_reload_auth(done, res, sizeof(res));
	snprintf(line, sizeof(line), "%s; %s", what, res);
	ctl_print_result(line);
	return CTL_EXIT_OK;
}

/*
 * A user of a listener with this ACL file must be in one of their
 * password files, if they have any: a name that is in none is a typo.
 */
static void
users_known(const char *aclpath, const char *user)
{
	struct ctl_listener	*ls;
	struct text		 t = { 0 };
	struct stat		 st;
	const char		*where = NULL;
	size_t			 i, n;

	n = ctl_auth_files(&ls);
	for (i = 0; i < n; i++) {
		if (ls[i].passwd[0] == '\0' || strcmp(ls[i].acl, aclpath) != 0)
			continue;
		where = ls[i].passwd;
		if (file_read(ls[i].passwd, &t, &st) == 0 &&
		    edit_passwd_has(t.buf, t.len, user)) {
			text_free(&t);
			return;
		}
		text_free(&t);
	}
	if (where != NULL)
		errx(CTL_EXIT_FAILED, "no user %s in %s (brokerctl user add "
		    "makes one)", user, where);
}

/* -f FILE, -l LISTENER: 1 if ch was one of them. */
static int
target_opt(struct target *t, int ch)
{
	if (ch == 'f')
		t->file = optarg;
	else if (ch == 'l')
		t->listener = optarg;
	else
		return 0;
	return 1;
}

/*
 * user add [-b] [-f file | -l listener] [-m method] [-i iterations]
 *     user [password]
 * user passwd (the same)
 * user del [-f file | -l listener] user
 */
int
brokerctl_user(enum edit_op op, int argc, char *argv[])
{
	struct target	 t = { NULL, NULL };
	struct text	 entry = { 0 };
	const char	*method = "argon2id", *path, *errstr, *why, *user;
	const char	*uargs;
	char		 pw[PW_MAXPASS + 1], what[1024];
	uint32_t	 iter = 0;
	int		 ch, batch = 0;

	uargs = op == EDIT_USER_DEL ? "[-f file | -l listener] user" :
	    "[-b] [-f file | -l listener] [-i iterations] [-m method] user "
	    "[password]";
	optind = 1;
	while ((ch = getopt(argc, argv, op == EDIT_USER_DEL ? "f:l:" :
	    "bf:i:l:m:")) != -1) {
		if (target_opt(&t, ch))
			continue;
		switch (ch) {
		case 'b':
			batch = 1;
			break;
		case 'i':
			iter = strtonum(optarg, 1, INT32_MAX, &errstr);
			if (errstr != NULL)
				errx(CTL_EXIT_FAILED, "iterations %s: %s",
				    optarg, errstr);
			break;
		case 'm':
			method = optarg;
			if (strcmp(method, "argon2id") != 0 &&
			    strcmp(method, "sha512-pbkdf2") != 0)
				errx(CTL_EXIT_FAILED, "method %s: argon2id or "
				    "sha512-pbkdf2", method);
			break;
		default:
			users_usage(op == EDIT_USER_DEL ? "user del" :
			    op == EDIT_USER_ADD ? "user add" : "user passwd",
			    uargs);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (batch ? 2 : 1) || (t.file != NULL && t.listener != NULL))
		users_usage(op == EDIT_USER_DEL ? "user del" : op ==
		    EDIT_USER_ADD ? "user add" : "user passwd", uargs);
	user = argv[0];
	if (passwd_user_valid(user, strlen(user), &why) == -1)
		errx(CTL_EXIT_FAILED, "%s: %s", user, why);

	path = target_pick(&t, F_PASSWD);
	if (op != EDIT_USER_DEL) {
		if (batch) {
			if (strlcpy(pw, argv[1], sizeof(pw)) >= sizeof(pw))
				errx(CTL_EXIT_FAILED, "password too long");
			explicit_bzero(argv[1], strlen(argv[1]));
		} else
			passwd_read(pw, sizeof(pw));
		if (pw[0] == '\0')
			errx(CTL_EXIT_FAILED, "empty password");
		if (passwd_entry(&entry, method, iter, pw) == -1)
			errx(CTL_EXIT_FAILED, "method %s", method);
		explicit_bzero(pw, sizeof(pw));
	}
	users_edit(path, F_PASSWD, op, user, entry.buf, NULL);
	text_free(&entry);
	snprintf(what, sizeof(what), "user %s %s %s", user,
	    op == EDIT_USER_ADD ? "added to" : op == EDIT_USER_DEL ?
	    "deleted from" : "has a new password in", path);
	return users_reload(path, what);
}

/*
 * group add|del [-f file | -l listener] group
 * group member add|del [-f file | -l listener] group user
 */
int
brokerctl_group(enum edit_op op, int argc, char *argv[])
{
	struct target	 t = { NULL, NULL };
	struct acl_edit	 e;
	const char	*path, *args;
	char		 what[1024], why[256];
	int		 ch, member = op == EDIT_MEMBER_ADD || op == EDIT_MEMBER_DEL;

	args = member ? "[-f file | -l listener] group user" :
	    "[-f file | -l listener] group";
	optind = 1;
	while ((ch = getopt(argc, argv, "f:l:")) != -1)
		if (!target_opt(&t, ch))
			users_usage(member ? "group member add|del" :
			    "group add|del", args);
	argc -= optind;
	argv += optind;
	if (argc != (member ? 2 : 1) || (t.file != NULL && t.listener != NULL))
		users_usage(member ? "group member add|del" : "group add|del",
		    args);
	memset(&e, 0, sizeof(e));
	e.op = op;
	e.who = ACL_WHO_GROUP;
	e.name = argv[0];
	e.member = member ? argv[1] : NULL;
	if (e.member != NULL && edit_word_valid(e.member, "member's name", 0,
	    why, sizeof(why)) == -1)
		errx(CTL_EXIT_FAILED, "%s", why);
	path = target_pick(&t, F_ACL);
	if (op == EDIT_MEMBER_ADD)
		users_known(path, e.member);
	users_edit(path, F_ACL, op, NULL, NULL, &e);
	switch (op) {
	case EDIT_GROUP_ADD:
		snprintf(what, sizeof(what), "group %s added to %s", e.name,
		    path);
		break;
	case EDIT_GROUP_DEL:
		snprintf(what, sizeof(what), "group %s deleted from %s",
		    e.name, path);
		break;
	default:
		snprintf(what, sizeof(what), "%s %s group %s in %s",
		    e.member, op == EDIT_MEMBER_ADD ? "added to" :
		    "taken out of", e.name, path);
		break;
	}
	return users_reload(path, what);
}

/*
 * acl add [-f file | -l listener] [-u user | -g group | -p] access filter
 * acl del [-f file | -l listener] [-u user | -g group | -p] [access]
 *     filter
 */
int
brokerctl_acl(enum edit_op op, int argc, char *argv[])
{
	struct target	 t = { NULL, NULL };
	struct acl_edit	 e;
	const char	*path, *args;
	char		 what[1024], who[512], why[256];
	int		 ch, nwho = 0;

	args = op == EDIT_RULE_ADD ?
	    "[-f file | -l listener] [-u user | -g group | -p] access filter" :
	    "[-f file | -l listener] [-u user | -g group | -p] [access] "
	    "filter";
	memset(&e, 0, sizeof(e));
	e.op = op;
	e.who = ACL_WHO_ANON;
	optind = 1;
	while ((ch = getopt(argc, argv, "f:g:l:pu:")) != -1) {
		if (target_opt(&t, ch))
			continue;
		switch (ch) {
		case 'g':
			e.who = ACL_WHO_GROUP;
			e.name = optarg;
			nwho++;
			break;
		case 'p':
			e.who = ACL_WHO_PATTERN;
			nwho++;
			break;
		case 'u':
			e.who = ACL_WHO_USER;
			e.name = optarg;
			nwho++;
			break;
		default:
			users_usage(op == EDIT_RULE_ADD ? "acl add" :
			    "acl del", args);
		}
	}
	argc -= optind;
	argv += optind;
	if (nwho > 1 || (t.file != NULL && t.listener != NULL) ||
	    (op == EDIT_RULE_ADD && argc != 2) ||
	    (op == EDIT_RULE_DEL && argc != 1 && argc != 2))
		users_usage(op == EDIT_RULE_ADD ? "acl add" : "acl del", args);
	if (argc == 2 && (e.flags = edit_access(argv[0])) == 0)
		errx(CTL_EXIT_FAILED, "access %s: read, write, readwrite or "
		    "deny", argv[0]);
	e.filter = argv[argc - 1];
	if (e.name != NULL && edit_word_valid(e.name, "user name", 1, why,
	    sizeof(why)) == -1)
		errx(CTL_EXIT_FAILED, "%s", why);
	path = target_pick(&t, F_ACL);
	if (op == EDIT_RULE_ADD && e.who == ACL_WHO_USER)
		users_known(path, e.name);
	users_edit(path, F_ACL, op, NULL, NULL, &e);
	if (e.who == ACL_WHO_ANON || e.who == ACL_WHO_PATTERN)
		strlcpy(who, e.who == ACL_WHO_ANON ? "anonymous clients" :
		    "every client (pattern)", sizeof(who));
	else
		snprintf(who, sizeof(who), "%s %s", e.who == ACL_WHO_USER ?
		    "user" : "group", e.name);
	snprintf(what, sizeof(what), "rule %s%s%s %s for %s in %s",
	    argc == 2 ? argv[0] : "", argc == 2 ? " " : "", e.filter,
	    op == EDIT_RULE_ADD ? "added" : "deleted", who, path);
	return users_reload(path, what);
}
