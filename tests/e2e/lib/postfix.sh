# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   postfix.sh - a private Postfix instance (own config, queue, log) for the e2e tests
#
# DESCRIPTION
#   Instantiates main.cf/master.cf (and any other *.in file) from a template directory
#   into DIR/etc, with queue, data directory and log file under DIR, starts the master
#   inside a network namespace, and stops it again from the cleanup stack (postfix
#   stop, then SIGKILL to the master PID if it does not go away). The log is the
#   instance's maillog_file (postlogd), DIR/maillog; templates must set
#   queue_directory = @DIR@/spool, data_directory = @DIR@/data,
#   maillog_file = @DIR@/maillog and maillog_file_prefixes = @DIR@.
#   Requires common.sh (and netns.sh for pf_start in a namespace).
#
# CONTRACT
#   pf_instance_create DIR TEMPLATE_DIR KEY=VALUE...
#                          render TEMPLATE_DIR/*.in into DIR/etc (@DIR@ is set to DIR)
#                          and create DIR/spool; e2e_fail on error
#   pf_start NS DIR        run postfix check (creates the queue and data directories)
#                          and start the master in namespace NS (NS "" = current one;
#                          inet_interfaces must exist there, or Postfix exits with only
#                          a syslog message); registers pf_stop on the cleanup stack;
#                          e2e_fail on error
#   pf_stop NS DIR         stop the instance; returns 0 once the master is gone
#   pf_master_pid DIR      print the master's PID (from DIR/spool/pid/master.pid)
#   pf_conf DIR            print the path of DIR's main.cf
#   pf_maillog DIR         print the path of DIR's log file
#   pf_wait_log DIR ERE [SECS]  wait until the log has a line matching ERE
#   pf_sent DIR SENDER_ERE print how many messages from a sender matching SENDER_ERE
#                          (as qmgr logs from=<...>) were delivered (status=sent)
#   pf_template_seat DIR [steer]  a plain-smtpd template turned into postscreen's
#                          master.cf layout (smtp inet -> smtpd pass), in place;
#                          steer: smtp inet kept, smtpd pass added
#   pf_seat_start NS IP DIR [steer]  as pf_sink_start, in postscreen's master.cf layout (no smtp inet,
#                          smtpd pass at DIR/spool/private/smtpd) for the seat
#   pf_sink_start NS IP DIR [LINE...]
#                          a Postfix instance in DIR (template in DIR.tmpl): plain
#                          smtpd on IP:25 in NS, mail to the discard sink, PIPELINING
#                          not announced (as postscreen's own reply: a pipelining bot
#                          breaks a rule), each LINE appended to main.cf; started
#                          and listening, or e2e_fail
#   pf_swaks_bare_lf NS IP SRC FROM OUT
#                          swaks from SRC in NS to IP:25, sender FROM, a message whose
#                          body has bare-LF lines (and a dot-stuffed one after a bare
#                          LF) sent as they are (swaks -ndf); its transcript in OUT;
#                          swaks's exit status
#   pf_users_start NS IP DIR
#                          as pf_sink_start, but only the local users u, v and w
#                          exist: any other local recipient gets "550 5.1.1 ... User
#                          unknown in local recipient table"; error limits raised so
#                          smtpd neither slows nor drops a client for its 550s
#                          (the reply-ban tests)
#   pf_template_plain SRC DST [LINE...]
#                          copy the template directory SRC (a postscreen setup) to DST
#                          with plain smtpd on the smtp inet service (process limit
#                          "-"), postscreen's "smtpd pass" service removed, and each
#                          LINE appended to main.cf.in; for screening in front of
#                          smtpd (host mode) with the same parameters and log paths
#
# THREADING
#   Plain bash, called from the test script's shell.

# pf_conf - path of the instance's main.cf
pf_conf() {
	printf '%s/etc/main.cf\n' "$1"
}

# pf_maillog - path of the instance's log file
pf_maillog() {
	printf '%s/maillog\n' "$1"
}

# pf_instance_create - render the templates and check the configuration
pf_instance_create() {
	local dir=$1 tmpl=$2 f out
	shift 2
	mkdir -p "$dir/etc" || e2e_fail "mkdir $dir/etc"
	chmod 0755 "$dir" "$dir/etc" || e2e_fail "chmod $dir"
	if [ ! -r "$tmpl/main.cf.in" ] || [ ! -r "$tmpl/master.cf.in" ]; then
		e2e_fail "$tmpl: main.cf.in and master.cf.in are needed"
	fi
	for f in "$tmpl"/*.in; do
		out="$dir/etc/$(basename "$f" .in)"
		e2e_render "$f" "$out" "DIR=$dir" "$@"
		chmod 0644 "$out"
	done
	# The postfix command chdirs to the queue directory before anything else.
	mkdir -p "$dir/spool" || e2e_fail "mkdir $dir/spool"
	chmod 0755 "$dir/spool" || e2e_fail "chmod $dir/spool"
}

# pf_master_pid - the running master's PID, from its pid file
pf_master_pid() {
	local f="$1/spool/pid/master.pid" pid
	[ -r "$f" ] || return 1
	read -r pid <"$f" || return 1
	[ -n "$pid" ] && e2e_alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# pf_start - start the master in a namespace and wait until it runs
pf_start() {
	local ns=$1 dir=$2 run=()
	[ -n "$ns" ] && run=(ip netns exec "$ns")
	# postfix check creates the missing queue and data directories.
	"${run[@]}" postfix -c "$dir/etc" check >"$dir/postfix-check.log" 2>&1 ||
		e2e_fail "postfix check failed for $dir/etc (in netns '$ns'):" \
			"$(tail -n 5 "$dir/postfix-check.log") $(tail -n 5 "$(pf_maillog "$dir")" 2>/dev/null)" \
			"(Postfix reports early errors only to syslog, e.g. an inet_interfaces address" \
			"missing in the namespace)"
	e2e_cleanup_push "pf_stop '$ns' '$dir'"
	"${run[@]}" postfix -c "$dir/etc" start >"$dir/postfix-start.log" 2>&1 ||
		e2e_fail "postfix start failed: $(tail -n 5 "$dir/postfix-start.log") $(tail -n 5 "$(pf_maillog "$dir")" 2>/dev/null)"
	e2e_wait_for 10 pf_master_pid "$dir" >/dev/null ||
		e2e_fail "Postfix master did not start; log: $(tail -n 5 "$(pf_maillog "$dir")" 2>/dev/null)"
}

# pf_stop - stop the instance; kill the master by PID if postfix stop does not
pf_stop() {
	local ns=$1 dir=$2 pid run=()
	pid=$(pf_master_pid "$dir") || return 0
	[ -n "$ns" ] && ip netns pids "$ns" >/dev/null 2>&1 && run=(ip netns exec "$ns")
	"${run[@]}" postfix -c "$dir/etc" stop >/dev/null 2>&1
	e2e_wait_for 10 eval "! e2e_alive $pid" && return 0
	e2e_log "Postfix master $pid still running after postfix stop; killing it"
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# pf_log_has - true if the instance log has a line matching ERE
pf_log_has() {
	grep -Eq -- "$2" "$(pf_maillog "$1")" 2>/dev/null
}

# pf_wait_log - wait for a log line
pf_wait_log() {
	local dir=$1 ere=$2 secs=${3:-10}
	e2e_wait_for "$secs" pf_log_has "$dir" "$ere"
}

# pf_sent - messages from a sender (ERE) the instance delivered
pf_sent() {
	local log ids id
	log=$(pf_maillog "$1")
	ids=$(grep -E "qmgr\[[0-9]+\]: [0-9A-F]+: from=<$2>" "$log" | sed -E 's/.*: ([0-9A-F]+): from=.*/\1/')
	[ -n "$ids" ] || { echo 0; return; }
	for id in $ids; do grep -E "$id: .*status=sent" "$log"; done | wc -l
}

# pf_template_plain - a postscreen template directory turned into plain smtpd on port 25
pf_template_plain() {
	local src=$1 dst=$2 f
	shift 2
	mkdir -p "$dst" || e2e_fail "mkdir $dst"
	for f in "$src"/*.in; do
		cp -- "$f" "$dst/" || e2e_fail "cp $f $dst"
	done
	# master.cf fields: service type private unpriv chroot wakeup maxproc command
	awk '$1 == "smtp" && $2 == "inet" && $8 == "postscreen" { $7 = "-"; $8 = "smtpd" }
	     $1 == "smtpd" && $2 == "pass" { next }
	     { print }' "$src/master.cf.in" >"$dst/master.cf.in" ||
		e2e_fail "cannot rewrite $src/master.cf.in"
	grep -Eq '^smtp[[:space:]]+inet([[:space:]]+[^[:space:]]+){5}[[:space:]]+smtpd$' \
		"$dst/master.cf.in" || e2e_fail "$src/master.cf.in: no 'smtp inet ... postscreen' line"
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$dst/main.cf.in" || e2e_fail "append to $dst/main.cf.in"
}

# pf_template_smtpd - the project's plain-smtpd template (tests/data/postfix-smtpd:
# smtpd on port 25 of @SERVER_IP@, accepted mail discarded) copied to DIR, with
# extra main.cf lines appended
pf_template_smtpd() {
	local dst=$1 src
	shift
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../data/postfix-smtpd" && pwd) ||
		e2e_fail "tests/data/postfix-smtpd missing"
	mkdir -p "$dst" || e2e_fail "mkdir $dst"
	cp -- "$src/main.cf.in" "$src/master.cf.in" "$dst/" || e2e_fail "cp $src to $dst"
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$dst/main.cf.in" || e2e_fail "append to $dst/main.cf.in"
}

# pf_template_seat DIR [steer] - a plain-smtpd template directory in postscreen's
# master.cf layout for smtpscreen's seat: the smtp inet service becomes `smtpd pass`
# (in place); with steer smtp inet stays and `smtpd pass` is added (the seat on a
# port of its own, unknown clients steered to it by sk_lookup)
pf_template_seat() {
	local dir=$1 keep=${2:-}
	awk -v keep="$keep" '
	     $1 == "smtp" && $2 == "inet" {
		if (keep == "steer") print
		print "smtpd     pass  -       -       n       -       -       smtpd"; next }
	     $1 == "smtpd" && $2 == "pass" { next }
	     { print }' "$dir/master.cf.in" >"$dir/master.cf.seat" &&
		mv "$dir/master.cf.seat" "$dir/master.cf.in" ||
		e2e_fail "cannot rewrite $dir/master.cf.in"
	grep -Eq '^smtpd[[:space:]]+pass[[:space:]]' "$dir/master.cf.in" ||
		e2e_fail "$dir/master.cf.in: no smtpd pass"
	if [ "$keep" = steer ]; then
		grep -Eq '^smtp[[:space:]]+inet[[:space:]]' "$dir/master.cf.in" ||
			e2e_fail "$dir/master.cf.in: no smtp inet"
	else
		! grep -Eq '^smtp[[:space:]]+inet[[:space:]]' "$dir/master.cf.in" ||
			e2e_fail "$dir/master.cf.in: smtp inet left"
	fi
}

# pf_seat_start - the sink with postscreen's master.cf layout for smtpscreen's seat
# (smtpscreen_host_hold = seat): no smtp inet service on port 25 (the daemon listens
# there), smtpd behind `smtpd pass`, endpoint DIR/spool/private/smtpd
pf_seat_start() {
	local ns=$1 ip=$2 dir=$3
	pf_template_smtpd "$dir.tmpl" "smtpd_discard_ehlo_keywords = pipelining"
	pf_template_seat "$dir.tmpl" "${4:-}"
	pf_instance_create "$dir" "$dir.tmpl" "SERVER_IP=$ip"
	pf_start "$ns" "$dir"
	e2e_wait_for 10 test -S "$dir/spool/private/smtpd" ||
		e2e_fail "no smtpd pass endpoint $dir/spool/private/smtpd"
}

# pf_sink_start - the tests' mail server: plain smtpd, discard sink, no PIPELINING
pf_sink_start() {
	local ns=$1 ip=$2 dir=$3
	shift 3
	pf_template_smtpd "$dir.tmpl" \
		"# Like postscreen's own reply: no PIPELINING, so the pipelining bot breaks a rule." \
		"smtpd_discard_ehlo_keywords = pipelining" "$@"
	pf_instance_create "$dir" "$dir.tmpl" "SERVER_IP=$ip"
	pf_start "$ns" "$dir"
	ns_wait_listen "$ns" "$ip" 25 || e2e_fail "smtpd does not listen on $ip:25"
}

# pf_swaks_bare_lf - good mail with bare LFs in its body, from swaks
pf_swaks_bare_lf() {
	local ns=$1 ip=$2 src=$3 from=$4 out=$5
	printf '%s\r\n' "From: <$from>" "To: <u@example.test>" "Subject: bare LF body" "" \
		>"$out.eml"
	printf 'line one\nbare LF line\n..a dot-stuffed line after a bare LF\nlast\r\n.' \
		>>"$out.eml"
	ns_exec "$ns" swaks --server "$ip" --from "$from" --to u@example.test \
		--local-interface "$src" --helo client.example.org --timeout 20 \
		--data "$out.eml" -ndf >"$out" 2>&1
}

# pf_users_start - the sink with three known local users (u, v, w) and 550 5.1.1
# for every other local recipient
pf_users_start() {
	local ns=$1 ip=$2 dir=$3
	pf_template_smtpd "$dir.tmpl" \
		"local_recipient_maps = inline:{u=ok, v=ok, w=ok}" \
		"smtpd_soft_error_limit = 100" "smtpd_hard_error_limit = 100" \
		"smtpd_discard_ehlo_keywords = pipelining"
	pf_instance_create "$dir" "$dir.tmpl" "SERVER_IP=$ip"
	pf_start "$ns" "$dir"
	ns_wait_listen "$ns" "$ip" 25 || e2e_fail "smtpd does not listen on $ip:25"
}
