#!/bin/bash
# Terminals (issue 11): run -t gives the app a pty of the pod's own devpts,
# wired to the caller's terminal (raw mode with -i, window size kept in
# sync); the caller's terminal modes are the same afterwards whatever ended
# the pod or the CLI; detached -t pods are reached with attach (ctrl-p ctrl-q
# detaches); without -t no app holds the caller's terminal, so an app cannot
# type into it (TIOCSTI). Every check is driven through a real pty
# (helpers/ptydrive.py, python's pty handling).
# shellcheck disable=SC2016 # the python in single quotes has its own $…
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
command -v python3 >/dev/null || t_skip "python3 is needed to drive a pty"
command -v cc >/dev/null || t_skip "no C compiler for the probe helper"
cc -static -O1 -o "$ROOT/bin/ttyprobe" "$(dirname "$0")/helpers/ttyprobe.c" 2>"$T_SCRATCH/cc.err" ||
	t_skip "cannot build a static probe: $(head -1 "$T_SCRATCH/cc.err")"
HELPERS=$(cd "$(dirname "$0")/helpers" && pwd)
export PODCTL ROOT HELPERS T_SCRATCH

# drive PYTHON: run a driver script (ptydrive's Term in scope, plus
# helpers); it prints "ok" last on success, anything else is the failure.
drive() {
	local out
	out=$(timeout 120 python3 - 2>&1 <<PYEOF
import os, re, sys, signal, subprocess, glob, time
sys.path.insert(0, os.environ["HELPERS"])
from ptydrive import Term
P = os.environ["PODCTL"]; ROOT = os.environ["ROOT"]
def sh(*a):
    return subprocess.run(list(a), capture_output=True, text=True)
def running_pod():
    """uuid and stage1 (supervisor) pid of the one running pod."""
    for d in glob.glob(os.environ["PODCTL_DIR"] + "/pods/run/*"):
        if os.path.exists(d + "/exit") or not os.path.exists(d + "/pid"):
            continue
        m = re.search(r'"stage1Pid":(\d+)', open(d + "/pid").read())
        if m:
            return os.path.basename(d), int(m.group(1))
    raise Exception("no running pod")
def check(cond, what):
    if not cond:
        print("FAIL:", what); sys.exit(1)
$1
print("ok")
PYEOF
)
	if [ "$(printf '%s\n' "$out" | tail -1)" = ok ]; then
		t_ok
	else
		t_fail "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"
	fi
}

t_begin "run -it: tty in the pod is /dev/pts/0 of the pod's own devpts, not the host's"
HOST_PTS=$(stat -c %D /dev/pts)
export HOST_PTS
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "tty; stat -c dev=%D /dev/pts; echo pts:$(ls /dev/pts | tr \"\\n\" \" \")"])
name = t.expect(r"/dev/pts/\d+").group(0)
dev = t.expect(r"dev=(\w+)").group(1).decode()
pts = t.expect(r"pts:([^\r\n]*)").group(1).decode().split()
check(t.wait() == 0, "exit code")
check(name == b"/dev/pts/0", "tty is %r" % name)
check(dev != os.environ["HOST_PTS"], "the pod sees the host devpts (%s)" % dev)
check(sorted(pts) == ["0", "ptmx"], "the pod devpts holds %r" % pts)
'

t_begin "run -it: the window size reaches the app at start and on every change (SIGWINCH)"
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "stty size; trap \"stty size\" WINCH; echo ready; while :; do sleep 0.05; done"], rows=33, cols=91)
check(t.expect(r"(\d+ \d+)").group(1) == b"33 91", "initial size")
t.expect("ready")
t.resize(40, 100)
t.expect(r"40 100")
t.resize(12, 50)
t.expect(r"12 50")
t.send("\x03")
t.wait()
'

t_begin "run -it: typed input reaches the app, ctrl-C is the app's, the exit code is the app's"
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "trap \"echo got-INT\" INT; read l; echo \"said $l\"; read l; exit 7"])
t.send("hello\r")
t.expect("said hello")
t.send("\x03")
t.expect("got-INT")
t.send("\r")
check(t.wait() == 7, "exit code")
check(t.modes() == t.modes_before, "terminal modes changed")
'

t_begin "run -it: raw while the pod runs, the modes back as they were after it exits"
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "echo ready; read l"])
t.expect("ready")
check(t.modes() != t.modes_before, "the terminal was not made raw")
t.send("\r")
check(t.wait() == 0, "exit code")
check(t.modes() == t.modes_before, "terminal modes changed")
'

t_begin "run -it, stage1 killed with SIGKILL: modes restored, exit 137, the end recorded"
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "echo ready; while :; do sleep 1; done"])
t.expect("ready")
uuid, s1 = running_pod()
os.kill(s1, signal.SIGKILL)
check(t.wait() == 137, "exit code")
check(t.modes() == t.modes_before, "terminal modes changed")
st = sh(P, "status", uuid).stdout
check(re.search(r"exit\s+137 \(stage1-killed", st), "status: " + st)
'

t_begin "run -it, the CLI killed with SIGKILL: the pod is stopped, its end recorded, modes restored"
drive '
t = Term([P, "run", "-it", ROOT, "--", "sh", "-c", "echo ready; while :; do sleep 1; done"])
t.expect("ready")
uuid, s1 = running_pod()
t.kill(signal.SIGKILL)
t.wait()
# the lock goes when the pod has exited; the modes were restored before
w = sh(P, "status", "--wait=30s", uuid)
check(w.returncode in (0, 143), "status --wait: %d %s" % (w.returncode, w.stderr))
check(t.modes() == t.modes_before, "terminal modes changed")
st = sh(P, "status", uuid).stdout
check(re.search(r"exit\s+\d+ \(stopped", st), "status: " + st)
'

t_begin "run -t without -i: stdin, stdout and stderr are the pod pty; the terminal is not made raw"
drive '
t = Term([P, "run", "-t", ROOT, "--", "sh", "-c", "/bin/ttyprobe fds; echo ready; read l"])
t.expect("ready")
check(all(b"fd %d: tty /dev/pts/0" % i in t.output() for i in range(3)), "stdio: %r" % t.output())
check(t.modes() == t.modes_before, "terminal modes changed")
t.kill(signal.SIGINT)
t.wait()
'

t_begin "without -t no app holds the caller's terminal (its stdio are pipes)"
drive '
t = Term([P, "run", "-i", ROOT, "--", "/bin/ttyprobe", "fds"])
t.expect("fd 9")
check(t.wait() == 0, "exit code")
out = t.output()
t2 = Term([P, "run", ROOT, "--", "/bin/ttyprobe", "fds"])
t2.expect("fd 9")
t2.wait()
both = out + t2.output()
check(b": tty" not in both, "an app got a terminal: %r" % both)
'

t_begin "adversarial: a privileged app cannot type into the caller's terminal (TIOCSTI), without -t"
drive '
t = Term([P, "run", "--cap-add=ALL", "--security-opt=seccomp=unconfined", ROOT, "--", "/bin/ttyprobe", "sti", "echo INJECTED"])
t.wait()
pending = t.pending_input()
check(b"INJECTED" not in pending, "injected into the caller terminal: %r (app said %r)" % (pending, t.output()))
'

t_begin "adversarial: with -t the app types into its own pty only, never the caller's"
drive '
t = Term([P, "run", "-t", "--cap-add=ALL", "--security-opt=seccomp=unconfined", ROOT, "--", "/bin/ttyprobe", "sti", "echo INJECTED"])
t.expect("fd 0: ok")
t.wait()
pending = t.pending_input()
check(b"INJECTED" not in pending, "injected into the caller terminal: %r" % pending)
'

t_begin "run -dt, attach: output and input flow, ctrl-p ctrl-q detaches, the pod runs on, attach again"
drive '
r = sh(P, "run", "-dt", ROOT, "--", "sh", "-c", "while read l; do echo \"said $l\"; stty size; done")
check(r.returncode == 0, "run -dt: " + r.stderr)
uuid = r.stdout.strip()
a = Term([P, "attach", uuid], rows=30, cols=70)
a.send("one\r")
a.expect("said one")
check(a.expect(r"(\d+ \d+)").group(1) == b"30 70", "size at attach")
check(a.modes() != a.modes_before, "not raw while attached")
a.send("\x10x\r")       # a lone ctrl-p is passed on
a.expect("said \x10?x")
a.send("\x10\x11")
check(a.wait() == 0, "attach exit code")
check(a.modes() == a.modes_before, "terminal modes changed by attach")
check("running" in sh(P, "status", uuid).stdout, "pod gone after detach")
b = Term([P, "attach", uuid], rows=25, cols=81)
b.send("two\r")
b.expect("said two")
b.resize(26, 82)
b.send("three\r")
b.expect("26 82")
b.send("\x10\x11")
check(b.wait() == 0, "second attach")
check(sh(P, "stop", uuid).returncode == 0, "stop")
'

t_begin "enter -t: a pty of the app's devpts for the command, sized and resized, modes restored"
drive '
r = sh(P, "run", "-d", "--wait-ready=30s", ROOT, "--", "sleep", "1000")
uuid = r.stdout.strip()
t = Term([P, "enter", "-t", uuid, "sh"], rows=21, cols=77)
t.send("tty; stty size\r")
check(t.expect(r"(/dev/pts/\d+)").group(1) == b"/dev/pts/0", "tty")
check(t.expect(r"(\d+ \d+)").group(1) == b"21 77", "size")
t.resize(30, 60)
t.send("stty size\r")
t.expect(r"30 60")
t.send("exit 4\r")
check(t.wait() == 4, "exit code")
check(t.modes() == t.modes_before, "terminal modes changed")
sh(P, "stop", "--timeout=1s", uuid)
'

t_begin "adversarial: enter never passes the caller's terminal in (a pty, or pipes for the terminal fds)"
drive '
r = sh(P, "run", "-d", "--wait-ready=30s", "--cap-add=ALL", "--security-opt=seccomp=unconfined", ROOT, "--", "sleep", "1000")
uuid = r.stdout.strip()
out = os.environ["T_SCRATCH"] + "/enter.out"
# stdout a file, stdin and stderr the terminal: pipes for those
t = Term(["sh", "-c", P + " enter " + uuid + " /bin/ttyprobe sti \"echo INJECTED\" >" + out +
          "; " + P + " enter " + uuid + " /bin/ttyprobe fds >>" + out])
t.wait()
got = open(out).read()
pending = t.pending_input()
check(b"INJECTED" not in pending, "injected into the caller terminal: %r" % pending)
check(": tty" not in got, "the command got a terminal: %r" % got)
# stdin and stdout terminals: a pty of the pod, as with -t
t = Term([P, "enter", uuid, "/bin/ttyprobe", "fds"])
t.wait()
check(b"fd 0: tty /dev/pts/0" in t.output() and b"fd 1: tty /dev/pts/0" in t.output(), "%r" % t.output())
t = Term([P, "enter", uuid, "sh", "-c", "read l; echo got $l; exit 3"])
t.send("abc\r")
t.expect("got abc")
check(t.wait() == 3, "exit code")
check(t.modes() == t.modes_before, "terminal modes changed")
sh(P, "stop", "--timeout=1s", uuid)
'

t_begin "attach to a pod without a terminal, an exited one, an unknown one: one line, exit 1/1/3"
U=$("$PODCTL" run -d "$ROOT" -- sleep 1000)
if expect_exit 1 "$PODCTL" attach "$U" && one_line && echo "$ERR" | grep -q "no terminal" &&
	"$PODCTL" stop --timeout=1s "$U" && expect_exit 1 "$PODCTL" attach "$U" && one_line &&
	expect_exit 3 "$PODCTL" attach no-such-pod && one_line; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_begin "-i without -t in the background is refused; -dit is fine; -t needs one app"
if expect_exit 2 "$PODCTL" run -di "$ROOT" -- true && U=$("$PODCTL" run -dit "$ROOT" -- cat) &&
	"$PODCTL" stop --timeout=1s "$U" >/dev/null; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_end
