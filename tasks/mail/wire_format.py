"""A message as it goes over the wire: RFC 5322 bytes, built by the standard library's rules.

Why two ways to build the same bytes: `compose_message` builds an `EmailMessage` with the
header-policy machinery (every header parsed into a structured object, folded on output), which
costs a few milliseconds per message — more than the SMTP conversation with a local server.
`WireRenderer` produces the *same bytes* for the common case, a plain-text letter: the headers
that are the same for a whole delivery run (From, Date, the Content-* block, a repeated Subject)
are folded once by the same policy, the per-message ones (To, Message-ID, X-SIO-Key) are written
as they are when they are plain ASCII that needs no folding, and folded by the policy otherwise;
the body is encoded by the very function `EmailMessage.set_content` uses. A message with
attachments is built by `compose_message` (their MIME structure is not worth a second
implementation). A property test holds the two ways to identical bytes.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Sequence
from datetime import datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Final

from sio_domain.norwegian_calendar import OSLO
from tasks.mail.outbox import Attachment

SENDER_NAME: Final = "Helsedirektoratet"
_LINE: Final = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters
_NEWLINES = re.compile(r"\r\n|\r|\n")  # how the generator splits a payload into lines
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9.]+@[A-Za-z0-9.-]+>")
_PLAIN_TOKEN = re.compile(r"[!-~]+")  # printable ASCII without spaces


class MailPolicy(EmailPolicy):
    """The SMTP policy (CRLF, 78-column folding), minus a fold straight after ``Subject:``.

    The standard library moves a whole ASCII header value of 70–77 characters to a continuation
    line, leaving ``Subject:`` alone on the first; some mail programs then show an empty subject
    or a leading space. Such a value is folded at spaces instead.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value)
        linesep = self.linesep.encode("ascii")
        if folded.startswith(f"{name}:".encode("ascii") + linesep) and str(value).isascii():
            lines = textwrap.wrap(
                " ".join(str(value).split()),
                width=self.max_line_length or _LINE,
                initial_indent=f"{name}: ",
                subsequent_indent=" ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            folded = self.linesep.join(lines).encode("ascii") + linesep
        return folded


MAIL_POLICY = MailPolicy(linesep="\r\n")


def compose_message(
    *,
    key: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment],
    mail_from: str,
    date: datetime,
    installation: str = "",
    language: str = "nb",
) -> EmailMessage:
    """An RFC 5322 message in UTF-8, 7-bit clean (quoted-printable text, base64 files).

    The Message-ID is derived from ``key`` and the ``installation``: a message offered twice
    (after a crash between the server's acceptance and our commit) carries the same ID and can be
    recognised as one; another installation's message with the same key gets another ID.
    ``language`` (``nb`` or ``nn``) is the Content-Language (RFC 3282).
    """
    name, address = parseaddr(mail_from)
    message = EmailMessage()
    message["From"] = Address(display_name=name or SENDER_NAME, addr_spec=address)
    message["To"] = ", ".join(recipients)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(date.astimezone(OSLO))
    message["Message-ID"] = message_id(key, mail_from, installation)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    message["X-SIO-Key"] = key
    message.set_content(body, cte="quoted-printable")
    for attachment in attachments:
        _attach(message, attachment)
    message["Content-Language"] = language  # after the parts: set_content drops Content-* headers
    return message


def message_id(key: str, mail_from: str, installation: str = "") -> str:
    """``<sio.<hash of installation and key>@<sender's domain>>``: the same for every copy."""
    return _message_id_at(_domain(mail_from), key, installation)


def eml_filename(key: str) -> str:
    """A file name for the outbox folder: readable from the key, unique by its hash."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80] or "mail"
    return f"{readable}--{_digest(key)[:12]}.eml"


class WireRenderer:
    """Builds the bytes of many messages from one sender on one date, cheaply and exactly.

    ``render`` returns what ``compose_message(...).as_bytes(policy=MAIL_POLICY)`` returns, for
    the same arguments (boundaries of multipart messages aside, which are random anyway).
    """

    def __init__(self, *, mail_from: str, date: datetime, installation: str) -> None:
        self.mail_from = mail_from
        self.date = date
        self.installation = installation
        name, address = parseaddr(mail_from)
        sender = Address(display_name=name or SENDER_NAME, addr_spec=address)
        self._from = _fold("From", sender)
        self._date = _fold("Date", format_datetime(date.astimezone(OSLO)))
        self._auto = _fold("Auto-Submitted", "auto-generated")
        self._domain = _domain(mail_from)
        self._content: dict[str, bytes] = {}

    def render(
        self,
        *,
        key: str,
        recipients: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[Attachment] = (),
        language: str = "nb",
    ) -> bytes:
        """The message's bytes, CRLF line ends, ready for SMTP DATA or an ``.eml`` file."""
        if attachments:
            return compose_message(
                key=key,
                recipients=recipients,
                subject=subject,
                body=body,
                attachments=attachments,
                mail_from=self.mail_from,
                date=self.date,
                installation=self.installation,
                language=language,
            ).as_bytes(policy=MAIL_POLICY)
        to = ", ".join(recipients)
        identifier = _message_id_at(self._domain, key, self.installation)
        return b"".join(
            (
                self._from,
                _plain_or_folded("To", to, all(map(_PLAIN_ADDRESS.fullmatch, recipients))),
                _folded_subject(" ".join(subject.split())),
                self._date,
                _plain_or_folded(
                    "Message-ID", identifier, bool(_PLAIN_MESSAGE_ID.fullmatch(identifier))
                ),
                self._auto,
                _plain_or_folded(
                    "X-SIO-Key", key, bool(_PLAIN_TOKEN.fullmatch(key)) and "=?" not in key
                ),
                self._content_headers(language),
                b"\r\n",
                _quoted_printable(body),
            )
        )

    def _content_headers(self, language: str) -> bytes:
        """Content-Type … Content-Language of a plain-text letter, as the generator writes them."""
        found = self._content.get(language)
        if found is None:
            template = EmailMessage()
            template.set_content("", cte="quoted-printable")
            template["Content-Language"] = language
            found = self._content[language] = b"".join(
                MAIL_POLICY.fold_binary(name, value) for name, value in template.items()
            )
        return found


def _plain_or_folded(name: str, value: str, plain: bool) -> bytes:
    """A header line: as it is when it is plain and short enough, else folded by the policy."""
    if plain and len(name) + 2 + len(value) <= _LINE:
        return f"{name}: {value}\r\n".encode("ascii")
    return _fold(name, value)


@lru_cache(maxsize=512)
def _folded_subject(subject: str) -> bytes:
    """Subjects repeat across municipalities ("Påminnelse: søknadsfrist …"): folded once each."""
    return _fold("Subject", subject)


def _fold(name: str, value: object) -> bytes:
    """One header as `EmailMessage.as_bytes` writes it: stored by the policy, then folded."""
    _, header = MAIL_POLICY.header_store_parse(name, value)  # refuses line breaks, as msg[...] does
    return MAIL_POLICY.fold_binary(name, header)


@lru_cache(maxsize=256)
def _quoted_printable(body: str) -> bytes:
    """The body as ``set_content(body, cte="quoted-printable")`` and the generator write it.

    Kept for the last few bodies: a circular letter to many municipalities encodes once.
    """
    lines = body.encode("utf-8").splitlines()
    encoded = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _LINE)
    return "\r\n".join(_NEWLINES.split(encoded)).encode("ascii")


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    """Add a file with its Content-Type parameters (e.g. ``method=REQUEST`` for invitations)."""
    header = Message()
    header["Content-Type"] = attachment.mimetype
    maintype, subtype = header.get_content_maintype(), header.get_content_subtype()
    listed = header.get_params() or []
    params = {name: value for name, value in listed[1:] if isinstance(value, str)}
    if maintype == "text":
        charset = params.pop("charset", "utf-8")
        message.add_attachment(
            attachment.content.decode(charset),
            subtype=subtype,
            charset="utf-8",
            cte="quoted-printable",
            filename=attachment.filename,
            params=params,
        )
    else:
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )


def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "sio.helsedir.no"


def _message_id_at(domain: str, key: str, installation: str) -> str:
    return f"<sio.{_digest(f'{installation}/{key}' if installation else key)}@{domain}>"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
