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
 * The record formats of record.h.  Records read back from disk are
 * untrusted: a decoder checks every length against the bytes it was
 * given, every count against what is left, every reserved bit, and that
 * nothing trails; it takes time linear in the record and allocates
 * nothing.  An encoder refuses what its decoder would reject, so a
 * record written can always be read back, and the encoding is canonical:
 * what decodes encodes to the same bytes again.
 *
 * Strings are checked here only for what the format needs (length, no
 * NUL); whether a topic or filter is valid MQTT is for the engine to
 * check when the state reaches it.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "record.h"

#define FAIL(e, msg)	do {						\
	(e)->why = (msg);						\
	return -1;							\
} while (0)

/* A cursor over the bytes of a record. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

/* An unsigned big-endian integer of `n' bytes. */
static int
rd_uint(struct rd *r, size_t n, uint64_t *v)
{
	size_t	 i;

	if (r->left < n)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	uint64_t	 x;

	if (rd_uint(r, 1, &x) == -1)
		return -1;
	*v = (uint8_t)x;
	return 0;
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	uint64_t	 x;

	if (rd_uint(r, 2, &x) == -1)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	uint64_t	 x;

	if (rd_uint(r, 4, &x) == -1)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* `n' bytes, pointed to. */
static int
rd_bytes(struct rd *r, size_t n, struct rec_bytes *b)
{
	if (r->left < n)
		return -1;
	b->p = r->p;
	b->len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* A string of 1 to 65535 bytes with no NUL, its length first. */
static int
rd_str(struct rd *r, struct rec_bytes *b)
{
	uint16_t	 len;

	if (rd_u16(r, &len) == -1 || len == 0 || rd_bytes(r, len, b) == -1)
		return -1;
	return memchr(b->p, '\0', b->len) != NULL ? -1 : 0;
}

/* Bytes of at most REC_MAX_BLOB, a 32-bit length first. */
static int
rd_blob(struct rd *r, struct rec_bytes *b)
{
	uint32_t	 len;

	if (rd_u32(r, &len) == -1 || len > REC_MAX_BLOB)
		return -1;
	return rd_bytes(r, len, b);
}

/* The type and version every value starts with. */
static int
rd_header(struct rd *r, const uint8_t *p, size_t len, enum rec_type type,
    struct rec_err *e)
{
	uint8_t	 t, v;

	r->p = p;
	r->left = len;
	if (rd_u8(r, &t) == -1 || rd_u8(r, &v) == -1)
		FAIL(e, "record too short");
	if (t != type)
		FAIL(e, "record of the wrong type");
	if (v == 0 || v > REC_FORMAT)
		FAIL(e, "record version unknown");
	return 0;
}

static int
rd_end(const struct rd *r, struct rec_err *e)
{
	if (r->left != 0)
		FAIL(e, "bytes after the record");
	return 0;
}

static int
str_ok(const void *p, size_t len)
{
	return len > 0 && len <= REC_MAX_STR && memchr(p, '\0', len) == NULL;
}

static int
str_ok_b(const struct rec_bytes *b)
{
	return b->len == 0 || b->p != NULL ? str_ok(b->p, b->len) : 0;
}

static int
blob_ok(const struct rec_bytes *b)
{
	return b->len <= REC_MAX_BLOB && (b->len == 0 || b->p != NULL);
}

/* Encoding. */

static int
wr_uint(struct buf *b, size_t n, uint64_t v)
{
	uint8_t	*p;
	size_t	 i;

	if ((p = buf_reserve(b, n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	buf_commit(b, n);
	return 0;
}

static int
wr_str(struct buf *b, const struct rec_bytes *s)
{
	if (wr_uint(b, 2, s->len) == -1)
		return -1;
	return buf_add(b, s->p, s->len);
}

static int
wr_blob(struct buf *b, const struct rec_bytes *s)
{
	if (wr_uint(b, 4, s->len) == -1)
		return -1;
	return buf_add(b, s->p, s->len);
}

static int
wr_header(struct buf *b, enum rec_type type)
{
	return wr_uint(b, 1, type) == -1 || wr_uint(b, 1, REC_FORMAT) == -1 ?
	    -1 : 0;
}

/*
 * A failed encoder leaves the buffer as it found it: `used' is what it
 * held before (buf_reserve may have moved the unread bytes down).
 */
static int
wr_fail(struct buf *b, size_t used, int err)
{
	b->wpos = b->rpos + used;
	errno = err;
	return -1;
}

/* Keys. */

int
rec_key_msg(struct buf *b, uint64_t id)
{
	if (id == 0) {
		errno = EINVAL;
		return -1;
	}
	return wr_uint(b, 8, id);
}

int
rec_key_str(struct buf *b, const void *p, size_t len)
{
	if (!str_ok(p, len)) {
		errno = EINVAL;
		return -1;
	}
	return buf_add(b, p, len);
}

int
rec_key_cid(struct buf *b, const void *cid, size_t len)
{
	size_t		 used = buf_len(b);

	if (!str_ok(cid, len))
		return wr_fail(b, used, EINVAL);
	if (wr_uint(b, 2, len) == -1 || buf_add(b, cid, len) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_key_sub(struct buf *b, const void *cid, size_t len, const void *filter,
    size_t flen)
{
	size_t		 used = buf_len(b);

	if (!str_ok(filter, flen))
		return wr_fail(b, used, EINVAL);
	if (rec_key_cid(b, cid, len) == -1)
		return -1;
	if (buf_add(b, filter, flen) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_key_queue(struct buf *b, const void *cid, size_t len, uint64_t seq)
{
	size_t		 used = buf_len(b);

	if (rec_key_cid(b, cid, len) == -1)
		return -1;
	if (wr_uint(b, 8, seq) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_key_inrel(struct buf *b, const void *cid, size_t len, uint16_t pid)
{
	size_t		 used = buf_len(b);

	if (pid == 0)
		return wr_fail(b, used, EINVAL);
	if (rec_key_cid(b, cid, len) == -1)
		return -1;
	if (wr_uint(b, 2, pid) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_key_msg(const uint8_t *p, size_t len, uint64_t *id,
    struct rec_err *e)
{
	struct rd	 r = { p, len };

	if (rd_uint(&r, 8, id) == -1 || r.left != 0)
		FAIL(e, "message key not 8 bytes");
	if (*id == 0)
		FAIL(e, "message id 0");
	return 0;
}

int
rec_dec_key_str(const uint8_t *p, size_t len, struct rec_bytes *s,
    struct rec_err *e)
{
	if (!str_ok(p, len))
		FAIL(e, "key empty, too long or with a NUL");
	s->p = p;
	s->len = len;
	return 0;
}

static int
rd_cid(struct rd *r, struct rec_bytes *cid, struct rec_err *e)
{
	if (rd_str(r, cid) == -1)
		FAIL(e, "client id in the key truncated, empty or with a NUL");
	return 0;
}

int
rec_dec_key_sub(const uint8_t *p, size_t len, struct rec_bytes *cid,
    struct rec_bytes *filter, struct rec_err *e)
{
	struct rd	 r = { p, len };

	if (rd_cid(&r, cid, e) == -1)
		return -1;
	return rec_dec_key_str(r.p, r.left, filter, e);
}

int
rec_dec_key_queue(const uint8_t *p, size_t len, struct rec_bytes *cid,
    uint64_t *seq, struct rec_err *e)
{
	struct rd	 r = { p, len };

	if (rd_cid(&r, cid, e) == -1)
		return -1;
	if (rd_uint(&r, 8, seq) == -1 || r.left != 0)
		FAIL(e, "queue key: sequence number not 8 bytes");
	return 0;
}

int
rec_dec_key_inrel(const uint8_t *p, size_t len, struct rec_bytes *cid,
    uint16_t *pid, struct rec_err *e)
{
	struct rd	 r = { p, len };

	if (rd_cid(&r, cid, e) == -1)
		return -1;
	if (rd_u16(&r, pid) == -1 || r.left != 0)
		FAIL(e, "inrel key: packet id not 2 bytes");
	if (*pid == 0)
		FAIL(e, "inrel key: packet id 0");
	return 0;
}

/*
 * REC_MSG: flags (bits 0-1 qos, bit 2 retain), expires u64, topic u16
 * and bytes, properties u32 and bytes, payload u32 and bytes.
 */
#define MSG_QOS		0x03
#define MSG_RETAIN	0x04

int
rec_enc_msg(struct buf *b, const struct rec_msg *m)
{
	size_t		 used = buf_len(b);
	uint8_t		 flags;

	if (m->qos > 2 || m->retain > 1 || !str_ok_b(&m->topic) ||
	    !blob_ok(&m->props) || !blob_ok(&m->payload))
		return wr_fail(b, used, EINVAL);
	flags = m->qos | (m->retain ? MSG_RETAIN : 0);
	if (wr_header(b, REC_MSG) == -1 || wr_uint(b, 1, flags) == -1 ||
	    wr_uint(b, 8, m->expires) == -1 || wr_str(b, &m->topic) == -1 ||
	    wr_blob(b, &m->props) == -1 || wr_blob(b, &m->payload) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_msg(const uint8_t *p, size_t len, struct rec_msg *m,
    struct rec_err *e)
{
	struct rd	 r;
	uint8_t		 flags;

	memset(m, 0, sizeof(*m));
	if (rd_header(&r, p, len, REC_MSG, e) == -1)
		return -1;
	if (rd_u8(&r, &flags) == -1 || rd_uint(&r, 8, &m->expires) == -1)
		FAIL(e, "message truncated");
	if ((flags & ~(MSG_QOS | MSG_RETAIN)) != 0 ||
	    (flags & MSG_QOS) == 3)
		FAIL(e, "message flags invalid");
	m->qos = flags & MSG_QOS;
	m->retain = (flags & MSG_RETAIN) != 0;
	if (rd_str(&r, &m->topic) == -1)
		FAIL(e, "message topic truncated, empty or with a NUL");
	if (rd_blob(&r, &m->props) == -1)
		FAIL(e, "message properties truncated or too long");
	if (rd_blob(&r, &m->payload) == -1)
		FAIL(e, "message payload truncated or too long");
	return rd_end(&r, e);
}

/* REC_RETAIN: msgid u64. */
int
rec_enc_retain(struct buf *b, const struct rec_retain *rt)
{
	size_t		 used = buf_len(b);

	if (rt->msgid == 0)
		return wr_fail(b, used, EINVAL);
	if (wr_header(b, REC_RETAIN) == -1 || wr_uint(b, 8, rt->msgid) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_retain(const uint8_t *p, size_t len, struct rec_retain *rt,
    struct rec_err *e)
{
	struct rd	 r;

	memset(rt, 0, sizeof(*rt));
	if (rd_header(&r, p, len, REC_RETAIN, e) == -1)
		return -1;
	if (rd_uint(&r, 8, &rt->msgid) == -1)
		FAIL(e, "retained entry truncated");
	if (rt->msgid == 0)
		FAIL(e, "retained entry: message id 0");
	return rd_end(&r, e);
}

/*
 * REC_SESSION: version u8, flags (bit 0 will, bits 1-2 will qos, bit 3
 * will retain), expiry u32, disconnected u64; with a will: delay u32,
 * expiry u32, topic u16 and bytes, properties u32 and bytes, payload
 * u32 and bytes.
 */
#define SESS_WILL	0x01
#define SESS_WQOS	0x06
#define SESS_WQOS_SHIFT	1
#define SESS_WRETAIN	0x08

int
rec_enc_session(struct buf *b, const struct rec_session *s)
{
	const struct rec_will	*w = &s->will;
	size_t			 used = buf_len(b);
	uint8_t			 flags = 0;

	if (s->version < 3 || s->version > 5 || s->has_will > 1)
		return wr_fail(b, used, EINVAL);
	if (s->has_will) {
		if (w->qos > 2 || w->retain > 1 || !str_ok_b(&w->topic) ||
		    !blob_ok(&w->props) || !blob_ok(&w->payload))
			return wr_fail(b, used, EINVAL);
		flags = SESS_WILL | w->qos << SESS_WQOS_SHIFT |
		    (w->retain ? SESS_WRETAIN : 0);
	}
	if (wr_header(b, REC_SESSION) == -1 ||
	    wr_uint(b, 1, s->version) == -1 || wr_uint(b, 1, flags) == -1 ||
	    wr_uint(b, 4, s->expiry) == -1 ||
	    wr_uint(b, 8, s->disconnected) == -1)
		return wr_fail(b, used, ENOMEM);
	if (s->has_will && (wr_uint(b, 4, w->delay) == -1 ||
	    wr_uint(b, 4, w->expiry) == -1 || wr_str(b, &w->topic) == -1 ||
	    wr_blob(b, &w->props) == -1 || wr_blob(b, &w->payload) == -1))
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_session(const uint8_t *p, size_t len, struct rec_session *s,
    struct rec_err *e)
{
	struct rd	 r;
	struct rec_will	*w = &s->will;
	uint8_t		 flags;

	memset(s, 0, sizeof(*s));
	if (rd_header(&r, p, len, REC_SESSION, e) == -1)
		return -1;
	if (rd_u8(&r, &s->version) == -1 || rd_u8(&r, &flags) == -1 ||
	    rd_u32(&r, &s->expiry) == -1 ||
	    rd_uint(&r, 8, &s->disconnected) == -1)
		FAIL(e, "session truncated");
	if (s->version < 3 || s->version > 5)
		FAIL(e, "session: protocol version unknown");
	if ((flags & ~(SESS_WILL | SESS_WQOS | SESS_WRETAIN)) != 0)
		FAIL(e, "session flags invalid");
	if (!(flags & SESS_WILL)) {
		if (flags != 0)
			FAIL(e, "session: will flags without a will");
		return rd_end(&r, e);
	}
	s->has_will = 1;
	w->qos = (flags & SESS_WQOS) >> SESS_WQOS_SHIFT;
	w->retain = (flags & SESS_WRETAIN) != 0;
	if (w->qos > 2)
		FAIL(e, "session: will qos invalid");
	if (rd_u32(&r, &w->delay) == -1 || rd_u32(&r, &w->expiry) == -1)
		FAIL(e, "session: will truncated");
	if (rd_str(&r, &w->topic) == -1)
		FAIL(e, "session: will topic truncated, empty or with a NUL");
	if (rd_blob(&r, &w->props) == -1)
		FAIL(e, "session: will properties truncated or too long");
	if (rd_blob(&r, &w->payload) == -1)
		FAIL(e, "session: will payload truncated or too long");
	return rd_end(&r, e);
}

/* REC_SUB: options u8, identifier u32. */
static int
sub_opts_ok(uint8_t o)
{
	return (o & ~(REC_SUB_QOS | REC_SUB_NL | REC_SUB_RAP |
	    REC_SUB_RH)) == 0 && (o & REC_SUB_QOS) != 3 &&
	    (o & REC_SUB_RH) != REC_SUB_RH;
}

int
rec_enc_sub(struct buf *b, const struct rec_sub *s)
{
	size_t		 used = buf_len(b);

	if (!sub_opts_ok(s->opts) || s->id > REC_MAX_SUBID)
		return wr_fail(b, used, EINVAL);
	if (wr_header(b, REC_SUB) == -1 || wr_uint(b, 1, s->opts) == -1 ||
	    wr_uint(b, 4, s->id) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_sub(const uint8_t *p, size_t len, struct rec_sub *s,
    struct rec_err *e)
{
	struct rd	 r;

	memset(s, 0, sizeof(*s));
	if (rd_header(&r, p, len, REC_SUB, e) == -1)
		return -1;
	if (rd_u8(&r, &s->opts) == -1 || rd_u32(&r, &s->id) == -1)
		FAIL(e, "subscription truncated");
	if (!sub_opts_ok(s->opts))
		FAIL(e, "subscription options invalid");
	if (s->id > REC_MAX_SUBID)
		FAIL(e, "subscription identifier too large");
	return rd_end(&r, e);
}

/*
 * REC_QUEUE: flags (bits 0-1 qos, bit 2 retain, bits 3-4 state), pid
 * u16, msgid u64, nsubids u8, then as many identifiers u32.  Queued
 * entries have no packet id; sent ones have one; only QoS 2 is released.
 */
#define Q_QOS		0x03
#define Q_RETAIN	0x04
#define Q_STATE		0x18
#define Q_STATE_SHIFT	3

static const char *
queue_why(const struct rec_queue *q)
{
	unsigned int	 i;

	if (q->qos > 2 || q->retain > 1 || q->state > REC_Q_RELEASED)
		return "queue entry: flags invalid";
	if (q->msgid == 0)
		return "queue entry: message id 0";
	if ((q->state == REC_Q_QUEUED) != (q->pid == 0))
		return "queue entry: packet id and state disagree";
	if (q->qos == 0 && q->state != REC_Q_QUEUED)
		return "queue entry: QoS 0 in flight";
	if (q->state == REC_Q_RELEASED && q->qos != 2)
		return "queue entry: released but not QoS 2";
	for (i = 0; i < q->nsubids; i++)
		if (q->subids[i] == 0 || q->subids[i] > REC_MAX_SUBID)
			return "queue entry: subscription identifier invalid";
	return NULL;
}

int
rec_enc_queue(struct buf *b, const struct rec_queue *q)
{
	size_t		 used = buf_len(b);
	unsigned int	 i;
	uint8_t		 flags;

	if (queue_why(q) != NULL)
		return wr_fail(b, used, EINVAL);
	flags = q->qos | (q->retain ? Q_RETAIN : 0) |
	    q->state << Q_STATE_SHIFT;
	if (wr_header(b, REC_QUEUE) == -1 || wr_uint(b, 1, flags) == -1 ||
	    wr_uint(b, 2, q->pid) == -1 || wr_uint(b, 8, q->msgid) == -1 ||
	    wr_uint(b, 1, q->nsubids) == -1)
		return wr_fail(b, used, ENOMEM);
	for (i = 0; i < q->nsubids; i++)
		if (wr_uint(b, 4, q->subids[i]) == -1)
			return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_queue(const uint8_t *p, size_t len, struct rec_queue *q,
    struct rec_err *e)
{
	struct rd	 r;
	const char	*why;
	unsigned int	 i;
	uint8_t		 flags;

	memset(q, 0, sizeof(*q));
	if (rd_header(&r, p, len, REC_QUEUE, e) == -1)
		return -1;
	if (rd_u8(&r, &flags) == -1 || rd_u16(&r, &q->pid) == -1 ||
	    rd_uint(&r, 8, &q->msgid) == -1 || rd_u8(&r, &q->nsubids) == -1)
		FAIL(e, "queue entry truncated");
	if ((flags & ~(Q_QOS | Q_RETAIN | Q_STATE)) != 0)
		FAIL(e, "queue entry: flags invalid");
	q->qos = flags & Q_QOS;
	q->retain = (flags & Q_RETAIN) != 0;
	q->state = (flags & Q_STATE) >> Q_STATE_SHIFT;
	/* The count is checked against the bytes before any is read. */
	if (r.left != (size_t)q->nsubids * 4)
		FAIL(e, "queue entry: subscription identifiers and length "
		    "disagree");
	for (i = 0; i < q->nsubids; i++)
		(void)rd_u32(&r, &q->subids[i]);
	if ((why = queue_why(q)) != NULL)
		FAIL(e, why);
	return rd_end(&r, e);
}

/* REC_INREL: nothing but the header. */
int
rec_enc_inrel(struct buf *b)
{
	size_t		 used = buf_len(b);

	if (wr_header(b, REC_INREL) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_inrel(const uint8_t *p, size_t len, struct rec_err *e)
{
	struct rd	 r;

	if (rd_header(&r, p, len, REC_INREL, e) == -1)
		return -1;
	return rd_end(&r, e);
}

/* REC_META: format u32, created u64. */
int
rec_enc_meta(struct buf *b, const struct rec_meta *m)
{
	size_t		 used = buf_len(b);

	if (m->format == 0)
		return wr_fail(b, used, EINVAL);
	if (wr_header(b, REC_META) == -1 || wr_uint(b, 4, m->format) == -1 ||
	    wr_uint(b, 8, m->created) == -1)
		return wr_fail(b, used, ENOMEM);
	return 0;
}

int
rec_dec_meta(const uint8_t *p, size_t len, struct rec_meta *m,
    struct rec_err *e)
{
	struct rd	 r;

	memset(m, 0, sizeof(*m));
	if (rd_header(&r, p, len, REC_META, e) == -1)
		return -1;
	if (rd_u32(&r, &m->format) == -1 || rd_uint(&r, 8, &m->created) == -1)
		FAIL(e, "format record truncated");
	if (m->format == 0)
		FAIL(e, "format 0");
	return rd_end(&r, e);
}

const char *
rec_type_name(unsigned int t)
{
	static const char	*names[REC_NTYPES] = {
		[REC_MSG] = "message",
		[REC_RETAIN] = "retained",
		[REC_SESSION] = "session",
		[REC_SUB] = "subscription",
		[REC_QUEUE] = "queue entry",
		[REC_INREL] = "incoming QoS 2",
		[REC_META] = "format",
	};

	return t < REC_NTYPES && names[t] != NULL ? names[t] : "unknown";
}
