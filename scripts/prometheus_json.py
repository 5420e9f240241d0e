"""What the metrics and alert-rule tests read, turned into JSON on stdout by real
parsers (crates/itau-codigo-server/tests/api/prometheus.rs runs it in its virtual
environment, scripts/requirements-prometheus.txt):

    prometheus_json.py exposition < TEXT   a /metrics text, by prometheus_client's parser:
                                           [{name, type, help, samples: [{name, labels, value}]}]
    prometheus_json.py yaml FILE           a YAML file (the rule files), by PyYAML
"""

import json
import sys


def exposition(text):
    from prometheus_client.parser import text_string_to_metric_families

    return [
        {
            # The parser names a counter's family without its `_total`; its samples
            # keep it.
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": sample.name, "labels": sample.labels, "value": sample.value}
                for sample in family.samples
            ],
        }
        for family in text_string_to_metric_families(text)
    ]


def main(args):
    if args == ["exposition"]:
        result = exposition(sys.stdin.read())
    elif len(args) == 2 and args[0] == "yaml":
        import yaml

        with open(args[1], encoding="utf-8") as file:
            result = yaml.safe_load(file)
    else:
        sys.exit(__doc__)
    json.dump(result, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main(sys.argv[1:])
