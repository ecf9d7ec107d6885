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

#ifndef BROKERD_H
#define BROKERD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/un.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "event.h"
#include "ipc.h"
#include "log.h"

#define BROKERD_CONF		"/etc/brokerd.conf"
#define BROKERD_SOCKET		"/var/run/brokerd.sock"
#define BROKERD_DATADIR		"/var/db/brokerd"
#define BROKERD_CHROOT		"/var/empty"
#define BROKERD_PORT		1883
#define BROKERD_METRICS_PORT	9234	/* as mosquitto-exporter's */

#define USER_NAME_MAX		64
#define READY_TIMEOUT		10000	/* ms for the children to be ready */

struct listener_conf {
	TAILQ_ENTRY(listener_conf) entry;
	unsigned int		 id;
	enum listen_kind	 kind;
	struct sockaddr_storage	 ss;		/* TCP: address and port */
	socklen_t		 sslen;
	char			 path[SUN_PATH_MAX];	/* UNIX */
	struct listener_opts	 o;		/* conf.h */
	int			 fd;		/* bound, in the parent */
	int			 bound;		/* unlink at exit (UNIX) */
};
TAILQ_HEAD(listener_list, listener_conf);

/*
 * The parent's own settings (settings.h says how a row reads); the
 * engine's and the listeners' are in conf.h.
 */
#define GLOBAL_SETTINGS(X)						\
	X(verbose, LOGLEVEL, 0, -1, 1, "log level", 1)			\
	X(control, PATH, BROKERD_SOCKET, 0, SUN_PATH_MAX,		\
	    "control socket", 0)					\
	X(datadir, PATH, BROKERD_DATADIR, 0, PATH_MAX, "datadir", 0)	\
	X(chroot, PATH, BROKERD_CHROOT, 0, PATH_MAX, "chroot", 0)	\
	X(user_engine, WORD, "_brokerd", 1, USER_NAME_MAX,		\
	    "user engine", 0)						\
	X(user_tlsproxy, WORD, "_brokertls", 1, USER_NAME_MAX,		\
	    "user tlsproxy", 0)						\
	X(user_authd, WORD, "_brokerauth", 1, USER_NAME_MAX,		\
	    "user authd", 0)						\
	X(user_storaged, WORD, "_brokerdb", 1, USER_NAME_MAX,		\
	    "user storaged", 0)						\
	X(control_group, WORD, "", 0, USER_NAME_MAX, "control group", 0) \
	X(monitor, PATH, "", 0, SUN_PATH_MAX, "monitor socket", 0)

struct brokerd_conf {
	GLOBAL_SETTINGS(SETTING_FIELD)
	struct listener_list	 listeners;
	struct engine_conf	 engine;
	struct authd_conf	 authd;
};

/* A file of authd's, read by the parent (authfile.c). */
struct authfile {
	TAILQ_ENTRY(authfile)	 entry;
	int			 kind;		/* AUTH_FILE_* */
	char			 path[PATH_MAX];
	uint8_t			*buf;
	size_t			 len, cap;
};
TAILQ_HEAD(authfile_list, authfile);

/* authfile.c */
int		 authfile_load(const struct brokerd_conf *,
		    struct authfile_list *);
void		 authfile_free(struct authfile_list *);
void		 authfile_send(struct ipc_chan *, const struct brokerd_conf *,
		    struct authfile_list *, uint32_t);

/* brokerd.c */
extern struct brokerd_conf	*brokerd_conf;

/* engine.c: the engine's main(), for brokerd -x engine */
__dead void	 engine_main(int);

/* config.c */
extern const struct setting	 global_settings[];
extern const size_t		 global_nsettings;
struct brokerd_conf *config_new(void);
struct listener_conf *config_listener_new(enum listen_kind);
void		 config_defaults(struct brokerd_conf *);
const char	*config_user(const struct brokerd_conf *, enum proc_type);
void		 config_reload_apply(struct brokerd_conf *,
		    const struct brokerd_conf *);
int		 listener_check(const struct listener_conf *, char *, size_t);
int		 listener_same(const struct listener_conf *,
		    const struct listener_conf *);
void		 config_send_storaged(struct ipc_chan *,
		    const struct engine_conf *);
void		 config_send_engine(struct ipc_chan *,
		    const struct engine_conf *);
void		 config_send_auth(struct ipc_chan *,
		    const struct brokerd_conf *);
void		 config_send_listeners(struct ipc_chan *,
		    const struct brokerd_conf *);
void		 config_free(struct brokerd_conf *);
int		 config_reload_check(const struct brokerd_conf *,
		    const struct brokerd_conf *);
const char	*listener_name(const struct listener_conf *);

/* parse.y */
struct brokerd_conf *parse_config(const char *);
int		 cmdline_symset(char *);

/* printconf.c */
void		 print_config(FILE *, const struct brokerd_conf *);

/* proc.c */
struct proc {
	enum proc_type		 type;
	pid_t			 pid;
	struct ipc_chan		*chan;
	int			 ready;
	int			 exited;
	int			 sent;		/* signal the parent sent */
};
extern struct proc	 procs[PROC_MAX];

void		 proc_spawn(const char *, int);
void		 proc_connect_peers(void);
void		 proc_configure(const struct brokerd_conf *, int);
struct proc	*proc_by_pid(pid_t);
int		 proc_all_ready(void);
void		 proc_broadcast(enum ipc_type);
void		 proc_broadcast_verbose(int);
void		 proc_stop_all(void);

/* procinfo.c */
void		 procinfo_send(struct ipc_chan *, uint32_t,
		    const struct brokerd_conf *);

/* brokerd.c, for proc.c */
void		 parent_dispatch_child(struct proc *, struct ipc_msg *);
void		 parent_child_closed(struct proc *, const char *);

/* tlsconf.c */
int		 tlsconf_check(const struct brokerd_conf *);
int		 tlsconf_send(struct ipc_chan *, const struct listener_conf *,
		    char *, size_t);
void		 tlsconf_send_listeners(struct ipc_chan *,
		    const struct brokerd_conf *);
int		 tlsconf_send_all(struct ipc_chan *,
		    const struct brokerd_conf *, int);

/* listener.c */
void		 listener_bind_all(struct brokerd_conf *);
int		 listener_bind_control(const char *, gid_t);
int		 listener_bind_monitor(const char *);
void		 listener_unlink_all(const struct brokerd_conf *);


#endif /* BROKERD_H */
