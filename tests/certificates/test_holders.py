"""An imported certificate belongs to the account whose profile has its holder's name *and* ID
number; typing someone's ID number into a profile gives nothing of theirs."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from applicants.services import profile_save
from certificates import services
from certificates.models import Certificate
from certportal import roles
from certportal.errors import DomainError
from certportal.models import AuditEvent
from tests.applicants.fixtures_ids import valid_id
from tests.factories import user_factory

pytestmark = pytest.mark.django_db
HEADER = "证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关\n"
ZHANG_ID = valid_id("35050319800101111")


def import_zhang(number="闽C4T2021000001", id_number=ZHANG_ID):
    data = (
        HEADER + f"{number},张三,{id_number},4T,2021-03-01,2025-03-02,2025-03-02,2027-03-01,"
        "泉州市住房和城乡建设局\n"
    ).encode()
    services.import_certificates(data=data, filename="legacy.csv")
    return Certificate.objects.get(number=number)


def account(username, name, id_number=ZHANG_ID):
    user = user_factory(role=roles.APPLICANT, username=username)
    profile_save(user=user, name=name, id_number=id_number, mobile=username, education="senior")
    return user


def holder_pages(user, certificate) -> list[int]:
    client = Client()
    client.force_login(user)
    listing = client.get("/me/certificates/")
    assert listing.status_code == 200
    statuses = [
        client.get(f"/me/certificates/{certificate.pk}/certificate.pdf").status_code,
        client.get(f"/me/certificates/{certificate.pk}/renewal/").status_code,
    ]
    return [int(certificate.number in listing.content.decode()), *statuses]


def test_an_id_number_typed_under_another_name_gets_nothing(issuer_credit_code):
    certificate = import_zhang()
    stranger = account("13900000011", "李四")
    certificate.refresh_from_db()
    assert certificate.holder is None
    assert holder_pages(stranger, certificate) == [0, 404, 404]
    with pytest.raises(DomainError, match="无权"):
        services.certificate_generate_ecert(certificate=certificate, actor=stranger)


def test_the_holder_registering_after_the_import_is_linked_and_can_renew(issuer_credit_code):
    certificate = import_zhang()
    holder = account("13900000012", "张三")
    certificate.refresh_from_db()
    assert certificate.holder == holder
    assert holder_pages(holder, certificate)[0] == 1
    assert holder_pages(holder, certificate)[2] == 200  # the renewal page opens
    assert AuditEvent.objects.filter(
        action="certificates.certificate.holder_linked", object_id=str(certificate.pk)
    ).exists()
    # The ID number that brought the certificate can no longer be edited away.
    holder.profile.refresh_from_db()
    assert holder.profile.id_number_locked
    with pytest.raises(ValidationError, match="不能再修改"):
        profile_save(
            user=holder,
            name="张三",
            id_number=valid_id("35050319800101113"),
            mobile="13900000012",
            education="senior",
        )


def test_an_existing_profile_is_linked_at_import_only_under_the_same_name(issuer_credit_code):
    stranger = account("13900000013", "李四")  # registered first, with 张三's ID number
    certificate = import_zhang()
    assert certificate.holder is None
    assert holder_pages(stranger, certificate) == [0, 404, 404]

    holder = account("13900000014", "张三", id_number=valid_id("35050319800101121"))
    other = import_zhang("闽C4T2021000002", id_number=valid_id("35050319800101121"))
    assert other.holder == holder and holder_pages(holder, other)[0] == 1
