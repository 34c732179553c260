#!/usr/bin/env python3
"""Generate the benign-day data set: events/scenarios/benign-day/.

One ordinary day (2024-06-03, UTC) of one AWS account, as AWS delivers its logs: CloudTrail
delivery files (`{"Records": [...]}`, gzip, one per hour) and VPC Flow Log files (version-2
format, gzip, one per hour). Nothing in it is an attack: it is what a small platform team's
account does on a Monday, including everything naive detections fire on (Terraform refreshing
its state, CloudFormation working with its service role, CI deploying through GitHub's OIDC
provider, people browsing the console through IAM Identity Center, service-linked roles,
AWS Backup, a monitoring vendor's role polling all day, patching through Systems Manager,
applications reading their secrets). `make demo` replays every alert over the day and expects
none to be raised.

The activity is written as functions of a `Day` (trail, flow log, date, volume) so that
`gen_attack_chain.py` reuses them, at a smaller volume, as the background of its attack day.

Deterministic: fixed seeds, stable ids, gzip headers without name or mtime, sorted JSON keys.
Run `python3 scripts/gen_benign_day.py` from anywhere; the output is committed.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario_lib import (Actor, add_history, FlowLog, Trail, aws_date, aws_service, denied, hexid, iam_user, role_arn,  # noqa: E402
                          role_session, stable_id, ts)

ACCOUNT = "123456789012"
REGION = "us-east-1"
ORG_ID = "o-7k2m9x4q1z"
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- the estate

VPC = "vpc-0a4c7e19b2d35f688"
SUBNETS = ["subnet-0c1d2e3f4a5b60718", "subnet-0d2e3f4a5b6c70819", "subnet-0e3f4a5b6c7d8091a"]
WEB1 = ("i-0f3a9c2e7b1d45a60", "10.20.1.15", "54.85.120.17", "eni-0a9b8c7d6e5f40312")  # web-1, its own role
TF_INSTANCES = ["i-0f3a9c2e7b1d45a60", "i-07c1e5a9d3b2f4681", "i-0b5d9f1a3c7e24b68", "i-02e6a8c4b0d9f1357"]
FLEET = [f"i-0{hexid(f'fleet{n}', 16)}" for n in range(12)]  # the ASG fleet AWS-RunPatchBaseline patches
BUCKETS = ["app-artifacts-123456789012", "customer-exports-123456789012", "alb-logs-123456789012",
           "tf-state-123456789012", "static-assets-123456789012", "backups-metadata-123456789012"]
ARTIFACTS = "app-artifacts-123456789012"
EXPORTS = "customer-exports-123456789012"
DATA_KEY = "arn:aws:kms:us-east-1:123456789012:key/6c1f0b7a-3d2e-4f59-8a1b-0c9d8e7f6a51"
SECRETS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e62"
EBS_KEY = "arn:aws:kms:us-east-1:123456789012:key/7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c73"
OIDC_GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SAML_SSO = f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_5e6f7a8b9c0d1e2f_DO_NOT_DELETE"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_ADMIN = "AWSReservedSSO_AdministratorAccess_4f1c2b3a9d8e7f60"
SSO_READONLY = "AWSReservedSSO_ReadOnly_9a8b7c6d5e4f3a21"
DATADOG_ACCOUNT = "464622532012"
DATADOG_EXTERNAL_ID = "8d2f6a0c4e1b49d7a3f5c9e0b7d1a2c4"
DR_ACCOUNT = "210987654321"

UA_TF_CI = ("APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.54.1 "
            "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.27.2 os/linux lang/go#1.22.3 "
            "md/GOOS#linux md/GOARCH#amd64 api/{api}")
UA_TF_MAC = UA_TF_CI.replace("os/linux", "os/macos").replace("GOOS#linux", "GOOS#darwin").replace("amd64", "arm64")
TF_API = {"ec2": "ec2#1.163.0", "iam": "iam#1.32.6", "s3": "s3#1.55.1", "sts": "sts#1.28.13",
          "elasticloadbalancing": "elastic_load_balancing_v2#1.31.3", "rds": "rds#1.79.6", "kms": "kms#1.32.3",
          "lambda": "lambda#1.54.6", "logs": "cloudwatch_logs#1.35.0", "cloudtrail": "cloudtrail#1.40.3",
          "guardduty": "guardduty#1.42.6", "sns": "sns#1.29.10", "dynamodb": "dynamodb#1.32.8",
          "route53": "route_53#1.40.10", "acm": "acm#1.26.2", "ssm": "ssm#1.50.6", "secretsmanager": "secrets_manager#1.30.0",
          "ecr": "ecr#1.28.6", "ecs": "ecs#1.42.1", "monitoring": "cloudwatch#1.38.7"}
UA_CLI_MAC = "aws-cli/2.15.58 md/awscrt#0.19.19 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{cmd}"
UA_CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/125.0.0.0 Safari/537.36")
UA_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
UA_DATADOG = "aws-sdk-go/1.51.30 (go1.22.2; linux; amd64)"
UA_BOTO_APP = "Boto3/1.34.117 md/Botocore#1.34.117 ua/2.0 os/linux#5.10.217-205.860.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.117"
UA_SSM_AGENT = "aws-sdk-go/1.44.260 (go1.21.9; linux; amd64) amazon-ssm-agent/3.3.418.0"
UA_NODE_APP = "aws-sdk-js/3.592.0 ua/2.0 os/linux#5.10.217-205.860.amzn2.x86_64 lang/js md/nodejs#20.14.0 api/secrets-manager#3.592.0"
UA_GHA_CLI = "aws-cli/2.16.1 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1021-azure md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython exec-env/GitHubActions cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#{cmd}"
UA_GHA_CREDS = "configure-aws-credentials-for-github-actions"

PEOPLE = {  # IAM Identity Center users: permission set, office address, browser
    "alice@example.com": (SSO_ADMIN, "198.51.100.21", UA_CHROME),
    "bob@example.com": (SSO_ADMIN, "198.51.100.22", UA_FIREFOX),
    "carol@example.com": (SSO_READONLY, "198.51.100.23", UA_CHROME),
    "dave@example.com": (SSO_READONLY, "192.0.2.61", UA_CHROME),
}
ERIN_OFFICE, ERIN_HOME = "198.51.100.77", "203.0.113.140"
GITHUB_RUNNERS = ["4.175.114.51", "20.57.76.12", "52.238.24.193", "172.183.51.244"]
DATADOG_IPS = ["3.233.144.72", "3.233.146.110", "3.233.147.18"]


class Day:
    """One day of one account: its trail, its flow log, its date and the volume of activity."""

    def __init__(self, seed, day, volume=1.0):
        self.trail = Trail(seed, ACCOUNT, REGION)
        self.flows = FlowLog(ACCOUNT, REGION, "fl-04c8e2a6b0d1f3579")
        self.rng = self.trail.rng
        self.day = day
        self.volume = volume

    def at(self, h, m=0, s=0):
        return self.day + timedelta(hours=h, minutes=m, seconds=s)

    def call(self, *a, **k):
        return self.trail.call(*a, **k)

    def jitter(self, t, lo=1, hi=4):
        return t + timedelta(seconds=self.rng.randint(lo, hi))


def svc_of(source):
    return source.split(".")[0]


def creds(key, role_arn_, session, expires, assumed_id):
    return {"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjE" + hexid(key + session, 120),
                            "expiration": aws_date(expires)},
            "assumedRoleUser": {"assumedRoleId": assumed_id, "arn": role_arn_}}


def assume_role(d, t, caller, role, session, *, path="/", external_id=None, duration=3600, ip=None, ua=None,
                source_identity=None):
    """sts:AssumeRole of a role of this account; returns the new session's identity (dict)."""
    sess = role_session(ACCOUNT, role, session, t, path=path)
    params = {"roleArn": role_arn(ACCOUNT, role, path), "roleSessionName": session}
    if duration != 3600:
        params["durationSeconds"] = duration
    if external_id:
        params["externalId"] = external_id
    if source_identity:
        params["sourceIdentity"] = source_identity
    resp = creds(sess["accessKeyId"], sess["arn"], session, t + timedelta(seconds=duration), sess["principalId"])
    if source_identity:
        resp["sourceIdentity"] = source_identity
    cross = caller.identity.get("accountId") not in (None, ACCOUNT)
    d.call(t, caller, "sts.amazonaws.com", "AssumeRole", params, resp, ip=ip, ua=ua,
           resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(ACCOUNT, role, path)}],
           shared_event_id=d.trail.uid() if cross else None)
    return sess


# ---------------------------------------------------------------- monitoring vendor (Datadog)

DD_METRICS = [("AWS/EC2", "CPUUtilization", "InstanceId", "i-0f3a9c2e7b1d45a60"), ("AWS/EC2", "NetworkIn", "InstanceId", "i-0f3a9c2e7b1d45a60"),
              ("AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web-prod/5d1e0a7b9c3f2e84"),
              ("AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web-prod/5d1e0a7b9c3f2e84"),
              ("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "orders-prod"), ("AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", "orders-prod"),
              ("AWS/Lambda", "Errors", "FunctionName", "thumbnailer"), ("AWS/Lambda", "Duration", "FunctionName", "orders-webhook"),
              ("AWS/ECS", "CPUUtilization", "ClusterName", "prod"), ("AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", "orders")]

DD_CALLS = [  # (weight, source, name, params)
    (22, "monitoring.amazonaws.com", "GetMetricData", lambda d: {
        "metricDataQueries": [{"id": f"m{k}", "metricStat": {"metric": {"namespace": ns, "metricName": m,
                                                                         "dimensions": [{"name": dim, "value": val}]},
                                                              "period": 60, "stat": "Average"}, "returnData": True}
                              for k, (ns, m, dim, val) in enumerate(d.rng.sample(DD_METRICS, 3))],
        "startTime": aws_date(d.now - timedelta(minutes=10)), "endTime": aws_date(d.now), "scanBy": "TimestampAscending"}),
    (4, "monitoring.amazonaws.com", "ListMetrics", lambda d: {"namespace": d.rng.choice(["AWS/EC2", "AWS/ApplicationELB", "AWS/RDS", "AWS/Lambda", "AWS/ECS"])}),
    (3, "ec2.amazonaws.com", "DescribeInstances", lambda d: {"instancesSet": {}, "filterSet": {}, "maxResults": 1000}),
    (2, "ec2.amazonaws.com", "DescribeInstanceStatus", lambda d: {"instancesSet": {}, "filterSet": {}, "includeAllInstances": True}),
    (1, "ec2.amazonaws.com", "DescribeVolumes", lambda d: {"volumeSet": {}, "filterSet": {}}),
    (1, "ec2.amazonaws.com", "DescribeSecurityGroups", lambda d: {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
    (1, "ec2.amazonaws.com", "DescribeNatGateways", lambda d: {"DescribeNatGatewaysRequest": {"MaxResults": 1000}}),
    (2, "elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", lambda d: {"pageSize": 400}),
    (1, "elasticloadbalancing.amazonaws.com", "DescribeTargetGroups", lambda d: None),
    (1, "elasticloadbalancing.amazonaws.com", "DescribeTags", lambda d: {"resourceArns": [f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web-prod/5d1e0a7b9c3f2e84"]}),
    (1, "rds.amazonaws.com", "DescribeDBInstances", lambda d: None),
    (1, "rds.amazonaws.com", "ListTagsForResource", lambda d: {"resourceName": f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-prod"}),
    (2, "lambda.amazonaws.com", "ListFunctions20150331", lambda d: None),
    (1, "lambda.amazonaws.com", "ListTags20170331", lambda d: {"resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:thumbnailer"}),
    (1, "s3.amazonaws.com", "ListBuckets", lambda d: {"Host": "s3.amazonaws.com"}),
    (1, "s3.amazonaws.com", "GetBucketTagging", lambda d: (lambda b: {"bucketName": b, "Host": f"{b}.s3.amazonaws.com", "tagging": ""})(d.rng.choice(BUCKETS))),
    (1, "dynamodb.amazonaws.com", "ListTables", lambda d: None),
    (1, "dynamodb.amazonaws.com", "DescribeTable", lambda d: {"tableName": d.rng.choice(["orders", "sessions"])}),
    (1, "ecs.amazonaws.com", "ListClusters", lambda d: None),
    (1, "ecs.amazonaws.com", "DescribeServices", lambda d: {"cluster": "prod", "services": ["orders-api", "billing-worker", "export-worker"]}),
    (1, "autoscaling.amazonaws.com", "DescribeAutoScalingGroups", lambda d: None),
    (1, "monitoring.amazonaws.com", "DescribeAlarms", lambda d: {"maxRecords": 100}),
    (1, "tagging.amazonaws.com", "GetResources", lambda d: {"resourceTypeFilters": ["ec2:instance"], "resourcesPerPage": 100}),
    (1, "logs.amazonaws.com", "DescribeLogGroups", lambda d: {"limit": 50}),
    (1, "elasticache.amazonaws.com", "DescribeCacheClusters", lambda d: {"showCacheNodeInfo": True}),
    (1, "sns.amazonaws.com", "ListTopics", lambda d: None),
    (1, "route53.amazonaws.com", "ListHostedZones", lambda d: None),
    (1, "cloudfront.amazonaws.com", "ListDistributions", lambda d: None),
    (1, "apigateway.amazonaws.com", "GetRestApis", lambda d: {"limit": 500}),
]


def datadog(d, start, end, per_10min=(40, 60)):
    """Datadog's integration role, assumed from Datadog's account with an external id, polls
    CloudWatch and the inventory APIs all day: 40–60 calls each 10 minutes over 29 APIs. Its
    policy lacks backup:ListBackupVaults, so a call or two per hour is denied."""
    caller_id = {"type": "AWSAccount", "principalId": f"{stable_id('AROA', 'datadog-crawler')}:i-0dd1e2a3b4c5d6e7f",
                 "accountId": DATADOG_ACCOUNT}
    weights = [w for w, *_ in DD_CALLS]
    t = start
    sess = None
    while t < end:
        if sess is None or t >= sess_end:
            ip = d.rng.choice(DATADOG_IPS)
            caller = Actor(caller_id, ip, "aws-sdk-go/1.51.30 (go1.22.2; linux; amd64) exec-env/AWS_ECS_EC2")
            name = f"DatadogAWSIntegration-{int(t.timestamp())}"
            sess = assume_role(d, t, caller, "DatadogIntegrationRole", name, external_id=DATADOG_EXTERNAL_ID)
            sess_end = t + timedelta(minutes=59)
            actor = Actor(sess, ip, UA_DATADOG)
        n = d.rng.randint(*per_10min)
        offsets = sorted(d.rng.randint(5, 595) for _ in range(n))
        for off in offsets:
            _, source, name, params = d.rng.choices(DD_CALLS, weights)[0]
            d.now = t + timedelta(seconds=off)
            d.call(d.now, actor, source, name, params(d))
        if d.rng.random() < 0.15:
            d.call(t + timedelta(seconds=d.rng.randint(5, 595)), actor, "backup.amazonaws.com", "ListBackupVaults", None,
                   error=denied("backup.amazonaws.com", "ListBackupVaults", sess["arn"]))
        t += timedelta(minutes=10)


# ---------------------------------------------------------------- service-linked roles

def slr(service, role, session, created):
    path = f"/aws-service-role/{service}/"
    return Actor(role_session(ACCOUNT, role, session, created, path=path, invoked_by=service), service, service)


CONFIG_DESCRIBES = [
    ("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("ec2.amazonaws.com", "DescribeNetworkInterfaces"), ("ec2.amazonaws.com", "DescribeVolumes"),
    ("ec2.amazonaws.com", "DescribeSubnets"), ("ec2.amazonaws.com", "DescribeRouteTables"),
    ("ec2.amazonaws.com", "DescribeVpcs"), ("iam.amazonaws.com", "GetRole"), ("iam.amazonaws.com", "ListRolePolicies"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies"), ("s3.amazonaws.com", "GetBucketAcl"),
    ("s3.amazonaws.com", "GetBucketPolicy"), ("lambda.amazonaws.com", "GetFunction20150331v2"),
    ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers"), ("rds.amazonaws.com", "DescribeDBInstances"),
]


def config_recorder(d, start, end, every=timedelta(minutes=20)):
    """AWS Config's service-linked role re-reads changed resources: a few calls every 20 minutes."""
    t = start
    while t < end:
        a = slr("config.amazonaws.com", "AWSServiceRoleForConfig", "AWSConfig-Describe", d.day)
        for _ in range(d.rng.randint(3, 9)):
            source, name = d.rng.choice(CONFIG_DESCRIBES)
            d.call(d.jitter(t, 0, 120), a, source, name, config_params(d, source, name))
        t += every


def config_params(d, source, name):
    if source == "s3.amazonaws.com":
        b = d.rng.choice(BUCKETS)
        return {"bucketName": b, "Host": f"{b}.s3.amazonaws.com", name[9:].lower() or "acl": ""}
    if source == "iam.amazonaws.com":
        return {"roleName": d.rng.choice(["web-app-instance-role", "orders-api-task", "github-deploy", "DatadogIntegrationRole"])}
    if name == "DescribeInstances":
        return {"instancesSet": {"items": [{"instanceId": d.rng.choice(FLEET + TF_INSTANCES)}]}, "filterSet": {}}
    if name.startswith("GetFunction"):
        return {"functionName": d.rng.choice(["thumbnailer", "orders-webhook", "nightly-report"])}
    return None


def config_burst(d, t, n=18):
    """After an apply, Config records what changed: a burst of reads by its role."""
    a = slr("config.amazonaws.com", "AWSServiceRoleForConfig", "AWSConfig-Describe", d.day)
    for _ in range(n):
        source, name = d.rng.choice(CONFIG_DESCRIBES)
        d.call(d.jitter(t, 0, 240), a, source, name, config_params(d, source, name))


SECURITYHUB_CHECKS = [
    ("ec2.amazonaws.com", ["DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeFlowLogs",
                           "DescribeVolumes", "DescribeSnapshotAttribute", "DescribeSnapshots", "DescribeImages",
                           "DescribeNetworkAcls", "DescribeSubnets", "DescribeVpcEndpoints", "DescribeAddresses",
                           "DescribeLaunchTemplateVersions", "GetEbsEncryptionByDefault", "DescribeTransitGateways",
                           "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeClientVpnEndpoints",
                           "DescribeInstanceAttribute"]),
    ("iam.amazonaws.com", ["GetAccountPasswordPolicy", "GetAccountSummary", "ListUsers", "ListPolicies",
                           "GenerateCredentialReport", "GetCredentialReport", "ListVirtualMFADevices",
                           "ListAttachedUserPolicies", "ListUserPolicies", "GetPolicyVersion", "ListEntitiesForPolicy"]),
    ("s3.amazonaws.com", ["ListBuckets", "GetBucketPublicAccessBlock", "GetBucketPolicy", "GetBucketAcl",
                          "GetBucketEncryption", "GetBucketLogging", "GetBucketVersioning", "GetBucketLifecycle",
                          "GetAccountPublicAccessBlock"]),
    ("cloudtrail.amazonaws.com", ["DescribeTrails", "GetTrailStatus", "GetEventSelectors"]),
    ("kms.amazonaws.com", ["ListKeys", "DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy"]),
    ("lambda.amazonaws.com", ["ListFunctions20150331", "GetPolicy20150331v2"]),
    ("rds.amazonaws.com", ["DescribeDBInstances", "DescribeDBSnapshots", "DescribeDBClusters", "DescribeDBSnapshotAttributes"]),
    ("elasticloadbalancing.amazonaws.com", ["DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeListeners"]),
    ("guardduty.amazonaws.com", ["ListDetectors", "GetDetector"]),
    ("config.amazonaws.com", ["DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus"]),
    ("ssm.amazonaws.com", ["DescribeInstanceInformation", "ListComplianceItems", "DescribeDocumentPermission"]),
    ("ecs.amazonaws.com", ["ListClusters", "DescribeClusters", "ListTaskDefinitions", "DescribeTaskDefinition"]),
    ("autoscaling.amazonaws.com", ["DescribeAutoScalingGroups", "DescribeLaunchConfigurations"]),
    ("sns.amazonaws.com", ["ListTopics", "GetTopicAttributes"]),
    ("secretsmanager.amazonaws.com", ["ListSecrets"]),
    ("dynamodb.amazonaws.com", ["ListTables", "DescribeContinuousBackups"]),
]


def securityhub_checks(d, t, calls=150):
    """Security Hub's periodic security checks (CIS / FSBP), every 12 hours: its service-linked role
    reads the configuration of every service within a few minutes."""
    a = slr("securityhub.amazonaws.com", "AWSServiceRoleForSecurityHub", "securityhub", d.day)
    flat = [(s, n) for s, names in SECURITYHUB_CHECKS for n in names]
    for i in range(calls):
        source, name = flat[i % len(flat)] if i < len(flat) else d.rng.choice(flat)
        params = None
        if source == "s3.amazonaws.com" and name != "ListBuckets":
            b = BUCKETS[i % len(BUCKETS)]
            params = {"bucketName": b, "Host": f"{b}.s3.amazonaws.com"}
            if name == "GetAccountPublicAccessBlock":
                params = {"Host": f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", "x-amz-account-id": ACCOUNT}
        elif name == "DescribeInstanceAttribute":
            params = {"instanceId": d.rng.choice(TF_INSTANCES), "attribute": "metadataOptions"}
        elif name == "DescribeSnapshotAttribute":
            params = {"snapshotId": f"snap-0{hexid(str(i), 16)}", "attribute": "createVolumePermission"}
        d.call(t + timedelta(seconds=int(i * 240 / calls) + d.rng.randint(0, 2)), a, source, name, params)


def autoscaling(d, t, count, *, scale_in=False, capacity_error=False):
    """The web fleet's Auto Scaling group launches or terminates instances through its
    service-linked role."""
    a = slr("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling", "AutoScaling", d.day)
    d.call(t, a, "ec2.amazonaws.com", "DescribeLaunchTemplateVersions",
           {"DescribeLaunchTemplateVersionsRequest": {"LaunchTemplateId": "lt-0a1b2c3d4e5f60789", "LaunchTemplateVersion": {"tag": 1, "content": "$Latest"}}})
    if scale_in:
        ids = d.rng.sample(FLEET, count)
        d.call(t + timedelta(seconds=4), a, "ec2.amazonaws.com", "TerminateInstances",
               {"instancesSet": {"items": [{"instanceId": i} for i in ids]}},
               {"requestId": d.trail.uid(), "instancesSet": {"items": [
                   {"instanceId": i, "currentState": {"code": 32, "name": "shutting-down"},
                    "previousState": {"code": 16, "name": "running"}} for i in ids]}})
        return
    if capacity_error:
        d.call(t + timedelta(seconds=3), a, "ec2.amazonaws.com", "RunInstances",
               {"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}, "instanceType": "m6i.large",
                "launchTemplate": {"launchTemplateId": "lt-0a1b2c3d4e5f60789", "version": "7"},
                "availabilityZone": "us-east-1e"}, None,
               error=("Server.InsufficientInstanceCapacity",
                      "We currently do not have sufficient m6i.large capacity in the Availability Zone you requested "
                      "(us-east-1e). Our system will be working on provisioning additional capacity."))
    for n in range(count):
        iid = f"i-0{hexid(ts(t) + str(n), 16)}"
        d.call(t + timedelta(seconds=8 + n), a, "ec2.amazonaws.com", "RunInstances",
               {"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}, "instanceType": "m6i.large",
                "launchTemplate": {"launchTemplateId": "lt-0a1b2c3d4e5f60789", "version": "7"},
                "subnetId": d.rng.choice(SUBNETS), "availabilityZone": "us-east-1a",
                "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
                    {"key": "aws:autoscaling:groupName", "value": "web-prod-asg"}]}]},
                "clientToken": d.trail.uid()},
               {"requestId": d.trail.uid(), "reservationId": f"r-0{hexid(iid, 16)}", "ownerId": ACCOUNT,
                "requesterId": "940372691376", "instancesSet": {"items": [
                    {"instanceId": iid, "imageId": "ami-0b8f1e2d3c4a59607", "instanceType": "m6i.large",
                     "instanceState": {"code": 0, "name": "pending"},
                     "iamInstanceProfile": {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/web-fleet", "id": "AIPA" + hexid("web-fleet", 17).upper()},
                     "subnetId": SUBNETS[0], "vpcId": VPC}]}})


def ecs_tasks(d, t, service, n):
    """ECS starts `n` tasks of a service (a deploy): its service-linked role creates and attaches
    their network interfaces; each task's execution role reads its configuration once (SSM
    GetParameters with decryption, a handful of names)."""
    a = slr("ecs.amazonaws.com", "AWSServiceRoleForECS", "ecs-service-scheduler", d.day)
    for k in range(n):
        tt = t + timedelta(seconds=20 * k)
        eni = f"eni-0{hexid(service + ts(tt), 16)}"
        d.call(tt, a, "ec2.amazonaws.com", "CreateNetworkInterface",
               {"subnetId": d.rng.choice(SUBNETS), "description": "arn:aws:ecs:us-east-1:" + ACCOUNT + ":attachment/" + d.trail.uid(),
                "groupSet": {"items": [{"groupId": "sg-0e1d2c3b4a5968778"}]}},
               {"requestId": d.trail.uid(), "networkInterface": {"networkInterfaceId": eni, "subnetId": SUBNETS[0], "vpcId": VPC,
                                                                 "status": "pending", "interfaceType": "interface"}})
        d.call(tt + timedelta(seconds=2), a, "ec2.amazonaws.com", "DescribeNetworkInterfaces",
               {"networkInterfaceIdSet": {"items": [{"networkInterfaceId": eni}]}})
        d.call(tt + timedelta(seconds=3), a, "ec2.amazonaws.com", "AttachNetworkInterface",
               {"networkInterfaceId": eni, "instanceId": d.rng.choice(FLEET), "deviceIndex": 1},
               {"requestId": d.trail.uid(), "attachmentId": f"eni-attach-0{hexid(eni, 16)}"})
        task = hexid(service + ts(tt) + "task", 32)
        execrole = Actor(role_session(ACCOUNT, "ecsTaskExecutionRole", task, tt), d.rng.choice(["10.20.1.41", "10.20.2.17"]),
                         "amazon-ecs-agent/1.83.0 (+https://github.com/aws/amazon-ecs-agent)")
        d.call(tt + timedelta(seconds=9), execrole, "ssm.amazonaws.com", "GetParameters",
               {"names": [f"/prod/{service}/{p}" for p in ("db-url", "db-password", "api-key", "sentry-dsn")],
                "withDecryption": True}, None, vpce="vpce-0b1c2d3e4f5a69788")
        d.call(tt + timedelta(seconds=9), Actor(dict(execrole.identity, invokedBy="ssm.amazonaws.com"), "ssm.amazonaws.com",
                                                "ssm.amazonaws.com"), "kms.amazonaws.com", "Decrypt",
               {"encryptionContext": {"PARAMETER_ARN": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/prod/{service}/db-password"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
               resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": SECRETS_KEY}])


# ---------------------------------------------------------------- applications

APPS = {  # ECS service → its task role's one secret, and how often it re-reads it (per hour)
    "orders-api": ("prod/orders-api/db", 3),
    "billing-worker": ("prod/billing/stripe-api-key", 2),
    "export-worker": ("prod/exports/sftp-credentials", 2),
}


def secret_arn(name):
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-{hexid(name, 6)}"


def app_secrets(d, start, end):
    """Each application's task role reads its own secret a few times an hour (cache expiry),
    Secrets Manager decrypting it with KMS on the role's behalf."""
    for service, (secret, per_hour) in APPS.items():
        task = hexid(service + "long-running", 32)
        ip = {"orders-api": "10.20.1.41", "billing-worker": "10.20.2.17", "export-worker": "10.20.3.9"}[service]
        ident = role_session(ACCOUNT, f"{service}-task", task, d.day)
        actor = Actor(ident, ip, UA_NODE_APP if service == "orders-api" else UA_BOTO_APP)
        via = Actor(dict(ident, invokedBy="secretsmanager.amazonaws.com"), "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com")
        t = start + timedelta(seconds=d.rng.randint(0, 900))
        while t < end:
            d.call(t, actor, "secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": secret_arn(secret)}, None,
                   vpce="vpce-0c2d3e4f5a6b7c899")
            d.call(t, via, "kms.amazonaws.com", "Decrypt",
                   {"encryptionContext": {"SecretARN": secret_arn(secret), "SecretVersionId": d.trail.uid()},
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
                   resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": SECRETS_KEY}])
            t += timedelta(seconds=int(3600 / per_hour) + d.rng.randint(-300, 300))


def s3_data(d, t, actor, name, bucket, key, *, params_extra=None, response=None, ip=None, ua=None):
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "key": key}
    if params_extra:
        params.update(params_extra)
    return d.call(t, actor, "s3.amazonaws.com", name, params, response, category="Data", version="1.10",
                  ip=ip, ua=ua, additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                            "bytesTransferredIn": 0, "bytesTransferredOut": 0,
                                            "x-amz-id-2": hexid(key + ts(t), 76), "AuthenticationMethod": "AuthHeader"},
                  resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                             {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])


def export_worker(d, start, end, per_hour=24):
    """The export worker writes customer exports (SSE-KMS: S3 asks KMS for a data key on its
    behalf) and removes the upload files it has processed: a few deletes every 10 minutes."""
    ident = role_session(ACCOUNT, "export-worker-task", hexid("export-worker" + "long-running", 32), d.day)
    actor = Actor(ident, "10.20.3.9", UA_BOTO_APP)
    via = Actor(dict(ident, invokedBy="s3.amazonaws.com"), "s3.amazonaws.com", "s3.amazonaws.com")
    t = start + timedelta(seconds=d.rng.randint(0, 300))
    n = 0
    while t < end:
        n += 1
        cust = d.rng.randint(1000, 9999)
        up = f"uploads/{t.strftime('%Y/%m/%d')}/{cust}-{hexid(str(n) + ts(t), 8)}.csv"
        s3_data(d, t, actor, "GetObject", EXPORTS, up)
        key = f"exports/{cust}/{t.strftime('%Y%m%dT%H%M%S')}.parquet"
        s3_data(d, t + timedelta(seconds=6), actor, "PutObject", EXPORTS, key,
                params_extra={"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": DATA_KEY},
                response={"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": DATA_KEY})
        d.call(t + timedelta(seconds=6), via, "kms.amazonaws.com", "GenerateDataKey",
               {"keyId": DATA_KEY, "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{EXPORTS}/{key}"}, "keySpec": "AES_256"}, None,
               resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": DATA_KEY}])
        s3_data(d, t + timedelta(seconds=7), actor, "DeleteObject", EXPORTS, up, response=None)
        t += timedelta(seconds=int(3600 / per_hour) + d.rng.randint(-40, 40))


def instance_role(d, start, end):
    """web-1's own role (its session named after the instance, credentials from IMDSv2) calls
    from the instance's one public address all day: the SSM agent's heartbeat and association
    polls, the app's log streams, its secret, its config object."""
    iid, private, public, eni = WEB1
    ident = role_session(ACCOUNT, "web-app-instance-role", iid, d.day, ec2_delivery=True)
    agent = Actor(ident, public, UA_SSM_AGENT)
    app = Actor(ident, public, UA_BOTO_APP)
    t = start + timedelta(seconds=17)
    k = 0
    while t < end:
        d.call(t, agent, "ssm.amazonaws.com", "UpdateInstanceInformation",
               {"instanceId": iid, "agentVersion": "3.3.418.0", "agentStatus": "Active", "platformType": "Linux",
                "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": private, "computerName": "ip-10-20-1-15.ec2.internal",
                "agentName": "amazon-ssm-agent", "availabilityZone": "us-east-1a", "availabilityZoneId": "use1-az4"}, None)
        if k % 2 == 0:
            d.call(t + timedelta(seconds=1), agent, "ssm.amazonaws.com", "ListInstanceAssociations",
                   {"instanceId": iid, "maxResults": 50}, None)
        if k % 12 == 3:
            d.call(t + timedelta(seconds=30), app, "logs.amazonaws.com", "CreateLogStream",
                   {"logGroupName": "/app/web", "logStreamName": f"{iid}/{t.strftime('%Y-%m-%d-%H')}"}, None)
            d.call(t + timedelta(seconds=31), app, "secretsmanager.amazonaws.com", "GetSecretValue",
                   {"secretId": secret_arn("prod/web/session-signing-key")}, None)
            s3_data(d, t + timedelta(seconds=33), app, "GetObject", ARTIFACTS, "config/web/prod.json")
        t += timedelta(minutes=5)


def lambda_service(d, start, end, every=(300, 900)):
    """Lambda assumes each function's execution role when it scales (AWSService)."""
    fns = ["thumbnailer", "orders-webhook", "nightly-report", "slack-notifier"]
    t = start + timedelta(seconds=d.rng.randint(0, 200))
    while t < end:
        fn = d.rng.choice(fns)
        role = f"{fn}-lambda-role"
        sess = role_session(ACCOUNT, role, fn, t)
        a = Actor(aws_service("lambda.amazonaws.com"), "lambda.amazonaws.com", "lambda.amazonaws.com")
        d.call(t, a, "sts.amazonaws.com", "AssumeRole", {"roleArn": role_arn(ACCOUNT, role), "roleSessionName": fn},
               creds(sess["accessKeyId"], sess["arn"], fn, t + timedelta(hours=12), sess["principalId"]),
               resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(ACCOUNT, role)}],
               shared_event_id=d.trail.uid())
        t += timedelta(seconds=d.rng.randint(*every))


# ---------------------------------------------------------------- people in the console (IAM Identity Center)

CONSOLE_PAGES = {
    "ec2": [("ec2.amazonaws.com", n) for n in (
        "DescribeInstances", "DescribeInstanceStatus", "DescribeAddresses", "DescribeKeyPairs", "DescribeSecurityGroups",
        "DescribeVolumes", "DescribeSnapshots", "DescribeImages", "DescribeLaunchTemplates", "DescribeHosts",
        "DescribePlacementGroups", "DescribeAvailabilityZones", "DescribeAccountAttributes", "DescribeRegions",
        "DescribeInstanceTypes", "DescribeVpcs", "DescribeSubnets", "DescribeTags", "DescribeCapacityReservations",
        "DescribeSpotInstanceRequests")] + [
        ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers"), ("elasticloadbalancing.amazonaws.com", "DescribeTargetGroups"),
        ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups"), ("ssm.amazonaws.com", "DescribeInstanceInformation"),
        ("compute-optimizer.amazonaws.com", "GetEnrollmentStatus"), ("health.amazonaws.com", "DescribeEventAggregates"),
        ("servicequotas.amazonaws.com", "GetServiceQuota")],
    "iam": [("iam.amazonaws.com", n) for n in (
        "GetAccountSummary", "ListAccountAliases", "ListUsers", "ListRoles", "ListPolicies", "ListGroups",
        "GetAccountPasswordPolicy", "ListMFADevices", "ListOpenIDConnectProviders", "ListSAMLProviders",
        "GetServiceLastAccessedDetails", "GenerateServiceLastAccessedDetails", "ListAttachedRolePolicies",
        "ListRolePolicies", "GetRole", "ListInstanceProfilesForRole", "ListRoleTags", "GetLoginProfile",
        "ListAccessKeys", "ListSigningCertificates", "ListSSHPublicKeys", "ListServiceSpecificCredentials")] + [
        ("access-analyzer.amazonaws.com", "ListAnalyzers"), ("organizations.amazonaws.com", "DescribeOrganization")],
    "s3": [("s3.amazonaws.com", "ListBuckets"), ("s3.amazonaws.com", "GetBucketLocation"), ("s3.amazonaws.com", "GetBucketPolicyStatus"),
           ("s3.amazonaws.com", "GetAccountPublicAccessBlock"), ("s3.amazonaws.com", "GetBucketAcl"),
           ("s3.amazonaws.com", "GetBucketVersioning"), ("s3.amazonaws.com", "GetBucketEncryption"),
           ("s3.amazonaws.com", "GetBucketTagging"), ("s3.amazonaws.com", "GetBucketPublicAccessBlock"),
           ("s3.amazonaws.com", "GetStorageLensConfiguration"), ("access-analyzer.amazonaws.com", "ListFindings")],
    "cloudwatch": [("monitoring.amazonaws.com", n) for n in ("DescribeAlarms", "GetMetricData", "ListDashboards", "GetDashboard",
                                                             "GetMetricData", "GetMetricData", "DescribeAlarmHistory")] + [
                   ("logs.amazonaws.com", "DescribeLogGroups"), ("logs.amazonaws.com", "DescribeQueries")],
    "lambda": [("lambda.amazonaws.com", n) for n in ("ListFunctions20150331", "GetAccountSettings20160819",
                                                     "GetFunction20150331v2", "ListAliases20150331",
                                                     "ListVersionsByFunction20150331", "GetPolicy20150331v2",
                                                     "ListEventSourceMappings20150331", "GetFunctionUrlConfig",
                                                     "ListTags20170331")] + [("logs.amazonaws.com", "DescribeLogStreams")],
    "cloudformation": [("cloudformation.amazonaws.com", n) for n in ("DescribeStacks", "ListStacks", "DescribeStackEvents",
                                                                     "DescribeStackResources", "GetTemplateSummary",
                                                                     "ListStackResources", "DescribeStackEvents")],
    "ecs": [("ecs.amazonaws.com", n) for n in ("ListClusters", "DescribeClusters", "ListServices", "DescribeServices",
                                               "ListTasks", "DescribeTasks", "DescribeTaskDefinition", "ListContainerInstances",
                                               "DescribeCapacityProviders")],
}


def console_page(d, t, actor, page):
    """Opening a console page: the page's background calls within a few seconds."""
    for i, (source, name) in enumerate(CONSOLE_PAGES[page]):
        params = None
        if source == "s3.amazonaws.com" and name not in ("ListBuckets", "GetAccountPublicAccessBlock", "GetStorageLensConfiguration"):
            b = BUCKETS[i % len(BUCKETS)]
            params = {"bucketName": b, "Host": f"{b}.s3.us-east-1.amazonaws.com"}
        elif name == "GetAccountPublicAccessBlock":
            params = {"Host": f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", "x-amz-account-id": ACCOUNT}
        elif name == "GetRole" or name.startswith("ListRole") or name.startswith("ListAttachedRole") or name == "ListInstanceProfilesForRole":
            params = {"roleName": "orders-api-task"}
        elif name in ("GetFunction20150331v2", "ListAliases20150331", "ListVersionsByFunction20150331", "GetPolicy20150331v2", "GetFunctionUrlConfig"):
            params = {"functionName": "orders-webhook"}
        ip = actor.ip
        ua = actor.ua
        if source in ("health.amazonaws.com", "compute-optimizer.amazonaws.com", "servicequotas.amazonaws.com", "access-analyzer.amazonaws.com"):
            ua = "AWS Internal"
        if name == "GenerateServiceLastAccessedDetails":
            ip, ua = "AWS Internal", "AWS Internal"
        d.call(t + timedelta(milliseconds=0, seconds=i // 6), actor, source, name, params, ip=ip, ua=ua)


def sso_sign_in(d, t, person):
    """IAM Identity Center: the portal assumes the permission set's role with SAML, then the
    console sign-in (an AssumedRole: MFA was done at the identity provider, so MFAUsed is No)."""
    role, ip, ua = PEOPLE[person]
    sess = role_session(ACCOUNT, role, person, t, path=SSO_PATH, mfa=True)
    saml = Actor({"type": "SAMLUser", "principalId": f"{hexid('issuer', 28)}:{person}", "userName": person,
                  "identityProvider": SAML_SSO}, ip, ua)
    d.call(t, saml, "sts.amazonaws.com", "AssumeRoleWithSAML",
           {"sAMLAssertionID": "_" + hexid(person + ts(t), 32), "roleSessionName": person, "durationSeconds": 43200,
            "roleArn": role_arn(ACCOUNT, role, SSO_PATH), "principalArn": SAML_SSO},
           dict(creds(sess["accessKeyId"], sess["arn"], person, t + timedelta(hours=12), sess["principalId"]),
                subject=person, subjectType="persistent", issuer="https://portal.sso.us-east-1.amazonaws.com/saml/assertion/" + hexid("ssoinst", 24),
                audience="https://signin.aws.amazon.com/saml", nameQualifier=hexid("nq", 28)),
           resources=[{"ARN": role_arn(ACCOUNT, role, SSO_PATH), "accountId": ACCOUNT, "type": "AWS::IAM::Role"},
                      {"ARN": SAML_SSO, "accountId": ACCOUNT, "type": "AWS::IAM::SAMLProvider"}])
    actor = Actor(sess, ip, ua, console=True)
    d.call(t + timedelta(seconds=3), Actor(sess, ip, ua, tls=False), "signin.amazonaws.com", "ConsoleLogin", None,
           {"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn", read_only=False,
           additional={"MobileVersion": "No", "MFAUsed": "No"})
    return actor


def console_session(d, start, person, minutes, pages):
    """A person's console session: sign in, then a page every few minutes."""
    actor = sso_sign_in(d, start, person)
    t = start + timedelta(minutes=1)
    end = start + timedelta(minutes=minutes)
    i = 0
    while t < end:
        console_page(d, t, actor, pages[i % len(pages)])
        i += 1
        t += timedelta(minutes=d.rng.randint(4, 11), seconds=d.rng.randint(0, 59))
    return actor


def readonly_denied(d, actor, t):
    """carol (read-only) tries to stop an instance she thinks is hers, and to read a secret:
    two denials, minutes apart."""
    d.call(t, actor, "ec2.amazonaws.com", "StopInstances",
           {"instancesSet": {"items": [{"instanceId": TF_INSTANCES[3]}]}, "force": False}, None,
           error=(denied("ec2.amazonaws.com", "StopInstances", actor.arn, f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{TF_INSTANCES[3]}")[0],
                  "You are not authorized to perform this operation. User: " + actor.arn + " is not authorized to perform: "
                  "ec2:StopInstances on resource: arn:aws:ec2:us-east-1:" + ACCOUNT + ":instance/" + TF_INSTANCES[3] +
                  " because no identity-based policy allows the ec2:StopInstances action. Encoded authorization failure message: "
                  + hexid("encoded" + ts(t), 180)))
    d.call(t + timedelta(minutes=7), actor, "secretsmanager.amazonaws.com", "GetSecretValue",
           {"secretId": secret_arn("prod/orders-api/db")}, None,
           error=denied("secretsmanager.amazonaws.com", "GetSecretValue", actor.arn, secret_arn("prod/orders-api/db")))


# ---------------------------------------------------------------- erin: an IAM user, console then CLI

def erin(d, t_console, t_cli):
    """erin, the data analyst with an IAM user: a mistyped password, then a console sign-in with
    MFA from the office; she rotates her own access key; 40 minutes later she works with the CLI
    from home with the new key. Some of her console's calls are made by AWS on her behalf."""
    old_key, new_key = "AKIA" + stable_id("", "erin-old", 16), "AKIA" + stable_id("", "erin-new" + ts(t_console), 16)
    fail = Actor({"type": "IAMUser", "principalId": stable_id("AIDA", f"user/{ACCOUNT}/erin"), "accountId": ACCOUNT,
                  "accessKeyId": "", "userName": "erin"}, ERIN_OFFICE, UA_CHROME, tls=False)
    d.call(t_console - timedelta(seconds=40), fail, "signin.amazonaws.com", "ConsoleLogin", None, {"ConsoleLogin": "Failure"},
           event_type="AwsConsoleSignIn", read_only=False,
           error=("", "Failed authentication"),
           additional={"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_" + hexid("s", 16),
                       "MobileVersion": "No", "MFAUsed": "No"})
    d.trail.records[-1].pop("errorCode")  # a failed sign-in carries only the message
    login = Actor(iam_user(ACCOUNT, "erin", ""), ERIN_OFFICE, UA_CHROME, tls=False)
    login.identity.pop("accessKeyId")
    d.call(t_console, login, "signin.amazonaws.com", "ConsoleLogin", None, {"ConsoleLogin": "Success"},
           event_type="AwsConsoleSignIn", read_only=False,
           additional={"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_" + hexid("s", 16),
                       "MobileVersion": "No", "MFAIdentifier": f"arn:aws:iam::{ACCOUNT}:mfa/erin-phone", "MFAUsed": "Yes"})
    console = Actor(iam_user(ACCOUNT, "erin", stable_id("ASIA", "erin-console" + ts(t_console), 16), mfa=True, created=t_console),
                    ERIN_OFFICE, UA_CHROME, console=True)
    t = t_console + timedelta(seconds=20)
    console_page(d, t, console, "s3")
    t += timedelta(minutes=3)
    for name, params in (("GetUser", {"userName": "erin"}), ("ListAccessKeys", {"userName": "erin"}),
                         ("ListMFADevices", {"userName": "erin"}), ("GetAccessKeyLastUsed", {"accessKeyId": old_key})):
        d.call(t, console, "iam.amazonaws.com", name, params)
        t += timedelta(seconds=2)
    t += timedelta(seconds=30)
    d.call(t, console, "iam.amazonaws.com", "CreateAccessKey", {"userName": "erin"},
           {"accessKey": {"userName": "erin", "accessKeyId": new_key, "status": "Active", "createDate": aws_date(t)}})
    d.call(t + timedelta(seconds=50), console, "iam.amazonaws.com", "UpdateAccessKey",
           {"userName": "erin", "accessKeyId": old_key, "status": "Inactive"})
    # Athena in the console: the query runs, Athena reads the results bucket on her behalf.
    t += timedelta(minutes=2)
    d.call(t, console, "athena.amazonaws.com", "StartQueryExecution",
           {"queryString": "SELECT region, sum(amount) FROM orders_daily WHERE day = date '2024-06-02' GROUP BY 1",
            "clientRequestToken": d.trail.uid(), "queryExecutionContext": {"database": "analytics"}, "workGroup": "primary"},
           {"queryExecutionId": d.trail.uid()})
    via = Actor(dict(console.identity, invokedBy="athena.amazonaws.com"), "athena.amazonaws.com", "athena.amazonaws.com")
    d.call(t + timedelta(seconds=2), via, "glue.amazonaws.com", "GetTable", {"databaseName": "analytics", "name": "orders_daily"})
    d.call(t + timedelta(seconds=3), via, "kms.amazonaws.com", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
           resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": DATA_KEY}])
    d.call(t + timedelta(seconds=9), console, "athena.amazonaws.com", "GetQueryResults", {"queryExecutionId": d.trail.uid()},
           ip="AWS Internal", ua="AWS Internal")
    # From home, later: the CLI with the new key.
    cli = Actor(iam_user(ACCOUNT, "erin", new_key), ERIN_HOME, UA_CLI_MAC)
    t = t_cli
    for source, name, params, cmd in (
            ("sts.amazonaws.com", "GetCallerIdentity", None, "sts.get-caller-identity"),
            ("s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}, "s3.ls"),
            ("athena.amazonaws.com", "ListWorkGroups", None, "athena.list-work-groups"),
            ("athena.amazonaws.com", "StartQueryExecution", {"queryString": "SELECT count(*) FROM orders_daily", "workGroup": "primary",
                                                             "clientRequestToken": d.trail.uid()}, "athena.start-query-execution"),
            ("athena.amazonaws.com", "GetQueryExecution", {"queryExecutionId": d.trail.uid()}, "athena.get-query-execution"),
            ("athena.amazonaws.com", "GetQueryResults", {"queryExecutionId": d.trail.uid()}, "athena.get-query-results"),
            ("iam.amazonaws.com", "ListAccessKeys", {"userName": "erin"}, "iam.list-access-keys"),
            ("iam.amazonaws.com", "DeleteAccessKey", {"userName": "erin", "accessKeyId": old_key}, "iam.delete-access-key")):
        d.call(t, cli, source, name, params, ua=UA_CLI_MAC.format(cmd=cmd))
        t += timedelta(seconds=d.rng.randint(15, 90))


# ---------------------------------------------------------------- CI: GitHub Actions through OIDC

def github_session(d, t, repo, role, ref="refs/heads/main"):
    sub = f"repo:example-org/{repo}:ref:{ref}"
    ip = d.rng.choice(GITHUB_RUNNERS)
    session = f"GitHubActions-{d.rng.randint(9000000000, 9999999999)}"
    sess = role_session(ACCOUNT, role, session, t, web_id=OIDC_GITHUB)
    web = Actor({"type": "WebIdentityUser", "principalId": f"{OIDC_GITHUB}:sts.amazonaws.com:{sub}", "userName": sub,
                 "identityProvider": OIDC_GITHUB}, ip, UA_GHA_CREDS)
    d.call(t, web, "sts.amazonaws.com", "AssumeRoleWithWebIdentity",
           {"roleArn": role_arn(ACCOUNT, role), "roleSessionName": session, "durationSeconds": 3600},
           dict(creds(sess["accessKeyId"], sess["arn"], session, t + timedelta(hours=1), sess["principalId"]),
                subjectFromWebIdentityToken=sub, provider=OIDC_GITHUB, audience="sts.amazonaws.com"),
           additional={"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
           resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(ACCOUNT, role)}])
    return sess, ip


def ci_deploy(d, t, repo, function, prune=4):
    """A GitHub Actions deploy of a Lambda function: the `deploy` role through OIDC, the build
    uploaded, the function's code updated and published, a few old build artifacts pruned."""
    sess, ip = github_session(d, t, repo, "deploy")
    a = Actor(sess, ip, UA_GHA_CLI)
    sha = hexid(repo + ts(t), 40)
    tt = t + timedelta(seconds=4)
    d.call(tt, a, "sts.amazonaws.com", "GetCallerIdentity", None, ua=UA_GHA_CLI.format(cmd="sts.get-caller-identity"))
    key = f"builds/{function}/{sha}.zip"
    s3_data(d, tt + timedelta(seconds=20), a, "PutObject", ARTIFACTS, key, ua=UA_GHA_CLI.format(cmd="s3.cp"))
    tt += timedelta(seconds=35)
    d.call(tt, a, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
           {"functionName": function, "s3Bucket": ARTIFACTS, "s3Key": key, "publish": False, "dryRun": False},
           {"functionName": function, "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}",
            "runtime": "python3.12", "role": role_arn(ACCOUNT, f"{function}-lambda-role"), "handler": "app.handler",
            "codeSize": d.rng.randint(2_000_000, 9_000_000), "codeSha256": hexid(sha, 43), "state": "Active",
            "lastUpdateStatus": "InProgress", "revisionId": d.trail.uid()},
           ua=UA_GHA_CLI.format(cmd="lambda.update-function-code"))
    for k in range(3):
        d.call(tt + timedelta(seconds=5 + 5 * k), a, "lambda.amazonaws.com", "GetFunctionConfiguration20150331v2",
               {"functionName": function}, ua=UA_GHA_CLI.format(cmd="lambda.wait"))
    version = str(d.rng.randint(40, 120))
    d.call(tt + timedelta(seconds=22), a, "lambda.amazonaws.com", "PublishVersion20150331",
           {"functionName": function, "description": sha[:7]},
           {"functionName": function, "version": version, "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}:{version}"},
           ua=UA_GHA_CLI.format(cmd="lambda.publish-version"))
    d.call(tt + timedelta(seconds=24), a, "lambda.amazonaws.com", "UpdateAlias20150331",
           {"functionName": function, "name": "live", "functionVersion": version},
           {"aliasArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}:live", "name": "live", "functionVersion": version},
           ua=UA_GHA_CLI.format(cmd="lambda.update-alias"))
    # Prune: list the builds, delete the oldest few in one DeleteObjects request (a data event
    # that names no keys), as the pipeline's cleanup step does.
    tt += timedelta(seconds=40)
    d.call(tt, a, "s3.amazonaws.com", "ListObjectsV2",
           {"bucketName": ARTIFACTS, "Host": f"{ARTIFACTS}.s3.us-east-1.amazonaws.com", "list-type": "2", "prefix": f"builds/{function}/"},
           None, category="Data", version="1.10", ua=UA_GHA_CLI.format(cmd="s3api.list-objects-v2"),
           resources=[{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{ARTIFACTS}/builds/{function}/"},
                      {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{ARTIFACTS}"}])
    if prune:
        d.call(tt + timedelta(seconds=3), a, "s3.amazonaws.com", "DeleteObjects",
               {"bucketName": ARTIFACTS, "Host": f"{ARTIFACTS}.s3.us-east-1.amazonaws.com", "delete": ""}, None,
               category="Data", version="1.10", ua=UA_GHA_CLI.format(cmd="s3api.delete-objects"),
               additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 98 * prune,
                           "bytesTransferredOut": 61 * prune, "AuthenticationMethod": "AuthHeader"},
               resources=[{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{ARTIFACTS}/"},
                          {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{ARTIFACTS}"}])


# ---------------------------------------------------------------- CloudFormation (CDK) stack update

def cdk_deploy(d, t, stack):
    """A CDK deploy from GitHub Actions: the bootstrap roles; CloudFormation then works with its
    execution role (calls invokedBy cloudformation.amazonaws.com, from cloudformation.amazonaws.com)."""
    sess, ip = github_session(d, t, "orders-service", "github-cdk-deploy")
    gha = Actor(sess, ip, UA_GHA_CLI.format(cmd="cdk"))
    q = "hnb659fds"
    deploy_role = f"cdk-{q}-deploy-role-{ACCOUNT}-us-east-1"
    dep = assume_role(d, t + timedelta(seconds=10), gha, deploy_role, f"aws-cdk-{sess['principalId'][-10:]}", ua="aws-cdk/2.144.0")
    a = Actor(dep, ip, "aws-cdk/2.144.0 aws-sdk-js/2.1631.0 linux/v20.14.0 exec-env/GitHubActions")
    tt = t + timedelta(seconds=14)
    d.call(tt, a, "ssm.amazonaws.com", "GetParameter", {"name": f"/cdk-bootstrap/{q}/version"})
    d.call(tt + timedelta(seconds=1), a, "cloudformation.amazonaws.com", "DescribeStacks", {"stackName": stack})
    assets = f"cdk-{q}-assets-{ACCOUNT}-us-east-1"
    s3_data(d, tt + timedelta(seconds=9), a, "PutObject", assets, f"{hexid(stack + ts(t), 64)}.zip")
    cs = f"cdk-deploy-change-set"
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{stack}/{d.trail.uid()}"
    d.call(tt + timedelta(seconds=14), a, "cloudformation.amazonaws.com", "CreateChangeSet",
           {"stackName": stack, "templateURL": f"https://s3.us-east-1.amazonaws.com/{assets}/{hexid(stack, 64)}.json",
            "capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            "roleARN": role_arn(ACCOUNT, f"cdk-{q}-cfn-exec-role-{ACCOUNT}-us-east-1"), "changeSetName": cs, "changeSetType": "UPDATE"},
           {"id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/{cs}/{d.trail.uid()}", "stackId": stack_id})
    for k in range(3):
        d.call(tt + timedelta(seconds=16 + 3 * k), a, "cloudformation.amazonaws.com", "DescribeChangeSet", {"changeSetName": cs, "stackName": stack})
    d.call(tt + timedelta(seconds=26), a, "cloudformation.amazonaws.com", "ExecuteChangeSet", {"changeSetName": cs, "stackName": stack})
    # CloudFormation works with the execution role.
    exec_role = f"cdk-{q}-cfn-exec-role-{ACCOUNT}-us-east-1"
    cf = Actor(role_session(ACCOUNT, exec_role, "AWSCloudFormation", tt, invoked_by="cloudformation.amazonaws.com"),
               "cloudformation.amazonaws.com", "cloudformation.amazonaws.com")
    c = tt + timedelta(seconds=30)
    fn_role = "orders-stack-ReportFnServiceRole-1QX7Z3K9B4M2"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    d.call(c, cf, "iam.amazonaws.com", "CreateRole",
           {"roleName": fn_role, "assumeRolePolicyDocument": json.dumps(trust), "tags": [{"key": "aws:cloudformation:stack-name", "value": stack}]},
           {"role": {"path": "/", "roleName": fn_role, "roleId": stable_id("AROA", fn_role), "arn": role_arn(ACCOUNT, fn_role),
                     "createDate": aws_date(c), "assumeRolePolicyDocument": json.dumps(trust).replace('"', "%22")}})
    d.call(c + timedelta(seconds=2), cf, "iam.amazonaws.com", "AttachRolePolicy",
           {"roleName": fn_role, "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})
    d.call(c + timedelta(seconds=3), cf, "iam.amazonaws.com", "PutRolePolicy",
           {"roleName": fn_role, "policyName": "ReportFnServiceRoleDefaultPolicy",
            "policyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:GetItem"], "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{EXPORTS}/reports/*"}]})})
    d.call(c + timedelta(seconds=4), cf, "iam.amazonaws.com", "GetRole", {"roleName": fn_role})
    c += timedelta(seconds=15)
    d.call(c, cf, "lambda.amazonaws.com", "CreateFunction20150331",
           {"functionName": "orders-stack-ReportFn-6tH2kQ9vX1bZ", "runtime": "python3.12", "role": role_arn(ACCOUNT, fn_role),
            "handler": "index.handler", "code": {"s3Bucket": assets, "s3Key": f"{hexid(stack + 'fn', 64)}.zip"},
            "timeout": 60, "memorySize": 256, "publish": False, "environment": {}, "architectures": ["arm64"]},
           {"functionName": "orders-stack-ReportFn-6tH2kQ9vX1bZ", "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders-stack-ReportFn-6tH2kQ9vX1bZ",
            "runtime": "python3.12", "role": role_arn(ACCOUNT, fn_role), "state": "Pending", "stateReasonCode": "Creating"})
    d.call(c + timedelta(seconds=6), cf, "lambda.amazonaws.com", "AddPermission20150331v2",
           {"functionName": "orders-stack-ReportFn-6tH2kQ9vX1bZ", "statementId": "orders-stack-ReportFnAllowEventRule",
            "action": "lambda:InvokeFunction", "principal": "events.amazonaws.com",
            "sourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-stack-NightlyReportRule-1K2J3H4G5F6D"},
           {"statement": "{\"Sid\":\"orders-stack-ReportFnAllowEventRule\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"events.amazonaws.com\"}}"})
    d.call(c + timedelta(seconds=12), cf, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
           {"functionName": "orders-webhook", "s3Bucket": assets, "s3Key": f"{hexid(stack + 'hook', 64)}.zip", "publish": False, "dryRun": False},
           {"functionName": "orders-webhook", "lastUpdateStatus": "InProgress", "revisionId": d.trail.uid()})
    d.call(c + timedelta(seconds=18), cf, "lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": "orders-webhook"})
    # The stack's worker instance, with its instance profile (CloudFormation passes the role).
    c += timedelta(seconds=40)
    iid = f"i-0{hexid(stack + ts(c), 16)}"
    d.call(c, cf, "ec2.amazonaws.com", "RunInstances",
           {"instancesSet": {"items": [{"imageId": "ami-0b8f1e2d3c4a59607", "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.small",
            "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False,
            "subnetId": SUBNETS[1], "iamInstanceProfile": {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/orders-stack-WorkerProfile-8Z1X2C3V4B5N"},
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "aws:cloudformation:stack-name", "value": stack}]}]},
            "clientToken": d.trail.uid()},
           {"requestId": d.trail.uid(), "reservationId": f"r-0{hexid(iid, 16)}", "ownerId": ACCOUNT, "instancesSet": {"items": [
               {"instanceId": iid, "instanceType": "t3.small", "instanceState": {"code": 0, "name": "pending"}}]}})
    d.call(c + timedelta(seconds=5), cf, "ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {"items": [{"instanceId": iid}]}, "filterSet": {}})
    d.call(c + timedelta(seconds=60), cf, "ec2.amazonaws.com", "TerminateInstances", {"instancesSet": {"items": [{"instanceId": f"i-0{hexid(stack + 'old', 16)}"}]}})
    for k in range(6):
        d.call(c + timedelta(seconds=70 + 9 * k), a, "cloudformation.amazonaws.com", "DescribeStackEvents", {"stackName": stack})
    d.call(c + timedelta(seconds=130), a, "cloudformation.amazonaws.com", "DescribeStacks", {"stackName": stack})


# ---------------------------------------------------------------- Terraform

def tf_reads():
    """What `terraform plan` refreshes for this estate: (source, name, params) in order."""
    r = [("sts.amazonaws.com", "GetCallerIdentity", None)]
    r += [("ec2.amazonaws.com", "DescribeVpcs", {"vpcSet": {"items": [{"vpcId": VPC}]}, "filterSet": {}})]
    r += [("ec2.amazonaws.com", "DescribeVpcAttribute", {"vpcId": VPC, "attribute": a}) for a in ("enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics")]
    r += [("ec2.amazonaws.com", "DescribeSubnets", {"subnetSet": {"items": [{"subnetId": s}]}, "filterSet": {}}) for s in SUBNETS * 2]
    r += [("ec2.amazonaws.com", "DescribeRouteTables", {"routeTableIdSet": {}, "filterSet": {}}) for _ in range(4)]
    r += [("ec2.amazonaws.com", n, None) for n in ("DescribeInternetGateways", "DescribeNatGateways", "DescribeNatGateways",
                                                   "DescribeAddresses", "DescribeAddresses", "DescribeNetworkAcls", "DescribeFlowLogs",
                                                   "DescribeKeyPairs", "DescribeImages", "DescribePrefixLists")]
    sgs = [f"sg-0{hexid('sg' + str(i), 16)}" for i in range(8)]
    r += [("ec2.amazonaws.com", "DescribeSecurityGroups", {"securityGroupIdSet": {"items": [{"groupId": g}]}, "filterSet": {}}) for g in sgs]
    r += [("ec2.amazonaws.com", "DescribeSecurityGroupRules", {"DescribeSecurityGroupRulesRequest": {"Filter": {"Name": "group-id", "Value": {"content": g}}}}) for g in sgs]
    r += [("ec2.amazonaws.com", "DescribeVpcEndpoints", {"DescribeVpcEndpointsRequest": {}}) for _ in range(3)]
    for i in TF_INSTANCES:
        r += [("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {"items": [{"instanceId": i}]}, "filterSet": {}})]
        r += [("ec2.amazonaws.com", "DescribeInstanceAttribute", {"instanceId": i, "attribute": a})
              for a in ("disableApiTermination", "instanceInitiatedShutdownBehavior", "userData", "disableApiStop")]
        r += [("ec2.amazonaws.com", "DescribeInstanceCreditSpecifications", {"DescribeInstanceCreditSpecificationsRequest": {"InstanceId": {"content": i}}}),
              ("ec2.amazonaws.com", "DescribeVolumes", {"volumeSet": {}, "filterSet": {"items": [{"name": "attachment.instance-id", "valueSet": {"items": [{"value": i}]}}]}}),
              ("ec2.amazonaws.com", "DescribeInstanceTypes", {"DescribeInstanceTypesRequest": {"InstanceType": {"content": "t3.medium"}}})]
    r += [("ec2.amazonaws.com", "DescribeLaunchTemplates", {"DescribeLaunchTemplatesRequest": {"LaunchTemplateId": {"content": "lt-0a1b2c3d4e5f60789"}}}),
          ("ec2.amazonaws.com", "DescribeLaunchTemplateVersions", {"DescribeLaunchTemplateVersionsRequest": {"LaunchTemplateId": "lt-0a1b2c3d4e5f60789"}})]
    r += [("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", {"autoScalingGroupNames": ["web-prod-asg"]}),
          ("autoscaling.amazonaws.com", "DescribeLifecycleHooks", {"autoScalingGroupName": "web-prod-asg"}),
          ("autoscaling.amazonaws.com", "DescribePolicies", {"autoScalingGroupName": "web-prod-asg"})]
    roles = ["web-app-instance-role", "orders-api-task", "billing-worker-task", "export-worker-task", "ecsTaskExecutionRole",
             "deploy", "github-cdk-deploy", "terraform", "DatadogIntegrationRole", "thumbnailer-lambda-role"]
    for role in roles:
        r += [("iam.amazonaws.com", "GetRole", {"roleName": role}), ("iam.amazonaws.com", "ListRolePolicies", {"roleName": role}),
              ("iam.amazonaws.com", "ListAttachedRolePolicies", {"roleName": role})]
    for role in roles[:6]:
        r += [("iam.amazonaws.com", "GetRolePolicy", {"roleName": role, "policyName": f"{role}-inline"})]
    for p in ("app-s3-access", "ci-artifacts", "ssm-read-prod", "datadog-integration", "boundary-developers"):
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{p}"
        r += [("iam.amazonaws.com", "GetPolicy", {"policyArn": arn}), ("iam.amazonaws.com", "GetPolicyVersion", {"policyArn": arn, "versionId": "v4"}),
              ("iam.amazonaws.com", "ListPolicyTags", {"policyArn": arn})]
    r += [("iam.amazonaws.com", "GetInstanceProfile", {"instanceProfileName": n}) for n in ("web-app", "web-fleet", "reporting", "ops-runner")]
    r += [("iam.amazonaws.com", "GetOpenIDConnectProvider", {"openIDConnectProviderArn": OIDC_GITHUB})]
    for b in BUCKETS:
        for n in ("HeadBucket", "GetBucketPolicy", "GetBucketAcl", "GetBucketCors", "GetBucketWebsite", "GetBucketVersioning",
                  "GetBucketAccelerate", "GetBucketRequestPayment", "GetBucketLogging", "GetBucketLifecycle", "GetBucketReplication",
                  "GetBucketEncryption", "GetBucketObjectLockConfiguration", "GetBucketTagging", "GetBucketPublicAccessBlock",
                  "GetBucketOwnershipControls"):
            r += [("s3.amazonaws.com", n, {"bucketName": b, "Host": f"{b}.s3.us-east-1.amazonaws.com"})]
    r += [("s3.amazonaws.com", "GetAccountPublicAccessBlock", {"Host": f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", "x-amz-account-id": ACCOUNT})]
    lb = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web-prod/5d1e0a7b9c3f2e84"
    r += [("elasticloadbalancing.amazonaws.com", n, {"loadBalancerArns": [lb]}) for n in ("DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeTags", "DescribeListeners")]
    r += [("elasticloadbalancing.amazonaws.com", n, None) for n in ("DescribeTargetGroups", "DescribeTargetGroupAttributes", "DescribeRules", "DescribeListenerCertificates")]
    r += [("rds.amazonaws.com", n, {"dBInstanceIdentifier": "orders-prod"}) for n in ("DescribeDBInstances",)]
    r += [("rds.amazonaws.com", n, None) for n in ("DescribeDBSubnetGroups", "DescribeDBParameterGroups", "DescribeDBParameters", "ListTagsForResource")]
    for k in (DATA_KEY, SECRETS_KEY, EBS_KEY):
        r += [("kms.amazonaws.com", n, {"keyId": k}) for n in ("DescribeKey", "GetKeyPolicy", "GetKeyRotationStatus", "ListResourceTags")]
    r += [("kms.amazonaws.com", "ListAliases", None)]
    for f in ("thumbnailer", "orders-webhook", "slack-notifier"):
        r += [("lambda.amazonaws.com", n, {"functionName": f}) for n in ("GetFunction20150331v2", "GetFunctionCodeSigningConfig",
                                                                         "ListVersionsByFunction20150331", "GetPolicy20150331v2")]
    for g in ("/app/web", "/ecs/orders-api", "/ecs/billing-worker", "/ecs/export-worker", "/aws/lambda/thumbnailer"):
        r += [("logs.amazonaws.com", "DescribeLogGroups", {"logGroupNamePrefix": g}), ("logs.amazonaws.com", "ListTagsForResource",
                                                                                       {"resourceArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{g}"})]
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
    r += [("cloudtrail.amazonaws.com", "DescribeTrails", {"trailNameList": [trail]}),
          ("cloudtrail.amazonaws.com", "GetTrailStatus", {"name": trail}),
          ("cloudtrail.amazonaws.com", "GetEventSelectors", {"trailName": trail}),
          ("cloudtrail.amazonaws.com", "GetInsightSelectors", {"trailName": trail}),
          ("cloudtrail.amazonaws.com", "ListTags", {"resourceIdList": [trail]})]
    r += [("guardduty.amazonaws.com", "GetDetector", {"detectorId": "c2b4d6f8a0e1c3b5d7f9a1b3c5d7e9f0"})]
    for tbl in ("orders", "sessions"):
        r += [("dynamodb.amazonaws.com", n, {"tableName": tbl}) for n in ("DescribeTable", "DescribeContinuousBackups", "DescribeTimeToLive")]
    r += [("route53.amazonaws.com", "GetHostedZone", {"id": "Z0123456789ABCDEFGHIJ"})]
    r += [("route53.amazonaws.com", "ListResourceRecordSets", {"hostedZoneId": "Z0123456789ABCDEFGHIJ"}) for _ in range(3)]
    r += [("acm.amazonaws.com", "DescribeCertificate", {"certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"})]
    for p in ("/prod/orders-api/db-url", "/prod/orders-api/db-password", "/prod/billing-worker/api-key", "/prod/web/feature-flags"):
        r += [("ssm.amazonaws.com", "GetParameter", {"name": p, "withDecryption": True})]
    r += [("ssm.amazonaws.com", "DescribeParameters", {"parameterFilters": [{"key": "Name", "option": "Equals"}]})]
    for s, _ in APPS.values():
        r += [("secretsmanager.amazonaws.com", "DescribeSecret", {"secretId": secret_arn(s)}),
              ("secretsmanager.amazonaws.com", "GetResourcePolicy", {"secretId": secret_arn(s)})]
    r += [("ecr.amazonaws.com", n, {"repositoryName": rep}) for rep in ("orders-api", "billing-worker") for n in ("DescribeRepositories", "GetLifecyclePolicy")]
    r += [("ecs.amazonaws.com", "DescribeClusters", {"clusters": ["prod"]})]
    r += [("ecs.amazonaws.com", "DescribeServices", {"cluster": "prod", "services": [s]}) for s in APPS]
    r += [("ecs.amazonaws.com", "DescribeTaskDefinition", {"taskDefinition": s}) for s in APPS]
    return r


def terraform(d, t, actor, ua, writes):
    """`terraform apply`: the provider refreshes every resource in the state (hundreds of reads
    over many APIs, ten at a time, in two or three minutes), then makes the changes."""
    reads = tf_reads()
    span = 150
    for i, (source, name, params) in enumerate(reads):
        d.call(t + timedelta(seconds=int(i * span / len(reads))), actor, source, name, params,
               ua=ua.format(api=TF_API.get(svc_of(source), "ec2#1.163.0")))
    w = t + timedelta(seconds=span + 45)
    for source, name, params, response in writes(d, w):
        d.call(w, actor, source, name, params, response, ua=ua.format(api=TF_API.get(svc_of(source), "ec2#1.163.0")))
        w += timedelta(seconds=d.rng.randint(1, 6))
    config_burst(d, w + timedelta(minutes=2))


def tf_writes_platform(d, t):
    """The platform change of the morning: a public ALB security group for the docs site (443 from
    anywhere), the docs bucket (created, then opened for reading: a website), a policy's new
    version, an instance's termination protection, a Lambda setting, data events for the exports
    bucket on the trail."""
    sg = f"sg-0{hexid('docs-alb', 16)}"
    site = f"docs-site-{ACCOUNT}"
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                      "Resource": [f"arn:aws:s3:::{EXPORTS}/*", f"arn:aws:s3:::{ARTIFACTS}/config/*"]}]}
    return [
        ("ec2.amazonaws.com", "CreateSecurityGroup", {"groupName": "docs-alb", "groupDescription": "docs site load balancer", "vpcId": VPC},
         {"requestId": d.trail.uid(), "_return": True, "groupId": sg}),
        ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
         {"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                                      "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "HTTPS from anywhere"}]}}]}},
         {"requestId": d.trail.uid(), "_return": True, "securityGroupRuleSet": {"items": [
             {"groupOwnerId": ACCOUNT, "groupId": sg, "securityGroupRuleId": f"sgr-0{hexid(sg, 16)}", "isEgress": False,
              "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}}),
        ("ec2.amazonaws.com", "CreateTags", {"resourcesSet": {"items": [{"resourceId": sg}]}, "tagSet": {"items": [{"key": "Name", "value": "docs-alb"}]}},
         {"requestId": d.trail.uid(), "_return": True}),
        ("s3.amazonaws.com", "CreateBucket", {"bucketName": site, "Host": f"{site}.s3.us-east-1.amazonaws.com", "x-amz-object-ownership": "BucketOwnerEnforced"}, None),
        ("s3.amazonaws.com", "PutBucketTagging", {"bucketName": site, "Host": f"{site}.s3.us-east-1.amazonaws.com", "tagging": "",
                                                  "Tagging": {"TagSet": {"Tag": {"Key": "team", "Value": "platform"}}}}, None),
        ("s3.amazonaws.com", "PutPublicAccessBlock", {"bucketName": site, "Host": f"{site}.s3.us-east-1.amazonaws.com", "publicAccessBlock": "",
                                                      "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                                                         "BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                                                         "BlockPublicPolicy": False, "RestrictPublicBuckets": False}}, None),
        ("s3.amazonaws.com", "PutBucketWebsite", {"bucketName": site, "Host": f"{site}.s3.us-east-1.amazonaws.com", "website": "",
                                                  "WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}}}, None),
        ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": site, "Host": f"{site}.s3.us-east-1.amazonaws.com", "policy": "",
                                                 "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                                                     {"Sid": "PublicReadGetObject", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{site}/*"}]}}, None),
        ("iam.amazonaws.com", "CreatePolicyVersion", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/app-s3-access",
                                                      "policyDocument": json.dumps(policy), "setAsDefault": True},
         {"policyVersion": {"versionId": "v5", "isDefaultVersion": True, "createDate": aws_date(t)}}),
        ("iam.amazonaws.com", "DeletePolicyVersion", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/app-s3-access", "versionId": "v1"}, None),
        ("ec2.amazonaws.com", "ModifyInstanceAttribute", {"instanceId": TF_INSTANCES[3], "disableApiTermination": {"value": True}},
         {"requestId": d.trail.uid(), "_return": True}),
        ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
         {"functionName": "slack-notifier", "timeout": 30, "environment": {"variables": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
         {"functionName": "slack-notifier", "lastUpdateStatus": "InProgress", "revisionId": d.trail.uid()}),
        ("cloudtrail.amazonaws.com", "PutEventSelectors",
         {"trailName": trail, "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True, "excludeManagementEventSources": [],
                                                  "dataResources": [{"type": "AWS::S3::Object", "values": [f"arn:aws:s3:::{EXPORTS}/", f"arn:aws:s3:::{ARTIFACTS}/"]}]}]},
         {"trailARN": trail, "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True}]}),
    ]


def tf_writes_baseline(d, t):
    """The afternoon's baseline module apply: the trail and GuardDuty settings re-applied
    (still multi-region, still enabled), the account's public access block (all on), the
    deploy role's trust narrowed to a new repository (a federated principal of this account),
    a read-only reporting role trusting this account."""
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
    trust_gh = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": OIDC_GITHUB},
                                                        "Action": "sts:AssumeRoleWithWebIdentity",
                                                        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                                                                      "StringLike": {"token.actions.githubusercontent.com:sub": [
                                                                          "repo:example-org/orders-service:ref:refs/heads/main",
                                                                          "repo:example-org/web-app:ref:refs/heads/main",
                                                                          "repo:example-org/thumbnailer:ref:refs/heads/main"]}}}]}
    trust_rep = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                         "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    return [
        ("cloudtrail.amazonaws.com", "UpdateTrail", {"name": trail, "isMultiRegionTrail": True, "includeGlobalServiceEvents": True,
                                                     "enableLogFileValidation": True},
         {"name": "management-events", "trailARN": trail, "isMultiRegionTrail": True, "includeGlobalServiceEvents": True,
          "logFileValidationEnabled": True, "s3BucketName": f"cloudtrail-{ACCOUNT}", "isOrganizationTrail": False}),
        ("guardduty.amazonaws.com", "UpdateDetector", {"detectorId": "c2b4d6f8a0e1c3b5d7f9a1b3c5d7e9f0", "enable": True,
                                                       "findingPublishingFrequency": "FIFTEEN_MINUTES"}, None),
        ("s3.amazonaws.com", "PutAccountPublicAccessBlock",
         {"Host": f"{ACCOUNT}.s3-control.us-east-1.amazonaws.com", "x-amz-account-id": ACCOUNT,
          "PublicAccessBlockConfiguration": {"xmlns": "http://awss3control.amazonaws.com/doc/2018-08-20/", "BlockPublicAcls": True,
                                             "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}}, None),
        ("iam.amazonaws.com", "UpdateAssumeRolePolicy", {"roleName": "deploy", "policyDocument": json.dumps(trust_gh)}, None),
        ("iam.amazonaws.com", "CreateRole", {"roleName": "reporting-readonly", "assumeRolePolicyDocument": json.dumps(trust_rep),
                                             "maxSessionDuration": 3600},
         {"role": {"path": "/", "roleName": "reporting-readonly", "roleId": stable_id("AROA", "reporting-readonly"),
                   "arn": role_arn(ACCOUNT, "reporting-readonly"), "createDate": aws_date(t)}}),
        ("iam.amazonaws.com", "AttachRolePolicy", {"roleName": "reporting-readonly", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, None),
        ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "alb-logs-123456789012", "Host": "alb-logs-123456789012.s3.us-east-1.amazonaws.com", "policy": "",
                                                 "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                                                     {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::127311923021:root"}, "Action": "s3:PutObject",
                                                      "Resource": f"arn:aws:s3:::alb-logs-{ACCOUNT}/AWSLogs/{ACCOUNT}/*"},
                                                     {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                      "Resource": [f"arn:aws:s3:::alb-logs-{ACCOUNT}", f"arn:aws:s3:::alb-logs-{ACCOUNT}/*"],
                                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}, None),
        ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "static-assets-123456789012", "Host": "static-assets-123456789012.s3.us-east-1.amazonaws.com", "policy": "",
                                                 "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                                                     {"Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                                                      "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::static-assets-{ACCOUNT}/*",
                                                      "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2QWRUHAPOMQZL"}}},
                                                     {"Sid": "OrgRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::static-assets-{ACCOUNT}/shared/*",
                                                      "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}}]}}, None),
    ]


# ---------------------------------------------------------------- AWS Backup, SSM

def aws_backup(d, t, volumes=5):
    """The nightly backup plan: AWS Backup's role snapshots the volumes, copies two into the
    vault encrypted with the backup key and shares them with the disaster-recovery account,
    then deletes the recovery points past retention."""
    a = Actor(role_session(ACCOUNT, "AWSBackupDefaultServiceRole", "AWSBackup-AWSBackupDefaultServiceRole", t,
                           path="/service-role/", invoked_by="backup.amazonaws.com"), "backup.amazonaws.com", "backup.amazonaws.com")
    snaps = []
    for n in range(volumes):
        vol = f"vol-0{hexid('vol' + str(n), 16)}"
        snap = f"snap-0{hexid(ts(t) + vol, 16)}"
        snaps.append(snap)
        tt = t + timedelta(seconds=30 * n)
        d.call(tt, a, "ec2.amazonaws.com", "CreateSnapshot",
               {"volumeId": vol, "description": "This snapshot is created by the AWS Backup service.",
                "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [{"key": "aws:backup:source-resource", "value": f"{vol}:{d.trail.uid()}"}]}]}},
               {"requestId": d.trail.uid(), "snapshotId": snap, "volumeId": vol, "status": "pending", "startTime": int(tt.timestamp() * 1000),
                "progress": "", "ownerId": ACCOUNT, "volumeSize": 100, "encrypted": True, "kmsKeyId": EBS_KEY})
    for n, snap in enumerate(snaps[:2]):
        tt = t + timedelta(minutes=25, seconds=20 * n)
        copy = f"snap-0{hexid(snap + 'copy', 16)}"
        d.call(tt, a, "ec2.amazonaws.com", "CopySnapshot",
               {"sourceRegion": "us-east-1", "sourceSnapshotId": snap, "description": "This snapshot is created by the AWS Backup service.",
                "encrypted": True, "kmsKeyId": EBS_KEY, "destinationRegion": "us-east-1"},
               {"requestId": d.trail.uid(), "snapshotId": copy})
        d.call(tt + timedelta(minutes=9), a, "ec2.amazonaws.com", "ModifySnapshotAttribute",
               {"snapshotId": copy, "createVolumePermission": {"add": {"items": [{"userId": DR_ACCOUNT}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"},
               {"requestId": d.trail.uid(), "_return": True})
    for n in range(volumes):
        tt = t + timedelta(minutes=40, seconds=12 * n)
        d.call(tt, a, "ec2.amazonaws.com", "DeleteSnapshot", {"snapshotId": f"snap-0{hexid('expired' + ts(t) + str(n), 16)}"},
               {"requestId": d.trail.uid(), "_return": True})


def patching(d, t):
    """The patch maintenance window: Systems Manager's role runs AWS-RunPatchBaseline on the fleet
    by tag (one command each for two patch groups)."""
    a = Actor(role_session(ACCOUNT, "AWSServiceRoleForAmazonSSM", "SSMMaintenanceWindow", t,
                           path="/aws-service-role/ssm.amazonaws.com/", invoked_by="ssm.amazonaws.com"), "ssm.amazonaws.com", "ssm.amazonaws.com")
    for n, group in enumerate(("prod-linux", "prod-batch")):
        tt = t + timedelta(seconds=40 * n)
        cid = d.trail.uid()
        d.call(tt, a, "ssm.amazonaws.com", "SendCommand",
               {"documentName": "AWS-RunPatchBaseline", "targets": [{"key": "tag:Patch Group", "values": [group]}],
                "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "maxConcurrency": "20%", "maxErrors": "10%", "timeoutSeconds": 600,
                "serviceRoleArn": role_arn(ACCOUNT, "ssm-patch-notifications"), "cloudWatchOutputConfig": {"cloudWatchOutputEnabled": True}},
               {"command": {"commandId": cid, "documentName": "AWS-RunPatchBaseline", "documentVersion": "$DEFAULT",
                            "targets": [{"key": "tag:Patch Group", "values": [group]}], "status": "Pending",
                            "targetCount": 8 if n == 0 else 4, "maxConcurrency": "20%", "maxErrors": "10%"}})
        for k in range(3):
            d.call(tt + timedelta(minutes=2 + 3 * k), a, "ssm.amazonaws.com", "ListCommandInvocations", {"commandId": cid, "details": False})


def ssm_session(d, actor, t, minutes=25):
    """An administrator opens a shell on web-1 through Session Manager (no SSH)."""
    iid = WEB1[0]
    sid = f"{actor.arn.rsplit('/', 1)[1].split('@')[0]}-{hexid(ts(t), 17)}"
    d.call(t - timedelta(seconds=20), actor, "ssm.amazonaws.com", "DescribeInstanceInformation",
           {"filters": [{"key": "InstanceIds", "values": [iid]}]})
    d.call(t, actor, "ssm.amazonaws.com", "StartSession", {"target": iid},
           {"sessionId": sid, "tokenValue": "Value hidden due to security reasons.",
            "streamUrl": f"wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe&cell-number=AAEAA"})
    d.call(t + timedelta(minutes=minutes), actor, "ssm.amazonaws.com", "TerminateSession", {"sessionId": sid}, {"sessionId": sid})


def password_data(d, actor, t):
    """The Windows build host's administrator password, read once by an administrator."""
    d.call(t, actor, "ec2.amazonaws.com", "GetPasswordData", {"instanceId": TF_INSTANCES[2]}, None)


# ---------------------------------------------------------------- VPC flow logs

def flows(d, start, end, scanners=250):
    eni_web = WEB1[3]
    fleet_enis = [(f"eni-0{hexid('feni' + str(n), 16)}", f"10.20.{1 + n % 3}.{50 + n}") for n in range(4)]
    db = "10.20.3.50"
    t = start
    while t < end:
        for _ in range(d.rng.randint(1, 3)):
            eni, ip = d.rng.choice(fleet_enis)
            client = f"{d.rng.choice([198, 203, 192])}.{d.rng.choice([51, 0])}.{d.rng.choice([100, 113, 2])}.{d.rng.randint(1, 254)}"
            n = d.rng.randint(8, 60)
            d.flows.add(t + timedelta(seconds=d.rng.randint(0, 59)), eni, client, ip, d.rng.randint(32768, 60999), 443, 6, n,
                        n * d.rng.randint(400, 1400), "ACCEPT")
        eni, ip = d.rng.choice(fleet_enis)
        n = d.rng.randint(4, 40)
        d.flows.add(t + timedelta(seconds=d.rng.randint(0, 59)), eni, ip, db, d.rng.randint(32768, 60999), 5432, 6, n, n * d.rng.randint(100, 900), "ACCEPT")
        # web-1 talks to Systems Manager (the agent's channel) over HTTPS.
        if t.minute % 5 == 0:
            d.flows.add(t + timedelta(seconds=d.rng.randint(0, 59)), eni_web, WEB1[1], "52.46.155.14", d.rng.randint(32768, 60999), 443, 6, 9, 4120, "ACCEPT")
        t += timedelta(minutes=1)
    # web-1 pulls a private repository over SSH from GitHub: outbound to port 22, the reply from port 22.
    for h in (9, 15):
        tt = d.at(h, 12)
        sport = d.rng.randint(40000, 60000)
        d.flows.add(tt, eni_web, WEB1[1], "140.82.112.3", sport, 22, 6, 40, 9100, "ACCEPT")
        d.flows.add(tt, eni_web, "140.82.112.3", WEB1[1], 22, sport, 6, 55, 182000, "ACCEPT")
    # Scanners knock on 22 and 3389; the security groups reject them.
    span = int((end - start).total_seconds())
    for _ in range(scanners):
        eni, ip = d.rng.choice(fleet_enis)
        tt = start + timedelta(seconds=d.rng.randint(0, span - 1))
        d.flows.add(tt, eni, f"192.0.2.{d.rng.randint(100, 140)}", ip, d.rng.randint(32768, 60999), d.rng.choice([22, 3389]), 6, 1, 44, "REJECT")


# ---------------------------------------------------------------- the day

def admin_session(d, person, start, minutes, pages):
    return console_session(d, start, person, minutes, pages)


def benign_day(d):
    v = d.volume
    day_end = d.day + timedelta(days=1)
    datadog(d, d.day + timedelta(minutes=2), day_end, per_10min=(int(40 * v), int(60 * v)))
    config_recorder(d, d.day + timedelta(minutes=7), day_end)
    app_secrets(d, d.day, day_end)
    instance_role(d, d.day, day_end)
    lambda_service(d, d.day, day_end)
    export_worker(d, d.day + timedelta(hours=6), d.day + timedelta(hours=22), per_hour=int(24 * v))
    flows(d, d.day, day_end, scanners=int(250 * v))
    # Night: backups, patching, Security Hub's checks.
    aws_backup(d, d.at(5, 0, 12))
    patching(d, d.at(3, 0, 5))
    securityhub_checks(d, d.at(4, 11), calls=int(150 * v))
    securityhub_checks(d, d.at(16, 11), calls=int(150 * v))
    # The fleet scales out for the day and in for the night; one launch hits a capacity shortage.
    autoscaling(d, d.at(7, 45, 10), 2, capacity_error=True)
    autoscaling(d, d.at(12, 5, 40), 1)
    autoscaling(d, d.at(20, 30, 5), 3, scale_in=True)
    # People.
    alice = admin_session(d, "alice@example.com", d.at(8, 31), 95, ["ec2", "cloudwatch", "iam", "ecs", "cloudformation"])
    bob = admin_session(d, "bob@example.com", d.at(9, 2), 70, ["cloudwatch", "ecs", "lambda", "s3"])
    ssm_session(d, bob, d.at(10, 40))
    password_data(d, bob, d.at(11, 20))
    carol = admin_session(d, "carol@example.com", d.at(9, 47), 60, ["s3", "cloudwatch", "lambda"])
    readonly_denied(d, carol, d.at(10, 18))
    admin_session(d, "dave@example.com", d.at(13, 15), 45, ["cloudwatch", "ecs", "s3"])
    admin_session(d, "alice@example.com", d.at(15, 50), 50, ["cloudformation", "iam", "cloudwatch"])
    admin_session(d, "bob@example.com", d.at(21, 5), 25, ["cloudwatch", "ecs"])
    erin(d, d.at(17, 2), d.at(17, 52))
    # Infrastructure as code.
    tf_ci, ip = github_session(d, d.at(10, 14), "infrastructure", "terraform")
    terraform(d, d.at(10, 15), Actor(tf_ci, ip, UA_TF_CI), UA_TF_CI, tf_writes_platform)
    ecs_tasks(d, d.at(11, 3), "orders-api", 3)
    cdk_deploy(d, d.at(11, 40), "orders-stack")
    terraform(d, d.at(16, 5), Actor(role_session(ACCOUNT, SSO_ADMIN, "alice@example.com", d.at(15, 50), path=SSO_PATH, mfa=True),
                                    PEOPLE["alice@example.com"][1], UA_TF_MAC), UA_TF_MAC, tf_writes_baseline)
    # CI deploys.
    ci_deploy(d, d.at(9, 31), "thumbnailer", "thumbnailer", prune=4)
    ci_deploy(d, d.at(13, 47), "web-app", "orders-webhook", prune=6)
    ci_deploy(d, d.at(18, 22), "thumbnailer", "thumbnailer", prune=3)
    ecs_tasks(d, d.at(14, 20), "billing-worker", 2)


def write_readme_counts(d):
    recs = d.trail.records
    by_cat = {}
    for r in recs:
        by_cat[r["eventCategory"]] = by_cat.get(r["eventCategory"], 0) + 1
    return {"records": len(recs), "by_category": by_cat, "flows": len(d.flows.rows)}


def main():
    out = os.path.normpath(os.path.join(HERE, "..", "events", "scenarios", "benign-day"))
    day = datetime(2024, 6, 3, tzinfo=timezone.utc)
    d = Day(20240603, day)
    benign_day(d)
    d.trail.records = [r for r in d.trail.records if day <= datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) < day + timedelta(days=1)]
    d.flows.rows = [(s, l) for s, l in d.flows.rows if day.timestamp() <= s < (day + timedelta(days=1)).timestamp()]
    past = add_history(d.trail, day)
    files = d.trail.write(out, "benign")
    d.flows.write(out, "benign")
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump({"from": ts(day), "to": ts(day + timedelta(days=1)), "alerts": []}, fh, indent=2)
        fh.write("\n")
    c = write_readme_counts(d)
    print(f"{past} records of history (first-seen baseline), " + f"{c['records']} CloudTrail records {c['by_category']} in {files} files, {c['flows']} flow log rows → {out}")


if __name__ == "__main__":
    main()
