//! serde over the span tree: typed values with errors that know where they are.
//!
//! Scalars are typed by what the target asks for, as Go's yaml.v2 (ACR's parser) does: `cpus: 2`
//! fills a string field with "2", `detach: yes` fills a bool, and an empty value in a string field is
//! the empty string.

use super::{Scalar, YKind, YNode};
use crate::taskfile::diag::Pos;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A deserialization error with the position of the value at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    /// What is wrong.
    pub message: String,
    /// Where, when known.
    pub pos: Option<Pos>,
}

impl DeError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        DeError { message: message.into(), pos: Some(pos) }
    }

    fn or_at(mut self, pos: Pos) -> Self {
        self.pos.get_or_insert(pos);
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { message: msg.to_string(), pos: None }
    }
}

/// Deserializes `T` from a tree node.
pub fn from_node<'de, T: serde::Deserialize<'de>>(node: &'de YNode) -> Result<T, DeError> {
    T::deserialize(NodeDe(node)).map_err(|e| e.or_at(node.pos))
}

struct NodeDe<'de>(&'de YNode);

impl<'de> NodeDe<'de> {
    fn scalar(&self, expected: &str) -> Result<&'de Scalar, DeError> {
        match &self.0.kind {
            YKind::Scalar(s) => Ok(s),
            _ => Err(DeError::at(self.0.pos, format!("expected {expected}, found {}", self.0.describe()))),
        }
    }

    fn mismatch(&self, expected: &str) -> DeError {
        let hint = match &self.0.kind {
            YKind::Scalar(s) if !s.plain && parse_int(&s.text).is_some() => "; remove the quotes to make it a number",
            _ => "",
        };
        DeError::at(self.0.pos, format!("expected {expected}, found {}{hint}", self.0.describe()))
    }

    fn int(&self) -> Result<i128, DeError> {
        let s = self.scalar("a whole number")?;
        if s.plain
            && let Some(n) = parse_int(&s.text)
        {
            return Ok(n);
        }
        Err(self.mismatch("a whole number"))
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let t = text.replace('_', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let n = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -n } else { n })
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let looks_numeric =
        text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric { text.parse().ok() } else { None }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Some(false),
        _ => None,
    }
}

macro_rules! int_method {
    ($name:ident, $t:ty, $visit:ident) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let n = self.int()?;
            let n = <$t>::try_from(n).map_err(|_| DeError::at(self.0.pos, format!("{n} is out of range")))?;
            v.$visit(n.into())
        }
    };
}

impl<'de> Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            YKind::Map(_) => self.deserialize_map(v),
            YKind::Seq(_) => self.deserialize_seq(v),
            YKind::Scalar(s) if !s.plain => v.visit_borrowed_str(&s.text),
            YKind::Scalar(s) if s.is_null() => v.visit_unit(),
            // The YAML 1.2 core schema here; the looser 1.1 booleans only where a bool is asked for.
            YKind::Scalar(s) if matches!(s.text.as_str(), "true" | "True" | "TRUE") => v.visit_bool(true),
            YKind::Scalar(s) if matches!(s.text.as_str(), "false" | "False" | "FALSE") => v.visit_bool(false),
            YKind::Scalar(s) => match parse_int(&s.text) {
                Some(n) if i64::try_from(n).is_ok() => v.visit_i64(n as i64),
                Some(n) if u64::try_from(n).is_ok() => v.visit_u64(n as u64),
                _ => match parse_float(&s.text) {
                    Some(f) => v.visit_f64(f),
                    None => v.visit_borrowed_str(&s.text),
                },
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.scalar("true or false")?;
        match parse_bool(&s.text).filter(|_| s.plain) {
            Some(b) => v.visit_bool(b),
            None => Err(self.mismatch("true or false")),
        }
    }

    int_method!(deserialize_i8, i8, visit_i64);
    int_method!(deserialize_i16, i16, visit_i64);
    int_method!(deserialize_i32, i32, visit_i64);
    int_method!(deserialize_i64, i64, visit_i64);
    int_method!(deserialize_u8, u8, visit_u64);
    int_method!(deserialize_u16, u16, visit_u64);
    int_method!(deserialize_u32, u32, visit_u64);
    int_method!(deserialize_u64, u64, visit_u64);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.scalar("a number")?;
        match parse_float(&s.text).filter(|_| s.plain) {
            Some(f) => v.visit_f64(f),
            None => Err(self.mismatch("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.scalar("a string")?;
        // Go's yaml.v2 puts "" in a string field for an empty value (`key:`, `key: ~`).
        if s.is_null() { v.visit_borrowed_str("") } else { v.visit_borrowed_str(&s.text) }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            YKind::Scalar(s) if s.is_null() => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            YKind::Scalar(s) if s.is_null() => v.visit_unit(),
            _ => Err(self.mismatch("an empty value")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            YKind::Seq(items) => v.visit_seq(Items(items.iter())),
            _ => Err(self.mismatch("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            YKind::Map(entries) => v.visit_map(Entries { iter: entries.iter(), value: None }),
            _ => Err(self.mismatch("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let s = self.scalar("a name")?;
        v.visit_enum(s.text.as_str().into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct Items<'de>(std::slice::Iter<'de, YNode>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.0.next() {
            Some(node) => seed.deserialize(NodeDe(node)).map(Some).map_err(|e| e.or_at(node.pos)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de> {
    iter: std::slice::Iter<'de, (String, Pos, YNode)>,
    value: Option<&'de YNode>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((key, pos, value)) => {
                self.value = Some(value);
                let de: de::value::BorrowedStrDeserializer<'de, DeError> = de::value::BorrowedStrDeserializer::new(key);
                seed.deserialize(de).map(Some).map_err(|e| e.or_at(*pos))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self.value.take().ok_or_else(|| de::Error::custom("value requested before its key"))?;
        seed.deserialize(NodeDe(node)).map_err(|e| e.or_at(node.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, parse};
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct S {
        cpus: Option<String>,
        detach: Option<bool>,
        retries: Option<i64>,
        name: String,
        env: Option<Vec<String>>,
        other: Option<serde_json::Value>,
    }

    #[test]
    fn types_follow_the_target_like_yaml_v2() {
        let t = parse(
            "cpus: 2\ndetach: yes\nretries: 3\nname:\nenv: [a=1, 2]\nother: {x: [1, true, ~, s]}\n",
            &Limits::default(),
        )
        .unwrap();
        let s: S = from_node(&t).unwrap();
        assert_eq!(s.cpus.as_deref(), Some("2"));
        assert_eq!(s.detach, Some(true));
        assert_eq!(s.retries, Some(3));
        assert_eq!(s.name, "");
        assert_eq!(s.env.unwrap(), ["a=1", "2"]);
        assert_eq!(s.other.unwrap(), serde_json::json!({"x": [1, true, null, "s"]}));
    }

    #[test]
    fn errors_point_at_the_value_and_say_what_to_do() {
        let t = parse("name: x\nretries: \"3\"\n", &Limits::default()).unwrap();
        let e = from_node::<S>(&t).unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(2, 10)));
        assert_eq!(
            e.message,
            "expected a whole number, found the quoted string \"3\"; remove the quotes to make it a number"
        );
        let t = parse("name: x\nenv: {a: b}\n", &Limits::default()).unwrap();
        assert_eq!(from_node::<S>(&t).unwrap_err().message, "expected a list, found a mapping");
    }
}
