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

#ifndef BROKERD_RECORD_H
#define BROKERD_RECORD_H

/*
 * storaged's on-disk records: the keys and values of its databases.
 * Encoding appends to a struct buf; decoding is strict and points into
 * the bytes it is given (nothing is copied or allocated).  Every value
 * starts with its type and the format version; integers are big-endian,
 * so that keys sort as numbers.
 *
 *	database	key			value
 *	msg.db		msgid u64		REC_MSG: topic, properties,
 *						payload, qos, retain, expiry
 *	retain.db	topic			REC_RETAIN: msgid
 *	session.db	client id		REC_SESSION: version, expiry,
 *						disconnected at, will
 *	sub.db		cid, filter		REC_SUB: options, identifier
 *	queue.db	cid, seq u64		REC_QUEUE: msgid, qos, state,
 *						packet id, sub identifiers
 *	inrel.db	cid, pid u16		REC_INREL (QoS 2 received,
 *						PUBREL not yet)
 *	meta.db		"format"		REC_META: format, created
 *
 * "cid" in a key is a 16-bit length and the client identifier, so that
 * every key of one client shares a prefix and a cursor finds them all.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define REC_FORMAT		1	/* what this code reads and writes */

enum rec_type {
	REC_MSG = 1,
	REC_RETAIN,
	REC_SESSION,
	REC_SUB,
	REC_QUEUE,
	REC_INREL,
	REC_META,
	REC_NTYPES
};

#define REC_MAX_STR		65535		/* topic, cid, filter */
#define REC_MAX_BLOB		268435455	/* properties, payload */
#define REC_MAX_SUBID		268435455
#define REC_MAX_SUBIDS		255
#define REC_EXPIRY_NEVER	UINT32_MAX	/* session expiry */

/* Bytes inside a record. */
struct rec_bytes {
	const uint8_t	*p;
	size_t		 len;
};

/* A stored message; times are wall-clock milliseconds since the epoch. */
struct rec_msg {
	uint64_t	 expires;	/* 0: never */
	uint8_t		 qos;
	uint8_t		 retain;
	struct rec_bytes topic;
	struct rec_bytes props;		/* MQTT 5 properties to forward */
	struct rec_bytes payload;
};

struct rec_retain {
	uint64_t	 msgid;
};

struct rec_will {
	uint8_t		 qos;
	uint8_t		 retain;
	uint32_t	 delay;		/* seconds */
	uint32_t	 expiry;	/* message expiry, seconds; 0: none */
	struct rec_bytes topic;
	struct rec_bytes props;
	struct rec_bytes payload;
};

struct rec_session {
	uint8_t		 version;	/* protocol level: 3, 4 or 5 */
	uint8_t		 has_will;
	uint32_t	 expiry;	/* seconds; REC_EXPIRY_NEVER */
	uint64_t	 disconnected;	/* wall ms; 0: it was connected */
	struct rec_will	 will;		/* if has_will */
};

/* Subscription options, as in the SUBSCRIBE packet (MQTT 5, 3.8.3.1). */
#define REC_SUB_QOS		0x03
#define REC_SUB_NL		0x04
#define REC_SUB_RAP		0x08
#define REC_SUB_RH		0x30

struct rec_sub {
	uint8_t		 opts;
	uint32_t	 id;		/* subscription identifier; 0: none */
};

/* A queue entry's state. */
#define REC_Q_QUEUED		0	/* not sent; pid 0 */
#define REC_Q_PUBLISHED		1	/* sent as pid, no PUBACK/PUBREC */
#define REC_Q_RELEASED		2	/* QoS 2: PUBREL sent, no PUBCOMP */

struct rec_queue {
	uint64_t	 msgid;
	uint16_t	 pid;
	uint8_t		 qos;		/* of this delivery */
	uint8_t		 retain;	/* the retain flag it is sent with */
	uint8_t		 state;
	uint8_t		 nsubids;
	uint32_t	 subids[REC_MAX_SUBIDS];
};

struct rec_meta {
	uint32_t	 format;
	uint64_t	 created;	/* wall ms */
};

/* What a decoder found wrong. */
struct rec_err {
	const char	*why;
};

/* Keys. */
int	rec_key_msg(struct buf *, uint64_t);
int	rec_key_str(struct buf *, const void *, size_t);
int	rec_key_sub(struct buf *, const void *, size_t, const void *, size_t);
int	rec_key_queue(struct buf *, const void *, size_t, uint64_t);
int	rec_key_inrel(struct buf *, const void *, size_t, uint16_t);
int	rec_key_cid(struct buf *, const void *, size_t);

int	rec_dec_key_msg(const uint8_t *, size_t, uint64_t *, struct rec_err *);
int	rec_dec_key_str(const uint8_t *, size_t, struct rec_bytes *,
	    struct rec_err *);
int	rec_dec_key_sub(const uint8_t *, size_t, struct rec_bytes *,
	    struct rec_bytes *, struct rec_err *);
int	rec_dec_key_queue(const uint8_t *, size_t, struct rec_bytes *,
	    uint64_t *, struct rec_err *);
int	rec_dec_key_inrel(const uint8_t *, size_t, struct rec_bytes *,
	    uint16_t *, struct rec_err *);

/* Values. */
int	rec_enc_msg(struct buf *, const struct rec_msg *);
int	rec_enc_retain(struct buf *, const struct rec_retain *);
int	rec_enc_session(struct buf *, const struct rec_session *);
int	rec_enc_sub(struct buf *, const struct rec_sub *);
int	rec_enc_queue(struct buf *, const struct rec_queue *);
int	rec_enc_inrel(struct buf *);
int	rec_enc_meta(struct buf *, const struct rec_meta *);

int	rec_dec_msg(const uint8_t *, size_t, struct rec_msg *,
	    struct rec_err *);
int	rec_dec_retain(const uint8_t *, size_t, struct rec_retain *,
	    struct rec_err *);
int	rec_dec_session(const uint8_t *, size_t, struct rec_session *,
	    struct rec_err *);
int	rec_dec_sub(const uint8_t *, size_t, struct rec_sub *,
	    struct rec_err *);
int	rec_dec_queue(const uint8_t *, size_t, struct rec_queue *,
	    struct rec_err *);
int	rec_dec_inrel(const uint8_t *, size_t, struct rec_err *);
int	rec_dec_meta(const uint8_t *, size_t, struct rec_meta *,
	    struct rec_err *);

const char *rec_type_name(unsigned int);

#endif /* BROKERD_RECORD_H */
