//! Runtime values: the JSON data model plus Go times, shared cheaply through `Rc`.
//!
//! Maps are mutable (Sprig's `set`/`unset` mutate in place, as Go maps are references);
//! lists are immutable. Containers drop iteratively so a deeply nested value built by a
//! hostile template cannot overflow the stack when it is freed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use chrono::{DateTime, Utc};

/// Deepest value nesting that recursive algorithms (printing, JSON, equality) will walk.
pub(super) const MAX_VALUE_DEPTH: usize = 256;

/// A template value.
#[derive(Clone, Debug)]
pub(super) enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<List>),
    Map(Rc<Map>),
    Time(DateTime<Utc>),
}

/// An immutable list (`[]interface{}`).
#[derive(Debug, Default)]
pub(super) struct List(pub Vec<Value>);

/// A mutable string-keyed map (`map[string]interface{}`), iterated in sorted key order.
#[derive(Debug, Default)]
pub(super) struct Map(pub RefCell<BTreeMap<String, Value>>);

/// Frees nested containers with an explicit stack instead of recursion.
fn drain(mut stack: Vec<Value>) {
    while let Some(v) = stack.pop() {
        match v {
            Value::List(rc) => {
                if let Ok(mut l) = Rc::try_unwrap(rc) {
                    stack.append(&mut l.0);
                }
            }
            Value::Map(rc) => {
                if let Ok(mut m) = Rc::try_unwrap(rc) {
                    let inner = std::mem::take(m.0.get_mut());
                    stack.extend(inner.into_values());
                }
            }
            _ => {}
        }
    }
}

impl Drop for List {
    fn drop(&mut self) {
        if self.0.iter().any(Value::is_container) {
            drain(std::mem::take(&mut self.0));
        }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        let map = self.0.get_mut();
        if map.values().any(Value::is_container) {
            drain(std::mem::take(map).into_values().collect());
        }
    }
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A string value from an owned string.
    pub fn string(s: String) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(List(items)))
    }

    /// A map value.
    pub fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(Map(RefCell::new(m))))
    }

    fn is_container(&self) -> bool {
        matches!(self, Value::List(_) | Value::Map(_))
    }

    /// Converts input data; `None` if it nests deeper than [`MAX_VALUE_DEPTH`].
    pub fn from_json(j: &serde_json::Value) -> Option<Value> {
        Self::from_json_at(j, 0)
    }

    fn from_json_at(j: &serde_json::Value, depth: usize) -> Option<Value> {
        use serde_json::Value as J;
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        Some(match j {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::str(s),
            J::Array(a) => {
                let mut items = Vec::with_capacity(a.len());
                for v in a {
                    items.push(Self::from_json_at(v, depth + 1)?);
                }
                Value::list(items)
            }
            J::Object(o) => {
                let mut m = BTreeMap::new();
                for (k, v) in o {
                    m.insert(k.clone(), Self::from_json_at(v, depth + 1)?);
                }
                Value::map(m)
            }
        })
    }

    /// Go template truthiness: false, 0, "", nil and empty containers are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.0.is_empty(),
            Value::Map(m) => !m.0.borrow().is_empty(),
            Value::Time(_) => true,
        }
    }

    /// Sprig's `empty`: like falsiness, except structs (times) are never empty.
    pub fn is_empty(&self) -> bool {
        !self.truthy()
    }

    /// Go's `%T` for the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's `reflect.Kind` name for the value.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Shallow size used to charge evaluation steps for work proportional to a result.
    pub fn weight(&self) -> u64 {
        match self {
            Value::Str(s) => s.len() as u64 / 16,
            Value::List(l) => l.0.len() as u64,
            Value::Map(m) => m.0.borrow().len() as u64,
            _ => 0,
        }
    }
}

/// Why a bounded walk over a value stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WalkError {
    TooDeep,
    TooMuchWork,
}

/// `reflect.DeepEqual` on values; `budget` counts visited nodes.
pub(super) fn deep_equal(a: &Value, b: &Value, budget: &mut u64) -> Result<bool, WalkError> {
    deep_equal_at(a, b, budget, 0)
}

fn deep_equal_at(a: &Value, b: &Value, budget: &mut u64, depth: usize) -> Result<bool, WalkError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(WalkError::TooDeep);
    }
    *budget = budget.checked_sub(1).ok_or(WalkError::TooMuchWork)?;
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            if x.0.len() != y.0.len() {
                return Ok(false);
            }
            for (p, q) in x.0.iter().zip(&y.0) {
                if !deep_equal_at(p, q, budget, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            let (x, y) = (x.0.borrow(), y.0.borrow());
            if x.len() != y.len() {
                return Ok(false);
            }
            for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()) {
                if k1 != k2 || !deep_equal_at(v1, v2, budget, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// Whether `target` is reachable from `v` (used to refuse building cyclic maps).
pub(super) fn reaches(v: &Value, target: &Rc<Map>, budget: &mut u64) -> Result<bool, WalkError> {
    let mut stack: Vec<Value> = vec![v.clone()];
    while let Some(v) = stack.pop() {
        *budget = budget.checked_sub(1).ok_or(WalkError::TooMuchWork)?;
        match v {
            Value::Map(m) => {
                if Rc::ptr_eq(&m, target) {
                    return Ok(true);
                }
                stack.extend(m.0.borrow().values().filter(|c| c.is_container()).cloned());
            }
            Value::List(l) => stack.extend(l.0.iter().filter(|c| c.is_container()).cloned()),
            _ => {}
        }
    }
    Ok(false)
}
