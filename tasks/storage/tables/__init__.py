"""The application database's tables: the trial's own state, kept by sio rather than by Prefect.

A trial round lasts years (invitation, selection, agreements, quarterly payouts until the trial
ends); a Prefect flow run lasts seconds. Prefect's database records what ran and when, and may be
reset, pruned or moved to another server. What the directorate must still know in five years —
which municipalities applied, what was decided and signed, every payout line — lives here, in
tables sio owns and migrates itself (tasks/storage/migrations/), so flows can be re-run, replaced or
rescheduled without losing or repeating anything.

One module per area; importing this package registers every table on ``SQLModel.metadata``.
Every change to a table gets a new Alembic revision in tasks/storage/migrations/versions/.
"""

from tasks.storage.tables.audit import AuditEntry
from tasks.storage.tables.base import UtcDateTime
from tasks.storage.tables.finance import (
    ActivityReport,
    AdjustmentRecord,
    BankAccountRecord,
    ExpenditureRecord,
    LedgerLineRecord,
    PayoutApprovalRecord,
    PayoutProposalRecord,
    PayoutRunRecord,
    SystemAdaptationClaim,
)
from tasks.storage.tables.lifecycle import (
    ActivityStatus,
    AnnouncementRecord,
    ApplicationRecord,
    AttendanceRecord,
    MeetingRecord,
    ParticipationRecord,
    ReplanDecisionRecord,
    ReplyRecord,
    SelectionDecisionRecord,
    SignatureRecord,
    StageMark,
)
from tasks.storage.tables.mail import OutgoingAttachment, OutgoingMail
from tasks.storage.tables.registry import ContactRecord, MunicipalityRecord

__all__ = [
    "ActivityReport",
    "ActivityStatus",
    "AnnouncementRecord",
    "AdjustmentRecord",
    "ApplicationRecord",
    "AttendanceRecord",
    "AuditEntry",
    "BankAccountRecord",
    "ContactRecord",
    "ExpenditureRecord",
    "LedgerLineRecord",
    "MeetingRecord",
    "MunicipalityRecord",
    "OutgoingAttachment",
    "OutgoingMail",
    "ParticipationRecord",
    "PayoutApprovalRecord",
    "PayoutProposalRecord",
    "PayoutRunRecord",
    "ReplanDecisionRecord",
    "ReplyRecord",
    "SelectionDecisionRecord",
    "SignatureRecord",
    "StageMark",
    "SystemAdaptationClaim",
    "UtcDateTime",
]
