#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   smtpbot_pool.py - many smtpbot sessions at once from one process
#
# DESCRIPTION
#   Reads a job list (one client per line: source address, behaviour, optional EHLO
#   name) and plays each job with tests/e2e/smtpbot.py's own code (imported, not
#   re-implemented), CONCURRENCY jobs at a time in threads. One process instead of
#   one Python start-up per session keeps the client side's CPU small, so that
#   benchmarks measuring the server side on a shared machine are not swamped by it.
#   Each job's SESSION and RESULT lines are printed as smtpbot prints them, then a
#   summary line.
#
# CONTRACT
#   smtpbot_pool.py --server IP --jobs FILE [--concurrency N] [--timeout S]
#                   [--attempts N] [--retry-delay S] [--port P]
#   FILE: "SOURCE BEHAVIOUR [HELO]" per line, '#' comments; BEHAVIOUR as smtpbot's.
#   stdout: smtpbot's lines per job, then
#     POOL jobs=N seconds=S accepted=N rejected=N tempfail=N closed=N reset=N ...
#   (every smtpbot result name, 0 when none). Exit 0 when every job ran (whatever
#   its result), 1 on a bad job list or an exception in a job, 2 on usage.
#
# THREADING
#   A thread pool; smtpbot's functions keep their state per session, and output
#   lines are written whole under a lock.

import argparse
import concurrent.futures
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import smtpbot  # noqa: E402  (tests/e2e/smtpbot.py)

RESULTS = ("accepted", "rejected", "tempfail", "closed", "reset", "answered", "timeout",
           "error")


class LineOut:
    """stdout for the threads: whole lines, one writer at a time."""

    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.local = threading.local()

    def write(self, text):
        buf = getattr(self.local, "buf", "") + text
        *lines, rest = buf.split("\n")
        self.local.buf = rest
        if lines:
            with self.lock:
                self.out.write("".join(line + "\n" for line in lines))
        return len(text)

    def flush(self):
        with self.lock:
            self.out.flush()


def read_jobs(path):
    """[(source, behaviour, helo or None)]; raises ValueError on a bad line."""
    jobs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) not in (2, 3) or line[1] not in smtpbot.BEHAVIOURS:
                raise ValueError("%s:%d: want SOURCE BEHAVIOUR [HELO]: %r" % (path, n, line))
            jobs.append((line[0], line[1], line[2] if len(line) == 3 else None))
    return jobs


def run_job(job, opts):
    """One client, as `smtpbot.py` would play it; its result name."""
    src, beh, helo = job
    argv = ["--server", opts.server, "--port", str(opts.port), "--source", src,
            "--behaviour", beh, "--timeout", str(opts.timeout),
            "--attempts", str(opts.attempts), "--retry-delay", str(opts.retry_delay)]
    if helo:
        argv += ["--helo", helo]
    rc = smtpbot.main(argv)
    for name, code in smtpbot.EXIT_CODES.items():
        if code == rc:
            return name
    return "error"


def main(argv):
    p = argparse.ArgumentParser(description="run many smtpbot clients concurrently")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--jobs", required=True, help="file: SOURCE BEHAVIOUR [HELO] per line")
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--attempts", type=int, default=1)
    p.add_argument("--retry-delay", type=float, default=1.0)
    opts = p.parse_args(argv)
    if opts.concurrency < 1:
        p.error("--concurrency must be >= 1")
    try:
        jobs = read_jobs(opts.jobs)
    except (OSError, ValueError) as e:
        sys.stderr.write("smtpbot_pool: %s\n" % e)
        return 1
    real_out = sys.stdout
    sys.stdout = LineOut(real_out)
    counts = dict((r, 0) for r in RESULTS)
    failed = 0
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=opts.concurrency) as ex:
        futs = [ex.submit(run_job, j, opts) for j in jobs]
        for fut, job in zip(futs, jobs):
            try:
                counts[fut.result()] += 1
            except Exception as e:      # a bug in a job: report it, count it
                failed += 1
                sys.stderr.write("smtpbot_pool: job %s %s: %r\n" % (job[0], job[1], e))
    secs = time.monotonic() - t0
    sys.stdout = real_out
    print("POOL jobs=%d seconds=%.2f %s" % (len(jobs), secs, " ".join(
        "%s=%d" % (r, counts[r]) for r in RESULTS)), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
