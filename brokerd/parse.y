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
 * brokerd.conf(5): one statement per line; macros (`name = "value"',
 * used as $name), `include "file"', comments from `#' to the end of the
 * line, a backslash joins a line to the next.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

#define MAXINCLUDE	16
#define MAXPUSHBACK	8192

static TAILQ_HEAD(files, file)	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 errors;
} *file, *topfile;

static struct file	*pushfile(const char *);
static int		 popfile(void);
int			 yyparse(void);
static int		 yylex(void);
static int		 yyerror(const char *, ...)
			    __attribute__((__format__ (printf, 1, 2)));
static int		 kw_cmp(const void *, const void *);
static int		 lookup(const char *);
static int		 lgetc(int);
static int		 lungetc(int);
static int		 findeol(void);

static TAILQ_HEAD(symhead, sym)	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
static int		 symset(const char *, const char *, int);
static char		*symget(const char *);

static struct brokerd_conf	*conf;
static int			 nlisteners;

static struct listener_conf *add_listener_tcp(const char *, long long);
static struct listener_conf *add_listener_unix(const char *);

static char	**pool;
static size_t	  npool, pool_cap;
static char	 *pool_str(char *);
static void	  pool_free(void);

/* The words of the line being parsed, after its first keywords. */
static char	*words[SETTINGS_MAX_WORDS];
static size_t	 nwords;
static int	 words_add(char *);
static int	 words_have(const char *);
static int	 setting_line(void);
static int	 listener_options(struct listener_conf *);
static int	 listener_check_open(const struct listener_conf *);

typedef struct {
	union {
		long long	 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;

%}

%token	INCLUDE LISTEN ON PORT
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.number>	optport
%type	<v.string>	string

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ file->errors++; yyerrok; }
		;

include		: INCLUDE STRING		{
			struct file	*nfile;

			yylval.lineno = $<lineno>2;
			if ((nfile = pushfile($2)) == NULL) {
				YYERROR;
			}
			file = nfile;
			lungetc('\n');
		}
		;

string		: string STRING			{
			if (asprintf(&$$, "%s %s", $1, $2) == -1)
				fatal("string: asprintf");
			pool_str($$);
		}
		| STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", $1) == -1)
				fatal("string: asprintf");
			pool_str($$);
		}
		;

varset		: STRING '=' string		{
			char	*s = $1;

			for (; *s != '\0'; s++)
				if (!isalnum((unsigned char)*s) && *s != '_') {
					yyerror("macro name may only hold "
					    "letters, digits and _");
					YYERROR;
				}
			if (symset($1, $3, 0) == -1)
				fatal("cannot store variable");
		}
		;

optport		: /* empty */			{ $$ = -1; }
		| PORT NUMBER			{
			if ($2 < 1 || $2 > 65535) {
				yyerror("port %lld out of range (1-65535)",
				    $2);
				YYERROR;
			}
			$$ = $2;
		}
		;

/* Settings and options are words, matched against their tables. */
words		: /* empty */
		| words STRING			{
			if (words_add($2) == -1)
				YYERROR;
		}
		| words NUMBER			{
			char	*s;

			if (asprintf(&s, "%lld", $2) == -1)
				fatal("words: asprintf");
			if (words_add(pool_str(s)) == -1)
				YYERROR;
		}
		;

main		: LISTEN ON STRING optport	{ nwords = 0; } words {
			struct listener_conf	*l;

			if ($3[0] == '/') {
				if ($4 != -1) {
					yyerror("a UNIX socket has no port");
					YYERROR;
				}
				l = add_listener_unix($3);
			} else
				l = add_listener_tcp($3, $4 != -1 ? $4 :
				    words_have("metrics") ?
				    BROKERD_METRICS_PORT : BROKERD_PORT);
			if (l == NULL)
				YYERROR;
			if (listener_options(l) == -1 ||
			    listener_check_open(l) == -1)
				YYERROR;
		}
		| STRING			{
			nwords = 0;
			if (words_add($1) == -1)
				YYERROR;
		} words				{
			if (setting_line() == -1)
				YYERROR;
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

static int
yyerror(const char *fmt, ...)
{
	static const struct file	*lastfile;
	static int			 lastline;
	va_list				 ap;
	char				*msg;

	file->errors++;
	/* A line already has its error: no "syntax error" on top. */
	if (strcmp(fmt, "syntax error") == 0 && lastfile == file &&
	    lastline == yylval.lineno)
		return 0;
	lastfile = file;
	lastline = yylval.lineno;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("yyerror vasprintf");
	va_end(ap);
	log_warnx("%s:%d: %s", file->name, yylval.lineno, msg);
	free(msg);
	return 0;
}

static int
kw_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keywords *)e)->k_name);
}

static int
lookup(const char *s)
{
	/*
	 * Sorted, for bsearch.  Only the structure of the file has
	 * keywords; settings are words looked up in their tables.
	 */
	static const struct keywords keywords[] = {
		{ "include",		INCLUDE },
		{ "listen",		LISTEN },
		{ "on",			ON },
		{ "port",		PORT },
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return p != NULL ? p->k_val : STRING;
}

/* Characters pushed back, and macro values being read. */
static unsigned char	 pushback[MAXPUSHBACK];
static size_t		 npushback;
static int		 pushback_overflow;

static int
lgetc(int quotec)
{
	int	 c, next;

	if (npushback > 0)
		return pushback[--npushback];

	if (quotec) {
		if ((c = getc(file->stream)) == EOF) {
			yyerror("reached end of file while parsing a "
			    "quoted string");
			if (file == topfile || popfile() == EOF)
				return EOF;
			return quotec;
		}
		return c;
	}

	while ((c = getc(file->stream)) == '\\') {
		next = getc(file->stream);
		if (next != '\n') {
			c = next;
			break;
		}
		yylval.lineno = file->lineno;
		file->lineno++;
	}

	/* At the end of an included file, read on in the one including it. */
	while (c == EOF) {
		if (file == topfile || popfile() == EOF)
			return EOF;
		c = lgetc(0);
	}
	return c;
}

static int
lungetc(int c)
{
	if (c == EOF)
		return EOF;
	if (npushback >= sizeof(pushback)) {
		pushback_overflow = 1;
		return EOF;
	}
	pushback[npushback++] = c;
	return c;
}

static int
findeol(void)
{
	int	 c;

	/* Through what was pushed back: it may hold this line's end. */
	for (;;) {
		c = lgetc(0);
		if (c == '\n') {
			/* Left for the grammar's error rule to end the line. */
			lungetc(c);
			break;
		}
		if (c == EOF)
			break;
	}
	return ERROR;
}

static int
allowed_in_string(int c)
{
	if (isalnum(c))
		return 1;
	return c != EOF && strchr("_-.:/+@%[]*", c) != NULL;
}

static int
yylex(void)
{
	char		 buf[8192];
	char		*p, *val;
	int		 quotec, next, c, token;
	size_t		 i;
	const char	*errstr;

top:
	p = buf;
	while ((c = lgetc(0)) == ' ' || c == '\t')
		;

	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			;
	if (c == '$' && npushback == 0) {
		/* A macro: push its value back and read on. */
		while (1) {
			if ((c = lgetc(0)) == EOF)
				return 0;
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("macro name too long");
				return findeol();
			}
			if (isalnum(c) || c == '_') {
				*p++ = c;
				continue;
			}
			*p = '\0';
			lungetc(c);
			break;
		}
		if ((val = symget(buf)) == NULL) {
			yyerror("macro '%s' not defined", buf);
			return findeol();
		}
		for (i = strlen(val); i > 0; i--)
			lungetc((unsigned char)val[i - 1]);
		if (pushback_overflow) {
			pushback_overflow = 0;
			yyerror("macro '%s' expands too far", buf);
			return findeol();
		}
		goto top;
	}

	switch (c) {
	case '\'':
	case '"':
		quotec = c;
		while (1) {
			if ((c = lgetc(quotec)) == EOF)
				return 0;
			if (c == '\n') {
				file->lineno++;
				continue;
			} else if (c == '\\') {
				if ((next = lgetc(quotec)) == EOF)
					return 0;
				if (next == quotec || next == ' ' ||
				    next == '\t' || next == '\\')
					c = next;
				else if (next == '\n') {
					file->lineno++;
					continue;
				} else
					lungetc(next);
			} else if (c == quotec) {
				*p = '\0';
				break;
			} else if (c == '\0') {
				yyerror("NUL byte in a quoted string");
				return findeol();
			}
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("string too long");
				return findeol();
			}
			*p++ = c;
		}
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("yylex: strdup");
		pool_str(yylval.v.string);
		return STRING;
	}

#define allowed_to_end_number(x) \
	(isspace(x) || x == ')' || x == ',' || x == '/' || x == '}' || \
	    x == '=' || x == '#')

	if (c == '-' || isdigit(c)) {
		do {
			*p++ = c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return findeol();
			}
		} while ((c = lgetc(0)) != EOF && isdigit(c));
		lungetc(c);
		if (p == buf + 1 && buf[0] == '-')
			goto nodigits;
		if (c == EOF || allowed_to_end_number(c)) {
			*p = '\0';
			yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX,
			    &errstr);
			if (errstr != NULL) {
				yyerror("\"%s\" invalid number: %s", buf,
				    errstr);
				return findeol();
			}
			return NUMBER;
		} else {
nodigits:
			while (p > buf + 1)
				lungetc((unsigned char)*--p);
			c = (unsigned char)*--p;
			if (c == '-')
				return c;
		}
	}

	if (allowed_in_string(c)) {
		do {
			*p++ = c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return findeol();
			}
		} while ((c = lgetc(0)) != EOF && allowed_in_string(c));
		lungetc(c);
		*p = '\0';
		if ((token = lookup(buf)) == STRING) {
			if ((yylval.v.string = strdup(buf)) == NULL)
				fatal("yylex: strdup");
			pool_str(yylval.v.string);
		}
		return token;
	}
	if (c == '\n') {
		yylval.lineno = file->lineno;
		file->lineno++;
	}
	if (c == EOF)
		return 0;
	return c;
}

static struct file *
pushfile(const char *name)
{
	struct file	*nfile;
	struct stat	 st;
	int		 depth = 0;

	TAILQ_FOREACH(nfile, &files, entry)
		depth++;
	if (depth >= MAXINCLUDE) {
		yyerror("includes nested too deep");
		return NULL;
	}
	if ((nfile = calloc(1, sizeof(struct file))) == NULL) {
		log_warn("%s", __func__);
		return NULL;
	}
	if ((nfile->name = strdup(name)) == NULL) {
		log_warn("%s", __func__);
		free(nfile);
		return NULL;
	}
	if ((nfile->stream = fopen(nfile->name, "r")) == NULL) {
		if (file != NULL)
			yyerror("%s: %s", nfile->name, strerror(errno));
		else
			log_warn("%s", nfile->name);
		free(nfile->name);
		free(nfile);
		return NULL;
	}
	/* A device or a FIFO could be read for ever. */
	if (fstat(fileno(nfile->stream), &st) == -1 || !S_ISREG(st.st_mode)) {
		if (file != NULL)
			yyerror("%s: not a regular file", nfile->name);
		else
			log_warnx("%s: not a regular file", nfile->name);
		fclose(nfile->stream);
		free(nfile->name);
		free(nfile);
		return NULL;
	}
	/* An included file starts with the newline pushed back for it. */
	nfile->lineno = TAILQ_EMPTY(&files) ? 1 : 0;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return nfile;
}

static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(file, files, entry)) != NULL)
		prev->errors += file->errors;
	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	free(file->name);
	free(file);
	file = prev;
	return file != NULL ? 0 : EOF;
}

/*
 * Parse `filename'.  Returns the configuration, or NULL after logging
 * every error as file:line: message.
 */
struct brokerd_conf *
parse_config(const char *filename)
{
	struct sym	*sym, *next;
	int		 errors = 0;

	conf = config_new();
	nlisteners = 0;
	npushback = 0;
	pushback_overflow = 0;
	file = NULL;
	if ((file = pushfile(filename)) == NULL) {
		config_free(conf);
		return NULL;
	}
	topfile = file;

	yyparse();
	errors = file->errors;
	popfile();
	pool_free();

	/* Free the macros that were not given on the command line. */
	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if (!sym->persist) {
			free(sym->nam);
			free(sym->val);
			TAILQ_REMOVE(&symhead, sym, entry);
			free(sym);
		}
	}
	if (errors) {
		config_free(conf);
		return NULL;
	}
	config_defaults(conf);
	return conf;
}

/*
 * Every string the lexer and the grammar make is kept here and freed when
 * parsing ends, also those that error recovery throws away: the actions
 * copy what they keep and free nothing.
 */
static char *
pool_str(char *s)
{
	char	**p;

	if (npool == pool_cap) {
		pool_cap = pool_cap == 0 ? 64 : pool_cap * 2;
		if ((p = reallocarray(pool, pool_cap, sizeof(*p))) == NULL)
			fatal(NULL);
		pool = p;
	}
	pool[npool++] = s;
	return s;
}

static void
pool_free(void)
{
	while (npool > 0)
		free(pool[--npool]);
	free(pool);
	pool = NULL;
	pool_cap = 0;
}

static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(nam, sym->nam) == 0)
			break;
	if (sym != NULL) {
		if (sym->persist == 1)
			return 0;
		free(sym->nam);
		free(sym->val);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return -1;
	if ((sym->nam = strdup(nam)) == NULL) {
		free(sym);
		return -1;
	}
	if ((sym->val = strdup(val)) == NULL) {
		free(sym->nam);
		free(sym);
		return -1;
	}
	sym->used = 0;
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return 0;
}

/* -D name=value */
int
cmdline_symset(char *s)
{
	char	*sym, *val;
	int	 ret;

	if ((val = strchr(s, '=')) == NULL || val == s)
		return -1;
	if ((sym = strndup(s, val - s)) == NULL)
		fatal("%s: strndup", __func__);
	ret = symset(sym, val + 1, 1);
	free(sym);
	return ret;
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return sym->val;
		}
	}
	return NULL;
}

static int
listener_exists(const struct listener_conf *l)
{
	const struct listener_conf	*o;

	TAILQ_FOREACH(o, &conf->listeners, entry) {
		if (o->kind != l->kind)
			continue;
		if (l->kind == LISTEN_UNIX && strcmp(o->path, l->path) == 0)
			return 1;
		if (l->kind == LISTEN_TCP && o->sslen == l->sslen &&
		    memcmp(&o->ss, &l->ss, l->sslen) == 0)
			return 1;
	}
	return 0;
}

static struct listener_conf *
listener_new(enum listen_kind kind)
{
	struct listener_conf	*l;

	l = config_listener_new(kind);
	l->id = ++nlisteners;
	return l;
}

static struct listener_conf *
listener_add(struct listener_conf *l)
{
	if (listener_exists(l)) {
		yyerror("duplicate listener %s", listener_name(l));
		free(l);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
	return l;
}

static struct listener_conf *
add_listener_tcp(const char *addr, long long port)
{
	struct listener_conf	*l;
	struct addrinfo		 hints, *res;
	int			 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if ((error = getaddrinfo(addr, NULL, &hints, &res)) != 0) {
		yyerror("\"%s\" is not an IPv4 or IPv6 address", addr);
		return NULL;
	}
	l = listener_new(LISTEN_TCP);
	memcpy(&l->ss, res->ai_addr, res->ai_addrlen);
	l->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	if (l->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&l->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&l->ss)->sin6_port = htons(port);
	return listener_add(l);
}

static struct listener_conf *
add_listener_unix(const char *path)
{
	struct listener_conf	*l;

	l = listener_new(LISTEN_UNIX);
	if (strlcpy(l->path, path, sizeof(l->path)) >= sizeof(l->path)) {
		yyerror("socket path \"%s\" is too long", path);
		free(l);
		return NULL;
	}
	return listener_add(l);
}

/* A metrics listener has its own default port. */
static int
words_have(const char *w)
{
	size_t	 i;

	for (i = 0; i < nwords; i++)
		if (strcmp(words[i], w) == 0)
			return 1;
	return 0;
}

static int
words_add(char *w)
{
	if (nwords == SETTINGS_MAX_WORDS) {
		yyerror("too many words on one line");
		return -1;
	}
	words[nwords++] = w;
	return 0;
}

/* A line of words: one setting of the parent's, authd's or the engine's. */
static int
setting_line(void)
{
	const struct setting	*tab = engine_settings;
	size_t			 n = engine_nsettings, used;
	void			*base = &conf->engine;
	char			 err[512];

	if (settings_known(global_settings, global_nsettings, words,
	    nwords)) {
		tab = global_settings;
		n = global_nsettings;
		base = conf;
	} else if (settings_known(authd_settings, authd_nsettings, words,
	    nwords)) {
		tab = authd_settings;
		n = authd_nsettings;
		base = &conf->authd;
	}
	if (settings_parse(tab, n, base, words, nwords, &used, err,
	    sizeof(err)) == -1) {
		yyerror("%s", err);
		return -1;
	}
	if (used < nwords) {
		yyerror("unexpected \"%s\" after %s", words[used],
		    words[0]);
		return -1;
	}
	return 0;
}

/*
 * A listener that others than this machine can reach must say who may
 * connect: a password file, or `allow anonymous' in so many words.
 */
static int
listener_check_open(const struct listener_conf *l)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	int				 local = 0;

	if (l->kind != LISTEN_TCP || l->o.anonymous ||
	    l->o.password_file[0] != '\0' || l->o.scram_file[0] != '\0' ||
	    l->o.use_identity || l->o.use_subject)
		return 0;
	if (l->ss.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&l->ss;
		local = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (l->ss.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)&l->ss;
		local = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	if (local)
		return 0;
	yyerror("listener %s is not on loopback: it needs a password file "
	    "or allow anonymous", listener_name(l));
	return -1;
}

/* The words after `listen on ADDRESS [port N]': its options. */
static int
listener_options(struct listener_conf *l)
{
	size_t	 i = 0, used;
	char	 err[512];

	while (i < nwords) {
		if (settings_parse(listener_settings, listener_nsettings,
		    &l->o, words + i, nwords - i, &used, err,
		    sizeof(err)) == -1) {
			yyerror("listener %s: %s", listener_name(l), err);
			return -1;
		}
		i += used;
	}
	if (listener_check(l, err, sizeof(err)) == -1) {
		yyerror("listener %s: %s", listener_name(l), err);
		return -1;
	}
	return 0;
}
