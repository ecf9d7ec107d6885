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


#ifndef BROKERD_SETTINGS_H
#define BROKERD_SETTINGS_H

/*
 * Settings declared once.  A table of settings is an X-macro whose rows
 * are
 *
 *	X(field, KIND, default, min, max, "keywords", reloadable)
 *
 * and from it come the struct (SETTING_FIELD), the defaults, the parser
 * of "keywords value", the canonical printer, the range checks of a
 * receiver and the comparison at reload (struct setting, settings.c).
 * The parser checks every value against min and max once, where the file
 * is read; a receiver checks again only because a frame may be damaged.
 *
 * KIND is one of
 *	U32, U64	a number in [min, max]
 *	SIZE32, SIZE64	a number of bytes, with K, M or G: 64K, 16M
 *	EXPIRY		seconds in [min, max - 1], or "never" (max)
 *	BOOL		yes or no
 *	FLAG		the keywords alone turn it on (listener options)
 *	WORD		a name of letters, digits, _ . and -, not starting
 *			with -, of min to max - 1 characters (char[max])
 *	PATH		an absolute path shorter than max (char[max]); with
 *			a default of "", "" is "not set"
 *	STRING		printable ASCII, no quote or backslash, of min to
 *			max - 1 characters (char[max]): a cipher list
 *	LOGLEVEL	warning, info or debug (-1, 0, 1)
 *	CHOICE		one of the words of the array field_words (an
 *			int, the index; max is the last index)
 * A numeric default of 0 below min means "not set" (no limit).
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum setting_kind {
	SK_UINT,
	SK_SIZE,
	SK_EXPIRY,
	SK_BOOL,
	SK_FLAG,
	SK_WORD,
	SK_PATH,
	SK_STRING,
	SK_LOGLEVEL,
	SK_CHOICE
};

struct setting {
	const char		*kw;		/* "max packet size" */
	const char		*field;		/* "max_packet_size" */
	enum setting_kind	 kind;
	size_t			 off;		/* in its struct */
	size_t			 size;		/* of the field */
	uint64_t		 def;		/* numeric kinds */
	const char		*sdef;		/* WORD and PATH */
	int64_t			 min;
	uint64_t		 max;
	int			 reload;	/* a reload applies it */
	const char *const	*words;		/* CHOICE: the values */
};

/* The C type of each kind: a field is `SETTING_T_K name SETTING_D_K(max)'. */
#define SETTING_T_U32		uint32_t
#define SETTING_T_U64		uint64_t
#define SETTING_T_SIZE32	uint32_t
#define SETTING_T_SIZE64	uint64_t
#define SETTING_T_EXPIRY	uint32_t
#define SETTING_T_BOOL		int
#define SETTING_T_FLAG		int
#define SETTING_T_WORD		char
#define SETTING_T_PATH		char
#define SETTING_T_STRING	char
#define SETTING_T_LOGLEVEL	int
#define SETTING_T_CHOICE	int
#define SETTING_D_U32(max)
#define SETTING_D_U64(max)
#define SETTING_D_SIZE32(max)
#define SETTING_D_SIZE64(max)
#define SETTING_D_EXPIRY(max)
#define SETTING_D_BOOL(max)
#define SETTING_D_FLAG(max)
#define SETTING_D_WORD(max)	[max]
#define SETTING_D_PATH(max)	[max]
#define SETTING_D_STRING(max)	[max]
#define SETTING_D_LOGLEVEL(max)
#define SETTING_D_CHOICE(max)

#define SETTING_K_U32		SK_UINT
#define SETTING_K_U64		SK_UINT
#define SETTING_K_SIZE32	SK_SIZE
#define SETTING_K_SIZE64	SK_SIZE
#define SETTING_K_EXPIRY	SK_EXPIRY
#define SETTING_K_BOOL		SK_BOOL
#define SETTING_K_FLAG		SK_FLAG
#define SETTING_K_WORD		SK_WORD
#define SETTING_K_PATH		SK_PATH
#define SETTING_K_STRING	SK_STRING
#define SETTING_K_LOGLEVEL	SK_LOGLEVEL
#define SETTING_K_CHOICE	SK_CHOICE

/* The default goes to `def' (numbers) or `sdef' (strings). */
#define SETTING_DEF_U32(d)	(d), NULL
#define SETTING_DEF_U64(d)	(d), NULL
#define SETTING_DEF_SIZE32(d)	(d), NULL
#define SETTING_DEF_SIZE64(d)	(d), NULL
#define SETTING_DEF_EXPIRY(d)	(d), NULL
#define SETTING_DEF_BOOL(d)	(d), NULL
#define SETTING_DEF_FLAG(d)	(d), NULL
#define SETTING_DEF_WORD(d)	0, (d)
#define SETTING_DEF_PATH(d)	0, (d)
#define SETTING_DEF_STRING(d)	0, (d)
#define SETTING_DEF_LOGLEVEL(d)	(uint64_t)(d), NULL
#define SETTING_DEF_CHOICE(d)	(d), NULL

/* What must hold of a row, checked when it compiles. */
#define SETTING_OK_U32(d, lo, hi)	((hi) <= UINT32_MAX && (d) <= (hi) && \
					    ((d) >= (lo) || (d) == 0))
#define SETTING_OK_U64(d, lo, hi)	((d) <= (hi) && ((d) >= (lo) || \
					    (d) == 0))
#define SETTING_OK_SIZE32(d, lo, hi)	SETTING_OK_U32(d, lo, hi)
#define SETTING_OK_SIZE64(d, lo, hi)	SETTING_OK_U64(d, lo, hi)
#define SETTING_OK_EXPIRY(d, lo, hi)	((hi) == UINT32_MAX && (d) <= (hi))
#define SETTING_OK_BOOL(d, lo, hi)	((d) == 0 || (d) == 1)
#define SETTING_OK_FLAG(d, lo, hi)	((d) == 0 || (d) == 1)
#define SETTING_OK_WORD(d, lo, hi)	(sizeof(d) <= (hi) && \
					    sizeof(d) > (lo))
#define SETTING_OK_PATH(d, lo, hi)	(sizeof(d) <= (hi))
#define SETTING_OK_STRING(d, lo, hi)	(sizeof(d) <= (hi) && \
					    sizeof(d) > (lo))
#define SETTING_OK_LOGLEVEL(d, lo, hi)	((d) >= -1 && (d) <= 1)
#define SETTING_OK_CHOICE(d, lo, hi)	((lo) == 0 && (d) >= 0 && (d) <= (hi))

#define SETTING_FIELD(f, k, d, lo, hi, kw, rl)				\
	SETTING_T_##k f SETTING_D_##k(hi);
/* The values of a CHOICE: the array f_words, beside the table. */
#define SETTING_W_U32(f)	NULL
#define SETTING_W_U64(f)	NULL
#define SETTING_W_SIZE32(f)	NULL
#define SETTING_W_SIZE64(f)	NULL
#define SETTING_W_EXPIRY(f)	NULL
#define SETTING_W_BOOL(f)	NULL
#define SETTING_W_FLAG(f)	NULL
#define SETTING_W_WORD(f)	NULL
#define SETTING_W_PATH(f)	NULL
#define SETTING_W_LOGLEVEL(f)	NULL
#define SETTING_W_STRING(f)	NULL
#define SETTING_W_CHOICE(f)	f##_words

#define SETTING_DESC(type, f, k, d, lo, hi, kw, rl)			\
	{ kw, #f, SETTING_K_##k, offsetof(type, f),			\
	    sizeof(((type *)0)->f), SETTING_DEF_##k(d), (lo), (hi), (rl), \
	    SETTING_W_##k(f) },
#define SETTING_ASSERT(f, k, d, lo, hi, kw, rl)				\
	_Static_assert(SETTING_OK_##k(d, lo, hi),			\
	    "setting " #f ": default out of range or type too narrow");

#define SETTINGS_MAX_WORDS	96	/* a listener with every option */

/* settings.c */
void		 settings_defaults(const struct setting *, size_t, void *);
int		 settings_parse(const struct setting *, size_t, void *,
		    char *const *, size_t, size_t *, char *, size_t);
int		 settings_known(const struct setting *, size_t, char *const *,
		    size_t);
int		 settings_check(const struct setting *, size_t, const void *,
		    char *, size_t);
int		 settings_equal(const struct setting *, size_t, const void *,
		    const void *, int);
void		 settings_reload(const struct setting *, size_t, void *,
		    const void *);
void		 settings_print(FILE *, const struct setting *, size_t,
		    const void *, int);
int		 settings_format(const struct setting *, const void *, char *,
		    size_t);
uint64_t	 setting_uint(const struct setting *, const void *);
const struct setting *settings_find(const struct setting *, size_t,
		    const char *);

#endif /* BROKERD_SETTINGS_H */
