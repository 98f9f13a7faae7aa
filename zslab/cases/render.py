"""Render an executed, untrusted Jupyter notebook to inert HTML for the case gallery.

The gallery shows notebooks that users submit, so everything in them is hostile until proven
otherwise. The result of :func:`render_notebook` holds no active content: no script, no event
handler, no ``javascript:`` URL, nothing that loads from another origin. Images survive, but only
as ``data:`` URIs inside ``<img>``, where browsers never run script, SVG included.

Sanitizing is two passes over the html5lib parse that browsers also follow:

1. *Prune*: elements whose content is code, or is not meant to be read (``script``, ``style``,
   ``iframe``, ``form``, inline ``svg``/``math`` …), go with their content. An allowlist
   sanitizer that strips a tag keeps its text, so ``<script>alert(1)</script>`` would show as
   the words ``alert(1)``; this pass is what stops that. It also resolves cell attachments.
2. *Allowlist*: bleach's :class:`~bleach.sanitizer.Cleaner` over the pruned HTML keeps listed
   tags and attributes only. The safety of the output rests on this pass alone; the first is
   for tidiness.

Send :data:`CONTENT_SECURITY_POLICY` with every page that shows a rendered notebook, so that a
mistake here is not enough on its own.

The HTML carries classes only (``zs-notebook``, ``zs-cell``, ``zs-source`` …); code is
highlighted with Pygments classes, whose stylesheet the gallery can take from
``pygments.formatters.HtmlFormatter().get_style_defs(".zs-source")``.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote
from xml.etree import ElementTree

import mistune
import tinycss2  # type: ignore[import-untyped]
from bleach import html5lib_shim  # type: ignore[import-untyped]
from bleach.css_sanitizer import CSSSanitizer  # type: ignore[import-untyped]
from bleach.sanitizer import Cleaner  # type: ignore[import-untyped]
from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import TextLexer, get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

__all__ = ["CONTENT_SECURITY_POLICY", "render_notebook", "sanitize_html"]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; img-src data:; style-src 'self' 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The ``Content-Security-Policy`` header for gallery pages that show a rendered notebook."""

# Elements dropped with everything inside them. Foreign content (any svg or math element) goes
# too, whatever its name: its parsing rules are where most sanitizer bypasses have lived.
_DROP_WITH_CONTENT: Final = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes", "xmp", "plaintext",
        "iframe", "frame", "frameset", "object", "embed", "applet", "param", "portal",
        "form", "input", "button", "select", "option", "optgroup", "textarea", "datalist",
        "meta", "link", "base", "title", "head",
        "svg", "math", "canvas", "audio", "video", "source", "track", "picture",
    }
)  # fmt: skip

_ALLOWED_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
    }
)  # fmt: skip

# No id or name: either would let the notebook clobber globals of the gallery page
# (``<a id="x">`` makes ``window.x``).
_GLOBAL_ATTRIBUTES: Final = frozenset({"class", "title", "lang", "dir", "style"})
_TAG_ATTRIBUTES: Final[Mapping[str, frozenset[str]]] = {
    "img": frozenset({"alt", "width", "height"}),  # src is checked on its own below
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type"}),
    "details": frozenset({"open"}),
    "table": frozenset({"border"}),  # pandas writes border="1"
}

_CSS_PROPERTIES: Final = frozenset(
    {
        "color", "background-color", "text-align", "vertical-align", "font-weight",
        "font-style", "font-size", "text-decoration", "white-space", "border-collapse",
    }
)  # fmt: skip
# Values that could fetch or run something; none of the allowed properties needs them.
_UNSAFE_CSS_VALUE: Final = re.compile(r"url\s*\(|expression|image|@import|\\", re.IGNORECASE)

_LINK_REL: Final = "nofollow noopener noreferrer"
_SAFE_HREF: Final = re.compile(r"^(?:https?://|mailto:|#)", re.IGNORECASE)
_IMAGE_TYPES: Final = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_DATA_IMAGE: Final = re.compile(
    r"^data:(image/(?:png|jpeg|gif|webp|svg\+xml));base64,([A-Za-z0-9+/]+={0,2})$", re.IGNORECASE
)
# What browsers ignore inside a URL (C0 controls, space, DEL … NBSP), removed before matching
# so that ``java&#9;script:`` is judged as the browser will read it.
_URL_IGNORED: Final = re.compile(r"[\x00-\x20\x7f-\xa0\s`]+")
# CSI sequences (colours, cursor moves), OSC sequences (titles, links), other two-byte escapes.
_ANSI_ESCAPE: Final = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-_])?"
)

# The order in which an output's representations are preferred; anything else in a bundle
# (application/javascript, widget views, ...) is never rendered.
_OUTPUT_MIME_ORDER: Final = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
    "text/html",
    "text/markdown",
    "text/latex",
    "text/plain",
)


class _StrictCSSSanitizer(CSSSanitizer):
    """bleach's property allowlist, then no declaration whose value could load or run."""

    def sanitize_css(self, style: str) -> str:
        allowed = super().sanitize_css(style)
        kept = []
        for declaration in tinycss2.parse_declaration_list(
            allowed, skip_comments=True, skip_whitespace=True
        ):
            if declaration.type != "declaration":
                continue
            value = tinycss2.serialize(declaration.value).strip()
            if not value or _UNSAFE_CSS_VALUE.search(value):
                continue
            important = " !important" if declaration.important else ""
            kept.append(f"{declaration.lower_name}: {value}{important}")
        return "; ".join(kept)


class _LinkRelFilter(html5lib_shim.Filter):
    """Gives every link ``rel="nofollow noopener noreferrer"`` (runs after the sanitizer)."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "a":
                token["data"][(None, "rel")] = _LINK_REL
            yield token


def _browser_url(value: str) -> str:
    """The URL as a browser reads an attribute value: entities decoded, ignored bytes gone."""
    return _URL_IGNORED.sub("", html.unescape(value))


def _data_image_uri(value: str) -> str | None:
    """``value`` normalized if it is a base64 ``data:image/...`` URI that decodes, else None."""
    match = _DATA_IMAGE.match(_browser_url(value))
    if match is None:
        return None
    mime, payload = match.groups()
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return f"data:{mime.lower()};base64,{base64.b64encode(raw).decode('ascii')}"


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name in _GLOBAL_ATTRIBUTES:
        return True  # style goes on through the CSS sanitizer
    if tag == "a" and name == "href":
        return bool(_SAFE_HREF.match(_browser_url(value)))
    if tag == "img" and name == "src":
        return _data_image_uri(value) is not None
    return name in _TAG_ATTRIBUTES.get(tag, ())


def _cleaner() -> Any:
    # A Cleaner is not thread-safe (its parser keeps state) and the gallery renders in a
    # thread pool, so each call gets its own; building one is cheap.
    return Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_allow_attribute,
        # _allow_attribute has already narrowed href and src; bleach checks them again.
        protocols={"http", "https", "mailto", "data"},
        strip=True,
        strip_comments=True,
        filters=[_LinkRelFilter],
        css_sanitizer=_StrictCSSSanitizer(
            allowed_css_properties=_CSS_PROPERTIES, allowed_svg_properties=frozenset()
        ),
    )


def _drops_with_content(element: ElementTree.Element) -> bool:
    tag = element.tag
    # Comments and processing instructions have a function, not a string, as their tag.
    if not isinstance(tag, str):
        return True
    return tag.startswith("{") or tag.lower() in _DROP_WITH_CONTENT


def _remove_keeping_tail(parent: ElementTree.Element, child: ElementTree.Element) -> None:
    # In ElementTree the text after an element belongs to it (its tail); it is the
    # parent's content and must stay.
    if child.tail:
        siblings = list(parent)
        position = siblings.index(child)
        if position:
            previous = siblings[position - 1]
            previous.tail = (previous.tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def _resolve_attachment(img: ElementTree.Element, attachments: Mapping[str, str]) -> None:
    src = (img.get("src") or "").strip()
    if src.lower().startswith("attachment:"):
        data_uri = attachments.get(unquote(src[len("attachment:") :]))
        if data_uri is None:
            del img.attrib["src"]
        else:
            img.set("src", data_uri)


def _prune(fragment_html: str, attachments: Mapping[str, str]) -> str:
    parser = html5lib_shim.BleachHTMLParser(
        tags=None, strip=False, consume_entities=True, namespaceHTMLElements=False
    )
    fragment = parser.parseFragment(fragment_html)
    for parent in list(fragment.iter()):
        for child in list(parent):
            if _drops_with_content(child):
                _remove_keeping_tail(parent, child)
            elif child.tag == "img":
                _resolve_attachment(child, attachments)
    serializer = html5lib_shim.BleachHTMLSerializer(
        quote_attr_values="always",
        omit_optional_tags=False,
        escape_lt_in_attrs=True,
        resolve_entities=False,
        sanitize=False,
        alphabetical_attributes=False,
    )
    return str(serializer.render(html5lib_shim.getTreeWalker("etree")(fragment)))


def _sanitize(fragment_html: str, attachments: Mapping[str, str]) -> str:
    return str(_cleaner().clean(_prune(fragment_html, attachments)))


def sanitize_html(html: str) -> str:
    """Reduce untrusted HTML to inert markup: allowlisted tags and attributes, no active content.

    Code-bearing elements (script, style, iframe, form, inline svg and math, ...) are removed
    with their content; other unknown tags are stripped, keeping their text. Links keep only
    ``http(s):``, ``mailto:`` and ``#anchor`` targets and get ``rel="nofollow noopener
    noreferrer"``; images keep only base64 ``data:image/...`` sources; ``style`` keeps a few
    text properties and never a ``url(...)``.

    >>> sanitize_html('<p onclick="x()">Hi<script>alert(1)</script></p>')
    '<p>Hi</p>'
    >>> sanitize_html('<a href="javascript:alert(1)">a</a> <a href="https://example.org">b</a>')
    '<a rel="nofollow noopener noreferrer">a</a> <a href="https://example.org" rel="nofollow noopener noreferrer">b</a>'
    """  # noqa: E501
    return _sanitize(html, {})


def _text(value: Any) -> str | None:
    """nbformat's multiline string (a string or a list of strings), or None if it is neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return None


def _image_data_uri(mime: str, value: Any) -> str | None:
    """A data URI for one image representation, or None if the data is not usable."""
    data = _text(value)
    if data is None:
        return None
    if mime == "image/svg+xml":
        # nbformat keeps SVG as text. It never goes into the page as markup: inside <img> a
        # browser draws it without running its scripts or loading what it references.
        payload = base64.b64encode(data.encode("utf-8")).decode("ascii")
    else:
        payload = re.sub(r"\s+", "", data)
    return _data_image_uri(f"data:{mime};base64,{payload}")


def _markdown_to_html(source: str) -> str:
    # Raw HTML is passed through here (notebooks use it for layout) and sanitized afterwards.
    # attachment: is let through so that _prune can resolve it; mistune would mark it harmful.
    renderer = mistune.HTMLRenderer(escape=False, allow_harmful_protocols=["attachment:"])
    markdown = mistune.create_markdown(renderer=renderer, plugins=["table", "strikethrough"])
    rendered = markdown(source)
    return rendered if isinstance(rendered, str) else ""


def _strip_ansi(text: str) -> str:
    return _ANSI_ESCAPE.sub("", text)


def _pre(text: str, css_class: str) -> str:
    return f'<pre class="{css_class}">{html.escape(text)}</pre>'


def _prompt(label: str, execution_count: Any) -> str:
    count = execution_count if type(execution_count) is int else " "
    return f'<div class="zs-prompt">{label} [{count}]:</div>'


def _render_bundle(bundle: Mapping[str, Any]) -> str:
    for mime in _OUTPUT_MIME_ORDER:
        if mime not in bundle:
            continue
        if mime.startswith("image/"):
            data_uri = _image_data_uri(mime, bundle[mime])
            if data_uri is not None:
                return f'<img class="zs-output-image" src="{data_uri}" alt="">'
            continue  # unusable image data: fall back to the next representation
        text = _text(bundle[mime])
        if text is None:
            continue
        if mime == "text/html":
            return f'<div class="zs-output-html">{sanitize_html(text)}</div>'
        if mime == "text/markdown":
            return f'<div class="zs-output-markdown">{sanitize_html(_markdown_to_html(text))}</div>'
        return _pre(_strip_ansi(text), "zs-output-text")
    return ""


def _render_output(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return _pre(_strip_ansi(_text(output.get("text")) or ""), f"zs-stream zs-{name}")
    if kind == "error":
        traceback = output.get("traceback")
        if isinstance(traceback, list) and all(isinstance(line, str) for line in traceback):
            text = "\n".join(traceback)
        else:
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        return _pre(_strip_ansi(text), "zs-error")
    if kind in ("execute_result", "display_data"):
        data = output.get("data")
        body = _render_bundle(data) if isinstance(data, dict) else ""
        if not body:
            return ""
        prompt = _prompt("Out", output.get("execution_count")) if kind == "execute_result" else ""
        return f'<div class="zs-output">{prompt}{body}</div>'
    return ""


def _highlight(source: str, language: str) -> str:
    try:
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    # Pygments escapes the source and nowrap leaves only <span class="..."> markup. The lexer
    # options and the removesuffix keep the text exactly as written (the formatter ends every
    # line with a newline).
    highlighted = str(highlight(source, lexer, HtmlFormatter(nowrap=True)))
    return highlighted if source.endswith("\n") else highlighted.removesuffix("\n")


def _attachment_images(cell: Mapping[str, Any]) -> dict[str, str]:
    """Attachment name -> data URI, for the attachments that are usable images."""
    attachments = cell.get("attachments")
    if not isinstance(attachments, dict):
        return {}
    images = {}
    for name, bundle in attachments.items():
        if not isinstance(bundle, dict):
            continue
        for mime in _IMAGE_TYPES:
            data_uri = _image_data_uri(mime, bundle[mime]) if mime in bundle else None
            if data_uri is not None:
                images[name] = data_uri
                break
    return images


def _render_cell(cell: Mapping[str, Any], index: int, language: str) -> str:
    source = _text(cell.get("source", ""))
    if source is None:
        raise ValueError(f"cell {index}: 'source' must be a string or a list of strings")
    kind = cell.get("cell_type")
    if kind == "markdown":
        body = _sanitize(_markdown_to_html(source), _attachment_images(cell))
        return f'<div class="zs-cell zs-markdown-cell">{body}</div>'
    if kind == "code":
        outputs = cell.get("outputs") or []
        if not isinstance(outputs, list):
            raise ValueError(f"cell {index}: 'outputs' must be a list")
        rendered = "".join(_render_output(output) for output in outputs)
        return (
            '<div class="zs-cell zs-code-cell"><div class="zs-input">'
            f"{_prompt('In', cell.get('execution_count'))}"
            f'<pre class="zs-source highlight">{_highlight(source, language)}</pre></div>'
            f'<div class="zs-outputs">{rendered}</div></div>'
        )
    if kind == "raw":
        return f'<div class="zs-cell zs-raw-cell">{_pre(source, "zs-raw")}</div>'
    return ""  # a cell type from a later nbformat: nothing we know how to show safely


def _notebook_language(notebook: Mapping[str, Any]) -> str:
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        for section, key in (("language_info", "name"), ("kernelspec", "language")):
            value = metadata.get(section, {})
            if isinstance(value, dict) and isinstance(value.get(key), str):
                return str(value[key])
    return "python"


def _load_notebook(notebook: dict[str, Any] | str | bytes | os.PathLike[str]) -> dict[str, Any]:
    if isinstance(notebook, os.PathLike):
        notebook = Path(notebook).read_bytes()
    elif isinstance(notebook, str) and not notebook.lstrip().startswith("{"):
        # A string is JSON text when it looks like an object, else a path if one exists.
        if "\n" not in notebook and Path(notebook).is_file():
            notebook = Path(notebook).read_bytes()
        else:
            raise ValueError(
                "notebook is neither valid JSON (it does not start with '{') nor an existing file"
            )
    if isinstance(notebook, bytes):
        try:
            notebook = notebook.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"notebook is not UTF-8 encoded JSON: {exc}") from exc
    if isinstance(notebook, str):
        try:
            notebook = json.loads(notebook)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"notebook is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
    if not isinstance(notebook, dict):
        raise ValueError(f"a notebook is a JSON object, got {type(notebook).__name__}")
    if notebook.get("nbformat", 4) != 4:
        raise ValueError(f"only nbformat 4 notebooks are supported, got {notebook['nbformat']!r}")
    if not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook: there is no 'cells' list")
    return notebook


def render_notebook(notebook: dict[str, Any] | str | bytes | os.PathLike[str]) -> str:
    """Render an nbformat 4 notebook to an inert HTML fragment for the gallery page to wrap.

    ``notebook`` is the parsed notebook, its JSON text (``str`` or ``bytes``) or a path.
    Markdown and HTML go through :func:`sanitize_html`; code, streams, tracebacks, LaTeX and
    plain text are escaped; images become ``data:`` URIs in ``<img>``, SVG included.
    JavaScript, widget views and unknown representations are dropped in favour of
    ``text/plain``. Raises ValueError naming what is wrong when the input is not a notebook.

    >>> nb = {"nbformat": 4, "cells": [{"cell_type": "markdown", "source": "# Hi<script>x"}]}
    >>> render_notebook(nb)
    '<div class="zs-notebook"><div class="zs-cell zs-markdown-cell"><h1>Hi</h1></div></div>'
    """
    parsed = _load_notebook(notebook)
    language = _notebook_language(parsed)
    cells = []
    for index, cell in enumerate(parsed["cells"]):
        if not isinstance(cell, dict):
            raise ValueError(f"cell {index} is not a JSON object")
        cells.append(_render_cell(cell, index, language))
    return f'<div class="zs-notebook">{"".join(cells)}</div>'
