"""The staff certificate list at a province's scale: its year and authority filters come from
the scope, not from reading every certificate in it, and still show only the scope's."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import Certificate, new_qr_token
from exams.models import Authority
from tests.admin_lists import filter_choices
from tests.factories import PASSWORD, staff_factory

pytestmark = pytest.mark.django_db

LIST = "/admin/certificates/certificate/"


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def copy_of(certificate, *, number, issued_on, authority=None) -> Certificate:
    """The same holder's record under another number, issue date and authority."""
    other = Certificate.objects.get(pk=certificate.pk)
    other.pk, other.qr_token, other.application = None, new_qr_token(), None
    other.number, other.issued_on, other.valid_from = number, issued_on, issued_on
    other.authority = authority or certificate.authority
    other.save()
    return other


def test_years_are_the_scopes_first_to_last_and_filter_by_issue_date(
    client, certificate, authority_staff, ningbo
):
    copy_of(certificate, number="闽C052019000001", issued_on=date(2019, 5, 1))
    copy_of(certificate, number="浙B052015000001", issued_on=date(2015, 5, 1), authority=ningbo)
    login(client, authority_staff)

    this_year = timezone.localdate().year
    years = filter_choices(client.get(LIST), "issued_on_year")
    # Every year from the newest to the oldest of Quanzhou's, none of Ningbo's 2015.
    assert years == ["全部"] + [f"{year} 年" for year in range(this_year, 2018, -1)]

    in_2019 = client.get(LIST, {"issued_on_year": "2019"})
    assert in_2019.context["cl"].result_count == 1
    assert "闽C052019000001" in in_2019.content.decode()
    assert certificate.number not in in_2019.content.decode()
    not_a_year = client.get(LIST, {"issued_on_year": "20x9"})
    assert not_a_year.status_code == 200 and not_a_year.context["cl"].result_count == 0


def test_authority_filter_offers_the_scope_only(client, certificate, authority_staff, ningbo):
    copy_of(certificate, number="浙B052015000001", issued_on=date(2015, 5, 1), authority=ningbo)
    province = staff_factory(authority=Authority.objects.get(pk=350000))
    login(client, province)
    page = client.get(LIST)
    assert filter_choices(page, "authority") == [
        "全部",
        "福建省住房和城乡建设厅",
        "泉州市住房和城乡建设局",
    ]
    assert page.context["cl"].result_count == 1
    client.logout()

    # A city acts for one authority: nothing to choose, no filter.
    login(client, authority_staff)
    assert filter_choices(client.get(LIST), "authority") == []


@pytest.mark.parametrize("who", ["superuser", "authority_staff"])
def test_the_list_reads_no_column_of_every_certificate_in_scope(client, certificate, who, request):
    """What made the list slow at 100,000 certificates: the date hierarchy's distinct years,
    the authority filter's distinct authorities and the unfiltered total, each a pass over
    the whole scope. What is left is the one count of the page's paginator."""
    login(client, request.getfixturevalue(who))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST, {"status__exact": "01"}).status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if "certificates_certificate" in q["sql"]]
    assert reads and not [sql for sql in reads if "DISTINCT" in sql.upper()]
    assert len([sql for sql in reads if "COUNT(" in sql.upper()]) == 1


def test_search_matches_number_and_name_from_the_first_character(
    client, certificate, authority_staff
):
    """What the indexes answer: a number or name from its start (a lower-case letter too);
    digits alone anywhere in the number; a name's later characters, not."""
    other = copy_of(certificate, number="闽C052019000777", issued_on=date(2019, 5, 1))
    login(client, authority_staff)

    def found(term):
        page = client.get(LIST, {"q": term})
        return {row.number for row in page.context["cl"].result_list}

    both = {certificate.number, other.number}
    assert found(certificate.number) == {certificate.number}
    assert found("闽c0520190") == {other.number}
    assert found(certificate.holder_name[:2]) == both
    assert found("000777") == {other.number}
    assert found(certificate.holder_name[1:]) == set()
    assert "从第一个字起匹配" in client.get(LIST).content.decode()
