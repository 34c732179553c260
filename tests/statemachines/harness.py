"""Run Tripline's state machines in moto's server: the test harness, also used by the demo.

moto executes Amazon States Language for real once its ``stepfunctions.execute_state_machine``
switch is on; its AWS SDK integrations call back into the same server (``MOTO_PORT``), so the
EC2, IAM, Auto Scaling, S3 and SNS calls a workflow makes land in moto's state and can be read back.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
STATEMACHINES = ROOT / "statemachines"
EVENTS = ROOT / "events" / "guardduty"
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/tripline-stepfunctions"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto's server on a free loopback port, with Step Functions execution switched on."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "MotoServer":
        server = ROOT / ".venv" / "bin" / "moto_server"
        if not server.exists():
            raise RuntimeError(f"{server} is missing: run `make setup` (or `make test`)")
        env = dict(os.environ, MOTO_PORT=str(self.port))
        self.proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on port {self.port}")
                time.sleep(0.1)
        body = json.dumps(
            {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        ).encode()
        req = urllib.request.Request(f"{self.url}/moto-api/config", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status not in (200, 201):
                raise RuntimeError(f"switching on Step Functions execution failed: {resp.status}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def data(self) -> dict[str, Any]:
        """moto's whole state (``GET /moto-api/data.json``)."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=30) as resp:
            return json.loads(resp.read())


# ------------------------------------------------------------------ definitions and executions

def definition(name: str, **substitutions: str) -> str:
    """A state machine file with its ``${Placeholders}`` filled in, as SAM's
    DefinitionSubstitutions would do."""
    text = (STATEMACHINES / f"{name}.asl.json").read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    left = sorted(set(re.findall(r"\$\{(\w+)\}", text)))
    if left:
        raise ValueError(f"{name}: placeholders without a value: {left}")
    json.loads(text)
    return text


def remediation_definition(topic_arn: str, final_action: str = "stop", forensics: str = "",
                           trusted_accounts: str = "", protected_arns: str = "",
                           protected_pattern: str = "", notice_detail: str = "full") -> str:
    """The remediation workflow as SAM would deploy it; the defaults are the template's."""
    return definition(
        "guardduty-remediation",
        SnsTopicArn=topic_arn,
        FinalAction=final_action,
        ForensicsDocument=forensics,
        TrustedAccounts=trusted_accounts,
        ProtectedPrincipalArns=protected_arns,
        ProtectedArnPattern=protected_pattern,
        NoticeDetail=notice_detail,
    )


def create_state_machine(sfn, definition_text: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return sfn.create_state_machine(name=name, definition=definition_text, roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]


@dataclass
class Execution:
    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    def entered_states(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if e["type"].endswith("StateEntered")
        ]


def execute(sfn, state_machine_arn: str, payload: Any, name: str | None = None,
            timeout: float = 120.0) -> Execution:
    """Start an execution (always named: moto's unnamed executions get an ARN ending ':None'),
    wait for it to finish, and return its outcome and history."""
    name = name or f"run-{uuid.uuid4().hex[:12]}"
    arn = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still RUNNING after {timeout} s")
        time.sleep(0.2)
    history: list[dict[str, Any]] = []
    token = None
    while True:
        kw = {"executionArn": arn, "maxResults": 1000}
        if token:
            kw["nextToken"] = token
        page = sfn.get_execution_history(**kw)
        history.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    output = json.loads(desc["output"]) if desc.get("output") else None
    return Execution(arn, desc["status"], output, desc.get("error"), desc.get("cause"), history)


# ------------------------------------------------------------------ SNS read-back

class SnsCapture:
    """An SNS topic with an SQS queue subscribed (raw delivery): what the workflow published."""

    def __init__(self, moto: MotoServer, prefix: str = "tripline-alerts") -> None:
        self.sns = moto.client("sns")
        self.sqs = moto.client("sqs")
        suffix = uuid.uuid4().hex[:8]
        self.topic_arn = self.sns.create_topic(Name=f"{prefix}-{suffix}")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName=f"{prefix}-q-{suffix}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
        )
        self.seen: list[dict[str, str]] = []

    def messages(self) -> list[dict[str, str]]:
        """Every message published so far, in order: ``{"subject", "message"}``."""
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                break
            for m in got:
                envelope = json.loads(m["Body"])
                self.seen.append(
                    {"subject": envelope.get("Subject") or "", "message": envelope["Message"]}
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return list(self.seen)


# ------------------------------------------------------------------ a victim instance

@dataclass
class Victim:
    instance_id: str
    vpc_id: str
    subnet_id: str
    web_sg: str
    eni_ids: list[str]
    volume_ids: list[str]
    role_name: str
    profile_name: str
    asg_name: str | None


def make_victim(moto: MotoServer, with_asg: bool = False, tag: str | None = None) -> Victim:
    """A VPC with an instance that has two EBS volumes, two network interfaces, an instance
    profile with a role, and optionally sits in an Auto Scaling group."""
    ec2 = moto.client("ec2")
    iam = moto.client("iam")
    tag = tag or uuid.uuid4().hex[:6]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    web_sg = ec2.create_security_group(GroupName=f"web-{tag}", Description="web tier", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=web_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    role = f"web-role-{tag}"
    profile = f"web-profile-{tag}"
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }),
    )
    iam.create_instance_profile(InstanceProfileName=profile, Path="/tripline/")
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    profile_arn = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Arn"]

    asg_name = None
    block_devices = [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": True}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20, "DeleteOnTermination": True}},
    ]
    if with_asg:
        asc = moto.client("autoscaling")
        asg_name = f"web-asg-{tag}"
        lt = ec2.create_launch_template(
            LaunchTemplateName=f"web-lt-{tag}",
            LaunchTemplateData={
                "ImageId": "ami-12c6146b", "InstanceType": "t3.micro",
                "SecurityGroupIds": [web_sg], "IamInstanceProfile": {"Arn": profile_arn},
                # moto gives group instances the AMI's root volume as well: one more makes two.
                "BlockDeviceMappings": block_devices[1:],
            },
        )["LaunchTemplate"]["LaunchTemplateId"]
        asc.create_auto_scaling_group(
            AutoScalingGroupName=asg_name,
            LaunchTemplate={"LaunchTemplateId": lt, "Version": "$Latest"},
            MinSize=1, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=subnet,
        )
        instance_id = asc.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
            "AutoScalingGroups"
        ][0]["Instances"][0]["InstanceId"]
        # moto does not carry the launch template's instance profile over: associate it.
        ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": profile_arn}, InstanceId=instance_id)
    else:
        instance_id = ec2.run_instances(
            ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1,
            SubnetId=subnet, SecurityGroupIds=[web_sg],
            IamInstanceProfile={"Arn": profile_arn},
            BlockDeviceMappings=block_devices,
        )["Instances"][0]["InstanceId"]

    # A second network interface: isolation has to cover every ENI.
    eni2 = ec2.create_network_interface(SubnetId=subnet, Groups=[web_sg])["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    ec2.attach_network_interface(NetworkInterfaceId=eni2, InstanceId=instance_id, DeviceIndex=1)

    inst = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    enis = [n["NetworkInterfaceId"] for n in inst["NetworkInterfaces"]]
    volumes = [b["Ebs"]["VolumeId"] for b in inst["BlockDeviceMappings"]]
    return Victim(instance_id, vpc, subnet, web_sg, enis, volumes, role, profile, asg_name)


def crypto_finding(instance_id: str, finding_id: str | None = None) -> dict[str, Any]:
    """The canned CryptoCurrency:EC2/BitcoinTool.B!DNS finding, pointed at ``instance_id``."""
    event = json.loads((EVENTS / "crypto-bitcointool-instance.json").read_text())
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = instance_id
    if finding_id:
        event["detail"]["id"] = finding_id
    return event


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


# ------------------------------------------------------------------ a readable timeline

_ID = re.compile(r"\b(?:i|sg|eni|vol|snap|vpc|subnet)-[0-9a-f]{8,17}\b|arn:aws:[a-z0-9:/_.+=,@-]+")


def _resources(details: dict[str, Any], key: str) -> set[str]:
    text = details.get(key, "")
    if details.get("resourceType") == "sns":
        # The message quotes the whole finding: name only the topic.
        if key == "parameters":
            try:
                return {json.loads(text).get("TopicArn", "")}
            except ValueError:
                return set()
        return set()
    return set(_ID.findall(text))


def timeline(execution: Execution) -> list[tuple[str, str, str]]:
    """(step, outcome, resources touched) for every state the execution entered, in order.

    Map iterations run concurrently and their events interleave, so each event is given to the
    state it belongs to by following ``previousEventId`` back to that state's StateEntered."""
    by_id = {e["id"]: e for e in execution.history}
    owner: dict[int, int] = {}

    def state_of(event: dict[str, Any]) -> int | None:
        seen = []
        cur: dict[str, Any] | None = event
        while cur is not None:
            if cur["id"] in owner:
                found = owner[cur["id"]]
                break
            if cur["type"].endswith("StateEntered") and cur is not event:
                found = cur["id"]
                break
            seen.append(cur["id"])
            cur = by_id.get(cur.get("previousEventId", 0))
        else:
            found = None
        for i in seen:
            if found is not None:
                owner[i] = found
        return found

    rows: dict[int, dict[str, Any]] = {}
    tail: list[tuple[str, str, str]] = []
    for e in execution.history:
        t = e["type"]
        if t.endswith("StateEntered"):
            d = e["stateEnteredEventDetails"]
            rows[e["id"]] = {"name": d["name"], "kind": t[: -len("StateEntered")],
                             "outcome": "ok", "touched": set(), "resource": ""}
            continue
        if t == "ExecutionFailed":
            d = e.get("executionFailedEventDetails", {})
            tail.append(("(execution)", f"FAILED {d.get('error', '')}", d.get("cause", "")[:160]))
            continue
        if t == "ExecutionSucceeded":
            tail.append(("(execution)", "SUCCEEDED", ""))
            continue
        sid = state_of(e)
        row = rows.get(sid) if sid is not None else None
        if row is None:
            continue
        if t == "TaskScheduled":
            d = e["taskScheduledEventDetails"]
            row["resource"] = f"{d.get('resourceType', '')}:{d.get('resource', '')}"
            row["touched"] |= _resources(d, "parameters")
        elif t == "TaskSucceeded":
            row["touched"] |= _resources(e["taskSucceededEventDetails"], "output")
        elif t == "TaskFailed":
            row["outcome"] = f"FAILED {e['taskFailedEventDetails'].get('error', '')}"
    out = []
    for row in rows.values():
        label = row["name"] + (f" [{row['resource']}]" if row["resource"] else "")
        outcome = "decided" if row["kind"] == "Choice" and row["outcome"] == "ok" else row["outcome"]
        ids = sorted(x for x in row["touched"] if x and not x.startswith("arn:aws:states"))
        out.append((label, outcome, ", ".join(ids)))
    return out + tail
