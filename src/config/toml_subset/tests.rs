//! Tests of the TOML-subset parser: every accepted form and every error path.

use super::*;

fn err(text: &str) -> ParseError {
    match parse(text) {
        Ok(doc) => panic!("expected an error for {text:?}, got {doc:?}"),
        Err(e) => e,
    }
}

fn single_value(text: &str) -> Value {
    let doc = parse(text).unwrap();
    assert_eq!(doc.entries.len(), 1, "{text:?}");
    doc.entries[0].value.clone()
}

#[test]
fn parses_tables_keys_values_and_lines() {
    let text = "# top comment\n\
                domain = \"example.net\" # trailing comment\n\
                \n\
                allow_adhoc = true\n\
                [limits]\n\
                ring_bytes = 16_384\n\
                [room.lobby]\n\
                nicknames = false\n\
                [room.\"my.room\"]\n\
                [ room . quiet ] # spaces are allowed around the parts\n";
    let doc = parse(text).unwrap();
    let entries: Vec<(Vec<&str>, &str, &Value, usize)> = doc
        .entries
        .iter()
        .map(|e| {
            let table = e.table.iter().map(String::as_str).collect();
            (table, e.key.as_str(), &e.value, e.line)
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (vec![], "domain", &Value::String("example.net".into()), 2),
            (vec![], "allow_adhoc", &Value::Boolean(true), 4),
            (vec!["limits"], "ring_bytes", &Value::Integer(16384), 6),
            (
                vec!["room", "lobby"],
                "nicknames",
                &Value::Boolean(false),
                8
            ),
        ]
    );
    let headers: Vec<(Vec<&str>, usize)> = doc
        .tables
        .iter()
        .map(|h| (h.table.iter().map(String::as_str).collect(), h.line))
        .collect();
    assert_eq!(
        headers,
        vec![
            (vec!["limits"], 5),
            (vec!["room", "lobby"], 7),
            (vec!["room", "my.room"], 9),
            (vec!["room", "quiet"], 10),
        ]
    );
}

#[test]
fn empty_and_comment_only_files_are_empty_documents() {
    assert_eq!(parse("").unwrap(), Document::default());
    assert_eq!(
        parse("\n  \n\t# only a comment\r\n").unwrap(),
        Document::default()
    );
}

#[test]
fn crlf_line_endings_are_accepted() {
    let doc = parse("a = 1\r\nb = \"x\"\r\n").unwrap();
    assert_eq!(doc.entries[1].value, Value::String("x".into()));
    assert_eq!(doc.entries[1].line, 2);
}

#[test]
fn strings_resolve_the_four_escapes_and_keep_hashes() {
    assert_eq!(
        single_value(r#"s = "a\"b\\c\nd\te # not a comment""#),
        Value::String("a\"b\\c\nd\te # not a comment".into())
    );
    assert_eq!(single_value("s = \"\""), Value::String(String::new()));
    assert_eq!(
        single_value("s = \"tab\there\""),
        Value::String("tab\there".into())
    );
    assert_eq!(single_value("s = \"héllo\""), Value::String("héllo".into()));
}

#[test]
fn integers_with_signs_and_separators() {
    assert_eq!(single_value("n = 0"), Value::Integer(0));
    assert_eq!(single_value("n = 1_048_576"), Value::Integer(1_048_576));
    assert_eq!(single_value("n = +7"), Value::Integer(7));
    assert_eq!(single_value("n = -7"), Value::Integer(-7));
    assert_eq!(
        single_value("n = 9223372036854775807"),
        Value::Integer(i64::MAX)
    );
    assert_eq!(
        single_value("n = -9223372036854775808"),
        Value::Integer(i64::MIN)
    );
    assert_eq!(single_value("n=5#c"), Value::Integer(5));
}

#[test]
fn booleans() {
    assert_eq!(single_value("b = true"), Value::Boolean(true));
    assert_eq!(single_value("b = false # off"), Value::Boolean(false));
}

#[test]
fn value_kinds_name_themselves() {
    assert_eq!(Value::String(String::new()).kind(), "a string");
    assert_eq!(Value::Integer(1).kind(), "an integer");
    assert_eq!(Value::Boolean(true).kind(), "a boolean");
}

#[test]
fn missing_equals() {
    assert_eq!(err("a = 1\njust words\n").line, 2);
    assert_eq!(err("just").kind, ParseErrorKind::MissingEquals);
    assert_eq!(err("key # comment").kind, ParseErrorKind::MissingEquals);
    assert_eq!(err("!x = 1").kind, ParseErrorKind::MissingEquals);
}

#[test]
fn bad_keys() {
    for text in ["= 1", "\"quoted\" = 1", "a.b = 1", "a b = 1", "ké = 1"] {
        assert_eq!(err(text).kind, ParseErrorKind::BadKey, "{text:?}");
    }
}

#[test]
fn missing_value() {
    assert_eq!(err("a =").kind, ParseErrorKind::MissingValue);
    assert_eq!(err("a =   # nothing").kind, ParseErrorKind::MissingValue);
}

#[test]
fn string_errors() {
    assert_eq!(err("s = \"open").kind, ParseErrorKind::UnterminatedString);
    assert_eq!(
        err("s = \"ends in backslash\\").kind,
        ParseErrorKind::UnterminatedString
    );
    assert_eq!(err("s = \"a\nb\"").kind, ParseErrorKind::UnterminatedString);
    assert_eq!(err(r#"s = "\u00e9""#).kind, ParseErrorKind::BadEscape);
    assert_eq!(err(r#"s = "\r""#).kind, ParseErrorKind::BadEscape);
    assert_eq!(
        err("s = \"bell\u{7}\"").kind,
        ParseErrorKind::ControlCharacter
    );
}

#[test]
fn integer_errors() {
    for text in [
        "n = 1__0", "n = _1", "n = 1_", "n = -", "n = +", "n = 12ab", "n = 1+2",
    ] {
        assert_eq!(err(text).kind, ParseErrorKind::BadInteger, "{text:?}");
    }
    assert_eq!(err("n = 007").kind, ParseErrorKind::LeadingZero);
    assert_eq!(err("n = -01").kind, ParseErrorKind::LeadingZero);
    assert_eq!(
        err("n = 9223372036854775808").kind,
        ParseErrorKind::IntegerOverflow
    );
    assert_eq!(
        err("n = -9223372036854775809").kind,
        ParseErrorKind::IntegerOverflow
    );
}

#[test]
fn unsupported_values() {
    for text in [
        "v = 1.5",
        "v = 1e3",
        "v = 0x10",
        "v = 0o7",
        "v = 0b1",
        "v = 1979-05-27",
        "v = 1-2",
        "v = 07:32:00",
        "v = [1, 2]",
        "v = { a = 1 }",
        "v = 'literal'",
        "v = \"\"\"multi\"\"\"",
        "v = True",
        "v = yes",
        "v = +inf",
        "v = nan",
    ] {
        assert_eq!(err(text).kind, ParseErrorKind::UnsupportedValue, "{text:?}");
    }
}

#[test]
fn trailing_text() {
    assert_eq!(err("a = 1 2").kind, ParseErrorKind::TrailingText);
    assert_eq!(err("a = \"x\" y").kind, ParseErrorKind::TrailingText);
    assert_eq!(err("a = true false").kind, ParseErrorKind::TrailingText);
    assert_eq!(err("[limits] x").kind, ParseErrorKind::TrailingText);
}

#[test]
fn bad_headers() {
    for text in [
        "[]",
        "[limits",
        "[[room]]",
        "[room.]",
        "[.x]",
        "[a.b.c]",
        "[\"quoted\"]",
        "[room.\"open]",
        "[room x]",
    ] {
        let kind = err(text).kind;
        assert!(
            kind == ParseErrorKind::BadHeader || kind == ParseErrorKind::UnterminatedString,
            "{text:?} gave {kind:?}"
        );
    }
    assert_eq!(
        err("[room.\"open]").kind,
        ParseErrorKind::UnterminatedString
    );
    assert_eq!(err("[a.b.c]").kind, ParseErrorKind::BadHeader);
}

#[test]
fn duplicates_name_the_first_line() {
    let e = err("[limits]\na = 1\n\n[limits]\n");
    assert_eq!(e.line, 4);
    assert_eq!(e.kind, ParseErrorKind::DuplicateTable { first_line: 1 });
    let e = err("a = 1\n# x\na = 2\n");
    assert_eq!(e.line, 3);
    assert_eq!(e.kind, ParseErrorKind::DuplicateKey { first_line: 1 });
    // The same key in different tables is fine.
    let doc = parse("a = 1\n[t]\na = 2\n[room.x]\na = 3\n").unwrap();
    assert_eq!(doc.entries.len(), 3);
}

#[test]
fn error_messages_are_one_line_and_carry_the_line_number() {
    let e = err("a = 1\nb = \"\\q\"\n");
    let text = e.to_string();
    assert!(text.starts_with("2: "), "{text}");
    assert!(text.contains("escape"), "{text}");
    let kinds = [
        ParseErrorKind::MissingEquals,
        ParseErrorKind::BadKey,
        ParseErrorKind::MissingValue,
        ParseErrorKind::UnterminatedString,
        ParseErrorKind::UnterminatedArray,
        ParseErrorKind::BadEscape,
        ParseErrorKind::ControlCharacter,
        ParseErrorKind::BadInteger,
        ParseErrorKind::LeadingZero,
        ParseErrorKind::IntegerOverflow,
        ParseErrorKind::UnsupportedValue,
        ParseErrorKind::TrailingText,
        ParseErrorKind::BadHeader,
        ParseErrorKind::DuplicateTable { first_line: 3 },
        ParseErrorKind::DuplicateKey { first_line: 3 },
    ];
    let messages: Vec<String> = kinds.iter().map(ToString::to_string).collect();
    for m in &messages {
        assert!(!m.is_empty() && !m.contains('\n'), "{m:?}");
    }
    let mut unique = messages.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        messages.len(),
        "every kind has its own message"
    );
}

#[test]
fn one_line_string_arrays() {
    let strings = |v: &[&str]| Value::Strings(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(single_value("v = []"), strings(&[]));
    assert_eq!(single_value("v = [ \"a\" ]"), strings(&["a"]));
    assert_eq!(
        single_value("v = [\"a b\", \"c\\\"d\",] # comment"),
        strings(&["a b", "c\"d"])
    );
    assert_eq!(single_value("v = [\"x,]\"]"), strings(&["x,]"]));
    assert_eq!(err("v = [\"a\"").kind, ParseErrorKind::UnterminatedArray);
    assert_eq!(err("v = [\"a\",").kind, ParseErrorKind::UnterminatedArray);
    assert_eq!(err("v = [").kind, ParseErrorKind::UnterminatedArray);
    assert_eq!(err("v = [\"a\" \"b\"]").kind, ParseErrorKind::TrailingText);
    assert_eq!(err("v = [\"a\", 1]").kind, ParseErrorKind::UnsupportedValue);
    assert_eq!(err("v = [[\"a\"]]").kind, ParseErrorKind::UnsupportedValue);
    assert_eq!(err("v = [\"a\"] x").kind, ParseErrorKind::TrailingText);
    assert_eq!(err("v = [\"a").kind, ParseErrorKind::UnterminatedString);
}
