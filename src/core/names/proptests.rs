//! Properties of repository names: every name the grammar allows (`[A-Za-z0-9._-]`, no
//! leading `.` or `-`, no `..`, 1 to 100 characters, per component) is accepted in every
//! spelling and displays back as itself; everything else is refused; whatever is accepted
//! addresses a directory two levels below `repos/` and nothing else.

use std::path::Component;

use proptest::prelude::*;

use super::*;

/// One component the grammar allows.
fn component() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9._-]{0,99}".prop_filter("no ..", |c| !c.contains(".."))
}

/// What the grammar says about a component, written independently of the code under test.
fn allowed(c: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !c.starts_with(['.', '-'])
        && !c.contains("..")
}

proptest! {
    /// `ns/name`, `ns/name.git`, `/ns/name(.git)`: all the same name, displayed as `ns/name`.
    #[test]
    fn prop_names_round_trip(
        ns in component(),
        name in component(),
        slash in any::<bool>(),
        git in any::<bool>(),
    ) {
        // `x.git` is the name `x`: a name cannot itself end in `.git`.
        prop_assume!(!name.ends_with(".git"));
        let text = format!(
            "{}{ns}/{name}{}",
            if slash { "/" } else { "" },
            if git { ".git" } else { "" }
        );
        let parsed = RepoName::parse(&text).unwrap();
        prop_assert_eq!(parsed.ns(), ns.as_str());
        prop_assert_eq!(parsed.name(), name.as_str());
        prop_assert_eq!(RepoName::parse(&parsed.to_string()), Ok(parsed.clone()));
        prop_assert_eq!(RepoName::new(&ns, &name), Ok(parsed));
    }

    /// Any text: accepted exactly when it is `[/]ns/name[.git]` with both components in the
    /// grammar; an accepted name's path is `<root>/repos/<ns>/<name>.git`, plain components
    /// only.
    #[test]
    fn prop_names_hostile_text(text in prop_oneof![
        any::<String>(),
        "/?[a-z./\\\\-]{0,12}/[a-z.%~ -]{0,12}",
        "(\\.\\.|\\.|-|[a-z]{1,3}|/)+",
        "[a-z]{1,3}/[a-z]{1,3}\\.git(\\.git)?",
    ]) {
        let trimmed = text.strip_prefix('/').unwrap_or(&text);
        let parts: Vec<&str> = trimmed.split('/').collect();
        let expect = parts.len() == 2 && allowed(parts[0]) && {
            let n = parts[1].strip_suffix(".git").unwrap_or(parts[1]);
            allowed(n)
        };
        match RepoName::parse(&text) {
            Ok(name) => {
                prop_assert!(expect, "accepted {text:?}");
                let root = Root::at(&std::env::temp_dir()).unwrap();
                let path = name.path_in(&root);
                let rel = path.strip_prefix(root.repos_dir()).unwrap();
                let comps: Vec<Component<'_>> = rel.components().collect();
                prop_assert_eq!(comps.len(), 2);
                prop_assert!(comps.iter().all(|c| matches!(c, Component::Normal(_))));
            }
            Err(_) => prop_assert!(!expect, "refused {text:?}"),
        }
    }

    /// One component: the code's verdict is the grammar's, for any text.
    #[test]
    fn prop_names_component_grammar(c in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9._/ -]{0,110}",
        component(),
    ]) {
        prop_assert_eq!(validate_component("namespace", &c).is_ok(), allowed(&c));
    }
}
