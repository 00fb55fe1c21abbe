#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   prometheus_rules_test.sh - the shipped alert rules pass Debian's promtool
#
# DESCRIPTION
#   `promtool check rules` on examples/prometheus/smtpscreen-alerts.yml and
#   `promtool test rules` with the fixtures of tests/prometheus/alerts-test.yml
#   (each alert fires on its fixture series, not on a healthy one). That the
#   rules name series a daemon emits is metrics_test.sh's part (live scrapes).
#
# CONTRACT
#   prometheus_rules_test.sh BUILD_DIR; SRCDIR = the source tree. Exit 0 pass,
#   1 fail (promtool missing is a failure: scripts/install-deps installs it).
#
# THREADING
#   Plain bash.
E2E_NAME=prometheus_rules_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
SRC=${SRCDIR:-$HERE/../..}

e2e_init prometheus_rules
e2e_require_cmd promtool
out=$(promtool check rules "$SRC/examples/prometheus/smtpscreen-alerts.yml" 2>&1) ||
	e2e_fail "promtool check rules: $out"
echo "$out" | grep -q "SUCCESS: [1-9][0-9]* rules found" || e2e_fail "promtool check rules: $out"
out=$(cd "$SRC/tests/prometheus" && promtool test rules alerts-test.yml 2>&1) ||
	e2e_fail "promtool test rules: $out"
e2e_log "alert rules: $(echo "$out" | tr '\n' ' ')"
