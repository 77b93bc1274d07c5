//! Where things are in a scenario file: key paths (`topics[0].partitions`) and their lines.
//!
//! serde gives the model no positions, so errors found after deserialising are located by
//! walking the same text parsed as a `toml_edit` document, which keeps every key's byte span.
//! Errors from deserialising come with a byte span; `path_at` turns it back into a key path.

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Key, Table, TableLike, Value};

/// A dotted key path with array indices: `faults[2].target[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_string()));
        path
    }

    pub fn index(&self, index: usize) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare =
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The source text, and its document when it parses.
pub struct Spans<'a> {
    source: &'a str,
    document: Option<ImDocument<&'a str>>,
}

/// A position in the document tree: items hold tables and values, arrays of tables hold tables,
/// arrays and inline tables hold values.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Item(i) => i.as_table_like(),
            Node::Table(t) => Some(t),
            Node::Value(Value::InlineTable(t)) => Some(t),
            Node::Value(_) => None,
        }
    }

    fn child_key(self, key: &str) -> Option<(&'a Key, Node<'a>)> {
        let (k, item) = self.table_like()?.get_key_value(key)?;
        Some((k, Node::Item(item)))
    }

    fn child_index(self, index: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(index).map(Node::Table),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(index).map(Node::Value)
            }
            _ => None,
        }
    }

    /// Every child with its path segment and, for keys, the key's own span.
    fn children(self) -> Vec<(Segment, Option<Range<usize>>, Node<'a>)> {
        if let Some(table) = self.table_like() {
            return table
                .iter()
                .filter_map(|(k, _)| table.get_key_value(k))
                .map(|(k, item)| (Segment::Key(k.get().to_string()), k.span(), Node::Item(item)))
                .collect();
        }
        match self {
            Node::Item(Item::ArrayOfTables(a)) => {
                a.iter().enumerate().map(|(i, t)| (Segment::Index(i), None, Node::Table(t))).collect()
            }
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.iter().enumerate().map(|(i, v)| (Segment::Index(i), None, Node::Value(v))).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

impl<'a> Spans<'a> {
    pub fn parse(source: &'a str) -> Spans<'a> {
        Spans { source, document: ImDocument::parse(source).ok() }
    }

    pub fn is_document(&self) -> bool {
        self.document.is_some()
    }

    fn root(&self) -> Option<Node<'_>> {
        self.document.as_ref().map(|d| Node::Item(d.as_item()))
    }

    /// 1-based line of a byte offset (clamped to the text).
    pub fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.source.len());
        1 + self.source.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count()
    }

    /// 1-based column, in characters, of a byte offset (clamped to the text).
    pub fn column_at(&self, offset: usize) -> usize {
        let before = &self.source.as_bytes()[..offset.min(self.source.len())];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // Count characters, not bytes: continuation bytes of UTF-8 are 0b10xxxxxx.
        1 + before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count()
    }

    /// The line of the deepest part of `path` that the file spells out: the key itself when it
    /// is there, else the table or array element that lacks it. `None` when not even the first
    /// segment is in the file (the value is a default).
    pub fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let mut node = self.root()?;
        let mut found = None;
        for segment in &path.0 {
            let (span, child) = match segment {
                Segment::Key(k) => match node.child_key(k) {
                    Some((key, child)) => (key.span().or_else(|| child.span()), child),
                    None => break,
                },
                Segment::Index(i) => match node.child_index(*i) {
                    Some(child) => (child.span(), child),
                    None => break,
                },
            };
            if let Some(span) = span {
                found = Some(span.start);
            }
            node = child;
        }
        found.map(|offset| self.line_at(offset))
    }

    /// The key path of the deepest key or value whose text covers `offset`.
    pub fn path_at(&self, offset: usize) -> KeyPath {
        let mut path = KeyPath::root();
        if let Some(root) = self.root() {
            descend(root, offset, &mut path);
        }
        path
    }

    /// The table whose span is exactly `span` and which lacks `missing`: where serde reports a
    /// missing key. The root when no nested table matches.
    pub fn table_with_span(&self, span: Range<usize>, missing: &str) -> KeyPath {
        let mut best = KeyPath::root();
        if let Some(root) = self.root() {
            find_table(root, &span, missing, &mut KeyPath::root(), &mut best);
        }
        best
    }
}

/// Extends `path` to the deepest child covering `offset`; false when no child does.
fn descend(node: Node<'_>, offset: usize, path: &mut KeyPath) -> bool {
    for (segment, key_span, child) in node.children() {
        if key_span.as_ref().is_some_and(|s| contains(s, offset)) {
            path.0.push(segment);
            return true;
        }
        match child.span() {
            Some(span) if contains(&span, offset) => {
                path.0.push(segment);
                descend(child, offset, path);
                return true;
            }
            Some(_) => {}
            // Implicit tables (`[a.b]` makes `a`) have no span of their own: look inside.
            None => {
                path.0.push(segment);
                if descend(child, offset, path) {
                    return true;
                }
                path.0.pop();
            }
        }
    }
    false
}

fn find_table(node: Node<'_>, span: &Range<usize>, missing: &str, path: &mut KeyPath, best: &mut KeyPath) {
    for (segment, _, child) in node.children() {
        path.0.push(segment);
        if let Some(table) = child.table_like() {
            if child.span().as_ref() == Some(span) && table.get(missing).is_none() {
                *best = path.clone();
            }
        }
        find_table(child, span, missing, path, best);
        path.0.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"name = "x"
cluster.brokers = 3

[[topics]]
name = "orders"

[[topics]]
name = "payments"
partitions = 3

[[faults]]
at_ms = 5
target = ["broker-1", "leader(orders/0)"]
groups = [["a"], ["b", "c"]]
"#;

    #[test]
    fn paths_display_like_toml() {
        let p = KeyPath::root().key("faults").index(2).key("groups").index(1).index(0);
        assert_eq!(p.to_string(), "faults[2].groups[1][0]");
        assert_eq!(KeyPath::root().key("expect").key("lost-write").to_string(), "expect.lost-write");
        assert_eq!(KeyPath::root().key("a b").to_string(), "\"a b\"");
    }

    #[test]
    fn line_of_a_path() {
        let s = Spans::parse(SOURCE);
        let line = |p: KeyPath| s.line_of(&p);
        assert_eq!(line(KeyPath::root().key("name")), Some(1));
        assert_eq!(line(KeyPath::root().key("cluster").key("brokers")), Some(2));
        assert_eq!(line(KeyPath::root().key("topics").index(1).key("partitions")), Some(9));
        // Absent key: the table that lacks it.
        assert_eq!(line(KeyPath::root().key("topics").index(0).key("partitions")), Some(4));
        assert_eq!(line(KeyPath::root().key("faults").index(0).key("target").index(1)), Some(13));
        assert_eq!(line(KeyPath::root().key("faults").index(0).key("groups").index(1).index(1)), Some(14));
        assert_eq!(line(KeyPath::root().key("nemesis").key("faults")), None);
    }

    #[test]
    fn path_at_an_offset() {
        let s = Spans::parse(SOURCE);
        let at = |needle: &str| s.path_at(SOURCE.find(needle).unwrap()).to_string();
        assert_eq!(at("partitions"), "topics[1].partitions");
        assert_eq!(at("3\n\n[[faults]]"), "topics[1].partitions");
        assert_eq!(at("\"leader("), "faults[0].target[1]");
        assert_eq!(at("\"c\""), "faults[0].groups[1][1]");
        assert_eq!(at("brokers"), "cluster.brokers");
    }
}
