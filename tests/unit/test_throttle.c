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
 * authd's failed-login throttle (authd/throttle.c): what is counted for
 * an address, the delays, the refusal at the limit, verifications under
 * way, the window's end and the table's bound.  The clock is this
 * file's: ev_now() below replaces the event loop's.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"
#include "event.h"

static uint64_t	 now = 1000000;

uint64_t
ev_now(void)
{
	return now;
}

static void
configure(uint32_t limit, uint32_t window)
{
	struct authd_conf	 c;

	memset(&c, 0, sizeof(c));
	c.fail_limit = limit;
	c.fail_window = window;
	throttle_configure(&c);
	now += (uint64_t)window * 1000 + 100000;	/* old windows end */
	assert_int_equal(throttle_count(), 0);
}

static const char *
source(const char *addr)
{
	static char	 src[THROTTLE_SRC_MAX];

	throttle_source(addr, strlen(addr), src, sizeof(src));
	return src;
}

static void
test_sources(void **state)
{
	char	 small[8];

	(void)state;
	assert_string_equal(source("192.0.2.1:5432"), "192.0.2.1");
	assert_string_equal(source("192.0.2.1:1"), "192.0.2.1");
	/* IPv6: the /64, whatever the rest and however it is written. */
	assert_string_equal(source("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:80"),
	    "2001:db8:1:2::/64");
	assert_string_equal(source("[2001:0db8:0001:0002::1]:80"),
	    "2001:db8:1:2::/64");
	assert_string_equal(source("[::1]:1883"), "::/64");
	/* An IPv4-mapped address is its IPv4 host. */
	assert_string_equal(source("[::ffff:192.0.2.7]:9"), "192.0.2.7");
	/* Not counted: UNIX sockets, garbage, no host. */
	assert_string_equal(source("/run/brokerd/mqtt.sock"), "");
	assert_string_equal(source(""), "");
	assert_string_equal(source(":5432"), "");
	assert_string_equal(source("[]:5432"), "");
	assert_string_equal(source("[2001:db8::1:5432"), "");
	assert_string_equal(source("[not:an:address]:1"), "");
	assert_string_equal(source("[2001:db8::1%eth0]:1"), "");
	/* Too long for the caller's buffer: not counted, not cut short. */
	throttle_source("192.0.2.123:1", 13, small, sizeof(small));
	assert_string_equal(small, "");
	throttle_source("[2001:db8::1]:1", 15, small, sizeof(small));
	assert_string_equal(small, "");
}

static void
test_delays_and_limit(void **state)
{
	static const uint64_t	 want[] = { 0, 0, 100, 200, 400, 800,
					    1000, 1000, 1000, 1000 };
	const char		*a = "192.0.2.10";
	size_t			 i;

	(void)state;
	configure(10, 60);
	for (i = 0; i < 10; i++) {
		assert_int_equal(throttle_refused(a, 0), 0);
		assert_int_equal(throttle_delay(a), want[i]);
		throttle_start(a);
		throttle_done(a, 1, 1);
	}
	/* At the limit: refused without a verification, 1 s late. */
	assert_int_equal(throttle_refused(a, 0), 1);
	assert_int_equal(throttle_delay(a), 1000);
	assert_int_equal(throttle_count(), 1);
	/* Another address is not affected. */
	assert_int_equal(throttle_refused("192.0.2.11", 0), 0);
	assert_int_equal(throttle_delay("192.0.2.11"), 0);
	/* A success does not reset the count. */
	throttle_done(a, 0, 0);
	assert_int_equal(throttle_refused(a, 0), 1);
	/* The window ends 60 s after the first failure. */
	now += 59999;
	assert_int_equal(throttle_refused(a, 0), 1);
	now += 1;
	assert_int_equal(throttle_refused(a, 0), 0);
	assert_int_equal(throttle_delay(a), 0);
	assert_int_equal(throttle_count(), 0);
}

static void
test_one_ipv6_site_is_one_address(void **state)
{
	char	 addr[64], src[THROTTLE_SRC_MAX];
	int	 i;

	(void)state;
	configure(3, 60);
	/* Each failure from another address of the same /64. */
	for (i = 0; i < 3; i++) {
		snprintf(addr, sizeof(addr), "[2001:db8:5:6:%x::%x]:4000",
		    i + 1, 7 * i + 3);
		throttle_source(addr, strlen(addr), src, sizeof(src));
		throttle_done(src, 0, 1);
	}
	throttle_source("[2001:db8:5:6:ffff::1]:1", 24, src, sizeof(src));
	assert_int_equal(throttle_refused(src, 0), 1);
	throttle_source("[2001:db8:5:7::1]:1", 19, src, sizeof(src));
	assert_int_equal(throttle_refused(src, 0), 0);
}

static void
test_verifications_under_way_count(void **state)
{
	const char	*a = "198.51.100.1";
	int		 i;

	(void)state;
	configure(4, 60);
	/* Before any failure, any number may be under way. */
	for (i = 0; i < 20; i++)
		throttle_start(a);
	assert_int_equal(throttle_refused(a, 0), 0);
	for (i = 0; i < 20; i++)
		throttle_done(a, 1, 0);
	/* Once it has failed, failures and those under way together. */
	throttle_done(a, 0, 1);
	throttle_start(a);
	throttle_start(a);
	assert_int_equal(throttle_refused(a, 0), 0);
	assert_int_equal(throttle_refused(a, 1), 0);
	throttle_start(a);
	/* 1 failure + 3 under way = the limit: a new one is refused... */
	assert_int_equal(throttle_refused(a, 0), 1);
	/* ...one of the three may go on (it is counted already). */
	assert_int_equal(throttle_refused(a, 1), 0);
	throttle_done(a, 1, 0);
	assert_int_equal(throttle_refused(a, 0), 0);
	/* Unknown sources and "" (not counted) are never refused. */
	throttle_done("", 0, 1);
	assert_int_equal(throttle_refused("", 0), 0);
	throttle_done("203.0.113.9", 1, 0);	/* ended, never started */
	assert_int_equal(throttle_refused("203.0.113.9", 0), 0);
}

static void
test_off_and_bounded(void **state)
{
	char	 a[32];
	int	 i;

	(void)state;
	configure(0, 60);			/* 0: no throttle */
	for (i = 0; i < 50; i++)
		throttle_done("192.0.2.99", 0, 1);
	assert_int_equal(throttle_refused("192.0.2.99", 0), 0);
	assert_int_equal(throttle_delay("192.0.2.99"), 0);
	/*
	 * The table holds 65536 windows: the 65537th address pushes out
	 * the oldest, which is then forgotten, while the newest is kept.
	 */
	configure(1, 3600);
	for (i = 0; i <= 65536; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		throttle_done(a, 0, 1);
		now++;
	}
	assert_int_equal(throttle_count(), 65536);
	assert_int_equal(throttle_refused("10.0.0.0", 0), 0);
	assert_int_equal(throttle_refused("10.0.0.1", 0), 1);
	assert_int_equal(throttle_refused("10.1.0.0", 0), 1);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_delays_and_limit),
		cmocka_unit_test(test_one_ipv6_site_is_one_address),
		cmocka_unit_test(test_verifications_under_way_count),
		cmocka_unit_test(test_off_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
