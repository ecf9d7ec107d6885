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
 * libFuzzer target for storaged's record decoders (storaged/record.c),
 * the bytes a damaged or hostile data directory would hand them.
 *
 * Input: one byte naming the database (its record type, 1 to 7, taken
 * modulo 7), a 16-bit big-endian key length, the key, and the value as
 * the rest.  Key and value are copied to buffers of exactly their size,
 * so that any read past the end shows.  Whatever decodes must encode
 * again to the very same bytes (the encoding is canonical); a decoder
 * that fails must say why.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct buf	 out;

static void
same(const uint8_t *p, size_t len)
{
	if (buf_len(&out) != len || memcmp(buf_ptr(&out), p, len) != 0)
		abort();
	out.rpos = out.wpos = 0;
}

static void
failed(const struct rec_err *e)
{
	if (e->why == NULL)
		abort();
}

static void
fuzz_key(enum rec_type t, const uint8_t *k, size_t klen)
{
	struct rec_bytes	 cid, name;
	struct rec_err		 e = { NULL };
	uint64_t		 v;
	uint16_t		 pid;
	int			 rc = -1;

	switch (t) {
	case REC_MSG:
		if ((rc = rec_dec_key_msg(k, klen, &v, &e)) == 0 &&
		    rec_key_msg(&out, v) == -1)
			abort();
		break;
	case REC_RETAIN:
	case REC_SESSION:
	case REC_META:
		if ((rc = rec_dec_key_str(k, klen, &name, &e)) == 0 &&
		    rec_key_str(&out, name.p, name.len) == -1)
			abort();
		break;
	case REC_SUB:
		if ((rc = rec_dec_key_sub(k, klen, &cid, &name, &e)) == 0 &&
		    rec_key_sub(&out, cid.p, cid.len, name.p, name.len) == -1)
			abort();
		break;
	case REC_QUEUE:
		if ((rc = rec_dec_key_queue(k, klen, &cid, &v, &e)) == 0 &&
		    rec_key_queue(&out, cid.p, cid.len, v) == -1)
			abort();
		break;
	case REC_INREL:
		if ((rc = rec_dec_key_inrel(k, klen, &cid, &pid, &e)) == 0 &&
		    rec_key_inrel(&out, cid.p, cid.len, pid) == -1)
			abort();
		break;
	default:
		abort();
	}
	if (rc == 0)
		same(k, klen);
	else
		failed(&e);
}

static void
fuzz_value(enum rec_type t, const uint8_t *p, size_t len)
{
	struct rec_msg		 m;
	struct rec_retain	 r;
	struct rec_session	 s;
	struct rec_sub		 sub;
	struct rec_queue	 q;
	struct rec_meta		 meta;
	struct rec_err		 e = { NULL };
	int			 rc = -1, enc = 0;

	switch (t) {
	case REC_MSG:
		if ((rc = rec_dec_msg(p, len, &m, &e)) == 0)
			enc = rec_enc_msg(&out, &m);
		break;
	case REC_RETAIN:
		if ((rc = rec_dec_retain(p, len, &r, &e)) == 0)
			enc = rec_enc_retain(&out, &r);
		break;
	case REC_SESSION:
		if ((rc = rec_dec_session(p, len, &s, &e)) == 0)
			enc = rec_enc_session(&out, &s);
		break;
	case REC_SUB:
		if ((rc = rec_dec_sub(p, len, &sub, &e)) == 0)
			enc = rec_enc_sub(&out, &sub);
		break;
	case REC_QUEUE:
		if ((rc = rec_dec_queue(p, len, &q, &e)) == 0)
			enc = rec_enc_queue(&out, &q);
		break;
	case REC_INREL:
		if ((rc = rec_dec_inrel(p, len, &e)) == 0)
			enc = rec_enc_inrel(&out);
		break;
	case REC_META:
		if ((rc = rec_dec_meta(p, len, &meta, &e)) == 0)
			enc = rec_enc_meta(&out, &meta);
		break;
	default:
		abort();
	}
	if (enc != 0)
		abort();
	if (rc == 0)
		same(p, len);
	else
		failed(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum rec_type	 t;
	uint8_t		*k, *v;
	size_t		 klen, vlen;

	if (size < 3)
		return 0;
	t = data[0] % (REC_NTYPES - 1) + 1;
	klen = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (klen > size)
		klen = size;
	vlen = size - klen;
	/* malloc(0) may return NULL; keep a valid pointer. */
	k = malloc(klen + (klen == 0));
	v = malloc(vlen + (vlen == 0));
	if (k == NULL || v == NULL)
		abort();
	memcpy(k, data, klen);
	memcpy(v, data + klen, vlen);
	out.rpos = out.wpos = 0;
	fuzz_key(t, k, klen);
	out.rpos = out.wpos = 0;
	fuzz_value(t, v, vlen);
	free(k);
	free(v);
	buf_shrink(&out, 65536);
	return 0;
}
