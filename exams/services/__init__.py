"""Every write of the exams app. Split by subject: applications, sessions (with scores)."""

from .applications import (
    NotEligible,
    application_approve,
    application_attach_medical,
    application_create,
    application_institution_approve,
    application_reject,
    application_return,
    application_submit,
    application_update,
    application_withdraw,
)
from .sessions import (
    AssignResult,
    score_import,
    score_record,
    session_approve,
    session_assign,
    session_create,
    session_publish_scores,
    session_reschedule,
    session_submit,
    session_update,
)

__all__ = [
    "AssignResult",
    "NotEligible",
    "application_approve",
    "application_attach_medical",
    "application_create",
    "application_institution_approve",
    "application_reject",
    "application_return",
    "application_submit",
    "application_update",
    "application_withdraw",
    "score_import",
    "score_record",
    "session_approve",
    "session_assign",
    "session_create",
    "session_publish_scores",
    "session_reschedule",
    "session_submit",
    "session_update",
]
