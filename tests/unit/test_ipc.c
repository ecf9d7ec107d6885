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
 * Unit tests for ipc/ipc.c: channels over real socketpairs.  Hand-made
 * frames are written straight to the other end of the pair with write()
 * or sendmsg(); the receiving side is a channel, read either directly
 * with ipc_chan_read() and ipc_chan_get() or from the event loop.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "log.h"

#define WATCHDOG	60	/* seconds a test may take */
#define MAXMSGS		64
#define MSGLEN		256

/* What a channel's callbacks saw. */
struct rec {
	int		 dispatched;
	char		 msgs[MAXMSGS][MSGLEN];
	uint32_t	 ids[MAXMSGS];
	int		 turns[MAXMSGS];
	int		 closes;
	int		 why_null;
	char		 why[128];
	int		 drained;
	size_t		 drained_queued;

	int		 free_on_close;
	int		 exit_on_close;
	/* After this many frames: ev_exit(), free, pause. */
	int		 exit_after;
	int		 free_after;
	int		 pause_after;
	int		 nocheck;	/* not made by put_fields() */
};

/* Turns of the event loop, counted by the flush hook. */
static int		 turns;
static struct ipc_chan	*unpause_chan;

/* A message as text, from its fields as its schema says they are. */
static void
describe(const struct ipc_msg *msg, char *out, size_t size)
{
	const char	*fields, *s;
	char		 tmp[MSGLEN];
	struct stat	 st;
	size_t		 len;
	uint32_t	 i;

	snprintf(out, size, "%s id=%u flags=%u",
	    ipc_type_name(msg->hdr.type), msg->hdr.id, msg->hdr.flags);
	if (msg->fd != -1) {
		assert_int_equal(fstat(msg->fd, &st), 0);
		snprintf(tmp, sizeof(tmp), " fd=ino%llu",
		    (unsigned long long)st.st_ino);
		strlcat(out, tmp, size);
	}
	fields = ipc_schemas[msg->hdr.type].fields;
	assert_int_equal(msg->nfields, strlen(fields));
	for (i = 0; i < msg->nfields; i++) {
		switch (fields[i]) {
		case 'u':
			snprintf(tmp, sizeof(tmp), " %llu",
			    (unsigned long long)ipc_get_uint(msg, i));
			break;
		case 'i':
			snprintf(tmp, sizeof(tmp), " %lld",
			    (long long)ipc_get_int(msg, i));
			break;
		case 's':
			s = ipc_get_str(msg, i, &len);
			snprintf(tmp, sizeof(tmp), " \"%.*s\"", (int)len, s);
			break;
		case 't':
			snprintf(tmp, sizeof(tmp), " %s",
			    ipc_get_bool(msg, i) ? "true" : "false");
			break;
		case 'b':
			s = ipc_get_bin(msg, i, &len);
			snprintf(tmp, sizeof(tmp), " b\"%.*s\"", (int)len, s);
			break;
		default:
			tmp[0] = ' ';
			msgpack_object_print_buffer(tmp + 1, sizeof(tmp) - 1,
			    *ipc_get_obj(msg, i));
			break;
		}
		strlcat(out, tmp, size);
	}
}

/*
 * Messages made by the tests carry fields that follow from their id, so
 * that any message can be checked whatever its schema: see put_fields().
 */
static void
field_text(char *buf, size_t size, char letter, uint32_t seed, size_t i)
{
	snprintf(buf, size, "%c%u.%zu", letter, seed, i);
}

/* Queue the fields of a `type' message for `seed'. */
static void
put_fields(struct ipc_chan *chan, unsigned int type, uint32_t seed)
{
	const char	*f = ipc_schemas[type].fields;
	char		 text[32];
	size_t		 i;

	for (i = 0; f[i] != '\0'; i++) {
		field_text(text, sizeof(text), f[i], seed, i);
		switch (f[i]) {
		case 'u':
			ipc_put_uint(chan, seed + i);
			break;
		case 'i':
			ipc_put_int(chan, -(int64_t)(seed + i));
			break;
		case 's':
			ipc_put_str(chan, text);
			break;
		case 'b':
			ipc_put_bin(chan, text, strlen(text));
			break;
		case 't':
			ipc_put_bool(chan, (seed + i) & 1);
			break;
		case 'a':
			ipc_put_array(chan, 1);
			ipc_put_uint(chan, seed);
			break;
		case 'm':
			msgpack_pack_map(&chan->pk, 1);
			ipc_put_str(chan, text);
			ipc_put_uint(chan, seed);
			break;
		default:
			msgpack_pack_nil(&chan->pk);
			break;
		}
	}
}

/*
 * The same with msgpack-c, for hand-made frames: `nfields' of them (the
 * schema's count or not), field `wrong' (if any) of a type its letter
 * does not allow.
 */
static size_t
pack_fields(unsigned int type, uint32_t seed, size_t nfields, size_t wrong,
    unsigned char *out, size_t size)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	const char	*f = ipc_schemas[type].fields;
	char		 text[32];
	size_t		 i, n = strlen(f), len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, nfields);
	for (i = 0; i < nfields; i++) {
		if (i >= n) {
			msgpack_pack_nil(&pk);
			continue;
		}
		field_text(text, sizeof(text), f[i], seed, i);
		switch (f[i]) {
		case 'u':
			if (i == wrong)
				msgpack_pack_int64(&pk, -1);
			else
				msgpack_pack_uint64(&pk, seed + i);
			break;
		case 'i':
			if (i == wrong)
				msgpack_pack_str_with_body(&pk, "1", 1);
			else
				msgpack_pack_int64(&pk, -(int64_t)(seed + i));
			break;
		case 's':
			if (i == wrong)
				msgpack_pack_bin_with_body(&pk, text,
				    strlen(text));
			else
				msgpack_pack_str_with_body(&pk, text,
				    strlen(text));
			break;
		case 'b':
			if (i == wrong)
				msgpack_pack_str_with_body(&pk, text,
				    strlen(text));
			else
				msgpack_pack_bin_with_body(&pk, text,
				    strlen(text));
			break;
		case 't':
			if (i == wrong)
				msgpack_pack_nil(&pk);
			else if ((seed + i) & 1)
				msgpack_pack_true(&pk);
			else
				msgpack_pack_false(&pk);
			break;
		case 'a':
			if (i == wrong)
				msgpack_pack_map(&pk, 0);
			else {
				msgpack_pack_array(&pk, 1);
				msgpack_pack_uint64(&pk, seed);
			}
			break;
		case 'm':
			if (i == wrong)
				msgpack_pack_array(&pk, 0);
			else {
				msgpack_pack_map(&pk, 1);
				msgpack_pack_str_with_body(&pk, text,
				    strlen(text));
				msgpack_pack_uint64(&pk, seed);
			}
			break;
		default:
			msgpack_pack_nil(&pk);
			break;
		}
	}
	len = sb.size;
	assert_true(len <= size);
	memcpy(out, sb.data, len);
	msgpack_sbuffer_destroy(&sb);
	return len;
}

/* Check the fields of a message that put_fields() made. */
static void
check_fields(const struct ipc_msg *msg, uint32_t seed)
{
	const msgpack_object	*o;
	const char		*f = ipc_schemas[msg->hdr.type].fields;
	const char		*s;
	char			 text[32];
	size_t			 len;
	uint32_t		 i;

	assert_int_equal(msg->nfields, strlen(f));
	for (i = 0; i < msg->nfields; i++) {
		field_text(text, sizeof(text), f[i], seed, i);
		switch (f[i]) {
		case 'u':
			assert_int_equal(ipc_get_uint(msg, i), seed + i);
			break;
		case 'i':
			assert_true(ipc_get_int(msg, i) ==
			    -(int64_t)(seed + i));
			break;
		case 's':
			s = ipc_get_str(msg, i, &len);
			assert_int_equal(len, strlen(text));
			assert_memory_equal(s, text, len);
			break;
		case 'b':
			s = ipc_get_bin(msg, i, &len);
			assert_int_equal(len, strlen(text));
			assert_memory_equal(s, text, len);
			break;
		case 't':
			assert_int_equal(ipc_get_bool(msg, i),
			    (seed + i) & 1);
			break;
		case 'a':
			o = ipc_get_obj(msg, i);
			assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
			assert_int_equal(o->via.array.size, 1);
			assert_int_equal(o->via.array.ptr[0].via.u64, seed);
			break;
		case 'm':
			o = ipc_get_obj(msg, i);
			assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
			assert_int_equal(o->via.map.size, 1);
			assert_int_equal(o->via.map.ptr[0].val.via.u64, seed);
			break;
		default:
			assert_int_equal(ipc_get_obj(msg, i)->type,
			    MSGPACK_OBJECT_NIL);
			break;
		}
	}
}

/* The tests that spell out fields need these schemas. */
static void
require_schema(unsigned int type, const char *fields, int fd)
{
	if (strcmp(ipc_schemas[type].fields, fields) != 0 ||
	    ipc_schemas[type].fd != fd)
		fail_msg("%s is now \"%s\" (fd %d), not \"%s\" (fd %d): "
		    "update this test", ipc_type_name(type),
		    ipc_schemas[type].fields, ipc_schemas[type].fd, fields, fd);
}

static void
rec_dispatch(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct rec	*r = chan->arg;

	if (!r->nocheck)
		check_fields(msg, msg->hdr.id);
	if (r->dispatched < MAXMSGS) {
		describe(msg, r->msgs[r->dispatched], MSGLEN);
		r->ids[r->dispatched] = msg->hdr.id;
		r->turns[r->dispatched] = turns;
	}
	r->dispatched++;
	if (r->pause_after > 0 && r->dispatched == r->pause_after) {
		ipc_chan_pause(chan, 1);
		unpause_chan = chan;
	}
	if (r->exit_after > 0 && r->dispatched == r->exit_after)
		ev_exit();
	if (r->free_after > 0 && r->dispatched == r->free_after)
		ipc_chan_free(chan);
}

static void
rec_closed(struct ipc_chan *chan, const char *why)
{
	struct rec	*r = chan->arg;

	r->closes++;
	r->why_null = why == NULL;
	strlcpy(r->why, why != NULL ? why : "(null)", sizeof(r->why));
	if (r->exit_on_close)
		ev_exit();
	if (r->free_on_close)
		ipc_chan_free(chan);
}

static void
rec_drained(struct ipc_chan *chan)
{
	struct rec	*r = chan->arg;

	r->drained++;
	r->drained_queued = ipc_queued(chan);
}

/* The flush hook: count turns, resume a paused channel, flush. */
static void
flush_ipc(void *arg)
{
	(void)arg;
	turns++;
	if (unpause_chan != NULL) {
		ipc_chan_pause(unpause_chan, 0);
		unpause_chan = NULL;
	}
	ipc_flush_pending();
}

static void
mkpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static void
mkpipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* Has every write end of the pipe whose read end is `rfd' been closed? */
static int
pipe_closed(int rfd)
{
	char	 c;

	return read(rfd, &c, 1) == 0;
}

static ino_t
fd_ino(int fd)
{
	struct stat	 st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static struct ipc_chan *
chan_new(int fd, const char *name, size_t maxlen, int recvfds,
    struct rec *r)
{
	memset(r, 0, sizeof(*r));
	return ipc_chan_new(fd, name, maxlen, recvfds, rec_dispatch,
	    rec_closed, r);
}

/* Send all of `p' at once, with `nfds' fds riding along. */
static void
send_fds(int s, const void *p, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	assert_true(nfds >= 0 && nfds <= 8);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(s, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

static void
send_raw(int s, const void *p, size_t len, int fd)
{
	send_fds(s, p, len, &fd, fd == -1 ? 0 : 1);
}

/* A header that says what it is told to, and a payload. */
static size_t
mkframe_len(unsigned char *out, unsigned int type, unsigned int flags,
    uint32_t id, uint32_t hdrlen, const void *payload, size_t len)
{
	struct ipc_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.flags = flags;
	hdr.len = hdrlen;
	hdr.id = id;
	memcpy(out, &hdr, sizeof(hdr));
	if (len > 0)
		memcpy(out + sizeof(hdr), payload, len);
	return sizeof(hdr) + len;
}

static size_t
mkframe(unsigned char *out, unsigned int type, unsigned int flags,
    uint32_t id, const void *payload, size_t len)
{
	return mkframe_len(out, type, flags, id, len, payload, len);
}

/* A frame of `type' as put_msg() would make it, with the flags given. */
static size_t
mkmsg(unsigned char *out, size_t size, unsigned int type, unsigned int flags,
    uint32_t id)
{
	unsigned char	 payload[1024];
	size_t		 len;

	len = pack_fields(type, id, strlen(ipc_schemas[type].fields),
	    SIZE_MAX, payload, sizeof(payload));
	assert_true(IPC_HDR_SIZE + len <= size);
	return mkframe(out, type, flags, id, payload, len);
}

/* Where the frame at the start of `p' ends. */
static size_t
frame_end(const unsigned char *p)
{
	struct ipc_hdr	 hdr;

	memcpy(&hdr, p, sizeof(hdr));
	return IPC_HDR_SIZE + hdr.len;
}

struct msglist {
	int	 n;
	char	 m[MAXMSGS][MSGLEN];
};

#define DRAIN_AGAIN	0	/* the socket is empty for now */
#define DRAIN_EOF	1
#define DRAIN_PROTO	-1	/* ipc_chan_get() failed: *why */
#define DRAIN_READ	-2	/* ipc_chan_read() failed: *err */

/* Read and take frames until the socket has nothing more. */
static int
drain(struct ipc_chan *chan, struct msglist *l, const char **why, int *err)
{
	struct ipc_msg	 msg;
	int		 r, n;

	for (;;) {
		while ((r = ipc_chan_get(chan, &msg, why)) == 1) {
			check_fields(&msg, msg.hdr.id);
			if (l->n < MAXMSGS)
				describe(&msg, l->m[l->n], MSGLEN);
			l->n++;
			ipc_msg_done(chan, &msg);
			assert_int_equal(msg.fd, -1);
		}
		if (r == -1)
			return DRAIN_PROTO;
		assert_int_equal(r, 0);
		n = ipc_chan_read(chan);
		if (n == -2)
			return DRAIN_AGAIN;
		if (n == 0)
			return DRAIN_EOF;
		if (n == -1) {
			*err = errno;
			return DRAIN_READ;
		}
		assert_true(n > 0);
	}
}

static void
assert_lists_equal(const struct msglist *a, const struct msglist *b)
{
	int	 i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n && i < MAXMSGS; i++)
		assert_string_equal(a->m[i], b->m[i]);
}

/*
 * Write `p' (and an fd) into a fresh channel and check that it fails with
 * `want' after `nok' good frames.
 */
static void
get_error_at(const void *p, size_t len, int fd, size_t maxlen, int recvfds,
    int nok, const char *want, const char *file, int line)
{
	struct ipc_chan	*chan;
	struct msglist	 l;
	struct rec	 r;
	const char	*why = NULL;
	int		 sv[2], err = 0, res;

	mkpair(sv);
	chan = chan_new(sv[1], "test", maxlen, recvfds, &r);
	send_raw(sv[0], p, len, fd);
	memset(&l, 0, sizeof(l));
	res = drain(chan, &l, &why, &err);
	if (res != DRAIN_PROTO)
		print_error("drain: %d (%s)\n", res, strerror(err));
	_assert_int_equal(res, DRAIN_PROTO, file, line);
	_assert_int_equal(l.n, nok, file, line);
	_assert_true(why != NULL, "why != NULL", file, line);
	_assert_string_equal(why, want, file, line);
	/* And it stays failed. */
	why = NULL;
	_assert_int_equal(ipc_chan_get(chan, &(struct ipc_msg){ 0 }, &why), -1,
	    file, line);
	_assert_string_equal(why, want, file, line);
	_assert_int_equal(r.closes, 0, file, line);
	ipc_chan_free(chan);
	close(sv[0]);
}

#define GET_ERROR(p, len, fd, maxlen, recvfds, nok, want)		\
	get_error_at((p), (len), (fd), (maxlen), (recvfds), (nok), (want), \
	    __FILE__, __LINE__)

/* Sample frames. */

/* A whole `type' message with put_fields() for its id. */
static void
put_msg(struct ipc_chan *chan, unsigned int type, uint32_t id, int fd)
{
	ipc_begin(chan, type, id, strlen(ipc_schemas[type].fields));
	put_fields(chan, type, id);
	assert_int_equal(ipc_end(chan, fd), 0);
}

/* A log line, as long as it is. */
static int
put_log(struct ipc_chan *chan, uint32_t id, const char *line)
{
	require_schema(IPC_LOG, "us", 0);
	ipc_begin(chan, IPC_LOG, id, 2);
	ipc_put_uint(chan, LOG_INFO);
	ipc_put_str(chan, line);
	return ipc_end(chan, -1);
}

/*
 * The bytes a channel writes for what `build' queues.  fds sent along
 * are dropped by the kernel when read with read().
 */
static size_t
capture(void (*build)(struct ipc_chan *, void *), void *arg,
    unsigned char *out, size_t size)
{
	struct ipc_chan	*chan;
	struct rec	 r;
	size_t		 len = 0;
	ssize_t		 n;
	int		 sv[2];

	mkpair(sv);
	chan = chan_new(sv[0], "capture", IPC_DEFAULT_MAXLEN, 0, &r);
	build(chan, arg);
	ipc_flush_pending();
	assert_int_equal(ipc_queued(chan), 0);
	while ((n = read(sv[1], out + len, size - len)) > 0)
		len += n;
	assert_true(n == -1 && errno == EAGAIN);
	assert_true(len < size);
	ipc_chan_free(chan);
	close(sv[1]);
	return len;
}

/* Tests. */

static void
test_roundtrip(void **state)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 msg;
	struct rec	 ra, rb;
	const char	*why = NULL, *s;
	char		 cs[16];
	size_t		 len;
	int		 sv[2];

	(void)state;
	require_schema(IPC_CONF_PROC, "uusit", 0);
	require_schema(IPC_CTL_RESULT, "ts", 0);
	require_schema(IPC_VERBOSE, "i", 0);
	require_schema(IPC_READY, "", 0);
	require_schema(IPC_CTL_STAT, "su", 0);
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 0, &rb);

	ipc_begin(a, IPC_CONF_PROC, 42, 5);
	ipc_put_uint(a, 1000);
	ipc_put_uint(a, UINT64_MAX);
	ipc_put_str(a, "/var/empty");
	ipc_put_int(a, -3);
	ipc_put_bool(a, 1);
	assert_int_equal(ipc_end(a, -1), 0);
	ipc_begin(a, IPC_CTL_RESULT, 43, 2);
	ipc_put_bool(a, 0);
	ipc_put_strn(a, "ab\0cd-not-sent", 5);
	assert_int_equal(ipc_end(a, -1), 0);
	ipc_begin(a, IPC_VERBOSE, 44, 1);
	ipc_put_uint(a, UINT64_MAX);	/* 'i' takes an unsigned too */
	assert_int_equal(ipc_end(a, -1), 0);
	ipc_begin(a, IPC_VERBOSE, 45, 1);
	ipc_put_int(a, INT64_MIN);
	assert_int_equal(ipc_end(a, -1), 0);
	assert_int_equal(ipc_send(a, IPC_READY, 46, -1), 0);

	/* Queued, not written, until the flush. */
	assert_true(ipc_queued(a) > 5 * IPC_HDR_SIZE);
	assert_int_equal(ipc_chan_read(b), -2);
	ipc_flush_pending();
	assert_int_equal(ipc_queued(a), 0);
	assert_int_equal(a->frames_out, 5);

	assert_true(ipc_chan_read(b) > 0);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_CONF_PROC);
	assert_int_equal(msg.hdr.id, 42);
	assert_int_equal(msg.hdr.flags, 0);
	assert_int_equal(msg.fd, -1);
	assert_int_equal(msg.nfields, 5);
	assert_int_equal(ipc_get_uint(&msg, 0), 1000);
	assert_true(ipc_get_uint(&msg, 1) == UINT64_MAX);
	s = ipc_get_str(&msg, 2, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(s, "/var/empty", 10);
	assert_int_equal(ipc_get_cstr(&msg, 2, cs, sizeof(cs)), 0);
	assert_string_equal(cs, "/var/empty");
	/* Does not fit, with its NUL. */
	assert_int_equal(ipc_get_cstr(&msg, 2, cs, 10), -1);
	assert_int_equal(ipc_get_cstr(&msg, 2, cs, 11), 0);
	assert_string_equal(cs, "/var/empty");
	assert_int_equal(ipc_get_int(&msg, 3), -3);
	assert_int_equal(ipc_get_bool(&msg, 4), 1);
	/* Unsigned fields read as integers too. */
	assert_int_equal(ipc_get_int(&msg, 0), 1000);
	assert_int_equal(ipc_get_obj(&msg, 2)->type, MSGPACK_OBJECT_STR);
	ipc_msg_done(b, &msg);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_CTL_RESULT);
	assert_int_equal(msg.hdr.id, 43);
	assert_int_equal(ipc_get_bool(&msg, 0), 0);
	s = ipc_get_str(&msg, 1, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "ab\0cd", 5);
	/* A string with a NUL in it is not a C string. */
	assert_int_equal(ipc_get_cstr(&msg, 1, cs, sizeof(cs)), -1);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_VERBOSE);
	assert_true(ipc_get_int(&msg, 0) == INT64_MAX);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.id, 45);
	assert_true(ipc_get_int(&msg, 0) == INT64_MIN);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_READY);
	assert_int_equal(msg.hdr.id, 46);
	assert_int_equal(msg.nfields, 0);

	assert_int_equal(ipc_chan_get(b, &msg, &why), 0);
	assert_int_equal(ipc_chan_read(b), -2);
	assert_int_equal(b->frames_in, 5);
	assert_null(why);
	assert_int_equal(buf_len(&b->rbuf), 0);

	/* The other way. */
	ipc_begin(b, IPC_CTL_STAT, 7, 2);
	ipc_put_str(b, "clients");
	ipc_put_uint(b, 3);
	assert_int_equal(ipc_end(b, -1), 0);
	ipc_flush_pending();
	assert_true(ipc_chan_read(a) > 0);
	assert_int_equal(ipc_chan_get(a, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_CTL_STAT);
	assert_int_equal(ipc_get_cstr(&msg, 0, cs, sizeof(cs)), 0);
	assert_string_equal(cs, "clients");
	assert_int_equal(ipc_get_uint(&msg, 1), 3);

	assert_int_equal(ra.closes + rb.closes, 0);
	assert_int_equal(ra.dispatched + rb.dispatched, 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}

/*
 * A channel that carries secrets wipes a frame once it is consumed: its
 * strings must still be there while it is handled, and gone after.
 */
static void
test_secret_frames(void **state)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 msg;
	struct rec	 ra, rb;
	const char	*why = NULL, *s;
	size_t		 len, k;
	int		 sv[2], i;

	(void)state;
	require_schema(IPC_CTL_STAT, "su", 0);
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 0, &rb);
	ipc_chan_secret(a);
	ipc_chan_secret(b);
	for (i = 0; i < 2; i++) {
		ipc_begin(a, IPC_CTL_STAT, i, 2);
		ipc_put_str(a, i == 0 ? "hunter2-secret" : "second-secret");
		ipc_put_uint(a, i);
		assert_int_equal(ipc_end(a, -1), 0);
	}
	ipc_flush_pending();
	assert_true(ipc_chan_read(b) > 0);
	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	s = ipc_get_str(&msg, 0, &len);
	assert_int_equal(len, 14);
	assert_memory_equal(s, "hunter2-secret", 14);
	ipc_msg_done(b, &msg);
	/* Wiped where it was. */
	for (k = 0; k < len; k++)
		assert_int_equal(s[k], 0);
	/* Taking the next frame without ipc_msg_done() is fine too. */
	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	s = ipc_get_str(&msg, 0, &len);
	assert_memory_equal(s, "second-secret", 13);
	assert_int_equal(ipc_get_uint(&msg, 1), 1);
	assert_int_equal(ipc_chan_get(b, &msg, &why), 0);
	assert_int_equal(buf_len(&b->rbuf), 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}

static void
test_every_type(void **state)
{
	struct ipc_chan	*a, *b;
	struct msglist	 l;
	struct rec	 ra, rb;
	const char	*why = NULL;
	char		 want[MSGLEN];
	unsigned int	 t;
	int		 sv[2], p[2], fd, err = 0;

	(void)state;
	/* Each message type in ipc.h, fields as its schema says. */
	for (t = 1; t < IPC_TYPE_MAX; t++) {
		mkpair(sv);
		a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
		b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 1, &rb);
		p[0] = p[1] = fd = -1;
		if (ipc_schemas[t].fd) {
			mkpipe(p);
			fd = p[1];
			snprintf(want, sizeof(want),
			    "%s id=%u flags=%u fd=ino%llu",
			    ipc_schemas[t].name, t, IPC_F_FD,
			    (unsigned long long)fd_ino(fd));
		} else
			snprintf(want, sizeof(want), "%s id=%u flags=0",
			    ipc_schemas[t].name, t);
		put_msg(a, t, t, fd);
		ipc_flush_pending();
		memset(&l, 0, sizeof(l));
		/* drain() checks every field. */
		assert_int_equal(drain(b, &l, &why, &err), DRAIN_AGAIN);
		assert_int_equal(l.n, 1);
		assert_memory_equal(l.m[0], want, strlen(want));
		if (fd != -1) {
			assert_true(pipe_closed(p[0]));
			close(p[0]);
		}
		ipc_chan_free(a);
		ipc_chan_free(b);
	}
}

static void
test_put_encoding(void **state)
{
	struct ipc_chan	*a;
	struct ipc_hdr	 hdr;
	struct ipc_msg	 msg;
	struct rec	 ra;
	msgpack_zone	 zone;
	msgpack_object	 obj, *f;
	unsigned char	 raw[512];
	const void	*p;
	ssize_t		 n;
	size_t		 off = 0, len;
	int		 sv[2];

	(void)state;
	/* What each ipc_put_*() writes, read back with msgpack-c. */
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	ipc_begin(a, IPC_LOG, 0xdeadbeef, 9);
	ipc_put_uint(a, 7);
	ipc_put_int(a, -7);
	ipc_put_str(a, "s");
	ipc_put_strn(a, "abcdef", 3);
	ipc_put_bin(a, "\0\1", 2);
	ipc_put_bool(a, 0);
	msgpack_pack_nil(&a->pk);
	ipc_put_array(a, 2);
	ipc_put_uint(a, 1);
	ipc_put_uint(a, 2);
	msgpack_pack_map(&a->pk, 1);
	ipc_put_str(a, "k");
	ipc_put_int(a, 1);
	/* The sender does not check the schema: that is the receiver's. */
	assert_int_equal(ipc_end(a, -1), 0);
	ipc_flush_pending();
	n = read(sv[1], raw, sizeof(raw));
	assert_true(n > (ssize_t)IPC_HDR_SIZE);
	memcpy(&hdr, raw, sizeof(hdr));
	assert_int_equal(hdr.type, IPC_LOG);
	assert_int_equal(hdr.flags, 0);
	assert_int_equal(hdr.id, 0xdeadbeef);
	assert_int_equal(hdr.len, n - IPC_HDR_SIZE);

	assert_true(msgpack_zone_init(&zone, 2048));
	assert_int_equal(msgpack_unpack((const char *)raw + IPC_HDR_SIZE,
	    hdr.len, &off, &zone, &obj), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, hdr.len);
	assert_int_equal(obj.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(obj.via.array.size, 9);
	f = obj.via.array.ptr;
	assert_int_equal(f[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(f[0].via.u64, 7);
	assert_int_equal(f[1].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	assert_int_equal(f[1].via.i64, -7);
	assert_int_equal(f[2].type, MSGPACK_OBJECT_STR);
	assert_int_equal(f[2].via.str.size, 1);
	assert_memory_equal(f[2].via.str.ptr, "s", 1);
	assert_int_equal(f[3].type, MSGPACK_OBJECT_STR);
	assert_int_equal(f[3].via.str.size, 3);
	assert_memory_equal(f[3].via.str.ptr, "abc", 3);
	assert_int_equal(f[4].type, MSGPACK_OBJECT_BIN);
	assert_int_equal(f[4].via.bin.size, 2);
	assert_memory_equal(f[4].via.bin.ptr, "\0\1", 2);
	assert_int_equal(f[5].type, MSGPACK_OBJECT_BOOLEAN);
	assert_false(f[5].via.boolean);
	assert_int_equal(f[6].type, MSGPACK_OBJECT_NIL);
	assert_int_equal(f[7].type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(f[7].via.array.size, 2);
	assert_int_equal(f[7].via.array.ptr[1].via.u64, 2);
	assert_int_equal(f[8].type, MSGPACK_OBJECT_MAP);
	assert_int_equal(f[8].via.map.size, 1);
	assert_int_equal(f[8].via.map.ptr[0].key.type, MSGPACK_OBJECT_STR);
	assert_int_equal(f[8].via.map.ptr[0].val.via.u64, 1);

	/* The typed getters on whatever fields a message has. */
	memset(&msg, 0, sizeof(msg));
	msg.hdr = hdr;
	msg.fd = -1;
	msg.nfields = obj.via.array.size;
	msg.fields = obj.via.array.ptr;
	p = ipc_get_bin(&msg, 4, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "\0\1", 2);
	assert_int_equal(ipc_get_uint(&msg, 0), 7);
	assert_int_equal(ipc_get_int(&msg, 1), -7);
	assert_int_equal(ipc_get_bool(&msg, 5), 0);
	assert_int_equal(ipc_get_obj(&msg, 6)->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(ipc_get_obj(&msg, 7)->via.array.size, 2);
	msgpack_zone_destroy(&zone);

	/* The receiver rejects it, unless IPC_LOG has nine fields. */
	if (strlen(ipc_schemas[IPC_LOG].fields) != 9)
		GET_ERROR(raw, n, -1, IPC_DEFAULT_MAXLEN, 0, 0,
		    "wrong number of fields");
	ipc_chan_free(a);
	close(sv[1]);
}

static void
build_two(struct ipc_chan *chan, void *arg)
{
	(void)arg;
	put_msg(chan, IPC_LOG, 1, -1);
	put_msg(chan, IPC_CTL_STAT, 2, -1);
}

static void
test_one_byte_at_a_time(void **state)
{
	struct ipc_chan	*b;
	struct ipc_msg	 msg;
	struct rec	 rb;
	const char	*why = NULL;
	unsigned char	 stream[512];
	size_t		 len, i, f1;
	int		 sv[2], got = 0;

	(void)state;
	len = capture(build_two, NULL, stream, sizeof(stream));
	f1 = frame_end(stream);
	mkpair(sv);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 0, &rb);
	for (i = 0; i < len; i++) {
		assert_int_equal(write(sv[0], stream + i, 1), 1);
		assert_int_equal(ipc_chan_read(b), 1);
		if (i + 1 == f1 || i + 1 == len) {
			assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
			got++;
			assert_int_equal(msg.hdr.id, got);
			assert_int_equal(msg.hdr.type,
			    got == 1 ? IPC_LOG : IPC_CTL_STAT);
			check_fields(&msg, got);
		}
		/* Never a frame before its last byte. */
		assert_int_equal(ipc_chan_get(b, &msg, &why), 0);
		assert_int_equal(ipc_chan_read(b), -2);
	}
	assert_int_equal(got, 2);
	assert_null(why);
	assert_int_equal(buf_len(&b->rbuf), 0);
	ipc_chan_free(b);
	close(sv[0]);
}

/*
 * Deliver `stream' in pieces cut at `cuts', the piece that starts at
 * `fdoff' with `fd' riding along.  Read after each piece, or (`atonce')
 * only after the last.
 */
static void
deliver(const unsigned char *stream, size_t len, const size_t *cuts,
    int ncuts, size_t fdoff, int fd, int recvfds, int atonce,
    struct msglist *l)
{
	struct ipc_chan	*b;
	struct rec	 rb;
	const char	*why = NULL;
	size_t		 pos = 0, next;
	int		 sv[2], i, err = 0, r;

	mkpair(sv);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, recvfds, &rb);
	memset(l, 0, sizeof(*l));
	for (i = 0; i <= ncuts; i++) {
		next = i < ncuts ? cuts[i] : len;
		if (next <= pos)
			continue;
		send_raw(sv[0], stream + pos, next - pos,
		    pos == fdoff ? fd : -1);
		pos = next;
		if (!atonce) {
			r = drain(b, l, &why, &err);
			if (r != DRAIN_AGAIN)
				print_error("cut %zu: %s\n", pos,
				    why != NULL ? why : strerror(err));
			assert_int_equal(r, DRAIN_AGAIN);
		}
	}
	r = drain(b, l, &why, &err);
	if (r != DRAIN_AGAIN)
		print_error("%s\n", why != NULL ? why : strerror(err));
	assert_int_equal(r, DRAIN_AGAIN);
	/* Nothing left over: no bytes, no fds. */
	assert_int_equal(buf_len(&b->rbuf), 0);
	assert_int_equal(b->nrfds, 0);
	close(sv[0]);
	r = drain(b, l, &why, &err);
	assert_int_equal(r, DRAIN_EOF);
	ipc_chan_free(b);
}

static void
test_split_everywhere(void **state)
{
	unsigned char	 stream[512];
	struct msglist	 want, got;
	size_t		 len, cuts[2], i, j;
	int		 atonce;

	(void)state;
	len = capture(build_two, NULL, stream, sizeof(stream));
	deliver(stream, len, NULL, 0, SIZE_MAX, -1, 0, 0, &want);
	assert_int_equal(want.n, 2);
	assert_memory_equal(want.m[0], "IPC_LOG id=1 flags=0 ", 21);
	assert_memory_equal(want.m[1], "IPC_CTL_STAT id=2 flags=0 ", 26);

	/* Two pieces, cut at every byte. */
	for (atonce = 0; atonce <= 1; atonce++) {
		for (i = 0; i <= len; i++) {
			cuts[0] = i;
			deliver(stream, len, cuts, 1, SIZE_MAX, -1, 0, atonce,
			    &got);
			assert_lists_equal(&want, &got);
		}
	}
	/* Three pieces, cut at every pair of bytes. */
	for (i = 1; i < len; i++) {
		for (j = i + 1; j < len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			deliver(stream, len, cuts, 2, SIZE_MAX, -1, 0, 0,
			    &got);
			assert_lists_equal(&want, &got);
		}
	}
}

static void
build_fd_pair(struct ipc_chan *chan, void *arg)
{
	int	 fd;

	(void)arg;
	put_msg(chan, IPC_LOG, 1, -1);
	/* The fd goes to the capturing read(), which drops it. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	put_msg(chan, IPC_LISTENER, 2, fd);
	put_msg(chan, IPC_LOG, 3, -1);
}

static void
test_split_with_fd(void **state)
{
	unsigned char	 stream[1024];
	struct msglist	 want, got;
	struct ipc_hdr	 hdr;
	char		 line[MSGLEN];
	size_t		 len, f2, cuts[3], i;
	int		 p[2], atonce;

	(void)state;
	assert_true(ipc_schemas[IPC_LISTENER].fd);
	/* log, listener with an fd, log. */
	len = capture(build_fd_pair, NULL, stream, sizeof(stream));
	f2 = frame_end(stream);
	memcpy(&hdr, stream + f2, sizeof(hdr));
	assert_int_equal(hdr.type, IPC_LISTENER);
	assert_int_equal(hdr.flags, IPC_F_FD);

	mkpipe(p);
	snprintf(line, sizeof(line), "IPC_LISTENER id=2 flags=%u fd=ino%llu ",
	    IPC_F_FD, (unsigned long long)fd_ino(p[1]));
	cuts[0] = f2;
	deliver(stream, len, cuts, 1, f2, p[1], 1, 0, &want);
	assert_int_equal(want.n, 3);
	assert_memory_equal(want.m[0], "IPC_LOG id=1 flags=0 ", 21);
	assert_memory_equal(want.m[1], line, strlen(line));
	assert_memory_equal(want.m[2], "IPC_LOG id=3 flags=0 ", 21);

	/*
	 * The sender always starts a new sendmsg() at a frame with an fd;
	 * cut there and at every byte besides.
	 */
	for (atonce = 0; atonce <= 1; atonce++) {
		for (i = 0; i <= len; i++) {
			if (i < f2) {
				cuts[0] = i;
				cuts[1] = f2;
			} else {
				cuts[0] = f2;
				cuts[1] = i;
			}
			deliver(stream, len, cuts, 2, f2, p[1], 1, atonce,
			    &got);
			assert_lists_equal(&want, &got);
		}
	}
	/* Every copy the channels received was closed again. */
	close(p[1]);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
}

static void
test_oversize(void **state)
{
	unsigned char	 frame[1024];
	size_t		 len, maxlen;

	(void)state;
	/* A channel whose limit is exactly the size of a log frame. */
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	maxlen = len - IPC_HDR_SIZE;
	/* At the limit: fine, unlike a header one byte over after it. */
	len += mkframe_len(frame + len, IPC_LOG, 0, 2, maxlen + 1, NULL, 0);
	GET_ERROR(frame, len, -1, maxlen, 0, 1, "frame too large");
	/* A whole frame one byte over. */
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	GET_ERROR(frame, len, -1, maxlen - 1, 0, 0, "frame too large");
	/* Known from the header alone, before any payload. */
	len = mkframe_len(frame, IPC_LOG, 0, 1, 65, NULL, 0);
	GET_ERROR(frame, len, -1, 64, 0, 0, "frame too large");
	len = mkframe_len(frame, IPC_LOG, 0, 1, UINT32_MAX, NULL, 0);
	GET_ERROR(frame, len, -1, IPC_PARENT_MAXLEN, 1, 0, "frame too large");
	len = mkframe_len(frame, IPC_LOG, 0, 1, IPC_DEFAULT_MAXLEN + 1,
	    NULL, 0);
	GET_ERROR(frame, len, -1, IPC_DEFAULT_MAXLEN, 0, 0,
	    "frame too large");
}

static void
test_unknown_type(void **state)
{
	static const unsigned char	 empty[] = { 0x90 };
	unsigned char			 frame[1024];
	size_t				 len;

	(void)state;
	len = mkframe(frame, IPC_NONE, 0, 1, empty, sizeof(empty));
	GET_ERROR(frame, len, -1, 1024, 0, 0, "unknown message type");
	len = mkframe(frame, IPC_TYPE_MAX, 0, 1, empty, sizeof(empty));
	GET_ERROR(frame, len, -1, 1024, 0, 0, "unknown message type");
	len = mkframe(frame, 0xffff, 0, 1, empty, sizeof(empty));
	GET_ERROR(frame, len, -1, 1024, 1, 0, "unknown message type");
	/* Known from the header alone. */
	GET_ERROR(frame, IPC_HDR_SIZE, -1, 1024, 0, 0,
	    "unknown message type");
	/* After a good frame. */
	len = mkmsg(frame, sizeof(frame), IPC_READY, 0, 1);
	len += mkframe(frame + len, IPC_TYPE_MAX + 1, 0, 2, empty,
	    sizeof(empty));
	GET_ERROR(frame, len, -1, 1024, 0, 1, "unknown message type");
}

static void
test_unknown_flags(void **state)
{
	unsigned char	 frame[1024];
	size_t		 len;

	(void)state;
	len = mkmsg(frame, sizeof(frame), IPC_READY, 0x0002, 1);
	GET_ERROR(frame, len, -1, 1024, 0, 0, "unknown frame flags");
	len = mkmsg(frame, sizeof(frame), IPC_READY, 0x8000, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "unknown frame flags");
	/* With the fd flag as well. */
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD | 0x0010, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "unknown frame flags");
}

static void
test_schema_mismatch(void **state)
{
	unsigned char	 frame[1024], payload[1024];
	unsigned char	 deep[IPC_MAX_DEPTH + 2];
	unsigned int	 t, flags;
	size_t		 len, n, j;
	int		 i, p[2], fd;

	(void)state;
	/* Every message type: one field too many or too few, or wrong. */
	mkpipe(p);
	for (t = 1; t < IPC_TYPE_MAX; t++) {
		n = strlen(ipc_schemas[t].fields);
		fd = ipc_schemas[t].fd ? p[1] : -1;
		flags = ipc_schemas[t].fd ? IPC_F_FD : 0;
		len = pack_fields(t, 1, n + 1, SIZE_MAX, payload,
		    sizeof(payload));
		len = mkframe(frame, t, flags, 1, payload, len);
		GET_ERROR(frame, len, fd, 1024, 1, 0,
		    "wrong number of fields");
		if (n > 0) {
			len = pack_fields(t, 1, n - 1, SIZE_MAX, payload,
			    sizeof(payload));
			len = mkframe(frame, t, flags, 1, payload, len);
			GET_ERROR(frame, len, fd, 1024, 1, 0,
			    "wrong number of fields");
		}
		for (j = 0; j < n; j++) {
			if (ipc_schemas[t].fields[j] == '*')
				continue;
			len = pack_fields(t, 1, n, j, payload,
			    sizeof(payload));
			len = mkframe(frame, t, flags, 1, payload, len);
			GET_ERROR(frame, len, fd, 1024, 1, 0,
			    "field of the wrong type");
		}
	}
	close(p[1]);
	assert_true(pipe_closed(p[0]));
	close(p[0]);

	/* What the validator catches, through a channel. */
#define RAW(want, ...) do {						\
	static const unsigned char p_[] = { __VA_ARGS__ };		\
	len = mkframe(frame, IPC_LOG, 0, 1, p_, sizeof(p_));		\
	GET_ERROR(frame, len, -1, 1024, 0, 0, (want));			\
} while (0)
	RAW("payload is not an array", 0x82, 0x01, 0x02, 0x03, 0x04);
	RAW("count larger than the bytes left",
	    0x91, 0xdf, 0xff, 0xff, 0xff, 0xff);
	RAW("length larger than the bytes left", 0x92, 0x06, 0xdb, 0xff, 0xff,
	    0xff, 0xff, 'x');
	RAW("trailing bytes", 0x92, 0x06, 0xa0, 0x00);
	RAW("ext type", 0x92, 0x06, 0xd4, 0x00, 0x00);
	RAW("reserved type byte", 0x92, 0x06, 0xc1);
#undef RAW
	len = mkframe(frame, IPC_READY, 0, 1, NULL, 0);
	GET_ERROR(frame, len, -1, 1024, 0, 0, "empty payload");
	for (i = 0; i < IPC_MAX_DEPTH + 1; i++)
		deep[i] = 0x91;
	deep[i] = 0x01;
	len = mkframe(frame, IPC_LOG, 0, 1, deep, sizeof(deep));
	GET_ERROR(frame, len, -1, 1024, 0, 0, "nested too deep");

	/* From a real sender: one field too many. */
	{
		struct ipc_chan	*a;
		struct rec	 ra;
		unsigned char	 raw[1024];
		ssize_t		 nr;
		int		 sv[2];

		mkpair(sv);
		a = chan_new(sv[0], "a", 1024, 0, &ra);
		ipc_begin(a, IPC_LOG, 1,
		    strlen(ipc_schemas[IPC_LOG].fields) + 1);
		put_fields(a, IPC_LOG, 1);
		msgpack_pack_nil(&a->pk);
		assert_int_equal(ipc_end(a, -1), 0);
		ipc_flush_pending();
		nr = read(sv[1], raw, sizeof(raw));
		assert_true(nr > 0);
		GET_ERROR(raw, nr, -1, 1024, 0, 0, "wrong number of fields");
		ipc_chan_free(a);
		close(sv[1]);
	}
}

static void
test_fd_passing(void **state)
{
	struct ipc_chan	*a, *b;
	struct ipc_msg	 msg;
	struct rec	 ra, rb;
	const char	*why = NULL;
	ino_t		 ino[3];
	char		 c[4];
	int		 sv[2], p[3][2], i, r;

	(void)state;
	assert_true(ipc_schemas[IPC_PEER].fd);
	assert_true(ipc_schemas[IPC_LISTENER].fd);
	assert_true(ipc_schemas[IPC_CONTROL].fd);
	assert_false(ipc_schemas[IPC_LOG].fd);
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 1, &rb);
	for (i = 0; i < 3; i++) {
		mkpipe(p[i]);
		ino[i] = fd_ino(p[i][1]);
	}

	/* A peer channel end, a listener, a log line, the control socket. */
	put_msg(a, IPC_PEER, 9, p[0][1]);
	put_msg(a, IPC_LISTENER, 10, p[1][1]);
	put_msg(a, IPC_LOG, 11, -1);
	put_msg(a, IPC_CONTROL, 12, p[2][1]);
	assert_int_equal(a->nwfds, 3);
	ipc_flush_pending();
	/* The channel closed its copies once they were sent. */
	assert_int_equal(a->nwfds, 0);
	assert_int_equal(ipc_queued(a), 0);

	assert_true(ipc_chan_read(b) > 0);
	assert_int_equal(ipc_chan_get(b, &msg, &why), 1);
	assert_int_equal(msg.hdr.type, IPC_PEER);
	assert_int_equal(msg.hdr.flags, IPC_F_FD);
	check_fields(&msg, 9);
	assert_true(msg.fd != -1);
	assert_true(fd_ino(msg.fd) == ino[0]);
	/* It works: what goes in comes out of the pipe. */
	assert_int_equal(write(msg.fd, "ok", 2), 2);
	assert_int_equal(read(p[0][0], c, sizeof(c)), 2);
	assert_memory_equal(c, "ok", 2);
	/* Received fds are close-on-exec. */
	assert_true(fcntl(msg.fd, F_GETFD) & FD_CLOEXEC);
	ipc_msg_done(b, &msg);
	assert_int_equal(msg.fd, -1);
	/* Both copies are gone: the sender's and the receiver's. */
	assert_true(pipe_closed(p[0][0]));

	/* The others, each with its own fd, in order. */
	for (i = 1; i < 4; i++) {
		while ((r = ipc_chan_get(b, &msg, &why)) == 0)
			assert_true(ipc_chan_read(b) > 0);
		assert_int_equal(r, 1);
		assert_int_equal(msg.hdr.id, 9 + i);
		check_fields(&msg, 9 + i);
		if (i == 2) {
			assert_int_equal(msg.hdr.type, IPC_LOG);
			assert_int_equal(msg.hdr.flags, 0);
			assert_int_equal(msg.fd, -1);
			continue;
		}
		assert_int_equal(msg.hdr.flags, IPC_F_FD);
		assert_true(fd_ino(msg.fd) == ino[i == 1 ? 1 : 2]);
		ipc_msg_done(b, &msg);
	}
	assert_int_equal(ipc_chan_get(b, &msg, &why), 0);
	assert_int_equal(b->nrfds, 0);
	assert_true(pipe_closed(p[1][0]));
	assert_true(pipe_closed(p[2][0]));
	assert_null(why);
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	ipc_chan_free(a);
	ipc_chan_free(b);
}

static void
test_fd_mismatch(void **state)
{
	unsigned char	 frame[1024];
	size_t		 len;
	int		 p[2];

	(void)state;
	mkpipe(p);

	/* The flag, but no fd. */
	len = mkmsg(frame, sizeof(frame), IPC_PEER, IPC_F_FD, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "fd flag without an fd");
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "fd flag without an fd");
	/* After a good frame. */
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	len += mkmsg(frame + len, sizeof(frame) - len, IPC_LISTENER,
	    IPC_F_FD, 2);
	GET_ERROR(frame, len, -1, 1024, 1, 1, "fd flag without an fd");

	/* An fd, but no flag, with a message that takes none. */
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	GET_ERROR(frame, len, p[1], 1024, 1, 1,
	    "fd without a frame to carry it");
	/* The same, with the flag: the message takes no fd. */
	len = mkmsg(frame, sizeof(frame), IPC_LOG, IPC_F_FD, 1);
	GET_ERROR(frame, len, p[1], 1024, 1, 0, "message takes no fd");
	/* An fd, but no flag, with a message that needs one. */
	len = mkmsg(frame, sizeof(frame), IPC_PEER, 0, 1);
	GET_ERROR(frame, len, p[1], 1024, 1, 0, "message needs an fd");

	/* A message that needs an fd, without flag or fd. */
	len = mkmsg(frame, sizeof(frame), IPC_PEER, 0, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "message needs an fd");
	len = mkmsg(frame, sizeof(frame), IPC_LISTENER, 0, 1);
	GET_ERROR(frame, len, -1, 1024, 0, 0, "message needs an fd");
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, 0, 1);
	GET_ERROR(frame, len, -1, 1024, 1, 0, "message needs an fd");

	/* The flag on a channel that passes no fds. */
	len = mkmsg(frame, sizeof(frame), IPC_PEER, IPC_F_FD, 1);
	GET_ERROR(frame, len, -1, 1024, 0, 0,
	    "fd flag on a channel that passes no fds");

	/* Every copy that arrived was closed with its channel. */
	close(p[1]);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
}

static void
test_fd_unclaimed(void **state)
{
	struct ipc_chan	*b;
	struct msglist	 l;
	struct rec	 rb;
	unsigned char	 frame[1024];
	const char	*why = NULL;
	size_t		 len;
	int		 sv[2], p[2], fds[2], err = 0;

	(void)state;
	/* Two fds with one frame that claims one. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 1);
	fds[0] = fds[1] = p[1];
	send_fds(sv[0], frame, len, fds, 2);
	memset(&l, 0, sizeof(l));
	assert_int_equal(drain(b, &l, &why, &err), DRAIN_PROTO);
	assert_int_equal(l.n, 1);
	assert_string_equal(why, "fd without a frame to carry it");
	ipc_chan_free(b);
	close(sv[0]);

	/*
	 * The fd came with a frame that does not take it; the frame after,
	 * in a later segment, cannot claim it.
	 */
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	send_raw(sv[0], frame, len, p[1]);
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 2);
	send_raw(sv[0], frame, len, -1);
	memset(&l, 0, sizeof(l));
	why = NULL;
	assert_int_equal(drain(b, &l, &why, &err), DRAIN_PROTO);
	assert_int_equal(l.n, 1);
	assert_memory_equal(l.m[0], "IPC_LOG id=1 flags=0 ", 21);
	assert_string_equal(why, "fd without a frame to carry it");
	ipc_chan_free(b);
	close(sv[0]);

	/*
	 * A flagged frame whose start was read before any fd came cannot
	 * take the fd that a later frame brought.
	 */
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 1);
	len += mkmsg(frame + len, sizeof(frame) - len, IPC_LOG, 0, 2);
	send_raw(sv[0], frame, 5, -1);
	memset(&l, 0, sizeof(l));
	why = NULL;
	assert_int_equal(drain(b, &l, &why, &err), DRAIN_AGAIN);
	send_raw(sv[0], frame + 5, len - 5, p[1]);
	assert_int_equal(drain(b, &l, &why, &err), DRAIN_PROTO);
	assert_int_equal(l.n, 0);
	assert_string_equal(why, "fd flag without an fd");
	ipc_chan_free(b);
	close(sv[0]);

	close(p[1]);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
}

static void
test_fd_not_allowed(void **state)
{
	struct ipc_chan	*b;
	struct rec	 rb;
	unsigned char	 frame[1024];
	size_t		 len;
	int		 sv[2], p[2], fds[5], i;

	(void)state;
	/* An fd on a channel created with recvfds=0. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	send_raw(sv[0], frame, len, p[1]);
	close(p[1]);
	errno = 0;
	assert_int_equal(ipc_chan_read(b), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(b->nrfds, 0);
	/* Closed at once, not kept. */
	assert_true(pipe_closed(p[0]));
	close(p[0]);
	ipc_chan_free(b);
	close(sv[0]);

	/* The same with the fd flag and a message that takes an fd. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 1);
	send_raw(sv[0], frame, len, p[1]);
	close(p[1]);
	errno = 0;
	assert_int_equal(ipc_chan_read(b), -1);
	assert_int_equal(errno, EBADMSG);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
	ipc_chan_free(b);
	close(sv[0]);

	/* More fds in one go than a read takes: none leaks. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	for (i = 0; i < 5; i++)
		fds[i] = p[1];
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	send_fds(sv[0], frame, len, fds, 5);
	close(p[1]);
	errno = 0;
	assert_int_equal(ipc_chan_read(b), -1);
	assert_int_equal(errno, EBADMSG);
	ipc_chan_free(b);
	close(sv[0]);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
}

/* Run the event loop until a callback stops it. */
static void
run_loop(void)
{
	turns = 0;
	unpause_chan = NULL;
	ev_setflush(flush_ipc, NULL);
	assert_int_equal(ev_dispatch(), 0);
	ev_setflush(NULL, NULL);
}

static void
test_eof_mid_frame(void **state)
{
	struct ipc_chan	*b;
	struct rec	 rb;
	unsigned char	 stream[512];
	const char	*why = NULL;
	size_t		 len, f1, cut;
	int		 sv[2], cuts;

	(void)state;
	len = capture(build_two, NULL, stream, sizeof(stream));
	f1 = frame_end(stream);

	/* Directly: the read after the partial frame returns 0. */
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_int_equal(write(sv[0], stream, f1 - 1), (ssize_t)f1 - 1);
	close(sv[0]);
	assert_int_equal(ipc_chan_read(b), (int)f1 - 1);
	assert_int_equal(ipc_chan_get(b, &(struct ipc_msg){ 0 }, &why), 0);
	assert_int_equal(ipc_chan_read(b), 0);
	assert_int_equal(buf_len(&b->rbuf), f1 - 1);
	assert_null(why);
	ipc_chan_free(b);

	/*
	 * From the event loop, which reports it to the close callback:
	 * inside the first frame's header, inside its payload, and after a
	 * whole frame inside the second.
	 */
	for (cuts = 0; cuts < 4; cuts++) {
		cut = cuts == 0 ? 1 : cuts == 1 ? IPC_HDR_SIZE + 1 :
		    cuts == 2 ? f1 + 3 : len - 1;
		mkpair(sv);
		b = chan_new(sv[1], "b", 1024, 0, &rb);
		assert_non_null(b);
		rb.free_on_close = 1;
		rb.exit_on_close = 1;
		assert_int_equal(write(sv[0], stream, cut), (ssize_t)cut);
		close(sv[0]);
		run_loop();
		assert_int_equal(rb.closes, 1);
		assert_string_equal(rb.why, "EOF in the middle of a frame");
		assert_int_equal(rb.dispatched, cut > f1 ? 1 : 0);
		if (cut > f1)
			assert_memory_equal(rb.msgs[0],
			    "IPC_LOG id=1 flags=0 ", 21);
	}
}

static void
test_eof_clean(void **state)
{
	struct ipc_chan	*b;
	struct rec	 rb;
	unsigned char	 stream[512];
	size_t		 len;
	int		 sv[2];

	(void)state;
	len = capture(build_two, NULL, stream, sizeof(stream));
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	assert_int_equal(write(sv[0], stream, len), (ssize_t)len);
	close(sv[0]);
	run_loop();
	assert_int_equal(rb.dispatched, 2);
	assert_memory_equal(rb.msgs[0], "IPC_LOG id=1 flags=0 ", 21);
	assert_memory_equal(rb.msgs[1], "IPC_CTL_STAT id=2 flags=0 ", 26);
	assert_int_equal(rb.closes, 1);
	assert_int_equal(rb.why_null, 1);

	/* With nothing sent at all. */
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	close(sv[0]);
	run_loop();
	assert_int_equal(rb.dispatched, 0);
	assert_int_equal(rb.closes, 1);
	assert_int_equal(rb.why_null, 1);
}

static void
test_loop_errors(void **state)
{
	struct ipc_chan	*b;
	struct ipc_hdr	 hdr;
	struct rec	 rb;
	unsigned char	 frame[1024];
	size_t		 len;
	int		 sv[2], p[2];

	(void)state;
	/* A protocol error closes the channel with its reason. */
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	len += mkmsg(frame + len, sizeof(frame) - len, IPC_LOG, 0, 2);
	/* The second frame's type, one past the last. */
	memcpy(&hdr, frame + frame_end(frame), sizeof(hdr));
	hdr.type = IPC_TYPE_MAX;
	memcpy(frame + frame_end(frame), &hdr, sizeof(hdr));
	assert_int_equal(write(sv[0], frame, len), (ssize_t)len);
	run_loop();
	assert_int_equal(rb.dispatched, 1);
	assert_int_equal(rb.closes, 1);
	assert_string_equal(rb.why, "unknown message type");
	close(sv[0]);

	/* An fd where none may come. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	len = mkmsg(frame, sizeof(frame), IPC_LOG, 0, 1);
	send_raw(sv[0], frame, len, p[1]);
	close(p[1]);
	run_loop();
	assert_int_equal(rb.dispatched, 0);
	assert_int_equal(rb.closes, 1);
	assert_string_equal(rb.why, "unexpected fds");
	assert_true(pipe_closed(p[0]));
	close(p[0]);
	close(sv[0]);

	/* An fd nothing claims, then EOF. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	send_raw(sv[0], frame, len, p[1]);
	close(p[1]);
	close(sv[0]);
	run_loop();
	assert_int_equal(rb.dispatched, 1);
	assert_int_equal(rb.closes, 1);
	assert_string_equal(rb.why, "fd without a frame to carry it");
	assert_true(pipe_closed(p[0]));
	close(p[0]);

	/* A handler that does not take the fd of its message. */
	mkpipe(p);
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 1, &rb);
	assert_non_null(b);
	rb.free_on_close = 1;
	rb.exit_on_close = 1;
	len = mkmsg(frame, sizeof(frame), IPC_CONTROL, IPC_F_FD, 1);
	send_raw(sv[0], frame, len, p[1]);
	close(p[1]);
	close(sv[0]);
	run_loop();
	assert_int_equal(rb.dispatched, 1);
	assert_int_equal(rb.closes, 1);
	assert_int_equal(rb.why_null, 1);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
}

static void
test_free_in_dispatch(void **state)
{
	struct ipc_chan	*b;
	struct rec	 rb;
	unsigned char	 stream[512];
	size_t		 len;
	int		 sv[2];

	(void)state;
	/* The handler frees its channel on the first of two frames. */
	len = capture(build_two, NULL, stream, sizeof(stream));
	mkpair(sv);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	assert_non_null(b);
	rb.free_after = 1;
	rb.exit_after = 1;
	assert_int_equal(write(sv[0], stream, len), (ssize_t)len);
	run_loop();
	assert_int_equal(rb.dispatched, 1);
	assert_int_equal(rb.closes, 0);
	/* The channel closed its socket. */
	assert_int_equal(send(sv[0], "x", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[0]);
}

static void
test_pause(void **state)
{
	struct ipc_chan	*a, *b;
	struct rec	 ra, rb;
	int		 sv[2], i;

	(void)state;
	/*
	 * The handler pauses the channel after the first frame; the next
	 * turn's flush hook resumes it and the rest follow from there, in
	 * order.
	 */
	mkpair(sv);
	a = chan_new(sv[0], "a", 1024, 0, &ra);
	b = chan_new(sv[1], "b", 1024, 0, &rb);
	rb.pause_after = 1;
	rb.exit_after = 4;
	for (i = 0; i < 4; i++)
		put_msg(a, IPC_CTL_STAT, i, -1);
	ipc_flush_pending();
	run_loop();
	assert_int_equal(rb.dispatched, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(rb.ids[i], i);
	assert_true(rb.turns[1] > rb.turns[0]);
	assert_int_equal(rb.turns[2], rb.turns[1]);
	assert_int_equal(rb.turns[3], rb.turns[1]);
	assert_int_equal(b->paused, 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
}

static void
test_close(void **state)
{
	struct ipc_chan	*a;
	struct rec	 ra;
	int		 sv[2], p[2];

	(void)state;
	mkpair(sv);
	a = chan_new(sv[0], "a", 1024, 0, &ra);
	ipc_chan_close(a, "bye");
	assert_int_equal(ra.closes, 1);
	assert_string_equal(ra.why, "bye");
	/* Once only. */
	ipc_chan_close(a, "again");
	assert_int_equal(ra.closes, 1);
	/* A dead channel takes no more frames, and drops their fds. */
	mkpipe(p);
	ipc_begin(a, IPC_CONTROL, 1, strlen(ipc_schemas[IPC_CONTROL].fields));
	put_fields(a, IPC_CONTROL, 1);
	assert_int_equal(ipc_end(a, p[1]), -1);
	assert_true(pipe_closed(p[0]));
	close(p[0]);
	assert_int_equal(ipc_chan_flush(a), -1);
	ipc_flush_pending();
	assert_int_equal(ra.closes, 1);
	ipc_chan_free(a);
	ipc_chan_free(NULL);
	close(sv[1]);
}

static void
test_backpressure(void **state)
{
	struct ipc_chan	*a, *b;
	struct rec	 ra, rb;
	char		*line;
	size_t		 linelen = 256 * 1024, q;
	int		 sv[2], n, i;

	(void)state;
	line = malloc(linelen + 1);
	assert_non_null(line);
	memset(line, 'x', linelen);
	line[linelen] = '\0';
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	b = chan_new(sv[1], "b", IPC_DEFAULT_MAXLEN, 0, &rb);
	rb.nocheck = 1;
	a->drained = rec_drained;
	assert_int_equal(a->hiwat, 4 * 1024 * 1024);

	/* Fill the socket and the queue; nobody reads. */
	for (n = 0; !ipc_congested(a); n++) {
		assert_true(n < 100);
		/* Not congested until past the high-water mark. */
		assert_true(ipc_queued(a) <= a->hiwat);
		assert_int_equal(put_log(a, n, line), 0);
		ipc_flush_pending();
	}
	assert_true(ipc_queued(a) > a->hiwat);
	assert_true(n >= 16);
	/* The socket is full: a flush leaves the queue as it is. */
	q = ipc_queued(a);
	assert_int_equal(ipc_chan_flush(a), 0);
	assert_int_equal(ipc_queued(a), q);
	assert_int_equal(ra.drained, 0);
	assert_true(ipc_congested(a));

	/* The reader catches up; the writer drains. */
	rb.exit_after = n;
	run_loop();
	assert_int_equal(rb.dispatched, n);
	for (i = 0; i < n && i < MAXMSGS; i++)
		assert_int_equal(rb.ids[i], i);
	assert_int_equal(ra.drained, 1);
	assert_true(ra.drained_queued < a->hiwat / 2);
	assert_false(ipc_congested(a));
	assert_int_equal(ipc_queued(a), 0);
	assert_int_equal(ra.closes + rb.closes, 0);
	ipc_chan_free(a);
	ipc_chan_free(b);
	free(line);
}

static void
test_output_cap(void **state)
{
	struct ipc_chan	*a;
	struct rec	 ra;
	char		*line;
	size_t		 linelen = 512 * 1024;
	int		 sv[2], n, p[2];

	(void)state;
	line = malloc(linelen + 1);
	assert_non_null(line);
	memset(line, 'y', linelen);
	line[linelen] = '\0';
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	/* The cap for a 1 MiB channel is the 64 MiB floor. */
	assert_int_equal(a->wbuf.max, 64 * 1024 * 1024);

	/* The peer never reads. */
	for (n = 0;; n++) {
		assert_true(n < 1000);
		if (put_log(a, n, line) == -1)
			break;
		ipc_flush_pending();
		assert_int_equal(ra.closes, 0);
	}
	assert_true(n > 100);
	assert_true(ipc_queued(a) <= a->wbuf.max);
	assert_true(ipc_queued(a) + linelen + 64 > a->wbuf.max);
	/* Not yet: the close callback runs from ipc_flush_pending(). */
	assert_int_equal(ra.closes, 0);
	/* A frame with an fd on the doomed channel: the fd is closed. */
	mkpipe(p);
	ipc_begin(a, IPC_CONTROL, 1, strlen(ipc_schemas[IPC_CONTROL].fields));
	put_fields(a, IPC_CONTROL, 1);
	assert_int_equal(ipc_end(a, p[1]), -1);
	assert_true(pipe_closed(p[0]));
	close(p[0]);

	ipc_flush_pending();
	assert_int_equal(ra.closes, 1);
	assert_string_equal(ra.why,
	    "output queue full: the peer is not reading");
	/* And only once. */
	ipc_flush_pending();
	assert_int_equal(ra.closes, 1);
	ipc_chan_free(a);
	close(sv[1]);
	free(line);
}

static void
test_flush_sync(void **state)
{
	struct ipc_chan	*a;
	struct rec	 ra;
	char		*line;
	size_t		 linelen = 512 * 1024;
	int		 sv[2], n;

	(void)state;
	line = malloc(linelen + 1);
	assert_non_null(line);
	memset(line, 'z', linelen);
	line[linelen] = '\0';
	mkpair(sv);
	a = chan_new(sv[0], "a", IPC_DEFAULT_MAXLEN, 0, &ra);
	assert_int_equal(put_log(a, 1, "small"), 0);
	assert_int_equal(ipc_chan_flush_sync(a, 1000), 0);
	assert_int_equal(ipc_queued(a), 0);
	/* More than the socket holds and nobody reading: it gives up. */
	for (n = 0; ipc_queued(a) == 0; n++) {
		assert_true(n < 100);
		assert_int_equal(put_log(a, 2 + n, line), 0);
		assert_int_equal(ipc_chan_flush(a), 0);
	}
	assert_int_equal(ipc_chan_flush_sync(a, 50), -1);
	assert_true(ipc_queued(a) > 0);
	ipc_chan_free(a);
	close(sv[1]);
	free(line);
}

static int
setup_group(void **state)
{
	(void)state;
	log_init(1, LOG_DAEMON);
	ev_init();
	return 0;
}

static int
setup_test(void **state)
{
	(void)state;
	alarm(WATCHDOG);
	return 0;
}

static int
teardown_test(void **state)
{
	(void)state;
	alarm(0);
	ev_setflush(NULL, NULL);
	return 0;
}

#define TEST(f)	\
	cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_roundtrip),
		TEST(test_secret_frames),
		TEST(test_every_type),
		TEST(test_put_encoding),
		TEST(test_one_byte_at_a_time),
		TEST(test_split_everywhere),
		TEST(test_split_with_fd),
		TEST(test_oversize),
		TEST(test_unknown_type),
		TEST(test_unknown_flags),
		TEST(test_schema_mismatch),
		TEST(test_fd_passing),
		TEST(test_fd_mismatch),
		TEST(test_fd_unclaimed),
		TEST(test_fd_not_allowed),
		TEST(test_eof_mid_frame),
		TEST(test_eof_clean),
		TEST(test_loop_errors),
		TEST(test_free_in_dispatch),
		TEST(test_pause),
		TEST(test_close),
		TEST(test_backpressure),
		TEST(test_output_cap),
		TEST(test_flush_sync),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
