"""Calling POST /apiaccess/rest/ccmessaging/v1/itau/codigo with httpx, checked by the
pydantic models datamodel-code-generator makes from schemas/openapi.json:

    datamodel-codegen --input schemas/openapi.json --input-file-type openapi \\
        --output-model-type pydantic_v2.BaseModel --formatters builtin \\
        --output itau_codigo_models.py

Every answer the service can give becomes one outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Union

import httpx
from pydantic import Field

from itau_codigo_models import (
    ConsultaClienteRequest,
    ConsultaClienteResponse,
    DadosCliente,
    FieldError,
    FieldErrorCode,
    Problem,
    ProblemType,
)

PATH = "/apiaccess/rest/ccmessaging/v1/itau/codigo"


# The generated enums list the values known today; a newer service may send others.
# These two models accept them as plain strings instead of failing.
class OpenFieldError(FieldError):
    code: Annotated[Union[FieldErrorCode, str], Field(union_mode="left_to_right")]


class OpenProblem(Problem):
    type: Annotated[Union[ProblemType, str], Field(union_mode="left_to_right")]
    errors: Union[list[OpenFieldError], None] = None


@dataclass
class Found:
    data: DadosCliente


@dataclass
class Invalid:
    """400 invalid-request: every failing member, with a stable `code` (which may be new)."""

    errors: list[OpenFieldError]


@dataclass
class Refused:
    """Another 400, or a path or method that does not exist: fix the request."""

    problem: OpenProblem


@dataclass
class WrongCredentials:
    """401 without Retry-After."""


@dataclass
class LockedOut:
    """401 with Retry-After: this client address is locked out; do not retry before then."""

    retry_after_seconds: int


@dataclass
class NotFound:
    pass


@dataclass
class RetryLater:
    """500 (store-unavailable, internal) or a body that came too late: retry with backoff."""

    problem: OpenProblem


@dataclass
class Bare:
    """An answer of the HTTP layer: no body to read (400, 408 or 431)."""

    status: int


@dataclass
class UnknownProblem:
    """A problem type this client does not know (a newer service may add some): act on the status."""

    status: int
    type: str
    title: str


Outcome = Union[
    Found, Invalid, Refused, WrongCredentials, LockedOut, NotFound, RetryLater, Bare, UnknownProblem
]


def consulta(
    client: httpx.Client,
    request: ConsultaClienteRequest,
    *,
    user_name: str,
    password: str,
    extra_headers: dict[str, str] | None = None,
) -> Outcome:
    response = client.post(
        PATH,
        content=request.model_dump_json(exclude_none=True),
        headers={
            **(extra_headers or {}),
            "Content-Type": "application/json",
            "userName": user_name,
            "password": password,
        },
    )
    if response.status_code == 200:
        body = ConsultaClienteResponse.model_validate_json(response.content)
        return Found(body.data or DadosCliente())
    # Not every non-2xx has a problem body: check the media type before parsing.
    if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return Bare(response.status_code)
    problem = OpenProblem.model_validate_json(response.content)
    match problem.type:
        case ProblemType.urn_itau_codigo_problem_invalid_request:
            return Invalid(problem.errors or [])
        case (
            ProblemType.urn_itau_codigo_problem_unsupported_media_type
            | ProblemType.urn_itau_codigo_problem_payload_too_large
            | ProblemType.urn_itau_codigo_problem_malformed_json
            | ProblemType.urn_itau_codigo_problem_route_not_found
            | ProblemType.urn_itau_codigo_problem_method_not_allowed
        ):
            return Refused(problem)
        case ProblemType.urn_itau_codigo_problem_unauthorized:
            retry_after = response.headers.get("Retry-After")
            return WrongCredentials() if retry_after is None else LockedOut(int(retry_after))
        case ProblemType.urn_itau_codigo_problem_account_not_found:
            return NotFound()
        case (
            ProblemType.urn_itau_codigo_problem_store_unavailable
            | ProblemType.urn_itau_codigo_problem_internal
            | ProblemType.urn_itau_codigo_problem_request_timeout
        ):
            return RetryLater(problem)
        case str(unknown):
            return UnknownProblem(response.status_code, unknown, problem.title)
    raise AssertionError(f"a ProblemType without a branch: {problem.type}")
