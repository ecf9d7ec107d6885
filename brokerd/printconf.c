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
print_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void
print_keyword_string(const char *kw, const char *s)
{
	printf("%s ", kw);
	print_string(s);
	putchar('\n');
}

static void
print_expiry(const char *kw, uint32_t v)
{
	if (v == EXPIRY_NEVER)
		printf("%s never\n", kw);
	else
		printf("%s %u\n", kw, v);
}

static void
print_engine(const struct engine_conf *e)
{
	printf("max packet size %u\n", e->max_packet_size);
	printf("max connect size %u\n", e->max_connect_size);
	printf("max topic length %u\n", e->max_topic_length);
	printf("max topic levels %u\n", e->max_topic_levels);
	printf("max keepalive %u\n", e->max_keepalive);
	printf("connect timeout %u\n", e->connect_timeout);
	printf("max inflight %u\n", e->max_inflight);
	printf("max inflight bytes %llu\n",
	    (unsigned long long)e->max_inflight_bytes);
	printf("max queued messages %u\n", e->max_queued);
	printf("max queued bytes %llu\n",
	    (unsigned long long)e->max_queued_bytes);
	printf("max queued total %llu\n",
	    (unsigned long long)e->max_queued_total);
	printf("max client buffer %u\n", e->max_client_buffer);
	printf("max subscriptions %u\n", e->max_subscriptions);
	printf("max user properties %u\n", e->max_user_properties);
	printf("max topic aliases %u\n", e->max_topic_aliases);
	print_expiry("session expiry", e->session_expiry);
	print_expiry("max session expiry", e->max_session_expiry);
	printf("max retained messages %u\n", e->max_retained);
	printf("max retained bytes %llu\n",
	    (unsigned long long)e->max_retained_bytes);
	printf("max qos %u\n", e->max_qos);
	printf("retain %s\n", e->retain_available ? "yes" : "no");
	printf("empty client id %s\n", e->allow_empty_id ? "yes" : "no");
	print_keyword_string("client id prefix", e->id_prefix);
}

void
print_config(const struct brokerd_conf *conf)
{
	static const char *const levels[] = { "warning", "info", "debug" };
	const struct listener_conf	*l;
	int				 i;

	printf("log level %s\n", levels[conf->verbose + 1]);
	print_keyword_string("control socket", conf->control);
	print_keyword_string("datadir", conf->datadir);
	print_keyword_string("chroot", conf->chroot);
	for (i = PROC_ENGINE; i < PROC_MAX; i++) {
		printf("user %s ", proc_names[i]);
		print_string(conf->user[i]);
		putchar('\n');
	}
	putchar('\n');
	print_engine(&conf->engine);
	putchar('\n');
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		printf("listen on ");
		if (l->kind == LISTEN_UNIX)
			print_string(l->path);
		else
			printf("%s", listener_name(l));
		if (l->anonymous)
			printf(" allow anonymous");
		if (l->max_conns != 0)
			printf(" max connections %u", l->max_conns);
		if (l->max_conns_addr != 0)
			printf(" max connections per address %u",
			    l->max_conns_addr);
		putchar('\n');
	}
}
