//! ARCHITECTURE.md is the map of the tree, and the map is checked like code:
//!
//! - Every Rust source file of every member (`src/**`, `benches/`, `examples/`, and
//!   each test binary's root under `tests/`) is named in its member's part of the code
//!   map (`cli/serve.rs`, or `serve.rs` after its folder `cli/`), or in "Testing".
//! - The modules of each crate import each other in no circle. The graph is built from
//!   every `crate::` and `super::` path of the code (in `use` lines and inline, outside
//!   comments and `#[cfg(test)]` modules): an edge from a module to a module that is
//!   neither its ancestor nor its descendant is an edge between the two siblings that
//!   hold them, under their nearest common ancestor; no circle may form among siblings.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// The members whose sources the map names, as ARCHITECTURE.md writes them.
fn members() -> Vec<String> {
    let mut members: Vec<String> = fs::read_dir(root().join("crates"))
        .expect("crates/")
        .map(|entry| format!("crates/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    members.sort();
    members.extend(["xtask".to_owned(), "fuzz".to_owned()]);
    members
}

/// Every `.rs` file under `dir`, relative to `base`, with `/` separators.
fn rust_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(base, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(base).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The files of a member the map must name: its library and binaries (`src/`, the
/// build script), benches, examples, and the root of each test binary.
fn mapped_files(member: &str) -> Vec<String> {
    let base = root().join(member);
    let mut all = Vec::new();
    for dir in ["src", "benches", "examples", "tests", "fuzz_targets"] {
        rust_files(&base, &base.join(dir), &mut all);
    }
    if base.join("build.rs").exists() {
        all.push("build.rs".to_owned());
    }
    all.retain(|file| match file.strip_prefix("tests/") {
        // A test binary is `tests/NAME.rs` or `tests/NAME/main.rs`; its other files are
        // its modules, which the test binary's own lines describe.
        Some(test) => !test.contains('/') || test.ends_with("/main.rs"),
        None => true,
    });
    all.sort();
    all
}

/// The text of ARCHITECTURE.md's part about `member`: its own section, or its bullet
/// under "Other members".
fn part<'a>(map: &'a str, member: &str) -> Option<&'a str> {
    let heading = format!("### `{member}`");
    if let Some(start) = map.find(&heading) {
        let rest = &map[start + heading.len()..];
        let end = rest.find("\n#").unwrap_or(rest.len());
        return Some(&rest[..end]);
    }
    let bullet = ["\n- `", member, "`"].concat();
    let bullet_dir = ["\n- `", member, "/`"].concat();
    let start = map.find(&bullet).or_else(|| map.find(&bullet_dir))?;
    let rest = &map[start + 1..];
    let end = rest[1..]
        .find("\n- ")
        .map(|i| i + 1)
        .into_iter()
        .chain(rest.find("\n#"))
        .min()
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether `text` names `file` (a path in its member): as itself, as its path under
/// `src/`, or by its name after its folder's.
fn names(text: &str, file: &str) -> bool {
    let in_src = file.strip_prefix("src/").unwrap_or(file);
    if [file, in_src]
        .iter()
        .any(|path| text.contains(&format!("`{path}`")))
    {
        return true;
    }
    let Some((folder, name)) = in_src.rsplit_once('/') else {
        return false;
    };
    let folder = format!("`{folder}/");
    text.find(&folder)
        .is_some_and(|at| text[at..].contains(&format!("`{name}`")))
}

fn section<'a>(map: &'a str, heading: &str) -> &'a str {
    let start = map
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} in the map"));
    let rest = &map[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn every_source_file_is_named_in_the_map() {
    let map = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let testing = section(&map, "## Testing");
    let mut unnamed = Vec::new();
    for member in members() {
        let part = part(&map, &member);
        for file in mapped_files(&member) {
            let in_part = part
                .is_some_and(|text| names(text, &file) || names(text, &format!("{member}/{file}")));
            let in_testing = names(testing, &format!("{member}/{file}")) || names(testing, &file);
            if !in_part && !in_testing {
                unnamed.push(format!("{member}/{file}"));
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md's code map does not name: {unnamed:#?}"
    );
}

/// The code of a Rust file without its comments and string literals' contents (kept as
/// empty quotes), and without `#[cfg(test)]` items.
fn code(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                // A string (raw strings hold no `crate::` paths this test needs).
                out.push_str("\"\"");
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => {
                // A char literal such as '"' (not a lifetime).
                out.push_str("' '");
                i += 3;
            }
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                // An escaped char literal: '\'', '\n', '\u{..}'.
                let close = source[i + 3..]
                    .find('\'')
                    .map_or(bytes.len(), |c| i + 4 + c);
                out.push_str("' '");
                i = close;
            }
            _ => {
                let c = source[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    without_test_items(&out)
}

/// `code` without each item that follows a `#[cfg(test)]` attribute.
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        // The item ends at its `;` or at the brace that closes its first `{`.
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The module path of a source file under `src/` (`cli/serve.rs` → `["cli", "serve"]`;
/// `lib.rs`, `main.rs` and `bin/*.rs` are the crate's roots: `[]`).
fn module_of(file: &str) -> Option<Vec<String>> {
    let in_src = file.strip_prefix("src/")?;
    if in_src.starts_with("bin/") {
        return None;
    }
    let stem = in_src.strip_suffix(".rs")?;
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    Some(parts)
}

/// The paths `code` names after `prefix` (`crate::` or `super::`), each as its segments,
/// with `{a, b::c}` groups spread out.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // part of a longer name
        }
        let mut head = Vec::new();
        if prefix == "super::" {
            // `super::super::x`
            while let Some(more) = rest.strip_prefix("super::") {
                head.push("super".to_owned());
                rest = more;
            }
        }
        spread(rest, head, &mut paths);
    }
    paths
}

/// Reads one path or `{...}` group at the start of `text`, after the segments `head`.
fn spread(text: &str, head: Vec<String>, out: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0usize;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    spread(&group[start..i], head, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    spread(&group[start..i], head.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let mut segments = head;
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_owned());
        rest = &rest[end..];
        let Some(more) = rest.strip_prefix("::") else {
            break;
        };
        rest = more;
        if rest.trim_start().starts_with('{') {
            spread(rest, segments, out);
            return;
        }
    }
    if !segments.is_empty() {
        out.push(segments);
    }
}

/// The longest prefix of `path` that is a module of the crate.
fn module_named(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|candidate| modules.contains(candidate))
        .unwrap_or_default()
}

/// The sibling edges (under their nearest common ancestor) of one crate's module graph.
fn sibling_edges(member: &str) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let base = root().join(member);
    let files: Vec<(String, Vec<String>)> = mapped_files(member)
        .into_iter()
        .filter_map(|file| module_of(&file).map(|module| (file, module)))
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(_, m)| m.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, module) in &files {
        let code = code(&fs::read_to_string(base.join(file)).unwrap());
        let mut targets: Vec<Vec<String>> = paths_after(&code, "crate::")
            .into_iter()
            .map(|path| module_named(&modules, &path))
            .collect();
        for path in paths_after(&code, "super::") {
            // `super` is the parent of the file's module (of `a` for `a/mod.rs` too).
            let mut at: Vec<String> = module.clone();
            at.pop();
            let mut rest = path.as_slice();
            while let Some((first, tail)) = rest.split_first() {
                if first != "super" {
                    break;
                }
                at.pop();
                rest = tail;
            }
            at.extend(rest.iter().cloned());
            targets.push(module_named(&modules, &at));
        }
        for target in targets {
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // an ancestor or a descendant
            }
            edges
                .entry(module[..=common].to_vec())
                .or_default()
                .insert(target[..=common].to_vec());
        }
    }
    edges
}

/// A circle of `edges`, if there is one.
fn circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found: Vec<String> = path[at..].iter().map(|n| n.join("::")).collect();
            found.push(node.join("::"));
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_each_crate_import_each_other_in_no_circle() {
    let mut circles = Vec::new();
    for member in members() {
        if let Some(found) = circle(&sibling_edges(&member)) {
            circles.push(format!("{member}: {}", found.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "modules in a circle: {circles:#?}");
}

#[test]
fn the_graph_sees_inline_paths_groups_and_super_but_not_comments_or_tests() {
    let source = r#"
        use crate::{a::{B, c::D}, e};
        // crate::commented::Out
        fn f() { crate::inline::call(); let s = "crate::quoted"; }
        use super::super::up::Thing;
        #[cfg(test)]
        mod tests { use crate::only_in_tests::X; }
    "#;
    let code = code(source);
    let found = paths_after(&code, "crate::");
    let as_text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(as_text, ["a::B", "a::c::D", "e", "inline::call"]);
    let up: Vec<String> = paths_after(&code, "super::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(up, ["super::up::Thing"]);
    let mut edges = BTreeMap::new();
    edges.insert(vec!["a".to_owned()], BTreeSet::from([vec!["b".to_owned()]]));
    edges.insert(vec!["b".to_owned()], BTreeSet::from([vec!["a".to_owned()]]));
    assert_eq!(
        circle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
