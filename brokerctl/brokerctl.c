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
 * brokerctl: one request over the control socket, the reply printed as
 * text columns or, with -j, as JSON (brokerctl(8) has every schema).
 * Verbs may be abbreviated to any unambiguous prefix: `brokerctl sh st'.
 * Records are printed as they arrive: a listing of any length needs no
 * more memory than one record.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "brokerctl.h"
#include "ipc.h"
#include "log.h"

#define BROKERD_SOCKET	"/var/run/brokerd.sock"
#define MAXWORDS	3

enum arg {
	ARG_NONE,
	ARG_OPT,		/* one, optional */
	ARG_CLIENT_S,		/* a client id and maybe -s */
	ARG_REST		/* its own options and arguments (run) */
};

enum shape {
	SHAPE_RESULT,		/* {"result": "..."} */
	SHAPE_OBJECT,		/* counters: one object */
	SHAPE_LIST,		/* an array of objects */
	SHAPE_TEXT,		/* text as it comes */
	SHAPE_QUIET		/* nothing: for brokerctl itself */
};

struct verb {
	const char	*words[MAXWORDS];
	enum arg	 arg;
	const char	*argname;
	enum ipc_type	 request;
	enum ipc_type	 record;	/* of the reply, or IPC_NONE */
	enum shape	 shape;
	int		 flag;		/* log verbose: 1, brief: 0 */
	void		(*print)(struct ipc_msg *);
	const char	*help;
	int		(*run)(enum edit_op, int, char *[]);
};

static void	print_stat(struct ipc_msg *);
static void	print_client(struct ipc_msg *);
static void	print_session(struct ipc_msg *);
static void	print_sub(struct ipc_msg *);
static void	print_retained(struct ipc_msg *);
static void	print_listener(struct ipc_msg *);
static void	print_process(struct ipc_msg *);
static void	print_text(struct ipc_msg *);
static void	collect_listener(struct ipc_msg *);

static const struct verb verbs[] = {
	{ { "show", "clients" }, ARG_OPT, "[client-id]",
	    IPC_CTL_SHOW_CLIENTS, IPC_CTL_CLIENT, SHAPE_LIST, 0, print_client,
	    "connected clients, or one in detail" },
	{ { "show", "sessions" }, ARG_OPT, "[client-id]",
	    IPC_CTL_SHOW_SESSIONS, IPC_CTL_SESSION, SHAPE_LIST, 0,
	    print_session, "sessions, offline ones too" },
	{ { "show", "subscriptions" }, ARG_OPT, "[client-id | filter]",
	    IPC_CTL_SHOW_SUBSCRIPTIONS, IPC_CTL_SUBSCRIPTION, SHAPE_LIST, 0,
	    print_sub, "subscriptions of a client or matching a filter" },
	{ { "show", "retained" }, ARG_OPT, "[filter]",
	    IPC_CTL_SHOW_RETAINED, IPC_CTL_RETAINED, SHAPE_LIST, 0,
	    print_retained, "retained messages" },
	{ { "show", "listeners" }, ARG_NONE, "",
	    IPC_CTL_SHOW_LISTENERS, IPC_CTL_LISTENER, SHAPE_LIST, 0,
	    print_listener, "listening sockets and their connections" },
	{ { "show", "stats" }, ARG_NONE, "",
	    IPC_CTL_SHOW_STATS, IPC_CTL_STAT, SHAPE_OBJECT, 0, print_stat,
	    "counters of the running broker" },
	{ { "show", "processes" }, ARG_NONE, "",
	    IPC_CTL_SHOW_PROCESSES, IPC_CTL_PROCESS, SHAPE_LIST, 0,
	    print_process, "the processes: users, roots, sandboxes, memory" },
	{ { "show", "metrics" }, ARG_NONE, "",
	    IPC_CTL_SHOW_METRICS, IPC_CTL_TEXT, SHAPE_TEXT, 0, print_text,
	    "the metrics, in Prometheus's text format" },
	{ { "disconnect" }, ARG_CLIENT_S, "client-id [-s]",
	    IPC_CTL_DISCONNECT, IPC_NONE, SHAPE_RESULT, 0, NULL,
	    "disconnect a client (-s: and end its session)" },
	{ { "reload" }, ARG_NONE, "",
	    IPC_CTL_RELOAD, IPC_NONE, SHAPE_RESULT, 0, NULL,
	    "read the configuration file again" },
	{ { "log", "verbose" }, ARG_NONE, "",
	    IPC_CTL_LOG_VERBOSE, IPC_NONE, SHAPE_RESULT, 1, NULL,
	    "log debug messages" },
	{ { "log", "brief" }, ARG_NONE, "",
	    IPC_CTL_LOG_VERBOSE, IPC_NONE, SHAPE_RESULT, 0, NULL,
	    "log at the configured level" },
	/* users.c: they edit the files, then ask for IPC_CTL_RELOAD_AUTH. */
	{ { "user", "add" }, ARG_REST, "[-b] [-f file | -l listener] "
	    "[-m method] user [password]", IPC_NONE, IPC_NONE, SHAPE_RESULT,
	    EDIT_USER_ADD, NULL, "add a user to the password file",
	    brokerctl_user },
	{ { "user", "del" }, ARG_REST, "[-f file | -l listener] user",
	    IPC_NONE, IPC_NONE, SHAPE_RESULT, EDIT_USER_DEL, NULL,
	    "delete a user; connected, it is disconnected", brokerctl_user },
	{ { "user", "passwd" }, ARG_REST, "[-b] [-f file | -l listener] "
	    "[-m method] user [password]", IPC_NONE, IPC_NONE, SHAPE_RESULT,
	    EDIT_USER_PASSWD, NULL, "change a user's password",
	    brokerctl_user },
	{ { "group", "add" }, ARG_REST, "[-f file | -l listener] group",
	    IPC_NONE, IPC_NONE, SHAPE_RESULT, EDIT_GROUP_ADD, NULL,
	    "add a group to the ACL file", brokerctl_group },
	{ { "group", "del" }, ARG_REST, "[-f file | -l listener] group",
	    IPC_NONE, IPC_NONE, SHAPE_RESULT, EDIT_GROUP_DEL, NULL,
	    "delete a group, its members and its rules", brokerctl_group },
	{ { "group", "member", "add" }, ARG_REST, "[-f file | -l listener] "
	    "group user", IPC_NONE, IPC_NONE, SHAPE_RESULT, EDIT_MEMBER_ADD,
	    NULL, "make a user a member of a group", brokerctl_group },
	{ { "group", "member", "del" }, ARG_REST, "[-f file | -l listener] "
	    "group user", IPC_NONE, IPC_NONE, SHAPE_RESULT, EDIT_MEMBER_DEL,
	    NULL, "take a user out of a group", brokerctl_group },
	{ { "acl", "add" }, ARG_REST, "[-f file | -l listener] "
	    "[-u user | -g group | -p] access filter", IPC_NONE, IPC_NONE,
	    SHAPE_RESULT, EDIT_RULE_ADD, NULL, "add a rule to the ACL file",
	    brokerctl_acl },
	{ { "acl", "del" }, ARG_REST, "[-f file | -l listener] "
	    "[-u user | -g group | -p] [access] filter", IPC_NONE, IPC_NONE,
	    SHAPE_RESULT, EDIT_RULE_DEL, NULL, "delete a rule",
	    brokerctl_acl },
};

/* The requests of users.c. */
static const struct verb auth_files_verb = { { "auth-files" }, ARG_NONE, "",
	IPC_CTL_AUTH_FILES, IPC_CTL_LISTENER, SHAPE_QUIET, 0,
	collect_listener, "", NULL };
static const struct verb reload_auth_verb = { { "reload-auth" }, ARG_NONE,
	"", IPC_CTL_RELOAD_AUTH, IPC_NONE, SHAPE_QUIET, 0, NULL, "", NULL };
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

int			 ctl_json;
static int		 nrecords;
static int		 detail;	/* show clients ID */
static int		 replied;
static int		 ended;
static const struct verb *verb;
static const char	*request_arg = "";
static int		 end_session;
static int		 jfirst;
static const char	*sockpath = BROKERD_SOCKET;
static int		 rest_argc;
static char		**rest_argv;
static struct ctl_listener *listeners;
static size_t		 nlisteners;
static char		 result[1024];

static __dead void	usage(void);
static const struct verb *parse_verb(int, char *[]);
static void		brokerctl_dispatch(struct ipc_chan *, struct ipc_msg *);
static void		brokerctl_closed(struct ipc_chan *, const char *);
static void		brokerctl_flush(void *);
static void		brokerctl_request(void);
static void		json_string(const char *, size_t, int);
static const char	*error_note;

static __dead void
usage(void)
{
	extern char	*__progname;
	char		 line[160];
	size_t		 i, j;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n"
	    "       %s passwd [-bcD] [-i iterations] [-m method] file user "
	    "[password]\n"
	    "commands:\n", __progname, __progname);
	for (i = 0; i < NVERBS; i++) {
		line[0] = '\0';
		for (j = 0; j < MAXWORDS && verbs[i].words[j] != NULL; j++) {
			strlcat(line, verbs[i].words[j], sizeof(line));
			strlcat(line, " ", sizeof(line));
		}
		strlcat(line, verbs[i].argname, sizeof(line));
		if (strlen(line) > 36)
			fprintf(stderr, "  %s\n  %-36s %s\n", line, "",
			    verbs[i].help);
		else
			fprintf(stderr, "  %-36s %s\n", line,
			    verbs[i].help);
	}
	exit(CTL_EXIT_FAILED);
}

/*
 * The one verb whose words the arguments begin with (each a prefix of
 * its word) and whose arguments follow, or NULL.
 */
static const struct verb *
parse_verb(int argc, char *argv[])
{
	const struct verb	*found = NULL;
	size_t			 i;
	int			 j, n, rest;

	for (i = 0; i < NVERBS; i++) {
		for (n = 0; n < MAXWORDS && verbs[i].words[n] != NULL; n++)
			;
		if (argc < n)
			continue;
		for (j = 0; j < n; j++)
			if (argv[j][0] == '\0' || strncmp(argv[j],
			    verbs[i].words[j], strlen(argv[j])) != 0)
				break;
		if (j < n)
			continue;
		rest = argc - n;
		if ((verbs[i].arg == ARG_NONE && rest != 0) ||
		    (verbs[i].arg == ARG_OPT && rest > 1) ||
		    (verbs[i].arg == ARG_CLIENT_S && (rest < 1 || rest > 2)))
			continue;
		if (found != NULL)
			errx(CTL_EXIT_FAILED, "ambiguous command");
		found = &verbs[i];
	}
	if (found == NULL)
		return NULL;
	for (n = 0; n < MAXWORDS && found->words[n] != NULL; n++)
		;
	/* Its own getopt: its last word stands for the program's name. */
	rest_argc = argc - n + 1;
	rest_argv = argv + n - 1;
	argv += n;
	argc -= n;
	if (found->arg == ARG_OPT && argc == 1)
		request_arg = argv[0];
	if (found->arg == ARG_CLIENT_S) {
		request_arg = argv[0];
		if (argc == 2) {
			/* disconnect ID -s, or disconnect -s ID */
			if (strcmp(argv[1], "-s") == 0)
				end_session = 1;
			else if (strcmp(argv[0], "-s") == 0) {
				end_session = 1;
				request_arg = argv[1];
			} else
				return NULL;
		}
	}
	if (strlen(request_arg) > 65535)
		errx(CTL_EXIT_FAILED, "argument too long");
	return found;
}

static void
send_request(struct ipc_chan *chan)
{
	switch (verb->request) {
	case IPC_CTL_SHOW_CLIENTS:
	case IPC_CTL_SHOW_SESSIONS:
	case IPC_CTL_SHOW_SUBSCRIPTIONS:
	case IPC_CTL_SHOW_RETAINED:
		ipc_begin(chan, verb->request, 0, 1);
		ipc_put_str(chan, request_arg);
		ipc_end(chan, -1);
		break;
	case IPC_CTL_DISCONNECT:
		ipc_begin(chan, verb->request, 0, 2);
		ipc_put_str(chan, request_arg);
		ipc_put_bool(chan, end_session);
		ipc_end(chan, -1);
		break;
	case IPC_CTL_LOG_VERBOSE:
		ipc_begin(chan, verb->request, 0, 1);
		ipc_put_bool(chan, verb->flag);
		ipc_end(chan, -1);
		break;
	default:
		ipc_send(chan, verb->request, 0, -1);
		break;
	}
}

int
main(int argc, char *argv[])
{
	int	 ch;

	/* Offline: no socket, its own options. */
	if (argc > 1 && strcmp(argv[1], "passwd") == 0)
		return brokerctl_passwd(argc - 1, argv + 1);

	/* Options end at the command: `disconnect ID -s' is an argument. */
#ifdef __GLIBC__
	while ((ch = getopt(argc, argv, "+js:")) != -1) {
#else
	while ((ch = getopt(argc, argv, "js:")) != -1) {
#endif
		switch (ch) {
		case 'j':
			ctl_json = 1;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (verb = parse_verb(argc, argv)) == NULL)
		usage();
	log_init(1, LOG_USER);
	ev_init();
	if (verb->run != NULL)
		return verb->run(verb->flag, rest_argc, rest_argv);
	detail = verb->request == IPC_CTL_SHOW_CLIENTS &&
	    request_arg[0] != '\0' && !ctl_json;
	brokerctl_request();
	if (fflush(stdout) == EOF || ferror(stdout))
		err(CTL_EXIT_FAILED, "stdout");
	return CTL_EXIT_OK;
}

/* Sends the request of `verb' and handles its reply. */
static void
brokerctl_request(void)
{
	struct sockaddr_un	 sun;
	struct ipc_chan		*chan;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(CTL_EXIT_FAILED, "socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(CTL_EXIT_FAILED, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES || errno == EPERM)
			errx(CTL_EXIT_DENIED, "permission denied: %s is for "
			    "root, brokerd's user and the control group",
			    sockpath);
		if (errno == ENOENT || errno == ECONNREFUSED)
			errx(CTL_EXIT_UNREACHABLE, "brokerd is not running "
			    "(nothing listens on %s)", sockpath);
		err(CTL_EXIT_UNREACHABLE, "connect %s", sockpath);
	}
	replied = ended = nrecords = 0;
	chan = ipc_chan_new(fd, "brokerd", IPC_CTL_MAXLEN, 0,
	    brokerctl_dispatch, brokerctl_closed, NULL);
	send_request(chan);
	ev_setflush(brokerctl_flush, NULL);
	ev_dispatch();
	ipc_chan_free(chan);
}

/*
 * users.c: the listeners and their files, if this user may change
 * things (brokerctl exits if not); asked once.
 */
size_t
ctl_auth_files(struct ctl_listener **l)
{
	static int	 asked;

	if (!asked) {
		verb = &auth_files_verb;
		brokerctl_request();
		asked = 1;
	}
	*l = listeners;
	return nlisteners;
}

/*
 * users.c, after an edit: brokerd reads the password and ACL files
 * again.  If it cannot, brokerctl says so, and `done' (what was
 * written), and exits.
 */
void
ctl_reload_auth(const char *done, char *msg, size_t size)
{
	verb = &reload_auth_verb;
	error_note = done;
	brokerctl_request();
	strlcpy(msg, result, size);
}

/* users.c: what was done, as text or as {"result": "..."}. */
void
ctl_print_result(const char *text)
{
	if (ctl_json) {
		printf("{\"result\": ");
		json_string(text, strlen(text), 0);
		printf("}\n");
	} else
		printf("%s\n", text);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(CTL_EXIT_FAILED, "stdout");
}

static void
collect_listener(struct ipc_msg *msg)
{
	struct ctl_listener	*l;

	if ((l = reallocarray(listeners, nlisteners + 1, sizeof(*l))) == NULL)
		err(CTL_EXIT_FAILED, NULL);
	listeners = l;
	l = &listeners[nlisteners++];
	memset(l, 0, sizeof(*l));
	l->id = ipc_get_uint(msg, 0);
	if (ipc_get_cstr(msg, 1, l->name, sizeof(l->name)) == -1 ||
	    ipc_get_cstr(msg, 10, l->passwd, sizeof(l->passwd)) == -1 ||
	    ipc_get_cstr(msg, 11, l->acl, sizeof(l->acl)) == -1)
		errx(CTL_EXIT_BROKEN, "bad listener record from brokerd");
}

static void
brokerctl_flush(void *arg)
{
	(void)arg;
	ipc_flush_pending();
}

/* A JSON string; bytes that are not ASCII too if `bytes' (\u00XX). */
static void
json_string(const char *s, size_t len, int bytes)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char	 c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The members of one object of a list. */
static void
jbegin(void)
{
	printf("%s\n  {", nrecords > 0 ? "," : "[");
	jfirst = 1;
}

static void
jkey(const char *k)
{
	printf("%s\"%s\": ", jfirst ? "" : ", ", k);
	jfirst = 0;
}

static void
jstr(const char *k, const struct ipc_msg *msg, uint32_t i)
{
	const char	*s;
	size_t		 len;

	s = ipc_get_str(msg, i, &len);
	jkey(k);
	json_string(s, len, 0);
}

static void
juint(const char *k, uint64_t v)
{
	jkey(k);
	printf("%llu", (unsigned long long)v);
}

static void
jbool(const char *k, int v)
{
	jkey(k);
	printf("%s", v ? "true" : "false");
}

static void
jnull(const char *k)
{
	jkey(k);
	printf("null");
}

static void
jend(void)
{
	printf("}");
}

static const char *
protocol_name(uint64_t level)
{
	switch (level) {
	case 3:
		return "3.1";
	case 4:
		return "3.1.1";
	case 5:
		return "5";
	default:
		return "?";
	}
}

/* 1234, 12.3K, 4.5M, 1.2G */
static const char *
human(uint64_t v)
{
	static char	 buf[4][16];
	static int	 n;
	const char	*units = "KMGTPE";
	double		 d = v;
	int		 u = -1;

	n = (n + 1) % 4;
	if (v < 10000) {
		snprintf(buf[n], sizeof(buf[n]), "%llu", (unsigned long long)v);
		return buf[n];
	}
	while (d >= 1000 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf[n], sizeof(buf[n]), "%.1f%c", d, units[u]);
	return buf[n];
}

/* 45s, 12m03s, 3h04m, 2d03h */
static const char *
duration(uint64_t s)
{
	static char	 buf[4][32];
	static int	 n;

	n = (n + 1) % 4;
	if (s < 60)
		snprintf(buf[n], sizeof(buf[n]), "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf[n], sizeof(buf[n]), "%llum%02llus",
		    (unsigned long long)s / 60, (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf[n], sizeof(buf[n]), "%lluh%02llum",
		    (unsigned long long)s / 3600,
		    (unsigned long long)s % 3600 / 60);
	else
		snprintf(buf[n], sizeof(buf[n]), "%llud%02lluh",
		    (unsigned long long)s / 86400,
		    (unsigned long long)s % 86400 / 3600);
	return buf[n];
}

static uint64_t
ago(uint64_t when)
{
	time_t	 now = time(NULL);

	return (uint64_t)now > when ? (uint64_t)now - when : 0;
}

/* The header of a listing, before its first record. */
static void
header(const char *fmt, ...)
{
	va_list	 ap;

	if (ctl_json || nrecords > 0)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void
print_stat(struct ipc_msg *msg)
{
	const char	*name;
	size_t		 len;

	name = ipc_get_str(msg, 0, &len);
	if (ctl_json) {
		printf("%s\n  ", nrecords > 0 ? "," : "{");
		json_string(name, len, 0);
		printf(": %llu", (unsigned long long)ipc_get_uint(msg, 1));
	} else
		printf("%-32.*s %llu\n", (int)len, name,
		    (unsigned long long)ipc_get_uint(msg, 1));
}

#define S(i)	(int)slen(msg, i), sget(msg, i)

static size_t
slen(const struct ipc_msg *msg, uint32_t i)
{
	size_t	 len;

	(void)ipc_get_str(msg, i, &len);
	return len;
}

/* Never NULL: an empty string may have no bytes at all. */
static const char *
sget(const struct ipc_msg *msg, uint32_t i)
{
	const char	*s;
	size_t		 len;

	s = ipc_get_str(msg, i, &len);
	return len > 0 ? s : "";
}

static void
print_client(struct ipc_msg *msg)
{
	int		 user = ipc_get_bool(msg, 4);
	uint64_t	 since = ipc_get_uint(msg, 7);
	char		 when[64];
	time_t		 t = since;
	struct tm	*tm;

	if (ctl_json) {
		jbegin();
		jstr("client_id", msg, 0);
		jstr("address", msg, 1);
		jstr("listener", msg, 2);
		jkey("protocol");
		printf("\"%s\"", protocol_name(ipc_get_uint(msg, 3)));
		if (user)
			jstr("user", msg, 5);
		else
			jnull("user");
		juint("keepalive", ipc_get_uint(msg, 6));
		juint("connected_since", since);
		juint("inflight", ipc_get_uint(msg, 8));
		juint("queued", ipc_get_uint(msg, 9));
		juint("bytes_received", ipc_get_uint(msg, 10));
		juint("bytes_sent", ipc_get_uint(msg, 11));
		juint("subscriptions", ipc_get_uint(msg, 12));
		jend();
		return;
	}
	if (detail) {
		if ((tm = localtime(&t)) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", tm) == 0)
			strlcpy(when, "?", sizeof(when));
		printf("client id:       %.*s\n", S(0));
		printf("address:         %.*s\n", S(1));
		printf("listener:        %.*s\n", S(2));
		printf("protocol:        MQTT %s\n",
		    protocol_name(ipc_get_uint(msg, 3)));
		printf("user:            %.*s\n", user ? (int)slen(msg, 5) : 1,
		    user ? sget(msg, 5) : "-");
		printf("keep alive:      %llu s\n",
		    (unsigned long long)ipc_get_uint(msg, 6));
		printf("connected since: %s (%s)\n", when,
		    duration(ago(since)));
		printf("in flight:       %llu\n",
		    (unsigned long long)ipc_get_uint(msg, 8));
		printf("queued:          %llu\n",
		    (unsigned long long)ipc_get_uint(msg, 9));
		printf("subscriptions:   %llu\n",
		    (unsigned long long)ipc_get_uint(msg, 12));
		printf("bytes received:  %llu\n",
		    (unsigned long long)ipc_get_uint(msg, 10));
		printf("bytes sent:      %llu\n",
		    (unsigned long long)ipc_get_uint(msg, 11));
		return;
	}
	header("%-24s %-22s %-5s %-12s %5s %-7s %5s %6s %7s %7s\n",
	    "CLIENT ID", "ADDRESS", "MQTT", "USER", "KEEPA", "UP", "INFL",
	    "QUEUED", "IN", "OUT");
	printf("%-24.*s %-22.*s %-5s %-12.*s %5llu %-7s %5llu %6llu %7s %7s\n",
	    S(0), S(1), protocol_name(ipc_get_uint(msg, 3)),
	    user ? (int)slen(msg, 5) : 1, user ? sget(msg, 5) : "-",
	    (unsigned long long)ipc_get_uint(msg, 6), duration(ago(since)),
	    (unsigned long long)ipc_get_uint(msg, 8),
	    (unsigned long long)ipc_get_uint(msg, 9),
	    human(ipc_get_uint(msg, 10)), human(ipc_get_uint(msg, 11)));
}

static void
print_session(struct ipc_msg *msg)
{
	uint64_t	 expiry = ipc_get_uint(msg, 3);
	int64_t		 left = ipc_get_int(msg, 4);
	int		 online = ipc_get_bool(msg, 1);
	char		 exp[32], in[32];

	if (ctl_json) {
		jbegin();
		jstr("client_id", msg, 0);
		jbool("online", online);
		jkey("protocol");
		printf("\"%s\"", protocol_name(ipc_get_uint(msg, 2)));
		if (expiry == UINT32_MAX)
			jnull("expiry");
		else
			juint("expiry", expiry);
		if (left < 0)
			jnull("expires_in");
		else
			juint("expires_in", left);
		juint("subscriptions", ipc_get_uint(msg, 5));
		juint("queued", ipc_get_uint(msg, 6));
		juint("queued_bytes", ipc_get_uint(msg, 7));
		juint("inflight", ipc_get_uint(msg, 8));
		jbool("will", ipc_get_bool(msg, 9));
		juint("dropped", ipc_get_uint(msg, 10));
		jend();
		return;
	}
	if (expiry == UINT32_MAX)
		strlcpy(exp, "never", sizeof(exp));
	else
		strlcpy(exp, duration(expiry), sizeof(exp));
	strlcpy(in, left < 0 ? "-" : duration(left), sizeof(in));
	header("%-24s %-7s %-5s %-8s %-8s %5s %6s %7s %5s %4s %7s\n",
	    "CLIENT ID", "STATE", "MQTT", "EXPIRY", "EXPIRES", "SUBS",
	    "QUEUED", "BYTES", "INFL", "WILL", "DROPPED");
	printf("%-24.*s %-7s %-5s %-8s %-8s %5llu %6llu %7s %5llu %4s %7llu\n",
	    S(0), online ? "online" : "offline",
	    protocol_name(ipc_get_uint(msg, 2)), exp, in,
	    (unsigned long long)ipc_get_uint(msg, 5),
	    (unsigned long long)ipc_get_uint(msg, 6),
	    human(ipc_get_uint(msg, 7)),
	    (unsigned long long)ipc_get_uint(msg, 8),
	    ipc_get_bool(msg, 9) ? "yes" : "no",
	    (unsigned long long)ipc_get_uint(msg, 10));
}

static void
print_sub(struct ipc_msg *msg)
{
	uint64_t	 id = ipc_get_uint(msg, 6);
	char		 opts[32], sid[24];

	if (ctl_json) {
		jbegin();
		jstr("client_id", msg, 0);
		jstr("filter", msg, 1);
		juint("qos", ipc_get_uint(msg, 2));
		jbool("no_local", ipc_get_bool(msg, 3));
		jbool("retain_as_published", ipc_get_bool(msg, 4));
		juint("retain_handling", ipc_get_uint(msg, 5));
		if (id == 0)
			jnull("subscription_id");
		else
			juint("subscription_id", id);
		jend();
		return;
	}
	snprintf(opts, sizeof(opts), "%s%srh%llu",
	    ipc_get_bool(msg, 3) ? "nl," : "",
	    ipc_get_bool(msg, 4) ? "rap," : "",
	    (unsigned long long)ipc_get_uint(msg, 5));
	if (id == 0)
		strlcpy(sid, "-", sizeof(sid));
	else
		snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	header("%-24s %3s %-10s %-8s %s\n", "CLIENT ID", "QOS", "OPTIONS",
	    "SUB ID", "FILTER");
	printf("%-24.*s %3llu %-10s %-8s %.*s\n", S(0),
	    (unsigned long long)ipc_get_uint(msg, 2), opts, sid, S(1));
}

static void
print_retained(struct ipc_msg *msg)
{
	const unsigned char	*p;
	uint64_t		 size = ipc_get_uint(msg, 2);
	int64_t			 left = ipc_get_int(msg, 3);
	size_t			 len, i;

	p = ipc_get_bin(msg, 4, &len);
	if (ctl_json) {
		jbegin();
		jstr("topic", msg, 0);
		juint("qos", ipc_get_uint(msg, 1));
		juint("size", size);
		if (left < 0)
			jnull("expires_in");
		else
			juint("expires_in", left);
		jkey("payload");
		json_string((const char *)p, len, 1);
		jbool("payload_truncated", len < size);
		jend();
		return;
	}
	header("%-40s %3s %7s %-8s %s\n", "TOPIC", "QOS", "SIZE", "EXPIRES",
	    "PAYLOAD");
	printf("%-40.*s %3llu %7s %-8s ", S(0),
	    (unsigned long long)ipc_get_uint(msg, 1), human(size),
	    left < 0 ? "never" : duration(left));
	for (i = 0; i < len; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("%s\n", len < size ? "..." : "");
}

static void
print_listener(struct ipc_msg *msg)
{
	uint64_t	 max = ipc_get_uint(msg, 7), peraddr = ipc_get_uint(msg, 8);
	char		 lim[48];

	if (ctl_json) {
		jbegin();
		juint("id", ipc_get_uint(msg, 0));
		jstr("name", msg, 1);
		jstr("type", msg, 2);
		jstr("family", msg, 3);
		juint("connections", ipc_get_uint(msg, 4));
		juint("accepted", ipc_get_uint(msg, 5));
		juint("refused", ipc_get_uint(msg, 6));
		if (max == 0)
			jnull("max_connections");
		else
			juint("max_connections", max);
		if (peraddr == 0)
			jnull("max_connections_per_address");
		else
			juint("max_connections_per_address", peraddr);
		jbool("anonymous", ipc_get_bool(msg, 9));
		if (slen(msg, 10) > 0)
			jstr("password_file", msg, 10);
		else
			jnull("password_file");
		if (slen(msg, 11) > 0)
			jstr("acl_file", msg, 11);
		else
			jnull("acl_file");
		jend();
		return;
	}
	snprintf(lim, sizeof(lim), "%s/%s",
	    max == 0 ? "-" : human(max), peraddr == 0 ? "-" : human(peraddr));
	header("%-3s %-36s %-8s %6s %8s %7s %-11s %s\n", "ID", "LISTENER",
	    "TYPE", "CONNS", "ACCEPTED", "REFUSED", "MAX/ADDR", "ANONYMOUS");
	printf("%-3llu %-36.*s %-8.*s %6llu %8s %7s %-11s %s\n",
	    (unsigned long long)ipc_get_uint(msg, 0), S(1), S(2),
	    (unsigned long long)ipc_get_uint(msg, 4),
	    human(ipc_get_uint(msg, 5)), human(ipc_get_uint(msg, 6)), lim,
	    ipc_get_bool(msg, 9) ? "yes" : "no");
}

static void
print_process(struct ipc_msg *msg)
{
	uint64_t	 ut = ipc_get_uint(msg, 8), st = ipc_get_uint(msg, 9);

	if (ctl_json) {
		jbegin();
		jstr("process", msg, 0);
		juint("pid", ipc_get_uint(msg, 1));
		juint("uid", ipc_get_uint(msg, 2));
		jstr("user", msg, 3);
		jstr("root", msg, 4);
		jstr("sandbox", msg, 5);
		juint("rss_bytes", ipc_get_uint(msg, 6));
		juint("vsz_bytes", ipc_get_uint(msg, 7));
		jkey("cpu_user_seconds");
		printf("%.3f", ut / 1000.0);
		jkey("cpu_system_seconds");
		printf("%.3f", st / 1000.0);
		jend();
		return;
	}
	header("%-9s %7s %-12s %-18s %-28s %7s %8s\n", "PROCESS", "PID",
	    "USER", "ROOT", "SANDBOX", "RSS", "CPU");
	printf("%-9.*s %7llu %-12.*s %-18.*s %-28.*s %7s %7.2fs\n", S(0),
	    (unsigned long long)ipc_get_uint(msg, 1), S(3), S(4), S(5),
	    human(ipc_get_uint(msg, 6)), (ut + st) / 1000.0);
}

static void
print_text(struct ipc_msg *msg)
{
	const char	*s;
	size_t		 len;

	s = ipc_get_str(msg, 0, &len);
	if (ctl_json) {
		if (nrecords == 0)
			printf("{\"format\": \"prometheus-text-0.0.4\", "
			    "\"text\": \"");
		/* One string over many records: the quotes stay open. */
		while (len > 0) {
			unsigned char	 c = *s++;

			len--;
			if (c == '"' || c == '\\')
				printf("\\%c", c);
			else if (c == '\n')
				printf("\\n");
			else if (c < 0x20 || c == 0x7f)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	} else
		fwrite(s, 1, len, stdout);
}

/* IPC_CTL_END: close what the records opened, print the message. */
static void
print_end(const char *text, size_t len)
{
	switch (verb->shape) {
	case SHAPE_OBJECT:
		if (ctl_json)
			printf("%s\n}\n", nrecords == 0 ? "{" : "");
		break;
	case SHAPE_LIST:
		if (ctl_json)
			printf("%s\n", nrecords == 0 ? "[]" : "\n]");
		else if (nrecords == 0 && !detail)
			printf("none\n");
		break;
	case SHAPE_TEXT:
		if (ctl_json)
			printf("%s\"}\n", nrecords == 0 ?
			    "{\"format\": \"prometheus-text-0.0.4\", "
			    "\"text\": \"" : "");
		break;
	case SHAPE_QUIET:
		break;
	case SHAPE_RESULT:
		if (ctl_json) {
			printf("{\"result\": ");
			json_string(text, len, 0);
			printf("}\n");
		} else if (len > 0)
			printf("%.*s\n", (int)len, text);
		break;
	}
}

static void
brokerctl_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	const char	*text;
	size_t		 len;
	uint64_t	 status;

	(void)chan;
	replied = 1;
	if (msg->hdr.type == IPC_CTL_END) {
		text = ipc_get_str(msg, 0, &len);
		if (verb->shape == SHAPE_QUIET)
			snprintf(result, sizeof(result), "%.*s", (int)len,
			    len > 0 ? text : "");
		else
			print_end(text, len);
		ended = 1;
		ev_exit();
		return;
	}
	if (msg->hdr.type == IPC_CTL_ERROR) {
		status = ipc_get_uint(msg, 0);
		text = ipc_get_str(msg, 1, &len);
		if (status == CTL_EXIT_OK || status > CTL_EXIT_BROKEN)
			status = CTL_EXIT_FAILED;
		fflush(stdout);
		fprintf(stderr, "brokerctl: %.*s\n", (int)len,
		    len > 0 ? text : "");
		if (error_note != NULL)
			fprintf(stderr, "brokerctl: %s\n", error_note);
		exit(status);
	}
	if (msg->hdr.type != verb->record || verb->print == NULL)
		errx(CTL_EXIT_BROKEN, "unexpected %s from brokerd",
		    ipc_type_name(msg->hdr.type));
	verb->print(msg);
	nrecords++;
}

static void
brokerctl_closed(struct ipc_chan *chan, const char *why)
{
	struct ipc_msg	 msg;
	const char	*err2;

	/*
	 * Refused at once, brokerd may have said why and closed before our
	 * request went: read what it said.
	 */
	if (!replied) {
		while (ipc_chan_read(chan) > 0)
			;
		while (!ended && ipc_chan_get(chan, &msg, &err2) == 1)
			brokerctl_dispatch(chan, &msg);
	}
	fflush(stdout);
	if (ended)
		exit(CTL_EXIT_OK);
	errx(CTL_EXIT_BROKEN, "connection to brokerd %s",
	    why != NULL ? why : "closed before the reply ended");
}
