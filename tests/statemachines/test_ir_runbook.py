"""The IR runbook (statemachines/ir-runbook.asl.json): block and unblock IAM users, roles and
groups with an inline DenyAll policy, executed by moto against moto's IAM."""

from __future__ import annotations

import json
import uuid

import pytest

from harness import create_state_machine, definition, execute

DENY_ALL = [{"Sid": "TriplineDenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]


def runbook(sfn, topic_arn: str) -> str:
    return create_state_machine(sfn, definition("ir-runbook", SnsTopicArn=topic_arn), "ir-runbook")


def make_principal(iam, kind: str) -> str:
    name = f"suspect-{kind}-{uuid.uuid4().hex[:6]}"
    if kind == "user":
        iam.create_user(UserName=name)
    elif kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    else:
        iam.create_group(GroupName=name)
    return name


def inline_policies(iam, kind: str, name: str) -> list[str]:
    if kind == "user":
        return iam.list_user_policies(UserName=name)["PolicyNames"]
    if kind == "role":
        return iam.list_role_policies(RoleName=name)["PolicyNames"]
    return iam.list_group_policies(GroupName=name)["PolicyNames"]


def policy_document(iam, kind: str, name: str) -> dict:
    if kind == "user":
        doc = iam.get_user_policy(UserName=name, PolicyName="DenyAll")["PolicyDocument"]
    elif kind == "role":
        doc = iam.get_role_policy(RoleName=name, PolicyName="DenyAll")["PolicyDocument"]
    else:
        doc = iam.get_group_policy(GroupName=name, PolicyName="DenyAll")["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


@pytest.mark.parametrize("kind", ["user", "role", "group"])
def test_block_unblock_round_trip(moto, sfn, sns_capture, kind):
    iam = moto.client("iam")
    name = make_principal(iam, kind)
    # An unrelated inline policy must survive block and unblock.
    keep = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    getattr(iam, f"put_{kind}_policy")(**{f"{kind.capitalize()}Name": name,
                                          "PolicyName": "app-read", "PolicyDocument": keep})
    arn = runbook(sfn, sns_capture.topic_arn)
    request = {"principalType": kind, "name": name, "reason": "IR drill", "requestedBy": "pytest"}

    blocked = execute(sfn, arn, dict(request, action="block"))
    assert blocked.status == "SUCCEEDED", (blocked.error, blocked.cause)
    assert blocked.output == {"action": "block", "principalType": kind, "name": name,
                              "policyName": "DenyAll", "outcome": "blocked"}
    assert sorted(inline_policies(iam, kind, name)) == ["DenyAll", "app-read"]
    assert policy_document(iam, kind, name)["Statement"] == DENY_ALL

    again = execute(sfn, arn, dict(request, action="block"))
    assert again.status == "SUCCEEDED"
    assert sorted(inline_policies(iam, kind, name)) == ["DenyAll", "app-read"]

    unblocked = execute(sfn, arn, dict(request, action="unblock"))
    assert unblocked.status == "SUCCEEDED", (unblocked.error, unblocked.cause)
    assert unblocked.output["outcome"] == "unblocked"
    assert inline_policies(iam, kind, name) == ["app-read"]

    twice = execute(sfn, arn, dict(request, action="unblock"))
    assert twice.status == "SUCCEEDED"
    assert twice.output["outcome"] == "not-blocked"
    assert inline_policies(iam, kind, name) == ["app-read"]

    msgs = sns_capture.messages()
    assert [m["subject"] for m in msgs] == ["Tripline: IR runbook action"] * 4
    assert f"block {kind} {name}: blocked" in msgs[0]["message"]
    assert f"unblock {kind} {name}: unblocked" in msgs[2]["message"]
    assert '"reason":"IR drill"' in msgs[0]["message"]


def test_missing_principal_fails_and_notifies(moto, sfn, sns_capture):
    arn = runbook(sfn, sns_capture.topic_arn)
    ex = execute(sfn, arn, {"action": "block", "principalType": "user", "name": f"nobody-{uuid.uuid4().hex[:6]}"})
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ActionFailed")
    msgs = sns_capture.messages()
    assert len(msgs) == 1 and "FAILED" in msgs[0]["message"] and "Error: " in msgs[0]["message"]


@pytest.mark.parametrize("request_", [
    {"action": "block", "principalType": "user", "name": "bad name"},
    {"action": "block", "principalType": "user", "name": "x/../admin"},
    {"action": "block", "principalType": "user", "name": ""},
    {"action": "delete", "principalType": "user", "name": "alice"},
    {"action": "block", "principalType": "policy", "name": "alice"},
    {"action": "block", "principalType": "user"},
], ids=["space", "slash", "empty", "bad-action", "bad-type", "no-name"])
def test_invalid_requests_are_refused_without_calls(moto, sfn, sns_capture, request_):
    ex = execute(sfn, runbook(sfn, sns_capture.topic_arn), request_)
    assert (ex.status, ex.error) == ("FAILED", "Tripline.InvalidRequest")
    assert not [e for e in ex.history if e["type"] == "TaskScheduled"]


def test_without_topic_no_notification(moto, sfn):
    iam = moto.client("iam")
    name = make_principal(iam, "user")
    ex = execute(sfn, runbook(sfn, ""), {"action": "block", "principalType": "user", "name": name})
    assert ex.status == "SUCCEEDED"
    assert inline_policies(iam, "user", name) == ["DenyAll"]
    assert "Notify" not in ex.entered_states()
