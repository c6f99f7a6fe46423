"""Every write of the certificates app."""

from .holders import may_correct_profile, profile_correct
from .issuance import (
    IssueOutcome,
    batch_issue_run,
    batch_issue_start,
    batch_left_out,
    certificate_issue,
    certificate_issue_many,
    certificate_refused,
    certificate_request_approve,
    certificate_request_reject,
    certificate_request_submit,
    stale_batch_ids,
    validity_for,
)
from .legacy import certificate_generate_ecert, import_certificates
from .rendering import (
    certificate_render,
    certificate_render_many,
    render_pending_ids,
    send_expiry_reminders,
)
from .status import (
    certificate_cancel,
    certificate_expire,
    certificate_lift_suspension,
    certificate_revoke,
    certificate_suspend,
    certificate_withdraw,
    expire_due,
)

__all__ = [
    "IssueOutcome",
    "batch_issue_run",
    "batch_issue_start",
    "batch_left_out",
    "certificate_cancel",
    "certificate_expire",
    "certificate_generate_ecert",
    "certificate_issue",
    "certificate_issue_many",
    "certificate_lift_suspension",
    "certificate_refused",
    "certificate_render",
    "certificate_render_many",
    "certificate_request_approve",
    "certificate_request_reject",
    "certificate_request_submit",
    "certificate_revoke",
    "certificate_suspend",
    "certificate_withdraw",
    "expire_due",
    "import_certificates",
    "may_correct_profile",
    "profile_correct",
    "render_pending_ids",
    "send_expiry_reminders",
    "stale_batch_ids",
    "validity_for",
]
