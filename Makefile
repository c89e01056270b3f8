# coreio — build, test, bench, demo, deps, install.
#
#   make                      build/libcoreio.a, build/libcoreio.so, bench
#   make test                 the Criterion suite on both backends
#   make test SAN=address,undefined   ... under ASan+UBSan (build/san-*)
#   make test SAN=thread      ... under TSan
#   make test CORO=ucontext   ... with the portable context switch
#   make bench / make demo    the benchmark suite (demo: ~1 minute headline)
#   make deps                 apt-get install what is missing (root)
#   make install PREFIX=/usr/local
#   make clean

VERSION := 0.1.0
PREFIX ?= /usr/local
SAN ?=
CORO ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

CC ?= cc
CXX ?= c++

# Variant builds never share objects with the default one.
comma := ,
BUILD := build
ifneq ($(SAN),)
BUILD := build/san-$(subst $(comma),-,$(SAN))
endif
ifeq ($(CORO),ucontext)
BUILD := $(BUILD)/ucontext
endif

WARN := -Wall -Wextra -Werror
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fPIC -fstack-clash-protection
LDLIBS := -luring -lhttp_parser -lpthread

ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SAN)
else
# jemalloc is the allocator of the design; sanitizers bring their own, and
# the two must not both replace malloc.
LDLIBS += -ljemalloc
endif
ifeq ($(CORO),ucontext)
CPPFLAGS += -DCIO_CORO_UCONTEXT
endif

SRCS := $(wildcard runtime/*.c runtime/*.S io/*.c sync/*.c)
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(SRCS))
DEPFILES := $(OBJS:.o=.d)

PUBLIC_HEADERS := runtime/common.h runtime/loop.h runtime/future.h \
	runtime/task.h
PUBLIC_HEADERS += $(wildcard runtime/combinators.h runtime/timeout.h \
	runtime/task_group.h)
PUBLIC_HEADERS += io/file.h io/socket.h
PUBLIC_HEADERS += runtime/executor.h io/dns.h
PUBLIC_HEADERS += io/stream.h io/server.h
PUBLIC_HEADERS += runtime/chan.h
PUBLIC_HEADERS += runtime/shard.h runtime/signal.h
PUBLIC_HEADERS += io/http.h io/http_server.h io/http_static.h \
	io/http_client.h io/url.h
PUBLIC_HEADERS += sync/lock.h sync/event.h sync/cond.h sync/sem.h \
	sync/barrier.h sync/queue.h

TEST_SRCS := $(wildcard tests/test_*.c)
# Criterion cannot start under TSan (see tests/shim/criterion/criterion.h);
# TSan builds compile the same tests against a stand-in runner.
ifneq ($(findstring thread,$(SAN)),)
TEST_CPPFLAGS := -Itests/shim
TEST_RUNNER := tests/shim/runner.c
TEST_LIBS :=
else
TEST_CPPFLAGS :=
TEST_RUNNER :=
TEST_LIBS := -lcriterion
endif
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS := $(wildcard tests/helpers/*.c)

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

# Programs: apps/<dir>/<name>_main.c is the program <name> (underscores
# become dashes); the other .c files of <dir> are linked into each.
APP_MAINS := $(wildcard apps/*/*_main.c)
APP_BINS := $(foreach m,$(APP_MAINS),$(BUILD)/apps/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(m)))))

LIB_A := $(BUILD)/libcoreio.a
LIB_SO := $(BUILD)/libcoreio.so

.PHONY: all lib test test-run check-headers check-exports check-install bench demo deps \
	deps-if-missing install clean

all: lib $(BENCH_BINS) $(APP_BINS)

lib: $(LIB_A) $(LIB_SO)

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(OBJS) coreio.map
	$(CC) -shared -Wl,-soname,libcoreio.so.0 \
		-Wl,--version-script=coreio.map $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

# Tests link the static library so they can reach cio__ internals.
# App tests may #include an app's sources, so those are dependencies too.
$(BUILD)/tests/%: tests/%.c $(TEST_HELPERS) $(TEST_RUNNER) $(LIB_A) \
		$(wildcard tests/helpers/*.h apps/*/*.c apps/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -Itests \
		-DTH_BUILD_DIR='"$(abspath $(BUILD))"' $< $(TEST_HELPERS) \
		$(TEST_RUNNER) -o $@ $(LDFLAGS) $(LIB_A) $(TEST_LIBS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIB_A) $(LDLIBS)

define app_rule
$(BUILD)/apps/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(1)))): $(1) \
		$(filter-out %_main.c,$(wildcard $(dir $(1))*.c)) \
		$(wildcard $(dir $(1))*.h) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(1) \
		$(filter-out %_main.c,$(wildcard $(dir $(1))*.c)) -o $$@ \
		$$(LDFLAGS) $$(LIB_A) $$(LDLIBS)
endef
$(foreach m,$(APP_MAINS),$(eval $(call app_rule,$(m))))

# On a fresh machine `make test` is the first command: install first.
test:
	@$(MAKE) --no-print-directory deps-if-missing
	@$(MAKE) --no-print-directory test-run

test-run: $(TEST_BINS) $(APP_BINS) $(BENCH_BINS) check-headers check-exports check-install
	@set -e; failed=0; \
	for t in $(TEST_BINS); do \
		for be in uring epoll; do \
			echo "== $$t [$$be]"; \
			CIO_BACKEND=$$be $$t --jobs=$(JOBS) || failed=1; \
		done; \
	done; \
	if [ $$failed -ne 0 ]; then echo "TESTS FAILED"; exit 1; fi; \
	echo "all tests passed ($(BUILD))"

# Every public header compiles on its own, as C11 and as C++.
check-headers: $(PUBLIC_HEADERS) coreio.h
	@mkdir -p $(BUILD)/hdr
	@set -e; for h in $^; do \
		printf '#include "%s"\n' $$h > $(BUILD)/hdr/one.c; \
		$(CC) -std=gnu11 $(WARN) -I. -fsyntax-only $(BUILD)/hdr/one.c; \
		$(CXX) -x c++ -std=c++17 $(WARN) -I. -fsyntax-only $(BUILD)/hdr/one.c; \
	done; echo "headers: each compiles alone as C and C++"

# The shared library exports cio_* and nothing else.
check-exports: $(LIB_SO)
	@bad=$$(nm -D --defined-only $(LIB_SO) | awk '{print $$3}' | \
		grep -v -E '^cio_[^_]' | grep -v -E '^(_init|_fini)$$' || true); \
	if [ -n "$$bad" ]; then echo "unexpected exports: $$bad"; exit 1; fi; \
	echo "exports: only cio_* symbols"

# A staged `make install`, and a program built against it with pkg-config,
# linked both ways.
STAGE := $(abspath $(BUILD)/stage)
check-install: lib
	@rm -rf $(STAGE)
	@$(MAKE) --no-print-directory install PREFIX=$(STAGE) >/dev/null
	@set -e; export PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig; \
	$(CC) $(CFLAGS) tests/install/hello.c $$(pkg-config --cflags coreio) \
		-o $(BUILD)/hello-shared $(LDFLAGS) $$(pkg-config --libs coreio); \
	LD_LIBRARY_PATH=$(STAGE)/lib $(BUILD)/hello-shared >/dev/null; \
	$(CC) $(CFLAGS) tests/install/hello.c $$(pkg-config --cflags coreio) \
		-o $(BUILD)/hello-static $(LDFLAGS) $(STAGE)/lib/libcoreio.a $(LDLIBS); \
	$(BUILD)/hello-static >/dev/null; \
	echo "install: headers, libraries and coreio.pc work (shared and static)"

# The full suite (~20 minutes, see bench/README.md): results in
# bench/results/ and the README's performance section.
bench:
	@$(MAKE) --no-print-directory deps-if-missing
	@$(MAKE) --no-print-directory all
	python3 bench/suite.py full --build $(BUILD)

# The headline comparison in about a minute, printed as a table.
demo:
	@$(MAKE) --no-print-directory deps-if-missing
	@$(MAKE) --no-print-directory all
	@python3 bench/suite.py demo --build $(BUILD)

# The library's own, then the real peers the tests talk to, then the peers
# the benchmarks measure against (libuv for bench/baseline's libuv server).
DEPS_PKGS := liburing-dev libjemalloc-dev libcriterion-dev libhttp-parser-dev \
	pkg-config nginx curl netcat-openbsd unicode-data python3 clang \
	libclang-rt-dev \
	wrk fio aria2 gnuplot-nox libuv1-dev

deps:
	@missing=""; \
	for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all installed"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "make deps: missing:$$missing"; \
		echo "run as root: apt-get install -y$$missing"; exit 1; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y $$missing || \
		{ apt-get update && apt-get install -y $$missing; }

deps-if-missing:
	@for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'install ok installed' || { $(MAKE) --no-print-directory deps; exit $$?; }; \
	done

install: lib $(APP_BINS)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin
	$(if $(APP_BINS),install -m 755 $(APP_BINS) $(DESTDIR)$(PREFIX)/bin/)
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libcoreio.so.$(VERSION)
	ln -sf libcoreio.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcoreio.so.0
	ln -sf libcoreio.so.0 $(DESTDIR)$(PREFIX)/lib/libcoreio.so
	install -m 644 coreio.h $(DESTDIR)$(PREFIX)/include/coreio.h
	for h in $(PUBLIC_HEADERS); do \
		install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/coreio/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' coreio.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/coreio.pc

clean:
	rm -rf build

include tests/fuzz/fuzz.mk
# The classic epoll servers (no runtime) the benchmarks compare against.
include bench/baseline/baseline.mk
# (After the includes: prerequisites are expanded as the line is read.)
all: $(BASELINE_BINS)
test-run: $(BASELINE_BINS)
# With clang installed, the suite runs the fuzz target for a bounded time.
test-run: $(FUZZ_TEST_PREREQ)

-include $(DEPFILES)
