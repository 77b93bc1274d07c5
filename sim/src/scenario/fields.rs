//! The keys a model struct accepts, asked of serde itself, so hints and docs tests cannot drift
//! from the model.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::cell::Cell;

/// The field names `T` deserializes (for a struct; empty for anything else).
pub fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let seen = Cell::new(&[][..]);
    let _ = T::deserialize(FieldNames { seen: &seen });
    seen.get()
}

/// A deserializer that records the field list it is asked for and then gives up.
struct FieldNames<'a> {
    seen: &'a Cell<&'static [&'static str]>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.seen.set(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ClusterSpec, Expectations};

    #[test]
    fn lists_struct_fields() {
        assert_eq!(fields::<ClusterSpec>(), ["brokers"]);
        assert!(fields::<Expectations>().contains(&"lost-write"));
        assert!(fields::<u32>().is_empty());
    }
}
