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
 * brokerd -nv: the configuration in canonical form, every setting
 * explicit, macros expanded and includes inlined.  Parsing the output
 * again must print the same.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>

#include "brokerd.h"

static void
print_string(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

void
print_config(FILE *fp, const struct brokerd_conf *conf)
{
	const struct listener_conf	*l;

	settings_print(fp, global_settings, global_nsettings, conf, 0);
	putc('\n', fp);
	settings_print(fp, engine_settings, engine_nsettings, &conf->engine,
	    0);
	putc('\n', fp);
	settings_print(fp, authd_settings, authd_nsettings, &conf->authd, 0);
	putc('\n', fp);
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		fprintf(fp, "listen on ");
		if (l->kind == LISTEN_UNIX)
			print_string(fp, l->path);
		else
			fprintf(fp, "%s", listener_name(l));
		settings_print(fp, listener_settings, listener_nsettings,
		    &l->o, 1);
		putc('\n', fp);
	}
}
