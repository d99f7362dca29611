//! The `docker build` flags drydock accepts, and "did you mean" suggestions for the rest.

/// Whether a flag takes a value or is a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlagKind {
    /// `--flag value` or `--flag=value`.
    Value,
    /// `--flag` or `--flag=true|false`.
    Bool,
}

/// One supported flag.
#[derive(Debug)]
pub(super) struct Flag {
    /// Long name without `--`.
    pub(super) long: &'static str,
    /// One-letter alias, if any.
    pub(super) short: Option<char>,
    pub(super) kind: FlagKind,
}

const fn flag(long: &'static str, short: Option<char>, kind: FlagKind) -> Flag {
    Flag { long, short, kind }
}

static FLAGS: &[Flag] = &[
    flag("tag", Some('t'), FlagKind::Value),
    flag("file", Some('f'), FlagKind::Value),
    flag("build-arg", None, FlagKind::Value),
    flag("secret-build-arg", None, FlagKind::Value),
    flag("target", None, FlagKind::Value),
    flag("platform", None, FlagKind::Value),
    flag("label", None, FlagKind::Value),
    flag("no-cache", None, FlagKind::Bool),
    flag("pull", None, FlagKind::Bool),
    flag("isolation", None, FlagKind::Value),
    flag("cache-from", None, FlagKind::Value),
    flag("network", None, FlagKind::Value),
];

/// Finds the flag for `--long` or `-s` as written.
pub(super) fn lookup(written: &str) -> Option<&'static Flag> {
    if let Some(long) = written.strip_prefix("--") {
        return FLAGS.iter().find(|f| f.long == long);
    }
    let mut chars = written.strip_prefix('-')?.chars();
    let short = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    FLAGS.iter().find(|f| f.short == Some(short))
}

/// All supported spellings, for error messages: `-t/--tag, -f/--file, --build-arg, …`.
pub(super) fn supported_list() -> String {
    FLAGS
        .iter()
        .map(|f| match f.short {
            Some(s) => format!("-{s}/--{}", f.long),
            None => format!("--{}", f.long),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The supported long flag closest to `written`, if it is plausibly a typo of it.
pub(super) fn suggest(written: &str) -> Option<String> {
    let name = written.trim_start_matches('-').to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    FLAGS
        .iter()
        .map(|f| (edit_distance(&name, f.long), f.long))
        .filter(|&(d, long)| d <= 2.max(long.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, long)| format!("--{long}"))
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("tags", "tag"), 1);
        assert_eq!(edit_distance("buildarg", "build-arg"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("--tags").as_deref(), Some("--tag"));
        assert_eq!(suggest("--build-args").as_deref(), Some("--build-arg"));
        assert_eq!(suggest("--nocache").as_deref(), Some("--no-cache"));
        assert_eq!(suggest("-T").as_deref(), Some("--tag"));
        assert_eq!(suggest("--squash"), None);
        assert_eq!(suggest("--"), None);
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("-t").map(|f| f.long), Some("tag"));
        assert_eq!(lookup("--file").map(|f| f.long), Some("file"));
        assert!(lookup("-tx").is_none());
        assert!(lookup("-").is_none());
        assert!(lookup("--rm").is_none());
    }
}
