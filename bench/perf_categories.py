#!/usr/bin/python3
"""perf_categories.py - where a bridge's CPU goes, by library, from
`perf script -F comm,tid,ip,sym,dso` of a `perf record --call-graph dwarf` (bench/profile.sh).

Each sample is charged to the leaf-most frame that belongs to a known library (LMDB,
protobuf-c, czmq, libzmq, the kernel, printf) or to the xtbridge binary (then to that
bridge function). malloc/free is charged as "malloc/free called from X", X being the
first caller outside libc, because who allocates is what one can change. Samples of the
libzmq I/O thread are one line. Prints percentages of all samples.
"""
import collections
import re
import sys


def lib(dso):
    return dso.split('/')[-1].split('.so')[0]


CATEGORIES = [
    ('lmdb', lambda s, d: 'liblmdb' in d),
    ('protobuf-c (pack/unpack)', lambda s, d: 'libprotobuf-c' in d),
    ('czmq (zmsg/zframe/zlist objects)', lambda s, d: 'libczmq' in d and s != 'zloop_start'),
    ('libzmq (send/recv/poll)', lambda s, d: 'libzmq' in d),
    ('kernel', lambda s, d: 'kernel' in d),
    ('printf family (snprintf/sprintf)',
     lambda s, d: 'libc' in d and ('printf' in s or s.startswith('_IO_'))),
    ('malloc/free', lambda s, d: 'libc' in d and re.search(
        r'malloc|calloc|free|_int_|consolidate|unlink_chunk|realloc|tcache', s)),
]


def charge(comm, frames, counts):
    if comm.startswith('ZMQbg'):
        counts['libzmq I/O thread (all of it)'] += 1
        return
    for i, (sym, dso) in enumerate(frames):
        for name, match in CATEGORIES:
            if match(sym, dso):
                if name == 'malloc/free':
                    caller = next(((s, d) for s, d in frames[i:]
                                   if 'libc.so' not in d and d != 'inlined'), ('?', '?'))
                    name += ' called from ' + (caller[0] if 'xtbridge' in caller[1]
                                               else lib(caller[1]))
                if name == 'kernel':
                    faults = any('page_fault' in f for f, _ in frames)
                    name += ': page faults' if faults else ': syscalls, scheduling'
                counts[name] += 1
                return
        if 'xtbridge' in dso:
            counts['bridge code: ' + sym] += 1
            return
    counts['other: ' + (frames[0][0] if frames else '?')] += 1


def main():
    counts = collections.Counter()
    comm, frames, seen = None, [], False
    frame_re = re.compile(r'\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$')
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line.strip():
            continue
        if line[0] not in ' \t':
            if seen:
                charge(comm, frames, counts)
            comm, frames, seen = line.split()[0], [], True
            continue
        m = frame_re.match(line)
        if m:
            frames.append((re.sub(r'\+0x[0-9a-f]+$', '', m.group(1)), m.group(2)))
    if seen:
        charge(comm, frames, counts)
    total = sum(counts.values())
    if not total:
        print('no samples')
        return
    small = 0
    for name, n in counts.most_common():
        if n * 100.0 / total < 1.5:
            small += n
            continue
        print(f'{n * 100.0 / total:6.1f}%  {name}')
    print(f'{small * 100.0 / total:6.1f}%  other entries under 1.5% each')
    print(f'({total} samples)')


if __name__ == '__main__':
    main()
