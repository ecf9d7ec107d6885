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

#ifndef BROKERD_BROKERCTL_H
#define BROKERD_BROKERCTL_H

#include "compat.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Text being made, wiped when freed: it may hold hashes. */
struct text {
	char		*buf;
	size_t		 len, cap;
};

/* A listener and its files, as brokerd reports them. */
struct ctl_listener {
	uint32_t	 id;
	char		 name[256];
	char		 passwd[PATH_MAX];	/* "": none */
	char		 acl[PATH_MAX];
};

/* brokerctl.c */
extern int	 ctl_json;
size_t		 ctl_auth_files(struct ctl_listener **);
void		 ctl_reload_auth(const char *, char *, size_t);
void		 ctl_print_result(const char *);

/* edit.c */
enum edit_op {
	EDIT_USER_ADD,
	EDIT_USER_PASSWD,
	EDIT_USER_DEL,
	EDIT_RULE_ADD,
	EDIT_RULE_DEL,
	EDIT_GROUP_ADD,
	EDIT_GROUP_DEL,
	EDIT_MEMBER_ADD,
	EDIT_MEMBER_DEL
};

enum acl_who {
	ACL_WHO_ANON,		/* topic lines before any user or group */
	ACL_WHO_USER,
	ACL_WHO_GROUP,
	ACL_WHO_PATTERN
};

struct acl_edit {
	enum edit_op	 op;
	enum acl_who	 who;
	const char	*name;		/* user or group, or NULL */
	const char	*member;	/* EDIT_MEMBER_*, or NULL */
	unsigned int	 flags;		/* ACLR_*; 0: any (EDIT_RULE_DEL) */
	const char	*filter;	/* EDIT_RULE_*, or NULL */
};

void		 text_add(struct text *, const char *, size_t);
void		 text_addstr(struct text *, const char *);
void		 text_free(struct text *);
int		 edit_word_valid(const char *, const char *, int, char *,
		    size_t);
int		 edit_passwd(const char *, const char *, size_t, enum edit_op,
		    const char *, const char *, struct text *, char *, size_t);
int		 edit_passwd_has(const char *, size_t, const char *);
unsigned int	 edit_access(const char *);
int		 edit_acl(const char *, const char *, size_t,
		    const struct acl_edit *, struct text *, char *, size_t);

/* passwd.c */
int		 brokerctl_passwd(int, char *[]);
int		 file_read(const char *, struct text *, struct stat *);
void		 file_write(const char *, const struct text *,
		    const struct stat *);
int		 passwd_entry(struct text *, const char *, uint32_t,
		    const char *);
void		 passwd_read(char *, size_t);

/* users.c */
int		 brokerctl_user(enum edit_op, int, char *[]);
int		 brokerctl_group(enum edit_op, int, char *[]);
int		 brokerctl_acl(enum edit_op, int, char *[]);

#endif /* BROKERD_BROKERCTL_H */
