"""scripts/iam_check.py finds what a role lacks and what it grants for nothing; the real files pass."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import iam_check  # noqa: E402

TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")

ASL = {
    "StartAt": "Describe",
    "States": {
        "Describe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeInstances",
                     "Parameters": {"InstanceIds": ["i-1"]}, "Next": "Fan"},
        "Fan": {"Type": "Parallel", "Next": "Each", "Branches": [{"StartAt": "Notify", "States": {
            "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                       "Parameters": {"TopicArn": "${Topic}", "Message": "x"}, "End": True}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$.ids", "End": True,
                 "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Block", "States": {
                     "Block": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putPublicAccessBlock",
                               "Parameters": {"Bucket.$": "$"}, "End": True}}}},
    },
}

TEMPLATE_YAML = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Logs:
    Type: AWS::Logs::LogGroup
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: fake.asl.json
      Logging:
        Level: ALL
        Destinations:
          - CloudWatchLogsLogGroup:
              LogGroupArn: !GetAtt Logs.Arn
      Policies:
        - Statement:
            - Sid: Notify
              Effect: Allow
              Action: sns:Publish
              Resource: !Ref Topic
            - Sid: Read
              Effect: Allow
              Action: [ec2:DescribeInstances, ec2:DescribeVolumes]
              Resource: "*"
            - Sid: ExecutionLogs
              Effect: Allow
              Action: [logs:CreateLogDelivery, logs:DescribeLogGroups]
              Resource: "*"
"""


def check(tmp_path, template=TEMPLATE_YAML, asl=ASL):
    (tmp_path / "fake.asl.json").write_text(json.dumps(asl))
    (tmp_path / "template.yaml").write_text(template)
    t = iam_check.load_template(str(tmp_path / "template.yaml"))
    return iam_check.check_state_machines(t, str(tmp_path))


def test_one_missing_and_one_extra_action_are_both_reported(tmp_path):
    problems, called = check(tmp_path)
    assert called["Machine"]["s3:PutBucketPublicAccessBlock"] == ["Each/Block"]
    assert called["Machine"]["sns:Publish"] == ["Fan/Notify"]
    assert len(problems) == 2, problems
    missing = [p for p in problems if p.startswith("missing:")]
    unused = [p for p in problems if p.startswith("unused:")]
    assert len(missing) == 1 and "Machine calls s3:PutBucketPublicAccessBlock (Each/Block)" in missing[0]
    assert len(unused) == 1 and "Machine.Policies[0].Read grants ec2:DescribeVolumes" in unused[0]


def test_execution_log_permissions_need_logging(tmp_path):
    text = TEMPLATE_YAML.replace("      Logging:\n        Level: ALL\n        Destinations:\n"
                                 "          - CloudWatchLogsLogGroup:\n              LogGroupArn: !GetAtt Logs.Arn\n", "")
    problems, _ = check(tmp_path, text)
    assert any("grants logs:CreateLogDelivery" in p for p in problems), problems


def test_wildcards_and_conditions(tmp_path):
    text = TEMPLATE_YAML.replace("[ec2:DescribeInstances, ec2:DescribeVolumes]", "ec2:Describe*").replace(
        "Action: sns:Publish", "Action: !If [C, sns:Publish, sns:Subscribe]").replace(
        "Resources:", "Conditions:\n  C: !Equals [a, a]\nResources:")
    text += "            - Sid: Block\n              Effect: Allow\n              Action: s3:PutBucketPublicAccessBlock\n" \
            "              Resource: \"*\"\n"
    problems, _ = check(tmp_path, text)
    assert problems == [
        "missing: Machine calls sns:Publish (Fan/Notify) but its role does not grant it [C=false]",
        "unused: Machine.Policies[0].Notify grants sns:Subscribe, which nothing in Machine calls [C=false]",
    ]


@pytest.mark.parametrize("resource", ["arn:aws:lambda:us-east-1:1:function:f", "arn:aws:states:::glue:nope"])
def test_unknown_integrations_are_refused_not_guessed(tmp_path, resource):
    asl = json.loads(json.dumps(ASL))
    asl["States"]["Describe"]["Resource"] = resource
    problems, _ = check(tmp_path, asl=asl)
    assert any(p.startswith("unreadable: Machine: Describe:") for p in problems), problems


def test_sdk_names_map_to_iam_actions():
    assert iam_check.sdk_action("ec2", "modifyInstanceAttribute") == "ec2:ModifyInstanceAttribute"
    assert iam_check.sdk_action("sfn", "startExecution") == "states:StartExecution"
    assert iam_check.sdk_action("cloudwatchlogs", "putLogEvents") == "logs:PutLogEvents"
    assert iam_check.task_actions("arn:aws:states:::aws-sdk:ec2:createSnapshot",
                                  {"Parameters": {"TagSpecifications": []}}) == ["ec2:CreateSnapshot", "ec2:CreateTags"]
    assert iam_check.task_actions("arn:aws:states:::sns:publish.waitForTaskToken", {}) == ["sns:Publish"]


def test_function_code_side_is_derived_from_the_sources():
    t = iam_check.load_template(TEMPLATE)
    _, report = iam_check.check_functions(t, ROOT)
    # The key: the on-failure destination is a queue encrypted with the stack's own key. No PUT:
    # the functions leave installing the index templates to the deploy step.
    kms = {"kms:GenerateDataKey", "kms:Decrypt"}
    assert set(report["IngestFunction"]) == {"s3:GetObject", "es:ESHttpGet", "es:ESHttpPost"} | kms
    assert report["IngestFunction"]["s3:GetObject"] == ["functions/src/ingest.rs"]
    assert report["IngestFunction"]["kms:Decrypt"] == [
        "EventInvokeConfig.OnFailure to FailedInvocationsQueue, encrypted"]
    assert set(report["DescribeReconFunction"]) == {"sns:Publish", "es:ESHttpGet", "es:ESHttpPost"} | kms
    # Only functions given the workflow's ARN start it: the `contain` alerts, and never the
    # GuardDuty alert, whose findings come from the logs (containment comes from the rule).
    assert "states:StartExecution" in report["S3BucketPublicFunction"]
    assert "states:StartExecution" not in report["GuarddutyFindingFunction"]


def test_a_function_missing_a_verb_and_granting_an_extra_one_is_caught():
    t = iam_check.load_template(TEMPLATE)
    st = t["Resources"]["IngestFunction"]["Properties"]["Policies"][0]["Statement"]
    write = next(s for s in st if s["Sid"] == "WriteEvents")
    write["Action"]["Fn::If"][2] = ["es:ESHttpPost", "es:ESHttpDelete"]
    problems, _ = iam_check.check_functions(t, ROOT)
    assert "missing: IngestFunction calls es:ESHttpGet (crates/store/src/opensearch.rs) but its role " \
           "does not grant it [Serverless=false]" in problems
    assert any(p.startswith("unused: IngestFunction.Policies[0].WriteEvents grants es:ESHttpDelete") for p in problems)


def test_real_files_pass():
    assert iam_check.main(["iam_check.py", TEMPLATE]) == 0


def test_real_files_failed_before_the_fix(tmp_path):
    """The template as it was (issue 17): the unblock path's List*Policies, DescribeTags and
    ListCommands not granted, and three Describe actions granted for nothing."""
    text = open(TEMPLATE).read()
    for sid in ("FindDenyAllPolicies", "ForensicsStatusIsUnscopable"):
        start = text.index(f"            - Sid: {sid}\n")
        end = text.index("            - Sid:", start + 1)
        text = text[:start] + text[end:]
    text = text.replace("                - ec2:DescribeTags\n", "                - ec2:DescribeVolumes\n")
    text = text.replace("../statemachines/", os.path.join(ROOT, "statemachines") + "/")
    (tmp_path / "template.yaml").write_text(text)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "iam_check.py"), str(tmp_path / "template.yaml")],
                         capture_output=True, text=True)
    assert out.returncode == 1
    for needle in ("IrRunbookStateMachine calls iam:ListUserPolicies (UnblockUser)",
                   "IrRunbookStateMachine calls iam:ListRolePolicies (UnblockRole)",
                   "IrRunbookStateMachine calls iam:ListGroupPolicies (UnblockGroup)",
                   "RemediationStateMachine calls ec2:DescribeTags (FindAutoScalingGroup)",
                   "RemediationStateMachine calls ssm:ListCommands (CheckForensics)",
                   "grants ec2:DescribeVolumes, which nothing in RemediationStateMachine calls"):
        assert needle in out.stderr, (needle, out.stderr)


# ---------------------------------------------------------------- issue 17, items 4 and 5


def real_template():
    return iam_check.load_template(TEMPLATE)


def problems_of(t):
    p1, _ = iam_check.check_state_machines(t, os.path.dirname(TEMPLATE))
    p2, _ = iam_check.check_functions(t, ROOT)
    return p1 + p2


def drop_statement(statements, sid):
    kept = [s for s in statements if s.get("Sid") != sid]
    assert len(kept) == len(statements) - 1, sid
    statements[:] = kept


def test_publishing_to_a_topic_encrypted_with_a_customer_key_implies_the_key():
    assert iam_check.IMPLIED[("sns:Publish", iam_check.ENCRYPTED)] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert iam_check.IMPLIED[("sqs:SendMessage", iam_check.ENCRYPTED)] == ["kms:GenerateDataKey", "kms:Decrypt"]
    t = real_template()
    assert iam_check.encrypted(t, {"Ref": "AlertsTopic"})
    assert iam_check.encrypted(t, {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]})
    assert not iam_check.encrypted(t, {"Ref": "LogsBucket"}), "only topics and queues"
    t["Resources"]["AlertsTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    assert not iam_check.encrypted(t, {"Ref": "AlertsTopic"}), "an AWS managed key needs no grant"


def test_a_workflow_publishing_without_the_key_is_caught():
    """The state machines notify through the encrypted topic: without the policy SAM's roles get
    from WorkflowsUseAlertsKey, their sns:Publish would fail in AWS (moto does not encrypt)."""
    t = real_template()
    del t["Resources"]["WorkflowsUseAlertsKey"]
    problems = problems_of(t)
    for machine in ("RemediationStateMachine", "IrRunbookStateMachine"):
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert f"missing: {machine} calls {action} (sns:Publish to AlertsTopic, encrypted) but its " \
                   "role does not grant it" in problems, problems
    assert len(problems) == 4, problems


def test_the_key_is_unused_when_the_topic_is_not_encrypted_with_it():
    t = real_template()
    t["Resources"]["AlertsTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    problems = problems_of(t)
    assert "unused: WorkflowsUseAlertsKey.UseAlertsKey grants kms:GenerateDataKey, which nothing in " \
           "RemediationStateMachine calls" in problems, problems
    # The functions still send failed invocations to the encrypted queue: their key use stands.
    assert not any("Function" in p for p in problems), problems


def test_an_encrypted_on_failure_queue_needs_the_key_even_without_sns():
    """The ingest function publishes nothing, but Lambda sends its failed invocations to the
    encrypted queue with the function's role."""
    t = real_template()
    drop_statement(t["Resources"]["IngestFunction"]["Properties"]["Policies"][0]["Statement"], "UseAlertsKey")
    problems = problems_of(t)
    assert "missing: IngestFunction calls kms:GenerateDataKey (EventInvokeConfig.OnFailure to " \
           "FailedInvocationsQueue, encrypted) but its role does not grant it [Serverless=false]" in problems, problems
    del t["Resources"]["IngestFunction"]["Properties"]["EventInvokeConfig"]
    assert problems_of(t) == []


def test_template_installation_needs_put_unless_the_environment_turns_it_off():
    """The store's only PUT is the template installation (crates/store/src/opensearch/templates.rs):
    with TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false (Globals) no function sends it."""
    t = real_template()
    env = t["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES"] == "false"
    verbs = iam_check.opensearch_verbs(ROOT)
    assert verbs["es:ESHttpPut"] == ["crates/store/src/opensearch/templates.rs"], verbs
    assert "crates/store/src/opensearch/templates.rs" not in verbs.get("es:ESHttpGet", [])
    del env["TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES"]
    problems = problems_of(t)
    assert "missing: IngestFunction calls es:ESHttpPut (crates/store/src/opensearch/templates.rs) but its " \
           "role does not grant it [Serverless=false]" in problems, problems
    env["TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES"] = "true"
    assert any(p.startswith("missing: DescribeReconFunction calls es:ESHttpPut") for p in problems_of(t))


def test_policies_attached_to_a_sam_generated_role_are_read():
    t = real_template()
    docs = iam_check.role_documents(t, "IrRunbookStateMachine", t["Resources"]["IrRunbookStateMachine"]["Properties"])
    assert "WorkflowsUseAlertsKey" in [where for where, _ in docs]
