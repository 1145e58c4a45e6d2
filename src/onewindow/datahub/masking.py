"""The data hub's view of the one masking policy, ``onewindow.security.masking``.

Kept as a module so the data hub's callers (and tests) need not change: every table and mask
lives in ``security.masking``.
"""

from __future__ import annotations

from typing import Any

from onewindow.security.masking import (
    MASKS,
    SENSITIVITY_POLICY,
    Visibility,
    mask_address,
    mask_bank_card,
    mask_citizen_id,
    mask_email,
    mask_landline,
    mask_mobile,
    mask_name,
    sensitivity_visibility,
    show_labelled,
)

VISIBILITY = SENSITIVITY_POLICY

__all__ = [
    "MASKS",
    "VISIBILITY",
    "Visibility",
    "apply",
    "mask_address",
    "mask_bank_card",
    "mask_citizen_id",
    "mask_email",
    "mask_landline",
    "mask_mobile",
    "mask_name",
    "visibility",
]


def visibility(sensitivity: str, roles: frozenset[str]) -> str:
    """The most open visibility any of the caller's roles has for this sensitivity."""
    return str(sensitivity_visibility(sensitivity, roles))


def apply(value: Any, field_type: str, sensitivity: str, roles: frozenset[str]) -> Any:
    """The value as this caller may see it: unchanged, masked, or withheld (``None``)."""
    return show_labelled(value, field_type, sensitivity, roles)
