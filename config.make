# Sourced by nginx's configure after it wrote the Makefile (auto/make):
# the rule that makes the operator's page a C source, so that editing
# src/dualcam_page.html rebuilds the module without configuring again.

cat << END                                            >> $NGX_MAKEFILE

$DUALCAM_PAGE_C:	$ngx_addon_dir/src/dualcam_page.html \\
		$ngx_addon_dir/src/dualcam_page.sh
	sh $ngx_addon_dir/src/dualcam_page.sh \\
		$ngx_addon_dir/src/dualcam_page.html \$@

END
