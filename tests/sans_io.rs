//! Enforces the sans-IO rule and the module-doc rule of docs/ARCHITECTURE.md
//! over `src/`: outside the shell, `main.rs` and `src/bin/`, no file may name the
//! executor, sockets, the real clock, files, threads, processes or the OS random source;
//! every `.rs` file starts with a `//!` line.
//!
//! Comments (`//`, `///`, `//!`, `/* */`) are ignored so docs may mention the forbidden
//! names; string literals are not (a name in a string is still a smell worth a look).

use std::path::{Path, PathBuf};

/// Names that mean IO or real time. Matched as whole words on code with comments removed.
/// `getrandom` is a system call (or a read of `/dev/urandom`): the core gets its randomness
/// through `rand::Entropy`, which the shell feeds.
const FORBIDDEN: &[&str] = &[
    "smol",
    "getrandom",
    "async_io",
    "async-io",
    "std::net",
    "Instant::now",
    "SystemTime",
    "std::fs",
    "std::thread",
    "UdpSocket",
    "TcpStream",
    "TcpListener",
    "std::process",
];

/// `std` modules that are forbidden when imported through a group: `use std::{fs, io};`.
const FORBIDDEN_STD_MODULES: &[&str] = &["fs", "net", "thread", "process"];

/// Paths (relative to the crate root, `/`-separated) allowed to do IO.
fn is_exempt(path: &str) -> bool {
    path.starts_with("src/shell/")
        || path == "src/main.rs"
        || path.starts_with("src/bin/")
        // Reads the config and profile files once at start-up, before the core exists.
        || path == "src/config/disk.rs"
}

/// `text` with every comment replaced by spaces (newlines kept, so offsets keep their
/// line). Understands string, raw string, byte string and char literals, lifetimes, and
/// nested block comments.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_before(&chars, i) {
            // Raw string r"..." or r#"..."#: copy verbatim up to the matching close.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            out.extend(&chars[i..j.min(chars.len())]);
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(chars.len());
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\'', '\u{1F600}'), else a lifetime or label.
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&k| chars[k] == '\'' && k > i + 2)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            let end = end.map_or(i + 1, |e| e + 1);
            out.extend(&chars[i..end]);
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0
        && chars
            .get(i - 1)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// 1-based line of byte offset `at` in `code`.
fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// Every rule broken by the file at `path` (crate-relative) with contents `text`, as
/// `path:line: what`.
fn violations(path: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if !text.starts_with("//!") {
        found.push(format!(
            "{path}:1: file must start with a `//!` line (its one job, its RFC sections)"
        ));
    }
    if is_exempt(path) {
        return found;
    }
    let code = strip_comments(text);
    for name in FORBIDDEN {
        for (at, _) in code.match_indices(name) {
            let before = code[..at].chars().next_back();
            let after = code[at + name.len()..].chars().next();
            if before.is_some_and(is_ident_char) || after.is_some_and(is_ident_char) {
                continue;
            }
            found.push(format!(
                "{path}:{}: `{name}` outside src/shell/, src/main.rs and src/bin/ (sans-IO rule)",
                line_of(&code, at)
            ));
        }
    }
    for (at, _) in code.match_indices("std::{") {
        let group_start = at + "std::{".len();
        let mut depth = 1usize;
        let mut item_start = group_start;
        let mut items = Vec::new();
        for (offset, c) in code[group_start..].char_indices() {
            let pos = group_start + offset;
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => {
                    items.push((item_start, pos));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 1 => {
                    items.push((item_start, pos));
                    item_start = pos + 1;
                }
                _ => {}
            }
        }
        for (start, end) in items {
            let item = code[start..end].trim_start();
            let first = item.split(|c: char| !is_ident_char(c)).next().unwrap_or("");
            if FORBIDDEN_STD_MODULES.contains(&first) {
                let item_at = end - code[start..end].trim_start().len();
                found.push(format!(
                    "{path}:{}: `std::{first}` (in a `use std::{{...}}` group) outside src/shell/, \
                     src/main.rs and src/bin/ (sans-IO rule)",
                    line_of(&code, item_at.max(start))
                ));
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`, sorted, with its crate-relative `/`-separated path.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under the crate root");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}

#[test]
fn src_tree_obeys_the_sans_io_and_module_doc_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &root.join("src"), &mut files);
    assert!(
        files.iter().any(|(p, _)| p == "src/lib.rs"),
        "walked the wrong tree: {files:?}"
    );
    let mut all = Vec::new();
    for (rel, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        all.extend(violations(rel, &text));
    }
    assert!(all.is_empty(), "rule violations:\n{}", all.join("\n"));
}

#[test]
fn each_forbidden_name_is_caught_with_its_line() {
    for name in FORBIDDEN {
        let text = format!("//! Doc.\nfn f() {{}}\nlet x = {name}::thing;\n");
        let found = violations("src/switch/ring.rs", &text);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(
            found[0].starts_with("src/switch/ring.rs:3: `"),
            "{}",
            found[0]
        );
        assert!(found[0].contains(name), "{}", found[0]);
    }
}

#[test]
fn realistic_violations_in_a_copy_of_a_core_file() {
    let text = "//! The switch.\n\
                use std::net::SocketAddr;\n\
                fn tick() {\n    let now = std::time::Instant::now();\n}\n";
    assert_eq!(
        violations("src/switch/mod.rs", text),
        vec![
            "src/switch/mod.rs:2: `std::net` outside src/shell/, src/main.rs and src/bin/ (sans-IO rule)",
            "src/switch/mod.rs:4: `Instant::now` outside src/shell/, src/main.rs and src/bin/ (sans-IO rule)",
        ]
    );
}

#[test]
fn grouped_std_imports_are_caught() {
    let text = "//! X.\nuse std::{\n    io::Read,\n    fs::File,\n};\nuse std::{collections::{HashMap, BTreeMap}, thread};\n";
    let found = violations("src/wire/sip.rs", text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("src/wire/sip.rs:4: `std::fs`"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("src/wire/sip.rs:6: `std::thread`"),
        "{}",
        found[1]
    );
    assert!(violations("src/wire/sip.rs", "//! X.\nuse std::{io, fmt::Write};\n").is_empty());
}

#[test]
fn comments_and_docs_may_name_forbidden_things() {
    let text = "//! Uses no smol, no std::net.\n\
                /// Unlike std::fs, this is pure.\n\
                fn f() {} // Instant::now is never called\n\
                /* a block comment with UdpSocket /* nested TcpStream */ still comment */\n\
                let url = \"msrp://host\"; // SystemTime in a comment after a string\n";
    assert_eq!(violations("src/wire/msrp.rs", text), Vec::<String>::new());
}

#[test]
fn a_url_string_does_not_hide_code_after_it() {
    let text = "//! X.\nlet u = \"msrp://h\"; let t = SystemTime::UNIX_EPOCH;\n";
    let found = violations("src/wire/msrp.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/wire/msrp.rs:2: `SystemTime`"));
}

#[test]
fn literals_and_lifetimes_do_not_confuse_the_comment_stripper() {
    let text = "//! X.\n\
                fn f<'a>(s: &'a str) -> char { let _ = r#\"// \"quoted\" \"#; '\"' }\n\
                fn g() -> char { '\\'' }\n\
                let x = std::process::exit;\n";
    let found = violations("src/engine.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/engine.rs:4: `std::process`"),
        "{}",
        found[0]
    );
}

#[test]
fn whole_words_only() {
    let text = "//! X.\nlet smolder = 1; let my_smol = 2; let x = crate::core::net::Addr;\n";
    assert_eq!(violations("src/engine.rs", text), Vec::<String>::new());
}

#[test]
fn exempt_paths_may_do_io_but_still_need_a_module_doc() {
    let io = "//! Shell.\nuse std::net::UdpSocket;\nfn main() { smol::block_on(async {}) }\n";
    for path in [
        "src/shell/udp.rs",
        "src/main.rs",
        "src/bin/bench.rs",
        "src/config/disk.rs",
    ] {
        assert_eq!(violations(path, io), Vec::<String>::new(), "{path}");
    }
    let found = violations("src/config/mod.rs", io);
    assert_eq!(found.len(), 3, "{found:?}");
    let undocumented = "// plain comment\nfn main() {}\n";
    assert_eq!(
        violations("src/shell/run.rs", undocumented),
        vec![
            "src/shell/run.rs:1: file must start with a `//!` line (its one job, its RFC sections)"
        ]
    );
    assert_eq!(violations("src/wire/sdp.rs", "\n//! late doc\n").len(), 1);
}
