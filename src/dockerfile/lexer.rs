//! Turns Dockerfile text into logical instructions the way BuildKit's parser does:
//! UTF-8 BOM, parser directives (`# escape=` changes the line-continuation character),
//! comments, blank lines, continuations (skipping comment and blank lines inside them)
//! and heredoc bodies, which are skipped so that their lines are never instructions.

use super::ScanError;
use super::words::split_raw;

/// One instruction after continuation lines have been joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Instruction {
    /// Upper-cased instruction name (`FROM`, `ARG`, …).
    pub(super) keyword: String,
    /// Everything after the keyword, with continuations joined.
    pub(super) args: String,
    /// 1-based line where the instruction starts.
    pub(super) line: u32,
}

/// The lexed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lexed {
    /// Escape / line-continuation character (`\` or `` ` ``).
    pub(super) escape: char,
    pub(super) instructions: Vec<Instruction>,
}

/// Lexes a whole Dockerfile. The only error is an unterminated heredoc.
pub(super) fn lex(text: &str) -> Result<Lexed, ScanError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Like Docker, split on `\n` only and drop one `\r` before it (CRLF files).
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let (escape, mut i) = directives(&lines);
    let mut instructions = Vec::new();
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start();
        i += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let (mut content, mut continues) = trim_continuation(first, escape);
        while continues && i < lines.len() {
            let next = lines[i];
            i += 1;
            let trimmed = next.trim_start();
            // Docker drops comment and empty lines inside a continued instruction.
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (part, more) = trim_continuation(next, escape);
            content.push_str(&part);
            continues = more;
        }
        let line = line_number(start);
        let (keyword, args) = match content.trim().split_once(char::is_whitespace) {
            Some((k, a)) => (k.to_ascii_uppercase(), a.trim_start().to_string()),
            None => (content.trim().to_ascii_uppercase(), String::new()),
        };
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for heredoc in heredocs(&content) {
                i = skip_heredoc(&lines, i, &heredoc)
                    .ok_or_else(|| ScanError::UnterminatedHeredoc { line, delimiter: heredoc.name.clone() })?;
            }
        }
        instructions.push(Instruction { keyword, args, line });
    }
    Ok(Lexed { escape, instructions })
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Reads parser directives at the top; returns the escape character and the first line
/// index that is not a directive.
fn directives(lines: &[&str]) -> (char, usize) {
    let mut escape = '\\';
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((key, value)) = parse_directive(line) else {
            return (escape, i);
        };
        // An unknown or repeated directive is a plain comment and ends the directive block.
        if !matches!(key.as_str(), "syntax" | "escape" | "check") || seen.contains(&key) {
            return (escape, i);
        }
        if key == "escape" {
            match value.as_str() {
                "`" => escape = '`',
                "\\" => escape = '\\',
                // Docker rejects other values; tolerate and keep the default.
                _ => {}
            }
        }
        seen.push(key);
    }
    (escape, lines.len())
}

/// `# key=value` (key case-insensitive) → (lower-case key, value).
fn parse_directive(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let (key, value) = rest.split_once('=')?;
    let key = key.trim_end();
    let mut chars = key.chars();
    let key_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric());
    let value = value.trim();
    (key_ok && !value.is_empty()).then(|| (key.to_ascii_lowercase(), value.to_string()))
}

/// Removes a trailing escape character (plus spaces/tabs after it) and says whether the
/// instruction continues on the next line.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest.to_string(), true),
        None => (line.to_string(), false),
    }
}

/// A heredoc opened on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heredoc {
    /// Terminator line, quotes removed.
    pub(super) name: String,
    /// `<<-`: leading tabs are ignored when looking for the terminator.
    pub(super) strip_tabs: bool,
}

/// Finds `<<NAME`, `<<-NAME`, `<<"NAME"`, `<<'NAME'` and `2<<NAME` words, in order.
/// Quoted words such as `"<<EOF"` and here-strings (`<<<`) are not heredocs.
pub(super) fn heredocs(line: &str) -> Vec<Heredoc> {
    split_raw(line, '\\')
        .into_iter()
        .filter_map(|word| {
            let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = rest.strip_prefix("<<")?;
            let (strip_tabs, rest) = match rest.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if rest.is_empty() || rest.contains('<') {
                return None;
            }
            let name = unquote(rest);
            (!name.is_empty()).then_some(Heredoc { name, strip_tabs })
        })
        .collect()
}

/// Removes shell quotes and backslash escapes from a heredoc name.
fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('\\', None | Some('"')) => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

/// Skips a heredoc body starting at line index `from`; returns the index after its
/// terminator, or `None` if the file ends first.
fn skip_heredoc(lines: &[&str], from: usize, heredoc: &Heredoc) -> Option<usize> {
    lines[from.min(lines.len())..]
        .iter()
        .position(|line| {
            let candidate = if heredoc.strip_tabs { line.trim_start_matches('\t') } else { line };
            candidate == heredoc.name
        })
        .map(|p| from + p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords(text: &str) -> Vec<(String, String, u32)> {
        lex(text).unwrap().instructions.into_iter().map(|i| (i.keyword, i.args, i.line)).collect()
    }

    #[test]
    fn continuation_comments_and_blank_lines() {
        let got = keywords("FROM a\nRUN echo \\\n  # comment\n\n  one \\  \n two\n");
        assert_eq!(got, [("FROM".into(), "a".into(), 1), ("RUN".into(), "echo   one  two".into(), 2)]);
    }

    #[test]
    fn escape_directive_changes_continuation() {
        let lexed = lex("# escape=`\nFROM a\nRUN dir c:\\ `\n  /s\n").unwrap();
        assert_eq!(lexed.escape, '`');
        assert_eq!(lexed.instructions[1].args, "dir c:\\   /s");
    }

    #[test]
    fn directives_only_count_at_the_top() {
        assert_eq!(lex("# syntax=docker/dockerfile:1\n# escape=`\nFROM a").unwrap().escape, '`');
        assert_eq!(lex("# comment\n# escape=`\nFROM a").unwrap().escape, '\\');
        assert_eq!(lex("\n# escape=`\nFROM a").unwrap().escape, '\\');
        assert_eq!(lex("FROM a\n# escape=`\n").unwrap().escape, '\\');
        assert_eq!(lex("# ESCAPE = `\nFROM a").unwrap().escape, '`');
        // An unknown directive ends the block.
        assert_eq!(lex("# foo=bar\n# escape=`\nFROM a").unwrap().escape, '\\');
    }

    #[test]
    fn heredoc_detection() {
        let names = |l: &str| heredocs(l).into_iter().map(|h| (h.name, h.strip_tabs)).collect::<Vec<_>>();
        assert_eq!(names("RUN <<EOF"), [("EOF".to_string(), false)]);
        assert_eq!(names("RUN <<-EOT bash"), [("EOT".to_string(), true)]);
        assert_eq!(names("COPY <<\"A\" <<'B' /dst/"), [("A".to_string(), false), ("B".to_string(), false)]);
        assert_eq!(names("RUN cat 3<<X"), [("X".to_string(), false)]);
        assert!(names("RUN echo \"<<EOF\"").is_empty());
        assert!(names("RUN cat <<<word").is_empty());
        assert!(names("RUN echo << EOF").is_empty());
    }

    #[test]
    fn heredoc_bodies_are_skipped() {
        let text = "FROM a\nRUN <<EOF\nFROM evil\nEOF\nRUN <<-X cat\n\tFROM evil2\n\tX\nCMD x\n";
        let kws: Vec<String> = keywords(text).into_iter().map(|k| k.0).collect();
        assert_eq!(kws, ["FROM", "RUN", "RUN", "CMD"]);
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        assert_eq!(
            lex("FROM a\nRUN <<EOF\nhello\n"),
            Err(ScanError::UnterminatedHeredoc { line: 2, delimiter: "EOF".into() })
        );
    }

    #[test]
    fn bom_crlf_and_lowercase_instructions() {
        let got = keywords("\u{feff}from a as b\r\nrun x\r\n");
        assert_eq!(got[0], ("FROM".into(), "a as b".into(), 1));
        assert_eq!(got[1].0, "RUN");
    }
}
