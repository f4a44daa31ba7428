# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive a command through a real pty, as a user's terminal would.

    t = Term([podctl, "run", "-it", root, "--", "sh"], rows=24, cols=80)
    t.expect(r"/dev/pts/\\d+")      # wait (bounded) for output
    t.send("exit 3\\n")
    t.resize(40, 100)               # SIGWINCH to the command
    code = t.wait()                 # exit code (128+N when killed)
    t.modes() == t.modes_before     # the terminal's modes after vs before

The parent keeps a slave fd open, so the terminal's modes can be read after
the command exited, and so can input that was typed into it (injected)
without anyone reading it: t.pending_input().
"""
import fcntl
import os
import re
import select
import signal
import struct
import termios
import time


class Timeout(Exception):
    pass


class Term:
    def __init__(self, argv, rows=24, cols=80, env=None):
        self.master, self.slave = os.openpty()
        self.set_size(rows, cols)
        self.modes_before = termios.tcgetattr(self.slave)
        self.buf = b""   # not yet consumed by expect()
        self.log = b""   # everything
        self.status = None
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(self.slave, fd)
                os.closerange(3, 1024)
                os.execvpe(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(127)
        self.pid = pid
        os.set_blocking(self.master, False)

    def set_size(self, rows, cols):
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def resize(self, rows, cols):
        # the kernel sends SIGWINCH to the terminal's foreground process group
        self.set_size(rows, cols)

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:  # EIO: no slave left open but ours
            return False
        self.buf += data
        self.log += data
        return bool(data)

    def expect(self, pattern, timeout=20):
        """Wait for pattern in the output; consume up to the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no %r in %r" % (pattern, self.buf[-400:]))
            self._read(min(left, 0.5))
            if self.status is None:
                self.poll()

    def send(self, data):
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def poll(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
        return self.status

    def wait(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise Timeout("still running; output %r" % self.buf[-400:])
            self._read(0.1)
        while self._read(0):
            pass
        st = self.status
        return os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)

    def kill(self, sig=signal.SIGKILL):
        os.kill(self.pid, sig)

    def modes(self):
        return termios.tcgetattr(self.slave)

    def pending_input(self):
        """What was typed into the terminal and not read by anyone."""
        saved = termios.tcgetattr(self.slave)
        raw = list(saved)
        raw[3] &= ~(termios.ICANON | termios.ECHO)
        raw[6] = list(raw[6])
        raw[6][termios.VMIN] = 0
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(self.slave, termios.TCSANOW, raw)
        try:
            data = b""
            while True:
                r, _, _ = select.select([self.slave], [], [], 0)
                if not r:
                    break
                chunk = os.read(self.slave, 4096)
                if not chunk:
                    break
                data += chunk
            return data
        finally:
            termios.tcsetattr(self.slave, termios.TCSANOW, saved)

    def output(self):
        """Everything the command wrote so far."""
        return self.log
