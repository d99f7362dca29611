//! Runtime values: the JSON data model plus Go times, shared cheaply through `Rc`.
//!
//! Maps are mutable (Sprig's `set`/`unset` mutate in place, as Go maps are references);
//! lists are immutable. Containers drop iteratively so a deeply nested value built by a
//! hostile template cannot overflow the stack when it is freed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::timefmt::GoTime;

/// Deepest value nesting that recursive algorithms (printing, JSON, equality) will walk.
pub(super) const MAX_VALUE_DEPTH: usize = 256;

/// A template value.
#[derive(Clone, Debug)]
pub(super) enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// Go's `int64`: what Sprig's arithmetic returns. It prints like `Int`, but Go tells the two
    /// apart (`typeOf`, and a parameter of type `int` refuses an `int64`).
    Int64(i64),
    /// go-yaml's type for integers past `int64`.
    Uint(u64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<List>),
    Map(Rc<Map>),
    /// A `time.Time`, with the zone it shows in.
    Time(Rc<GoTime>),
    /// A Go struct (or pointer to one) that a Sprig function returns: a certificate, a semver
    /// version.
    Struct(Rc<Struct>),
}

/// An immutable list with the Go slice type it stands for.
#[derive(Debug, Default)]
pub(super) struct List(pub Vec<Value>, pub ListKind);

/// Which Go slice type a [`List`] is: most are `[]interface {}`, but some Sprig functions return
/// `[]string` (`splitList`, `keys`, `sortAlpha`...) or `[]int` (`until`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    #[default]
    Interface,
    Strings,
    Ints,
}

/// A struct value: its Go type, its exported fields in declaration order (methods without
/// arguments are listed as fields too: templates call them alike), and what `fmt.Stringer`
/// prints, if the type has a `String` method.
#[derive(Debug)]
pub(super) struct Struct {
    pub type_name: &'static str,
    /// Whether the value is a pointer to the struct (Go's kind `ptr`).
    pub pointer: bool,
    pub fields: Vec<(&'static str, Value)>,
    /// The fields `%v` prints; methods are not among them.
    pub printed: usize,
    pub display: Option<String>,
    /// What `encoding/json` writes when the type has a `MarshalJSON` method.
    pub json: Option<String>,
}

impl Struct {
    /// The field or argument-less method `name`.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    }
}

/// A mutable string-keyed map, iterated in sorted key order, with the Go type it stands for.
#[derive(Debug, Default)]
pub(super) struct Map(pub RefCell<BTreeMap<String, Value>>, pub MapKind);

/// Marks an integer key in a map's string keys (see [`encode_int_key`]).
const INT_KEY: char = '\u{10FFFF}';

/// An integer map key as a string that sorts after every ordinary key and, among integer keys,
/// numerically: the marker, then the value with its sign bit flipped in 16 hex digits.
pub(super) fn encode_int_key(i: i64) -> String {
    format!("{INT_KEY}{:016x}", (i as u64) ^ (1 << 63))
}

/// The integer an encoded key stands for.
pub(super) fn decode_int_key(k: &str) -> Option<i64> {
    let hex = k.strip_prefix(INT_KEY)?;
    u64::from_str_radix(hex, 16).ok().map(|u| (u ^ (1 << 63)) as i64)
}

/// A map key as a template sees it: an integer, or the string.
pub(super) fn key_value(k: &str) -> Value {
    match decode_int_key(k) {
        Some(i) => Value::Int(i),
        None => Value::str(k),
    }
}

/// A map key as Go prints it.
pub(super) fn key_text(k: &str) -> std::borrow::Cow<'_, str> {
    match decode_int_key(k) {
        Some(i) => std::borrow::Cow::Owned(i.to_string()),
        None => std::borrow::Cow::Borrowed(k),
    }
}

/// Which Go map type a [`Map`] is. ACR's data holds three: the root and `.Values` are
/// `templating.Values` (a named `map[string]interface{}`), maps that go-yaml decoded inside values
/// are `map[interface{}]interface{}`, and everything else (`.Run`, `dict`) is
/// `map[string]interface{}`. Sprig's dict functions take `map[string]interface{}`, so in ACR they
/// fail on a map from a values file; typing maps is what lets drydock fail alike.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum MapKind {
    #[default]
    Strings,
    Values,
    Interface,
    /// `map[string]string`, from `split` and `splitn`.
    StringStrings,
}

impl MapKind {
    /// Go's `%T`.
    pub fn type_name(self) -> &'static str {
        match self {
            MapKind::Strings => "map[string]interface {}",
            MapKind::Values => "templating.Values",
            MapKind::Interface => "map[interface {}]interface {}",
            MapKind::StringStrings => "map[string]string",
        }
    }
}

impl Map {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.borrow().get(key).cloned()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether Sprig's dict functions (typed `map[string]interface{}`) accept this map.
    pub fn is_string_keyed(&self) -> bool {
        matches!(self.1, MapKind::Strings | MapKind::Values)
    }
}

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
        Value::List(Rc::new(List(items, ListKind::Interface)))
    }

    /// A list value of a given Go type.
    pub fn list_of(items: Vec<Value>, kind: ListKind) -> Value {
        Value::List(Rc::new(List(items, kind)))
    }

    /// A struct value.
    pub fn structure(s: Struct) -> Value {
        Value::Struct(Rc::new(s))
    }

    /// A map value.
    pub fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(Map(RefCell::new(m), MapKind::Strings)))
    }

    /// A map value of a given Go type.
    pub fn map_of(m: BTreeMap<String, Value>, kind: MapKind) -> Value {
        Value::Map(Rc::new(Map(RefCell::new(m), kind)))
    }

    fn is_container(&self) -> bool {
        matches!(self, Value::List(_) | Value::Map(_))
    }

    /// Converts input data, every map a `map[string]interface{}`; `None` if it nests deeper than
    /// [`MAX_VALUE_DEPTH`].
    pub fn from_json(j: &serde_json::Value) -> Option<Value> {
        Self::from_json_at(j, 0, MapKind::Strings, MapKind::Strings)
    }

    /// Converts ACR's template data, typing maps as ACR's runner has them: the root, `.Values`
    /// and `.Secrets` are `templating.Values`, maps inside `.Values` came from go-yaml
    /// (`map[interface{}]interface{}`), and the rest are `map[string]interface{}`.
    pub fn from_acr_context(j: &serde_json::Value) -> Option<Value> {
        let serde_json::Value::Object(o) = j else { return Self::from_json(j) };
        let mut m = BTreeMap::new();
        for (k, v) in o {
            let v = match k.as_str() {
                "Values" | "Secrets" => Self::from_json_at(v, 1, MapKind::Values, MapKind::Interface)?,
                _ => Self::from_json_at(v, 1, MapKind::Strings, MapKind::Strings)?,
            };
            m.insert(k.clone(), v);
        }
        Some(Value::map_of(m, MapKind::Values))
    }

    /// `own` types a map at this level, `nested` every map below it.
    fn from_json_at(j: &serde_json::Value, depth: usize, own: MapKind, nested: MapKind) -> Option<Value> {
        use serde_json::Value as J;
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        Some(match j {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(u)) => Value::Uint(u),
                _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::str(s),
            J::Array(a) => {
                let mut items = Vec::with_capacity(a.len());
                for v in a {
                    items.push(Self::from_json_at(v, depth + 1, nested, nested)?);
                }
                Value::list(items)
            }
            J::Object(o) => {
                let mut m = BTreeMap::new();
                for (k, v) in o {
                    m.insert(k.clone(), Self::from_json_at(v, depth + 1, nested, nested)?);
                }
                Value::map_of(m, own)
            }
        })
    }

    /// Go template truthiness: false, 0, "", nil and empty containers are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Int64(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.0.is_empty(),
            Value::Map(m) => !m.0.borrow().is_empty(),
            Value::Time(_) | Value::Struct(_) => true,
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
            Value::Int64(_) => "int64",
            Value::Uint(_) => "uint64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(l) => match l.1 {
                ListKind::Interface => "[]interface {}",
                ListKind::Strings => "[]string",
                ListKind::Ints => "[]int",
            },
            Value::Map(m) => m.1.type_name(),
            Value::Struct(s) => s.type_name,
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's `reflect.Kind` name for the value.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint(_) => "uint64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Struct(s) if s.pointer => "ptr",
            Value::Struct(_) => "struct",
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
        (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Struct(x), Value::Struct(y)) => {
            if Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            if x.type_name != y.type_name || x.fields.len() != y.fields.len() {
                return Ok(false);
            }
            for ((_, p), (_, q)) in x.fields.iter().zip(&y.fields) {
                if !deep_equal_at(p, q, budget, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            if x.0.len() != y.0.len() || x.1 != y.1 {
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
            let (x_kind, y_kind) = (x.1, y.1);
            let (x, y) = (x.0.borrow(), y.0.borrow());
            if x.len() != y.len() || x_kind != y_kind {
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
