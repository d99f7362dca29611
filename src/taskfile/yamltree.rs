//! A span tree of a YAML document: every mapping key and value with its position.
//!
//! The typed parse (serde into `model`) gives values but not where they were written. Validation
//! needs both: where an unknown key is, where the bad `when` entry is, where a negative number is.
//! This tree is parsed from the same text with the same budgets, and only holds structure and
//! positions, so it stays small.

use super::diag::Pos;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A YAML node with the position of its value.
#[derive(Debug, Clone)]
pub struct YNode {
    /// Where the value starts (in the rendered text).
    pub pos: Pos,
    /// What it is.
    pub kind: YKind,
}

/// Structure of a node; scalars keep nothing but their position (the typed parse has the values).
#[derive(Debug, Clone)]
pub enum YKind {
    /// A mapping: key, key position, value.
    Map(Vec<(String, Pos, YNode)>),
    /// A sequence.
    Seq(Vec<YNode>),
    /// Any scalar, including null.
    Scalar,
}

impl YNode {
    /// The value of mapping key `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&YNode> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key position and value of mapping key `key`.
    pub fn entry(&self, key: &str) -> Option<(Pos, &YNode)> {
        match &self.kind {
            YKind::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, p, v)| (*p, v)),
            _ => None,
        }
    }

    /// Position of the value under `key`, falling back to this node's own position.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.get(key).map_or(self.pos, |v| v.pos)
    }

    /// Element `i` of a sequence.
    pub fn at(&self, i: usize) -> Option<&YNode> {
        match &self.kind {
            YKind::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// The mapping entries, or nothing.
    pub fn entries(&self) -> &[(String, Pos, YNode)] {
        match &self.kind {
            YKind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The sequence items, or nothing.
    pub fn items(&self) -> &[YNode] {
        match &self.kind {
            YKind::Seq(items) => items,
            _ => &[],
        }
    }
}

fn pos_of(loc: &serde_saphyr::Location) -> Pos {
    Pos::new(u32::try_from(loc.line()).unwrap_or(u32::MAX), u32::try_from(loc.column()).unwrap_or(u32::MAX))
}

impl<'de> Deserialize<'de> for YNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<YKind>::deserialize(d)?;
        Ok(YNode { pos: pos_of(&spanned.referenced), kind: spanned.value })
    }
}

impl<'de> Deserialize<'de> for YKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = YKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value: YNode = map.next_value()?;
            entries.push((key.value, pos_of(&key.referenced), value));
        }
        Ok(YKind::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<YNode>()? {
            items.push(item);
        }
        Ok(YKind::Seq(items))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<YKind, E> {
        Ok(YKind::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YKind, D::Error> {
        YKind::deserialize(d)
    }
}
