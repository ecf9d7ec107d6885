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
 * Unit tests for authd/passwd.c and authd/base64.c: every hash format,
 * hashes written by Debian's mosquitto_passwd during the run (when it is
 * installed), argon2id strings made by libargon2 as Mosquitto 2.1 makes
 * them, the malformed lines that must refuse a file (CVE-2018-12551),
 * and the time one verification takes with the default parameters.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>
#include <cmocka.h>

#include "passwd.h"
#include "text.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define MOSQUITTO_PASSWD "/usr/bin/mosquitto_passwd"

/* Written by mosquitto_passwd 2.0.11 (Debian 12). */
static const char	 mosq_7[] = "$7$101$2bvyDbcqoXVDicP1$VqfHzmDwZ/usOXthgZ"
    "eOl6TAQ9Z27ySlrEgcLKUgwER16nBgupRNT5kX0vqsm0YsEFaSRObFqGSkNXb0FCnBAg==";
static const char	 mosq_6[] = "$6$JNxfvglOaLF+hY9L$tXx0gZLTt3zHieUqUM6Kc6F"
    "xCeQbFT+Huz6S4O0vDIQxSLwuyFJCyYt0tN+6Mes6JepAoP1kDiPsaGfNOzRcww==";

static struct pwfile *
parse(const char *s, char *err, size_t errlen)
{
	return passwd_parse("pw", s, strlen(s), err, errlen);
}

static int
check(const struct pwfile *pf, const char *user, const char *pw)
{
	return passwd_check(pf, user, strlen(user), pw, strlen(pw));
}

static void
test_b64(void **state)
{
	uint8_t	 out[16];
	char	 enc[32];
	size_t	 n;

	(void)state;
	assert_int_equal(b64_encode((const uint8_t *)"f", 1, enc, sizeof(enc),
	    1), 4);
	assert_string_equal(enc, "Zg==");
	assert_int_equal(b64_encode((const uint8_t *)"fo", 2, enc, sizeof(enc),
	    0), 3);
	assert_string_equal(enc, "Zm8");
	assert_int_equal(b64_encode((const uint8_t *)"foo", 3, enc, 4, 1), 0);

	assert_int_equal(b64_decode("Zm9vYg==", 8, out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(b64_decode("Zm9vYg", 6, out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(b64_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	/* Not canonical, bad padding, bad characters, too long. */
	assert_int_equal(b64_decode("Zh==", 4, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zm9=", 4, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zg=", 3, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Z", 1, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zm 9", 4, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zm9v\n", 5, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("=", 1, out, sizeof(out), &n), -1);
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
}

/* The hashes mosquitto_passwd wrote, as a file authd would get. */
static void
test_mosquitto_vectors(void **state)
{
	struct pwfile	*pf;
	char		 file[512], err[256];

	(void)state;
	snprintf(file, sizeof(file), "# written by mosquitto_passwd\n"
	    "alice:%s\r\n  carol : %s  \n\n", mosq_7, mosq_6);
	pf = parse(file, err, sizeof(err));
	assert_non_null(pf);
	assert_int_equal(passwd_count(pf), 2);
	assert_int_equal(check(pf, "alice", "pencil"), 1);
	assert_int_equal(check(pf, "alice", "pencil "), 0);
	assert_int_equal(check(pf, "alice", ""), 0);
	assert_int_equal(check(pf, "carol", "pw"), 1);
	assert_int_equal(check(pf, "carol", "pW"), 0);
	assert_int_equal(check(pf, "Alice", "pencil"), 0);
	assert_int_equal(check(pf, "nobody", "pencil"), 0);
	assert_int_equal(check(pf, "", ""), 0);
	passwd_free(pf);
}

static int
run(char *const argv[])
{
	pid_t	 pid;
	int	 status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int	 fd = open("/dev/null", 1);

		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* mosquitto_passwd, now: its file must load and every user log in. */
static void
test_mosquitto_passwd_now(void **state)
{
	static const struct {
		const char	*user, *pw, *hash;
	} users[] = {
		{ "alice", "pencil", "sha512-pbkdf2" },
		{ "bob", "p:w d$7$ \xc3\xa9", "sha512-pbkdf2" },
		{ "\xc3\xa9mile", "x", "sha512-pbkdf2" },
		{ "dave", "old style", "sha512" },
	};
	struct pwfile	*pf;
	char		 path[] = "/tmp/test_passwd.XXXXXX", err[256];
	char		*argv[9], buf[8192];
	FILE		*fp;
	size_t		 i, len;
	int		 fd;

	(void)state;
	if (access(MOSQUITTO_PASSWD, X_OK) == -1) {
		print_message("no %s: skipped\n", MOSQUITTO_PASSWD);
		return;
	}
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	for (i = 0; i < NITEMS(users); i++) {
		argv[0] = MOSQUITTO_PASSWD;
		argv[1] = "-b";
		argv[2] = "-H";
		argv[3] = (char *)(uintptr_t)users[i].hash;
		argv[4] = path;
		argv[5] = (char *)(uintptr_t)users[i].user;
		argv[6] = (char *)(uintptr_t)users[i].pw;
		argv[7] = NULL;
		assert_int_equal(run(argv), 0);
	}
	assert_non_null(fp = fopen(path, "r"));
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	unlink(path);
	buf[len] = '\0';
	assert_non_null(strstr(buf, "alice:$7$"));
	assert_non_null(strstr(buf, "dave:$6$"));

	pf = passwd_parse("mosquitto_passwd", buf, len, err, sizeof(err));
	if (pf == NULL)
		fail_msg("%s", err);
	assert_int_equal(passwd_count(pf), NITEMS(users));
	for (i = 0; i < NITEMS(users); i++) {
		assert_int_equal(check(pf, users[i].user, users[i].pw), 1);
		assert_int_equal(check(pf, users[i].user, "wrong"), 0);
	}
	passwd_free(pf);
}

/*
 * argon2id as Mosquitto 2.1 writes it (libargon2's encoder, t=1,
 * m=47104, p=1, 64-byte salt and hash), and ours read by libargon2.
 */
static void
test_argon2id_compat(void **state)
{
	struct pw_hash	 h;
	uint8_t		 salt[64];
	char		 enc[512];
	const char	*why;
	int		 n;

	(void)state;
	arc4random_buf(salt, sizeof(salt));
	assert_int_equal(argon2id_hash_encoded(1, 47104, 1, "pencil", 6,
	    salt, sizeof(salt), 64, enc, sizeof(enc)), ARGON2_OK);
	assert_int_equal(strncmp(enc, "$argon2id$v=19$m=47104,t=1,p=1$", 31),
	    0);
	assert_int_equal(passwd_decode(&h, enc, strlen(enc), &why), 0);
	assert_int_equal(h.kind, PW_ARGON2ID);
	assert_int_equal(h.saltlen, 64);
	assert_int_equal(h.hashlen, 64);
	assert_int_equal(passwd_verify(&h, "pencil", 6), 1);
	assert_int_equal(passwd_verify(&h, "pencim", 6), 0);

	/* Two lanes, computed here with one thread. */
	assert_int_equal(argon2id_hash_encoded(2, 64, 2, "pencil", 6, salt, 16,
	    32, enc, sizeof(enc)), ARGON2_OK);
	assert_int_equal(passwd_decode(&h, enc, strlen(enc), &why), 0);
	assert_int_equal(passwd_verify(&h, "pencil", 6), 1);

	assert_int_equal(passwd_make(&h, PW_ARGON2ID, 0, "pencil", 6), 0);
	assert_true((n = passwd_encode(&h, enc, sizeof(enc))) > 0);
	assert_int_equal(strncmp(enc, "$argon2id$v=19$m=19456,t=2,p=1$", 31),
	    0);
	assert_int_equal(argon2id_verify(enc, "pencil", 6), ARGON2_OK);
	assert_int_not_equal(argon2id_verify(enc, "pencil!", 7), ARGON2_OK);
}

/* Each kind made, encoded, decoded and verified. */
static void
test_make_roundtrip(void **state)
{
	static const enum pw_kind kinds[] = { PW_SHA512, PW_PBKDF2,
	    PW_ARGON2ID };
	struct pw_hash	 h, h2;
	char		 enc[PW_MAXENCODED];
	const char	*why;
	size_t		 i;
	int		 n;

	(void)state;
	for (i = 0; i < NITEMS(kinds); i++) {
		assert_int_equal(passwd_make(&h, kinds[i], kinds[i] ==
		    PW_PBKDF2 ? 1000 : 0, "p\xc3\xa4ss", 5), 0);
		assert_true((n = passwd_encode(&h, enc, sizeof(enc))) > 0);
		assert_int_equal(passwd_decode(&h2, enc, n, &why), 0);
		assert_memory_equal(&h, &h2, sizeof(h));
		assert_int_equal(passwd_verify(&h2, "p\xc3\xa4ss", 5), 1);
		assert_int_equal(passwd_verify(&h2, "p\xc3\xa4sS", 5), 0);
	}
	/* $7$ as Mosquitto 2.0 reads it: 12-byte salt, padded base64. */
	assert_int_equal(passwd_make(&h, PW_PBKDF2, 101, "x", 1), 0);
	assert_true((n = passwd_encode(&h, enc, sizeof(enc))) > 0);
	assert_int_equal(strncmp(enc, "$7$101$", 7), 0);
	assert_int_equal(strlen(enc), 7 + 16 + 1 + 88);
}

/* A malformed line refuses the whole file, with its number. */
static void
test_malformed(void **state)
{
	static const struct {
		const char	*file, *err;
	} cases[] = {
		{ "alice\n", "pw:1: no ':'" },
		{ ":$6$\n", "pw:1: empty user name" },
		{ "ok:%7\n:%7\n", "pw:2: empty user name" },
		{ "  \t:%7\n", "pw:1: empty user name" },
		{ "alice:\n", "pw:1: not a hash" },
		{ "alice:   \n", "pw:1: not a hash" },
		{ "alice:pencil\n", "pw:1: not a hash" },
		{ "alice:$5$abc$def\n", "pw:1: unknown hash type" },
		{ "alice:$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: unknown hash type" },
		{ "a:%7\n\n# c\nb:%7\na:%7\n",
		    "pw:5: duplicate user (first on line 1)" },
		{ "alice:%7:extra\n", "pw:1: ':' in the hash" },
		{ "alice:%7$\n", "pw:1: bad hash" },
		{ "alice:$7$0$AAAAAAAAAAAAAAAA$%h\n", "pw:1: bad $7$ iteration" },
		{ "alice:$7$x$AAAAAAAAAAAAAAAA$%h\n", "pw:1: bad $7$ iteration" },
		{ "alice:$7$99999999999$AAAAAAAAAAAAAAAA$%h\n",
		    "pw:1: bad $7$ iteration" },
		{ "alice:$7$1$AAAA$%h\n", "pw:1: bad salt" },
		{ "alice:$7$1$AAAAAAAAAAAAAAAA$AAAA\n", "pw:1: bad hash" },
		{ "alice:$6$AAAAAAAAAAAAAAAA\n", "pw:1: bad hash" },
		{ "alice:$6$AAAAAAAAAAAAAAAA$%h$\n", "pw:1: bad hash" },
		{ "alice:$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: not version 19" },
		{ "alice:$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: bad m=" },
		{ "alice:$argon2id$v=19$t=1,m=8,p=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: bad m=" },
		{ "alice:$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: bad t=" },
		{ "alice:$argon2id$v=19$m=64,t=1,p=17$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: bad p=" },
		{ "alice:$argon2id$v=19$m=8,t=1,p=2$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: m= below" },
		{ "alice:$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA\n",
		    "pw:1: argon2id: bad salt" },
		{ "alice:$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGE\n",
		    "pw:1: argon2id: bad hash" },
		{ "alice:$argon2id$v=19$m=64,t=1,p=1,k=1$c2FsdHNhbHQ$aGFzaA\n",
		    "pw:1: argon2id: bad p=" },
	};
	struct pwfile	*pf;
	char		 file[1024], err[256], *s;
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		/* %7 is a valid $7$ hash, %h a valid hash field. */
		file[0] = '\0';
		for (s = (char *)(uintptr_t)cases[i].file; *s != '\0'; s++) {
			if (s[0] == '%' && s[1] == '7') {
				strlcat(file, mosq_7, sizeof(file));
				s++;
			} else if (s[0] == '%' && s[1] == 'h') {
				strlcat(file, strrchr(mosq_7, '$') + 1,
				    sizeof(file));
				s++;
			} else {
				size_t	 n = strlen(file);

				file[n] = *s;
				file[n + 1] = '\0';
			}
		}
		err[0] = '\0';
		pf = parse(file, err, sizeof(err));
		if (pf != NULL || strncmp(err, cases[i].err,
		    strlen(cases[i].err)) != 0)
			fail_msg("case %zu: \"%s\" gave \"%s\"", i, file, err);
	}
	/* NUL inside a line. */
	pf = passwd_parse("pw", "a:b\0c\n", 6, err, sizeof(err));
	assert_null(pf);
	assert_string_equal(err, "pw:1: NUL byte");
}

/* Files without users are valid, and let no one in. */
static void
test_empty(void **state)
{
	static const char *files[] = { "", "\n", "# only a comment\n",
	    "\n\n  \t\n", "\r\n" };
	struct pwfile	*pf;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(files); i++) {
		assert_non_null(pf = parse(files[i], err, sizeof(err)));
		assert_int_equal(passwd_count(pf), 0);
		assert_int_equal(check(pf, "", ""), 0);
		assert_int_equal(check(pf, "alice", "pencil"), 0);
		passwd_free(pf);
	}
}

static void
test_user_valid(void **state)
{
	const char	*why;

	(void)state;
	assert_int_equal(passwd_user_valid("alice", 5, &why), 0);
	assert_int_equal(passwd_user_valid("\xc3\xa9mile", 6, &why), 0);
	assert_int_equal(passwd_user_valid("", 0, &why), -1);
	assert_int_equal(passwd_user_valid("a:b", 3, &why), -1);
	assert_int_equal(passwd_user_valid(" a", 2, &why), -1);
	assert_int_equal(passwd_user_valid("a\t", 2, &why), -1);
	assert_int_equal(passwd_user_valid("#a", 2, &why), -1);
	assert_int_equal(passwd_user_valid("a\nb", 3, &why), -1);
	assert_int_equal(passwd_user_valid("\xc3", 1, &why), -1);
	assert_int_equal(passwd_user_valid("\xed\xa0\x80", 3, &why), -1);
	assert_int_equal(passwd_user_valid("\xc0\xaf", 2, &why), -1);
}

static void
test_userline(void **state)
{
	const char	*u, *v;
	size_t		 n, m;

	(void)state;
	assert_int_equal(userline_split(" bob : x y ", 11, &u, &n, &v, &m), 1);
	assert_int_equal(n, 3);
	assert_memory_equal(u, "bob", 3);
	assert_int_equal(m, 3);
	assert_memory_equal(v, "x y", 3);
	assert_int_equal(userline_split("  # x:y", 7, &u, &n, &v, &m), 0);
	assert_int_equal(userline_split("", 0, &u, &n, &v, &m), 0);
	assert_int_equal(userline_split("bob", 3, &u, &n, &v, &m), -1);
	assert_int_equal(userline_split(" :x", 3, &u, &n, &v, &m), 1);
	assert_int_equal(n, 0);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What one verification costs with the defaults (printed, not judged). */
static void
test_cost(void **state)
{
	static const enum pw_kind kinds[] = { PW_ARGON2ID, PW_PBKDF2 };
	struct pw_hash	 h;
	double		 t0, best;
	size_t		 i;
	int		 k;

	(void)state;
	for (i = 0; i < NITEMS(kinds); i++) {
		assert_int_equal(passwd_make(&h, kinds[i], 0, "pencil", 6), 0);
		best = 1e9;
		for (k = 0; k < 3; k++) {
			t0 = now();
			assert_int_equal(passwd_verify(&h, "pencil", 6), 1);
			if (now() - t0 < best)
				best = now() - t0;
		}
		if (kinds[i] == PW_ARGON2ID)
			print_message("argon2id m=%u t=%u p=%u: %.1f ms per "
			    "verification\n", h.mem, h.iter, h.lanes,
			    best * 1e3);
		else
			print_message("$7$ %u iterations: %.1f ms per "
			    "verification\n", h.iter, best * 1e3);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_mosquitto_vectors),
		cmocka_unit_test(test_mosquitto_passwd_now),
		cmocka_unit_test(test_argon2id_compat),
		cmocka_unit_test(test_make_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_user_valid),
		cmocka_unit_test(test_userline),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
