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


/* The descriptions of the tables in conf.h, for settings.c. */

#include <sys/types.h>

#include <stddef.h>

#include "conf.h"

#define ENGINE_DESC(...)	SETTING_DESC(struct engine_conf, __VA_ARGS__)
#define LISTENER_DESC(...)	SETTING_DESC(struct listener_opts, __VA_ARGS__)
#define AUTHD_DESC(...)		SETTING_DESC(struct authd_conf, __VA_ARGS__)

static const char *const persistence_words[] = { "off", "nosync", "sync" };
static const char *const damaged_store_words[] = { "refuse", "move-aside" };
static const char *const slow_subscriber_words[] = { "drop", "disconnect" };

ENGINE_SETTINGS(SETTING_ASSERT)
LISTENER_SETTINGS(SETTING_ASSERT)
AUTHD_SETTINGS(SETTING_ASSERT)

const struct setting engine_settings[] = {
	ENGINE_SETTINGS(ENGINE_DESC)
};
const size_t engine_nsettings =
    sizeof(engine_settings) / sizeof(engine_settings[0]);

const struct setting listener_settings[] = {
	LISTENER_SETTINGS(LISTENER_DESC)
};
const size_t listener_nsettings =
    sizeof(listener_settings) / sizeof(listener_settings[0]);

const struct setting authd_settings[] = {
	AUTHD_SETTINGS(AUTHD_DESC)
};
const size_t authd_nsettings =
    sizeof(authd_settings) / sizeof(authd_settings[0]);
