#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server on loopback for the tests (unit and
end-to-end).  Every message it accepts is saved as one file in --dir:
NNNNNN.eml holding two envelope lines (X-Sink-Mail-From, X-Sink-Rcpt-To)
and then the message exactly as received.  Files appear atomically
(written to a hidden temporary name, then renamed).

  /usr/bin/python3 tests/tools/smtp_sink.py --port 2525 --dir DIR
  --port 0 picks a free port; the line printed is then "ready PORT".
  --reject CODE answers every DATA with CODE (e.g. 451: try again later).

Prints "ready PORT" on standard output once it is listening and runs until
killed (SIGTERM / SIGINT).  Uses Debian's python3-aiosmtpd.
"""
import argparse
import asyncio
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Saver:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = reject
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return "%d sink told to refuse" % self.reject
        self.count += 1
        name = "%06d-%d.eml" % (self.count, os.getpid())
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        head = "X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        with open(tmp, "wb") as f:
            f.write(head.encode("ascii", "replace"))
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 OK saved"


async def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Saver(args.dir, args.reject)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", loop=loop),
        args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print("ready %d" % port, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
