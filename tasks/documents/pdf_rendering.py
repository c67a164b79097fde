"""HTML and CSS to PDF with weasyprint (a maintained layout engine on pango).

Why weasyprint: the documents are text with a letterhead, a table and signature fields, which
HTML/CSS lays out well, and the wording stays in jinja2 templates like the e-mails. Imported only
when a document is made, so the ``sio`` command starts fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

import jinja2

PDF_MIMETYPE = "application/pdf"
HTML_MIMETYPE = "text/html"

_AS_HTML: ContextVar[bool] = ContextVar("documents_as_html", default=False)


@cache
def document_environment() -> jinja2.Environment:
    """Templates under ``tasks/mail/templates/documents``; HTML autoescaped (names may hold
    ``&``)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tasks.mail", "templates/documents"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(template: str, **context: Any) -> str:
    """One document template rendered to HTML."""
    return document_environment().get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The HTML laid out as PDF (A4 from its stylesheet; its <title> is the PDF's title)."""
    import weasyprint  # type: ignore[import-untyped]

    pdf: bytes = weasyprint.HTML(string=html, base_url=".").write_pdf()
    return pdf


@contextmanager
def documents_as_html() -> Iterator[None]:
    """Within: every document is attached as its HTML (same template, same text), not as PDF.

    For ``sio simulate``, whose outbox is thrown away when it ends: laying a document out as PDF
    takes most of a simulated round's time and nobody opens it. Everywhere else documents are PDF.
    """
    token = _AS_HTML.set(True)
    try:
        yield
    finally:
        _AS_HTML.reset(token)


def document_file(stem: str) -> tuple[str, str]:
    """The file name and MIME type of document ``stem``: ``stem.pdf``, or ``stem.html`` within
    :func:`documents_as_html`."""
    if _AS_HTML.get():
        return f"{stem}.html", HTML_MIMETYPE
    return f"{stem}.pdf", PDF_MIMETYPE


def document_content(html: str) -> bytes:
    """The document's content: the HTML laid out as PDF, or within :func:`documents_as_html` the
    HTML itself (UTF-8)."""
    if _AS_HTML.get():
        return html.encode("utf-8")
    return html_to_pdf(html)
