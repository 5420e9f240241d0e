"""Itaú's módulo 10 DAC (DESIGN.md), for the scripts that generate account codes."""


def dac(agencia_conta: str) -> int:
    """Weights 2, 1, 2, ... from the right-most digit; the digits of each product are
    added; DAC = (10 - sum mod 10) mod 10."""
    total = 0
    for k, digit in enumerate(reversed(agencia_conta)):
        product = int(digit) * (2 if k % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10
