"""The deployable stack as CloudFormation will see it (the SAM template translated, as `make lint`
does): what is alarmed and where failures go, how the alerts topic is encrypted and who may
publish to it, and the logs bucket's delivery policy for CloudTrail and VPC flow logs."""
import json
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import sam_lint  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")
TRAIL_ARN = "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/${TrailName}"
LOGS_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"
TOPIC = {"Ref": "AlertsTopic"}


@pytest.fixture(scope="module")
def cfn():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = json.loads(json.dumps(cfn_yaml.load(TEMPLATE)))
    template = sam_lint.localize(template, os.path.dirname(TEMPLATE))
    return transform(template, {}, sam_lint.NoManagedPolicies())


def of_type(cfn, kind):
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def as_list(x):
    return x if isinstance(x, list) else [x]


# ---------------------------------------------------------------- failures and alarms


def test_every_function_sends_failed_invocations_to_the_queue_after_two_retries(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    configs = {v["Properties"]["FunctionName"]["Ref"]: v["Properties"]
               for v in of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()}
    assert len(functions) >= 2 and set(configs) == set(functions), set(functions) ^ set(configs)
    for name, p in configs.items():
        assert p["MaximumRetryAttempts"] == 2, name
        assert p["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}, name
        # SAM grants the send; the queue is encrypted, so the role also needs the key.
        role = cfn["Resources"][f"{name}Role"]["Properties"]
        assert any(st["Action"] == "sqs:SendMessage" for p in role["Policies"]
                   for st in p["PolicyDocument"]["Statement"]), name


def test_the_queue_keeps_failures_for_14_days_encrypted(cfn):
    q = cfn["Resources"]["FailedInvocationsQueue"]["Properties"]
    assert q["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert q["KmsMasterKeyId"] == {"Ref": "AlertsKey"}


def alarms(cfn):
    return of_type(cfn, "AWS::CloudWatch::Alarm")


def test_every_function_has_an_errors_and_a_throttles_alarm_to_the_topic(cfn):
    by_function = {}
    for name, a in alarms(cfn).items():
        p = a["Properties"]
        if p["Namespace"] != "AWS/Lambda":
            continue
        (dim,) = p["Dimensions"]
        assert dim["Name"] == "FunctionName", name
        by_function.setdefault(dim["Value"]["Ref"], set()).add(p["MetricName"])
        assert (p["Statistic"], p["Threshold"], p["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold"), name
        assert p["TreatMissingData"] == "notBreaching", name
    functions = set(of_type(cfn, "AWS::Lambda::Function"))
    assert set(by_function) == functions
    assert all(m == {"Errors", "Throttles"} for m in by_function.values()), by_function


def test_the_queue_depth_is_alarmed(cfn):
    p = cfn["Resources"]["FailedInvocationsAlarm"]["Properties"]
    assert (p["Namespace"], p["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert p["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedInvocationsQueue", "QueueName"]}}]
    assert (p["Threshold"], p["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_alarm_notifies_the_alerts_topic(cfn):
    assert len(alarms(cfn)) == 2 * len(of_type(cfn, "AWS::Lambda::Function")) + 1
    for name, a in alarms(cfn).items():
        assert a["Properties"]["AlarmActions"] == [TOPIC], name


def test_failed_workflow_executions_reach_the_topic(cfn):
    rule = cfn["Resources"]["WorkflowFailuresRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "RemediationStateMachine"}, {"Ref": "IrRunbookStateMachine"}]
    assert [t["Arn"] for t in rule["Targets"]] == [TOPIC]


# ---------------------------------------------------------------- the topic and its key


def test_the_topic_uses_the_stacks_key_which_alarms_and_eventbridge_may_use(cfn):
    assert cfn["Resources"]["AlertsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertsKey"}
    key = cfn["Resources"]["AlertsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    root = [s for s in statements if s["Principal"].get("AWS") == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]
    assert len(root) == 1 and root[0]["Action"] == "kms:*"
    services = [s for s in statements if "Service" in s["Principal"]]
    assert len(services) == 1
    assert sorted(services[0]["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert sorted(services[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_the_topic_policy_admits_alarms_and_eventbridge_of_this_account_only(cfn):
    (policy,) = of_type(cfn, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [TOPIC]
    (st,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (st["Effect"], st["Action"], st["Resource"]) == ("Allow", "sns:Publish", TOPIC)
    assert sorted(st["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def role_statements(cfn, role):
    out = []
    for p in cfn["Resources"][role]["Properties"].get("Policies", []):
        out += as_list(p["PolicyDocument"]["Statement"])
    for p in of_type(cfn, "AWS::IAM::Policy").values():
        if {"Ref": role} in p["Properties"]["Roles"]:
            out += as_list(p["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_every_role_that_publishes_to_the_topic_may_use_its_key(cfn):
    publishers = 0
    for role in of_type(cfn, "AWS::IAM::Role"):
        sts = role_statements(cfn, role)
        publishes = any("sns:Publish" in as_list(s.get("Action")) and s.get("Resource") == TOPIC for s in sts)
        if not publishes:
            continue
        publishers += 1
        key = [s for s in sts if s.get("Resource") == {"Fn::GetAtt": ["AlertsKey", "Arn"]}]
        assert key and sorted(key[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"], role
    assert publishers >= 3, "the alert functions and both state machines publish"
    for machine in ("RemediationStateMachineRole", "IrRunbookStateMachineRole"):
        assert any(s.get("Sid") == "UseAlertsKey" for s in role_statements(cfn, machine)), machine


def test_functions_never_install_templates(cfn):
    for name, f in of_type(cfn, "AWS::Lambda::Function").items():
        env = f["Properties"]["Environment"]["Variables"]
        assert env["TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES"] == "false", name
    text = json.dumps({k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::IAM::Role"})
    assert "es:ESHttpPut" not in text


# ---------------------------------------------------------------- delivery into the logs bucket


def bucket_statements(cfn):
    (policy,) = of_type(cfn, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "LogsBucket"}
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_cloudtrail_may_deliver_only_for_the_named_trail(cfn):
    sts = bucket_statements(cfn)
    acl, write = sts["CloudTrailAclCheck"], sts["CloudTrailWrite"]
    for st in (acl, write):
        assert st["Effect"] == "Allow" and st["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert st["Condition"]["StringEquals"]["aws:SourceArn"] == {"Fn::Sub": TRAIL_ARN}
    assert acl["Action"] == "s3:GetBucketAcl"
    assert acl["Resource"] == {"Fn::GetAtt": ["LogsBucket", "Arn"]}
    assert write["Action"] == "s3:PutObject"
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    # This account's prefix always; the organization's too when OrganizationId is given.
    cond, with_org, without = write["Resource"]["Fn::If"]
    account = {"Fn::Sub": "${LogsBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    assert cond == "HasOrganization"
    assert with_org == [account, {"Fn::Sub": "${LogsBucket.Arn}/AWSLogs/${OrganizationId}/*"}]
    assert without == account
    assert cfn["Conditions"]["HasOrganization"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}


def test_flow_logs_may_deliver_only_from_this_account_and_region(cfn):
    sts = bucket_statements(cfn)
    acl, write = sts["FlowLogsAclCheck"], sts["FlowLogsWrite"]
    for st in (acl, write):
        assert st["Effect"] == "Allow" and st["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
        assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert st["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::Sub": LOGS_ARN}}
    assert (acl["Action"], acl["Resource"]) == ("s3:GetBucketAcl", {"Fn::GetAtt": ["LogsBucket", "Arn"]})
    assert (write["Action"], write["Resource"]) == ("s3:PutObject", {"Fn::Sub": "${LogsBucket.Arn}/AWSLogs/${AWS::AccountId}/*"})
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"


def test_nothing_reaches_the_bucket_without_tls(cfn):
    deny = bucket_statements(cfn)["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Resource"] == [{"Fn::GetAtt": ["LogsBucket", "Arn"]}, {"Fn::Sub": "${LogsBucket.Arn}/*"}]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allows = [s for s in bucket_statements(cfn).values() if s["Effect"] == "Allow"]
    assert all("Service" in s["Principal"] and s.get("Condition") for s in allows), "no unconditioned grant"


def test_the_stack_creates_the_trail_the_policy_names(cfn):
    trail = cfn["Resources"]["Trail"]
    assert trail["Condition"] == "MakeTrail" and trail["DependsOn"] == "LogsBucketPolicy"
    p = trail["Properties"]
    assert p["TrailName"] == {"Ref": "TrailName"} and p["S3BucketName"] == {"Ref": "LogsBucket"}
    assert (p["IsLogging"], p["IsMultiRegionTrail"], p["EnableLogFileValidation"]) == (True, True, True)
    assert p["IsOrganizationTrail"] == {"Fn::If": ["HasOrganization", True, False]}
    params = cfn["Parameters"]
    assert params["CreateTrail"]["Default"] == "true" and params["TrailName"]["Default"] == "tripline"
    assert params["OrganizationId"]["Default"] == ""
    assert re.fullmatch(params["OrganizationId"]["AllowedPattern"], "o-abcd123456")
    assert not re.fullmatch(params["OrganizationId"]["AllowedPattern"], "123456789012")


# ---------------------------------------------------------------- the bucket policy in moto's S3


def resolve(node, values, org):
    """Fn::Sub / Fn::GetAtt / Ref / Fn::If of the bucket policy with concrete values."""
    if isinstance(node, dict):
        if "Fn::Sub" in node:
            return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            return values[".".join(node["Fn::GetAtt"])]
        if "Ref" in node:
            return values[node["Ref"]]
        if "Fn::If" in node:
            cond, yes, no = node["Fn::If"]
            assert cond == "HasOrganization"
            return resolve(yes if org else no, values, org)
        return {k: resolve(v, values, org) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, values, org) for v in node]
    return node


@pytest.mark.parametrize("org", [False, True])
def test_the_bucket_policy_is_accepted_by_s3(cfn, org):
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    bucket = "tripline-logs-123456789012-us-east-1"
    values = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
              "TrailName": "tripline", "OrganizationId": "o-abcd123456", "LogsBucket": bucket,
              "LogsBucket.Arn": f"arn:aws:s3:::{bucket}"}
    (policy,) = of_type(cfn, "AWS::S3::BucketPolicy").values()
    doc = resolve(policy["Properties"]["PolicyDocument"], values, org)
    writes = {s["Sid"]: s for s in doc["Statement"]}["CloudTrailWrite"]["Resource"]
    assert (f"arn:aws:s3:::{bucket}/AWSLogs/o-abcd123456/*" in as_list(writes)) == org
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
        stored = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert stored == doc
    assert {s["Condition"]["StringEquals"]["aws:SourceArn"] for s in stored["Statement"] if s["Sid"].startswith("CloudTrail")} \
        == {"arn:aws:cloudtrail:us-east-1:123456789012:trail/tripline"}
