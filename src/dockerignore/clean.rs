//! Lexical path cleaning with the same results as Go's `filepath.Clean` on Unix,
//! which Docker applies to every `.dockerignore` pattern.

/// Returns the shortest equivalent of `path`: collapses `//`, drops `.` elements,
/// resolves `x/..` pairs, drops a trailing `/`, and turns the empty path into `.`.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // `/..` is `/`; a relative path keeps leading `..` elements.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn matches_go_filepath_clean() {
        let cases = [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a/", "a"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("/", "/"),
            ("/..", "/"),
            ("/../a", "/a"),
            ("//a//", "/a"),
            ("!a/../b", "b"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }
}
