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
 * The MQTT packet decoder and the engine's state machines, fed arbitrary
 * bytes.  Input:
 *	byte 0	protocol version (bits 0-1: 3, 4 or 5) and start state
 *		(bit 2: connected already, bit 3: clean session off)
 *	byte 1	authd's verdicts (bit 0: allow)
 *	then	chunks: a byte whose bit 7 picks connection A or B and whose
 *		low bits give the length of the chunk that follows.
 * Two connections share the engine (topic tree, sessions, retained
 * messages), so routing between clients is exercised too.  Everything is
 * freed after each input.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "../unit/inproc.h"

static struct listener	 lst;
static int		 authd_peer = -1;
static int		 peers[2] = { -1, -1 };

static void
drain(int fd)
{
	char	 buf[65536];

	if (fd == -1)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void
setup(void)
{
	if ((authd_peer = inproc_init()) == -1)
		abort();
	settings_defaults(engine_settings, engine_nsettings, &econf);
	econf.max_packet_size = 65536;
	econf.max_connect_size = 65536;
	econf.max_topic_levels = 64;
	econf.max_inflight = 8;
	econf.max_queued = 16;
	econf.max_topic_aliases = 4;
	econf.max_subscriptions = 32;
	mqtt_set_max_user_props(16);
	topic_init();
	retain_init();
	strlcpy(lst.name, "fuzz", sizeof(lst.name));
}

static struct conn *
open_conn(int i)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	peers[i] = sv[1];
	return conn_test_new(sv[0], &lst);
}

/* What authd would answer. */
static void
verdict(struct conn *c, int allow)
{
	client_verdict(c, allow, allow ? RC_SUCCESS : RC_NOT_AUTHORIZED, NULL,
	    NULL, 0);
}

static size_t
connect_packet(uint8_t *p, uint8_t version, const char *id, int clean)
{
	size_t	 n = 0, idlen = strlen(id);
	uint8_t	*rl;

	p[n++] = 0x10;
	rl = &p[n++];
	if (version == MQTT_V31) {
		memcpy(p + n, "\x00\x06MQIsdp", 8);
		n += 8;
	} else {
		memcpy(p + n, "\x00\x04MQTT", 6);
		n += 6;
	}
	p[n++] = version;
	p[n++] = clean ? 0x02 : 0x00;
	p[n++] = 0;
	p[n++] = 60;
	if (version == MQTT_V5)
		p[n++] = 0;
	p[n++] = 0;
	p[n++] = idlen;
	memcpy(p + n, id, idlen);
	n += idlen;
	*rl = n - 2;
	return n;
}

/* Connections are held by id: a closed one is freed at the turn's end. */
static struct conn *
live(uint32_t id)
{
	struct conn	*c;

	if (id == 0 || (c = conn_by_id(id)) == NULL || c->state == CONN_DEAD)
		return NULL;
	return c;
}

static void
settle(const uint32_t *ids, int allow)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < 2; i++)
		if ((c = live(ids[i])) != NULL && c->state == CONN_AUTH)
			verdict(c, allow);
	conn_flush_all();
	ipc_flush_pending();
	drain(authd_peer);
	for (i = 0; i < 2; i++)
		drain(peers[i]);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;
	struct conn	*c;
	uint32_t	 ids[2];
	uint8_t		 pkt[64];
	uint8_t		 version;
	size_t		 off, len, n;
	int		 i, allow;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 2)
		return 0;
	version = (data[0] & 3) == 0 ? MQTT_V31 : (data[0] & 3) == 1 ?
	    MQTT_V311 : MQTT_V5;
	allow = data[1] & 1;
	for (i = 0; i < 2; i++) {
		c = open_conn(i);
		ids[i] = c->id;
		if (data[0] & 4) {
			n = connect_packet(pkt, version, i ? "fuzz-b" :
			    "fuzz-a", !(data[0] & 8));
			conn_test_input(c, pkt, n);
		}
	}
	settle(ids, 1);
	for (off = 2; off < size; off += len) {
		i = data[off] >> 7;
		len = data[off] & 0x7f;
		off++;
		if (len > size - off)
			len = size - off;
		if ((c = live(ids[i])) != NULL)
			conn_test_input(c, data + off, len);
		settle(ids, allow);
	}
	for (i = 0; i < 2; i++) {
		if ((c = live(ids[i])) != NULL)
			conn_close(c, NULL);
		close(peers[i]);
		peers[i] = -1;
	}
	conn_flush_all();
	session_free_all();
	retain_free_all();
	ipc_flush_pending();
	drain(authd_peer);
	return 0;
}
