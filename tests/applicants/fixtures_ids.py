"""Valid ID numbers for tests: 17 digits + the computed check character."""

from applicants.idcard import compute_check_character


def valid_id(first17: str) -> str:
    return first17 + compute_check_character(first17)
