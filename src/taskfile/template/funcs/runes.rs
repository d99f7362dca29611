//! Go's `unicode` package as Sprig and its helpers use it: category tests by general
//! category (Go's `IsUpper` means `Lu`, not the wider Unicode `Uppercase` property) and the
//! simple one-to-one case mappings (`ToUpper('ß')` stays `ß`; `ToLower('İ')` is `i`).

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// `unicode.IsUpper`: category Lu.
pub(super) fn is_upper(c: char) -> bool {
    c.general_category() == GeneralCategory::UppercaseLetter
}

/// `unicode.IsLower`: category Ll.
pub(super) fn is_lower(c: char) -> bool {
    c.general_category() == GeneralCategory::LowercaseLetter
}

/// `unicode.IsTitle`: category Lt.
pub(super) fn is_title(c: char) -> bool {
    c.general_category() == GeneralCategory::TitlecaseLetter
}

/// `unicode.IsLetter`: categories L*.
pub(super) fn is_letter(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Letter
}

/// `unicode.IsNumber`: categories N*.
pub(super) fn is_number(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Number
}

/// `unicode.IsPunct`: categories P*.
pub(super) fn is_punct(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// `unicode.IsSpace`: Go's list is exactly Unicode's White_Space property.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// The one character a full case mapping yields, if it yields exactly one.
fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Greek letters with ypogegrammeni: their full upper case is two letters, but the simple
/// mapping Go uses goes to the titlecase letter with prosgegrammeni.
fn greek_iota_upper(c: char) -> Option<char> {
    let u = c as u32;
    let mapped = match u {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => u + 8,
        0x1FB3 | 0x1FC3 | 0x1FF3 => u + 9,
        _ => return None,
    };
    char::from_u32(mapped)
}

/// `unicode.ToUpper`.
pub(super) fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    greek_iota_upper(c).or_else(|| single(c.to_uppercase())).unwrap_or(c)
}

/// `unicode.ToLower`.
pub(super) fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == '\u{130}' {
        // Capital I with dot: the full mapping adds a combining dot, the simple one does not.
        return 'i';
    }
    single(c.to_lowercase()).unwrap_or(c)
}

/// `unicode.ToTitle`: upper case, except for the Latin digraphs (which have a separate
/// titlecase letter) and Georgian Mkhedruli (whose titlecase is itself).
pub(super) fn to_title(c: char) -> char {
    let mapped = match c as u32 {
        0x1C4..=0x1C6 => 0x1C5,
        0x1C7..=0x1C9 => 0x1C8,
        0x1CA..=0x1CC => 0x1CB,
        0x1F1..=0x1F3 => 0x1F2,
        0x10D0..=0x10FA | 0x10FD..=0x10FF => return c,
        _ => return to_upper(c),
    };
    char::from_u32(mapped).unwrap_or(c)
}

/// Go's string conversion of bytes as they print after a JSON round trip: every byte that
/// is not part of a valid UTF-8 sequence becomes U+FFFD (Go slices strings by bytes, so
/// `substr`/`trunc` can cut a character in two; drydock strings must stay valid UTF-8).
pub(super) fn from_go_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                // Go's decoder rejects one byte at a time.
                out.push('\u{FFFD}');
                rest = &bad[1..];
            }
        }
    }
    out
}

/// A byte slice of `s` as Go would take it, made printable with [`from_go_bytes`].
pub(super) fn byte_slice(s: &str, from: usize, to: usize) -> String {
    match s.get(from..to) {
        Some(t) => t.to_string(),
        None => from_go_bytes(&s.as_bytes()[from..to]),
    }
}

/// A byte taken as a rune, as goutils does (`rune(str[i])`): Latin-1, so bytes of
/// multi-byte characters come out as separate characters.
pub(super) fn latin1(b: u8) -> char {
    char::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_case_mappings() {
        assert_eq!(to_upper('ß'), 'ß');
        assert_eq!(to_upper('\u{1F80}'), '\u{1F88}');
        assert_eq!(to_upper('\u{1FB3}'), '\u{1FBC}');
        assert_eq!(to_lower('\u{130}'), 'i');
        assert_eq!(to_title('\u{1C6}'), '\u{1C5}');
        assert_eq!(to_title('ა'), 'ა');
        assert_eq!(to_upper('ა'), '\u{1C90}');
    }

    #[test]
    fn go_categories() {
        assert!(!is_upper('Ⅰ'));
        assert!(!is_lower('ª'));
        assert!(is_letter('ª'));
        assert!(!is_letter('\u{301}'));
        assert!(is_punct('_') && is_punct('-') && !is_punct('$'));
        assert!(is_space('\u{85}') && is_space('\u{a0}'));
    }

    #[test]
    fn invalid_bytes_become_one_replacement_each() {
        assert_eq!(from_go_bytes(&[0xe4, 0xb8]), "\u{FFFD}\u{FFFD}");
        assert_eq!(from_go_bytes(b"a\xc3b"), "a\u{FFFD}b");
        assert_eq!(byte_slice("中a", 0, 2), "\u{FFFD}\u{FFFD}");
    }
}
