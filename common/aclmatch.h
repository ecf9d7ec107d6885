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

#ifndef BROKERD_ACLMATCH_H
#define BROKERD_ACLMATCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * A compiled ACL: the rules that apply to one client, placeholders
 * already filled in, as authd builds it and the engine enforces it.
 *
 * Rules come in two tiers, as Mosquitto's acl_file has them: first the
 * client's own (its `user' block, its groups, or the anonymous block),
 * then the `pattern' lines.  For a topic and an access, in that order:
 * a matching deny rule of the first tier denies; a matching grant of the
 * first tier with that access allows; then the same for the second tier;
 * anything else is denied.  An ACL without rules denies everything.
 *
 * The rules are compiled into a deterministic automaton over topic
 * levels, so that a check follows one transition per level (a binary
 * search among the literal levels the rules name at that point) however
 * many rules there are.  Its flat form below is what crosses from authd
 * to the engine; aclmatch_decode() checks every offset, count and order
 * in it before anything reads it, and the matchers then work on those
 * bytes in place.
 *
 * Layout, integers little-endian:
 *	header	"BACL", u32 nstates, u32 ntrans, u32 nstr
 *	state	u32 first transition, u32 transitions, u32 other,
 *		u16 depth, u8 hash flags, u8 end flags	(16 bytes each)
 *	trans	u32 string offset, u32 string length, u32 target (12 bytes)
 *	strings	the literal levels, back to back
 * State 0 starts topics whose first level does not begin with `$', state
 * 1 those that do (wildcards at the first level never match them).  A
 * state's transitions are sorted by level and strictly increasing; a
 * level not among them takes `other' (ACLM_NONE: nothing matches any
 * more).  Every target is a later state one level deeper, so the graph
 * has no cycles.  Hash flags apply to every topic passing through the
 * state (rules ending in `#'), end flags to topics ending in it.
 */

/* What a client does with a topic. */
#define ACLM_READ	0x01
#define ACLM_WRITE	0x02

/* Rules for aclmatch_build(): ACLR_DENY or some of READ and WRITE. */
#define ACLR_READ	0x01
#define ACLR_WRITE	0x02
#define ACLR_DENY	0x04
#define ACLR_PATTERN	0x08		/* the second tier */

#define ACLM_NONE	UINT32_MAX
#define ACLM_MAX_DEPTH	1024		/* levels of a rule's filter */
#define ACLM_MAX_STATES	(1U << 18)
#define ACLM_MAX_LEN	(1000U << 10)	/* bytes: fits an IPC frame */

struct aclm_rule {
	const char	*filter;
	size_t		 len;
	unsigned int	 flags;
};

/* A decoded flat form; it points into the bytes it was decoded from. */
struct aclmatch {
	const uint8_t	*state;
	const uint8_t	*trans;
	const uint8_t	*str;
	uint32_t	 nstates;
	uint32_t	 ntrans;
	uint32_t	 nstr;
};

int	aclmatch_build(const struct aclm_rule *, size_t, uint8_t **, size_t *,
	    const char **);
int	aclmatch_decode(struct aclmatch *, const void *, size_t,
	    const char **);
int	aclmatch_topic(const struct aclmatch *, const char *, size_t, int);
int	aclmatch_subscribe(const struct aclmatch *, const char *, size_t);

#endif /* BROKERD_ACLMATCH_H */
