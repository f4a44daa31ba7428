#!/usr/bin/env python3
"""Check an strace -f -y log of podctl for the brief's durable-write order.

For what the brief calls durable (a pod's manifest, info, apps/*/image and
exit marker; moves into prepared/ and run/; image blobs, trees, index records
and names.json): the file's data is synced before it gets its name (fsync of
the file, or syncfs of its filesystem for a tree), and the directory that
holds the new name is fsynced after it, before the process exits. Prints
each violation; exits 1 if there is any.

    strace -f -y -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,linkat -o LOG CMD
    durability-check.py [--run] LOG

--run: the contract of `podctl run` (Documentation/devel/decisions.md), whose
prepare is not synced: a pod's files written in prepare/ and its move to run/
need no fsync then, but its exit marker is named only after the same process
fsynced the pod's manifest and info, the run/ dir and the prepare/ dir (the
record survives with the exit), and the pod dir is fsynced after it as always.
"""
import re
import sys

CALL = re.compile(r'^(\d+) +(\w+)\((.*)\) += (-?\d+)')
FD = re.compile(r'(-?\d+|AT_FDCWD)<([^>]*)>(\(deleted\))?')


def fd_paths(args):
    return [(m.group(2), bool(m.group(3))) for m in FD.finditer(args)]


def strings(args):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', args)


def durable_name(dirpath, name):
    full = dirpath + '/' + name
    if re.search(r'/pods/(prepare|prepared|run)/[0-9a-f-]{36}/(manifest|info|exit)$', full):
        return True
    if re.search(r'/pods/(prepare|prepared|run)/[0-9a-f-]{36}/apps/[^/]+/image$', full):
        return True
    if re.search(r'/images/(index/sha256-[0-9a-f]{64}\.json|names\.json)$', full):
        return True
    if re.search(r'/images/(blobs/sha256/[0-9a-f]{64}|trees/sha256-[0-9a-f]{64})$', full):
        return True
    return False


def main(path, run_mode=False):
    events = []
    for line in open(path, errors='replace'):
        m = CALL.match(line)
        if not m or int(m.group(4)) < 0:
            continue
        events.append((int(m.group(1)), m.group(2), m.group(3)))
    bad = []
    synced_files = {}      # pid -> set of file paths fsynced
    synced_deleted = {}    # pid -> count of fsyncs of unnamed (O_TMPFILE) files
    synced_fs = {}         # pid -> a syncfs happened
    pending_dirs = {}      # pid -> {dir: what} dirs that need an fsync
    checked = 0
    for pid, call, args in events:
        fds = fd_paths(args)
        if call in ('fsync', 'fdatasync'):
            p, deleted = fds[0] if fds else ('', False)
            if deleted:
                synced_deleted[pid] = synced_deleted.get(pid, 0) + 1
            synced_files.setdefault(pid, set()).add(p)
            pending_dirs.get(pid, {}).pop(p, None)
        elif call == 'syncfs':
            synced_fs[pid] = True
        elif call in ('rename', 'renameat', 'renameat2', 'linkat'):
            names = strings(args)
            if call == 'linkat':
                if len(fds) < 2 or len(names) < 2:
                    continue
                src = fds[0][0] + ('/' + names[0] if names[0] else '')
                ddir, dname = fds[1][0], names[1]
            else:
                if len(fds) < 2 or len(names) < 2:
                    continue
                src = fds[0][0] + '/' + names[0]
                ddir, dname = fds[1][0], names[1]
            transition = re.search(r'/pods/(prepare|prepared)$', fds[0][0]) and \
                re.search(r'/pods/(prepared|run)$', ddir)
            if transition and run_mode and fds[0][0].endswith('/pods/prepare'):
                continue
            if transition:
                checked += 1
                pod = src
                # Content written by this prepare: synced before the move.
                # (A prepared pod's content was synced by its prepare.)
                if fds[0][0].endswith('/pods/prepare') and pod not in synced_files.get(pid, set()):
                    bad.append(f'pid {pid}: {src} moved to {ddir} before the pod dir was fsynced')
                pending_dirs.setdefault(pid, {})[ddir] = f'move of {dname} into it'
                continue
            if not durable_name(ddir, dname):
                continue
            if run_mode and re.search(r'/pods/prepare/', ddir + '/'):
                continue
            checked += 1
            if run_mode and dname == 'exit' and re.search(r'/pods/run/[0-9a-f-]{36}$', ddir):
                run_dir = ddir.rsplit('/', 1)[0]
                prepare_dir = run_dir.rsplit('/', 1)[0] + '/prepare'
                for need in (ddir + '/manifest', ddir + '/info', run_dir, prepare_dir):
                    if need not in synced_files.get(pid, set()):
                        bad.append(f'pid {pid}: {ddir}/exit named before {need} was fsynced')
            data_synced = src in synced_files.get(pid, set()) or synced_fs.get(pid) or \
                (call == 'linkat' and synced_deleted.get(pid, 0) > 0)
            if not data_synced:
                bad.append(f'pid {pid}: {ddir}/{dname} named before its data was synced')
            synced_fs[pid] = False
            if call == 'linkat':
                synced_deleted[pid] = 0
            pending_dirs.setdefault(pid, {})[ddir] = dname
    for pid, dirs in pending_dirs.items():
        for d, what in dirs.items():
            bad.append(f'pid {pid}: {d} never fsynced after {what}')
    for b in bad:
        print(b)
    print(f'# {checked} durable names checked, {len(bad)} violations')
    return 1 if bad or checked == 0 else 0


if __name__ == '__main__':
    args = sys.argv[1:]
    run = args[:1] == ['--run']
    sys.exit(main(args[-1], run_mode=run))
