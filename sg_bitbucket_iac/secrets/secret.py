"""The :class:`Secret` type: a credential that refuses to be printed, pickled or dumped.

A credential is wrapped the moment it is read, so that no repr, log line, exception or JSON dump
can carry it by accident. Only code that must send it to an API calls :meth:`Secret.reveal`.
"""

from __future__ import annotations

import hmac
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ..redact import mask


class Secret:
    """A credential that refuses to be printed.

    Works as a pydantic field type: validation accepts a plain string or another Secret,
    serialization (``model_dump(mode="json")``) gives the mask, never the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a string")
        self._value = value

    def reveal(self) -> str:
        """The plaintext, for the one place that sends it to an API."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        # Pickling a secret (dill in Pulumi, multiprocessing, ...) would write it somewhere we
        # do not control. Refuse loudly instead.
        raise TypeError("Secret values cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value)
            raise ValueError("must be a string")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v.masked if isinstance(v, Secret) else mask(str(v)), when_used="always"
            ),
        )


def reveal(value: Secret | str | None) -> str | None:
    """The plaintext of a wrapped or plain value (None stays None), for request bodies."""
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else value
