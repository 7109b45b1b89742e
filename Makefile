# ngx_stream_dualcam — build, test, run, bench.
#
#   make deps     install the Debian packages everything below needs
#   make          build/ngx_stream_dualcam_module.so and build/dualcam-sim
#   make test     deps, build, unit tests (plain and ASan+UBSan), integration
#   make run      quick start: nginx in the foreground with
#                 conf-examples/quickstart.conf
#   make bench    benchmarks (not part of test)
#   make deb      the Debian package libnginx-mod-stream-dualcam in build/deb/
#                 (mk/deb.mk; `make test` installs and tests it)

SHELL      := /bin/bash
B          := build
NGX_SRC    := /usr/share/nginx/src
CC         ?= cc
PYTHON     ?= python3

WARN       := -Wall -Wextra -Werror
CFLAGS_CORE := -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g $(WARN) -Isrc
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all

CORE_SRC   := $(sort $(wildcard src/dualcam_*.c))
CORE_HDR   := $(wildcard src/dualcam*.h)
UNIT_SRC   := $(sort $(wildcard t/unit/*.c))
SIM_SRC    := $(sort $(wildcard sim/*.c))
MOD_SRC    := config ngx_stream_dualcam_module.c $(wildcard src/ngx_*.c) \
              $(wildcard src/ngx_*.h) $(CORE_SRC) $(CORE_HDR)

DEPS_PKGS  := nginx-core libnginx-mod-stream nginx-dev check libssl-dev \
              libpcre2-dev zlib1g-dev pkg-config python3 openssl \
              clang libclang-rt-14-dev valgrind

# the Debian package's hardening flags (debian/rules); empty here
EXTRA_CFLAGS  ?=
EXTRA_LDFLAGS ?=

CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || \
              echo -lcheck -lsubunit -lm -lrt -pthread)

.PHONY: all deps module sim mp4 unit unit-asan test test-unit test-integration \
        run clean FORCE

all: module sim mp4

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi

$(B):
	mkdir -p $(B)

# --- the core, plain and sanitized -----------------------------------------

$(B)/core/%.o: src/%.c $(CORE_HDR) | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) $(EXTRA_CFLAGS) -c $< -o $@

$(B)/core-asan/%.o: src/%.c $(CORE_HDR) | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) $(SAN) -c $< -o $@

CORE_OBJ      := $(CORE_SRC:src/%.c=$(B)/core/%.o)
CORE_ASAN_OBJ := $(CORE_SRC:src/%.c=$(B)/core-asan/%.o)

$(B)/libdualcam.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libdualcam-asan.a: $(CORE_ASAN_OBJ)
	rm -f $@ && ar rcs $@ $^

# --- unit tests (libcheck) --------------------------------------------------

# every t/unit/test_NAME.c is listed as DUALCAM_SUITE(NAME) in test_main.c
# (a listed suite without its file fails the link: the references are strong)
UNIT_SUITES = $(filter-out %/test_main.c,$(wildcard t/unit/test_*.c))
UNIT_LISTED = for f in $(UNIT_SUITES); do \
    n=$$(basename $$f .c | sed 's/^test_//'); \
    grep -q "DUALCAM_SUITE($$n)" t/unit/test_main.c || { \
        echo "$$f: no DUALCAM_SUITE($$n) line in t/unit/test_main.c"; \
        exit 1; }; done

# the list of unit sources: a deleted file relinks (and fails) at once
$(B)/unit.list: FORCE | $(B)
	@echo $(UNIT_SRC) > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp \
	    || mv -f $@.tmp $@

$(B)/test-unit: $(UNIT_SRC) $(wildcard t/unit/*.h) $(B)/libdualcam.a \
    $(B)/unit.list
	@$(UNIT_LISTED)
	$(CC) $(CFLAGS_CORE) -It/unit $(UNIT_SRC) $(B)/libdualcam.a \
	    $(CHECK_LIBS) -o $@

$(B)/test-unit-asan: $(UNIT_SRC) $(wildcard t/unit/*.h) \
    $(B)/libdualcam-asan.a $(B)/unit.list
	@$(UNIT_LISTED)
	$(CC) $(CFLAGS_CORE) $(SAN) -It/unit $(UNIT_SRC) \
	    $(B)/libdualcam-asan.a $(CHECK_LIBS) -o $@

unit: $(B)/test-unit
	cd t/unit && CK_FORK=yes $(abspath $(B))/test-unit

unit-asan: $(B)/test-unit-asan
	cd t/unit && CK_FORK=no ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 $(abspath $(B))/test-unit-asan

# --- the simulator ----------------------------------------------------------

$(B)/dualcam-sim: $(SIM_SRC) $(wildcard sim/*.h) $(B)/libdualcam.a
	$(CC) $(CFLAGS_CORE) $(EXTRA_CFLAGS) -D_GNU_SOURCE -Isim $(SIM_SRC) \
	    $(B)/libdualcam.a -lssl -lcrypto -lm $(EXTRA_LDFLAGS) -o $@

sim: $(B)/dualcam-sim

# --- dualcam-mp4, the remuxer for archives ----------------------------------

$(B)/dualcam-mp4: tools/dualcam-mp4.c $(B)/libdualcam.a
	$(CC) $(CFLAGS_CORE) $(EXTRA_CFLAGS) tools/dualcam-mp4.c \
	    $(B)/libdualcam.a $(EXTRA_LDFLAGS) -o $@

mp4: $(B)/dualcam-mp4

# --- the nginx module -------------------------------------------------------

$(B)/nginx/Makefile: config debian/changelog
	@mkdir -p $(B)/nginx
	cd $(NGX_SRC) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-stream \
	        --with-stream_ssl_module --add-dynamic-module=$(CURDIR) \
	        --builddir=$(abspath $(B))/nginx $(NGX_EXTRA) \
	        > $(abspath $(B))/nginx/configure.log 2>&1 \
	    || { tail -30 $(abspath $(B))/nginx/configure.log; exit 1; }

$(B)/ngx_stream_dualcam_module.so: $(B)/nginx/Makefile $(MOD_SRC)
	cd $(NGX_SRC) && $(MAKE) -s -f $(abspath $(B))/nginx/Makefile modules
	cp $(B)/nginx/ngx_stream_dualcam_module.so $@.tmp && mv -f $@.tmp $@

module: $(B)/ngx_stream_dualcam_module.so

# --- tests ------------------------------------------------------------------

test-unit: unit unit-asan

test-integration: all
	$(PYTHON) t/run.py

test: deps
	$(MAKE) all
	$(MAKE) test-unit $(TEST_EXTRA)
	$(MAKE) test-integration

run: deps all
	bash conf-examples/run-quickstart.sh

clean:
	rm -rf $(B)

# fuzzing, benchmarks, sanitized nginx: each in its own file, each may add
# a target to TEST_EXTRA (run by `make test` after the unit tests)
include $(sort $(wildcard mk/*.mk))
