"""`make demo-remediation`: a cryptomining GuardDuty finding, contained in moto, step by step.

Starts moto's server, builds a victim (VPC, an instance with two EBS volumes and two network
interfaces, an instance profile role, in an Auto Scaling group), runs the canned
`CryptoCurrency:EC2/BitcoinTool.B!DNS` finding through statemachines/guardduty-remediation.asl.json
and prints the execution as a timeline, the end state, and the SNS messages. Then stops moto.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "statemachines"))

from harness import (  # noqa: E402
    MotoServer,
    SnsCapture,
    create_state_machine,
    crypto_finding,
    execute,
    make_victim,
    remediation_definition,
    timeline,
)


def table(rows, headers):
    widths = [min(max(len(str(r[i])) for r in rows + [headers]), cap) for i, cap in enumerate((58, 16, 200))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [str(c) if len(str(c)) <= w or i == 2 else str(c)[: w - 1] + "…" for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())


def main() -> int:
    with MotoServer() as moto:
        print(f"moto server on {moto.url} (Step Functions execution on)\n")
        ec2 = moto.client("ec2")
        sfn = moto.client("stepfunctions")
        sns = SnsCapture(moto, "tripline-security")
        victim = make_victim(moto, with_asg=True, tag="demo")
        print("victim:")
        print(f"  instance        {victim.instance_id} in {victim.vpc_id} (Auto Scaling group {victim.asg_name})")
        print(f"  interfaces      {', '.join(victim.eni_ids)} (security group {victim.web_sg})")
        print(f"  volumes         {', '.join(victim.volume_ids)}")
        print(f"  role            {victim.role_name}\n")

        arn = create_state_machine(sfn, remediation_definition(sns.topic_arn, "stop"), "guardduty-remediation")
        finding = crypto_finding(victim.instance_id)
        print(f"finding: {finding['detail']['type']} ({finding['detail']['id']})\n")
        ex = execute(sfn, arn, finding, name=f"gd-{finding['detail']['id'][:32]}")

        print(f"execution {ex.arn.rsplit(':', 1)[1]}: {ex.status}\n")
        table(timeline(ex), ("step", "outcome", "resources touched"))

        inst = ec2.describe_instances(InstanceIds=[victim.instance_id])["Reservations"][0]["Instances"][0]
        enis = ec2.describe_network_interfaces(NetworkInterfaceIds=victim.eni_ids)["NetworkInterfaces"]
        snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "tag:tripline:finding-id", "Values": [finding["detail"]["id"]]}])["Snapshots"]
        print("\nend state:")
        print(f"  instance state  {inst['State']['Name']}")
        for e in enis:
            print(f"  {e['NetworkInterfaceId']}  groups {[g['GroupName'] for g in e['Groups']]}")
        for s in snaps:
            print(f"  {s['SnapshotId']}  of {s['VolumeId']}  {s['State']}")
        print("\nSNS messages:")
        for m in sns.messages():
            print(f"  [{m['subject']}]")
            body = m["message"]
            if len(body) > 700:
                body = body[:700] + " …"
            print(textwrap.indent(body, "    "))
        return 0 if ex.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
