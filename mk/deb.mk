# The Debian package libnginx-mod-stream-dualcam (issue 14).
#
#   make deb        install what the build needs (dpkg-dev, fakeroot,
#                   lintian, then `apt-get build-dep` of debian/control),
#                   build the package from a copy of this tree in
#                   build/deb/src with `dpkg-buildpackage -us -uc -b`, run
#                   lintian on it; the .deb lands in build/deb/
#   make test-deb   make deb, then t/deb_package.py: install into the system
#                   nginx, run, upgrade with uploads in flight, remove,
#                   purge (as root; it leaves the system as it found it).
#                   Part of `make test` (TEST_EXTRA).
#
# A copy, not the tree itself: dpkg-buildpackage writes into debian/ and
# puts its output in the parent directory, which for a worktree or a CI
# checkout is not ours.  The test is not a t/test_*.py on purpose: t/run.py
# runs those twice in `make test` (plain and under ASan), and this one
# builds and installs packages.

DEB_DIR      := $(B)/deb
DEB_TOOLS    := dpkg-dev fakeroot lintian
DEB_VERSION   = $(shell dpkg-parsechangelog -S Version)
DEB_ARCH      = $(shell dpkg --print-architecture)
DEB_FILE      = $(DEB_DIR)/libnginx-mod-stream-dualcam_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_APT      := DEBIAN_FRONTEND=noninteractive apt-get -y -qq \
                -o DPkg::Lock::Timeout=300 --no-install-recommends

.PHONY: deb deb-deps test-deb

deb-deps:
	@missing=""; for p in $(DEB_TOOLS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && $(DEB_APT) install $$missing; \
	fi
	@dpkg-checkbuilddeps >/dev/null 2>&1 || { \
	    echo "installing the build dependencies of debian/control"; \
	    $(DEB_APT) build-dep ./ || { apt-get update -qq && \
	        $(DEB_APT) build-dep ./; }; }

deb: deb-deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tar -c --exclude=./build --exclude=./var --exclude=./.git \
	    --exclude=__pycache__ --exclude=node_modules -f - . \
	    | tar -x -C $(DEB_DIR)/src -f -
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b \
	    > ../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	lintian --fail-on error,warning --info $(DEB_DIR)/*.changes
	@echo "built $(DEB_FILE)"

test-deb: deb
	DUALCAM_DEB=$(abspath $(DEB_FILE)) \
	DUALCAM_DEB_SRC=$(abspath $(DEB_DIR))/src \
	    $(PYTHON) t/run.py t/deb_package.py

TEST_EXTRA += test-deb
