#!/usr/bin/env python3
"""Talk to `charfinder --tcp` as its clients would, and check its answers.

    tcp_client.py PORT SCENARIO...

Scenarios run one after the other; each has its own connections. Exit 0
when every check passed; otherwise a message on stderr and exit 1.
Used by tests/test_charfinder.c.
"""
import asyncio
import socket
import sys

HOST = "127.0.0.1"
PROMPT = b"?> "
TIMEOUT = 20  # seconds, per step: a hang is a failure, not a stuck test
CAT_FACE = "U+1F431\t\U0001F431\tCAT FACE"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


async def step(aw):
    return await asyncio.wait_for(aw, TIMEOUT)


class Session:
    """One connection: prompt, query, answer (lines up to a blank one)."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer

    @classmethod
    async def open(cls, port):
        r, w = await step(asyncio.open_connection(HOST, port))
        return cls(r, w)

    async def prompt(self):
        got = await step(self.r.readexactly(len(PROMPT)))
        check(got == PROMPT, f"prompt: expected {PROMPT!r}, got {got!r}")

    async def query(self, q, eol=b"\n"):
        """Send q, return the answer's lines (decoded, without eol)."""
        self.w.write(q.encode() + eol)
        await step(self.w.drain())
        lines = []
        while True:
            raw = await step(self.r.readline())
            check(raw.endswith(eol), f"{q!r}: line {raw!r} does not end in {eol!r}")
            line = raw[: -len(eol)].decode()
            check("\r" not in line, f"{q!r}: stray CR in {raw!r}")
            if line == "":
                return lines
            lines.append(line)

    async def expect_eof(self, what):
        rest = await step(self.r.read())
        check(rest == b"", f"{what}: expected the end, got {rest[:80]!r}")

    async def close(self):
        self.w.close()
        await step(self.w.wait_closed())


def codes(lines):
    out = []
    for ln in lines:
        parts = ln.split("\t")
        check(len(parts) == 3, f"line {ln!r}: not 3 tab-separated fields")
        check(parts[0].startswith("U+") and len(parts[0]) >= 6, f"code {parts[0]!r}")
        out.append(int(parts[0][2:], 16))
    check(out == sorted(out) and len(set(out)) == len(out),
          "results not in increasing code point order")
    return out


async def basic(port):
    s = await Session.open(port)
    await s.prompt()
    cat = await s.query("cat face")
    check(CAT_FACE in cat, f"'cat face' lacks {CAT_FACE!r}: {cat}")
    check(all("CAT" in ln and "FACE" in ln for ln in cat), "a result lacks a word")
    codes(cat)
    await s.prompt()
    check(await s.query("  CAT   Face ") == cat, "case and blanks change the answer")
    await s.prompt()
    dollar = await s.query("sign dollar")
    check("U+0024\t$\tDOLLAR SIGN" in dollar, f"'sign dollar': {dollar}")
    await s.prompt()
    check(await s.query("xyzzy") == [], "a word in no name matched")
    await s.prompt()
    check(await s.query("cat xyzzy") == [], "not every word had to match")
    await s.prompt()
    # A control character has no raw form in the answer.
    nul = await s.query("null")
    check("U+0000\t\tNULL" in nul, f"'null': {nul}")
    await s.prompt()
    # The empty line ends the session: the server closes.
    s.w.write(b"\n")
    await s.expect_eof("after the empty line")
    await s.close()


async def crlf(port):
    s = await Session.open(port)
    await s.prompt()
    cat = await s.query("cat face", eol=b"\r\n")
    check(CAT_FACE in cat, f"CRLF 'cat face': {cat}")
    await s.prompt()
    s.w.write(b"\r\n")
    await s.expect_eof("after the empty CRLF line")
    await s.close()


async def one_client(port, i):
    s = await Session.open(port)
    queries = ["cat face", "sign dollar", "latin capital letter a", "arrow"]
    want = {"cat face": 10}
    for k in range(4):
        q = queries[(i + k) % len(queries)]
        await s.prompt()
        lines = await s.query(q)
        check(lines, f"client {i}: {q!r} found nothing")
        if q in want:
            check(len(lines) == want[q], f"client {i}: {q!r} gave {len(lines)}")
        codes(lines)
    await s.prompt()
    s.w.write_eof()  # the end of the input ends the session too
    await s.expect_eof(f"client {i} after EOF")
    await s.close()


async def concurrent(port):
    await asyncio.gather(*(one_client(port, i) for i in range(32)))


async def eof(port):
    # The last line needs no newline: EOF ends it, and then the session.
    s = await Session.open(port)
    await s.prompt()
    s.w.write(b"cat face")
    s.w.write_eof()
    rest = (await step(s.r.read())).decode()
    check(rest.startswith(CAT_FACE + "\n"), f"unterminated query: {rest[:80]!r}")
    check(rest.endswith("\n\n" + PROMPT.decode()), f"answer then prompt: {rest[-80:]!r}")
    await s.close()


async def overlong(port):
    s = await Session.open(port)
    await s.prompt()
    s.w.write(b"x" * 5000 + b"\n")
    line = await step(s.r.readline())
    check(line.startswith(b"error:") and b"1024" in line, f"overlong: {line!r}")
    await s.expect_eof("after the error")
    await s.close()
    # The server is still fine.
    s = await Session.open(port)
    await s.prompt()
    check(CAT_FACE in await s.query("cat face"), "server broken after overlong")
    await s.close()


async def limit(port):
    # 1024 bytes is the longest line taken; the padding is blanks.
    s = await Session.open(port)
    await s.prompt()
    q = "cat face" + " " * (1024 - len("cat face"))
    check(CAT_FACE in await s.query(q), "a 1024-byte line was refused")
    await s.close()


async def garbage(port):
    # What telnet sends for Ctrl-C (IAC IP ...): not text, so an error.
    s = await Session.open(port)
    await s.prompt()
    s.w.write(b"\xff\xf4\xff\xfd\x06\r\n")
    line = await step(s.r.readline())
    check(line.startswith(b"error:"), f"garbage: {line!r}")
    await s.expect_eof("after garbage")
    await s.close()


async def big(port):
    # ~98,000 lines (2.7 MB) through the stream's back-pressure.
    s = await Session.open(port)
    await s.prompt()
    lines = await s.query("cjk ideograph")
    check(len(lines) > 90000, f"'cjk ideograph': only {len(lines)} lines")
    check("U+4E00\t\u4e00\tCJK UNIFIED IDEOGRAPH-4E00" in lines, "U+4E00 missing")
    codes(lines)
    await s.prompt()
    await s.close()


async def vanish(port):
    # Clients that go away mid-answer or mid-line do not hurt the server.
    for q in (b"cjk\n", b"cat fa"):
        r, w = await step(asyncio.open_connection(HOST, port))
        w.write(q)
        await step(w.drain())
        w.transport.abort()
    await basic(port)


def plain_socket(port):
    # No asyncio: a blocking socket, reading to the blank line.
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        f = sock.makefile("rwb")
        check(f.read(3) == PROMPT, "plain socket: prompt")
        f.write(b"sign dollar\n")
        f.flush()
        lines = []
        while (ln := f.readline()) != b"\n":
            check(ln != b"", "plain socket: EOF before the blank line")
            lines.append(ln.decode().rstrip("\n"))
        check("U+0024\t$\tDOLLAR SIGN" in lines, f"plain socket: {lines}")
        check(f.read(3) == PROMPT, "plain socket: second prompt")
        f.write(b"\n")
        f.flush()
        check(f.read() == b"", "plain socket: not closed after empty line")


SCENARIOS = {
    "basic": basic, "crlf": crlf, "concurrent": concurrent, "eof": eof,
    "overlong": overlong, "limit": limit, "garbage": garbage, "big": big,
    "vanish": vanish,
}


def main():
    port = int(sys.argv[1])
    name = "?"
    try:
        for name in sys.argv[2:]:
            if name == "socket":
                plain_socket(port)
            else:
                asyncio.run(SCENARIOS[name](port))
    except (Failure, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        print(f"tcp_client.py {name}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
