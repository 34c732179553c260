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


# ------------------------------------------------------------------ proof before action, as a graph

REMEDIATION = STATEMACHINES / "guardduty-remediation.asl.json"
READS = (":describe", ":list", ":get")


def _changes(state: dict) -> bool:
    """Does this state (or a Map's iteration) call anything but a notice or a read?"""
    if state["Type"] == "Task":
        res = state["Resource"]
        return res != "arn:aws:states:::sns:publish" and not any(r in res for r in READS)
    if state["Type"] == "Map":
        return any(_changes(s) for s in state["ItemProcessor"]["States"].values())
    return False


def _successors(state: dict) -> set[str]:
    out = {state.get("Next"), state.get("Default")}
    out |= {c.get("Next") for c in state.get("Choices", [])}
    out |= {c.get("Next") for c in state.get("Catch", [])}
    return {n for n in out if n}


def _reachable(states: dict, start: str, removed: set[str]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name in removed:
            continue
        seen.add(name)
        todo.extend(_successors(states[name]))
    return seen


def test_no_change_is_reachable_without_the_account_region_and_protection_checks():
    """Cut one gate out of the graph and every state that changes something must become
    unreachable: no path to a change bypasses it (a Catch that falls through to a broader action
    would be such a path)."""
    doc = json.loads(REMEDIATION.read_text())
    states = doc["States"]
    changing = {n for n, s in states.items() if _changes(s)}
    assert {"DeactivateAccessKey", "DenyAllToUser", "IsolateInstance", "BlockBucketPublicAccess",
            "RevokeAssumedRoleSessions", "RevokeRoleSessions", "TerminateInstance"} <= changing
    assert changing <= _reachable(states, doc["StartAt"], set()), "every change is reachable at all"
    protection = {"InstanceProtected", "UserProtected", "RoleProtected", "BucketProtected"}
    for gate in ({"AccountMatches"}, {"RegionMatches"}, protection):
        left = changing & _reachable(states, doc["StartAt"], gate)
        assert not left, f"reachable without passing {sorted(gate)}: {sorted(left)}"
    # The instance's role is checked on its own: its sessions are revoked only past that check.
    assert "RevokeRoleSessions" not in _reachable(states, doc["StartAt"], {"InstanceRoleProtected"})
    # And the key is deactivated only once its owner is proven.
    assert "DeactivateAccessKey" not in _reachable(states, doc["StartAt"], {"KeyOwnedByUser"})
    assert "RevokeAssumedRoleSessions" not in _reachable(states, doc["StartAt"], {"SessionOfRole"})


def test_every_bucket_call_names_the_expected_owner():
    """S3 answers 403 when ExpectedBucketOwner is not the bucket's owner: the owner proof AWS
    makes for us (moto does not check it, so this is checked here, statically)."""
    doc = json.loads(REMEDIATION.read_text())
    s3 = {n: s for n, s in doc["States"].items()
          if s["Type"] == "Task" and s["Resource"].startswith("arn:aws:states:::aws-sdk:s3:")}
    assert s3
    for name, st in s3.items():
        assert st["Parameters"].get("ExpectedBucketOwner.$") == "$.proof.workflowAccount", name


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_no_escaped_quotes_in_intrinsics(path):
    """moto's intrinsic parser drops a call whose string literal contains an escaped quote (the
    notice is then silently not sent in the tests): word messages without apostrophes."""
    assert "\\\\'" not in path.read_text()
