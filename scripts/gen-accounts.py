#!/usr/bin/env python3
"""Writes N deterministic, valid import records (JSON Lines) to stdout, for the soak.

The demo records (crates/itau-codigo-server/demo/clientes.jsonl) are reused in turn,
each under a new account code: empresa 001, banco 341, agência 4242 (or --agencia),
conta 1..N, DAC computed. Same N, same output, byte for byte. A stop-gap until
`cargo xtask gen` lands; scripts/soak.lua generates the same codes.

    scripts/gen-accounts.py 100000 > accounts.jsonl
"""

import argparse
import json
import pathlib
import sys
from itau_dac import dac

DEMO = pathlib.Path(__file__).resolve().parent.parent / "crates/itau-codigo-server/demo/clientes.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--agencia", default="4242")
    args = parser.parse_args()
    agencia = f"{int(args.agencia):04d}"
    templates = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = sys.stdout
    for index in range(args.count):
        record = json.loads(json.dumps(templates[index % len(templates)]))
        conta = f"{index + 1:07d}"
        record["codigo_conta"] = f"001341{agencia}{conta}{dac(agencia + conta)}"
        record["data"]["agencia"] = agencia
        record["data"]["conta_corrente"] = conta
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
