# The operator's page (issue 13): the HTML compiled into the module, and
# the browser that tests it.
#
#   make page-deps   Debian's chromium, node/npm when missing, and
#                    puppeteer-core into build/npm (run by make test)
#   make test-page   t/test_page.py only

PUPPETEER_VERSION := 24.43.1
NPM_DIR           := $(B)/npm

DEPS_PKGS += chromium

# editing the page rebuilds the module; a new config.make configures again
$(B)/nginx/Makefile: config.make
$(B)/ngx_stream_dualcam_module.so: src/dualcam_page.html src/dualcam_page.sh

.PHONY: page-deps test-page

# node and npm: any that are there (nodesource or Debian); Debian's when
# none is.  puppeteer-core only drives the chromium package, it downloads
# no browser (it has no install script that does).
page-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	    echo "installing: nodejs npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@if ! dpkg-query -W -f='$${Status}' chromium 2>/dev/null \
	        | grep -q 'install ok installed'; then \
	    echo "installing: chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends chromium; \
	fi
	@have=$$(node -p 'try { require("./$(NPM_DIR)/node_modules/" + \
	        "puppeteer-core/package.json").version } catch (e) { "" }'); \
	if [ "$$have" != "$(PUPPETEER_VERSION)" ]; then \
	    echo "npm install puppeteer-core@$(PUPPETEER_VERSION) into $(NPM_DIR)"; \
	    mkdir -p $(NPM_DIR) && \
	    npm install --prefix $(NPM_DIR) --no-audit --no-fund \
	        --loglevel=error puppeteer-core@$(PUPPETEER_VERSION); \
	else echo "page-deps: puppeteer-core $(PUPPETEER_VERSION) installed"; fi

TEST_EXTRA += page-deps

# both suites run t/test_page.py: the browser first (make test names
# test-asan before page-deps in TEST_EXTRA)
test-asan test-integration: page-deps

test-page: page-deps all
	$(PYTHON) t/run.py t/test_page.py

# the same for the sanitized build of mk/asan.mk
$(ASAN_NGX)/Makefile: config.make
$(ASAN_MODULE): src/dualcam_page.html src/dualcam_page.sh
