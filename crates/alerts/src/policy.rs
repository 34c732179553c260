//! Reading IAM policy documents as CloudTrail records carry them: who a policy lets in, and
//! whether it grants everything.
//!
//! CloudTrail writes a policy document as a JSON string inside `requestParameters`
//! (`policyDocument`, `assumeRolePolicyDocument`, `bucketPolicy`), sometimes URL-encoded, and
//! sometimes already as an object. Keys are matched in any case (`Statement`, `statement`), a
//! single statement, principal, action or resource may stand alone instead of in a list.

use serde_json::Value as Json;

use crate::common::get_ci;

/// A policy document from a `requestParameters` member: an object, a JSON string, or a
/// URL-encoded JSON string. `None` when it is none of these.
pub fn document(value: &Json) -> Option<Json> {
    match value {
        Json::Object(_) => Some(value.clone()),
        Json::String(s) => serde_json::from_str(s).ok().or_else(|| {
            let decoded = percent_decode(s)?;
            serde_json::from_str(&decoded).ok()
        }),
        _ => None,
    }
}

/// `%7B%22a%22%7D` → `{"a"}`; `+` stays `+`. `None` on a broken escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A value that may be one string or a list of them, as strings.
pub fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().filter_map(Json::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The document's statements (one statement on its own counts as a list of one).
pub fn statements(doc: &Json) -> Vec<&Json> {
    match get_ci(doc, "Statement") {
        Some(Json::Array(a)) => a.iter().collect(),
        Some(one @ Json::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn allows(statement: &Json) -> bool {
    get_ci(statement, "Effect").and_then(Json::as_str).is_some_and(|e| e.eq_ignore_ascii_case("Allow"))
}

/// Whether a statement carries a non-empty `Condition`.
pub fn conditional(statement: &Json) -> bool {
    get_ci(statement, "Condition").and_then(Json::as_object).is_some_and(|c| !c.is_empty())
}

/// A principal an `Allow` statement lets in from outside `own_account`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outsider {
    /// `*`, an account id, or an ARN in another account.
    pub principal: String,
    /// The statement has a `Condition` (an external id, an organization, a source ARN).
    pub conditional: bool,
    /// The statement's actions, as written (`s3:GetObject`, `sts:AssumeRole`, `*`).
    pub actions: Vec<String>,
}

/// The AWS principals of the document's `Allow` statements that are not in `own_account`:
/// `*` (anyone), another account's id, root or any ARN of another account. Service principals
/// (`Service`) and identity providers (`Federated`) are AWS's own or the account's, and are
/// left out.
pub fn outsiders(doc: &Json, own_account: &str) -> Vec<Outsider> {
    let mut found = Vec::new();
    for s in statements(doc).into_iter().filter(|s| allows(s)) {
        let principals = match get_ci(s, "Principal") {
            Some(Json::String(p)) => vec![p.clone()],
            Some(p @ Json::Object(_)) => get_ci(p, "AWS").map(strings).unwrap_or_default(),
            _ => Vec::new(),
        };
        // `NotAction` allows all but a few: as good as everything here.
        let actions = match get_ci(s, "NotAction") {
            Some(_) => vec!["*".to_string()],
            None => get_ci(s, "Action").map(strings).unwrap_or_default(),
        };
        for p in principals {
            let account = if p == "*" {
                None
            } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Some(p.as_str())
            } else {
                // arn:aws:iam::ACCOUNT:…
                p.split(':').nth(4)
            };
            if account != Some(own_account) {
                found.push(Outsider { principal: p, conditional: conditional(s), actions: actions.clone() });
            }
        }
    }
    found
}

/// Whether an S3 action reads data or lists it (`s3:GetObject`, `s3:List*`, `s3:*`, `*`, or a
/// wildcard that reaches `s3:GetObject`); write-only grants (`s3:PutObject`, how AWS services
/// deliver logs into a bucket) are not.
pub fn reads_s3(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    a.starts_with("s3:get")
        || a.starts_with("s3:list")
        || ["s3:getobject", "s3:listbucket"].iter().any(|read| glob(a.as_bytes(), read.as_bytes()))
}

/// IAM's wildcard match: `*` any run, `?` any one character (backtracking to the last `*` only:
/// linear in practice).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// How much of everything a document grants: every action (`*`, `*:*`, or `NotAction`: all but
/// a few) on every resource (`*`, or `NotResource`). `Some(true)` when a statement does so
/// without a `Condition`, `Some(false)` when only behind one (a condition may be always true:
/// `aws:SecureTransport`), `None` when none does.
pub fn grants_everything(doc: &Json) -> Option<bool> {
    let mut found = None;
    for s in statements(doc) {
        let every_action = get_ci(s, "NotAction").is_some()
            || get_ci(s, "Action").map(strings).is_some_and(|a| a.iter().any(|x| x == "*" || x == "*:*"));
        let every_resource = get_ci(s, "NotResource").is_some()
            || get_ci(s, "Resource").map(strings).is_some_and(|r| r.iter().any(|x| x == "*"));
        if allows(s) && every_action && every_resource {
            let unconditional = !conditional(s);
            found = Some(found.unwrap_or(false) || unconditional);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_in_every_shape() {
        let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        assert_eq!(document(&doc), Some(doc.clone()));
        assert_eq!(document(&Json::String(doc.to_string())), Some(doc.clone()));
        let encoded: String = doc
            .to_string()
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        assert_eq!(document(&Json::String(encoded)), Some(doc));
        assert_eq!(document(&json!("not a policy %zz")), None);
        assert_eq!(document(&json!("%E2%28")), None, "invalid UTF-8 after decoding");
        assert_eq!(document(&json!(42)), None);
    }

    #[test]
    fn outsiders_are_other_accounts_and_anyone() {
        let own = "123456789012";
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "999988887777"]}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::464622532012:root"}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "*"},
            {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}
        ]});
        assert_eq!(
            outsiders(&doc, own),
            vec![
                Outsider {
                    principal: "999988887777".into(),
                    conditional: false,
                    actions: vec!["sts:AssumeRole".into()]
                },
                Outsider {
                    principal: "arn:aws:iam::464622532012:root".into(),
                    conditional: true,
                    actions: vec!["sts:AssumeRole".into()]
                },
            ]
        );
        let anyone =
            json!({"statement": [{"effect": "allow", "principal": "*", "action": "sts:AssumeRole"}]});
        assert_eq!(
            outsiders(&anyone, own),
            vec![Outsider {
                principal: "*".into(),
                conditional: false,
                actions: vec!["sts:AssumeRole".into()]
            }]
        );
        assert!(outsiders(&json!({"Statement": "garbage"}), own).is_empty());
    }

    #[test]
    fn reading_s3() {
        for a in [
            "s3:GetObject",
            "s3:getobjectversion",
            "s3:ListBucket",
            "s3:*",
            "*",
            "s3:Get*",
            "s3:G*",
            "s3:?etObject",
            "s?:*Object",
        ] {
            assert!(reads_s3(a), "{a}");
        }
        for a in ["s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:Put*", "logs:*"] {
            assert!(!reads_s3(a), "{a}");
        }
    }

    #[test]
    fn everything_means_every_action_on_every_resource() {
        let g = |v: Json| grants_everything(&v);
        assert_eq!(
            g(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
            Some(true)
        );
        assert_eq!(
            g(
                json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}]})
            ),
            Some(true)
        );
        assert_eq!(
            g(json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})),
            Some(true),
            "all but IAM"
        );
        assert_eq!(
            g(
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit/*"}]})
            ),
            Some(true)
        );
        assert_eq!(g(json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})), None);
        assert_eq!(
            g(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]})),
            None
        );
        assert_eq!(g(json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})), None);
        assert_eq!(
            g(json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})),
            Some(false),
            "behind a condition, which may always hold"
        );
    }
}
