#!/usr/bin/env python3
"""IAM derived from the code: every role grants exactly what its state machine or function calls.

Run by scripts/lint.sh (`make lint`). Exit 1 listing every problem, 0 when both directions hold:

* missing: an action a state (or a function's code) calls that its role does not grant, reported
  as (state machine, action, state) or (function, action, source file);
* unused: an action a role grants that nothing calls, reported as (role, action).

Only actions are compared, not Resource scoping (sam_lint.py checks that nothing is `*` on `*`).

State machines
--------------
Every AWS::Serverless::StateMachine (DefinitionUri / Definition) and AWS::StepFunctions::StateMachine
(Definition / DefinitionString) in the template. Every Task state is read, recursively through
Parallel `Branches` and Map `Iterator` / `ItemProcessor`. A Task's `Resource`:

* `arn:aws:states:::aws-sdk:SERVICE:apiName[.waitForTaskToken]` -> `PREFIX:ApiName`: the API name
  with its first letter upper-cased, PREFIX from SDK_PREFIX (the SDK service name where it differs
  from the IAM prefix, e.g. sfn -> states), ApiName from SDK_ACTION where IAM names the action
  differently (s3:putPublicAccessBlock -> s3:PutBucketPublicAccessBlock);
* an optimized integration `arn:aws:states:::SERVICE:api[.sync|.waitForTaskToken]` -> OPTIMIZED;
* anything else (a bare Lambda ARN, a `${Placeholder}`, an activity, an unknown integration, a
  distributed Map) is reported as unreadable: extend the tables rather than guess.

IMPLIED adds actions a call needs besides its own: EC2 calls with `TagSpecifications` need
ec2:CreateTags; sns:Publish to a topic (and a Lambda destination's sqs:SendMessage to a queue)
encrypted with a customer managed KMS key needs kms:GenerateDataKey and kms:Decrypt (ENCRYPTED:
the topic is the Resource the role's sns:Publish grant names). The role is the state machine's
SAM `Policies` (inline statements only) plus every AWS::IAM::Policy attached to the role SAM
generates for it (`NAMERole`), or the AWS::IAM::Role named by `Role` / `RoleArn` (its Policies
plus every AWS::IAM::Policy attached to it).
EXECUTION_LOGGING / TRACING are what Step Functions itself needs to deliver execution logs
(allowed when the state machine has `Logging`) and X-Ray traces (when `Tracing.Enabled`): an
allow-list, never "unused".

Functions
---------
Every AWS::Serverless::Function / AWS::Lambda::Function whose CodeUri is
`../target/lambda/BINARY/...` (as `cargo lambda` builds them): the binary's source is
functions/src/bin/BINARY.rs. What it can reach is the closure of the workspace crates it names
(`tripline_runtime::...`; in the functions crate, the top-level modules it names, BY_MODULE),
following `tripline_*` names in those crates' non-test sources
(comments and `#[cfg(test)] mod` blocks are skipped). NO_AWS lists paths a binary may name that
make no AWS call (so naming them does not pull their crate in). In the reached sources:

* SDK_CALLS: a method call on an SDK client (`.publish()`) in a file that names the SDK crate
  (`aws_sdk_sns`) -> its IAM action. A call may be gated on an environment variable (the runtime
  builds its SNS / Step Functions client only when TRIPLINE_SNS_TOPIC_ARN /
  TRIPLINE_STATE_MACHINE_ARN is set): it is needed only by functions whose Environment (with
  Globals) sets that variable.
* OpenSearch: when crates/store is reached, every `Method::Get|Put|Post|Delete|Head|Patch` in
  crates/store/src/opensearch.rs and crates/store/src/opensearch/ -> `es:ESHttpGet|...`, except
  in files of OPENSEARCH_GATED when the function's environment turns them off (the template
  installation, with TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false). On the Serverless (aoss)
  branch `aoss:APIAccessAll` stands for every es:ESHttp* verb.
* Destinations: an `EventInvokeConfig` destination (SQS queue or SNS topic) encrypted with a
  customer managed key needs what IMPLIED says for ENCRYPTED (SAM adds sqs:SendMessage /
  sns:Publish to the role itself).

Fn::If in a policy: each combination of the conditions it names is checked as its own
configuration. Grants may use IAM wildcards (`ec2:Describe*`); actions compare case-insensitively.

Usage: iam_check.py [infra/template.yaml]
"""
import fnmatch
import itertools
import json
import os
import re
import sys

from cfnlint.decode import cfn_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# SDK service name (as in arn:aws:states:::aws-sdk:SERVICE:...) -> IAM prefix, where they differ.
SDK_PREFIX = {
    "sfn": "states",
    "cloudwatchlogs": "logs",
    "eventbridge": "events",
    "opensearch": "es",
    "elasticloadbalancingv2": "elasticloadbalancing",
    "efs": "elasticfilesystem",
    "sesv2": "ses",
    "configservice": "config",
    "cognitoidentityprovider": "cognito-idp",
    "acmpca": "acm-pca",
}

# (IAM prefix, SDK API name) -> IAM action name, where IAM does not name it after the API.
SDK_ACTION = {
    ("s3", "putPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "getPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "deletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "headObject"): "GetObject",
    ("s3", "headBucket"): "ListBucket",
    ("s3", "listObjectsV2"): "ListBucket",
    ("s3", "listObjects"): "ListBucket",
}

# Optimized integrations: arn:aws:states:::KEY[.sync|.waitForTaskToken] -> IAM actions.
OPTIMIZED = {
    "sns:publish": ["sns:Publish"],
    "sqs:sendMessage": ["sqs:SendMessage"],
    "lambda:invoke": ["lambda:InvokeFunction"],
    "states:startExecution": ["states:StartExecution"],
    "events:putEvents": ["events:PutEvents"],
    "dynamodb:getItem": ["dynamodb:GetItem"],
    "dynamodb:putItem": ["dynamodb:PutItem"],
    "dynamodb:updateItem": ["dynamodb:UpdateItem"],
    "dynamodb:deleteItem": ["dynamodb:DeleteItem"],
}
# What `.sync` adds to an optimized integration (Step Functions polls or subscribes for the result).
OPTIMIZED_SYNC = {
    "states:startExecution": ["states:DescribeExecution", "states:StopExecution",
                              "events:PutTargets", "events:PutRule", "events:DescribeRule"],
}

# Actions a call needs besides its own: (action, parameter present in the state) -> extra actions.
# ENCRYPTED stands for "the topic or queue called is encrypted with a customer managed KMS key"
# (KmsMasterKeyId set, and not an AWS managed alias/aws/* key). SNS and SQS then encrypt with a
# data key generated, and read it back, with the caller's permissions: a publisher (a role's
# sns:Publish, a Lambda destination's sqs:SendMessage) also needs kms:GenerateDataKey and
# kms:Decrypt on the key. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html and
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
# (AWS managed keys need no grant, but CloudWatch alarms and EventBridge cannot publish to a topic
# encrypted with one, which is why the alerts topic has its own key.)
ENCRYPTED = "<encrypted with a customer managed KMS key>"
KMS_DATA_KEY = ["kms:GenerateDataKey", "kms:Decrypt"]

IMPLIED = {
    ("sns:Publish", ENCRYPTED): KMS_DATA_KEY,
    ("sqs:SendMessage", ENCRYPTED): KMS_DATA_KEY,
    ("ec2:CreateSecurityGroup", "TagSpecifications"): ["ec2:CreateTags"],
    ("ec2:CreateSnapshot", "TagSpecifications"): ["ec2:CreateTags"],
    ("ec2:CreateSnapshots", "TagSpecifications"): ["ec2:CreateTags"],
    ("ec2:CreateVolume", "TagSpecifications"): ["ec2:CreateTags"],
    ("ec2:RunInstances", "TagSpecifications"): ["ec2:CreateTags"],
}

# What Step Functions needs to deliver execution logs to CloudWatch Logs (allowed with `Logging`),
# https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html, and X-Ray traces (`Tracing`).
EXECUTION_LOGGING = [
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
TRACING = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
           "xray:GetSamplingTargets"]

# Client method calls in the Rust code: (SDK crate, method) -> (IAM action, gating env var or None).
SDK_CALLS = {
    ("aws_sdk_sns", "publish"): ("sns:Publish", "TRIPLINE_SNS_TOPIC_ARN"),
    ("aws_sdk_sfn", "start_execution"): ("states:StartExecution", "TRIPLINE_STATE_MACHINE_ARN"),
    ("aws_sdk_sfn", "describe_execution"): ("states:DescribeExecution", None),
    ("aws_sdk_sfn", "get_execution_history"): ("states:GetExecutionHistory", None),
    ("aws_sdk_s3", "get_object"): ("s3:GetObject", None),
    ("aws_sdk_s3", "head_object"): ("s3:GetObject", None),
    ("aws_sdk_s3", "put_object"): ("s3:PutObject", None),
    ("aws_sdk_s3", "list_objects_v2"): ("s3:ListBucket", None),
    ("aws_sdk_s3", "delete_object"): ("s3:DeleteObject", None),
}
# Paths a binary may name that make no AWS call (the crate they live in is not pulled in for them).
NO_AWS = {"tripline_functions::alert::init_tracing", "tripline_runtime::metrics"}
# Crates whose top-level modules are followed one by one rather than as a whole: the functions
# crate holds one module per binary (`alert`, `ingest`), and a binary reaches only its own.
BY_MODULE = {"tripline_functions"}
# The OpenSearch store's HTTP verbs are read from these files (relative to the repository root).
OPENSEARCH_SOURCES = ["crates/store/src/opensearch.rs", "crates/store/src/opensearch"]
# Files among OPENSEARCH_SOURCES whose verbs a function does not send when its environment sets
# the variable to the value: the template installation (the store's only PUT) is off with
# TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false (installing them is a deploy step).
OPENSEARCH_GATED = {
    "crates/store/src/opensearch/templates.rs": ("TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES", "false"),
}
STORE_CRATE = "tripline_store"
AOSS_ALL = "aoss:APIAccessAll"


class Unreadable(Exception):
    pass


# ---------------------------------------------------------------- state machines


def sdk_action(service, api):
    prefix = SDK_PREFIX.get(service, service)
    name = SDK_ACTION.get((prefix, api), api[:1].upper() + api[1:])
    return f"{prefix}:{name}"


def task_actions(resource, state):
    """The IAM actions one Task state's Resource needs."""
    if not isinstance(resource, str) or not resource.startswith("arn:aws:states:::"):
        raise Unreadable(f"Resource {resource!r} is not a service integration")
    rest = resource[len("arn:aws:states:::"):]
    if rest.startswith("aws-sdk:"):
        parts = rest.split(":")
        if len(parts) != 3:
            raise Unreadable(f"Resource {resource!r}")
        api = parts[2]
        for suffix in (".waitForTaskToken",):
            api = api.removesuffix(suffix)
        if "." in api:
            raise Unreadable(f"Resource {resource!r}: SDK integrations support only .waitForTaskToken")
        actions = [sdk_action(parts[1], api)]
    else:
        key, _, pattern = rest.partition(".")
        if key not in OPTIMIZED or pattern not in ("", "sync", "waitForTaskToken"):
            raise Unreadable(f"Resource {resource!r}: not in iam_check.OPTIMIZED")
        actions = list(OPTIMIZED[key])
        if pattern == "sync":
            if key not in OPTIMIZED_SYNC:
                raise Unreadable(f"Resource {resource!r}: .sync not in iam_check.OPTIMIZED_SYNC")
            actions += OPTIMIZED_SYNC[key]
    params = json.dumps(state.get("Parameters", state.get("Arguments", {})))
    for a in list(actions):
        for (action, param), extra in IMPLIED.items():
            if action == a and f'"{param}"' in params:
                actions += extra
    return actions


def walk_states(states, path=()):
    """(state path, state) for every state, through Parallel branches and Map processors."""
    for name, st in states.items():
        yield path + (name,), st
        for branch in st.get("Branches", []):
            yield from walk_states(branch.get("States", {}), path + (name,))
        for key in ("Iterator", "ItemProcessor"):
            if key in st:
                mode = st[key].get("ProcessorConfig", {}).get("Mode", "INLINE")
                if mode != "INLINE":
                    raise Unreadable(f"state {name}: a {mode} Map (child executions) is not supported")
                yield from walk_states(st[key].get("States", {}), path + (name,))


def called_by_definition(definition):
    """{IAM action: [state names]} for an ASL definition."""
    called = {}
    for path, st in walk_states(definition.get("States", {})):
        if st.get("Type") != "Task":
            continue
        where = "/".join(path)
        try:
            actions = task_actions(st.get("Resource"), st)
        except Unreadable as e:
            raise Unreadable(f"{where}: {e}") from None
        for a in actions:
            called.setdefault(a, []).append(where)
    return called


# ---------------------------------------------------------------- template


def as_list(x):
    return x if isinstance(x, list) else [x]


def conditions_in(node, found=None):
    found = set() if found is None else found
    if isinstance(node, dict):
        if "Fn::If" in node and isinstance(node["Fn::If"], list) and node["Fn::If"]:
            found.add(node["Fn::If"][0])
        for v in node.values():
            conditions_in(v, found)
    elif isinstance(node, list):
        for v in node:
            conditions_in(v, found)
    return found


NOVALUE = object()


def resolve(node, assignment):
    """`node` with every Fn::If replaced by its branch under `assignment` (AWS::NoValue dropped)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            cond, yes, no = node["Fn::If"]
            return resolve(yes if assignment[cond] else no, assignment)
        if node == {"Ref": "AWS::NoValue"}:
            return NOVALUE
        out = {}
        for k, v in node.items():
            v = resolve(v, assignment)
            if v is not NOVALUE:
                out[k] = v
        return out
    if isinstance(node, list):
        return [v for v in (resolve(x, assignment) for x in node) if v is not NOVALUE]
    return node


def configurations(node):
    """Every assignment of the conditions `node` (a list of (where, document)) uses (one empty
    assignment when none)."""
    conds = sorted(conditions_in([d for _, d in node] if isinstance(node, list) else node))
    for values in itertools.product([True, False], repeat=len(conds)):
        yield dict(zip(conds, values))


def describe(assignment):
    return ", ".join(f"{c}={'true' if v else 'false'}" for c, v in assignment.items())


def logical_role(ref):
    """The logical id in `!GetAtt Role.Arn` / `!Ref Role`, or None."""
    if isinstance(ref, dict):
        if "Fn::GetAtt" in ref:
            att = ref["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else str(att).split(".")[0]
        if "Ref" in ref:
            return ref["Ref"]
    return None


def role_documents(template, name, props):
    """[(where, policy document)] of a resource's role: SAM inline Policies or its IAM role."""
    resources = template.get("Resources", {})
    docs = []
    for i, p in enumerate(as_list(props.get("Policies", []))):
        if isinstance(p, dict) and "Statement" in p:
            docs.append((f"{name}.Policies[{i}]", p))
        else:
            raise Unreadable(f"{name}.Policies[{i}]: only inline statements are read, not {p!r}")
    role_ref = props.get("Role") or props.get("RoleArn")
    if role_ref is not None:
        role = logical_role(role_ref)
        if role not in resources or resources[role].get("Type") != "AWS::IAM::Role":
            raise Unreadable(f"{name}: role {role_ref!r} is not an AWS::IAM::Role of this template")
        rprops = resources[role].get("Properties", {})
        for p in rprops.get("Policies", []):
            docs.append((f"{role}.Policies[{p.get('PolicyName')}]", p.get("PolicyDocument", {})))
        if rprops.get("ManagedPolicyArns"):
            raise Unreadable(f"{role}: ManagedPolicyArns are not read")
    else:
        # SAM generates the role as NAMERole; policies of the template may attach to it.
        role = f"{name}Role"
    for pname, pres in resources.items():
        if pres.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = as_list(pres.get("Properties", {}).get("Roles", []))
            if any(r == {"Ref": role} or r == role for r in roles):
                docs.append((pname, pres["Properties"].get("PolicyDocument", {})))
    return docs


def encrypted(template, ref):
    """Whether `ref` (a Ref / GetAtt) names a topic or queue of the template encrypted with a
    customer managed KMS key."""
    res = template.get("Resources", {}).get(logical_role(ref) or "", {})
    if res.get("Type") not in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
        return False
    key = res.get("Properties", {}).get("KmsMasterKeyId")
    return key is not None and not (isinstance(key, str) and key.startswith("alias/aws/"))


def implied_by_encryption(template, docs, assignment, needed):
    """{action: [where]} IMPLIED adds for ENCRYPTED: for each needed sns:Publish, the encrypted
    topics the role's sns:Publish grants name."""
    extra = {}
    if not any(a.lower() == "sns:publish" for a in needed):
        return extra
    for where, doc in docs:
        doc = resolve(doc, assignment)
        for st in as_list(doc.get("Statement", [])):
            actions = [a.lower() for a in as_list(st.get("Action", [])) if isinstance(a, str)]
            if st.get("Effect") != "Allow" or "sns:publish" not in actions:
                continue
            for r in as_list(st.get("Resource", [])):
                if encrypted(template, r):
                    for a in IMPLIED[("sns:Publish", ENCRYPTED)]:
                        extra.setdefault(a, []).append(f"sns:Publish to {logical_role(r)}, encrypted")
    return extra


def destination_calls(template, props):
    """{action: [where]} a function's EventInvokeConfig destinations need beyond what SAM grants."""
    out = {}
    dests = props.get("EventInvokeConfig", {}).get("DestinationConfig", {})
    for which, d in sorted(dests.items()):
        kind = str(d.get("Type", "")).upper()
        if kind in ("SQS", "SNS") and encrypted(template, d.get("Destination")):
            action = "sqs:SendMessage" if kind == "SQS" else "sns:Publish"
            for a in IMPLIED[(action, ENCRYPTED)]:
                out.setdefault(a, []).append(f"EventInvokeConfig.{which} to {logical_role(d.get('Destination'))}, encrypted")
    return out


def merged(*maps):
    out = {}
    for m in maps:
        for k, v in m.items():
            out.setdefault(k, []).extend(v)
    return out


def granted_actions(docs, assignment):
    """{action as written: where} for every Allow statement under one configuration."""
    out = {}
    for where, doc in docs:
        doc = resolve(doc, assignment)
        for i, st in enumerate(as_list(doc.get("Statement", []))):
            if st.get("Effect") != "Allow":
                continue
            if "NotAction" in st:
                raise Unreadable(f"{where}: NotAction is not read")
            label = f"{where}.{st.get('Sid') or f'Statement[{i}]'}"
            for a in as_list(st.get("Action", [])):
                if not isinstance(a, str):
                    raise Unreadable(f"{label}: Action {a!r} is not a string")
                out.setdefault(a, label)
    return out


def covers(grant, action):
    return fnmatch.fnmatchcase(action.lower(), grant.lower())


def compare(subject, needed, granted, allowed, what_config):
    """Problems for one role: needed = {action: [where]}, granted = {grant: statement}."""
    problems = []
    suffix = f" [{what_config}]" if what_config else ""
    for action, wheres in sorted(needed.items()):
        if not any(covers(g, action) for g in granted):
            for w in sorted(set(wheres)):
                problems.append(f"missing: {subject} calls {action} ({w}) but its role does not grant it{suffix}")
    for grant, label in sorted(granted.items()):
        if any(covers(grant, a) for a in needed) or any(covers(grant, a) or grant.lower() == a.lower() for a in allowed):
            continue
        problems.append(f"unused: {label} grants {grant}, which nothing in {subject} calls{suffix}")
    return problems


def load_template(path):
    return json.loads(json.dumps(cfn_yaml.load(path)))


def definition_of(name, props, base):
    if isinstance(props.get("DefinitionUri"), str):
        with open(os.path.normpath(os.path.join(base, props["DefinitionUri"]))) as f:
            return json.load(f)
    if isinstance(props.get("Definition"), dict):
        return props["Definition"]
    if isinstance(props.get("DefinitionString"), str):
        return json.loads(props["DefinitionString"])
    raise Unreadable(f"{name}: no DefinitionUri, Definition or DefinitionString to read")


def check_state_machines(template, base):
    problems, report = [], {}
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") not in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            continue
        props = res.get("Properties", {})
        try:
            called = called_by_definition(definition_of(name, props, base))
            docs = role_documents(template, name, props)
        except Unreadable as e:
            problems.append(f"unreadable: {name}: {e}")
            continue
        report[name] = called
        allowed = (EXECUTION_LOGGING if props.get("Logging") or props.get("LoggingConfiguration") else []) + (
            TRACING if (props.get("Tracing") or props.get("TracingConfiguration") or {}).get("Enabled") else [])
        for assignment in configurations(docs):
            needed = merged(called, implied_by_encryption(template, docs, assignment, called))
            problems += compare(name, needed, granted_actions(docs, assignment), allowed, describe(assignment))
    return problems, report


# ---------------------------------------------------------------- functions


def strip_rust(text):
    """Source without comments and without `#[cfg(test)] mod ...` (to the end of the file)."""
    m = re.search(r"^\s*#\[cfg\(test\)\]\s*\n\s*(pub\s+)?mod\s", text, re.M)
    if m:
        text = text[:m.start()]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def workspace_crates(root):
    """{crate name with _ : source files (not src/bin, tests, benches)}."""
    crates = {}
    dirs = [os.path.join(root, "crates", d) for d in sorted(os.listdir(os.path.join(root, "crates")))]
    dirs.append(os.path.join(root, "functions"))
    for d in dirs:
        toml = os.path.join(d, "Cargo.toml")
        if not os.path.exists(toml):
            continue
        m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', open(toml).read(), re.M | re.S)
        files = []
        for dirpath, dirnames, filenames in os.walk(os.path.join(d, "src")):
            dirnames[:] = [x for x in dirnames if x != "bin"]
            files += [os.path.join(dirpath, f) for f in filenames if f.endswith(".rs")]
        name = m.group(1).replace("-", "_")
        if name in BY_MODULE:
            src = os.path.join(d, "src")
            for f in sorted(files):
                rel = os.path.relpath(f, src)
                if rel == "lib.rs":
                    continue
                top = rel.split(os.sep)[0].removesuffix(".rs")
                crates.setdefault(f"{name}::{top}", []).append(f)
        else:
            crates[name] = sorted(files)
    return crates


def crate_refs(text, crates):
    """Workspace crates a (stripped) source names, except through NO_AWS paths."""
    for item in NO_AWS:
        text = text.replace(item, "")
    return {c for c in crates if re.search(rf"\b{c}::", text) or re.search(rf"\buse\s+{c}\b", text)}


def reached_files(bin_path, crates):
    text = strip_rust(open(bin_path).read())
    todo, seen = list(crate_refs(text, crates)), set()
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        for f in crates[c]:
            todo += [x for x in crate_refs(strip_rust(open(f).read()), crates) if x not in seen]
    files = [bin_path] + [f for c in sorted(seen) for f in crates[c]]
    return files, seen


def opensearch_verbs(root):
    """{es:ESHttpVerb: [files]} from the store's Method:: uses."""
    verbs = {}
    for src in OPENSEARCH_SOURCES:
        p = os.path.join(root, src)
        files = [p] if os.path.isfile(p) else sorted(
            os.path.join(dp, f) for dp, _, fs in os.walk(p) for f in fs if f.endswith(".rs")) if os.path.isdir(p) else []
        for f in files:
            for verb in re.findall(r"\bMethod::(Get|Put|Post|Delete|Head|Patch)\b", strip_rust(open(f).read())):
                verbs.setdefault(f"es:ESHttp{verb}", []).append(os.path.relpath(f, root))
    return verbs


def code_calls(bin_path, root, crates, env):
    """{IAM action: [files]} a binary calls, given the function's environment variables."""
    files, reached = reached_files(bin_path, crates)
    needed = {}
    for f in files:
        text = strip_rust(open(f).read())
        for (sdk, method), (action, gate) in SDK_CALLS.items():
            if sdk in text and re.search(rf"\.{method}\(\)", text) and (gate is None or gate in env):
                needed.setdefault(action, []).append(os.path.relpath(f, root))
    if STORE_CRATE in reached:
        for action, where in opensearch_verbs(root).items():
            where = [w for w in where if not gated_off(w, env)]
            if where:
                needed.setdefault(action, []).extend(where)
    return needed


def gated_off(path, env):
    """Whether the function's environment turns off the requests of `path` (OPENSEARCH_GATED)."""
    if path not in OPENSEARCH_GATED:
        return False
    var, off = OPENSEARCH_GATED[path]
    return var in env and str(env[var]).lower() == off


def binary_of(props):
    m = re.match(r"^\.\./target/lambda/([^/]+)/", str(props.get("CodeUri", "")))
    return m.group(1) if m else None


def environment(template, props):
    env = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    env.update(props.get("Environment", {}).get("Variables", {}))
    return env


def check_functions(template, root):
    problems, report = [], {}
    crates = workspace_crates(root)
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = res.get("Properties", {})
        binary = binary_of(props)
        src = os.path.join(root, "functions", "src", "bin", f"{binary}.rs") if binary else None
        if not src or not os.path.exists(src):
            problems.append(f"unreadable: {name}: CodeUri {props.get('CodeUri')!r} names no functions/src/bin/*.rs")
            continue
        try:
            docs = role_documents(template, name, props)
        except Unreadable as e:
            problems.append(f"unreadable: {e}")
            continue
        needed = merged(code_calls(src, root, crates, environment(template, props)), destination_calls(template, props))
        report[name] = needed
        for assignment in configurations(docs):
            granted = granted_actions(docs, assignment)
            want = merged(needed, implied_by_encryption(template, docs, assignment, needed))
            if AOSS_ALL in granted:  # the Serverless branch: one action for every HTTP verb
                es = [w for a, ws in needed.items() if a.startswith("es:ESHttp") for w in ws]
                want = {a: w for a, w in want.items() if not a.startswith("es:ESHttp")}
                if es:
                    want[AOSS_ALL] = es
            problems += compare(name, want, granted, [], describe(assignment))
    return problems, report


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(ROOT, "infra", "template.yaml")
    root = ROOT
    template = load_template(path)
    p1, machines = check_state_machines(template, os.path.dirname(os.path.abspath(path)))
    p2, functions = check_functions(template, root)
    problems = p1 + p2
    if "-v" in argv:
        for name, called in {**machines, **functions}.items():
            print(f"{name}:")
            for a, w in sorted(called.items()):
                print(f"  {a:40} {', '.join(sorted(set(w)))}")
    for p in problems:
        print(f"iam_check: {p}", file=sys.stderr)
    if problems:
        print(f"iam_check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    n = sum(len(c) for c in machines.values())
    print(f"{path}: IAM matches the code: {len(machines)} state machine(s) ({n} actions), "
          f"{len(functions)} function(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
