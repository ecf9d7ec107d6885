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
 * brokerd [priv]: the parent.  It reads the configuration, binds the
 * sockets, starts the children and supervises them.  It never reads a byte
 * that a network client sent.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

struct brokerd_conf	*brokerd_conf;

static const char	*conffile = BROKERD_CONF;
static int		 verbose_flag;
static int		 stopping;
static int		 started;
static struct evtimer	 ready_timer;
static char		 notify_socket[SUN_PATH_MAX];

static __dead void	usage(void);
static __dead void	parent_shutdown(int);
static void		parent_fatal_cleanup(void);
static void		parent_signal(int, void *);
static int		parent_reload(char *, size_t);
static int		parent_reload_auth(uint32_t, char *, size_t);
static void		parent_ctl_result(struct proc *, uint32_t, int,
			    const char *);
static void		parent_ready_timeout(void *);
static void		parent_flush(void *);
static int		parent_verbosity(const struct brokerd_conf *);
static void		parent_tls_loaded(uint64_t, int, const char *);
static void		parent_check_dirs(const struct brokerd_conf *);
static void		parent_check_parents(const char *);
static void		parent_self(const char *, char *, size_t);
static int64_t		parent_control_group(const struct brokerd_conf *);
static void		parent_log_verbose(struct proc *, uint32_t, int);
static void		parent_notify(const char *);

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    __progname);
	exit(1);
}

int
main(int argc, char *argv[])
{
	char			 self[PATH_MAX];
	struct rlimit		 rl;
	struct authfile_list	 files;
	const char		*role = NULL, *argv0 = argv[0], *p;
	int64_t			 group;
	int			 ch, debug = 0, noaction = 0, fd, mfd = -1;

	while ((ch = getopt(argc, argv, "D:df:nvx:")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(1, "could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose_flag++;
			break;
		case 'x':
			role = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		usage();

	if (role != NULL) {
		if (strcmp(role, proc_names[PROC_ENGINE]) != 0)
			errx(1, "unknown process %s", role);
		engine_main(debug);
	}

	/* Until the daemon detaches, errors go to the terminal. */
	log_init(1, LOG_DAEMON);
	log_setverbose(verbose_flag);
	if ((brokerd_conf = parse_config(conffile)) == NULL)
		exit(1);
	/* A TLS or password file that cannot be read: an error, at once. */
	if (tlsconf_check(brokerd_conf) > 0 ||
	    authfile_load(brokerd_conf, &files) == -1)
		exit(1);
	if (noaction) {
		if (verbose_flag)
			print_config(stdout, brokerd_conf);
		else
			fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	parent_self(argv0, self, sizeof(self));
	/* For systemd (Type=notify); the children have no business with it. */
	if ((p = getenv("NOTIFY_SOCKET")) != NULL) {
		strlcpy(notify_socket, p, sizeof(notify_socket));
		unsetenv("NOTIFY_SOCKET");
	}

	/*
	 * Everything that can fail at start fails before brokerd detaches,
	 * so the error reaches the terminal.  Binding comes before the
	 * children, so a busy port leaves none behind.
	 */
	log_setverbose(parent_verbosity(brokerd_conf));
	if (geteuid() != 0)
		log_warnx("not running as root: the children run as this "
		    "user without chroot; their seccomp filters still apply");
	parent_check_dirs(brokerd_conf);
	log_setsink(NULL, parent_fatal_cleanup);
	listener_bind_all(brokerd_conf);
	group = parent_control_group(brokerd_conf);
	fd = listener_bind_control(brokerd_conf->control, (gid_t)group);
	if (brokerd_conf->monitor[0] != '\0')
		mfd = listener_bind_monitor(brokerd_conf->monitor);

	/* Enough descriptors for the engine and tlsproxy to inherit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (!debug && daemon(1, 0) == -1)
		fatal("daemon");
	log_init(debug, LOG_DAEMON);
	log_setverbose(parent_verbosity(brokerd_conf));
	setproctitle("%s", "[priv]");
	signal(SIGPIPE, SIG_IGN);
	ev_init();

	ev_signal(SIGTERM, parent_signal, NULL);
	ev_signal(SIGINT, parent_signal, NULL);
	ev_signal(SIGHUP, parent_signal, NULL);
	ev_signal(SIGCHLD, parent_signal, NULL);
	proc_spawn(self, debug);
	started = 1;

	proc_configure(brokerd_conf, parent_verbosity(brokerd_conf));
	proc_connect_peers();
	config_send_engine(procs[PROC_ENGINE].chan, &brokerd_conf->engine);
	authfile_send(procs[PROC_AUTHD].chan, brokerd_conf, &files, 0);
	config_send_storaged(procs[PROC_STORAGED].chan,
	    &brokerd_conf->engine);
	config_send_listeners(procs[PROC_ENGINE].chan, brokerd_conf);
	tlsconf_send_listeners(procs[PROC_TLSPROXY].chan, brokerd_conf);
	tlsconf_send_all(procs[PROC_TLSPROXY].chan, brokerd_conf, 0);
	ipc_begin(procs[PROC_ENGINE].chan, IPC_CONTROL, 0, 2);
	ipc_put_bool(procs[PROC_ENGINE].chan, 0);
	ipc_put_int(procs[PROC_ENGINE].chan, group);
	ipc_end(procs[PROC_ENGINE].chan, fd);
	if (mfd != -1) {
		ipc_begin(procs[PROC_ENGINE].chan, IPC_CONTROL, 0, 2);
		ipc_put_bool(procs[PROC_ENGINE].chan, 1);
		ipc_put_int(procs[PROC_ENGINE].chan, group);
		ipc_end(procs[PROC_ENGINE].chan, mfd);
	}
	proc_broadcast(IPC_CONF_END);

	evtimer_set(&ready_timer, parent_ready_timeout, NULL);
	evtimer_add(&ready_timer, READY_TIMEOUT);
	ev_setflush(parent_flush, NULL);
	ev_dispatch();
	parent_shutdown(0);
}

/* The absolute path of this program, to re-execute it for the engine. */
static void
parent_self(const char *argv0, char *self, size_t size)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;

#ifdef __linux__
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (strlcpy(self, buf, size) >= size)
			fatalx("path too long");
		return;
	}
#else
	(void)n;
#endif
	if (strchr(argv0, '/') == NULL || realpath(argv0, buf) == NULL)
		fatalx("start brokerd with an absolute path");
	if (strlcpy(self, buf, size) >= size)
		fatalx("path too long");
}

/*
 * systemd's readiness notification (sd_notify(3)), without libsystemd:
 * one datagram to the socket $NOTIFY_SOCKET named at start, if any.
 */
static void
parent_notify(const char *state)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (notify_socket[0] != '/' && notify_socket[0] != '@')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, notify_socket, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return;
	len = offsetof(struct sockaddr_un, sun_path) + strlen(notify_socket);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';	/* an abstract socket */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sun,
	    len) == -1)
		log_debug("sd_notify %s: %s", notify_socket, strerror(errno));
	close(fd);
}

/* The gid of the control group, or -1 if there is none. */
static int64_t
parent_control_group(const struct brokerd_conf *conf)
{
	struct group	*gr;

	if (conf->control_group[0] == '\0')
		return -1;
	if ((gr = getgrnam(conf->control_group)) == NULL)
		fatalx("control group %s does not exist", conf->control_group);
	return gr->gr_gid;
}

/*
 * brokerctl log verbose|brief: debug logging in every process, or back
 * to the configured level (as if brokerd had been started without -v).
 */
static void
parent_log_verbose(struct proc *p, uint32_t id, int verbose)
{
	char	 msg[64];
	int	 level;

	verbose_flag = verbose;
	level = parent_verbosity(brokerd_conf);
	log_setverbose(level);
	proc_broadcast_verbose(level);
	log_info("log level %s, asked by brokerctl", level > 0 ? "debug" :
	    level == 0 ? "info" : "warning");
	snprintf(msg, sizeof(msg), "log level %s", level > 0 ? "debug" :
	    level == 0 ? "info" : "warning");
	parent_ctl_result(p, id, 1, msg);
}

/* -v raises the level of the configuration, never lowers it. */
static int
parent_verbosity(const struct brokerd_conf *conf)
{
	if (verbose_flag > conf->verbose)
		return verbose_flag;
	return conf->verbose;
}

/*
 * Someone who may rename a directory above the chroot or the data
 * directory could swap it for their own.  Warn about every such
 * component: writable by group or others (without the sticky bit), or
 * owned by someone other than root.
 */
static void
parent_check_parents(const char *dir)
{
	char		 path[PATH_MAX], *slash;
	struct stat	 st;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		fatalx("path too long: %s", dir);
	while ((slash = strrchr(path, '/')) != NULL) {
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(path, &st) == -1)
			fatal("%s", path);
		if (st.st_uid != 0 || ((st.st_mode & 022) != 0 &&
		    (st.st_mode & S_ISVTX) == 0))
			log_warnx("%s: unsafe ownership or mode of %s, a "
			    "directory above it", dir, path);
		if (slash == path)
			break;
	}
}

/*
 * The chroot directory must belong to root and be writable by nobody
 * else; the data directory belongs to storaged's user, mode 0700.  Both
 * are created if missing.
 */
static void
parent_check_dirs(const struct brokerd_conf *conf)
{
	struct passwd	*pw;
	struct stat	 st;
	uid_t		 uid = getuid();
	gid_t		 gid = getgid();
	int		 root = geteuid() == 0;

	if (root) {
		if (mkdir(conf->chroot, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", conf->chroot);
		if (stat(conf->chroot, &st) == -1)
			fatal("%s", conf->chroot);
		if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
		    (st.st_mode & 022) != 0)
			fatalx("chroot %s must be a directory owned by root "
			    "and writable by nobody else", conf->chroot);
		if ((pw = getpwnam(conf->user_storaged)) == NULL)
			fatalx("user %s for storaged does not exist",
			    conf->user_storaged);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		parent_check_parents(conf->chroot);
		parent_check_parents(conf->datadir);
	}
	if (mkdir(conf->datadir, 0700) == 0) {
		if (root && chown(conf->datadir, uid, gid) == -1)
			fatal("chown %s", conf->datadir);
	} else if (errno != EEXIST)
		fatal("mkdir %s", conf->datadir);
	if (stat(conf->datadir, &st) == -1)
		fatal("%s", conf->datadir);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s is not a directory", conf->datadir);
	if (st.st_uid != uid)
		fatalx("data directory %s must belong to %s", conf->datadir,
		    root ? conf->user_storaged : "this user");
	if ((st.st_mode & 077) != 0)
		fatalx("data directory %s must not be accessible by group "
		    "or others (mode 0700)", conf->datadir);
}

static void
parent_flush(void *arg)
{
	(void)arg;
	ipc_flush_pending();
}

void
parent_dispatch_child(struct proc *p, struct ipc_msg *msg)
{
	const char	*name = proc_names[p->type];
	char		 line[1024];
	uint64_t	 pri;
	size_t		 i;
	int		 ok;

	switch (msg->hdr.type) {
	case IPC_LOG:
		pri = ipc_get_uint(msg, 0);
		if (pri > LOG_DEBUG ||
		    ipc_get_cstr(msg, 1, line, sizeof(line)) == -1)
			fatalx("bad IPC_LOG from %s", name);
		/* The line may quote client data: no control characters. */
		for (i = 0; line[i] != '\0'; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				line[i] = '?';
		log_emit(pri, line);
		break;
	case IPC_CTL_RELOAD:
		if (p->type != PROC_ENGINE)
			fatalx("IPC_CTL_RELOAD from %s", name);
		ok = parent_reload(line, sizeof(line)) == 0;
		parent_ctl_result(p, msg->hdr.id, ok, line);
		break;
	case IPC_CTL_RELOAD_AUTH:
		if (p->type != PROC_ENGINE || msg->hdr.id == 0)
			fatalx("bad IPC_CTL_RELOAD_AUTH from %s", name);
		/* The answer waits for authd's IPC_AUTH_COMMITTED. */
		if (parent_reload_auth(msg->hdr.id, line, sizeof(line)) == -1)
			parent_ctl_result(p, msg->hdr.id, 0, line);
		break;
	case IPC_AUTH_COMMITTED:
		if (p->type != PROC_AUTHD)
			fatalx("IPC_AUTH_COMMITTED from %s", name);
		if (msg->hdr.id != 0)
			parent_ctl_result(&procs[PROC_ENGINE], msg->hdr.id, 1,
			    "users and ACLs reloaded");
		break;
	case IPC_CTL_LOG_VERBOSE:
		if (p->type != PROC_ENGINE)
			fatalx("IPC_CTL_LOG_VERBOSE from %s", name);
		parent_log_verbose(p, msg->hdr.id, ipc_get_bool(msg, 0));
		break;
	case IPC_CTL_SHOW_PROCESSES:
		if (p->type != PROC_ENGINE)
			fatalx("IPC_CTL_SHOW_PROCESSES from %s", name);
		procinfo_send(p->chan, msg->hdr.id, brokerd_conf);
		break;
	case IPC_TLS_LOADED:
		if (p->type != PROC_TLSPROXY ||
		    ipc_get_cstr(msg, 2, line, sizeof(line)) == -1)
			fatalx("bad IPC_TLS_LOADED from %s", name);
		parent_tls_loaded(ipc_get_uint(msg, 0), ipc_get_bool(msg, 1),
		    line);
		break;
	case IPC_READY:
		if (p->ready)
			fatalx("second IPC_READY from %s", name);
		p->ready = 1;
		log_debug("%s is sandboxed and ready", name);
		if (proc_all_ready()) {
			evtimer_del(&ready_timer);
			proc_broadcast(IPC_START);
			log_info("brokerd ready");
			parent_notify("READY=1");
		}
		break;
	default:
		fatalx("unexpected %s from %s", ipc_type_name(msg->hdr.type),
		    name);
	}
}

/*
 * tlsproxy built a listener's TLS from the files, or could not: before
 * the service starts that stops it; after, the listener keeps the set
 * it had.
 */
static void
parent_tls_loaded(uint64_t id, int ok, const char *why)
{
	const struct listener_conf	*l;

	TAILQ_FOREACH(l, &brokerd_conf->listeners, entry)
		if (l->id == id)
			break;
	if (l == NULL || !LISTENER_RELAYED(&l->o))
		fatalx("IPC_TLS_LOADED for listener %llu",
		    (unsigned long long)id);
	if (ok) {
		log_debug("listener %s: TLS loaded", listener_name(l));
		return;
	}
	if (!proc_all_ready()) {
		log_warnx("listener %s: %s", listener_name(l), why);
		parent_shutdown(1);
	}
	log_warnx("listener %s: %s; it keeps its running certificates",
	    listener_name(l), why);
}

void
parent_child_closed(struct proc *p, const char *why)
{
	if (stopping)
		return;
	/* Reaping the children says which one ended and how. */
	if (why != NULL)
		log_warnx("channel to %s: %s", proc_names[p->type], why);
	else
		log_debug("channel to %s closed", proc_names[p->type]);
	log_warnx("a child process ended; stopping brokerd");
	parent_shutdown(1);
}

static void
parent_ready_timeout(void *arg)
{
	int	 i;

	(void)arg;
	for (i = PROC_ENGINE; i < PROC_MAX; i++)
		if (!procs[i].ready)
			log_warnx("%s not ready after %d seconds",
			    proc_names[i], READY_TIMEOUT / 1000);
	parent_shutdown(1);
}

static void
parent_signal(int sig, void *arg)
{
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received %s, stopping", sig == SIGTERM ?
		    "SIGTERM" : "SIGINT");
		parent_shutdown(0);
	case SIGHUP:
		parent_reload(NULL, 0);
		break;
	case SIGCHLD:
		if (stopping)
			break;
		log_warnx("a child process ended; stopping brokerd");
		parent_shutdown(1);
	default:
		fatalx("unexpected signal %d", sig);
	}
}

/*
 * SIGHUP or brokerctl reload: read the configuration again.  If it has an
 * error the running configuration stays, and the error is logged as
 * file:line.  Returns 0 on success; `msg' says what happened.
 */
static int
parent_reload(char *msg, size_t size)
{
	struct brokerd_conf	*new;
	struct authfile_list	 files;
	int			 verbose, fixed, tls;

	log_info("reloading %s", conffile);
	if ((new = parse_config(conffile)) == NULL ||
	    authfile_load(new, &files) == -1) {
		if (new != NULL) {
			authfile_free(&files);
			config_free(new);
		}
		log_warnx("%s: reload failed; keeping the running "
		    "configuration", conffile);
		if (msg != NULL)
			snprintf(msg, size, "%s has errors (see the log); "
			    "the running configuration stays", conffile);
		return -1;
	}
	fixed = config_reload_check(brokerd_conf, new);
	config_reload_apply(brokerd_conf, new);
	config_free(new);
	verbose = parent_verbosity(brokerd_conf);
	log_setverbose(verbose);
	proc_broadcast_verbose(verbose);
	config_send_engine(procs[PROC_ENGINE].chan, &brokerd_conf->engine);
	authfile_send(procs[PROC_AUTHD].chan, brokerd_conf, &files, 0);
	tls = tlsconf_send_all(procs[PROC_TLSPROXY].chan, brokerd_conf, 1);
	log_info("configuration reloaded");
	if (msg != NULL)
		snprintf(msg, size, "configuration reloaded%s%s", fixed ?
		    "; some changes need a restart (see the log)" : "",
		    tls ? "; some TLS files could not be read: those "
		    "listeners keep their certificates (see the log)" : "");
	return 0;
}

/*
 * brokerctl user, group and acl, after their edit: the password and ACL
 * files of the running configuration are read again, and nothing else
 * (an edit of brokerd.conf waiting for its reload keeps waiting).  authd
 * swaps them in at once, as at a reload.
 */
static int
parent_reload_auth(uint32_t id, char *msg, size_t size)
{
	struct authfile_list	 files;

	if (authfile_load(brokerd_conf, &files) == -1) {
		authfile_free(&files);
		log_warnx("password and ACL files: keeping the running ones");
		snprintf(msg, size, "the password and ACL files have errors "
		    "(see the log); brokerd keeps the users and ACLs it had");
		return -1;
	}
	authfile_send(procs[PROC_AUTHD].chan, brokerd_conf, &files, id);
	log_info("password and ACL files read again");
	return 0;
}

/* How a control request that the parent serves went, for the engine. */
static void
parent_ctl_result(struct proc *p, uint32_t id, int ok, const char *text)
{
	ipc_begin(p->chan, IPC_CTL_RESULT, id, 2);
	ipc_put_bool(p->chan, ok);
	ipc_put_str(p->chan, text);
	ipc_end(p->chan, -1);
}

/* Stop the children, remove the sockets, exit. */
static __dead void
parent_shutdown(int code)
{
	stopping = 1;
	parent_notify("STOPPING=1");
	if (started)
		proc_stop_all();
	listener_unlink_all(brokerd_conf);
	log_info("brokerd stopped");
	exit(code);
}

/* fatal() in the parent: still no orphans and no stale sockets. */
static void
parent_fatal_cleanup(void)
{
	if (stopping)
		return;
	stopping = 1;
	if (started)
		proc_stop_all();
	if (brokerd_conf != NULL)
		listener_unlink_all(brokerd_conf);
}
