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
 * $SYS: the broker's own messages.  Every `sys interval' seconds the
 * counters go out as retained QoS 0 messages under $SYS/broker/, named
 * and formatted as Mosquitto names and formats them, so that what reads
 * Mosquitto's $SYS reads ours; a value is published when it changed.
 * With `sys events yes', what happens to clients (connected,
 * disconnected, session expired, subscribed, unsubscribed) goes out as
 * QoS 0 JSON messages on $SYS/broker/events/.
 *
 * Both are published as a will is: route_publish(), and retain_set()
 * for the counters.  An event is noted where it happens (the layers
 * below call sys_event_*()) and published at the start of the end of the
 * turn (sys_flush()), so no routing runs inside a routing; at most
 * SYS_EVENTS_MAX wait, the others are counted and dropped.
 */

#include <sys/types.h>
#include <sys/queue.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "version.h"

#define SYS_EVENTS_MAX	10000
#define SYS_VALUE_MAX	48

struct sys_event {
	TAILQ_ENTRY(sys_event)	 entry;
	const char		*topic;
	size_t			 len;
	char			 json[];
};

static TAILQ_HEAD(, sys_event)	 sys_events =
    TAILQ_HEAD_INITIALIZER(sys_events);
static unsigned int		 sys_nevents;
static struct evtimer		 sys_timer;
static uint32_t			 sys_interval;	/* armed with, seconds */
static uint64_t			 sys_last;	/* ev_now() of the last tick */
static int			 sys_started;

/* The counters, in Mosquitto's names (below $SYS/broker/). */
enum {
	SV_VERSION, SV_UPTIME,
	SV_CONNECTED, SV_ACTIVE, SV_DISCONNECTED, SV_INACTIVE, SV_TOTAL,
	SV_MAXIMUM, SV_EXPIRED,
	SV_MSG_RECEIVED, SV_MSG_SENT, SV_MSG_STORED,
	SV_STORE_COUNT, SV_STORE_BYTES,
	SV_PUB_RECEIVED, SV_PUB_SENT, SV_PUB_DROPPED,
	SV_PUB_BYTES_RECEIVED, SV_PUB_BYTES_SENT,
	SV_BYTES_RECEIVED, SV_BYTES_SENT,
	SV_SUBSCRIPTIONS, SV_SHARED_SUBSCRIPTIONS, SV_RETAINED,
	SV_HEAP_CURRENT, SV_HEAP_MAXIMUM,
	SV_MAX
};

static const char *const sys_names[SV_MAX] = {
	[SV_VERSION] = "version",
	[SV_UPTIME] = "uptime",
	[SV_CONNECTED] = "clients/connected",
	[SV_ACTIVE] = "clients/active",
	[SV_DISCONNECTED] = "clients/disconnected",
	[SV_INACTIVE] = "clients/inactive",
	[SV_TOTAL] = "clients/total",
	[SV_MAXIMUM] = "clients/maximum",
	[SV_EXPIRED] = "clients/expired",
	[SV_MSG_RECEIVED] = "messages/received",
	[SV_MSG_SENT] = "messages/sent",
	[SV_MSG_STORED] = "messages/stored",
	[SV_STORE_COUNT] = "store/messages/count",
	[SV_STORE_BYTES] = "store/messages/bytes",
	[SV_PUB_RECEIVED] = "publish/messages/received",
	[SV_PUB_SENT] = "publish/messages/sent",
	[SV_PUB_DROPPED] = "publish/messages/dropped",
	[SV_PUB_BYTES_RECEIVED] = "publish/bytes/received",
	[SV_PUB_BYTES_SENT] = "publish/bytes/sent",
	[SV_BYTES_RECEIVED] = "bytes/received",
	[SV_BYTES_SENT] = "bytes/sent",
	[SV_SUBSCRIPTIONS] = "subscriptions/count",
	[SV_SHARED_SUBSCRIPTIONS] = "shared_subscriptions/count",
	[SV_RETAINED] = "retained messages/count",
	[SV_HEAP_CURRENT] = "heap/current",
	[SV_HEAP_MAXIMUM] = "heap/maximum",
};

/*
 * The load figures: $SYS/broker/load/NAME/{1min,5min,15min}, each an
 * exponentially weighted average of a counter's rate per minute, as
 * Mosquitto computes it.
 */
enum {
	LD_MSG_RECEIVED, LD_MSG_SENT, LD_PUB_RECEIVED, LD_PUB_SENT,
	LD_PUB_DROPPED, LD_BYTES_RECEIVED, LD_BYTES_SENT, LD_CONNECTIONS,
	LD_SOCKETS, LD_MAX
};

static const char *const sys_loads[LD_MAX] = {
	"messages/received", "messages/sent", "publish/received",
	"publish/sent", "publish/dropped", "bytes/received", "bytes/sent",
	"connections", "sockets"
};

static const struct {
	const char	*name;
	uint32_t	 seconds;
	double		 decay;		/* e^(-1/seconds) */
} sys_windows[3] = {
	{ "1min", 60, 0.98347145382161748 },
	{ "5min", 300, 0.99667221605452236 },
	{ "15min", 900, 0.99888950594427260 },
};

static char	 sys_last_value[SV_MAX][SYS_VALUE_MAX];
static char	 sys_last_load[LD_MAX][3][SYS_VALUE_MAX];
static double	 sys_load[LD_MAX][3];
static uint64_t	 sys_load_last[LD_MAX];
static uint64_t	 sys_heap_max;

static void	sys_tick(void *);

/* A message from the broker: QoS 0, retained or not. */
static void
sys_publish(const char *topic, const char *payload, size_t len, int retain)
{
	struct pub	 p;

	memset(&p, 0, sizeof(p));
	p.topic = (const uint8_t *)topic;
	p.topic_len = strlen(topic);
	p.payload = (const uint8_t *)payload;
	p.payload_len = len;
	p.retain = retain;
	route_publish(&p, 0);
	if (retain)
		retain_set(&p);
	msg_unref(p.msg);
}

/* A retained value, if it is not the one published last. */
static void
sys_value(const char *name, char *last, const char *fmt, ...)
{
	char	 topic[96], v[SYS_VALUE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (strcmp(v, last) == 0)
		return;
	strlcpy(last, v, SYS_VALUE_MAX);
	snprintf(topic, sizeof(topic), "$SYS/broker/%s", name);
	sys_publish(topic, v, strlen(v), 1);
}

static uint64_t
sys_dropped(void)
{
	const struct engine_stats	*s = &engine_stats;

	return s->drop_queue_full + s->drop_total_full + s->drop_slow +
	    s->drop_expired + s->drop_too_large;
}

/*
 * Bytes allocated on the heap, as Mosquitto's heap/current counts them
 * (with glibc; 0 elsewhere, and then heap/ is not published).
 */
static uint64_t
sys_heap(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	struct mallinfo2	 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

/* x^n for a whole n, by squaring. */
static double
sys_pow(double x, uint64_t n)
{
	double	 r = 1;

	for (; n > 0; n >>= 1, x *= x)
		if (n & 1)
			r *= x;
	return r;
}

static void
sys_update_loads(uint64_t dt)
{
	const struct engine_stats	*s = &engine_stats;
	uint64_t			 now[LD_MAX];
	char				 topic[96];
	double				 rate, e;
	int				 i, w;

	now[LD_MSG_RECEIVED] = s->packets_in;
	now[LD_MSG_SENT] = s->packets_out;
	now[LD_PUB_RECEIVED] = s->msgs_in;
	now[LD_PUB_SENT] = s->msgs_out;
	now[LD_PUB_DROPPED] = sys_dropped();
	now[LD_BYTES_RECEIVED] = s->bytes_in;
	now[LD_BYTES_SENT] = s->bytes_out;
	now[LD_CONNECTIONS] = s->connects;
	now[LD_SOCKETS] = s->conns_total;
	for (i = 0; i < LD_MAX; i++) {
		rate = dt == 0 ? 0 : (double)(now[i] - sys_load_last[i]) *
		    60.0 / dt;
		sys_load_last[i] = now[i];
		for (w = 0; w < 3; w++) {
			if (dt > 0) {
				e = sys_pow(sys_windows[w].decay, dt);
				sys_load[i][w] = e * sys_load[i][w] +
				    (1 - e) * rate;
			}
			snprintf(topic, sizeof(topic), "load/%s/%s",
			    sys_loads[i], sys_windows[w].name);
			sys_value(topic, sys_last_load[i][w], "%.2f",
			    sys_load[i][w]);
		}
	}
}

/* Every `sys interval' seconds: the counters that changed. */
static void
sys_tick(void *arg)
{
	const struct engine_stats	*s = &engine_stats;
	uint64_t			 now = ev_now(), dt;
	uint64_t			 offline = s->sessions - s->clients;
	uint64_t			 v[SV_MAX];
	int				 i;

	(void)arg;
	/* Whole seconds since the last tick; the rest counts next time. */
	if (sys_last == 0) {
		sys_last = now;
		dt = 0;
	} else {
		dt = (now - sys_last) / 1000;
		sys_last += dt * 1000;
	}
	sys_value(sys_names[SV_VERSION], sys_last_value[SV_VERSION],
	    "brokerd version %s", BROKERD_VERSION);
	sys_value(sys_names[SV_UPTIME], sys_last_value[SV_UPTIME],
	    "%llu seconds", (unsigned long long)(now - s->started) / 1000);
	v[SV_CONNECTED] = v[SV_ACTIVE] = s->clients;
	v[SV_DISCONNECTED] = v[SV_INACTIVE] = offline;
	v[SV_TOTAL] = s->sessions;
	v[SV_MAXIMUM] = s->clients_max;
	v[SV_EXPIRED] = s->sessions_expired;
	v[SV_MSG_RECEIVED] = s->packets_in;
	v[SV_MSG_SENT] = s->packets_out;
	v[SV_MSG_STORED] = v[SV_STORE_COUNT] = s->retained + s->queued +
	    s->inflight;
	v[SV_STORE_BYTES] = s->retained_bytes + s->queued_bytes;
	v[SV_PUB_RECEIVED] = s->msgs_in;
	v[SV_PUB_SENT] = s->msgs_out;
	v[SV_PUB_DROPPED] = sys_dropped();
	v[SV_PUB_BYTES_RECEIVED] = s->pub_bytes_in;
	v[SV_PUB_BYTES_SENT] = s->pub_bytes_out;
	v[SV_BYTES_RECEIVED] = s->bytes_in;
	v[SV_BYTES_SENT] = s->bytes_out;
	v[SV_SUBSCRIPTIONS] = s->subscriptions;
	v[SV_SHARED_SUBSCRIPTIONS] = s->shared_subscriptions;
	v[SV_RETAINED] = s->retained;
	v[SV_HEAP_CURRENT] = sys_heap();
	if (v[SV_HEAP_CURRENT] > sys_heap_max)
		sys_heap_max = v[SV_HEAP_CURRENT];
	v[SV_HEAP_MAXIMUM] = sys_heap_max;
	for (i = SV_CONNECTED; i < SV_MAX; i++) {
		if (i >= SV_HEAP_CURRENT && v[SV_HEAP_CURRENT] == 0)
			break;
		sys_value(sys_names[i], sys_last_value[i], "%llu",
		    (unsigned long long)v[i]);
	}
	sys_update_loads(dt);
	if (sys_interval != 0)
		evtimer_add(&sys_timer, (uint64_t)sys_interval * 1000);
}

/* At the start, and after a reload: the interval may have changed. */
void
sys_configure(void)
{
	if (!sys_started || econf.sys_interval == sys_interval)
		return;
	sys_interval = econf.sys_interval;
	evtimer_del(&sys_timer);
	if (sys_interval != 0)
		evtimer_add(&sys_timer, 0);
}

void
sys_start(void)
{
	evtimer_set(&sys_timer, sys_tick, NULL);
	sys_started = 1;
	sys_configure();
}

/* The events noted in this turn, published. */
void
sys_flush(void)
{
	struct sys_event	*e;

	while ((e = TAILQ_FIRST(&sys_events)) != NULL) {
		TAILQ_REMOVE(&sys_events, e, entry);
		sys_nevents--;
		sys_publish(e->topic, e->json, e->len, 0);
		engine_stats.events++;
		free(e);
	}
}

/*
 * An event's JSON, built in a buffer that grows as needed (and no
 * larger than a few strings a client chose: its identifier, its user
 * name, a filter).
 */
struct sys_json {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 first;
};

static void
js_add(struct sys_json *j, const char *s, size_t len)
{
	char	*np;
	size_t	 cap;

	if (j->len + len + 1 > j->cap) {
		cap = j->cap == 0 ? 256 : j->cap;
		while (cap < j->len + len + 1)
			cap *= 2;
		if ((np = realloc(j->p, cap)) == NULL)
			fatal(NULL);
		j->p = np;
		j->cap = cap;
	}
	memcpy(j->p + j->len, s, len);
	j->len += len;
}

static void
js_printf(struct sys_json *j, const char *fmt, ...)
{
	char	 buf[128];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		js_add(j, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

static void
js_key(struct sys_json *j, const char *key)
{
	js_printf(j, "%s\"%s\": ", j->first ? "" : ", ", key);
	j->first = 0;
}

/* A string as JSON: MQTT strings are UTF-8 already; controls escaped. */
static void
js_str(struct sys_json *j, const char *key, const char *s, size_t len)
{
	size_t	 i, start;

	js_key(j, key);
	if (s == NULL) {
		js_add(j, "null", 4);
		return;
	}
	js_add(j, "\"", 1);
	for (i = start = 0; i < len; i++) {
		unsigned char	 c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		js_add(j, s + start, i - start);
		if (c == '"' || c == '\\')
			js_printf(j, "\\%c", c);
		else
			js_printf(j, "\\u%04x", c);
		start = i + 1;
	}
	js_add(j, s + start, i - start);
	js_add(j, "\"", 1);
}

static void
js_num(struct sys_json *j, const char *key, uint64_t v)
{
	js_key(j, key);
	js_printf(j, "%llu", (unsigned long long)v);
}

static void
js_bool(struct sys_json *j, const char *key, int v)
{
	js_key(j, key);
	js_printf(j, "%s", v ? "true" : "false");
}

/* {"event": ..., "time": ..., "client_id": ...: the start of each. */
static int
js_begin(struct sys_json *j, const char *event, const char *id)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[64];

	if (!econf.sys_events)
		return 0;
	if (sys_nevents >= SYS_EVENTS_MAX) {
		engine_stats.events_dropped++;
		return 0;
	}
	memset(j, 0, sizeof(*j));
	j->first = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(when, "?", sizeof(when));
	js_add(j, "{", 1);
	js_str(j, "event", event, strlen(event));
	js_key(j, "time");
	js_printf(j, "\"%s.%03ldZ\"", when, ts.tv_nsec / 1000000);
	js_str(j, "client_id", id, strlen(id));
	return 1;
}

static void
js_end(struct sys_json *j, const char *topic)
{
	struct sys_event	*e;

	js_add(j, "}", 1);
	if ((e = malloc(sizeof(*e) + j->len)) == NULL)
		fatal(NULL);
	e->topic = topic;
	e->len = j->len;
	memcpy(e->json, j->p, j->len);
	free(j->p);
	TAILQ_INSERT_TAIL(&sys_events, e, entry);
	sys_nevents++;
	/* Published at the end of this turn, or of the next if too late. */
	ev_wakeup();
}

static const char *
sys_protocol(uint8_t version)
{
	return version == MQTT_V5 ? "5" : version == MQTT_V311 ? "3.1.1" :
	    "3.1";
}

static void
js_conn(struct sys_json *j, const struct conn *c)
{
	char	 addr[LISTENER_NAME_MAX];

	conn_addr(c, addr, sizeof(addr));
	js_str(j, "address", addr, strlen(addr));
	js_str(j, "listener", c->l->name, strlen(c->l->name));
}

void
sys_event_connected(const struct conn *c, int clean, int present)
{
	struct sys_json	 j;
	const char	*v = sys_protocol(c->version);

	if (!js_begin(&j, "connected", c->sess->id))
		return;
	js_conn(&j, c);
	js_str(&j, "protocol", v, strlen(v));
	js_str(&j, "user", c->user, c->user != NULL ? strlen(c->user) : 0);
	js_num(&j, "keepalive", c->keepalive);
	js_bool(&j, "clean_start", clean);
	js_bool(&j, "session_present", present);
	if (c->sess->expiry == EXPIRY_NEVER)
		js_str(&j, "session_expiry", NULL, 0);
	else
		js_num(&j, "session_expiry", c->sess->expiry);
	js_end(&j, "$SYS/broker/events/connected");
}

/*
 * The connection of a session went: a DISCONNECT (`graceful', or its
 * reason code), a reason the server gave (c->reason) or the socket's
 * end (`why').
 */
void
sys_event_disconnected(const struct conn *c, int graceful, const char *why)
{
	struct sys_json	 j;
	const char	*reason;

	if (!js_begin(&j, "disconnected", c->sess->id))
		return;
	js_conn(&j, c);
	if (graceful && c->reason == RC_SUCCESS)
		reason = "normal disconnection";
	else if (c->reason == RC_DISCONNECT_WITH_WILL)
		reason = "disconnect with will message";
	else if (c->reason != RC_SUCCESS)
		reason = mqtt_reason_name(c->reason);
	else
		reason = why != NULL ? why : "connection closed";
	js_str(&j, "reason", reason, strlen(reason));
	if (graceful || c->reason != RC_SUCCESS)
		js_num(&j, "reason_code", c->reason);
	else
		js_str(&j, "reason_code", NULL, 0);
	js_end(&j, "$SYS/broker/events/disconnected");
}

void
sys_event_expired(const struct session *s)
{
	struct sys_json	 j;

	if (!js_begin(&j, "expired", s->id))
		return;
	js_end(&j, "$SYS/broker/events/expired");
}

void
sys_event_subscribed(const struct conn *c, const struct sub *sub)
{
	struct sys_json	 j;

	if (!js_begin(&j, "subscribed", c->sess->id))
		return;
	js_str(&j, "filter", sub->filter, strlen(sub->filter));
	js_num(&j, "qos", SUBOPT_QOS(sub->opts));
	js_bool(&j, "no_local", (sub->opts & SUBOPT_NO_LOCAL) != 0);
	js_bool(&j, "retain_as_published", (sub->opts & SUBOPT_RAP) != 0);
	js_num(&j, "retain_handling", SUBOPT_RH(sub->opts));
	if (sub->id == 0)
		js_str(&j, "subscription_id", NULL, 0);
	else
		js_num(&j, "subscription_id", sub->id);
	js_end(&j, "$SYS/broker/events/subscribed");
}

void
sys_event_unsubscribed(const struct conn *c, const uint8_t *f, size_t len)
{
	struct sys_json	 j;

	if (!js_begin(&j, "unsubscribed", c->sess->id))
		return;
	js_str(&j, "filter", (const char *)f, len);
	js_end(&j, "$SYS/broker/events/unsubscribed");
}

/* Events not yet published (a clean exit; tests). */
void
sys_free_all(void)
{
	struct sys_event	*e;

	while ((e = TAILQ_FIRST(&sys_events)) != NULL) {
		TAILQ_REMOVE(&sys_events, e, entry);
		free(e);
	}
	sys_nevents = 0;
}
