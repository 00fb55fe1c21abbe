#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   smtpbot_check.py - checks that tests/e2e/smtpbot.py sends the exact bytes and
#                      timing of each behaviour, against a scripted server on loopback
#
# DESCRIPTION
#   A small SMTP server (thread, 127.0.0.1, ephemeral port) records every recv()
#   chunk of a session and whether it came before the final greeting line; it can
#   send a "220-" teaser first, hold the final "220 " line, answer the first RCPT
#   with 450, or greet with 521 and close. Each table row runs smtpbot.py as a
#   subprocess and checks the chunks, the bot's exit status and its session count.
#   Needs no root and no Postfix, so it can run in any build.
#
# CONTRACT
#   smtpbot_check.py [PATH/TO/smtpbot.py]   exit 0 when every case passes
#
# THREADING
#   One server thread per case; the main thread runs the bot and compares.

import os
import socket
import subprocess
import sys
import threading
import time

BOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smtpbot.py")
HOLD = 0.4      # seconds the server holds the final greeting line after a teaser


class Server(threading.Thread):
    """Scripted SMTP server; records (before_final_greeting, bytes) per recv()."""

    def __init__(self, teaser=False, tempfail_first_rcpt=False, greet_521=False):
        super().__init__(daemon=True)
        self.teaser = teaser
        self.tempfail = tempfail_first_rcpt
        self.greet_521 = greet_521
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.lsock.settimeout(10)
        self.port = self.lsock.getsockname()[1]
        self.sessions = []      # per session: list of (early, chunk)
        self.rcpts = 0

    def run(self):
        try:
            while True:
                conn, _ = self.lsock.accept()
                with conn:
                    self.session(conn)
        except OSError:
            pass

    def session(self, conn):
        chunks = []
        self.sessions.append(chunks)
        conn.settimeout(5)
        if self.greet_521:
            conn.sendall(b"521 5.3.2 go away\r\n")
            time.sleep(0.2)
            conn.setblocking(False)
            try:
                data = conn.recv(4096)
                if data:
                    chunks.append((False, data))
            except OSError:
                pass
            return
        if self.teaser:
            conn.sendall(b"220-mx teaser\r\n")
            time.sleep(HOLD)
        else:
            time.sleep(0.1)     # room for a pregreet to arrive before the greeting
        conn.setblocking(False)
        try:
            early = conn.recv(4096)
        except BlockingIOError:
            early = b""
        conn.setblocking(True)
        conn.settimeout(5)
        if early:
            chunks.append((True, early))
        conn.sendall(b"220 mx ESMTP\r\n")
        buf, in_data = early, False
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if in_data:
                    if line.rstrip(b"\r") == b".":
                        in_data = False
                        conn.sendall(b"250 2.0.0 Ok: queued\r\n")
                    continue
                reply = self.answer(line.rstrip(b"\r").upper())
                if reply is None:
                    in_data = True
                    conn.sendall(b"354 go ahead\r\n")
                    continue
                conn.sendall(reply)
                if reply.startswith((b"221", b"521")):
                    return
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            chunks.append((False, data))
            buf += data

    def answer(self, line):
        if line.startswith(b"EHLO"):
            return b"250-mx\r\n250 PIPELINING\r\n"
        if line.startswith(b"MAIL"):
            return b"250 2.1.0 Ok\r\n"
        if line.startswith(b"RCPT"):
            self.rcpts += 1
            if self.tempfail and self.rcpts == 1:
                return b"450 4.3.2 try again\r\n"
            return b"250 2.1.5 Ok\r\n"
        if line == b"DATA":
            return None
        if line == b"QUIT":
            return b"221 2.0.0 Bye\r\n"
        if line.startswith((b"GET", b"POST", b"CONNECT", b"SUBJECT:")):
            return b"521 5.7.0 no\r\n"
        return b"502 5.5.2 what\r\n"


def chunks_of(server, n=0):
    return [c for _, c in server.sessions[n]] if len(server.sessions) > n else []


def early_of(server, n=0):
    return [c for e, c in server.sessions[n] if e] if len(server.sessions) > n else []


MAIL = b"MAIL FROM:<a@example.org>\r\n"
RCPT = b"RCPT TO:<u@example.test>\r\n"
EHLO = b"EHLO client.example\r\n"
CASES = (   # label, behaviour, server options, exit status, sessions, check(server)
    ("521 greeting: rejected, nothing sent after it", "good", {"greet_521": True}, 3, 1,
     lambda s: chunks_of(s) == []),
    ("get: one HTTP request after the greeting", "get", {}, 3, 1,
     lambda s: early_of(s) == [] and chunks_of(s) == [b"GET / HTTP/1.0\r\n\r\n"]),
    ("connect: CONNECT request", "connect", {}, 3, 1,
     lambda s: chunks_of(s)[0].startswith(b"CONNECT 127.0.0.1:") and
     chunks_of(s)[0].endswith(b" HTTP/1.0\r\n\r\n")),
    ("post: POST request in one send", "post", {}, 3, 1,
     lambda s: chunks_of(s) == [b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n"]),
    ("subject: header line as first command", "subject", {}, 3, 1,
     lambda s: chunks_of(s) == [b"Subject: buy now\r\n"]),
    ("pregreet: EHLO before any greeting", "pregreet", {}, 0, 1,
     lambda s: early_of(s) == [EHLO]),
    ("pregreet_teaser: EHLO between 220- and 220", "pregreet_teaser", {"teaser": True}, 0, 1,
     lambda s: early_of(s) == [EHLO]),
    ("pregreet_teaser without teaser: waits for the greeting", "pregreet_teaser", {}, 0, 1,
     lambda s: early_of(s) == [] and chunks_of(s)[0] == EHLO),
    ("good with teaser: waits for the final 220", "good", {"teaser": True}, 0, 1,
     lambda s: early_of(s) == [] and chunks_of(s)[:3] == [EHLO, MAIL, RCPT]),
    ("bare_newline: EHLO ends in LF only", "bare_newline", {}, 0, 1,
     lambda s: chunks_of(s)[0] == b"EHLO client.example\n" and chunks_of(s)[1] == MAIL),
    ("pipelining: MAIL and RCPT in one send", "pipelining", {}, 0, 1,
     lambda s: chunks_of(s)[:2] == [EHLO, MAIL + RCPT]),
    ("good: one command per send, QUIT last", "good", {}, 0, 1,
     lambda s: chunks_of(s)[:4] == [EHLO, MAIL, RCPT, b"DATA\r\n"] and
     chunks_of(s)[4].endswith(b"\r\n.\r\n") and chunks_of(s)[5] == b"QUIT\r\n"),
    ("good: 450 on RCPT, QUIT, second session delivers", "good",
     {"tempfail_first_rcpt": True}, 0, 2,
     lambda s: chunks_of(s, 0) == [EHLO, MAIL, RCPT, b"QUIT\r\n"] and
     chunks_of(s, 1)[:3] == [EHLO, MAIL, RCPT]),
)


def main(argv):
    bot = argv[0] if argv else BOT
    fails = 0
    for label, behaviour, opts, want_rc, want_sessions, check in CASES:
        srv = Server(**opts)
        srv.start()
        p = subprocess.run([sys.executable, bot, "--server", "127.0.0.1", "--port",
                            str(srv.port), "--source", "127.0.0.1", "--behaviour", behaviour,
                            "--timeout", "5", "--retry-delay", "0.1"],
                           capture_output=True, text=True, timeout=30)
        time.sleep(0.1)
        srv.lsock.close()
        ok = (p.returncode == want_rc and len(srv.sessions) == want_sessions and check(srv))
        sys.stdout.write("%s %s\n" % ("ok  " if ok else "FAIL", label))
        if not ok:
            fails += 1
            sys.stdout.write("     rc %d (want %d), sessions %d (want %d)\n     chunks %r\n"
                             "     bot: %s\n" % (p.returncode, want_rc, len(srv.sessions),
                                                 want_sessions, srv.sessions,
                                                 (p.stdout + p.stderr).strip()))
    sys.stdout.write("%d failed\n" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
