# Sanitized nginx runs (issue 6).
#
#   make test-asan       the module built with -fsanitize=address,undefined
#                        (nginx configured into build/nginx-asan, output
#                        build/asan/ngx_stream_dualcam_module.so), and the
#                        whole integration suite run against it in Debian's
#                        nginx with the ASan and UBSan runtimes preloaded
#   make test-valgrind   a representative subset under valgrind, one nginx
#                        process (master_process off); not part of CI
#
# test-asan is part of `make test` (TEST_EXTRA): the suite takes about as
# long as the plain one (~2.5 min here), since only the module is
# instrumented.
#
# How a finding fails a test: the runtimes are preloaded into nginx only
# (through the harness's DUALCAM_NGINX_WRAPPER, so python and the
# simulator run plain); nginx points its stderr at error.log, so an ASan
# report ("AddressSanitizer") or a UBSan one ("runtime error:") lands there
# and the harness fails the test in tearDown, as it does for [alert] and
# [crit]; a worker that ASan stops also leaves "[alert] ... exited on
# signal" or a respawn.  Leak checking is off: nginx frees its pools at
# exit only in part, by design.
#
#   make test-asan ASAN_TESTS="test_upload"   a subset
#
# Checked that it catches something: a copy of the tree with a stack
# overflow injected into dualcam_server_data(), built with
#   make test-asan ASAN_ADDON=/tmp/copy ASAN_NGX=/tmp/copy/build \
#       ASAN_MODULE=/tmp/copy/out/ngx_stream_dualcam_module.so
# fails the upload tests with "AddressSanitizer: stack-buffer-overflow" in
# error.log (see the README, "Fuzzing and sanitizers").

ASAN_NGX      := $(B)/nginx-asan
ASAN_MODULE   := $(B)/asan/ngx_stream_dualcam_module.so
# the module source tree (another one: to try an injected bug in a copy)
ASAN_ADDON    := $(CURDIR)
ASAN_NGX_ABS   = $(abspath $(ASAN_NGX))
ASAN_CC_OPT   := -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LD_OPT   := -fsanitize=address,undefined
ASAN_PRELOAD  := $(shell $(CC) -print-file-name=libasan.so):$(shell \
                   $(CC) -print-file-name=libubsan.so)
ASAN_RUNOPTS  := detect_leaks=0:abort_on_error=0:halt_on_error=1:$\
                 print_summary=1:allow_user_segv_handler=1
UBSAN_RUNOPTS := print_stacktrace=1:halt_on_error=0
ASAN_TESTS    ?=

VALGRIND_TESTS ?= -k capture_replayed -k four_files -k path_mode \
                  -k metadata_off -k garbage -k length_65535 \
                  -k bad_crc_at_every_packet -k drop_after_every_packet \
                  -k device_status_0x11 -k tls_upload
VALGRIND_OPTS  ?= --error-exitcode=99 --errors-for-leak-kinds=none \
                  --leak-check=no --track-origins=yes --num-callers=30

.PHONY: module-asan test-asan test-valgrind

$(ASAN_NGX)/Makefile: config debian/changelog
	@mkdir -p $(ASAN_NGX)
	cd $(NGX_SRC) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-stream \
	        --with-stream_ssl_module --add-dynamic-module=$(ASAN_ADDON) \
	        --builddir=$(ASAN_NGX_ABS) \
	        --with-cc-opt='$(ASAN_CC_OPT)' --with-ld-opt='$(ASAN_LD_OPT)' \
	        > $(ASAN_NGX_ABS)/configure.log 2>&1 \
	    || { tail -30 $(ASAN_NGX_ABS)/configure.log; exit 1; }

$(ASAN_MODULE): $(ASAN_NGX)/Makefile $(MOD_SRC:%=$(ASAN_ADDON)/%)
	cd $(NGX_SRC) && $(MAKE) -s -f $(ASAN_NGX_ABS)/Makefile modules
	@mkdir -p $(dir $@)
	cp $(ASAN_NGX)/ngx_stream_dualcam_module.so $@

module-asan: $(ASAN_MODULE)

test-asan: deps
	$(MAKE) all $(ASAN_MODULE)
	DUALCAM_MODULE=$(abspath $(ASAN_MODULE)) \
	DUALCAM_NGINX_WRAPPER="env LD_PRELOAD=$(ASAN_PRELOAD) \
	    ASAN_OPTIONS=$(ASAN_RUNOPTS) UBSAN_OPTIONS=$(UBSAN_RUNOPTS)" \
	    $(PYTHON) t/run.py $(ASAN_TESTS)

# valgrind: the plain module, one process; each nginx writes its report to
# build/valgrind/vg.<pid>, and any error there fails the target
VALGRIND_ERR := ^==[0-9]+== +(Invalid|Conditional|Use of|Syscall param|$\
                Mismatched|Source and destination)

test-valgrind: deps
	$(MAKE) all
	rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind && chmod 777 $(B)/valgrind
	DUALCAM_MASTER_PROCESS=off \
	DUALCAM_NGINX_WRAPPER="valgrind -q $(VALGRIND_OPTS) \
	    --log-file=$(abspath $(B))/valgrind/vg.%p" \
	    $(PYTHON) t/run.py $(VALGRIND_TESTS)
	@if grep -l -E '$(VALGRIND_ERR)' $(B)/valgrind/vg.* 2>/dev/null; then \
	    grep -h -A25 -E '$(VALGRIND_ERR)' $(B)/valgrind/vg.* | head -120; \
	    echo "valgrind: errors, see $(B)/valgrind/"; exit 1; \
	fi
	@echo "valgrind: $$(ls $(B)/valgrind | wc -l) nginx processes, no error"

TEST_EXTRA += test-asan
