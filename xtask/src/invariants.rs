//! Architecture invariants of ARCHITECTURE.md, checked as tests over the workspace itself, in the manner of
//! rust-analyzer's `xtask` tidy tests.
//!
//! Each rule is a pure function from parsed data (the `cargo metadata` graph read by `cargo_metadata`, or source
//! files parsed by `syn`) to a list of violations, so the same function runs on the real workspace and on small
//! hand-made inputs that break the rule; the tests on hand-made inputs prove that every check can fail.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_metadata::{DependencyKind, Metadata, TargetKind};

/// The crates that touch the terminal or parse command lines; only the `mf` binary's crate may use them.
const FRONT_END: [&str; 4] = ["ratatui", "crossterm", "clap", "indicatif"];

/// The one-way order of the workspace: a crate may depend only on crates of a lower layer. `xtask` stands
/// outside it (see [`allowed`]).
const LAYERS: [(&str, u8); 9] = [
    ("mf-paper", 0),
    ("mf-plot", 0),
    ("mf-core", 1),
    ("mf-data", 1),
    ("mf-esn", 2),
    ("mf-rnn", 2),
    ("mf-lab", 3),
    ("mf-tui", 4),
    ("mf-py", 4),
];

// ---------------------------------------------------------------------------------------------------------------
// The dependency graph
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Build,
    Dev,
}

impl From<DependencyKind> for Kind {
    fn from(kind: DependencyKind) -> Kind {
        match kind {
            DependencyKind::Development => Kind::Dev,
            DependencyKind::Build => Kind::Build,
            _ => Kind::Normal,
        }
    }
}

#[derive(Debug)]
struct Dep {
    name: String,
    kind: Kind,
    /// The name the crate's code knows the dependency by, where the manifest renames it.
    rename: Option<String>,
}

impl Dep {
    /// The dependency's name in code: the rename if any, else the package name with `-` as `_`.
    fn ident(&self) -> String {
        self.rename
            .as_deref()
            .unwrap_or(&self.name)
            .replace('-', "_")
    }
}

#[derive(Debug)]
struct Member {
    name: String,
    /// Folder holding the crate's `Cargo.toml`.
    dir: PathBuf,
    /// Root files of the crate's library and binary targets, where crate-level attributes live.
    roots: Vec<PathBuf>,
    /// Every target's root file and the kind of code it holds: library and binary targets are normal code,
    /// tests, benchmarks and examples dev code, the build script build code.
    targets: Vec<(Kind, PathBuf)>,
    deps: Vec<Dep>,
}

#[derive(Debug)]
struct Workspace {
    root: PathBuf,
    members: Vec<Member>,
    /// Package id to package name, over every package of the resolve.
    names: BTreeMap<String, String>,
    /// Package id to the ids it depends on as a normal dependency, for some target; features are unified over the
    /// whole workspace, so a closure read from here can only over-approximate a crate's own.
    normal_edges: BTreeMap<String, Vec<String>>,
}

impl Workspace {
    fn parse(meta: &Metadata) -> Workspace {
        let members = meta
            .workspace_packages()
            .into_iter()
            .map(|p| Member {
                name: p.name.to_string(),
                dir: p
                    .manifest_path
                    .parent()
                    .expect("manifest in a folder")
                    .into(),
                roots: p
                    .targets
                    .iter()
                    .filter(|t| {
                        t.kind.iter().any(|k| {
                            matches!(
                                k,
                                TargetKind::Lib
                                    | TargetKind::RLib
                                    | TargetKind::DyLib
                                    | TargetKind::CDyLib
                                    | TargetKind::StaticLib
                                    | TargetKind::ProcMacro
                                    | TargetKind::Bin
                            )
                        })
                    })
                    .map(|t| t.src_path.clone().into())
                    .collect(),
                targets: p
                    .targets
                    .iter()
                    .map(|t| {
                        let kind = if t.kind.contains(&TargetKind::CustomBuild) {
                            Kind::Build
                        } else if t.kind.iter().any(|k| {
                            matches!(
                                k,
                                TargetKind::Test | TargetKind::Bench | TargetKind::Example
                            )
                        }) {
                            Kind::Dev
                        } else {
                            Kind::Normal
                        };
                        (kind, t.src_path.clone().into())
                    })
                    .collect(),
                deps: p
                    .dependencies
                    .iter()
                    .map(|d| Dep {
                        name: d.name.clone(),
                        kind: d.kind.into(),
                        rename: d.rename.clone(),
                    })
                    .collect(),
            })
            .collect();
        let names = meta
            .packages
            .iter()
            .map(|p| (p.id.repr.clone(), p.name.to_string()))
            .collect();
        let normal_edges = meta
            .resolve
            .iter()
            .flat_map(|r| &r.nodes)
            .map(|node| {
                let deps = node
                    .deps
                    .iter()
                    .filter(|d| {
                        d.dep_kinds
                            .iter()
                            .any(|k| Kind::from(k.kind) == Kind::Normal)
                    })
                    .map(|d| d.pkg.repr.clone())
                    .collect();
                (node.id.repr.clone(), deps)
            })
            .collect();
        Workspace {
            root: meta.workspace_root.clone().into(),
            members,
            names,
            normal_edges,
        }
    }

    fn member(&self, name: &str) -> Result<&Member, String> {
        self.members
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| format!("{name} is not a member of the workspace"))
    }

    fn is_member(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Normal => "normal",
        Kind::Build => "build",
        Kind::Dev => "dev",
    }
}

/// `mf-paper` holds published facts only and depends on no crate at all (normal and build dependencies).
fn paper_violations(ws: &Workspace) -> Vec<String> {
    match ws.member("mf-paper") {
        Err(e) => vec![e],
        Ok(paper) => paper
            .deps
            .iter()
            .filter(|d| d.kind != Kind::Dev)
            .map(|d| format!("mf-paper -> {} ({})", d.name, kind_name(d.kind)))
            .collect(),
    }
}

/// `mf-core` and `mf-data` sit on `mf-paper` alone within the workspace.
fn foundation_violations(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["mf-core", "mf-data"] {
        match ws.member(name) {
            Err(e) => out.push(e),
            Ok(m) => out.extend(
                m.deps
                    .iter()
                    .filter(|d| {
                        d.kind != Kind::Dev && d.name != "mf-paper" && ws.is_member(&d.name)
                    })
                    .map(|d| format!("{name} -> {} ({})", d.name, kind_name(d.kind))),
            ),
        }
    }
    out
}

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|&(_, l)| l)
}

/// Whether workspace crate `from` may depend on workspace crate `to`. xtask uses the paper's facts, the figure
/// helpers and, to time them, the numerical crates; it runs experiments only through the `mf` binary.
fn allowed(from: &str, to: &str) -> bool {
    if from == "xtask" {
        return matches!(
            to,
            "mf-paper" | "mf-plot" | "mf-core" | "mf-data" | "mf-esn" | "mf-rnn"
        );
    }
    match (layer(from), layer(to)) {
        (Some(a), Some(b)) => b < a,
        _ => false,
    }
}

/// Every dependency between workspace crates, of any kind, points down the layer order; a crate may name
/// itself as a dev-dependency (to turn on test features).
fn layer_violations(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for m in &ws.members {
        if m.name != "xtask" && layer(&m.name).is_none() {
            out.push(format!(
                "{} has no place in the layer order of invariants.rs",
                m.name
            ));
            continue;
        }
        for d in m.deps.iter().filter(|d| ws.is_member(&d.name)) {
            let own_tests = d.kind == Kind::Dev && d.name == m.name;
            if !own_tests && !allowed(&m.name, &d.name) {
                out.push(format!("{} -> {} ({})", m.name, d.name, kind_name(d.kind)));
            }
        }
    }
    out
}

/// No crate but `mf-tui` names a terminal or command-line crate as a direct normal dependency; `xtask`, a
/// developer tool binary, may use clap.
fn front_end_violations(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for m in ws.members.iter().filter(|m| m.name != "mf-tui") {
        for d in &m.deps {
            let banned = FRONT_END.contains(&d.name.as_str());
            let tool_cli = m.name == "xtask" && d.name == "clap";
            if d.kind == Kind::Normal && banned && !tool_cli {
                out.push(format!("{} -> {}", m.name, d.name));
            }
        }
    }
    out
}

/// `mf-tui` is a front end: of the workspace's crates it depends (in any kind) on the experiment library and the
/// figure helpers only, never on a model crate, the data layer or the numerical libraries under them.
const FRONT_END_MAY_USE: [&str; 2] = ["mf-lab", "mf-plot"];

/// Numerical crates a front end reaches only through `mf-lab`.
const BELOW_THE_LIBRARY: [&str; 3] = ["faer", "candle-core", "ndarray"];

fn front_end_is_thin_violations(ws: &Workspace) -> Vec<String> {
    let Ok(tui) = ws.member("mf-tui") else {
        return vec!["mf-tui is not a member".into()];
    };
    tui.deps
        .iter()
        .filter(|d| {
            (ws.is_member(&d.name) && !FRONT_END_MAY_USE.contains(&d.name.as_str()))
                || BELOW_THE_LIBRARY.contains(&d.name.as_str())
        })
        .map(|d| format!("mf-tui -> {} ({})", d.name, kind_name(d.kind)))
        .collect()
}

/// The paths from `name` to every terminal or command-line crate in its normal dependency closure.
fn closure_violations(ws: &Workspace, name: &str) -> Vec<String> {
    let Some(start) = ws
        .names
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(id, _)| id.clone())
    else {
        return vec![format!("{name} is not in the resolve graph")];
    };
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    let mut out = Vec::new();
    while let Some(id) = queue.pop_front() {
        let pkg = &ws.names[&id];
        if FRONT_END.contains(&pkg.as_str()) {
            let mut path = vec![pkg.clone()];
            let mut at = &id;
            while let Some(p) = parent.get(at) {
                path.push(ws.names[p].clone());
                at = p;
            }
            path.reverse();
            out.push(path.join(" -> "));
            continue;
        }
        for next in ws.normal_edges.get(&id).into_iter().flatten() {
            if *next != start && !parent.contains_key(next) {
                parent.insert(next.clone(), id.clone());
                queue.push_back(next.clone());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Code, read by syn
// ---------------------------------------------------------------------------------------------------------------

/// One segment of a path named in code, with the line it stands on.
#[derive(Debug, Clone, PartialEq)]
struct Seg {
    name: String,
    line: usize,
    /// Whether the segment was named inside a `use` group (`use std::{fs}`) rather than after `::`.
    grouped: bool,
}

/// A path named in code: in an expression, a type, a pattern or an attribute, in a `use` tree, after
/// `extern crate`, or as `a::b` inside a macro invocation's tokens.
#[derive(Debug, Clone, PartialEq)]
struct Named {
    segs: Vec<Seg>,
    /// From a `use` tree or `extern crate`, where a single segment names a crate.
    import: bool,
    /// Inside an item under `#[cfg(test)]` or `#[test]`.
    test: bool,
}

/// A module declared by `mod name;` whose code lives in a file of its own.
#[derive(Debug, Clone, PartialEq)]
struct ModDecl {
    name: String,
    /// The inline modules (`mod a { ... }`) around the declaration, outermost first.
    inline: Vec<String>,
    /// The `#[path = "..."]` attribute's value.
    path: Option<String>,
    test: bool,
}

/// What one source file's code holds, comments and literals left out.
#[derive(Debug, Default)]
struct Scan {
    named: Vec<Named>,
    /// Lines of every `unsafe` block, function, impl, trait, extern block or function-pointer type, and of the
    /// keyword inside macro tokens.
    unsafe_lines: Vec<usize>,
    /// Whether the file's inner attributes hold `#![forbid(unsafe_code)]`.
    forbids_unsafe: bool,
    mods: Vec<ModDecl>,
}

/// Parses `text` as a Rust file and reads what it names.
fn scan(text: &str) -> Result<Scan, String> {
    let file = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!("{}:{}: {e}", at.line, at.column + 1)
    })?;
    let mut v = Scanner::default();
    v.out.forbids_unsafe = file.attrs.iter().any(|a| {
        matches!(a.style, syn::AttrStyle::Inner(_))
            && a.path().is_ident("forbid")
            && a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|lints| lints.iter().any(|l| l.is_ident("unsafe_code")))
    });
    syn::visit::visit_file(&mut v, &file);
    Ok(v.out)
}

#[derive(Debug, Default)]
struct Scanner {
    out: Scan,
    /// Depth of items under `#[cfg(test)]` or `#[test]` around the visitor.
    test: usize,
    inline: Vec<String>,
}

fn line_of(span: proc_macro2::Span) -> usize {
    span.start().line
}

/// Whether an item's attributes make it test code: `#[test]`, or a `cfg` naming `test` and no `not`.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        if a.path().is_ident("test") {
            return true;
        }
        let Ok(list) = a.meta.require_list() else {
            return false;
        };
        let mut idents = Vec::new();
        idents_of(list.tokens.clone(), &mut idents);
        a.path().is_ident("cfg")
            && idents.iter().any(|i| i == "test")
            && !idents.iter().any(|i| i == "not")
    })
}

fn idents_of(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
            proc_macro2::TokenTree::Group(g) => idents_of(g.stream(), out),
            _ => {}
        }
    }
}

impl Scanner {
    fn push(&mut self, segs: Vec<Seg>, import: bool) {
        if !segs.is_empty() {
            self.out.named.push(Named {
                segs,
                import,
                test: self.test > 0,
            });
        }
    }

    fn unsafe_at(&mut self, span: proc_macro2::Span) {
        self.out.unsafe_lines.push(line_of(span));
    }

    /// Every leaf of a `use` tree as a path from its root.
    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<Seg>, grouped: bool) {
        let seg = |ident: &syn::Ident| Seg {
            name: ident.to_string(),
            line: line_of(ident.span()),
            grouped,
        };
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(seg(&p.ident));
                self.use_tree(&p.tree, prefix, false);
                prefix.pop();
            }
            syn::UseTree::Name(syn::UseName { ident })
            | syn::UseTree::Rename(syn::UseRename { ident, .. }) => {
                let mut path = prefix.clone();
                path.push(seg(ident));
                self.push(path, true);
            }
            syn::UseTree::Glob(_) => self.push(prefix.clone(), true),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix, true);
                }
            }
        }
    }

    /// Paths written `a::b` in raw tokens (macro invocations, attribute arguments), and the `unsafe` keyword.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        use proc_macro2::{Spacing, TokenTree};
        let mut run: Vec<Seg> = Vec::new();
        // `::` arrives as two `:` punctuation tokens, the first joint to the second.
        let mut colons = 0;
        let flush = |v: &mut Self, run: &mut Vec<Seg>| {
            if run.len() >= 2 {
                v.push(std::mem::take(run), false);
            }
            run.clear();
        };
        for tt in tokens {
            match tt {
                TokenTree::Ident(i) => {
                    if i == "unsafe" {
                        self.unsafe_at(i.span());
                    }
                    if colons != 2 {
                        flush(self, &mut run);
                    }
                    run.push(Seg {
                        name: i.to_string(),
                        line: line_of(i.span()),
                        grouped: false,
                    });
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' => {
                    let joint = p.spacing() == Spacing::Joint;
                    colons = match colons {
                        0 if joint => 1,
                        1 => 2,
                        _ => {
                            flush(self, &mut run);
                            0
                        }
                    };
                }
                TokenTree::Group(g) => {
                    flush(self, &mut run);
                    colons = 0;
                    self.tokens(g.stream());
                }
                _ => {
                    flush(self, &mut run);
                    colons = 0;
                }
            }
        }
        flush(self, &mut run);
    }
}

impl<'ast> syn::visit::Visit<'ast> for Scanner {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::ExternCrate(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::ForeignMod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::TraitAlias(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Union(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &[],
        };
        let test = is_test(attrs);
        self.test += usize::from(test);
        syn::visit::visit_item(self, item);
        self.test -= usize::from(test);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.inline.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.inline.pop();
            return;
        }
        let path = m.attrs.iter().find_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        self.out.mods.push(ModDecl {
            name: m.ident.to_string(),
            inline: self.inline.clone(),
            path,
            test: self.test > 0,
        });
        syn::visit::visit_item_mod(self, m);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs = p
            .segments
            .iter()
            .map(|s| Seg {
                name: s.ident.to_string(),
                line: line_of(s.ident.span()),
                grouped: false,
            })
            .collect();
        self.push(segs, false);
        syn::visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for a in &u.attrs {
            self.visit_attribute(a);
        }
        self.use_tree(&u.tree, &mut Vec::new(), false);
    }

    fn visit_item_extern_crate(&mut self, e: &'ast syn::ItemExternCrate) {
        let segs = vec![Seg {
            name: e.ident.to_string(),
            line: line_of(e.ident.span()),
            grouped: false,
        }];
        self.push(segs, true);
        syn::visit::visit_item_extern_crate(self, e);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        if let syn::Meta::List(list) = &a.meta {
            self.tokens(list.tokens.clone());
        }
        syn::visit::visit_attribute(self, a);
    }

    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        self.unsafe_at(e.unsafe_token.span);
        syn::visit::visit_expr_unsafe(self, e);
    }

    fn visit_signature(&mut self, s: &'ast syn::Signature) {
        if let Some(u) = &s.unsafety {
            self.unsafe_at(u.span);
        }
        syn::visit::visit_signature(self, s);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if let Some(u) = &i.unsafety {
            self.unsafe_at(u.span);
        }
        syn::visit::visit_item_impl(self, i);
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        if let Some(u) = &t.unsafety {
            self.unsafe_at(u.span);
        }
        syn::visit::visit_item_trait(self, t);
    }

    fn visit_item_foreign_mod(&mut self, f: &'ast syn::ItemForeignMod) {
        if let Some(u) = &f.unsafety {
            self.unsafe_at(u.span);
        }
        syn::visit::visit_item_foreign_mod(self, f);
    }

    fn visit_type_bare_fn(&mut self, t: &'ast syn::TypeBareFn) {
        if let Some(u) = &t.unsafety {
            self.unsafe_at(u.span);
        }
        syn::visit::visit_type_bare_fn(self, t);
    }
}

/// A parsed file of a crate target and whether all of it is test code.
#[derive(Debug)]
struct TargetFile {
    path: PathBuf,
    /// The kind of code the file holds as a whole: that of its target, or dev code under a `#[cfg(test)]`
    /// module declaration.
    kind: Kind,
    scan: Scan,
}

/// The files of the target rooted at `root`, found by following its `mod name;` declarations as rustc does.
fn target_files(root: &Path, kind: Kind) -> Vec<TargetFile> {
    let mut out = Vec::new();
    // Each file with the folder its child modules live in.
    let mut stack = vec![(
        root.to_owned(),
        root.parent().expect("a file in a folder").to_owned(),
        kind,
    )];
    while let Some((path, dir, kind)) = stack.pop() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let scan = scan(&text).unwrap_or_else(|e| panic!("cannot parse {}:{e}", path.display()));
        for m in &scan.mods {
            let base = m.inline.iter().fold(dir.clone(), |d, s| d.join(s));
            let child = match &m.path {
                // A path attribute outside inline modules is relative to the declaring file's folder.
                Some(p) if m.inline.is_empty() => path.parent().expect("a folder").join(p),
                Some(p) => base.join(p),
                None => [
                    base.join(format!("{}.rs", m.name)),
                    base.join(&m.name).join("mod.rs"),
                ]
                .into_iter()
                .find(|c| c.is_file())
                .unwrap_or_else(|| panic!("no file for `mod {}` of {}", m.name, path.display())),
            };
            let child_dir = if child.file_name().is_some_and(|n| n == "mod.rs") {
                child.parent().expect("a folder").to_owned()
            } else {
                child.with_extension("")
            };
            let child_kind = if m.test && kind == Kind::Normal {
                Kind::Dev
            } else {
                kind
            };
            stack.push((child, child_dir, child_kind));
        }
        out.push(TargetFile { path, kind, scan });
    }
    out
}

/// Dependencies a crate declares but never names in code of their kind: a normal dependency in its library or
/// binary code outside `#[cfg(test)]`, a dev-dependency in its tests, benchmarks, examples or `#[cfg(test)]` code,
/// a build dependency in its build script. A dependency named in code reads as `name::...`, `use name`, or
/// `extern crate name`, with `-` as `_`.
fn unused_dependency_violations(krate: &str, deps: &[Dep], files: &[TargetFile]) -> Vec<String> {
    let mut named: BTreeSet<(String, &'static str)> = BTreeSet::new();
    for f in files {
        for n in &f.scan.named {
            if n.segs.len() >= 2 || n.import {
                let kind = if n.test && f.kind == Kind::Normal {
                    Kind::Dev
                } else {
                    f.kind
                };
                named.insert((n.segs[0].name.clone(), kind_name(kind)));
            }
        }
    }
    deps.iter()
        .filter(|d| d.name != krate && !named.contains(&(d.ident(), kind_name(d.kind))))
        .map(|d| format!("{krate} -> {} ({})", d.name, kind_name(d.kind)))
        .collect()
}

/// File-system and network access in source files: `std::fs`, `std::net`, either named inside a
/// `use std::{...}` group, and `File::open` or `File::create` (whatever path brought `File` in).
fn io_violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let code = scan(text).unwrap_or_else(|e| panic!("cannot parse {}:{e}", path.display()));
        let mut found: Vec<(usize, String)> = Vec::new();
        for n in &code.named {
            if let [std, module, ..] = &n.segs[..] {
                if std.name == "std" && matches!(module.name.as_str(), "fs" | "net") {
                    let what = if module.grouped {
                        format!("std::{{{}}}", module.name)
                    } else {
                        format!("std::{}", module.name)
                    };
                    found.push((std.line, what));
                }
            }
            for pair in n.segs.windows(2) {
                if pair[0].name == "File" && matches!(pair[1].name.as_str(), "open" | "create") {
                    found.push((pair[0].line, format!("File::{}", pair[1].name)));
                }
            }
        }
        // A macro's tokens are read before its own path, so the order is restored by line.
        found.sort_by_key(|(line, _)| *line);
        found.dedup();
        out.extend(
            found
                .into_iter()
                .map(|(line, what)| format!("{}:{line}: {what}", path.display())),
        );
    }
    out
}

/// The sources of one crate: every `.rs` file under its `src/` and its target roots.
#[derive(Debug)]
struct CrateSources {
    name: String,
    files: Vec<(PathBuf, String)>,
    roots: Vec<PathBuf>,
}

/// Crates with no `unsafe` in their sources whose target roots lack `#![forbid(unsafe_code)]`, as
/// `crate: root` lines.
fn forbid_violations(crates: &[CrateSources]) -> Vec<String> {
    let mut out = Vec::new();
    for krate in crates {
        let scans: Vec<(&PathBuf, Scan)> = krate
            .files
            .iter()
            .map(|(path, text)| {
                let code =
                    scan(text).unwrap_or_else(|e| panic!("cannot parse {}:{e}", path.display()));
                (path, code)
            })
            .collect();
        if scans.iter().any(|(_, s)| !s.unsafe_lines.is_empty()) {
            continue;
        }
        for root in &krate.roots {
            let forbids = scans
                .iter()
                .find(|(p, _)| *p == root)
                .is_some_and(|(_, s)| s.forbids_unsafe);
            if !forbids {
                out.push(format!("{}: {}", krate.name, root.display()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the workspace
// ---------------------------------------------------------------------------------------------------------------

/// `cargo metadata` of this workspace, run once per test binary.
fn metadata() -> &'static Metadata {
    static META: OnceLock<Metadata> = OnceLock::new();
    META.get_or_init(|| {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        if let Some(cargo) = std::env::var_os("CARGO") {
            cmd.cargo_path(cargo);
        }
        cmd.manifest_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
            .exec()
            .unwrap_or_else(|e| panic!("cargo metadata failed: {e}"))
    })
}

/// Every `.rs` file under `dir`, sorted by path, paths as found.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

fn crate_sources(member: &Member) -> CrateSources {
    let mut files = rust_files(&member.dir.join("src"));
    for root in &member.roots {
        if !files.iter().any(|(p, _)| p == root) {
            let text = std::fs::read_to_string(root)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()));
            files.push((root.clone(), text));
        }
    }
    CrateSources {
        name: member.name.clone(),
        files,
        roots: member.roots.clone(),
    }
}

#[track_caller]
fn assert_none(rule: &str, violations: Vec<String>) {
    assert!(
        violations.is_empty(),
        "{rule}; broken by:\n  {}",
        violations.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The invariants of this workspace
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn mf_paper_depends_on_no_crate() {
    assert_none(
        "mf-paper depends on no crate",
        paper_violations(&Workspace::parse(metadata())),
    );
}

#[test]
fn mf_core_and_mf_data_depend_on_no_workspace_crate_but_mf_paper() {
    assert_none(
        "mf-core and mf-data depend on no workspace crate but mf-paper",
        foundation_violations(&Workspace::parse(metadata())),
    );
}

#[test]
fn workspace_crates_depend_only_on_earlier_layers() {
    assert_none(
        "dependencies follow {mf-paper, mf-plot} < {mf-core, mf-data} < {mf-esn, mf-rnn} < mf-lab < {mf-tui, mf-py}; xtask uses the crates below mf-lab only",
        layer_violations(&Workspace::parse(metadata())),
    );
}

#[test]
fn only_mf_tui_depends_on_terminal_and_command_line_crates() {
    assert_none(
        "only mf-tui depends on ratatui, crossterm, clap or indicatif (xtask may use clap)",
        front_end_violations(&Workspace::parse(metadata())),
    );
}

#[test]
fn mf_tui_depends_on_the_library_and_presentation_crates_only() {
    assert_none(
        "mf-tui depends on mf-lab and mf-plot of the workspace, and on no numerical crate directly",
        front_end_is_thin_violations(&Workspace::parse(metadata())),
    );
}

#[test]
fn a_model_crate_under_the_front_end_is_caught() {
    let ws = fake_workspace(&[
        ("mf-tui", "mf-lab"),
        ("mf-tui", "mf-plot"),
        ("mf-tui", "mf-esn"),
        ("mf-tui", "dev:mf-core"),
        ("mf-tui", "faer"),
    ]);
    assert_eq!(
        front_end_is_thin_violations(&ws),
        [
            "mf-tui -> mf-esn (normal)",
            "mf-tui -> mf-core (dev)",
            "mf-tui -> faer (normal)",
        ]
    );
}

#[test]
fn mf_lab_pulls_in_no_terminal_or_command_line_crate() {
    assert_none(
        "mf-lab's normal dependency closure holds none of ratatui, crossterm, clap, indicatif",
        closure_violations(&Workspace::parse(metadata()), "mf-lab"),
    );
}

#[test]
fn mf_core_does_no_file_or_network_io() {
    let ws = Workspace::parse(metadata());
    let core = ws.member("mf-core").unwrap();
    assert_none(
        "mf-core does no I/O",
        io_violations(&rust_files(&core.dir.join("src"))),
    );
}

#[test]
fn crates_without_unsafe_forbid_unsafe_code() {
    let ws = Workspace::parse(metadata());
    let crates: Vec<CrateSources> = ws.members.iter().map(crate_sources).collect();
    let violations = forbid_violations(&crates)
        .into_iter()
        .map(|v| v.replace(&format!("{}/", ws.root.display()), ""))
        .collect();
    assert_none(
        "a crate with no `unsafe` in its sources carries #![forbid(unsafe_code)] in every target root",
        violations,
    );
}

#[test]
fn every_dependency_is_named_in_code_of_its_kind() {
    let ws = Workspace::parse(metadata());
    let mut violations = Vec::new();
    for m in &ws.members {
        let files: Vec<TargetFile> = m
            .targets
            .iter()
            .flat_map(|(kind, root)| target_files(root, *kind))
            .collect();
        violations.extend(unused_dependency_violations(&m.name, &m.deps, &files));
    }
    assert_none(
        "every dependency is named in code of its kind (normal: library and binaries outside #[cfg(test)]; \
         dev: tests, benchmarks, examples and #[cfg(test)] code; build: the build script)",
        violations,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Each check fails when its rule is broken
// ---------------------------------------------------------------------------------------------------------------

/// A workspace with the given `(from, to)` edges: names starting `mf-` and `xtask` are workspace members,
/// anything else a registry crate. `dev:`/`build:` before a target name marks the edge's kind.
fn fake_workspace(edges: &[(&str, &str)]) -> Workspace {
    let kind_of = |spec: &str| -> (Kind, String) {
        match spec.split_once(':') {
            Some(("dev", name)) => (Kind::Dev, name.to_owned()),
            Some(("build", name)) => (Kind::Build, name.to_owned()),
            Some((kind, _)) => panic!("unknown dependency kind {kind}"),
            None => (Kind::Normal, spec.to_owned()),
        }
    };
    let is_member = |n: &str| n.starts_with("mf-") || n == "xtask";
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (from, to) in edges {
        names.insert((*from).to_owned());
        names.insert(kind_of(to).1);
    }
    let deps_of = |n: &str| -> Vec<Dep> {
        edges
            .iter()
            .filter(|(from, _)| *from == n)
            .map(|(_, to)| {
                let (kind, name) = kind_of(to);
                Dep {
                    name,
                    kind,
                    rename: None,
                }
            })
            .collect()
    };
    Workspace {
        root: PathBuf::from("/ws"),
        members: names
            .iter()
            .filter(|n| is_member(n))
            .map(|n| Member {
                name: n.clone(),
                dir: PathBuf::from(format!("/ws/{n}")),
                roots: vec![PathBuf::from(format!("/ws/{n}/src/lib.rs"))],
                targets: vec![(Kind::Normal, PathBuf::from(format!("/ws/{n}/src/lib.rs")))],
                deps: deps_of(n),
            })
            .collect(),
        names: names.iter().map(|n| (n.clone(), n.clone())).collect(),
        normal_edges: names
            .iter()
            .map(|n| {
                let normal = deps_of(n)
                    .into_iter()
                    .filter(|d| d.kind == Kind::Normal)
                    .map(|d| d.name)
                    .collect();
                (n.clone(), normal)
            })
            .collect(),
    }
}

/// The workspace as ARCHITECTURE.md draws it, plus the dependencies that make each crate realistic.
const GOOD: [(&str, &str); 20] = [
    ("mf-paper", "dev:proptest"),
    ("mf-core", "mf-paper"),
    ("mf-core", "ndarray"),
    ("mf-data", "mf-paper"),
    ("mf-data", "ureq"),
    ("mf-esn", "mf-core"),
    ("mf-esn", "dev:mf-data"),
    ("mf-rnn", "mf-core"),
    ("mf-rnn", "candle-core"),
    ("mf-lab", "mf-esn"),
    ("mf-lab", "mf-rnn"),
    ("mf-lab", "mf-data"),
    ("mf-lab", "dev:clap"),
    ("mf-lab", "dev:mf-lab"),
    ("mf-tui", "mf-lab"),
    ("mf-tui", "ratatui"),
    ("mf-tui", "clap"),
    ("ratatui", "crossterm"),
    ("xtask", "mf-paper"),
    ("xtask", "clap"),
];

fn fake(extra: &[(&str, &str)]) -> Workspace {
    let edges: Vec<(&str, &str)> = GOOD.iter().chain(extra).copied().collect();
    fake_workspace(&edges)
}

#[test]
fn the_dependency_checks_pass_on_a_graph_that_keeps_the_rules() {
    let ws = fake(&[]);
    assert_eq!(paper_violations(&ws), Vec::<String>::new());
    assert_eq!(foundation_violations(&ws), Vec::<String>::new());
    assert_eq!(layer_violations(&ws), Vec::<String>::new());
    assert_eq!(front_end_violations(&ws), Vec::<String>::new());
    assert_eq!(closure_violations(&ws, "mf-lab"), Vec::<String>::new());
}

#[test]
fn a_dependency_of_mf_paper_is_caught() {
    assert_eq!(
        paper_violations(&fake(&[("mf-paper", "serde")])),
        ["mf-paper -> serde (normal)"]
    );
    assert_eq!(
        paper_violations(&fake(&[("mf-paper", "build:cc")])),
        ["mf-paper -> cc (build)"]
    );
    let ws = fake_workspace(&[("mf-core", "mf-data")]);
    assert_eq!(
        paper_violations(&ws),
        ["mf-paper is not a member of the workspace"]
    );
}

#[test]
fn a_workspace_dependency_of_mf_core_or_mf_data_is_caught() {
    assert_eq!(
        foundation_violations(&fake(&[
            ("mf-core", "mf-data"),
            ("mf-data", "build:mf-esn")
        ])),
        ["mf-core -> mf-data (normal)", "mf-data -> mf-esn (build)"]
    );
}

#[test]
fn a_dependency_against_the_layer_order_is_caught() {
    let ws = fake(&[
        ("mf-esn", "mf-rnn"),
        ("mf-core", "dev:mf-esn"),
        ("mf-lab", "mf-tui"),
        ("xtask", "mf-core"),
        ("xtask", "mf-lab"),
        ("mf-tui", "xtask"),
        ("mf-extra", "mf-paper"),
    ]);
    assert_eq!(
        layer_violations(&ws),
        [
            "mf-core -> mf-esn (dev)",
            "mf-esn -> mf-rnn (normal)",
            "mf-extra has no place in the layer order of invariants.rs",
            "mf-lab -> mf-tui (normal)",
            "mf-tui -> xtask (normal)",
            "xtask -> mf-lab (normal)",
        ]
    );
}

#[test]
fn a_terminal_or_command_line_crate_outside_mf_tui_is_caught() {
    let ws = fake(&[
        ("mf-lab", "indicatif"),
        ("mf-core", "clap"),
        ("xtask", "ratatui"),
    ]);
    assert_eq!(
        front_end_violations(&ws),
        ["mf-core -> clap", "mf-lab -> indicatif", "xtask -> ratatui"]
    );
}

#[test]
fn a_terminal_crate_reached_through_other_crates_is_caught() {
    let ws = fake(&[("mf-esn", "linfa"), ("linfa", "ratatui")]);
    assert_eq!(front_end_violations(&ws), Vec::<String>::new());
    assert_eq!(
        closure_violations(&ws, "mf-lab"),
        ["mf-lab -> mf-esn -> linfa -> ratatui"]
    );
    // Dev and build edges are not part of the closure.
    let ws = fake(&[
        ("mf-esn", "dev:insta"),
        ("insta", "crossterm"),
        ("mf-rnn", "build:clap"),
    ]);
    assert_eq!(closure_violations(&ws, "mf-lab"), Vec::<String>::new());
}

#[test]
fn an_edge_injected_into_the_real_workspace_is_caught() {
    let mut meta = metadata().clone();
    let id_of = |meta: &Metadata, name: &str| {
        meta.packages
            .iter()
            .find(|p| p.name.as_str() == name)
            .unwrap_or_else(|| panic!("no package {name}"))
            .id
            .clone()
    };
    let core = id_of(&meta, "mf-core");
    let clap = id_of(&meta, "clap");
    let package = meta.packages.iter_mut().find(|p| p.id == core).unwrap();
    // cargo_metadata's records cannot be built from scratch, so the injected edges are copies of real ones.
    let mut dep = package.dependencies[0].clone();
    dep.name = "mf-esn".into();
    dep.kind = DependencyKind::Normal;
    dep.rename = None;
    package.dependencies.push(dep);
    let node = meta
        .resolve
        .as_mut()
        .unwrap()
        .nodes
        .iter_mut()
        .find(|n| n.id == core)
        .unwrap();
    let mut edge = node
        .deps
        .iter()
        .find(|d| d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
        .unwrap()
        .clone();
    edge.name = "clap".into();
    edge.pkg = clap;
    edge.dep_kinds.retain(|k| k.kind == DependencyKind::Normal);
    node.deps.push(edge);
    let ws = Workspace::parse(&meta);
    assert_eq!(foundation_violations(&ws), ["mf-core -> mf-esn (normal)"]);
    assert_eq!(layer_violations(&ws), ["mf-core -> mf-esn (normal)"]);
    assert_eq!(
        closure_violations(&ws, "mf-lab"),
        ["mf-lab -> mf-core -> clap"]
    );
}

fn sources(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
        .collect()
}

#[test]
fn file_and_network_access_is_caught_in_every_form() {
    let files = sources(&[(
        "lib.rs",
        "use std::fs;\n\
         use std::{io, fs::File};\n\
         use std :: { net , collections::HashMap };\n\
         fn f() { let _ = std::net::TcpStream::connect(\"x\"); }\n\
         fn g() { File::open(\"a\"); File::create(\"b\"); }\n\
         fn h() { let _ = format!(\"{:?}\", std::net::Ipv4Addr::LOCALHOST); }\n",
    )]);
    assert_eq!(
        io_violations(&files),
        [
            "lib.rs:1: std::fs",
            "lib.rs:2: std::{fs}",
            "lib.rs:3: std::{net}",
            "lib.rs:4: std::net",
            "lib.rs:5: File::open",
            "lib.rs:5: File::create",
            "lib.rs:6: std::net",
        ]
    );
}

#[test]
fn io_words_in_comments_strings_and_other_paths_are_not_io() {
    let files = sources(&[(
        "lib.rs",
        "//! Does no std::fs I/O.\n\
         /* use std::net; /* nested */ File::open */\n\
         const S: &str = \"std::fs\";\n\
         const R: &str = r#\"use std::fs; \"quoted\" \"#;\n\
         const C: char = '\"';\n\
         fn f<'a>(x: &'a str) -> &'a str { x }\n\
         use std::{io::{self}, collections::HashMap};\n\
         use crate::fs::Table;\n",
    )]);
    assert_eq!(io_violations(&files), Vec::<String>::new());
}

#[test]
fn a_copy_of_mf_core_with_a_file_access_added_is_caught() {
    let ws = Workspace::parse(metadata());
    let src = ws.member("mf-core").unwrap().dir.join("src");
    let copy = std::env::temp_dir().join(format!("xtask-invariants-{}", std::process::id()));
    for (path, text) in rust_files(&src) {
        let to = copy.join(path.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    std::fs::write(
        copy.join("leak.rs"),
        "pub fn f() {\n    let _ = std::fs::read(\"x\");\n}\n",
    )
    .unwrap();
    let found = io_violations(&rust_files(&copy));
    std::fs::remove_dir_all(&copy).unwrap();
    assert_eq!(
        found,
        [format!("{}:2: std::fs", copy.join("leak.rs").display())]
    );
}

fn krate(name: &str, files: &[(&str, &str)]) -> CrateSources {
    CrateSources {
        name: name.into(),
        files: sources(files),
        roots: vec![PathBuf::from(files[0].0)],
    }
}

#[test]
fn a_crate_without_unsafe_and_without_forbid_is_caught() {
    let crates = [
        krate(
            "plain",
            &[
                ("src/lib.rs", "//! No unsafe code here.\npub mod a;\n"),
                ("src/a.rs", "const S: &str = \"unsafe\";\n"),
            ],
        ),
        krate(
            "lenient",
            &[("src/lib.rs", "#![deny(unsafe_code)]\n#![allow(unused)]\n")],
        ),
        krate(
            "fenced",
            &[(
                "src/lib.rs",
                "//! Text.\n#![forbid(missing_docs, unsafe_code)]\nfn f() {}\n",
            )],
        ),
        krate(
            "raw",
            &[
                ("src/main.rs", "#![forbid(unsafe_code)]\n"),
                ("src/simd.rs", "fn f() { unsafe { g() } }\n"),
            ],
        ),
        krate("named", &[("src/lib.rs", "fn r#unsafe() {}\n")]),
        krate("impl", &[("src/lib.rs", "unsafe impl Send for X {}\n")]),
        krate("trait", &[("src/lib.rs", "pub unsafe trait T {}\n")]),
        krate("pointer", &[("src/lib.rs", "type F = unsafe fn();\n")]),
        krate("method", &[("src/lib.rs", "impl X { unsafe fn f() {} }\n")]),
        krate(
            "macro",
            &[("src/lib.rs", "fn f() { m!(unsafe { g() }); }\n")],
        ),
    ];
    assert_eq!(
        forbid_violations(&crates),
        [
            "plain: src/lib.rs",
            "lenient: src/lib.rs",
            "named: src/lib.rs"
        ]
    );
}

fn dep(name: &str, kind: Kind) -> Dep {
    Dep {
        name: name.into(),
        kind,
        rename: None,
    }
}

fn parsed(path: &str, kind: Kind, text: &str) -> TargetFile {
    TargetFile {
        path: path.into(),
        kind,
        scan: scan(text).unwrap(),
    }
}

#[test]
fn a_dependency_never_named_in_code_of_its_kind_is_caught() {
    let deps = [
        dep("serde", Kind::Normal),
        dep("serde_json", Kind::Normal),
        dep("toml", Kind::Normal),
        dep("ndarray-npy", Kind::Normal),
        Dep {
            rename: Some("random".into()),
            ..dep("rand", Kind::Normal)
        },
        dep("thiserror", Kind::Normal),
        dep("libc", Kind::Normal),
        dep("proptest", Kind::Dev),
        dep("tempfile", Kind::Dev),
        dep("criterion", Kind::Dev),
        dep("insta", Kind::Dev),
        dep("cc", Kind::Build),
        dep("sha2", Kind::Build),
        dep("me", Kind::Dev),
    ];
    let files = [
        parsed(
            "src/lib.rs",
            Kind::Normal,
            "//! Writes toml::Table values. \n\
             use serde::Serialize;\n\
             extern crate libc;\n\
             const S: &str = \"toml::from_str; sha2::Sha256\";\n\
             #[derive(Debug, thiserror::Error)]\n\
             pub enum E {}\n\
             pub fn f() -> Vec<u8> { vec![ndarray_npy::X, random::random()] }\n\
             #[cfg(test)]\n\
             mod tests {\n    use tempfile::TempDir;\n    fn g() { serde_json::json!({}); }\n}\n",
        ),
        parsed(
            "tests/it.rs",
            Kind::Dev,
            "use proptest::prelude::*;\n#[test]\nfn t() { /* criterion::Criterion */ }\n",
        ),
        parsed("build.rs", Kind::Build, "fn main() { cc::Build::new(); }\n"),
        parsed(
            "src/other.rs",
            Kind::Normal,
            "#[cfg(not(test))]\nfn h() { insta::assert_snapshot!(1); }\n",
        ),
    ];
    assert_eq!(
        unused_dependency_violations("me", &deps, &files),
        [
            "me -> serde_json (normal)",
            "me -> toml (normal)",
            "me -> criterion (dev)",
            "me -> insta (dev)",
            "me -> sha2 (build)",
        ]
    );
}

#[test]
fn test_modules_in_files_of_their_own_are_dev_code() {
    let dir = std::env::temp_dir().join(format!("xtask-modules-{}", std::process::id()));
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("src/lib.rs", "#[cfg(test)]\nmod tests;\nmod a;\n");
    write("src/tests.rs", "use tempfile::TempDir;\nmod deeper;\n");
    write("src/tests/deeper.rs", "fn f() { proptest::x(); }\n");
    write(
        "src/a.rs",
        "mod b;\nmod inner {\n    mod c;\n}\n#[path = \"elsewhere.rs\"]\nmod d;\n",
    );
    write("src/a/b/mod.rs", "fn f() { csv::Reader::x(); }\n");
    write("src/a/inner/c.rs", "fn f() { zip::x(); }\n");
    write("src/elsewhere.rs", "fn f() { ureq::x(); }\n");
    let mut found: Vec<(String, &str, String)> =
        target_files(&dir.join("src/lib.rs"), Kind::Normal)
            .into_iter()
            .map(|f| {
                let first = f
                    .scan
                    .named
                    .iter()
                    .find(|n| n.segs.len() >= 2 || n.import)
                    .map(|n| n.segs[0].name.clone());
                (
                    f.path.strip_prefix(&dir).unwrap().display().to_string(),
                    kind_name(f.kind),
                    first.unwrap_or_default(),
                )
            })
            .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    found.sort();
    let want = [
        ("src/a.rs", "normal", ""),
        ("src/a/b/mod.rs", "normal", "csv"),
        ("src/a/inner/c.rs", "normal", "zip"),
        ("src/elsewhere.rs", "normal", "ureq"),
        ("src/lib.rs", "normal", ""),
        ("src/tests.rs", "dev", "tempfile"),
        ("src/tests/deeper.rs", "dev", "proptest"),
    ];
    let want: Vec<(String, &str, String)> = want
        .iter()
        .map(|(p, k, n)| (p.to_string(), *k, n.to_string()))
        .collect();
    assert_eq!(found, want);
}
