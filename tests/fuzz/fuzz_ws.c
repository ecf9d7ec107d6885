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
 * libFuzzer target for tlsproxy/ws.c.  The first byte chooses the
 * variant:
 *	bits 0-2  the size of the reads the relay would see (all, 1, 2, 3,
 *		  7, 14, 100, 1000 bytes)
 *	bits 3-4  the room for unmasked data (1, 5, 125, 64 KiB)
 *	bits 5-6  the message limit (16, 1000, 64 KiB, 2^62) bytes
 *	bit 7	  at most 2 fragments a message, else 64
 * The rest is what a client sends.  It is decoded twice, once whole and
 * once in those reads: both must find the same data, the same control
 * frames and the same error, and never more data than was sent.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

#define FUZZ_MAXINPUT	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t	 fuzz_reads[8] = { 0, 1, 2, 3, 7, 14, 100, 1000 };
static const size_t	 fuzz_outs[4] = { 1, 5, 125, 65536 };
static const uint64_t	 fuzz_maxmsg[4] = { 16, 1000, 65536,
	(uint64_t)1 << 62 };

struct result {
	uint8_t		*data;
	size_t		 len;
	unsigned int	 ncontrol;
	uint32_t	 ctlsum;	/* opcodes, lengths and close codes */
	int		 error;
	uint16_t	 code;
	size_t		 left;		/* bytes never consumed */
};

static void
run(const uint8_t *in, size_t len, uint8_t v, size_t readsz,
    struct result *res)
{
	struct ws_dec	 d;
	struct ws_error	 e;
	uint8_t		*buf;
	size_t		 have = 0, fed = 0, used, olen;
	size_t		 outsz = fuzz_outs[(v >> 3) & 3];
	int		 r;

	ws_dec_init(&d, fuzz_maxmsg[(v >> 5) & 3], (v & 0x80) ? 2 : 64);
	if ((buf = malloc(len + 1)) == NULL)
		abort();
	memset(res, 0, sizeof(*res));
	if ((res->data = malloc(len + 1)) == NULL)
		abort();
	while (fed < len || have > 0) {
		size_t	 n = len - fed;

		if (readsz != 0 && n > readsz)
			n = readsz;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		for (;;) {
			r = ws_decode(&d, buf, have, &used, res->data +
			    res->len, outsz, &olen, &e);
			if (used > have || olen > outsz)
				abort();
			res->len += olen;
			memmove(buf, buf + used, have - used);
			have -= used;
			if (r == WS_ERROR) {
				if (e.why == NULL || e.code < 1000)
					abort();
				res->error = 1;
				res->code = e.code;
				goto done;
			}
			if (r == WS_CONTROL) {
				if (d.ctl.len > WS_CTL_MAX ||
				    !WS_OP_IS_CONTROL(d.ctl.opcode))
					abort();
				res->ncontrol++;
				res->ctlsum = res->ctlsum * 31 + d.ctl.opcode +
				    d.ctl.len * 17 + d.ctl.close_code;
				continue;
			}
			if (olen == 0)
				break;
		}
		if (fed == len)
			break;
	}
 done:
	res->left = have;
	if (res->len > len)
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result	 a, b;
	uint8_t		 hdr[WS_SRV_HDR_MAX];
	struct ws_frame	 f;
	struct ws_error	 e;
	uint64_t	 len = 0;
	size_t		 i, n;

	if (size < 1 || size > FUZZ_MAXINPUT)
		return 0;
	run(data + 1, size - 1, data[0], 0, &a);
	run(data + 1, size - 1, data[0], fuzz_reads[data[0] & 7], &b);
	if (a.error != b.error || a.code != b.code || a.len != b.len ||
	    a.ncontrol != b.ncontrol || a.ctlsum != b.ctlsum ||
	    memcmp(a.data, b.data, a.len) != 0)
		abort();
	if (!a.error && a.left != b.left)
		abort();
	free(a.data);
	free(b.data);

	/* The server's own headers read back as they were written. */
	for (i = 1; i < size && i < 9; i++)
		len = len << 8 | data[i];
	len &= ~((uint64_t)1 << 63);
	n = ws_encode_header(hdr, WS_OP_BINARY, 1, len);
	if (n != ws_header_size(len) || ws_frame_header(hdr, n, &f, &e) != 1 ||
	    f.len != len || f.hdrlen != n || f.masked)
		abort();
	return 0;
}
