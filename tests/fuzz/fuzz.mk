# make fuzz: libFuzzer targets, built with clang.
#
#   make fuzz                  build, then fuzz the HTTP request path for
#                              FUZZ_TIME seconds (default 30)
#   make fuzz FUZZ_TIME=600    longer
#   make fuzz-build            only build $(BUILD)/fuzz/http_request_fuzz
#
# The library's sources are compiled again with clang under
# -fsanitize=fuzzer-no-link,address,undefined into $(BUILD)/fuzz/ (so
# that coverage reaches the server code, not only the target), and linked
# with the target under -fsanitize=fuzzer,address,undefined. New inputs go
# to $(BUILD)/fuzz/corpus/http_request; the seeds in
# tests/fuzz/corpus/http_request are read, never written. A crash leaves
# its input in $(BUILD)/fuzz/ (crash-*), to replay with
# `$(BUILD)/fuzz/http_request_fuzz <file>`.
#
# FUZZ_TEST_PREREQ is the fuzz binary when clang is here, else empty: the
# test suite (tests/test_http_fuzz.c) runs the binary when it exists.

.PHONY: fuzz fuzz-build

FUZZ_CC ?= clang
FUZZ_TIME ?= 30
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
FUZZ_OBJS := $(patsubst %,$(FUZZ_DIR)/obj/%.o,$(SRCS))
FUZZ_LIB := $(FUZZ_DIR)/libcoreio-fuzz.a
FUZZ_BIN := $(FUZZ_DIR)/http_request_fuzz
FUZZ_SEEDS := tests/fuzz/corpus/http_request
FUZZ_HAVE_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)
FUZZ_TEST_PREREQ := $(if $(FUZZ_HAVE_CC),$(FUZZ_BIN))

$(FUZZ_DIR)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN): tests/fuzz/http_request_fuzz.c $(FUZZ_LIB)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer,address,undefined $< $(FUZZ_LIB) -o $@ \
		-luring -lhttp_parser -lpthread

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus/http_request
	cd $(FUZZ_DIR) && ./http_request_fuzz -max_total_time=$(FUZZ_TIME) \
		-print_final_stats=1 corpus/http_request \
		$(abspath $(FUZZ_SEEDS))

-include $(FUZZ_OBJS:.o=.d)
