# Fuzzing (issue 6).
#
#   make fuzz                 build every libFuzzer target (clang, ASan+UBSan)
#                             into build/fuzz/ and run each for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS=fuzz_session
#   make fuzz-replay          gcc + ASan/UBSan: replay the committed seed
#                             corpus and crash reproducers (t/fuzz/corpus/,
#                             t/fuzz/crashes/) through every target; part
#                             of `make test`
#
# A run keeps its growing corpus in build/fuzz/corpus/<target>/ and what it
# finds in build/fuzz/artifacts/<target>/; the log with libFuzzer's final
# stats is build/fuzz/<target>.log.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NICE    ?= nice -n 10
FUZZ_ARGS    ?=

FUZZ_ALL     := fuzz_server fuzz_session fuzz_meta fuzz_json fuzz_mp4 \
                $(if $(wildcard src/dualcam_device.h),fuzz_device)
FUZZ_TARGETS ?= $(FUZZ_ALL)

# the largest input worth trying: fuzz_session's capture seed is ~31 KB
FUZZ_MAXLEN_fuzz_server  := 24576
FUZZ_MAXLEN_fuzz_session := 40960
FUZZ_MAXLEN_fuzz_meta    := 512
FUZZ_MAXLEN_fuzz_json    := 1024
FUZZ_MAXLEN_fuzz_device  := 8192
FUZZ_MAXLEN_fuzz_mp4     := 16384

FUZZ_CFLAGS  := -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) \
                -Isrc -It/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_HDR     := t/fuzz/fuzz.h
FUZZ_COMMON  := t/fuzz/fuzz_driver.c

FUZZ_CORE_OBJ := $(CORE_SRC:src/%.c=$(B)/fuzz/obj/%.o)
FUZZ_BIN      := $(FUZZ_ALL:%=$(B)/fuzz/%)
REPLAY_BIN    := $(FUZZ_ALL:%=$(B)/fuzz-replay/%)

.PHONY: fuzz fuzz-build fuzz-replay

$(B)/fuzz/obj/%.o: src/%.c $(CORE_HDR) | $(B)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -c $< -o $@

$(FUZZ_BIN): $(B)/fuzz/%: t/fuzz/%.c $(FUZZ_COMMON) $(FUZZ_HDR) \
        $(FUZZ_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer \
	    $< $(FUZZ_COMMON) $(FUZZ_CORE_OBJ) -o $@

$(REPLAY_BIN): $(B)/fuzz-replay/%: t/fuzz/%.c $(FUZZ_COMMON) $(FUZZ_HDR) \
        t/fuzz/replay.c $(B)/libdualcam-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(SAN) $< $(FUZZ_COMMON) t/fuzz/replay.c \
	    $(B)/libdualcam-asan.a -o $@

fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz/%)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/artifacts/$$t; \
	    case $$t in \
	    fuzz_server) max=$(FUZZ_MAXLEN_fuzz_server) ;; \
	    fuzz_session) max=$(FUZZ_MAXLEN_fuzz_session) ;; \
	    fuzz_meta) max=$(FUZZ_MAXLEN_fuzz_meta) ;; \
	    fuzz_json) max=$(FUZZ_MAXLEN_fuzz_json) ;; \
	    fuzz_mp4) max=$(FUZZ_MAXLEN_fuzz_mp4) ;; \
	    *) max=$(FUZZ_MAXLEN_fuzz_device) ;; \
	    esac; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: $(B)/fuzz/$$t.log)"; \
	    rc=0; $(FUZZ_NICE) $(B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=$$max -timeout=20 -rss_limit_mb=2048 \
	        -print_final_stats=1 \
	        -artifact_prefix=$(B)/fuzz/artifacts/$$t/ $(FUZZ_ARGS) \
	        $(B)/fuzz/corpus/$$t t/fuzz/corpus/$$t \
	        > $(B)/fuzz/$$t.log 2>&1 || rc=$$?; \
	    grep -E '^#[0-9]+[[:space:]].*cov:' $(B)/fuzz/$$t.log | tail -1 || true; \
	    grep -E '^Done [0-9]+ runs' $(B)/fuzz/$$t.log || true; \
	    if [ $$rc -ne 0 ]; then \
	        tail -60 $(B)/fuzz/$$t.log; \
	        echo "fuzz: $$t FAILED, see $(B)/fuzz/artifacts/$$t/"; \
	        exit 1; \
	    fi; \
	done

fuzz-replay: $(REPLAY_BIN)
	@set -e; for t in $(FUZZ_ALL); do \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	        $(B)/fuzz-replay/$$t t/fuzz/corpus/$$t t/fuzz/crashes/$$t; \
	done

TEST_EXTRA += fuzz-replay
