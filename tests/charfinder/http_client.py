#!/usr/bin/env python3
"""Check `charfinder --http` with python3's http.client.

    http_client.py PORT SCENARIO...

Exit 0 when every check passed; otherwise a message on stderr and exit 1.
Used by tests/test_charfinder.c.
"""
import concurrent.futures
import html.parser
import http.client
import json
import sys
import urllib.parse

HOST = "127.0.0.1"
TIMEOUT = 20
CAT = {"code": "U+1F431", "char": "\U0001F431", "name": "CAT FACE"}
CAT_ROW = "<tr><td>U+1F431</td><th>\U0001F431</th><td>CAT FACE</td></tr>"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def get(conn, target, method="GET", headers=None):
    conn.request(method, target, headers=headers or {})
    r = conn.getresponse()
    return r.status, r, r.read()


def q(words, **extra):
    return "/?" + urllib.parse.urlencode({"query": words, **extra})


class Page(html.parser.HTMLParser):
    """The parts of the page the checks need: inputs and table rows."""

    def __init__(self):
        super().__init__()
        self.inputs, self.rows, self.cell, self.stack = [], [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def parse_page(body):
    p = Page()
    p.feed(body.decode("utf-8"))
    p.close()
    return p


def html_pages(conn):
    st, r, body = get(conn, q("cat face"))
    check(st == 200, f"html: status {st}")
    check(r.getheader("Content-Type").startswith("text/html"), "html: type")
    text = body.decode()
    check(CAT_ROW in text, f"html: no row {CAT_ROW!r}")
    page = parse_page(body)
    query = [i for i in page.inputs if i.get("name") == "query"]
    check(query and query[0].get("value") == "cat face", f"html: form {page.inputs}")
    check(len(page.rows) == 10, f"html: {len(page.rows)} rows")
    check(all("CAT" in row[2] and "FACE" in row[2] for row in page.rows), "html: rows")
    # The form alone.
    st, r, body = get(conn, "/")
    text = body.decode()
    check(st == 200 and 'name="query"' in text and "<table>" not in text,
          "html: the bare form")
    check("Enter words" in text, "html: the invitation")
    # No match: the form and a message.
    st, r, body = get(conn, q("xyzzy"))
    check(st == 200 and "No match" in body.decode() and b"<tr>" not in body,
          "html: no match")


def html_escaping(conn):
    st, r, body = get(conn, q("less-than sign"))
    text = body.decode()
    check("<th>&lt;</th><td>LESS-THAN SIGN</td>" in text, "escaping: the row")
    # What the user typed comes back escaped, in the form and the message.
    st, r, body = get(conn, q('<b>"amp" & \'x\'</b>'))
    text = body.decode()
    check(st == 200 and "<b>" not in text, "escaping: raw <b> in the page")
    page = parse_page(body)
    query = [i for i in page.inputs if i.get("name") == "query"]
    check(query[0]["value"] == '<b>"amp" & \'x\'</b>', f"escaping: value {query}")
    st, r, body = get(conn, q("quotation mark"))
    check("<th>&quot;</th><td>QUOTATION MARK</td>" in body.decode(), "escaping: quote")


def json_answers(conn):
    st, r, body = get(conn, q("cat face"), headers={"Accept": "application/json"})
    check(st == 200, f"json accept: status {st}")
    check(r.getheader("Content-Type").startswith("application/json"), "json: type")
    data = json.loads(body)
    check(isinstance(data, list) and data[0] == CAT and len(data) == 10,
          f"json accept: {data[:2]}")
    codes = [int(d["code"][2:], 16) for d in data]
    check(codes == sorted(codes), "json: order")
    # A browser's Accept gets HTML; format=json wins over it.
    st, r, body = get(conn, q("cat face"),
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    check(r.getheader("Content-Type").startswith("text/html"), "browser: html")
    st, r, body = get(conn, q("cat face", format="json"),
                      headers={"Accept": "text/html"})
    check(json.loads(body) == data, "format=json")
    # What JSON must escape, and unprintable characters as escapes.
    data = json.loads(get(conn, q("quotation mark", format="json"))[2])
    check({"code": "U+0022", "char": '"', "name": "QUOTATION MARK"} in data, "json: quote")
    data = json.loads(get(conn, q("reverse solidus", format="json"))[2])
    check({"code": "U+005C", "char": "\\", "name": "REVERSE SOLIDUS"} in data, "json: backslash")
    raw = get(conn, q("null", format="json"))[2]
    check(b"\x00" not in raw, "json: raw NUL")
    check({"code": "U+0000", "char": "\x00", "name": "NULL"} in json.loads(raw), "json: NUL")
    # Nothing, and no query at all: an empty array.
    check(json.loads(get(conn, q("xyzzy", format="json"))[2]) == [], "json: no match")
    check(json.loads(get(conn, "/?format=json")[2]) == [], "json: no query")


def big(conn):
    # ~98,000 objects: streamed in chunks.
    st, r, body = get(conn, q("cjk", format="json"))
    data = json.loads(body)
    check(st == 200 and len(data) > 90000, f"big: {st} {len(data)}")
    check({"code": "U+4E00", "char": "\u4e00", "name": "CJK UNIFIED IDEOGRAPH-4E00"}
          in data, "big: U+4E00")
    st, r, body = get(conn, q("cjk"))
    check(st == 200 and len(parse_page(body).rows) == len(data), "big: html rows")


def errors(conn):
    st, r, body = get(conn, "/nope?query=cat")
    check(st == 404, f"404: {st}")
    for m in ("POST", "PUT", "DELETE"):
        st, r, body = get(conn, "/", method=m)
        check(st == 405, f"{m}: {st}")
        check("GET" in (r.getheader("Allow") or ""), f"{m}: Allow")
    st, r, body = get(conn, q("x" * 2000))
    check(st == 400, f"long query: {st}")
    st, r, body = get(conn, q("cat", format="xml"))
    check(st == 400, f"format=xml: {st}")
    st, r, body = get(conn, "/?query=%FF")
    check(st == 400, f"not UTF-8: {st}")
    st, r, body = get(conn, "/?query=%zz")
    check(st == 400, f"bad escape: {st}")
    # HEAD: GET's headers, no body.
    st, r, body = get(conn, q("cat face"), method="HEAD")
    check(st == 200 and body == b"" and
          r.getheader("Content-Type").startswith("text/html"), f"HEAD: {st}")
    # Still good after all that, on the same connection.
    check(CAT_ROW in get(conn, q("cat face"))[2].decode(), "after errors")


def one_client(port):
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    for words in ("cat face", "sign dollar", "arrow", "cat face"):
        st, r, body = get(conn, q(words, format="json"))
        check(st == 200 and json.loads(body), f"concurrent: {words}")
    conn.close()


def concurrent_clients(port):
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        for f in [ex.submit(one_client, port) for _ in range(32)]:
            f.result()


SCENARIOS = {"html": html_pages, "escaping": html_escaping, "json": json_answers,
             "big": big, "errors": errors}


def main():
    port = int(sys.argv[1])
    name = "?"
    try:
        for name in sys.argv[2:]:
            if name == "concurrent":
                concurrent_clients(port)
                continue
            # One kept-alive connection per scenario.
            conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
            SCENARIOS[name](conn)
            conn.close()
    except (Failure, OSError, http.client.HTTPException, ValueError, KeyError) as e:
        print(f"http_client.py {name}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
