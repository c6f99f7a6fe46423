import pytest

from certificates.numbering import (
    CERTIFICATE_TYPE_CODE,
    ecert_identifier,
    format_certificate_number,
    next_serial,
    number_serial_part,
)


def test_number_format_of_the_spec_example():
    assert (
        format_certificate_number(prefix="闽C", trade_code="04", year=2026, serial=1)
        == "闽C042026000001"
    )
    assert number_serial_part("闽C042026000001") == "C042026000001"
    with pytest.raises(ValueError):
        format_certificate_number(prefix="闽C", trade_code="04", year=2026, serial=1_000_000)


@pytest.mark.django_db
def test_serials_count_per_prefix_trade_and_year():
    assert [next_serial(prefix="闽C", trade_code="05", year=2026) for _ in range(3)] == [1, 2, 3]
    assert next_serial(prefix="闽C", trade_code="05", year=2027) == 1
    assert next_serial(prefix="浙B", trade_code="05", year=2026) == 1
    assert next_serial(prefix="闽C", trade_code="01", year=2026) == 1
    assert next_serial(prefix="闽C", trade_code="05", year=2026) == 4


def mod_37_36_by_hand(text: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid system), written from the standard: P = M = 36; for each
    character S = P + value; P = (S mod M, 0 → M) × 2 mod (M+1); the check c makes
    (P + c) mod M == 1."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    m = 36
    p = m
    for ch in text:
        s = p + alphabet.index(ch)
        r = s % m or m
        p = (r * 2) % (m + 1)
    return alphabet[(1 - p) % m]


@pytest.mark.parametrize(
    ("issuer", "serial", "version"),
    [
        ("91350100M000100Y43", "C042026000001", 1),
        ("11330000002482322Q", "B052026000123", 2),
        ("91350100M000100Y43", "C992026999999", 999),
    ],
)
def test_identifier_check_character_matches_the_standard(issuer, serial, version):
    identifier = ecert_identifier(CERTIFICATE_TYPE_CODE, issuer, serial, version)
    parts = identifier.split(".")
    assert parts[:5] == ["1", "2", "156", "3005", "2"]
    assert parts[5:9] == [CERTIFICATE_TYPE_CODE, issuer, serial, f"{version:03d}"]
    assert parts[9] == mod_37_36_by_hand("".join(parts[:9]))


def test_identifier_known_value():
    # Worked once by hand with the loop above for the spec's example certificate:
    identifier = ecert_identifier(CERTIFICATE_TYPE_CODE, "91350100M000100Y43", "C042026000001", 1)
    assert identifier.startswith(
        "1.2.156.3005.2.11100000000013338W032.91350100M000100Y43.C042026000001.001."
    )
    assert identifier.rsplit(".", 1)[1] == "O"


def test_identifier_refuses_characters_outside_the_alphabet():
    with pytest.raises(ValueError):
        ecert_identifier(CERTIFICATE_TYPE_CODE, "91350100M000100Y43", "闽C042026000001", 1)
