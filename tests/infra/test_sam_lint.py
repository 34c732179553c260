"""The template checks must catch what they claim to catch, and the real template must pass them."""
import copy
import json
import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import sam_lint  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")


@pytest.fixture(scope="module")
def translated():
    template = json.loads(json.dumps(cfn_yaml.load(TEMPLATE)))
    template = sam_lint.localize(template, os.path.dirname(TEMPLATE))
    return transform(template, {}, sam_lint.NoManagedPolicies())


def test_real_template_passes_every_check():
    assert sam_lint.main(["sam_lint.py", TEMPLATE]) == 0


def test_real_template_has_no_wildcard_grants(translated):
    assert sam_lint.policy_problems(translated) == []


def role_with(statement):
    return {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]}}}}


def test_star_on_star_is_caught():
    problems = sam_lint.policy_problems(role_with({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert len(problems) == 1 and "R.Policies[p]" in problems[0]


def test_service_wildcard_on_every_resource_is_caught():
    problems = sam_lint.policy_problems(role_with({"Effect": "Allow", "Action": ["iam:*"], "Resource": ["*"]}))
    assert any("iam:*" in p for p in problems)


def test_deny_all_is_not_a_grant():
    assert sam_lint.policy_problems(role_with({"Effect": "Deny", "Action": "*", "Resource": "*"})) == []


def test_admin_managed_policy_is_caught():
    cfn = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}}}
    assert sam_lint.policy_problems(cfn)


def test_cfn_lint_rejects_a_bad_runtime(tmp_path):
    text = open(TEMPLATE).read().replace("Runtime: provided.al2023", "Runtime: provided.al2099")
    text = text.replace("../statemachines/", os.path.join(ROOT, "statemachines") + "/")
    text = text.replace("../target/", os.path.join(ROOT, "target") + "/")
    bad = tmp_path / "template.yaml"
    bad.write_text(text)
    assert sam_lint.main(["sam_lint.py", str(bad)]) == 1


def test_every_function_is_scheduled_or_triggered_and_limited(translated):
    functions = {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert "IngestFunction" in functions
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "provided.al2023", name
        if name != "IngestFunction":
            assert props.get("ReservedConcurrentExecutions") == 1, name
            rules = [r for r in translated["Resources"].values()
                     if r["Type"] == "AWS::Events::Rule" and any(
                         t.get("Arn", {}).get("Fn::GetAtt", [None])[0] == name for t in r["Properties"].get("Targets", []))]
            assert rules and "ScheduleExpression" in rules[0]["Properties"], f"{name} has no schedule"


def test_guardduty_rule_targets_the_remediation_workflow(translated):
    rules = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Events::Rule"
             and r["Properties"].get("EventPattern", {}).get("source") == ["aws.guardduty"]]
    assert len(rules) == 1
    targets = rules[0]["Properties"]["Targets"]
    assert targets[0]["Arn"] == {"Ref": "RemediationStateMachine"}
    pattern = rules[0]["Properties"]["EventPattern"]
    # Only this account's bus and region deliver; the finding is for this account or a listed member.
    assert pattern["account"] == [{"Ref": "AWS::AccountId"}]
    assert pattern["region"] == [{"Ref": "AWS::Region"}]
    accounts = pattern["detail"]["accountId"]["Fn::If"]
    assert accounts[0] == "HasTrustedAccounts" and accounts[2] == [{"Ref": "AWS::AccountId"}]


def test_every_tripline_role_is_under_the_protected_path(translated):
    """The remediation never contains a principal under /tripline/ (statemachines/README.md):
    every role the stack creates must be there."""
    roles = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) >= 15
    for name, role in roles.items():
        assert role["Properties"].get("Path") == "/tripline/", name


def test_protection_and_member_accounts_reach_the_workflow(translated):
    sm = translated["Resources"]["RemediationStateMachine"]["Properties"]
    subs = sm["DefinitionSubstitutions"]
    assert subs["TrustedAccounts"] == {"Fn::Join": [",", {"Ref": "TrustedFindingAccounts"}]}
    assert subs["ProtectedPrincipalArns"] == {"Fn::Join": [",", {"Ref": "ProtectedPrincipalArns"}]}
    assert subs["ProtectedArnPattern"] == {"Ref": "ProtectedArnPattern"}
    assert subs["NoticeDetail"] == {"Ref": "NoticeDetail"}
    for name in ("RemediationStateMachine", "IrRunbookStateMachine"):
        logging = translated["Resources"][name]["Properties"]["LoggingConfiguration"]
        assert logging["Level"] == {"Ref": "ExecutionLogLevel"}, name
        assert logging["IncludeExecutionData"] == {"Fn::If": ["LogExecutionData", True, False]}, name
