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
 * The settings tables end to end.  For every row of the parent's, the
 * engine's and the listeners' tables: a value other than its default is
 * written to a file, parsed by the parent's parser, printed and parsed
 * again to the same, sent by the parent's senders over a socketpair and
 * received by the engine's own dispatcher; every field must arrive as
 * written.  Every row must be documented in brokerd.conf.5.  A row added
 * to a table is covered without touching this file.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "brokerd.h"
#include "engine.h"

struct brokerd_conf	*brokerd_conf;

static void
discard_log(int pri, const char *line)
{
	(void)pri;
	(void)line;
}

/* A value of `s' other than its default, as the file says it. */
static void
other_value(const struct setting *s, size_t row, char *buf, size_t size)
{
	switch (s->kind) {
	case SK_UINT:
	case SK_SIZE:
		snprintf(buf, size, "%llu", (unsigned long long)
		    (s->def != s->max ? s->max : (uint64_t)s->min));
		break;
	case SK_EXPIRY:
		if (s->def == s->max)
			snprintf(buf, size, "%llu", (unsigned long long)
			    (s->min + 1));
		else
			snprintf(buf, size, "never");
		break;
	case SK_BOOL:
		snprintf(buf, size, "%s", s->def ? "no" : "yes");
		break;
	case SK_FLAG:
		buf[0] = '\0';
		break;
	case SK_WORD:
		snprintf(buf, size, "\"w-%zu\"", row);
		break;
	case SK_PATH:
		snprintf(buf, size, "\"/tmp/p%zu\"", row);
		break;
	case SK_STRING:
		snprintf(buf, size, "\"s:%zu\"", row);
		break;
	case SK_LOGLEVEL:
		snprintf(buf, size, "%s", s->def == 1 ? "warning" : "debug");
		break;
	case SK_CHOICE:
		snprintf(buf, size, "%s", s->words[s->def == 0 ? s->max : 0]);
		break;
	}
}

/* The value of `s' in `base' as the file says it (strings quoted). */
static void
have_value(const struct setting *s, const void *base, char *buf, size_t size)
{
	if (s->kind == SK_FLAG) {
		buf[0] = '\0';
		return;
	}
	settings_format(s, base, buf, size);
}

static void
write_table(FILE *fp, const struct setting *tab, size_t n, size_t first,
    int inl)
{
	char	 v[128];
	size_t	 i;

	for (i = 0; i < n; i++) {
		other_value(&tab[i], first + i, v, sizeof(v));
		fprintf(fp, inl ? " %s %s" : "%s %s\n", tab[i].kw, v);
	}
}

/* Every field of `base' holds the value write_table() wrote. */
static void
check_table(const char *what, const struct setting *tab, size_t n,
    size_t first, const void *base)
{
	char	 want[128], have[PATH_MAX + 8];
	size_t	 i;

	for (i = 0; i < n; i++) {
		other_value(&tab[i], first + i, want, sizeof(want));
		have_value(&tab[i], base, have, sizeof(have));
		if (tab[i].kind == SK_FLAG) {
			if (setting_uint(&tab[i], base) != 1)
				fail_msg("%s: %s is not on", what, tab[i].kw);
			continue;
		}
		if (strcmp(want, have) != 0)
			fail_msg("%s: %s is %s, not %s", what, tab[i].kw,
			    have, want);
	}
}

static char	 confpath[64], outpath[64];

static struct brokerd_conf *
parse_everything(void)
{
	FILE	*fp;
	int	 fd;

	strlcpy(confpath, "/tmp/test_conf.XXXXXX", sizeof(confpath));
	if ((fd = mkstemp(confpath)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		fail_msg("mkstemp");
	write_table(fp, global_settings, global_nsettings, 0, 0);
	write_table(fp, engine_settings, engine_nsettings, 100, 0);
	write_table(fp, authd_settings, authd_nsettings, 300, 0);
	fprintf(fp, "listen on 127.0.0.1 port 1883");
	write_table(fp, listener_settings, listener_nsettings, 200, 1);
	fprintf(fp, "\n");
	fclose(fp);
	return parse_config(confpath);
}

static void
test_every_setting_parses(void **state)
{
	struct brokerd_conf	*conf;

	(void)state;
	assert_non_null(conf = parse_everything());
	check_table("file", global_settings, global_nsettings, 0, conf);
	check_table("file", engine_settings, engine_nsettings, 100,
	    &conf->engine);
	check_table("file", authd_settings, authd_nsettings, 300,
	    &conf->authd);
	check_table("file", listener_settings, listener_nsettings, 200,
	    &TAILQ_FIRST(&conf->listeners)->o);
	config_free(conf);
	unlink(confpath);
}

/* Printed and parsed again: the same in every field. */
static void
test_every_setting_round_trips(void **state)
{
	struct brokerd_conf	*conf, *again;
	FILE			*fp;
	int			 fd;

	(void)state;
	assert_non_null(conf = parse_everything());
	strlcpy(outpath, "/tmp/test_conf.out.XXXXXX", sizeof(outpath));
	if ((fd = mkstemp(outpath)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		fail_msg("mkstemp");
	print_config(fp, conf);
	fclose(fp);
	assert_non_null(again = parse_config(outpath));
	assert_true(settings_equal(global_settings, global_nsettings, conf,
	    again, 0));
	assert_true(settings_equal(engine_settings, engine_nsettings,
	    &conf->engine, &again->engine, 0));
	assert_true(settings_equal(authd_settings, authd_nsettings,
	    &conf->authd, &again->authd, 0));
	assert_true(listener_same(TAILQ_FIRST(&conf->listeners),
	    TAILQ_FIRST(&again->listeners)));
	assert_true(settings_equal(listener_settings, listener_nsettings,
	    &TAILQ_FIRST(&conf->listeners)->o,
	    &TAILQ_FIRST(&again->listeners)->o, 0));
	config_free(conf);
	config_free(again);
	unlink(confpath);
	unlink(outpath);
}

/* Deliver what `a' sent to the engine's dispatcher on the far end `b'. */
static void
deliver(struct ipc_chan *a, struct ipc_chan *b, int frames)
{
	struct ipc_msg	 msg;
	const char	*why;
	int		 got = 0, tries = 0;

	assert_int_equal(ipc_chan_flush_sync(a, 1000), 0);
	while (got < frames && tries++ < 1000) {
		(void)ipc_chan_read(b);
		while (ipc_chan_get(b, &msg, &why) == 1) {
			engine_dispatch_parent(b, &msg);
			ipc_msg_done(b, &msg);
			got++;
		}
	}
	assert_int_equal(got, frames);
}

static void
nothing(struct ipc_chan *chan, struct ipc_msg *msg)
{
	(void)chan;
	(void)msg;
}

static void
closed(struct ipc_chan *chan, const char *why)
{
	(void)chan;
	(void)why;
}

/*
 * The parent's senders to the engine's receiver: what arrives is what
 * the file said, field by field.
 */
static void
test_every_setting_reaches_the_engine(void **state)
{
	struct brokerd_conf	*conf;
	struct listener_conf	*lc;
	struct listener		*l;
	struct ipc_chan		*a, *b;
	int			 sv[2];

	(void)state;
	assert_non_null(conf = parse_everything());
	lc = TAILQ_FIRST(&conf->listeners);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	a = ipc_chan_new(sv[0], "parent", IPC_PARENT_MAXLEN, 0, nothing,
	    closed, NULL);
	b = ipc_chan_new(sv[1], "engine", IPC_PARENT_MAXLEN, 1, nothing,
	    closed, NULL);
	/* The engine's receiver checks ranges; none may be refused. */
	memset(&econf, 0, sizeof(econf));
	config_send_engine(a, &conf->engine);
	deliver(a, b, 1);
	check_table("engine", engine_settings, engine_nsettings, 100, &econf);

	lc->id = 7;
	lc->fd = dup(sv[0]);		/* the channel closes it once sent */
	config_send_listeners(a, conf);
	deliver(a, b, 1);
	assert_non_null(l = conn_listener_by_id(7));
	check_table("engine listener", listener_settings, listener_nsettings,
	    200, &l->o);
	ipc_chan_free(a);
	ipc_chan_free(b);
	config_free(conf);
	unlink(confpath);
}

/*
 * Every row is documented: brokerd.conf.5 has an item whose words hold
 * the row's keywords in order.
 */
static int
documented(const char *kw, char lines[][256], size_t nlines)
{
	char		 want[128], *w, *save, *p;
	size_t		 i;

	for (i = 0; i < nlines; i++) {
		strlcpy(want, kw, sizeof(want));
		p = lines[i];
		for (w = strtok_r(want, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save)) {
			/* The next whole word of the line equal to w. */
			while ((p = strstr(p, w)) != NULL) {
				if ((p == lines[i] || p[-1] == ' ') &&
				    (p[strlen(w)] == ' ' ||
				    p[strlen(w)] == '\0' ||
				    p[strlen(w)] == '\n'))
					break;
				p++;
			}
			if (p == NULL)
				break;
			p += strlen(w);
		}
		if (w == NULL)
			return 1;
	}
	return 0;
}

static void
test_every_setting_documented(void **state)
{
	static char	 lines[512][256];
	const struct {
		const struct setting	*tab;
		const size_t		*n;
	} tabs[] = {
		{ global_settings, &global_nsettings },
		{ engine_settings, &engine_nsettings },
		{ listener_settings, &listener_nsettings },
		{ authd_settings, &authd_nsettings },
	};
	FILE		*fp;
	size_t		 nlines = 0, t, i;

	(void)state;
	assert_non_null(fp = fopen("man/brokerd.conf.5", "r"));
	while (nlines < 512 && fgets(lines[nlines], sizeof(lines[0]), fp))
		if (strncmp(lines[nlines], ".It Ic ", 7) == 0)
			nlines++;
	fclose(fp);
	for (t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++)
		for (i = 0; i < *tabs[t].n; i++)
			if (!documented(tabs[t].tab[i].kw, lines, nlines))
				fail_msg("\"%s\" is not documented in "
				    "man/brokerd.conf.5", tabs[t].tab[i].kw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_setting_parses),
		cmocka_unit_test(test_every_setting_round_trips),
		cmocka_unit_test(test_every_setting_reaches_the_engine),
		cmocka_unit_test(test_every_setting_documented),
	};

	log_init(1, LOG_DAEMON);
	log_setsink(discard_log, NULL);
	ev_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
