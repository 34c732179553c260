#!/usr/bin/env python3
"""Generate the attack-chain data set: events/scenarios/attack-chain/.

One day (2024-06-04, UTC) of the benign day's account, its ordinary activity at a smaller volume
(the functions of `gen_benign_day.py`, seeded differently), and through the afternoon a leaked
access key of the legacy CI user `ci-deployer` used from a VPS (203.0.113.45) across the
tactics of a cloud intrusion, a few minutes apart: discovery, probing (denied), credential
access, persistence and privilege escalation, defense evasion, execution, exfiltration and
impact. `expected.json` lists the alert each step must raise, in order; the background must
raise nothing.

The logs are the organization trail's (delivered to the log-archive account, all regions, S3
data events for the two data buckets): the intruder's `StopLogging` stops the account's own
trail `management-events`, which a member account may do, but not the organization's trail, so
what follows is still recorded.

Deterministic: fixed seeds, stable ids, gzip headers without name or mtime, sorted JSON keys.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_benign_day as b  # noqa: E402
from scenario_lib import Actor, add_history, aws_date, denied, hexid, iam_user, role_arn, role_session, stable_id, ts  # noqa: E402

ACCOUNT = b.ACCOUNT
DAY = datetime(2024, 6, 4, tzinfo=timezone.utc)
ATTACKER_IP = "203.0.113.45"
FOREIGN_ACCOUNT = "999988887777"
JENKINS_IP = "198.51.100.30"
CI_KEY = "AKIA" + stable_id("", "ci-deployer-key-2021", 16)
UA_KALI_CLI = ("aws-cli/2.15.17 md/awscrt#0.19.18 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.6 "
               "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#debian.12 md/prompt#off md/command#{cmd}")
UA_BOTO = ("Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.6 "
           "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34")
UA_REQUESTS = "python-requests/2.31.0"
UA_JENKINS = ("aws-cli/2.13.25 Python/3.11.5 Linux/5.15.0-105-generic exe/x86_64.ubuntu.22 prompt/off command/{cmd}")
OUT = os.path.normpath(os.path.join(b.HERE, "..", "events", "scenarios", "attack-chain"))


def background(d):
    """The ordinary day, smaller: the monitoring vendor, the service roles, the applications, the
    instance role, backups and patching at night, two people in the console, one CI deploy, and
    the legacy Jenkins job that still uses ci-deployer's key at night from its own address."""
    end = d.day + timedelta(days=1)
    b.datadog(d, d.day + timedelta(minutes=4), end, per_10min=(20, 30))
    b.config_recorder(d, d.day + timedelta(minutes=3), end, every=timedelta(minutes=30))
    b.app_secrets(d, d.day, end)
    b.instance_role(d, d.day, end)
    b.lambda_service(d, d.day, end, every=(600, 1500))
    b.export_worker(d, d.day + timedelta(hours=6), d.day + timedelta(hours=13), per_hour=12)
    b.flows(d, d.day, end, scanners=120)
    b.aws_backup(d, d.at(5, 0, 9), volumes=5)
    b.patching(d, d.at(3, 0, 5))
    b.securityhub_checks(d, d.at(4, 11), calls=70)
    b.securityhub_checks(d, d.at(16, 11), calls=70)
    b.autoscaling(d, d.at(7, 50, 2), 2)
    b.autoscaling(d, d.at(20, 31, 40), 2, scale_in=True)
    bob = b.console_session(d, d.at(8, 55), "bob@example.com", 40, ["cloudwatch", "ecs", "lambda"])
    b.ssm_session(d, bob, d.at(9, 20), minutes=12)
    b.console_session(d, d.at(10, 12), "carol@example.com", 35, ["s3", "cloudwatch"])
    b.ci_deploy(d, d.at(11, 8), "thumbnailer", "thumbnailer", prune=3)
    b.ecs_tasks(d, d.at(11, 30), "export-worker", 2)
    jenkins(d, d.at(2, 10, 4))


def jenkins(d, t):
    """The nightly Jenkins job (on premises) with ci-deployer's long-term key: who it is, and the
    report bundle uploaded (the CI role deploys it; a long-term key replacing Lambda code is what
    `lambda_code_updated_by_user` raises on)."""
    a = Actor(iam_user(ACCOUNT, "ci-deployer", CI_KEY), JENKINS_IP, UA_JENKINS)
    d.call(t, a, "sts.amazonaws.com", "GetCallerIdentity", None, ua=UA_JENKINS.format(cmd="sts.get-caller-identity"))
    key = f"builds/nightly-report/{t.strftime('%Y%m%d')}-{hexid(ts(t), 8)}.zip"
    b.s3_data(d, t + timedelta(seconds=14), a, "PutObject", b.ARTIFACTS, key, ua=UA_JENKINS.format(cmd="s3.cp"))


SECRETS = [f"prod/{s}" for s in (
    "orders-api/db", "billing/stripe-api-key", "exports/sftp-credentials", "web/session-signing-key", "orders-api/redis",
    "billing/db", "reporting/db-readonly", "ci/github-app-key", "ci/dockerhub", "ci/npm-token", "integrations/slack-bot",
    "integrations/pagerduty", "integrations/sendgrid", "integrations/twilio", "partners/acme-sftp", "partners/globex-api",
    "analytics/snowflake", "analytics/segment-write-key", "ops/grafana-admin", "ops/vpn-psk", "ops/break-glass-notes",
    "mobile/apns-cert", "mobile/fcm-server-key", "search/opensearch-master")]
PARAMETERS = [f"/prod/{app}/{p}" for app in ("orders-api", "billing-worker", "export-worker", "web", "reporting")
              for p in ("db-url", "db-password", "api-key", "jwt-secret")]


def attack(d):
    ci = iam_user(ACCOUNT, "ci-deployer", CI_KEY)
    arn = ci["arn"]
    cli = Actor(ci, ATTACKER_IP, UA_KALI_CLI)
    boto = Actor(ci, ATTACKER_IP, UA_BOTO)
    steps = []

    # 1. Discovery: who am I, then the whole IAM configuration in one call (two pages).
    t = d.at(14, 2, 11)
    d.call(t, cli, "sts.amazonaws.com", "GetCallerIdentity", None, ua=UA_KALI_CLI.format(cmd="sts.get-caller-identity"))
    d.call(t + timedelta(seconds=31), cli, "iam.amazonaws.com", "ListAttachedUserPolicies", {"userName": "ci-deployer"},
           ua=UA_KALI_CLI.format(cmd="iam.list-attached-user-policies"))
    t = d.at(14, 3, 40)
    d.call(t, cli, "iam.amazonaws.com", "GetAccountAuthorizationDetails", {"maxItems": 100},
           ua=UA_KALI_CLI.format(cmd="iam.get-account-authorization-details"))
    d.call(t + timedelta(seconds=3), cli, "iam.amazonaws.com", "GetAccountAuthorizationDetails",
           {"maxItems": 100, "marker": "AAYA" + hexid("marker", 60)}, ua=UA_KALI_CLI.format(cmd="iam.get-account-authorization-details"))
    steps.append(("1 discovery: GetAccountAuthorizationDetails", "iam_authorization_details_read", "user/ci-deployer", "WARNING"))

    # 2. Probing with a script: what else may this key do? The organization's service control
    # policy denies the organization, account, billing and Identity Center APIs: 28 denials over
    # 12 APIs in five minutes, between calls that succeed.
    probes = [
        ("organizations.amazonaws.com", "DescribeOrganization", None, "us-east-1"),
        ("organizations.amazonaws.com", "ListAccounts", None, "us-east-1"),
        ("organizations.amazonaws.com", "ListRoots", None, "us-east-1"),
        ("organizations.amazonaws.com", "ListPolicies", {"filter": "SERVICE_CONTROL_POLICY"}, "us-east-1"),
        ("organizations.amazonaws.com", "ListDelegatedAdministrators", None, "us-east-1"),
        ("account.amazonaws.com", "GetContactInformation", None, "us-east-1"),
        ("account.amazonaws.com", "GetAlternateContact", {"alternateContactType": "SECURITY"}, "us-east-1"),
        ("account.amazonaws.com", "GetAlternateContact", {"alternateContactType": "BILLING"}, "us-east-1"),
        ("ce.amazonaws.com", "GetCostAndUsage", {"timePeriod": {"start": "2024-05-01", "end": "2024-06-01"}, "granularity": "MONTHLY",
                                                 "metrics": ["UnblendedCost"]}, "us-east-1"),
        ("ce.amazonaws.com", "GetCostForecast", {"timePeriod": {"start": "2024-06-04", "end": "2024-07-01"}, "metric": "UNBLENDED_COST",
                                                 "granularity": "MONTHLY"}, "us-east-1"),
        ("identitystore.amazonaws.com", "ListUsers", {"identityStoreId": "d-9067c1a2b3"}, "us-east-1"),
    ]
    for region in ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"):
        probes.append(("sso.amazonaws.com", "ListInstances", None, region))
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1"):
        probes.append(("access-analyzer.amazonaws.com", "ListAnalyzers", None, region))
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        probes.append(("account.amazonaws.com", "ListRegions", None, "us-east-1"))
    probes += [("organizations.amazonaws.com", "ListAccounts", None, "us-east-1"),
               ("organizations.amazonaws.com", "DescribeOrganization", None, "us-east-1"),
               ("ce.amazonaws.com", "GetCostAndUsage", {"timePeriod": {"start": "2024-06-01", "end": "2024-06-04"}, "granularity": "DAILY",
                                                        "metrics": ["UnblendedCost"]}, "us-east-1"),
               ("ce.amazonaws.com", "GetDimensionValues", {"timePeriod": {"start": "2024-06-01", "end": "2024-06-04"}, "dimension": "SERVICE"}, "us-east-1")]
    allowed = [("s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}), ("lambda.amazonaws.com", "ListFunctions20150331", None),
               ("ec2.amazonaws.com", "DescribeRegions", {"regionSet": {}}), ("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
               ("rds.amazonaws.com", "DescribeDBInstances", None), ("dynamodb.amazonaws.com", "ListTables", None),
               ("iam.amazonaws.com", "ListRoles", None), ("ecr.amazonaws.com", "DescribeRepositories", None)]
    t = d.at(14, 8, 3)
    for i, (source, name, params, region) in enumerate(probes):
        svc = source.split(".")[0]
        code, msg = denied(source, name, arn, explicit=svc in ("organizations", "account", "ce", "sso", "identitystore"))
        if svc == "access-analyzer":
            code, msg = "AccessDeniedException", f"User: {arn} is not authorized to perform: access-analyzer:{name} on resource: arn:aws:access-analyzer:{region}:{ACCOUNT}:* because no identity-based policy allows the access-analyzer:{name} action"
        d.call(t, boto, source, name, params, error=(code, msg), region=region)
        t += timedelta(seconds=d.rng.randint(4, 10))
        if i % 4 == 3 and allowed:
            source, name, params = allowed.pop(0)
            d.call(t, boto, source, name, params)
            t += timedelta(seconds=d.rng.randint(3, 8))
    steps.append(("2 probing: a burst of denied calls", "access_denied_burst", "user/ci-deployer", "WARNING"))

    # 3. Credential access: every secret, then every SecureString parameter, decrypted.
    t = d.at(14, 18, 30)
    d.call(t, boto, "secretsmanager.amazonaws.com", "ListSecrets", {"maxResults": 100})
    via_sm = Actor(dict(ci, invokedBy="secretsmanager.amazonaws.com"), "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com")
    t += timedelta(seconds=20)
    for s in SECRETS:
        d.call(t, boto, "secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": b.secret_arn(s)})
        d.call(t, via_sm, "kms.amazonaws.com", "Decrypt",
               {"encryptionContext": {"SecretARN": b.secret_arn(s), "SecretVersionId": d.trail.uid()}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
               None, resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b.SECRETS_KEY}])
        t += timedelta(seconds=d.rng.randint(6, 12))
    steps.append(("3 credential access: 24 secrets read", "secrets_mass_read", "user/ci-deployer", "CRITICAL"))
    t = d.at(14, 26, 5)
    via_ssm = Actor(dict(ci, invokedBy="ssm.amazonaws.com"), "ssm.amazonaws.com", "ssm.amazonaws.com")
    d.call(t, boto, "ssm.amazonaws.com", "DescribeParameters", {"maxResults": 50})
    d.call(t + timedelta(seconds=2), boto, "ssm.amazonaws.com", "DescribeParameters", {"maxResults": 50, "nextToken": "AAEAA" + hexid("np", 40)})
    t += timedelta(seconds=15)
    for page in range(4):
        params = {"path": "/prod", "recursive": True, "withDecryption": True, "maxResults": 10}
        if page:
            params["nextToken"] = "AAEAA" + hexid(f"page{page}", 48)
        d.call(t, boto, "ssm.amazonaws.com", "GetParametersByPath", params)
        d.call(t, via_ssm, "kms.amazonaws.com", "Decrypt", {"encryptionContext": {"PARAMETER_ARN": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{PARAMETERS[page]}"},
                                                          "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
               resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b.SECRETS_KEY}])
        t += timedelta(seconds=d.rng.randint(2, 5))
    for p in PARAMETERS:
        d.call(t, boto, "ssm.amazonaws.com", "GetParameter", {"name": p, "withDecryption": True})
        t += timedelta(seconds=d.rng.randint(3, 9))
    steps.append(("3 credential access: SSM parameters decrypted", "ssm_parameters_mass_decrypted", "user/ci-deployer", "CRITICAL"))

    # 4. Persistence and privilege escalation: a back-door administrator with a key of its own,
    # and an existing role made assumable from the intruder's own account.
    t = d.at(14, 35, 20)
    d.call(t, cli, "iam.amazonaws.com", "CreateUser", {"userName": "svc-monitoring", "tags": [{"key": "team", "value": "platform"}]},
           {"user": {"path": "/", "userName": "svc-monitoring", "userId": stable_id("AIDA", f"user/{ACCOUNT}/svc-monitoring"),
                     "arn": f"arn:aws:iam::{ACCOUNT}:user/svc-monitoring", "createDate": aws_date(t),
                     "tags": [{"key": "team", "value": "platform"}]}},
           ua=UA_KALI_CLI.format(cmd="iam.create-user"))
    steps.append(("4 persistence: IAM user svc-monitoring created", "iam_create_user", "user/ci-deployer", "NOTICE"))
    t = d.at(14, 36, 2)
    d.call(t, cli, "iam.amazonaws.com", "AttachUserPolicy",
           {"userName": "svc-monitoring", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None,
           ua=UA_KALI_CLI.format(cmd="iam.attach-user-policy"))
    steps.append(("4 privilege escalation: AdministratorAccess attached", "iam_user_admin_policy_attached", "user/ci-deployer", "CRITICAL"))
    steps.append(("4 privilege escalation: new user made administrator", "iam_new_admin_user", "svc-monitoring", "CRITICAL"))
    t = d.at(14, 36, 41)
    new_key = "AKIA" + stable_id("", "svc-monitoring-key", 16)
    d.call(t, cli, "iam.amazonaws.com", "CreateAccessKey", {"userName": "svc-monitoring"},
           {"accessKey": {"userName": "svc-monitoring", "accessKeyId": new_key, "status": "Active", "createDate": aws_date(t)}},
           ua=UA_KALI_CLI.format(cmd="iam.create-access-key"))
    steps.append(("4 persistence: access key for another user", "iam_credentials_for_other_user", "user/ci-deployer", "WARNING"))
    t = d.at(14, 40, 12)
    d.call(t, cli, "iam.amazonaws.com", "ListRoles", None, ua=UA_KALI_CLI.format(cmd="iam.list-roles"))
    d.call(t + timedelta(seconds=25), cli, "iam.amazonaws.com", "GetRole", {"roleName": "ops-admin"}, ua=UA_KALI_CLI.format(cmd="iam.get-role"))
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    t = d.at(14, 41, 30)
    d.call(t, cli, "iam.amazonaws.com", "UpdateAssumeRolePolicy", {"roleName": "ops-admin", "policyDocument": json.dumps(trust)}, None,
           ua=UA_KALI_CLI.format(cmd="iam.update-assume-role-policy"))
    steps.append(("4 persistence: ops-admin trusts account 999988887777", "iam_role_trust_opened", "user/ci-deployer", "WARNING"))
    # …and it works: the intruder's account assumes the role.
    foreign = Actor({"type": "AWSAccount", "principalId": stable_id("AIDA", "foreign-user"), "accountId": FOREIGN_ACCOUNT},
                    ATTACKER_IP, UA_KALI_CLI.format(cmd="sts.assume-role"))
    sess = b.assume_role(d, d.at(14, 43, 55), foreign, "ops-admin", "maintenance")
    d.call(d.at(14, 44, 3), Actor(sess, ATTACKER_IP, UA_KALI_CLI), "sts.amazonaws.com", "GetCallerIdentity", None,
           ua=UA_KALI_CLI.format(cmd="sts.get-caller-identity"))

    # 5. Defense evasion: GuardDuty's detector deleted, the account's own trail stopped.
    t = d.at(14, 47, 10)
    det = "c2b4d6f8a0e1c3b5d7f9a1b3c5d7e9f0"
    d.call(t, cli, "guardduty.amazonaws.com", "ListDetectors", None, ua=UA_KALI_CLI.format(cmd="guardduty.list-detectors"))
    d.call(t + timedelta(seconds=30), cli, "guardduty.amazonaws.com", "DeleteDetector", {"detectorId": det}, None,
           ua=UA_KALI_CLI.format(cmd="guardduty.delete-detector"))
    steps.append(("5 defense evasion: GuardDuty detector deleted", "guardduty_disabled", "user/ci-deployer", "CRITICAL"))
    t = d.at(14, 50, 2)
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
    d.call(t, cli, "cloudtrail.amazonaws.com", "DescribeTrails", {"trailNameList": [], "includeShadowTrails": True},
           ua=UA_KALI_CLI.format(cmd="cloudtrail.describe-trails"))
    d.call(t + timedelta(seconds=20), cli, "cloudtrail.amazonaws.com", "GetTrailStatus", {"name": trail},
           ua=UA_KALI_CLI.format(cmd="cloudtrail.get-trail-status"))
    d.call(t + timedelta(seconds=44), cli, "cloudtrail.amazonaws.com", "StopLogging", {"name": trail}, None,
           ua=UA_KALI_CLI.format(cmd="cloudtrail.stop-logging"))
    steps.append(("5 defense evasion: CloudTrail StopLogging", "cloudtrail_logging_disabled", "user/ci-deployer", "CRITICAL"))

    # 6. Execution: GPU instances for mining (the first, larger type is over the vCPU quota).
    t = d.at(14, 55, 14)
    d.call(t, cli, "ec2.amazonaws.com", "DescribeImages",
           {"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "amazon"}]},
            "filterSet": {"items": [{"name": "name", "valueSet": {"items": [{"value": "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)*"}]}}]}},
           ua=UA_KALI_CLI.format(cmd="ec2.describe-images"))
    run = {"instancesSet": {"items": [{"imageId": "ami-04f8c4e0b2d6a1357", "minCount": 4, "maxCount": 4}]},
           "userData": "<sensitiveDataRemoved>", "blockDeviceMapping": {}, "monitoring": {"enabled": False},
           "disableApiTermination": False, "disableApiStop": False, "clientToken": d.trail.uid()}
    d.call(t + timedelta(seconds=40), cli, "ec2.amazonaws.com", "RunInstances", dict(run, instanceType="p3.16xlarge"), None,
           error=("Client.VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 0 allows for the "
                                              "instance bucket that the specified instance type belongs to. Please visit "
                                              "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."),
           ua=UA_KALI_CLI.format(cmd="ec2.run-instances"))
    t = d.at(14, 56, 31)
    ids = [f"i-0{hexid('gpu' + str(n), 16)}" for n in range(4)]
    d.call(t, cli, "ec2.amazonaws.com", "RunInstances", dict(run, instanceType="g4dn.12xlarge", clientToken=d.trail.uid()),
           {"requestId": d.trail.uid(), "reservationId": f"r-0{hexid('gpu', 16)}", "ownerId": ACCOUNT, "groupSet": {},
            "instancesSet": {"items": [{"instanceId": i, "imageId": "ami-04f8c4e0b2d6a1357", "instanceType": "g4dn.12xlarge",
                                        "instanceState": {"code": 0, "name": "pending"}, "subnetId": b.SUBNETS[0], "vpcId": b.VPC,
                                        "amiLaunchIndex": n} for n, i in enumerate(ids)]}},
           ua=UA_KALI_CLI.format(cmd="ec2.run-instances"))
    steps.append(("6 execution: GPU instances launched", "ec2_gpu_instance_launched", "user/ci-deployer", "CRITICAL"))

    # 6. Execution: the key resold for model use (LLMjacking): models listed, then invoked.
    t = d.at(14, 58, 5)
    d.call(t, boto, "bedrock.amazonaws.com", "ListFoundationModels", None, ua=UA_BOTO)
    for n in range(6):
        model = "anthropic.claude-3-sonnet-20240229-v1:0" if n % 2 else "anthropic.claude-3-haiku-20240307-v1:0"
        d.call(t + timedelta(seconds=12 + 9 * n), boto, "bedrock.amazonaws.com", "InvokeModel", {"modelId": model}, None,
               ua=UA_BOTO, read_only=True)
    steps.append(("6 execution: Bedrock models invoked with the leaked key", "bedrock_used_with_long_term_key", "user/ci-deployer", "WARNING"))
    steps.append(("6 execution: Bedrock used for the first time by ci-deployer", "bedrock_first_use", "user/ci-deployer", "WARNING"))
    # …and a shell on a web server through Run Command, which ci-deployer never used.
    t = d.at(15, 0, 40)
    web = b.TF_INSTANCES[0]
    d.call(t, cli, "ssm.amazonaws.com", "SendCommand",
           {"documentName": "AWS-RunShellScript", "instanceIds": [web], "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "interactive": False},
           {"command": {"commandId": d.trail.uid(), "documentName": "AWS-RunShellScript", "instanceIds": [web], "status": "Pending",
                        "targetCount": 1, "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
           ua=UA_KALI_CLI.format(cmd="ssm.send-command"))
    steps.append(("6 execution: shell command sent to a web server", "ssm_session_new_principal", "user/ci-deployer", "WARNING"))

    # 7. Exfiltration: the orders database volume snapshotted and shared with every AWS account.
    t = d.at(15, 2, 8)
    vol = "vol-0" + hexid("orders-db-data", 16)
    snap = "snap-0" + hexid("exfil", 16)
    d.call(t, cli, "ec2.amazonaws.com", "DescribeVolumes",
           {"volumeSet": {}, "filterSet": {"items": [{"name": "tag:Name", "valueSet": {"items": [{"value": "*db*"}]}}]}},
           ua=UA_KALI_CLI.format(cmd="ec2.describe-volumes"))
    d.call(t + timedelta(seconds=38), cli, "ec2.amazonaws.com", "CreateSnapshot", {"volumeId": vol, "description": "maintenance"},
           {"requestId": d.trail.uid(), "snapshotId": snap, "volumeId": vol, "status": "pending", "startTime": int(t.timestamp() * 1000),
            "progress": "", "ownerId": ACCOUNT, "volumeSize": 200, "encrypted": False}, ua=UA_KALI_CLI.format(cmd="ec2.create-snapshot"))
    t = d.at(15, 9, 15)
    d.call(t, cli, "ec2.amazonaws.com", "DescribeSnapshots", {"snapshotSet": {"items": [{"snapshotId": snap}]}, "ownersSet": {}, "filterSet": {}},
           ua=UA_KALI_CLI.format(cmd="ec2.describe-snapshots"))
    d.call(t + timedelta(seconds=22), cli, "ec2.amazonaws.com", "ModifySnapshotAttribute",
           {"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"group": "all"}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"},
           {"requestId": d.trail.uid(), "_return": True}, ua=UA_KALI_CLI.format(cmd="ec2.modify-snapshot-attribute"))
    steps.append(("7 exfiltration: snapshot shared publicly", "snapshot_or_image_shared_publicly", "user/ci-deployer", "CRITICAL"))

    # 8. Impact: the exports' KMS key scheduled for deletion, then the exports bucket emptied,
    # every version deleted one by one, and a note left.
    t = d.at(15, 14, 2)
    d.call(t, cli, "kms.amazonaws.com", "ListAliases", None, ua=UA_KALI_CLI.format(cmd="kms.list-aliases"))
    d.call(t + timedelta(seconds=18), cli, "kms.amazonaws.com", "DescribeKey", {"keyId": "alias/customer-exports"},
           ua=UA_KALI_CLI.format(cmd="kms.describe-key"))
    t = d.at(15, 14, 49)
    d.call(t, cli, "kms.amazonaws.com", "ScheduleKeyDeletion", {"keyId": b.DATA_KEY, "pendingWindowInDays": 7},
           {"keyId": b.DATA_KEY, "deletionDate": aws_date((t + timedelta(days=8)).replace(hour=0, minute=0, second=0)),
            "keyState": "PendingDeletion", "pendingWindowInDays": 7}, ua=UA_KALI_CLI.format(cmd="kms.schedule-key-deletion"),
           resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b.DATA_KEY}])
    steps.append(("8 impact: KMS key scheduled for deletion", "kms_key_deletion_scheduled", "user/ci-deployer", "CRITICAL"))
    # The build artifacts copied over themselves under the intruder's own KMS key: ransom.
    foreign = "arn:aws:kms:us-east-1:999988887777:key/3e1d5c7b-9a2f-4b6d-8e0c-1f3a5b7d9c2e"
    t = d.at(15, 15, 10)
    for n in range(30):
        key = f"builds/orders-api/2024052{n % 10}-{hexid('art' + str(n), 8)}.zip"
        b.s3_data(d, t, boto, "CopyObject", b.ARTIFACTS, key,
                  params_extra={"x-amz-copy-source": f"{b.ARTIFACTS}/{key}", "x-amz-metadata-directive": "COPY",
                                "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": foreign},
                  response={"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": foreign})
        t += timedelta(seconds=2)
    steps.append(("8 impact: artifacts re-encrypted with the intruder's KMS key", "s3_objects_encrypted_with_foreign_key", "user/ci-deployer", "CRITICAL"))
    bucket = b.EXPORTS
    t = d.at(15, 17, 30)
    d.call(t, boto, "s3.amazonaws.com", "ListObjectVersions",
           {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "versions": "", "max-keys": "1000"}, None,
           category="Data", version="1.10",
           resources=[{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{bucket}/"},
                      {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])
    t += timedelta(seconds=9)
    for n in range(140):
        cust = 1000 + (n * 37) % 9000
        key = f"exports/{cust}/2024060{1 + n % 3}T{(n * 7) % 24:02d}{(n * 13) % 60:02d}00.parquet"
        b.s3_data(d, t, boto, "DeleteObject", bucket, key, params_extra={"versionId": hexid(key + "v", 32)},
                  response={"x-amz-version-id": hexid(key + "v", 32)})
        t += timedelta(seconds=2 if n % 5 else 3)
    for k in range(2):
        d.call(t, boto, "s3.amazonaws.com", "DeleteObjects",
               {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "delete": ""}, None, category="Data", version="1.10",
               additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 98000,
                           "bytesTransferredOut": 61000, "AuthenticationMethod": "AuthHeader"},
               resources=[{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{bucket}/"},
                          {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])
        t += timedelta(seconds=5)
    b.s3_data(d, t + timedelta(seconds=20), Actor(ci, ATTACKER_IP, UA_REQUESTS), "PutObject", bucket, "README-RECOVER-YOUR-DATA.txt")
    steps.append(("8 impact: exports bucket emptied (142 deletes)", "s3_mass_deletion", "user/ci-deployer", "CRITICAL"))
    return steps


def main():
    d = b.Day(20240604, DAY, volume=0.5)
    background(d)
    steps = attack(d)
    end = DAY + timedelta(days=1)
    d.trail.records = [r for r in d.trail.records if DAY <= datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) < end]
    d.flows.rows = [(s, l) for s, l in d.flows.rows if DAY.timestamp() <= s < end.timestamp()]
    # The past the first-seen alerts look back on: the background's, not the intruder's.
    add_history(d.trail, DAY, keep=lambda r: r["sourceIPAddress"] != ATTACKER_IP)
    files = d.trail.write(OUT, "attack")
    d.flows.write(OUT, "attack")
    expected = {"from": ts(DAY), "to": ts(end), "ordered": True,
                "alerts": [{"step": s, "alert": a, "summary_contains": c, "severity": v} for s, a, c, v in steps]}
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")
    mine = [r for r in d.trail.records if r["sourceIPAddress"] == ATTACKER_IP or r["userIdentity"].get("accessKeyId") == CI_KEY
            and r["sourceIPAddress"] != JENKINS_IP]
    print(f"{len(d.trail.records)} CloudTrail records ({len(mine)} of the intrusion) in {files} files, "
          f"{len(d.flows.rows)} flow log rows → {OUT}")


if __name__ == "__main__":
    main()
