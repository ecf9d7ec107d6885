# brokerd: a privilege-separated MQTT broker.
#
#	make			build everything into build/
#	make test		build and run every test (installs missing
#				Debian packages when run as root)
#	make run		run the broker in the foreground on 127.0.0.1:1883
#	make install		PREFIX=/usr/local DESTDIR=
#	make lint		mandoc -Tlint, cppcheck
#	make fuzz		libFuzzer targets (clang)
#	make bench		brokerd against mosquitto (tests/bench/)
#	make store-bench	storaged's group commit on this disk
#	make SANITIZE=1 test	with ASan and UBSan
#	make SANDBOX_DEBUG=1	a forbidden syscall is logged by name

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/brokerd
MANDIR		?= $(PREFIX)/share/man
EXAMPLEDIR	?= $(PREFIX)/etc/examples
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
SYSTEMDDIR	?= $(PREFIX)/lib/systemd/system
SYSCONFDIR	?= $(PREFIX)/etc
DESTDIR		?=
# How the system runs services: systemd (Linux), openbsd or freebsd
# (rc.d scripts), or none.
SERVICE		?= $(if $(filter OpenBSD,$(UNAME)),openbsd,$(if \
		   $(filter FreeBSD,$(UNAME)),freebsd,systemd))

BUILD		?= build
# GNU make predefines CC and YACC: only a value from the command line or
# the environment replaces ours (a machine whose yacc is bison still gets
# byacc, which parse.y is written for).
ifeq ($(origin CC),default)
CC		 = cc
endif
ifeq ($(origin YACC),default)
YACC		 = byacc
endif
PKG_CONFIG	?= pkg-config
INSTALL		?= install

PKGS		 = libbsd-overlay msgpack
# OpenSSL: tlsproxy only (and its tests and fuzzers).
TLS_PKGS	 = libssl libcrypto
# authd's password hashes: PBKDF2 and SHA-512 from OpenSSL, argon2id
# from libargon2 (Mosquitto 2.1's default hash).
AUTH_PKGS	 = libcrypto libargon2

CFLAGS		?= -O2 -g
WARNINGS	 = -Wall -Wstrict-prototypes -Wmissing-prototypes \
		   -Wmissing-declarations -Wshadow -Wpointer-arith \
		   -Wcast-qual -Wsign-compare
ifeq ($(CI),true)
WARNINGS	+= -Werror
endif

UNAME		:= $(shell uname -s)
ifeq ($(UNAME),Linux)
HARDEN_CFLAGS	 = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
HARDEN_LDFLAGS	 = -pie -Wl,-z,relro,-z,now
OS_CPPFLAGS	 = -D_GNU_SOURCE
endif

ifeq ($(SANITIZE),1)
SAN_FLAGS	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
HARDEN_CFLAGS	:= $(filter-out -D_FORTIFY_SOURCE=2,$(HARDEN_CFLAGS))
OS_CPPFLAGS	+= -DSANDBOX_SANITIZE
endif
ifeq ($(SANDBOX_DEBUG),1)
OS_CPPFLAGS	+= -DSANDBOX_DEBUG
endif

# Evaluated when used, so that `make test' can install the packages first.
PKG_CFLAGS	 = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS	 = $(shell $(PKG_CONFIG) --libs $(PKGS) libbsd-ctor)
TLS_CFLAGS	 = $(shell $(PKG_CONFIG) --cflags $(TLS_PKGS))
TLS_LIBS	 = $(shell $(PKG_CONFIG) --libs $(TLS_PKGS))
AUTH_LIBS	 = $(shell $(PKG_CONFIG) --libs $(AUTH_PKGS))

# The layers form a stack: common/ sees only itself, ipc/ sees common/,
# each program sees both and its own directory.  The tests see everything.
INC		 = -Icommon -Iipc -Ibrokerd -Iauthd -Istoraged -Itlsproxy \
		   -Ibrokerctl -I$(BUILD)/gen
ALL_CPPFLAGS	 = $(INC) $(OS_CPPFLAGS) $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS	 = $(CFLAGS) $(WARNINGS) $(HARDEN_CFLAGS) $(SAN_FLAGS)
ALL_LDFLAGS	 = $(LDFLAGS) $(HARDEN_LDFLAGS) $(SAN_FLAGS)

COMMON_SRCS	 = common/log.c common/event.c common/buf.c common/sandbox.c \
		   common/process.c common/mqtt.c common/settings.c \
		   common/conf.c common/httpreq.c common/aclmatch.c \
		   common/text.c common/passwd.c common/scram.c common/acl.c \
		   ipc/ipc.c ipc/validate.c ipc/child.c
BROKERD_SRCS	 = brokerd/brokerd.c brokerd/proc.c brokerd/listener.c \
		   brokerd/config.c brokerd/printconf.c brokerd/engine.c \
		   brokerd/control.c brokerd/conn.c \
		   brokerd/client.c brokerd/session.c brokerd/msg.c \
		   brokerd/route.c brokerd/packet.c brokerd/procinfo.c \
		   brokerd/sys.c brokerd/metrics.c brokerd/tlsconf.c \
		   brokerd/authfile.c brokerd/store.c \
		   brokerd/topic.c brokerd/retain.c \
		   brokerd/replay.c brokerd/alias.c
AUTHD_SRCS	 = authd/authd.c authd/pool.c authd/throttle.c
STORAGED_SRCS	 = storaged/storaged.c storaged/db.c storaged/record.c \
		   storaged/store.c
TLSPROXY_SRCS	 = tlsproxy/tlsproxy.c tlsproxy/ws.c tlsproxy/http.c \
		   tlsproxy/proxy.c tlsproxy/tls.c tlsproxy/relay.c
BROKERCTL_SRCS	 = brokerctl/brokerctl.c brokerctl/passwd.c brokerctl/edit.c \
		   brokerctl/users.c

obj		 = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJS	 = $(call obj,$(COMMON_SRCS))
BROKERD_OBJS	 = $(call obj,$(BROKERD_SRCS)) $(BUILD)/obj/gen/parse.o
LIBCOMMON	 = $(BUILD)/libcommon.a
# Everything of brokerd but main(), for the unit tests to link against.
LIBBROKERD	 = $(BUILD)/libbrokerd.a
TLSPROXY_OBJS	 = $(call obj,$(TLSPROXY_SRCS))
# Everything of tlsproxy but main(), likewise.
LIBTLSPROXY	 = $(BUILD)/libtlsproxy.a
# The same of storaged, and Berkeley DB 5.3 (no pkg-config file).
STORAGED_OBJS	 = $(call obj,$(STORAGED_SRCS))
LIBSTORAGED	 = $(BUILD)/libstoraged.a
DB_LIBS		 = -ldb

PROGRAMS	 = $(BUILD)/sbin/brokerd $(BUILD)/sbin/brokerctl \
		   $(BUILD)/libexec/brokerd/authd \
		   $(BUILD)/libexec/brokerd/storaged \
		   $(BUILD)/libexec/brokerd/tlsproxy

MANPAGES	 = man/brokerd.8 man/brokerd.conf.5 man/brokerctl.8 \
		   man/tlsproxy.8 man/authd.8 man/storaged.8

.PHONY: all clean test unit-tests conf-tests integration-tests fuzz \
	fuzz-smoke lint install deps test-deps run bench install-systemd \
	install-openbsd install-freebsd install-none store-bench

all: $(PROGRAMS)

$(BUILD)/gen/parse.c: brokerd/parse.y
	@mkdir -p $(@D)
	$(YACC) -o $@ $<

$(BUILD)/gen/syscallnames.h:
	@mkdir -p $(@D)
	( echo '/* Generated from <sys/syscall.h>. */'; \
	  echo 'static const struct { long nr; const char *name; }'; \
	  echo 'syscall_names[] = {'; \
	  echo '#include <sys/syscall.h>' | $(CC) -dM -E - | \
	    sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/	{ __NR_\1, "\1" },/p' | \
	    sort -u; \
	  echo '};' ) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/common/sandbox.o: $(BUILD)/gen/syscallnames.h

$(BUILD)/obj/gen/parse.o: $(BUILD)/gen/parse.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-sign-compare -MMD -MP \
	    -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(LIBBROKERD): $(filter-out $(BUILD)/obj/brokerd/brokerd.o,$(BROKERD_OBJS))
	rm -f $@
	$(AR) rcs $@ $^

$(TLSPROXY_OBJS): ALL_CPPFLAGS += $(TLS_CFLAGS)

$(LIBSTORAGED): $(filter-out $(BUILD)/obj/storaged/storaged.o,\
    $(STORAGED_OBJS))
	rm -f $@
	$(AR) rcs $@ $^

$(LIBTLSPROXY): $(filter-out $(BUILD)/obj/tlsproxy/tlsproxy.o,$(TLSPROXY_OBJS))
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/sbin/brokerd: $(BROKERD_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BROKERD_OBJS) $(LIBCOMMON) $(PKG_LIBS) \
	    $(AUTH_LIBS)

$(BUILD)/sbin/brokerctl: $(call obj,$(BROKERCTL_SRCS)) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(AUTH_LIBS)

$(BUILD)/libexec/brokerd/authd: $(call obj,$(AUTHD_SRCS)) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(AUTH_LIBS)

$(BUILD)/libexec/brokerd/storaged: $(STORAGED_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DB_LIBS)

$(BUILD)/libexec/brokerd/tlsproxy: $(BUILD)/obj/tlsproxy/tlsproxy.o \
    $(LIBTLSPROXY) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TLS_LIBS) $(PKG_LIBS)

# Per-layer include paths (see INC above).
$(BUILD)/obj/common/%.o $(BUILD)/fuzzobj/common/%.o: INC = -Icommon \
    -I$(BUILD)/gen
$(BUILD)/obj/ipc/%.o $(BUILD)/fuzzobj/ipc/%.o: INC = -Icommon -Iipc
$(BUILD)/obj/brokerd/%.o $(BUILD)/obj/gen/%.o $(BUILD)/fuzzobj/brokerd/%.o \
    $(BUILD)/fuzzobj/gen/%.o: INC = -Icommon -Iipc -Ibrokerd -I$(BUILD)/gen
$(BUILD)/obj/authd/%.o: INC = -Icommon -Iipc -Iauthd
$(BUILD)/obj/storaged/%.o: INC = -Icommon -Iipc -Istoraged
$(BUILD)/obj/tlsproxy/%.o: INC = -Icommon -Iipc -Itlsproxy
$(BUILD)/obj/brokerctl/%.o: INC = -Icommon -Iipc -Ibrokerctl

ALL_SRCS	 = $(COMMON_SRCS) $(BROKERD_SRCS) $(AUTHD_SRCS) \
		   $(STORAGED_SRCS) $(TLSPROXY_SRCS) $(BROKERCTL_SRCS)
-include $(wildcard $(patsubst %.o,%.d,$(call obj,$(ALL_SRCS))) \
    $(BUILD)/obj/gen/parse.d $(BUILD)/tests/*.d $(BUILD)/fuzzobj/*/*.d \
    $(BUILD)/fuzz/*.d)

# ---------------------------------------------------------------------
# Tests

UNIT_TESTS	 = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,\
		   $(wildcard tests/unit/test_*.c))
UNIT_LIBS	 = $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/tests/%: tests/unit/%.c $(LIBBROKERD) $(LIBSTORAGED) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(LIBBROKERD) $(LIBSTORAGED) $(LIBCOMMON) $(UNIT_LIBS) \
	    $(PKG_LIBS) $(AUTH_LIBS) $(DB_LIBS)

# tlsproxy's tests link its library and OpenSSL.
TLSPROXY_TESTS	 = $(filter $(patsubst %,$(BUILD)/tests/test_%,\
		   ws http proxy tls relay),$(UNIT_TESTS))

$(TLSPROXY_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(LIBTLSPROXY) \
    $(LIBBROKERD) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(TLS_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) \
	    -o $@ $< $(LIBTLSPROXY) $(LIBBROKERD) $(LIBCOMMON) $(UNIT_LIBS) \
	    $(TLS_LIBS) $(PKG_LIBS) $(AUTH_LIBS)

# brokerctl's file editor links its one object.
$(BUILD)/tests/test_edit: tests/unit/test_edit.c \
    $(BUILD)/obj/brokerctl/edit.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/obj/brokerctl/edit.o $(LIBCOMMON) $(UNIT_LIBS) \
	    $(PKG_LIBS) $(AUTH_LIBS)

# authd's throttle links its one object, with the test's own clock.
$(BUILD)/tests/test_throttle: tests/unit/test_throttle.c \
    $(BUILD)/obj/authd/throttle.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Iauthd $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/obj/authd/throttle.o $(LIBCOMMON) $(UNIT_LIBS) \
	    $(PKG_LIBS)

deps:
	@sh scripts/deps

test-deps:
	@sh scripts/deps test

test: test-deps
	@$(MAKE) --no-print-directory all unit-tests conf-tests \
	    integration-tests fuzz-smoke
ifneq ($(SANITIZE),1)
	@echo "== the same with ASan and UBSan ($(BUILD)/san)"
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san SANITIZE=1 all \
	    unit-tests conf-tests integration-tests
endif

unit-tests: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

conf-tests: $(BUILD)/sbin/brokerd
	@sh tests/conf/run $(BUILD)/sbin/brokerd

ifeq ($(SANITIZE),1)
# The daemons' leak check at exit would need clone() and ptrace() in their
# sandboxes: leaks are checked by the unit tests and the fuzzers instead.
SAN_ENV		 = BROKERD_SANITIZE=1 \
		   ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
		   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
endif

integration-tests: all $(BUILD)/bench/mqttbench $(BUILD)/bench/floor
	@$(SAN_ENV) /usr/bin/python3 tests/integration/run.py --build $(BUILD)

# libFuzzer targets, built with clang into build/fuzz.
FUZZ_TARGETS	 = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,\
		   $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC		?= clang
FUZZ_FLAGS	 = -g -O1 -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined -DFUZZING
FUZZ_SRCS	 = $(COMMON_SRCS) $(filter-out brokerd/brokerd.c,\
		   $(BROKERD_SRCS)) $(BUILD)/gen/parse.c \
		   tlsproxy/ws.c tlsproxy/http.c tlsproxy/proxy.c \
		   storaged/record.c brokerctl/edit.c
FUZZ_OBJS	 = $(patsubst %.c,$(BUILD)/fuzzobj/%.o,\
		   $(patsubst $(BUILD)/%,%,$(FUZZ_SRCS)))
LIBFUZZ		 = $(BUILD)/libfuzz.a

$(BUILD)/fuzzobj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(ALL_CPPFLAGS) \
	    -MMD -MP -c -o $@ $<

$(BUILD)/fuzzobj/%.o: %.c $(BUILD)/gen/syscallnames.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(ALL_CPPFLAGS) \
	    -MMD -MP -c -o $@ $<

$(LIBFUZZ): $(FUZZ_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIBFUZZ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(ALL_CPPFLAGS) -MMD -MP \
	    -MF $@.d -o $@ $< $(LIBFUZZ) $(TLS_LIBS) $(PKG_LIBS) $(AUTH_LIBS)

fuzz: $(FUZZ_TARGETS)

# Each target runs briefly on its seed corpus in `make test'; a crash,
# leak or timeout fails the test (its input is in build/crashes/).
FUZZ_SECONDS	?= 20
fuzz-smoke: $(FUZZ_TARGETS)
	@mkdir -p $(BUILD)/crashes; \
	for t in $(FUZZ_TARGETS); do \
	    n=$$(basename $$t); mkdir -p $(BUILD)/corpus/$$n; \
	    echo "== $$n ($(FUZZ_SECONDS)s)"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=$(BUILD)/crashes/ \
	        $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n \
	        > $(BUILD)/fuzz/$$n.log 2>&1; rc=$$?; \
	    grep -E '^stat::(number_of_executed_units|peak_rss)' \
	        $(BUILD)/fuzz/$$n.log; \
	    if [ $$rc -ne 0 ]; then tail -n 40 $(BUILD)/fuzz/$$n.log; \
	        echo "fuzz target $$n failed"; exit 1; fi; \
	done

# ---------------------------------------------------------------------
# make bench: brokerd against Debian's mosquitto, same machine, same run.

$(BUILD)/bench/mqttbench: tests/bench/mqttbench.c
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARNINGS) $(OS_CPPFLAGS) $(PKG_CFLAGS) -o $@ $< \
	    $(PKG_LIBS) $$($(PKG_CONFIG) --libs libssl libcrypto)

# The simplest relay, for the kernel's cost per delivery (the floor row).
$(BUILD)/bench/floor: tests/bench/floor.c
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARNINGS) $(OS_CPPFLAGS) $(PKG_CFLAGS) -o $@ $< \
	    $(PKG_LIBS)

bench: test-deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/mqttbench \
	    $(BUILD)/bench/floor
	@/usr/bin/python3 tests/bench/run.py --build $(BUILD) $(BENCH_ARGS)

# storaged's store alone: group commit on this disk (fsyncs per second,
# messages per fsync).  STOREBENCH_ARGS: see tests/bench/storebench.c.
$(BUILD)/bench/storebench: tests/bench/storebench.c $(LIBSTORAGED) \
    $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(LIBSTORAGED) $(LIBCOMMON) $(PKG_LIBS) $(DB_LIBS)

store-bench: $(BUILD)/bench/storebench
	@$(BUILD)/bench/storebench $(STOREBENCH_ARGS)

# ---------------------------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/run $(BUILD)

lint: test-deps
	cd man && mandoc -Tlint -Wstyle $(notdir $(MANPAGES))
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr --suppress=missingIncludeSystem \
	    -D__linux__ -D__x86_64__ -D__GNUC__ -DLIBBSD_OVERLAY \
	    --include=/usr/include/bsd/sys/queue.h \
	    --include=/usr/include/bsd/sys/tree.h \
	    -Icommon -Iipc -Ibrokerd -Itlsproxy -Iauthd -Istoraged \
	    -I$(BUILD)/gen \
	    common ipc brokerd authd storaged tlsproxy brokerctl

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0555 $(BUILD)/sbin/brokerd $(BUILD)/sbin/brokerctl \
	    $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0555 $(BUILD)/libexec/brokerd/authd \
	    $(BUILD)/libexec/brokerd/storaged \
	    $(BUILD)/libexec/brokerd/tlsproxy $(DESTDIR)$(LIBEXECDIR)/
	$(INSTALL) -m 0444 man/brokerd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0444 man/brokerd.8 man/brokerctl.8 man/tlsproxy.8 \
	    man/authd.8 man/storaged.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0444 etc/brokerd.conf $(DESTDIR)$(EXAMPLEDIR)/
	@$(MAKE) --no-print-directory install-$(SERVICE)

# The service files, with the paths of this installation.
RC_SED		 = sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
		   -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		   -e 's|@SYSTEMDDIR@|$(SYSTEMDDIR)|g' -e 's|@RCDIR@|$(RCDIR)|g'

install-systemd:
	$(INSTALL) -d $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(SYSTEMDDIR)
	$(RC_SED) rc/brokerd.service > $(BUILD)/brokerd.service
	$(INSTALL) -m 0444 $(BUILD)/brokerd.service $(DESTDIR)$(SYSTEMDDIR)/
	$(INSTALL) -m 0444 rc/brokerd.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/brokerd.conf
	$(INSTALL) -m 0444 rc/brokerd.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/brokerd.conf
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    sh scripts/users create; \
	    if command -v systemd-tmpfiles >/dev/null 2>&1; then \
	        systemd-tmpfiles --create \
	            $(TMPFILESDIR)/brokerd.conf || exit 1; fi; fi

install-openbsd: RCDIR = /etc/rc.d
install-openbsd:
	$(INSTALL) -d $(DESTDIR)$(RCDIR)
	$(RC_SED) rc/brokerd.rc > $(BUILD)/brokerd.rc
	$(INSTALL) -m 0555 $(BUILD)/brokerd.rc $(DESTDIR)$(RCDIR)/brokerd

install-freebsd: RCDIR = $(PREFIX)/etc/rc.d
install-freebsd:
	$(INSTALL) -d $(DESTDIR)$(RCDIR)
	$(RC_SED) rc/brokerd.freebsd > $(BUILD)/brokerd.freebsd
	$(INSTALL) -m 0555 $(BUILD)/brokerd.freebsd $(DESTDIR)$(RCDIR)/brokerd

install-none:

clean:
	rm -rf $(BUILD)
