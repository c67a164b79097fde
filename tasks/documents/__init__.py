"""Documents the directorate sends as PDF: formal letters (brev, vedtak) and agreements.

The words stay in jinja2 templates (``tasks/mail/templates/documents/``); weasyprint lays the HTML
out
on A4 with the directorate's letterhead. Rendering is pure apart from the PDF library.
"""
