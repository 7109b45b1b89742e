# `make bench`: benchmarks against the raw sink (bench/run.py, issue 5).
# Not part of `make test`; writes bench/RESULTS.md.
#
#   make bench                    everything, ~10 minutes
#   make bench BENCH_ARGS="--only crc,one"   a subset (see bench/run.py -h)

BENCH_CFLAGS := -std=c99 -D_GNU_SOURCE -O2 -g $(WARN)
BENCH_BIN    := $(B)/bench/sink $(B)/bench/rawsend $(B)/bench/crc_bench \
                $(B)/bench/core_bench $(B)/bench/mp4_bench \
                $(B)/bench/fsyncloop
BENCH_ARGS   ?=

.PHONY: bench bench-tools

$(B)/bench/sink: bench/sink.c | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@

$(B)/bench/fsyncloop: bench/fsyncloop.c | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@

$(B)/bench/rawsend: bench/rawsend.c $(CORE_HDR) $(B)/libdualcam.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Isrc $< $(B)/libdualcam.a -o $@

$(B)/bench/crc_bench: bench/crc_bench.c $(CORE_HDR) $(B)/libdualcam.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Isrc $< $(B)/libdualcam.a -o $@

$(B)/bench/core_bench: bench/core_bench.c $(CORE_HDR) $(B)/libdualcam.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Isrc $< $(B)/libdualcam.a -o $@

$(B)/bench/mp4_bench: bench/mp4_bench.c $(CORE_HDR) $(B)/libdualcam.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Isrc $< $(B)/libdualcam.a -o $@

bench-tools: $(BENCH_BIN)

bench: deps
	$(MAKE) all bench-tools
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# t/test_bench_tools.py checks what rawsend and the sink verify: built
# before either integration suite (test-asan comes first in TEST_EXTRA)
TEST_EXTRA += bench-tools
test-asan test-integration: bench-tools
