#!/usr/bin/env python3
"""Generate the workshop scenario data set: events/scenarios/workshop/.

One day (2024-05-14, UTC) of one AWS account's raw logs, as AWS delivers them:

- CloudTrail delivery files (`{"Records": [...]}`, gzip, one per hour),
- VPC Flow Log files (default version-2 format with its header line, gzip, one per hour),
- GuardDuty findings in their EventBridge envelope (one JSON file each).

Several thousand benign events fill the day, and in its last twenty minutes the workshop's
scenarios happen (see `expected.json`, written here too, which `make demo` and
`crates/alerts/tests/workshop.rs` check the alerts against). The benign background includes the
near misses each alert must not raise on: Describe volume below the threshold, users working from
one address, buckets made public right after their creation, a `Deny` policy for `Principal: *`,
SSH from inside the VPC and rejected SSH from outside, console sign-ins with MFA, a denied
`StopLogging`.

Deterministic: a fixed seed, fixed gzip headers (no file names, mtime 0), sorted JSON output.
Run `python3 scripts/gen_workshop.py` from the repository root; the output is committed.
"""

import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone

from scenario_lib import ts, write_gz

SEED = 20240514
ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = datetime(2024, 5, 14, tzinfo=timezone.utc)
AT = DAY + timedelta(days=1)  # the data set's time: run the alerts here
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events", "scenarios", "workshop")

rng = random.Random(SEED)


def uid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# ---------------------------------------------------------------- identities


def iam_user(name, key):
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().replace("-", "")[:8].ljust(8, "X") + "EXAMPLE",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "userName": name,
    }


def assumed_role(role, session, key):
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper()[:8].ljust(8, 'X')}EXAMPLE:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role.upper()[:8].ljust(8, 'X')}EXAMPLE",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "attributes": {"creationDate": ts(DAY), "mfaAuthenticated": "false"},
        },
    }


ROOT = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}

USERS = {
    "alice": (iam_user("alice", "AKIAALICEEXAMPLE0001"), "198.51.100.21"),
    "bob": (iam_user("bob", "AKIABOBEXAMPLE000002"), "198.51.100.22"),
    "carol": (iam_user("carol", "AKIACAROLEXAMPLE0003"), "198.51.100.23"),
}
SVC_BACKUP = iam_user("svc-backup", "AKIASVCBACKUPEXAMPL4")
SVC_BACKUP_IP = "198.51.100.10"  # the on-premises backup server
DEPLOY = iam_user("deploy-bot", "AKIADEPLOYBOTEXAMPL5")
DEPLOY_IP = "203.0.113.10"  # the CI runners' NAT
DAVE = iam_user("dave-contractor", "AKIADAVEEXAMPLE00006")
DAVE_IP = "192.0.2.44"
MONITOR = assumed_role("monitoring", "collector", "ASIAMONITOREXAMPLE07")
MONITOR_IP = "203.0.113.200"
WEB_ROLE = assumed_role("web-tier", "i-0a1b2c3d4e5f60718", "ASIAWEBTIEREXAMPLE08")
WEB_IP = "54.210.33.18"

ATTACKER_IP = "203.0.113.66"  # uses svc-backup's leaked access key
SSH_ATTACKER_IP = "198.51.100.200"
PROBER_IP = "192.0.2.150"

UA_CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off command/"
UA_CONSOLE = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15"
UA_SDK = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.0 lang/python#3.11.8 Botocore/1.34.84"

records = []  # CloudTrail records


def ct(t, identity, ip, source, name, params=None, response=None, *, event_type="AwsApiCall",
       ua=UA_CLI, error=None, additional=None, read_only=None):
    r = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": ts(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": params,
        "responseElements": response,
        "requestID": uid(),
        "eventID": uid(),
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if read_only is not None:
        r["readOnly"] = read_only
    if additional is not None:
        r["additionalEventData"] = additional
    if error:
        r["errorCode"] = error
        r["errorMessage"] = f"User: {identity.get('arn')} is not authorized to perform: {source.split('.')[0]}:{name}"
    records.append(r)
    return r


DESCRIBES = [
    "DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets", "DescribeVolumes",
    "DescribeSnapshots", "DescribeImages", "DescribeKeyPairs", "DescribeAddresses", "DescribeRouteTables",
    "DescribeNetworkInterfaces", "DescribeInternetGateways", "DescribeNatGateways", "DescribeRegions",
    "DescribeAvailabilityZones", "DescribeLaunchTemplates", "DescribeInstanceTypes", "DescribeTags",
    "DescribeVpcEndpoints", "DescribeNetworkAcls", "DescribeFlowLogs", "DescribeIamInstanceProfileAssociations",
    "DescribeAccountAttributes", "DescribeSpotInstanceRequests", "DescribeReservedInstances",
]

# Routine calls people make: (service, name, params builder)
ROUTINE = [
    ("ec2.amazonaws.com", "DescribeInstances", lambda: {"instancesSet": {}, "filterSet": {}}),
    ("s3.amazonaws.com", "ListBuckets", lambda: {"Host": "s3.amazonaws.com"}),
    ("s3.amazonaws.com", "GetBucketLocation", lambda: {"bucketName": "app-artifacts-123456789012", "location": [""]}),
    ("lambda.amazonaws.com", "ListFunctions20150331", lambda: None),
    ("logs.amazonaws.com", "DescribeLogGroups", lambda: {"limit": 50}),
    ("cloudformation.amazonaws.com", "DescribeStacks", lambda: None),
    ("iam.amazonaws.com", "GetUser", lambda: None),
    ("sts.amazonaws.com", "GetCallerIdentity", lambda: None),
    ("ssm.amazonaws.com", "GetParameter", lambda: {"name": "/app/prod/feature-flags", "withDecryption": False}),
    ("dynamodb.amazonaws.com", "DescribeTable", lambda: {"tableName": "orders"}),
    ("ec2.amazonaws.com", "CreateTags", lambda: {"resourcesSet": {"items": [{"resourceId": "i-0b2c3d4e5f6071829"}]},
                                                 "tagSet": {"items": [{"key": "owner", "value": "team-web"}]}}),
]


def console_login(t, identity, ip, mfa):
    ct(t, identity, ip, "signin.amazonaws.com", "ConsoleLogin", None, {"ConsoleLogin": "Success"},
       event_type="AwsConsoleSignIn", ua=UA_CONSOLE,
       additional={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                   "MobileVersion": "No", "MFAUsed": "Yes" if mfa else "No"})


def bucket_host(b):
    return f"{b}.s3.{REGION}.amazonaws.com"


def create_bucket(t, identity, ip, b):
    ct(t, identity, ip, "s3.amazonaws.com", "CreateBucket",
       {"bucketName": b, "Host": bucket_host(b), "x-amz-object-ownership": "BucketOwnerEnforced"}, None)


def put_policy(t, identity, ip, b, statements):
    policy = {"Version": "2012-10-17", "Statement": statements}
    ct(t, identity, ip, "s3.amazonaws.com", "PutBucketPolicy",
       {"bucketName": b, "Host": bucket_host(b), "bucketPolicy": policy, "policy": [""]}, None)


def put_pab(t, identity, ip, b, on):
    ct(t, identity, ip, "s3.amazonaws.com", "PutPublicAccessBlock",
       {"bucketName": b, "Host": bucket_host(b), "publicAccessBlock": [""],
        "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                           "BlockPublicAcls": on, "IgnorePublicAcls": on,
                                           "BlockPublicPolicy": on, "RestrictPublicBuckets": on}}, None)


def website_deploy(t, name):
    """CI creates a website bucket and opens it for reading, within minutes: not a leak."""
    create_bucket(t, DEPLOY, DEPLOY_IP, name)
    put_pab(t + timedelta(seconds=40), DEPLOY, DEPLOY_IP, name, False)
    put_policy(t + timedelta(minutes=2), DEPLOY, DEPLOY_IP, name, [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*"}])


def acl_grants(b, public):
    grants = [{"Grantee": {"xsi:type": "CanonicalUser", "ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
               "Permission": "FULL_CONTROL"}]
    if public:
        grants.append({"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                       "Permission": "READ"})
    else:
        grants.append({"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                       "Permission": "WRITE"})
    return {"bucketName": b, "Host": bucket_host(b), "acl": [""],
            "AccessControlPolicy": {"AccessControlList": {"Grant": grants},
                                    "Owner": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
                                    "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}


# ---------------------------------------------------------------- benign CloudTrail, all day

# The monitoring collector polls EC2 every 30 s: 40 Describe calls per 20 minutes, under 50.
t = DAY + timedelta(seconds=7)
while t < AT:
    ct(t, MONITOR, MONITOR_IP, "ec2.amazonaws.com", rng.choice(DESCRIBES[:6]), {"filterSet": {}}, None, ua=UA_SDK)
    t += timedelta(seconds=30)

# AWS services working on the account's behalf (no source address, no user).
t = DAY + timedelta(seconds=13)
while t < AT:
    svc = rng.choice(["ec2.amazonaws.com", "lambda.amazonaws.com", "autoscaling.amazonaws.com"])
    ct(t, {"type": "AWSService", "invokedBy": svc}, svc, "sts.amazonaws.com", "AssumeRole",
       {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/web-tier", "roleSessionName": uid()[:12]}, None, ua=svc)
    t += timedelta(seconds=rng.randint(60, 120))

# The web tier's instance role reads its configuration.
t = DAY + timedelta(seconds=29)
while t < AT:
    ct(t, WEB_ROLE, WEB_IP, "ssm.amazonaws.com", "GetParameter",
       {"name": "/app/prod/db-url", "withDecryption": True}, None, ua=UA_SDK)
    t += timedelta(minutes=5)

# svc-backup: the on-premises backup job, every 10 minutes, always from one address.
t = DAY + timedelta(minutes=0, seconds=41)
while t < AT:
    ct(t, SVC_BACKUP, SVC_BACKUP_IP, "s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}, None, ua=UA_SDK)
    ct(t + timedelta(seconds=2), SVC_BACKUP, SVC_BACKUP_IP, "s3.amazonaws.com", "GetBucketLocation",
       {"bucketName": "backups-123456789012", "location": [""]}, None, ua=UA_SDK)
    t += timedelta(minutes=10)

# People, in office hours and in the evening, each from one address; they sign in with MFA.
for name, (ident, ip) in USERS.items():
    for start, end in ((8, 18), (21, 24)):
        begin = DAY + timedelta(hours=start, minutes=rng.randint(0, 20))
        console_login(begin, ident, ip, mfa=True)
        t = begin + timedelta(minutes=1)
        while t < DAY + timedelta(hours=end) - timedelta(minutes=1):
            svc, call, params = rng.choice(ROUTINE)
            ct(t, ident, ip, svc, call, params(), None, ua=rng.choice([UA_CLI, UA_CONSOLE]))
            t += timedelta(seconds=rng.randint(90, 300))

# Website deploys by CI: bucket created, then opened (not a leak: created in the same window).
website_deploy(DAY + timedelta(hours=10, minutes=2), "marketing-site-20240514a")
website_deploy(DAY + timedelta(hours=15, minutes=31), "marketing-site-20240514b")

# Log buckets: an ACL for the log-delivery group (not public).
ct(DAY + timedelta(hours=11, minutes=5), USERS["alice"][0], USERS["alice"][1], "s3.amazonaws.com", "PutBucketAcl",
   acl_grants("access-logs-123456789012", public=False), None)

# ---------------------------------------------------------------- the last hour: near misses

# bob inventories the fleet before a migration: 40 Describe calls in 15 minutes (under 50).
t = DAY + timedelta(hours=23, minutes=28)
for i in range(40):
    ct(t, USERS["bob"][0], USERS["bob"][1], "ec2.amazonaws.com", DESCRIBES[i % len(DESCRIBES)], {"filterSet": {}}, None)
    t += timedelta(seconds=22)

# bob creates a bucket and leaves it private.
create_bucket(DAY + timedelta(hours=23, minutes=36), USERS["bob"][0], USERS["bob"][1], "migration-staging-123456789012")
put_pab(DAY + timedelta(hours=23, minutes=36, seconds=20), USERS["bob"][0], USERS["bob"][1],
        "migration-staging-123456789012", True)

# alice tunes the trail: still multi-region, management events still in.
ct(DAY + timedelta(hours=23, minutes=38), USERS["alice"][0], USERS["alice"][1], "cloudtrail.amazonaws.com", "UpdateTrail",
   {"name": "org-trail", "isMultiRegionTrail": True, "includeGlobalServiceEvents": True}, None)
ct(DAY + timedelta(hours=23, minutes=39), USERS["alice"][0], USERS["alice"][1], "cloudtrail.amazonaws.com",
   "PutEventSelectors",
   {"trailName": "org-trail", "eventSelectors": [
       {"readWriteType": "All", "includeManagementEvents": True,
        "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3:::finance-reports-2024/"]}]}]}, None)

# CI deploys a website again, inside the alert's window: created and opened within minutes.
website_deploy(DAY + timedelta(hours=23, minutes=42), "marketing-site-20240514c")

# alice enforces TLS on the log archive: Principal * but Deny.
put_policy(DAY + timedelta(hours=23, minutes=47), USERS["alice"][0], USERS["alice"][1], "logs-archive-123456789012", [
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::logs-archive-123456789012", "arn:aws:s3:::logs-archive-123456789012/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])

# ---------------------------------------------------------------- the scenarios

# 1 + 2. svc-backup's access key leaked: used from a second address, which maps the account
# (120 Describe calls over 25 APIs in 12 minutes), creates a back-door user and tries to stop the
# trail (denied).
t = DAY + timedelta(hours=23, minutes=40, seconds=5)
for i in range(120):
    ct(t, SVC_BACKUP, ATTACKER_IP, "ec2.amazonaws.com", DESCRIBES[i % len(DESCRIBES)], {"filterSet": {}}, None,
       ua="aws-cli/1.18.69 Python/2.7.18 Linux/4.19.0-kali command/")
    t += timedelta(seconds=6)
ct(DAY + timedelta(hours=23, minutes=53), SVC_BACKUP, ATTACKER_IP, "iam.amazonaws.com", "CreateUser",
   {"userName": "backup-admin"},
   {"user": {"path": "/", "userName": "backup-admin", "userId": "AIDABACKUPADMINEXAMPL",
             "arn": f"arn:aws:iam::{ACCOUNT}:user/backup-admin", "createDate": "May 14, 2024 11:53:00 PM"}})
ct(DAY + timedelta(hours=23, minutes=54), SVC_BACKUP, ATTACKER_IP, "cloudtrail.amazonaws.com", "StopLogging",
   {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail"}, None, error="AccessDenied")

# 3. carol makes an existing bucket public with an ACL granting AllUsers READ.
ct(DAY + timedelta(hours=23, minutes=45), USERS["carol"][0], USERS["carol"][1], "s3.amazonaws.com", "PutBucketAcl",
   acl_grants("finance-reports-2024", public=True), None, ua=UA_CONSOLE)

# Extra: a contractor signs in to the console without MFA; the root user signs in (with MFA).
console_login(DAY + timedelta(hours=23, minutes=46), DAVE, DAVE_IP, mfa=False)
console_login(DAY + timedelta(hours=23, minutes=48), ROOT, "198.51.100.5", mfa=True)

# Opening SSH to the world on the web tier (what made scenario 4 possible).
ct(DAY + timedelta(hours=23, minutes=41), USERS["carol"][0], USERS["carol"][1], "ec2.amazonaws.com",
   "AuthorizeSecurityGroupIngress",
   {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [
       {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
   {"_return": True}, ua=UA_CONSOLE)

# ---------------------------------------------------------------- VPC flow logs

flows = []  # (start epoch, line fields)
ENI = {"i-0a1b2c3d4e5f60718": ("eni-0f1e2d3c4b5a69788", "10.0.1.25"),
       "i-0b2c3d4e5f6071829": ("eni-0a2b3c4d5e6f70819", "10.0.1.26"),
       "i-0c3d4e5f607182930": ("eni-0b3c4d5e6f708192a", "10.0.2.40")}
BASTION = "10.0.0.10"
DB = "10.0.3.50"


def flow(t, eni, src, dst, sport, dport, proto, packets, nbytes, action):
    start = int(t.timestamp())
    flows.append((start, f"2 {ACCOUNT} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} "
                         f"{start} {start + 60} {action} OK"))


web = list(ENI.items())
t = DAY
while t < AT:
    # Users reach the web tier over HTTPS, from all over the internet.
    for _ in range(rng.randint(1, 3)):
        inst, (eni, ip) = rng.choice(web[:2])
        client = f"{rng.choice([198, 203, 192])}.{rng.choice([51, 0])}.{rng.choice([100, 113, 2])}.{rng.randint(1, 254)}"
        n = rng.randint(8, 60)
        flow(t + timedelta(seconds=rng.randint(0, 59)), eni, client, ip, rng.randint(32768, 60999), 443, 6, n,
             n * rng.randint(400, 1400), "ACCEPT")
    # Web tier → database, inside the VPC.
    inst, (eni, ip) = rng.choice(web)
    n = rng.randint(4, 40)
    flow(t + timedelta(seconds=rng.randint(0, 59)), eni, ip, DB, rng.randint(32768, 60999), 5432, 6, n,
         n * rng.randint(100, 900), "ACCEPT")
    t += timedelta(minutes=1)

# Admins SSH in from the bastion (inside: never raised, however many bytes).
for h in (9, 11, 14, 16, 23):
    inst, (eni, ip) = rng.choice(web)
    flow(DAY + timedelta(hours=h, minutes=rng.randint(0, 50)), eni, BASTION, ip, rng.randint(32768, 60999), 22, 6,
         420, 96_000, "ACCEPT")
# Internet scanners knock on 22 and 3389 all day; the security group rejects them.
for _ in range(300):
    inst, (eni, ip) = rng.choice(web)
    tt = DAY + timedelta(seconds=rng.randint(0, 24 * 3600 - 1))
    scanner = f"192.0.2.{rng.randint(100, 140)}"
    if DAY + timedelta(hours=23, minutes=30) <= tt:
        continue  # from 23:30 port 22 is open to the world: the scanners happen to be elsewhere
    flow(tt, eni, scanner, ip, rng.randint(32768, 60999), rng.choice([22, 3389]), 6, 1, 44, "REJECT")

# 4. SSH from outside after the security group was opened: six short failed attempts, then one
# session that moves 48 kB.
eni, ip = ENI["i-0a1b2c3d4e5f60718"]
t = DAY + timedelta(hours=23, minutes=49)
for i in range(6):
    flow(t, eni, SSH_ATTACKER_IP, ip, 40000 + i, 22, 6, 12, rng.randint(1800, 3400), "ACCEPT")
    t += timedelta(seconds=25)
flow(DAY + timedelta(hours=23, minutes=52), eni, SSH_ATTACKER_IP, ip, 40100, 22, 6, 310, 48_220, "ACCEPT")

# ---------------------------------------------------------------- GuardDuty findings


def finding(t, ftype, severity, title, instance, action, fid):
    eni, ip = ENI[instance]
    detail = {
        "schemaVersion": "2.0", "accountId": ACCOUNT, "region": REGION, "partition": "aws", "id": fid,
        "arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/f2b4c6d8e0a1b3c5d7e9f1a2b3c4d5e6/finding/{fid}",
        "type": ftype,
        "resource": {"resourceType": "Instance", "instanceDetails": {
            "instanceId": instance, "instanceType": "t3.medium", "availabilityZone": f"{REGION}a",
            "imageId": "ami-0c02fb55956c7d316", "instanceState": "running",
            "networkInterfaces": [{"networkInterfaceId": eni, "privateIpAddress": ip, "subnetId": "subnet-0aa11bb22cc33dd44",
                                   "vpcId": "vpc-0abc1234def567890", "publicIp": WEB_IP,
                                   "securityGroups": [{"groupId": "sg-0123456789abcdef0", "groupName": "web-tier"}]}],
            "tags": [{"key": "Name", "value": "web-tier"}]}},
        "service": {"serviceName": "guardduty", "detectorId": "f2b4c6d8e0a1b3c5d7e9f1a2b3c4d5e6", "action": action,
                    "resourceRole": "TARGET", "eventFirstSeen": ts(t - timedelta(minutes=15)),
                    "eventLastSeen": ts(t - timedelta(minutes=1)), "archived": False, "count": 3},
        "severity": severity, "createdAt": ts(t), "updatedAt": ts(t), "title": title,
        "description": title + ".",
    }
    return {"version": "0", "id": uid(), "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": ACCOUNT, "time": ts(t), "region": REGION,
            "resources": [], "detail": detail}


findings = {}
# Extra: one scanner probes SSH on three instances (GuardDuty port-probe findings, low severity).
for n, inst in enumerate(ENI):
    t = DAY + timedelta(hours=23, minutes=20 + 6 * n)
    findings[f"port-probe-{n + 1}.json"] = finding(
        t, "Recon:EC2/PortProbeUnprotectedPort", 2,
        f"Unprotected port on EC2 instance {inst} is being probed.", inst,
        {"actionType": "PORT_PROBE", "portProbeAction": {"blocked": False, "portProbeDetails": [
            {"localPortDetails": {"port": 22, "portName": "SSH"},
             "remoteIpDetails": {"ipAddressV4": PROBER_IP, "organization": {"asn": "64500", "asnOrg": "Example Hosting",
                                                                             "isp": "Example Hosting", "org": "Example Hosting"},
                                 "country": {"countryName": "Netherlands"}, "city": {"cityName": "Amsterdam"}}}]}},
        uid().replace("-", ""))

# 5. The web instance mines bitcoin (it was taken over through SSH): severity 8, contained.
findings["crypto-bitcointool.json"] = finding(
    DAY + timedelta(hours=23, minutes=56), "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8,
    "EC2 instance i-0a1b2c3d4e5f60718 is querying a domain name that is associated with Bitcoin-related activity.",
    "i-0a1b2c3d4e5f60718",
    {"actionType": "DNS_REQUEST", "dnsRequestAction": {"domain": "pool.minexmr.com", "protocol": "UDP", "blocked": False}},
    uid().replace("-", ""))

# ---------------------------------------------------------------- what the alerts must say

EXPECTED = {
    "at": ts(AT),
    "alerts": [
        {"scenario": "Describe reconnaissance with svc-backup's leaked key", "alert": "describe_recon",
         "summary_contains": f"arn:aws:iam::{ACCOUNT}:user/svc-backup", "severity": "WARNING"},
        {"scenario": "Leaked credentials used from two IPs", "alert": "iam_user_multiple_ips",
         "summary_contains": "svc-backup", "severity": "WARNING"},
        {"scenario": "Back-door IAM user created with the leaked key", "alert": "iam_create_user",
         "summary_contains": "backup-admin", "severity": "NOTICE"},
        {"scenario": "The leaked key tries to stop CloudTrail (denied)", "alert": "logging_change_denied",
         "summary_contains": "StopLogging by arn:aws:iam::123456789012:user/svc-backup", "severity": "WARNING"},
        {"scenario": "Bucket made public (AllUsers ACL)", "alert": "s3_bucket_public",
         "summary_contains": "finance-reports-2024", "severity": "CRITICAL"},
        {"scenario": "SSH opened to the world on the web tier", "alert": "security_group_open_to_world",
         "summary_contains": "user/carol", "severity": "WARNING"},
        {"scenario": "SSH from outside with one successful session", "alert": "ssh_from_outside",
         "summary_contains": SSH_ATTACKER_IP, "severity": "CRITICAL"},
        {"scenario": "GuardDuty CryptoCurrency:EC2/BitcoinTool.B!DNS", "alert": "guardduty_finding",
         "summary_contains": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": "CRITICAL"},
        {"scenario": "GuardDuty port probes from one scanner", "alert": "guardduty_port_probe",
         "summary_contains": PROBER_IP, "severity": "NOTICE"},
        {"scenario": "Console sign-in without MFA", "alert": "console_login_without_mfa",
         "summary_contains": "dave-contractor", "severity": "WARNING"},
        {"scenario": "Root user sign-in", "alert": "root_account_usage",
         "summary_contains": "ConsoleLogin", "severity": "WARNING"},
    ],
    # Two hours after the data ends, CloudTrail has been silent for an hour.
    "silence": {"at": ts(AT + timedelta(hours=2)), "alert": "cloudtrail_deadman"},
}

# ---------------------------------------------------------------- write


def main():
    for sub in ("cloudtrail", "vpcflow", "guardduty"):
        d = os.path.join(OUT, sub)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    records.sort(key=lambda r: (r["eventTime"], r["eventID"]))
    by_hour = {}
    for r in records:
        by_hour.setdefault(r["eventTime"][:13], []).append(r)
    for hour, recs in sorted(by_hour.items()):
        stamp = hour.replace("-", "").replace("T", "T") + "00Z"
        name = f"{ACCOUNT}_CloudTrail_{REGION}_{stamp}_workshop.json.gz"
        write_gz(os.path.join(OUT, "cloudtrail", name), json.dumps({"Records": recs}, separators=(",", ":")).encode())
    flows.sort()
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    by_hour = {}
    for start, line in flows:
        hour = datetime.fromtimestamp(start, timezone.utc).strftime("%Y%m%dT%H00Z")
        by_hour.setdefault(hour, []).append(line)
    for hour, lines in sorted(by_hour.items()):
        name = f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0a1b2c3d4e5f6a7b8_{hour}_workshop.log.gz"
        write_gz(os.path.join(OUT, "vpcflow", name), ("\n".join([header] + lines) + "\n").encode())
    for name, f in sorted(findings.items()):
        with open(os.path.join(OUT, "guardduty", name), "w") as fh:
            json.dump(f, fh, indent=2)
            fh.write("\n")
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(EXPECTED, fh, indent=2)
        fh.write("\n")
    print(f"{len(records)} CloudTrail records, {len(flows)} flow log rows, {len(findings)} GuardDuty findings "
          f"→ {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
