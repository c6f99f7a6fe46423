import pytest
from django.core.exceptions import ValidationError

from applicants.validators import validate_credit_code
from exams.models import Authority, Institution, Trade
from exams.selectors import policy_for, trades_for

NATIONAL_TRADES = [
    ("01", "01", "建筑电工"),
    ("02", "2P", "建筑架子工（普通脚手架）"),
    ("03", "2F", "建筑架子工（附着升降脚手架）"),
    ("04", "03", "建筑起重司索信号工"),
    ("05", "4T", "建筑起重机械司机（塔式起重机）"),
    ("06", "4S", "建筑起重机械司机（施工升降机）"),
    ("07", "4W", "建筑起重机械司机（物料提升机）"),
    ("08", "5T", "建筑起重机械安装拆卸工（塔式起重机）"),
    ("09", "5S", "建筑起重机械安装拆卸工（施工升降机）"),
    ("10", "5W", "建筑起重机械安装拆卸工（物料提升机）"),
    ("11", "06", "高处作业吊篮安装拆卸工"),
    ("99", "07", "建筑电气焊接（切割）工"),
]


@pytest.mark.django_db
def test_national_trade_table_is_exactly_the_specification():
    rows = list(
        Trade.objects.filter(authority__isnull=True)
        .order_by("code")
        .values_list("code", "old_code", "name")
    )
    assert rows == NATIONAL_TRADES


@pytest.mark.django_db
def test_quanzhou_local_trades_are_code_99_of_fujian_and_offered_only_there(quanzhou, ningbo):
    local = Trade.objects.filter(authority__abbreviation="闽").values_list("code", "name")
    assert sorted(local) == [("99", "建筑起重机械维修工"), ("99", "高处作业吊篮操作工")]
    assert trades_for(quanzhou).count() == 14
    assert trades_for(ningbo).count() == 12
    assert not trades_for(ningbo).filter(name="高处作业吊篮操作工").exists()


@pytest.mark.django_db
def test_every_province_has_abbreviation_and_region_code():
    provinces = Authority.objects.filter(level=Authority.Level.PROVINCE)
    assert provinces.count() == 31
    assert {p.abbreviation for p in provinces} >= {"闽", "浙", "鲁", "青", "京"}
    assert all(p.region_code.endswith("0000") and len(p.abbreviation) == 1 for p in provinces)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("region", "name", "prefix"),
    [
        ("350500", "泉州市住房和城乡建设局", "闽C"),
        ("330200", "宁波市住房和城乡建设局", "浙B"),
        ("370100", "济南市住房和城乡建设局", "鲁A"),
        ("630100", "西宁市住房和城乡建设局", "青A"),
    ],
)
def test_named_city_bureaus_give_the_certificate_prefix(region, name, prefix):
    bureau = Authority.objects.get(region_code=region)
    assert bureau.name == name
    assert bureau.number_prefix == prefix


@pytest.mark.django_db
def test_quanzhou_assessment_centre_belongs_to_quanzhou(quanzhou):
    centre = Institution.objects.get(name="泉州市住建行业中介服务中心")
    assert centre.kind == Institution.Kind.ASSESSMENT
    assert centre.authority == quanzhou


@pytest.mark.django_db
def test_city_without_policy_follows_its_province_then_defaults(quanzhou):
    policy = policy_for(quanzhou)
    assert policy.authority_id == quanzhou.parent_id
    defaults = policy_for(Authority.objects.get(region_code="110000"))
    assert defaults.pk is None
    assert (defaults.min_age, defaults.female_max_age, defaults.medical_max_age_months) == (
        18,
        55,
        3,
    )
    assert (defaults.theory_pass_mark, defaults.practical_pass_mark) == (60, 70)
    assert (defaults.validity_years, defaults.renewal_window_days) == (2, 90)
    assert (defaults.ce_hours_required, defaults.violations_refuse_at) == (24, 3)
    assert defaults.min_education == "junior"


def test_credit_code_validation_names_the_bad_value():
    validate_credit_code("91350100M000100Y43")
    with pytest.raises(ValidationError, match="91350100M000100Y44"):
        validate_credit_code("91350100M000100Y44")


@pytest.mark.django_db
def test_authority_shape_is_enforced_by_the_database():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Authority.objects.create(
            name="无上级的市局", province_name="福建省", level="city", region_code="350600"
        )
