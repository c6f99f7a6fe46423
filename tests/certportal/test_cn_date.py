"""``|cn_date``: dates as certificates write them (2027年3月4日), in every language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Engine
from django.utils import translation

ENGINE = Engine(libraries={"portal": "certportal.templatetags.portal"})


def shown(value, language="zh-hans") -> str:
    page = ENGINE.from_string("{% load portal %}{{ value|cn_date }}")
    with translation.override(language):
        return page.render(Context({"value": value}))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_is_written_without_leading_zeros_in_every_language(language):
    assert shown(date(2027, 3, 4), language) == "2027年3月4日"
    assert shown(date(2031, 12, 31), language) == "2031年12月31日"


def test_it_matches_the_date_filter_it_replaces():
    page = ENGINE.from_string('{% load portal %}{{ d|date:"Y年n月j日" }}={{ d|cn_date }}')
    for day in (date(2026, 1, 1), date(2026, 10, 9), date(2030, 2, 28)):
        before, after = page.render(Context({"d": day})).split("=")
        assert before == after


def test_an_aware_time_is_shown_on_the_portal_s_calendar_day():
    # 20:30 UTC on 4 March is 04:30 on 5 March in Beijing.
    assert shown(datetime(2027, 3, 4, 20, 30, tzinfo=UTC)) == "2027年3月5日"


@pytest.mark.parametrize("nothing", [None, "", "2027-03-04"])
def test_nothing_or_not_a_date_shows_as_nothing(nothing):
    assert shown(nothing) == ""
