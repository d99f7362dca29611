use proptest::prelude::*;

use super::*;

fn words(s: &str) -> Vec<String> {
    split(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn whitespace_separates_words() {
    assert_eq!(words("  alpine   echo\thi  "), ["alpine", "echo", "hi"]);
    assert_eq!(words(""), Vec::<String>::new());
    assert_eq!(words(" \n\t "), Vec::<String>::new());
}

#[test]
fn newlines_from_folded_yaml_separate_words() {
    assert_eq!(words("helm upgrade\n  --install app\n  ./chart\n"), ["helm", "upgrade", "--install", "app", "./chart"]);
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(words(r#"echo 'a  b' '$HOME' 'x\y' 'say "hi"'"#), ["echo", "a  b", "$HOME", "x\\y", "say \"hi\""]);
}

#[test]
fn double_quotes_escape_only_special_characters() {
    assert_eq!(words(r#"echo "a \"q\" \\ \$ \` \n""#), ["echo", "a \"q\" \\ $ ` \\n"]);
}

#[test]
fn backslash_outside_quotes_escapes_anything() {
    assert_eq!(words(r"a\ b \'c\' \\d \x"), ["a b", "'c'", "\\d", "x"]);
    assert_eq!(words("trailing\\"), ["trailing\\"]);
}

#[test]
fn backslash_newline_continues_a_line() {
    assert_eq!(words("echo a\\\nb \\\n c"), ["echo", "ab", "c"]);
    assert_eq!(words("echo \"a\\\nb\""), ["echo", "ab"]);
    // Inside single quotes it is literal.
    assert_eq!(words("'a\\\nb'"), ["a\\\nb"]);
}

#[test]
fn quotes_join_adjacent_text_and_empty_quotes_make_words() {
    assert_eq!(words(r#"--build-arg=A="x y"'z'"#), ["--build-arg=A=x yz"]);
    assert_eq!(words(r#"a '' "" b"#), ["a", "", "", "b"]);
}

#[test]
fn variables_and_substitutions_stay_literal() {
    assert_eq!(words(r#"echo $HOME ${X:-y} "$(id -u)" `date`"#), ["echo", "$HOME", "${X:-y}", "$(id -u)", "`date`"]);
}

#[test]
fn hash_comments_only_at_word_start() {
    assert_eq!(words("echo a#b # comment here\nnext"), ["echo", "a#b", "next"]);
    assert_eq!(words("echo '#x' \\#y"), ["echo", "#x", "#y"]);
}

#[test]
fn unterminated_quotes_report_line_and_column() {
    assert_eq!(
        split("echo 'abc"),
        Err(ShellWordsError::UnterminatedQuote { quote: '\'', kind: "single", line: 1, column: 6 })
    );
    assert_eq!(
        split("a\n  b \"c"),
        Err(ShellWordsError::UnterminatedQuote { quote: '"', kind: "double", line: 2, column: 5 })
    );
    let msg = split("x \"y").unwrap_err().to_string();
    assert!(msg.contains("column 3") && msg.contains("double"), "{msg}");
    // An escaped quote does not open anything.
    assert_eq!(words("it\\'s"), ["it's"]);
}

#[test]
fn unicode_is_kept() {
    assert_eq!(words("echo 'héllo wörld' ✓"), ["echo", "héllo wörld", "✓"]);
}

#[test]
fn operators_are_reported_once_in_order() {
    assert_eq!(
        shell_operators("a && b || c; d | e > f < g & `h` $(i) && j"),
        ["&&", "||", ";", "|", ">", "<", "&", "`", "$("]
    );
    assert_eq!(shell_operators("alpine echo hello"), Vec::<&str>::new());
}

#[test]
fn quoted_operators_are_not_reported_except_substitutions() {
    assert_eq!(shell_operators("echo 'a && b | c' \"x; y > z\""), Vec::<&str>::new());
    assert_eq!(shell_operators("echo \"$(date) `id`\""), ["$(", "`"]);
    assert_eq!(shell_operators("echo '$(date)'"), Vec::<&str>::new());
    assert_eq!(shell_operators("echo a\\;b \\|"), Vec::<&str>::new());
    assert_eq!(shell_operators("echo ${HOME}"), Vec::<&str>::new());
}

#[test]
fn operators_in_comments_are_ignored() {
    assert_eq!(shell_operators("echo hi # a && b\nx | y"), ["|"]);
    assert_eq!(shell_operators("echo a#b;c"), [";"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_never_panics(s in "(?s).{0,200}") {
        let _ = split(&s);
        let _ = shell_operators(&s);
    }

    #[test]
    fn shell_like_text_never_panics(s in "[a-z '\"\\\\$`#;&|<>()\\n]{0,80}") {
        let _ = split(&s);
        let _ = shell_operators(&s);
    }

    #[test]
    fn plain_words_round_trip(ws in proptest::collection::vec("[a-zA-Z0-9_./=-]{1,10}", 0..8)) {
        prop_assert_eq!(split(&ws.join(" ")).unwrap(), ws);
    }
}
