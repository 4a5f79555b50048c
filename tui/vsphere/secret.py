"""A password holder that never shows its value by accident."""

from __future__ import annotations

from typing import Final

_MASK: Final = "********"


class Secret:
    """Wraps a secret string: repr/str/format show a mask; only ``reveal()`` gives the value.

    It cannot be pickled or copied into JSON by accident: the value is kept in a slot that
    ``vars()`` does not show, and ``__reduce__`` refuses.
    """

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret expects a str")
        self.__value = value

    def reveal(self) -> str:
        return self.__value

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.__value == self.__value

    def __hash__(self) -> int:
        return hash(("Secret", self.__value))

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")
