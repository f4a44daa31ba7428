# podctl — plain Makefile in the spirit of git's.
#   make [all]           libpodstore (static + shared + .pc), podctl, podctl-stage1,
#                        podctl-notify (static sd_notify client bound into apps)
#   make check           unit + functional tests (installs missing deps first)
#   make check-asan      the same built with SANITIZE=address,undefined
#   make demo            run a real pod on the bundled busybox image
#   make install         PREFIX, DESTDIR, BINDIR, LIBDIR, LIBEXECDIR, INCLUDEDIR
#   make V=1             show the commands
#   make BUILDDIR=dir    build out of tree (default: build)

VERSION = 0.1.0
SOVERSION = 0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BUILDDIR ?= build

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
LDFLAGS ?=

# What must be there whatever the user passes.
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-fno-strict-aliasing -fPIC -D_GNU_SOURCE \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fstack-clash-protection \
	-Iinclude -Ilibpodstore -include libpodstore/banned.h -ffunction-sections -fdata-sections \
	-DPODCTL_VERSION='"$(VERSION)"' -DLIBEXECDIR='"$(LIBEXECDIR)"'
override LDFLAGS += -Wl,-z,relro,-z,now -Wl,--as-needed

ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -U_FORTIFY_SOURCE -O1
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

# libarchive and libnettle are dlopen()ed on first use (libpodstore/archive-dl.h,
# sha256.h): only their headers at build time; tests that build archives
# themselves link libarchive.
DEPS_PC = json-c uuid
LIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS_PC) libarchive nettle 2>/dev/null)
LIB_LIBS := $(shell $(PKG_CONFIG) --libs $(DEPS_PC) 2>/dev/null)
ARCHIVE_LIBS := $(shell $(PKG_CONFIG) --libs libarchive 2>/dev/null)
SECCOMP_LIBS := $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
override CFLAGS += $(LIB_CFLAGS)

ifeq ($(V),1)
Q =
else
Q = @
endif

LIB_SRCS := $(sort $(wildcard libpodstore/*.c))
CLI_SRCS := $(sort $(wildcard cmd/podctl/*.c))
STAGE1_SRCS := $(sort $(wildcard stage1/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILDDIR)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILDDIR)/%.o)
STAGE1_OBJS := $(STAGE1_SRCS:%.c=$(BUILDDIR)/%.o)
UNIT_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(BUILDDIR)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILDDIR)/tests/unit/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz-%.c=%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILDDIR)/tests/fuzz/replay-%)
FAULT_LIB := $(BUILDDIR)/tests/fault/libfault.so

STATIC_LIB := $(BUILDDIR)/libpodstore.a
SHARED_LIB := $(BUILDDIR)/libpodstore.so.$(SOVERSION)
PC_FILE := $(BUILDDIR)/podstore.pc
PODCTL := $(BUILDDIR)/podctl
STAGE1 := $(BUILDDIR)/podctl-stage1
NOTIFY_STATIC := $(BUILDDIR)/podctl-notify
# stage1/ holds modules (notify, probe, restart) before it has a main().
STAGE1_MAIN := $(wildcard stage1/main.c)

all: $(STATIC_LIB) $(SHARED_LIB) $(PC_FILE) $(PODCTL) $(if $(STAGE1_MAIN),$(STAGE1)) $(NOTIFY_STATIC)

$(BUILDDIR)/%.o: %.c $(wildcard include/podstore/*.h libpodstore/*.h cmd/podctl/*.h stage1/*.h tests/unit/*.h) Makefile
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Only what include/podstore/ declares is exported from the shared library:
# the library is compiled with hidden visibility and the public headers wrap
# their declarations in "#pragma GCC visibility push(default)".
# tests/check-abi.sh (run by make check) holds the line.
$(LIB_OBJS): override CFLAGS += -fvisibility=hidden

$(STATIC_LIB): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libpodstore.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)
	$(Q)ln -sf libpodstore.so.$(SOVERSION) $(BUILDDIR)/libpodstore.so

$(PC_FILE): libpodstore/podstore.pc.in Makefile
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(DEPS_PC)|' $< > $@

$(PODCTL): $(CLI_OBJS) $(STATIC_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LIB_LIBS)

# podctl-stage1 is linked static-pie when the static libraries are there
# (libc6-dev, libjson-c-dev, uuid-dev, libseccomp-dev ship them): an idle pod's
# stage1 then stays under 1 MiB resident (0.97 MiB measured, against 2.0 MiB
# dynamic, most of it libc's pages) and needs no dynamic loader at start.
# STAGE1_STATIC=0 links it like the rest; sanitizer builds always do.
# Objects get a section per function so stage1's link drops what it does
# not call (the parsers it shares with the CLI): ~64 KiB less resident.
have_static = $(filter /%,$(shell $(CC) -print-file-name=$(1) 2>/dev/null))
STAGE1_STATIC ?= $(if $(and $(call have_static,libc.a),$(call have_static,libjson-c.a),$(call have_static,libuuid.a),$(call have_static,libseccomp.a)),1,0)
ifneq ($(SANITIZE),)
STAGE1_STATIC := 0
endif
ifeq ($(STAGE1_STATIC),1)
STAGE1_LINK = -static-pie $(shell $(PKG_CONFIG) --static --libs json-c uuid libseccomp 2>/dev/null)
else
STAGE1_LINK = $(LIB_LIBS) $(SECCOMP_LIBS)
endif

$(STAGE1): $(STAGE1_OBJS) $(STATIC_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--gc-sections -o $@ $(STAGE1_OBJS) $(STATIC_LIB) $(STAGE1_LINK)

# A static sd_notify client with libc only: stage1 binds it into every app
# as /.podctl/notify, whatever libraries the image has. Never sanitized
# (the sanitizer runtimes do not link statically).
NOTIFY_STATIC_SRCS := cmd/notify/main.c libpodstore/sdnotify.c
$(NOTIFY_STATIC): $(NOTIFY_STATIC_SRCS) libpodstore/sdnotify.h Makefile
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@ (static)")
	$(Q)$(CC) $(filter-out -fsanitize=% -U_FORTIFY_SOURCE,$(CFLAGS)) -static \
		$(filter-out -fsanitize=%,$(LDFLAGS)) -o $@ $(NOTIFY_STATIC_SRCS)

# Unit tests of stage1 modules link those objects directly.
$(BUILDDIR)/tests/unit/test-notify: $(BUILDDIR)/stage1/notify.o
$(BUILDDIR)/tests/unit/test-inroot: $(BUILDDIR)/stage1/inroot.o
$(BUILDDIR)/tests/unit/test-probe: $(BUILDDIR)/stage1/probe.o $(BUILDDIR)/stage1/restart.o
$(BUILDDIR)/tests/unit/test-readyproto: $(BUILDDIR)/stage1/readyproto.o

$(BUILDDIR)/tests/unit/%: $(BUILDDIR)/tests/unit/%.o $(UNIT_HELPER_OBJS) $(STATIC_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(STATIC_LIB) $(LIB_LIBS) $(ARCHIVE_LIBS) $(CMOCKA_LIBS)

# Fuzz targets: replayed over their corpus by `make check` (a plain main()
# feeding each file), fuzzed for real by `make fuzz` (clang's libFuzzer).
# The sd_notify parser lives in stage1.
$(BUILDDIR)/tests/fuzz/fuzz-sdnotify.o: override CFLAGS += -Istage1
$(BUILDDIR)/tests/fuzz/replay-sdnotify: $(BUILDDIR)/stage1/notify.o
FUZZ_EXTRA_sdnotify = stage1/notify.c

$(BUILDDIR)/tests/fuzz/replay-%: $(BUILDDIR)/tests/fuzz/fuzz-%.o $(BUILDDIR)/tests/fuzz/replay.o $(STATIC_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(STATIC_LIB) $(LIB_LIBS)

FUZZ_SECONDS ?= 60
fuzz:
	@$(MAKE) --no-print-directory BUILDDIR=$(BUILDDIR)-fuzz CC=clang STAGE1_STATIC=0 \
		SANITIZE=address,undefined CFLAGS='-O1 -g -fsanitize=fuzzer-no-link' $(BUILDDIR)-fuzz/libpodstore.a
	@set -e; for n in $(FUZZ_NAMES); do \
		clang -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Ilibpodstore -Istage1 \
			$(LIB_CFLAGS) -o $(BUILDDIR)-fuzz/fuzz-$$n tests/fuzz/fuzz-$$n.c \
			$$(test $$n = sdnotify && echo $(FUZZ_EXTRA_sdnotify)) \
			$(BUILDDIR)-fuzz/libpodstore.a $(LIB_LIBS); \
		mkdir -p $(BUILDDIR)-fuzz/corpus-$$n; \
		$(BUILDDIR)-fuzz/fuzz-$$n -max_total_time=$(FUZZ_SECONDS) \
			$(BUILDDIR)-fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
	done

# --- tests ------------------------------------------------------------------

deps:
	@$(PKG_CONFIG) --exists $(DEPS_PC) libarchive nettle libseccomp cmocka 2>/dev/null && command -v busybox >/dev/null \
		|| scripts/install-deps

unit-tests: $(UNIT_BINS) $(REPLAY_BINS) $(FAULT_LIB)

# The fault-injection shim (tests/fault/fault.c): test-only, never installed,
# built without the project's CFLAGS (it defines libc's own symbols).
$(FAULT_LIB): tests/fault/fault.c Makefile
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -shared -fPIC -O1 -g -Wall -Wextra -Werror -o $@ $< -ldl

check-unit: unit-tests check-tree
	@BUILDDIR=$(BUILDDIR) tests/unit/run $(UNIT_BINS)
	@set -e; for n in $(FUZZ_NAMES); do $(BUILDDIR)/tests/fuzz/replay-$$n tests/fuzz/corpus/$$n/*; done

# stage1 is a tree: no module refers to a symbol main.c defines.
check-tree: $(if $(STAGE1_MAIN),$(STAGE1))
	@scripts/check-stage1-tree $(BUILDDIR)

# The shared library exports exactly what include/podstore/ declares, each
# function documented in its header.
check-abi: $(SHARED_LIB)
	@tests/check-abi.sh $(BUILDDIR)/libpodstore.so include/podstore

check-functional: all $(FAULT_LIB)
	@BUILDDIR=$(abspath $(BUILDDIR)) tests/functional/run

# The torture run (tests/stress/torture.sh): 10 minutes by default,
# STRESS_ARGS=--duration=SECONDS to change; make check runs a 20 s smoke.
stress: all
	@BUILDDIR=$(abspath $(BUILDDIR)) tests/stress/torture.sh $(STRESS_ARGS)

# Dependencies are checked in a sub-make so the pkg-config flags above are
# computed after they are installed.
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all unit-tests
	@$(MAKE) --no-print-directory check-abi check-unit check-functional

# The library, the CLI and the unit tests run sanitized. stage1 does not:
# its apps start as clone(CLONE_VM|CLONE_VFORK) children on a stack of their
# own, which ASan cannot follow (it warns on every app's stderr and aborts),
# so the functional tests run the regular podctl-stage1.
check-asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILDDIR=$(BUILDDIR)-asan SANITIZE=address,undefined \
		CFLAGS='-O1 -g' all unit-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		PODCTL_TEST_STAGE1=$(abspath $(BUILDDIR))/podctl-stage1 \
		PODCTL_TEST_LDFLAGS=-fsanitize=address,undefined \
		$(MAKE) --no-print-directory BUILDDIR=$(BUILDDIR)-asan SANITIZE=address,undefined \
		CFLAGS='-O1 -g' check-unit check-functional

check-valgrind:
	@$(MAKE) --no-print-directory deps all unit-tests
	@VALGRIND=1 BUILDDIR=$(BUILDDIR) tests/unit/run $(UNIT_BINS)

bench: all
	@BUILDDIR=$(abspath $(BUILDDIR)) bench/run

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@BUILDDIR=$(abspath $(BUILDDIR)) scripts/demo

# --- install ----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/podctl $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/podstore $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(PODCTL) $(DESTDIR)$(BINDIR)/podctl
	install -m 0755 $(STAGE1) $(DESTDIR)$(LIBEXECDIR)/podctl/podctl-stage1
	install -m 0755 $(NOTIFY_STATIC) $(DESTDIR)$(LIBEXECDIR)/podctl/podctl-notify
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libpodstore.a
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libpodstore.so.$(SOVERSION)
	ln -sf libpodstore.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libpodstore.so
	install -m 0644 include/podstore/*.h $(DESTDIR)$(INCLUDEDIR)/podstore/
	install -m 0644 $(PC_FILE) $(DESTDIR)$(PKGCONFIGDIR)/podstore.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/podctl $(DESTDIR)$(LIBEXECDIR)/podctl/podctl-stage1 \
		$(DESTDIR)$(LIBEXECDIR)/podctl/podctl-notify \
		$(DESTDIR)$(LIBDIR)/libpodstore.a $(DESTDIR)$(LIBDIR)/libpodstore.so \
		$(DESTDIR)$(LIBDIR)/libpodstore.so.$(SOVERSION) $(DESTDIR)$(PKGCONFIGDIR)/podstore.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/podstore
	-rmdir $(DESTDIR)$(LIBEXECDIR)/podctl

clean:
	rm -rf $(BUILDDIR) $(BUILDDIR)-asan

.PHONY: stress fuzz all deps unit-tests check check-tree check-abi check-unit check-functional check-asan check-valgrind \
	bench demo install uninstall clean
.DELETE_ON_ERROR:
# Keep the objects of unit tests and fuzz replays between runs.
.SECONDARY:
