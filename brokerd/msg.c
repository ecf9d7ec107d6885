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
 * Messages: what must outlive the packet that brought it (QoS 1 and 2,
 * queued, retained, a will) is copied once into a struct msg and shared
 * by reference; a struct pub is a message being routed, over the packet's
 * bytes until something needs a struct msg (pub_msg()).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct msg *
msg_new(const struct pub *p)
{
	struct msg	*m;

	if ((m = malloc(pub_size(p))) == NULL)
		fatal(NULL);
	m->refs = 1;
	m->topic_len = p->topic_len;
	m->props_len = p->props_len;
	m->payload_len = p->payload_len;
	m->qos = p->qos;
	m->retain = p->retain;
	m->expires = p->expires;
	m->origin = p->origin;
	m->sid = 0;
	m->prefs = 0;
	memcpy(m->data, p->topic, p->topic_len);
	m->data[p->topic_len] = '\0';
	if (p->props_len > 0)
		memcpy(m->data + p->topic_len + 1, p->props, p->props_len);
	if (p->payload_len > 0)
		memcpy(m->data + p->topic_len + 1 + p->props_len, p->payload,
		    p->payload_len);
	return m;
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

/* What a message of these lengths costs in memory, counted in limits. */
static size_t
msg_bytes(size_t topic_len, size_t props_len, size_t payload_len)
{
	return sizeof(struct msg) + topic_len + 1 + props_len + payload_len;
}

size_t
msg_size(const struct msg *m)
{
	return msg_bytes(m->topic_len, m->props_len, m->payload_len);
}

/* msg_size() of the message `p' would make. */
size_t
pub_size(const struct pub *p)
{
	return msg_bytes(p->topic_len, p->props_len, p->payload_len);
}

int
msg_expired(const struct msg *m)
{
	return m->expires != 0 && ev_now() >= m->expires;
}

/* The message object of a routed PUBLISH, made the first time needed. */
struct msg *
pub_msg(struct pub *p)
{
	if (p->msg == NULL)
		p->msg = msg_new(p);
	return p->msg;
}

/* A struct pub over a stored message, without a reference. */
void
pub_view(struct pub *p, struct msg *m)
{
	p->topic = m->data;
	p->topic_len = m->topic_len;
	p->props = MSG_PROPS(m);
	p->props_len = m->props_len;
	p->payload = MSG_PAYLOAD(m);
	p->payload_len = m->payload_len;
	p->qos = m->qos;
	p->retain = m->retain;
	p->expires = m->expires;
	p->origin = m->origin;
	p->msg = m;
	p->encoded = 0;
}

/* A struct pub over a stored message; it holds a reference. */
void
pub_from_msg(struct pub *p, struct msg *m)
{
	pub_view(p, m);
	msg_ref(m);
}
