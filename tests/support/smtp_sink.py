#!/usr/bin/python3
"""smtp_sink.py — a local SMTP server for the mail tests (Debian's
python3-aiosmtpd): accepts every message and saves it, so a test reads what
really arrived over SMTP.

    smtp_sink.py --dir DIR [--port N] [--port-file FILE] [--delay SECONDS]

Each message becomes DIR/<n>.eml (the DATA as received, CRLF line ends) and
DIR/<n>.rcpt (the envelope: "MAIL FROM" then one line per RCPT TO), written
under a temporary name and renamed, so a reader never sees half of one.
--port 0 (the default) takes a free port; FILE then receives it once the
server listens. Runs until SIGTERM or SIGINT. No TLS and no AUTH are
offered: the mailer's STARTTLS-when-offered (CURLUSESSL_TRY) sends in clear.
--delay makes each DATA answer wait (a slow server: concurrent senders overlap).
"""
import argparse
import asyncio
import itertools
import os
import signal

from aiosmtpd.smtp import SMTP


class Saver:
    def __init__(self, folder, delay):
        self.folder = folder
        self.delay = delay
        self.count = itertools.count(1)

    def _write(self, name, data):
        tmp = os.path.join(self.folder, "." + name + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.folder, name))

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        n = next(self.count)
        rcpt = "\n".join([envelope.mail_from or ""] + list(envelope.rcpt_tos)) + "\n"
        self._write("%d.rcpt" % n, rcpt.encode())
        self._write("%d.eml" % n, envelope.original_content)
        return "250 OK saved"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--delay", type=float, default=0)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    saver = Saver(args.dir, args.delay)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(saver, enable_SMTPUTF8=True, hostname="sink.local"), "127.0.0.1", args.port)
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".part"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.run_forever()
    server.close()
    loop.run_until_complete(server.wait_closed())


if __name__ == "__main__":
    main()
