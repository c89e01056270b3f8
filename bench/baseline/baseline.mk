# The "no runtime" baselines of the benchmarks (bench/baseline/): classic
# hand-written epoll servers, built from plain syscalls and pthreads only,
# and an echo server on libuv (Debian's libuv1-dev); none links libcoreio
# or its dependencies. Included by the Makefile, whose CC, CPPFLAGS,
# CFLAGS, LDFLAGS and BUILD they use.

BASELINE_BINS := $(BUILD)/bench/baseline-echo $(BUILD)/bench/baseline-http \
	$(BUILD)/bench/libuv-echo

# Explicit rules: they must win over the Makefile's $(BUILD)/bench/% pattern
# rule, which would look for bench/baseline-echo.c and link libcoreio.
BASELINE_COMMON := bench/baseline/common.c bench/baseline/common.h

$(BUILD)/bench/baseline-echo: bench/baseline/epoll_echo.c $(BASELINE_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< bench/baseline/common.c -o $@ \
		$(LDFLAGS) -lpthread

$(BUILD)/bench/baseline-http: bench/baseline/epoll_http.c $(BASELINE_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< bench/baseline/common.c -o $@ \
		$(LDFLAGS) -lpthread

$(BUILD)/bench/libuv-echo: bench/baseline/libuv_echo.c $(BASELINE_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< bench/baseline/common.c -o $@ \
		$(LDFLAGS) -luv -lpthread
