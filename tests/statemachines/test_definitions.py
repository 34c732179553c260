"""Static checks of every ASL file: asl-validator passes, and every placeholder is documented."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from harness import ROOT, STATEMACHINES

ASL_FILES = sorted(STATEMACHINES.glob("*.asl.json"))
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def test_there_are_state_machines():
    names = {p.name for p in ASL_FILES}
    assert {"guardduty-remediation.asl.json", "ir-runbook.asl.json"} <= names


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_asl_validator_passes(path):
    assert VALIDATOR.exists(), f"{VALIDATOR} is missing: run `make setup`"
    run = subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_placeholders_are_documented(path):
    readme = (STATEMACHINES / "README.md").read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
    assert placeholders, "each workflow takes at least the SNS topic from DefinitionSubstitutions"
    for p in placeholders:
        assert "${" + p + "}" in readme, f"${{{p}}} of {path.name} is not documented in README.md"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_no_lambda_and_every_task_retries_and_catches(path):
    """Containment runs through SDK integrations only; every Task retries throttling and (outside
    Map iterations, where the Map catches) routes its failure somewhere."""
    doc = json.loads(path.read_text())

    def walk(states, inside_map):
        for name, st in states.items():
            if st["Type"] == "Task":
                assert "lambda" not in st["Resource"], f"{name} calls Lambda"
                assert st["Resource"].startswith("arn:aws:states:::"), name
                assert any("Ec2.RequestLimitExceededException" in r["ErrorEquals"] for r in st.get("Retry", [])), name
                if not inside_map:
                    assert any("States.ALL" in c["ErrorEquals"] for c in st.get("Catch", [])), name
            if st["Type"] == "Map":
                assert any("States.ALL" in c["ErrorEquals"] for c in st.get("Catch", [])), name
                walk(st["ItemProcessor"]["States"], True)

    walk(doc["States"], False)
