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

#ifndef BROKERD_IPC_H
#define BROKERD_IPC_H

#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>

#include <msgpack.h>

#include "buf.h"
#include "event.h"
#include "process.h"

/*
 * A frame is this header followed by `len' bytes holding exactly one
 * msgpack array whose fields follow the schema of `type'.  Host byte
 * order: both ends are on the same machine.
 */
struct ipc_hdr {
	uint16_t	type;
	uint16_t	flags;
	uint32_t	len;
	uint32_t	id;		/* peer, connection or request id */
};
#define IPC_HDR_SIZE	sizeof(struct ipc_hdr)
#define IPC_F_FD	0x0001		/* an fd rides with this frame */

/*
 * Message types and their schemas.  The schema is one letter per field
 * of the array:
 *	u  unsigned integer	i  integer	s  string
 *	b  binary		t  boolean	a  array	m  map
 *	*  anything (the handler checks it)
 * The fd column says whether an fd must (IPC_FD) or must not (0) ride
 * along.
 */
#define IPC_MESSAGES(X)							\
	/* any child -> parent: syslog priority, the line */		\
	X(IPC_LOG,		"us",		0)			\
	/* parent -> child: uid, gid, root dir, verbosity, drop? */	\
	X(IPC_CONF_PROC,	"uusit",	0)			\
	/* parent -> child: peer process, frame limit, fds in?,	\
	 * secrets (wipe the buffers)? */				\
	X(IPC_PEER,		"uutt",		IPC_FD)			\
	/* parent -> engine: listener id, kind, address,		\
	 * struct listener_opts (conf.h) */				\
	X(IPC_LISTENER,		"uusb",		IPC_FD)			\
	/* parent -> engine: a listener that tlsproxy serves (no	\
	 * socket here): id, kind, address, struct listener_opts */	\
	X(IPC_LISTENER_RELAYED,	"uusb",		0)			\
	/* parent -> tlsproxy: a listener to serve: id, address,	\
	 * struct listener_opts (conf.h) */				\
	X(IPC_TLS_LISTENER,	"usb",		IPC_FD)			\
	/* parent -> tlsproxy, on a secret channel: a file for listener \
	 * id: what (enum tls_pem_kind, conf.h), its PEM text */		\
	X(IPC_TLS_PEM,		"uub",		0)			\
	/* parent -> tlsproxy: build listener id's TLS from the files	\
	 * sent since, with its options now: id, struct listener_opts */ \
	X(IPC_TLS_LOAD,		"ub",		0)			\
	/* tlsproxy -> parent: how IPC_TLS_LOAD went: id, loaded, why */ \
	X(IPC_TLS_LOADED,	"uts",		0)			\
	/* tlsproxy -> engine: a connection (its socket) and its facts	\
	 * (struct handoff, tlsproxy.h): listener id, peer and local	\
	 * address (struct sockaddr_storage), transport, proxied,	\
	 * identity, TLS version, cipher, subject, CN */		\
	X(IPC_TLS_CONN,		"ubbutussss",	IPC_FD)			\
	/* tlsproxy -> engine: struct tlsproxy_stats (conf.h) */	\
	X(IPC_TLS_STATS,	"b",		0)			\
	/* parent -> engine: struct engine_conf (conf.h), as it is in	\
	 * memory: the engine is the same program (config_send_engine) */ \
	X(IPC_ENGINE_CONF,	"b",		0)			\
	/* parent -> authd: a file a listener names: kind		\
	 * (AUTH_FILE_*), path, contents (wiped once sent) */		\
	X(IPC_AUTH_FILE,	"usb",		0)			\
	/* parent -> authd, first: struct authd_conf (conf.h) */	\
	X(IPC_AUTH_CONF,	"b",		0)			\
	/* parent -> authd: listener id, address,			\
	 * struct listener_opts (conf.h) */				\
	X(IPC_AUTH_LISTENER,	"usb",		0)			\
	/* parent -> authd: the files and listeners sent since the	\
	 * last one replace the old ones, all at once */		\
	X(IPC_AUTH_COMMIT,	"",		0)			\
	/* authd -> parent, the id of the commit: it is running */	\
	X(IPC_AUTH_COMMITTED,	"",		0)			\
	/* engine -> authd, id = connection: listener id, client id	\
	 * (assigned if it was empty), has user name, user name, has	\
	 * password, password, address, protocol version,		\
	 * authentication method ("": none), authentication data,	\
	 * the user name is the verified certificate's identity */	\
	X(IPC_AUTH_CONNECT,	"uststbsusbt",	0)			\
	/* authd -> engine, id = connection: allow, MQTT 5 reason	\
	 * code, the client's compiled ACL (aclmatch.h; empty: the	\
	 * listener has no ACL file), authentication data for the	\
	 * CONNACK or the AUTH that ends a re-authentication */		\
	X(IPC_AUTH_VERDICT,	"tubb",		0)			\
	/* authd -> engine, id = connection: the next step of an	\
	 * enhanced authentication: authentication data (AUTH 0x18) */	\
	X(IPC_AUTH_CHALLENGE,	"b",		0)			\
	/* engine -> authd, id = connection: the client's answer (AUTH	\
	 * 0x18 with the same method): authentication data */		\
	X(IPC_AUTH_CONTINUE,	"b",		0)			\
	/* engine -> authd, id = connection: a connected client asks to	\
	 * authenticate again (AUTH 0x19): listener id, client id, has	\
	 * user name, user name, method, authentication data */		\
	X(IPC_AUTH_REAUTH,	"ustssb",	0)			\
	/* engine -> authd: a session of this identity has ended (id 0), \
	 * or the CONNECT of connection id went before its verdict:	\
	 * client id, listener id, has user name, user name (as in	\
	 * IPC_AUTH_CONNECT) */						\
	X(IPC_AUTH_END,		"suts",		0)			\
	/* authd -> engine, after a reload: the identity's new rights:	\
	 * client id, listener id, has user name, user name, still	\
	 * allowed (if not: disconnect), compiled ACL (as in the	\
	 * verdict) */							\
	X(IPC_AUTH_RIGHTS,	"sutstb",	0)			\
	/* authd -> engine: struct authd_stats (conf.h) */		\
	X(IPC_AUTH_STATS,	"b",		0)			\
	/* parent -> engine: a control socket: read-only (the monitor	\
	 * socket)?, the gid of the control group or -1 */		\
	X(IPC_CONTROL,		"ti",		IPC_FD)			\
	/* parent -> child: all set-up has been sent */		\
	X(IPC_CONF_END,		"",		0)			\
	/* child -> parent: sandboxed and ready */			\
	X(IPC_READY,		"",		0)			\
	/* parent -> child: every child is ready, start serving */	\
	X(IPC_START,		"",		0)			\
	/* parent -> child: new verbosity after a reload */		\
	X(IPC_VERBOSE,		"i",		0)			\
	/*								\
	 * The control protocol (brokerd/control.c, brokerctl(8)): one	\
	 * request, then records, then IPC_CTL_END or IPC_CTL_ERROR.	\
	 * Requests from brokerctl, a string argument "" if none.	\
	 */								\
	X(IPC_CTL_SHOW_STATS,	"",		0)			\
	/* client id */							\
	X(IPC_CTL_SHOW_CLIENTS,	"s",		0)			\
	/* client id */							\
	X(IPC_CTL_SHOW_SESSIONS, "s",		0)			\
	/* client id or topic filter */					\
	X(IPC_CTL_SHOW_SUBSCRIPTIONS, "s",	0)			\
	/* topic filter */						\
	X(IPC_CTL_SHOW_RETAINED, "s",		0)			\
	X(IPC_CTL_SHOW_LISTENERS, "",		0)			\
	/* also engine -> parent, id = the query */			\
	X(IPC_CTL_SHOW_PROCESSES, "",		0)			\
	X(IPC_CTL_SHOW_METRICS,	"",		0)			\
	/* client id, end its session too? */				\
	X(IPC_CTL_DISCONNECT,	"st",		0)			\
	/* brokerctl -> engine -> parent: read the configuration again */ \
	X(IPC_CTL_RELOAD,	"",		0)			\
	/* brokerctl -> engine -> parent: debug logging on? */		\
	X(IPC_CTL_LOG_VERBOSE,	"t",		0)			\
	/* brokerctl -> engine: the listeners and their files, as	\
	 * IPC_CTL_LISTENER records (user, group, acl: a change) */	\
	X(IPC_CTL_AUTH_FILES,	"",		0)			\
	/* brokerctl -> engine -> parent: read the password and ACL	\
	 * files of the running configuration again */			\
	X(IPC_CTL_RELOAD_AUTH,	"",		0)			\
	/* parent -> engine: how a reload went: success, message */	\
	X(IPC_CTL_RESULT,	"ts",		0)			\
	/* Records of replies, engine -> brokerctl.			\
	 * One counter: name, value */					\
	X(IPC_CTL_STAT,		"su",		0)			\
	/* client id, address, listener, protocol level, has user,	\
	 * user, keep alive, connected since (Unix time), in flight,	\
	 * queued, bytes received, bytes sent, subscriptions */	\
	X(IPC_CTL_CLIENT,	"sssutsuuuuuuu", 0)			\
	/* client id, online, protocol level, expiry (s, 2^32-1:	\
	 * never), expires in (s, -1: not counting down), subscriptions, \
	 * queued, queued bytes, in flight, will waiting, dropped */	\
	X(IPC_CTL_SESSION,	"stuuiuuuutu",	0)			\
	/* client id, filter, QoS, no local, retain as published,	\
	 * retain handling, subscription identifier (0: none) */	\
	X(IPC_CTL_SUBSCRIPTION,	"ssuttuu",	0)			\
	/* topic, QoS, payload size, expires in (s, -1: never),		\
	 * the first bytes of the payload */				\
	X(IPC_CTL_RETAINED,	"suuib",	0)			\
	/* id, name, type, family, connections, accepted, refused,	\
	 * max connections, max per address (0: none), anonymous,	\
	 * password file, acl file ("": none) */			\
	X(IPC_CTL_LISTENER,	"usssuuuuutss",	0)			\
	/* also parent -> engine: name, pid, uid, user, root directory,	\
	 * sandbox, resident bytes, virtual bytes, user CPU ms,	\
	 * system CPU ms */						\
	X(IPC_CTL_PROCESS,	"suusssuuuu",	0)			\
	/* a piece of text (show metrics) */				\
	X(IPC_CTL_TEXT,		"s",		0)			\
	/* the request failed: exit status for brokerctl, why */	\
	X(IPC_CTL_ERROR,	"us",		0)			\
	/* the end of a reply (message or ""); also parent -> engine	\
	 * after the IPC_CTL_PROCESS records */				\
	X(IPC_CTL_END,		"s",		0)		\
	/* parent -> storaged: persistence (conf.h PERSIST_*), damaged	\
	 * store (DAMAGED_*) */						\
	X(IPC_STORE_CONF,	"uu",		0)			\
	/*								\
	 * engine -> storaged, id = request number: the requests;	\
	 * storaged -> engine, during recovery, id 0: the state.	\
	 * Times are wall-clock ms, 0: never.				\
	 */								\
	/* message id, qos, retain, expires, topic, properties, payload */ \
	X(IPC_STORE_MSG,	"uutusbb",	0)			\
	/* topic, message id (0: cleared) */				\
	X(IPC_STORE_RETAIN,	"su",		0)			\
	/* client id, version, expiry, disconnected at, has will,	\
	 * will qos, will retain, will delay, will expiry, will topic,	\
	 * will properties, will payload */				\
	X(IPC_STORE_SESSION,	"suuututuusbb",	0)			\
	/* engine -> storaged: client id; the session and all it holds */ \
	X(IPC_STORE_SESSION_DEL, "s",		0)			\
	/* client id, filter, options, subscription identifier */	\
	X(IPC_STORE_SUB,	"ssuu",		0)			\
	/* engine -> storaged: client id, filter */			\
	X(IPC_STORE_UNSUB,	"ss",		0)			\
	/* client id, seq, message id, qos, retain, state, packet id,	\
	 * subscription identifiers */					\
	X(IPC_STORE_QUEUE,	"suuutuua",	0)			\
	/* engine -> storaged: client id, seq, state, packet id */	\
	X(IPC_STORE_QSTATE,	"suuu",		0)			\
	/* engine -> storaged: client id, seq: delivered or dropped */	\
	X(IPC_STORE_QDEL,	"su",		0)			\
	/* client id, packet id: QoS 2 received, not yet released */	\
	X(IPC_STORE_INREL,	"su",		0)			\
	/* engine -> storaged: client id, packet id: released */	\
	X(IPC_STORE_INREL_DEL,	"su",		0)			\
	/* storaged -> engine: requests up to id are durable (ok), or	\
	 * the batch holding them failed: IPC_STORE_E_*, why */	\
	X(IPC_STORE_COMMIT,	"tus",		0)			\
	/* engine -> storaged: the (next part of the) recovery stream */ \
	X(IPC_STORE_RECOVER,	"",		0)			\
	/* storaged -> engine: a part of the stream ends: ask again */	\
	X(IPC_STORE_CHUNK,	"",		0)			\
	/* storaged -> engine: the stream ends: next message id, next	\
	 * seq, items */						\
	X(IPC_STORE_END,	"uuu",		0)

/* IPC_STORE_COMMIT: why a batch failed (storaged's enum store_ekind). */
#define IPC_STORE_E_INVALID	1
#define IPC_STORE_E_NOSPACE	2

enum ipc_type {
	IPC_NONE = 0,
#define IPC_ENUM(t, s, f)	t,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	IPC_TYPE_MAX
};

#define IPC_FD		1

struct ipc_schema {
	const char	*name;
	const char	*fields;
	int		 fd;
};
extern const struct ipc_schema ipc_schemas[IPC_TYPE_MAX];

/* IPC_AUTH_FILE kinds. */
#define AUTH_FILE_PASSWD	0
#define AUTH_FILE_ACL		1
#define AUTH_FILE_SCRAM		2
#define AUTH_FILE_MAX		(8 * 1024 * 1024)	/* bytes */

/* Frame limits. */
#define IPC_PARENT_MAXLEN	(16 * 1024 * 1024)
#define IPC_DEFAULT_MAXLEN	(1024 * 1024)
#define IPC_MAX_DEPTH		8
#define IPC_MAX_FDQ		16
#define IPC_CTL_MAXLEN		(64 * 1024)

/* A process of brokerd, as the parent describes it (IPC_CTL_PROCESS). */
struct ctl_proc {
	char			 name[16];
	uint64_t		 pid;
	uint64_t		 uid;
	char			 user[64];
	char			 root[PATH_MAX];
	char			 sandbox[64];
	uint64_t		 rss;		/* bytes */
	uint64_t		 vsz;
	uint64_t		 utime;		/* ms */
	uint64_t		 stime;
};

/* brokerctl's exit status; IPC_CTL_ERROR says which. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAILED		1	/* the request failed; usage */
#define CTL_EXIT_UNREACHABLE	2	/* brokerd is not running */
#define CTL_EXIT_DENIED		3	/* not allowed */
#define CTL_EXIT_BROKEN		4	/* the connection broke */

/* A received message: the header, its fd and its validated fields. */
struct ipc_msg {
	struct ipc_hdr		 hdr;
	int			 fd;		/* owned by the handler */
	uint32_t		 nfields;
	const msgpack_object	*fields;
};

struct ipc_fdq_ent {
	int		 fd;
	uint64_t	 start;		/* stream offsets of the read */
	uint64_t	 end;		/* that brought it */
};

struct ipc_wfd {
	int		 fd;
	uint64_t	 off;		/* stream offset of its frame */
};

struct ipc_chan;
typedef void	(*ipc_dispatch_fn)(struct ipc_chan *, struct ipc_msg *);
typedef void	(*ipc_close_fn)(struct ipc_chan *, const char *);

struct ipc_chan {
	TAILQ_ENTRY(ipc_chan)	 pending;	/* has output to flush */
	TAILQ_ENTRY(ipc_chan)	 backlog;	/* has frames to dispatch */
	int			 fd;
	char			 name[32];
	size_t			 maxlen;	/* largest payload, each way */
	int			 recvfds;	/* fds may arrive here */
	struct event		 ev;
	int			 evflags;
	int			 paused;	/* not reading */
	int			 onpending;
	int			 onbacklog;
	int			 busy;
	int			 dead;
	int			 freeing;

	/* Reading. */
	struct buf		 rbuf;
	uint64_t		 rstream;	/* stream offset of rbuf rpos */
	size_t			 taken;		/* a secret frame handed out */
	struct ipc_fdq_ent	 rfds[IPC_MAX_FDQ];
	int			 nrfds;
	msgpack_zone		 zone;

	/* Writing. */
	struct buf		 wbuf;
	uint64_t		 wstream;	/* stream offset of wbuf rpos */
	struct ipc_wfd		 wfds[IPC_MAX_FDQ];
	int			 nwfds;
	size_t			 frame;		/* wbuf offset of open frame */
	int			 framing;
	int			 werror;
	msgpack_packer		 pk;
	size_t			 hiwat;		/* congested above this */
	int			 congested;

	ipc_dispatch_fn		 dispatch;
	ipc_close_fn		 closed;
	void			(*drained)(struct ipc_chan *);
	void			*arg;

	/* Counters for `brokerctl show stats'. */
	uint64_t		 frames_in;
	uint64_t		 frames_out;
};

/* ipc.c */
struct ipc_chan	*ipc_chan_new(int, const char *, size_t, int,
		    ipc_dispatch_fn, ipc_close_fn, void *);
void		 ipc_chan_free(struct ipc_chan *);
void		 ipc_chan_pause(struct ipc_chan *, int);
void		 ipc_chan_secret(struct ipc_chan *);
void		 ipc_chan_close(struct ipc_chan *, const char *);
int		 ipc_chan_read(struct ipc_chan *);
int		 ipc_chan_get(struct ipc_chan *, struct ipc_msg *,
		    const char **);
void		 ipc_msg_done(struct ipc_chan *, struct ipc_msg *);
int		 ipc_chan_flush(struct ipc_chan *);
int		 ipc_chan_flush_sync(struct ipc_chan *, int);
void		 ipc_flush_pending(void);
int		 ipc_congested(const struct ipc_chan *);
size_t		 ipc_queued(const struct ipc_chan *);

void		 ipc_begin(struct ipc_chan *, enum ipc_type, uint32_t,
		    uint32_t);
int		 ipc_end(struct ipc_chan *, int);
void		 ipc_put_uint(struct ipc_chan *, uint64_t);
void		 ipc_put_int(struct ipc_chan *, int64_t);
void		 ipc_put_str(struct ipc_chan *, const char *);
void		 ipc_put_strn(struct ipc_chan *, const char *, size_t);
void		 ipc_put_bin(struct ipc_chan *, const void *, size_t);
void		 ipc_put_bool(struct ipc_chan *, int);
void		 ipc_put_array(struct ipc_chan *, uint32_t);
int		 ipc_send(struct ipc_chan *, enum ipc_type, uint32_t, int);

uint64_t	 ipc_get_uint(const struct ipc_msg *, uint32_t);
int64_t		 ipc_get_int(const struct ipc_msg *, uint32_t);
int		 ipc_get_bool(const struct ipc_msg *, uint32_t);
const char	*ipc_get_str(const struct ipc_msg *, uint32_t, size_t *);
int		 ipc_get_cstr(const struct ipc_msg *, uint32_t, char *,
		    size_t);
const void	*ipc_get_bin(const struct ipc_msg *, uint32_t, size_t *);
int		 ipc_get_struct(const struct ipc_msg *, uint32_t, void *,
		    size_t);
const msgpack_object *ipc_get_obj(const struct ipc_msg *, uint32_t);
const char	*ipc_type_name(unsigned int);

/* validate.c */
struct ipc_limits {
	unsigned int	 max_depth;
	size_t		 max_objects;
};
int		 ipc_validate(const unsigned char *, size_t,
		    const struct ipc_limits *, const char **);
int		 ipc_check_schema(const msgpack_object *, const char *,
		    const char **);

#endif /* BROKERD_IPC_H */
