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
 * libFuzzer target for the receiving side of an IPC channel: the input is
 * written into one end of a socketpair and read back frame by frame from
 * a channel on the other, as a peer process would send it.
 *
 * The first byte chooses the variant:
 *	bits 0-1  the channel's frame limit (64, 4096, 64 KiB, 1 MiB)
 *	bit 2	  the channel accepts fds
 *	bit 3	  an fd rides with the first write
 *	bit 4	  ... and with every write
 *	bits 5-6  the size of each write (all, 1, 13, 509 bytes)
 *	bit 7	  the sender shuts down its side after the last byte
 * The rest is the byte stream.  Writes alternate with reads, so inputs
 * of any size fit the socket buffer.
 *
 * As an extra check, the stream is also given to ipc_validate() alone,
 * with the channel's limits and with small ones that the first byte
 * chooses: whatever it accepts, msgpack_unpack() must decode whole, and
 * no deeper and with no more objects than the limits allow.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <msgpack.h>

#include "ipc.h"
#include "log.h"

#define FUZZ_MAXINPUT	(64 * 1024)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t	 fuzz_maxlens[4] = {
	64, 4096, IPC_CTL_MAXLEN, IPC_DEFAULT_MAXLEN
};
static const size_t	 fuzz_chunks[4] = { 0, 1, 13, 509 };

static int		 fuzz_fd = -1;		/* what rides along */
static volatile uint64_t fuzz_sink;

static void
fuzz_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	/* Frames are taken with ipc_chan_get(), never dispatched. */
	(void)chan;
	(void)msg;
	abort();
}

static void
fuzz_closed(struct ipc_chan *chan, const char *why)
{
	/* Must not exit: just note it. */
	(void)chan;
	fuzz_sink += why != NULL ? strlen(why) : 0;
}

/* Read every field with the getter its schema letter allows. */
static void
fuzz_fields(const struct ipc_msg *msg)
{
	const char	*fields = ipc_schemas[msg->hdr.type].fields;
	const char	*s;
	const void	*b;
	char		 small[8], big[256];
	size_t		 len;
	uint32_t	 i;

	if (msg->nfields != strlen(fields))
		abort();
	for (i = 0; i < msg->nfields; i++) {
		switch (fields[i]) {
		case 'u':
			fuzz_sink += ipc_get_uint(msg, i);
			fuzz_sink += (uint64_t)ipc_get_int(msg, i);
			break;
		case 'i':
			fuzz_sink += (uint64_t)ipc_get_int(msg, i);
			break;
		case 's':
			s = ipc_get_str(msg, i, &len);
			if (len > 0)
				fuzz_sink += (unsigned char)s[len - 1];
			if (ipc_get_cstr(msg, i, small, sizeof(small)) == 0)
				fuzz_sink += strlen(small);
			if (ipc_get_cstr(msg, i, big, sizeof(big)) == 0)
				fuzz_sink += strlen(big);
			break;
		case 'b':
			b = ipc_get_bin(msg, i, &len);
			if (len > 0)
				fuzz_sink += ((const unsigned char *)b)[0];
			break;
		case 't':
			fuzz_sink += ipc_get_bool(msg, i);
			break;
		default:
			/* Walk whatever it is. */
			msgpack_object_print_buffer(big, sizeof(big),
			    *ipc_get_obj(msg, i));
			fuzz_sink += big[0];
			break;
		}
	}
}

/* Write the next piece of the stream; returns what was written. */
static size_t
fuzz_write(int s, const uint8_t *p, size_t len, int withfd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (withfd) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fuzz_fd, sizeof(int));
	}
	n = sendmsg(s, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		abort();
	}
	return n;
}

/* How deep the containers in `o' go, and how many objects it holds. */
static unsigned int
fuzz_depth(const msgpack_object *o, size_t *objects)
{
	unsigned int	 d, max = 0;
	uint32_t	 i;

	(*objects)++;
	switch (o->type) {
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < o->via.array.size; i++)
			if ((d = fuzz_depth(&o->via.array.ptr[i], objects)) >
			    max)
				max = d;
		return max + 1;
	case MSGPACK_OBJECT_MAP:
		for (i = 0; i < o->via.map.size; i++) {
			if ((d = fuzz_depth(&o->via.map.ptr[i].key,
			    objects)) > max)
				max = d;
			if ((d = fuzz_depth(&o->via.map.ptr[i].val,
			    objects)) > max)
				max = d;
		}
		return max + 1;
	default:
		return 0;
	}
}

/* Whatever the validator accepts must decode, all of it, within limits. */
static void
fuzz_validate(const uint8_t *p, size_t len, unsigned int depth,
    size_t maxobjects)
{
	struct ipc_limits	 lim;
	msgpack_zone		 zone;
	msgpack_object		 obj;
	const char		*why = NULL;
	size_t			 off = 0, objects = 0;
	unsigned int		 t;

	lim.max_depth = depth;
	lim.max_objects = maxobjects;
	if (ipc_validate(p, len, &lim, &why) == -1) {
		if (why == NULL)
			abort();
		return;
	}
	if (!msgpack_zone_init(&zone, 8192))
		abort();
	if (msgpack_unpack((const char *)p, len, &off, &zone, &obj) !=
	    MSGPACK_UNPACK_SUCCESS || off != len ||
	    obj.type != MSGPACK_OBJECT_ARRAY)
		abort();
	/* The validator supports no more than 32 levels. */
	if (fuzz_depth(&obj, &objects) > (depth < 32 ? depth : 32) ||
	    objects > maxobjects)
		abort();
	for (t = 1; t < IPC_TYPE_MAX; t++)
		fuzz_sink += ipc_check_schema(&obj, ipc_schemas[t].fields,
		    &why);
	msgpack_zone_destroy(&zone);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, LOG_DAEMON);
	log_procinit("fuzz_ipc_frame");
	ev_init();
	if ((fuzz_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_chan	*chan;
	struct ipc_msg	 msg;
	const char	*why;
	const uint8_t	*p;
	size_t		 len, off = 0, chunk, n;
	uint8_t		 cfg;
	int		 sv[2], r, withfd, shut = 0, writes = 0;

	if (size < 1 || size > FUZZ_MAXINPUT + 1)
		return 0;
	cfg = data[0];
	p = data + 1;
	len = size - 1;

	fuzz_validate(p, len, IPC_MAX_DEPTH, 1024 * 1024);
	fuzz_validate(p, len, 1000, 1024 * 1024);
	fuzz_validate(p, len, 1 + ((cfg >> 5) & 3), 1 + (cfg & 0x1f));

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		abort();
	chan = ipc_chan_new(sv[1], "fuzz", fuzz_maxlens[cfg & 3],
	    (cfg & 0x04) != 0, fuzz_dispatch, fuzz_closed, NULL);
	chunk = fuzz_chunks[(cfg >> 5) & 3];
	if (chunk == 0)
		chunk = len;

	for (;;) {
		if (off < len) {
			n = len - off < chunk ? len - off : chunk;
			withfd = (cfg & 0x08) &&
			    (writes == 0 || (cfg & 0x10));
			n = fuzz_write(sv[0], p + off, n, withfd);
			if (n > 0)
				writes++;
			off += n;
		} else if ((cfg & 0x80) && !shut) {
			shutdown(sv[0], SHUT_WR);
			shut = 1;
		}

		r = ipc_chan_read(chan);
		if (r == -1 || r == 0)
			break;
		if (r == -2) {
			/* Nothing to read: done once all is written. */
			if (off >= len && (shut || !(cfg & 0x80)))
				break;
			continue;
		}
		why = NULL;
		while ((r = ipc_chan_get(chan, &msg, &why)) == 1) {
			if (msg.hdr.type == IPC_NONE ||
			    msg.hdr.type >= IPC_TYPE_MAX ||
			    msg.hdr.len > chan->maxlen ||
			    (msg.fd != -1) != (ipc_schemas[msg.hdr.type].fd !=
			    0))
				abort();
			fuzz_fields(&msg);
			ipc_msg_done(chan, &msg);
		}
		if (r == -1) {
			if (why == NULL)
				abort();
			ipc_chan_close(chan, why);
			break;
		}
	}

	ipc_chan_free(chan);
	close(sv[0]);
	return 0;
}
