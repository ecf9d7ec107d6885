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
 * Prometheus metrics, in the text exposition format 0.0.4: for
 * brokerctl show metrics (control.c), and on the metrics listeners, for
 * GET /metrics over HTTP.  Each family has # HELP and # TYPE, counters
 * end in _total and units are in the names.  The figures of each process
 * (memory, CPU) come from the parent, so an answer waits for one round
 * trip (control_ask_processes()).
 *
 * HTTP, served here because the engine already serves the control
 * socket and the parent parses nothing a network client sends: one
 * request a connection, its head within HTTP_MAX_HEAD bytes and
 * HTTP_REQUEST_MS, decoded by common/httpreq.c; the answer is written
 * within HTTP_WRITE_MS, then the connection is shut down; at most
 * HTTP_MAX_CONNS connections at once.  A client can make the engine hold
 * no more than an answer and 8 KiB per connection.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "httpreq.h"
#include "version.h"

#define HTTP_MAX_CONNS		16
#define HTTP_REQUEST_MS		5000
#define HTTP_WRITE_MS		10000
#define HTTP_LINGER_MS		2000

enum http_state {
	HTTP_READ,		/* the request */
	HTTP_WAIT,		/* the parent's figures */
	HTTP_WRITE,		/* the answer */
	HTTP_LINGER		/* shut down, until the client closes */
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	int			 fd;
	struct listener		*l;
	enum http_state		 state;
	int			 head;		/* HEAD: no body */
	uint32_t		 query;
	struct event		 ev;
	struct evtimer		 timer;
	size_t			 inlen;
	struct buf		 out;
	uint8_t			 in[HTTP_MAX_HEAD];
};

static TAILQ_HEAD(, http_conn)	 http_conns =
    TAILQ_HEAD_INITIALIZER(http_conns);
static unsigned int		 http_nconns;
static struct log_ratelimit	 http_rl = LOG_RATELIMIT_INIT(5, 60);

static void	http_io(int, int, void *);
static void	http_timeout(void *);
static void	http_close(struct http_conn *);

/* The text. */

static void
m_printf(struct buf *b, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (buf_add(b, line, n) == -1)
		fatal("metrics");
}

static void
m_family(struct buf *b, const char *name, const char *type, const char *help)
{
	m_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format says: \\, \" and \n. */
static void
m_label(char *dst, size_t size, const char *v)
{
	size_t	 n = 0;

	for (; *v != '\0' && n + 3 < size; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			dst[n++] = '\\';
			dst[n++] = *v == '\n' ? 'n' : *v;
		} else
			dst[n++] = *v;
	}
	dst[n] = '\0';
}

static void
m_one(struct buf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	m_family(b, name, type, help);
	m_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* The figures of every listener, of one kind of figure. */
static void
m_per_listener(struct buf *b, const char *name, const char *type,
    const char *help, int what)
{
	struct listener	*l = NULL;
	char		 lname[2 * LISTENER_NAME_MAX];
	uint64_t	 v;

	m_family(b, name, type, help);
	while ((l = conn_listener_next(l)) != NULL) {
		v = what == 0 ? l->nconns : what == 1 ? l->accepted :
		    l->refused;
		m_label(lname, sizeof(lname), l->name);
		m_printf(b, "%s{listener=\"%s\",type=\"%s\"} %llu\n", name,
		    lname, l->o.metrics ? "metrics" : "mqtt",
		    (unsigned long long)v);
	}
}

/*
 * The families of one value each, a field of struct engine_stats: in the
 * order they are printed.
 */
#define ES(f)	offsetof(struct engine_stats, f)
static const struct metric {
	const char	*name;
	const char	*type;
	size_t		 off;
	const char	*help;
} metrics[] = {
	{ "brokerd_connections", "gauge", ES(conns),
	    "Client connections open now." },
	{ "brokerd_connections_accepted_total", "counter", ES(conns_total),
	    "Client connections accepted." },
	{ "brokerd_connections_refused_total", "counter", ES(conns_refused),
	    "Connections closed at once by a listener's limits." },
	{ "brokerd_clients", "gauge", ES(clients),
	    "Clients connected now, past their CONNECT." },
	{ "brokerd_clients_maximum", "gauge", ES(clients_max),
	    "The most clients connected at once." },
	{ "brokerd_clients_connected_total", "counter", ES(connects),
	    "CONNECTs accepted." },
	{ "brokerd_sessions", "gauge", ES(sessions),
	    "Sessions, of connected and of offline clients." },
	{ "brokerd_sessions_expired_total", "counter", ES(sessions_expired),
	    "Sessions ended by their expiry." },
	{ "brokerd_subscriptions", "gauge", ES(subscriptions),
	    "Subscriptions of all sessions." },
	{ "brokerd_shared_subscriptions", "gauge", ES(shared_subscriptions),
	    "Shared subscriptions of all sessions." },
	{ "brokerd_retained_messages", "gauge", ES(retained),
	    "Retained messages." },
	{ "brokerd_retained_bytes", "gauge", ES(retained_bytes),
	    "Memory of the retained messages." },
	{ "brokerd_queued_messages", "gauge", ES(queued),
	    "QoS 1 and 2 messages waiting in session queues." },
	{ "brokerd_queued_bytes", "gauge", ES(queued_bytes),
	    "Memory of the queued messages." },
	{ "brokerd_inflight_messages", "gauge", ES(inflight),
	    "QoS 1 and 2 messages sent and not yet acknowledged." },
	{ "brokerd_held_messages", "gauge", ES(held),
	    "Messages held unacknowledged for a full queue to drain." },
	{ "brokerd_held_messages_total", "counter", ES(held_total),
	    "Messages held for a full queue to drain." },
	{ "brokerd_packets_received_total", "counter", ES(packets_in),
	    "MQTT packets received." },
	{ "brokerd_packets_sent_total", "counter", ES(packets_out),
	    "MQTT packets sent." },
	{ "brokerd_publish_messages_received_total", "counter", ES(msgs_in),
	    "PUBLISH packets received." },
	{ "brokerd_publish_messages_sent_total", "counter", ES(msgs_out),
	    "PUBLISH packets sent." },
	{ "brokerd_publish_bytes_received_total", "counter", ES(pub_bytes_in),
	    "Payload bytes of the PUBLISH packets received." },
	{ "brokerd_publish_bytes_sent_total", "counter", ES(pub_bytes_out),
	    "Payload bytes of the PUBLISH packets sent." },
	{ "brokerd_bytes_received_total", "counter", ES(bytes_in),
	    "Bytes read from clients." },
	{ "brokerd_bytes_sent_total", "counter", ES(bytes_out),
	    "Bytes written to clients." },
	{ "brokerd_auth_denied_total", "counter", ES(auth_denied),
	    "Connections refused by authd." },
	{ "brokerd_protocol_errors_total", "counter", ES(protocol_errors),
	    "Connections closed for breaking the protocol." },
	{ "brokerd_takeovers_total", "counter", ES(takeovers),
	    "Sessions taken over by a new connection." },
	{ "brokerd_wills_total", "counter", ES(wills),
	    "Will messages published." },
	{ "brokerd_events_total", "counter", ES(events),
	    "Client events published on $SYS/broker/events/." },
	{ "brokerd_events_dropped_total", "counter", ES(events_dropped),
	    "Client events dropped, too many waiting." },
	{ "brokerd_control_connections_total", "counter", ES(ctl_conns),
	    "Control socket connections accepted." },
	{ "brokerd_control_refused_total", "counter", ES(ctl_refused),
	    "Control connections and requests refused." },
	{ "brokerd_control_errors_total", "counter", ES(ctl_errors),
	    "Control connections closed for a protocol error or a timeout." },
	{ "brokerd_http_requests_total", "counter", ES(http_requests),
	    "Requests answered on the metrics listeners." },
	{ "brokerd_http_errors_total", "counter", ES(http_errors),
	    "Metrics requests refused or timed out." },
	{ "brokerd_http_refused_total", "counter", ES(http_refused),
	    "Metrics connections refused, too many at once." },
	{ "brokerd_publish_reserved_refused_total", "counter",
	    ES(publish_reserved),
	    "Client PUBLISH packets to $SYS or $share/ refused." },
	{ "brokerd_topic_aliases_set_total", "counter", ES(alias_set),
	    "Topic aliases given to MQTT 5 clients." },
	{ "brokerd_topic_aliases_used_total", "counter", ES(alias_used),
	    "Messages delivered with a topic alias instead of the topic." },
};
#undef ES

/* Everything, with the parent's figures of the `n' processes `p'. */
void
metrics_format(struct buf *b, const struct ctl_proc *p, size_t n)
{
	const struct engine_stats	*s = &engine_stats;
	const struct metric		*m;
	size_t				 i;

	m_family(b, "brokerd_build_info", "gauge",
	    "The version of brokerd, as a label.");
	m_printf(b, "brokerd_build_info{version=\"%s\"} 1\n",
	    BROKERD_VERSION);
	m_one(b, "brokerd_uptime_seconds", "gauge",
	    "Seconds since the engine started.",
	    (ev_now() - s->started) / 1000);
	for (m = metrics; m < metrics + sizeof(metrics) / sizeof(metrics[0]);
	    m++)
		m_one(b, m->name, m->type, m->help,
		    *(const uint64_t *)((const char *)s + m->off));
	m_per_listener(b, "brokerd_listener_connections", "gauge",
	    "Connections open now, per listener.", 0);
	m_per_listener(b, "brokerd_listener_connections_accepted_total",
	    "counter", "Connections accepted, per listener.", 1);
	m_per_listener(b, "brokerd_listener_connections_refused_total",
	    "counter", "Connections refused by its limits, per listener.", 2);
	m_family(b, "brokerd_publish_messages_dropped_total", "counter",
	    "Messages dropped, by reason.");
	m_printf(b, "brokerd_publish_messages_dropped_total{reason=\"%s\"} "
	    "%llu\n", "queue_full", (unsigned long long)s->drop_queue_full);
	m_printf(b, "brokerd_publish_messages_dropped_total{reason=\"%s\"} "
	    "%llu\n", "total_full", (unsigned long long)s->drop_total_full);
	m_printf(b, "brokerd_publish_messages_dropped_total{reason=\"%s\"} "
	    "%llu\n", "slow_client", (unsigned long long)s->drop_slow);
	m_printf(b, "brokerd_publish_messages_dropped_total{reason=\"%s\"} "
	    "%llu\n", "expired", (unsigned long long)s->drop_expired);
	m_printf(b, "brokerd_publish_messages_dropped_total{reason=\"%s\"} "
	    "%llu\n", "too_large", (unsigned long long)s->drop_too_large);
	m_family(b, "brokerd_timeouts_total", "counter",
	    "Connections closed for a timeout, by kind.");
	m_printf(b, "brokerd_timeouts_total{kind=\"connect\"} %llu\n",
	    (unsigned long long)s->connect_timeouts);
	m_printf(b, "brokerd_timeouts_total{kind=\"keepalive\"} %llu\n",
	    (unsigned long long)s->keepalive_timeouts);
	m_family(b, "brokerd_process_resident_memory_bytes", "gauge",
	    "Resident memory of each process.");
	for (i = 0; i < n; i++)
		m_printf(b, "brokerd_process_resident_memory_bytes"
		    "{process=\"%s\"} %llu\n", p[i].name,
		    (unsigned long long)p[i].rss);
	m_family(b, "brokerd_process_virtual_memory_bytes", "gauge",
	    "Virtual memory of each process.");
	for (i = 0; i < n; i++)
		m_printf(b, "brokerd_process_virtual_memory_bytes"
		    "{process=\"%s\"} %llu\n", p[i].name,
		    (unsigned long long)p[i].vsz);
	m_family(b, "brokerd_process_cpu_seconds_total", "counter",
	    "CPU time of each process, user and system.");
	for (i = 0; i < n; i++)
		m_printf(b, "brokerd_process_cpu_seconds_total"
		    "{process=\"%s\"} %.3f\n", p[i].name,
		    (p[i].utime + p[i].stime) / 1000.0);
}

/*
 * A connection accepted on a metrics listener (conn.c accepts for every
 * listener, within its descriptor limits).
 */
void
metrics_accept(struct listener *l, int fd)
{
	struct http_conn	*hc;

	if (http_nconns >= HTTP_MAX_CONNS ||
	    (hc = calloc(1, sizeof(*hc))) == NULL) {
		log_limited(&http_rl, LOG_WARNING, "metrics listener %s: "
		    "%u connections, refusing more", l->name, HTTP_MAX_CONNS);
		engine_stats.http_refused++;
		l->refused++;
		close(fd);
		return;
	}
	hc->fd = fd;
	hc->l = l;
	hc->state = HTTP_READ;
	buf_init(&hc->out, 16 * 1024 * 1024);
	ev_set(&hc->ev, fd, http_io, hc);
	ev_add(&hc->ev, EV_READ);
	evtimer_set(&hc->timer, http_timeout, hc);
	evtimer_add(&hc->timer, HTTP_REQUEST_MS);
	TAILQ_INSERT_TAIL(&http_conns, hc, entry);
	http_nconns++;
	l->nconns++;
	l->accepted++;
}

static void
http_close(struct http_conn *hc)
{
	if (hc->query != 0)
		control_cancel_processes(hc->query);
	ev_close(&hc->ev);
	close(hc->fd);
	evtimer_del(&hc->timer);
	buf_free(&hc->out);
	hc->l->nconns--;
	http_nconns--;
	TAILQ_REMOVE(&http_conns, hc, entry);
	free(hc);
}

/* Write what is left; then shut down and wait for the client's close. */
static void
http_write(struct http_conn *hc)
{
	ssize_t	 n;

	while (buf_len(&hc->out) > 0) {
		n = send(hc->fd, buf_ptr(&hc->out), buf_len(&hc->out),
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_add(&hc->ev, EV_WRITE);
			return;
		}
		if (n == -1) {
			http_close(hc);
			return;
		}
		buf_consume(&hc->out, n);
	}
	/* Unread input would make close() reset what we wrote: linger. */
	shutdown(hc->fd, SHUT_WR);
	hc->state = HTTP_LINGER;
	ev_add(&hc->ev, EV_READ);
	evtimer_add(&hc->timer, HTTP_LINGER_MS);
}

static void
http_respond(struct http_conn *hc, int status, const char *extra,
    const void *body, size_t len)
{
	char	 head[512];
	int	 n;

	if (status != 200)
		engine_stats.http_errors++;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, http_status_text(status),
	    status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", len, extra);
	if (buf_add(&hc->out, head, n) == -1 || (!hc->head &&
	    buf_add(&hc->out, body, len) == -1)) {
		http_close(hc);
		return;
	}
	hc->state = HTTP_WRITE;
	evtimer_add(&hc->timer, HTTP_WRITE_MS);
	http_write(hc);
}

static void
http_error(struct http_conn *hc, int status, const char *why)
{
	char	 body[128];
	int	 n;

	log_limited(&http_rl, LOG_INFO, "metrics listener %s: %d %s",
	    hc->l->name, status, why);
	n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
	    http_status_text(status), why);
	http_respond(hc, status, status == 405 ? "Allow: GET, HEAD\r\n" : "",
	    body, n);
}

/* The parent's figures are in: the answer. */
static void
http_procs_done(void *arg, const struct ctl_proc *p, size_t n)
{
	struct http_conn	*hc = arg;
	struct buf		 body;

	hc->query = 0;
	buf_init(&body, 16 * 1024 * 1024);
	metrics_format(&body, p, n);
	engine_stats.http_requests++;
	http_respond(hc, 200, "", buf_ptr(&body), buf_len(&body));
	buf_free(&body);
}

static void
http_request(struct http_conn *hc, const struct http_request *r)
{
	static const struct http_str	 get = { (const uint8_t *)"GET", 3 };
	static const struct http_str	 head = { (const uint8_t *)"HEAD", 4 };

	hc->head = r->method.len == head.len &&
	    memcmp(r->method.p, head.p, head.len) == 0;
	if (!hc->head && (r->method.len != get.len ||
	    memcmp(r->method.p, get.p, get.len) != 0)) {
		http_error(hc, 405, "only GET and HEAD");
		return;
	}
	if (r->path.len != 8 || memcmp(r->path.p, "/metrics", 8) != 0) {
		http_error(hc, 404, "the metrics are at /metrics");
		return;
	}
	hc->state = HTTP_WAIT;
	ev_del(&hc->ev);
	hc->query = control_ask_processes(http_procs_done, hc);
}

static void
http_read(struct http_conn *hc)
{
	struct http_request	 r;
	struct http_error	 e;
	uint8_t			 discard[4096];
	ssize_t			 n;
	int			 rc;

	if (hc->state == HTTP_LINGER) {
		while ((n = recv(hc->fd, discard, sizeof(discard), 0)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			http_close(hc);
		return;
	}
	n = recv(hc->fd, hc->in + hc->inlen, sizeof(hc->in) - hc->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (hc->inlen > 0)
			engine_stats.http_errors++;
		http_close(hc);
		return;
	}
	hc->inlen += n;
	if ((rc = http_parse_request(hc->in, hc->inlen, &r, &e)) == -1) {
		ev_del(&hc->ev);
		http_error(hc, e.status, e.why);
	} else if (rc == 1)
		http_request(hc, &r);
}

static void
http_io(int fd, int flags, void *arg)
{
	struct http_conn	*hc = arg;

	(void)fd;
	if ((flags & EV_WRITE) && hc->state == HTTP_WRITE) {
		ev_del(&hc->ev);
		http_write(hc);
		return;
	}
	if (flags & EV_READ)
		http_read(hc);
}

static void
http_timeout(void *arg)
{
	struct http_conn	*hc = arg;

	switch (hc->state) {
	case HTTP_READ:
		ev_del(&hc->ev);
		http_error(hc, 408, "no whole request in time");
		break;
	case HTTP_WAIT:
		break;
	case HTTP_WRITE:
		engine_stats.http_errors++;
		/* FALLTHROUGH */
	case HTTP_LINGER:
		http_close(hc);
		break;
	}
}
