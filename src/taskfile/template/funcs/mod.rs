//! The function table: Go's builtins plus the Sprig functions task files use.
//!
//! Functions are looked up at parse time (unknown names are syntax errors, as in Go) and
//! receive already evaluated arguments; the piped value, if any, is the last one.

mod args;
mod builtin;
mod case;
mod collections;
mod compare;
mod crypto;
mod dates;
mod dicts;
mod encoding;
mod escape;
mod json;
mod lists;
mod math;
mod misc;
mod paths;
mod random;
mod regex;
mod runes;
mod semver;
mod strings;

use chrono::{DateTime, Utc};

pub(super) use json::marshal_data;

use super::error::ErrorKind;
use super::value::Value;

/// Signature of an ordinary function.
pub(super) type FnImpl = fn(&mut FuncCtx, &[Value]) -> Result<Value, FuncError>;

/// How a function is evaluated.
#[derive(Clone, Copy)]
pub(super) enum Imp {
    /// Arguments are evaluated first, then the function is called.
    Plain(FnImpl),
    /// `and`: short-circuits, so the executor evaluates it.
    And,
    /// `or`: short-circuits, so the executor evaluates it.
    Or,
}

/// A named function with its accepted argument counts.
pub(super) struct FuncDef {
    pub name: &'static str,
    pub min: usize,
    /// `usize::MAX` for variadic functions.
    pub max: usize,
    pub imp: Imp,
}

/// A failed function call; the executor adds the position and function name.
#[derive(Debug)]
pub(super) struct FuncError {
    pub kind: ErrorKind,
    pub msg: String,
}

impl FuncError {
    /// An evaluation error.
    pub fn exec(msg: impl Into<String>) -> Self {
        FuncError { kind: ErrorKind::Exec, msg: msg.into() }
    }

    /// A resource limit error.
    pub fn limit(msg: impl Into<String>) -> Self {
        FuncError { kind: ErrorKind::Limit, msg: msg.into() }
    }
}

/// What a function may use besides its arguments.
pub(super) struct FuncCtx {
    /// The injected clock.
    pub now: DateTime<Utc>,
    /// Largest string or container a function may build.
    pub max_bytes: usize,
    /// Remaining evaluation steps; functions charge work proportional to their input.
    budget: u64,
    used: u64,
    /// Set by `index` when it looked up a missing map key (the executor records it).
    pub missed_key: Option<String>,
    /// Bit `i` set: argument `i` is nil as Go's "no value" (the piped value, a variable, a
    /// parenthesised pipeline or the `nil` literal), which Go turns into an empty map or list for
    /// a map or list parameter. A nil reached through a field (`.Values.missing`) is instead a nil
    /// `interface{}`, which such a parameter refuses. Set by the executor.
    pub bare_nils: u64,
    /// Bit `i` set: argument `i` is a number constant written in the call, which Go converts to the
    /// parameter's type (a computed value must have that type already).
    pub literals: u64,
}

impl FuncCtx {
    /// A context allowing `budget` more steps of work.
    pub fn new(now: DateTime<Utc>, max_bytes: usize, budget: u64) -> Self {
        FuncCtx { now, max_bytes, budget, used: 0, missed_key: None, bare_nils: 0, literals: 0 }
    }

    /// Whether argument `i` is a number written in the call (see `literals`).
    pub fn is_literal(&self, i: usize) -> bool {
        i < 64 && self.literals & (1 << i) != 0
    }

    /// Whether argument `i` is a bare nil (see `bare_nils`).
    pub fn is_bare_nil(&self, i: usize) -> bool {
        i < 64 && self.bare_nils & (1 << i) != 0
    }

    /// Steps consumed so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Consumes `n` steps of work.
    pub fn charge(&mut self, n: u64) -> Result<(), FuncError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.budget {
            return Err(FuncError::limit("evaluation step limit exceeded"));
        }
        Ok(())
    }

    /// Remaining step budget, for bounded walks over values.
    pub fn remaining(&self) -> u64 {
        self.budget.saturating_sub(self.used)
    }

    /// Rejects lists too long to ever print within the output limit (each item prints at
    /// least a separator and a character); this also bounds memory use.
    pub fn check_items(&self, n: usize) -> Result<(), FuncError> {
        if n > self.max_bytes / 8 {
            return Err(FuncError::limit(format!(
                "list of {n} items exceeds the limit of {} items",
                self.max_bytes / 8
            )));
        }
        Ok(())
    }

    /// Rejects results over the output size limit before building them.
    pub fn check_len(&self, n: usize) -> Result<(), FuncError> {
        if n > self.max_bytes {
            return Err(FuncError::limit(format!(
                "result of {n} bytes exceeds the output limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(())
    }
}

const VAR: usize = usize::MAX;

const fn f(name: &'static str, min: usize, max: usize, imp: FnImpl) -> FuncDef {
    FuncDef { name, min, max, imp: Imp::Plain(imp) }
}

/// Every available function, sorted by name (checked by a unit test).
static FUNCS: &[FuncDef] = &[
    f("abbrev", 2, 2, strings::abbrev),
    f("abbrevboth", 3, 3, strings::abbrevboth),
    f("add", 0, VAR, math::add),
    f("add1", 1, 1, math::add1),
    f("adler32sum", 1, 1, encoding::adler32sum),
    f("ago", 1, 1, dates::ago),
    FuncDef { name: "and", min: 1, max: VAR, imp: Imp::And },
    f("append", 2, 2, collections::append),
    f("atoi", 1, 1, math::atoi),
    f("b32dec", 1, 1, encoding::b32dec),
    f("b32enc", 1, 1, encoding::b32enc),
    f("b64dec", 1, 1, encoding::b64dec),
    f("b64enc", 1, 1, encoding::b64enc),
    f("base", 1, 1, paths::base),
    f("biggest", 1, VAR, math::max),
    f("buildCustomCert", 2, 2, crypto::build_custom_cert),
    f("camelcase", 1, 1, case::camelcase),
    f("cat", 0, VAR, strings::cat),
    f("ceil", 1, 1, math::ceil),
    f("clean", 1, 1, paths::clean),
    f("coalesce", 0, VAR, misc::coalesce),
    f("compact", 1, 1, collections::compact),
    f("concat", 0, VAR, collections::concat),
    f("contains", 2, 2, strings::contains),
    f("date", 2, 2, dates::date),
    f("dateInZone", 3, 3, dates::date_in_zone),
    f("dateModify", 2, 2, dates::date_modify),
    f("date_in_zone", 3, 3, dates::date_in_zone),
    f("date_modify", 2, 2, dates::date_modify),
    f("decryptAES", 2, 2, crypto::decrypt_aes),
    f("deepCopy", 1, 1, dicts::deep_copy),
    f("deepEqual", 2, 2, misc::deep_equal),
    f("default", 1, VAR, misc::default),
    f("derivePassword", 5, 5, crypto::derive_password),
    f("dict", 0, VAR, collections::dict),
    f("dir", 1, 1, paths::dir),
    f("div", 2, 2, math::div),
    f("empty", 1, 1, misc::empty),
    f("encryptAES", 2, 2, crypto::encrypt_aes),
    f("env", 1, 1, misc::env),
    f("eq", 1, VAR, compare::eq),
    f("expandenv", 1, 1, misc::expandenv),
    f("ext", 1, 1, paths::ext),
    f("fail", 1, 1, misc::fail),
    f("first", 1, 1, collections::first),
    f("float64", 1, 1, math::float64),
    f("floor", 1, 1, math::floor),
    f("ge", 2, 2, compare::ge),
    f("genCA", 2, 2, crypto::gen_ca),
    f("genPrivateKey", 1, 1, crypto::gen_private_key),
    f("genSelfSignedCert", 4, 4, crypto::gen_self_signed_cert),
    f("genSignedCert", 5, 5, crypto::gen_signed_cert),
    f("gt", 2, 2, compare::gt),
    f("has", 2, 2, collections::has),
    f("hasKey", 2, 2, collections::has_key),
    f("hasPrefix", 2, 2, strings::has_prefix),
    f("hasSuffix", 2, 2, strings::has_suffix),
    f("hello", 0, 0, strings::hello),
    f("html", 0, VAR, escape::html),
    f("htmlDate", 1, 1, dates::html_date),
    f("htmlDateInZone", 2, 2, dates::html_date_in_zone),
    f("indent", 2, 2, strings::indent),
    f("index", 1, VAR, builtin::index),
    f("initial", 1, 1, collections::initial),
    f("initials", 1, 1, strings::initials),
    f("int", 1, 1, math::int),
    f("int64", 1, 1, math::int64),
    f("isAbs", 1, 1, paths::is_abs),
    f("join", 2, 2, strings::join),
    f("js", 0, VAR, escape::js),
    f("kebabcase", 1, 1, case::kebabcase),
    f("keys", 0, VAR, collections::keys),
    f("kindIs", 2, 2, misc::kind_is),
    f("kindOf", 1, 1, misc::kind_of),
    f("last", 1, 1, collections::last),
    f("le", 2, 2, compare::le),
    f("len", 1, 1, builtin::len),
    f("list", 0, VAR, collections::list),
    f("lower", 1, 1, strings::lower),
    f("lt", 2, 2, compare::lt),
    f("max", 1, VAR, math::max),
    f("merge", 1, VAR, dicts::merge),
    f("mergeOverwrite", 1, VAR, dicts::merge_overwrite),
    f("min", 1, VAR, math::min),
    f("mod", 2, 2, math::modulo),
    f("mul", 1, VAR, math::mul),
    f("ne", 2, 2, compare::ne),
    f("nindent", 2, 2, strings::nindent),
    f("nospace", 1, 1, strings::nospace),
    f("not", 1, 1, builtin::not),
    f("now", 0, 0, dates::now),
    f("omit", 1, VAR, dicts::omit),
    FuncDef { name: "or", min: 1, max: VAR, imp: Imp::Or },
    f("pick", 1, VAR, dicts::pick),
    f("pluck", 1, VAR, collections::pluck),
    f("plural", 3, 3, strings::plural),
    f("prepend", 2, 2, collections::prepend),
    f("print", 0, VAR, builtin::print),
    f("printf", 1, VAR, builtin::printf),
    f("println", 0, VAR, builtin::println),
    f("push", 2, 2, collections::append),
    f("quote", 0, VAR, strings::quote),
    f("randAlpha", 1, 1, random::rand_alpha),
    f("randAlphaNum", 1, 1, random::rand_alpha_num),
    f("randAscii", 1, 1, random::rand_ascii),
    f("randNumeric", 1, 1, random::rand_numeric),
    f("regexFind", 2, 2, regex::regex_find),
    f("regexFindAll", 3, 3, regex::regex_find_all),
    f("regexMatch", 2, 2, regex::regex_match),
    f("regexReplaceAll", 3, 3, regex::regex_replace_all),
    f("regexReplaceAllLiteral", 3, 3, regex::regex_replace_all_literal),
    f("regexSplit", 3, 3, regex::regex_split),
    f("repeat", 2, 2, strings::repeat),
    f("replace", 3, 3, strings::replace),
    f("rest", 1, 1, collections::rest),
    f("reverse", 1, 1, collections::reverse),
    f("round", 2, VAR, math::round),
    f("semver", 1, 1, semver::semver),
    f("semverCompare", 2, 2, semver::semver_compare),
    f("set", 3, 3, collections::set),
    f("sha1sum", 1, 1, encoding::sha1sum),
    f("sha256sum", 1, 1, encoding::sha256sum),
    f("shuffle", 1, 1, random::shuffle),
    f("slice", 1, VAR, builtin::slice),
    f("snakecase", 1, 1, case::snakecase),
    f("sortAlpha", 1, 1, collections::sort_alpha),
    f("split", 2, 2, strings::split),
    f("splitList", 2, 2, strings::split_list),
    f("splitn", 3, 3, strings::splitn),
    f("squote", 0, VAR, strings::squote),
    f("sub", 2, 2, math::sub),
    f("substr", 3, 3, strings::substr),
    f("swapcase", 1, 1, case::swapcase),
    f("ternary", 3, 3, misc::ternary),
    f("title", 1, 1, case::title),
    f("toDate", 2, 2, dates::to_date),
    f("toDecimal", 1, 1, math::to_decimal),
    f("toJson", 1, 1, json::to_json_fn),
    f("toPrettyJson", 1, 1, json::to_pretty_json_fn),
    f("toString", 1, 1, misc::to_string),
    f("toStrings", 1, 1, misc::to_strings),
    f("trim", 1, 1, strings::trim),
    f("trimAll", 2, 2, strings::trim_all),
    f("trimPrefix", 2, 2, strings::trim_prefix),
    f("trimSuffix", 2, 2, strings::trim_suffix),
    f("trimall", 2, 2, strings::trim_all),
    f("trunc", 2, 2, strings::trunc),
    f("tuple", 0, VAR, collections::list),
    f("typeIs", 2, 2, misc::type_is),
    f("typeIsLike", 2, 2, lists::type_is_like),
    f("typeOf", 1, 1, misc::type_of),
    f("uniq", 1, 1, collections::uniq),
    f("unixEpoch", 1, 1, dates::unix_epoch),
    f("unset", 2, 2, collections::unset),
    f("until", 1, 1, lists::until),
    f("untilStep", 3, 3, lists::until_step),
    f("untitle", 1, 1, case::untitle),
    f("upper", 1, 1, strings::upper),
    f("urlJoin", 1, 1, paths::url_join),
    f("urlParse", 1, 1, paths::url_parse),
    f("urlquery", 0, VAR, escape::urlquery),
    f("uuidv4", 0, 0, random::uuidv4),
    f("values", 1, 1, collections::values),
    f("without", 1, VAR, collections::without),
    f("wrap", 2, 2, strings::wrap),
    f("wrapWith", 3, 3, strings::wrap_with),
];

/// Finds a function by name.
pub(super) fn lookup(name: &str) -> Option<&'static FuncDef> {
    FUNCS.binary_search_by(|d| d.name.cmp(name)).ok().map(|i| &FUNCS[i])
}

/// All function names, for suggestions.
pub(super) fn names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|d| d.name)
}

/// Why a well-known Go/Sprig function is deliberately missing, for a better error message.
pub(super) fn disabled_reason(name: &str) -> Option<&'static str> {
    Some(match name {
        "getHostByName" => "resolving names from a task file is disabled",
        "randBytes" | "randInt" => "it is not part of Sprig v2.22, which ACR's runner uses",
        "call" => "call is not supported",
        "required" | "get" | "fromJson" | "toYaml" | "fromYaml" | "include" | "tpl" | "lookup" => {
            "it is a Helm function, not part of Sprig v2.22, which ACR's runner uses"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod table_tests {
    use super::FUNCS;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in FUNCS.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
    }
}
