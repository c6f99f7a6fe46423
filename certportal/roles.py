"""The roles of SPEC section 1 as Django groups, and the model permissions each holds.

Each issue that adds models extends ROLE_PERMISSIONS and adds a data migration calling
``sync_roles``; the migration makes the groups match this table exactly.
"""

from __future__ import annotations

APPLICANT = "申报人"
INSTITUTION_STAFF = "机构工作人员"
AUTHORITY_STAFF = "发证机关工作人员"

SUPERUSER = "superuser"

# Stable names for scripts (seed_demo --summary): group name → slug.
SLUGS = {
    APPLICANT: "applicant",
    INSTITUTION_STAFF: "institution_staff",
    AUTHORITY_STAFF: "authority_staff",
    SUPERUSER: "superuser",
}

ROLE_PERMISSIONS: dict[str, list[str]] = {
    APPLICANT: [],
    INSTITUTION_STAFF: [
        "applicants.view_profile",
        "applicants.view_material",
        "exams.view_trade",
        "exams.view_authority",
        "exams.view_institution",
        "exams.view_examapplication",
        "exams.change_examapplication",
        "exams.view_examsession",
        "exams.add_examsession",
        "exams.change_examsession",
        "renewals.view_continuingeducation",
        "renewals.add_continuingeducation",
    ],
    AUTHORITY_STAFF: [
        "applicants.view_profile",
        "applicants.view_material",
        "exams.view_trade",
        "exams.view_authority",
        "exams.view_institution",
        "exams.add_institution",
        "exams.change_institution",
        "exams.view_policy",
        "exams.change_policy",
        "certportal.view_auditevent",
        "exams.view_examapplication",
        "exams.change_examapplication",
        "exams.view_examsession",
        "exams.add_examsession",
        "exams.change_examsession",
        "certificates.view_certificate",
        "certificates.change_certificate",
        # The validity history and the PDF versions, shown on the certificate's page.
        "certificates.view_validityperiod",
        "certificates.view_certificatepdf",
        "certificates.view_certificaterequest",
        "certificates.change_certificaterequest",
        "certificates.view_issuablesession",
        "certificates.change_issuablesession",
        "certificates.view_batchissue",
        "certificates.add_batchissue",
        "renewals.view_continuingeducation",
        # Records of a provider of its scope, by hand or imported (Qinghai: 人事处按批次导入).
        "renewals.add_continuingeducation",
        "renewals.view_conductrecord",
        "renewals.add_conductrecord",
        "renewals.view_renewalapplication",
        "renewals.change_renewalapplication",
        "verification.view_lookuprecord",
    ],
}


def sync_roles(apps, schema_editor=None) -> None:
    """Create the groups and set their permissions (usable from a data migration)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Historical app configs (in migrations) have no models module; create_permissions
        # skips such apps unless it is set.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            # A permission of a model that a later migration creates does not exist yet here;
            # that app's own roles migration calls sync_roles again once it does.
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
