"""HTML and CSS to PDF with weasyprint (a maintained layout engine on pango).

Why weasyprint: the documents are text with a letterhead, a table and signature fields, which
HTML/CSS lays out well, and the wording stays in jinja2 templates like the e-mails. Imported only
when a document is made, so the ``sio`` command starts fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


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
