//! The engine's modules import each other in one direction only: no circle of `use` statements
//! between its files (apply/ is layered: base, runtime seam, steps, driver; see apply/mod.rs).
//!
//! The check reads the source as text: every top-level `use` of a file (`crate::…`, `super::…`,
//! `self::…`, grouped or not, `pub use` included) is an edge from the file's module to the
//! longest module path it names. `mod x;` declarations are not edges: a parent owns its children;
//! a child that also imports from its parent while the parent imports from it is a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src/apply/run.rs` → `apply::run`; `src/apply/lease/mod.rs` → `apply::lease`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level `use` statements of a file, each as one line of text.
fn top_level_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(stmt) = current.as_mut() {
            stmt.push_str(line.trim());
            if line.trim_end().ends_with(';') {
                out.extend(current.take());
            }
            continue;
        }
        let head = line.strip_prefix("pub ").unwrap_or(line);
        let head = head.strip_prefix("pub(crate) ").unwrap_or(head);
        if let Some(rest) = head.strip_prefix("use ") {
            if rest.trim_end().ends_with(';') {
                out.push(rest.trim().to_owned());
            } else {
                current = Some(rest.trim().to_owned());
            }
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e` (only the paths matter).
fn expand(stmt: &str) -> Vec<String> {
    let stmt = stmt.trim().trim_end_matches(';').trim();
    let Some(open) = stmt.find('{') else {
        return vec![stmt.split(" as ").next().unwrap_or(stmt).trim().to_owned()];
    };
    let prefix = &stmt[..open];
    let inner = &stmt[open + 1..stmt.rfind('}').unwrap_or(stmt.len())];
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .flat_map(|item| expand(&format!("{prefix}{item}")))
        .collect()
}

/// The module a `use` path lands in, seen from module `from`, if it is one of ours. `super` and
/// `self` are relative to the module itself (a file's module, or a folder's for `mod.rs`); a bare
/// first segment is a child module or an outside crate (which resolves to `from` and is dropped).
fn target(from: &str, path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut segments = path.split("::").peekable();
    let mut resolved: Vec<&str> = if segments.peek() == Some(&"crate") {
        segments.next();
        Vec::new()
    } else {
        from.split("::").filter(|s| !s.is_empty()).collect()
    };
    for s in segments {
        match s {
            "super" => {
                resolved.pop();
            }
            "self" => {}
            s => resolved.push(s),
        }
    }
    while !resolved.is_empty() {
        let candidate = resolved.join("::");
        if modules.contains(&candidate) {
            return Some(candidate);
        }
        resolved.pop();
    }
    None
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("readable");
        for stmt in top_level_uses(&text) {
            for path in expand(&stmt) {
                if let Some(to) = target(&from, &path, &modules)
                    && to != from
                {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

/// A circle through `start`, if there is one.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        edges: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(edges, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(edges, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_module_of_the_engine_imports_in_a_circle() {
    let edges = graph();
    assert!(
        edges
            .get("apply::steps")
            .is_some_and(|to| to.contains("apply::runtime")),
        "the check must see the steps' imports: {edges:#?}"
    );
    let circles: Vec<String> = edges
        .keys()
        .filter_map(|m| circle(&edges, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        circle(&edges, "a"),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        expand("super::{events::ApplyEvent, run::{Fail, Run}}"),
        vec![
            "super::events::ApplyEvent",
            "super::run::Fail",
            "super::run::Run"
        ]
    );
}
