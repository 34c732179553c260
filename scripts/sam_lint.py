#!/usr/bin/env python3
"""Check the SAM template the way AWS will read it.

1. Resolve local artifacts as `sam package` would: CodeUri -> a placeholder S3 location, a
   state machine's DefinitionUri -> its ASL file inlined as Definition (so the checks below see it).
2. Translate SAM -> CloudFormation with aws-sam-translator (catches bad runtimes, schedule
   expressions and event sources that cfn-lint alone misses on SAM).
3. cfn-lint the translated template; it must be clean.
4. Least-privilege check: no IAM statement may Allow Action "*" on Resource "*", and no AWS managed
   admin policy may be attached. (Deny statements - such as the DenyAll policies the IR workflows
   write - are not grants.)

Usage: sam_lint.py infra/template.yaml [--out translated.json]
"""
import json
import os
import subprocess
import sys
import tempfile

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


class NoManagedPolicies:
    """The translator asks IAM for managed-policy ARNs only when a template names policies by
    name; Tripline's template never does, so nothing is looked up."""

    def load(self):
        return {}


def localize(template, base):
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            path = os.path.normpath(os.path.join(base, props["CodeUri"]))
            props["CodeUri"] = f"s3://tripline-artifacts/{os.path.relpath(path, base)}"
        if res.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            path = os.path.normpath(os.path.join(base, props.pop("DefinitionUri")))
            with open(path) as f:
                props["Definition"] = json.load(f)
    return template


def as_list(x):
    return x if isinstance(x, list) else [x]


def statements(cfn):
    """Every IAM statement in the translated template, with where it is."""
    for name, res in cfn.get("Resources", {}).items():
        props = res.get("Properties", {})
        kind = res.get("Type")
        docs = []
        if kind == "AWS::IAM::Role":
            docs += [(f"{name}.Policies[{p.get('PolicyName')}]", p.get("PolicyDocument", {})) for p in props.get("Policies", [])]
            for arn in props.get("ManagedPolicyArns", []):
                if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in ADMIN_POLICIES:
                    yield f"{name}.ManagedPolicyArns", {"Effect": "Allow", "Action": "*", "Resource": "*", "_managed": arn}
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append((name, props.get("PolicyDocument", {})))
        for where, doc in docs:
            for st in as_list(doc.get("Statement", [])):
                yield where, st


def policy_problems(cfn):
    problems = []
    for where, st in statements(cfn):
        if st.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(st.get("Action", [])) if isinstance(a, str)]
        resources = [r for r in as_list(st.get("Resource", [])) if isinstance(r, str)]
        if "*" in actions and "*" in resources:
            problems.append(f"{where}: allows Action '*' on Resource '*' {st.get('_managed', '')}".rstrip())
        for a in actions:
            if a.endswith(":*") and "*" in resources:
                problems.append(f"{where}: allows every {a} action on every resource")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    # The translator resolves pseudo parameters (AWS::Region) from the environment; any region
    # will do for checking.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = cfn_yaml.load(path)
    template = json.loads(json.dumps(template))  # plain dicts, no YAML node types
    template = localize(template, os.path.dirname(os.path.abspath(path)))
    cfn = transform(template, {}, NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cfn, f, indent=1)
        translated = f.name
    if out:
        with open(out, "w") as f:
            json.dump(cfn, f, indent=1)
    # The translator turns an inlined state machine into one Fn::Join of thousands of lines, which
    # overflows cfn-lint's default recursion limit (E1022 "maximum recursion depth exceeded").
    runner = "import sys; sys.setrecursionlimit(100000); from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; main()"
    lint = subprocess.run([sys.executable, "-c", runner, translated], capture_output=True, text=True)
    os.unlink(translated)
    ok = True
    if lint.returncode != 0:
        print(f"cfn-lint on the translated {path}:\n{lint.stdout}{lint.stderr}", file=sys.stderr)
        ok = False
    problems = policy_problems(cfn)
    for p in problems:
        print(f"least privilege: {p}", file=sys.stderr)
    ok = ok and not problems
    n = sum(1 for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    if ok:
        print(f"{path}: translated ({len(cfn['Resources'])} resources, {n} functions), cfn-lint clean, no '*' on '*' grants")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
