//! hubctl's own answer to upload-pack's ref advertisement: protocol v0 and v1 `info/refs`, and
//! protocol v2's `ls-refs` command, byte for byte what `git upload-pack` prints for the same
//! repository, configuration and `GIT_NAMESPACE`, so that a no-op fetch starts no git process.
//!
//! The output follows git's `upload-pack.c` (`send_ref`, the v0 capability line),
//! `ls-refs.c` (`ref-prefix`, `symrefs`, `peel`, `unborn`) and `refs.c` (`ref_is_hidden`,
//! namespaces). Whatever this module does not model makes it step aside with a [`Fallback`],
//! and git answers: configuration keys it does not know in the sections that shape the
//! advertisement, `uploadpack.allowAnySHA1InWant`, `transfer.advertiseSID`, another object
//! format or ref storage, a shallow repository, a ref that points at a missing object,
//! a repository owned by another user, variables such as `GIT_USER_AGENT`.
//!
//! The capabilities come from [`Settings::from_config`], which reads one configuration
//! snapshot: the repository's, global and system configuration with the engine's own `-c`
//! settings on top, exactly the layers git itself sees for the same run.

use std::path::Path;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

/// Why hubctl lets git answer instead.
#[derive(Debug, thiserror::Error)]
pub enum Fallback {
    /// Something this module does not model (a configuration key, a repository format).
    #[error("not modelled: {0}")]
    Unsupported(String),
    /// The repository could not be read the way git would read it.
    #[error("reading the repository: {0}")]
    Repository(String),
}

fn unsupported(what: impl Into<String>) -> Fallback {
    Fallback::Unsupported(what.into())
}

fn repo_error(e: impl std::fmt::Display) -> Fallback {
    Fallback::Repository(e.to_string())
}

/// `lsrefs.unborn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unborn {
    /// Advertised and honoured (git's default).
    Advertise,
    /// Honoured, not advertised.
    Allow,
    /// Neither.
    Ignore,
}

/// The effective settings that shape upload-pack's ref advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `uploadpack.allowTipSHA1InWant`.
    pub allow_tip_sha1_in_want: bool,
    /// `uploadpack.allowReachableSHA1InWant`.
    pub allow_reachable_sha1_in_want: bool,
    /// `uploadpack.allowFilter`.
    pub allow_filter: bool,
    /// `transfer.hideRefs` and `uploadpack.hideRefs`, in configuration order.
    pub hide_refs: Vec<BString>,
    /// `lsrefs.unborn`.
    pub unborn: Unborn,
}

/// Keys of the `uploadpack` section that cannot change the ref advertisement or `ls-refs`.
const UPLOADPACK_INERT: &[&str] = &[
    "keepalive",
    "packobjectshook",
    "allowrefinwant",
    "allowsidebandall",
    "blobpackfileuri",
];
/// Keys of the `transfer` section that cannot change the ref advertisement or `ls-refs`.
const TRANSFER_INERT: &[&str] = &[
    "fsckobjects",
    "unpacklimit",
    "credentialsinurl",
    "bundleuri",
    "advertiseobjectinfo",
];

fn boolean(value: Option<Option<BString>>, key: &str) -> Result<Option<bool>, Fallback> {
    match value {
        None => Ok(None),
        // `[uploadpack] allowFilter` without a value is true.
        Some(None) => Ok(Some(true)),
        Some(Some(v)) => gix::config::Boolean::try_from(v.as_bstr())
            .map(|b| Some(b.0))
            .map_err(|_| unsupported(format!("{key} = {v:?} is not a boolean"))),
    }
}

impl Settings {
    /// The settings from one configuration snapshot, walking its sections in git's order of
    /// precedence (later wins; hidden-ref patterns accumulate).
    pub fn from_config(config: &gix::config::File) -> Result<Settings, Fallback> {
        let mut s = Settings {
            allow_tip_sha1_in_want: false,
            allow_reachable_sha1_in_want: false,
            allow_filter: false,
            hide_refs: Vec::new(),
            unborn: Unborn::Advertise,
        };
        for section in config.sections() {
            let header = section.header();
            if header.subsection_name().is_some() {
                continue;
            }
            let name = header.name().to_ascii_lowercase();
            let body = section.body();
            let mut keys: Vec<String> =
                body.value_names().map(|k| k.to_ascii_lowercase()).collect();
            keys.dedup();
            match name.as_slice() {
                b"uploadpack" | b"transfer" => {
                    let uploadpack = name == b"uploadpack";
                    let mut hide_done = false;
                    for key in keys {
                        let value = || body.value_implicit(&key);
                        match key.as_str() {
                            "hiderefs" => {
                                // Every value of the key, in order, once per section.
                                if hide_done {
                                    continue;
                                }
                                hide_done = true;
                                let values = body.values("hiderefs");
                                let count = body
                                    .value_names()
                                    .filter(|k| k.eq_ignore_ascii_case("hiderefs"))
                                    .count();
                                if values.len() != count {
                                    return Err(unsupported("hideRefs without a value"));
                                }
                                for mut v in values {
                                    while v.last() == Some(&b'/') {
                                        v.pop();
                                    }
                                    s.hide_refs.push(v);
                                }
                            }
                            "allowtipsha1inwant" if uploadpack => {
                                if let Some(b) = boolean(value(), &key)? {
                                    s.allow_tip_sha1_in_want = b;
                                }
                            }
                            "allowreachablesha1inwant" if uploadpack => {
                                if let Some(b) = boolean(value(), &key)? {
                                    s.allow_reachable_sha1_in_want = b;
                                }
                            }
                            "allowfilter" if uploadpack => {
                                if let Some(b) = boolean(value(), &key)? {
                                    s.allow_filter = b;
                                }
                            }
                            "advertisesid" if !uploadpack => {
                                if boolean(value(), &key)? == Some(true) {
                                    return Err(unsupported("transfer.advertiseSID"));
                                }
                            }
                            k if uploadpack && UPLOADPACK_INERT.contains(&k) => {}
                            k if !uploadpack && TRANSFER_INERT.contains(&k) => {}
                            other => {
                                return Err(unsupported(format!(
                                    "{}.{other}",
                                    name.to_str_lossy()
                                )));
                            }
                        }
                    }
                }
                b"lsrefs" => {
                    for key in keys {
                        if key != "unborn" {
                            return Err(unsupported(format!("lsrefs.{key}")));
                        }
                        s.unborn = match body.value("unborn").as_ref().map(|v| v.as_bytes()) {
                            Some(b"advertise") => Unborn::Advertise,
                            Some(b"allow") => Unborn::Allow,
                            Some(b"ignore") => Unborn::Ignore,
                            _ => return Err(unsupported("lsrefs.unborn value")),
                        };
                    }
                }
                b"extensions" => {
                    for key in keys {
                        let value = body.value(&key).map(|v| v.to_ascii_lowercase());
                        match (key.as_str(), value.as_deref()) {
                            ("objectformat", Some(b"sha1")) | ("refstorage", Some(b"files")) => {}
                            ("worktreeconfig" | "preciousobjects" | "noop", _) => {}
                            _ => return Err(unsupported(format!("extensions.{key}"))),
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// git's `ref_is_hidden`: the last matching pattern decides; `!` negates, `^` matches the
    /// full name (with the namespace) instead of the name the client sees.
    fn is_hidden(&self, name: &[u8], full: &[u8]) -> bool {
        for pattern in self.hide_refs.iter().rev() {
            let mut p: &[u8] = pattern;
            let negated = p.first() == Some(&b'!');
            if negated {
                p = &p[1..];
            }
            let subject = if p.first() == Some(&b'^') {
                p = &p[1..];
                full
            } else {
                name
            };
            if let Some(rest) = subject.strip_prefix(p) {
                if rest.is_empty() || rest[0] == b'/' {
                    return !negated;
                }
            }
        }
        false
    }
}

/// upload-pack's fixed v0 capabilities (`upload-pack.c`), before the configured ones.
const V0_CAPABILITIES: &str = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not deepen-relative no-progress include-tag multi_ack_detailed";

/// git's `expand_namespace`: `a/b` becomes `refs/namespaces/a/refs/namespaces/b/`.
pub fn namespace_prefix(namespace: Option<&[u8]>) -> Result<BString, Fallback> {
    let mut out = BString::default();
    for part in namespace.unwrap_or_default().split(|b| *b == b'/') {
        if part.is_empty() {
            continue;
        }
        out.extend_from_slice(b"refs/namespaces/");
        out.extend_from_slice(part);
        out.push(b'/');
    }
    if !out.is_empty() {
        let mut probe = out.clone();
        probe.extend_from_slice(b"HEAD");
        gix::validate::reference::name(probe.as_bstr())
            .map_err(|_| unsupported("GIT_NAMESPACE is not a valid ref name"))?;
    }
    Ok(out)
}

/// Open `git_dir` the way git will read it for one upload-pack run with `overrides` (the
/// engine's `-c key=value` settings besides its defaults), or say why git must answer instead.
/// hubctl's protocol defaults are added here where the configuration leaves them unset
/// ([`super::defaults::unset_in`]), so the repository is opened once: a default applies only
/// to an unset key, so adding it last gives what git sees with it first on its command line.
pub fn open(git_dir: &Path, overrides: &[String]) -> Result<gix::Repository, Fallback> {
    use std::os::unix::fs::MetadataExt;
    // git refuses (or reads differently) a repository owned by someone else.
    let meta = std::fs::metadata(git_dir).map_err(repo_error)?;
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(unsupported("repository owned by another user"));
    }
    for file in ["shallow", "reftable"] {
        if git_dir.join(file).exists() {
            return Err(unsupported(file));
        }
    }
    let env = crate::core::env::get();
    if env.git_advertisement_env {
        return Err(unsupported(
            "GIT_USER_AGENT or GIT_CONFIG_* in the environment",
        ));
    }
    let mut repo = gix::open::Options::default()
        .open_path_as_is(true)
        .strict_config(true)
        .cli_overrides(overrides.iter().map(|s| s.as_str()))
        .open(git_dir)
        .map_err(repo_error)?
        .to_thread_local();
    let unset = super::defaults::unset_in(super::Service::UploadPack, &repo.config_snapshot());
    if !unset.is_empty() {
        let mut config = repo.config_snapshot_mut();
        config
            .append_config(unset.iter().map(String::as_str), gix::config::Source::Cli)
            .map_err(|_| unsupported("hubctl's defaults"))?;
        config
            .commit()
            .map_err(|_| unsupported("hubctl's defaults"))?;
    }
    // gix applies GIT_NAMESPACE to every lookup by itself; this module works with full names
    // (git's hidden-ref patterns with `^` need them), so it handles the namespace itself.
    repo.clear_namespace();
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return Err(unsupported("object format"));
    }
    Ok(repo)
}

/// One ref as git's iteration reports it.
struct Ref {
    /// The full name, with the namespace.
    full: BString,
    /// The object it resolves to.
    id: ObjectId,
    /// For a symbolic ref, the final target's full name.
    target: Option<BString>,
}

/// Follow `name` to an object as git's `resolve_ref_unsafe` does (symbolic refs at most five
/// deep). `Ok(None)`: the ref or its final target does not exist.
fn resolve(
    repo: &gix::Repository,
    name: &BStr,
) -> Result<Option<(ObjectId, Option<BString>)>, Fallback> {
    let mut current: BString = name.to_owned();
    let mut symbolic = None;
    for _ in 0..6 {
        let Some(r) = repo
            .try_find_reference(current.as_bstr())
            .map_err(repo_error)?
        else {
            return Ok(None);
        };
        match r.target() {
            gix::refs::TargetRef::Object(id) => return Ok(Some((id.to_owned(), symbolic))),
            gix::refs::TargetRef::Symbolic(next) => {
                current = next.as_bstr().to_owned();
                symbolic = Some(current.clone());
            }
        }
    }
    Err(unsupported("symbolic refs nested too deep"))
}

/// The final target of `name` when it is a symbolic ref, even if that target does not exist
/// (an unborn branch).
fn symbolic_target(repo: &gix::Repository, name: &BStr) -> Result<Option<BString>, Fallback> {
    let mut current: BString = name.to_owned();
    let mut target = None;
    for _ in 0..6 {
        let Some(r) = repo
            .try_find_reference(current.as_bstr())
            .map_err(repo_error)?
        else {
            return Ok(target);
        };
        match r.target() {
            gix::refs::TargetRef::Object(_) => return Ok(target),
            gix::refs::TargetRef::Symbolic(next) => {
                current = next.as_bstr().to_owned();
                target = Some(current.clone());
            }
        }
    }
    Err(unsupported("symbolic refs nested too deep"))
}

/// Every ref whose full name starts with `prefix` (and lies below `refs/`), sorted by name as
/// git iterates them, each resolved to an object that exists (git skips, with a warning, refs
/// that do not resolve; hubctl lets git do that).
fn refs(repo: &gix::Repository, prefix: &[u8]) -> Result<Vec<Ref>, Fallback> {
    let platform = repo.references().map_err(repo_error)?;
    let iter = platform.all().map_err(repo_error)?;
    let mut out = Vec::new();
    for r in iter {
        let r = r.map_err(repo_error)?;
        let full = r.name().as_bstr();
        if !full.starts_with(prefix) || !full.starts_with(b"refs/") {
            continue;
        }
        let (id, target) = match r.target() {
            gix::refs::TargetRef::Object(id) => (id.to_owned(), None),
            gix::refs::TargetRef::Symbolic(_) => match resolve(repo, full)? {
                Some(v) => v,
                None => return Err(unsupported("dangling symbolic ref")),
            },
        };
        if !repo.has_object(id) {
            return Err(unsupported("ref to a missing object"));
        }
        out.push(Ref {
            full: full.to_owned(),
            id,
            target,
        });
    }
    out.sort_by(|a, b| a.full.cmp(&b.full));
    Ok(out)
}

/// The object a tag finally points at, or `None` for anything but a tag.
fn peeled(repo: &gix::Repository, id: ObjectId) -> Result<Option<ObjectId>, Fallback> {
    let header = repo.try_find_header(id).map_err(repo_error)?;
    match header {
        Some(h) if h.kind() == gix::object::Kind::Tag => {
            let object = repo.find_object(id).map_err(repo_error)?;
            let end = object.peel_tags_to_end().map_err(repo_error)?;
            Ok(Some(end.id))
        }
        Some(_) => Ok(None),
        None => Err(unsupported("missing object")),
    }
}

fn strip<'a>(full: &'a [u8], namespace: &[u8]) -> Result<&'a [u8], Fallback> {
    full.strip_prefix(namespace)
        .ok_or_else(|| unsupported("symbolic ref leaving the namespace"))
}

fn pkt(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(format!("{:04x}", line.len() + 4).as_bytes());
    out.extend_from_slice(line);
}

/// The protocol v0 (and v1: `version 1` first) ref advertisement of
/// `git upload-pack --stateless-rpc --advertise-refs`, without the HTTP `# service=` preamble.
/// `agent` is git's `agent=` value (`git/2.47.3`).
pub fn v0_refs(
    repo: &gix::Repository,
    namespace: &BStr,
    version_1: bool,
    agent: &str,
) -> Result<Vec<u8>, Fallback> {
    let settings = Settings::from_config(repo.config_snapshot().plumbing())?;
    let mut out = Vec::new();
    if version_1 {
        pkt(&mut out, b"version 1\n");
    }
    // HEAD first, if it resolves; the symref= capability names its target.
    let mut head_full: BString = namespace.to_owned();
    head_full.extend_from_slice(b"HEAD");
    let head = resolve(repo, head_full.as_bstr())?;
    if let Some((id, _)) = &head {
        if !repo.has_object(*id) {
            return Err(unsupported("HEAD points at a missing object"));
        }
    }
    let mut lines: Vec<(BString, ObjectId)> = Vec::new();
    if let Some((id, _)) = &head {
        if !settings.is_hidden(b"HEAD", &head_full) {
            lines.push((BString::from("HEAD"), *id));
        }
    }
    // `for_each_namespaced_ref`: below `<namespace>refs/`.
    let mut prefix: BString = namespace.to_owned();
    prefix.extend_from_slice(b"refs/");
    for r in refs(repo, &prefix)? {
        let name = strip(&r.full, namespace)?;
        if settings.is_hidden(name, &r.full) {
            continue;
        }
        lines.push((name.into(), r.id));
    }
    let mut caps = String::from(V0_CAPABILITIES);
    if settings.allow_tip_sha1_in_want {
        caps.push_str(" allow-tip-sha1-in-want");
    }
    if settings.allow_reachable_sha1_in_want {
        caps.push_str(" allow-reachable-sha1-in-want");
    }
    // --advertise-refs implies no-done.
    caps.push_str(" no-done");
    if let Some((_, Some(target))) = &head {
        let target = strip(target, namespace)?;
        caps.push_str(&format!(" symref=HEAD:{}", target.to_str_lossy()));
    }
    if settings.allow_filter {
        caps.push_str(" filter");
    }
    caps.push_str(&format!(" object-format=sha1 agent={agent}\n"));
    if lines.is_empty() {
        let mut line = format!(
            "{} capabilities^{{}}",
            ObjectId::null(gix::hash::Kind::Sha1)
        )
        .into_bytes();
        line.push(0);
        line.extend_from_slice(caps.as_bytes());
        pkt(&mut out, &line);
    }
    for (i, (name, id)) in lines.iter().enumerate() {
        let mut line = format!("{id} ").into_bytes();
        line.extend_from_slice(name);
        if i == 0 {
            line.push(0);
            line.extend_from_slice(caps.as_bytes());
        } else {
            line.push(b'\n');
        }
        pkt(&mut out, &line);
        if let Some(p) = peeled(repo, *id)? {
            let mut line = format!("{p} ").into_bytes();
            line.extend_from_slice(name);
            line.extend_from_slice(b"^{}\n");
            pkt(&mut out, &line);
        }
    }
    out.extend_from_slice(b"0000");
    Ok(out)
}

/// The arguments of one `ls-refs` request.
#[derive(Debug, Default, PartialEq, Eq)]
struct LsRefsArgs {
    peel: bool,
    symrefs: bool,
    unborn: bool,
    prefixes: Vec<BString>,
}

/// One pkt-line: its payload (without a trailing newline), or `None` and whether it is a flush.
type PktLine<'a> = (Option<&'a [u8]>, bool);

/// Split a request body into pkt-lines: `Some(payload)` for data, `None` for a delimiter (0001)
/// or flush (0000), told apart by the second item.
fn pkt_lines(mut body: &[u8]) -> Option<Vec<PktLine<'_>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let len = usize::from_str_radix(std::str::from_utf8(body.get(..4)?).ok()?, 16).ok()?;
        match len {
            0 => {
                out.push((None, true));
                // Only one request per stateless call; anything after its flush is git's
                // business (it ignores it), so stop here.
                return Some(out);
            }
            1 => {
                out.push((None, false));
                body = &body[4..];
            }
            2 | 3 => return None,
            n => {
                let payload = body.get(4..n)?;
                let payload = payload.strip_suffix(b"\n").unwrap_or(payload);
                out.push((Some(payload), false));
                body = &body[n..];
            }
        }
    }
    Some(out)
}

/// Whether a protocol v2 request is one `ls-refs` command hubctl can answer (before the
/// repository is opened for it).
pub fn is_ls_refs(body: &[u8]) -> bool {
    parse_ls_refs(body).is_some()
}

/// Parse a protocol v2 request that is exactly one `ls-refs` command hubctl can answer.
fn parse_ls_refs(body: &[u8]) -> Option<LsRefsArgs> {
    let lines = pkt_lines(body)?;
    let mut it = lines.into_iter();
    let (first, _) = it.next()?;
    if first? != b"command=ls-refs" {
        return None;
    }
    // Capabilities up to the delimiter.
    loop {
        match it.next()? {
            (Some(line), _) => {
                if !(line.starts_with(b"agent=") || line == b"object-format=sha1") {
                    return None;
                }
            }
            (None, false) => break,
            (None, true) => return None,
        }
    }
    let mut args = LsRefsArgs::default();
    loop {
        match it.next()? {
            (Some(b"peel"), _) => args.peel = true,
            (Some(b"symrefs"), _) => args.symrefs = true,
            (Some(b"unborn"), _) => args.unborn = true,
            (Some(line), _) => {
                let prefix = line.strip_prefix(b"ref-prefix ")?;
                // git drops every prefix past this many; leave that to git.
                if args.prefixes.len() >= 65535 {
                    return None;
                }
                args.prefixes.push(prefix.into());
            }
            (None, true) => return Some(args),
            (None, false) => return None,
        }
    }
}

/// The answer `git upload-pack --stateless-rpc` (protocol v2) gives to the request `body`, if
/// it is a plain `ls-refs` command; `Ok(None)` for any other request.
pub fn ls_refs(
    repo: &gix::Repository,
    namespace: &BStr,
    body: &[u8],
) -> Result<Option<Vec<u8>>, Fallback> {
    let Some(args) = parse_ls_refs(body) else {
        return Ok(None);
    };
    let settings = Settings::from_config(repo.config_snapshot().plumbing())?;
    let unborn = args.unborn && settings.unborn != Unborn::Ignore;
    let matches =
        |name: &[u8]| args.prefixes.is_empty() || args.prefixes.iter().any(|p| name.starts_with(p));
    let mut out = Vec::new();
    let mut send = |name: &[u8],
                    full: &[u8],
                    id: Option<ObjectId>,
                    target: Option<&[u8]>|
     -> Result<(), Fallback> {
        if settings.is_hidden(name, full) || !matches(name) {
            return Ok(());
        }
        let mut line = match id {
            Some(id) => format!("{id} ").into_bytes(),
            None => b"unborn ".to_vec(),
        };
        line.extend_from_slice(name);
        if let (true, Some(t)) = (args.symrefs, target) {
            line.extend_from_slice(b" symref-target:");
            line.extend_from_slice(strip(t, namespace)?);
        }
        if let (true, Some(id)) = (args.peel, id) {
            if let Some(p) = peeled(repo, id)? {
                line.extend_from_slice(format!(" peeled:{p}").as_bytes());
            }
        }
        line.push(b'\n');
        pkt(&mut out, &line);
        Ok(())
    };
    let mut head_full: BString = namespace.to_owned();
    head_full.extend_from_slice(b"HEAD");
    match resolve(repo, head_full.as_bstr())? {
        Some((id, target)) => send(
            b"HEAD",
            &head_full,
            Some(id),
            target.as_deref().map(|t| t.as_slice()),
        )?,
        None => {
            if let Some(target) = symbolic_target(repo, head_full.as_bstr())? {
                if unborn && args.symrefs {
                    send(b"HEAD", &head_full, None, Some(&target))?;
                }
            } else if repo
                .try_find_reference(head_full.as_bstr())
                .map_err(repo_error)?
                .is_some()
            {
                return Err(unsupported("HEAD is unreadable"));
            }
        }
    }
    // `for_each_fullref_in_prefixes(namespace, ...)`: everything below the namespace itself,
    // so with a namespace its own `HEAD` (a file below `refs/namespaces/<ns>/`) comes again
    // as `HEAD`, exactly as git lists it.
    let prefix: &[u8] = if namespace.is_empty() {
        b"refs/"
    } else {
        namespace
    };
    for r in refs(repo, prefix)? {
        let name = strip(&r.full, namespace)?;
        send(
            name,
            &r.full,
            Some(r.id),
            r.target.as_deref().map(|t| t.as_slice()),
        )?;
    }
    out.extend_from_slice(b"0000");
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hide: &[&str]) -> Settings {
        Settings {
            allow_tip_sha1_in_want: false,
            allow_reachable_sha1_in_want: false,
            allow_filter: false,
            hide_refs: hide.iter().map(|s| BString::from(*s)).collect(),
            unborn: Unborn::Advertise,
        }
    }

    #[test]
    fn hidden_refs_follow_git_rules() {
        let s = settings(&[
            "refs/hidden",
            "!refs/hidden/shown",
            "^refs/namespaces/a/refs/x",
        ]);
        assert!(s.is_hidden(b"refs/hidden", b"refs/hidden"));
        assert!(s.is_hidden(b"refs/hidden/a", b"refs/hidden/a"));
        assert!(!s.is_hidden(b"refs/hiddenx", b"refs/hiddenx"));
        assert!(!s.is_hidden(b"refs/hidden/shown", b"refs/hidden/shown"));
        assert!(s.is_hidden(b"refs/x/y", b"refs/namespaces/a/refs/x/y"));
        assert!(!s.is_hidden(b"refs/x/y", b"refs/x/y"));
    }

    #[test]
    fn namespaces_expand_like_git() {
        assert_eq!(namespace_prefix(None).unwrap(), "");
        assert_eq!(
            namespace_prefix(Some(b"a//b/")).unwrap(),
            "refs/namespaces/a/refs/namespaces/b/"
        );
        assert!(namespace_prefix(Some(b"a b")).is_err());
        assert!(namespace_prefix(Some(b"..")).is_err());
    }

    #[test]
    fn parses_only_plain_ls_refs() {
        let mut body = Vec::new();
        for line in [
            "command=ls-refs\n",
            "agent=git/2.47.3\n",
            "object-format=sha1\n",
        ] {
            pkt(&mut body, line.as_bytes());
        }
        body.extend_from_slice(b"0001");
        for line in [
            "peel\n",
            "symrefs\n",
            "unborn\n",
            "ref-prefix refs/heads/\n",
        ] {
            pkt(&mut body, line.as_bytes());
        }
        body.extend_from_slice(b"0000");
        let args = parse_ls_refs(&body).unwrap();
        assert!(args.peel && args.symrefs && args.unborn);
        assert_eq!(args.prefixes, vec![BString::from("refs/heads/")]);
        assert!(parse_ls_refs(b"0012command=fetch\n00010000").is_none());
        assert!(parse_ls_refs(b"0014command=ls-refs\n000fsession-id=x00010000").is_none());
        assert!(parse_ls_refs(b"0014command=ls-refs\n0001000abogus0000").is_none());
        assert!(parse_ls_refs(b"0014command=ls-refs\n0001").is_none());
        assert!(parse_ls_refs(b"0014command=ls-refs\n00").is_none());
    }
}
