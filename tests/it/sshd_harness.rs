//! Tests of the sshd harness itself ([`crate::harness::sshd`]): a real sshd with stand-in forced
//! commands and AuthorizedKeysCommand programs, nothing of hubctl's ssh features (those are in
//! `ssh.rs`).

use std::path::PathBuf;

use crate::harness::*;

/// Write an executable shell script into the test's directory.
fn script(env: &Env, name: &str, body: &str) -> PathBuf {
    let p = env.path(name);
    write_script(&p, body);
    p
}

/// A forced command that reports what sshd handed it, echoes one line of stdin and exits 3.
fn reporting_command(env: &Env) -> PathBuf {
    script(
        env,
        "report.sh",
        "#!/bin/sh\n\
         printf 'forced %s\\n' \"$*\"\n\
         printf 'original=%s\\n' \"$SSH_ORIGINAL_COMMAND\"\n\
         printf 'protocol=%s\\n' \"${GIT_PROTOCOL-unset}\"\n\
         printf 'other=%s\\n' \"${HUBCTL_TEST_OTHER-unset}\"\n\
         IFS= read -r line\n\
         printf 'stdin=%s\\n' \"$line\"\n\
         exit 3\n",
    )
}

#[test]
fn forced_command_gets_original_command_stdin_and_exit_status() {
    let env = Env::new();
    let key = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let cmd = reporting_command(&env);
    let keys = env.path("authorized_keys");
    std::fs::write(
        &keys,
        key.authorized_line(&format!(
            "restrict,command=\"{} --key-id 7\"",
            cmd.display()
        )),
    )
    .unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys));
    let out = sshd
        .ssh(&key)
        .stdin(b"0000\n")
        .run("git-upload-pack 'ns/x.git'");
    assert_eq!(out.code(), Some(3), "{out}\n{}", sshd.log());
    assert_eq!(
        out.stdout,
        "forced --key-id 7\noriginal=git-upload-pack 'ns/x.git'\nprotocol=unset\nother=unset\nstdin=0000\n",
        "{out}"
    );
    assert!(
        sshd.log_eventually_contains("Accepted publickey for root from 127.0.0.1 port")
            && sshd.log_eventually_contains("forced-command (key-option)"),
        "{}",
        sshd.log()
    );
}

#[test]
fn git_protocol_passes_accept_env_and_nothing_else_does() {
    let env = Env::new();
    let key = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let cmd = reporting_command(&env);
    let keys = env.path("authorized_keys");
    std::fs::write(
        &keys,
        key.authorized_line(&format!("restrict,command=\"{}\"", cmd.display())),
    )
    .unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys));
    let out = sshd
        .ssh(&key)
        .args(&[
            "-o",
            "SendEnv=GIT_PROTOCOL",
            "-o",
            "SendEnv=HUBCTL_TEST_OTHER",
        ])
        .env("GIT_PROTOCOL", "version=2")
        .env("HUBCTL_TEST_OTHER", "leak")
        .run("git-upload-pack 'x'");
    assert_eq!(out.code(), Some(3), "{out}");
    assert!(out.stdout.contains("\nprotocol=version=2\n"), "{out}");
    assert!(out.stdout.contains("\nother=unset\n"), "{out}");
    // Without SendEnv nothing arrives, even when the client has the variable.
    let out = sshd
        .ssh(&key)
        .env("GIT_PROTOCOL", "version=2")
        .run("git-upload-pack 'x'");
    assert!(out.stdout.contains("\nprotocol=unset\n"), "{out}");
}

#[test]
fn unregistered_key_is_refused() {
    let env = Env::new();
    let alice = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let mallory = ClientKey::generate(&env, "mallory", KeyKind::Ed25519);
    let keys = env.path("authorized_keys");
    std::fs::write(&keys, alice.authorized_line("restrict,command=\"echo ok\"")).unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys));
    let out = ssh_run(&sshd, &mallory, "git-upload-pack 'x'");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        out.stderr.contains("Permission denied (publickey)"),
        "{out}"
    );
    assert!(
        sshd.log_eventually_contains("Failed publickey for root from 127.0.0.1"),
        "{}",
        sshd.log()
    );
    assert!(sshd.log().contains(&mallory.fingerprint), "{}", sshd.log());
    // The server itself is fine: the registered key gets in.
    let out = ssh_run(&sshd, &alice, "x");
    assert!(out.success(), "{out}\n{}", sshd.log());
    assert_eq!(out.stdout, "ok\n");
}

#[test]
fn restrict_and_the_snippet_refuse_pty_and_forwarding() {
    let env = Env::new();
    let key = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let keys = env.path("authorized_keys");
    std::fs::write(&keys, key.authorized_line("restrict,command=\"echo ok\"")).unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys));
    let out = sshd.ssh(&key).args(&["-tt"]).run("x");
    assert!(
        out.stderr.contains("PTY allocation request failed"),
        "{out}"
    );
    let out = sshd
        .ssh(&key)
        .args(&["-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"])
        .run("x");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(
        out.stderr.contains("remote port forwarding failed"),
        "{out}"
    );
}

#[test]
fn git_clones_and_pushes_through_a_forced_command() {
    let env = Env::new();
    let key = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let repos = env.path("repos");
    std::fs::create_dir_all(repos.join("ns")).unwrap();
    let src = env.fixture_worktree("src");
    let bare = repos.join("ns/name.git");
    env.git_ok(
        &env.home,
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    // Stand-in for `hubctl shell`: git-upload-pack/git-receive-pack on a repository below $1.
    let serve = script(
        &env,
        "serve.sh",
        &format!(
            "#!/bin/sh\n\
             export HOME={home} GIT_CONFIG_NOSYSTEM=1\n\
             printf '%s|%s\\n' \"$SSH_ORIGINAL_COMMAND\" \"${{GIT_PROTOCOL-unset}}\" >> {log}\n\
             cmd=${{SSH_ORIGINAL_COMMAND%% *}}\n\
             path=${{SSH_ORIGINAL_COMMAND#* }}\n\
             path=${{path#\\'}}\n\
             path=${{path%\\'}}\n\
             case $cmd in\n\
             git-upload-pack|git-receive-pack) exec \"$cmd\" \"$1$path\" ;;\n\
             esac\n\
             echo \"refused: $SSH_ORIGINAL_COMMAND\" >&2\n\
             exit 1\n",
            home = env.home.display(),
            log = env.path("requests.log").display(),
        ),
    );
    let keys = env.path("authorized_keys");
    std::fs::write(
        &keys,
        key.authorized_line(&format!(
            "restrict,command=\"{} {}\"",
            serve.display(),
            repos.display()
        )),
    )
    .unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys));

    sshd.git_ok(
        &env,
        &key,
        &env.home,
        &["clone", "-q", &sshd.url("ns/name.git"), "clone"],
    );
    let clone = env.home.join("clone");
    assert_eq!(
        env.git_ok(&clone, &["rev-parse", "HEAD"]),
        env.git_ok(&src, &["rev-parse", "main"])
    );
    let requests = std::fs::read_to_string(env.path("requests.log")).unwrap();
    assert_eq!(requests, "git-upload-pack '/ns/name.git'|version=2\n");

    env.add_commit(&clone, "pushed.txt", "over ssh\n", "pushed over ssh");
    sshd.git_ok(&env, &key, &clone, &["push", "-q", "origin", "main"]);
    assert_eq!(
        env.git_ok(&bare, &["rev-parse", "main"]),
        env.git_ok(&clone, &["rev-parse", "HEAD"])
    );
    let requests = std::fs::read_to_string(env.path("requests.log")).unwrap();
    assert!(
        requests.contains("git-receive-pack '/ns/name.git'|"),
        "{requests}"
    );
}

/// Stand-in for `hubctl keys authorized-keys --key-type %t --key %k`: prints a line for keys
/// listed as `<id> <type> <base64>` in <root>/registered-keys, logs every call, and exits 1
/// when <root>/keys-command-fails exists.
fn keys_command_script(env: &Env) -> PathBuf {
    script(
        env,
        "keys-command",
        "#!/bin/sh\n\
         [ \"$1 $3 $4 $5 $7\" = \"--root keys authorized-keys --key-type --key\" ] || exit 2\n\
         root=$2\n\
         printf '%s|uid=%s|cwd=%s\\n' \"$*\" \"$(id -u)\" \"$(pwd)\" >> \"$root/keys-command.log\"\n\
         while read -r id type key; do\n\
         \x20 if [ \"$type\" = \"$6\" ] && [ \"$key\" = \"$8\" ]; then\n\
         \x20   printf 'restrict,command=\"echo key-id=%s\" %s %s\\n' \"$id\" \"$type\" \"$key\"\n\
         \x20 fi\n\
         done < \"$root/registered-keys\"\n\
         [ -e \"$root/keys-command-fails\" ] && exit 1\n\
         exit 0\n",
    )
}

fn register(env: &Env, keys: &[(u32, &ClientKey)]) {
    let mut s = String::new();
    for (id, k) in keys {
        s.push_str(&format!("{id} {} {}\n", k.key_type(), k.blob()));
    }
    std::fs::write(env.root.join("registered-keys"), s).unwrap();
}

#[test]
fn authorized_keys_command_decides_who_gets_in() {
    let env = Env::new();
    let alice = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let bob = ClientKey::generate(&env, "bob", KeyKind::Ecdsa(256));
    let mallory = ClientKey::generate(&env, "mallory", KeyKind::Ed25519);
    register(&env, &[(1, &alice), (2, &bob)]);
    let sshd = Sshd::start(
        &env,
        KeysMode::Command {
            program: keys_command_script(&env),
        },
    );
    let copy = sshd.keys_command.clone().unwrap();
    assert!(sshd_accepts_path(&copy), "{}", copy.display());
    assert!(!copy.starts_with(env.dir.path()));

    let out = ssh_run(&sshd, &alice, "git-upload-pack 'x'");
    assert!(out.success(), "{out}\n{}", sshd.log());
    assert_eq!(out.stdout, "key-id=1\n");
    let out = ssh_run(&sshd, &bob, "git-upload-pack 'x'");
    assert_eq!(out.stdout, "key-id=2\n", "{out}\n{}", sshd.log());
    let out = ssh_run(&sshd, &mallory, "git-upload-pack 'x'");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(
        out.stderr.contains("Permission denied (publickey)"),
        "{out}"
    );

    // sshd ran the shipped command line with %t and %k substituted, as root, in /.
    let calls = std::fs::read_to_string(env.root.join("keys-command.log")).unwrap();
    let expect = format!(
        "--root {} keys authorized-keys --key-type ssh-ed25519 --key {}|uid=0|cwd=/",
        env.root.display(),
        alice.blob()
    );
    assert!(calls.lines().any(|l| l == expect), "{calls}");
    assert!(
        calls.lines().any(|l| l.contains(&format!(
            "--key-type ecdsa-sha2-nistp256 --key {}",
            bob.blob()
        ))),
        "{calls}"
    );

    // Output of a command that fails does not count, even a matching line.
    std::fs::write(env.root.join("keys-command-fails"), "").unwrap();
    let out = ssh_run(&sshd, &alice, "git-upload-pack 'x'");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(
        sshd.log_eventually_contains("failed, status 1"),
        "{}",
        sshd.log()
    );

    // The copy goes away with the server.
    drop(sshd);
    assert!(!copy.exists() && !copy.parent().unwrap().exists());
}

#[test]
fn authorized_keys_command_below_tmp_is_refused() {
    let env = Env::new();
    let alice = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    register(&env, &[(1, &alice)]);
    let program = keys_command_script(&env);
    assert!(!sshd_accepts_path(&program), "{}", program.display());
    let sshd = Sshd::start(&env, KeysMode::CommandInPlace { program });
    let out = ssh_run(&sshd, &alice, "x");
    assert_eq!(out.code(), Some(255), "{out}");
    assert!(
        sshd.log_eventually_contains("Unsafe AuthorizedKeysCommand"),
        "{}",
        sshd.log()
    );
    assert!(!env.root.join("keys-command.log").exists());
}

#[test]
fn every_key_kind_logs_in() {
    let env = Env::new();
    let keys: Vec<ClientKey> = KeyKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| ClientKey::generate(&env, &format!("key{i}"), *k))
        .collect();
    let numbered: Vec<(u32, &ClientKey)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k))
        .collect();
    register(&env, &numbered);
    let sshd = Sshd::start(
        &env,
        KeysMode::Command {
            program: keys_command_script(&env),
        },
    );
    for (id, key) in &numbered {
        assert_eq!(key.key_type(), key.kind.ssh_type());
        let out = ssh_run(&sshd, key, "x");
        assert_eq!(
            out.stdout,
            format!("key-id={id}\n"),
            "{:?}: {out}\n{}",
            key.kind,
            sshd.log()
        );
    }
}

#[test]
fn shipped_snippets_apply_to_the_git_user_only() {
    let env = Env::new();
    let keys = env.path("authorized_keys");
    std::fs::write(&keys, "").unwrap();
    let sshd = Sshd::start(&env, KeysMode::File(keys.clone()));
    let root = sshd.effective_config("root");
    for line in [
        format!("authorizedkeysfile {}", keys.display()),
        "authenticationmethods publickey".into(),
        "passwordauthentication no".into(),
        "acceptenv GIT_PROTOCOL".into(),
        "disableforwarding yes".into(),
        "permittty no".into(),
        "permituserrc no".into(),
    ] {
        assert!(root.lines().any(|l| l == line), "missing {line:?}:\n{root}");
    }
    assert_eq!(root.matches("acceptenv ").count(), 1, "{root}");
    let other = sshd.effective_config("nobody");
    assert!(
        other.lines().any(|l| l == "authorizedkeysfile none"),
        "{other}"
    );
    assert!(other.lines().any(|l| l == "permittty yes"), "{other}");
    drop(sshd);

    let program = script(&env, "keys-command", "#!/bin/sh\nexit 0\n");
    let sshd = Sshd::start(&env, KeysMode::Command { program });
    let root = sshd.effective_config("root");
    let expect = format!(
        "authorizedkeyscommand {} --root {} keys authorized-keys --key-type %t --key %k",
        sshd.keys_command.as_ref().unwrap().display(),
        env.root.display()
    );
    assert!(root.lines().any(|l| l == expect), "{root}");
    assert!(
        root.lines().any(|l| l == "authorizedkeyscommanduser root"),
        "{root}"
    );
    assert!(
        root.lines().any(|l| l == "authorizedkeysfile none"),
        "{root}"
    );
}

#[test]
#[should_panic(expected = "placeholders not substituted: [\"ROOT\"]")]
fn a_placeholder_left_in_a_snippet_is_caught() {
    render_snippet(
        "hubctl-keys-command.conf",
        &[
            ("@GIT_USER@", "git"),
            ("@KEYS_USER@", "git"),
            ("@HUBCTL@", "/usr/local/bin/hubctl"),
        ],
    );
}

#[test]
fn key_login_works_with_pam() {
    let env = Env::new();
    let key = ClientKey::generate(&env, "alice", KeyKind::Ed25519);
    let keys = env.path("authorized_keys");
    std::fs::write(&keys, key.authorized_line("restrict,command=\"echo ok\"")).unwrap();
    let sshd = Sshd::start_with(
        &env,
        KeysMode::File(keys),
        SshdOptions {
            use_pam: true,
            ..Default::default()
        },
    );
    assert!(sshd.effective_config("root").contains("\nusepam yes\n"));
    let out = ssh_run(&sshd, &key, "x");
    assert!(out.success(), "{out}\n{}", sshd.log());
    assert_eq!(out.stdout, "ok\n");
}
