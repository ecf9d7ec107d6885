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
 * text columns or, with -j, as JSON.  Verbs may be abbreviated to any
 * unambiguous prefix: `brokerctl sh st'.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "brokerctl.h"
#include "ipc.h"
#include "log.h"

#define BROKERD_SOCKET	"/var/run/brokerd.sock"
#define MAXWORDS	4

enum action {
	SHOW_STATS,
	RELOAD
};

static const struct verb {
	const char	*words[MAXWORDS];
	enum action	 action;
	enum ipc_type	 request;
	const char	*help;
} verbs[] = {
	{ { "show", "stats" }, SHOW_STATS, IPC_CTL_SHOW_STATS,
	    "counters of the running broker" },
	{ { "reload" }, RELOAD, IPC_CTL_RELOAD,
	    "read the configuration file again" },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

static int		 json;
static int		 nrecords;
static int		 status;
static const struct verb *verb;

static __dead void	usage(void);
static const struct verb *parse_verb(int, char *[]);
static void		brokerctl_dispatch(struct ipc_chan *, struct ipc_msg *);
static void		brokerctl_closed(struct ipc_chan *, const char *);
static void		brokerctl_flush(void *);
static void		json_string(const char *, size_t);

static __dead void
usage(void)
{
	extern char	*__progname;
	size_t		 i, j;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n"
	    "       %s passwd [-bcD] [-i iterations] [-m method] file user "
	    "[password]\n"
	    "commands:\n", __progname, __progname);
	for (i = 0; i < NVERBS; i++) {
		fprintf(stderr, "  ");
		for (j = 0; j < MAXWORDS && verbs[i].words[j] != NULL; j++)
			fprintf(stderr, "%s ", verbs[i].words[j]);
		fprintf(stderr, "\t%s\n", verbs[i].help);
	}
	exit(1);
}

/* The one verb every word is a prefix of, or NULL. */
static const struct verb *
parse_verb(int argc, char *argv[])
{
	const struct verb	*found = NULL;
	size_t			 i;
	int			 j, n;

	for (i = 0; i < NVERBS; i++) {
		for (n = 0; n < MAXWORDS && verbs[i].words[n] != NULL; n++)
			;
		if (n != argc)
			continue;
		for (j = 0; j < argc; j++)
			if (argv[j][0] == '\0' || strncmp(argv[j],
			    verbs[i].words[j], strlen(argv[j])) != 0)
				break;
		if (j < argc)
			continue;
		if (found != NULL)
			errx(1, "ambiguous command");
		found = &verbs[i];
	}
	return found;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct ipc_chan		*chan;
	const char		*sockpath = BROKERD_SOCKET;
	int			 ch, fd;

	/* Offline: no socket, its own options. */
	if (argc > 1 && strcmp(argv[1], "passwd") == 0)
		return brokerctl_passwd(argc - 1, argv + 1);

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
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
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect %s", sockpath);

	ev_init();
	chan = ipc_chan_new(fd, "brokerd", IPC_CTL_MAXLEN, 0,
	    brokerctl_dispatch, brokerctl_closed, NULL);
	ipc_send(chan, verb->request, 0, -1);
	ev_setflush(brokerctl_flush, NULL);
	ev_dispatch();
	return status;
}

static void
brokerctl_flush(void *arg)
{
	(void)arg;
	ipc_flush_pending();
}

static void
json_string(const char *s, size_t len)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char	 c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_stat(struct ipc_msg *msg)
{
	const char	*name;
	size_t		 len;

	name = ipc_get_str(msg, 0, &len);
	if (json) {
		printf("%s\n  ", nrecords > 0 ? "," : "{");
		json_string(name, len);
		printf(": %llu", (unsigned long long)ipc_get_uint(msg, 1));
	} else
		printf("%-32.*s %llu\n", (int)len, name,
		    (unsigned long long)ipc_get_uint(msg, 1));
	nrecords++;
}

static void
brokerctl_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	const char	*text;
	size_t		 len;

	(void)chan;
	switch (msg->hdr.type) {
	case IPC_CTL_STAT:
		if (verb->action != SHOW_STATS)
			errx(1, "unexpected reply from brokerd");
		print_stat(msg);
		break;
	case IPC_CTL_END:
		text = ipc_get_str(msg, 0, &len);
		if (json && verb->action == SHOW_STATS)
			printf("%s\n}\n", nrecords == 0 ? "{" : "");
		else if (json) {
			printf("{\"result\": ");
			json_string(text, len);
			printf("}\n");
		} else if (len > 0)
			printf("%.*s\n", (int)len, text);
		ev_exit();
		break;
	case IPC_CTL_ERROR:
		text = ipc_get_str(msg, 0, &len);
		fprintf(stderr, "brokerctl: %.*s\n", (int)len, text);
		status = 1;
		ev_exit();
		break;
	default:
		errx(1, "unexpected %s from brokerd",
		    ipc_type_name(msg->hdr.type));
	}
}

static void
brokerctl_closed(struct ipc_chan *chan, const char *why)
{
	(void)chan;
	errx(1, "connection to brokerd %s", why != NULL ? why : "closed");
}
