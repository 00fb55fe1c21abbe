#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   smtpbot.py - SMTP client that plays one good or bad client behaviour, byte-exact
#
# DESCRIPTION
#   Opens plain TCP sessions from a chosen source address and speaks SMTP with exact
#   bytes and timing, so that an SMTP screener (Postfix postscreen, smtpscreen in host
#   mode or on the appliance) sees a known behaviour:
#
#     good             waits for every reply, EHLO, MAIL, RCPT, DATA, QUIT; on a 4xx
#                      reply to RCPT it quits and comes back (up to --attempts sessions)
#     denylisted       the same as good (run it from a denylisted source address)
#     allowlisted      the same as good (run it from an allowlisted source address)
#     pregreet         sends EHLO right after connect, before any greeting
#     pregreet_teaser  waits for the first greeting line; if it is a "220-" line sends
#                      EHLO before the final "220 " line
#     bare_newline     sends "EHLO name\n" (LF without CR), then behaves
#     pipelining       EHLO, waits for its reply, then MAIL and RCPT in one send()
#     get, connect, post
#                      an HTTP request (GET / CONNECT / POST) instead of SMTP
#     subject          a header line ("Subject: buy now") as the first command
#     get_nul, nul_line, get_tab, tab_get, space_get, get_cr, subject_tab,
#     utf8_bad, utf8_ok, get_lower, get_alone, subject_space, header_glued,
#     xnum_args, xnum_lead, xnum_not
#                      one odd first command line (ODD_LINES below: NUL bytes, a tab
#                      or a lone CR where postscreen splits its command word only at
#                      spaces and reads the line as a C string; a word that is or is
#                      not UTF-8)
#     smuggling        a good session whose message hides a second one (SMTP smuggling,
#                      CVE-2023-51764): "\n.\n" then MAIL FROM:<--smuggle-from>, RCPT,
#                      DATA and a second message, all in the message's one send()
#     smuggling_rset   the same with an RSET line between "\n.\n" and MAIL FROM
#     bare_lf_body     a good session whose message body has bare-LF lines (and a
#                      dot-stuffed one after a bare LF); it ends with CRLF.CRLF
#     pipe_helo, pipe_ehlo, pipe_rset_quit, pipe_noop_noop
#                      a command group in one send() (PIPE_GROUPS below): after HELO,
#                      EHLO with MAIL right after the greeting, RSET+QUIT and
#                      NOOP+NOOP after EHLO; then the replies, then QUIT
#     noop_flood       EHLO, then --noops NOOP commands (each waits for its reply;
#                      postscreen's command count limit is 20), then the mail
#
#   After its particular misbehaviour a bot carries on like a client that wants to
#   deliver a mail (the non-SMTP bots only read the answer and quit), so the result
#   shows what the server side did to the session. Nothing here knows postscreen: a
#   multi-line greeting that is abandoned (postscreen's teaser) and 4xx/5xx replies
#   are handled like any SMTP client would.
#
# CONTRACT
#   smtpbot.py --server IP --source IP --behaviour B [--port 25] [--helo NAME]
#              [--from ADDR] [--to ADDR] [--smuggle-from ADDR] [--noops N] [--attempts N] [--retry-delay S]
#              [--timeout S] [-v]
#   stdout: one line per TCP session,
#     SESSION src=IP:PORT dst=IP:PORT behaviour=B result=R replies=C,C,...
#   then one summary line, RESULT behaviour=B result=R sessions=N.
#   R is accepted (mail queued), rejected (5xx), tempfail (4xx), closed (server
#   closed the connection without a 4xx/5xx), reset (RST), answered (a non-SMTP
#   request got a 2xx/3xx reply), timeout, or error.
#   Exit status: 0 accepted, 3 rejected, 4 tempfail, 5 closed or reset, 6 answered,
#   1 timeout or local error, 2 usage. -v writes a timestamped transcript to stderr.
#
# THREADING
#   Single-threaded; run one process per client.

import argparse
import errno
import socket
import sys
import time

BEHAVIOURS = ("good", "denylisted", "allowlisted", "pregreet", "pregreet_teaser",
              "bare_newline", "pipelining", "get", "connect", "post", "subject",
              "smuggling", "smuggling_rset", "bare_lf_body", "noop_flood", "get_nul", "nul_line",
              "get_tab", "tab_get", "space_get", "get_cr", "subject_tab", "utf8_bad",
              "utf8_ok", "get_lower", "get_alone", "subject_space", "header_glued",
              "pipe_helo", "pipe_ehlo", "pipe_rset_quit", "pipe_noop_noop",
              "xnum_args", "xnum_lead", "xnum_not")

# The odd first lines: what postscreen makes of each (its command word is the
# first token of the line up to a NUL, split at spaces only) is for the
# differential test to find out, not for this bot to know.
ODD_LINES = {
    "get_nul": b"GET\x00/ HTTP/1.0\r\n",         # word "GET": forbidden
    "nul_line": b"\x00\x00\x00\r\n",             # no word at all
    "get_tab": b"GET\t/ HTTP/1.0\r\n",           # word "GET\t/"
    "tab_get": b"\tGET / HTTP/1.0\r\n",           # word "\tGET"
    "space_get": b"  GET  / HTTP/1.0\r\n",        # word "GET"
    "get_cr": b"GET\r/ HTTP/1.0\r\n",            # word "GET\r/"
    "subject_tab": b"Subject\t: buy now\r\n",     # word "Subject\t:", a header
    "utf8_bad": b"G\xffT / HTTP/1.0\r\n",         # word not UTF-8
    "utf8_ok": b"G\xc3\x89T / HTTP/1.0\r\n",      # word in UTF-8, unknown
    "get_lower": b"get / HTTP/1.0\r\n",           # forbidden words match caselessly
    "get_alone": b"GET\r\n",                      # the word ends with the line
    "subject_space": b"Subject : buy now\r\n",    # word "Subject": no colon in it
    "header_glued": b"X-Mailer:bot 1.0\r\n",       # word "X-Mailer:bot", a header
    # against /^X-[0-9]+$/ in the test's postscreen_forbidden_commands
    "xnum_args": b"X-12 foo\r\n",                 # word "X-12": matches
    "xnum_lead": b"  X-34\r\n",                   # word "X-34": matches
    "xnum_not": b"X-12a\r\n",                     # word "X-12a": does not
}

EXIT_CODES = {"accepted": 0, "rejected": 3, "tempfail": 4, "closed": 5, "reset": 5,
              "answered": 6, "timeout": 1, "error": 1}


class SessionEnd(Exception):
    """The session ended early; result is one of closed, reset, timeout, error."""

    def __init__(self, result, detail):
        super().__init__(detail)
        self.result = result
        self.detail = detail


class Reply:
    """One SMTP reply: code, text lines; complete is False for an abandoned reply."""

    def __init__(self, code, lines, complete):
        self.code = code
        self.lines = lines
        self.complete = complete

    def kind(self):
        """ok, tempfail or rejected, from the first digit of the code."""
        if self.code >= 500:
            return "rejected"
        if self.code >= 400:
            return "tempfail"
        return "ok"


class Session:
    """One TCP connection with a line reader and a transcript."""

    def __init__(self, args):
        self.args = args
        self.buf = b""
        self.pushback = []
        self.pending = []
        self.codes = []
        self.last_code = 0
        self.t0 = time.monotonic()
        self.src = (args.source, 0)
        family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(args.timeout)
        try:
            self.sock.bind((args.source, 0))
            self.sock.connect((args.server, args.port))
        except OSError as e:
            self.sock.close()
            # A RST while the handshake completes (a screener that stops the
            # session at its first frame) is a reset session, not an error.
            raise SessionEnd("reset" if e.errno == errno.ECONNRESET else "error",
                             "connect from %s to %s:%d: %s"
                             % (args.source, args.server, args.port, e))
        self.src = self.sock.getsockname()[:2]
        self.dst = self.sock.getpeername()[:2]
        self.trace("connected %s:%d -> %s:%d" % (self.src + self.dst))

    def trace(self, text):
        if self.args.verbose:
            sys.stderr.write("%8.3f %s:%d %s\n" % (time.monotonic() - self.t0,
                                                   self.src[0], self.src[1], text))

    def send(self, data):
        """Send data in one send() call (one segment with TCP_NODELAY)."""
        self.trace("C: %r" % data)
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise self._oserror_end(e, "send")

    def _oserror_end(self, e, what):
        if isinstance(e, socket.timeout):
            return SessionEnd("timeout", "%s: no data within %ss" % (what, self.args.timeout))
        if e.errno in (errno.ECONNRESET, errno.EPIPE):
            return SessionEnd("reset", "%s: %s" % (what, e.strerror))
        return SessionEnd("error", "%s: %s" % (what, e))

    def line(self):
        """Next line from the server, without its line end."""
        if self.pushback:
            return self.pushback.pop()
        while b"\n" not in self.buf:
            try:
                data = self.sock.recv(4096)
            except OSError as e:
                raise self._oserror_end(e, "recv")
            if not data:
                raise SessionEnd("closed", "server closed the connection")
            self.buf += data
        raw, self.buf = self.buf.split(b"\n", 1)
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self.trace("S: %r" % raw)
        return raw

    def reply(self):
        """Next complete reply; a multi-line reply cut short by a line with another
        code (a greeting teaser the server gave up) is returned as incomplete."""
        lines = self.pending
        self.pending = []
        while True:
            raw = self.line()
            if len(raw) < 3 or not raw[:3].isdigit():
                raise SessionEnd("error", "bad reply line %r" % raw)
            if lines and raw[:3] != lines[0][:3]:
                self.pushback.append(raw)
                return self._reply(lines, False)
            lines.append(raw)
            if raw[3:4] != b"-":
                return self._reply(lines, True)

    def _reply(self, lines, complete):
        r = Reply(int(lines[0][:3]), [x[4:].decode("latin-1") for x in lines], complete)
        self.codes.append("%d%s" % (r.code, "" if complete else "-"))
        self.last_code = r.code
        return r

    def command(self, data):
        """Send one command and return the reply to it."""
        self.send(data)
        return self.reply()

    def quit(self):
        """Say QUIT unless the server announced that it closes (421, 521, RFC 7504);
        errors do not matter here."""
        if self.last_code in (421, 521):
            return
        try:
            self.send(b"QUIT\r\n")
            self.reply()
        except SessionEnd:
            pass

    def close(self):
        self.sock.close()


def message(args):
    """The message text, CRLF lines, ending in the dot line (smuggling: with a
    second message hidden after a bare-LF dot line; bare_lf_body: with bare-LF
    lines in its body)."""
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    body = "This is a test message from smtpbot.py.\r\n"
    if args.behaviour in ("smuggling", "smuggling_rset"):
        body += ("\n.\n" + ("RSET\r\n" if args.behaviour == "smuggling_rset" else "") +
                 "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                 "From: <%s>\r\nTo: <%s>\r\nSubject: smuggled\r\n\r\n"
                 "This message was smuggled.\r\n"
                 % (args.smuggle_from, args.rcpt, args.smuggle_from, args.rcpt))
    elif args.behaviour == "bare_lf_body":
        body += "a line that ends in a bare LF\nand another\n..a dot-stuffed line\nlast\r\n"
    text = ("From: <%s>\r\nTo: <%s>\r\nSubject: smtpbot test\r\nDate: %s\r\n"
            "Message-ID: <%d.%s@%s>\r\n\r\n%s.\r\n"
            % (args.sender, args.rcpt, stamp, time.time_ns(), args.behaviour, args.helo, body))
    return text.encode("ascii")


def greeting(s):
    """Read the greeting; returns None when it is a 2xx, else the failure result."""
    r = s.reply()
    while not r.complete:       # a teaser whose final line never came
        r = s.reply()
    return None if r.kind() == "ok" else r.kind()


def after_ehlo(s, args, ehlo):
    """Mail transaction after the EHLO reply: MAIL, RCPT, DATA, QUIT."""
    if ehlo.kind() != "ok":
        return ehlo.kind()
    for cmd in (b"MAIL FROM:<%s>\r\n" % args.sender.encode(),
                b"RCPT TO:<%s>\r\n" % args.rcpt.encode()):
        r = s.command(cmd)
        if r.kind() != "ok":
            return r.kind()
    return data(s, args)


def data(s, args):
    """DATA, message text, and the reply to the end of data."""
    r = s.command(b"DATA\r\n")
    if r.code != 354:
        return r.kind() if r.kind() != "ok" else "error"
    r = s.command(message(args))
    return "accepted" if r.kind() == "ok" else r.kind()


def ehlo_cmd(args, end=b"\r\n"):
    return b"EHLO " + args.helo.encode() + end


def play_good(s, args):
    res = greeting(s)
    if res:
        return res
    return after_ehlo(s, args, s.command(ehlo_cmd(args)))


def play_pregreet(s, args):
    s.send(ehlo_cmd(args))
    r = s.reply()
    while r.code == 220 or not r.complete:      # greeting (or teaser) before the EHLO reply
        r = s.reply()
    return after_ehlo(s, args, r)


def play_pregreet_teaser(s, args):
    first = s.line()
    if len(first) < 3 or not first[:3].isdigit():
        raise SessionEnd("error", "bad reply line %r" % first)
    if first[3:4] == b"-":
        s.pending = [first]
        if first.startswith(b"220-"):
            s.send(ehlo_cmd(args))      # before the final greeting line
            r = s.reply()
            while r.code == 220 or not r.complete:
                r = s.reply()
            return after_ehlo(s, args, r)
        r = s.reply()
    else:
        r = s._reply([first], True)     # no teaser: nothing to speak early into
    if r.kind() != "ok":
        return r.kind()
    return after_ehlo(s, args, s.command(ehlo_cmd(args)))


def play_bare_newline(s, args):
    res = greeting(s)
    if res:
        return res
    return after_ehlo(s, args, s.command(ehlo_cmd(args, b"\n")))


def play_pipelining(s, args):
    res = greeting(s)
    if res:
        return res
    r = s.command(ehlo_cmd(args))
    if r.kind() != "ok":
        return r.kind()
    s.send(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n" % (args.sender.encode(), args.rcpt.encode()))
    mail = s.reply()
    rcpt = s.reply()
    if mail.kind() != "ok":
        return mail.kind()
    if rcpt.kind() != "ok":
        return rcpt.kind()
    return data(s, args)


def play_noop_flood(s, args):
    res = greeting(s)
    if res:
        return res
    r = s.command(ehlo_cmd(args))
    for _ in range(args.noops):
        if r.kind() != "ok":
            return r.kind()
        r = s.command(b"NOOP\r\n")
    return after_ehlo(s, args, r)


def http_request(args):
    b = args.behaviour
    if b == "get":
        return b"GET / HTTP/1.0\r\n\r\n"
    if b == "connect":
        return b"CONNECT %s:%d HTTP/1.0\r\n\r\n" % (args.server.encode(), args.port)
    if b == "post":
        return b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n"
    raise ValueError(b)


# Command groups sent in one send(): the hello waited for first (None: none),
# then the group (%(from)s, %(to)s, %(helo)s filled in).
PIPE_GROUPS = {
    "pipe_helo": (b"HELO %(helo)s\r\n", b"MAIL FROM:<%(from)s>\r\nRCPT TO:<%(to)s>\r\n"),
    "pipe_ehlo": (None, b"EHLO %(helo)s\r\nMAIL FROM:<%(from)s>\r\n"),
    "pipe_rset_quit": (b"EHLO %(helo)s\r\n", b"RSET\r\nQUIT\r\n"),
    "pipe_noop_noop": (b"EHLO %(helo)s\r\n", b"NOOP\r\nNOOP\r\n"),
}


def play_pipe_group(s, args):
    res = greeting(s)
    if res:
        return res
    hello, group = PIPE_GROUPS[args.behaviour]
    fill = {b"helo": args.helo.encode(), b"from": args.sender.encode(),
            b"to": args.rcpt.encode()}
    if hello is not None:
        r = s.command(hello % fill)
        if r.kind() != "ok":
            return r.kind()
    data = group % fill
    s.send(data)
    r = None
    for _ in range(data.count(b"\n")):
        r = s.reply()
    return "answered" if r.kind() == "ok" else r.kind()


def play_nonsmtp(s, args):
    res = greeting(s)
    if res:
        return res
    if args.behaviour == "subject":
        r = s.command(b"Subject: buy now\r\n")
    elif args.behaviour in ODD_LINES:
        r = s.command(ODD_LINES[args.behaviour])
    else:
        r = s.command(http_request(args))
    return "answered" if r.kind() == "ok" else r.kind()


PLAYERS = {"good": play_good, "denylisted": play_good, "allowlisted": play_good,
           "smuggling": play_good, "smuggling_rset": play_good, "bare_lf_body": play_good,
           "pregreet": play_pregreet, "pregreet_teaser": play_pregreet_teaser,
           "bare_newline": play_bare_newline, "pipelining": play_pipelining,
           "get": play_nonsmtp, "connect": play_nonsmtp, "post": play_nonsmtp,
           "subject": play_nonsmtp, "noop_flood": play_noop_flood}
PLAYERS.update((b, play_nonsmtp) for b in ODD_LINES)
PLAYERS.update((b, play_pipe_group) for b in PIPE_GROUPS)


def run_session(args):
    """One TCP session; returns its result."""
    s = Session(args)
    try:
        res = PLAYERS[args.behaviour](s, args)
        if res not in ("closed", "reset"):
            s.quit()
    except SessionEnd as e:
        s.trace("end: %s" % e.detail)
        res = e.result
    finally:
        s.close()
    print("SESSION src=%s:%d dst=%s:%d behaviour=%s result=%s replies=%s"
          % (s.src[0], s.src[1], s.dst[0], s.dst[1], args.behaviour, res,
             ",".join(s.codes) or "-"), flush=True)
    return res


def parse_args(argv):
    p = argparse.ArgumentParser(description="SMTP client playing one client behaviour")
    p.add_argument("--server", required=True, help="server address")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--source", required=True, help="local address to connect from")
    p.add_argument("--behaviour", required=True, choices=BEHAVIOURS)
    p.add_argument("--helo", default="client.example", help="EHLO name")
    p.add_argument("--from", dest="sender", default="a@example.org")
    p.add_argument("--to", dest="rcpt", default="u@example.test")
    p.add_argument("--smuggle-from", dest="smuggle_from", default="ceo@example.test",
                   help="sender of the smuggled message (smuggling)")
    p.add_argument("--noops", type=int, default=25, help="NOOP commands (noop_flood)")
    p.add_argument("--attempts", type=int, default=3,
                   help="sessions to try while RCPT gets a 4xx (good clients)")
    p.add_argument("--retry-delay", type=float, default=1.0, help="seconds between sessions")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for data")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.attempts < 1 or args.timeout <= 0 or args.retry_delay < 0:
        p.error("--attempts must be >= 1, --timeout > 0, --retry-delay >= 0")
    return args


def main(argv):
    args = parse_args(argv)
    retry = args.behaviour in ("good", "denylisted", "allowlisted", "bare_lf_body")
    sessions = 0
    while True:
        try:
            res = run_session(args)
        except SessionEnd as e:         # could not even connect
            sys.stderr.write("smtpbot: %s\n" % e.detail)
            res = e.result
        sessions += 1
        if res != "tempfail" or not retry or sessions >= args.attempts:
            break
        time.sleep(args.retry_delay)
    print("RESULT behaviour=%s result=%s sessions=%d" % (args.behaviour, res, sessions),
          flush=True)
    return EXIT_CODES[res]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
