//! The rules a value must follow, each with the reason a user is told when it is broken.

use calm_core::Span;

use crate::decode::did_you_mean;
use crate::diagnostic::Problems;
use crate::node::{Node, Value};
use crate::schema::Sp;

/// Cloud ALM scopes documented by SAP and seen in SAP's samples (btp-api.md §5.2). An authority
/// outside this list is only a warning: SAP adds scopes, and the list in the API guide is longer.
pub const KNOWN_AUTHORITIES: &[&str] = &[
    "imp-cdm-feature-display-ui",
    "imp-cdm-feature-manage-ui",
    "calm-api.landscape.read",
    "calm-api.subscriptions.read",
    "ops-im-display-ui",
    "ops-im-configure-ui",
    "calm-api.projects.read",
    "calm-api.projects.write",
    "calm-api.projects.private.read",
    "calm-api.projects.protected.read",
    "calm-api.tasks.read",
    "calm-api.tasks.write",
    "calm-api.processmanagement.read",
    "calm-api.processmanagement.write",
    "calm-api.processmanagement.delete",
    "calm-api.processauthoring.write",
    "calm-api.processauthoring.delete",
    "calm-api.features.read",
    "calm-api.analytics.read",
    "calm-api.analytics.providers.read",
    "calm-api.metrics.write",
    "calm-api.hm.write",
];

/// The prefix xsuaa replaces with the broker's master application name.
pub const XSMASTERAPPNAME: &str = "$XSMASTERAPPNAME.";

/// BTP regions with a Cloud Foundry environment or Service Manager (SAP's region list). Extension
/// landscapes add `-001` style suffixes. Unknown regions are a warning, not an error.
const KNOWN_REGIONS: &[&str] = &[
    "ae01", "ap10", "ap11", "ap12", "ap20", "ap21", "ap30", "br10", "br20", "br30", "ca10", "ca20",
    "ch20", "cn20", "cn40", "eu10", "eu11", "eu13", "eu20", "eu22", "eu30", "il30", "in30", "jp10",
    "jp20", "jp30", "jp31", "sa30", "sa31", "us10", "us11", "us20", "us21", "us30",
];

/// Field names whose string values are secrets wherever they appear.
const SECRET_FIELDS: &[&str] = &[
    "clientsecret",
    "client_secret",
    "password",
    "passwd",
    "passcode",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
];

pub(crate) fn region(problems: &mut Problems, region: &Sp<String>) {
    let base = region
        .value
        .split_once('-')
        .map_or(region.value.as_str(), |(b, suffix)| {
            if suffix.len() == 3 && suffix.bytes().all(|c| c.is_ascii_digit()) {
                b
            } else {
                ""
            }
        });
    if KNOWN_REGIONS.contains(&base) {
        return;
    }
    let hint = did_you_mean(&region.value, KNOWN_REGIONS.iter().copied())
        .map(|r| format!("did you mean `{r}`? "))
        .unwrap_or_default();
    problems
        .warning("calm::unknown_region", format!("unknown region `{}`", region.value))
        .label(region.span, "not a known BTP region")
        .help(format!(
            "{hint}regions look like `eu10`, `us10` or `eu20-001`; calmctl goes on, but check the name"
        ))
        .push();
}

/// A rule for a name: its length in characters and its characters. The validator and the JSON
/// Schema (`minLength`, `maxLength`, `pattern`) are both made from these constants, so that an
/// editor flags exactly the names `calmctl validate` rejects.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    /// Fewest characters.
    pub min: usize,
    /// Most characters.
    pub max: usize,
    /// Punctuation allowed besides the ASCII letters and digits.
    pub punctuation: &'static str,
    /// Whether the first and the last character must be a letter or digit.
    pub alphanumeric_ends: bool,
}

impl NameRule {
    /// Whether `value` follows the rule.
    pub fn allows(&self, value: &str) -> bool {
        let bytes = value.as_bytes();
        let allowed = |c: &u8| c.is_ascii_alphanumeric() || self.punctuation.as_bytes().contains(c);
        (self.min..=self.max).contains(&bytes.len())
            && bytes.iter().all(allowed)
            && (!self.alphanumeric_ends
                || bytes.first().is_none_or(u8::is_ascii_alphanumeric)
                    && bytes.last().is_none_or(u8::is_ascii_alphanumeric))
    }

    /// The rule's characters as an ECMA-262 regular expression (lengths are `minLength` and
    /// `maxLength` beside it).
    pub fn pattern(&self) -> String {
        let mut class = String::from("A-Za-z0-9");
        // `-` goes last, where it is literal inside a class; the others are escaped.
        for c in self.punctuation.chars().filter(|c| *c != '-') {
            class.push('\\');
            class.push(c);
        }
        if self.punctuation.contains('-') {
            class.push('-');
        }
        if self.alphanumeric_ends {
            format!("^[A-Za-z0-9]([{class}]*[A-Za-z0-9])?$")
        } else {
            format!("^[{class}]*$")
        }
    }
}

/// Tenant names become label values (`calmctl.sap/tenant=<name>`) and folder names: the rule of
/// a label value.
pub const TENANT_NAME: NameRule = NameRule {
    min: 1,
    max: 63,
    punctuation: "-_.",
    alphanumeric_ends: true,
};

/// Instance names: Cloud ALM's 32 characters, and no period, because the instance name is the
/// `xsappname`, whose characters are letters, digits, `-`, `_`, `/` and `\` (btp-api.md §5.3).
pub const INSTANCE_NAME: NameRule = NameRule {
    min: 1,
    max: 32,
    punctuation: "-_",
    alphanumeric_ends: false,
};

/// Key names: 50 characters, which leaves room for the `-yyyymmddhhmm` a rotation appends.
pub const KEY_NAME: NameRule = NameRule {
    min: 1,
    max: 50,
    punctuation: "-_",
    alphanumeric_ends: false,
};

/// `cf_api`: the base URL of a Cloud Foundry API, `https://` and a host, nothing after it
/// (`https://api.cf.eu10-004.hana.ondemand.com`). Checked without a URL parser: the rule is only
/// about its shape, and calm-btp parses it again before use.
pub(crate) fn cf_api(problems: &mut Problems, api: &Sp<String>) {
    let text = api.value.trim();
    let host = text.strip_prefix("https://").unwrap_or_default();
    let host = host.strip_suffix('/').unwrap_or(host);
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !ok {
        problems
            .error(
                "calm::cf_api",
                format!("`cf_api` `{}` is not a Cloud Foundry API URL", api.value),
            )
            .label(api.span, "expected https:// and a host name, no path")
            .help("write the API endpoint the cockpit shows for the subaccount's Cloud Foundry environment, e.g. `https://api.cf.eu10-004.hana.ondemand.com`, or leave `cf_api` out to use it automatically")
            .push();
    }
}

/// Tenant names become label values (`calmctl.sap/tenant=<name>`) and folder names.
pub(crate) fn tenant_name(problems: &mut Problems, name: &Sp<String>) {
    if TENANT_NAME.allows(&name.value) {
        return;
    }
    problems
        .error(
            "calm::tenant_name",
            format!("invalid tenant name `{}`", name.value),
        )
        .label(name.span, "not usable as a label value and folder name")
        .help(format!(
            "use {} to {} letters, digits, `-`, `_` or `.`, starting and ending with a letter or \
             digit: the name is written as a label on the objects calmctl creates",
            TENANT_NAME.min, TENANT_NAME.max
        ))
        .push();
}

pub(crate) fn is_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|c| c.is_ascii_hexdigit()))
}

pub(crate) fn subaccount(problems: &mut Problems, subaccount: &Sp<String>) {
    let v = &subaccount.value;
    let subdomain_ok = !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if subdomain_ok || is_guid(v) {
        return;
    }
    problems
        .error(
            "calm::subaccount",
            format!("`{v}` is neither a subdomain nor a GUID"),
        )
        .label(subaccount.span, "not a subaccount reference")
        .help(
            "write the subaccount's subdomain (lowercase letters, digits and `-`, at most 63) or \
             its GUID (as shown in the BTP cockpit)",
        )
        .push();
}

/// The Cloud ALM rule (SAP: at most 32 characters), tightened: `xsappname` must equal the
/// instance name, and `xsappname` allows no periods (btp-api.md §5.2, §5.3).
pub(crate) fn instance_name(problems: &mut Problems, name: &Sp<String>) {
    let v = &name.value;
    if INSTANCE_NAME.allows(v) {
        return;
    }
    let max = INSTANCE_NAME.max;
    let (label, help) = if v.contains('.') {
        (
            "contains a period",
            "Cloud ALM uses the instance name as the `xsappname`, and SAP's application security \
             descriptor syntax allows only letters, digits, `-`, `_`, `/` and `\\` in an \
             `xsappname` (SAP BTP documentation, \"Application Security Descriptor Configuration \
             Syntax\", xsappname naming conventions); use `-` or `_` instead"
                .to_owned(),
        )
    } else if v.len() > max {
        (
            "longer than 32 characters",
            format!(
                "Cloud ALM allows at most {max} characters; this has {}",
                v.len()
            ),
        )
    } else {
        (
            "invalid characters",
            "use letters, digits, `-` and `_` only (write `_` instead of spaces)".to_owned(),
        )
    };
    problems
        .error(
            "calm::instance_name",
            format!("invalid instance name `{v}`"),
        )
        .label(name.span, label)
        .help(help)
        .push();
}

/// Key names: not SAP's automatically generated `<SID>_<client>_<system number>` (e.g.
/// `ABC_100_00`), which calmctl must never touch and must not collide with.
pub(crate) fn key_name(problems: &mut Problems, name: &Sp<String>) {
    let v = &name.value;
    if calm_core::looks_generated(v) {
        problems
            .error(
                "calm::key_name_reserved",
                format!("key name `{v}` looks like one SAP generates"),
            )
            .label(name.span, "follows <SID>_<client>_<system number>")
            .help(
                "SAP Cloud ALM creates credentials named like `ABC_100_00` by itself; choose a \
                 name that cannot collide with them, such as `calm-key`",
            )
            .push();
        return;
    }
    if !KEY_NAME.allows(v) {
        problems
            .error("calm::key_name", format!("invalid key name `{v}`"))
            .label(name.span, "not a valid key name")
            .help(format!(
                "use {} to {} letters, digits, `-` and `_` (rotation appends `-yyyymmddhhmm`)",
                KEY_NAME.min, KEY_NAME.max
            ))
            .push();
    }
}

/// Normalises an authority to the form xsuaa expects, warning about unknown scopes.
pub(crate) fn authority(problems: &mut Problems, authority: &Sp<String>) -> String {
    let scope = authority
        .value
        .strip_prefix(XSMASTERAPPNAME)
        .unwrap_or(&authority.value);
    if !KNOWN_AUTHORITIES.contains(&scope) {
        let hint = did_you_mean(scope, KNOWN_AUTHORITIES.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        problems
            .warning(
                "calm::unknown_authority",
                format!("unknown Cloud ALM authority `{scope}`"),
            )
            .label(authority.span, "not a documented Cloud ALM scope")
            .help(format!(
                "{hint}see the \"API Scopes\" page of the SAP Cloud ALM API guide; calmctl passes \
                 it on as written"
            ))
            .push();
    }
    format!("{XSMASTERAPPNAME}{scope}")
}

/// Parses `90d`, `12h`, `30m`, `45s`, `2w` into seconds.
pub(crate) fn duration(problems: &mut Problems, text: &Sp<String>) -> Option<u64> {
    let v = text.value.trim();
    let (number, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let factor = match unit {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        "w" => Some(604_800),
        _ => None,
    };
    if let (Ok(n), Some(f)) = (number.parse::<u64>(), factor)
        && n > 0
    {
        return n.checked_mul(f);
    }
    problems
        .error(
            "calm::duration",
            format!("`{}` is not a duration", text.value),
        )
        .label(text.span, "expected a number and a unit")
        .help("write a positive number followed by s, m, h, d or w, e.g. `90d`")
        .push();
    None
}

/// Scans the whole document for literal secrets: a string under a secret-like field name, or a
/// PEM block anywhere. `reported` holds spans already reported, so nothing is reported twice.
pub(crate) fn literal_secrets(problems: &mut Problems, node: &Node, reported: &[Span]) {
    match &node.value {
        Value::String(s) if s.contains("-----BEGIN") && !reported.contains(&node.span) => {
            problems
                .error("calm::literal_secret", "a PEM block (certificate or private key) is written into the file")
                .label(node.span, "PEM data")
                .help(
                    "keep keys and certificates out of calm.yaml; reference them with \
                     `{ file: path/to/key.pem }` or `{ env: VARIABLE_NAME }` where a field accepts it",
                )
                .push();
        }
        Value::Sequence(items) => items
            .iter()
            .for_each(|n| literal_secrets(problems, n, reported)),
        Value::Mapping(entries) => {
            for (key, value) in entries {
                let name = key.scalar_text().to_ascii_lowercase().replace('-', "_");
                let literal = matches!(value.value, Value::String(ref s) if !s.is_empty())
                    || matches!(value.value, Value::Integer(_));
                if SECRET_FIELDS.contains(&name.as_str())
                    && literal
                    && !reported.contains(&value.span)
                {
                    problems
                        .error(
                            "calm::literal_secret",
                            format!("`{}` holds a literal secret", key.scalar_text()),
                        )
                        .label(value.span, "a secret written into the file")
                        .help(
                            "calm.yaml is reviewed and committed, so it must not hold secrets; \
                             give the secret to calmctl through an environment variable or a \
                             file (`{ env: VARIABLE_NAME }` / `{ file: path }`)",
                        )
                        .push();
                } else {
                    literal_secrets(problems, value, reported);
                }
            }
        }
        _ => {}
    }
}
