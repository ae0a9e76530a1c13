//! The source's dependency rule, checked over the `crate::` paths of `src/`: the top-level
//! modules form no cycle, and `platform` imports nothing but plain data modules (modules that
//! import nothing themselves), so that the system's differences stay below everything else.
//!
//! `cargo test --test it import_graph:: -- --nocapture` also prints the layers, lowest first.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The module that holds every `cfg(target_os)` and every system call agentpipe makes its own way.
const PLATFORM: &str = "platform";

/// The crate's modules and which others each one names.
#[derive(Debug, Default)]
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
    /// `crate::` paths that reach an item through the crate root's re-exports instead of
    /// through the module it lives in, which would hide an edge.
    stray: Vec<String>,
}

impl Graph {
    /// Builds the graph from `(path under src, text)` pairs; `lib.rs` and `main.rs` are the
    /// roots, and name modules without depending on them.
    fn from_sources(files: &[(PathBuf, String)]) -> Graph {
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|(path, _)| module_path(path))
            .map(|path| path[0].clone())
            .collect();
        let mut graph = Graph::default();
        for module in &modules {
            graph.edges.entry(module.clone()).or_default();
        }
        for (path, text) in files {
            let Some(module) = module_path(path) else {
                continue;
            };
            for name in crate_names(&strip_comments(text), module.len()) {
                if name == module[0] {
                    continue;
                }
                if modules.contains(&name) {
                    graph.edges.get_mut(&module[0]).unwrap().insert(name);
                } else {
                    graph
                        .stray
                        .push(format!("{}: crate::{name}", path.display()));
                }
            }
        }
        graph
    }

    /// A cycle of modules, if there is one, as `a -> b -> a`.
    fn cycle(&self) -> Option<String> {
        fn visit<'a>(
            graph: &'a Graph,
            module: &'a str,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<String> {
            if let Some(at) = path.iter().position(|m| *m == module) {
                let mut cycle = path[at..].to_vec();
                cycle.push(module);
                return Some(cycle.join(" -> "));
            }
            if !done.insert(module) {
                return None;
            }
            path.push(module);
            for next in &graph.edges[module] {
                if let Some(cycle) = visit(graph, next, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            None
        }
        // A module is marked done on entry: one met again on the current path closes a cycle,
        // one met again elsewhere was explored already.
        let mut done = BTreeSet::new();
        self.edges
            .keys()
            .find_map(|module| visit(self, module, &mut Vec::new(), &mut done))
    }

    /// What `platform` imports that is not a plain data module.
    fn platform_above(&self) -> Vec<String> {
        self.edges
            .get(PLATFORM)
            .into_iter()
            .flatten()
            .filter(|name| !self.edges[*name].is_empty())
            .map(|name| {
                format!(
                    "{PLATFORM} -> {name} (which imports {:?})",
                    self.edges[name]
                )
            })
            .collect()
    }

    /// The modules by layer: each imports only modules of the layers below it. Without a cycle.
    fn layers(&self) -> Vec<Vec<&str>> {
        let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
        while layer.len() < self.edges.len() {
            for (module, deps) in &self.edges {
                if layer.contains_key(module.as_str()) {
                    continue;
                }
                let below: Option<Vec<usize>> = deps
                    .iter()
                    .map(|d| layer.get(d.as_str()).copied())
                    .collect();
                if let Some(below) = below {
                    let at = below.iter().max().map_or(0, |max| max + 1);
                    layer.insert(module, at);
                }
            }
        }
        let mut layers = vec![Vec::new(); layer.values().max().map_or(0, |max| max + 1)];
        for (module, at) in layer {
            layers[at].push(module);
        }
        layers
    }
}

/// The module a file under `src/` is, as its path of names (`machine/tests/mod.rs` is
/// `machine::tests`); `None` for the crate roots.
fn module_path(path: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = path
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if names.last().is_some_and(|last| last == "mod") {
        names.pop();
    }
    if names.len() == 1 && (names[0] == "lib" || names[0] == "main") {
        return None;
    }
    Some(names)
}

/// The text without its `//` comments (doc comments included: their links are not imports)
/// and `/* */` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(at), b) if b.is_none_or(|b| at < b) => {
                out.push_str(&rest[..at]);
                rest = rest[at..].find('\n').map_or("", |end| &rest[at + end..]);
            }
            (_, Some(at)) => {
                out.push_str(&rest[..at]);
                rest = rest[at..]
                    .find("*/")
                    .map_or("", |end| &rest[at + end + 2..]);
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// The crate-level names that `crate::` paths (and `super::` paths climbing to the crate root
/// from a module `depth` deep) reach first: `crate::a::b` and `crate::{a, b::c}` name `a` and
/// `b`.
fn crate_names(text: &str, depth: usize) -> Vec<String> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut names = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let starts_word = !text[..at].ends_with(is_ident);
        let climbed = if !starts_word {
            None
        } else if let Some(after) = rest.strip_prefix("crate::") {
            Some(after)
        } else if rest.starts_with("super::") {
            let mut after = rest;
            let mut levels = 0;
            while let Some(next) = after.strip_prefix("super::") {
                after = next.trim_start();
                levels += 1;
            }
            (levels >= depth).then_some(after)
        } else {
            None
        };
        let Some(after) = climbed else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        if let Some(group) = after.strip_prefix('{') {
            let mut nesting = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => nesting += 1,
                    '}' if nesting == 0 => break,
                    '}' => nesting -= 1,
                    ',' if nesting == 0 => item_start = true,
                    c if item_start && is_ident(c) => {
                        let name: String =
                            group[i..].chars().take_while(|c| is_ident(*c)).collect();
                        names.push(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
        at = text.len() - after.len();
    }
    names
}

/// Every `.rs` file under `dir`, with its path under `root`.
fn sources(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = fs::read_to_string(&path).unwrap();
            files.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
}

fn src_graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    Graph::from_sources(&files)
}

#[test]
fn src_has_no_import_cycle_and_platform_is_at_the_bottom() {
    let graph = src_graph();
    assert!(
        graph.stray.is_empty(),
        "name the module an item lives in, not the crate root's re-export: {:#?}",
        graph.stray
    );
    if let Some(cycle) = graph.cycle() {
        panic!("an import cycle between modules of src/: {cycle}");
    }
    let above = graph.platform_above();
    assert!(
        above.is_empty(),
        "platform code imports a module above it (move the type down, or define it in platform): {above:#?}"
    );
    // The rule holds: show the layers it gives.
    for (at, layer) in graph.layers().iter().enumerate() {
        println!("{at}: {}", layer.join(" "));
    }
}

/// Which system agentpipe is built for is named only below `platform`: the modules above it
/// choose by what the build script says the target has (`agentpipe_poll`, ...), never by its
/// name, so that a new system is one new platform file.
#[test]
fn only_platform_code_names_an_operating_system() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    let names = [
        "target_os",
        "target_family",
        "target_env",
        "windows",
        "unix",
    ];
    let mut found = Vec::new();
    for (path, text) in &files {
        if path.starts_with(PLATFORM) {
            continue;
        }
        for (at, line) in strip_comments(text).lines().enumerate() {
            let cfg = line.find("cfg(").or_else(|| line.find("cfg!("));
            if cfg.is_some_and(|cfg| names.iter().any(|name| line[cfg..].contains(name))) {
                found.push(format!("{}:{}: {}", path.display(), at + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "name the target's capability (a cfg set by src/platform/build.rs), not its system: {found:#?}"
    );
}

fn graph_of(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.to_string()))
        .collect();
    Graph::from_sources(&files)
}

#[test]
fn a_cycle_through_a_group_a_nested_module_or_super_is_found() {
    let graph = graph_of(&[
        ("lib.rs", "mod a; mod b; mod c;"),
        ("a.rs", "use crate::{b::X, std_like};\n"),
        ("b.rs", "// use crate::a;\nfn f() { let _ = crate::c::Y; }"),
        (
            "c/inner/mod.rs",
            "use super::super::a::Z; use super::Sibling;",
        ),
        ("c.rs", ""),
        ("std_like.rs", ""),
    ]);
    assert_eq!(graph.cycle().as_deref(), Some("a -> b -> c -> a"));
    assert_eq!(graph.edges["c"], BTreeSet::from(["a".to_string()]));
    assert!(graph.stray.is_empty(), "{:?}", graph.stray);
}

#[test]
fn a_one_way_graph_passes_and_gets_its_layers() {
    let graph = graph_of(&[
        ("data.rs", "/* crate::top */ pub struct D;"),
        ("platform/mod.rs", "use crate::data::D;"),
        ("top.rs", "use crate::{data, platform::{self, x}};"),
    ]);
    assert_eq!(graph.cycle(), None);
    assert!(graph.platform_above().is_empty());
    assert_eq!(
        graph.layers(),
        vec![vec!["data"], vec!["platform"], vec!["top"]]
    );
}

#[test]
fn platform_importing_above_it_or_a_root_re_export_is_refused() {
    let graph = graph_of(&[
        ("lib.rs", "pub use outcome::Usage;"),
        ("outcome.rs", "use crate::data::D;"),
        ("data.rs", ""),
        (
            "platform/cgroup.rs",
            "use crate::outcome::Usage; use crate::Usage;",
        ),
    ]);
    assert_eq!(graph.cycle(), None);
    assert_eq!(
        graph.platform_above().len(),
        1,
        "{:?}",
        graph.platform_above()
    );
    assert_eq!(graph.stray, vec!["platform/cgroup.rs: crate::Usage"]);
}
