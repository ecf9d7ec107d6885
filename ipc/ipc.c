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
 * Framed messages over SOCK_STREAM socketpairs.
 *
 * fd passing: the sender starts a new sendmsg() at the first byte of every
 * frame that carries an fd, so the kernel attaches the fd to the segment
 * that begins with that frame.  A receive may return bytes of several
 * segments, so each received fd is remembered with the stream offsets of
 * the read that brought it; a frame flagged IPC_F_FD must start inside
 * that range, and an fd that no frame starting in its range claims is a
 * protocol error.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

#define IPC_READ_CHUNK		(64 * 1024)
#define IPC_FDS_PER_READ	4
#define IPC_HIWAT		(4 * 1024 * 1024)
#define IPC_WBUF_MIN_CAP	(64 * 1024 * 1024)

const struct ipc_schema ipc_schemas[IPC_TYPE_MAX] = {
	[IPC_NONE] = { "IPC_NONE", NULL, 0 },
#define IPC_SCHEMA(t, s, f)	[t] = { #t, s, f },
	IPC_MESSAGES(IPC_SCHEMA)
#undef IPC_SCHEMA
};

static TAILQ_HEAD(, ipc_chan) ipc_pending =
    TAILQ_HEAD_INITIALIZER(ipc_pending);
static TAILQ_HEAD(, ipc_chan) ipc_backlog =
    TAILQ_HEAD_INITIALIZER(ipc_backlog);

static void	ipc_chan_event(int, int, void *);
static void	ipc_chan_process(struct ipc_chan *, int);
static void	ipc_chan_destroy(struct ipc_chan *);
static void	ipc_chan_update(struct ipc_chan *);
static void	ipc_chan_untake(struct ipc_chan *);

const char *
ipc_type_name(unsigned int type)
{
	if (type == 0 || type >= IPC_TYPE_MAX)
		return "unknown";
	return ipc_schemas[type].name;
}

static int
ipc_pk_write(void *data, const char *p, size_t len)
{
	struct ipc_chan	*chan = data;

	if (buf_add(&chan->wbuf, p, len) == -1)
		chan->werror = 1;
	return 0;
}

/*
 * A channel on `fd' whose frames may be up to `maxlen' bytes each way.
 * `recvfds': fds may arrive on it.  `closed' runs on EOF (reason NULL) or
 * a protocol error (the reason); it may free the channel.
 */
struct ipc_chan *
ipc_chan_new(int fd, const char *name, size_t maxlen, int recvfds,
    ipc_dispatch_fn dispatch, ipc_close_fn closed, void *arg)
{
	struct ipc_chan	*chan;
	size_t		 cap;

	if ((chan = calloc(1, sizeof(*chan))) == NULL)
		fatal(NULL);
	chan->fd = fd;
	strlcpy(chan->name, name, sizeof(chan->name));
	chan->maxlen = maxlen;
	chan->recvfds = recvfds;
	chan->dispatch = dispatch;
	chan->closed = closed;
	chan->arg = arg;
	chan->hiwat = IPC_HIWAT;
	buf_init(&chan->rbuf, IPC_HDR_SIZE + maxlen + IPC_READ_CHUNK);
	/* Output beyond this means the peer has stopped reading. */
	cap = 4 * (IPC_HDR_SIZE + maxlen);
	if (cap < IPC_WBUF_MIN_CAP)
		cap = IPC_WBUF_MIN_CAP;
	buf_init(&chan->wbuf, cap);
	if (!msgpack_zone_init(&chan->zone, 8192))
		fatal(NULL);
	msgpack_packer_init(&chan->pk, chan, ipc_pk_write);
	ev_set(&chan->ev, fd, ipc_chan_event, chan);
	ipc_chan_update(chan);
	return chan;
}

static void
ipc_chan_destroy(struct ipc_chan *chan)
{
	int	 i;

	if (chan->evflags != 0)
		ev_del(&chan->ev);
	if (chan->onpending)
		TAILQ_REMOVE(&ipc_pending, chan, pending);
	if (chan->onbacklog)
		TAILQ_REMOVE(&ipc_backlog, chan, backlog);
	close(chan->fd);
	for (i = 0; i < chan->nrfds; i++)
		close(chan->rfds[i].fd);
	for (i = 0; i < chan->nwfds; i++)
		close(chan->wfds[i].fd);
	buf_free(&chan->rbuf);
	buf_free(&chan->wbuf);
	msgpack_zone_destroy(&chan->zone);
	free(chan);
}

/* Free a channel; safe from its own dispatch or close callback. */
void
ipc_chan_free(struct ipc_chan *chan)
{
	if (chan == NULL)
		return;
	chan->dead = 1;
	if (chan->busy > 0) {
		chan->freeing = 1;
		if (chan->evflags != 0) {
			ev_del(&chan->ev);
			chan->evflags = 0;
		}
		return;
	}
	ipc_chan_destroy(chan);
}

static void
ipc_chan_update(struct ipc_chan *chan)
{
	int	 flags = 0;

	if (chan->dead) {
		if (chan->evflags != 0)
			ev_del(&chan->ev);
		chan->evflags = 0;
		return;
	}
	if (!chan->paused)
		flags |= EV_READ;
	if (chan->onpending == 0 && buf_len(&chan->wbuf) > 0)
		flags |= EV_WRITE;
	if (flags == chan->evflags)
		return;
	if (flags == 0)
		ev_del(&chan->ev);
	else
		ev_add(&chan->ev, flags);
	chan->evflags = flags;
}

/* Stop or resume reading frames: back-pressure towards the peer. */
/*
 * The channel carries secrets (passwords to authd): what it has written
 * or read is wiped from its buffers, not left behind.
 */
void
ipc_chan_secret(struct ipc_chan *chan)
{
	buf_secret(&chan->rbuf, 1);
	buf_secret(&chan->wbuf, 1);
}

void
ipc_chan_pause(struct ipc_chan *chan, int pause)
{
	if (pause) {
		if (chan->onbacklog) {
			TAILQ_REMOVE(&ipc_backlog, chan, backlog);
			chan->onbacklog = 0;
		}
		chan->paused = 1;
	} else if (chan->paused) {
		chan->paused = 0;
		/* Frames already read are handled on the next turn. */
		if (buf_len(&chan->rbuf) > 0 && !chan->onbacklog) {
			TAILQ_INSERT_TAIL(&ipc_backlog, chan, backlog);
			chan->onbacklog = 1;
			ev_wakeup();
		}
	}
	ipc_chan_update(chan);
}

/*
 * Close a channel for a reason (NULL: EOF): its close callback runs now
 * and may free it.  Safe from its own dispatch function.
 */
void
ipc_chan_close(struct ipc_chan *chan, const char *why)
{
	if (chan->dead)
		return;
	chan->dead = 1;
	ipc_chan_update(chan);
	chan->closed(chan, why);
}

/*
 * Read what is there.  Returns the number of bytes read, 0 on EOF, -1 on
 * error (with *why set) and -2 if there was nothing to read.
 */
int
ipc_chan_read(struct ipc_chan *chan)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) *
				    IPC_FDS_PER_READ)];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	uint64_t	 start;
	ssize_t		 n;
	void		*p;
	size_t		 room;
	int		 i, nfds, *fds, bad = 0;

	room = chan->rbuf.max - buf_len(&chan->rbuf);
	if (room > IPC_READ_CHUNK)
		room = IPC_READ_CHUNK;
	if (room == 0 || (p = buf_reserve(&chan->rbuf, room)) == NULL)
		fatalx("%s: receive buffer full", chan->name);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = p;
	iov.iov_len = room;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
again:
	if ((n = recvmsg(chan->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EINTR)
			goto again;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -2;
		return -1;
	}
	start = chan->rstream + buf_len(&chan->rbuf);
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < nfds; i++) {
			if (!chan->recvfds || chan->nrfds >= IPC_MAX_FDQ) {
				close(fds[i]);
				bad = 1;
				continue;
			}
			chan->rfds[chan->nrfds].fd = fds[i];
			chan->rfds[chan->nrfds].start = start;
			chan->rfds[chan->nrfds].end = start + n;
			chan->nrfds++;
		}
	}
	if (bad || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EBADMSG;
		return -1;
	}
	buf_commit(&chan->rbuf, n);
	return n;
}

static int
ipc_fd_error(struct ipc_chan *chan, uint64_t start)
{
	/* An fd that came with bytes before this frame was never claimed. */
	return chan->nrfds > 0 && chan->rfds[0].end <= start;
}

/*
 * Take the next complete frame.  Returns 1 with *msg filled, 0 if more
 * bytes are needed, -1 on a protocol error with *why set.
 */
int
ipc_chan_get(struct ipc_chan *chan, struct ipc_msg *msg, const char **why)
{
	static const struct ipc_limits	 lim = {
		IPC_MAX_DEPTH, 1024 * 1024
	};
	const struct ipc_schema	*sc;
	struct ipc_hdr		 hdr;
	msgpack_object		 obj;
	const unsigned char	*payload;
	uint64_t		 start;
	size_t			 off = 0;
	int			 i;

	/* The last frame, if its handler did not call ipc_msg_done(). */
	ipc_chan_untake(chan);
	start = chan->rstream;
	if (ipc_fd_error(chan, start)) {
		*why = "fd without a frame to carry it";
		return -1;
	}
	if (buf_len(&chan->rbuf) < IPC_HDR_SIZE)
		return 0;
	memcpy(&hdr, buf_ptr(&chan->rbuf), IPC_HDR_SIZE);
	if (hdr.len > chan->maxlen) {
		*why = "frame too large";
		return -1;
	}
	if (hdr.type == IPC_NONE || hdr.type >= IPC_TYPE_MAX) {
		*why = "unknown message type";
		return -1;
	}
	if ((hdr.flags & ~IPC_F_FD) != 0) {
		*why = "unknown frame flags";
		return -1;
	}
	sc = &ipc_schemas[hdr.type];
	if ((hdr.flags & IPC_F_FD) && !chan->recvfds) {
		*why = "fd flag on a channel that passes no fds";
		return -1;
	}
	if ((hdr.flags & IPC_F_FD) &&
	    (chan->nrfds == 0 || chan->rfds[0].start > start)) {
		*why = "fd flag without an fd";
		return -1;
	}
	if (sc->fd != ((hdr.flags & IPC_F_FD) != 0)) {
		*why = sc->fd ? "message needs an fd" : "message takes no fd";
		return -1;
	}
	if (buf_len(&chan->rbuf) - IPC_HDR_SIZE < hdr.len)
		return 0;

	payload = buf_ptr(&chan->rbuf) + IPC_HDR_SIZE;
	if (ipc_validate(payload, hdr.len, &lim, why) == -1)
		return -1;
	msgpack_zone_clear(&chan->zone);
	if (msgpack_unpack((const char *)payload, hdr.len, &off, &chan->zone,
	    &obj) != MSGPACK_UNPACK_SUCCESS || off != hdr.len) {
		*why = "msgpack decoding failed";
		return -1;
	}
	if (ipc_check_schema(&obj, sc->fields, why) == -1)
		return -1;

	msg->hdr = hdr;
	msg->fd = -1;
	msg->nfields = obj.via.array.size;
	msg->fields = obj.via.array.ptr;
	if (hdr.flags & IPC_F_FD) {
		msg->fd = chan->rfds[0].fd;
		chan->nrfds--;
		for (i = 0; i < chan->nrfds; i++)
			chan->rfds[i] = chan->rfds[i + 1];
	}
	if (chan->rbuf.secret)
		chan->taken = IPC_HDR_SIZE + hdr.len;
	else {
		buf_consume(&chan->rbuf, IPC_HDR_SIZE + hdr.len);
		chan->rstream += IPC_HDR_SIZE + hdr.len;
	}
	chan->frames_in++;
	return 1;
}

/*
 * A frame handed out by ipc_chan_get() leaves the buffer.  On a secret
 * channel that waits until its handler is done, because a message's
 * strings point into the buffer and consuming wipes them.
 */
static void
ipc_chan_untake(struct ipc_chan *chan)
{
	if (chan->taken == 0)
		return;
	buf_consume(&chan->rbuf, chan->taken);
	chan->rstream += chan->taken;
	chan->taken = 0;
}

/* The handler is done with a message: close an fd it did not take. */
void
ipc_msg_done(struct ipc_chan *chan, struct ipc_msg *msg)
{
	if (msg->fd != -1)
		close(msg->fd);
	msg->fd = -1;
	ipc_chan_untake(chan);
}

/* Dispatch every complete frame in the receive buffer. */
static void
ipc_chan_process(struct ipc_chan *chan, int eof)
{
	struct ipc_msg	 msg;
	const char	*why = NULL;
	int		 r;

	while (!chan->dead && !chan->paused) {
		if ((r = ipc_chan_get(chan, &msg, &why)) == -1) {
			ipc_chan_close(chan, why);
			return;
		}
		if (r == 0)
			break;
		chan->dispatch(chan, &msg);
		ipc_msg_done(chan, &msg);
	}
	if (eof && !chan->dead) {
		if (buf_len(&chan->rbuf) > 0)
			why = "EOF in the middle of a frame";
		else if (chan->nrfds > 0)
			why = "fd without a frame to carry it";
		ipc_chan_close(chan, why);
	}
}

/*
 * A peer that exited (EPIPE; ECONNRESET if it left data unread) closed
 * its channel as an EOF does: whoever supervises it says why it ended.
 */
static int
ipc_peer_gone(void)
{
	return errno == EPIPE || errno == ECONNRESET;
}

static void
ipc_chan_event(int fd, int flags, void *arg)
{
	struct ipc_chan	*chan = arg;
	int		 n;

	(void)fd;
	chan->busy++;
	if ((flags & EV_WRITE) && !chan->dead &&
	    ipc_chan_flush(chan) == -1)
		ipc_chan_close(chan, ipc_peer_gone() ? NULL : "write error");
	if ((flags & EV_READ) && !chan->dead && !chan->paused) {
		n = ipc_chan_read(chan);
		if (n == -1 && ipc_peer_gone())
			n = 0;
		if (n == -1)
			ipc_chan_close(chan, errno == EBADMSG ?
			    "unexpected fds" : "read error");
		else if (n != -2)
			ipc_chan_process(chan, n == 0);
	}
	chan->busy--;
	if (chan->freeing && chan->busy == 0)
		ipc_chan_destroy(chan);
}

/*
 * Write what is queued.  Returns 0 when done or when the socket is full
 * (the rest goes when it is writable), -1 on error.
 */
int
ipc_chan_flush(struct ipc_chan *chan)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	uint64_t	 lim;
	ssize_t		 n;
	size_t		 len;
	int		 sendfd, i;

	if (chan->onpending) {
		TAILQ_REMOVE(&ipc_pending, chan, pending);
		chan->onpending = 0;
	}
	if (chan->dead || chan->werror)
		return -1;
	while ((len = buf_len(&chan->wbuf)) > 0 && !chan->framing) {
		sendfd = -1;
		if (chan->nwfds > 0) {
			if (chan->wfds[0].off == chan->wstream) {
				sendfd = chan->wfds[0].fd;
				lim = chan->nwfds > 1 ?
				    chan->wfds[1].off : UINT64_MAX;
			} else
				lim = chan->wfds[0].off;
			if (lim - chan->wstream < len)
				len = lim - chan->wstream;
		}
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf_ptr(&chan->wbuf);
		iov.iov_len = len;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (sendfd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &sendfd, sizeof(int));
		}
		if ((n = sendmsg(chan->fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		if (sendfd != -1) {
			close(sendfd);
			chan->nwfds--;
			for (i = 0; i < chan->nwfds; i++)
				chan->wfds[i] = chan->wfds[i + 1];
		}
		buf_consume(&chan->wbuf, n);
		chan->wstream += n;
	}
	if (buf_len(&chan->wbuf) == 0)
		buf_shrink(&chan->wbuf, 64 * 1024);
	if (chan->congested && buf_len(&chan->wbuf) < chan->hiwat / 2) {
		chan->congested = 0;
		if (chan->drained != NULL)
			chan->drained(chan);
	}
	ipc_chan_update(chan);
	return 0;
}

/* Write everything now, waiting at most `timeout' ms (for fatal()). */
int
ipc_chan_flush_sync(struct ipc_chan *chan, int timeout)
{
	struct pollfd	 pfd;
	uint64_t	 deadline = ev_clock() + timeout, now;

	while (!chan->dead && buf_len(&chan->wbuf) > 0) {
		if (ipc_chan_flush(chan) == -1)
			return -1;
		if (buf_len(&chan->wbuf) == 0)
			break;
		if ((now = ev_clock()) >= deadline)
			return -1;
		pfd.fd = chan->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, deadline - now) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Run from the event loop's flush hook: write the output of every channel
 * queued during this turn, and handle frames held back by a pause.
 */
void
ipc_flush_pending(void)
{
	struct ipc_chan	*chan;

	while ((chan = TAILQ_FIRST(&ipc_backlog)) != NULL) {
		TAILQ_REMOVE(&ipc_backlog, chan, backlog);
		chan->onbacklog = 0;
		chan->busy++;
		ipc_chan_process(chan, 0);
		ipc_chan_update(chan);
		chan->busy--;
		if (chan->freeing && chan->busy == 0)
			ipc_chan_destroy(chan);
	}
	while ((chan = TAILQ_FIRST(&ipc_pending)) != NULL) {
		chan->busy++;
		if (ipc_chan_flush(chan) == -1)
			ipc_chan_close(chan, chan->werror ?
			    "output queue full: the peer is not reading" :
			    ipc_peer_gone() ? NULL : "write error");
		chan->busy--;
		if (chan->freeing && chan->busy == 0)
			ipc_chan_destroy(chan);
	}
}

int
ipc_congested(const struct ipc_chan *chan)
{
	return chan->congested;
}

size_t
ipc_queued(const struct ipc_chan *chan)
{
	return buf_len(&chan->wbuf);
}

/* Start a frame of `type' with `nfields' fields; ipc_put_*() fill it. */
void
ipc_begin(struct ipc_chan *chan, enum ipc_type type, uint32_t id,
    uint32_t nfields)
{
	struct ipc_hdr	 hdr;

	if (chan->framing)
		fatalx("%s: %s begun inside another frame", chan->name,
		    ipc_type_name(type));
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.id = id;
	chan->framing = 1;
	chan->frame = buf_len(&chan->wbuf);
	if (buf_add(&chan->wbuf, &hdr, sizeof(hdr)) == -1)
		chan->werror = 1;
	msgpack_pack_array(&chan->pk, nfields);
}

/*
 * Close the frame.  An fd (or -1) rides along; the channel closes it once
 * it is sent.  Returns -1 if the peer has stopped reading and the channel
 * is now dead.
 */
int
ipc_end(struct ipc_chan *chan, int fd)
{
	struct ipc_hdr	 hdr;
	unsigned char	*p;
	size_t		 len;

	if (!chan->framing)
		fatalx("%s: ipc_end without ipc_begin", chan->name);
	chan->framing = 0;
	if (chan->werror || chan->dead) {
		/* The close callback runs from ipc_flush_pending(). */
		if (fd != -1)
			close(fd);
		if (!chan->dead && !chan->onpending) {
			TAILQ_INSERT_TAIL(&ipc_pending, chan, pending);
			chan->onpending = 1;
		}
		return -1;
	}
	/* Frames have any length: the header need not be aligned. */
	p = buf_ptr(&chan->wbuf) + chan->frame;
	memcpy(&hdr, p, sizeof(hdr));
	len = buf_len(&chan->wbuf) - chan->frame - IPC_HDR_SIZE;
	if (len > chan->maxlen)
		fatalx("%s: %s frame of %zu bytes is over the limit",
		    chan->name, ipc_type_name(hdr.type), len);
	if ((fd != -1) != (ipc_schemas[hdr.type].fd != 0))
		fatalx("%s: %s sent with a wrong fd", chan->name,
		    ipc_type_name(hdr.type));
	hdr.len = len;
	if (fd != -1) {
		if (chan->nwfds >= IPC_MAX_FDQ)
			fatalx("%s: too many fds queued", chan->name);
		hdr.flags |= IPC_F_FD;
		chan->wfds[chan->nwfds].fd = fd;
		chan->wfds[chan->nwfds].off = chan->wstream + chan->frame;
		chan->nwfds++;
	}
	memcpy(p, &hdr, sizeof(hdr));
	chan->frames_out++;
	if (buf_len(&chan->wbuf) > chan->hiwat)
		chan->congested = 1;
	if (!chan->onpending) {
		TAILQ_INSERT_TAIL(&ipc_pending, chan, pending);
		chan->onpending = 1;
	}
	return 0;
}

/* A frame with no fields. */
int
ipc_send(struct ipc_chan *chan, enum ipc_type type, uint32_t id, int fd)
{
	ipc_begin(chan, type, id, 0);
	return ipc_end(chan, fd);
}

void
ipc_put_uint(struct ipc_chan *chan, uint64_t v)
{
	msgpack_pack_uint64(&chan->pk, v);
}

void
ipc_put_int(struct ipc_chan *chan, int64_t v)
{
	msgpack_pack_int64(&chan->pk, v);
}

void
ipc_put_strn(struct ipc_chan *chan, const char *s, size_t len)
{
	msgpack_pack_str(&chan->pk, len);
	/* (NULL, 0) is empty: no memcpy from NULL. */
	if (len > 0)
		msgpack_pack_str_body(&chan->pk, s, len);
}

void
ipc_put_str(struct ipc_chan *chan, const char *s)
{
	ipc_put_strn(chan, s, strlen(s));
}

void
ipc_put_bin(struct ipc_chan *chan, const void *p, size_t len)
{
	msgpack_pack_bin(&chan->pk, len);
	if (len > 0)
		msgpack_pack_bin_body(&chan->pk, p, len);
}

void
ipc_put_bool(struct ipc_chan *chan, int v)
{
	if (v)
		msgpack_pack_true(&chan->pk);
	else
		msgpack_pack_false(&chan->pk);
}

void
ipc_put_array(struct ipc_chan *chan, uint32_t n)
{
	msgpack_pack_array(&chan->pk, n);
}

/*
 * Typed access to the fields of a message that passed its schema.  A
 * mismatch here is a bug in the handler, not bad input.
 */
const msgpack_object *
ipc_get_obj(const struct ipc_msg *msg, uint32_t i)
{
	if (i >= msg->nfields)
		fatalx("%s: no field %u", ipc_type_name(msg->hdr.type), i);
	return &msg->fields[i];
}

uint64_t
ipc_get_uint(const struct ipc_msg *msg, uint32_t i)
{
	const msgpack_object	*o = ipc_get_obj(msg, i);

	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fatalx("%s: field %u is not unsigned",
		    ipc_type_name(msg->hdr.type), i);
	return o->via.u64;
}

int64_t
ipc_get_int(const struct ipc_msg *msg, uint32_t i)
{
	const msgpack_object	*o = ipc_get_obj(msg, i);

	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fatalx("%s: field %u is not an integer",
		    ipc_type_name(msg->hdr.type), i);
	return o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
}

int
ipc_get_bool(const struct ipc_msg *msg, uint32_t i)
{
	const msgpack_object	*o = ipc_get_obj(msg, i);

	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		fatalx("%s: field %u is not a boolean",
		    ipc_type_name(msg->hdr.type), i);
	return o->via.boolean;
}

const char *
ipc_get_str(const struct ipc_msg *msg, uint32_t i, size_t *len)
{
	const msgpack_object	*o = ipc_get_obj(msg, i);

	if (o->type != MSGPACK_OBJECT_STR)
		fatalx("%s: field %u is not a string",
		    ipc_type_name(msg->hdr.type), i);
	*len = o->via.str.size;
	return o->via.str.ptr;
}

/*
 * Copy a string field into `dst' as a C string.  Returns -1 if it holds a
 * NUL byte or does not fit.
 */
int
ipc_get_cstr(const struct ipc_msg *msg, uint32_t i, char *dst, size_t size)
{
	const char	*s;
	size_t		 len;

	s = ipc_get_str(msg, i, &len);
	if (len >= size || (len > 0 && memchr(s, '\0', len) != NULL))
		return -1;
	if (len > 0)		/* msgpack's empty string may be NULL */
		memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

const void *
ipc_get_bin(const struct ipc_msg *msg, uint32_t i, size_t *len)
{
	const msgpack_object	*o = ipc_get_obj(msg, i);

	if (o->type != MSGPACK_OBJECT_BIN)
		fatalx("%s: field %u is not binary",
		    ipc_type_name(msg->hdr.type), i);
	*len = o->via.bin.size;
	return o->via.bin.ptr;
}

/*
 * A binary field that holds a struct of exactly `size' bytes, copied to
 * `dst' (aligned, unlike the frame).  Returns -1 if the size differs.
 */
int
ipc_get_struct(const struct ipc_msg *msg, uint32_t i, void *dst, size_t size)
{
	const void	*p;
	size_t		 len;

	p = ipc_get_bin(msg, i, &len);
	if (len != size)
		return -1;
	memcpy(dst, p, size);
	return 0;
}
