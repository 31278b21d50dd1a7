#!/usr/bin/env python3
"""Ping-pong probe clients for bench/pingpong.mjs: many connections in one process that record,
for every keepalive line, when the kernel received it and when this process read it.

The kernel time (SO_TIMESTAMPNS, taken as the segment enters the client's TCP stack) is when the
keepalive reached the client. On loopback that happens inside the server's own send call, so it
does not depend on how soon this process gets a core to read: with the load clients on the same
2 cores as the server, their reading delay is the bench's, not the server's.

With --interval-min/--interval-max each connection also runs the exercise's protocol: a
`[n] PING` every interval (uniform), answers counted (not paired: the netlab client does that).

    pingpong_probe.py --port 7070 --connections 5000 --out arrivals.json [--interval-min 0.3 --interval-max 3]

Runs until SIGTERM, then writes {"keepalives": {k: [[kernel_epoch_ms, read_epoch_ms], ...]}, ...}.
"""
import argparse
import heapq
import json
import random
import selectors
import signal
import socket
import struct
import time

SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)  # Linux; the constant is missing from some Pythons
TIMESPEC = struct.Struct('qq')
CMSG_BYTES = socket.CMSG_SPACE(TIMESPEC.size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--connections', type=int, required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--interval-min', type=float, default=0, help='seconds; 0: never PING')
    parser.add_argument('--interval-max', type=float, default=0)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    sel = selectors.EpollSelector()
    conns = {}  # fileno -> [socket, pending bytes, next n]
    for i in range(args.connections):
        s = socket.create_connection((args.host, args.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setblocking(False)
        conns[s.fileno()] = [s, b'', 0]
        sel.register(s, selectors.EVENT_READ)
        if i % 200 == 199:
            time.sleep(0.01)  # do not overflow the server's accept backlog
    print(json.dumps({'connected': len(conns)}), flush=True)

    keepalives = {}
    counts = {'pongs': 0, 'pings': 0, 'other': 0, 'closed': 0}
    pinging = args.interval_max > 0
    timers = []
    if pinging:
        now = time.monotonic()
        timers = [(now + rng.uniform(args.interval_min, args.interval_max), fd) for fd in conns]
        heapq.heapify(timers)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

    while not stopping and conns:
        timeout = 0.5  # a bound, so SIGTERM is seen even with nothing to read (select is retried after a signal)
        if timers:
            timeout = min(timeout, max(0.0, timers[0][0] - time.monotonic()))
        for key, _ in sel.select(timeout):
            fd = key.fd
            conn = conns.get(fd)
            if conn is None:
                continue
            try:
                data, ancillary, _, _ = conn[0].recvmsg(65536, CMSG_BYTES)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data, ancillary = b'', []
            read_ms = time.time() * 1000
            if not data:
                sel.unregister(conn[0])
                conn[0].close()
                del conns[fd]
                counts['closed'] += 1
                continue
            kernel_ms = read_ms
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = TIMESPEC.unpack(payload[:TIMESPEC.size])
                    kernel_ms = sec * 1000 + nsec / 1e6
            lines = (conn[1] + data).split(b'\n')
            conn[1] = lines.pop()
            last = len(lines) - 1
            for i, line in enumerate(lines):
                line = line.rstrip(b'\r')
                if line.endswith(b'] keepalive'):
                    # The kernel time is that of the newest segment this read took: exact for the last
                    # line of the read, an upper bound for a line that was followed by more.
                    exact = 1 if i == last and not conn[1] else 0
                    keepalives.setdefault(line[1:line.index(b']')].decode(), []).append([round(kernel_ms, 3), round(read_ms, 3), exact])
                elif line.endswith(b')') and b' PONG (' in line:
                    counts['pongs'] += 1
                else:
                    counts['other'] += 1
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            _, fd = heapq.heappop(timers)
            conn = conns.get(fd)
            if conn is None:
                continue
            try:
                conn[0].send(b'[%d] PING\n' % conn[2])
                conn[2] += 1
                counts['pings'] += 1
            except OSError:
                pass
            heapq.heappush(timers, (now + rng.uniform(args.interval_min, args.interval_max), fd))

    with open(args.out, 'w') as f:
        json.dump({'connections': args.connections, 'open': len(conns), **counts, 'keepalives': keepalives}, f)


if __name__ == '__main__':
    main()
