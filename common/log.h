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

#ifndef BROKERD_LOG_H
#define BROKERD_LOG_H

#include <stdarg.h>
#include <syslog.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

/*
 * Where a line goes: stderr (-d), syslog, or, in a child process, a
 * function that forwards it to the parent over IPC.  A child has no
 * syslog socket in its sandbox.
 */
typedef void	(*log_sink_fn)(int, const char *);

void	log_init(int, int);
void	log_procinit(const char *);
const char *log_procname(void);
void	log_setverbose(int);
void	log_setsink(log_sink_fn, void (*)(void));
void	log_emit(int, const char *);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

/*
 * Rate limiting for lines a network client can cause: at most `burst'
 * lines per `interval' seconds per limiter; the rest are counted and the
 * count is reported with the next line let through.
 */
struct log_ratelimit {
	long long	 window;	/* start of the current window */
	unsigned int	 used;
	unsigned int	 suppressed;
	unsigned int	 burst;
	unsigned int	 interval;
};
#define LOG_RATELIMIT_INIT(b, i)	{ 0, 0, 0, (b), (i) }

void	log_limited(struct log_ratelimit *, int, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));

#endif /* BROKERD_LOG_H */
