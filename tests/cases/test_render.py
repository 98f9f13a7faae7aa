"""zslab.cases.render: untrusted notebooks render to inert HTML, checked as text and in Chromium."""

from __future__ import annotations

import base64
import html
import http.server
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import chromium_browser
from zslab.cases.render import render_notebook, sanitize_html

# Every payload tries to set window.__pwned or to open a dialog, so the browser test sees it.
HOSTILE_HTML = """
<script>window.__pwned = 1; alert(1)</script>
<img src=x onerror="window.__pwned = 1">
<a href="javascript:window.__pwned = 1">plain javascript</a>
<a href="JaVaScRiPt:window.__pwned = 1">mixed case</a>
<a href="&#106;avascript:window.__pwned = 1">decimal entity</a>
<a href="&#x6A;avascript&#x3A;window.__pwned = 1">hex entity</a>
<a href="java&#x09;script:window.__pwned = 1">tab inside</a>
<a id="__pwned" name="__pwned">DOM clobbering</a>
<svg><script>window.__pwned = 1</script></svg>
<svg onload="window.__pwned = 1"><circle r="5"/></svg>
<iframe src="https://evil.example/frame"></iframe>
<iframe srcdoc="<script>parent.__pwned = 1</script>"></iframe>
<style>@import url(http://evil.example/x.css); body { color: red }</style>
<meta http-equiv="refresh" content="0;url=http://evil.example/refresh">
<link rel="stylesheet" href="https://evil.example/x.css">
<base href="https://evil.example/">
<img src="https://evil.example/x.png">
<img src="//evil.example/protocol-relative.png">
<div style="background-image: url(https://evil.example/bg.png); color: red">styled</div>
<details open ontoggle="window.__pwned = 1"><summary>toggle</summary>inside</details>
<form action="https://evil.example/post"><input name="q"><button>send</button></form>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">
<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>"></noscript>
<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1></style></mglyph>
</table></mtext></math>
"""

HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="12" height="8" onload="window.__pwned = 1">'
    "<script>window.__pwned = 1; alert(1)</script>"
    '<rect width="12" height="8" fill="teal"/>'
    '<image href="https://evil.example/from-svg.png" width="1" height="1"/>'
    "</svg>"
)


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A real RGB PNG, built with zlib so that the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG_BASE64 = base64.b64encode(tiny_png()).decode("ascii")


def hostile_notebook() -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": [
                    "# Quarterly yield\n",
                    "\n",
                    "| line | yield |\n",
                    "|------|-------|\n",
                    "| A    | 97.5  |\n",
                    "\n",
                    "[markdown link](javascript:window.__pwned=1) ",
                    "[entity link](&#106;avascript:window.__pwned=1)\n",
                    "\n",
                    HOSTILE_HTML,
                ],
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "source": "show()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/html": HOSTILE_HTML, "text/plain": "<HTML object>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/svg+xml": HOSTILE_SVG, "text/plain": "<SVG figure>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "application/javascript": "window.__pwned = 1; alert(1)",
                            "text/plain": "<IPython Javascript object>",
                        },
                    },
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"image/png": PNG_BASE64, "text/plain": "<Figure 3x2>"},
                    },
                ],
            },
        ],
    }


class _Collector(HTMLParser):
    """The start tags and their attributes, and the text inside elements of one class."""

    def __init__(self, text_class: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self._text_class = text_class
        self._depth = 0  # >0 while inside an element of text_class

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if self._depth:
            self._depth += 1
        elif self._text_class in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def collect(rendered: str, text_class: str = "") -> _Collector:
    collector = _Collector(text_class)
    collector.feed(rendered)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_notebook(hostile_notebook())


def test_hostile_notebook_has_no_script_elements(hostile_html: str) -> None:
    assert "<script" not in hostile_html.lower()
    # Dropped with their content, not stripped to visible text.
    assert "__pwned" not in hostile_html


def test_hostile_notebook_has_no_event_handler_attributes(hostile_html: str) -> None:
    tags = collect(hostile_html).tags
    handlers = [(tag, name) for tag, attrs in tags for name in attrs if name.startswith("on")]
    assert handlers == []
    assert not re.search(r"\son\w+\s*=", hostile_html, re.IGNORECASE)


def test_hostile_notebook_has_no_javascript_urls(hostile_html: str) -> None:
    unescaped = html.unescape(hostile_html).lower()
    assert "javascript:" not in re.sub(r"\s+", "", unescaped)


def test_hostile_notebook_loads_nothing_external(hostile_html: str) -> None:
    assert "evil.example" not in hostile_html
    sources = [attrs.get("src") or "" for tag, attrs in collect(hostile_html).tags if tag == "img"]
    assert all(src == "" or src.startswith("data:image/") for src in sources)


def test_hostile_notebook_has_no_frames_forms_or_inline_svg(hostile_html: str) -> None:
    tags = {tag for tag, _ in collect(hostile_html).tags}
    assert not tags & {"iframe", "svg", "math", "style", "meta", "link", "base", "form", "input"}
    assert not tags & {"object", "embed", "button", "noscript"}


def test_links_that_remain_are_nofollow(hostile_html: str) -> None:
    links = [attrs for tag, attrs in collect(hostile_html).tags if tag == "a"]
    assert links
    assert all(attrs.get("rel") == "nofollow noopener noreferrer" for attrs in links)
    assert all("id" not in attrs and "name" not in attrs for attrs in links)


def test_png_output_is_kept_as_a_data_uri_image(hostile_html: str) -> None:
    assert f'<img class="zs-output-image" src="data:image/png;base64,{PNG_BASE64}"' in hostile_html


def test_svg_output_becomes_an_image_not_markup(hostile_html: str) -> None:
    svg_base64 = base64.b64encode(HOSTILE_SVG.encode()).decode("ascii")
    assert f'src="data:image/svg+xml;base64,{svg_base64}"' in hostile_html
    assert "<svg" not in hostile_html.lower()


def test_markdown_heading_and_table_are_kept(hostile_html: str) -> None:
    assert "<h1>Quarterly yield</h1>" in hostile_html
    assert "<th>yield</th>" in hostile_html
    assert "<td>97.5</td>" in hostile_html


def test_javascript_output_falls_back_to_its_plain_text(hostile_html: str) -> None:
    assert "&lt;IPython Javascript object&gt;" in hostile_html
    assert "alert(" not in hostile_html


def test_inline_style_keeps_safe_properties_and_drops_urls() -> None:
    cleaned = sanitize_html(
        '<p style="color: red; background-image: url(https://e.x/a.png); font-weight: bold;'
        ' background-color: u\\72l(https://e.x/b.png); width: expression(alert(1))">x</p>'
    )
    assert cleaned == '<p style="color: red; font-weight: bold">x</p>'


def test_code_source_and_stream_output_are_escaped_and_read_the_same() -> None:
    source = 'if a < b & c:\n    print("<b>not bold</b> & more")'
    stream = "x < y & z\n<i>not italic</i>\n"
    notebook = {
        "nbformat": 4,
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 7,
                "source": source.splitlines(keepends=True),
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [stream]}],
            }
        ],
    }

    rendered = render_notebook(notebook)

    assert "<b>" not in rendered and "<i>" not in rendered
    assert collect(rendered, "zs-source").texts == [source]
    assert collect(rendered, "zs-stream").texts == [stream]
    assert "In [7]:" in rendered


def test_error_output_keeps_traceback_text_without_ansi_codes() -> None:
    traceback = [
        "\x1b[0;31m---------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mZeroDivisionError\x1b[0m                Traceback (most recent call last)",
        "Cell \x1b[0;32mIn[3], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m \x1b[38;5;241m1\x1b[39m/0",
        "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
    ]
    notebook = {
        "nbformat": 4,
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "source": "1/0",
                "outputs": [
                    {
                        "output_type": "error",
                        "ename": "ZeroDivisionError",
                        "evalue": "division by zero",
                        "traceback": traceback,
                    }
                ],
            }
        ],
    }

    (text,) = collect(render_notebook(notebook), "zs-error").texts

    assert "\x1b" not in text and "[0;31m" not in text
    assert "ZeroDivisionError: division by zero" in text
    assert "----> 1 1/0" in text


def test_markdown_attachment_image_becomes_a_data_uri() -> None:
    notebook = {
        "nbformat": 4,
        "cells": [
            {
                "cell_type": "markdown",
                "source": "![plot](attachment:plot.png) ![notes](attachment:notes.txt)",
                "attachments": {
                    "plot.png": {"image/png": PNG_BASE64},
                    "notes.txt": {"text/plain": "not an image"},
                },
            }
        ],
    }

    images = [attrs for tag, attrs in collect(render_notebook(notebook)).tags if tag == "img"]

    assert images == [
        {"src": f"data:image/png;base64,{PNG_BASE64}", "alt": "plot"},
        {"alt": "notes"},
    ]


def test_text_that_is_not_json_is_rejected_naming_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        render_notebook('{"cells": [')


def test_json_without_cells_is_rejected() -> None:
    with pytest.raises(ValueError, match="cells"):
        render_notebook(b'{"nbformat": 4, "metadata": {}}')


def test_notebook_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "case.ipynb"
    path.write_text('{"nbformat": 4, "cells": [{"cell_type": "raw", "source": "a<b"}]}')

    assert '<pre class="zs-raw">a&lt;b</pre>' in render_notebook(path)


# --- in a real browser --------------------------------------------------------------------


@pytest.fixture()
def served_page(hostile_html: str) -> Iterator[str]:
    """The rendered notebook in a bare page (no CSP: the sanitizer is checked alone)."""
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>case</title></head>'
        f"<body>{hostile_html}</body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page) if self.path == "/" else 0))
            self.end_headers()
            if self.path == "/":
                self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Fire the handlers a hostile attribute could hang on, and follow every link that is not a
# plain http(s)/mailto one (those would only leave the page).
_POKE_EVERYTHING = """() => {
  for (const el of document.querySelectorAll('.zs-notebook *')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'click']) {
      if (type === 'click' && el.closest('a[href^="http"], a[href^="mailto:"]')) continue;
      el.dispatchEvent(new MouseEvent(type, {bubbles: true}));
    }
  }
}"""


def test_hostile_notebook_runs_no_script_in_chromium(served_page: str) -> None:
    from playwright.sync_api import Request, Route

    dialogs: list[str] = []
    external: list[str] = []

    def not_local(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme != "data" and parts.hostname != "127.0.0.1"

    def record_request(request: Request) -> None:
        if not_local(request.url):
            external.append(request.url)

    def block_external(route: Route) -> None:
        route.abort()  # recorded by the request listener; aborting keeps the test off the network

    with chromium_browser() as browser:
        page = browser.new_page()
        page.set_default_timeout(3000)  # a hijacked page fails fast, not after 30 s
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: not_local(request.url) and external.append(request.url))
        page.route(lambda url: not_local(url), block_external)

        page.goto(served_page, wait_until="load")
        page.wait_for_function("Array.from(document.images).every(image => image.complete)")
        page.hover(".zs-markdown-cell h1")
        page.evaluate(_POKE_EVERYTHING)
        page.wait_for_timeout(500)

        pwned = page.evaluate("window.__pwned")
        png_width = page.evaluate(
            "document.querySelector('img[src^=\"data:image/png\"]').naturalWidth"
        )
        svg_width = page.evaluate(
            "document.querySelector('img[src^=\"data:image/svg+xml\"]').naturalWidth"
        )
        # In-page #anchors may be followed; leaving the page may not.
        still_here = page.url.split("#")[0] == served_page

    assert pwned is None
    assert dialogs == []
    assert external == []
    assert still_here
    assert png_width == 3
    assert svg_width == 12
