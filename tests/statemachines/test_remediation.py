"""The GuardDuty remediation workflow (statemachines/guardduty-remediation.asl.json), executed
for real by moto: every assertion reads moto's EC2/IAM/S3/Auto Scaling/SNS state afterwards."""

from __future__ import annotations

import json
import uuid

import pytest

from harness import (
    create_state_machine,
    crypto_finding,
    execute,
    load_event,
    make_victim,
    remediation_definition,
    timeline,
)

QUARANTINE = "tripline-quarantine"


def machine(sfn, capture, final_action="stop", forensics=""):
    return create_state_machine(
        sfn, remediation_definition(capture.topic_arn, final_action, forensics), "remediation"
    )


def finding_id() -> str:
    return uuid.uuid4().hex


def tags_of(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def quarantine_groups(ec2, vpc_id):
    return ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [QUARANTINE]}]
    )["SecurityGroups"]


def finding_snapshots(ec2, fid):
    return ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "tag:tripline:finding-id", "Values": [fid]}]
    )["Snapshots"]


def instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_crypto_finding_isolates_snapshots_revokes_and_stops(moto, sfn, sns_capture):
    ec2, iam = moto.client("ec2"), moto.client("iam")
    victim = make_victim(moto)
    assert len(victim.eni_ids) == 2 and len(victim.volume_ids) == 2
    fid = finding_id()
    event = crypto_finding(victim.instance_id, fid)

    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))

    # One quarantine group in the instance's VPC, with no rules at all.
    groups = quarantine_groups(ec2, victim.vpc_id)
    assert len(groups) == 1
    qsg = groups[0]
    assert qsg["IpPermissions"] == [] and qsg["IpPermissionsEgress"] == []
    assert tags_of(qsg).get("tripline:role") == "quarantine"

    # Every network interface is in the quarantine group, and only in it.
    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=victim.eni_ids)["NetworkInterfaces"]
    assert len(enis) == 2
    for eni in enis:
        assert [g["GroupId"] for g in eni["Groups"]] == [qsg["GroupId"]], eni["NetworkInterfaceId"]
    inst = instance(ec2, victim.instance_id)
    assert {g["GroupId"] for g in inst["SecurityGroups"]} == {qsg["GroupId"]}

    # Tagged with the finding.
    tags = tags_of(inst)
    assert tags["tripline:finding-id"] == fid
    assert tags["tripline:finding-type"] == "CryptoCurrency:EC2/BitcoinTool.B!DNS"
    assert tags["tripline:finding-time"] == event["detail"]["updatedAt"]

    # One completed snapshot per volume, tags linking it to the finding, instance and volume.
    snaps = finding_snapshots(ec2, fid)
    assert sorted(s["VolumeId"] for s in snaps) == sorted(victim.volume_ids)
    for s in snaps:
        t = tags_of(s)
        assert s["State"] == "completed"
        assert t["tripline:instance-id"] == victim.instance_id
        assert t["tripline:volume-id"] == s["VolumeId"]
        assert t["tripline:finding-type"] == "CryptoCurrency:EC2/BitcoinTool.B!DNS"

    # The instance role's older sessions are revoked.
    doc = iam.get_role_policy(RoleName=victim.role_name, PolicyName="TriplineRevokeOlderSessions")[
        "PolicyDocument"
    ]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    stmt = doc["Statement"][0]
    assert stmt["Effect"] == "Deny" and stmt["Action"] == "*" and stmt["Resource"] == "*"
    issued_before = stmt["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert issued_before == ex.output["steps"]["RevokeRoleSessions"]["tokensIssuedBefore"]

    # Default final action: stop.
    assert inst["State"]["Name"] in ("stopping", "stopped")
    assert ex.output["steps"]["FinalAction"]["action"] == "stop"

    # SNS: the finding first, the summary of every step last.
    msgs = sns_capture.messages()
    assert len(msgs) == 2, msgs
    assert fid in msgs[0]["message"] and "BitcoinTool.B!DNS" in msgs[0]["message"]
    assert json.loads(msgs[0]["message"].split("Finding:\n", 1)[1]) == event
    assert msgs[1]["subject"] == "Tripline: remediation finished"
    summary = json.loads(msgs[1]["message"].split("Steps:\n", 1)[1])
    for step in ("NotifyFinding", "TagInstance", "Isolate", "DetachFromAutoScalingGroup",
                 "RevokeRoleSessions", "SnapshotVolumes", "Forensics", "FinalAction"):
        assert step in summary, step
    assert summary["Isolate"]["groupId"] == qsg["GroupId"]
    assert summary["DetachFromAutoScalingGroup"]["status"] == "SKIPPED"

    # Order: isolation comes before snapshots, snapshots before the final action.
    order = ex.entered_states()
    assert order.index("RecordIsolation") < order.index("SnapshotVolumes") < order.index("StopInstance")


def test_second_execution_same_end_state_one_quarantine_group(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    fid = finding_id()
    arn = machine(sfn, sns_capture)
    first = execute(sfn, arn, crypto_finding(victim.instance_id, fid))
    second = execute(sfn, arn, crypto_finding(victim.instance_id, fid))
    assert first.status == second.status == "SUCCEEDED", (second.error, second.cause)

    groups = quarantine_groups(ec2, victim.vpc_id)
    assert len(groups) == 1
    assert first.output["steps"]["Isolate"]["groupCreated"] is True
    assert second.output["steps"]["Isolate"]["groupCreated"] is False
    assert second.output["steps"]["Isolate"]["groupId"] == groups[0]["GroupId"]

    # The same snapshots, reused rather than taken twice.
    snaps = finding_snapshots(ec2, fid)
    assert len(snaps) == 2
    first_ids = sorted(s["snapshotId"] for s in first.output["steps"]["SnapshotVolumes"]["snapshots"])
    second_snaps = second.output["steps"]["SnapshotVolumes"]["snapshots"]
    assert sorted(s["snapshotId"] for s in second_snaps) == first_ids
    assert all(s["created"] is False for s in second_snaps)

    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=victim.eni_ids)["NetworkInterfaces"]
    assert all([g["GroupId"] for g in e["Groups"]] == [groups[0]["GroupId"]] for e in enis)
    assert instance(ec2, victim.instance_id)["State"]["Name"] in ("stopping", "stopped")
    assert len(sns_capture.messages()) == 4


def test_terminate_only_after_snapshots_completed(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    fid = finding_id()
    ex = execute(sfn, machine(sfn, sns_capture, "terminate"), crypto_finding(victim.instance_id, fid))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    assert instance(ec2, victim.instance_id)["State"]["Name"] in ("shutting-down", "terminated")
    order = ex.entered_states()
    assert "StopInstance" not in order
    assert order.index("RecordSnapshots") < order.index("TerminateInstance")
    assert ex.output["steps"]["SnapshotVolumes"]["completed"] is True
    assert all(s["State"] == "completed" for s in finding_snapshots(ec2, fid))


def test_final_action_none_leaves_instance_running(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    ex = execute(sfn, machine(sfn, sns_capture, "none"), crypto_finding(victim.instance_id, finding_id()))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    assert instance(ec2, victim.instance_id)["State"]["Name"] == "running"
    assert ex.output["steps"]["FinalAction"] == {"status": "SKIPPED", "action": "none"}
    # Still isolated.
    assert len(quarantine_groups(ec2, victim.vpc_id)) == 1


def test_auto_scaling_group_member_is_detached_and_replaced(moto, sfn, sns_capture):
    asc = moto.client("autoscaling")
    victim = make_victim(moto, with_asg=True)
    ex = execute(sfn, machine(sfn, sns_capture), crypto_finding(victim.instance_id, finding_id()))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    assert ex.output["steps"]["DetachFromAutoScalingGroup"] == {
        "status": "SUCCEEDED", "groupName": victim.asg_name}
    # (moto's DescribeAutoScalingInstances ignores InstanceIds: read the group instead.)
    assert "aws:autoscaling:groupName" not in tags_of(instance(moto.client("ec2"), victim.instance_id))
    group = asc.describe_auto_scaling_groups(AutoScalingGroupNames=[victim.asg_name])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1
    assert victim.instance_id not in [i["InstanceId"] for i in group["Instances"]]


def test_forensics_document_runs_before_the_final_action(moto, sfn, sns_capture):
    ssm = moto.client("ssm")
    victim = make_victim(moto)
    ex = execute(sfn, machine(sfn, sns_capture, "stop", "AWS-RunShellScript"),
                 crypto_finding(victim.instance_id, finding_id()), timeout=180)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    forensics = ex.output["steps"]["Forensics"]
    assert forensics["status"] == "SUCCEEDED", forensics
    commands = ssm.list_commands(CommandId=forensics["commandId"])["Commands"]
    assert commands[0]["DocumentName"] == "AWS-RunShellScript"
    # The workflow sends InstanceIds=[the instance] (see the execution history); moto's SendCommand
    # without Targets also adds every other instance to the command's list (a moto gap).
    sent = [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in ex.history
            if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resource"].endswith("sendCommand")]
    assert sent and sent[0]["InstanceIds"] == [victim.instance_id]
    assert victim.instance_id in commands[0]["InstanceIds"]
    order = ex.entered_states()
    assert order.index("RunForensics") < order.index("StopInstance")


def test_tripline_alert_naming_an_instance_is_quarantined(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    alert = {
        "id": "3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10",
        "utctimestamp": "2024-05-14T09:30:00+00:00", "severity": "CRITICAL",
        "summary": "cryptomining pool traffic from web-tier-01", "category": "execution",
        "tags": ["cryptomining"], "events": [], "classname": "CryptoMiningPool", "url": "",
        "notify": True, "details": {"resource": {"type": "Instance", "id": victim.instance_id}},
    }
    ex = execute(sfn, machine(sfn, sns_capture), alert)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    assert ex.output["finding"]["source"] == "tripline"
    groups = quarantine_groups(ec2, victim.vpc_id)
    assert len(groups) == 1
    assert tags_of(instance(ec2, victim.instance_id))["tripline:finding-id"] == alert["id"]


def test_missing_instance_fails_loudly_and_notifies(moto, sfn, sns_capture):
    fid = finding_id()
    ex = execute(sfn, machine(sfn, sns_capture), crypto_finding("i-0123456789abcdef0", fid))
    assert ex.status == "FAILED"
    assert ex.error == "Tripline.InstanceNotFound"
    msgs = sns_capture.messages()
    assert len(msgs) == 2, msgs
    assert msgs[1]["subject"] == "Tripline: remediation step failed"
    assert "DescribeInstance" in msgs[1]["message"] and "i-0123456789abcdef0" in msgs[1]["message"]
    assert "Error: " in msgs[1]["message"] and "Cause: " in msgs[1]["message"]
    # Nothing after the failure ran.
    order = ex.entered_states()
    assert "CreateQuarantineGroup" not in order and "StopInstance" not in order


@pytest.mark.parametrize("bad_id", [
    "i-0ABCDEF123456789",          # upper-case hex
    "i-0abc123; rm -rf /",         # characters outside [0-9a-f]
    "sg-0123456789abcdef0",        # not an instance
    "i-",                          # no digits
    "xi-0123456789abcdef0",        # wrong prefix
    "i-0123i-456789abcdef",        # the prefix twice
])
def test_invalid_instance_id_is_refused_before_any_call(moto, sfn, sns_capture, bad_id):
    ex = execute(sfn, machine(sfn, sns_capture), crypto_finding(bad_id, finding_id()))
    assert ex.status == "FAILED"
    assert ex.error == "Tripline.InvalidIdentifier"
    scheduled = [json.loads(e["taskScheduledEventDetails"]["parameters"])
                 for e in ex.history if e["type"] == "TaskScheduled"]
    # The only call is the SNS notice.
    assert [e["taskScheduledEventDetails"]["resourceType"] for e in ex.history
            if e["type"] == "TaskScheduled"] == ["sns"]
    assert "not a valid identifier" in scheduled[0]["Message"]
    assert len(sns_capture.messages()) == 1


def test_access_key_finding_deactivates_key_and_denies_all(moto, sfn, sns_capture):
    iam = moto.client("iam")
    user = f"ci-deployer-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    other = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    ex = execute(sfn, machine(sfn, sns_capture), access_key_finding(key, user))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))
    assert key_status(iam, user) == {key: "Inactive", other: "Active"}
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["DenyAll"]
    # The account and the key's owner are proven before anything is changed.
    order = ex.entered_states()
    assert order.index("ProveAccount") < order.index("NotifyFinding")
    assert order.index("ListUserAccessKeys") < order.index("KeyOwnedByUser") < order.index("DeactivateAccessKey") \
        < order.index("DenyAllToUser")
    assert ex.output["steps"]["DeactivateAccessKey"]["status"] == "SUCCEEDED"
    assert ex.output["steps"]["DenyAllToUser"]["status"] == "SUCCEEDED"
    doc = iam.get_user_policy(UserName=user, PolicyName="DenyAll")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"] == [{"Sid": "TriplineDenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]
    msgs = sns_capture.messages()
    assert [m["subject"] for m in msgs] == [
        "Tripline: security finding received, remediation started", "Tripline: remediation finished"]
    assert key in msgs[0]["message"]
    summary = json.loads(msgs[1]["message"].split("Steps:\n", 1)[1])
    assert summary["DeactivateAccessKey"]["status"] == "SUCCEEDED"
    assert summary["DenyAllToUser"]["status"] == "SUCCEEDED"


def access_key_finding(key: str, user: str, account: str = "123456789012") -> dict:
    event = load_event("credential-exfiltration-access-key.json")
    event["detail"]["accountId"] = account
    event["detail"]["resource"]["accessKeyDetails"].update(accessKeyId=key, userName=user)
    return event


def key_status(iam, user: str) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def scheduled_calls(ex) -> list[str]:
    return [e["taskScheduledEventDetails"]["resourceType"] + ":" + e["taskScheduledEventDetails"]["resource"]
            for e in ex.history if e["type"] == "TaskScheduled"]


def alice_and_bob(iam):
    """Two users of this account with one access key each: (alice, her key, bob, his key)."""
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=alice)
    iam.create_user(UserName=bob)
    alice_key = iam.create_access_key(UserName=alice)["AccessKey"]["AccessKeyId"]
    bob_key = iam.create_access_key(UserName=bob)["AccessKey"]["AccessKeyId"]
    return alice, alice_key, bob, bob_key


def test_forged_finding_from_another_account_is_refused(moto, sfn, sns_capture):
    """The reported hole: account 999999999999 names local user alice and a key she does not own.
    Before: DeactivateAccessKey failed, DenyAllToUser ran anyway, SUCCEEDED with DenyAll on alice."""
    iam = moto.client("iam")
    alice, alice_key, bob, bob_key = alice_and_bob(iam)
    fid = finding_id()
    event = access_key_finding(bob_key, alice, account="999999999999")
    event["detail"]["id"] = fid

    ex = execute(sfn, machine(sfn, sns_capture), event, name=f"forged-{fid[:12]}")
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause, timeline(ex))
    assert ex.cause.startswith("finding is for account 999999999999, this workflow runs in 123456789012"), ex.cause
    # Nothing but the notice was called: no IAM call at all.
    assert scheduled_calls(ex) == ["sns:publish"], scheduled_calls(ex)
    assert iam.list_user_policies(UserName=alice)["PolicyNames"] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user_policy(UserName=alice, PolicyName="DenyAll")
    assert key_status(iam, alice) == {alice_key: "Active"}
    assert key_status(iam, bob) == {bob_key: "Active"}
    assert iam.list_user_policies(UserName=bob)["PolicyNames"] == []
    msgs = sns_capture.messages()
    assert len(msgs) == 1, msgs
    assert msgs[0]["subject"] == "Tripline: finding refused, it is for another account"
    assert "999999999999" in msgs[0]["message"] and "123456789012" in msgs[0]["message"]
    assert fid in msgs[0]["message"] and "Nothing was changed" in msgs[0]["message"]
    order = ex.entered_states()
    assert "NotifyFinding" not in order and "DeactivateAccessKey" not in order and "DenyAllToUser" not in order


def test_instance_finding_from_another_account_is_refused(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    event = crypto_finding(victim.instance_id, finding_id())
    event["detail"]["accountId"] = "999999999999"
    ex = execute(sfn, machine(sfn, sns_capture), event, name=f"forged-instance-{uuid.uuid4().hex[:12]}")
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause)
    assert scheduled_calls(ex) == ["sns:publish"]
    inst = instance(ec2, victim.instance_id)
    assert inst["State"]["Name"] == "running"
    assert {g["GroupId"] for g in inst["SecurityGroups"]} == {victim.web_sg}
    assert "tripline:finding-id" not in tags_of(inst)
    assert quarantine_groups(ec2, victim.vpc_id) == []


def test_key_of_another_user_in_this_account_is_refused(moto, sfn, sns_capture):
    iam = moto.client("iam")
    alice, alice_key, bob, bob_key = alice_and_bob(iam)
    fid = finding_id()
    event = access_key_finding(bob_key, alice)
    event["detail"]["id"] = fid

    ex = execute(sfn, machine(sfn, sns_capture), event, name=f"not-owned-{fid[:12]}")
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause, timeline(ex))
    assert f"access key {bob_key} is not proven to belong to IAM user {alice}" in ex.cause, ex.cause
    assert alice_key in ex.cause  # the keys alice does own are quoted
    # The only IAM call is the read that proves (or here disproves) ownership.
    assert scheduled_calls(ex) == ["sns:publish", "aws-sdk:iam:listAccessKeys", "sns:publish"], scheduled_calls(ex)
    for user, key in ((alice, alice_key), (bob, bob_key)):
        assert key_status(iam, user) == {key: "Active"}, user
        assert iam.list_user_policies(UserName=user)["PolicyNames"] == [], user
    msgs = sns_capture.messages()
    assert len(msgs) == 2, msgs
    assert msgs[1]["subject"] == "Tripline: finding refused, access key not proven to belong to the user"
    assert bob_key in msgs[1]["message"] and alice in msgs[1]["message"]
    assert "DeactivateAccessKey" not in ex.entered_states()


def test_key_of_a_user_that_does_not_exist_is_refused(moto, sfn, sns_capture):
    iam = moto.client("iam")
    bob = f"bob-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=bob)
    bob_key = iam.create_access_key(UserName=bob)["AccessKey"]["AccessKeyId"]
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    ex = execute(sfn, machine(sfn, sns_capture), access_key_finding(bob_key, ghost),
                 name=f"no-user-{uuid.uuid4().hex[:12]}")
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause, timeline(ex))
    assert "ListAccessKeys failed" in ex.cause, ex.cause
    assert key_status(iam, bob) == {bob_key: "Active"}
    assert iam.list_user_policies(UserName=bob)["PolicyNames"] == []
    assert len(sns_capture.messages()) == 2


def test_failed_deactivation_fails_and_never_denies_all(moto, sfn, sns_capture):
    """DeactivateAccessKey itself fails: notify, FAIL, no DenyAll. moto cannot make UpdateAccessKey
    fail once ownership is proven, so this definition skips the proof and names a deleted key."""
    iam = moto.client("iam")
    alice = f"alice-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=alice)
    key = iam.create_access_key(UserName=alice)["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName=alice, AccessKeyId=key)
    d = json.loads(remediation_definition(sns_capture.topic_arn))
    d["States"]["AccessKeyUserType"]["Choices"][0]["Next"] = "DeactivateAccessKey"
    arn = create_state_machine(sfn, json.dumps(d), "remediation-noproof")
    ex = execute(sfn, arn, access_key_finding(key, alice), name=f"deactivate-fails-{uuid.uuid4().hex[:12]}")
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ActionFailed"), (ex.error, ex.cause, timeline(ex))
    assert "DenyAllToUser was not attempted" in ex.cause
    assert "DenyAllToUser" not in ex.entered_states()
    assert iam.list_user_policies(UserName=alice)["PolicyNames"] == []
    msgs = sns_capture.messages()
    assert msgs[-1]["subject"] == "Tripline: remediation step failed"
    assert "DeactivateAccessKey" in msgs[-1]["message"]


def test_access_key_with_malformed_id_is_refused(moto, sfn, sns_capture):
    event = load_event("credential-exfiltration-access-key.json")
    event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = "AKIA-not-a-key"
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert (ex.status, ex.error) == ("FAILED", "Tripline.InvalidIdentifier")


def make_role(iam, name: str, path: str = "/", tags: list | None = None) -> dict:
    return iam.create_role(RoleName=name, Path=path, Tags=tags or [], AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}))["Role"]


def session_finding(role: str, principal_id: str) -> dict:
    event = load_event("credential-exfiltration-access-key.json")
    event["detail"]["resource"]["accessKeyDetails"].update(
        accessKeyId="ASIAQXYZ5EXAMPLE9K3M", userName=role, userType="AssumedRole", principalId=principal_id)
    return event


def test_assumed_role_key_revokes_the_role_sessions(moto, sfn, sns_capture):
    iam = moto.client("iam")
    role = make_role(iam, f"AdminRole-{uuid.uuid4().hex[:6]}")
    ex = execute(sfn, machine(sfn, sns_capture), session_finding(role["RoleName"], f"{role['RoleId']}:admin-session"))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["TriplineRevokeOlderSessions"]
    order = ex.entered_states()
    assert order.index("GetSessionRole") < order.index("SessionOfRole") < order.index("RoleProtected") \
        < order.index("RevokeAssumedRoleSessions")


@pytest.mark.parametrize("principal", ["other", "user", "missing"])
def test_session_not_tied_to_the_named_role_is_refused(moto, sfn, sns_capture, principal):
    """The session's principal must be ROLEID:SESSION of the role the finding names: another role's
    session, an IAM user's principal id, or none at all proves nothing about this role."""
    iam = moto.client("iam")
    role = make_role(iam, f"AdminRole-{uuid.uuid4().hex[:6]}")
    other = make_role(iam, f"OtherRole-{uuid.uuid4().hex[:6]}")
    principal_id = {"other": f"{other['RoleId']}:s", "user": "AIDAQXYZ5EXAMPLEUSER1", "missing": ""}[principal]
    ex = execute(sfn, machine(sfn, sns_capture), session_finding(role["RoleName"], principal_id))
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause, timeline(ex))
    assert "is not proven to be a session of role" in ex.cause
    for r in (role, other):
        assert iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"] == []
    assert "putRolePolicy" not in " ".join(scheduled_calls(ex))
    assert sns_capture.messages()[-1]["subject"] == "Tripline: finding refused, the session is not proven to be the role's"


# ------------------------------------------------------------------ protected principals and resources

def protected_machine(sfn, capture, **kw):
    return create_state_machine(sfn, remediation_definition(capture.topic_arn, **kw), "remediation-protected")


def assert_protected(ex, capture, arn: str) -> None:
    assert (ex.status, ex.error) == ("FAILED", "Tripline.Protected"), (ex.error, ex.cause, timeline(ex))
    assert ex.cause == f"{arn} is protected; nothing was changed", ex.cause
    msgs = capture.messages()
    assert msgs[-1]["subject"] == "Tripline: finding not acted on, the target is protected"
    assert arn in msgs[-1]["message"]


def write_calls(ex) -> list[str]:
    """Every scheduled call except notices and reads (describe/list/get)."""
    reads = (":describe", ":list", ":get")
    return [c for c in scheduled_calls(ex) if c != "sns:publish" and not any(r in c for r in reads)]


@pytest.mark.parametrize("how", ["tag", "listed", "pattern"])
def test_protected_user_keeps_key_and_gets_no_deny_all(moto, sfn, sns_capture, how):
    iam = moto.client("iam")
    user = f"breakglass-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user, Path="/breakglass/",
                    Tags=[{"Key": "tripline:protected", "Value": "break-glass admin"}] if how == "tag" else [])
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    arn = f"arn:aws:iam::123456789012:user/breakglass/{user}"
    kw = {"listed": {"protected_arns": f"arn:aws:iam::123456789012:user/other,{arn}"},
          "pattern": {"protected_pattern": "arn:aws:iam::*:user/breakglass/*"}, "tag": {}}[how]
    ex = execute(sfn, protected_machine(sfn, sns_capture, **kw), access_key_finding(key, user))
    assert_protected(ex, sns_capture, arn)
    assert write_calls(ex) == []
    assert key_status(iam, user) == {key: "Active"}
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_unprotected_user_next_to_a_protected_pattern_is_contained(moto, sfn, sns_capture):
    """The rule is not "refuse everything": a user outside the pattern and list is contained."""
    iam = moto.client("iam")
    user = f"dev-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "web"}])
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    m = protected_machine(sfn, sns_capture, protected_pattern="arn:aws:iam::*:user/breakglass/*",
                          protected_arns="arn:aws:iam::123456789012:user/admin")
    ex = execute(sfn, m, access_key_finding(key, user))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))
    assert key_status(iam, user) == {key: "Inactive"}


def test_triplines_own_roles_are_never_contained(moto, sfn, sns_capture):
    """Tripline's roles live under the IAM path /tripline/ (RolePath in the template)."""
    iam = moto.client("iam")
    role = make_role(iam, f"tripline-RemediationRole-{uuid.uuid4().hex[:6]}", path="/tripline/")
    ex = execute(sfn, machine(sfn, sns_capture), session_finding(role["RoleName"], f"{role['RoleId']}:s"))
    assert_protected(ex, sns_capture, role["Arn"])
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []


def test_protected_instance_is_left_alone(moto, sfn, sns_capture):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    ec2.create_tags(Resources=[victim.instance_id], Tags=[{"Key": "tripline:protected", "Value": ""}])
    ex = execute(sfn, machine(sfn, sns_capture), crypto_finding(victim.instance_id, finding_id()))
    assert_protected(ex, sns_capture, f"arn:aws:ec2:us-east-1:123456789012:instance/{victim.instance_id}")
    assert write_calls(ex) == []
    inst = instance(ec2, victim.instance_id)
    assert inst["State"]["Name"] == "running"
    assert {g["GroupId"] for g in inst["SecurityGroups"]} == {victim.web_sg}
    assert quarantine_groups(ec2, victim.vpc_id) == []


def test_protected_instance_role_keeps_its_sessions_while_the_instance_is_contained(moto, sfn, sns_capture):
    ec2, iam = moto.client("ec2"), moto.client("iam")
    victim = make_victim(moto)
    iam.tag_role(RoleName=victim.role_name, Tags=[{"Key": "tripline:protected", "Value": "shared"}])
    ex = execute(sfn, machine(sfn, sns_capture, final_action="none"), crypto_finding(victim.instance_id, finding_id()))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))
    assert ex.output["steps"]["RevokeRoleSessions"]["status"] == "SKIPPED"
    assert "is protected" in ex.output["steps"]["RevokeRoleSessions"]["reason"]
    assert iam.list_role_policies(RoleName=victim.role_name)["PolicyNames"] == []
    inst = instance(ec2, victim.instance_id)
    assert {g["GroupName"] for g in inst["SecurityGroups"]} == {QUARANTINE}


def bucket_finding(bucket: str) -> dict:
    event = load_event("s3-block-public-access-disabled.json")
    event["detail"]["resource"]["s3BucketDetails"][0]["name"] = bucket
    return event


def test_protected_bucket_is_left_alone(moto, sfn, sns_capture):
    s3 = moto.client("s3")
    bucket = f"tripline-website-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "tripline:protected", "Value": "public site"}]})
    ex = execute(sfn, machine(sfn, sns_capture), bucket_finding(bucket))
    assert_protected(ex, sns_capture, f"arn:aws:s3:::{bucket}")
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_public_access_block(Bucket=bucket)


def test_bucket_that_cannot_be_read_is_refused(moto, sfn, sns_capture):
    """No such bucket here (on AWS also: another account's bucket, 403 by ExpectedBucketOwner)."""
    ex = execute(sfn, machine(sfn, sns_capture), bucket_finding(f"not-ours-{uuid.uuid4().hex[:8]}"))
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause, timeline(ex))
    assert "could not be read to prove it is not protected" in ex.cause
    assert write_calls(ex) == []
    assert sns_capture.messages()[-1]["subject"] == "Tripline: finding refused, the target could not be checked"


# ------------------------------------------------------------------ accounts and regions

def test_finding_for_a_listed_member_account_is_reported_not_acted_on(moto, sfn, sns_capture):
    """GuardDuty delegated administrator: a member account's finding reaches this account's bus.
    Its resource is in the member account; the same name here is someone else's."""
    iam = moto.client("iam")
    user = f"alice-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    m = protected_machine(sfn, sns_capture, trusted_accounts="111111111111,222222222222")
    ex = execute(sfn, m, access_key_finding(key, user, account="222222222222"))
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))
    assert ex.output["steps"]["Remediate"]["status"] == "SKIPPED"
    assert "member account 222222222222" in ex.output["steps"]["Remediate"]["reason"]
    assert {c for c in scheduled_calls(ex)} == {"sns:publish"}
    assert key_status(iam, user) == {key: "Active"}
    subjects = [m["subject"] for m in sns_capture.messages()]
    assert subjects == ["Tripline: finding for a member account, reported only", "Tripline: remediation finished"]
    # An account that is not listed is still refused by the same definition.
    ex = execute(sfn, m, access_key_finding(key, user, account="333333333333"))
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed")


@pytest.mark.parametrize("field", ["detail", "envelope"])
def test_finding_for_another_region_is_refused(moto, sfn, sns_capture, field):
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    event = crypto_finding(victim.instance_id, finding_id())
    if field == "detail":
        event["detail"]["region"] = "eu-west-1"
    else:
        event["region"] = "eu-west-1"
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause)
    assert scheduled_calls(ex) == ["sns:publish"]
    assert instance(ec2, victim.instance_id)["State"]["Name"] == "running"
    assert sns_capture.messages()[-1]["subject"] == "Tripline: finding refused, it is for another region"


def test_finding_delivered_by_another_accounts_bus_is_refused(moto, sfn, sns_capture):
    """The envelope's account is the bus that delivered the event: it must be this account even
    when the finding itself names this account."""
    victim = make_victim(moto)
    event = crypto_finding(victim.instance_id, finding_id())
    event["account"] = "999999999999"
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert (ex.status, ex.error) == ("FAILED", "Tripline.ProofFailed"), (ex.error, ex.cause)
    assert "delivered by account 999999999999" in ex.cause
    assert scheduled_calls(ex) == ["sns:publish"]


def test_s3_bucket_finding_blocks_public_access(moto, sfn, sns_capture):
    s3 = moto.client("s3")
    bucket = f"tripline-exports-{uuid.uuid4().hex[:8]}"
    event = bucket_finding(bucket)
    s3.create_bucket(Bucket=bucket)
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert config == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                      "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert len(sns_capture.messages()) == 2


@pytest.mark.parametrize("bad", ["-leading-hyphen", "trailing.", "UpperCase", "two..dots", "under_score"])
def test_s3_bucket_with_invalid_name_is_refused(moto, sfn, sns_capture, bad):
    event = load_event("s3-block-public-access-disabled.json")
    event["detail"]["resource"]["s3BucketDetails"][0]["name"] = bad
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert (ex.status, ex.error) == ("FAILED", "Tripline.InvalidIdentifier")


def test_other_resource_types_notify_only(moto, sfn, sns_capture):
    event = load_event("s3-block-public-access-disabled.json")
    event["detail"]["type"] = "Execution:Kubernetes/ExecInKubeSystemPod"
    event["detail"]["resource"] = {"resourceType": "EKSCluster",
                                   "eksClusterDetails": {"name": "prod", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/prod"}}
    ex = execute(sfn, machine(sfn, sns_capture), event)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
    resources = {e["taskScheduledEventDetails"]["resourceType"] for e in ex.history if e["type"] == "TaskScheduled"}
    assert resources == {"sns"}
    assert ex.output["steps"]["Remediate"]["status"] == "SKIPPED"
    assert len(sns_capture.messages()) == 2


def test_unrecognized_input_fails(moto, sfn, sns_capture):
    ex = execute(sfn, machine(sfn, sns_capture), {"hello": "world"})
    assert (ex.status, ex.error) == ("FAILED", "Tripline.UnrecognizedInput")


def test_summary_notices_do_not_quote_the_finding(moto, sfn, sns_capture):
    """NoticeDetail=summary: the notices name the finding, type and resource but carry none of
    its body (IP addresses, user agents, ...); the execution still acts."""
    ec2 = moto.client("ec2")
    victim = make_victim(moto)
    fid = finding_id()
    event = crypto_finding(victim.instance_id, fid)
    m = protected_machine(sfn, sns_capture, notice_detail="summary", final_action="none")
    ex = execute(sfn, m, event)
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, timeline(ex))
    first = sns_capture.messages()[0]["message"]
    assert fid in first and victim.instance_id in first
    assert "not quoted: NoticeDetail is summary" in first
    body = json.dumps(event["detail"]["service"])
    assert body not in first and "remoteIpDetails" not in first
    assert {g["GroupName"] for g in instance(ec2, victim.instance_id)["SecurityGroups"]} == {QUARANTINE}
