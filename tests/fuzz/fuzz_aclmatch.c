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
 * libFuzzer target for common/aclmatch.c.  Byte 0 picks the mode:
 *	even	the rest is a compiled form, as the engine gets it from
 *		authd: whatever aclmatch_decode() accepts is checked with
 *		topics and filters, none of which may fault
 *	odd	the rest seeds a random ACL, client and topics (aclref.h)
 *		that go through the parser, the compiler, the decoder and
 *		the matcher, and any disagreement with the naive
 *		reference aborts
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "aclmatch.h"
#include "../unit/aclref.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = { "a", "a/b", "$SYS/x", "b/c/d",
    "a/b/c/d/e", "", "/", "a//" };
static const char *const filters[] = { "#", "+", "+/+/#", "a/#", "$SYS/#",
    "a/+/c", "x" };

static void
raw(const uint8_t *data, size_t size)
{
	struct aclmatch	 m;
	const char	*why;
	uint8_t		*copy;
	size_t		 i;

	/* A copy of its own size, so that ASan sees every overread. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	if (aclmatch_decode(&m, copy, size, &why) == 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			(void)aclmatch_topic(&m, names[i], strlen(names[i]),
			    ACLM_READ);
			(void)aclmatch_topic(&m, names[i], strlen(names[i]),
			    ACLM_WRITE);
		}
		for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
			(void)aclmatch_subscribe(&m, filters[i],
			    strlen(filters[i]));
	}
	free(copy);
}

static void
differential(const uint8_t *data, size_t size)
{
	struct ref_acl	 acl;
	struct aclfile	*af;
	struct aclmatch	 m;
	const char	*user, *cid, *why;
	char		 text[8192], err[256], topic[128], filter[128];
	uint8_t		*blob;
	uint64_t	 seed = 1469598103934665603ULL;
	size_t		 len, i;
	int		 t, a;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	ref_rng_state = seed | 1;
	ref_random_acl(&acl);
	ref_text(&acl, text, sizeof(text));
	if ((af = acl_parse("ref", text, strlen(text), err, sizeof(err))) ==
	    NULL)
		abort();
	user = ref_rand(4) == 0 ? NULL : ref_users[ref_rand(REF_N(ref_users))];
	cid = ref_cids[ref_rand(REF_N(ref_cids))];
	if (acl_compile(af, user, user ? strlen(user) : 0, cid, strlen(cid),
	    &blob, &len, &why) == -1 || aclmatch_decode(&m, blob, len,
	    &why) == -1)
		abort();
	for (t = 0; t < 8; t++) {
		ref_random_filter(topic, sizeof(topic), 0, 4);
		if (strpbrk(topic, "+#") != NULL)
			continue;
		for (a = ACLM_READ; a <= ACLM_WRITE; a++)
			if (aclmatch_topic(&m, topic, strlen(topic), a) !=
			    ref_check(&acl, user, cid, topic, a))
				abort();
	}
	ref_random_filter(filter, sizeof(filter), 0, 3);
	if (aclmatch_subscribe(&m, filter, strlen(filter)) !=
	    ref_subscribe(&acl, user, cid, filter))
		abort();
	free(blob);
	acl_free(af);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		differential(data + 1, size - 1);
	else
		raw(data + 1, size - 1);
	return 0;
}
