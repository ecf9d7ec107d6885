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
 * Confinement of the child processes, in the order DESIGN.md gives:
 * chroot and chdir, setgroups/setresgid/setresuid and a check that root
 * cannot be regained (sandbox_drop), then the system's sandbox
 * (sandbox_enter): pledge and unveil on OpenBSD; on Linux rlimits,
 * PR_SET_NO_NEW_PRIVS, Landlock where the kernel has it, and a seccomp-BPF
 * allow-list per process, written by hand as OpenSSH does.
 *
 * Every process's allowances are in the one table below, so that what
 * each may do can be read and reviewed in one place.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#endif

#include "log.h"
#include "sandbox.h"

void
sandbox_drop(enum proc_type proc, const struct sandbox_conf *sc)
{
	uid_t	 r, e, s;

	if (!sc->drop) {
		log_debug("not root: no chroot and no uid change");
		return;
	}
	if (chroot(sc->root) == -1)
		fatal("chroot %s", sc->root);
	if (chdir("/") == -1)
		fatal("chdir /");
	if (setgroups(1, &sc->gid) == -1 ||
	    setresgid(sc->gid, sc->gid, sc->gid) == -1 ||
	    setresuid(sc->uid, sc->uid, sc->uid) == -1)
		fatal("cannot drop privileges");
	/* Root must be gone for good. */
	if (setuid(0) != -1 || seteuid(0) != -1 ||
	    setresuid((uid_t)-1, 0, (uid_t)-1) != -1 ||
	    setgid(0) != -1 || setegid(0) != -1)
		fatalx("root privileges could be regained");
	if (getresuid(&r, &e, &s) == -1 || r != sc->uid || e != sc->uid ||
	    s != sc->uid)
		fatalx("uids are not %u", (unsigned int)sc->uid);
}

#ifdef __OpenBSD__

static const struct {
	const char	*promises;
	int		 unveil_root;	/* unveil "/" rwc (inside the chroot) */
} sandbox_openbsd[PROC_MAX] = {
	[PROC_ENGINE] =		{ "stdio inet unix recvfd", 0 },
	[PROC_TLSPROXY] =	{ "stdio inet recvfd sendfd", 0 },
	[PROC_AUTHD] =		{ "stdio", 0 },
	[PROC_STORAGED] =	{ "stdio rpath wpath cpath flock", 1 },
};

void
sandbox_enter(enum proc_type proc, const struct sandbox_conf *sc)
{
	const char	*root = sc->drop ? "/" : sc->root;

	if (sandbox_openbsd[proc].unveil_root) {
		if (unveil(root, "rwc") == -1)
			fatal("unveil %s", root);
	}
	if (unveil(NULL, NULL) == -1)
		fatal("unveil");
	if (pledge(sandbox_openbsd[proc].promises, NULL) == -1)
		fatal("pledge");
}

#elif defined(__linux__)

#if defined(__x86_64__)
#define SANDBOX_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH		AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SANDBOX_ARCH		AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_ARCH		AUDIT_ARCH_RISCV64
#else
#error "seccomp: unknown architecture"
#endif

#ifdef SANDBOX_DEBUG
#define SANDBOX_DENY		SECCOMP_RET_TRAP
#else
#define SANDBOX_DENY		SECCOMP_RET_KILL_PROCESS
#endif

/*
 * Every child: the event loop, IPC, memory, time, exiting.  The filter
 * compares in this order, so the calls of every turn come first.
 */
static const long sandbox_base[] = {
	__NR_read, __NR_readv, __NR_sendmsg, __NR_epoll_pwait,
#ifdef __NR_epoll_wait
	__NR_epoll_wait,
#endif
	__NR_write, __NR_writev, __NR_recvmsg, __NR_recvfrom, __NR_sendto,
	__NR_close, __NR_fstat, __NR_lseek,
	__NR_brk, __NR_munmap, __NR_mremap, __NR_madvise,
	__NR_futex, __NR_clock_gettime, __NR_gettimeofday,
	__NR_clock_nanosleep, __NR_nanosleep,
	__NR_getpid, __NR_gettid, __NR_getrandom,
	__NR_rt_sigreturn, __NR_rt_sigprocmask,
	__NR_restart_syscall,	/* a sleep resumed after SIGSTOP, SIGCONT */
	__NR_exit, __NR_exit_group,
	__NR_epoll_ctl,
#ifdef __NR_epoll_pwait2
	__NR_epoll_pwait2,
#endif
#ifdef __NR_poll
	__NR_poll,
#endif
	__NR_ppoll,
#ifdef __NR_time
	__NR_time,
#endif
#ifdef SANDBOX_DEBUG
	__NR_kill,		/* the SIGSYS handler kills itself */
#endif
#ifdef SANDBOX_SANITIZE
	/* Only in test builds with ASan: what it does at exit. */
	__NR_sigaltstack, __NR_prctl,
#endif
};

/* Calls that probe the file system fail with EACCES instead of killing. */
static const long sandbox_eacces[] = {
#ifdef __NR_open
	__NR_open,
#endif
	__NR_openat,
#ifdef __NR_openat2
	__NR_openat2,
#endif
#ifdef __NR_stat
	__NR_stat,
#endif
#ifdef __NR_lstat
	__NR_lstat,
#endif
	__NR_newfstatat,
#ifdef __NR_statx
	__NR_statx,
#endif
#ifdef __NR_access
	__NR_access,
#endif
	__NR_faccessat,
#ifdef __NR_faccessat2
	__NR_faccessat2,
#endif
#ifdef __NR_readlink
	__NR_readlink,
#endif
	__NR_readlinkat,
};

static const long sandbox_engine[] = {
	__NR_accept4, __NR_setsockopt, __NR_getsockopt, __NR_shutdown,
	__NR_getsockname, __NR_getpeername,
};

static const long sandbox_tlsproxy[] = {
	__NR_accept4, __NR_socketpair, __NR_setsockopt, __NR_getsockopt,
	__NR_shutdown, __NR_getsockname, __NR_getpeername,
};

/*
 * glibc's qsort() asks sysconf() for the physical memory when it sorts
 * more than a little (acl_compile() of a large ACL file): without this a
 * client of a listener with a 1,000-rule ACL killed authd.
 */
static const long sandbox_authd[] = {
	__NR_sysinfo,
};

/* Berkeley DB in the data directory (its chroot). */
static const long sandbox_storaged[] = {
	__NR_openat, __NR_newfstatat, __NR_fsync, __NR_fdatasync,
	__NR_pread64, __NR_pwrite64, __NR_ftruncate, __NR_fcntl,
	__NR_renameat, __NR_unlinkat, __NR_mkdirat, __NR_getdents64,
	__NR_flock,
	/* glibc's sysconf: CPUs (db_env_create), memory (qsort). */
	__NR_sched_getaffinity, __NR_sysinfo,
	__NR_getcwd,		/* log_archive */
#ifdef __NR_rename
	__NR_rename,
#endif
#ifdef __NR_unlink
	__NR_unlink,
#endif
#ifdef __NR_open
	__NR_open,
#endif
#ifdef __NR_stat
	__NR_stat,
#endif
#ifdef __NR_renameat2
	__NR_renameat2,
#endif
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const long	*allow;
	size_t		 nallow;
	int		 files;		/* may read and write files */
} sandbox_linux[PROC_MAX] = {
	[PROC_ENGINE] =	  { sandbox_engine, NELEM(sandbox_engine), 0 },
	[PROC_TLSPROXY] = { sandbox_tlsproxy, NELEM(sandbox_tlsproxy), 0 },
	[PROC_AUTHD] =	  { sandbox_authd, NELEM(sandbox_authd), 0 },
	[PROC_STORAGED] = { sandbox_storaged, NELEM(sandbox_storaged), 1 },
};

#define SC_MAXPROG	512

struct sandbox_prog {
	struct sock_filter	 insn[SC_MAXPROG];
	unsigned int		 n;
};

static void
sc_emit(struct sandbox_prog *p, struct sock_filter f)
{
	if (p->n >= SC_MAXPROG)
		fatalx("seccomp program too long");
	p->insn[p->n++] = f;
}

/* if (nr == `nr') return `action' */
static void
sc_return_if(struct sandbox_prog *p, long nr, uint32_t action)
{
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)nr, 0, 1));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* Allow `nr' unless its protection argument (index `arg') has PROT_EXEC. */
static void
sc_allow_noexec(struct sandbox_prog *p, long nr, int arg)
{
	uint32_t	 off = offsetof(struct seccomp_data, args) + arg * 8;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	off += 4;
#endif
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)nr, 0, 4));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    off));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
	    PROT_EXEC, 0, 1));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SANDBOX_DENY));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW));
	/* The accumulator held the argument only on paths that returned. */
}

static int
sc_listed(const long *list, size_t n, long nr)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (list[i] == nr)
			return 1;
	return 0;
}

static void
sandbox_seccomp(enum proc_type proc)
{
	struct sandbox_prog	 p;
	struct sock_fprog	 fprog;
	size_t			 i;
	const long		*extra = sandbox_linux[proc].allow;
	size_t			 nextra = sandbox_linux[proc].nallow;

	memset(&p, 0, sizeof(p));
	/* The architecture first: syscall numbers mean nothing without. */
	sc_emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch)));
	sc_emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SANDBOX_ARCH, 1, 0));
	sc_emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS));
	sc_emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	/* No x32 system calls. */
	sc_emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
	    0x40000000, 0, 1));
	sc_emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS));
#endif
	for (i = 0; i < NELEM(sandbox_base); i++)
		sc_return_if(&p, sandbox_base[i], SECCOMP_RET_ALLOW);
	for (i = 0; i < nextra; i++)
		sc_return_if(&p, extra[i], SECCOMP_RET_ALLOW);
	sc_allow_noexec(&p, __NR_mmap, 2);
	sc_allow_noexec(&p, __NR_mprotect, 2);
	for (i = 0; i < NELEM(sandbox_eacces); i++)
		if (!sc_listed(extra, nextra, sandbox_eacces[i]))
			sc_return_if(&p, sandbox_eacces[i],
			    SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
	sc_emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SANDBOX_DENY));

	memset(&fprog, 0, sizeof(fprog));
	fprog.len = p.n;
	fprog.filter = p.insn;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == -1)
		fatal("cannot load the seccomp filter");
}

/*
 * Landlock: no file system access at all (storaged: only its directory),
 * no TCP bind or connect, no abstract UNIX sockets or signals outside the
 * process.  The kernel headers of the build machine may be older than
 * the kernel, so the newer fields are declared here.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)
#endif
#define LL_NET_BIND_TCP				(1ULL << 0)
#define LL_NET_CONNECT_TCP			(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET		(1ULL << 0)
#define LL_SCOPE_SIGNAL				(1ULL << 1)

struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

static void
sandbox_landlock(enum proc_type proc, const struct sandbox_conf *sc)
{
	struct ll_ruleset_attr			 attr;
	struct landlock_path_beneath_attr	 pb;
	size_t					 size;
	long					 abi;
	int					 rfd, dfd;
	const char				*dir;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_debug("no Landlock in this kernel");
		return;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	size = sizeof(attr.handled_access_fs);
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	if ((rfd = syscall(__NR_landlock_create_ruleset, &attr, size, 0)) ==
	    -1)
		fatal("landlock_create_ruleset");

	if (sandbox_linux[proc].files) {
		dir = sc->drop ? "/" : sc->root;
		if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
			fatal("%s", dir);
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = dfd;
		pb.allowed_access = attr.handled_access_fs &
		    ~(LANDLOCK_ACCESS_FS_EXECUTE |
		    LANDLOCK_ACCESS_FS_MAKE_CHAR |
		    LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		    LANDLOCK_ACCESS_FS_MAKE_FIFO |
		    LANDLOCK_ACCESS_FS_MAKE_SOCK |
		    LANDLOCK_ACCESS_FS_MAKE_SYM |
		    LANDLOCK_ACCESS_FS_IOCTL_DEV);
		if (syscall(__NR_landlock_add_rule, rfd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1)
			fatal("landlock_add_rule");
		close(dfd);
	}
	if (syscall(__NR_landlock_restrict_self, rfd, 0) == -1)
		fatal("landlock_restrict_self");
	close(rfd);
}

#ifdef SANDBOX_DEBUG
#include "syscallnames.h"

/* Name the forbidden call, then die of the SIGSYS it would have cost. */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char		 msg[128];
	const char	*name = "?";
	size_t		 i;
	ssize_t		 n;
	int		 nr = si->si_syscall;

	(void)ctx;
	for (i = 0; i < NELEM(syscall_names); i++)
		if (syscall_names[i].nr == nr) {
			name = syscall_names[i].name;
			break;
		}
	snprintf(msg, sizeof(msg), "%s: forbidden system call %d (%s)\n",
	    log_procname() != NULL ? log_procname() : "?", nr, name);
	n = write(STDERR_FILENO, msg, strlen(msg));
	(void)n;
	kill(getpid(), sig);
}
#endif

static void
sandbox_rlimits(enum proc_type proc)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("setrlimit NPROC");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit CORE");
#ifndef SANDBOX_DEBUG
	if (!sandbox_linux[proc].files && setrlimit(RLIMIT_FSIZE, &rl) == -1)
		fatal("setrlimit FSIZE");
#else
	(void)proc;
#endif
}

void
sandbox_enter(enum proc_type proc, const struct sandbox_conf *sc)
{
#ifdef SANDBOX_DEBUG
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction SIGSYS");
#endif
	if (proc <= PROC_PARENT || proc >= PROC_MAX)
		fatalx("sandbox_enter: bad process %d", proc);
	sandbox_rlimits(proc);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	sandbox_landlock(proc, sc);
	sandbox_seccomp(proc);
}

#else

void
sandbox_enter(enum proc_type proc, const struct sandbox_conf *sc)
{
	(void)sc;
	log_warnx("no sandbox on this system");
	(void)proc;
}

#endif
