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
 * The generic half of every settings table (settings.h): defaults,
 * parsing "keywords value" from the words of a line, printing, checking
 * and comparing.  Nothing here knows a particular setting.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

#define SIZE_LIMIT	(1ULL << 48)	/* "1G" and friends, at most */

static const char *const loglevels[] = { "warning", "info", "debug" };

static int
setting_is_int(const struct setting *s)
{
	return s->kind == SK_BOOL || s->kind == SK_FLAG ||
	    s->kind == SK_LOGLEVEL || s->kind == SK_CHOICE;
}

uint64_t
setting_uint(const struct setting *s, const void *base)
{
	const char	*p = (const char *)base + s->off;
	uint32_t	 u32;
	uint64_t	 u64;
	int		 i;

	if (setting_is_int(s)) {
		memcpy(&i, p, sizeof(i));
		return (uint64_t)(int64_t)i;
	}
	if (s->size == sizeof(u32)) {
		memcpy(&u32, p, sizeof(u32));
		return u32;
	}
	memcpy(&u64, p, sizeof(u64));
	return u64;
}

static void
setting_set_uint(const struct setting *s, void *base, uint64_t v)
{
	char		*p = (char *)base + s->off;
	uint32_t	 u32 = v;
	int		 i = (int)(int64_t)v;

	if (setting_is_int(s))
		memcpy(p, &i, sizeof(i));
	else if (s->size == sizeof(u32))
		memcpy(p, &u32, sizeof(u32));
	else
		memcpy(p, &v, sizeof(v));
}

static int
setting_is_string(const struct setting *s)
{
	return s->kind == SK_WORD || s->kind == SK_PATH ||
	    s->kind == SK_STRING;
}

void
settings_defaults(const struct setting *tab, size_t n, void *base)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (setting_is_string(&tab[i]))
			strlcpy((char *)base + tab[i].off, tab[i].sdef,
			    tab[i].size);
		else
			setting_set_uint(&tab[i], base, tab[i].def);
	}
}

/* How many of `words' the keywords of `s' are, or 0. */
static size_t
setting_match(const struct setting *s, char *const *words, size_t nwords)
{
	const char	*kw = s->kw, *sp;
	size_t		 n = 0, len;

	while (*kw != '\0') {
		if (n == nwords)
			return 0;
		sp = strchr(kw, ' ');
		len = sp != NULL ? (size_t)(sp - kw) : strlen(kw);
		if (strlen(words[n]) != len || memcmp(words[n], kw, len) != 0)
			return 0;
		n++;
		kw += len;
		if (*kw == ' ')
			kw++;
	}
	return n;
}

const struct setting *
settings_find(const struct setting *tab, size_t n, const char *kw)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].kw, kw) == 0)
			return &tab[i];
	return NULL;
}

/* "512", "64K", "16M", "1G": binary multiples, up to 2^48. */
static int
parse_size(const char *s, long long *v)
{
	char		 buf[32];
	const char	*errstr;
	size_t		 len = strlen(s);
	long long	 mult;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	strlcpy(buf, s, sizeof(buf));
	switch (buf[len - 1]) {
	case 'K': case 'k':
		mult = 1024LL;
		break;
	case 'M': case 'm':
		mult = 1024LL * 1024;
		break;
	case 'G': case 'g':
		mult = 1024LL * 1024 * 1024;
		break;
	default:
		*v = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		return errstr == NULL ? 0 : -1;
	}
	buf[len - 1] = '\0';
	*v = strtonum(buf, 0, (long long)(SIZE_LIMIT / mult), &errstr);
	if (errstr != NULL)
		return -1;
	*v *= mult;
	return 0;
}

static int
word_ok(const char *v, size_t min, size_t max)
{
	size_t	 len = strlen(v);

	return len >= min && len < max && v[0] != '-' &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static int
string_ok(const char *v, size_t min, size_t max)
{
	size_t	 len = strlen(v), i;

	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			return 0;
	return len >= min && len < max;
}

/* A PATH whose default is "" may be "" (not set). */
static int
path_ok(const struct setting *s, const char *v)
{
	return v[0] == '/' || (v[0] == '\0' && s->sdef[0] == '\0');
}

/* A value from a file: "not set" is only ever the default. */
static int
range_ok(const struct setting *s, long long v)
{
	return v >= 0 && v >= s->min && (unsigned long long)v <= s->max;
}

/* One of the words of a CHOICE. */
static int
choice_value(const struct setting *s, void *base, const char *v, char *err,
    size_t errlen)
{
	size_t	 i, len;

	for (i = 0; i <= s->max; i++)
		if (strcmp(v, s->words[i]) == 0) {
			setting_set_uint(s, base, i);
			return 0;
		}
	len = snprintf(err, errlen, "%s: \"%s\" is not", s->kw, v);
	for (i = 0; i <= s->max && len < errlen; i++)
		len += snprintf(err + len, errlen - len, "%s %s",
		    i == 0 ? "" : i == s->max ? " or" : ",", s->words[i]);
	return -1;
}

/* Parse the value `v' of `s' into `base'. */
static int
setting_value(const struct setting *s, void *base, const char *v,
    char *err, size_t errlen)
{
	const char	*errstr;
	long long	 num = 0;
	uint64_t	 hi = s->max;
	size_t		 i;

	switch (s->kind) {
	case SK_UINT:
		num = strtonum(v, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: \"%s\" is not a number",
			    s->kw, v);
			return -1;
		}
		break;
	case SK_SIZE:
		if (parse_size(v, &num) == -1) {
			snprintf(err, errlen, "\"%s\" is not a size", v);
			return -1;
		}
		break;
	case SK_EXPIRY:
		if (strcmp(v, "never") == 0) {
			setting_set_uint(s, base, s->max);
			return 0;
		}
		num = strtonum(v, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: \"%s\" is not a number "
			    "of seconds or never", s->kw, v);
			return -1;
		}
		hi = s->max - 1;
		if (num < s->min || num < 0 || (unsigned long long)num > hi) {
			snprintf(err, errlen, "%s %lld out of range "
			    "(%lld-%llu)", s->kw, num, (long long)s->min,
			    (unsigned long long)hi);
			return -1;
		}
		setting_set_uint(s, base, (uint64_t)num);
		return 0;
	case SK_BOOL:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not yes or no",
			    s->kw, v);
			return -1;
		}
		setting_set_uint(s, base, v[0] == 'y');
		return 0;
	case SK_FLAG:
		setting_set_uint(s, base, 1);
		return 0;
	case SK_WORD:
		if (!word_ok(v, s->min, s->size)) {
			snprintf(err, errlen, "bad %s \"%s\"", s->kw, v);
			return -1;
		}
		strlcpy((char *)base + s->off, v, s->size);
		return 0;
	case SK_STRING:
		if (!string_ok(v, s->min, s->size)) {
			snprintf(err, errlen, "bad %s \"%s\"", s->kw, v);
			return -1;
		}
		strlcpy((char *)base + s->off, v, s->size);
		return 0;
	case SK_PATH:
		if (v[0] == '\0' && s->sdef[0] == '\0') {
			/* Not set, as by default. */
			((char *)base + s->off)[0] = '\0';
			return 0;
		}
		if (v[0] != '/') {
			snprintf(err, errlen, "%s \"%s\" is not an absolute "
			    "path", s->kw, v);
			return -1;
		}
		if (strlcpy((char *)base + s->off, v, s->size) >= s->size) {
			snprintf(err, errlen, "%s \"%s\" is too long", s->kw,
			    v);
			return -1;
		}
		return 0;
	case SK_LOGLEVEL:
		for (i = 0; i < 3; i++)
			if (strcmp(v, loglevels[i]) == 0) {
				setting_set_uint(s, base,
				    (uint64_t)((int64_t)i - 1));
				return 0;
			}
		snprintf(err, errlen, "%s: \"%s\" is not warning, info or "
		    "debug", s->kw, v);
		return -1;
	case SK_CHOICE:
		return choice_value(s, base, v, err, errlen);
	}
	if (!range_ok(s, num)) {
		snprintf(err, errlen, "%s %lld out of range (%lld-%llu)",
		    s->kw, num, (long long)s->min, (unsigned long long)s->max);
		return -1;
	}
	setting_set_uint(s, base, (uint64_t)num);
	return 0;
}

/* 1 if some setting of `tab' begins `words'. */
int
settings_known(const struct setting *tab, size_t n, char *const *words,
    size_t nwords)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (setting_match(&tab[i], words, nwords) > 0)
			return 1;
	return 0;
}

/*
 * One setting from the start of `words': the longest keywords of `tab'
 * that the words begin with, then its value unless it is a flag.
 * `*used' says how many words it took.  Returns 0, or -1 with `err'.
 */
int
settings_parse(const struct setting *tab, size_t n, void *base,
    char *const *words, size_t nwords, size_t *used, char *err,
    size_t errlen)
{
	const struct setting	*best = NULL;
	size_t			 i, k, bestk = 0, len = 0;

	*used = 0;
	for (i = 0; i < n; i++)
		if ((k = setting_match(&tab[i], words, nwords)) > bestk) {
			best = &tab[i];
			bestk = k;
		}
	if (best == NULL) {
		len = snprintf(err, errlen, "unknown setting \"");
		for (i = 0; i < nwords && i < 4 && len < errlen; i++)
			len += snprintf(err + len, errlen - len, "%s%s",
			    i > 0 ? " " : "", words[i]);
		if (len < errlen)
			snprintf(err + len, errlen - len, "%s\"",
			    nwords > 4 ? " ..." : "");
		return -1;
	}
	if (best->kind == SK_FLAG) {
		setting_set_uint(best, base, 1);
		*used = bestk;
		return 0;
	}
	if (bestk == nwords) {
		snprintf(err, errlen, "%s: a value is missing", best->kw);
		return -1;
	}
	if (setting_value(best, base, words[bestk], err, errlen) == -1)
		return -1;
	*used = bestk + 1;
	return 0;
}

/*
 * What a receiver checks of a table that came over a channel: every
 * value in range, every string terminated and well formed.
 */
int
settings_check(const struct setting *tab, size_t n, const void *base,
    char *err, size_t errlen)
{
	const struct setting	*s;
	const char		*str;
	uint64_t		 v;
	size_t			 i;

	for (i = 0; i < n; i++) {
		s = &tab[i];
		if (setting_is_string(s)) {
			str = (const char *)base + s->off;
			if (memchr(str, '\0', s->size) == NULL ||
			    (s->kind == SK_WORD && !word_ok(str, s->min,
			    s->size)) ||
			    (s->kind == SK_STRING && !string_ok(str, s->min,
			    s->size)) ||
			    (s->kind == SK_PATH && !path_ok(s, str)))
				goto bad;
			continue;
		}
		v = setting_uint(s, base);
		switch (s->kind) {
		case SK_BOOL:
		case SK_FLAG:
			if (v > 1)
				goto bad;
			break;
		case SK_LOGLEVEL:
			if ((int64_t)v < -1 || (int64_t)v > 1)
				goto bad;
			break;
		case SK_CHOICE:
			if (v > s->max)
				goto bad;
			break;
		case SK_EXPIRY:
			if (v != s->max && (int64_t)v < s->min)
				goto bad;
			break;
		default:
			if (!(v == 0 && s->def == 0) &&
			    ((int64_t)v < s->min || v > s->max))
				goto bad;
			break;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "%s out of range", s->kw);
	return -1;
}

static int
setting_equal(const struct setting *s, const void *a, const void *b)
{
	if (setting_is_string(s))
		return strcmp((const char *)a + s->off,
		    (const char *)b + s->off) == 0;
	return setting_uint(s, a) == setting_uint(s, b);
}

/*
 * 1 if `a' and `b' hold the same values: all of them, or with `fixed'
 * only those a reload cannot change.
 */
int
settings_equal(const struct setting *tab, size_t n, const void *a,
    const void *b, int fixed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((!fixed || !tab[i].reload) &&
		    !setting_equal(&tab[i], a, b))
			return 0;
	return 1;
}

/* A reload: take from `src' what a reload may change. */
void
settings_reload(const struct setting *tab, size_t n, void *dst,
    const void *src)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!tab[i].reload)
			continue;
		memcpy((char *)dst + tab[i].off, (const char *)src +
		    tab[i].off, tab[i].size);
	}
}

/* The value of `s' as the configuration file would say it. */
int
settings_format(const struct setting *s, const void *base, char *buf,
    size_t size)
{
	const char	*str;
	uint64_t	 v;
	size_t		 n = 0;

	if (setting_is_string(s)) {
		str = (const char *)base + s->off;
		if (n < size)
			buf[n] = '"';
		n++;
		for (; *str != '\0'; str++) {
			if (*str == '"' || *str == '\\') {
				if (n < size)
					buf[n] = '\\';
				n++;
			}
			if (n < size)
				buf[n] = *str;
			n++;
		}
		if (n < size)
			buf[n] = '"';
		n++;
		if (size > 0)
			buf[n < size ? n : size - 1] = '\0';
		return n;
	}
	v = setting_uint(s, base);
	switch (s->kind) {
	case SK_EXPIRY:
		if (v == s->max)
			return snprintf(buf, size, "never");
		break;
	case SK_BOOL:
		return snprintf(buf, size, "%s", v ? "yes" : "no");
	case SK_FLAG:
		return snprintf(buf, size, "%s", v ? "on" : "off");
	case SK_LOGLEVEL:
		return snprintf(buf, size, "%s",
		    loglevels[(int64_t)v + 1]);
	case SK_CHOICE:
		return snprintf(buf, size, "%s", v <= s->max ? s->words[v] :
		    "?");
	default:
		break;
	}
	return snprintf(buf, size, "%llu", (unsigned long long)v);
}

/*
 * Print a table: a line "keywords value" per setting, or, `inline' (the
 * options of a listener), " keywords value" for those not at their
 * default and " keywords" for flags that are on.
 */
void
settings_print(FILE *fp, const struct setting *tab, size_t n,
    const void *base, int inl)
{
	char	 buf[PATH_MAX * 2 + 8];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (inl) {
			if (setting_is_string(&tab[i]) ?
			    strcmp((const char *)base + tab[i].off,
			    tab[i].sdef) == 0 :
			    setting_uint(&tab[i], base) == tab[i].def)
				continue;
			if (tab[i].kind == SK_FLAG) {
				fprintf(fp, " %s", tab[i].kw);
				continue;
			}
		}
		settings_format(&tab[i], base, buf, sizeof(buf));
		fprintf(fp, inl ? " %s %s" : "%s %s\n", tab[i].kw, buf);
	}
}
