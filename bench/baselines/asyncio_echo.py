#!/usr/bin/env python3
"""asyncio TCP echo server, stdlib only: the "async" server of the exercise.

One event loop, asyncio streams. It echoes the byte stream as it arrives and awaits drain() after
each write, so a client that stops reading pauses its own echo instead of growing the buffer.
asyncio sets TCP_NODELAY on its TCP connections. Used by `netlab echo-bench --baseline python`.
"""
import argparse
import asyncio
import signal
import sys

READ_BYTES = 64 * 1024
LISTEN_BACKLOG = 4096


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_BYTES):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int) -> int:
    try:
        server = await asyncio.start_server(handle, host, port, backlog=LISTEN_BACKLOG)
    except OSError as err:
        print(f"asyncio_echo: cannot listen on {host}:{port}: {err}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"asyncio echo listening on {host}:{port}", flush=True)
    await stop.wait()
    # No wait_closed(): on Python 3.12+ it waits for every client; asyncio.run cancels the handlers.
    server.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8889)
    args = parser.parse_args()
    return asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    sys.exit(main())
