"""Helpers shared by the scenario generators (scripts/gen_*.py): deterministic ids, CloudTrail
record shapes (identities, TLS details, error messages), and writing the files as AWS delivers
them (gzip with a fixed header: no file name, mtime 0).

Everything here is stdlib only and seeded: the same seed gives the same bytes.
"""

import base64
import gzip
import hashlib
import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone


def ts(t):
    """CloudTrail's timestamp format (seconds, `Z`)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_gz(path, data):
    """Gzip `data` to `path` with a reproducible header (no file name, mtime 0)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)


def stable_id(prefix, seed, length=17):
    """An AWS-looking identifier (`AROA…`, `AIDA…`, `AKIA…`) derived from a name, not from the
    random stream: the same principal has the same id in every data set."""
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + base64.b32encode(digest).decode().replace("=", "")[:length]


def hexid(seed, n):
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def clear_dir(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))


# ---------------------------------------------------------------- identities


class Actor:
    """Who makes a call: the CloudTrail `userIdentity`, and where from (address, user agent)."""

    def __init__(self, identity, ip, ua, *, console=False, tls=True):
        self.identity = identity
        self.ip = ip
        self.ua = ua
        self.console = console  # sessionCredentialFromConsole
        self.tls = tls

    @property
    def arn(self):
        return self.identity.get("arn")


def iam_user(account, name, key, *, mfa=None, created=None):
    """An IAM user; with `created` the call is made with console session credentials."""
    ident = {
        "type": "IAMUser",
        "principalId": stable_id("AIDA", f"user/{account}/{name}"),
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": key,
        "userName": name,
    }
    if created is not None:
        ident["sessionContext"] = {"attributes": {"creationDate": ts(created),
                                                  "mfaAuthenticated": "true" if mfa else "false"}}
    return ident


def role_arn(account, role, path="/"):
    return f"arn:aws:iam::{account}:role{path}{role}"


def role_session(account, role, session, created, *, path="/", key=None, mfa=False, invoked_by=None,
                 web_id=None, ec2_delivery=False, source_identity=None):
    """An assumed-role session (`AssumedRole`), its issuer the role."""
    rid = stable_id("AROA", f"role/{account}/{role}")
    ident = {
        "type": "AssumedRole",
        "principalId": f"{rid}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key or stable_id("ASIA", f"{role}/{session}/{ts(created)}", 16),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": rid, "arn": role_arn(account, role, path),
                              "accountId": account, "userName": role},
            "attributes": {"creationDate": ts(created), "mfaAuthenticated": "true" if mfa else "false"},
        },
    }
    if web_id is not None:
        ident["sessionContext"]["webIdFederationData"] = {"federatedProvider": web_id, "attributes": {}}
    if ec2_delivery:
        ident["sessionContext"]["ec2RoleDelivery"] = "2.0"
    if source_identity:
        ident["sessionContext"]["sourceIdentity"] = source_identity
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return ident


def aws_service(service):
    return {"type": "AWSService", "invokedBy": service}


# ---------------------------------------------------------------- errors

JSON_PROTOCOL = {"secretsmanager", "ssm", "kms", "lambda", "logs", "dynamodb", "ecs", "sso", "organizations",
                 "ce", "account", "guardduty", "securityhub", "backup", "support", "sso-admin", "identitystore",
                 "cloudtrail", "config", "codebuild", "ecr", "states", "events", "athena", "glue"}


def denied(source, action, arn, resource=None, *, explicit=False):
    """(errorCode, errorMessage) of a call refused by IAM, worded as the service words it."""
    svc = source.split(".")[0]
    why = ("with an explicit deny in a service control policy" if explicit
           else f"because no identity-based policy allows the {svc}:{action} action")
    on = f" on resource: {resource}" if resource else ""
    if svc == "ec2":
        return ("Client.UnauthorizedOperation",
                f"You are not authorized to perform this operation. User: {arn} is not authorized to perform: "
                f"{svc}:{action}{on} {why}")
    if svc == "s3":
        return ("AccessDenied", "Access Denied")
    if svc in JSON_PROTOCOL:
        return ("AccessDeniedException", f"User: {arn} is not authorized to perform: {svc}:{action}{on} {why}")
    return ("AccessDenied", f"User: {arn} is not authorized to perform: {svc}:{action}{on} {why}")


# ---------------------------------------------------------------- the trail

READ_VERBS = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Scan", "Query", "BatchGet")

GLOBAL_HOSTS = {"iam.amazonaws.com": "iam.amazonaws.com", "sts.amazonaws.com": "sts.amazonaws.com",
                "cloudfront.amazonaws.com": "cloudfront.amazonaws.com", "route53.amazonaws.com": "route53.amazonaws.com",
                "signin.amazonaws.com": "signin.aws.amazon.com", "organizations.amazonaws.com": "organizations.us-east-1.amazonaws.com"}
HOST_PREFIX = {"monitoring.amazonaws.com": "monitoring", "elasticloadbalancing.amazonaws.com": "elasticloadbalancing",
               "tagging.amazonaws.com": "tagging"}


class Trail:
    """The records of one account's trail, seeded."""

    def __init__(self, seed, account, region="us-east-1"):
        self.rng = random.Random(seed)
        self.account = account
        self.region = region
        self.records = []

    def uid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def host(self, source, params):
        if source == "s3.amazonaws.com":
            h = (params or {}).get("Host")
            return h or f"s3.{self.region}.amazonaws.com"
        if source in GLOBAL_HOSTS:
            return GLOBAL_HOSTS[source]
        prefix = HOST_PREFIX.get(source, source.split(".")[0])
        return f"{prefix}.{self.region}.amazonaws.com"

    def call(self, t, who, source, name, params=None, response=None, *, ip=None, ua=None, error=None,
             event_type="AwsApiCall", read_only=None, additional=None, resources=None, category="Management",
             version="1.09", shared_event_id=None, vpce=None, region=None, tls=None):
        ident = who.identity
        invoked = ident.get("invokedBy")
        r = {
            "eventVersion": version,
            "userIdentity": ident,
            "eventTime": ts(t),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region or self.region,
            "sourceIPAddress": ip or who.ip,
            "userAgent": ua or who.ua,
            "requestParameters": params,
            "responseElements": response,
            "requestID": self.uid(),
            "eventID": self.uid(),
            "readOnly": read_only if read_only is not None else name.startswith(READ_VERBS),
            "eventType": event_type,
            "managementEvent": category == "Management",
            "recipientAccountId": self.account,
            "eventCategory": category,
        }
        if error:
            r["errorCode"], r["errorMessage"] = error
        if additional is not None:
            r["additionalEventData"] = additional
        if resources is not None:
            r["resources"] = resources
        if shared_event_id:
            r["sharedEventID"] = shared_event_id
        if vpce:
            r["vpcEndpointId"] = vpce
            r["vpcEndpointAccountId"] = self.account
        use_tls = who.tls and not invoked if tls is None else tls
        if use_tls:
            r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                               "clientProvidedHostHeader": self.host(source, params)}
        if who.console:
            r["sessionCredentialFromConsole"] = "true"
        self.records.append(r)
        return r

    def write(self, outdir, tag):
        """One delivery file per hour (and region), `{"Records": [...]}`, keys sorted."""
        d = os.path.join(outdir, "cloudtrail")
        clear_dir(d)
        self.records.sort(key=lambda r: (r["eventTime"], r["eventID"]))
        by_file = {}
        for r in self.records:
            by_file.setdefault((r["awsRegion"], r["eventTime"][:13]), []).append(r)
        for (region, hour), recs in sorted(by_file.items()):
            stamp = hour.replace("-", "") + "00Z"
            name = f"{self.account}_CloudTrail_{region}_{stamp}_{tag}.json.gz"
            body = json.dumps({"Records": recs}, separators=(",", ":"), sort_keys=True)
            write_gz(os.path.join(d, name), body.encode())
        return len(by_file)


# What first-seen alerts (Plan::NewTerms, 30-day look-back) judge: their history must be in the
# store, or nothing is judged new.
FIRST_SEEN_KINDS = {
    ("bedrock.amazonaws.com", n) for n in ("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream")
} | {("ssm.amazonaws.com", "StartSession"), ("ssm.amazonaws.com", "SendCommand")}


def add_history(trail, day, keep=lambda r: True):
    """The account's past as first-seen alerts need it: every call of the day that such an alert
    judges (Bedrock invocations, SSM sessions and commands, Lambda code updates) also happened a
    week earlier, by the same principals, and the trail reaches back 35 days (one call then), so
    the 30-day look-back is complete. `keep` chooses which of the day's calls have a past."""
    def when(r):
        return datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    day_records = [r for r in trail.records if day <= when(r) < day + timedelta(days=1)]
    past = []
    for r in day_records:
        kind = (r["eventSource"], r["eventName"])
        if not keep(r) or not (kind in FIRST_SEEN_KINDS or r["eventName"].startswith("UpdateFunctionCode")):
            continue
        old = json.loads(json.dumps(r))
        old["eventTime"] = ts(when(r) - timedelta(days=7))
        old["eventID"], old["requestID"] = trail.uid(), trail.uid()
        past.append(old)
    if day_records:
        first = json.loads(json.dumps(min(day_records, key=lambda r: r["eventTime"])))
        first["eventTime"] = ts(when(first) - timedelta(days=35))
        first["eventID"], first["requestID"] = trail.uid(), trail.uid()
        past.append(first)
    trail.records.extend(past)
    return len(past)


class FlowLog:
    """VPC Flow Log rows (default version-2 format), one gzip file per hour."""

    HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
              "start end action log-status")

    def __init__(self, account, region, flow_log_id):
        self.account, self.region, self.id = account, region, flow_log_id
        self.rows = []

    def add(self, t, eni, src, dst, sport, dport, proto, packets, nbytes, action):
        start = int(t.timestamp())
        self.rows.append((start, f"2 {self.account} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} "
                                 f"{start} {start + 60} {action} OK"))

    def write(self, outdir, tag):
        d = os.path.join(outdir, "vpcflow")
        clear_dir(d)
        self.rows.sort()
        by_hour = {}
        for start, line in self.rows:
            hour = datetime.fromtimestamp(start, timezone.utc).strftime("%Y%m%dT%H00Z")
            by_hour.setdefault(hour, []).append(line)
        for hour, lines in sorted(by_hour.items()):
            name = f"{self.account}_vpcflowlogs_{self.region}_{self.id}_{hour}_{tag}.log.gz"
            write_gz(os.path.join(d, name), ("\n".join([self.HEADER] + lines) + "\n").encode())
        return len(by_hour)


def aws_date(t):
    """The date format IAM and STS use in responseElements (`Jun 3, 2024, 9:14:02 AM`)."""
    hour = t.hour % 12 or 12
    return f"{t.strftime('%b')} {t.day}, {t.year}, {hour}:{t.strftime('%M:%S')} {'AM' if t.hour < 12 else 'PM'}"


__all__ = ["ts", "write_gz", "stable_id", "hexid", "clear_dir", "Actor", "iam_user", "role_arn", "role_session",
           "aws_service", "denied", "Trail", "FlowLog", "aws_date", "timedelta", "datetime", "timezone"]
