#!/usr/bin/env python3
"""Thread-per-connection TCP echo server, stdlib only: the "threaded" server of the exercise.

Blocking sockets, one thread per client. It echoes the byte stream as it arrives (a read returns
whatever the kernel has, not "one message"), so large messages and split writes come back whole.
TCP_NODELAY is set so small echoes are not held back by Nagle; netlab's servers do the same.
Used by `netlab echo-bench --baseline python`.
"""
import argparse
import signal
import socket
import sys
import threading

READ_BYTES = 64 * 1024
LISTEN_BACKLOG = 4096


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = conn.recv(READ_BYTES)
                if not data:
                    return
                conn.sendall(data)
        except OSError:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    args = parser.parse_args()

    try:
        server = socket.create_server((args.host, args.port), backlog=LISTEN_BACKLOG)
    except OSError as err:
        print(f"threaded_echo: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"threaded echo listening on {args.host}:{args.port}", flush=True)
    with server:
        try:
            while True:
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
