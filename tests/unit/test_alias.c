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


/* Topic aliases from the broker to a client (brokerd/alias.c). */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

static struct conn	 conn;

static int
setup(void **state)
{
	(void)state;
	memset(&conn, 0, sizeof(conn));
	memset(&engine_stats, 0, sizeof(engine_stats));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	alias_out_free(&conn);
	return 0;
}

/* Send `topic' as packet_publish() does; returns what it did, and id. */
static int
send_topic(const char *topic, uint16_t *id)
{
	struct alias_pick	 ap;
	int			 what;

	what = alias_out_pick(&conn, (const uint8_t *)topic, strlen(topic),
	    &ap);
	alias_out_commit(&conn, &ap);
	*id = ap.id;
	return what;
}

static void
test_none_without_maximum(void **state)
{
	uint16_t	 id;

	(void)state;
	alias_out_init(&conn, 0);
	assert_int_equal(send_topic("a/long/topic", &id), ALIAS_NONE);
	assert_int_equal(send_topic("a/long/topic", &id), ALIAS_NONE);
	assert_null(conn.aout);
	assert_int_equal(engine_stats.alias_set, 0);
}

static void
test_short_topics_none(void **state)
{
	uint16_t	 id;

	(void)state;
	alias_out_init(&conn, 10);
	assert_int_equal(send_topic("a/b", &id), ALIAS_NONE);
	assert_int_equal(send_topic("a/bc", &id), ALIAS_SET);
	assert_int_equal(send_topic("a/bc", &id), ALIAS_USE);
}

static void
test_set_then_use(void **state)
{
	uint16_t	 id, id2;

	(void)state;
	alias_out_init(&conn, 2);
	assert_int_equal(send_topic("sensors/one", &id), ALIAS_SET);
	assert_int_equal(id, 1);
	assert_int_equal(send_topic("sensors/two", &id2), ALIAS_SET);
	assert_int_equal(id2, 2);
	assert_int_equal(send_topic("sensors/one", &id), ALIAS_USE);
	assert_int_equal(id, 1);
	assert_int_equal(send_topic("sensors/two", &id), ALIAS_USE);
	assert_int_equal(id, 2);
	/* A prefix or extension of a topic is another topic. */
	assert_int_equal(send_topic("sensors/on", &id), ALIAS_SET);
	assert_int_equal(engine_stats.alias_used, 2);
	assert_int_equal(engine_stats.alias_omitted, 22);
}

static void
test_lru_replaced(void **state)
{
	uint16_t	 id;

	(void)state;
	alias_out_init(&conn, 3);
	send_topic("topic/a", &id);
	send_topic("topic/b", &id);
	send_topic("topic/c", &id);
	send_topic("topic/a", &id);		/* b is now the oldest */
	assert_int_equal(send_topic("topic/d", &id), ALIAS_SET);
	assert_int_equal(id, 2);		/* b's */
	assert_int_equal(send_topic("topic/b", &id), ALIAS_SET);
	assert_int_equal(id, 3);		/* c's */
	assert_int_equal(send_topic("topic/a", &id), ALIAS_USE);
	assert_int_equal(id, 1);
	assert_int_equal(send_topic("topic/d", &id), ALIAS_USE);
	assert_int_equal(id, 2);
	assert_int_equal(send_topic("topic/c", &id), ALIAS_SET);
	assert_int_equal(id, 3);		/* b's, oldest again */
}

/* Never above the maximum, whatever the traffic. */
static void
test_within_maximum(void **state)
{
	char		 t[32];
	uint16_t	 id;
	int		 i;

	(void)state;
	alias_out_init(&conn, 7);
	for (i = 0; i < 1000; i++) {
		snprintf(t, sizeof(t), "x/%d", (i * 7919) % 23);
		if (send_topic(t, &id) != ALIAS_NONE) {
			assert_true(id >= 1);
			assert_true(id <= 7);
		}
	}
}

/* The topics held are bounded: long topics push the oldest out. */
static void
test_bytes_bounded(void **state)
{
	static char	 t[3][40001];
	uint16_t	 id;
	int		 i;

	(void)state;
	alias_out_init(&conn, 100);
	for (i = 0; i < 3; i++) {
		memset(t[i], 'a' + i, 40000);
		t[i][40000] = '\0';
	}
	assert_int_equal(send_topic(t[0], &id), ALIAS_SET);
	assert_int_equal(id, 1);
	/* 80,000 bytes would pass the bound: the first goes, its id too. */
	assert_int_equal(send_topic(t[1], &id), ALIAS_SET);
	assert_int_equal(id, 2);
	assert_int_equal(send_topic(t[0], &id), ALIAS_SET);
	assert_int_equal(id, 1);
	assert_int_equal(send_topic(t[0], &id), ALIAS_USE);
	assert_int_equal(send_topic(t[2], &id), ALIAS_SET);
	assert_int_equal(id, 2);
}

/* A pick that was not committed (the PUBLISH was not sent) changes
 * nothing. */
static void
test_uncommitted_pick(void **state)
{
	struct alias_pick	 ap;
	uint16_t		 id;

	(void)state;
	alias_out_init(&conn, 1);
	send_topic("topic/a", &id);
	alias_out_pick(&conn, (const uint8_t *)"topic/b", 7, &ap);
	assert_int_equal(ap.what, ALIAS_SET);
	assert_int_equal(send_topic("topic/a", &id), ALIAS_USE);
}

/* The encoder: a Topic Alias property, and an empty topic with it. */
static void
test_encode(void **state)
{
	struct mqtt_publish_out	 po;
	struct mqtt_publish_len	 pl;
	uint8_t			 w[64];
	static const uint8_t	 want[] = {
		0x32, 9, 0, 0, 0, 5, 3, 0x23, 0, 7, 'x'
	};

	(void)state;
	memset(&po, 0, sizeof(po));
	po.v5 = 1;
	po.qos = 1;
	po.packet_id = 5;
	po.topic_alias = 7;
	po.topic = (const uint8_t *)"ignored";
	po.topic_len = 0;
	po.payload_len = 1;
	assert_int_equal(mqtt_publish_size(&po, &pl), 0);
	assert_int_equal(pl.total, sizeof(want));
	assert_int_equal(mqtt_encode_publish_head(w, &po, &pl), pl.head);
	w[pl.head] = 'x';
	assert_memory_equal(w, want, sizeof(want));
}

static void
test_bytes_saved(void **state)
{
	(void)state;
	engine_stats.alias_set = 1;
	engine_stats.alias_used = 1;
	engine_stats.alias_omitted = 4;
	assert_int_equal(alias_bytes_saved(), 0);
	engine_stats.alias_omitted = 100;
	assert_int_equal(alias_bytes_saved(), 94);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_none_without_maximum,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_topics_none,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_then_use,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru_replaced,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_within_maximum,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_pick,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_encode,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_saved,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
