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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	1024

static int		 log_debug_mode;	/* to stderr, not syslog */
static int		 log_verbose;
static const char	*log_proc;
static log_sink_fn	 log_sink;
static void		(*log_flush)(void);

void
log_init(int n_debug, int facility)
{
	extern char	*__progname;

	log_debug_mode = n_debug;
	log_verbose = 0;
	log_procinit(__progname);
	if (!log_debug_mode)
		openlog(__progname, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *procname)
{
	if (procname != NULL)
		log_proc = procname;
}

const char *
log_procname(void)
{
	return log_proc;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

/*
 * A child sets a sink that sends each line to the parent, and a flush
 * function that fatal() calls so the last words reach the parent before
 * the child exits.
 */
void
log_setsink(log_sink_fn sink, void (*flush)(void))
{
	log_sink = sink;
	log_flush = flush;
}

/* Write one finished line where this process's lines go. */
void
log_emit(int pri, const char *line)
{
	int	 saved = errno;

	if (log_sink != NULL)
		log_sink(pri, line);
	else if (log_debug_mode)
		dprintf(STDERR_FILENO, "%s\n", line);
	else
		syslog(pri, "%s", line);
	errno = saved;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX];
	int	 n = 0;

	/* Verbosity -1 shows warnings only, 0 adds info, 1 adds debug. */
	if ((pri == LOG_DEBUG && log_verbose < 1) ||
	    ((pri == LOG_INFO || pri == LOG_NOTICE) && log_verbose < 0))
		return;
	/* Forwarded lines carry the name of the process they come from. */
	if (log_sink != NULL && log_proc != NULL)
		n = snprintf(line, sizeof(line), "%s: ", log_proc);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	log_emit(pri, line);
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved));
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	logit(pri, "%s: %s", msg, strerror(saved));
}

void
log_warn(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, emsg);
	vlog_errno(LOG_ERR, saved, emsg, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, emsg);
	vlog(LOG_DEBUG, emsg, ap);
	va_end(ap);
}

static __dead void
vfatalc(int code, const char *emsg, va_list ap)
{
	char		 msg[LOG_LINE_MAX];
	const char	*sep = "", *cause = "";

	if (emsg != NULL)
		vsnprintf(msg, sizeof(msg), emsg, ap);
	else
		msg[0] = '\0';
	if (code) {
		cause = strerror(code);
		if (emsg != NULL)
			sep = ": ";
	}
	logit(LOG_CRIT, "fatal in %s: %s%s%s",
	    log_proc != NULL ? log_proc : "?", msg, sep, cause);
	if (log_flush != NULL)
		log_flush();
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}

void
log_limited(struct log_ratelimit *rl, int pri, const char *fmt, ...)
{
	struct timespec	 ts;
	va_list		 ap;
	char		 msg[LOG_LINE_MAX];

	if (pri == LOG_DEBUG && log_verbose < 1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - rl->window >= rl->interval) {
		if (rl->suppressed > 0)
			logit(pri, "%u similar messages suppressed",
			    rl->suppressed);
		rl->window = ts.tv_sec;
		rl->used = 0;
		rl->suppressed = 0;
	}
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->used++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logit(pri, "%s", msg);
}
