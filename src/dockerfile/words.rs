//! Splitting instruction arguments into words on unquoted whitespace, keeping quotes and
//! escapes in the words (like BuildKit's lexer with raw quotes), so that later steps can
//! expand variables and remove quotes with full knowledge of what was quoted.

/// Splits `text` on whitespace that is outside quotes and not escaped with `escape`.
pub(super) fn split_raw(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.push(c);
            }
            // Single quotes have no escapes; elsewhere the escape keeps the next char.
            Some('\'') => {
                word.push(c);
                if c == '\'' {
                    quote = None;
                }
            }
            _ if c == escape => {
                word.push(c);
                word.extend(chars.next());
            }
            Some(q) if c == q => {
                word.push(c);
                quote = None;
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::split_raw;

    #[test]
    fn keeps_quotes_and_escapes() {
        assert_eq!(split_raw("a  'b c' \"d \\\" e\" f\\ g", '\\'), ["a", "'b c'", "\"d \\\" e\"", "f\\ g"]);
        assert_eq!(split_raw("x` y z", '`'), ["x` y", "z"]);
        assert_eq!(split_raw("  ", '\\'), Vec::<String>::new());
        assert_eq!(split_raw("'unterminated x", '\\'), ["'unterminated x"]);
    }
}
