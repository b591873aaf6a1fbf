"""Write prometheusrule.yaml from alerts/statuspage-rules.yml.

The rule groups are copied as text, comments included, under the resource's `spec`.
Run `python deploy/kubernetes/prometheusrule.py` after changing the rules; with
`--check` nothing is written and the exit status is 1 when the file is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = HERE.parent.parent / "alerts" / "statuspage-rules.yml"
OUTPUT = HERE / "prometheusrule.yaml"
HEADER = """\
# Generated from alerts/statuspage-rules.yml by deploy/kubernetes/prometheusrule.py;
# edit the rules there and run the script again. Your Prometheus resource must
# select this object: with kube-prometheus-stack, add the label your release uses,
# such as `release: prometheus`.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: status-page-exporter
  labels:
    app.kubernetes.io/name: status-page-exporter
spec:
"""


def render(rules_text: str) -> str:
    """Return the PrometheusRule with the rules file's text indented under spec."""
    indented = [f"  {line}" if line.strip() else "" for line in rules_text.splitlines()]
    return HEADER + "\n".join(indented).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) prometheusrule.yaml."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    text = render(RULES.read_text())
    if not args.check:
        OUTPUT.write_text(text)
        return 0
    if OUTPUT.exists() and OUTPUT.read_text() == text:
        return 0
    print("out of date, run python deploy/kubernetes/prometheusrule.py")
    return 1


if __name__ == "__main__":
    sys.exit(main())
