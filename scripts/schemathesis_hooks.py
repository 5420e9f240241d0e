"""Schemathesis hooks for itau-codigo: what schemas/openapi.json cannot express.

`codigo_conta` is 18 digits (the schema's pattern) whose last digit, the DAC, is Itaú's
módulo 10 over the 11 digits agência + conta. No JSON Schema keyword can compute a check
digit, so a pattern-valid code is wrong 9 times out of 10 and the service answers 400
invalid-request/dac_mismatch, as docs/clients.md documents. Schemathesis would call that a
schema-valid request rejected (positive_data_acceptance). This hook replaces the last
digit of every generated 18-digit `codigo_conta` with its DAC, so "positive" data is
valid for the service too. Codes that do not match the pattern are left alone: negative
cases stay negative. See RELIABILITY.md.
"""

import re

import schemathesis

EIGHTEEN_DIGITS = re.compile(r"[0-9]{18}")


def dac(agencia_conta: str) -> int:
    """Itaú's módulo 10 (README.md, "The account code"), the repository's one DAC outside Rust: weights
    2, 1, 2, ... from the right-most digit; the digits of each product are added;
    DAC = (10 - sum mod 10) mod 10."""
    total = 0
    for k, digit in enumerate(reversed(agencia_conta)):
        product = int(digit) * (2 if k % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def with_valid_dac(codigo: str) -> str:
    return codigo[:17] + str(dac(codigo[6:17]))


assert with_valid_dac("001341150100098799") == "001341150100098790"


@schemathesis.hook
def map_body(ctx, body):
    if isinstance(body, dict):
        codigo = body.get("codigo_conta")
        if isinstance(codigo, str) and EIGHTEEN_DIGITS.fullmatch(codigo):
            body["codigo_conta"] = with_valid_dac(codigo)
    return body
