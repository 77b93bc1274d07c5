//! `parse` never panics: arbitrary text, TOML-looking text and mutations of a valid scenario all
//! come back as `Ok` or `Err`. Whatever comes back `Ok` is fully validated (every target parses
//! and names something that exists) and round-trips through `toml::to_string`; whatever comes
//! back `Err` names a line inside the file.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use sim::layout::Layout;
use sim::scenario::{self, Scenario, Target};

const VALID: &str = include_str!("fixtures/every-key.toml");

/// Values that hit validation rules when put in place of any key's value.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "4",
    "1000",
    "60001",
    "10000000001",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "-0.5",
    "0.5",
    "nan",
    "inf",
    "true",
    "\"\"",
    "\"all\"",
    "\"broker-1\"",
    "\"broker-9\"",
    "\"leader(orders/0)\"",
    "\"leader(orders/9)\"",
    "\"follower(audit.log/0)\"",
    "\"leader(\"",
    "\"controller\"",
    "\"final-reader\"",
    "\"nemesis\"",
    "\"heal\"",
    "\"crash\"",
    "\"restart\"",
    "\"partition\"",
    "\"orders\"",
    "\"producer-1\"",
    "\"checkout\"",
    "\"never\"",
    "\"expected\"",
    "[]",
    "[\"broker-1\"]",
    "[\"heal\"]",
    "[[\"broker-1\"], [\"broker-2\"]]",
    "[[\"broker-1\"], [\"broker-1\"]]",
    "[[\"leader(orders/0)\"], [\"broker-2\"]]",
    "{}",
    "{ a = 1 }",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Remove some characters.
    Delete {
        at: Index,
        len: usize,
    },
    /// Insert arbitrary text.
    Insert {
        at: Index,
        text: String,
    },
    /// Replace the value of a `key = value` line.
    SetValue {
        line: Index,
        value: Index,
    },
    DropLine {
        line: Index,
    },
    DuplicateLine {
        line: Index,
    },
    /// Swap two lines, moving keys between tables.
    SwapLines {
        a: Index,
        b: Index,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1usize..20).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<Index>(), toml_like()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<Index>(), any::<Index>()).prop_map(|(line, value)| Mutation::SetValue { line, value }),
        any::<Index>().prop_map(|line| Mutation::DropLine { line }),
        any::<Index>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

/// Short text made of TOML's punctuation and the words scenario files use.
fn toml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just(" = ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[[".to_string()),
        Just("]]".to_string()),
        Just("\"".to_string()),
        Just(",".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(".".to_string()),
        Just("faults".to_string()),
        Just("topics".to_string()),
        Just("target".to_string()),
        Just("at_ms".to_string()),
        Just("nemesis".to_string()),
        prop::sample::select(VALUES).prop_map(str::to_string),
        "[a-z_-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn apply(source: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    match mutation {
        Mutation::Delete { at, len } => {
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            chars[..start].iter().chain(&chars[end..]).collect()
        }
        Mutation::Insert { at, text } => {
            let at = at.index(chars.len() + 1);
            chars[..at].iter().collect::<String>() + text + &chars[at..].iter().collect::<String>()
        }
        Mutation::SetValue { line, value } => {
            let i = line.index(lines.len());
            if let Some((key, _)) = lines[i].split_once(" = ") {
                lines[i] = format!("{key} = {}", VALUES[value.index(VALUES.len())]);
            }
            lines.join("\n")
        }
        Mutation::DropLine { line } => {
            lines.remove(line.index(lines.len()));
            lines.join("\n")
        }
        Mutation::DuplicateLine { line } => {
            let i = line.index(lines.len());
            lines.insert(i, lines[i].clone());
            lines.join("\n")
        }
        Mutation::SwapLines { a, b } => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            lines.join("\n")
        }
    }
}

/// A change to the document tree: well-typed more often than text edits, so it reaches the
/// semantic checks rather than stopping at TOML syntax.
#[derive(Clone, Debug)]
enum TreeEdit {
    /// Put a value from `VALUES` at some key or array element.
    Replace { node: Index, value: Index },
    /// Remove some key or array element.
    Remove { node: Index },
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>()).prop_map(|(node, value)| TreeEdit::Replace { node, value }),
        1 => any::<Index>().prop_map(|node| TreeEdit::Remove { node }),
    ]
}

/// Where a node sits: the keys and indices leading to it.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn nodes(value: &toml::Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let children: Vec<(Step, &toml::Value)> = match value {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Step::Index(i), v)).collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        path.push(step);
        out.push(path.clone());
        nodes(child, path, out);
        path.pop();
    }
}

fn edit(root: &mut toml::Value, e: &TreeEdit) {
    let mut all = Vec::new();
    nodes(root, &mut Vec::new(), &mut all);
    let index = match e {
        TreeEdit::Replace { node, .. } | TreeEdit::Remove { node } => node,
    };
    let Some(path) = (!all.is_empty()).then(|| all[index.index(all.len())].clone()) else {
        return;
    };
    let (last, parents) = path.split_last().expect("paths are not empty");
    let mut parent = &mut *root;
    for step in parents {
        parent = match step {
            Step::Key(k) => &mut parent[k.as_str()],
            Step::Index(i) => &mut parent[*i],
        };
    }
    match e {
        TreeEdit::Replace { value, .. } => {
            let text = format!("v = {}", VALUES[value.index(VALUES.len())]);
            let new: toml::Table = text.parse().expect("VALUES are TOML values");
            let new = new["v"].clone();
            match last {
                Step::Key(k) => parent[k.as_str()] = new,
                Step::Index(i) => parent[*i] = new,
            }
        }
        TreeEdit::Remove { .. } => match (parent, last) {
            (toml::Value::Table(t), Step::Key(k)) => {
                t.remove(k);
            }
            (toml::Value::Array(a), Step::Index(i)) => {
                a.remove(*i);
            }
            _ => {}
        },
    }
}

/// Failing inputs are saved beside this file (`scenario_proptest.proptest-regressions`) and
/// replayed first on the next run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

/// `parse` returned: check what it returned.
fn check(source: &str) -> Result<(), TestCaseError> {
    match scenario::parse(source, "p.toml") {
        Ok(s) => check_valid(&s),
        Err(e) => {
            prop_assert_eq!(&e.file, "p.toml");
            prop_assert!(!e.message.is_empty());
            if let Some(line) = e.line {
                prop_assert!(line >= 1 && line <= source.lines().count().max(1) + 1, "{}", e);
            }
            prop_assert!(e.to_string().starts_with("p.toml"));
            Ok(())
        }
    }
}

/// What the harness relies on: targets parse and resolve, names are unique, printing round-trips.
fn check_valid(s: &Scenario) -> Result<(), TestCaseError> {
    let layout = Layout::of(s);
    let unique: std::collections::BTreeSet<&String> = layout.names().values().collect();
    prop_assert_eq!(unique.len(), layout.names().len(), "node names are unique");
    let resolves = |t: &Target| -> bool {
        match t {
            Target::Node(name) => layout.by_name(name).is_some(),
            _ => t.topic_partition().is_none_or(|tp| {
                s.topics.iter().any(|topic| *topic.name == *tp.topic && tp.partition < topic.partitions)
            }),
        }
    };
    for f in &s.faults {
        prop_assert!(f.at_ms <= s.duration_ms);
        for t in f.target.iter().flat_map(|t| t.parsed()) {
            prop_assert!(resolves(&t), "{}", t);
        }
        for name in f.groups.iter().flatten().flatten() {
            let t = Target::parse(name).expect("group names parse");
            prop_assert!(matches!(t, Target::Node(_) | Target::Controller), "{}", t);
            prop_assert!(resolves(&t), "{}", t);
        }
    }
    if let Some(n) = &s.nemesis {
        for t in &n.targets {
            prop_assert!(resolves(&Target::parse(t).expect("nemesis targets parse")), "{}", t);
        }
    }
    for p in &s.producers {
        prop_assert!(s.topics.iter().any(|t| t.name == p.topic));
    }
    let printed = toml::to_string(s).expect("a valid scenario prints");
    let back = scenario::parse(&printed, "printed").expect("a printed scenario parses");
    prop_assert_eq!(&back, s);
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        check(&source)?;
    }

    #[test]
    fn toml_like_text_never_panics(source in toml_like()) {
        check(&source)?;
    }

    #[test]
    fn mutated_scenarios_never_panic(mutations in prop::collection::vec(mutation(), 1..5)) {
        let source = mutations.iter().fold(VALID.to_string(), |s, m| apply(&s, m));
        check(&source)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn edited_scenarios_never_panic(edits in prop::collection::vec(tree_edit(), 1..4)) {
        let mut root: toml::Value = toml::from_str(VALID).expect("the fixture is TOML");
        for e in &edits {
            edit(&mut root, e);
        }
        let source = toml::to_string(&root).expect("an edited tree prints");
        check(&source)?;
    }
}

#[test]
fn the_unmutated_scenario_is_valid() {
    check_valid(&scenario::parse(VALID, "every-key.toml").unwrap()).unwrap();
}
