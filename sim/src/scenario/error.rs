//! `ScenarioError`: what is wrong with a scenario file, and where.
//!
//! Every error names the file; most also name the line and the key path (`topics[0].partitions`),
//! and all say what was expected. serde's messages are reworded into the file's vocabulary
//! ("key", "table", "array") so a user never reads Rust type names.

use super::fields::fields;
use super::model::Scenario;
use super::spans::{KeyPath, Spans};

/// A scenario file that cannot be used, located as precisely as the input allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {}{message}", line_suffix(*.line), key_prefix(.key))]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line of the offending key or value; `None` when the file as a whole is at fault
    /// (it cannot be read, or a required top-level key is missing).
    pub line: Option<usize>,
    /// Dotted key path with array indices, e.g. `topics[0].replication_factor`.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default()
}

impl ScenarioError {
    pub(crate) fn unreadable(file: &str, err: &std::io::Error) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            line: None,
            key: None,
            message: format!("cannot read the scenario file: {err}"),
        }
    }

    /// A semantic problem found after deserialising, located by its key path.
    pub(crate) fn at_path(file: &str, source: &str, path: &KeyPath, message: String) -> ScenarioError {
        let spans = Spans::parse(source);
        ScenarioError {
            file: file.to_string(),
            line: spans.line_of(path),
            key: (!path.is_root()).then(|| path.to_string()),
            message,
        }
    }

    /// A TOML syntax error or a deserialisation error (unknown key, wrong type, missing key).
    pub(crate) fn from_toml(file: &str, source: &str, err: &toml::de::Error) -> ScenarioError {
        let spans = Spans::parse(source);
        let (message, missing) = humanize(err.message());
        let mut path = None;
        let mut line = err.span().map(|span| spans.line_at(span.start));
        if let Some(span) = err.span() {
            if let Some(missing) = &missing {
                // serde reports a missing key at the table that lacks it.
                let table = spans.table_with_span(span, missing);
                line = (!table.is_root()).then_some(line).flatten();
                path = Some(table.key(missing));
            } else if spans.is_document() {
                path = Some(spans.path_at(span.start));
            }
        } else if let Some(missing) = &missing {
            path = Some(KeyPath::root().key(missing));
        }
        let mut message = message;
        if message.is_empty() {
            message =
                "invalid TOML; expected a `key = value` line, a `[table]` header or a comment".to_string();
        }
        if let (false, Some(span)) = (spans.is_document(), err.span()) {
            // A syntax error has no key to name: the column says where on the line it is.
            message.push_str(&format!(" (column {})", spans.column_at(span.start)));
        }
        if let (Some(unknown), Some(path)) = (unknown_key(err.message()), &path) {
            if path.depth() > 1 && fields::<Scenario>().contains(&unknown) {
                message.push_str(&format!(
                    "; `{unknown}` is a top-level key, and every key after a table header belongs to \
                     that table: move it above the first `[table]` or `[[table]]` header"
                ));
            }
        }
        ScenarioError {
            file: file.to_string(),
            line,
            key: path.filter(|p| !p.is_root()).map(|p| p.to_string()),
            message,
        }
    }
}

/// Rewords serde's and the TOML parser's messages; also returns the key a "missing field" names.
fn humanize(message: &str) -> (String, Option<String>) {
    let message = message.trim();
    if let Some(field) = between(message, "missing field `", "`") {
        return (format!("missing required key `{field}`"), Some(field.to_string()));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return (reword_unknown(rest, "key", "this table takes no keys"), None);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return (reword_unknown(rest, "value", "no value is accepted here"), None);
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return (format!("key {rest} is given twice; expected each key once"), None);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return (format!("expected {}, found {found}", expected_in_toml(expected)), None);
        }
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let expected = expected_in_toml(expected);
            if found.starts_with("integer") {
                return (format!("{found} is out of range; expected {expected}"), None);
            }
            return (format!("invalid value {found}; expected {expected}"), None);
        }
    }
    // A TOML syntax error: its lines are "what is wrong" then "expected ...".
    let joined: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    (joined.join("; "), None)
}

fn unknown_key(message: &str) -> Option<&str> {
    between(message, "unknown field `", "`")
}

/// "`x`, expected one of `a`, `b`" → "unknown key `x`; expected one of `a`, `b`".
fn reword_unknown(rest: &str, what: &str, when_none: &str) -> String {
    match rest.split_once(", ") {
        Some((name, "there are no fields" | "there are no variants")) => {
            format!("unknown {what} {name}; {when_none}")
        }
        Some((name, expected)) => format!("unknown {what} {name}; {expected}"),
        None => format!("unknown {what} {rest}"),
    }
}

/// Rust type names in serde's "expected ..." → what they are in a TOML file.
fn expected_in_toml(expected: &str) -> String {
    match expected {
        "u8" => "an integer from 0 to 255".to_string(),
        "u16" => "an integer from 0 to 65535".to_string(),
        "u32" => "an integer from 0 to 4294967295".to_string(),
        "u64" | "usize" => "a non-negative integer".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        e if e.starts_with("struct ") => "a table".to_string(),
        e => e.to_string(),
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(open)?;
    let end = rest.find(close)?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_key_and_message() {
        let e = ScenarioError {
            file: "scenarios/x.toml".into(),
            line: Some(12),
            key: Some("topics[0].replication_factor".into()),
            message: "too big".into(),
        };
        assert_eq!(e.to_string(), "scenarios/x.toml:12: key `topics[0].replication_factor`: too big");
        let e = ScenarioError { line: None, key: None, ..e };
        assert_eq!(e.to_string(), "scenarios/x.toml: too big");
    }

    #[test]
    fn rewords_serde_messages() {
        let cases = [
            ("missing field `topic`", "missing required key `topic`"),
            (
                "unknown field `partitons`, expected one of `name`, `partitions`",
                "unknown key `partitons`; expected one of `name`, `partitions`",
            ),
            ("unknown field `brokrs`, expected `brokers`", "unknown key `brokrs`; expected `brokers`"),
            ("unknown field `x`, there are no fields", "unknown key `x`; this table takes no keys"),
            (
                "invalid type: string \"three\", expected u32",
                "expected an integer from 0 to 4294967295, found string \"three\"",
            ),
            (
                "invalid value: integer `-1`, expected u64",
                "integer `-1` is out of range; expected a non-negative integer",
            ),
            ("invalid type: integer `3`, expected a sequence", "expected an array, found integer `3`"),
            ("invalid string\nexpected `\"`, `'`", "invalid string; expected `\"`, `'`"),
        ];
        for (serde, ours) in cases {
            assert_eq!(humanize(serde).0, ours);
        }
    }
}
