"""Runs `consulta` through every kind of answer and prints one line per answer:

    python demo.py http://127.0.0.1:8080 [STUB_URL]

against `itau-codigo serve --demo --login-max-failures 2`. STUB_URL, when given, is a
stand-in for a newer service that answers a problem type this client does not know.
"""

import sys

import httpx

from consulta import (
    Bare,
    Found,
    Invalid,
    LockedOut,
    NotFound,
    Outcome,
    Refused,
    RetryLater,
    UnknownProblem,
    WrongCredentials,
    consulta,
)
from itau_codigo_models import ConsultaClienteRequest, FieldErrorCode, ProblemType


def text(value: object) -> str:
    """A generated enum's wire value; a string a newer service sent, as it is."""
    return value.value if isinstance(value, (FieldErrorCode, ProblemType)) else str(value)


def describe(outcome: Outcome) -> str:
    match outcome:
        case Found(data):
            manager = data.gerentes.codigo_cargo if data.gerentes else "none"
            return f"found: {data.nome_completo}, manager {manager}"
        case Invalid(errors):
            return "invalid: " + ", ".join(f"{e.field} {text(e.code)}" for e in errors)
        case Refused(problem):
            return f"refused: {text(problem.type)}"
        case WrongCredentials():
            return "wrong credentials"
        case LockedOut(seconds):
            return f"locked out: retry after {seconds} s"
        case NotFound():
            return "no such account"
        case RetryLater(problem):
            return f"retry later: {text(problem.type)}"
        case Bare(status):
            return f"bare {status}: no body"
        case UnknownProblem(status, type_, title):
            return f"unknown problem {status}: {type_} ({title})"
    raise AssertionError(outcome)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python demo.py BASE_URL [STUB_URL]")
    base_url = sys.argv[1]
    stub_url = sys.argv[2] if len(sys.argv) > 2 else None
    known = ConsultaClienteRequest(codigo_conta="001341150100098790", tipo_estrutura="OP")
    with httpx.Client(base_url=base_url) as client:
        demo = {"user_name": "demo", "password": "demo"}
        print(describe(consulta(client, known, **demo)))
        wrong_dac = ConsultaClienteRequest(codigo_conta="001341150100098791")
        print(describe(consulta(client, wrong_dac, **demo)))
        unknown = ConsultaClienteRequest(codigo_conta="001341000100000017")
        print(describe(consulta(client, unknown, **demo)))
        # More than 96 headers: the HTTP layer answers 431, bare.
        filler = {f"x-filler-{i}": str(i) for i in range(100)}
        print(describe(consulta(client, known, **demo, extra_headers=filler)))
        if stub_url is not None:
            with httpx.Client(base_url=stub_url) as stub:
                print(describe(consulta(stub, known, **demo)))
        # Last, as it locks this address out: wrong passwords until the answer says so.
        for _ in range(5):
            outcome = consulta(client, known, user_name="demo", password="wrong")
            print(describe(outcome))
            if isinstance(outcome, LockedOut):
                break


if __name__ == "__main__":
    main()
