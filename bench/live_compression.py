"""Bytes on the wire for a live page with and without permessage-deflate, and what compression costs the server.

Two WebSocket clients join the same session of a running server: one offers permessage-deflate (as every
browser does), one does not. Each counts the TCP bytes it receives (frame headers included) for the
session catch-up (``session:join`` from seq 0) and for one ``note:added`` broadcast. Then, offline, the
server side's compressor (wsproto's PerMessageDeflate, which simple-websocket uses) is timed on those same
frames, and the memory one connection's compressor and decompressor hold is measured, since the server keeps
both for the life of each socket.

    roundtable demo && roundtable serve --port 5077 &
    python bench/live_compression.py --url http://127.0.0.1:5077 --email notes@demo.example \\
        --password 'demo lantern harbor' --session 5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
import uuid
from contextlib import ExitStack
import zlib
from types import SimpleNamespace
from urllib.parse import urlparse

from websockets.sync.client import connect
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode, RsvBits

from roundtable.live_clients import login_cookie


class CountingSocket(socket.socket):
    """A TCP socket that counts the bytes it receives: what crossed the wire, before any decompression."""

    received = 0

    def recv(self, size, *flags):
        data = super().recv(size, *flags)
        self.received += len(data)
        return data


def open_client(stack: ExitStack, url: str, cookie: str, compression: str | None):
    host = urlparse(url)
    sock = CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((host.hostname, host.port))
    ws = stack.enter_context(connect(f"ws://{host.hostname}:{host.port}/socket.io/?EIO=4&transport=websocket",
                                     sock=sock, compression=compression, additional_headers={"Cookie": cookie},
                                     max_size=None))
    ws.recv()                         # engine.io open
    ws.send("40")                     # socket.io connect (the login cookie authorises it)
    while not ws.recv().startswith("40"):
        pass
    return ws, sock


def until(ws, prefix: str) -> str:
    """The next text frame that starts with ``prefix`` (engine.io pings are answered on the way)."""
    while True:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith(prefix):
            return frame


def measure(args) -> dict:
    cookie = login_cookie(args.url, args.email, args.password)
    with ExitStack() as stack:
        clients = {name: open_client(stack, args.url, cookie, compression)
                   for name, compression in (("deflate", "deflate"), ("plain", None))}
        writer, _sock = open_client(stack, args.url, cookie, None)  # sends the note; its bytes are not counted
        result = {"negotiated": {name: ws.response.headers.get("Sec-WebSocket-Extensions")
                                 for name, (ws, _s) in clients.items()}}
        frames = {}
        for name, (ws, sock) in clients.items():
            before = sock.received
            ws.send("421" + json.dumps(["session:join", {"session_id": args.session, "after": 0}]))
            frames["catch-up"] = until(ws, "431")
            result.setdefault("catch-up", {})[name] = sock.received - before
        writer.send("421" + json.dumps(["session:join", {"session_id": args.session, "after": 0}]))
        until(writer, "431")
        before = {name: sock.received for name, (_ws, sock) in clients.items()}
        writer.send("422" + json.dumps(["note:add", {"session_id": args.session, "uuid": str(uuid.uuid4()),
                                                     "kind": "point", "text": args.note}]))
        for name, (ws, sock) in clients.items():
            frames["note:added"] = until(ws, '42["note:added"')
            result.setdefault("note:added", {})[name] = sock.received - before[name]
        until(writer, "432")
    notes = json.loads(frames["catch-up"][3:])[0]["notes"]
    result["catch-up"]["notes"] = len(notes)
    # The session's notes one after another, as a page receives them live: one compressor keeps its window.
    stream = ['42' + json.dumps(["note:added", note], separators=(",", ":")) for note in notes]
    result["cost"] = compression_cost(frames["catch-up"], stream, args.repeat)
    return result


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def compression_cost(catch_up: str, stream: list[str], repeat: int) -> dict:
    """CPU of the server's compressor per frame (the catch-up; the notes in turn, as live broadcasts), and the
    memory a connection's compressor and decompressor hold."""
    server = SimpleNamespace(client=False)
    no_bits = RsvBits(False, False, False)

    def compressor():
        deflate = PerMessageDeflate()
        deflate.accept("permessage-deflate; client_max_window_bits")  # what Chromium offers
        return deflate

    start = time.process_time()
    for _ in range(repeat):
        compressor().frame_outbound(server, Opcode.TEXT, no_bits, catch_up.encode(), True)
    cost = {"catch-up": {"bytes": len(catch_up), "cpu_us": round((time.process_time() - start) / repeat * 1e6, 1)}}
    start, sent = time.process_time(), 0
    for _ in range(max(1, repeat // len(stream))):
        deflate = compressor()
        for frame in stream:
            sent += len(deflate.frame_outbound(server, Opcode.TEXT, no_bits, frame.encode(), True)[1])
    frames = max(1, repeat // len(stream)) * len(stream)
    cost["note:added"] = {"bytes": round(sum(map(len, stream)) / len(stream)), "compressed_bytes": round(sent / frames),
                          "cpu_us": round((time.process_time() - start) / frames * 1e6, 1)}
    # Each socket keeps its compressor (context takeover) and, once the browser sends a compressed frame, a
    # decompressor, for its whole life: their resident memory, over a thousand connections.
    sample = stream[-1].encode()
    incoming = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    compressed = incoming.compress(sample) + incoming.flush(zlib.Z_SYNC_FLUSH)
    before, kept = rss_kib(), []
    for _ in range(1000):
        deflate = PerMessageDeflate()
        deflate.accept("permessage-deflate; client_max_window_bits")
        deflate.frame_outbound(server, Opcode.TEXT, RsvBits(False, False, False), sample, True)
        inflate = zlib.decompressobj(-15)
        inflate.decompress(compressed)
        kept.append((deflate, inflate))
    cost["per_connection_kib"] = round((rss_kib() - before) / 1000, 1)
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--session", type=int, required=True, help="the session's id")
    parser.add_argument("--note", default="a community organizer said the hotline numbers helped trust; rumors down")
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args)
    result["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(result))
        return
    print(f"negotiated: {result['negotiated']}")
    for what in ("catch-up", "note:added"):
        row = result[what]
        print(f"{what}: {row['plain']:,} bytes plain, {row['deflate']:,} with permessage-deflate "
              f"({row['deflate'] / row['plain']:.2f}x)" + (f", {row['notes']} notes" if "notes" in row else ""))
    cost = result["cost"]
    print(f"server compressor, the catch-up frame ({cost['catch-up']['bytes']:,} bytes): {cost['catch-up']['cpu_us']} us CPU")
    print(f"server compressor, the session's notes in turn as note:added (mean {cost['note:added']['bytes']} bytes, "
          f"{cost['note:added']['compressed_bytes']} compressed): {cost['note:added']['cpu_us']} us CPU per frame")
    print(f"memory per connection's compressor and decompressor: {result['cost']['per_connection_kib']} KiB")
    print(f"load average: {result['load_average']}")


if __name__ == "__main__":
    main()
