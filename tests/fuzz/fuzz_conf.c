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
 * libFuzzer target for brokerd.conf(5): the input is a configuration
 * file, parsed by the parent's parser (lexer, macros, includes, the
 * settings tables); a configuration it accepts is printed in canonical
 * form, and that must parse again to the same.
 */

#include <sys/types.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "brokerd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct brokerd_conf	*brokerd_conf;
static char		 path[64], again[64];

static void
discard(int pri, const char *line)
{
	(void)pri;
	(void)line;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, LOG_DAEMON);
	log_setsink(discard, NULL);
	snprintf(path, sizeof(path), "/dev/shm/fuzz_conf.%d", (int)getpid());
	snprintf(again, sizeof(again), "/dev/shm/fuzz_conf.%d.out",
	    (int)getpid());
	return 0;
}

static int
write_file(const char *name, const uint8_t *data, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(name, "w")) == NULL)
		return -1;
	if (len > 0 && fwrite(data, len, 1, fp) != 1) {
		fclose(fp);
		return -1;
	}
	return fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct brokerd_conf	*conf, *conf2;
	FILE			*fp;

	if (len > 64 * 1024 || write_file(path, data, len) == -1)
		return 0;
	if ((conf = parse_config(path)) == NULL)
		return 0;
	if ((fp = fopen(again, "w")) == NULL)
		abort();
	print_config(fp, conf);
	fclose(fp);
	if ((conf2 = parse_config(again)) == NULL)
		abort();	/* canonical output that does not parse */
	if (!settings_equal(global_settings, global_nsettings, conf, conf2,
	    0) || !settings_equal(engine_settings, engine_nsettings,
	    &conf->engine, &conf2->engine, 0))
		abort();	/* or parses to something else */
	config_free(conf);
	config_free(conf2);
	return 0;
}
