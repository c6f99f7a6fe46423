"""What a staff list page offers in its filter sidebar, as the staff member reads it."""

from __future__ import annotations


def filter_choices(page, name: str) -> list[str]:
    """The labels of the filter ``name`` (a SimpleListFilter's parameter or a field filter's
    path) on a changelist response, "全部" first; [] when the page shows no such filter."""
    changelist = page.context["cl"]
    for spec in changelist.filter_specs:
        if name in (getattr(spec, "parameter_name", None), getattr(spec, "field_path", None)):
            return (
                [str(choice["display"]) for choice in spec.choices(changelist)]
                if spec.has_output()
                else []
            )
    return []
